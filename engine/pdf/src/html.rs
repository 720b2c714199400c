//! A small, forgiving HTML reader for the pages integritas renders: tags
//! with attributes, text with character references, comments and the
//! doctype skipped, void elements, and the end tags browsers imply (`<p>`
//! before a block, `<li>`, `<tr>`, `<td>`). It never fails: whatever it
//! cannot read is kept as text, so a template's mistake shows up in the
//! PDF instead of stopping it.

/// A node of the tree: an element or a run of text (references decoded).
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Element(Element),
    Text(String),
}

/// An element with its lower-case name, its attributes in order, and its children.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Element {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Node>,
}

impl Element {
    /// An attribute's value (names are compared without case).
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// Whether the `class` attribute lists `class`.
    pub fn has_class(&self, class: &str) -> bool {
        self.attr("class").is_some_and(|c| c.split_ascii_whitespace().any(|x| x == class))
    }

    /// Every element below this one, depth first.
    pub fn descendants(&self) -> Vec<&Element> {
        let mut found = Vec::new();
        for child in &self.children {
            if let Node::Element(e) = child {
                found.push(e);
                found.extend(e.descendants());
            }
        }
        found
    }

    /// The text of this element and everything in it.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for child in &self.children {
            match child {
                Node::Text(t) => out.push_str(t),
                Node::Element(e) => out.push_str(&e.text()),
            }
        }
        out
    }
}

/// Elements that never have content or an end tag.
const VOID: [&str; 13] =
    ["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"];

/// Elements whose content is text up to their end tag, never markup.
const RAW_TEXT: [&str; 4] = ["style", "script", "title", "textarea"];

/// Elements that end an open `<p>` when they start.
const CLOSES_P: [&str; 20] = [
    "p",
    "div",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "ul",
    "ol",
    "table",
    "section",
    "article",
    "header",
    "footer",
    "blockquote",
    "pre",
    "hr",
    "dl",
    "address",
];

/// Reads a page (or a fragment) into a tree under a `#document` root.
pub fn parse(html: &str) -> Element {
    let mut stack: Vec<Element> = vec![Element { name: "#document".into(), ..Element::default() }];
    let mut rest = html;
    while !rest.is_empty() {
        let Some(lt) = rest.find('<') else {
            push_text(&mut stack, &decode(rest));
            break;
        };
        if lt > 0 {
            push_text(&mut stack, &decode(&rest[..lt]));
            rest = &rest[lt..];
        }
        if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.find("-->").map_or("", |end| &after[end + 3..]);
        } else if rest.starts_with("<!") || rest.starts_with("<?") {
            rest = rest.find('>').map_or("", |end| &rest[end + 1..]);
        } else if let Some(after) = rest.strip_prefix("</") {
            let end = after.find('>').unwrap_or(after.len());
            let name = after[..end].trim().to_ascii_lowercase();
            close(&mut stack, &name);
            rest = after.get(end + 1..).unwrap_or("");
        } else if rest[1..].starts_with(|c: char| c.is_ascii_alphabetic()) {
            let (element, self_closing, after) = start_tag(&rest[1..]);
            rest = after;
            let name = element.name.clone();
            open(&mut stack, element);
            if RAW_TEXT.contains(&name.as_str()) {
                let closing = format!("</{name}");
                let end = find_ignoring_case(rest, &closing).unwrap_or(rest.len());
                let text = &rest[..end];
                if name == "title" || name == "textarea" {
                    push_text(&mut stack, &decode(text));
                } else {
                    push_text(&mut stack, text);
                }
                rest = &rest[end..];
            } else if self_closing || VOID.contains(&name.as_str()) {
                close(&mut stack, &name);
            }
        } else {
            push_text(&mut stack, "<");
            rest = &rest[1..];
        }
    }
    while stack.len() > 1 {
        pop(&mut stack);
    }
    stack.pop().unwrap_or_default()
}

fn find_ignoring_case(haystack: &str, needle: &str) -> Option<usize> {
    let lower = haystack.to_ascii_lowercase();
    lower.find(needle)
}

/// Reads `name attr="v" …>` (the `<` already consumed): the element, whether
/// it ended in `/>`, and the text after the tag.
fn start_tag(text: &str) -> (Element, bool, &str) {
    let name_end = text.find(|c: char| c.is_ascii_whitespace() || c == '>' || c == '/').unwrap_or(text.len());
    let mut element = Element { name: text[..name_end].to_ascii_lowercase(), ..Element::default() };
    let mut rest = &text[name_end..];
    let mut self_closing = false;
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            break;
        }
        if let Some(after) = rest.strip_prefix('>') {
            rest = after;
            break;
        }
        if let Some(after) = rest.strip_prefix("/>") {
            self_closing = true;
            rest = after;
            break;
        }
        if let Some(after) = rest.strip_prefix('/') {
            rest = after;
            continue;
        }
        let end =
            rest.find(|c: char| c.is_ascii_whitespace() || c == '=' || c == '>' || c == '/').unwrap_or(rest.len());
        let name = rest[..end].to_ascii_lowercase();
        rest = rest[end..].trim_start();
        let mut value = String::new();
        if let Some(after) = rest.strip_prefix('=') {
            let after = after.trim_start();
            let (raw, remaining) = match after.chars().next() {
                Some(q @ ('"' | '\'')) => {
                    let body = &after[1..];
                    let end = body.find(q).unwrap_or(body.len());
                    (&body[..end], body.get(end + 1..).unwrap_or(""))
                }
                _ => {
                    let end = after.find(|c: char| c.is_ascii_whitespace() || c == '>').unwrap_or(after.len());
                    (&after[..end], &after[end..])
                }
            };
            value = decode(raw);
            rest = remaining;
        }
        if !name.is_empty() && element.attr(&name).is_none() {
            element.attrs.push((name, value));
        }
    }
    (element, self_closing, rest)
}

/// Opens an element, first closing what its start implies is over.
fn open(stack: &mut Vec<Element>, element: Element) {
    let name = element.name.as_str();
    let implied: &[&str] = match name {
        "li" => &["li"],
        "dt" | "dd" => &["dt", "dd"],
        "tr" => &["tr", "td", "th"],
        "td" | "th" => &["td", "th"],
        "thead" | "tbody" | "tfoot" => &["thead", "tbody", "tfoot", "tr", "td", "th"],
        _ => &[],
    };
    // Only within the nearest list or table: an `<li>` of a nested list
    // does not close the item that holds that list.
    let boundary: &[&str] = match name {
        "li" => &["ul", "ol"],
        "dt" | "dd" => &["dl"],
        _ => &["table"],
    };
    if !implied.is_empty() {
        while let Some(top) = stack.last() {
            if boundary.contains(&top.name.as_str()) || !implied.contains(&top.name.as_str()) {
                break;
            }
            pop(stack);
        }
    }
    if CLOSES_P.contains(&name) && stack.last().is_some_and(|top| top.name == "p") {
        pop(stack);
    }
    stack.push(element);
}

/// Closes the nearest open element of that name (and any left open inside
/// it); an end tag with no open element is ignored.
fn close(stack: &mut Vec<Element>, name: &str) {
    if let Some(at) = stack.iter().rposition(|e| e.name == name).filter(|at| *at > 0) {
        while stack.len() > at {
            pop(stack);
        }
    }
}

fn pop(stack: &mut Vec<Element>) {
    if stack.len() > 1
        && let Some(done) = stack.pop()
        && let Some(parent) = stack.last_mut()
    {
        parent.children.push(Node::Element(done));
    }
}

fn push_text(stack: &mut [Element], text: &str) {
    if text.is_empty() {
        return;
    }
    let Some(top) = stack.last_mut() else { return };
    if let Some(Node::Text(last)) = top.children.last_mut() {
        last.push_str(text);
    } else {
        top.children.push(Node::Text(text.to_string()));
    }
}

/// Named references templates and browsers commonly write.
const NAMED: [(&str, &str); 24] = [
    ("amp", "&"),
    ("lt", "<"),
    ("gt", ">"),
    ("quot", "\""),
    ("apos", "'"),
    ("nbsp", "\u{a0}"),
    ("ndash", "–"),
    ("mdash", "—"),
    ("hellip", "…"),
    ("laquo", "«"),
    ("raquo", "»"),
    ("bdquo", "„"),
    ("ldquo", "“"),
    ("rdquo", "”"),
    ("lsquo", "‘"),
    ("rsquo", "’"),
    ("sbquo", "‚"),
    ("copy", "©"),
    ("deg", "°"),
    ("times", "×"),
    ("middot", "·"),
    ("shy", "\u{ad}"),
    ("euro", "€"),
    ("sect", "§"),
];

/// Decodes character references (`&amp;`, `&#39;`, `&#x3D;`); an unknown or
/// broken one stays as written.
pub fn decode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let end = rest[1..].find(|c: char| !(c.is_ascii_alphanumeric() || c == '#')).map(|i| i + 1);
        let decoded = end.filter(|e| rest[*e..].starts_with(';')).and_then(|e| reference(&rest[1..e]).map(|c| (c, e)));
        match decoded {
            Some((text, e)) => {
                out.push_str(&text);
                rest = &rest[e + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn reference(name: &str) -> Option<String> {
    if let Some(number) = name.strip_prefix('#') {
        let code = match number.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => number.parse().ok()?,
        };
        return char::from_u32(code).filter(|c| *c != '\0').map(String::from);
    }
    NAMED.iter().find(|(n, _)| *n == name).map(|(_, c)| (*c).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tree as compact text: `name[attr=value](children)`, text quoted.
    fn show(node: &Node) -> String {
        match node {
            Node::Text(t) => format!("{t:?}"),
            Node::Element(e) => {
                let attrs: String = e.attrs.iter().map(|(n, v)| format!("[{n}={v}]")).collect();
                let children: Vec<String> = e.children.iter().map(show).collect();
                format!("{}{attrs}({})", e.name, children.join(" "))
            }
        }
    }

    #[track_caller]
    fn check(html: &str, expect: &str) {
        let root = parse(html);
        let got: Vec<String> = root.children.iter().map(show).collect();
        assert_eq!(got.join(" "), expect, "{html}");
    }

    #[test]
    fn reads_what_templates_write() {
        let cases = [
            ("<p>a <strong>b</strong></p>", r#"p("a " strong("b"))"#),
            ("<!DOCTYPE html><!-- x --><br>t", r#"br() "t""#),
            (r#"<td colspan="3" class='muted x' style=a:b>v</td>"#, r#"td[colspan=3][class=muted x][style=a:b]("v")"#),
            ("<p>one<p>two<div>three</div>", r#"p("one") p("two") div("three")"#),
            ("<ul><li>a<li>b<ul><li>c</ul></ul>", r#"ul(li("a") li("b" ul(li("c"))))"#),
            ("<table><tr><th>a<td>b<tr><td>c</table>", r#"table(tr(th("a") td("b")) tr(td("c")))"#),
            ("<b>x</i>y</b>", r#"b("xy")"#),
            ("a &amp; b &lt;c&gt; &#268;&#x107; &bogus; & &#0;", r#""a & b <c> Čć &bogus; & &#0;""#),
            ("<title>A &amp; B</title><style>p < q {}</style>", r#"title("A & B") style("p < q {}")"#),
            ("x < y <3", r#""x < y <3""#),
            ("<span translate=\"no\">II</span>", r#"span[translate=no]("II")"#),
            ("<img src=x/>after", r#"img[src=x/]() "after""#),
            ("<div>unclosed", r#"div("unclosed")"#),
        ];
        for (html, expect) in cases {
            check(html, expect);
        }
    }
}
