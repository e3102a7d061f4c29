//! H-2: a body of 64,000 image parts (20 MB) is answered at once — refused by the input limits,
//! without pairwise de-duplication holding a worker — while the same binary keeps answering
//! `/healthz` from another connection.

use serde_json::json;

use crate::fake_google::FakeGoogle;
use crate::harness::PASSWORD;
use crate::process::Gateway;

#[actix_rt::test]
async fn h2_sixty_four_thousand_image_urls_are_answered_and_health_stays_up() {
    let google = FakeGoogle::start().await;
    let (_dir, env) = super::one_login_binary_env(&google, &[("WORKERS", "1".to_string())]);
    let gw = Gateway::start(&env).await;
    let padding = "x".repeat(220);
    let parts: Vec<_> = (0..64_000)
        .map(|i| json!({"type": "image_url", "image_url": {"url": format!("https://img{i}.example/{padding}")}}))
        .collect();
    let body =
        json!({"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": parts}]});
    assert!(body.to_string().len() > 15_000_000);
    let big = gw.send("POST", "/v1/chat/completions", PASSWORD, Some(&body));
    let health = async {
        actix_rt::time::sleep(std::time::Duration::from_millis(200)).await;
        gw.send("GET", "/healthz", PASSWORD, None).await
    };
    let (big, health) = futures_util::future::join(big, health).await;
    assert_eq!(health.status, 200);
    assert_eq!(big.status, 400, "{}", big.text());
    assert!(big.text().contains("images"), "{}", big.text());
    assert!(google.requests_to("generateContent").is_empty());
}
