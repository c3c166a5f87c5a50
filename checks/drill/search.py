"""Property-based search over fault schedules (hypothesis): which calls fail, how, and where a
function dies, during a planned failover to the DR region. Whatever the schedule, the
invariants hold and the run ends either served from the DR region or in the failure report.
"""

from __future__ import annotations

import copy

from hypothesis import strategies as st

from checks.drill.harness import Drill
from checks.drill.network import KINDS, Crash, Fault

# Every call the runbook's functions make on a failover (idempotency records included).
OPERATIONS = (
    "PutItem", "GetItem", "UpdateItem", "DescribeGlobalClusters", "SwitchoverGlobalCluster", "DescribeDBClusters",
    "DescribeScalableTargets", "RegisterScalableTarget", "DescribeServices", "UpdateService", "DescribeTargetHealth",
    "GetMetricData", "PutMetricData", "GetHealthCheckStatus", "Publish",
)
WRITES = ("SwitchoverGlobalCluster", "RegisterScalableTarget", "UpdateService", "PutMetricData", "Publish", "UpdateItem")

faults = st.builds(Fault, st.sampled_from(OPERATIONS), st.sampled_from(KINDS), st.integers(1, 8))
crashes = st.builds(Crash, st.sampled_from(WRITES), st.integers(1, 2))
schedules = st.tuples(st.lists(faults, max_size=4), st.lists(crashes, max_size=2))


def check_schedule(schedule) -> list[str]:
    """Run one planned failover under the schedule; the problems found (none is a pass).
    The schedule is copied: the network consumes its faults, and a report must show them as given."""
    fault_list, crash_list = copy.deepcopy(schedule)
    with Drill() as drill:
        drill.network.faults += fault_list
        drill.network.crashes += crash_list
        outcome = drill.run(drill.cfg.dr_region, {"failover_id": "drill-search"})
        problems = list(drill.violations)
        if outcome.status == "SUCCEEDED":
            if drill.aurora.writer != drill.cfg.dr_region or len(drill.switch_moves()) != 1:
                problems.append(f"succeeded without serving from the DR region: writer {drill.aurora.writer}")
        elif outcome.status == "FAILED":
            if not drill.writes("Publish"):
                problems.append(f"failed ({outcome.error}) without a failure report")
        else:
            problems.append(f"ended {outcome.status}")
        return problems
