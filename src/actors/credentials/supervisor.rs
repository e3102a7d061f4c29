//! `CredentialSupervisor`: the registry of credential actors and the only writer of the fleet's
//! membership. It publishes the membership as an immutable snapshot in the shared [`FleetView`]; request
//! workers choose a credential from that snapshot on their own thread (`fleet::choice`), so the
//! supervisor is not on the path of a request.
//!
//! Who writes what:
//! - membership (which credentials exist, in rotation order): this actor, as a new snapshot on every
//!   add, removal or sync from the store;
//! - a credential's status (token, project, enabled, rests, preview access): its `CredentialActor`,
//!   into its `LiveCredential`, before it answers the message that changed it;
//! - the rotation cursor and the session bindings: the workers, inside one short lock in [`FleetView`];
//! - usage counters: the `CredentialActor`, folding the successes workers tallied
//!   (`fleet::live_credential`); failures are messages to it, awaited before a retry so the next
//!   choice sees the rest.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;

use actix::prelude::*;
use futures_util::future::join_all;

use self::dormant::Origin;
use super::credential_actor::{CredentialActor, CredentialEnv};
use super::messages::*;
use crate::actors::storage::messages::{DeleteCredential, SaveCredential};
use crate::actors::storage::StorageActor;
use crate::clock::Clock;
use crate::config::SharedSettings;
use crate::credentials::CredentialRecord;
use crate::fleet::{FleetSnapshot, FleetView, Slot, Wake, Waker};
use crate::store::Store;

mod dormant;
mod fleet_page;

/// The actor of the credential `name`. Here rather than in `messages`: it names the actor, and the
/// actor imports its messages.
#[derive(Message)]
#[rtype(result = "Option<Addr<CredentialActor>>")]
pub struct FindCredential {
    pub name: String,
}

/// A dormant credential asks its supervisor to start it.
impl Wake for Addr<CredentialSupervisor> {
    fn wake(&self, name: Arc<str>) {
        self.do_send(WakeCredential { name });
    }
}

/// How often the store is checked for changes made by other instances.
const SYNC_INTERVAL: std::time::Duration = std::time::Duration::from_millis(500);

pub struct CredentialSupervisor {
    /// The published membership; the current snapshot is this actor's registry too.
    fleet: Arc<FleetView<Addr<CredentialActor>>>,
    settings: SharedSettings,
    clock: Clock,
    storage: Addr<StorageActor>,
    /// Filled in `started`.
    env: Option<std::rc::Rc<CredentialEnv>>,
    client: awc::Client,
    onboarding_poll: std::time::Duration,
    initial: Vec<CredentialRecord>,
    store: Arc<dyn Store>,
    instance_id: Arc<str>,
    /// Last seen value of the store's change counter.
    generation: Option<u64>,
    syncing: bool,
    /// The mailboxes of credentials whose actor has not started (see `dormant`).
    dormant: HashMap<Arc<str>, dormant::Mailbox>,
    /// When dormant credentials are due for a token refresh (stale entries are skipped).
    wake_at: BinaryHeap<Reverse<(i64, Arc<str>)>>,
    /// This supervisor, as dormant credentials ask it to start them; filled in `started`.
    waker: Option<Waker>,
}

impl CredentialSupervisor {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        records: Vec<CredentialRecord>,
        fleet: Arc<FleetView<Addr<CredentialActor>>>,
        client: awc::Client,
        settings: SharedSettings,
        clock: Clock,
        storage: Addr<StorageActor>,
        onboarding_poll: std::time::Duration,
        store: Arc<dyn Store>,
    ) -> Self {
        Self {
            fleet,
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
            dormant: HashMap::new(),
            wake_at: BinaryHeap::new(),
            waker: None,
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
        ctx.spawn(fut.into_actor(self).map(|result, act, ctx| {
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
            let current = act.fleet.snapshot();
            let mut slots = Vec::with_capacity(records.len());
            for slot in current.slots() {
                if names.contains(slot.name.as_ref()) {
                    slots.push(slot.clone());
                } else {
                    act.stop_slot(slot);
                }
            }
            let mut added = false;
            for record in records {
                match current.get(&record.name) {
                    Some(slot) => act.external_update(slot, record, ctx),
                    None => {
                        if let Some(slot) = act.spawn(record, Origin::Stored) {
                            slots.push(slot);
                            added = true;
                        }
                    }
                }
            }
            if added || slots.len() != current.len() {
                act.fleet.publish(FleetSnapshot::new(slots));
            }
        }));
    }

    /// Publishes the current membership with `slot` added at the end of the rotation.
    fn add_slot(&self, slot: Slot<Addr<CredentialActor>>) {
        let current = self.fleet.snapshot();
        let mut slots = Vec::with_capacity(current.len() + 1);
        slots.extend(current.slots().iter().cloned());
        slots.push(slot);
        self.fleet.publish(FleetSnapshot::new(slots));
    }
}

impl Actor for CredentialSupervisor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(4096);
        self.env = Some(std::rc::Rc::new(CredentialEnv {
            client: self.client.clone(),
            settings: self.settings.clone(),
            clock: self.clock.clone(),
            storage: self.storage.clone(),
            onboarding_poll: self.onboarding_poll,
            store: self.store.clone(),
            instance_id: self.instance_id.clone(),
        }));
        self.waker = Some(Arc::new(ctx.address()));
        // Only a store other instances write too needs the sync.
        if self.store.is_shared() {
            ctx.run_interval(SYNC_INTERVAL, |act, ctx| act.sync_from_store(ctx));
        }
        ctx.run_interval(dormant::WAKE_CHECK, |act, ctx| act.wake_due(ctx));
        let mut records = std::mem::take(&mut self.initial);
        records.sort_by(|a, b| a.name.cmp(&b.name));
        records.dedup_by(|a, b| a.name == b.name);
        // Collected into a new vector: collecting the records' own allocation in place would keep
        // all of it (a record is 15 times a slot) as the fleet's spare capacity.
        let mut slots = Vec::with_capacity(records.len());
        for record in records {
            slots.extend(self.spawn(record, Origin::Stored));
        }
        self.fleet.publish(FleetSnapshot::new(slots));
    }
}

impl Handler<AddCredential> for CredentialSupervisor {
    type Result = ();

    fn handle(&mut self, msg: AddCredential, _: &mut Self::Context) -> Self::Result {
        if let Some(slot) = self.fleet.snapshot().get(&msg.record.name) {
            slot.actor().do_send(ReplaceCredential {
                credential: msg.record.credential,
            });
            return;
        }
        self.storage.do_send(SaveCredential {
            record: msg.record.clone(),
            urgent: true,
        });
        if let Some(slot) = self.spawn(msg.record, Origin::New) {
            self.add_slot(slot);
        }
    }
}

impl Handler<RemoveCredential> for CredentialSupervisor {
    type Result = ResponseFuture<bool>;

    fn handle(&mut self, msg: RemoveCredential, _: &mut Self::Context) -> Self::Result {
        let current = self.fleet.snapshot();
        let existed = match current.get(&msg.name) {
            Some(slot) => {
                self.stop_slot(slot);
                let slots = current
                    .slots()
                    .iter()
                    .filter(|s| *s.name != *msg.name)
                    .cloned()
                    .collect();
                self.fleet.publish(FleetSnapshot::new(slots));
                true
            }
            None => false,
        };
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
        let snapshot = self.fleet.snapshot();
        let reads: Vec<_> = snapshot
            .slots()
            .iter()
            .map(|slot| self.read_record(slot))
            .collect();
        Box::pin(async move { join_all(reads).await.into_iter().flatten().collect() })
    }
}

impl Handler<FindCredential> for CredentialSupervisor {
    type Result = Option<Addr<CredentialActor>>;

    fn handle(&mut self, msg: FindCredential, _: &mut Self::Context) -> Self::Result {
        self.fleet
            .snapshot()
            .get(&msg.name)
            .map(|slot| slot.actor().clone())
    }
}

impl Handler<CountCredentials> for CredentialSupervisor {
    type Result = usize;

    fn handle(&mut self, _: CountCredentials, _: &mut Self::Context) -> usize {
        self.fleet.snapshot().len()
    }
}

impl Handler<ExternalUpdate> for CredentialSupervisor {
    type Result = ();

    fn handle(&mut self, msg: ExternalUpdate, ctx: &mut Self::Context) {
        match self.fleet.snapshot().get(&msg.record.name) {
            Some(slot) => self.external_update(slot, msg.record, ctx),
            None => {
                if let Some(slot) = self.spawn(msg.record, Origin::New) {
                    self.add_slot(slot);
                }
            }
        }
    }
}
