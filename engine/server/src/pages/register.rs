//! The risk register of a plan, with filters and its heat map.
//!
//! Nothing here names a country: the register is the table a matrix-scoring
//! `Score` action reads (its configuration declares `probability`,
//! `impact` and `levels`, the risk-matrix plugin's ABI), the grid and the
//! bands are that configuration (as the score applied it), the colours are
//! the pack's `presentation`, every column, choice and level is labelled
//! by the pack. Filters are GET parameters named by column ids, so the page
//! works without JavaScript and a filtered view is a link.

use std::collections::{BTreeMap, BTreeSet};

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use integritas_core::definition::{Action, FieldDef, FieldKind, Workflow};
use integritas_core::locale::Labels;
use integritas_core::pack::Pack;
use integritas_core::projection::Plan;
use serde_json::{Map, Value, json};

use integritas_exchange::export;
use integritas_exchange::{Cell, ExchangeError, Format, TablePath};

use super::exchange::{file_route, written_download};

use super::heatmap::{self, Band, Grid};
use super::{PageError, PageUser, pack_labels, render, word, word_with};
use crate::state::{AppState, blocking};

/// The templates of this module: (name, source).
pub const TEMPLATES: [(&str, &str); 1] = [("register", include_str!("../../../../templates/pages/register.hbs"))];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/plans/{id}/register", get(register_page))
        .route("/plans/{id}/register.csv", file_route(register_file, Format::Csv))
        .route("/plans/{id}/register.json", file_route(register_file, Format::Json))
        .route("/plans/{id}/register.xlsx", file_route(register_file, Format::Xlsx))
}

// ------------------------------------------------------------ the pack

/// A `Score` action of a workflow: the table it reads, the output it
/// writes and the configuration it passes.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreAction {
    pub form: String,
    pub field: String,
    pub output: String,
    pub config: Value,
}

/// Every `Score` action of the workflow, one per output (the first found).
pub fn score_actions(workflow: &Workflow) -> Vec<ScoreAction> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for transition in &workflow.def().transitions {
        for action in &transition.actions {
            if let Action::Score { input, output, config, .. } = action
                && let Some((form, field)) = input.split_once('.')
                && seen.insert(output.clone())
            {
                out.push(ScoreAction {
                    form: form.to_string(),
                    field: field.to_string(),
                    output: output.clone(),
                    config: config.clone().unwrap_or(Value::Null),
                });
            }
        }
    }
    out
}

/// The configuration the score of `action` was computed with (as recorded
/// with it), else the one the workflow declares.
pub fn applied_config<'a>(plan: &'a Plan, action: &'a ScoreAction) -> &'a Value {
    plan.scores.get(&action.output).and_then(|s| s.config.as_ref()).unwrap_or(&action.config)
}

/// A table column of the workflow's forms.
pub fn table<'a>(workflow: &'a Workflow, form: &str, field: &str) -> Option<&'a FieldDef> {
    workflow.form(form)?.fields.iter().find(|f| f.id == field && f.kind == FieldKind::Table)
}

/// The rows of a table in the plan's data.
pub fn rows<'a>(plan: &'a Plan, form: &str, field: &str) -> &'a [Value] {
    plan.data.get(form).and_then(|f| f.get(field)).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// Forms that anonymous events fill: never shown row by row.
pub fn anonymous_forms(workflow: &Workflow) -> BTreeSet<String> {
    workflow.def().events.iter().filter(|e| e.anonymous).flat_map(|e| e.fills.iter().cloned()).collect()
}

/// A risk matrix as a scoring configuration declares it.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    pub probability: (i64, i64),
    pub impact: (i64, i64),
    /// (name, min, max), lowest first.
    pub levels: Vec<(String, i64, i64)>,
}

impl Matrix {
    /// The matrix of a configuration with `probability`, `impact` and `levels`.
    pub fn of(config: &Value) -> Option<Matrix> {
        let scale = |key: &str| -> Option<(i64, i64)> {
            let s = config.get(key)?;
            let (min, max) = (s.get("min")?.as_i64()?, s.get("max")?.as_i64()?);
            // The plugin refuses more than 100 steps; so does a page.
            (min <= max && max - min < 100).then_some((min, max))
        };
        let levels = config
            .get("levels")?
            .as_array()?
            .iter()
            .map(|l| Some((l.get("name")?.as_str()?.to_string(), l.get("min")?.as_i64()?, l.get("max")?.as_i64()?)))
            .collect::<Option<Vec<_>>>()?;
        Some(Matrix { probability: scale("probability")?, impact: scale("impact")?, levels })
    }
}

/// The text of a stored value as a person reads it: a choice by its label.
pub fn shown(labels: &Labels, path: &str, column: &FieldDef, value: Option<&Value>) -> String {
    let choice =
        |v: &str| labels.map.get(&format!("choice.{path}.{}.{v}", column.id)).cloned().unwrap_or(v.to_string());
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) if column.kind == FieldKind::Choice => choice(s),
        Some(Value::Array(items)) => {
            items.iter().map(|i| i.as_str().map_or_else(|| i.to_string(), choice)).collect::<Vec<_>>().join("; ")
        }
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(other) => other.to_string(),
    }
}

/// A stored value as the text filters compare.
pub fn raw(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// A label of the pack, or `fallback`.
pub fn label(labels: &Labels, key: &str, fallback: &str) -> String {
    labels.map.get(key).cloned().unwrap_or_else(|| fallback.to_string())
}

/// A value word (a level's name) in the page's language.
pub fn value_label(labels: &Labels, word: &str) -> String {
    label(labels, &format!("value.{word}"), word)
}

/// The colour of a value word: the pack's, else the fallback ramp.
pub fn colour(pack: &Pack, word: &str, index: usize, count: usize) -> String {
    pack.manifest.presentation.colours.get(word).cloned().unwrap_or_else(|| heatmap::fallback_colour(index, count))
}

/// The columns a page shows of a table: every column but long texts,
/// except the first long text (what the row is about).
pub fn shown_columns(table: &FieldDef) -> Vec<&FieldDef> {
    let first_long = table.columns.iter().position(|c| c.kind == FieldKind::LongText);
    table
        .columns
        .iter()
        .enumerate()
        .filter(|(i, c)| c.kind != FieldKind::LongText || Some(*i) == first_long)
        .map(|(_, c)| c)
        .collect()
}

// ---------------------------------------------------------- the model

/// The GET parameters of a page, as pairs.
pub fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    query.map_or_else(Vec::new, |q| {
        form_urlencoded::parse(q.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
    })
}

/// A link to this page with some parameters changed (`None` removes one).
pub fn with_params(base: &str, pairs: &[(String, String)], changes: &[(&str, Option<&str>)]) -> String {
    let mut kept: Vec<(String, String)> =
        pairs.iter().filter(|(k, _)| !changes.iter().any(|(c, _)| c == k) && k != "lang").cloned().collect();
    for (name, value) in changes {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            kept.push(((*name).to_string(), v.to_string()));
        }
    }
    if kept.is_empty() {
        return base.to_string();
    }
    format!("{base}?{}", form_urlencoded::Serializer::new(String::new()).extend_pairs(kept).finish())
}

/// One risk of the register as the page and the exports show it.
#[derive(Debug, Clone, PartialEq)]
pub struct Risk {
    pub id: String,
    /// The stored row.
    pub row: Map<String, Value>,
    pub score: Option<i64>,
    pub level: Option<String>,
    /// Zero-based (row, column) of the heat map.
    pub cell: Option<(usize, usize)>,
}

/// A register: the scored table and what the score says of each row.
#[derive(Debug, Clone)]
pub struct Register<'a> {
    pub action: ScoreAction,
    pub table: &'a FieldDef,
    pub matrix: Matrix,
    pub risks: Vec<Risk>,
    /// The score's date, when the rows were scored.
    pub scored: Option<integritas_core::date::Date>,
}

/// The registers of a plan: each table a matrix score reads, with its rows
/// and their scores (an unscored row has none).
pub fn registers<'a>(plan: &Plan, workflow: &'a Workflow) -> Vec<Register<'a>> {
    let hidden = anonymous_forms(workflow);
    score_actions(workflow)
        .into_iter()
        .filter(|a| !hidden.contains(&a.form))
        .filter_map(|action| {
            let matrix = Matrix::of(applied_config(plan, &action))?;
            let table = table(workflow, &action.form, &action.field)?;
            let record = plan.scores.get(&action.output);
            let scored: BTreeMap<String, &Value> = record
                .and_then(|r| r.value.get("risks")?.as_array())
                .map(|list| list.iter().filter_map(|r| Some((r.get("id")?.as_str()?.to_string(), r))).collect())
                .unwrap_or_default();
            let risks = rows(plan, &action.form, &action.field)
                .iter()
                .filter_map(Value::as_object)
                .map(|row| {
                    let id = raw(row.get("id"));
                    let s = scored.get(&id);
                    let cell = s.and_then(|s| {
                        let c = s.get("cell")?;
                        Some((
                            usize::try_from(c.get("row")?.as_i64()?).ok()?,
                            usize::try_from(c.get("column")?.as_i64()?).ok()?,
                        ))
                    });
                    Risk {
                        id,
                        row: row.clone(),
                        score: s.and_then(|s| s.get("score")?.as_i64()),
                        level: s.and_then(|s| Some(s.get("level")?.as_str()?.to_string())),
                        cell,
                    }
                })
                .collect();
            Some(Register { action, table, matrix, risks, scored: record.map(|r| r.date) })
        })
        .collect()
}

/// Most distinct values a text column may hold to be offered as a filter
/// (a list longer than this is no help to choose from).
pub const MAX_TEXT_OPTIONS: usize = 50;

/// The filters a register offers: each choice column, each short text
/// column with few distinct values (an area, an owner), and the level.
pub fn filter_columns<'a>(register: &Register<'a>) -> Vec<&'a FieldDef> {
    register
        .table
        .columns
        .iter()
        .filter(|c| c.id != "id" && c.id != "level" && c.id != "cell")
        .filter(|c| match c.kind {
            FieldKind::Choice => true,
            FieldKind::Text => {
                let values: BTreeSet<String> = register.risks.iter().map(|r| raw(r.row.get(&c.id))).collect();
                !values.is_empty() && values.len() <= MAX_TEXT_OPTIONS
            }
            _ => false,
        })
        .collect()
}

/// Whether a risk passes the GET filters (`column=value`, `level=`, `cell=row-column`).
pub fn passes(register: &Register<'_>, risk: &Risk, pairs: &[(String, String)]) -> bool {
    let columns = filter_columns(register);
    pairs.iter().filter(|(_, v)| !v.is_empty()).all(|(key, value)| match key.as_str() {
        "level" => risk.level.as_deref() == Some(value.as_str()),
        "cell" => parse_cell(value).is_some_and(|cell| risk.cell == Some(cell)),
        name => match columns.iter().find(|c| c.id == name) {
            Some(_) => raw(risk.row.get(name)) == *value,
            // Unknown parameters (the language, the register's output) filter nothing.
            None => true,
        },
    })
}

fn parse_cell(text: &str) -> Option<(usize, usize)> {
    let (r, c) = text.split_once('-')?;
    Some((r.parse().ok()?, c.parse().ok()?))
}

/// The heat map grid of a register, labelled and coloured by the pack.
pub fn grid(register: &Register<'_>, pack: &Pack, labels: &Labels) -> Grid {
    let m = &register.matrix;
    let probability: Vec<i64> = (m.probability.0..=m.probability.1).collect();
    let impact: Vec<i64> = (m.impact.0..=m.impact.1).collect();
    let mut risks = vec![vec![Vec::new(); impact.len()]; probability.len()];
    for risk in &register.risks {
        if let Some((r, c)) = risk.cell
            && let Some(cell) = risks.get_mut(r).and_then(|row: &mut Vec<Vec<String>>| row.get_mut(c))
        {
            cell.push(risk.id.clone());
        }
    }
    let path = format!("{}.{}", register.action.form, register.action.field);
    let title = |column: &str| {
        let fallback = m_label(&register.action.config, column);
        label(labels, &format!("field.{path}.{column}"), &fallback)
    };
    let count = m.levels.len();
    Grid {
        probability,
        impact,
        probability_title: title("probability"),
        impact_title: title("impact"),
        risks,
        bands: m
            .levels
            .iter()
            .enumerate()
            .map(|(i, (name, min, max))| Band {
                name: name.clone(),
                label: value_label(labels, name),
                min: *min,
                max: *max,
                colour: colour(pack, name, i, count),
            })
            .collect(),
    }
}

fn m_label(config: &Value, axis: &str) -> String {
    config.get(axis).and_then(|a| a.get("label")).and_then(Value::as_str).unwrap_or(axis).to_string()
}

/// The register page's context.
pub fn register_context(
    plan: &Plan,
    workflow: &Workflow,
    pack: &Pack,
    lang: &str,
    pairs: &[(String, String)],
) -> Value {
    let labels = pack_labels(pack, lang);
    let all = registers(plan, workflow);
    let base = format!("/plans/{}/register", plan.meta.id);
    let chosen = pairs.iter().find(|(k, _)| k == "register").map(|(_, v)| v.as_str());
    let index = chosen.and_then(|c| all.iter().position(|r| r.action.output == c)).unwrap_or(0);
    let choices: Vec<Value> = all
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let path = format!("{}.{}", r.action.form, r.action.field);
            json!({
                "label": label(&labels, &format!("field.{path}"), &r.table.title),
                "href": with_params(&base, &[], &[("register", Some(&r.action.output))]),
                "current": i == index,
            })
        })
        .collect();
    let Some(register) = all.get(index) else {
        return json!({"title": word(lang, "register.title"), "registers": choices, "register": null});
    };
    let path = format!("{}.{}", register.action.form, register.action.field);
    let grid = grid(register, pack, &labels);
    let columns = shown_columns(register.table);
    let filters: Vec<Value> = filter_columns(register)
        .into_iter()
        .map(|c| {
            let current = pairs.iter().find(|(k, _)| *k == c.id).map(|(_, v)| v.clone()).unwrap_or_default();
            let values: BTreeSet<String> = if c.kind == FieldKind::Choice {
                c.choices.iter().cloned().collect()
            } else {
                register.risks.iter().map(|r| raw(r.row.get(&c.id))).filter(|v| !v.is_empty()).collect()
            };
            let mut ordered: Vec<String> =
                if c.kind == FieldKind::Choice { c.choices.clone() } else { values.into_iter().collect() };
            ordered.dedup();
            json!({
                "name": c.id,
                "label": label(&labels, &format!("field.{path}.{}", c.id), &c.title),
                "options": ordered.iter().map(|v| json!({
                    "value": v,
                    "label": shown(&labels, &path, c, Some(&Value::String(v.clone()))),
                    "selected": *v == current,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let level_now = pairs.iter().find(|(k, _)| k == "level").map(|(_, v)| v.as_str()).unwrap_or("");
    let level_filter = json!({
        "name": "level",
        "label": word(lang, "register.level"),
        "options": grid.bands.iter().map(|b| json!({"value": b.name, "label": b.label, "selected": b.name == level_now})).collect::<Vec<_>>(),
    });
    let cell = pairs.iter().find(|(k, _)| k == "cell").and_then(|(_, v)| parse_cell(v));
    let shown_risks: Vec<&Risk> = register.risks.iter().filter(|r| passes(register, r, pairs)).collect();
    let band_of = |name: &str| grid.bands.iter().find(|b| b.name == name);
    let rows: Vec<Value> = shown_risks
        .iter()
        .map(|risk| {
            let cells: Vec<Value> = columns
                .iter()
                .map(|c| json!({"text": shown(&labels, &path, c, risk.row.get(&c.id)), "date": c.kind == FieldKind::Date}))
                .collect();
            let level = risk.level.as_deref().map(|l| {
                let band = band_of(l);
                json!({
                    "name": l,
                    "label": value_label(&labels, l),
                    "swatch": band.map(|b| heatmap::swatch(&b.colour)).unwrap_or_default(),
                })
            });
            json!({"id": risk.id, "cells": cells, "score": risk.score, "level": level})
        })
        .collect();
    let counts: BTreeMap<&str, usize> =
        register.risks.iter().filter_map(|r| r.level.as_deref()).fold(BTreeMap::new(), |mut m, l| {
            *m.entry(l).or_insert(0) += 1;
            m
        });
    let legend: Vec<Value> = grid
        .bands
        .iter()
        .map(|b| {
            json!({
                "label": b.label,
                "range": format!("{}–{}", b.min, b.max),
                "swatch": heatmap::swatch(&b.colour),
                "count": counts.get(b.name.as_str()).copied().unwrap_or(0),
                "href": with_params(&base, pairs, &[("level", Some(&b.name)), ("cell", None)]),
            })
        })
        .collect();
    let scored = register.scored.is_some();
    let svg = scored.then(|| {
        let (pt, it) = (grid.probability_title.clone(), grid.impact_title.clone());
        let cell_name = move |p: i64, i: i64, ids: &[String], level: &str| {
            word_with(
                lang,
                if ids.is_empty() { "heatmap.cell_empty" } else { "heatmap.cell" },
                &[
                    ("probability", pt.clone()),
                    ("p", p.to_string()),
                    ("impact", it.clone()),
                    ("i", i.to_string()),
                    ("count", ids.len().to_string()),
                    ("ids", ids.join(", ")),
                    ("level", level.to_string()),
                ],
            )
        };
        let words = heatmap::Words {
            title: word(lang, "heatmap.title"),
            description: word_with(
                lang,
                "heatmap.desc",
                &[
                    ("rows", grid.probability.len().to_string()),
                    ("columns", grid.impact.len().to_string()),
                    ("probability", grid.probability_title.clone()),
                    ("impact", grid.impact_title.clone()),
                    ("risks", register.risks.iter().filter(|r| r.cell.is_some()).count().to_string()),
                ],
            ),
            cell: &cell_name,
        };
        heatmap::svg(&grid, &words, &|r, c| {
            format!("{}#register", with_params(&base, pairs, &[("cell", Some(&format!("{r}-{c}"))), ("level", None)]))
        })
    });
    let active_cell = cell.map(|(r, c)| {
        json!({
            "label": word_with(lang, "register.cell_filter", &[
                ("probability", grid.probability_title.clone()),
                ("p", grid.probability.get(r).map(ToString::to_string).unwrap_or_default()),
                ("impact", grid.impact_title.clone()),
                ("i", grid.impact.get(c).map(ToString::to_string).unwrap_or_default()),
            ]),
            "clear": with_params(&base, pairs, &[("cell", None)]),
        })
    });
    let filtered = pairs.iter().any(|(k, v)| k != "register" && k != "lang" && !v.is_empty());
    let title = label(&labels, &format!("field.{path}"), &register.table.title);
    json!({
        "title": word(lang, "register.title"),
        "plan": {"id": plan.meta.id, "institution": plan.meta.institution},
        "nav": plan_nav(&plan.meta.id, lang, "register"),
        "registers": if choices.len() > 1 { Value::Array(choices) } else { Value::Array(Vec::new()) },
        "register": {
            "output": register.action.output,
            "title": title,
            "heatmap": svg,
            "scored_on": register.scored.map(|d| d.to_string()),
            "legend": legend,
            "filters": filters,
            "level_filter": level_filter,
            "active_cell": active_cell,
            "filtered": filtered,
            "clear": with_params(&base, &[], &[("register", (chosen.is_some()).then_some(register.action.output.as_str()))]),
            "action": base,
            "keep": pairs.iter().filter(|(k, _)| k == "register" || k == "cell").map(|(k, v)| json!({"name": k, "value": v})).collect::<Vec<_>>(),
            "columns": columns.iter().map(|c| json!({"label": label(&labels, &format!("field.{path}.{}", c.id), &c.title)})).collect::<Vec<_>>(),
            "rows": rows,
            "shown": shown_risks.len(),
            "total": register.risks.len(),
            "csv": with_params(&format!("/plans/{}/register.csv", plan.meta.id), pairs, &[]),
            "json": with_params(&format!("/plans/{}/register.json", plan.meta.id), pairs, &[]),
            "xlsx": with_params(&format!("/plans/{}/register.xlsx", plan.meta.id), pairs, &[]),
            "import": format!("/plans/{}/import", plan.meta.id),
            "exports": format!("/plans/{}/exports", plan.meta.id),
        },
    })
}

/// The menu of a plan's pages (the layout's `nav`).
pub fn plan_nav(plan: &str, lang: &str, current: &str) -> Value {
    let items = [
        ("plan", format!("/plans/{plan}"), "plan.nav.plan"),
        ("register", format!("/plans/{plan}/register"), "plan.nav.register"),
        ("measures", format!("/plans/{plan}/measures"), "plan.nav.measures"),
        ("documents", format!("/plans/{plan}/documents"), "plan.nav.documents"),
    ];
    Value::Array(
        items
            .iter()
            .map(|(id, href, key)| json!({"href": href, "label": word(lang, key), "current": *id == current}))
            .collect(),
    )
}

// ------------------------------------------------------------ exports

/// The register's rows that pass the filters, as a sheet: the table's
/// columns through the exchange crate's export (choices as labels, dates
/// as dates), then the score and the level of each row. The JSON form
/// keeps the rows as stored, with their score and level.
pub fn register_table(
    plan: &Plan,
    workflow: &Workflow,
    pack: &Pack,
    lang: &str,
    pairs: &[(String, String)],
) -> Option<export::Table> {
    let labels = pack_labels(pack, lang);
    let all = registers(plan, workflow);
    let chosen = pairs.iter().find(|(k, _)| k == "register").map(|(_, v)| v.as_str());
    let register = chosen.and_then(|c| all.iter().find(|r| r.action.output == c)).or(all.first())?;
    let path = TablePath { form: register.action.form.clone(), field: register.action.field.clone() };
    let risks: Vec<&Risk> = register.risks.iter().filter(|r| passes(register, r, pairs)).collect();
    let stored: Vec<Value> = risks.iter().map(|r| Value::Object(r.row.clone())).collect();
    let mut data = Map::new();
    data.insert(path.form.clone(), json!({ path.field.as_str(): stored }));
    // The registers are never anonymous answers (`registers` leaves those out).
    let mut table = export::table_in(workflow, &data, &path, &labels).ok()?;
    table.columns.push(export::Column { id: "score".into(), title: word(lang, "register.score") });
    table.columns.push(export::Column { id: "level".into(), title: word(lang, "register.level") });
    for (cells, risk) in table.rows.iter_mut().zip(&risks) {
        cells.push(risk.score.map_or(Cell::Empty, |s| Cell::Number(s as f64)));
        cells.push(risk.level.as_deref().map_or(Cell::Empty, |l| Cell::Text(value_label(&labels, l))));
    }
    let json_rows: Vec<Value> = risks
        .iter()
        .map(|risk| {
            let mut row = risk.row.clone();
            row.insert("score".into(), json!(risk.score));
            row.insert("level".into(), json!(risk.level));
            Value::Object(row)
        })
        .collect();
    table.json = json!({
        "table": path.to_string(),
        "language": lang,
        "columns": table.columns,
        "rows": json_rows,
    });
    Some(table)
}

/// A download: the bytes with their type and file name.
pub fn download(content_type: &'static str, name: &str, body: impl Into<axum::body::Body>) -> Response {
    let mut response = axum::body::Body::into_response(body.into());
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    let safe: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || ".-_".contains(c) { c } else { '_' }).collect();
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{safe}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

// ------------------------------------------------------------- routes

/// Runs `build` on the plan with its workflow and pack, off the runtime.
pub async fn with_plan<T: Send + 'static>(
    state: &AppState,
    user: &PageUser,
    id: &str,
    build: impl FnOnce(&Plan, &Workflow, &Pack, integritas_core::date::Date) -> T + Send + 'static,
) -> Result<T, PageError> {
    let (plan, institution, _) = super::plan(state, user, id).await?;
    let engine = state.engine.clone();
    blocking(move || {
        let workflow = engine.workflow_of(&plan.meta)?;
        let pack = engine.pack_of(&plan.meta)?;
        let today = crate::api::plans::today_for(&engine, &institution)?;
        Ok(build(&plan, &workflow, &pack, today))
    })
    .await
    .map_err(|e| user.api(e))
}

async fn register_page(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let pairs = query_pairs(query.as_deref());
    let lang = user.lang;
    let context = with_plan(&state, &user, &id, move |plan, workflow, pack, _| {
        register_context(plan, workflow, pack, lang, &pairs)
    })
    .await?;
    Ok(render(&user, "register", context))
}

/// The register as a file of `format`, filtered as the page is.
async fn register_file(
    state: AppState,
    user: PageUser,
    id: String,
    query: Option<String>,
    format: Format,
) -> Result<Response, PageError> {
    let pairs = query_pairs(query.as_deref());
    let lang = user.lang;
    let written = with_plan(&state, &user, &id, move |plan, workflow, pack, _| {
        let table = register_table(plan, workflow, pack, lang, &pairs);
        table
            .ok_or_else(|| ExchangeError::NotFound("the plan has no risk register".into()))
            .and_then(|t| export::write(&t, format))
    })
    .await?;
    written_download(&user, written, format, &format!("{id}-register"))
}
