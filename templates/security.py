"""Keys and security groups.

The data key is created by the bootstrap StackSet, not the regional one: the primary
instance's secret replicates into the DR region encrypted with the DR region's key, and
StackSets deploy the primary first, so both regions' keys must exist before either
regional instance. The regional template imports the key ARN from its own region's
bootstrap stack (exports are regional, so each instance gets its own region's key).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from troposphere import Export, GetAtt, ImportValue, Output, Parameter, Ref, Sub, Tags, Template, kms
from troposphere import ec2

from policies.kms import data_key_policy
from templates import naming
from templates.config import Config

if TYPE_CHECKING:  # the network tier imports this module for the key
    from templates.network import Network

DATA_KEY = "DataKey"
DATA_KEY_ALIAS = "DataKeyAlias"
APP_SECURITY_GROUP = "AppSecurityGroup"
DB_SECURITY_GROUP = "DbSecurityGroup"
APP_EGRESS_TO_DATABASE = "AppEgressToDatabase"
POSTGRES_PORT = 5432
HTTPS_PORT = 443


DEPLOYER_PARAMETER = "StackSetExecutionRoleName"


def deployer_arn(t: Template) -> Sub:
    """The StackSet execution role (its name is a parameter: it carries the administration region)."""
    if DEPLOYER_PARAMETER not in t.parameters:
        t.add_parameter(Parameter(
            DEPLOYER_PARAMETER, Type="String", AllowedPattern=r"^[\w+=,.@-]{1,64}$",
            Description="The StackSet execution role, which the key policy names (it deploys with the key at once)",
        ))
    return Sub(f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/${{{DEPLOYER_PARAMETER}}}")


def add_key(t: Template, cfg: Config, logical_id: str, description: str, key_policy=None) -> kms.Key:
    """A customer-managed key with rotation and ``key_policy`` (the data key's by default),
    kept when the stack goes (not when its first create rolls back): snapshots, backups, replicas and
    messages stay encrypted under it. Tagged with the project's tags: key ids are random, so IAM finds the
    project's keys by tag."""
    return t.add_resource(
        kms.Key(
            logical_id,
            Description=description,
            EnableKeyRotation=True,
            KeyPolicy=key_policy or data_key_policy(naming.log_group_patterns(cfg), deployer_arn(t)),
            Tags=Tags(**naming.project_tags(cfg)),
            # Not kept by a failed create's rollback, which nothing was encrypted under yet.
            DeletionPolicy="RetainExceptOnCreate",
            UpdateReplacePolicy="Retain",
        )
    )


def add_data_key(t: Template, cfg: Config) -> None:
    """The bootstrap template's customer-managed key for this region."""
    add_key(t, cfg, DATA_KEY, f"{naming.prefix(cfg)}: Aurora, its secret, SNS and logs in this region")
    t.add_resource(kms.Alias(DATA_KEY_ALIAS, AliasName=naming.data_key_alias(cfg).value(), TargetKeyId=Ref(DATA_KEY)))
    t.add_output(
        Output(
            "DataKeyArn",
            Description="This region's data key",
            Value=GetAtt(DATA_KEY, "Arn"),
            Export=Export(naming.data_key_export(cfg).value()),
        )
    )


def data_key_arn(cfg: Config) -> ImportValue:
    """This region's data key, as the regional template sees it."""
    return ImportValue(naming.data_key_export(cfg).value())


@dataclass(frozen=True)
class SecurityGroups:
    app: Ref
    database: Ref


def add_security_groups(t: Template, cfg: Config, network: Network) -> SecurityGroups:
    """The app's group and the database's, which admits PostgreSQL from the app only (seed defect 7)."""
    t.add_resource(
        ec2.SecurityGroup(
            APP_SECURITY_GROUP,
            GroupDescription=f"{naming.prefix(cfg)} app tasks",
            VpcId=network.vpc_id,
            Tags=Tags(**naming.project_tags(cfg)),
            # Not all egress: HTTPS for the AWS APIs and the image registry (and ECR's layers in
            # S3, through the gateway endpoint), the database below. DNS needs no rule: security
            # groups do not filter traffic to the Amazon DNS server (VPC user guide, "Security
            # group rules", https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html).
            SecurityGroupEgress=[
                ec2.SecurityGroupRule(
                    Description="HTTPS: AWS APIs and the image registry",
                    IpProtocol="tcp",
                    FromPort=HTTPS_PORT,
                    ToPort=HTTPS_PORT,
                    CidrIp="0.0.0.0/0",
                )
            ],
        )
    )
    t.add_resource(
        ec2.SecurityGroup(
            DB_SECURITY_GROUP,
            GroupDescription=f"{naming.prefix(cfg)} Aurora: PostgreSQL from the app only",
            VpcId=network.vpc_id,
            Tags=Tags(**naming.project_tags(cfg)),
            SecurityGroupIngress=[
                ec2.SecurityGroupRule(
                    Description="PostgreSQL from the app tasks",
                    IpProtocol="tcp",
                    FromPort=POSTGRES_PORT,
                    ToPort=POSTGRES_PORT,
                    SourceSecurityGroupId=Ref(APP_SECURITY_GROUP),
                )
            ],
            # Aurora initiates nothing inside the VPC. A rule no packet can match replaces
            # the default allow-all egress (the same device AWS CDK uses).
            SecurityGroupEgress=[
                ec2.SecurityGroupRule(
                    Description="Disallow all traffic",
                    IpProtocol="icmp",
                    FromPort=252,
                    ToPort=86,
                    CidrIp="255.255.255.255/32",
                )
            ],
        )
    )
    # A rule of its own: inline, the two groups would reference each other (a circular dependency).
    t.add_resource(
        ec2.SecurityGroupEgress(
            APP_EGRESS_TO_DATABASE,
            GroupId=Ref(APP_SECURITY_GROUP),
            Description="PostgreSQL to the database only",
            IpProtocol="tcp",
            FromPort=POSTGRES_PORT,
            ToPort=POSTGRES_PORT,
            DestinationSecurityGroupId=Ref(DB_SECURITY_GROUP),
        )
    )
    return SecurityGroups(app=Ref(APP_SECURITY_GROUP), database=Ref(DB_SECURITY_GROUP))
