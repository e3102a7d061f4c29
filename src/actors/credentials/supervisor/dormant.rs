//! Dormant credentials: a credential read from the store with nothing to do (its token valid for
//! longer than the refresh margin and its project known, or never refreshed: disabled, unusable, a
//! key) gets its address and mailbox but no running actor. A running actor costs about 1.3 KiB (its
//! task, with the actor inline, and its refresh timer) besides the record it holds; at 100,000
//! credentials that was most of the idle footprint, for credentials that mostly wait for a token
//! refresh hours away.
//!
//! A dormant credential is woken — its record read back from the store, its actor built and started
//! on the mailbox that already exists — when:
//! - anything is about to be sent to it: `Slot::actor` asks once (`LiveCredential::wake`), and
//!   messages sent meanwhile wait in the mailbox, so nothing is lost or reordered;
//! - its token is due for refresh: one timer here checks the earliest due time every second, instead
//!   of a timer per credential.
//!
//! Reading without waking: the panel's page, the credential list and the metrics read a dormant
//! credential's record from the store, which holds exactly what the actor would start from, and
//! republish its status from what they read; a change another instance made (seen by the sync) only
//! republishes its status too. Its status was published when it was loaded,
//! so choosing it needs no actor either; being chosen wakes it (the request will report to it).

use std::cmp::Reverse;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use actix::dev::channel::{self, AddressReceiver};
use actix::prelude::*;

use super::CredentialSupervisor;
use crate::actors::credentials::credential_actor::CredentialActor;
use crate::actors::credentials::messages::{
    ExternalUpdate, GetRecord, StopCredential, WakeCredential,
};
use crate::credentials::CredentialRecord;
use crate::fleet::{usage, LiveCredential, Slot};

/// How often due refreshes of dormant credentials are looked for.
pub(super) const WAKE_CHECK: Duration = Duration::from_secs(1);
/// How long a failed store read waits before the wake is tried again.
const WAKE_RETRY: Duration = Duration::from_secs(1);
/// A dormant mailbox's bound, actix's default; the actor raises it once it runs.
const DORMANT_CAPACITY: usize = 16;

/// A dormant credential's mailbox: only its receiving end is kept (a `Context` would add its
/// bookkeeping for every dormant credential); the actor's context is built around it on waking.
pub(super) type Mailbox = AddressReceiver<CredentialActor>;

/// A record read for the panel or the metrics.
pub(super) type RecordRead = Pin<Box<dyn Future<Output = Option<CredentialRecord>>>>;

/// Whether a new credential may start dormant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Origin {
    /// Read from the store: waking reads it back from there.
    Stored,
    /// Added here and not yet written: it starts at once.
    New,
}

impl CredentialSupervisor {
    /// Builds the credential's actor and starts it, or leaves it dormant (see the module); the
    /// caller publishes its slot.
    pub(super) fn spawn(
        &mut self,
        record: CredentialRecord,
        origin: Origin,
    ) -> Option<Slot<Addr<CredentialActor>>> {
        let env = self.env.clone()?;
        let name: Arc<str> = Arc::from(record.name.as_str());
        let live = Arc::new(LiveCredential::with_waker(self.waker.clone()));
        let actor = CredentialActor::new(name.clone(), record, env, live.clone());
        let (sender, mailbox) = channel::channel(DORMANT_CAPACITY);
        let addr = Addr::new(sender);
        match actor.idle_until().filter(|_| origin == Origin::Stored) {
            Some(until) => {
                if let Some(reason) = actor.unusable_reason() {
                    log::warn!("credential {name} is unusable: {reason}");
                }
                live.set_dormant(true);
                if until < i64::MAX {
                    self.wake_at.push(Reverse((until, name.clone())));
                }
                self.dormant.insert(name.clone(), mailbox);
            }
            None => {
                Context::with_receiver(mailbox).run(actor);
            }
        }
        Some(Slot::new(name, addr, live))
    }

    /// Starts a dormant credential's actor from its stored record; a no-op for one that runs.
    pub(super) fn wake(&mut self, name: Arc<str>, ctx: &mut Context<Self>) {
        let Some(mailbox) = self.dormant.remove(&name) else {
            return;
        };
        let store = self.store.clone();
        let read = {
            let name = name.clone();
            async move { store.get_credential(&name).await }
        };
        ctx.spawn(read.into_actor(self).map(move |result, act, ctx| {
            let slot = act.fleet.snapshot().get(&name).cloned();
            let (Some(slot), Some(env)) = (slot, act.env.clone()) else {
                // Removed while its record was read: the mailbox closes with it.
                return;
            };
            match result {
                Ok(Some(record)) => {
                    let actor = CredentialActor::new(name.clone(), record, env, slot.live.clone());
                    slot.live.set_dormant(false);
                    Context::with_receiver(mailbox).run(actor);
                }
                Ok(None) => {
                    // Deleted by another instance; the next sync removes the slot, and whoever
                    // waits on the mailbox sees the actor gone.
                    log::warn!("credential {name} is gone from the store");
                }
                Err(e) => {
                    log::warn!("reading credential {name} to start it: {e}; retrying");
                    act.dormant.insert(name.clone(), mailbox);
                    ctx.run_later(WAKE_RETRY, move |act, ctx| act.wake(name, ctx));
                }
            }
        }));
    }

    /// Wakes the dormant credentials whose token is due for refresh.
    pub(super) fn wake_due(&mut self, ctx: &mut Context<Self>) {
        let now = self.clock.now();
        while self
            .wake_at
            .peek()
            .is_some_and(|Reverse((due, _))| *due <= now)
        {
            if let Some(Reverse((_, name))) = self.wake_at.pop() {
                self.wake(name, ctx);
            }
        }
    }

    /// Stops the credential's actor, or closes its mailbox if it never started.
    pub(super) fn stop_slot(&mut self, slot: &Slot<Addr<CredentialActor>>) {
        if self.dormant.remove(&slot.name).is_none() {
            slot.mailbox().do_send(StopCredential);
        }
    }

    /// A change another instance stored: merged by a running actor; a dormant one only
    /// republishes its status from the record, which is where waking would read it from anyway,
    /// and is woken if the change gives it something to do (say, re-enabled with a stale token).
    pub(super) fn external_update(
        &mut self,
        slot: &Slot<Addr<CredentialActor>>,
        record: CredentialRecord,
        ctx: &mut Context<Self>,
    ) {
        if !self.dormant.contains_key(&slot.name) {
            slot.mailbox().do_send(ExternalUpdate { record });
            return;
        }
        let Some(env) = self.env.clone() else {
            return;
        };
        let name = slot.name.clone();
        match CredentialActor::publish_dormant(name, record, env, slot.live.clone()) {
            Some(until) if until < i64::MAX => {
                self.wake_at.push(Reverse((until, slot.name.clone())));
            }
            Some(_) => {}
            None => self.wake(slot.name.clone(), ctx),
        }
    }

    /// The credential's record as the panel shows it, without waking a dormant one.
    pub(super) fn read_record(&self, slot: &Slot<Addr<CredentialActor>>) -> RecordRead {
        if !self.dormant.contains_key(&slot.name) {
            let addr = slot.mailbox().clone();
            return Box::pin(async move { addr.send(GetRecord).await.ok() });
        }
        let store = self.store.clone();
        let clock = self.clock.clone();
        let (name, live, env) = (slot.name.clone(), slot.live.clone(), self.env.clone());
        Box::pin(async move {
            let mut record = store.get_credential(&name).await.ok().flatten()?;
            // What was read is also what the choice goes by from now on: another instance's change
            // shows on the page no sooner than it steers requests here.
            if let Some(env) = env {
                CredentialActor::publish_dormant(name, record.clone(), env, live);
            }
            usage::roll(&mut record.state.usage, clock.now());
            Some(record)
        })
    }
}

impl Handler<WakeCredential> for CredentialSupervisor {
    type Result = ();

    fn handle(&mut self, msg: WakeCredential, ctx: &mut Self::Context) {
        self.wake(msg.name, ctx);
    }
}
