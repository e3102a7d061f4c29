//! [`Admin`]: a panel session (as [`PanelSession`] checks it) together with who it is for the audit
//! log and the client's address, so an audited handler takes one extractor instead of two.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};

use serde_json::Value;

use crate::auth::client_address::client_address;
use crate::auth::panel::PanelSession;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::AuditAction;

/// Characters of a session's token id that name it: enough to tell sessions apart, and the id is
/// not a secret anyway (the token's signature is).
const SESSION_ID_CHARS: usize = 8;

pub struct Admin {
    pub session: PanelSession,
    /// `password` (the panel password as a Bearer token) or `session:<first characters of its id>`.
    pub actor: String,
    /// The client address as the gateway determines it (`TRUSTED_PROXIES`).
    pub address: String,
}

impl Admin {
    fn from_session(session: PanelSession, address: String) -> Self {
        let actor = match &session.claims {
            Some(claims) => format!(
                "session:{}",
                claims
                    .jti
                    .chars()
                    .take(SESSION_ID_CHARS)
                    .collect::<String>()
            ),
            None => "password".to_string(),
        };
        Self {
            session,
            actor,
            address,
        }
    }
}

impl Admin {
    /// Leaves an audit entry of `action` on `target` by this caller; never waits for the store.
    pub fn audit(&self, state: &AppState, action: AuditAction, target: &str, changes: Value) {
        state
            .audit
            .push(&self.actor, &self.address, action, target, changes);
    }
}

impl FromRequest for Admin {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let session = PanelSession::from_request(req, payload);
        let address = req
            .app_data::<web::Data<AppState>>()
            .map(|state| client_address(req, &state.settings.current()))
            .unwrap_or_default();
        Box::pin(async move { Ok(Admin::from_session(session.await?, address)) })
    }
}
