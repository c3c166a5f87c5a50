"""Give this region's service its failover capacity, or (failing back) return the peer's to
warm standby.

Sets the autoscaling minimum first, so autoscaling cannot undo the change, then the
desired count. Only raises (or, for standby, only lowers): a service already at or beyond
the target is left alone. ``up`` acts on this region's service; ``down`` runs in the
primary region after failback and acts on the DR region's (both regions are up then).
"""

from __future__ import annotations

from typing import Any

from .idempotency import once
from .runtime import Runtime, StepError, lambda_runtime

STEP = "scale_service"
UP = "up"
DOWN = "down"
DIMENSION = "ecs:service:DesiredCount"


def run(event: dict[str, Any], runtime: Runtime) -> dict[str, Any]:
    direction = event.get("direction", UP)
    if direction not in (UP, DOWN):
        raise StepError(f"direction must be {UP!r} or {DOWN!r}, not {direction!r}")
    return once(runtime, lambda: _scale(direction, runtime), key_suffix=f"#{direction}")


def _needs_change(current: int, target: int, direction: str) -> bool:
    return current < target if direction == UP else current > target


def _scale(direction: str, runtime: Runtime) -> dict[str, Any]:
    cluster, service = runtime.setting("CLUSTER_NAME"), runtime.setting("SERVICE_NAME")
    target = int(runtime.setting("FAILOVER_DESIRED_COUNT" if direction == UP else "PEER_STANDBY_DESIRED_COUNT"))
    region = None if direction == UP else runtime.setting("PEER_REGION")
    resource_id = f"service/{cluster}/{service}"
    autoscaling, ecs = runtime.client("application-autoscaling", region), runtime.client("ecs", region)
    changed = []
    (scalable,) = autoscaling.describe_scalable_targets(
        ServiceNamespace="ecs", ResourceIds=[resource_id], ScalableDimension=DIMENSION
    )["ScalableTargets"]
    if _needs_change(scalable["MinCapacity"], target, direction):
        runtime.budget.require(10, "change the autoscaling minimum")
        autoscaling.register_scalable_target(
            ServiceNamespace="ecs",
            ResourceId=resource_id,
            ScalableDimension=DIMENSION,
            MinCapacity=target,
            MaxCapacity=max(scalable["MaxCapacity"], target),
        )
        changed.append("min_capacity")
    (current,) = ecs.describe_services(cluster=cluster, services=[service])["services"]
    if _needs_change(current["desiredCount"], target, direction):
        runtime.budget.require(10, "change the desired count")
        ecs.update_service(cluster=cluster, service=service, desiredCount=target)
        changed.append("desired_count")
    runtime.log("service capacity converged", direction=direction, region=region, target=target, changed=changed)
    return {"direction": direction, "region": region or runtime.setting("AWS_REGION"), "target": target, "changed": changed, "running": current["runningCount"]}


def handler(event, context):
    return run(event, lambda_runtime(STEP, event, context))
