"""The self-managed StackSet roles: who may assume them, and how little the execution role may do."""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path

import pytest
from cfnlint.helpers import AVAILABILITY_ZONES

from checks.lint import describe, lint
from policies import deployment
from policies.stackset import NEVER_ON_OWN, WITHHELD
from templates import naming
from templates.config import Config, ConfigError
from templates.layout import MANIFEST
from templates.render import to_json
from templates.stackset_roles import (
    ADMINISTRATION_ROLE,
    EXECUTION_ROLE,
    PERMISSIONS_BOUNDARY,
    administration_role,
    boundary_arn,
    boundary_name,
    build_administration_role_template,
    build_execution_role_template,
    execution_role,
    manifest_entry,
    stack_set_regions,
)

DR_TEMPLATES = Path(__file__).resolve().parents[2] / "dr_templates"
DEPLOYED = ("bootstrap.json", "regional.json", "route53_alarms.json")


@pytest.fixture(scope="module")
def administration(cfg) -> dict:
    return build_administration_role_template(cfg).to_dict()


@pytest.fixture(scope="module")
def deployed(rendered) -> list[dict]:
    return [json.loads(rendered[name]) for name in DEPLOYED]


@pytest.fixture(scope="module")
def execution(rendered) -> dict:
    return json.loads(rendered["stackset_execution_role.json"])


def _text(value) -> str:
    return value["Fn::Sub"] if isinstance(value, dict) else value


def _statements(role: dict) -> dict[str, dict]:
    return {s["Sid"]: s for policy in role["Properties"]["Policies"] for s in policy["PolicyDocument"]["Statement"]}


def _arn(name: str) -> str:
    return f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/{name}"


def _allows(execution: dict) -> list[dict]:
    """Every Allow statement of the execution role (inline and attached managed policies)."""
    documents = [p["PolicyDocument"] for p in execution["Resources"][EXECUTION_ROLE]["Properties"]["Policies"]]
    documents += [
        r["Properties"]["PolicyDocument"]
        for r in execution["Resources"].values()
        if r["Type"] == "AWS::IAM::ManagedPolicy" and "Roles" in r["Properties"]
    ]
    return [s for d in documents for s in d["Statement"] if s["Effect"] == "Allow"]


def _allowed(execution: dict) -> set[str]:
    return {a for s in _allows(execution) for a in s["Action"]}


def test_both_templates_lint_clean_with_only_the_boundarys_reasoned_exceptions(administration, execution, cfg, tmp_path):
    paths = []
    for name, document in (("administration.json", administration), ("execution.json", execution)):
        paths.append(tmp_path / name)
        paths[-1].write_bytes(to_json(document))

    assert [describe(match, tmp_path) for match in lint(paths, cfg.regions)] == []
    suppressed = {
        name: resource["Metadata"]
        for doc in (administration, execution)
        for name, resource in doc["Resources"].items()
        if "cfn-lint" in resource.get("Metadata", {}) or "checkov" in resource.get("Metadata", {})
    }
    assert list(suppressed) == [PERMISSIONS_BOUNDARY]
    ignored = suppressed[PERMISSIONS_BOUNDARY]["cfn-lint"]["config"]["ignore_checks"]
    assert ignored == ["E9008"] and all(suppressed[PERMISSIONS_BOUNDARY]["Reasons"][rule] for rule in ignored)
    assert "checkov" not in suppressed[PERMISSIONS_BOUNDARY], "the boundary names its resources: nothing to suppress"


def test_only_cloudformation_for_this_projects_stack_sets_assumes_the_administration_role(administration, cfg):
    role = administration["Resources"][ADMINISTRATION_ROLE]
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "cloudformation.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert _text(trust["Condition"]["ArnLike"]["aws:SourceArn"]) == (
        f"arn:${{AWS::Partition}}:cloudformation:${{AWS::Region}}:${{AWS::AccountId}}:stackset/{naming.prefix(cfg)}-*"
    )


def test_the_administration_role_assumes_only_the_execution_role(administration, cfg):
    """No region condition (AWS does not say which STS endpoint StackSets calls) and no parameter."""
    (only,) = _statements(administration["Resources"][ADMINISTRATION_ROLE]).values()
    assert (only["Effect"], only["Action"]) == ("Allow", ["sts:AssumeRole"])
    assert [_text(arn) for arn in only["Resource"]] == [_arn(execution_role(cfg).pattern)]
    assert "Condition" not in only and "Parameters" not in administration


def test_only_the_administration_role_assumes_the_execution_role(execution, cfg):
    (trust,) = execution["Resources"][EXECUTION_ROLE]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert _text(trust["Condition"]["ArnEquals"]["aws:PrincipalArn"]) == _arn(administration_role(cfg).pattern)


def test_no_wildcard_action_is_allowed_in_any_rendered_template(rendered):
    """A Deny may name a service (the buckets' TLS-only rule): that only ever takes access away."""
    for name, content in rendered.items():
        if name.endswith(".json") and not name.startswith("parameters/"):
            for resource in json.loads(content).get("Resources", {}).values():
                for match in _actions_in(resource):
                    assert "*" not in match and "?" not in match, f"{name}: {match}"


def _actions_in(value) -> list[str]:
    if isinstance(value, dict):
        allows = value.get("Effect", "Allow") == "Allow"
        found = [a for key, v in value.items() if allows and key in ("Action", "NotAction") for a in (v if isinstance(v, list) else [v])]
        return found + [a for v in value.values() for a in _actions_in(v)]
    return [a for v in value for a in _actions_in(v)] if isinstance(value, list) else []


def test_every_role_the_templates_create_carries_the_boundary(deployed, execution, cfg):
    roles = [r for d in deployed for r in d["Resources"].values() if r["Type"] == "AWS::IAM::Role"]
    assert roles and all(r["Properties"]["PermissionsBoundary"] == boundary_arn(cfg).to_dict() for r in roles)
    boundary = execution["Resources"][PERMISSIONS_BOUNDARY]["Properties"]
    assert boundary["ManagedPolicyName"] == boundary_name(cfg) and _text(boundary_arn(cfg).to_dict()).endswith(
        f":policy/{boundary_name(cfg)}"
    )


def test_the_boundary_holds_every_action_of_the_projects_roles_and_nothing_of_iam(deployed, execution):
    statements = execution["Resources"][PERMISSIONS_BOUNDARY]["Properties"]["PolicyDocument"]["Statement"]
    capped = {a for s in statements for a in s["Action"]}
    used = {
        a
        for d in deployed
        for r in d["Resources"].values()
        if r["Type"] == "AWS::IAM::Role"
        for p in r["Properties"].get("Policies", [])
        for s in p["PolicyDocument"]["Statement"]
        for a in s["Action"]
    }
    assert used <= capped
    assert not {a for a in capped if a.startswith(("iam:", "sts:"))}, "a project role can neither mint nor assume roles"


def test_the_execution_role_changes_roles_only_with_the_boundary_and_passes_them_only_to_their_services(
    execution, deployed, cfg
):
    statements = _statements(execution["Resources"][EXECUTION_ROLE])
    allowed_iam = {a for a in _allowed(execution) if a.startswith("iam:")}
    bounded = statements["ThisProjectsRolesOnlyWithTheBoundary"]
    assert bounded["Condition"] == {"StringEquals": {"iam:PermissionsBoundary": boundary_arn(cfg).to_dict()}}
    assert {"iam:CreateRole", "iam:PutRolePolicy", "iam:UpdateAssumeRolePolicy"} <= set(bounded["Action"])
    attaching = statements["AttachOnlyTheManagedPoliciesTheTemplatesAttach"]
    attached = {
        _text(arn) for d in deployed for r in d["Resources"].values() if r["Type"] == "AWS::IAM::Role" for arn in r["Properties"].get("ManagedPolicyArns", [])
    }
    assert set(attaching["Action"]) == {"iam:AttachRolePolicy", "iam:DetachRolePolicy"}
    assert attaching["Condition"]["StringEquals"] == bounded["Condition"]["StringEquals"]
    assert {_text(arn) for arn in attaching["Condition"]["ArnEquals"]["iam:PolicyARN"]} == attached, "only the AWS managed policies the templates attach"
    assert not any(a in ("iam:AttachRolePolicy", "iam:DetachRolePolicy") for sid, s in statements.items() if sid != attaching["Sid"] and s["Effect"] == "Allow" for a in s["Action"])
    unbounded = set(statements["ThisProjectsRoles"]["Action"])
    assert all("iam:PermissionsBoundary" not in deployment.condition_keys(a) for a in unbounded)
    assert not allowed_iam & set(WITHHELD), "removing the boundary is never allowed"
    passing = statements["PassThisProjectsRolesToTheServicesTheyTrust"]
    trusted = {
        s["Principal"]["Service"]
        for d in deployed
        for r in d["Resources"].values()
        if r["Type"] == "AWS::IAM::Role"
        for s in r["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    }
    assert set(passing["Condition"]["StringEquals"]["iam:PassedToService"]) == trusted
    prefix = naming.prefix(cfg)
    for sid in ("ThisProjectsRolesOnlyWithTheBoundary", "ThisProjectsRoles", "PassThisProjectsRolesToTheServicesTheyTrust"):
        assert [_text(arn) for arn in statements[sid]["Resource"]] == [_arn(f"StackSet-{prefix}-*"), _arn(f"{prefix}-*")]


def test_the_execution_role_can_change_neither_itself_nor_the_boundary_nor_assume_what_it_creates(execution, cfg):
    statements = _statements(execution["Resources"][EXECUTION_ROLE])
    deny = statements["NeverTheStackSetRolesOrTheBoundary"]
    assert deny["Effect"] == "Deny" and set(deny["Action"]) == set(NEVER_ON_OWN)
    privileges = deployment.iam_service("iam")["privileges"]
    changes = {
        a for a in _allowed(execution) if a.startswith("iam:") and privileges[a[4:]]["access_level"] not in ("Read", "List")
    }
    assert changes - {"iam:CreateServiceLinkedRole"} <= set(NEVER_ON_OWN), "every change it may make is denied on itself"
    denied = [_text(arn) for arn in deny["Resource"]]
    region = cfg.primary_region
    own = [_arn(administration_role(cfg).for_region(region)), _arn(execution_role(cfg).for_region(region))]
    own += [
        _arn(_text(r["Properties"]["ManagedPolicyName"]).replace("${AWS::Region}", region)).replace(":role/", ":policy/")
        for r in execution["Resources"].values()
        if r["Type"] == "AWS::IAM::ManagedPolicy"
    ]
    assert all(any(fnmatch.fnmatchcase(arn, pattern) for pattern in denied) for arn in own)
    never_assume = statements["NeverAssumesTheRolesItCreates"]
    assert (never_assume["Effect"], never_assume["Action"]) == ("Deny", ["sts:AssumeRole"])


def test_the_execution_role_follows_the_resource_types_of_the_templates(cfg, deployed):
    extra = {"Resources": {"Parameter": {"Type": "AWS::SSM::Parameter", "Properties": {}}}}
    before = _allowed(build_execution_role_template(cfg, deployed).to_dict())
    after = _allowed(build_execution_role_template(cfg, [*deployed, extra]).to_dict())
    assert {"ssm:PutParameter", "ssm:DeleteParameter"} <= after - before
    assert not {a for a in before if a.startswith("ssm:")}
    without_queues = [
        {"Resources": {k: r for k, r in d["Resources"].items() if r["Type"] != "AWS::SQS::Queue"}} for d in deployed
    ]
    assert "sqs:CreateQueue" not in _allowed(build_execution_role_template(cfg, without_queues).to_dict())


def test_the_committed_execution_role_has_what_the_stacksets_guide_requires_on_this_projects_stacks_and_templates(cfg, deployed):
    """CloudFormation user guide, "Grant self-managed permissions": the execution role always
    needs full CloudFormation permissions and S3 (minimum policy "cloudformation:*", "s3:*"; SNS
    no longer listed). Scoped: every action IAM authorizes on a stack, on this project's stack
    instances only, in every region; the artifact buckets' objects readable (TemplateURL) in
    every region a stack set reaches; no SNS action the resource handlers do not need."""
    execution = json.loads((DR_TEMPLATES / "stackset_execution_role.json").read_text(encoding="utf-8"))
    privileges = deployment.iam_service("cloudformation")["privileges"]
    on_stacks = {f"cloudformation:{name}" for name, data in privileges.items() if "stack" in data["resource_types"]}
    assert {"cloudformation:CreateStack", "cloudformation:UpdateStack", "cloudformation:DeleteStack", "cloudformation:DescribeStacks"} <= on_stacks
    stacks = f"arn:${{AWS::Partition}}:cloudformation:*:${{AWS::AccountId}}:stack/StackSet-{naming.prefix(cfg)}-*/*"
    granted: dict[str, set[str]] = {}
    for statement in _allows(execution):
        for action in statement["Action"]:
            granted.setdefault(action, set()).update(_text(r) for r in statement["Resource"])
    assert {a for a in granted if a.startswith("cloudformation:")} == on_stacks | {"cloudformation:DescribeStackDriftDetectionStatus"}
    assert all(granted[action] == {stacks} for action in on_stacks)
    assert granted["cloudformation:DescribeStackDriftDetectionStatus"] == {"*"}  # takes no resource type
    another_stack = f"arn:${{AWS::Partition}}:cloudformation:{cfg.primary_region}:${{AWS::AccountId}}:stack/StackSet-other/id"
    assert not fnmatch.fnmatchcase(another_stack, stacks)

    bucket = naming.artifact_bucket(cfg).pattern
    objects = [f"arn:${{AWS::Partition}}:s3:::{bucket.replace('${AWS::Region}', r)}/regional.json" for r in stack_set_regions(cfg)]
    assert all(any(fnmatch.fnmatchcase(o, pattern) for pattern in granted["s3:GetObject"]) for o in objects)

    needs = deployment.needs(deployment.resource_types(deployed), cfg.regions)
    assert {a for a in granted if a.startswith("sns:")} <= needs.of_services(["sns"])
    assert "sns:*" not in granted


def test_the_execution_roles_managed_policies_fit_iams_quotas(execution):
    policies = [r for r in execution["Resources"].values() if r["Type"] == "AWS::IAM::ManagedPolicy"]
    assert 1 < len(policies) <= deployment.MANAGED_POLICIES_PER_ROLE + 1  # the boundary is attached to no role
    assert all(deployment.size(p["Properties"]["PolicyDocument"]) <= deployment.MANAGED_POLICY_CHARACTERS for p in policies)


def test_role_names_fit_iams_limit_for_the_longest_prefix_and_region_name():
    longest_suffix = max(n for n in range(1, 64) if _accepted(n))
    cfg = Config(environment_suffix="a" * longest_suffix)
    longest_region = max(AVAILABILITY_ZONES, key=len)
    for name in (administration_role(cfg), execution_role(cfg)):
        assert len(name.for_region(longest_region)) <= name.limit == 64


def _accepted(suffix_length: int) -> bool:
    try:
        Config(environment_suffix="a" * suffix_length)
        return True
    except ConfigError:
        return False


def test_the_manifest_names_the_roles_as_they_resolve_in_the_administration_region(cfg):
    entry = manifest_entry(cfg)
    assert entry["administration_region"] == cfg.primary_region
    assert entry["administration"]["role_name"] == administration_role(cfg).for_region(cfg.primary_region)
    assert entry["execution"]["role_name"] == execution_role(cfg).for_region(cfg.primary_region)
    assert "${" not in json.dumps(entry)


def test_a_third_administration_region_carries_the_roles_and_an_artifact_bucket(cfg):
    """Issue 11.6: administered from neither primary nor DR, the stack sets survive either's loss."""
    from templates.render import render

    third = cfg.model_copy(update={"stackset_administration_region": "us-east-2"})
    entry = manifest_entry(third)
    assert entry["administration_region"] == "us-east-2"
    assert entry["administration"]["role_name"] == administration_role(third).for_region("us-east-2")
    manifest = json.loads(render(third)[MANIFEST])
    bootstrap, regional = manifest["stack_sets"][:2]
    assert bootstrap["regions"] == [third.primary_region, third.dr_region, "us-east-2"], "its bucket holds large templates"
    assert regional["regions"] == [third.primary_region, third.dr_region]
    assert manifest_entry(cfg)["administration_region"] == cfg.primary_region, "the default is unchanged"
