//! Many streams open at once: each is opened, read until its first event arrived, then kept open
//! while the memory of the measured process is sampled.

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{json, Value};

use crate::args::{Args, BenchError};
use crate::proc_status;
use crate::request::{client, Target};

#[derive(Default)]
struct Counts {
    open: Cell<usize>,
    failed: Cell<usize>,
    ended: Cell<usize>,
}

async fn hold_one(client: awc::Client, target: Rc<Target>, counts: Rc<Counts>) {
    let mut response = match target.send(&client).await {
        Ok(response) if response.status().is_success() => response,
        _ => {
            counts.failed.set(counts.failed.get() + 1);
            return;
        }
    };
    let mut counted = false;
    while let Some(read) = response.next().await {
        if read.is_err() {
            break;
        }
        if !counted {
            counted = true;
            counts.open.set(counts.open.get() + 1);
        }
    }
    if counted {
        counts.ended.set(counts.ended.get() + 1);
    } else {
        counts.failed.set(counts.failed.get() + 1);
    }
}

pub async fn run(args: &Args) -> Result<Value, BenchError> {
    let target = Rc::new(Target::from_args(args)?);
    let count: usize = args.number("count", 1000)?;
    let pid: u32 = args.number("pid", 0)?;
    let open_timeout = Duration::from_secs_f64(args.number("open-timeout", 30.0)?);
    let settle = Duration::from_millis(args.number("settle-ms", 500)?);
    let before = proc_status::read(pid)?;
    let client = client();
    let counts = Rc::new(Counts::default());
    let started = Instant::now();
    let tasks: Vec<_> = (0..count)
        .map(|_| {
            actix_rt::spawn(hold_one(
                client.clone(),
                Rc::clone(&target),
                Rc::clone(&counts),
            ))
        })
        .collect();
    while counts.open.get() + counts.failed.get() < count && started.elapsed() < open_timeout {
        actix_rt::time::sleep(Duration::from_millis(20)).await;
    }
    let open_after = started.elapsed();
    actix_rt::time::sleep(settle).await;
    let during = proc_status::read(pid)?;
    let still_open = counts.open.get() - counts.ended.get();
    for task in &tasks {
        task.abort();
    }
    Ok(json!({
        "requested": count,
        "opened": counts.open.get(),
        "failed": counts.failed.get(),
        "open_when_sampled": still_open,
        "seconds_to_open": open_after.as_secs_f64(),
        "rss_before_kb": before.rss_kb,
        "rss_kb": during.rss_kb,
        "hwm_kb": during.hwm_kb,
    }))
}
