"""Alerting: every alarm reaches this region's topic, lag alarms watch the RPO, topics are
scoped, and the peer region's alerts arrive here without any way back."""

from __future__ import annotations

import json
import re

import boto3
import pytest
from cloud_radar.cf.unit import Template as ResolvedTemplate
from moto import mock_aws

from template_support import resolve, resolve_health_alarms, resources_of_type
from templates import alerting, naming
from templates.config import AlertEndpoint, AlertsConfig, Config
from templates.render import render

ACCOUNT = ResolvedTemplate.AccountId


def _alarms(resolved: dict) -> dict[str, dict]:
    found = resources_of_type(resolved, "AWS::CloudWatch::Alarm")
    found.update(resources_of_type(resolved, "AWS::CloudWatch::CompositeAlarm"))
    return found


def test_every_alarm_notifies_this_regions_alerts_topic_on_alarm_and_ok(region_view):
    _, resolved = region_view
    alarms = _alarms(resolved)
    assert len(alarms) >= 13
    for name, alarm in alarms.items():
        props = alarm["Properties"]
        assert props["AlarmActions"] == ["AlertsTopic"], name
        assert props["OKActions"] == ["AlertsTopic"], name
        assert props["AlarmDescription"], name


def test_alarm_names_carry_the_project_and_the_region(cfg, region_view):
    region, resolved = region_view
    for alarm in _alarms(resolved).values():
        name = alarm["Properties"]["AlarmName"]
        assert name.startswith(naming.prefix(cfg)) and name.endswith(region)


def test_lag_alarms_watch_this_regions_cluster_below_the_rpo(cfg, region_view):
    _, resolved = region_view
    alarms = _alarms(resolved)
    metrics = {}
    for logical_id in (alerting.RPO_LAG_ALARM, alerting.REPLICATION_LAG_ALARM):
        props = alarms[logical_id]["Properties"]
        metrics[props["MetricName"]] = props
        assert props["Dimensions"] == [{"Name": "DBClusterIdentifier", "Value": "DbCluster"}]
        assert props["Threshold"] < cfg.objectives.rpo_seconds * 1000, "milliseconds, below the RPO"
        assert props["Threshold"] == cfg.objectives.rpo_seconds * 1000 * cfg.alerts.lag_alarm_fraction_of_rpo
        assert props["TreatMissingData"] == "notBreaching", "quiet where this region holds the writer"
    assert set(metrics) == {"AuroraGlobalDBRPOLag", "AuroraGlobalDBReplicationLag"}


def test_peer_impaired_composite_follows_the_lag_alarms(region_view):
    _, resolved = region_view
    rule = _alarms(resolved)[alerting.PEER_IMPAIRED_ALARM]["Properties"]["AlarmRule"]
    assert rule == 'ALARM("RpoLagAlarm") OR ALARM("ReplicationLagAlarm")'


def test_service_and_load_balancer_alarms_are_present_and_unit_correct(cfg, region_view):
    _, resolved = region_view
    metric_alarms = [a["Properties"] for a in resources_of_type(resolved, "AWS::CloudWatch::Alarm").values()]
    by_metric = {props.get("MetricName", "math"): props for props in metric_alarms}
    assert by_metric["TargetResponseTime"]["ExtendedStatistic"] == "p99"
    assert by_metric["TargetResponseTime"]["Threshold"] == cfg.alerts.p99_latency_seconds
    assert by_metric["FreeableMemory"]["Threshold"] == cfg.alerts.db_freeable_memory_mib * 1024 * 1024
    assert by_metric["FreeableMemory"]["ComparisonOperator"] == "LessThanThreshold"
    for metric in ("HTTPCode_ELB_5XX_Count", "HTTPCode_Target_5XX_Count", "UnHealthyHostCount", "CPUUtilization",
                   "MemoryUtilization", "DatabaseConnections"):
        assert metric in by_metric
    math = by_metric["math"]
    assert [m.get("Expression") for m in math["Metrics"] if m["ReturnData"]] == ["desired - running"]
    assert math["TreatMissingData"] == "breaching"


def test_topics_are_encrypted_and_publishing_is_restricted(cfg, region_view):
    region, resolved = region_view
    for topic in resources_of_type(resolved, "AWS::SNS::Topic").values():
        assert topic["Properties"]["KmsMasterKeyId"].startswith(f"arn:aws:kms:{region}:")
    policies = {list(p["Properties"]["Topics"])[0]: p["Properties"]["PolicyDocument"] for p in resources_of_type(resolved, "AWS::SNS::TopicPolicy").values()}
    alerts = {s["Sid"]: s for s in policies["AlertsTopic"]["Statement"]}
    assert alerts["AlarmsPublish"]["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
    assert alerts["AlarmsPublish"]["Condition"]["ArnLike"]["aws:SourceArn"] == (
        f"arn:aws:cloudwatch:{region}:{ACCOUNT}:alarm:{naming.prefix(cfg)}*"
    )
    assert alerts["EventRulesPublish"]["Condition"]["ArnLike"]["aws:SourceArn"].startswith(f"arn:aws:events:{region}:")
    deny = alerts["NobodyElsePublishes"]
    assert (deny["Effect"], deny["Principal"]) == ("Deny", "*")
    relayed = policies["RelayedAlertsTopic"]["Statement"]
    assert [(s["Effect"], s["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]) for s in relayed] == [("Deny", "RelayAlertsFunctionRole.Arn")]


def test_on_call_endpoints_subscribe_to_both_topics_in_every_region():
    endpoints = (AlertEndpoint(protocol="email", endpoint="oncall@example.org"), AlertEndpoint(protocol="https", endpoint="https://pager.example.org/hook"))
    cfg = Config(alerts=AlertsConfig(endpoints=endpoints))
    template = json.loads(render(cfg)["regional.json"])
    for region in cfg.regions:
        for topic in resources_of_type(resolve(template, cfg, region), "AWS::SNS::Topic").values():
            subscribed = {(s["Protocol"], s["Endpoint"]) for s in topic["Properties"]["Subscription"]}
            assert subscribed == {(e.protocol, e.endpoint) for e in endpoints}


def test_arn_endpoints_are_parameters_valued_in_every_parameter_file():
    """A user's queue or function ARN is not a literal the template invented: the templates
    reference it by parameter (E9005 stays strict) and every parameter file values it."""
    queue = "arn:aws:sqs:eu-west-1:123456789012:oncall"
    function = "arn:aws:lambda:eu-west-1:123456789012:function:pager"
    endpoints = (AlertEndpoint(protocol="sqs", endpoint=queue), AlertEndpoint(protocol="email", endpoint="oncall@example.org"), AlertEndpoint(protocol="lambda", endpoint=function))
    cfg = Config(alerts=AlertsConfig(endpoints=endpoints))
    files = render(cfg)
    expected = {"AlertEndpoint0": queue, "AlertEndpoint2": function}
    for template_file, parameter_files in (
        ("regional.json", [f"parameters/{region}.json" for region in cfg.regions]),
        ("route53_alarms.json", ["parameters/route53_alarms.json"]),
    ):
        assert queue not in files[template_file].decode() and function not in files[template_file].decode()
        template = json.loads(files[template_file])
        for name, value in expected.items():
            assert template["Parameters"][name]["Type"] == "String"
            assert re.match(template["Parameters"][name]["AllowedPattern"], value)
        for parameter_file in parameter_files:
            values = {p["ParameterKey"]: p["ParameterValue"] for p in json.loads(files[parameter_file])}
            assert {name: values[name] for name in expected} == expected
    for region in cfg.regions:
        for topic in resources_of_type(resolve(json.loads(files["regional.json"]), cfg, region), "AWS::SNS::Topic").values():
            subscribed = {(s["Protocol"], s["Endpoint"]) for s in topic["Properties"]["Subscription"]}
            assert subscribed == {(e.protocol, e.endpoint) for e in endpoints}


def _subscriptions(resolved: dict) -> dict[str, dict]:
    return {name: r["Properties"] for name, r in resources_of_type(resolved, "AWS::SNS::Subscription").items()}


def test_cross_region_subscriptions_point_at_the_other_region_and_cannot_loop(cfg, template):
    primary = resolve(template, cfg, cfg.primary_region)
    secondary = resolve(template, cfg, cfg.dr_region)
    assert _subscriptions(primary) == {}, "the DR instance, deployed second, owns both directions"
    subs = _subscriptions(secondary)
    inbound = subs[alerting.PEER_ALERTS_INTO_THIS_REGION]
    assert inbound["Region"] == cfg.primary_region
    assert inbound["TopicArn"] == f"arn:aws:sns:{cfg.primary_region}:{ACCOUNT}:{naming.alerts_topic(cfg).pattern}"
    assert (inbound["Protocol"], inbound["Endpoint"]) == ("sqs", "RelayQueue.Arn")
    outbound = subs[alerting.THIS_REGIONS_ALERTS_INTO_PEER]
    assert outbound["TopicArn"] == "AlertsTopic"
    assert outbound["Endpoint"] == f"arn:aws:sqs:{cfg.primary_region}:{ACCOUNT}:{naming.relay_queue(cfg).pattern}"
    relayed = naming.relayed_alerts_topic(cfg).pattern
    for region, resolved in ((cfg.primary_region, primary), (cfg.dr_region, secondary)):
        (mapping,) = resources_of_type(resolved, "AWS::Lambda::EventSourceMapping").values()
        assert (mapping["Properties"]["EventSourceArn"], mapping["Properties"]["FunctionName"]) == ("RelayQueue.Arn", alerting.RELAY_FUNCTION)
        relay = resolved["Resources"][alerting.RELAY_FUNCTION]["Properties"]
        assert relay["Environment"]["Variables"]["RELAYED_TOPIC_ARN"] == "RelayedAlertsTopic"
        # Nothing forwards from a relayed topic, in either region: no path leads back.
        for sub in _subscriptions(resolved).values():
            assert sub["TopicArn"] != "RelayedAlertsTopic" and relayed not in sub["TopicArn"]
        queue_policy = resources_of_type(resolved, "AWS::SQS::QueuePolicy")["RelayQueuePolicy"]["Properties"]["PolicyDocument"]
        (statement,) = queue_policy["Statement"]
        peer = cfg.peer_region(region)
        assert statement["Condition"]["ArnEquals"]["aws:SourceArn"] == [
            f"arn:aws:sns:{peer}:{ACCOUNT}:{naming.alerts_topic(cfg).pattern}",
            f"arn:aws:sns:{cfg.route53_metrics_region}:{ACCOUNT}:{naming.health_alerts_topic(cfg).pattern}",
        ], "the peer's alerts and Route 53's alarms only: never a relayed topic"


def test_relay_retries_only_failed_alerts_within_its_concurrency_then_alarms_on_the_dead_letters(cfg, region_view):
    region, resolved = region_view
    (mapping,) = resources_of_type(resolved, "AWS::Lambda::EventSourceMapping").values()
    assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    relay = resolved["Resources"][alerting.RELAY_FUNCTION]["Properties"]
    # Pollers beyond the reserved concurrency would be throttled, and throttles count as receives.
    assert mapping["Properties"]["ScalingConfig"]["MaximumConcurrency"] <= relay["ReservedConcurrentExecutions"]
    queue = resolved["Resources"][alerting.RELAY_QUEUE]["Properties"]
    assert queue["VisibilityTimeout"] >= 6 * relay["Timeout"], "AWS: at least six times the function timeout"
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == f"{alerting.RELAY_DEAD_LETTER_QUEUE}.Arn"
    dead_letters = resolved["Resources"]["RelayDeadLetterAlarm"]["Properties"]
    assert (dead_letters["MetricName"], dead_letters["Dimensions"]) == (
        "ApproximateNumberOfMessagesVisible",
        [{"Name": "QueueName", "Value": naming.relay_dead_letter_queue(cfg).pattern}],
    )
    assert (dead_letters["Threshold"], dead_letters["ComparisonOperator"]) == (0, "GreaterThanThreshold")


@pytest.fixture()
def moto_account(monkeypatch):
    """Resolve the template for moto's account, so its ARNs are the emulator's ARNs."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        account = boto3.client("sts", region_name="us-east-1").get_caller_identity()["Account"]
        monkeypatch.setattr(ResolvedTemplate, "AccountId", account)
        yield account


def test_an_alert_published_in_the_primary_arrives_in_the_dr_region(cfg, template, moto_account):
    """Emulated: the topic, queue, queue policy and subscription exactly as the templates declare them."""
    secondary = resolve(template, cfg, cfg.dr_region)
    subscription = _subscriptions(secondary)[alerting.PEER_ALERTS_INTO_THIS_REGION]
    policy = secondary["Resources"]["RelayQueuePolicy"]["Properties"]["PolicyDocument"]
    primary_sns = boto3.client("sns", region_name=subscription["Region"])
    topic_arn = primary_sns.create_topic(Name=naming.alerts_topic(cfg).pattern)["TopicArn"]
    assert topic_arn == subscription["TopicArn"]
    dr_sqs = boto3.client("sqs", region_name=cfg.dr_region)
    queue_url = dr_sqs.create_queue(QueueName=naming.relay_queue(cfg).pattern)["QueueUrl"]
    queue_arn = dr_sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy_json = json.dumps(policy).replace("RelayQueue.Arn", queue_arn)
    dr_sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": policy_json})
    primary_sns.subscribe(TopicArn=subscription["TopicArn"], Protocol=subscription["Protocol"], Endpoint=queue_arn)

    primary_sns.publish(TopicArn=topic_arn, Subject="ALARM: aurora-writer-cpu", Message="writer CPU above 80%")

    messages = dr_sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1)["Messages"]
    (envelope,) = [json.loads(m["Body"]) for m in messages]
    assert envelope["Message"] == "writer CPU above 80%"
    assert envelope["TopicArn"] == topic_arn, "the relayed alert says which region raised it"
    assert f":{cfg.primary_region}:" in envelope["TopicArn"] and f":{cfg.dr_region}:" in queue_arn


def test_dashboard_shows_both_regions_side_by_side(cfg, region_view):
    region, resolved = region_view
    (dashboard,) = resources_of_type(resolved, "AWS::CloudWatch::Dashboard").values()
    widgets = json.loads(dashboard["Properties"]["DashboardBody"])["widgets"]
    columns = {widget["x"]: {w["properties"]["region"] for w in widgets if w["x"] == widget["x"]} for widget in widgets}
    assert columns == {0: {region}, 12: {cfg.peer_region(region)}}
    titles = " ".join(w["properties"]["title"] for w in widgets)
    for topic in ("requests", "5xx", "p99", "replication lag", "app tasks", "runbook runs"):
        assert titles.count(topic) == 2, topic
    lag = next(w for w in widgets if "replication lag" in w["properties"]["title"])
    assert {"label": "RPO", "value": cfg.objectives.rpo_seconds * 1000} in lag["properties"]["annotations"]["horizontal"]



def test_every_cross_region_subscription_dead_letters_into_an_encrypted_alarmed_queue_of_its_topics_region(
    cfg, template, rendered
):
    """A subscription lives in its topic's region, and SNS takes a DLQ only from the subscription's region."""
    views = [(region, resolve(template, cfg, region)) for region in cfg.regions]
    views.append((cfg.route53_metrics_region, resolve_health_alarms(rendered, cfg)))
    queues = {  # ARN -> (the stack instance's resolved template, logical id, properties)
        f"arn:aws:sqs:{region}:{ACCOUNT}:{queue['Properties']['QueueName']}": (view, logical_id, queue["Properties"])
        for region, view in views
        for logical_id, queue in resources_of_type(view, "AWS::SQS::Queue").items()
    }
    checked = 0
    for region, view in views:
        for name, subscription in _subscriptions(view).items():
            target = subscription["RedrivePolicy"]["deadLetterTargetArn"]
            if target.endswith(".Arn"):  # a queue of this stack instance
                target = f"arn:aws:sqs:{region}:{ACCOUNT}:{view['Resources'][target[:-4]]['Properties']['QueueName']}"
            assert target.split(":")[3] == subscription.get("Region", region), name
            owner, logical_id, queue = queues[target]
            assert queue["KmsMasterKeyId"], f"{name}: the dead letters are alerts, encrypted like them"
            (statement,) = owner["Resources"][f"{logical_id}Policy"]["Properties"]["PolicyDocument"]["Statement"]
            assert (statement["Principal"], statement["Action"]) == ({"Service": "sns.amazonaws.com"}, ["sqs:SendMessage"])
            alarm = owner["Resources"][f"{logical_id}Alarm"]["Properties"]
            assert (alarm["MetricName"], alarm["ComparisonOperator"], alarm["Threshold"]) == (
                "ApproximateNumberOfMessagesVisible", "GreaterThanThreshold", 0
            )
            assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": f"{logical_id}.QueueName"}]
            checked += 1
    assert checked == 4, "both regional directions, and Route 53's alarms into both regions"
