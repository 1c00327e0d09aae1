"""What each rollup request does."""

from __future__ import annotations

from collections.abc import Callable

from contracts import replay as rp
from contracts import timeline as tl
from contracts.rollup import (
    FlagList,
    GetRollup,
    ListFlags,
    ListSupportCases,
    MeasureRecorded,
    PerformanceMeasureReported,
    ProvideSupport,
    RollupReport,
    SupportCaseList,
    SupportCaseView,
    WaningFlag,
)
from services.rollup import translator
from services.rollup.application import RollupApplication
from services.rollup.read import case_row


class RollupEndpoints:
    def __init__(self, app: RollupApplication, on_stored: Callable[[], None]):
        self._app = app
        self._on_stored = on_stored

    def get_rollup(self, request: GetRollup) -> RollupReport:
        return translator.report(self._app.rollup(request.organization, request.period))

    def replay(self, request: rp.ReplayPlanRollup) -> rp.PlanRollupAsOf:
        return rp.PlanRollupAsOf(**self._app.rollup_as_of(request.plan, request.as_of))

    def get_timeline(self, request: tl.GetPlanRollupTimeline) -> tl.PlanTimeline:
        found = self._app.timeline(request.plan)
        return tl.PlanTimeline(plan=request.plan, service="rollup", entries=found)

    def list_flags(self, request: ListFlags) -> FlagList:
        rows = self._app.list_flags(request.organization, request.period)
        return FlagList(flags=[WaningFlag.model_validate(r) for r in rows])

    def list_support_cases(self, request: ListSupportCases) -> SupportCaseList:
        rows = self._app.support_cases(request.organization, request.status)
        return SupportCaseList(cases=[SupportCaseView.model_validate(r) for r in rows])

    def provide_support(self, request: ProvideSupport) -> SupportCaseView:
        case = self._app.provide_support(
            request.case_id, provider=request.provider, on=request.on, what=request.what,
            by=request.by, practice=request.practice.value if request.practice else None,
        )  # fmt: skip
        self._on_stored()
        return SupportCaseView.model_validate(case_row(case))

    def report_measure(self, request: PerformanceMeasureReported) -> MeasureRecorded:
        period = request.period or f"year:{request.year}"
        recorded = self._app.report_measure(
            request.plan, request.measure, period, request.value, request.by
        )
        self._on_stored()
        return MeasureRecorded(plan=request.plan, measure=request.measure, period=period,
                               value=request.value, unchanged=not recorded)  # fmt: skip
