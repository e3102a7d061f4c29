//! The fake Google's options on the command line, shared by `fake_google_server` (the fake alone) and
//! `dev_stack` (the fake and a gateway in front of it). Each option also reads the environment
//! variable named in its help; a flag given on the command line wins over the variable.

use std::io;
use std::net::SocketAddr;

use clap::builder::FalseyValueParser;

use crate::fake_google::{
    parse_tool_script, FakeGoogle, FakeGoogleOptions, Reply, ToolScript, SEND_TIME_MARK,
};

#[derive(Debug, Clone, clap::Args)]
pub struct FakeArgs {
    /// Stream events per answer.
    #[arg(long, env = "FAKE_GOOGLE_CHUNKS", default_value_t = 3)]
    pub chunks: usize,
    /// Pause between stream events, in milliseconds.
    #[arg(long, env = "FAKE_GOOGLE_INTERVAL_MS", default_value_t = 0)]
    pub interval_ms: u64,
    /// Pause before the answer, in milliseconds.
    #[arg(long, env = "FAKE_GOOGLE_LATENCY_MS", default_value_t = 0)]
    pub latency_ms: u64,
    /// Do not keep a request log.
    #[arg(long, env = "FAKE_GOOGLE_NO_RECORD", value_parser = FalseyValueParser::new())]
    pub no_record: bool,
    /// End each stream event's text with the time it was sent, as 20 digits of nanoseconds since the
    /// Unix epoch (`… sent at 01767225600123456789. `).
    #[arg(long, env = "FAKE_GOOGLE_STAMP", value_parser = FalseyValueParser::new())]
    pub stamp: bool,
    /// Serve the test control API under /__fake/ (see tests/support/fake_google/control.rs); flag
    /// only, so a benchmark run can never expose it.
    #[arg(long)]
    pub control: bool,
    /// F=JSON: answer calls that declare function F with a call of F(JSON), then with the tool's
    /// output once the client sends it back (tests/support/fake_google/tool_script.rs); repeatable.
    #[arg(long = "tool-call", value_name = "F=JSON", value_parser = tool_call)]
    pub tool_calls: Vec<ToolScript>,
    /// C=R: accept OAuth code C for refresh token R; repeatable (variable: comma-separated).
    #[arg(
        long = "auth-code",
        value_name = "C=R",
        env = "FAKE_GOOGLE_AUTH_CODES",
        value_delimiter = ',',
        value_parser = auth_code
    )]
    pub auth_codes: Vec<(String, String)>,
    /// Accept Gemini API key K on the Generative Language and Vertex express paths (replies to its
    /// calls are scripted under the key); repeatable (variable: comma-separated).
    #[arg(
        long = "api-key",
        value_name = "K",
        env = "FAKE_GOOGLE_API_KEYS",
        value_delimiter = ','
    )]
    pub api_keys: Vec<String>,
    /// Accept bearer tokens shaped `at-<refresh token>-<n>` that the fake never issued (the
    /// benchmark's credential files carry such tokens); flag only, the tests always run the fake as
    /// strictly as Google.
    #[arg(long)]
    pub accept_unissued_tokens: bool,
}

fn tool_call(value: &str) -> Result<ToolScript, String> {
    parse_tool_script(value).ok_or_else(|| "expected F=JSON with a JSON object".to_owned())
}

fn auth_code(value: &str) -> Result<(String, String), String> {
    match value.trim().split_once('=') {
        Some((code, refresh)) if !code.is_empty() && !refresh.is_empty() => {
            Ok((code.to_owned(), refresh.to_owned()))
        }
        _ => Err("expected CODE=REFRESH_TOKEN".to_owned()),
    }
}

impl FakeArgs {
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

    /// Binds `bind` (port 0: any free one) and installs the scripted codes, keys and tool calls.
    pub async fn start(&self, bind: SocketAddr) -> io::Result<FakeGoogle> {
        let workers = std::thread::available_parallelism().map_or(1, usize::from);
        let fake = FakeGoogle::start_with(FakeGoogleOptions {
            bind,
            workers,
            record: !self.no_record,
            default_reply: Some(self.reply()),
            control: self.control,
            strict_tokens: !self.accept_unissued_tokens,
        })
        .await?;
        for (code, refresh_token) in &self.auth_codes {
            fake.set_auth_code(code, refresh_token);
        }
        for script in &self.tool_calls {
            fake.add_tool_script(script.clone());
        }
        for key in self
            .api_keys
            .iter()
            .map(|k| k.trim())
            .filter(|k| !k.is_empty())
        {
            fake.add_api_key(key);
        }
        Ok(fake)
    }
}

/// Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
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
