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
from templates import dns, functions, naming
from templates.alerting import PEER_IMPAIRED_ALARM, Alerting, add_dead_letter_queue, dimensions, metric_alarm
from templates.compute import App
from templates.config import Config
from templates.database import DB_CLUSTER
from templates.regions import IS_PRIMARY, PEER_REGION_PARAMETER, PRIMARY, ROLE_PARAMETER
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
    "switch_traffic", "verify_traffic", "notify",
)
# Reserved per function: other functions exhausting the region's concurrency (as retry storms
# in a regional incident do) cannot starve the runbook. A run invokes one step at a time;
# the second slot lets a retry overlap an invocation that is still timing out.
RESERVED_CONCURRENCY = 2
# Errors a retry cannot fix: the request or the global database's state must change first.
FINAL_ERRORS = ["DataLossNotAccepted", "FailoverElsewhere", "FailbackNeedsDrRegion", "NotAMember", "MissingSetting", "StepError"]
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
    database = {
        "GLOBAL_CLUSTER_ID": naming.global_cluster(cfg).pattern,
        "DB_CLUSTER_ARN": cluster_arn,
        "DB_CLUSTER_ID": Ref(DB_CLUSTER),
    }
    return {
        "admit_automatic_run": {
            "MIN_INTERVAL_SECONDS": str(cfg.runbook.min_minutes_between_automatic_runs * 60),
            # Evidence the primary is impaired: Route 53's view of its load balancer.
            "PEER_HEALTH_CHECK_NAME": Sub(dns.alb_health_check_name(cfg).replace("${AWS::Region}", f"${{{PEER_REGION_PARAMETER}}}")),
            # Route 53's API lives in the partition's first region (where its metrics are).
            "PEER_HOSTS_ROUTE53_API": str(cfg.route53_metrics_region == cfg.primary_region).lower(),
        },
        "promote_database": database,
        "wait_for_writer": database,
        "scale_service": {
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
        "check_capacity": {"TARGET_GROUP_ARN": app.target_group_arn},
        # This region's load balancer check: the record's own in the DR region, the calculated
        # PRIMARY check's child in the primary (GetHealthCheckStatus serves no calculated check).
        "verify_traffic": {"HEALTH_CHECK_ID": Ref(dns.ALB_HEALTH_CHECK)},
        "notify": {
            "ALERTS_TOPIC_ARN": alerting.topic_arn,
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
        return runbook_policies.scale_service(log_group, table, key, naming.ecs_cluster(cfg).pattern, naming.ecs_service(cfg).pattern)
    if step == "switch_traffic":
        return runbook_policies.switch_traffic(log_group, table, key, dns.switch_namespace(cfg))
    if step == "notify":
        return runbook_policies.notify(log_group, table, key, alerting.topic_arn)
    if step == "check_capacity":
        return runbook_policies.check_capacity(log_group)
    if step == "verify_traffic":
        return runbook_policies.verify_traffic(log_group, arns.health_check(f"${{{dns.ALB_HEALTH_CHECK}}}"))
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
    """Invoke a step's function with backoff-and-jitter retries and a catch to the failure report.

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
                "MaxAttempts": 5,
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
        "mode.$": "$.mode",
        "accept_data_loss.$": "$.accept_data_loss",
        "steps.$": "$.run.steps",
        "outcome": outcome,
    }
    if outcome == "failed":
        payload["error.$"] = "$.run.error"
    return payload


REQUEST_DEFAULTS = {"mode": "planned", "accept_data_loss": False, "trigger": "operator"}
# The bounded polling loops: the writer, then healthy targets here, then Route 53 seeing them.
POLLED = ("Writer", "Capacity", "Traffic")
WHOLE_STATE = {"failover_id.$": "$.failover_id", "mode.$": "$.mode", "accept_data_loss.$": "$.accept_data_loss", "trigger.$": "$.trigger"}


def _poll_loop(cfg: Config, step: str, noun: str, ready_next: str, poll_seconds: int, wait_seconds: int, error: str, cause: str) -> dict:
    """``Check{noun}`` until its result is ready, every ``poll_seconds`` for ``wait_seconds``
    (the first check is immediate: one more check than waits); then ``ready_next``, or the
    failure report with ``error``."""
    counter = f"$.run.polls.{noun.lower()}"
    max_polls = wait_seconds // poll_seconds + 1
    return {
        f"Check{noun}": _task(cfg, step, noun.lower(), f"{noun}Ready?", WHOLE_STATE),
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
            "Choices": [{"Variable": "$.run.poll.value", "NumericGreaterThanEquals": max_polls, "Next": f"{noun}TimedOut"}],
            "Default": f"WaitBefore{noun}Check",
        },
        f"WaitBefore{noun}Check": {"Type": "Wait", "Seconds": poll_seconds, "Next": f"Remember{noun}Polls"},
        f"Remember{noun}Polls": {"Type": "Pass", "InputPath": "$.run.poll.value", "ResultPath": counter, "Next": f"Check{noun}"},
        f"{noun}TimedOut": {"Type": "Pass", "Result": {"Error": error, "Cause": cause}, "ResultPath": "$.run.error", "Next": "NotifyFailure"},
    }


def definition(cfg: Config) -> dict:
    """The state machine (Amazon States Language); ``${...}`` are DefinitionSubstitutions."""
    notify_failure = _task(cfg, "notify", "notify", "Failed", _report("failed"))
    del notify_failure["Catch"]
    return {
        "Comment": "DR runbook: promote this region's cluster, wait for it, scale, switch traffic, report",
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
                "Result": {"steps": {}, "polls": {noun.lower(): 0 for noun in POLLED}, "role": "${RegionRole}"},
                "ResultPath": "$.run",
                "Next": "AdmitAutomaticRun",
            },
            "AdmitAutomaticRun": _task(cfg, "admit_automatic_run", "admit", "Admitted?", WHOLE_STATE),
            "Admitted?": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.run.steps.admit.result.admitted", "BooleanEquals": True, "Next": "FenceFirst?"}],
                "Default": "NotAdmitted",
            },
            # An unplanned failover takes the old primary's application offline before the
            # promotion (Aurora's write fencing is best effort); a refused request changes nothing.
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
                "Default": "PromoteDatabase",
            },
            "FenceOldPrimary": _task(cfg, "scale_service", "fence", "PromoteDatabase", {**WHOLE_STATE, "direction": "fence"}),
            "NotAdmitted": {
                "Type": "Succeed",
                "Comment": "an automatic run within the minimum interval, without evidence of an impaired primary, or failing back",
            },
            "PromoteDatabase": _task(cfg, "promote_database", "promote", "CheckWriter", WHOLE_STATE),
            **_poll_loop(
                cfg, "wait_for_writer", "Writer", "ScaleService", cfg.runbook.writer_poll_seconds, cfg.runbook.writer_wait_seconds,
                "WriterNotReady", f"the promoted cluster was not the available writer after {cfg.runbook.writer_wait_seconds} s",
            ),
            "ScaleService": _task(cfg, "scale_service", "scale", "CheckCapacity", {**WHOLE_STATE, "direction": "up"}),
            **_poll_loop(
                cfg, "check_capacity", "Capacity", "SwitchTraffic", cfg.runbook.health_poll_seconds, cfg.health_wait_seconds,
                "CapacityNotReady", f"no healthy target behind this region's load balancer after {cfg.health_wait_seconds} s: "
                "traffic was not moved (Route 53 would keep answering with the other region)",
            ),
            "SwitchTraffic": _task(cfg, "switch_traffic", "switch", "CheckTraffic", WHOLE_STATE),
            **_poll_loop(
                cfg, "verify_traffic", "Traffic", "FailingBack?", cfg.runbook.health_poll_seconds, cfg.health_wait_seconds,
                "TrafficNotVerified", f"the switch moved, but Route 53 did not see this region's load balancer healthy within "
                f"{cfg.health_wait_seconds} s",
            ),
            "FailingBack?": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.run.role", "StringEquals": PRIMARY, "Next": "ReturnPeerToStandby"}],
                "Default": "Notify",
            },
            # Failing back (both regions up): the DR service returns to its warm-standby count.
            "ReturnPeerToStandby": _task(cfg, "scale_service", "standby", "Notify", {**WHOLE_STATE, "direction": "down"}),
            "Notify": _task(cfg, "notify", "notify", "Done", _report("succeeded")),
            "Done": {"Type": "Succeed"},
            "NotifyFailure": notify_failure,
            # The run fails with the error that stopped it, not a generic one.
            "Failed": {"Type": "Fail", "ErrorPath": "$.run.error.Error", "CausePath": "$.run.error.Cause"},
        },
    }
