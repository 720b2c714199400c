//! Users and their install-wide grants (administrator; agency of
//! jurisdictions). Administrators only. Roles in institutions are given
//! under `/institutions/{id}/members`.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::access;
use crate::accounts::{User, random_password};
use crate::api::auth::RoleView;
use crate::api::{ApiJson, ApiPath, ApiQuery, Page, PageQuery};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, blocking};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_users, create_user)).routes(routes!(get_user)).routes(routes!(set_grants))
}

/// A user as an administrator sees it (never a password or its hash).
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: String,
    pub name: String,
    pub admin: bool,
    pub agency: Vec<String>,
    pub roles: Vec<RoleView>,
    pub must_change_password: bool,
    pub created: String,
}

fn view(state: &AppState, user: &User) -> UserView {
    UserView {
        id: user.id.clone(),
        name: user.name.clone(),
        admin: user.admin,
        agency: user.agency.clone(),
        roles: state.accounts.assignments_of(&user.id).iter().map(RoleView::from).collect(),
        must_change_password: user.must_change_password,
        created: user.created.clone(),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// Letters, digits, `.`, `-`, `_`, `@` (1 to 64).
    pub id: String,
    pub name: String,
    /// Left out: a password is made, returned once, and must be changed at first sign-in.
    pub password: Option<String>,
    #[serde(default)]
    pub admin: bool,
    /// Pack ids of the jurisdictions the user supervises (read-only).
    #[serde(default)]
    pub agency: Vec<String>,
}

/// A new user; `password` only when the server made it (shown this once).
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedUser {
    pub user: UserView,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Grants {
    pub admin: bool,
    pub agency: Vec<String>,
}

fn check_agency(state: &AppState, agency: &[String]) -> ApiResult<()> {
    let catalog = state.engine.catalog();
    for (i, pack) in agency.iter().enumerate() {
        if catalog.pack(pack, None).is_none() {
            return Err(ApiError::invalid(format!("agency[{i}]"), format!("no jurisdiction pack `{pack}`")));
        }
    }
    Ok(())
}

/// Users, by id.
#[utoipa::path(get, path = "/users", tag = "users", params(PageQuery),
    responses((status = 200, body = Page<UserView>)))]
async fn list_users(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> ApiResult<axum::Json<Page<UserView>>> {
    access::admin(&principal)?;
    let users: Vec<UserView> = state.accounts.users().iter().map(|u| view(&state, u)).collect();
    Ok(axum::Json(page.page(users, |u| u.id.clone())))
}

/// Creates a user.
#[utoipa::path(post, path = "/users", tag = "users", request_body = NewUser,
    responses((status = 201, body = CreatedUser)))]
async fn create_user(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(request): ApiJson<NewUser>,
) -> ApiResult<(StatusCode, axum::Json<CreatedUser>)> {
    access::admin(&principal)?;
    check_agency(&state, &request.agency)?;
    let accounts = state.accounts.clone();
    let by = principal.user.id.clone();
    let (user, made) = blocking(move || {
        let (password, made) = match request.password {
            Some(p) => (p, None),
            None => {
                let p = random_password()?;
                (p.clone(), Some(p))
            }
        };
        let user = accounts.create_user(
            &request.id,
            &request.name,
            &password,
            request.admin,
            request.agency,
            made.is_some(),
        )?;
        accounts.log("user_created", Some(&user.id), json!({"by": by, "admin": user.admin, "agency": user.agency}))?;
        Ok((user, made))
    })
    .await?;
    Ok((StatusCode::CREATED, axum::Json(CreatedUser { user: view(&state, &user), password: made })))
}

/// One user.
#[utoipa::path(get, path = "/users/{id}", tag = "users", params(("id" = String, Path)),
    responses((status = 200, body = UserView)))]
async fn get_user(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<axum::Json<UserView>> {
    access::admin(&principal)?;
    let user = state.accounts.user(&id).ok_or(ApiError::NotFound { kind: "user", id })?;
    Ok(axum::Json(view(&state, &user)))
}

/// Sets a user's install-wide grants: administrator, agency of jurisdictions.
#[utoipa::path(put, path = "/users/{id}/grants", tag = "users", params(("id" = String, Path)), request_body = Grants,
    responses((status = 200, body = UserView)))]
async fn set_grants(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(grants): ApiJson<Grants>,
) -> ApiResult<axum::Json<UserView>> {
    access::admin(&principal)?;
    if id == principal.user.id && !grants.admin {
        // An install must not lose its last way in by a slip: another administrator does this.
        return Err(ApiError::forbidden(
            "you cannot take your own administrator grant; another administrator can",
            Vec::new(),
        ));
    }
    check_agency(&state, &grants.agency)?;
    let accounts = state.accounts.clone();
    let by = principal.user.id.clone();
    let user = blocking(move || {
        let user = accounts.set_grants(&id, grants.admin, grants.agency)?;
        accounts.log(
            "grants_changed",
            Some(&user.id),
            json!({"by": by, "admin": user.admin, "agency": user.agency}),
        )?;
        Ok(user)
    })
    .await?;
    Ok(axum::Json(view(&state, &user)))
}
