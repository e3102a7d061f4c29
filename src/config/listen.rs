//! Where the gateway listens. The built-in password `pwd` is public knowledge, so with it the gateway
//! serves this machine only (127.0.0.1) unless the operator both names `HOST` and says
//! `ALLOW_DEFAULT_PASSWORD=true`: a fresh install that a network can reach must not hand anyone the pool
//! and the panel.

use super::Settings;

/// The address to bind, and the one start-up line that explains a choice the operator did not make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenChoice {
    pub host: String,
    pub notice: Option<String>,
}

/// True for addresses only this machine can reach.
fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// `host_set` is whether `HOST` was given in any layer (environment, file or saved config).
pub fn listen_host(settings: &Settings, host_set: bool) -> ListenChoice {
    let configured = settings.host.clone();
    if !settings.uses_default_password() || is_loopback(&configured) {
        return ListenChoice {
            host: configured,
            notice: None,
        };
    }
    if host_set && settings.allow_default_password {
        return ListenChoice {
            notice: Some(format!(
                "the built-in password `pwd` is in use on {configured} (ALLOW_DEFAULT_PASSWORD=true): anyone who can reach this address can use the pool and the panel; set PASSWORD"
            )),
            host: configured,
        };
    }
    ListenChoice {
        notice: Some(format!(
            "the built-in password `pwd` is in use, so the gateway listens on 127.0.0.1 only: set PASSWORD=<your secret> (or API_PASSWORD and PANEL_PASSWORD) and restart to listen on {configured}"
        )),
        host: "127.0.0.1".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigLayers;
    use std::collections::HashMap;

    fn settings(pairs: &[(&str, &str)]) -> Settings {
        let env: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ConfigLayers::load(None, &env).unwrap().resolve().unwrap()
    }

    #[test]
    fn the_default_password_keeps_the_gateway_on_loopback() {
        let choice = listen_host(&settings(&[]), false);
        assert_eq!(choice.host, "127.0.0.1");
        assert!(choice.notice.unwrap().contains("set PASSWORD"));
        let explicit = settings(&[("HOST", "0.0.0.0")]);
        assert_eq!(listen_host(&explicit, true).host, "127.0.0.1");
        let allowed = settings(&[("HOST", "0.0.0.0"), ("ALLOW_DEFAULT_PASSWORD", "true")]);
        assert_eq!(listen_host(&allowed, true).host, "0.0.0.0");
        assert_eq!(listen_host(&allowed, false).host, "127.0.0.1");
    }

    #[test]
    fn a_real_password_listens_where_configured() {
        let choice = listen_host(&settings(&[("PASSWORD", "s3cret-enough")]), false);
        assert_eq!(choice.host, "0.0.0.0");
        assert_eq!(choice.notice, None);
        let loopback = listen_host(&settings(&[("HOST", "::1")]), true);
        assert_eq!(loopback.host, "::1");
        assert_eq!(loopback.notice, None);
    }
}
