use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use actix_web::{web, HttpRequest, HttpResponse};
use bytes::Bytes;
use gcli2api::upstream::{
    image_fetch::{fetch_image, ImageFetchError, ImageFetchPolicy},
    transport::{build_client, TransportConfig},
};

use crate::fixtures::{start_server, RunningServer};

/// A 1×1 transparent PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0a, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae,
    0x42, 0x60, 0x82,
];

const MIB: usize = 1024 * 1024;

fn image_server(loop_hits: Arc<AtomicUsize>) -> RunningServer {
    start_server(
        move |cfg: &mut web::ServiceConfig| {
            let hits = Arc::clone(&loop_hits);
            cfg.route(
                "/img.png",
                web::get().to(|| async { HttpResponse::Ok().content_type("image/png").body(PNG) }),
            )
            .route(
                "/redirect",
                web::get().to(|| async {
                    HttpResponse::Found()
                        .insert_header(("Location", "/img.png"))
                        .finish()
                }),
            )
            .route(
                "/loop",
                web::get().to(move || {
                    hits.fetch_add(1, Ordering::SeqCst);
                    async {
                        HttpResponse::Found()
                            .insert_header(("Location", "/loop"))
                            .finish()
                    }
                }),
            )
            .route(
                "/page",
                web::get().to(|| async {
                    HttpResponse::Ok()
                        .content_type("text/html")
                        .body("<html></html>")
                }),
            )
            .route(
                "/big",
                web::get().to(|| async {
                    HttpResponse::Ok()
                        .content_type("image/png")
                        .body(vec![0u8; 2 * MIB])
                }),
            )
            .route(
                "/big-stream",
                web::get().to(|| async {
                    let chunks =
                        (0..64).map(|_| Ok::<_, std::io::Error>(Bytes::from(vec![0u8; 64 * 1024])));
                    HttpResponse::Ok()
                        .content_type("image/jpeg")
                        .streaming(futures_util::stream::iter(chunks))
                }),
            )
            .route(
                "/slow",
                web::get().to(|| async {
                    actix_rt::time::sleep(Duration::from_secs(3)).await;
                    HttpResponse::Ok().content_type("image/png").body(PNG)
                }),
            )
            .route(
                "/host",
                web::get().to(|req: HttpRequest| async move {
                    let host = req
                        .headers()
                        .get("host")
                        .map(|h| h.as_bytes().to_vec())
                        .unwrap_or_default();
                    HttpResponse::Ok().content_type("image/gif").body(host)
                }),
            );
        },
        None,
    )
}

fn client() -> awc::Client {
    build_client(&TransportConfig::default()).unwrap()
}

fn local_policy() -> ImageFetchPolicy {
    ImageFetchPolicy {
        allow_private: true,
        ..ImageFetchPolicy::default()
    }
}

#[test]
fn defaults_match_the_documented_limits() {
    let p = ImageFetchPolicy::default();
    assert_eq!(p.max_bytes, 20 * MIB);
    assert_eq!(p.timeout, Duration::from_secs(15));
    assert!(!p.allow_private);
    assert_eq!(p.max_redirects, 3);
}

#[actix_rt::test]
async fn fetches_an_image_and_follows_a_relative_redirect() {
    let server = image_server(Arc::default());
    let client = client();
    let base = format!("http://127.0.0.1:{}", server.port);

    let (mime, body) = fetch_image(&client, &format!("{base}/img.png"), &local_policy())
        .await
        .unwrap();
    assert_eq!(mime, "image/png");
    assert_eq!(body, PNG);

    let (mime, body) = fetch_image(&client, &format!("{base}/redirect"), &local_policy())
        .await
        .unwrap();
    assert_eq!((mime.as_str(), body.as_slice()), ("image/png", PNG));
    server.stop().await;
}

#[actix_rt::test]
async fn pinned_address_keeps_the_original_host_header() {
    let server = image_server(Arc::default());
    let url = format!("http://localhost:{}/host", server.port);
    let (mime, body) = fetch_image(&client(), &url, &local_policy()).await.unwrap();
    assert_eq!(mime, "image/gif");
    assert_eq!(body, format!("localhost:{}", server.port).into_bytes());
    server.stop().await;
}

#[actix_rt::test]
async fn loopback_is_forbidden_by_default_in_every_spelling() {
    let server = image_server(Arc::default());
    let client = client();
    let policy = ImageFetchPolicy::default();
    for url in [
        format!("http://127.0.0.1:{}/img.png", server.port),
        format!("http://localhost:{}/img.png", server.port),
        format!("http://[::ffff:127.0.0.1]:{}/img.png", server.port),
        format!("http://[::1]:{}/img.png", server.port),
        format!("http://2130706433:{}/img.png", server.port),
    ] {
        let result = fetch_image(&client, &url, &policy).await;
        assert!(
            matches!(result, Err(ImageFetchError::Forbidden)),
            "{url}: {result:?}"
        );
    }
    server.stop().await;
}

#[actix_rt::test]
async fn redirect_limit_is_enforced() {
    let hits = Arc::new(AtomicUsize::new(0));
    let server = image_server(Arc::clone(&hits));
    let url = format!("http://127.0.0.1:{}/loop", server.port);

    let result = fetch_image(&client(), &url, &local_policy()).await;
    assert!(
        matches!(result, Err(ImageFetchError::Status(302))),
        "{result:?}"
    );
    // The first request plus max_redirects (3) followed hops.
    assert_eq!(hits.load(Ordering::SeqCst), 4);

    let no_redirects = ImageFetchPolicy {
        max_redirects: 0,
        ..local_policy()
    };
    let url = format!("http://127.0.0.1:{}/redirect", server.port);
    let result = fetch_image(&client(), &url, &no_redirects).await;
    assert!(
        matches!(result, Err(ImageFetchError::Status(302))),
        "{result:?}"
    );
    server.stop().await;
}

#[actix_rt::test]
async fn non_images_and_error_statuses_are_refused() {
    let server = image_server(Arc::default());
    let client = client();
    let base = format!("http://127.0.0.1:{}", server.port);

    let result = fetch_image(&client, &format!("{base}/page"), &local_policy()).await;
    assert!(
        matches!(result, Err(ImageFetchError::NotImage)),
        "{result:?}"
    );

    let result = fetch_image(&client, &format!("{base}/missing"), &local_policy()).await;
    assert!(
        matches!(result, Err(ImageFetchError::Status(404))),
        "{result:?}"
    );
    server.stop().await;
}

#[actix_rt::test]
async fn size_cap_applies_to_declared_and_streamed_bodies() {
    let server = image_server(Arc::default());
    let client = client();
    let base = format!("http://127.0.0.1:{}", server.port);
    let policy = ImageFetchPolicy {
        max_bytes: MIB,
        ..local_policy()
    };

    let result = fetch_image(&client, &format!("{base}/big"), &policy).await;
    assert!(
        matches!(result, Err(ImageFetchError::TooLarge)),
        "{result:?}"
    );
    // Chunked, no Content-Length: the cap is enforced while reading (4 MiB sent, 1 MiB allowed).
    let result = fetch_image(&client, &format!("{base}/big-stream"), &policy).await;
    assert!(
        matches!(result, Err(ImageFetchError::TooLarge)),
        "{result:?}"
    );

    let roomy = ImageFetchPolicy {
        max_bytes: 4 * MIB,
        ..local_policy()
    };
    let (mime, body) = fetch_image(&client, &format!("{base}/big-stream"), &roomy)
        .await
        .unwrap();
    assert_eq!(mime, "image/jpeg");
    assert_eq!(body.len(), 4 * MIB);
    server.stop().await;
}

#[actix_rt::test]
async fn slow_server_times_out() {
    let server = image_server(Arc::default());
    let policy = ImageFetchPolicy {
        timeout: Duration::from_millis(300),
        ..local_policy()
    };
    let url = format!("http://127.0.0.1:{}/slow", server.port);
    let result = fetch_image(&client(), &url, &policy).await;
    assert!(
        matches!(result, Err(ImageFetchError::Timeout)),
        "{result:?}"
    );
    server.stop().await;
}

#[actix_rt::test]
async fn bad_urls_and_unresolvable_hosts() {
    let client = client();
    for url in [
        "ftp://example.com/a.png",
        "not a url",
        "file:///etc/passwd",
        "http://",
    ] {
        let result = fetch_image(&client, url, &local_policy()).await;
        assert!(
            matches!(result, Err(ImageFetchError::BadUrl)),
            "{url}: {result:?}"
        );
    }
    let result = fetch_image(
        &client,
        "http://no-such-host.invalid/a.png",
        &local_policy(),
    )
    .await;
    match result {
        Err(err @ ImageFetchError::Network(_)) => {
            // The client-facing text does not echo resolver details.
            assert_eq!(err.to_string(), "image could not be downloaded");
        }
        other => panic!("expected a network error, got {other:?}"),
    }
}
