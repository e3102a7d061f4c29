//! What the panel's log download sends: the log files read in chunks as the client takes them (the
//! file may be hundreds of megabytes; memory holds one chunk), or the ring buffer when no file is
//! written.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Cursor, Read};

use bytes::Bytes;
use futures_util::stream::{self, Stream};

/// Bytes read from disk per chunk sent.
const CHUNK: usize = 64 << 10;

/// An opened log file and how much of it to send: its length when it was opened, so a download of a
/// busy log ends instead of chasing the lines written while it runs.
pub struct FilePart {
    file: File,
    len: u64,
}

impl FilePart {
    pub fn new(file: File, len: u64) -> Self {
        Self { file, len }
    }
}

/// The answer to `DownloadLogs`.
pub enum LogDownload {
    /// The rotated file, then the file.
    Files(Vec<FilePart>),
    /// The recent lines of the ring buffer.
    Text(String),
}

/// One source of bytes still to send.
struct Source {
    reader: Box<dyn Read + Send>,
    left: u64,
}

impl LogDownload {
    /// The body, chunk by chunk; each chunk is read off the request's thread.
    pub fn into_stream(self) -> impl Stream<Item = io::Result<Bytes>> + 'static {
        let sources: VecDeque<Source> = match self {
            LogDownload::Files(parts) => parts
                .into_iter()
                .map(|part| Source {
                    reader: Box::new(part.file),
                    left: part.len,
                })
                .collect(),
            LogDownload::Text(text) => {
                let left = text.len() as u64;
                let reader = Box::new(Cursor::new(text.into_bytes()));
                VecDeque::from([Source { reader, left }])
            }
        };
        stream::unfold(sources, |mut sources| async move {
            loop {
                let mut source = sources.pop_front()?;
                if source.left == 0 {
                    continue;
                }
                let want = usize::try_from(source.left).map_or(CHUNK, |left| left.min(CHUNK));
                let read = tokio::task::spawn_blocking(move || {
                    let mut chunk = vec![0; want];
                    let n = source.reader.read(&mut chunk)?;
                    chunk.truncate(n);
                    Ok::<_, io::Error>((source, chunk))
                })
                .await;
                match read {
                    // Shorter than when it was opened (the log was cleared): this part is done.
                    Ok(Ok((_, chunk))) if chunk.is_empty() => continue,
                    Ok(Ok((mut source, chunk))) => {
                        source.left = source.left.saturating_sub(chunk.len() as u64);
                        sources.push_front(source);
                        return Some((Ok(Bytes::from(chunk)), sources));
                    }
                    Ok(Err(e)) => return Some((Err(e), VecDeque::new())),
                    Err(e) => return Some((Err(io::Error::other(e)), VecDeque::new())),
                }
            }
        })
    }

    /// The whole download as text (tests).
    #[cfg(test)]
    pub async fn collect_text(self) -> String {
        use futures_util::StreamExt;
        let mut out = Vec::new();
        let mut body = std::pin::pin!(self.into_stream());
        while let Some(chunk) = body.next().await {
            out.extend_from_slice(&chunk.unwrap());
        }
        String::from_utf8(out).unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[actix_rt::test]
    async fn files_are_sent_in_chunks_up_to_their_length_when_opened() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::write(&a, "rotated\n").unwrap();
        let big = "y".repeat(3 * CHUNK + 5);
        std::fs::write(&b, &big).unwrap();
        let part = |path: &std::path::Path| {
            let file = File::open(path).unwrap();
            let len = file.metadata().unwrap().len();
            FilePart::new(file, len)
        };
        let parts = vec![part(&a), part(&b)];
        // Written after opening: not part of this download.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&b)
            .unwrap()
            .write_all(b"later")
            .unwrap();
        let text = LogDownload::Files(parts).collect_text().await;
        assert_eq!(text, format!("rotated\n{big}"));
        assert_eq!(
            LogDownload::Text("ring\n".into()).collect_text().await,
            "ring\n"
        );
    }
}
