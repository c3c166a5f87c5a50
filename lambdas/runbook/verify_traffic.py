"""After the switch: does Route 53 see this region's load balancer as healthy?

This region's record is answered only while its health check passes, so the run reports
traffic as moved only when Route 53's checkers see this region's load balancer healthy
(``health.checkers_healthy``). The check read is the load balancer's own:
``GetHealthCheckStatus`` does not serve calculated health checks.

``GetHealthCheckStatus`` is Route 53's control plane (us-east-1 in the aws partition) and
AWS calls it a diagnostic API ("intended for use during development"): the runbook reads it
a few times per run, and when it does not answer (the region hosting it may be the one
that is down) the run reports traffic as unverified instead of failing.
https://docs.aws.amazon.com/Route53/latest/APIReference/API_GetHealthCheckStatus.html
"""

from __future__ import annotations

from typing import Any

from .health import checkers_healthy
from .runtime import Runtime, is_unreachable, lambda_runtime

STEP = "verify_traffic"


def run(event: dict[str, Any], runtime: Runtime) -> dict[str, Any]:
    health_check = runtime.setting("HEALTH_CHECK_ID")
    try:
        observations = runtime.client("route53").get_health_check_status(HealthCheckId=health_check)["HealthCheckObservations"]
    except Exception as error:
        if not is_unreachable(error):
            raise
        runtime.log("Route 53's API did not answer: traffic not verified", error=type(error).__name__)
        return {"ready": True, "verified": False, "reason": f"Route 53's API did not answer ({type(error).__name__})"}
    verified, healthy = checkers_healthy(observations)
    runtime.log("traffic check", healthy_checkers=healthy, checkers=len(observations), verified=verified)
    return {"ready": verified, "verified": verified, "healthy_checkers": healthy, "checkers": len(observations)}


def handler(event, context):
    return run(event, lambda_runtime(STEP, event, context))
