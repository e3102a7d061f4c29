//! HTTP routes, one file per URL family.

pub mod anthropic;
pub mod audit;
mod audit_csv;
pub mod body;
pub mod body_deadline;
pub mod config;
pub mod cors;
pub mod cred_lookup;
pub mod creds;
pub mod env_creds;
pub mod error_style;
pub mod fallback;
pub mod gemini;
pub mod guarded_body;
pub mod health;
mod key_lookup;
pub mod key_settings;
pub mod keys;
pub mod kind_creds;
pub mod logs;
pub mod metrics;
mod model_call;
pub mod model_catalogue;
pub mod models;
pub mod oauth;
pub mod oauth_access;
pub mod observing;
pub mod openai;
pub mod origin_check;
pub mod pages;
pub mod quota;
pub mod requests;
pub mod responses;
pub mod responses_ws;
pub mod session;
pub mod upload;
pub mod usage;
mod usage_export;

use actix_web::web;

use crate::error::ErrorStyle;

/// Registers every route. Each resource answers 405 in JSON for other methods.
pub fn configure(cfg: &mut web::ServiceConfig) {
    configure_client_api(cfg);
    configure_panel(cfg);
    configure_creds(cfg);
    configure_observe(cfg);
}

/// The client APIs, one scope per dialect. Each names its [`ErrorStyle`] here and nowhere else:
/// every error answered below it — authentication, body guard, handler, unknown path (the scope's
/// own 404), wrong method — comes out in that style (`error_style`).
fn configure_client_api(cfg: &mut web::ServiceConfig) {
    let not_allowed = || web::to(fallback::method_not_allowed);
    let not_found = || web::to(fallback::not_found);
    cfg.service(
        web::scope("/v1/chat")
            .app_data(ErrorStyle::OpenAi)
            .service(
                web::resource("/completions")
                    .route(web::post().to(openai::chat_completions))
                    .default_service(not_allowed()),
            )
            .default_service(not_found()),
    )
    .service(
        web::scope("/v1/messages")
            .app_data(ErrorStyle::Anthropic)
            .service(
                web::resource("")
                    .route(web::post().to(anthropic::messages))
                    .default_service(not_allowed()),
            )
            .service(
                web::resource("/count_tokens")
                    .route(web::post().to(anthropic::count_tokens))
                    .default_service(not_allowed()),
            )
            .default_service(not_found()),
    )
    .service(
        web::scope("/v1/responses")
            .app_data(ErrorStyle::OpenAi)
            .service(
                web::resource("")
                    .route(web::post().to(responses::create))
                    .route(web::get().to(responses_ws::connect))
                    .default_service(not_allowed()),
            )
            .service(
                web::resource("/compact")
                    .route(web::post().to(responses::compact))
                    .default_service(not_allowed()),
            )
            .service(
                web::resource("/{id}")
                    .route(web::get().to(responses::get))
                    .default_service(not_allowed()),
            )
            .default_service(not_found()),
    )
    .service(
        web::resource("/v1/models")
            .app_data(ErrorStyle::OpenAi)
            .route(web::get().to(models::openai_models))
            .default_service(not_allowed()),
    )
    .service(
        web::resource("/v1beta/models")
            .app_data(ErrorStyle::Google)
            .route(web::get().to(models::gemini_models))
            .default_service(not_allowed()),
    )
    .service(
        web::resource(["/v1beta/models/{tail:.+}", "/v1/models/{tail:.+}"])
            .app_data(ErrorStyle::Google)
            .route(web::post().to(gemini::model_method))
            .route(web::get().to(gemini::model_info))
            .default_service(not_allowed()),
    );
}

/// Probes, metrics and the request history.
fn configure_observe(cfg: &mut web::ServiceConfig) {
    cfg.service(one("/healthz", web::get().to(health::healthz)))
        .service(one("/readyz", web::get().to(health::readyz)))
        .service(one("/metrics", web::get().to(metrics::metrics)))
        .service(one("/auth/requests", web::get().to(requests::list)))
        .service(one("/auth/requests/{id}", web::get().to(requests::get)))
        .service(one("/usage/tokens", web::get().to(requests::tokens)))
        .service(one("/usage/export", web::get().to(usage_export::export)))
        .service(one("/audit", web::get().to(audit::list)))
        .service(one("/audit/export", web::get().to(audit::export)));
}

/// Shorthand for a resource with one method and JSON 405s for the others.
fn one(path: &str, route: actix_web::Route) -> actix_web::Resource {
    web::resource(path)
        .route(route)
        .default_service(web::to(fallback::method_not_allowed))
}

fn configure_creds(cfg: &mut web::ServiceConfig) {
    cfg.service(one("/creds/status", web::get().to(creds::status)))
        .service(one("/creds/action", web::post().to(creds::action)))
        .service(one("/creds/quota/refresh", web::post().to(quota::refresh)))
        .service(one(
            "/creds/batch-action",
            web::post().to(creds::batch_action),
        ))
        .service(one(
            "/creds/download/{filename}",
            web::get().to(creds::download),
        ))
        .service(one(
            "/creds/download-all",
            web::get().to(creds::download_all),
        ))
        .service(one(
            "/creds/fetch-email/{filename}",
            web::post().to(creds::fetch_email),
        ))
        .service(one(
            "/creds/refresh-all-emails",
            web::post().to(creds::refresh_all_emails),
        ))
        .service(one("/auth/upload", web::post().to(upload::upload)))
        .service(one("/creds/api-keys", web::post().to(kind_creds::add_keys)))
        .service(one("/creds/vertex", web::post().to(kind_creds::add_vertex)))
        .service(one(
            "/auth/load-env-creds",
            web::post().to(env_creds::load_route),
        ))
        .service(one("/auth/env-creds", web::delete().to(env_creds::delete)))
        .service(one(
            "/auth/env-creds-status",
            web::get().to(env_creds::status),
        ))
        .service(one("/usage/stats", web::get().to(usage::stats)))
        .service(one("/usage/aggregated", web::get().to(usage::aggregated)))
        .service(one(
            "/usage/update-limits",
            web::post().to(usage::update_limits),
        ))
        .service(one("/usage/reset", web::post().to(usage::reset)))
        .service(one(
            "/models/catalogue",
            web::get().to(model_catalogue::get),
        ))
        .service(one(
            "/models/refresh",
            web::post().to(model_catalogue::refresh),
        ));
    cfg.service(one("/auth/start", web::post().to(oauth::start)))
        .service(one("/auth/callback", web::post().to(oauth::callback)))
        .service(one(
            "/auth/callback-url",
            web::post().to(oauth::callback_url),
        ))
        .service(one("/auth/status/{state}", web::get().to(oauth::status)))
        .service(one("/oauth2callback", web::get().to(oauth::oauth2callback)));
    cfg.service(one("/config/get", web::get().to(config::get)))
        .service(one("/config/save", web::post().to(config::save)))
        .service(one("/auth/logs/stream", web::get().to(logs::stream)))
        .service(one("/auth/logs/clear", web::post().to(logs::clear)))
        .service(one("/auth/logs/download", web::get().to(logs::download)));
    cfg.service(
        web::resource("/keepalive")
            .route(web::get().to(keepalive))
            .route(web::head().to(keepalive))
            .default_service(web::to(fallback::method_not_allowed)),
    );
    cfg.service(
        web::resource("/")
            .route(web::get().to(pages::panel))
            .route(web::head().to(anthropic::head_root))
            .default_service(web::to(fallback::method_not_allowed)),
    )
    .service(one("/auth", web::get().to(pages::auth_page)))
    .service(one("/api-key-admin", web::get().to(pages::key_admin)))
    .service(one("/api-key-query", web::get().to(pages::key_query)))
    .service(one("/static/{file}", web::get().to(pages::asset)));
}

fn configure_panel(cfg: &mut web::ServiceConfig) {
    let not_allowed = || web::to(fallback::method_not_allowed);
    cfg.service(
        web::resource("/auth/login")
            .route(web::post().to(session::login))
            .default_service(not_allowed()),
    )
    .service(
        web::resource("/auth/logout")
            .route(web::post().to(session::logout))
            .default_service(not_allowed()),
    )
    .service(
        web::resource("/auth/keys")
            .route(web::post().to(keys::create_key))
            .route(web::get().to(keys::list_keys))
            .default_service(not_allowed()),
    )
    .service(
        web::resource("/auth/keys/{api_key}")
            .route(web::get().to(keys::get_key))
            .route(web::patch().to(key_settings::patch_key))
            .route(web::delete().to(keys::delete_key))
            .default_service(not_allowed()),
    )
    .service(
        web::resource("/auth/quota")
            .route(web::get().to(keys::own_quota))
            .default_service(not_allowed()),
    )
    .service(
        web::resource("/auth/query")
            .route(web::post().to(keys::query_key))
            .default_service(not_allowed()),
    )
    .service(
        web::resource("/auth/models/costs")
            .route(web::get().to(keys::get_costs))
            .route(web::post().to(keys::set_cost))
            .default_service(not_allowed()),
    )
    .service(
        web::resource("/auth/models/costs/{model_name:.+}")
            .route(web::delete().to(keys::delete_cost))
            .default_service(not_allowed()),
    )
    .service(
        web::resource("/auth/models/{model_name:.+}/cost")
            .route(web::get().to(keys::model_cost))
            .default_service(not_allowed()),
    );
}

/// Liveness probe for load balancers and container health checks; no authentication, no body.
async fn keepalive() -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok().finish()
}
