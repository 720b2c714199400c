//! risk-matrix: probability × impact on pack-defined scales → score, level,
//! urgency and heat-map cell. Every scale, threshold and name comes from the
//! pack's `config`; nothing about any country is compiled in.

use integritas_plugin_sdk::{entry, plugin};
use serde::{Deserialize, Serialize};

plugin!(name: "risk-matrix", self_test: "../self_test.json");
entry!(score => score);
entry!(register => register);

/// One axis of the matrix, as the pack declares it (inclusive bounds).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scale {
    pub min: i64,
    pub max: i64,
    /// What the pack calls this axis ("vjerovatnoća", "verovatnoća", ...),
    /// used in rejection messages so they read in the pack's words.
    #[serde(default)]
    pub label: Option<String>,
}

/// One band of scores (inclusive), with its name and the urgency of the
/// measures it calls for (absent where the methodology has none).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Level {
    pub name: String,
    pub min: i64,
    pub max: i64,
    #[serde(default)]
    pub urgency: Option<String>,
}

/// The pack's methodology: two scales and the score bands, lowest first.
/// The score is always probability × impact.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub probability: Scale,
    pub impact: Scale,
    pub levels: Vec<Level>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoreInput {
    pub config: Config,
    pub probability: i64,
    pub impact: i64,
}

/// Zero-based heat-map cell: rows are probability ascending from the scale's
/// minimum, columns impact ascending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Cell {
    pub row: i64,
    pub column: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Scored {
    pub score: i64,
    pub level: String,
    pub urgency: Option<String>,
    pub cell: Cell,
}

#[derive(Debug, Deserialize)]
// Rows come from a pack form table, which has more columns than scoring
// needs (descriptions, owners...): unknown columns are ignored.
pub struct RiskIn {
    pub id: String,
    pub probability: i64,
    pub impact: i64,
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
    pub scored: Scored,
}

#[derive(Debug, Serialize)]
pub struct LevelCount {
    pub level: String,
    pub count: u64,
}

#[derive(Debug, Serialize)]
pub struct RegisterOutput {
    pub risks: Vec<RiskOut>,
    /// One entry per configured level, in the pack's order.
    pub counts: Vec<LevelCount>,
    /// `heat_map[row][column]` = number of risks in that cell.
    pub heat_map: Vec<Vec<u64>>,
}

/// Largest side of the matrix: a methodology with more steps than this is a
/// configuration mistake, and the bound keeps the heat map small.
const MAX_SCALE_STEPS: i64 = 100;

impl Config {
    /// Checks the pack's methodology: sane scales, and levels that cover
    /// every reachable score exactly once, in ascending order.
    fn check(&self) -> Result<(), String> {
        for (axis, s) in [("probability", &self.probability), ("impact", &self.impact)] {
            if s.min < 1 || s.max < s.min || s.max - s.min + 1 > MAX_SCALE_STEPS {
                return Err(format!(
                    "config: the {axis} scale {}..={} must start at 1 or more and have at most {MAX_SCALE_STEPS} steps",
                    s.min, s.max
                ));
            }
        }
        let (lowest, highest) = (self.probability.min * self.impact.min, self.probability.max * self.impact.max);
        let Some(first) = self.levels.first() else {
            return Err("config: `levels` is empty".into());
        };
        if first.min > lowest {
            return Err(format!(
                "config: level `{}` starts at {} but the lowest score is {lowest}",
                first.name, first.min
            ));
        }
        for pair in self.levels.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            if b.min != a.max + 1 {
                return Err(format!(
                    "config: level `{}` must start at {} (right after `{}` ends), not {}",
                    b.name,
                    a.max + 1,
                    a.name,
                    b.min
                ));
            }
        }
        for l in &self.levels {
            if l.max < l.min {
                return Err(format!("config: level `{}` ends ({}) before it starts ({})", l.name, l.max, l.min));
            }
        }
        if let Some(last) = self.levels.last()
            && last.max < highest
        {
            return Err(format!(
                "config: level `{}` ends at {} but the highest score is {highest}",
                last.name, last.max
            ));
        }
        Ok(())
    }

    fn axis<'a>(&'a self, scale: &'a Scale, default: &'a str) -> &'a str {
        scale.label.as_deref().unwrap_or(default)
    }

    /// Scores one risk; assumes [`Config::check`] passed.
    fn score(&self, probability: i64, impact: i64) -> Result<Scored, String> {
        for (value, scale, name) in [(probability, &self.probability, "probability"), (impact, &self.impact, "impact")]
        {
            if value < scale.min || value > scale.max {
                return Err(format!(
                    "{} {value} is outside the scale {}..={}",
                    self.axis(scale, name),
                    scale.min,
                    scale.max
                ));
            }
        }
        let score = probability * impact;
        let level = self
            .levels
            .iter()
            .find(|l| (l.min..=l.max).contains(&score))
            .ok_or_else(|| format!("config: no level covers the score {score}"))?;
        Ok(Scored {
            score,
            level: level.name.clone(),
            urgency: level.urgency.clone(),
            cell: Cell { row: probability - self.probability.min, column: impact - self.impact.min },
        })
    }
}

/// Entry `score`: one risk.
pub fn score(input: ScoreInput) -> Result<Scored, String> {
    input.config.check()?;
    input.config.score(input.probability, input.impact)
}

/// Entry `register`: a whole risk register in one call, with per-level
/// counts and the heat map. One out-of-scale risk rejects the call, naming it.
pub fn register(input: RegisterInput) -> Result<RegisterOutput, String> {
    let config = &input.config;
    config.check()?;
    let rows = (config.probability.max - config.probability.min + 1) as usize;
    let columns = (config.impact.max - config.impact.min + 1) as usize;
    let mut heat_map = vec![vec![0u64; columns]; rows];
    let mut counts: Vec<LevelCount> =
        config.levels.iter().map(|l| LevelCount { level: l.name.clone(), count: 0 }).collect();
    let mut risks = Vec::with_capacity(input.risks.len());
    for risk in input.risks {
        let scored = config.score(risk.probability, risk.impact).map_err(|e| format!("risk `{}`: {e}", risk.id))?;
        heat_map[scored.cell.row as usize][scored.cell.column as usize] += 1;
        if let Some(c) = counts.iter_mut().find(|c| c.level == scored.level) {
            c.count += 1;
        }
        risks.push(RiskOut { id: risk.id, scored });
    }
    Ok(RegisterOutput { risks, counts, heat_map })
}

#[cfg(test)]
mod tests {
    use integritas_plugin_sdk::{handle, testing::check_fixture};

    #[test]
    fn self_test_fixture_passes_natively() {
        let result = check_fixture(include_str!("../self_test.json"), |entry, input| match entry {
            "score" => Some(handle(input, super::score)),
            "register" => Some(handle(input, super::register)),
            _ => None,
        });
        assert_eq!(result, Ok(5));
    }
}
