//! Runs the anti-truncation attempts (`流式抗截断/`): each attempt is a real stream forwarded live through
//! a [`MarkerFilter`]; an attempt that ends without the marker (and not on a tool call or a safety stop)
//! is continued, up to `ANTI_TRUNCATION_MAX_ATTEMPTS`. The client sees one stream, nothing twice, and one
//! final finish reason. A failure of the first attempt keeps its HTTP status; later failures arrive as an
//! error event.

use actix_web::HttpResponse;
use futures_util::StreamExt;
use serde_json::Value;

use super::calls::{open_stream, Job};
use super::upstream_events::UpstreamEvents;
use crate::convert::anti_truncation::{
    continuation_request, has_finish_reason, held_text_event, needs_continuation, prepare_request,
    strip_finish_reason, MarkerFilter,
};
use crate::convert::dialect::{encode_frames, sse_response, Dialect, SseFrame};
use crate::convert::session_key::SessionKey;
use crate::error::ApiError;
use crate::quota::guard::QuotaGuard;
use crate::state::{AppState, UpstreamClient};
use crate::upstream::UpstreamError;

struct Run<D> {
    state: AppState,
    client: UpstreamClient,
    base_model: String,
    /// The conversation (session affinity): continuations belong to it too.
    session: Option<SessionKey>,
    base_request: Value,
    dialect: D,
    attempt: u32,
    max_attempts: u32,
    filter: MarkerFilter,
    answer_so_far: String,
    first: Option<Value>,
    events: Option<UpstreamEvents>,
    finished: bool,
    _quota: Option<QuotaGuard>,
}

impl<D: Dialect> Run<D> {
    fn more_attempts(&self) -> bool {
        self.attempt < self.max_attempts
    }

    fn forward(&mut self, mut event: Value) -> Vec<SseFrame> {
        self.filter.filter(&mut event);
        if has_finish_reason(&event) && needs_continuation(&self.filter) && self.more_attempts() {
            strip_finish_reason(&mut event);
        }
        self.dialect.event(&event)
    }

    fn fail(&mut self, err: ApiError) -> Vec<SseFrame> {
        self.finished = true;
        let mut values = self.dialect.error(&err);
        values.extend(self.dialect.finish());
        values
    }

    /// The current attempt's stream ended: release held text and either continue or finish.
    async fn end_of_attempt(&mut self) -> Vec<SseFrame> {
        let mut values = Vec::new();
        if let Some(held) = self.filter.flush() {
            values.extend(self.dialect.event(&held_text_event(&held)));
        }
        self.answer_so_far.push_str(self.filter.accumulated());
        if !(needs_continuation(&self.filter) && self.more_attempts()) {
            self.finished = true;
            values.extend(self.dialect.finish());
            return values;
        }
        self.attempt += 1;
        log::info!(
            "anti-truncation: answer for {} ended without the marker; attempt {} of {}",
            self.base_model,
            self.attempt,
            self.max_attempts
        );
        let request = continuation_request(&self.base_request, &self.answer_so_far);
        match open_stream(
            &self.state,
            &self.client,
            &self.base_model,
            &request,
            self.session,
        )
        .await
        {
            Ok((first, events)) => {
                self.filter = MarkerFilter::new();
                self.first = Some(first);
                self.events = Some(events);
            }
            Err(err) => values.extend(self.fail(ApiError::from(err))),
        }
        values
    }

    async fn step(&mut self) -> Vec<SseFrame> {
        if let Some(first) = self.first.take() {
            return self.forward(first);
        }
        let next = match (self.events.as_mut(), self.dialect.idle_heartbeat()) {
            // `next()` is cancel-safe: a timed-out wait loses no event.
            (Some(events), Some(every)) => match tokio::time::timeout(every, events.next()).await {
                Ok(next) => next,
                Err(_) => return vec![self.dialect.heartbeat()],
            },
            (Some(events), None) => events.next().await,
            (None, _) => None,
        };
        match next {
            Some(Ok(event)) => self.forward(event),
            // A cut attempt is exactly what continuation is for.
            Some(Err(UpstreamError::Cut)) | None => {
                self.events = None;
                self.end_of_attempt().await
            }
            Some(Err(err)) => self.fail(ApiError::from(err)),
        }
    }
}

pub async fn anti_truncation_stream<D: Dialect>(
    job: Job,
    dialect: D,
    quota: Option<QuotaGuard>,
) -> Result<HttpResponse, ApiError> {
    let Job {
        state,
        client,
        base_model,
        mut request,
        session,
    } = job;
    prepare_request(&mut request);
    let max_attempts = state.settings.current().anti_truncation_max_attempts.max(1);
    let (first, events) = open_stream(&state, &client, &base_model, &request, session).await?;
    let quota = quota.map(|mut q| {
        q.commit();
        q
    });
    let run = Run {
        state,
        client,
        base_model,
        session,
        base_request: request,
        dialect,
        attempt: 1,
        max_attempts,
        filter: MarkerFilter::new(),
        answer_so_far: String::new(),
        first: Some(first),
        events: Some(events),
        finished: false,
        _quota: quota,
    };
    let body = futures_util::stream::unfold(run, |mut run| async move {
        if run.finished {
            return None;
        }
        let values = run.step().await;
        let done = run.finished && run.dialect.done_marker();
        Some((Ok::<_, actix_web::Error>(encode_frames(&values, done)), run))
    })
    .filter(|item| {
        let keep = !matches!(item, Ok(b) if b.is_empty());
        async move { keep }
    });
    Ok(sse_response().streaming(body))
}
