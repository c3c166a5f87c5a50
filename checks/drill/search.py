"""Property-based search (hypothesis) over worlds and fault schedules: how long each thing
AWS does not bound takes (``unknowns.py``, drawn from "at once" to "later than every bound
the runbook uses"), which calls fail and how, and where a function dies, during a planned
or an unplanned failover to the DR region. Whatever the draw, the invariants hold, the run
ends served from the DR region or in the failure report, and the end state holds.
"""

from __future__ import annotations

import copy
import json

from hypothesis import strategies as st

from checks.drill.harness import Drill
from checks.drill.network import KINDS, Crash, Fault
from checks.drill.scenarios import report_problems
from checks.drill.unknowns import UNKNOWNS, World
from templates.config import Config

# Every call the runbook's functions make on a failover (idempotency records included).
OPERATIONS = (
    "PutItem", "GetItem", "UpdateItem", "DescribeGlobalClusters", "SwitchoverGlobalCluster", "DescribeDBClusters",
    "DescribeScalableTargets", "RegisterScalableTarget", "DescribeServices", "UpdateService", "DescribeTargetHealth",
    "GetMetricData", "PutMetricData", "ListHealthChecks", "ListTagsForResources", "Publish", "GetExecutionHistory", "PutObject",
)
WRITES = ("SwitchoverGlobalCluster", "RegisterScalableTarget", "UpdateService", "PutMetricData", "Publish", "UpdateItem", "PutObject")


def _duration(late: float) -> st.SearchStrategy[float]:
    """At once, late, or anywhere between: the extremes are drawn often, not by luck."""
    return st.one_of(st.just(0.0), st.just(float(late)), st.floats(0, late, allow_nan=False).map(lambda s: float(round(s))))


def worlds(cfg: Config | None = None) -> st.SearchStrategy[World]:
    cfg = cfg or Config()
    return st.builds(
        World,
        **{u.name: _duration(u.late(cfg)) for u in UNKNOWNS},
        # From pages of 0 to 4 events (the report step's look asks for 10) to AWS's most; pages of
        # 0 or 1 (a unit test's) would make an hour-long run's history thousands of calls.
        history_page_events=st.integers(4, 1000),
        engine_versions_differ=st.booleans(),
        failover_state_clears_while_source_down=st.booleans(),
    )


faults = st.builds(Fault, st.sampled_from(OPERATIONS), st.sampled_from(KINDS), st.integers(1, 8))
crashes = st.builds(Crash, st.sampled_from(WRITES), st.integers(1, 2))
modes = st.sampled_from(("planned", "unplanned"))
schedules = st.tuples(worlds(), modes, st.lists(faults, max_size=4), st.lists(crashes, max_size=2))


def replayable(schedule) -> str:
    """One JSON line that ``scripts/drill.py --replay`` runs again."""
    world, mode, fault_list, crash_list = schedule
    return json.dumps({
        "world": world.__dict__, "mode": mode,
        "faults": [f.__dict__ for f in fault_list], "crashes": [{"operation": c.operation, "nth": c.nth} for c in crash_list],
    })


def from_replay(line: str):
    given = json.loads(line)
    return World(**given["world"]), given["mode"], [Fault(**f) for f in given["faults"]], [Crash(**c) for c in given["crashes"]]


def check_schedule(schedule) -> list[str]:
    """Run one failover under the schedule; the problems found (none is a pass).
    The schedule is copied: the network consumes its faults, and a report must show them as given."""
    world, mode, fault_list, crash_list = copy.deepcopy(schedule)
    with Drill(world=world) as drill:
        drill.network.faults += fault_list
        drill.network.crashes += crash_list
        request = {"failover_id": "drill-search", "mode": mode, "accept_data_loss": mode == "unplanned"}
        outcome = drill.run(drill.cfg.dr_region, request)
        problems = list(drill.violations)
        if outcome.status == "SUCCEEDED":
            if drill.aurora.writer != drill.cfg.dr_region or len(drill.switch_moves()) != 1:
                problems.append(f"succeeded without serving from the DR region: writer {drill.aurora.writer}")
        elif outcome.status == "FAILED":
            if not drill.writes("Publish"):
                problems.append(f"failed ({outcome.error}) without a failure report")
        else:
            problems.append(f"ended {outcome.status}")
        problems += [f"report: {problem}" for problem in report_problems(outcome)]
        return problems + drill.end_state()
