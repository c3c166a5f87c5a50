"""One role per runbook function (and the readiness function), each allowed exactly the calls
its code makes.

Statements whose Sid starts with ``Runtime`` serve the Lambda runtime rather than the
function's code (its log group, X-Ray, the key behind the encrypted table and topic);
``tests/lambdas/test_iam_proof.py`` checks every other statement against the calls the
code makes, both ways.
"""

from __future__ import annotations

from awacs import application_autoscaling as autoscaling
from awacs import awslambda as awacs_lambda
from awacs import cloudwatch, dynamodb, ecr, ecs, elasticloadbalancing, logs, rds, route53, s3, secretsmanager, servicequotas, sns, states, xray
from awacs.aws import Allow, Condition, PolicyDocument, Statement, StringEquals

from policies import arns
from policies.functions import document, key_through, runtime_statements


def _publish_metrics(sid: str, namespace: str) -> Statement:
    """PutMetricData supports no resource type: the namespace condition scopes the write."""
    return Statement(
        Sid=sid,
        Effect=Allow,
        Action=[cloudwatch.PutMetricData],
        Resource=["*"],
        Condition=Condition(StringEquals({"cloudwatch:namespace": namespace})),
    )


def _idempotency(table_arn, actions=None) -> Statement:
    return Statement(
        Sid="IdempotencyRecords",
        Effect=Allow,
        Action=actions or [dynamodb.PutItem, dynamodb.GetItem, dynamodb.UpdateItem, dynamodb.DeleteItem],
        Resource=[table_arn],
    )


def promote_database(log_group: str, table_arn, key_arn, global_cluster_id: str, member_cluster_arns: list) -> PolicyDocument:
    """Read the global cluster; switch over or fail over to this region's cluster.

    Both promotion actions are authorised on the global cluster AND the member clusters,
    so all three ARNs are listed (the global cluster's ARN has no region).
    """
    global_arn = arns.global_cluster(global_cluster_id)
    return document(
        *runtime_statements(log_group),
        key_through(("dynamodb",), key_arn),
        _idempotency(table_arn),
        Statement(Sid="ReadGlobalCluster", Effect=Allow, Action=[rds.DescribeGlobalClusters], Resource=[global_arn]),
        Statement(
            Sid="PromoteThisRegionsCluster",
            Effect=Allow,
            Action=[rds.SwitchoverGlobalCluster, rds.FailoverGlobalCluster],
            Resource=[global_arn, *member_cluster_arns],
        ),
        # GetMetricData supports no resource type; it only reads.
        Statement(Sid="ReadReplicationLag", Effect=Allow, Action=[cloudwatch.GetMetricData], Resource=["*"]),
    )


def wait_for_writer(log_group: str, global_cluster_id: str, cluster_arn) -> PolicyDocument:
    return document(
        *runtime_statements(log_group),
        Statement(Sid="ReadGlobalCluster", Effect=Allow, Action=[rds.DescribeGlobalClusters], Resource=[arns.global_cluster(global_cluster_id)]),
        Statement(Sid="ReadThisRegionsCluster", Effect=Allow, Action=[rds.DescribeDBClusters], Resource=[cluster_arn]),
    )


def scale_service(log_group: str, table_arn, key_arn, cluster: str, service: str, health_checks_arn) -> PolicyDocument:
    """This region's service (failover capacity) and the peer's (back to standby on failback; the
    fence, which asks Route 53's checkers when the peer's ECS API does not answer)."""
    regions = ("${AWS::Region}", "${PeerRegion}")
    return document(
        *runtime_statements(log_group),
        key_through(("dynamodb",), key_arn),
        _idempotency(table_arn),
        # DescribeScalableTargets supports no resource type.
        Statement(Sid="ReadScalableTargets", Effect=Allow, Action=[autoscaling.DescribeScalableTargets], Resource=["*"]),
        Statement(
            Sid="SetAutoscalingMinimum",
            Effect=Allow,
            Action=[autoscaling.RegisterScalableTarget],
            Resource=[arns.scalable_targets(region) for region in regions],
            Condition=Condition(StringEquals({"application-autoscaling:service-namespace": "ecs"})),
        ),
        Statement(
            Sid="ScaleThisService",
            Effect=Allow,
            Action=[ecs.DescribeServices, ecs.UpdateService],
            Resource=[arns.ecs_service(cluster, service, region) for region in regions],
        ),
        *_peer_evidence(health_checks_arn),
    )


def _peer_evidence(health_checks_arn) -> list[Statement]:
    """Route 53's checkers' view of the primary's load balancer, found by its Name tag."""
    return [
        # ListHealthChecks supports no resource type.
        Statement(Sid="FindPrimaryHealthCheck", Effect=Allow, Action=[route53.ListHealthChecks], Resource=["*"]),
        Statement(
            Sid="ReadPrimaryHealthCheck",
            Effect=Allow,
            Action=[route53.ListTagsForResources, route53.GetHealthCheckStatus],
            Resource=[health_checks_arn],
        ),
    ]


def switch_traffic(log_group: str, table_arn, key_arn, namespace: str) -> PolicyDocument:
    return document(
        *runtime_statements(log_group),
        key_through(("dynamodb",), key_arn),
        _idempotency(table_arn),
        # Neither action supports a resource type: the namespace condition scopes the write;
        # the read is of the switch's own data (its position is the data, not the alarm state).
        Statement(Sid="ReadSwitchPosition", Effect=Allow, Action=[cloudwatch.GetMetricData], Resource=["*"]),
        _publish_metrics("PublishSwitchMetric", namespace),
    )


def check_capacity(log_group: str, peer_service_arn) -> PolicyDocument:
    # DescribeTargetHealth supports no resource type; it only reads.
    return document(
        *runtime_statements(log_group),
        Statement(Sid="ReadTargetHealth", Effect=Allow, Action=[elasticloadbalancing.DescribeTargetHealth], Resource=["*"]),
        Statement(Sid="ReadFencedService", Effect=Allow, Action=[ecs.DescribeServices], Resource=[peer_service_arn]),
    )


def verify_traffic(log_group: str, health_checks_arn) -> PolicyDocument:
    """Route 53's published status of the PRIMARY record's check, found by its Name tag."""
    return document(
        *runtime_statements(log_group),
        # Neither ListHealthChecks nor GetMetricData supports a resource type.
        Statement(Sid="FindPrimaryHealthCheck", Effect=Allow, Action=[route53.ListHealthChecks], Resource=["*"]),
        Statement(Sid="ReadHealthCheckTags", Effect=Allow, Action=[route53.ListTagsForResources], Resource=[health_checks_arn]),
        Statement(Sid="ReadRecordStatus", Effect=Allow, Action=[cloudwatch.GetMetricData], Resource=["*"]),
    )


def notify(log_group: str, table_arn, key_arn, topic_arn) -> PolicyDocument:
    return document(
        *runtime_statements(log_group),
        key_through(("dynamodb", "sns"), key_arn),
        _idempotency(table_arn),
        Statement(Sid="PublishRunReport", Effect=Allow, Action=[sns.Publish], Resource=[topic_arn]),
    )


def write_report(log_group: str, key_arn, report_objects_arn, executions_arn) -> PolicyDocument:
    """Read this state machine's executions' histories; write reports under the bucket's prefix.

    The key only through S3: "To upload or download an object encrypted with an AWS KMS key to
    or from Amazon S3, you need kms:GenerateDataKey and kms:Decrypt permissions on the key" (S3
    user guide, "Using server-side encryption with AWS KMS keys (SSE-KMS) in directory buckets",
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/s3-express-UsingKMSEncryption.html; the
    report bucket is a general purpose bucket, whose page says the same of uploads)."""
    return document(
        *runtime_statements(log_group),
        key_through(("s3",), key_arn),
        Statement(Sid="ReadOwnExecutionHistory", Effect=Allow, Action=[states.GetExecutionHistory], Resource=[executions_arn]),
        Statement(Sid="WriteFailoverReport", Effect=Allow, Action=[s3.PutObject], Resource=[report_objects_arn]),
    )


def admit_automatic_run(log_group: str, table_arn, key_arn, health_checks_arn) -> PolicyDocument:
    """The interval record, and Route 53's view of the primary's load balancer (found by its
    Name tag: the primary's stack created it, so no ARN narrower than the account's checks)."""
    return document(
        *runtime_statements(log_group),
        key_through(("dynamodb",), key_arn),
        _idempotency(table_arn, [dynamodb.PutItem]),
        *_peer_evidence(health_checks_arn),
    )


def state_machine(function_arns: list) -> PolicyDocument:
    """Invoke the runbook's functions; deliver its logs; trace."""
    return document(
        Statement(Sid="InvokeRunbookFunctions", Effect=Allow, Action=[awacs_lambda.InvokeFunction], Resource=function_arns),
        # CloudWatch Logs' log-delivery actions for vended logs support no resource type.
        Statement(
            Sid="DeliverExecutionLogs",
            Effect=Allow,
            Action=[
                logs.CreateLogDelivery,
                logs.GetLogDelivery,
                logs.UpdateLogDelivery,
                logs.DeleteLogDelivery,
                logs.ListLogDeliveries,
                logs.PutResourcePolicy,
                logs.DescribeResourcePolicies,
                logs.DescribeLogGroups,
            ],
            Resource=["*"],
        ),
        Statement(
            Sid="WriteTraces",
            Effect=Allow,
            Action=[xray.PutTraceSegments, xray.PutTelemetryRecords, xray.GetSamplingRules, xray.GetSamplingTargets],
            Resource=["*"],
        ),
    )


def start_runbook(state_machine_arn) -> PolicyDocument:
    """EventBridge's role for the automatic trigger: start this state machine, nothing else."""
    return document(
        Statement(
            Sid="StartRunbook",
            Effect=Allow,
            Action=[states.StartExecution],
            Resource=[state_machine_arn],
        )
    )


def readiness(
    log_group: str, global_cluster_id: str, member_cluster_arns: list, secret_arns: list, service_arn, repository_arns: list, quota_arn,
    switch_alarm_arn, state_machine: str, namespace: str, switch_namespace: str, reads_account_concurrency: bool,
) -> PolicyDocument:
    """Read what a failover depends on, in this region (and the switch and the primary copy
    of the secret, which live in one region each; both clusters' engine versions); publish
    the readiness metrics."""
    return document(
        *runtime_statements(log_group),
        Statement(Sid="ReadDatabaseRole", Effect=Allow, Action=[rds.DescribeGlobalClusters], Resource=[arns.global_cluster(global_cluster_id)]),
        Statement(
            Sid="ReadEngineVersions",
            Effect=Allow,
            Action=[rds.DescribeDBClusters, rds.DescribePendingMaintenanceActions],
            Resource=member_cluster_arns,
        ),
        Statement(Sid="ReadSecretReplication", Effect=Allow, Action=[secretsmanager.DescribeSecret], Resource=secret_arns),
        Statement(Sid="ReadServiceCapacity", Effect=Allow, Action=[ecs.DescribeServices], Resource=[service_arn]),
        # DescribeTaskDefinition supports no resource type; the images are looked up in this
        # region's repositories the task definition may name.
        Statement(Sid="ReadTaskImages", Effect=Allow, Action=[ecs.DescribeTaskDefinition], Resource=["*"]),
        Statement(Sid="FindImagesHere", Effect=Allow, Action=[ecr.DescribeImages, ecr.DescribeRepositories], Resource=repository_arns),
        Statement(Sid="ReadFargateQuota", Effect=Allow, Action=[servicequotas.GetServiceQuota], Resource=[quota_arn]),
        # Without reservations, the account's unreserved concurrency (GetAccountSettings: no resource type).
        *([Statement(Sid="ReadLambdaConcurrency", Effect=Allow, Action=[awacs_lambda.GetAccountSettings], Resource=["*"])]
          if reads_account_concurrency else []),
        Statement(Sid="ReadSwitch", Effect=Allow, Action=[cloudwatch.DescribeAlarms], Resource=[switch_alarm_arn]),
        # The Service Authorization Reference requires both types for ListExecutions (a state
        # machine's runs, or a map run's): the map runs named are this machine's own.
        Statement(
            Sid="ReadRunbookRuns",
            Effect=Allow,
            Action=[states.ListExecutions],
            Resource=[arns.arn("states", f"stateMachine:{state_machine}"), arns.arn("states", f"mapRun:{state_machine}/*:*")],
        ),
        # Neither supports a resource type: lag and Fargate usage are read, the namespace
        # condition scopes the write to the readiness metrics.
        Statement(Sid="ReadLagAndUsage", Effect=Allow, Action=[cloudwatch.GetMetricData], Resource=["*"]),
        _publish_metrics("PublishReadiness", namespace),
        # The thrown switch's position, again (the DR region's readiness; the same value).
        _publish_metrics("RepublishThrownSwitch", switch_namespace),
    )


def scheduler_invokes(function_arn) -> PolicyDocument:
    return document(Statement(Sid="InvokeReadiness", Effect=Allow, Action=[awacs_lambda.InvokeFunction], Resource=[function_arn]))
