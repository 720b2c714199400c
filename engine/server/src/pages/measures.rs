//! The measures tracker of a plan: each measure with the pack's own
//! columns (its owner, its deadline, what it is), its realisation and the
//! reason given, and the trend of its risk (↔ ↑ ↓ or the pack's symbols).
//!
//! Found from the pack's definitions, not from a country's forms:
//! - the realisation table is the one a `Score` reads whose configuration
//!   declares `statuses` (the implementation-degree ABI: rows `id`,
//!   `status`, `reason`), and its score gives the degree of implementation;
//! - the trend is a `Score` whose configuration declares `symbols` (the
//!   status-trend ABI): each risk id with its symbol;
//! - the measures are the table with an `id` column and a date column that
//!   shares the most ids with the realisation rows (the first such table of
//!   the workflow when none is reported yet), other than the report and the
//!   risk register; without one, the report's rows themselves; its first
//!   date column is the deadline a measure is overdue against when no
//!   realisation is recorded.

use std::collections::{BTreeMap, BTreeSet};

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use integritas_core::date::Date;
use integritas_core::definition::{FieldDef, FieldKind, Workflow};
use integritas_core::locale::Labels;
use integritas_core::pack::Pack;
use integritas_core::projection::Plan;
use serde_json::{Value, json};

use super::register::{
    ScoreAction, anonymous_forms, applied_config, download, label, plan_nav, raw, rows, score_actions, shown,
    shown_columns, table, with_plan,
};
use super::{PageError, PageUser, pack_labels, render, word};
use crate::state::AppState;

pub const TEMPLATES: [(&str, &str); 1] = [("measures", include_str!("../../../../templates/pages/measures.hbs"))];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/plans/{id}/measures", get(measures_page))
        .route("/plans/{id}/measures.json", get(measures_json))
}

/// One measure as the tracker shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Tracked {
    pub id: String,
    /// The measure's shown columns, as text (choices by their labels).
    pub cells: Vec<String>,
    pub deadline: Option<Date>,
    /// The realisation status (stored value) and its label.
    pub status: Option<(String, String)>,
    pub reason: String,
    /// The trend symbol of the measure's risk and the plugin's trend word
    /// (`unchanged`, `increased`, `decreased`, `initial`).
    pub trend: Option<(String, String)>,
    /// Past its deadline with no realisation recorded.
    pub overdue: bool,
}

/// The tracker: its columns (titles) and measures, and the degree of implementation.
#[derive(Debug, Clone, PartialEq)]
pub struct Tracker {
    /// The table of measures (`form.field`), as the exports name it.
    pub path: String,
    pub columns: Vec<String>,
    /// Which columns hold dates.
    pub date_columns: Vec<bool>,
    pub measures: Vec<Tracked>,
    pub degree: Option<f64>,
    /// (label, count) of each status.
    pub by_status: Vec<(String, u64)>,
    pub status_title: String,
    pub reason_title: String,
}

fn has_date(table: &FieldDef) -> bool {
    table.columns.iter().any(|c| c.kind == FieldKind::Date)
}

fn has_id(table: &FieldDef) -> bool {
    table.columns.iter().any(|c| c.id == "id")
}

/// The tracker of a plan at `today`; `None` when the workflow has no table of measures.
pub fn tracker(plan: &Plan, workflow: &Workflow, labels: &Labels, today: Date) -> Option<Tracker> {
    let actions = score_actions(workflow);
    let hidden = anonymous_forms(workflow);
    let declares = |a: &ScoreAction, key: &str| applied_config(plan, a).get(key).is_some();
    let realisation = actions.iter().find(|a| declares(a, "statuses") && !hidden.contains(&a.form));
    let trends = actions.iter().filter(|a| declares(a, "symbols"));
    let realised: Vec<&serde_json::Map<String, Value>> = realisation
        .map(|a| rows(plan, &a.form, &a.field).iter().filter_map(Value::as_object).collect())
        .unwrap_or_default();
    let reported: BTreeSet<String> = realised.iter().map(|r| raw(r.get("id"))).collect();
    // The table of measures: an id column and a date, the most ids shared with the report.
    let mut best: Option<(usize, &str, &FieldDef)> = None;
    for form in &workflow.def().forms {
        if hidden.contains(&form.id) {
            continue;
        }
        for field in form.fields.iter().filter(|f| f.kind == FieldKind::Table && has_id(f) && has_date(f)) {
            let scored_as =
                |key: &str| actions.iter().any(|a| a.form == form.id && a.field == field.id && declares(a, key));
            // The realisation report and the risk register are not the table of measures.
            if scored_as("statuses") || scored_as("levels") {
                continue;
            }
            let shared =
                rows(plan, &form.id, &field.id).iter().filter(|r| reported.contains(&raw(r.get("id")))).count();
            if best.is_none_or(|(n, _, _)| shared > n) {
                best = Some((shared, form.id.as_str(), field));
            }
        }
    }
    let (form, measures_table) = match (best, realisation) {
        (Some((_, form, field)), _) => (form.to_string(), field),
        (None, Some(a)) => (a.form.clone(), table(workflow, &a.form, &a.field)?),
        (None, None) => return None,
    };
    let path = format!("{form}.{}", measures_table.id);
    let is_report = realisation.is_some_and(|a| a.form == form && a.field == measures_table.id);
    // The report's own status and reason have columns of their own.
    let columns: Vec<&FieldDef> = shown_columns(measures_table)
        .into_iter()
        .filter(|c| !is_report || (c.id != "status" && c.id != "reason"))
        .collect();
    let deadline_column = measures_table.columns.iter().find(|c| c.kind == FieldKind::Date).map(|c| c.id.clone());
    let status_column =
        realisation.and_then(|a| table(workflow, &a.form, &a.field)?.columns.iter().find(|c| c.id == "status"));
    let realisation_path = realisation.map(|a| format!("{}.{}", a.form, a.field)).unwrap_or_default();
    let by_id: BTreeMap<String, &serde_json::Map<String, Value>> =
        realised.iter().map(|r| (raw(r.get("id")), *r)).collect();
    let mut symbols: BTreeMap<String, (String, String)> = BTreeMap::new();
    for action in trends {
        if let Some(list) = plan.scores.get(&action.output).and_then(|s| s.value.get("risks")?.as_array().cloned()) {
            for risk in list {
                let id = raw(risk.get("id"));
                let symbol = raw(risk.get("symbol"));
                let trend = raw(risk.get("trend"));
                if !symbol.is_empty() {
                    symbols.insert(id, (symbol, trend));
                }
            }
        }
    }
    let mut seen = BTreeSet::new();
    let mut measures: Vec<Tracked> = Vec::new();
    let mut track = |id: String, cells: Vec<String>, deadline: Option<Date>| {
        let report = by_id.get(&id);
        let status = report.map(|r| raw(r.get("status"))).filter(|s| !s.is_empty()).map(|s| {
            let text = status_column
                .map_or_else(|| s.clone(), |c| shown(labels, &realisation_path, c, Some(&Value::String(s.clone()))));
            (s, text)
        });
        let reason = report.map(|r| raw(r.get("reason"))).unwrap_or_default();
        let overdue = status.is_none() && deadline.is_some_and(|d| d < today);
        measures.push(Tracked { trend: symbols.get(&id).cloned(), id, cells, deadline, status, reason, overdue });
    };
    for row in rows(plan, &form, &measures_table.id).iter().filter_map(Value::as_object) {
        let id = raw(row.get("id"));
        seen.insert(id.clone());
        let cells = columns.iter().map(|c| shown(labels, &path, c, row.get(&c.id))).collect();
        let deadline = deadline_column.as_ref().and_then(|c| row.get(c)?.as_str()?.parse().ok());
        track(id, cells, deadline);
    }
    // Measures reported but not in the table of measures still show.
    for row in &realised {
        let id = raw(row.get("id"));
        if seen.insert(id.clone()) {
            let mut cells = vec![String::new(); columns.len()];
            if let Some(i) = columns.iter().position(|c| c.id == "id") {
                cells[i] = id.clone();
            }
            track(id, cells, None);
        }
    }
    let score = realisation.and_then(|a| plan.scores.get(&a.output));
    let degree = score.and_then(|s| s.value.get("degree_percent")?.as_f64());
    let by_status = score
        .and_then(|s| s.value.get("by_status")?.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .map(|s| {
            let name = raw(s.get("status"));
            let text = status_column.map_or_else(
                || name.clone(),
                |c| shown(labels, &realisation_path, c, Some(&Value::String(name.clone()))),
            );
            (text, s.get("count").and_then(Value::as_u64).unwrap_or(0))
        })
        .collect();
    let column_title = |id: &str, fallback: &str| label(labels, &format!("field.{realisation_path}.{id}"), fallback);
    Some(Tracker {
        columns: columns.iter().map(|c| label(labels, &format!("field.{path}.{}", c.id), &c.title)).collect(),
        path: path.clone(),
        date_columns: columns.iter().map(|c| c.kind == FieldKind::Date).collect(),
        measures,
        degree,
        by_status,
        status_title: status_column.map_or_else(String::new, |c| column_title("status", &c.title)),
        reason_title: realisation
            .and_then(|a| table(workflow, &a.form, &a.field)?.columns.iter().find(|c| c.id == "reason"))
            .map_or_else(String::new, |c| column_title("reason", &c.title)),
    })
}

/// The page's context.
pub fn measures_context(plan: &Plan, workflow: &Workflow, pack: &Pack, lang: &str, today: Date) -> Value {
    let labels = pack_labels(pack, lang);
    let tracker = tracker(plan, workflow, &labels, today);
    json!({
        "title": word(lang, "measures.title"),
        "nav": plan_nav(&plan.meta.id, lang, "measures"),
        "json": format!("/plans/{}/measures.json", plan.meta.id),
        "import": format!("/plans/{}/import", plan.meta.id),
        "exports": format!("/plans/{}/exports", plan.meta.id),
        "tracker": tracker.map(|t| json!({
            "files": super::exchange::export_links(&plan.meta.id, &t.path),
            "columns": t.columns,
            "status_title": if t.status_title.is_empty() { word(lang, "measures.realisation") } else { t.status_title },
            "reason_title": if t.reason_title.is_empty() { word(lang, "measures.reason") } else { t.reason_title },
            "degree": t.degree.map(|d| format!("{d:.0}")),
            "by_status": t.by_status.iter().map(|(s, n)| json!({"status": s, "count": n})).collect::<Vec<_>>(),
            "overdue": t.measures.iter().filter(|m| m.overdue).count(),
            "measures": t.measures.iter().map(|m| json!({
                "id": m.id,
                "cells": m.cells.iter().zip(&t.date_columns).map(|(text, date)| json!({"text": text, "date": date})).collect::<Vec<_>>(),
                "status": m.status.as_ref().map(|(_, text)| text),
                "reason": m.reason,
                "trend": m.trend.as_ref().map(|(symbol, trend)| json!({"symbol": symbol, "word": word(lang, &format!("trend.{trend}"))})),
                "overdue": m.overdue,
            })).collect::<Vec<_>>(),
        })),
    })
}

async fn measures_page(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let lang = user.lang;
    let context = with_plan(&state, &user, &id, move |plan, workflow, pack, today| {
        measures_context(plan, workflow, pack, lang, today)
    })
    .await?;
    Ok(render(&user, "measures", context))
}

async fn measures_json(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let lang = user.lang;
    let json = with_plan(&state, &user, &id, move |plan, workflow, pack, today| {
        let labels = pack_labels(pack, lang);
        tracker(plan, workflow, &labels, today).map(|t| {
            json!({
                "language": lang,
                "columns": t.columns,
                "degree_percent": t.degree,
                "measures": t.measures.iter().map(|m| json!({
                    "id": m.id, "cells": m.cells, "deadline": m.deadline, "status": m.status.as_ref().map(|(v, _)| v),
                    "reason": m.reason, "trend": m.trend.as_ref().map(|(s, _)| s), "overdue": m.overdue,
                })).collect::<Vec<_>>(),
            })
        })
    })
    .await?;
    let Some(json) = json else { return Err(user.fail(super::Fail::NotFound)) };
    Ok(download(
        "application/json",
        &format!("{id}-measures.json"),
        serde_json::to_vec_pretty(&json).unwrap_or_default(),
    ))
}
