"""The run's failover report, written by the run itself as it ends, before the notification.

It reads its own execution's history (Step Functions ``GetExecutionHistory``, every page),
builds the report with ``failover_report`` (the same code as ``build.py report`` and the
drills) against the budget the state machine carries (``plan``), and writes it as JSON and
HTML to this region's report bucket, encrypted with the region's key, under the execution's
name (the failover id, for a run ``build.py failover`` started; runs that reuse a failover id
under other names each keep their own report).
The state machine runs it on the success and the failure path; a report that cannot be
written is caught there and named in the notification, and the run ends as it would have.

The step reads the history of an execution that is still running, and AWS bounds neither when
its newest events become readable nor how many a page holds: ``maxResults`` "is only an upper
limit. The actual number of results returned per call might be fewer than the specified
maximum" (Step Functions API Reference, GetExecutionHistory,
https://docs.aws.amazon.com/step-functions/latest/apireference/API_GetExecutionHistory.html).
So the state machine passes the step its own state's name and entered time (the context
object's ``$$.State``), and a history that does not yet show that state's ``TaskStateEntered``
is behind (the state's name is unique in the machine; its entered time tells this entry from
an earlier run's): ``HistoryBehind``, which the state machine retries a few times. The report names the
last event it was built from (``history_as_of``).

A bucket with an Object Lock default retention refuses an upload without a checksum: "Content-MD5
OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters"
(S3's InvalidRequest): every upload names its checksum algorithm, so botocore sends one.
No idempotency record: writing the same keys again replaces the objects (the bucket keeps
the versions), which is what a retry should do.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from . import failover_report
from .runtime import Runtime, StepError, lambda_runtime

STEP = "write_report"
HISTORY_PAGE_SIZE = 1000
# One call's time, at most, before the function's deadline (the runtime adds its safety margin).
CALL_SECONDS = 5


# The context object's EnteredTime and the history's timestamps both have millisecond precision.
TIMESTAMP_PRECISION = timedelta(milliseconds=1)


class HistoryBehind(Exception):
    """The history read does not yet show this report state's own entry: retried by the state machine."""


def _entered_at(event: dict[str, Any]) -> tuple[str, datetime]:
    """The report state's name and entered time, as the context object gives them."""
    name, entered = event.get("state"), event.get("entered")
    try:
        when = datetime.fromisoformat(str(entered).replace("Z", "+00:00"))
    except ValueError:
        when = None
    if not name or when is None or when.tzinfo is None:
        raise StepError(f"state {name!r} entered {entered!r}: the state machine passes $$.State.Name and $$.State.EnteredTime")
    return name, when


def require_own_entry(history: list[dict], name: str, entered: datetime) -> None:
    """Raise ``HistoryBehind`` unless ``history`` shows the state ``name`` entered at ``entered``."""
    for event in reversed(history):
        details = event.get("stateEnteredEventDetails") or {}
        if details.get("name") == name and event["timestamp"] >= entered - TIMESTAMP_PRECISION:
            return
    last = history[-1]["id"] if history else None
    raise HistoryBehind(f"the history read (to event {last}) does not yet show {name} entered at {entered.isoformat()}")


def _history(runtime: Runtime, execution_arn: str) -> list[dict]:
    stepfunctions, events, token = runtime.client("stepfunctions"), [], None
    while True:
        runtime.budget.require(CALL_SECONDS, "read the execution's history")
        page = stepfunctions.get_execution_history(
            executionArn=execution_arn, maxResults=HISTORY_PAGE_SIZE, **({"nextToken": token} if token else {})
        )
        events += page["events"]
        token = page.get("nextToken")
        if not token:
            return events


def _ending(event: dict[str, Any]) -> dict:
    """How the run ends: the outcome the state machine passes, with the error that stopped it."""
    error = event.get("error") if isinstance(event.get("error"), dict) else {}
    status = {"succeeded": "SUCCEEDED", "failed": "FAILED"}.get(event.get("outcome", ""))
    if status is None:
        raise StepError(f"outcome {event.get('outcome')!r}: the state machine passes 'succeeded' or 'failed'")
    return {"status": status, "error": error.get("Error"), "cause": error.get("Cause")}


def run(event: dict[str, Any], runtime: Runtime) -> dict[str, Any]:
    if not isinstance(event.get("plan"), dict) or not event.get("execution"):
        raise StepError("the report step needs the execution's ARN and the budget's plan (the state machine passes both)")
    state, entered = _entered_at(event)
    history = _history(runtime, event["execution"])
    require_own_entry(history, state, entered)
    request = {name: event.get(name) for name in ("failover_id", "mode", "accept_data_loss", "trigger")}
    report = failover_report.build(history, request, event["plan"], runtime.setting("AWS_REGION"), _ending(event))
    bucket, prefix = runtime.setting("REPORT_BUCKET"), runtime.setting("REPORT_PREFIX")
    # arn:PARTITION:states:REGION:ACCOUNT:execution:MACHINE:NAME
    name = event["execution"].rsplit(":", 1)[-1]
    written = {}
    for kind, body, content_type in (
        ("json", failover_report.dumps(report), "application/json"),
        ("html", failover_report.page(report), "text/html; charset=utf-8"),
    ):
        key = f"{prefix}{name}.{kind}"
        runtime.budget.require(CALL_SECONDS, f"write {key}")
        runtime.client("s3").put_object(
            Bucket=bucket, Key=key, Body=body.encode("utf-8"), ContentType=content_type,
            ServerSideEncryption="aws:kms", SSEKMSKeyId=runtime.setting("REPORT_KEY_ARN"), ChecksumAlgorithm="SHA256",
        )
        written[kind] = f"s3://{bucket}/{key}"
    runtime.log("failover report written", report=written["html"], outcome=report["outcome"], stopped_at=report["stopped_at"])
    return {"written": True, "location": written["html"], "json": written["json"], "outcome": report["outcome"], "stopped_at": report["stopped_at"]}


def handler(event, context):
    return run(event, lambda_runtime(STEP, event, context))
