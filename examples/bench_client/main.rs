//! Load generator and probes for `scripts/bench.sh`: the same client measures the gateway and the fake
//! Google directly, so the two figures differ only by the path under test.
//!
//! Subcommands (`--help` lists them; each prints one JSON object and, with `--out FILE`, writes it
//! there too):
//!   envelope --chat FILE --project P          the Code Assist envelope the gateway would send for
//!                                             this OpenAI chat body (for the direct figures)
//!   make-keys --url BASE --password P --count N [--quota Q] --keys-out FILE
//!                                             N `sk-` keys created through the panel API, one a line
//!   load     --url U --body FILE [--header 'K: V']... --concurrency N --seconds S [--warmup S]
//!                                             closed-loop requests: requests/s and latency percentiles
//!   compare-load   --gateway-url U --gateway-body F [--gateway-header H].. and the same with
//!                  --direct-*, --concurrency N --seconds S [--rounds R] --out-gateway F --out-direct F
//!                                             both targets in alternating rounds (same figures as load);
//!                                             `--{gateway,direct}-keys FILE` sends those keys in turn;
//!                                             `--targets a,b,c` names the targets instead (`--a-url`,
//!                                             `--out-a`, …), all in the same alternating rounds
//!   compare-stream the same targets, --count N --expect-chunks K, streams alternating
//!   stream   --url U --body FILE [--header ..] --count N --expect-chunks K
//!                                             N streams one after another; every event's text carries
//!                                             the fake's send stamp (`--stamp`): time to first token,
//!                                             total time, send→receive gap, events sharing one read
//!   hold     --url U --body FILE [--header ..] --count N --pid P [--open-timeout S] [--settle-ms M]
//!                                             N concurrent streams held open; RSS and peak RSS of P
//!   rss      --pid P                          current and peak RSS of P
//!   report   --results DIR --markdown FILE [--notes FILE]
//!                                             the table with PASS/MISS per goal, printed and written,
//!                                             followed by the notes file when given

mod args;
mod hold;
mod latency;
mod load;
mod proc_status;
mod report;
mod request;
mod stamps;
mod stream;

use std::process::ExitCode;

use args::{Args, BenchError};

async fn run(args: Args) -> Result<serde_json::Value, BenchError> {
    match args.command.as_str() {
        "envelope" => request::envelope(&args),
        "make-keys" => request::make_keys(&args).await,
        "load" => load::run(&args).await,
        "compare-load" => load::compare(&args).await,
        "compare-stream" => stream::compare(&args).await,
        "stream" => stream::run(&args).await,
        "hold" => hold::run(&args).await,
        "rss" => proc_status::run(&args),
        "report" => report::run(&args),
        other => Err(BenchError::Args(format!("unknown subcommand {other:?}"))),
    }
}

/// Writes each named part of `results` to the file given as `--out-<name>`, when given.
fn write_parts(args: &Args, results: &serde_json::Value, names: &[&str]) -> Result<(), BenchError> {
    for name in names {
        let Some(path) = args.optional(&format!("out-{name}")) else {
            continue;
        };
        let part = results.get(*name).cloned().unwrap_or_default();
        std::fs::write(path, format!("{part}\n")).map_err(|source| BenchError::File {
            path: path.to_owned(),
            source,
        })?;
    }
    Ok(())
}

#[actix_rt::main]
async fn main() -> ExitCode {
    let args = match Args::from_env() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("bench_client: {e}");
            return ExitCode::from(2);
        }
    };
    let out = args.optional("out").map(str::to_owned);
    match run(args).await {
        Ok(value) => {
            let text = value.to_string();
            println!("{text}");
            if let Some(path) = out {
                if let Err(e) = std::fs::write(&path, format!("{text}\n")) {
                    eprintln!("bench_client: cannot write {path}: {e}");
                    return ExitCode::FAILURE;
                }
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bench_client: {e}");
            ExitCode::FAILURE
        }
    }
}
