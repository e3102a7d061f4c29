//! The command line: `gcli2api` serves; `gcli2api migrate --from <url|dir> --to <url|dir>` copies a store.

use std::collections::HashMap;
use std::process::ExitCode;

use crate::config::ConfigLayers;
use crate::shutdown::signals::Stopped;
use crate::startup::{Application, StartOptions};

const USAGE: &str = "usage: gcli2api [serve]\n       gcli2api migrate --from <backend-url-or-dir> --to <backend-url-or-dir>";

pub async fn run(args: Vec<String>, env: HashMap<String, String>) -> ExitCode {
    match args.first().map(String::as_str) {
        None | Some("serve") => serve(env).await,
        Some("migrate") => migrate(args.get(1..).unwrap_or_default(), &env).await,
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!("unknown command {other:?}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

async fn migrate(args: &[String], env: &HashMap<String, String>) -> ExitCode {
    let mut from = None;
    let mut to = None;
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--from" => from = iter.next().cloned(),
            "--to" => to = iter.next().cloned(),
            other => {
                eprintln!("unknown argument {other:?}\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let (Some(from), Some(to)) = (from, to) else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    // A `rediss://` side uses the certificate settings of the environment, as `serve` does.
    let path = |key: &str| {
        env.get(key)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
            .map(std::path::PathBuf::from)
    };
    let redis_tls = crate::store::tls::redis_tls::RedisTls {
        ca_cert: path("REDIS_CA_CERT"),
        client_cert: path("REDIS_CLIENT_CERT"),
        client_key: path("REDIS_CLIENT_KEY"),
    };
    match crate::store::migrate::migrate_urls(&from, &to, &redis_tls).await {
        Ok(report) => {
            println!("{report:?}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("migration failed: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(env: HashMap<String, String>) -> ExitCode {
    let layers = match ConfigLayers::load(ConfigLayers::default_file(&env).as_deref(), &env) {
        Ok(layers) => layers,
        Err(e) => {
            eprintln!("gcli2api: {e}");
            return ExitCode::from(2);
        }
    };
    let level = layers
        .resolve()
        .map(|s| s.log_level)
        .unwrap_or_else(|_| "info".into());
    crate::logging::init(&level);
    let options = StartOptions {
        env,
        ..StartOptions::default()
    };
    let app = match Application::build(layers, options).await {
        Ok(app) => app,
        Err(e) => {
            log::error!("cannot start: {e}");
            log::logger().flush();
            return ExitCode::FAILURE;
        }
    };
    crate::allocator::purge_as_usual();
    let code = match app.run_until_signalled().await {
        Ok(Stopped::Graceful) => {
            log::info!("stopped");
            ExitCode::SUCCESS
        }
        Ok(Stopped::Forced) => ExitCode::FAILURE,
        Err(e) => {
            log::error!("{e}");
            ExitCode::FAILURE
        }
    };
    // The log thread writes a few milliseconds behind: let it finish before the process ends.
    log::logger().flush();
    code
}
