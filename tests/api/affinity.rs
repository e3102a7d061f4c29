//! Session affinity: the turns of one conversation stay on one credential while it is usable; new
//! conversations still rotate.

use gcli2api::actors::credentials::messages::ListCredentials;
use serde_json::{json, Value};

use crate::fake_google::{FakeGoogle, Reply};
use crate::harness::*;

fn two_creds() -> TestOptions {
    TestOptions::default()
        .cred("a.json", credential("rt-a", Some("pa"), None))
        .cred("b.json", credential("rt-b", Some("pb"), None))
        .env("CALLS_PER_ROTATION", "1")
}

/// Waits until every credential has its token, so rotation sees all of them ready.
async fn wait_ready(app: &TestApp, n: usize) {
    app.eventually_async("every credential has a token", || async {
        let records = app.state.supervisor.send(ListCredentials).await.unwrap();
        records.len() == n
            && records
                .iter()
                .all(|r| r.credential.get("token").is_some_and(|t| t.is_string()))
    })
    .await;
}

/// The messages of turn `turn` (1-based) of conversation `topic`: the history grows by one exchange
/// per turn, as real clients resend it.
fn conversation(topic: &str, turn: usize) -> Vec<Value> {
    let mut messages = vec![
        json!({"role": "system", "content": "You are a travel guide."}),
        json!({"role": "user", "content": format!("Tell me about {topic}.")}),
    ];
    for n in 1..turn {
        messages.push(json!({"role": "assistant", "content": format!("Part {n} about {topic}.")}));
        messages
            .push(json!({"role": "user", "content": format!("More about {topic}, please ({n}).")}));
    }
    messages
}

fn last_project(app: &TestApp) -> String {
    app.upstream_calls()
        .last()
        .and_then(|c| c.project.clone())
        .unwrap_or_default()
}

/// Runs `turns` rounds over the three conversations, interleaved; answers each conversation's
/// credentials in turn order.
async fn interleave(app: &TestApp, with_cache_key: bool, turns: usize) -> Vec<Vec<String>> {
    let topics = ["Paris", "Kyoto", "Lima"];
    let mut used = vec![Vec::new(); topics.len()];
    for turn in 1..=turns {
        for (i, topic) in topics.iter().enumerate() {
            let mut body =
                json!({"model": "gemini-2.5-pro", "messages": conversation(topic, turn)});
            if with_cache_key {
                body["prompt_cache_key"] = json!(format!("trip-{topic}"));
            }
            let answer = app.chat(body).await;
            assert_eq!(answer.status, 200, "{}", answer.text());
            used[i].push(last_project(app));
        }
    }
    used
}

fn assert_each_stays(used: &[Vec<String>]) {
    for (i, projects) in used.iter().enumerate() {
        assert!(
            projects.iter().all(|p| *p == projects[0]),
            "conversation {i} moved: {projects:?}"
        );
    }
    // New conversations still rotate: the three first turns alternate.
    let firsts: Vec<&str> = used.iter().map(|p| p[0].as_str()).collect();
    assert_eq!(firsts, ["pa", "pb", "pa"]);
}

#[actix_rt::test]
async fn conversations_named_by_prompt_cache_key_stay_on_their_credential() {
    let app = spawn_app_with(two_creds()).await;
    wait_ready(&app, 2).await;
    let used = interleave(&app, true, 4).await;
    assert_each_stays(&used);
    app.stop().await;
}

#[actix_rt::test]
async fn conversations_known_only_by_their_prefix_stay_on_their_credential() {
    let app = spawn_app_with(two_creds()).await;
    wait_ready(&app, 2).await;
    let used = interleave(&app, false, 4).await;
    assert_each_stays(&used);
    app.stop().await;
}

#[actix_rt::test]
async fn the_session_header_names_a_conversation_on_every_route() {
    let app = spawn_app_with(two_creds()).await;
    wait_ready(&app, 2).await;
    let mut used = Vec::new();
    for turn in 0..4 {
        // The same first prompt each time: without the header these would all be new conversations.
        let req = app
            .client
            .post(app.url("/v1/chat/completions"))
            .bearer_auth(PASSWORD)
            .insert_header(("x-session-id", "desk-42"));
        let body =
            json!({"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "hi"}]});
        assert_eq!(app.send(req, Some(&body)).await.status, 200);
        used.push(last_project(&app));
        let req = app
            .client
            .post(app.url("/v1beta/models/gemini-2.5-flash:generateContent"))
            .bearer_auth(PASSWORD)
            .insert_header(("x-session-id", "desk-42"));
        let native =
            json!({"contents": [{"role": "user", "parts": [{"text": format!("turn {turn}")}]}]});
        assert_eq!(app.send(req, Some(&native)).await.status, 200);
        used.push(last_project(&app));
    }
    assert!(used.iter().all(|p| *p == used[0]), "{used:?}");
    app.stop().await;
}

#[actix_rt::test]
async fn a_conversation_whose_credential_got_a_429_moves_and_stays_moved() {
    let app = spawn_app_with(two_creds()).await;
    wait_ready(&app, 2).await;
    let ask = |turn: usize| {
        let mut body = json!({"model": "gemini-2.5-pro", "messages": conversation("Oslo", turn)});
        body["prompt_cache_key"] = json!("trip-Oslo");
        body
    };
    assert_eq!(app.chat(ask(1)).await.status, 200);
    assert_eq!(last_project(&app), "pa");

    let reset = (chrono::Utc::now() + chrono::Duration::minutes(10)).to_rfc3339();
    app.google
        .enqueue("pa", Reply::quota_exhausted_until(&reset));
    app.google.clear_requests();
    let answer = app.chat(ask(2)).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let projects: Vec<String> = app
        .upstream_calls()
        .iter()
        .map(|c| c.project.clone().unwrap_or_default())
        .collect();
    assert_eq!(projects, ["pa", "pb"], "tried its credential, then moved");

    // Its old credential recovers; the conversation stays where it moved.
    let cleared = app
        .post(
            "/creds/action",
            &json!({"filename": "a.json", "action": "clear_cooldown"}),
        )
        .await;
    assert_eq!(cleared.status, 200, "{}", cleared.text());
    for turn in 3..=5 {
        assert_eq!(app.chat(ask(turn)).await.status, 200);
        assert_eq!(last_project(&app), "pb", "turn {turn}");
    }
    // A new conversation still rotates, and gets the recovered credential.
    let mut fresh = json!({"model": "gemini-2.5-pro", "messages": conversation("Rome", 1)});
    fresh["prompt_cache_key"] = json!("trip-Rome");
    assert_eq!(app.chat(fresh).await.status, 200);
    assert_eq!(last_project(&app), "pa");
    app.stop().await;
}

#[actix_rt::test]
async fn a_conversation_whose_credential_is_cooling_moves_without_trying_it() {
    let app = spawn_app_with(two_creds()).await;
    wait_ready(&app, 2).await;
    let ask = |topic: &str, turn: usize| json!({"model": "gemini-2.5-pro", "messages": conversation(topic, turn)});
    assert_eq!(app.chat(ask("Accra", 1)).await.status, 200);
    assert_eq!(last_project(&app), "pa");
    assert_eq!(app.chat(ask("Quito", 1)).await.status, 200);
    assert_eq!(last_project(&app), "pb");
    // Another conversation exhausts pa's quota for the model: pa cools down.
    let reset = (chrono::Utc::now() + chrono::Duration::minutes(10)).to_rfc3339();
    app.google
        .enqueue("pa", Reply::quota_exhausted_until(&reset));
    assert_eq!(app.chat(ask("Hanoi", 1)).await.status, 200);
    app.google.clear_requests();
    // Accra's next turn goes straight to pb, and stays there.
    for turn in 2..=3 {
        assert_eq!(app.chat(ask("Accra", turn)).await.status, 200);
        let projects: Vec<String> = app
            .upstream_calls()
            .iter()
            .map(|c| c.project.clone().unwrap_or_default())
            .collect();
        assert_eq!(projects, ["pb"], "turn {turn}");
        app.google.clear_requests();
    }
    app.stop().await;
}

#[actix_rt::test]
async fn a_disabled_credential_loses_its_conversations() {
    let app = spawn_app_with(two_creds()).await;
    wait_ready(&app, 2).await;
    let ask =
        |turn: usize| json!({"model": "gemini-2.5-pro", "messages": conversation("Cairo", turn)});
    assert_eq!(app.chat(ask(1)).await.status, 200);
    assert_eq!(last_project(&app), "pa");
    let disabled = app
        .post(
            "/creds/action",
            &json!({"filename": "a.json", "action": "disable"}),
        )
        .await;
    assert_eq!(disabled.status, 200, "{}", disabled.text());
    for turn in 2..=4 {
        assert_eq!(app.chat(ask(turn)).await.status, 200);
        assert_eq!(last_project(&app), "pb", "turn {turn}");
    }
    app.stop().await;
}

#[actix_rt::test]
async fn an_idle_conversation_is_forgotten_after_the_ttl() {
    let app = spawn_app_with(two_creds().env("SESSION_AFFINITY_TTL", "60")).await;
    wait_ready(&app, 2).await;
    let ask =
        |turn: usize| json!({"model": "gemini-2.5-pro", "messages": conversation("Bern", turn)});
    let mut used = Vec::new();
    for turn in 1..=2 {
        assert_eq!(app.chat(ask(turn)).await.status, 200);
        used.push(last_project(&app));
    }
    // The clock is the wall clock plus an offset, in whole seconds: 58 leaves a second for the wall
    // clock to tick between the turns and stay under the 60 s TTL.
    app.clock.advance(58);
    assert_eq!(app.chat(ask(3)).await.status, 200);
    used.push(last_project(&app));
    // 60 s without a request: the binding is gone, the next turn rotates and binds anew.
    app.clock.advance(60);
    for turn in 4..=5 {
        assert_eq!(app.chat(ask(turn)).await.status, 200);
        used.push(last_project(&app));
    }
    assert_eq!(used, ["pa", "pa", "pa", "pb", "pb"]);
    app.stop().await;
}

/// Cached tokens each later turn of three interleaved conversations reported, against a fake that
/// models Gemini's implicit cache (per project).
async fn cached_tokens_of_later_turns(affinity: bool) -> Vec<u64> {
    let google = FakeGoogle::start().await;
    google.enable_implicit_cache();
    let opts = two_creds().env("SESSION_AFFINITY", affinity.to_string());
    let app = spawn_app_with(TestOptions {
        google: Some(google),
        ..opts
    })
    .await;
    wait_ready(&app, 2).await;
    let mut cached = Vec::new();
    for turn in 1..=4 {
        for topic in ["Paris", "Kyoto", "Lima"] {
            let body = json!({"model": "gemini-2.5-pro", "messages": conversation(topic, turn)});
            let answer = app.chat(body).await;
            assert_eq!(answer.status, 200, "{}", answer.text());
            if turn > 1 {
                let usage = &answer.json()["usage"];
                cached.push(
                    usage["prompt_tokens_details"]["cached_tokens"]
                        .as_u64()
                        .unwrap(),
                );
            }
        }
    }
    app.stop().await;
    cached
}

#[actix_rt::test]
async fn affinity_keeps_the_implicit_cache_warm_and_usage_shows_it() {
    // Measured: with affinity [9, 9, 9, 18, 18, 18, 27, 27, 27] words cached (turns 2-4 of three
    // conversations); without, [0, 0, 0, 9, 9, 9, 18, 18, 18].
    let with = cached_tokens_of_later_turns(true).await;
    assert!(
        with.iter().all(|c| *c > 0),
        "every later turn hits the cache: {with:?}"
    );
    let without = cached_tokens_of_later_turns(false).await;
    assert!(
        without.contains(&0),
        "hopping credentials misses the cache: {without:?}"
    );
    assert!(
        with.iter().sum::<u64>() > without.iter().sum::<u64>(),
        "{with:?} vs {without:?}"
    );
}

#[actix_rt::test]
async fn without_affinity_every_call_rotates() {
    let app = spawn_app_with(two_creds().env("SESSION_AFFINITY", "false")).await;
    wait_ready(&app, 2).await;
    let used = interleave(&app, true, 2).await;
    let flat: Vec<&str> = (0..2)
        .flat_map(|turn| used.iter().map(move |c| c[turn].as_str()))
        .collect();
    assert_eq!(flat, ["pa", "pb", "pa", "pb", "pa", "pb"]);
    app.stop().await;
}
