"""Traffic: failover records, the AND of ALB health and the switch, and how long DNS takes."""

from __future__ import annotations

import json

import pytest

from checks.resolved import resolve_bootstrap
from template_support import resolve, resources_of_type

from templates import dns, naming
from templates.config import Config, DnsConfig
from templates.layout import TRAFFIC_TIMING


@pytest.fixture(scope="module")
def primary(cfg, template):
    return resolve(template, cfg, cfg.primary_region)


@pytest.fixture(scope="module")
def secondary(cfg, template):
    return resolve(template, cfg, cfg.dr_region)


def _record(resolved: dict) -> dict:
    (record,) = resources_of_type(resolved, "AWS::Route53::RecordSet").values()
    return record["Properties"]


def test_each_region_creates_its_own_failover_alias_record(cfg, primary, secondary):
    for resolved, role, region in ((primary, "PRIMARY", cfg.primary_region), (secondary, "SECONDARY", cfg.dr_region)):
        record = _record(resolved)
        assert record["Failover"] == role
        assert record["SetIdentifier"] == naming.failover_record_set_identifier(cfg).for_region(region)
        assert (record["Name"], record["Type"], record["HostedZoneId"]) == (cfg.dns.domain_name, "A", cfg.dns.hosted_zone_id)
        assert record["AliasTarget"] == {
            "DNSName": "LoadBalancer.DNSName",
            "HostedZoneId": "LoadBalancer.CanonicalHostedZoneID",
            "EvaluateTargetHealth": True,
        }
    assert _record(primary)["SetIdentifier"] != _record(secondary)["SetIdentifier"]


def test_primary_is_healthy_only_while_its_alb_is_up_and_the_switch_is_released(cfg, primary):
    checks = {name: r["Properties"]["HealthCheckConfig"] for name, r in resources_of_type(primary, "AWS::Route53::HealthCheck").items()}
    calculated = checks[_record(primary)["HealthCheckId"]]
    assert calculated["Type"] == "CALCULATED"
    children = calculated["ChildHealthChecks"]
    assert calculated["HealthThreshold"] == len(children) == 2, "an AND of both children"
    kinds = {checks[child]["Type"]: checks[child] for child in children}
    assert set(kinds) == {"HTTPS", "CLOUDWATCH_METRIC"}
    switch = kinds["CLOUDWATCH_METRIC"]
    assert switch["AlarmIdentifier"] == {
        "Name": naming.failover_switch_alarm(cfg).for_region(cfg.dr_region),
        "Region": cfg.dr_region,
    }
    assert switch["InsufficientDataHealthStatus"] == "LastKnownStatus"


def test_secondary_follows_its_own_alb_only(secondary):
    checks = resources_of_type(secondary, "AWS::Route53::HealthCheck")
    assert list(checks) == ["LoadBalancerHealthCheck"]
    assert _record(secondary)["HealthCheckId"] == "LoadBalancerHealthCheck"


def test_alb_check_uses_https_health_path_and_configured_timing(cfg, region_view):
    _, resolved = region_view
    config = resolved["Resources"]["LoadBalancerHealthCheck"]["Properties"]["HealthCheckConfig"]
    assert (config["Type"], config["Port"], config["ResourcePath"]) == ("HTTPS", 443, cfg.app.health_check_path)
    assert config["FullyQualifiedDomainName"] == "LoadBalancer.DNSName"
    assert (config["RequestInterval"], config["FailureThreshold"]) == (
        cfg.dns.health_check_interval_seconds,
        cfg.dns.health_check_failure_threshold,
    )


@pytest.mark.parametrize("region", ["us-east-1", "us-west-2"])
def test_switch_alarm_the_primary_follows_exists_in_the_dr_regions_bootstrap(cfg, bootstrap, region):
    resolved = resolve_bootstrap(bootstrap, cfg, region)
    (alarm,) = resources_of_type(resolved, "AWS::CloudWatch::Alarm").values()
    props = alarm["Properties"]
    assert props["AlarmName"] == naming.failover_switch_alarm(cfg).for_region(region)
    assert (props["Namespace"], props["MetricName"]) == (dns.switch_namespace(cfg), dns.SWITCH_METRIC)
    assert props["TreatMissingData"] == "ignore", "the switch must hold its position between publications"
    assert (props["ComparisonOperator"], props["Threshold"]) == ("GreaterThanOrEqualToThreshold", dns.SWITCH_THROWN)
    assert dns.SWITCH_RELEASED < props["Threshold"] <= dns.SWITCH_THROWN


def test_timing_follows_the_configuration():
    cfg = Config(dns=DnsConfig(health_check_interval_seconds=30, health_check_failure_threshold=2))
    timing = dns.timing(cfg)
    assert timing["endpoint_failure_detection_seconds"] == 60
    assert timing["dns_after_endpoint_failure_seconds"] == 60 + dns.ALB_ALIAS_TTL_SECONDS
    assert timing["dns_after_switch_seconds"] == dns.SWITCH_PERIOD_SECONDS * dns.SWITCH_EVALUATION_PERIODS + 60
    assert timing["switch"]["alarm_region"] == cfg.dr_region


def test_timing_is_part_of_the_render(rendered, cfg):
    assert json.loads(rendered[TRAFFIC_TIMING]) == dns.timing(cfg)
