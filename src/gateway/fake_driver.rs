//! Fake streaming (`假流式/`): one non-streaming call to Google while the client receives a heartbeat
//! chunk every few seconds, then the whole answer as stream chunks and exactly one final finish reason.
//! When Google answers (or fails) before the first heartbeat is due, the client gets a plain response:
//! an early failure keeps its HTTP status instead of hiding inside a 200 stream.

use std::time::Duration;

use actix_web::HttpResponse;
use futures_util::future::{select, Either, LocalBoxFuture};
use futures_util::FutureExt;
use serde_json::Value;

use super::calls::{generate, Job};
use super::dispatch::DispatchError;
use crate::convert::dialect::{encode_frames, sse_response, Dialect, SseFrame};
use crate::error::ApiError;
use crate::quota::guard::QuotaGuard;

type Pending = LocalBoxFuture<'static, Result<Value, DispatchError>>;

fn error_frames<D: Dialect>(dialect: &mut D, err: DispatchError) -> Vec<SseFrame> {
    let mut frames = dialect.error(&ApiError::from(err));
    frames.extend(dialect.finish());
    frames
}

pub async fn fake_stream<D: Dialect>(
    job: Job,
    mut dialect: D,
    interval: Duration,
    quota: Option<QuotaGuard>,
) -> Result<HttpResponse, ApiError> {
    let stop = job.state.shutdown.streams_ended().boxed_local();
    // The guard rides inside the call: committed when Google answers, refunded if the call fails or
    // the client leaves first.
    let call: Pending = async move {
        let mut quota = quota;
        let result = generate(
            &job.state,
            &job.client,
            &job.base_model,
            &job.request,
            job.session,
        )
        .await;
        if result.is_ok() {
            if let Some(q) = quota.as_mut() {
                q.commit();
            }
        }
        result
    }
    .boxed_local();
    let call = match select(call, Box::pin(tokio::time::sleep(interval))).await {
        Either::Left((result, _)) => {
            let response = result?;
            let frames = dialect.whole_answer(&response);
            let done = dialect.done_marker();
            return Ok(sse_response().body(encode_frames(&frames, done)));
        }
        Either::Right((_, call)) => call,
    };
    let first = encode_frames(&[dialect.heartbeat()], false);
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    struct St<D> {
        call: Option<Pending>,
        dialect: D,
        ticker: tokio::time::Interval,
        first: Option<bytes::Bytes>,
        /// The gateway's stop ending open streams.
        stop: LocalBoxFuture<'static, ()>,
    }
    let st = St {
        call: Some(call),
        dialect,
        ticker,
        first: Some(first),
        stop,
    };
    let body = futures_util::stream::unfold(st, |mut st| async move {
        if let Some(first) = st.first.take() {
            return Some((Ok::<_, actix_web::Error>(first), st));
        }
        let mut call = st.call.take()?;
        tokio::select! {
            result = &mut call => {
                let frames = match result {
                    Ok(response) => st.dialect.whole_answer(&response),
                    Err(err) => error_frames(&mut st.dialect, err),
                };
                let done = st.dialect.done_marker();
                Some((Ok(encode_frames(&frames, done)), st))
            }
            _ = st.ticker.tick() => {
                let beat = encode_frames(&[st.dialect.heartbeat()], false);
                st.call = Some(call);
                Some((Ok(beat), st))
            }
            _ = &mut st.stop => {
                // Dropping the call refunds the key's debit: the client got no answer.
                drop(call);
                let err = DispatchError::Upstream(crate::upstream::UpstreamError::Stopping);
                let frames = error_frames(&mut st.dialect, err);
                let done = st.dialect.done_marker();
                Some((Ok(encode_frames(&frames, done)), st))
            }
        }
    });
    Ok(sse_response().streaming(body))
}
