//! Stream shaping that does not touch the network: fake streaming and anti-truncation.

pub mod anti_truncation;
pub mod fake_stream;
