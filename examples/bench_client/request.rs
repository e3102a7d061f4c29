//! What every measuring subcommand sends: one URL, one body, fixed headers, over a pooled client.

use std::time::Duration;

use bytes::Bytes;
use gcli2api::convert::features::wrap_envelope;
use gcli2api::convert::openai_request::openai_to_gemini;
use gcli2api::convert::ConvertOptions;
use serde_json::Value;

use crate::args::{Args, BenchError};

pub struct Target {
    pub url: String,
    pub body: Bytes,
    pub headers: Vec<(String, String)>,
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
        Ok(Self {
            url: args.required(&format!("{prefix}url"))?.to_owned(),
            body: Bytes::from(args.read_file(&format!("{prefix}body"))?),
            headers,
        })
    }

    pub fn send(&self, client: &awc::Client) -> awc::SendClientRequest {
        let mut request = client
            .post(&self.url)
            .insert_header(("content-type", "application/json"));
        for (key, value) in &self.headers {
            request = request.insert_header((key.as_str(), value.as_str()));
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
