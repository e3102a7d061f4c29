//! Credentials: the one home of what a credential is, whatever calls or stores it.
//!
//! - `kind`: [`CredentialKind`], and `kinds`: what each kind does differently, one module per kind
//!   behind [`KindRules`] (URL and envelope, auth header, token, models, account features).
//! - `record`: the stored record ([`CredentialRecord`] and its state); the store persists it.
//! - `json`: the OAuth credential JSON as Google tools write it (lenient reads, in-place token
//!   updates, masked copies).
//! - `service_account`: Vertex AI service-account key files and their signed JWT.
//! - `google_names`: the formats of project ids and locations that reach upstream URLs.
//! - `env_text`, `env_code_assist`, `env_keys`: credentials given in environment variables (the one
//!   base64 reader; OAuth logins; Gemini API keys and Vertex credentials).
//!
//! Plain data and pure functions: nothing here calls Google or the store (`upstream` makes the calls,
//! `actors::credentials` owns the live credentials).

pub mod env_code_assist;
pub mod env_keys;
pub mod env_text;
pub mod google_names;
pub mod json;
pub mod kind;
pub mod kinds;
pub mod record;
pub mod service_account;

pub use kind::CredentialKind;
pub use kinds::{AuthHeader, Endpoint, KindRules, TokenSource};
pub use record::{
    CooldownRecord, CredentialRecord, CredentialState, ErrorRecord, UsageCounters,
    MAX_ERROR_HISTORY,
};
