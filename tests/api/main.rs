//! Integration tests: the real gateway over HTTP against the in-process fake Google.

#[path = "../support/fake_google.rs"]
mod fake_google;

mod harness;

mod affinity;
mod anthropic;
mod anthropic_stream;
mod audit;
mod chat;
mod claude_code_blocks;
mod cluster;
#[cfg(any(feature = "redis-tests", feature = "postgres-tests"))]
mod cluster_cooldowns;
#[cfg(any(feature = "redis-tests", feature = "postgres-tests"))]
mod cluster_view;
mod credential_kinds;
mod dialects;
mod error_styles;
mod field_lessons;
mod fleet;
mod gemini_native;
mod graceful_stop;
mod key_batches;
mod key_hashes;
mod key_windows;
mod key_windows_cluster;
mod keys;
mod logging;
mod management;
mod model_catalogue;
mod observe;
mod onboarding;
mod overhead;
mod panel_auth;
mod process;
mod protocol;
mod quota;
#[cfg(any(feature = "redis-tests", feature = "postgres-tests"))]
mod quota_cluster;
mod rate_limits;
mod responses;
mod responses_compact;
mod responses_ws;
mod security;
mod session_ids;
mod status_page;
#[cfg(any(feature = "redis-tests", feature = "postgres-tests"))]
mod store_tls;
mod usage_export;
