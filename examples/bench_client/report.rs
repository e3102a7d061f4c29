//! Reads the JSON results `scripts/bench.sh` collected and renders one markdown document: the
//! figures (gateway against direct), the goals with PASS/MISS, the machine and the setup.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::args::{Args, BenchError};

const MIB: f64 = 1024.0;
/// Share of chunks the gateway may hold back beyond the direct run before that counts as batching:
/// a descheduled process on the shared cores delays a chunk now and then.
const HELD_BACK_NOISE: f64 = 0.01;

struct Results {
    dir: PathBuf,
}

impl Results {
    fn get(&self, name: &str) -> Option<Value> {
        let text = std::fs::read_to_string(self.dir.join(format!("{name}.json"))).ok()?;
        serde_json::from_str(&text).ok()
    }

    fn number(&self, name: &str, pointer: &str) -> Option<f64> {
        self.get(name)?.pointer(pointer)?.as_f64()
    }

    /// `key: value` lines of a text file, in order.
    fn pairs(&self, name: &str) -> Vec<(String, String)> {
        std::fs::read_to_string(self.dir.join(name))
            .unwrap_or_default()
            .lines()
            .filter_map(|line| line.split_once(':'))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect()
    }
}

fn ms(us: Option<f64>) -> String {
    us.map_or("n/a".into(), |us| format!("{:.3} ms", us / 1000.0))
}

fn added_ms(gateway: Option<f64>, direct: Option<f64>) -> String {
    match (gateway, direct) {
        (Some(g), Some(d)) => format!("{:+.3} ms", (g - d) / 1000.0),
        _ => "n/a".into(),
    }
}

fn rate(value: Option<f64>) -> String {
    value.map_or("n/a".into(), |v| format!("{v:.0}"))
}

fn ratio(gateway: Option<f64>, direct: Option<f64>) -> Option<f64> {
    match (gateway, direct) {
        (Some(g), Some(d)) if d > 0.0 => Some(g / d),
        _ => None,
    }
}

fn mib(kb: Option<f64>) -> String {
    kb.map_or("n/a".into(), |kb| format!("{:.1} MiB", kb / MIB))
}

fn count(value: Option<f64>) -> String {
    value.map_or("n/a".into(), |v| format!("{v:.0}"))
}

struct Goal {
    name: &'static str,
    budget: &'static str,
    measured: String,
    pass: Option<bool>,
}

/// A goal on added latency: `added_us` (gateway minus direct) at most `limit_us`.
fn added_goal(
    name: &'static str,
    budget: &'static str,
    added_us: Option<f64>,
    limit_us: f64,
) -> Goal {
    Goal {
        name,
        budget,
        measured: added_us.map_or("n/a".into(), |us| format!("{:+.3} ms", us / 1000.0)),
        pass: added_us.map(|us| us <= limit_us),
    }
}

fn verdict(pass: Option<bool>) -> &'static str {
    match pass {
        Some(true) => "PASS",
        Some(false) => "MISS",
        None => "MISS (not measured)",
    }
}

fn figures(r: &Results, out: &mut String) {
    let _ = writeln!(
        out,
        "| Figure | Gateway | Direct to the fake | Gateway vs direct |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|");
    let mut row = |figure: &str, g: String, d: String, vs: String| {
        let _ = writeln!(out, "| {figure} | {g} | {d} | {vs} |");
    };
    for c in [1, 32] {
        let (g, d) = (
            format!("nonstream_c{c}_gateway"),
            format!("nonstream_c{c}_direct"),
        );
        // The same binary at the shipped logging defaults, measured in the same rounds.
        let defaults = format!("nonstream_c{c}_defaults");
        let d_rps = r.number(&d, "/rps");
        for (target, which) in [(&g, ""), (&defaults, ", logging defaults")] {
            let t_rps = r.number(target, "/rps");
            if t_rps.is_none() && !which.is_empty() {
                continue;
            }
            row(
                &format!("Non-stream chat, c={c}{which}: requests/s"),
                rate(t_rps),
                rate(d_rps),
                ratio(t_rps, d_rps).map_or("n/a".into(), |x| format!("{x:.2}×")),
            );
            for (label, p) in [("p50", "/latency/p50_us"), ("p99", "/latency/p99_us")] {
                let (tv, dv) = (r.number(target, p), r.number(&d, p));
                row(
                    &format!("Non-stream chat, c={c}{which}: latency {label}"),
                    ms(tv),
                    ms(dv),
                    added_ms(tv, dv),
                );
            }
        }
        let (g_rps, defaults_rps) = (r.number(&g, "/rps"), r.number(&defaults, "/rps"));
        if defaults_rps.is_some() {
            row(
                &format!("Non-stream chat, c={c}: requests/s at the defaults vs at warn"),
                rate(defaults_rps),
                rate(g_rps),
                ratio(defaults_rps, g_rps).map_or("n/a".into(), |x| format!("{x:.2}× warn")),
            );
        }
        let errors = r.number(&g, "/errors").unwrap_or(0.0)
            + r.number(&d, "/errors").unwrap_or(0.0)
            + r.number(&defaults, "/errors").unwrap_or(0.0);
        if errors > 0.0 {
            row(
                &format!("Non-stream chat, c={c}: errors (warn, defaults)"),
                format!(
                    "{}, {}",
                    count(r.number(&g, "/errors")),
                    count(r.number(&defaults, "/errors"))
                ),
                count(r.number(&d, "/errors")),
                String::new(),
            );
        }
    }
    let (g, d) = ("stream_gateway", "stream_direct");
    let chunks = count(r.number(g, "/expected_events"));
    for (label, p) in [
        ("time to first token p50", "/ttft/p50_us"),
        ("time to first token p99", "/ttft/p99_us"),
        ("total time p50", "/total/p50_us"),
        ("total time p99", "/total/p99_us"),
        ("chunk gap (fake send → client) p50", "/gap/p50_us"),
        ("chunk gap p99", "/gap/p99_us"),
        ("chunk gap max", "/gap/max_us"),
    ] {
        let (gv, dv) = (r.number(g, p), r.number(d, p));
        row(
            &format!("Stream of {chunks} chunks: {label}"),
            ms(gv),
            ms(dv),
            added_ms(gv, dv),
        );
    }
    let events = |name: &str| match (r.number(name, "/min_events"), r.number(name, "/max_events")) {
        (Some(lo), Some(hi)) if lo == hi => format!("{lo:.0}"),
        (Some(lo), Some(hi)) => format!("{lo:.0}–{hi:.0}"),
        _ => "n/a".into(),
    };
    row(
        &format!("Stream of {chunks} chunks: content events per stream"),
        events(g),
        events(d),
        String::new(),
    );
    row(
        "Stream: reads carrying more than one chunk",
        count(r.number(g, "/shared_reads")),
        count(r.number(d, "/shared_reads")),
        String::new(),
    );
    row(
        "Stream: chunks held back and delivered with the next",
        count(r.number(g, "/held_back")),
        count(r.number(d, "/held_back")),
        String::new(),
    );
    row(
        "Memory: idle RSS, 1 credential",
        mib(r.number("idle_1", "/rss_kb")),
        String::new(),
        String::new(),
    );
    row(
        "Memory: idle RSS, 10,000 credentials",
        mib(r.number("idle_10000", "/rss_kb")),
        String::new(),
        String::new(),
    );
    let opened = count(r.number("hold_1000", "/open_when_sampled"));
    row(
        &format!("Memory: peak RSS (VmHWM), 1,000 streams requested, {opened} open when sampled"),
        mib(r.number("hold_1000", "/hwm_kb")),
        String::new(),
        String::new(),
    );
}

fn goals(r: &Results) -> Vec<Goal> {
    let c32 = ratio(
        r.number("nonstream_c32_gateway", "/rps"),
        r.number("nonstream_c32_direct", "/rps"),
    );
    let added = |name: &str, p: &str| -> Option<f64> {
        Some(r.number(&format!("{name}_gateway"), p)? - r.number(&format!("{name}_direct"), p)?)
    };
    let c32_p99 = added("nonstream_c32", "/latency/p99_us");
    let c1_p50 = added("nonstream_c1", "/latency/p50_us");
    let c1_p99 = added("nonstream_c1", "/latency/p99_us");
    let defaults_c32 = ratio(
        r.number("nonstream_c32_defaults", "/rps"),
        r.number("nonstream_c32_gateway", "/rps"),
    );
    let added_at_defaults = |p: &str| -> Option<f64> {
        Some(r.number("nonstream_c1_defaults", p)? - r.number("nonstream_c1_direct", p)?)
    };
    let defaults_c1_p50 = added_at_defaults("/latency/p50_us");
    let defaults_c1_p99 = added_at_defaults("/latency/p99_us");
    let ttft = added("stream", "/ttft/p50_us");
    let expected = r.number("stream_gateway", "/expected_events");
    let min_events = r.number("stream_gateway", "/min_events");
    let shared = r.number("stream_gateway", "/shared_reads");
    let merged = r.number("stream_gateway", "/merged_events");
    // Chunks held back beyond what the direct run shows: the direct run measures how often the
    // shared cores alone delay a chunk past the next one.
    let held = match (
        r.number("stream_gateway", "/held_back"),
        r.number("stream_direct", "/held_back"),
    ) {
        (Some(g), Some(d)) => Some((g - d).max(0.0)),
        _ => None,
    };
    let streams = r.number("stream_gateway", "/streams");
    let batching = match (expected, min_events, shared, merged, held, streams) {
        (Some(e), Some(m), Some(s), Some(g), Some(h), Some(n)) => Some((e, m, s + g, h, e * n)),
        _ => None,
    };
    let idle_1 = r.number("idle_1", "/rss_kb");
    let idle_10k = r.number("idle_10000", "/rss_kb");
    let hold_hwm = r.number("hold_1000", "/hwm_kb");
    let hold_open = r.number("hold_1000", "/open_when_sampled");
    let within = |v: Option<f64>, limit: f64| v.map(|v| v <= limit);
    vec![
        Goal {
            name: "Throughput at c=32",
            budget: "≥ 0.5 × direct",
            measured: c32.map_or("n/a".into(), |x| format!("{x:.2} × direct")),
            pass: c32.map(|x| x >= 0.5),
        },
        added_goal("Added latency at c=32, p99", "≤ 1 ms", c32_p99, 1000.0),
        added_goal("Added latency at c=1, p50", "≤ 0.3 ms", c1_p50, 300.0),
        added_goal("Added latency at c=1, p99", "≤ 1 ms", c1_p99, 1000.0),
        Goal {
            name: "Throughput at c=32 at the logging defaults",
            budget: "≥ 0.9 × the same binary at warn",
            measured: defaults_c32.map_or("n/a".into(), |x| format!("{x:.2} × warn")),
            pass: defaults_c32.map(|x| x >= 0.9),
        },
        added_goal(
            "Added latency at c=1 at the logging defaults, p50",
            "≤ 0.3 ms",
            defaults_c1_p50,
            300.0,
        ),
        added_goal(
            "Added latency at c=1 at the logging defaults, p99",
            "≤ 1 ms",
            defaults_c1_p99,
            1000.0,
        ),
        added_goal("Added time to first token (p50)", "≤ 1 ms", ttft, 1000.0),
        Goal {
            name: "Stream chunks never batched",
            budget: "each chunk its own event; held back ≤ direct + 1 %",
            measured: batching.map_or("n/a".into(), |(e, m, together, held, total)| {
                format!(
                    "{m:.0} of {e:.0} chunks per stream at least; {together:.0} sent together; \
                     {held:.0} of {total:.0} more held back than direct"
                )
            }),
            pass: batching.map(|(e, m, together, held, total)| {
                m >= e && together == 0.0 && held <= total * HELD_BACK_NOISE
            }),
        },
        Goal {
            name: "Idle RSS, 1 credential",
            budget: "≤ 20 MiB",
            measured: mib(idle_1),
            pass: within(idle_1, 20.0 * MIB),
        },
        Goal {
            name: "Idle RSS, 10,000 credentials",
            budget: "≤ 60 MiB",
            measured: mib(idle_10k),
            pass: within(idle_10k, 60.0 * MIB),
        },
        Goal {
            name: "Peak RSS, 1,000 open streams",
            budget: "≤ 150 MiB",
            measured: format!("{} ({} open)", mib(hold_hwm), count(hold_open)),
            pass: match (hold_hwm, hold_open) {
                (Some(hwm), Some(open)) => Some(hwm <= 150.0 * MIB && open >= 1000.0),
                _ => None,
            },
        },
    ]
}

fn render(r: &Results) -> (String, usize) {
    let mut out = String::new();
    let _ = writeln!(out, "# Benchmark\n");
    let _ = writeln!(
        out,
        "Produced by `scripts/bench.sh`: the release gateway (file storage) in front of the fake Google \
         (`examples/fake_google_server.rs`), measured with `examples/bench_client`. \"Direct\" sends the \
         equivalent Code Assist envelope straight to the fake, so the difference is the gateway's cost. \
         \"Gateway\" is the gateway at `LOG_LEVEL=warn` without a log file; \"logging defaults\" is the same \
         binary as shipped (`LOG_LEVEL=info`, `LOG_FILE=log.txt`), measured in the same rounds. \
         Stream chunks are 1 ms apart at the fake; a chunk counts as *held back* when it reached the \
         client less than 0.1 ms after the previous one although the fake sent it at least 0.5 ms later. \
         Memory is in MiB (1 MiB = 1,048,576 bytes); the budgets are read in the same unit.\n"
    );
    let _ = writeln!(out, "## Results\n");
    figures(r, &mut out);
    let _ = writeln!(out, "\n## Goals\n");
    let _ = writeln!(out, "| Goal | Budget | Measured | Result |");
    let _ = writeln!(out, "|---|---|---|---|");
    let goals = goals(r);
    let mut missed = 0;
    for goal in &goals {
        if goal.pass != Some(true) {
            missed += 1;
        }
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            goal.name,
            goal.budget,
            goal.measured,
            verdict(goal.pass)
        );
    }
    let _ = writeln!(out, "\n## Machine\n");
    for (key, value) in r.pairs("machine.txt") {
        let _ = writeln!(out, "- {key}: {value}");
    }
    let _ = writeln!(out, "\n## Setup\n");
    for (key, value) in r.pairs("setup.txt") {
        let _ = writeln!(out, "- {key}: {value}");
    }
    (out, missed)
}

pub fn run(args: &Args) -> Result<Value, BenchError> {
    let results = Results {
        dir: PathBuf::from(args.required("results")?),
    };
    let (mut markdown, missed) = render(&results);
    if let Some(path) = args.optional("notes") {
        // Hand-written analysis kept beside the generated figures (it does not change per run).
        if let Ok(notes) = std::fs::read_to_string(path) {
            markdown.push('\n');
            markdown.push_str(&notes);
        }
    }
    eprintln!("{markdown}");
    if let Some(path) = args.optional("markdown") {
        std::fs::write(Path::new(path), &markdown).map_err(|source| BenchError::File {
            path: path.to_owned(),
            source,
        })?;
    }
    Ok(json!({"goals_missed": missed}))
}
