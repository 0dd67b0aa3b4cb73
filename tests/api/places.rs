//! Places (SPEC §12): kelurahan boundaries imported from GeoJSON, served as GeoJSON,
//! naming the kelurahan of a point sent without one (JSON API and Open311), and a
//! KIM's place checked against its kelurahan. Without boundaries nothing changes.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use crate::helpers::{TestApp, on_each_backend, problem, token};
use crate::reports::{json_of, report, town};

/// Synthetic boundaries (not surveyed): each kecamatan a strip of longitude, each of
/// its kelurahan a band of latitude. 18.72.01.1001 spans latitude -5.20…-5.17 and
/// longitude 105.25…105.28.
pub fn synthetic_boundaries() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/kota-metro-boundaries.synthetic.geojson")
}

/// Imports the synthetic boundaries as the command does.
pub async fn import_boundaries(app: &TestApp) {
    let imported = kim_api::regions::boundaries::import(&app.db, &synthetic_boundaries())
        .await
        .unwrap_or_else(|refused| panic!("imported: {:?}", refused.0));
    assert_eq!(imported, 27);
}

fn located(latitude: f64, longitude: f64) -> Value {
    let mut body = report("normal");
    let fields = body.as_object_mut().expect("object");
    fields.remove("kelurahan_code");
    fields.insert("latitude".into(), latitude.into());
    fields.insert("longitude".into(), longitude.into());
    body
}

#[tokio::test]
async fn a_point_names_its_kelurahan_once_boundaries_are_loaded() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let member = token(&t.member_a);
        // Without boundaries a point names nothing: the kelurahan stays required.
        let refused = problem(
            app.post_as("/api/v1/reports", member, &located(-5.185, 105.265))
                .await,
            422,
        )
        .await;
        assert_eq!(refused["errors"][0]["field"], "kelurahan_code", "{refused}");
        assert_eq!(refused["errors"][0]["code"], "required");
        problem(app.get("/api/v1/regions/18.72.01.1001/boundary").await, 404).await;

        import_boundaries(&app).await;
        let placed = json_of(
            app.post_as("/api/v1/reports", member, &located(-5.185, 105.265))
                .await,
            201,
        )
        .await;
        assert_eq!(placed["kelurahan_code"], "18.72.01.1001");
        assert_eq!(placed["kecamatan_code"], "18.72.01");
        let elsewhere = json_of(
            app.post_as("/api/v1/reports", member, &located(-5.06, 105.39))
                .await,
            201,
        )
        .await;
        assert_eq!(elsewhere["kelurahan_code"], "18.72.05.1004");
        assert_eq!(elsewhere["kecamatan_code"], "18.72.05");
        // Inside the city's box but in no kelurahan.
        let outside = problem(
            app.post_as("/api/v1/reports", member, &located(-5.0, 105.2))
                .await,
            422,
        )
        .await;
        assert_eq!(outside["errors"][0]["field"], "latitude", "{outside}");
        assert_eq!(outside["errors"][0]["code"], "outside_area");
        // A kelurahan given is taken as given.
        let mut given = located(-5.06, 105.39);
        given["kelurahan_code"] = "18.72.01.1002".into();
        let given = json_of(app.post_as("/api/v1/reports", member, &given).await, 201).await;
        assert_eq!(given["kelurahan_code"], "18.72.01.1002");
        // Neither a kelurahan nor a point.
        let mut nowhere = report("normal");
        for field in ["kelurahan_code", "latitude", "longitude"] {
            nowhere.as_object_mut().expect("object").remove(field);
        }
        let nowhere = problem(app.post_as("/api/v1/reports", member, &nowhere).await, 422).await;
        assert_eq!(nowhere["errors"][0]["field"], "kelurahan_code");

        let boundary = app.get("/api/v1/regions/18.72.01.1001/boundary").await;
        assert_eq!(boundary.status().as_u16(), 200);
        assert_eq!(boundary.headers()["content-type"], "application/geo+json");
        let feature: Value = boundary.json().await.expect("json");
        assert_eq!(feature["type"], "Feature");
        assert_eq!(feature["id"], "18.72.01.1001");
        assert_eq!(feature["properties"]["name"], "Metro");
        assert_eq!(feature["geometry"]["type"], "MultiPolygon");
        assert_eq!(
            feature["geometry"]["coordinates"][0][0][0],
            json!([105.25, -5.2])
        );
        problem(app.get("/api/v1/regions/18.72.09.1001/boundary").await, 404).await;
        // The city has no boundary of its own here.
        problem(app.get("/api/v1/regions/18.72/boundary").await, 404).await;
    })
    .await;
}

#[tokio::test]
async fn open311_requests_with_only_a_point_get_their_kelurahan() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let (_, _, key) = crate::open311::api_key(&app, token(&t.admin)).await;
        let fields = [
            ("api_key", key.as_str()),
            ("service_code", "infrastruktur"),
            ("lat", "-5.15"),
            ("long", "105.32"),
            ("description", "Jalan berlubang di depan pasar"),
        ];
        let post = async |fields: &[(&str, &str)]| {
            app.client
                .post(app.url("/open311/v2/requests.json"))
                .form(fields)
                .send()
                .await
                .expect("post")
        };
        let definition: Value = app
            .get("/open311/v2/services/infrastruktur.json")
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(definition["attributes"][0]["required"], true);
        let refused = post(&fields).await;
        assert_eq!(refused.status().as_u16(), 400);
        let refused: Value = refused.json().await.expect("json");
        assert!(
            refused[0]["description"]
                .as_str()
                .expect("text")
                .contains("attribute[kelurahan_code]"),
            "{refused}"
        );

        import_boundaries(&app).await;
        let definition: Value = app
            .get("/open311/v2/services/infrastruktur.json")
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(definition["attributes"][0]["required"], false);
        let created = post(&fields).await;
        assert_eq!(created.status().as_u16(), 201);
        let created: Value = created.json().await.expect("json");
        let id = created[0]["service_request_id"].as_str().expect("id");
        let report = json_of(
            app.get_as(&format!("/api/v1/reports/{id}"), token(&t.admin))
                .await,
            200,
        )
        .await;
        assert_eq!(report["kelurahan_code"], "18.72.03.1002");
        assert_eq!(report["kecamatan_code"], "18.72.03");

        let mut outside = fields.to_vec();
        outside[2] = ("lat", "-5.0");
        outside[3] = ("long", "105.2");
        let refused = post(&outside).await;
        assert_eq!(refused.status().as_u16(), 400);
        let refused: Value = refused.json().await.expect("json");
        assert!(
            refused[0]["description"]
                .as_str()
                .expect("text")
                .contains("lat"),
            "{refused}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_kims_place_is_set_by_government_inside_its_kelurahan() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let path = format!("/api/v1/kims/{}", t.kim_a);
        let inside = json!({"location": {"latitude": -5.185, "longitude": 105.265}});
        // Before boundaries any point in the city is taken.
        let placed = json_of(app.patch_as(&path, token(&t.admin), &json!({"location": {"latitude": -5.0, "longitude": 105.2}})).await, 200).await;
        assert_eq!(placed["location"], json!({"latitude": -5.0, "longitude": 105.2}));
        import_boundaries(&app).await;
        let moved = json_of(app.patch_as(&path, token(&t.admin), &inside).await, 200).await;
        assert_eq!(moved["location"], json!({"latitude": -5.185, "longitude": 105.265}));
        // The public directory shows where a KIM meets.
        let public = json_of(app.get(&path).await, 200).await;
        assert_eq!(public["location"], moved["location"]);

        let outside = problem(
            app.patch_as(&path, token(&t.admin), &json!({"location": {"latitude": -5.06, "longitude": 105.39}})).await,
            422,
        )
        .await;
        assert_eq!(outside["errors"][0]["field"], "location", "{outside}");
        assert_eq!(outside["errors"][0]["code"], "outside_kelurahan");
        // Moving the KIM to another kelurahan takes its place along or fails.
        let moved_away = problem(
            app.patch_as(&path, token(&t.admin), &json!({"kelurahan_code": "18.72.05.1004"})).await,
            422,
        )
        .await;
        assert_eq!(moved_away["errors"][0]["code"], "outside_kelurahan");
        let both = json!({"kelurahan_code": "18.72.05.1004", "location": {"latitude": -5.06, "longitude": 105.39}});
        let relocated = json_of(app.patch_as(&path, token(&t.admin), &both).await, 200).await;
        assert_eq!(relocated["kecamatan_code"], "18.72.05");

        for (body, field, code) in [
            (json!({"location": {"latitude": -5.1}}), "", ""),
            (json!({"location": {"latitude": -5.1, "longitude": 105.3, "altitude": 3}}), "", ""),
            (json!({"location": {"latitude": -95.0, "longitude": 105.3}}), "location.latitude", "out_of_range"),
            (json!({"location": {"latitude": 1.0, "longitude": 105.3}}), "location.latitude", "outside_metro"),
        ] {
            let status = if field.is_empty() { 400 } else { 422 };
            let refused = problem(app.patch_as(&path, token(&t.admin), &body).await, status).await;
            if !field.is_empty() {
                assert_eq!(refused["errors"][0]["field"], field, "{refused}");
                assert_eq!(refused["errors"][0]["code"], code, "{refused}");
            }
        }
        // The KIM's own board does not move it; an officer does not either.
        problem(app.patch_as(&path, token(&t.board_a), &inside).await, 403).await;
        problem(app.patch_as(&path, token(&t.officer), &inside).await, 403).await;
        let cleared = json_of(app.patch_as(&path, token(&t.admin), &json!({"location": null})).await, 200).await;
        assert_eq!(cleared["location"], Value::Null);

        // A new KIM may come with its place, checked the same way.
        let new_kim = |latitude: f64, longitude: f64| {
            json!({"name": "KIM Tepi Sungai", "kelurahan_code": "18.72.01.1001", "area_type": "urban",
                   "location": {"latitude": latitude, "longitude": longitude}})
        };
        json_of(app.post_as("/api/v1/kims", token(&t.admin), &new_kim(-5.19, 105.26)).await, 201).await;
        let refused = problem(app.post_as("/api/v1/kims", token(&t.admin), &new_kim(-5.06, 105.39)).await, 422).await;
        assert_eq!(refused["errors"][0]["code"], "outside_kelurahan");
    })
    .await;
}

fn import_with_binary(app: &TestApp, file: &Path) -> std::process::Output {
    let data_dir = tempfile::tempdir().expect("tempdir");
    Command::new(env!("CARGO_BIN_EXE_kim-api"))
        .args(["regions", "import-boundaries"])
        .arg(file)
        .env("DATABASE_URL", app.database.url())
        .env("KIM_DATA_DIR", data_dir.path())
        .env("JWT_SECRET", "test-secret-that-is-long-enough-for-hs256")
        .env(
            "NIK_ENCRYPTION_KEY",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        )
        .output()
        .expect("kim-api runs")
}

#[tokio::test]
async fn the_import_command_takes_a_valid_file_whole_and_refuses_a_bad_one_whole() {
    on_each_backend(async |app| {
        let dir = tempfile::tempdir().expect("tempdir");
        let square = |code: &str, ring: Value| {
            json!({"type": "Feature", "properties": {"code": code}, "geometry": {"type": "Polygon", "coordinates": [ring]}})
        };
        let good_ring = json!([[105.25, -5.2], [105.28, -5.2], [105.28, -5.17], [105.25, -5.17], [105.25, -5.2]]);
        let cases = [
            ("unknown code", vec![square("18.72.01.1001", good_ring.clone()), square("18.72.09.9999", good_ring.clone())], "18.72.09.9999: no region has this code"),
            ("the city", vec![square("18.72", good_ring.clone())], "kecamatan and kelurahan only"),
            ("open ring", vec![square("18.72.01.1001", json!([[105.25, -5.2], [105.28, -5.2], [105.28, -5.17], [105.25, -5.17]]))], "not closed"),
            ("bow tie", vec![square("18.72.01.1001", json!([[105.25, -5.2], [105.28, -5.17], [105.28, -5.2], [105.25, -5.17], [105.25, -5.2]]))], "invalid area"),
            ("latitude first", vec![square("18.72.01.1001", json!([[-5.2, 105.25], [-5.2, 105.28], [-5.17, 105.28], [-5.17, 105.25], [-5.2, 105.25]]))], "outside WGS 84"),
            ("a point", vec![json!({"type": "Feature", "properties": {"code": "18.72.01.1001"}, "geometry": {"type": "Point", "coordinates": [105.26, -5.18]}})], "a Point is no area"),
            ("no code", vec![json!({"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [good_ring]}})], "no `code` property"),
        ];
        for (name, features, reason) in cases {
            let file = dir.path().join("bad.geojson");
            std::fs::write(&file, json!({"type": "FeatureCollection", "features": features}).to_string()).expect("write");
            let refused = import_with_binary(&app, &file);
            let stderr = String::from_utf8_lossy(&refused.stderr);
            assert_eq!(refused.status.code(), Some(2), "{name}: {stderr}");
            assert!(stderr.contains(reason), "{name}: {stderr}");
        }
        let not_geojson = dir.path().join("nonsense.geojson");
        std::fs::write(&not_geojson, "<kml/>").expect("write");
        assert_eq!(import_with_binary(&app, &not_geojson).status.code(), Some(2));
        // Nothing of a refused file was stored.
        problem(app.get("/api/v1/regions/18.72.01.1001/boundary").await, 404).await;

        let imported = import_with_binary(&app, &synthetic_boundaries());
        assert!(imported.status.success(), "{}", String::from_utf8_lossy(&imported.stderr));
        assert!(String::from_utf8_lossy(&imported.stdout).contains("imported 27 boundaries"));
        assert_eq!(app.get("/api/v1/regions/18.72.03/boundary").await.status().as_u16(), 200);
    })
    .await;
}
