"""The runbook's report step (lambdas/runbook/write_report.py) against the emulator: it reads
its execution's history page by page, writes the JSON and the HTML under the bucket's prefix
with the region's key, and its role allows exactly what it calls."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.stub import Stubber

from checks.budget import for_timing
from lambda_support import CFG, REGION, REPORT_BUCKET as BUCKET, REPORT_SETTINGS as SETTINGS, aws_client
from runbook import failover_report, notify, write_report
from runbook.runtime import StepError
from templates import dns
from templates.reports import report_keys

KEY_ARN = SETTINGS["REPORT_KEY_ARN"]
PLAN = for_timing(CFG, dns.timing(CFG)).report_plan()


def _event(execution: str, outcome: str = "succeeded", **extra) -> dict:
    return {"failover_id": "f-1", "mode": "planned", "accept_data_loss": False, "trigger": "operator",
            "execution": execution, "outcome": outcome, "plan": PLAN, **extra}


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


def test_the_history_is_read_to_its_last_page(execution, make_runtime, monkeypatch):
    monkeypatch.setattr(write_report, "HISTORY_PAGE_SIZE", 1)
    seen = []
    real = failover_report.build
    monkeypatch.setattr(write_report.failover_report, "build", lambda history, *a: seen.append(len(history)) or real(history, *a))
    write_report.run(_event(execution), make_runtime(write_report.STEP, SETTINGS, "f-1"))
    full = aws_client("stepfunctions").get_execution_history(executionArn=execution)["events"]
    assert seen == [len(full)] and len(full) > 1


@pytest.mark.parametrize("event, problem", [
    ({"outcome": "maybe"}, "outcome 'maybe'"),
    ({"plan": None}, "needs the execution's ARN and the budget's plan"),
    ({"execution": ""}, "needs the execution's ARN and the budget's plan"),
])
def test_a_malformed_request_is_a_step_error(execution, make_runtime, event, problem):
    with pytest.raises(StepError, match=problem):
        write_report.run({**_event(execution), **event}, make_runtime(write_report.STEP, SETTINGS, "f-1"))


@pytest.mark.parametrize("report, line", [
    ({"written": True, "location": "s3://b/reports/f-1.html", "json": "s3://b/reports/f-1.json"},
     "report: s3://b/reports/f-1.html (JSON: s3://b/reports/f-1.json)"),
    ({"written": False, "error": {"Error": "AccessDenied", "Cause": "no"}},
     "report: not written (AccessDenied: no); build it from the execution's history: build.py report f-1"),
])
def test_the_notification_says_where_the_report_is_or_why_there_is_none(report, line):
    _, body = notify.message({"failover_id": "f-1", "report": report}, REGION)
    assert line in body.splitlines()
