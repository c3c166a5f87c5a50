"""What tells the two stack instances apart: their role and the other region.

The template is identical in both regions; the ``RegionRole`` parameter (set per stack
instance) drives Conditions that choose the role-specific resources. The roles describe
how the stacks were deployed; after a failover the database writer may be in either.
"""

from __future__ import annotations

from troposphere import Equals, Not, Parameter, Ref, Template

from templates.config import Config

ROLE_PARAMETER = "RegionRole"
PEER_REGION_PARAMETER = "PeerRegion"
ROUTE53_METRICS_REGION_PARAMETER = "Route53MetricsRegion"
PRIMARY = "primary"
SECONDARY = "secondary"
IS_PRIMARY = "IsPrimaryRegion"
IS_SECONDARY = "IsSecondaryRegion"


def add_region_role(t: Template) -> None:
    t.add_parameter(
        Parameter(
            ROLE_PARAMETER,
            Type="String",
            AllowedValues=[PRIMARY, SECONDARY],
            Description="primary creates the global database; secondary joins it",
        )
    )
    t.add_parameter(
        Parameter(
            PEER_REGION_PARAMETER,
            Type="String",
            AllowedPattern=r"^[a-z]{2,4}(-[a-z]+){1,2}-\d+$",
            Description="The other region of the pair (secret replica, cross-region alerting)",
        )
    )
    t.add_parameter(
        Parameter(
            ROUTE53_METRICS_REGION_PARAMETER,
            Type="String",
            AllowedPattern=r"^[a-z]{2,4}(-[a-z]+){1,2}-\d+$",
            Description="Where Route 53 publishes health-check metrics (and its alarms relay from)",
        )
    )
    t.add_condition(IS_PRIMARY, Equals(Ref(ROLE_PARAMETER), PRIMARY))
    t.add_condition(IS_SECONDARY, Not(Equals(Ref(ROLE_PARAMETER), PRIMARY)))


def region_parameters(cfg: Config, region: str) -> dict[str, str]:
    return {
        ROLE_PARAMETER: PRIMARY if cfg.is_primary(region) else SECONDARY,
        PEER_REGION_PARAMETER: cfg.peer_region(region),
        ROUTE53_METRICS_REGION_PARAMETER: cfg.route53_metrics_region,
    }
