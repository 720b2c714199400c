//! The institutions a user reaches, the home page of one institution and
//! the page of a plan: the workflow's states as a timeline (done, now, to
//! come: from the definition and the dates the plan entered each state
//! this cycle), the deadlines due and overdue in the institution's time
//! zone, and the events each of the user's roles may fire now (a link to
//! the event's form) or not yet (with the engine's reason, in the user's
//! language). Everything is read through `access` as in the API.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use integritas_core::date::Date;
use integritas_core::deadline::Status;
use integritas_core::definition::{StateKind, Workflow};
use integritas_core::engine::Engine;
use integritas_core::locale::Labels;
use integritas_core::projection::Plan;
use integritas_core::store::Institution;
use integritas_core::wire::NextEventView;
use serde_json::{Value, json};

use super::{PageError, PageUser, format_date, pack_labels, render, translator, word, word_with};
use crate::access::Reach;
use crate::api::plans::today_for;
use crate::error::ApiResult;
use crate::state::{AppState, blocking};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/institutions", get(institutions))
        .route("/institutions/{id}", get(institution_home))
        .route("/plans/{id}", get(plan_page))
}

/// GET `/institutions`: every institution the user reaches.
async fn institutions(State(state): State<AppState>, user: PageUser) -> Result<Response, PageError> {
    let engine = state.engine.clone();
    let all = blocking(move || Ok(engine.institutions()?)).await.map_err(|e| user.api(e))?;
    let principal = user.principal();
    let items: Vec<Value> = all
        .iter()
        .filter_map(|i| Reach::of(&state, &principal, i).map(|reach| (i, reach)))
        .map(|(i, reach)| {
            let catalog = state.engine.catalog();
            let labels = catalog.pack(&i.jurisdiction, None).map(|p| pack_labels(p, user.lang));
            let roles: Vec<String> = reach.roles.iter().map(|r| role_title(labels.as_ref(), r)).collect();
            json!({
                "id": i.id,
                "name": i.name,
                "pack": labels.as_ref().map(|l| l.get("pack.title")).unwrap_or_else(|| i.jurisdiction.clone()),
                "roles": if roles.is_empty() { None } else {
                    Some(word_with(user.lang, "institutions.roles", &[("roles", roles.join(", "))]))
                },
                "agency": reach.agency,
            })
        })
        .collect();
    let context = json!({
        "title": word(user.lang, "institutions.title"),
        "institutions": items,
        "admin": user.user.admin,
    });
    Ok(render(&user, "institutions", context))
}

/// A role's title in the page's language (its id when the pack has none).
pub fn role_title(labels: Option<&Labels>, role: &str) -> String {
    labels.and_then(|l| l.map.get(&format!("role.{role}")).cloned()).unwrap_or_else(|| role.to_string())
}

/// GET `/institutions/{id}`: the institution's plans, each open one with
/// its timeline, deadlines and what the user may do now.
async fn institution_home(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let (institution, reach) = super::institution(&state, &user, &id).await?;
    let engine = state.engine.clone();
    let lang = user.lang;
    let (inst, r) = (institution.clone(), reach.clone());
    let (plans, today) = blocking(move || {
        let today = today_for(&engine, &inst)?;
        let mut metas: Vec<_> = engine.plans()?.into_iter().filter(|p| p.institution == inst.id).collect();
        metas.sort_by(|a, b| a.id.cmp(&b.id));
        let mut plans = Vec::new();
        for meta in metas {
            let plan = engine.plan(&meta.id)?;
            plans.push(plan_panel(&engine, &plan, &inst, &r, today, lang, false)?);
        }
        Ok((plans, today))
    })
    .await
    .map_err(|e| user.api(e))?;
    let catalog = state.engine.catalog();
    let labels = catalog.pack(&institution.jurisdiction, None).map(|p| pack_labels(p, lang));
    let roles: Vec<String> = reach.roles.iter().map(|r| role_title(labels.as_ref(), r)).collect();
    let context = json!({
        "title": institution.name,
        "institution": {"id": institution.id, "name": institution.name},
        "zone_note": zone_note(&state, &institution, today, lang),
        "roles": if roles.is_empty() { None } else {
            Some(word_with(lang, "home.your_roles", &[("roles", roles.join(", "))]))
        },
        "agency": reach.agency && reach.roles.is_empty(),
        "plans": plans,
    });
    Ok(render(&user, "home", context))
}

fn zone_note(state: &AppState, institution: &Institution, today: Date, lang: &str) -> String {
    let pack_zone =
        state.engine.catalog().pack(&institution.jurisdiction, None).and_then(|p| p.manifest.timezone.clone());
    let zone = institution.timezone.clone().or(pack_zone).unwrap_or_else(|| "UTC".into());
    word_with(lang, "home.timezone", &[("zone", zone), ("today", format_date(lang, today))])
}

/// GET `/plans/{id}`: one plan in full, with its history.
async fn plan_page(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let query = super::FormBody::parse(query.unwrap_or_default().as_bytes());
    let fired = query.get("fired").map(str::to_string);
    let (plan, institution, reach) = super::plan(&state, &user, &id).await?;
    let version = super::packs::plan_version(&state.engine, &plan, user.lang, &query);
    let engine = state.engine.clone();
    let lang = user.lang;
    let inst = institution.clone();
    let (panel, today) = blocking(move || {
        let today = today_for(&engine, &inst)?;
        Ok((plan_panel(&engine, &plan, &inst, &reach, today, lang, true)?, today))
    })
    .await
    .map_err(|e| user.api(e))?;
    let context = json!({
        "title": panel["title"],
        "institution": {"id": institution.id, "name": institution.name},
        "zone_note": zone_note(&state, &institution, today, lang),
        "fired": fired.map(|event| {
            let title = panel["event_titles"][&event].as_str().map_or(event.clone(), str::to_string);
            word_with(lang, "plan.fired", &[("event", title)])
        }),
        "plan": panel,
        "version": version,
    });
    Ok(render(&user, "plan", context))
}

/// Everything a plan's panel shows, in `lang`. Blocks (replays, guards).
pub fn plan_panel(
    engine: &Engine,
    plan: &Arc<Plan>,
    institution: &Institution,
    reach: &Reach,
    today: Date,
    lang: &'static str,
    with_history: bool,
) -> ApiResult<Value> {
    let workflow = engine.workflow_of(&plan.meta)?;
    let pack = engine.pack_of(&plan.meta)?;
    let labels = pack_labels(&pack, lang);
    let translate = translator(&pack, lang);
    let title_of = |key: String, fallback: &str| labels.map.get(&key).cloned().unwrap_or_else(|| fallback.to_string());
    let finished = workflow.is_final(&plan.state);
    let state_title = title_of(format!("state.{}", plan.state), &plan.state);

    // Deadlines: the open ones, overdue first.
    let mut due = engine.due(&plan.meta.id, today)?;
    due.sort_by_key(|d| (!matches!(d.status, Status::Overdue { .. }), d.due));
    let deadlines: Vec<Value> = due
        .iter()
        .filter(|d| d.is_open())
        .map(|d| {
            let base = d.deadline.split(':').next().unwrap_or(&d.deadline);
            let what = title_of(format!("deadline.{base}"), &d.what);
            let what = match d.deadline.split_once(':') {
                Some((_, key)) => format!("{what} ({key})"),
                None => what,
            };
            let (class, status) = match d.status {
                Status::Overdue { days_late } => {
                    ("overdue", message(&translate, "deadline.overdue", &[("days", days_late.to_string())]))
                }
                Status::Upcoming { days_left: 0 } => ("upcoming", message(&translate, "deadline.due_today", &[])),
                Status::Upcoming { days_left } => {
                    ("upcoming", message(&translate, "deadline.upcoming", &[("days", days_left.to_string())]))
                }
                Status::Met { on, .. } => {
                    ("met", message(&translate, "deadline.met", &[("date", format_date(lang, on))]))
                }
            };
            json!({
                "what": what,
                "who": role_title(Some(&labels), &d.who),
                "due": format_date(lang, d.due),
                "due_iso": d.due.to_string(),
                "class": class,
                "status": status,
                "basis": labels.map.get(&format!("deadline.{base}.basis")).cloned().unwrap_or_else(|| d.basis.clone()),
            })
        })
        .collect();
    let overdue = deadlines.iter().filter(|d| d["class"] == "overdue").count();

    // What each role the user holds may do now.
    let mut actions = Vec::new();
    if !finished {
        for role in &reach.roles {
            if workflow.role(role).is_none_or(|r| r.read_only) {
                continue;
            }
            let next = engine.next_events(&plan.meta.id, role, today)?;
            let events: Vec<Value> = next
                .iter()
                .map(|n| {
                    let view = NextEventView::localized(n, &workflow, &translate);
                    let anonymous = workflow.event(&n.event).is_some_and(|e| e.anonymous);
                    let href = if anonymous {
                        format!("/plans/{}/questionnaire/{}", plan.meta.id, n.event)
                    } else {
                        format!("/plans/{}/events/{}?as={}", plan.meta.id, n.event, role)
                    };
                    json!({
                        "event": n.event,
                        "title": view.title,
                        "ready": view.ready,
                        "why": view.refusal,
                        "problems": view.problems.iter().map(|p| p.message.clone()).collect::<Vec<_>>(),
                        "href": href,
                        "anonymous": anonymous,
                    })
                })
                .collect();
            actions.push(json!({
                "role": role,
                "role_title": word_with(lang, "plan.next.as", &[("role", role_title(Some(&labels), role))]),
                "events": events,
            }));
        }
    }

    let history = if with_history {
        let events = engine.history(&plan.meta.id, plan.seq.saturating_sub(49).max(1), 50)?;
        events
            .iter()
            .rev()
            .map(|e| {
                if let Some(text) = super::packs::migrated_text(e, lang) {
                    return json!({"seq": e.seq, "text": text, "actor": e.actor});
                }
                let event = title_of(format!("event.{}", e.event), &e.event);
                json!({
                    "seq": e.seq,
                    "documents": super::documents::issued_links(plan, &pack, lang, e.seq),
                    "text": word_with(lang, "plan.history.by", &[
                        ("event", event),
                        ("role", role_title(Some(&labels), &e.role)),
                        ("date", format_date(lang, e.date)),
                    ]),
                    "actor": e.actor,
                })
            })
            .collect::<Vec<_>>()
    } else {
        Vec::new()
    };

    let questionnaires: Vec<Value> = workflow
        .def()
        .events
        .iter()
        .filter(|e| e.anonymous)
        .map(|e| {
            json!({
                "title": title_of(format!("event.{}", e.id), &e.title),
                "results": format!("/plans/{}/questionnaire/{}/results", plan.meta.id, e.id),
            })
        })
        .collect();

    Ok(json!({
        "id": plan.meta.id,
        "href": format!("/plans/{}", plan.meta.id),
        "title": format!("{} — {}", title_of(format!("workflow.{}", workflow.id()), workflow.id()), plan.meta.id),
        "state": word_with(lang, "home.state", &[("state", state_title)]),
        "cycle": word_with(lang, "home.cycle", &[
            ("number", plan.cycle.number.to_string()),
            ("start", format_date(lang, plan.cycle.start)),
        ]),
        "finished": finished,
        "timeline": timeline(&workflow, plan, &labels, lang),
        "deadlines": deadlines,
        "overdue": overdue,
        "actions": actions,
        "agency": reach.agency && reach.roles.is_empty(),
        "history": history,
        "questionnaires": questionnaires,
        "institution": institution.id,
        "event_titles": workflow
            .def()
            .events
            .iter()
            .map(|e| (e.id.clone(), Value::from(title_of(format!("event.{}", e.id), &e.title))))
            .collect::<serde_json::Map<String, Value>>(),
    }))
}

/// An engine sentence (`deadline.overdue`…) through the translator.
fn message(translate: &dyn Fn(&str) -> Option<String>, key: &'static str, args: &[(&str, String)]) -> String {
    let mut message = integritas_core::message::Message::new(key);
    for (name, value) in args {
        message = message.arg(name, value);
    }
    message.render(translate)
}

/// The workflow's states in definition order: phases with their steps,
/// steps outside a phase, and final states; each done (entered this cycle,
/// and left), current, or to come.
fn timeline(workflow: &Workflow, plan: &Plan, labels: &Labels, lang: &str) -> Vec<Value> {
    let def = workflow.def();
    let current = plan.state.as_str();
    let current_phase = workflow.state(current).and_then(|s| s.parent.clone());
    let position = |id: &str| def.states.iter().position(|s| s.id == id).unwrap_or(usize::MAX);
    let here = position(current);
    let status = |id: &str| -> &'static str {
        if id == current || current_phase.as_deref() == Some(id) {
            "current"
        } else if plan.entered.contains_key(id) || position(id) < here {
            "done"
        } else {
            "todo"
        }
    };
    let word_of = |s: &str| match s {
        "current" => word(lang, "plan.current"),
        "done" => word(lang, "plan.done"),
        _ => word(lang, "plan.todo"),
    };
    let title = |id: &str| labels.map.get(&format!("state.{id}")).cloned().unwrap_or_else(|| id.to_string());
    let mut out = Vec::new();
    for s in &def.states {
        if s.parent.is_some() {
            continue;
        }
        let steps: Vec<Value> = def
            .states
            .iter()
            .filter(|c| c.parent.as_deref() == Some(s.id.as_str()))
            .map(|c| {
                let st = status(&c.id);
                json!({"title": title(&c.id), "status": st, "status_word": word_of(st),
                       "entered": plan.entered.get(&c.id).map(|d| format_date(lang, *d))})
            })
            .collect();
        let mut st = status(&s.id);
        if s.kind == StateKind::Phase && st != "current" {
            let all_done = !steps.is_empty() && steps.iter().all(|c| c["status"] == "done");
            st = if all_done { "done" } else { "todo" };
        }
        out.push(json!({
            "title": title(&s.id),
            "status": st,
            "status_word": word_of(st),
            "steps": steps,
            "final": s.kind == StateKind::Final,
        }));
    }
    out
}
