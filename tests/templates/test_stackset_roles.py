"""The self-managed StackSet roles: who may assume them, and how little the execution role may do."""

from __future__ import annotations

import fnmatch
import json

import pytest
from cfnlint.helpers import AVAILABILITY_ZONES

from checks.lint import describe, lint
from policies.stackset import SERVICE_WIDE
from templates import naming
from templates.config import Config, ConfigError
from templates.layout import MANIFEST
from templates.render import to_json
from templates.stackset_roles import (
    ADMINISTRATION_ROLE,
    EXECUTION_ROLE,
    EXECUTION_SERVICES_POLICY,
    administration_role,
    build_administration_role_template,
    build_execution_role_template,
    execution_role,
    manifest_entry,
)

# CloudFormation namespaces whose IAM service prefix is not simply the lower-cased namespace.
IAM_PREFIX = {
    "ElasticLoadBalancingV2": "elasticloadbalancing",
    "ApplicationAutoScaling": "application-autoscaling",
    "StepFunctions": "states",
}
PATTERN_SCOPED = {"cloudformation", "iam", "s3"}


@pytest.fixture(scope="module")
def administration(cfg) -> dict:
    return build_administration_role_template(cfg).to_dict()


@pytest.fixture(scope="module")
def execution(cfg) -> dict:
    return build_execution_role_template(cfg).to_dict()


def _text(value) -> str:
    return value["Fn::Sub"] if isinstance(value, dict) else value


def _statements(role: dict) -> dict[str, dict]:
    return {s["Sid"]: s for policy in role["Properties"]["Policies"] for s in policy["PolicyDocument"]["Statement"]}


def _arn(name: str) -> str:
    return f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/{name}"


def test_both_templates_lint_clean_with_one_reasoned_exception(administration, execution, cfg, tmp_path):
    paths = []
    for name, document in (("administration.json", administration), ("execution.json", execution)):
        paths.append(tmp_path / name)
        paths[-1].write_bytes(to_json(document))

    assert [describe(match, tmp_path) for match in lint(paths, cfg.regions)] == []
    suppressed = {
        name: resource["Metadata"]
        for doc in (administration, execution)
        for name, resource in doc["Resources"].items()
        if "Metadata" in resource
    }
    assert list(suppressed) == [EXECUTION_SERVICES_POLICY]
    assert suppressed[EXECUTION_SERVICES_POLICY]["cfn-lint"]["config"]["ignore_checks"] == ["E9010"]
    assert suppressed[EXECUTION_SERVICES_POLICY]["Reasons"]["E9010"]


def test_only_cloudformation_for_this_projects_stack_sets_assumes_the_administration_role(administration, cfg):
    role = administration["Resources"][ADMINISTRATION_ROLE]
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "cloudformation.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert _text(trust["Condition"]["ArnLike"]["aws:SourceArn"]) == (
        f"arn:${{AWS::Partition}}:cloudformation:${{AWS::Region}}:${{AWS::AccountId}}:stackset/{naming.prefix(cfg)}-*"
    )
    (only,) = _statements(role).values()
    assert (only["Effect"], only["Action"]) == ("Allow", ["sts:AssumeRole"])
    assert [_text(arn) for arn in only["Resource"]] == [_arn(execution_role(cfg).pattern)]


def test_only_the_administration_role_assumes_the_execution_role(execution, cfg):
    (trust,) = execution["Resources"][EXECUTION_ROLE]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert _text(trust["Condition"]["ArnEquals"]["aws:PrincipalArn"]) == _arn(administration_role(cfg).pattern)


def test_the_execution_role_manages_only_this_projects_roles_and_never_the_stackset_roles(execution, cfg):
    statements = _statements(execution["Resources"][EXECUTION_ROLE])
    prefix = naming.prefix(cfg)
    for sid in ("ThisProjectsRoles", "ThisProjectsRolesGetOnlyServiceRolePolicies"):
        assert [_text(arn) for arn in statements[sid]["Resource"]] == [
            _arn(f"StackSet-{prefix}-*"),
            _arn(f"{prefix}-*"),
        ]
    attach = statements["ThisProjectsRolesGetOnlyServiceRolePolicies"]
    assert (
        _text(attach["Condition"]["ArnLike"]["iam:PolicyARN"]) == "arn:${AWS::Partition}:iam::aws:policy/service-role/*"
    )
    deny = statements["NeverTheStackSetRolesThemselves"]
    assert (deny["Effect"], deny["Action"]) == ("Deny", ["iam:*"])
    (denied,) = [_text(arn) for arn in deny["Resource"]]
    for name in (administration_role(cfg), execution_role(cfg)):
        assert fnmatch.fnmatch(_arn(name.for_region(cfg.primary_region)), denied)
    cloudformation = statements["ThisProjectsStackInstances"]
    assert [_text(arn) for arn in cloudformation["Resource"]] == [
        f"arn:${{AWS::Partition}}:cloudformation:*:${{AWS::AccountId}}:stack/StackSet-{prefix}-*/*"
    ]


def test_the_execution_role_covers_every_service_the_rendered_templates_use(execution, rendered):
    granted = {
        action.split(":")[0]
        for statement in _all_statements(execution)
        if statement["Effect"] == "Allow"
        for action in statement["Action"]
    }
    used = {
        IAM_PREFIX.get(resource["Type"].split("::")[1], resource["Type"].split("::")[1].lower())
        for name, content in rendered.items()
        if name.endswith(".json") and not name.startswith("parameters/")
        for resource in json.loads(content).get("Resources", {}).values()
    }
    assert used, "the rendered templates declare resources"
    assert used <= granted, f"the execution role lacks {sorted(used - granted)}"
    assert granted == set(SERVICE_WIDE) | PATTERN_SCOPED


def _all_statements(execution: dict) -> list[dict]:
    return [
        *_statements(execution["Resources"][EXECUTION_ROLE]).values(),
        *execution["Resources"][EXECUTION_SERVICES_POLICY]["Properties"]["PolicyDocument"]["Statement"],
    ]


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
    import dataclasses

    from templates.render import render

    third = dataclasses.replace(cfg, stackset_administration_region="us-east-2")
    entry = manifest_entry(third)
    assert entry["administration_region"] == "us-east-2"
    assert entry["administration"]["role_name"] == administration_role(third).for_region("us-east-2")
    manifest = json.loads(render(third)[MANIFEST])
    bootstrap, regional = manifest["stack_sets"][:2]
    assert bootstrap["regions"] == [third.primary_region, third.dr_region, "us-east-2"], "its bucket holds large templates"
    assert regional["regions"] == [third.primary_region, third.dr_region]
    assert manifest_entry(cfg)["administration_region"] == cfg.primary_region, "the default is unchanged"
