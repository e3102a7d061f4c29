//! Live logs for the panel: a WebSocket (`GET /auth/logs/stream`) fed by the `LogBroadcaster`, plus
//! clear and download (streamed from the log files in chunks). The socket authenticates with the panel
//! token as `?token=` or as its first message.

use std::time::{Duration, Instant};

use actix::prelude::*;
use actix_web::{web, HttpRequest, HttpResponse};
use actix_web_actors::ws;
use serde_json::json;

use crate::actors::log_broadcaster::messages::{
    ClearLogs, DownloadLogs, IsSubscribed, LogLines, Subscribe, Subscription, Unsubscribe,
};
use crate::actors::log_broadcaster::LogBroadcaster;
use crate::auth::client_address::client_address;
use crate::auth::panel::{check_panel_token, presented_panel_token, PanelSession};
use crate::error::ApiError;
use crate::state::AppState;

const HEARTBEAT: Duration = Duration::from_secs(15);
const CLIENT_TIMEOUT: Duration = Duration::from_secs(45);
/// How long an unauthenticated socket may wait before sending its token.
const AUTH_TIMEOUT: Duration = Duration::from_secs(10);

/// One browser watching the log. Dropped by the broadcaster when its mailbox fills (a slow client);
/// it notices at the next heartbeat and closes.
pub struct LogSession {
    broadcaster: Addr<LogBroadcaster>,
    state: web::Data<AppState>,
    id: Option<u64>,
    authenticated: bool,
    last_seen: Instant,
    /// For the panel login limiter: a token sent as the first message counts like any other.
    client: String,
}

impl LogSession {
    fn subscribe(&mut self, ctx: &mut ws::WebsocketContext<Self>) {
        let recipient = ctx.address().recipient::<LogLines>();
        self.broadcaster
            .send(Subscribe { session: recipient })
            .into_actor(self)
            .map(|result, act, ctx| match result {
                Ok(Some(Subscription { id, replay })) => {
                    act.id = Some(id);
                    for line in replay {
                        ctx.text(line);
                    }
                }
                _ => {
                    ctx.close(Some(ws::CloseReason {
                        code: ws::CloseCode::Policy,
                        description: Some("too many log sessions".into()),
                    }));
                    ctx.stop();
                }
            })
            .wait(ctx);
    }

    fn reject(ctx: &mut ws::WebsocketContext<Self>, why: &str) {
        ctx.close(Some(ws::CloseReason {
            code: ws::CloseCode::Policy,
            description: Some(why.into()),
        }));
        ctx.stop();
    }
}

impl Actor for LogSession {
    type Context = ws::WebsocketContext<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        if self.authenticated {
            self.subscribe(ctx);
        } else {
            ctx.run_later(AUTH_TIMEOUT, |act, ctx| {
                if !act.authenticated {
                    Self::reject(ctx, "authentication required");
                }
            });
        }
        ctx.run_interval(HEARTBEAT, |act, ctx| {
            if Instant::now().duration_since(act.last_seen) > CLIENT_TIMEOUT {
                ctx.stop();
                return;
            }
            ctx.ping(b"");
            if let Some(id) = act.id {
                act.broadcaster
                    .send(IsSubscribed { id })
                    .into_actor(act)
                    .map(|still, _, ctx| {
                        if !matches!(still, Ok(true)) {
                            Self::reject(ctx, "log session dropped: client too slow");
                        }
                    })
                    .spawn(ctx);
            }
        });
    }

    fn stopping(&mut self, _: &mut Self::Context) -> Running {
        if let Some(id) = self.id.take() {
            self.broadcaster.do_send(Unsubscribe { id });
        }
        Running::Stop
    }
}

impl Handler<LogLines> for LogSession {
    type Result = ();

    fn handle(&mut self, msg: LogLines, ctx: &mut Self::Context) {
        for line in msg.batch.lines() {
            ctx.text(line);
        }
    }
}

impl StreamHandler<Result<ws::Message, ws::ProtocolError>> for LogSession {
    fn handle(&mut self, msg: Result<ws::Message, ws::ProtocolError>, ctx: &mut Self::Context) {
        self.last_seen = Instant::now();
        match msg {
            Ok(ws::Message::Ping(bytes)) => ctx.pong(&bytes),
            Ok(ws::Message::Text(text)) if !self.authenticated => {
                let token = text.trim().trim_start_matches("Bearer ").to_string();
                let state = self.state.clone();
                let client = self.client.clone();
                async move { check_panel_token(&state, &token, &client).await.is_ok() }
                    .into_actor(self)
                    .map(|ok, act, ctx| {
                        if ok {
                            act.authenticated = true;
                            act.subscribe(ctx);
                        } else {
                            Self::reject(ctx, "invalid token");
                        }
                    })
                    .wait(ctx);
            }
            Ok(ws::Message::Close(reason)) => {
                ctx.close(reason);
                ctx.stop();
            }
            Err(_) => ctx.stop(),
            _ => {}
        }
    }
}

pub async fn stream(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, actix_web::Error> {
    let client = client_address(&req, &state.settings.current());
    let authenticated = match presented_panel_token(&req) {
        Some(token) => {
            check_panel_token(&state, &token, &client).await?;
            true
        }
        // Without a token only a real WebSocket may ask to authenticate with its first message.
        None if req.headers().contains_key(actix_web::http::header::UPGRADE) => false,
        None => {
            return Err(ApiError::unauthorized(
                "log in first: pass the session token as ?token=<token>",
            )
            .into())
        }
    };
    let session = LogSession {
        broadcaster: state.logs.clone(),
        state: state.clone(),
        id: None,
        authenticated,
        last_seen: Instant::now(),
        client,
    };
    // A small mailbox: a client that cannot keep up is dropped rather than buffered.
    let (addr, response) = ws::WsResponseBuilder::new(session, &req, payload).start_with_addr()?;
    drop(addr);
    Ok(response)
}

pub async fn clear(_: PanelSession, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    // Lines logged before the click are handed on first, so none lands after the clearing.
    crate::logging::flushed().await;
    state
        .logs
        .send(ClearLogs)
        .await
        .map_err(ApiError::mailbox("the log service"))?;
    Ok(HttpResponse::Ok().json(json!({"message": "logs cleared"})))
}

pub async fn download(
    _: PanelSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    // Every line logged before the download is in it.
    crate::logging::flushed().await;
    let download = state
        .logs
        .send(DownloadLogs)
        .await
        .map_err(ApiError::mailbox("the log service"))?;
    let name = format!(
        "gcli2api_logs_{}.txt",
        chrono::Utc::now().format("%Y%m%d_%H%M%S")
    );
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"{name}\""),
        ))
        .streaming(download.into_stream()))
}
