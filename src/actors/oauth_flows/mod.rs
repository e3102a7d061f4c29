//! `OAuthFlows` owns the pending Google sign-ins started from `/auth`: state, PKCE verifier, the code once
//! the gateway caught it at `/oauth2callback`. Flows expire after 10 minutes. Their number is bounded:
//! one address keeps at most a few pending flows (its own oldest make room) and its starts are
//! rate-limited, because the endpoints are public; when the table is full, the oldest anonymous flow
//! still waiting for its code makes room, so a handful of addresses cannot lock everyone else out
//! for the flows' lifetime. Panel flows, and flows whose code has arrived, are never pushed out.

use std::collections::{HashMap, VecDeque};

use actix::prelude::*;

pub mod messages;

use self::messages::{
    ClaimCode, CodeReceived, Flow, FlowDone, FlowStatus, GetFlow, ReleaseCode, StartFlow,
    StartRefused,
};
use crate::clock::Clock;

pub const FLOW_TTL_SECS: i64 = 600;
const MAX_FLOWS: usize = 100;
/// Pending flows one address may hold; a further start replaces that address's oldest.
const MAX_FLOWS_PER_CLIENT: usize = 5;
/// Starts allowed per address per `RATE_WINDOW_SECS`.
const MAX_STARTS: usize = 20;
const RATE_WINDOW_SECS: i64 = 600;

pub struct OAuthFlows {
    clock: Clock,
    flows: HashMap<String, Flow>,
    order: VecDeque<String>,
    starts: HashMap<String, VecDeque<i64>>,
}

impl OAuthFlows {
    pub fn new(clock: Clock) -> Self {
        Self {
            clock,
            flows: HashMap::new(),
            order: VecDeque::new(),
            starts: HashMap::new(),
        }
    }

    fn prune(&mut self, now: i64) {
        self.flows.retain(|_, f| f.created_at + FLOW_TTL_SECS > now);
        let flows = &self.flows;
        self.order.retain(|s| flows.contains_key(s));
        self.starts.retain(|_, times| {
            while times.front().is_some_and(|t| *t <= now - RATE_WINDOW_SECS) {
                times.pop_front();
            }
            !times.is_empty()
        });
    }
}

impl Actor for OAuthFlows {
    type Context = Context<Self>;
}

impl Handler<StartFlow> for OAuthFlows {
    type Result = Result<(), StartRefused>;

    fn handle(&mut self, msg: StartFlow, _: &mut Self::Context) -> Self::Result {
        let now = self.clock.now();
        self.prune(now);
        let owner = msg.flow.owner.clone();
        let times = self.starts.entry(owner.clone()).or_default();
        if times.len() >= MAX_STARTS {
            let oldest = times.front().copied().unwrap_or(now);
            return Err(StartRefused::TooManyStarts {
                wait_secs: (oldest + RATE_WINDOW_SECS - now).max(1),
            });
        }
        let own: Vec<String> = self
            .order
            .iter()
            .filter(|s| self.flows.get(*s).is_some_and(|f| f.owner == owner))
            .cloned()
            .collect();
        if own.len() >= MAX_FLOWS_PER_CLIENT {
            if let Some(oldest_own) = own.first() {
                self.flows.remove(oldest_own);
                self.order.retain(|s| s != oldest_own);
            }
        } else if self.order.len() >= MAX_FLOWS {
            let evictable = self
                .order
                .iter()
                .find(|s| {
                    self.flows
                        .get(*s)
                        .is_some_and(|f| !f.by_panel && f.status == FlowStatus::Pending)
                })
                .cloned();
            match evictable {
                Some(oldest) => {
                    self.flows.remove(&oldest);
                    self.order.retain(|s| *s != oldest);
                }
                None => {
                    let oldest = self
                        .order
                        .front()
                        .and_then(|s| self.flows.get(s))
                        .map_or(now, |f| f.created_at);
                    return Err(StartRefused::Full {
                        wait_secs: (oldest + FLOW_TTL_SECS - now).max(1),
                    });
                }
            }
        }
        if let Some(times) = self.starts.get_mut(&owner) {
            times.push_back(now);
        }
        self.order.push_back(msg.flow.state.clone());
        self.flows.insert(msg.flow.state.clone(), msg.flow);
        Ok(())
    }
}

impl Handler<CodeReceived> for OAuthFlows {
    type Result = bool;

    fn handle(&mut self, msg: CodeReceived, _: &mut Self::Context) -> bool {
        self.prune(self.clock.now());
        match self.flows.get_mut(&msg.state) {
            Some(flow) if flow.status == FlowStatus::Pending => {
                flow.code = Some(msg.code);
                flow.status = FlowStatus::CodeReceived;
                true
            }
            _ => false,
        }
    }
}

impl Handler<GetFlow> for OAuthFlows {
    type Result = Option<Flow>;

    fn handle(&mut self, msg: GetFlow, _: &mut Self::Context) -> Self::Result {
        self.prune(self.clock.now());
        self.flows.get(&msg.state).cloned()
    }
}

impl Handler<ClaimCode> for OAuthFlows {
    type Result = Option<Flow>;

    fn handle(&mut self, msg: ClaimCode, _: &mut Self::Context) -> Self::Result {
        self.prune(self.clock.now());
        let flow = self.flows.get_mut(&msg.state)?;
        if flow.status != FlowStatus::CodeReceived {
            return None;
        }
        flow.status = FlowStatus::Completed;
        Some(flow.clone())
    }
}

impl Handler<ReleaseCode> for OAuthFlows {
    type Result = ();

    fn handle(&mut self, msg: ReleaseCode, _: &mut Self::Context) {
        if let Some(flow) = self.flows.get_mut(&msg.state) {
            flow.status = FlowStatus::Pending;
            flow.code = None;
        }
    }
}

impl Handler<FlowDone> for OAuthFlows {
    type Result = ();

    fn handle(&mut self, msg: FlowDone, _: &mut Self::Context) {
        if let Some(flow) = self.flows.get_mut(&msg.state) {
            flow.status = FlowStatus::Completed;
        }
    }
}
