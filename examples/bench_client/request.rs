//! What every measuring subcommand sends: one URL, one body, fixed headers, over a pooled client.

use std::cell::Cell;
use std::time::Duration;

use bytes::Bytes;
use gcli2api::convert::gemini::features::wrap_envelope;
use gcli2api::convert::openai_chat::request::openai_to_gemini;
use gcli2api::convert::ConvertOptions;
use serde_json::Value;

use crate::args::{Args, BenchError};

pub struct Target {
    pub url: String,
    pub body: Bytes,
    pub headers: Vec<(String, String)>,
    /// `sk-` keys sent in turn as `Authorization: Bearer` (from `--{prefix}keys FILE`, one a line).
    keys: Vec<String>,
    next_key: Cell<usize>,
}

impl Target {
    pub fn from_args(args: &Args) -> Result<Self, BenchError> {
        Self::named(args, "")
    }

    /// The target described by `--{prefix}url`, `--{prefix}body` and `--{prefix}header`.
    pub fn named(args: &Args, prefix: &str) -> Result<Self, BenchError> {
        let headers = args
            .all(&format!("{prefix}header"))
            .iter()
            .map(|raw| {
                raw.split_once(':')
                    .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                    .ok_or_else(|| BenchError::Args(format!("--header needs `K: V`, got {raw:?}")))
            })
            .collect::<Result<_, _>>()?;
        let keys = match args.optional(&format!("{prefix}keys")) {
            None => Vec::new(),
            Some(_) => String::from_utf8_lossy(&args.read_file(&format!("{prefix}keys"))?)
                .lines()
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .map(str::to_owned)
                .collect(),
        };
        Ok(Self {
            url: args.required(&format!("{prefix}url"))?.to_owned(),
            body: Bytes::from(args.read_file(&format!("{prefix}body"))?),
            headers,
            keys,
            next_key: Cell::new(0),
        })
    }

    pub fn send(&self, client: &awc::Client) -> awc::SendClientRequest {
        let mut request = client
            .post(&self.url)
            .insert_header(("content-type", "application/json"));
        for (key, value) in &self.headers {
            request = request.insert_header((key.as_str(), value.as_str()));
        }
        if !self.keys.is_empty() {
            let turn = self.next_key.get();
            self.next_key.set((turn + 1) % self.keys.len());
            if let Some(key) = self.keys.get(turn) {
                request = request.insert_header(("authorization", format!("Bearer {key}")));
            }
        }
        request.send_body(self.body.clone())
    }
}

/// Keep-alive pool without a connection cap, so `--concurrency` and `hold` are not throttled by it.
pub fn client() -> awc::Client {
    awc::Client::builder()
        .timeout(Duration::from_secs(120))
        .connector(awc::Connector::new().limit(0))
        .finish()
}

/// The envelope the gateway builds for this chat body, with the gateway's default options.
pub fn envelope(args: &Args) -> Result<Value, BenchError> {
    let chat: Value = serde_json::from_slice(&args.read_file("chat")?)?;
    let project = args.required("project")?;
    let converted = openai_to_gemini(&chat, &Default::default(), &ConvertOptions::default())
        .map_err(|e| BenchError::Args(format!("chat body: {e}")))?;
    Ok(wrap_envelope(
        &converted.spec.base,
        project,
        converted.gemini,
    ))
}

/// `make-keys`: creates `--count` keys worth `--quota` each through the panel API of the gateway at
/// `--url` (authorised by `--password`), a few at a time, and writes them to `--keys-out`, one a line.
pub async fn make_keys(args: &Args) -> Result<Value, BenchError> {
    let base = args.required("url")?.trim_end_matches('/').to_owned();
    let password = args.required("password")?.to_owned();
    let count: usize = args.number("count", 1)?;
    let quota: u64 = args.number("quota", 1_000_000_000)?;
    let out = args.required("keys-out")?.to_owned();
    let client = client();
    let mut keys = Vec::with_capacity(count);
    let mut left = count;
    while left > 0 {
        let wave = left.min(16);
        let calls = (0..wave).map(|_| {
            let client = client.clone();
            let (url, password) = (format!("{base}/auth/keys"), password.clone());
            async move {
                let mut response = client
                    .post(url)
                    .insert_header(("authorization", format!("Bearer {password}")))
                    .send_json(&serde_json::json!({"total_quota": quota}))
                    .await
                    .map_err(|e| BenchError::Http(e.to_string()))?;
                let body: Value = response
                    .json()
                    .await
                    .map_err(|e| BenchError::Http(e.to_string()))?;
                body.get("api_key")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .ok_or_else(|| BenchError::Http(format!("creating a key answered {body}")))
            }
        });
        for key in futures_util::future::join_all(calls).await {
            keys.push(key?);
        }
        left -= wave;
    }
    std::fs::write(&out, keys.join("\n") + "\n").map_err(|source| BenchError::File {
        path: out.clone(),
        source,
    })?;
    Ok(serde_json::json!({"created": keys.len(), "keys_out": out}))
}
