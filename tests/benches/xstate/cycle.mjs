// The peer of the engine's cycle bench (tests/benches/cycle.rs): the Serbian
// three-phase cycle (jurisdictions/rs/workflows/three_phase.ron) written as an
// XState 5 machine, fed the same payloads, doing the same work per event:
// validate the payload against the pack's forms, check forms complete and the
// transition's conditions, score where the workflow scores (the plugins'
// logic in plain JavaScript), merge the data, and append a hash-chained event
// (JSON + sha256). Prints the median time of one whole cycle. The guards mirror
// the workflow's conditions (issue 13: posting days, every measure reported,
// urgency by the risks' intensity, the report only after the implementation
// deadline); the institution rule is vacuous here, as in the engine's bench,
// which runs without an institution.
//
// Usage: node cycle.mjs target/xstate-cycle.json [iterations]

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { assign, createActor, setup } from "xstate";

const input = JSON.parse(readFileSync(process.argv[2], "utf8"));
const iterations = Number(process.argv[3] ?? 2000);
const forms = Object.fromEntries(input.forms.map((f) => [f.id, f]));

// --- the same checks the engine makes, from the same form definitions -------

function filled(v) {
  if (v === undefined || v === null) return false;
  if (typeof v === "string") return v.trim() !== "";
  if (Array.isArray(v)) return v.length > 0;
  return true;
}

function checkValue(field, value, problems, at) {
  if (value === null || value === undefined) return;
  switch (field.kind) {
    case "Text":
    case "LongText":
      if (typeof value !== "string") problems.push(`${at} must be text`);
      else if (value.length > (field.max_length ?? (field.kind === "Text" ? 2000 : 50000))) problems.push(`${at} too long`);
      break;
    case "Integer":
      if (!Number.isInteger(value)) problems.push(`${at} must be a whole number`);
      else if ((field.min != null && value < field.min) || (field.max != null && value > field.max)) problems.push(`${at} out of range`);
      break;
    case "Number":
      if (typeof value !== "number") problems.push(`${at} must be a number`);
      break;
    case "Date":
      if (typeof value !== "string" || !/^\d{4}-\d{2}-\d{2}$/.test(value)) problems.push(`${at} must be a date`);
      break;
    case "Bool":
      if (typeof value !== "boolean") problems.push(`${at} must be true or false`);
      break;
    case "Choice":
      if (!field.choices.includes(value)) problems.push(`${at} is not a choice`);
      break;
    case "Choices":
      if (!Array.isArray(value) || value.some((v) => !field.choices.includes(v))) problems.push(`${at} has a bad choice`);
      break;
    case "Table":
      if (!Array.isArray(value)) problems.push(`${at} must be rows`);
      else
        value.forEach((row, i) => {
          for (const [col, cell] of Object.entries(row)) {
            const column = field.columns.find((c) => c.id === col);
            if (!column) problems.push(`${at}[${i}] has no column ${col}`);
            else checkValue(column, cell, problems, `${at}[${i}].${col}`);
          }
        });
      break;
  }
}

function validPayload(payload, fills) {
  const problems = [];
  for (const [formId, fields] of Object.entries(payload ?? {})) {
    if (!fills.includes(formId)) problems.push(`does not fill ${formId}`);
    const form = forms[formId];
    for (const [fieldId, value] of Object.entries(fields)) {
      const field = form.fields.find((f) => f.id === fieldId);
      if (!field) problems.push(`no field ${formId}.${fieldId}`);
      else checkValue(field, value, problems, `${formId}.${fieldId}`);
    }
  }
  return problems.length === 0;
}

function complete(data, formId) {
  const values = data[formId] ?? {};
  for (const field of forms[formId].fields) {
    const v = values[field.id];
    if (field.required && !filled(v)) return false;
    if (field.kind === "Table" && Array.isArray(v)) {
      if (field.min_rows != null && v.length < field.min_rows) return false;
      for (const row of v) for (const c of field.columns) if (c.required && !filled(row[c.id])) return false;
    }
  }
  return true;
}

/// The data as it would be after the event (the engine's Draft).
function draft(data, payload) {
  const out = { ...data };
  for (const [formId, fields] of Object.entries(payload ?? {})) out[formId] = { ...(data[formId] ?? {}), ...fields };
  return out;
}

const rows = (d, form, field) => d[form]?.[field] ?? [];
const between = (d, form, field, ctx) => {
  const v = d[form]?.[field];
  return typeof v === "string" && v >= ctx.cycleStart && v <= ctx.today;
};
/// A decision posted to the Agency's application on or after it was taken, not in the future (Art. 8, 14, 17).
const posted = (d, form, ctx) => {
  const { decided_on: decided, posted_on: on } = d[form] ?? {};
  return typeof on === "string" && typeof decided === "string" && on >= decided && on <= ctx.today;
};
/// The implementation deadline of the cycle: Art. 20 para. 4 for the third, the pack's reading after it.
function implementationDue(cycleStart) {
  if (cycleStart === "2021-11-01") return "2024-09-30";
  const [y, m, d] = cycleStart.split("-").map(Number);
  const date = new Date(Date.UTC(y, m - 1 + 35, d) - 86400000);
  return date.toISOString().slice(0, 10);
}
/// Codes a cell names: comma- or semicolon-separated text.
const names = (v) => (typeof v === "string" ? v.split(/[,;]/).map((x) => x.trim()).filter(Boolean) : []);
const ORDER = ["nizak", "srednji", "visok"];
/// Art. 5 para. 2: an organ of a local authority makes no plan of its own (vacuous
/// without an institution, as in the engine's bench).
function unitRule(institution) {
  if (!institution) return true;
  const organ = ["organ jedinice lokalne samouprave", "organ gradske opštine"].includes(institution.kind);
  const underLocal = ["jedinica lokalne samouprave", "gradska opština"].includes(institution.parent?.kind);
  return !(organ || underLocal) || institution.kind === "gradska opština";
}
/// Art. 12-13: measures name assessed risks, follow the highest urgency of their risks
/// (or give a reason), every high risk has a measure, deadlines within the period.
function measuresHold(d, scores, after, ctx) {
  const measures = rows(d, "measures", "measures");
  const riskIds = new Set(rows(d, "assessment", "risks").map((r) => r.id));
  if (!measures.every((m) => names(m.risks).every((r) => riskIds.has(r)))) return false;
  const scored = scores.intensity?.risks ?? [];
  for (const m of measures) {
    const found = scored.filter((r) => names(m.risks).includes(r.id)).map((r) => r.urgency);
    if (found.length && !(typeof m.urgency_reason === "string" && m.urgency_reason.trim())) {
      const highest = found.reduce((a, b) => (ORDER.indexOf(b) > ORDER.indexOf(a) ? b : a));
      if (m.urgency !== highest) return false;
    }
  }
  const covered = new Set(measures.flatMap((m) => names(m.risks)));
  if (!scored.filter((r) => r.level === "visok").every((r) => covered.has(r.id))) return false;
  const due = implementationDue(ctx.cycleStart);
  return measures.every((m) => m.deadline > after && m.deadline <= due);
}
/// Art. 4, 16: every measure of the plan reported, and only those; when and whether as
/// planned for those carried out; "u roku" by the measure's own deadline; reasons.
function reportHolds(d, ctx) {
  const measures = rows(d, "measures", "measures");
  const report = rows(d, "implementation_report", "measures");
  const ids = new Set(report.map((r) => r.id));
  if (!measures.every((m) => ids.has(m.id))) return false;
  const deadlines = Object.fromEntries(measures.map((m) => [m.id, m.deadline]));
  for (const r of report) {
    if (!(r.id in deadlines)) return false;
    const done = r.status === "u roku" || r.status === "nakon isteka roka";
    if (done && !(typeof r.done_on === "string" && typeof r.as_planned === "boolean" && r.done_on <= ctx.today)) return false;
    if (r.status === "u roku" && !(r.done_on <= deadlines[r.id])) return false;
    if (r.status === "nakon isteka roka" && !(r.done_on > deadlines[r.id])) return false;
    const needsReason = r.status === "nakon isteka roka" || r.status === "nije sprovedena" || r.as_planned === false;
    if (needsReason && !(typeof r.reason === "string" && r.reason.trim())) return false;
  }
  return true;
}

// --- scoring: the plugins' logic ------------------------------------------------

const LEVELS = [
  { name: "nizak", min: 1, max: 4, urgency: "nizak" },
  { name: "srednji", min: 5, max: 12, urgency: "srednji" },
  { name: "visok", min: 13, max: 25, urgency: "visok" },
];
function riskMatrix(risks) {
  const scored = risks.map((r) => {
    const score = r.impact * r.probability;
    const level = LEVELS.find((l) => score >= l.min && score <= l.max);
    return { id: r.id, score, level: level.name, urgency: level.urgency };
  });
  return { risks: scored, counts: LEVELS.map((l) => ({ level: l.name, count: scored.filter((s) => s.level === l.name).length })) };
}
const WEIGHTS = { "u roku": 100, "nakon isteka roka": 50, "nije sprovedena": 0, "u toku": 0 };
function implementationDegree(measures) {
  const points = measures.reduce((sum, m) => sum + WEIGHTS[m.status], 0);
  return { count: measures.length, degree_percent: measures.length ? points / measures.length : 0 };
}
function aggregate(responses) {
  const groups = {};
  for (const r of responses) (groups[r.process] ??= []).push(r);
  return Object.entries(groups).map(([process, rs]) => ({ process, respondents: rs.length, suppressed: rs.length < 5 }));
}

// --- the machine ------------------------------------------------------------------

function fills(event) {
  return {
    appoint_coordinator: ["coordinator_decision"],
    form_working_group: ["working_group_decision"],
    record_meeting: ["meeting_minutes"],
    identify_processes: ["risky_processes"],
    close_questionnaire: ["questionnaire"],
    assess_risks: ["assessment"],
    propose_measures: ["measures"],
    adopt_plan: ["adoption_decision"],
    record_progress: ["implementation_report"],
    finish_implementation: ["implementation_report"],
    adopt_report: ["report_decision"],
  }[event];
}

/// Every guard of a transition: the role, the payload, forms complete, then conditions.
function guardOf(roles, formsComplete, conditions = () => true) {
  return ({ context, event }) => {
    if (!roles.includes(event.role)) return false;
    if (event.date < context.lastDate) return false;
    if (!validPayload(event.payload, fills(event.type))) return false;
    const d = draft(context.data, event.payload);
    if (!formsComplete.every((f) => complete(d, f))) return false;
    return conditions(d, { today: event.date, cycleStart: context.cycleStart, scores: context.scores, institution: context.institution });
  };
}

/// Records the event: merge its data, score, hash-chain it.
function record(score) {
  return assign(({ context, event }) => {
    const data = draft(context.data, event.payload);
    const scores = score ? { ...context.scores, ...score(data) } : context.scores;
    const entry = { seq: context.seq + 1, date: event.date, role: event.role, event: event.type, payload: event.payload, prev: context.head };
    const head = createHash("sha256").update(JSON.stringify(entry)).digest("hex");
    return { data, scores, seq: entry.seq, head, lastDate: event.date };
  });
}

const machine = setup({}).createMachine({
  id: "three_phase",
  initial: "coordinator_appointment",
  context: ({ input }) => ({ data: {}, scores: {}, seq: 1, head: "", lastDate: input.start, cycleStart: input.cycleStart, institution: null }),
  states: {
    coordinator_appointment: {
      on: {
        appoint_coordinator: {
          target: "working_group_formation",
          guard: guardOf(["head"], ["coordinator_decision"], (d, c) =>
            between(d, "coordinator_decision", "decided_on", c) && posted(d, "coordinator_decision", c) && unitRule(c.institution)),
          actions: record(),
        },
      },
    },
    working_group_formation: {
      on: {
        form_working_group: {
          target: "assessment",
          guard: guardOf(["head"], ["working_group_decision"], (d, c) => {
            const members = rows(d, "working_group_decision", "members");
            return members.length >= 3 && members.length <= 7 && new Set(members.map((m) => m.area)).size >= 2 &&
              between(d, "working_group_decision", "decided_on", c);
          }),
          actions: record(),
        },
      },
    },
    assessment: {
      initial: "identifying_processes",
      on: {
        record_meeting: {
          guard: guardOf(["coordinator", "working_group"], ["meeting_minutes"], (d, c) => rows(d, "meeting_minutes", "meetings").every((m) => m.held_on <= c.today)),
          actions: record(),
        },
      },
      states: {
        identifying_processes: {
          on: { identify_processes: { target: "employee_questionnaire", guard: guardOf(["coordinator", "working_group"], ["risky_processes"]), actions: record() } },
        },
        employee_questionnaire: {
          on: {
            close_questionnaire: {
              target: "risk_assessment",
              guard: guardOf(["coordinator"], ["questionnaire"], (d, c) =>
                d.questionnaire.opened_on >= c.cycleStart && d.questionnaire.closed_on >= d.questionnaire.opened_on && d.questionnaire.closed_on <= c.today),
              actions: record((d) => ({ questionnaire: aggregate(rows(d, "questionnaire_answers", "responses")) })),
            },
          },
        },
        risk_assessment: {
          on: { assess_risks: { target: "proposing_measures", guard: guardOf(["coordinator", "working_group"], ["assessment"]), actions: record((d) => ({ intensity: riskMatrix(rows(d, "assessment", "risks")) })) } },
        },
        proposing_measures: {
          on: {
            propose_measures: {
              target: "adoption",
              guard: guardOf(["coordinator", "working_group"], ["measures"], (d, c) => measuresHold(d, c.scores, c.today, c)),
              actions: record(),
            },
          },
        },
        adoption: {
          on: {
            adopt_plan: {
              target: "#three_phase.implementation",
              guard: guardOf(["head"], ["adoption_decision", "coordinator_decision", "working_group_decision", "risky_processes", "assessment", "measures"], (d, c) => {
                const minutes = rows(d, "meeting_minutes", "meetings");
                const decided = d.adoption_decision?.decided_on;
                return minutes.length >= 1 && between(d, "adoption_decision", "decided_on", c) && posted(d, "adoption_decision", c) &&
                  minutes.every((m) => m.held_on <= decided) && measuresHold(d, c.scores, decided, c);
              }),
              actions: record(),
            },
          },
        },
      },
    },
    implementation: {
      initial: "implementing",
      states: {
        implementing: {
          on: {
            record_progress: {
              guard: guardOf(["coordinator"], ["implementation_report"], (d, c) => reportHolds(d, c)),
              actions: record((d) => ({ implementation: implementationDegree(rows(d, "implementation_report", "measures")) })),
            },
            finish_implementation: {
              target: "reporting",
              guard: guardOf(["coordinator"], ["implementation_report"], (d, c) =>
                rows(d, "implementation_report", "measures").every((m) => m.status !== "u toku") && reportHolds(d, c)),
              actions: record((d) => ({ implementation: implementationDegree(rows(d, "implementation_report", "measures")) })),
            },
          },
        },
        reporting: {
          on: {
            adopt_report: {
              target: "#three_phase.coordinator_appointment",
              guard: guardOf(["head"], ["implementation_report", "report_decision"], (d, c) =>
                d.report_decision.decided_on > implementationDue(c.cycleStart) && between(d, "report_decision", "decided_on", c) && posted(d, "report_decision", c)),
              actions: [record(), assign(({ context }) => ({ data: { risky_processes: context.data.risky_processes, assessment: context.data.assessment }, scores: {} }))],
            },
          },
        },
      },
    },
  },
});

function runCycle() {
  const actor = createActor(machine, { input: { start: input.start, cycleStart: input.cycle_start } });
  actor.start();
  for (const step of input.steps) {
    const before = actor.getSnapshot().context.seq;
    actor.send({ type: step.event, role: step.role, date: step.date, payload: step.payload });
    if (actor.getSnapshot().context.seq !== before + 1) throw new Error(`${step.event} was not accepted`);
  }
  actor.stop();
}

for (let i = 0; i < 200; i++) runCycle(); // warm-up
const samples = [];
for (let i = 0; i < iterations; i++) {
  const t = process.hrtime.bigint();
  runCycle();
  samples.push(Number(process.hrtime.bigint() - t));
}
samples.sort((a, b) => a - b);
const median = samples[Math.floor(samples.length / 2)];
console.log(`xstate cycle: ${input.steps.length} events, median ${(median / 1000).toFixed(1)} µs per cycle over ${iterations} runs (node ${process.version})`);
