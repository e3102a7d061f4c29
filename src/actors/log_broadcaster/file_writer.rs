//! The log file, written on a thread of its own: batches of lines arrive over a bounded channel and
//! nobody waits on the disk. The file is bounded: past its limit it moves to `<file>.1` (replacing the
//! one before) and a new file starts. A write that fails (a full disk) stops file logging with one
//! warning; the gateway, stderr and the live log carry on. The thread also truncates the file and opens
//! it for downloads, in order with the lines before, so a download holds every line logged up to it.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;

use tokio::sync::oneshot;

use super::download::FilePart;
use crate::logging::LogBatch;

/// Batches queued for the disk at most.
const QUEUE_BATCHES: usize = 256;
/// Bytes queued for the disk at most; beyond that, lines reach stderr and the live log but not the
/// file (a stalled disk must not grow memory or hold up logging).
const QUEUE_BYTES: usize = 16 << 20;

enum Command {
    Lines(Arc<LogBatch>),
    Truncate,
    Open(oneshot::Sender<Option<Vec<FilePart>>>),
}

/// A handle on the writer thread; the thread ends when every handle is dropped.
#[derive(Clone)]
pub struct LogFile {
    commands: SyncSender<Command>,
    queued_bytes: Arc<AtomicUsize>,
}

impl LogFile {
    /// Starts the writer thread for `path`, kept under `max_bytes` (plus one rotated file). The file
    /// starts empty each run, so downloads show this run only; it is opened here, while the gateway
    /// starts, so it exists (owner-only) as soon as the gateway is up. `None` when no thread can be
    /// started.
    pub fn start(path: PathBuf, max_bytes: u64) -> Option<Self> {
        let mut writer = Writer::new(path, max_bytes);
        writer.open_fresh();
        let (commands, queue) = sync_channel(QUEUE_BATCHES);
        let queued_bytes = Arc::new(AtomicUsize::new(0));
        let counted = queued_bytes.clone();
        std::thread::Builder::new()
            .name("log-file".into())
            .spawn(move || writer.run(&queue, &counted))
            .map_err(|e| log::warn!("log file writer not started: {e}"))
            .ok()?;
        Some(Self {
            commands,
            queued_bytes,
        })
    }

    /// Queues a batch; dropped when the queue is full or the writer is gone.
    pub fn write(&self, batch: Arc<LogBatch>) {
        let bytes = batch.bytes();
        if self.queued_bytes.fetch_add(bytes, Ordering::Relaxed) + bytes > QUEUE_BYTES
            || self.commands.try_send(Command::Lines(batch)).is_err()
        {
            // Counted nowhere on purpose: logging about lost log lines would lose more.
            self.queued_bytes.fetch_sub(bytes, Ordering::Relaxed);
        }
    }

    /// Empties the file (and drops the rotated one); starts writing again if a failure had stopped it.
    pub fn truncate(&self) {
        let _ = self.commands.try_send(Command::Truncate);
    }

    /// The rotated file and the file, opened after every batch queued before this call; `None` when
    /// nothing is being written (writing stopped, or the path is not a regular file).
    pub fn open_for_download(&self) -> oneshot::Receiver<Option<Vec<FilePart>>> {
        let (reply, answer) = oneshot::channel();
        let _ = self.commands.try_send(Command::Open(reply));
        answer
    }
}

struct Writer {
    path: PathBuf,
    rotated: PathBuf,
    max_bytes: u64,
    file: Option<File>,
    /// A regular file is bounded and rotated; a device (`/dev/null`, `/dev/stdout`) is written as is.
    regular: bool,
}

impl Writer {
    fn new(path: PathBuf, max_bytes: u64) -> Self {
        let mut rotated = path.clone().into_os_string();
        rotated.push(".1");
        Self {
            path,
            rotated: rotated.into(),
            max_bytes: max_bytes.max(1),
            file: None,
            regular: false,
        }
    }

    fn run(mut self, queue: &Receiver<Command>, queued_bytes: &AtomicUsize) {
        // Ends when every handle (broadcaster and logger sink) is gone.
        while let Ok(command) = queue.recv() {
            match command {
                Command::Lines(batch) => {
                    self.write(&batch);
                    queued_bytes.fetch_sub(batch.bytes(), Ordering::Relaxed);
                }
                Command::Truncate => self.open_fresh(),
                Command::Open(reply) => {
                    let _ = reply.send(self.open_for_download());
                }
            }
        }
    }

    /// Opens the file empty and removes the rotated one.
    fn open_fresh(&mut self) {
        self.open_empty();
        if self.regular {
            let _ = std::fs::remove_file(&self.rotated);
        }
    }

    /// Opens the file (append-only, owner-only) and empties it when it is a regular file.
    fn open_empty(&mut self) {
        self.file = None;
        let file = match crate::private_files::private_options()
            .create(true)
            .append(true)
            .open(&self.path)
        {
            Ok(file) => file,
            Err(e) => {
                log::warn!("{}: cannot open the log file: {e}", self.path.display());
                return;
            }
        };
        // Never truncate, chmod or rotate a device someone pointed LOG_FILE at.
        self.regular = file.metadata().is_ok_and(|m| m.is_file());
        if self.regular {
            if let Err(e) = file.set_len(0) {
                log::warn!("{}: cannot empty the log file: {e}", self.path.display());
            }
            if let Err(e) = crate::private_files::private_file(&self.path) {
                log::warn!(
                    "{}: cannot make the log file owner-only: {e}",
                    self.path.display()
                );
            }
        }
        self.file = Some(file);
    }

    fn write(&mut self, batch: &LogBatch) {
        if self.file.is_none() {
            return;
        }
        let text = batch.text();
        let result = if self.regular {
            self.write_bounded(text, batch.line_ends())
        } else {
            self.write_out(text)
        };
        if let Err(e) = result {
            // A full disk must not take logging down with it: one warning, then stderr and the live
            // log carry on without the file.
            self.file = None;
            log::warn!(
                "{}: log file writing stopped: {e}; lines still go to stderr and the live log",
                self.path.display()
            );
        }
    }

    fn write_out(&mut self, text: &str) -> std::io::Result<()> {
        match self.file.as_mut() {
            Some(file) => file.write_all(text.as_bytes()),
            None => Ok(()),
        }
    }

    /// Writes whole lines, moving the file aside before one would take it past `max_bytes`.
    fn write_bounded(
        &mut self,
        text: &str,
        line_ends: impl Iterator<Item = usize>,
    ) -> std::io::Result<()> {
        // The file's own size: someone may have emptied or appended to it since.
        let mut size = match &self.file {
            Some(file) => file.metadata()?.len(),
            None => return Ok(()),
        };
        let mut start = 0;
        let mut fits = 0;
        for end in line_ends {
            if size + (end - start) as u64 <= self.max_bytes {
                fits = end;
                continue;
            }
            self.write_out(text.get(start..fits).unwrap_or_default())?;
            size += (fits - start) as u64;
            start = fits;
            if size > 0 {
                self.rotate();
                size = 0;
            }
            if (end - start) as u64 > self.max_bytes {
                // One line longer than the whole file: its head, cut where a character starts.
                let mut cut = start + usize::try_from(self.max_bytes - 1).unwrap_or(usize::MAX);
                while !text.is_char_boundary(cut) {
                    cut -= 1;
                }
                self.write_out(text.get(start..cut).unwrap_or_default())?;
                self.write_out("\n")?;
                size = (cut - start + 1) as u64;
                start = end;
            }
            fits = end;
        }
        self.write_out(text.get(start..fits).unwrap_or_default())
    }

    /// The file becomes `<file>.1` (replacing the previous one) and a new, empty file starts. Should
    /// the rename fail, the file is emptied instead: the bound holds either way.
    fn rotate(&mut self) {
        self.file = None;
        if let Err(e) = std::fs::rename(&self.path, &self.rotated) {
            log::warn!(
                "{}: log file not rotated, emptied: {e}",
                self.path.display()
            );
        }
        self.open_empty();
    }

    fn open_for_download(&self) -> Option<Vec<FilePart>> {
        if self.file.is_none() || !self.regular {
            return None;
        }
        let parts = [&self.rotated, &self.path]
            .into_iter()
            .filter_map(|path| open_regular(path))
            .collect();
        Some(parts)
    }
}

fn open_regular(path: &Path) -> Option<FilePart> {
    let file = File::open(path).ok()?;
    let meta = file.metadata().ok()?;
    meta.is_file().then(|| FilePart::new(file, meta.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actors::log_broadcaster::download::LogDownload;

    async fn download(file: &LogFile) -> Option<String> {
        let parts = file.open_for_download().await.unwrap()?;
        Some(LogDownload::Files(parts).collect_text().await)
    }

    fn lines(text: &[&str]) -> Arc<LogBatch> {
        let mut batch = LogBatch::default();
        for line in text {
            batch.push(line);
        }
        Arc::new(batch)
    }

    #[actix_rt::test]
    async fn lines_truncation_and_downloads_stay_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.txt");
        std::fs::write(&path, "from the previous run\n").unwrap();
        std::fs::write(dir.path().join("log.txt.1"), "older\n").unwrap();
        let file = LogFile::start(path.clone(), 1 << 20).unwrap();
        file.write(lines(&["one", "two"]));
        assert_eq!(download(&file).await.as_deref(), Some("one\ntwo\n"));
        file.truncate();
        file.write(lines(&["three"]));
        assert_eq!(download(&file).await.as_deref(), Some("three\n"));
    }

    #[actix_rt::test]
    async fn the_file_moves_aside_before_it_would_pass_its_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.txt");
        let rotated = dir.path().join("log.txt.1");
        let file = LogFile::start(path.clone(), 20).unwrap();
        // 9 bytes a line: two fit in 20 bytes, the third starts a new file.
        file.write(lines(&["line-001", "line-002", "line-003"]));
        file.write(lines(&["line-004", "line-005"]));
        assert_eq!(
            download(&file).await.as_deref(),
            Some("line-003\nline-004\nline-005\n")
        );
        assert_eq!(
            std::fs::read_to_string(&rotated).unwrap(),
            "line-003\nline-004\n"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "line-005\n");
        // A line longer than the whole file keeps its head.
        file.write(lines(&["x".repeat(50).as_str(), "after"]));
        download(&file).await;
        assert_eq!(
            std::fs::read_to_string(&rotated).unwrap(),
            format!("{}\n", "x".repeat(19))
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "after\n");
        let only_two = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(only_two, 2);
    }

    #[actix_rt::test]
    async fn an_unwritable_path_downloads_as_none() {
        let dir = tempfile::tempdir().unwrap();
        let file = LogFile::start(dir.path().join("missing/dir/log.txt"), 1 << 20).unwrap();
        file.write(lines(&["lost"]));
        assert_eq!(download(&file).await, None);
    }

    #[actix_rt::test]
    async fn a_full_device_stops_file_logging_and_is_left_alone() {
        let before = std::fs::metadata("/dev/full").unwrap();
        let file = LogFile::start(PathBuf::from("/dev/full"), 1).unwrap();
        file.write(lines(&["first"]));
        file.write(lines(&["second"]));
        // Writing stopped, and nothing is read back from a device.
        assert_eq!(download(&file).await, None);
        let after = std::fs::metadata("/dev/full").unwrap();
        assert_eq!(before.permissions(), after.permissions());
        assert!(!Path::new("/dev/full.1").exists());
    }
}
