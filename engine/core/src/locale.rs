//! Labels in a pack's languages: the source texts the definitions carry,
//! translations by key, and mechanical transliteration (one source text,
//! two scripts — never two hand-kept copies).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::definition::{FieldDef, FormDef, WorkflowDef};

/// Whether a key names one of the engine's own words rather than a label
/// of the pack: its sentences (`problem.required`, `refusal.role`…),
/// plugin values (`value.srednji`), the date format (`format.date`) and
/// month names (`month.1`). A locale may translate them; none has to
/// (English is the engine's fallback).
pub fn is_engine_word(key: &str) -> bool {
    crate::message::ENGLISH.iter().any(|(k, _)| *k == key)
        || key.starts_with("value.")
        || key.starts_with("month.")
        || key == "format.date"
}

/// A `locales/*.ron` file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename = "Locale", deny_unknown_fields)]
pub struct Locale {
    pub language: String,
    /// Translations by label key (`role.head`, `field.form.field`...).
    #[serde(default)]
    pub messages: BTreeMap<String, String>,
    /// Or: this language is another one, transliterated letter by letter.
    #[serde(default)]
    pub transliterate: Option<Transliteration>,
}

/// A letter-by-letter mapping. Its pairs are put longest first once, when
/// it is built (or read), so every `apply` can take the first match.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename = "Transliteration", deny_unknown_fields, from = "TransliterationFile")]
pub struct Transliteration {
    /// The language transliterated (the pack's source language).
    pub from: String,
    /// (from, to) pairs, longest `from` first; empty ones dropped.
    pairs: Vec<(String, String)>,
}

/// A transliteration as written in a locale file, in the author's order.
#[derive(Deserialize)]
#[serde(rename = "Transliteration", deny_unknown_fields)]
struct TransliterationFile {
    from: String,
    pairs: Vec<(String, String)>,
}

impl From<TransliterationFile> for Transliteration {
    fn from(file: TransliterationFile) -> Self {
        Transliteration::new(file.from, file.pairs)
    }
}

impl Transliteration {
    pub fn new(from: String, mut pairs: Vec<(String, String)>) -> Transliteration {
        pairs.retain(|(from, _)| !from.is_empty());
        pairs.sort_by_key(|p| std::cmp::Reverse(p.0.chars().count()));
        Transliteration { from, pairs }
    }

    /// Transliterates plain text, longest matching pair first.
    pub fn apply(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        'outer: while !rest.is_empty() {
            for (from, to) in &self.pairs {
                if let Some(after) = rest.strip_prefix(from.as_str()) {
                    out.push_str(to);
                    rest = after;
                    continue 'outer;
                }
            }
            let mut chars = rest.chars();
            if let Some(c) = chars.next() {
                out.push(c);
            }
            rest = chars.as_str();
        }
        out
    }

    /// Transliterates the text of an HTML document, leaving alone tags,
    /// character entities, `<style>` and `<script>` contents, and any element
    /// marked `translate="no"` (the HTML way to say "not to be translated":
    /// Roman numerals, e-mail and web addresses, codes).
    pub fn apply_html(&self, html: &str) -> String {
        let mut out = String::with_capacity(html.len());
        // Tag names of the open elements whose text is kept as it is.
        let mut kept: Vec<String> = Vec::new();
        let mut rest = html;
        while let Some(start) = rest.find(['<', '&']) {
            let text = &rest[..start];
            out.push_str(&if kept.is_empty() { self.apply(text) } else { text.to_string() });
            let end_char = if rest[start..].starts_with('<') { '>' } else { ';' };
            let end = rest[start..].find(end_char).map_or(rest.len(), |i| start + i + 1);
            let markup = &rest[start..end];
            track_kept(markup, &mut kept);
            out.push_str(markup);
            rest = &rest[end..];
        }
        out.push_str(&if kept.is_empty() { self.apply(rest) } else { rest.to_string() });
        out
    }
}

/// Updates the stack of open elements whose text is not transliterated.
fn track_kept(markup: &str, kept: &mut Vec<String>) {
    let Some(inner) = markup.strip_prefix('<').and_then(|m| m.strip_suffix('>')) else { return };
    if let Some(closing) = inner.strip_prefix('/') {
        let name = closing.trim().to_ascii_lowercase();
        if kept.last() == Some(&name) {
            kept.pop();
        }
        return;
    }
    let name: String = inner.chars().take_while(|c| c.is_ascii_alphanumeric()).collect::<String>().to_ascii_lowercase();
    let self_closing = inner.ends_with('/');
    let raw = matches!(name.as_str(), "style" | "script");
    let marked = inner.contains("translate=\"no\"") || inner.contains("translate='no'");
    if !self_closing && (raw || marked || kept.last() == Some(&name)) && !name.is_empty() {
        kept.push(name);
    }
}

/// Every label a pack's definitions carry, by key, in the source language.
pub fn source_labels(
    title: &BTreeMap<String, String>,
    source_language: &str,
    workflows: &[&WorkflowDef],
    forms: &[FormDef],
    documents: &[(String, String)],
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut put = |key: String, text: &str| {
        if !text.trim().is_empty() {
            out.insert(key, text.to_string());
        }
    };
    if let Some(t) = title.get(source_language) {
        put("pack.title".into(), t);
    }
    for wf in workflows {
        put(format!("workflow.{}", wf.id), &wf.title);
        wf.roles.iter().for_each(|r| put(format!("role.{}", r.id), &r.title));
        wf.states.iter().for_each(|s| put(format!("state.{}", s.id), &s.title));
        wf.events.iter().for_each(|e| put(format!("event.{}", e.id), &e.title));
        wf.deadlines.iter().for_each(|d| put(format!("deadline.{}", d.id), &d.what));
        wf.deadlines.iter().for_each(|d| put(format!("deadline.{}.basis", d.id), &d.basis));
        for form in wf.forms.iter().chain(forms) {
            form_labels(form, &mut put);
        }
    }
    for form in forms {
        form_labels(form, &mut put);
    }
    for (id, text) in documents {
        put(format!("document.{id}"), text);
    }
    out
}

fn form_labels(form: &FormDef, put: &mut impl FnMut(String, &str)) {
    put(format!("form.{}", form.id), &form.title);
    put(format!("form.{}.help", form.id), &form.help);
    for s in &form.sections {
        put(format!("section.{}.{}", form.id, s.id), &s.title);
    }
    for field in &form.fields {
        field_labels(&format!("{}.{}", form.id, field.id), field, put);
        for column in &field.columns {
            field_labels(&format!("{}.{}.{}", form.id, field.id, column.id), column, put);
        }
    }
}

fn field_labels(path: &str, field: &FieldDef, put: &mut impl FnMut(String, &str)) {
    put(format!("field.{path}"), &field.title);
    put(format!("field.{path}.help"), &field.help);
    for choice in &field.choices {
        put(format!("choice.{path}.{choice}"), choice);
    }
}

/// Labels of one language, resolved against the source texts.
#[derive(Debug, Clone, Default)]
pub struct Labels {
    pub language: String,
    pub map: BTreeMap<String, String>,
}

impl Labels {
    /// The labels of `language`: the source texts, translated or transliterated.
    pub fn resolve(language: &str, source: &BTreeMap<String, String>, locale: Option<&Locale>) -> Labels {
        let map = match locale {
            Some(Locale { transliterate: Some(t), .. }) => {
                source.iter().map(|(k, v)| (k.clone(), t.apply(v))).collect()
            }
            Some(locale) => {
                source.iter().map(|(k, v)| (k.clone(), locale.messages.get(k).unwrap_or(v).clone())).collect()
            }
            None => source.clone(),
        };
        Labels { language: language.to_string(), map }
    }

    /// A label, or the key itself when there is none.
    pub fn get(&self, key: &str) -> String {
        self.map.get(key).cloned().unwrap_or_else(|| key.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn latin_to_cyrillic() -> Transliteration {
        let pairs = [
            ("Lj", "Љ"),
            ("lj", "љ"),
            ("nj", "њ"),
            ("dž", "џ"),
            ("d", "д"),
            ("ž", "ж"),
            ("a", "а"),
            ("n", "н"),
            ("j", "ј"),
            ("l", "л"),
            ("o", "о"),
            ("p", "п"),
            ("i", "и"),
        ];
        Transliteration {
            from: "src".into(),
            pairs: pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect(),
        }
    }

    #[test]
    fn longest_pairs_win_and_unknown_letters_pass_through() {
        let t = latin_to_cyrillic();
        assert_eq!(t.apply("Ljiljana odžaj"), "Љиљана оџај");
        assert_eq!(t.apply("plan 2024!"), "план 2024!");
    }

    #[test]
    fn html_tags_and_entities_are_left_alone() {
        let t = latin_to_cyrillic();
        assert_eq!(t.apply_html("<p class=\"a\">plan &amp; lanj</p>"), "<p class=\"a\">план &amp; лањ</p>");
        assert_eq!(
            t.apply_html("<style>p { padding: 0 }</style><p>plan</p>"),
            "<style>p { padding: 0 }</style><p>план</p>"
        );
        let marked = "<p><span translate=\"no\">II <b>plan</b></span> plan</p>";
        assert_eq!(t.apply_html(marked), "<p><span translate=\"no\">II <b>plan</b></span> план</p>");
    }
}
