//! Reading RON files into the raw definition types, with errors written for
//! a methodology author rather than as serde's internal wording.

use ron::error::{Error as RonError, SpannedError};
use ron::extensions::Extensions;
use serde::de::DeserializeOwned;

use crate::diagnostic::{Diagnostic, Severity, Source, did_you_mean};

/// Parses one RON document. Optional fields are written without `Some(...)`.
pub fn parse_ron<T: DeserializeOwned>(source: &Source) -> Result<T, Diagnostic> {
    let options = ron::Options::default().with_default_extension(Extensions::IMPLICIT_SOME);
    options.from_str(&source.text).map_err(|e| translate(source, &e))
}

/// Turns a RON error into a diagnostic at the error's position.
pub fn translate(source: &Source, error: &SpannedError) -> Diagnostic {
    let at_end = source.text.trim_end().lines().count() < error.span.start.line
        || source.text.trim_end().len() <= offset_of(&source.text, error.span.start.line, error.span.start.col);
    let (message, hint) = if at_end {
        ("the file ends too early".to_string(), Some("a `(`, `[` or `{` is probably never closed".to_string()))
    } else {
        explain(&error.code)
    };
    let mut d =
        source.at(Severity::Error, "E001", error.span.start.line.max(1), error.span.start.col.max(1), "", message);
    d.hint = hint;
    d
}

/// Byte offset of a 1-based line and column.
fn offset_of(text: &str, line: usize, col: usize) -> usize {
    let line_start: usize = text.split_inclusive('\n').take(line.saturating_sub(1)).map(str::len).sum();
    let in_line = text.get(line_start..).unwrap_or("");
    line_start + in_line.chars().take(col.saturating_sub(1)).map(char::len_utf8).sum::<usize>()
}

fn explain(code: &RonError) -> (String, Option<String>) {
    match code {
        RonError::NoSuchStructField { expected, found, outer } => (
            format!("`{found}` is not a field of {}", describe(outer.as_deref())),
            Some(match did_you_mean(found, expected.iter().copied()) {
                Some(suggestion) => suggestion,
                None => format!("the fields are: {}", expected.join(", ")),
            }),
        ),
        RonError::MissingStructField { field, outer } => (
            format!("{} is missing its `{field}` field", describe(outer.as_deref())),
            Some(format!("add `{field}: ...` inside the parentheses")),
        ),
        RonError::DuplicateStructField { field, outer } => {
            (format!("`{field}` is given twice in {}", describe(outer.as_deref())), None)
        }
        RonError::NoSuchEnumVariant { expected, found, outer } => (
            format!("`{found}` is not a kind of {}", describe(outer.as_deref())),
            Some(match did_you_mean(found, expected.iter().copied()) {
                Some(suggestion) => suggestion,
                None => format!("choose one of: {}", expected.join(", ")),
            }),
        ),
        RonError::ExpectedNamedStructLike(name) if !name.is_empty() => (format!("expected `{name}(...)` here"), None),
        RonError::ExpectedDifferentStructName { expected, found } => {
            (format!("expected `{expected}(...)` here, found `{found}(...)`"), None)
        }
        RonError::Eof => ("the file ends too early".into(), Some("a `(`, `[` or `{` is probably never closed".into())),
        RonError::ExpectedComma => ("a comma is missing between two items".into(), None),
        RonError::ExpectedString | RonError::ExpectedStringEnd => ("expected text in double quotes here".into(), None),
        RonError::ExpectedArray => ("expected a list in square brackets `[...]` here".into(), None),
        RonError::ExpectedArrayEnd => {
            ("expected `]` to close the list here".into(), Some("is a comma missing?".into()))
        }
        RonError::ExpectedStructLikeEnd | RonError::ExpectedOptionEnd => {
            ("expected `)` here".into(), Some("is a comma missing, or a parenthesis unclosed?".into()))
        }
        RonError::ExpectedMapEnd => ("expected `}` here".into(), None),
        RonError::TrailingCharacters => (
            "there is more text after the end of the definition".into(),
            Some("an extra closing bracket, or two definitions in one file?".into()),
        ),
        RonError::InvalidValueForType { expected, found } => (format!("expected {expected} here, found {found}"), None),
        RonError::ExpectedInteger => ("expected a whole number here".into(), None),
        RonError::ExpectedFloat => ("expected a number here".into(), None),
        RonError::ExpectedBoolean => ("expected `true` or `false` here".into(), None),
        RonError::Message(text) => (text.clone(), None),
        other => (lowercase_first(&other.to_string()), None),
    }
}

/// Names a RON struct the way an author wrote it.
fn describe(outer: Option<&str>) -> String {
    match outer {
        Some(name) if !name.is_empty() => format!("`{name}`"),
        _ => "this item".into(),
    }
}

fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definition::WorkflowDef;

    fn error_of(text: &str) -> Diagnostic {
        parse_ron::<WorkflowDef>(&Source::new("w.ron", text)).expect_err("must not parse")
    }

    #[test]
    fn unknown_field_names_the_struct_and_suggests() {
        let d = error_of("Workflow(\n  id: \"x\",\n  rolez: [],\n)");
        assert_eq!((d.line, d.column), (3, 3));
        assert!(d.message.contains("`rolez` is not a field of `Workflow`"), "{}", d.message);
        assert_eq!(d.hint.as_deref(), Some("did you mean `roles`?"));
    }

    #[test]
    fn missing_field_and_unclosed_bracket_are_explained() {
        let d = error_of("Workflow(id: \"x\", roles: [], states: [], initial: \"a\", events: [])");
        assert!(d.message.contains("missing its `transitions` field"), "{}", d.message);
        let d = error_of("Workflow(id: \"x\", roles: [\n");
        assert_eq!(d.message, "the file ends too early");
    }

    #[test]
    fn bad_dates_say_how_to_write_them() {
        let d = error_of(
            "Workflow(id: \"x\", roles: [], states: [], initial: \"a\", events: [], transitions: [],\n cycle: Cycle(every_years: 3, first_start: \"2021-13-01\", restart_at: \"a\"))",
        );
        assert_eq!(d.line, 2);
        assert!(d.message.contains("YYYY-MM-DD"), "{}", d.message);
    }
}
