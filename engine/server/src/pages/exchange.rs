//! Imports and exports of a plan in the pages (issue 11, item 5), through
//! the exchange crate as the CLI uses it:
//! - `/plans/{id}/import`: a table of the plan (a register, measures) from
//!   an uploaded CSV or XLSX sheet (`multipart/form-data`, the CSRF token a
//!   field of it). Every row is checked first; on any problem each is
//!   listed with its sheet row and column and nothing is recorded. Without
//!   one, the event that takes the table is fired through the engine, so
//!   its guards apply (a refusal is placed in the sheet too and records
//!   nothing). Only roles that may fire that event import.
//! - `/plans/{id}/exports`: every table and report of the plan as CSV, XLSX
//!   and JSON (`/plans/{id}/exports/{name}.{csv|xlsx|json}`, `name` a
//!   `form.field` or `scores.<output>`); anonymous answers are never
//!   exported row by row (the exchange crate refuses them: a 404 here).
//! - `/calendar`: a user's deadlines feed. Calendar apps send no cookie, so
//!   the feed's address carries a secret (`/calendar/{secret}.ics`), stored
//!   only as its sha256 beside the user it reads for; a new one replaces
//!   the old, and a revoked or unknown one is a 404. The feed lists the
//!   deadlines of every plan the user may read now, dated in each
//!   institution's time zone.

use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::{FromRequest, FromRequestParts, Multipart, Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use integritas_core::definition::{FieldKind, Workflow};
use integritas_core::error::EngineError;
use integritas_core::executor::{Command, Refusal};
use integritas_core::locale::Labels;
use integritas_core::store::{RecordWrite, hash_hex};
use integritas_exchange::calendar::Calendar;
use integritas_exchange::import::{self, ImportError, RowProblem, Target};
use integritas_exchange::{ExchangeError, Format, Sheet, TablePath, export, sheet};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::home::role_title;
use super::register::{download, label, plan_nav, with_plan};
use super::{
    CSRF_FIELD, Fail, LANGUAGE_SETTING, PageError, PagePost, PageUser, format_date, pack_labels, render, see_other,
    translator, word, word_with,
};
use crate::access::Reach;
use crate::accounts::random_hex;
use crate::api::plans::today_for;
use crate::auth::{Principal, Via, same_secret};
use crate::state::{AppState, blocking};

/// The templates of this module: (name, source).
pub const TEMPLATES: [(&str, &str); 3] = [
    ("import", include_str!("../../../../templates/pages/import.hbs")),
    ("exports", include_str!("../../../../templates/pages/exports.hbs")),
    ("calendar", include_str!("../../../../templates/pages/calendar.hbs")),
];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/plans/{id}/import", get(import_page))
        .route("/plans/{id}/exports", get(exports_page))
        .route("/plans/{id}/exports/{file}", get(export_file))
        .route("/calendar", get(calendar_page).post(calendar_post))
        .route("/calendar/{file}", get(calendar_feed))
}

/// The largest sheet the import page takes. Sheets with styles or a logo
/// outgrow the pages' 1 MiB body limit, so the upload is served with the
/// pack uploads (their timeout) under this limit of its own.
pub const SHEET_LIMIT: usize = 8 * 1024 * 1024;

/// The import's upload: served beside the pack uploads, under [`SHEET_LIMIT`].
pub fn upload_routes() -> Router<AppState> {
    Router::new().route("/plans/{id}/import", post(import_post).layer(DefaultBodyLimit::max(SHEET_LIMIT)))
}

/// Record kind of the calendar feeds: sha256 of the secret → [`Feed`].
const FEEDS: &str = "calendar_feeds";

/// The form fields of the import page.
const TARGET: &str = "target";
const ROLE: &str = "_as";
const FILE: &str = "file";

/// The MIME type of a file of `format`.
pub fn content_type(format: Format) -> &'static str {
    match format {
        Format::Csv => "text/csv; charset=utf-8",
        Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        Format::Json => "application/json",
    }
}

/// The file name extension of `format`.
pub fn extension(format: Format) -> &'static str {
    match format {
        Format::Csv => "csv",
        Format::Xlsx => "xlsx",
        Format::Json => "json",
    }
}

// ------------------------------------------------------------- import

/// A table an event of the workflow fills from a sheet, and who may fire it.
#[derive(Debug, Clone, PartialEq)]
pub struct Importable {
    pub table: TablePath,
    pub event: String,
    /// Roles the workflow lets fire the event.
    pub roles: Vec<String>,
}

impl Importable {
    /// The value of the page's choice: `form.field:event`.
    pub fn value(&self) -> String {
        format!("{}:{}", self.table, self.event)
    }
}

/// Every (table, event) of the workflow a sheet may fill: a table field of
/// a form a named (not anonymous) event fills.
pub fn importables(workflow: &Workflow) -> Vec<Importable> {
    let mut out = Vec::new();
    for event in workflow.def().events.iter().filter(|e| !e.anonymous) {
        let mut roles: Vec<String> = workflow
            .def()
            .transitions
            .iter()
            .filter(|t| t.on == event.id)
            .flat_map(|t| t.roles.iter().cloned())
            .collect();
        roles.sort();
        roles.dedup();
        for form_id in &event.fills {
            let Some(form) = workflow.form(form_id) else { continue };
            if workflow.anonymous_filler(form_id).is_some() {
                continue;
            }
            for field in form.fields.iter().filter(|f| f.kind == FieldKind::Table) {
                out.push(Importable {
                    table: TablePath { form: form_id.clone(), field: field.id.clone() },
                    event: event.id.clone(),
                    roles: roles.clone(),
                });
            }
        }
    }
    out
}

/// A problem as the page lists it.
#[derive(Debug, Clone, Serialize)]
struct Shown {
    row: Option<u32>,
    column: Option<String>,
    header: Option<String>,
    message: String,
}

impl From<RowProblem> for Shown {
    fn from(p: RowProblem) -> Shown {
        Shown { row: p.row, column: p.column, header: p.header, message: p.message }
    }
}

/// What an upload came to.
enum Outcome {
    /// The event was fired with the rows.
    Fired,
    /// Nothing recorded, for these reasons.
    Problems(Vec<Shown>),
    /// The role may not fire the event (role ids).
    Forbidden(Vec<String>),
}

/// What the page shows: the choices, and after an upload its problems.
/// What the user may import into a plan: the plan's workflow and labels,
/// the tables offered, and the user's roles that may fire their events.
struct Choices {
    workflow: Arc<Workflow>,
    labels: Labels,
    offered: Vec<Importable>,
    roles: Vec<String>,
}

struct ImportView<'a> {
    plan: &'a str,
    choices: &'a Choices,
    chosen: Option<(String, String)>,
    problems: Vec<Shown>,
    file: Option<String>,
}

impl<'a> ImportView<'a> {
    /// The form as first shown: nothing chosen, no problems.
    fn blank(plan: &'a str, choices: &'a Choices) -> ImportView<'a> {
        ImportView { plan, choices, chosen: None, problems: Vec::new(), file: None }
    }
}

fn import_context(user: &PageUser, view: &ImportView) -> Value {
    let lang = user.lang;
    let (chosen_target, chosen_role) = view.chosen.clone().unwrap_or_default();
    let (labels, workflow) = (&view.choices.labels, &view.choices.workflow);
    let targets: Vec<Value> = view
        .choices
        .offered
        .iter()
        .map(|i| {
            let table = workflow.form(&i.table.form).and_then(|f| f.fields.iter().find(|x| x.id == i.table.field));
            let table_title = label(labels, &format!("field.{}", i.table), table.map_or("", |t| t.title.as_str()));
            let event_title = workflow.event(&i.event).map_or(i.event.as_str(), |e| e.title.as_str());
            let event_title = label(labels, &format!("event.{}", i.event), event_title);
            json!({
                "value": i.value(),
                "label": word_with(lang, "exchange.target", &[("table", table_title), ("event", event_title)]),
                "selected": i.value() == chosen_target,
            })
        })
        .collect();
    let roles: Vec<Value> = view
        .choices
        .roles
        .iter()
        .map(|r| json!({"value": r, "label": role_title(Some(labels), r), "selected": *r == chosen_role}))
        .collect();
    json!({
        "title": word(lang, "exchange.import_title"),
        "nav": plan_nav(view.plan, lang, "import"),
        "action": format!("/plans/{}/import", view.plan),
        "exports": format!("/plans/{}/exports", view.plan),
        "targets": targets,
        "roles": roles,
        "many_roles": roles.len() > 1,
        "problems": view.problems,
        "count": view.problems.len(),
        "file": view.file,
        "limit_mb": SHEET_LIMIT / (1024 * 1024),
    })
}

/// The plan, its workflow, the tables the user may import (by the roles
/// held), and those roles; a 403 naming the roles that may when none.
async fn import_choices(state: &AppState, user: &PageUser, plan_id: &str) -> Result<Choices, PageError> {
    let (plan, _, reach) = super::plan(state, user, plan_id).await?;
    let engine = state.engine.clone();
    let meta = plan.meta.clone();
    let (workflow, pack) =
        blocking(move || Ok((engine.workflow_of(&meta)?, engine.pack_of(&meta)?))).await.map_err(|e| user.api(e))?;
    let labels = pack_labels(&pack, user.lang);
    let all = importables(&workflow);
    let offered: Vec<Importable> =
        all.iter().filter(|i| i.roles.iter().any(|r| reach.roles.contains(r))).cloned().collect();
    if offered.is_empty() {
        let mut may: Vec<String> = all.iter().flat_map(|i| i.roles.iter().cloned()).collect();
        may.sort();
        may.dedup();
        let roles = may.iter().map(|r| role_title(Some(&labels), r)).collect();
        let reason = if reach.agency && reach.roles.is_empty() { "forbidden.agency" } else { "forbidden.role" };
        return Err(user.fail(Fail::Forbidden { reason, roles }));
    }
    let roles: Vec<String> =
        reach.roles.iter().filter(|r| offered.iter().any(|i| i.roles.contains(r))).cloned().collect();
    Ok(Choices { workflow, labels, offered, roles })
}

/// GET `/plans/{id}/import`: the form to upload a sheet.
async fn import_page(
    State(state): State<AppState>,
    user: PageUser,
    Path(plan_id): Path<String>,
) -> Result<Response, PageError> {
    let choices = import_choices(&state, &user, &plan_id).await?;
    Ok(render(&user, "import", import_context(&user, &ImportView::blank(&plan_id, &choices))))
}

/// The uploaded form: its fields and the file.
#[derive(Default)]
struct Upload {
    csrf: String,
    target: String,
    role: String,
    name: String,
    bytes: Vec<u8>,
}

/// The upload's fields and file; the status of a body that could not be
/// read (413 when larger than [`SHEET_LIMIT`], else 400).
async fn read_upload(request: Request, state: &AppState) -> Result<Upload, StatusCode> {
    let mut multipart = Multipart::from_request(request, state).await.map_err(|e| e.status())?;
    let mut upload = Upload::default();
    while let Some(field) = multipart.next_field().await.map_err(|e| e.status())? {
        let name = field.name().unwrap_or("").to_string();
        match name.as_str() {
            FILE => {
                upload.name = field.file_name().unwrap_or("").to_string();
                upload.bytes = field.bytes().await.map_err(|e| e.status())?.to_vec();
            }
            CSRF_FIELD | TARGET | ROLE => {
                let text = field.text().await.map_err(|e| e.status())?;
                match name.as_str() {
                    CSRF_FIELD => upload.csrf = text,
                    TARGET => upload.target = text,
                    _ => upload.role = text,
                }
            }
            // Other fields are no part of the form.
            _ => {}
        }
    }
    Ok(upload)
}

/// The import page again, saying the sheet was too large (413); nothing
/// was read, so nothing is recorded.
async fn sheet_too_large(state: &AppState, user: &PageUser, plan_id: &str) -> Result<Response, PageError> {
    let choices = import_choices(state, user, plan_id).await?;
    let mb = (SHEET_LIMIT / (1024 * 1024)).to_string();
    let too_large = sheet_wide(word_with(user.lang, "exchange.too_large", &[("mb", mb)]));
    let view = ImportView { problems: vec![too_large], ..ImportView::blank(plan_id, &choices) };
    let mut response = render(user, "import", import_context(user, &view));
    *response.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
    Ok(response)
}

/// The sheet's format: from its file name, else from its first bytes.
fn format_of(name: &str, bytes: &[u8]) -> Format {
    if let Some(format) = Format::of_path(std::path::Path::new(name)) {
        return format;
    }
    match bytes.iter().copied().find(|b| !b.is_ascii_whitespace()) {
        _ if bytes.starts_with(b"PK") => Format::Xlsx,
        Some(b'{' | b'[') => Format::Json,
        _ => Format::Csv,
    }
}

fn read_sheet(format: Format, bytes: &[u8]) -> Result<Sheet, ExchangeError> {
    match format {
        Format::Csv => sheet::read_csv(bytes),
        Format::Xlsx => sheet::read_xlsx(bytes),
        Format::Json => sheet::read_json(bytes),
    }
}

/// A problem of the whole sheet, in a page word.
fn sheet_wide(message: String) -> Shown {
    Shown { row: None, column: None, header: None, message }
}

/// POST `/plans/{id}/import`: reads the sheet, checks every row, and fires
/// the event only when none has a problem.
async fn import_post(
    State(state): State<AppState>,
    Path(plan_id): Path<String>,
    request: Request,
) -> Result<Response, PageError> {
    let (mut parts, body) = request.into_parts();
    let user = PageUser::from_request_parts(&mut parts, &state).await?;
    let upload = match read_upload(Request::from_parts(parts, body), &state).await {
        Ok(upload) => upload,
        Err(StatusCode::PAYLOAD_TOO_LARGE) => return sheet_too_large(&state, &user, &plan_id).await,
        Err(_) => return Err(user.fail(Fail::BadRequest)),
    };
    if !same_secret(&upload.csrf, &user.csrf) {
        return Err(user.fail(Fail::Csrf));
    }
    let Some((table, event)) = upload.target.split_once(':') else {
        return Err(user.fail(Fail::BadRequest));
    };
    let table = TablePath::from_str(table).map_err(|_| user.fail(Fail::BadRequest))?;
    let role = (!upload.role.is_empty()).then_some(upload.role.as_str());
    // The same 404 and 403 as the event's form: an event the workflow does
    // not have, a role the user does not hold or that may not fire it.
    let opened = super::forms::open(&state, &user, &plan_id, event, role).await?;
    let choices = import_choices(&state, &user, &plan_id).await?;
    let chosen = Importable { table: table.clone(), event: event.to_string(), roles: Vec::new() };
    if !choices.offered.iter().any(|i| i.table == chosen.table && i.event == chosen.event) {
        return Err(user.fail(Fail::NotFound));
    }
    let lang = user.lang;
    let outcome = if upload.bytes.is_empty() {
        Outcome::Problems(vec![sheet_wide(word(lang, "exchange.no_file"))])
    } else {
        let engine = state.engine.clone();
        let (pack, institution) = (opened.pack.clone(), opened.institution.clone());
        let (event, role, actor) = (event.to_string(), opened.role.clone(), user.user.id.clone());
        let id = plan_id.clone();
        let (name, bytes) = (upload.name.clone(), upload.bytes);
        let workflow = opened.workflow.clone();
        blocking(move || {
            let translate = translator(&pack, lang);
            let format = format_of(&name, &bytes);
            let sheet = match read_sheet(format, &bytes) {
                Ok(sheet) => sheet,
                Err(_) => {
                    let args = [("format", extension(format).to_uppercase())];
                    return Ok(Outcome::Problems(vec![sheet_wide(word_with(lang, "exchange.unreadable", &args))]));
                }
            };
            let target = Target { pack: &pack, workflow: &workflow, table: &table, event: &event };
            let imported = match import::import(target, &sheet, &translate) {
                Ok(imported) => imported,
                Err(ImportError::Rows(problems)) => {
                    return Ok(Outcome::Problems(problems.into_iter().map(Shown::from).collect()));
                }
                Err(ImportError::File(_)) => {
                    return Ok(Outcome::Problems(vec![sheet_wide(word(lang, "exchange.not_importable"))]));
                }
            };
            let today = today_for(&engine, &institution)?;
            let command = Command { event: event.clone(), role, actor, payload: imported.payload.clone(), today };
            let placed = |problems: Vec<integritas_core::error::Problem>| -> Vec<Shown> {
                problems.iter().map(|p| Shown::from(imported.place(target, p, &translate))).collect()
            };
            Ok(match engine.fire(&id, &command) {
                Ok(_) => Outcome::Fired,
                Err(EngineError::Refused(Refusal::Role { allowed, .. })) => Outcome::Forbidden(allowed),
                Err(EngineError::Refused(refusal)) => {
                    let problems = refusal.problems();
                    if problems.is_empty() {
                        Outcome::Problems(vec![sheet_wide(refusal.render(&translate))])
                    } else {
                        Outcome::Problems(placed(problems))
                    }
                }
                Err(e @ EngineError::Invalid { .. }) => Outcome::Problems(placed(e.problems())),
                Err(e) => return Err(e.into()),
            })
        })
        .await
        .map_err(|e| user.api(e))?
    };
    match outcome {
        Outcome::Fired => {
            Ok(see_other(&format!("/plans/{}?fired={}", opened.plan.meta.id, super::encode_component(&opened.event))))
        }
        Outcome::Forbidden(allowed) => {
            let roles = allowed.iter().map(|r| role_title(Some(&choices.labels), r)).collect();
            Err(user.fail(Fail::Forbidden { reason: "forbidden.role", roles }))
        }
        Outcome::Problems(problems) => {
            let view = ImportView {
                chosen: Some((chosen.value(), opened.role.clone())),
                problems,
                file: (!upload.name.is_empty()).then(|| upload.name.clone()),
                ..ImportView::blank(&plan_id, &choices)
            };
            let mut response = render(&user, "import", import_context(&user, &view));
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(response)
        }
    }
}

// ------------------------------------------------------------- exports

/// A written table as a download named `{stem}.{ext}`: no such table or
/// report, or anonymous answers (never row by row), the same 404; a table
/// that could not be written, logged and a 500 page.
pub fn written_download(
    user: &PageUser,
    written: Result<Vec<u8>, ExchangeError>,
    format: Format,
    stem: &str,
) -> Result<Response, PageError> {
    match written {
        Ok(bytes) => Ok(download(content_type(format), &format!("{stem}.{}", extension(format)), bytes)),
        Err(ExchangeError::NotFound(_) | ExchangeError::Private(_)) => Err(user.fail(Fail::NotFound)),
        Err(e) => {
            tracing::error!("{stem} could not be written as {format:?}: {e}");
            Err(user.fail(Fail::Internal))
        }
    }
}

/// The GET route of one file format of a page's table (`/…/register.csv`,
/// `/agency/{j}/export.xlsx`): `handler` gets the state, the user, the
/// path's one parameter, the query and the format.
pub fn file_route<H, F>(handler: H, format: Format) -> MethodRouter<AppState>
where
    H: Fn(AppState, PageUser, String, Option<String>, Format) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Result<Response, PageError>> + Send + 'static,
{
    get(move |State(state): State<AppState>, user: PageUser, Path(id): Path<String>, RawQuery(query): RawQuery| {
        handler(state, user, id, query, format)
    })
}

/// Links to one table or report (`name`) of a plan in each export format.
pub fn export_links(plan: &str, name: &str) -> Vec<Value> {
    let link = |ext: &str| json!({"href": format!("/plans/{plan}/exports/{name}.{ext}"), "label": ext.to_uppercase()});
    ["csv", "xlsx", "json"].into_iter().map(link).collect()
}

/// What an export names: a table (`form.field`) or a report (`scores.<output>`).
enum Exported {
    Table(TablePath),
    Report(String),
}

fn exported(name: &str) -> Option<Exported> {
    match name.strip_prefix("scores.") {
        Some(output) if !output.is_empty() && !output.contains('.') => Some(Exported::Report(output.to_string())),
        Some(_) => None,
        None => TablePath::from_str(name).ok().map(Exported::Table),
    }
}

/// GET `/plans/{id}/exports`: every table and report of the plan, each as
/// CSV, XLSX and JSON.
async fn exports_page(
    State(state): State<AppState>,
    user: PageUser,
    Path(plan_id): Path<String>,
) -> Result<Response, PageError> {
    let lang = user.lang;
    let context = with_plan(&state, &user, &plan_id, move |plan, workflow, pack, _| {
        let labels = pack_labels(pack, lang);
        let files = |name: &str| export_links(&plan.meta.id, name);
        let mut tables = Vec::new();
        for form in &workflow.def().forms {
            if workflow.anonymous_filler(&form.id).is_some() {
                continue;
            }
            for field in form.fields.iter().filter(|f| f.kind == FieldKind::Table) {
                let path = format!("{}.{}", form.id, field.id);
                let rows = super::register::rows(plan, &form.id, &field.id).len();
                tables.push(json!({
                    "title": label(&labels, &format!("field.{path}"), &field.title),
                    "form": label(&labels, &format!("form.{}", form.id), &form.title),
                    "rows": word_with(lang, "exchange.rows", &[("count", rows.to_string())]),
                    "files": files(&path),
                }));
            }
        }
        let reports: Vec<Value> = plan
            .scores
            .iter()
            .map(|(output, record)| {
                json!({
                    "title": label(&labels, &format!("score.{output}"), output),
                    "date": record.date.to_string(),
                    "files": files(&format!("scores.{output}")),
                })
            })
            .collect();
        json!({
            "title": word(lang, "exchange.exports_title"),
            "nav": plan_nav(&plan.meta.id, lang, "exports"),
            "import": format!("/plans/{}/import", plan.meta.id),
            "tables": tables,
            "reports": reports,
        })
    })
    .await?;
    Ok(render(&user, "exports", context))
}

/// GET `/plans/{id}/exports/{name}.{csv|xlsx|json}`: a table or a report
/// as a file, headers and choices in the user's language.
async fn export_file(
    State(state): State<AppState>,
    user: PageUser,
    Path((plan_id, file)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let Some((name, ext)) = file.rsplit_once('.') else { return Err(user.fail(Fail::NotFound)) };
    let Ok(format) = Format::from_str(ext) else { return Err(user.fail(Fail::NotFound)) };
    let Some(what) = exported(name) else { return Err(user.fail(Fail::NotFound)) };
    let lang = user.lang;
    let written = with_plan(&state, &user, &plan_id, move |plan, workflow, pack, _| {
        let labels = pack_labels(pack, lang);
        let table = match what {
            Exported::Table(path) => export::table_in(workflow, &plan.data, &path, &labels),
            Exported::Report(output) => export::report_in(workflow, &plan.scores, &output, None, &labels),
        }?;
        export::write(&table, format)
    })
    .await?;
    written_download(&user, written, format, &format!("{plan_id}-{name}"))
}

// ------------------------------------------------------------ calendar

/// A calendar feed: the user it reads for, kept under the sha256 of its secret.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Feed {
    user: String,
    /// The date it was made (`YYYY-MM-DD`).
    created: String,
}

/// The feeds of a user: (hash, feed).
fn feeds_of(state: &AppState, user: &str) -> Result<Vec<(String, Feed)>, crate::error::ApiError> {
    let all = state.engine.store().records(FEEDS, "")?;
    Ok(all
        .into_iter()
        .filter_map(|(hash, bytes)| serde_json::from_slice::<Feed>(&bytes).ok().map(|f| (hash, f)))
        .filter(|(_, f)| f.user == user)
        .collect())
}

/// The address a calendar app subscribes to, on the host the browser used.
fn feed_url(state: &AppState, headers: &HeaderMap, secret: &str) -> String {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    let scheme = if state.config.secure_cookies { "https" } else { "http" };
    format!("{scheme}://{host}/calendar/{secret}.ics")
}

fn calendar_context(user: &PageUser, feed: Option<&Feed>, url: Option<String>, notice: Option<String>) -> Value {
    let lang = user.lang;
    json!({
        "title": word(lang, "calendar.title"),
        "feed": feed.map(|f| json!({
            "created": f.created.parse().map_or_else(|_| f.created.clone(), |d| format_date(lang, d)),
        })),
        "url": url,
        "notice": notice,
    })
}

/// GET `/calendar`: whether the user has a feed, and the buttons to make
/// a new address or to stop it.
async fn calendar_page(
    State(state): State<AppState>,
    user: PageUser,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let owner = user.user.id.clone();
    let state2 = state.clone();
    let feeds = blocking(move || feeds_of(&state2, &owner)).await.map_err(|e| user.api(e))?;
    let revoked = query.as_deref() == Some("revoked");
    let notice = revoked.then(|| word(user.lang, "calendar.revoked"));
    Ok(render(&user, "calendar", calendar_context(&user, feeds.first().map(|(_, f)| f), None, notice)))
}

/// POST `/calendar`: `_action=create` makes a new secret address (the old
/// one stops working) and shows it once; `_action=revoke` stops the feed.
async fn calendar_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    post: PagePost,
) -> Result<Response, PageError> {
    let PagePost { user, form } = post;
    let action = form.get("_action").unwrap_or("").to_string();
    if action != "create" && action != "revoke" {
        return Err(user.fail(Fail::BadRequest));
    }
    let owner = user.user.id.clone();
    let today = crate::clock::today(None).map_err(|e| user.api(e))?;
    let state2 = state.clone();
    let made = blocking(move || {
        let mut writes: Vec<RecordWrite> = feeds_of(&state2, &owner)?
            .into_iter()
            .map(|(hash, _)| RecordWrite::Delete { kind: FEEDS, key: hash })
            .collect();
        let mut made = None;
        if action == "create" {
            let secret = random_hex(32)?;
            let feed = Feed { user: owner.clone(), created: today.to_string() };
            let bytes = serde_json::to_vec(&feed).map_err(|e| crate::error::ApiError::Internal(e.to_string()))?;
            writes.push(RecordWrite::Put { kind: FEEDS, key: hash_hex(secret.as_bytes()), bytes });
            made = Some((secret, feed));
        }
        if !writes.is_empty() {
            state2.engine.store().write_records(&writes)?;
        }
        let detail = json!({"feed": if made.is_some() { "created" } else { "revoked" }});
        state2.accounts.log("calendar_feed", Some(&owner), detail)?;
        Ok(made)
    })
    .await
    .map_err(|e| user.api(e))?;
    match made {
        Some((secret, feed)) => {
            let url = feed_url(&state, &headers, &secret);
            let notice = Some(word(user.lang, "calendar.created"));
            let mut response = render(&user, "calendar", calendar_context(&user, Some(&feed), Some(url), notice));
            // The secret is on this page only: no cache keeps it.
            response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            Ok(response)
        }
        None => Ok(see_other("/calendar?revoked")),
    }
}

/// A 404 for a feed: the same for an unknown, revoked or malformed secret.
fn no_feed(headers: &HeaderMap, path: String) -> PageError {
    PageError::new(super::guest_chrome(headers, None, path), Fail::NotFound)
}

/// GET `/calendar/{secret}.ics`: the deadlines of every plan the feed's
/// user may read, as an iCalendar feed. No cookie: the secret is the key.
async fn calendar_feed(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(file): Path<String>,
) -> Result<Response, PageError> {
    let path = format!("/calendar/{file}");
    let Some(secret) = file.strip_suffix(".ics").filter(|s| !s.is_empty() && s.len() <= 128) else {
        return Err(no_feed(&headers, path));
    };
    let hash = hash_hex(secret.as_bytes());
    let store = state.engine.store();
    let found = blocking(move || Ok(store.record(FEEDS, &hash)?)).await.map_err(|_| no_feed(&headers, path.clone()))?;
    let Some(feed) = found.and_then(|bytes| serde_json::from_slice::<Feed>(&bytes).ok()) else {
        return Err(no_feed(&headers, path));
    };
    let Some(user) = state.accounts.user(&feed.user) else { return Err(no_feed(&headers, path)) };
    let lang = state.accounts.setting(&user.id, LANGUAGE_SETTING).as_deref().and_then(super::language).unwrap_or("en");
    let principal = Principal { user: user.clone(), via: Via::Token };
    let state2 = state.clone();
    let ics = blocking(move || {
        let engine = &state2.engine;
        let institutions: Vec<_> =
            engine.institutions()?.into_iter().filter(|i| Reach::of(&state2, &principal, i).is_some()).collect();
        let plans = engine.plans()?;
        let name = word_with(lang, "calendar.name", &[("user", user.name.clone())]);
        let mut calendar = Calendar::new(&name, crate::clock::today(None)?);
        for institution in &institutions {
            let today = today_for(engine, institution)?;
            for meta in plans.iter().filter(|p| p.institution == institution.id) {
                let items = engine.deadlines(&meta.id, today)?;
                let pack = engine.pack_of(meta)?;
                calendar.add_plan(&meta.id, &items, &translator(&pack, lang));
            }
        }
        Ok(calendar.to_ics())
    })
    .await
    .map_err(|e| PageError::from_api(super::guest_chrome(&headers, None, format!("/calendar/{file}")), e))?;
    let mut response = ics.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/calendar; charset=utf-8"));
    h.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("inline; filename=\"deadlines.ics\""));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // The address is the secret: no page it is linked from learns it.
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sheets_format_is_its_extension_else_its_first_bytes() {
        let cases: [(&str, &[u8], Format); 5] = [
            ("risks.xlsx", b"whatever", Format::Xlsx),
            ("risks.CSV", b"PK", Format::Csv),
            ("", b"PK\x03\x04", Format::Xlsx),
            ("upload", b"  [{\"id\": 1}]", Format::Json),
            ("upload", b"id;title", Format::Csv),
        ];
        for (name, bytes, expected) in cases {
            assert_eq!(format_of(name, bytes), expected, "{name}");
        }
    }

    #[test]
    fn exports_name_a_table_or_a_report() {
        assert!(matches!(exported("register.risks"), Some(Exported::Table(t)) if t.form == "register"));
        assert!(matches!(exported("scores.risk_scores"), Some(Exported::Report(o)) if o == "risk_scores"));
        assert!(exported("scores.").is_none());
        assert!(exported("scores.a.b").is_none());
        assert!(exported("register").is_none());
    }

    #[test]
    fn content_types_and_extensions() {
        assert_eq!(content_type(Format::Csv), "text/csv; charset=utf-8");
        assert_eq!(extension(Format::Xlsx), "xlsx");
        assert!(content_type(Format::Xlsx).contains("spreadsheetml"));
    }
}
