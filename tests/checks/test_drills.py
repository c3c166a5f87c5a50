"""Failover drills: the rendered runbook end to end in two emulated regions (checks/drill/).

Each scenario states what must hold afterwards; the invariants (one writer, traffic only
to the available writer, one report per run, no side effect twice) are checked after
every state transition. The property search explores fault schedules.
"""

from __future__ import annotations

import os
from collections import Counter

import boto3
import pytest
from botocore.exceptions import ParamValidationError
from hypothesis import HealthCheck, given, settings

from checks.drill.fake import FakeModelGap
from checks.drill.harness import Drill, DrillError, physical
from checks.drill.scenarios import SCENARIOS, table
from checks.drill.search import check_schedule, from_replay, replayable, schedules
from checks.drill.unknowns import UNKNOWNS, World
from templates import runbook
from templates.config import Config

# make test draws a few (derandomized); make drill searches 200 (scripts/drill.py).
EXAMPLES = int(os.environ.get("DRILL_EXAMPLES", "3"))


# make drill runs every scenario with these same checks, and CI runs it; make test keeps one of
# each kind here (an unplanned failover, a step that dies after acting, a promotion AWS finishes
# after the run gave up; test_failover_report runs a planned one and a failed one), so it stays
# near three minutes. DRILL_SCENARIOS=all runs every one under pytest.
IN_MAKE_TEST = ("unplanned_primary_region_dead", "function_dies_after_acting", "promotion_completes_after_the_run_gave_up")
CHOSEN = sorted(SCENARIOS) if os.environ.get("DRILL_SCENARIOS") == "all" else IN_MAKE_TEST


def test_the_scenarios_make_test_keeps_are_scenarios():
    assert set(IN_MAKE_TEST) <= set(SCENARIOS)


@pytest.mark.parametrize("name", CHOSEN)
def test_scenario(name):
    report = SCENARIOS[name]()
    assert report.runs, "the scenario ran nothing"
    assert not report.problems, "\n".join(table([report]))


# Derandomized: CI explores the same schedules as the run that landed them.
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
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


def test_an_old_primary_whose_ecs_api_is_silent_but_serves_is_not_promoted_over():
    """A partition, not an outage: the primary's ECS API does not answer from the DR region, but
    Route 53's checkers see its application serving. The fence is not confirmed and nothing is
    promoted (the search found promotions here while the old primary still took writes)."""
    from checks.drill.network import CONNECTION, Fault

    with Drill() as drill:
        primary = drill.cfg.primary_region
        drill.network.faults += [Fault(op, CONNECTION, 10, primary) for op in ("DescribeScalableTargets", "DescribeServices")]
        outcome = drill.run(drill.cfg.dr_region, {"failover_id": "drill-partition", "mode": "unplanned", "accept_data_loss": True})
        assert (outcome.status, outcome.error) == ("FAILED", "FenceNotConfirmed"), outcome.cause
        assert not drill.writes("FailoverGlobalCluster") and drill.violations == []


def test_a_blind_fence_is_the_one_unfenced_promotion_and_it_is_recorded():
    """The residual risk README names: the primary's ECS API and Route 53's API (which lives
    there) both silent while its application serves. Nobody can tell it from an outage; the
    run promotes and records that the fence was blind, and only such a record lets the
    invariant accept an old primary still running at the failover."""
    from checks.drill.network import CONNECTION, Fault

    with Drill() as drill:
        primary = drill.cfg.primary_region
        drill.network.faults += [Fault(op, CONNECTION, 10, primary) for op in ("DescribeScalableTargets", "DescribeServices", "ListHealthChecks")]
        outcome = drill.run(drill.cfg.dr_region, {"failover_id": "drill-blind", "mode": "unplanned", "accept_data_loss": True})
        assert outcome.status == "SUCCEEDED", outcome.cause
        fence = outcome.output["run"]["steps"]["fence"]["result"]
        assert fence["fenced"] is False and fence["seen_by_route53"] is False
        (promotion,) = drill.writes("FailoverGlobalCluster")
        assert promotion.running[primary] > 0 and drill.violations == []


def test_a_run_slower_than_the_budget_is_reported():
    """Timeline vs budget: a promotion that outlasts the writer wait (followed, over budget), a
    scale step that dies and waits out its lease, and a DR service starting from nothing move
    traffic later than the budget's phases up to the switch give the runbook: the drill says so."""
    from checks.drill.harness import Effect
    from checks.drill.network import Crash
    from checks.drill.scenarios import Report, _finish, _run

    report = Report("slow")
    with Drill(world=World(promotion_seconds=runbook.waits(Config())["promotion"].wait_seconds + 240)) as drill:
        dr = drill.cfg.dr_region
        drill.network.crashes.append(Crash("RegisterScalableTarget"))
        drill.app.task_start_seconds = 100
        drill.effects.append(Effect(drill.clock.now() - 3600, dr, "UpdateService", "0", None, drill.aurora.writer))
        outcome = _run(drill, report, dr, {"failover_id": "drill-slow"})
        _finish(drill, report)
    assert outcome.status == "SUCCEEDED", outcome.cause
    assert any(problem.startswith("budget: drill-slow") for problem in report.problems), report.problems


def test_every_unknown_quotes_aws_and_runs_past_every_bound_it_meets():
    """The unknowns table: AWS's words and page for each, and a range that ends later than the
    runbook's own bound for it (a fake that stops inside our bound agrees with us by default)."""
    cfg = Config()
    waits = runbook.waits(cfg)
    bound = {
        "promotion_seconds": waits["promotion"].wait_seconds + waits["follow"].wait_seconds,
        "metric_visible_seconds": waits["switch"].wait_seconds,
        "drain_seconds": waits["fence"].wait_seconds,
        "route53_status_lag_seconds": waits["traffic"].wait_seconds,
        "task_start_seconds": waits["capacity"].wait_seconds,
        "resync_seconds": 3 * 3600,  # AWS: "several hours"
        "history_visible_seconds": runbook.retry_seconds(runbook.HISTORY_RETRY),
        "history_hole_seconds": runbook.retry_seconds(runbook.HISTORY_RETRY),
    }
    assert {u.name for u in UNKNOWNS} == set(bound)
    for unknown in UNKNOWNS:
        assert unknown.page.startswith("https://docs.aws.amazon.com/") and unknown.aws_says
        assert unknown.late(cfg) > bound[unknown.name], unknown.name
        assert getattr(World.at_once(), unknown.name) == 0
        assert getattr(World.late(cfg), unknown.name) == unknown.late(cfg)


@pytest.mark.parametrize("operation", ["switchover_global_cluster", "failover_global_cluster"])
def test_the_aurora_fake_refuses_a_promotion_between_engine_versions(operation):
    """With the error code botocore's model lists for the operation (InvalidGlobalClusterStateFault)."""
    import botocore.exceptions

    with Drill(world=World(engine_versions_differ=True)) as drill:
        rds = drill.client("rds", drill.cfg.primary_region if operation.startswith("switchover") else drill.cfg.dr_region)
        drill.aurora.register(rds.meta.events)
        params = {"GlobalClusterIdentifier": drill.aurora.identifier, "TargetDbClusterIdentifier": drill.aurora.cluster_arn(drill.cfg.dr_region)}
        if operation.startswith("failover"):
            params["AllowDataLoss"] = True
        with pytest.raises(botocore.exceptions.ClientError) as refused:
            getattr(rds, operation)(**params)
        assert refused.value.response["Error"]["Code"] == "InvalidGlobalClusterStateFault"
        assert "same engine version" in refused.value.response["Error"]["Message"]
        model = rds.meta.service_model.operation_model(operation.title().replace("_", ""))
        assert "InvalidGlobalClusterStateFault" in [e.name for e in model.error_shapes]


def test_the_aurora_fake_refuses_a_switchover_onto_a_rebuilding_cluster():
    import botocore.exceptions

    with Drill() as drill:
        dr, primary = drill.cfg.dr_region, drill.cfg.primary_region
        drill.aurora.writer = dr
        drill.aurora.resyncing[primary] = drill.clock.now() + 3600
        rds = drill.client("rds", dr)
        drill.aurora.register(rds.meta.events)
        with pytest.raises(botocore.exceptions.ClientError) as refused:
            rds.switchover_global_cluster(GlobalClusterIdentifier=drill.aurora.identifier, TargetDbClusterIdentifier=drill.aurora.cluster_arn(primary))
        assert refused.value.response["Error"]["Code"] == "InvalidGlobalClusterStateFault"


def test_the_end_state_invariant_fails_a_split_nobody_names_and_the_run_stays_within_its_counted_history():
    """The end-state invariant can fail: a promotion AWS completes after the run gave up leaves
    the writer in DR and traffic on the primary; with the readiness checks silenced, the drill
    reports it. The same run, late at every unknown, visits no state more often than the
    history-quota check counts (runbook.most_visits), nor writes more events."""
    cfg = Config()
    with Drill(world=World.late(cfg)) as drill:
        outcome = drill.run(drill.cfg.dr_region, {"failover_id": "drill-split"})
        drill.readiness = lambda: []
        problems = drill.end_state()
    assert problems and "Route 53 answers with" in problems[0], problems
    visits = Counter(e["stateEnteredEventDetails"]["name"] for e in outcome.history if "stateEnteredEventDetails" in e)
    most = runbook.most_visits(cfg)
    assert visits["CheckPromotion"] == most["CheckPromotion"]  # the follow ran to its end
    assert {name: count for name, count in visits.items() if count > most[name]} == {}
    assert len(outcome.history) <= runbook.history_events(cfg) < runbook.HISTORY_EVENTS_QUOTA


def test_a_report_written_from_a_partial_history_is_caught(monkeypatch):
    """The check can fail: a report step that takes whatever history it reads (no HistoryBehind),
    with the newest events hidden, writes a report the drill calls partial."""
    from runbook import write_report
    from checks.drill.scenarios import report_problems

    monkeypatch.setattr(write_report, "require_own_entry", lambda history, name: history)
    monkeypatch.setattr(write_report, "require_own_entry_visible", lambda *_: None)
    with Drill(world=World(history_visible_seconds=30)) as drill:
        outcome = drill.run(drill.cfg.dr_region, {"failover_id": "drill-partial"})
    problems = report_problems(outcome)
    assert outcome.written_report is not None and any("a partial history" in p for p in problems), problems


def _read_history(client, arn: str, **arguments) -> list[list[dict]]:
    pages, token = [], None
    while True:
        page = client.get_execution_history(executionArn=arn, maxResults=1000, **arguments, **({"nextToken": token} if token else {}))
        pages.append(page["events"])
        if not (token := page.get("nextToken")):
            return pages


def test_the_history_fake_pages_as_aws_may_and_hides_the_newest_events():
    """GetExecutionHistory as the runbook's functions see it: from none to ``history_page_events``
    a page whatever maxResults asks, every page by its token, newest first with reverseOrder, the
    newest seconds hidden, a token refused with other arguments; moto (the drill's own reads) has it all."""
    import botocore.exceptions

    with Drill(world=World(history_page_events=7, history_visible_seconds=20)) as drill:
        region = drill.cfg.dr_region
        arn = drill.start(region, {"failover_id": "drill-pages"})
        drill.wait(arn, region)
        whole = [e["id"] for e in drill.client("stepfunctions", region).get_execution_history(executionArn=arn, maxResults=1000)["events"]]
        seen = boto3.client("stepfunctions", region_name=region)  # the default session: the functions'
        forward = _read_history(seen, arn)
        assert max(len(page) for page in forward) == 7 and min(len(page) for page in forward[:-1]) < 7
        ids = [e["id"] for page in forward for e in page]
        assert ids == list(range(1, len(ids) + 1)) and len(ids) < len(whole)  # whole, less its newest
        backward = [[e["id"] for e in page] for page in _read_history(seen, arn, reverseOrder=True)]
        # Newest first in each page; events readable between two pages may come again (AWS promises nothing there).
        assert all(page == sorted(page, reverse=True) for page in backward)
        read = {i for page in backward for i in page}
        assert read == set(range(1, max(read) + 1))
        token = seen.get_execution_history(executionArn=arn, maxResults=3)["nextToken"]
        for other in ({"reverseOrder": True, "maxResults": 3}, {"maxResults": 4}, {}):
            with pytest.raises(botocore.exceptions.ClientError) as refused:
                seen.get_execution_history(executionArn=arn, nextToken=token, **other)
            assert refused.value.response["Error"]["Code"] == "InvalidToken"


def test_the_history_fake_leaves_holes_behind_newer_events():
    with Drill(world=World(history_hole_seconds=120, history_page_events=1000)) as drill:
        region = drill.cfg.dr_region
        arn = drill.start(region, {"failover_id": "drill-holes"})
        drill.wait(arn, region)
        whole = {e["id"] for e in drill.client("stepfunctions", region).get_execution_history(executionArn=arn, maxResults=1000)["events"]}
        ids = [e["id"] for page in _read_history(boto3.client("stepfunctions", region_name=region), arn) for e in page]
        missing = whole - set(ids)
        assert missing and max(ids) == max(whole) and all(i % 3 == 0 for i in missing)


@pytest.mark.parametrize("defect", [KeyError("events"), ParamValidationError(report="maxResults 2000 > 1000")])
def test_a_function_failing_with_an_error_neither_aws_nor_its_own_is_a_violation(monkeypatch, defect):
    """A defect (a KeyError, or a request botocore refuses before sending it) would pass for the
    run's own failure path; the drill names it."""
    from runbook import write_report

    def broken(*_):
        raise defect

    monkeypatch.setattr(write_report, "_history", broken)
    with Drill() as drill:
        drill.run(drill.cfg.dr_region, {"failover_id": "drill-defect"})
    assert any(f"raised {type(defect).__name__}" in v for v in drill.violations), drill.violations


def test_a_schedule_replays_from_its_printed_line():
    from hypothesis import find

    schedule = find(schedules, lambda s: bool(s[2]) and s[0].engine_versions_differ)
    assert from_replay(replayable(schedule)) == schedule


@pytest.mark.parametrize("kind", ["throttle", "5xx", "connection"])
@pytest.mark.parametrize("service, operation, call", [
    ("cloudwatch", "PutMetricData", lambda c: c.put_metric_data(Namespace="drill", MetricData=[{"MetricName": "m", "Value": 1.0}])),
    ("rds", "DescribeGlobalClusters", lambda c: c.describe_global_clusters()),
])
def test_a_fault_reaches_the_caller_before_any_fake_answers(kind, service, operation, call):
    """botocore runs a service-specific event's handlers before the generic one's: a fake on
    before-send.SERVICE once answered (and applied a write) before the network's fault, so a
    throttle on a faked operation never reached the runbook. A fault answers first now, and AWS
    never saw the request."""
    from botocore.exceptions import ClientError, EndpointConnectionError

    from checks.drill.network import Fault

    with Drill() as drill:
        published = len(drill.metrics.published)
        drill.network.faults.append(Fault(operation, kind, 1, None))
        client = __import__("boto3").client(service, region_name=drill.cfg.dr_region,
                                            config=__import__("botocore.config").config.Config(retries={"total_max_attempts": 1}))
        with pytest.raises((ClientError, EndpointConnectionError)):
            call(client)
        assert len(drill.metrics.published) == published, "a refused write is not applied"
