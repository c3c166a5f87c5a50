"""``build.py gameday`` against botocore Stubbers (each request and response checked against
botocore's service model): the FIS, Step Functions and CloudWatch calls in order, the
experiment stopped however the run ends, and the report's phases from AWS's timestamps.

The failover command's own dry run (its readiness checks, tested in test_failover_cli.py) is
replaced by its verdict here; everything the game day adds is stubbed call by call."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import botocore.session
import pytest
from botocore.stub import ANY, Stubber

from ops import gameday
from templates import gameday as gameday_template
from templates import naming
from templates.config import config_from_mapping

CFG = config_from_mapping({"gameday": {"enabled": True}})
PRIMARY, DR = CFG.primary_region, CFG.dr_region
ACCOUNT = "123456789012"
T0 = datetime(2030, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
TEMPLATE_ID, EXPERIMENT_ID = "EXT1a2b3c4d5e6f7", "EXP1a2b3c4d5e6f7g8"
SUBNETS = ["subnet-0a1", "subnet-0b2"]
MACHINE = f"arn:aws:states:{DR}:{ACCOUNT}:stateMachine:{naming.runbook_state_machine(CFG).pattern}"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


class StubbedSession:
    """A boto3 session whose clients are Stubber-backed, one per (service, region); records every
    operation called, across clients, in order."""

    def __init__(self):
        self._botocore = botocore.session.Session()
        self._botocore.set_credentials("testing", "testing")
        self.stubbers: dict[tuple[str, str], Stubber] = {}
        self._clients: dict[tuple[str, str], object] = {}
        self.calls: list[str] = []

    def stub(self, service: str, region: str) -> Stubber:
        if (service, region) not in self._clients:
            client = self._botocore.create_client(service, region_name=region)
            self._clients[service, region] = client
            self.stubbers[service, region] = Stubber(client)
            self.stubbers[service, region].activate()
            # Every handler of before-parameter-build runs (the Stubber answers before-call, which ends there).
            client.meta.events.register("before-parameter-build", lambda model, **_: self.calls.append(model.name))
        return self.stubbers[service, region]

    def client(self, service, region_name, config=None):
        if (service, region_name) not in self._clients:
            raise AssertionError(f"unexpected client {service} in {region_name}")
        return self._clients[service, region_name]

    def assert_all_called(self) -> None:
        for stubber in self.stubbers.values():
            stubber.assert_no_pending_responses()


def _experiment(status: str, **more) -> dict:
    return {"experiment": {"id": EXPERIMENT_ID, "experimentTemplateId": TEMPLATE_ID, "state": {"status": status}, **more}}


def _stub_dry_run(session: StubbedSession, quota: float = 500.0, isolated: str = DR, tasks: int = 3,
                  fis_quotas: tuple[float | None, float | None] = (6.0, 5.0)) -> None:
    """The experiment's dry run; a FIS quota None: never applied (NoSuchResourceException), AWS's default answers."""
    fis = session.stub("fis", PRIMARY)
    fis.add_response("list_experiment_templates", {"experimentTemplates": [
        {"id": "EXTother", "tags": {"Name": "someone-else"}},
        {"id": TEMPLATE_ID, "tags": {"Name": gameday_template.experiment_name(CFG)}},
    ]}, {})
    fis.add_response("get_experiment_template", {"experimentTemplate": {
        "id": TEMPLATE_ID,
        "targets": {gameday_template.SUBNETS_TARGET: {
            "resourceType": "aws:ec2:subnet", "selectionMode": "ALL",
            "resourceArns": [f"arn:aws:ec2:{PRIMARY}:{ACCOUNT}:subnet/{subnet}" for subnet in SUBNETS],
        }},
        "actions": {gameday_template.ISOLATE_ACTION: {"actionId": gameday_template.ISOLATE_ACTION_ID,
                                                      "parameters": {"region": isolated, "duration": "PT60M"}}},
    }}, {"id": TEMPLATE_ID})
    session.stub("ec2", PRIMARY).add_response("describe_route_tables", {"RouteTables": [
        {"RouteTableId": f"rtb-{index}", "Associations": [{"SubnetId": subnet}], "Routes": [{"GatewayId": "local"}] * (index + 2)}
        for index, subnet in enumerate(SUBNETS)
    ]}, {"Filters": [{"Name": "association.subnet-id", "Values": SUBNETS}]})
    quotas = session.stub("service-quotas", PRIMARY)
    quotas.add_response("get_service_quota", {"Quota": {"Value": quota}}, {"ServiceCode": "vpc", "QuotaCode": "L-93826ACB"})
    cluster, service = naming.ecs_cluster(CFG).for_region(PRIMARY), naming.ecs_service(CFG).for_region(PRIMARY)
    session.stub("ecs", PRIMARY).add_response("list_tasks", {"taskArns": [
        f"arn:aws:ecs:{PRIMARY}:{ACCOUNT}:task/{cluster}/{index:032x}" for index in range(tasks)]},
        {"cluster": cluster, "serviceName": service})
    for code, value, default in (("L-100E963F", fis_quotas[0], 6.0), ("L-48D12416", fis_quotas[1], 5.0)):
        asked = {"ServiceCode": "fis", "QuotaCode": code}
        if value is None:
            quotas.add_client_error("get_service_quota", "NoSuchResourceException", "The request failed because the specified service quota does not exist.", expected_params=asked)
            quotas.add_response("get_aws_default_service_quota", {"Quota": {"Value": default}}, asked)
        else:
            quotas.add_response("get_service_quota", {"Quota": {"Value": value}}, asked)


def _history(*events: tuple[str, float, dict]) -> dict:
    return {"events": [{"id": number, "type": kind, "timestamp": at(seconds), **details}
                       for number, (kind, seconds, details) in enumerate(events, 1)]}


STARTED = ("ExecutionStarted", 30, {"executionStartedEventDetails": {"input": "{}"}})
FAILED_RUN = (
    STARTED,
    ("TaskStateEntered", 31, {"stateEnteredEventDetails": {"name": "PromoteDatabase"}}),
    ("TaskScheduled", 31, {"taskScheduledEventDetails": {"resourceType": "lambda", "resource": "invoke", "region": DR, "parameters": "{}"}}),
    ("TaskFailed", 33, {"taskFailedEventDetails": {"resourceType": "lambda", "resource": "invoke", "error": "PromotionRefused", "cause": "the global cluster is busy"}}),
    ("FailStateEntered", 34, {"stateEnteredEventDetails": {"name": "NotifyFailure"}}),
    ("ExecutionFailed", 35, {"executionFailedEventDetails": {"error": "FailoverFailed", "cause": "PromoteDatabase"}}),
)


def _stub_runbook(session: StubbedSession, history: tuple) -> str:
    """The failover command's calls: who am I, nothing running, start, the history twice (the
    second after one poll); returns the execution's name pattern check."""
    session.stub("sts", DR).add_response("get_caller_identity", {"Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:user/t", "UserId": "U"})
    for region in (PRIMARY, DR):
        session.stub("stepfunctions", region).add_response("list_executions", {"executions": []}, {
            "stateMachineArn": MACHINE.replace(DR, region), "statusFilter": "RUNNING"})
    sfn = session.stub("stepfunctions", DR)
    sfn.add_response("start_execution", {"executionArn": f"{MACHINE}:x".replace(":stateMachine:", ":execution:"), "startDate": at(30)},
                     {"stateMachineArn": MACHINE, "name": ANY, "input": ANY})
    sfn.add_response("get_execution_history", _history(STARTED), None)
    return MACHINE


def _stub_report(session: StubbedSession, history: tuple, switch_at: float | None) -> None:
    sfn = session.stub("stepfunctions", DR)
    execution = MACHINE.replace(":stateMachine:", ":execution:") + ":x"
    sfn.add_response("describe_execution", {"executionArn": execution, "stateMachineArn": MACHINE, "status": "FAILED",
                                            "startDate": at(30), "input": json.dumps({"mode": "planned", "trigger": "operator"})}, None)
    sfn.add_response("get_execution_history", _history(*history), None)
    _stub_measurements(session, switch_at)


def _stub_measurements(session: StubbedSession, switch_at: float | None) -> None:
    def alarm(region: str, name: str, turned: float | None) -> None:
        items = [] if turned is None else [
            {"AlarmName": name, "Timestamp": at(turned), "HistoryItemType": "StateUpdate", "HistorySummary": "to ALARM",
             "HistoryData": json.dumps({"newState": {"stateValue": "ALARM"}, "oldState": {"stateValue": "OK"}})}]
        session.stub("cloudwatch", region).add_response("describe_alarm_history", {"AlarmHistoryItems": items}, {
            "AlarmName": name, "HistoryItemType": "StateUpdate", "StartDate": at(0), "EndDate": ANY, "ScanBy": "TimestampAscending"})

    alarm(CFG.route53_metrics_region, f"{naming.prefix(CFG)}-route53-primary-unhealthy", 95)
    alarm(PRIMARY, naming.alarm(CFG, "alb-target-5xx").for_region(PRIMARY), None)
    alarm(PRIMARY, naming.alarm(CFG, "dr-not-ready").for_region(PRIMARY), None)
    alarm(DR, naming.failover_switch_alarm(CFG).for_region(DR), switch_at)
    session.stub("rds", DR).add_response("describe_events", {"Events": [
        {"SourceIdentifier": naming.db_cluster(CFG).for_region(DR), "SourceType": "db-cluster", "Date": at(40),
         "Message": "Global switchover to DB cluster started"},
    ]}, {"SourceIdentifier": naming.db_cluster(CFG).for_region(DR), "SourceType": "db-cluster", "StartTime": at(0), "EndTime": ANY})


@pytest.fixture
def passed_dry_run(monkeypatch):
    monkeypatch.setattr(gameday, "readiness_dry_run", lambda cfg, aws, region, mode, out: 0)


def _run(session, tmp_path, lines, sleep=lambda seconds: None, **options):
    return gameday.run_gameday(CFG, DR, session=session, out=lines.append, sleep=sleep, clock=lambda: 0.0,
                               reports=tmp_path / "reports", **options)


ACTIONS = {
    gameday_template.ISOLATE_ACTION: {"actionId": gameday_template.ISOLATE_ACTION_ID, "state": {"status": "running"}, "startTime": at(2)},
    gameday_template.STOP_TASKS_ACTION: {"actionId": gameday_template.STOP_TASKS_ACTION_ID, "state": {"status": "completed"}, "startTime": at(2)},
}


def test_a_failed_runbook_still_stops_the_experiment_and_reports_in_order(passed_dry_run, tmp_path):
    session = StubbedSession()
    _stub_dry_run(session)
    fis = session.stub("fis", PRIMARY)
    fis.add_response("start_experiment", _experiment("initiating"),
                     {"experimentTemplateId": TEMPLATE_ID, "clientToken": ANY, "tags": ANY})
    fis.add_response("get_experiment", _experiment("running", startTime=at(0), actions=ACTIONS), {"id": EXPERIMENT_ID})
    _stub_runbook(session, FAILED_RUN)
    fis.add_response("get_experiment", _experiment("running", startTime=at(0), actions=ACTIONS), {"id": EXPERIMENT_ID})
    session.stub("stepfunctions", DR).add_response("get_execution_history", _history(*FAILED_RUN), None)
    fis.add_response("get_experiment", _experiment("running", startTime=at(0), actions=ACTIONS), {"id": EXPERIMENT_ID})
    fis.add_response("stop_experiment", _experiment("stopping"), {"id": EXPERIMENT_ID})
    fis.add_response("get_experiment", _experiment("stopped", startTime=at(0), endTime=at(60), actions=ACTIONS), {"id": EXPERIMENT_ID})
    _stub_report(session, FAILED_RUN, switch_at=None)
    lines: list[str] = []

    assert _run(session, tmp_path, lines) == 1, "\n".join(lines)

    session.assert_all_called()
    watched = [c for c in session.calls if c not in ("GetCallerIdentity", "ListExecutions", "DescribeRouteTables", "GetServiceQuota", "ListTasks")]
    assert watched == [
        "ListExperimentTemplates", "GetExperimentTemplate", "StartExperiment", "GetExperiment",
        "StartExecution", "GetExecutionHistory", "GetExperiment", "GetExecutionHistory",
        "GetExperiment", "StopExperiment", "GetExperiment",
        "DescribeExecution", "GetExecutionHistory", *["DescribeAlarmHistory"] * 4, "DescribeEvents",
    ]
    assert any("Execution FAILED" in line for line in lines)
    assert any(line.startswith("Stopping experiment") for line in lines)
    report = json.loads(next((tmp_path / "reports").glob("*.json")).read_text())
    assert report["outcome"] == "FAILED" and report["stopped_at"] == "PromoteDatabase"
    measured = {e["event"]: e["seconds"] for e in report["gameday"]["events"]}
    assert measured["Route 53 health check of the primary record unhealthy"] == 95
    assert measured["failover switch thrown (its alarm in the DR region)"] is None
    assert measured[f"FIS action {gameday_template.ISOLATE_ACTION} ({gameday_template.ISOLATE_ACTION_ID}) started"] == 2
    assert report["gameday"]["fault_to_switch_seconds"] is None
    assert "Game day" in (tmp_path / "reports" / f"{report['failover_id']}.html").read_text()


def test_an_interrupt_while_watching_stops_the_experiment(passed_dry_run, tmp_path):
    session = StubbedSession()
    _stub_dry_run(session)
    fis = session.stub("fis", PRIMARY)
    fis.add_response("start_experiment", _experiment("initiating"), None)
    fis.add_response("get_experiment", _experiment("running", actions=ACTIONS), {"id": EXPERIMENT_ID})
    _stub_runbook(session, FAILED_RUN)
    fis.add_response("get_experiment", _experiment("running"), {"id": EXPERIMENT_ID})
    fis.add_response("get_experiment", _experiment("running"), {"id": EXPERIMENT_ID})
    fis.add_response("stop_experiment", _experiment("stopping"), {"id": EXPERIMENT_ID})
    fis.add_response("get_experiment", _experiment("stopped"), {"id": EXPERIMENT_ID})
    lines: list[str] = []

    def interrupted(seconds):
        raise KeyboardInterrupt

    assert _run(session, tmp_path, lines, sleep=interrupted) == 1
    session.assert_all_called()
    assert session.calls[-2:] == ["StopExperiment", "GetExperiment"]
    assert any(line.startswith("Interrupted") for line in lines)


class Clock:
    """This command's clock, moved by its sleeps only."""

    def __init__(self):
        self.now = 0.0

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _isolating(status: str) -> dict:
    actions = {**ACTIONS, gameday_template.ISOLATE_ACTION: {**ACTIONS[gameday_template.ISOLATE_ACTION], "state": {"status": status}}}
    return _experiment("running", startTime=at(0), actions=actions)


def test_the_runbook_waits_for_the_isolation_itself_however_slow_fis_is(passed_dry_run, tmp_path):
    """The experiment running is not the subnets cut off: the isolate action's own state is, and
    FIS takes as long as it takes (minutes, past the old 120 s)."""
    session = StubbedSession()
    _stub_dry_run(session)
    fis = session.stub("fis", PRIMARY)
    fis.add_response("start_experiment", _experiment("initiating"), None)
    fis.add_response("get_experiment", _experiment("initiating"), {"id": EXPERIMENT_ID})
    for _ in range(3):
        fis.add_response("get_experiment", _isolating("pending"), {"id": EXPERIMENT_ID})
    fis.add_response("get_experiment", _isolating("running"), {"id": EXPERIMENT_ID})
    _stub_runbook(session, FAILED_RUN)
    clock = Clock()
    lines: list[str] = []

    def interrupted_once_the_runbook_started(seconds):
        if "StartExecution" in session.calls:
            raise KeyboardInterrupt
        clock.sleep(seconds)

    fis.add_response("get_experiment", _isolating("running"), {"id": EXPERIMENT_ID})  # between the runbook's polls
    fis.add_response("get_experiment", _isolating("running"), {"id": EXPERIMENT_ID})  # before stopping
    fis.add_response("stop_experiment", _experiment("stopping"), {"id": EXPERIMENT_ID})
    fis.add_response("get_experiment", _experiment("stopped"), {"id": EXPERIMENT_ID})
    status = gameday.run_gameday(CFG, DR, session=session, out=lines.append, sleep=interrupted_once_the_runbook_started,
                                 clock=lambda: clock.now, reports=tmp_path, poll_seconds=60, fis_wait_seconds=600)
    assert status == 1 and clock.now == 240
    session.assert_all_called()
    assert session.calls.index("StartExecution") > 4 + session.calls.index("StartExperiment")
    assert any("stop it: aws fis stop-experiment" in line and "put-metric-data" in line for line in lines[:12])


def test_an_isolation_that_never_runs_within_the_wait_starts_no_runbook(passed_dry_run, tmp_path):
    session = StubbedSession()
    _stub_dry_run(session)
    fis = session.stub("fis", PRIMARY)
    fis.add_response("start_experiment", _experiment("initiating"), None)
    for _ in range(3):
        fis.add_response("get_experiment", _isolating("pending"), {"id": EXPERIMENT_ID})
    fis.add_response("get_experiment", _isolating("pending"), {"id": EXPERIMENT_ID})
    fis.add_response("stop_experiment", _experiment("stopping"), {"id": EXPERIMENT_ID})
    fis.add_response("get_experiment", _experiment("stopped"), {"id": EXPERIMENT_ID})
    clock = Clock()
    lines: list[str] = []
    status = gameday.run_gameday(CFG, DR, session=session, out=lines.append, sleep=clock.sleep, clock=lambda: clock.now,
                                 reports=tmp_path, poll_seconds=60, fis_wait_seconds=120)
    assert status == 1
    session.assert_all_called()
    assert "StartExecution" not in session.calls
    assert any(f"its action {gameday_template.ISOLATE_ACTION} pending" in line for line in lines)


@pytest.mark.parametrize("stopping_polls, ended", [(4, True), (20, False)])
def test_a_slow_stop_is_followed_and_never_stopped_twice(stopping_polls, ended):
    """``stopping`` is FIS restoring the route tables: followed for the configured wait; past it,
    the command says to follow it, never to stop an experiment that is stopping."""
    session = StubbedSession()
    fis = session.stub("fis", PRIMARY)
    fis.add_response("get_experiment", _experiment("running"), {"id": EXPERIMENT_ID})
    fis.add_response("stop_experiment", _experiment("stopping"), {"id": EXPERIMENT_ID})
    polls = min(stopping_polls, 11)  # a poll a minute for 600 s, the one at the deadline included
    for _ in range(polls):
        fis.add_response("get_experiment", _experiment("stopping"), {"id": EXPERIMENT_ID})
    if ended:
        fis.add_response("get_experiment", _experiment("stopped"), {"id": EXPERIMENT_ID})
    clock = Clock()
    lines: list[str] = []
    experiment = gameday._Experiment(CFG, gameday._Aws(session), _experiment("initiating")["experiment"], lines.append)
    assert experiment.stop(clock.sleep, lambda: clock.now, 60, 600) is ended
    session.assert_all_called()
    assert session.calls.count("StopExperiment") == 1
    if not ended:
        assert any("still stopping after 600 s" in line and "aws fis get-experiment" in line for line in lines)
        assert not any("stop-experiment" in line for line in lines)


def test_an_experiment_that_is_already_stopping_is_not_stopped_again():
    session = StubbedSession()
    fis = session.stub("fis", PRIMARY)
    fis.add_response("get_experiment", _experiment("stopping"), {"id": EXPERIMENT_ID})
    fis.add_response("get_experiment", _experiment("stopped"), {"id": EXPERIMENT_ID})
    experiment = gameday._Experiment(CFG, gameday._Aws(session), _experiment("running")["experiment"], [].append)
    assert experiment.stop(lambda s: None, lambda: 0.0, 60, 600)
    session.assert_all_called()
    assert "StopExperiment" not in session.calls


def test_an_experiment_that_does_not_run_starts_no_runbook(passed_dry_run, tmp_path):
    session = StubbedSession()
    _stub_dry_run(session)
    fis = session.stub("fis", PRIMARY)
    fis.add_response("start_experiment", _experiment("initiating"), None)
    fis.add_response("get_experiment", {"experiment": {"id": EXPERIMENT_ID, "state": {"status": "failed", "reason": "Target resolution failed"}}}, None)
    fis.add_response("get_experiment", {"experiment": {"id": EXPERIMENT_ID, "state": {"status": "failed", "reason": "Target resolution failed"}}}, None)
    lines: list[str] = []
    assert _run(session, tmp_path, lines) == 1
    session.assert_all_called()
    assert "StartExecution" not in session.calls and "StopExperiment" not in session.calls
    assert any("Target resolution failed" in line for line in lines)


def test_a_quota_without_room_for_fis_routes_starts_nothing(passed_dry_run, tmp_path):
    session = StubbedSession()
    _stub_dry_run(session, quota=50.0)
    lines: list[str] = []
    assert _run(session, tmp_path, lines) == 1
    session.assert_all_called()
    assert "StartExperiment" not in session.calls
    assert any("FAIL  routes per route table: quota 50" in line for line in lines)
    assert any("--quota-code L-93826ACB --desired-value" in line for line in lines)


@pytest.mark.parametrize("isolated, runnable, room", [("us-west-2", True, 250), ("us-east-1", False, 350)])
def test_the_room_fis_needs_is_350_routes_when_it_isolates_us_east_1(isolated, runnable, room):
    """AWS's figure: 250 routes, 350 when the action's region parameter is us-east-1."""
    session = StubbedSession()
    _stub_dry_run(session, quota=300.0, isolated=isolated)  # the largest table holds 3 routes
    lines: list[str] = []
    assert gameday.experiment_dry_run(CFG, gameday._Aws(session), lines.append) == (TEMPLATE_ID, runnable)
    session.assert_all_called()
    assert any(f"FIS needs room for {room} (isolating {isolated})" in line for line in lines)


def test_more_running_tasks_than_fis_may_stop_starts_nothing_and_says_what_to_ask_for(passed_dry_run, tmp_path):
    """6 tasks against the default "Target Tasks for aws:ecs:stop-task" (5, never raised here)."""
    session = StubbedSession()
    _stub_dry_run(session, tasks=6, fis_quotas=(None, None))
    lines: list[str] = []
    assert _run(session, tmp_path, lines) == 1
    session.assert_all_called()
    assert "StartExperiment" not in session.calls
    assert any("PASS  FIS target quota L-100E963F: 2 target subnets, at most 6" in line for line in lines)
    assert any("FAIL  FIS target quota L-48D12416: 6 running tasks" in line and "at most 5" in line for line in lines)
    assert any("--service-code fis --quota-code L-48D12416 --desired-value 6" in line for line in lines)


def test_more_target_subnets_than_the_applied_quota_starts_nothing(passed_dry_run, tmp_path):
    session = StubbedSession()
    _stub_dry_run(session, fis_quotas=(1.0, 5.0))
    lines: list[str] = []
    assert _run(session, tmp_path, lines) == 1
    assert any("FAIL  FIS target quota L-100E963F: 2 target subnets, at most 1" in line for line in lines)


def test_a_failed_readiness_check_starts_nothing(monkeypatch, tmp_path):
    monkeypatch.setattr(gameday, "readiness_dry_run", lambda cfg, aws, region, mode, out: 1)
    session = StubbedSession()
    lines: list[str] = []
    assert _run(session, tmp_path, lines) == 1
    assert session.calls == []


@pytest.mark.parametrize(
    "cfg_mapping, region, options, expected",
    [
        ({}, "us-west-2", {}, "the game day is off"),
        ({"gameday": {"enabled": True}}, "us-east-1", {}, "a game day fails the primary (us-east-1) over to the DR region"),
        ({"gameday": {"enabled": True}}, "us-west-2", {"mode": "unplanned"}, "add --accept-data-loss"),
    ],
)
def test_bad_input_is_one_line_and_exit_2_before_any_aws_call(cfg_mapping, region, options, expected, tmp_path):
    session = StubbedSession()
    lines: list[str] = []
    status = gameday.run_gameday(config_from_mapping(cfg_mapping), region, session=session, out=lines.append,
                                 reports=tmp_path, **options)
    assert status == 2 and len(lines) == 1 and expected in lines[0]
    assert session.calls == []


def test_the_phases_are_timed_by_aws_from_the_experiments_start():
    """Fault to switch is the switch alarm's turn after the experiment started, whatever this
    command's clock says; events come out in AWS's order."""
    session = StubbedSession()
    _stub_measurements(session, switch_at=212.5)
    aws = gameday._Aws(session)
    experiment = _experiment("stopped", startTime=at(0), endTime=at(300), actions=ACTIONS)["experiment"]
    measured = gameday.measurements(CFG, aws, experiment, at(400))
    assert measured["fault_to_switch_seconds"] == 212.5
    seconds = [e["seconds"] for e in measured["events"] if e["seconds"] is not None]
    assert seconds == sorted(seconds) and seconds[-1] == 300
    assert [e["event"] for e in measured["events"] if e["seconds"] is None] == [
        "app 5xx alarm in the primary region", "readiness alarm in the primary region"]
    session.assert_all_called()
