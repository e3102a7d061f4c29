use actix::prelude::*;

/// One formatted log line, delivered to WebSocket sessions.
#[derive(Message, Clone)]
#[rtype(result = "()")]
pub struct LogLine(pub String);

/// Register a live-log session. Answers the recent lines to send first, or `None` when the session
/// limit is reached.
#[derive(Message)]
#[rtype(result = "Option<(u64, Vec<String>)>")]
pub struct Subscribe(pub Recipient<LogLine>);

#[derive(Message)]
#[rtype(result = "()")]
pub struct Unsubscribe(pub u64);

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
pub struct IsSubscribed(pub u64);
