//! The panel's credential list and the fleet's counts, answered from the statuses the credential
//! actors publish into the fleet view. Filtering and counting a large fleet is a walk over small in-memory entries; only the
//! credentials on the requested page are asked for their records, so the cost of a page does not grow
//! with the fleet (100,000 credentials used to mean 100,000 messages and record copies per page).

use actix::prelude::*;
use futures_util::future::join_all;

use super::CredentialSupervisor;
use crate::actors::credentials::messages::{
    CooldownFilter, CountFleet, CredentialPage, ErrorCodeFilter, FleetStats, KindFilter,
    ListCredentialPage, PageFilter, StatusFilter,
};
use crate::fleet::CredentialStatus;

fn cooling(status: &CredentialStatus, now: i64) -> bool {
    status.cooldowns.values().any(|until| *until > now)
}

fn matches(filter: &PageFilter, status: &CredentialStatus, now: i64) -> bool {
    let by_status = match filter.status {
        StatusFilter::All => true,
        StatusFilter::Enabled => status.enabled,
        StatusFilter::Disabled => !status.enabled,
    };
    let by_code = match filter.error_code {
        ErrorCodeFilter::All => true,
        ErrorCodeFilter::None => status.error_codes.is_empty(),
        ErrorCodeFilter::Code(code) => status.error_codes.contains(&code),
        ErrorCodeFilter::Nothing => false,
    };
    let by_cooldown = match filter.cooldown {
        CooldownFilter::All => true,
        CooldownFilter::InCooldown => cooling(status, now),
        CooldownFilter::NoCooldown => !cooling(status, now),
    };
    let by_kind = match filter.kind {
        KindFilter::All => true,
        KindFilter::Kind(kind) => status.kind == kind,
        KindFilter::Nothing => false,
    };
    by_status && by_code && by_cooldown && by_kind
}

impl CredentialSupervisor {
    fn fleet_stats(&self, now: i64) -> FleetStats {
        let fleet = self.fleet.snapshot();
        let mut stats = FleetStats {
            total: fleet.len(),
            ..FleetStats::default()
        };
        for slot in fleet.slots() {
            let status = slot.live.status();
            let resting = cooling(&status, now);
            if let Some(count) = stats.kinds.get_mut(status.kind.index()) {
                *count += 1;
            }
            if !status.enabled {
                stats.disabled += 1;
            } else if !resting {
                stats.usable += 1;
            }
            if resting {
                stats.cooling += 1;
            }
        }
        stats
    }
}

impl Handler<CountFleet> for CredentialSupervisor {
    type Result = MessageResult<CountFleet>;

    fn handle(&mut self, _: CountFleet, _: &mut Self::Context) -> Self::Result {
        MessageResult(self.fleet_stats(self.clock.now()))
    }
}

impl Handler<ListCredentialPage> for CredentialSupervisor {
    type Result = ResponseFuture<CredentialPage>;

    fn handle(&mut self, msg: ListCredentialPage, _: &mut Self::Context) -> Self::Result {
        let now = self.clock.now();
        let stats = self.fleet_stats(now);
        let mut matching = 0usize;
        let mut page = Vec::new();
        for slot in self.fleet.snapshot().slots() {
            if !matches(&msg.filter, &slot.live.status(), now) {
                continue;
            }
            if matching >= msg.offset && page.len() < msg.limit {
                page.push(self.read_record(slot));
            }
            matching += 1;
        }
        Box::pin(async move {
            let records = join_all(page).await.into_iter().flatten().collect();
            CredentialPage {
                matching,
                stats,
                records,
            }
        })
    }
}
