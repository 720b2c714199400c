//! Diagnostics: what `lint` tells a methodology author, with file, line,
//! column, a stable code, the element concerned and a hint.

use std::fmt;

use serde::Serialize;

use crate::ron_spans::{self, Node};

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
    /// The line of the file the position is on, as written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_line: Option<String>,
}

impl Diagnostic {
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// A diagnostic about a whole file (no position within it).
    pub fn file(
        severity: Severity,
        code: &'static str,
        file: impl Into<String>,
        message: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic {
            severity,
            code,
            file: file.into(),
            line: 1,
            column: 1,
            element: String::new(),
            message: message.into(),
            hint: None,
            source_line: None,
        }
    }

    /// The diagnostic for a person: the `file:line:column` line, then the
    /// offending source line with a caret under the column, then the hint.
    pub fn render(&self) -> String {
        let mut out = self.headline();
        if let Some(text) = &self.source_line {
            let number = self.line.to_string();
            let pad = " ".repeat(number.len());
            let shown: String = text.chars().map(|c| if c == '\t' { ' ' } else { c }).collect();
            let caret = " ".repeat(self.column.saturating_sub(1).min(shown.chars().count()));
            out.push_str(&format!("\n {pad} |\n {number} | {shown}\n {pad} | {caret}^"));
        }
        if let Some(hint) = &self.hint {
            out.push_str(&format!("\n    hint: {hint}"));
        }
        out
    }

    fn headline(&self) -> String {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut out = format!("{}:{}:{}: {severity}[{}]", self.file, self.line, self.column, self.code);
        if !self.element.is_empty() {
            out.push_str(&format!(" {}:", self.element));
        }
        out.push_str(&format!(" {}", self.message));
        out
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.headline())?;
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
    /// Where each element is written (none when the file is not valid RON).
    spans: Option<Node>,
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
    /// A named field of the element found so far (`transitions`).
    Field(&'a str),
    /// The `n`-th (from 0) item of the list found so far.
    Item(usize),
}

impl Source {
    pub fn new(file: impl Into<String>, text: impl Into<String>) -> Source {
        let text = text.into();
        Source { file: file.into(), spans: ron_spans::parse(&text), text }
    }

    /// Finds the needles one after the other and returns the (1-based) line
    /// and column of the last one found; (1, 1) when none is.
    ///
    /// Structural needles (`Field`, `Item`, `Id`) walk the file's element
    /// tree, so the position is the element's own; text needles (`Quoted`,
    /// `Key`) search only inside the element reached so far.
    pub fn locate(&self, needles: &[Needle]) -> (usize, usize) {
        let mut node = self.spans.as_ref();
        let (mut from, mut until) = (0, self.text.len());
        let mut found = None;
        for needle in needles {
            let step = match (*needle, node) {
                (Needle::Field(name), Some(n)) => match n.field(name) {
                    Some((at, child)) => Some((at, Some(child))),
                    None => self.find(Needle::Key(name), from, until).map(|at| (at, None)),
                },
                (Needle::Item(i), Some(n)) => n.item(i).map(|child| (child.start, Some(child))),
                // An optional section: a forms file is the list itself, a workflow has it under `forms:`.
                (Needle::Key(name), Some(n)) => match n.field(name) {
                    Some((at, child)) => Some((at, Some(child))),
                    None => continue,
                },
                (Needle::Id(id), Some(n)) => match Self::with_id(n, id, &self.text) {
                    Some(child) => Some((child.start, Some(child))),
                    None => self.find(Needle::Id(id), from, until).map(|at| (at, None)),
                },
                (Needle::Field(name), None) => self.find(Needle::Key(name), from, until).map(|at| (at, None)),
                (Needle::Item(_), None) => continue,
                (text, _) => self.find(text, from, until).map(|at| (at, None)),
            };
            let Some((at, child)) = step else { break };
            found = Some(at);
            match child {
                Some(child) => {
                    node = Some(child);
                    (from, until) = (child.start, child.end);
                }
                None => {
                    node = None;
                    from = at + 1;
                }
            }
        }
        self.line_col(found.unwrap_or(0))
    }

    /// The item of a list (or the list in a field) whose `id` is `id`.
    fn with_id<'n>(node: &'n Node, id: &str, text: &str) -> Option<&'n Node> {
        let quoted = format!("\"{id}\"");
        node.items
            .iter()
            .find(|item| item.field("id").is_some_and(|(_, v)| text.get(v.start..v.end) == Some(quoted.as_str())))
    }

    fn find(&self, needle: Needle, from: usize, until: usize) -> Option<usize> {
        let found = self.find_from(needle, from)?;
        (found < until).then_some(found)
    }

    fn find_from(&self, needle: Needle, from: usize) -> Option<usize> {
        match needle {
            Needle::Field(key) | Needle::Key(key) => self.find_key(key, from),
            Needle::Item(_) => Some(from),
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

    /// The text of a 1-based line.
    pub fn line_text(&self, line: usize) -> Option<&str> {
        self.text.lines().nth(line.checked_sub(1)?)
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
        self.at(severity, code, line, column, element, message)
    }

    /// A diagnostic at a known line and column, with that line of the text.
    pub fn at(
        &self,
        severity: Severity,
        code: &'static str,
        line: usize,
        column: usize,
        element: impl Into<String>,
        message: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic {
            severity,
            code,
            file: self.file.clone(),
            line,
            column,
            element: element.into(),
            message: message.into(),
            hint: None,
            source_line: self.line_text(line).map(str::to_string),
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
