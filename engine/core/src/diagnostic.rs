//! Diagnostics: what `lint` tells a methodology author, with file, line,
//! column, a stable code, the element concerned and a hint.

use std::fmt;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

/// One problem found in a definition or pack file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// A stable code (`E101`, `W201`...) that documentation and scripts can rely on.
    pub code: &'static str,
    pub file: String,
    pub line: usize,
    pub column: usize,
    /// The element concerned, e.g. `transition 3 (on "adopt")`.
    pub element: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{}:{}:{}: {severity}[{}]", self.file, self.line, self.column, self.code)?;
        if !self.element.is_empty() {
            write!(f, " {}:", self.element)?;
        }
        write!(f, " {}", self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n    hint: {hint}")?;
        }
        Ok(())
    }
}

/// A source file kept in memory so diagnostics can point into it.
#[derive(Debug, Clone)]
pub struct Source {
    pub file: String,
    pub text: String,
}

/// One step of a search for an element's position in a source file.
#[derive(Debug, Clone, Copy)]
pub enum Needle<'a> {
    /// An identifier followed by `:` (a field name), e.g. `transitions`.
    Key(&'a str),
    /// A string literal with this exact content.
    Quoted(&'a str),
    /// `id: "value"`.
    Id(&'a str),
    /// The `n`-th (from 0) occurrence of literal text, e.g. `Transition(`.
    TextNth(&'a str, usize),
}

impl Source {
    pub fn new(file: impl Into<String>, text: impl Into<String>) -> Source {
        Source { file: file.into(), text: text.into() }
    }

    /// Finds the needles one after the other and returns the (1-based) line
    /// and column of the last one found; (1, 1) when none is.
    ///
    /// Definitions are plain data without spans, so positions are recovered
    /// by searching the text for the element's own words: ids are unique
    /// within their section, which makes this exact in practice.
    pub fn locate(&self, needles: &[Needle]) -> (usize, usize) {
        let mut offset = 0;
        let mut found = None;
        for needle in needles {
            match self.find(*needle, offset) {
                Some(at) => {
                    found = Some(at);
                    offset = at + 1;
                }
                None => break,
            }
        }
        self.line_col(found.unwrap_or(0))
    }

    fn find(&self, needle: Needle, from: usize) -> Option<usize> {
        match needle {
            Needle::Key(key) => self.find_key(key, from),
            Needle::TextNth(text, n) => {
                let mut at = self.text.get(from..)?.find(text)? + from;
                for _ in 0..n {
                    at = self.text.get(at + 1..)?.find(text)? + at + 1;
                }
                Some(at)
            }
            Needle::Quoted(value) => self.text.get(from..)?.find(&format!("\"{value}\"")).map(|i| i + from),
            Needle::Id(value) => {
                let mut at = from;
                loop {
                    let key = self.find_key("id", at)?;
                    let rest = self.text.get(key + 2..)?.trim_start();
                    let rest = rest.strip_prefix(':')?.trim_start();
                    if rest.starts_with(&format!("\"{value}\"")) {
                        return Some(key);
                    }
                    at = key + 1;
                }
            }
        }
    }

    /// Position of `key` used as a field name (followed by `:`, not part of
    /// a longer identifier), at or after `from`.
    fn find_key(&self, key: &str, from: usize) -> Option<usize> {
        let bytes = self.text.as_bytes();
        let mut start = from;
        while let Some(i) = self.text.get(start..)?.find(key) {
            let at = start + i;
            let before_ok = at == 0 || !is_ident_byte(bytes[at - 1]);
            let after = self.text.get(at + key.len()..)?;
            let after_ok =
                after.trim_start().starts_with(':') && !after.starts_with(|c: char| c.is_alphanumeric() || c == '_');
            if before_ok && after_ok {
                return Some(at);
            }
            start = at + key.len();
        }
        None
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let before = self.text.get(..offset).unwrap_or(&self.text);
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
        (line, column)
    }

    /// A diagnostic at the position the needles lead to.
    pub fn diagnostic(
        &self,
        severity: Severity,
        code: &'static str,
        needles: &[Needle],
        element: impl Into<String>,
        message: impl Into<String>,
    ) -> Diagnostic {
        let (line, column) = self.locate(needles);
        Diagnostic {
            severity,
            code,
            file: self.file.clone(),
            line,
            column,
            element: element.into(),
            message: message.into(),
            hint: None,
        }
    }
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The closest candidate to a misspelt word, for "did you mean" hints.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| format!("did you mean `{c}`?"))
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_keys_ids_and_quoted_values() {
        let src = Source::new(
            "w.ron",
            "Workflow(\n  states: [\n    State(id: \"a\"),\n    State(id: \"b\", reason: \"x\"),\n  ],\n  on: \"b\",\n)",
        );
        assert_eq!(src.locate(&[Needle::Key("states")]), (2, 3));
        assert_eq!(src.locate(&[Needle::Id("b")]), (4, 11));
        // `reason:` must not be taken for `on:`.
        assert_eq!(src.locate(&[Needle::Key("on")]), (6, 3));
        assert_eq!(src.locate(&[Needle::Key("on"), Needle::Quoted("b")]), (6, 7));
        assert_eq!(src.locate(&[Needle::Quoted("nowhere")]), (1, 1));
    }

    #[test]
    fn suggests_close_words_only() {
        assert_eq!(
            did_you_mean("preperation", ["preparation", "assessment"]).as_deref(),
            Some("did you mean `preparation`?")
        );
        assert_eq!(did_you_mean("zzz", ["preparation"]), None);
    }
}
