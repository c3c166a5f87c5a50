"""A game day in AWS (``gameday.enabled``): an AWS FIS experiment in the primary region that
does to it what a regional failure would, while ``build.py gameday`` fails over for real.

Two actions, started together:

- ``aws:network:route-table-disrupt-cross-region-connectivity`` on the primary's app (private)
  subnets, ``region`` the DR region: "Blocks traffic that originates in the target subnets and is
  destined for the specified Region" for ``duration`` (AWS FIS Actions reference,
  https://docs.aws.amazon.com/fis/latest/userguide/fis-actions-reference.html). FIS swaps each
  subnet to a route table of its own for that long and back after. Not the database (isolated)
  subnets: their route table has no path to another region to cut (local and gateway-endpoint
  routes only), Aurora's replication is AWS-managed traffic the same page says "may not be
  blocked", and a target lists at most 5 ARNs (``ResourceArns``: "Maximum number of 5 items",
  AWS FIS API reference, ExperimentTemplateTarget; botocore's fis model, ``ResourceArnList``
  "max": 5), which 2 tiers of 3 zones would exceed;
- ``aws:ecs:stop-task`` on every task of the app service: the primary loses its capacity.

Stop condition: an abort alarm of its own, which the operator (or on-call) turns by publishing one
data point (``abort_command``). Not the readiness or the app's 5xx alarm: the fault itself turns
them (the stopped tasks leave the service short, a switchover fails requests), and "If a stop
condition is triggered during an experiment, AWS FIS stops the experiment. You cannot resume a
stopped experiment" (AWS FIS user guide, "Stop conditions for AWS FIS",
https://docs.aws.amazon.com/fis/latest/userguide/stop-conditions.html); they are measured in
the report instead. Nor the DR region's own health: the user guide does not say a stop
condition may be an alarm of another region, so the alarm is this stack's, in the experiment's
own account and region. The experiment logs to a log
group of its own, encrypted with the region's data key. Everything here exists only in the
primary's stack instance (``IsPrimaryRegion``); the type must still exist in both regions,
the template being one (``templates/config.py`` refuses a region where it does not).
"""

from __future__ import annotations

from troposphere import GetAtt, Ref, Template, fis, iam

from policies import arns
from policies import gameday as gameday_policies
from templates import functions, naming
from templates.config import Config
from templates.network import DYNAMODB_ENDPOINT, S3_ENDPOINT, VPC, Network
from templates.alerting import metric_alarm
from templates.regions import IS_PRIMARY, PEER_REGION_PARAMETER
from templates.suppressions import TYPELESS_WILDCARD_REASON, cfn_lint_ignore, cfripper_ignore, merged

EXPERIMENT = "GamedayExperiment"
EXPERIMENT_ROLE = "GamedayExperimentRole"
EXPERIMENT_LOG_GROUP = "GamedayExperimentLogGroup"
ABORT_ALARM = "GamedayAbortAlarm"
ABORT_METRIC = "Abort"
ISOLATE_ACTION = "IsolateFromDrRegion"
STOP_TASKS_ACTION = "StopAppTasks"
SUBNETS_TARGET = "AppSubnets"
# A target's ResourceArns: "Array Members: Maximum number of 5 items" (AWS FIS API reference,
# ExperimentTemplateTargetInput, https://docs.aws.amazon.com/fis/latest/APIReference/API_CreateExperimentTemplateTargetInput.html).
MAX_TARGET_ARNS = 5
TASKS_TARGET = "AppTasks"
ISOLATE_ACTION_ID = "aws:network:route-table-disrupt-cross-region-connectivity"
STOP_TASKS_ACTION_ID = "aws:ecs:stop-task"
# The experiment log's schema (CloudFormation: AWS::FIS::ExperimentTemplate
# ExperimentTemplateLogConfiguration, LogSchemaVersion); 2 is the current one.
LOG_SCHEMA_VERSION = 2


def experiment_name(cfg: Config) -> str:
    """The experiment template's Name tag: how ``build.py gameday`` finds its id (FIS generates it)."""
    return f"{naming.prefix(cfg)}-gameday"


def abort_namespace(cfg: Config) -> str:
    return f"{naming.prefix(cfg)}/Gameday"


def abort_command(cfg: Config) -> str:
    """What turns the abort alarm: one data point, the alarm's period being a minute."""
    return (f"aws cloudwatch put-metric-data --region {cfg.primary_region} --namespace {abort_namespace(cfg)} "
            f"--metric-name {ABORT_METRIC} --value 1")


def _route_tables_of(t: Template, subnet_ids: list[str]) -> list[str]:
    """The route tables the template associates with ``subnet_ids`` (logical ids, in order)."""
    tables = []
    for resource in t.resources.values():
        if resource.resource_type == "AWS::EC2::SubnetRouteTableAssociation" and resource.SubnetId.data["Ref"] in subnet_ids:
            table = resource.RouteTableId.data["Ref"]
            if table not in tables:
                tables.append(table)
    return tables


def add_gameday(t: Template, cfg: Config, vpc: Network) -> None:
    """Nothing unless ``gameday.enabled``; the alerts topic must already be in ``t``."""
    if not cfg.gameday.enabled:
        return
    subnets = [ref.data["Ref"] for ref in vpc.private_subnet_ids]
    log_name = naming.gameday_log_group(cfg)
    functions.log_group(t, cfg, EXPERIMENT_LOG_GROUP, log_name.value(), cfg.gameday.log_retention_days, condition=IS_PRIMARY)
    cluster = naming.ecs_cluster(cfg)
    abort = metric_alarm(
        t, cfg, ABORT_ALARM, "gameday-abort",
        f"Stops the game day's FIS experiment: one data point of {abort_namespace(cfg)} {ABORT_METRIC} in this region "
        "(docs/gameday.md)",
        threshold=0, Namespace=abort_namespace(cfg), MetricName=ABORT_METRIC, Statistic="Maximum",
    )
    abort.Condition = IS_PRIMARY
    role = t.add_resource(
        iam.Role(
            EXPERIMENT_ROLE,
            Condition=IS_PRIMARY,
            # Every "*" takes no resource type but ecs:ListTasks's, narrowed by a condition (its reason).
            Metadata=merged(
                cfripper_ignore({"WildcardResourceRule": f"{TYPELESS_WILDCARD_REASON}, but {gameday_policies.LIST_TASKS_REASON}"}),
                cfn_lint_ignore({"E9010": gameday_policies.LIST_TASKS_REASON}),
            ),
            Description="AWS FIS: the game day experiment isolates this region's app subnets and stops its app tasks",
            AssumeRolePolicyDocument=gameday_policies.experiment_trust(),
            Policies=[
                iam.Policy(
                    PolicyName="gameday-experiment",
                    PolicyDocument=gameday_policies.experiment(
                        VPC, subnets, _route_tables_of(t, subnets), [S3_ENDPOINT, DYNAMODB_ENDPOINT], cluster.pattern
                    ),
                )
            ],
        )
    )
    t.add_resource(
        fis.ExperimentTemplate(
            EXPERIMENT,
            Condition=IS_PRIMARY,
            Description=f"trading-dr game day: cut this region off from the DR region for {cfg.gameday.duration_minutes} min "
            "and stop the app's tasks",
            RoleArn=GetAtt(role, "Arn"),
            Targets={
                SUBNETS_TARGET: fis.ExperimentTemplateTarget(
                    ResourceType="aws:ec2:subnet",
                    ResourceArns=[arns.arn("ec2", f"subnet/${{{subnet}}}") for subnet in subnets],
                    SelectionMode="ALL",
                ),
                TASKS_TARGET: fis.ExperimentTemplateTarget(
                    ResourceType="aws:ecs:task",
                    Parameters={"cluster": cluster.value(), "service": naming.ecs_service(cfg).value()},
                    SelectionMode="ALL",
                ),
            },
            Actions={
                ISOLATE_ACTION: fis.ExperimentTemplateAction(
                    ActionId=ISOLATE_ACTION_ID,
                    Description="Block traffic from the app subnets to the DR region",
                    Parameters={"region": Ref(PEER_REGION_PARAMETER), "duration": f"PT{cfg.gameday.duration_minutes}M"},
                    Targets={"Subnets": SUBNETS_TARGET},
                ),
                STOP_TASKS_ACTION: fis.ExperimentTemplateAction(
                    ActionId=STOP_TASKS_ACTION_ID,
                    Description="Stop every task of the app service",
                    Targets={"Tasks": TASKS_TARGET},
                ),
            },
            StopConditions=[fis.ExperimentTemplateStopCondition(Source="aws:cloudwatch:alarm", Value=GetAtt(abort, "Arn"))],
            LogConfiguration=fis.ExperimentTemplateLogConfiguration(
                LogSchemaVersion=LOG_SCHEMA_VERSION,
                CloudWatchLogsConfiguration=fis.CloudWatchLogsConfiguration(LogGroupArn=GetAtt(EXPERIMENT_LOG_GROUP, "Arn")),
            ),
            # A target that resolves to nothing is a broken game day, not a skipped action.
            ExperimentOptions=fis.ExperimentTemplateExperimentOptions(
                AccountTargeting="single-account", EmptyTargetResolutionMode="fail"
            ),
            Tags={"Name": experiment_name(cfg), **naming.project_tags(cfg)},
        )
    )
