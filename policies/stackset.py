"""The self-managed StackSet roles: administration (assumed by CloudFormation) and execution.

The administration role may only assume this project's execution role, through STS in the
regions the stack sets use. The execution role may do what the handlers of the rendered
resource types need (``policies.deployment`` derives those grants) and, in IAM, only this:
create and change roles named with the project prefix that carry the project's permissions
boundary, pass them only to the services they trust, and never touch the StackSet roles or
the boundary (their names start with ``PREFIX-stackset-``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

import awacs.aws

from awacs import iam, sts
from awacs.aws import (
    Action,
    Allow,
    ArnEquals,
    Condition,
    Deny,
    PolicyDocument,
    Principal,
    Statement,
    StringEquals,
)
from troposphere import Sub

from policies import arns, deployment, scope
from policies.trust import service_trust

# The StackSet roles' and the boundary's names are PREFIX-stackset-...: the execution role may not touch them.
STACKSET_ROLE_INFIX = "stackset"
# Service-linked roles the project's resources need on first use in an account.
SERVICE_LINKED_ROLES = (
    "ecs.amazonaws.com",
    "ecs.application-autoscaling.amazonaws.com",
    "elasticloadbalancing.amazonaws.com",
    "rds.amazonaws.com",
    # Transaction Search's handler (the "Enable transaction search" prerequisites).
    "application-signals.cloudwatch.amazonaws.com",
)
# What StackSets itself needs of the execution role, beyond the resource handlers. CloudFormation
# user guide, "Grant self-managed permissions"
# (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-prereqs-self-managed.html):
# "Your target account always needs full AWS CloudFormation permissions, which include permissions
# to create, update, delete, and describe stacks", and its minimum execution-role policy is
# "cloudformation:*" and "s3:*" on "*" (the SNS grant it once listed, "sns:*", is gone from it):
# "You must add the S3 service action and resources to AWSCloudFormationStackSetExecutionRole
# policy statement for each target account for StackSets to work."
# Scoped here: every CloudFormation action that takes a stack (what "cloudformation:*" grants on
# a stack ARN, spelled out from the Service Authorization Reference: the IAM proof allows no
# wildcard action) on this project's stack instances only; the one typeless CloudFormation read
# a stack operation of this project polls (stack-set drift detection); S3 only to read templates
# by TemplateURL from the project's artifact buckets. No SNS action beyond the handlers'.
STACK_TYPE = "cloudformation:stack"
TYPELESS_STACK_READS = ("cloudformation:DescribeStackDriftDetectionStatus",)
TEMPLATE_READS = ("s3:GetObject",)


def stack_instance_actions() -> tuple[str, ...]:
    """Every CloudFormation action IAM authorizes on a stack: ``cloudformation:*`` on the stacks."""
    names = deployment.service_data("cloudformation")["privileges"]
    return tuple(sorted(f"cloudformation:{name}" for name in names if STACK_TYPE in deployment.supported_types(f"cloudformation:{name}")[0]))


def stackset_actions() -> set[str]:
    """What the execution role is granted for StackSets itself, not for a resource handler."""
    return {*stack_instance_actions(), *TYPELESS_STACK_READS, *TEMPLATE_READS}


# Attaching a managed policy: only those the templates attach (iam:PolicyARN), with the boundary.
ATTACHING = ("iam:AttachRolePolicy", "iam:DetachRolePolicy")
# A schema permission not granted: removing the boundary would lift the cap on a project role.
WITHHELD = ("iam:DeleteRolePermissionsBoundary",)
# Never on the StackSet roles or the boundary, whatever the allows above say.
NEVER_ON_OWN = (
    "iam:AttachRolePolicy", "iam:CreatePolicyVersion", "iam:CreateRole", "iam:DeletePolicy",
    "iam:DeletePolicyVersion", "iam:DeleteRole", "iam:DeleteRolePermissionsBoundary", "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy", "iam:PassRole", "iam:PutRolePermissionsBoundary", "iam:PutRolePolicy",
    "iam:SetDefaultPolicyVersion", "iam:TagRole", "iam:UntagRole", "iam:UpdateAssumeRolePolicy", "iam:UpdateRole",
    "iam:UpdateRoleDescription",
)


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
    """Assume the execution role, and nothing else. No ``aws:RequestedRegion`` condition: AWS
    does not say which STS endpoint StackSets calls, and its own sample administration role
    ("AWSCloudFormationStackSetAdministrationRole.yml", StackSets user guide, "Grant
    self-managed permissions") has none; the execution role's trust names this role alone."""
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


def project_roles(prefix: str) -> list[Sub]:
    """Roles of this project: named with the prefix, or generated from a ``StackSet-PREFIX-`` stack name."""
    return [_role(f"StackSet-{prefix}-*"), _role(f"{prefix}-*")]


def own_resources(prefix: str) -> list[Sub]:
    """The StackSet roles, their policies and the boundary: what the execution role may never change."""
    own = f"{prefix}-{STACKSET_ROLE_INFIX}-*"
    return [_role(own), arns.arn("iam", f"policy/{own}", regional=False)]


def execution_scoped(
    prefix: str,
    iam_needed: Iterable[str],
    boundary_arn: Sub,
    passed_to: Iterable[str],
    attached: Iterable[str],
    artifact_bucket: str,
) -> PolicyDocument:
    """This project's stack instances and templates (``artifact_bucket``: the buckets' name
    pattern, ``${AWS::Region}`` in it), and the IAM actions the schemas need (``iam_needed``,
    less ``WITHHELD``) on this project's roles only: every one that IAM lets a permissions
    boundary condition requires the project's boundary; PassRole only to ``passed_to``;
    managed policies attached or detached only when they are the AWS managed policies the
    rendered roles attach (``attached``, ``service-role/Name``), by ``iam:PolicyARN``."""
    needed = sorted(set(iam_needed) - set(WITHHELD))
    special = {"iam:PassRole", "iam:CreateServiceLinkedRole", *ATTACHING}
    typeless = [a for a in needed if a not in special and not deployment.supported_types(a)[0]]
    bounded = [a for a in needed if a not in special and a not in typeless and _takes_boundary_condition(a)]
    unbounded = [a for a in needed if a not in special and a not in typeless and a not in bounded]
    statements = [
        Statement(
            Sid="ThisProjectsStackInstances",
            Effect=Allow,
            Action=_actions(stack_instance_actions()),
            Resource=[_in_every_region("cloudformation", f"stack/StackSet-{prefix}-*/*")],
        ),
        Statement(
            Sid="StackSetDriftDetectionStatusHasNoResource",
            Effect=Allow,
            Action=_actions(TYPELESS_STACK_READS),
            Resource=["*"],
        ),
        Statement(
            Sid="TemplatesByUrlFromTheArtifactBuckets",
            Effect=Allow,
            Action=_actions(TEMPLATE_READS),
            Resource=[arns.bucket(artifact_bucket.replace("${AWS::Region}", "*") + "/*")],
        ),
        Statement(
            Sid="ThisProjectsRolesOnlyWithTheBoundary",
            Effect=Allow,
            Action=_actions(bounded),
            Resource=project_roles(prefix),
            Condition=Condition(StringEquals({"iam:PermissionsBoundary": boundary_arn})),
        ),
        Statement(
            # A role's trust policy that names this role would let it in without an allow here.
            Sid="NeverAssumesTheRolesItCreates",
            Effect=Deny,
            Action=[sts.AssumeRole],
            Resource=project_roles(prefix),
        ),
        Statement(
            Sid="NeverTheStackSetRolesOrTheBoundary",
            Effect=Deny,
            Action=_actions(NEVER_ON_OWN),
            Resource=own_resources(prefix),
        ),
    ]
    if unbounded:  # tags and reads, which IAM cannot condition on the boundary
        statements.append(Statement(Sid="ThisProjectsRoles", Effect=Allow, Action=_actions(unbounded), Resource=project_roles(prefix)))
    if typeless:
        statements.append(Statement(Sid="IamReadsWithoutResource", Effect=Allow, Action=_actions(typeless), Resource=["*"]))
    # With no managed policy attached by any rendered role, attaching is not granted at all.
    if (attaching := [a for a in needed if a in ATTACHING]) and attached:
        # IAM user guide, "IAM: Limits managed policies that can be applied to an IAM user, group, or role"
        # (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_examples_iam_limit-managed.html).
        statements.append(
            Statement(
                Sid="AttachOnlyTheManagedPoliciesTheTemplatesAttach",
                Effect=Allow,
                Action=_actions(attaching),
                Resource=project_roles(prefix),
                Condition=Condition(
                    [
                        StringEquals({"iam:PermissionsBoundary": boundary_arn}),
                        ArnEquals({"iam:PolicyARN": [arns.aws_managed_policy(name) for name in attached]}),
                    ]
                ),
            )
        )
    if "iam:PassRole" in needed:
        statements.append(
            Statement(
                Sid="PassThisProjectsRolesToTheServicesTheyTrust",
                Effect=Allow,
                Action=[iam.PassRole],
                Resource=project_roles(prefix),
                Condition=Condition(StringEquals({"iam:PassedToService": sorted(set(passed_to))})),
            )
        )
    if "iam:CreateServiceLinkedRole" in needed:
        statements.append(
            Statement(
                Sid="ServiceLinkedRolesOfTheProjectsServices",
                Effect=Allow,
                Action=[iam.CreateServiceLinkedRole],
                Resource=[_role("aws-service-role/*")],
                Condition=Condition(StringEquals({"iam:AWSServiceName": list(SERVICE_LINKED_ROLES)})),
            )
        )
    return PolicyDocument(Version="2012-10-17", Statement=statements)


def _actions(names: Iterable[str]) -> list[Action]:
    return [Action(*name.split(":", 1)) for name in names]


def _takes_boundary_condition(action: str) -> bool:
    return "iam:PermissionsBoundary" in deployment.condition_keys(action)


def boundary(role_statements: Iterable[dict], managed_policies: Iterable[str], project: scope.Scope) -> deployment.Scoped:
    """The most any project role may do: the actions the rendered roles' policies (and the AWS
    managed policies they attach) grant, each on this project's resources only (``project``,
    derived as the execution role's grants are): a role the execution role creates, whatever
    inline policy it is given, reaches no other workload's secrets, tables, queues, functions,
    keys or clusters. A statement on ``"*"`` that a condition scopes (a metric namespace, a
    cluster) keeps its condition. A statement on every resource of a type under a condition (the
    ``managedByFIS`` tag AWS FIS puts on what it creates: "Scoped using the tag managedByFIS=true
    ... AWS FIS adds and removes this tag", AWS FIS Actions reference,
    https://docs.aws.amazon.com/fis/latest/userguide/fis-actions-reference.html) is kept as it is,
    in every region: those resources carry no project tag, so the project's scope would deny the
    very requests the role was granted; the copy adds nothing a role's own policy does not grant."""
    unconditioned: set[str] = set()
    conditioned: dict[str, set[str]] = {}
    kept: dict[tuple[str, str], set[str]] = {}  # (resources, condition) -> actions
    for statement in role_statements:
        if statement.get("Effect") != "Allow":
            continue
        actions = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        condition = _portable(statement["Condition"]) if "Condition" in statement else None
        resources = _portable(statement["Resource"])
        if resources in ("*", ["*"]) and condition is not None:
            conditioned.setdefault(json.dumps(condition, sort_keys=True), set()).update(actions)
            continue
        unconditioned.update(actions)
        if condition is not None and resources is not None and all(_every_of_a_type(r) for r in resources):
            kept.setdefault((json.dumps(sorted(resources)), json.dumps(condition, sort_keys=True)), set()).update(actions)
    managed = []
    for index, policy in enumerate(sorted(set(managed_policies))):
        if policy not in MANAGED_POLICY_ACTIONS:
            raise ValueError(f"a role attaches {policy}: add its actions to MANAGED_POLICY_ACTIONS")
        actions, resources = MANAGED_POLICY_ACTIONS[policy]
        # On the managed policy's own resources: scoped to the project's, they would be cut off
        # (RDS writes OS metrics to its own RDSOSMetrics group, not one of ours).
        managed.append(Statement(Sid=f"WhatAnAwsManagedPolicyDoes{index}", Effect=Allow, Action=_actions(actions), Resource=resources))
    scoped = deployment.scoped_statements(unconditioned, project, "WhatTheProjectsRolesDo")
    statements = list(scoped.statements) + managed
    for index, (condition, actions) in enumerate(sorted(conditioned.items())):
        if actions - unconditioned:
            statements.append(
                Statement(
                    Sid=f"WhatTheProjectsRolesDoUnderACondition{index}",
                    Effect=Allow,
                    Action=_actions(sorted(actions - unconditioned)),
                    Resource=["*"],
                    Condition=deployment.awacs_condition(json.loads(condition)),
                )
            )
    reasons = dict(scoped.reasons)
    for index, ((resources, condition), actions) in enumerate(sorted(kept.items())):
        sid = f"WhatTheProjectsRolesDoOnWhatAServiceTags{index}"
        statements.append(
            Statement(
                Sid=sid,
                Effect=Allow,
                Action=_actions(sorted(actions)),
                Resource=[Sub(r) for r in json.loads(resources)],
                Condition=deployment.awacs_condition(json.loads(condition)),
            )
        )
        reasons[sid] = {r: KEPT_REASON for r in json.loads(resources)}
    return deployment.Scoped(statements, reasons)


KEPT_REASON = ("a project role's own grant, kept with its condition: what the service creates carries only the "
               "service's tag (managedByFIS), never the project's")
# The pseudo-parameters that mean the same in the boundary's template; a region becomes "*".
_PORTABLE = {"${AWS::Partition}", "${AWS::AccountId}", "${AWS::Region}"}


def _portable(value):
    """``value`` (a statement's Resource or Condition) as it means the same in the boundary's
    template in any region: ``${AWS::Region}`` as ``*``; None when it names a resource or
    parameter of its own template."""
    if isinstance(value, list):
        items = [_portable(item) for item in value]
        return None if any(item is None for item in items) else items
    if isinstance(value, dict):
        if set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
            text = value["Fn::Sub"]
            return text.replace("${AWS::Region}", "*") if set(re.findall(r"\$\{[^}]*\}", text)) <= _PORTABLE else None
        if any(key in value for key in ("Ref", "Fn::GetAtt", "Fn::ImportValue", "Fn::Sub", "Fn::Join", "Fn::If")):
            return None
        items = {key: _portable(item) for key, item in value.items()}
        return None if any(item is None for item in items.values()) else items
    return value


def _every_of_a_type(resource: str) -> bool:
    """An ARN of every resource of one type in the account (``...:route-table/*``)."""
    return resource.endswith("/*") and resource.count("*") <= 2 and "${AWS::AccountId}" in resource


# The AWS managed policies the templates attach, by the ARN's path and name: their actions
# (AWS managed policy reference, version 1 of each).
MANAGED_POLICY_ACTIONS = {
    # AWS managed policy AmazonRDSEnhancedMonitoringRole: these actions on
    # "arn:aws:logs:*:*:log-group:RDS*" and "...:log-group:RDS*:log-stream:*" (AWS Managed Policy
    # Reference); RDS writes the OS metrics to the RDSOSMetrics log group.
    # https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AmazonRDSEnhancedMonitoringRole.html
    "service-role/AmazonRDSEnhancedMonitoringRole": (
        (
            "logs:CreateLogGroup",
            "logs:PutRetentionPolicy",
            "logs:CreateLogStream",
            "logs:PutLogEvents",
            "logs:DescribeLogStreams",
            "logs:GetLogEvents",
        ),
        [
            Sub("arn:${AWS::Partition}:logs:*:${AWS::AccountId}:log-group:RDS*"),
            Sub("arn:${AWS::Partition}:logs:*:${AWS::AccountId}:log-group:RDS*:log-stream:*"),
        ],
    ),
}
