//! libpq's TLS options in a `POSTGRES_DSN`, read before the driver sees the DSN: `tokio-postgres`
//! knows only `sslmode=disable|prefer|require` and refuses `sslrootcert`, `sslcert` and `sslkey` as
//! unknown options. Both DSN forms are read (`postgres://…?sslmode=…` and `host=… sslmode=…`); every
//! other option reaches the driver exactly as written.
//!
//! The modes mean what they mean to libpq:
//!
//! | sslmode | TLS | the server's certificate |
//! |---|---|---|
//! | `disable` | never | — |
//! | `prefer` (default) | when the server offers it | not checked |
//! | `require` | always | not checked; with `sslrootcert`, checked as `verify-ca` |
//! | `verify-ca` | always | signed by a trusted CA |
//! | `verify-full` | always | signed by a trusted CA and issued for the host name |
//!
//! Trusted CAs are those of `sslrootcert` (a PEM file); without it, or with `sslrootcert=system`, the
//! public web roots. As in libpq, `sslrootcert=system` demands `verify-full` and is its default.

use std::path::PathBuf;

/// What the driver is told about TLS; the stricter checks are the connector's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(value: &str) -> Result<Self, String> {
        Ok(match value {
            "disable" => SslMode::Disable,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            // `allow` tries plain text first: never what someone asking for TLS means, so refused.
            other => {
                return Err(format!(
                "sslmode `{other}` is not one of disable, prefer, require, verify-ca, verify-full"
            ))
            }
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    /// The mode `tokio-postgres` is given: it knows the first three.
    fn for_driver(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => "require",
        }
    }
}

/// Where trusted CAs come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootSource {
    /// The public web roots (webpki-roots).
    System,
    File(PathBuf),
}

/// The TLS half of a DSN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgTlsOptions {
    /// Effective mode: `require` with `sslrootcert` is already `verify-ca` here.
    pub mode: SslMode,
    pub roots: RootSource,
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
}

/// A DSN split into what the driver parses and what the connector does.
#[derive(Debug)]
pub struct SplitDsn {
    pub driver_dsn: String,
    pub tls: PgTlsOptions,
}

/// The options this module takes out of the DSN.
const TLS_KEYS: &[&str] = &["sslmode", "sslrootcert", "sslcert", "sslkey"];

#[derive(Default)]
struct Found {
    mode: Option<String>,
    root: Option<String>,
    cert: Option<String>,
    key: Option<String>,
}

impl Found {
    fn take(&mut self, key: &str, value: String) {
        let slot = match key {
            "sslmode" => &mut self.mode,
            "sslrootcert" => &mut self.root,
            "sslcert" => &mut self.cert,
            _ => &mut self.key,
        };
        *slot = Some(value);
    }

    fn resolve(self) -> Result<PgTlsOptions, String> {
        let explicit = self.mode.as_deref().map(SslMode::parse).transpose()?;
        let roots = match self.root.as_deref() {
            None | Some("") => None,
            Some("system") => Some(RootSource::System),
            Some(path) => Some(RootSource::File(PathBuf::from(path))),
        };
        let mode = match (explicit, &roots) {
            (None, Some(RootSource::System)) => SslMode::VerifyFull,
            (Some(mode), Some(RootSource::System)) if mode != SslMode::VerifyFull => {
                return Err(format!(
                    "sslmode `{}` may not be used with sslrootcert=system (use verify-full)",
                    mode.as_str()
                ))
            }
            (Some(SslMode::Require), Some(_)) => SslMode::VerifyCa,
            (mode, _) => mode.unwrap_or(SslMode::Prefer),
        };
        let client_cert = self.cert.filter(|c| !c.is_empty()).map(PathBuf::from);
        let client_key = self.key.filter(|k| !k.is_empty()).map(PathBuf::from);
        if client_cert.is_some() != client_key.is_some() {
            return Err("sslcert and sslkey must be given together".into());
        }
        Ok(PgTlsOptions {
            mode,
            roots: roots.unwrap_or(RootSource::System),
            client_cert,
            client_key,
        })
    }
}

/// Splits `dsn`; an error names the bad option and never quotes the DSN (it may hold a password).
pub fn split(dsn: &str) -> Result<SplitDsn, String> {
    let dsn = dsn.trim();
    let lower = dsn.get(..13).unwrap_or(dsn).to_ascii_lowercase();
    if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
        split_url(dsn)
    } else {
        split_key_values(dsn)
    }
}

fn split_url(dsn: &str) -> Result<SplitDsn, String> {
    let (base, query) = match dsn.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (dsn, None),
    };
    let mut found = Found::default();
    let mut kept: Vec<&str> = Vec::new();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = decode(key)?;
        if TLS_KEYS.contains(&key.as_str()) {
            found.take(&key, decode(value)?);
        } else {
            kept.push(pair);
        }
    }
    let tls = found.resolve()?;
    let mode = format!("sslmode={}", tls.mode.for_driver());
    kept.push(&mode);
    Ok(SplitDsn {
        driver_dsn: format!("{base}?{}", kept.join("&")),
        tls,
    })
}

fn decode(text: &str) -> Result<String, String> {
    percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| "a DSN option is not valid UTF-8 once percent-decoded".to_string())
}

/// `key=value` pairs separated by spaces; a value may be single-quoted, `\` escapes the next char.
fn split_key_values(dsn: &str) -> Result<SplitDsn, String> {
    let mut found = Found::default();
    let mut kept: Vec<&str> = Vec::new();
    let mut rest = dsn.trim_start();
    while !rest.is_empty() {
        let start = rest;
        let eq = rest
            .find('=')
            .ok_or_else(|| "the DSN has an option without `=`".to_string())?;
        let key = rest.get(..eq).unwrap_or("").trim();
        rest = rest.get(eq + 1..).unwrap_or("").trim_start();
        let (value, after) = read_value(rest)?;
        let consumed = start.len() - after.len();
        let whole = start.get(..consumed).unwrap_or("").trim_end();
        if TLS_KEYS.contains(&key) {
            found.take(key, value);
        } else {
            kept.push(whole);
        }
        rest = after.trim_start();
    }
    let tls = found.resolve()?;
    let mode = format!("sslmode={}", tls.mode.for_driver());
    kept.push(&mode);
    Ok(SplitDsn {
        driver_dsn: kept.join(" "),
        tls,
    })
}

/// One value at the start of `input`, and what follows it.
fn read_value(input: &str) -> Result<(String, &str), String> {
    let mut value = String::new();
    let mut chars = input.char_indices();
    let quoted = input.starts_with('\'');
    if quoted {
        chars.next();
    }
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                if let Some((_, escaped)) = chars.next() {
                    value.push(escaped);
                }
            }
            '\'' if quoted => return Ok((value, input.get(i + 1..).unwrap_or(""))),
            c if !quoted && c.is_whitespace() => return Ok((value, input.get(i..).unwrap_or(""))),
            c => value.push(c),
        }
    }
    if quoted {
        return Err("the DSN has an unterminated quoted value".into());
    }
    Ok((value, ""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(mode: SslMode, roots: RootSource) -> PgTlsOptions {
        PgTlsOptions {
            mode,
            roots,
            client_cert: None,
            client_key: None,
        }
    }

    #[test]
    fn url_options_are_taken_and_the_rest_kept() {
        let split = split(
            "postgres://u:p%40ss@db:5432/app?application_name=gw&sslmode=verify-full\
             &sslrootcert=%2Fetc%2Fca.pem&channel_binding=require",
        )
        .unwrap();
        assert_eq!(
            split.driver_dsn,
            "postgres://u:p%40ss@db:5432/app?application_name=gw&channel_binding=require&sslmode=require"
        );
        assert_eq!(
            split.tls,
            opts(SslMode::VerifyFull, RootSource::File("/etc/ca.pem".into()))
        );
        let plain = super::split("postgresql://db/app").unwrap();
        assert_eq!(plain.driver_dsn, "postgresql://db/app?sslmode=prefer");
        assert_eq!(plain.tls, opts(SslMode::Prefer, RootSource::System));
    }

    #[test]
    fn key_value_options_are_taken_and_the_rest_kept() {
        let split = split(
            "host=db password='a \\'b\\' c' sslmode = verify-ca sslrootcert='/a b/ca.pem' \
             sslcert=/c.pem sslkey=/k.pem dbname=app",
        )
        .unwrap();
        assert_eq!(
            split.driver_dsn,
            "host=db password='a \\'b\\' c' dbname=app sslmode=require"
        );
        assert_eq!(split.tls.mode, SslMode::VerifyCa);
        assert_eq!(split.tls.roots, RootSource::File("/a b/ca.pem".into()));
        assert_eq!(split.tls.client_cert, Some("/c.pem".into()));
        assert_eq!(split.tls.client_key, Some("/k.pem".into()));
    }

    #[test]
    fn modes_follow_libpq() {
        let mode = |dsn: &str| super::split(dsn).map(|s| s.tls.mode);
        assert_eq!(mode("host=db").unwrap(), SslMode::Prefer);
        assert_eq!(mode("host=db sslmode=disable").unwrap(), SslMode::Disable);
        assert_eq!(mode("host=db sslmode=require").unwrap(), SslMode::Require);
        // `require` with a root certificate checks the chain, as libpq does.
        assert_eq!(
            mode("host=db sslmode=require sslrootcert=/ca.pem").unwrap(),
            SslMode::VerifyCa
        );
        assert_eq!(
            mode("host=db sslrootcert=system").unwrap(),
            SslMode::VerifyFull
        );
        assert!(mode("host=db sslmode=require sslrootcert=system").is_err());
        assert!(mode("host=db sslmode=allow").is_err());
        assert!(mode("host=db sslcert=/c.pem").is_err());
        assert!(mode("host=db password='open").is_err());
        let verify = super::split("postgres://db/app?sslmode=verify-full").unwrap();
        assert_eq!(verify.tls.roots, RootSource::System);
        assert_eq!(
            verify.driver_dsn, "postgres://db/app?sslmode=require",
            "verify modes reach the driver as require"
        );
    }

    #[test]
    fn errors_never_quote_the_dsn() {
        let err = super::split("postgres://u:hunter2@db/app?sslmode=bogus").unwrap_err();
        assert!(!err.contains("hunter2"), "{err}");
        assert!(err.contains("bogus"), "{err}");
    }
}
