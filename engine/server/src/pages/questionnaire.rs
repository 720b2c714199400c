//! The anonymous questionnaire (a pack's `anonymous` events) for
//! employees, and its results. An answer goes through the engine's
//! `answer` with the same one-way ballot as the API's: kept apart from the
//! plan's log with its month only, one per person and cycle. No draft is
//! ever kept of an answer (a draft would bind it to its author). The
//! results page shows only what the plan's scores hold over the
//! questionnaire's forms: the plugin's aggregates, groups under the
//! pack's minimum already suppressed.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use integritas_core::definition::Action;
use integritas_core::error::EngineError;
use integritas_core::executor::{Command, Refusal};
use serde_json::{Value, json};

use super::forms::{Issues, Opened, Typed, add_problems, build_payload, form_context, local_problems, open};
use super::home::role_title;
use super::{
    Fail, FormBody, PageError, PagePost, PageUser, format_date, pack_labels, render, see_other, translator, word,
};
use crate::api::plans::{ballot, today_for};
use crate::error::ApiError;
use crate::state::{AppState, blocking};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/plans/{id}/questionnaire/{event}", get(questionnaire_page).post(answer))
        .route("/plans/{id}/questionnaire/{event}/results", get(results))
}

async fn open_anonymous(state: &AppState, user: &PageUser, plan_id: &str, event: &str) -> Result<Opened, PageError> {
    // The event must be anonymous: a 404 otherwise, before any role check.
    let (plan, _, _) = super::plan(state, user, plan_id).await?;
    let engine = state.engine.clone();
    let meta = plan.meta.clone();
    let workflow = blocking(move || Ok(engine.workflow_of(&meta)?)).await.map_err(|e| user.api(e))?;
    if !workflow.event(event).is_some_and(|e| e.anonymous) {
        return Err(user.fail(Fail::NotFound));
    }
    open(state, user, plan_id, event, None).await
}

fn questionnaire_context(
    user: &PageUser,
    opened: &Opened,
    typed: &Typed,
    issues: &Issues,
    notice: Option<String>,
) -> Value {
    let mut context = form_context(user, opened, typed, issues, notice, false);
    context["anonymous"] = json!(true);
    context["action"] = json!(format!("/plans/{}/questionnaire/{}", opened.plan.meta.id, opened.event));
    context["results"] = json!(format!("/plans/{}/questionnaire/{}/results", opened.plan.meta.id, opened.event));
    context
}

/// GET: the questionnaire's form, empty (an answer is never shown again).
async fn questionnaire_page(
    State(state): State<AppState>,
    user: PageUser,
    Path((plan_id, event)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let opened = open_anonymous(&state, &user, &plan_id, &event).await?;
    let answered = FormBody::parse(query.unwrap_or_default().as_bytes()).get("answered").is_some();
    if answered {
        let context = json!({
            "title": word(user.lang, "questionnaire.title"),
            "plan": {"href": format!("/plans/{plan_id}")},
            "results": format!("/plans/{plan_id}/questionnaire/{event}/results"),
        });
        return Ok(render(&user, "questionnaire", context));
    }
    // One empty row to start from in each table.
    let mut typed = Typed::default();
    for form_id in &opened.fills {
        if let Some(form) = opened.workflow.form(form_id) {
            for field in form.fields.iter().filter(|f| f.kind == integritas_core::definition::FieldKind::Table) {
                typed.tables.insert(format!("{form_id}.{}", field.id), vec![Default::default()]);
            }
        }
    }
    Ok(render(&user, "form", questionnaire_context(&user, &opened, &typed, &Issues::default(), None)))
}

/// POST: a row button re-renders; sending answers anonymously.
async fn answer(
    State(state): State<AppState>,
    Path((plan_id, event)): Path<(String, String)>,
    post: PagePost,
) -> Result<Response, PageError> {
    let PagePost { user, form } = post;
    let opened = open_anonymous(&state, &user, &plan_id, &event).await?;
    let mut typed = Typed::from_pairs(&opened.workflow, &opened.fills, &form.0);
    let action = form.get("_action").unwrap_or("submit").to_string();
    if action != "submit" {
        if !typed.apply(&action, &opened.workflow, &opened.fills) {
            return Err(user.fail(Fail::BadRequest));
        }
        return Ok(render(&user, "form", questionnaire_context(&user, &opened, &typed, &Issues::default(), None)));
    }
    let built = build_payload(&opened.workflow, &opened.fills, &typed, opened.append);
    let translate = translator(&opened.pack, user.lang);
    let mut issues = Issues::default();
    let show = |issues: &Issues| {
        let mut page = render(&user, "form", questionnaire_context(&user, &opened, &typed, issues, None));
        *page.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        page
    };
    if !built.problems.is_empty() {
        local_problems(&mut issues, &opened, &built, &translate, user.lang);
        return Ok(show(&issues));
    }
    let engine = state.engine.clone();
    let key = state.ballot_key.clone();
    let (institution, role, person) = (opened.institution.clone(), opened.role.clone(), user.user.id.clone());
    let (plan, payload, command_event) = (plan_id.clone(), built.payload.clone(), event.clone());
    let answered = blocking(move || {
        let today = today_for(&engine, &institution)?;
        // No actor: an answer has no author.
        let command = Command { event: command_event, role, actor: String::new(), payload, today };
        let token = ballot(&key, &person, &plan)?;
        Ok(engine.answer(&plan, &command, Some(&token)))
    })
    .await
    .map_err(|e| user.api(e))?;
    match answered {
        Ok(_) => Ok(see_other(&format!("/plans/{plan_id}/questionnaire/{event}?answered=1"))),
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
            Ok(show(&issues))
        }
        Err(e @ EngineError::Invalid { .. }) => {
            add_problems(&mut issues, &e.problems(), &built.row_of, &translate);
            Ok(show(&issues))
        }
        Err(EngineError::Conflict { .. }) => {
            issues.refusal = Some(word(user.lang, "questionnaire.conflict"));
            Ok(show(&issues))
        }
        Err(e) => Err(user.api(ApiError::Engine(e))),
    }
}

/// GET: the aggregates the plugin kept over the questionnaire's answers.
async fn results(
    State(state): State<AppState>,
    user: PageUser,
    Path((plan_id, event)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let (plan, _, _) = super::plan(&state, &user, &plan_id).await?;
    let engine = state.engine.clone();
    let meta = plan.meta.clone();
    let (workflow, pack) =
        blocking(move || Ok((engine.workflow_of(&meta)?, engine.pack_of(&meta)?))).await.map_err(|e| user.api(e))?;
    let Some(def) = workflow.event(&event).filter(|e| e.anonymous) else {
        return Err(user.fail(Fail::NotFound));
    };
    let labels = pack_labels(&pack, user.lang);
    let translate = translator(&pack, user.lang);
    // The outputs scored over the questionnaire's forms.
    let mut outputs = Vec::new();
    for transition in &workflow.def().transitions {
        for action in &transition.actions {
            if let Action::Score { input, output, config, .. } = action
                && def.fills.iter().any(|f| input.split('.').next() == Some(f.as_str()))
                && !outputs.iter().any(|(o, _, _): &(String, Option<Value>, String)| o == output)
            {
                outputs.push((output.clone(), config.clone(), input.clone()));
            }
        }
    }
    let mut sections = Vec::new();
    let mut minimum = None;
    for (output, config, input) in &outputs {
        if let Some(min) = config.as_ref().and_then(|c| c.get("min_group_size")).and_then(Value::as_u64) {
            minimum = Some(min);
        }
        if let Some(record) = plan.scores.get(output) {
            sections.push(json!({
                "title": labels.map.get(&format!("score.{output}")).cloned().unwrap_or_else(|| output.clone()),
                "date": format_date(user.lang, record.date),
                "html": value_html(&record.value, &Shown { translate: &translate, input, lang: user.lang }, None, 0),
            }));
        }
    }
    let title = labels.map.get(&format!("event.{event}")).cloned().unwrap_or_else(|| def.title.clone());
    let context = json!({
        "title": format!("{} — {}", word(user.lang, "questionnaire.results"), title),
        "plan": {"href": format!("/plans/{plan_id}")},
        "intro": minimum.map(|m| super::word_with(user.lang, "questionnaire.results_intro", &[("min", m.to_string())])),
        "sections": sections,
    });
    Ok(render(&user, "results", context))
}

/// How the words of an aggregate are shown: keys and values through the
/// pack (`value.<word>`, the input table's column labels and choice
/// labels), then the page words (`result.<key>`), else as they are.
struct Shown<'a> {
    translate: &'a dyn Fn(&str) -> Option<String>,
    /// The scored table (`form.table`), whose columns and choices name keys and values.
    input: &'a str,
    lang: &'a str,
}

impl Shown<'_> {
    fn key(&self, key: &str) -> String {
        (self.translate)(&format!("value.{key}"))
            .or_else(|| (self.translate)(&format!("field.{}.{key}", self.input)))
            .or_else(|| super::known_word(self.lang, &format!("result.{key}")))
            .unwrap_or_else(|| key.to_string())
    }

    fn value(&self, key: Option<&str>, value: &str) -> String {
        key.and_then(|k| (self.translate)(&format!("choice.{}.{k}.{value}", self.input)))
            .or_else(|| (self.translate)(&format!("value.{value}")))
            .or_else(|| (self.translate)(&format!("field.{}.{value}", self.input)))
            .unwrap_or_else(|| value.to_string())
    }
}

/// A plugin's aggregate as HTML: objects as definition lists, lists of
/// objects as tables (escaped; only what the plugin kept).
fn value_html(value: &Value, shown: &Shown, key: Option<&str>, depth: usize) -> String {
    let esc = |s: &str| handlebars::html_escape(s);
    if depth > 6 {
        return esc(&value.to_string());
    }
    match value {
        Value::Null => String::new(),
        Value::String(s) => esc(&shown.value(key, s)),
        Value::Bool(true) => esc(&word(shown.lang, "form.yes")),
        Value::Bool(false) => esc(&word(shown.lang, "form.no")),
        Value::Number(n) => n.to_string(),
        Value::Array(items) if items.iter().all(Value::is_object) && !items.is_empty() => {
            let mut columns: Vec<String> = Vec::new();
            for item in items.iter().filter_map(Value::as_object) {
                for k in item.keys() {
                    if !columns.contains(k) {
                        columns.push(k.clone());
                    }
                }
            }
            let mut html = String::from("<div class=\"table-wrap\"><table class=\"rows\"><thead><tr>");
            for c in &columns {
                html.push_str(&format!("<th scope=\"col\">{}</th>", esc(&shown.key(c))));
            }
            html.push_str("</tr></thead><tbody>");
            for item in items.iter().filter_map(Value::as_object) {
                html.push_str("<tr>");
                for c in &columns {
                    let cell = item.get(c).map(|v| value_html(v, shown, Some(c), depth + 1)).unwrap_or_default();
                    html.push_str(&format!("<td data-label=\"{}\">{cell}</td>", esc(&shown.key(c))));
                }
                html.push_str("</tr>");
            }
            html.push_str("</tbody></table></div>");
            html
        }
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(|v| value_html(v, shown, key, depth + 1)).collect();
            parts.join(", ")
        }
        Value::Object(map) => {
            let mut html = String::from("<dl>");
            for (k, v) in map {
                let inner = value_html(v, shown, Some(k), depth + 1);
                html.push_str(&format!("<dt>{}</dt><dd>{inner}</dd>", esc(&shown.key(k))));
            }
            html.push_str("</dl>");
            html
        }
    }
}
