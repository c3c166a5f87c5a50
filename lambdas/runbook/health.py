"""Route 53's view of a load balancer, for the steps that read it.

Route 53 counts an endpoint healthy when more than 18% of its checkers report it healthy
(Route 53 developer guide, "How Amazon Route 53 determines whether a health check is
healthy"). ``GetHealthCheckStatus`` serves endpoint checks only, not calculated ones, and
AWS calls it a diagnostic API: the runbook reads it a few times per run.
https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/dns-failover-determining-health-of-endpoints.html
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .runtime import Runtime, is_unreachable

HEALTHY_FRACTION = 0.18


def checkers_healthy(observations: list[dict[str, Any]]) -> tuple[bool, int]:
    """(Route 53 deems it healthy, how many checkers said so)."""
    healthy = sum(1 for o in observations if o.get("StatusReport", {}).get("Status", "").startswith("Success"))
    return bool(observations) and healthy / len(observations) > HEALTHY_FRACTION, healthy


# ListTagsForResources takes "a complex type that contains the ResourceId element for each
# resource for which you want to get a list of tags" and "you can specify up to 10" per call
# (Route 53 API Reference): one call per ten checks, not one per check, against Route 53's
# five-requests-per-second account throttle.
# https://docs.aws.amazon.com/Route53/latest/APIReference/API_ListTagsForResources.html
TAGS_PER_CALL = 10


def health_check_named(route53, name: str) -> str | None:
    """The id of the health check tagged ``Name=name`` (another region's stack created it, so
    its id is not in this stack; its name is deterministic)."""
    for page in route53.get_paginator("list_health_checks").paginate():
        ids = [check["Id"] for check in page["HealthChecks"]]
        for start in range(0, len(ids), TAGS_PER_CALL):
            tag_sets = route53.list_tags_for_resources(ResourceType="healthcheck", ResourceIds=ids[start:start + TAGS_PER_CALL])
            for tag_set in tag_sets["ResourceTagSets"]:
                if {"Key": "Name", "Value": name} in tag_set.get("Tags", []):
                    return tag_set["ResourceId"]
    return None


@dataclass(frozen=True)
class Evidence:
    """Whether the primary region's application is down, why, and whether Route 53 answered at
    all (when it did not, nobody can tell an outage from a partition)."""

    impaired: bool
    why: str
    route53_answered: bool = True


def primary_impaired(runtime: Runtime) -> Evidence:
    """Evidence that the primary region's application is down (the automatic trigger's
    admission, and the fence when the primary's ECS API does not answer): Route 53's checkers
    see its load balancer unhealthy, or Route 53's API does not answer while it lives in the
    primary region. Not impaired otherwise: it may still be serving."""
    route53 = runtime.client("route53")
    name = runtime.setting("PEER_HEALTH_CHECK_NAME")
    try:
        check = health_check_named(route53, name)
        if check is None:
            return Evidence(False, f"no Route 53 health check is named {name}")
        impaired = not checkers_healthy(route53.get_health_check_status(HealthCheckId=check)["HealthCheckObservations"])[0]
    except Exception as error:
        if not is_unreachable(error):
            raise
        hosted_there = runtime.setting("PEER_HOSTS_ROUTE53_API") == "true"
        where = ", in the primary region," if hosted_there else ""
        return Evidence(hosted_there, f"Route 53's API{where} does not answer ({type(error).__name__})", route53_answered=False)
    if impaired:
        return Evidence(True, "Route 53's checkers see the primary's load balancer unhealthy")
    return Evidence(False, "Route 53's checkers see the primary's load balancer healthy")
