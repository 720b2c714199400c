//! status-trend: previous vs current residual score → the pack's symbol for
//! unchanged / increased / decreased (for example ↔ ↑ ↓). The symbols and
//! the tolerance come from the pack's `config`.

use integritas_plugin_sdk::{entry, plugin};
use serde::{Deserialize, Serialize};

plugin!(name: "status-trend", self_test: "../self_test.json");
entry!(trend => trend);
entry!(register => register);

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Symbols {
    pub unchanged: String,
    pub increased: String,
    pub decreased: String,
    /// Shown for a risk with no previous score (first review); `null` if
    /// the pack shows nothing then.
    #[serde(default)]
    pub initial: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub symbols: Symbols,
    /// A change of at most this much still counts as unchanged.
    #[serde(default)]
    pub tolerance: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrendInput {
    pub config: Config,
    #[serde(default)]
    pub previous: Option<i64>,
    pub current: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trend {
    Initial,
    Unchanged,
    Increased,
    Decreased,
}

#[derive(Debug, Serialize)]
pub struct TrendOutput {
    pub trend: Trend,
    pub symbol: Option<String>,
    /// current − previous; `null` on a first review.
    pub delta: Option<i64>,
}

#[derive(Debug, Deserialize)]
// Rows come from a pack form table, which has more columns than scoring
// needs (descriptions, owners...): unknown columns are ignored.
pub struct RiskIn {
    pub id: String,
    #[serde(default)]
    pub previous: Option<i64>,
    pub current: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterInput {
    pub config: Config,
    pub risks: Vec<RiskIn>,
}

#[derive(Debug, Serialize)]
pub struct RiskOut {
    pub id: String,
    #[serde(flatten)]
    pub trend: TrendOutput,
}

#[derive(Debug, Default, Serialize)]
pub struct Counts {
    pub initial: u64,
    pub unchanged: u64,
    pub increased: u64,
    pub decreased: u64,
}

#[derive(Debug, Serialize)]
pub struct RegisterOutput {
    pub risks: Vec<RiskOut>,
    pub counts: Counts,
}

fn classify(config: &Config, previous: Option<i64>, current: i64) -> Result<TrendOutput, String> {
    let Some(previous) = previous else {
        return Ok(TrendOutput { trend: Trend::Initial, symbol: config.symbols.initial.clone(), delta: None });
    };
    let delta =
        current.checked_sub(previous).ok_or_else(|| format!("the change from {previous} to {current} is too large"))?;
    let (trend, symbol) = if delta.unsigned_abs() <= u64::from(config.tolerance) {
        (Trend::Unchanged, &config.symbols.unchanged)
    } else if delta > 0 {
        (Trend::Increased, &config.symbols.increased)
    } else {
        (Trend::Decreased, &config.symbols.decreased)
    };
    Ok(TrendOutput { trend, symbol: Some(symbol.clone()), delta: Some(delta) })
}

/// Entry `trend`: one risk.
pub fn trend(input: TrendInput) -> Result<TrendOutput, String> {
    classify(&input.config, input.previous, input.current)
}

/// Entry `register`: every risk of a register, with counts per trend.
pub fn register(input: RegisterInput) -> Result<RegisterOutput, String> {
    let mut counts = Counts::default();
    let mut risks = Vec::with_capacity(input.risks.len());
    for r in input.risks {
        let t = classify(&input.config, r.previous, r.current).map_err(|e| format!("risk `{}`: {e}", r.id))?;
        match t.trend {
            Trend::Initial => counts.initial += 1,
            Trend::Unchanged => counts.unchanged += 1,
            Trend::Increased => counts.increased += 1,
            Trend::Decreased => counts.decreased += 1,
        }
        risks.push(RiskOut { id: r.id, trend: t });
    }
    Ok(RegisterOutput { risks, counts })
}

#[cfg(test)]
mod tests {
    use integritas_plugin_sdk::{handle, testing::check_fixture};

    #[test]
    fn self_test_fixture_passes_natively() {
        let result = check_fixture(include_str!("../self_test.json"), |entry, input| match entry {
            "trend" => Some(handle(input, super::trend)),
            "register" => Some(handle(input, super::register)),
            _ => None,
        });
        assert_eq!(result, Ok(4));
    }
}
