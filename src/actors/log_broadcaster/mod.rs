//! `LogBroadcaster` owns the recent log lines (a ring buffer), the log file and the live-log WebSocket
//! subscribers. Lines arrive from the process logger through a bounded queue. A subscriber whose mailbox
//! is full is dropped at once (`try_send`): one slow browser never stalls logging or the other sessions.

pub mod messages;

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::Write;
use std::path::PathBuf;

use actix::prelude::*;
use tokio::sync::mpsc;

pub use messages::{
    ClearLogs, DownloadLogs, IsSubscribed, LogLine, SessionCount, Subscribe, Unsubscribe,
};

const RING_LINES: usize = 1000;
/// Lines a new session receives on connect.
const REPLAY_LINES: usize = 200;

pub struct LogBroadcaster {
    ring: VecDeque<String>,
    subscribers: HashMap<u64, Recipient<LogLine>>,
    next_id: u64,
    max_sessions: usize,
    file_path: Option<PathBuf>,
    file: Option<File>,
    lines: Option<mpsc::Receiver<String>>,
}

impl LogBroadcaster {
    pub fn new(
        lines: mpsc::Receiver<String>,
        file_path: Option<PathBuf>,
        max_sessions: usize,
    ) -> Self {
        let file = file_path.as_ref().and_then(open_truncated);
        Self {
            ring: VecDeque::with_capacity(RING_LINES),
            subscribers: HashMap::new(),
            next_id: 1,
            max_sessions,
            file_path,
            file,
            lines: Some(lines),
        }
    }

    fn record(&mut self, line: String) {
        if let Some(file) = self.file.as_mut() {
            if writeln!(file, "{line}").is_err() {
                // A full disk must not take logging down with it; keep serving the ring buffer.
                self.file = None;
            }
        }
        if self.ring.len() == RING_LINES {
            self.ring.pop_front();
        }
        self.ring.push_back(line.clone());
        self.subscribers
            .retain(|_, sub| sub.try_send(LogLine(line.clone())).is_ok());
    }
}

/// The file starts empty each run, as the original did, so downloads show this run only.
/// Owner-only: the log names clients, keys (masked) and credentials.
fn open_truncated(path: &PathBuf) -> Option<File> {
    let file = crate::private_files::private_options()
        .create(true)
        .write(true)
        .truncate(true)
        .open(path)
        .ok()?;
    if let Err(e) = crate::private_files::private_file(path) {
        log::warn!(
            "{}: cannot make the log file owner-only: {e}",
            path.display()
        );
    }
    Some(file)
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
    type Result = Option<(u64, Vec<String>)>;

    fn handle(&mut self, msg: Subscribe, _: &mut Self::Context) -> Self::Result {
        self.subscribers.retain(|_, sub| sub.connected());
        if self.subscribers.len() >= self.max_sessions {
            return None;
        }
        let id = self.next_id;
        self.next_id += 1;
        self.subscribers.insert(id, msg.0);
        let skip = self.ring.len().saturating_sub(REPLAY_LINES);
        Some((id, self.ring.iter().skip(skip).cloned().collect()))
    }
}

impl Handler<Unsubscribe> for LogBroadcaster {
    type Result = ();

    fn handle(&mut self, msg: Unsubscribe, _: &mut Self::Context) {
        self.subscribers.remove(&msg.0);
    }
}

impl Handler<ClearLogs> for LogBroadcaster {
    type Result = ();

    fn handle(&mut self, _: ClearLogs, _: &mut Self::Context) {
        self.ring.clear();
        if let Some(path) = &self.file_path {
            self.file = open_truncated(path);
        }
        self.record(format!(
            "[{}] [INFO] --- log cleared ---",
            chrono::Utc::now().format("%Y-%m-%d %H:%M:%S")
        ));
    }
}

impl Handler<DownloadLogs> for LogBroadcaster {
    type Result = String;

    fn handle(&mut self, _: DownloadLogs, _: &mut Self::Context) -> String {
        if let Some(file) = self.file.as_mut() {
            let _ = file.flush();
        }
        if let Some(text) = self
            .file_path
            .as_ref()
            .filter(|_| self.file.is_some())
            .and_then(|p| std::fs::read_to_string(p).ok())
        {
            return text;
        }
        let mut out = String::new();
        for line in &self.ring {
            out.push_str(line);
            out.push('\n');
        }
        out
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
        self.subscribers.contains_key(&msg.0)
    }
}
