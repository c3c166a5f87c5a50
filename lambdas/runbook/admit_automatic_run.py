"""Gate for alarm-started runs: at most one per minimum interval, whatever the alarm does.

An operator's run is always admitted. An alarm-started run claims the ``automatic-run``
record only if the last one started at least ``MIN_INTERVAL_SECONDS`` ago (a conditional
write, so two alarms at once admit one run). Alarm-started runs are admitted only in the
DR region (the template creates the trigger only there): an alarm never starts a failback.

The alarm is replication lag, and high lag does not mean the primary is down. So an
alarm-started run also needs evidence that the primary region is impaired: Route 53's
checkers see the primary's load balancer unhealthy, or, when the primary region hosts
Route 53's control plane, that API does not answer. Without evidence the run is refused.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from .health import primary_impaired
from .runtime import Runtime, lambda_runtime, now

STEP = "admit_automatic_run"
AUTOMATIC_RUN_KEY = "automatic-run"


def run(event: dict[str, Any], runtime: Runtime) -> dict[str, Any]:
    if event.get("trigger") != "alarm":
        return {"admitted": True, "reason": "started by an operator"}
    if runtime.setting("REGION_ROLE") == "primary":
        runtime.log("automatic run refused: failing back is an operator's decision")
        return {"admitted": False, "reason": "an alarm never starts a failback"}
    found = primary_impaired(runtime)
    impaired, evidence = found.impaired, found.why
    if not impaired:
        runtime.log("automatic run refused: no evidence the primary region is impaired", evidence=evidence)
        return {"admitted": False, "reason": f"no evidence the primary region is impaired: {evidence}"}
    started = int(now())
    interval = int(runtime.setting("MIN_INTERVAL_SECONDS"))
    try:
        runtime.client("dynamodb").put_item(
            TableName=runtime.setting("IDEMPOTENCY_TABLE"),
            Item={
                "pk": {"S": AUTOMATIC_RUN_KEY},
                "started_at": {"N": str(started)},
                "failover_id": {"S": runtime.failover_id},
            },
            ConditionExpression="attribute_not_exists(pk) OR started_at < :cutoff",
            ExpressionAttributeValues={":cutoff": {"N": str(started - interval)}},
        )
    except ClientError as error:
        if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        runtime.log("automatic run skipped: the previous one started less than the minimum interval ago")
        return {"admitted": False, "reason": f"an automatic run started within the last {interval} s"}
    return {"admitted": True, "reason": f"first automatic run in the interval; {evidence}"}


def handler(event, context):
    return run(event, lambda_runtime(STEP, event, context))
