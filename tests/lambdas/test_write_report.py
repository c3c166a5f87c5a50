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


OWN_STATE = {"state": "ReportSucceeded"}


def _stubbed(runtime, execution: str, pages: list[list[dict]], newest_first: list[list[dict]] | None = None):
    """The step's Step Functions client answering its look for its own entry with ``newest_first``
    (by default the pages' events in one page, newest first) and its read of the whole history with
    ``pages``; a Stubber checks each request and response against botocore's model (moto ignores
    maxResults and nextToken)."""
    client = boto3.client("stepfunctions", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(client)
    newest_first = newest_first if newest_first is not None else [[e for page in pages for e in page][::-1]]
    for order, size, answers in ((
        {"reverseOrder": True}, write_report.ENTRY_PAGE_SIZE, newest_first), ({}, write_report.HISTORY_PAGE_SIZE, pages),
    ):
        for n, page in enumerate(answers):
            expected = {"executionArn": execution, "maxResults": size, **order, **({"nextToken": f"t{n}"} if n else {})}
            stubber.add_response("get_execution_history", {"events": page, **({"nextToken": f"t{n + 1}"} if n + 1 < len(answers) else {})}, expected)
    runtime._clients["stepfunctions", None] = client
    return stubber


def test_the_report_is_written_under_the_executions_name_with_the_regions_key(execution, make_runtime, calls):
    """moto's canned history is a run failed in "A State" (conftest's ``execution``)."""
    result = write_report.run(_event(execution, "failed"), make_runtime(write_report.STEP, SETTINGS, "f-1"))
    json_key, html_key = report_keys("f-1")
    assert result == {"written": True, "location": f"s3://{BUCKET}/{html_key}", "json": f"s3://{BUCKET}/{json_key}",
                      "outcome": "FAILED", "stopped_at": "A State"}
    s3 = aws_client("s3")
    written = s3.get_object(Bucket=BUCKET, Key=json_key)
    assert (written["ServerSideEncryption"], written["SSEKMSKeyId"]) == ("aws:kms", KEY_ARN)
    report = json.loads(written["Body"].read())
    assert (report["failover_id"], report["region"], report["outcome"]) == ("f-1", REGION, "FAILED")
    page = s3.get_object(Bucket=BUCKET, Key=html_key)
    assert page["ContentType"].startswith("text/html") and b"<svg" in page["Body"].read()
    assert calls.of("stepfunctions") == ["GetExecutionHistory"] * 2 and calls.of("s3") == ["PutObject", "PutObject"]


def test_a_failed_runs_report_carries_the_error_that_stopped_it(execution, make_runtime):
    """As the step sees it: the run is still in its report state, its history has no end yet
    (served by a Stubber, checked against botocore's model)."""
    runtime = make_runtime(write_report.STEP, SETTINGS, "f-1")
    with _stubbed(runtime, execution, [_running_history("ReportFailed")]):
        error = {"Error": "CapacityNotReady", "Cause": "no healthy target"}
        write_report.run(_event(execution, "failed", error=error, state="ReportFailed"), runtime)
    report = json.loads(aws_client("s3").get_object(Bucket=BUCKET, Key=report_keys("f-1")[0])["Body"].read())
    assert (report["outcome"], report["error"], report["cause"]) == ("FAILED", "CapacityNotReady", "no healthy target")


def test_the_history_is_read_to_its_last_page_and_the_report_names_its_last_event(execution, make_runtime):
    """Pages of uneven size ("only an upper limit"), each asked with the previous page's token."""
    history = _running_history()
    runtime = make_runtime(write_report.STEP, SETTINGS, "f-1")
    with _stubbed(runtime, execution, [history[:2], history[2:3], history[3:]]) as stubber:
        write_report.run(_event(execution, **OWN_STATE), runtime)
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
    with _stubbed(runtime, execution, [], newest_first=[_running_history()[:-hidden][::-1]]) as stubber:
        with pytest.raises(write_report.HistoryBehind, match="does not yet show ReportSucceeded"):
            write_report.run(_event(execution, **OWN_STATE), runtime)
        stubber.assert_no_pending_responses()
    assert calls.of("s3") == []


def test_the_entry_is_looked_for_newest_first_over_short_pages_and_no_further_back_than_the_newest_state_event(execution, make_runtime):
    """A page may hold fewer events than asked, none at all: the look goes on past the task's own
    events to the newest state event, and stops there (a read behind costs a page, not the
    whole history)."""
    history = _running_history()
    runtime = make_runtime(write_report.STEP, SETTINGS, "f-1")
    with _stubbed(runtime, execution, [history], newest_first=[[], [history[4]], [history[3]]]) as stubber:
        write_report.run(_event(execution, **OWN_STATE), runtime)
        stubber.assert_no_pending_responses()
    runtime = make_runtime(write_report.STEP, SETTINGS, "f-2")
    behind = history[:3][::-1]
    with _stubbed(runtime, execution, [], newest_first=[behind[:1], behind[1:]]) as stubber:
        with pytest.raises(write_report.HistoryBehind, match="to event 3"):
            write_report.run(_event(execution, **OWN_STATE), runtime)
        with pytest.raises(AssertionError, match="^1 responses remaining"):  # the second page was never asked for
            stubber.assert_no_pending_responses()


def test_a_whole_read_behind_the_look_that_found_the_entry_is_behind_too(execution, make_runtime, calls):
    """AWS promises no read that a later read cannot be behind."""
    history = _running_history()
    runtime = make_runtime(write_report.STEP, SETTINGS, "f-1")
    with _stubbed(runtime, execution, [history[:3]], newest_first=[history[::-1]]) as stubber:
        with pytest.raises(write_report.HistoryBehind):
            write_report.run(_event(execution, **OWN_STATE), runtime)
        stubber.assert_no_pending_responses()
    assert calls.of("s3") == []


def test_an_earlier_entry_of_the_same_state_is_not_this_one(execution, make_runtime):
    """An entry followed by its exit (an earlier run through the state, before a redrive) is not
    the running state's: a history that ends there is behind."""
    history = _running_history()
    exited = {"id": 5, "previousEventId": 4, "timestamp": T0 + timedelta(seconds=5), "type": "TaskStateExited",
              "stateExitedEventDetails": {"name": "ReportSucceeded", "output": "{}"}}
    runtime = make_runtime(write_report.STEP, SETTINGS, "f-1")
    with _stubbed(runtime, execution, [], newest_first=[[exited, *history[:4][::-1]]]):
        with pytest.raises(write_report.HistoryBehind, match="to event 5"):
            write_report.run(_event(execution, **OWN_STATE), runtime)


@pytest.mark.parametrize("whole_read", [
    pytest.param(lambda h: h[:2] + h[3:], id="a gap"),
    pytest.param(lambda h: h[:3] + h[2:], id="a repeat"),
    pytest.param(lambda h: h[1:], id="the first event missing"),
])
def test_a_whole_read_that_skips_or_repeats_an_event_is_behind(execution, make_runtime, calls, whole_read):
    """"Events are numbered sequentially, starting at one" (HistoryEvent): a read whose ids are
    not 1 to n is missing what AWS has not yet shown, even with the entry in it."""
    history = _running_history()
    runtime = make_runtime(write_report.STEP, SETTINGS, "f-1")
    with _stubbed(runtime, execution, [whole_read(history)], newest_first=[history[::-1]]):
        with pytest.raises(write_report.HistoryBehind, match="skips or repeats"):
            write_report.run(_event(execution, **OWN_STATE), runtime)
    assert calls.of("s3") == []


def test_nothing_rests_on_timestamps(execution, make_runtime):
    """AWS does not tie the history's timestamps to the context object's EnteredTime, nor order
    them with the ids: the same history with every timestamp scrambled is read the same way."""
    history = [{**event, "timestamp": T0 - timedelta(seconds=7 * event["id"] % 5)} for event in _running_history()]
    runtime = make_runtime(write_report.STEP, SETTINGS, "f-1")
    with _stubbed(runtime, execution, [history]) as stubber:
        write_report.run(_event(execution, **OWN_STATE), runtime)
        stubber.assert_no_pending_responses()


@pytest.mark.parametrize("event, problem", [
    ({"outcome": "maybe"}, "outcome 'maybe'"),
    ({"plan": None}, "needs the execution's ARN and the budget's plan"),
    ({"execution": ""}, "needs the execution's ARN and the budget's plan"),
    ({"state": ""}, r"passes \$\$.State.Name"),
    ({"state": None}, r"passes \$\$.State.Name"),
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


def _event_of(n: int, kind: str, **details) -> dict:
    return {"id": n, "previousEventId": n - 1, "timestamp": T0 + timedelta(seconds=n), "type": kind, **details}


def test_a_read_from_before_a_redrive_is_behind_and_one_after_it_is_not(execution, make_runtime):
    """Redriven executions append to the history: the earlier attempt's entry of this state,
    never exited, then its end. Without the ExecutionRedriven after that end the read is from
    before the redrive; with it (and this attempt's task events after), the entry is this one's."""
    history = _running_history()[:4]  # ... ReportSucceeded entered
    aborted = _event_of(5, "ExecutionAborted", executionAbortedEventDetails={})
    redriven = _event_of(6, "ExecutionRedriven", executionRedrivenEventDetails={"redriveCount": 1})
    scheduled = _event_of(7, "TaskScheduled", taskScheduledEventDetails=history[0] and {
        "resourceType": "lambda", "resource": "invoke", "region": REGION, "parameters": "{}"})
    runtime = make_runtime(write_report.STEP, SETTINGS, "f-1")
    with _stubbed(runtime, execution, [], newest_first=[[aborted, *history[::-1]]]):
        with pytest.raises(write_report.HistoryBehind):
            write_report.run(_event(execution, **OWN_STATE), runtime)
    runtime = make_runtime(write_report.STEP, SETTINGS, "f-2")
    with _stubbed(runtime, execution, [[*history, aborted, redriven, scheduled]]) as stubber:
        write_report.run(_event(execution, "failed", **OWN_STATE), runtime)
        stubber.assert_no_pending_responses()
    report = json.loads(aws_client("s3").get_object(Bucket=BUCKET, Key=report_keys("f-1")[0])["Body"].read())
    assert report["outcome"] == "FAILED"  # as the run ends, not "ExecutionRedriven" nor the earlier attempt's ABORTED


def test_events_read_out_of_id_order_are_put_back_in_order(execution, make_runtime):
    """AWS orders a read by timestamp; events of one millisecond may come in any order, in either
    direction (here the previous state's exit before this one's entry, newest first)."""
    history = [{**event, "timestamp": T0} for event in _running_history()]
    runtime = make_runtime(write_report.STEP, SETTINGS, "f-1")
    newest_first = [[history[4], history[2], history[3], history[1], history[0]]]
    with _stubbed(runtime, execution, [[history[1], history[0], *history[2:]]], newest_first=newest_first) as stubber:
        write_report.run(_event(execution, **OWN_STATE), runtime)
        stubber.assert_no_pending_responses()
