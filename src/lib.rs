//! gcli2api

pub mod convert;
pub mod store;
