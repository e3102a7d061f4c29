//! `RequestHistory` owns the recent decision traces (a bounded ring, newest last) and the per-day token
//! counts not yet added to the store.
//!
//! Ordering: traces arrive through the [`TraceInbox`] when a request ends (no message per request: the
//! first trace after a take asks for the next take, [`TAKE_DELAY`] later); every query takes the inbox
//! first, so queries see every trace recorded before them. Token counts are written to the store at most every
//! [`SAVE_INTERVAL`] (read, add, write; one save at a time), and on [`FlushTokens`]. Restart: the ring is
//! memory only; the token counts survive in the store.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use serde::Deserialize;

use crate::observe::key_model_days;
use crate::observe::token_days::{self, Days};
use crate::observe::trace::TraceRecord;
use crate::observe::trace_inbox::TraceInbox;
use crate::store::{Store, StoreError};

const SAVE_INTERVAL: Duration = Duration::from_secs(10);
/// How long traces wait in the inbox after the first one asked: one message per this interval under
/// load instead of one per request.
pub const TAKE_DELAY: Duration = Duration::from_millis(100);

/// Take the traces waiting in the [`TraceInbox`], [`TAKE_DELAY`] from now.
#[derive(Message)]
#[rtype(result = "()")]
pub struct TakeInbox;

/// What the panel filters the history by; every given field must match.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RequestFilter {
    /// An exact status (`429`), a class (`4xx`), or `error` (anything but 2xx).
    pub status: Option<String>,
    pub model: Option<String>,
    /// The key's short hash (`k-…`), its masked form (`sk-abc…wxyz`) or `password`.
    pub key: Option<String>,
    /// A credential tried by the request.
    pub credential: Option<String>,
    pub limit: Option<usize>,
}

impl RequestFilter {
    fn status_matches(&self, status: u16) -> bool {
        let Some(want) = self
            .status
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        else {
            return true;
        };
        match want {
            "error" => !(200..300).contains(&status),
            class if class.len() == 3 && class.ends_with("xx") => {
                class.chars().next().and_then(|c| c.to_digit(10)) == Some(u32::from(status / 100))
            }
            exact => exact.parse::<u16>().is_ok_and(|s| s == status),
        }
    }

    pub fn matches(&self, r: &TraceRecord) -> bool {
        let given = |f: &Option<String>| {
            f.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        self.status_matches(r.status)
            && given(&self.model).is_none_or(|m| r.model.as_deref() == Some(m.as_str()))
            && given(&self.key).is_none_or(|k| {
                r.key.as_deref() == Some(k.as_str()) || r.key_masked.as_deref() == Some(k.as_str())
            })
            && given(&self.credential).is_none_or(|c| r.attempts.iter().any(|a| a.credential == c))
    }
}

/// The newest traces matching the filter, newest first.
#[derive(Message)]
#[rtype(result = "Vec<Arc<TraceRecord>>")]
pub struct ListRequests(pub RequestFilter);

#[derive(Message)]
#[rtype(result = "Option<Arc<TraceRecord>>")]
pub struct GetRequest(pub String);

/// Token counts per day: the store's plus what this instance has not saved yet.
#[derive(Message)]
#[rtype(result = "Result<Days, StoreError>")]
pub struct TokenUsage;

/// Usage per day, key and model: the store's plus what this instance has not saved yet.
#[derive(Message)]
#[rtype(result = "Result<key_model_days::Days, StoreError>")]
pub struct KeyModelUsage;

/// Write the pending token counts now; answers once they are in the store.
#[derive(Message)]
#[rtype(result = "Result<(), StoreError>")]
pub struct FlushTokens;

pub struct RequestHistory {
    ring: VecDeque<Arc<TraceRecord>>,
    /// The JSON size of each trace in `ring`, in the same order.
    sizes: VecDeque<usize>,
    /// Sum of `sizes`; kept at most `max_bytes` (`REQUEST_HISTORY_MAX_MB`).
    bytes: usize,
    max_bytes: usize,
    capacity: usize,
    store: Arc<dyn Store>,
    /// Counts not yet added to the store.
    pending: Days,
    /// Per key and model counts not yet added to the store.
    pending_by_key_model: key_model_days::Days,
    inbox: Arc<TraceInbox>,
}

impl RequestHistory {
    pub fn new(capacity: usize, store: Arc<dyn Store>, inbox: Arc<TraceInbox>) -> Self {
        Self {
            ring: VecDeque::with_capacity(capacity.min(4096)),
            sizes: VecDeque::with_capacity(capacity.min(4096)),
            bytes: 0,
            max_bytes: usize::MAX,
            capacity,
            store,
            pending: Days::new(),
            pending_by_key_model: key_model_days::Days::new(),
            inbox,
        }
    }

    /// Bounds the ring in bytes as well as in count: a trace holds client-chosen text (model names,
    /// error messages), so a count alone does not bound its memory.
    pub fn with_max_bytes(mut self, max_bytes: usize) -> Self {
        self.max_bytes = max_bytes;
        self
    }

    /// Records every trace waiting in the inbox.
    fn take_inbox(&mut self) {
        for record in self.inbox.take() {
            self.record(record);
        }
    }

    fn record(&mut self, r: Arc<TraceRecord>) {
        // What the key was charged and kept (a refunded debit cost it nothing).
        let cost = r
            .quota
            .as_ref()
            .filter(|q| !q.refunded)
            .map_or(0, |q| q.cost);
        let model = r.model.as_deref().unwrap_or("unknown");
        let key = r.key.as_deref().unwrap_or("none");
        let counted = !r.tokens.is_zero() || r.status < 400;
        if counted {
            token_days::add_request(&mut self.pending, r.at, model, key, &r.tokens);
        }
        // A charge always counts here, so the export's costs add up to the keys' used quota.
        if counted || cost > 0 {
            key_model_days::add_request(
                &mut self.pending_by_key_model,
                r.at,
                key,
                model,
                &r.tokens,
                cost,
            );
        }
        if self.capacity == 0 {
            return;
        }
        let size = crate::json_size::json_len(r.as_ref());
        // One trace over the whole cap is not kept, rather than emptying the history for it.
        if size > self.max_bytes {
            return;
        }
        while self.ring.len() >= self.capacity
            || (!self.ring.is_empty() && self.bytes.saturating_add(size) > self.max_bytes)
        {
            self.ring.pop_front();
            let freed = self.sizes.pop_front().unwrap_or(0);
            self.bytes = self.bytes.saturating_sub(freed);
        }
        self.ring.push_back(r);
        self.sizes.push_back(size);
        self.bytes = self.bytes.saturating_add(size);
    }

    /// Adds both batches to the stored counts (each counter atomically, so instances add up); the
    /// two sheets are written one after the other, each with its own outcome, so a failed one alone
    /// is tried again.
    async fn save(
        store: Arc<dyn Store>,
        batch: Days,
        by_key_model: key_model_days::Days,
    ) -> (Result<(), StoreError>, Result<(), StoreError>) {
        let days = if batch.is_empty() {
            Ok(())
        } else {
            store
                .add_counters(token_days::SHEET, &token_days::to_counters(&batch))
                .await
        };
        let pairs = if by_key_model.is_empty() {
            Ok(())
        } else {
            store
                .add_counters(
                    key_model_days::SHEET,
                    &key_model_days::to_counters(&by_key_model),
                )
                .await
        };
        (days, pairs)
    }

    /// Takes the pending counts into one save; on failure they are put back for the next try.
    fn save_pending(&mut self) -> ResponseActFuture<Self, Result<(), StoreError>> {
        self.take_inbox();
        let batch = std::mem::take(&mut self.pending);
        let by_key_model = std::mem::take(&mut self.pending_by_key_model);
        if batch.is_empty() && by_key_model.is_empty() {
            return Box::pin(fut::ready(Ok(())));
        }
        let store = self.store.clone();
        let keep = batch.clone();
        let keep_by_key_model = by_key_model.clone();
        Box::pin(Self::save(store, batch, by_key_model).into_actor(self).map(
            move |(days, pairs), act, _| {
                if let Err(e) = &days {
                    log::warn!("token usage not saved (kept for the next try): {e}");
                    token_days::merge(&mut act.pending, &keep);
                }
                if let Err(e) = &pairs {
                    log::warn!("usage per key and model not saved (kept for the next try): {e}");
                    key_model_days::merge(&mut act.pending_by_key_model, &keep_by_key_model);
                }
                days.and(pairs)
            },
        ))
    }
}

impl Actor for RequestHistory {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(16_384);
        ctx.run_interval(SAVE_INTERVAL, |act, ctx| {
            // `wait` keeps saves one at a time: a second read-add-write never overlaps the first.
            let save = act.save_pending().map(|_, _, _| ());
            ctx.wait(save);
        });
    }
}

impl Handler<TakeInbox> for RequestHistory {
    type Result = ();

    fn handle(&mut self, _: TakeInbox, ctx: &mut Self::Context) {
        ctx.run_later(TAKE_DELAY, |act, _| act.take_inbox());
    }
}

impl Handler<ListRequests> for RequestHistory {
    type Result = MessageResult<ListRequests>;

    fn handle(&mut self, msg: ListRequests, _: &mut Self::Context) -> Self::Result {
        self.take_inbox();
        let limit = msg.0.limit.unwrap_or(200).clamp(1, 1000);
        MessageResult(
            self.ring
                .iter()
                .rev()
                .filter(|r| msg.0.matches(r))
                .take(limit)
                .cloned()
                .collect(),
        )
    }
}

impl Handler<GetRequest> for RequestHistory {
    type Result = Option<Arc<TraceRecord>>;

    fn handle(&mut self, msg: GetRequest, _: &mut Self::Context) -> Self::Result {
        self.take_inbox();
        self.ring.iter().rev().find(|r| r.id == msg.0).cloned()
    }
}

// Both answer as `AtomicResponse`: no save can run between reading the store and adding what is pending.
impl Handler<TokenUsage> for RequestHistory {
    type Result = AtomicResponse<Self, Result<Days, StoreError>>;

    fn handle(&mut self, _: TokenUsage, _: &mut Self::Context) -> Self::Result {
        self.take_inbox();
        let store = self.store.clone();
        AtomicResponse::new(Box::pin(
            async move {
                let counters = store.load_counters(token_days::SHEET).await?;
                let stale = token_days::stale_counters(&counters);
                if !stale.is_empty() {
                    if let Err(e) = store.remove_counters(token_days::SHEET, &stale).await {
                        log::warn!("old token counts not removed: {e}");
                    }
                }
                let mut days = token_days::from_counters(&counters);
                // Counts saved before the counters existed.
                token_days::merge(
                    &mut days,
                    &token_days::from_config(&store.load_config().await?),
                );
                token_days::prune(&mut days);
                Ok(days)
            }
            .into_actor(self)
            .map(|res: Result<Days, StoreError>, act, _| {
                let mut days = res?;
                token_days::merge(&mut days, &act.pending);
                Ok(days)
            }),
        ))
    }
}

impl Handler<KeyModelUsage> for RequestHistory {
    type Result = AtomicResponse<Self, Result<key_model_days::Days, StoreError>>;

    fn handle(&mut self, _: KeyModelUsage, _: &mut Self::Context) -> Self::Result {
        self.take_inbox();
        let store = self.store.clone();
        AtomicResponse::new(Box::pin(
            async move {
                let counters = store.load_counters(key_model_days::SHEET).await?;
                let stale = key_model_days::stale(&counters);
                if !stale.is_empty() {
                    if let Err(e) = store.remove_counters(key_model_days::SHEET, &stale).await {
                        log::warn!("old usage per key and model not removed: {e}");
                    }
                }
                Ok(key_model_days::from_counters(&counters))
            }
            .into_actor(self)
            .map(|res: Result<key_model_days::Days, StoreError>, act, _| {
                let mut days = res?;
                key_model_days::merge(&mut days, &act.pending_by_key_model);
                key_model_days::prune(&mut days);
                Ok(days)
            }),
        ))
    }
}

impl Handler<FlushTokens> for RequestHistory {
    type Result = AtomicResponse<Self, Result<(), StoreError>>;

    fn handle(&mut self, _: FlushTokens, _: &mut Self::Context) -> Self::Result {
        AtomicResponse::new(self.save_pending())
    }
}

#[cfg(test)]
mod byte_cap_tests {
    use super::*;
    use crate::store::open::{open_store, StoreUrl};

    fn trace(id: usize, error_bytes: usize) -> Arc<TraceRecord> {
        Arc::new(TraceRecord {
            id: format!("r{id}"),
            status: 502,
            error: Some("e".repeat(error_bytes)),
            ..TraceRecord::default()
        })
    }

    #[actix::test]
    async fn the_history_stays_under_its_byte_cap_and_keeps_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_store(&StoreUrl::Files(dir.path().to_path_buf()), "t")
            .await
            .unwrap();
        let inbox = Arc::new(TraceInbox::default());
        let history = RequestHistory::new(1000, store, inbox.clone())
            .with_max_bytes(100 * 1024)
            .start();
        for id in 0..50 {
            inbox.push(trace(id, 10 * 1024));
        }
        let kept = history
            .send(ListRequests(RequestFilter {
                limit: Some(1000),
                ..RequestFilter::default()
            }))
            .await
            .unwrap();
        let bytes: usize = kept
            .iter()
            .map(|r| crate::json_size::json_len(r.as_ref()))
            .sum();
        assert!(bytes <= 100 * 1024, "{bytes}");
        assert!((5..50).contains(&kept.len()), "{}", kept.len());
        assert_eq!(kept.first().map(|r| r.id.as_str()), Some("r49"));
        // A single trace over the cap is not kept at all.
        inbox.push(trace(99, 200 * 1024));
        let kept = history.send(GetRequest("r99".into())).await.unwrap();
        assert!(kept.is_none());
        let newest = history.send(GetRequest("r49".into())).await.unwrap();
        assert!(newest.is_some(), "the history was not emptied for it");
    }
}
