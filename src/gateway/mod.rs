//! The request path shared by the client APIs. [`serve`](serve::serve) is the one entry point of a model
//! call, [`count_tokens`](count::count_tokens) the one of a token count: quota guard, credential
//! choice and retries (`dispatch`), the upstream calls (`calls`), and the
//! stream modes — plain relay (`relay`), fake streaming (`fake_driver`), anti-truncation
//! (`anti_truncation_driver`). Output is shaped by the client's `convert::dialect::Dialect`.

pub mod anti_truncation_driver;
pub mod calls;
pub mod capabilities;
pub mod content_refusal;
pub mod count;
pub mod dispatch;
pub mod fake_driver;
pub mod model_label;
pub mod model_not_found;
pub mod quota_gate;
pub mod relay;
pub mod serve;
pub mod upstream_events;

pub use count::count_tokens;
pub use serve::{serve, session_header, ModelCall};
