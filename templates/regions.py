"""What tells the two stack instances apart: their role, the other region, and which one created the database.

The template is identical in both regions; the ``RegionRole`` parameter (set per stack
instance) drives Conditions that choose the role-specific resources. The roles describe
how the stacks were deployed; after a failover the database writer may be in either.

Creating the global database is not a role but a fact of history: the stack instance that
created the global cluster, the secret and the writer (with its credentials and database
name, which are create-only) must keep them whatever role its region plays later, or
CloudFormation would replace the cluster holding the data. ``CreatesGlobalDatabase`` says
which one it is (``database.created_in``, by default the primary region), so the regions'
roles can be swapped after a lost primary without a create-only change to any cluster.
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
CREATES_DATABASE_PARAMETER = "CreatesGlobalDatabase"
CREATES_DATABASE = "CreatesGlobalDatabaseHere"


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
    t.add_parameter(
        Parameter(
            CREATES_DATABASE_PARAMETER,
            Type="String",
            AllowedValues=["true", "false"],
            Description="true in the one stack instance that created the global database (it never changes)",
        )
    )
    t.add_condition(IS_PRIMARY, Equals(Ref(ROLE_PARAMETER), PRIMARY))
    t.add_condition(CREATES_DATABASE, Equals(Ref(CREATES_DATABASE_PARAMETER), "true"))
    t.add_condition(IS_SECONDARY, Not(Equals(Ref(ROLE_PARAMETER), PRIMARY)))


def region_parameters(cfg: Config, region: str) -> dict[str, str]:
    return {
        ROLE_PARAMETER: PRIMARY if cfg.is_primary(region) else SECONDARY,
        PEER_REGION_PARAMETER: cfg.peer_region(region),
        ROUTE53_METRICS_REGION_PARAMETER: cfg.route53_metrics_region,
        CREATES_DATABASE_PARAMETER: "true" if region == cfg.database_created_in else "false",
    }
