import sys, copy
import os; sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen import *

HAND = "Written by hand (long payloads expanded by a script from the pack's sample and fixtures)."

def with_(d, **kw):
    d = copy.deepcopy(d); d.update(kw); return d

def ev(measures):
    return {"annual_evaluation": {"measures": measures}}

# ---------------------------------------------------------------- terms.ron (RO-2)
def terms():
    steps = [
        comment("1.3's term (1 martie 2023) comes before 1.1's (15 martie): the consultation may come first, before the plan."),
        fire("2023-02-14", "coordinator", "close_consultation", {"consultation": CONSULT}, 'Stayed'),
        comment("No deadline invented from the day the plan is opened (the old +13/+27/+43 days): nothing is due before a plan with terms is approved."),
        check("2023-02-14", state="drafting", overdue=[], upcoming=[]),
        fire("2023-02-16", "coordinator", "draft_plan", {"plan": PLAN}, ('Moved', 'approval')),
        check("2023-02-16", upcoming=[]),
        fire("2023-02-17", "head", "approve_plan", {"approval": APPROVAL}, ('Moved', 'implementing')),
        comment("Each measure's own term, from the approved plan; a term given as a year (2.2, 2.3: „2025”) falls on 31 December."),
        check("2023-02-17", overdue=[], upcoming=["annual_evaluation", "internal_audit", "measure:1.1", "measure:1.2", "measure:1.3",
              "measure:1.4", "measure:1.5", "measure:2.2", "measure:2.3", "measure:2.4", "self_assessment"],
              deadlines=[("measure:1.3", "2023-03-01", "upcoming"), ("measure:1.1", "2023-03-15", "upcoming"),
                         ("measure:1.2", "2023-03-15", "upcoming"), ("measure:1.4", "2023-03-15", "upcoming"),
                         ("measure:1.5", "2023-03-31", "upcoming"), ("measure:2.4", "2023-12-31", "upcoming"),
                         ("measure:2.2", "2025-12-31", "upcoming"), ("measure:2.3", "2025-12-31", "upcoming"),
                         ("annual_evaluation", "2023-12-31", "upcoming"), ("internal_audit", "2025-02-16", "upcoming")]),
        comment("The consultation is recorded as done on the day it ended, not on the day it is entered."),
        fire("2023-02-17", "coordinator", "draft_evaluation", ev(steps_rows(["1.3"])), 'Stayed'),
        check("2023-02-17", deadlines=[("measure:1.3", "2023-03-01", "met", "2023-02-14")]),
        comment("1.1 and 1.2 after the plan's approval, as Aluniș's terms allow."),
        fire("2023-03-06", "head", "adopt_declaration", {"declaration": with_(DECL, adopted_on="2023-03-01")}, 'Stayed'),
        fire("2023-03-06", "head", "send_declaration", {"declaration": with_(DECL_SEND, published_on="2023-03-02", sent_to_mdlpa_on="2023-03-06")}, 'Stayed'),
        fire("2023-03-06", "head", "appoint_coordinator", {"coordinator_decision": with_(COORD, issued_on="2023-03-02", mdlpa_informed_on="2023-03-03")}, 'Stayed'),
        fire("2023-03-06", "coordinator", "draft_evaluation", ev(steps_rows(["1.3"]) + [
            {"id": "1.1", "status": R, "done_on": "2023-03-06"}, {"id": "1.2", "status": R, "done_on": "2023-03-03"}]), 'Stayed'),
        comment("On 16 March the plan is approved but not yet distributed and published: 1.4 is overdue, and only 1.4."),
        check("2023-03-16", overdue=["measure:1.4"], deadlines=[("measure:1.1", "2023-03-15", "met", "2023-03-06"),
              ("measure:1.4", "2023-03-15", "overdue")]),
        fire("2023-03-20", "head", "publish_plan", {"publication": with_(PUBLICATION, published_on="2023-03-20")}, 'Stayed'),
        fire("2023-03-22", "risk_group", "identify_risks", {"risk_register": with_(REGISTER_ID, drawn_up_on="2023-03-22")}, 'Stayed'),
        fire("2023-03-24", "risk_group", "assess_risks", {"risk_register": with_(REGISTER_ASSESS, drawn_up_on="2023-03-24")}, 'Stayed'),
        fire("2023-03-24", "coordinator", "draft_evaluation", ev(steps_rows(["1.3"]) + [
            {"id": "1.1", "status": R, "done_on": "2023-03-06"}, {"id": "1.2", "status": R, "done_on": "2023-03-03"},
            {"id": "1.4", "status": R, "done_on": "2023-03-20"}, {"id": "1.5", "status": R, "done_on": "2023-03-24"}]), 'Stayed'),
        comment("Published on 20 March: met, late; the register (1.5) by its term of 31 March."),
        check("2023-03-31", overdue=[], deadlines=[("measure:1.4", "2023-03-15", "met_late", "2023-03-20"),
              ("measure:1.5", "2023-03-31", "met", "2023-03-24")]),
        comment("2.4 „31 decembrie 2023”, not reported done: overdue from 1 January 2024 (as are the yearly reports for 2023, never sent here)."),
        check("2024-01-05", overdue=["annual_evaluation", "measure:2.4", "self_assessment"],
              deadlines=[("measure:2.4", "2023-12-31", "overdue"), ("internal_audit", "2025-02-16", "upcoming")]),
    ]
    scenario("terms.ron", """Seed 000 (the Aluniș plan, not a law), "Termen de realizare": each measure's own term is its
deadline, from the approved plan (1.3 „1 martie 2023”; 1.1, 1.2, 1.4 „15 martie 2023”; 1.5 „31 martie
2023”; 2.4 „31 decembrie 2023”; 2.2, 2.3 „2025”; 4.2 „La 2 ani”); no offsets from the day the plan is
opened; the steps of Obiectiv 1 in any order; a step counts as done on its real date.
""" + HAND, "RO-2: each measure's own term, in any order, met on its real date", "2023-02-01", steps)

# ---------------------------------------------------------------- degree.ron (RO-1)
def degree():
    four = [{"id": "1.6", "status": R, "done_on": "2023-12-01"}, {"id": "1.7", "status": R, "done_on": "2023-12-18"},
            {"id": "1.8", "status": R, "done_on": "2023-12-10"}, {"id": "2.4", "status": R, "done_on": "2023-12-01", "evidence": "Procedura nr. 7/2024"}]
    base = {k: v for k, v in EV23.items()}
    def e(**kw):
        x = copy.deepcopy(base); x.update(kw); return {"annual_evaluation": x}
    unknown = copy.deepcopy(EV23["measures"]) + [{"id": "9.9", "status": R, "done_on": "2023-12-01"}]
    no_date = copy.deepcopy(EV23["measures"]); no_date[0].pop("done_on")
    late_date = copy.deepcopy(EV23["measures"]); late_date[0]["done_on"] = "2023-12-19"
    no_reason = copy.deepcopy(EV23["measures"]); [r.pop("reason", None) for r in no_reason if r["id"] == "4.1"]
    steps = [
        fire("2023-03-01", "head", "import_plan", SAMPLE, ('Moved', 'implementing')),
        fire("2023-03-10", "risk_group", "identify_risks", {"risk_register": with_(REGISTER_ID, drawn_up_on="2023-03-10")}, 'Stayed'),
        fire("2023-03-10", "risk_group", "assess_risks", {"risk_register": REGISTER_ASSESS}, 'Stayed'),
        fire("2023-12-15", "coordinator", "start_evaluation", None, ('Moved', 'annual_evaluation')),
        comment("4 of the plan's 17 measures (as the old cycle reported for 2024): refused, naming the measures left out."),
        fire("2023-12-19", "head", "submit_evaluation", e(measures=four), ('Refused', 'condition', 'măsurile planului raportate în evaluare: 1.1, 1.2, 1.3, 1.4, 1.5')),
        comment("A row for a measure the plan does not have."),
        fire("2023-12-19", "head", "submit_evaluation", e(measures=unknown), ('Refused', 'condition', '9.9')),
        comment("A measure reported done says when (that day is what meets its term), not after the report's date."),
        fire("2023-12-19", "head", "submit_evaluation", e(measures=no_date), ('Refused', 'condition', 'data realizării măsurilor realizate')),
        fire("2023-12-19", "head", "submit_evaluation", e(measures=late_date), ('Refused', 'condition', 'data realizării măsurilor realizate')),
        comment("A measure not carried out says why: the pack's rule, and said to be so."),
        fire("2023-12-19", "head", "submit_evaluation", e(measures=no_reason), ('Refused', 'condition', 'regula pachetului')),
        comment("All 17: 11 realizate (100), 1.6 parțial (50), 4.1 nerealizată (0), 2.2, 2.3, 2.4, 4.2 termen neajuns (0): 1150 / 17 = 67.65."),
        fire("2023-12-19", "head", "submit_evaluation", {"annual_evaluation": EV23}, ('Moved', 'implementing')),
        check("2023-12-19", values=[("scores.implementation_degree.value.measures", 17),
              ("scores.implementation_degree.value.degree_percent", 67.65),
              ("scores.implementation_degree.value.by_status.0.count", 11),
              ("scores.implementation_degree.value.by_status.1.count", 1),
              ("scores.implementation_degree.value.by_status.2.count", 1),
              ("scores.implementation_degree.value.by_status.3.count", 4),
              ("scores.implementation_degree.config.statuses.1.weight", 50)]),
        document("2023-12-19", "evaluation_report", contains=["Gradul de implementare a planului de integritate: 67.65 %",
                 "calculat pentru toate cele 17 măsuri ale planului"], not_contains=["100 %)", "măsuri evaluate"]),
        document("2023-12-19", "evaluation_report", lang="en", contains=["Degree of implementation of the integrity plan: 67.65 %",
                 "computed for all 17 measures of the plan"]),
    ]
    scenario("degree.ron", """Seed 000, măsura 1.7: "Evaluarea anuală a modului de implementare a planului", indicator "Grad de
implementare a planului de integritate": the degree is computed over every measure of the plan (17 in
Aluniș), never over those a report happens to list, and the report says for how many.
""" + HAND, "RO-1: the degree of implementation over all 17 measures of the plan", "2023-02-01", steps)

# ---------------------------------------------------------------- pack_choice.ron (RO-3, 2.4)
def pack_choice():
    steps = [
        fire("2023-03-01", "head", "import_plan", SAMPLE, ('Moved', 'implementing')),
        fire("2023-03-10", "risk_group", "identify_risks", {"risk_register": with_(REGISTER_ID, drawn_up_on="2023-03-10")}, 'Stayed'),
        fire("2023-03-10", "risk_group", "assess_risks", {"risk_register": REGISTER_ASSESS}, 'Stayed'),
        comment("The scale, the bands and the urgency labels, printed from the configuration the score applied, and said to be the pack's."),
        check("2023-03-10", values=[("scores.risk_levels.config.probability.max", 5), ("scores.risk_levels.config.levels.2.min", 13)]),
        document("2023-03-10", "risk_register", contains=["Probabilitate (1–5)", "Impact (1–5)", "alegerea pachetului",
                 "scăzut: 1–4 (monitorizare)", "mediu: 5–12 (măsuri în termen)", "ridicat: 13–25 (măsuri imediate)", "ridicat (măsuri imediate)"],
                 not_contains=["(1-5)"]),
        document("2023-03-10", "risk_register", lang="en", contains=["Probability (1–5)", "the pack's choice", "high: 13–25 (immediate measures)",
                 "high (immediate measures)"]),
        fire("2023-12-15", "coordinator", "start_evaluation", None, ('Moved', 'annual_evaluation')),
        fire("2023-12-19", "head", "submit_evaluation", {"annual_evaluation": EV23}, ('Moved', 'implementing')),
        comment("The weights, from the configuration, labelled; the reason rule labelled; the bases of the dates the pack chose."),
        document("2023-12-19", "evaluation_report", contains=["realizată 100 %", "parțial realizată 50 %", "nerealizată 0 %",
                 "în curs (termen neajuns) 0 %", "alegerea pachetului", "regula pachetului", "31 decembrie", "lectura pachetului"]),
        document("2023-12-19", "evaluation_report", lang="en", contains=["implemented 100 %", "partly implemented 50 %", "the pack's choice",
                 "the pack's rule", "the pack's reading"]),
    ]
    scenario("pack_choice.ron", """Issue 13, every pack: a number the texts do not fix is said to be the pack's choice wherever it is
printed. Seed 000 fixes no risk scale (1.5 names only the register) and no weights for the "Grad de
implementare" (1.7): the 1-5 scales, the bands 1-4 / 5-12 / 13-25, the urgency labels and the weights
100 / 50 / 0 are the pack's, printed from the applied configuration and labelled so, in both languages.
""" + HAND, "RO-3: scales, bands, urgencies and weights printed from the configuration as the pack's choice", "2023-02-01", steps)

# ---------------------------------------------------------------- alunis_import.ron (one command)
def alunis_import():
    bad_dated = copy.deepcopy(SAMPLE); bad_dated["approval"]["approved_on"] = "2023-02-15"
    bad_term = copy.deepcopy(SAMPLE); bad_term["plan"]["measures"][3].pop("deadline_date")
    bad_obj = copy.deepcopy(SAMPLE); bad_obj["plan"]["measures"][16]["objective"] = "5"
    values = [("data.plan.%s" % k, v) for k, v in PLAN.items() if not isinstance(v, list)]
    for i, o in enumerate(PLAN["objectives"]):
        values += [("data.plan.objectives.%d.%s" % (i, k), v) for k, v in o.items()]
    for i, m in enumerate(PLAN["measures"]):
        values += [("data.plan.measures.%d.%s" % (i, k), v) for k, v in m.items()]
    values += [("data.approval.%s" % k, v) for k, v in APPROVAL.items()]
    steps = [
        fire("2023-03-01", "coordinator", "import_plan", SAMPLE, ('Refused', 'role', '')),
        fire("2023-03-01", "head", "import_plan", bad_dated, ('Refused', 'condition', 'data aprobării planului')),
        fire("2023-03-01", "head", "import_plan", bad_term, ('Refused', 'condition', 'termenul măsurilor cu termen la o dată')),
        fire("2023-03-01", "head", "import_plan", bad_obj, ('Refused', 'condition', 'obiectivul măsurii')),
        comment("From a new plan, in one event: the plan with the act that approved it (Dispoziția nr. 31/16 februarie 2023)."),
        fire("2023-03-01", "head", "import_plan", SAMPLE, ('Moved', 'implementing')),
        check("2023-03-01", state="implementing", values=values + [("scores", {}), ("documents.0.id", "integrity_plan")]),
        comment("Dates are the plan's own, not the import's: the audit every 2 years counts from 16.02.2023; 1.3 is due today."),
        check("2023-03-01", overdue=[], deadlines=[("measure:1.3", "2023-03-01", "upcoming"), ("measure:1.5", "2023-03-31", "upcoming"),
              ("internal_audit", "2025-02-16", "upcoming"), ("annual_evaluation", "2023-12-31", "upcoming")]),
        document("2023-03-01", "integrity_plan", contains=["Anexa la Dispoziția nr. 31/16 februarie 2023", "Data: 16 februarie 2023",
                 "Aprobat prin dispoziție nr. 31 / 16 februarie 2023", "1 martie 2023", "Permanent", "La 2 ani",
                 "Tabelul obiectivului 4 nu are coloana Buget"], not_contains=["Data publicării"]),
        document("2023-03-01", "integrity_plan", lang="en", contains=["Date: 16 February 2023", "Every 2 years"]),
        fire("2023-03-02", "head", "import_plan", SAMPLE, ('Refused', 'state', '')),
    ]
    scenario("alunis_import.ron", """Seed 000 whole (4 objectives, 17 measures, every cell) with the act approving it, taken over with
`import_plan` from a new plan, as `integritas plan new --sample alunis` does; the plan keeps its own dates.
""" + HAND, "The Aluniș plan (seed 000) taken over in one event, with its own dates", "2023-02-01", steps)


# ---------------------------------------------------------------- cycle.ron
def cycle():
    ev_steps = lambda ids: ev(steps_rows(ids))
    steps = [
        check("2023-02-01", state="drafting", cycle=1, overdue=[], upcoming=[]),
        fire("2023-02-05", "head", "adopt_declaration", {"declaration": DECL}, 'Stayed'),
        fire("2023-02-08", "head", "send_declaration", {"declaration": DECL_SEND}, 'Stayed'),
        fire("2023-02-10", "head", "appoint_coordinator", {"coordinator_decision": COORD}, 'Stayed'),
        fire("2023-02-11", "employee", "propose_measure", {"consultation": PROP1}, 'Stayed'),
        fire("2023-02-12", "employee", "propose_measure", {"consultation": PROP2}, 'Stayed'),
        check("2023-02-12", values=[("data.consultation.proposals.1.department", "Urbanism")]),
        fire("2023-02-14", "coordinator", "close_consultation", {"consultation": CONSULT}, 'Stayed'),
        fire("2023-02-16", "coordinator", "draft_plan", {"plan": PLAN}, ('Moved', 'approval')),
        fire("2023-02-16", "head", "return_for_revision", None, ('Moved', 'drafting')),
        fire("2023-02-16", "coordinator", "draft_plan", {"plan": PLAN}, ('Moved', 'approval')),
        fire("2023-02-17", "head", "approve_plan", {"approval": APPROVAL}, ('Moved', 'implementing')),
        fire("2023-02-17", "head", "publish_plan", {"publication": PUBLICATION}, 'Stayed'),
        comment("The steps done before the plan existed are recorded with the days they were done."),
        fire("2023-02-20", "coordinator", "draft_evaluation", ev_steps(["1.1", "1.2", "1.3", "1.4"]), 'Stayed'),
        check("2023-02-20", overdue=[], met=["measure:1.1", "measure:1.2", "measure:1.3", "measure:1.4"],
              deadlines=[("measure:1.1", "2023-03-15", "met", "2023-02-07"), ("measure:1.3", "2023-03-01", "met", "2023-02-14"),
                         ("measure:1.5", "2023-03-31", "upcoming")]),
        fire("2023-03-01", "risk_group", "identify_risks", {"risk_register": REGISTER_ID}, 'Stayed'),
        fire("2023-03-10", "risk_group", "assess_risks", {"risk_register": REGISTER_ASSESS}, 'Stayed'),
        fire("2023-03-10", "coordinator", "draft_evaluation", ev_steps(["1.1", "1.2", "1.3", "1.4", "1.5"]), 'Stayed'),
        check("2023-03-10", met=["measure:1.5"], values=[("scores.risk_levels.value.risks.0.score", 16),
              ("scores.risk_levels.value.risks.0.level", "ridicat"), ("scores.risk_levels.value.risks.1.level", "mediu"),
              ("scores.risk_levels.value.risks.2.level", "scăzut")]),
        check("2023-03-20", overdue=[]),
        fire("2023-06-30", "risk_group", "report_remediation", {"remediation_report": REMEDIATION}, 'Stayed'),
        fire("2023-12-10", "coordinator", "submit_self_assessment", {"self_assessment": self_assessment(2023, "2023-12-10")}, 'Stayed'),
        fire("2023-12-15", "coordinator", "start_evaluation", None, ('Moved', 'annual_evaluation')),
        fire("2023-12-18", "coordinator", "draft_evaluation", {"annual_evaluation": EV23}, 'Stayed'),
        fire("2023-12-19", "head", "submit_evaluation", {"annual_evaluation": EV23}, ('Moved', 'implementing')),
        check("2023-12-20", met=["annual_evaluation", "self_assessment"], values=[
              ("scores.implementation_degree.value.degree_percent", 67.65), ("scores.implementation_degree.value.measures", 17)]),
        comment("2.4 („31 decembrie 2023”) was reported „în curs” on 18 December and is overdue from 1 January."),
        check("2024-01-05", overdue=["measure:2.4"]),
        fire("2024-12-10", "coordinator", "start_evaluation", None, ('Moved', 'annual_evaluation')),
        fire("2024-12-12", "risk_group", "update_register", {"risk_register": REGISTER_2024}, 'Stayed'),
        fire("2024-12-13", "coordinator", "revise_plan", {"plan": revised_plan()}, 'Stayed'),
        fire("2024-12-17", "head", "submit_evaluation", {"annual_evaluation": EV24}, ('Moved', 'implementing')),
        comment("1.8's report for 2024 is still missing on 5 January 2025; 2.4 was carried out late, on 20 November 2024."),
        check("2025-01-05", overdue=["self_assessment"], deadlines=[("measure:2.4", "2023-12-31", "met_late", "2024-11-20"),
              ("annual_evaluation", "2024-12-31", "met", "2024-12-17")],
              values=[("scores.implementation_degree.value.degree_percent", 79.41), ("scores.risk_levels.value.risks.3.level", "ridicat"),
                      ("data.plan.measures.10.indicators", revised_plan()["measures"][10]["indicators"])]),
        fire("2025-01-10", "coordinator", "submit_self_assessment", {"self_assessment": self_assessment(2024, "2025-01-10")}, 'Stayed'),
        check("2025-01-10", overdue=[], deadlines=[("self_assessment", "2024-12-31", "met_late", "2025-01-10")]),
        comment("4.2, „La 2 ani”: two years from the approval (16.02.2023)."),
        fire("2025-02-10", "internal_audit", "record_internal_audit", {"internal_audit": AUDIT}, 'Stayed'),
        check("2025-02-21", overdue=[], deadlines=[("internal_audit", "2025-02-16", "met", "2025-02-10")]),
        fire("2025-12-01", "coordinator", "start_evaluation", None, ('Moved', 'annual_evaluation')),
        fire("2025-12-09", "coordinator", "submit_self_assessment", {"self_assessment": self_assessment(2025, "2025-12-09")}, 'Stayed'),
        fire("2025-12-11", "head", "submit_evaluation", {"annual_evaluation": EV25}, ('Moved', 'implementing')),
        check("2025-12-12", values=[("scores.implementation_degree.value.degree_percent", 97.06)]),
        comment("2.3 („2025”) only partly carried out: overdue after 31 December 2025, until the plan's period is closed."),
        check("2026-01-05", overdue=["measure:2.3"]),
        fire("2026-01-15", "head", "close_plan", {"closing": {"number": "12", "decided_on": "2026-01-15", "conclusions": "Planul 2021 - 2025 a fost implementat."}}, ('Moved', 'closed')),
        check("2026-01-16", overdue=[], upcoming=[]),
        fire("2026-01-16", "coordinator", "start_evaluation", None, ('Refused', 'finished', '')),
    ]
    scenario("cycle.ron", """Seed 000 (the Aluniș plan under SNA 2021-2025): the whole period, from the plan to its close. The plan
is drafted and approved, the steps of Obiectiv 1 are done before and after it and tracked by their own
terms, every measure is evaluated in 2023, 2024 and 2025, and the period ends.
""" + HAND, "Aluniș: the whole plan, three annual evaluations of all 17 measures, the end of the period", "2023-02-01", steps)

# ---------------------------------------------------------------- indicators.ron
def indicators():
    DEFINE = {"indicators": [
        {"id": "S1-12.1-a", "measure": "12.1", "name": "Cetățeni care utilizează sistemele de e-Guvernare locală", "kind": "de rezultat", "horizon": "termen mediu", "horizon_year": 2030, "comparator": "cel puțin", "target": 35, "unit": "%"},
        {"id": "S1-12.1-b", "measure": "12.1", "name": "Interacțiuni ale cetățenilor cu Primăria efectuate în mediul online", "kind": "de rezultat", "horizon": "termen mediu", "horizon_year": 2030, "comparator": "cel puțin", "target": 60, "unit": "%"},
        {"id": "S1-12.3", "measure": "12.3", "name": "Locuitori ai Sectorului 1 care utilizează serviciile accesibile pe platforma online", "kind": "de rezultat", "horizon": "termen scurt", "horizon_year": 2024, "comparator": "cel puțin", "target": 35, "unit": "%"},
        {"id": "S1-12.4", "measure": "12.4", "name": "Locuitori ai Sectorului 1 care utilizează mecanismul de monitorizare", "kind": "de rezultat", "horizon": "termen scurt", "horizon_year": 2024, "comparator": "cel puțin", "target": 25, "unit": "%"},
        {"id": "S1-12.1-c", "measure": "12.1", "name": "Strategia de transformare digitală", "kind": "de realizare", "horizon": "termen scurt", "horizon_year": 2024, "target_text": "1 cercetare; adoptarea strategiei"},
        {"id": "CL-proceduri", "name": "Proceduri operaționale elaborate și implementate pe măsurile de prevenire a corupției", "kind": "de realizare", "unit": "proceduri"},
        {"id": "CL-institutii", "name": "Instituții publice locale sprijinite", "kind": "de realizare", "unit": "instituții"},
        {"id": "CL-ghid", "name": "Ghid al procedurilor operaționale privind măsurile preventive anticorupție", "kind": "de realizare", "unit": "ghiduri"},
        {"id": "CL-sondaj", "name": "Sondaj de opinie în rândul personalului propriu și al aleșilor locali", "kind": "de realizare", "unit": "sondaje"},
        {"id": "CL-instruiri", "name": "Sesiuni de instruire privind prevenirea corupției", "kind": "de realizare", "unit": "sesiuni"},
        {"id": "CL-persoane", "name": "Persoane instruite (funcționari publici, personal contractual și aleși locali)", "kind": "de realizare", "comparator": "cel puțin", "target": 75, "unit": "persoane", "target_text": "Grupul țintă: 75 persoane (65 salariați și 10 aleși locali)"}]}
    VALUES1 = {"values": [{"indicator": "CL-proceduri", "measured_on": "2019-09-18", "value": 11, "source": "Proiectul IPIP, Cod SIPOCA 442"},
        {"indicator": "CL-institutii", "measured_on": "2019-09-18", "value": 12}, {"indicator": "CL-ghid", "measured_on": "2019-09-18", "value": 1},
        {"indicator": "CL-sondaj", "measured_on": "2019-09-18", "value": 1}, {"indicator": "CL-instruiri", "measured_on": "2019-09-18", "value": 5},
        {"indicator": "CL-persoane", "measured_on": "2019-09-18", "value": 75}]}
    steps = [
        fire("2023-02-15", "coordinator", "define_indicators", {"indicators": DEFINE}, 'Stayed'),
        fire("2023-02-16", "coordinator", "draft_plan", {"plan": PLAN}, ('Moved', 'approval')),
        fire("2023-02-17", "head", "approve_plan", {"approval": APPROVAL}, ('Moved', 'implementing')),
        fire("2023-03-01", "coordinator", "record_indicator_values", {"indicator_values": VALUES1}, 'Stayed'),
        fire("2023-03-10", "risk_group", "identify_risks", {"risk_register": with_(REGISTER_ID, drawn_up_on="2023-03-10")}, 'Stayed'),
        fire("2023-03-10", "risk_group", "assess_risks", {"risk_register": REGISTER_ASSESS}, 'Stayed'),
        fire("2024-12-31", "risk_group", "record_indicator_values", {"indicator_values": {"values": [{"indicator": "S1-12.3", "measured_on": "2024-12-31", "value": 37.5}]}}, 'Stayed'),
        check("2025-01-02", values=[("data.indicator_values.values.5.value", 75), ("data.indicator_values.values.6.value", 37.5),
              ("data.indicators.indicators.2.horizon_year", 2024), ("data.indicators.indicators.0.horizon", "termen mediu"),
              ("data.indicators.indicators.10.target", 75)]),
        comment("The indicators, their targets and the values measured are printed in the evaluation report."),
        fire("2025-12-01", "coordinator", "start_evaluation", None, ('Moved', 'annual_evaluation')),
        fire("2025-12-11", "head", "submit_evaluation", {"annual_evaluation": EV25}, ('Moved', 'implementing')),
        document("2025-12-11", "evaluation_report", contains=["S1-12.3", "cel puțin 35 %", "37.5 % (31 decembrie 2024)", "75 persoane (18 septembrie 2019)"]),
    ]
    scenario("indicators.ron", """Targets and horizons from seed 004 (Sector 1, domeniul strategic 12: "cel putin 35% dintre cetateni",
"60% dintre interactiunile", horizons 2024/2030) and the outputs of the IPIP Călărași project, seed 002
(11 proceduri, 12 instituții, 1 ghid, 1 sondaj, 5 sesiuni, 75 de persoane), with measured values appended.
""" + HAND, "Indicators: Sector 1 targets (horizons 2024/2030) and Călărași outputs", "2023-02-01", steps)


# ---------------------------------------------------------------- guards.ron
def guards():
    import ronparse
    # the refusals of the 1.0.0 guards scenario, kept where the workflow kept them
    old = ronparse.parse_steps(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'guards_old.ron'))
    def exp_of(e):
        if e.get('__ident') == 'Stayed': return 'Stayed'
        if e.get('__call') == 'Moved': return ('Moved', e['__pos'][0])
        if e.get('__call') == 'Refused': return ('Refused', e['guard'], e['message'])
        return 'Accepted'
    steps = []
    def keep(i, exp=None, payload=None, date=None):
        s = old[i - 1]
        steps.append(fire(date or s['date'], s['role'], s['event'], s.get('payload') if payload is None else payload, exp or exp_of(s['expect'])))
    for i in range(1, 4): keep(i)
    keep(4, payload={"approval": APPROVAL})
    for i in range(5, 16): keep(i)
    keep(16, exp='Stayed')
    for i in range(17, 22): keep(i)
    keep(22, exp='Stayed')
    for i in range(23, 31): keep(i)
    keep(31, exp='Stayed')
    for i in range(32, 36): keep(i)
    # the plan's terms and objectives, as the plan states them
    bad = copy.deepcopy(PLAN); bad["measures"][0]["deadline_year"] = 2023
    steps.append(fire("2023-02-16", "coordinator", "draft_plan", {"plan": bad}, ('Refused', 'condition', 'termenul măsurilor cu termen la o dată')))
    bad = copy.deepcopy(PLAN); bad["measures"][9].pop("deadline_year")
    steps.append(fire("2023-02-16", "coordinator", "draft_plan", {"plan": bad}, ('Refused', 'condition', 'termenul măsurilor cu termen un an')))
    bad = copy.deepcopy(PLAN); bad["measures"][5]["deadline_date"] = "2023-12-31"
    steps.append(fire("2023-02-16", "coordinator", "draft_plan", {"plan": bad}, ('Refused', 'condition', 'termenul măsurilor permanente')))
    bad = copy.deepcopy(PLAN); bad["measures"][0]["objective"] = "9"
    steps.append(fire("2023-02-16", "coordinator", "draft_plan", {"plan": bad}, ('Refused', 'condition', 'obiectivul măsurii')))
    bad = copy.deepcopy(SAMPLE); bad["approval"]["approved_on"] = "2023-02-15"
    steps.append(fire("2023-02-16", "head", "import_plan", bad, ('Refused', 'condition', 'data aprobării planului')))
    keep(36)
    steps.append(fire("2023-02-16", "head", "import_plan", SAMPLE, ('Refused', 'state', '')))
    steps.append(fire("2023-02-17", "coordinator", "approve_plan", {"approval": APPROVAL}, ('Refused', 'role', '')))
    steps.append(fire("2023-02-17", "head", "approve_plan", {"approval": with_(APPROVAL, approved_by="")}, ('Refused', 'form', 'Aprobat de')))
    steps.append(fire("2023-02-17", "head", "approve_plan", {"approval": with_(APPROVAL, approved_on="2023-02-15")}, ('Refused', 'condition', 'data aprobării planului')))
    steps.append(fire("2023-02-17", "head", "publish_plan", {"publication": PUBLICATION}, ('Refused', 'state', '')))
    steps.append(fire("2023-02-17", "head", "approve_plan", {"approval": APPROVAL}, ('Moved', 'implementing')))
    # 1.4's second half
    steps.append(fire("2023-02-17", "head", "publish_plan", {"publication": with_(PUBLICATION, published_on=None)}, ('Refused', 'form', 'Data publicării')))
    steps.append(fire("2023-02-17", "head", "publish_plan", {"publication": with_(PUBLICATION, published_on="2023-02-15")}, ('Refused', 'condition', 'data publicării planului pe site')))
    steps.append(fire("2023-02-17", "head", "publish_plan", {"publication": with_(PUBLICATION, published_on="2023-02-18")}, ('Refused', 'condition', 'data publicării planului pe site')))
    steps.append(fire("2023-02-17", "head", "publish_plan", {"publication": with_(PUBLICATION, employees_informed=0)}, ('Refused', 'condition', 'nr. de angajați informați')))
    steps.append(fire("2023-02-17", "coordinator", "publish_plan", {"publication": PUBLICATION}, ('Refused', 'role', '')))
    steps.append(fire("2023-02-17", "head", "publish_plan", {"publication": PUBLICATION}, 'Stayed'))
    # the state of the measures during the year
    steps.append(fire("2023-02-18", "coordinator", "draft_evaluation", ev([{"id": "1.3", "status": R}]), ('Refused', 'condition', 'data realizării măsurilor realizate')))
    steps.append(fire("2023-02-18", "coordinator", "draft_evaluation", ev([{"id": "1.3", "status": R, "done_on": "2023-02-19"}]), ('Refused', 'condition', 'data realizării măsurilor realizate')))
    steps.append(fire("2023-02-18", "coordinator", "draft_evaluation", ev([{"id": "7.1", "status": R, "done_on": "2023-02-14"}]), ('Refused', 'condition', 'măsurile raportate în evaluare: 7.1')))
    steps.append(fire("2023-02-18", "head", "draft_evaluation", ev(steps_rows(["1.3"])), ('Refused', 'role', '')))
    steps.append(fire("2023-02-18", "coordinator", "draft_evaluation", ev(steps_rows(["1.3"])), 'Stayed'))
    for i in range(43, 47): keep(i)
    # start_evaluation needs the register
    steps.append(fire("2023-03-01", "coordinator", "start_evaluation", None, ('Refused', 'form', 'risk_register')))
    for i in range(48, 53): keep(i)
    keep(53, exp='Stayed')
    for i in range(54, 64): keep(i)
    keep(64)  # close_plan: annual_evaluation not complete
    for i in range(65, 69): keep(i)
    full = EV23
    def e(**kw):
        x = copy.deepcopy(full); x.update(kw); return {"annual_evaluation": x}
    steps.append(fire("2023-12-19", "head", "submit_evaluation", e(sent_to_mdlpa_on=None), ('Refused', 'form', 'Data transmiterii către MDLPA')))
    steps.append(fire("2023-12-19", "head", "submit_evaluation", e(reported_on="2023-12-20", sent_to_mdlpa_on="2023-12-20"), ('Refused', 'condition', 'data raportului de evaluare')))
    steps.append(fire("2023-12-19", "head", "submit_evaluation", e(sent_to_mdlpa_on="2023-12-17"), ('Refused', 'condition', 'data transmiterii raportului către MDLPA')))
    steps.append(fire("2023-12-19", "head", "submit_evaluation", e(year=2020), ('Refused', 'payload', 'outside')))
    rows_ = copy.deepcopy(full["measures"]); rows_[12] = {"id": "3.1", "status": N}
    steps.append(fire("2023-12-19", "head", "submit_evaluation", e(measures=rows_), ('Refused', 'condition', 'motivul nerealizării sau al realizării parțiale (regula pachetului), row 13')))
    rows_ = copy.deepcopy(full["measures"]); rows_[12] = {"id": "3.1", "status": "realizat", "done_on": "2023-12-01"}
    steps.append(fire("2023-12-19", "head", "submit_evaluation", e(measures=rows_), ('Refused', 'payload', 'not one of')))
    rows_ = [r for r in copy.deepcopy(full["measures"]) if r["id"] != "4.2"]
    steps.append(fire("2023-12-19", "head", "submit_evaluation", e(measures=rows_), ('Refused', 'condition', 'măsurile planului raportate în evaluare: 4.2')))
    steps.append(fire("2023-12-19", "head", "submit_evaluation", {"annual_evaluation": full}, ('Moved', 'implementing')))
    steps.append(check("2023-12-19", values=[("scores.implementation_degree.value.degree_percent", 67.65)]))
    for i in range(76, 80): keep(i)
    scenario("guards.ron", """One refusal per guard kind (unknown_event, role, state, payload, form, condition, finished) and per
condition of every transition of the SNA workflow (seed 000's measures 1.1-1.8, 4.2).
""" + HAND, "Every guard of the SNA workflow refuses what it should", "2023-02-01", steps, institution=False)

if __name__ == '__main__':
    # python3 scen.py  (all)  |  python3 scen.py terms degree ...
    names = sys.argv[1:] or ['terms', 'degree', 'pack_choice', 'alunis_import', 'cycle', 'indicators', 'guards']
    for f in names:
        globals()[f]()
