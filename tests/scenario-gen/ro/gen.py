"""Writes the ro pack's scenarios. The steps are written by hand here; long payloads
(the Aluniș plan, the 17 evaluation rows) are expanded from the sample and the fixtures below."""
import json, re, copy, sys
import os; sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
PACK = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'jurisdictions', 'ro')

def load_sample():
    lines = [l for l in open(PACK + '/samples/alunis.ron', encoding='utf-8') if not l.lstrip().startswith('//')]
    txt = re.sub(r',(\s*[}\]])', r'\1', ''.join(lines))
    return json.loads(txt)

SAMPLE = load_sample()
PLAN = SAMPLE['plan']
APPROVAL = SAMPLE['approval']

def j(v):
    return json.dumps(v, ensure_ascii=False)

def expect(e):
    if e is None or e == 'Accepted': return 'Accepted'
    if e == 'Stayed': return 'Stayed'
    if isinstance(e, tuple) and e[0] == 'Moved': return 'Moved(%s)' % j(e[1])
    if isinstance(e, tuple) and e[0] == 'Refused': return 'Refused(guard: %s, message: %s)' % (j(e[1]), j(e[2]))
    raise ValueError(e)

def fire(date, role, event, payload=None, exp='Accepted'):
    p = '' if payload is None else ', payload: ' + j(payload)
    return 'Fire(date: %s, role: %s, event: %s%s, expect: %s)' % (j(date), j(role), j(event), p, expect(exp))

def check(date, state=None, cycle=None, overdue=None, upcoming=None, met=None, deadlines=None, values=None):
    parts = ['date: ' + j(date)]
    if state: parts.append('state: ' + j(state))
    if cycle is not None: parts.append('cycle: %d' % cycle)
    if overdue is not None: parts.append('overdue: ' + j(overdue))
    if upcoming is not None: parts.append('upcoming: ' + j(upcoming))
    if met: parts.append('met: ' + j(met))
    if deadlines:
        ds = []
        for d in deadlines:
            f = ['id: ' + j(d[0])]
            if len(d) > 1 and d[1]: f.append('due: ' + j(d[1]))
            if len(d) > 2 and d[2]: f.append('status: ' + j(d[2]))
            if len(d) > 3 and d[3]: f.append('on: ' + j(d[3]))
            ds.append('Deadline(%s)' % ', '.join(f))
        parts.append('deadlines: [%s]' % ', '.join(ds))
    if values:
        parts.append('values: [%s]' % ', '.join('Value(path: %s, equals: %s)' % (j(p), j(v)) for p, v in values))
    return 'Check(%s)' % ', '.join(parts)

def document(date, id, lang=None, contains=(), not_contains=()):
    parts = ['date: ' + j(date), 'id: ' + j(id)]
    if lang: parts.append('lang: ' + j(lang))
    if contains: parts.append('contains: ' + j(list(contains)))
    if not_contains: parts.append('not_contains: ' + j(list(not_contains)))
    return 'Document(%s)' % ', '.join(parts)

def comment(text):
    return '// ' + text

def scenario(file, header, name, start, steps, institution=True):
    out = [('// ' + l) if l else '//' for l in header.strip('\n').split('\n')]
    out.append('Scenario(')
    out.append('    name: %s,' % j(name))
    out.append('    workflow: "sna",')
    out.append('    start: %s,' % j(start))
    if institution:
        out.append('    institution: (name: "U.A.T. Comuna Aluniș", kind: "comună", employees: 25),')
    out.append('    steps: [')
    for s in steps:
        if s.startswith('//'):
            out.append('        ' + s)
        else:
            out.append('        ' + s + ',')
    out.append('    ],')
    out.append(')')
    open(PACK + '/scenarios/' + file, 'w', encoding='utf-8').write('\n'.join(out) + '\n')

# ---- fixtures (invented for the scenarios, not from the seeds, except where said) ----
DECL = {"number": "512", "adopted_on": "2023-02-05", "signed_by": "Mihai Sav - primar",
        "text": "Conducerea instituției își asumă agenda de integritate organizațională în cadrul SNA 2021-2025."}
DECL_SEND = {"disseminated_by": ["e-mail", "ședință"], "published_on": "2023-02-06", "web_address": "https://comunaalunis.ro",
             "sent_to_mdlpa_on": "2023-02-07", "mdlpa_reference": "MDLPA 1234/2023"}
COORD = {"number": "25", "issued_on": "2023-02-09", "issued_by": "Mihai Sav - primar",
         "legal_basis": "Textul temeiului legal, așa cum îl citează instituția.", "coordinator": "Ciont Eugen",
         "position": "consilier de etică", "email": "alunis@cj.e-adm.ro",
         "others": [{"name": "Mircea Murășan", "position": "secretar general", "task": "Transmiterea raportărilor către MDLPA"}],
         "risk_group": [{"name": "Ciont Eugen", "position": "consilier de etică", "department": "Aparatul de specialitate"},
                        {"name": "Mircea Murășan", "position": "secretar general", "department": "Secretariat"}],
         "distribution": "Persoanele desemnate\nAngajații instituției\nMDLPA", "mdlpa_informed_on": "2023-02-10"}
PROP1 = {"proposals": [{"proposal": "Publicarea pe site a contractelor de achiziții", "department": "Achiziții"}]}
PROP2 = {"proposals": [{"proposal": "Program de lucru cu publicul extins pentru avize urgente", "department": "Urbanism"}]}
CONSULT = {"started_on": "2023-02-10", "ended_on": "2023-02-14", "method": ["ședință", "e-mail"], "employees_total": 25,
           "employees_consulted": 18, "minutes": "Minuta nr. 3/14.02.2023"}
PUBLICATION = {"disseminated_by": ["e-mail", "ședință"], "employees_informed": 25, "acknowledgement": "Listă de luare la cunoștință",
               "published_on": "2023-02-17", "web_address": "https://comunaalunis.ro"}
RISKS_ID = [{"id": "R1", "area": "Achiziții publice", "description": "Favorizarea unui ofertant prin specificații restrictive",
             "vulnerabilities": "Un singur angajat întocmește documentația", "existing_controls": "Viza compartimentului juridic"},
            {"id": "R2", "area": "Urbanism", "description": "Solicitarea de foloase pentru emiterea urgentă a certificatelor",
             "vulnerabilities": "Lipsa unei proceduri de urgență (măsura 2.4)"},
            {"id": "R3", "area": "Registrul agricol", "description": "Eliberarea de adeverințe cu date neverificate"}]
def risks(pis, status="deschis", extra=()):
    out = []
    for r, (p, i) in zip(RISKS_ID, pis):
        r = dict(r); r.update({"probability": p, "impact": i, "status": status}); out.append(r)
    return out + list(extra)
R4 = {"id": "R4", "area": "Achiziții directe", "description": "Presiuni în procedurile de achiziție directă", "probability": 3, "impact": 5, "status": "deschis"}
REGISTER_ID = {"drawn_up_on": "2023-03-01", "drawn_up_by": "Grupul de lucru pentru managementul riscurilor la corupție", "risks": RISKS_ID}
REGISTER_ASSESS = {"drawn_up_on": "2023-03-10", "risks": risks([(4, 4), (3, 3), (1, 2)])}
REGISTER_2024 = {"drawn_up_on": "2024-12-12", "risks": risks([(2, 4), (1, 3), (1, 2)], extra=[R4])}
REMEDIATION = {"period": "2023", "reported_on": "2023-06-30", "remediations": [
    {"risk": "R1", "vulnerability": "Un singur angajat întocmește documentația", "measure": "Verificarea documentației de un al doilea angajat",
     "owner": "Responsabil achiziții", "deadline": "2023-06-01", "status": "implementată", "done_on": "2023-05-20"},
    {"risk": "R2", "vulnerability": "Lipsa unei proceduri de urgență", "measure": "Procedura de urgență (măsura 2.4)", "status": "în curs"}]}
def self_assessment(year, on):
    return {"year": year, "reported_on": on, "collection": "Formular unic completat de compartimente", "indicators": [
        {"indicator": "Informații de interes public publicate conform standardului (Anexa 4 la SNA)", "value": "da", "source": "Pagina de internet"},
        {"indicator": "Nr. de seturi de date publicate pe data.gov.ro", "value": "3"}]}
AUDIT = {"number": "AI-2/2025", "audited_on": "2025-02-10", "period": "2023-2024", "recommendations": 4, "preventive_degree": 75,
         "findings": "Măsurile preventive sunt în mare parte implementate."}

# The statuses of the 17 measures, per evaluation: (status, done_on, extra).
R, P, N, C = "realizată", "parțial realizată", "nerealizată", "în curs (termen neajuns)"
STEPS_DONE = {"1.1": ("2023-02-07", {"evidence": "Declarația nr. 512/2023; pagina web"}),
              "1.2": ("2023-02-10", {"evidence": "Dispoziția nr. 25/2023"}),
              "1.3": ("2023-02-14", {"indicator_values": "18 angajați consultați"}),
              "1.4": ("2023-02-17", {"indicator_values": "25 de angajați informați"}),
              "1.5": ("2023-03-10", {"indicator_values": "3 riscuri identificate și evaluate"})}
def rows(statuses):
    out = []
    for m in PLAN["measures"]:
        mid = m["id"]
        st = statuses[mid]
        row = {"id": mid, "status": st[0]}
        if len(st) > 1 and st[1]: row["done_on"] = st[1]
        if len(st) > 2: row.update(st[2])
        out.append(row)
    return out
def steps_rows(ids):
    return [dict({"id": i, "status": R, "done_on": STEPS_DONE[i][0]}, **STEPS_DONE[i][1]) for i in ids]
BASE = {i: (R, d, x) for i, (d, x) in STEPS_DONE.items()}
EVAL_2023 = dict(BASE, **{
    "1.6": (P, None, {"reason": "Două din cele trei vulnerabilități sunt în curs de remediere"}),
    "1.7": (R, "2023-12-18", {"evidence": "Prezentul raport"}),
    "1.8": (R, "2023-12-10", {"evidence": "Raportul de autoevaluare pe 2023"}),
    "2.1": (R, "2023-11-15", {"indicator_values": "2 activități de informare; 40 de participanți"}),
    "2.2": (C, None), "2.3": (C, None),
    "2.4": (C, None, {"reason": "Procedura de urgență este în curs de elaborare"}),
    "3.1": (R, "2023-12-01"), "3.2": (R, "2023-10-01", {"indicator_values": "3 seturi de date"}),
    "3.3": (R, "2023-12-01", {"indicator_values": "Actualizare trimestrială"}),
    "4.1": (N, None, {"reason": "Nicio procedură de achiziție cu pact de integritate în 2023"}),
    "4.2": (C, None)})
EVAL_2024 = dict(BASE, **{
    "1.6": (R, "2024-06-30"), "1.7": (R, "2024-12-16"),
    "1.8": (P, None, {"reason": "Raportul de autoevaluare pe 2024 se finalizează în ianuarie 2025"}),
    "2.1": (R, "2024-11-10"), "2.2": (C, None), "2.3": (C, None),
    "2.4": (R, "2024-11-20", {"evidence": "Procedura nr. 7/2024"}),
    "3.1": (R, "2024-12-01"), "3.2": (R, "2024-10-01"), "3.3": (R, "2024-12-01"),
    "4.1": (R, "2024-09-15", {"indicator_values": "1 pact de integritate"}), "4.2": (C, None)})
EVAL_2025 = dict(BASE, **{
    "1.6": (R, "2025-06-30"), "1.7": (R, "2025-12-10"), "1.8": (R, "2025-12-09"),
    "2.1": (R, "2025-11-10"), "2.2": (R, "2025-11-30"),
    "2.3": (P, None, {"reason": "Două servicii din cinci digitalizate"}),
    "2.4": (R, "2024-11-20", {"evidence": "Procedura nr. 7/2024"}),
    "3.1": (R, "2025-12-01"), "3.2": (R, "2025-10-01"), "3.3": (R, "2025-12-01"),
    "4.1": (R, "2024-09-15"), "4.2": (R, "2025-02-10", {"evidence": "Raportul de audit AI-2/2025"})})
def evaluation(year, number, reported, sent, statuses, **extra):
    e = {"year": year, "number": number, "reported_on": reported, "measures": rows(statuses)}
    if sent: e["sent_to_mdlpa_on"] = sent
    e.update(extra)
    return e
EV23 = evaluation(2023, "1450", "2023-12-18", "2023-12-19", EVAL_2023, employees_involved=12, new_risks="Niciunul",
                  revised_measures="Niciuna", mdlpa_reference="MDLPA 9876/2023")
EV24 = evaluation(2024, "1390", "2024-12-16", "2024-12-17", EVAL_2024, employees_involved=15,
                  new_risks="R4: presiuni în procedurile de achiziție directă", revised_measures="R4 adăugat în registru; ținta măsurii 2.3 precizată")
EV25 = evaluation(2025, "1201", "2025-12-10", "2025-12-11", EVAL_2025)
def revised_plan():
    p = copy.deepcopy(PLAN)
    for m in p["measures"]:
        if m["id"] == "2.3":
            m["indicators"] += "\nȚintă revizuită: 5 servicii digitalizate"
    return p
