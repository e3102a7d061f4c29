//! Who may use the OAuth onboarding routes. With `PUBLIC_ONBOARDING` on (the default, as in the
//! original) anyone who can reach `/auth` may add a Google account to the pool; off, only a panel
//! session may. Either way a flow is completed only by the address that started it or by the panel,
//! so a stranger cannot finish someone else's sign-in into a project of their choosing.

use actix_web::HttpRequest;

use crate::actors::oauth_flows::messages::Flow;
use crate::auth::client_address::client_address;
use crate::auth::panel::{check_panel_token, presented_panel_token};
use crate::error::ApiError;
use crate::state::AppState;

pub struct OnboardingAccess {
    pub client: String,
    /// The request carries a valid panel session (or the panel password).
    pub panel: bool,
}

impl OnboardingAccess {
    pub fn may_complete(&self, flow: &Flow) -> bool {
        self.panel || flow.owner == self.client
    }
}

/// A presented panel token must be valid (a wrong one counts against the login limiter); without one
/// the request is public, which `PUBLIC_ONBOARDING=false` refuses.
pub async fn onboarding_access(
    req: &HttpRequest,
    state: &AppState,
) -> Result<OnboardingAccess, ApiError> {
    let settings = state.settings.current();
    let client = client_address(req, &settings);
    let panel = match presented_panel_token(req) {
        Some(token) => {
            check_panel_token(state, &token, &client).await?;
            true
        }
        None => false,
    };
    if !panel && !settings.public_onboarding {
        return Err(ApiError::unauthorized(
            "public onboarding is turned off (PUBLIC_ONBOARDING=false): log in to the panel to add an account",
        ));
    }
    Ok(OnboardingAccess { client, panel })
}
