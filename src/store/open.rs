//! Choosing and opening a backend from a URL.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::file::FileStore;
#[cfg(feature = "mongodb")]
use super::mongo::MongoStore;
use super::postgres::PostgresStore;
use super::redis::RedisStore;
use super::tls::redis_tls::RedisTls;
use super::{Store, StoreError};

/// Key prefix (Redis), schema (PostgreSQL) and collection prefix (MongoDB) when none is configured.
pub const DEFAULT_PREFIX: &str = "gcli2api";
/// Database used by the MongoDB backend unless `MONGODB_DATABASE` says otherwise.
pub const DEFAULT_MONGODB_DATABASE: &str = "gcli2api";
/// Longest prefix accepted: PostgreSQL identifiers stop at 63 bytes.
const MAX_PREFIX_LEN: usize = 48;

#[derive(Clone, PartialEq, Eq)]
pub enum StoreUrl {
    Files(PathBuf),
    /// `database` comes from the URI path (`redis://host/3`) or 0; `REDIS_DATABASE` overrides it.
    Redis {
        uri: String,
        database: i64,
    },
    Postgres(String),
    /// `database` is [`DEFAULT_MONGODB_DATABASE`] until `MONGODB_DATABASE` overrides it; the URI
    /// path is MongoDB's authentication database, not where data goes.
    Mongo {
        uri: String,
        database: String,
    },
}

impl StoreUrl {
    /// A plain path or `file://dir` → files; `redis://`/`rediss://`; `postgres://`/`postgresql://`;
    /// `mongodb://`/`mongodb+srv://`. Anything else with a scheme is refused.
    pub fn parse(s: &str) -> Result<Self, StoreError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(StoreError::Backend("storage URL is empty".into()));
        }
        let Some((scheme, rest)) = s.split_once("://") else {
            return Ok(StoreUrl::Files(PathBuf::from(s)));
        };
        match scheme.to_ascii_lowercase().as_str() {
            "file" => {
                if rest.is_empty() {
                    return Err(StoreError::Backend("file:// URL has no directory".into()));
                }
                Ok(StoreUrl::Files(PathBuf::from(rest)))
            }
            "redis" | "rediss" => Ok(StoreUrl::Redis {
                uri: s.to_string(),
                database: redis_database(s)?,
            }),
            "postgres" | "postgresql" => Ok(StoreUrl::Postgres(s.to_string())),
            "mongodb" | "mongodb+srv" => Ok(StoreUrl::Mongo {
                uri: s.to_string(),
                database: DEFAULT_MONGODB_DATABASE.to_string(),
            }),
            other => Err(StoreError::Backend(format!(
                "unsupported storage URL scheme `{other}://` (expected file, redis, rediss, \
                 postgres, postgresql, mongodb or mongodb+srv)"
            ))),
        }
    }

    /// The backend the settings name, first set wins: `REDIS_URI` > `POSTGRES_DSN` > `MONGODB_URI` >
    /// files in `CREDENTIALS_DIR`. A non-zero `redis_database` overrides the index in the URI.
    /// A URL in the wrong setting (a `postgres://` DSN in `REDIS_URI`) is refused, not guessed at.
    pub fn select(
        redis_uri: Option<&str>,
        redis_database: i64,
        postgres_dsn: Option<&str>,
        mongodb_uri: Option<&str>,
        mongodb_database: &str,
        credentials_dir: &Path,
    ) -> Result<Self, StoreError> {
        let misplaced = |setting: &str, expected: &str, url: &StoreUrl| {
            StoreError::Backend(format!(
                "{setting} must name a {expected} URL, not {}",
                url.backend_name()
            ))
        };
        if let Some(uri) = set(redis_uri) {
            return match StoreUrl::parse(uri)? {
                StoreUrl::Redis { uri, database } => Ok(StoreUrl::Redis {
                    uri,
                    database: if redis_database != 0 {
                        redis_database
                    } else {
                        database
                    },
                }),
                other => Err(misplaced("REDIS_URI", "redis", &other)),
            };
        }
        if let Some(dsn) = set(postgres_dsn) {
            return match StoreUrl::parse(dsn)? {
                url @ StoreUrl::Postgres(_) => Ok(url),
                other => Err(misplaced("POSTGRES_DSN", "postgres", &other)),
            };
        }
        if let Some(uri) = set(mongodb_uri) {
            return match StoreUrl::parse(uri)? {
                StoreUrl::Mongo { uri, .. } => Ok(StoreUrl::Mongo {
                    uri,
                    database: set(Some(mongodb_database))
                        .unwrap_or(DEFAULT_MONGODB_DATABASE)
                        .to_string(),
                }),
                other => Err(misplaced("MONGODB_URI", "mongodb", &other)),
            };
        }
        Ok(StoreUrl::Files(credentials_dir.to_path_buf()))
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            StoreUrl::Files(_) => "files",
            StoreUrl::Redis { .. } => "redis",
            StoreUrl::Postgres(_) => "postgres",
            StoreUrl::Mongo { .. } => "mongodb",
        }
    }
}

/// An unset or blank setting.
fn set(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

fn redis_database(uri: &str) -> Result<i64, StoreError> {
    let url = url::Url::parse(uri)
        .map_err(|e| StoreError::Backend(format!("Redis URL is invalid: {e}")))?;
    let path = url.path().trim_matches('/');
    if path.is_empty() {
        return Ok(0);
    }
    path.parse().map_err(|_| {
        StoreError::Backend(format!("Redis URL path `/{path}` is not a database index"))
    })
}

/// The URL without user name or password, for logs and error texts.
fn redacted(uri: &str) -> String {
    match url::Url::parse(uri) {
        Ok(mut url) => {
            // Both fail only for URLs that cannot carry credentials, which then have none to hide.
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.to_string()
        }
        Err(_) => "<unparseable URL>".to_string(),
    }
}

/// Credentials never reach a log line through `{:?}` or `{}`.
impl fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreUrl::Files(dir) => write!(f, "files in {}", dir.display()),
            StoreUrl::Redis { uri, database } => {
                write!(f, "redis {} (database {database})", redacted(uri))
            }
            StoreUrl::Postgres(dsn) => write!(f, "postgres {}", redacted(dsn)),
            StoreUrl::Mongo { uri, database } => {
                write!(f, "mongodb {} (database {database})", redacted(uri))
            }
        }
    }
}

impl fmt::Debug for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StoreUrl({self})")
    }
}

fn check_prefix(prefix: &str) -> Result<(), StoreError> {
    let valid = !prefix.is_empty()
        && prefix.len() <= MAX_PREFIX_LEN
        && prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !prefix.starts_with(|c: char| c.is_ascii_digit());
    if valid {
        Ok(())
    } else {
        Err(StoreError::Backend(format!(
            "storage prefix `{prefix}` must be 1–{MAX_PREFIX_LEN} letters, digits or `_`, \
             not starting with a digit"
        )))
    }
}

/// Opens the backend `url` names. `prefix` namespaces Redis keys, the PostgreSQL schema and MongoDB
/// collections (the files backend owns its whole directory and ignores it). A backend that cannot
/// be reached fails with `Unavailable`; there is no fall-back to another backend.
pub async fn open_store(url: &StoreUrl, prefix: &str) -> Result<Arc<dyn Store>, StoreError> {
    open_store_with_tls(url, prefix, &RedisTls::default()).await
}

/// [`open_store`] with the certificate settings of a `rediss://` store (`REDIS_CA_CERT`,
/// `REDIS_CLIENT_CERT`, `REDIS_CLIENT_KEY`); PostgreSQL's TLS options travel in its DSN.
pub async fn open_store_with_tls(
    url: &StoreUrl,
    prefix: &str,
    redis_tls: &RedisTls,
) -> Result<Arc<dyn Store>, StoreError> {
    check_prefix(prefix)?;
    let context = |e: StoreError| match e {
        StoreError::Unavailable(m) => StoreError::Unavailable(format!("{url}: {m}")),
        other => other,
    };
    let store: Arc<dyn Store> = match url {
        StoreUrl::Files(dir) => Arc::new(FileStore::open(dir.clone()).await.map_err(context)?),
        StoreUrl::Redis { uri, database } => Arc::new(
            RedisStore::open(uri, *database, prefix, redis_tls)
                .await
                .map_err(context)?,
        ),
        StoreUrl::Postgres(dsn) => {
            Arc::new(PostgresStore::open(dsn, prefix).await.map_err(context)?)
        }
        #[cfg(feature = "mongodb")]
        StoreUrl::Mongo { uri, database } => Arc::new(
            MongoStore::open(uri, database, prefix)
                .await
                .map_err(context)?,
        ),
        #[cfg(not(feature = "mongodb"))]
        StoreUrl::Mongo { .. } => {
            return Err(StoreError::Backend(format!(
                "{url}: this build has no MongoDB store (cargo feature `mongodb`)"
            )))
        }
    };
    log::info!("storage: {url}");
    Ok(store)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_scheme() {
        assert_eq!(
            StoreUrl::parse("./creds").unwrap(),
            StoreUrl::Files("./creds".into())
        );
        assert_eq!(
            StoreUrl::parse("file:///var/lib/gcli2api").unwrap(),
            StoreUrl::Files("/var/lib/gcli2api".into())
        );
        assert_eq!(
            StoreUrl::parse("redis://127.0.0.1:6379/3").unwrap(),
            StoreUrl::Redis {
                uri: "redis://127.0.0.1:6379/3".into(),
                database: 3
            }
        );
        assert!(matches!(
            StoreUrl::parse("rediss://h").unwrap(),
            StoreUrl::Redis { database: 0, .. }
        ));
        assert!(matches!(
            StoreUrl::parse("postgresql://u@h/db").unwrap(),
            StoreUrl::Postgres(_)
        ));
        assert_eq!(
            StoreUrl::parse("mongodb+srv://c.example.net/admin").unwrap(),
            StoreUrl::Mongo {
                uri: "mongodb+srv://c.example.net/admin".into(),
                database: "gcli2api".into()
            }
        );
        assert!(StoreUrl::parse("mysql://h/db").is_err());
        assert!(StoreUrl::parse("redis://h/x").is_err());
        assert!(StoreUrl::parse("").is_err());
    }

    #[test]
    fn select_follows_the_priority_and_checks_each_setting() {
        let dir = Path::new("./creds");
        let pick =
            |redis, db, pg, mongo, mongo_db| StoreUrl::select(redis, db, pg, mongo, mongo_db, dir);
        let all = pick(
            Some("redis://h/2"),
            0,
            Some("postgres://h/d"),
            Some("mongodb://h"),
            "",
        );
        assert_eq!(
            all.unwrap(),
            StoreUrl::Redis {
                uri: "redis://h/2".into(),
                database: 2
            }
        );
        assert!(matches!(
            pick(Some("redis://h/2"), 5, None, None, "").unwrap(),
            StoreUrl::Redis { database: 5, .. }
        ));
        assert!(matches!(
            pick(
                Some(" "),
                0,
                Some("postgresql://h/d"),
                Some("mongodb://h"),
                ""
            )
            .unwrap(),
            StoreUrl::Postgres(_)
        ));
        assert_eq!(
            pick(None, 0, None, Some("mongodb://h"), "").unwrap(),
            StoreUrl::Mongo {
                uri: "mongodb://h".into(),
                database: "gcli2api".into()
            }
        );
        assert!(matches!(
            pick(None, 0, None, Some("mongodb://h"), "other").unwrap(),
            StoreUrl::Mongo { database, .. } if database == "other"
        ));
        assert_eq!(
            pick(None, 0, None, None, "").unwrap(),
            StoreUrl::Files(dir.into())
        );
        assert!(pick(Some("postgres://h/d"), 0, None, None, "").is_err());
        assert!(pick(None, 0, Some("redis://h"), None, "").is_err());
    }

    #[test]
    fn display_hides_passwords() {
        let url = StoreUrl::parse("postgres://admin:hunter2@db:5432/app").unwrap();
        let shown = format!("{url} {url:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("admin"), "{shown}");
        assert!(shown.contains("db:5432/app"), "{shown}");
        let url = StoreUrl::parse("redis://:secret@cache:6379/1").unwrap();
        assert!(!url.to_string().contains("secret"));
    }

    #[test]
    fn prefixes_are_identifiers() {
        assert!(check_prefix("gcli2api").is_ok());
        assert!(check_prefix("t_abc123").is_ok());
        for bad in ["", "a-b", "a b", "1abc", "a\"b", &"x".repeat(49)] {
            assert!(check_prefix(bad).is_err(), "{bad}");
        }
    }
}
