//! `LogBroadcaster` owns the recent log lines (a ring buffer), the log file and the live-log WebSocket
//! subscribers. Lines arrive from the process logger through a bounded queue. A subscriber whose mailbox
//! is full is dropped at once (`try_send`): one slow browser never stalls logging or the other sessions.
//! The file is written on its own thread (`file_writer`), never on the actor's.

mod file_writer;
pub mod messages;

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;

use actix::prelude::*;
use tokio::sync::mpsc;

use self::file_writer::LogFile;
use self::messages::{
    ClearLogs, DownloadLogs, IsSubscribed, LogLine, SessionCount, Subscribe, Subscription,
    Unsubscribe,
};

const RING_LINES: usize = 1000;
/// Lines a new session receives on connect.
const REPLAY_LINES: usize = 200;

pub struct LogBroadcaster {
    ring: VecDeque<String>,
    subscribers: HashMap<u64, Recipient<LogLine>>,
    next_id: u64,
    max_sessions: usize,
    file: Option<LogFile>,
    lines: Option<mpsc::Receiver<String>>,
}

impl LogBroadcaster {
    pub fn new(
        lines: mpsc::Receiver<String>,
        file_path: Option<PathBuf>,
        max_sessions: usize,
    ) -> Self {
        Self {
            ring: VecDeque::with_capacity(RING_LINES),
            subscribers: HashMap::new(),
            next_id: 1,
            max_sessions,
            file: file_path.and_then(LogFile::start),
            lines: Some(lines),
        }
    }

    fn record(&mut self, line: String) {
        if let Some(file) = &self.file {
            file.write(line.clone());
        }
        if self.ring.len() == RING_LINES {
            self.ring.pop_front();
        }
        self.ring.push_back(line.clone());
        self.subscribers
            .retain(|_, sub| sub.try_send(LogLine { line: line.clone() }).is_ok());
    }

    fn ring_text(&self) -> String {
        let mut out = String::new();
        for line in &self.ring {
            out.push_str(line);
            out.push('\n');
        }
        out
    }
}

impl Actor for LogBroadcaster {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        if let Some(rx) = self.lines.take() {
            ctx.add_stream(ReceiverStream(rx));
        }
    }
}

/// Adapts the tokio receiver to a `Stream` without pulling in tokio-stream.
struct ReceiverStream(mpsc::Receiver<String>);

impl futures_util::Stream for ReceiverStream {
    type Item = String;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<String>> {
        self.0.poll_recv(cx)
    }
}

impl StreamHandler<String> for LogBroadcaster {
    fn handle(&mut self, line: String, _: &mut Self::Context) {
        self.record(line);
    }

    fn finished(&mut self, _: &mut Self::Context) {}
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
        let skip = self.ring.len().saturating_sub(REPLAY_LINES);
        Some(Subscription {
            id,
            replay: self.ring.iter().skip(skip).cloned().collect(),
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
        if let Some(file) = &self.file {
            file.truncate();
        }
        self.record(format!(
            "[{}] [INFO] --- log cleared ---",
            chrono::Utc::now().format("%Y-%m-%d %H:%M:%S")
        ));
    }
}

impl Handler<DownloadLogs> for LogBroadcaster {
    type Result = ResponseFuture<String>;

    fn handle(&mut self, _: DownloadLogs, _: &mut Self::Context) -> Self::Result {
        let ring = self.ring_text();
        let from_file = self.file.as_ref().map(LogFile::read);
        Box::pin(async move {
            match from_file {
                Some(answer) => answer.await.ok().flatten().unwrap_or(ring),
                None => ring,
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
