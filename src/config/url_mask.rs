//! User names and passwords inside URL-valued settings (`proxy`, `redis_uri`, `postgres_dsn`,
//! `mongodb_uri`, …) are secrets too: `/config/get` shows them masked, and saving the masked text back
//! leaves the stored value alone.

use serde_json::Value;

/// What replaces the user-info part of a URL.
pub const MASK: &str = "********";

/// `scheme://user:pass@host/…` → `scheme://********@host/…`; a key=value PostgreSQL DSN gets its
/// `password=` masked. `None` when there is nothing to hide.
pub fn mask_credentials(text: &str) -> Option<String> {
    if let Some((scheme, rest)) = text.split_once("://") {
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let authority = rest.get(..authority_end)?;
        let (user_masked, host_and_path) = match authority.rfind('@') {
            Some(at) => (true, rest.get(at + 1..)?),
            None => (false, rest),
        };
        let (host_and_path, query_masked) = mask_query_secrets(host_and_path);
        if !user_masked && !query_masked {
            return None;
        }
        let user = if user_masked {
            format!("{MASK}@")
        } else {
            String::new()
        };
        return Some(format!("{scheme}://{user}{host_and_path}"));
    }
    let mut changed = false;
    let masked: Vec<String> = text
        .split_whitespace()
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if key.eq_ignore_ascii_case("password") => {
                changed = true;
                format!("{key}={MASK}")
            }
            _ => pair.to_string(),
        })
        .collect();
    changed.then(|| masked.join(" "))
}

/// Query parameters that carry a secret in store URLs (`?password=`, libpq's `sslpassword`, …).
fn is_secret_param(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name.contains("password")
        || name.contains("secret")
        || name.contains("token")
        || matches!(name.as_str(), "pass" | "pwd" | "key" | "apikey" | "api_key")
}

/// `host/path?user=a&password=b#f` → `host/path?user=a&password=********#f`, and whether it changed.
fn mask_query_secrets(host_and_path: &str) -> (String, bool) {
    let Some((before, after)) = host_and_path.split_once('?') else {
        return (host_and_path.to_string(), false);
    };
    let (query, fragment) = match after.split_once('#') {
        Some((q, f)) => (q, Some(f)),
        None => (after, None),
    };
    let mut changed = false;
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if is_secret_param(name) => {
                changed = true;
                format!("{name}={MASK}")
            }
            _ => pair.to_string(),
        })
        .collect();
    let mut out = format!("{before}?{}", pairs.join("&"));
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    (out, changed)
}

/// The value as `/config/get` shows it.
pub fn masked_value(value: &Value) -> Value {
    match value {
        Value::String(s) => mask_credentials(s).map_or_else(|| value.clone(), Value::String),
        other => other.clone(),
    }
}

/// True when `submitted` is just the masked form of `current` sent back: keep `current`.
pub fn is_masked_echo(submitted: &Value, current: Option<&Value>) -> bool {
    match (submitted.as_str(), current.and_then(Value::as_str)) {
        (Some(submitted), Some(current)) => {
            mask_credentials(current).is_some_and(|masked| masked == submitted)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn user_info_is_masked_in_every_url_form() {
        assert_eq!(
            mask_credentials("http://bob:hunter2@proxy:3128").as_deref(),
            Some("http://********@proxy:3128")
        );
        assert_eq!(
            mask_credentials("redis://:pw@127.0.0.1:6379/3").as_deref(),
            Some("redis://********@127.0.0.1:6379/3")
        );
        assert_eq!(
            mask_credentials("mongodb://u:p@a,b/db?authSource=x@y").as_deref(),
            Some("mongodb://********@a,b/db?authSource=x@y")
        );
        assert_eq!(
            mask_credentials("host=db user=app password=s3cret").as_deref(),
            Some("host=db user=app password=********")
        );
        assert_eq!(mask_credentials("http://proxy:3128"), None);
        assert_eq!(
            mask_credentials("redis://127.0.0.1:6379/0?password=hunter2&db=1").as_deref(),
            Some("redis://127.0.0.1:6379/0?password=********&db=1")
        );
        assert_eq!(
            mask_credentials("postgres://u:p@db/x?sslpassword=k&sslmode=require").as_deref(),
            Some("postgres://********@db/x?sslpassword=********&sslmode=require")
        );
        assert_eq!(mask_credentials("redis://h:6379/0?db=1"), None);
        assert_eq!(mask_credentials("./creds"), None);
        let current = json!("socks5://a:b@h:1");
        assert!(is_masked_echo(
            &json!("socks5://********@h:1"),
            Some(&current)
        ));
        assert!(!is_masked_echo(&json!("socks5://c:d@h:1"), Some(&current)));
        assert_eq!(masked_value(&json!(3)), json!(3));
    }
}
