//! The table of every configuration key: its type, default, environment variable and whether a change
//! applies at once. One table drives the TOML loader, the env overlay, `/config/get` and `/config/save`.

use serde_json::{json, Value};

/// How a key's value is parsed and validated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    Bool,
    Int {
        min: i64,
        max: i64,
    },
    Float {
        min: f64,
        max: f64,
    },
    Str,
    /// A string that is never shown in clear by `/config/get`.
    Secret,
    /// Optional string; empty means unset.
    OptStr,
    IntList,
    StrList,
    /// One of a fixed set of words.
    OneOf(&'static [&'static str]),
    /// An IANA time-zone name (`UTC`, `Europe/Berlin`).
    TimeZone,
}

/// One configuration key.
#[derive(Debug, Clone, Copy)]
pub struct KeyDef {
    pub key: &'static str,
    pub env: &'static str,
    pub kind: Kind,
    /// Applied to the running gateway when saved from the panel; otherwise a restart is needed.
    pub hot: bool,
    pub doc: &'static str,
    default: fn() -> Value,
}

impl KeyDef {
    pub fn default_value(&self) -> Value {
        (self.default)()
    }
}

const fn def(
    key: &'static str,
    env: &'static str,
    kind: Kind,
    hot: bool,
    default: fn() -> Value,
    doc: &'static str,
) -> KeyDef {
    KeyDef {
        key,
        env,
        kind,
        hot,
        doc,
        default,
    }
}

const U16: Kind = Kind::Int { min: 0, max: 65535 };

/// Every key, in the order the panel shows them.
pub static KEYS: &[KeyDef] = &[
    def(
        "host",
        "HOST",
        Kind::Str,
        false,
        || json!("0.0.0.0"),
        "Address to listen on.",
    ),
    def(
        "port",
        "PORT",
        U16,
        false,
        || json!(7861),
        "Port to listen on.",
    ),
    def(
        "workers",
        "WORKERS",
        Kind::Int { min: 0, max: 256 },
        false,
        || json!(0),
        "HTTP worker threads; 0 means one per CPU core.",
    ),
    def(
        "shutdown_ready_delay",
        "SHUTDOWN_READY_DELAY",
        Kind::Int { min: 0, max: 3600 },
        false,
        || json!(5),
        "Seconds the listener keeps serving after SIGTERM/SIGINT while /readyz answers 503, so load balancers stop sending first.",
    ),
    def(
        "shutdown_timeout",
        "SHUTDOWN_TIMEOUT",
        Kind::Int { min: 1, max: 86_400 },
        false,
        || json!(60),
        "Seconds in-flight requests and streams may take to finish once the listener closed; streams still open then end with an error event.",
    ),
    def(
        "password",
        "PASSWORD",
        Kind::Secret,
        true,
        || json!("pwd"),
        "Shared password: fallback for both the API and the panel password.",
    ),
    def(
        "api_password",
        "API_PASSWORD",
        Kind::Secret,
        true,
        || Value::Null,
        "Password for the chat APIs (falls back to `password`).",
    ),
    def(
        "panel_password",
        "PANEL_PASSWORD",
        Kind::Secret,
        true,
        || Value::Null,
        "Password for the control panel (falls back to `password`).",
    ),
    def(
        "metrics_token",
        "METRICS_TOKEN",
        Kind::Secret,
        true,
        || Value::Null,
        "Bearer token that may read `/metrics` (besides the panel password and panel sessions); unset by default.",
    ),
    def(
        "allow_default_password",
        "ALLOW_DEFAULT_PASSWORD",
        Kind::Bool,
        false,
        || json!(false),
        "With the built-in password `pwd`, listen on HOST anyway (only when HOST is set too); otherwise the gateway listens on 127.0.0.1 until a password is set.",
    ),
    def(
        "request_history_size",
        "REQUEST_HISTORY_SIZE",
        Kind::Int { min: 0, max: 100_000 },
        false,
        || json!(1000),
        "Recent requests whose decision trace the panel's Requests view keeps in memory (0 keeps none).",
    ),
    def(
        "request_history_max_mb",
        "REQUEST_HISTORY_MAX_MB",
        Kind::Int { min: 1, max: 4096 },
        false,
        || json!(32),
        "Most MiB of decision traces the Requests view keeps; the oldest go first.",
    ),
    def(
        "audit_retention_days",
        "AUDIT_RETENTION_DAYS",
        Kind::Int { min: 1, max: 3650 },
        true,
        || json!(90),
        "Days the audit log keeps an entry (at most 50,000 entries are kept whatever their age).",
    ),
    def(
        "credentials_dir",
        "CREDENTIALS_DIR",
        Kind::Str,
        false,
        || json!("./creds"),
        "Directory of the file store and of credential JSON files to import.",
    ),
    def(
        "code_assist_endpoint",
        "CODE_ASSIST_ENDPOINT",
        Kind::Str,
        true,
        || json!("https://cloudcode-pa.googleapis.com"),
        "Code Assist API base URL.",
    ),
    def(
        "gemini_api_endpoint",
        "GEMINI_API_ENDPOINT",
        Kind::Str,
        true,
        || json!("https://generativelanguage.googleapis.com"),
        "Generative Language API base URL (credentials of kind gemini_api_key).",
    ),
    def(
        "vertex_endpoint",
        "VERTEX_ENDPOINT",
        Kind::OptStr,
        true,
        || Value::Null,
        "Vertex AI base URL; empty: https://{location}-aiplatform.googleapis.com (aiplatform.googleapis.com for express keys and location global).",
    ),
    def(
        "vertex_location",
        "VERTEX_LOCATION",
        Kind::Str,
        true,
        || json!("us-central1"),
        "Vertex AI location of service accounts whose JSON names none.",
    ),
    def(
        "upstream_preference",
        "UPSTREAM_PREFERENCE",
        Kind::StrList,
        true,
        || json!([]),
        "Order of credential kinds (code_assist, gemini_api_key, vertex); unlisted kinds come last. Empty: every kind shares one rotation.",
    ),
    def(
        "code_assist_models",
        "CODE_ASSIST_MODELS",
        Kind::StrList,
        true,
        || json!(["*"]),
        "Models Code Assist credentials serve (names, `*` wildcards).",
    ),
    def(
        "gemini_api_key_models",
        "GEMINI_API_KEY_MODELS",
        Kind::StrList,
        true,
        || json!(["gemini-*"]),
        "Models Gemini API keys serve (names, `*` wildcards).",
    ),
    def(
        "vertex_models",
        "VERTEX_MODELS",
        Kind::StrList,
        true,
        || json!(["gemini-*"]),
        "Models Vertex AI credentials serve (names, `*` wildcards).",
    ),
    def(
        "oauth_proxy_url",
        "OAUTH_PROXY_URL",
        Kind::Str,
        true,
        || json!("https://oauth2.googleapis.com"),
        "OAuth token endpoint base URL.",
    ),
    def(
        "googleapis_proxy_url",
        "GOOGLEAPIS_PROXY_URL",
        Kind::Str,
        true,
        || json!("https://www.googleapis.com"),
        "Google APIs base URL (userinfo).",
    ),
    def(
        "resource_manager_api_url",
        "RESOURCE_MANAGER_API_URL",
        Kind::Str,
        true,
        || json!("https://cloudresourcemanager.googleapis.com"),
        "Resource Manager base URL (project list).",
    ),
    def(
        "service_usage_api_url",
        "SERVICE_USAGE_API_URL",
        Kind::Str,
        true,
        || json!("https://serviceusage.googleapis.com"),
        "Service Usage base URL (enabling APIs).",
    ),
    def(
        "oauth_auth_url",
        "OAUTH_AUTH_URL",
        Kind::Str,
        true,
        || json!("https://accounts.google.com/o/oauth2/auth"),
        "Google consent page.",
    ),
    def(
        "oauth_redirect_uri",
        "OAUTH_REDIRECT_URI",
        Kind::OptStr,
        true,
        || Value::Null,
        "OAuth redirect URI; default http://localhost:<port>/oauth2callback.",
    ),
    def(
        "proxy",
        "PROXY",
        Kind::OptStr,
        false,
        || Value::Null,
        "Outbound HTTP(S) proxy URL, tunnelled with CONNECT.",
    ),
    def(
        "upstream_ca_file",
        "UPSTREAM_CA_FILE",
        Kind::OptStr,
        false,
        || Value::Null,
        "Extra PEM CA bundle trusted for upstream HTTPS.",
    ),
    def(
        "upstream_connect_timeout",
        "UPSTREAM_CONNECT_TIMEOUT",
        Kind::Int { min: 1, max: 300 },
        false,
        || json!(10),
        "Seconds to establish an upstream connection.",
    ),
    def(
        "upstream_timeout",
        "UPSTREAM_TIMEOUT",
        Kind::Int { min: 1, max: 86_400 },
        false,
        || json!(900),
        "Seconds for a whole non-streaming upstream call.",
    ),
    def(
        "stream_idle_timeout",
        "STREAM_IDLE_TIMEOUT",
        Kind::Int { min: 1, max: 86_400 },
        true,
        || json!(300),
        "Longest silence in seconds between stream events before the stream is treated as dead.",
    ),
    def(
        "calls_per_rotation",
        "CALLS_PER_ROTATION",
        Kind::Int { min: 1, max: 1_000_000 },
        true,
        || json!(10),
        "Calls a credential serves before the next one takes over.",
    ),
    def(
        "session_affinity",
        "SESSION_AFFINITY",
        Kind::Bool,
        true,
        || json!(true),
        "Send the turns of one conversation to the same credential while it stays usable.",
    ),
    def(
        "session_affinity_ttl",
        "SESSION_AFFINITY_TTL",
        Kind::Int { min: 1, max: 2_592_000 },
        true,
        || json!(3600),
        "Seconds a conversation stays bound to its credential after its last request.",
    ),
    def(
        "session_affinity_max_sessions",
        "SESSION_AFFINITY_MAX_SESSIONS",
        Kind::Int { min: 1, max: 10_000_000 },
        true,
        || json!(100_000),
        "Most conversations remembered per instance; the least recently used are forgotten first.",
    ),
    def(
        "retry_429_enabled",
        "RETRY_429_ENABLED",
        Kind::Bool,
        true,
        || json!(true),
        "Retry 429/500/503 on another credential.",
    ),
    def(
        "retry_429_max_retries",
        "RETRY_429_MAX_RETRIES",
        Kind::Int { min: 0, max: 100 },
        true,
        || json!(3),
        "Retries after the first attempt.",
    ),
    def(
        "retry_429_interval",
        "RETRY_429_INTERVAL",
        Kind::Float {
            min: 0.0,
            max: 60.0,
        },
        true,
        || json!(1.0),
        "Seconds to wait before a retry.",
    ),
    def(
        "auto_ban",
        "AUTO_BAN",
        Kind::Bool,
        true,
        || json!(true),
        "Disable a credential answering a status in auto_ban_error_codes.",
    ),
    def(
        "auto_ban_error_codes",
        "AUTO_BAN_ERROR_CODES",
        Kind::IntList,
        true,
        || json!([403]),
        "Statuses that disable a credential.",
    ),
    def(
        "cooldown_max_seconds",
        "COOLDOWN_MAX_SECONDS",
        Kind::Int { min: 1, max: 2_592_000 },
        true,
        || json!(86400),
        "Upper bound of a 429 cooldown.",
    ),
    def(
        "quota_refresh_seconds",
        "QUOTA_REFRESH_SECONDS",
        Kind::Int { min: 0, max: 86_400 },
        true,
        || json!(300),
        "Seconds between quota fetches (retrieveUserQuota) per Code Assist credential; 0: only at start, after a 429 and on demand.",
    ),
    def(
        "rotation_policy",
        "ROTATION_POLICY",
        Kind::OneOf(&["round_robin", "most_remaining", "earliest_reset", "fill_first"]),
        true,
        || json!("round_robin"),
        "Which credential serves next, within the kind order: round_robin, most_remaining, earliest_reset or fill_first.",
    ),
    def(
        "credits_overage",
        "CREDITS_OVERAGE",
        Kind::OneOf(&["never", "always"]),
        true,
        || json!("never"),
        "Spend Google One AI credits once the free quota is out: never or always.",
    ),
    def(
        "credits_models",
        "CREDITS_MODELS",
        Kind::StrList,
        true,
        || json!([]),
        "Models whose requests may spend credits (empty: all).",
    ),
    def(
        "model_refresh_seconds",
        "MODEL_REFRESH_SECONDS",
        Kind::Int { min: 0, max: 604_800 },
        true,
        || json!(3600),
        "Seconds between model-list fetches per credential; 0 turns the live catalogue off.",
    ),
    def(
        "model_aliases",
        "MODEL_ALIASES",
        Kind::StrList,
        true,
        || json!(["code_assist:gemini-3.5-flash=gemini-3-flash"]),
        "Model ids Google knows by another name: `[kind:]asked=sent`.",
    ),
    def(
        "rate_limit_backoff_seconds",
        "RATE_LIMIT_BACKOFF_SECONDS",
        Kind::Int { min: 1, max: 60 },
        true,
        || json!(2),
        "First rest after a 429 that names no wait; doubles per 429 in a row, reset by a success.",
    ),
    def(
        "anti_truncation_max_attempts",
        "ANTI_TRUNCATION_MAX_ATTEMPTS",
        Kind::Int { min: 1, max: 10 },
        true,
        || json!(3),
        "Attempts of the anti-truncation mode.",
    ),
    def(
        "compatibility_mode",
        "COMPATIBILITY_MODE",
        Kind::Bool,
        true,
        || json!(false),
        "Send system messages as user messages.",
    ),
    def(
        "return_thoughts_to_frontend",
        "RETURN_THOUGHTS_TO_FRONTEND",
        Kind::Bool,
        true,
        || json!(true),
        "Return thinking as reasoning_content.",
    ),
    def(
        "fake_stream_heartbeat_interval",
        "FAKE_STREAM_HEARTBEAT_INTERVAL",
        Kind::Float {
            min: 0.1,
            max: 60.0,
        },
        true,
        || json!(3.0),
        "Seconds between heartbeats of fake streaming.",
    ),
    def(
        "base_models",
        "BASE_MODELS",
        Kind::StrList,
        true,
        || json!([]),
        "Models listed and served by every credential, beyond the live catalogue and the built-in list.",
    ),
    def(
        "anthropic_model_map",
        "ANTHROPIC_MODEL_MAP",
        Kind::StrList,
        true,
        || json!(crate::convert::anthropic::model::default_model_map()),
        "Claude model names on /v1/messages: `<name part>=<Gemini model>`, first match wins.",
    ),
    def(
        "anthropic_fallback_map",
        "ANTHROPIC_FALLBACK_MAP",
        Kind::StrList,
        true,
        || json!([]),
        "Model tried next on /v1/messages with `fallbacks: \"default\"` when Google has no capacity: `<Gemini model>=<next model>`.",
    ),
    def(
        "image_fetch_allow_private",
        "IMAGE_FETCH_ALLOW_PRIVATE",
        Kind::Bool,
        true,
        || json!(false),
        "Allow image URLs on loopback/private networks.",
    ),
    def(
        "image_fetch_max_bytes",
        "IMAGE_FETCH_MAX_BYTES",
        Kind::Int { min: 1, max: 104_857_600 },
        true,
        || json!(20 * 1024 * 1024),
        "Largest image fetched from a URL.",
    ),
    def(
        "max_image_bytes_per_request",
        "MAX_IMAGE_BYTES_PER_REQUEST",
        Kind::Int { min: 1, max: 1_073_741_824 },
        true,
        || json!(40 * 1000 * 1000),
        "Bytes of remote images one request may download in total (400 past it).",
    ),
    def(
        "responses_store_ttl",
        "RESPONSES_STORE_TTL",
        Kind::Int { min: 1, max: 604_800 },
        true,
        || json!(3600),
        "Seconds a stored /v1/responses answer stays available to previous_response_id and GET.",
    ),
    def(
        "responses_store_max",
        "RESPONSES_STORE_MAX",
        Kind::Int { min: 1, max: 1_000_000 },
        true,
        || json!(1000),
        "Most /v1/responses answers kept in memory; the oldest goes first.",
    ),
    def(
        "responses_store_max_mb",
        "RESPONSES_STORE_MAX_MB",
        Kind::Int { min: 1, max: 65_536 },
        true,
        || json!(64),
        "Most MiB of /v1/responses answers kept in memory; the oldest go first.",
    ),
    def(
        "daily_limit_total",
        "DAILY_LIMIT_TOTAL",
        Kind::Int { min: 0, max: 1_000_000_000 },
        true,
        || json!(1000),
        "Default daily call limit per credential (display).",
    ),
    def(
        "daily_limit_pro",
        "DAILY_LIMIT_PRO",
        Kind::Int { min: 0, max: 1_000_000_000 },
        true,
        || json!(100),
        "Default daily gemini-2.5-pro limit per credential (display).",
    ),
    def(
        "auto_load_env_creds",
        "AUTO_LOAD_ENV_CREDS",
        Kind::Bool,
        false,
        || json!(false),
        "Import GCLI_CREDS_* / GOOGLE_CREDENTIALS at start.",
    ),
    def(
        "public_onboarding",
        "PUBLIC_ONBOARDING",
        Kind::Bool,
        true,
        || json!(true),
        "Anyone who can reach /auth may add a Google account; false keeps OAuth sign-in to the panel.",
    ),
    def(
        "trusted_proxies",
        "TRUSTED_PROXIES",
        Kind::StrList,
        true,
        || json!([]),
        "Reverse proxies (CIDRs or addresses) whose forwarding header (TRUSTED_PROXY_HEADER) names the client.",
    ),
    def(
        "trusted_proxy_header",
        "TRUSTED_PROXY_HEADER",
        Kind::OneOf(&["x-forwarded-for", "forwarded"]),
        true,
        || json!("x-forwarded-for"),
        "The header the trusted proxies set: x-forwarded-for or forwarded (RFC 7239); the other is ignored.",
    ),
    def(
        "keys_timezone",
        "KEYS_TIMEZONE",
        Kind::TimeZone,
        false,
        || json!("UTC"),
        "Time zone (IANA name) of the calendar windows `day` and `month` of API key limits.",
    ),
    def(
        "max_request_body_mb",
        "MAX_REQUEST_BODY_MB",
        Kind::Int { min: 1, max: 1024 },
        true,
        || json!(20),
        "Largest client API request body in MiB (Google refuses requests over 20 MB).",
    ),
    def(
        "client_body_timeout",
        "CLIENT_BODY_TIMEOUT",
        Kind::Int { min: 1, max: 3600 },
        true,
        || json!(30),
        "Seconds a client may take to send a request body (408 after).",
    ),
    def(
        "responses_ws_max_connections",
        "RESPONSES_WS_MAX_CONNECTIONS",
        Kind::Int { min: 1, max: 100000 },
        true,
        || json!(512),
        "Open Responses WebSocket connections (GET /v1/responses) one instance accepts; more get 503.",
    ),
    def(
        "responses_ws_idle_timeout",
        "RESPONSES_WS_IDLE_TIMEOUT",
        Kind::Int { min: 10, max: 3600 },
        true,
        || json!(900),
        "Seconds a Responses WebSocket may wait between responses before it is closed.",
    ),
    def(
        "max_inflight_body_mb",
        "MAX_INFLIGHT_BODY_MB",
        Kind::Int { min: 1, max: 65536 },
        false,
        || json!(48),
        "Request body MiB held by all requests at once; past it new requests get 503.",
    ),
    def(
        "max_inflight_body_per_caller_mb",
        "MAX_INFLIGHT_BODY_PER_CALLER_MB",
        Kind::Int { min: 1, max: 65_536 },
        false,
        || json!(24),
        "Request body MiB one caller (an sk- key, or an address using the password) may hold at once; past it its new requests get 503.",
    ),
    def(
        "jwt_expiry_hours",
        "JWT_EXPIRY_HOURS",
        Kind::Int { min: 1, max: 8_760 },
        true,
        || json!(24),
        "Lifetime of a panel login.",
    ),
    def(
        "log_level",
        "LOG_LEVEL",
        Kind::Str,
        false,
        || json!("info"),
        "debug, info, warn or error.",
    ),
    def(
        "log_file",
        "LOG_FILE",
        Kind::OptStr,
        false,
        || json!("log.txt"),
        "Log file; empty disables it.",
    ),
    def(
        "log_file_max_mb",
        "LOG_FILE_MAX_MB",
        Kind::Int {
            min: 1,
            max: 1_048_576,
        },
        false,
        || json!(100),
        "Largest log file in MiB; past it the file becomes <file>.1 (the one before is deleted) and a new file starts.",
    ),
    def(
        "redis_uri",
        "REDIS_URI",
        Kind::OptStr,
        false,
        || Value::Null,
        "Redis store (highest priority).",
    ),
    def(
        "redis_database",
        "REDIS_DATABASE",
        Kind::Int { min: 0, max: 1_000_000 },
        false,
        || json!(0),
        "Redis database index.",
    ),
    def(
        "redis_ca_cert",
        "REDIS_CA_CERT",
        Kind::OptStr,
        false,
        || Value::Null,
        "PEM file of the CAs trusted for a rediss:// store instead of the public roots.",
    ),
    def(
        "redis_client_cert",
        "REDIS_CLIENT_CERT",
        Kind::OptStr,
        false,
        || Value::Null,
        "PEM client certificate (chain) for a rediss:// store; needs REDIS_CLIENT_KEY.",
    ),
    def(
        "redis_client_key",
        "REDIS_CLIENT_KEY",
        Kind::OptStr,
        false,
        || Value::Null,
        "PEM private key of REDIS_CLIENT_CERT.",
    ),
    def(
        "postgres_dsn",
        "POSTGRES_DSN",
        Kind::OptStr,
        false,
        || Value::Null,
        "PostgreSQL store; TLS by the DSN's sslmode, sslrootcert, sslcert, sslkey and channel_binding.",
    ),
    def(
        "mongodb_uri",
        "MONGODB_URI",
        Kind::OptStr,
        false,
        || Value::Null,
        "MongoDB store.",
    ),
    def(
        "mongodb_database",
        "MONGODB_DATABASE",
        Kind::Str,
        false,
        || json!("gcli2api"),
        "MongoDB database name.",
    ),
    def(
        "storage_prefix",
        "STORAGE_PREFIX",
        Kind::Str,
        false,
        || json!("gcli2api"),
        "Key prefix / schema name in shared stores.",
    ),
];

pub fn find(key: &str) -> Option<&'static KeyDef> {
    KEYS.iter().find(|k| k.key == key)
}

/// Parses an environment string into the key's JSON value.
pub fn parse_env(def: &KeyDef, raw: &str) -> Result<Value, String> {
    let raw = raw.trim();
    match def.kind {
        Kind::Bool => match raw.to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(json!(true)),
            "0" | "false" | "no" | "off" => Ok(json!(false)),
            _ => Err(format!("{}: expected true or false, got {raw:?}", def.env)),
        },
        Kind::Int { min, max } => raw.parse::<i64>().map(|n| json!(n)).map_err(|_| {
            format!(
                "{}: expected an integer from {min} to {max}, got {raw:?}",
                def.env
            )
        }),
        Kind::Float { .. } => raw
            .parse::<f64>()
            .map(|n| json!(n))
            .map_err(|_| format!("{}: expected a number, got {raw:?}", def.env)),
        Kind::Str | Kind::Secret => Ok(json!(raw)),
        Kind::OneOf(words) => one_of(def.env, words, raw),
        Kind::TimeZone => time_zone(def.env, raw),
        Kind::OptStr => Ok(if raw.is_empty() {
            Value::Null
        } else {
            json!(raw)
        }),
        Kind::IntList => raw
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.parse::<i64>().map(|n| json!(n)))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array)
            .map_err(|_| {
                format!(
                    "{}: expected comma-separated integers, got {raw:?}",
                    def.env
                )
            }),
        Kind::StrList => Ok(Value::Array(
            raw.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| json!(s))
                .collect(),
        )),
    }
}

/// Checks and normalises a JSON value (from TOML, the store or the panel) for the key.
pub fn validate(def: &KeyDef, value: &Value) -> Result<Value, String> {
    let key = def.key;
    match (def.kind, value) {
        (Kind::OptStr | Kind::Secret, Value::Null) => Ok(Value::Null),
        (Kind::Bool, Value::Bool(_)) => Ok(value.clone()),
        (Kind::Int { min, max }, Value::Number(n)) => match n.as_i64() {
            Some(i) if (min..=max).contains(&i) => Ok(json!(i)),
            _ => Err(format!("{key}: expected an integer from {min} to {max}")),
        },
        (Kind::Float { min, max }, Value::Number(n)) => match n.as_f64() {
            Some(f) if f >= min && f <= max => Ok(json!(f)),
            _ => Err(format!("{key}: expected a number from {min} to {max}")),
        },
        (Kind::Str | Kind::Secret, Value::String(s)) if !s.is_empty() => Ok(value.clone()),
        (Kind::OptStr, Value::String(s)) => Ok(if s.trim().is_empty() {
            Value::Null
        } else {
            json!(s.trim())
        }),
        (Kind::IntList, Value::Array(items)) if items.iter().all(|v| v.as_i64().is_some()) => {
            Ok(value.clone())
        }
        (Kind::StrList, Value::Array(items)) if items.iter().all(Value::is_string) => {
            Ok(value.clone())
        }
        (Kind::IntList | Kind::StrList, Value::String(s)) => parse_env(def, s),
        (Kind::OneOf(words), Value::String(s)) => one_of(key, words, s),
        (Kind::TimeZone, Value::String(s)) => time_zone(key, s),
        _ => Err(format!("{key}: {}", expected(def.kind))),
    }
}

fn expected(kind: Kind) -> &'static str {
    match kind {
        Kind::Bool => "expected true or false",
        Kind::Int { .. } => "expected an integer",
        Kind::Float { .. } => "expected a number",
        Kind::Str | Kind::Secret => "expected a non-empty string",
        Kind::OptStr => "expected a string",
        Kind::IntList => "expected a list of integers",
        Kind::StrList => "expected a list of strings",
        Kind::OneOf(_) => "expected one of the listed words",
        Kind::TimeZone => "expected an IANA time-zone name such as UTC or Europe/Berlin",
    }
}

/// An IANA time-zone name, as the time-zone database compiled into the binary knows them.
fn time_zone(name: &str, raw: &str) -> Result<Value, String> {
    let raw = raw.trim();
    jiff::tz::TimeZone::get(raw)
        .map(|_| json!(raw))
        .map_err(|_| {
            format!(
                "{name}: expected an IANA time-zone name such as UTC or Europe/Berlin, got {raw:?}"
            )
        })
}

/// `raw` when it is one of `words` (case and surrounding blanks ignored).
fn one_of(name: &str, words: &[&str], raw: &str) -> Result<Value, String> {
    let word = raw.trim().to_ascii_lowercase();
    if words.contains(&word.as_str()) {
        Ok(json!(word))
    } else {
        Err(format!(
            "{name}: expected one of {}, got {raw:?}",
            words.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_values_are_parsed_by_kind() {
        let codes = find("auto_ban_error_codes").unwrap();
        assert_eq!(parse_env(codes, "400, 403").unwrap(), json!([400, 403]));
        let ban = find("auto_ban").unwrap();
        assert_eq!(parse_env(ban, "Yes").unwrap(), json!(true));
        assert!(parse_env(ban, "maybe").is_err());
        let port = find("port").unwrap();
        assert!(parse_env(port, "x").is_err());
    }

    #[test]
    fn validation_enforces_ranges() {
        let attempts = find("anti_truncation_max_attempts").unwrap();
        assert!(validate(attempts, &json!(0)).is_err());
        assert_eq!(validate(attempts, &json!(5)).unwrap(), json!(5));
        assert!(validate(attempts, &json!("5")).is_err());
    }

    #[test]
    fn every_key_has_a_valid_default_and_unique_names() {
        for def in KEYS {
            let default = def.default_value();
            assert!(validate(def, &default).is_ok(), "{}", def.key);
            assert_eq!(KEYS.iter().filter(|k| k.key == def.key).count(), 1);
            assert_eq!(KEYS.iter().filter(|k| k.env == def.env).count(), 1);
        }
    }
}
