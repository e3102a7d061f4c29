//! Closed-loop load: `concurrency` tasks each send the next request as soon as the last one is read
//! whole. Requests that complete inside the measuring window (after the warm-up) are counted.
//!
//! `compare` measures several targets in alternating rounds, so that a change in how much of the shared
//! machine the benchmark gets (other tenants, frequency) falls on all alike.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::args::{Args, BenchError};
use crate::latency::summarise;
use crate::request::{client, Target};

/// Largest answer body read; the benchmark answers are a few kilobytes.
const MAX_BODY: usize = 16 * 1024 * 1024;

#[derive(Default)]
struct Tally {
    latencies_ns: Vec<u64>,
    errors: u64,
    first_error: Option<String>,
    seconds: f64,
}

impl Tally {
    fn absorb(&mut self, other: Tally) {
        self.latencies_ns.extend(other.latencies_ns);
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        self.seconds += other.seconds;
    }

    fn report(self, concurrency: usize) -> Result<Value, BenchError> {
        if self.latencies_ns.is_empty() {
            return Err(BenchError::Http(format!(
                "no request succeeded ({} errors; first: {})",
                self.errors,
                self.first_error.unwrap_or_default()
            )));
        }
        let requests = self.latencies_ns.len();
        Ok(json!({
            "concurrency": concurrency,
            "seconds": self.seconds,
            "requests": requests,
            "errors": self.errors,
            "first_error": self.first_error,
            "rps": requests as f64 / self.seconds,
            "latency": summarise(self.latencies_ns),
        }))
    }
}

async fn one(client: &awc::Client, target: &Target) -> Result<(), String> {
    let mut response = target.send(client).await.map_err(|e| e.to_string())?;
    let status = response.status();
    let body = response
        .body()
        .limit(MAX_BODY)
        .await
        .map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!(
            "HTTP {status}: {}",
            String::from_utf8_lossy(body.get(..300).unwrap_or(&body))
        ));
    }
    Ok(())
}

async fn measure(
    client: &awc::Client,
    target: &Rc<Target>,
    concurrency: usize,
    warmup: Duration,
    seconds: Duration,
) -> Result<Tally, BenchError> {
    let measure_from = Instant::now() + warmup;
    let end = measure_from + seconds;
    let tally = Rc::new(RefCell::new(Tally::default()));
    let tasks: Vec<_> = (0..concurrency.max(1))
        .map(|_| {
            let client = client.clone();
            let target = Rc::clone(target);
            let tally = Rc::clone(&tally);
            actix_rt::spawn(async move {
                loop {
                    let sent = Instant::now();
                    if sent >= end {
                        break;
                    }
                    let result = one(&client, &target).await;
                    let done = Instant::now();
                    if done < measure_from || done > end {
                        continue;
                    }
                    let mut tally = tally.borrow_mut();
                    match result {
                        Ok(()) => {
                            let ns = u64::try_from((done - sent).as_nanos()).unwrap_or(u64::MAX);
                            tally.latencies_ns.push(ns);
                        }
                        Err(e) => {
                            tally.errors += 1;
                            tally.first_error.get_or_insert(e);
                        }
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await
            .map_err(|e| BenchError::Http(format!("load task failed: {e}")))?;
    }
    let mut tally = std::mem::take(&mut *tally.borrow_mut());
    tally.seconds = seconds.as_secs_f64();
    Ok(tally)
}

pub async fn run(args: &Args) -> Result<Value, BenchError> {
    let target = Rc::new(Target::from_args(args)?);
    let concurrency: usize = args.number("concurrency", 1)?;
    let seconds = Duration::from_secs_f64(args.number("seconds", 5.0)?);
    let warmup = Duration::from_secs_f64(args.number("warmup", 1.0)?);
    measure(&client(), &target, concurrency, warmup, seconds)
        .await?
        .report(concurrency)
}

/// The targets named by `--targets` (default `gateway,direct`), each described by `--<name>-url`,
/// `--<name>-body` and `--<name>-header`, measured in `--rounds` rounds of `--seconds / --rounds`
/// each, one after another within a round.
pub async fn compare(args: &Args) -> Result<Value, BenchError> {
    let names: Vec<String> = args
        .optional("targets")
        .unwrap_or("gateway,direct")
        .split(',')
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .collect();
    let targets = names
        .iter()
        .map(|name| Ok(Rc::new(Target::named(args, &format!("{name}-"))?)))
        .collect::<Result<Vec<_>, BenchError>>()?;
    let concurrency: usize = args.number("concurrency", 1)?;
    let rounds: u32 = args.number::<u32>("rounds", 4)?.max(1);
    let slice = Duration::from_secs_f64(args.number("seconds", 10.0)?) / rounds;
    let warmup = Duration::from_secs_f64(args.number("warmup", 1.0)?);
    let client = client();
    let mut tallies: Vec<Tally> = targets.iter().map(|_| Tally::default()).collect();
    for round in 0..rounds {
        let warm = if round == 0 { warmup } else { Duration::ZERO };
        for (target, tally) in targets.iter().zip(tallies.iter_mut()) {
            tally.absorb(measure(&client, target, concurrency, warm, slice).await?);
        }
    }
    let mut results = serde_json::Map::new();
    for (name, tally) in names.iter().zip(tallies) {
        results.insert(name.clone(), tally.report(concurrency)?);
    }
    let results = Value::Object(results);
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    crate::write_parts(args, &results, &names)?;
    Ok(results)
}
