//! Closed-loop load: `concurrency` tasks each send the next request as soon as the last one is read
//! whole. Requests that complete inside the measuring window (after the warm-up) are counted.

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

pub async fn run(args: &Args) -> Result<Value, BenchError> {
    let target = Rc::new(Target::from_args(args)?);
    let concurrency: usize = args.number("concurrency", 1)?;
    let seconds: f64 = args.number("seconds", 5.0)?;
    let warmup: f64 = args.number("warmup", 1.0)?;
    let client = client();
    let start = Instant::now();
    let measure_from = start + Duration::from_secs_f64(warmup);
    let end = measure_from + Duration::from_secs_f64(seconds);
    let tally = Rc::new(RefCell::new(Tally::default()));

    let tasks: Vec<_> = (0..concurrency.max(1))
        .map(|_| {
            let client = client.clone();
            let target = Rc::clone(&target);
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
    let tally = std::mem::take(&mut *tally.borrow_mut());
    if tally.latencies_ns.is_empty() {
        return Err(BenchError::Http(format!(
            "no request succeeded ({} errors; first: {})",
            tally.errors,
            tally.first_error.unwrap_or_default()
        )));
    }
    let requests = tally.latencies_ns.len();
    let latency = summarise(tally.latencies_ns);
    Ok(json!({
        "concurrency": concurrency,
        "seconds": seconds,
        "requests": requests,
        "errors": tally.errors,
        "first_error": tally.first_error,
        "rps": requests as f64 / seconds,
        "latency": latency,
    }))
}
