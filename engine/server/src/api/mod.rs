//! The JSON API under `/api/v1`: one module per resource, each exposing
//! `routes()`. Handlers carry `#[utoipa::path]`, so the OpenAPI document
//! (`/api/v1/openapi.json`) is generated from the code that serves it.
//! Bodies and queries are extracted through [`ApiJson`], [`ApiQuery`] and
//! [`ApiPath`], so a malformed request gets the API's error shape.

pub mod admin;
pub mod auth;
pub mod institutions;
pub mod packs;
pub mod plans;
pub mod users;

use axum::extract::{FromRequest, FromRequestParts};
use serde::{Deserialize, Serialize};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{OpenApi, RefOr, ResponseBuilder, Responses};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;

use crate::error::ApiError;
use crate::state::AppState;

/// A JSON body, rejected in the API's error shape.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// A query string, rejected in the API's error shape.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// Path parameters, rejected in the API's error shape.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// Most items a page holds by default, and at most.
pub const PAGE_DEFAULT: usize = 100;
pub const PAGE_MAX: usize = 1000;

/// One page of a list that grows: `next` is the cursor of the page after
/// (pass it as `after`), absent on the last page.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T: ToSchema> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

/// Where a page starts and how long it is.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// The `next` cursor of the previous page.
    pub after: Option<String>,
    /// Items per page (1 to 1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
}

impl PageQuery {
    pub fn limit(&self) -> usize {
        self.limit.unwrap_or(PAGE_DEFAULT).clamp(1, PAGE_MAX)
    }

    /// A page of items in cursor order, keyed by `key`.
    pub fn page<T: ToSchema>(&self, items: impl IntoIterator<Item = T>, key: impl Fn(&T) -> String) -> Page<T> {
        let limit = self.limit();
        let mut items: Vec<T> = items
            .into_iter()
            .filter(|i| self.after.as_ref().is_none_or(|after| key(i) > *after))
            .take(limit + 1)
            .collect();
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().map(&key)
        } else {
            None
        };
        Page { items, next }
    }
}

/// Every route of the API, with its OpenAPI paths.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(auth::routes())
        .merge(users::routes())
        .merge(institutions::routes())
        .merge(plans::routes())
        .merge(packs::routes())
        .merge(admin::routes())
}

/// Routes that take a pack archive (a larger body limit).
pub fn upload_routes() -> OpenApiRouter<AppState> {
    packs::upload_routes()
}

/// Names of the operations that need no authentication.
const PUBLIC: [&str; 3] = ["health", "openapi", "login"];

/// Completes the generated document: the title, both ways to authenticate
/// (bearer token, session cookie) on every operation but the public ones,
/// and the error body as every operation's `default` response.
pub fn finish(mut doc: OpenApi) -> OpenApi {
    doc.info.title = "integritas API".into();
    doc.info.version = env!("CARGO_PKG_VERSION").into();
    doc.info.description = Some(
        "Integrity-plan workflows over HTTP. Authenticate with a bearer token (POST /api/v1/auth/tokens) \
         or the session cookie of POST /api/v1/auth/login (writes with a cookie need the X-CSRF-Token header)."
            .into(),
    );
    let components = doc.components.get_or_insert_with(Default::default);
    components
        .add_security_scheme("bearer", SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()));
    components.add_security_scheme(
        "session",
        SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(crate::auth::SESSION_COOKIE))),
    );
    let error = ResponseBuilder::new()
        .description("An error: a stable code, a sentence, and for input problems the field path of each")
        .content(
            "application/json",
            utoipa::openapi::ContentBuilder::new()
                .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name("ErrorBody"))))
                .build(),
        )
        .build();
    let schemas = [
        ("ErrorBody", <integritas_core::wire::ErrorBody as utoipa::PartialSchema>::schema()),
        ("ErrorView", <integritas_core::wire::ErrorView as utoipa::PartialSchema>::schema()),
        ("Problem", <integritas_core::error::Problem as utoipa::PartialSchema>::schema()),
        ("NotFound", <integritas_core::error::NotFound as utoipa::PartialSchema>::schema()),
        ("Refusal", <integritas_core::executor::Refusal as utoipa::PartialSchema>::schema()),
    ];
    for (name, schema) in schemas {
        components.schemas.entry(name.to_string()).or_insert(schema);
    }
    let secured = vec![
        utoipa::openapi::security::SecurityRequirement::new("bearer", Vec::<String>::new()),
        utoipa::openapi::security::SecurityRequirement::new("session", Vec::<String>::new()),
    ];
    for item in doc.paths.paths.values_mut() {
        for op in
            [&mut item.get, &mut item.post, &mut item.put, &mut item.delete, &mut item.patch].into_iter().flatten()
        {
            let public = op.operation_id.as_deref().is_some_and(|id| PUBLIC.contains(&id));
            if !public {
                op.security = Some(secured.clone());
            }
            let responses: &mut Responses = &mut op.responses;
            responses.responses.entry("default".into()).or_insert_with(|| RefOr::T(error.clone()));
        }
    }
    doc
}
