use base64::Engine as _;
use gcli2api::upstream::transport::{build_client, TransportConfig};

use crate::fixtures::{
    client_with_ca, hello_routes, start_server, test_pki, ConnectProxy, ConnectRecord, ProxyMode,
};

#[actix_rt::test]
async fn https_goes_through_the_connect_tunnel_and_the_tunnel_is_reused() {
    let pki = test_pki();
    let server = start_server(hello_routes, Some(pki.server_config.clone()));
    let proxy = ConnectProxy::start(ProxyMode::Open).await;
    let client = client_with_ca(&pki, Some(proxy.url()));

    for _ in 0..2 {
        let mut res = client
            .get(format!("https://localhost:{}/hello", server.port))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        // TLS (and ALPN) runs end to end inside the tunnel.
        assert_eq!(res.body().await.unwrap(), "hello over HTTP/2.0");
    }
    assert_eq!(
        proxy.seen(),
        vec![ConnectRecord {
            target: format!("localhost:{}", server.port),
            proxy_authorization: None,
        }],
        "one tunnel, kept alive for the second request"
    );
    proxy.stop();
    server.stop().await;
}

#[actix_rt::test]
async fn plain_http_targets_are_tunnelled_too() {
    let server = start_server(hello_routes, None);
    let proxy = ConnectProxy::start(ProxyMode::Open).await;
    let client = build_client(&TransportConfig {
        proxy: Some(proxy.url()),
        ..TransportConfig::default()
    })
    .unwrap();

    let mut res = client
        .get(format!("http://127.0.0.1:{}/hello", server.port))
        .send()
        .await
        .unwrap();
    assert_eq!(res.body().await.unwrap(), "hello over HTTP/1.1");
    let seen = proxy.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].target, format!("127.0.0.1:{}", server.port));
    proxy.stop();
    server.stop().await;
}

#[actix_rt::test]
async fn proxy_demanding_auth_gives_a_clear_error() {
    let pki = test_pki();
    let proxy = ConnectProxy::start(ProxyMode::RequireAuthorization("Basic x".to_owned())).await;
    let client = client_with_ca(&pki, Some(proxy.url()));

    let err = client
        .get("https://localhost:9/hello")
        .send()
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("proxy requires authentication"), "{err}");
    assert!(err.contains("407"), "{err}");
    proxy.stop();
}

#[actix_rt::test]
async fn credentials_in_the_proxy_url_are_sent_as_basic_auth() {
    let pki = test_pki();
    let server = start_server(hello_routes, Some(pki.server_config.clone()));
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("user:p@ss word")
    );
    let proxy = ConnectProxy::start(ProxyMode::RequireAuthorization(expected.clone())).await;

    let good = client_with_ca(
        &pki,
        Some(format!(
            "http://user:p%40ss%20word@127.0.0.1:{}",
            proxy.port
        )),
    );
    let res = good
        .get(format!("https://localhost:{}/hello", server.port))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        proxy.seen()[0].proxy_authorization.as_deref(),
        Some(expected.as_str())
    );

    let bad = client_with_ca(
        &pki,
        Some(format!("http://user:wrongsecret@127.0.0.1:{}", proxy.port)),
    );
    let err = bad
        .get(format!("https://localhost:{}/hello", server.port))
        .send()
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("proxy rejected the credentials"), "{err}");
    assert!(!err.contains("wrongsecret"), "{err}");
    proxy.stop();
    server.stop().await;
}

#[actix_rt::test]
async fn unreachable_proxy_is_reported_as_such() {
    let closed_port = {
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
        listener.local_addr().unwrap().port()
    };
    let client = build_client(&TransportConfig {
        proxy: Some(format!("http://127.0.0.1:{closed_port}")),
        ..TransportConfig::default()
    })
    .unwrap();
    let err = client
        .get("https://example.com/")
        .send()
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("cannot reach proxy"), "{err}");
}
