//! Scenario files: behaviour tests a methodology author writes in RON —
//! events with roles, dates and payloads, and what is expected after each.
//! Plain data; [`crate::scenario`] runs them.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::date::Date;

/// A `scenarios/*.ron` file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename = "Scenario", deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    /// A workflow id of the pack.
    pub workflow: String,
    /// The plan is created on this date.
    pub start: Date,
    #[serde(default)]
    pub institution: Option<ScenarioInstitution>,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioInstitution {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub employees: Option<u32>,
    /// The institution it is an organisational unit of.
    #[serde(default)]
    pub parent: Option<Box<ScenarioInstitution>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Step {
    /// Fire an event and check what happened.
    Fire {
        date: Date,
        role: String,
        event: String,
        #[serde(default)]
        payload: Value,
        #[serde(default)]
        expect: Expect,
    },
    /// Check the plan at a date.
    Check {
        date: Date,
        #[serde(default)]
        state: Option<String>,
        #[serde(default)]
        cycle: Option<u32>,
        /// Exactly these deadlines are overdue.
        #[serde(default)]
        overdue: Option<Vec<String>>,
        /// Exactly these deadlines are upcoming.
        #[serde(default)]
        upcoming: Option<Vec<String>>,
        /// At least these deadlines are met.
        #[serde(default)]
        met: Vec<String>,
        /// Occurrences of deadlines: due date, status and the day met.
        #[serde(default)]
        deadlines: Vec<DeadlineCheck>,
        /// Values the plan holds: paths into `{state, cycle, data, scores,
        /// documents, obliged, notices, deadlines}` (`deadlines.<id>.0.on`).
        #[serde(default)]
        values: Vec<ValueCheck>,
    },
    /// Render one of the plan's documents and check its text.
    Document {
        date: Date,
        id: String,
        /// One of the pack's languages (default: its first).
        #[serde(default)]
        lang: Option<String>,
        /// Texts the document must contain.
        #[serde(default)]
        contains: Vec<String>,
        /// Texts it must not contain.
        #[serde(default)]
        not_contains: Vec<String>,
    },
}

/// An occurrence of a deadline as expected on a `Check`'s date. `id` is
/// the deadline's id (`id:key` for one row's occurrence); with `due`, the
/// occurrence due that day, else the first one.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename = "Deadline", deny_unknown_fields)]
pub struct DeadlineCheck {
    pub id: String,
    #[serde(default)]
    pub due: Option<Date>,
    /// `upcoming`, `overdue`, `met` (on time) or `met_late`.
    #[serde(default)]
    pub status: Option<String>,
    /// The day it was met.
    #[serde(default)]
    pub on: Option<Date>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub enum Expect {
    /// The event is recorded, wherever it leads.
    #[default]
    Accepted,
    /// The event is recorded and the plan stays where it was.
    Stayed,
    /// The event is recorded and the plan is now in this state.
    Moved(String),
    /// The event is refused by this guard, with this text in the reason.
    Refused {
        guard: String,
        #[serde(default)]
        message: String,
    },
}

/// A value the plan must hold: a dotted path into `{state, cycle, data, scores, documents}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename = "Value", deny_unknown_fields)]
pub struct ValueCheck {
    pub path: String,
    pub equals: Value,
}

/// What running one scenario found.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub file: String,
    pub name: String,
    pub steps: usize,
    /// One line per failed step: `step N: what went wrong`.
    pub failures: Vec<String>,
}

impl Report {
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}
