"""The rollup's domain metrics: the network's figures as Prometheus gauges, computed from
its read models by a background task (when a batch changed them, at most every few
seconds) and served from memory, so a scrape never waits on the database.

Label cardinality is bounded by the network's shape, not by its schools: every series of
the SEA and of each LEA; per-school and per-strategy series only for the schools on the
watch list (an open waning flag or support case, or one this year; at most
``watch_limit`` of them, those still open and the furthest behind first); practices
state-wide (12); periods state-wide (the last ``periods_kept``). Per-school figures of
every school stay in SQL (``spn rollup``)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from services.rollup.domain.figures import combine, domain_of
from services.rollup.read import by_practice
from services.rollup.recorder import RollupReadModels
from services.shared.tasks import Heartbeat

log = logging.getLogger(__name__)
Record = dict[str, Any]
ORG_LABELS = ("organization", "name", "parent", "level")
PERCENTS = {
    "actions_completed_percent": ("actions_completed_pct", "Actions completed, % of the plan's"),
    "actions_on_time_percent": ("actions_on_time_pct", "Due actions completed on time, %"),
    "actions_behind_percent": ("actions_behind_pct", "Due actions not complete, %"),
}
COUNTS = {
    "milestones_completed": ("milestones_completed", "Milestones completed"),
    "milestones_behind": ("milestones_behind", "Milestones past their date, not complete"),
}
RULES = ("behind", "lagging", "declining", "silent", "milestone_slipped")
ACTIVE_CASES = ("open", "supported")
LEVELS = ("SEA", "LEA", "SCHOOL")


@dataclass
class Gauges:
    """One gauge family being filled."""

    name: str
    help: str
    labels: Sequence[str]
    samples: dict[tuple[str, ...], float] = field(default_factory=dict)

    def set(self, labels: Iterable[str], value: float | None) -> None:
        if value is not None:
            self.samples[tuple(labels)] = float(value)

    def add(self, labels: Iterable[str], value: float = 1.0) -> None:
        key = tuple(labels)
        self.samples[key] = self.samples.get(key, 0.0) + value

    def family(self) -> GaugeMetricFamily:
        family = GaugeMetricFamily(self.name, self.help, labels=list(self.labels))
        for labels, value in sorted(self.samples.items()):
            family.add_metric(list(labels), value)
        return family


def gauges(prefix: str, table: Mapping[str, tuple[str, str]], about: str,
           labels: Sequence[str]) -> dict[str, Gauges]:  # fmt: skip
    """One family per figure of ``table`` (name -> (figure, help))."""
    return {n: Gauges(f"{prefix}_{n}", help_ + about, labels) for n, (_, help_) in table.items()}


class DomainCollector(Collector):
    """Serves the last families computed (none until the first)."""

    def __init__(self, registry: CollectorRegistry):
        self.families: list[Metric] = []
        registry.register(self)

    def describe(self) -> list[Metric]:
        return []  # names vary with the network: not checked at registration

    def collect(self) -> Iterator[Metric]:
        yield from self.families


class DomainExporter:
    """Recomputes the families when told the read models changed, at most every
    ``interval`` seconds."""

    def __init__(self, view: RollupReadModels, collector: DomainCollector, behind_pct: float,
                 watch_limit: int, periods_kept: int, interval: float):  # fmt: skip
        self.view = view
        self.collector = collector
        self.behind_pct = behind_pct
        self.watch_limit = watch_limit
        self.periods_kept = periods_kept
        self.interval = interval
        self.heartbeat = Heartbeat()
        self._changed = True

    def changed(self) -> None:
        """The read models changed (safe from any thread)."""
        self._changed = True

    async def run(self) -> None:
        while True:
            if self._changed:
                self._changed = False  # a change during the computation computes again
                try:
                    with self.heartbeat.busy():
                        self.collector.families = await asyncio.to_thread(self.compute)
                except Exception:
                    self._changed = True  # its supervisor restarts it: compute again then
                    raise
            self.heartbeat.well()
            await asyncio.sleep(self.interval)

    def compute(self) -> list[Metric]:
        network = Network.read(self.view, self.periods_kept)
        watched = network.watched(self.watch_limit)
        families = [
            *org_families(network, watched),
            *practice_families(network, self.view, self.behind_pct),
            *strategy_families(network, self.view, watched),
            *case_families(network),
            *period_families(network),
        ]
        return [f.family() for f in families]


@dataclass
class Network:
    """What one computation reads: organizations, the periods closed and their plans'
    figures, the open flags, the support cases."""

    orgs: dict[str, Record]
    periods: list[str]
    figures: dict[str, dict[str, Record]]  # period -> organization -> its plan's figures
    missing: dict[str, set[str]]  # period -> organizations whose report was missing
    open_flags: set[tuple[str, str]]
    cases: list[Record]
    raised: set[str]  # organizations flagged in a period kept

    @classmethod
    def read(cls, view: RollupReadModels, periods_kept: int) -> Network:
        periods = view.periods_closed()[-periods_kept:]
        figures: dict[str, dict[str, Record]] = {p: {} for p in periods}
        for row in view.plan_figures(periods):
            figures[row["period"]][row["organization"]] = row["figures"]
        orgs = view.organizations()
        raised = {f["organization"] for f in view.flags_in(periods) if f["change"] == "raised"}
        return cls(
            orgs=orgs, periods=periods, figures=figures,
            missing={p: view.missing_reports(p) for p in periods},
            open_flags=view.open_flags(), cases=view.support_cases(), raised=raised,
        )  # fmt: skip

    @property
    def latest(self) -> str | None:
        return self.periods[-1] if self.periods else None

    def latest_figures(self) -> dict[str, Record]:
        return self.figures[self.latest] if self.latest else {}

    def schools(self) -> list[str]:
        return sorted(c for c, o in self.orgs.items() if o["kind"] == "SCHOOL")

    def ancestors(self, code: str) -> list[str]:
        """The organizations above, nearest first."""
        found, parent = [], self.orgs.get(code, {}).get("parent")
        while parent is not None and parent in self.orgs and parent not in found:
            found.append(parent)
            parent = self.orgs[parent].get("parent")
        return found

    def labels(self, code: str) -> tuple[str, str, str, str]:
        org = self.orgs[code]
        return code, org["name"], org["parent"] or "", org["kind"]

    def active_case_recipients(self) -> set[str]:
        return {c["recipient"] for c in self.cases if c["status"] in ACTIVE_CASES}

    def watched(self, limit: int) -> list[str]:
        """Schools with an open flag or case, then those flagged or with a case opened
        in a period kept (recovered this year), each the furthest behind first."""
        schools = {c for c, o in self.orgs.items() if o["kind"] == "SCHOOL"}
        now = {org for org, _ in self.open_flags} | self.active_case_recipients()
        kept = set(self.periods)
        recent = self.raised | {c["recipient"] for c in self.cases if c["opened"] in kept}
        figures = self.latest_figures()

        def order(code: str) -> tuple[bool, float, str]:
            return code not in now, -(figures.get(code, {}).get("actions_behind_pct") or 0.0), code

        return sorted(schools & (now | recent), key=order)[:limit]


def org_families(network: Network, watched: list[str]) -> list[Gauges]:
    """The figures of the SEA, each LEA and each watched school, of the latest period;
    their open flags by rule and their open cases (each of theirs or beneath them)."""
    shown = [c for c, o in network.orgs.items() if o["kind"] != "SCHOOL"] + watched
    shown_set = set(shown)
    latest = network.latest_figures()
    schools_of: dict[str, list[str]] = {c: [] for c in shown}
    for school in network.schools():
        for above in network.ancestors(school):
            if above in shown_set:
                schools_of[above].append(school)

    def counted_by(org: str) -> list[str]:
        """Who counts what is of ``org``: itself and those above it that are shown."""
        return [o for o in (org, *network.ancestors(org)) if o in shown_set]

    percents = gauges("spn_org", PERCENTS, " (latest period closed; a LEA or SEA: its "
                      "schools together)", ORG_LABELS)  # fmt: skip
    counts = gauges("spn_org", COUNTS, " (latest period closed)", ORG_LABELS)
    plans = Gauges("spn_org_school_plans", "School plans with figures in the latest period "
                   "closed", ORG_LABELS)  # fmt: skip
    flags = Gauges("spn_org_waning_flags", "Waning flags open (raised, not cleared), of the "
                   "organization and those beneath it", (*ORG_LABELS, "rule"))  # fmt: skip
    cases = Gauges("spn_org_support_cases_open", "Support cases open or supported, of the "
                   "organization and those beneath it", ORG_LABELS)  # fmt: skip
    for code in shown:
        labels = network.labels(code)
        mine = [code] if code in watched else schools_of[code]
        figures = combine(latest[s] for s in mine if s in latest)
        if figures is not None:
            for name, (key, _) in PERCENTS.items():
                percents[name].set(labels, figures[key])
            for name, (key, _) in COUNTS.items():
                counts[name].set(labels, figures[key])
        if code not in watched:
            plans.set(labels, sum(1 for s in mine if s in latest))
        cases.set(labels, 0)
        for rule in RULES:
            flags.set((*labels, rule), 0)
    for org, rule in sorted(network.open_flags):
        for code in counted_by(org):
            flags.add((*network.labels(code), rule))
    for case in network.cases:
        if case["status"] in ACTIVE_CASES:
            for code in counted_by(case["recipient"]):
                cases.add(network.labels(code))
    return [*percents.values(), *counts.values(), plans, flags, cases]


def practice_families(network: Network, view: RollupReadModels, behind_pct: float
                      ) -> list[Gauges]:  # fmt: skip
    """Each practice's strategies across the state, latest period: figures, how many
    schools carry it, how many of them are flagged waning on it, its status."""
    labels = ("practice", "domain")
    percents = gauges("spn_practice", PERCENTS, ", of the state's strategies on the "
                      "practice (latest period closed)", labels)  # fmt: skip
    organizations = Gauges("spn_practice_schools", "Schools with a strategy on the practice",
                           labels)  # fmt: skip
    flagged = Gauges("spn_practice_schools_waning", "Schools flagged waning (latest period "
                     "closed) on a strategy of the practice", labels)  # fmt: skip
    status = Gauges("spn_practice_status", "1 for the practice's status (on track, behind, "
                    "waning), latest period closed", (*labels, "status"))  # fmt: skip
    latest = network.latest
    if latest is None:
        return [*percents.values(), organizations, flagged, status]
    schools = network.schools()
    strategies = view.strategy_figures([latest], schools)
    flags = view.flags(schools, latest)
    for row in by_practice(strategies, flags, behind_pct):
        key = (row["practice"], str(row["domain"]))
        for name, (field_name, _) in PERCENTS.items():
            percents[name].set(key, (row["figures"] or {}).get(field_name))
        organizations.set(key, row["organizations"])
        status.set((*key, str(row["status"])), 1)
        flagged.set(key, 0)
    waning = {(s["practice"], flag["organization"]) for flag in flags
              if flag["change"] == "raised" for s in flag["strategies"] or []}  # fmt: skip
    for practice, _ in waning:  # a school once per practice, whatever its rules
        flagged.add((practice, str(domain_of(practice))))
    return [*percents.values(), organizations, flagged, status]


def strategy_families(network: Network, view: RollupReadModels, watched: list[str]
                      ) -> list[Gauges]:  # fmt: skip
    """The strategies of the watched schools' plans and their milestones, latest period."""
    labels = ("organization", "parent", "strategy", "practice")
    percents = gauges("spn_strategy", PERCENTS, ", of the strategy (watched schools, latest "
                      "period closed)", labels)  # fmt: skip
    counts = gauges("spn_strategy", COUNTS, ", of the strategy (watched schools)", labels)
    milestone = ("organization", "strategy", "milestone")
    completed = Gauges("spn_milestone_actions_completed_percent", "Actions of the milestone "
                       "completed, % (watched schools, latest period)", milestone)  # fmt: skip
    behind = Gauges("spn_milestone_behind", "1 when the milestone is past its date and not "
                    "complete (watched schools, latest period closed)", milestone)  # fmt: skip
    families = [*percents.values(), *counts.values(), completed, behind]
    if network.latest is None or not watched:
        return families
    for row in view.strategy_figures([network.latest], watched):
        org = row["organization"]
        key = (org, network.orgs[org]["parent"] or "", row["strategy"], row["practice"])
        for name, (field_name, _) in PERCENTS.items():
            percents[name].set(key, row["figures"].get(field_name))
        for name, (field_name, _) in COUNTS.items():
            counts[name].set(key, row["figures"].get(field_name))
    for row in view.strategy_milestones(network.latest, watched):
        for found in row["milestones"]:
            which = (row["organization"], row["strategy"], found["number"])
            completed.set(which, found["figures"].get("actions_completed_pct"))
            behind.set(which, found["figures"].get("milestones_behind"))
    return families


def case_families(network: Network) -> list[Gauges]:
    """Support cases by the level of the organization supported and their status; the
    supports provided and how they were judged."""
    cases = Gauges("spn_support_cases", "Support cases by the level of the organization "
                   "supported and status (open, supported, resolved, ineffective, "
                   "escalated)", ("level", "status"))  # fmt: skip
    provided = Gauges("spn_supports_provided", "Support cases with support provided",
                      ("level",))  # fmt: skip
    judged = Gauges("spn_supports_judged", "Supports judged, by verdict (effective, "
                    "not_effective)", ("level", "verdict"))  # fmt: skip
    for level in LEVELS:
        cases.set((level, "open"), 0)
        provided.set((level,), 0)
        for verdict in ("effective", "not_effective"):
            judged.set((level, verdict), 0)
    for case in network.cases:
        level = network.orgs.get(case["recipient"], {}).get("kind", "SCHOOL")
        cases.add((level, case["status"]))
        if case["support"]:
            provided.add((level,))
        if case["judgment"]:
            verdict = "effective" if case["judgment"]["effective"] else "not_effective"
            judged.add((level, verdict))
    return [cases, provided, judged]


def period_families(network: Network) -> list[Gauges]:
    """The state's figures of each period kept (month by month), how many plans reported
    in it, and the end of the latest period closed."""
    labels = ("period",)
    percents = gauges("spn_period", PERCENTS, ", the state's schools together, by period",
                      labels)  # fmt: skip
    reporting = Gauges("spn_period_plans_reporting", "Plans (schools' and LEAs') with a "
                       "report in the period: evaluated at its close, less those whose "
                       "report was missing", labels)  # fmt: skip
    missing = Gauges("spn_period_reports_missing", "Plans whose report of the period was "
                     "missing at its close", labels)  # fmt: skip
    closed = Gauges("spn_period_last_closed_end_timestamp_seconds", "When the latest period "
                    "closed ended (the first moment of the next month, UTC)", ())  # fmt: skip
    due = Gauges("spn_period_next_end_timestamp_seconds", "When the period after the latest "
                 "closed ends: its close is due from then", ())  # fmt: skip
    schools = set(network.schools())
    for period in network.periods:
        figures = network.figures[period]
        combined = combine(f for org, f in figures.items() if org in schools)
        for name, (key, _) in PERCENTS.items():
            percents[name].set((period,), (combined or {}).get(key))
        reporting.set((period,), len(set(figures) - network.missing[period]))
        missing.set((period,), len(network.missing[period]))
    if network.latest is not None:
        ended = month_end(network.latest)
        closed.set((), ended.timestamp())
        due.set((), month_end(f"{ended:%Y-%m}").timestamp())
    return [*percents.values(), reporting, missing, closed, due]


def month_end(period: str) -> datetime:
    year, month = (int(x) for x in period.split("-"))
    return datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)


def sample_count(families: Iterable[Metric]) -> int:
    """How many series (for the docs' counts and the cardinality test)."""
    return sum(len(f.samples) for f in families)


def describe(families: Iterable[Metric]) -> Mapping[str, int]:
    return {f.name: len(f.samples) for f in families}
