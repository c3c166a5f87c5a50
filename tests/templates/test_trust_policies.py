"""Every trust policy the templates render carries only the confused-deputy condition keys its
service is documented to send (a condition on a key the service does not send denies the
AssumeRole, and the role is unusable), with the values AWS's page for that role asks for."""

from __future__ import annotations

import json

from cloud_radar.cf.unit import Template as ResolvedTemplate

from template_support import resolve, resources_of_type
from templates import compute, readiness
from templates.config import Config, RunbookConfig
from templates.render import render

ACCOUNT = ResolvedTemplate.AccountId

# (principal, role) -> the condition keys AWS's page for that role shows; role None = any role
# trusted by that principal. The pages are cited where each trust policy is built.
DOCUMENTED = {
    ("lambda.amazonaws.com", None): set(),  # lambda-intro-execution-role.html: no condition
    ("ecs-tasks.amazonaws.com", compute.EXECUTION_ROLE): set(),  # task_execution_IAM_role.html
    ("ecs-tasks.amazonaws.com", compute.TASK_ROLE): {"aws:SourceAccount", "aws:SourceArn"},  # task-iam-roles.html
    ("states.amazonaws.com", None): {"aws:SourceAccount", "aws:SourceArn"},  # procedure-create-iam-role.html
    ("events.amazonaws.com", None): {"aws:SourceAccount", "aws:SourceArn"},  # eventbridge cross-service-confused-deputy
    ("scheduler.amazonaws.com", None): {"aws:SourceAccount", "aws:SourceArn"},  # scheduler cross-service-confused-deputy
    ("vpc-flow-logs.amazonaws.com", None): {"aws:SourceAccount", "aws:SourceArn"},  # flow-logs-iam-role.html
    ("monitoring.rds.amazonaws.com", None): {"aws:SourceAccount"},  # USER_Monitoring.OS.Enabling.html
}


def _condition_keys(statement: dict) -> set[str]:
    return {key for operator in statement.get("Condition", {}).values() for key in operator}


def _roles(template: dict, cfg, region: str):
    for logical, role in resources_of_type(resolve(template, cfg, region), "AWS::IAM::Role").items():
        for statement in role["Properties"]["AssumeRolePolicyDocument"]["Statement"]:
            yield logical, statement


def test_every_service_trust_uses_only_documented_condition_keys():
    seen = set()
    # The regional template holds every service role (bootstrap and the Route 53 alarms hold none;
    # the StackSet roles' trust is tested with them); the automatic trigger adds EventBridge's.
    cfg = Config(runbook=RunbookConfig(automatic_trigger=True))
    template = json.loads(render(cfg)["regional.json"])
    for region in cfg.regions:
        for logical, statement in _roles(template, cfg, region):
            service = statement["Principal"]["Service"]
            documented = DOCUMENTED.get((service, logical), DOCUMENTED.get((service, None)))
            assert documented is not None, f"{logical}: no AWS page says which keys {service} sends"
            assert _condition_keys(statement) == documented, logical
            seen.add(service)
    assert seen == {service for service, _ in DOCUMENTED}, "a documented principal the templates no longer render"


def test_the_readiness_schedule_role_is_scoped_to_the_schedule_group_not_the_schedule(cfg, region_view):
    """Scheduler's page: aws:SourceArn "must be your EventBridge Scheduler schedule group ARN"."""
    region, resolved = region_view
    (schedule,) = resources_of_type(resolved, "AWS::Scheduler::Schedule").values()
    group = schedule["Properties"].get("GroupName", "default")
    (trust,) = resolved["Resources"][readiness.READINESS_SCHEDULER_ROLE]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Condition"]["ArnLike"]["aws:SourceArn"] == f"arn:aws:scheduler:{region}:{ACCOUNT}:schedule-group/{group}"
    assert trust["Condition"]["StringEquals"]["aws:SourceAccount"] == ACCOUNT
