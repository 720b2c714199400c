//! Who is asking: the [`Principal`] extractor reads a bearer token
//! (scripts, the CLI's local token) or the session cookie (pages), and
//! requires the session's CSRF token on every cookie-authenticated write.
//! Pages (issue 11) use the same extractor.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use integritas_core::store::hash_hex;

use crate::accounts::User;
use crate::error::ApiError;
use crate::state::{AppState, blocking};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "integritas_session";
/// The header a cookie-authenticated write carries its CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Routes a user whose password must be changed may still use.
const BEFORE_PASSWORD_CHANGE: [&str; 3] = ["/api/v1/auth/password", "/api/v1/auth/me", "/api/v1/auth/logout"];

/// How the caller proved who they are.
#[derive(Debug, Clone)]
pub enum Via {
    Token,
    /// A session, by the sha256 of its id.
    Session {
        hash: String,
    },
    /// The local administrator token of the CLI on this machine.
    Local,
}

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: Arc<User>,
    pub via: Via,
}

impl Principal {
    pub fn id(&self) -> &str {
        &self.user.id
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The value of a cookie of the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Compares two secrets in time that does not depend on where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn unsafe_method(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let principal = if let Some(token) = bearer(&parts.headers) {
            if let Some(local) = &state.local_token
                && same_secret(&hash_hex(token.as_bytes()), local)
            {
                Principal { user: Arc::new(User::local_admin()), via: Via::Local }
            } else {
                let user = state.accounts.token_user(token).ok_or(ApiError::Unauthorized)?;
                Principal { user, via: Via::Token }
            }
        } else if let Some(id) = cookie(&parts.headers, SESSION_COOKIE) {
            let (hash, session, persist) = state.accounts.session(id).ok_or(ApiError::Unauthorized)?;
            if unsafe_method(&parts.method) {
                let sent = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
                if !same_secret(sent, &session.csrf) {
                    return Err(ApiError::Csrf);
                }
            }
            if persist {
                let accounts = state.accounts.clone();
                let (h, s) = (hash.clone(), session.clone());
                blocking(move || accounts.persist_session(&h, &s)).await?;
            }
            let user = state.accounts.user(&session.user).ok_or(ApiError::Unauthorized)?;
            Principal { user, via: Via::Session { hash } }
        } else {
            return Err(ApiError::Unauthorized);
        };
        // Nested routers see the path without its prefix: the original one counts.
        let path = parts.extensions.get::<axum::extract::OriginalUri>().map_or(parts.uri.path(), |o| o.0.path());
        if principal.user.must_change_password && !BEFORE_PASSWORD_CHANGE.contains(&path) {
            return Err(ApiError::forbidden(
                "change the password you were given first (PUT /api/v1/auth/password)",
                Vec::new(),
            ));
        }
        Ok(principal)
    }
}

/// The client's address: the socket's peer, or with `trust_forwarded_for`
/// the last `X-Forwarded-For` entry (the one the trusted proxy added).
pub fn client_ip(headers: &HeaderMap, peer: Option<&ConnectInfo<SocketAddr>>, trust_forwarded_for: bool) -> IpAddr {
    let forwarded = trust_forwarded_for
        .then(|| headers.get("x-forwarded-for")?.to_str().ok()?.rsplit(',').next()?.trim().parse::<IpAddr>().ok())
        .flatten();
    forwarded.or(peer.map(|c| c.0.ip())).unwrap_or(IpAddr::from([0, 0, 0, 0]))
}

/// The client's address as [`client_ip`] finds it (an extractor).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>();
        Ok(ClientIp(client_ip(&parts.headers, peer, state.config.trust_forwarded_for)))
    }
}
