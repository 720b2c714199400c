//! What changed between two versions of a pack, element by element, and how
//! much each change matters to a plan already running on the older one:
//! patch, minor or major, by the written rules of `jurisdictions/README.md`
//! (*Versions: what a change requires*). [`Rule`] is that table in code.
//!
//! The comparison is generic on purpose: every element (a workflow, state,
//! event, transition, form, field, deadline, document, locale, plugin,
//! sample, scenario) is turned into JSON, matched by its id, and compared
//! property by property, so a construct added to the definition language
//! later is still compared — and, until a rule names it, classed major
//! ("when unsure, major").

use std::collections::BTreeSet;

use semver::Version;
use serde::Serialize;
use serde_json::Value;

use super::{Catalog, Pack};
use crate::diagnostic::{Diagnostic, Needle, Severity};

/// How much a change matters, smallest first. A version's number must be
/// raised at least this far ([`required_version`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    /// Nothing changed.
    None,
    /// Wording only: plans behave exactly as before.
    Patch,
    /// New things existing plans need not use.
    Minor,
    /// A running plan could be refused, lose data, or get another score.
    Major,
}

impl Class {
    pub fn name(self) -> &'static str {
        match self {
            Class::None => "none",
            Class::Patch => "patch",
            Class::Minor => "minor",
            Class::Major => "major",
        }
    }
}

impl std::fmt::Display for Class {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether something appeared, went away, or is there in both versions
/// with another value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Added,
    Removed,
    Changed,
}

impl ChangeKind {
    pub fn name(self) -> &'static str {
        match self {
            ChangeKind::Added => "added",
            ChangeKind::Removed => "removed",
            ChangeKind::Changed => "changed",
        }
    }
}

/// The written rule a change falls under; each has one class. The table
/// in `jurisdictions/README.md` lists exactly these (a test checks it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rule {
    Wording,
    Layout,
    Template,
    TestData,
    PluginFile,
    Added,
    OptionalField,
    Optional,
    ChoicesAdded,
    BoundsLoosened,
    GuardLoosened,
    Initial,
    Requires,
    Notify,
    Obligation,
    Removed,
    RequiredField,
    KindChanged,
    Required,
    ChoicesRemoved,
    BoundsTightened,
    GuardTightened,
    TargetChanged,
    Behaviour,
    Deadline,
    Scoring,
    PluginBuild,
    Cycle,
    Unknown,
}

impl Rule {
    /// Every rule, in the order of the table in `jurisdictions/README.md`.
    pub const ALL: [Rule; 29] = [
        Rule::Wording,
        Rule::Layout,
        Rule::Template,
        Rule::TestData,
        Rule::PluginFile,
        Rule::Added,
        Rule::OptionalField,
        Rule::Optional,
        Rule::ChoicesAdded,
        Rule::BoundsLoosened,
        Rule::GuardLoosened,
        Rule::Initial,
        Rule::Requires,
        Rule::Notify,
        Rule::Obligation,
        Rule::Removed,
        Rule::RequiredField,
        Rule::KindChanged,
        Rule::Required,
        Rule::ChoicesRemoved,
        Rule::BoundsTightened,
        Rule::GuardTightened,
        Rule::TargetChanged,
        Rule::Behaviour,
        Rule::Deadline,
        Rule::Scoring,
        Rule::PluginBuild,
        Rule::Cycle,
        Rule::Unknown,
    ];

    pub fn class(self) -> Class {
        use Rule::*;
        match self {
            Wording | Layout | Template | TestData | PluginFile => Class::Patch,
            Added | OptionalField | Optional | ChoicesAdded | BoundsLoosened | GuardLoosened | Initial | Requires
            | Notify | Obligation => Class::Minor,
            Removed | RequiredField | KindChanged | Required | ChoicesRemoved | BoundsTightened | GuardTightened
            | TargetChanged | Behaviour | Deadline | Scoring | PluginBuild | Cycle | Unknown => Class::Major,
        }
    }

    /// A stable name, for scripts and the README table.
    pub fn id(self) -> &'static str {
        use Rule::*;
        match self {
            Wording => "wording",
            Layout => "layout",
            Template => "template",
            TestData => "test_data",
            PluginFile => "plugin_file",
            Added => "added",
            OptionalField => "optional_field",
            Optional => "optional",
            ChoicesAdded => "choices_added",
            BoundsLoosened => "bounds_loosened",
            GuardLoosened => "guard_loosened",
            Initial => "initial",
            Requires => "requires",
            Notify => "notify",
            Obligation => "obligation",
            Removed => "removed",
            RequiredField => "required_field",
            KindChanged => "kind_changed",
            Required => "required",
            ChoicesRemoved => "choices_removed",
            BoundsTightened => "bounds_tightened",
            GuardTightened => "guard_tightened",
            TargetChanged => "target_changed",
            Behaviour => "behaviour",
            Deadline => "deadline",
            Scoring => "scoring",
            PluginBuild => "plugin_build",
            Cycle => "cycle",
            Unknown => "unknown",
        }
    }

    /// Why a change under this rule has its class, in one sentence.
    pub fn why(self) -> &'static str {
        use Rule::*;
        match self {
            Wording => "wording only (titles, help texts, labels, translations)",
            Layout => "form layout only (sections)",
            Template => "the wording of a document template",
            TestData => "samples and scenarios: what lint and `pack test` run, not what plans hold",
            PluginFile => "only the plugin file's name; its bytes are the same",
            Added => "new: plans need not use it",
            OptionalField => "a new optional field or column",
            Optional => "a field became optional",
            ChoicesAdded => "new choices; stored values stay valid",
            BoundsLoosened => "bounds loosened; stored values stay valid",
            GuardLoosened => "a guard loosened: what passed still passes",
            Initial => {
                "how new plans start (their first state, one plan at a time): running plans are past their start"
            }
            Requires => "the integritas versions the pack runs on",
            Notify => "who is told of a transition",
            Obligation => {
                "which institutions the law obliges: checked when a plan starts, so running plans keep theirs"
            }
            Removed => "removed or renamed: a plan that holds or uses it would be refused or lose data",
            RequiredField => "a new required field or column: running plans' forms become incomplete",
            KindChanged => "a field's kind changed: stored values may no longer fit",
            Required => "a field became required: running plans' forms may become incomplete",
            ChoicesRemoved => "choices removed: stored values may no longer fit",
            BoundsTightened => "bounds tightened: stored values may no longer fit",
            GuardTightened => "a guard added or tightened: an event that passed may be refused",
            TargetChanged => "a transition leads elsewhere",
            Behaviour => "how plans move, are stored or who acts changes",
            Deadline => "a deadline moved, changed hands, or stopped being met by an event",
            Scoring => {
                "a Score action or plugin guard changed (thresholds, weights, bands, scales): scores and levels may differ"
            }
            PluginBuild => "a new build of a plugin: its scores may differ",
            Cycle => "the cycle changed: dates and carried data of running plans change",
            Unknown => "no rule names this change: when unsure, major",
        }
    }
}

/// One difference between two versions of a pack.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// Where: `forms[register].fields[risks].columns[likelihood].max`.
    pub path: String,
    pub kind: ChangeKind,
    /// The old and new values, where one value says it (not for whole
    /// elements added or removed, nor for long texts).
    pub old: Option<Value>,
    pub new: Option<Value>,
    pub rule: Rule,
}

impl Change {
    pub fn class(&self) -> Class {
        self.rule.class()
    }

    /// `major forms[f].fields[x].max: 4 → 3`, as `pack diff` prints it.
    pub fn line(&self) -> String {
        let what = match (self.kind, &self.old, &self.new) {
            (_, Some(old), Some(new)) => format!("{} → {}", short(old), short(new)),
            (ChangeKind::Added, None, Some(new)) => format!("added {}", short(new)),
            (ChangeKind::Removed, Some(old), None) => format!("removed {}", short(old)),
            (kind, _, _) => kind.name().to_string(),
        };
        format!("{} {}: {what}", self.class(), self.path)
    }
}

/// A value on one line, cut when long.
fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() <= 80 {
        return text;
    }
    format!("{}…", text.chars().take(79).collect::<String>())
}

/// What changed from one version of a pack to another.
#[derive(Debug, Clone, PartialEq)]
pub struct PackDiff {
    pub pack: String,
    pub from: Version,
    pub to: Version,
    /// In the order of the packs' elements.
    pub changes: Vec<Change>,
}

impl PackDiff {
    /// The highest class of any change ([`Class::None`] when nothing changed).
    pub fn class(&self) -> Class {
        self.changes.iter().map(Change::class).max().unwrap_or(Class::None)
    }

    /// How far the version number was raised.
    pub fn bump(&self) -> Class {
        version_bump(&self.from, &self.to)
    }

    /// The smallest version after `from` that may carry these changes.
    pub fn required(&self) -> Version {
        required_version(&self.from, self.class())
    }

    /// Whether the number was raised as far as the changes require.
    pub fn enough(&self) -> bool {
        self.bump() >= self.class()
    }

    pub fn count(&self, class: Class) -> usize {
        self.changes.iter().filter(|c| c.class() == class).count()
    }

    /// W206 when the number is smaller than the changes require (see
    /// [`version_warning`]), located at `version` in the new `pack.ron`.
    pub fn warning(&self, manifest: &std::path::Path) -> Option<Diagnostic> {
        version_warning(self, manifest)
    }
}

/// How far a version number was raised, read as semver's caret ranges
/// (and `plan migrate`) read it: the first non-zero number is the major
/// one, so in `0.y.z` a new `y` is major and a new `z` minor (there is no
/// patch-only number below 1.0.0), and every `0.0.z` is its own major.
/// [`Class::None`] when `new` is not newer.
pub fn version_bump(old: &Version, new: &Version) -> Class {
    if new <= old {
        return Class::None;
    }
    let (o, n) = ((old.major, old.minor, old.patch), (new.major, new.minor, new.patch));
    if n <= o {
        // The same numbers: a pre-release became the release.
        return Class::Patch;
    }
    match (old.major, old.minor) {
        (0, 0) => Class::Major,
        (0, _) if n.0 != 0 || n.1 != o.1 => Class::Major,
        (0, _) => Class::Minor,
        _ if n.0 != o.0 => Class::Major,
        _ if n.1 != o.1 => Class::Minor,
        _ => Class::Patch,
    }
}

/// The smallest version after `old` whose number allows changes of `class`.
pub fn required_version(old: &Version, class: Class) -> Version {
    let (x, y, z) = (old.major, old.minor, old.patch);
    let (x, y, z) = match (class, x, y) {
        (Class::None, ..) => (x, y, z),
        (_, 0, 0) => (0, 0, z + 1),
        (Class::Major, 0, _) => (0, y + 1, 0),
        (_, 0, _) => (0, y, z + 1),
        (Class::Major, ..) => (x + 1, 0, 0),
        (Class::Minor, ..) => (x, y + 1, 0),
        (Class::Patch, ..) => (x, y, z + 1),
    };
    Version::new(x, y, z)
}

/// The version a new one follows: the newest version of the same pack in
/// `catalog` below it (a later version, or the same one, is not what it
/// changes; a fix published for an older line is compared with that line).
pub fn predecessor<'a>(catalog: &'a Catalog, pack: &Pack) -> Option<&'a std::sync::Arc<Pack>> {
    catalog.all().filter(|p| p.id() == pack.id() && p.version() < pack.version()).max_by_key(|p| p.version())
}

/// W206: the version's number is smaller than its changes against the
/// version it follows require; `None` when it is big enough.
pub fn version_warning(diff: &PackDiff, manifest: &std::path::Path) -> Option<Diagnostic> {
    if diff.enough() {
        return None;
    }
    let class = diff.class();
    let firsts: Vec<String> = diff
        .changes
        .iter()
        .filter(|c| c.class() == class)
        .take(3)
        .map(|c| format!("{} ({})", c.line().trim_start_matches(class.name()).trim_start(), c.rule.id()))
        .collect();
    let more = diff.count(class).saturating_sub(firsts.len());
    let more = if more > 0 { format!(" and {more} more") } else { String::new() };
    let numbered = match diff.bump() {
        Class::None => format!("is not newer than {}", diff.from),
        bump => format!("is numbered as a {bump} change after {}", diff.from),
    };
    let message = format!(
        "version {} {numbered}, but it makes {class} changes: {}{more}; publish it as {} or higher",
        diff.to,
        firsts.join("; "),
        diff.required()
    );
    let file = manifest.display().to_string();
    let mut d = match crate::pack::read_source(manifest) {
        Ok(source) => source.diagnostic(
            Severity::Warning,
            "W206",
            &[Needle::Key("version")],
            format!("pack `{}`", diff.pack),
            message,
        ),
        Err(_) => Diagnostic {
            element: format!("pack `{}`", diff.pack),
            ..Diagnostic::file(Severity::Warning, "W206", file, message)
        },
    };
    d.hint = Some(
        "`integritas pack diff OLD NEW` lists every change and its class; the rules are in jurisdictions/README.md (Versions)"
            .into(),
    );
    Some(d)
}

/// Compares two versions of a pack, element by element.
pub fn diff(old: &Pack, new: &Pack) -> PackDiff {
    let mut d = Differ::default();
    d.compare(Kind::Manifest, "pack", &json(&old.manifest), &json(&new.manifest));
    d.keyed(Kind::Workflow, "workflows", workflows(old), workflows(new));
    d.keyed(Kind::Form, "forms", forms(old), forms(new));
    d.keyed(Kind::Document, "documents", documents(old), documents(new));
    d.keyed(Kind::Partial, "partials", partials(old), partials(new));
    d.keyed(Kind::Locale, "locales", locales(old), locales(new));
    d.keyed(Kind::Plugin, "plugins", by_id(&json(&old.manifest.plugins)), by_id(&json(&new.manifest.plugins)));
    d.keyed(Kind::Sample, "samples", samples(old), samples(new));
    d.keyed(Kind::Scenario, "scenarios", scenarios(old), scenarios(new));
    PackDiff { pack: new.id().to_string(), from: old.version().clone(), to: new.version().clone(), changes: d.changes }
}

fn json<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

type Keyed = Vec<(String, Value)>;

fn workflows(pack: &Pack) -> Keyed {
    pack.workflows
        .iter()
        .map(|(id, w)| {
            let mut def = json(w.def());
            // Forms are compared once, at the pack's level.
            if let Value::Object(map) = &mut def {
                map.remove("forms");
            }
            (id.clone(), def)
        })
        .collect()
}

/// The pack's forms and the workflows' own, once each.
fn forms(pack: &Pack) -> Keyed {
    let mut out: Keyed = Vec::new();
    let all = pack.forms.iter().chain(pack.workflows.values().flat_map(|w| w.def().forms.iter()));
    for form in all {
        if !out.iter().any(|(id, _)| id == &form.id) {
            out.push((form.id.clone(), json(form)));
        }
    }
    out
}

/// A document: its title and its template's text (read from the pack's folder).
fn documents(pack: &Pack) -> Keyed {
    pack.manifest
        .documents
        .iter()
        .map(|d| {
            let text = std::fs::read_to_string(pack.dir.join(&d.template)).unwrap_or_default();
            let mut value = json(d);
            if let Value::Object(map) = &mut value {
                map.insert("text".into(), Value::String(text));
            }
            (d.id.clone(), value)
        })
        .collect()
}

fn partials(pack: &Pack) -> Keyed {
    let mut out: Keyed = std::fs::read_dir(pack.dir.join("documents/partials"))
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|e| {
            let path = e.path();
            let name = path.file_name()?.to_str()?.strip_suffix(".hbs")?.to_string();
            let text = std::fs::read_to_string(&path).ok()?;
            Some((name, serde_json::json!({ "text": text })))
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn locales(pack: &Pack) -> Keyed {
    pack.locales.iter().map(|(lang, l)| (lang.clone(), json(l))).collect()
}

fn samples(pack: &Pack) -> Keyed {
    pack.samples
        .iter()
        .map(|(id, (decl, payload))| {
            let mut value = json(decl);
            if let Value::Object(map) = &mut value {
                map.insert("payload".into(), payload.clone());
            }
            (id.clone(), value)
        })
        .collect()
}

fn scenarios(pack: &Pack) -> Keyed {
    pack.scenarios.iter().map(|(_, s)| (s.name.clone(), json(s))).collect()
}

/// Elements of a list by their `id` (by position when they have none).
fn by_id(list: &Value) -> Keyed {
    let items = list.as_array().map(Vec::as_slice).unwrap_or_default();
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let id = item.get("id").and_then(Value::as_str).map_or_else(|| i.to_string(), str::to_string);
            (id, item.clone())
        })
        .collect()
}

/// The kinds of elements, each with its own properties' rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Manifest,
    Workflow,
    Role,
    State,
    Event,
    Transition,
    Form,
    Section,
    Field,
    Deadline,
    Document,
    Partial,
    Locale,
    Plugin,
    Sample,
    Scenario,
}

/// How a property of an element is compared and classed.
enum Prop {
    /// Not compared here (the element's id, or compared elsewhere).
    Skip,
    /// Every differing leaf value is a change under this rule.
    Leaf(Rule),
    /// As `Leaf`, but leaves under these keys (labels) are wording.
    Worded(Rule, &'static [&'static str]),
    /// One change for the whole property, without values (long texts).
    Whole(Rule),
    /// The first differing line of a text.
    Lines(Rule),
    /// A list compared as a set: items added, items removed.
    Set {
        added: Rule,
        removed: Rule,
    },
    /// A flag turned on or off.
    Flag {
        on: Rule,
        off: Rule,
    },
    /// A bound; `higher_tighter` for a minimum, not for a maximum.
    Bound {
        higher_tighter: bool,
    },
    /// A list of elements with ids.
    Keyed(Kind),
    Transitions,
    Conditions,
    Actions,
    PluginGuard,
}

fn prop(kind: Kind, name: &str) -> Prop {
    use Prop::*;
    use Rule as R;
    match (kind, name) {
        (Kind::Manifest, "id") => Leaf(R::Removed),
        (_, "id") => Skip,
        (Kind::Manifest, "title") => Leaf(R::Wording),
        (Kind::Manifest, "requires") => Leaf(R::Requires),
        (Kind::Manifest, "languages") => Set { added: R::Added, removed: R::Removed },
        (
            Kind::Manifest,
            "version" | "workflows" | "forms" | "documents" | "locales" | "plugins" | "samples" | "scenarios",
        ) => Skip,
        (Kind::Workflow, "title" | "description") => Leaf(R::Wording),
        (Kind::Workflow, "roles") => Keyed(Kind::Role),
        (Kind::Workflow, "documents") => Set { added: R::Added, removed: R::Removed },
        (Kind::Workflow, "states") => Keyed(Kind::State),
        (Kind::Workflow, "initial") => Leaf(R::Initial),
        (Kind::Workflow, "single_plan") => Flag { on: R::Initial, off: R::Initial },
        (Kind::Workflow, "events") => Keyed(Kind::Event),
        (Kind::Workflow, "transitions") => Transitions,
        (Kind::Workflow, "deadlines") => Keyed(Kind::Deadline),
        (Kind::Workflow, "cycle") => Leaf(R::Cycle),
        (Kind::Workflow, "applies_to") => Worded(R::Obligation, &["label", "notice"]),
        (Kind::Role, "title") => Leaf(R::Wording),
        (Kind::Role, "read_only") => Flag { on: R::Behaviour, off: R::Behaviour },
        (Kind::State, "title") => Leaf(R::Wording),
        (Kind::State, "kind" | "parent") => Leaf(R::Behaviour),
        (Kind::Event, "title") => Leaf(R::Wording),
        (Kind::Event, "fills") => Set { added: R::Added, removed: R::Removed },
        (Kind::Event, "anonymous" | "append_rows") => Flag { on: R::Behaviour, off: R::Behaviour },
        (Kind::Transition, "to") => Leaf(R::TargetChanged),
        (Kind::Transition, "roles") => Set { added: R::GuardLoosened, removed: R::GuardTightened },
        (Kind::Transition, "forms_complete") => Set { added: R::GuardTightened, removed: R::GuardLoosened },
        (Kind::Transition, "conditions") => Conditions,
        (Kind::Transition, "plugin") => PluginGuard,
        (Kind::Transition, "actions") => Actions,
        (Kind::Form, "title" | "help") => Leaf(R::Wording),
        (Kind::Form, "sections") => Keyed(Kind::Section),
        (Kind::Form, "fields") => Keyed(Kind::Field),
        (Kind::Section, "title") => Leaf(R::Layout),
        (Kind::Field, "title" | "help") => Leaf(R::Wording),
        (Kind::Field, "section") => Leaf(R::Layout),
        (Kind::Field, "kind") => Leaf(R::KindChanged),
        (Kind::Field, "required") => Flag { on: R::Required, off: R::Optional },
        (Kind::Field, "choices") => Set { added: R::ChoicesAdded, removed: R::ChoicesRemoved },
        (Kind::Field, "columns") => Keyed(Kind::Field),
        (Kind::Field, "min" | "min_rows") => Bound { higher_tighter: true },
        (Kind::Field, "max" | "max_rows" | "max_length") => Bound { higher_tighter: false },
        (Kind::Deadline, "what" | "basis") => Leaf(R::Wording),
        (Kind::Deadline, "who" | "due" | "active_in" | "met_at" | "period" | "in_cycles" | "from_cycle") => {
            Leaf(R::Deadline)
        }
        (Kind::Deadline, "met_by") => Set { added: R::Added, removed: R::Deadline },
        (Kind::Document, "title") => Leaf(R::Wording),
        (Kind::Document, "template") => Skip,
        (Kind::Document | Kind::Partial, "text") => Lines(R::Template),
        (Kind::Locale, "language") => Skip,
        (Kind::Locale, "messages" | "transliterate") => Leaf(R::Wording),
        (Kind::Plugin, "file") => Leaf(R::PluginFile),
        (Kind::Plugin, "sha256") => Leaf(R::PluginBuild),
        (Kind::Sample, "file") => Skip,
        (Kind::Sample | Kind::Scenario, _) => Whole(R::TestData),
        _ => Leaf(R::Unknown),
    }
}

/// The order properties are written in, where it is not the alphabet's.
fn written_order(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Manifest => &["id", "title", "requires", "languages"],
        Kind::Workflow => {
            &["title", "description", "roles", "documents", "states", "initial", "events", "transitions", "deadlines"]
        }
        Kind::Transition => &["to", "roles", "forms_complete", "conditions", "plugin", "actions"],
        Kind::Form => &["title", "help", "sections", "fields"],
        Kind::Field => &["title", "help", "section", "kind", "required", "choices", "min", "max"],
        Kind::Deadline => &["what", "who", "due", "met_by", "active_in"],
        _ => &[],
    }
}

/// The rule of an element that appeared in the new version.
fn added_rule(kind: Kind, new: &Value) -> Rule {
    match kind {
        Kind::Field if new.get("required").and_then(Value::as_bool) == Some(true) => Rule::RequiredField,
        Kind::Field => Rule::OptionalField,
        Kind::Section => Rule::Layout,
        Kind::Partial => Rule::Template,
        _ => Rule::Added,
    }
}

/// The rule of an element the new version no longer has.
fn removed_rule(kind: Kind) -> Rule {
    match kind {
        Kind::Section => Rule::Layout,
        Kind::Partial => Rule::Template,
        Kind::Sample | Kind::Scenario => Rule::TestData,
        _ => Rule::Removed,
    }
}

const NULL: Value = Value::Null;

/// `path.key`, or `path["key"]` for a key that is not a plain name.
fn join(path: &str, key: &str) -> String {
    let plain = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if plain { format!("{path}.{key}") } else { format!("{path}[{}]", Value::String(key.into())) }
}

/// `path[key]`: an element of a keyed list.
fn item(path: &str, key: &str) -> String {
    format!("{path}[{key}]")
}

fn keys<'a>(old: &'a Value, new: &'a Value) -> Vec<&'a String> {
    let mut keys: Vec<&String> = Vec::new();
    for map in [old.as_object(), new.as_object()].into_iter().flatten() {
        for key in map.keys() {
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
    }
    keys
}

/// A single-key object (`{"Score": {...}}`): an enum variant and its content.
fn variant(value: &Value) -> Option<(&str, &Value)> {
    match value {
        Value::Object(map) if map.len() == 1 => map.iter().next().map(|(k, v)| (k.as_str(), v)),
        Value::String(name) => Some((name.as_str(), &NULL)),
        _ => None,
    }
}

#[derive(Default)]
struct Differ {
    changes: Vec<Change>,
}

impl Differ {
    fn push(&mut self, path: String, old: &Value, new: &Value, rule: Rule) {
        let kind = match (old.is_null(), new.is_null()) {
            (true, _) => ChangeKind::Added,
            (_, true) => ChangeKind::Removed,
            _ => ChangeKind::Changed,
        };
        let some = |v: &Value| (!v.is_null()).then(|| v.clone());
        self.changes.push(Change { path, kind, old: some(old), new: some(new), rule });
    }

    fn bare(&mut self, path: String, kind: ChangeKind, rule: Rule) {
        self.changes.push(Change { path, kind, old: None, new: None, rule });
    }

    /// Elements of two versions matched by key: in the old order, then the new ones.
    fn keyed(&mut self, kind: Kind, path: &str, old: Keyed, new: Keyed) {
        let mut seen = BTreeSet::new();
        for (key, o) in &old {
            seen.insert(key.clone());
            let n = new.iter().find(|(k, _)| k == key).map(|(_, v)| v);
            self.element(kind, &item(path, key), Some(o), n);
        }
        for (key, n) in new.iter().filter(|(k, _)| !seen.contains(k)) {
            self.element(kind, &item(path, key), None, Some(n));
        }
    }

    fn element(&mut self, kind: Kind, path: &str, old: Option<&Value>, new: Option<&Value>) {
        match (old, new) {
            (None, Some(n)) => self.bare(path.to_string(), ChangeKind::Added, added_rule(kind, n)),
            (Some(_), None) => self.bare(path.to_string(), ChangeKind::Removed, removed_rule(kind)),
            (Some(o), Some(n)) => self.compare(kind, path, o, n),
            (None, None) => {}
        }
    }

    /// Property by property, each by its rule.
    fn compare(&mut self, kind: Kind, path: &str, old: &Value, new: &Value) {
        if old == new {
            return;
        }
        if !(old.is_object() && new.is_object()) {
            self.walk(path, old, new, Rule::Unknown);
            return;
        }
        let mut all = keys(old, new);
        // In the order the format writes them; others after, by name.
        let written = written_order(kind);
        all.sort_by_key(|k| written.iter().position(|w| w == k).unwrap_or(written.len()));
        for key in all {
            let (o, n) = (old.get(key).unwrap_or(&NULL), new.get(key).unwrap_or(&NULL));
            if o == n {
                continue;
            }
            let at = join(path, key);
            match prop(kind, key) {
                Prop::Skip => {}
                Prop::Leaf(rule) => self.walk(&at, o, n, rule),
                Prop::Worded(rule, words) => self.walk_in(&at, o, n, rule, words),
                Prop::Whole(rule) => self.bare(at, ChangeKind::Changed, rule),
                Prop::Lines(rule) => self.lines(&at, o, n, rule),
                Prop::Set { added, removed } => self.set(&at, o, n, added, removed),
                Prop::Flag { on, off } => {
                    let (was, is) = (o.as_bool().unwrap_or(false), n.as_bool().unwrap_or(false));
                    if was != is {
                        self.push(at, &Value::Bool(was), &Value::Bool(is), if is { on } else { off });
                    }
                }
                Prop::Bound { higher_tighter } => {
                    self.bound(at, o, n, higher_tighter, Rule::BoundsTightened, Rule::BoundsLoosened)
                }
                Prop::Keyed(sub) => self.keyed(sub, &at, by_id(o), by_id(n)),
                Prop::Transitions => self.transitions(&at, o, n),
                Prop::Conditions => self.conditions(&at, o, n),
                Prop::Actions => self.actions(&at, o, n),
                Prop::PluginGuard => match (o.is_null(), n.is_null()) {
                    (true, _) => self.push(at, o, n, Rule::GuardTightened),
                    (_, true) => self.push(at, o, n, Rule::GuardLoosened),
                    _ => self.walk(&at, o, n, Rule::Scoring),
                },
            }
        }
    }

    /// Every differing leaf of two values, under one rule. A variant that
    /// became another (`Yearly` → `Fixed`) is one change of the whole value.
    fn walk(&mut self, path: &str, old: &Value, new: &Value, rule: Rule) {
        self.walk_in(path, old, new, rule, &[]);
    }

    /// [`Differ::walk`], with the values under keys in `words` (a
    /// condition's `label`, at any depth) classed as wording.
    fn walk_in(&mut self, path: &str, old: &Value, new: &Value, rule: Rule, words: &[&str]) {
        if old == new {
            return;
        }
        match (old, new) {
            (Value::Object(a), Value::Object(b)) if !(a.len() == 1 && b.len() == 1 && a.keys().ne(b.keys())) => {
                for key in keys(old, new) {
                    let (x, y) = (a.get(key).unwrap_or(&NULL), b.get(key).unwrap_or(&NULL));
                    if words.contains(&key.as_str()) {
                        self.walk(&join(path, key), x, y, Rule::Wording);
                    } else {
                        self.walk_in(&join(path, key), x, y, rule, words);
                    }
                }
            }
            (Value::Array(a), Value::Array(b)) => {
                for i in 0..a.len().max(b.len()) {
                    let (x, y) = (a.get(i).unwrap_or(&NULL), b.get(i).unwrap_or(&NULL));
                    self.walk_in(&format!("{path}[{i}]"), x, y, rule, words);
                }
            }
            _ => self.push(path.to_string(), old, new, rule),
        }
    }

    /// The first line that differs between two texts.
    fn lines(&mut self, path: &str, old: &Value, new: &Value, rule: Rule) {
        let (a, b) = (old.as_str().unwrap_or_default(), new.as_str().unwrap_or_default());
        let (mut a_lines, mut b_lines) = (a.lines(), b.lines());
        let mut n = 1;
        loop {
            match (a_lines.next(), b_lines.next()) {
                (Some(x), Some(y)) if x == y => n += 1,
                (None, None) => {
                    // Only line endings differ.
                    self.bare(path.to_string(), ChangeKind::Changed, rule);
                    return;
                }
                (x, y) => {
                    let line = |l: Option<&str>| l.map_or(NULL, |l| Value::String(l.trim().to_string()));
                    self.push(format!("{path}:{n}"), &line(x), &line(y), rule);
                    return;
                }
            }
        }
    }

    fn set(&mut self, path: &str, old: &Value, new: &Value, added: Rule, removed: Rule) {
        let (a, b) = (old.as_array().cloned().unwrap_or_default(), new.as_array().cloned().unwrap_or_default());
        let name = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_string);
        for gone in a.iter().filter(|v| !b.contains(v)) {
            self.push(item(path, &name(gone)), gone, &NULL, removed);
        }
        for new_item in b.iter().filter(|v| !a.contains(v)) {
            self.push(item(path, &name(new_item)), &NULL, new_item, added);
        }
    }

    fn bound(&mut self, path: String, old: &Value, new: &Value, higher_tighter: bool, tight: Rule, loose: Rule) {
        let tighter = match (old.as_f64(), new.as_f64()) {
            (None, Some(_)) => true,
            (Some(_), None) => false,
            (Some(a), Some(b)) => (b > a) == higher_tighter,
            (None, None) => true,
        };
        self.push(path, old, new, if tighter { tight } else { loose });
    }

    /// Transitions by (state, event): one written for several states is
    /// compared for each, and equal changes are reported once for all of them.
    fn transitions(&mut self, path: &str, old: &Value, new: &Value) {
        let expand = |list: &Value| -> Vec<((String, String), Value)> {
            let mut out = Vec::new();
            for t in list.as_array().map(Vec::as_slice).unwrap_or_default() {
                let on = t.get("on").and_then(Value::as_str).unwrap_or_default().to_string();
                let mut rest = t.clone();
                if let Value::Object(map) = &mut rest {
                    map.remove("from");
                    map.remove("on");
                }
                let from = t.get("from").and_then(Value::as_array).cloned().unwrap_or_default();
                for state in from.iter().filter_map(Value::as_str) {
                    if !out.iter().any(|(k, _): &((String, String), Value)| k.0 == state && k.1 == on) {
                        out.push(((state.to_string(), on.clone()), rest.clone()));
                    }
                }
            }
            out
        };
        let (a, b) = (expand(old), expand(new));
        let mut order: Vec<&(String, String)> = a.iter().map(|(k, _)| k).collect();
        order.extend(b.iter().map(|(k, _)| k).filter(|k| !a.iter().any(|(x, _)| x == *k)));
        // (event, change relative to the transition, states)
        let mut groups: Vec<(String, Change, Vec<String>)> = Vec::new();
        for key in order {
            let find = |list: &[((String, String), Value)]| list.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
            let mut one = Differ::default();
            one.element(Kind::Transition, "", find(&a).as_ref(), find(&b).as_ref());
            for change in one.changes {
                match groups.iter_mut().find(|(on, c, _)| *on == key.1 && *c == change) {
                    Some((_, _, states)) => states.push(key.0.clone()),
                    None => groups.push((key.1.clone(), change, vec![key.0.clone()])),
                }
            }
        }
        for (on, change, states) in groups {
            let path = format!("{path}[{} on {on}]{}", states.join(", "), change.path);
            self.changes.push(Change { path, ..change });
        }
    }

    /// Conditions have no ids: equal ones are matched first, then ones of
    /// the same kind on the same path are compared; the rest were added
    /// (tightened: one more thing must hold) or removed (loosened).
    fn conditions(&mut self, path: &str, old: &Value, new: &Value) {
        let mut olds: Vec<&Value> = old.as_array().map(|a| a.iter().collect()).unwrap_or_default();
        let mut news: Vec<&Value> = Vec::new();
        for n in new.as_array().map(Vec::as_slice).unwrap_or_default() {
            match olds.iter().position(|o| *o == n) {
                Some(i) => {
                    olds.remove(i);
                }
                None => news.push(n),
            }
        }
        // What a condition is about: its path, or the institution's attribute.
        let about = |inner: &Value| inner.get("path").or_else(|| inner.get("attribute")).cloned();
        let key = |c: &Value| variant(c).map(|(v, inner)| (v.to_string(), about(inner)));
        let name = |c: &Value| match variant(c) {
            Some((v, inner)) => match about(inner).as_ref().and_then(Value::as_str) {
                Some(p) => format!("{v} {p}"),
                None => v.to_string(),
            },
            None => c.to_string(),
        };
        for n in news {
            let at = item(path, &name(n));
            match olds.iter().position(|o| key(o) == key(n)) {
                Some(i) => {
                    let o = olds.remove(i);
                    self.condition(&at, o, n);
                }
                None => self.push(at, &NULL, n, Rule::GuardTightened),
            }
        }
        for o in olds {
            self.push(item(path, &name(o)), o, &NULL, Rule::GuardLoosened);
        }
    }

    /// Two conditions of one kind on one path: labels are wording, `min`
    /// and `max` are bounds; anything else is a tightened guard, since
    /// which way it goes cannot be told in general.
    fn condition(&mut self, path: &str, old: &Value, new: &Value) {
        let (Some((_, a)), Some((_, b))) = (variant(old), variant(new)) else {
            return self.walk_in(path, old, new, Rule::GuardTightened, &["label"]);
        };
        if !(a.is_object() && b.is_object()) {
            // `Any([...])`, `All([...])`: which way a change goes cannot be told.
            return self.walk_in(path, old, new, Rule::GuardTightened, &["label"]);
        }
        for key in keys(a, b) {
            let (o, n) = (a.get(key).unwrap_or(&NULL), b.get(key).unwrap_or(&NULL));
            if o == n {
                continue;
            }
            let at = join(path, key);
            match key.as_str() {
                "label" => self.walk(&at, o, n, Rule::Wording),
                "min" => self.bound(at, o, n, true, Rule::GuardTightened, Rule::GuardLoosened),
                "max" => self.bound(at, o, n, false, Rule::GuardTightened, Rule::GuardLoosened),
                _ => self.walk_in(&at, o, n, Rule::GuardTightened, &["label"]),
            }
        }
    }

    /// Actions by what they make: `Score(output)`, `Render(document)`,
    /// `OpenNextCycle`, `Notify(n)`.
    fn actions(&mut self, path: &str, old: &Value, new: &Value) {
        let keyed = |list: &Value| -> Keyed {
            let mut counts: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
            let mut out = Vec::new();
            for action in list.as_array().map(Vec::as_slice).unwrap_or_default() {
                let (name, inner) = variant(action).unwrap_or(("?", &NULL));
                let key = match (name, inner) {
                    ("Score", inner) => format!("Score({})", inner.get("output").and_then(Value::as_str).unwrap_or("")),
                    ("Render", Value::String(doc)) => format!("Render({doc})"),
                    ("OpenNextCycle", _) => "OpenNextCycle".to_string(),
                    (other, _) => {
                        let n = counts.entry(other.to_string()).or_default();
                        *n += 1;
                        format!("{other}({})", *n - 1)
                    }
                };
                out.push((key, action.clone()));
            }
            out
        };
        let (a, b) = (keyed(old), keyed(new));
        let mut order: Vec<&String> = a.iter().map(|(k, _)| k).collect();
        order.extend(b.iter().map(|(k, _)| k).filter(|k| !a.iter().any(|(x, _)| x == *k)));
        for key in order {
            let o = a.iter().find(|(k, _)| k == key).map_or(&NULL, |(_, v)| v);
            let n = b.iter().find(|(k, _)| k == key).map_or(&NULL, |(_, v)| v);
            if o == n {
                continue;
            }
            let at = item(path, key);
            let kind = variant(if o.is_null() { n } else { o }).map_or("?", |(v, _)| v);
            match (kind, o.is_null(), n.is_null()) {
                ("Score", false, false) => {
                    let (x, y) = (variant(o).map_or(&NULL, |v| v.1), variant(n).map_or(&NULL, |v| v.1));
                    self.walk(&at, x, y, Rule::Scoring);
                }
                ("Score", ..) => self.push(at, o, n, Rule::Scoring),
                ("Render", true, _) => self.push(at, o, n, Rule::Added),
                ("Render", _, true) => self.push(at, o, n, Rule::Removed),
                ("OpenNextCycle", ..) => self.push(at, o, n, Rule::Cycle),
                ("Notify", false, false) => {
                    let (x, y) = (variant(o).map_or(&NULL, |v| v.1), variant(n).map_or(&NULL, |v| v.1));
                    for field in keys(x, y) {
                        let rule = if field == "message" { Rule::Wording } else { Rule::Notify };
                        self.walk(
                            &join(&at, field),
                            x.get(field).unwrap_or(&NULL),
                            y.get(field).unwrap_or(&NULL),
                            rule,
                        );
                    }
                }
                ("Notify", ..) => self.push(at, o, n, Rule::Notify),
                _ => self.walk(&at, o, n, Rule::Unknown),
            }
        }
    }
}

#[cfg(test)]
mod tests;
