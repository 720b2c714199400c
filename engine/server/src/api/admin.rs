//! The install as a whole: health, verification of every chain and of
//! the anonymous answers' commitments, and the security log.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use integritas_core::date::now_rfc3339;
use integritas_core::wire::VerifyView;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::access;
use crate::api::ApiQuery;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, blocking};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(verify))
        .routes(routes!(backup))
        .routes(routes!(security_log))
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

/// A consistent backup of the whole install while it runs (administrators):
/// the store's gzip JSON-lines file (`integritas restore FILE --data NEW`
/// rebuilds a data folder from it). Its sha256 and counts are in the
/// `X-Backup-Sha256` and `X-Backup-Counts` headers.
#[utoipa::path(post, path = "/admin/backup", tag = "admin",
    responses((status = 200, description = "The backup file", content_type = "application/gzip", body = Vec<u8>)))]
async fn backup(State(state): State<AppState>, principal: Principal) -> ApiResult<Response> {
    access::admin(&principal)?;
    let store = state.engine.store();
    let packs = state.data.join("packs");
    let by = principal.user.id.clone();
    let accounts = state.accounts.clone();
    let (bytes, summary) = blocking(move || {
        let mut bytes = Vec::new();
        let packs = packs.is_dir().then_some(packs.as_path());
        let summary = integritas_core::store::backup::backup(&*store, packs, &mut bytes, &now_rfc3339())
            .map_err(|e| ApiError::Internal(format!("backup: {e}")))?;
        accounts.log(
            "backup",
            Some(&by),
            serde_json::json!({"sha256": summary.sha256, "events": summary.counts.events}),
        )?;
        Ok((bytes, summary))
    })
    .await?;
    let counts = serde_json::to_string(&summary.counts).unwrap_or_default();
    let mut response = ([(header::CONTENT_TYPE, "application/gzip")], bytes).into_response();
    let headers = response.headers_mut();
    for (name, value) in [("x-backup-sha256", summary.sha256.as_str()), ("x-backup-counts", counts.as_str())] {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    }
    Ok(response)
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
