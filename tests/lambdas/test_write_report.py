"""The runbook's report step (lambdas/runbook/write_report.py) against the emulator: it reads
its execution's history page by page, writes the JSON and the HTML under the bucket's prefix
with the region's key, and its role allows exactly what it calls."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.stub import Stubber

from checks.budget import for_timing
from datetime import datetime, timedelta, timezone

from lambda_support import CFG, MOTO_REPORT_STATE, REGION, REPORT_BUCKET as BUCKET, REPORT_SETTINGS as SETTINGS, aws_client
from runbook import failover_report, notify, write_report
from runbook.runtime import StepError
from templates import dns
from templates.reports import report_keys

KEY_ARN = SETTINGS["REPORT_KEY_ARN"]
PLAN = for_timing(CFG, dns.timing(CFG)).report_plan()


def _event(execution: str, outcome: str = "succeeded", **extra) -> dict:
    return {"failover_id": "f-1", "mode": "planned", "accept_data_loss": False, "trigger": "operator",
            "execution": execution, "outcome": outcome, "plan": PLAN, **MOTO_REPORT_STATE, **extra}


T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _running_history(report_state: str = "ReportSucceeded") -> list[dict]:
    """A run in its report state, as GetExecutionHistory gives it: ids in order, one second apart."""
    kinds = [("ExecutionStarted", {"executionStartedEventDetails": {"input": "{}", "roleArn": "arn:aws:iam::123456789012:role/s"}}),
             ("TaskStateEntered", {"stateEnteredEventDetails": {"name": "ScaleService", "input": "{}"}}),
             ("TaskStateExited", {"stateExitedEventDetails": {"name": "ScaleService", "output": "{}"}}),
             ("TaskStateEntered", {"stateEnteredEventDetails": {"name": report_state, "input": "{}"}}),
             ("TaskScheduled", {"taskScheduledEventDetails": {"resourceType": "lambda", "resource": "invoke", "region": REGION, "parameters": "{}"}})]
    return [{"id": n, "previousEventId": n - 1, "timestamp": T0 + timedelta(seconds=n), "type": kind, **details}
            for n, (kind, details) in enumerate(kinds, 1)]


ENTERED = {"state": "ReportSucceeded", "entered": (T0 + timedelta(seconds=4)).isoformat().replace("+00:00", "Z")}


def _stubbed(runtime, execution: str, pages: list[list[dict]], page_size: int):
    """The step's Step Functions client answering with ``pages`` (a Stubber checks each request and
    response against botocore's model; moto ignores maxResults and nextToken)."""
    client = boto3.client("stepfunctions", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(client)
    for n, page in enumerate(pages):
        expected = {"executionArn": execution, "maxResults": page_size, **({"nextToken": f"t{n}"} if n else {})}
        stubber.add_response("get_execution_history", {"events": page, **({"nextToken": f"t{n + 1}"} if n + 1 < len(pages) else {})}, expected)
    runtime._clients["stepfunctions", None] = client
    return stubber


def test_the_report_is_written_under_the_executions_name_with_the_regions_key(execution, make_runtime, calls):
    result = write_report.run(_event(execution), make_runtime(write_report.STEP, SETTINGS, "f-1"))
    json_key, html_key = report_keys("f-1")
    assert result == {"written": True, "location": f"s3://{BUCKET}/{html_key}", "json": f"s3://{BUCKET}/{json_key}",
                      "outcome": "SUCCEEDED", "stopped_at": None}
    s3 = aws_client("s3")
    written = s3.get_object(Bucket=BUCKET, Key=json_key)
    assert (written["ServerSideEncryption"], written["SSEKMSKeyId"]) == ("aws:kms", KEY_ARN)
    report = json.loads(written["Body"].read())
    assert (report["failover_id"], report["region"], report["outcome"]) == ("f-1", REGION, "SUCCEEDED")
    page = s3.get_object(Bucket=BUCKET, Key=html_key)
    assert page["ContentType"].startswith("text/html") and b"<svg" in page["Body"].read()
    assert calls.of("stepfunctions") == ["GetExecutionHistory"] and calls.of("s3") == ["PutObject", "PutObject"]


def test_a_failed_runs_report_carries_the_error_that_stopped_it(execution, make_runtime):
    """As the step sees it: the run is still in its report state, its history has no end yet
    (served by a Stubber, checked against botocore's model)."""
    history = aws_client("stepfunctions").get_execution_history(executionArn=execution)["events"]
    ongoing = [e for e in history if not e["type"].startswith("ExecutionSucceeded")]
    runtime = make_runtime(write_report.STEP, SETTINGS, "f-1")
    client = boto3.client("stepfunctions", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:
        stubber.add_response("get_execution_history", {"events": ongoing}, {"executionArn": execution, "maxResults": write_report.HISTORY_PAGE_SIZE})
        runtime._clients["stepfunctions", None] = client
        error = {"Error": "CapacityNotReady", "Cause": "no healthy target"}
        write_report.run(_event(execution, "failed", error=error), runtime)
    report = json.loads(aws_client("s3").get_object(Bucket=BUCKET, Key=report_keys("f-1")[0])["Body"].read())
    assert (report["outcome"], report["error"], report["cause"]) == ("FAILED", "CapacityNotReady", "no healthy target")


def test_the_history_is_read_to_its_last_page_and_the_report_names_its_last_event(execution, make_runtime):
    """Pages of uneven size ("only an upper limit"), each asked with the previous page's token."""
    history = _running_history()
    runtime = make_runtime(write_report.STEP, SETTINGS, "f-1")
    with _stubbed(runtime, execution, [history[:2], history[2:3], history[3:]], write_report.HISTORY_PAGE_SIZE) as stubber:
        write_report.run(_event(execution, **ENTERED), runtime)
        stubber.assert_no_pending_responses()
    json_key, html_key = report_keys("f-1")
    report = json.loads(aws_client("s3").get_object(Bucket=BUCKET, Key=json_key)["Body"].read())
    assert report["history_as_of"] == history[-1]["id"] and [s["state"] for s in report["steps"]] == ["ScaleService"]
    assert f"event {history[-1]['id']}" in aws_client("s3").get_object(Bucket=BUCKET, Key=html_key)["Body"].read().decode()


@pytest.mark.parametrize("hidden", [2, 3, 4])
def test_a_history_that_does_not_yet_show_the_report_state_is_behind_and_nothing_is_written(execution, make_runtime, calls, hidden):
    """AWS bounds no running execution's history visibility: the newest events missing is
    HistoryBehind (the state machine retries it), never a report of a partial run."""
    runtime = make_runtime(write_report.STEP, SETTINGS, "f-1")
    with _stubbed(runtime, execution, [_running_history()[:-hidden]], write_report.HISTORY_PAGE_SIZE):
        with pytest.raises(write_report.HistoryBehind, match="does not yet show ReportSucceeded"):
            write_report.run(_event(execution, **ENTERED), runtime)
    assert calls.of("s3") == []


def test_an_earlier_entry_of_the_same_state_is_not_this_one(execution, make_runtime):
    runtime = make_runtime(write_report.STEP, SETTINGS, "f-1")
    later = {**ENTERED, "entered": (T0 + timedelta(seconds=9)).isoformat()}
    with _stubbed(runtime, execution, [_running_history()], write_report.HISTORY_PAGE_SIZE):
        with pytest.raises(write_report.HistoryBehind):
            write_report.run(_event(execution, **later), runtime)


@pytest.mark.parametrize("event, problem", [
    ({"outcome": "maybe"}, "outcome 'maybe'"),
    ({"plan": None}, "needs the execution's ARN and the budget's plan"),
    ({"execution": ""}, "needs the execution's ARN and the budget's plan"),
    ({"entered": None}, r"passes \$\$.State.Name and \$\$.State.EnteredTime"),
    ({"state": ""}, r"passes \$\$.State.Name"),
    ({"entered": "2026-01-01T00:00:00"}, "EnteredTime"),
])
def test_a_malformed_request_is_a_step_error(execution, make_runtime, event, problem):
    with pytest.raises(StepError, match=problem):
        write_report.run({**_event(execution), **event}, make_runtime(write_report.STEP, SETTINGS, "f-1"))


@pytest.mark.parametrize("report, line", [
    ({"written": True, "location": "s3://b/reports/f-1.html", "json": "s3://b/reports/f-1.json"},
     "report: s3://b/reports/f-1.html (JSON: s3://b/reports/f-1.json)"),
    ({"written": False, "error": {"Error": "AccessDenied", "Cause": "no"}},
     f"report: not written (AccessDenied: no); build it from the execution's history: build.py report EVENTBRIDGE-NAME --region {REGION}"),
    # The failure path pages before its report step runs: the key is the execution's name.
    ({"written": False},
     f"report: written after this message to s3://{BUCKET}/reports/EVENTBRIDGE-NAME.html (and .json); "
     f"if it is not there: build.py report EVENTBRIDGE-NAME --region {REGION}"),
])
def test_the_notification_says_where_the_report_is_or_why_there_is_none(report, line):
    """An automatic run's execution is named by EventBridge, not after its failover id."""
    event = {"failover_id": "automatic-1", "execution": "EVENTBRIDGE-NAME", "report": report}
    _, body = notify.message(event, REGION, SETTINGS)
    assert line in body.splitlines()


def test_a_failed_success_notification_does_not_call_the_failover_failed():
    event = {"failover_id": "f-1", "outcome": "failed", "served": "SUCCEEDED", "error": {"Error": "SNS.Throttled"}}
    subject, body = notify.message(event, REGION, SETTINGS)
    assert "succeeded (its first notification failed)" in subject and "failed in" not in subject
