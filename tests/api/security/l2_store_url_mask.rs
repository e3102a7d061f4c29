//! L-2: `/config/get` masks a password given as a query parameter of a store URL (as well as one in
//! the user-info part), and saving the page back as shown keeps the real value.

use serde_json::json;

use crate::harness::*;

#[actix_rt::test]
async fn l2_config_get_masks_query_passwords_in_store_urls() {
    let app = spawn_app().await;
    let mongodb = "mongodb://db.internal:27017/?authSource=admin&password=s3cret-q".to_string();
    let saved = app
        .post("/config/save", &json!({"config": {"mongodb_uri": mongodb}}))
        .await;
    assert_eq!(saved.status, 200, "{}", saved.text());
    assert!(!saved.text().contains("s3cret-q"), "{}", saved.text());
    let config = app.get("/config/get").await;
    assert!(!config.text().contains("s3cret-q"), "{}", config.text());
    let shown = config.json()["config"]["mongodb_uri"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        shown,
        "mongodb://db.internal:27017/?authSource=admin&password=********"
    );
    let again = app
        .post("/config/save", &json!({"config": {"mongodb_uri": shown}}))
        .await;
    assert_eq!(again.status, 200, "{}", again.text());
    assert_eq!(
        app.state.settings.current().mongodb_uri.as_deref(),
        Some(mongodb.as_str()),
        "the masked echo kept the real value"
    );
    app.stop().await;
}
