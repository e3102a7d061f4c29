//! Standalone fake Google for benchmarks: every generate / stream call gets the same answer.
//!
//! Options (each also read from the environment variable in brackets; flags win):
//!   --host H          bind address              [FAKE_GOOGLE_HOST]        default 127.0.0.1
//!   --port P          port, 0 = any free one    [FAKE_GOOGLE_PORT]        default 8765
//!   --chunks N        stream events per answer  [FAKE_GOOGLE_CHUNKS]      default 3
//!   --interval-ms M   pause between events      [FAKE_GOOGLE_INTERVAL_MS] default 0
//!   --latency-ms L    pause before the answer   [FAKE_GOOGLE_LATENCY_MS]  default 0
//!   --no-record       do not keep a request log [FAKE_GOOGLE_NO_RECORD=1]
//!   --stamp           end each stream event's text with the time it was sent, as 20 digits of
//!                     nanoseconds since the Unix epoch (`… sent at 01767225600123456789. `)
//!                                                   [FAKE_GOOGLE_STAMP=1]
//!   --control         serve the test control API under /__fake/ (see tests/support/fake_google/control.rs);
//!                     flag only, so a benchmark run can never expose it
//!   --tool-call F=JSON  answer calls that declare function F with a call of F(JSON), then with the
//!                     tool's output once the client sends it back (see tests/support/fake_google/
//!                     tool_script.rs); repeatable
//!   --auth-code C=R   accept OAuth code C for refresh token R; repeatable
//!                                             [FAKE_GOOGLE_AUTH_CODES=C1=R1,C2=R2]
//!   --api-key K       accept Gemini API key K on the Generative Language and Vertex express paths
//!                     (replies to its calls are scripted under the key); repeatable
//!                                             [FAKE_GOOGLE_API_KEYS=K1,K2]
//!   --accept-unissued-tokens
//!                     accept bearer tokens shaped `at-<refresh token>-<n>` that the fake never issued
//!                     (the benchmark's credential files carry such tokens); flag only, the tests
//!                     always run the fake as strictly as Google
//! Prints `listening on http://<addr>` once bound; stops on Ctrl-C or SIGTERM.

#[path = "../tests/support/fake_google.rs"]
mod fake_google;

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use fake_google::{
    parse_tool_script, FakeGoogle, FakeGoogleOptions, Reply, ToolScript, SEND_TIME_MARK,
};

#[derive(Debug)]
struct ServerArgs {
    host: IpAddr,
    port: u16,
    chunks: usize,
    interval_ms: u64,
    latency_ms: u64,
    record: bool,
    stamp: bool,
    control: bool,
    accept_unissued_tokens: bool,
    /// (code, refresh token) pairs the token endpoint exchanges, for sign-in flows run from outside.
    auth_codes: Vec<(String, String)>,
    api_keys: Vec<String>,
    /// Functions answered with a scripted call and then with their output (agent client tests).
    tool_scripts: Vec<ToolScript>,
}

#[derive(Debug, thiserror::Error)]
enum ArgsError {
    #[error("unknown option {0}")]
    Unknown(String),
    #[error("option {0} needs a value")]
    MissingValue(String),
    #[error("invalid value {value:?} for {option}")]
    Invalid { option: String, value: String },
}

fn parse_auth_code(option: &str, value: &str) -> Result<(String, String), ArgsError> {
    match value.split_once('=') {
        Some((code, refresh)) if !code.is_empty() && !refresh.is_empty() => {
            Ok((code.to_owned(), refresh.to_owned()))
        }
        _ => Err(ArgsError::Invalid {
            option: option.to_owned(),
            value: value.to_owned(),
        }),
    }
}

fn parse_value<T: FromStr>(option: &str, value: &str) -> Result<T, ArgsError> {
    value.parse().map_err(|_| ArgsError::Invalid {
        option: option.to_owned(),
        value: value.to_owned(),
    })
}

fn env_or<T: FromStr>(name: &str, default: T) -> Result<T, ArgsError> {
    match std::env::var(name) {
        Ok(value) => parse_value(name, &value),
        Err(_) => Ok(default),
    }
}

impl ServerArgs {
    fn from_env_and_args() -> Result<Self, ArgsError> {
        let mut args = ServerArgs {
            host: env_or("FAKE_GOOGLE_HOST", IpAddr::from([127, 0, 0, 1]))?,
            port: env_or("FAKE_GOOGLE_PORT", 8765)?,
            chunks: env_or("FAKE_GOOGLE_CHUNKS", 3)?,
            interval_ms: env_or("FAKE_GOOGLE_INTERVAL_MS", 0)?,
            latency_ms: env_or("FAKE_GOOGLE_LATENCY_MS", 0)?,
            record: std::env::var("FAKE_GOOGLE_NO_RECORD").map_or(true, |v| v != "1"),
            stamp: std::env::var("FAKE_GOOGLE_STAMP").is_ok_and(|v| v == "1"),
            control: false,
            accept_unissued_tokens: false,
            auth_codes: Vec::new(),
            api_keys: std::env::var("FAKE_GOOGLE_API_KEYS")
                .map(|list| {
                    list.split(',')
                        .map(str::trim)
                        .filter(|k| !k.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            tool_scripts: Vec::new(),
        };
        if let Ok(list) = std::env::var("FAKE_GOOGLE_AUTH_CODES") {
            for pair in list.split(',').filter(|p| !p.trim().is_empty()) {
                args.auth_codes
                    .push(parse_auth_code("FAKE_GOOGLE_AUTH_CODES", pair.trim())?);
            }
        }
        let mut raw = std::env::args().skip(1);
        while let Some(option) = raw.next() {
            if option == "--no-record" {
                args.record = false;
                continue;
            }
            if option == "--stamp" {
                args.stamp = true;
                continue;
            }
            if option == "--accept-unissued-tokens" {
                args.accept_unissued_tokens = true;
                continue;
            }
            if option == "--control" {
                args.control = true;
                continue;
            }
            let value = raw
                .next()
                .ok_or_else(|| ArgsError::MissingValue(option.clone()))?;
            match option.as_str() {
                "--host" => args.host = parse_value(&option, &value)?,
                "--port" => args.port = parse_value(&option, &value)?,
                "--chunks" => args.chunks = parse_value(&option, &value)?,
                "--interval-ms" => args.interval_ms = parse_value(&option, &value)?,
                "--latency-ms" => args.latency_ms = parse_value(&option, &value)?,
                "--auth-code" => args.auth_codes.push(parse_auth_code(&option, &value)?),
                "--api-key" => args.api_keys.push(value),
                "--tool-call" => {
                    args.tool_scripts
                        .push(parse_tool_script(&value).ok_or(ArgsError::Invalid {
                            option: option.clone(),
                            value: value.clone(),
                        })?)
                }
                _ => return Err(ArgsError::Unknown(option)),
            }
        }
        Ok(args)
    }

    fn reply(&self) -> Reply {
        let chunks = self.chunks.max(1);
        let stamp = self.stamp;
        let reply = Reply::stream_chunks((1..=chunks).map(|i| {
            if stamp {
                format!("Chunk {i} of {chunks} sent at {SEND_TIME_MARK}. ")
            } else {
                format!("Chunk {i} of {chunks} from the fake. ")
            }
        }))
        .interval_ms(self.interval_ms)
        .delay_ms(self.latency_ms);
        if stamp {
            reply.stamp_send_time()
        } else {
            reply
        }
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut terminate) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
            return;
        }
    }
    // Without a SIGTERM handler Ctrl-C is the only way out; an error here means no signals at all.
    let _ = tokio::signal::ctrl_c().await;
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = ServerArgs::from_env_and_args()?;
    let workers = std::thread::available_parallelism().map_or(1, usize::from);
    let fake = FakeGoogle::start_with(FakeGoogleOptions {
        bind: SocketAddr::new(args.host, args.port),
        workers,
        record: args.record,
        default_reply: Some(args.reply()),
        control: args.control,
        strict_tokens: !args.accept_unissued_tokens,
    })
    .await?;
    for (code, refresh_token) in &args.auth_codes {
        fake.set_auth_code(code, refresh_token);
    }
    for script in &args.tool_scripts {
        fake.add_tool_script(script.clone());
    }
    for key in &args.api_keys {
        fake.add_api_key(key);
    }
    println!("listening on {}", fake.url());
    shutdown_signal().await;
    fake.stop().await;
    Ok(())
}
