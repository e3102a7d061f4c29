//! The command line: `gcli2api` serves; `gcli2api migrate --from <url|dir> --to <url|dir>` copies a store.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::ConfigLayers;
use crate::shutdown::signals::Stopped;
use crate::startup::{Application, StartOptions};

/// OpenAI-, Anthropic- and Gemini-compatible APIs over the Gemini CLI / Code Assist backend.
/// Settings come from config/gcli2api.toml and the environment (see the README's table).
#[derive(Debug, Parser)]
#[command(name = "gcli2api", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the APIs and the panel (the default without a command).
    Serve(ServeArgs),
    /// Copy every record from one store to another (files, Redis, PostgreSQL, MongoDB).
    Migrate {
        /// The source: a backend URL (redis://, postgres://, mongodb://) or a credentials directory.
        #[arg(long, value_name = "URL_OR_DIR")]
        from: String,
        /// The destination, in the same forms as --from.
        #[arg(long, value_name = "URL_OR_DIR")]
        to: String,
    },
}

#[derive(Debug, Default, clap::Args)]
struct ServeArgs {
    /// Once listening, write the bound port (one line) to this file: with PORT=0 the system picks a
    /// free port, and a launcher reads it here instead of guessing one that may be taken meanwhile.
    #[arg(long, value_name = "FILE")]
    port_file: Option<PathBuf>,
}

pub async fn run(args: Vec<String>, env: HashMap<String, String>) -> ExitCode {
    let cli = match Cli::try_parse_from(std::iter::once("gcli2api".to_owned()).chain(args)) {
        Ok(cli) => cli,
        Err(e) => {
            // `--help` and `--version` arrive here too, with exit code 0 and their text.
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    match cli.command {
        None => serve(env, ServeArgs::default()).await,
        Some(Command::Serve(args)) => serve(env, args).await,
        Some(Command::Migrate { from, to }) => migrate(&from, &to, &env).await,
    }
}

async fn migrate(from: &str, to: &str, env: &HashMap<String, String>) -> ExitCode {
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
    match crate::store::migrate::migrate_urls(from, to, &redis_tls).await {
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

async fn serve(env: HashMap<String, String>, args: ServeArgs) -> ExitCode {
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
    if let Some(path) = &args.port_file {
        if let Err(e) = write_port_file(path, app.port()) {
            log::error!("cannot write the port file {}: {e}", path.display());
            log::logger().flush();
            return ExitCode::FAILURE;
        }
    }
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

/// Written under a temporary name and renamed, so a reader polling for the file never sees it half
/// written.
fn write_port_file(path: &Path, port: u16) -> std::io::Result<()> {
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    std::fs::write(&partial, format!("{port}\n"))?;
    std::fs::rename(&partial, path)
}
