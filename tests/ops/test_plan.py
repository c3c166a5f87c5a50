"""``build.py plan``: renders compared offline, deployed stack sets read through botocore, deploy's gate.

The offline pairs are real renders of configurations that differ in one thing; the deployed
side is botocore's Stubber (requests and responses checked against botocore's model) and
moto for the deploy gate.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import botocore.session
import pytest
from stackset_support import ACCOUNT, DR, PRIMARY, REGIONAL, region_values, regional_template, write_rendered

import build
from checks.pipeline import write_tree
from ops.deploy import deploy
from ops.errors import OpsError
from ops.operations import StackSets
from ops.plan import REPLACEMENT_EXTRAS, _matches, plan_against, plan_deployed
from ops.rendered import load
from templates.config import AlertEndpoint, Config
from templates.render import render

BASE = Config()
# moto creates the bucket but not its policy (so this proves nothing about the policy).
pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS.{2}S3.{2}BucketPolicy:UserWarning")


def _render(directory: Path, cfg: Config) -> Path:
    write_tree(render(cfg), directory)
    return directory


def _with(section: str | None = None, **values) -> Config:
    if section is None:
        return BASE.model_copy(update=values)
    return BASE.model_copy(update={section: getattr(BASE, section).model_copy(update=values)})


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory) -> Path:
    return _render(tmp_path_factory.mktemp("base") / "dr_templates", BASE)


def _plan(tmp_path, base_dir, cfg: Config, **kwargs):
    return plan_against(load(_render(tmp_path / "dr_templates", cfg)), load(base_dir), **kwargs)


def _changes(plan, region, stack_set="trading-dev-regional"):
    (found,) = [p for p in plan.regions if p.region == region and p.stack_set == stack_set]
    return {change.logical_id: change for change in found.changes}, found


def _dangerous(plan):
    return {(p.region, c.logical_id) for p, c in plan.dangerous()}


def test_the_same_render_plans_nothing(tmp_path, base_dir):
    plan = _plan(tmp_path, base_dir, BASE)
    assert plan.exit_status == 0
    assert all(not p.changes and not p.parameters for p in plan.regions)
    assert all(line.endswith("nothing to do") for line in plan.lines() if not line.startswith("=="))


def test_a_changed_alarm_threshold_is_an_in_place_modification(tmp_path, base_dir):
    plan = _plan(tmp_path, base_dir, _with("objectives", rpo_seconds=120))
    changes, _ = _changes(plan, PRIMARY)
    assert changes["RpoLagAlarm"].action == "modify"
    assert "Threshold" in changes["RpoLagAlarm"].paths
    assert plan.exit_status == 0 and not plan.dangerous()


def test_a_changed_engine_version_modifies_the_clusters_in_place(tmp_path, base_dir):
    plan = _plan(tmp_path, base_dir, _with("database", engine_version="16.9"))
    for region in (PRIMARY, DR):
        changes, _ = _changes(plan, region)
        assert changes["DbCluster"].action == "modify" and changes["DbCluster"].paths == ("EngineVersion",)
    assert plan.exit_status == 0


def test_a_changed_database_name_replaces_the_writer_cluster_and_fails(tmp_path, base_dir):
    plan = _plan(tmp_path, base_dir, _with("database", database_name="orders"))
    assert plan.exit_status == 1
    assert (PRIMARY, "DbCluster") in _dangerous(plan)
    lines = plan.lines()
    assert lines[0].startswith("!! ")  # stateful losses come first
    assert f"!!   {PRIMARY} DbCluster AWS::RDS::DBCluster: replaced because DatabaseName" in lines
    # The instances follow their cluster: DBClusterIdentifier is create-only and refers to it.
    changes, _ = _changes(plan, PRIMARY)
    assert changes["DbInstance1"].action == "replace"
    assert "refers to DbCluster" in changes["DbInstance1"].reasons[0]


@pytest.mark.parametrize(
    "cfg, expected",
    [
        (_with(project="orders"), {(PRIMARY, "GlobalCluster"), (DR, "DbCluster"), (PRIMARY, "DbMasterSecret")}),
        (_with(environment_suffix="prod"), {(PRIMARY, "RunbookIdempotencyTable"), (DR, "AppLogGroup"), (PRIMARY, "ArtifactBucket")}),
    ],
)
def test_a_changed_name_prefix_replaces_stateful_resources_and_says_the_stack_set_is_new(tmp_path, base_dir, cfg, expected):
    plan = _plan(tmp_path, base_dir, cfg)
    assert plan.exit_status == 1
    assert expected <= _dangerous(plan)
    assert any("stack set renamed from trading-dev-regional" in note for p in plan.regions for note in p.notes)


def _swapped(**database) -> Config:
    """The surviving DR region made the primary, each region keeping its own network."""
    network = BASE.network.model_copy(update=dict(primary_vpc_cidr=BASE.network.dr_vpc_cidr, dr_vpc_cidr=BASE.network.primary_vpc_cidr))
    return BASE.model_copy(
        update=dict(primary_region=DR, dr_region=PRIMARY, network=network, database=BASE.database.model_copy(update=database))
    )


def test_swapped_regions_with_the_database_origin_kept_replace_nothing_stateful(tmp_path):
    """Same instance count in both regions, so only the roles change."""
    before = _render(tmp_path / "before", _with("database", primary_instances=1, dr_instances=1))
    after = _render(tmp_path / "after", _swapped(created_in=PRIMARY, primary_instances=1, dr_instances=1))
    plan = plan_against(load(after), load(before))
    assert plan.exit_status == 0, plan.lines()
    for region in (PRIMARY, DR):
        changes, found = _changes(plan, region)
        assert {"DbCluster", "GlobalCluster", "DbMasterSecret", "DbInstance1"}.isdisjoint(changes)
        assert found.parameters["RegionRole"][0] != found.parameters["RegionRole"][1]


def test_swapped_regions_without_the_origin_replace_both_clusters_and_hint_at_the_fix(tmp_path, base_dir):
    swapped = _swapped()
    plan = _plan(tmp_path, base_dir, swapped)
    assert plan.exit_status == 1
    assert {(DR, "DbCluster"), (PRIMARY, "DbCluster"), (PRIMARY, "GlobalCluster")} <= _dangerous(plan)
    changes, found = _changes(plan, DR)
    assert set(changes["DbCluster"].reasons) == {"DatabaseName", "MasterUsername"}
    assert any("database.created_in" in note for note in found.notes)


@pytest.mark.parametrize("resource_type, status", [("AWS::CloudWatch::Alarm", 0), ("AWS::Logs::LogGroup", 1)])
def test_a_removed_resource_is_deleted_and_only_a_stateful_one_fails(tmp_path, base_dir, resource_type, status):
    """The running side holds one resource more than the render (nothing else refers to it)."""
    old = _render(tmp_path / "old", BASE)
    template = json.loads((old / "regional.json").read_text())
    template["Resources"]["Extra"] = {"Type": resource_type, "Properties": {"Description": "gone in the render"}}
    (old / "regional.json").write_text(json.dumps(template))
    plan = plan_against(load(base_dir), load(old))
    changes, _ = _changes(plan, PRIMARY)
    assert changes["Extra"].action == "remove"
    assert changes["Extra"].reasons == ("its logical id is not in the template",)
    assert plan.exit_status == status
    assert ((PRIMARY, "Extra") in _dangerous(plan)) == bool(status)


def test_a_template_that_cannot_resolve_is_bad_input(tmp_path, base_dir):
    new = _render(tmp_path / "dr_templates", BASE)
    template = json.loads((new / "regional.json").read_text())
    del template["Resources"]["DbCluster"]  # still referenced
    (new / "regional.json").write_text(json.dumps(template))
    with pytest.raises(OpsError) as error:
        plan_against(load(new), load(base_dir))
    assert error.value.exit_status == 2 and "DbCluster" in str(error.value)


def test_a_parameter_only_change_lists_the_parameter_and_what_it_switches_on(tmp_path, base_dir):
    plan = _plan(tmp_path, base_dir, _with("database", dr_instances=2))
    changes, found = _changes(plan, DR)
    assert found.parameters == {"DbInstanceCount": ("1", "2")}
    assert changes["DbInstance2"].action == "add"
    assert plan.exit_status == 0


def test_only_region_plans_that_region_alone(tmp_path, base_dir):
    plan = _plan(tmp_path, base_dir, BASE, only_region=DR)
    assert {p.region for p in plan.regions} == {DR}


def test_a_dr_only_plan_flags_a_health_check_change_as_needing_route53s_control_plane_region(tmp_path, base_dir, capsys):
    """Route 53's control plane is in the partition's first region (the primary here): during its
    outage a DR-only deploy cannot replace the DR health check; the primary's own plan needs nothing else."""
    new = _render(tmp_path / "new", _with("dns", health_check_interval_seconds=30))
    assert build.main(["plan", "--out", str(new), "--against", str(base_dir), "--only-region", DR]) == 0
    text = capsys.readouterr().out
    assert text.startswith("!! 1 change(s) need another region, which may be down")
    assert f"{DR} LoadBalancerHealthCheck AWS::Route53::HealthCheck (replace): needs {PRIMARY}, which may be down" in text
    assert build.main(["plan", "--out", str(new), "--against", str(base_dir), "--only-region", DR, "--json"]) == 0
    (flagged,) = json.loads(capsys.readouterr().out)["needs_another_region"]
    assert (flagged["region"], flagged["logical_id"], flagged["needs"]) == (DR, "LoadBalancerHealthCheck", [PRIMARY])
    assert not plan_against(load(new), load(base_dir), only_region=PRIMARY).elsewhere()
    assert not plan_against(load(new), load(base_dir)).elsewhere(), "only a plan of one region alone asks"


def test_a_dr_only_plan_flags_a_change_to_the_subscription_of_the_primarys_topic(tmp_path, base_dir, capsys):
    """The DR stack owns the subscription to the primary's topic (``Region``: the topic's region)."""
    new = _render(tmp_path / "new", BASE)
    path = new / "regional.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    document["Resources"]["PeerAlertsIntoThisRegion"]["Properties"]["RawMessageDelivery"] = True
    path.write_text(json.dumps(document), encoding="utf-8")
    assert build.main(["plan", "--out", str(new), "--against", str(base_dir), "--only-region", DR, "--json"]) == 0
    (flagged,) = json.loads(capsys.readouterr().out)["needs_another_region"]
    assert (flagged["logical_id"], flagged["action"], flagged["needs"]) == ("PeerAlertsIntoThisRegion", "modify", [PRIMARY])
    assert "topic" in flagged["why"]


def test_a_changed_alert_endpoint_needs_no_other_region(tmp_path, base_dir):
    """On-call endpoints subscribe each region's own topic: a DR-only deploy can change them."""
    endpoints = (AlertEndpoint(protocol="email", endpoint="oncall@example.com"),)
    plan = _plan(tmp_path, base_dir, _with("alerts", endpoints=endpoints), only_region=DR)
    changes, _ = _changes(plan, DR)
    assert changes and not plan.elsewhere()


def test_a_primary_only_plan_flags_the_replicated_secret_and_the_global_cluster(tmp_path, base_dir):
    """During a DR outage the primary's secret replica and global cluster changes need the DR region."""
    new = _render(tmp_path / "new", BASE)
    path = new / "regional.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    document["Resources"]["DbMasterSecret"]["Properties"]["Description"] = "changed"
    document["Resources"]["GlobalCluster"]["Properties"]["DeletionProtection"] = False
    path.write_text(json.dumps(document), encoding="utf-8")
    plan = plan_against(load(new), load(base_dir), only_region=PRIMARY)
    assert {(change.logical_id, change.needs) for _, change in plan.elsewhere()} == {("DbMasterSecret", (DR,)), ("GlobalCluster", (DR,))}


def test_the_command_prints_json_and_exits_1_without_colour_off_a_terminal(tmp_path, base_dir, capsys):
    new = _render(tmp_path / "new", _with("database", database_name="orders"))
    assert build.main(["plan", "--out", str(new), "--against", str(base_dir)]) == 1
    text = capsys.readouterr().out
    assert "\033[" not in text and text.startswith("!! ")
    assert build.main(["plan", "--out", str(new), "--against", str(base_dir), "--json"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert f"{PRIMARY} DbCluster AWS::RDS::DBCluster: replaced because DatabaseName" in document["stateful_replaced_or_deleted"]


def test_bad_input_is_one_line_and_exit_2(tmp_path, base_dir, capsys):
    assert build.main(["plan", "--out", str(base_dir), "--against", str(tmp_path / "absent")]) == 2
    assert build.main(["plan", "--out", str(base_dir), "--against", str(base_dir), "--only-region", "eu-west-9"]) == 2
    errors = capsys.readouterr().err.splitlines()
    assert len(errors) == 2 and all(line.startswith("error: ") for line in errors)


def test_create_only_paths_match_within_each_other_and_through_wildcards():
    assert _matches("/properties/DatabaseName", "/properties/DatabaseName")
    assert _matches("/properties/Tags/3/Key", "/properties/Tags/*/Key")
    assert _matches("/properties/VpcConfig", "/properties/VpcConfig/SubnetIds")  # the whole object changed
    assert not _matches("/properties/DatabaseNames", "/properties/DatabaseName")
    assert not _matches("/properties/Tags/3/Value", "/properties/Tags/*/Key")


def test_each_documented_extra_is_absent_from_the_schema_and_from_the_modify_api():
    """An extra is needed only while cfn-lint's schema misses it, and MasterUsername cannot
    change in place: RDS's ModifyDBCluster takes no such parameter."""
    from ops.plan import create_only_paths

    modify = botocore.session.get_session().get_service_model("rds").operation_model("ModifyDBCluster").input_shape
    for resource_type, paths in REPLACEMENT_EXTRAS.items():
        schema_paths = set(create_only_paths(resource_type, PRIMARY)) - set(paths)
        for path in paths:
            assert path not in schema_paths, f"{path} is in the schema now: drop the extra"
    assert all(path.rsplit("/", 1)[1] not in modify.members for path in REPLACEMENT_EXTRAS["AWS::RDS::DBCluster"])


def test_turning_object_lock_on_replaces_the_report_bucket_and_fails(tmp_path, base_dir):
    """CloudFormation replaces a bucket whose ObjectLockEnabled changes; the report bucket has a
    fixed name (the update would fail) and holds evidence: the plan refuses it, both ways."""
    locked = _with("reports", object_lock_days=7)
    for cfg, against in ((locked, base_dir), (BASE, _render(tmp_path / "locked" / "dr_templates", locked))):
        plan = plan_against(load(_render(tmp_path / "new" / "dr_templates", cfg)), load(against))
        assert plan.exit_status == 1
        for region in (PRIMARY, DR):
            changes, _ = _changes(plan, region, "trading-dev-bootstrap")
            assert changes["ReportBucket"].action == "replace" and "ObjectLockEnabled" in changes["ReportBucket"].reasons[0]
            assert (region, "ReportBucket") in _dangerous(plan)


# -- against what is deployed (Stubber) ---------------------------------------------------------


@pytest.fixture
def small_render(tmp_path, code_key) -> Path:
    return write_rendered(tmp_path / "dr_templates", regional_template(code_key), region_values(), code_key)


def _expect_deployed(stubbed, template, stack_set_values, overrides):
    cloudformation = stubbed.stub("cloudformation")
    cloudformation.add_response(
        "describe_stack_set",
        {
            "StackSet": {
                "StackSetName": REGIONAL,
                "Status": "ACTIVE",
                "TemplateBody": json.dumps(template),
                "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in stack_set_values.items()],
            }
        },
        {"StackSetName": REGIONAL},
    )
    cloudformation.add_response(
        "list_stack_instances",
        {"Summaries": [{"StackSetId": f"{REGIONAL}:1", "Region": r, "Account": ACCOUNT, "Status": "CURRENT"} for r in overrides]},
        {"StackSetName": REGIONAL, "StackInstanceAccount": ACCOUNT},
    )
    for region in (PRIMARY, DR):
        if region not in overrides:
            continue
        cloudformation.add_response(
            "describe_stack_instance",
            {
                "StackInstance": {
                    "StackSetId": f"{REGIONAL}:1",
                    "Region": region,
                    "Account": ACCOUNT,
                    "ParameterOverrides": [{"ParameterKey": k, "ParameterValue": v} for k, v in overrides[region].items()],
                }
            },
            {"StackSetName": REGIONAL, "StackInstanceAccount": ACCOUNT, "StackInstanceRegion": region},
        )


def _regional_only(rendered):
    return dataclasses.replace(rendered, stack_sets=tuple(s for s in rendered.stack_sets if s.name == REGIONAL))


def test_no_stack_set_yet_plans_everything_as_added(stubbed, small_render):
    stubbed.stub("cloudformation").add_client_error(
        "describe_stack_set", "StackSetNotFoundException", http_status_code=404, expected_params={"StackSetName": REGIONAL}
    )
    plan = plan_deployed(StackSets(stubbed.aws, print), _regional_only(load(small_render)))
    stubbed.verify()
    assert plan.exit_status == 0
    assert all(not p.deployed and {c.action for c in p.changes} == {"add"} for p in plan.regions)


def test_unchanged_stack_instances_plan_nothing(stubbed, small_render, code_key):
    values = region_values()
    _expect_deployed(stubbed, regional_template(code_key), values[PRIMARY], values)
    plan = plan_deployed(StackSets(stubbed.aws, print), _regional_only(load(small_render)))
    stubbed.verify()
    assert all(p.deployed and not p.changes and not p.parameters for p in plan.regions)


def test_drifted_instance_parameters_show_as_parameter_changes(stubbed, small_render, code_key):
    values = region_values()
    drifted = {PRIMARY: values[PRIMARY], DR: {**values[DR], "QueueRetentionSeconds": "600"}}
    _expect_deployed(stubbed, regional_template(code_key), values[PRIMARY], drifted)
    plan = plan_deployed(StackSets(stubbed.aws, print), _regional_only(load(small_render)))
    stubbed.verify()
    (dr,) = [p for p in plan.regions if p.region == DR]
    assert dr.parameters == {"QueueRetentionSeconds": ("600", values[DR]["QueueRetentionSeconds"])}
    assert {c.logical_id: c.paths for c in dr.changes} == {"Queue": ("MessageRetentionPeriod",)}


# -- deploy plans first (moto) ------------------------------------------------------------------


def _with_log_group(code_key, name):
    template = regional_template(code_key)
    template["Resources"]["Logs"] = {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": {"Fn::Sub": name}}}
    return template


@pytest.mark.usefixtures("stackset_roles_exist")
def test_deploy_refuses_a_replacing_change_before_any_write_and_proceeds_when_allowed(moto_aws, tmp_path, code_key, fake_clock):
    first = write_rendered(tmp_path / "dr_templates", _with_log_group(code_key, "${AWS::Region}-logs"), region_values(), code_key)
    deploy(moto_aws, load(first), lambda line: None, fake_clock.clock)
    cloudformation = moto_aws.client("cloudformation")
    operations = len(cloudformation.list_stack_set_operations(StackSetName=REGIONAL)["Summaries"])
    renamed = write_rendered(first, _with_log_group(code_key, "${AWS::Region}-renamed"), region_values(), code_key)
    lines: list[str] = []
    with pytest.raises(OpsError) as refused:
        deploy(moto_aws, load(renamed), lines.append, fake_clock.clock)
    assert f"{PRIMARY} Logs AWS::Logs::LogGroup: replaced because LogGroupName" in refused.value.details
    assert lines[0].startswith("plan: ") and any(line.startswith("!! ") for line in lines)
    assert len(cloudformation.list_stack_set_operations(StackSetName=REGIONAL)["Summaries"]) == operations
    allowed = [f"{PRIMARY}:Logs", f"{DR}:Logs"]
    assert deploy(moto_aws, load(renamed), lines.append, fake_clock.clock, allow_replacement=allowed) == [REGIONAL]
