//! Turns Google's event stream into the client's SSE body, event by event as they arrive; nothing is
//! buffered beyond the event being converted. When the client goes away actix drops this stream, which
//! drops the upstream response and closes that connection.

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use serde_json::Value;

use super::upstream_events::UpstreamEvents;
use crate::convert::dialect::{encode_frames, Dialect};
use crate::error::ApiError;
use crate::quota::guard::QuotaGuard;

struct RelayState<D> {
    first: Option<Value>,
    events: UpstreamEvents,
    dialect: D,
    finished: bool,
    /// Lives as long as the stream: releases the key's in-flight slot when the stream ends.
    _quota: Option<QuotaGuard>,
}

/// The client body for a real stream whose first event was already read (to surface early errors as an
/// HTTP status rather than inside a 200).
pub fn relay<D: Dialect>(
    first: Value,
    events: UpstreamEvents,
    dialect: D,
    quota: Option<QuotaGuard>,
) -> impl Stream<Item = Result<Bytes, actix_web::Error>> {
    let state = RelayState {
        first: Some(first),
        events,
        dialect,
        finished: false,
        _quota: quota.map(|mut q| {
            q.commit();
            q
        }),
    };
    futures_util::stream::unfold(state, |mut st| async move {
        if st.finished {
            return None;
        }
        let (mut frames, mut done) = if let Some(first) = st.first.take() {
            (st.dialect.event(&first), false)
        } else {
            let next = match st.dialect.idle_heartbeat() {
                // `next()` is cancel-safe: a timed-out wait loses no event.
                Some(every) => match tokio::time::timeout(every, st.events.next()).await {
                    Ok(next) => next,
                    Err(_) => {
                        let beat = encode_frames(&[st.dialect.heartbeat()], false);
                        return Some((Ok(beat), st));
                    }
                },
                None => st.events.next().await,
            };
            match next {
                Some(Ok(event)) => (st.dialect.event(&event), false),
                Some(Err(err)) => {
                    log::warn!("stream ended by upstream error: {err}");
                    let mut frames = st.dialect.error(&ApiError::from(err));
                    frames.extend(st.dialect.finish());
                    (frames, true)
                }
                None => (st.dialect.finish(), true),
            }
        };
        if !done && st.dialect.is_complete() {
            // Dropping the state after this closes Google's stream.
            frames.extend(st.dialect.finish());
            done = true;
        }
        st.finished = done;
        let bytes = encode_frames(&frames, done && st.dialect.done_marker());
        Some((Ok(bytes), st))
    })
    .filter(|item| {
        let keep = !matches!(item, Ok(b) if b.is_empty());
        async move { keep }
    })
}
