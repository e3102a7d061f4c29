//! Redis over TLS: a private `redis-server` per test with only a TLS port (`--port 0`), so a gateway
//! that starts has spoken TLS.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::pki::{write, Ca};
use super::{free_port, lost_its_port, refused_start, store_serves, BIND_ATTEMPTS};
use crate::fake_google::FakeGoogle;
use crate::process::{gateway_env, Gateway};

struct RedisTls {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl RedisTls {
    /// `redis-server` with a certificate for `localhost` from `ca`; with `clients`, it demands a
    /// client certificate signed by that CA.
    fn start(ca: &Ca, clients: Option<&Ca>) -> RedisTls {
        let dir = tempfile::tempdir().unwrap();
        let issued = ca.issue(&["localhost"]);
        let files = TlsFiles {
            cert: write(dir.path(), "server.crt", &issued.cert),
            key: write(dir.path(), "server.key", &issued.key),
            trusted: write(dir.path(), "clients.crt", &clients.unwrap_or(ca).pem()),
            demand_clients: clients.is_some(),
        };
        for _ in 0..BIND_ATTEMPTS {
            let port = free_port();
            match serve(&files, dir.path(), port) {
                Ok(child) => return RedisTls { child, port, dir },
                Err(output) if lost_its_port(&output) => continue,
                Err(output) => panic!("redis-server exited; is it built with TLS? {output}"),
            }
        }
        panic!("redis-server lost its port {BIND_ATTEMPTS} times");
    }

    fn uri(&self) -> String {
        format!("rediss://localhost:{}", self.port)
    }

    fn file(&self, name: &str, content: &str) -> PathBuf {
        write(self.dir.path(), name, content)
    }
}

struct TlsFiles {
    cert: PathBuf,
    key: PathBuf,
    trusted: PathBuf,
    demand_clients: bool,
}

/// `redis-server` on `port` once it accepts connections there; what it printed if it exited first.
fn serve(files: &TlsFiles, dir: &Path, port: u16) -> Result<Child, String> {
    let mut child = Command::new("redis-server")
        .args(["--port", "0", "--tls-port", &port.to_string()])
        .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .arg("--tls-cert-file")
        .arg(&files.cert)
        .arg("--tls-key-file")
        .arg(&files.key)
        .arg("--tls-ca-cert-file")
        .arg(&files.trusted)
        .args([
            "--tls-auth-clients",
            if files.demand_clients { "yes" } else { "no" },
        ])
        .arg("--dir")
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("redis-server is needed by the redis-tests feature");
    // Redis binds before it prints anything, but the port is what matters: wait for it, looking for
    // an exit (a port another process took meanwhile) before each try.
    for _ in 0..200 {
        if let Some(status) = child.try_wait().unwrap() {
            let mut out = String::new();
            std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut out).unwrap();
            return Err(format!("({status}) {out}"));
        }
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(child);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("redis-server did not open its TLS port");
}

impl Drop for RedisTls {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn env(
    google: &FakeGoogle,
    uri: String,
    files: &Path,
    extra: &[(&str, &Path)],
) -> HashMap<String, String> {
    let mut env = gateway_env(
        &google.url(),
        &[
            ("REDIS_URI", uri),
            ("CREDENTIALS_DIR", files.display().to_string()),
        ],
    );
    for (key, path) in extra {
        env.insert(key.to_string(), path.display().to_string());
    }
    env
}

#[actix_rt::test]
async fn rediss_with_redis_ca_cert_serves() {
    let ca = Ca::new("test Redis CA");
    let server = RedisTls::start(&ca, None);
    let root = server.file("root.crt", &ca.pem());
    let google = FakeGoogle::start().await;
    let files = tempfile::tempdir().unwrap();
    let gateway = Gateway::start(&env(
        &google,
        server.uri(),
        files.path(),
        &[("REDIS_CA_CERT", &root)],
    ))
    .await;
    store_serves(&gateway).await;
}

#[actix_rt::test]
async fn rediss_refuses_a_certificate_from_another_ca() {
    let ca = Ca::new("test Redis CA");
    let server = RedisTls::start(&ca, None);
    let stranger = server.file("other-root.crt", &Ca::new("another CA").pem());
    let google = FakeGoogle::start().await;
    let files = tempfile::tempdir().unwrap();
    let printed = refused_start(&env(
        &google,
        server.uri(),
        files.path(),
        &[("REDIS_CA_CERT", &stranger)],
    ))
    .await;
    assert!(
        printed.contains("server certificate rejected")
            && printed.contains("unknown authority")
            && printed.contains(&stranger.display().to_string()),
        "{printed}"
    );
    // Without REDIS_CA_CERT only the public roots are trusted, which did not sign a test CA.
    let printed = refused_start(&env(&google, server.uri(), files.path(), &[])).await;
    assert!(
        printed.contains("unknown authority") && printed.contains("public CA roots"),
        "{printed}"
    );
}

#[actix_rt::test]
async fn rediss_client_certificate_from_redis_client_cert_and_key() {
    let ca = Ca::new("test Redis CA");
    let clients = Ca::new("test client CA");
    let server = RedisTls::start(&ca, Some(&clients));
    let root = server.file("root.crt", &ca.pem());
    let client = clients.issue(&["gateway"]);
    let cert = server.file("client.crt", &client.cert);
    let key = server.file("client.key", &client.key);
    let google = FakeGoogle::start().await;
    let files = tempfile::tempdir().unwrap();
    let printed = refused_start(&env(
        &google,
        server.uri(),
        files.path(),
        &[("REDIS_CA_CERT", &root)],
    ))
    .await;
    assert!(printed.contains("client certificate"), "{printed}");
    let gateway = Gateway::start(&env(
        &google,
        server.uri(),
        files.path(),
        &[
            ("REDIS_CA_CERT", &root),
            ("REDIS_CLIENT_CERT", &cert),
            ("REDIS_CLIENT_KEY", &key),
        ],
    ))
    .await;
    store_serves(&gateway).await;
}

#[actix_rt::test]
async fn redis_tls_settings_with_a_plain_uri_are_refused() {
    let google = FakeGoogle::start().await;
    let files = tempfile::tempdir().unwrap();
    let ca = files.path().join("ca.crt");
    std::fs::write(&ca, Ca::new("unused").pem()).unwrap();
    // No server is needed: the settings are refused before any connection.
    let printed = refused_start(&env(
        &google,
        "redis://127.0.0.1:1".into(),
        files.path(),
        &[("REDIS_CA_CERT", &ca)],
    ))
    .await;
    assert!(printed.contains("need a rediss:// REDIS_URI"), "{printed}");
}

/// `gcli2api migrate` reads the same certificate settings as the server for a `rediss://` side.
#[actix_rt::test]
async fn migrate_into_rediss_uses_redis_ca_cert() {
    let ca = Ca::new("test Redis CA");
    let server = RedisTls::start(&ca, None);
    let root = server.file("root.crt", &ca.pem());
    let files = tempfile::tempdir().unwrap();
    let migrate = |with_ca: bool| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_gcli2api"));
        command
            .env_clear()
            .args(["migrate", "--from"])
            .arg(files.path())
            .args(["--to", &server.uri()]);
        if with_ca {
            command.env("REDIS_CA_CERT", &root);
        }
        command.stdin(Stdio::null()).output().unwrap()
    };
    let refused = migrate(false);
    let printed = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && printed.contains("unknown authority"),
        "{printed}"
    );
    let done = migrate(true);
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
}
