"""Route 53 health-check alarms: in the metrics region, fed by the regional outputs, relayed to both regions."""

from __future__ import annotations

import json

from cloud_radar.cf.unit import Template as ResolvedTemplate
from template_support import resolve_health_alarms, resources_of_type

from templates import dns, health_alarms, naming
from templates.config import Config, route53_metrics_region
from templates.layout import MANIFEST


def test_metrics_region_follows_the_partition():
    assert Config().route53_metrics_region == "us-east-1"
    # GovCloud is refused for the global database (test_regions_supported.py); its metrics region is still known.
    assert route53_metrics_region("aws-us-gov") == "us-gov-west-1"


def test_each_failover_record_has_a_status_alarm_to_the_local_topic(rendered, cfg):
    resolved = resolve_health_alarms(rendered, cfg)
    alarms = {
        a["Properties"]["Dimensions"][0]["Value"]: a["Properties"]
        for a in resources_of_type(resolved, "AWS::CloudWatch::Alarm").values()
        if a["Properties"]["Namespace"] == "AWS/Route53"
    }
    assert set(alarms) == {"11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"}
    for alarm in alarms.values():
        assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == ("AWS/Route53", "HealthCheckStatus", "Minimum")
        assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("LessThanThreshold", 1)
        assert alarm["AlarmActions"] == alarm["OKActions"] == ["HealthAlertsTopic"]


def test_health_alerts_reach_both_regions_relay_queues(rendered, cfg):
    resolved = resolve_health_alarms(rendered, cfg)
    endpoints = sorted(s["Properties"]["Endpoint"] for s in resources_of_type(resolved, "AWS::SNS::Subscription").values())
    account = ResolvedTemplate.AccountId
    assert endpoints == sorted(f"arn:aws:sqs:{r}:{account}:{naming.relay_queue(cfg).pattern}" for r in cfg.regions)
    (topic,) = resources_of_type(resolved, "AWS::SNS::Topic").values()
    assert topic["Properties"]["KmsMasterKeyId"] == "HealthAlertsKey.Arn"
    assert topic["Properties"]["TopicName"] == naming.health_alerts_topic(cfg).pattern


def test_regional_relay_queue_admits_the_health_alerts_topic(cfg, region_view):
    _, resolved = region_view
    (statement,) = resolved["Resources"]["RelayQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    sources = statement["Condition"]["ArnEquals"]["aws:SourceArn"]
    assert f"arn:aws:sns:{cfg.route53_metrics_region}:{ResolvedTemplate.AccountId}:{naming.health_alerts_topic(cfg).pattern}" in sources


def test_manifest_fills_health_check_ids_from_the_regional_outputs(rendered, cfg, template):
    manifest = json.loads(rendered[MANIFEST])
    regional, alarms = manifest["stack_sets"][1], manifest["stack_sets"][2]
    sources = alarms["parameters_from_outputs"]
    assert {(s["stack_set"], s["region"], s["output"]) for s in sources.values()} == {
        (regional["name"], region, health_alarms.RECORD_HEALTH_CHECK_OUTPUT) for region in cfg.regions
    }
    assert health_alarms.RECORD_HEALTH_CHECK_OUTPUT in template["Outputs"]
    assert dns.FAILOVER_RECORD in template["Resources"]
