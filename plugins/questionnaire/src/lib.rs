//! questionnaire: aggregates anonymous answers per process and question and
//! suppresses every group smaller than the pack's minimum size, so nobody
//! can tell who answered what. Questions and the minimum come from `config`.

use std::collections::BTreeMap;

use integritas_plugin_sdk::{entry, plugin};
use serde::{Deserialize, Serialize};

plugin!(name: "questionnaire", self_test: "../self_test.json");
entry!(aggregate => aggregate);

/// A question of the pack's questionnaire.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Question {
    /// One of a fixed list of options (counted per option).
    Choice { id: String, options: Vec<String> },
    /// A whole number on an inclusive scale (counted per value, plus a mean).
    Scale { id: String, min: i64, max: i64 },
}

impl Question {
    fn id(&self) -> &str {
        match self {
            Question::Choice { id, .. } | Question::Scale { id, .. } => id,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Groups (a process, or a process × question) with fewer answers than
    /// this are shown as suppressed, without their count.
    pub min_group_size: u64,
    pub questions: Vec<Question>,
}

/// An answer as the form stores it: an option name or a scale value.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Answer {
    Number(i64),
    Text(String),
}

/// A cell of a flat form row: an answer, or something that is not one.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Cell {
    Answer(Answer),
    Other(serde::de::IgnoredAny),
}

/// One anonymous response: which process it is about and the answers given
/// (unanswered questions are simply absent). It carries no respondent.
///
/// Answers come either nested (`answers: {question: value}`) or, as a pack
/// form table stores them, flat: every column named like a question is its
/// answer, and the other columns are ignored.
#[derive(Debug, Deserialize)]
pub struct Response {
    pub process: String,
    #[serde(default)]
    pub answers: BTreeMap<String, Answer>,
    #[serde(flatten)]
    pub columns: BTreeMap<String, Cell>,
}

impl Response {
    /// The answers given, nested ones first, then question-named columns.
    fn given<'a>(&'a self, config: &'a Config) -> Vec<(&'a str, &'a Answer)> {
        let nested = self.answers.iter().map(|(q, a)| (q.as_str(), a));
        let flat = self.columns.iter().filter_map(|(column, cell)| match cell {
            Cell::Answer(a) if config.questions.iter().any(|q| q.id() == column) => Some((column.as_str(), a)),
            _ => None,
        });
        nested.chain(flat).collect()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Input {
    pub config: Config,
    pub responses: Vec<Response>,
}

#[derive(Debug, Serialize)]
pub struct OptionCount {
    pub option: String,
    pub count: u64,
}

#[derive(Debug, Serialize)]
pub struct QuestionResult {
    pub question: String,
    pub suppressed: bool,
    /// Number of answers; `null` when suppressed.
    pub answers: Option<u64>,
    /// Per option (choice) or per value (scale), in the pack's order; `null`
    /// when suppressed.
    pub counts: Option<Vec<OptionCount>>,
    /// Mean of a scale question rounded half up to two decimals; `null` for
    /// choice questions and suppressed groups.
    pub mean: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct ProcessResult {
    pub process: String,
    pub suppressed: bool,
    /// Number of responses; `null` when suppressed.
    pub respondents: Option<u64>,
    pub questions: Vec<QuestionResult>,
}

#[derive(Debug, Serialize)]
pub struct Output {
    pub min_group_size: u64,
    /// One entry per process, sorted by name.
    pub processes: Vec<ProcessResult>,
}

/// Per process: response count and, per question index, counts per
/// option/value index and the sum of scale values.
#[derive(Default)]
struct Tally {
    respondents: u64,
    questions: Vec<(Vec<u64>, i64)>,
}

/// Entry `aggregate`.
pub fn aggregate(input: Input) -> Result<Output, String> {
    let config = &input.config;
    if config.min_group_size == 0 {
        return Err("config: `min_group_size` must be at least 1".into());
    }
    for (i, q) in config.questions.iter().enumerate() {
        if config.questions[..i].iter().any(|p| p.id() == q.id()) {
            return Err(format!("config: question `{}` is declared twice", q.id()));
        }
        if let Question::Scale { id, min, max } = q
            && (max < min || max - min >= 1000)
        {
            return Err(format!("config: question `{id}` has a bad scale {min}..={max}"));
        }
    }
    let width = |q: &Question| match q {
        Question::Choice { options, .. } => options.len(),
        Question::Scale { min, max, .. } => (max - min + 1) as usize,
    };
    let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
    for (n, response) in input.responses.into_iter().enumerate() {
        let tally = tallies.entry(response.process.clone()).or_default();
        if tally.questions.is_empty() {
            tally.questions = config.questions.iter().map(|q| (vec![0; width(q)], 0)).collect();
        }
        tally.respondents += 1;
        for (qid, answer) in response.given(config) {
            let Some(qi) = config.questions.iter().position(|q| q.id() == qid) else {
                return Err(format!("response {n}: unknown question `{qid}`"));
            };
            let slot = &mut tally.questions[qi];
            match (&config.questions[qi], answer) {
                (Question::Choice { options, .. }, Answer::Text(t)) => {
                    let Some(oi) = options.iter().position(|o| o == t) else {
                        return Err(format!(
                            "response {n}: `{t}` is not an option of question `{qid}` (expected one of: {})",
                            options.join(", ")
                        ));
                    };
                    slot.0[oi] += 1;
                }
                (Question::Scale { min, max, .. }, Answer::Number(v)) if (min..=max).contains(&v) => {
                    slot.0[(v - min) as usize] += 1;
                    slot.1 += v;
                }
                (Question::Scale { min, max, .. }, _) => {
                    return Err(format!("response {n}: question `{qid}` takes a whole number {min}..={max}"));
                }
                (Question::Choice { .. }, Answer::Number(_)) => {
                    return Err(format!("response {n}: question `{qid}` takes one of its options, not a number"));
                }
            }
        }
    }
    let min = config.min_group_size;
    let processes = tallies
        .into_iter()
        .map(|(process, tally)| {
            let suppressed = tally.respondents < min;
            let questions = config
                .questions
                .iter()
                .zip(tally.questions)
                .map(|(q, (counts, sum))| {
                    let answered: u64 = counts.iter().sum();
                    if suppressed || answered < min {
                        return QuestionResult {
                            question: q.id().to_string(),
                            suppressed: true,
                            answers: None,
                            counts: None,
                            mean: None,
                        };
                    }
                    let (labels, mean): (Vec<String>, Option<f64>) = match q {
                        Question::Choice { options, .. } => (options.clone(), None),
                        Question::Scale { min: lo, max: hi, .. } => {
                            let n = answered as i64;
                            // sum / n in hundredths, rounded half up (values may be negative).
                            let hundredths = (2 * sum * 100 + n).div_euclid(2 * n);
                            ((*lo..=*hi).map(|v| v.to_string()).collect(), Some(hundredths as f64 / 100.0))
                        }
                    };
                    QuestionResult {
                        question: q.id().to_string(),
                        suppressed: false,
                        answers: Some(answered),
                        counts: Some(
                            labels
                                .into_iter()
                                .zip(counts)
                                .map(|(option, count)| OptionCount { option, count })
                                .collect(),
                        ),
                        mean,
                    }
                })
                .collect();
            ProcessResult { process, suppressed, respondents: (!suppressed).then_some(tally.respondents), questions }
        })
        .collect();
    Ok(Output { min_group_size: min, processes })
}

#[cfg(test)]
mod tests {
    use integritas_plugin_sdk::{handle, testing::check_fixture};

    #[test]
    fn self_test_fixture_passes_natively() {
        let result = check_fixture(include_str!("../self_test.json"), |entry, input| {
            (entry == "aggregate").then(|| handle(input, super::aggregate))
        });
        assert_eq!(result, Ok(4));
    }
}
