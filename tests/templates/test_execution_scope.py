"""Only this project's resources: what the execution role, and any role it could create (capped by
the boundary), can and cannot reach. A small evaluator of the rendered statements answers, per
action, resource and request context, whether some Allow matches (IAM's rules for ``*``/``?``
in ARNs, a missing condition key failing its operator)."""

from __future__ import annotations

import fnmatch
import json
import shutil

import pytest

from checks import iam_proof
from checks.pipeline import write_tree
from policies import deployment, scope
from templates import naming
from templates.layout import MANIFEST
from templates.stackset_roles import EXECUTION_ROLE, PERMISSIONS_BOUNDARY, normalized_record_name, project_scope

ACCOUNT = "123456789012"
DEPLOYED = ("bootstrap.json", "regional.json", "route53_alarms.json")


@pytest.fixture(scope="module")
def execution(rendered) -> dict:
    return json.loads(rendered["stackset_execution_role.json"])


@pytest.fixture(scope="module")
def rendered_dir(tmp_path_factory, rendered):
    directory = tmp_path_factory.mktemp("rendered")
    write_tree(rendered, directory)
    return directory


@pytest.fixture(scope="module")
def deployed(rendered) -> list[dict]:
    return [json.loads(rendered[name]) for name in DEPLOYED]


def _resolved(value):
    if isinstance(value, dict):
        (function, argument), = value.items()
        assert function == "Fn::Sub", value
        value = argument
    if isinstance(value, list):
        return [_resolved(item) for item in value]
    return value.replace("${AWS::Partition}", "aws").replace("${AWS::AccountId}", ACCOUNT) if isinstance(value, str) else value


def _statements(document: dict, *logical_ids: str) -> list[dict]:
    found = []
    for logical_id in logical_ids:
        properties = document["Resources"][logical_id]["Properties"]
        policies = [properties["PolicyDocument"]] if "PolicyDocument" in properties else [p["PolicyDocument"] for p in properties["Policies"]]
        found += [s for policy in policies for s in policy["Statement"]]
    return found


def _holds(condition: dict, context: dict) -> bool:
    for operator, pairs in condition.items():
        for key, expected in pairs.items():
            wanted = [_resolved(e) for e in (expected if isinstance(expected, list) else [expected])]
            actual = context.get(key)
            if operator.startswith("ForAllValues:"):
                if not all(value in wanted for value in actual or []):
                    return False
                continue
            if actual is None:
                return False  # a key missing from the request fails its operator
            # ArnEquals takes wildcards as ArnLike does: "Each of the six colon-delimited components of the
            # ARN is checked separately and each can include multi-character match wildcards (*)" (IAM user
            # guide, "IAM JSON policy elements: Condition operators", Amazon Resource Name (ARN) condition operators).
            match = fnmatch.fnmatchcase if operator in ("StringLike", "ArnLike", "ArnEquals") else str.__eq__
            if not any(match(actual, w) for w in wanted):
                return False
    return True


def allows(statements: list[dict], action: str, resource: str, context: dict | None = None) -> bool:
    context = context or {}
    denied = any(
        s["Effect"] == "Deny" and any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in s["Action"])
        and any(fnmatch.fnmatchcase(resource, r) for r in _resolved(s["Resource"]))
        for s in statements
    )
    return not denied and any(
        s["Effect"] == "Allow"
        and any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in s["Action"])
        and any(r == "*" or fnmatch.fnmatchcase(resource, r) for r in _resolved(s["Resource"]))
        and _holds(s.get("Condition", {}), context)
        for s in statements
    )


def _arn(service: str, resource: str, region: str = "us-east-1") -> str:
    return f"arn:aws:{service}:{region}:{ACCOUNT}:{resource}"


def _tags(cfg, kind: str) -> dict:
    return {f"aws:{kind}/{key}": value for key, value in naming.project_tags(cfg).items()}


def _boundary(execution):
    return _statements(execution, PERMISSIONS_BOUNDARY)


def _execution_role(execution):
    managed = [k for k, r in execution["Resources"].items() if r["Type"] == "AWS::IAM::ManagedPolicy" and "Roles" in r["Properties"]]
    return _statements(execution, EXECUTION_ROLE, *managed)


def test_a_role_the_execution_role_creates_reaches_no_other_workloads_data(execution, cfg):
    """Whatever inline policy a project role is given, the boundary caps it to the project's resources."""
    boundary = _boundary(execution)
    prefix = naming.prefix(cfg)
    theirs = [
        ("secretsmanager:GetSecretValue", _arn("secretsmanager", "secret:payments/db-AbCdEf")),
        ("secretsmanager:GetSecretValue", _arn("secretsmanager", f"secret:x-{prefix}/db-AbCdEf")),
        ("kms:Decrypt", _arn("kms", "key/1234abcd-12ab-34cd-56ef-1234567890ab")),
        ("dynamodb:PutItem", _arn("dynamodb", "table/payments-orders")),
        ("sqs:ReceiveMessage", _arn("sqs", "payments-events")),
        ("lambda:InvokeFunction", _arn("lambda", "function:payments-refund")),
        ("states:StartExecution", _arn("states", "stateMachine:payments-settle")),
        ("rds:FailoverGlobalCluster", f"arn:aws:rds::{ACCOUNT}:global-cluster:payments-global"),
        ("ecs:UpdateService", _arn("ecs", "service/payments/api")),
        ("sns:Publish", _arn("sns", "payments-alerts")),
        ("application-autoscaling:RegisterScalableTarget", _arn("application-autoscaling", "scalable-target/0123456789abcdef")),
        ("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/{prefix}-anything"),
        ("sts:AssumeRole", f"arn:aws:iam::{ACCOUNT}:role/{prefix}-anything"),
    ]
    for action, arn in theirs:
        assert not allows(boundary, action, arn), (action, arn)
    ours = [
        ("secretsmanager:GetSecretValue", _arn("secretsmanager", f"secret:{naming.db_secret(cfg).pattern}-AbCdEf", "us-west-2"), {}),
        ("kms:Decrypt", _arn("kms", "key/1234abcd-12ab-34cd-56ef-1234567890ab"), _tags(cfg, "ResourceTag")),
        ("rds:FailoverGlobalCluster", f"arn:aws:rds::{ACCOUNT}:global-cluster:{naming.global_cluster(cfg).pattern}", {}),
    ]
    for action, arn, context in ours:
        assert allows(boundary, action, arn, context), (action, arn)


def test_the_boundary_and_the_execution_role_grant_star_only_for_actions_that_take_no_resource_type(execution):
    for statement in _boundary(execution) + _execution_role(execution):
        if statement["Effect"] == "Allow" and "*" in statement["Resource"]:
            typed = [a for a in statement["Action"] if deployment.supported_types(a)[0]]
            assert not typed, (statement["Sid"], typed)


def test_the_execution_role_reaches_no_other_workload(execution, cfg):
    role = _execution_role(execution)
    zone, name = cfg.dns.hosted_zone_id, normalized_record_name(cfg.dns.domain_name)
    key = _arn("kms", "key/1234abcd-12ab-34cd-56ef-1234567890ab")
    group = _arn("ec2", "security-group/sg-0123456789abcdef0")
    cannot = [
        ("secretsmanager:GetSecretValue", _arn("secretsmanager", "secret:payments/db-AbCdEf"), {}),
        ("secretsmanager:DeleteSecret", _arn("secretsmanager", "secret:payments/db-AbCdEf"), {}),
        ("kms:PutKeyPolicy", key, {}),
        ("kms:ScheduleKeyDeletion", key, {"aws:ResourceTag/Project": "payments"}),
        ("kms:Decrypt", key, {}),
        ("kms:CreateAlias", _arn("kms", "alias/payments-key"), _tags(cfg, "ResourceTag")),
        ("route53:ChangeResourceRecordSets", "arn:aws:route53:::hostedzone/ZOTHERZONE", {"route53:ChangeResourceRecordSetsNormalizedRecordNames": [name]}),
        ("route53:ChangeResourceRecordSets", f"arn:aws:route53:::hostedzone/{zone}", {"route53:ChangeResourceRecordSetsNormalizedRecordNames": [f"payments.{name}"]}),
        ("ec2:AuthorizeSecurityGroupIngress", group, {}),
        ("ec2:CreateSecurityGroup", group, {}),
        ("ec2:DeleteVpc", _arn("ec2", "vpc/vpc-0123456789abcdef0"), {}),
        ("ec2:CreateTags", group, {"aws:RequestTag/Project": cfg.project}),
        ("s3:GetObject", _arn("s3", "accesspoint/payments/object/report.csv"), {}),
        ("s3:GetObject", "arn:aws:s3:::payments-reports/report.csv", {}),
        ("s3:DeleteBucket", f"arn:aws:s3:::x-{cfg.project}.{cfg.environment_suffix}ices", {}),
        ("rds:RestoreDBClusterFromSnapshot", _arn("rds", f"cluster:{naming.prefix(cfg)}-restored"), {}),
        ("logs:DeleteResourcePolicy", "*", {}),
        ("logs:PutIndexPolicy", _arn("logs", "log-group:/payments/app"), {}),
        ("ecs:PutAccountSetting", "*", {}),
        ("lambda:CreateEventSourceMapping", "*", {"lambda:FunctionArn": _arn("lambda", "function:payments-x")}),
        ("dynamodb:DeleteTable", _arn("dynamodb", "table/payments-orders"), {}),
    ]
    for action, arn, context in cannot:
        assert not allows(role, action, arn, context), (action, arn, context)
    can = [
        ("route53:ChangeResourceRecordSets", f"arn:aws:route53:::hostedzone/{zone}", {"route53:ChangeResourceRecordSetsNormalizedRecordNames": [name]}),
        ("ec2:AuthorizeSecurityGroupIngress", group, _tags(cfg, "ResourceTag")),
        ("ec2:CreateSecurityGroup", group, _tags(cfg, "RequestTag")),
        ("ec2:CreateTags", group, {"ec2:CreateAction": "CreateSecurityGroup"}),
        ("kms:PutKeyPolicy", key, _tags(cfg, "ResourceTag")),
        ("kms:CreateKey", "*", _tags(cfg, "RequestTag")),
        ("secretsmanager:CreateSecret", _arn("secretsmanager", f"secret:{naming.db_secret(cfg).pattern}-AbCdEf"), {}),
    ]
    for action, arn, context in can:
        assert allows(role, action, arn, context), (action, arn, context)
    assert not allows(role, "kms:CreateKey", "*", {}), "a key is created only with the project's tags"


def test_the_name_patterns_are_anchored_and_hold_every_name_the_project_gives(cfg):
    patterns = {p for patterns in project_scope(cfg).names.values() for p in patterns}
    generated = [f"StackSet-{naming.stack_set(cfg, 'regional').pattern}-0f1e2d3c-App".lower() + "-abc"]
    for name in [*(n.for_region(cfg.primary_region).removeprefix("alias/") for n in naming.all_names(cfg)), *generated]:
        assert any(fnmatch.fnmatchcase(name, p) for p in patterns), name
    for foreign in (f"x-{cfg.project}.{cfg.environment_suffix}ices", f"other-{naming.prefix(cfg)}-alb", f"{naming.prefix(cfg)}ices"):
        assert not any(fnmatch.fnmatchcase(foreign, p) for p in patterns), foreign
    assert all(p[0] != "*" for p in patterns), "every pattern starts with the project's literal name"


def test_each_subtraction_names_its_reason_and_the_templates_never_set_what_would_need_it(deployed, cfg):
    needs = deployment.needs(deployment.resource_types(deployed), cfg.regions)
    for action, (cfn_type, prop, reason) in scope.UNUSED_ACTIONS.items():
        assert reason, action
        assert cfn_type in needs.actions.get(action, set()), f"{action}: {cfn_type}'s handlers no longer list it; drop the entry"
        name, _, value = prop.partition("=")
        for document in deployed:
            for logical_id, resource in document["Resources"].items():
                if resource["Type"] != cfn_type:
                    continue
                properties = resource.get("Properties", {})
                if value:
                    assert properties.get(name) != value, f"{logical_id} sets {prop}: {action} is needed"
                else:
                    assert f'"{name}"' not in json.dumps(properties), f"{logical_id} sets {name}: {action} is needed"
    assert all(scope.UNUSED_TYPES.values()) and all(scope.ACCOUNT_WIDE.values())


def test_every_resource_of_a_type_found_by_tag_carries_the_project_tags(deployed, cfg):
    tagged = set(scope.TAGGED.values())
    found = 0
    for document in deployed:
        for logical_id, resource in document["Resources"].items():
            if resource["Type"] in tagged:
                tags = {t["Key"]: t["Value"] for t in resource["Properties"].get("Tags", [])}
                assert naming.project_tags(cfg).items() <= tags.items(), logical_id
                found += 1
    assert found > 10


def test_the_iam_proof_fails_on_an_account_wide_grant_without_a_reason(rendered_dir, tmp_path):
    copy = tmp_path / "render"
    shutil.copytree(rendered_dir, copy)
    path = copy / json.loads((copy / MANIFEST).read_text())["stackset_roles"]["execution"]["template"]
    document = json.loads(path.read_text())
    explained = [k for k, r in document["Resources"].items() if scope.ACCOUNT_WIDE_METADATA in r.get("Metadata", {})]
    assert explained
    assert not iam_proof.prove(copy)
    for logical_id in explained:
        document["Resources"][logical_id]["Metadata"].pop(scope.ACCOUNT_WIDE_METADATA)
    path.write_text(json.dumps(document))
    problems = {f.arn for f in iam_proof.prove(copy) if "no reason" in f.problem}
    assert "arn:${AWS::Partition}:route53:::healthcheck/*" in problems
