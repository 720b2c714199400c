//! Plans: list, start, read (state, next events with reasons, deadlines,
//! forms and registers, scores, history, documents), fire events, answer
//! anonymously, import a sample, migrate with a preview. Every handler
//! resolves the plan through `access::plan` first (404 for what the caller
//! may not see); writes act in a role the caller holds there, as the
//! caller, on the server's date in the institution's zone.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use integritas_core::date::Date;
use integritas_core::engine::Engine;
use integritas_core::executor::Command;
use integritas_core::projection::Plan;
use integritas_core::store::Institution;
use integritas_core::wire::{
    CycleView, DueView, EventView, FiredView, FormView, NextEventView, NoticeView, PlanSummary, PlanView, WorkflowView,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Sha256;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::access::{self, Reach};
use crate::api::{ApiJson, ApiPath, ApiQuery, Page, PageQuery};
use crate::auth::Principal;
use crate::clock;
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, CachedView, blocking};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_plans, new_plan))
        .routes(routes!(show_plan))
        .routes(routes!(next_events))
        .routes(routes!(fire))
        .routes(routes!(history))
        .routes(routes!(due))
        .routes(routes!(scores))
        .routes(routes!(forms))
        .routes(routes!(form))
        .routes(routes!(documents))
        .routes(routes!(document))
        .routes(routes!(migration_preview, migrate))
        .routes(routes!(import_sample))
}

/// Today in the institution's zone (its own, else its pack's, else UTC).
pub fn today_for(engine: &Engine, institution: &Institution) -> ApiResult<Date> {
    let pack_zone = engine.catalog().pack(&institution.jurisdiction, None).and_then(|p| p.manifest.timezone.clone());
    clock::today(institution.timezone.as_deref().or(pack_zone.as_deref()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PlanListQuery {
    /// Only the plans of this institution.
    pub institution: Option<String>,
    pub after: Option<String>,
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
}

/// Plans of the institutions the caller reaches, by id.
#[utoipa::path(get, path = "/plans", tag = "plans", params(PlanListQuery),
    responses((status = 200, body = Page<PlanSummary>)))]
async fn list_plans(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<PlanListQuery>,
) -> ApiResult<axum::Json<Page<PlanSummary>>> {
    if let Some(id) = &query.institution {
        access::institution(&state, &principal, id).await?;
    }
    let engine = state.engine.clone();
    let (plans, institutions) = blocking(move || Ok((engine.plans()?, engine.institutions()?))).await?;
    let reachable: Vec<&str> =
        institutions.iter().filter(|i| Reach::of(&state, &principal, i).is_some()).map(|i| i.id.as_str()).collect();
    let mut plans: Vec<PlanSummary> = plans
        .iter()
        .filter(|p| reachable.contains(&p.institution.as_str()))
        .filter(|p| query.institution.as_ref().is_none_or(|i| *i == p.institution))
        .map(PlanSummary::from)
        .collect();
    plans.sort_by(|a, b| a.id.cmp(&b.id));
    let page = PageQuery { after: query.after, limit: query.limit };
    Ok(axum::Json(page.page(plans, |p| p.id.clone())))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPlan {
    pub institution: String,
    /// `pack/workflow`, or a workflow id unique across packs.
    pub workflow: Option<String>,
    /// A sample of the institution's pack to start from (its event is fired
    /// in the sample's role, which the caller must hold).
    pub sample: Option<String>,
}

/// A plan just started.
#[derive(Debug, Serialize, ToSchema)]
pub struct NewPlanView {
    pub plan: PlanSummary,
    pub state: String,
    pub cycle: CycleView,
    /// Whether the law obliges the institution (`null`: not known).
    pub obliged: Option<bool>,
    /// What starting the plan told its roles (e.g. that the law does not oblige the institution).
    pub notices: Vec<NoticeView>,
}

/// Starts a plan for an institution (a member with a role there, or an administrator).
#[utoipa::path(post, path = "/plans", tag = "plans", request_body = NewPlan,
    responses((status = 201, body = NewPlanView)))]
async fn new_plan(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(request): ApiJson<NewPlan>,
) -> ApiResult<(StatusCode, axum::Json<NewPlanView>)> {
    let (institution, reach) = access::institution(&state, &principal, &request.institution).await?;
    if !reach.admin {
        reach.acting_role(reach.roles.first().map(String::as_str), &institution.id)?;
    }
    let engine = state.engine.clone();
    let actor = principal.user.id.clone();
    let roles = reach.roles.clone();
    let plan = blocking(move || {
        let today = today_for(&engine, &institution)?;
        match (request.workflow, request.sample) {
            (Some(_), Some(_)) => Err(ApiError::invalid("sample", "give `workflow` or `sample`, not both")),
            (None, None) => Err(ApiError::invalid("workflow", "give `workflow` or `sample`")),
            (Some(workflow), None) => Ok(engine.new_plan(&institution.id, &workflow, &actor, today)?),
            (None, Some(sample)) => {
                let catalog = engine.catalog();
                let role = catalog
                    .pack(&institution.jurisdiction, None)
                    .and_then(|p| p.samples.get(&sample))
                    .map(|(decl, _)| decl.role.clone());
                if let Some(role) = role.filter(|r| !roles.contains(r)) {
                    return Err(ApiError::forbidden(
                        format!("the sample `{sample}` is imported by the role `{role}`, which you do not hold here"),
                        vec![role],
                    ));
                }
                Ok(engine.new_plan_from_sample(&institution.id, &sample, &actor, today)?.0)
            }
        }
    })
    .await?;
    let view = NewPlanView {
        plan: PlanSummary::from(&plan.meta),
        state: plan.state.clone(),
        cycle: CycleView { number: plan.cycle.number, start: plan.cycle.start },
        obliged: plan.obliged,
        notices: NoticeView::all(&plan),
    };
    Ok((StatusCode::CREATED, axum::Json(view)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AsQuery {
    /// A role of the plan's workflow: the view lists the events it may fire next.
    #[serde(rename = "as")]
    #[param(rename = "as")]
    pub role: Option<String>,
}

/// The plan at today's date: state, phase, cycle, deadlines, data (never
/// anonymous answers), scores and, with `as`, the events that role may fire next.
#[utoipa::path(get, path = "/plans/{id}", tag = "plans", params(("id" = String, Path), AsQuery),
    responses((status = 200, body = PlanView)))]
async fn show_plan(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<AsQuery>,
) -> ApiResult<Response> {
    let (plan, institution, _) = access::plan(&state, &principal, &id).await?;
    let today = today_for(&state.engine, &institution)?;
    let key = format!("plan?as={}", query.role.as_deref().unwrap_or(""));
    if let Some(bytes) = state.view(&id, &key, plan.seq, today) {
        return Ok(json_bytes(bytes));
    }
    let engine = state.engine.clone();
    let (seq, bytes) = blocking(move || {
        let plan = engine.plan(&id)?;
        let workflow = engine.workflow_of(&plan.meta)?;
        let pack = engine.pack_of(&plan.meta)?;
        let due = engine.due(&id, today)?;
        let next = match &query.role {
            Some(role) => {
                engine.next_events(&id, role, today)?.iter().map(|n| NextEventView::new(n, &workflow)).collect()
            }
            None => Vec::new(),
        };
        let view = PlanView::new(&plan, &workflow, &pack, today, next, &due);
        Ok((plan.seq, to_bytes(&view)?))
    })
    .await?;
    state.keep_view(&plan.meta.id, &key, CachedView { seq, today, bytes: bytes.clone() });
    Ok(json_bytes(bytes))
}

/// A JSON response of bytes already serialized.
fn json_bytes(bytes: Bytes) -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], bytes).into_response()
}

fn to_bytes<T: Serialize>(value: &T) -> ApiResult<Bytes> {
    serde_json::to_vec(value).map(Bytes::from).map_err(|e| ApiError::Internal(e.to_string()))
}

/// The events a role may fire next, each ready or with the guard that would
/// refuse it and why. Without `as`: the caller's only role in the institution.
#[utoipa::path(get, path = "/plans/{id}/next", tag = "plans", params(("id" = String, Path), AsQuery),
    responses((status = 200, body = Vec<NextEventView>)))]
async fn next_events(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<AsQuery>,
) -> ApiResult<axum::Json<Vec<NextEventView>>> {
    let (plan, institution, reach) = access::plan(&state, &principal, &id).await?;
    let role = match query.role {
        Some(role) => role,
        None => reach.acting_role(None, &institution.id)?,
    };
    let engine = state.engine.clone();
    let next = blocking(move || {
        let today = today_for(&engine, &institution)?;
        let workflow = engine.workflow_of(&plan.meta)?;
        Ok(engine.next_events(&id, &role, today)?.iter().map(|n| NextEventView::new(n, &workflow)).collect())
    })
    .await?;
    Ok(axum::Json(next))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FireRequest {
    pub event: String,
    /// The role to act in; may be left out when the caller holds one role there.
    #[serde(rename = "as")]
    #[schema(rename = "as")]
    pub role: Option<String>,
    /// Form data: `{form: {field: value}}`.
    #[serde(default)]
    pub payload: Value,
}

/// What an anonymous answer kept: no author, no time finer than the month.
#[derive(Debug, Serialize, ToSchema)]
pub struct AnswerReceipt {
    pub event: String,
    pub cycle: u32,
    /// `YYYY-MM`.
    pub month: String,
}

/// An event recorded in the plan's log, or an anonymous answer kept apart.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum FireResult {
    Fired(Box<FiredView>),
    Answered { answered: AnswerReceipt },
}

/// The one-way token of a person's answers to a plan: HMAC-SHA256 under
/// the server's ballot key. It refuses a second answer in a cycle and
/// cannot be turned back into the person.
pub(crate) fn ballot(key: &[u8], user: &str, plan: &str) -> ApiResult<String> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).map_err(|e| ApiError::Internal(e.to_string()))?;
    mac.update(user.as_bytes());
    mac.update(&[0]);
    mac.update(plan.as_bytes());
    Ok(mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect())
}

/// Fires an event as the caller in one of its roles, dated today in the
/// institution's zone. An anonymous event (a questionnaire answer) is kept
/// apart from the log, without its author; one per person and cycle.
#[utoipa::path(post, path = "/plans/{id}/events", tag = "plans", params(("id" = String, Path)),
    request_body = FireRequest, responses((status = 201, body = FireResult)))]
async fn fire(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<FireRequest>,
) -> ApiResult<(StatusCode, axum::Json<FireResult>)> {
    let (_, institution, reach) = access::plan(&state, &principal, &id).await?;
    let role = reach.acting_role(request.role.as_deref(), &institution.id)?;
    let engine = state.engine.clone();
    let key = state.ballot_key.clone();
    let user = principal.user.id.clone();
    let result = blocking(move || {
        let today = today_for(&engine, &institution)?;
        let anonymous = engine.is_anonymous(&id, &request.event)?;
        let command = Command {
            event: request.event,
            role,
            actor: if anonymous { String::new() } else { user.clone() },
            payload: request.payload,
            today,
        };
        if anonymous {
            let answered = engine.answer(&id, &command, Some(&ballot(&key, &user, &id)?))?;
            let receipt = AnswerReceipt { event: answered.event, cycle: answered.cycle, month: answered.month };
            return Ok(FireResult::Answered { answered: receipt });
        }
        let fired = engine.fire(&id, &command)?;
        Ok(FireResult::Fired(Box::new(FiredView { event: EventView::from(&fired.event), state: fired.state })))
    })
    .await?;
    Ok((StatusCode::CREATED, axum::Json(result)))
}

/// The plan's log, oldest first; `after` is an event number.
#[utoipa::path(get, path = "/plans/{id}/history", tag = "plans", params(("id" = String, Path), PageQuery),
    responses((status = 200, body = Page<EventView>)))]
async fn history(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> ApiResult<axum::Json<Page<EventView>>> {
    let (plan, _, _) = access::plan(&state, &principal, &id).await?;
    let after = match page.after.as_deref() {
        None => 0,
        Some(text) => text.parse::<u64>().map_err(|_| ApiError::invalid("after", "`after` is an event number"))?,
    };
    let limit = page.limit();
    let engine = state.engine.clone();
    // Each event lists the documents it issued, titled in the pack's first language, so a page can link them.
    let mut items: Vec<EventView> = blocking(move || {
        let pack = engine.pack_of(&plan.meta)?;
        let events = engine.history(&id, after.saturating_add(1), limit + 1)?;
        Ok(events.iter().map(|e| EventView::from(e).titled(&pack, pack.source_language())).collect())
    })
    .await?;
    let next = if items.len() > limit {
        items.truncate(limit);
        items.last().map(|e| e.seq.to_string())
    } else {
        None
    };
    Ok(axum::Json(Page { items, next }))
}

/// Upcoming and overdue deadlines at today's date.
#[utoipa::path(get, path = "/plans/{id}/due", tag = "plans", params(("id" = String, Path)),
    responses((status = 200, body = Vec<DueView>)))]
async fn due(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<axum::Json<Vec<DueView>>> {
    let (_, institution, _) = access::plan(&state, &principal, &id).await?;
    let engine = state.engine.clone();
    let due = blocking(move || {
        let today = today_for(&engine, &institution)?;
        Ok(engine.due(&id, today)?.iter().map(DueView::from).collect())
    })
    .await?;
    Ok(axum::Json(due))
}

/// Plugin results by output name, each with the plugin that computed it
/// (id, version, sha256). Over anonymous answers only aggregates exist.
#[utoipa::path(get, path = "/plans/{id}/scores", tag = "plans", params(("id" = String, Path)),
    responses((status = 200, body = Value)))]
async fn scores(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<axum::Json<Value>> {
    let (plan, _, _) = access::plan(&state, &principal, &id).await?;
    Ok(axum::Json(serde_json::to_value(&plan.scores).unwrap_or_default()))
}

/// A form (or register) of the plan's workflow with the plan's data in it.
#[derive(Debug, Serialize, ToSchema)]
pub struct FormData {
    pub form: FormView,
    /// Anonymous forms are filled apart from the plan: their data is never shown.
    pub anonymous: bool,
    /// `{field: value}`; null when nothing is filled, or the form is anonymous.
    pub data: Value,
}

fn form_data(engine: &Engine, plan: &Plan) -> ApiResult<Vec<FormData>> {
    let workflow = engine.workflow_of(&plan.meta)?;
    Ok(WorkflowView::new(&workflow)
        .forms
        .into_iter()
        .map(|form| {
            let hidden = workflow.anonymous_filler(&form.id).is_some();
            let data = if hidden { Value::Null } else { plan.data.get(&form.id).cloned().unwrap_or(Value::Null) };
            FormData { form, anonymous: hidden, data }
        })
        .collect())
}

/// Every form of the plan's workflow with its data.
#[utoipa::path(get, path = "/plans/{id}/forms", tag = "plans", params(("id" = String, Path)),
    responses((status = 200, body = Vec<FormData>)))]
async fn forms(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<axum::Json<Vec<FormData>>> {
    let (plan, _, _) = access::plan(&state, &principal, &id).await?;
    let engine = state.engine.clone();
    Ok(axum::Json(blocking(move || form_data(&engine, &plan)).await?))
}

/// One form or register of the plan with its data.
#[utoipa::path(get, path = "/plans/{id}/forms/{form}", tag = "plans", params(("id" = String, Path), ("form" = String, Path)),
    responses((status = 200, body = FormData)))]
async fn form(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((id, form)): ApiPath<(String, String)>,
) -> ApiResult<Response> {
    let (plan, institution, _) = access::plan(&state, &principal, &id).await?;
    let today = today_for(&state.engine, &institution)?;
    let key = format!("form/{form}");
    if let Some(bytes) = state.view(&id, &key, plan.seq, today) {
        return Ok(json_bytes(bytes));
    }
    let engine = state.engine.clone();
    let seq = plan.seq;
    let bytes = blocking(move || {
        let all = form_data(&engine, &plan)?;
        let known: Vec<String> = all.iter().map(|f| f.form.id.clone()).collect();
        let found = all
            .into_iter()
            .find(|f| f.form.id == form)
            .ok_or_else(|| integritas_core::error::EngineError::not_found("form", form, known))?;
        to_bytes(&found)
    })
    .await?;
    state.keep_view(&id, &key, CachedView { seq, today, bytes: bytes.clone() });
    Ok(json_bytes(bytes))
}

/// A document of the plan's workflow, and whether it was produced.
#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentView {
    pub id: String,
    pub title: String,
    /// The event that last produced it (`null`: not yet; it renders as a draft).
    pub produced: Option<ProducedView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProducedView {
    pub seq: u64,
    pub date: Date,
}

/// The plan's documents.
#[utoipa::path(get, path = "/plans/{id}/documents", tag = "plans", params(("id" = String, Path)),
    responses((status = 200, body = Vec<DocumentView>)))]
async fn documents(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<axum::Json<Vec<DocumentView>>> {
    let (plan, _, _) = access::plan(&state, &principal, &id).await?;
    let engine = state.engine.clone();
    let list = blocking(move || {
        let workflow = engine.workflow_of(&plan.meta)?;
        let pack = engine.pack_of(&plan.meta)?;
        let source = pack.source_language().to_string();
        Ok(workflow
            .def()
            .documents
            .iter()
            .map(|doc| DocumentView {
                id: doc.clone(),
                title: pack
                    .manifest
                    .documents
                    .iter()
                    .find(|d| d.id == *doc)
                    .and_then(|d| d.title.get(&source).cloned())
                    .unwrap_or_default(),
                produced: plan
                    .documents
                    .iter()
                    .rev()
                    .find(|d| d.id == *doc)
                    .map(|d| ProducedView { seq: d.seq, date: d.date }),
            })
            .collect())
    })
    .await?;
    Ok(axum::Json(list))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LangQuery {
    /// One of the pack's languages (default: its first).
    pub lang: Option<String>,
}

/// Content-Security-Policy of a rendered document: its own inline styles, nothing else.
const DOCUMENT_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'";

/// One document as printable HTML: as of the event that produced it, or a
/// draft from today's data, marked as one; a document whose forms hold
/// nothing yet is refused (409 `not_drafted`, saying what to fill in)
/// rather than printed as an empty shell.
#[utoipa::path(get, path = "/plans/{id}/documents/{document}", tag = "plans",
    params(("id" = String, Path), ("document" = String, Path), LangQuery),
    responses((status = 200, description = "The document", content_type = "text/html", body = String),
        (status = 409, description = "Its forms hold nothing yet (`not_drafted`)", body = integritas_core::wire::ErrorBody)))]
async fn document(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((id, document)): ApiPath<(String, String)>,
    ApiQuery(query): ApiQuery<LangQuery>,
) -> ApiResult<Response> {
    let (_, institution, _) = access::plan(&state, &principal, &id).await?;
    let engine = state.engine.clone();
    let html = blocking(move || {
        let today = today_for(&engine, &institution)?;
        Ok(engine.document(&id, &document, query.lang.as_deref(), today)?)
    })
    .await?;
    let mut response = html.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(DOCUMENT_CSP));
    Ok(response)
}

#[derive(Debug, Deserialize, IntoParams, ToSchema)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MigrationTarget {
    /// A semver version of the plan's pack.
    pub to: String,
}

/// Whether the plan can move to a version, and every reason it cannot.
#[derive(Debug, Serialize, ToSchema)]
pub struct MigrationPreview {
    pub from: String,
    pub to: String,
    pub possible: bool,
    pub reasons: Vec<String>,
    /// What the move changes for this plan: the versions' differences, the
    /// state mapping, data the new version would not accept, and every score
    /// before and after (the `@migrated` event records the same).
    #[schema(value_type = Object)]
    pub preview: serde_json::Value,
}

fn version(text: &str) -> ApiResult<semver::Version> {
    semver::Version::parse(text).map_err(|e| ApiError::invalid("to", format!("`{text}` is not a semver version: {e}")))
}

/// What migrating the plan to a version would find, without recording anything.
#[utoipa::path(get, path = "/plans/{id}/migration", tag = "plans", params(("id" = String, Path), MigrationTarget),
    responses((status = 200, body = MigrationPreview)))]
async fn migration_preview(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiQuery(target): ApiQuery<MigrationTarget>,
) -> ApiResult<axum::Json<MigrationPreview>> {
    let (plan, _, _) = access::plan(&state, &principal, &id).await?;
    let to = version(&target.to)?;
    let engine = state.engine.clone();
    let preview = blocking(move || Ok(engine.migration_preview(&id, &to)?)).await?;
    let view = integritas_core::wire::MigrationPreviewView::from(&preview);
    Ok(axum::Json(MigrationPreview {
        from: plan.meta.pack_version.clone(),
        to: target.to,
        possible: view.allowed,
        reasons: view.refusals.clone(),
        preview: serde_json::to_value(&view).unwrap_or_default(),
    }))
}

/// Moves the plan to a newer, compatible version of its pack with an
/// audited `@migrated` event (a member with a role there, or an administrator).
#[utoipa::path(post, path = "/plans/{id}/migration", tag = "plans", params(("id" = String, Path)),
    request_body = MigrationTarget, responses((status = 201, body = FiredView)))]
async fn migrate(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(target): ApiJson<MigrationTarget>,
) -> ApiResult<(StatusCode, axum::Json<FiredView>)> {
    let (_, institution, reach) = access::plan(&state, &principal, &id).await?;
    if !reach.admin {
        reach.acting_role(reach.roles.first().map(String::as_str), &institution.id)?;
    }
    let to = version(&target.to)?;
    let engine = state.engine.clone();
    let actor = principal.user.id.clone();
    let fired = blocking(move || {
        let today = today_for(&engine, &institution)?;
        Ok(engine.migrate(&id, &to, &actor, today)?)
    })
    .await?;
    Ok((StatusCode::CREATED, axum::Json(FiredView { event: EventView::from(&fired.event), state: fired.state })))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportRequest {
    /// A sample of the plan's pack (`GET /packs/{id}` lists them).
    pub sample: String,
}

/// Fills the plan from a sample of its pack: fires the sample's event in
/// the sample's role, which the caller must hold.
#[utoipa::path(post, path = "/plans/{id}/import", tag = "plans", params(("id" = String, Path)),
    request_body = ImportRequest, responses((status = 201, body = FiredView)))]
async fn import_sample(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<ImportRequest>,
) -> ApiResult<(StatusCode, axum::Json<FiredView>)> {
    let (plan, institution, reach) = access::plan(&state, &principal, &id).await?;
    let engine = state.engine.clone();
    let actor = principal.user.id.clone();
    let fired = blocking(move || {
        let pack: Arc<integritas_core::pack::Pack> = engine.pack_of(&plan.meta)?;
        if let Some((decl, _)) = pack.samples.get(&request.sample) {
            reach.acting_role(Some(&decl.role), &institution.id)?;
        }
        let today = today_for(&engine, &institution)?;
        Ok(engine.import_sample(&id, &request.sample, &actor, today)?)
    })
    .await?;
    Ok((StatusCode::CREATED, axum::Json(FiredView { event: EventView::from(&fired.event), state: fired.state })))
}
