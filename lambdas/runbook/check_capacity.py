"""Before traffic moves here: does this region's load balancer have a healthy target?

Route 53 answers with the PRIMARY record whenever the SECONDARY record is unhealthy,
"regardless of the health of the primary resource record set" (Route 53 API Reference,
ResourceRecordSet ``Failover``): throwing the switch while the DR service has no healthy
target moves no traffic, and releasing it onto an unhealthy primary serves errors. So the
state machine polls this (read-only, no idempotency record) and moves traffic only once
it passes, within a bound.
https://docs.aws.amazon.com/Route53/latest/APIReference/API_ResourceRecordSet.html
"""

from __future__ import annotations

from typing import Any

from .runtime import Runtime, lambda_runtime

STEP = "check_capacity"
HEALTHY = "healthy"
# The record's health check follows the load balancer, which is healthy with one healthy
# target; warm standby serves on that while the scale-out completes.
MIN_HEALTHY_TARGETS = 1


def run(event: dict[str, Any], runtime: Runtime) -> dict[str, Any]:
    targets = runtime.client("elbv2").describe_target_health(TargetGroupArn=runtime.setting("TARGET_GROUP_ARN"))
    healthy = sum(1 for target in targets["TargetHealthDescriptions"] if target["TargetHealth"]["State"] == HEALTHY)
    ready = healthy >= MIN_HEALTHY_TARGETS
    runtime.log("capacity check", healthy_targets=healthy, ready=ready)
    return {"ready": ready, "healthy_targets": healthy}


def handler(event, context):
    return run(event, lambda_runtime(STEP, event, context))
