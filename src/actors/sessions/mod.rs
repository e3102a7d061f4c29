//! `SessionGuard` owns the login throttle (failed attempts per client address) and the set of panel
//! tokens ended by logout until they would have expired anyway. Both are small and bounded.

use std::collections::{HashMap, VecDeque};

use actix::prelude::*;

pub mod messages;

use self::messages::{CheckLogin, IsRevoked, LoginFailed, LoginSucceeded, LoginThrottled, Revoke};
use crate::clock::Clock;

/// Failed logins allowed per address in `WINDOW_SECS` before further attempts are refused.
pub const MAX_FAILURES: usize = 5;
pub const WINDOW_SECS: i64 = 300;
/// Bounds on the remembered addresses and revoked tokens, so a flood cannot grow memory.
const MAX_ADDRESSES: usize = 10_000;
const MAX_REVOKED: usize = 10_000;

pub struct SessionGuard {
    clock: Clock,
    failures: HashMap<String, VecDeque<i64>>,
    revoked: HashMap<String, i64>,
}

impl SessionGuard {
    pub fn new(clock: Clock) -> Self {
        Self {
            clock,
            failures: HashMap::new(),
            revoked: HashMap::new(),
        }
    }

    fn prune(&mut self, now: i64) {
        self.failures.retain(|_, times| {
            while times.front().is_some_and(|t| *t <= now - WINDOW_SECS) {
                times.pop_front();
            }
            !times.is_empty()
        });
        self.revoked.retain(|_, until| *until > now);
    }
}

impl Actor for SessionGuard {
    type Context = Context<Self>;
}

impl Handler<CheckLogin> for SessionGuard {
    type Result = Result<(), LoginThrottled>;

    fn handle(&mut self, msg: CheckLogin, _: &mut Self::Context) -> Self::Result {
        let now = self.clock.now();
        self.prune(now);
        match self.failures.get(&msg.address) {
            Some(times) if times.len() >= MAX_FAILURES => {
                let oldest = times.front().copied().unwrap_or(now);
                Err(LoginThrottled {
                    wait_secs: (oldest + WINDOW_SECS - now).max(1),
                })
            }
            _ => Ok(()),
        }
    }
}

impl Handler<LoginFailed> for SessionGuard {
    type Result = ();

    fn handle(&mut self, msg: LoginFailed, _: &mut Self::Context) {
        let now = self.clock.now();
        if self.failures.len() >= MAX_ADDRESSES {
            self.prune(now);
            if self.failures.len() >= MAX_ADDRESSES {
                self.failures.clear();
            }
        }
        self.failures.entry(msg.address).or_default().push_back(now);
    }
}

impl Handler<LoginSucceeded> for SessionGuard {
    type Result = ();

    fn handle(&mut self, msg: LoginSucceeded, _: &mut Self::Context) {
        self.failures.remove(&msg.address);
    }
}

impl Handler<Revoke> for SessionGuard {
    type Result = ();

    fn handle(&mut self, msg: Revoke, _: &mut Self::Context) {
        if self.revoked.len() >= MAX_REVOKED {
            self.prune(self.clock.now());
        }
        self.revoked.insert(msg.jti, msg.until);
    }
}

impl Handler<IsRevoked> for SessionGuard {
    type Result = bool;

    fn handle(&mut self, msg: IsRevoked, _: &mut Self::Context) -> bool {
        self.revoked.contains_key(&msg.jti)
    }
}
