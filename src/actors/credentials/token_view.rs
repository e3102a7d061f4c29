//! How a credential actor holds its credential JSON: the few fields a request or a status needs
//! (token, project, expiry, location), read once, and the JSON itself as one compact string, parsed
//! again only when a token is refreshed or the record is written or read. A parsed JSON object costs
//! about a kilobyte per credential in nodes and small strings, which is most of what an idle
//! credential weighs at 100,000 credentials; the string is the JSON's own length.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::credentials::google_names;
use crate::credentials::kinds::text;
use crate::credentials::CredentialKind;

/// The credential JSON, serialised.
pub struct CompactJson(Box<str>);

impl CompactJson {
    pub fn of(map: &Map<String, Value>) -> Self {
        // A map of JSON values always serialises; the fallback is unreachable.
        Self(
            serde_json::to_string(map)
                .unwrap_or_default()
                .into_boxed_str(),
        )
    }

    /// The JSON object again. The text was written by [`CompactJson::of`], so it always parses.
    pub fn map(&self) -> Map<String, Value> {
        serde_json::from_str(&self.0).unwrap_or_default()
    }
}

/// What the actor reads of its credential JSON on every status and every ready token.
#[derive(Default)]
pub struct TokenView {
    /// The access token (or the API key itself), shared with the published status and every lease.
    pub token: Option<Arc<str>>,
    pub project: Option<Arc<str>>,
    /// When the token expires, in unix seconds; 0 when unknown.
    pub expiry: i64,
    /// Why the credential JSON cannot be used, if it cannot.
    pub broken: Option<Box<str>>,
    /// An API key (never refreshed), rather than a login or a service account.
    pub api_key: bool,
    /// A Vertex service account: calls need a location.
    located: bool,
    /// The service account's own `location`, if it names one.
    own_location: Option<Arc<str>>,
}

impl TokenView {
    pub fn of(kind: CredentialKind, map: &Map<String, Value>) -> Self {
        let rules = kind.rules();
        let api_key = rules.is_api_key(map);
        let located = rules.needs_location(map);
        let own_location = located
            .then(|| text(map, "location"))
            .flatten()
            // A location not in Google's format never reaches a host name (the credential is
            // reported broken by `fields_of` too).
            .filter(|l| google_names::is_location(l))
            .map(Arc::from);
        let mut view = Self {
            api_key,
            located,
            own_location,
            ..Self::default()
        };
        match rules.fields(map) {
            Ok(fields) => {
                view.token = fields.access_token.map(Arc::from);
                view.project = fields.project_id.map(Arc::from);
                view.expiry = fields.expiry.map_or(0, |e| e.timestamp());
            }
            Err(reason) => view.broken = Some(reason.into_boxed_str()),
        }
        view
    }

    /// The Vertex region calls go to: the service account's own, else `default`; `None` for every
    /// credential that is not a service account.
    pub fn location(&self, default: &str) -> Option<Arc<str>> {
        if !self.located {
            return None;
        }
        Some(
            self.own_location
                .clone()
                .unwrap_or_else(|| Arc::from(default)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn compact_json_round_trips_every_field_in_order() {
        let map =
            obj(json!({"refresh_token": "rt", "token": "at", "extra": {"n": [1, 2]}, "a": null}));
        let compact = CompactJson::of(&map);
        assert_eq!(compact.map(), map);
        let keys: Vec<_> = compact.map().keys().cloned().collect();
        assert_eq!(keys, ["refresh_token", "token", "extra", "a"]);
    }

    #[test]
    fn the_view_matches_the_fields_of_each_kind() {
        let login = obj(json!({
            "client_id": "c", "client_secret": "s", "refresh_token": "rt",
            "token": "at", "expiry": "2030-01-01T00:00:00Z", "project_id": "p",
        }));
        let view = TokenView::of(CredentialKind::CodeAssist, &login);
        assert_eq!(view.token.as_deref(), Some("at"));
        assert_eq!(view.project.as_deref(), Some("p"));
        assert_eq!(view.expiry, 1_893_456_000);
        assert!(view.broken.is_none() && !view.api_key);
        assert_eq!(view.location("us-central1"), None);

        let key = obj(json!({"api_key": "AIzaKey"}));
        let view = TokenView::of(CredentialKind::GeminiApiKey, &key);
        assert!(view.api_key);
        assert_eq!(view.token.as_deref(), Some("AIzaKey"));

        let broken = TokenView::of(CredentialKind::GeminiApiKey, &obj(json!({})));
        assert_eq!(broken.broken.as_deref(), Some("credential lacks `api_key`"));

        let express = TokenView::of(CredentialKind::Vertex, &key);
        assert!(express.api_key);
        assert_eq!(express.location("us-central1"), None);
    }

    #[test]
    fn service_accounts_take_their_own_location_or_the_default() {
        let mut sa = obj(json!({
            "type": "service_account",
            "client_email": "sa@p.iam.gserviceaccount.com",
            "private_key": include_str!("../../../tests/fixtures/vertex_test_sa_private.pem"),
            "project_id": "vp",
        }));
        let view = TokenView::of(CredentialKind::Vertex, &sa);
        assert!(view.broken.is_none() && !view.api_key);
        assert_eq!(view.location("us-central1").as_deref(), Some("us-central1"));
        sa.insert("location".into(), json!("europe-west4"));
        let view = TokenView::of(CredentialKind::Vertex, &sa);
        assert_eq!(
            view.location("us-central1").as_deref(),
            Some("europe-west4")
        );
    }
}
