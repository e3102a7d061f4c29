//! Logging at the shipped defaults, with the real binary: one access line per request at `info`, a log
//! file bounded by `LOG_FILE_MAX_MB`, a download that streams a big log without holding it, and a full
//! disk that stops file logging and nothing else.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::future::join_all;
use futures_util::StreamExt;
use tempfile::TempDir;

use crate::cluster::until;
use crate::fake_google::{FakeGoogle, FakeGoogleOptions};
use crate::harness::{credential, PASSWORD};
use crate::process::{gateway_env, Gateway};

const MIB: u64 = 1024 * 1024;

/// A gateway with one ready credential (`p1.json`), logging at `info` to `<dir>/log.txt` unless `env`
/// says otherwise.
async fn gateway(google: &FakeGoogle, dir: &TempDir, env: &[(&str, String)]) -> (Gateway, PathBuf) {
    std::fs::write(
        dir.path().join("p1.json"),
        serde_json::to_vec(&credential("rt-1", Some("p1"), None)).unwrap(),
    )
    .unwrap();
    let log = dir.path().join("log.txt");
    let mut all = vec![
        ("CREDENTIALS_DIR", dir.path().display().to_string()),
        ("LOG_LEVEL", "info".to_string()),
        ("LOG_FILE", log.display().to_string()),
    ];
    all.extend(env.iter().cloned());
    let env: HashMap<String, String> = gateway_env(&google.url(), &all);
    (Gateway::start(&env).await, log)
}

fn quiet_fake_options() -> FakeGoogleOptions {
    // Twenty thousand requests need not be kept in the test's memory.
    FakeGoogleOptions {
        record: false,
        ..FakeGoogleOptions::default()
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Resident memory of `pid` in KiB.
fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kb| kb.parse().ok())
        .unwrap()
}

#[actix_rt::test]
async fn one_access_line_per_request_at_info_with_the_key_id() {
    let google = FakeGoogle::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (gw, log) = gateway(&google, &dir, &[]).await;
    let key = gw.create_key(1000).await.unwrap();
    assert_eq!(gw.chat(&key, "gemini-2.5-pro").await, 200);
    assert_eq!(gw.chat(PASSWORD, "gemini-2.5-flash").await, 200);
    until("both access lines written", || async {
        read(&log).matches("POST /v1/chat/completions").count() == 2
    })
    .await;
    let text = read(&log);
    let access: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("POST /v1/chat/completions"))
        .collect();
    let keyed = access[0];
    let (stamp, rest) = keyed.split_at(21);
    assert!(stamp.starts_with("[20") && stamp.ends_with(']'), "{keyed}");
    let fields: Vec<&str> = rest.split(' ').collect();
    assert_eq!(fields[1], "[INFO]", "{keyed}");
    assert_eq!(fields[2].len(), 32, "the request id: {keyed}");
    assert_eq!(
        fields[3..].join(" ").split(" ms=").next(),
        Some("POST /v1/chat/completions model=gemini-2.5-pro status=200"),
        "{keyed}"
    );
    // A key is named by its id (derived from its hash), never by the key.
    let id = gcli2api::key_id::id_of_key(&key);
    assert!(
        keyed.ends_with(&format!("credential=p1.json key={id}")),
        "{keyed}"
    );
    assert!(fields[7]
        .strip_prefix("ms=")
        .unwrap()
        .parse::<u64>()
        .is_ok());
    assert!(
        access[1].contains("model=gemini-2.5-flash status=200")
            && access[1].ends_with("credential=p1.json key=password"),
        "{}",
        access[1]
    );
    assert!(!text.contains(&key), "the key never reaches the log");
    // The decision trace and the per-attempt line are `debug` now.
    assert!(!text.contains("trace {"), "{text}");
    assert!(!text.contains("answered by credential"), "{text}");
}

#[actix_rt::test]
async fn the_log_file_stays_under_log_file_max_mb_with_one_rotated_file() {
    let google = FakeGoogle::start_with(quiet_fake_options()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (gw, log) = gateway(&google, &dir, &[("LOG_FILE_MAX_MB", "1".into())]).await;
    let lanes = join_all((0..32).map(|_| async {
        let mut failed = 0;
        for _ in 0..625 {
            if gw.chat(PASSWORD, "gemini-2.5-flash").await != 200 {
                failed += 1;
            }
        }
        failed
    }))
    .await;
    assert_eq!(lanes.iter().sum::<u32>(), 0, "every request answered");
    // A last request the test can recognise: once its line is in the file, every line before is.
    let last = awc::Client::new()
        .post(format!("{}/v1/chat/completions", gw.base))
        .bearer_auth(PASSWORD)
        .insert_header(("x-request-id", "the-last-request"))
        .send_json(&serde_json::json!({
            "model": "gemini-2.5-flash",
            "messages": [{"role": "user", "content": "hi"}]
        }))
        .await
        .unwrap();
    assert_eq!(last.status().as_u16(), 200);
    until("the last request logged", || async {
        read(&log).contains("] [INFO] the-last-request POST")
    })
    .await;
    let rotated = dir.path().join("log.txt.1");
    let (size, rotated_size) = (
        std::fs::metadata(&log).unwrap().len(),
        std::fs::metadata(&rotated).unwrap().len(),
    );
    assert!(size <= MIB, "log.txt is {size} bytes");
    assert!(rotated_size <= MIB, "log.txt.1 is {rotated_size} bytes");
    // Rotated when the next line would not fit: the rotated file is full to within a line.
    assert!(
        rotated_size > MIB - 1024,
        "log.txt.1 is {rotated_size} bytes"
    );
    let logs: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("log.txt"))
        .collect();
    assert_eq!(logs.len(), 2, "one rotated file kept: {logs:?}");
    for path in [&log, &rotated] {
        let text = read(path);
        assert!(text.ends_with('\n'), "whole lines only");
        assert!(
            text.lines().all(|l| l.starts_with("[20")),
            "whole lines only"
        );
    }
}

#[actix_rt::test]
async fn downloading_a_100_mb_log_keeps_the_gateway_within_20_mb() {
    let google = FakeGoogle::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (gw, log) = gateway(&google, &dir, &[]).await;
    assert_eq!(gw.chat(PASSWORD, "gemini-2.5-flash").await, 200);
    // A gateway that has logged for a long while: 100 MB of lines in its file (it appends after them).
    {
        let mut file = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
        let mut writer = std::io::BufWriter::with_capacity(1 << 20, &mut file);
        let line = format!("[2025-01-01 00:00:00] [INFO] {}\n", "x".repeat(70));
        for _ in 0..(100_000_000 / line.len() + 1) {
            writer.write_all(line.as_bytes()).unwrap();
        }
    }
    let size = std::fs::metadata(&log).unwrap().len();
    assert!(size >= 100_000_000);
    actix_rt::time::sleep(Duration::from_millis(300)).await;
    let before = rss_kb(gw.pid());
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(300))
        .finish();
    let mut answer = client
        .get(format!("{}/auth/logs/download", gw.base))
        .bearer_auth(PASSWORD)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    let (mut received, mut peak, mut next_sample) = (0u64, before, 0u64);
    while let Some(chunk) = answer.next().await {
        received += chunk.unwrap().len() as u64;
        if received >= next_sample {
            peak = peak.max(rss_kb(gw.pid()));
            next_sample += MIB;
        }
    }
    peak = peak.max(rss_kb(gw.pid()));
    eprintln!("download of {received} bytes: gateway RSS {before} KiB before, {peak} KiB at most");
    assert!(
        received >= size,
        "the whole log: {received} of {size} bytes"
    );
    assert!(
        peak <= before + 20 * 1024,
        "RSS went from {before} KiB to {peak} KiB during the download"
    );
}

#[actix_rt::test]
async fn a_full_disk_stops_file_logging_with_one_warning_and_the_gateway_serves_on() {
    let google = FakeGoogle::start().await;
    let dir = tempfile::tempdir().unwrap();
    let modes = || std::fs::metadata("/dev/full").unwrap().permissions();
    let before = modes();
    // Every write to /dev/full fails with ENOSPC, as on a full disk.
    let (gw, _) = gateway(&google, &dir, &[("LOG_FILE", "/dev/full".into())]).await;
    for _ in 0..20 {
        assert_eq!(gw.chat(PASSWORD, "gemini-2.5-flash").await, 200);
    }
    // With the file stopped, the download is the ring buffer of recent lines.
    let mut log = String::new();
    for _ in 0..100 {
        log = gw
            .send("GET", "/auth/logs/download", PASSWORD, None)
            .await
            .text();
        if log.matches("POST /v1/chat/completions").count() == 20 {
            break;
        }
        actix_rt::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        log.matches("POST /v1/chat/completions").count(),
        20,
        "{log}"
    );
    assert_eq!(
        log.matches("/dev/full: log file writing stopped").count(),
        1,
        "{log}"
    );
    assert_eq!(modes(), before, "a device is never chmod-ed");
    assert!(!Path::new("/dev/full.1").exists(), "nor rotated");
}
