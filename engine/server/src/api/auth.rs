//! Signing in and out, the caller's own account, password and bearer
//! tokens. A login starts a new session every time (a fresh id in an
//! HttpOnly, SameSite=Strict cookie) and returns the session's CSRF
//! token; logout ends the session on the server.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::accounts::{Assignment, Token, now_secs};
use crate::api::{ApiJson, ApiPath};
use crate::auth::{ClientIp, Principal, SESSION_COOKIE, Via, cookie};
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, blocking};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(change_password))
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub user: String,
    pub password: String,
}

/// A role held in an institution.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoleView {
    pub institution: String,
    pub role: String,
}

impl From<&Assignment> for RoleView {
    fn from(a: &Assignment) -> Self {
        RoleView { institution: a.institution.clone(), role: a.role.clone() }
    }
}

/// The signed-in user.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeView {
    pub id: String,
    pub name: String,
    /// Administrator of the install.
    pub admin: bool,
    /// Jurisdictions (pack ids) supervised as an agency (read-only).
    pub agency: Vec<String>,
    /// Roles held, by institution.
    pub roles: Vec<RoleView>,
    /// The password must be changed before anything else.
    pub must_change_password: bool,
    /// With a session: the token its writes send in `X-CSRF-Token`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub csrf_token: Option<String>,
}

fn me_view(state: &AppState, principal: &Principal, csrf_token: Option<String>) -> MeView {
    let user = &principal.user;
    MeView {
        id: user.id.clone(),
        name: user.name.clone(),
        admin: user.admin,
        agency: user.agency.clone(),
        roles: state.accounts.assignments_of(&user.id).iter().map(RoleView::from).collect(),
        must_change_password: user.must_change_password,
        csrf_token,
    }
}

/// Signs in: sets a new session cookie and returns the session's CSRF token.
#[utoipa::path(post, path = "/auth/login", operation_id = "login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, description = "Signed in; the session cookie is set", body = MeView)))]
async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    ApiJson(request): ApiJson<LoginRequest>,
) -> ApiResult<Response> {
    state.limiter.attempt(ip, state.config.logins_per_minute)?;
    let accounts = state.accounts.clone();
    let previous = cookie(&headers, SESSION_COOKIE).map(|id| integritas_core::store::hash_hex(id.as_bytes()));
    let (user, started) = blocking(move || {
        let Some(user) = accounts.check_login(&request.user, &request.password) else {
            let known = accounts.user(&request.user).map(|u| u.id.clone());
            accounts.log("login_failed", known.as_deref(), json!({"ip": ip.to_string()}))?;
            return Err(ApiError::Unauthorized);
        };
        // A new session id at every login; the one the browser had ends.
        if let Some(old) = previous {
            accounts.end_session_by_hash(&old)?;
        }
        let started = accounts.start_session(&user.id)?;
        accounts.log("login", Some(&user.id), json!({"ip": ip.to_string()}))?;
        Ok((user, started))
    })
    .await?;
    let (id, session) = started;
    let hash = integritas_core::store::hash_hex(id.as_bytes());
    let principal = Principal { user, via: Via::Session { hash } };
    let view = me_view(&state, &principal, Some(session.csrf));
    let secure = if state.config.secure_cookies { "; Secure" } else { "" };
    let cookie = format!(
        "{SESSION_COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{secure}",
        state.config.sessions.absolute.as_secs()
    );
    let mut response = axum::Json(view).into_response();
    let value = HeaderValue::from_str(&cookie).map_err(|e| ApiError::Internal(e.to_string()))?;
    response.headers_mut().insert(header::SET_COOKIE, value);
    Ok(response)
}

/// Signs out: the session ends on the server and its cookie is cleared.
#[utoipa::path(post, path = "/auth/logout", tag = "auth", responses((status = 204, description = "Signed out")))]
async fn logout(State(state): State<AppState>, principal: Principal) -> ApiResult<Response> {
    if let Via::Session { hash } = &principal.via {
        let accounts = state.accounts.clone();
        let (hash, user) = (hash.clone(), principal.user.id.clone());
        blocking(move || {
            accounts.end_session_by_hash(&hash)?;
            accounts.log("logout", Some(&user), json!({}))
        })
        .await?;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("integritas_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
    );
    Ok(response)
}

/// The signed-in user, the roles held and (with a session) its CSRF token.
#[utoipa::path(get, path = "/auth/me", tag = "auth", responses((status = 200, body = MeView)))]
async fn me(State(state): State<AppState>, principal: Principal) -> ApiResult<axum::Json<MeView>> {
    let csrf = match &principal.via {
        Via::Session { hash } => state.accounts.csrf_of(hash),
        _ => None,
    };
    Ok(axum::Json(me_view(&state, &principal, csrf)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current: String,
    /// 8 to 256 characters.
    pub new: String,
}

/// Changes one's own password; every other session of the user ends.
#[utoipa::path(put, path = "/auth/password", tag = "auth", request_body = PasswordChange,
    responses((status = 204, description = "Changed")))]
async fn change_password(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(change): ApiJson<PasswordChange>,
) -> ApiResult<StatusCode> {
    if matches!(principal.via, Via::Local) {
        return Err(ApiError::forbidden("the local administrator token has no password", Vec::new()));
    }
    let accounts = state.accounts.clone();
    let keep = match &principal.via {
        Via::Session { hash } => Some(hash.clone()),
        _ => None,
    };
    let user = principal.user.id.clone();
    blocking(move || {
        if accounts.check_login(&user, &change.current).is_none() {
            accounts.log("password_change_failed", Some(&user), json!({}))?;
            return Err(ApiError::forbidden("the current password is not right", Vec::new()));
        }
        accounts.set_password(&user, &change.new, keep.as_deref())?;
        accounts.log("password_changed", Some(&user), json!({}))
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A bearer token as listed (its secret is shown only when made).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    pub id: String,
    pub name: String,
    pub created: String,
    /// Seconds since the epoch after which it is refused.
    pub expires: Option<u64>,
}

impl From<&Token> for TokenView {
    fn from(t: &Token) -> Self {
        TokenView { id: t.id.clone(), name: t.name.clone(), created: t.created.clone(), expires: t.expires }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// What the token is for (a script's name).
    pub name: String,
    /// Days it lives (none: until revoked).
    #[schema(minimum = 1, maximum = 3650)]
    pub days: Option<u32>,
}

/// A new bearer token: `secret` is shown this once, then only its hash is kept.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedToken {
    pub token: TokenView,
    pub secret: String,
}

/// The caller's bearer tokens.
#[utoipa::path(get, path = "/auth/tokens", tag = "auth", responses((status = 200, body = Vec<TokenView>)))]
async fn list_tokens(State(state): State<AppState>, principal: Principal) -> axum::Json<Vec<TokenView>> {
    axum::Json(state.accounts.tokens_of(principal.id()).iter().map(TokenView::from).collect())
}

/// Makes a bearer token for scripts, acting as the caller.
#[utoipa::path(post, path = "/auth/tokens", tag = "auth", request_body = NewToken,
    responses((status = 201, body = CreatedToken)))]
async fn create_token(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(request): ApiJson<NewToken>,
) -> ApiResult<(StatusCode, axum::Json<CreatedToken>)> {
    if matches!(principal.via, Via::Local) {
        return Err(ApiError::forbidden("the local administrator token cannot make tokens", Vec::new()));
    }
    let days = match request.days {
        Some(d) if !(1..=3650).contains(&d) => return Err(ApiError::invalid("days", "a token lives 1 to 3650 days")),
        other => other,
    };
    let expires = days.map(|d| now_secs() + u64::from(d) * 86_400);
    let accounts = state.accounts.clone();
    let user = principal.user.id.clone();
    let (secret, token) = blocking(move || {
        let made = accounts.create_token(&user, &request.name, expires)?;
        accounts.log("token_created", Some(&user), json!({"token": made.1.id, "name": made.1.name}))?;
        Ok(made)
    })
    .await?;
    Ok((StatusCode::CREATED, axum::Json(CreatedToken { token: TokenView::from(&token), secret })))
}

/// Revokes one of the caller's bearer tokens.
#[utoipa::path(delete, path = "/auth/tokens/{id}", tag = "auth",
    params(("id" = String, Path, description = "The token's public id")),
    responses((status = 204, description = "Revoked")))]
async fn revoke_token(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let accounts = state.accounts.clone();
    let user = principal.user.id.clone();
    blocking(move || {
        accounts.revoke_token(&user, &id)?;
        accounts.log("token_revoked", Some(&user), json!({"token": id}))
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
