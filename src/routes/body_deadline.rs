//! A deadline on reading every request body outside the client API (whose bodies `guarded_body`
//! reads with its own deadline, in the route's error style): panel, OAuth, onboarding and key-query
//! routes alike. A client that announces a body and then trickles it, or never sends it, is answered
//! 408 once `CLIENT_BODY_TIMEOUT` has passed, and the connection is closed so its file descriptor is
//! freed rather than held by a slow-loris.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::ConnectionType;
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, ResponseError};
use bytes::Bytes;
use futures_util::Stream;

use crate::error::{ApiError, ErrorKind};
use crate::state::AppState;

/// The request body, cut with an error once the deadline passes.
struct DeadlineBody {
    inner: Payload,
    sleep: Pin<Box<tokio::time::Sleep>>,
    expired: Rc<Cell<bool>>,
}

impl Stream for DeadlineBody {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.expired.get() {
            return Poll::Ready(None);
        }
        if let Poll::Ready(item) = Pin::new(&mut self.inner).poll_next(cx) {
            return Poll::Ready(item);
        }
        if self.sleep.as_mut().poll(cx).is_ready() {
            self.expired.set(true);
            return Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "request body timed out",
            )))));
        }
        Poll::Pending
    }
}

/// Client API routes read their bodies themselves (`GuardedBody`), with the same deadline.
fn reads_its_own_body(req: &ServiceRequest) -> bool {
    let path = req.path();
    req.method() == actix_web::http::Method::POST
        && (path.starts_with("/v1/") || path.starts_with("/v1beta/"))
}

/// A WebSocket handshake: after it the "payload" is the socket's frames, which have no deadline. Only
/// a GET qualifies, so an `Upgrade` header on a POST cannot switch the deadline off.
fn is_websocket(req: &ServiceRequest) -> bool {
    req.method() == actix_web::http::Method::GET
        && req
            .headers()
            .get(actix_web::http::header::UPGRADE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

pub async fn body_deadline(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if is_websocket(&req) {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    }
    if reads_its_own_body(&req) {
        let mut res = next.call(req).await?;
        // The body was cut unread: close, so the connection does not wait for the rest.
        if res.status() == actix_web::http::StatusCode::REQUEST_TIMEOUT {
            res.response_mut()
                .head_mut()
                .set_connection_type(ConnectionType::Close);
        }
        return Ok(res.map_into_boxed_body());
    }
    let seconds = req
        .app_data::<web::Data<AppState>>()
        .map_or(30, |state| state.settings.current().client_body_timeout);
    let expired = Rc::new(Cell::new(false));
    let body = DeadlineBody {
        inner: req.take_payload(),
        sleep: Box::pin(tokio::time::sleep(Duration::from_secs(seconds))),
        expired: expired.clone(),
    };
    req.set_payload(Payload::from(
        Box::pin(body) as Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>>
    ));
    let res = next.call(req).await;
    if !expired.get() {
        return res.map(ServiceResponse::map_into_boxed_body);
    }
    let timeout = ApiError::new(
        ErrorKind::RequestTimeout,
        format!("the request body did not arrive within {seconds} s (CLIENT_BODY_TIMEOUT)"),
    );
    let mut response = timeout.error_response();
    response
        .head_mut()
        .set_connection_type(ConnectionType::Close);
    match res {
        Ok(res) => Ok(res.into_response(response)),
        // The handler's error came from the cut body: answer the timeout instead.
        Err(e) => Err(actix_web::error::InternalError::from_response(e, response).into()),
    }
}
