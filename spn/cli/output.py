"""Human-readable rendering of results (``--json`` prints the result as it came)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from contracts.periods import term_label
from contracts.plans import ImprovementPlan
from contracts.practices import PracticeCode
from spn.cli.files import Checked


def emit_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, sort_keys=False, default=str)
    sys.stdout.write("\n")


def heading(text: str) -> str:
    return f"\n== {text} =="


def organization_tree(organizations: list[dict[str, Any]]) -> Iterable[str]:
    """SEA, its LEAs, their schools, each with its plans and their status."""
    children: dict[str | None, list[dict[str, Any]]] = {}
    for org in organizations:
        children.setdefault(org["parent"], []).append(org)
    codes = {org["code"] for org in organizations}
    roots = [org for org in organizations if org["parent"] not in codes]

    def walk(org: dict[str, Any], depth: int) -> Iterable[str]:
        plans = ", ".join(f"{p['plan_year']} {p['status']}" for p in org["plans"]) or "no plan"
        liaison = (
            f"  liaison: {org['liaison_name']} <{org['liaison_email']}>"
            if org["liaison_name"]
            else ""
        )
        yield f"{'  ' * depth}{org['kind']:<6} {org['code']:<24} {org['name']}  [{plans}]{liaison}"
        for child in children.get(org["code"], []):
            yield from walk(child, depth + 1)

    for root in roots:
        yield from walk(root, 0)


def plan_lines(detail: dict[str, Any]) -> Iterable[str]:
    """A plan in the order of Tool A: at a glance, direction, priorities and their work."""
    summary, plan = detail["summary"], detail["plan"]
    glance, direction = plan["at_a_glance"], plan["direction"]
    approved = f", approved by {detail['approved_by']}" if detail["approved_by"] else ""
    yield f"Plan {summary['key']}  status: {summary['status']}{approved}"
    yield f"  version {summary['version']}   id: {summary['id']}"
    yield f"  adjustments since approval: {detail['adjustments']}"
    if detail.get("returned"):
        returned = detail["returned"]
        yield f"  returned to draft by {returned['by']}: {returned['reason']}"
    yield f"  date of plan {glance['date_of_plan']}  ESSA status {glance['essa_status']}  " + (
        f"Title I {glance['title_i']}"
    )
    liaison = glance["district_liaison"]
    yield f"  district liaison: {liaison['name']} <{liaison['email']}>"
    yield f"  vision: {direction['vision']}"
    yield f"  mission: {direction['mission']}"
    for goal in direction["goals"]:
        yield f"  Goal {goal['number']}: {goal['statement']}"
        for measure in goal["measures"]:
            yield "    measure: " + measure_text(measure)
    yield from needs_lines(plan["needs_assessment"], detail.get("self_assessments", []))
    for area in plan["priority_areas"]:
        yield f"  Priority {area['number']}: {area['title']}"
        for strategy in area["strategies"]:
            practice = PracticeCode(strategy["practice"])
            toa = strategy["theory_of_action"]
            yield f"    Strategy {strategy['number']} [{practice.value} {practice.title}]"
            yield f"      If {toa['if']}, then {toa['then']}, and {toa['and']}."
            for measure in strategy["measures"]:
                yield "      measure: " + measure_text(measure)
            for milestone in strategy["milestones"]:
                yield (
                    f"      Milestone {milestone['number']} (due {milestone['due']}): "
                    + (milestone["description"])
                )
                for action in milestone["actions"]:
                    yield (
                        f"        {action['number']:<9} {action['start']} .. {action['due']}  "
                        f"{action['description']}  ({action['person_responsible']})"
                    )


def needs_lines(needs: dict[str, Any], assessed: list[dict[str, Any]]) -> Iterable[str]:
    """The needs assessment's weaknesses and root causes, beside the weakest areas of the
    organization's latest self-assessment with each instrument."""
    yield f"  Needs assessment: {', '.join(needs['elements'])}"
    for weakness in needs["weaknesses"]:
        yield f"    weakness: {weakness['finding']}"
    for cause in needs["root_causes"]:
        yield f"    root cause: {cause}"
    for digest in assessed:
        if not digest["weakest"]:  # rated by bars and statements only (the BLT's)
            yield f"  Self-assessment {digest['instrument']} of {digest['on']}: no levels"
            continue
        weakest = "; ".join(f"{a['area']} {a['title']} (mean {a['mean']:g}, level {a['level']})"
                            for a in digest["weakest"])  # fmt: skip
        yield f"  Self-assessment {digest['instrument']} of {digest['on']}: weakest {weakest}"


def measure_text(measure: dict[str, Any]) -> str:
    unit = measure["unit"]
    targets = ", ".join(f"{t['year']}: {t['value']:g}{unit}" for t in measure["targets"])
    bar = f"; bar {measure['bar']}" if measure.get("bar") else ""
    aims = f"; targets {targets}" if targets else ""
    return f"{measure['indicator']} — baseline {measure['baseline']:g}{unit}{aims}{bar}"


def history_lines(history: dict[str, Any]) -> Iterable[str]:
    yield f"History of plan {history['summary']['key']} ({history['summary']['status']})"
    for entry in history["entries"]:
        who = " ".join(
            x
            for x in (entry["by"], f"({entry['organization']})" if entry["organization"] else None)
            if x
        )
        yield f"  v{entry['version']:<3} {entry['at'][:19]}  {entry['event']:<13} {who}"
        for key, value in entry["details"].items():
            shown = "; ".join(value) if isinstance(value, list) else value
            yield f"        {key}: {shown}"


def validation_lines(checked: list[Checked[ImprovementPlan]]) -> Iterable[str]:
    """``FILE: field: problem`` for every problem of every file, then how many were valid."""
    for file in checked:
        if file.valid and file.document is not None:
            yield f"{file.file}: valid plan {file.document.key}"
        for problem in file.problems:
            yield f"{file.file}: {problem}"
    valid = sum(file.valid for file in checked)
    problems = sum(len(file.problems) for file in checked)
    summary = (
        f"{_count(len(checked), 'file')}: {valid} valid, {len(checked) - valid} invalid, "
        f"{_count(problems, 'problem')}"
    )
    if any(not file.rules_checked for file in checked):
        summary += " (a plan's rules are checked once its fields are valid)"
    yield summary


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def submit_lines(counts: dict[str, Any]) -> Iterable[str]:
    yield (
        f"{counts['rows']} rows: {counts['accepted']} accepted, {len(counts['rejected'])} "
        f"rejected, {counts['pending']} pending"
    )
    if counts["parked"]:
        yield (
            f"  {counts['parked']} parked: their plan is not (yet) an approved plan known to the "
            "status service; they are recorded when its approval arrives, or rejected as "
            "unknown_plan after SPN_STATUS_PARK_SECONDS"
        )
    if counts["pending"]:
        yield "  pending reports wait in the inbox until the status service takes them"
    if counts.get("repeated"):
        same = ", ".join(f"row {r['row']} (= row {r['same_as']})" for r in counts["repeated"])
        yield f"  {len(counts['repeated'])} rows repeat an earlier row and were sent once: {same}"
    for row in counts["rejected"]:
        yield f"  row {row['row']}: {row['reason']}: {row['message']}"


FIGURE_COLUMNS = (
    ("actions completed", "actions_completed_pct"),
    ("on time", "actions_on_time_pct"),
    ("behind", "actions_behind_pct"),
    ("milestones completed", "milestones_completed_pct"),
)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}%"


def figures_row(label: str, figures: dict[str, Any], width: int = 16) -> str:
    cells = "".join(f"{_pct(figures[key]):>{len(title) + 3}}" for title, key in FIGURE_COLUMNS)
    return f"{label:<{width}}{cells}{figures['milestones_behind']:>21}"


def figures_header(first: str, width: int = 16) -> str:
    titles = "".join(f"{title:>{len(title) + 3}}" for title, _ in FIGURE_COLUMNS)
    return f"{first:<{width}}{titles}{'milestones behind':>21}"


def progress_lines(progress: dict[str, Any], term: str | None = None) -> Iterable[str]:
    """Tool A "Reporting Implementation Data": the plan per month and per term, then the
    latest month (or the term asked) per strategy and milestone, with what was reported."""
    state = "active" if progress["active"] else "closed"
    yield (
        f"Implementation of {progress['key']} ({state}; {progress['reports_recorded']} reports "
        "recorded)"
    )
    if not progress["periods"] and not any(t["reported"]["reports"] for t in progress["terms"]):
        yield f"  nothing closed or reported in {term} yet" if term else "  no period closed yet"
        return
    if progress["periods"]:
        yield "  " + figures_header("period")
        for period in progress["periods"]:
            yield "  " + figures_row(period["period"], period["figures"])
    shown = [t for t in progress["terms"] if t["figures"] is not None]
    if shown:
        yield "  " + figures_header("term", width=20)
        for found in shown:
            label = found["term"] if found["closed"] else f"{found['term']} to {found['through']}"
            yield "  " + figures_row(label, found["figures"], width=20)
    if term:
        (found,) = progress["terms"]
        as_of = f"as of {found['as_of']}" if found["as_of"] else "no month of it closed yet"
        yield f"  {term_label(term)}, {as_of}:"
        yield from _strategy_lines(found["strategies"])
    elif progress["periods"]:
        latest = progress["periods"][-1]
        yield f"  {latest['period']}, as of {latest['as_of']}:"
        yield from _strategy_lines(latest["strategies"])


def _strategy_lines(strategies: list[dict[str, Any]]) -> Iterable[str]:
    yield "  " + figures_header("strategy")
    for strategy in strategies:
        label = f"{strategy['number']} [{strategy['practice']}]"
        yield "  " + _row_or_none(label, strategy["figures"])
        for milestone in strategy["milestones"]:
            yield "  " + _row_or_none(f"  {milestone['number']}", milestone["figures"])
            yield from reported_lines(milestone["reported"], "        ")


def _row_or_none(label: str, figures: dict[str, Any] | None) -> str:
    return figures_row(label, figures) if figures else f"{label:<16}   (no close yet)"


REPORTED_NOTES = (("outputs completed", "outputs_completed"),
                  ("cause & adjustments", "cause_and_adjustments"),
                  ("resources used", "resources_used"), ("comments", "comments"))  # fmt: skip


def reported_lines(reported: dict[str, Any], indent: str) -> Iterable[str]:
    """What the reports said, a line a note (each text on one line, cut at 160 characters:
    --json has it whole)."""
    for title, key in REPORTED_NOTES:
        for note in reported[key]:
            yield f"{indent}{title}: {one_line(note['text'])} ({note['action']}, {note['period']})"
    if reported["budget_used"] is not None:
        yield f"{indent}budget used: {reported['budget_used']}"


def one_line(text: str, limit: int = 160) -> str:
    """A text as one terminal line: control characters (line breaks, escapes) as spaces."""
    flat = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def outcomes_cell(outcomes: dict[str, Any] | None) -> str:
    """``2 of 3 reported (4 measures)``: the practice's strategy measures on target."""
    if not outcomes:
        return "no measures"
    return (f"{outcomes['on_target']} of {outcomes['reported']} reported "
            f"({outcomes['measures']} measures)")  # fmt: skip


def rollup_lines(report: dict[str, Any]) -> Iterable[str]:
    """Tool A figures of an organization: its children, its own plan, its practices."""
    org = report["organization"]
    if report["period"] is None:
        yield f"{org['kind']} {org['code']}: no period closed yet"
        yield from self_assessed_lines(report)
        return
    yield f"{org['kind']} {org['code']} ({org['name']}), as of period {report['period']}"
    yield "  " + figures_header("organization", width=32)
    for row in report["rows"]:
        yield "  " + _org_row(row)
    yield "  " + _org_row(org | {"code": f"all schools ({org['school_plans']})"})
    if report["own_plan"]:
        yield "  " + figures_row(f"own plan of {org['code']}", report["own_plan"], width=32)
    yield "  " + figures_header("practice", width=32) + "  status     measures on target"
    for practice in report["practices"]:
        label = f"{practice['practice']} x{practice['strategies']} in {practice['organizations']}"
        yield ("  " + figures_row(label, practice["figures"], width=32)
               + f"  {practice['status']:<10} {outcomes_cell(practice.get('outcomes'))}")
    yield "  " + figures_header("domain", width=32)
    for domain in report["domains"]:
        yield "  " + figures_row(
            f"{domain['domain']} {domain['name']}", domain["figures"], width=32
        )
    yield from self_assessed_lines(report)
    if report["judged"]:
        yield f"  waning flags of {report['period']}: {len(report['flags']) or 'none'}"
        for flag in report["flags"]:
            yield "    " + flag_line(flag)
    else:
        yield f"  the waning rules of {report['period']} are not judged yet"
    if report["goals"]:
        yield "  own plan, goal measures:"
    for goal in report["goals"]:
        yield f"    goal {goal['number']}: {_measure_values(goal['measures'])}"
    if report["strategies"]:
        yield "  own plan, strategy by strategy (implementation beside outcome):"
    for strategy in report["strategies"]:
        label = f"{strategy['number']} [{strategy['practice']}]"
        yield f"    {label} {strategy['status']:<24} {_measure_values(strategy['measures'])}"


def self_assessed_lines(report: dict[str, Any]) -> Iterable[str]:
    """Per practice, how many organizations assessed themselves at each level (Tool C),
    beside the implementation figures of the strategies coded to it."""
    if not report.get("self_assessed"):
        return
    figures = {p["practice"]: p for p in report.get("practices", [])}
    yield "  self-assessed (Tool C; organizations at level 1 / 2 / 3 / 4), beside implementation:"
    for assessed in report["self_assessed"]:
        levels = " / ".join(str(assessed["levels"].get(str(n), 0)) for n in range(1, 5))
        practice = figures.get(assessed["practice"])
        n = practice["strategies"] if practice else 0
        beside = (f"{n} {'strategy' if n == 1 else 'strategies'}, "
                  f"actions on time {_pct(practice['figures'].get('actions_on_time_pct'))}, "
                  f"{practice['status']}" if practice else "no strategy coded to it")  # fmt: skip
        yield (f"    {assessed['practice']} {assessed['title']:<62} {levels:<15} "
               f"of {assessed['organizations']:<4} {beside}")


def _measure_values(measures: list[dict[str, Any]]) -> str:
    return "; ".join(
        f"{m['measure']} {m['value'] if m['value'] is not None else '-'} ({_aim(m)})"
        for m in measures
    )


def _aim(value: dict[str, Any]) -> str:
    """``target 75``, or how the plan words it (a bar: "... bar: at least 75%")."""
    return value.get("target_label") or f"target {value['target']}"


def _org_row(row: dict[str, Any]) -> str:
    if row["figures"] is None:
        return f"{row['code']:<32}no figures"
    return figures_row(row["code"], row["figures"], width=32)


def case_lines(listing: dict[str, Any]) -> Iterable[str]:
    if not listing["cases"]:
        yield "no support cases"
    for case in listing["cases"]:
        about = f" on {case['practice']}" if case["practice"] else ""
        yield (
            f"{case['case_id']}  {case['recipient']} -> {case['addressed_to']}{about}  "
            f"opened {case['opened']}  {case['status']}"
        )
        practices = ", ".join(case["practices"]) or "-"
        yield f"    practices: {practices};  why: {'; '.join(case['reasons'])}"
        if case["support"]:
            s = case["support"]
            yield f"    support by {s['provider']} on {s['on']}: {s['what']}"
        if case["judgment"]:
            j = case["judgment"]
            verdict = "effective" if j["effective"] else "not effective"
            yield (
                f"    judged {j['period']}: {verdict} (on time {j['on_time_before']}% -> "
                f"{j['on_time_after']}%)"
            )
        if case["escalated_to"]:
            yield f"    escalated to {case['escalated_to']}"


def flag_lines(listing: dict[str, Any]) -> Iterable[str]:
    if not listing["flags"]:
        yield "no waning flags"
    period = None
    for flag in listing["flags"]:
        if flag["period"] != period:
            period = flag["period"]
            yield f"{period}:"
        yield "  " + flag_line(flag)


def flag_line(flag: dict[str, Any]) -> str:
    if flag["change"] == "cleared":
        return f"recovered  {flag['organization']}: {flag['rule']} no longer holds"
    practices = sorted({s["practice"] for s in flag["strategies"] or []})
    on = f" on {', '.join(practices)}" if practices else ""
    line = f"WANING     {flag['organization']}: {flag['rule']}{on}  {_evidence(flag['evidence'])}"
    return line.rstrip()


def _evidence(evidence: dict[str, Any] | None) -> str:
    if not evidence:
        return ""
    if "actions_behind_pct" in evidence:
        return f"({evidence['actions_behind']} of {evidence['actions_due']} due actions behind)"
    if "milestones" in evidence:
        return f"(milestones {', '.join(evidence['milestones'])})"
    return ""


def case_change(case: dict[str, Any]) -> str:
    """One line for what just happened to a support case."""
    about = f" on {case['practice']}" if case["practice"] else ""
    who = f"{case['recipient']} -> {case['addressed_to']}{about}"
    status = case["status"]
    if status == "open":
        return f"CASE       opened: {who} ({'; '.join(case['reasons'])})"
    if status == "supported":
        support = case["support"]
        return f"SUPPORT    {support['provider']} for {case['recipient']} on {support['on']}"
    if status == "escalated":
        return f"ESCALATED  {who}: support not effective; now with {case['escalated_to']}"
    judgment = case["judgment"] or {}
    verdict = "effective" if judgment.get("effective") else "not effective"
    return (
        f"JUDGED     {who}: {verdict} (on time {judgment.get('on_time_before')}% -> "
        f"{judgment.get('on_time_after')}%)"
    )


def alert_lines(listing: dict[str, Any]) -> Iterable[str]:
    if not listing["alerts"]:
        yield "no alerts"
    elif listing["total"] > len(listing["alerts"]):
        yield f"the latest {len(listing['alerts'])} of {listing['total']} (--limit N for more)"
    for alert in listing["alerts"]:
        rule = alert["details"].get("rule")
        what = f"{alert['kind']}" + (f" ({rule})" if rule else "")
        to = f" -> {alert['to']}" if alert["to"] else ""
        yield (f"{alert['alert_id']}  {alert['period']}  {alert['organization']:<24} "
               f"{what:<28} {alert['status']}{to}")  # fmt: skip


def message_lines(message: dict[str, Any], html: bool = False) -> Iterable[str]:
    yield f"Message-ID: <{message['message_id']}@spn.alerts>"
    yield f"To: {message['target']} ({message['channel']})"
    yield f"Subject: {message['subject']}"
    attempts = f", {message['attempts']} attempts" if message["attempts"] else ""
    error = f", last error: {message['last_error']}" if message["last_error"] else ""
    yield f"Status: {message['status']}{attempts}{error}"
    yield ""
    yield from (message["html"] if html else message["text"]).rstrip("\n").splitlines()


ANSWER_LABELS = ("name", "organization", "practice", "period", "rule", "level", "verdict",
                 "consumer", "subject", "service", "job", "channel", "outcome")  # fmt: skip


def board_answers(answers: Sequence[Any]) -> Iterable[str]:
    """Each board panel's and rule's answer from Prometheus: its first series' value, or
    what is wrong (no data, an error, a selector that matches nothing)."""
    answered = sum(1 for a in answers if a.answered)
    yield f"{answered} of {len(answers)} queries answered"
    for a in answers:
        if a.error:
            shown = f"ERROR {a.error}"
        elif a.empty:
            shown = "NO SERIES for " + ", ".join(a.empty)
        elif not a.series:
            shown = "NO DATA"
        elif a.expression.kind == "alert":
            shown = "its metrics exist"
        else:
            label = next((f"{k}={a.labels[k]}" for k in ANSWER_LABELS if k in a.labels), "")
            value = "NaN" if a.value is None or a.value != a.value else f"{a.value:,.1f}"
            shown = f"{value:>9}  {label}" + (f" (+{a.series - 1} more)" if a.series > 1 else "")
        yield f"{a.expression.source:<62} {shown}"


def timeline_lines(plan: str, entries: Sequence[dict[str, Any]], missing: Sequence[str]
                   ) -> Iterable[str]:  # fmt: skip
    """One line an entry: recorded when (UTC), [the period it is about], service, what,
    who; the details a reader needs under it (an adjustment's cause and justification and
    changes, a report's outputs, causes, resources, budget and comments)."""
    yield f"History of {plan}: {len(entries)} entries (recorded, UTC; [the period it is about])"
    for e in entries:
        at = str(e["at"]).replace("T", " ")[:19]
        about = f"[{e['effective']}]" if e["effective"] else ""
        who = f"  — {e['who']}" if e["who"] and e["who"] not in e["summary"] else ""
        yield f"  {at}  {about:<9} {e['service']:<6} {e['summary']}{who}"
        yield from _timeline_details(e)
    for line in missing:
        yield f"  (not answered: {line})"


TIMELINE_DETAILS = {
    "plan.adjusted": ("justification", "changes"),
    "status.reported": ("outputs_completed", "cause_and_adjustments", "resources_used",
                        "budget_used", "comments", "evidence"),
    "rollup.support_judged": (),
}


def _timeline_details(entry: dict[str, Any]) -> Iterable[str]:
    for name in TIMELINE_DETAILS.get(entry["kind"], ()):
        value = entry["details"].get(name)
        if value:
            shown = "; ".join(value) if isinstance(value, list) else value
            yield f"{'':33}{name.replace('_', ' ')}: {shown}"


def replay_lines(found: dict[str, Any]) -> Iterable[str]:
    """The plan then: its document's version and status, its figures as known then, its
    open flags and support cases then."""
    doc = found["document"]
    summary = doc["summary"]
    yield f"Plan {found['plan']} as of {found['as_of'].replace('T', ' ')[:19]} UTC"
    yield (f"  version {summary['version']} (recorded {doc['recorded_at'][:19].replace('T', ' ')}"
           f"), {summary['status']}, approved by {doc['approved_by'] or '-'}, "
           f"{doc['adjustments']} adjustment(s)")  # fmt: skip
    for area in doc["plan"]["priority_areas"]:
        for strategy in area["strategies"]:
            milestones = len(strategy["milestones"])
            yield (f"  strategy {strategy['number']} [{strategy['practice']}] if "
                   f"{strategy['theory_of_action']['if']} ({milestones} milestones)")  # fmt: skip
    progress = found["progress"]
    if progress is None or not progress["adopted"]:
        yield "  progress: not yet reported on then (status had not adopted the plan)"
    else:
        yield (f"  progress as known then: {progress['reports_recorded']} reports, "
               f"{len(progress['periods'])} periods closed")  # fmt: skip
        for period, closed in sorted(progress["periods"].items()):
            f = closed["figures"]
            yield (f"    {period}  on time {_pct(f['actions_on_time_pct'])}  behind "
                   f"{_pct(f['actions_behind_pct'])}  completed "
                   f"{_pct(f['actions_completed_pct'])}")  # fmt: skip
        if progress["missing"]:
            yield f"    no report: {', '.join(progress['missing'])}"
        if progress["slipped"]:
            yield f"    milestones slipped: {', '.join(progress['slipped'])}"
    rollup = found["rollup"] or {"flags": {}, "cases": []}
    open_then = sorted(rollup["flags"].items())
    flags = ", ".join(f"{rule} (raised {period})" for rule, period in open_then)
    yield f"  waning flags open then: {flags or 'none'}"
    for case in rollup["cases"]:
        on = f" on {case['practice']}" if case["practice"] else ""
        yield (f"  support case opened {case['opened']} -> {case['addressed_to']}{on}: "
               f"{case['status']}")  # fmt: skip


def diff_lines(found: dict[str, Any]) -> Iterable[str]:
    changes = found["changes"]
    yield (f"{found['plan']}: version {found['from_version']} -> {found['to_version']}, "
           f"{len(changes)} change(s)")  # fmt: skip
    for change in changes:
        field = f"  {change['field']}" if change["field"] else ""
        yield (f"  {change['item']}{field}: {_short(change['before'])} -> "
               f"{_short(change['after'])}")  # fmt: skip


def _short(value: Any, width: int = 60) -> str:
    if value is None:
        return "(none)"
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= width else text[: width - 1] + "…"


def verify_lines(found: Sequence[dict[str, Any]]) -> Iterable[str]:
    for log in found:
        state = "intact" if log["intact"] else "NOT INTACT"
        yield f"{log['service']}: {state}, {log['leaves']} events in its tree ({log['origin']})"
        for name in ("altered", "removed", "inserted"):
            for ref in log[name]:
                what = (f" ({ref['topic'].split(':')[-1]} v{ref['originator_version']} of "
                        f"{ref['originator_id']})" if ref.get("topic") else "")  # fmt: skip
                yield f"  {name}: event {ref['notification_id']}{what}"
        yield "  " + _checkpoints_line(log)
        check = log.get("given")
        if check:
            signed = "signed" if check["signed"] else "SIGNATURE DOES NOT VERIFY"
            matches = "root matches" if check["matches"] else "ROOT DOES NOT MATCH"
            yield f"  given checkpoint, size {check['tree_size']}: {signed}, {matches}"
        if log.get("key_matches") is False:
            yield "  THE SERVICE SIGNS WITH ANOTHER KEY than the one kept"


def proof_lines(found: Sequence[dict[str, Any]]) -> Iterable[str]:
    for service in found:
        size = service["proofs"][0]["tree_size"] if service["proofs"] else "-"
        yield (f"{service['service']}: {len(service['proofs'])} events of {service['plan']} "
               f"in a tree of {size}")  # fmt: skip
        for proof in service["proofs"]:
            event = proof["event"]
            yield (f"  leaf {proof['leaf_index']}: {event['topic'].split(':')[-1]} "
                   f"v{event['originator_version']} ({len(proof['path'])} hashes)")  # fmt: skip
        yield "  checkpoint:"
        for line in service["checkpoint"].splitlines():
            yield f"    {line}"


def _checkpoints_line(log: dict[str, Any]) -> str:
    if not log["checkpoints"]:
        return "NO CHECKPOINT YET: nothing vouches for the log (spn audit checkpoint signs one)"
    failed = log["failed_checkpoints"]
    if not failed:
        return f"{log['checkpoints']} stored checkpoints checked, all signed and matching"
    sizes = ", ".join(str(c["tree_size"]) for c in failed)
    return f"{log['checkpoints']} stored checkpoints checked, {len(failed)} DO NOT HOLD ({sizes})"


def rebuild_lines(found: Sequence[dict[str, Any]]) -> Iterable[str]:
    for service in found:
        state = ("equal to its events" if service["equal"] else
                 "written again from its events" if service["rewritten"] else
                 "DIFFERS from its events")  # fmt: skip
        yield f"{service['service']}: {state}{' (in part)' if service['problems'] else ''}"
        for problem in service["problems"]:
            yield f"  NOT REBUILT {', '.join(service['not_rebuilt'])}: {problem}"
        for table in service["tables"]:
            yield (f"  {table['table']:<18} {table['live']:>7} rows, {table['rebuilt']:>7} "
                   f"rebuilt: {table['missing']} missing, {table['extra']} extra, "
                   f"{table['different']} different")  # fmt: skip
            for example in table["examples"]:
                yield f"    {example}"
        if service["not_covered"]:
            yield f"  not covered (a queue or a record of replies): " \
                  f"{', '.join(service['not_covered'])}"
