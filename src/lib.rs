//! gcli2api

pub mod store;
