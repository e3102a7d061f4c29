//! The Prometheus metric families, in a registry owned by the application (not the crate's global one),
//! so several gateways in one test process count separately. Counting is a hash lookup and an atomic add
//! per label set; nothing here talks to an actor.

use prometheus::{
    Encoder, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

/// Seconds; from fast non-streamed answers to long thinking streams.
const DURATION_BUCKETS: &[f64] = &[
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];

/// Seconds; the gateway's own share of a request is usually well under a millisecond.
const OVERHEAD_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
];

#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("metric registration: {0}")]
    Register(#[from] prometheus::Error),
    #[error("metrics text is not UTF-8")]
    Encoding,
}

pub struct Metrics {
    registry: Registry,
    pub requests: IntCounterVec,
    pub request_duration: HistogramVec,
    pub time_to_first_token: HistogramVec,
    /// Each client request's time minus its time waiting for Google.
    pub overhead: HistogramVec,
    pub upstream_requests: IntCounterVec,
    pub upstream_duration: HistogramVec,
    pub retries: IntCounterVec,
    pub tokens: IntCounterVec,
    pub quota_debits: IntCounterVec,
    pub quota_refunds: IntCounterVec,
    /// Filled at scrape time from the credential fleet.
    pub credentials: IntGaugeVec,
    /// Seconds left of each cooldown, filled at scrape time.
    pub cooldowns: IntGaugeVec,
    /// Quota left per key (labelled by a short hash of the key), filled at scrape time.
    pub api_key_remaining: IntGaugeVec,
    /// Requests Google refused for their content on several healthy credentials, by model.
    pub content_rejections: IntCounterVec,
    /// Each credential's remaining quota fraction per model, filled at scrape time.
    pub quota_remaining_fraction: GaugeVec,
    /// Seconds until each credential's quota bucket resets, filled at scrape time.
    pub quota_reset_seconds: IntGaugeVec,
    /// Each credential's credits by type, filled at scrape time.
    pub credits: IntGaugeVec,
    /// Open Responses WebSocket connections.
    pub responses_ws_connections: prometheus::IntGauge,
    /// Responses WebSocket traffic by event: `connection`, `frame`, `response`, `warmup`, `error`,
    /// `refused` (handshakes over the connection cap).
    pub responses_ws_events: IntCounterVec,
}

fn counter(
    registry: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
) -> Result<IntCounterVec, MetricsError> {
    let c = IntCounterVec::new(Opts::new(name, help).namespace("gcli2api"), labels)?;
    registry.register(Box::new(c.clone()))?;
    Ok(c)
}

fn histogram(
    registry: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
) -> Result<HistogramVec, MetricsError> {
    histogram_in(registry, name, help, labels, DURATION_BUCKETS)
}

fn histogram_in(
    registry: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
    buckets: &[f64],
) -> Result<HistogramVec, MetricsError> {
    let opts = HistogramOpts::new(name, help)
        .namespace("gcli2api")
        .buckets(buckets.to_vec());
    let h = HistogramVec::new(opts, labels)?;
    registry.register(Box::new(h.clone()))?;
    Ok(h)
}

fn gauge(
    registry: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
) -> Result<IntGaugeVec, MetricsError> {
    let g = IntGaugeVec::new(Opts::new(name, help).namespace("gcli2api"), labels)?;
    registry.register(Box::new(g.clone()))?;
    Ok(g)
}

impl Metrics {
    pub fn new() -> Result<Self, MetricsError> {
        let r = Registry::new();
        Ok(Self {
            requests: counter(
                &r,
                "requests_total",
                "Client requests by route, model and HTTP status.",
                &["route", "model", "status"],
            )?,
            request_duration: histogram(
                &r,
                "request_duration_seconds",
                "Whole client request, to the last byte of the answer.",
                &["route", "model"],
            )?,
            time_to_first_token: histogram(
                &r,
                "time_to_first_token_seconds",
                "From the request to the first answer event from Google.",
                &["route", "model"],
            )?,
            overhead: histogram_in(
                &r,
                "overhead_seconds",
                "The gateway's own time per client request: its whole time minus the time spent \
                 waiting for Google (calls, retry waits, a stream's waits for its next event).",
                &["route"],
                OVERHEAD_BUCKETS,
            )?,
            upstream_requests: counter(
                &r,
                "upstream_requests_total",
                "Calls to Google by credential, classified outcome kind, model and status.",
                &["credential", "kind", "model", "status"],
            )?,
            upstream_duration: histogram(
                &r,
                "upstream_duration_seconds",
                "One call to Google, to its answer head (or first event when streaming).",
                &["credential", "model"],
            )?,
            retries: counter(
                &r,
                "retries_total",
                "Retries on another credential, by the failure that caused them.",
                &["reason"],
            )?,
            tokens: counter(
                &r,
                "tokens_total",
                "Tokens reported by Google, by model and type (input, output, thinking, cached).",
                &["model", "type"],
            )?,
            quota_debits: counter(
                &r,
                "quota_debits_total",
                "Quota debited from sk- keys, by model.",
                &["model"],
            )?,
            quota_refunds: counter(
                &r,
                "quota_refunds_total",
                "Quota given back to sk- keys whose request got no answer, by model.",
                &["model"],
            )?,
            credentials: gauge(
                &r,
                "credentials",
                "Credentials by state (usable, cooling, disabled).",
                &["state"],
            )?,
            cooldowns: gauge(
                &r,
                "cooldowns",
                "Seconds left of each credential's cooldown for a model.",
                &["credential", "model", "kind"],
            )?,
            api_key_remaining: gauge(
                &r,
                "api_key_remaining",
                "Quota left per sk- key, labelled by a short hash of the key.",
                &["key"],
            )?,
            content_rejections: counter(
                &r,
                "content_rejections_total",
                "Requests Google refused with plain 429s on two healthy credentials (their content), by model.",
                &["model"],
            )?,
            quota_remaining_fraction: {
                let g = GaugeVec::new(
                    Opts::new(
                        "credential_quota_remaining_fraction",
                        "Remaining quota fraction per credential and model, from retrieveUserQuota.",
                    )
                    .namespace("gcli2api"),
                    &["credential", "model"],
                )?;
                r.register(Box::new(g.clone()))?;
                g
            },
            quota_reset_seconds: gauge(
                &r,
                "credential_quota_reset_seconds",
                "Seconds until each credential's quota bucket for a model resets.",
                &["credential", "model"],
            )?,
            credits: gauge(
                &r,
                "credential_credits",
                "Credits each credential can spend once its free quota is out, by type.",
                &["credential", "type"],
            )?,
            responses_ws_connections: {
                let g = prometheus::IntGauge::with_opts(
                    Opts::new(
                        "responses_ws_connections",
                        "Open Responses WebSocket connections (GET /v1/responses).",
                    )
                    .namespace("gcli2api"),
                )?;
                r.register(Box::new(g.clone()))?;
                g
            },
            responses_ws_events: counter(
                &r,
                "responses_ws_events_total",
                "Responses WebSocket traffic: connections, frames received, responses, warm-ups, errors.",
                &["event"],
            )?,
            registry: r,
        })
    }

    /// Counts a request rejected for its content.
    pub fn count_content_rejection(&self, model: &str) {
        self.content_rejections.with_label_values(&[model]).inc();
    }

    /// The text exposition format.
    pub fn render(&self) -> Result<String, MetricsError> {
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .map_err(MetricsError::Register)?;
        String::from_utf8(out).map_err(|_| MetricsError::Encoding)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_render_with_the_namespace() {
        let m = Metrics::new().unwrap();
        m.requests
            .with_label_values(&["/v1/chat/completions", "gemini-2.5-pro", "200"])
            .inc();
        m.tokens
            .with_label_values(&["gemini-2.5-pro", "input"])
            .inc_by(7);
        let text = m.render().unwrap();
        assert!(text.contains(
            "gcli2api_requests_total{model=\"gemini-2.5-pro\",route=\"/v1/chat/completions\",status=\"200\"} 1"
        ));
        assert!(text.contains("gcli2api_tokens_total{model=\"gemini-2.5-pro\",type=\"input\"} 7"));
    }
}
