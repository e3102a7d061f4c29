//! Streaming modes beyond the plain relay: fake streaming (heartbeats, then the whole answer) and
//! anti-truncation (continuation until the done marker). The `*_driver` files run them against Google;
//! the others are the pure shaping logic.

pub mod anti_truncation;
pub mod anti_truncation_driver;
pub mod fake_driver;
pub mod fake_stream;
