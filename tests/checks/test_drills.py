"""Failover drills: the rendered runbook end to end in two emulated regions (checks/drill/).

Each scenario states what must hold afterwards; the invariants (one writer, traffic only
to the available writer, one report per run, no side effect twice) are checked after
every state transition. The property search explores fault schedules.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings

from checks.drill.fake import FakeModelGap
from checks.drill.harness import Drill, DrillError, physical
from checks.drill.scenarios import SCENARIOS, table
from checks.drill.search import check_schedule, schedules
from templates.config import Config

EXAMPLES = int(os.environ.get("DRILL_EXAMPLES", "10"))


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario(name):
    report = SCENARIOS[name]()
    assert report.runs, "the scenario ran nothing"
    assert not report.problems, "\n".join(table([report]))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schedules)
def test_any_fault_schedule_keeps_the_invariants(schedule):
    assert check_schedule(schedule) == []


def test_the_drill_fails_a_template_whose_function_names_a_missing_handler():
    """The drill runs what the template says: a wrong handler fails the run, it is not papered over."""
    with Drill() as drill:
        arn = next(a for a, f in drill.functions.items() if f.region == drill.cfg.dr_region and "promote" in f.handler)
        drill.functions[arn] = drill.functions[arn].__class__(**{**drill.functions[arn].__dict__, "handler": "runbook.promote.handler"})
        outcome = drill.run(drill.cfg.dr_region, {"failover_id": "drill-wrong-handler"})
        assert outcome.status == "FAILED"
        assert drill.aurora.writer == drill.cfg.primary_region


def test_the_drill_fails_a_missing_environment_variable():
    with Drill() as drill:
        arn = next(a for a, f in drill.functions.items() if f.region == drill.cfg.dr_region and "switch_traffic" in f.handler)
        del drill.functions[arn].environment["SWITCH_NAMESPACE"]
        outcome = drill.run(drill.cfg.dr_region, {"failover_id": "drill-missing-setting"})
        assert (outcome.status, outcome.error) == ("FAILED", "MissingSetting")
        assert not drill.switch_moves()


def test_a_request_without_trigger_or_accept_data_loss_gets_the_defaults():
    """Issue 11: a run started with only a failover id is a planned, operator-started run."""
    with Drill() as drill:
        sfn = drill.client("stepfunctions", drill.cfg.dr_region)
        arn = sfn.start_execution(stateMachineArn=drill.regions[drill.cfg.dr_region].state_machine_arn, name="bare", input='{"failover_id": "bare"}')["executionArn"]
        outcome = drill.wait(arn, drill.cfg.dr_region)
        assert outcome.status == "SUCCEEDED", outcome.cause
        assert drill.aurora.data_lost_ms == 0 and drill.writes("SwitchoverGlobalCluster")


def test_the_aurora_fake_refuses_what_it_does_not_model():
    with Drill() as drill:
        rds = drill.admin.client("rds", region_name=drill.cfg.dr_region)
        drill.aurora.register(rds.meta.events)
        with pytest.raises(FakeModelGap):
            rds.describe_db_cluster_snapshots()


def test_physical_names_refuse_a_resource_type_the_drill_cannot_resolve():
    with pytest.raises(DrillError):
        physical("Thing.Arn", {"Thing": {"Type": "AWS::Custom::Thing", "Properties": {}}}, Config().dr_region, Config().partition)


def test_an_unfenced_unplanned_failover_is_caught_by_the_invariants():
    """The split-brain invariant can fail: when the DR region cannot reach the primary's
    service (a partition, not an outage), fencing records it as down and the old primary
    still serves while the failover begins. The drill says so; it is the residual risk
    of an unplanned failover that README's runbook section names."""
    from checks.drill.network import CONNECTION, Fault

    with Drill() as drill:
        primary = drill.cfg.primary_region
        drill.network.faults += [Fault(op, CONNECTION, 10, primary) for op in ("DescribeScalableTargets", "DescribeServices")]
        drill.run(drill.cfg.dr_region, {"failover_id": "drill-partition", "mode": "unplanned", "accept_data_loss": True})
        assert any("still serving" in violation for violation in drill.violations), drill.violations


def test_a_run_slower_than_the_budget_is_reported():
    """Timeline vs budget: a slow promotion, a scale step that dies and waits out its lease, and
    a DR service starting from nothing move traffic later than the budget's promotion +
    capacity phases give the runbook: the drill says so."""
    from checks.drill.aurora import Timings
    from checks.drill.harness import Effect
    from checks.drill.network import Crash
    from checks.drill.scenarios import Report, _finish, _run

    report = Report("slow")
    with Drill(timings=Timings(promotion_seconds=230)) as drill:
        dr = drill.cfg.dr_region
        drill.network.crashes.append(Crash("RegisterScalableTarget"))
        drill.app.task_start_seconds = 100
        drill.effects.append(Effect(drill.clock.now(), dr, "UpdateService", "0", None, drill.aurora.writer))
        outcome = _run(drill, report, dr, {"failover_id": "drill-slow"})
        _finish(drill, report)
    assert outcome.status == "SUCCEEDED", outcome.cause
    assert any(problem.startswith("budget: drill-slow") for problem in report.problems), report.problems
