//! Workflow definitions: the RON format a methodology author writes.
//!
//! The types here mirror the files one to one (stage one); [`check`] turns a
//! parsed [`WorkflowDef`] into a checked [`Workflow`] with resolved references
//! and collects every problem as a [`Diagnostic`](crate::diagnostic::Diagnostic)
//! (stage two). Nothing here knows any country: a definition is data.
//!
//! # The format, one construct at a time
//!
//! A workflow file holds one `Workflow(...)`. Optional fields may be left out;
//! an optional value is written plainly (`parent: "preparation"`, no `Some`).
//!
//! **Roles** — who acts. A `read_only` role (a supervising agency) sees
//! everything and fires nothing.
//! ```ron
//! roles: [Role(id: "head", title: "Head of the institution"), Role(id: "agency", read_only: true)],
//! ```
//!
//! **Forms** — the data a plan collects. Field kinds: `Text`, `LongText`,
//! `Integer`, `Number`, `Date`, `Bool`, `Choice` (one of `choices`),
//! `Choices` (several of `choices`) and `Table` (repeating rows of `columns`,
//! with optional `min_rows` and `max_rows`). `min`/`max` bound numbers;
//! `max_length` bounds a text (defaults: 2,000 characters for `Text`, 50,000
//! for `LongText`). Control characters other than tab (and line breaks in
//! `LongText`) are refused.
//! ```ron
//! forms: [Form(id: "working_group", title: "Working group decision", fields: [
//!     Field(id: "members", kind: Table, required: true, columns: [
//!         Field(id: "name", kind: Text, required: true),
//!         Field(id: "area", kind: Text, required: true),
//!     ]),
//! ])],
//! ```
//!
//! **States** — `Phase`s group `Step`s (a step names its phase as `parent`);
//! `Final` states end the workflow. Transitions go to steps or final states.
//! ```ron
//! states: [
//!     State(id: "preparation", kind: Phase),
//!     State(id: "forming_group", parent: "preparation"),
//!     State(id: "closed", kind: Final),
//! ],
//! initial: "forming_group",
//! ```
//!
//! **Events** — what actors do. `fills` lists the forms whose data the
//! event's payload carries (`{"working_group": {"members": [...]}}`).
//! ```ron
//! events: [Event(id: "form_group", fills: ["working_group"])],
//! ```
//!
//! **Transitions and guards** — `from` may name steps or whole phases; `to`
//! left out means the plan stays where it is (saving a register). Guards:
//! `roles`, `forms_complete`, `conditions` and an optional `plugin` check.
//! ```ron
//! transitions: [Transition(
//!     from: ["forming_group"], on: "form_group", to: "assessment",
//!     roles: ["head"],
//!     forms_complete: ["working_group"],
//!     conditions: [
//!         Count(path: "working_group.members", min: 3, max: 7, label: "working group members"),
//!         Distinct(path: "working_group.members", column: "area", min: 2),
//!         Date(path: "working_group.decided_on", not_after: Today),
//!     ],
//!     plugin: PluginGuard(plugin: "quality", entry: "check", forms: ["register"]),
//!     actions: [Render("working_group_decision"), Notify(roles: ["coordinator"], message: "Group formed")],
//! )],
//! ```
//! Conditions: `Count` (rows of a table or items of a list), `CountWhere`
//! (rows whose `column` equals `equals`), `Distinct` (different values in a
//! column), `Range` (a number, or a number column in every row), `Date`
//! (`not_before`/`not_after` one of `Today`, `CycleStart`, `Fixed("…")`,
//! `Field("form.field")`), `Equals`, `Filled`, and `Any([...])`/`All([...])`.
//!
//! **Rules across tables and rows** — for the cases a law states per
//! measure, per risk or per report:
//! ```ron
//! conditions: [
//!     // every measure of the plan is reported on; no report row for an unknown measure
//!     Covered(path: "measures.measures", column: "id", by: "report.measures", by_column: "id", label: "measures"),
//!     References(path: "report.measures", column: "id", into: "measures.measures", into_column: "id"),
//!     // every risk of level high (a plugin's output) has a measure naming it
//!     Covered(path: "scores.intensity.risks", column: "id", by: "measures.measures", by_column: "risks",
//!         where: In(column: "level", values: ["high"])),
//!     // a reason when a measure is late, not done, or done otherwise than planned
//!     Rows(path: "report.measures",
//!         where: Any([In(column: "status", values: ["late", "not done"]), In(column: "as_planned", values: ["false"])]),
//!         require: [Filled("reason")]),
//!     // a measure's term after the adoption; "on time" means by the measure's own term
//!     Rows(path: "measures.measures", require: [Date(column: "deadline", after: Field("adoption.decided_on"))]),
//!     Rows(path: "report.measures", where: In(column: "status", values: ["on time"]),
//!         require: [Date(column: "done_on", not_after: Lookup(table: "measures.measures", key: "id", column: "deadline"))]),
//!     // a measure's urgency follows the highest level of its risks, unless a reason is given
//!     Rows(path: "measures.measures", require: [Any([
//!         Highest(column: "urgency", from: "scores.intensity.risks", key: "risks", match_column: "id",
//!             value: "level", order: ["low", "medium", "high"]),
//!         Filled("urgency_reason"),
//!     ])]),
//!     // only after the implementation deadline; the report for the previous year
//!     Date(path: "report_decision.decided_on", after: Deadline("implementation")),
//!     Date(path: "report.delivered_on", not_before: YearAfter("report.year")),
//!     // the manager is the person who led the drafting, or it is explained
//!     Any([SameAs(path: "group.leader", other: "manager.name"), Filled(path: "group.explanation")]),
//!     If(when: Equals(path: "plan.kind", value: "unit"), then: Filled(path: "plan.agency_notified_on")),
//!     Institution(attribute: "employees", min: 31),
//!     // a review every second year of a yearly cycle; a step of cycles 4 and later only
//!     Cycle(every: 2),
//!     Cycle(from: 4),
//! ],
//! ```
//! `Rows` tests: `Filled(column)`, `In(column:, values:)`, `Date(column:,
//! not_before/not_after/after/before:)`, `Range(column:, min:, max:)`,
//! `Highest(...)`, `When(date:, not_before/not_after/after/before:)` (a
//! date the row names, e.g. the reported measure's own term, against a
//! reference: "in progress only while its term has not passed"), `Any`,
//! `All`, `Not`. `Unique(path: "report.measures", column: "id")` refuses a
//! table that lists a row twice. Dates may be `Today`, `CycleStart`,
//! `Fixed("…")`, `Field("form.field")`, `Deadline("id")` (its due date this
//! cycle), `YearAfter("form.year")`, and in a row test `Column("other")` or
//! `Lookup(table:, key:, column:)`. A table may be a plugin's output,
//! `scores.<output>.<list>`. `Institution` reads `employees`, `kind`, `name`,
//! `jurisdiction` and the parent's as `parent.kind`.
//!
//! **Who the law applies to** — checked when a plan starts; a plan of an
//! institution it does not oblige is marked so and told the `notice`:
//! ```ron
//! applies_to: AppliesTo(conditions: [Institution(attribute: "employees", min: 31)],
//!     notice: "The law obliges bodies with more than 30 employees."),
//! ```
//!
//! `single_plan: true` keeps one plan of the workflow per institution at a
//! time: a new one starts only once the previous reached a final state.
//!
//! **Actions** — `Render("document")`, `Score(plugin:, entry:, input:
//! "form.table", output: "name", config: {...})`, `OpenNextCycle`,
//! `Notify(roles:, message:)`.
//!
//! **Deadlines** — each names what is due, by whom, when, and which events
//! meet it. `due` is one of `Fixed("2022-01-31")`, `FromCycleStart(months:,
//! days:)`, `FromEntry(state:, months:, days:)`, `Yearly(month: 4, day: 15)`
//! or `EveryYears(years: 2, from: CycleStart | Entry("state"), months:, days:)`.
//! `active_in` limits a deadline to some states (and starts recurring ones
//! at the first entry into them).
//! ```ron
//! deadlines: [Deadline(id: "annual_report", what: "Annual report on the previous year",
//!     who: "manager", due: Yearly(month: 4, day: 15), met_by: ["submit_annual_report"],
//!     active_in: ["implementation"])],
//! ```
//!
//! Deadlines read from forms and tables: `met_at: Field("decision.posted_on")`
//! (met on the day of delivery written in the form, so a plan taken over
//! keeps its real dates) or `Latest([...])`; `due: Field("programme.step_1_by")`
//! (a date in a form: "najkasnije do"); `due: Rows(path: "measures.measures",
//! key: "id", date: "deadline", year: "deadline_year")` (one occurrence per
//! row, named `id:key`) with `met_at: Row(path: "report.measures", key: "id",
//! status: "status", done: ["done"], date: "done_on")`; `met_at:
//! AllRows(path:, status:, done:, failed:, date:)` (met when every row is
//! done). A yearly act bound to its period: `period: (field: "report.year",
//! offset: -1)` (the report due in year Y is the one for Y − 1). `in_cycles:
//! [3]` and `from_cycle: 4` limit a deadline to some cycles; `Yearly(month:,
//! day:, every: 2)` falls every second year, and `Yearly(month: 4, day: 15,
//! from: Field("adoption.decided_on"))` counts from a date in a form (nothing
//! is owed for a period before it); `EveryYears(years: 2, from:
//! Field("adoption.decided_on"))` counts from a date in a form. `basis` says
//! where the date comes from, and is printed beside it (translatable as
//! `deadline.<id>.basis`).
//!
//! An event whose forms are a new act each time (a yearly report) says
//! `replaces: true`: each form in its payload replaces the stored one whole,
//! so nothing of the previous act's fields is kept:
//! ```ron
//! Event(id: "deliver_annual_report", title: "Annual report delivered", fills: ["annual_report"], replaces: true),
//! ```
//! ```ron
//! Deadline(id: "plan", what: "Plan delivered", who: "head", due: Fixed("2022-10-31"),
//!     met_by: ["adopt_plan", "import_plan"], met_at: Field("adoption_decision.posted_on"),
//!     in_cycles: [3], basis: "Art. 20"),
//! ```
//!
//! **Cycles** — a plan repeats every N years; `OpenNextCycle` starts the next
//! cycle at `restart_at`, keeping the `carry_forward` forms (the register).
//! ```ron
//! cycle: Cycle(every_years: 3, first_start: "2021-11-01", first_number: 3,
//!     restart_at: "forming_group", carry_forward: ["risky_processes"]),
//! ```

pub mod check;
pub mod parse;
pub mod scenario;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::date::Date;

pub use check::{Workflow, check, check_forms, check_with_forms};

/// A whole workflow definition, as written in a `.ron` file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename = "Workflow", deny_unknown_fields)]
pub struct WorkflowDef {
    pub id: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub roles: Vec<RoleDef>,
    #[serde(default)]
    pub forms: Vec<FormDef>,
    /// Ids of the documents `Render` actions may produce.
    #[serde(default)]
    pub documents: Vec<String>,
    pub states: Vec<StateDef>,
    pub initial: String,
    pub events: Vec<EventDef>,
    pub transitions: Vec<TransitionDef>,
    #[serde(default)]
    pub deadlines: Vec<DeadlineDef>,
    #[serde(default)]
    pub cycle: Option<CycleDef>,
    /// Which institutions the law obliges: checked when a plan starts; a
    /// plan of an institution it does not oblige is marked so, with `notice`.
    #[serde(default)]
    pub applies_to: Option<AppliesTo>,
    /// An institution keeps one plan of this workflow at a time: a new one
    /// can start only when its previous plan reached a final state.
    #[serde(default)]
    pub single_plan: bool,
}

impl WorkflowDef {
    /// The anonymous event that fills `form`, if any: such a form holds
    /// answers that leave the plan only in aggregate (never in a view,
    /// export or import row by row).
    pub fn anonymous_filler(&self, form: &str) -> Option<&EventDef> {
        self.events.iter().find(|e| e.anonymous && e.fills.iter().any(|f| f == form))
    }
}

/// The institutions a workflow's law applies to.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename = "AppliesTo", deny_unknown_fields)]
pub struct AppliesTo {
    /// Conditions on the institution (`Institution(...)`), all of which must hold.
    pub conditions: Vec<Condition>,
    /// Told when a plan starts for an institution the law does not oblige.
    pub notice: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename = "Role", deny_unknown_fields)]
pub struct RoleDef {
    pub id: String,
    #[serde(default)]
    pub title: String,
    /// Oversight roles see every plan and fire nothing.
    #[serde(default)]
    pub read_only: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename = "Form", deny_unknown_fields)]
pub struct FormDef {
    pub id: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub help: String,
    /// Layout groups; each field may name one as its `section`.
    #[serde(default)]
    pub sections: Vec<SectionDef>,
    pub fields: Vec<FieldDef>,
}

/// A titled group of fields in a form's layout.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename = "Section", deny_unknown_fields)]
pub struct SectionDef {
    pub id: String,
    #[serde(default)]
    pub title: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename = "Field", deny_unknown_fields)]
pub struct FieldDef {
    pub id: String,
    #[serde(default)]
    pub title: String,
    pub kind: FieldKind,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub help: String,
    /// Allowed values of a `Choice` or `Choices` field.
    #[serde(default)]
    pub choices: Vec<String>,
    /// Columns of a `Table` field.
    #[serde(default)]
    pub columns: Vec<FieldDef>,
    /// Fewest rows a complete `Table` has.
    #[serde(default)]
    pub min_rows: Option<u64>,
    /// The form section this field is shown in.
    #[serde(default)]
    pub section: Option<String>,
    /// Bounds of an `Integer` or `Number` field.
    #[serde(default)]
    pub min: Option<f64>,
    #[serde(default)]
    pub max: Option<f64>,
    /// Longest text (in characters) a `Text` or `LongText` field takes; the
    /// engine's defaults are 2,000 and 50,000.
    #[serde(default)]
    pub max_length: Option<usize>,
    /// Most rows one event may bring to a `Table` (default 5,000).
    #[serde(default)]
    pub max_rows: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FieldKind {
    Text,
    LongText,
    Integer,
    Number,
    Date,
    Bool,
    Choice,
    Choices,
    Table,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum StateKind {
    /// A state a plan can be in.
    #[default]
    Step,
    /// A group of steps; a plan is "in" a phase while in one of its steps.
    Phase,
    /// The end of the workflow (or of a cycle that does not repeat).
    Final,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename = "State", deny_unknown_fields)]
pub struct StateDef {
    pub id: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub kind: StateKind,
    #[serde(default)]
    pub parent: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename = "Event", deny_unknown_fields)]
pub struct EventDef {
    pub id: String,
    #[serde(default)]
    pub title: String,
    /// Forms whose data this event's payload may carry.
    #[serde(default)]
    pub fills: Vec<String>,
    /// Stored without its actor (answers to an anonymous questionnaire).
    #[serde(default)]
    pub anonymous: bool,
    /// Rows of tables in the payload are appended, not replaced.
    #[serde(default)]
    pub append_rows: bool,
    /// Each form in the payload replaces the stored one whole: a new act
    /// keeps nothing of the previous one's fields.
    #[serde(default)]
    pub replaces: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename = "Transition", deny_unknown_fields)]
pub struct TransitionDef {
    pub from: Vec<String>,
    pub on: String,
    /// Target state; absent means the plan stays in its current state.
    #[serde(default)]
    pub to: Option<String>,
    pub roles: Vec<String>,
    #[serde(default)]
    pub forms_complete: Vec<String>,
    #[serde(default)]
    pub conditions: Vec<Condition>,
    #[serde(default)]
    pub plugin: Option<PluginGuard>,
    #[serde(default)]
    pub actions: Vec<Action>,
}

/// A condition over the plan's data. `path` is `form.field`; for columns of
/// a table, `column` names the column.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Condition {
    /// Number of rows of a table (or items of a multi-choice field).
    Count {
        path: String,
        #[serde(default)]
        min: Option<u64>,
        #[serde(default)]
        max: Option<u64>,
        #[serde(default)]
        label: Option<String>,
    },
    /// Number of rows whose `column` equals `equals`.
    CountWhere {
        path: String,
        column: String,
        equals: String,
        #[serde(default)]
        min: Option<u64>,
        #[serde(default)]
        max: Option<u64>,
        #[serde(default)]
        label: Option<String>,
    },
    /// Number of different values in a table's `column`.
    Distinct {
        path: String,
        column: String,
        #[serde(default)]
        min: Option<u64>,
        #[serde(default)]
        max: Option<u64>,
        #[serde(default)]
        label: Option<String>,
    },
    /// A number (or, with `column`, the number in every row) within bounds.
    Range {
        path: String,
        #[serde(default)]
        column: Option<String>,
        #[serde(default)]
        min: Option<f64>,
        #[serde(default)]
        max: Option<f64>,
        #[serde(default)]
        label: Option<String>,
    },
    /// A date field before/after a reference date (`after` and `before`
    /// are strict: "only after the implementation deadline").
    Date {
        path: String,
        #[serde(default)]
        not_before: Option<DateRef>,
        #[serde(default)]
        not_after: Option<DateRef>,
        #[serde(default)]
        after: Option<DateRef>,
        #[serde(default)]
        before: Option<DateRef>,
        #[serde(default)]
        label: Option<String>,
    },
    /// A field equals a value (text, choice, or `true`/`false` for Bool).
    Equals {
        path: String,
        value: String,
        #[serde(default)]
        label: Option<String>,
    },
    /// A field has a value.
    Filled {
        path: String,
        #[serde(default)]
        label: Option<String>,
    },
    /// At least one of the conditions holds.
    Any(Vec<Condition>),
    /// Every condition holds.
    All(Vec<Condition>),
    /// `then` must hold whenever `when` holds (a rule that applies only
    /// in some cases: "a reason when the report is late").
    If { when: Box<Condition>, then: Box<Condition> },
    /// Every row of a table (or only those `where` picks) passes each test
    /// of `require`: fields required in some rows, dates of a column, ...
    Rows {
        path: String,
        #[serde(default, rename = "where")]
        filter: Option<RowTest>,
        require: Vec<RowTest>,
        #[serde(default)]
        label: Option<String>,
    },
    /// Every row of `path` (or those `where` picks) is matched by a row of
    /// `by` whose `by_column` equals, or lists, the row's `column`: "every
    /// measure of the plan is reported on", "every high risk has a measure".
    Covered {
        path: String,
        column: String,
        by: String,
        by_column: String,
        #[serde(default, rename = "where")]
        filter: Option<RowTest>,
        #[serde(default)]
        label: Option<String>,
    },
    /// Every value in `path`'s `column` (one value, a list, or a
    /// comma-separated text) names a row of `into` by its `into_column`:
    /// "a measure's objective exists", "no report row for an unknown measure".
    References {
        path: String,
        column: String,
        into: String,
        into_column: String,
        #[serde(default)]
        label: Option<String>,
    },
    /// No two rows of a table share a value in `column` (a measure listed twice).
    Unique {
        path: String,
        column: String,
        #[serde(default)]
        label: Option<String>,
    },
    /// Two fields hold the same text ("the manager is the person who led the drafting").
    SameAs {
        path: String,
        other: String,
        #[serde(default)]
        label: Option<String>,
    },
    /// The plan's cycle: one of `in_cycles`, from cycle `from` on, or every
    /// `every`th cycle counted from the workflow's first (a step that
    /// happens every second year of a yearly cycle, without a second state).
    Cycle {
        #[serde(default)]
        in_cycles: Vec<u32>,
        #[serde(default)]
        from: Option<u32>,
        #[serde(default)]
        every: Option<u32>,
        #[serde(default)]
        label: Option<String>,
    },
    /// An attribute of the institution (`employees`, `kind`, and the
    /// parent's as `parent.kind`): a number within bounds, or a text among `any_of`.
    Institution {
        attribute: String,
        #[serde(default)]
        min: Option<f64>,
        #[serde(default)]
        max: Option<f64>,
        #[serde(default)]
        any_of: Vec<String>,
        #[serde(default)]
        label: Option<String>,
    },
}

/// A test of one row of a table (a condition of [`Condition::Rows`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum RowTest {
    /// The column has a value.
    Filled(String),
    /// The column's value is one of these (`true`/`false` for a Bool).
    In {
        column: String,
        values: Vec<String>,
    },
    /// A date column before/after a reference; `Column("x")` is another
    /// column of the same row, `Lookup(...)` a column of the matching row
    /// of another table.
    Date {
        column: String,
        #[serde(default)]
        not_before: Option<DateRef>,
        #[serde(default)]
        not_after: Option<DateRef>,
        #[serde(default)]
        after: Option<DateRef>,
        #[serde(default)]
        before: Option<DateRef>,
    },
    /// A date this row names (e.g. `Lookup(...)`, the term of the measure
    /// it reports on) before/after a reference: "still in progress only
    /// while the measure's term has not passed".
    When {
        date: DateRef,
        #[serde(default)]
        not_before: Option<DateRef>,
        #[serde(default)]
        not_after: Option<DateRef>,
        #[serde(default)]
        after: Option<DateRef>,
        #[serde(default)]
        before: Option<DateRef>,
    },
    /// A number column within bounds.
    Range {
        column: String,
        #[serde(default)]
        min: Option<f64>,
        #[serde(default)]
        max: Option<f64>,
    },
    /// The column holds the highest (by `order`) of the `value` column of
    /// the rows of `from` that this row's `key` column names: "a measure's
    /// urgency follows the level of its risks". `from` may be a plugin's
    /// output, `scores.<output>.<list>`.
    Highest {
        column: String,
        from: String,
        key: String,
        match_column: String,
        value: String,
        order: Vec<String>,
    },
    Any(Vec<RowTest>),
    All(Vec<RowTest>),
    Not(Box<RowTest>),
}

/// A date a `Date` condition compares against.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum DateRef {
    Today,
    CycleStart,
    Fixed(Date),
    /// A date field, `form.field`.
    Field(String),
    /// The due date of a deadline of the workflow, this cycle.
    Deadline(String),
    /// Another column of the same row (in a row test).
    Column(String),
    /// A column of the row of another table that this row's `key` names
    /// (in a row test): `Lookup(table: "measures.measures", key: "id", column: "deadline")`.
    Lookup {
        table: String,
        key: String,
        column: String,
    },
    /// The first day of the year after the one in a number field (`report.year`):
    /// "a report for the previous year".
    YearAfter(String),
}

/// A guard delegated to a plugin: it gets `{config, data: {form: ...}, today}`
/// and answers `{"ok": bool, "reason": "..."}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename = "PluginGuard", deny_unknown_fields)]
pub struct PluginGuard {
    pub plugin: String,
    pub entry: String,
    #[serde(default)]
    pub forms: Vec<String>,
    #[serde(default)]
    pub config: Option<Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Action {
    /// Produce the named document from the plan's data.
    Render(String),
    /// Run a plugin over a table and keep the result under `output`.
    Score {
        plugin: String,
        entry: String,
        /// `form.field` of the table whose rows are scored.
        input: String,
        output: String,
        #[serde(default)]
        config: Option<Value>,
    },
    /// Start the next cycle (see [`CycleDef`]).
    OpenNextCycle,
    /// Tell the holders of some roles that something happened.
    Notify { roles: Vec<String>, message: String },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename = "Deadline", deny_unknown_fields)]
pub struct DeadlineDef {
    pub id: String,
    /// What must be done, in the words of the methodology.
    pub what: String,
    /// The role that must do it.
    pub who: String,
    pub due: Due,
    /// Events that meet the deadline.
    pub met_by: Vec<String>,
    /// States in which the deadline is tracked (empty: the whole cycle).
    #[serde(default)]
    pub active_in: Vec<String>,
    /// When the deadline counts as met, if not at the date of a `met_by`
    /// event: at a date in a form (the day of delivery), or when every row
    /// (or this row) of a table is done.
    #[serde(default)]
    pub met_at: Option<MetAt>,
    /// A yearly deadline that is met only by an act for its period: the
    /// number field `field` must equal the due date's year plus `offset`
    /// (`-1`: "the report for the previous year").
    #[serde(default)]
    pub period: Option<Period>,
    /// The cycles (by number) the deadline applies in (empty: every cycle).
    #[serde(default)]
    pub in_cycles: Vec<u32>,
    /// The first cycle (by number) the deadline applies in.
    #[serde(default)]
    pub from_cycle: Option<u32>,
    /// Where the date comes from, printed beside it: an article of the law,
    /// or the pack's own reading when the law gives no date.
    #[serde(default)]
    pub basis: String,
}

/// When a deadline counts as met (see [`DeadlineDef::met_at`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum MetAt {
    /// The date in a form field, once a `met_by` event has happened.
    Field(String),
    /// The latest of several date fields, once all are filled.
    Latest(Vec<String>),
    /// Every row of a table is done (`status` among `done`), at the latest
    /// of their `date` column; a row among `failed` means the deadline is missed.
    AllRows {
        path: String,
        status: String,
        done: Vec<String>,
        #[serde(default)]
        failed: Vec<String>,
        date: String,
    },
    /// For a deadline per row (`due: Rows(...)`): the row of `path` with
    /// the same `key` is done (`status` among `done`) on its `date`.
    Row { path: String, key: String, status: String, done: Vec<String>, date: String },
}

/// The period a yearly act must be for (see [`DeadlineDef::period`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename = "Period", deny_unknown_fields)]
pub struct Period {
    pub field: String,
    #[serde(default)]
    pub offset: i32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Due {
    /// A calendar date.
    Fixed(Date),
    /// An offset from the start of the plan's current cycle.
    FromCycleStart {
        #[serde(default)]
        months: i32,
        #[serde(default)]
        days: i64,
    },
    /// An offset from the plan's (latest) entry into a state.
    FromEntry {
        state: String,
        #[serde(default)]
        months: i32,
        #[serde(default)]
        days: i64,
    },
    /// Every year on a day (every `every`th year when given, counted from
    /// the deadline's start).
    Yearly {
        month: u32,
        day: u32,
        #[serde(default)]
        every: Option<u32>,
        /// Counted from this date rather than from the deadline's start (a
        /// date in a form: a plan taken over counts from its real adoption).
        /// With `period`, no act is owed for a period before this date's year.
        #[serde(default)]
        from: Option<Anchor>,
    },
    /// A date in a form ("najkasnije do"); not tracked while it is empty.
    Field(String),
    /// One occurrence per row of a table, due at the row's `date` column
    /// (or, when that is empty, on December 31 of its `year` column), named
    /// `deadline:key` by the row's `key` column.
    Rows {
        path: String,
        key: String,
        date: String,
        #[serde(default)]
        year: Option<String>,
    },
    /// Every N years from an anchor, plus an optional offset.
    EveryYears {
        years: u32,
        from: Anchor,
        #[serde(default)]
        months: i32,
        #[serde(default)]
        days: i64,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Anchor {
    CycleStart,
    Entry(String),
    /// A date in a form (`adoption_decision.decided_on`): a plan taken over
    /// from elsewhere counts from its real date, not from the day it was entered.
    Field(String),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename = "Cycle", deny_unknown_fields)]
pub struct CycleDef {
    pub every_years: u32,
    /// Cycles are aligned to this date (and every `every_years` after it);
    /// without it a plan's first cycle starts the day the plan is created.
    #[serde(default)]
    pub first_start: Option<Date>,
    /// The number the law gives the cycle that starts at `first_start`.
    #[serde(default = "one")]
    pub first_number: u32,
    /// The step a new cycle starts in.
    pub restart_at: String,
    /// Forms whose data a new cycle keeps (the register).
    #[serde(default)]
    pub carry_forward: Vec<String>,
}

fn one() -> u32 {
    1
}
