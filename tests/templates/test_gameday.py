"""The game day's FIS experiment (issue 26): off by default, in the primary's stack instance only,
aimed at this stack's app subnets and app tasks, stopped by its alarms, and a
role that passes the gate (cfn-lint, the IAM proof) and grants nothing beyond this stack."""

from __future__ import annotations

import json
import re
from pathlib import Path

import botocore.session
import pytest

from checks import iam_proof
from checks.pipeline import publish
from template_support import resolve, resources_of_type
from templates import gameday, naming
from templates.stackset_roles import PERMISSIONS_BOUNDARY
from test_execution_scope import ACCOUNT, allows
from templates.config import ConfigError, config_from_mapping
from templates.render import render

FIS_TYPE = "AWS::FIS::ExperimentTemplate"


@pytest.fixture(scope="module")
def gameday_cfg():
    return config_from_mapping({"gameday": {"enabled": True, "duration_minutes": 45}})


@pytest.fixture(scope="module")
def gameday_rendered(gameday_cfg) -> dict:
    return render(gameday_cfg)


@pytest.fixture(scope="module")
def gameday_template(gameday_rendered) -> dict:
    return json.loads(gameday_rendered["regional.json"])


def test_off_by_default_nothing_of_it_renders(template):
    assert not [r for r in template["Resources"].values() if r["Type"] == FIS_TYPE]
    assert not [name for name in template["Resources"] if name.startswith("Gameday")]


def test_only_the_primarys_stack_instance_has_the_experiment(gameday_cfg, gameday_template):
    primary = resolve(gameday_template, gameday_cfg, gameday_cfg.primary_region)
    dr = resolve(gameday_template, gameday_cfg, gameday_cfg.dr_region)
    assert len(resources_of_type(primary, FIS_TYPE)) == 1
    assert resources_of_type(dr, FIS_TYPE) == {}
    assert not [name for name in dr["Resources"] if name.startswith("Gameday")]


def test_it_isolates_the_app_subnets_from_the_dr_region_for_the_configured_time(gameday_cfg, gameday_template):
    primary = resolve(gameday_template, gameday_cfg, gameday_cfg.primary_region)
    (experiment,) = resources_of_type(primary, FIS_TYPE).values()
    properties = experiment["Properties"]
    isolate = properties["Actions"][gameday.ISOLATE_ACTION]
    assert isolate["ActionId"] == "aws:network:route-table-disrupt-cross-region-connectivity"
    assert isolate["Parameters"] == {"region": gameday_cfg.dr_region, "duration": "PT45M"}
    subnets = properties["Targets"][isolate["Targets"]["Subnets"]]
    assert subnets["ResourceType"] == "aws:ec2:subnet" and subnets["SelectionMode"] == "ALL"
    tiers = {arn.rsplit("/", 1)[1].rstrip("0123456789") for arn in subnets["ResourceArns"]}
    assert tiers == {"PrivateSubnet"}, "the app's: the database's have no route out to cut, and never the public tier"
    assert len(subnets["ResourceArns"]) == gameday_cfg.network.az_count
    stop = properties["Actions"][gameday.STOP_TASKS_ACTION]
    assert stop["ActionId"] == "aws:ecs:stop-task"
    tasks = properties["Targets"][stop["Targets"]["Tasks"]]
    assert tasks["ResourceType"] == "aws:ecs:task" and tasks["SelectionMode"] == "ALL"
    assert tasks["Parameters"] == {"cluster": "trading-dev-cluster", "service": "trading-dev-app"}


@pytest.mark.parametrize("az_count", [2, 3])
def test_no_target_lists_more_arns_than_fis_accepts(az_count):
    """FIS and CloudFormation take at most 5 ARNs a target (botocore's fis model, ResourceArnList)."""
    cfg = config_from_mapping({"gameday": {"enabled": True}, "network": {"az_count": az_count}})
    template = json.loads(render(cfg)["regional.json"])
    model = botocore.session.get_session().get_service_model("fis")
    limit = model.shape_for("ResourceArnList").metadata["max"]
    assert limit == gameday.MAX_TARGET_ARNS
    for name, target in template["Resources"][gameday.EXPERIMENT]["Properties"]["Targets"].items():
        assert len(target.get("ResourceArns", [])) <= limit, name


def test_it_stops_only_on_its_abort_alarm_never_on_what_the_fault_turns_and_logs(gameday_cfg, gameday_template):
    """The readiness and 5xx alarms turn because of the fault (stopped tasks, a switchover): as stop
    conditions they would end the experiment it is there to run, for good (FIS cannot resume)."""
    resources = gameday_template["Resources"]
    properties = resources[gameday.EXPERIMENT]["Properties"]
    alarms = [condition["Value"]["Fn::GetAtt"][0] for condition in properties["StopConditions"]]
    assert alarms == [gameday.ABORT_ALARM]
    abort = resources[gameday.ABORT_ALARM]
    assert abort["Condition"] == resources[gameday.EXPERIMENT]["Condition"]
    command = gameday.abort_command(gameday_cfg).split()
    published = dict(zip(command[3::2], command[4::2]))
    metric = abort["Properties"]
    assert (published["--namespace"], published["--metric-name"]) == (metric["Namespace"], metric["MetricName"])
    assert float(published["--value"]) > metric["Threshold"] and metric["ComparisonOperator"] == "GreaterThanThreshold"
    assert metric["TreatMissingData"] == "notBreaching", "no data: no abort"
    log_group = properties["LogConfiguration"]["CloudWatchLogsConfiguration"]["LogGroupArn"]["Fn::GetAtt"][0]
    assert resources[log_group]["Properties"]["RetentionInDays"] == gameday_cfg.gameday.log_retention_days
    assert properties["ExperimentOptions"]["EmptyTargetResolutionMode"] == "fail"


def _statements(template: dict) -> list[dict]:
    role = template["Resources"][gameday.EXPERIMENT_ROLE]["Properties"]
    return [statement for policy in role["Policies"] for statement in policy["PolicyDocument"]["Statement"]]


def test_the_role_changes_only_this_stacks_network_or_what_fis_tagged_as_its_own(gameday_template):
    """Every write on EC2 names this stack's resources or carries FIS's managedByFIS tag condition."""
    for statement in _statements(gameday_template):
        writes = [a for a in statement["Action"] if a.startswith("ec2:") and not a.startswith(("ec2:Describe", "ec2:Get"))]
        if not writes:
            continue
        resources = [r["Fn::Sub"] for r in statement["Resource"]]
        tagged = json.dumps(statement.get("Condition", {}))
        for arn in resources:
            own = "/${" in arn and not arn.endswith("/*")
            assert own or "managedByFIS" in tagged or arn.endswith("security-group/*"), (statement["Sid"], arn)


def _in_region(value, region: str):
    """The role's statements as IAM sees them in ``region``: a logical id as its physical id."""
    if isinstance(value, list):
        return [_in_region(item, region) for item in value]
    if isinstance(value, dict):
        if set(value) == {"Fn::Sub"}:
            text = value["Fn::Sub"].replace("${AWS::Region}", region).replace("${AWS::Partition}", "aws")
            return re.sub(r"\$\{(?!AWS::)([^}]*)\}", r"\1", text.replace("${AWS::AccountId}", ACCOUNT))
        return {key: _in_region(item, region) for key, item in value.items()}
    return value


def test_the_roles_grants_within_the_boundary_allow_what_fis_does(gameday_cfg, gameday_rendered):
    """Role AND boundary, request by request, as the isolate and stop-task actions make them:
    FIS's own resources carry only its managedByFIS tag, the interface's security group is any,
    ecs:ListTasks names no resource but the cluster (ecs:cluster)."""
    region = gameday_cfg.primary_region
    role = _in_region(_statements(json.loads(gameday_rendered["regional.json"])), region)
    execution = json.loads(gameday_rendered["stackset_execution_role.json"])
    boundary = execution["Resources"][PERMISSIONS_BOUNDARY]["Properties"]["PolicyDocument"]["Statement"]

    def effective(action, resource, context=None):
        return allows(role, action, resource, context) and allows(boundary, action, resource, context)

    def arn(resource, service="ec2"):
        return f"arn:aws:{service}:{region}:{ACCOUNT}:{resource}"

    fis_made = {"aws:ResourceTag/managedByFIS": "true", "ec2:ResourceTag/managedByFIS": "true"}
    tagging = {"aws:RequestTag/managedByFIS": "true"}
    ours = {f"aws:ResourceTag/{k}": v for k, v in naming.project_tags(gameday_cfg).items()}
    cluster = arn("cluster/trading-dev-cluster", "ecs")
    wanted = [
        ("ec2:CreateRouteTable", arn("route-table/*"), tagging),
        ("ec2:CreateRouteTable", arn("vpc/Vpc"), {**tagging, **ours}),
        ("ec2:CreateTags", arn("route-table/rtb-fis"), {**tagging, "ec2:CreateAction": "CreateRouteTable"}),
        ("ec2:CreateRoute", arn("route-table/rtb-fis"), fis_made),
        ("ec2:AssociateRouteTable", arn("route-table/rtb-fis"), fis_made),
        ("ec2:AssociateRouteTable", arn("subnet/PrivateSubnet1"), ours),
        ("ec2:ReplaceRouteTableAssociation", arn("route-table/PrivateRouteTable1"), ours),
        ("ec2:ModifyVpcEndpoint", arn("route-table/rtb-fis"), fis_made),
        ("ec2:DeleteRouteTable", arn("route-table/rtb-fis"), fis_made),
        ("ec2:CreateManagedPrefixList", arn("prefix-list/pl-fis"), tagging),
        ("ec2:ModifyManagedPrefixList", arn("prefix-list/pl-fis"), fis_made),
        ("ec2:CreateNetworkInterface", arn("network-interface/*"), tagging),
        ("ec2:CreateNetworkInterface", arn("subnet/PrivateSubnet1"), {**tagging, **ours}),
        ("ec2:CreateNetworkInterface", arn("security-group/sg-default"), tagging),
        ("ec2:DeleteNetworkInterface", arn("network-interface/eni-fis"), fis_made),
        ("ecs:ListTasks", "*", {"ecs:cluster": cluster}),
        ("ecs:DescribeTasks", arn("task/trading-dev-cluster/0a1b", "ecs"), {}),
        ("ecs:StopTask", arn("task/trading-dev-cluster/0a1b", "ecs"), {}),
    ]
    assert [request[:2] for request in wanted if not effective(*request)] == []
    refused = [
        ("ec2:CreateRoute", arn("route-table/rtb-someone-elses"), {}),
        ("ec2:CreateNetworkInterface", arn("security-group/sg-default"), {}),
        ("ec2:CreateRouteTable", arn("route-table/*"), {"aws:RequestTag/managedByFIS": "false"}),
        ("ecs:ListTasks", "*", {"ecs:cluster": arn("cluster/someone-else", "ecs")}),
        ("ecs:StopTask", arn("task/someone-else/0a1b", "ecs"), {}),
    ]
    assert [request[:2] for request in refused if effective(*request)] == []


def test_the_role_may_be_assumed_by_this_accounts_fis_experiments_only(gameday_template):
    role = gameday_template["Resources"][gameday.EXPERIMENT_ROLE]["Properties"]
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "fis.amazonaws.com"}
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert statement["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::Sub"].endswith(":experiment/*")


def test_the_route_tables_it_may_swap_are_the_target_subnets_own(gameday_template):
    (swap,) = [s for s in _statements(gameday_template) if s["Sid"] == "SwapTheTargetSubnetsRouteTables"]
    tables = {r["Fn::Sub"].rsplit("${", 1)[1].rstrip("}") for r in swap["Resource"] if ":route-table/" in r["Fn::Sub"]}
    assert tables == {"PrivateRouteTable1", "PrivateRouteTable2", "PrivateRouteTable3"}


def test_enabled_it_renders_lints_clean_and_passes_the_iam_proof(gameday_cfg, tmp_path: Path):
    """The whole gate (limits, cfn-lint in both regions, the IAM proof, the budget), then the
    deployment proof: the execution role deploys the FIS type and nothing account-wide unexplained."""
    out = tmp_path / "dr_templates"
    publish(gameday_cfg, out, tmp_path / "build")
    assert json.loads((out / "regional.json").read_text())["Resources"][gameday.EXPERIMENT]["Type"] == FIS_TYPE
    assert iam_proof.prove(out) == []
    assert iam_proof.prove_deployment(out) == []


@pytest.mark.parametrize(
    "pair, field",
    [
        ({"primary_region": "ca-west-1", "dr_region": "ca-central-1", "network": {"az_count": 2}}, "primary_region"),
        ({"primary_region": "ap-southeast-2", "dr_region": "ap-southeast-4"}, "dr_region"),
    ],
)
def test_a_region_where_cloudformation_lacks_the_fis_type_is_refused_only_with_the_game_day_on(pair, field):
    """Either region: the regional template is one for both stack instances."""
    assert config_from_mapping(pair)
    with pytest.raises(ConfigError) as refused:
        config_from_mapping({**pair, "gameday": {"enabled": True}})
    region = pair[field]
    assert refused.value.field_path == field
    assert f"{region} is not supported: CloudFormation has no AWS::FIS::ExperimentTemplate there" in refused.value.rule
    assert "gameday.enabled = false" in refused.value.rule


def test_a_fault_shorter_than_the_rto_is_refused_naming_the_field():
    with pytest.raises(ConfigError) as refused:
        config_from_mapping({"gameday": {"enabled": True, "duration_minutes": 10}, "objectives": {"rto_seconds": 1200}})
    assert refused.value.field_path == "gameday.duration_minutes"
    with pytest.raises(ConfigError) as refused:
        config_from_mapping({"gameday": {"duration_minutes": 721}})
    assert refused.value.field_path == "gameday.duration_minutes"
    assert "from 1 to 720" in refused.value.rule  # FIS: "from one minute to 12 hours" (docs/configuration.md)
