//! Logging: the `log` facade, written in env_logger's style to stderr, and fed line by line to the
//! `LogBroadcaster` actor (file, ring buffer, live-log WebSocket) through a bounded channel, so a burst of
//! logging never blocks a request and never grows memory without bound.

pub mod redact;

use std::sync::{Mutex, OnceLock};

use log::{Level, LevelFilter, Log, Metadata, Record};
use tokio::sync::mpsc;

pub use redact::{mask, SecretList};

/// Lines waiting for the broadcaster; beyond this a burst drops lines rather than blocking requests.
const LINE_QUEUE: usize = 10_000;

/// Where log lines go besides stderr. The `log` facade is process-global, so the sinks are too: each
/// gateway started in this process (tests start many) registers its own broadcaster's queue.
static SINKS: OnceLock<Mutex<Vec<mpsc::Sender<String>>>> = OnceLock::new();
static SECRETS: OnceLock<SecretList> = OnceLock::new();

fn sinks() -> &'static Mutex<Vec<mpsc::Sender<String>>> {
    SINKS.get_or_init(|| Mutex::new(Vec::new()))
}

/// The passwords the logger scrubs from every line.
pub fn secrets() -> &'static SecretList {
    SECRETS.get_or_init(SecretList::default)
}

struct GatewayLogger {
    stderr: env_logger::Logger,
}

impl Log for GatewayLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        self.stderr.enabled(metadata)
    }

    fn log(&self, record: &Record<'_>) {
        if !self.stderr.matches(record) {
            return;
        }
        let message = secrets().redact(&record.args().to_string());
        let line = format!(
            "[{}] [{}] {}",
            chrono::Utc::now().format("%Y-%m-%d %H:%M:%S"),
            level_name(record.level()),
            message
        );
        eprintln!("{line}");
        if let Ok(mut sinks) = sinks().lock() {
            // A full queue means that broadcaster is behind: dropping a line beats stalling a worker.
            // A closed queue belongs to a gateway that stopped.
            sinks.retain(|tx| {
                !matches!(
                    tx.try_send(line.clone()),
                    Err(mpsc::error::TrySendError::Closed(_))
                )
            });
        }
    }

    fn flush(&self) {}
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::Error => "ERROR",
        Level::Warn => "WARN",
        Level::Info => "INFO",
        Level::Debug => "DEBUG",
        Level::Trace => "TRACE",
    }
}

pub fn parse_level(level: &str) -> LevelFilter {
    match level.trim().to_ascii_lowercase().as_str() {
        "trace" => LevelFilter::Trace,
        "debug" => LevelFilter::Debug,
        "warn" | "warning" => LevelFilter::Warn,
        "error" | "critical" => LevelFilter::Error,
        "off" => LevelFilter::Off,
        _ => LevelFilter::Info,
    }
}

/// Installs the process logger; later calls (more gateways in one process) keep the first one.
pub fn init(level: &str) {
    let filter = parse_level(level);
    let stderr = env_logger::Builder::new()
        .filter_level(filter)
        // Dependencies are noisy below warn; keep them quiet unless tracing.
        .filter_module("actix_server", LevelFilter::Warn.min(filter))
        .filter_module("actix_http", LevelFilter::Warn.min(filter))
        .filter_module("tokio_postgres", LevelFilter::Warn.min(filter))
        .filter_module("mongodb", LevelFilter::Warn.min(filter))
        .filter_module("rustls", LevelFilter::Warn.min(filter))
        .build();
    if log::set_boxed_logger(Box::new(GatewayLogger { stderr })).is_ok() {
        log::set_max_level(filter);
    }
}

/// A new queue receiving every log line from now on.
pub fn subscribe() -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel(LINE_QUEUE);
    if let Ok(mut sinks) = sinks().lock() {
        sinks.push(tx);
    }
    rx
}
