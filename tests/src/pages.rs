//! Page sessions over plain HTTP, for the page tests: sign in as a user
//! (the cookie and the CSRF token the pages' forms carry), fetch and post
//! pages, and read values out of their HTML.

use integritas_server::client::Response;
use serde_json::json;

use crate::server::{ADMIN_PASSWORD, TestServer};

/// A signed-in user's page session: the cookie and the CSRF token.
pub struct Session {
    pub cookie: String,
    pub csrf: String,
}

/// Signs `user` in with `password`.
#[track_caller]
pub fn session_with(server: &TestServer, user: &str, password: &str) -> Session {
    let login = server.call("POST", "/api/v1/auth/login", None, Some(&json!({"user": user, "password": password})));
    assert_eq!(login.status, 200, "login of {user}: {}", login.text());
    let cookie = login.header("set-cookie").and_then(|c| c.split(';').next()).expect("a session cookie").to_string();
    let csrf = login.json()["csrf_token"].as_str().expect("csrf").to_string();
    Session { cookie, csrf }
}

/// Signs in a user made by [`TestServer::user`] (password `{user}-password`).
#[track_caller]
pub fn session(server: &TestServer, user: &str) -> Session {
    session_with(server, user, &format!("{user}-password"))
}

/// Signs in the test server's administrator.
#[track_caller]
pub fn admin_session(server: &TestServer) -> Session {
    session_with(server, "admin", ADMIN_PASSWORD)
}

pub fn get(server: &TestServer, session: &Session, path: &str) -> Response {
    server.raw("GET", path, &[("Cookie", &session.cookie)], b"")
}

/// A page's HTML, which must answer 200.
#[track_caller]
pub fn page(server: &TestServer, session: &Session, path: &str) -> String {
    let response = get(server, session, path);
    assert_eq!(response.status, 200, "GET {path}: {}", response.text());
    response.text()
}

/// POSTs a form as a browser sends it (`application/x-www-form-urlencoded`).
pub fn post_form(server: &TestServer, session: &Session, path: &str, body: &str) -> Response {
    server.raw(
        "POST",
        path,
        &[("Cookie", &session.cookie), ("Content-Type", "application/x-www-form-urlencoded")],
        body.as_bytes(),
    )
}

/// Every value of an attribute in the HTML, in order.
pub fn attrs(html: &str, name: &str) -> Vec<String> {
    let needle = format!(" {name}=\"");
    html.match_indices(&needle)
        .map(|(at, _)| {
            let rest = &html[at + needle.len()..];
            rest[..rest.find('"').unwrap_or(0)].to_string()
        })
        .collect()
}

/// The HTML's text with the escapes handlebars writes undone (`&amp;` last,
/// so an escaped escape stays one).
pub fn unescape(text: &str) -> String {
    text.replace("&#x3D;", "=")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&#x60;", "`")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}
