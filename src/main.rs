use std::process::ExitCode;

use clap::{Parser, Subcommand};
use kim_api::config::{ConfigArgs, Mode, Settings};
use kim_api::db::Db;
use kim_api::startup::Application;
use kim_api::{routes, telemetry};
use secrecy::SecretString;

/// KIM API: the service behind the Kelompok Informasi Masyarakat of Kota Metro.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    config: ConfigArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP service (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the OpenAPI document.
    Openapi,
    /// Fill an empty database with realistic Kota Metro demo data: active KIMs across
    /// the 22 kelurahan with members and accounts, bulletins, and reports in every
    /// state with their timelines. Prints the demo accounts and their password.
    SeedDemo {
        #[arg(long, default_value_t = 44)]
        kims: u32,
        #[arg(long, default_value_t = 500)]
        reports: u32,
        #[arg(long, default_value_t = 30)]
        bulletins: u32,
        /// KIM activities over the past year.
        #[arg(long, default_value_t = 200)]
        activities: u32,
    },
    /// Reference data about regions.
    Regions {
        #[command(subcommand)]
        command: RegionsCommand,
    },
    /// Create a gov_admin account (the first one, typically), reading its password
    /// from standard input.
    CreateAdmin {
        #[arg(long)]
        username: String,
        /// Read the password from the first line of standard input.
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Back up the SQLite database (consistently, while the service runs) and a
    /// filesystem attachment store into a new directory, with a manifest of checksums
    /// and the schema version. Secrets are not included: keep them apart.
    Backup {
        #[arg(long)]
        to: std::path::PathBuf,
    },
    /// Restore a backup made by `backup` into an empty place (no database file, no
    /// attachment files), after checking its schema version and every checksum.
    Restore {
        #[arg(long)]
        from: std::path::PathBuf,
    },
    /// Check that every attachment the database records is in the store and every
    /// object in the store belongs to a record; exits 1 when they disagree.
    VerifyStorage,
}

#[derive(Debug, Subcommand)]
enum RegionsCommand {
    /// Load kecamatan and kelurahan areas from a GeoJSON FeatureCollection (WGS 84):
    /// each feature a Polygon or MultiPolygon with its Kemendagri code in
    /// `properties.code`. Replaces the areas of the codes it holds; all or nothing.
    ImportBoundaries { file: std::path::PathBuf },
}

fn main() -> ExitCode {
    return_large_allocations_to_the_system();
    if let Err(error) = dotenvy::dotenv()
        && !error.not_found()
    {
        eprintln!("error: cannot read .env: {error}");
        return ExitCode::from(2);
    }
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Openapi => {
            print!("{}", routes::openapi_json());
            ExitCode::SUCCESS
        }
        Command::Migrate => migrate(cli.config),
        Command::CreateAdmin { username, .. } => create_admin(cli.config, &username),
        Command::SeedDemo {
            kims,
            reports,
            bulletins,
            activities,
        } => seed_demo(
            cli.config,
            kim_api::demo::DemoSize {
                kims,
                reports,
                bulletins,
                activities,
            },
        ),
        Command::Regions {
            command: RegionsCommand::ImportBoundaries { file },
        } => import_boundaries(cli.config, &file),
        Command::Backup { to } => back_up(cli.config, &to),
        Command::Restore { from } => restore(cli.config, &from),
        Command::VerifyStorage => verify_storage(cli.config),
        Command::Serve => serve(cli.config),
    }
}

fn back_up(args: ConfigArgs, to: &std::path::Path) -> ExitCode {
    let settings = match load_settings(args) {
        Ok(settings) => settings,
        Err(code) => return code,
    };
    match kim_api::backup::back_up(&settings, to) {
        Ok(manifest) => {
            println!(
                "backed up schema {} ({} files; attachments: {}) into {}",
                manifest.schema_version,
                manifest.files.len(),
                manifest.attachments,
                to.display()
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn restore(args: ConfigArgs, from: &std::path::Path) -> ExitCode {
    let settings = match load_settings(args) {
        Ok(settings) => settings,
        Err(code) => return code,
    };
    match kim_api::backup::restore(&settings, from) {
        Ok(manifest) => {
            println!(
                "restored schema {} ({} files) from {}",
                manifest.schema_version,
                manifest.files.len(),
                from.display()
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: nothing restored: {error}");
            ExitCode::FAILURE
        }
    }
}

fn verify_storage(args: ConfigArgs) -> ExitCode {
    telemetry::init_subscriber(args.log_format);
    let settings = match load_settings(args) {
        Ok(settings) => settings,
        Err(code) => return code,
    };
    let opened = Db::connect(&settings.database_url, settings.db_pool).map_err(|e| e.to_string());
    let storage =
        kim_api::attachments::Storage::open(&settings.storage_dir, settings.storage_url.as_deref());
    let (db, storage) = match (opened, storage) {
        (Ok(db), Ok(storage)) => (db, storage),
        (Err(error), _) | (_, Err(error)) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let taken = actix_web::rt::System::new().block_on(async {
        kim_api::attachments::inventory::take(&db, &storage, kim_api::startup::ABANDONED_UPLOAD)
            .await
    });
    match taken {
        Ok(inventory) => {
            println!(
                "{} files recorded, {} objects stored in {}",
                inventory.recorded,
                inventory.stored,
                storage.location()
            );
            for key in &inventory.missing {
                println!("missing: {key} (recorded, not in the store)");
            }
            for key in &inventory.unowned {
                println!("unowned: {key} (in the store, no record)");
            }
            if inventory.recent > 0 {
                println!(
                    "{} objects written within the hour have no record yet (uploads under way)",
                    inventory.recent
                );
            }
            if inventory.is_consistent() {
                println!("consistent");
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn import_boundaries(args: ConfigArgs, file: &std::path::Path) -> ExitCode {
    telemetry::init_subscriber(args.log_format);
    let settings = match load_settings(args) {
        Ok(settings) => settings,
        Err(code) => return code,
    };
    let db = match Db::connect(&settings.database_url, settings.db_pool) {
        Ok(db) => db,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let imported = actix_web::rt::System::new()
        .block_on(async { kim_api::regions::boundaries::import(&db, file).await });
    match imported {
        Ok(count) => {
            println!("imported {count} boundaries from {}", file.display());
            ExitCode::SUCCESS
        }
        Err(refused) => {
            eprintln!("error: nothing imported from {}:", file.display());
            for problem in refused.0 {
                eprintln!("  {problem}");
            }
            ExitCode::from(2)
        }
    }
}

/// Argon2 takes 19 MiB per password check. glibc raises its mmap threshold after such a
/// block is freed, so later ones come from per-thread heaps that keep the memory: three
/// bursts of 32 sign-ins left 1.3 GB resident for good. A fixed threshold keeps every
/// large block mmapped and returns it when freed (`benches/sign_in_memory.sh`: 28 MB).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn return_large_allocations_to_the_system() {
    const ONE_MIB: libc::c_int = 1 << 20;
    // SAFETY: mallopt only adjusts allocator parameters; it runs first thing in `main`,
    // before any other thread allocates.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, ONE_MIB);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn return_large_allocations_to_the_system() {}

fn load_settings(args: ConfigArgs) -> Result<Settings, ExitCode> {
    Settings::from_args(args).map_err(|error| {
        eprintln!("error: {error}");
        ExitCode::from(2)
    })
}

fn migrate(args: ConfigArgs) -> ExitCode {
    telemetry::init_subscriber(args.log_format);
    let settings = match load_settings(args) {
        Ok(settings) => settings,
        Err(code) => return code,
    };
    // Connecting runs the pending migrations.
    match Db::connect(&settings.database_url, settings.db_pool) {
        Ok(_) => {
            tracing::info!("database is up to date");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn create_admin(args: ConfigArgs, username: &str) -> ExitCode {
    telemetry::init_subscriber(args.log_format);
    let settings = match load_settings(args) {
        Ok(settings) => settings,
        Err(code) => return code,
    };
    let mut line = String::new();
    if let Err(error) = std::io::stdin().read_line(&mut line) {
        eprintln!("error: cannot read the password from standard input: {error}");
        return ExitCode::from(2);
    }
    let password = SecretString::from(line.trim_end_matches(['\r', '\n']).to_owned());
    let db = match Db::connect(&settings.database_url, settings.db_pool) {
        Ok(db) => db,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    match kim_api::sessions::create_admin(&db, username, password) {
        Ok(user) => {
            println!("created gov_admin {} (id {})", user.username, user.id);
            ExitCode::SUCCESS
        }
        Err(error) => {
            let problem = error.to_problem(kim_api::i18n::Lang::En, None);
            let reasons: Vec<String> = problem
                .errors
                .iter()
                .map(|issue| format!("{}: {}", issue.field, issue.message))
                .collect();
            if reasons.is_empty() {
                eprintln!("error: {}", problem.detail);
            } else {
                eprintln!("error: {}", reasons.join("; "));
            }
            ExitCode::from(2)
        }
    }
}

fn seed_demo(args: ConfigArgs, size: kim_api::demo::DemoSize) -> ExitCode {
    telemetry::init_subscriber(args.log_format);
    let settings = match load_settings(args) {
        Ok(settings) => settings,
        Err(code) => return code,
    };
    if settings.mode == Mode::Production {
        eprintln!(
            "error: seed-demo writes made-up people and reports; it does not run in production mode"
        );
        return ExitCode::from(2);
    }
    let db = match Db::connect(&settings.database_url, settings.db_pool) {
        Ok(db) => db,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let cipher = kim_api::crypto::PersonalDataCipher::new(&settings.nik_encryption_key);
    let started = std::time::Instant::now();
    match kim_api::demo::seed(&db, &cipher, size) {
        Ok(seeded) => {
            println!(
                "seeded {} KIMs with {} members, {} bulletins, {} reports with {} timeline entries, {} activities in {:.1} s",
                seeded.kims,
                seeded.members,
                seeded.bulletins,
                seeded.reports,
                seeded.timeline_entries,
                seeded.activities,
                started.elapsed().as_secs_f64()
            );
            println!("demo accounts, all with the password {}:", seeded.password);
            for (username, role) in &seeded.accounts {
                println!("  {username} ({})", role.as_str());
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!(
                "error: {}",
                error.to_problem(kim_api::i18n::Lang::En, None).detail
            );
            ExitCode::from(2)
        }
    }
}

fn serve(args: ConfigArgs) -> ExitCode {
    telemetry::init_subscriber(args.log_format);
    let settings = match load_settings(args) {
        Ok(settings) => settings,
        Err(code) => return code,
    };
    if settings.mode == Mode::Development {
        tracing::warn!(
            data_dir = %settings.data_dir.display(),
            generated_secrets = settings.uses_generated_secrets,
            "DEVELOPMENT MODE: secrets may be generated and kept in the data directory. \
             Never run this in production; set KIM_ENV=production with JWT_SECRET, \
             NIK_ENCRYPTION_KEY, DATABASE_URL and PUBLIC_BASE_URL."
        );
    }
    match actix_web::rt::System::new().block_on(async {
        let app = Application::build(&settings).await?;
        app.stopper().on_signals()?;
        tracing::info!(
            addr = %settings.bind_addr.ip(),
            port = app.port(),
            backend = ?app.db().backend(),
            "kim-api listening"
        );
        app.run_until_stopped()
            .await
            .map_err(|source| kim_api::startup::StartupError::Bind {
                addr: settings.bind_addr,
                source,
            })
    }) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
