//! The log file, written on a thread of its own: the broadcaster hands each line over a bounded channel
//! and never waits on the disk. The thread also truncates the file and reads it back for downloads, in
//! order with the lines before, so a download holds every line logged up to it.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};

use tokio::sync::oneshot;

/// Lines queued for the disk at most; beyond that, lines reach the ring buffer and the live log but
/// not the file (a stalled disk must not grow memory or block logging).
const QUEUE_LINES: usize = 10_000;

enum Command {
    Line(String),
    Truncate,
    Read(oneshot::Sender<Option<String>>),
}

pub struct LogFile {
    commands: SyncSender<Command>,
}

impl LogFile {
    /// Starts the writer thread for `path` (the file starts empty each run, so downloads show this
    /// run only). The file is opened here, while the gateway starts and before the broadcaster runs,
    /// so it exists (owner-only) as soon as the gateway is up. `None` when no thread can be started.
    pub fn start(path: PathBuf) -> Option<Self> {
        let file = open_truncated(&path);
        let (commands, queue) = sync_channel(QUEUE_LINES);
        std::thread::Builder::new()
            .name("log-file".into())
            .spawn(move || run(&path, file, &queue))
            .map_err(|e| eprintln!("log file writer not started: {e}"))
            .ok()?;
        Some(Self { commands })
    }

    /// Queues one line; dropped when the queue is full or the writer is gone.
    pub fn write(&self, line: String) {
        if let Err(TrySendError::Full(_)) = self.commands.try_send(Command::Line(line)) {
            // Counted nowhere on purpose: logging about lost log lines would lose more.
        }
    }

    pub fn truncate(&self) {
        let _ = self.commands.try_send(Command::Truncate);
    }

    /// The file's content after every line queued before this call, `None` when the file is not
    /// writable (or the queue is full).
    pub fn read(&self) -> oneshot::Receiver<Option<String>> {
        let (reply, answer) = oneshot::channel();
        let _ = self.commands.try_send(Command::Read(reply));
        answer
    }
}

/// Owner-only: the log names clients, keys (masked) and credentials.
fn open_truncated(path: &Path) -> Option<File> {
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

fn run(path: &Path, mut file: Option<File>, queue: &Receiver<Command>) {
    // Ends when the broadcaster (the only sender) is gone.
    while let Ok(command) = queue.recv() {
        match command {
            Command::Line(line) => {
                if let Some(f) = file.as_mut() {
                    if writeln!(f, "{line}").is_err() {
                        // A full disk must not take logging down with it; the ring buffer remains.
                        file = None;
                    }
                }
            }
            Command::Truncate => file = open_truncated(path),
            Command::Read(reply) => {
                let text = file
                    .as_mut()
                    .and_then(|f| f.flush().ok())
                    .and_then(|()| std::fs::read_to_string(path).ok());
                let _ = reply.send(text);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_rt::test]
    async fn lines_truncation_and_reads_stay_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.txt");
        std::fs::write(&path, "from the previous run\n").unwrap();
        let file = LogFile::start(path.clone()).unwrap();
        file.write("one".into());
        file.write("two".into());
        assert_eq!(file.read().await.unwrap().as_deref(), Some("one\ntwo\n"));
        file.truncate();
        file.write("three".into());
        assert_eq!(file.read().await.unwrap().as_deref(), Some("three\n"));
    }

    #[actix_rt::test]
    async fn an_unwritable_path_reads_as_none() {
        let dir = tempfile::tempdir().unwrap();
        let file = LogFile::start(dir.path().join("missing/dir/log.txt")).unwrap();
        file.write("lost".into());
        assert_eq!(file.read().await.unwrap(), None);
    }
}
