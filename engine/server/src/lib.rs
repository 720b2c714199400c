//! The integritas HTTP server: the JSON API under `/api/v1` (its OpenAPI
//! document generated from the handlers), accounts, sessions and access
//! control, over `integritas-core`. Shaped like axum's `examples/testing`:
//! [`app`] builds the router that [`serve`] runs and tests drive.
//!
//! Architecture invariants:
//! - every route that names an institution or a plan checks the tenant
//!   first (`access`), and what the caller may not see is the same 404 as
//!   what does not exist;
//! - no password, token, session id or anonymous answer reaches a log
//!   line or an error body;
//! - every engine call that may block runs on the blocking pool
//!   ([`state::blocking`]), never on the async runtime;
//! - the date of an act is the server's, in the institution's zone.
//!
//! Pages (issue 11, [`pages`]) are served at `/` beside the API: HTML for
//! browsers, through the same sessions (`accounts`) and `access`.

pub mod access;
pub mod accounts;
pub mod api;
pub mod auth;
pub mod client;
pub mod clock;
pub mod error;
pub mod holder;
pub mod pages;
pub mod state;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Extension};
use axum::http::{HeaderName, HeaderValue, Request, StatusCode, header};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use integritas_core::open::{OpenOptions, open};
use integritas_core::store::hash_hex;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use state::{AppState, ServerConfig, Shared};

use crate::accounts::{Accounts, random_hex, random_password};
use crate::error::ApiError;
use crate::state::LoginLimiter;

/// The generated OpenAPI document, as served.
#[derive(Clone)]
struct OpenApiJson(Arc<String>);

/// The API's own description, generated from the handlers (no authentication).
#[utoipa::path(get, path = "/openapi.json", operation_id = "openapi", tag = "admin",
    responses((status = 200, description = "The OpenAPI 3.1 document", body = Object)))]
async fn openapi_json(Extension(doc): Extension<OpenApiJson>) -> impl axum::response::IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], doc.0.as_str().to_owned())
}

/// The OpenAPI document of the API (what `/api/v1/openapi.json` serves).
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, doc) = routers();
    doc
}

/// The API's routes (state still to be given), and its document.
fn routers() -> ((OpenApiRouter<AppState>, OpenApiRouter<AppState>), utoipa::openapi::OpenApi) {
    let mut small = OpenApiRouter::new().nest("/api/v1", api::routes().routes(routes!(openapi_json)));
    let mut upload = OpenApiRouter::new().nest("/api/v1", api::upload_routes());
    let mut doc = small.to_openapi();
    doc.merge(upload.to_openapi());
    ((small, upload), api::finish(doc))
}

/// Headers every response carries unless a handler set its own.
fn security_headers(router: Router) -> Router {
    let headers = [
        (header::CONTENT_SECURITY_POLICY, "default-src 'none'; frame-ancestors 'none'"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::CACHE_CONTROL, "no-store"),
        (HeaderName::from_static("cross-origin-opener-policy"), "same-origin"),
    ];
    headers.into_iter().fold(router, |router, (name, value)| {
        router.layer(SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value)))
    })
}

/// The whole application: every route with its limits and headers.
pub fn app(state: AppState) -> Router {
    let config = state.config.clone();
    let ((small, upload), doc) = routers();
    let json = OpenApiJson(Arc::new(serde_json::to_string(&doc).unwrap_or_default()));
    let small: Router = Router::from(small)
        .merge(pages::routes())
        .fallback(pages::not_found)
        .with_state(state.clone())
        .layer(Extension(json))
        .layer(RequestBodyLimitLayer::new(config.body_limit))
        .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, config.request_timeout));
    let upload: Router = Router::from(upload)
        .merge(pages::upload_routes())
        .with_state(state)
        .layer(DefaultBodyLimit::max(config.pack_limit))
        .layer(RequestBodyLimitLayer::new(config.pack_limit))
        .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, config.install_timeout));
    security_headers(small.merge(upload))
}

/// Serves `app` on `listener` until `shutdown` resolves, then lets the
/// requests in flight finish (at most `config.shutdown_grace`). Headers
/// must arrive within `config.header_read_timeout`.
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    app: Router,
    config: &ServerConfig,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(config.header_read_timeout);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let service = tower::ServiceExt::map_request(app.clone(), move |mut request: Request<Incoming>| {
                    request.extensions_mut().insert(ConnectInfo(peer));
                    request
                });
                let connection = builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
                let connection = graceful.watch(connection);
                tokio::spawn(async move {
                    if let Err(e) = connection.await {
                        tracing::debug!("connection from {peer} ended: {e}");
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(config.shutdown_grace) => {
            tracing::warn!("requests still in flight after {:?}; stopping anyway", config.shutdown_grace);
        }
    }
    Ok(())
}

/// What `integritas serve` is given.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub listen: SocketAddr,
    pub data: PathBuf,
    pub packs: Option<PathBuf>,
    pub templates: Option<PathBuf>,
    pub config: ServerConfig,
    /// The first administrator's password on a fresh install (the CLI takes
    /// it from [`ADMIN_PASSWORD_ENV`]); `None`: one is made and printed.
    pub admin_password: Option<String>,
}

/// Why the server did not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("{0}")]
    Engine(#[from] integritas_core::error::EngineError),
    #[error("{0}")]
    Api(#[from] ApiError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// The environment variable the first administrator's password may come from.
pub const ADMIN_PASSWORD_ENV: &str = "INTEGRITAS_ADMIN_PASSWORD";

/// Opens the install and builds the shared state: on a fresh install,
/// creates the administrator `admin` (its password from the options, or
/// made, to be changed at first sign-in, and returned once to be printed).
/// `local_token` is the sha256 of the CLI's token, if any.
pub fn open_state(
    options: &ServeOptions,
    local_token: Option<String>,
) -> Result<(AppState, Option<String>), ServeError> {
    let opened = open(&OpenOptions {
        data: options.data.clone(),
        packs: options.packs.clone(),
        templates: options.templates.clone(),
        create: true,
    })?;
    for d in &opened.diagnostics {
        tracing::warn!("a pack was not loaded: {d}");
    }
    let engine = Arc::new(opened.engine);
    let accounts = Arc::new(Accounts::load(engine.store(), options.config.sessions)?);
    let mut printed = None;
    if accounts.user_count() == 0 {
        let (password, made) = match options.admin_password.clone().filter(|p| !p.is_empty()) {
            Some(p) => (p, false),
            None => (random_password()?, true),
        };
        accounts.create_user("admin", "Administrator", &password, true, Vec::new(), made)?;
        accounts.log("user_created", Some("admin"), serde_json::json!({"by": "first start", "admin": true}))?;
        if made {
            printed = Some(password);
        }
    }
    let ballot_key = accounts.server_secret("ballot")?.into_bytes();
    let state = AppState(Arc::new(Shared {
        engine,
        accounts,
        config: options.config.clone(),
        limiter: LoginLimiter::default(),
        ballot_key,
        local_token,
        data: options.data.clone(),
        institutions: Default::default(),
        views: Default::default(),
    }));
    Ok((state, printed))
}

/// Runs `integritas serve`: opens the install, holds the data folder
/// (`server.json`, `server.token`), serves until SIGINT or SIGTERM, then
/// finishes the requests in flight and lets the folder go.
pub fn serve(options: ServeOptions) -> Result<(), ServeError> {
    let token = format!("itg_local_{}", random_hex(32)?);
    let (state, printed) = open_state(&options, Some(hash_hex(token.as_bytes())))?;
    if let Some(password) = printed {
        // Printed once, to the terminal that started the server; never logged.
        println!("created the administrator `admin`; its one-time password (change it at first sign-in): {password}");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(options.listen).await?;
        let address = listener.local_addr()?;
        let held = holder::Holder { address: address.to_string(), pid: std::process::id() };
        holder::hold(&options.data, &held, &token)?;
        println!(
            "integritas is serving {} on http://{address}/api/v1 (OpenAPI: /api/v1/openapi.json)",
            options.data.display()
        );
        let config = state.config.clone();
        let result = serve_on(listener, app(state), &config, shutdown_signal()).await;
        holder::release(&options.data);
        result
    })?;
    Ok(())
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    tracing::info!("stopping: finishing the requests in flight");
}
