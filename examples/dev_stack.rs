//! One development stack: the fake Google (in this process) and the gateway binary in front of it,
//! each on a port the system picks while binding, so no other process can take it in between. Once
//! the gateway answers its readiness probe, prints one JSON line on stdout:
//!
//!   {"gateway":"http://127.0.0.1:P","google":"http://127.0.0.1:Q","pid":<gateway pid>,"dir":"<dir>",
//!    "ready_ms":<ms>}
//!
//! `ready_ms` is the time from starting the gateway process until the readiness probe first
//! answered 2xx (what `scripts/bench-growth.sh` reports as "ready"); null without a gateway.
//!
//! then stays up until stdin closes (unless `--until-signal`), Ctrl-C or SIGTERM, and stops the
//! gateway (SIGTERM, then SIGKILL after 10 s); it also ends, failing, when the gateway exits first.
//!
//! The gateway runs `serve --port-file <dir>/gateway.port` in `<dir>` with this process's
//! environment, then HOST=127.0.0.1, PORT=0, CREDENTIALS_DIR=<dir>/creds and every Google endpoint
//! pointing at the fake, then each `--env K=V` (`{google}` in V is the fake's URL). Its output goes
//! to `<dir>/gateway.out`. The fake's options (`--control`, `--api-key`, `--chunks`, …) are those of
//! `fake_google_server`; `--help` lists them all.
//!
//!   cargo build --bin gcli2api --example dev_stack
//!   target/debug/examples/dev_stack --control --env LOG_LEVEL=debug
//!   target/debug/examples/dev_stack --google http://127.0.0.1:8765 --dir /tmp/stack-b
//!   target/debug/examples/dev_stack --no-gateway --until-signal --chunks 5

#[path = "support/fake_cli.rs"]
mod fake_cli;
#[path = "../tests/support/fake_google.rs"]
mod fake_google;

use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ExitCode, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::json;
use tokio::process::{Child, Command};

/// The fake Google and a gcli2api gateway in front of it, for tests, benchmarks and trying things.
#[derive(Debug, Parser)]
#[command(name = "dev_stack", version, about)]
struct StackArgs {
    /// The gateway binary [default: gcli2api of the same build, target/<profile>/gcli2api].
    #[arg(long, value_name = "PATH")]
    gateway_bin: Option<PathBuf>,
    /// Put the gateway in front of the fake Google already running at this URL instead of
    /// starting one (several gateways on one fake).
    #[arg(long, value_name = "URL", conflicts_with = "no_gateway")]
    google: Option<String>,
    /// Start only the fake Google ("gateway" is null, "pid" this process).
    #[arg(long)]
    no_gateway: bool,
    /// The gateway's data and working directory, created if missing and kept [default: a new
    /// temporary directory, removed at the end].
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// K=V added to the gateway's environment, last (wins); repeatable.
    #[arg(long = "env", value_name = "K=V", value_parser = key_value)]
    envs: Vec<(String, String)>,
    /// The path polled until it answers 2xx (`/healthz` for a gateway without credentials).
    #[arg(long, value_name = "PATH", default_value = "/readyz")]
    ready_path: String,
    /// Give up when the gateway is not ready after this many seconds.
    #[arg(long, value_name = "S", default_value_t = 60)]
    timeout_secs: u64,
    /// Ignore stdin (for shells that start background jobs with stdin closed); stop on a signal.
    #[arg(long)]
    until_signal: bool,
    #[command(flatten)]
    fake: fake_cli::FakeArgs,
}

#[derive(Debug, thiserror::Error)]
enum StackError {
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    #[error("the gateway exited ({status}) before it was ready:\n{output}")]
    Exited { status: ExitStatus, output: String },
    #[error("the gateway was not ready after {seconds} s:\n{output}")]
    NotReady { seconds: u64, output: String },
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> StackError {
    let what = what.into();
    move |source| StackError::Io { what, source }
}

fn key_value(value: &str) -> Result<(String, String), String> {
    match value.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err("expected KEY=VALUE".to_owned()),
    }
}

/// The gateway of the same build: this example lives in target/<profile>/examples/.
fn default_gateway_bin() -> Result<PathBuf, StackError> {
    let exe = std::env::current_exe().map_err(io("locating this executable"))?;
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or_else(|| StackError::Io {
            what: format!("{} has no target/<profile> folder", exe.display()),
            source: std::io::ErrorKind::NotFound.into(),
        })?;
    Ok(profile_dir.join("gcli2api"))
}

/// The last lines of the gateway's output, for an error message.
fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// Endpoint settings that send every Google call of the gateway to the fake.
fn google_env(google: &str) -> Vec<(&'static str, String)> {
    [
        "CODE_ASSIST_ENDPOINT",
        "OAUTH_PROXY_URL",
        "GOOGLEAPIS_PROXY_URL",
        "RESOURCE_MANAGER_API_URL",
        "SERVICE_USAGE_API_URL",
    ]
    .into_iter()
    .map(|key| (key, google.to_owned()))
    .collect()
}

/// How often the port file and the readiness probe are read: fine enough for `ready_ms`.
const POLL: Duration = Duration::from_millis(10);

struct Gateway {
    child: Child,
    url: String,
    output: PathBuf,
    /// From spawning the process until the readiness probe first answered 2xx.
    ready_after: Duration,
}

async fn start_gateway(args: &StackArgs, google: &str, dir: &Path) -> Result<Gateway, StackError> {
    let bin = match &args.gateway_bin {
        Some(bin) => bin.clone(),
        None => default_gateway_bin()?,
    };
    let creds = dir.join("creds");
    std::fs::create_dir_all(&creds).map_err(io(format!("creating {}", creds.display())))?;
    let port_file = dir.join("gateway.port");
    // A file left by an earlier run in the same directory must not be read as this run's port.
    let _ = std::fs::remove_file(&port_file);
    let output = dir.join("gateway.out");
    let sink =
        std::fs::File::create(&output).map_err(io(format!("creating {}", output.display())))?;
    let sink_err = sink
        .try_clone()
        .map_err(io("duplicating the output file"))?;
    let mut command = Command::new(&bin);
    command
        .arg("serve")
        .arg("--port-file")
        .arg(&port_file)
        .current_dir(dir)
        .env("HOST", "127.0.0.1")
        .env("CREDENTIALS_DIR", &creds)
        .envs(google_env(google))
        .envs(
            args.envs
                .iter()
                .map(|(k, v)| (k.as_str(), v.replace("{google}", google))),
        )
        .env("PORT", "0")
        .stdin(Stdio::null())
        .stdout(sink)
        .stderr(sink_err)
        .kill_on_drop(true);
    let spawned = Instant::now();
    let mut child = command
        .spawn()
        .map_err(io(format!("starting {}", bin.display())))?;

    let deadline = Instant::now() + Duration::from_secs(args.timeout_secs);
    let not_ready = |output: &Path| StackError::NotReady {
        seconds: args.timeout_secs,
        output: tail(output),
    };
    let exited = |status, output: &Path| StackError::Exited {
        status,
        output: tail(output),
    };
    let port = loop {
        let written = std::fs::read_to_string(&port_file).ok();
        if let Some(port) = written.and_then(|text| text.trim().parse::<u16>().ok()) {
            break port;
        }
        if let Some(status) = child.try_wait().map_err(io("waiting for the gateway"))? {
            return Err(exited(status, &output));
        }
        if Instant::now() > deadline {
            return Err(not_ready(&output));
        }
        tokio::time::sleep(POLL).await;
    };
    let url = format!("http://127.0.0.1:{port}");
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(5))
        .finish();
    let probe = format!("{url}{}", args.ready_path);
    let ready_after = loop {
        if let Ok(answer) = client.get(probe.as_str()).send().await {
            if answer.status().is_success() {
                break spawned.elapsed();
            }
        }
        if let Some(status) = child.try_wait().map_err(io("waiting for the gateway"))? {
            return Err(exited(status, &output));
        }
        if Instant::now() > deadline {
            return Err(not_ready(&output));
        }
        tokio::time::sleep(POLL).await;
    };
    Ok(Gateway {
        child,
        url,
        output,
        ready_after,
    })
}

/// SIGTERM (the graceful stop), then SIGKILL if the gateway is still there after 10 s. `kill(1)`
/// sends the signal: the crate allows no unsafe code, which a direct `kill(2)` call would need.
async fn stop_gateway(child: &mut Child) {
    if let (Ok(None), Some(pid)) = (child.try_wait(), child.id()) {
        let _ = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .await;
        if tokio::time::timeout(Duration::from_secs(10), child.wait())
            .await
            .is_ok()
        {
            return;
        }
    }
    let _ = child.kill().await;
}

/// Resolves once stdin reaches its end: the parent closed the pipe or died.
async fn stdin_closed() {
    let (closed, on_close) = tokio::sync::oneshot::channel::<()>();
    // A plain thread: a read blocked on stdin must not hold back the runtime's shutdown.
    std::thread::spawn(move || {
        let mut buffer = [0u8; 1024];
        let mut stdin = std::io::stdin().lock();
        while matches!(stdin.read(&mut buffer), Ok(n) if n > 0) {}
        let _ = closed.send(());
    });
    let _ = on_close.await;
}

async fn run(args: StackArgs) -> Result<ExitCode, StackError> {
    let (fake, google) = match &args.google {
        Some(url) => (None, url.trim_end_matches('/').to_owned()),
        None => {
            let fake = args
                .fake
                .start(SocketAddr::from(([127, 0, 0, 1], 0)))
                .await
                .map_err(io("starting the fake Google"))?;
            let url = fake.url();
            (Some(fake), url)
        }
    };
    // Kept until the end: dropping it removes the temporary directory.
    let mut temporary = None;
    let dir = match &args.dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))?;
            dir.clone()
        }
        None => {
            let made = tempfile::Builder::new()
                .prefix("gcli2api-dev-")
                .tempdir()
                .map_err(io("creating a temporary directory"))?;
            let path = made.path().to_owned();
            temporary = Some(made);
            path
        }
    };
    let mut gateway = if args.no_gateway {
        None
    } else {
        match start_gateway(&args, &google, &dir).await {
            Ok(gateway) => Some(gateway),
            Err(e) => {
                if let Some(fake) = &fake {
                    fake.stop().await;
                }
                return Err(e);
            }
        }
    };
    let line = json!({
        "gateway": gateway.as_ref().map(|g| g.url.clone()),
        "google": google,
        "pid": gateway.as_ref().and_then(|g| g.child.id()).unwrap_or_else(std::process::id),
        "dir": (!args.no_gateway).then(|| dir.display().to_string()),
        "ready_ms": gateway.as_ref().map(|g| g.ready_after.as_millis()),
    });
    println!("{line}");

    let watch_stdin = async {
        if args.until_signal {
            std::future::pending::<()>().await
        } else {
            stdin_closed().await
        }
    };
    let gateway_exit = async {
        match gateway.as_mut() {
            Some(g) => g.child.wait().await.ok(),
            None => std::future::pending().await,
        }
    };
    let mut code = ExitCode::SUCCESS;
    tokio::select! {
        _ = fake_cli::shutdown_signal() => {}
        _ = watch_stdin => {}
        status = gateway_exit => {
            let output = gateway.as_ref().map(|g| tail(&g.output)).unwrap_or_default();
            eprintln!("dev_stack: the gateway exited ({status:?}):\n{output}");
            code = ExitCode::FAILURE;
        }
    }
    if let Some(gateway) = gateway.as_mut() {
        stop_gateway(&mut gateway.child).await;
    }
    if let Some(fake) = &fake {
        fake.stop().await;
    }
    drop(temporary);
    Ok(code)
}

#[actix_web::main]
async fn main() -> ExitCode {
    match run(StackArgs::parse()).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("dev_stack: {e}");
            ExitCode::FAILURE
        }
    }
}
