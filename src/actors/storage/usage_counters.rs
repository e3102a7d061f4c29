//! The `StorageActor`'s share of credential usage on a shared store: counters from every credential
//! actor of this instance, coalesced and added to the store's every [`USAGE_FLUSH_INTERVAL`] (and on
//! a flush), so a busy instance makes one write per interval, not one per request.

use std::collections::BTreeMap;
use std::time::Duration;

use actix::prelude::*;

use super::messages::{AddUsage, ResetUsageCounters};
use super::StorageActor;
use crate::fleet::usage_sheet;

/// Longest a counted call waits before other instances see it.
pub const USAGE_FLUSH_INTERVAL: Duration = Duration::from_secs(5);

impl StorageActor {
    /// Adds the pending usage counters to the store's; on failure they wait for the next flush.
    pub(super) fn flush_usage(&mut self, ctx: &mut Context<Self>) {
        if self.usage.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut self.usage);
        let store = self.store.clone();
        let fut = async move {
            let result = store.add_counters(usage_sheet::SHEET, &batch).await;
            (result, batch)
        }
        .into_actor(self)
        .map(|(result, batch), act, _| {
            if let Err(e) = result {
                log::warn!("usage counters not saved (kept for the next try): {e}");
                add_all(&mut act.usage, batch);
            }
        });
        ctx.wait(fut);
    }
}

fn add_all(into: &mut BTreeMap<String, u64>, more: BTreeMap<String, u64>) {
    for (name, n) in more {
        let slot = into.entry(name).or_default();
        *slot = slot.saturating_add(n);
    }
}

impl Handler<AddUsage> for StorageActor {
    type Result = ();

    fn handle(&mut self, msg: AddUsage, _: &mut Self::Context) {
        if self.store.is_shared() {
            add_all(&mut self.usage, msg.deltas);
        }
    }
}

impl Handler<ResetUsageCounters> for StorageActor {
    type Result = ();

    fn handle(&mut self, msg: ResetUsageCounters, ctx: &mut Self::Context) {
        if !self.store.is_shared() {
            return;
        }
        let pending = usage_sheet::day_counters_of(&self.usage, &msg.name);
        for name in pending {
            self.usage.remove(&name);
        }
        let store = self.store.clone();
        let fut = async move {
            let result = match store.load_counters(usage_sheet::SHEET).await {
                Ok(all) => {
                    let names = usage_sheet::day_counters_of(&all, &msg.name);
                    store.remove_counters(usage_sheet::SHEET, &names).await
                }
                Err(e) => Err(e),
            };
            if let Err(e) = result {
                log::error!("usage of {} not reset in the store: {e}", msg.name);
            }
        };
        ctx.wait(fut.into_actor(self));
    }
}
