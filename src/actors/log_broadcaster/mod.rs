//! `LogBroadcaster` owns the recent log lines (a ring buffer), the log file and the live-log WebSocket
//! subscribers. It is one of the process logger's sinks: each batch of lines goes to the file's writer
//! thread (`file_writer`, never the actor's thread) and to the actor, which keeps the last lines (the
//! batches themselves, `ring`) and passes the batch to every session. A subscriber whose mailbox is full is dropped at once
//! (`try_send`): one slow browser never stalls logging or the other sessions.

pub mod download;
mod file_writer;
pub mod messages;
mod ring;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use actix::prelude::*;

use self::download::LogDownload;
use self::file_writer::LogFile;
use self::messages::{
    ClearLogs, DownloadLogs, IsSubscribed, LogLines, Logged, SessionCount, Subscribe, Subscription,
    Unsubscribe,
};
use self::ring::Ring;
use crate::logging::{LineSink, LogBatch};

const RING_LINES: usize = 1000;
/// Lines a new session receives on connect.
const REPLAY_LINES: usize = 200;
/// Batches (a few dozen a second) waiting for the actor; a stalled actor drops batches from the ring
/// and the sessions, never from the file.
const MAILBOX: usize = 64;

pub struct LogBroadcaster {
    ring: Ring,
    subscribers: HashMap<u64, Recipient<LogLines>>,
    next_id: u64,
    max_sessions: usize,
    file: Option<LogFile>,
}

impl LogBroadcaster {
    /// Starts the broadcaster and makes it a sink of the process logger: from now on it receives every
    /// line logged, and writes them to `file_path` (when given), kept under `file_max_bytes` plus one
    /// rotated file.
    pub fn launch(
        file_path: Option<PathBuf>,
        file_max_bytes: u64,
        max_sessions: usize,
    ) -> Addr<Self> {
        let file = file_path.and_then(|path| LogFile::start(path, file_max_bytes));
        let actor_file = file.clone();
        let addr = Self::create(move |ctx| {
            ctx.set_mailbox_capacity(MAILBOX);
            Self {
                ring: Ring::new(RING_LINES),
                subscribers: HashMap::new(),
                next_id: 1,
                max_sessions,
                file: actor_file,
            }
        });
        crate::logging::add_sink(Box::new(BroadcastSink {
            addr: addr.clone(),
            file,
        }));
        addr
    }

    fn record(&mut self, batch: Arc<LogBatch>) {
        self.ring.push(batch.clone());
        self.subscribers.retain(|_, sub| {
            sub.try_send(LogLines {
                batch: batch.clone(),
            })
            .is_ok()
        });
    }

    fn ring_text(&self) -> String {
        let mut out = String::new();
        for line in self.ring.last(RING_LINES) {
            out.push_str(line);
            out.push('\n');
        }
        out
    }
}

/// The broadcaster as the logger sees it: batches go to the file's thread straight from the log
/// thread, and to the actor as one message each.
struct BroadcastSink {
    addr: Addr<LogBroadcaster>,
    file: Option<LogFile>,
}

impl LineSink for BroadcastSink {
    fn deliver(&self, batch: &Arc<LogBatch>) -> bool {
        if let Some(file) = &self.file {
            file.write(batch.clone());
        }
        let sent = self.addr.try_send(Logged {
            batch: batch.clone(),
        });
        // A full mailbox loses this batch for the ring and the sessions only; a closed one means the
        // gateway stopped.
        !matches!(sent, Err(SendError::Closed(_)))
    }
}

impl Actor for LogBroadcaster {
    type Context = Context<Self>;
}

impl Handler<Logged> for LogBroadcaster {
    type Result = ();

    fn handle(&mut self, msg: Logged, _: &mut Self::Context) {
        self.record(msg.batch);
    }
}

impl Handler<Subscribe> for LogBroadcaster {
    type Result = Option<Subscription>;

    fn handle(&mut self, msg: Subscribe, _: &mut Self::Context) -> Self::Result {
        self.subscribers.retain(|_, sub| sub.connected());
        if self.subscribers.len() >= self.max_sessions {
            return None;
        }
        let id = self.next_id;
        self.next_id += 1;
        self.subscribers.insert(id, msg.session);
        Some(Subscription {
            id,
            replay: self.ring.last(REPLAY_LINES).map(str::to_string).collect(),
        })
    }
}

impl Handler<Unsubscribe> for LogBroadcaster {
    type Result = ();

    fn handle(&mut self, msg: Unsubscribe, _: &mut Self::Context) {
        self.subscribers.remove(&msg.id);
    }
}

impl Handler<ClearLogs> for LogBroadcaster {
    type Result = ();

    fn handle(&mut self, _: ClearLogs, _: &mut Self::Context) {
        self.ring.clear();
        let cleared = Arc::new(LogBatch::from_line(&format!(
            "[{}] [INFO] --- log cleared ---",
            chrono::Utc::now().format("%Y-%m-%d %H:%M:%S")
        )));
        if let Some(file) = &self.file {
            file.truncate();
            file.write(cleared.clone());
        }
        self.record(cleared);
    }
}

impl Handler<DownloadLogs> for LogBroadcaster {
    type Result = ResponseFuture<LogDownload>;

    fn handle(&mut self, _: DownloadLogs, _: &mut Self::Context) -> Self::Result {
        let ring = self.ring_text();
        let files = self.file.as_ref().map(LogFile::open_for_download);
        Box::pin(async move {
            let parts = match files {
                Some(answer) => answer.await.ok().flatten(),
                None => None,
            };
            match parts {
                Some(parts) => LogDownload::Files(parts),
                None => LogDownload::Text(ring),
            }
        })
    }
}

impl Handler<SessionCount> for LogBroadcaster {
    type Result = usize;

    fn handle(&mut self, _: SessionCount, _: &mut Self::Context) -> usize {
        self.subscribers.len()
    }
}

impl Handler<IsSubscribed> for LogBroadcaster {
    type Result = bool;

    fn handle(&mut self, msg: IsSubscribed, _: &mut Self::Context) -> bool {
        self.subscribers.contains_key(&msg.id)
    }
}
