//! The sentences the engine says (validation problems, refusals, deadline
//! words), each under a stable key with named arguments.
//!
//! English is the engine's fallback; a pack's locale translates a sentence
//! by its key like any other label (`"problem.not_whole_number": "mora biti
//! ceo broj, a ne {value}"`). Keeping the arguments apart from the text is
//! what lets a page show the sentence in the user's language and a form put
//! it beside the field it concerns.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

/// Every sentence the engine can say, by key, in English. `{name}` is an
/// argument. A pack's locale may translate any key (`jurisdictions/README.md`,
/// "Locales"); the pages' words (`templates/pages/words/`) translate every
/// one, which a test of the server checks.
pub const ENGLISH: &[(&str, &str)] = &[
    // Payload validation (a field's value against its definition).
    ("problem.input", "{message}"),
    ("problem.payload_not_object", "the data must be a JSON object of forms, like {\"form\": {\"field\": value}}"),
    ("problem.form_not_filled_by_event", "this event does not fill the form `{form}` (it fills: {allowed})"),
    ("problem.form_not_object", "`{form}` must be a JSON object of fields"),
    ("problem.unknown_field", "form `{form}` has no field `{field_id}`{hint}"),
    ("problem.unknown_column", "the table {field} has no column `{column}`{hint}"),
    ("problem.row_not_object", "row {row} of {field} must be a JSON object of columns"),
    ("problem.wrong_kind", "{field} must be {expected}, not {found}"),
    ("problem.not_whole_number", "{field} must be a whole number, not {value}"),
    ("problem.out_of_range", "{field} is {value}, outside {range}"),
    ("problem.not_a_date", "{field} is not a date: `{value}` (write dates as YYYY-MM-DD, e.g. 2022-01-31)"),
    ("problem.not_a_choice", "{field} is `{value}`, which is not one of: {choices}"),
    ("problem.text_too_long", "{field} is {length} characters long; at most {max} are allowed"),
    ("problem.control_character", "{field} contains a control character ({character}), which a form cannot hold"),
    ("problem.too_many_rows", "{field} has {rows} rows in one change; at most {max} are allowed"),
    ("problem.payload_too_large", "the data is {bytes} bytes; at most {max} bytes are accepted in one event"),
    // Completeness of a form.
    ("problem.required", "{field} is required"),
    ("problem.required_in_row", "row {row} of {table}: {field} is required"),
    ("problem.too_few_rows", "{field} has {rows} rows; at least {min} are needed"),
    // Conditions of a transition.
    ("condition.count", "{what}: {count}; this transition needs {need}"),
    ("condition.count_where", "{what}: {count} with {column} = `{value}`; this transition needs {need}"),
    ("condition.distinct", "{what}: {count} different {column} values; this transition needs {need}"),
    ("condition.no_number", "{what} has no number yet; it must be {range}"),
    ("condition.number_out_of_range", "{what} is {value}; it must be {range}"),
    ("condition.row_number_out_of_range", "{what}, row {row}: {column} is {value}; it must be {range}"),
    ("condition.no_date", "{what} has no date yet"),
    ("condition.date_before", "{what} is {date}; it must not be before {limit} ({reference})"),
    ("condition.date_after", "{what} is {date}; it must not be after {limit} ({reference})"),
    ("condition.date_not_after", "{what} is {date}; it must be after {limit} ({reference})"),
    ("condition.date_not_before", "{what} is {date}; it must be before {limit} ({reference})"),
    ("condition.not_equal", "{what} is {value}; this transition needs `{expected}`"),
    ("condition.row_required", "{what}, row {row}: {column} is required"),
    ("condition.row_not_in", "{what}, row {row}: {column} is {value}; it must be one of: {values}"),
    ("condition.row_no_date", "{what}, row {row}: {column} has no date"),
    ("condition.row_highest", "{what}, row {row}: {column} is {value}; it must be `{expected}`, the highest for {of}"),
    ("condition.row_not", "{what}, row {row}: this row is not allowed here"),
    ("condition.not_covered", "{what}: {missing} has no matching row in {by}"),
    ("condition.unknown_reference", "{what}: {values} names no row of {into}"),
    ("condition.not_unique", "{what}: {values} appears more than once in {column}"),
    ("condition.not_same", "{what} is {value}, but {other} is {other_value}; they must be the same"),
    ("condition.cycle", "{what} does not happen in cycle {cycle}"),
    ("condition.institution_unknown", "the institution's {what} is not recorded"),
    ("condition.institution_range", "the institution's {what} is {value}; it must be {range}"),
    ("condition.institution_not_in", "the institution's {what} is `{value}`; it must be one of: {values}"),
    ("condition.empty", "{what} is empty"),
    ("condition.none_holds", "none of these holds: {reasons}"),
    // Refusals (which guard said no).
    ("refusal.finished", "the plan is in `{state}`, a final state; nothing more can happen"),
    ("refusal.unknown_event", "`{event}` is not an event of this workflow{hint}"),
    ("refusal.state", "`{event}` cannot happen while the plan is in `{state}`; possible now: {allowed}"),
    ("refusal.role", "role `{role}` may not fire `{event}`; it takes: {allowed}"),
    (
        "refusal.date",
        "the date of this act, {date}, is before {previous_what} ({previous}); a plan's dates never go backwards",
    ),
    ("refusal.payload", "the data is not valid: {problems}"),
    ("refusal.form", "form `{form}` is not complete; missing: {missing}"),
    ("refusal.plugin", "the check `{plugin}` refused: {reason}"),
    ("refusal.score", "scoring with `{plugin}` failed: {reason}"),
    ("refusal.migration", "the plan cannot move to version {to}: {reasons}"),
    ("refusal.migration.not_newer", "{to} is not newer than the plan's version {current}"),
    (
        "refusal.migration.not_compatible",
        "{to} is not compatible with {current} under semver (a major change); finish this plan on {current} or start a new plan",
    ),
    ("refusal.migration.no_workflow", "version {to} has no workflow `{workflow}`"),
    ("refusal.migration.no_state", "version {to} has no state `{state}`, where the plan is now"),
    ("refusal.migration.no_form", "version {to} has no form `{form}`, which holds data of this plan"),
    ("refusal.migration.data", "under {to}, {problem}"),
    // Deadline words.
    ("deadline.upcoming", "due in {days} days"),
    ("deadline.due_today", "due today"),
    ("deadline.overdue", "overdue by {days} days"),
    ("deadline.met", "met on {date}"),
    ("deadline.met_late", "met late on {date}"),
    ("deadline.closed", "the plan is closed"),
    // Documents.
    ("doc.draft", "DRAFT"),
    ("doc.not_drafted", "{document} has no data yet, so there is nothing to print; fill in: {missing}"),
    // Imports of a table from a sheet.
    ("import.empty", "the sheet is empty; its first row must name the columns of {table}"),
    ("import.no_rows", "the sheet names columns but has no rows to import into {table}"),
    ("import.unknown_header", "`{header}` is not a column of {table}; its columns are: {columns}"),
    ("import.duplicate_header", "`{header}` names the same column as `{other}`"),
    ("import.ambiguous_header", "`{header}` could be any of the columns {columns}; use a column id"),
    ("import.no_header", "this column has no header, but holds `{value}`"),
    // Words used inside other sentences.
    ("word.nothing", "nothing"),
    ("word.previous_event", "the plan's previous event"),
    ("word.plan_start", "the start of the plan"),
    ("word.today", "today"),
    ("word.cycle_start", "the start of the cycle"),
    ("word.fixed_date", "a fixed date"),
    ("word.this_step", "this step"),
];

/// The English template of a key (the key itself when there is none, so a
/// missing entry shows up in tests rather than as an empty sentence).
pub fn english(key: &str) -> &str {
    ENGLISH.iter().find(|(k, _)| *k == key).map_or(key, |(_, text)| text)
}

/// Fills `{name}` placeholders of a template from the arguments.
pub fn fill(template: &str, args: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) if after[..close].chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && close > 0 => {
                let name = &after[..close];
                match args.get(name) {
                    Some(value) => out.push_str(value),
                    None => out.push_str(&rest[open..open + close + 2]),
                }
                rest = &after[close + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// A sentence by key with its arguments; rendered in English by `Display`,
/// in another language by [`Message::render`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    pub key: &'static str,
    pub args: BTreeMap<String, String>,
}

impl Message {
    pub fn new(key: &'static str) -> Message {
        Message { key, args: BTreeMap::new() }
    }

    /// Adds an argument (builder style).
    pub fn arg(mut self, name: &str, value: impl fmt::Display) -> Message {
        self.args.insert(name.to_string(), value.to_string());
        self
    }

    /// The sentence with a translated template when `translate` has one for
    /// the key, else in English.
    pub fn render(&self, translate: &dyn Fn(&str) -> Option<String>) -> String {
        match translate(self.key) {
            Some(template) => fill(&template, &self.args),
            None => fill(english(self.key), &self.args),
        }
    }
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&fill(english(self.key), &self.args))
    }
}

/// Items joined for a sentence ("nothing" when there are none).
pub fn list(items: &[String]) -> String {
    if items.is_empty() { english("word.nothing").to_string() } else { items.join(", ") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_every_placeholder_is_named() {
        let mut seen = std::collections::BTreeSet::new();
        for (key, template) in ENGLISH {
            assert!(seen.insert(*key), "{key} is listed twice");
            let args: BTreeMap<String, String> = BTreeMap::new();
            // Unfilled placeholders stay as written; a stray brace does not panic.
            assert_eq!(fill(template, &args), *template, "{key}");
        }
    }

    #[test]
    fn fills_arguments_and_falls_back_to_english() {
        let m = Message::new("problem.not_whole_number").arg("field", "Probability").arg("value", "5.5");
        assert_eq!(m.to_string(), "Probability must be a whole number, not 5.5");
        let serbian = |key: &str| (key == "problem.not_whole_number").then(|| "{field} mora biti ceo broj".to_string());
        assert_eq!(m.render(&serbian), "Probability mora biti ceo broj");
        let none = |_: &str| None;
        assert_eq!(m.render(&none), m.to_string());
        assert_eq!(fill("{a} and {b", &BTreeMap::from([("a".into(), "x".into())])), "x and {b");
    }
}
