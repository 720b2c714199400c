//! The install as a whole: health, verification of every chain and of
//! the anonymous answers' commitments, and the security log.

use axum::extract::State;
use integritas_core::wire::VerifyView;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::access;
use crate::api::ApiQuery;
use crate::auth::Principal;
use crate::error::ApiResult;
use crate::state::{AppState, blocking};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(health)).routes(routes!(verify)).routes(routes!(security_log))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` while the server answers and its store reads.
    pub status: String,
    pub version: String,
}

/// Whether the server is up and its store answers (no authentication).
#[utoipa::path(get, path = "/health", operation_id = "health", tag = "admin", responses((status = 200, body = Health)))]
async fn health(State(state): State<AppState>) -> ApiResult<axum::Json<Health>> {
    let engine = state.engine.clone();
    blocking(move || Ok(engine.plans().map(|_| ())?)).await?;
    Ok(axum::Json(Health { status: "ok".into(), version: env!("CARGO_PKG_VERSION").into() }))
}

/// Checks every plan's hash chain and the anonymous answers against their
/// commitments (administrators).
#[utoipa::path(post, path = "/admin/verify", tag = "admin", responses((status = 200, body = VerifyView)))]
async fn verify(State(state): State<AppState>, principal: Principal) -> ApiResult<axum::Json<VerifyView>> {
    access::admin(&principal)?;
    let engine = state.engine.clone();
    let (checked, broken) = blocking(move || Ok(engine.verify()?)).await?;
    Ok(axum::Json(VerifyView { events_checked: checked, broken: broken.iter().map(Into::into).collect() }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LogQuery {
    /// The first entry number (from 1).
    #[param(minimum = 1)]
    pub from: Option<u64>,
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
}

/// Logins, failed logins, role and grant changes, tokens (administrators).
#[utoipa::path(get, path = "/admin/security-log", tag = "admin", params(LogQuery),
    responses((status = 200, body = Vec<Value>)))]
async fn security_log(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<LogQuery>,
) -> ApiResult<axum::Json<Vec<Value>>> {
    access::admin(&principal)?;
    let limit = query.limit.unwrap_or(100).clamp(1, 1000);
    let from = query.from.unwrap_or(1);
    let accounts = state.accounts.clone();
    Ok(axum::Json(blocking(move || accounts.security_log(from, limit)).await?))
}
