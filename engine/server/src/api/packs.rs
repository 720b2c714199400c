//! Jurisdiction packs: list, show, and install a new version from an
//! uploaded `.tar.gz` (administrators; the one route with a larger body
//! limit). A refused pack is answered with every diagnostic.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use integritas_core::error::Problem;
use integritas_core::message::Message;
use integritas_core::pack::InstallError;
use integritas_core::wire::{ErrorBody, ErrorView, PackDetail, PackSummary};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::access;
use crate::api::{ApiPath, ApiQuery};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, blocking};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_packs)).routes(routes!(show_pack))
}

pub fn upload_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(install_pack))
}

/// Pack versions and how many plans each carries.
#[utoipa::path(get, path = "/packs", tag = "packs", responses((status = 200, body = Vec<PackSummary>)))]
async fn list_packs(State(state): State<AppState>, _principal: Principal) -> ApiResult<axum::Json<Vec<PackSummary>>> {
    let engine = state.engine.clone();
    let (catalog, counts) = blocking(move || Ok((engine.catalog(), engine.plans_per_version()?))).await?;
    Ok(axum::Json(
        catalog
            .all()
            .map(|p| {
                let n = counts.get(&(p.id().to_string(), p.version().to_string())).copied().unwrap_or(0);
                PackSummary::new(p, n)
            })
            .collect(),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct VersionQuery {
    /// A version of the pack (default: the newest).
    pub version: Option<String>,
}

/// What a pack offers: workflows with roles, events and forms (with the
/// JSON key of every field), documents, samples.
#[utoipa::path(get, path = "/packs/{id}", tag = "packs", params(("id" = String, Path), VersionQuery),
    responses((status = 200, body = PackDetail)))]
async fn show_pack(
    State(state): State<AppState>,
    _principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<VersionQuery>,
) -> ApiResult<axum::Json<PackDetail>> {
    let version = match &query.version {
        Some(v) => Some(
            semver::Version::parse(v)
                .map_err(|e| ApiError::invalid("version", format!("`{v}` is not a semver version: {e}")))?,
        ),
        None => None,
    };
    let engine = state.engine.clone();
    let (catalog, counts) = blocking(move || Ok((engine.catalog(), engine.plans_per_version()?))).await?;
    let pack = catalog.pack(&id, version.as_ref()).ok_or_else(|| {
        integritas_core::error::EngineError::not_found(
            "pack",
            id.clone(),
            catalog.all().filter(|p| p.id() == id).map(|p| p.version().to_string()),
        )
    })?;
    let plans = counts.get(&(pack.id().to_string(), pack.version().to_string())).copied().unwrap_or(0);
    Ok(axum::Json(PackDetail::new(pack, plans)))
}

/// The version installed.
#[derive(Debug, Serialize, ToSchema)]
pub struct InstalledPack {
    pub id: String,
    pub version: String,
}

/// Validates a pack archive (`.tar.gz` of the pack folder) whole, runs its
/// scenarios and activates it (administrators). Nothing is kept when refused.
#[utoipa::path(post, path = "/packs", tag = "packs",
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The pack folder as .tar.gz"),
    responses((status = 201, body = InstalledPack), (status = 422, description = "Refused, with every problem", body = ErrorBody)))]
async fn install_pack(
    State(state): State<AppState>,
    principal: Principal,
    body: Bytes,
) -> ApiResult<(StatusCode, axum::Json<InstalledPack>)> {
    access::admin(&principal)?;
    let state2 = state.clone();
    let by = principal.user.id.clone();
    let installed = blocking(move || Ok(install_upload(&state2, &by, &body)?)).await?;
    Ok((StatusCode::CREATED, axum::Json(installed)))
}

/// Installs an uploaded pack archive (`.tar.gz` bytes) as `by`: written to
/// a temporary file, validated whole (scenarios run), activated, and the
/// install logged. Blocks. Shared by `POST /api/v1/packs` and the pack
/// page, so both refuse and accept the same archives.
pub fn install_upload(state: &AppState, by: &str, body: &[u8]) -> Result<InstalledPack, InstallError> {
    let dir = tempfile::tempdir().map_err(|e| InstallError::Io(e.to_string()))?;
    let archive = dir.path().join("upload.tar.gz");
    std::fs::write(&archive, body).map_err(|e| InstallError::Io(e.to_string()))?;
    let pack = state.engine.install_pack(&archive)?;
    let installed = InstalledPack { id: pack.id().to_string(), version: pack.version().to_string() };
    state
        .accounts
        .log("pack_installed", None, serde_json::json!({"by": by, "id": installed.id, "version": installed.version}))
        .map_err(|e| InstallError::Io(format!("the pack was installed but its install was not logged: {e}")))?;
    Ok(installed)
}

impl From<InstallError> for ApiError {
    fn from(e: InstallError) -> Self {
        let problem = |path: String, message: String| {
            let mut p = Problem::new(path, Message::new("problem.input").arg("message", &message));
            p.message = message;
            p
        };
        let mut view = ErrorView::new("invalid", e.to_string());
        match e {
            InstallError::Invalid(diagnostics) => {
                view.problems = diagnostics
                    .iter()
                    .filter(|d| d.is_error())
                    .map(|d| problem(format!("{}:{}:{}", d.file, d.line, d.column), d.render()))
                    .collect();
            }
            InstallError::Scenarios(reports) => {
                view.problems = reports
                    .iter()
                    .flat_map(|r| r.failures.iter().map(move |f| problem(r.file.clone(), format!("{}: {f}", r.name))))
                    .collect();
            }
            InstallError::Unpack(_) => {}
            InstallError::Refused(message) => {
                return ApiError::Engine(integritas_core::error::EngineError::Conflict { message });
            }
            InstallError::Io(message) => return ApiError::Internal(message),
            other => return ApiError::Internal(other.to_string()),
        }
        ApiError::Rejected(Box::new(ErrorBody { error: view }))
    }
}
