use std::io::Write as _;

use gcli2api::upstream::transport::{build_client, load_ca_file, TransportConfig};

use crate::fixtures::{client_with_ca, hello_routes, start_server, test_pki};

#[actix_rt::test]
async fn extra_ca_makes_the_test_server_trusted_and_h2_is_negotiated() {
    let pki = test_pki();
    let server = start_server(hello_routes, Some(pki.server_config.clone()));
    let client = client_with_ca(&pki, None);

    let mut res = client
        .get(format!("https://localhost:{}/hello", server.port))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.body().await.unwrap(), "hello over HTTP/2.0");

    // The certificate also names 127.0.0.1, so an IP-literal URL verifies too.
    let mut res = client
        .get(format!("https://127.0.0.1:{}/hello", server.port))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.body().await.unwrap().starts_with(b"hello"));
    server.stop().await;
}

#[actix_rt::test]
async fn without_the_ca_the_certificate_is_rejected() {
    let pki = test_pki();
    let server = start_server(hello_routes, Some(pki.server_config.clone()));
    let client = build_client(&TransportConfig::default()).unwrap();

    let err = client
        .get(format!("https://localhost:{}/hello", server.port))
        .send()
        .await
        .unwrap_err();
    let text = err.to_string().to_lowercase();
    assert!(text.contains("certificate"), "{text}");
    server.stop().await;
}

#[actix_rt::test]
async fn ca_loaded_from_file_is_trusted() {
    let pki = test_pki();
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(pki.ca_pem.as_bytes()).unwrap();
    let pem = load_ca_file(file.path()).unwrap();
    assert_eq!(pem, pki.ca_pem.as_bytes());

    let server = start_server(hello_routes, Some(pki.server_config.clone()));
    let client = build_client(&TransportConfig {
        extra_ca_pem: Some(pem),
        ..TransportConfig::default()
    })
    .unwrap();
    let res = client
        .get(format!("https://localhost:{}/hello", server.port))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    server.stop().await;
}

#[test]
fn garbage_ca_bundle_is_refused_at_build_time() {
    let err = build_client(&TransportConfig {
        extra_ca_pem: Some(b"-----BEGIN NOTHING-----\n".to_vec()),
        ..TransportConfig::default()
    })
    .err()
    .unwrap();
    assert!(err.to_string().contains("CA bundle"), "{err}");
}
