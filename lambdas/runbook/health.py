"""Route 53's view of a load balancer, for the steps that read it.

Route 53 counts an endpoint healthy when more than 18% of its checkers report it healthy
(Route 53 developer guide, "How Amazon Route 53 determines whether a health check is
healthy"). ``GetHealthCheckStatus`` serves endpoint checks only, not calculated ones, and
AWS calls it a diagnostic API: the runbook reads it a few times per run.
https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/dns-failover-determining-health-of-endpoints.html
"""

from __future__ import annotations

from typing import Any

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
