"""The deployer end to end against moto: real boto3 over HTTP, both regions.

moto runs every operation to SUCCEEDED at once and ignores OperationPreferences, so these
tests prove the calls, the uploads and the converging (create, no-op, update); the exact
preferences, failures and waits are proven with Stubber (test_stacksets_stubbed.py).
"""

from __future__ import annotations

import json

import pytest
from stackset_support import (
    ACCOUNT,
    BOOTSTRAP,
    DR,
    PADDING_BYTES,
    PRIMARY,
    REGIONAL,
    region_values,
    regional_template,
    write_rendered,
)

from ops.deploy import deploy
from ops.errors import EXIT_BAD_INPUT, OpsError
from ops.rendered import load

# moto creates the bucket but not its policy (so this proves nothing about the policy).
pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS.{2}S3.{2}BucketPolicy:UserWarning")


def _operations(aws, stack_set):
    summaries = aws.client("cloudformation").list_stack_set_operations(StackSetName=stack_set)["Summaries"]
    return sorted(summaries, key=lambda summary: summary["CreationTimestamp"])


def _overrides(aws, region):
    instance = aws.client("cloudformation").describe_stack_instance(
        StackSetName=REGIONAL, StackInstanceAccount=ACCOUNT, StackInstanceRegion=region
    )["StackInstance"]
    return {entry["ParameterKey"]: entry["ParameterValue"] for entry in instance["ParameterOverrides"]}


def _started(lines, stack_set):
    """The operations started on ``stack_set``, in order, as the progress names them."""
    return [line.split(": operation ")[0] for line in lines if line.startswith(stack_set) and line.endswith(" started")]


def _deploy(aws, dr_templates, fake_clock):
    lines: list[str] = []
    changed = deploy(aws, dr_templates, lines.append, fake_clock.clock)
    return changed, lines


@pytest.mark.usefixtures("stackset_roles_exist")
def test_first_deploy_creates_both_stack_sets_in_both_regions_and_uploads_the_code(
    moto_aws, dr_templates, code_key, fake_clock
):
    changed, lines = _deploy(moto_aws, dr_templates, fake_clock)

    assert changed == [BOOTSTRAP, REGIONAL]
    cloudformation = moto_aws.client("cloudformation")
    for name in (BOOTSTRAP, REGIONAL):
        stack_set = cloudformation.describe_stack_set(StackSetName=name)["StackSet"]
        assert (
            stack_set["AdministrationRoleARN"]
            == f"arn:aws:iam::{ACCOUNT}:role/{dr_templates.roles.administration.name}"
        )
        assert stack_set["ExecutionRoleName"] == dr_templates.roles.execution.name
        instances = cloudformation.list_stack_instances(StackSetName=name)["Summaries"]
        assert sorted(instance["Region"] for instance in instances) == sorted([PRIMARY, DR])
    for region in (PRIMARY, DR):
        assert _overrides(moto_aws, region) == region_values()[region], "each instance gets its own complete values"
        bucket = dr_templates.artifacts.bucket(ACCOUNT, region)
        assert moto_aws.client("s3", region).head_object(Bucket=bucket, Key=code_key)["ContentLength"] > 0
    # The stack-set-level values are the first region's.
    stack_set = cloudformation.describe_stack_set(StackSetName=REGIONAL)["StackSet"]
    assert {p["ParameterKey"]: p["ParameterValue"] for p in stack_set["Parameters"]} == region_values()[PRIMARY]
    # Primary first: the regional instances were created one region per operation, in order.
    assert _started(lines, REGIONAL) == [f"{REGIONAL} create {PRIMARY}", f"{REGIONAL} create {DR}"]
    assert _started(lines, BOOTSTRAP) == [f"{BOOTSTRAP} create {PRIMARY}, {DR}"]
    assert "artifacts: 2 upload(s), 0 already in place" in lines


FIRST_CREATE = {"QueueRetentionSeconds": "60"}  # stands for DeletionProtection=false


@pytest.mark.usefixtures("stackset_roles_exist")
def test_a_new_instance_is_created_with_the_first_create_values_then_given_its_files(
    moto_aws, dr_templates_dir, code_key, fake_clock
):
    """Deletion protection off while an instance is first created (a failure can roll back),
    on as rendered once the create succeeded; the next deploy has nothing to do."""
    write_rendered(dr_templates_dir, regional_template(code_key), region_values(), code_key, first_create=FIRST_CREATE)

    changed, lines = _deploy(moto_aws, load(dr_templates_dir), fake_clock)

    assert changed == [BOOTSTRAP, REGIONAL]
    assert _started(lines, REGIONAL) == [
        f"{REGIONAL} create {PRIMARY}",
        f"{REGIONAL} create {DR}",
        f"{REGIONAL} update stack set",  # the stack set's own values are the primary's
        f"{REGIONAL} update {PRIMARY}",  # its overrides, which the stack set update kept
        f"{REGIONAL} update {DR}",
    ]
    for region in (PRIMARY, DR):
        assert _overrides(moto_aws, region) == region_values()[region]
    assert _deploy(moto_aws, load(dr_templates_dir), fake_clock)[0] == []


@pytest.mark.usefixtures("stackset_roles_exist")
def test_only_the_instance_being_created_gets_the_first_create_values(moto_aws, dr_templates_dir, code_key, fake_clock):
    """The primary exists (protected); the DR instance is created later: only it starts unprotected."""
    write_rendered(dr_templates_dir, regional_template(code_key), region_values(), code_key, first_create=FIRST_CREATE)
    _deploy(moto_aws, load(dr_templates_dir), fake_clock)
    moto_aws.client("cloudformation").delete_stack_instances(
        StackSetName=REGIONAL, Accounts=[ACCOUNT], Regions=[DR], RetainStacks=False
    )

    _, lines = _deploy(moto_aws, load(dr_templates_dir), fake_clock)

    assert _started(lines, REGIONAL) == [f"{REGIONAL} create {DR}", f"{REGIONAL} update {DR}"]
    assert _overrides(moto_aws, DR) == region_values()[DR]


@pytest.mark.usefixtures("stackset_roles_exist")
def test_second_deploy_changes_nothing_uploads_nothing_and_says_so(moto_aws, dr_templates, fake_clock):
    _deploy(moto_aws, dr_templates, fake_clock)
    operations_before = {name: len(_operations(moto_aws, name)) for name in (BOOTSTRAP, REGIONAL)}

    changed, lines = _deploy(moto_aws, dr_templates, fake_clock)

    assert changed == []
    assert {name: len(_operations(moto_aws, name)) for name in (BOOTSTRAP, REGIONAL)} == operations_before
    assert "artifacts: 0 upload(s), 2 already in place" in lines
    assert f"{REGIONAL}: unchanged (template, parameters and 2 instance(s)); nothing to do" in lines
    assert lines[-1] == "nothing to do: every stack set is as rendered"
    assert fake_clock.sleeps == []


@pytest.mark.usefixtures("stackset_roles_exist")
def test_a_changed_region_value_updates_that_instance_only(moto_aws, dr_templates_dir, code_key, fake_clock):
    _deploy(moto_aws, load(dr_templates_dir), fake_clock)
    values = region_values({PRIMARY: "345600", DR: "172800"})
    write_rendered(dr_templates_dir, regional_template(code_key), values, code_key)

    changed, lines = _deploy(moto_aws, load(dr_templates_dir), fake_clock)

    assert changed == [REGIONAL]
    assert _overrides(moto_aws, DR)["QueueRetentionSeconds"] == "172800"
    assert _overrides(moto_aws, PRIMARY)["QueueRetentionSeconds"] == "345600"
    assert _started(lines, BOOTSTRAP) == []
    assert _started(lines, REGIONAL) == [f"{REGIONAL} update {DR}"]


@pytest.mark.usefixtures("stackset_roles_exist")
def test_a_changed_template_updates_the_stack_set_then_each_other_region_with_its_values(
    moto_aws, dr_templates_dir, code_key, fake_clock
):
    _deploy(moto_aws, load(dr_templates_dir), fake_clock)
    changed_template = regional_template(code_key)
    changed_template["Resources"]["Queue"]["Properties"]["VisibilityTimeout"] = 60
    write_rendered(dr_templates_dir, changed_template, region_values(), code_key)

    changed, lines = _deploy(moto_aws, load(dr_templates_dir), fake_clock)

    assert changed == [REGIONAL]
    body = moto_aws.client("cloudformation").describe_stack_set(StackSetName=REGIONAL)["StackSet"]["TemplateBody"]
    assert json.loads(body) == changed_template
    assert _started(lines, REGIONAL) == [f"{REGIONAL} update stack set", f"{REGIONAL} update {DR}"]
    assert _overrides(moto_aws, DR) == region_values()[DR]


@pytest.mark.usefixtures("stackset_roles_exist")
def test_a_template_over_the_inline_limit_goes_by_url_from_the_artifact_bucket(
    moto_aws, dr_templates_dir, code_key, fake_clock
):
    big = regional_template(code_key, padding=PADDING_BYTES)
    write_rendered(dr_templates_dir, big, region_values(), code_key)

    _deploy(moto_aws, load(dr_templates_dir), fake_clock)

    bucket = load(dr_templates_dir).artifacts.bucket(ACCOUNT, PRIMARY)
    keys = [obj["Key"] for obj in moto_aws.client("s3").list_objects_v2(Bucket=bucket, Prefix="templates/")["Contents"]]
    assert len(keys) == 1 and keys[0].startswith(f"templates/{REGIONAL}-")
    body = moto_aws.client("cloudformation").describe_stack_set(StackSetName=REGIONAL)["StackSet"]["TemplateBody"]
    assert json.loads(body) == big


def test_missing_stackset_roles_stop_the_deploy_and_say_how_to_create_them(moto_aws, dr_templates, fake_clock):
    with pytest.raises(OpsError) as failure:
        _deploy(moto_aws, dr_templates, fake_clock)

    assert failure.value.exit_status == EXIT_BAD_INPUT
    assert dr_templates.roles.administration.name in str(failure.value)
    assert [line.split(" --stack-name ")[1].split()[0] for line in failure.value.details] == [
        dr_templates.roles.administration.stack_name,
        dr_templates.roles.execution.stack_name,
    ]
    assert all("--capabilities CAPABILITY_NAMED_IAM" in line for line in failure.value.details)
    assert all(line.endswith("--capabilities CAPABILITY_NAMED_IAM") for line in failure.value.details), "no parameters"
    assert moto_aws.client("cloudformation").list_stack_sets()["Summaries"] == []


def test_a_missing_package_stops_the_deploy_before_anything_changes(
    moto_aws, dr_templates, build_dir, code_key, fake_clock
):
    (build_dir / code_key).unlink()

    with pytest.raises(OpsError) as failure:
        _deploy(moto_aws, dr_templates, fake_clock)

    assert "run 'make package'" in str(failure.value)
    assert failure.value.details == [code_key]
    assert failure.value.exit_status == EXIT_BAD_INPUT


def test_administered_from_a_third_region_a_dr_change_calls_nothing_in_the_primary(
    moto_session, moto_aws, dr_templates_dir, code_key, fake_clock
):
    """Issue 11.6: with the stack sets administered from a third region, ``--only-region DR``
    changes the DR region without a single request to the primary region."""
    from ops.aws import Aws
    from stackset_support import CFG

    third = CFG.model_copy(update={"stackset_administration_region": "us-east-2"})
    write_rendered(dr_templates_dir, regional_template(code_key), region_values(), code_key, cfg=third)
    rendered = load(dr_templates_dir)
    aws = Aws(moto_session, third.administration_region)
    trust = json.dumps({"Version": "2012-10-17", "Statement": []})
    for role in (rendered.roles.administration, rendered.roles.execution):
        aws.client("iam").create_role(RoleName=role.name, AssumeRolePolicyDocument=trust)
    deploy(aws, rendered, [].append, fake_clock.clock)
    changed_template = regional_template(code_key)
    changed_template["Resources"]["Queue"]["Properties"]["VisibilityTimeout"] = 60
    write_rendered(dr_templates_dir, changed_template, region_values(), code_key, cfg=third)
    called: list[tuple[str, str]] = []

    def record(model, context, **_):
        called.append((model.service_model.service_name, context["client_region"]))

    moto_session.events.register("before-call", record)  # the session outlives this test: unregistered below
    try:
        aws = Aws(moto_session, third.administration_region)  # new clients carry the recorder
        lines: list[str] = []
        changed = deploy(aws, load(dr_templates_dir), lines.append, fake_clock.clock, only_region=DR)
    finally:
        moto_session.events.unregister("before-call", record)

    assert changed == [REGIONAL]
    assert _started(lines, REGIONAL) == [f"{REGIONAL} update stack set"]
    assert called and not [call for call in called if call[1] == PRIMARY], called
    body = aws.client("cloudformation").describe_stack_set(StackSetName=REGIONAL)["StackSet"]["TemplateBody"]
    assert json.loads(body) == changed_template
