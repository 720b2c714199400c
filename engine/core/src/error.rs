//! Errors by meaning: what a caller (the CLI, the HTTP server, a page) does
//! with an error depends on which of these it is, never on its text.
//!
//! | variant | meaning | HTTP |
//! | --- | --- | --- |
//! | [`EngineError::NotFound`] | no such institution, plan, pack, role... | 404 |
//! | [`EngineError::Invalid`] | the input is wrong; each [`Problem`] names its field | 422 |
//! | [`EngineError::Refused`] | a guard of the workflow said no; nothing was written | 409 (403 for the role guard) |
//! | [`EngineError::Conflict`] | someone else changed it first, or it exists already; retry | 409 |
//! | [`EngineError::NotDrafted`] | a document whose forms hold nothing yet: nothing to print | 409 |
//! | [`EngineError::Unavailable`] | the store is held by another process or damaged | 503 |
//! | [`EngineError::Internal`] | a fault of the install (disk, corrupt record, bug) | 500 |

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::diagnostic::did_you_mean;
use crate::executor::Refusal;
use crate::message::Message;
use crate::store::StoreError;

/// One problem with one piece of input, placed by its JSON path so that a
/// form can show it beside the field (`register.risks[3].probability`; rows
/// count from 0 in paths and from 1 in sentences).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    /// JSON path of the value concerned; empty for the input as a whole.
    pub path: String,
    /// The stable key of the sentence (see [`crate::message::ENGLISH`]).
    pub code: &'static str,
    /// The sentence in English (the engine's fallback language).
    pub message: String,
    /// The sentence's arguments, for rendering it in another language.
    pub args: BTreeMap<String, String>,
    /// Label key of the field the path names (`field.form.table.column`),
    /// so a translation can name the field in its own words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field_key: Option<String>,
}

impl Problem {
    pub fn new(path: impl Into<String>, message: Message) -> Problem {
        Problem {
            path: path.into(),
            code: message.key,
            message: message.to_string(),
            args: message.args,
            field_key: None,
        }
    }

    /// Names the label of the field concerned (builder style).
    pub fn with_field_key(mut self, key: Option<String>) -> Problem {
        self.field_key = key;
        self
    }

    /// The sentence in another language: its template and the field's
    /// label translated when `translate` knows them (English otherwise).
    pub fn render(&self, translate: &dyn Fn(&str) -> Option<String>) -> String {
        let mut args = self.args.clone();
        if let Some(label) = self.field_key.as_deref().and_then(translate) {
            args.insert("field".into(), label.clone());
            args.insert("what".into(), label);
        }
        Message { key: self.code, args }.render(translate)
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() { f.write_str(&self.message) } else { write!(f, "{} ({})", self.message, self.path) }
    }
}

/// Something asked for by id that does not exist, with the ids that do (or
/// the nearest one), so the caller can correct it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NotFound {
    /// What was looked for: `institution`, `plan`, `pack`, `workflow`, `role`...
    pub kind: &'static str,
    pub id: String,
    /// The nearest existing id, when one is close.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suggestion: Option<String>,
    /// The ids that exist, when there are few enough to list (at most 20).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub known: Vec<String>,
}

/// Most ids a "no such X" error lists.
const MAX_LISTED: usize = 20;

impl NotFound {
    /// A "no such X" error; `known` are the ids that exist.
    pub fn new(kind: &'static str, id: impl Into<String>, known: impl IntoIterator<Item = String>) -> NotFound {
        let id = id.into();
        let known: Vec<String> = known.into_iter().collect();
        let suggestion = did_you_mean(&id, known.iter().map(String::as_str))
            .and_then(|hint| hint.split('`').nth(1).map(str::to_string));
        let known = if known.len() <= MAX_LISTED { known } else { Vec::new() };
        NotFound { kind, id, suggestion, known }
    }
}

impl fmt::Display for NotFound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no {} `{}`", self.kind, self.id)?;
        if let Some(s) = &self.suggestion {
            write!(f, "; did you mean `{s}`?")
        } else if self.known.is_empty() {
            Ok(())
        } else {
            write!(f, "; there are: {}", self.known.join(", "))
        }
    }
}

/// Why an engine call did not do what was asked. See the module table.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    #[error("{0}")]
    NotFound(NotFound),
    /// The input itself is wrong; every problem is listed with its field path.
    #[error("{}", problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid { problems: Vec<Problem> },
    /// A guard refused the event; nothing was written.
    #[error("refused: {0}")]
    Refused(Refusal),
    /// Another writer got there first, or the thing exists already: reload and retry.
    #[error("{message}")]
    Conflict { message: String },
    /// A document was asked for whose forms hold nothing yet. It is never
    /// printed as an empty shell: `message` says, in the document's
    /// language, which forms to fill in; `problems` are the required
    /// fields the events that issue it still lack, each by its path.
    #[error("{message}")]
    NotDrafted { document: String, message: String, problems: Vec<Problem> },
    /// The data folder is held by another process, or damaged.
    #[error("{message}")]
    Unavailable { message: String },
    /// A fault of the install, not of the request.
    #[error("{message}")]
    Internal { message: String },
}

impl EngineError {
    /// A stable code for scripts and HTTP bodies.
    pub fn code(&self) -> &'static str {
        match self {
            EngineError::NotFound(_) => "not_found",
            EngineError::Invalid { .. } => "invalid",
            EngineError::Refused(_) => "refused",
            EngineError::Conflict { .. } => "conflict",
            EngineError::NotDrafted { .. } => "not_drafted",
            EngineError::Unavailable { .. } => "unavailable",
            EngineError::Internal { .. } => "internal",
        }
    }

    /// One problem without a field (the request as a whole is wrong).
    pub fn invalid(path: impl Into<String>, message: impl Into<String>) -> EngineError {
        let message = message.into();
        let mut problem = Problem::new(path, Message::new("problem.input").arg("message", &message));
        problem.message = message;
        EngineError::Invalid { problems: vec![problem] }
    }

    pub fn not_found(
        kind: &'static str,
        id: impl Into<String>,
        known: impl IntoIterator<Item = String>,
    ) -> EngineError {
        EngineError::NotFound(NotFound::new(kind, id, known))
    }

    /// The field problems of an invalid input or a refusal (empty otherwise).
    pub fn problems(&self) -> Vec<Problem> {
        match self {
            EngineError::Invalid { problems } => problems.clone(),
            EngineError::Refused(refusal) => refusal.problems(),
            EngineError::NotDrafted { problems, .. } => problems.clone(),
            _ => Vec::new(),
        }
    }
}

impl From<Refusal> for EngineError {
    fn from(refusal: Refusal) -> Self {
        EngineError::Refused(refusal)
    }
}

impl From<NotFound> for EngineError {
    fn from(not_found: NotFound) -> Self {
        EngineError::NotFound(not_found)
    }
}

impl From<StoreError> for EngineError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict { .. } | StoreError::Exists { .. } => EngineError::Conflict { message: e.to_string() },
            StoreError::Locked { .. } | StoreError::Damaged { .. } => {
                EngineError::Unavailable { message: e.to_string() }
            }
            other => EngineError::Internal { message: other.to_string() },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_suggests_the_nearest_or_lists_the_few() {
        let known = ["coordinator".to_string(), "head".to_string(), "employee".to_string()];
        assert_eq!(
            NotFound::new("role", "coordinater", known.clone()).to_string(),
            "no role `coordinater`; did you mean `coordinator`?"
        );
        assert_eq!(
            NotFound::new("role", "mayor", known).to_string(),
            "no role `mayor`; there are: coordinator, head, employee"
        );
        let many = (0..30).map(|i| format!("plan-{i}"));
        assert_eq!(NotFound::new("plan", "zzz", many).to_string(), "no plan `zzz`");
    }

    #[test]
    fn problems_render_in_another_language_with_the_field_label() {
        let p = Problem::new(
            "register.risks[3].probability",
            Message::new("problem.not_whole_number").arg("field", "Probability").arg("value", "5.5"),
        )
        .with_field_key(Some("field.register.risks.probability".into()));
        assert_eq!(p.to_string(), "Probability must be a whole number, not 5.5 (register.risks[3].probability)");
        let t = |key: &str| match key {
            "field.register.risks.probability" => Some("Vjerovatnoća".to_string()),
            "problem.not_whole_number" => Some("{field} mora biti cio broj, a ne {value}".to_string()),
            _ => None,
        };
        assert_eq!(p.render(&t), "Vjerovatnoća mora biti cio broj, a ne 5.5");
    }
}
