//! The command line through clap: `subcommand --key value …`; keys may repeat (`--header`).

use std::collections::HashMap;
use std::str::FromStr;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

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

/// The client's command line (clap): one subcommand, its options by name. Options a subcommand
/// reads under a computed name (`--gateway-url`, `--out-direct`, …: see `compare-load`) come after
/// the declared ones as `--name value` pairs.
#[derive(Debug, Parser)]
#[command(
    name = "bench_client",
    version,
    about = "Load generator and probes for scripts/bench.sh"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the answers go: `--out FILE` writes the printed JSON object there too.
#[derive(Debug, clap::Args)]
#[group(skip)]
struct Out {
    /// Also write the JSON result to this file.
    #[arg(long, value_name = "FILE")]
    out: Option<String>,
}

/// One request target.
#[derive(Debug, clap::Args)]
#[group(skip)]
struct TargetArgs {
    /// The URL posted to.
    #[arg(long, value_name = "URL")]
    url: String,
    /// The request body.
    #[arg(long, value_name = "FILE")]
    body: String,
    /// `K: V`, repeatable.
    #[arg(long, value_name = "K: V")]
    header: Vec<String>,
    /// `sk-` keys, one a line, sent in turn as the bearer token.
    #[arg(long, value_name = "FILE")]
    keys: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The Code Assist envelope the gateway would send for an OpenAI chat body (direct figures).
    Envelope {
        #[arg(long, value_name = "FILE")]
        chat: String,
        #[arg(long, value_name = "P")]
        project: String,
        #[command(flatten)]
        out: Out,
    },
    /// N `sk-` keys created through the panel API, one a line in --keys-out.
    MakeKeys {
        #[arg(long, value_name = "BASE")]
        url: String,
        #[arg(long)]
        password: String,
        #[arg(long, value_name = "N")]
        count: Option<usize>,
        #[arg(long, value_name = "Q")]
        quota: Option<u64>,
        #[arg(long, value_name = "FILE")]
        keys_out: String,
        #[command(flatten)]
        out: Out,
    },
    /// Closed-loop requests: requests/s and latency percentiles.
    Load {
        #[command(flatten)]
        target: TargetArgs,
        #[arg(long, value_name = "N")]
        concurrency: Option<usize>,
        #[arg(long, value_name = "S")]
        seconds: Option<f64>,
        #[arg(long, value_name = "S")]
        warmup: Option<f64>,
        #[command(flatten)]
        out: Out,
    },
    /// Load on several targets in alternating rounds. Each target (--targets, default
    /// gateway,direct) takes `--<t>-url U --<t>-body F [--<t>-header H].. [--<t>-keys F]` and
    /// `--out-<t> F`, given after the options below.
    CompareLoad {
        #[arg(long, value_name = "A,B,…")]
        targets: Option<String>,
        #[arg(long, value_name = "N")]
        concurrency: Option<usize>,
        #[arg(long, value_name = "S")]
        seconds: Option<f64>,
        #[arg(long, value_name = "R")]
        rounds: Option<u32>,
        #[arg(long, value_name = "S")]
        warmup: Option<f64>,
        #[command(flatten)]
        out: Out,
        /// The targets' options.
        #[arg(
            trailing_var_arg = true,
            allow_hyphen_values = true,
            value_name = "TARGET OPTIONS"
        )]
        named: Vec<String>,
    },
    /// Streams alternating between --gateway-* and --direct-* targets (options as compare-load).
    CompareStream {
        #[arg(long, value_name = "N")]
        count: Option<usize>,
        #[arg(long, value_name = "N")]
        warmup: Option<usize>,
        #[arg(long, value_name = "K")]
        expect_chunks: Option<usize>,
        #[command(flatten)]
        out: Out,
        /// The targets' options.
        #[arg(
            trailing_var_arg = true,
            allow_hyphen_values = true,
            value_name = "TARGET OPTIONS"
        )]
        named: Vec<String>,
    },
    /// N streams one after another, each event stamped by the fake (`--stamp`): time to first
    /// token, total time, send→receive gap, events sharing one read.
    Stream {
        #[command(flatten)]
        target: TargetArgs,
        #[arg(long, value_name = "N")]
        count: Option<usize>,
        #[arg(long, value_name = "N")]
        warmup: Option<usize>,
        #[arg(long, value_name = "K")]
        expect_chunks: Option<usize>,
        #[command(flatten)]
        out: Out,
    },
    /// N concurrent streams held open; RSS and peak RSS of --pid.
    Hold {
        #[command(flatten)]
        target: TargetArgs,
        #[arg(long, value_name = "N")]
        count: Option<usize>,
        #[arg(long, value_name = "P")]
        pid: Option<u32>,
        #[arg(long, value_name = "S")]
        open_timeout: Option<f64>,
        #[arg(long, value_name = "M")]
        settle_ms: Option<u64>,
        #[command(flatten)]
        out: Out,
    },
    /// Current and peak RSS of --pid.
    Rss {
        #[arg(long, value_name = "P")]
        pid: Option<u32>,
        #[command(flatten)]
        out: Out,
    },
    /// The table with PASS/MISS per goal, printed and written, then the notes file when given.
    Report {
        #[arg(long, value_name = "DIR")]
        results: String,
        #[arg(long, value_name = "FILE")]
        markdown: Option<String>,
        #[arg(long, value_name = "FILE")]
        notes: Option<String>,
        #[command(flatten)]
        out: Out,
    },
}

/// The parsed command line: the subcommand and every option by its long name.
pub struct Args {
    pub command: String,
    values: HashMap<String, Vec<String>>,
}

impl Args {
    /// Parses the process's arguments; `--help` and `--version` print and exit, as does a usage
    /// error (code 2).
    pub fn from_env() -> Result<Self, BenchError> {
        let matches = Cli::command().get_matches();
        // The typed parse checks every declared option's value; the map below serves the lookups.
        Cli::from_arg_matches(&matches).map_err(|e| BenchError::Args(e.to_string()))?;
        let (command, sub) = matches
            .subcommand()
            .ok_or_else(|| BenchError::Args("missing subcommand".into()))?;
        let mut values: HashMap<String, Vec<String>> = HashMap::new();
        let mut named = Vec::new();
        for id in sub.ids() {
            let Ok(Some(raw)) = sub.try_get_raw(id.as_str()) else {
                continue;
            };
            let raw = raw.map(|v| v.to_string_lossy().into_owned());
            if id.as_str() == "named" {
                named.extend(raw);
            } else {
                values
                    .entry(id.as_str().replace('_', "-"))
                    .or_default()
                    .extend(raw);
            }
        }
        let mut named = named.into_iter();
        while let Some(key) = named.next() {
            let Some(name) = key.strip_prefix("--") else {
                return Err(BenchError::Args(format!("expected --option, got {key:?}")));
            };
            let value = named
                .next()
                .ok_or_else(|| BenchError::Args(format!("{key} needs a value")))?;
            values.entry(name.to_owned()).or_default().push(value);
        }
        Ok(Self {
            command: command.to_owned(),
            values,
        })
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
