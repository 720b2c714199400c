//! The supervising agency's dashboard: every institution of a jurisdiction
//! with its supervision checks, sortable, filterable (GET parameters) and
//! exportable as CSV, each linking to the institution's page.
//!
//! The checks are the pack's: one column per deadline of the pack's
//! workflows (a coordinator appointed, a plan delivered, a report on time…),
//! each with its status today as the engine computes it — met, met late,
//! overdue, upcoming, or nothing due yet — plus whether the law obliges the
//! institution (those it does not are listed apart). No check says "met"
//! unless an event of the plan met it.
//!
//! It reads the engine's plan summaries ([`integritas_core::summary`]),
//! never whole plans: twenty thousand institutions cost a scan of small
//! records held in memory and a deadline computation each.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use integritas_core::date::Date;
use integritas_core::deadline::{DueItem, Status};
use integritas_core::definition::Workflow;
use integritas_core::engine::Engine;
use integritas_core::pack::Pack;
use integritas_core::store::Institution;
use integritas_core::summary::PlanSummary;
use integritas_exchange::export::{self, Column as ExportColumn, Table};
use integritas_exchange::{Cell, Format};
use serde_json::{Value, json};

use super::exchange::{file_route, written_download};
use super::register::{label, query_pairs, with_params};
use super::{Fail, PageError, PageUser, pack_labels, render, word, word_with};
use crate::error::ApiError;
use crate::state::{AppState, blocking};

pub const TEMPLATES: [(&str, &str); 2] = [
    ("dashboard", include_str!("../../../../templates/pages/dashboard.hbs")),
    ("dashboard_row", include_str!("../../../../templates/pages/dashboard_row.hbs")),
];

/// Institutions on one page of the dashboard.
pub const PAGE_SIZE: usize = 100;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/agency", get(agency_index))
        .route("/agency/{jurisdiction}", get(dashboard_page))
        .route("/agency/{jurisdiction}/export.csv", file_route(dashboard_export, Format::Csv))
        .route("/agency/{jurisdiction}/export.xlsx", file_route(dashboard_export, Format::Xlsx))
        .route("/agency/{jurisdiction}/export.json", file_route(dashboard_export, Format::Json))
}

/// Where a check stands for an institution today.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Check {
    /// Some occurrence is past its date and not met.
    Overdue,
    /// Met, but after its date (and nothing overdue).
    MetLate,
    /// Due later, not met yet.
    Upcoming,
    /// Every occurrence so far met on time.
    Met,
    /// Nothing of it is due in the plan's current state and cycle.
    None,
    /// The institution keeps no plan here: nothing can be told.
    NoPlan,
}

impl Check {
    pub fn id(self) -> &'static str {
        match self {
            Check::Overdue => "overdue",
            Check::MetLate => "met_late",
            Check::Upcoming => "upcoming",
            Check::Met => "met",
            Check::None => "none",
            Check::NoPlan => "no_plan",
        }
    }

    pub fn parse(text: &str) -> Option<Check> {
        [Check::Overdue, Check::MetLate, Check::Upcoming, Check::Met, Check::None, Check::NoPlan]
            .into_iter()
            .find(|c| c.id() == text)
    }
}

/// The status of one deadline from its occurrences this cycle.
pub fn check_of<'a>(items: impl IntoIterator<Item = &'a DueItem>) -> Check {
    let mut worst = Check::None;
    let mut any_met = false;
    let mut upcoming = false;
    for item in items {
        match item.status {
            Status::Overdue { .. } => return Check::Overdue,
            Status::Met { late: true, .. } => worst = Check::MetLate,
            Status::Met { late: false, .. } => any_met = true,
            Status::Upcoming { .. } => upcoming = true,
        }
    }
    if worst == Check::MetLate {
        Check::MetLate
    } else if upcoming {
        Check::Upcoming
    } else if any_met {
        Check::Met
    } else {
        Check::None
    }
}

/// A check column: a deadline of a workflow of the pack.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// `deadline` (or `workflow.deadline` when the pack has several workflows).
    pub key: String,
    pub workflow: String,
    pub deadline: String,
    pub title: String,
}

/// The check columns of a pack: every deadline of its workflows.
pub fn columns(pack: &Pack, labels: &integritas_core::locale::Labels) -> Vec<Column> {
    let several = pack.workflows.len() > 1;
    pack.workflows
        .iter()
        .flat_map(|(wf, workflow)| {
            workflow.def().deadlines.iter().map(move |d| Column {
                key: if several { format!("{wf}.{}", d.id) } else { d.id.clone() },
                workflow: wf.clone(),
                deadline: d.id.clone(),
                title: label(labels, &format!("deadline.{}", d.id), &d.what),
            })
        })
        .collect()
}

/// One institution's line.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub institution: Institution,
    pub plan: Option<String>,
    pub state: Option<String>,
    pub obliged: Option<bool>,
    /// One per column: the check and the date of its next open (else last) occurrence.
    pub checks: Vec<(Check, Option<Date>)>,
}

/// Every institution of the jurisdiction with its checks at `today`
/// (each institution's latest plan of each workflow).
pub fn lines(
    engine: &Engine,
    institutions: &[Institution],
    summaries: &[Arc<PlanSummary>],
    columns: &[Column],
    today: Date,
) -> Vec<Line> {
    // The latest plan of each institution and workflow (plan numbers grow).
    let number = |id: &str| id.rsplit('-').next().and_then(|n| n.parse::<u64>().ok()).unwrap_or(0);
    let mut latest: HashMap<(&str, &str), &PlanSummary> = HashMap::new();
    for summary in summaries {
        let meta = &summary.plan.meta;
        let workflow = meta.workflow.split_once('/').map_or("", |(_, w)| w);
        let key = (meta.institution.as_str(), workflow);
        if latest.get(&key).is_none_or(|s| number(&s.plan.meta.id) < number(&meta.id)) {
            latest.insert(key, summary);
        }
    }
    let mut workflows: HashMap<(String, String), Option<Arc<Workflow>>> = HashMap::new();
    institutions
        .iter()
        .map(|institution| {
            let mut checks = Vec::with_capacity(columns.len());
            let mut first: Option<&PlanSummary> = None;
            let mut schedules: BTreeMap<&str, Vec<DueItem>> = BTreeMap::new();
            for column in columns {
                let summary = latest.get(&(institution.id.as_str(), column.workflow.as_str()));
                let Some(summary) = summary else {
                    checks.push((Check::NoPlan, None));
                    continue;
                };
                first = first.or(Some(summary));
                if !schedules.contains_key(column.workflow.as_str()) {
                    let meta = &summary.plan.meta;
                    let workflow = workflows
                        .entry((meta.workflow.clone(), meta.pack_version.clone()))
                        .or_insert_with(|| engine.workflow_of(meta).ok())
                        .clone();
                    let items = workflow.map(|w| summary.schedule(&w, today)).unwrap_or_default();
                    schedules.insert(column.workflow.as_str(), items);
                }
                let items: Vec<&DueItem> = schedules[column.workflow.as_str()]
                    .iter()
                    .filter(|i| {
                        i.deadline == column.deadline || i.deadline.starts_with(&format!("{}:", column.deadline))
                    })
                    .collect();
                let date = items.iter().find(|i| i.is_open()).or(items.last()).map(|i| i.due);
                checks.push((check_of(items.iter().copied()), date));
            }
            Line {
                institution: institution.clone(),
                plan: first.map(|s| s.plan.meta.id.clone()),
                state: first.map(|s| s.plan.state.clone()),
                obliged: first.and_then(|s| s.plan.obliged),
                checks,
            }
        })
        .collect()
}

/// What the dashboard is asked: filters, order and page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ask {
    pub q: String,
    pub obliged: Option<String>,
    /// (column key, check) pairs: `check=<key>&status=<check>`.
    pub check: Option<(String, Check)>,
    pub sort: String,
    pub desc: bool,
    pub page: usize,
}

impl Ask {
    pub fn of(pairs: &[(String, String)]) -> Ask {
        let get = |k: &str| pairs.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone()).unwrap_or_default();
        let check = match (get("check"), Check::parse(&get("status"))) {
            (key, Some(status)) if !key.is_empty() => Some((key, status)),
            _ => None,
        };
        Ask {
            q: get("q").trim().to_lowercase(),
            obliged: Some(get("obliged")).filter(|o| ["yes", "no", "unknown"].contains(&o.as_str())),
            check,
            sort: get("sort"),
            desc: get("dir") == "desc",
            page: get("page").parse::<usize>().unwrap_or(1).max(1),
        }
    }
}

fn obliged_word(obliged: Option<bool>) -> &'static str {
    match obliged {
        Some(true) => "yes",
        Some(false) => "no",
        None => "unknown",
    }
}

/// The lines that pass the filters, in the asked order.
pub fn select<'a>(lines: &'a [Line], columns: &[Column], ask: &Ask) -> Vec<&'a Line> {
    let check_index = ask.check.as_ref().and_then(|(key, _)| columns.iter().position(|c| c.key == *key));
    let mut out: Vec<&Line> = lines
        .iter()
        .filter(|l| {
            ask.q.is_empty()
                || l.institution.name.to_lowercase().contains(&ask.q)
                || l.institution.id.to_lowercase().contains(&ask.q)
        })
        .filter(|l| ask.obliged.as_deref().is_none_or(|o| obliged_word(l.obliged) == o))
        .filter(|l| match (&ask.check, check_index) {
            (Some((_, status)), Some(i)) => l.checks[i].0 == *status,
            _ => true,
        })
        .collect();
    // By name first (each name lower-cased once), then stably by the asked column.
    out.sort_by_cached_key(|l| (l.institution.name.to_lowercase(), l.institution.id.clone()));
    match ask.sort.as_str() {
        "id" => out.sort_by(|a, b| a.institution.id.cmp(&b.institution.id)),
        "obliged" => out.sort_by_key(|l| obliged_word(l.obliged)),
        "state" => out.sort_by(|a, b| a.state.cmp(&b.state)),
        key => {
            if let Some(i) = columns.iter().position(|c| c.key == key) {
                out.sort_by_key(|l| l.checks[i]);
            }
        }
    }
    if ask.desc {
        out.reverse();
    }
    out
}

/// The columns worth showing: those some institution has something due or
/// met in (a deadline of another cycle, due for nobody now, is left out);
/// all of them when none has.
pub fn visible(lines: &[Line], columns: &[Column]) -> Vec<usize> {
    let told = |i: usize| lines.iter().any(|l| !matches!(l.checks[i].0, Check::None | Check::NoPlan));
    let shown: Vec<usize> = (0..columns.len()).filter(|i| told(*i)).collect();
    if shown.is_empty() { (0..columns.len()).collect() } else { shown }
}

/// Everything a dashboard request needs, read off the runtime.
struct Loaded {
    pack: Arc<Pack>,
    lines: Vec<Line>,
    today: Date,
}

async fn load(state: &AppState, user: &PageUser, jurisdiction: &str) -> Result<Loaded, PageError> {
    let principal = &user.user;
    if !(principal.admin || principal.agency.iter().any(|a| a == jurisdiction)) {
        return Err(user.fail(Fail::NotFound));
    }
    let engine = state.engine.clone();
    let id = jurisdiction.to_string();
    let lang = user.lang;
    let loaded = blocking(move || {
        let catalog = engine.catalog();
        let pack = catalog
            .pack(&id, None)
            .cloned()
            .ok_or_else(|| ApiError::NotFound { kind: "jurisdiction", id: id.clone() })?;
        let zone = pack.manifest.timezone.clone();
        let today = crate::clock::today(zone.as_deref())?;
        let institutions: Vec<Institution> =
            engine.institutions()?.into_iter().filter(|i| i.jurisdiction == id).collect();
        let summaries = engine.summaries()?;
        let labels = pack_labels(&pack, lang);
        let columns = columns(&pack, &labels);
        let lines = lines(&engine, &institutions, &summaries, &columns, today);
        Ok(Loaded { pack, lines, today })
    })
    .await
    .map_err(|e| user.api(e))?;
    Ok(loaded)
}

fn check_word(lang: &str, check: Check) -> String {
    word(lang, &format!("dashboard.check.{}", check.id()))
}

/// The dashboard page's context.
pub fn dashboard_context(pack: &Pack, lines: &[Line], lang: &str, pairs: &[(String, String)], today: Date) -> Value {
    let labels = pack_labels(pack, lang);
    let columns = columns(pack, &labels);
    let ask = Ask::of(pairs);
    let base = format!("/agency/{}", pack.id());
    let selected = select(lines, &columns, &ask);
    let shown = visible(lines, &columns);
    let (apart, main): (Vec<&Line>, Vec<&Line>) = selected.iter().partition(|l| l.obliged == Some(false));
    let pages = main.len().div_ceil(PAGE_SIZE).max(1);
    let page = ask.page.min(pages);
    let row = |l: &Line| {
        json!({
            "id": l.institution.id,
            "name": l.institution.name,
            "href": format!("/institutions/{}", l.institution.id),
            "plan": l.plan,
            "plan_href": l.plan.as_ref().map(|p| format!("/plans/{p}")),
            "state": l.state.as_ref().map(|s| label(&labels, &format!("state.{s}"), s)),
            "obliged": word(lang, &format!("dashboard.obliged.{}", obliged_word(l.obliged))),
            "checks": shown.iter().map(|i| l.checks[*i]).map(|(c, date)| json!({
                "status": c.id(),
                "label": check_word(lang, c),
                "date": date.map(|d| d.to_string()),
            })).collect::<Vec<_>>(),
        })
    };
    let sort_link = |key: &str| {
        let desc = ask.sort == key && !ask.desc;
        with_params(&base, pairs, &[("sort", Some(key)), ("dir", desc.then_some("desc")), ("page", None)])
    };
    let sorted = |key: &str| {
        if ask.sort == key || (key == "name" && ask.sort.is_empty()) {
            if ask.desc { "descending" } else { "ascending" }
        } else {
            "none"
        }
    };
    let heads: Vec<Value> = shown
        .iter()
        .map(|i| &columns[*i])
        .map(|c| json!({"key": c.key, "title": c.title, "href": sort_link(&c.key), "sort": sorted(&c.key)}))
        .collect();
    // How many institutions stand where, for each check (over the selection).
    let totals: Vec<Value> = shown
        .iter()
        .map(|i| (*i, &columns[*i]))
        .map(|(i, c)| {
            let mut counts: BTreeMap<Check, usize> = BTreeMap::new();
            for l in &selected {
                *counts.entry(l.checks[i].0).or_insert(0) += 1;
            }
            json!({
                "title": c.title,
                "counts": counts.iter().map(|(check, n)| json!({
                    "label": check_word(lang, *check),
                    "count": n,
                    "href": with_params(&base, pairs, &[("check", Some(&c.key)), ("status", Some(check.id())), ("page", None)]),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let options = |current: Option<&str>, values: &[(&str, String)]| {
        values.iter().map(|(v, l)| json!({"value": v, "label": l, "selected": current == Some(*v)})).collect::<Vec<_>>()
    };
    let obliged_options = options(
        ask.obliged.as_deref(),
        &["yes", "no", "unknown"].map(|o| (o, word(lang, &format!("dashboard.obliged.{o}")))),
    );
    let check_options: Vec<Value> = shown
        .iter()
        .map(|i| &columns[*i])
        .map(|c| json!({"value": c.key, "label": c.title, "selected": ask.check.as_ref().is_some_and(|(k, _)| *k == c.key)}))
        .collect();
    let statuses = [Check::Overdue, Check::MetLate, Check::Upcoming, Check::Met, Check::None, Check::NoPlan];
    let status_options: Vec<Value> = statuses
        .iter()
        .map(|s| json!({"value": s.id(), "label": check_word(lang, *s), "selected": ask.check.as_ref().is_some_and(|(_, c)| c == s)}))
        .collect();
    let page_link = |p: usize| with_params(&base, pairs, &[("page", Some(&p.to_string()))]);
    let export_link = |ext: &str| json!({"href": with_params(&format!("{base}/export.{ext}"), pairs, &[("page", None)]), "label": ext.to_uppercase()});
    let exports: Vec<Value> = ["csv", "xlsx", "json"].into_iter().map(export_link).collect();
    json!({
        "title": word_with(lang, "dashboard.title", &[("pack", label(&labels, "pack.title", pack.id()))]),
        "today": today.to_string(),
        "action": base,
        "q": ask.q,
        "sort": ask.sort,
        "dir": if ask.desc { "desc" } else { "" },
        "obliged_options": obliged_options,
        "check_options": check_options,
        "status_options": status_options,
        "heads": heads,
        "name_head": {"href": sort_link("name"), "sort": sorted("name")},
        "obliged_head": {"href": sort_link("obliged"), "sort": sorted("obliged")},
        "state_head": {"href": sort_link("state"), "sort": sorted("state")},
        "totals": totals,
        "count": selected.len(),
        "all": lines.len(),
        "rows": main.iter().skip((page - 1) * PAGE_SIZE).take(PAGE_SIZE).map(|l| row(l)).collect::<Vec<_>>(),
        "apart": apart.iter().take(PAGE_SIZE).map(|l| row(l)).collect::<Vec<_>>(),
        "apart_count": apart.len(),
        "apart_more": apart.len() > PAGE_SIZE,
        "apart_all": with_params(&base, &[], &[("obliged", Some("no"))]),
        "page": page,
        "pages": pages,
        "previous": (page > 1).then(|| page_link(page - 1)),
        "next": (page < pages).then(|| page_link(page + 1)),
        "exports": exports,
        "clear": base,
    })
}

/// The selected lines (every page) as a table to export, in the user's
/// language: each check in words with the date it turns on.
pub fn dashboard_table(pack: &Pack, lines: &[Line], lang: &str, pairs: &[(String, String)]) -> Table {
    let labels = pack_labels(pack, lang);
    let columns = columns(pack, &labels);
    let ask = Ask { page: 1, ..Ask::of(pairs) };
    let column = |id: &str, title: String| ExportColumn { id: id.to_string(), title };
    let mut header = vec![
        column("institution_id", word(lang, "dashboard.institution_id")),
        column("institution", word(lang, "dashboard.institution")),
        column("obliged", word(lang, "dashboard.obliged")),
        column("plan", word(lang, "dashboard.plan")),
        column("state", word(lang, "dashboard.state")),
    ];
    let shown = visible(lines, &columns);
    for c in shown.iter().map(|i| &columns[*i]) {
        header.push(column(&c.key, c.title.clone()));
        header.push(column(&format!("{}.date", c.key), format!("{} — {}", c.title, word(lang, "dashboard.date"))));
    }
    let text = |t: String| if t.is_empty() { Cell::Empty } else { Cell::Text(t) };
    let rows: Vec<Vec<Cell>> = select(lines, &columns, &ask)
        .into_iter()
        .map(|l| {
            let mut row = vec![
                text(l.institution.id.clone()),
                text(l.institution.name.clone()),
                text(word(lang, &format!("dashboard.obliged.{}", obliged_word(l.obliged)))),
                text(l.plan.clone().unwrap_or_default()),
                text(l.state.as_ref().map(|s| label(&labels, &format!("state.{s}"), s)).unwrap_or_default()),
            ];
            for (check, date) in shown.iter().map(|i| &l.checks[*i]) {
                row.push(text(check_word(lang, *check)));
                row.push(date.map_or(Cell::Empty, Cell::Date));
            }
            row
        })
        .collect();
    let json_rows: Vec<Value> = rows
        .iter()
        .map(|row| {
            let cells = header.iter().zip(row).map(|(c, cell)| (c.id.clone(), Value::from(cell.text())));
            Value::Object(cells.collect())
        })
        .collect();
    let json = json!({
        "jurisdiction": pack.id(),
        "language": lang,
        "columns": header,
        "rows": json_rows,
    });
    let name = word_with(lang, "dashboard.title", &[("pack", label(&labels, "pack.title", pack.id()))]);
    Table { name, columns: header, rows, json }
}

async fn dashboard_page(
    State(state): State<AppState>,
    user: PageUser,
    Path(jurisdiction): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let loaded = load(&state, &user, &jurisdiction).await?;
    let pairs = query_pairs(query.as_deref());
    let lang = user.lang;
    let context = blocking(move || Ok(dashboard_context(&loaded.pack, &loaded.lines, lang, &pairs, loaded.today)))
        .await
        .map_err(|e| user.api(e))?;
    Ok(render(&user, "dashboard", context))
}

/// The selected institutions (every page) as a CSV, XLSX or JSON file.
async fn dashboard_export(
    state: AppState,
    user: PageUser,
    jurisdiction: String,
    query: Option<String>,
    format: Format,
) -> Result<Response, PageError> {
    let loaded = load(&state, &user, &jurisdiction).await?;
    let pairs = query_pairs(query.as_deref());
    let lang = user.lang;
    let written =
        blocking(move || Ok(export::write(&dashboard_table(&loaded.pack, &loaded.lines, lang, &pairs), format)))
            .await
            .map_err(|e| user.api(e))?;
    written_download(&user, written, format, &format!("{jurisdiction}-institutions"))
}

/// `/agency`: the jurisdictions the user supervises (straight to the one there is).
async fn agency_index(State(state): State<AppState>, user: PageUser) -> Result<Response, PageError> {
    let ids: Vec<String> = if user.user.admin { state.engine.catalog().ids() } else { user.user.agency.clone() };
    match ids.as_slice() {
        [] => Err(user.fail(Fail::NotFound)),
        [one] => Ok(super::see_other(&format!("/agency/{one}"))),
        many => {
            let context = json!({
                "title": word(user.lang, "dashboard.choose"),
                "choices": many.iter().map(|id| json!({"href": format!("/agency/{id}"), "label": id})).collect::<Vec<_>>(),
            });
            Ok(render(&user, "dashboard", context))
        }
    }
}
