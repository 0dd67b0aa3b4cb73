//! `kim-api seed-demo`: fills an empty database with realistic Kota Metro data, so a new
//! user has something to look at and benchmarks have volume. Every row goes in through
//! the same model functions and rules as the API's (accounts, KIMs, members, bulletins),
//! except reports and their timelines, which are written in batches ([`reports`]) so
//! that a million take minutes.
//!
//! All demo accounts share one random password, printed once.

mod activities;
mod reports;
mod words;

use chrono::{Datelike, NaiveDate};
use diesel::prelude::*;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use secrecy::SecretString;

use crate::audience::{Audience, AudienceScope};
use crate::auth::Role;
use crate::bulletins::model::{
    self as bulletin_model, BulletinStatus, Category, NewBulletin, Origin, Priority,
};
use crate::crypto::PersonalDataCipher;
use crate::db::schema::{bulletins, kims, regions, reports as report_rows};
use crate::db::{Db, DbConnection, write_transaction};
use crate::domain::Nik;
use crate::error::ApiError;
use crate::kims::model::{self as kim_model, AreaType, NewKim};
use crate::members::model::{self as member_model, GenderValue, NewMember, Position};
use crate::users::Username;
use crate::users::model::{self as user_model, NewUser};
use words::{BULLETIN_TEXTS, FAMILY_NAMES, GIVEN_NAMES, KIM_WORDS, PROFESSIONS};

/// How much to make.
#[derive(Debug, Clone, Copy)]
pub struct DemoSize {
    pub kims: u32,
    pub reports: u32,
    pub bulletins: u32,
    pub activities: u32,
}

/// What was made, and how to sign in.
#[derive(Debug)]
pub struct Seeded {
    pub password: String,
    pub accounts: Vec<(String, Role)>,
    pub kims: u32,
    pub members: u32,
    pub bulletins: u32,
    pub reports: u64,
    pub timeline_entries: u64,
    pub activities: u64,
}

/// A kelurahan with its kecamatan and name.
#[derive(Debug, Clone)]
struct Place {
    kelurahan: String,
    kecamatan: String,
    name: String,
}

/// A demo KIM and the accounts that act for it.
#[derive(Debug, Clone)]
pub struct DemoKim {
    pub id: i64,
    pub kelurahan: String,
    pub kecamatan: String,
    pub admin_id: i64,
    pub member_id: i64,
}

fn refuse(detail: &str) -> ApiError {
    ApiError::conflict("database_not_empty", detail.to_owned(), detail.to_owned())
}

/// Fills `db`, which must hold no KIMs, bulletins or reports yet.
pub fn seed(db: &Db, cipher: &PersonalDataCipher, size: DemoSize) -> Result<Seeded, ApiError> {
    let mut conn = db.blocking_connection()?;
    let conn = &mut *conn;
    let counts: [i64; 3] = [
        kims::table.count().get_result(conn)?,
        bulletins::table.count().get_result(conn)?,
        report_rows::table.count().get_result(conn)?,
    ];
    if counts.iter().any(|count| *count > 0) {
        return Err(refuse(
            "seed-demo fills an empty database; this one already holds KIMs, bulletins or reports",
        ));
    }
    let mut password = crate::auth::refresh::random_token()?;
    password.truncate(20);
    let hash = crate::auth::password::hash_password(&SecretString::from(password.clone()))
        .map_err(|error| ApiError::internal(error.to_string()))?;
    let mut rng = SmallRng::seed_from_u64(0x4b49_4d20_4d45_5452);
    let places = places(conn)?;
    let (mut accounts, gov) = write_transaction(conn, |conn| {
        let admin = account(conn, "demo.admin", &hash, Role::GovAdmin, None)?;
        let officer = account(conn, "demo.petugas", &hash, Role::GovOfficer, None)?;
        Ok::<_, ApiError>((
            vec![
                ("demo.admin".to_owned(), Role::GovAdmin),
                ("demo.petugas".to_owned(), Role::GovOfficer),
            ],
            [admin, officer],
        ))
    })?;
    let mut demo_kims = Vec::new();
    let mut members = 0;
    for index in 0..size.kims {
        let place = &places[index as usize % places.len()];
        let (kim, added) = write_transaction(conn, |conn| {
            demo_kim(conn, cipher, &mut rng, index, place, &hash)
        })?;
        if index == 0 {
            accounts.push((format!("ketua.kim{}", kim.id), Role::KimAdmin));
            accounts.push((format!("anggota.kim{}", kim.id), Role::KimMember));
        }
        members += added;
        demo_kims.push(kim);
    }
    for index in 0..size.bulletins {
        write_transaction(conn, |conn| {
            demo_bulletin(conn, &mut rng, index, gov[0], &demo_kims)
        })?;
    }
    let written = reports::write(conn, cipher, &mut rng, size.reports, &demo_kims, gov)?;
    let activities = activities::write(conn, &mut rng, size.activities, &demo_kims)?;
    // A bulk load leaves PostgreSQL planning with the statistics of empty tables until
    // autovacuum comes by: grouped statistics then sort on disk instead of hashing.
    if let DbConnection::Postgres(pg) = conn {
        use diesel::connection::SimpleConnection;
        pg.batch_execute("ANALYZE")?;
    }
    Ok(Seeded {
        password,
        accounts,
        kims: size.kims,
        members,
        bulletins: size.bulletins,
        reports: written.reports,
        timeline_entries: written.timeline_entries,
        activities,
    })
}

fn places(conn: &mut DbConnection) -> Result<Vec<Place>, ApiError> {
    let rows: Vec<(String, Option<String>, String)> = regions::table
        .filter(regions::level.eq(crate::regions::RegionLevel::Kelurahan))
        .order(regions::code)
        .select((regions::code, regions::parent_code, regions::name))
        .load(conn)?;
    let places: Vec<Place> = rows
        .into_iter()
        .filter_map(|(kelurahan, kecamatan, name)| {
            Some(Place {
                kelurahan,
                kecamatan: kecamatan?,
                name,
            })
        })
        .collect();
    if places.is_empty() {
        return Err(ApiError::internal("no kelurahan in the regions table"));
    }
    Ok(places)
}

fn account(
    conn: &mut DbConnection,
    username: &str,
    hash: &str,
    role: Role,
    kim_id: Option<i64>,
) -> Result<i64, ApiError> {
    let username =
        Username::parse("username", username).map_err(|issue| ApiError::Validation(vec![issue]))?;
    Ok(user_model::insert(
        conn,
        NewUser {
            username: &username,
            display_name: None,
            password_hash: hash,
            role,
            kim_id,
        },
    )?
    .id)
}

fn person(rng: &mut SmallRng) -> (String, bool) {
    let (given, female) = GIVEN_NAMES[rng.gen_range(0..GIVEN_NAMES.len())];
    let family = FAMILY_NAMES[rng.gen_range(0..FAMILY_NAMES.len())];
    (format!("{given} {family}"), female)
}

/// An active KIM in `place` with its board account, a member account and 8 to 14
/// members (one ketua); answers the KIM and the members added.
fn demo_kim(
    conn: &mut DbConnection,
    cipher: &PersonalDataCipher,
    rng: &mut SmallRng,
    index: u32,
    place: &Place,
    hash: &str,
) -> Result<(DemoKim, u32), ApiError> {
    let word = KIM_WORDS[index as usize % KIM_WORDS.len()];
    let round = index as usize / KIM_WORDS.len();
    let name = if round == 0 {
        format!("KIM {word} {}", place.name)
    } else {
        format!("KIM {word} {} {}", place.name, round + 1)
    };
    let established =
        NaiveDate::from_ymd_opt(2015 + rng.gen_range(0..10), rng.gen_range(1..=12), 1)
            .unwrap_or_default();
    let row = kim_model::insert(
        conn,
        &NewKim {
            name,
            kelurahan_code: place.kelurahan.clone(),
            // Made-up places would sit anywhere in the kelurahan's box; none is kinder.
            location: None,
            area_type: if rng.gen_bool(0.8) {
                AreaType::Urban
            } else {
                AreaType::Rural
            },
            address: Some(format!(
                "{} No. {}",
                words::STREETS[rng.gen_range(0..words::STREETS.len())],
                rng.gen_range(1..200)
            )),
            description: Some("Kelompok Informasi Masyarakat binaan Diskominfo Kota Metro.".into()),
            focus: r#"["informasi","literasi_digital"]"#.into(),
            contact_phone: None,
            contact_email: None,
            established_on: Some(established),
        },
    )?;
    let sk_number = format!("188.45/{}/D-5/{}", 100 + index, established.format("%Y"));
    diesel::update(kims::table.filter(kims::id.eq(row.id)))
        .set((
            kims::status.eq(crate::kims::model::KimStatus::Active),
            kims::sk_number.eq(&sk_number),
            kims::sk_date.eq(established),
        ))
        .execute(conn)?;
    let admin_id = account(
        conn,
        &format!("ketua.kim{}", row.id),
        hash,
        Role::KimAdmin,
        Some(row.id),
    )?;
    let member_id = account(
        conn,
        &format!("anggota.kim{}", row.id),
        hash,
        Role::KimMember,
        Some(row.id),
    )?;
    let count = rng.gen_range(8..=14);
    for n in 0..count {
        let position = match n {
            0 => Position::Ketua,
            1 => Position::Sekretaris,
            2 => Position::Bendahara,
            _ => Position::Anggota,
        };
        member_model::insert(
            conn,
            row.id,
            &demo_member(cipher, rng, place, row.id, n, position)?,
        )?;
    }
    Ok((
        DemoKim {
            id: row.id,
            kelurahan: place.kelurahan.clone(),
            kecamatan: place.kecamatan.clone(),
            admin_id,
            member_id,
        },
        count,
    ))
}

/// A member with a structurally valid NIK from Kota Metro: region, birth date (women
/// add 40 to the day) and a serial made unique by the KIM and position in it.
fn demo_member(
    cipher: &PersonalDataCipher,
    rng: &mut SmallRng,
    place: &Place,
    kim_id: i64,
    n: u32,
    position: Position,
) -> Result<NewMember, ApiError> {
    let (full_name, female) = person(rng);
    let birth_date = NaiveDate::from_ymd_opt(
        rng.gen_range(1960..2005),
        rng.gen_range(1..=12),
        rng.gen_range(1..=28),
    )
    .unwrap_or_default();
    let day = birth_date.day() + if female { 40 } else { 0 };
    let kecamatan_digits = place.kecamatan.rsplit('.').next().unwrap_or("01");
    let serial = (kim_id as u64 * 16 + u64::from(n)) % 10_000;
    let nik_text = format!(
        "1872{kecamatan_digits}{day:02}{}{serial:04}",
        birth_date.format("%m%y")
    );
    let nik = Nik::parse("nik", &nik_text).map_err(|issue| ApiError::Validation(vec![issue]))?;
    let phone = format!("+6281{:09}", rng.gen_range(0..1_000_000_000u32));
    Ok(NewMember {
        full_name,
        nik_ciphertext: cipher.encrypt(nik.expose()).map_err(ApiError::internal)?,
        nik_hash: cipher.keyed_hash("nik", nik.expose().as_bytes()),
        nik_masked: nik.masked(),
        gender: if female {
            GenderValue::Female
        } else {
            GenderValue::Male
        },
        birth_date,
        profession: Some(PROFESSIONS[rng.gen_range(0..PROFESSIONS.len())].to_owned()),
        position,
        phone_ciphertext: Some(cipher.encrypt(&phone).map_err(ApiError::internal)?),
        email: None,
        joined_on: NaiveDate::from_ymd_opt(2024, rng.gen_range(1..=12), 1).unwrap_or_default(),
    })
}

/// A bulletin through the API's own model: most from the government to every KIM, a
/// kecamatan or the public, some from a KIM to the public; most published.
fn demo_bulletin(
    conn: &mut DbConnection,
    rng: &mut SmallRng,
    index: u32,
    author: i64,
    demo_kims: &[DemoKim],
) -> Result<(), ApiError> {
    let (category, title, body) = BULLETIN_TEXTS[index as usize % BULLETIN_TEXTS.len()];
    let from_kim = if index % 4 == 3 && !demo_kims.is_empty() {
        Some(&demo_kims[rng.gen_range(0..demo_kims.len())])
    } else {
        None
    };
    let audience = match (from_kim, index % 3) {
        (Some(_), _) | (None, 0) => Audience {
            scope: AudienceScope::Public,
            codes: Vec::new(),
            kim_ids: Vec::new(),
        },
        (None, 1) => Audience {
            scope: AudienceScope::AllKims,
            codes: Vec::new(),
            kim_ids: Vec::new(),
        },
        (None, _) => Audience {
            scope: AudienceScope::Kecamatan,
            codes: vec![format!("18.72.0{}", 1 + index % 5)],
            kim_ids: Vec::new(),
        },
    };
    let new = NewBulletin {
        origin: if from_kim.is_some() {
            Origin::Kim
        } else {
            Origin::Government
        },
        origin_kim_id: from_kim.map(|kim| kim.id),
        title: title.to_owned(),
        body: body.to_owned(),
        category: Category::parse(category).unwrap_or(Category::Umum),
        priority: if index.is_multiple_of(7) {
            Priority::Important
        } else {
            Priority::Normal
        },
        audience,
        expires_at: None,
        author_id: Some(from_kim.map_or(author, |kim| kim.admin_id)),
        cap: None,
        alert_source_id: None,
        cap_identifier: None,
    };
    let draft = bulletin_model::insert(conn, &new)?;
    if index % 10 == 9 {
        return Ok(());
    }
    let addressed = new.audience.count_active_kims(conn)?;
    let published =
        bulletin_model::set_status(conn, &draft, BulletinStatus::Published, Some(addressed))?;
    if index % 10 == 8 {
        bulletin_model::set_status(conn, &published, BulletinStatus::Archived, None)?;
    }
    Ok(())
}
