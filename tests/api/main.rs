//! Integration tests: the real gateway over HTTP against the in-process fake Google.

#[path = "../support/fake_google.rs"]
mod fake_google;

mod harness;

mod chat;
mod fleet;
mod gemini_native;
mod keys;
mod onboarding;
mod panel_auth;
mod protocol;
