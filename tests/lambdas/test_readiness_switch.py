"""The thrown switch kept alive by readiness (issue 20, finding 10): a health check created or
replaced while the switch is thrown starts healthy, so the DR region's readiness republishes
the thrown position every period and is not ready when no point landed in two periods.
CloudWatch is moto; the settings are the ones ``ops/readiness.py`` builds (kept equal to the
template's by tests/ops)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import boto3
import pytest
from moto import mock_aws

from lambda_support import CFG
from ops.readiness import settings
from readiness import checks
from templates import dns
from templates.readiness import READINESS_FUNCTION

DR = CFG.dr_region
SWITCH = dns.timing(CFG)["switch"]


@pytest.fixture
def cloudwatch(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    with mock_aws():
        client = boto3.client("cloudwatch", region_name=DR)
        client.put_metric_alarm(
            AlarmName=SWITCH["alarm_name"], Namespace=SWITCH["namespace"], MetricName=SWITCH["metric"], Statistic="Maximum",
            Period=60, EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold",
        )
        yield client


def _context(region: str = DR) -> checks.Context:
    return checks.Context(settings=settings(CFG, region, "arn"), region=region,
                          client=lambda service, r: boto3.client(service, region_name=r))


def _throw(cloudwatch, minutes_ago: float) -> None:
    cloudwatch.set_alarm_state(AlarmName=SWITCH["alarm_name"], StateValue="ALARM", StateReason="thrown")
    cloudwatch.put_metric_data(Namespace=SWITCH["namespace"], MetricData=[{
        "MetricName": SWITCH["metric"], "Value": float(SWITCH["throw_value"]),
        "Timestamp": datetime.now(timezone.utc) - timedelta(minutes=minutes_ago),
    }])


def test_a_thrown_switch_with_recent_data_is_ready_and_republished(cloudwatch):
    _throw(cloudwatch, minutes_ago=1)
    facts = {"is_writer": True}
    finding = checks.switch_position(_context(), facts)
    assert finding.ready is True and facts["republish_switch"] is True


def test_a_thrown_switch_without_data_for_two_periods_is_not_ready(cloudwatch):
    _throw(cloudwatch, minutes_ago=2 * CFG.runbook.readiness_period_minutes + 3)
    finding = checks.switch_position(_context(), {"is_writer": True})
    assert finding.ready is False and "no data" in finding.observed


def test_a_released_switch_is_not_republished(cloudwatch):
    facts = {"is_writer": False}
    assert checks.switch_position(_context(), facts).ready is True
    assert "republish_switch" not in facts


def test_republishing_writes_the_thrown_value_to_the_switch_metric(cloudwatch):
    checks.republish_switch(_context())
    now = datetime.now(timezone.utc)
    values = cloudwatch.get_metric_statistics(
        Namespace=SWITCH["namespace"], MetricName=SWITCH["metric"], StartTime=now - timedelta(minutes=5),
        EndTime=now + timedelta(minutes=1), Period=60, Statistics=["Maximum"],
    )["Datapoints"]
    assert [point["Maximum"] for point in values] == [float(SWITCH["throw_value"])]


def test_the_readiness_role_may_republish_only_to_the_switch_namespace():
    import json

    from templates.render import render

    template = json.loads(render(CFG)["regional.json"])
    (role,) = [body for logical, body in template["Resources"].items() if logical.startswith(READINESS_FUNCTION) and body["Type"] == "AWS::IAM::Role"]
    statements = [s for p in role["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"] if s.get("Sid") == "RepublishThrownSwitch"]
    assert statements and statements[0]["Condition"] == {"StringEquals": {"cloudwatch:namespace": SWITCH["namespace"]}}
