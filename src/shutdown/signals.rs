//! The stop sequence, driven by SIGTERM / SIGINT (actix's own signal handling is off: it would close
//! the listener at the first signal). See the module above for the order of the steps.

use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::ServerHandle;

use super::Shutdown;

/// Time left to streams between their error event and actix dropping the connection: enough to
/// write a few frames.
pub const STREAM_END_GRACE: Duration = Duration::from_secs(3);

/// How the two phases of a stop are timed (`SHUTDOWN_READY_DELAY`, `SHUTDOWN_TIMEOUT`).
#[derive(Debug, Clone, Copy)]
pub struct StopPlan {
    pub ready_delay: Duration,
    pub timeout: Duration,
}

/// How the server came to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// Every phase ran: what was in flight finished or was ended with an error event.
    Graceful,
    /// A second signal stopped the server at once.
    Forced,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot listen for stop signals: {0}")]
pub struct SignalError(#[from] std::io::Error);

/// SIGTERM and SIGINT, as one source.
struct StopSignals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn install() -> Result<Self, SignalError> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Self {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    async fn next(&mut self) -> &'static str {
        tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.int.recv() => "SIGINT",
        }
    }
}

/// Listens for stop signals from now on; the returned future runs the whole sequence for `server`
/// once the first arrives (and notes a forced stop in `shutdown`).
pub fn on_signals(
    server: ServerHandle,
    shutdown: Arc<Shutdown>,
    plan: StopPlan,
) -> Result<impl std::future::Future<Output = Stopped>, SignalError> {
    let mut signals = StopSignals::install()?;
    Ok(async move {
        let first = signals.next().await;
        stop(server, shutdown, plan, first, signals.next()).await
    })
}

async fn stop(
    server: ServerHandle,
    shutdown: Arc<Shutdown>,
    plan: StopPlan,
    first: &str,
    second: impl std::future::Future<Output = &'static str>,
) -> Stopped {
    let mut second = std::pin::pin!(second);
    shutdown.start_draining();
    log::info!(
        "{first}: stopping; not ready from now, still serving for {} s",
        plan.ready_delay.as_secs()
    );
    tokio::select! {
        _ = tokio::time::sleep(plan.ready_delay) => {}
        signal = &mut second => return forced(&server, &shutdown, signal).await,
    }
    log::info!(
        "no longer accepting connections; in-flight requests have {} s to finish",
        plan.timeout.as_secs()
    );
    // The command is sent now; the future resolves once every worker is done.
    let mut stopped = std::pin::pin!(server.stop(true));
    tokio::select! {
        _ = &mut stopped => return Stopped::Graceful,
        _ = tokio::time::sleep(plan.timeout) => {}
        signal = &mut second => return forced(&server, &shutdown, signal).await,
    }
    log::warn!("shutdown timeout reached: ending the streams still open with an error event");
    shutdown.end_streams();
    tokio::select! {
        _ = &mut stopped => Stopped::Graceful,
        signal = &mut second => forced(&server, &shutdown, signal).await,
    }
}

async fn forced(server: &ServerHandle, shutdown: &Shutdown, signal: &str) -> Stopped {
    log::warn!("{signal} again: stopping at once");
    shutdown.note_forced();
    server.stop(false).await;
    Stopped::Forced
}
