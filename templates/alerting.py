"""Alerting that survives the loss of a region.

Each region has two topics, both encrypted with the region's key:
- ``alerts``: this region's alarms, rules and runbook publish here; on-call subscribes;
- ``alerts-relayed``: the peer region's alerts, republished; on-call subscribes.

Cross-region delivery (seed defect 5 done for real): the peer's ``alerts`` topic delivers
through an ``AWS::SNS::Subscription`` (its ``Region`` property names the topic's region)
into this region's relay queue, and a function (``lambdas/alerts/relay.py``, fed by an SQS
event source mapping) republishes from the queue to ``alerts-relayed``. Lambda and SQS exist
in every region; EventBridge Pipes, used before, does not (ca-west-1, ap-southeast-4, ...).
Loops are impossible by construction: relay queues subscribe only to ``alerts`` topics and
the relay publishes only to ``alerts-relayed`` topics, which nothing forwards from.

The DR instance creates both cross-region subscriptions, because it deploys second, when
both regions' topics and queues exist.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from troposphere import GetAtt, ImportValue, Output, Ref, Sub, Tags, Template
from troposphere import awslambda, cloudwatch, sns, sqs

from policies import alerting as alerting_policies
from policies import arns
from templates import alert_endpoints, functions, naming
from templates.compute import App
from templates.config import Config
from templates.database import DB_CLUSTER
from templates.regions import IS_SECONDARY, PEER_REGION_PARAMETER, ROUTE53_METRICS_REGION_PARAMETER
from templates.security import data_key_arn
from templates.suppressions import IMPORTED_KEY_REASON, cfn_lint_ignore, guard_suppress, merged

ALERTS_TOPIC = "AlertsTopic"
ALERTS_TOPIC_POLICY = "AlertsTopicPolicy"
RELAYED_TOPIC = "RelayedAlertsTopic"
RELAYED_TOPIC_POLICY = "RelayedAlertsTopicPolicy"
RELAY_QUEUE = "RelayQueue"
RELAY_QUEUE_POLICY = "RelayQueuePolicy"
RELAY_DEAD_LETTER_QUEUE = "RelayDeadLetterQueue"
RELAY_FUNCTION = "RelayAlertsFunction"
RELAY_FUNCTION_ROLE = "RelayAlertsFunctionRole"
RELAY_EVENT_SOURCE = "RelayQueueEventSource"
UNDELIVERED_ALERTS_QUEUE = "UndeliveredAlertsQueue"
PEER_ALERTS_INTO_THIS_REGION = "PeerAlertsIntoThisRegion"
THIS_REGIONS_ALERTS_INTO_PEER = "ThisRegionsAlertsIntoPeer"
RPO_LAG_ALARM = "RpoLagAlarm"
REPLICATION_LAG_ALARM = "ReplicationLagAlarm"
PEER_IMPAIRED_ALARM = "PeerRegionImpairedAlarm"
DASHBOARD = "DrDashboard"

# One minute: the finest period of AWS's standard metrics. Aurora's pages state no resolution for
# the global lag metrics (AuroraGlobalDBRPOLag, milliseconds, "available only in secondary AWS
# Regions": Amazon CloudWatch metrics for Amazon Aurora); a coarser publication would only leave
# periods missing, which the lag alarms treat as not breaching (readiness takes the newest point
# of its window).
PERIOD_SECONDS = 60
MILLISECONDS = 1000
MEBIBYTE = 1024 * 1024
# Relayed alerts are retried by SQS; after this many failed receives a message goes to the DLQ.
RELAY_MAX_RECEIVES = 5
# One publish's worst case is runtime.WORST_CALL_SECONDS (24 s); AWS asks for a queue
# visibility timeout of at least six times the function's timeout (Lambda developer guide,
# "Using Lambda with Amazon SQS"), so a failed message is retried after 3 minutes.
RELAY_TIMEOUT_SECONDS = 30
RELAY_VISIBILITY_TIMEOUT_SECONDS = 6 * RELAY_TIMEOUT_SECONDS
# The event source mapping's least concurrency; the function reserves as much, so a regional
# burst of other functions cannot throttle the relay.
RELAY_CONCURRENCY = 2
RELAY_BATCH_SIZE = 10
# An alert older than a day is history, not an alert; failed ones wait two weeks in the DLQ.
RELAY_RETENTION_SECONDS = 24 * 3600
DEAD_LETTER_RETENTION_SECONDS = 14 * 24 * 3600
# cfn-lint-serverless's ES6000 (and Control Tower's SQS_DLQ_CHECK) want a RedrivePolicy on every
# queue; a dead-letter queue has none.
DEAD_LETTER_QUEUE = merged(
    cfn_lint_ignore(
        {
            "ES6000": "a dead-letter queue: ES6000 exempts only queues it finds named in another queue's RedrivePolicy "
            "(not in a GetAtt list, nor SNS subscription or EventBridge target dead-letter queues)"
        }
    ),
    guard_suppress({"SQS_DLQ_CHECK": "a dead-letter queue itself: where would its dead letters go"}),
)
ENCRYPTED_WITH_IMPORTED_KEY = guard_suppress({"SQS_QUEUE_ENCRYPTED_CHECK": IMPORTED_KEY_REASON})


@dataclass(frozen=True)
class Alerting:
    topic_arn: Ref


def lag_threshold_milliseconds(cfg: Config) -> int:
    """Aurora reports both lag metrics in milliseconds; alert at a fraction of the RPO, in whole
    milliseconds (a fraction's long tail of digits reads as an account id to the gate)."""
    return round(cfg.objectives.rpo_seconds * MILLISECONDS * cfg.alerts.lag_alarm_fraction_of_rpo)


def _topic(t: Template, cfg: Config, logical_id: str, name: naming.Name, display: str) -> None:
    t.add_resource(
        sns.Topic(
            logical_id,
            TopicName=name.value(),
            DisplayName=display,
            KmsMasterKeyId=data_key_arn(cfg),
            Subscription=alert_endpoints.add_subscriptions(t, cfg),
        )
    )


def _add_topics(t: Template, cfg: Config) -> None:
    _topic(t, cfg, ALERTS_TOPIC, naming.alerts_topic(cfg), f"{naming.prefix(cfg)} alerts")
    _topic(t, cfg, RELAYED_TOPIC, naming.relayed_alerts_topic(cfg), f"{naming.prefix(cfg)} alerts from the other region")
    t.add_resource(
        sns.TopicPolicy(
            RELAYED_TOPIC_POLICY,
            Topics=[Ref(RELAYED_TOPIC)],
            PolicyDocument=alerting_policies.relayed_topic(Ref(RELAYED_TOPIC), GetAtt(RELAY_FUNCTION_ROLE, "Arn")),
        )
    )


def _add_relay(t: Template, cfg: Config, s3_key: str) -> None:
    """Queue + function that republish the peer region's alerts to this region's relayed topic."""
    t.add_resource(
        sqs.Queue(
            RELAY_DEAD_LETTER_QUEUE,
            Metadata=merged(DEAD_LETTER_QUEUE, ENCRYPTED_WITH_IMPORTED_KEY),
            QueueName=naming.relay_dead_letter_queue(cfg).value(),
            KmsMasterKeyId=data_key_arn(cfg),
            MessageRetentionPeriod=DEAD_LETTER_RETENTION_SECONDS,
            # Alerts in flight are worth nothing once the stack is gone.
            DeletionPolicy="Delete",
            UpdateReplacePolicy="Delete",
        )
    )
    t.add_resource(
        sqs.Queue(
            RELAY_QUEUE,
            Metadata=ENCRYPTED_WITH_IMPORTED_KEY,
            QueueName=naming.relay_queue(cfg).value(),
            KmsMasterKeyId=data_key_arn(cfg),
            MessageRetentionPeriod=RELAY_RETENTION_SECONDS,
            VisibilityTimeout=RELAY_VISIBILITY_TIMEOUT_SECONDS,
            RedrivePolicy=sqs.RedrivePolicy(
                deadLetterTargetArn=GetAtt(RELAY_DEAD_LETTER_QUEUE, "Arn"), maxReceiveCount=RELAY_MAX_RECEIVES
            ),
            DeletionPolicy="Delete",
            UpdateReplacePolicy="Delete",
        )
    )
    peer_topic = arns.topic(naming.alerts_topic(cfg).pattern, f"${{{PEER_REGION_PARAMETER}}}")
    t.add_resource(
        sqs.QueuePolicy(
            RELAY_QUEUE_POLICY,
            Queues=[Ref(RELAY_QUEUE)],
            PolicyDocument=alerting_policies.relay_queue(
                GetAtt(RELAY_QUEUE, "Arn"),
                [peer_topic, arns.topic(naming.health_alerts_topic(cfg).pattern, f"${{{ROUTE53_METRICS_REGION_PARAMETER}}}")],
            ),
        )
    )
    functions.add_function(
        t, cfg, RELAY_FUNCTION, naming.relay_function(cfg),
        description="Republishes the other region's alerts to this region's relayed-alerts topic",
        handler="alerts.relay.handler",
        s3_key=s3_key,
        policy_name="relay-peer-alerts",
        policy=lambda log_group: alerting_policies.relay_role(log_group, GetAtt(RELAY_QUEUE, "Arn"), Ref(RELAYED_TOPIC), data_key_arn(cfg)),
        environment={"RELAYED_TOPIC_ARN": Ref(RELAYED_TOPIC)},
        timeout=RELAY_TIMEOUT_SECONDS,
        reserved_concurrency=RELAY_CONCURRENCY,
        dead_letter_reason="Invoked synchronously by its SQS event source mapping: a message that fails returns "
        "to the relay queue, whose redrive policy moves it to the alarmed dead-letter queue",
    )
    event_source = t.add_resource(
        awslambda.EventSourceMapping(
            RELAY_EVENT_SOURCE,
            Metadata=cfn_lint_ignore({
                "ES1001": "an SQS source keeps its failures by the queue's RedrivePolicy (RelayDeadLetterQueue): "
                "Lambda takes an on-failure destination only for stream and Kafka sources (CloudFormation "
                "reference, AWS::Lambda::EventSourceMapping OnFailure)"
            }),
            EventSourceArn=GetAtt(RELAY_QUEUE, "Arn"),
            FunctionName=Ref(RELAY_FUNCTION),
            BatchSize=RELAY_BATCH_SIZE,
            # Only the messages that failed are retried, not their whole batch.
            FunctionResponseTypes=["ReportBatchItemFailures"],
            Tags=Tags(**naming.project_tags(cfg)),  # its id is random: IAM finds it by tag
        )
    )
    # No more pollers than the function's reserved concurrency, else throttled invocations
    # count as receives and push alerts to the DLQ. Set directly: troposphere 4.11.1 types this
    # property with another resource's ScalingConfig (MaxEnvironments); cfn-lint checks it.
    event_source.properties["ScalingConfig"] = {"MaximumConcurrency": RELAY_CONCURRENCY}
    metric_alarm(
        t, cfg, "RelayDeadLetterAlarm", "relayed-alerts-undelivered",
        f"Alerts from the other region that could not be republished here after {RELAY_MAX_RECEIVES} attempts "
        "wait in the relay dead-letter queue: read them there",
        threshold=0, Namespace="AWS/SQS", MetricName="ApproximateNumberOfMessagesVisible",
        Dimensions=dimensions(QueueName=naming.relay_dead_letter_queue(cfg).value()), Statistic="Maximum",
    )
    metric_alarm(
        t, cfg, "RelayAlertsFunctionErrorsAlarm", "relay-alerts-errors",
        "The alert relay function failed: the other region's alerts may not reach on-call from here",
        threshold=0, Namespace="AWS/Lambda", MetricName="Errors",
        Dimensions=dimensions(FunctionName=Ref(RELAY_FUNCTION)), Statistic="Sum",
    )
    add_undelivered_queue(
        t, cfg, UNDELIVERED_ALERTS_QUEUE, naming.undelivered_alerts_queue(cfg), data_key_arn(cfg), [Ref(ALERTS_TOPIC)]
    )
    # Both directions are created by the DR instance, which deploys when both regions exist.
    # A subscription lives in its topic's region, and so must its dead-letter queue.
    undelivered = naming.undelivered_alerts_queue(cfg).pattern
    t.add_resource(
        sns.SubscriptionResource(
            PEER_ALERTS_INTO_THIS_REGION,
            Condition=IS_SECONDARY,
            TopicArn=peer_topic,
            Region=Ref(PEER_REGION_PARAMETER),
            Protocol="sqs",
            Endpoint=GetAtt(RELAY_QUEUE, "Arn"),
            RedrivePolicy={"deadLetterTargetArn": arns.queue(undelivered, f"${{{PEER_REGION_PARAMETER}}}")},
        )
    )
    t.add_resource(
        sns.SubscriptionResource(
            THIS_REGIONS_ALERTS_INTO_PEER,
            Condition=IS_SECONDARY,
            TopicArn=Ref(ALERTS_TOPIC),
            Protocol="sqs",
            Endpoint=arns.queue(naming.relay_queue(cfg).pattern, f"${{{PEER_REGION_PARAMETER}}}"),
            RedrivePolicy={"deadLetterTargetArn": GetAtt(UNDELIVERED_ALERTS_QUEUE, "Arn")},
        )
    )


def add_undelivered_queue(t: Template, cfg: Config, logical_id: str, name: naming.Name, key_arn, topic_arns: list) -> None:
    """The dead-letter queue of subscriptions of ``topic_arns`` (the first one gets its alarm)."""
    add_dead_letter_queue(
        t, cfg, logical_id, name, key_arn,
        policy=alerting_policies.relay_queue(GetAtt(logical_id, "Arn"), topic_arns),
        alarm_topic=topic_arns[0],
        description="SNS could not deliver an alert across regions (it waits in this queue): check the peer "
        "region's queue policy and key, then redrive it",
    )


def add_rule_dead_letter_queue(
    t: Template, cfg: Config, logical_id: str, name: naming.Name, rule: naming.Name, *, alarm_topic, description: str,
    condition: str | None = None,
) -> None:
    """The dead-letter queue of an EventBridge rule's target: only that rule may write it."""
    add_dead_letter_queue(
        t, cfg, logical_id, name, data_key_arn(cfg),
        policy=alerting_policies.queue_written_by(
            "events.amazonaws.com", GetAtt(logical_id, "Arn"), arns.arn("events", f"rule/{rule.pattern}"), sid="RuleDeadLetters",
        ),
        alarm_topic=alarm_topic, description=description, condition=condition,
    )


def add_dead_letter_queue(
    t: Template, cfg: Config, logical_id: str, name: naming.Name, key_arn, *, policy, alarm_topic, description: str,
    condition: str | None = None,
) -> None:
    """A dead-letter queue encrypted with ``key_arn``, writable as ``policy`` says, and an
    alarm to ``alarm_topic`` as soon as it holds a message: each one is a lost delivery."""
    when = {"Condition": condition} if condition else {}
    t.add_resource(
        sqs.Queue(
            logical_id,
            # The regional queues' key is imported; the Route 53 alarms' key is in their template.
            Metadata=merged(DEAD_LETTER_QUEUE, ENCRYPTED_WITH_IMPORTED_KEY) if isinstance(key_arn, ImportValue) else DEAD_LETTER_QUEUE,
            QueueName=name.value(),
            KmsMasterKeyId=key_arn,
            MessageRetentionPeriod=DEAD_LETTER_RETENTION_SECONDS,
            DeletionPolicy="Delete",
            UpdateReplacePolicy="Delete",
            **when,
        )
    )
    t.add_resource(sqs.QueuePolicy(f"{logical_id}Policy", Queues=[Ref(logical_id)], PolicyDocument=policy, **when))
    t.add_resource(
        cloudwatch.Alarm(
            f"{logical_id}Alarm",
            AlarmName=naming.alarm(cfg, name.pattern.removeprefix(f"{naming.prefix(cfg)}-")).value(),
            AlarmDescription=description,
            Namespace="AWS/SQS",
            MetricName="ApproximateNumberOfMessagesVisible",
            Dimensions=dimensions(QueueName=GetAtt(logical_id, "QueueName")),
            Statistic="Maximum",
            Period=PERIOD_SECONDS,
            EvaluationPeriods=1,
            Threshold=0,
            ComparisonOperator="GreaterThanThreshold",
            TreatMissingData="notBreaching",
            AlarmActions=[alarm_topic],
            OKActions=[alarm_topic],
            **when,
        )
    )


def add_topic_policy(t: Template, cfg: Config, publisher_role_arns: list) -> None:
    """Restrict publishing to this stack's alarms, rules and the given function roles."""
    t.add_resource(
        sns.TopicPolicy(
            ALERTS_TOPIC_POLICY,
            Topics=[Ref(ALERTS_TOPIC)],
            PolicyDocument=alerting_policies.alerts_topic(Ref(ALERTS_TOPIC), naming.prefix(cfg), publisher_role_arns),
        )
    )


def metric_alarm(
    t: Template,
    cfg: Config,
    logical_id: str,
    slug: str,
    description: str,
    *,
    threshold: float,
    comparison: str = "GreaterThanThreshold",
    evaluation_periods: int = 1,
    treat_missing_data: str = "notBreaching",
    **metric,
) -> cloudwatch.Alarm:
    """An alarm to this region's alerts topic, for ALARM and back to OK."""
    return t.add_resource(
        cloudwatch.Alarm(
            logical_id,
            AlarmName=naming.alarm(cfg, slug).value(),
            AlarmDescription=description,
            Threshold=threshold,
            ComparisonOperator=comparison,
            EvaluationPeriods=evaluation_periods,
            DatapointsToAlarm=evaluation_periods,
            TreatMissingData=treat_missing_data,
            AlarmActions=[Ref(ALERTS_TOPIC)],
            OKActions=[Ref(ALERTS_TOPIC)],
            **({"Period": PERIOD_SECONDS} if "Metrics" not in metric and "Period" not in metric else {}),
            **metric,
        )
    )


def dimensions(**values) -> list[cloudwatch.MetricDimension]:
    return [cloudwatch.MetricDimension(Name=name, Value=value) for name, value in values.items()]


def _add_database_alarms(t: Template, cfg: Config) -> None:
    threshold = lag_threshold_milliseconds(cfg)
    for logical_id, slug, metric in (
        (RPO_LAG_ALARM, "aurora-rpo-lag", "AuroraGlobalDBRPOLag"),
        (REPLICATION_LAG_ALARM, "aurora-replication-lag", "AuroraGlobalDBReplicationLag"),
    ):
        metric_alarm(
            t,
            cfg,
            logical_id,
            slug,
            f"{metric} of this region's cluster above {threshold:.0f} ms, {cfg.alerts.lag_alarm_fraction_of_rpo:.0%} "
            f"of the {cfg.objectives.rpo_seconds} s RPO. Aurora publishes it only for a secondary cluster, so "
            "missing data (this region holds the writer) is not breaching: the alarm is live wherever the secondary is.",
            threshold=threshold,
            Namespace="AWS/RDS",
            MetricName=metric,
            Dimensions=dimensions(DBClusterIdentifier=Ref(DB_CLUSTER)),
            Statistic="Maximum",
        )
    writer = dimensions(DBClusterIdentifier=Ref(DB_CLUSTER), Role="WRITER")
    metric_alarm(
        t, cfg, "DbWriterCpuAlarm", "aurora-writer-cpu",
        f"Aurora writer CPU above {cfg.alerts.db_cpu_percent}% for 5 minutes (no data where this region holds no writer)",
        threshold=cfg.alerts.db_cpu_percent, evaluation_periods=5,
        Namespace="AWS/RDS", MetricName="CPUUtilization", Dimensions=writer, Statistic="Average",
    )
    metric_alarm(
        t, cfg, "DbWriterMemoryAlarm", "aurora-writer-freeable-memory",
        f"Aurora writer freeable memory below {cfg.alerts.db_freeable_memory_mib} MiB for 5 minutes",
        threshold=cfg.alerts.db_freeable_memory_mib * MEBIBYTE, comparison="LessThanThreshold", evaluation_periods=5,
        Namespace="AWS/RDS", MetricName="FreeableMemory", Dimensions=writer, Statistic="Minimum",
    )
    metric_alarm(
        t, cfg, "DbWriterConnectionsAlarm", "aurora-writer-connections",
        f"Aurora writer connections above {cfg.alerts.db_connections} for 5 minutes",
        threshold=cfg.alerts.db_connections, evaluation_periods=5,
        Namespace="AWS/RDS", MetricName="DatabaseConnections", Dimensions=writer, Statistic="Maximum",
    )


def _container_insights(metric_id: str, metric: str, app: App) -> cloudwatch.MetricDataQuery:
    return cloudwatch.MetricDataQuery(
        Id=metric_id,
        ReturnData=False,
        MetricStat=cloudwatch.MetricStat(
            Metric=cloudwatch.Metric(
                Namespace="ECS/ContainerInsights",
                MetricName=metric,
                Dimensions=dimensions(ClusterName=app.cluster_name, ServiceName=app.service_name),
            ),
            Period=PERIOD_SECONDS,
            Stat="Average",
        ),
    )


def _add_service_alarms(t: Template, cfg: Config, app: App) -> None:
    service = dimensions(ClusterName=app.cluster_name, ServiceName=app.service_name)
    for logical_id, slug, metric, percent in (
        ("EcsCpuAlarm", "app-cpu", "CPUUtilization", cfg.alerts.ecs_cpu_percent),
        ("EcsMemoryAlarm", "app-memory", "MemoryUtilization", cfg.alerts.ecs_memory_percent),
    ):
        metric_alarm(
            t, cfg, logical_id, slug, f"App service {metric} above {percent}% for 3 minutes",
            threshold=percent, evaluation_periods=3,
            Namespace="AWS/ECS", MetricName=metric, Dimensions=service, Statistic="Average",
        )
    metric_alarm(
        t, cfg, "EcsRunningBelowDesiredAlarm", "app-tasks-below-desired",
        "Fewer app tasks running than desired for 5 minutes; no data means no tasks report at all",
        threshold=0, evaluation_periods=5, treat_missing_data="breaching",
        Metrics=[
            _container_insights("running", "RunningTaskCount", app),
            _container_insights("desired", "DesiredTaskCount", app),
            cloudwatch.MetricDataQuery(Id="missing", Expression="desired - running", Label="Tasks missing", ReturnData=True),
        ],
    )
    balancer = dimensions(LoadBalancer=app.load_balancer_full_name)
    for logical_id, slug, metric, who in (
        ("AlbElb5xxAlarm", "alb-5xx", "HTTPCode_ELB_5XX_Count", "the load balancer"),
        ("AlbTarget5xxAlarm", "alb-target-5xx", "HTTPCode_Target_5XX_Count", "the app"),
    ):
        metric_alarm(
            t, cfg, logical_id, slug,
            f"More than {cfg.alerts.alb_5xx_per_minute} 5xx responses per minute from {who}, 2 minutes running",
            threshold=cfg.alerts.alb_5xx_per_minute, evaluation_periods=2,
            Namespace="AWS/ApplicationELB", MetricName=metric, Dimensions=balancer, Statistic="Sum",
        )
    metric_alarm(
        t, cfg, "AlbP99LatencyAlarm", "alb-p99-latency",
        f"p99 target response time above {cfg.alerts.p99_latency_seconds} s for 3 minutes",
        threshold=cfg.alerts.p99_latency_seconds, evaluation_periods=3,
        Namespace="AWS/ApplicationELB", MetricName="TargetResponseTime", Dimensions=balancer, ExtendedStatistic="p99",
    )
    metric_alarm(
        t, cfg, "AlbUnhealthyTargetsAlarm", "alb-unhealthy-targets",
        "Unhealthy app targets behind the load balancer for 2 minutes",
        threshold=0, evaluation_periods=2,
        Namespace="AWS/ApplicationELB", MetricName="UnHealthyHostCount",
        Dimensions=dimensions(TargetGroup=app.target_group_full_name, LoadBalancer=app.load_balancer_full_name),
        Statistic="Maximum",
    )


def _add_peer_impaired(t: Template, cfg: Config) -> None:
    """What the runbook's optional automatic trigger watches: replication from the peer stalls.

    Composite alarms see only their own region; the lag metrics are the signal about the
    writer's region that the secondary's region has locally.
    """
    t.add_resource(
        cloudwatch.CompositeAlarm(
            PEER_IMPAIRED_ALARM,
            AlarmName=naming.alarm(cfg, "peer-region-impaired").value(),
            AlarmDescription=(
                "The writer's region looks impaired from here: replication into this region's secondary "
                "cluster lags beyond the alert threshold. Drives the runbook's automatic trigger if enabled."
            ),
            AlarmRule=Sub(f"ALARM(\"${{{RPO_LAG_ALARM}}}\") OR ALARM(\"${{{REPLICATION_LAG_ALARM}}}\")"),
            AlarmActions=[Ref(ALERTS_TOPIC)],
            OKActions=[Ref(ALERTS_TOPIC)],
        )
    )


def _widget(title: str, metrics: list, region: str, x: int, y: int, annotations: dict | None = None) -> dict:
    properties = {"title": title, "region": region, "metrics": metrics, "view": "timeSeries", "stat": "Sum", "period": PERIOD_SECONDS}
    if annotations:
        properties["annotations"] = annotations
    return {"type": "metric", "x": x, "y": y, "width": 12, "height": 6, "properties": properties}


def dashboard_body(cfg: Config) -> dict:
    """Both regions side by side: this region on the left, the peer on the right.

    Metrics are found by deterministic names (dimension values, SEARCH on the ALB name),
    so the peer region's widgets need nothing exported from the peer's stack.
    """
    alb = naming.load_balancer(cfg).pattern
    cluster = naming.db_cluster(cfg)
    widgets = []
    for column, region in enumerate(("${AWS::Region}", f"${{{PEER_REGION_PARAMETER}}}")):
        x = column * 12
        db_cluster = cluster.pattern.replace("${AWS::Region}", region)
        machine = f"arn:${{AWS::Partition}}:states:{region}:${{AWS::AccountId}}:stateMachine:{naming.runbook_state_machine(cfg).pattern}"
        alb_search = f"SEARCH('{{AWS/ApplicationELB,LoadBalancer}} LoadBalancer=\"app/{alb}/\" MetricName=\"%s\"', '%s', {PERIOD_SECONDS})"
        widgets += [
            _widget(f"{region}: requests", [[{"expression": alb_search % ("RequestCount", "Sum"), "id": "requests"}]], region, x, 0),
            _widget(
                f"{region}: 5xx",
                [[{"expression": alb_search % ("HTTPCode_Target_5XX_Count", "Sum"), "id": "target5xx"}],
                 [{"expression": alb_search % ("HTTPCode_ELB_5XX_Count", "Sum"), "id": "elb5xx"}]],
                region, x, 6,
            ),
            _widget(f"{region}: p99 latency (s)", [[{"expression": alb_search % ("TargetResponseTime", "p99"), "id": "p99"}]], region, x, 12),
            _widget(
                f"{region}: replication lag (ms) against the RPO",
                [["AWS/RDS", "AuroraGlobalDBRPOLag", "DBClusterIdentifier", db_cluster, {"stat": "Maximum"}],
                 ["AWS/RDS", "AuroraGlobalDBReplicationLag", "DBClusterIdentifier", db_cluster, {"stat": "Maximum"}]],
                region, x, 18,
                {"horizontal": [{"label": "RPO", "value": cfg.objectives.rpo_seconds * MILLISECONDS},
                                {"label": "alert", "value": lag_threshold_milliseconds(cfg)}]},
            ),
            _widget(
                f"{region}: app tasks",
                [["ECS/ContainerInsights", metric, "ClusterName", naming.ecs_cluster(cfg).pattern, "ServiceName",
                  naming.ecs_service(cfg).pattern, {"stat": "Average"}] for metric in ("RunningTaskCount", "DesiredTaskCount")],
                region, x, 24,
            ),
            _widget(
                f"{region}: DR readiness (1 ready, 0 not)",
                [[naming.readiness_namespace(cfg), naming.READY_METRIC, naming.READINESS_CHECK_DIMENSION, check, {"stat": "Minimum"}]
                 for check in naming.READINESS_CHECKS]
                + [[naming.readiness_namespace(cfg), naming.READY_METRIC, {"stat": "Minimum", "label": "Ready"}]],
                region, x, 36,
            ),
            _widget(
                f"{region}: failover runbook runs",
                [["AWS/States", metric, "StateMachineArn", machine, {"stat": "Sum"}]
                 for metric in ("ExecutionsStarted", "ExecutionsSucceeded", "ExecutionsFailed", "ExecutionsTimedOut")],
                region, x, 30,
            ),
        ]
    return {"widgets": widgets}


def _add_dashboard(t: Template, cfg: Config) -> None:
    t.add_resource(
        cloudwatch.Dashboard(
            DASHBOARD,
            DashboardName=naming.dashboard(cfg).value(),
            DashboardBody=Sub(json.dumps(dashboard_body(cfg), sort_keys=True)),
        )
    )


def add_alerting(t: Template, cfg: Config, app: App, s3_key: str) -> Alerting:
    """Topics, cross-region relay, alarms and the dashboard of this region."""
    _add_topics(t, cfg)
    _add_relay(t, cfg, s3_key)
    _add_database_alarms(t, cfg)
    _add_service_alarms(t, cfg, app)
    _add_peer_impaired(t, cfg)
    _add_dashboard(t, cfg)
    t.add_output(Output("AlertsTopicArn", Description="This region's alerts topic", Value=Ref(ALERTS_TOPIC)))
    return Alerting(topic_arn=Ref(ALERTS_TOPIC))
