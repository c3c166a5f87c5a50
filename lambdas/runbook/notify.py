"""One message per run, with its timeline, to this region's alerts topic."""

from __future__ import annotations

import json
from typing import Any

from .idempotency import once
from .runtime import Runtime, lambda_runtime

STEP = "notify"
# SNS e-mail subjects are limited to 100 characters.
SUBJECT_LIMIT = 100


def message(event: dict[str, Any], region: str) -> tuple[str, str]:
    outcome = event.get("outcome", "succeeded")
    subject = f"DR runbook {outcome} in {region}: {event['failover_id']}"[:SUBJECT_LIMIT]
    lines = [
        f"Failover {event['failover_id']} to {region}: {outcome}",
        f"mode: {event.get('mode', 'planned')}, data loss accepted: {bool(event.get('accept_data_loss'))}",
        "",
        "timeline:",
    ]
    for name, result in event.get("steps", {}).items():
        lines.append(f"  {name}: {json.dumps(result, sort_keys=True, default=str)}")
    if "error" in event:
        lines += ["", f"error: {json.dumps(event['error'], sort_keys=True, default=str)}"]
    return subject, "\n".join(lines)


def run(event: dict[str, Any], runtime: Runtime) -> dict[str, Any]:
    outcome = event.get("outcome", "succeeded")
    return once(runtime, lambda: _publish(event, runtime), key_suffix=f"#{outcome}")


def _publish(event: dict[str, Any], runtime: Runtime) -> dict[str, Any]:
    subject, body = message(event, runtime.setting("AWS_REGION"))
    response = runtime.client("sns").publish(TopicArn=runtime.setting("ALERTS_TOPIC_ARN"), Subject=subject, Message=body)
    runtime.log("run notification published", subject=subject)
    return {"message_id": response["MessageId"], "subject": subject}


def handler(event, context):
    return run(event, lambda_runtime(STEP, event, context))
