"""Data tier: Aurora PostgreSQL global database, its generated secret, and its instances.

The stack instance that creates the global database (``CreatesGlobalDatabase``: the primary
region's unless ``database.created_in`` names the region that did) creates the global cluster and the writer cluster with credentials
read from a generated secret by dynamic reference; the secret replicates into the DR
region under the DR region's key. Every other instance creates a secondary cluster that joins
the global cluster with no master user, password or database name: a global database
secondary inherits them, and RDS rejects them. ``ManageMasterUserPassword`` is not
supported for global database members, so it is not used.
"""

from __future__ import annotations

from dataclasses import dataclass

from troposphere import Equals, GetAtt, If, NoValue, Or, Output, Parameter, Ref, Sub, Template
from troposphere import iam, rds, secretsmanager

from policies import database as database_policies
from templates import naming, protection
from templates.config import Config
from templates.network import Network
from templates.regions import CREATES_DATABASE, PEER_REGION_PARAMETER
from templates.security import POSTGRES_PORT, SecurityGroups, data_key_arn
from templates.suppressions import cfripper_ignore, guard_suppress, merged

ENGINE = "aurora-postgresql"
GLOBAL_CLUSTER = "GlobalCluster"
DB_SECRET = "DbMasterSecret"
DB_SECRET_ATTACHMENT = "DbMasterSecretAttachment"
DB_CLUSTER = "DbCluster"
DB_SUBNET_GROUP = "DbSubnetGroup"
DB_CLUSTER_PARAMETER_GROUP = "DbClusterParameterGroup"
DB_MONITORING_ROLE = "DbMonitoringRole"
DB_INSTANCE_COUNT_PARAMETER = "DbInstanceCount"

# RDS rejects '/', '"', '@' and spaces in master passwords; '\' and "'" break the
# shells and connection strings operators paste them into.
PASSWORD_EXCLUDED_CHARACTERS = "\"'@/\\"
PASSWORD_LENGTH = 32
PERFORMANCE_INSIGHTS_RETENTION_DAYS = 7  # the free tier
ENHANCED_MONITORING_INTERVAL_SECONDS = 60


def db_instance(index: int) -> str:
    return f"DbInstance{index}"


def db_instance_condition(index: int) -> str:
    return f"{db_instance(index)}Enabled"


def rendered_instances(cfg: Config) -> int:
    """The template holds enough instances for the larger region; a parameter enables them."""
    return max(cfg.database.primary_instances, cfg.database.dr_instances)


def region_parameters(cfg: Config, region: str) -> dict[str, str]:
    """One instance everywhere needs no choice, hence no parameter (an unused one fails W2001)."""
    if rendered_instances(cfg) == 1:
        return {}
    return {DB_INSTANCE_COUNT_PARAMETER: str(cfg.database.instances(cfg.is_primary(region)))}


@dataclass(frozen=True)
class Database:
    cluster_identifier: Ref
    endpoint: GetAtt
    reader_endpoint: GetAtt
    port: int
    # The secret has the same name in both regions (the DR copy is the replica), so
    # consumers refer to it by name within their region.
    secret_name: str


def _secret_field(field: str) -> Sub:
    """A dynamic reference: CloudFormation reads the value at deploy time; it is never in the template."""
    return Sub(f"{{{{resolve:secretsmanager:${{{DB_SECRET}}}:SecretString:{field}}}}}")


def _add_secret(t: Template, cfg: Config) -> None:
    t.add_resource(
        secretsmanager.Secret(
            DB_SECRET,
            Condition=CREATES_DATABASE,
            Name=naming.db_secret(cfg).value(),
            Description=f"{naming.prefix(cfg)} Aurora master credentials (generated; replicated to the DR region)",
            KmsKeyId=data_key_arn(cfg),
            GenerateSecretString=secretsmanager.GenerateSecretString(
                SecretStringTemplate=f'{{"username": "{cfg.database.master_username}"}}',
                GenerateStringKey="password",
                PasswordLength=PASSWORD_LENGTH,
                ExcludeCharacters=PASSWORD_EXCLUDED_CHARACTERS,
            ),
            # The alias resolves in the replica's region: the DR region's own data key.
            ReplicaRegions=[
                secretsmanager.ReplicaRegion(
                    Region=Ref(PEER_REGION_PARAMETER), KmsKeyId=naming.data_key_alias(cfg).value()
                )
            ],
            # Kept when the stack is deleted, but not when a failed create rolls back: its fixed name
            # (and its replica's) would make the retry fail ("RetainExceptOnCreate", DeletionPolicy
            # attribute, https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-deletionpolicy.html).
            DeletionPolicy="RetainExceptOnCreate",
            UpdateReplacePolicy="Retain",
        )
    )
    t.add_resource(
        secretsmanager.SecretTargetAttachment(
            DB_SECRET_ATTACHMENT,
            Condition=CREATES_DATABASE,
            SecretId=Ref(DB_SECRET),
            TargetId=Ref(DB_CLUSTER),
            TargetType="AWS::RDS::DBCluster",
        )
    )


def _add_global_cluster(t: Template, cfg: Config) -> None:
    t.add_resource(
        rds.GlobalCluster(
            GLOBAL_CLUSTER,
            Condition=CREATES_DATABASE,
            GlobalClusterIdentifier=naming.global_cluster(cfg).value(),
            Engine=ENGINE,
            EngineVersion=cfg.database.engine_version,
            StorageEncrypted=True,
            DeletionProtection=protection.protected(cfg.database.deletion_protection),
            # A global cluster holds no data of its own (the member clusters are
            # snapshotted), and RDS refuses to delete it while it has members.
            DeletionPolicy="Delete",
            UpdateReplacePolicy="Delete",
        )
    )


def _add_cluster(t: Template, cfg: Config, network: Network, security: SecurityGroups) -> None:
    t.add_resource(
        rds.DBSubnetGroup(
            DB_SUBNET_GROUP,
            DBSubnetGroupDescription=f"{naming.prefix(cfg)} Aurora: isolated subnets",
            SubnetIds=list(network.isolated_subnet_ids),
        )
    )
    t.add_resource(
        rds.DBClusterParameterGroup(
            DB_CLUSTER_PARAMETER_GROUP,
            Description=f"{naming.prefix(cfg)} Aurora PostgreSQL cluster parameters",
            Family=cfg.database.parameter_group_family,
            Parameters={"rds.force_ssl": "1"},
        )
    )
    only_on_writer = {
        "MasterUsername": If(CREATES_DATABASE, _secret_field("username"), NoValue),
        "MasterUserPassword": If(CREATES_DATABASE, _secret_field("password"), NoValue),
        "DatabaseName": If(CREATES_DATABASE, cfg.database.database_name, NoValue),
    }
    t.add_resource(
        rds.DBCluster(
            DB_CLUSTER,
            Metadata=merged(
                cfripper_ignore(
                    {
                        "HardcodedRDSPasswordRule": "the password is a Secrets Manager dynamic reference to the generated "
                        "secret, resolved by CloudFormation; no parameter or literal holds it"
                    }
                ),
                guard_suppress({"RDS_CLUSTER_DELETION_PROTECTION_ENABLED_CHECK": protection.FIRST_CREATE_REASON}),
            ),
            DBClusterIdentifier=naming.db_cluster(cfg).value(),
            Engine=ENGINE,
            EngineVersion=cfg.database.engine_version,
            # The primary waits for the global cluster it creates; the DR instance joins by name.
            GlobalClusterIdentifier=If(CREATES_DATABASE, Ref(GLOBAL_CLUSTER), naming.global_cluster(cfg).value()),
            **only_on_writer,
            Port=POSTGRES_PORT,
            StorageEncrypted=True,
            KmsKeyId=data_key_arn(cfg),
            DBSubnetGroupName=Ref(DB_SUBNET_GROUP),
            VpcSecurityGroupIds=[security.database],
            DBClusterParameterGroupName=Ref(DB_CLUSTER_PARAMETER_GROUP),
            BackupRetentionPeriod=cfg.database.backup_retention_days,
            PreferredBackupWindow="03:00-04:00",
            PreferredMaintenanceWindow="sun:05:00-sun:06:00",
            CopyTagsToSnapshot=True,
            DeletionProtection=protection.protected(cfg.database.deletion_protection),
            EnableCloudwatchLogsExports=["postgresql"],
            EnableIAMDatabaseAuthentication=True,
            DeletionPolicy="Snapshot",
            UpdateReplacePolicy="Snapshot",
        )
    )


def _add_instances(t: Template, cfg: Config) -> None:
    count = rendered_instances(cfg)
    if count > 1:
        t.add_parameter(
            Parameter(
                DB_INSTANCE_COUNT_PARAMETER,
                Type="String",
                AllowedValues=[str(n) for n in range(1, count + 1)],
                Description="Aurora instances in this region's cluster",
            )
        )
    for index in range(2, count + 1):
        enabled_for = [Equals(Ref(DB_INSTANCE_COUNT_PARAMETER), str(n)) for n in range(index, count + 1)]
        t.add_condition(db_instance_condition(index), enabled_for[0] if len(enabled_for) == 1 else Or(*enabled_for))
    t.add_resource(
        iam.Role(
            DB_MONITORING_ROLE,
            AssumeRolePolicyDocument=database_policies.enhanced_monitoring_trust(),
            ManagedPolicyArns=database_policies.enhanced_monitoring_managed_policies(),
        )
    )
    for index in range(1, count + 1):
        t.add_resource(
            rds.DBInstance(
                db_instance(index),
                **({"Condition": db_instance_condition(index)} if index > 1 else {}),
                Metadata=guard_suppress({
                    "RDS_INSTANCE_AUTOMATIC_MINOR_VERSION_UPGRADE_ENABLED_CHECK": "AWS applies no automatic minor version "
                    "upgrade to a global database member; the global cluster is upgraded (docs/operating.md, Patching the database)",
                }),
                DBClusterIdentifier=Ref(DB_CLUSTER),
                DBInstanceClass=cfg.database.instance_class,
                Engine=ENGINE,
                PubliclyAccessible=False,
                # Off: it does nothing for a global database member ("Automatic minor version upgrades
                # don't apply to ... clusters that are part of a global database", AWS re:Post
                # knowledge center aurora-mysql-global-cluster-upgrade; AWS Config's
                # rds-automatic-minor-version-upgrade-enabled lists global database clusters as
                # unsupported). Minor upgrades go secondaries first ("Upgrading an Amazon Aurora global
                # database", https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-global-database-upgrade.html):
                # docs/operating.md "Patching the database".
                AutoMinorVersionUpgrade=False,
                EnablePerformanceInsights=True,
                PerformanceInsightsKMSKeyId=data_key_arn(cfg),
                PerformanceInsightsRetentionPeriod=PERFORMANCE_INSIGHTS_RETENTION_DAYS,
                MonitoringInterval=ENHANCED_MONITORING_INTERVAL_SECONDS,
                MonitoringRoleArn=GetAtt(DB_MONITORING_ROLE, "Arn"),
                # Instances of an Aurora cluster hold no data of their own: the cluster
                # volume is snapshotted by the cluster's policy.
                DeletionPolicy="Delete",
                UpdateReplacePolicy="Delete",
            )
        )


def _add_outputs(t: Template) -> None:
    t.add_output(Output("DbClusterIdentifier", Description="This region's Aurora cluster", Value=Ref(DB_CLUSTER)))
    t.add_output(Output("DbClusterEndpoint", Description="Writer endpoint (serves only while this region is the writer)", Value=GetAtt(DB_CLUSTER, "Endpoint.Address")))
    t.add_output(Output("DbClusterReaderEndpoint", Description="Reader endpoint", Value=GetAtt(DB_CLUSTER, "ReadEndpoint.Address")))
    t.add_output(Output("DbSecretArn", Condition=CREATES_DATABASE, Description="Master secret (the DR region holds its replica)", Value=Ref(DB_SECRET)))


def add_database(t: Template, cfg: Config, network: Network, security: SecurityGroups) -> Database:
    """Add the data tier to ``t``; the primary/secondary split is made by Conditions."""
    _add_global_cluster(t, cfg)
    _add_secret(t, cfg)
    _add_cluster(t, cfg, network, security)
    _add_instances(t, cfg)
    _add_outputs(t)
    return Database(
        cluster_identifier=Ref(DB_CLUSTER),
        endpoint=GetAtt(DB_CLUSTER, "Endpoint.Address"),
        reader_endpoint=GetAtt(DB_CLUSTER, "ReadEndpoint.Address"),
        port=POSTGRES_PORT,
        secret_name=naming.db_secret(cfg).pattern,
    )
