"""DR readiness, continuously: a function in each region runs the checks a failover depends
on (``lambdas/readiness/checks.py``) on an EventBridge Scheduler schedule and publishes one
metric per check and ``Ready``; an alarm on ``Ready`` treats missing data as breaching, so a
failed check, a failed function and a schedule that stopped all reach on-call within two
periods: the next run publishes 0 (or nothing) and the alarm's one-period evaluation sees it.
"""

from __future__ import annotations

from troposphere import GetAtt, If, Ref, Sub, Template, iam, scheduler

from policies import arns
from policies import runbook as runbook_policies
from policies.trust import service_trust
from templates import dns, functions, naming, runbook
from templates.alerting import dimensions, metric_alarm
from templates.config import Config
from templates.database import DB_CLUSTER
from templates.regions import IS_PRIMARY, PEER_REGION_PARAMETER

READINESS_FUNCTION = "DrReadinessFunction"
READINESS_SCHEDULE = "DrReadinessSchedule"
READINESS_SCHEDULER_ROLE = "DrReadinessSchedulerRole"
READY_ALARM = "DrReadyAlarm"
SPLIT_ALARM = "TrafficWriterSplitAlarm"
TIMEOUT_SECONDS = 60
FARGATE_VCPU_QUOTA = "fargate/L-3032A538"
SCHEDULE_GROUP = "default"


def _dr_region():
    return If(IS_PRIMARY, Ref(PEER_REGION_PARAMETER), Ref("AWS::Region"))


def _primary_region():
    return If(IS_PRIMARY, Ref("AWS::Region"), Ref(PEER_REGION_PARAMETER))


def settings(cfg: Config, state_machine_arn) -> dict:
    """The checks' settings as the function's environment (ops builds the same mapping)."""
    switch = naming.failover_switch_alarm(cfg)
    return {
        "PRIMARY_REGION": _primary_region(),
        "DR_REGION": _dr_region(),
        "GLOBAL_CLUSTER_ID": naming.global_cluster(cfg).pattern,
        "DB_CLUSTER_ID": Ref(DB_CLUSTER),
        "PEER_REGION": Ref(PEER_REGION_PARAMETER),
        "PEER_DB_CLUSTER_ID": naming.db_cluster(cfg).in_region_of(PEER_REGION_PARAMETER),
        "RPO_SECONDS": str(cfg.objectives.rpo_seconds),
        "SECRET_ID": naming.db_secret(cfg).pattern,
        "ECS_CLUSTER": naming.ecs_cluster(cfg).pattern,
        "ECS_SERVICE": naming.ecs_service(cfg).pattern,
        "STANDING_COUNT": If(IS_PRIMARY, str(cfg.app.primary_desired_count), str(cfg.app.dr_desired_count)),
        "FAILOVER_COUNT": str(cfg.app.failover_desired_count),
        "TASK_CPU": str(cfg.app.task_cpu),
        "SWITCH_ALARM_NAME": If(IS_PRIMARY, switch.in_region_of(PEER_REGION_PARAMETER), Sub(switch.pattern)),
        "STATE_MACHINE_ARN": state_machine_arn,
        # A run still going after the RTO has missed it.
        "RUNBOOK_BUDGET_SECONDS": str(cfg.objectives.rto_seconds),
        "METRICS_NAMESPACE": naming.readiness_namespace(cfg),
        # The thrown switch is republished every period (from the DR region, where it lives).
        **switch_settings(cfg),
        **concurrency_settings(cfg),
    }


def concurrency_settings(cfg: Config) -> dict[str, str]:
    """What the runbook's functions reserve, and whether they do (the LambdaConcurrency check)."""
    return {
        "RESERVE_CONCURRENCY": str(cfg.runbook.reserve_concurrency).lower(),
        "RUNBOOK_CONCURRENCY": str(len(runbook.STEPS) * runbook.RESERVED_CONCURRENCY),
    }


def switch_settings(cfg: Config) -> dict[str, str]:
    switch = dns.timing(cfg)["switch"]
    return {
        "SWITCH_NAMESPACE": switch["namespace"],
        "SWITCH_METRIC": switch["metric"],
        "SWITCH_THROWN_VALUE": str(switch["throw_value"]),
        "READINESS_PERIOD_MINUTES": str(cfg.runbook.readiness_period_minutes),
    }


def _policy(cfg: Config, log_group: str, state_machine_arn):
    secret = naming.db_secret(cfg).pattern
    switch = naming.failover_switch_alarm(cfg)
    cluster = naming.db_cluster(cfg).pattern
    return runbook_policies.readiness(
        log_group,
        naming.global_cluster(cfg).pattern,
        [arns.db_cluster(cluster), arns.db_cluster_in(cluster.replace("${AWS::Region}", f"${{{PEER_REGION_PARAMETER}}}"), f"${{{PEER_REGION_PARAMETER}}}")],
        [arns.arn("secretsmanager", f"secret:{secret}-??????", region=region) for region in ("${AWS::Region}", f"${{{PEER_REGION_PARAMETER}}}")],
        arns.ecs_service(naming.ecs_cluster(cfg).pattern, naming.ecs_service(cfg).pattern),
        [arns.ecr_repository(repository) for repository in (cfg.app.image_repository, cfg.tracing.collector_repository)],
        arns.arn("servicequotas", FARGATE_VCPU_QUOTA),
        If(IS_PRIMARY, arns.alarm_in(switch.pattern.replace("${AWS::Region}", f"${{{PEER_REGION_PARAMETER}}}"), f"${{{PEER_REGION_PARAMETER}}}"),
           arns.alarm_in(switch.pattern, "${AWS::Region}")),
        naming.runbook_state_machine(cfg).pattern,
        naming.readiness_namespace(cfg),
        dns.switch_namespace(cfg),
        not cfg.runbook.reserve_concurrency,
    )


def add_readiness(t: Template, cfg: Config, state_machine_arn, s3_key: str) -> None:
    period = cfg.runbook.readiness_period_minutes
    functions.add_function(
        t, cfg, READINESS_FUNCTION, naming.readiness_function(cfg),
        description="DR readiness: the checks a failover depends on, as metrics, every few minutes",
        handler="readiness.handler.handler",
        s3_key=s3_key,
        policy_name="dr-readiness",
        policy=lambda log_group: _policy(cfg, log_group, state_machine_arn),
        environment=settings(cfg, state_machine_arn),
        timeout=TIMEOUT_SECONDS,
        reserved_concurrency=1,
        dead_letter_reason="Invoked by its schedule, whose next run repeats the checks; a run that fails "
        "publishes nothing, and the Ready alarm treats missing data as breaching",
    )
    schedule = naming.readiness_schedule(cfg)
    role = t.add_resource(
        iam.Role(
            READINESS_SCHEDULER_ROLE,
            # "Confused deputy prevention in EventBridge Scheduler"
            # (https://docs.aws.amazon.com/scheduler/latest/UserGuide/cross-service-confused-deputy-prevention.html):
            # "The value of aws:SourceArn must be your EventBridge Scheduler schedule group ARN ... Do not
            # scope the aws:SourceArn statement to a specific schedule or a schedule name prefix."
            # The schedule has no GroupName, so it is in the account's default group.
            AssumeRolePolicyDocument=service_trust("scheduler.amazonaws.com", arns.arn("scheduler", f"schedule-group/{SCHEDULE_GROUP}")),
            Policies=[iam.Policy(PolicyName="invoke-readiness", PolicyDocument=runbook_policies.scheduler_invokes(GetAtt(READINESS_FUNCTION, "Arn")))],
        )
    )
    t.add_resource(
        scheduler.Schedule(
            READINESS_SCHEDULE,
            Name=schedule.value(),
            Description="Runs the DR readiness checks",
            ScheduleExpression=f"rate({period} minute{'s' if period > 1 else ''})",
            FlexibleTimeWindow=scheduler.FlexibleTimeWindow(Mode="OFF"),
            Target=scheduler.Target(
                Arn=GetAtt(READINESS_FUNCTION, "Arn"),
                RoleArn=GetAtt(role, "Arn"),
                # A run older than a period is superseded by the next one.
                RetryPolicy=scheduler.RetryPolicy(MaximumEventAgeInSeconds=period * 60, MaximumRetryAttempts=2),
            ),
        )
    )
    metric_alarm(
        t, cfg, READY_ALARM, "dr-not-ready",
        f"A failover from or to this region would not work as designed: a readiness check failed, or none ran "
        f"for {period} min. The readiness function's log and the dashboard's readiness row say which.",
        threshold=1, comparison="LessThanThreshold", treat_missing_data="breaching",
        Namespace=naming.readiness_namespace(cfg), MetricName=naming.READY_METRIC, Statistic="Minimum", Period=period * 60,
    )
    # The split the end-state invariant looks for, named: after a run that gave up (or a
    # promotion AWS completed later), the writer and the traffic switch disagree.
    metric_alarm(
        t, cfg, SPLIT_ALARM, "traffic-writer-split",
        "The failover switch and the database writer disagree: Route 53 sends traffic to the region whose cluster is "
        "read-only. Finish the failover (build.py failover --planned to the writer's region) or fail back.",
        threshold=1, comparison="LessThanThreshold", treat_missing_data="notBreaching",
        Namespace=naming.readiness_namespace(cfg), MetricName=naming.READY_METRIC, Statistic="Minimum", Period=period * 60,
        Dimensions=dimensions(Check="SwitchPosition"),
    )
    metric_alarm(
        t, cfg, f"{READINESS_FUNCTION}ErrorsAlarm", "dr-readiness-errors",
        "The DR readiness function failed", threshold=0,
        Namespace="AWS/Lambda", MetricName="Errors", Dimensions=dimensions(FunctionName=Ref(READINESS_FUNCTION)), Statistic="Sum",
    )
