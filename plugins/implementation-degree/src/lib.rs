//! implementation-degree: measures by status → degree of implementation.
//! The pack names the statuses (on time / late / not implemented; realised /
//! partly / not; ...), gives each a weight in percent and says which need a
//! reason; nothing about any country is compiled in.

use integritas_plugin_sdk::{entry, plugin};
use serde::{Deserialize, Serialize};

plugin!(name: "implementation-degree", self_test: "../self_test.json");
entry!(degree => degree);

/// Whether a measure in a status must, may or must not carry a reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonRule {
    Required,
    #[default]
    Optional,
    Forbidden,
}

/// One status the pack's report form offers.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Status {
    pub name: String,
    /// How much a measure in this status counts towards the degree, in
    /// percent (100 = fully implemented, 0 = not at all). Integer so the
    /// degree is exact and identical on every machine.
    pub weight: u32,
    #[serde(default)]
    pub reason: ReasonRule,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub statuses: Vec<Status>,
}

#[derive(Debug, Deserialize)]
// Rows come from a pack form table, which has more columns than scoring
// needs (descriptions, owners...): unknown columns are ignored.
pub struct Measure {
    pub id: String,
    pub status: String,
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Input {
    pub config: Config,
    pub measures: Vec<Measure>,
}

#[derive(Debug, Serialize)]
pub struct StatusCount {
    pub status: String,
    pub weight: u32,
    pub count: u64,
    pub ids: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Reason {
    pub id: String,
    pub status: String,
    pub reason: String,
}

#[derive(Debug, Serialize)]
pub struct Output {
    pub measures: u64,
    /// Weighted share of implemented measures in percent, rounded half up
    /// to two decimals; `null` when there are no measures.
    pub degree_percent: Option<f64>,
    /// One entry per configured status, in the pack's order.
    pub by_status: Vec<StatusCount>,
    /// Every reason given, in input order (the report's "why not" column).
    pub reasons: Vec<Reason>,
}

/// Entry `degree`.
pub fn degree(input: Input) -> Result<Output, String> {
    let statuses = &input.config.statuses;
    if statuses.is_empty() {
        return Err("config: `statuses` is empty".into());
    }
    for (i, s) in statuses.iter().enumerate() {
        if s.weight > 100 {
            return Err(format!("config: status `{}` has weight {} (must be 0..=100)", s.name, s.weight));
        }
        if statuses[..i].iter().any(|t| t.name == s.name) {
            return Err(format!("config: status `{}` is declared twice", s.name));
        }
    }
    let mut by_status: Vec<StatusCount> = statuses
        .iter()
        .map(|s| StatusCount { status: s.name.clone(), weight: s.weight, count: 0, ids: Vec::new() })
        .collect();
    let mut reasons = Vec::new();
    let mut points: u64 = 0;
    let count = input.measures.len() as u64;
    for m in input.measures {
        let Some(i) = statuses.iter().position(|s| s.name == m.status) else {
            let known: Vec<&str> = statuses.iter().map(|s| s.name.as_str()).collect();
            return Err(format!(
                "measure `{}`: unknown status `{}` (expected one of: {})",
                m.id,
                m.status,
                known.join(", ")
            ));
        };
        let status = &statuses[i];
        let reason = m.reason.filter(|r| !r.trim().is_empty());
        match (status.reason, &reason) {
            (ReasonRule::Required, None) => {
                return Err(format!("measure `{}`: status `{}` needs a reason", m.id, status.name));
            }
            (ReasonRule::Forbidden, Some(_)) => {
                return Err(format!("measure `{}`: status `{}` takes no reason", m.id, status.name));
            }
            _ => {}
        }
        points += u64::from(status.weight);
        if let Some(reason) = reason {
            reasons.push(Reason { id: m.id.clone(), status: status.name.clone(), reason });
        }
        by_status[i].count += 1;
        by_status[i].ids.push(m.id);
    }
    let degree_percent = (count > 0).then(|| {
        // points / count percent, in hundredths, rounded half up.
        let hundredths = (2 * points * 100 + count) / (2 * count);
        hundredths as f64 / 100.0
    });
    Ok(Output { measures: count, degree_percent, by_status, reasons })
}

#[cfg(test)]
mod tests {
    use integritas_plugin_sdk::{handle, testing::check_fixture};

    #[test]
    fn self_test_fixture_passes_natively() {
        let result = check_fixture(include_str!("../self_test.json"), |entry, input| {
            (entry == "degree").then(|| handle(input, super::degree))
        });
        assert_eq!(result, Ok(4));
    }
}
