//! Institutions (tenants) and the roles people hold in them. A caller
//! lists and reads only the institutions it reaches (see `access`);
//! administrators add institutions and give or take roles.

use axum::extract::State;
use axum::http::StatusCode;
use integritas_core::store::Institution;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::access::{self, Reach};
use crate::accounts::Assignment;
use crate::api::{ApiJson, ApiPath, ApiQuery, Page, PageQuery};
use crate::auth::Principal;
use crate::clock;
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, blocking};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_institutions, add_institution))
        .routes(routes!(get_institution))
        .routes(routes!(list_members, add_member))
        .routes(routes!(remove_member))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewInstitution {
    pub id: String,
    pub name: String,
    /// The pack id of the law it falls under.
    pub jurisdiction: String,
    #[serde(default)]
    pub kind: String,
    pub employees: Option<u32>,
    /// The institution this is an organisational unit of.
    pub parent: Option<String>,
    /// IANA zone of its acts (default: its pack's).
    pub timezone: Option<String>,
}

/// Someone's role in an institution.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberView {
    pub user: String,
    pub role: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMember {
    pub user: String,
    /// A role id of the institution's workflow (`pack show` lists them).
    pub role: String,
}

/// Institutions the caller reaches, by id.
#[utoipa::path(get, path = "/institutions", tag = "institutions", params(PageQuery),
    responses((status = 200, body = Page<Institution>)))]
async fn list_institutions(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> ApiResult<axum::Json<Page<Institution>>> {
    let engine = state.engine.clone();
    let mut all = blocking(move || Ok(engine.institutions()?)).await?;
    all.retain(|i| Reach::of(&state, &principal, i).is_some());
    all.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(axum::Json(page.page(all, |i| i.id.clone())))
}

/// Adds an institution (administrators).
#[utoipa::path(post, path = "/institutions", tag = "institutions", request_body = NewInstitution,
    responses((status = 201, body = Institution)))]
async fn add_institution(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(request): ApiJson<NewInstitution>,
) -> ApiResult<(StatusCode, axum::Json<Institution>)> {
    access::admin(&principal)?;
    if let Some(zone) = request.timezone.as_deref().filter(|z| !clock::known_zone(z)) {
        return Err(ApiError::invalid("timezone", format!("`{zone}` is not an IANA time zone (e.g. Europe/Vienna)")));
    }
    if let Some(parent) = &request.parent {
        // A parent the caller could not see is answered as one that does not exist.
        access::institution(&state, &principal, parent)
            .await
            .map_err(|_| ApiError::invalid("parent", format!("no institution `{parent}`")))?;
    }
    let engine = state.engine.clone();
    let institution = Institution {
        id: request.id,
        name: request.name,
        jurisdiction: request.jurisdiction,
        kind: request.kind,
        employees: request.employees,
        parent: request.parent,
        timezone: request.timezone,
    };
    let added = blocking(move || Ok(engine.add_institution(institution)?)).await?;
    state.keep_institution(added.clone());
    Ok((StatusCode::CREATED, axum::Json(added)))
}

/// One institution.
#[utoipa::path(get, path = "/institutions/{id}", tag = "institutions", params(("id" = String, Path)),
    responses((status = 200, body = Institution)))]
async fn get_institution(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<axum::Json<Institution>> {
    let (institution, _) = access::institution(&state, &principal, &id).await?;
    Ok(axum::Json(institution))
}

/// The roles people hold in an institution.
#[utoipa::path(get, path = "/institutions/{id}/members", tag = "institutions", params(("id" = String, Path)),
    responses((status = 200, body = Vec<MemberView>)))]
async fn list_members(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<axum::Json<Vec<MemberView>>> {
    access::institution(&state, &principal, &id).await?;
    let members =
        state.accounts.members_of(&id).into_iter().map(|a| MemberView { user: a.user, role: a.role }).collect();
    Ok(axum::Json(members))
}

/// The role ids of an institution's workflows.
fn roles_of(state: &AppState, institution: &Institution) -> Vec<String> {
    let catalog = state.engine.catalog();
    let mut roles: Vec<String> = catalog
        .all()
        .filter(|p| p.id() == institution.jurisdiction)
        .flat_map(|p| p.workflows.values().flat_map(|w| w.def().roles.iter().map(|r| r.id.clone())).collect::<Vec<_>>())
        .collect();
    roles.sort();
    roles.dedup();
    roles
}

/// Gives a user a role in an institution (administrators).
#[utoipa::path(post, path = "/institutions/{id}/members", tag = "institutions", params(("id" = String, Path)),
    request_body = NewMember, responses((status = 201, body = MemberView)))]
async fn add_member(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<NewMember>,
) -> ApiResult<(StatusCode, axum::Json<MemberView>)> {
    let (institution, _) = access::institution(&state, &principal, &id).await?;
    access::admin(&principal)?;
    if state.accounts.user(&request.user).is_none() {
        return Err(ApiError::invalid("user", format!("no user `{}`", request.user)));
    }
    let roles = roles_of(&state, &institution);
    if !roles.contains(&request.role) {
        return Err(ApiError::invalid(
            "role",
            format!("`{}` is not a role of {}'s workflows; they are: {}", request.role, id, roles.join(", ")),
        ));
    }
    let accounts = state.accounts.clone();
    let by = principal.user.id.clone();
    let assignment = Assignment { user: request.user, institution: id, role: request.role };
    let granted = assignment.clone();
    blocking(move || {
        if accounts.grant_role(granted.clone())? {
            accounts.log(
                "role_granted",
                Some(&granted.user),
                json!({"by": by, "institution": granted.institution, "role": granted.role}),
            )?;
        }
        Ok(())
    })
    .await?;
    Ok((StatusCode::CREATED, axum::Json(MemberView { user: assignment.user, role: assignment.role })))
}

/// Takes a role back (administrators).
#[utoipa::path(delete, path = "/institutions/{id}/members/{user}/{role}", tag = "institutions",
    params(("id" = String, Path), ("user" = String, Path), ("role" = String, Path)),
    responses((status = 204, description = "Taken back")))]
async fn remove_member(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((id, user, role)): ApiPath<(String, String, String)>,
) -> ApiResult<StatusCode> {
    access::institution(&state, &principal, &id).await?;
    access::admin(&principal)?;
    let accounts = state.accounts.clone();
    let by = principal.user.id.clone();
    blocking(move || {
        let assignment = Assignment { user, institution: id, role };
        accounts.revoke_role(&assignment)?;
        accounts.log(
            "role_revoked",
            Some(&assignment.user),
            json!({"by": by, "institution": assignment.institution, "role": assignment.role}),
        )
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
