//! Errors in the caller's dialect without telling each error. Every client API scope of the route
//! table registers its [`ErrorStyle`] once, as app data (`routes::configure`); this middleware, the
//! innermost of the app, renders each [`ApiError`] answered below a scope in that scope's style —
//! whatever raised it: authentication, the body guard, the JSON reader, the handler, or the scope's
//! 404 and 405 answers. Outside the scopes errors keep Google's shape ([`ErrorStyle::UNSCOPED`]).
//!
//! The style is read only when a response carries an `ApiError`: a successful request pays one
//! `Option` test, and neither the future nor the body is boxed here.

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{forward_ready, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::Error;
use bytes::Bytes;
use futures_util::future::{ready, Map, Ready};
use futures_util::FutureExt;

use crate::error::{ApiError, ErrorStyle};

/// The middleware; see the module doc.
pub struct ScopeStyle;

impl<S, B> Transform<S, ServiceRequest> for ScopeStyle
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = ScopeStyleService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(ScopeStyleService { service }))
    }
}

pub struct ScopeStyleService<S> {
    service: S,
}

type Answer<B> = Result<ServiceResponse<B>, Error>;

impl<S, B> Service<ServiceRequest> for ScopeStyleService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = Map<S::Future, fn(Answer<B>) -> Answer<EitherBody<B>>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        self.service.call(req).map(restyle::<B> as fn(_) -> _)
    }
}

fn restyle<B>(answer: Answer<B>) -> Answer<EitherBody<B>> {
    let res = answer?;
    Ok(match scoped_body(&res) {
        Some(body) => res.map_body(|_, _| EitherBody::right(BoxBody::new(body))),
        None => res.map_into_left_body(),
    })
}

/// The body to answer instead: when the response is an [`ApiError`] that left its style to the
/// scope, and the scope speaks another style than the unscoped one the error was rendered in.
/// Status and headers (`Retry-After`, `WWW-Authenticate`) stay as they were.
fn scoped_body<B>(res: &ServiceResponse<B>) -> Option<Bytes> {
    let error = res.response().error()?.as_error::<ApiError>()?;
    let scope = *res.request().app_data::<ErrorStyle>()?;
    let style = error.style_under(scope);
    if error.style.is_some() || style == ErrorStyle::UNSCOPED {
        return None;
    }
    serde_json::to_vec(&error.render(style))
        .ok()
        .map(Bytes::from)
}

#[cfg(test)]
mod tests {
    use actix_web::{test, web, App, HttpResponse};
    use serde_json::{json, Value};

    use super::*;

    async fn refuse() -> Result<HttpResponse, ApiError> {
        Err(ApiError::unauthorized("no key"))
    }

    async fn refuse_as_anthropic() -> Result<HttpResponse, ApiError> {
        Err(ApiError::not_found("gone").with_style(ErrorStyle::Anthropic))
    }

    #[actix_rt::test]
    async fn errors_take_the_style_of_their_scope_unless_they_name_one() {
        let app = test::init_service(
            App::new()
                .wrap(ScopeStyle)
                .service(
                    web::scope("/openai")
                        .app_data(ErrorStyle::OpenAi)
                        .route("/refuse", web::get().to(refuse))
                        .route("/other", web::get().to(refuse_as_anthropic)),
                )
                .service(
                    web::resource("/anthropic")
                        .app_data(ErrorStyle::Anthropic)
                        .to(refuse),
                )
                .route("/panel", web::get().to(refuse)),
        )
        .await;
        let mut bodies = Vec::new();
        for path in ["/openai/refuse", "/openai/other", "/anthropic", "/panel"] {
            let res =
                test::call_service(&app, test::TestRequest::get().uri(path).to_request()).await;
            let status = res.status().as_u16();
            let challenge = res.headers().contains_key("www-authenticate");
            let body: Value = test::read_body_json(res).await;
            bodies.push((status, challenge, body));
        }
        assert_eq!(
            bodies,
            vec![
                (
                    401,
                    true,
                    json!({"error":{"message":"no key","type":"authentication_error","code":"invalid_api_key"}})
                ),
                (
                    404,
                    false,
                    json!({"type":"error","error":{"type":"not_found_error","message":"gone"}})
                ),
                (
                    401,
                    true,
                    json!({"type":"error","error":{"type":"authentication_error","message":"no key"}})
                ),
                (
                    401,
                    true,
                    json!({"error":{"code":401,"message":"no key","status":"UNAUTHENTICATED"}})
                ),
            ]
        );
    }
}
