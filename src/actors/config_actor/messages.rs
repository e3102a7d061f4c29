//! The messages of the `ConfigActor`: each a struct with named fields and a typed result.

use actix::prelude::*;
use serde_json::{Map, Value};

#[derive(Debug, Clone, thiserror::Error)]
pub enum ConfigSaveError {
    #[error("{0}")]
    Invalid(String),
    #[error("could not save the configuration")]
    Storage,
}

/// The effective configuration for the panel, secrets masked.
#[derive(Message)]
#[rtype(result = "Value")]
pub struct GetConfig;

/// Validate `changes` (flat keys; `null` removes a key), store them and apply them; answers the new
/// effective configuration, secrets masked.
#[derive(Message)]
#[rtype(result = "Result<Value, ConfigSaveError>")]
pub struct SaveConfig {
    pub changes: Map<String, Value>,
}
