//! The panel's credential list over a fleet larger than a page: pages in rotation order, filters,
//! the fleet's counts, and readiness counted the same way.

use serde_json::{json, Value};

use crate::harness::*;

const FLEET: usize = 25;

fn name(i: usize) -> String {
    format!("c{i:02}.json")
}

fn names(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["filename"].as_str().unwrap().to_string())
        .collect()
}

#[actix_rt::test]
async fn pages_filters_and_counts_of_a_fleet_larger_than_a_page() {
    let mut options = TestOptions::default();
    for i in 0..FLEET {
        let cred = credential(&format!("rt-{i}"), Some(&format!("p{i}")), Some("tok"));
        options = options.cred(&name(i), cred);
    }
    let app = spawn_app_with(options).await;
    let disabled = [name(3), name(11), name(24)];
    let batch = app
        .post(
            "/creds/batch-action",
            &json!({"action": "disable", "filenames": disabled}),
        )
        .await
        .json();
    assert_eq!(batch["success_count"], 3);

    // Pages of ten walk the whole fleet once, in order, and say when more follow.
    let mut walked = Vec::new();
    for (offset, more) in [(0, true), (10, true), (20, false)] {
        let page = app
            .get(&format!("/creds/status?offset={offset}&limit=10"))
            .await
            .json();
        assert_eq!(page["total"], FLEET, "{page}");
        assert_eq!(page["has_more"], more, "{page}");
        assert_eq!(page["offset"], offset);
        assert_eq!(
            page["stats"],
            json!({
                "total": FLEET,
                "normal": FLEET - 3,
                "disabled": 3,
                "cooling": 0,
                "kinds": {"code_assist": FLEET, "gemini_api_key": 0, "vertex": 0},
            })
        );
        walked.extend(names(&page));
    }
    let expected: Vec<String> = (0..FLEET).map(name).collect();
    assert_eq!(walked, expected);

    let off = app
        .get("/creds/status?status_filter=disabled&limit=10")
        .await
        .json();
    assert_eq!(off["total"], 3);
    assert_eq!(names(&off), disabled);
    assert_eq!(off["items"][0]["disabled"], true);
    let on = app
        .get("/creds/status?status_filter=enabled&offset=20&limit=10")
        .await
        .json();
    assert_eq!(on["total"], FLEET - 3);
    assert_eq!(names(&on), [name(22), name(23)]);
    assert_eq!(on["has_more"], false);

    let clean = app.get("/creds/status?error_code_filter=none").await.json();
    assert_eq!(clean["total"], FLEET);
    for odd in ["error_code_filter=429", "error_code_filter=abc"] {
        let none = app.get(&format!("/creds/status?{odd}")).await.json();
        assert_eq!(none["total"], 0, "{odd}");
        assert_eq!(none["items"], json!([]), "{odd}");
    }
    let past_the_end = app.get("/creds/status?offset=1000&limit=10").await.json();
    assert_eq!(past_the_end["items"], json!([]));
    assert_eq!(past_the_end["has_more"], false);

    let ready = app.send(app.client.get(app.url("/readyz")), None).await;
    assert_eq!(ready.status, 200, "{}", ready.text());
    assert_eq!(
        ready.json()["credentials"],
        json!({"usable": FLEET - 3, "cooling": 0, "disabled": 3})
    );
    app.stop().await;
}
