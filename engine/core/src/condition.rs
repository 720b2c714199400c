//! The conditions of a transition, evaluated against the data as it would
//! be after the event (a [`Draft`]), the institution, the plan's scores and
//! its deadlines. A condition that does not hold is a [`Problem`] placed on
//! the field (or the cell) it reads, in a sentence by key.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::date::Date;
use crate::definition::{Condition, DateRef, RowTest, Workflow};
use crate::error::Problem;
use crate::guard::{Draft, Rows, bounds_words, filled, in_bounds, label_key, label_of, path_of};
use crate::message::{Message, english};
use crate::projection::ScoreRecord;

/// What conditions may compare against besides the plan's data.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    pub today: Date,
    pub cycle_start: Date,
    /// The plan's cycle number, and the number the workflow's first cycle has.
    pub cycle: (u32, u32),
    /// The institution's attributes (`{"employees": 240, "kind": "...",
    /// "parent": {...}}`); `None` when unknown.
    pub institution: Option<&'a Value>,
    /// Plugin results, for tables read from `scores.<output>.<list>`.
    pub scores: Option<&'a BTreeMap<String, ScoreRecord>>,
    /// The due date of a deadline of the workflow, this cycle.
    pub deadline_due: &'a dyn Fn(&str) -> Option<Date>,
}

impl<'a> Context<'a> {
    /// A context with only the dates (no institution, scores or deadlines).
    pub fn dates(today: Date, cycle_start: Date) -> Context<'static> {
        Context { today, cycle_start, cycle: (1, 1), institution: None, scores: None, deadline_due: &|_| None }
    }
}

/// The rows of a table: `form.table` in the data, or `scores.<output>.<list>`
/// in a plugin's result.
fn table<'a>(draft: &Draft<'a>, ctx: &Context<'a>, path: &str) -> Rows<'a> {
    match path.strip_prefix("scores.") {
        Some(rest) => {
            let (output, list) = rest.split_once('.').unwrap_or((rest, ""));
            let rows = ctx
                .scores
                .and_then(|scores| scores.get(output))
                .and_then(|record| if list.is_empty() { Some(&record.value) } else { record.value.get(list) })
                .and_then(Value::as_array);
            Rows::of(rows.map_or(&[][..], Vec::as_slice))
        }
        None => draft.rows_at(path),
    }
}

/// Text of a value as conditions compare it (trimmed; booleans and numbers as written).
pub(crate) fn text_of(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The values a cell names: a list, or a text separated by commas or semicolons.
fn names_in(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items.iter().filter_map(|v| text_of(Some(v))).collect(),
        Some(Value::String(text)) => {
            text.split([',', ';']).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
        }
        other => text_of(other).into_iter().collect(),
    }
}

fn date_of(value: Option<&Value>) -> Option<Date> {
    value?.as_str()?.trim().parse().ok()
}

/// `Ok` when `n` is within bounds, else the needed range in words.
fn within(n: u64, min: Option<u64>, max: Option<u64>) -> Result<(), String> {
    if min.is_none_or(|m| n >= m) && max.is_none_or(|m| n <= m) {
        return Ok(());
    }
    Err(match (min, max) {
        (Some(min), Some(max)) => format!("{min} to {max}"),
        (Some(min), None) => format!("at least {min}"),
        (None, Some(max)) => format!("at most {max}"),
        (None, None) => String::new(),
    })
}

/// At most ten items of a list, for a sentence.
fn some_of(items: &[String]) -> String {
    if items.len() <= 10 {
        items.join(", ")
    } else {
        format!("{} and {} more", items[..10].join(", "), items.len() - 10)
    }
}

/// One condition's evaluation: the workflow (for labels), the draft, the context.
struct Eval<'e, 'a> {
    workflow: &'e Workflow,
    draft: &'e Draft<'a>,
    ctx: &'e Context<'a>,
}

/// Evaluates a condition against the data after the event; `Err` is the
/// problem, placed on the field the condition reads.
pub fn evaluate(workflow: &Workflow, condition: &Condition, draft: &Draft, ctx: &Context) -> Result<(), Problem> {
    Eval { workflow, draft, ctx }.condition(condition)
}

impl Eval<'_, '_> {
    /// The words for what a path names: the condition's label, the field's title, or the path.
    fn what(&self, path: &str, label: &Option<String>) -> String {
        label.clone().unwrap_or_else(|| match path.strip_prefix("scores.") {
            Some(rest) => rest.to_string(),
            None => self.workflow.field(path).map_or(path.to_string(), label_of),
        })
    }

    /// A problem on `path`. Its field's label key lets a translation name
    /// the field, unless the condition has a label of its own (the author's
    /// words, often with the article, are kept as written).
    fn problem(&self, path: &str, message: Message, label: &Option<String>) -> Problem {
        let key = path
            .split_once('.')
            .filter(|_| !path.starts_with("scores.") && label.is_none())
            .map(|(f, x)| label_key(f, x, None));
        Problem::new(path, message).with_field_key(key)
    }

    fn condition(&self, condition: &Condition) -> Result<(), Problem> {
        let draft = self.draft;
        match condition {
            Condition::Count { path, min, max, label } => {
                let n = table(draft, self.ctx, path).len() as u64;
                within(n, *min, *max).map_err(|need| {
                    let m = Message::new("condition.count").arg("what", self.what(path, label)).arg("count", n);
                    self.problem(path, m.arg("need", need), label)
                })
            }
            Condition::CountWhere { path, column, equals, min, max, label } => {
                let rows = table(draft, self.ctx, path);
                let n =
                    rows.iter().filter(|r| text_of(r.get(column)).as_deref() == Some(equals.as_str())).count() as u64;
                within(n, *min, *max).map_err(|need| {
                    let message = Message::new("condition.count_where")
                        .arg("what", self.what(path, label))
                        .arg("count", n)
                        .arg("column", column)
                        .arg("value", equals)
                        .arg("need", need);
                    self.problem(path, message, label)
                })
            }
            Condition::Distinct { path, column, min, max, label } => {
                let values: BTreeSet<String> =
                    table(draft, self.ctx, path).iter().filter_map(|r| text_of(r.get(column))).collect();
                let n = values.len() as u64;
                within(n, *min, *max).map_err(|need| {
                    let message = Message::new("condition.distinct")
                        .arg("what", self.what(path, label))
                        .arg("count", n)
                        .arg("column", column)
                        .arg("need", need);
                    self.problem(path, message, label)
                })
            }
            Condition::Range { path, column: None, min, max, label } => {
                let range = bounds_words(*min, *max);
                let what = self.what(path, label);
                match draft.lookup(path).and_then(Value::as_f64) {
                    None => Err(self.problem(
                        path,
                        Message::new("condition.no_number").arg("what", what).arg("range", range),
                        label,
                    )),
                    Some(v) if in_bounds(v, *min, *max) => Ok(()),
                    Some(v) => Err(self.problem(
                        path,
                        Message::new("condition.number_out_of_range")
                            .arg("what", what)
                            .arg("value", v)
                            .arg("range", range),
                        label,
                    )),
                }
            }
            Condition::Range { path, column: Some(column), min, max, label } => {
                let test = RowTest::Range { column: column.clone(), min: *min, max: *max };
                self.rows(path, None, std::slice::from_ref(&test), label)
            }
            Condition::Date { path, not_before, not_after, after, before, label } => {
                let what = self.what(path, label);
                let Some(date) = date_of(draft.lookup(path)) else {
                    return Err(self.problem(path, Message::new("condition.no_date").arg("what", what), label));
                };
                self.date_bounds(date, &what, [not_before, not_after, after, before], None)
                    .map_err(|message| self.problem(path, message, label))
            }
            Condition::Equals { path, value, label } => {
                let actual = text_of(draft.lookup(path));
                if actual.as_deref() == Some(value.as_str()) {
                    return Ok(());
                }
                let is = actual.map_or("empty".to_string(), |a| format!("`{a}`"));
                let message = Message::new("condition.not_equal")
                    .arg("what", self.what(path, label))
                    .arg("value", is)
                    .arg("expected", value);
                Err(self.problem(path, message, label))
            }
            Condition::Filled { path, label } => {
                if filled(draft.lookup(path)) {
                    Ok(())
                } else {
                    Err(self.problem(path, Message::new("condition.empty").arg("what", self.what(path, label)), label))
                }
            }
            Condition::All(list) => list.iter().try_for_each(|c| self.condition(c)),
            Condition::Any(list) => {
                let mut reasons = Vec::new();
                let mut first_path = String::new();
                for c in list {
                    match self.condition(c) {
                        Ok(()) => return Ok(()),
                        Err(p) => {
                            if first_path.is_empty() {
                                first_path = p.path.clone();
                            }
                            reasons.push(p.message);
                        }
                    }
                }
                Err(Problem::new(first_path, Message::new("condition.none_holds").arg("reasons", reasons.join("; "))))
            }
            Condition::If { when, then } => match self.condition(when) {
                Ok(()) => self.condition(then),
                Err(_) => Ok(()),
            },
            Condition::Rows { path, filter, require, label } => self.rows(path, filter.as_ref(), require, label),
            Condition::Covered { path, column, by, by_column, filter, label } => {
                self.covered(path, column, by, by_column, filter.as_ref(), label)
            }
            Condition::References { path, column, into, into_column, label } => {
                self.references(path, column, into, into_column, label)
            }
            Condition::Unique { path, column, label } => {
                let mut seen = BTreeSet::new();
                let mut twice = Vec::new();
                let mut first = None;
                for (i, row) in table(draft, self.ctx, path).iter().enumerate() {
                    if let Some(value) = text_of(row.get(column))
                        && !seen.insert(value.clone())
                    {
                        first.get_or_insert(i);
                        twice.push(value);
                    }
                }
                let Some(i) = first else { return Ok(()) };
                let (form, field) = path.split_once('.').unwrap_or((path, ""));
                let message = Message::new("condition.not_unique")
                    .arg("what", self.what(path, label))
                    .arg("column", self.column_title(path, column))
                    .arg("values", some_of(&twice));
                Err(Problem::new(path_of(form, field, Some((i, column))), message))
            }
            Condition::SameAs { path, other, label } => {
                let normal = |v: Option<&Value>| {
                    text_of(v).map(|t| t.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase())
                };
                let (a, b) = (draft.lookup(path), draft.lookup(other));
                if normal(a).is_some() && normal(a) == normal(b) {
                    return Ok(());
                }
                let shown = |v: Option<&Value>| text_of(v).map_or("empty".to_string(), |t| format!("`{t}`"));
                let message = Message::new("condition.not_same")
                    .arg("what", self.what(path, label))
                    .arg("value", shown(a))
                    .arg("other", self.what(other, &None))
                    .arg("other_value", shown(b));
                Err(self.problem(path, message, label))
            }
            Condition::Institution { attribute, min, max, any_of, label } => {
                self.institution(attribute, *min, *max, any_of, label)
            }
            Condition::Cycle { in_cycles, from, every, label } => {
                let (number, first) = self.ctx.cycle;
                let holds = (in_cycles.is_empty() || in_cycles.contains(&number))
                    && from.is_none_or(|f| number >= f)
                    && every.is_none_or(|n| n > 0 && number.saturating_sub(first) % n == 0);
                if holds {
                    return Ok(());
                }
                let what = label.clone().unwrap_or_else(|| english("word.this_step").to_string());
                Err(Problem::new("", Message::new("condition.cycle").arg("what", what).arg("cycle", number)))
            }
        }
    }

    /// Checks a date against the bounds `[not_before, not_after, after, before]`;
    /// `row` resolves row-relative references.
    fn date_bounds(
        &self,
        date: Date,
        what: &str,
        bounds: [&Option<DateRef>; 4],
        row: Option<(&Value, &str)>,
    ) -> Result<(), Message> {
        let keys =
            ["condition.date_before", "condition.date_after", "condition.date_not_after", "condition.date_not_before"];
        for (i, (bound, key)) in bounds.into_iter().zip(keys).enumerate() {
            let Some((limit, reference)) = bound.as_ref().and_then(|r| self.resolve(r, row)) else { continue };
            let broken = match i {
                0 => date < limit,
                1 => date > limit,
                2 => date <= limit,
                _ => date >= limit,
            };
            if broken {
                return Err(Message::new(key)
                    .arg("what", what)
                    .arg("date", date)
                    .arg("limit", limit)
                    .arg("reference", reference));
            }
        }
        Ok(())
    }

    /// A reference date, with the words that name it; `None` when it has no value yet.
    fn resolve(&self, r: &DateRef, row: Option<(&Value, &str)>) -> Option<(Date, String)> {
        match r {
            DateRef::Today => Some((self.ctx.today, english("word.today").into())),
            DateRef::CycleStart => Some((self.ctx.cycle_start, english("word.cycle_start").into())),
            DateRef::Fixed(date) => Some((*date, english("word.fixed_date").into())),
            DateRef::Field(path) => Some((date_of(self.draft.lookup(path))?, format!("`{path}`"))),
            DateRef::Deadline(id) => Some(((self.ctx.deadline_due)(id)?, format!("the due date of `{id}`"))),
            DateRef::Column(column) => Some((date_of(row?.0.get(column))?, format!("`{column}` of the same row"))),
            DateRef::Lookup { table: other, key, column } => {
                let (row, _) = row?;
                let wanted = text_of(row.get(key))?;
                let matched = table(self.draft, self.ctx, other)
                    .iter()
                    .find(|r| text_of(r.get(key)).as_deref() == Some(&wanted))?;
                Some((date_of(matched.get(column))?, format!("`{column}` of {wanted} in `{other}`")))
            }
            DateRef::YearAfter(path) => {
                let year = i32::try_from(self.draft.lookup(path)?.as_i64()?).ok()?;
                Some((Date::new(year.checked_add(1)?, 1, 1)?, format!("the year after `{path}`")))
            }
        }
    }

    /// Every row (of those `filter` picks) passes each test.
    fn rows(
        &self,
        path: &str,
        filter: Option<&RowTest>,
        require: &[RowTest],
        label: &Option<String>,
    ) -> Result<(), Problem> {
        let what = self.what(path, label);
        for (i, row) in table(self.draft, self.ctx, path).iter().enumerate() {
            if filter.is_some_and(|f| self.row_test(f, row, i, path, &what).is_err()) {
                continue;
            }
            for test in require {
                self.row_test(test, row, i, path, &what)?;
            }
        }
        Ok(())
    }

    /// A row test on row `i` of the table at `path`.
    fn row_test(&self, test: &RowTest, row: &Value, i: usize, path: &str, what: &str) -> Result<(), Problem> {
        let (form, field) = path.split_once('.').unwrap_or((path, ""));
        let cell = |column: &str, message: Message| {
            let message = message.arg("what", what).arg("row", i + 1).arg("column", self.column_title(path, column));
            let key = (!path.starts_with("scores.")).then(|| label_key(form, field, Some(column)));
            Problem::new(path_of(form, field, Some((i, column))), message).with_field_key(key)
        };
        match test {
            RowTest::Filled(column) => {
                if filled(row.get(column)) {
                    Ok(())
                } else {
                    Err(cell(column, Message::new("condition.row_required")))
                }
            }
            RowTest::In { column, values } => match text_of(row.get(column)) {
                Some(v) if values.contains(&v) => Ok(()),
                other => {
                    let is = other.map_or("empty".to_string(), |v| format!("`{v}`"));
                    Err(cell(
                        column,
                        Message::new("condition.row_not_in").arg("value", is).arg("values", values.join(", ")),
                    ))
                }
            },
            RowTest::Date { column, not_before, not_after, after, before } => {
                let name = format!("{what}, row {}: {}", i + 1, self.column_title(path, column));
                let Some(date) = date_of(row.get(column)) else {
                    return Err(cell(column, Message::new("condition.row_no_date")));
                };
                self.date_bounds(date, &name, [not_before, not_after, after, before], Some((row, path))).map_err(|m| {
                    let key = (!path.starts_with("scores.")).then(|| label_key(form, field, Some(column)));
                    Problem::new(path_of(form, field, Some((i, column))), m).with_field_key(key)
                })
            }
            RowTest::When { date, not_before, not_after, after, before } => {
                let Some((value, words)) = self.resolve(date, Some((row, path))) else { return Ok(()) };
                let name = format!("{what}, row {}: {words}", i + 1);
                self.date_bounds(value, &name, [not_before, not_after, after, before], Some((row, path)))
                    .map_err(|m| Problem::new(format!("{path}[{i}]"), m))
            }
            RowTest::Range { column, min, max } => match row.get(column).and_then(Value::as_f64) {
                Some(v) if in_bounds(v, *min, *max) => Ok(()),
                other => {
                    let is = other.map_or("empty".to_string(), |v| v.to_string());
                    let range = bounds_words(*min, *max);
                    Err(cell(
                        column,
                        Message::new("condition.row_number_out_of_range").arg("value", is).arg("range", range),
                    ))
                }
            },
            RowTest::Highest { column, from, key, match_column, value, order } => {
                let named = names_in(row.get(key));
                let found: Vec<String> = table(self.draft, self.ctx, from)
                    .iter()
                    .filter(|r| text_of(r.get(match_column)).is_some_and(|m| named.contains(&m)))
                    .filter_map(|r| text_of(r.get(value)))
                    .collect();
                let Some(highest) = found.iter().max_by_key(|v| order.iter().position(|o| o == *v)) else {
                    return Ok(());
                };
                if text_of(row.get(column)).as_deref() == Some(highest.as_str()) {
                    return Ok(());
                }
                let is = text_of(row.get(column)).map_or("empty".to_string(), |v| format!("`{v}`"));
                let message = Message::new("condition.row_highest")
                    .arg("value", is)
                    .arg("expected", highest)
                    .arg("of", named.join(", "));
                Err(cell(column, message))
            }
            RowTest::All(list) => list.iter().try_for_each(|t| self.row_test(t, row, i, path, what)),
            RowTest::Any(list) => {
                let mut first = None;
                for t in list {
                    match self.row_test(t, row, i, path, what) {
                        Ok(()) => return Ok(()),
                        Err(p) => {
                            first.get_or_insert(p);
                        }
                    }
                }
                first.map_or(Ok(()), Err)
            }
            RowTest::Not(inner) => match self.row_test(inner, row, i, path, what) {
                Err(_) => Ok(()),
                Ok(()) => {
                    let message = Message::new("condition.row_not").arg("what", what).arg("row", i + 1);
                    Err(Problem::new(format!("{path}[{i}]"), message))
                }
            },
        }
    }

    /// A column's title, or its id.
    fn column_title(&self, path: &str, column: &str) -> String {
        self.workflow
            .field(path)
            .and_then(|f| f.columns.iter().find(|c| c.id == column))
            .map_or(column.to_string(), label_of)
    }

    fn covered(
        &self,
        path: &str,
        column: &str,
        by: &str,
        by_column: &str,
        filter: Option<&RowTest>,
        label: &Option<String>,
    ) -> Result<(), Problem> {
        let what = self.what(path, label);
        let present: BTreeSet<String> =
            table(self.draft, self.ctx, by).iter().flat_map(|r| names_in(r.get(by_column))).collect();
        let missing: Vec<String> = table(self.draft, self.ctx, path)
            .iter()
            .enumerate()
            .filter(|(i, row)| filter.is_none_or(|f| self.row_test(f, row, *i, path, &what).is_ok()))
            .filter_map(|(_, row)| text_of(row.get(column)))
            .filter(|v| !present.contains(v))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let message = Message::new("condition.not_covered")
            .arg("what", &what)
            .arg("missing", some_of(&missing))
            .arg("by", self.what(by, &None));
        Err(self.problem(by, message, label))
    }

    fn references(
        &self,
        path: &str,
        column: &str,
        into: &str,
        into_column: &str,
        label: &Option<String>,
    ) -> Result<(), Problem> {
        let known: BTreeSet<String> =
            table(self.draft, self.ctx, into).iter().filter_map(|r| text_of(r.get(into_column))).collect();
        let mut unknown = Vec::new();
        let mut first_row = None;
        for (i, row) in table(self.draft, self.ctx, path).iter().enumerate() {
            for name in names_in(row.get(column)).into_iter().filter(|n| !known.contains(n)) {
                first_row.get_or_insert(i);
                unknown.push(name);
            }
        }
        let Some(i) = first_row else { return Ok(()) };
        let (form, field) = path.split_once('.').unwrap_or((path, ""));
        let message = Message::new("condition.unknown_reference")
            .arg("what", self.what(path, label))
            .arg("values", some_of(&unknown))
            .arg("into", self.what(into, &None));
        Err(Problem::new(path_of(form, field, Some((i, column))), message).with_field_key(Some(label_key(
            form,
            field,
            Some(column),
        ))))
    }

    fn institution(
        &self,
        attribute: &str,
        min: Option<f64>,
        max: Option<f64>,
        any_of: &[String],
        label: &Option<String>,
    ) -> Result<(), Problem> {
        let what = label.clone().unwrap_or_else(|| attribute.to_string());
        let path = format!("institution.{attribute}");
        let value = self.ctx.institution.and_then(|i| attribute.split('.').try_fold(i, |v, key| v.get(key)));
        let Some(value) = value.filter(|v| !v.is_null()) else {
            return Err(Problem::new(path, Message::new("condition.institution_unknown").arg("what", what)));
        };
        if min.is_some() || max.is_some() {
            return match value.as_f64() {
                Some(v) if in_bounds(v, min, max) => Ok(()),
                _ => Err(Problem::new(
                    path,
                    Message::new("condition.institution_range")
                        .arg("what", what)
                        .arg("value", value)
                        .arg("range", bounds_words(min, max)),
                )),
            };
        }
        match text_of(Some(value)) {
            Some(v) if any_of.is_empty() || any_of.contains(&v) => Ok(()),
            other => Err(Problem::new(
                path,
                Message::new("condition.institution_not_in")
                    .arg("what", what)
                    .arg("value", other.unwrap_or_default())
                    .arg("values", any_of.join(", ")),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definition::parse::parse_ron;
    use crate::fixtures::{date, workflow};
    use serde_json::json;

    /// Measures with terms, a report on them, and a decision.
    const PLAN: &str = r#"Workflow(
    id: "plan",
    roles: [Role(id: "head")],
    forms: [
        Form(id: "measures", fields: [Field(id: "rows", kind: Table, columns: [
            Field(id: "id", kind: Text), Field(id: "risks", kind: Text), Field(id: "deadline", kind: Date),
            Field(id: "urgency", kind: Text), Field(id: "urgency_reason", kind: Text),
        ])]),
        Form(id: "report", fields: [Field(id: "rows", kind: Table, columns: [
            Field(id: "id", kind: Text), Field(id: "status", kind: Text), Field(id: "done_on", kind: Date),
            Field(id: "as_planned", kind: Bool), Field(id: "reason", kind: Text),
        ])]),
        Form(id: "decision", fields: [
            Field(id: "decided_on", kind: Date), Field(id: "leader", kind: Text), Field(id: "manager", kind: Text),
            Field(id: "year", kind: Integer),
        ]),
    ],
    states: [State(id: "a"), State(id: "z", kind: Final)],
    initial: "a",
    events: [Event(id: "go", fills: ["measures", "report", "decision"])],
    transitions: [Transition(from: ["a"], on: "go", to: "z", roles: ["head"])],
)"#;

    fn data() -> serde_json::Map<String, Value> {
        let value = json!({
            "measures": {"rows": [
                {"id": "M1", "risks": "R1", "deadline": "2023-06-30", "urgency": "visok"},
                {"id": "M2", "risks": "R1, R2", "deadline": "2023-12-31", "urgency": "nizak"},
            ]},
            "report": {"rows": [
                {"id": "M1", "status": "late", "done_on": "2023-07-15", "as_planned": true},
                {"id": "M9", "status": "on time", "done_on": "2023-05-01", "as_planned": false},
            ]},
            "decision": {"decided_on": "2024-10-02", "leader": "Ana  Anić", "manager": "ana anić", "year": 2025},
        });
        value.as_object().cloned().unwrap_or_default()
    }

    fn scores() -> BTreeMap<String, ScoreRecord> {
        let record = ScoreRecord {
            value: json!({"risks": [{"id": "R1", "level": "visok"}, {"id": "R2", "level": "nizak"}]}),
            provenance: crate::plugin::Provenance { id: "m".into(), version: "1".into(), sha256: String::new() },
            seq: 2,
            date: date("2022-05-10"),
            config: None,
        };
        BTreeMap::from([("intensity".to_string(), record)])
    }

    /// (condition in RON, expected: "ok" or "path: message").
    const CASES: &[(&str, &str)] = &[
        (
            r#"Covered(path: "measures.rows", column: "id", by: "report.rows", by_column: "id", label: "measures")"#,
            "report.rows: measures: M2 has no matching row in rows",
        ),
        (
            r#"References(path: "report.rows", column: "id", into: "measures.rows", into_column: "id", label: "reported measures")"#,
            "report.rows[1].id: reported measures: M9 names no row of rows",
        ),
        (
            r#"Covered(path: "scores.intensity.risks", column: "id", by: "measures.rows", by_column: "risks", where: In(column: "level", values: ["visok"]))"#,
            "ok",
        ),
        (
            r#"Rows(path: "report.rows", where: Any([In(column: "status", values: ["late"]), In(column: "as_planned", values: ["false"])]), require: [Filled("reason")], label: "report")"#,
            "report.rows[0].reason: report, row 1: reason is required",
        ),
        (
            r#"Rows(path: "report.rows", where: In(column: "status", values: ["on time"]), require: [Date(column: "done_on", not_after: Lookup(table: "measures.rows", key: "id", column: "deadline"))])"#,
            "ok",
        ),
        (
            r#"Rows(path: "report.rows", where: In(column: "status", values: ["late"]), require: [Date(column: "done_on", before: Lookup(table: "measures.rows", key: "id", column: "deadline"))], label: "report")"#,
            "report.rows[0].done_on: report, row 1: done_on is 2023-07-15; it must be before 2023-06-30 (`deadline` of M1 in `measures.rows`)",
        ),
        (
            r#"Rows(path: "measures.rows", require: [Any([Highest(column: "urgency", from: "scores.intensity.risks", key: "risks", match_column: "id", value: "level", order: ["nizak", "srednji", "visok"]), Filled("urgency_reason")])], label: "measures")"#,
            "measures.rows[1].urgency: measures, row 2: urgency is `nizak`; it must be `visok`, the highest for R1, R2",
        ),
        (r#"Date(path: "decision.decided_on", after: Deadline("implementation"))"#, "ok"),
        (
            r#"Date(path: "decision.decided_on", after: Fixed("2024-10-02"), label: "the report decision")"#,
            "decision.decided_on: the report decision is 2024-10-02; it must be after 2024-10-02 (a fixed date)",
        ),
        (r#"SameAs(path: "decision.leader", other: "decision.manager")"#, "ok"),
        (r#"If(when: Equals(path: "decision.leader", value: "nobody"), then: Filled(path: "decision.nothing"))"#, "ok"),
        (
            r#"Institution(attribute: "employees", min: 31, label: "employees")"#,
            "institution.employees: the institution's employees is 12; it must be at least 31",
        ),
        (r#"Institution(attribute: "parent.kind", any_of: ["city"])"#, "ok"),
        (
            r#"Institution(attribute: "kind", any_of: ["ministry"])"#,
            "institution.kind: the institution's kind is `agency`; it must be one of: ministry",
        ),
    ];

    #[test]
    fn conditions_across_tables_rows_dates_and_the_institution() {
        let wf = workflow(PLAN);
        let data = data();
        let scores = scores();
        let draft = Draft::stored(&data);
        let institution = json!({"employees": 12, "kind": "agency", "parent": {"kind": "city"}});
        let due = |id: &str| (id == "implementation").then(|| date("2024-09-30"));
        let ctx = Context {
            today: date("2024-10-10"),
            cycle_start: date("2021-11-01"),
            cycle: (4, 1),
            institution: Some(&institution),
            scores: Some(&scores),
            deadline_due: &due,
        };
        for (text, expected) in CASES {
            let source = crate::diagnostic::Source::new("c.ron", *text);
            let condition: Condition = parse_ron(&source).unwrap_or_else(|d| panic!("{text}: {d}"));
            let actual = match evaluate(&wf, &condition, &draft, &ctx) {
                Ok(()) => "ok".to_string(),
                Err(p) => format!("{}: {}", p.path, p.message),
            };
            assert_eq!(actual, *expected, "{text}");
        }
    }
}
