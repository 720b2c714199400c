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
        #[serde(default)]
        values: Vec<ValueCheck>,
    },
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
