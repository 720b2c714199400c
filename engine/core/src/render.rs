//! Documents: Handlebars templates of a pack rendered against a plan.
//!
//! Architecture invariant: this is the only module that names handlebars.
//! A template renders an HTML fragment; it is wrapped in the shared page
//! (`templates/page.hbs`) and, for a transliterated language, transliterated
//! outside HTML tags.

use std::collections::BTreeMap;
use std::path::Path;

use handlebars::{Context, Handlebars, Helper, HelperDef, RenderContext, RenderError, RenderErrorReason, ScopedJson};
use serde_json::{Value, json};

use crate::locale::{Labels, Transliteration};
use crate::page::PageSetup;

/// The page a document fragment is wrapped in when no shared one exists.
const DEFAULT_PAGE: &str = "<!DOCTYPE html>\n<html lang=\"{{lang}}\"><head><meta charset=\"utf-8\"><title>{{title}}</title><style>@page { size: {{page.css}}; }</style></head>\n<body>\n{{{body}}}\n</body></html>\n";

/// A template could not be read, parsed or rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TemplateProblem {
    pub name: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// A pack's compiled templates.
pub struct Templates {
    registry: Handlebars<'static>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates").field("templates", &self.registry.get_templates().keys()).finish()
    }
}

impl Templates {
    /// Compiles document templates (name → text) with the partials found in
    /// `shared` (`templates/`) and the pack's own partials folder; every
    /// problem is returned, not just the first.
    pub fn compile(
        documents: &BTreeMap<String, String>,
        shared: Option<&Path>,
        pack_partials: &Path,
    ) -> (Templates, Vec<TemplateProblem>) {
        let mut registry = Handlebars::new();
        registry.register_escape_fn(handlebars::html_escape);
        let helpers: [(&str, ValueFn); 7] = [
            ("concat", concat),
            ("t", translate),
            ("date", format_date),
            ("choice", choice_label),
            ("value", value_label),
            ("list", list),
            ("add", add),
        ];
        for (name, helper) in helpers {
            registry.register_helper(name, Box::new(ValueHelper(helper)));
        }
        let mut problems = Vec::new();
        let page = shared.and_then(|dir| std::fs::read_to_string(dir.join("page.hbs")).ok());
        let page = page.as_deref().unwrap_or(DEFAULT_PAGE);
        if let Err(e) = registry.register_template_string("@page", page) {
            problems.push(problem("page.hbs", &e));
        }
        let partial_dirs = shared.map(|d| d.join("partials")).into_iter().chain([pack_partials.to_path_buf()]);
        for dir in partial_dirs {
            for (name, text) in read_hbs_dir(&dir) {
                if let Err(e) = registry.register_partial(&name, text) {
                    problems.push(problem(&format!("{}/{name}.hbs", dir.display()), &e));
                }
            }
        }
        for (name, text) in documents {
            if let Err(e) = registry.register_template_string(name, text) {
                problems.push(problem(name, &e));
            }
        }
        (Templates { registry }, problems)
    }

    /// Renders document `name` in `labels.language` against `context` (see
    /// the pack format for its keys) as a whole HTML page.
    pub fn render(
        &self,
        name: &str,
        wrap: &Wrap,
        labels: &Labels,
        transliteration: Option<&Transliteration>,
        mut context: Value,
    ) -> Result<String, TemplateProblem> {
        if let Value::Object(map) = &mut context {
            map.insert("lang".into(), json!(labels.language));
            map.insert("_labels".into(), json!(labels.map));
        }
        let body = self.registry.render(name, &context).map_err(|e| render_problem(name, e))?;
        self.wrap(name, &body, wrap, labels, transliteration)
    }

    /// Wraps a rendered body into the printable page: the title, the
    /// paper as CSS `@page`, and a draft's marking atop the body.
    fn wrap(
        &self,
        name: &str,
        body: &str,
        wrap: &Wrap,
        labels: &Labels,
        transliteration: Option<&Transliteration>,
    ) -> Result<String, TemplateProblem> {
        let body = match wrap.draft {
            Some(mark) => format!("{}\n{body}", draft_mark(mark)),
            None => body.to_string(),
        };
        let page = json!({
            "lang": labels.language,
            "title": wrap.title,
            "body": body,
            "draft": wrap.draft,
            "page": {
                "css": wrap.page.css(),
                "size": wrap.page.size.name(),
                "landscape": wrap.page.is_landscape(),
            },
        });
        let html = self.registry.render("@page", &page).map_err(|e| render_problem(name, e))?;
        Ok(match transliteration {
            Some(t) => t.apply_html(&html),
            None => html,
        })
    }
}

/// How a document's fragment becomes a page: its title, its paper, and the
/// marking of a draft.
#[derive(Debug, Clone, Copy)]
pub struct Wrap<'a> {
    pub title: &'a str,
    pub page: PageSetup,
    /// The word that marks a draft (`doc.draft` in the document's
    /// language); `None` for an issued document.
    pub draft: Option<&'a str>,
}

/// The class of the element that marks a draft. The PDF typesetter finds
/// it by this name and repeats its text on every page.
pub const DRAFT_CLASS: &str = "draft-mark";

/// The marking atop a draft's body. Styled inline, so that a pack version
/// installed with an older shared page (without the rule for it) marks
/// drafts all the same.
fn draft_mark(mark: &str) -> String {
    format!(
        "<div class=\"{DRAFT_CLASS}\" style=\"border: 2px solid #b00; color: #b00; font-weight: bold; letter-spacing: .2em; text-align: center; padding: .3em; margin-bottom: 1em\">{}</div>",
        handlebars::html_escape(mark)
    )
}

fn render_problem(name: &str, e: handlebars::RenderError) -> TemplateProblem {
    TemplateProblem {
        name: name.to_string(),
        line: e.line_no.unwrap_or(0),
        column: e.column_no.unwrap_or(0),
        message: e.to_string(),
    }
}

fn problem(name: &str, e: &handlebars::TemplateError) -> TemplateProblem {
    let (line, column) = e.pos().unwrap_or((0, 0));
    TemplateProblem { name: name.to_string(), line, column, message: e.reason().to_string() }
}

/// `name.hbs` files of a folder (none when it does not exist), sorted.
fn read_hbs_dir(dir: &Path) -> Vec<(String, String)> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut found: Vec<(String, String)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let path = e.path();
            let name = path.file_stem()?.to_str()?.to_string();
            (path.extension()? == "hbs").then_some(())?;
            Some((name, std::fs::read_to_string(&path).ok()?))
        })
        .collect();
    found.sort();
    found
}

/// A helper computing a value from its parameters and the document's
/// labels: usable in output (`{{t "key"}}`, escaped) and in a
/// subexpression (`{{> delivery items=(list (t "a") (t "b"))}}`).
struct ValueHelper(ValueFn);

/// A helper's work: its parameters and the labels in, a value out.
type ValueFn = fn(&[Value], &Value) -> Result<Value, RenderError>;

impl HelperDef for ValueHelper {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        ctx: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        let params: Vec<Value> = h.params().iter().map(|p| p.value().clone()).collect();
        let labels = ctx.data().get("_labels").cloned().unwrap_or(Value::Null);
        Ok(ScopedJson::Derived((self.0)(&params, &labels)?))
    }
}

fn label<'a>(labels: &'a Value, key: &str) -> Option<&'a str> {
    labels.get(key).and_then(Value::as_str)
}

fn text_param(params: &[Value], i: usize, helper: &'static str) -> Result<String, RenderError> {
    match params.get(i) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Null) | None if i > 0 => Ok(String::new()),
        Some(other) if i > 0 => Ok(other.to_string()),
        _ => Err(RenderErrorReason::ParamNotFoundForIndex(helper, i).into()),
    }
}

/// `{{t "key"}}`: a label in the document's language.
fn translate(params: &[Value], labels: &Value) -> Result<Value, RenderError> {
    let key = text_param(params, 0, "t")?;
    Ok(Value::String(label(labels, &key).unwrap_or(&key).to_string()))
}

/// `{{choice "form.field.column" value}}`: the label of a stored choice
/// value in the document's language (the value itself when it has none).
fn choice_label(params: &[Value], labels: &Value) -> Result<Value, RenderError> {
    let path = text_param(params, 0, "choice")?;
    let value = text_param(params, 1, "choice")?;
    let text = label(labels, &format!("choice.{path}.{value}")).map_or(value.clone(), str::to_string);
    Ok(Value::String(text))
}

/// `{{value level}}`: a word a plugin returned (a level such as
/// `srednji`), in the document's language when the locale has
/// `value.<word>`; the word itself otherwise.
fn value_label(params: &[Value], labels: &Value) -> Result<Value, RenderError> {
    let word = text_param(params, 0, "value")?;
    Ok(Value::String(label(labels, &format!("value.{word}")).map_or(word.clone(), str::to_string)))
}

/// `{{concat "measure:" id}}`: its parameters as one text (to build a key).
fn concat(params: &[Value], _: &Value) -> Result<Value, RenderError> {
    let text: String = params
        .iter()
        .map(|p| match p {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        })
        .collect();
    Ok(Value::String(text))
}

/// `{{list a b c}}`: a list of its parameters, for a partial that takes one.
fn list(params: &[Value], _: &Value) -> Result<Value, RenderError> {
    Ok(Value::Array(params.to_vec()))
}

/// `{{add a b}}`: the sum of two whole numbers (row numbers: `{{add @index 1}}`).
fn add(params: &[Value], _: &Value) -> Result<Value, RenderError> {
    let number = |i: usize| params.get(i).and_then(Value::as_i64).unwrap_or(0);
    Ok(Value::from(number(0) + number(1)))
}

/// The pattern dates are written in when the locale gives none.
pub const DEFAULT_DATE_FORMAT: &str = "DD.MM.YYYY.";

/// `{{date value}}`: a YYYY-MM-DD date in the language's format (the
/// locale's `format.date`: `DD`, `D`, `MM`, `M`, `YYYY` and `MONTH`, the
/// month's name from `month.1`…`month.12`); anything else as it is.
fn format_date(params: &[Value], labels: &Value) -> Result<Value, RenderError> {
    let value = params.first().cloned().unwrap_or(Value::Null);
    let Some(date) = value.as_str().and_then(|s| s.parse::<crate::date::Date>().ok()) else {
        return Ok(Value::String(value.as_str().map(str::to_string).unwrap_or_default()));
    };
    let pattern = label(labels, "format.date").unwrap_or(DEFAULT_DATE_FORMAT);
    Ok(Value::String(write_date(date, pattern, |m| label(labels, &format!("month.{m}")).map(str::to_string))))
}

/// A date in a pattern (`DD.MM.YYYY.`, `D MONTH YYYY`).
pub fn write_date(date: crate::date::Date, pattern: &str, month_name: impl Fn(u32) -> Option<String>) -> String {
    let mut out = String::new();
    let mut rest = pattern;
    while !rest.is_empty() {
        let (token, text) = [
            ("YYYY", format!("{:04}", date.year())),
            (
                "MONTH",
                month_name(date.month()).unwrap_or_else(|| ENGLISH_MONTHS[date.month() as usize - 1].to_string()),
            ),
            ("MM", format!("{:02}", date.month())),
            ("DD", format!("{:02}", date.day())),
            ("M", date.month().to_string()),
            ("D", date.day().to_string()),
        ]
        .into_iter()
        .find(|(token, _)| rest.starts_with(token))
        .unwrap_or(("", String::new()));
        if token.is_empty() {
            let c = rest.chars().next().unwrap_or(' ');
            out.push(c);
            rest = &rest[c.len_utf8()..];
        } else {
            out.push_str(&text);
            rest = &rest[token.len()..];
        }
    }
    out
}

const ENGLISH_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// The `data.<form>.<field>` paths a template names, for checking them
/// against the pack's forms.
pub fn data_paths(template: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let bytes = template.as_bytes();
    let mut from = 0;
    while let Some(i) = template[from..].find("data.") {
        let at = from + i;
        from = at + 5;
        if at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_') {
            continue;
        }
        let rest = &template[at + 5..];
        let path: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '.').collect();
        let mut parts = path.split('.');
        if let (Some(form), Some(field)) = (parts.next(), parts.next())
            && !form.is_empty()
            && !field.is_empty()
        {
            found.push((form.to_string(), field.to_string()));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_labels_dates_and_escapes_data() {
        let docs = BTreeMap::from([(
            "d".to_string(),
            "<h1>{{t \"form.x\"}}</h1><p>{{date data.x.on}} {{data.x.name}}</p>{{> sig}}\
             {{#each data.x.rows}}<i>{{add @index 1}}. {{choice \"x.rows.status\" status}}</i>{{/each}}"
                .to_string(),
        )]);
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("sig.hbs"), "<footer>{{t \"role.head\"}}</footer>").expect("partial");
        let (templates, problems) = Templates::compile(&docs, None, dir.path());
        assert!(problems.is_empty(), "{problems:?}");
        let labels = Labels {
            language: "en".into(),
            map: BTreeMap::from([
                ("form.x".into(), "Decision".into()),
                ("role.head".into(), "Head".into()),
                ("choice.x.rows.status.da".into(), "yes".into()),
            ]),
        };
        let html = templates
            .render(
                "d",
                &Wrap { title: "T", page: PageSetup::default(), draft: None },
                &labels,
                None,
                json!({"data": {"x": {"on": "2022-01-31", "name": "<b>Ana</b>", "rows": [{"status": "da"}, {"status": "ne"}]}}}),
            )
            .expect("renders");
        assert!(
            html.contains("<h1>Decision</h1><p>31.01.2022. &lt;b&gt;Ana&lt;/b&gt;</p><footer>Head</footer>"),
            "{html}"
        );
        assert!(html.contains("<i>1. yes</i><i>2. ne</i>"), "{html}");
        assert!(html.starts_with("<!DOCTYPE html>"));
    }

    #[test]
    fn template_errors_have_a_position_and_data_paths_are_found() {
        let docs = BTreeMap::from([("bad".to_string(), "line\n{{#each data.x.rows}}\nno end".to_string())]);
        let (_, problems) = Templates::compile(&docs, None, Path::new("/nonexistent"));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].name, "bad");
        assert_eq!(
            data_paths("{{data.a.b}} {{#each data.c.d}}{{this.e}}{{/each}} {{@root.data.f.g}} {{metadata.h.i}}"),
            [("a".into(), "b".into()), ("c".into(), "d".into()), ("f".into(), "g".into())]
        );
    }
}
