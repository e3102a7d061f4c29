//! Everything that talks to Google.

pub mod code_assist;
pub mod error;
pub mod oauth;
pub mod onboarding;

pub use error::UpstreamError;
