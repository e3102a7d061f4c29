//! The outermost middleware: gives every request an id (a sane incoming `x-request-id` is kept, otherwise
//! a new one), answers it in the `x-request-id` header, makes the request's [`Trace`] current around the
//! handler and every poll of the response body, and when the body is done (or dropped by a client that
//! went away) counts the request and, for the client APIs, logs its access line (the whole trace at
//! `debug`) and keeps the trace in the history.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use actix::Addr;
use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage};
use bytes::Bytes;

use crate::actors::request_history::{RequestHistory, TakeInbox};
use crate::fleet::catalogue::CatalogueView;
use crate::gateway::model_label::model_label;
use crate::observe::access_line::{self, AccessLine};
use crate::observe::metrics::Metrics;
use crate::observe::trace::{Trace, TraceRecord};
use crate::observe::trace_inbox::TraceInbox;
use crate::state::AppState;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The request's id, readable by handlers from the request extensions.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// Accepts an incoming id only if it is short and plain, so it is safe in logs and headers.
fn sane_incoming(value: Option<&HeaderValue>) -> Option<String> {
    let text = value?.to_str().ok()?.trim();
    let ok = !text.is_empty()
        && text.len() <= 128
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
    ok.then(|| text.to_string())
}

/// A random (v4) UUID from the thread's generator: `Uuid::new_v4` asks the kernel for every id, a
/// system call per request that ids for logs do not need.
pub(super) fn new_request_id() -> String {
    uuid::Builder::from_random_bytes(rand::random())
        .into_uuid()
        .simple()
        .to_string()
}

/// Client-API requests are traced into the history; panel and page requests are only counted.
fn is_client_api(method: &str, path: &str) -> bool {
    method == "POST" && (path.starts_with("/v1/") || path.starts_with("/v1beta/"))
}

pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<TracedBody>, actix_web::Error> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let id = sane_incoming(req.headers().get(REQUEST_ID)).unwrap_or_else(new_request_id);
    let at = state.as_ref().map(|s| s.clock.now()).unwrap_or_default();
    let traced = is_client_api(req.method().as_str(), req.path());
    let trace = Trace::new(id.clone(), at, req.method().as_str(), req.path());
    req.extensions_mut().insert(RequestId(id.clone()));
    // Handlers' errors arrive here as responses; an `Err` only comes from a failing inner middleware
    // (the request must not be cloned before routing, so no response can be made for it here).
    let mut res = trace
        .clone()
        .scope(next.call(req))
        .await?
        .map_into_boxed_body();
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_string());
    trace.set_response(&route, res.status().as_u16());
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID, value);
    }
    if state.as_ref().is_some_and(|s| s.shutdown.is_draining()) {
        // Stopping: this answer is the connection's last, so no request is sent on a connection the
        // gateway is about to close (the client opens a new one, to another instance once the
        // listener is closed).
        res.response_mut()
            .head_mut()
            .set_connection_type(actix_web::http::ConnectionType::Close);
    }
    let finisher = state.map(|s| Finisher {
        metrics: s.metrics.clone(),
        catalogue: s.catalogue.clone(),
        history: s.history.clone(),
        inbox: s.traces.clone(),
        traced,
    });
    Ok(res.map_body(|_, body| TracedBody {
        inner: Some(body),
        trace,
        finisher,
    }))
}

/// A response made outside this middleware (one `response.create` on the Responses WebSocket),
/// observed like a request: counted, logged with its access line and kept in the history when its
/// body ends. The caller ran the handler inside `trace`'s scope.
pub(super) fn observe_turn(
    state: &AppState,
    trace: Trace,
    route: &str,
    status: u16,
    body: BoxBody,
) -> TracedBody {
    trace.set_response(route, status);
    TracedBody {
        inner: Some(body),
        trace,
        finisher: Some(Finisher {
            metrics: state.metrics.clone(),
            catalogue: state.catalogue.clone(),
            history: state.history.clone(),
            inbox: state.traces.clone(),
            traced: true,
        }),
    }
}

struct Finisher {
    metrics: Arc<Metrics>,
    /// Which models may label a series (see `gateway::model_label`).
    catalogue: Arc<CatalogueView>,
    history: Addr<RequestHistory>,
    inbox: Arc<TraceInbox>,
    traced: bool,
}

impl Finisher {
    fn finish(self, record: TraceRecord) {
        let m = &self.metrics;
        let catalogue = self.catalogue.snapshot();
        let model = model_label(record.model.as_deref().unwrap_or(""), &catalogue);
        let status = record.status.to_string();
        let secs = record.duration_ms as f64 / 1000.0;
        m.requests
            .with_label_values(&[&record.route, model, &status])
            .inc();
        m.request_duration
            .with_label_values(&[&record.route, model])
            .observe(secs);
        if !self.traced {
            return;
        }
        m.overhead
            .with_label_values(&[&record.route])
            .observe(record.overhead_ms / 1000.0);
        if let Some(ttft) = record.ttft_ms {
            m.time_to_first_token
                .with_label_values(&[&record.route, model])
                .observe(ttft as f64 / 1000.0);
        }
        for a in &record.attempts {
            let status = a.status.map(|s| s.to_string()).unwrap_or_default();
            m.upstream_requests
                .with_label_values(&[&a.credential, &a.kind, model, &status])
                .inc();
            m.upstream_duration
                .with_label_values(&[&a.credential, model])
                .observe(a.latency_ms as f64 / 1000.0);
            if a.decision == "retried" {
                m.retries.with_label_values(&[&a.kind]).inc();
            }
        }
        for (kind, n) in record.tokens.by_type() {
            if n > 0 {
                m.tokens.with_label_values(&[model, kind]).inc_by(n);
            }
        }
        if let Some(q) = &record.quota {
            m.quota_debits.with_label_values(&[model]).inc_by(q.cost);
            if q.refunded {
                m.quota_refunds.with_label_values(&[model]).inc_by(q.cost);
            }
        }
        // One compact line at `info`; the whole trace (JSON) only at `debug`, it is in the history.
        log::info!(target: access_line::TARGET, "{}", AccessLine(&record));
        if log::log_enabled!(target: "gcli2api::trace", log::Level::Debug) {
            match serde_json::to_string(&record) {
                Ok(line) => log::debug!(target: "gcli2api::trace", "trace {line}"),
                Err(e) => log::warn!("trace {} not logged: {e}", record.id),
            }
        }
        // Queued, not messaged: the history is woken once per batch, not once per request.
        if self.inbox.push(Arc::new(record)) {
            self.history.do_send(TakeInbox);
        }
    }
}

/// The response body, observed: the trace stays current while it is produced (stream drivers call Google
/// from inside it), and the request is finished when it ends.
pub struct TracedBody {
    inner: Option<BoxBody>,
    trace: Trace,
    finisher: Option<Finisher>,
}

impl TracedBody {
    fn finish(&mut self) {
        if let Some(inner) = self.inner.take() {
            // Dropping a stream may refund quota: let that land in the trace before it is closed.
            self.trace.sync_scope(|| drop(inner));
        }
        if let Some(finisher) = self.finisher.take() {
            finisher.finish(self.trace.finish());
        }
    }
}

impl MessageBody for TracedBody {
    type Error = Box<dyn std::error::Error>;

    fn size(&self) -> BodySize {
        match &self.inner {
            Some(inner) => inner.size(),
            None => BodySize::None,
        }
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        let this = self.get_mut();
        let Some(inner) = this.inner.as_mut() else {
            return Poll::Ready(None);
        };
        let poll = this.trace.sync_scope(|| Pin::new(inner).poll_next(cx));
        if matches!(poll, Poll::Ready(None) | Poll::Ready(Some(Err(_)))) {
            this.finish();
        }
        poll
    }
}

impl Drop for TracedBody {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ids_are_distinct_version_4_uuids() {
        let a = new_request_id();
        let b = new_request_id();
        assert_ne!(a, b);
        let parsed = uuid::Uuid::parse_str(&a).unwrap();
        assert_eq!(parsed.get_version_num(), 4);
        assert_eq!(a.len(), 32);
    }

    #[test]
    fn incoming_ids_are_kept_only_when_plain() {
        let ok = HeaderValue::from_static("abc-123_x.y:z");
        assert_eq!(sane_incoming(Some(&ok)).as_deref(), Some("abc-123_x.y:z"));
        let spaced = HeaderValue::from_static("a b");
        assert_eq!(sane_incoming(Some(&spaced)), None);
        let long = HeaderValue::from_str(&"a".repeat(129)).unwrap();
        assert_eq!(sane_incoming(Some(&long)), None);
        assert_eq!(sane_incoming(None), None);
    }
}
