//! HTTP routes, one file per URL family.

pub mod body;
pub mod fallback;
pub mod gemini;
pub mod models;
pub mod openai;

use actix_web::web;

/// Registers every route. Each resource answers 405 in JSON for other methods.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let not_allowed = || web::to(fallback::method_not_allowed);
    cfg.service(
        web::resource("/v1/chat/completions")
            .route(web::post().to(openai::chat_completions))
            .default_service(not_allowed()),
    )
    .service(
        web::resource("/v1/models")
            .route(web::get().to(models::openai_models))
            .default_service(not_allowed()),
    )
    .service(
        web::resource("/v1beta/models")
            .route(web::get().to(models::gemini_models))
            .default_service(not_allowed()),
    )
    .service(
        web::resource(["/v1beta/models/{tail:.+}", "/v1/models/{tail:.+}"])
            .route(web::post().to(gemini::model_method))
            .route(web::get().to(gemini::model_info))
            .default_service(not_allowed()),
    );
}
