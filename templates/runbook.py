"""The failover runbook: Lambda functions and a Step Functions state machine per region.

The same runbook fails over and fails back: started in the DR region it promotes the DR
cluster, scales the DR service and throws the failover switch; started in the primary
region (after a failover) it promotes the primary's cluster back and releases the switch.
Started by hand (``build.py failover``); an opt-in parameter lets the composite "peer
region impaired" alarm start an unplanned run through EventBridge.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

from troposphere import Equals, GetAtt, If, Output, Parameter, Ref, Sub, Template
from troposphere import dynamodb, events, iam, stepfunctions

from policies import arns
from policies import runbook as runbook_policies
from policies.alerting import queue_written_by
from policies.trust import service_trust
from templates import dns, functions, naming, reports
from templates.alerting import PEER_IMPAIRED_ALARM, Alerting, add_dead_letter_queue, dimensions, metric_alarm
from templates.compute import DEREGISTRATION_DELAY_SECONDS, App
from templates.config import Config
from templates.database import DB_CLUSTER
from templates.regions import IS_PRIMARY, PEER_REGION_PARAMETER, PRIMARY, ROLE_PARAMETER, ROUTE53_METRICS_REGION_PARAMETER
from templates.security import data_key_arn
from templates.suppressions import typeless_wildcards

TABLE = "RunbookIdempotencyTable"
STATE_MACHINE = "RunbookStateMachine"
STATE_MACHINE_ROLE = "RunbookStateMachineRole"
STATE_MACHINE_LOG_GROUP = "RunbookStateMachineLogGroup"
AUTOMATIC_PARAMETER = "AutomaticFailover"
AUTOMATIC_ENABLED = "AutomaticFailoverEnabled"
STEPS = (
    "admit_automatic_run", "promote_database", "wait_for_writer", "scale_service", "check_capacity",
    "switch_traffic", "verify_traffic", "write_report", "notify",
)
# Reserved per function: other functions exhausting the region's concurrency (as retry storms
# in a regional incident do) cannot starve the runbook. A run invokes one step at a time;
# the second slot lets a retry overlap an invocation that is still timing out.
RESERVED_CONCURRENCY = 2
# Errors a retry cannot fix: the request or the global database's state must change first.
FINAL_ERRORS = [
    "DataLossNotAccepted", "FailoverElsewhere", "FailbackNeedsDrRegion", "NotAMember", "TargetNotSynchronized",
    "PromotionRefused", "FenceNotConfirmed", "MissingSetting", "StepError",
]
# The worst case of one AWS call in the functions: every attempt times out, plus backoff
# (lambdas/runbook/runtime.py WORST_CALL_SECONDS; tests keep the two equal).
WORST_CALL_SECONDS = 24
# A claim outlives its holder's timeout by this much (clock skew between invocations).
LEASE_MARGIN_SECONDS = 5
IN_PROGRESS_RETRY_SECONDS = 10
DEATHS_SURVIVED = 2


def timing(cfg: Config) -> dict:
    """The runbook's time budget, derived in one place: the lease outlives any live holder
    (its timeout), the state machine retries a claimed step for longer than the lease, and a
    function starts a call only while the call's worst case fits before its timeout."""
    timeout = cfg.runbook.function_timeout_seconds
    lease = timeout + LEASE_MARGIN_SECONDS
    # Two leases: the step may die again after taking over a dead holder's claim (a drill
    # found one lease too short: Step Functions counts a retrier's attempts across them).
    attempts = math.ceil(DEATHS_SURVIVED * lease / IN_PROGRESS_RETRY_SECONDS) + 1
    return {
        "function_timeout_seconds": timeout,
        "worst_call_seconds": WORST_CALL_SECONDS,
        "safety_margin_seconds": WORST_CALL_SECONDS + 1,
        "lease_seconds": lease,
        "in_progress_retry_seconds": IN_PROGRESS_RETRY_SECONDS,
        "in_progress_retry_attempts": attempts,
        "in_progress_retry_span_seconds": IN_PROGRESS_RETRY_SECONDS * attempts,
    }


def logical_id(step: str) -> str:
    return "".join(part.title() for part in step.split("_")) + "Function"


@dataclass(frozen=True)
class Runbook:
    role_arns: list


def region_parameters(cfg: Config, region: str) -> dict[str, str]:
    """The automatic trigger exists only in the DR region: an alarm never starts a failback
    (after a failover the primary's peer looks impaired too, and the roles would flip)."""
    return {AUTOMATIC_PARAMETER: str(cfg.runbook.automatic_trigger and region == cfg.dr_region).lower()}


def _add_state_machine(t: Template, cfg: Config) -> None:
    name = naming.runbook_state_machine(cfg)
    log_group_name = f"/aws/vendedlogs/states/{name.pattern}"
    functions.log_group(t, cfg, STATE_MACHINE_LOG_GROUP, log_group_name, cfg.logs.runbook_retention_days)
    t.add_resource(
        iam.Role(
            STATE_MACHINE_ROLE,
            Metadata=typeless_wildcards(),
            # aws:SourceAccount and aws:SourceArn as "Creating an IAM role for your state machine in Step
            # Functions", "Prevent cross-service confused deputy issue", shows them
            # (https://docs.aws.amazon.com/step-functions/latest/dg/procedure-create-iam-role.html).
            AssumeRolePolicyDocument=service_trust("states.amazonaws.com", arns.arn("states", f"stateMachine:{name.pattern}")),
            Policies=[
                iam.Policy(
                    PolicyName="run-runbook",
                    PolicyDocument=runbook_policies.state_machine([GetAtt(logical_id(step), "Arn") for step in STEPS]),
                )
            ],
        )
    )
    t.add_resource(
        stepfunctions.StateMachine(
            STATE_MACHINE,
            StateMachineName=name.value(),
            StateMachineType="STANDARD",
            RoleArn=GetAtt(STATE_MACHINE_ROLE, "Arn"),
            Definition=definition(cfg),
            DefinitionSubstitutions={
                # The Lambda service integration, in this partition.
                "LambdaInvoke": Sub("arn:${AWS::Partition}:states:::lambda:invoke"),
                "RegionRole": Ref(ROLE_PARAMETER),
                # The regions the report step's plan names (the budget's wording).
                "PrimaryRegion": If(IS_PRIMARY, Ref("AWS::Region"), Ref(PEER_REGION_PARAMETER)),
                "DrRegion": If(IS_PRIMARY, Ref(PEER_REGION_PARAMETER), Ref("AWS::Region")),
                "Route53MetricsRegion": Ref(ROUTE53_METRICS_REGION_PARAMETER),
                **{logical_id(step): GetAtt(logical_id(step), "Arn") for step in STEPS},
            },
            LoggingConfiguration=stepfunctions.LoggingConfiguration(
                Level="ALL",
                IncludeExecutionData=True,
                Destinations=[
                    stepfunctions.LogDestination(
                        CloudWatchLogsLogGroup=stepfunctions.CloudWatchLogsLogGroup(LogGroupArn=GetAtt(STATE_MACHINE_LOG_GROUP, "Arn"))
                    )
                ],
            ),
            TracingConfiguration=stepfunctions.TracingConfiguration(Enabled=True),
        )
    )
    t.add_output(Output("RunbookStateMachineArn", Description="Start failovers here (build.py failover)", Value=Ref(STATE_MACHINE)))


AUTOMATIC_TRIGGER_DLQ = "AutomaticFailoverDeadLetterQueue"
# EventBridge retries a failed StartExecution with backoff; an event older than the time a
# person takes to decide is theirs to act on (the dead-letter queue's alarm tells them).
AUTOMATIC_TRIGGER_RETRIES = 8


def _add_automatic_trigger(t: Template, cfg: Config, alerting: Alerting) -> None:
    """Opt-in: the composite alarm's move to ALARM starts an unplanned, data-loss-accepting run."""
    t.add_parameter(
        Parameter(
            AUTOMATIC_PARAMETER,
            Type="String",
            AllowedValues=["true", "false"],
            Description="Start an unplanned failover (accepting data loss) when the peer region looks impaired",
        )
    )
    t.add_condition(AUTOMATIC_ENABLED, Equals(Ref(AUTOMATIC_PARAMETER), "true"))
    rule = naming.automatic_failover_rule(cfg)
    add_dead_letter_queue(
        t, cfg, AUTOMATIC_TRIGGER_DLQ, naming.failover_trigger_dead_letter_queue(cfg), data_key_arn(cfg),
        policy=queue_written_by(
            "events.amazonaws.com", GetAtt(AUTOMATIC_TRIGGER_DLQ, "Arn"), arns.arn("events", f"rule/{rule.pattern}"),
            sid="RuleDeadLetters",
        ),
        alarm_topic=alerting.topic_arn,
        description="EventBridge could not start the runbook for an automatic failover: the event is in this "
        "queue; decide by hand (build.py failover)",
        condition=AUTOMATIC_ENABLED,
    )
    t.add_resource(
        iam.Role(
            "AutomaticFailoverRole",
            Condition=AUTOMATIC_ENABLED,
            # "For EventBridge event bus rule targets, the value of aws:SourceArn must be the rule ARN"
            # ("Cross-service confused deputy prevention in Amazon EventBridge",
            # https://docs.aws.amazon.com/eventbridge/latest/userguide/cross-service-confused-deputy-prevention.html).
            AssumeRolePolicyDocument=service_trust("events.amazonaws.com", arns.arn("events", f"rule/{rule.pattern}")),
            Policies=[iam.Policy(PolicyName="start-runbook", PolicyDocument=runbook_policies.start_runbook(Ref(STATE_MACHINE)))],
        )
    )
    t.add_resource(
        events.Rule(
            "AutomaticFailoverRule",
            Condition=AUTOMATIC_ENABLED,
            Name=rule.value(),
            Description="Peer region impaired: start the runbook (unplanned, data loss accepted)",
            EventPattern={
                "source": ["aws.cloudwatch"],
                "detail-type": ["CloudWatch Alarm State Change"],
                "resources": [GetAtt(PEER_IMPAIRED_ALARM, "Arn")],
                "detail": {"state": {"value": ["ALARM"]}},
            },
            Targets=[
                events.Target(
                    Id="runbook",
                    Arn=Ref(STATE_MACHINE),
                    RoleArn=GetAtt("AutomaticFailoverRole", "Arn"),
                    DeadLetterConfig=events.DeadLetterConfig(Arn=GetAtt(AUTOMATIC_TRIGGER_DLQ, "Arn")),
                    RetryPolicy=events.RetryPolicy(
                        MaximumRetryAttempts=AUTOMATIC_TRIGGER_RETRIES,
                        MaximumEventAgeInSeconds=cfg.objectives.decision_seconds,
                    ),
                    InputTransformer=events.InputTransformer(
                        InputPathsMap={"id": "$.id"},
                        InputTemplate=json.dumps(
                            {"failover_id": "automatic-<id>", "mode": "unplanned", "accept_data_loss": True, "trigger": "alarm"}
                        ),
                    ),
                )
            ],
        )
    )


def add_runbook(t: Template, cfg: Config, alerting: Alerting, app: App, s3_key: str) -> Runbook:
    """The idempotency table, the step functions, the state machine and the optional trigger."""
    _add_table(t, cfg)
    role_arns = _add_functions(t, cfg, alerting, app, s3_key)
    _add_state_machine(t, cfg)
    _add_automatic_trigger(t, cfg, alerting)
    _add_alarms(t, cfg)
    return Runbook(role_arns=role_arns)


def _add_alarms(t: Template, cfg: Config) -> None:
    """Errors and throttles of every step's function; runs that failed or timed out."""
    for step in STEPS:
        function = dimensions(FunctionName=Ref(logical_id(step)))
        for metric, what in (("Errors", "errors"), ("Throttles", "throttles")):
            metric_alarm(
                t, cfg, f"{logical_id(step)}{metric}Alarm", f"{step.replace('_', '-')}-{what}",
                f"The runbook's {step.replace('_', ' ')} function reported {what}",
                threshold=0, Namespace="AWS/Lambda", MetricName=metric, Dimensions=function, Statistic="Sum",
            )
    machine = dimensions(StateMachineArn=Ref(STATE_MACHINE))
    for metric, what in (("ExecutionsFailed", "failed"), ("ExecutionsTimedOut", "timed out")):
        metric_alarm(
            t, cfg, f"Runbook{metric}Alarm", f"runbook-{metric.lower()}",
            f"A failover runbook run {what}: see its failure notification and execution history",
            threshold=0, Namespace="AWS/States", MetricName=metric, Dimensions=machine, Statistic="Sum",
        )


def _add_table(t: Template, cfg: Config) -> None:
    t.add_resource(
        dynamodb.Table(
            TABLE,
            TableName=naming.runbook_table(cfg).value(),
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[dynamodb.KeySchema(AttributeName="pk", KeyType="HASH")],
            AttributeDefinitions=[dynamodb.AttributeDefinition(AttributeName="pk", AttributeType="S")],
            TimeToLiveSpecification=dynamodb.TimeToLiveSpecification(AttributeName="expires_at", Enabled=True),
            SSESpecification=dynamodb.SSESpecification(SSEEnabled=True, SSEType="KMS", KMSMasterKeyId=data_key_arn(cfg)),
            PointInTimeRecoverySpecification=dynamodb.PointInTimeRecoverySpecification(PointInTimeRecoveryEnabled=True),
            # Claims and results of past runs; a new stack starts with none.
            DeletionPolicy="Delete",
            UpdateReplacePolicy="Delete",
        )
    )


def _step_settings(cfg: Config, alerting: Alerting, app: App) -> dict[str, dict]:
    """Each step's environment: every identifier it uses comes from here (seed defect 9)."""
    switch = dns.timing(cfg)["switch"]
    cluster_arn = arns.db_cluster(naming.db_cluster(cfg).pattern)
    peer_evidence = {
        # Evidence the primary is impaired: Route 53's view of its load balancer.
        "PEER_HEALTH_CHECK_NAME": Sub(dns.alb_health_check_name(cfg).replace("${AWS::Region}", f"${{{PEER_REGION_PARAMETER}}}")),
        # Route 53's API lives in the partition's first region (where its metrics are).
        "PEER_HOSTS_ROUTE53_API": str(cfg.route53_metrics_region == cfg.primary_region).lower(),
    }
    database = {
        "GLOBAL_CLUSTER_ID": naming.global_cluster(cfg).pattern,
        "DB_CLUSTER_ARN": cluster_arn,
        "DB_CLUSTER_ID": Ref(DB_CLUSTER),
    }
    return {
        "admit_automatic_run": {
            "MIN_INTERVAL_SECONDS": str(cfg.runbook.min_minutes_between_automatic_runs * 60),
            **peer_evidence,
        },
        "promote_database": database,
        "wait_for_writer": database,
        "scale_service": {
            # The fence asks Route 53 whether an old primary that does not answer still serves.
            **peer_evidence,
            "CLUSTER_NAME": naming.ecs_cluster(cfg).pattern,
            "SERVICE_NAME": naming.ecs_service(cfg).pattern,
            # Failing back, the primary returns to its own count (fencing may have left it at 0).
            "FAILOVER_DESIRED_COUNT": If(IS_PRIMARY, str(cfg.app.primary_desired_count), str(cfg.app.failover_desired_count)),
            # Failing back from the primary region: the DR service returns to warm standby.
            "PEER_REGION": Ref(PEER_REGION_PARAMETER),
            "PEER_STANDBY_DESIRED_COUNT": str(cfg.app.dr_desired_count),
        },
        "switch_traffic": {
            # The switch lives in the DR region: local there, the peer when failing back.
            "SWITCH_REGION": If(IS_PRIMARY, Ref(PEER_REGION_PARAMETER), Ref("AWS::Region")),
            "SWITCH_NAMESPACE": switch["namespace"],
            "SWITCH_METRIC": switch["metric"],
            "SWITCH_THROWN_VALUE": str(switch["throw_value"]),
            "SWITCH_RELEASED_VALUE": str(switch["release_value"]),
        },
        "check_capacity": {
            "TARGET_GROUP_ARN": app.target_group_arn,
            # The fence check: the old primary's service, in the peer region, and how long its tasks may drain.
            "FENCE_DRAIN_SECONDS": str(FENCE_DRAIN_SECONDS),
            "CLUSTER_NAME": naming.ecs_cluster(cfg).pattern,
            "SERVICE_NAME": naming.ecs_service(cfg).pattern,
            "PEER_REGION": Ref(PEER_REGION_PARAMETER),
        },
        # Route 53's own view: the PRIMARY record's calculated check (this stack's in the primary
        # region; found by its Name tag from the DR region), read from Route 53's metrics region.
        "verify_traffic": {
            "PRIMARY_HEALTH_CHECK_ID": If(IS_PRIMARY, Ref(dns.PRIMARY_HEALTH_CHECK), ""),
            "PRIMARY_HEALTH_CHECK_NAME": dns.primary_health_check_name(cfg),
            "ROUTE53_METRICS_REGION": Ref(ROUTE53_METRICS_REGION_PARAMETER),
        },
        # The run's report goes to this region's report bucket (the bootstrap stack's), under its prefix.
        "write_report": {
            "REPORT_BUCKET": naming.report_bucket(cfg).value(),
            "REPORT_PREFIX": reports.REPORT_PREFIX,
            "REPORT_KEY_ARN": data_key_arn(cfg),
        },
        "notify": {
            "ALERTS_TOPIC_ARN": alerting.topic_arn,
            # Where the run's report is written: the failure notification names it before it is there.
            "REPORT_BUCKET": naming.report_bucket(cfg).value(),
            "REPORT_PREFIX": reports.REPORT_PREFIX,
            # Where an unplanned failover's snapshot of the old primary is (the report says).
            "PEER_REGION": Ref(PEER_REGION_PARAMETER),
            "PEER_DB_CLUSTER_ID": naming.db_cluster(cfg).in_region_of(PEER_REGION_PARAMETER),
            "BACKUP_RETENTION_DAYS": str(cfg.database.backup_retention_days),
        },
    }


def _step_policy(step: str, cfg: Config, log_group: str, alerting: Alerting):
    table, key = GetAtt(TABLE, "Arn"), data_key_arn(cfg)
    cluster = naming.db_cluster(cfg)
    if step == "promote_database":
        members = [arns.db_cluster(cluster.pattern), arns.db_cluster_in(cluster.pattern.replace("${AWS::Region}", "${PeerRegion}"), "${PeerRegion}")]
        return runbook_policies.promote_database(log_group, table, key, naming.global_cluster(cfg).pattern, members)
    if step == "wait_for_writer":
        return runbook_policies.wait_for_writer(log_group, naming.global_cluster(cfg).pattern, arns.db_cluster(cluster.pattern))
    if step == "scale_service":
        return runbook_policies.scale_service(log_group, table, key, naming.ecs_cluster(cfg).pattern, naming.ecs_service(cfg).pattern, arns.health_check("*"))
    if step == "switch_traffic":
        return runbook_policies.switch_traffic(log_group, table, key, dns.switch_namespace(cfg))
    if step == "notify":
        return runbook_policies.notify(log_group, table, key, alerting.topic_arn)
    if step == "write_report":
        return runbook_policies.write_report(
            log_group, key, arns.bucket(f"{naming.report_bucket(cfg).pattern}/{reports.REPORT_PREFIX}*"),
            arns.arn("states", f"execution:{naming.runbook_state_machine(cfg).pattern}:*"),
        )
    if step == "check_capacity":
        return runbook_policies.check_capacity(log_group, arns.ecs_service(naming.ecs_cluster(cfg).pattern, naming.ecs_service(cfg).pattern, "${PeerRegion}"))
    if step == "verify_traffic":
        return runbook_policies.verify_traffic(log_group, arns.health_check("*"))
    return runbook_policies.admit_automatic_run(log_group, table, key, arns.health_check("*"))


def _add_functions(t: Template, cfg: Config, alerting: Alerting, app: App, s3_key: str) -> list:
    settings = _step_settings(cfg, alerting, app)
    return [
        functions.add_function(
            t, cfg, logical_id(step), naming.runbook_function(cfg, step),
            description=f"DR runbook step: {step.replace('_', ' ')}",
            handler=f"runbook.{step}.handler",
            s3_key=s3_key,
            policy_name=step,
            policy=lambda log_group_name, step=step: _step_policy(step, cfg, log_group_name, alerting),
            log_retention_days=cfg.logs.runbook_retention_days,
            environment={
                "AWS_ACCOUNT_ID": Ref("AWS::AccountId"),
                "IDEMPOTENCY_TABLE": Ref(TABLE),
                "LEASE_SECONDS": str(timing(cfg)["lease_seconds"]),
                "REGION_ROLE": Ref(ROLE_PARAMETER),
                **settings.get(step, {}),
            },
            timeout=cfg.runbook.function_timeout_seconds,
            reserved_concurrency=RESERVED_CONCURRENCY,
            dead_letter_reason="Invoked synchronously by the runbook state machine, which retries and catches "
            "errors; a DLQ only receives failed asynchronous invocations",
        )
        for step in STEPS
    ]


def _task(cfg: Config, step: str, result: str, next_state: str, payload: dict) -> dict:
    """Invoke a step's function with backoff-and-jitter retries and a catch to the failure path
(on-call is paged first, then the failure report is written).

    A step another invocation still holds (``StepInProgress``: a duplicate, or a holder that
    was killed) is retried for longer than the lease, so a dead holder's claim is taken over.
    """
    budget = timing(cfg)
    return {
        "Type": "Task",
        "Resource": "${LambdaInvoke}",
        "Parameters": {"FunctionName": f"${{{logical_id(step)}}}", "Payload": payload},
        "ResultSelector": {"result.$": "$.Payload"},
        "ResultPath": f"$.run.steps.{result}",
        "Retry": [
            {"ErrorEquals": FINAL_ERRORS, "MaxAttempts": 0},
            # The switch never takes both positions within one metric period (switch_traffic.py).
            {"ErrorEquals": ["SwitchPeriodBusy"], "IntervalSeconds": dns.SWITCH_PERIOD_SECONDS, "BackoffRate": 1.0, "MaxAttempts": 2},
            {
                "ErrorEquals": ["StepInProgress"],
                "IntervalSeconds": budget["in_progress_retry_seconds"],
                "BackoffRate": 1.0,
                "MaxAttempts": budget["in_progress_retry_attempts"],
            },
            {
                "ErrorEquals": ["States.ALL"],
                "IntervalSeconds": 2,
                "BackoffRate": 2.0,
                # Six: one step may meet throttling on three APIs, each outlasting botocore's attempts twice.
                "MaxAttempts": 6,
                "MaxDelaySeconds": 30,
                "JitterStrategy": "FULL",
            },
        ],
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.run.error", "Next": "NotifyFailure"}],
        "Next": next_state,
    }


def _report(outcome: str) -> dict:
    payload = {
        "failover_id.$": "$.failover_id",
        # The report's key and the recovery command name the execution (EventBridge names automatic runs).
        "execution.$": "$$.Execution.Name",
        # SUCCEEDED once the failover has served: a failed success notification does not make it a failure.
        "served.$": "$.run.outcome",
        "mode.$": "$.mode",
        "accept_data_loss.$": "$.accept_data_loss",
        "steps.$": "$.run.steps",
        "outcome": outcome,
        # Where the run's report is, or why it is not (the report step's result or its caught error).
        "report.$": "$.run.steps.report.result",
    }
    if outcome == "failed":
        payload["error.$"] = "$.run.error"
    return payload


# The report step's retries: a few, quickly (on the failure path on-call has been paged already);
# a report that cannot be written is rebuilt later from the history (build.py report).
REPORT_RETRY = {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 2, "BackoffRate": 2.0, "MaxAttempts": 2, "JitterStrategy": "FULL"}
# The history the report step read did not yet show its own state (write_report.py HistoryBehind:
# AWS bounds no running execution's history visibility): a few retries, then the report is not
# written, the notification says so and build.py report builds it from the history later.
HISTORY_RETRY = {"ErrorEquals": ["HistoryBehind"], "IntervalSeconds": 1, "BackoffRate": 2.0, "MaxAttempts": 4}


def retry_seconds(retry: dict) -> float:
    """A retrier's waits between attempts, at their longest (full jitter only shortens them)."""
    interval, rate, cap = retry.get("IntervalSeconds", 1), retry.get("BackoffRate", 2.0), retry.get("MaxDelaySeconds", math.inf)
    return sum(min(interval * rate**n, cap) for n in range(retry.get("MaxAttempts", 3)))


# The regions the budget's wording names, as DefinitionSubstitutions: the template names no region.
PLAN_REGIONS = ("PrimaryRegion", "DrRegion", "Route53MetricsRegion")


def _plan_regions(cfg: Config) -> dict[str, str]:
    return dict(zip(PLAN_REGIONS, (cfg.primary_region, cfg.dr_region, cfg.route53_metrics_region)))


def _regionless(cfg: Config, plan: dict) -> dict:
    """The plan with each region name a substitution (Step Functions puts the names back)."""
    text = json.dumps(plan)
    for key, region in _plan_regions(cfg).items():
        text = text.replace(region, f"${{{key}}}")
    return json.loads(text)


def _write_report(cfg: Config, outcome: str, next_state: str) -> dict:
    """The report step, on one of the two ways a run ends: it reads the execution's own history
    (its ARN from the context object) and measures it against the budget, rendered here as a
    plan. A failure to write is caught (on the success path the notification says so; on the
    failure path, which has paged already, it is in the history) and the run ends as it would have."""
    from checks.budget import for_timing  # checks.budget imports this module

    payload = {
        **WHOLE_STATE,
        "execution.$": "$$.Execution.Id",
        # Its own state's entry: the history it reads must show it (write_report.py HistoryBehind).
        "state.$": "$$.State.Name",
        "outcome": outcome,
        "plan": _regionless(cfg, for_timing(cfg, dns.timing(cfg)).report_plan()),
    }
    if outcome == "failed":
        payload["error.$"] = "$.run.error"
    state = _task(cfg, "write_report", "report", next_state, payload)
    state["Retry"] = [{"ErrorEquals": FINAL_ERRORS, "MaxAttempts": 0}, HISTORY_RETRY, REPORT_RETRY]
    state["Catch"] = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.run.steps.report.result.error", "Next": next_state}]
    return state


REQUEST_DEFAULTS = {"mode": "planned", "accept_data_loss": False, "trigger": "operator"}
WHOLE_STATE = {"failover_id.$": "$.failover_id", "mode.$": "$.mode", "accept_data_loss.$": "$.accept_data_loss", "trigger.$": "$.trigger"}
# Fargate stops a task's containers with SIGTERM and, "if this parameter is not specified, the
# default value of 30 seconds is used" before SIGKILL (ECS API Reference, ContainerDefinition
# stopTimeout); the templates leave it at the default.
# https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDefinition.html
ECS_STOP_TIMEOUT_SECONDS = 30
# The least a fenced task may still run after its count drops (check_capacity waits this long).
FENCE_DRAIN_SECONDS = DEREGISTRATION_DELAY_SECONDS + ECS_STOP_TIMEOUT_SECONDS
# The switch's own confirmation: AWS gives GetMetricData no read-after-write bound; its older
# CLI reference says a new metric's statistics can take "up to two minutes" to be available
# (aws cloudwatch put-metric-data). Two minutes and one period.
# https://docs.aws.amazon.com/cli/latest/reference/cloudwatch/put-metric-data.html
SWITCH_CONFIRM_SECONDS = 120 + dns.SWITCH_PERIOD_SECONDS
# Route 53 reflecting the alarm in the PRIMARY check's status (a minute), and publishing a whole
# minute of it (two: the minute in progress is not published until it ends).
ROUTE53_STATUS_SECONDS = 3 * 60


@dataclass(frozen=True)
class Wait:
    """A bounded polling loop of the state machine: ``Check{noun}`` every ``poll_seconds`` for
    up to ``wait_seconds`` (the first check is immediate, so there is one more check than waits)."""

    noun: str
    step: str
    poll_seconds: int
    wait_seconds: int

    @property
    def checks(self) -> int:
        return self.wait_seconds // self.poll_seconds + 1


def waits(cfg: Config) -> dict[str, Wait]:
    """Every bounded wait of the runbook, in the order a run meets them (the budget counts these)."""
    r = cfg.runbook
    # The fenced tasks drain their targets for the deregistration delay, then get the stop timeout.
    fence = FENCE_DRAIN_SECONDS + r.health_poll_seconds
    return {
        "fence": Wait("Drain", "check_capacity", r.health_poll_seconds, math.ceil(fence / r.health_poll_seconds) * r.health_poll_seconds),
        "capacity": Wait("Capacity", "check_capacity", r.health_poll_seconds, cfg.health_wait_seconds),
        "promotion": Wait("Writer", "wait_for_writer", r.writer_poll_seconds, r.writer_wait_seconds),
        "follow": Wait("Promotion", "wait_for_writer", r.writer_poll_seconds, r.follow_promotion_minutes * 60),
        "switch": Wait("Switch", "switch_traffic", r.health_poll_seconds, math.ceil(SWITCH_CONFIRM_SECONDS / r.health_poll_seconds) * r.health_poll_seconds),
        # The switch alarm's period, Route 53 following it, then one whole minute of its status published.
        "traffic": Wait("Traffic", "verify_traffic", r.health_poll_seconds, dns.SWITCH_PERIOD_SECONDS + ROUTE53_STATUS_SECONDS),
    }


# Step Functions' history quota: "When an execution reaches 24,999 events ... If the event number
# 25,000 isn't ExecutionSucceeded, the ExecutionFailed event is logged and the state machine
# execution fails" (Step Functions developer guide, best practices, "Avoid reaching the history
# quota", https://docs.aws.amazon.com/step-functions/latest/dg/bp-history-limit.html): no catch,
# so no failure notification and no report.
HISTORY_EVENTS_QUOTA = 25_000
# A state visit's entered and exited events; a task attempt's scheduled, started and succeeded,
# failed or timed-out events (HistoryEvent's types,
# https://docs.aws.amazon.com/step-functions/latest/apireference/API_HistoryEvent.html).
EVENTS_PER_STATE_VISIT = 2
EVENTS_PER_TASK_ATTEMPT = 3


def most_visits(cfg: Config) -> dict[str, int]:
    """Each state's most visits in one run: a polling loop's states once per check, the others once."""
    visits = dict.fromkeys(definition(cfg)["States"], 1)
    for wait in waits(cfg).values():
        visits.update(dict.fromkeys(set(_poll_loop(cfg, wait, {}, "", "")) & set(visits), wait.checks))
    return visits


def history_events(cfg: Config) -> int:
    """The most events one run can write: every state at its most visits, every task with all of
    its retries, and the execution's start and end."""
    states = definition(cfg)["States"]

    def per_visit(state: dict) -> int:
        attempts = 1 + sum(retry.get("MaxAttempts", 3) for retry in state.get("Retry", []))
        return EVENTS_PER_STATE_VISIT + (EVENTS_PER_TASK_ATTEMPT * attempts if state["Type"] == "Task" else 0)

    return 2 + sum(count * per_visit(states[name]) for name, count in most_visits(cfg).items())


def _poll_loop(cfg: Config, wait: Wait, payload: dict, ready_next: str, timed_out: str | tuple[str, str]) -> dict:
    """``Check{noun}`` until its result is ready, within ``wait``; then ``ready_next``. When the
    wait runs out: the state ``timed_out`` names, or (given ``(error, cause)``) the failure report."""
    noun = wait.noun
    counter = f"$.run.polls.{noun.lower()}"
    states = {
        f"Check{noun}": _task(cfg, wait.step, noun.lower(), f"{noun}Ready?", payload),
        f"{noun}Ready?": {
            "Type": "Choice",
            "Choices": [{"Variable": f"$.run.steps.{noun.lower()}.result.ready", "BooleanEquals": True, "Next": ready_next}],
            "Default": f"Count{noun}Check",
        },
        f"Count{noun}Check": {
            "Type": "Pass",
            "Parameters": {"value.$": f"States.MathAdd({counter}, 1)"},
            "ResultPath": "$.run.poll",
            "Next": f"{noun}WaitedTooLong?",
        },
        f"{noun}WaitedTooLong?": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.run.poll.value", "NumericGreaterThanEquals": wait.checks, "Next": timed_out if isinstance(timed_out, str) else f"{noun}TimedOut"}],
            "Default": f"WaitBefore{noun}Check",
        },
        f"WaitBefore{noun}Check": {"Type": "Wait", "Seconds": wait.poll_seconds, "Next": f"Remember{noun}Polls"},
        f"Remember{noun}Polls": {"Type": "Pass", "InputPath": "$.run.poll.value", "ResultPath": counter, "Next": f"Check{noun}"},
    }
    if not isinstance(timed_out, str):
        states[f"{noun}TimedOut"] = _refusal(*timed_out)
    return states


def _refusal(error: str, cause: str) -> dict:
    return {"Type": "Pass", "Result": {"Error": error, "Cause": cause}, "ResultPath": "$.run.error", "Next": "NotifyFailure"}


def definition(cfg: Config) -> dict:
    """The state machine (Amazon States Language); ``${...}`` are DefinitionSubstitutions.

    Capacity comes before the promotion: scaling is harmless, and the writer must not move to
    a region that cannot serve it (the app's region-local endpoint turns read-only on a
    switchover). A promotion towards this region that outlasts the writer wait is followed,
    not abandoned: AWS completes it whether or not the runbook still waits."""
    # The failure path pages on-call first (its message names the report's key), then writes the
    # report; a failed success notification comes here too, and the run still ends as the failover did.
    notify_failure = _task(cfg, "notify", "notify", "FailoverServed?", _report("failed"))
    notify_failure["Catch"] = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.run.notify_error", "Next": "FailoverServed?"}]
    w = waits(cfg)
    follow_minutes = cfg.runbook.follow_promotion_minutes
    return {
        "Comment": "DR runbook: fence (unplanned), scale and wait for capacity, promote and wait for the writer, switch traffic, report",
        "StartAt": "Start",
        "States": {
            # A request may omit what has a safe default (a planned, operator-started run).
            "Start": {
                "Type": "Pass",
                "Parameters": {"request.$": f"States.JsonMerge(States.StringToJson('{json.dumps(REQUEST_DEFAULTS)}'), $, false)"},
                "OutputPath": "$.request",
                "Next": "Begin",
            },
            "Begin": {
                "Type": "Pass",
                # The traffic check finds the PRIMARY record's check once and passes it on.
                "Result": {"steps": {"traffic": {"result": {"primary_check": "unknown"}}, "report": {"result": {"written": False}}}, "polls": {wait.noun.lower(): 0 for wait in w.values()}, "role": "${RegionRole}", "outcome": "FAILED"},
                "ResultPath": "$.run",
                "Next": "RequestRefused?",
            },
            # What no retry can change is refused before anything is: an unplanned run that does
            # not accept data loss, and an unplanned failback (the switch lives in the DR region).
            "RequestRefused?": {
                "Type": "Choice",
                "Choices": [
                    {
                        "And": [{"Variable": "$.mode", "StringEquals": "unplanned"}, {"Not": {"Variable": "$.accept_data_loss", "BooleanEquals": True}}],
                        "Next": "DataLossNotAccepted",
                    },
                    {
                        "And": [{"Variable": "$.mode", "StringEquals": "unplanned"}, {"Variable": "$.run.role", "StringEquals": PRIMARY}],
                        "Next": "FailbackNeedsDrRegion",
                    },
                ],
                "Default": "AdmitAutomaticRun",
            },
            "DataLossNotAccepted": _refusal("DataLossNotAccepted", "unplanned failover needs accept_data_loss=true: writes not yet replicated are lost"),
            "FailbackNeedsDrRegion": _refusal(
                "FailbackNeedsDrRegion",
                "failing back is planned only: releasing the failover switch needs the DR region's CloudWatch; "
                "fail back with mode=planned once the DR region is back",
            ),
            "AdmitAutomaticRun": _task(cfg, "admit_automatic_run", "admit", "Admitted?", WHOLE_STATE),
            "Admitted?": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.run.steps.admit.result.admitted", "BooleanEquals": True, "Next": "FenceFirst?"}],
                "Default": "NotAdmitted",
            },
            # An unplanned failover takes the old primary's application offline, and waits for
            # its tasks to stop, before the promotion (Aurora's write fencing is best effort);
            # a refused request changes nothing.
            "FenceFirst?": {
                "Type": "Choice",
                "Choices": [
                    {
                        "And": [
                            {"Variable": "$.mode", "StringEquals": "unplanned"},
                            {"Variable": "$.accept_data_loss", "BooleanEquals": True},
                            {"Not": {"Variable": "$.run.role", "StringEquals": PRIMARY}},
                        ],
                        "Next": "FenceOldPrimary",
                    }
                ],
                "Default": "ScaleService",
            },
            "FenceOldPrimary": _task(cfg, "scale_service", "fence", "Fenced?", {**WHOLE_STATE, "direction": "fence"}),
            # A region that did not answer is down, which fences it: nothing to wait for.
            "Fenced?": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.run.steps.fence.result.fenced", "BooleanEquals": True, "Next": "CheckDrain"}],
                "Default": "ScaleService",
            },
            **_poll_loop(
                cfg, w["fence"], {**WHOLE_STATE, "check": "fence", "fenced_at.$": "$.run.steps.fence.result.at"}, "ScaleService",
                ("FenceNotConfirmed", f"the old primary's tasks were still running or draining {w['fence'].wait_seconds} s after its "
                 "service was set to 0: nothing was promoted (its writes would be lost); run again once they have stopped"),
            ),
            "NotAdmitted": {
                "Type": "Succeed",
                "Comment": "an automatic run within the minimum interval, without evidence of an impaired primary, or failing back",
            },
            "ScaleService": _task(cfg, "scale_service", "scale", "CheckCapacity", {**WHOLE_STATE, "direction": "up"}),
            **_poll_loop(
                cfg, w["capacity"], {**WHOLE_STATE, "check": "capacity"}, "PromoteDatabase",
                ("CapacityNotReady", f"no healthy target behind this region's load balancer after {w['capacity'].wait_seconds} s: "
                 "nothing was promoted and traffic was not moved (Route 53 would keep answering with the other region)"),
            ),
            "PromoteDatabase": _task(cfg, "promote_database", "promote", "CheckWriter", WHOLE_STATE),
            **_poll_loop(cfg, w["promotion"], WHOLE_STATE, "SwitchTraffic", "PromotionUnderWay?"),
            "PromotionUnderWay?": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.run.steps.writer.result.promotion_here", "BooleanEquals": True, "Next": "CheckPromotion"}],
                "Default": "WriterTimedOut",
            },
            "WriterTimedOut": _refusal("WriterNotReady", f"the promoted cluster was not the available writer after "
                                       f"{w['promotion'].wait_seconds} s, and no promotion towards it is under way"),
            # Over budget: AWS is still promoting this region's cluster; follow it, then serve.
            **_poll_loop(
                cfg, w["follow"], WHOLE_STATE, "SwitchTraffic",
                ("PromotionStillRunning", f"the promotion towards this region was still under way after {follow_minutes} more "
                 "minutes: traffic was not moved. When AWS completes it, the writer is here while Route 53 answers with the other "
                 "region: the readiness alarm (SwitchPosition) says so; then run build.py failover --planned to this region "
                 "with a new failover id, which scales, finds the writer here and switches"),
            ),
            "SwitchTraffic": _task(cfg, "switch_traffic", "switch_publish", "CheckSwitch", WHOLE_STATE),
            **_poll_loop(
                cfg, w["switch"], {**WHOLE_STATE, "confirm": True}, "CheckTraffic",
                ("SwitchNotConfirmed", f"the switch was published, but CloudWatch did not show it within {w['switch'].wait_seconds} s; "
                 "Route 53 follows the metric's data once it is readable (the readiness alarm says if it disagrees with the writer)"),
            ),
            **_poll_loop(
                cfg, w["traffic"],
                {**WHOLE_STATE, "since.$": "$.run.steps.switch.result.position_since", "primary_check.$": "$.run.steps.traffic.result.primary_check"},
                "FailingBack?", "TrafficUnverified",
            ),
            # The writer and the switch have moved; AWS does not bound when Route 53 publishes
            # its status: the run succeeds, saying traffic is unverified.
            "TrafficUnverified": {
                "Type": "Pass",
                "Result": {"ready": True, "verified": False, "reason": f"Route 53's status did not show the move within {w['traffic'].wait_seconds} s"},
                "ResultPath": "$.run.steps.traffic.result",
                "Next": "FailingBack?",
            },
            # Failing back: the DR service returns to warm standby, only once Route 53 shows the
            # move (unverified, it stays at failover capacity: it may still be serving).
            "FailingBack?": {
                "Type": "Choice",
                "Choices": [
                    {
                        "And": [
                            {"Variable": "$.run.role", "StringEquals": PRIMARY},
                            {"Variable": "$.run.steps.traffic.result.verified", "BooleanEquals": True},
                        ],
                        "Next": "ReturnPeerToStandby",
                    }
                ],
                "Default": "Served",
            },
            "ReturnPeerToStandby": _task(cfg, "scale_service", "standby", "Served", {**WHOLE_STATE, "direction": "down"}),
            # From here on the run's outcome is the failover's: succeeded.
            "Served": {"Type": "Pass", "Result": "SUCCEEDED", "ResultPath": "$.run.outcome", "Next": "ReportSucceeded"},
            "ReportSucceeded": _write_report(cfg, "succeeded", "Notify"),
            "Notify": _task(cfg, "notify", "notify", "Done", _report("succeeded")),
            "Done": {"Type": "Succeed"},
            "NotifyFailure": notify_failure,
            # Its notification failed after the failover served: the report (written already) and the run stand.
            "FailoverServed?": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.run.outcome", "StringEquals": "SUCCEEDED", "Next": "Done"}],
                "Default": "ReportFailed",
            },
            "ReportFailed": _write_report(cfg, "failed", "Failed"),
            # The run fails with the error that stopped it, not a generic one.
            "Failed": {"Type": "Fail", "ErrorPath": "$.run.error.Error", "CausePath": "$.run.error.Cause"},
        },
    }
