//! Deadlines at a given date: what is due, what is overdue, what was met
//! late. Computed from the definition and the plan's history every time;
//! "overdue" is never stored, so moving the clock is enough to test it.
//!
//! A deadline is met by one of its `met_by` events, on that event's date
//! or, when the deadline says so, on a date written in a form (the day a
//! decision was delivered, not the day it was entered), or when every row
//! of a table is done. A deadline may apply in some cycles only, recur
//! yearly or every N years (from a state or from a date in a form), bind
//! each yearly act to its period ("the report for the previous year"), or
//! fall once per row of a table (each measure's own term).

use serde::Serialize;
use serde_json::{Map, Value};

use crate::date::Date;
use crate::definition::{Anchor, DeadlineDef, Due, MetAt, Workflow};
use crate::projection::{Meeting, Plan};

/// Where one occurrence of a deadline stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Status {
    /// Not met, due today or later.
    Upcoming { days_left: i64 },
    /// Not met, past its date.
    Overdue { days_late: i64 },
    /// Met on `on`; `late` when after the due date.
    Met { on: Date, late: bool },
}

/// One occurrence of a deadline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DueItem {
    /// The deadline's id; `id:key` for the occurrence of one row.
    pub deadline: String,
    pub what: String,
    pub who: String,
    pub due: Date,
    #[serde(flatten)]
    pub status: Status,
    /// Where the date comes from (an article, or the pack's own reading).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub basis: String,
}

impl DueItem {
    pub fn is_open(&self) -> bool {
        !matches!(self.status, Status::Met { .. })
    }

    /// The item with its words in a language: `what` from `deadline.<id>`
    /// (a row's key kept), `basis` from `deadline.<id>.basis`.
    pub fn translated(mut self, translate: &dyn Fn(&str) -> Option<String>) -> DueItem {
        let (id, row) = self.deadline.split_once(':').map_or((self.deadline.as_str(), None), |(d, k)| (d, Some(k)));
        if let Some(what) = translate(&format!("deadline.{id}")) {
            self.what = match row {
                Some(key) => format!("{what} ({key})"),
                None => what,
            };
        }
        if let Some(basis) = translate(&format!("deadline.{id}.basis")) {
            self.basis = basis;
        }
        self
    }
}

/// Every occurrence of every tracked deadline of the plan's current cycle,
/// up to the first not yet due, sorted by date.
///
/// In a final state only what was met stays: nothing is due or overdue any more.
pub fn schedule(workflow: &Workflow, plan: &Plan, today: Date) -> Vec<DueItem> {
    let closed = workflow.is_final(&plan.state);
    let mut items: Vec<DueItem> = workflow.def().deadlines.iter().flat_map(|d| occurrences(d, plan, today)).collect();
    if closed {
        items.retain(|i| !i.is_open());
    }
    items.sort_by(|a, b| (a.due, &a.deadline).cmp(&(b.due, &b.deadline)));
    items
}

/// Only what still needs doing: upcoming and overdue items. A plan in a
/// final state owes nothing more.
pub fn open_items(workflow: &Workflow, plan: &Plan, today: Date) -> Vec<DueItem> {
    if workflow.is_final(&plan.state) {
        return Vec::new();
    }
    schedule(workflow, plan, today).into_iter().filter(DueItem::is_open).collect()
}

/// The due date of a deadline this cycle, for conditions ("only after the
/// implementation deadline"): its first open occurrence, else its last.
pub fn due_date(workflow: &Workflow, plan: &Plan, id: &str, today: Date) -> Option<Date> {
    let deadline = workflow.def().deadlines.iter().find(|d| d.id == id)?;
    let items = occurrences(deadline, plan, today);
    items.iter().find(|i| i.is_open()).or(items.last()).map(|i| i.due)
}

/// How event `event` (dated `date`) meets each deadline it is `met_by`,
/// read from the plan's data right after it.
pub fn meetings_of(workflow: &Workflow, event: &str, date: Date, data: &Map<String, Value>) -> Vec<Meeting> {
    workflow
        .def()
        .deadlines
        .iter()
        .filter(|d| d.met_by.iter().any(|e| e == event))
        .map(|d| {
            let on = match &d.met_at {
                Some(MetAt::Field(path)) => date_at(data, path),
                Some(MetAt::Latest(paths)) => {
                    let dates: Option<Vec<Date>> = paths.iter().map(|p| date_at(data, p)).collect();
                    dates.and_then(|all| all.into_iter().max())
                }
                _ => None,
            };
            let period = d.period.as_ref().and_then(|p| lookup(data, &p.field)?.as_i64());
            Meeting { deadline: d.id.clone(), on: on.unwrap_or(date), period }
        })
        .collect()
}

fn lookup<'a>(data: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let (form, field) = path.split_once('.')?;
    data.get(form)?.get(field)
}

fn date_at(data: &Map<String, Value>, path: &str) -> Option<Date> {
    lookup(data, path)?.as_str()?.trim().parse().ok()
}

fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn rows<'a>(data: &'a Map<String, Value>, path: &str) -> &'a [Value] {
    lookup(data, path).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// Whether the deadline applies in the plan's current cycle.
fn in_cycle(deadline: &DeadlineDef, number: u32) -> bool {
    (deadline.in_cycles.is_empty() || deadline.in_cycles.contains(&number))
        && deadline.from_cycle.is_none_or(|from| number >= from)
}

/// When the deadline started to apply this cycle; `None` while it does not.
fn anchor(deadline: &DeadlineDef, plan: &Plan) -> Option<Date> {
    if deadline.active_in.is_empty() {
        return Some(plan.cycle.start);
    }
    deadline.active_in.iter().filter_map(|s| plan.first_entered.get(s)).min().copied()
}

/// How the deadline was met this cycle, oldest first.
fn meetings(deadline: &DeadlineDef, plan: &Plan) -> Vec<Meeting> {
    let mut found: Vec<Meeting> = plan
        .happened
        .iter()
        .filter(|h| deadline.met_by.contains(&h.event))
        .map(|h| {
            h.meets.iter().find(|m| m.deadline == deadline.id).cloned().unwrap_or(Meeting {
                deadline: deadline.id.clone(),
                on: h.date,
                period: None,
            })
        })
        .collect();
    found.sort_by_key(|m| m.on);
    found
}

/// When every row of a table is done: the latest of their dates; `None`
/// while a row is not done (or any is failed).
fn all_rows_done(
    data: &Map<String, Value>,
    path: &str,
    status: &str,
    done: &[String],
    failed: &[String],
    date: &str,
) -> Option<Date> {
    let rows = rows(data, path);
    if rows.is_empty() {
        return None;
    }
    let mut latest: Option<Date> = None;
    for row in rows {
        let state = text(row.get(status))?;
        if failed.contains(&state) || !done.contains(&state) {
            return None;
        }
        let on: Date = row.get(date)?.as_str()?.trim().parse().ok()?;
        latest = latest.max(Some(on));
    }
    latest
}

fn occurrences(deadline: &DeadlineDef, plan: &Plan, today: Date) -> Vec<DueItem> {
    if !in_cycle(deadline, plan.cycle.number) {
        return Vec::new();
    }
    let Some(start) = anchor(deadline, plan) else {
        return Vec::new();
    };
    let item = |id: String, what: String, due: Date, met_on: Option<Date>| DueItem {
        deadline: id,
        what,
        who: deadline.who.clone(),
        due,
        status: status(due, met_on, today),
        basis: deadline.basis.clone(),
    };
    let met = meetings(deadline, plan);
    let first_met = || match &deadline.met_at {
        Some(MetAt::AllRows { path, status, done, failed, date }) => {
            all_rows_done(&plan.data, path, status, done, failed, date)
        }
        _ => met.first().map(|m| m.on),
    };
    let one_off = match &deadline.due {
        Due::Fixed(date) => Some(*date),
        Due::FromCycleStart { months, days } => Some(plan.cycle.start.add_months(*months).add_days(*days)),
        Due::FromEntry { state, months, days } => match plan.entered.get(state) {
            Some(entered) => Some(entered.add_months(*months).add_days(*days)),
            None => return Vec::new(),
        },
        Due::Field(path) => match date_at(&plan.data, path) {
            Some(date) => Some(date),
            None => return Vec::new(),
        },
        Due::Rows { path, key, date, year } => {
            return per_row(deadline, plan, path, key, date, year.as_deref(), &met)
                .into_iter()
                .map(|(id, what, due, on)| item(id, what, due, on))
                .collect();
        }
        Due::Yearly { .. } | Due::EveryYears { .. } => None,
    };
    if let Some(due) = one_off {
        return vec![item(deadline.id.clone(), deadline.what.clone(), due, first_met())];
    }
    // A yearly deadline may count from a date in a form instead of its start.
    let start = match &deadline.due {
        Due::Yearly { from: Some(anchor), .. } => match anchor_date(anchor, plan) {
            Some(date) => date,
            None => return Vec::new(),
        },
        _ => start,
    };
    let dates = recurring_dates(&deadline.due, plan, start, today);
    if let Some(period) = &deadline.period {
        // Each occurrence is met only by an act for its own period, whenever
        // it came; nothing is owed for a period before the deadline began.
        let first_period = i64::from(start.year());
        return dates
            .into_iter()
            .filter(|due| i64::from(due.year()) + i64::from(period.offset) >= first_period)
            .map(|due| {
                let wanted = i64::from(due.year()) + i64::from(period.offset);
                let on = met.iter().find(|m| m.period == Some(wanted)).map(|m| m.on);
                item(deadline.id.clone(), deadline.what.clone(), due, on)
            })
            .collect();
    }
    // Each occurrence takes the first unused meeting after the previous due date.
    let mut out = Vec::new();
    let mut unused = met.into_iter().map(|m| m.on).peekable();
    let mut window_start = start;
    for due in dates {
        while unused.peek().is_some_and(|d| *d < window_start) {
            unused.next();
        }
        out.push(item(deadline.id.clone(), deadline.what.clone(), due, unused.next()));
        window_start = due.add_days(1);
    }
    out
}

/// One occurrence per row of a table: `(id:key, what, due, met on)`.
fn per_row(
    deadline: &DeadlineDef,
    plan: &Plan,
    path: &str,
    key: &str,
    date: &str,
    year: Option<&str>,
    met: &[Meeting],
) -> Vec<(String, String, Date, Option<Date>)> {
    let mut out = Vec::new();
    for row in rows(&plan.data, path) {
        let Some(name) = text(row.get(key)) else { continue };
        let due = row.get(date).and_then(Value::as_str).and_then(|d| d.trim().parse::<Date>().ok()).or_else(|| {
            let y = year.and_then(|column| row.get(column))?.as_i64()?;
            Date::new(i32::try_from(y).ok()?, 12, 31)
        });
        let Some(due) = due else { continue };
        let on = match &deadline.met_at {
            Some(MetAt::Row { path, key: report_key, status, done, date }) => rows(&plan.data, path)
                .iter()
                .find(|r| text(r.get(report_key)).as_deref() == Some(name.as_str()))
                .filter(|r| text(r.get(status)).is_some_and(|s| done.contains(&s)))
                .and_then(|r| r.get(date)?.as_str()?.trim().parse().ok()),
            _ => met.first().map(|m| m.on),
        };
        out.push((format!("{}:{name}", deadline.id), format!("{} ({name})", deadline.what), due, on));
    }
    out
}

/// Due dates of a recurring deadline after `start`, up to and including the
/// first one on or after `today`.
fn recurring_dates(due: &Due, plan: &Plan, start: Date, today: Date) -> Vec<Date> {
    let next = |k: i32| -> Option<Date> {
        match due {
            Due::Yearly { month, day, every, .. } => {
                let step = i32::try_from(every.unwrap_or(1).max(1)).ok()?;
                let first =
                    Date::new(start.year(), *month, *day).map(|d| if d <= start { d.add_years(1) } else { d })?;
                Some(first.add_years(k.checked_mul(step)?))
            }
            Due::EveryYears { years, from, months, days } => {
                let base = anchor_date(from, plan)?;
                let step = i32::try_from(*years).ok()?;
                Some(base.add_years(step * (k + 1)).add_months(*months).add_days(*days))
            }
            _ => None,
        }
    };
    let mut out = Vec::new();
    // A bound keeps a definition with a tiny period from producing an endless list.
    for k in 0..200 {
        let Some(date) = next(k) else { break };
        out.push(date);
        if date >= today {
            break;
        }
    }
    out
}

/// The date an anchor names this cycle (`None` while it has none).
fn anchor_date(anchor: &Anchor, plan: &Plan) -> Option<Date> {
    match anchor {
        Anchor::CycleStart => Some(plan.cycle.start),
        Anchor::Entry(state) => plan.first_entered.get(state).copied(),
        Anchor::Field(path) => date_at(&plan.data, path),
    }
}

fn status(due: Date, met_on: Option<Date>, today: Date) -> Status {
    match met_on {
        Some(on) => Status::Met { on, late: on > due },
        None if today > due => Status::Overdue { days_late: due.days_until(today) },
        None => Status::Upcoming { days_left: today.days_until(due) },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{ANNUAL, date, plan, workflow};
    use serde_json::Value;

    fn summary(items: &[DueItem]) -> Vec<(String, String, String)> {
        items
            .iter()
            .map(|i| {
                let status = match i.status {
                    Status::Upcoming { .. } => "upcoming".to_string(),
                    Status::Overdue { days_late } => format!("overdue {days_late}"),
                    Status::Met { on, late } => {
                        format!("met {on}{}", if late { " late" } else { "" })
                    }
                };
                (i.deadline.clone(), i.due.to_string(), status)
            })
            .collect()
    }

    fn s(a: &str, b: &str, c: &str) -> (String, String, String) {
        (a.into(), b.into(), c.into())
    }

    #[test]
    fn recurring_deadlines_start_when_their_state_is_entered() {
        let wf = workflow(ANNUAL);
        let p = plan(&wf, "2025-01-10", &[]);
        // Before adoption only the one-off deadline is tracked.
        assert_eq!(summary(&schedule(&wf, &p, date("2025-08-01"))), [s("adoption", "2025-07-10", "overdue 22")]);
    }

    #[test]
    fn yearly_report_by_april_15_and_biennial_review() {
        let wf = workflow(ANNUAL);
        let p = plan(
            &wf,
            "2025-01-10",
            &[
                ("adopt", "2025-06-01", "monitoring", Value::Null),
                ("annual_report", "2026-04-10", "monitoring", Value::Null),
                ("annual_report", "2027-04-20", "monitoring", Value::Null),
            ],
        );
        let all = summary(&schedule(&wf, &p, date("2028-04-16")));
        assert_eq!(
            all,
            [
                s("adoption", "2025-07-10", "met 2025-06-01"),
                s("annual_report", "2026-04-15", "met 2026-04-10"),
                s("annual_report", "2027-04-15", "met 2027-04-20 late"),
                s("review", "2027-06-01", "overdue 320"),
                s("annual_report", "2028-04-15", "overdue 1"),
                s("annual_report", "2029-04-15", "upcoming"),
                s("review", "2029-06-01", "upcoming"),
            ]
        );
        let open: Vec<String> = open_items(&wf, &p, date("2028-04-16")).into_iter().map(|i| i.deadline).collect();
        assert_eq!(open, ["review", "annual_report", "annual_report", "review"]);
    }

    #[test]
    fn a_report_on_the_due_day_is_on_time_and_the_next_year_is_upcoming() {
        let wf = workflow(ANNUAL);
        let p = plan(
            &wf,
            "2025-01-10",
            &[
                ("adopt", "2025-06-01", "monitoring", Value::Null),
                ("annual_report", "2026-04-15", "monitoring", Value::Null),
            ],
        );
        let all = summary(&schedule(&wf, &p, date("2026-04-15")));
        assert!(all.contains(&s("annual_report", "2026-04-15", "met 2026-04-15")), "{all:?}");
        let all = summary(&schedule(&wf, &p, date("2026-04-16")));
        assert!(all.contains(&s("annual_report", "2027-04-15", "upcoming")), "{all:?}");
    }

    /// Deadlines read from forms: delivered on a date in a form, due at a
    /// form date, one per row of a table, when every row is done, for a
    /// period, every second year from a form date, in some cycles only.
    const FORMS: &str = r#"Workflow(
    id: "forms",
    roles: [Role(id: "head")],
    forms: [
        Form(id: "decision", fields: [Field(id: "decided_on", kind: Date), Field(id: "posted_on", kind: Date), Field(id: "due_by", kind: Date)]),
        Form(id: "measures", fields: [Field(id: "rows", kind: Table, columns: [Field(id: "id", kind: Text), Field(id: "term", kind: Date), Field(id: "year", kind: Integer)])]),
        Form(id: "report", fields: [
            Field(id: "year", kind: Integer),
            Field(id: "rows", kind: Table, columns: [Field(id: "id", kind: Text), Field(id: "status", kind: Text), Field(id: "done_on", kind: Date)]),
        ]),
    ],
    states: [State(id: "a"), State(id: "z", kind: Final)],
    initial: "a",
    events: [Event(id: "decide", fills: ["decision", "measures"]), Event(id: "report", fills: ["report"]), Event(id: "close")],
    transitions: [
        Transition(from: ["a"], on: "decide", roles: ["head"]),
        Transition(from: ["a"], on: "report", roles: ["head"]),
        Transition(from: ["a"], on: "close", to: "z", roles: ["head"]),
    ],
    deadlines: [
        Deadline(id: "delivery", what: "Decision delivered", who: "head", due: Fixed("2022-01-31"), met_by: ["decide"],
            met_at: Field("decision.posted_on"), basis: "art. 8"),
        Deadline(id: "programme", what: "Programme step", who: "head", due: Field("decision.due_by"), met_by: ["report"]),
        Deadline(id: "measure", what: "Measure", who: "head", due: Rows(path: "measures.rows", key: "id", date: "term", year: "year"),
            met_by: ["report"], met_at: Row(path: "report.rows", key: "id", status: "status", done: ["done"], date: "done_on")),
        Deadline(id: "all_done", what: "Every measure done", who: "head", due: Fixed("2024-09-30"), met_by: ["report"],
            met_at: AllRows(path: "report.rows", status: "status", done: ["done"], failed: ["dropped"], date: "done_on")),
        Deadline(id: "annual", what: "Report for the previous year", who: "head", due: Yearly(month: 4, day: 15), met_by: ["report"],
            period: (field: "report.year", offset: -1)),
        Deadline(id: "review", what: "Review", who: "head", due: EveryYears(years: 2, from: Field("decision.decided_on")), met_by: ["close"]),
        Deadline(id: "later", what: "Only from cycle 2", who: "head", due: Fixed("2022-06-30"), met_by: ["close"], from_cycle: 2),
    ],
)"#;

    #[test]
    fn deadlines_read_from_forms_rows_and_periods() {
        let wf = workflow(FORMS);
        let decide = serde_json::json!({
            "decision": {"decided_on": "2021-12-01", "posted_on": "2021-12-03", "due_by": "2022-03-01"},
            "measures": {"rows": [{"id": "M1", "term": "2023-06-30"}, {"id": "M2", "year": 2023}]},
        });
        let report = serde_json::json!({"report": {"year": 2022, "rows": [
            {"id": "M1", "status": "done", "done_on": "2023-07-10"},
            {"id": "M2", "status": "done", "done_on": "2023-11-30"},
        ]}});
        let stale = serde_json::json!({"report": {"year": 2019}});
        let p = plan(
            &wf,
            "2021-11-01",
            &[
                ("decide", "2022-10-20", "a", decide),
                ("report", "2023-04-10", "a", report),
                ("report", "2024-04-01", "a", stale),
            ],
        );
        let all = summary(&schedule(&wf, &p, date("2024-05-01")));
        assert_eq!(
            all,
            [
                // Met on the day of delivery written in the form, not the day it was entered.
                s("delivery", "2022-01-31", "met 2021-12-03"),
                s("programme", "2022-03-01", "met 2023-04-10 late"),
                s("annual", "2022-04-15", "overdue 747"),
                s("annual", "2023-04-15", "met 2023-04-10"),
                s("measure:M1", "2023-06-30", "met 2023-07-10 late"),
                s("review", "2023-12-01", "overdue 152"),
                s("measure:M2", "2023-12-31", "met 2023-11-30"),
                // A report for 2019 does not meet the deadline for 2023.
                s("annual", "2024-04-15", "overdue 16"),
                s("all_done", "2024-09-30", "met 2023-11-30"),
                s("annual", "2025-04-15", "upcoming"),
                s("review", "2025-12-01", "upcoming"),
            ]
        );
        assert!(schedule(&wf, &p, date("2024-05-01")).iter().all(|i| i.deadline != "later"), "cycle 1 has no `later`");
        assert_eq!(due_date(&wf, &p, "all_done", date("2024-05-01")), Some(date("2024-09-30")));
    }

    #[test]
    fn a_yearly_act_for_the_previous_year_is_owed_only_from_the_year_after_adoption() {
        let text = FORMS.replace(
            r#"due: Yearly(month: 4, day: 15), met_by: ["report"],"#,
            r#"due: Yearly(month: 4, day: 15, from: Field("decision.decided_on")), met_by: ["report"],"#,
        );
        let wf = workflow(&text);
        let decide = serde_json::json!({"decision": {"decided_on": "2022-03-01", "posted_on": "2022-03-02"}});
        let p = plan(&wf, "2021-11-01", &[("decide", "2022-03-02", "a", decide)]);
        let annual: Vec<_> =
            summary(&schedule(&wf, &p, date("2023-04-16"))).into_iter().filter(|(id, ..)| id == "annual").collect();
        // Adopted in March 2022: nothing is owed for 2021; the report for 2022 is due by April 15, 2023.
        assert_eq!(annual, [s("annual", "2023-04-15", "overdue 1"), s("annual", "2024-04-15", "upcoming")]);
    }
}
