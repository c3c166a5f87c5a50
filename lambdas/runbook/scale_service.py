"""Give this region's service its failover capacity; fence the old primary's; or (failing
back) return the peer's to warm standby.

Sets the autoscaling minimum first, so autoscaling cannot undo the change, then the
desired count. Only raises (or, lowering, only lowers): a service already at or beyond
the target is left alone.
- ``up``: this region's service, to its failover capacity.
- ``fence``: an unplanned failover, before the promotion: the old primary's service to
  zero, so its application stops writing. Aurora's write fencing is best effort ("it's
  possible that writes might be momentarily accepted in the old primary Region, causing
  split-brain issues", Aurora user guide, disaster recovery): taking the application offline
  there first is AWS's advice. A region that does not answer is down, which fences it too;
  the step records which it was and the run goes on.
- ``down``: after a failback, the DR region's service back to warm standby.
https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-global-database-disaster-recovery.html
"""

from __future__ import annotations

from typing import Any

from .health import primary_impaired
from .idempotency import once
from .runtime import Runtime, StepError, is_unreachable, lambda_runtime, now

STEP = "scale_service"
UP = "up"
DOWN = "down"
FENCE = "fence"
DIMENSION = "ecs:service:DesiredCount"


class FenceNotConfirmed(StepError):
    """The old primary's ECS API did not answer while Route 53 sees its application serving."""

SUSPENSIONS = ("DynamicScalingInSuspended", "DynamicScalingOutSuspended", "ScheduledScalingSuspended")


def run(event: dict[str, Any], runtime: Runtime) -> dict[str, Any]:
    direction = event.get("direction", UP)
    if direction not in (UP, DOWN, FENCE):
        raise StepError(f"direction must be {UP!r}, {DOWN!r} or {FENCE!r}, not {direction!r}")
    return once(runtime, lambda: _converge(direction, runtime), key_suffix=f"#{direction}")


def _needs_change(current: int, target: int, direction: str) -> bool:
    return current < target if direction == UP else current > target


def _converge(direction: str, runtime: Runtime) -> dict[str, Any]:
    if direction != FENCE:
        return _scale(direction, runtime)
    try:
        # When the old primary's count went to 0: its tasks drain from then (check_capacity).
        return {**_scale(direction, runtime), "fenced": True, "at": now()}
    except Exception as error:
        if not is_unreachable(error):
            raise
        # An API that does not answer is not an application that does not serve: Route 53's
        # checkers say which (a drill found promotions while the old primary still served).
        evidence = primary_impaired(runtime)
        if not evidence.impaired:
            raise FenceNotConfirmed(
                f"the old primary's ECS API did not answer ({type(error).__name__}) and {evidence.why}: it may still take writes, "
                "so nothing was promoted; fence it by hand (its service to 0) and run again"
            ) from None
        runtime.log("the old primary's region did not answer and is impaired: down, which fences it", error=type(error).__name__, evidence=evidence.why)
        return {"direction": FENCE, "region": runtime.setting("PEER_REGION"), "fenced": False,
                "reason": f"the region did not answer ({type(error).__name__}): {evidence.why}",
                # Route 53's API itself did not answer: nobody could tell whether it still serves.
                "seen_by_route53": evidence.route53_answered}


def _scale(direction: str, runtime: Runtime) -> dict[str, Any]:
    cluster, service = runtime.setting("CLUSTER_NAME"), runtime.setting("SERVICE_NAME")
    if direction == FENCE:
        target = 0
    else:
        target = int(runtime.setting("FAILOVER_DESIRED_COUNT" if direction == UP else "PEER_STANDBY_DESIRED_COUNT"))
    region = None if direction == UP else runtime.setting("PEER_REGION")
    resource_id = f"service/{cluster}/{service}"
    autoscaling, ecs = runtime.client("application-autoscaling", region), runtime.client("ecs", region)
    changed = []
    (scalable,) = autoscaling.describe_scalable_targets(
        ServiceNamespace="ecs", ResourceIds=[resource_id], ScalableDimension=DIMENSION
    )["ScalableTargets"]
    # Fenced, the old primary's scaling is suspended too: a scale-out alarm (its draining
    # tasks' CPU, say) would otherwise start tasks against the old writer. Raised again, it
    # scales as usual. ("SuspendedState ... DynamicScalingOutSuspended", Application Auto
    # Scaling API Reference, RegisterScalableTarget.)
    # https://docs.aws.amazon.com/autoscaling/application/APIReference/API_RegisterScalableTarget.html
    suspended = direction == FENCE
    suspension_wrong = any(scalable.get("SuspendedState", {}).get(key, False) != suspended for key in SUSPENSIONS)
    if _needs_change(scalable["MinCapacity"], target, direction) or (direction != DOWN and suspension_wrong):
        runtime.budget.require(10, "change the autoscaling minimum")
        autoscaling.register_scalable_target(
            ServiceNamespace="ecs",
            ResourceId=resource_id,
            ScalableDimension=DIMENSION,
            MinCapacity=target if _needs_change(scalable["MinCapacity"], target, direction) else scalable["MinCapacity"],
            MaxCapacity=max(scalable["MaxCapacity"], target),
            SuspendedState={key: suspended for key in SUSPENSIONS},
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
