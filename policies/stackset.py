"""The self-managed StackSet roles: administration (assumed by CloudFormation) and execution.

The administration role may only assume this project's execution role. The execution
role does what the project's templates need and no more than their services: it manages
only this project's stacks, buckets and IAM roles, may never touch the two StackSet roles
themselves, and attaches only AWS's service-role policies. The other services are granted
service-wide: CloudFormation creates resources whose ARNs (VPC, subnet, key ids) do not
exist before it does, and their handlers call Describe/List actions that take no resource.
"""

from __future__ import annotations

from awacs import cloudformation, iam, s3, sts
from awacs.aws import (
    Action,
    Allow,
    ArnEquals,
    ArnLike,
    Condition,
    Deny,
    PolicyDocument,
    Principal,
    Statement,
    StringEquals,
)
from troposphere import Sub

from policies import arns
from policies.trust import service_trust

# Every service whose resources the project's templates declare, besides cloudformation,
# iam and s3, which are scoped to the project below.
SERVICE_WIDE = (
    "application-autoscaling",
    "cloudwatch",
    "dynamodb",
    "ec2",
    "ecs",
    "elasticloadbalancing",
    "events",
    "kms",
    "lambda",
    "logs",
    "rds",
    "scheduler",
    "route53",
    "secretsmanager",
    "sns",
    "sqs",
    "states",
    "xray",
)
# The StackSet roles' names are PREFIX-stackset-...: the execution role may not touch them.
STACKSET_ROLE_INFIX = "stackset"
# Service-linked roles the project's resources need on first use in an account.
SERVICE_LINKED_ROLES = (
    "ecs.amazonaws.com",
    "ecs.application-autoscaling.amazonaws.com",
    "elasticloadbalancing.amazonaws.com",
    "rds.amazonaws.com",
)
MANAGE_ROLES = [
    iam.CreateRole,
    iam.DeleteRole,
    iam.GetRole,
    iam.UpdateRole,
    iam.UpdateRoleDescription,
    iam.UpdateAssumeRolePolicy,
    iam.TagRole,
    iam.UntagRole,
    iam.ListRoleTags,
    iam.PutRolePolicy,
    iam.GetRolePolicy,
    iam.DeleteRolePolicy,
    iam.ListRolePolicies,
    iam.ListAttachedRolePolicies,
    iam.ListInstanceProfilesForRole,
    iam.PassRole,
]


def _in_every_region(service: str, resource: str) -> Sub:
    """An ARN in any region of this account: the execution role serves both regions."""
    return Sub(arns.arn_pattern(service, resource).replace("${AWS::Region}", "*"))


def _role(name: str) -> Sub:
    return arns.arn("iam", f"role/{name}", regional=False)


def administration_trust(prefix: str) -> PolicyDocument:
    """CloudFormation, for this account's stack sets of this project in this region only."""
    return service_trust(
        "cloudformation.amazonaws.com",
        arns.arn("cloudformation", f"stackset/{prefix}-*"),
        sid="CloudFormationAdministersThisProjectsStackSets",
    )


def administration(execution_role_name: str) -> PolicyDocument:
    return PolicyDocument(
        Version="2012-10-17",
        Statement=[
            Statement(
                Sid="AssumeThisProjectsExecutionRole",
                Effect=Allow,
                Action=[sts.AssumeRole],
                Resource=[_role(execution_role_name)],
            )
        ],
    )


def execution_trust(administration_role_name: str) -> PolicyDocument:
    """The administration role, by ARN condition: a role principal would break (become an
    internal id) if the administration role were ever recreated."""
    return PolicyDocument(
        Version="2012-10-17",
        Statement=[
            Statement(
                Sid="AdministrationRoleAssumesThisRole",
                Effect=Allow,
                Principal=Principal("AWS", arns.account_root()),
                Action=[sts.AssumeRole],
                Condition=Condition(ArnEquals({"aws:PrincipalArn": _role(administration_role_name)})),
            )
        ],
    )


def execution_scoped(prefix: str) -> PolicyDocument:
    """Stacks, buckets and IAM roles of this project only (names start with the prefix, or
    with the ``StackSet-PREFIX-`` stack name CloudFormation puts into generated names),
    never the StackSet roles (``PREFIX-stackset-*``), which would let it grant itself more."""
    generated = f"StackSet-{prefix}-*"
    project_roles = [_role(generated), _role(f"{prefix}-*")]
    return PolicyDocument(
        Version="2012-10-17",
        Statement=[
            Statement(
                Sid="ThisProjectsStackInstances",
                Effect=Allow,
                Action=[cloudformation.Action("*")],
                Resource=[_in_every_region("cloudformation", f"stack/{generated}/*")],
            ),
            Statement(
                Sid="ThisProjectsRoles",
                Effect=Allow,
                Action=MANAGE_ROLES,
                Resource=project_roles,
            ),
            Statement(
                Sid="ThisProjectsRolesGetOnlyServiceRolePolicies",
                Effect=Allow,
                Action=[iam.AttachRolePolicy, iam.DetachRolePolicy],
                Resource=project_roles,
                Condition=Condition(ArnLike({"iam:PolicyARN": arns.aws_managed_policy("service-role/*")})),
            ),
            Statement(
                Sid="NeverTheStackSetRolesThemselves",
                Effect=Deny,
                Action=[iam.Action("*")],
                Resource=[_role(f"{prefix}-{STACKSET_ROLE_INFIX}-*")],
            ),
            Statement(
                Sid="ServiceLinkedRolesOfTheProjectsServices",
                Effect=Allow,
                Action=[iam.CreateServiceLinkedRole],
                Resource=[_role("aws-service-role/*")],
                Condition=Condition(StringEquals({"iam:AWSServiceName": list(SERVICE_LINKED_ROLES)})),
            ),
            Statement(
                Sid="ThisProjectsBuckets",
                Effect=Allow,
                Action=[s3.Action("*")],
                # Generated bucket names are the lower-cased stack name plus suffixes.
                Resource=[
                    arns.bucket(name)
                    for pattern in (f"{prefix}-*", f"stackset-{prefix}-*")
                    for name in (pattern, f"{pattern}/*")
                ],
            ),
        ],
    )


def execution_services() -> PolicyDocument:
    return PolicyDocument(
        Version="2012-10-17",
        Statement=[
            Statement(
                Sid="ServicesOfThisProject",
                Effect=Allow,
                Action=[Action(service, "*") for service in SERVICE_WIDE],
                Resource=["*"],
            )
        ],
    )
