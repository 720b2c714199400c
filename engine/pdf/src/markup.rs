//! HTML, as pack templates write it, into typst markup.
//!
//! Every piece of text (from a template or from a user's form) becomes a
//! typst string literal, `#"…"`, with `\` and `"` escaped: in a string
//! nothing is markup or code, so no text can inject typst. Everything
//! else in the output is written here from a fixed vocabulary (element
//! names, checked numbers, colours checked to be hex), never copied from
//! the input. After an embedded expression the output only ever has `#`,
//! `]`, `)`, `,` or a line break, so no text can extend an expression into
//! a call or a field access.
//!
//! What is translated: the elements and classes the shared page
//! (`templates/page.hbs`) styles and the templates use — headings,
//! paragraphs, `strong`/`em`/`u`, `br`, `div`/`span` with the page's
//! classes, lists, tables with `thead`/`tbody`, `colspan` and `rowspan` —
//! and a few inline styles: `text-align`, `background`, `color`,
//! `font-weight`, `font-style`, `white-space: pre-line`, `writing-mode`
//! and `width` in percent. Anything else keeps its text and loses its
//! look.

use integritas_core::page::PageSetup;
use integritas_core::render::DRAFT_CLASS;

use crate::html::{self, Element, Node};

/// Font families in the order typst tries them for a character; all are
/// embedded (see `fonts.rs`).
const FONTS: &str = r#"("Libertinus Serif", "New Computer Modern", "DejaVu Sans Mono")"#;

/// Page margins in millimetres: the shared page's 2 cm, and 1.5 cm on a
/// landscape page, whose point is room for wide tables.
const MARGIN_MM: f64 = 20.0;
const LANDSCAPE_MARGIN_MM: f64 = 15.0;

/// Columns from which a table's text gets smaller, so that a register
/// keeps words whole in its narrow columns.
const WIDE_TABLE_COLUMNS: usize = 9;

/// Limits on spans, so a hostile `colspan` cannot make a table of
/// millions of cells (browsers cap at 1,000 and 65,534).
const MAX_COLSPAN: usize = 100;
const MAX_ROWSPAN: usize = 1_000;

/// The whole typst source of an HTML page on `page`.
pub fn translate(html: &str, page: PageSetup) -> String {
    let root = html::parse(html);
    let all = root.descendants();
    let title = all.iter().find(|e| e.name == "title").map(|e| collapse(&e.text()).trim().to_string());
    let lang = all.iter().find(|e| e.name == "html").and_then(|e| e.attr("lang")).and_then(typst_lang);
    let draft = all.iter().find(|e| e.has_class(DRAFT_CLASS)).map(|e| collapse(&e.text()).trim().to_string());
    let body = all.iter().find(|e| e.name == "body").copied().unwrap_or(&root);
    let mut out = preamble(page, title.as_deref(), lang.as_deref(), draft.as_deref());
    out.push_str(&flow(&body.children, Ctx { line_mm: line_mm(page), ..Ctx::default() }));
    out.push('\n');
    out
}

/// The body of a fragment alone, without the page's set and show rules
/// (for tests of the translation).
pub fn body(html: &str) -> String {
    flow(&html::parse(html).children, Ctx::default())
}

fn preamble(page: PageSetup, title: Option<&str>, lang: Option<&str>, draft: Option<&str>) -> String {
    let (width, height) = page.dimensions_mm();
    let margin = if page.is_landscape() { LANDSCAPE_MARGIN_MM } else { MARGIN_MM };
    let mut out = String::new();
    if let Some(title) = title.filter(|t| !t.is_empty()) {
        out.push_str(&format!("#set document(title: {})\n", string(title)));
    }
    let background = match draft.filter(|d| !d.is_empty()) {
        // A draft says so on every page, behind the text.
        Some(mark) => format!(
            ", background: place(center + horizon, rotate(-35deg, text(size: 72pt, weight: \"bold\", fill: rgb(187, 0, 0, 32))[#{}]))",
            string(mark)
        ),
        None => String::new(),
    };
    out.push_str(&format!(
        "#set page(width: {}mm, height: {}mm, margin: {}mm, numbering: \"1 / 1\", number-align: center + bottom{background})\n",
        number(width),
        number(height),
        number(margin)
    ));
    let lang = lang.map(|l| format!(", lang: {}", string(l))).unwrap_or_default();
    out.push_str(&format!("#set text(font: {FONTS}, size: 11pt{lang})\n"));
    out.push_str(concat!(
        "#set par(leading: 0.55em, spacing: 0.8em)\n",
        "#set table(stroke: 0.5pt + rgb(\"#555555\"), inset: (x: 3pt, y: 2.5pt), align: left + top)\n",
        "#show table: set text(size: 9.5pt)\n",
        "#show heading: set block(above: 1.2em, below: 0.8em)\n",
        "#show heading.where(level: 1): it => block(width: 100%, above: 1.5em, below: 1em, align(center, text(size: 14pt, upper(it.body))))\n",
        "#show heading.where(level: 2): set text(size: 12pt)\n",
        "#show heading.where(level: 3): set text(size: 11pt)\n",
    ));
    out
}

/// What a child inherits from the elements around it.
#[derive(Debug, Clone, Copy)]
struct Ctx {
    /// `white-space: pre-line`: line breaks in text are kept.
    pre_line: bool,
    /// Inside the shared page's `.header`, where `.number` and `.date` are blocks.
    in_header: bool,
    /// The width of the page's text line in millimetres, which tables share out.
    line_mm: f64,
}

impl Default for Ctx {
    fn default() -> Self {
        Ctx { pre_line: false, in_header: false, line_mm: line_mm(PageSetup::default()) }
    }
}

/// Elements that start on their own line (the rest flow in a paragraph).
const BLOCKS: [&str; 31] = [
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
    "li",
    "table",
    "section",
    "article",
    "header",
    "footer",
    "main",
    "nav",
    "aside",
    "address",
    "blockquote",
    "figure",
    "body",
    "html",
    "dl",
    "dt",
    "dd",
    "pre",
    "hr",
    "caption",
    "form",
];

/// Elements with nothing to print.
const SKIPPED: [&str; 11] =
    ["head", "style", "script", "title", "meta", "link", "img", "col", "colgroup", "template", "noscript"];

fn is_block(node: &Node, ctx: Ctx) -> bool {
    match node {
        Node::Text(_) => false,
        Node::Element(e) => BLOCKS.contains(&e.name.as_str()) || displays_as_block(e, ctx),
    }
}

/// Spans the shared page shows as blocks: `.header .number`, `.header
/// .date`, and anything styled `display: block`.
fn displays_as_block(e: &Element, ctx: Ctx) -> bool {
    style(e, "display").is_some_and(|d| d == "block")
        || (ctx.in_header && e.name == "span" && (e.has_class("number") || e.has_class("date")))
}

/// Children in order: inline ones run together into paragraphs, blocks
/// on their own lines; white space next to a block is not text.
fn flow(children: &[Node], ctx: Ctx) -> String {
    let mut out = String::new();
    for (i, child) in children.iter().enumerate() {
        match child {
            Node::Text(text) => {
                let blank = text.chars().all(char::is_whitespace);
                let beside_block = i == 0
                    || i + 1 == children.len()
                    || children.get(i.wrapping_sub(1)).is_some_and(|n| is_block(n, ctx))
                    || children.get(i + 1).is_some_and(|n| is_block(n, ctx));
                if blank && beside_block && !(ctx.pre_line && text.contains('\n')) {
                    continue;
                }
                out.push_str(&text_markup(text, ctx));
            }
            Node::Element(e) => {
                let markup = element(e, ctx);
                if markup.is_empty() {
                    continue;
                }
                if is_block(child, ctx) && !out.is_empty() && !out.ends_with('\n') {
                    out.push('\n');
                }
                out.push_str(&markup);
                if is_block(child, ctx) {
                    out.push('\n');
                }
            }
        }
    }
    while out.ends_with('\n') {
        out.pop();
    }
    out
}

/// A run of text: white space collapsed (or lines kept under `pre-line`).
fn text_markup(text: &str, ctx: Ctx) -> String {
    if ctx.pre_line {
        let normalized = text.replace("\r\n", "\n").replace('\r', "\n");
        let lines: Vec<String> = normalized
            .split('\n')
            .map(|l| {
                let line = collapse(l);
                if line.trim().is_empty() { String::new() } else { format!("#{}", string(&line)) }
            })
            .collect();
        return lines.join("#linebreak()");
    }
    let text = collapse(text);
    if text.is_empty() { String::new() } else { format!("#{}", string(&text)) }
}

/// Runs of white space (not no-break spaces) as one space.
fn collapse(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.chars() {
        if c.is_ascii_whitespace() {
            if !space {
                out.push(' ');
            }
            space = true;
        } else {
            out.push(c);
            space = false;
        }
    }
    out
}

/// A typst string literal holding `text` exactly.
fn string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A number as typst reads it (at most two decimals).
fn number(n: f64) -> String {
    let rounded = (n * 100.0).round() / 100.0;
    if rounded.fract() == 0.0 { format!("{rounded:.0}") } else { format!("{rounded}") }
}

fn element(e: &Element, ctx: Ctx) -> String {
    let name = e.name.as_str();
    if SKIPPED.contains(&name) {
        return String::new();
    }
    let ctx = Ctx {
        pre_line: match style(e, "white-space").as_deref() {
            Some("pre-line" | "pre-wrap" | "pre") => true,
            Some(_) => false,
            None => ctx.pre_line,
        },
        in_header: ctx.in_header || (name == "div" && e.has_class("header")),
        ..ctx
    };
    match name {
        "br" => "#linebreak()".into(),
        "hr" => "#line(length: 100%, stroke: 0.5pt)".into(),
        "strong" | "b" => format!("#strong[{}]", inline(e, ctx)),
        "em" | "i" | "cite" | "var" | "dfn" => format!("#emph[{}]", inline(e, ctx)),
        "u" | "ins" => format!("#underline[{}]", inline(e, ctx)),
        "s" | "del" | "strike" => format!("#strike[{}]", inline(e, ctx)),
        "sub" => format!("#sub[{}]", inline(e, ctx)),
        "sup" => format!("#super[{}]", inline(e, ctx)),
        "small" => format!("#text(size: 0.85em)[{}]", inline(e, ctx)),
        "code" | "kbd" | "samp" | "tt" => format!("#text(font: \"DejaVu Sans Mono\", size: 0.9em)[{}]", inline(e, ctx)),
        "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => heading(e, ctx),
        "ul" | "ol" => list(e, ctx),
        "table" => table(e, ctx),
        _ if e.has_class(DRAFT_CLASS) => format!(
            "#block(width: 100%, stroke: 1.5pt + rgb(\"#bb0000\"), inset: 5pt, below: 1em)[#align(center)[#text(fill: rgb(\"#bb0000\"), weight: \"bold\", tracking: 0.2em)[{}]]]",
            inline(e, ctx)
        ),
        "span" if e.has_class("line") => {
            format!("#box(width: 16em, stroke: (top: 0.5pt), inset: (top: 3pt))[#align(center)[{}]]", inline(e, ctx))
        }
        _ if BLOCKS.contains(&name) || displays_as_block(e, ctx) => block(e, ctx),
        _ => inline(e, ctx),
    }
}

/// An element's children in the flow, with its own look (colour, weight, slant, background).
fn inline(e: &Element, ctx: Ctx) -> String {
    let mut inner = flow(&e.children, ctx);
    if inner.is_empty() {
        return inner;
    }
    let mut text_args = Vec::new();
    if let Some(color) = style(e, "color").and_then(|c| color(&c)) {
        text_args.push(format!("fill: {color}"));
    } else if e.has_class("muted") || e.has_class("provenance") {
        text_args.push("fill: rgb(\"#555555\")".into());
    }
    if style(e, "font-weight").is_some_and(|w| w == "bold" || w.parse::<u32>().is_ok_and(|n| n >= 600)) {
        text_args.push("weight: \"bold\"".into());
    }
    if style(e, "font-style").is_some_and(|s| s == "italic") {
        text_args.push("style: \"italic\"".into());
    }
    if !text_args.is_empty() {
        inner = format!("#text({})[{inner}]", text_args.join(", "));
    }
    // A block's or a cell's background is its box's fill, not a highlight of its text.
    let boxed = BLOCKS.contains(&e.name.as_str()) || e.name == "td" || e.name == "th";
    if let Some(fill) = background(e).filter(|_| !boxed) {
        inner = format!("#highlight(fill: {fill})[{inner}]");
    }
    inner
}

/// A block: a paragraph, a `div` and the shared page's classes with their spacing.
fn block(e: &Element, ctx: Ctx) -> String {
    let mut inner = inline(e, ctx);
    if inner.is_empty() {
        return inner;
    }
    if let Some(align) = alignment(e) {
        inner = format!("#align({align})[{inner}]");
    }
    let (above, below, extra) = if e.has_class("signature") {
        ("3em", "1em", "")
    } else if e.has_class("delivery") {
        inner = format!("#text(size: 10pt)[{inner}]");
        ("2em", "1em", "")
    } else if e.has_class("header") {
        ("0.8em", "1.5em", "")
    } else if e.name == "p" {
        ("0.8em", "0.8em", "")
    } else {
        ("0.4em", "0.4em", "")
    };
    let fill = background(e).map(|f| format!(", fill: {f}, inset: 3pt")).unwrap_or_default();
    let signature = if e.has_class("signature") && alignment(e).is_none() {
        inner = format!("#align(right)[{inner}]");
        ""
    } else {
        extra
    };
    format!("#block(width: 100%, above: {above}, below: {below}{fill}{signature})[{inner}]")
}

fn heading(e: &Element, ctx: Ctx) -> String {
    let level = e.name[1..].parse::<u8>().unwrap_or(1).min(3);
    let inner = inline(e, ctx);
    if inner.is_empty() {
        return inner;
    }
    let heading = format!("#heading(level: {level})[{inner}]");
    match alignment(e).filter(|_| level > 1) {
        Some(align) => format!("#align({align})[{heading}]"),
        None => heading,
    }
}

fn list(e: &Element, ctx: Ctx) -> String {
    let items: Vec<String> = e
        .children
        .iter()
        .filter_map(|child| match child {
            Node::Element(item) => Some(flow(&item.children, ctx)),
            Node::Text(t) if !t.trim().is_empty() => Some(text_markup(t, ctx)),
            Node::Text(_) => None,
        })
        .map(|content| format!("[{content}]"))
        .collect();
    if items.is_empty() {
        return String::new();
    }
    if e.name == "ol" {
        let start = e.attr("start").and_then(|s| s.trim().parse::<u32>().ok()).filter(|s| *s != 1);
        let start = start.map(|s| format!("start: {s}, ")).unwrap_or_default();
        format!("#enum({start}{})", items.join(", "))
    } else {
        format!("#list({})", items.join(", "))
    }
}

/// A row of a table: its cells, and whether it belongs to the header.
struct Row<'a> {
    header: bool,
    cells: Vec<&'a Element>,
}

fn rows_of(table: &Element) -> Vec<Row<'_>> {
    let mut rows = Vec::new();
    for child in &table.children {
        let Node::Element(e) = child else { continue };
        match e.name.as_str() {
            "tr" => rows.push(row(e, false)),
            "thead" | "tbody" | "tfoot" => {
                for tr in e.children.iter().filter_map(|n| match n {
                    Node::Element(tr) if tr.name == "tr" => Some(tr),
                    _ => None,
                }) {
                    rows.push(row(tr, e.name == "thead"));
                }
            }
            _ => {}
        }
    }
    rows
}

fn row(tr: &Element, header: bool) -> Row<'_> {
    let cells = tr
        .children
        .iter()
        .filter_map(|n| match n {
            Node::Element(c) if c.name == "td" || c.name == "th" => Some(c),
            _ => None,
        })
        .collect();
    Row { header, cells }
}

fn span(cell: &Element, attr: &str, max: usize) -> usize {
    cell.attr(attr).and_then(|v| v.trim().parse::<usize>().ok()).unwrap_or(1).clamp(1, max)
}

/// A row's cells placed in the table's grid.
struct Placed<'a> {
    /// Each cell with its first column.
    cells: Vec<(usize, &'a Element)>,
    /// The empty slots the row leaves at its end (filled with empty cells,
    /// since typst fills a grid in order).
    free: usize,
}

/// Where each cell of each row goes, as HTML places them: left to right,
/// skipping slots a `rowspan` above still covers. Returns each row placed,
/// and the number of columns.
fn place<'a>(rows: &[Row<'a>]) -> (Vec<Placed<'a>>, usize) {
    // covered[c]: rows (this one included) that column c is still covered for.
    let mut covered: Vec<usize> = Vec::new();
    let mut placed = Vec::with_capacity(rows.len());
    let mut columns = 0;
    for row in rows {
        let before = covered.clone();
        let mut col = 0;
        let mut cells = Vec::with_capacity(row.cells.len());
        for cell in &row.cells {
            while covered.get(col).is_some_and(|c| *c > 0) {
                col += 1;
            }
            let (colspan, rowspan) = (span(cell, "colspan", MAX_COLSPAN), span(cell, "rowspan", MAX_ROWSPAN));
            if covered.len() < col + colspan {
                covered.resize(col + colspan, 0);
            }
            for slot in &mut covered[col..col + colspan] {
                *slot = rowspan;
            }
            cells.push((col, *cell));
            col += colspan;
        }
        columns = columns.max(col).max(before.iter().rposition(|c| *c > 0).map_or(0, |i| i + 1));
        placed.push((cells, col, before));
        for slot in &mut covered {
            *slot = slot.saturating_sub(1);
        }
    }
    let placed = placed
        .into_iter()
        .map(|(cells, end, before)| {
            let free = (end..columns).filter(|c| before.get(*c).is_none_or(|n| *n == 0)).count();
            Placed { cells, free }
        })
        .collect();
    (placed, columns)
}

/// Column widths as a browser would choose them for a table of the page's
/// width: each column between its longest word and its whole text, in
/// characters, written as fractions (so the table fills the line); a
/// width in percent on a cell wins.
fn widths(placed: &[Placed], columns: usize, line_chars: f64) -> Vec<String> {
    let mut least = vec![0.0_f64; columns];
    let mut most = vec![0.0_f64; columns];
    let mut percent: Vec<Option<f64>> = vec![None; columns];
    for Placed { cells, .. } in placed {
        for (col, cell) in cells {
            if span(cell, "colspan", MAX_COLSPAN) != 1 {
                continue;
            }
            let text = collapse(&cell.text());
            let word = text.split_whitespace().map(|w| w.chars().count()).max().unwrap_or(0) as f64;
            let all = text.trim().chars().count() as f64;
            least[*col] = least[*col].max(word);
            most[*col] = most[*col].max(all);
            if let Some(p) =
                style(cell, "width").and_then(|w| w.strip_suffix('%').and_then(|n| n.trim().parse::<f64>().ok()))
            {
                percent[*col] = Some(p.clamp(1.0, 100.0));
            }
        }
    }
    // Padding and borders take about two characters per column.
    let available = (line_chars - 2.0 * columns as f64).max(columns as f64);
    let (sum_least, sum_most): (f64, f64) = (least.iter().sum(), most.iter().sum());
    let chosen: Vec<f64> = (0..columns)
        .map(|c| {
            let (lo, hi) = (least[c].max(2.0), most[c].max(2.0));
            if sum_most <= available || sum_most <= sum_least {
                hi
            } else if sum_least >= available {
                lo
            } else {
                lo + (hi - lo) * (available - sum_least) / (sum_most - sum_least)
            }
        })
        .collect();
    (0..columns)
        .map(|c| match percent[c] {
            Some(p) => format!("{}%", number(p)),
            None => format!("{}fr", number(chosen[c].max(1.0))),
        })
        .collect()
}

fn table(e: &Element, ctx: Ctx) -> String {
    let rows = rows_of(e);
    let (placed, columns) = place(&rows);
    if columns == 0 {
        return String::new();
    }
    let font = if columns >= WIDE_TABLE_COLUMNS { 8.0 } else { 9.5 };
    // Characters of the table's font on the page's line, at about half an em each.
    let line_chars = ctx.line_mm / (font * 0.5 * 25.4 / 72.0);
    let widths = widths(&placed, columns, line_chars);
    let mut header = Vec::new();
    let mut body = Vec::new();
    for (row, Placed { cells, free }) in rows.iter().zip(&placed) {
        let target = if row.header { &mut header } else { &mut body };
        for (_, cell) in cells {
            target.push(cell_markup(cell, ctx));
        }
        target.extend(std::iter::repeat_n("[]".to_string(), *free));
    }
    let mut args = vec![format!("columns: ({},)", widths.join(", "))];
    if !header.is_empty() {
        args.push(format!("table.header({})", header.join(", ")));
    }
    args.extend(body);
    let table = format!("#table({})", args.join(", "));
    let mut out = if font == 9.5 { table } else { format!("#text(size: {}pt)[{table}]", number(font)) };
    for caption in e.children.iter().filter_map(|n| match n {
        Node::Element(c) if c.name == "caption" => Some(c),
        _ => None,
    }) {
        out = format!("{}\n{out}", block(caption, ctx));
    }
    out
}

/// The text line's width on a page, in millimetres.
pub fn line_mm(page: PageSetup) -> f64 {
    let margin = if page.is_landscape() { LANDSCAPE_MARGIN_MM } else { MARGIN_MM };
    page.dimensions_mm().0 - 2.0 * margin
}

fn cell_markup(cell: &Element, ctx: Ctx) -> String {
    let mut args = Vec::new();
    for (attr, max) in [("colspan", MAX_COLSPAN), ("rowspan", MAX_ROWSPAN)] {
        let n = span(cell, attr, max);
        if n > 1 {
            args.push(format!("{attr}: {n}"));
        }
    }
    let header = cell.name == "th";
    match background(cell) {
        Some(fill) => args.push(format!("fill: {fill}")),
        None if header => args.push("fill: rgb(\"#eeeeee\")".into()),
        None => {}
    }
    if let Some(align) = alignment(cell) {
        args.push(format!("align: {align} + top"));
    }
    let ctx = Ctx {
        pre_line: match style(cell, "white-space").as_deref() {
            Some("pre-line" | "pre-wrap" | "pre") => true,
            Some(_) => false,
            None => ctx.pre_line,
        },
        ..ctx
    };
    let mut content = inline(cell, ctx);
    if header && !content.is_empty() {
        content = format!("#strong[{content}]");
    }
    if style(cell, "writing-mode").is_some_and(|m| m.starts_with("vertical")) {
        content = format!("#rotate(-90deg, reflow: true)[{content}]");
    }
    if args.is_empty() { format!("[{content}]") } else { format!("table.cell({})[{content}]", args.join(", ")) }
}

/// A declaration of the element's `style` attribute, lower-cased and trimmed.
fn style(e: &Element, property: &str) -> Option<String> {
    e.attr("style")?.split(';').find_map(|decl| {
        let (name, value) = decl.split_once(':')?;
        (name.trim().eq_ignore_ascii_case(property)).then(|| value.trim().to_ascii_lowercase())
    })
}

/// `text-align` or the page's `center` class, as typst alignment.
fn alignment(e: &Element) -> Option<&'static str> {
    match style(e, "text-align").as_deref() {
        Some("center") => Some("center"),
        Some("right" | "end") => Some("right"),
        Some("left" | "start") => Some("left"),
        _ if e.has_class("center") => Some("center"),
        _ => None,
    }
}

fn background(e: &Element) -> Option<String> {
    style(e, "background-color").or_else(|| style(e, "background")).and_then(|c| color(&c))
}

/// A CSS colour written `#rgb` or `#rrggbb` (the forms templates use) as
/// typst; anything else is ignored rather than copied.
fn color(css: &str) -> Option<String> {
    let hex = css.trim().strip_prefix('#')?;
    if !(hex.len() == 3 || hex.len() == 6) || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let full: String = if hex.len() == 3 { hex.chars().flat_map(|c| [c, c]).collect() } else { hex.to_string() };
    Some(format!("rgb(\"#{}\")", full.to_ascii_lowercase()))
}

/// The language typst hyphenates and shapes for: the primary subtag of a
/// BCP 47 tag (`sr` of `sr-Cyrl`), when it is two or three letters.
fn typst_lang(tag: &str) -> Option<String> {
    let primary = tag.split(['-', '_']).next()?.to_ascii_lowercase();
    ((2..=3).contains(&primary.len()) && primary.chars().all(|c| c.is_ascii_lowercase())).then_some(primary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(html: &str, expect: &str) {
        assert_eq!(body(html), expect, "\n{html}");
    }

    #[test]
    fn inline_text_and_escaping() {
        let cases = [
            (
                "<p>Odluka o <strong>imenovanju</strong></p>",
                "#block(width: 100%, above: 0.8em, below: 0.8em)[#\"Odluka o \"#strong[#\"imenovanju\"]]",
            ),
            ("a<br>b <em>c</em> <u>d</u>", "#\"a\"#linebreak()#\"b \"#emph[#\"c\"]#\" \"#underline[#\"d\"]"),
            // Hostile text stays text: quotes, backslashes, markup and code are inside one string.
            (
                "<span>\"] #import \"/etc/passwd\": * \\ #{panic()} [x](y) $x$ // c</span>",
                "#\"\\\"] #import \\\"/etc/passwd\\\": * \\\\ #{panic()} [x](y) $x$ // c\"",
            ),
            ("&lt;b&gt;Ana&lt;/b&gt; &amp; Đ", "#\"<b>Ana</b> & Đ\""),
            ("<span>a\u{7}b</span>", "#\"a\\u{7}b\""),
            ("  Ș ț  \n ă  ", "#\" Ș ț ă \""),
            (
                "<p class=\"center\"><strong translate=\"no\">II</strong></p>",
                "#block(width: 100%, above: 0.8em, below: 0.8em)[#align(center)[#strong[#\"II\"]]]",
            ),
            ("<span class=\"muted\">m</span>", "#text(fill: rgb(\"#555555\"))[#\"m\"]"),
            ("<span style=\"background:#fff2b3\">s</span>", "#highlight(fill: rgb(\"#fff2b3\"))[#\"s\"]"),
            ("<span style=\"background: url(x); color: red\">s</span>", "#\"s\""),
            (
                "<p style=\"white-space: pre-line\">one\n two\n\nfour</p>",
                "#block(width: 100%, above: 0.8em, below: 0.8em)[#\"one\"#linebreak()#\" two\"#linebreak()#linebreak()#\"four\"]",
            ),
            (
                "<h1>Odluka</h1><h2 class=\"center\">I</h2>",
                "#heading(level: 1)[#\"Odluka\"]\n#align(center)[#heading(level: 2)[#\"I\"]]",
            ),
            ("<script>alert(1)</script><style>p{}</style>x", "#\"x\""),
        ];
        for (html, expect) in cases {
            check(html, expect);
        }
    }

    #[test]
    fn blocks_lists_and_the_page_classes() {
        let cases = [
            ("<ol><li>a</li>\n<li>b <b>c</b></li></ol>", "#enum([#\"a\"], [#\"b \"#strong[#\"c\"]])"),
            ("<ul>\n  <li>x</li>\n</ul>", "#list([#\"x\"])"),
            (
                "<div class=\"header\"><strong>Grad</strong>\n<span class=\"number\">Broj: 1</span></div>",
                "#block(width: 100%, above: 0.8em, below: 1.5em)[#strong[#\"Grad\"]\n#block(width: 100%, above: 0.4em, below: 0.4em)[#\"Broj: 1\"]]",
            ),
            (
                "<div class=\"signature\"><span class=\"line\">Head<br>Ana</span></div>",
                "#block(width: 100%, above: 3em, below: 1em)[#align(right)[#box(width: 16em, stroke: (top: 0.5pt), inset: (top: 3pt))[#align(center)[#\"Head\"#linebreak()#\"Ana\"]]]]",
            ),
            (
                "<div class=\"draft-mark\" style=\"x\">NACRT</div><p>t</p>",
                "#block(width: 100%, stroke: 1.5pt + rgb(\"#bb0000\"), inset: 5pt, below: 1em)[#align(center)[#text(fill: rgb(\"#bb0000\"), weight: \"bold\", tracking: 0.2em)[#\"NACRT\"]]]\n#block(width: 100%, above: 0.8em, below: 0.8em)[#\"t\"]",
            ),
        ];
        for (html, expect) in cases {
            check(html, expect);
        }
    }

    #[test]
    fn tables_place_spans_and_pad_short_rows() {
        let cases = [
            (
                "<table><thead><tr><th colspan=\"2\">G</th></tr><tr><th>a</th><th>b</th></tr></thead>\
                 <tbody><tr><td>1</td></tr><tr><td class=\"visok\" style=\"background:#f4b4b4;text-align:center\">2</td><td>3</td></tr></tbody></table>",
                "#table(columns: (2fr, 2fr,), table.header(table.cell(colspan: 2, fill: rgb(\"#eeeeee\"))[#strong[#\"G\"]], \
                 table.cell(fill: rgb(\"#eeeeee\"))[#strong[#\"a\"]], table.cell(fill: rgb(\"#eeeeee\"))[#strong[#\"b\"]]), \
                 [#\"1\"], [], table.cell(fill: rgb(\"#f4b4b4\"), align: center + top)[#\"2\"], [#\"3\"])",
            ),
            (
                // A rowspan covers the first slot of the next row, which then needs no padding.
                "<table><tr><th rowspan=\"2\" style=\"writing-mode:vertical-rl\">V</th><td>a</td></tr><tr><td>b</td></tr></table>",
                "#table(columns: (2fr, 2fr,), table.cell(rowspan: 2, fill: rgb(\"#eeeeee\"))[#rotate(-90deg, reflow: true)[#strong[#\"V\"]]], [#\"a\"], [#\"b\"])",
            ),
            (
                "<table><tr><td style=\"width: 30%\">key</td><td>a much longer value</td></tr></table>",
                "#table(columns: (30%, 19fr,), [#\"key\"], [#\"a much longer value\"])",
            ),
            ("<table></table>", ""),
        ];
        for (html, expect) in cases {
            check(html, expect);
        }
    }

    #[test]
    fn a_hostile_colspan_is_capped() {
        let expect = format!(
            "#text(size: 8pt)[#table(columns: ({}2fr,), table.cell(colspan: 100)[#\"x\"])]",
            "2fr, ".repeat(99)
        );
        check("<table><tr><td colspan=\"1000000\">x</td></tr></table>", &expect);
    }

    #[test]
    fn the_page_comes_from_the_setup_and_the_html() {
        let html = "<!DOCTYPE html><html lang=\"sr-Cyrl\"><head><title>Одлука \"1\"</title></head><body><div class=\"draft-mark\">НАЦРТ</div></body></html>";
        let page = PageSetup { orientation: integritas_core::page::Orientation::Landscape, ..PageSetup::default() };
        let source = translate(html, page);
        let head: Vec<&str> = source.lines().take(3).collect();
        assert_eq!(
            head,
            [
                "#set document(title: \"Одлука \\\"1\\\"\")",
                "#set page(width: 297mm, height: 210mm, margin: 15mm, numbering: \"1 / 1\", number-align: center + bottom, background: place(center + horizon, rotate(-35deg, text(size: 72pt, weight: \"bold\", fill: rgb(187, 0, 0, 32))[#\"НАЦРТ\"])))",
                "#set text(font: (\"Libertinus Serif\", \"New Computer Modern\", \"DejaVu Sans Mono\"), size: 11pt, lang: \"sr\")",
            ]
        );
    }
}
