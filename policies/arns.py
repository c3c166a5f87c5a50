"""The only place ARNs are built: ``Fn::Sub`` strings on ``${AWS::Partition}``.

awacs's own ARN classes hard-code the partition and mishandle intrinsics and services
whose ARNs carry no region, so policies take their resources from here.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from troposphere import Sub

_FORMAT_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")


def arn_pattern(service: str, resource: str, *, regional: bool = True, region: str = "${AWS::Region}") -> str:
    """``arn:${AWS::Partition}:SERVICE:${AWS::Region}:${AWS::AccountId}:RESOURCE`` as a Sub pattern.

    ``resource`` may hold further ``${...}`` references; ``regional=False`` leaves the
    region empty, as global resources (IAM, RDS global clusters) require.
    """
    region = region if regional else ""
    return f"arn:${{AWS::Partition}}:{service}:{region}:${{AWS::AccountId}}:{resource}"


def arn(service: str, resource: str, *, regional: bool = True, region: str = "${AWS::Region}") -> Sub:
    return Sub(arn_pattern(service, resource, regional=regional, region=region))


def log_group(name: str) -> Sub:
    """The log group itself (the resource type of DescribeLogStreams and friends)."""
    return arn("logs", f"log-group:{name}")


def log_streams(name: str) -> Sub:
    """Every stream in the log group (the resource type of PutLogEvents and CreateLogStream)."""
    return arn("logs", f"log-group:{name}:log-stream:*")


def prefix_lists_of_any_owner() -> Sub:
    """The prefix lists of this region, this account's and AWS-managed ones (owned by AWS)."""
    return Sub("arn:${AWS::Partition}:ec2:${AWS::Region}:*:prefix-list/*")


def flow_logs_in_this_region() -> Sub:
    return arn("ec2", "vpc-flow-log/*")


def account_root() -> Sub:
    """The account as a principal: delegates to the account's IAM policies."""
    return Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")


def aws_managed_policy(path_and_name: str) -> Sub:
    """An AWS-managed IAM policy, e.g. ``service-role/AmazonRDSEnhancedMonitoringRole``."""
    return Sub(f"arn:${{AWS::Partition}}:iam::aws:policy/{path_and_name}")


def global_cluster(identifier: str) -> Sub:
    """Global clusters have no region in their ARN (seed defect 2 got this wrong)."""
    return arn("rds", f"global-cluster:{identifier}", regional=False)


def db_cluster(identifier: str) -> Sub:
    return arn("rds", f"cluster:{identifier}")


def secret_by_name(name: str) -> Sub:
    """A secret by name: Secrets Manager appends six random characters to every secret ARN,
    identical in the replica, so this matches the secret in whichever region evaluates it."""
    return arn("secretsmanager", f"secret:{name}-??????")


def secret_partial(name: str, json_key: str | None = None) -> Sub:
    """The partial ARN (no random suffix) that ECS and GetSecretValue resolve by name in
    the region evaluating it; with ``json_key``, the form ECS ``Secrets`` take for one field."""
    suffix = f":{json_key}::" if json_key else ""
    return Sub(arn_pattern("secretsmanager", f"secret:{name}") + suffix)


def ecr_repository(name: str) -> Sub:
    return arn("ecr", f"repository/{name}")


def bucket(name_ref: str) -> Sub:
    """A bucket and, with ``/key``, its objects; ``name_ref`` may be ``${Bucket}``."""
    return Sub(f"arn:${{AWS::Partition}}:s3:::{name_ref}")


def topic(name: str, region: str = "${AWS::Region}") -> Sub:
    """An SNS topic; ``region`` may be ``${PeerRegion}`` for the other region's topic."""
    return Sub(f"arn:${{AWS::Partition}}:sns:{region}:${{AWS::AccountId}}:{name}")


def queue(name: str, region: str = "${AWS::Region}") -> Sub:
    return Sub(f"arn:${{AWS::Partition}}:sqs:{region}:${{AWS::AccountId}}:{name}")


def alarms_named(name_prefix: str) -> Sub:
    return arn("cloudwatch", f"alarm:{name_prefix}*")


def event_rules_named(name_prefix: str) -> Sub:
    return arn("events", f"rule/{name_prefix}*")


def ecs_service(cluster: str, service: str, region: str = "${AWS::Region}") -> Sub:
    return arn("ecs", f"service/{cluster}/{service}", region=region)


def scalable_targets(region: str = "${AWS::Region}") -> Sub:
    """Application Auto Scaling names targets by random ids: this account's, in ``region``."""
    return arn("application-autoscaling", "scalable-target/*", region=region)


def alarm_in(name_pattern: str, region: str) -> Sub:
    """A CloudWatch alarm by name in ``region`` (which may be a ``${Parameter}``)."""
    return Sub(f"arn:${{AWS::Partition}}:cloudwatch:{region}:${{AWS::AccountId}}:alarm:{name_pattern}")


def db_cluster_in(identifier_pattern: str, region: str) -> Sub:
    return Sub(f"arn:${{AWS::Partition}}:rds:{region}:${{AWS::AccountId}}:cluster:{identifier_pattern}")


def health_check(health_check_id: str) -> Sub:
    """A Route 53 health check (global: no region, no account in its ARN)."""
    return Sub(f"arn:${{AWS::Partition}}:route53:::healthcheck/{health_check_id}")


def from_reference_format(arn_format: str, value: Callable[[str], str]) -> str:
    """A Sub pattern from an ARN format of AWS's Service Authorization Reference
    (``arn:${Partition}:ec2:${Region}:${Account}:vpc/${VpcId}``): this partition and
    account, any region, every other placeholder as ``value(placeholder)`` says."""
    pseudo = {"Partition": "${AWS::Partition}", "Region": "*", "Account": "${AWS::AccountId}"}
    return _FORMAT_PLACEHOLDER.sub(lambda m: pseudo.get(m[1]) or value(m[1]), arn_format)
