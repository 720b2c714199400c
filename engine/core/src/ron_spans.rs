//! Where each element of a RON file is written: a small reader that keeps
//! the byte offset of every struct, list item, map entry and field, so a
//! diagnostic about `transitions[3].conditions[1]` points at that condition
//! and not at the first text that looks like it.
//!
//! It only locates; parsing into definitions is serde's and `ron`'s job. A
//! file it cannot read (a syntax error) simply has no spans, and
//! diagnostics fall back to searching the text.

/// One element of a RON document and where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Byte offset of the element's first character.
    pub start: usize,
    /// Byte offset just past its last character.
    pub end: usize,
    /// Named fields (`id: "x"`) of a struct, keys of a map (as written,
    /// quotes removed), in order.
    pub fields: Vec<(String, usize, Node)>,
    /// Unnamed items: of a list, or of a tuple / tuple variant (`Any([...])`).
    pub items: Vec<Node>,
}

impl Node {
    fn leaf(start: usize, end: usize) -> Node {
        Node { start, end, fields: Vec::new(), items: Vec::new() }
    }

    /// The value of a named field and the offset of its name.
    pub fn field(&self, name: &str) -> Option<(usize, &Node)> {
        self.fields.iter().find(|(n, _, _)| n == name).map(|(_, at, node)| (*at, node))
    }

    /// The `n`-th unnamed item (from 0) of a list or tuple. A tuple variant
    /// holding a list (`Any([a, b])`) has that list as its item 0.
    pub fn item(&self, n: usize) -> Option<&Node> {
        self.items.get(n)
    }
}

/// Reads a RON text into its element tree; `None` on anything it cannot read.
pub fn parse(text: &str) -> Option<Node> {
    let mut reader = Reader { text: text.as_bytes(), at: 0, depth: 0 };
    reader.skip_space();
    // A file may start with `#![enable(...)]` attributes.
    while reader.peek() == Some(b'#') {
        reader.skip_until(b']')?;
        reader.at += 1;
        reader.skip_space();
    }
    let node = reader.value()?;
    reader.skip_space();
    (reader.at == text.len()).then_some(node)
}

/// Deepest nesting read; deeper files are left to `ron`'s own error.
const MAX_DEPTH: usize = 128;

struct Reader<'a> {
    text: &'a [u8],
    at: usize,
    depth: usize,
}

impl Reader<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    fn skip_until(&mut self, byte: u8) -> Option<()> {
        while self.peek()? != byte {
            self.at += 1;
        }
        Some(())
    }

    fn skip_space(&mut self) {
        loop {
            match (self.peek(), self.text.get(self.at + 1).copied()) {
                (Some(c), _) if c.is_ascii_whitespace() => self.at += 1,
                (Some(b'/'), Some(b'/')) => {
                    while self.peek().is_some_and(|c| c != b'\n') {
                        self.at += 1;
                    }
                }
                (Some(b'/'), Some(b'*')) => {
                    self.at += 2;
                    while self.at + 1 < self.text.len() && &self.text[self.at..self.at + 2] != b"*/" {
                        self.at += 1;
                    }
                    self.at = (self.at + 2).min(self.text.len());
                }
                _ => return,
            }
        }
    }

    fn value(&mut self) -> Option<Node> {
        self.skip_space();
        let start = self.at;
        match self.peek()? {
            b'"' => {
                self.string()?;
                Some(Node::leaf(start, self.at))
            }
            b'r' if matches!(self.text.get(self.at + 1), Some(b'"' | b'#')) => {
                self.raw_string()?;
                Some(Node::leaf(start, self.at))
            }
            b'[' => self.group(start, b']'),
            b'{' => self.group(start, b'}'),
            b'(' => self.group(start, b')'),
            b'\'' => {
                self.at += 1;
                if self.peek()? == b'\\' {
                    self.at += 1;
                }
                self.at += 1;
                self.skip_until(b'\'')?;
                self.at += 1;
                Some(Node::leaf(start, self.at))
            }
            c if c.is_ascii_alphanumeric() || c == b'_' || c == b'-' || c == b'+' || c == b'.' => {
                while self.peek().is_some_and(|c| c.is_ascii_alphanumeric() || b"_-+.".contains(&c)) {
                    self.at += 1;
                }
                let ident_end = self.at;
                self.skip_space();
                if self.peek() == Some(b'(') {
                    // A named struct or tuple variant: `Transition(...)`, `Fixed("...")`.
                    let mut node = self.group(self.at, b')')?;
                    node.start = start;
                    return Some(node);
                }
                self.at = ident_end;
                Some(Node::leaf(start, ident_end))
            }
            _ => None,
        }
    }

    fn string(&mut self) -> Option<()> {
        self.at += 1;
        loop {
            match self.peek()? {
                b'\\' => self.at += 2,
                b'"' => {
                    self.at += 1;
                    return Some(());
                }
                _ => self.at += 1,
            }
        }
    }

    fn raw_string(&mut self) -> Option<()> {
        self.at += 1;
        let mut hashes = 0;
        while self.peek()? == b'#' {
            hashes += 1;
            self.at += 1;
        }
        if self.peek()? != b'"' {
            return None;
        }
        self.at += 1;
        loop {
            if self.peek()? == b'"'
                && self.text[self.at + 1..].iter().take(hashes).filter(|c| **c == b'#').count() == hashes
            {
                self.at += 1 + hashes;
                return Some(());
            }
            self.at += 1;
        }
    }

    /// A `( ... )`, `[ ... ]` or `{ ... }` group of fields and items.
    fn group(&mut self, start: usize, close: u8) -> Option<Node> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        self.at += 1;
        let mut node = Node::leaf(start, start);
        loop {
            self.skip_space();
            if self.peek()? == close {
                self.at += 1;
                break;
            }
            let item_start = self.at;
            let first = self.value()?;
            self.skip_space();
            if self.peek()? == b':' {
                self.at += 1;
                let value = self.value()?;
                let raw = std::str::from_utf8(&self.text[first.start..first.end]).ok()?;
                let name = raw.trim_matches('"').to_string();
                node.fields.push((name, item_start, value));
            } else {
                node.items.push(first);
            }
            self.skip_space();
            match self.peek()? {
                b',' => self.at += 1,
                c if c == close => {}
                _ => return None,
            }
        }
        node.end = self.at;
        self.depth -= 1;
        Some(node)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_fields_items_and_nested_conditions() {
        let text = "Workflow(\n  id: \"x\", // a comment\n  transitions: [\n    Transition(on: \"a\", conditions: [Count(path: \"f.m\"), Any([Filled(path: \"f.n\"), Range(path: \"f.m\")])]),\n  ],\n  cycle: {\"k\": r#\"raw \"q\"\"#},\n)";
        let root = parse(text).expect("parses");
        let (_, transitions) = root.field("transitions").expect("transitions");
        let t = transitions.item(0).expect("first transition");
        let (_, conditions) = t.field("conditions").expect("conditions");
        let any = conditions.item(1).expect("Any");
        let range = any.item(0).and_then(|list| list.item(1)).expect("the Range inside Any");
        assert!(text[range.start..].starts_with("Range(path: \"f.m\")"), "{}", &text[range.start..]);
        assert_eq!(root.field("cycle").map(|(_, c)| c.fields[0].0.as_str()), Some("k"));
    }

    #[test]
    fn a_syntax_error_has_no_spans() {
        assert_eq!(parse("Workflow(id: \"x\" roles: [])"), None);
        assert_eq!(parse("Workflow(id: \"x\","), None);
    }
}
