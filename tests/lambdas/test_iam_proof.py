"""Each runbook function's role allows exactly the AWS calls its code makes.

The calls are recorded while the functions run every path (planned and unplanned
promotion, scaling up, throwing the switch, reporting, the gate, and the idempotency
record's success, duplicate and failure paths); the actions come from the rendered
template's roles. Statements marked ``Runtime`` serve the Lambda runtime, not the code.
"""

from __future__ import annotations

import json

import pytest
from botocore.stub import ANY

from lambda_support import CFG, CLUSTER, MOTO_REPORT_STATE, PEER, REGION, REPORT_SETTINGS, SERVICE, aws_client, inject_errors
from runbook.runtime import MAX_ATTEMPTS
from runbook import (
    admit_automatic_run, check_capacity, idempotency, notify, promote_database, scale_service, switch_traffic, verify_traffic,
    wait_for_writer, write_report,
)
from template_support import resolve
from templates import runbook
from templates.render import render
from test_promote_database import GLOBAL_ID, LOCAL_ID, PEER_ARN, SETTINGS, expect_describe, expect_promotable
from test_steps import NOTIFY_SETTINGS, SCALE_SETTINGS, _switch_settings

IDEMPOTENCY_ACTIONS = {"dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}


@pytest.fixture(scope="module")
def roles():
    resolved = resolve(json.loads(render(CFG)["regional.json"]), CFG, REGION)
    return {step: resolved["Resources"][f"{runbook.logical_id(step)}Role"]["Properties"] for step in runbook.STEPS}


def policy_actions(role: dict) -> set[str]:
    return {
        action
        for policy in role["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
        if not statement["Sid"].startswith("Runtime")
        for action in statement["Action"]
    }


# botocore names a few services differently from IAM.
IAM_PREFIX = {"elbv2": "elasticloadbalancing", "stepfunctions": "states"}


def code_actions(calls) -> set[str]:
    return {f"{IAM_PREFIX.get(service, service)}:{operation}" for service, operation in calls.made}


def test_idempotency_record_uses_exactly_its_four_actions(aws, make_runtime, calls):
    runtime = make_runtime("probe", {})
    idempotency.once(runtime, lambda: {"done": True})  # claim and complete
    idempotency.once(runtime, lambda: {"done": True})  # duplicate: reads the record
    with pytest.raises(RuntimeError):
        idempotency.once(make_runtime("probe", {}, "other"), lambda: (_ for _ in ()).throw(RuntimeError("boom")))  # released
    assert code_actions(calls) == IDEMPOTENCY_ACTIONS


def run_promote(make_runtime, rds):
    _, stubber = rds
    for event, operation in (({"mode": "planned"}, "switchover_global_cluster"), ({"mode": "unplanned", "accept_data_loss": True}, "failover_global_cluster")):
        expect_promotable(stubber)
        stubber.add_response(operation, {"GlobalCluster": {}}, {"GlobalClusterIdentifier": GLOBAL_ID, "TargetDbClusterIdentifier": ANY, **({"AllowDataLoss": True} if "accept_data_loss" in event else {})})
        promote_database.run({"failover_id": operation, **event}, make_runtime(promote_database.STEP, SETTINGS, operation))


def run_wait(make_runtime, rds):
    _, stubber = rds
    expect_describe(stubber, writer=PEER_ARN)
    stubber.add_response("describe_db_clusters", {"DBClusters": [{"Status": "available"}]}, {"DBClusterIdentifier": LOCAL_ID})
    wait_for_writer.run({"failover_id": "f"}, make_runtime(wait_for_writer.STEP, SETTINGS))


def run_scale(make_runtime, rds, standby_service):
    scale_service.run({"failover_id": "f", "direction": "up"}, make_runtime(scale_service.STEP, SCALE_SETTINGS))
    # A fence whose old primary does not answer asks Route 53's checkers (moto: healthy, so refused).
    route53 = aws_client("route53")
    check = route53.create_health_check(
        CallerReference="primary", HealthCheckConfig={"Type": "HTTPS", "FullyQualifiedDomainName": "alb.example.com", "Port": 443, "ResourcePath": "/"},
    )["HealthCheck"]["Id"]
    route53.change_tags_for_resource(ResourceType="healthcheck", ResourceId=check, AddTags=[{"Key": "Name", "Value": "primary-alb"}])
    runtime = make_runtime(scale_service.STEP, {**SCALE_SETTINGS, "PEER_HEALTH_CHECK_NAME": "primary-alb", "PEER_HOSTS_ROUTE53_API": "true"}, "g")
    inject_errors(runtime.client("application-autoscaling", SCALE_SETTINGS["PEER_REGION"]), "DescribeScalableTargets", [(503, "ServiceUnavailable")] * MAX_ATTEMPTS)
    with pytest.raises(scale_service.FenceNotConfirmed):
        scale_service.run({"failover_id": "g", "direction": "fence"}, runtime)


def run_switch(make_runtime, rds, switch_alarm):
    """Publishes, then confirms (reads only)."""
    for event in ({"failover_id": "f"}, {"failover_id": "f", "confirm": True}):
        switch_traffic.run(event, make_runtime(switch_traffic.STEP, _switch_settings("secondary")))


def run_notify(make_runtime, rds):
    topic = aws_client("sns").create_topic(Name="alerts")["TopicArn"]
    notify.run({"failover_id": "f", "steps": {}}, make_runtime(notify.STEP, {"ALERTS_TOPIC_ARN": topic, **NOTIFY_SETTINGS}))


def run_capacity(make_runtime, rds):
    vpc = aws_client("ec2").create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    group = aws_client("elbv2").create_target_group(Name="app", Protocol="HTTP", Port=8080, VpcId=vpc, TargetType="ip")
    settings = {"TARGET_GROUP_ARN": group["TargetGroups"][0]["TargetGroupArn"], "CLUSTER_NAME": CLUSTER, "SERVICE_NAME": SERVICE, "PEER_REGION": PEER,
                "FENCE_DRAIN_SECONDS": str(runbook.FENCE_DRAIN_SECONDS)}
    check_capacity.run({"failover_id": "f"}, make_runtime(check_capacity.STEP, settings))
    # The fence: the old primary's service, in the peer region.
    peer_ecs = aws_client("ecs", PEER)
    peer_ecs.create_cluster(clusterName=CLUSTER)
    peer_ecs.register_task_definition(family="app", containerDefinitions=[{"name": "app", "image": "app:1", "memory": 512}])
    peer_ecs.create_service(cluster=CLUSTER, serviceName=SERVICE, taskDefinition="app", desiredCount=0)
    check_capacity.run({"failover_id": "f", "check": "fence", "fenced_at": 0}, make_runtime(check_capacity.STEP, settings))


def run_verify(make_runtime, rds):
    """From the DR region: finds the primary's check by its Name tag, reads its status metric."""
    route53 = aws_client("route53")
    check = route53.create_health_check(
        CallerReference="primary", HealthCheckConfig={"Type": "CALCULATED", "ChildHealthChecks": [], "HealthThreshold": 1},
    )["HealthCheck"]["Id"]
    route53.change_tags_for_resource(ResourceType="healthcheck", ResourceId=check, AddTags=[{"Key": "Name", "Value": "primary-record"}])
    settings = {"PRIMARY_HEALTH_CHECK_NAME": "primary-record", "ROUTE53_METRICS_REGION": CFG.route53_metrics_region}
    verify_traffic.run({"failover_id": "f", "since": 0}, make_runtime(verify_traffic.STEP, settings))


def run_admit(make_runtime, rds):
    """Finds the primary's check by its Name tag, reads Route 53's view, claims the interval."""
    route53 = aws_client("route53")
    check = route53.create_health_check(
        CallerReference="primary", HealthCheckConfig={"Type": "HTTPS", "FullyQualifiedDomainName": "alb.example.com", "Port": 443, "ResourcePath": "/"},
    )["HealthCheck"]["Id"]
    route53.change_tags_for_resource(ResourceType="healthcheck", ResourceId=check, AddTags=[{"Key": "Name", "Value": "primary-alb"}])
    settings = {"MIN_INTERVAL_SECONDS": "60", "PEER_HEALTH_CHECK_NAME": "primary-alb", "PEER_HOSTS_ROUTE53_API": "true"}
    # moto reports every check healthy (refused); Route 53 not answering from the primary's region admits.
    admit_automatic_run.run({"failover_id": "f", "trigger": "alarm"}, make_runtime(admit_automatic_run.STEP, settings, "f"))
    runtime = make_runtime(admit_automatic_run.STEP, settings, "g")
    inject_errors(runtime.client("route53"), "ListHealthChecks", [(503, "ServiceUnavailable")] * MAX_ATTEMPTS)
    assert admit_automatic_run.run({"failover_id": "g", "trigger": "alarm"}, runtime)["admitted"]


def run_write_report(make_runtime, rds, execution):
    """Reads its execution's history, writes the JSON and the HTML (the key is S3's to use)."""
    plan = {"phases": [], "after_serving": [], "rto_objective": 1, "rpo_objective": 1}
    event = {"failover_id": "f-1", "execution": execution, "outcome": "succeeded", "plan": plan, **MOTO_REPORT_STATE}
    write_report.run(event, make_runtime(write_report.STEP, REPORT_SETTINGS, "f-1"))


PROOFS = [
    ("promote_database", run_promote, ()),
    ("wait_for_writer", run_wait, ()),
    ("scale_service", run_scale, ("standby_service",)),
    ("check_capacity", run_capacity, ()),
    ("switch_traffic", run_switch, ("switch_alarm",)),
    ("verify_traffic", run_verify, ()),
    ("notify", run_notify, ()),
    ("write_report", run_write_report, ("execution",)),
    ("admit_automatic_run", run_admit, ()),
]


def test_every_step_has_its_role_proven():
    assert sorted(step for step, _, _ in PROOFS) == sorted(runbook.STEPS)


@pytest.mark.parametrize("step, scenario, fixtures", PROOFS)
def test_policy_allows_exactly_what_the_code_calls(step, scenario, fixtures, roles, aws, make_runtime, rds, calls, request):
    scenario(make_runtime, rds, *(request.getfixturevalue(name) for name in fixtures))
    called = code_actions(calls)
    allowed = policy_actions(roles[step])
    # The success path claims, completes; GetItem/DeleteItem are proven by the test above.
    if "dynamodb:UpdateItem" in called:
        called |= IDEMPOTENCY_ACTIONS
    assert called == allowed, f"{step}: code calls {sorted(called - allowed)} unallowed; policy allows {sorted(allowed - called)} unused"
