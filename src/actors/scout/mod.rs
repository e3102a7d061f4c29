//! `CredentialScout`: asks Google what each credential may still do — the quota per model and the credits
//! of Code Assist accounts (`retrieveUserQuota`, `loadCodeAssist`), the model lists of API keys and Vertex
//! accounts — and publishes it in each credential's `LiveCredential`, where the choice reads it.
//!
//! Owns: when each credential is due (at start, every `QUOTA_REFRESH_SECONDS` / `MODEL_REFRESH_SECONDS`,
//! after a 429 at most once per [`HINT_GAP_MS`], on demand), and the fetches in flight (at most
//! [`MAX_IN_FLIGHT`], so a pool of 100,000 credentials is scouted in the background, not in a burst).
//! A fetch uses the token the credential published; a credential without a ready token waits for its
//! actor to refresh it (only a fetch on demand asks the actor). Snapshots are shared through the store
//! (`put_insight`), and a lease per credential and interval lets one instance of a cluster ask Google
//! while the others read what it stored. A failed fetch keeps the last snapshot and notes the error:
//! it never changes a credential's health.
//!
//! Writes: insights (`Store::put_insight`), directly, like refresh leases. Restart: everything is
//! refetched; nothing lives only here.

pub mod fetch;
pub mod messages;

use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use futures_util::stream::{self, StreamExt};

use self::fetch::{Reach, Scouted, Target, Wants};
use self::messages::{CreditsSeen, QuotaHint, Refresh, Refreshed};
use crate::actors::credentials::messages::{EnsureReady, QuotaRestored, ReadyToken};
use crate::actors::credentials::CredentialActor;
use crate::clock::Clock;
use crate::config::{CreditsOverage, SharedSettings};
use crate::fleet::{FleetView, Slot};
use crate::store::{CredentialInsight, Store};

/// The fleet's slots, each with its credential actor's address.
type CredentialSlot = Slot<Addr<CredentialActor>>;

/// How often due credentials are looked for.
const TICK: Duration = Duration::from_secs(1);
/// Credentials looked at per tick; a larger fleet is walked over several ticks.
const SCAN_PER_TICK: usize = 5_000;
/// Fetches in flight at once.
pub const MAX_IN_FLIGHT: usize = 8;
/// Fetches started per tick at least (more when the pool needs more to keep up with its interval).
const MIN_STARTS_PER_TICK: u64 = 64;
/// After a 429, the quota of that credential is fetched at most once per this.
pub const HINT_GAP_MS: i64 = 10_000;
/// A peer has the turn to fetch: read its snapshot again after this.
const PEER_RETRY_MS: i64 = 3_000;
/// A token this close to expiry is not used for a fetch.
const MIN_TOKEN_LIFE_SECS: i64 = 30;

/// Called after insights changed (the model catalogue rebuilds from them).
pub type OnChange = Rc<dyn Fn()>;

/// When one credential is due, and whether a fetch of it is running.
#[derive(Debug, Default, Clone, Copy)]
struct Book {
    quota_due: i64,
    models_due: i64,
    last_hint: i64,
    credits_known: bool,
    forced: bool,
    busy: bool,
}

pub struct CredentialScout {
    fleet: Arc<FleetView<Addr<CredentialActor>>>,
    settings: SharedSettings,
    clock: Clock,
    store: Arc<dyn Store>,
    client: awc::Client,
    instance_id: Arc<str>,
    books: HashMap<Arc<str>, Book>,
    in_flight: usize,
    /// Where the walk over the fleet stands.
    cursor: usize,
    dirty: bool,
    on_change: Option<OnChange>,
}

impl CredentialScout {
    pub fn new(
        fleet: Arc<FleetView<Addr<CredentialActor>>>,
        settings: SharedSettings,
        clock: Clock,
        store: Arc<dyn Store>,
        client: awc::Client,
    ) -> Self {
        Self {
            fleet,
            settings,
            clock,
            store,
            client,
            instance_id: Arc::from(uuid::Uuid::new_v4().to_string()),
            books: HashMap::new(),
            in_flight: 0,
            cursor: 0,
            dirty: false,
            on_change: None,
        }
    }

    /// Calls `hook` (on the scout's thread) after insights changed, at most once per tick.
    pub fn on_change(mut self, hook: OnChange) -> Self {
        self.on_change = Some(hook);
        self
    }

    /// `QUOTA_REFRESH_SECONDS` and `MODEL_REFRESH_SECONDS` in milliseconds (0: not periodic).
    fn intervals(&self) -> (i64, i64) {
        let settings = self.settings.current();
        let ms = |secs: u64| i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX);
        (
            ms(settings.quota_refresh_seconds),
            ms(settings.model_refresh_seconds),
        )
    }

    fn reach(&self) -> Reach {
        let settings = self.settings.current();
        let (quota_interval_ms, models_interval_ms) = self.intervals();
        Reach {
            client: self.client.clone(),
            store: self.store.clone(),
            instance_id: self.instance_id.clone(),
            code_assist_endpoint: settings.code_assist_endpoint.clone(),
            gemini_api_endpoint: settings.gemini_api_endpoint.clone(),
            vertex_endpoint: settings.vertex_endpoint.clone(),
            quota_interval_ms,
            models_interval_ms,
            live_models: settings.model_refresh_seconds > 0,
        }
    }

    /// The credential as a fetch needs it, when its published token is ready.
    fn ready_target(slot: &CredentialSlot, now_secs: i64) -> Option<Target> {
        let status = slot.live.status();
        if !status.enabled || status.broken {
            return None;
        }
        let token = status.access_token.clone()?;
        if status.token_valid_until <= now_secs + MIN_TOKEN_LIFE_SECS {
            return None;
        }
        if status.kind.rules().is_account_login() && status.project.is_none() {
            return None;
        }
        Some(Target {
            name: slot.name.clone(),
            kind: status.kind,
            token,
            project: status.project.clone(),
            location: status.location.clone(),
        })
    }

    /// Starts the fetches that are due, within [`MAX_IN_FLIGHT`].
    fn tick(&mut self, ctx: &mut Context<Self>) {
        if std::mem::take(&mut self.dirty) {
            if let Some(hook) = &self.on_change {
                hook();
            }
        }
        let snapshot = self.fleet.snapshot();
        let slots = snapshot.slots();
        if slots.is_empty() {
            return;
        }
        let settings = self.settings.current();
        let now = self.clock.now_millis();
        let now_secs = self.clock.now();
        let models_on = settings.model_refresh_seconds > 0;
        let credits_always = settings.credits_overage == CreditsOverage::Always;
        let n = slots.len();
        // Enough starts per tick to keep up with the interval twice over, so a large pool is
        // scouted steadily in the background rather than in one burst at start.
        let interval_secs = settings.quota_refresh_seconds.max(60);
        let budget = (n as u64 * 2 / interval_secs).max(MIN_STARTS_PER_TICK);
        let mut started = 0u64;
        for step in 0..n.min(SCAN_PER_TICK) {
            if self.in_flight >= MAX_IN_FLIGHT || started >= budget {
                break;
            }
            let idx = (self.cursor + step) % n;
            let Some(slot) = slots.get(idx) else {
                continue;
            };
            let book = self.books.entry(slot.name.clone()).or_default();
            if book.busy {
                continue;
            }
            let kind = slot.live.status().kind;
            let login = kind.rules().is_account_login();
            let quota_due = login && now >= book.quota_due;
            let models_due = models_on && !login && now >= book.models_due;
            if !quota_due && !models_due {
                continue;
            }
            let Some(target) = Self::ready_target(slot, now_secs) else {
                continue;
            };
            let wants = Wants {
                quota: quota_due,
                credits: quota_due && (credits_always || !book.credits_known),
                models: models_due,
                forced: std::mem::take(&mut book.forced),
            };
            book.busy = true;
            started += 1;
            self.start(ctx, target, wants);
        }
        self.cursor = (self.cursor + SCAN_PER_TICK) % n;
    }

    fn start(&mut self, ctx: &mut Context<Self>, target: Target, wants: Wants) {
        self.in_flight += 1;
        let known = self.known(&target.name);
        let now = self.clock.now_millis();
        let fut = fetch::scout(self.reach(), target.clone(), wants, known, now);
        ctx.spawn(fut.into_actor(self).map(move |scouted, act, _| {
            act.in_flight = act.in_flight.saturating_sub(1);
            act.finished(&target.name, wants, scouted);
        }));
    }

    /// What is published for `name` now, as the base of a new fetch.
    fn known(&self, name: &str) -> CredentialInsight {
        self.fleet
            .snapshot()
            .get(name)
            .and_then(|slot| slot.live.insight())
            .map(|i| (*i).clone())
            .unwrap_or_default()
    }

    /// Books the fetch of `name` and publishes what it found.
    fn finished(&mut self, name: &Arc<str>, wants: Wants, scouted: Scouted) {
        let now = self.clock.now_millis();
        let (quota_interval_ms, models_interval_ms) = self.intervals();
        let next = |interval_ms: i64| {
            if interval_ms == 0 {
                i64::MAX
            } else {
                now.saturating_add(interval_ms)
            }
        };
        if let Some(book) = self.books.get_mut(name) {
            book.busy = false;
            if wants.quota {
                book.quota_due = if scouted.peer_fetching {
                    now + PEER_RETRY_MS
                } else {
                    next(quota_interval_ms)
                };
            }
            if wants.models {
                book.models_due = if scouted.peer_fetching {
                    now + PEER_RETRY_MS
                } else {
                    next(models_interval_ms)
                };
            }
            if scouted.asked_quota && wants.credits {
                book.credits_known = true;
            }
        }
        self.publish(name, scouted.insight);
    }

    /// Publishes `insight` for `name`, and tells the credential which rests its quota now ends.
    fn publish(&mut self, name: &Arc<str>, insight: CredentialInsight) {
        let snapshot = self.fleet.snapshot();
        let Some(slot) = snapshot.get(name) else {
            return;
        };
        let previous = slot.live.insight();
        // An answer with nothing in it (no buckets, credits or models) is not kept for a credential
        // that had nothing either: with 100,000 credentials that is memory spent on saying nothing.
        let says_nothing = previous.is_none() && fetch::is_blank(&insight);
        if says_nothing || previous.is_some_and(|old| *old == insight) {
            return;
        }
        let restored = restored_models(slot, &insight, self.clock.now());
        let fetched_at = insight.quota_fetched_at.unwrap_or(0);
        slot.live.publish_insight(Arc::new(insight));
        self.dirty = true;
        if !restored.is_empty() {
            slot.actor().do_send(QuotaRestored {
                models: restored,
                fetched_at_ms: fetched_at,
            });
        }
    }
}

/// The models `slot` rests for that `insight`'s buckets show quota for again.
fn restored_models(slot: &CredentialSlot, insight: &CredentialInsight, now: i64) -> Vec<String> {
    let status = slot.live.status();
    status
        .cooldowns
        .iter()
        .filter(|(_, until)| **until > now)
        .filter(|(model, _)| {
            insight
                .bucket(model)
                .is_some_and(|b| !b.is_empty() && b.remaining_fraction.is_some())
        })
        .map(|(model, _)| model.clone())
        .collect()
}

impl Actor for CredentialScout {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(TICK, |act, ctx| act.tick(ctx));
    }
}

impl Handler<QuotaHint> for CredentialScout {
    type Result = ();

    fn handle(&mut self, msg: QuotaHint, _: &mut Self::Context) {
        let now = self.clock.now_millis();
        let book = self.books.entry(msg.name).or_default();
        if now - book.last_hint < HINT_GAP_MS {
            return;
        }
        book.last_hint = now;
        book.quota_due = 0;
        book.forced = true;
    }
}

impl Handler<CreditsSeen> for CredentialScout {
    type Result = ();

    fn handle(&mut self, msg: CreditsSeen, _: &mut Self::Context) {
        let mut insight = self.known(&msg.name);
        if insight.credits == msg.credits {
            return;
        }
        insight.credits = msg.credits;
        let store = self.store.clone();
        let name = msg.name.clone();
        let saved = insight.clone();
        actix::spawn(async move {
            if let Err(e) = store.put_insight(&name, &saved).await {
                log::warn!("saving the credits of {name}: {e}");
            }
        });
        self.publish(&msg.name, insight);
    }
}

/// The token and project a fetch on demand uses: the published ones, else what the actor answers
/// after refreshing (waking a dormant credential).
async fn target_on_demand(slot: CredentialSlot, now_secs: i64) -> Option<Target> {
    if let Some(target) = CredentialScout::ready_target(&slot, now_secs) {
        return Some(target);
    }
    let status = slot.live.status();
    if !status.enabled || status.broken {
        return None;
    }
    match slot.actor().send(EnsureReady).await {
        Ok(Ok(ReadyToken {
            kind,
            access_token,
            project,
            location,
        })) => Some(Target {
            name: slot.name.clone(),
            kind,
            token: access_token,
            project: Some(project).filter(|p| !p.is_empty()),
            location,
        }),
        _ => None,
    }
}

impl Handler<Refresh> for CredentialScout {
    type Result = ResponseActFuture<Self, Vec<Refreshed>>;

    fn handle(&mut self, msg: Refresh, _: &mut Self::Context) -> Self::Result {
        let snapshot = self.fleet.snapshot();
        let slots: Vec<CredentialSlot> = match &msg.names {
            Some(names) => names
                .iter()
                .filter_map(|n| snapshot.get(n).cloned())
                .collect(),
            None => snapshot.slots().to_vec(),
        };
        let reach = self.reach();
        let now = self.clock.now_millis();
        let now_secs = self.clock.now();
        let known: Vec<CredentialInsight> = slots.iter().map(|s| self.known(&s.name)).collect();
        let jobs = slots.into_iter().zip(known).map(move |(slot, known)| {
            let reach = reach.clone();
            async move {
                let name = slot.name.clone();
                let Some(target) = target_on_demand(slot, now_secs).await else {
                    return (name, None);
                };
                let code_assist = target.kind.rules().is_account_login();
                let wants = Wants {
                    quota: code_assist,
                    credits: code_assist,
                    models: !code_assist && reach.live_models,
                    forced: true,
                };
                let scouted = fetch::scout(reach, target, wants, known, now).await;
                (name, Some(scouted))
            }
        });
        let fut = stream::iter(jobs)
            .buffer_unordered(MAX_IN_FLIGHT)
            .collect::<Vec<_>>();
        Box::pin(fut.into_actor(self).map(|results, act, _| {
            let now = act.clock.now_millis();
            let (interval, _) = act.intervals();
            results
                .into_iter()
                .map(|(name, scouted)| {
                    if let Some(scouted) = scouted {
                        if let Some(book) = act.books.get_mut(&name) {
                            book.credits_known |= scouted.asked_quota;
                            if scouted.asked_quota && interval > 0 {
                                book.quota_due = now + interval;
                            }
                        }
                        act.publish(&name, scouted.insight);
                    }
                    let insight = act
                        .fleet
                        .snapshot()
                        .get(&name)
                        .and_then(|slot| slot.live.insight());
                    Refreshed { name, insight }
                })
                .collect()
        }))
    }
}
