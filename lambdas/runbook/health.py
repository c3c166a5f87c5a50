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


def health_check_named(route53, name: str) -> str | None:
    """The id of the health check tagged ``Name=name`` (another region's stack created it, so
    its id is not in this stack; its name is deterministic)."""
    for page in route53.get_paginator("list_health_checks").paginate():
        for check in page["HealthChecks"]:
            tags = route53.list_tags_for_resource(ResourceType="healthcheck", ResourceId=check["Id"])["ResourceTagSet"]["Tags"]
            if {"Key": "Name", "Value": name} in tags:
                return check["Id"]
    return None
