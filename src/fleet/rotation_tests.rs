//! The rotation policy as request workers run it, on a fleet built from plain values: each slot's
//! handle is its index (no actor, no actix system), and statuses are published straight into the
//! slots' `LiveCredential`s as a credential actor would.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::json;

use super::choice::ChoiceRequest;
use super::{
    Choice, CredentialError, CredentialStatus, FleetSnapshot, FleetView, LiveCredential, Slot,
};
use crate::config::{ConfigLayers, Settings};
use crate::convert::session_key::{SessionKey, SessionParts};
use crate::credentials::CredentialKind;

const NOW: i64 = 1_000_000;
const MODEL: &str = "gemini-2.5-pro";
const PREVIEW: &str = "gemini-3-pro-preview";

fn settings() -> Settings {
    ConfigLayers::load(None, &HashMap::new())
        .and_then(|layers| layers.resolve())
        .unwrap()
}

/// Settings with one call per credential and no session binding, unless a test says otherwise.
fn plain() -> Settings {
    let mut s = settings();
    s.calls_per_rotation = 1;
    s.session_affinity = false;
    s
}

/// A Code Assist credential that may serve now: enabled, a valid token, a project, preview access.
fn ready() -> CredentialStatus {
    CredentialStatus {
        kind: CredentialKind::CodeAssist,
        enabled: true,
        access_token: Some(Arc::from("token")),
        token_valid_until: NOW + 3600,
        project: Some(Arc::from("project")),
        preview: true,
        ..CredentialStatus::default()
    }
}

/// Usable, but its token must be refreshed first.
fn unready() -> CredentialStatus {
    CredentialStatus {
        access_token: None,
        ..ready()
    }
}

fn cooling(model: &str, until: i64) -> CredentialStatus {
    let mut status = ready();
    status.cooldowns.insert(model.to_string(), until);
    status
}

/// A fleet of the named credentials in rotation order; each slot's handle is its index.
fn fleet(members: Vec<(&str, CredentialStatus)>) -> FleetView<usize> {
    let slots = members
        .into_iter()
        .enumerate()
        .map(|(i, (name, status))| {
            Slot::new(Arc::from(name), i, Arc::new(LiveCredential::new(status)))
        })
        .collect();
    let view = FleetView::default();
    view.publish(FleetSnapshot::new(slots));
    view
}

/// Publishes a new status for `name`, as its actor would.
fn set(view: &FleetView<usize>, name: &str, status: CredentialStatus) {
    view.snapshot().get(name).unwrap().live.publish(status);
}

fn session(id: &str) -> SessionKey {
    SessionKey::of(SessionParts {
        client_key: Some(id),
        header: None,
        model: MODEL,
        gemini_request: &json!({}),
    })
    .unwrap()
}

struct Ask<'a> {
    model: &'a str,
    exclude: &'a [Arc<str>],
    session: Option<SessionKey>,
}

const PLAIN: Ask<'static> = Ask {
    model: MODEL,
    exclude: &[],
    session: None,
};

fn choose(
    view: &FleetView<usize>,
    settings: &Settings,
    ask: &Ask<'_>,
) -> Result<Choice<usize>, CredentialError> {
    let req = ChoiceRequest {
        base_model: ask.model,
        exclude: ask.exclude,
        session: ask.session,
        settings,
    };
    view.choose(&req, NOW)
}

/// The name of a ready credential chosen; fails on a refresh or an error.
fn ready_name(view: &FleetView<usize>, settings: &Settings, ask: &Ask<'_>) -> String {
    match choose(view, settings, ask) {
        Ok(Choice::Ready(lease)) => {
            assert_eq!(
                view.snapshot().slots()[lease.actor].name,
                lease.name,
                "the lease carries its own slot's handle"
            );
            lease.name.to_string()
        }
        Ok(Choice::NeedsRefresh { name, .. }) => panic!("{name} needs a refresh"),
        Err(e) => panic!("nothing chosen: {e}"),
    }
}

fn names(view: &FleetView<usize>, settings: &Settings, n: usize) -> Vec<String> {
    (0..n).map(|_| ready_name(view, settings, &PLAIN)).collect()
}

#[test]
fn each_credential_serves_calls_per_rotation_calls_in_turn() {
    let view = fleet(vec![("a", ready()), ("b", ready()), ("c", ready())]);
    let mut s = plain();
    s.calls_per_rotation = 2;
    assert_eq!(
        names(&view, &s, 7),
        ["a", "a", "b", "b", "c", "c", "a"],
        "two calls each, then the next, round and round"
    );
    s.calls_per_rotation = 1;
    assert_eq!(names(&view, &s, 3), ["a", "b", "c"]);
}

#[test]
fn a_skipped_credential_hands_the_cursor_on() {
    let view = fleet(vec![("a", ready()), ("b", ready()), ("c", ready())]);
    let mut s = plain();
    s.calls_per_rotation = 3;
    assert_eq!(names(&view, &s, 1), ["a"]);
    set(
        &view,
        "a",
        CredentialStatus {
            enabled: false,
            ..ready()
        },
    );
    // `b` takes over with a fresh count of its own.
    assert_eq!(names(&view, &s, 4), ["b", "b", "b", "c"]);
}

#[test]
fn disabled_broken_cooling_and_already_tried_credentials_are_skipped() {
    let view = fleet(vec![
        (
            "disabled",
            CredentialStatus {
                enabled: false,
                ..ready()
            },
        ),
        (
            "broken",
            CredentialStatus {
                broken: true,
                ..ready()
            },
        ),
        ("cooling", cooling(MODEL, NOW + 60)),
        ("tried", ready()),
        ("free", ready()),
    ]);
    let s = plain();
    let tried = [Arc::from("tried")];
    let ask = Ask {
        exclude: &tried,
        ..PLAIN
    };
    for _ in 0..3 {
        assert_eq!(ready_name(&view, &s, &ask), "free");
    }
    // A rest is per model: the cooling credential serves another one.
    let other = Ask {
        model: "gemini-2.5-flash",
        ..ask
    };
    let chosen: Vec<String> = (0..2).map(|_| ready_name(&view, &s, &other)).collect();
    assert!(chosen.contains(&"cooling".to_string()), "{chosen:?}");
}

#[test]
fn a_rest_that_ran_out_lets_one_probe_through() {
    let view = fleet(vec![("rested", cooling(MODEL, NOW - 1)), ("b", ready())]);
    let s = plain();
    assert_eq!(
        ready_name(&view, &s, &PLAIN),
        "rested",
        "the half-open probe"
    );
    // While the probe is out, the model goes elsewhere.
    assert_eq!(names(&view, &s, 2), ["b", "b"]);
    view.snapshot().get("rested").unwrap().live.end_probe(MODEL);
    assert_eq!(names(&view, &s, 2), ["rested", "b"]);
}

#[test]
fn preview_models_go_only_to_credentials_not_known_to_lack_preview() {
    let view = fleet(vec![
        (
            "no_preview",
            CredentialStatus {
                preview: false,
                ..ready()
            },
        ),
        ("preview", ready()),
    ]);
    let s = plain();
    let ask = Ask {
        model: PREVIEW,
        ..PLAIN
    };
    for _ in 0..3 {
        assert_eq!(ready_name(&view, &s, &ask), "preview");
    }
    assert_eq!(
        names(&view, &s, 2),
        ["no_preview", "preview"],
        "other models still rotate over both"
    );
    set(
        &view,
        "preview",
        CredentialStatus {
            preview: false,
            ..ready()
        },
    );
    assert!(matches!(
        choose(&view, &s, &ask),
        Err(CredentialError::NoPreviewAccess(m)) if m == PREVIEW
    ));
}

#[test]
fn a_credential_needing_a_refresh_is_chosen_only_when_no_ready_one_is_left() {
    let view = fleet(vec![("stale", unready()), ("fresh", ready())]);
    let s = plain();
    assert_eq!(names(&view, &s, 3), ["fresh", "fresh", "fresh"]);
    let fresh = [Arc::from("fresh")];
    let ask = Ask {
        exclude: &fresh,
        ..PLAIN
    };
    match choose(&view, &s, &ask) {
        Ok(Choice::NeedsRefresh { name, actor, .. }) => {
            assert_eq!(&*name, "stale");
            assert_eq!(actor, 0, "the refresh goes to that credential's own handle");
        }
        _ => panic!("expected a refresh of the stale credential"),
    }
    // An expired token counts as not ready too.
    set(
        &view,
        "fresh",
        CredentialStatus {
            token_valid_until: NOW,
            ..ready()
        },
    );
    assert!(matches!(
        choose(&view, &s, &PLAIN),
        Ok(Choice::NeedsRefresh { name, .. }) if &*name == "stale"
    ));
}

#[test]
fn upstream_preference_ranks_the_kinds_before_rotation() {
    let key = |enabled| CredentialStatus {
        kind: CredentialKind::GeminiApiKey,
        enabled,
        ..ready()
    };
    let view = fleet(vec![("login", ready()), ("key", key(true))]);
    let mut s = plain();
    assert_eq!(
        names(&view, &s, 2),
        ["login", "key"],
        "no preference: one rotation"
    );
    s.upstream_preference = vec!["gemini_api_key".into(), "code_assist".into()];
    assert_eq!(names(&view, &s, 3), ["key", "key", "key"]);
    set(&view, "key", key(false));
    assert_eq!(
        names(&view, &s, 2),
        ["login", "login"],
        "the next rank serves when the first has nobody"
    );
    // A kind that does not serve the model is no candidate at any rank.
    set(&view, "key", key(true));
    s.gemini_api_key_models = vec!["gemini-2.5-flash".into()];
    assert_eq!(names(&view, &s, 2), ["login", "login"]);
}

#[test]
fn a_session_keeps_its_credential_and_moves_when_it_cools() {
    let view = fleet(vec![("a", ready()), ("b", ready()), ("c", ready())]);
    let mut s = settings();
    s.calls_per_rotation = 1;
    s.session_affinity = true;
    let talk = Ask {
        session: Some(session("conversation")),
        ..PLAIN
    };
    assert_eq!(ready_name(&view, &s, &talk), "a", "placed by rotation");
    assert_eq!(ready_name(&view, &s, &PLAIN), "b");
    assert_eq!(
        ready_name(&view, &s, &talk),
        "a",
        "bound, and not counted by rotation"
    );
    assert_eq!(ready_name(&view, &s, &PLAIN), "c");
    // The bound credential cools for the model: rotation places the session anew and binds it there.
    set(&view, "a", cooling(MODEL, NOW + 60));
    assert_eq!(ready_name(&view, &s, &talk), "b");
    set(&view, "a", ready());
    assert_eq!(ready_name(&view, &s, &talk), "b", "bound to the new one");
    // Already tried by this request: rotation again, the binding follows.
    let tried = [Arc::from("b")];
    let retry = Ask {
        exclude: &tried,
        ..talk
    };
    let moved = ready_name(&view, &s, &retry);
    assert_ne!(moved, "b");
    assert_eq!(ready_name(&view, &s, &talk), moved);
}

#[test]
fn without_affinity_a_session_rotates_like_any_request() {
    let view = fleet(vec![("a", ready()), ("b", ready())]);
    let s = plain();
    let talk = Ask {
        session: Some(session("conversation")),
        ..PLAIN
    };
    let chosen: Vec<String> = (0..3).map(|_| ready_name(&view, &s, &talk)).collect();
    assert_eq!(chosen, ["a", "b", "a"]);
}

#[test]
fn nothing_chosen_says_why() {
    let s = plain();
    assert_eq!(
        choose(&fleet(vec![]), &s, &PLAIN).err(),
        Some(CredentialError::NoneLoaded)
    );
    let disabled = CredentialStatus {
        enabled: false,
        ..ready()
    };
    assert_eq!(
        choose(&fleet(vec![("a", disabled)]), &s, &PLAIN).err(),
        Some(CredentialError::AllDisabled)
    );
    let view = fleet(vec![
        ("a", cooling(MODEL, NOW + 90)),
        ("b", cooling(MODEL, NOW + 30)),
    ]);
    assert_eq!(
        choose(&view, &s, &PLAIN).err(),
        Some(CredentialError::AllCooling {
            model: MODEL.to_string(),
            wait_secs: 30
        })
    );
    let tried: [Arc<str>; 1] = [Arc::from("a")];
    let ask = Ask {
        exclude: &tried,
        ..PLAIN
    };
    assert_eq!(
        choose(&fleet(vec![("a", ready())]), &s, &ask).err(),
        Some(CredentialError::Exhausted)
    );
}
