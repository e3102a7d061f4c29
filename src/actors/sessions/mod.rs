//! `SessionGuard` owns the login throttle (failed attempts per client address) and the set of panel
//! tokens ended by logout until they would have expired anyway. Both are small and bounded.
//!
//! With a shared store (Redis, PostgreSQL) both are also written to the store and read from it, so
//! every instance behind a load balancer refuses a logged-out session and counts one address's
//! failures together: the writes are awaited before the answer that caused them, so the next request
//! on any instance sees them. When the store fails, the limiter falls back to this instance's counts
//! and a session whose revocation cannot be checked is refused.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use actix::prelude::*;

pub mod messages;

use self::messages::{CheckLogin, IsRevoked, LoginFailed, LoginSucceeded, LoginThrottled, Revoke};
use crate::clock::Clock;
use crate::store::Store;

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
    /// The store other instances share, when they do.
    shared: Option<Arc<dyn Store>>,
}

impl SessionGuard {
    pub fn new(clock: Clock) -> Self {
        Self {
            clock,
            failures: HashMap::new(),
            revoked: HashMap::new(),
            shared: None,
        }
    }

    /// Shares failures and logouts through `store` when other instances may use it too.
    pub fn sharing_through(mut self, store: Arc<dyn Store>) -> Self {
        self.shared = store.is_shared().then_some(store);
        self
    }

    fn throttled(oldest: i64, now: i64) -> LoginThrottled {
        LoginThrottled {
            wait_secs: (oldest + WINDOW_SECS - now).max(1),
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
    type Result = ResponseFuture<Result<(), LoginThrottled>>;

    fn handle(&mut self, msg: CheckLogin, _: &mut Self::Context) -> Self::Result {
        let now = self.clock.now();
        self.prune(now);
        if let Some(times) = self.failures.get(&msg.address) {
            if times.len() >= MAX_FAILURES {
                let oldest = times.front().copied().unwrap_or(now);
                return Box::pin(std::future::ready(Err(Self::throttled(oldest, now))));
            }
        }
        let Some(store) = self.shared.clone() else {
            return Box::pin(std::future::ready(Ok(())));
        };
        Box::pin(async move {
            match store.login_failures(&msg.address, now, WINDOW_SECS).await {
                Ok(Some(f)) if f.count >= MAX_FAILURES => Err(Self::throttled(f.oldest, now)),
                Ok(_) => Ok(()),
                Err(e) => {
                    log::warn!("login limiter: the shared count is unavailable ({e}); counting on this instance only");
                    Ok(())
                }
            }
        })
    }
}

impl Handler<LoginFailed> for SessionGuard {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, msg: LoginFailed, _: &mut Self::Context) -> Self::Result {
        let now = self.clock.now();
        if self.failures.len() >= MAX_ADDRESSES {
            self.prune(now);
            if self.failures.len() >= MAX_ADDRESSES {
                self.failures.clear();
            }
        }
        self.failures
            .entry(msg.address.clone())
            .or_default()
            .push_back(now);
        let Some(store) = self.shared.clone() else {
            return Box::pin(std::future::ready(()));
        };
        Box::pin(async move {
            if let Err(e) = store
                .add_login_failure(&msg.address, now, WINDOW_SECS)
                .await
            {
                log::warn!("login limiter: a failure was counted on this instance only: {e}");
            }
        })
    }
}

impl Handler<LoginSucceeded> for SessionGuard {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, msg: LoginSucceeded, _: &mut Self::Context) -> Self::Result {
        self.failures.remove(&msg.address);
        let Some(store) = self.shared.clone() else {
            return Box::pin(std::future::ready(()));
        };
        Box::pin(async move {
            if let Err(e) = store.clear_login_failures(&msg.address).await {
                log::warn!("login limiter: shared failures not cleared: {e}");
            }
        })
    }
}

impl Handler<Revoke> for SessionGuard {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, msg: Revoke, _: &mut Self::Context) -> Self::Result {
        if self.revoked.len() >= MAX_REVOKED {
            self.prune(self.clock.now());
        }
        self.revoked.insert(msg.jti.clone(), msg.until);
        let Some(store) = self.shared.clone() else {
            return Box::pin(std::future::ready(()));
        };
        Box::pin(async move {
            if let Err(e) = store.revoke_session(&msg.jti, msg.until).await {
                log::error!("logout not shared with the other instances: {e}");
            }
        })
    }
}

impl Handler<IsRevoked> for SessionGuard {
    type Result = ResponseFuture<bool>;

    fn handle(&mut self, msg: IsRevoked, _: &mut Self::Context) -> Self::Result {
        if self.revoked.contains_key(&msg.jti) {
            return Box::pin(std::future::ready(true));
        }
        let Some(store) = self.shared.clone() else {
            return Box::pin(std::future::ready(false));
        };
        let now = self.clock.now();
        Box::pin(async move {
            store
                .is_session_revoked(&msg.jti, now)
                .await
                .unwrap_or_else(|e| {
                    log::warn!(
                        "session check: the store did not answer ({e}); refusing the session"
                    );
                    true
                })
        })
    }
}
