"""The four boards, as code: the state overview, an LEA drill-down, a school's plan, and
the services' health. Every query is proven against a real Prometheus by the tests
(``tests/e2e/test_boards.py``); the JSON under ``deploy/grafana/dashboards/`` is generated
from here by ``spn boards export``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from spn.boards.panels import (
    BEHIND,
    COMPLETED,
    FEW,
    LAG,
    LATENCY,
    NEUTRAL,
    ON_TIME,
    Board,
    bars,
    stat,
    table,
    timeseries,
    variable,
)

SEA = 'level="SEA"'
LEA_BEHIND = 'spn_org_actions_behind_percent{level="LEA"}'
LEA = 'organization="$organization"'
SCHOOL = 'organization="$organization"'


def state_overview() -> Board:
    board = Board("spn-state", "SPN: the state", "The network at a glance: each LEA's "
                  "progress, the practices in trouble, support cases and whether supports "
                  "worked, month by month.", ["state"])  # fmt: skip
    board.row("The state, latest period closed").line(
        5,
        (stat("Actions on time", "Due actions completed by their due date, the state's "
              "schools together (from counts, never averaged).",
              f"spn_org_actions_on_time_percent{{{SEA}}}", "percent", ON_TIME), 5),
        (stat("Actions behind", "Due actions not complete, the state's schools together.",
              f"spn_org_actions_behind_percent{{{SEA}}}", "percent", BEHIND), 5),
        (stat("Waning flags open", "Flags raised and not cleared, every rule, every "
              "organization.", f"sum(spn_org_waning_flags{{{SEA}}})", "short", FEW), 5),
        (stat("Support cases open", "Cases open or supported, at every level.",
              "sum(spn:support_cases_open:by_level)", "short", FEW), 5),
        (stat("Supports effective", "Of the supports judged, the share judged effective "
              "(actions on time rose by SPN_SUPPORT_RISE_POINTS or reached "
              "SPN_SUPPORT_REACHES_PCT).", "spn:supports_effective:ratio", "percentunit",
              [(None, "red"), (0.5, "orange"), (0.75, "green")]), 4),
    )  # fmt: skip
    board.row("LEAs").line(
        10,
        (bars("LEAs ranked by progress", "Each LEA's schools together: due actions "
              "completed on time, latest period closed. Below 75 % (the seed's bar) is "
              "orange, below 50 % red.", "sort_desc(spn:lea_actions_on_time_percent)",
              "percent", ON_TIME, "{{name}}", top=100), 12),
        (table("LEAs furthest behind", "The ten LEAs with the most due actions not "
               "complete, and their open support cases.", [
                   (f"topk(10, {LEA_BEHIND})", "Behind %"),
                   (f'spn_org_support_cases_open{{level="LEA"}} and on (organization) '
                    f"topk(10, {LEA_BEHIND})", "Cases open", "short"),
               ], "percent", BEHIND, hidden=("parent", "level")), 12),
    )  # fmt: skip
    board.row("Practices").line(
        9,
        (bars("Practices in trouble across the state", "Due actions not complete on the "
              "strategies coded to each practice, every school together.",
              "sort_desc(spn_practice_actions_behind_percent)", "percent", BEHIND,
              "{{practice}}", top=100), 12),
        (bars("Schools waning by practice", "Schools flagged waning in the latest period "
              "on a strategy of the practice.", "sort_desc(spn_practice_schools_waning)",
              "short", FEW, "{{practice}}"), 12),
    )  # fmt: skip
    board.row("Flags, cases and supports").line(
        8,
        (bars("Waning flags open by rule", "behind, lagging, declining, silent (no report), "
              "milestone_slipped.", "spn:state_waning_flags:by_rule", "short", FEW,
              "{{rule}}"), 8),
        (table("Support cases by level and status", "Of the organization supported: open, "
               "supported, resolved, ineffective, escalated.",
               [("sum by (level, status) (spn_support_cases)", "Cases")], "short", NEUTRAL),
         8),
        (bars("Supports judged", "Supports judged effective or not, every level.",
              "sum by (verdict) (spn_supports_judged)", "short", NEUTRAL, "{{verdict}}"), 8),
    )  # fmt: skip
    board.row("Month by month").line(
        8,
        (bars("Actions on time, by period", "The state's schools together, each period "
              "closed (the last SPN_ROLLUP_METRICS_PERIODS).",
              "spn_period_actions_on_time_percent", "percent", ON_TIME, "{{period}}",
              vertical=True, top=100), 12),
        (bars("Plans reporting, by period", "Plans with a report in the period, at its "
              "close.", "spn_period_plans_reporting", "short", NEUTRAL, "{{period}}",
              vertical=True), 12),
    ).line(
        8,
        (bars("Reports missing, by period", "Plans whose monthly report was missing at "
              "the close.", "spn_period_reports_missing", "short", FEW, "{{period}}",
              vertical=True), 12),
        (stat("Days since the latest period ended", "From the end of the latest period "
              "closed; over about 38 days, a close is overdue (alert SpnPeriodNotClosed).",
              "(time() - spn_period_last_closed_end_timestamp_seconds) / 86400", "d",
              [(None, "green"), (36, "orange"), (38, "red")]), 12),
    )  # fmt: skip
    board.row("Over time").line(
        8,
        (timeseries("On time and behind, as scraped", "The state's figures as each period "
                    "closed (a step at each close).", [
                        (f"spn_org_actions_on_time_percent{{{SEA}}}", "on time"),
                        (f"spn_org_actions_behind_percent{{{SEA}}}", "behind"),
                    ], "percent", ON_TIME), 24),
    )  # fmt: skip
    return board


def lea_drilldown() -> Board:
    board = Board("spn-lea", "SPN: an LEA", "One LEA: its figures, its schools that need "
                  "attention (an open or recent flag or case), their flags and cases.",
                  ["lea"])  # fmt: skip
    board.variable(variable("organization", "LEA", 'spn_org_school_plans{level="LEA"}'))
    board.row("$organization, latest period closed").line(
        5,
        (stat("Actions on time", "Its schools together.",
              f"spn_org_actions_on_time_percent{{{LEA}}}", "percent", ON_TIME), 5),
        (stat("Actions behind", "Its schools together.",
              f"spn_org_actions_behind_percent{{{LEA}}}", "percent", BEHIND), 5),
        (stat("Actions completed", "Of every action of its schools' plans.",
              f"spn_org_actions_completed_percent{{{LEA}}}", "percent", COMPLETED), 5),
        (stat("School plans", "Its school plans with figures.",
              f"spn_org_school_plans{{{LEA}}}", "short", NEUTRAL), 4),
        (stat("Cases open", "Of the LEA and its schools.",
              f"spn_org_support_cases_open{{{LEA}}}", "short", FEW), 5),
    )  # fmt: skip
    board.row("Its schools that need attention").line(
        9,
        (table("Schools watched", "Its schools with a flag or case this year (the watch "
               "list, SPN_ROLLUP_METRICS_SCHOOLS): figures of the latest period, and their "
               "open support cases.", [
                   ('spn_org_actions_behind_percent{level="SCHOOL", parent="$organization"}',
                    "Behind %"),
                   ('spn_org_actions_on_time_percent{level="SCHOOL", parent="$organization"}',
                    "On time %"),
                   ('spn_org_support_cases_open{level="SCHOOL", parent="$organization"}',
                    "Cases open", "short"),
               ], "percent", BEHIND, hidden=("parent", "level")), 12),
        (table("Flags open by school and rule", "Each watched school's waning flags raised "
               "and not cleared, by rule (behind, lagging, declining, silent, "
               "milestone_slipped).", [
                   ('sum by (organization, rule) (spn_org_waning_flags{level="SCHOOL", '
                    'parent="$organization"})', "Flags open"),
               ], "short", FEW), 12),
    ).line(
        8,
        (bars("Flags open by rule", "Its own and its schools'.",
              f"sum by (rule) (spn_org_waning_flags{{{LEA}}})", "short", FEW, "{{rule}}"), 12),
        (timeseries("On time and behind, as scraped", "Its schools together, as each "
                    "period closed.", [
                        (f"spn_org_actions_on_time_percent{{{LEA}}}", "on time"),
                        (f"spn_org_actions_behind_percent{{{LEA}}}", "behind"),
                    ], "percent", ON_TIME), 12),
    )  # fmt: skip
    return board


def school_plan() -> Board:
    board = Board("spn-school", "SPN: a school's plan", "One watched school's plan: its "
                  "strategies (Tool A numbers, practice) and milestones, latest period "
                  "closed. Every school's plan: spn plan progress.", ["school"])  # fmt: skip
    board.variable(variable("organization", "School", "spn_strategy_actions_on_time_percent"))
    board.row("$organization").line(
        5,
        (stat("Actions on time", "The school's plan.",
              f"spn_org_actions_on_time_percent{{{SCHOOL}}}", "percent", ON_TIME), 6),
        (stat("Actions behind", "The school's plan.",
              f"spn_org_actions_behind_percent{{{SCHOOL}}}", "percent", BEHIND), 6),
        (stat("Milestones behind", "Past their date, not complete.",
              f"spn_org_milestones_behind{{{SCHOOL}}}", "short", FEW), 6),
        (stat("Flags open", "Waning flags raised and not cleared.",
              f"sum(spn_org_waning_flags{{{SCHOOL}}}) or vector(0)", "short", FEW), 6),
    )  # fmt: skip
    board.row("Strategies").line(
        10,
        (table("Strategies", "Each strategy of the plan, latest period closed.", [
                   (f"spn_strategy_actions_on_time_percent{{{SCHOOL}}}", "On time %"),
                   (f"spn_strategy_actions_behind_percent{{{SCHOOL}}}", "Behind %"),
                   (f"spn_strategy_actions_completed_percent{{{SCHOOL}}}", "Completed %"),
               ], "percent", ON_TIME, hidden=("organization", "parent")), 14),
        (bars("Milestones behind by strategy", "Milestones past their date and not "
              "complete.", f"spn_strategy_milestones_behind{{{SCHOOL}}}", "short", FEW,
              "{{strategy}}"), 10),
    ).line(
        8,
        (bars("Milestones completed by strategy", "Milestones complete by the period's end.",
              f"spn_strategy_milestones_completed{{{SCHOOL}}}", "short", COMPLETED,
              "{{strategy}}"), 12),
        (table("Milestones", "Each milestone of the plan: its actions completed, and 1 when "
               "it is past its date and not complete.", [
                   (f"spn_milestone_actions_completed_percent{{{SCHOOL}}}", "Completed %"),
                   (f"spn_milestone_behind{{{SCHOOL}}}", "Behind", "short"),
               ], "percent", COMPLETED, hidden=("organization",)), 12),
    )  # fmt: skip
    return board


def service_health() -> Board:
    board = Board("spn-services", "SPN: services", "The four services: up, throughput, lag, "
                  "latency, dead letters, restarts, alert deliveries.", ["operations"])
    board.row("Up and lag").line(
        6,
        (bars("Services up", "1 when Prometheus scrapes the service.",
              'up{job=~"spn-.*"}', "short", [(None, "red"), (1, "green")], "{{job}}",
              top=1), 8),
        (bars("Consumer lag", "Stream messages after each consumer's tracked position.",
              "spn:consumer_lag:max", "short", LAG, "{{service}}/{{consumer}}"), 8),
        (bars("Relay lag", "Events stored, not yet on the events stream.",
              "spn:relay_lag:max", "short", LAG, "{{service}}"), 8),
    )  # fmt: skip
    board.row("Throughput and latency").line(
        8,
        (timeseries("Messages committed", "Per second, by consumer (5 m rate).",
                    [("spn:consumer_processed:rate5m", "{{service}}/{{consumer}}")], "ops",
                    NEUTRAL), 12),
        (timeseries("Batch time p95", "To process and commit one batch (5 m).",
                    [("spn:consumer_batch_seconds:p95_5m", "{{service}}/{{consumer}}")], "s",
                    LATENCY), 12),
    ).line(
        8,
        (timeseries("Requests", "Per second, by service and outcome (5 m rate).",
                    [("sum by (service, outcome) (spn:requests:rate5m)",
                      "{{service}} {{outcome}}")], "reqps", NEUTRAL), 12),
        (timeseries("Request latency p95", "From a request's arrival to its reply, by "
                    "subject (5 m).", [("spn:request_seconds:p95_5m", "{{subject}}")], "s",
                    LATENCY), 12),
    ).line(
        7,
        (bars("Reports taken", "By outcome, since the status service started.",
              "sum by (outcome) (spn_status_reports_total)", "short", NEUTRAL,
              "{{outcome}}"), 8),
        (bars("Dead letters, last hour", "By service and consumer (every reason together); "
              "the letters themselves are in the dead-letter stream.",
              "sum by (service, consumer) (spn:dead_letters:increase1h)",
              "short", FEW, "{{service}}/{{consumer}}"), 8),
        (bars("Task restarts, last hour", "Background tasks that ended and were started "
              "again.", "sum by (service, task) (increase(spn_task_restarts_total[1h]))",
              "short", FEW, "{{service}}/{{task}}"), 8),
    )  # fmt: skip
    board.row("Alerts and processes").line(
        7,
        (bars("Alert deliveries, last hour", "By channel and outcome (pending: retried).",
              "spn:alerts_deliveries:increase1h", "short", NEUTRAL,
              "{{channel}} {{outcome}}"), 8),
        (stat("Alert delivery p95", "From the triggering event to delivery, the group wait "
              "and retries included (1 h).", "histogram_quantile(0.95, sum by (le) "
              "(rate(spn_alerts_delivery_seconds_bucket[1h])))", "s",
              [(None, "green"), (300, "orange"), (1800, "red")]), 8),
        (bars("Memory", "Resident memory of each service process.",
              'process_resident_memory_bytes{job=~"spn-.*"}', "bytes",
              [(None, "green"), (300e6, "orange"), (1e9, "red")], "{{job}}"), 8),
    )  # fmt: skip
    return board


BOARDS: dict[str, Callable[[], Board]] = {
    "spn-state": state_overview,
    "spn-lea": lea_drilldown,
    "spn-school": school_plan,
    "spn-services": service_health,
}


def dashboards() -> dict[str, dict[str, Any]]:
    """Each board's JSON, by uid."""
    return {uid: build().json() for uid, build in BOARDS.items()}
