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
So the state machine passes the step its own state's name (the context object's
``$$.State.Name``), and a read is behind (``HistoryBehind``, which the state machine retries a
few times) unless its newest state event (an entry or an exit; a task's own scheduled,
started and failed events are neither) is that state's entry. That entry is this one: the
state is running, so it has no exit yet, and an earlier entry of the same name would have
been followed by its exit; the machine has no Parallel or Map state whose branches could
interleave theirs. After a redrive the earlier attempt's entry may have no exit, but its
attempt's end (ExecutionAborted, ...) follows it with no ``ExecutionRedriven`` after that: a read
from before the redrive, behind too. Nothing rests on timestamps, which AWS does not tie to
the context object's ``EnteredTime``. The entry is looked for newest first (``reverseOrder``), a short
page at a time, so a read while the history is behind costs a page, not the whole history;
the whole history is then read and must be whole as well: "Events are numbered sequentially,
starting at one" (HistoryEvent), so a read whose ids (sorted: AWS orders by timestamp) skip or
repeat is behind too, as is one
whose newest state event is not the entry (AWS promises no read that the next one cannot be
behind). The report names the last event it was built from (``history_as_of``).

A bucket with an Object Lock default retention refuses an upload without a checksum: "Content-MD5
OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters"
(S3's InvalidRequest): every upload names its checksum algorithm, so botocore sends one.
No idempotency record: writing the same keys again replaces the objects (the bucket keeps
the versions), which is what a retry should do.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from . import failover_report
from .runtime import Runtime, StepError, lambda_runtime

STEP = "write_report"
HISTORY_PAGE_SIZE = 1000
# A page of the newest events: the entry, and its task's events of each attempt so far.
ENTRY_PAGE_SIZE = 10
# One call's time, at most, before the function's deadline (the runtime adds its safety margin).
CALL_SECONDS = 5


# How an execution ends (HistoryEvent types).
EXECUTION_ENDS = ("ExecutionSucceeded", "ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut")


class HistoryBehind(Exception):
    """The history read does not yet show this report state's own entry: retried by the state machine."""


def _state_name(event: dict[str, Any]) -> str:
    if not isinstance(event.get("state"), str) or not event["state"]:
        raise StepError(f"state {event.get('state')!r}: the state machine passes $$.State.Name")
    return event["state"]


def _is_state_event(event: dict) -> bool:
    """A state's entry or exit; a task's own events (scheduled, started, failed, ...) are neither."""
    return "stateEnteredEventDetails" in event or "stateExitedEventDetails" in event


def _is_entry_of(event: dict, name: str) -> bool:
    return (event.get("stateEnteredEventDetails") or {}).get("name") == name


def _behind(last_read: int | None, name: str, why: str = "does not yet show") -> HistoryBehind:
    return HistoryBehind(f"the history read (to event {last_read}) {why} {name} entered as its newest state event")


def _shows_own_entry(newest_first: Iterable[dict], name: str) -> bool:
    """Whether the newest state event is the entry of the state ``name`` and the execution has
    not ended since, unless redriven: a read from before a redrive ("Redriven executions append
    their event history to the existing event history", RedriveExecution) ends in the end of the
    earlier attempt, after an entry of that attempt's that never exited."""
    redriven = False
    for event in newest_first:
        if event["type"] == "ExecutionRedriven":
            redriven = True
        elif event["type"] in EXECUTION_ENDS and not redriven:
            return False
        elif _is_state_event(event):
            return _is_entry_of(event, name)
    return False


def require_own_entry(history: list[dict], name: str) -> list[dict]:
    """``history`` in event order, or ``HistoryBehind`` unless it is whole, events 1 to n (AWS
    orders a read by timestamp, not by id), and shows this state's own entry."""
    history = sorted(history, key=lambda event: event["id"])
    last = history[-1]["id"] if history else None
    if [event["id"] for event in history] != list(range(1, len(history) + 1)):
        raise _behind(last, name, "skips or repeats an event id: it is not whole, nor does it show")
    if not _shows_own_entry(reversed(history), name):
        raise _behind(last, name)
    return history


def _pages(runtime: Runtime, execution_arn: str, page_size: int, **order) -> Iterator[list[dict]]:
    """The history's pages, each asked with the previous one's token, until there is none."""
    stepfunctions, token = runtime.client("stepfunctions"), None
    while True:
        runtime.budget.require(CALL_SECONDS, "read the execution's history")
        page = stepfunctions.get_execution_history(
            executionArn=execution_arn, maxResults=page_size, **order, **({"nextToken": token} if token else {})
        )
        yield page["events"]
        token = page.get("nextToken")
        if not token:
            return


def require_own_entry_visible(runtime: Runtime, execution_arn: str, name: str) -> None:
    """``HistoryBehind`` unless the history shows this state's own entry, read newest first only
    as far as its newest state event (past this task's own events; a page may hold fewer events
    than asked, none at all)."""
    read: list[int] = []

    def newest_first() -> Iterator[dict]:
        for page in _pages(runtime, execution_arn, ENTRY_PAGE_SIZE, reverseOrder=True):
            for event in sorted(page, key=lambda event: event["id"], reverse=True):  # ordered by timestamp, ties in any order
                read.append(event["id"])
                yield event

    if not _shows_own_entry(newest_first(), name):
        raise _behind(max(read, default=None), name)


def _history(runtime: Runtime, execution_arn: str) -> list[dict]:
    return [event for page in _pages(runtime, execution_arn, HISTORY_PAGE_SIZE) for event in page]


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
    state, ending = _state_name(event), _ending(event)
    require_own_entry_visible(runtime, event["execution"], state)
    history = require_own_entry(_history(runtime, event["execution"]), state)
    request = {name: event.get(name) for name in ("failover_id", "mode", "accept_data_loss", "trigger")}
    report = failover_report.build(history, request, event["plan"], runtime.setting("AWS_REGION"), ending)
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
