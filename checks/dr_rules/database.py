"""Aurora global database members: what a cluster joining a global cluster must not set."""

from __future__ import annotations

from cfnlint.rules import CloudFormationLintRule

from checks.dr_rules._intrinsics import UNKNOWN, finding, properties_path, render, resources, variants, when

CLUSTER = "AWS::RDS::DBCluster"
GLOBAL_CLUSTER = "AWS::RDS::GlobalCluster"
JOIN = "GlobalClusterIdentifier"
CREDENTIALS = ("MasterUsername", "MasterUserPassword", "DatabaseName")


class SecondaryClusterCredentials(CloudFormationLintRule):
    """A cluster joining a global cluster that another stack created must not bring credentials.

    A secondary inherits the master user, password and database from the global cluster,
    and RDS rejects a create that sets them. So they are allowed only where this stack
    creates the global cluster being joined (our primary guards them with the same
    ``Fn::If`` that creates it); cfn-lint's solver checks that condition by condition.
    """

    id = "E9001"
    shortdesc = "Global database secondary with master credentials or a database name"
    description = (
        "A DB cluster that joins a global cluster this stack does not create must not set "
        "MasterUsername, MasterUserPassword or DatabaseName"
    )
    source_url = (
        "https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-global-database-getting-started.html"
    )
    tags = ["dr", "rds", "global-database"]

    def match(self, cfn):
        global_clusters = {}  # logical id -> resource
        joined_as = {}  # how a cluster can name one (by Ref, or by its identifier) -> logical id
        for name, resource, properties in resources(cfn, GLOBAL_CLUSTER):
            global_clusters[name] = resource
            joined_as[render({"Ref": name})] = name
            identifier = render(properties.get(JOIN))
            if UNKNOWN not in identifier:
                joined_as[identifier] = name
        for name, resource, properties in resources(cfn, CLUSTER):
            reported = set()
            for scenario, values in variants(cfn, properties, (JOIN, *CREDENTIALS), resource.get("Condition")):
                if JOIN not in values:
                    continue
                joined = values[JOIN]
                creator = joined_as.get(render(joined))
                if creator in global_clusters and self._created(cfn, global_clusters[creator], scenario):
                    continue
                for credential in CREDENTIALS:
                    if credential in values and credential not in reported:
                        reported.add(credential)
                        yield finding(
                            properties_path(name, credential),
                            f"{name} joins global cluster {render(joined)!r}{when(scenario)} without this stack "
                            f"creating it, so as a secondary, yet sets {credential}: a secondary inherits it and "
                            "RDS rejects it; guard it with the condition that creates the GlobalCluster",
                        )

    @staticmethod
    def _created(cfn, global_cluster: dict, scenario: dict[str, bool]) -> bool:
        condition = global_cluster.get("Condition")
        return not isinstance(condition, str) or cfn.conditions.check_implies(scenario, condition)


class GlobalMemberManagedPassword(CloudFormationLintRule):
    """RDS-managed master passwords (Secrets Manager) are not supported for global database members.

    The stack fails at create time, in the region where it hurts most; the project uses a
    generated secret read by dynamic reference instead.
    """

    id = "E9002"
    shortdesc = "ManageMasterUserPassword on a global database member"
    description = "A DB cluster with GlobalClusterIdentifier must not enable ManageMasterUserPassword"
    source_url = "https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/rds-secrets-manager.html"
    tags = ["dr", "rds", "global-database"]

    def match(self, cfn):
        managed = "ManageMasterUserPassword"
        for name, resource, properties in resources(cfn, CLUSTER):
            for scenario, values in variants(cfn, properties, (JOIN, managed), resource.get("Condition")):
                if JOIN in values and managed in values and str(values[managed]).lower() != "false":
                    yield finding(
                        properties_path(name, managed),
                        f"{name} is a member of a global cluster{when(scenario)} and sets {managed}, "
                        "which RDS does not support for global database members",
                    )
                    break
