//! Signing in and out on pages, and the password change a first sign-in
//! with a given password requires. The same session machinery as the
//! API's: a new session id at every sign-in (the browser's old one ends),
//! the security log, the sign-in rate limit. A failed sign-in says only
//! that the name or the password is wrong, never which.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use super::{Fail, FormBody, PageError, PagePost, PageUser, guest_chrome, language, local_path, render, see_other};
use crate::auth::{ClientIp, SESSION_COOKIE, cookie};
use crate::error::ApiError;
use crate::state::{AppState, blocking};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(login))
        .route("/logout", axum::routing::post(logout))
        .route("/password", get(password_page).post(change_password))
}

#[derive(Debug, Default)]
struct LoginQuery {
    next: Option<String>,
    lang: Option<String>,
    /// Set after signing out.
    out: Option<String>,
}

/// The login page's query (unknown names are ignored: a page never fails on them).
fn serde_urlencoded_lite(query: &str) -> LoginQuery {
    let form = FormBody::parse(query.as_bytes());
    let get = |name: &str| form.get(name).map(str::to_string);
    LoginQuery { next: get("next"), lang: get("lang"), out: get("out") }
}

fn login_context(
    next: &str,
    user: &str,
    failed: bool,
    limited: bool,
    signed_out: bool,
    lang: &str,
) -> serde_json::Value {
    json!({
        "title": super::word(lang, "login.title"),
        "next": next,
        "user": user,
        "failed": failed,
        "limited": limited,
        "signed_out": signed_out,
    })
}

/// GET `/login`: the sign-in form (a signed-in user goes on to `next`).
async fn login_page(State(state): State<AppState>, headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    let query: LoginQuery = serde_urlencoded_lite(query.as_deref().unwrap_or(""));
    let next = local_path(query.next.as_deref().unwrap_or("/"));
    if cookie(&headers, SESSION_COOKIE).and_then(|id| state.accounts.session(id)).is_some() {
        return see_other(&next);
    }
    let chrome = guest_chrome(&headers, query.lang.as_deref().and_then(language), "/login".into());
    let lang = chrome.lang;
    let context = login_context(&next, "", false, false, query.out.is_some(), lang);
    super::render_status(&chrome, StatusCode::OK, "login", context)
}

/// Whether a POST comes from this site's own pages: a browser sends
/// `Origin` with a form POST; when it does, it must be this host.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    origin.split_once("://").is_some_and(|(_, rest)| rest == host)
}

/// POST `/login`: checks the name and password, starts a new session and
/// goes on to `next`.
async fn login(State(state): State<AppState>, ClientIp(ip): ClientIp, request: Request) -> Response {
    let headers = request.headers().clone();
    let chrome = guest_chrome(&headers, None, "/login".into());
    let lang = chrome.lang;
    if !same_origin(&headers) {
        return PageError::new(chrome, Fail::Csrf).into_response();
    }
    let Ok(bytes) = Bytes::from_request(request, &state).await else {
        return PageError::new(chrome, Fail::BadRequest).into_response();
    };
    let form = FormBody::parse(&bytes);
    let user = form.get("user").unwrap_or("").trim().to_string();
    let password = form.get("password").unwrap_or("").to_string();
    let next = local_path(form.get("next").unwrap_or("/"));
    if state.limiter.attempt(ip, state.config.logins_per_minute).is_err() {
        let context = login_context(&next, &user, false, true, false, lang);
        return super::render_status(&chrome, StatusCode::TOO_MANY_REQUESTS, "login", context);
    }
    let accounts = state.accounts.clone();
    let previous = cookie(&headers, SESSION_COOKIE).map(|id| integritas_core::store::hash_hex(id.as_bytes()));
    let name = user.clone();
    let started = blocking(move || {
        let Some(found) = accounts.check_login(&name, &password) else {
            let known = accounts.user(&name).map(|u| u.id.clone());
            accounts.log("login_failed", known.as_deref(), json!({"ip": ip.to_string(), "via": "page"}))?;
            return Ok(None);
        };
        // A new session id at every sign-in; the one the browser had ends.
        if let Some(old) = previous {
            accounts.end_session_by_hash(&old)?;
        }
        let started = accounts.start_session(&found.id)?;
        accounts.log("login", Some(&found.id), json!({"ip": ip.to_string(), "via": "page"}))?;
        Ok(Some((found, started)))
    })
    .await;
    let (found, (id, _)) = match started {
        Ok(Some(started)) => started,
        Ok(None) => {
            let context = login_context(&next, &user, true, false, false, lang);
            return super::render_status(&chrome, StatusCode::UNAUTHORIZED, "login", context);
        }
        Err(e) => return PageError::from_api(chrome, e).into_response(),
    };
    // The language chosen before signing in becomes the user's, unless they have one.
    if state.accounts.setting(&found.id, super::LANGUAGE_SETTING).is_none()
        && let Some(chosen) = cookie(&headers, super::LANG_COOKIE).and_then(language)
    {
        let accounts = state.accounts.clone();
        let uid = found.id.clone();
        let _ = blocking(move || accounts.set_setting(&uid, super::LANGUAGE_SETTING, chosen)).await;
    }
    let target = if found.must_change_password { "/password".to_string() } else { next };
    let mut response = see_other(&target);
    let secure = if state.config.secure_cookies { "; Secure" } else { "" };
    let cookie = format!(
        "{SESSION_COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{secure}",
        state.config.sessions.absolute.as_secs()
    );
    match HeaderValue::from_str(&cookie) {
        Ok(value) => {
            response.headers_mut().insert(header::SET_COOKIE, value);
            response
        }
        Err(e) => PageError::from_api(super::Chrome { lang, ..Default::default() }, ApiError::Internal(e.to_string()))
            .into_response(),
    }
}

/// POST `/logout`: the session ends on the server, its cookie is cleared.
async fn logout(State(state): State<AppState>, post: PagePost) -> Result<Response, PageError> {
    let user = post.user;
    let accounts = state.accounts.clone();
    let (hash, id) = (user.session.clone(), user.user.id.clone());
    blocking(move || {
        accounts.end_session_by_hash(&hash)?;
        accounts.log("logout", Some(&id), json!({"via": "page"}))
    })
    .await
    .map_err(|e| user.api(e))?;
    let mut response = see_other(&format!("/login?out=1&lang={}", user.lang));
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("integritas_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
    );
    Ok(response)
}

fn password_context(user: &PageUser, error: Option<String>) -> serde_json::Value {
    json!({
        "title": super::word(user.lang, "password.title"),
        "must": user.user.must_change_password,
        "error": error,
    })
}

/// GET `/password`: the form to change one's password.
async fn password_page(user: PageUser) -> Response {
    render(&user, "password", password_context(&user, None))
}

/// POST `/password`: changes the password; the user's other sessions end.
async fn change_password(State(state): State<AppState>, post: PagePost) -> Result<Response, PageError> {
    let PagePost { user, form } = post;
    let current = form.get("current").unwrap_or("").to_string();
    let new = form.get("new").unwrap_or("").to_string();
    if form.get("again").unwrap_or("") != new {
        let error = super::word(user.lang, "password.mismatch");
        let mut page = render(&user, "password", password_context(&user, Some(error)));
        *page.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(page);
    }
    let accounts = state.accounts.clone();
    let (id, keep) = (user.user.id.clone(), user.session.clone());
    let outcome = blocking(move || {
        if accounts.check_login(&id, &current).is_none() {
            accounts.log("password_change_failed", Some(&id), json!({"via": "page"}))?;
            return Ok(Some("password.wrong"));
        }
        if new.chars().count() < crate::accounts::MIN_PASSWORD_CHARS || new.chars().count() > 256 {
            return Ok(Some("password.rule"));
        }
        accounts.set_password(&id, &new, Some(&keep))?;
        accounts.log("password_changed", Some(&id), json!({"via": "page"}))?;
        Ok(None)
    })
    .await
    .map_err(|e| user.api(e))?;
    match outcome {
        Some(key) => {
            let mut page = render(&user, "password", password_context(&user, Some(super::word(user.lang, key))));
            *page.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(page)
        }
        None => Ok(see_other("/")),
    }
}
