//! Data exchange for integritas plans, as libraries the CLI and the HTTP
//! server call: a table of a form (a register, measures) imported from a
//! CSV or XLSX sheet ([`import`]); tables and plugin reports exported as
//! CSV, XLSX and JSON ([`export`]); a plan's deadlines as an iCalendar feed
//! ([`calendar`]).
//!
//! Architecture invariants:
//! - An import decides nothing and writes nothing: it turns a sheet into
//!   the payload of one event, or into every problem with its sheet row and
//!   column. The caller fires that event through the engine's guards, so a
//!   refused import records nothing.
//! - Names of columns and choices are read in any language of the pack;
//!   an export in one language imports back to the same rows.
//! - Only this crate names calamine, rust_xlsxwriter and csv.

pub mod calendar;
pub mod export;
pub mod import;
pub mod sheet;

use std::fmt;
use std::str::FromStr;

pub use sheet::{Cell, Format, Sheet};

/// Why a file could not be read or written (a problem with the rows
/// themselves is an [`import::RowProblem`], not this).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExchangeError {
    /// The file is not a sheet of the format it claims (not UTF-8, not a workbook…).
    #[error("{0}")]
    Unreadable(String),
    /// A format that is not one of csv, xlsx, json (or not one this operation writes).
    #[error("{0}")]
    Format(String),
    /// The table or report asked for does not exist; the sentence lists what does.
    #[error("{0}")]
    NotFound(String),
    /// The table holds anonymous answers, which are never exported row by row.
    #[error("{0}")]
    Private(String),
    /// Writing the file failed.
    #[error("the file could not be written: {0}")]
    Write(String),
}

/// A table field named `form.field` (a register: `register.risks`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TablePath {
    pub form: String,
    pub field: String,
}

impl FromStr for TablePath {
    type Err = ExchangeError;

    fn from_str(s: &str) -> Result<Self, ExchangeError> {
        match s.split_once('.') {
            Some((form, field)) if !form.is_empty() && !field.is_empty() && !field.contains('.') => {
                Ok(TablePath { form: form.into(), field: field.into() })
            }
            _ => Err(ExchangeError::NotFound(format!(
                "`{s}` does not name a table; write it as form.field (e.g. register.risks)"
            ))),
        }
    }
}

impl fmt::Display for TablePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.form, self.field)
    }
}

/// Folds case and runs of white space, and drops a trailing `*` or `:`
/// (required markers, label colons), so that `Risk area *` finds `risk area`.
pub(crate) fn normalize(name: &str) -> String {
    let trimmed = name.trim().trim_end_matches(['*', ':']).trim();
    trimmed.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}
