"""Stack set operations: start one, wait for it with live progress per region, explain a failure.

StackSets run one operation at a time per stack set. An operation already running (an
earlier deploy, someone else's) makes the call fail with ``OperationInProgressException``;
it is waited for (or reported, when waiting is not wanted) and the call retried. Botocore
has no waiter for stack set operations, so this polls, with a clock the tests replace.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from ops.aws import Aws
from ops.errors import OpsError, describe, error_code

POLL_SECONDS = 15
HEARTBEAT_SECONDS = 60
DEFAULT_TIMEOUT_SECONDS = 90 * 60  # Aurora global database creation alone can take 30 minutes
FINISHED = {"SUCCEEDED", "FAILED", "STOPPED"}
BUSY = {"RUNNING", "QUEUED", "STOPPING"}
EVENTS_SHOWN_PER_REGION = 10


@dataclass(frozen=True)
class Clock:
    now: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


def elapsed(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    return f"{minutes}m {seconds:02d}s" if minutes else f"{seconds}s"


def parameter_list(values: dict[str, str]) -> list[dict[str, str]]:
    return [{"ParameterKey": key, "ParameterValue": values[key]} for key in sorted(values)]


def parameter_values(entries: list[dict[str, Any]] | None) -> dict[str, str]:
    return {entry["ParameterKey"]: entry.get("ParameterValue", "") for entry in entries or []}


class StackSets:
    """The stack sets of one account, administered from ``aws.home_region``."""

    def __init__(
        self,
        aws: Aws,
        progress: Callable[[str], None],
        clock: Clock = Clock(),
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        wait_when_busy: bool = True,
    ):
        self.aws = aws
        self.account = aws.identity.account
        self.cloudformation = aws.client("cloudformation")
        self.progress = progress
        self.clock = clock
        self.timeout_seconds = timeout_seconds
        self.wait_when_busy = wait_when_busy

    # -- reads -----------------------------------------------------------------------

    def describe(self, name: str) -> dict[str, Any] | None:
        try:
            return self.cloudformation.describe_stack_set(StackSetName=name)["StackSet"]
        except ClientError as exc:
            if error_code(exc) == "StackSetNotFoundException":
                return None
            raise

    def instances(self, name: str) -> dict[str, dict[str, Any]]:
        """This account's stack instances, by region."""
        pages = self.cloudformation.get_paginator("list_stack_instances").paginate(
            StackSetName=name, StackInstanceAccount=self.account
        )
        return {
            summary["Region"]: summary
            for page in pages
            for summary in page["Summaries"]
            if summary["Account"] == self.account
        }

    def overrides(self, name: str, region: str) -> dict[str, str]:
        instance = self._instance(name, region)
        return parameter_values(instance.get("ParameterOverrides"))

    def output(self, name: str, region: str, output: str) -> str:
        """An output of the stack set's stack in ``region``."""
        stack_id = self._instance(name, region).get("StackId")
        stacks = (
            self.aws.client("cloudformation", region).describe_stacks(StackName=stack_id)["Stacks"] if stack_id else []
        )
        for entry in stacks[0].get("Outputs", []) if stacks else []:
            if entry["OutputKey"] == output:
                return entry["OutputValue"]
        raise OpsError(f"{name}: the stack in {region} has no output {output!r}; is its stack instance deployed?")

    def _instance(self, name: str, region: str) -> dict[str, Any]:
        return self.cloudformation.describe_stack_instance(
            StackSetName=name, StackInstanceAccount=self.account, StackInstanceRegion=region
        )["StackInstance"]

    # -- operations ------------------------------------------------------------------

    def call(self, method: str, stack_set: str, **request: Any) -> dict[str, Any]:
        """``method`` on ``stack_set``, once no other operation on it is running."""
        deadline = self.clock.now() + self.timeout_seconds
        while True:
            try:
                return getattr(self.cloudformation, method)(StackSetName=stack_set, **request)
            except ClientError as exc:
                if error_code(exc) != "OperationInProgressException":
                    raise
                if self.clock.now() >= deadline:
                    waited = elapsed(self.timeout_seconds)
                    raise OpsError(f"{stack_set} stayed busy with other operations for {waited}; try later") from None
                self._wait_for_running_operation(stack_set)

    def run(self, method: str, stack_set: str, label: str, **request: Any) -> None:
        """Start an operation and wait until it has succeeded; ``OpsError`` otherwise."""
        operation_id = self.call(method, stack_set, **request)["OperationId"]
        self.progress(f"{label}: operation {operation_id} started")
        self.wait(stack_set, operation_id, label)

    def wait(self, stack_set: str, operation_id: str, label: str, explain_failure: bool = True) -> None:
        started = last_heartbeat = self.clock.now()
        shown: dict[str, str] = {}
        while True:
            operation = self.cloudformation.describe_stack_set_operation(
                StackSetName=stack_set, OperationId=operation_id
            )["StackSetOperation"]
            results = self._results(stack_set, operation_id)
            now = self.clock.now()
            heartbeat = now - last_heartbeat >= HEARTBEAT_SECONDS
            if self._show(label, operation, results, shown, now - started, heartbeat):
                last_heartbeat = now
            if operation["Status"] in FINISHED:
                break
            if now - started >= self.timeout_seconds:
                raise OpsError(
                    f"{label}: gave up after {elapsed(now - started)}; operation {operation_id} is still "
                    f"{operation['Status']} in AWS. Follow it with: aws cloudformation describe-stack-set-operation "
                    f"--region {self.aws.home_region} --stack-set-name {stack_set} --operation-id {operation_id}"
                )
            self.clock.sleep(POLL_SECONDS)
        if operation["Status"] != "SUCCEEDED" and explain_failure:
            raise OpsError(
                f"{label}: operation {operation_id} {operation['Status']}",
                details=self._failure_details(stack_set, operation, results),
            )
        self.progress(f"{label}: {operation['Status']} after {elapsed(self.clock.now() - started)}")

    def _results(self, stack_set: str, operation_id: str) -> list[dict[str, Any]]:
        pages = self.cloudformation.get_paginator("list_stack_set_operation_results").paginate(
            StackSetName=stack_set, OperationId=operation_id
        )
        return [summary for page in pages for summary in page["Summaries"]]

    def _show(self, label, operation, results, shown, seconds: float, heartbeat: bool) -> bool:
        """Print each region whose status changed (all unfinished ones on a heartbeat)."""
        statuses = {result["Region"]: result["Status"] for result in results} or {"all regions": operation["Status"]}
        printed = False
        for region, status in statuses.items():
            if shown.get(region) != status or (heartbeat and status not in FINISHED | {"CANCELLED"}):
                self.progress(f"  {label} {region}: {status} ({elapsed(seconds)})")
                shown[region] = status
                printed = True
        return printed

    def _wait_for_running_operation(self, stack_set: str) -> None:
        summaries = self.cloudformation.list_stack_set_operations(StackSetName=stack_set)["Summaries"]
        running = [summary for summary in summaries if summary["Status"] in BUSY]
        if not running:  # it finished between our call and this look
            self.clock.sleep(POLL_SECONDS)
            return
        other = running[-1]  # the oldest: it runs first
        what = f"operation {other['OperationId']} ({other['Action']}, {other['Status']})"
        if not self.wait_when_busy:
            raise OpsError(
                f"{stack_set} is busy with {what}; deploy again when it has finished, or stop it with: "
                f"aws cloudformation stop-stack-set-operation --region {self.aws.home_region} "
                f"--stack-set-name {stack_set} --operation-id {other['OperationId']}"
            )
        self.progress(f"{stack_set} is busy with {what}; waiting for it to finish first")
        self.wait(stack_set, other["OperationId"], f"{stack_set} (running before us)", explain_failure=False)

    def _failure_details(self, stack_set: str, operation: dict[str, Any], results: list[dict[str, Any]]) -> list[str]:
        lines = [f"operation: {operation['StatusReason']}"] if operation.get("StatusReason") else []
        for result in results:
            if result["Status"] == "SUCCEEDED":
                continue
            lines.append(f"{result['Region']}: {result['Status']}: {result.get('StatusReason') or 'no reason given'}")
            if result["Status"] == "FAILED":
                lines.extend(f"  {line}" for line in self._failed_stack(stack_set, result["Region"], operation["CreationTimestamp"]))
        return lines

    def _failed_stack(self, stack_set: str, region: str, since: datetime) -> list[str]:
        """The stack's failed resource events since the operation began, oldest (the cause) first,
        and what to do when the stack is left in a state StackSets cannot update."""
        try:
            stack_id = self._instance(stack_set, region).get("StackId")
            if not stack_id:
                return ["(no stack was created in this region)"]
            client = self.aws.client("cloudformation", region)
            failed = []
            for page in client.get_paginator("describe_stack_events").paginate(StackName=stack_id):  # newest first
                recent = [event for event in page["StackEvents"] if event["Timestamp"] >= since]
                failed += [event for event in recent if event["ResourceStatus"].endswith("_FAILED")]
                if len(recent) < len(page["StackEvents"]):
                    break
            (stack,) = client.describe_stacks(StackName=stack_id)["Stacks"]
        except ClientError as exc:
            return [f"(stack events unavailable: {describe(exc)})"]
        return [
            f"{event['LogicalResourceId']} ({event['ResourceType']}) {event['ResourceStatus']}: "
            f"{event.get('ResourceStatusReason', 'no reason given')}"
            for event in reversed(failed[-EVENTS_SHOWN_PER_REGION:])
        ] + stuck_stack_help(stack_set, self.account, region, self.aws.home_region, stack_id, stack["StackStatus"])

    def stack_status(self, stack_set: str, region: str) -> tuple[str, str] | None:
        """(stack id, status) of the stack set's stack in ``region``; None when there is none."""
        stack_id = self._instance(stack_set, region).get("StackId")
        if not stack_id:
            return None
        (stack,) = self.aws.client("cloudformation", region).describe_stacks(StackName=stack_id)["Stacks"]
        return stack_id, stack["StackStatus"]


# What a stack set's stack left in these states needs before StackSets can act on it again. A
# stack whose first create failed and whose rollback could not delete everything is
# ROLLBACK_FAILED ("Unsuccessful removal of one or more stacks after a failed stack creation ... Delete
# the stack or view the stack events", "Stack status codes",
# https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/view-stack-events.html); StackSets
# can only update an existing instance, so the instance (and its stack) must go first.
STUCK_STATUSES = {
    "ROLLBACK_FAILED": "its first create failed and the rollback could not delete everything it created",
    "DELETE_FAILED": "a delete could not remove everything it holds",
}


def stuck_stack_help(stack_set: str, account: str, region: str, admin_region: str, stack_id: str, status: str) -> list[str]:
    """Step-by-step recovery for a stack in a ``STUCK_STATUSES`` state (docs/operating.md "The first deploy")."""
    if status not in STUCK_STATUSES:
        return []
    return [
        f"the stack in {region} is {status}: {STUCK_STATUSES[status]}; StackSets cannot update it. To recover "
        '(docs/operating.md "The first deploy", "When it fails"):',
        f"  1. what was not deleted: aws cloudformation describe-stack-events --region {region} --stack-name {stack_id} "
        "(its DELETE_FAILED events)",
        "  2. remove what stopped each deletion (deletion protection, a bucket that is not empty, a DR cluster "
        "still in the global database), as docs/operating.md says",
        f"  3. aws cloudformation delete-stack-instances --region {admin_region} --stack-set-name {stack_set} "
        f"--accounts {account} --regions {region} --no-retain-stacks",
        "  4. build.py deploy again",
    ]
