"""Fixtures for the runbook functions: the emulator, stubbed RDS, recorded calls, runtimes."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import boto3
import pytest
import requests
from botocore.stub import Stubber
from moto.server import ThreadedMotoServer

from lambda_support import _ENDPOINT, CFG, CLUSTER, REGION, REPORT_BUCKET, RESOURCE_ID, SERVICE, TABLE, Calls, aws_client, running_in_report_state
from templates import dns, runbook
from runbook.runtime import RETRY_CONFIG, Budget, Runtime


@pytest.fixture(scope="session")
def moto_server():
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    _ENDPOINT[:] = [f"http://{host}:{port}"]
    yield _ENDPOINT[0]
    server.stop()


@pytest.fixture()
def aws(moto_server, monkeypatch):
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"), ("AWS_DEFAULT_REGION", REGION)):
        monkeypatch.setenv(name, value)
    requests.post(f"{moto_server}/moto-api/reset", timeout=10).raise_for_status()
    aws_client("dynamodb").create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


@pytest.fixture()
def execution(aws, monkeypatch):
    """A runbook execution in the emulator, failed in "A State" (the runtime's clients read it as
    still running there: ``running_in_report_state``), and this region's report bucket."""
    monkeypatch.setenv("SF_EXECUTION_HISTORY_TYPE", "FAILURE")
    sfn = aws_client("stepfunctions")
    machine = sfn.create_state_machine(
        name="runbook", roleArn="arn:aws:iam::123456789012:role/sfn",
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
    )["stateMachineArn"]
    arn = sfn.start_execution(stateMachineArn=machine, name="f-1", input="{}")["executionArn"]
    aws_client("s3").create_bucket(Bucket=REPORT_BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    return arn


@pytest.fixture()
def calls():
    return Calls()


@pytest.fixture()
def rds():
    """A stubbed RDS client: every response must be queued; an unexpected call fails the test."""
    client = boto3.client("rds", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


@pytest.fixture()
def make_runtime(calls, rds) -> Callable[..., Runtime]:
    rds_client, _ = rds

    def factory(service, region=None):
        client = rds_client if service == "rds" else aws_client(service, region, config=RETRY_CONFIG)
        if service == "stepfunctions":
            running_in_report_state(client)
        calls.record(client)
        return client

    def build(step: str, settings: dict[str, str], failover_id: str = "failover-1", remaining_ms: int = 60_000) -> Runtime:
        return Runtime(
            settings={
                "IDEMPOTENCY_TABLE": TABLE, "AWS_REGION": REGION, "REGION_ROLE": "secondary",
                "LEASE_SECONDS": str(runbook.timing(CFG)["lease_seconds"]), **settings,
            },
            budget=Budget(remaining_ms=lambda: remaining_ms),
            failover_id=failover_id,
            step=step,
            client_factory=factory,
        )

    return build


@pytest.fixture()
def standby_service(aws):
    """The DR service as deployed: warm standby, autoscaling minimum at the standby count."""
    ecs = aws_client("ecs")
    ecs.create_cluster(clusterName=CLUSTER)
    ecs.register_task_definition(family="app", containerDefinitions=[{"name": "app", "image": "app:1", "memory": 512}])
    ecs.create_service(cluster=CLUSTER, serviceName=SERVICE, taskDefinition="app", desiredCount=CFG.app.dr_desired_count)
    aws_client("application-autoscaling").register_scalable_target(
        ServiceNamespace="ecs", ResourceId=RESOURCE_ID, ScalableDimension="ecs:service:DesiredCount",
        MinCapacity=CFG.app.dr_desired_count, MaxCapacity=CFG.app.max_count,
    )
    return ecs


@pytest.fixture()
def switch_alarm(aws):
    timing = dns.timing(CFG)["switch"]
    cloudwatch = aws_client("cloudwatch", timing["alarm_region"])
    cloudwatch.put_metric_alarm(
        AlarmName=timing["alarm_name"], Namespace=timing["namespace"], MetricName=timing["metric"], Statistic="Maximum",
        Period=60, EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    cloudwatch.set_alarm_state(AlarmName=timing["alarm_name"], StateValue="OK", StateReason="released")
    return cloudwatch, timing
