"""Failover reports (checks/failover_report.py) from drilled runs, the drill's report folder,
and ``build.py report`` against botocore Stubbers serving a drilled run's real history.

The drills run once for the module: a planned run there and back (succeeds) and a DR service
that cannot serve (fails at its capacity check).
"""

from __future__ import annotations

import contextlib
import html.parser
import io
import json
from datetime import datetime, timedelta, timezone

import boto3
import pytest
from botocore.response import StreamingBody
from moto.sns.models import sns_backends
from botocore.stub import Stubber

from checks import budget, failover_report
from checks.drill.harness import Drill
from checks.drill.network import THROTTLE, Fault
from checks.drill.scenarios import SCENARIOS, run_report, write_reports
from checks.resolved import ACCOUNT_ID
from ops import report as report_cli
from ops.errors import EXIT_BAD_INPUT, EXIT_PROBLEM
from ops.failover import runbook_arn
from templates import dns, naming, runbook
from templates.config import Config, ReportsConfig
from templates.reports import report_keys

CFG = Config()
ACCOUNT = "111122223333"


@pytest.fixture(scope="module")
def drilled():
    with contextlib.redirect_stdout(io.StringIO()):  # the functions' JSON logs
        reports = {name: SCENARIOS[name]() for name in ("planned_there_and_back", "dr_service_cannot_serve")}
    for report in reports.values():
        assert not report.problems, report.problems
    return reports


def _outcome(drilled, scenario: str, run: int = 0):
    return drilled[scenario].runs[run][1]


def _span(outcome, first: str, states: tuple[str, ...]) -> float:
    """Simulated seconds from ``first`` entered to the last of ``states`` exited, from the
    harness's own per-state durations (the loop's states run back to back)."""
    return sum(seconds for name, _, seconds in outcome.states if name in (first, *states))


class Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.classes, self.text = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.classes.append((tag, dict(attrs).get("class")))

    def handle_data(self, data):
        self.text.append(data)


def _parse(text: str) -> Page:
    page = Page()
    page.feed(text)
    page.close()
    return page


def test_a_drilled_runs_phases_match_the_simulated_timeline(drilled):
    outcome = _outcome(drilled, "planned_there_and_back")
    report = run_report(outcome)
    phases = {p["name"]: p for p in report["phases"]}
    promotion_loop = ("CheckWriter", "WriterReady?", "CountWriterCheck", "WriterWaitedTooLong?", "WaitBeforeWriterCheck", "RememberWriterPolls")
    # The drill's Aurora fake takes a minute to switch over: the loop waits it out.
    assert phases["promotion"]["seconds"] == pytest.approx(_span(outcome, "PromoteDatabase", promotion_loop), abs=0.01)
    assert phases["promotion"]["seconds"] >= 60
    assert phases["capacity"]["seconds"] == pytest.approx(_span(outcome, "ScaleService", ("CheckCapacity", "CapacityReady?")), abs=0.01)
    assert phases["promotion"]["budget_seconds"] == sum(
        p.seconds for p in budget.for_timing(CFG, dns.timing(CFG)).phases if p.name in ("promote", "promotion"))
    # Serving, as far as the runbook goes: its start to the switch published (SwitchTraffic done).
    steps = {s["state"]: s for s in report["steps"]}
    assert report["rto"]["runbook_to_switch_seconds"] == steps["SwitchTraffic"]["end"]
    assert steps["SwitchTraffic"]["end"] - phases["switch"]["start"] == pytest.approx(_span(outcome, "SwitchTraffic", ()), abs=0.01)
    assert report["rto"]["within_objective"] is True
    assert (report["outcome"], report["stopped_at"], report["mode"], report["trigger"]) == ("SUCCEEDED", None, "planned", "operator")
    assert report["lag_accepted_ms"] == 0 and report["rpo"]["within_objective"] is True
    assert report["seconds"] == pytest.approx(outcome.seconds, abs=0.5)
    assert steps["CheckWriter"]["entered"] == dict((n, c) for n, c, _ in outcome.states)["CheckWriter"]
    assert steps["PromoteDatabase"]["result"]["accepted_lag_ms"] == 0


def test_a_failed_run_shows_where_it_stopped_and_why(drilled):
    report = run_report(_outcome(drilled, "dr_service_cannot_serve"))
    assert (report["outcome"], report["error"], report["stopped_at"]) == ("FAILED", "CapacityNotReady", "CheckCapacity")
    assert "no healthy target" in report["cause"]
    (failed,) = [p for p in report["phases"] if p["failed"]]
    assert failed["name"] == "capacity"
    assert "promotion" not in {p["name"] for p in report["phases"]}  # it stopped before promoting
    assert report["rto"]["runbook_to_switch_seconds"] is None and report["rpo"]["data_loss_seconds"] is None
    page = failover_report.page(report)
    assert "FAILED" in "".join(_parse(page).text) and "CapacityNotReady" in page


def test_the_page_is_html_with_one_svg_bar_per_phase(drilled):
    for scenario in drilled:
        report = run_report(_outcome(drilled, scenario))
        page = _parse(failover_report.page(report))
        assert page.tags.count("svg") == 1
        assert page.classes.count(("rect", "phase")) == len(report["phases"]) > 0
        assert page.classes.count(("rect", "step")) == len(report["steps"])
        assert not {"script", "link", "img", "iframe"} & set(page.tags)


def test_every_string_in_the_page_is_escaped(drilled):
    outcome = _outcome(drilled, "dr_service_cannot_serve")
    hostile = '<script>alert("x")</script>&'
    report = run_report(outcome)
    report["failover_id"] = hostile
    report["cause"] = hostile
    report["steps"][0]["errors"].append({"at": 0, "error": hostile, "cause": hostile})
    report["steps"][0]["state"] = hostile
    page = failover_report.page(report)
    assert "<script" not in page and "&lt;script&gt;" in page
    assert "script" not in _parse(page).tags


def test_the_drill_writes_every_runs_report_and_an_index(drilled, tmp_path):
    index = write_reports(list(drilled.values()), tmp_path)
    runs = sum(len(r.runs) for r in drilled.values())
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".html"] * (runs + 1) + [".json"] * runs
    links = [v for tag, v in _parse(index.read_text()).classes if tag == "a"]
    assert len(links) == runs
    text = index.read_text()
    assert "dr_service_cannot_serve" in text and "FAILED at CheckCapacity CapacityNotReady" in text
    for path in tmp_path.glob("*.json"):
        assert json.loads(path.read_text())["phases"]


# --- build.py report ---------------------------------------------------------------------


class StubbedSession:
    """Stands in for boto3.Session: one Stubber-backed client per (service, region)."""

    def __init__(self):
        self._boto = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing")
        self.stubbers: dict[tuple[str, str], Stubber] = {}
        self.clients = {}

    def stub(self, service: str, region: str) -> Stubber:
        client = self._boto.client(service, region_name=region)
        self.clients[service, region] = client
        self.stubbers[service, region] = Stubber(client)
        self.stubbers[service, region].activate()
        return self.stubbers[service, region]

    def client(self, service, region_name, config=None):
        return self.clients[service, region_name]


def _no_copy(session: StubbedSession, region: str, failover_id: str, code: str = "NoSuchKey") -> None:
    """STS, then the report bucket without the run's copy (its JSON is asked first)."""
    session.stub("sts", region).add_response("get_caller_identity", {"Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:user/x", "UserId": "x"})
    bucket = naming.report_bucket(CFG).pattern.replace("${AWS::AccountId}", ACCOUNT).replace("${AWS::Region}", region)
    session.stub("s3", region).add_client_error("get_object", code, "missing", http_status_code=404 if code.startswith("NoSuch") else 403,
                                                expected_params={"Bucket": bucket, "Key": report_keys(failover_id)[0]})


def _served(session: StubbedSession, region: str, failover_id: str, outcome=None) -> str:
    """No bucket copy, then DescribeExecution in ``region``; with an outcome, its history in two pages."""
    _no_copy(session, region, failover_id)
    sfn = session.stub("stepfunctions", region)
    arn = runbook_arn(CFG, region, ACCOUNT).replace(":stateMachine:", ":execution:") + f":{failover_id}"
    if outcome is None:
        sfn.add_client_error("describe_execution", "ExecutionDoesNotExist", "Execution Does Not Exist", expected_params={"executionArn": arn})
        return arn
    history = outcome.history
    start = history[0]["timestamp"]
    sfn.add_response("describe_execution", {
        "executionArn": arn, "stateMachineArn": runbook_arn(CFG, region, ACCOUNT), "name": failover_id, "status": outcome.status,
        "startDate": start, "stopDate": start + timedelta(seconds=outcome.seconds), "input": json.dumps(outcome.request),
    }, {"executionArn": arn})
    half = len(history) // 2
    sfn.add_response("get_execution_history", {"events": history[:half], "nextToken": "page-2"}, {"executionArn": arn, "maxResults": 1000})
    sfn.add_response("get_execution_history", {"events": history[half:]}, {"executionArn": arn, "maxResults": 1000, "nextToken": "page-2"})
    return arn


def test_report_builds_from_the_paginated_history_what_the_drill_built(drilled, tmp_path):
    outcome = _outcome(drilled, "dr_service_cannot_serve")
    session, lines = StubbedSession(), []
    _served(session, CFG.dr_region, "drill-unhealthy", outcome)

    code = report_cli.run_report(CFG, "drill-unhealthy", CFG.dr_region, tmp_path / "reports", session=session, out=lines.append)

    assert code == 0, lines
    for stubber in session.stubbers.values():
        stubber.assert_no_pending_responses()
    written = json.loads((tmp_path / "reports" / "drill-unhealthy.json").read_text())
    assert written == json.loads(json.dumps(run_report(outcome)))
    assert (tmp_path / "reports" / "drill-unhealthy.html").is_file()
    assert lines == [f"FAILED at CheckCapacity: {tmp_path / 'reports' / 'drill-unhealthy.html'} and drill-unhealthy.json (from the execution's history)"]


def test_report_without_region_asks_the_dr_region_then_the_primary(drilled, tmp_path):
    session = StubbedSession()
    _served(session, CFG.dr_region, "drill-back")
    _served(session, CFG.primary_region, "drill-back", _outcome(drilled, "planned_there_and_back", 1))
    assert report_cli.run_report(CFG, "drill-back", None, tmp_path, session=session, out=[].append) == 0
    assert json.loads((tmp_path / "drill-back.json").read_text())["region"] == CFG.primary_region


def test_report_without_region_reads_the_dr_history_before_asking_the_lost_primary(drilled, tmp_path):
    """A regional outage: the DR region's copy, then its history, settle it; the primary (no stub:
    asking it would fail the test) is never asked."""
    session, lines = StubbedSession(), []
    _served(session, CFG.dr_region, "drill-unhealthy", _outcome(drilled, "dr_service_cannot_serve"))
    assert report_cli.run_report(CFG, "drill-unhealthy", None, tmp_path, session=session, out=lines.append) == 0, lines
    assert not any(region == CFG.primary_region for _, region in session.stubbers)


def test_report_without_region_skips_an_unreachable_region_with_a_warning(drilled, tmp_path):
    session, lines = StubbedSession(), []
    session.stub("sts", CFG.dr_region).add_client_error("get_caller_identity", "ServiceUnavailable", "down", http_status_code=503)
    _served(session, CFG.primary_region, "drill-back", _outcome(drilled, "planned_there_and_back", 1))
    assert report_cli.run_report(CFG, "drill-back", None, tmp_path, session=session, out=lines.append) == 0, lines
    assert lines[0].startswith(f"warning: skipping {CFG.dr_region}: GetCallerIdentity in {CFG.dr_region} failed") and len(lines) == 2
    assert json.loads((tmp_path / "drill-back.json").read_text())["region"] == CFG.primary_region


def test_report_when_no_region_answers_exits_1(tmp_path):
    session, lines = StubbedSession(), []
    for region in (CFG.dr_region, CFG.primary_region):
        session.stub("sts", region).add_client_error("get_caller_identity", "ServiceUnavailable", "down", http_status_code=503)
    assert report_cli.run_report(CFG, "x", None, tmp_path / "r", session=session, out=lines.append) == EXIT_PROBLEM
    assert [line.split(":")[0] for line in lines] == ["warning", "warning", "error"] and not (tmp_path / "r").exists()


def test_report_of_an_execution_that_does_not_exist_exits_1_in_one_line(tmp_path):
    session, lines = StubbedSession(), []
    _served(session, CFG.dr_region, "nope")
    _served(session, CFG.primary_region, "nope")
    assert report_cli.run_report(CFG, "nope", None, tmp_path / "r", session=session, out=lines.append) == EXIT_PROBLEM
    assert lines == [f"error: no runbook execution named nope in {CFG.dr_region} or {CFG.primary_region}"]
    assert not (tmp_path / "r").exists()


def test_report_takes_the_copy_the_run_wrote_to_its_bucket_as_it_is(drilled, tmp_path, monkeypatch):
    outcome = _outcome(drilled, "dr_service_cannot_serve")
    written = outcome.written_report
    assert written is not None and written["stopped_at"] == "CheckCapacity", "the run wrote its own report"
    session, lines, opened = StubbedSession(), [], []
    session.stub("sts", CFG.dr_region).add_response("get_caller_identity", {"Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:user/x", "UserId": "x"})
    s3 = session.stub("s3", CFG.dr_region)
    bucket = naming.report_bucket(CFG).pattern.replace("${AWS::AccountId}", ACCOUNT).replace("${AWS::Region}", CFG.dr_region)
    json_text = json.dumps(written)
    for key, body in zip(report_keys("drill-unhealthy"), (json_text, "<!DOCTYPE html><svg></svg>")):
        s3.add_response("get_object", {"Body": StreamingBody(io.BytesIO(body.encode()), len(body))}, {"Bucket": bucket, "Key": key})
    monkeypatch.setattr(report_cli.webbrowser, "open", lambda uri: opened.append(uri) or True)

    code = report_cli.run_report(CFG, "drill-unhealthy", None, tmp_path, session=session, out=lines.append, open_page=True)

    assert code == 0, lines
    assert (tmp_path / "drill-unhealthy.json").read_text() == json_text, "the evidence as the run wrote it"
    assert lines == [f"FAILED at CheckCapacity: {tmp_path / 'drill-unhealthy.html'} and drill-unhealthy.json "
                     f"(from s3://{bucket}/{report_keys('drill-unhealthy')[1]})"]
    assert opened == [(tmp_path / "drill-unhealthy.html").resolve().as_uri()]
    assert ("stepfunctions", CFG.dr_region) not in session.stubbers, "the history is not read"


def test_report_open_without_a_browser_prints_the_path(drilled, tmp_path, monkeypatch):
    session, lines = StubbedSession(), []
    _served(session, CFG.dr_region, "drill-unhealthy", _outcome(drilled, "dr_service_cannot_serve"))
    monkeypatch.setattr(report_cli.webbrowser, "open", lambda uri: False)
    assert report_cli.run_report(CFG, "drill-unhealthy", CFG.dr_region, tmp_path, session=session, out=lines.append, open_page=True) == 0
    assert lines[-1] == f"no browser to open it with: open {(tmp_path / 'drill-unhealthy.html').resolve()}"


def test_report_denied_the_bucket_says_which_permission_in_one_line(tmp_path):
    session, lines = StubbedSession(), []
    _no_copy(session, CFG.dr_region, "x", code="AccessDenied")
    assert report_cli.run_report(CFG, "x", CFG.dr_region, tmp_path / "r", session=session, out=lines.append) == EXIT_PROBLEM
    assert len(lines) == 1 and "lack s3:GetObject" in lines[0] and CFG.dr_region in lines[0]
    assert "when s3:ListBucket is not allowed" in lines[0] and "docs/reports.md" in lines[0]
    assert not (tmp_path / "r").exists()


def test_report_of_an_unreachable_region_exits_1_in_one_line(tmp_path):
    session, lines = StubbedSession(), []
    session.stub("sts", CFG.dr_region).add_client_error("get_caller_identity", "ServiceUnavailable", "down", http_status_code=503)
    assert report_cli.run_report(CFG, "x", CFG.dr_region, tmp_path, session=session, out=lines.append) == EXIT_PROBLEM
    assert len(lines) == 1 and lines[0].startswith("error: GetCallerIdentity in") and "ServiceUnavailable" in lines[0]


@pytest.mark.parametrize("failover_id, region, problem", [
    ("bad id!", None, "failover id 'bad id!'"),
    ("x" * 81, None, "1 to 80"),
    ("ok", "eu-north-9", "--region eu-north-9: not a region of this configuration"),
])
def test_report_bad_input_exits_2_before_any_call(failover_id, region, problem, tmp_path):
    lines = []
    assert report_cli.run_report(CFG, failover_id, region, tmp_path, session=object(), out=lines.append) == EXIT_BAD_INPUT
    assert len(lines) == 1 and problem in lines[0]


def test_a_run_refused_before_any_step_stopped_at_the_refusal():
    start = datetime(2030, 1, 1, tzinfo=timezone.utc)
    events = [("ExecutionStarted", {}), ("PassStateEntered", {"name": "Start"}), ("ChoiceStateEntered", {"name": "RequestRefused?"}),
              ("PassStateEntered", {"name": "DataLossNotAccepted"}), ("TaskStateEntered", {"name": "NotifyFailure"}),
              ("TaskStateExited", {"name": "NotifyFailure"}), ("ExecutionFailed", {"error": "DataLossNotAccepted", "cause": "no"})]
    history = [{"id": n, "timestamp": start + timedelta(seconds=n), "type": kind,
                ("stateEnteredEventDetails" if "Entered" in kind else "stateExitedEventDetails" if "Exited" in kind else "details"): details}
               for n, (kind, details) in enumerate(events)]
    history[-1]["executionFailedEventDetails"] = history[-1].pop("details")
    report = failover_report.build(history, {"failover_id": "r", "mode": "unplanned"}, budget.for_timing(CFG, dns.timing(CFG)))
    assert (report["outcome"], report["error"], report["stopped_at"], report["phases"]) == ("FAILED", "DataLossNotAccepted", "DataLossNotAccepted", [])
    assert report["seconds"] == 6
    assert _parse(failover_report.page(report)).tags.count("svg") == 1


# --- the run's own report ------------------------------------------------------------------


def test_a_run_whose_report_cannot_be_written_ends_as_it_would_and_says_why():
    """S3 throttles every upload: the run still serves from the DR region and succeeds, the
    notification names the failure, and the history still gives the report."""
    with contextlib.redirect_stdout(io.StringIO()), Drill() as drill:
        drill.network.faults.append(Fault("PutObject", THROTTLE, 50))
        outcome = drill.run(CFG.dr_region, {"failover_id": "drill-no-bucket"})
        (notice,) = _messages(CFG.dr_region)
    assert (outcome.status, drill.aurora.writer) == ("SUCCEEDED", CFG.dr_region)
    assert outcome.written_report is None
    assert "report: not written (" in notice and "build.py report drill-no-bucket" in notice
    assert run_report(outcome)["outcome"] == "SUCCEEDED"


def test_a_failover_that_served_stays_succeeded_when_its_notification_fails():
    """SNS refuses every publication: the run (and its report, written before) still say
    SUCCEEDED; the notification's failure does not overwrite the report as FAILED."""
    with contextlib.redirect_stdout(io.StringIO()), Drill() as drill:
        drill.network.faults.append(Fault("Publish", THROTTLE, 10_000))
        outcome = drill.run(CFG.dr_region, {"failover_id": "drill-no-sns"})
        bucket = drill.regions[CFG.dr_region].bootstrap["ReportBucket"]["Properties"]["BucketName"]
        versions = drill.client("s3", CFG.dr_region).list_object_versions(Bucket=bucket, Prefix=report_keys("drill-no-sns")[0])["Versions"]
    entered = [e["stateEnteredEventDetails"]["name"] for e in outcome.history if "stateEnteredEventDetails" in e]
    assert (outcome.status, drill.aurora.writer) == ("SUCCEEDED", CFG.dr_region)
    assert "NotifyFailure" in entered and "ReportFailed" not in entered
    assert outcome.written_report["outcome"] == "SUCCEEDED" and len(versions) == 1


def test_a_failed_run_pages_before_its_report_and_names_where_it_will_be():
    with contextlib.redirect_stdout(io.StringIO()), Drill() as drill:
        outcome = drill.run(CFG.dr_region, {"failover_id": "drill-refused", "mode": "unplanned"})
        (notice,) = _messages(CFG.dr_region)
        bucket = drill.regions[CFG.dr_region].bootstrap["ReportBucket"]["Properties"]["BucketName"]
    entered = [e["stateEnteredEventDetails"]["name"] for e in outcome.history if "stateEnteredEventDetails" in e]
    assert outcome.status == "FAILED" and entered.index("NotifyFailure") < entered.index("ReportFailed")
    assert f"s3://{bucket}/{report_keys('drill-refused')[1]}" in notice and f"--region {CFG.dr_region}" in notice
    assert (outcome.written_report["outcome"], outcome.written_report["error"]) == ("FAILED", "DataLossNotAccepted")


def test_success_reports_then_notifies_failure_pages_then_reports():
    """The success path writes its report before the notification (which names it); every failure
    (caught errors, refusals, timeouts, the success notification's own) pages on-call first, and
    only a run whose failover did not serve gets a FAILED report afterwards."""
    states = runbook.definition(CFG)["States"]
    into = {name: [s for s, body in states.items() if name in _targets(body)] for name in ("Notify", "ReportFailed")}
    assert into == {"Notify": ["ReportSucceeded"], "ReportFailed": ["FailoverServed?"]}
    paged = {s for s, body in states.items() if "NotifyFailure" in _targets(body)}
    assert {s for s, body in states.items() if body["Type"] == "Task"} - {"ReportSucceeded", "ReportFailed", "NotifyFailure"} <= paged
    assert "Notify" in paged and "ReportFailed" not in paged
    # A notification that fails after the failover served ends the run as succeeded, its report untouched.
    assert states["Served"]["Next"] == "ReportSucceeded" and states["Served"]["Result"] == "SUCCEEDED"
    assert states["FailoverServed?"]["Choices"] == [{"Variable": "$.run.outcome", "StringEquals": "SUCCEEDED", "Next": "Done"}]
    for name, outcome in (("ReportSucceeded", "succeeded"), ("ReportFailed", "failed")):
        payload = states[name]["Parameters"]["Payload"]
        assert (payload["outcome"], payload["execution.$"]) == (outcome, "$$.Execution.Id")
        assert payload["state.$"] == "$$.State.Name" and "entered.$" not in payload  # nothing rests on timestamps
        assert [r["ErrorEquals"] for r in states[name]["Retry"]][1] == ["HistoryBehind"]
        # A report that cannot be written: the run goes on as it would have.
        (catch,) = states[name]["Catch"]
        assert catch["Next"] == states[name]["Next"] and catch["ResultPath"] == "$.run.steps.report.result.error"
    # The report step takes its own entry for the newest state event: no branches interleave theirs.
    assert not {body["Type"] for body in states.values()} & {"Parallel", "Map"}
    for name in ("Notify", "NotifyFailure"):
        assert states[name]["Parameters"]["Payload"]["execution.$"] == "$$.Execution.Name"


def test_the_plan_in_the_state_machine_is_the_budget_the_command_line_measures_with(region_view):
    """Region names are substitutions in the template; resolved, the plan is the budget's."""
    _, resolved = region_view
    (machine,) = [r["Properties"] for r in resolved["Resources"].values() if r["Type"] == "AWS::StepFunctions::StateMachine"]
    text = json.dumps(machine["Definition"]["States"]["ReportSucceeded"]["Parameters"]["Payload"]["plan"])
    for key, value in machine["DefinitionSubstitutions"].items():
        text = text.replace(f"${{{key}}}", str(value))
    assert json.loads(text) == budget.for_timing(CFG, dns.timing(CFG)).report_plan()


def _targets(body: dict) -> set[str]:
    return {body.get("Next"), body.get("Default"), *(c.get("Next") for c in body.get("Choices", [])), *(c["Next"] for c in body.get("Catch", []))}


def _messages(region: str) -> list[str]:
    """The bodies the emulated alerts topics of ``region`` received (moto keeps them)."""
    backend = sns_backends[ACCOUNT_ID][region]
    return [sent[1] for topic in backend.topics.values() for sent in topic.sent_notifications]


def test_with_object_lock_the_runs_report_is_locked_in_the_configured_mode():
    """The drill's bucket has the rendered Object Lock default retention; the upload carries a
    checksum (S3 requires one there), and the report version is locked for the configured days."""
    cfg = Config(reports=ReportsConfig(retention_days=30, object_lock_days=7, object_lock_mode="COMPLIANCE"))
    with contextlib.redirect_stdout(io.StringIO()), Drill(cfg=cfg) as drill:
        outcome = drill.run(cfg.dr_region, {"failover_id": "drill-locked"})
        bucket = drill.regions[cfg.dr_region].bootstrap["ReportBucket"]["Properties"]["BucketName"]
        head = drill.client("s3", cfg.dr_region).head_object(Bucket=bucket, Key=report_keys("drill-locked")[0])
    now = datetime.now(timezone.utc)  # S3 (and moto) date the lock by their own clock, not the drill's
    assert outcome.status == "SUCCEEDED" and outcome.written_report is not None
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert timedelta(days=6) < head["ObjectLockRetainUntilDate"] - now <= timedelta(days=7, minutes=1)
