//! Streams one after another, each read event by event: when the first stamped event arrives (time to
//! first token), when the body ends, how long each event took from the fake's send to this client,
//! and whether several events ever arrived in one read (a relay that batches).

use std::time::Instant;

use futures_util::StreamExt;
use serde_json::{json, Value};

use crate::args::{Args, BenchError};
use crate::latency::summarise;
use crate::request::{client, Target};
use crate::stamps::{wall_ns, EventSplitter};

#[derive(Default)]
struct StreamFacts {
    ttft_ns: Option<u64>,
    total_ns: u64,
    gaps_ns: Vec<u64>,
    stamped_events: usize,
    /// Reads that completed more than one stamped event.
    shared_reads: usize,
    /// Events carrying more than one stamp (chunks merged into one event).
    merged_events: usize,
    /// Events that arrived right behind the previous one although the fake sent them well apart:
    /// something on the way held the earlier one back.
    held_back: usize,
}

/// Events sent at least this far apart…
const APART_NS: u128 = 500_000;
/// …but arriving closer than this were delivered together.
const TOGETHER_NS: u128 = 100_000;

fn ns(value: u128) -> u64 {
    u64::try_from(value).unwrap_or(u64::MAX)
}

async fn one(client: &awc::Client, target: &Target) -> Result<StreamFacts, BenchError> {
    let sent = Instant::now();
    let mut response = target
        .send(client)
        .await
        .map_err(|e| BenchError::Http(e.to_string()))?;
    if !response.status().is_success() {
        let body = response.body().await.unwrap_or_default();
        return Err(BenchError::Http(format!(
            "HTTP {}: {}",
            response.status(),
            String::from_utf8_lossy(&body)
        )));
    }
    let mut facts = StreamFacts::default();
    let mut splitter = EventSplitter::default();
    let mut previous: Option<(u128, u128)> = None;
    while let Some(read) = response.next().await {
        let read = read.map_err(|e| BenchError::Http(e.to_string()))?;
        let arrived = wall_ns();
        let events = splitter.push(&read);
        let mut stamped_here = 0;
        for stamps in events.iter().filter(|s| !s.is_empty()) {
            stamped_here += 1;
            if stamps.len() > 1 {
                facts.merged_events += 1;
            }
            for stamp in stamps {
                facts.gaps_ns.push(ns(arrived.saturating_sub(*stamp)));
                if let Some((sent_before, arrived_before)) = previous {
                    if stamp.saturating_sub(sent_before) >= APART_NS
                        && arrived.saturating_sub(arrived_before) < TOGETHER_NS
                    {
                        facts.held_back += 1;
                    }
                }
                previous = Some((*stamp, arrived));
            }
        }
        if stamped_here > 0 && facts.ttft_ns.is_none() {
            facts.ttft_ns = Some(ns(sent.elapsed().as_nanos()));
        }
        if stamped_here > 1 {
            facts.shared_reads += 1;
        }
        facts.stamped_events += stamped_here;
    }
    facts.total_ns = ns(sent.elapsed().as_nanos());
    Ok(facts)
}

/// Everything measured over several streams of one target.
struct Totals {
    expect: usize,
    streams: usize,
    ttft: Vec<u64>,
    total: Vec<u64>,
    gaps: Vec<u64>,
    shared_reads: usize,
    merged_events: usize,
    held_back: usize,
    min_events: usize,
    max_events: usize,
}

impl Totals {
    fn new(expect: usize) -> Self {
        Self {
            expect,
            streams: 0,
            ttft: Vec::new(),
            total: Vec::new(),
            gaps: Vec::new(),
            shared_reads: 0,
            merged_events: 0,
            held_back: 0,
            min_events: usize::MAX,
            max_events: 0,
        }
    }

    fn add(&mut self, facts: StreamFacts) -> Result<(), BenchError> {
        let first = facts.ttft_ns.ok_or_else(|| {
            BenchError::Http(
                "a stream carried no stamped event: is the fake run with --stamp?".into(),
            )
        })?;
        self.streams += 1;
        self.ttft.push(first);
        self.total.push(facts.total_ns);
        self.gaps.extend(facts.gaps_ns);
        self.shared_reads += facts.shared_reads;
        self.merged_events += facts.merged_events;
        self.held_back += facts.held_back;
        self.min_events = self.min_events.min(facts.stamped_events);
        self.max_events = self.max_events.max(facts.stamped_events);
        Ok(())
    }

    fn report(self) -> Value {
        json!({
            "streams": self.streams,
            "expected_events": self.expect,
            "min_events": self.min_events,
            "max_events": self.max_events,
            "shared_reads": self.shared_reads,
            "merged_events": self.merged_events,
            "held_back": self.held_back,
            "ttft": summarise(self.ttft),
            "total": summarise(self.total),
            "gap": summarise(self.gaps),
        })
    }
}

pub async fn run(args: &Args) -> Result<Value, BenchError> {
    let target = Target::from_args(args)?;
    let count: usize = args.number("count", 20)?;
    let warmup: usize = args.number("warmup", 3)?;
    let client = client();
    for _ in 0..warmup {
        one(&client, &target).await?;
    }
    let mut totals = Totals::new(args.number("expect-chunks", 0)?);
    for _ in 0..count.max(1) {
        totals.add(one(&client, &target).await?)?;
    }
    Ok(totals.report())
}

/// `--gateway-*` and `--direct-*` targets, streams alternating between them.
pub async fn compare(args: &Args) -> Result<Value, BenchError> {
    let targets = [
        ("gateway", Target::named(args, "gateway-")?),
        ("direct", Target::named(args, "direct-")?),
    ];
    let count: usize = args.number("count", 20)?;
    let warmup: usize = args.number("warmup", 3)?;
    let expect: usize = args.number("expect-chunks", 0)?;
    let client = client();
    for (_, target) in &targets {
        for _ in 0..warmup {
            one(&client, target).await?;
        }
    }
    let mut totals = [Totals::new(expect), Totals::new(expect)];
    for _ in 0..count.max(1) {
        for ((_, target), totals) in targets.iter().zip(totals.iter_mut()) {
            totals.add(one(&client, target).await?)?;
        }
    }
    let [gateway, direct] = totals;
    let results = json!({"gateway": gateway.report(), "direct": direct.report()});
    crate::write_parts(args, &results, &targets.map(|(name, _)| name))?;
    Ok(results)
}
