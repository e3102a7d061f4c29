//! Response body that paces pre-rendered chunks and notices when the client goes away.

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use futures_util::Stream;
use tokio::time::Sleep;

use super::reply::SEND_TIME_MARK;
use super::state::Shared;

const FLUSH_BEFORE_CUT: Duration = Duration::from_millis(50);

/// Counts the stream as open while it lives. actix drops the body when the connection dies, so a
/// drop before the scripted end means the client left early.
struct OpenStreamGuard {
    shared: Arc<Shared>,
    completed: bool,
}

impl Drop for OpenStreamGuard {
    fn drop(&mut self) {
        self.shared.stream_closed(self.completed);
    }
}

pub(crate) struct PacedBody {
    chunks: VecDeque<Bytes>,
    interval: Duration,
    /// End with an error instead of a clean end, so the connection is closed mid-body.
    cut: bool,
    cut_armed: bool,
    pause: Option<Pin<Box<Sleep>>>,
    guard: Option<OpenStreamGuard>,
    stamp: bool,
}

impl PacedBody {
    /// `counted` bodies take part in `open_streams` / `cancelled_streams`.
    pub(crate) fn new(
        chunks: Vec<Bytes>,
        interval: Duration,
        cut: bool,
        shared: Option<Arc<Shared>>,
    ) -> Self {
        let guard = shared.map(|shared| {
            shared.stream_opened();
            OpenStreamGuard {
                shared,
                completed: false,
            }
        });
        PacedBody {
            chunks: chunks.into(),
            interval,
            cut,
            cut_armed: false,
            pause: None,
            guard,
            stamp: false,
        }
    }

    /// Replace [`SEND_TIME_MARK`] in each chunk by the time it is handed to the connection.
    pub(crate) fn stamped(mut self, stamp: bool) -> Self {
        self.stamp = stamp;
        self
    }

    fn complete(&mut self) {
        if let Some(guard) = &mut self.guard {
            guard.completed = true;
        }
    }
}

impl Stream for PacedBody {
    type Item = Result<Bytes, io::Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if let Some(pause) = &mut this.pause {
            if pause.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            this.pause = None;
        }
        match this.chunks.pop_front() {
            Some(chunk) => {
                if !this.interval.is_zero() && !this.chunks.is_empty() {
                    this.pause = Some(Box::pin(tokio::time::sleep(this.interval)));
                }
                let chunk = if this.stamp {
                    stamp_send_time(&chunk)
                } else {
                    chunk
                };
                Poll::Ready(Some(Ok(chunk)))
            }
            None if this.cut && !this.cut_armed => {
                // actix discards unflushed output when a body fails, so the events sent so far
                // are given time to reach the socket before the connection is cut.
                this.cut_armed = true;
                let mut pause = Box::pin(tokio::time::sleep(FLUSH_BEFORE_CUT));
                if pause.as_mut().poll(cx).is_ready() {
                    cx.waker().wake_by_ref();
                }
                this.pause = Some(pause);
                Poll::Pending
            }
            None => {
                this.complete();
                if this.cut {
                    this.cut = false;
                    Poll::Ready(Some(Err(io::Error::new(
                        io::ErrorKind::ConnectionAborted,
                        "stream cut as scripted",
                    ))))
                } else {
                    Poll::Ready(None)
                }
            }
        }
    }
}

/// The chunk with every [`SEND_TIME_MARK`] replaced by the current Unix time in nanoseconds.
fn stamp_send_time(chunk: &[u8]) -> Bytes {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let stamp = format!("{nanos:020}");
    let mark = SEND_TIME_MARK.as_bytes();
    let mut out = BytesMut::with_capacity(chunk.len());
    let mut rest = chunk;
    while let Some(pos) = rest.windows(mark.len()).position(|w| w == mark) {
        let (head, tail) = rest.split_at(pos);
        out.extend_from_slice(head);
        out.extend_from_slice(stamp.as_bytes());
        rest = tail.get(mark.len()..).unwrap_or_default();
    }
    out.extend_from_slice(rest);
    out.freeze()
}
