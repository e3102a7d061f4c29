//! gcli2api

pub mod store;
pub mod upstream;
