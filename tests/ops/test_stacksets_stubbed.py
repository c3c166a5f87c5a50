"""What moto ignores, proven on the exact requests with botocore's Stubber.

The operation preferences and region order of every operation, complete overrides per
region, TemplateURL for a template over the inline limit, a failure explained by status
reasons and stack events, an operation already running, and the timeout. Time is a fake
clock: nothing sleeps.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

import pytest
from botocore.stub import ANY
from stackset_support import ACCOUNT, BOOTSTRAP, DR, PADDING_BYTES, PRIMARY, REGIONAL, region_values, regional_template

from ops.artifacts import TemplateStore, compact, inline
from ops.errors import EXIT_PROBLEM, OpsError
from ops.operations import HEARTBEAT_SECONDS, POLL_SECONDS, StackSets
from ops.stacksets import Roles, deploy_stack_set

STARTED = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
ROLES = Roles(administration_arn=f"arn:aws:iam::{ACCOUNT}:role/admin", execution_name="execution")
EXACT_PREFERENCES = {"RegionConcurrencyType": "SEQUENTIAL", "MaxConcurrentCount": 1, "FailureToleranceCount": 0}


def _parameters(region):
    return [{"ParameterKey": key, "ParameterValue": value} for key, value in sorted(region_values()[region].items())]


def _operation(operation_id, status, action="CREATE", **extra):
    return {
        "StackSetOperation": {
            "OperationId": operation_id,
            "Action": action,
            "Status": status,
            "CreationTimestamp": STARTED,
            **extra,
        }
    }


def _results(*results):
    return {
        "Summaries": [
            {"Account": ACCOUNT, "Region": region, "Status": status, **({"StatusReason": reason} if reason else {})}
            for region, status, reason in results
        ]
    }


def _expect_operation(cloudformation, stack_set, operation_id, *polls):
    """One describe + results pair per poll: (operation status, [(region, status, reason)])."""
    for status, results in polls:
        cloudformation.add_response(
            "describe_stack_set_operation",
            _operation(operation_id, status),
            {"StackSetName": stack_set, "OperationId": operation_id},
        )
        cloudformation.add_response(
            "list_stack_set_operation_results",
            _results(*results),
            {"StackSetName": stack_set, "OperationId": operation_id},
        )


def _stack_sets(stubbed, lines, fake_clock, **options):
    return StackSets(stubbed.aws, lines.append, fake_clock.clock, **options)


def test_a_new_stack_set_with_parameters_is_created_primary_first_one_region_per_operation(
    stubbed, dr_templates, fake_clock
):
    cloudformation = stubbed.stub("cloudformation")
    spec = dr_templates.stack_sets[1]
    template = dr_templates.template(spec)
    cloudformation.add_client_error(
        "describe_stack_set", "StackSetNotFoundException", expected_params={"StackSetName": REGIONAL}
    )
    cloudformation.add_response(
        "create_stack_set",
        {"StackSetId": f"{REGIONAL}:1"},
        {
            "StackSetName": REGIONAL,
            "PermissionModel": "SELF_MANAGED",
            "TemplateBody": compact(template),
            "Parameters": _parameters(PRIMARY),
            "Capabilities": ["CAPABILITY_IAM"],
            "AdministrationRoleARN": ROLES.administration_arn,
            "ExecutionRoleName": ROLES.execution_name,
            "ManagedExecution": {"Active": True},
        },
    )
    for region in (PRIMARY, DR):
        cloudformation.add_response(
            "create_stack_instances",
            {"OperationId": f"create-{region}"},
            {
                "StackSetName": REGIONAL,
                "Accounts": [ACCOUNT],
                "Regions": [region],
                "ParameterOverrides": _parameters(region),
                "OperationPreferences": {**EXACT_PREFERENCES, "RegionOrder": [region]},
            },
        )
        _expect_operation(cloudformation, REGIONAL, f"create-{region}", ("SUCCEEDED", [(region, "SUCCEEDED", None)]))
    lines: list[str] = []

    changed = deploy_stack_set(
        _stack_sets(stubbed, lines, fake_clock), dr_templates, spec, region_values(), inline, ROLES
    )

    assert changed is True
    stubbed.verify()


def test_a_stack_set_without_parameters_creates_both_regions_in_one_ordered_operation(
    stubbed, dr_templates, fake_clock
):
    cloudformation = stubbed.stub("cloudformation")
    spec = dr_templates.stack_sets[0]
    cloudformation.add_client_error("describe_stack_set", "StackSetNotFoundException")
    cloudformation.add_response(
        "create_stack_set",
        {"StackSetId": f"{BOOTSTRAP}:1"},
        {
            "StackSetName": BOOTSTRAP,
            "PermissionModel": "SELF_MANAGED",
            "TemplateBody": ANY,
            "Parameters": [],
            "Capabilities": [],
            "AdministrationRoleARN": ROLES.administration_arn,
            "ExecutionRoleName": ROLES.execution_name,
            "ManagedExecution": {"Active": True},
        },
    )
    cloudformation.add_response(
        "create_stack_instances",
        {"OperationId": "create"},
        {
            "StackSetName": BOOTSTRAP,
            "Accounts": [ACCOUNT],
            "Regions": [PRIMARY, DR],
            "OperationPreferences": {**EXACT_PREFERENCES, "RegionOrder": [PRIMARY, DR]},
        },
    )
    _expect_operation(
        cloudformation, BOOTSTRAP, "create", ("SUCCEEDED", [(PRIMARY, "SUCCEEDED", None), (DR, "SUCCEEDED", None)])
    )

    deploy_stack_set(_stack_sets(stubbed, [], fake_clock), dr_templates, spec, {PRIMARY: {}, DR: {}}, inline, ROLES)

    stubbed.verify()


def _existing(cloudformation, template, status=("CURRENT", "CURRENT"), regions=(PRIMARY, DR), overrides_read=None):
    cloudformation.add_response(
        "describe_stack_set",
        {
            "StackSet": {
                "StackSetName": REGIONAL,
                "TemplateBody": compact(template),
                "Parameters": _parameters(PRIMARY),
                "AdministrationRoleARN": ROLES.administration_arn,
                "ExecutionRoleName": ROLES.execution_name,
            }
        },
    )
    cloudformation.add_response(
        "list_stack_instances",
        {
            "Summaries": [
                {"Account": ACCOUNT, "Region": region, "Status": instance_status}
                for region, instance_status in zip(regions, status)
            ]
        },
        {"StackSetName": REGIONAL, "StackInstanceAccount": ACCOUNT},
    )
    for region in regions if overrides_read is None else overrides_read:
        cloudformation.add_response(
            "describe_stack_instance",
            {"StackInstance": {"Account": ACCOUNT, "Region": region, "ParameterOverrides": _parameters(region)}},
            {"StackSetName": REGIONAL, "StackInstanceAccount": ACCOUNT, "StackInstanceRegion": region},
        )


def _expect_instances(cloudformation, method, region):
    cloudformation.add_response(
        method,
        {"OperationId": f"{method}-{region}"},
        {
            "StackSetName": REGIONAL,
            "Accounts": [ACCOUNT],
            "Regions": [region],
            "ParameterOverrides": _parameters(region),
            "OperationPreferences": {**EXACT_PREFERENCES, "RegionOrder": [region]},
        },
    )
    _expect_operation(cloudformation, REGIONAL, f"{method}-{region}", ("SUCCEEDED", [(region, "SUCCEEDED", None)]))


def _expect_update_stack_set(cloudformation, template, region=PRIMARY):
    cloudformation.add_response(
        "update_stack_set",
        {"OperationId": "update"},
        {
            "StackSetName": REGIONAL,
            "TemplateBody": compact(template),
            "Parameters": _parameters(PRIMARY),
            "Capabilities": ["CAPABILITY_IAM"],
            "AdministrationRoleARN": ROLES.administration_arn,
            "ExecutionRoleName": ROLES.execution_name,
            "ManagedExecution": {"Active": True},
            "Accounts": [ACCOUNT],
            "Regions": [region],
            "OperationPreferences": {**EXACT_PREFERENCES, "RegionOrder": [region]},
        },
    )
    _expect_operation(cloudformation, REGIONAL, "update", ("SUCCEEDED", [(region, "SUCCEEDED", None)]))


def test_a_changed_template_updates_the_primary_through_the_stack_set_then_the_dr_region_with_its_values(
    stubbed, dr_templates, code_key, fake_clock
):
    cloudformation = stubbed.stub("cloudformation")
    spec = dr_templates.stack_sets[1]
    _existing(cloudformation, regional_template(code_key) | {"Description": "before"})
    _expect_update_stack_set(cloudformation, dr_templates.template(spec))
    _expect_instances(cloudformation, "update_stack_instances", DR)

    assert deploy_stack_set(_stack_sets(stubbed, [], fake_clock), dr_templates, spec, region_values(), inline, ROLES)
    stubbed.verify()


def test_limited_to_the_dr_region_a_changed_template_reaches_the_dr_instance_only(stubbed, dr_templates, code_key, fake_clock):
    """Issue 11.6: with the primary region down, the DR instance alone is updated (its own
    overrides kept); the stack set keeps the primary's values; the primary is not called."""
    cloudformation = stubbed.stub("cloudformation")
    spec = dr_templates.stack_sets[1]
    # Only the DR instance's overrides are read (unchanged); the primary's instance is listed, not touched.
    _existing(cloudformation, regional_template(code_key) | {"Description": "before"}, overrides_read=(DR,))
    _expect_update_stack_set(cloudformation, dr_templates.template(spec), region=DR)

    assert deploy_stack_set(_stack_sets(stubbed, [], fake_clock), dr_templates, spec, region_values(), inline, ROLES, only_region=DR)
    stubbed.verify()


def test_a_missing_primary_instance_is_created_before_the_stack_set_update_reaches_any_region(
    stubbed, dr_templates, code_key, fake_clock
):
    cloudformation = stubbed.stub("cloudformation")
    spec = dr_templates.stack_sets[1]
    _existing(cloudformation, regional_template(code_key) | {"Description": "before"}, ("CURRENT",), (DR,))
    _expect_instances(cloudformation, "create_stack_instances", PRIMARY)
    _expect_update_stack_set(cloudformation, dr_templates.template(spec))
    _expect_instances(cloudformation, "update_stack_instances", DR)

    assert deploy_stack_set(_stack_sets(stubbed, [], fake_clock), dr_templates, spec, region_values(), inline, ROLES)
    stubbed.verify()


def test_an_outdated_instance_is_brought_current_even_when_nothing_else_changed(stubbed, dr_templates, fake_clock):
    cloudformation = stubbed.stub("cloudformation")
    spec = dr_templates.stack_sets[1]
    _existing(cloudformation, dr_templates.template(spec), status=("CURRENT", "OUTDATED"))
    _expect_instances(cloudformation, "update_stack_instances", DR)

    assert deploy_stack_set(_stack_sets(stubbed, [], fake_clock), dr_templates, spec, region_values(), inline, ROLES)
    stubbed.verify()


def test_nothing_changed_is_no_operation_and_said(stubbed, dr_templates, fake_clock):
    cloudformation = stubbed.stub("cloudformation")
    spec = dr_templates.stack_sets[1]
    _existing(cloudformation, dr_templates.template(spec))
    lines: list[str] = []

    changed = deploy_stack_set(
        _stack_sets(stubbed, lines, fake_clock), dr_templates, spec, region_values(), inline, ROLES
    )

    assert changed is False
    assert lines == [f"{REGIONAL}: unchanged (template, parameters and 2 instance(s)); nothing to do"]
    stubbed.verify()


def test_a_template_over_the_inline_limit_is_uploaded_once_and_sent_by_url(stubbed, code_key):
    s3 = stubbed.stub("s3")
    big = regional_template(code_key, padding=PADDING_BYTES)
    body = compact(big).encode("utf-8")
    key = f"templates/{REGIONAL}-{hashlib.sha256(body).hexdigest()}.json"
    s3.add_client_error("head_object", "404", http_status_code=404, expected_params={"Bucket": "bucket", "Key": key})
    s3.add_response("put_object", {}, {"Bucket": "bucket", "Key": key, "Body": body, "ContentType": "application/json"})
    s3.add_response("head_object", {"ContentLength": len(body)}, {"Bucket": "bucket", "Key": key})
    store = TemplateStore(stubbed.aws, "bucket")
    url = f"{stubbed.aws.client('s3').meta.endpoint_url}/bucket/{key}"

    assert store.location(REGIONAL, big) == {"TemplateURL": url}
    assert store.location(REGIONAL, big) == {"TemplateURL": url}, "the second time finds it and uploads nothing"
    assert store.location(REGIONAL, {"Resources": {}}) == {"TemplateBody": '{"Resources":{}}'}
    stubbed.verify()


def test_a_template_over_the_inline_limit_before_any_bucket_exists_is_refused(code_key):
    with pytest.raises(OpsError, match="over the 51200 CloudFormation accepts inline"):
        inline(BOOTSTRAP, regional_template(code_key, padding=PADDING_BYTES))


def _stack(stack_id, status):
    return {"Stacks": [{"StackId": stack_id, "StackName": "stack", "CreationTime": STARTED, "StackStatus": status}]}


@pytest.mark.parametrize("status", ["ROLLBACK_COMPLETE", "ROLLBACK_FAILED"])
def test_a_failed_operation_reports_each_regions_reason_and_the_stack_events_behind_it(stubbed, fake_clock, status):
    """A stack left ROLLBACK_FAILED (StackSets cannot update it) also gets the way out, step by step."""
    cloudformation = stubbed.stub("cloudformation")
    events = stubbed.stub("cloudformation", DR)
    cloudformation.add_response("create_stack_instances", {"OperationId": "create"})
    cloudformation.add_response(
        "describe_stack_set_operation", _operation("create", "FAILED", StatusReason="The operation failed in 1 region")
    )
    cloudformation.add_response(
        "list_stack_set_operation_results",
        _results(
            (DR, "FAILED", "ResourceLogicalId:DbCluster, ResourceType:AWS::RDS::DBCluster"),
            (PRIMARY, "CANCELLED", "Cancelled"),
        ),
    )
    stack_id = f"arn:aws:cloudformation:{DR}:{ACCOUNT}:stack/StackSet-{REGIONAL}-1/1"
    cloudformation.add_response(
        "describe_stack_instance",
        {"StackInstance": {"Account": ACCOUNT, "Region": DR, "StackId": stack_id}},
        {"StackSetName": REGIONAL, "StackInstanceAccount": ACCOUNT, "StackInstanceRegion": DR},
    )

    def event(minutes, logical_id, status, reason):
        return {
            "StackId": stack_id,
            "EventId": f"{logical_id}-{minutes}",
            "StackName": "stack",
            "LogicalResourceId": logical_id,
            "ResourceType": "AWS::RDS::DBCluster" if logical_id == "DbCluster" else "AWS::EC2::VPC",
            "ResourceStatus": status,
            "ResourceStatusReason": reason,
            "Timestamp": STARTED + timedelta(minutes=minutes),
        }

    events.add_response(
        "describe_stack_events",
        {
            "StackEvents": [  # newest first, as CloudFormation returns them
                event(3, "Vpc", "CREATE_FAILED", "Resource creation cancelled"),
                event(2, "DbCluster", "CREATE_FAILED", "The global cluster does not exist"),
                event(1, "DbCluster", "CREATE_IN_PROGRESS", ""),
                event(-60, "Vpc", "UPDATE_FAILED", "an old failure, before this operation"),
            ]
        },
        {"StackName": stack_id},
    )
    events.add_response("describe_stacks", _stack(stack_id, status), {"StackName": stack_id})

    with pytest.raises(OpsError) as failure:
        _stack_sets(stubbed, [], fake_clock).run(
            "create_stack_instances", REGIONAL, "regional create", Accounts=[ACCOUNT], Regions=[DR]
        )

    help_lines = (
        [
            f"  the stack in {DR} is ROLLBACK_FAILED: its first create failed and the rollback could not delete "
            'everything it created; StackSets cannot update it. To recover (docs/operating.md "The first deploy", "When it fails"):',
            f"    1. what was not deleted: aws cloudformation describe-stack-events --region {DR} --stack-name {stack_id} "
            "(its DELETE_FAILED events)",
            "    2. remove what stopped each deletion (deletion protection, a bucket that is not empty, a DR cluster "
            "still in the global database), as docs/operating.md says",
            f"    3. aws cloudformation delete-stack-instances --region {PRIMARY} --stack-set-name {REGIONAL} "
            f"--accounts {ACCOUNT} --regions {DR} --no-retain-stacks",
            "    4. build.py deploy again",
        ]
        if status == "ROLLBACK_FAILED"
        else []
    )
    assert str(failure.value) == "regional create: operation create FAILED"
    assert failure.value.exit_status == EXIT_PROBLEM
    assert failure.value.details == [
        "operation: The operation failed in 1 region",
        f"{DR}: FAILED: ResourceLogicalId:DbCluster, ResourceType:AWS::RDS::DBCluster",
        "  DbCluster (AWS::RDS::DBCluster) CREATE_FAILED: The global cluster does not exist",
        "  Vpc (AWS::EC2::VPC) CREATE_FAILED: Resource creation cancelled",
        *help_lines,
        f"{PRIMARY}: CANCELLED: Cancelled",
    ]
    stubbed.verify()


def _busy(cloudformation):
    cloudformation.add_client_error(
        "create_stack_instances", "OperationInProgressException", "Another Operation on StackSet is in progress"
    )
    cloudformation.add_response(
        "list_stack_set_operations",
        {
            "Summaries": [
                {"OperationId": "theirs", "Action": "UPDATE", "Status": "RUNNING"},
                {"OperationId": "older", "Action": "CREATE", "Status": "SUCCEEDED"},
            ]
        },
        {"StackSetName": REGIONAL},
    )


def test_an_operation_in_progress_is_waited_for_then_ours_starts(stubbed, fake_clock):
    cloudformation = stubbed.stub("cloudformation")
    _busy(cloudformation)
    _expect_operation(
        cloudformation,
        REGIONAL,
        "theirs",
        ("RUNNING", [(PRIMARY, "RUNNING", None)]),
        ("SUCCEEDED", [(PRIMARY, "SUCCEEDED", None)]),
    )
    cloudformation.add_response(
        "create_stack_instances", {"OperationId": "ours"}, {"StackSetName": REGIONAL, "Regions": [DR]}
    )
    _expect_operation(cloudformation, REGIONAL, "ours", ("SUCCEEDED", [(DR, "SUCCEEDED", None)]))
    lines: list[str] = []

    _stack_sets(stubbed, lines, fake_clock).run("create_stack_instances", REGIONAL, "regional create", Regions=[DR])

    assert lines[0] == f"{REGIONAL} is busy with operation theirs (UPDATE, RUNNING); waiting for it to finish first"
    assert f"  {REGIONAL} (running before us) {PRIMARY}: SUCCEEDED ({POLL_SECONDS}s)" in lines
    assert lines[-1] == "regional create: SUCCEEDED after 0s"
    assert fake_clock.sleeps == [POLL_SECONDS]
    stubbed.verify()


def test_an_operation_in_progress_is_reported_with_how_to_stop_it_when_waiting_is_not_wanted(stubbed, fake_clock):
    cloudformation = stubbed.stub("cloudformation")
    _busy(cloudformation)

    with pytest.raises(OpsError) as failure:
        _stack_sets(stubbed, [], fake_clock, wait_when_busy=False).run(
            "create_stack_instances", REGIONAL, "regional create", Regions=[DR]
        )

    assert str(failure.value).startswith(f"{REGIONAL} is busy with operation theirs (UPDATE, RUNNING);")
    assert f"stop-stack-set-operation --region {PRIMARY} --stack-set-name {REGIONAL} --operation-id theirs" in str(
        failure.value
    )
    assert fake_clock.sleeps == []
    stubbed.verify()


def test_an_operation_that_outlasts_the_timeout_is_given_up_with_how_to_follow_it(stubbed, fake_clock):
    cloudformation = stubbed.stub("cloudformation")
    cloudformation.add_response("create_stack_instances", {"OperationId": "slow"})
    polls = int(2 * HEARTBEAT_SECONDS / POLL_SECONDS) + 1
    _expect_operation(cloudformation, REGIONAL, "slow", *[("RUNNING", [(PRIMARY, "RUNNING", None)])] * polls)
    lines: list[str] = []

    with pytest.raises(OpsError) as failure:
        _stack_sets(stubbed, lines, fake_clock, timeout_seconds=2 * HEARTBEAT_SECONDS).run(
            "create_stack_instances", REGIONAL, "regional create", Regions=[PRIMARY]
        )

    assert str(failure.value).startswith("regional create: gave up after 2m 00s; operation slow is still RUNNING")
    assert f"describe-stack-set-operation --region {PRIMARY} --stack-set-name {REGIONAL} --operation-id slow" in str(
        failure.value
    )
    # Live progress: the status when it appeared, then a heartbeat with the elapsed time each minute.
    assert [line for line in lines if line.startswith("  ")] == [
        f"  regional create {PRIMARY}: RUNNING (0s)",
        f"  regional create {PRIMARY}: RUNNING (1m 00s)",
        f"  regional create {PRIMARY}: RUNNING (2m 00s)",
    ]
    assert fake_clock.sleeps == [POLL_SECONDS] * (polls - 1)
    stubbed.verify()


def test_an_output_of_another_stack_set_is_read_from_its_stack_in_that_region(stubbed, fake_clock):
    cloudformation = stubbed.stub("cloudformation")
    regional_dr = stubbed.stub("cloudformation", DR)
    stack_id = f"arn:aws:cloudformation:{DR}:{ACCOUNT}:stack/StackSet-{REGIONAL}-1/1"
    for _ in range(2):
        cloudformation.add_response("describe_stack_instance", {"StackInstance": {"StackId": stack_id}})
        regional_dr.add_response(
            "describe_stacks",
            {
                "Stacks": [
                    {
                        "StackName": "stack",
                        "CreationTime": STARTED,
                        "StackStatus": "CREATE_COMPLETE",
                        "Outputs": [{"OutputKey": "HealthCheckId", "OutputValue": "abc-123"}],
                    }
                ]
            },
            {"StackName": stack_id},
        )
    stack_sets = _stack_sets(stubbed, [], fake_clock)

    assert stack_sets.output(REGIONAL, DR, "HealthCheckId") == "abc-123"
    with pytest.raises(OpsError, match=f"the stack in {DR} has no output 'Missing'"):
        stack_sets.output(REGIONAL, DR, "Missing")
    stubbed.verify()


def test_an_instance_whose_stack_is_rollback_failed_is_refused_with_the_way_out_before_any_operation(
    stubbed, dr_templates, fake_clock
):
    """StackSets cannot update a ROLLBACK_FAILED stack: say so and how to recover, send nothing."""
    cloudformation = stubbed.stub("cloudformation")
    spec = dr_templates.stack_sets[1]
    cloudformation.add_response(
        "describe_stack_set",
        {"StackSet": {"StackSetName": REGIONAL, "TemplateBody": compact(dr_templates.template(spec)), "Parameters": _parameters(PRIMARY)}},
    )
    summaries = [
        {"Account": ACCOUNT, "Region": PRIMARY, "Status": "CURRENT"},
        {"Account": ACCOUNT, "Region": DR, "Status": "OUTDATED", "StackInstanceStatus": {"DetailedStatus": "FAILED"}},
    ]
    cloudformation.add_response("list_stack_instances", {"Summaries": summaries})
    stack_id = f"arn:aws:cloudformation:{DR}:{ACCOUNT}:stack/StackSet-{REGIONAL}-1/1"
    cloudformation.add_response(
        "describe_stack_instance",
        {"StackInstance": {"Account": ACCOUNT, "Region": DR, "StackId": stack_id}},
        {"StackSetName": REGIONAL, "StackInstanceAccount": ACCOUNT, "StackInstanceRegion": DR},
    )
    stubbed.stub("cloudformation", DR).add_response("describe_stacks", _stack(stack_id, "ROLLBACK_FAILED"), {"StackName": stack_id})

    with pytest.raises(OpsError) as refused:
        deploy_stack_set(_stack_sets(stubbed, [], fake_clock), dr_templates, spec, region_values(), inline, ROLES)

    assert str(refused.value) == f"{REGIONAL}: the stack instance in {DR} cannot be deployed: its stack is ROLLBACK_FAILED"
    assert f"--stack-set-name {REGIONAL} --accounts {ACCOUNT} --regions {DR} --no-retain-stacks" in refused.value.details[3]
    stubbed.verify()


@pytest.mark.parametrize(
    "stack_status, unprotected",
    [("ROLLBACK_COMPLETE", True), ("UPDATE_ROLLBACK_COMPLETE", False)],
)
def test_a_retried_failed_create_is_still_a_first_create_but_a_failed_update_keeps_protection(
    stubbed, dr_templates, fake_clock, stack_status, unprotected
):
    """The DR instance's last operation failed: a create that rolled back (nothing ever served)
    is retried unprotected; an instance that once succeeded keeps its protection."""
    from dataclasses import replace

    from ops.deploy import _first_create

    cloudformation = stubbed.stub("cloudformation")
    spec = replace(dr_templates.stack_sets[1], first_create_parameters={"QueueRetentionSeconds": "60"})
    cloudformation.add_response("describe_stack_set", {"StackSet": {"StackSetName": REGIONAL}})
    summaries = [
        {"Account": ACCOUNT, "Region": PRIMARY, "Status": "CURRENT"},
        {"Account": ACCOUNT, "Region": DR, "Status": "OUTDATED", "StackInstanceStatus": {"DetailedStatus": "FAILED"}},
    ]
    cloudformation.add_response("list_stack_instances", {"Summaries": summaries})
    stack_id = f"arn:aws:cloudformation:{DR}:{ACCOUNT}:stack/StackSet-{REGIONAL}-1/1"
    cloudformation.add_response("describe_stack_instance", {"StackInstance": {"Account": ACCOUNT, "Region": DR, "StackId": stack_id}})
    stubbed.stub("cloudformation", DR).add_response("describe_stacks", _stack(stack_id, stack_status), {"StackName": stack_id})

    first = _first_create(_stack_sets(stubbed, [], fake_clock), spec, region_values(), [PRIMARY, DR])

    assert first[PRIMARY] == region_values()[PRIMARY], "created and CURRENT: protected"
    assert (first[DR]["QueueRetentionSeconds"] == "60") is unprotected
    stubbed.verify()


@pytest.mark.parametrize("stack_status", ["ROLLBACK_COMPLETE", None])
def test_an_instance_whose_first_create_rolled_back_is_deleted_then_created_again(
    stubbed, dr_templates, fake_clock, stack_status
):
    """A ROLLBACK_COMPLETE stack takes only a delete (CloudFormation's stack status codes): the
    instance goes with its empty stack, then is created again; no update is ever sent to it."""
    cloudformation = stubbed.stub("cloudformation")
    spec = dr_templates.stack_sets[1]
    cloudformation.add_response(
        "describe_stack_set",
        {
            "StackSet": {
                "StackSetName": REGIONAL,
                "TemplateBody": compact(dr_templates.template(spec)),
                "Parameters": _parameters(PRIMARY),
                "AdministrationRoleARN": ROLES.administration_arn,
                "ExecutionRoleName": ROLES.execution_name,
            }
        },
    )
    summaries = [
        {"Account": ACCOUNT, "Region": PRIMARY, "Status": "CURRENT"},
        {"Account": ACCOUNT, "Region": DR, "Status": "OUTDATED", "StackInstanceStatus": {"DetailedStatus": "FAILED"}},
    ]
    cloudformation.add_response("list_stack_instances", {"Summaries": summaries})
    stack_id = f"arn:aws:cloudformation:{DR}:{ACCOUNT}:stack/StackSet-{REGIONAL}-1/1"
    instance = {"Account": ACCOUNT, "Region": DR, **({"StackId": stack_id} if stack_status else {})}
    where = {"StackSetName": REGIONAL, "StackInstanceAccount": ACCOUNT, "StackInstanceRegion": DR}
    cloudformation.add_response("describe_stack_instance", {"StackInstance": instance}, where)
    if stack_status:
        stubbed.stub("cloudformation", DR).add_response("describe_stacks", _stack(stack_id, stack_status), {"StackName": stack_id})
    cloudformation.add_response(
        "delete_stack_instances",
        {"OperationId": "delete-dr"},
        {
            "StackSetName": REGIONAL,
            "Accounts": [ACCOUNT],
            "Regions": [DR],
            "RetainStacks": False,
            "OperationPreferences": {**EXACT_PREFERENCES, "RegionOrder": [DR]},
        },
    )
    _expect_operation(cloudformation, REGIONAL, "delete-dr", ("SUCCEEDED", [(DR, "SUCCEEDED", None)]))
    cloudformation.add_response(
        "describe_stack_instance",
        {"StackInstance": {"Account": ACCOUNT, "Region": PRIMARY, "ParameterOverrides": _parameters(PRIMARY)}},
        {**where, "StackInstanceRegion": PRIMARY},
    )
    _expect_instances(cloudformation, "create_stack_instances", DR)
    lines: list[str] = []

    assert deploy_stack_set(_stack_sets(stubbed, lines, fake_clock), dr_templates, spec, region_values(), inline, ROLES)
    assert f"{REGIONAL}: the stack instance in {DR} never got past its first create; deleting it to create it again" in lines
    stubbed.verify()
