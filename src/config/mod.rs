//! Configuration in four layers: compiled defaults → TOML file (`config/gcli2api.toml` or `CONFIG_FILE`)
//! → values saved from the panel (in the store) → environment variables. A key set by the environment is
//! locked: the panel shows it read-only and cannot change it.
//!
//! Settings are passed into constructors; the running gateway reads the current snapshot through
//! [`SharedSettings`], which the config route swaps atomically after a save.

pub mod keys;
pub mod listen;
pub mod url_mask;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use serde::Deserialize;
use serde_json::{Map, Value};

pub use keys::{KeyDef, Kind, KEYS};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid TOML: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("config file {path}: unknown key `{key}` (see config/gcli2api.toml for every key)")]
    UnknownKey { path: PathBuf, key: String },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// The built-in password, known to everyone who read the README.
pub const DEFAULT_PASSWORD: &str = "pwd";

/// The effective configuration, typed. Field names are the config keys.
/// `ROTATION_POLICY`: how rotation orders the credentials of one kind rank.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RotationPolicy {
    /// The cursor moves every `CALLS_PER_ROTATION` calls.
    #[default]
    RoundRobin,
    /// The highest remaining fraction for the requested model first.
    MostRemaining,
    /// Among those with quota left, the bucket that resets soonest first.
    EarliestReset,
    /// One credential until it is limited.
    FillFirst,
}

/// `CREDITS_OVERAGE`: whether Code Assist requests may spend Google One AI credits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CreditsOverage {
    #[default]
    Never,
    Always,
}

/// `TRUSTED_PROXY_HEADER`: the one forwarding header the trusted proxies set. The other is the
/// client's own claim (a proxy passes it through unchanged), so it is never read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum TrustedProxyHeader {
    #[default]
    #[serde(rename = "x-forwarded-for")]
    XForwardedFor,
    #[serde(rename = "forwarded")]
    Forwarded,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub host: String,
    pub port: u16,
    pub workers: usize,
    pub shutdown_ready_delay: u64,
    pub shutdown_timeout: u64,
    password: String,
    api_password: Option<String>,
    panel_password: Option<String>,
    pub metrics_token: Option<String>,
    pub allow_default_password: bool,
    pub request_history_size: usize,
    pub request_history_max_mb: u64,
    pub audit_retention_days: u64,
    pub credentials_dir: PathBuf,
    pub code_assist_endpoint: String,
    pub gemini_api_endpoint: String,
    pub vertex_endpoint: Option<String>,
    pub vertex_location: String,
    pub upstream_preference: Vec<String>,
    pub code_assist_models: Vec<String>,
    pub gemini_api_key_models: Vec<String>,
    pub vertex_models: Vec<String>,
    pub oauth_proxy_url: String,
    pub googleapis_proxy_url: String,
    pub resource_manager_api_url: String,
    pub service_usage_api_url: String,
    pub oauth_auth_url: String,
    pub oauth_redirect_uri: Option<String>,
    pub proxy: Option<String>,
    pub upstream_ca_file: Option<PathBuf>,
    pub upstream_connect_timeout: u64,
    pub upstream_timeout: u64,
    pub stream_idle_timeout: u64,
    pub calls_per_rotation: u64,
    pub session_affinity: bool,
    pub session_affinity_ttl: u64,
    pub session_affinity_max_sessions: usize,
    pub retry_429_enabled: bool,
    pub retry_429_max_retries: u32,
    pub retry_429_interval: f64,
    pub auto_ban: bool,
    pub auto_ban_error_codes: Vec<u16>,
    pub cooldown_max_seconds: i64,
    pub quota_refresh_seconds: u64,
    pub rotation_policy: RotationPolicy,
    pub credits_overage: CreditsOverage,
    pub credits_models: Vec<String>,
    pub model_refresh_seconds: u64,
    pub model_aliases: Vec<String>,
    pub rate_limit_backoff_seconds: i64,
    pub anti_truncation_max_attempts: u32,
    pub compatibility_mode: bool,
    pub return_thoughts_to_frontend: bool,
    pub fake_stream_heartbeat_interval: f64,
    pub base_models: Vec<String>,
    pub anthropic_model_map: Vec<String>,
    pub anthropic_fallback_map: Vec<String>,
    pub image_fetch_allow_private: bool,
    pub image_fetch_max_bytes: usize,
    pub max_image_bytes_per_request: usize,
    pub responses_store_ttl: u64,
    pub responses_store_max: usize,
    pub responses_store_max_mb: u64,
    pub daily_limit_total: u64,
    pub daily_limit_pro: u64,
    pub auto_load_env_creds: bool,
    pub public_onboarding: bool,
    pub trusted_proxies: Vec<String>,
    pub trusted_proxy_header: TrustedProxyHeader,
    /// IANA name, validated by the key table.
    pub keys_timezone: String,
    pub max_request_body_mb: u64,
    pub client_body_timeout: u64,
    pub max_inflight_body_mb: u64,
    pub max_inflight_body_per_caller_mb: u64,
    pub responses_ws_max_connections: u64,
    pub responses_ws_idle_timeout: u64,
    pub jwt_expiry_hours: u64,
    pub log_level: String,
    pub log_file: Option<PathBuf>,
    pub log_file_max_mb: u64,
    pub redis_uri: Option<String>,
    pub redis_database: i64,
    pub redis_ca_cert: Option<PathBuf>,
    pub redis_client_cert: Option<PathBuf>,
    pub redis_client_key: Option<PathBuf>,
    pub postgres_dsn: Option<String>,
    pub mongodb_uri: Option<String>,
    pub mongodb_database: String,
    pub storage_prefix: String,
}

impl Settings {
    /// Password for the chat APIs: `API_PASSWORD`, else `PASSWORD`, else `pwd`.
    pub fn api_password(&self) -> &str {
        self.api_password.as_deref().unwrap_or(&self.password)
    }

    /// Password for the control panel: `PANEL_PASSWORD`, else `PASSWORD`, else `pwd`.
    pub fn panel_password(&self) -> &str {
        self.panel_password.as_deref().unwrap_or(&self.password)
    }

    pub fn uses_default_password(&self) -> bool {
        self.api_password() == DEFAULT_PASSWORD || self.panel_password() == DEFAULT_PASSWORD
    }

    /// The key that holds the panel password: `panel_password` when set, else the shared `password`.
    pub fn panel_password_key(&self) -> &'static str {
        if self.panel_password.is_some() {
            "panel_password"
        } else {
            "password"
        }
    }

    pub fn retry_interval(&self) -> Duration {
        Duration::from_secs_f64(self.retry_429_interval.max(0.0))
    }

    pub fn heartbeat_interval(&self) -> Duration {
        Duration::from_secs_f64(self.fake_stream_heartbeat_interval.max(0.1))
    }

    pub fn redirect_uri(&self) -> String {
        self.oauth_redirect_uri
            .clone()
            .unwrap_or_else(|| format!("http://localhost:{}/oauth2callback", self.port))
    }
}

/// Where each layer came from; kept so the panel can save and re-resolve.
#[derive(Debug, Clone, Default)]
pub struct ConfigLayers {
    pub file: Map<String, Value>,
    pub stored: Map<String, Value>,
    pub env: Map<String, Value>,
}

impl ConfigLayers {
    /// Reads the TOML file (if any) and the environment. `env` is passed in so tests need not touch the
    /// process environment.
    pub fn load(
        config_file: Option<&Path>,
        env: &HashMap<String, String>,
    ) -> Result<Self, ConfigError> {
        let file = match config_file {
            Some(path) => read_toml(path)?,
            None => Map::new(),
        };
        let mut env_layer = Map::new();
        for def in KEYS {
            if let Some(raw) = env.get(def.env) {
                if raw.trim().is_empty() && def.kind != Kind::OptStr {
                    continue;
                }
                let value = keys::parse_env(def, raw).map_err(ConfigError::Invalid)?;
                let value = keys::validate(def, &value).map_err(|msg| {
                    ConfigError::Invalid(format!("{msg} (environment variable {})", def.env))
                })?;
                env_layer.insert(def.key.to_string(), value);
            }
        }
        Ok(Self {
            file,
            stored: Map::new(),
            env: env_layer,
        })
    }

    /// The config file named by `CONFIG_FILE`, else `config/gcli2api.toml` when it exists.
    pub fn default_file(env: &HashMap<String, String>) -> Option<PathBuf> {
        if let Some(path) = env.get("CONFIG_FILE").filter(|p| !p.trim().is_empty()) {
            return Some(PathBuf::from(path));
        }
        let path = PathBuf::from("config/gcli2api.toml");
        path.exists().then_some(path)
    }

    /// Keys fixed by the environment.
    pub fn env_locked(&self) -> BTreeSet<String> {
        self.env.keys().cloned().collect()
    }

    /// Merged value of every key.
    pub fn merged(&self) -> BTreeMap<&'static str, Value> {
        KEYS.iter()
            .map(|def| {
                let value = [&self.env, &self.stored, &self.file]
                    .into_iter()
                    .find_map(|layer| layer.get(def.key).cloned())
                    .unwrap_or_else(|| def.default_value());
                (def.key, value)
            })
            .collect()
    }

    pub fn resolve(&self) -> Result<Settings, ConfigError> {
        let object: Map<String, Value> = self
            .merged()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        serde_json::from_value(Value::Object(object))
            .map_err(|e| ConfigError::Invalid(e.to_string()))
    }

    /// Accepts values saved in the store, dropping (and reporting) any that no longer validate, so a bad
    /// stored value cannot stop the gateway from starting.
    pub fn set_stored(&mut self, stored: &Map<String, Value>) -> Vec<String> {
        let mut rejected = Vec::new();
        self.stored = Map::new();
        for (key, value) in stored {
            match keys::find(key).map(|def| keys::validate(def, value)) {
                Some(Ok(v)) => {
                    self.stored.insert(key.clone(), v);
                }
                Some(Err(msg)) => rejected.push(msg),
                None => {}
            }
        }
        rejected
    }
}

fn read_toml(path: &Path) -> Result<Map<String, Value>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| ConfigError::Syntax {
            path: path.to_path_buf(),
            message: e.message().to_string(),
        })?;
    let mut out = Map::new();
    for (key, value) in table {
        let def = keys::find(&key).ok_or_else(|| ConfigError::UnknownKey {
            path: path.to_path_buf(),
            key: key.clone(),
        })?;
        let json = serde_json::to_value(&value).map_err(|e| ConfigError::Syntax {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let json = keys::validate(def, &json)
            .map_err(|msg| ConfigError::Invalid(format!("{}: {msg}", path.display())))?;
        out.insert(key, json);
    }
    Ok(out)
}

/// The current settings, swapped atomically when the panel saves; readers never block.
#[derive(Clone)]
pub struct SharedSettings(Arc<ArcSwap<Settings>>);

impl SharedSettings {
    pub fn new(settings: Settings) -> Self {
        Self(Arc::new(ArcSwap::from_pointee(settings)))
    }

    pub fn current(&self) -> Arc<Settings> {
        self.0.load_full()
    }

    pub fn replace(&self, settings: Settings) {
        self.0.store(Arc::new(settings));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_resolve() {
        let layers = ConfigLayers::load(None, &HashMap::new()).unwrap();
        let s = layers.resolve().unwrap();
        assert_eq!(s.port, 7861);
        assert_eq!(s.api_password(), "pwd");
        assert!(s.uses_default_password());
        assert_eq!(s.calls_per_rotation, 10);
        assert_eq!(s.auto_ban_error_codes, vec![403]);
    }

    #[test]
    fn keys_timezone_takes_iana_names_only() {
        let s = ConfigLayers::load(None, &HashMap::new())
            .unwrap()
            .resolve()
            .unwrap();
        assert_eq!(s.keys_timezone, "UTC");
        let layers = ConfigLayers::load(None, &env(&[("KEYS_TIMEZONE", "Asia/Tokyo")])).unwrap();
        assert_eq!(layers.resolve().unwrap().keys_timezone, "Asia/Tokyo");
        let err = ConfigLayers::load(None, &env(&[("KEYS_TIMEZONE", "Mars/Olympus")]))
            .and_then(|l| l.resolve())
            .unwrap_err();
        assert!(err.to_string().contains("KEYS_TIMEZONE"), "{err}");
    }

    #[test]
    fn specific_password_wins_over_shared() {
        let layers = ConfigLayers::load(
            None,
            &env(&[("PASSWORD", "shared"), ("PANEL_PASSWORD", "panel")]),
        )
        .unwrap();
        let s = layers.resolve().unwrap();
        assert_eq!(s.api_password(), "shared");
        assert_eq!(s.panel_password(), "panel");
        assert!(!s.uses_default_password());
    }

    #[test]
    fn env_beats_stored_beats_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "calls_per_rotation = 5\nretry_429_max_retries = 7\n").unwrap();
        let mut layers =
            ConfigLayers::load(Some(&path), &env(&[("RETRY_429_MAX_RETRIES", "9")])).unwrap();
        let mut stored = Map::new();
        stored.insert("calls_per_rotation".into(), serde_json::json!(6));
        stored.insert("retry_429_max_retries".into(), serde_json::json!(8));
        layers.set_stored(&stored);
        let s = layers.resolve().unwrap();
        assert_eq!(s.calls_per_rotation, 6);
        assert_eq!(s.retry_429_max_retries, 9);
        assert!(layers.env_locked().contains("retry_429_max_retries"));
    }

    #[test]
    fn unknown_toml_key_fails_clearly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "prot = 1\n").unwrap();
        let err = ConfigLayers::load(Some(&path), &HashMap::new()).unwrap_err();
        assert!(err.to_string().contains("unknown key `prot`"), "{err}");
    }

    #[test]
    fn shipped_config_file_loads_and_documents_every_key() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/gcli2api.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        for def in KEYS {
            assert!(text.contains(def.key), "config file misses {}", def.key);
            assert!(text.contains(def.env), "config file misses {}", def.env);
        }
        let layers = ConfigLayers::load(Some(&path), &HashMap::new()).unwrap();
        layers.resolve().unwrap();
    }
}
