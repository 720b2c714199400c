//! Deadlines at a given date: what is due, what is overdue, what was met
//! late. Computed from the definition and the plan's history every time;
//! "overdue" is never stored, so moving the clock is enough to test it.

use serde::Serialize;

use crate::date::Date;
use crate::definition::{Anchor, DeadlineDef, Due, Workflow};
use crate::projection::Plan;

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
    pub deadline: String,
    pub what: String,
    pub who: String,
    pub due: Date,
    #[serde(flatten)]
    pub status: Status,
}

impl DueItem {
    pub fn is_open(&self) -> bool {
        !matches!(self.status, Status::Met { .. })
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

/// When the deadline started to apply this cycle; `None` while it does not.
fn anchor(deadline: &DeadlineDef, plan: &Plan) -> Option<Date> {
    if deadline.active_in.is_empty() {
        return Some(plan.cycle.start);
    }
    deadline.active_in.iter().filter_map(|s| plan.first_entered.get(s)).min().copied()
}

/// Dates of the events that meet the deadline, this cycle, oldest first.
fn meetings(deadline: &DeadlineDef, plan: &Plan) -> Vec<Date> {
    plan.happened.iter().filter(|h| deadline.met_by.contains(&h.event)).map(|h| h.date).collect()
}

fn occurrences(deadline: &DeadlineDef, plan: &Plan, today: Date) -> Vec<DueItem> {
    let Some(start) = anchor(deadline, plan) else {
        return Vec::new();
    };
    let met = meetings(deadline, plan);
    let item = |due: Date, met_on: Option<Date>| DueItem {
        deadline: deadline.id.clone(),
        what: deadline.what.clone(),
        who: deadline.who.clone(),
        due,
        status: status(due, met_on, today),
    };
    let one_off = match &deadline.due {
        Due::Fixed(date) => Some(*date),
        Due::FromCycleStart { months, days } => Some(plan.cycle.start.add_months(*months).add_days(*days)),
        Due::FromEntry { state, months, days } => match plan.entered.get(state) {
            Some(entered) => Some(entered.add_months(*months).add_days(*days)),
            None => return Vec::new(),
        },
        Due::Yearly { .. } | Due::EveryYears { .. } => None,
    };
    if let Some(due) = one_off {
        return vec![item(due, met.first().copied())];
    }
    let dates = recurring_dates(&deadline.due, plan, start, today);
    // Each occurrence takes the first unused meeting after the previous due date.
    let mut out = Vec::new();
    let mut unused = met.into_iter().peekable();
    let mut window_start = start;
    for due in dates {
        while unused.peek().is_some_and(|d| *d < window_start) {
            unused.next();
        }
        out.push(item(due, unused.next()));
        window_start = due.add_days(1);
    }
    out
}

/// Due dates of a recurring deadline after `start`, up to and including the
/// first one on or after `today`.
fn recurring_dates(due: &Due, plan: &Plan, start: Date, today: Date) -> Vec<Date> {
    let next = |k: i32| -> Option<Date> {
        match due {
            Due::Yearly { month, day } => {
                let first =
                    Date::new(start.year(), *month, *day).map(|d| if d <= start { d.add_years(1) } else { d })?;
                Some(first.add_years(k))
            }
            Due::EveryYears { years, from, months, days } => {
                let base = match from {
                    Anchor::CycleStart => plan.cycle.start,
                    Anchor::Entry(state) => *plan.first_entered.get(state)?,
                };
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
}
