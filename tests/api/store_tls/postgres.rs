//! PostgreSQL over TLS: a private PostgreSQL 15 per test, with `ssl=on` and a `pg_hba.conf` that
//! accepts only TLS connections with a SCRAM password, so a gateway that starts has spoken TLS, and
//! `channel_binding=require` proves the `tls-server-end-point` binding matches the server's.

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::pki::{write, Ca, Issued};
use super::{free_port, lost_its_port, refused_start, store_serves, BIND_ATTEMPTS};
use crate::fake_google::FakeGoogle;
use crate::process::{gateway_env, Gateway};

const PASSWORD: &str = "tls-test-secret";

/// The PostgreSQL 15 binaries: `PG_BIN`, else Debian's place for them.
fn pg_bin(name: &str) -> PathBuf {
    let dir = std::env::var("PG_BIN").unwrap_or_else(|_| "/usr/lib/postgresql/15/bin".into());
    let path = Path::new(&dir).join(name);
    assert!(
        path.exists(),
        "{} is missing: the postgres-tests feature needs PostgreSQL 15's server binaries (set PG_BIN)",
        path.display()
    );
    path
}

/// PostgreSQL refuses to run as root; as root, the server runs as the `postgres` account.
// The crate denies unsafe code; this test helper needs libc's account lookup.
#[allow(unsafe_code)]
fn server_account() -> Option<(u32, u32)> {
    // SAFETY: plain libc calls; getpwnam's result is read before any other call could reuse it.
    unsafe {
        if libc::geteuid() != 0 {
            return None;
        }
        let entry = libc::getpwnam(c"postgres".as_ptr());
        assert!(
            !entry.is_null(),
            "tests run as root need a `postgres` account to run PostgreSQL"
        );
        Some(((*entry).pw_uid, (*entry).pw_gid))
    }
}

fn as_server(command: &mut Command, account: Option<(u32, u32)>) -> &mut Command {
    if let Some((uid, gid)) = account {
        command.uid(uid).gid(gid);
    }
    command
}

fn give(path: &Path, account: Option<(u32, u32)>) {
    if let Some((uid, gid)) = account {
        std::os::unix::fs::chown(path, Some(uid), Some(gid)).unwrap();
    }
}

struct Postgres {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Postgres {
    /// A fresh cluster serving `server` (certificate and key) on a free port of 127.0.0.1.
    /// `client_ca`, when given, is the CA whose client certificates the server demands.
    fn start(server: &Issued, client_ca: Option<&Ca>) -> Postgres {
        let account = server_account();
        let dir = tempfile::tempdir().unwrap();
        give(dir.path(), account);
        let password_file = write(dir.path(), "password", PASSWORD);
        let cert = write(dir.path(), "server.crt", &server.cert);
        let key = write(dir.path(), "server.key", &server.key);
        for file in [&password_file, &cert, &key] {
            give(file, account);
        }
        std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .unwrap();
        let data = dir.path().join("data");
        let init = as_server(&mut Command::new(pg_bin("initdb")), account)
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "--no-locale", "-E", "UTF8", "--no-sync"])
            .args(["--auth-local=trust", "--auth-host=scram-sha-256"])
            .arg(format!("--pwfile={}", password_file.display()))
            .output()
            .unwrap();
        assert!(
            init.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&init.stderr)
        );
        let client_check = if client_ca.is_some() {
            " clientcert=verify-full"
        } else {
            ""
        };
        std::fs::write(
            data.join("pg_hba.conf"),
            format!(
                "local all all trust\n\
                 hostssl all all 127.0.0.1/32 scram-sha-256{client_check}\n\
                 hostssl all all ::1/128 scram-sha-256{client_check}\n"
            ),
        )
        .unwrap();
        let ca_file = client_ca.map(|ca| {
            let file = write(dir.path(), "client-ca.crt", &ca.pem());
            give(&file, account);
            file
        });
        for attempt in 0..BIND_ATTEMPTS {
            let port = free_port();
            let log = dir.path().join(format!("server-{attempt}.log"));
            let mut command = Command::new(pg_bin("postgres"));
            as_server(&mut command, account)
                .arg("-D")
                .arg(&data)
                .args(["-p", &port.to_string()])
                .args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"])
                .arg("-c")
                .arg(format!("unix_socket_directories={}", dir.path().display()))
                .args(["-c", "ssl=on"])
                .arg("-c")
                .arg(format!("ssl_cert_file={}", cert.display()))
                .arg("-c")
                .arg(format!("ssl_key_file={}", key.display()));
            if let Some(ca_file) = &ca_file {
                command
                    .arg("-c")
                    .arg(format!("ssl_ca_file={}", ca_file.display()));
            }
            let mut child = command
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(File::create(&log).unwrap())
                .spawn()
                .unwrap();
            match wait_ready(&mut child, &log) {
                Ok(()) => return Postgres { child, port, dir },
                Err(text) if lost_its_port(&text) => continue,
                Err(text) => panic!("postgres exited: {text}"),
            }
        }
        panic!("postgres lost its port {BIND_ATTEMPTS} times");
    }

    /// A DSN for `host` with `options` (already `&`-joined).
    fn dsn(&self, host: &str, options: &str) -> String {
        format!(
            "postgres://postgres:{PASSWORD}@{host}:{}/postgres?{options}",
            self.port
        )
    }

    fn file(&self, name: &str, content: &str) -> PathBuf {
        write(self.dir.path(), name, content)
    }
}

/// The log says so once recovery is done; before, connections are refused as "starting up". The
/// log if the server exited first.
fn wait_ready(child: &mut Child, log: &Path) -> Result<(), String> {
    for _ in 0..600 {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if text.contains("ready to accept connections") {
            return Ok(());
        }
        if let Some(status) = child.try_wait().unwrap() {
            // What the server wrote last before it exited.
            let text = std::fs::read_to_string(log).unwrap_or_default();
            return Err(format!("({status}) {text}"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!(
        "postgres did not become ready: {}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

impl Drop for Postgres {
    // The crate denies unsafe code; SIGQUIT (not SIGKILL) needs libc's `kill`.
    #[allow(unsafe_code)]
    fn drop(&mut self) {
        // SIGQUIT: PostgreSQL's immediate shutdown, which also ends its backends.
        if let Ok(pid) = i32::try_from(self.child.id()) {
            // SAFETY: signals our own child.
            unsafe {
                libc::kill(pid, libc::SIGQUIT);
            }
        }
        for _ in 0..200 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn env(google: &FakeGoogle, dsn: String, files: &Path) -> HashMap<String, String> {
    gateway_env(
        &google.url(),
        &[
            ("POSTGRES_DSN", dsn),
            ("CREDENTIALS_DIR", files.display().to_string()),
        ],
    )
}

#[actix_rt::test]
async fn postgres_verify_full_with_the_right_ca_serves() {
    let ca = Ca::new("test PostgreSQL CA");
    let server = Postgres::start(&ca.issue(&["localhost"]), None);
    let root = server.file("root.crt", &ca.pem());
    let google = FakeGoogle::start().await;
    let files = tempfile::tempdir().unwrap();
    let dsn = server.dsn(
        "localhost",
        &format!(
            "sslmode=verify-full&sslrootcert={}&channel_binding=require",
            root.display()
        ),
    );
    let gateway = Gateway::start(&env(&google, dsn, files.path())).await;
    store_serves(&gateway).await;
}

#[actix_rt::test]
async fn postgres_refuses_a_certificate_from_another_ca() {
    let ca = Ca::new("test PostgreSQL CA");
    let server = Postgres::start(&ca.issue(&["localhost"]), None);
    let stranger = server.file("other-root.crt", &Ca::new("another CA").pem());
    let google = FakeGoogle::start().await;
    let files = tempfile::tempdir().unwrap();
    let dsn = server.dsn(
        "localhost",
        &format!("sslmode=verify-full&sslrootcert={}", stranger.display()),
    );
    let printed = refused_start(&env(&google, dsn, files.path())).await;
    assert!(
        printed.contains("server certificate rejected")
            && printed.contains("unknown authority")
            && printed.contains(&stranger.display().to_string()),
        "{printed}"
    );
    assert!(!printed.contains(super::postgres::PASSWORD), "{printed}");
}

#[actix_rt::test]
async fn postgres_verify_full_checks_the_host_name_and_verify_ca_does_not() {
    let ca = Ca::new("test PostgreSQL CA");
    // Issued for a name the gateway does not dial: the chain is good, the name is not.
    let server = Postgres::start(&ca.issue(&["db.example.internal"]), None);
    let root = server.file("root.crt", &ca.pem());
    let google = FakeGoogle::start().await;
    let files = tempfile::tempdir().unwrap();
    let with = |mode: &str| {
        server.dsn(
            "127.0.0.1",
            &format!("sslmode={mode}&sslrootcert={}", root.display()),
        )
    };
    let printed = refused_start(&env(&google, with("verify-full"), files.path())).await;
    assert!(
        printed.contains("certificate name mismatch") && printed.contains("127.0.0.1"),
        "{printed}"
    );
    let gateway = Gateway::start(&env(&google, with("verify-ca"), files.path())).await;
    store_serves(&gateway).await;
    drop(gateway);
    // `require` without a root certificate encrypts without checking, as libpq does.
    let unchecked = server.dsn("127.0.0.1", "sslmode=require");
    let gateway = Gateway::start(&env(&google, unchecked, files.path())).await;
    store_serves(&gateway).await;
}

#[actix_rt::test]
async fn postgres_client_certificate_from_sslcert_and_sslkey() {
    let ca = Ca::new("test PostgreSQL CA");
    let clients = Ca::new("test client CA");
    let server = Postgres::start(&ca.issue(&["localhost"]), Some(&clients));
    let root = server.file("root.crt", &ca.pem());
    // `clientcert=verify-full` wants the certificate's CN to be the database user.
    let client = clients.issue(&["postgres"]);
    let cert = server.file("client.crt", &client.cert);
    let key = server.file("client.key", &client.key);
    let google = FakeGoogle::start().await;
    let files = tempfile::tempdir().unwrap();
    let without = server.dsn(
        "localhost",
        &format!("sslmode=verify-full&sslrootcert={}", root.display()),
    );
    let printed = refused_start(&env(&google, without.clone(), files.path())).await;
    assert!(printed.contains("PostgreSQL"), "{printed}");
    let with = format!(
        "{without}&sslcert={}&sslkey={}",
        cert.display(),
        key.display()
    );
    let gateway = Gateway::start(&env(&google, with, files.path())).await;
    store_serves(&gateway).await;
}
