"""The rollup service layer: integration events in (with tracking), rollup queries out."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.persistence import ProcessRecorder, Tracking
from eventsourcing.utils import get_topic

from contracts.periods import last_day, plan_year_of, plan_year_periods
from services.rollup import read, replay
from services.rollup import timeline as rollup_timeline
from services.rollup.domain.case_rules import (
    CaseRules,
    cases_to_open,
    closes_since,
    escalation_target,
)
from services.rollup.domain.errors import UnknownMeasureError, UnknownOrganizationError
from services.rollup.domain.interlace import strategy_status
from services.rollup.domain.performance_measure import PerformanceMeasure
from services.rollup.domain.period_judgment import PeriodJudgment
from services.rollup.domain.support_case import (
    SupportCase,
    SupportCaseError,
    active_case_keys,
)
from services.rollup.domain.waning import Flag, PeriodFacts, WaningRules, evaluate
from services.rollup.domain.waning_flags import OrganizationWaning, flag_change
from services.rollup.recorder import RollupMemoryRecorder, RollupReadModels, RollupRecorder, Row
from services.shared import timeline
from services.shared.eventstore import events_of, find, process_recorder, retry_on_conflict
from services.shared.translation import FirstVersions

SELF_ASSESSMENT = "tool-c"
"""The instrument whose areas are the Four Domains' practices."""

OWN_ROWS = "rollup:own-rows"
"""The tracking source of the rows rebuilt from the rollup's own events."""


OWN_TOPICS = [
    get_topic(SupportCase.Opened),  # type: ignore[attr-defined]
    get_topic(OrganizationWaning.Raised),  # type: ignore[attr-defined]
    get_topic(OrganizationWaning.Cleared),  # type: ignore[attr-defined]
    get_topic(PerformanceMeasure.ValueReported),  # type: ignore[attr-defined]
    get_topic(PeriodJudgment.Judged),  # type: ignore[attr-defined]
]
"""The rollup's own events its read-model rows come from."""


class RollupApplication(Application[UUID]):
    name = "rollup"

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        rules: WaningRules | None = None,
        case_rules: CaseRules | None = None,
    ):
        super().__init__(env)
        self.rules = rules or WaningRules()  # the settings' thresholds, for queries too
        self.case_rules = case_rules or CaseRules()

    def construct_recorder(self) -> ProcessRecorder:
        return process_recorder(self, RollupRecorder, RollupMemoryRecorder)

    @property
    def view(self) -> RollupReadModels:
        assert isinstance(self.recorder, RollupReadModels)
        return self.recorder

    def position(self, source: str) -> int:
        assert isinstance(self.recorder, ProcessRecorder)
        return self.recorder.max_tracking_id(source) or 0

    def take(self, tracking: Tracking, rows: Iterable[Row]) -> None:
        """Store a batch's read-model rows with the tracking record of its last message."""
        processing = ProcessingEvent[UUID](tracking=tracking)
        processing.collect_events(view_rows=list(rows))
        self._record(processing)

    def judge_period(self, tracking: Tracking, period: str) -> int:
        """At a period's close (its figures already stored): raise each waning flag once and
        clear the ones that no longer hold; open support cases up the chain; judge supports
        given two closes ago, escalating those that did not work. Returns how many flags
        hold. A period judged already (a replay of the stream) is only tracked."""
        judged = find(self, PeriodJudgment.create_id(period))
        if judged is not None:
            self.take(tracking, [judged.row()])
            return int(judged.flags)
        rules, cases = self.rules, self.case_rules
        supported = [c for c in self.support_cases(status="supported") if c["support"]]
        given = {c["support"]["period"] for c in supported}
        facts, orgs = read.period_facts(
            self.view, period, window=max(rules.declining_falls, rules.lag_periods), also=given
        )
        # plan-level figures decide who is flagged; strategies only name what is involved,
        # so they are read for the flagged and for the schools of practice cases judged
        flagged = {flag.organization for flag in evaluate(facts, rules)}
        schools = {
            o for c in supported if c["practice"] for o in read.beneath(c["recipient"], orgs)
        }
        facts = read.with_strategies(
            self.view, facts, flagged | schools, [period, *facts.previous[:1], *given]
        )
        flags = evaluate(facts, rules)
        by_org: dict[str, list[Flag]] = {}
        for flag in flags:
            by_org.setdefault(flag.organization, []).append(flag)
        judgment = PeriodJudgment(period=period, flags=len(flags))
        changed: list[Any] = [judgment]
        rows: list[Row] = [judgment.row()]
        for org in sorted(set(by_org) | self.view.organizations_with_raised_flags()):
            waning = self._waning(org)
            rows += [("waning", c) for c in waning.judge(period, by_org.get(org, []))]
            changed.append(waning)
        changed += self._open_cases(period, by_org, orgs, cases)
        changed += self._judge_supports(period, facts, orgs, cases)
        processing = ProcessingEvent[UUID](tracking=tracking)
        processing.collect_events(*changed, view_rows=rows + read.case_rows(changed))
        self._notify(self._record(processing))
        return len(flags)

    # -- support cases ---------------------------------------------------------------------

    @retry_on_conflict
    def provide_support(
        self, case_id: UUID, *, provider: str, practice: str | None, on: date, what: str, by: str
    ) -> SupportCase:
        case = self._case(case_id)
        if case is None or provider not in self.view.lineage(case.recipient):
            raise SupportCaseError(f"support case {case_id} does not exist, or is not of "
                                   f"{provider} or an organization beneath it")  # fmt: skip
        case.provide(
            provider=provider,
            practice=practice,
            on=on.isoformat(),
            period=f"{on.year}-{on.month:02d}",
            what=what,
            by=by,
            plan_year=plan_year_of(case.opened),
        )
        self.save(case, view_rows=read.case_rows([case]))
        return case

    # -- outcome data ----------------------------------------------------------------------

    @retry_on_conflict
    def report_measure(self, plan: str, measure: str, period: str, value: float, by: str) -> bool:
        """Record a measure's value for a month (YYYY-MM) or a plan year (year:YYYY-YY), as
        an event; False when that very value was recorded already."""
        found = self.view.measure(plan, measure)
        if found is None:
            raise UnknownMeasureError(f"plan {plan} (as approved) has no measure {measure}")
        aggregate = find(self, PerformanceMeasure.create_id(plan, measure)) or PerformanceMeasure(
            plan=plan, measure=measure, organization=found["organization"]
        )
        if not aggregate.report(period=period, value=value, by=by):
            return False
        self.save(aggregate, view_rows=[read.measure_value_row(plan, measure, period, value, by)])
        return True

    def interlaced(self, organization: str, period: str | None) -> list[dict[str, Any]]:
        """The organization's own plan, strategy by strategy: figures beside measures."""
        figures = {
            r["strategy"]: r
            for r in (self.view.strategy_figures([period], [organization]) if period else [])
        }
        result = []
        for owner, mine, shown in self._measures(organization, period, "strategy"):
            row = figures.get(owner)
            if row is None:
                continue
            status = strategy_status(
                row["figures"],
                [(m, v["value"]) for m, v in zip(mine, shown, strict=True)],
                mine[0]["plan_year"],
                behind_pct=self.rules.behind_pct,
            )
            result.append({"number": owner, "practice": row["practice"], "status": status,
                           "figures": row["figures"], "measures": shown})  # fmt: skip
        return result

    def goal_measures(self, organization: str, period: str | None) -> list[dict[str, Any]]:
        """The organization's own plan's goal measures, goal by goal, as of a period."""
        return [
            {"number": owner, "measures": shown}
            for owner, _, shown in self._measures(organization, period, "goal")
        ]

    def _measures(
        self, organization: str, period: str | None, kind: str
    ) -> list[tuple[str, list[dict[str, Any]], list[dict[str, Any]]]]:
        """(number, measures, values shown) of each goal or strategy, in Tool A order, of the
        plan of the period's plan year (no period: the latest plan year)."""
        measures = [m for m in self.view.measures_of(organization)
                    if m["owner"].startswith(f"{kind}:")]  # fmt: skip
        years = {m["plan_year"] for m in measures}
        year = plan_year_of(period) if period else max(years, default=None)
        measures = [m for m in measures if m["plan_year"] == year]
        values = self.view.measure_values(sorted({m["plan_key"] for m in measures}))
        by_owner: dict[str, list[dict[str, Any]]] = {}
        for m in sorted(measures, key=lambda m: _tool_a_order(m["measure"])):
            by_owner.setdefault(m["owner"].split(":")[1], []).append(m)
        return [
            (number, mine, [read.measure_value(m, values, period) for m in mine])
            for number, mine in sorted(by_owner.items(), key=lambda o: _tool_a_order(o[0]))
        ]

    def practice_outcomes(self, strategies: list[dict[str, Any]], period: str
                          ) -> dict[str, dict[str, int]]:  # fmt: skip
        """Per practice, the strategy measures of these strategies (rows of the period):
        how many, how many have a value up to the period, how many are on target."""
        practice = {(r["plan_key"], r["strategy"]): r["practice"] for r in strategies}
        plans = sorted({r["plan_key"] for r in strategies})
        measures = [m for m in self.view.measures_of_plans(plans)
                    if m["owner"].startswith("strategy:")
                    and (m["plan_key"], m["owner"].split(":")[1]) in practice]  # fmt: skip
        values: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for value in self.view.measure_values(plans):  # grouped once: each measure its own
            values.setdefault((value["plan_key"], value["measure"]), []).append(value)
        result: dict[str, dict[str, int]] = {}
        for measure in measures:
            mine = values.get((measure["plan_key"], measure["measure"]), [])
            shown = read.measure_value(measure, mine, period)
            coded = practice[measure["plan_key"], measure["owner"].split(":")[1]]
            counts = result.setdefault(coded, {"measures": 0, "reported": 0, "on_target": 0})
            counts["measures"] += 1
            counts["reported"] += shown["value"] is not None
            counts["on_target"] += shown["on_target"] is True
        return result

    def self_assessed(self, organizations: list[str], period: str | None
                      ) -> list[dict[str, Any]]:  # fmt: skip
        """Per practice, how many of these organizations rated it at each level in their
        latest Tool C self-assessment up to the period's end (no period: the latest)."""
        up_to = last_day(period).isoformat() if period else "9999-12-31"
        latest = self.view.latest_assessments(SELF_ASSESSMENT, organizations, up_to)
        counts: dict[str, dict[str, int]] = {}
        for row in latest.values():
            for area in row["areas"]:
                levels = counts.setdefault(area["area"], {str(n): 0 for n in range(1, 5)})
                levels[str(area["level"])] = levels.get(str(area["level"]), 0) + 1
        return [{"practice": practice, "organizations": sum(levels.values()), "levels": levels}
                for practice, levels in sorted(counts.items())]  # fmt: skip

    def own_rows(self, page: int = 500) -> list[Row]:
        """The rows of the rollup's own aggregates (cases, flags, measure values, judged
        periods), as the event store gives them."""
        whose = {"flag": FirstVersions(self.repository, ("organization",)),
                 "measure": FirstVersions(self.repository, ("plan", "measure"))}  # fmt: skip
        start, rows = 1, list[Row]()
        while notifications := self.recorder.select_notifications(start, page,
                                                                  topics=OWN_TOPICS):  # fmt: skip
            rows += [self._own_row(n, whose) for n in notifications]
            start = notifications[-1].id + 1
        return rows

    def rebuild_own_rows(self, page: int = 500) -> int:
        """Write the read-model rows of the rollup's own aggregates (cases, flags, measure
        values, judged periods) from its event store, a page at a time, from where the last
        rebuild got to (``OWN_ROWS``, tracked with the rows): after the read models were
        dropped (the tracking with them), a replay of the events stream raises nothing
        again, so these rows come from the events already stored. Returns how many."""
        topics = OWN_TOPICS
        whose = {"flag": FirstVersions(self.repository, ("organization",)),
                 "measure": FirstVersions(self.repository, ("plan", "measure"))}  # fmt: skip
        start, written = self.position(OWN_ROWS) + 1, 0
        while notifications := self.recorder.select_notifications(start, page, topics=topics):
            rows = [self._own_row(n, whose) for n in notifications]
            self.take(Tracking(OWN_ROWS, notifications[-1].id), rows)
            written += len(notifications)
            start = notifications[-1].id + 1
        return written

    def _own_row(self, notification: Any, whose: dict[str, FirstVersions]) -> Row:
        event: Any = self.mapper.to_domain_event(notification)
        if isinstance(event, SupportCase.Opened):  # type: ignore[attr-defined]
            case = self._case(event.originator_id)
            assert case is not None
            return "support_cases", read.case_row(case)
        if isinstance(event, PeriodJudgment.Judged):  # type: ignore[attr-defined]
            return "judged_periods", {"period": event.period, "flags": event.flags}
        if isinstance(event, PerformanceMeasure.ValueReported):  # type: ignore[attr-defined]
            measure = whose["measure"].of(event)
            return read.measure_value_row(
                measure["plan"], measure["measure"], event.period, event.value, event.by
            )
        organization = whose["flag"].of(event)["organization"]
        if isinstance(event, OrganizationWaning.Raised):  # type: ignore[attr-defined]
            return "waning", flag_change(
                organization,
                "raised",
                event.rule,
                event.period,
                event.evidence,
                event.strategies,
            )
        return "waning", flag_change(organization, "cleared", event.rule, event.period)

    def support_cases(
        self, organization: str | None = None, status: str | None = None
    ) -> list[dict[str, Any]]:
        return self.view.support_cases(organization, status)

    def _open_cases(
        self,
        period: str,
        by_org: dict[str, list[Flag]],
        orgs: dict[str, dict[str, Any]],
        rules: CaseRules,
    ) -> list[SupportCase]:
        active = active_case_keys(self.support_cases())
        opened = []
        for wanted in cases_to_open(by_org, orgs, active, rules):
            case = self._new_case(*wanted.key, period, wanted.practices, wanted.reasons)
            if case is not None:
                opened.append(case)
        return opened

    def _judge_supports(
        self, period: str, facts: PeriodFacts, orgs: dict[str, dict[str, Any]], rules: CaseRules
    ) -> list[SupportCase]:
        changed: list[SupportCase] = []
        closed = [period, *facts.previous]
        for row in self.support_cases(status="supported"):
            case = self._case(row["case_id"])
            assert case is not None and case.support is not None
            since = closes_since(closed, case.support["period"], period)
            if not case.due_for_judgment(since, rules.effectiveness):
                continue
            before = read.on_time(facts, case, case.support["period"])
            after = read.on_time(facts, case, period)
            changed.append(case)
            if case.judge(period=period, before=before, after=after, rule=rules.effectiveness):
                continue
            higher = escalation_target(case.addressed_to, orgs)
            if higher:
                case.escalate(to=higher, period=period)
                escalated = self._new_case(
                    case.recipient,
                    higher,
                    case.practice,
                    period,
                    case.practices,
                    ["ineffective support"],
                    case.id,
                )
                if escalated is not None:
                    changed.append(escalated)
        return changed

    def _new_case(
        self,
        recipient: str,
        addressed_to: str,
        practice: str | None,
        period: str,
        practices: list[str],
        reasons: list[str],
        escalated_from: UUID | None = None,
    ) -> SupportCase | None:
        """A new case, unless this very case exists already (a rebuild judges again)."""
        if self._case(SupportCase.create_id(recipient, addressed_to, practice, period)):
            return None
        return SupportCase(
            recipient=recipient,
            addressed_to=addressed_to,
            practice=practice,
            opened=period,
            practices=practices,
            reasons=reasons,
            escalated_from=str(escalated_from) if escalated_from else None,
        )

    def _case(self, case_id: UUID) -> SupportCase | None:
        return find(self, case_id)

    def _waning(self, organization: str) -> OrganizationWaning:
        found = find(self, OrganizationWaning.create_id(organization))
        return found or OrganizationWaning(organization=organization)

    # -- queries ---------------------------------------------------------------------------

    def rollup_as_of(self, key: str, moment: datetime) -> dict[str, Any]:
        """The plan's organization's open flags (of the plan's year) and its support
        cases as they stood at ``moment``, rebuilt from their events."""
        organization, plan_year = key.split("/", 1)
        periods = set(plan_year_periods(plan_year))
        waning = events_of(self, OrganizationWaning.create_id(organization))
        cases = []
        for case in self._cases_of_year(organization, periods):
            status = replay.case_status_as_of(events_of(self, case["case_id"]), moment)
            if status is not None:
                kept = {k: case[k] for k in ("addressed_to", "practice", "opened")}
                cases.append({"case_id": str(case["case_id"]), "status": status, **kept})
        flags = replay.flags_as_of(waning, moment, periods)
        return {"plan": key, "as_of": moment, "flags": flags, "cases": cases}

    def timeline(self, key: str) -> list[dict[str, Any]]:
        """The plan's organization's flags and support cases in the plan's year, and the
        plan's measure values, as timeline entries."""
        organization, plan_year = key.split("/", 1)
        if organization not in self.view.organizations():
            raise UnknownOrganizationError(f"organization {organization} is not known to rollup")
        periods = {*plan_year_periods(plan_year), f"year:{plan_year}"}
        ids = self.plan_aggregates(key)
        events = [event for aggregate_id in ids for event in events_of(self, aggregate_id)]
        found = timeline.entries(events, rollup_timeline.DESCRIBED)
        return [e for e in found if e["effective"] in periods]

    def plan_aggregates(self, key: str) -> list[UUID]:
        """The plan's organization's flags, its support cases of the plan's year and the
        plan's measures."""
        organization, plan_year = key.split("/", 1)
        periods = set(plan_year_periods(plan_year))
        ids = [OrganizationWaning.create_id(organization)]
        ids += [c["case_id"] for c in self._cases_of_year(organization, periods)]
        ids += [PerformanceMeasure.create_id(key, m["measure"])
                for m in self.view.measures_of(organization) if m["plan_key"] == key]  # fmt: skip
        return ids

    def _cases_of_year(self, organization: str, periods: set[str]) -> list[dict[str, Any]]:
        """The support cases of an organization opened in one of these periods."""
        return [c for c in self.view.support_cases(organization)
                if c["recipient"] == organization and c["opened"] in periods]  # fmt: skip

    def list_flags(self, organization: str | None, period: str | None) -> list[dict[str, Any]]:
        """Flags of an organization and all beneath it (None: every one), in one period or
        all."""
        orgs = self.view.organizations()
        if organization is not None and organization not in orgs:
            raise UnknownOrganizationError(f"organization {organization} is not known to rollup")
        codes = [organization, *read.beneath(organization, orgs)] if organization else list(orgs)
        return self.view.flags(codes, period)

    def rollup(self, code: str | None, period: str | None) -> dict[str, Any]:
        """Figures of an organization, its children and its practices, for one period."""
        orgs = self.view.organizations()
        root = code or next((c for c, o in orgs.items() if o["parent"] is None), None)
        if root is None or root not in orgs:
            raise UnknownOrganizationError(f"organization {code or '(SEA)'} is not known to rollup")
        schools = read.schools_beneath(root, orgs)
        periods = self.view.periods_closed(organizations=[*schools, root])
        asked = period  # no period: the latest assessments, not those up to the last close
        period = period or (periods[-1] if periods else None)
        plans = self.view.plan_figures([period]) if period else []
        by_org = {p["organization"]: p["figures"] for p in plans}
        strategies = self.view.strategy_figures([period], sorted(schools)) if period else []
        children = [c for c, o in orgs.items() if o["parent"] == root]
        flags = self.view.flags([root, *read.beneath(root, orgs)], period) if period else []
        assessed = self.self_assessed([root, *read.beneath(root, orgs)], asked)
        return {
            "organization": read.figures_of(root, orgs, schools, by_org),
            "period": period,
            "periods": periods,
            "own_plan": by_org.get(root),
            "rows": [
                read.figures_of(c, orgs, read.schools_beneath(c, orgs), by_org) for c in children
            ],
            "practices": read.by_practice(
                strategies,
                [f for f in flags if f["organization"] in schools],
                self.rules.behind_pct,
                self.practice_outcomes(strategies, period) if period else {},
                {a["practice"]: a for a in assessed},
            ),
            "self_assessed": assessed,
            "domains": read.by_domain(strategies),
            "strategies": self.interlaced(root, period) if period else [],
            "goals": self.goal_measures(root, period),
            "judged": self.view.judged(period) if period else False,
            "flags": flags,
        }


def _tool_a_order(number: str) -> list[int]:
    """``"1.10"`` after ``"1.9"``; ``"strategy:1.2:3"`` by its numbers."""
    return [int(x) for x in number.replace(":", ".").split(".") if x.isdigit()]
