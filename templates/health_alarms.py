"""Alarms on the Route 53 health checks, in the one region where their metrics exist.

Route 53 publishes ``HealthCheckStatus`` only in us-east-1 (us-gov-west-1 in GovCloud),
whichever regions the deployment uses, and alarms can notify only topics of their own
region. So this small template is deployed there, after the regional stack set, with the
health check ids read from the regional stacks' outputs. Its topic delivers to on-call
directly and into both regions' relay queues, like a peer region's alerts.
"""

from __future__ import annotations

from troposphere import GetAtt, Parameter, Ref, Template, cloudwatch, sns

from policies import arns
from policies.alerting import alerts_topic as alerts_topic_policy
from policies.kms import health_alerts_key_policy
from templates import alert_endpoints, naming
from templates.alerting import add_undelivered_queue
from templates.config import Config
from templates.security import add_key, deployer_arn

HEALTH_KEY = "HealthAlertsKey"
HEALTH_TOPIC = "HealthAlertsTopic"
UNDELIVERED_QUEUE = "UndeliveredHealthAlertsQueue"
RECORD_HEALTH_CHECK_OUTPUT = "FailoverRecordHealthCheckId"
ROLES = (("Primary", "primary"), ("Secondary", "dr"))


def health_check_parameter(role: str) -> str:
    return f"{role}HealthCheckId"


def region_parameter(role: str) -> str:
    return f"{role}Region"


def parameter_sources(cfg: Config, regional_stack_set: str) -> dict:
    """For the deployer: each health check id comes from a regional stack's output."""
    return {
        health_check_parameter(role): {
            "stack_set": regional_stack_set,
            "region": cfg.primary_region if key == "primary" else cfg.dr_region,
            "output": RECORD_HEALTH_CHECK_OUTPUT,
        }
        for role, key in ROLES
    }


def parameters(cfg: Config) -> dict[str, str]:
    return {
        **{region_parameter(role): (cfg.primary_region if key == "primary" else cfg.dr_region) for role, key in ROLES},
        **alert_endpoints.parameter_values(cfg),
    }


def build_health_alarms_template(cfg: Config) -> Template:
    t = Template(Description=f"trading-dr Route 53 health-check alarms, in the region of their metrics ({naming.prefix(cfg)})")
    t.set_version("2010-09-09")
    for role, _ in ROLES:
        t.add_parameter(
            Parameter(
                health_check_parameter(role),
                Type="String",
                AllowedPattern=r"^[0-9a-f-]{36}$",
                Description=f"Health check of the {role.lower()} failover record (regional stack output)",
            )
        )
        t.add_parameter(Parameter(region_parameter(role), Type="String", Description=f"The {role.lower()} region"))
    add_key(t, cfg, HEALTH_KEY, f"{naming.prefix(cfg)}: Route 53 health alerts topic", health_alerts_key_policy(deployer_arn(t)))
    t.add_resource(
        sns.Topic(
            HEALTH_TOPIC,
            TopicName=naming.health_alerts_topic(cfg).value(),
            KmsMasterKeyId=GetAtt(HEALTH_KEY, "Arn"),
            Subscription=alert_endpoints.add_subscriptions(t, cfg),
        )
    )
    t.add_resource(
        sns.TopicPolicy(
            "HealthAlertsTopicPolicy",
            Topics=[Ref(HEALTH_TOPIC)],
            PolicyDocument=alerts_topic_policy(Ref(HEALTH_TOPIC), naming.prefix(cfg), []),
        )
    )
    # The subscriptions into both regions' relay queues live here, with the topic; so does their DLQ.
    add_undelivered_queue(
        t, cfg, UNDELIVERED_QUEUE, naming.undelivered_health_alerts_queue(cfg), GetAtt(HEALTH_KEY, "Arn"), [Ref(HEALTH_TOPIC)]
    )
    for role, _ in ROLES:
        t.add_resource(
            cloudwatch.Alarm(
                f"{role}HealthCheckAlarm",
                AlarmName=f"{naming.prefix(cfg)}-route53-{role.lower()}-unhealthy",
                AlarmDescription=(
                    f"Route 53 sees the {role.lower()} failover record as unhealthy"
                    + (" (its ALB fails, or the failover switch is thrown)" if role == "Primary" else "")
                ),
                Namespace="AWS/Route53",
                MetricName="HealthCheckStatus",
                Dimensions=[cloudwatch.MetricDimension(Name="HealthCheckId", Value=Ref(health_check_parameter(role)))],
                Statistic="Minimum",
                Period=60,
                EvaluationPeriods=1,
                Threshold=1,
                ComparisonOperator="LessThanThreshold",
                # A health check that stops reporting has been deleted or broken: say so.
                TreatMissingData="breaching",
                AlarmActions=[Ref(HEALTH_TOPIC)],
                OKActions=[Ref(HEALTH_TOPIC)],
            )
        )
        t.add_resource(
            sns.SubscriptionResource(
                f"HealthAlertsInto{role}Region",
                TopicArn=Ref(HEALTH_TOPIC),
                Protocol="sqs",
                Endpoint=arns.queue(naming.relay_queue(cfg).pattern, f"${{{region_parameter(role)}}}"),
                RedrivePolicy={"deadLetterTargetArn": GetAtt(UNDELIVERED_QUEUE, "Arn")},
            )
        )
    return t
