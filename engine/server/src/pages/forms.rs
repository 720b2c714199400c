//! The form of an event, generated from the pack's form definitions: every
//! field kind (text, long text, integer, number, date, yes/no, choice,
//! multiple choice, tables of columns), sections, help texts, labels in
//! the user's language. Table rows are added, removed and moved with
//! submit buttons that re-render the form with what was typed (no script
//! needed). Sending fires the event as the user in the role chosen; a
//! refusal re-renders the form with each problem beside its field (the
//! engine's field path, `form.table[3].column`, is the input's name) and
//! all of them in a summary at the top. "Save a draft" keeps what was typed
//! on the server per user, plan and event; the form reopens with it.
//!
//! The state of a form between requests is the list of (name, value)
//! pairs the browser sent: a draft stores exactly that.

use std::collections::{BTreeMap, HashMap};

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use integritas_core::definition::{FieldDef, FieldKind, Workflow};
use integritas_core::error::{EngineError, Problem};
use integritas_core::executor::{Command, Refusal};
use integritas_core::locale::Labels;
use integritas_core::store::RecordWrite;
use serde_json::{Map, Value, json};

use super::home::role_title;
use super::{
    Fail, FormBody, PageError, PagePost, PageUser, format_date, pack_labels, render, see_other, translator, word,
};
use crate::api::plans::today_for;
use crate::error::ApiError;
use crate::state::{AppState, blocking};

pub fn routes() -> Router<AppState> {
    Router::new().route("/plans/{id}/events/{event}", get(form_page).post(form_post))
}

/// Record kind of the drafts of page forms (user, plan, event → pairs).
const DRAFTS: &str = "page_drafts";

/// Most rows a table of a page form holds (the engine's own limit per event).
const MAX_ROWS: usize = integritas_core::guard::MAX_ROWS_PER_EVENT;

/// Names of the form's own controls (not data).
const ACTION: &str = "_action";
const ROLE: &str = "_as";

fn draft_key(user: &str, plan: &str, event: &str) -> String {
    format!("{user}\u{0}{plan}\u{0}{event}")
}

/// What was typed into a form: scalar fields by `form.field`, tables by
/// `form.table` as rows of columns. Values are kept as typed (strings).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Typed {
    pub scalars: HashMap<String, Vec<String>>,
    pub tables: HashMap<String, Vec<BTreeMap<String, Vec<String>>>>,
}

/// `form.table[3].column` → (`form.table`, 3, `column`).
fn cell_name(name: &str) -> Option<(&str, usize, &str)> {
    let (table, rest) = name.split_once('[')?;
    let (index, rest) = rest.split_once(']')?;
    let column = rest.strip_prefix('.')?;
    Some((table, index.parse().ok()?, column))
}

impl Typed {
    /// From the pairs a browser sent (or a draft kept); only names of the
    /// forms `fills` are read.
    pub fn from_pairs(workflow: &Workflow, fills: &[String], pairs: &[(String, String)]) -> Typed {
        let mut typed = Typed::default();
        let mut rows: HashMap<String, BTreeMap<usize, BTreeMap<String, Vec<String>>>> = HashMap::new();
        for (name, value) in pairs {
            if name.starts_with('_') {
                continue;
            }
            if let Some((table, index, column)) = cell_name(name) {
                if index >= MAX_ROWS || field_of(workflow, fills, table).is_none_or(|f| f.kind != FieldKind::Table) {
                    continue;
                }
                let row = rows.entry(table.to_string()).or_default().entry(index).or_default();
                if column != "_row" {
                    row.entry(column.to_string()).or_default().push(value.clone());
                }
            } else if field_of(workflow, fills, name).is_some_and(|f| f.kind != FieldKind::Table) {
                typed.scalars.entry(name.clone()).or_default().push(value.clone());
            } else if let Some(table) = name.strip_suffix("._table")
                && field_of(workflow, fills, table).is_some_and(|f| f.kind == FieldKind::Table)
            {
                rows.entry(table.to_string()).or_default();
            }
        }
        for (table, by_index) in rows {
            typed.tables.insert(table, by_index.into_values().collect());
        }
        typed
    }

    /// From the plan's data (the form as it stands).
    pub fn from_data(workflow: &Workflow, fills: &[String], data: &Map<String, Value>, tables: bool) -> Typed {
        let mut typed = Typed::default();
        for form_id in fills {
            let (Some(form), Some(Value::Object(values))) = (workflow.form(form_id), data.get(form_id)) else {
                continue;
            };
            for field in &form.fields {
                let name = format!("{form_id}.{}", field.id);
                match (field.kind, values.get(&field.id)) {
                    (FieldKind::Table, Some(Value::Array(rows))) if tables => {
                        let rows = rows
                            .iter()
                            .take(MAX_ROWS)
                            .filter_map(Value::as_object)
                            .map(|row| row.iter().map(|(k, v)| (k.clone(), as_strings(v))).collect())
                            .collect();
                        typed.tables.insert(name, rows);
                    }
                    (FieldKind::Table, _) => {}
                    (_, Some(value)) => {
                        typed.scalars.insert(name, as_strings(value));
                    }
                    (_, None) => {}
                }
            }
        }
        typed
    }

    /// The pairs that hold this state (what a draft keeps).
    pub fn to_pairs(&self) -> Vec<(String, String)> {
        let mut pairs = Vec::new();
        let mut scalars: Vec<_> = self.scalars.iter().collect();
        scalars.sort_by(|a, b| a.0.cmp(b.0));
        for (name, values) in scalars {
            pairs.extend(values.iter().map(|v| (name.clone(), v.clone())));
        }
        let mut tables: Vec<_> = self.tables.iter().collect();
        tables.sort_by(|a, b| a.0.cmp(b.0));
        for (table, rows) in tables {
            pairs.push((format!("{table}._table"), String::new()));
            for (i, row) in rows.iter().enumerate() {
                pairs.push((format!("{table}[{i}]._row"), String::new()));
                for (column, values) in row {
                    pairs.extend(values.iter().map(|v| (format!("{table}[{i}].{column}"), v.clone())));
                }
            }
        }
        pairs
    }

    /// Applies a row button: `add_row:T`, `remove_row:T:N`, `move_up:T:N`,
    /// `move_down:T:N`. Returns whether it was one.
    pub fn apply(&mut self, action: &str, workflow: &Workflow, fills: &[String]) -> bool {
        let mut parts = action.splitn(3, ':');
        let (verb, table) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let index = parts.next().and_then(|n| n.parse::<usize>().ok());
        let Some(field) = field_of(workflow, fills, table).filter(|f| f.kind == FieldKind::Table) else {
            return false;
        };
        let limit = field.max_rows.map_or(MAX_ROWS, |m| usize::try_from(m).unwrap_or(MAX_ROWS)).min(MAX_ROWS);
        let rows = self.tables.entry(table.to_string()).or_default();
        match (verb, index) {
            ("add_row", _) => {
                if rows.len() < limit {
                    rows.push(BTreeMap::new());
                }
            }
            ("remove_row", Some(i)) if i < rows.len() => {
                rows.remove(i);
            }
            ("move_up", Some(i)) if i > 0 && i < rows.len() => rows.swap(i, i - 1),
            ("move_down", Some(i)) if i + 1 < rows.len() => rows.swap(i, i + 1),
            _ => return matches!(verb, "add_row" | "remove_row" | "move_up" | "move_down"),
        }
        true
    }
}

fn as_strings(value: &Value) -> Vec<String> {
    match value {
        Value::Null => Vec::new(),
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items.iter().flat_map(as_strings).collect(),
        Value::Bool(b) => vec![b.to_string()],
        other => vec![other.to_string()],
    }
}

/// The field `form.field` of one of the forms the event fills.
fn field_of<'w>(workflow: &'w Workflow, fills: &[String], name: &str) -> Option<&'w FieldDef> {
    let (form, field) = name.split_once('.')?;
    if !fills.iter().any(|f| f == form) {
        return None;
    }
    workflow.form(form)?.fields.iter().find(|f| f.id == field)
}

/// What the typed values become as an event's payload, the problems of
/// values that are not what their field takes, and for each table the
/// row shown for each row sent (empty rows are not sent).
pub(super) struct Built {
    pub payload: Value,
    pub problems: Vec<(String, String, String)>,
    pub row_of: HashMap<String, Vec<usize>>,
}

pub(super) fn build_payload(workflow: &Workflow, fills: &[String], typed: &Typed, append: bool) -> Built {
    let mut payload = Map::new();
    let mut problems = Vec::new();
    let mut row_of = HashMap::new();
    for form_id in fills {
        let Some(form) = workflow.form(form_id) else { continue };
        let mut values = Map::new();
        for field in &form.fields {
            let name = format!("{form_id}.{}", field.id);
            if field.kind == FieldKind::Table {
                let Some(rows) = typed.tables.get(&name) else { continue };
                let mut sent = Vec::new();
                let mut shown = Vec::new();
                for (display, row) in rows.iter().enumerate() {
                    let mut cells = Map::new();
                    for column in &field.columns {
                        let given = row.get(&column.id).map(Vec::as_slice).unwrap_or(&[]);
                        let path = format!("{name}[{display}].{}", column.id);
                        match convert(column, given) {
                            Ok(Some(value)) => {
                                cells.insert(column.id.clone(), value);
                            }
                            Ok(None) => {}
                            Err(raw) => {
                                problems.push((path, format!("field.{name}.{}", column.id), raw));
                                cells.insert(column.id.clone(), Value::Null);
                            }
                        }
                    }
                    if cells.values().any(|v| !v.is_null()) {
                        sent.push(Value::Object(cells));
                        shown.push(display);
                    }
                }
                if !(append && sent.is_empty()) {
                    values.insert(field.id.clone(), Value::Array(sent));
                }
                row_of.insert(name, shown);
                continue;
            }
            let given = typed.scalars.get(&name).map(Vec::as_slice).unwrap_or(&[]);
            match convert(field, given) {
                Ok(Some(value)) => {
                    values.insert(field.id.clone(), value);
                }
                Ok(None) if !append => {
                    values.insert(field.id.clone(), Value::Null);
                }
                Ok(None) => {}
                Err(raw) => problems.push((name.clone(), format!("field.{name}"), raw)),
            }
        }
        payload.insert(form_id.clone(), Value::Object(values));
    }
    Built { payload: Value::Object(payload), problems, row_of }
}

/// A typed value as its field's JSON (`None`: nothing typed; `Err`: not
/// what the field takes, with what was typed).
fn convert(field: &FieldDef, given: &[String]) -> Result<Option<Value>, String> {
    let first = given.iter().map(|s| s.trim()).find(|s| !s.is_empty());
    match field.kind {
        FieldKind::Choices => {
            let chosen: Vec<Value> =
                given.iter().map(|s| s.trim()).filter(|s| !s.is_empty()).map(|s| Value::from(s.to_string())).collect();
            Ok((!chosen.is_empty()).then_some(Value::Array(chosen)))
        }
        FieldKind::LongText => {
            let text = given.first().map(|s| s.replace("\r\n", "\n")).unwrap_or_default();
            Ok((!text.trim().is_empty()).then(|| Value::from(text.trim_end().to_string())))
        }
        _ => {
            let Some(text) = first else { return Ok(None) };
            match field.kind {
                FieldKind::Integer => text.parse::<i64>().map(|n| Some(Value::from(n))).map_err(|_| text.to_string()),
                FieldKind::Number => {
                    let number = text.replace(',', ".").parse::<f64>().ok().filter(|n| n.is_finite());
                    number
                        .and_then(serde_json::Number::from_f64)
                        .map(|n| Some(Value::Number(n)))
                        .ok_or_else(|| text.to_string())
                }
                FieldKind::Bool => match text {
                    "true" => Ok(Some(Value::Bool(true))),
                    "false" => Ok(Some(Value::Bool(false))),
                    other => Err(other.to_string()),
                },
                _ => Ok(Some(Value::from(text.to_string()))),
            }
        }
    }
}

// --------------------------------------------------------------- pages

pub(super) struct Opened {
    pub plan: std::sync::Arc<integritas_core::projection::Plan>,
    pub institution: integritas_core::store::Institution,
    pub workflow: std::sync::Arc<Workflow>,
    pub labels: Labels,
    pub pack: std::sync::Arc<integritas_core::pack::Pack>,
    pub role: String,
    pub event: String,
    pub fills: Vec<String>,
    pub append: bool,
}

/// The plan, its workflow and the role the user acts in for `event`: a
/// 404 for an event the workflow does not have, a 403 naming the roles
/// that may fire it when the user holds none of them.
pub(super) async fn open(
    state: &AppState,
    user: &PageUser,
    plan_id: &str,
    event: &str,
    asked: Option<&str>,
) -> Result<Opened, PageError> {
    let (plan, institution, reach) = super::plan(state, user, plan_id).await?;
    let engine = state.engine.clone();
    let meta = plan.meta.clone();
    let (workflow, pack) =
        blocking(move || Ok((engine.workflow_of(&meta)?, engine.pack_of(&meta)?))).await.map_err(|e| user.api(e))?;
    let labels = pack_labels(&pack, user.lang);
    let Some(def) = workflow.event(event) else {
        return Err(user.fail(Fail::NotFound));
    };
    let mut allowed: Vec<String> =
        workflow.def().transitions.iter().filter(|t| t.on == event).flat_map(|t| t.roles.iter().cloned()).collect();
    allowed.sort();
    allowed.dedup();
    let titles = |roles: &[String]| roles.iter().map(|r| role_title(Some(&labels), r)).collect::<Vec<_>>();
    if reach.roles.is_empty() {
        let reason = if reach.agency { "forbidden.agency" } else { "forbidden.role" };
        return Err(user.fail(Fail::Forbidden { reason, roles: titles(&allowed) }));
    }
    let role = match asked {
        Some(role) if reach.roles.iter().any(|r| r == role) => role.to_string(),
        Some(_) => return Err(user.fail(Fail::Forbidden { reason: "forbidden.role", roles: titles(&allowed) })),
        None => match reach.roles.iter().find(|r| allowed.contains(r)) {
            Some(role) => role.clone(),
            None => reach.roles[0].clone(),
        },
    };
    if !allowed.contains(&role) {
        return Err(user.fail(Fail::Forbidden { reason: "forbidden.role", roles: titles(&allowed) }));
    }
    Ok(Opened {
        fills: def.fills.clone(),
        append: def.append_rows,
        event: event.to_string(),
        plan,
        institution,
        workflow,
        labels,
        pack,
        role,
    })
}

fn query_value(query: Option<&str>, name: &str) -> Option<String> {
    FormBody::parse(query.unwrap_or("").as_bytes()).get(name).map(str::to_string)
}

/// GET `/plans/{id}/events/{event}`: the event's form, with the user's
/// draft if one is kept, else with the plan's data.
async fn form_page(
    State(state): State<AppState>,
    user: PageUser,
    Path((plan_id, event)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let asked = query_value(query.as_deref(), "as");
    let opened = open(&state, &user, &plan_id, &event, asked.as_deref()).await?;
    if opened.workflow.event(&event).is_some_and(|e| e.anonymous) {
        return Ok(see_other(&format!("/plans/{plan_id}/questionnaire/{event}")));
    }
    let store = state.engine.store();
    let key = draft_key(&user.user.id, &plan_id, &event);
    let draft = blocking(move || Ok(store.record(DRAFTS, &key)?)).await.map_err(|e| user.api(e))?;
    let draft: Option<Value> = draft.and_then(|bytes| serde_json::from_slice(&bytes).ok());
    let (typed, notice) = match &draft {
        Some(kept) => {
            let pairs: Vec<(String, String)> = serde_json::from_value(kept["pairs"].clone()).unwrap_or_default();
            let at = kept["saved"].as_str().and_then(|d| d.parse().ok()).map(|d| format_date(user.lang, d));
            let notice = super::word_with(user.lang, "form.draft_loaded", &[("at", at.unwrap_or_default())]);
            (Typed::from_pairs(&opened.workflow, &opened.fills, &pairs), Some(notice))
        }
        None => (Typed::from_data(&opened.workflow, &opened.fills, &opened.plan.data, !opened.append), None),
    };
    let saved = query_value(query.as_deref(), "draft").is_some_and(|v| v == "saved");
    let notice = if saved { Some(word(user.lang, "form.draft_saved")) } else { notice };
    let context = form_context(&user, &opened, &typed, &Issues::default(), notice, draft.is_some());
    Ok(render(&user, "form", context))
}

/// Problems to show: by input name, and the sentences of the summary.
#[derive(Default)]
pub(super) struct Issues {
    pub by_name: HashMap<String, Vec<String>>,
    pub summary: Vec<(String, Option<String>)>,
    pub refusal: Option<String>,
}

/// POST `/plans/{id}/events/{event}`: a row button, a draft, or sending.
async fn form_post(
    State(state): State<AppState>,
    Path((plan_id, event)): Path<(String, String)>,
    post: PagePost,
) -> Result<Response, PageError> {
    let PagePost { user, form } = post;
    let asked = form.get(ROLE).map(str::to_string);
    let opened = open(&state, &user, &plan_id, &event, asked.as_deref()).await?;
    if opened.workflow.event(&event).is_some_and(|e| e.anonymous) {
        return Err(user.fail(Fail::NotFound));
    }
    let mut typed = Typed::from_pairs(&opened.workflow, &opened.fills, &form.0);
    let action = form.get(ACTION).unwrap_or("submit").to_string();
    let here = format!("/plans/{plan_id}/events/{event}?as={}", opened.role);
    let key = draft_key(&user.user.id, &plan_id, &event);
    match action.as_str() {
        "draft" => {
            let store = state.engine.store();
            let today = today_for(&state.engine, &opened.institution).map_err(|e| user.api(e))?;
            let kept = json!({"saved": today.to_string(), "pairs": typed.to_pairs()});
            let bytes = serde_json::to_vec(&kept).unwrap_or_default();
            blocking(move || Ok(store.write_records(&[RecordWrite::Put { kind: DRAFTS, key, bytes }])?))
                .await
                .map_err(|e| user.api(e))?;
            return Ok(see_other(&format!("{here}&draft=saved")));
        }
        "discard" => {
            let store = state.engine.store();
            blocking(move || Ok(store.write_records(&[RecordWrite::Delete { kind: DRAFTS, key }])?))
                .await
                .map_err(|e| user.api(e))?;
            return Ok(see_other(&here));
        }
        "submit" => {}
        other => {
            if !typed.apply(other, &opened.workflow, &opened.fills) {
                return Err(user.fail(Fail::BadRequest));
            }
            let context = form_context(&user, &opened, &typed, &Issues::default(), None, false);
            return Ok(render(&user, "form", context));
        }
    }
    // Sending: the typed values as the event's payload.
    let built = build_payload(&opened.workflow, &opened.fills, &typed, opened.append);
    let translate = translator(&opened.pack, user.lang);
    let mut issues = Issues::default();
    if !built.problems.is_empty() {
        local_problems(&mut issues, &opened, &built, &translate, user.lang);
        return Ok(refused(&user, &opened, &typed, &issues));
    }
    let engine = state.engine.clone();
    let command_event = event.clone();
    let (institution, role, actor) = (opened.institution.clone(), opened.role.clone(), user.user.id.clone());
    let payload = built.payload.clone();
    let fired = blocking(move || {
        let today = today_for(&engine, &institution)?;
        let command = Command { event: command_event, role, actor, payload, today };
        Ok(engine.fire(&plan_id, &command))
    })
    .await
    .map_err(|e| user.api(e))?;
    match fired {
        Ok(_) => {
            let store = state.engine.store();
            // The draft served its purpose; a failure to drop it only leaves it offered again.
            let _ = blocking(move || Ok(store.write_records(&[RecordWrite::Delete { kind: DRAFTS, key }])?)).await;
            Ok(see_other(&format!("/plans/{}?fired={}", opened.plan.meta.id, super::encode_component(&event))))
        }
        Err(EngineError::Refused(Refusal::Role { allowed, .. })) => {
            let roles = allowed.iter().map(|r| role_title(Some(&opened.labels), r)).collect();
            Err(user.fail(Fail::Forbidden { reason: "forbidden.role", roles }))
        }
        Err(EngineError::Refused(refusal)) => {
            let problems = refusal.problems();
            if problems.is_empty() {
                issues.refusal = Some(refusal.render(&translate));
            }
            add_problems(&mut issues, &problems, &built.row_of, &translate);
            Ok(refused(&user, &opened, &typed, &issues))
        }
        Err(e @ EngineError::Invalid { .. }) => {
            add_problems(&mut issues, &e.problems(), &built.row_of, &translate);
            Ok(refused(&user, &opened, &typed, &issues))
        }
        Err(e) => Err(user.api(ApiError::Engine(e))),
    }
}

/// Values that are not what their field takes (a number that is not
/// one), with what the engine finds in the rest.
pub(super) fn local_problems(
    issues: &mut Issues,
    opened: &Opened,
    built: &Built,
    translate: &dyn Fn(&str) -> Option<String>,
    lang: &str,
) {
    for (path, field_key, raw) in &built.problems {
        let label = translate(field_key).unwrap_or_else(|| field_key.clone());
        let message = super::word_with(lang, "form.not_a_number", &[("field", label), ("value", raw.clone())]);
        issues.by_name.entry(path.clone()).or_default().push(message.clone());
        issues.summary.push((message, Some(path.clone())));
    }
    let more = integritas_core::guard::validate_payload(&opened.workflow, &opened.fills, &built.payload);
    add_problems(issues, &more, &built.row_of, translate);
}

pub(super) fn refused(user: &PageUser, opened: &Opened, typed: &Typed, issues: &Issues) -> Response {
    let context = form_context(user, opened, typed, issues, None, false);
    let mut response = render(user, "form", context);
    *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    response.into_response()
}

/// Puts the engine's problems on the inputs their paths name (a sent row's
/// index turned back into the row shown), and in the summary.
pub(super) fn add_problems(
    issues: &mut Issues,
    problems: &[Problem],
    row_of: &HashMap<String, Vec<usize>>,
    translate: &dyn Fn(&str) -> Option<String>,
) {
    for problem in problems {
        let message = problem.render(translate);
        let name = shown_path(&problem.path, row_of);
        if let Some(name) = &name {
            issues.by_name.entry(name.clone()).or_default().push(message.clone());
        }
        issues.summary.push((message, name));
    }
}

/// `form.table[2].column` of the payload → the same path with the row as shown.
fn shown_path(path: &str, row_of: &HashMap<String, Vec<usize>>) -> Option<String> {
    if path.is_empty() {
        return None;
    }
    let Some((table, rest)) = path.split_once('[') else {
        return Some(path.to_string());
    };
    let (index, tail) = rest.split_once(']')?;
    let sent: usize = index.parse().ok()?;
    let shown = row_of.get(table).and_then(|rows| rows.get(sent)).copied().unwrap_or(sent);
    Some(format!("{table}[{shown}]{tail}"))
}

/// An input's id from its name.
fn input_id(name: &str) -> String {
    let mut id = String::from("f-");
    for c in name.chars() {
        id.push(if c.is_ascii_alphanumeric() || c == '_' { c } else { '-' });
    }
    id
}

pub(super) fn form_context(
    user: &PageUser,
    opened: &Opened,
    typed: &Typed,
    issues: &Issues,
    notice: Option<String>,
    has_draft: bool,
) -> Value {
    let labels = &opened.labels;
    let lang = user.lang;
    let label = |key: String, fallback: &str| labels.map.get(&key).cloned().unwrap_or_else(|| fallback.to_string());
    let mut forms = Vec::new();
    for form_id in &opened.fills {
        let Some(form) = opened.workflow.form(form_id) else { continue };
        let field_ctx = |field: &FieldDef| -> Value {
            let name = format!("{form_id}.{}", field.id);
            let key = format!("{form_id}.{}", field.id);
            if field.kind == FieldKind::Table {
                table_context(&name, &key, field, typed, issues, labels, lang)
            } else {
                let values = typed.scalars.get(&name).cloned().unwrap_or_default();
                input_context(&name, &key, field, &values, issues, labels, lang)
            }
        };
        // Fields without a section first, then each section in its order.
        let mut groups = Vec::new();
        let loose: Vec<Value> = form
            .fields
            .iter()
            .filter(|f| f.section.as_ref().is_none_or(|s| !form.sections.iter().any(|d| &d.id == s)))
            .map(field_ctx)
            .collect();
        if !loose.is_empty() {
            groups.push(json!({"title": null, "fields": loose}));
        }
        for section in &form.sections {
            let fields: Vec<Value> =
                form.fields.iter().filter(|f| f.section.as_ref() == Some(&section.id)).map(field_ctx).collect();
            if !fields.is_empty() {
                groups.push(json!({
                    "title": label(format!("section.{form_id}.{}", section.id), &section.title),
                    "fields": fields,
                }));
            }
        }
        forms.push(json!({
            "id": form_id,
            "title": label(format!("form.{form_id}"), &form.title),
            "help": labels.map.get(&format!("form.{form_id}.help")).cloned(),
            "groups": groups,
        }));
    }
    let event_title = label(format!("event.{}", opened.event), &opened.event);
    let summary: Vec<Value> = issues
        .summary
        .iter()
        .map(|(message, name)| json!({"message": message, "href": name.as_ref().map(|n| format!("#{}", input_id(n)))}))
        .collect();
    json!({
        "title": event_title,
        "plan": {"id": opened.plan.meta.id, "href": format!("/plans/{}", opened.plan.meta.id)},
        "action": format!("/plans/{}/events/{}", opened.plan.meta.id, opened.event),
        "role": opened.role,
        "role_title": role_title(Some(labels), &opened.role),
        "forms": forms,
        "summary": summary,
        "refusal": issues.refusal,
        "notice": notice,
        "has_draft": has_draft,
        "anonymous": false,
    })
}

fn kind_flags(kind: FieldKind) -> Value {
    let name = match kind {
        FieldKind::Text => "text",
        FieldKind::LongText => "long_text",
        FieldKind::Integer => "integer",
        FieldKind::Number => "number",
        FieldKind::Date => "date",
        FieldKind::Bool => "bool",
        FieldKind::Choice => "choice",
        FieldKind::Choices => "choices",
        FieldKind::Table => "table",
    };
    json!(name)
}

/// One input (a field or a table cell). `key` is the label key's path.
fn input_context(
    name: &str,
    key: &str,
    field: &FieldDef,
    values: &[String],
    issues: &Issues,
    labels: &Labels,
    lang: &str,
) -> Value {
    let id = input_id(name);
    let problems = issues.by_name.get(name).cloned().unwrap_or_default();
    let help = labels.map.get(&format!("field.{key}.help")).cloned();
    let first = values.first().cloned().unwrap_or_default();
    let choices: Vec<Value> = field
        .choices
        .iter()
        .enumerate()
        .map(|(i, choice)| {
            json!({
                "value": choice,
                "label": labels.map.get(&format!("choice.{key}.{choice}")).cloned().unwrap_or_else(|| choice.clone()),
                "selected": values.iter().any(|v| v == choice),
                "id": format!("{id}-{i}"),
            })
        })
        .collect();
    let bools = [("true", word(lang, "form.yes")), ("false", word(lang, "form.no"))]
        .iter()
        .map(|(v, l)| json!({"value": v, "label": l, "selected": first == *v}))
        .collect::<Vec<_>>();
    let mut described = Vec::new();
    if help.is_some() {
        described.push(format!("{id}-help"));
    }
    if !problems.is_empty() {
        described.push(format!("{id}-problems"));
    }
    json!({
        "name": name,
        "id": id,
        "label": labels.map.get(&format!("field.{key}")).cloned().unwrap_or_else(|| field.title.clone()),
        "help": help,
        "kind": kind_flags(field.kind),
        "required": field.required,
        "value": first,
        "choices": choices,
        "bools": bools,
        "problems": problems,
        "invalid": !issues.by_name.get(name).is_none_or(Vec::is_empty),
        "described_by": if described.is_empty() { None } else { Some(described.join(" ")) },
        "min": field.min,
        "max": field.max,
        "step": if field.kind == FieldKind::Integer { Some("1") } else if field.kind == FieldKind::Number { Some("any") } else { None },
        "max_length": field.max_length,
    })
}

fn table_context(
    name: &str,
    key: &str,
    field: &FieldDef,
    typed: &Typed,
    issues: &Issues,
    labels: &Labels,
    lang: &str,
) -> Value {
    let rows = typed.tables.get(name).cloned().unwrap_or_default();
    let count = rows.len();
    let columns: Vec<Value> = field
        .columns
        .iter()
        .map(|c| {
            json!({
                "label": labels.map.get(&format!("field.{key}.{}", c.id)).cloned().unwrap_or_else(|| c.title.clone()),
                "required": c.required,
                "help": labels.map.get(&format!("field.{key}.{}.help", c.id)).cloned(),
            })
        })
        .collect();
    let rows: Vec<Value> = rows
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let cells: Vec<Value> = field
                .columns
                .iter()
                .map(|c| {
                    let cell_name = format!("{name}[{i}].{}", c.id);
                    let values = row.get(&c.id).cloned().unwrap_or_default();
                    input_context(&cell_name, &format!("{key}.{}", c.id), c, &values, issues, labels, lang)
                })
                .collect();
            let row_name = format!("{name}[{i}]");
            let n = (i + 1).to_string();
            json!({
                "index": i,
                "number": i + 1,
                "marker": format!("{row_name}._row"),
                "cells": cells,
                "problems": issues.by_name.get(&row_name).cloned().unwrap_or_default(),
                "first": i == 0,
                "last": i + 1 == count,
                "remove": format!("remove_row:{name}:{i}"),
                "up": format!("move_up:{name}:{i}"),
                "down": format!("move_down:{name}:{i}"),
                "remove_label": super::word_with(lang, "form.remove_row", &[("row", n.clone())]),
                "up_label": super::word_with(lang, "form.move_up", &[("row", n.clone())]),
                "down_label": super::word_with(lang, "form.move_down", &[("row", n.clone())]),
                "row_label": super::word_with(lang, "form.row", &[("row", n)]),
            })
        })
        .collect();
    let id = input_id(name);
    let problems = issues.by_name.get(name).cloned().unwrap_or_default();
    json!({
        "name": name,
        "id": id,
        "label": labels.map.get(&format!("field.{key}")).cloned().unwrap_or_else(|| field.title.clone()),
        "help": labels.map.get(&format!("field.{key}.help")).cloned(),
        "kind": "table",
        "is_table": true,
        "required": field.required,
        "columns": columns,
        "rows": rows,
        "marker": format!("{name}._table"),
        "add": format!("add_row:{name}"),
        "problems": problems,
        "invalid": !problems.is_empty(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cell_names_split_and_rows_map_back() {
        assert_eq!(cell_name("register.risks[3].probability"), Some(("register.risks", 3, "probability")));
        assert_eq!(cell_name("register.risks"), None);
        assert_eq!(cell_name("a.b[x].c"), None);
        let row_of = HashMap::from([("f.t".to_string(), vec![0, 2, 3])]);
        assert_eq!(shown_path("f.t[1].c", &row_of).as_deref(), Some("f.t[2].c"));
        assert_eq!(shown_path("f.x", &row_of).as_deref(), Some("f.x"));
        assert_eq!(input_id("f.t[2].c"), "f-f-t-2--c");
    }
}
