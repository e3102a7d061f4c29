//! `subcommand --key value …` parsing; keys may repeat (`--header`).

use std::collections::HashMap;
use std::str::FromStr;

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("{0}")]
    Args(String),
    #[error("{path}: {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    #[error("request failed: {0}")]
    Http(String),
}

pub struct Args {
    pub command: String,
    values: HashMap<String, Vec<String>>,
}

impl Args {
    pub fn from_env() -> Result<Self, BenchError> {
        let mut raw = std::env::args().skip(1);
        let command = raw
            .next()
            .ok_or_else(|| BenchError::Args("missing subcommand".into()))?;
        let mut values: HashMap<String, Vec<String>> = HashMap::new();
        while let Some(key) = raw.next() {
            let Some(name) = key.strip_prefix("--") else {
                return Err(BenchError::Args(format!("expected --option, got {key:?}")));
            };
            let value = raw
                .next()
                .ok_or_else(|| BenchError::Args(format!("{key} needs a value")))?;
            values.entry(name.to_owned()).or_default().push(value);
        }
        Ok(Self { command, values })
    }

    pub fn optional(&self, key: &str) -> Option<&str> {
        self.values.get(key)?.last().map(String::as_str)
    }

    pub fn required(&self, key: &str) -> Result<&str, BenchError> {
        self.optional(key)
            .ok_or_else(|| BenchError::Args(format!("--{key} is required")))
    }

    pub fn all(&self, key: &str) -> &[String] {
        self.values.get(key).map_or(&[], Vec::as_slice)
    }

    pub fn number<T: FromStr>(&self, key: &str, default: T) -> Result<T, BenchError> {
        match self.optional(key) {
            None => Ok(default),
            Some(raw) => raw
                .parse()
                .map_err(|_| BenchError::Args(format!("--{key}: not a number: {raw:?}"))),
        }
    }

    pub fn read_file(&self, key: &str) -> Result<Vec<u8>, BenchError> {
        let path = self.required(key)?;
        std::fs::read(path).map_err(|source| BenchError::File {
            path: path.to_owned(),
            source,
        })
    }
}
