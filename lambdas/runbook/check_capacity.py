"""Read-only checks the state machine polls before anything is promoted.

``capacity`` (the default): does this region's load balancer have a healthy target? Route 53
answers with the PRIMARY record whenever the SECONDARY record is unhealthy, "regardless of
the health of the primary resource record set" (Route 53 API Reference, ResourceRecordSet
``Failover``): moving the writer or the switch to a region that cannot serve helps nobody.
https://docs.aws.amazon.com/Route53/latest/APIReference/API_ResourceRecordSet.html

``fence``: have the old primary's tasks stopped? Setting its desired count to 0 does not stop
them at once: the load balancer drains each target for the deregistration delay, then ECS
sends the stop signal and waits the stop timeout ("ECS waits for the target to drain ... then
stops the task", ECS developer guide, "Amazon ECS task lifecycle" and ContainerDefinition
``stopTimeout``). Until then the old primary can still take writes that the promoted cluster
never sees. ``runningCount`` may drop when draining starts (it counts tasks in the RUNNING
state; draining happens in DEACTIVATING), so the check also waits out the drain itself
(``FENCE_DRAIN_SECONDS`` from the fence). A region that does not answer is down, which fences it too.
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-lifecycle-explanation.html
"""

from __future__ import annotations

from typing import Any

from .runtime import Runtime, StepError, is_unreachable, lambda_runtime, now

STEP = "check_capacity"
HEALTHY = "healthy"
CAPACITY = "capacity"
FENCE = "fence"
# The record's health check follows the load balancer, which is healthy with one healthy
# target; warm standby serves on that while the scale-out completes.
MIN_HEALTHY_TARGETS = 1


def run(event: dict[str, Any], runtime: Runtime) -> dict[str, Any]:
    check = event.get("check", CAPACITY)
    if check == FENCE:
        if "fenced_at" not in event:
            raise StepError("the fence check needs fenced_at (when the old primary's count went to 0)")
        return _old_primary_stopped(runtime, float(event["fenced_at"]))
    if check != CAPACITY:
        raise StepError(f"check must be {CAPACITY!r} or {FENCE!r}, not {check!r}")
    targets = runtime.client("elbv2").describe_target_health(TargetGroupArn=runtime.setting("TARGET_GROUP_ARN"))
    healthy = sum(1 for target in targets["TargetHealthDescriptions"] if target["TargetHealth"]["State"] == HEALTHY)
    ready = healthy >= MIN_HEALTHY_TARGETS
    runtime.log("capacity check", healthy_targets=healthy, ready=ready)
    return {"ready": ready, "healthy_targets": healthy}


def _old_primary_stopped(runtime: Runtime, fenced_at: float) -> dict[str, Any]:
    region = runtime.setting("PEER_REGION")
    try:
        (service,) = runtime.client("ecs", region).describe_services(
            cluster=runtime.setting("CLUSTER_NAME"), services=[runtime.setting("SERVICE_NAME")]
        )["services"]
    except Exception as error:
        if not is_unreachable(error):
            raise
        runtime.log("the old primary's region did not answer: down, so not serving", error=type(error).__name__)
        return {"ready": True, "running": None, "reason": f"{region} did not answer ({type(error).__name__})"}
    running = service["runningCount"] + service.get("pendingCount", 0)
    drained = now() >= fenced_at + int(runtime.setting("FENCE_DRAIN_SECONDS"))
    runtime.log("fence check", region=region, running=running, drained=drained)
    return {"ready": running == 0 and drained, "running": running, "drained": drained}


def handler(event, context):
    return run(event, lambda_runtime(STEP, event, context))
