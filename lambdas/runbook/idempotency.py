"""Side effects once per failover id and step, with conditional writes to DynamoDB.

A step claims ``FAILOVER_ID#STEP`` with a lease, does its work, and stores the result.
A duplicate invocation finds the stored result and returns it without acting; a
concurrent one finds a live lease and fails with ``StepInProgress`` (Step Functions
retries it); a claim whose holder died is taken over once its lease has expired. The
steps also converge on observed state, so even a lost record cannot make one act twice.

The lease (``LEASE_SECONDS``, rendered) is the function's timeout plus a margin: a live
holder cannot outlast its timeout, so a live claim is never taken over, and a holder that
Lambda killed, or whose final record write failed, frees its claim soon after; the state
machine retries ``StepInProgress`` for longer than the lease (templates/runbook.py).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from .runtime import Runtime, StepError, now

TABLE_SETTING = "IDEMPOTENCY_TABLE"
LEASE_SETTING = "LEASE_SECONDS"
IN_PROGRESS = "IN_PROGRESS"
COMPLETED = "COMPLETED"
# Records outlive any retry of a run, then DynamoDB's TTL removes them.
RECORD_DAYS = 30


class StepInProgress(StepError):
    """Another invocation of this step for this failover holds the claim."""


def _is_conditional_failure(error: ClientError) -> bool:
    return error.response["Error"]["Code"] == "ConditionalCheckFailedException"


def once(runtime: Runtime, action: Callable[[], dict[str, Any]], key_suffix: str = "") -> dict[str, Any]:
    """Run ``action`` at most once to completion for this failover id and step."""
    table = runtime.setting(TABLE_SETTING)
    dynamodb = runtime.client("dynamodb")
    key = {"pk": {"S": f"{runtime.failover_id}#{runtime.step}{key_suffix}"}}
    owner = uuid.uuid4().hex
    started = int(now())
    try:
        dynamodb.put_item(
            TableName=table,
            Item={
                **key,
                "status": {"S": IN_PROGRESS},
                "owner": {"S": owner},
                "lease_until": {"N": str(started + int(runtime.setting(LEASE_SETTING)))},
                "expires_at": {"N": str(started + RECORD_DAYS * 86400)},
            },
            ConditionExpression="attribute_not_exists(pk) OR (#status = :in_progress AND lease_until < :now)",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":in_progress": {"S": IN_PROGRESS}, ":now": {"N": str(started)}},
        )
    except ClientError as error:
        if not _is_conditional_failure(error):
            raise
        record = dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item", {})
        if record.get("status", {}).get("S") == COMPLETED:
            runtime.log("already done for this failover id: returning the recorded result")
            return json.loads(record["result"]["S"])
        raise StepInProgress(f"{runtime.step} is already running for failover {runtime.failover_id}") from None
    try:
        result = action()
    except Exception:
        _release(dynamodb, table, key, owner)
        raise
    dynamodb.update_item(
        TableName=table,
        Key=key,
        UpdateExpression="SET #status = :completed, #result = :result",
        ConditionExpression="#owner = :owner",
        ExpressionAttributeNames={"#status": "status", "#result": "result", "#owner": "owner"},
        ExpressionAttributeValues={
            ":completed": {"S": COMPLETED},
            ":result": {"S": json.dumps(result, sort_keys=True, default=str)},
            ":owner": {"S": owner},
        },
    )
    return result


def _release(dynamodb, table: str, key: dict, owner: str) -> None:
    """Give the claim back after a failure, so the state machine's retry can proceed at once."""
    try:
        dynamodb.delete_item(
            TableName=table,
            Key=key,
            ConditionExpression="#owner = :owner",
            ExpressionAttributeNames={"#owner": "owner"},
            ExpressionAttributeValues={":owner": {"S": owner}},
        )
    except ClientError as error:
        if not _is_conditional_failure(error):
            raise
