//! The messages of the `LogBroadcaster`: each a struct with named fields and a typed result.

use actix::prelude::*;

/// One formatted log line, delivered to WebSocket sessions.
#[derive(Message, Clone)]
#[rtype(result = "()")]
pub struct LogLine {
    pub line: String,
}

/// Register a live-log session. Answers its subscription, or `None` when the session limit is reached.
#[derive(Message)]
#[rtype(result = "Option<Subscription>")]
pub struct Subscribe {
    pub session: Recipient<LogLine>,
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

/// The whole log: the file when there is one, else the ring buffer.
#[derive(Message)]
#[rtype(result = "String")]
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
