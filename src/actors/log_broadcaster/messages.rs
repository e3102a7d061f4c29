//! The messages of the `LogBroadcaster`: each a struct with named fields and a typed result.

use std::sync::Arc;

use actix::prelude::*;

use super::download::LogDownload;
use crate::logging::LogBatch;

/// Lines from the process logger, already redacted: for the ring buffer and the sessions.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Logged {
    pub batch: Arc<LogBatch>,
}

/// Log lines for a WebSocket session, each sent as its own text frame.
#[derive(Message, Clone)]
#[rtype(result = "()")]
pub struct LogLines {
    pub batch: Arc<LogBatch>,
}

/// Register a live-log session. Answers its subscription, or `None` when the session limit is reached.
#[derive(Message)]
#[rtype(result = "Option<Subscription>")]
pub struct Subscribe {
    pub session: Recipient<LogLines>,
}

/// A registered live-log session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub id: u64,
    /// The recent lines to send first.
    pub replay: Vec<String>,
}

#[derive(Message)]
#[rtype(result = "()")]
pub struct Unsubscribe {
    pub id: u64,
}

/// Empty the ring buffer and truncate the log file.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ClearLogs;

/// The whole log: the files (rotated, then current) when they are written, else the ring buffer.
/// Flush the logger first (`logging::flushed`) for the lines logged just before.
#[derive(Message)]
#[rtype(result = "LogDownload")]
pub struct DownloadLogs;

/// How many sessions are subscribed (for tests and the status page).
#[derive(Message)]
#[rtype(result = "usize")]
pub struct SessionCount;

/// Whether the session is still subscribed (it is dropped when it falls behind).
#[derive(Message)]
#[rtype(result = "bool")]
pub struct IsSubscribed {
    pub id: u64,
}
