//! `CredentialSupervisor`: the registry of credential actors, the rotation cursor and its call counter,
//! and a cache of each credential's status so that choosing a credential is one message with no await.
//!
//! Rotation: the credential under the cursor serves `CALLS_PER_ROTATION` calls, then the cursor moves on.
//! Disabled, cooling (for the requested model), broken or already-tried credentials are skipped; preview
//! models only go to credentials not known to lack preview access. A request of a known conversation
//! goes to the credential its session is bound to while that one is usable (`session_binding`).

use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use actix::prelude::*;
use futures_util::future::join_all;

use super::affinity::AffinityTable;
use super::credential_actor::{CredentialActor, CredentialEnv};
use super::messages::*;
use crate::actors::storage::messages::{DeleteCredential, SaveCredential};
use crate::actors::storage::StorageActor;
use crate::clock::Clock;
use crate::config::SharedSettings;
use crate::store::{CredentialRecord, Store};
use crate::upstream::classify::is_preview_model;

mod fleet_page;
mod session_binding;

/// How often the store is checked for changes made by other instances.
const SYNC_INTERVAL: std::time::Duration = std::time::Duration::from_millis(500);

struct Entry {
    addr: Addr<CredentialActor>,
    status: CredentialStatus,
}

pub struct CredentialSupervisor {
    entries: HashMap<Arc<str>, Entry>,
    /// Rotation order: insertion order, names sorted at start.
    order: Vec<Arc<str>>,
    cursor: usize,
    calls_on_cursor: u64,
    settings: SharedSettings,
    clock: Clock,
    storage: Addr<StorageActor>,
    /// Filled in `started` once the supervisor's own address exists.
    env: Option<Rc<CredentialEnv>>,
    client: awc::Client,
    onboarding_poll: std::time::Duration,
    initial: Vec<CredentialRecord>,
    store: Arc<dyn Store>,
    instance_id: Arc<str>,
    /// Last seen value of the store's change counter.
    generation: Option<u64>,
    syncing: bool,
    /// Session → credential bindings (session affinity), per instance: see `session_binding`.
    affinity: AffinityTable,
}

impl CredentialSupervisor {
    pub fn new(
        records: Vec<CredentialRecord>,
        client: awc::Client,
        settings: SharedSettings,
        clock: Clock,
        storage: Addr<StorageActor>,
        onboarding_poll: std::time::Duration,
        store: Arc<dyn Store>,
    ) -> Self {
        Self {
            entries: HashMap::new(),
            order: Vec::new(),
            cursor: 0,
            calls_on_cursor: 0,
            settings,
            clock,
            storage,
            env: None,
            client,
            onboarding_poll,
            initial: records,
            store,
            instance_id: Arc::from(uuid::Uuid::new_v4().to_string()),
            generation: None,
            syncing: false,
            affinity: AffinityTable::default(),
        }
    }

    /// Picks up credentials added, changed (banned, cooled, refreshed) or deleted by other instances
    /// sharing the store. The change counter makes the common case (nothing changed) one cheap read.
    fn sync_from_store(&mut self, ctx: &mut Context<Self>) {
        if self.syncing {
            return;
        }
        self.syncing = true;
        let store = self.store.clone();
        let seen = self.generation;
        let fut = async move {
            let generation = store.credentials_generation().await.ok()?;
            if Some(generation) == seen {
                return Some((generation, None));
            }
            let records = store.load_credentials().await.ok()?;
            Some((generation, Some(records)))
        };
        ctx.spawn(fut.into_actor(self).map(|result, act, _| {
            act.syncing = false;
            let Some((generation, records)) = result else {
                return;
            };
            act.generation = Some(generation);
            let Some(records) = records else {
                return;
            };
            let names: std::collections::HashSet<&str> =
                records.iter().map(|r| r.name.as_str()).collect();
            let gone: Vec<Arc<str>> = act
                .order
                .iter()
                .filter(|n| !names.contains(n.as_ref()))
                .cloned()
                .collect();
            for name in gone {
                if let Some(entry) = act.entries.remove(&name) {
                    entry.addr.do_send(StopCredential);
                }
                act.order.retain(|n| *n != name);
            }
            for record in records {
                match act.entries.get(record.name.as_str()) {
                    Some(entry) => entry.addr.do_send(ExternalUpdate { record }),
                    None => act.spawn(record),
                }
            }
        }));
    }

    fn spawn(&mut self, record: CredentialRecord) {
        let Some(env) = self.env.clone() else {
            return;
        };
        let name: Arc<str> = Arc::from(record.name.as_str());
        let actor = CredentialActor::new(name.clone(), record, env);
        // Cached before the actor first runs, so readiness and the panel's counts are right at once.
        let status = actor.status();
        let addr = actor.start();
        if !self.entries.contains_key(&name) {
            self.order.push(name.clone());
        }
        self.entries.insert(name, Entry { addr, status });
    }

    fn usable(&self, name: &Arc<str>, msg: &AcquireCredential, now: i64) -> Option<&Entry> {
        let entry = self.entries.get(name)?;
        let s = &entry.status;
        let cooling = s
            .cooldowns
            .get(&msg.base_model)
            .is_some_and(|until| *until > now);
        let preview_ok = !is_preview_model(&msg.base_model) || s.preview;
        let ok = s.enabled && !s.broken && !cooling && preview_ok && !msg.exclude.contains(name);
        ok.then_some(entry)
    }

    /// Why nothing could be chosen, in the most useful words for the client.
    fn explain(&self, msg: &AcquireCredential, now: i64) -> CredentialError {
        if self.entries.is_empty() {
            return CredentialError::NoneLoaded;
        }
        let enabled: Vec<&Entry> = self
            .entries
            .values()
            .filter(|e| e.status.enabled && !e.status.broken)
            .collect();
        if enabled.is_empty() {
            return CredentialError::AllDisabled;
        }
        if is_preview_model(&msg.base_model) && enabled.iter().all(|e| !e.status.preview) {
            return CredentialError::NoPreviewAccess(msg.base_model.clone());
        }
        // Only credentials that could serve this model count towards "everyone is cooling".
        let enabled: Vec<&Entry> = enabled
            .into_iter()
            .filter(|e| !is_preview_model(&msg.base_model) || e.status.preview)
            .collect();
        let soonest = enabled
            .iter()
            .filter_map(|e| e.status.cooldowns.get(&msg.base_model))
            .filter(|until| **until > now)
            .min();
        let cooling_all = enabled.iter().all(|e| {
            e.status
                .cooldowns
                .get(&msg.base_model)
                .is_some_and(|u| *u > now)
        });
        match soonest {
            Some(until) if cooling_all => CredentialError::AllCooling {
                model: msg.base_model.clone(),
                wait_secs: until - now,
            },
            _ => CredentialError::Exhausted,
        }
    }
}

impl Actor for CredentialSupervisor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(4096);
        self.env = Some(Rc::new(CredentialEnv {
            client: self.client.clone(),
            settings: self.settings.clone(),
            clock: self.clock.clone(),
            storage: self.storage.clone(),
            supervisor: ctx.address().recipient(),
            onboarding_poll: self.onboarding_poll,
            store: self.store.clone(),
            instance_id: self.instance_id.clone(),
        }));
        // Only a store other instances write too needs the sync.
        if self.store.is_shared() {
            ctx.run_interval(SYNC_INTERVAL, |act, ctx| act.sync_from_store(ctx));
        }
        let mut records = std::mem::take(&mut self.initial);
        records.sort_by(|a, b| a.name.cmp(&b.name));
        for record in records {
            self.spawn(record);
        }
    }
}

impl Handler<StatusChanged> for CredentialSupervisor {
    type Result = ();

    fn handle(&mut self, msg: StatusChanged, _: &mut Self::Context) {
        if let Some(entry) = self.entries.get_mut(&msg.name) {
            entry.status = msg.status;
        }
    }
}

impl CredentialSupervisor {
    /// The next credential in rotation (the handler of [`AcquireCredential`] is in `session_binding`,
    /// which asks the session's binding first).
    fn rotate(&mut self, msg: &AcquireCredential) -> Result<Choice, CredentialError> {
        let n = self.order.len();
        if n == 0 {
            return Err(CredentialError::NoneLoaded);
        }
        let now = self.clock.now();
        let per_rotation = self.settings.current().calls_per_rotation.max(1);
        let start = self.cursor % n;
        let mut fallback: Option<(usize, Arc<str>, Addr<CredentialActor>)> = None;
        for step in 0..n {
            let idx = (start + step) % n;
            let Some(name) = self.order.get(idx).cloned() else {
                continue;
            };
            let Some(entry) = self.usable(&name, msg, now) else {
                continue;
            };
            let s = &entry.status;
            let ready =
                s.token_valid_until > now && s.access_token.is_some() && s.project.is_some();
            if !ready {
                if fallback.is_none() {
                    fallback = Some((idx, name.clone(), entry.addr.clone()));
                }
                continue;
            }
            let (Some(token), Some(project)) = (s.access_token.clone(), s.project.clone()) else {
                continue;
            };
            let lease = Lease {
                name: name.clone(),
                access_token: token,
                project,
                actor: entry.addr.clone(),
            };
            if idx != start {
                self.cursor = idx;
                self.calls_on_cursor = 0;
            }
            self.calls_on_cursor += 1;
            if self.calls_on_cursor >= per_rotation {
                self.cursor = (idx + 1) % n;
                self.calls_on_cursor = 0;
            }
            return Ok(Choice::Ready(lease));
        }
        match fallback {
            Some((_, name, actor)) => Ok(Choice::NeedsRefresh { name, actor }),
            None => Err(self.explain(msg, now)),
        }
    }
}

impl Handler<AddCredential> for CredentialSupervisor {
    type Result = ();

    fn handle(&mut self, msg: AddCredential, _: &mut Self::Context) -> Self::Result {
        let name: Arc<str> = Arc::from(msg.record.name.as_str());
        if let Some(entry) = self.entries.get(&name) {
            entry.addr.do_send(ReplaceCredential {
                credential: msg.record.credential,
            });
            return;
        }
        self.storage.do_send(SaveCredential {
            record: msg.record.clone(),
            urgent: true,
        });
        self.spawn(msg.record);
    }
}

impl Handler<RemoveCredential> for CredentialSupervisor {
    type Result = ResponseFuture<bool>;

    fn handle(&mut self, msg: RemoveCredential, _: &mut Self::Context) -> Self::Result {
        let name: Arc<str> = Arc::from(msg.name.as_str());
        let existed = match self.entries.remove(&name) {
            Some(entry) => {
                entry.addr.do_send(StopCredential);
                true
            }
            None => false,
        };
        self.order.retain(|n| *n != name);
        let storage = self.storage.clone();
        Box::pin(async move {
            let deleted = storage.send(DeleteCredential { name: msg.name }).await;
            existed || matches!(deleted, Ok(Ok(true)))
        })
    }
}

impl Handler<ListCredentials> for CredentialSupervisor {
    type Result = ResponseFuture<Vec<CredentialRecord>>;

    fn handle(&mut self, _: ListCredentials, _: &mut Self::Context) -> Self::Result {
        let addrs: Vec<Addr<CredentialActor>> = self
            .order
            .iter()
            .filter_map(|n| self.entries.get(n).map(|e| e.addr.clone()))
            .collect();
        Box::pin(async move {
            join_all(addrs.iter().map(|a| a.send(GetRecord)))
                .await
                .into_iter()
                .filter_map(Result::ok)
                .collect()
        })
    }
}

impl Handler<FindCredential> for CredentialSupervisor {
    type Result = Option<Addr<CredentialActor>>;

    fn handle(&mut self, msg: FindCredential, _: &mut Self::Context) -> Self::Result {
        self.entries
            .get(msg.name.as_str())
            .map(|entry| entry.addr.clone())
    }
}

impl Handler<CountCredentials> for CredentialSupervisor {
    type Result = usize;

    fn handle(&mut self, _: CountCredentials, _: &mut Self::Context) -> usize {
        self.entries.len()
    }
}

impl Handler<ExternalUpdate> for CredentialSupervisor {
    type Result = ();

    fn handle(&mut self, msg: ExternalUpdate, _: &mut Self::Context) {
        match self.entries.get(msg.record.name.as_str()) {
            Some(entry) => entry.addr.do_send(msg),
            None => self.spawn(msg.record),
        }
    }
}
