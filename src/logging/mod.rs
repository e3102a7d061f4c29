//! Logging: the `log` facade, written in env_logger's style (`[time] [LEVEL] message`).
//!
//! What a line costs the thread that logs it is formatting into a buffer that thread keeps and one copy
//! into a queue under a short lock. The log thread (`writer`) takes the queue a few times a second,
//! masks secrets in one pass (`redact`, a safety net: secrets are meant to be formatted masked in the
//! first place, see [`Masked`]), writes the batch to stderr and hands the same batch to each gateway's
//! [`LineSink`] (the `LogBroadcaster`: ring buffer, live log, log file). A burst beyond the queue's bound
//! drops lines, counted in a warning, rather than blocking a request or growing memory.

pub mod batch;
mod format;
mod queue;
pub mod redact;
mod writer;

use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use log::{LevelFilter, Log, Metadata, Record};
use tokio::sync::oneshot;

pub use batch::LogBatch;
pub use redact::{mask, Masked, SecretList};

use self::queue::{LineQueue, Waiter};

/// Longest wait for the log thread to hand on the lines logged before a flush.
const FLUSH_WAIT: Duration = Duration::from_secs(2);

/// Where batches of log lines go besides stderr (one per gateway: tests start many in one process).
pub trait LineSink: Send {
    /// Takes one batch; `false` when the sink is gone for good and can be forgotten.
    fn deliver(&self, batch: &Arc<LogBatch>) -> bool;
}

/// The `log` facade is process-global, so the queue, the sinks and the secrets are too.
static QUEUE: OnceLock<Arc<LineQueue>> = OnceLock::new();
static SINKS: Mutex<Vec<Box<dyn LineSink>>> = Mutex::new(Vec::new());
static SECRETS: OnceLock<SecretList> = OnceLock::new();

/// The passwords the logger scrubs from every line.
pub fn secrets() -> &'static SecretList {
    SECRETS.get_or_init(SecretList::default)
}

/// Every line logged from now on is delivered to `sink` too, in batches.
pub fn add_sink(sink: Box<dyn LineSink>) {
    SINKS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(sink);
}

fn deliver(batch: &Arc<LogBatch>) {
    SINKS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .retain(|sink| sink.deliver(batch));
}

/// Resolves when every line logged before the call has been handed to the sinks (at once when no
/// logger runs; after a bounded wait if the log thread is stuck).
pub async fn flushed() {
    let Some(queue) = QUEUE.get() else {
        return;
    };
    let (tx, rx) = oneshot::channel();
    queue.wait_for_flush(Waiter::Task(tx));
    let _ = tokio::time::timeout(FLUSH_WAIT, rx).await;
}

struct GatewayLogger {
    filter: env_logger::Logger,
    /// `None` when the log thread could not be started: lines then go straight to stderr.
    queue: Option<Arc<LineQueue>>,
}

impl Log for GatewayLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        self.filter.enabled(metadata)
    }

    fn log(&self, record: &Record<'_>) {
        if !self.filter.matches(record) {
            return;
        }
        format::with_line(record.level(), *record.args(), |line| match &self.queue {
            Some(queue) => queue.push(line),
            None => eprintln!("{}", secrets().redact(line)),
        });
    }

    /// Waits (boundedly) until the lines logged so far are written: called before the process exits.
    fn flush(&self) {
        if let Some(queue) = &self.queue {
            let (tx, rx) = std::sync::mpsc::channel();
            queue.wait_for_flush(Waiter::Thread(tx));
            let _ = rx.recv_timeout(FLUSH_WAIT);
        }
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

/// Installs the process logger and starts the log thread; later calls (more gateways in one process)
/// keep the first one.
pub fn init(level: &str) {
    if QUEUE.get().is_some() {
        return;
    }
    let filter = parse_level(level);
    let rules = env_logger::Builder::new()
        .filter_level(filter)
        // Dependencies are noisy below warn; keep them quiet unless tracing.
        .filter_module("actix_server", LevelFilter::Warn.min(filter))
        .filter_module("actix_http", LevelFilter::Warn.min(filter))
        .filter_module("tokio_postgres", LevelFilter::Warn.min(filter))
        .filter_module("mongodb", LevelFilter::Warn.min(filter))
        .filter_module("rustls", LevelFilter::Warn.min(filter))
        .build();
    let queue = Arc::new(LineQueue::default());
    let started = writer::start(queue.clone())
        .map_err(|e| eprintln!("log thread not started, logging straight to stderr: {e}"))
        .is_ok();
    let logger = GatewayLogger {
        filter: rules,
        queue: started.then(|| queue.clone()),
    };
    if log::set_boxed_logger(Box::new(logger)).is_ok() {
        log::set_max_level(filter);
        if started {
            let _ = QUEUE.set(queue);
        }
    }
}
