"""The rollup service layer: integration events in (with tracking), rollup queries out."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.persistence import ProcessRecorder, Tracking
from eventsourcing.utils import get_topic

from services.rollup import read
from services.rollup.domain.errors import UnknownMeasureError, UnknownOrganizationError
from services.rollup.domain.interlace import strategy_status
from services.rollup.domain.support_case import (
    EffectivenessRule,
    SupportCase,
    SupportCaseError,
    active_case_keys,
)
from services.rollup.domain.waning import Flag, PeriodFacts, WaningRules, evaluate
from services.rollup.domain.waning_flags import OrganizationWaning
from services.rollup.recorder import RollupRecorder, Row
from services.shared.eventstore import find, process_recorder, retry_on_conflict


@dataclass(frozen=True)
class CaseRules:
    schools_per_practice: int = 3
    effectiveness: EffectivenessRule = field(default_factory=EffectivenessRule)


class RollupApplication(Application[UUID]):
    name = "rollup"

    def __init__(self, env: Mapping[str, str] | None = None, rules: WaningRules | None = None):
        super().__init__(env)
        self.rules = rules or WaningRules()  # the settings' thresholds, for queries too

    def construct_recorder(self) -> ProcessRecorder:
        return process_recorder(self, RollupRecorder)

    @property
    def view(self) -> RollupRecorder:
        assert isinstance(self.recorder, RollupRecorder)
        return self.recorder

    def position(self, source: str) -> int:
        return self.view.max_tracking_id(source) or 0

    def take(self, source: str, last_sequence: int, rows: Iterable[Row]) -> None:
        """Store a batch's read-model rows with the tracking record of its last message."""
        processing = ProcessingEvent[UUID](tracking=Tracking(source, last_sequence))
        processing.collect_events(view_rows=list(rows))
        self._record(processing)

    def judge_period(
        self,
        source: str,
        sequence: int,
        period: str,
        rules: WaningRules,
        cases: CaseRules = CaseRules(),
    ) -> int:
        """At a period's close (its figures already stored): raise each waning flag once and
        clear the ones that no longer hold; open support cases up the chain; judge supports
        given two closes ago, escalating those that did not work. Returns how many flags
        hold."""
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
        changed: list[Any] = []
        rows: list[Row] = [("judged_periods", {"period": period, "flags": len(flags)})]
        for org in sorted(set(by_org) | read.organizations_with_raised_flags(self.view)):
            waning = self._waning(org)
            rows += [("waning", c) for c in waning.judge(period, by_org.get(org, []))]
            changed.append(waning)
        changed += self._open_cases(period, by_org, orgs, cases)
        changed += self._judge_supports(period, facts, orgs, cases)
        processing = ProcessingEvent[UUID](tracking=Tracking(source, sequence))
        processing.collect_events(*changed, view_rows=rows + read.case_rows(changed))
        self._notify(self._record(processing))
        return len(flags)

    # -- support cases ---------------------------------------------------------------------

    @retry_on_conflict
    def provide_support(
        self, case_id: UUID, *, provider: str, practice: str | None, on: date, what: str, by: str
    ) -> SupportCase:
        case = self._case(case_id)
        if case is None:
            raise SupportCaseError(f"support case {case_id} does not exist")
        plans = self.view.select(
            "plan_periods", "organization = %(o)s AND period = %(p)s", columns="plan_key",
            o=case.recipient, p=case.opened,
        )  # fmt: skip
        case.provide(
            provider=provider,
            practice=practice,
            on=on.isoformat(),
            period=f"{on.year}-{on.month:02d}",
            what=what,
            by=by,
            plan_year=plans[0]["plan_key"].split("/", 1)[1] if plans else None,
        )
        self.save(case, view_rows=read.case_rows([case]))
        return case

    # -- outcome data ----------------------------------------------------------------------

    def report_measure(self, plan: str, measure: str, period: str, value: float, by: str) -> None:
        """Store a measure's value for a month (YYYY-MM) or a plan year (year:YYYY-YY)."""
        found = self.view.select(
            "measures", "plan_key = %(p)s AND measure = %(m)s", p=plan, m=measure
        )
        if not found:
            raise UnknownMeasureError(f"plan {plan} (as approved) has no measure {measure}")
        row = {
            "plan_key": plan,
            "measure": measure,
            "period": period,
            "value": value,
            "reported_by": by,
        }
        self.view.upsert([("measure_values", row)])

    def interlaced(self, organization: str, period: str | None) -> list[dict[str, Any]]:
        """The organization's own plan, strategy by strategy: figures beside measures."""
        figures = {
            r["strategy"]: r
            for r in self.view.select(
                "strategy_periods",
                "organization = %(o)s AND period = %(p)s",
                o=organization,
                p=period,
            )
        }
        measures = self.view.select("measures", "organization = %(o)s", o=organization)
        keys = {m["plan_key"] for m in measures}
        values = self.view.select("measure_values", "plan_key = ANY(%(k)s)", k=list(keys))
        result = []
        for owner in sorted(
            {m["owner"] for m in measures if m["owner"].startswith("strategy:")},
            key=lambda o: [int(x) for x in o.split(":")[1].split(".")],
        ):
            number = owner.split(":")[1]
            mine = [m for m in measures if m["owner"] == owner]
            row = figures.get(number)
            shown = [read.measure_value(m, values, period) for m in mine]
            status = strategy_status(
                row["figures"] if row else None,
                [(m, v["value"]) for m, v in zip(mine, shown, strict=True)],
                mine[0]["plan_year"],
                behind_pct=self.rules.behind_pct,
            )
            practice = row["practice"] if row else None
            result.append(
                {
                    "number": number,
                    "practice": practice,
                    "status": status,
                    "figures": row["figures"] if row else None,
                    "measures": shown,
                }
            )
        return [r for r in result if r["practice"] is not None]

    def rebuild_own_rows(self, page: int = 500) -> int:
        """Write the read-model rows of the rollup's own aggregates (cases, flags) from its
        event store: after the read models were dropped, a replay of the events stream
        raises nothing again, so these rows come from the events already stored."""
        topics = [
            get_topic(SupportCase.Opened),  # type: ignore[attr-defined]
            get_topic(OrganizationWaning.Raised),  # type: ignore[attr-defined]
            get_topic(OrganizationWaning.Cleared),  # type: ignore[attr-defined]
        ]
        start, rows = 1, []
        while notifications := self.recorder.select_notifications(start, page, topics=topics):
            rows += [self._own_row(n) for n in notifications]
            start = notifications[-1].id + 1
        self.view.upsert(rows)
        return len(rows)

    def _own_row(self, notification: Any) -> Row:
        event: Any = self.mapper.to_domain_event(notification)
        if isinstance(event, SupportCase.Opened):  # type: ignore[attr-defined]
            case = self._case(event.originator_id)
            assert case is not None
            return "support_cases", read.case_row(case)
        waning: OrganizationWaning = self.repository.get(event.originator_id, version=1)
        if isinstance(event, OrganizationWaning.Raised):  # type: ignore[attr-defined]
            return "waning", waning.change(
                "raised", event.rule, event.period, event.evidence, event.strategies
            )
        return "waning", waning.change("cleared", event.rule, event.period)

    def flags(self, organizations: list[str], period: str) -> list[dict[str, Any]]:
        return self.view.select(
            "waning",
            "organization = ANY(%(o)s) AND period = %(p)s ORDER BY organization, rule",
            o=organizations,
            p=period,
        )

    def judged(self, period: str) -> bool:
        return bool(self.view.select("judged_periods", "period = %(p)s", p=period))

    def support_cases(
        self, organization: str | None = None, status: str | None = None
    ) -> list[dict[str, Any]]:
        return self.view.select(
            "support_cases",
            "(%(org)s::text IS NULL OR recipient = %(org)s OR addressed_to = %(org)s) "
            "AND (%(status)s::text IS NULL OR status = %(status)s) ORDER BY opened, recipient",
            org=organization,
            status=status,
        )

    def _open_cases(
        self,
        period: str,
        by_org: dict[str, list[Flag]],
        orgs: dict[str, dict[str, Any]],
        rules: CaseRules,
    ) -> list[SupportCase]:
        active = active_case_keys(self.support_cases())
        wanted: dict[tuple[str, str, str | None], tuple[list[str], list[str]]] = {}
        schools_by_practice: dict[tuple[str, str], set[str]] = {}
        for org, flags in by_org.items():
            parent = orgs.get(org, {}).get("parent")
            practices = sorted({s["practice"] for f in flags for s in f.strategies})
            if parent:
                wanted[(org, parent, None)] = (practices, sorted({f.rule for f in flags}))
            if orgs.get(org, {}).get("kind") == "SCHOOL" and parent:
                for practice in practices:
                    schools_by_practice.setdefault((parent, practice), set()).add(org)
        for (lea, practice), schools in schools_by_practice.items():
            sea = orgs.get(lea, {}).get("parent")
            if sea and len(schools) >= rules.schools_per_practice:
                reason = (
                    f"{len(schools)} schools waning on {practice}: {', '.join(sorted(schools))}"
                )
                wanted[(lea, sea, practice)] = ([practice], [reason])
        opened = []
        for (recipient, addressed_to, about), (practices, reasons) in sorted(
            wanted.items(), key=lambda item: (item[0][0], item[0][1], item[0][2] or "")
        ):
            if (recipient, addressed_to, about) in active:
                continue
            case = self._new_case(recipient, addressed_to, about, period, practices, reasons)
            if case is not None:
                opened.append(case)
        return opened

    def _judge_supports(
        self, period: str, facts: PeriodFacts, orgs: dict[str, dict[str, Any]], rules: CaseRules
    ) -> list[SupportCase]:
        changed: list[SupportCase] = []
        closed = sorted([period, *facts.previous])
        for row in self.support_cases(status="supported"):
            case = self._case(row["case_id"])
            assert case is not None and case.support is not None
            since = [p for p in closed if case.support["period"] < p <= period]
            if not case.due_for_judgment(len(since), rules.effectiveness):
                continue
            before = read.on_time(facts, case, case.support["period"])
            after = read.on_time(facts, case, period)
            changed.append(case)
            if case.judge(period=period, before=before, after=after, rule=rules.effectiveness):
                continue
            higher = orgs.get(case.addressed_to, {}).get("parent")
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

    def rollup(self, code: str | None, period: str | None) -> dict[str, Any]:
        """Figures of an organization, its children and its practices, for one period."""
        orgs = {o["code"]: o for o in self.view.select("organizations")}
        root = code or next((c for c, o in orgs.items() if o["parent"] is None), None)
        if root is None or root not in orgs:
            raise UnknownOrganizationError(f"organization {code or '(SEA)'} is not known to rollup")
        schools = read.schools_beneath(root, orgs)
        periods = sorted(
            {
                r["period"]
                for r in self.view.select(
                    "plan_periods", "organization = ANY(%(codes)s)", codes=[*schools, root]
                )
            }
        )
        period = period or (periods[-1] if periods else None)
        plans = self.view.select("plan_periods", "period = %(p)s", p=period)
        by_org = {p["organization"]: p["figures"] for p in plans}
        strategies = self.view.select(
            "strategy_periods",
            "period = %(p)s AND organization = ANY(%(codes)s)",
            p=period,
            codes=list(schools),
        )
        children = [c for c, o in orgs.items() if o["parent"] == root]
        return {
            "organization": read.figures_of(root, orgs, schools, by_org),
            "period": period,
            "periods": periods,
            "own_plan": by_org.get(root),
            "rows": [
                read.figures_of(c, orgs, read.schools_beneath(c, orgs), by_org) for c in children
            ],
            "practices": read.by_practice(strategies),
            "domains": read.by_domain(strategies),
            "strategies": self.interlaced(root, period) if period else [],
            "judged": self.judged(period) if period else False,
            "flags": self.flags([root, *read.beneath(root, orgs)], period) if period else [],
        }
