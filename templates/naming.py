"""Deterministic physical names, so the other region can find a resource without exports.

Names are CloudFormation ``Fn::Sub`` patterns: the template is identical in both regions,
so a name that must differ per region carries ``${AWS::Region}``. Each name knows AWS's
length limit for its kind; the configuration checks every name for both of its regions,
so a suffix that would break one is rejected before anything renders.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from troposphere import Sub

if TYPE_CHECKING:
    from templates.config import Config

# Stand-in for ${AWS::AccountId} when measuring a name: account ids are 12 digits.
_ACCOUNT_ID_WIDTH = "0" * 12


@dataclass(frozen=True)
class Name:
    kind: str
    pattern: str
    limit: int

    def for_region(self, region: str) -> str:
        """The name as it resolves in ``region`` (for length checks and cross-region lookups)."""
        return self.pattern.replace("${AWS::Region}", region).replace("${AWS::AccountId}", _ACCOUNT_ID_WIDTH)

    def value(self):
        """The name for a template property."""
        return sub_if_needed(self.pattern)

    def in_region_of(self, parameter: str) -> Sub:
        """The name as the region held by ``parameter`` spells it (the peer region's resource)."""
        return Sub(self.pattern.replace("${AWS::Region}", f"${{{parameter}}}"))


def sub_if_needed(pattern: str):
    """``Fn::Sub`` only when the pattern references something (cfn-lint W1020 otherwise)."""
    return Sub(pattern) if "${" in pattern else pattern


def prefix(cfg: Config) -> str:
    return f"{cfg.project}-{cfg.environment_suffix}"


def project_tags(cfg: Config) -> dict[str, str]:
    """The tags on every resource the templates create whose ARN carries an id AWS generates
    (VPC, subnet, security group, key...): the execution role and the boundary act on such a
    resource only while it carries them (``aws:ResourceTag``), or when a create request sets
    them (``aws:RequestTag``)."""
    return {"Project": cfg.project, "Environment": cfg.environment_suffix}


def log_group_patterns(cfg: Config) -> tuple[str, ...]:
    """Every log group name the project gives: its own, its functions' and its state machine's."""
    return (f"/{cfg.project}/{cfg.environment_suffix}/*", f"/aws/lambda/{prefix(cfg)}-*", f"/aws/vendedlogs/states/{prefix(cfg)}-*")


def flow_log_group(cfg: Config) -> Name:
    return Name("CloudWatch Logs log group", f"/{cfg.project}/{cfg.environment_suffix}/vpc-flow-logs", 512)


def gameday_log_group(cfg: Config) -> Name:
    """The game day experiment's log (templates/gameday.py)."""
    return Name("CloudWatch Logs log group", f"/{cfg.project}/{cfg.environment_suffix}/gameday", 512)


def load_balancer(cfg: Config) -> Name:
    return Name("load balancer", f"{prefix(cfg)}-alb", 32)


def target_group(cfg: Config) -> Name:
    return Name("target group", f"{prefix(cfg)}-app-tg", 32)


def global_cluster(cfg: Config) -> Name:
    return Name("Aurora global cluster", f"{prefix(cfg)}-global", 63)


def db_cluster(cfg: Config) -> Name:
    return Name("Aurora DB cluster", f"{prefix(cfg)}-aurora-${{AWS::Region}}", 63)


def artifact_bucket(cfg: Config) -> Name:
    return Name("S3 bucket", f"{prefix(cfg)}-artifacts-${{AWS::AccountId}}-${{AWS::Region}}", 63)


def report_bucket(cfg: Config) -> Name:
    """Where the runbook writes each run's failover report; build.py report reads it."""
    return Name("S3 bucket", f"{prefix(cfg)}-reports-${{AWS::AccountId}}-${{AWS::Region}}", 63)


def data_key_alias(cfg: Config) -> Name:
    return Name("KMS alias", f"alias/{prefix(cfg)}-data", 256)


def data_key_export(cfg: Config) -> Name:
    """The bootstrap stack's export of this region's data key ARN (exports are regional)."""
    return Name("CloudFormation export", f"{prefix(cfg)}-data-key-arn", 255)


def db_secret(cfg: Config) -> Name:
    """Same name in both regions: the DR region's copy is the primary secret's replica."""
    return Name("Secrets Manager secret", f"{prefix(cfg)}/aurora/master", 512)


def app_log_group(cfg: Config) -> Name:
    return Name("CloudWatch Logs log group", f"/{cfg.project}/{cfg.environment_suffix}/app", 512)


def collector_log_group(cfg: Config) -> Name:
    return Name("CloudWatch Logs log group", f"/{cfg.project}/{cfg.environment_suffix}/otel-collector", 512)


def transaction_search_logs_policy(cfg: Config) -> Name:
    """Per region and account, like the setting it serves (CloudWatch Logs resource policy names)."""
    return Name("CloudWatch Logs resource policy", f"{prefix(cfg)}-transaction-search", 255)


def ecs_cluster(cfg: Config) -> Name:
    return Name("ECS cluster", f"{prefix(cfg)}-cluster", 255)


def ecs_service(cfg: Config) -> Name:
    return Name("ECS service", f"{prefix(cfg)}-app", 255)


def failover_switch_alarm(cfg: Config) -> Name:
    """The alarm the Route 53 failover switch follows; one per region, named by region."""
    return Name("CloudWatch alarm", f"{prefix(cfg)}-failover-switch-${{AWS::Region}}", 255)


def failover_record_set_identifier(cfg: Config) -> Name:
    return Name("Route 53 set identifier", f"{prefix(cfg)}-${{AWS::Region}}", 128)


def alerts_topic(cfg: Config) -> Name:
    """Where this region's alarms and runbook publish; the peer region's relay queue subscribes to it."""
    return Name("SNS topic", f"{prefix(cfg)}-alerts", 256)


def relayed_alerts_topic(cfg: Config) -> Name:
    """Where the peer region's alerts are republished; nothing forwards from it (no loops)."""
    return Name("SNS topic", f"{prefix(cfg)}-alerts-relayed", 256)


def health_alerts_topic(cfg: Config) -> Name:
    """In Route 53's metrics region: the health-check alarms' topic."""
    return Name("SNS topic", f"{prefix(cfg)}-route53-alerts", 256)


def relay_queue(cfg: Config) -> Name:
    return Name("SQS queue", f"{prefix(cfg)}-alerts-from-peer", 80)


def relay_dead_letter_queue(cfg: Config) -> Name:
    return Name("SQS queue", f"{prefix(cfg)}-alerts-from-peer-dlq", 80)


def relay_function(cfg: Config) -> Name:
    return Name("Lambda function", f"{prefix(cfg)}-alerts-relay", 64)


def undelivered_alerts_queue(cfg: Config) -> Name:
    """Where SNS puts the alerts a cross-region subscription of this region's topic failed to deliver."""
    return Name("SQS queue", f"{prefix(cfg)}-alerts-undelivered", 80)


def undelivered_health_alerts_queue(cfg: Config) -> Name:
    return Name("SQS queue", f"{prefix(cfg)}-route53-alerts-undelivered", 80)


def failover_trigger_dead_letter_queue(cfg: Config) -> Name:
    """Where EventBridge puts an automatic-failover event it could not start the runbook with."""
    return Name("SQS queue", f"{prefix(cfg)}-automatic-failover-dlq", 80)


def alarm(cfg: Config, slug: str) -> Name:
    return Name("CloudWatch alarm", f"{prefix(cfg)}-{slug}-${{AWS::Region}}", 255)


def dashboard(cfg: Config) -> Name:
    return Name("CloudWatch dashboard", f"{prefix(cfg)}-dr-${{AWS::Region}}", 255)


def runbook_function(cfg: Config, step: str) -> Name:
    return Name("Lambda function", f"{prefix(cfg)}-{step.replace('_', '-')}", 64)


def readiness_function(cfg: Config) -> Name:
    return Name("Lambda function", f"{prefix(cfg)}-dr-readiness", 64)


def readiness_schedule(cfg: Config) -> Name:
    return Name("EventBridge Scheduler schedule", f"{prefix(cfg)}-dr-readiness", 64)


def readiness_namespace(cfg: Config) -> str:
    """The project's CloudWatch namespace for the readiness metrics."""
    return f"{prefix(cfg)}/DrReadiness"


# The readiness metric: one per check (dimension Check) and overall (no dimension). The checks
# are lambdas/readiness/checks.py CHECKS, in order (templates do not import the functions; a
# test keeps the two equal).
READY_METRIC = "Ready"
READINESS_CHECK_DIMENSION = "Check"
READINESS_CHECKS = (
    "DatabaseRole", "ReplicationLag", "EngineVersion", "SecretReplica", "ServiceCapacity", "Images", "FargateQuota", "LambdaConcurrency", "SwitchPosition",
    "Runbook",
)


def runbook_state_machine(cfg: Config) -> Name:
    return Name("state machine", f"{prefix(cfg)}-runbook", 80)


def runbook_table(cfg: Config) -> Name:
    return Name("DynamoDB table", f"{prefix(cfg)}-runbook-idempotency", 255)


def automatic_failover_rule(cfg: Config) -> Name:
    return Name("EventBridge rule", f"{prefix(cfg)}-automatic-failover", 64)


def run_failures_rule(cfg: Config) -> Name:
    """Routes this region's failed, timed-out or aborted runbook runs to its alerts topic."""
    return Name("EventBridge rule", f"{prefix(cfg)}-runbook-run-failed", 64)


def run_failures_dead_letter_queue(cfg: Config) -> Name:
    """Where EventBridge puts a failed run's event it could not publish to the alerts topic."""
    return Name("SQS queue", f"{prefix(cfg)}-runbook-run-failed-dlq", 80)


# The longest step name sets the tightest Lambda function name.
LONGEST_RUNBOOK_STEP = "admit_automatic_run"


def stack_set(cfg: Config, purpose: str) -> Name:
    """``bootstrap``, ``regional`` or ``route53-alarms``: the deployer and the failover
    command find the stack sets by these names."""
    return Name("stack set", f"{prefix(cfg)}-{purpose}", 128)


def all_names(cfg: Config) -> tuple[Name, ...]:
    """Every physical name the project derives; the configuration checks them all."""
    return (
        flow_log_group(cfg),
        gameday_log_group(cfg),
        load_balancer(cfg),
        target_group(cfg),
        global_cluster(cfg),
        db_cluster(cfg),
        artifact_bucket(cfg),
        report_bucket(cfg),
        data_key_alias(cfg),
        data_key_export(cfg),
        db_secret(cfg),
        app_log_group(cfg),
        collector_log_group(cfg),
        transaction_search_logs_policy(cfg),
        ecs_cluster(cfg),
        ecs_service(cfg),
        failover_switch_alarm(cfg),
        failover_record_set_identifier(cfg),
        alerts_topic(cfg),
        relayed_alerts_topic(cfg),
        health_alerts_topic(cfg),
        relay_queue(cfg),
        relay_dead_letter_queue(cfg),
        relay_function(cfg),
        undelivered_alerts_queue(cfg),
        undelivered_health_alerts_queue(cfg),
        failover_trigger_dead_letter_queue(cfg),
        dashboard(cfg),
        runbook_function(cfg, LONGEST_RUNBOOK_STEP),
        runbook_state_machine(cfg),
        readiness_function(cfg),
        readiness_schedule(cfg),
        runbook_table(cfg),
        automatic_failover_rule(cfg),
        run_failures_rule(cfg),
        run_failures_dead_letter_queue(cfg),
    )
