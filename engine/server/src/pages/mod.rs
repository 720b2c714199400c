//! Server-rendered pages (issue 11): HTML beside the JSON API, for people
//! in a browser. Every page works without JavaScript (plain forms, POST
//! then 303), is generated from the packs' definitions (no form is written
//! for one country), and speaks the user's language: the page words of
//! `templates/pages/words/<lang>.ron`, the pack's labels, and the engine's
//! sentences (validation messages, refusals) through both.
//!
//! What the other page modules use (kept stable):
//! - [`PageUser`]: the signed-in user of a cookie session, the language and
//!   the session's CSRF token (an extractor; without a session it sends the
//!   browser to `/login`);
//! - [`PagePost`]: a POSTed form with its CSRF token checked;
//! - [`render`] / [`render_status`]: a page from a template and a context;
//! - [`plan`] / [`institution`]: `access` with its errors as HTML pages
//!   (the same 404 for what the user may not see);
//! - [`PageError`]: an error page in the user's language (404, 403 naming
//!   the roles needed, 400, 500);
//! - [`word`], [`pack_labels`], [`translator`], [`format_date`]: words.
//!
//! Architecture invariants: access goes through `access` as in the API; a
//! page never shows an anonymous answer; a write is a POST carrying the
//! session's CSRF token in `_csrf`.

pub mod forms;
pub mod home;
pub mod login;
pub mod questionnaire;
// P2's pages: register and heat map, measures, documents, the agency's dashboard.
pub mod dashboard;
pub mod documents;
pub mod heatmap;
pub mod measures;
pub mod register;
// Pack administration (issue 11, item 9).
pub mod packs;
// Issue 11 item 5: imports, exports, the deadlines feed.
pub mod exchange;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, OriginalUri, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use handlebars::{Context, Handlebars, Helper, HelperResult, Output, RenderContext, RenderErrorReason};
use integritas_core::date::Date;
use integritas_core::error::EngineError;
use integritas_core::executor::Refusal;
use integritas_core::locale::Labels;
use integritas_core::pack::Pack;
use integritas_core::projection::Plan;
use integritas_core::store::Institution;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::access::{self, Reach};
use crate::accounts::User;
use crate::auth::{Principal, SESSION_COOKIE, Via, cookie, same_secret};
use crate::error::ApiError;
use crate::state::{AppState, blocking};

/// The languages of the pages: code and the language's own name.
pub const LANGUAGES: [(&str, &str); 5] = [
    ("sr-Latn", "Srpski (latinica)"),
    ("sr-Cyrl", "Српски (ћирилица)"),
    ("cnr", "Crnogorski"),
    ("ro", "Română"),
    ("en", "English"),
];

/// The cookie that keeps the language of a browser not signed in.
pub const LANG_COOKIE: &str = "integritas_lang";

/// The user setting the pages' language is kept in.
pub const LANGUAGE_SETTING: &str = "language";

/// The field a page form carries the session's CSRF token in.
pub const CSRF_FIELD: &str = "_csrf";

/// Content-Security-Policy of the pages: their own stylesheet and script.
const PAGE_CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; \
                        form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// Every page route. Mounted at `/` beside `/api/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(root))
        .route("/assets/pages.css", get(stylesheet))
        .route("/assets/pages.js", get(script))
        .route("/language", post(set_language))
        .merge(login::routes())
        .merge(home::routes())
        .merge(forms::routes())
        .merge(questionnaire::routes())
        // P2: add `.merge(register::routes())` and the others on the lines below.
        .merge(register::routes())
        .merge(measures::routes())
        .merge(documents::routes())
        .merge(dashboard::routes())
        .merge(packs::routes())
        .merge(exchange::routes())
}

/// Page routes that take an upload (a pack archive, a sheet): served with
/// the API's upload route, under its timeout and their own body limits.
pub fn upload_routes() -> Router<AppState> {
    packs::upload_routes().merge(exchange::upload_routes())
}

/// Page templates embedded in the binary: (name, source).
fn templates() -> Vec<(&'static str, &'static str)> {
    let templates = vec![
        ("layout", include_str!("../../../../templates/pages/layout.hbs")),
        ("error", include_str!("../../../../templates/pages/error.hbs")),
        ("login", include_str!("../../../../templates/pages/login.hbs")),
        ("password", include_str!("../../../../templates/pages/password.hbs")),
        ("institutions", include_str!("../../../../templates/pages/institutions.hbs")),
        ("home", include_str!("../../../../templates/pages/home.hbs")),
        ("plan", include_str!("../../../../templates/pages/plan.hbs")),
        ("plan_panel", include_str!("../../../../templates/pages/plan_panel.hbs")),
        ("form", include_str!("../../../../templates/pages/form.hbs")),
        ("form_field", include_str!("../../../../templates/pages/form_field.hbs")),
        ("form_control", include_str!("../../../../templates/pages/form_control.hbs")),
        ("form_problems", include_str!("../../../../templates/pages/form_problems.hbs")),
        ("form_table", include_str!("../../../../templates/pages/form_table.hbs")),
        ("questionnaire", include_str!("../../../../templates/pages/questionnaire.hbs")),
        ("results", include_str!("../../../../templates/pages/results.hbs")),
    ];
    // P2: `templates.extend(register::TEMPLATES);` and the others here.
    let mut templates = templates;
    for p2 in [&register::TEMPLATES[..], &measures::TEMPLATES, &documents::TEMPLATES, &dashboard::TEMPLATES] {
        templates.extend_from_slice(p2);
    }
    templates.extend_from_slice(&packs::TEMPLATES);
    templates.extend_from_slice(&exchange::TEMPLATES);
    templates
}

// ---------------------------------------------------------------- words

/// A `templates/pages/words/<lang>.ron` file: words by key, or another
/// language's words transliterated letter by letter.
#[derive(Debug, Deserialize)]
#[serde(rename = "Words", deny_unknown_fields)]
struct WordsFile {
    language: String,
    #[serde(default)]
    words: BTreeMap<String, String>,
    #[serde(default)]
    transliterate: Option<integritas_core::locale::Transliteration>,
}

const WORD_FILES: [&str; 5] = [
    include_str!("../../../../templates/pages/words/sr-Latn.ron"),
    include_str!("../../../../templates/pages/words/sr-Cyrl.ron"),
    include_str!("../../../../templates/pages/words/cnr.ron"),
    include_str!("../../../../templates/pages/words/ro.ron"),
    include_str!("../../../../templates/pages/words/en.ron"),
];

/// Reads a words file (an optional value is written plainly, as in packs).
fn read_words(source: &str) -> Result<WordsFile, ron::error::SpannedError> {
    ron::Options::default().with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME).from_str(source)
}

struct Words {
    by_language: HashMap<String, BTreeMap<String, String>>,
    /// sr-Cyrl's letters, for pack labels of a pack without that language.
    transliterations: HashMap<String, integritas_core::locale::Transliteration>,
}

/// Transliterates text but leaves `{placeholders}` as written.
fn transliterate_words(t: &integritas_core::locale::Transliteration, text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&t.apply(&rest[..open]));
        match rest[open..].find('}') {
            Some(close) => {
                out.push_str(&rest[open..open + close + 1]);
                rest = &rest[open + close + 1..];
            }
            None => {
                out.push_str(&t.apply(&rest[open..]));
                rest = "";
            }
        }
    }
    out.push_str(&t.apply(rest));
    out
}

fn words() -> &'static Words {
    static WORDS: OnceLock<Words> = OnceLock::new();
    WORDS.get_or_init(|| {
        let files: Vec<WordsFile> = WORD_FILES
            .iter()
            .filter_map(|source| match read_words(source) {
                Ok(file) => Some(file),
                Err(e) => {
                    // A unit test reads every file: this cannot ship broken.
                    tracing::error!("a page words file does not read: {e}");
                    None
                }
            })
            .collect();
        let mut by_language: HashMap<String, BTreeMap<String, String>> = HashMap::new();
        let mut transliterations = HashMap::new();
        for file in files.iter().filter(|f| f.transliterate.is_none()) {
            by_language.insert(file.language.clone(), file.words.clone());
        }
        for file in &files {
            if let Some(t) = &file.transliterate {
                let source = by_language.get(&t.from).cloned().unwrap_or_default();
                let mut map: BTreeMap<String, String> =
                    source.iter().map(|(k, v)| (k.clone(), transliterate_words(t, v))).collect();
                map.extend(file.words.clone());
                by_language.insert(file.language.clone(), map);
                transliterations.insert(file.language.clone(), t.clone());
            }
        }
        Words { by_language, transliterations }
    })
}

/// A language code of the pages, or `None`.
pub fn language(code: &str) -> Option<&'static str> {
    LANGUAGES.iter().map(|(c, _)| *c).find(|c| c.eq_ignore_ascii_case(code))
}

/// A page word in `lang` (English when the language lacks it, the key when
/// no language has it, so a missing word shows in tests).
pub fn word(lang: &str, key: &str) -> String {
    let all = &words().by_language;
    all.get(lang)
        .and_then(|m| m.get(key))
        .or_else(|| all.get("en").and_then(|m| m.get(key)))
        .cloned()
        .unwrap_or_else(|| key.to_string())
}

/// A page word with its `{name}` placeholders filled.
pub fn word_with(lang: &str, key: &str, args: &[(&str, String)]) -> String {
    let args: BTreeMap<String, String> = args.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    integritas_core::message::fill(&word(lang, key), &args)
}

/// A word of `lang` only if that language (or English) has it.
pub(crate) fn known_word(lang: &str, key: &str) -> Option<String> {
    let all = &words().by_language;
    all.get(lang).and_then(|m| m.get(key)).cloned()
}

/// The language of a pack to show its labels in for a page language: the
/// same one when the pack has it, else the nearest it has.
pub fn pack_language(pack: &Pack, lang: &str) -> String {
    let has = |l: &str| pack.manifest.languages.iter().any(|p| p == l);
    let near: &[&str] = match lang {
        "sr-Latn" => &["sr-Latn", "cnr", "sr-Cyrl", "en"],
        "sr-Cyrl" => &["sr-Cyrl", "sr-Latn", "cnr", "en"],
        "cnr" => &["cnr", "sr-Latn", "en"],
        "ro" => &["ro", "en"],
        _ => &["en"],
    };
    near.iter().find(|l| has(l)).map_or_else(|| pack.source_language().to_string(), |l| (*l).to_string())
}

/// The pack's labels for a page language; a pack without the page's script
/// (sr-Cyrl) has its nearest language's labels transliterated.
pub fn pack_labels(pack: &Pack, lang: &str) -> Labels {
    let chosen = pack_language(pack, lang);
    let mut labels = pack.labels(&chosen);
    if chosen != lang
        && let Some(t) = words().transliterations.get(lang)
        && chosen == t.from
    {
        for text in labels.map.values_mut() {
            *text = transliterate_words(t, text);
        }
        labels.language = lang.to_string();
    }
    labels
}

/// Translates the engine's sentences and a pack's labels into a page
/// language: the pack's own translation first, then the page words, then
/// (by returning `None`) the engine's English.
pub fn translator(pack: &Pack, lang: &str) -> impl Fn(&str) -> Option<String> + use<> {
    let labels = pack_labels(pack, lang);
    let lang = lang.to_string();
    move |key: &str| {
        if integritas_core::locale::is_engine_word(key) && !key.starts_with("value.") {
            return labels.map.get(key).cloned().or_else(|| known_word(&lang, key));
        }
        labels.map.get(key).cloned().or_else(|| known_word(&lang, key))
    }
}

/// A date in a language's format (`format.date`: `{d}`, `{m}`, `{y}`,
/// `{month}`).
pub fn format_date(lang: &str, date: Date) -> String {
    let (y, m, d) = (date.year(), date.month(), date.day());
    let args = [
        ("d", d.to_string()),
        ("dd", format!("{d:02}")),
        ("m", m.to_string()),
        ("mm", format!("{m:02}")),
        ("y", y.to_string()),
        ("month", word(lang, &format!("month.{m}"))),
    ];
    word_with(lang, "format.date", &args)
}

// ------------------------------------------------------------ templates

fn registry() -> &'static Handlebars<'static> {
    static REGISTRY: OnceLock<Handlebars<'static>> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut hb = Handlebars::new();
        hb.set_strict_mode(false);
        hb.register_helper("w", Box::new(word_helper));
        hb.register_helper("csrf", Box::new(csrf_helper));
        hb.register_helper("date", Box::new(date_helper));
        for (name, source) in templates() {
            if let Err(e) = hb.register_template_string(name, source) {
                tracing::error!("the page template `{name}` does not compile: {e}");
            }
            // Every template is also a partial (`{{> layout}}`, `{{> plan_panel}}`).
            if let Err(e) = hb.register_partial(name, source) {
                tracing::error!("the page partial `{name}` does not compile: {e}");
            }
        }
        hb
    })
}

fn root_lang(ctx: &Context) -> String {
    ctx.data().pointer("/page/lang").and_then(Value::as_str).unwrap_or("en").to_string()
}

/// `{{w "key" name=value}}`: a page word in the page's language.
fn word_helper(h: &Helper, _: &Handlebars, ctx: &Context, _: &mut RenderContext, out: &mut dyn Output) -> HelperResult {
    let key = h.param(0).and_then(|p| p.value().as_str()).ok_or(RenderErrorReason::ParamNotFoundForIndex("w", 0))?;
    let lang = root_lang(ctx);
    let args: Vec<(&str, String)> = h
        .hash()
        .iter()
        .map(|(k, v)| {
            let text = match v.value() {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            (*k, text)
        })
        .collect();
    out.write(&handlebars::html_escape(&word_with(&lang, key, &args)))?;
    Ok(())
}

/// `{{csrf}}`: the hidden field with the session's CSRF token.
fn csrf_helper(_: &Helper, _: &Handlebars, ctx: &Context, _: &mut RenderContext, out: &mut dyn Output) -> HelperResult {
    let token = ctx.data().pointer("/page/csrf").and_then(Value::as_str).unwrap_or("");
    out.write(&format!(r#"<input type="hidden" name="{CSRF_FIELD}" value="{}">"#, handlebars::html_escape(token)))?;
    Ok(())
}

/// `{{date "2024-01-31"}}`: a date in the page's language.
fn date_helper(h: &Helper, _: &Handlebars, ctx: &Context, _: &mut RenderContext, out: &mut dyn Output) -> HelperResult {
    let text = h.param(0).and_then(|p| p.value().as_str()).unwrap_or("");
    let shown = match text.parse::<Date>() {
        Ok(date) => format_date(&root_lang(ctx), date),
        Err(_) => text.to_string(),
    };
    out.write(&handlebars::html_escape(&shown))?;
    Ok(())
}

/// What the layout needs of whoever is signed in (or not).
#[derive(Debug, Clone, Default)]
pub struct Chrome {
    pub lang: &'static str,
    pub user: Option<(String, String)>,
    pub csrf: String,
    pub path: String,
    /// Whether the menu links the pack administration (administrators and agencies).
    pub packs: bool,
}

fn page_context(chrome: &Chrome, mut context: Value) -> Value {
    let langs: Vec<Value> = LANGUAGES
        .iter()
        .map(|(code, name)| json!({"code": code, "name": name, "current": *code == chrome.lang}))
        .collect();
    let page = json!({
        "lang": chrome.lang,
        "langs": langs,
        "user": chrome.user.as_ref().map(|(id, name)| json!({"id": id, "name": name})),
        "csrf": chrome.csrf,
        "path": chrome.path,
        "packs": chrome.packs,
    });
    if !context.is_object() {
        context = json!({});
    }
    if let Some(map) = context.as_object_mut() {
        map.insert("page".into(), page);
    }
    context
}

/// Renders a page: `template` with `context` (which should carry a
/// `title`), inside the layout, in the user's language; status 200.
pub fn render(user: &PageUser, template: &str, context: Value) -> Response {
    render_status(&user.chrome(), StatusCode::OK, template, context)
}

/// Renders a page with a status, for whoever the chrome says.
pub fn render_status(chrome: &Chrome, status: StatusCode, template: &str, context: Value) -> Response {
    let context = page_context(chrome, context);
    match registry().render(template, &context) {
        Ok(html) => html_response(status, html),
        Err(e) => {
            tracing::error!("the page `{template}` failed to render: {e}");
            let fallback = format!(
                "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\"><title>500</title></head>\
                 <body><main><h1>{}</h1></main></body></html>",
                chrome.lang,
                handlebars::html_escape(&word(chrome.lang, "error.internal"))
            );
            html_response(StatusCode::INTERNAL_SERVER_ERROR, fallback)
        }
    }
}

fn html_response(status: StatusCode, html: String) -> Response {
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(PAGE_CSP));
    // Same-origin requests keep their `Origin` (the sign-in form's check
    // needs it; under `no-referrer` a browser sends `Origin: null`); other
    // sites still get no referrer.
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    response
}

/// A redirect after a successful POST (303: the browser GETs the target).
pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

// ------------------------------------------------------------- errors

/// Why a page is not shown.
#[derive(Debug, Clone)]
pub enum Fail {
    /// Not signed in: to the login page, then back to `next`.
    Login { next: String },
    /// Somewhere else first (e.g. the password to change).
    Redirect(String),
    /// 404, the same for what the user may not see.
    NotFound,
    /// 403: `roles` (their titles) may; `reason` is a page word key.
    Forbidden { reason: &'static str, roles: Vec<String> },
    /// 403: the form's CSRF token is missing or wrong.
    Csrf,
    /// 400: the request itself is malformed.
    BadRequest,
    /// 429: too many sign-in attempts.
    RateLimited,
    /// 500: a fault of the install (logged).
    Internal,
}

/// An error page in the user's language.
#[derive(Debug, Clone)]
pub struct PageError {
    pub chrome: Chrome,
    pub fail: Fail,
}

impl PageError {
    pub fn new(chrome: Chrome, fail: Fail) -> PageError {
        PageError { chrome, fail }
    }

    /// An API error as a page: 404 stays 404; a role refusal names the
    /// roles (ids; see [`PageError::with_role_titles`]); faults are logged.
    pub fn from_api(chrome: Chrome, e: ApiError) -> PageError {
        let fail = match e {
            ApiError::NotFound { .. } | ApiError::Engine(EngineError::NotFound(_)) => Fail::NotFound,
            ApiError::Unauthorized => Fail::Login { next: chrome.path.clone() },
            ApiError::Csrf => Fail::Csrf,
            ApiError::RateLimited { .. } => Fail::RateLimited,
            ApiError::Forbidden { roles_needed, message } => {
                let reason = if message.contains("agency") {
                    "forbidden.agency"
                } else if roles_needed.is_empty() {
                    "forbidden.no_role"
                } else {
                    "forbidden.role"
                };
                Fail::Forbidden { reason, roles: roles_needed }
            }
            ApiError::Engine(EngineError::Refused(Refusal::Role { allowed, .. })) => {
                Fail::Forbidden { reason: "forbidden.role", roles: allowed }
            }
            ApiError::BadRequest { .. } | ApiError::Engine(EngineError::Invalid { .. }) => Fail::BadRequest,
            other => {
                tracing::error!("a page failed: {other}");
                Fail::Internal
            }
        };
        PageError { chrome, fail }
    }

    /// Shows role ids of a 403 as the pack's titles in the page's language.
    pub fn with_role_titles(mut self, labels: &Labels) -> PageError {
        if let Fail::Forbidden { roles, .. } = &mut self.fail {
            for role in roles.iter_mut() {
                if let Some(title) = labels.map.get(&format!("role.{role}")) {
                    *role = title.clone();
                }
            }
        }
        self
    }

    pub fn status(&self) -> StatusCode {
        match self.fail {
            Fail::Login { .. } | Fail::Redirect(_) => StatusCode::SEE_OTHER,
            Fail::NotFound => StatusCode::NOT_FOUND,
            Fail::Forbidden { .. } | Fail::Csrf => StatusCode::FORBIDDEN,
            Fail::BadRequest => StatusCode::BAD_REQUEST,
            Fail::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Fail::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let lang = self.chrome.lang;
        let (heading, detail) = match &self.fail {
            Fail::Login { next } => {
                let target = if next.is_empty() || next == "/" || !next.starts_with('/') || next.starts_with("//") {
                    "/login".to_string()
                } else {
                    format!("/login?next={}", encode_component(next))
                };
                return Redirect::to(&target).into_response();
            }
            Fail::Redirect(to) => return Redirect::to(to).into_response(),
            Fail::NotFound => (word(lang, "error.not_found"), word(lang, "error.not_found.detail")),
            Fail::Forbidden { reason, roles } => {
                let roles = roles.join(", ");
                (word(lang, "error.forbidden"), word_with(lang, reason, &[("roles", roles)]))
            }
            Fail::Csrf => (word(lang, "error.forbidden"), word(lang, "error.csrf")),
            Fail::BadRequest => (word(lang, "error.bad_request"), word(lang, "error.bad_request.detail")),
            Fail::RateLimited => (word(lang, "error.rate_limited"), word(lang, "error.rate_limited.detail")),
            Fail::Internal => (word(lang, "error.internal"), word(lang, "error.internal.detail")),
        };
        let status = self.status();
        let context = json!({
            "title": heading,
            "status": status.as_u16(),
            "heading": heading,
            "detail": detail,
        });
        render_status(&self.chrome, status, "error", context)
    }
}

/// Percent-encodes a query component.
pub fn encode_component(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

// ---------------------------------------------------------- page user

/// The signed-in user of a page (a cookie session), the page's language,
/// the session's CSRF token and the page's own path.
#[derive(Debug, Clone)]
pub struct PageUser {
    pub user: Arc<User>,
    pub lang: &'static str,
    pub csrf: String,
    /// sha256 of the session id.
    pub session: String,
    /// Path and query of this request.
    pub path: String,
}

impl PageUser {
    /// The user as the API's access checks take it.
    pub fn principal(&self) -> Principal {
        Principal { user: self.user.clone(), via: Via::Session { hash: self.session.clone() } }
    }

    pub fn chrome(&self) -> Chrome {
        Chrome {
            lang: self.lang,
            user: Some((self.user.id.clone(), self.user.name.clone())),
            csrf: self.csrf.clone(),
            path: self.path.clone(),
            packs: self.user.admin || !self.user.agency.is_empty(),
        }
    }

    /// An error page for this user.
    pub fn fail(&self, fail: Fail) -> PageError {
        PageError::new(self.chrome(), fail)
    }

    /// An API error as a page for this user.
    pub fn api(&self, e: ApiError) -> PageError {
        PageError::from_api(self.chrome(), e)
    }
}

/// The request's path and query (as the browser sent it).
fn request_path(parts: &Parts) -> String {
    let uri = parts.extensions.get::<OriginalUri>().map_or(&parts.uri, |o| &o.0);
    uri.path_and_query().map_or_else(|| uri.path().to_string(), |p| p.as_str().to_string())
}

fn query_lang(parts: &Parts) -> Option<&'static str> {
    let query = parts.uri.query()?;
    form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "lang").and_then(|(_, v)| language(&v))
}

/// The language of a browser not signed in: `?lang=`, its cookie, its
/// `Accept-Language`, else English.
pub fn guest_lang(headers: &HeaderMap, asked: Option<&'static str>) -> &'static str {
    if let Some(lang) = asked {
        return lang;
    }
    if let Some(lang) = cookie(headers, LANG_COOKIE).and_then(language) {
        return lang;
    }
    let accepted = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).unwrap_or("");
    for tag in accepted.split(',').map(|t| t.split(';').next().unwrap_or("").trim()) {
        let lower = tag.to_ascii_lowercase();
        let found = match lower.as_str() {
            t if t.starts_with("sr-cyrl") => Some("sr-Cyrl"),
            t if t.starts_with("sr") => Some("sr-Latn"),
            t if t.starts_with("cnr") || t.starts_with("me") => Some("cnr"),
            t if t.starts_with("ro") => Some("ro"),
            t if t.starts_with("en") => Some("en"),
            _ => None,
        };
        if found.is_some() {
            return found.unwrap_or("en");
        }
    }
    "en"
}

/// The chrome of a request of someone not (yet) known.
pub fn guest_chrome(parts_headers: &HeaderMap, asked: Option<&'static str>, path: String) -> Chrome {
    Chrome { lang: guest_lang(parts_headers, asked), user: None, csrf: String::new(), path, packs: false }
}

/// Paths a user whose password must be changed may still open.
const BEFORE_PASSWORD_CHANGE: [&str; 3] = ["/password", "/logout", "/language"];

impl FromRequestParts<AppState> for PageUser {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let path = request_path(parts);
        let asked = query_lang(parts);
        let guest = guest_chrome(&parts.headers, asked, path.clone());
        let Some(id) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(PageError::new(guest, Fail::Login { next: path }));
        };
        let Some((hash, session, persist)) = state.accounts.session(id) else {
            return Err(PageError::new(guest, Fail::Login { next: path }));
        };
        let Some(user) = state.accounts.user(&session.user) else {
            return Err(PageError::new(guest, Fail::Login { next: path }));
        };
        let stored = state.accounts.setting(&user.id, LANGUAGE_SETTING).as_deref().and_then(language);
        let lang = asked.or(stored).unwrap_or(guest.lang);
        let save_lang = asked.filter(|a| Some(*a) != stored);
        if persist || save_lang.is_some() {
            let accounts = state.accounts.clone();
            let (h, s, u) = (hash.clone(), session.clone(), user.id.clone());
            let saved = blocking(move || {
                if persist {
                    accounts.persist_session(&h, &s)?;
                }
                if let Some(lang) = save_lang {
                    accounts.set_setting(&u, LANGUAGE_SETTING, lang)?;
                }
                Ok(())
            })
            .await;
            if let Err(e) = saved {
                return Err(PageError::from_api(guest, e));
            }
        }
        let page_user = PageUser { user, lang, csrf: session.csrf, session: hash, path };
        let bare = parts.extensions.get::<OriginalUri>().map_or(parts.uri.path(), |o| o.0.path()).to_string();
        if page_user.user.must_change_password && !BEFORE_PASSWORD_CHANGE.contains(&bare.as_str()) {
            return Err(page_user.fail(Fail::Redirect("/password".into())));
        }
        Ok(page_user)
    }
}

/// A POSTed page form (`application/x-www-form-urlencoded`), as pairs in
/// the order sent (a multiple choice repeats its name).
#[derive(Debug, Clone, Default)]
pub struct FormBody(pub Vec<(String, String)>);

impl FormBody {
    pub fn parse(bytes: &[u8]) -> FormBody {
        FormBody(form_urlencoded::parse(bytes).map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
    }

    /// The first value of a name.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Every value of a name.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect()
    }

    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }
}

/// A POSTed page form of a signed-in user, its CSRF token checked.
#[derive(Debug, Clone)]
pub struct PagePost {
    pub user: PageUser,
    pub form: FormBody,
}

impl FromRequest<AppState> for PagePost {
    type Rejection = PageError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let user = PageUser::from_request_parts(&mut parts, state).await?;
        let bytes = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|_| user.fail(Fail::BadRequest))?;
        let form = FormBody::parse(&bytes);
        if !same_secret(form.get(CSRF_FIELD).unwrap_or(""), &user.csrf) {
            return Err(user.fail(Fail::Csrf));
        }
        Ok(PagePost { user, form })
    }
}

// ------------------------------------------------------------- access

/// An institution the user may read, as `access::institution`, its errors as pages.
pub async fn institution(state: &AppState, user: &PageUser, id: &str) -> Result<(Institution, Reach), PageError> {
    access::institution(state, &user.principal(), id).await.map_err(|e| user.api(e))
}

/// A plan the user may read, as `access::plan`, its errors as pages.
pub async fn plan(state: &AppState, user: &PageUser, id: &str) -> Result<(Arc<Plan>, Institution, Reach), PageError> {
    access::plan(state, &user.principal(), id).await.map_err(|e| user.api(e))
}

// ------------------------------------------------------------- routes

/// `/`: the user's home (their one institution, or the list of them).
async fn root(State(state): State<AppState>, user: PageUser) -> Result<Response, PageError> {
    let mut ids = state.accounts.institutions_of(&user.user.id);
    if ids.len() == 1 && !user.user.admin && user.user.agency.is_empty() {
        return Ok(see_other(&format!("/institutions/{}", ids.remove(0))));
    }
    Ok(see_other("/institutions"))
}

#[derive(Deserialize)]
struct LanguageForm {
    lang: String,
    #[serde(default)]
    back: String,
}

/// A local path to go back to (never another site).
pub fn local_path(path: &str) -> String {
    if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') { path.to_string() } else { "/".into() }
}

/// POST `/language`: switches the language; a signed-in user keeps it as a
/// setting, a browser not signed in as a cookie.
async fn set_language(State(state): State<AppState>, request: Request) -> Result<Response, PageError> {
    let (mut parts, body) = request.into_parts();
    let headers = parts.headers.clone();
    let signed_in = cookie(&parts.headers, SESSION_COOKIE).and_then(|id| state.accounts.session(id)).is_some();
    let bytes = Bytes::from_request(Request::from_parts(parts.clone(), body), &state)
        .await
        .map_err(|_| PageError::new(guest_chrome(&headers, None, "/".into()), Fail::BadRequest))?;
    let form = FormBody::parse(&bytes);
    let chosen: LanguageForm = LanguageForm {
        lang: form.get("lang").unwrap_or("").to_string(),
        back: form.get("back").unwrap_or("/").to_string(),
    };
    let Some(lang) = language(&chosen.lang) else {
        return Err(PageError::new(guest_chrome(&headers, None, "/".into()), Fail::BadRequest));
    };
    let back = local_path(&chosen.back);
    // Drop a `lang=` the page was opened with, so the choice holds.
    let back = strip_lang(&back);
    if signed_in {
        let user = PageUser::from_request_parts(&mut parts, &state).await?;
        if !same_secret(form.get(CSRF_FIELD).unwrap_or(""), &user.csrf) {
            return Err(user.fail(Fail::Csrf));
        }
        let accounts = state.accounts.clone();
        let id = user.user.id.clone();
        blocking(move || accounts.set_setting(&id, LANGUAGE_SETTING, lang)).await.map_err(|e| user.api(e))?;
        return Ok(see_other(&back));
    }
    let mut response = see_other(&back);
    let secure = if state.config.secure_cookies { "; Secure" } else { "" };
    let value = format!("{LANG_COOKIE}={lang}; Path=/; SameSite=Lax; Max-Age=31536000{secure}");
    if let Ok(value) = HeaderValue::from_str(&value) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

fn strip_lang(path: &str) -> String {
    let Some((base, query)) = path.split_once('?') else {
        return path.to_string();
    };
    let kept: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .filter(|(k, _)| k != "lang")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if kept.is_empty() {
        return base.to_string();
    }
    let query = form_urlencoded::Serializer::new(String::new()).extend_pairs(kept).finish();
    format!("{base}?{query}")
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    response
}

async fn stylesheet() -> Response {
    asset("text/css; charset=utf-8", include_str!("../../../../templates/pages/pages.css"))
}

async fn script() -> Response {
    asset("text/javascript; charset=utf-8", include_str!("../../../../templates/pages/pages.js"))
}

/// What no route answers: an HTML 404 page in the browser's or user's
/// language (the API's JSON 404 under `/api/`).
pub async fn not_found(State(state): State<AppState>, request: Request) -> Response {
    let (mut parts, _) = request.into_parts();
    let path = request_path(&parts);
    if path.starts_with("/api/") || path == "/api" {
        return ApiError::NotFound { kind: "route", id: "this URL".into() }.into_response();
    }
    let chrome = match cookie(&parts.headers, SESSION_COOKIE).and_then(|id| state.accounts.session(id)) {
        Some(_) => match PageUser::from_request_parts(&mut parts, &state).await {
            Ok(user) => user.chrome(),
            Err(e) => e.chrome,
        },
        None => guest_chrome(&parts.headers, query_lang(&parts), path),
    };
    PageError::new(chrome, Fail::NotFound).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_every_english_word() {
        for source in WORD_FILES {
            if let Err(e) = read_words(source) {
                panic!("a words file does not read: {e}\n{}", &source[..80.min(source.len())]);
            }
        }
        let all = &words().by_language;
        assert_eq!(all.len(), LANGUAGES.len(), "every words file reads");
        let english = &all["en"];
        for (code, _) in LANGUAGES {
            let words = &all[code];
            let missing: Vec<&String> = english.keys().filter(|k| !words.contains_key(*k)).collect();
            assert!(missing.is_empty(), "{code} lacks {missing:?}");
        }
        // Every sentence of the engine has a page word in every language.
        for (key, _) in integritas_core::message::ENGLISH {
            assert!(english.contains_key(*key), "en lacks the engine's `{key}`");
        }
    }

    #[test]
    fn cyrillic_is_transliterated_but_placeholders_are_not() {
        let text = word("sr-Cyrl", "problem.required");
        assert!(text.contains("{field}"), "{text}");
        assert!(text.chars().any(|c| ('\u{0400}'..='\u{04FF}').contains(&c)), "{text}");
    }

    #[test]
    fn every_template_compiles() {
        for (name, source) in templates() {
            handlebars::Template::compile(source).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    #[test]
    fn dates_follow_the_language() {
        let date: Date = "2026-03-05".parse().expect("date");
        assert_eq!(format_date("en", date), "5 March 2026");
        assert_eq!(format_date("sr-Latn", date), "5. 3. 2026.");
    }

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(local_path("/plans/p?x=1"), "/plans/p?x=1");
        assert_eq!(local_path("//evil.example"), "/");
        assert_eq!(local_path("https://evil.example"), "/");
        assert_eq!(strip_lang("/a?lang=en&b=2"), "/a?b=2");
        assert_eq!(strip_lang("/a?lang=en"), "/a");
    }
}
