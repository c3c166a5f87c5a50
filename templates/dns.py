"""Traffic: Route 53 failover records, their health checks, and the failover switch.

Each stack instance creates its own alias record in the hosted zone: PRIMARY from the
primary region, SECONDARY from the DR region. The primary record is healthy only while
(a) an HTTPS check of the primary ALB passes AND (b) the failover switch is released.

The switch is a Route 53 health check that follows a CloudWatch alarm in the DR region.
The runbook throws it by publishing 1 to the alarm's metric with ``PutMetricData`` to the
DR region's CloudWatch endpoint, and releases it by publishing 0: no call to Route 53's
control plane (which lives in us-east-1) is on the failover path. The alarm treats missing
data as "ignore" and the health check keeps its last known status when CloudWatch has
insufficient data, so the switch holds its position between publications and through a
CloudWatch outage.

The switch alarms live in the bootstrap stack set, in both regions, because Route 53 reads
the alarm when the health check is created, and the primary instance deploys first.
"""

from __future__ import annotations

from troposphere import If, Output, Ref, Tags, Template
from troposphere import cloudwatch, route53

from templates import naming
from templates.compute import App
from templates.config import Config
from templates.regions import IS_PRIMARY, PEER_REGION_PARAMETER
from templates.suppressions import guard_suppress

SWITCH_ALARM = "FailoverSwitchAlarm"
ALB_HEALTH_CHECK = "LoadBalancerHealthCheck"
SWITCH_HEALTH_CHECK = "FailoverSwitchHealthCheck"
PRIMARY_HEALTH_CHECK = "PrimaryHealthCheck"
FAILOVER_RECORD = "FailoverRecord"

SWITCH_METRIC = "TrafficSwitch"
SWITCH_PERIOD_SECONDS = 60
SWITCH_EVALUATION_PERIODS = 1
SWITCH_THROWN = 1
SWITCH_RELEASED = 0
# Elastic Load Balancing's DNS names are served with a 60-second TTL; an alias record
# takes the TTL of its target.
ALB_ALIAS_TTL_SECONDS = 60


def switch_namespace(cfg: Config) -> str:
    """The custom metric namespace of the switch (the runbook may publish only here)."""
    return f"{naming.prefix(cfg)}/Failover"


def alb_health_check_name(cfg: Config) -> str:
    """The Name tag of a region's load balancer check (Sub pattern): other regions find it by it."""
    return f"{naming.prefix(cfg)}-alb-${{AWS::Region}}"


def primary_health_check_name(cfg: Config) -> str:
    """The Name tag of the PRIMARY record's calculated check (the DR region's runbook finds it by it)."""
    return f"{naming.prefix(cfg)}-primary"


def add_failover_switch(t: Template, cfg: Config) -> None:
    """Bootstrap: this region's switch alarm, in ALARM while the switch is thrown."""
    t.add_resource(
        cloudwatch.Alarm(
            SWITCH_ALARM,
            Metadata=guard_suppress(
                {
                    "CLOUDWATCH_ALARM_ACTION_CHECK": "the failover switch, not an alert: Route 53's health check follows "
                    "its data; the health-check alarms tell on-call"
                }
            ),
            AlarmName=naming.failover_switch_alarm(cfg).value(),
            AlarmDescription=(
                "Failover switch: in ALARM, Route 53 treats the other region's PRIMARY record as unhealthy "
                f"and answers with the SECONDARY. Thrown by publishing {SWITCH_THROWN}, released by publishing "
                f"{SWITCH_RELEASED}, to {switch_namespace(cfg)}/{SWITCH_METRIC}."
            ),
            Namespace=switch_namespace(cfg),
            MetricName=SWITCH_METRIC,
            Statistic="Maximum",
            Period=SWITCH_PERIOD_SECONDS,
            EvaluationPeriods=SWITCH_EVALUATION_PERIODS,
            Threshold=SWITCH_THROWN,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
            # Published once per change: without data the alarm keeps its state.
            TreatMissingData="ignore",
        )
    )


def _add_health_checks(t: Template, cfg: Config, app: App) -> None:
    t.add_resource(
        route53.HealthCheck(
            ALB_HEALTH_CHECK,
            HealthCheckConfig=route53.HealthCheckConfig(
                Type="HTTPS",
                FullyQualifiedDomainName=app.load_balancer_dns,
                Port=443,
                ResourcePath=cfg.app.health_check_path,
                EnableSNI=True,
                RequestInterval=cfg.dns.health_check_interval_seconds,
                FailureThreshold=cfg.dns.health_check_failure_threshold,
            ),
            HealthCheckTags=Tags(Name=naming.sub_if_needed(alb_health_check_name(cfg))),
        )
    )
    t.add_resource(
        route53.HealthCheck(
            SWITCH_HEALTH_CHECK,
            Condition=IS_PRIMARY,
            HealthCheckConfig=route53.HealthCheckConfig(
                Type="CLOUDWATCH_METRIC",
                AlarmIdentifier=route53.AlarmIdentifier(
                    Name=naming.failover_switch_alarm(cfg).in_region_of(PEER_REGION_PARAMETER),
                    Region=Ref(PEER_REGION_PARAMETER),
                ),
                InsufficientDataHealthStatus="LastKnownStatus",
            ),
            HealthCheckTags=Tags(Name=f"{naming.prefix(cfg)}-failover-switch"),
        )
    )
    t.add_resource(
        route53.HealthCheck(
            PRIMARY_HEALTH_CHECK,
            Condition=IS_PRIMARY,
            HealthCheckConfig=route53.HealthCheckConfig(
                Type="CALCULATED",
                ChildHealthChecks=[Ref(ALB_HEALTH_CHECK), Ref(SWITCH_HEALTH_CHECK)],
                HealthThreshold=2,  # both children: the ALB is up AND the switch is released
            ),
            HealthCheckTags=Tags(Name=primary_health_check_name(cfg)),
        )
    )


def add_traffic(t: Template, cfg: Config, app: App) -> None:
    """This instance's failover alias record and its health checks."""
    _add_health_checks(t, cfg, app)
    t.add_resource(
        route53.RecordSetType(
            FAILOVER_RECORD,
            HostedZoneId=cfg.dns.hosted_zone_id,
            Name=cfg.dns.domain_name,
            Type="A",
            AliasTarget=route53.AliasTarget(
                DNSName=app.load_balancer_dns,
                HostedZoneId=app.load_balancer_zone,
                EvaluateTargetHealth=True,
            ),
            Failover=If(IS_PRIMARY, "PRIMARY", "SECONDARY"),
            SetIdentifier=naming.failover_record_set_identifier(cfg).value(),
            HealthCheckId=If(IS_PRIMARY, Ref(PRIMARY_HEALTH_CHECK), Ref(ALB_HEALTH_CHECK)),
        )
    )
    t.add_output(Output("FailoverRecordHealthCheckId", Description="Health check deciding this region's record", Value=If(IS_PRIMARY, Ref(PRIMARY_HEALTH_CHECK), Ref(ALB_HEALTH_CHECK))))


def timing(cfg: Config) -> dict:
    """How long DNS takes to follow, for the RTO budget (seconds, worst case by the settings).

    Route 53 adds its own propagation of health status, which AWS does not bound.
    """
    endpoint_detection = cfg.dns.health_check_interval_seconds * cfg.dns.health_check_failure_threshold
    switch_follow = SWITCH_PERIOD_SECONDS * SWITCH_EVALUATION_PERIODS
    return {
        "health_check_interval_seconds": cfg.dns.health_check_interval_seconds,
        "health_check_failure_threshold": cfg.dns.health_check_failure_threshold,
        "endpoint_failure_detection_seconds": endpoint_detection,
        "switch_alarm_period_seconds": SWITCH_PERIOD_SECONDS,
        "switch_alarm_evaluation_periods": SWITCH_EVALUATION_PERIODS,
        "switch_follow_seconds": switch_follow,
        "alias_ttl_seconds": ALB_ALIAS_TTL_SECONDS,
        "dns_after_endpoint_failure_seconds": endpoint_detection + ALB_ALIAS_TTL_SECONDS,
        "dns_after_switch_seconds": switch_follow + ALB_ALIAS_TTL_SECONDS,
        "switch": {
            "namespace": switch_namespace(cfg),
            "metric": SWITCH_METRIC,
            "throw_value": SWITCH_THROWN,
            "release_value": SWITCH_RELEASED,
            "alarm_region": cfg.dr_region,
            "alarm_name": naming.failover_switch_alarm(cfg).for_region(cfg.dr_region),
        },
    }
