"""Two emulated regions with the rendered runbook deployed in each, and a way to run it.

``Drill`` renders the configuration, resolves ``regional.json`` and ``bootstrap.json`` for
both regions, creates in moto what the templates create (table, ECS service and its
scalable target, switch alarm, alerts topic, state machine) with the names the templates
give, and runs executions in moto's Step Functions interpreter. A Task state's
``lambda:invoke`` calls the handler the rendered function names, in process, with the
rendered function's environment plus the variables Lambda itself sets, under its rendered
timeout. Every AWS call goes through ``Network`` (faults, dead regions) and every write
is recorded in a ledger that the invariants read after each state transition.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import random
import time
import traceback
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from types import SimpleNamespace
from unittest import mock

import boto3
import botocore.endpoint
import botocore.exceptions
from moto import mock_aws
from moto.core.botocore_stubber import BotocoreStubber
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction
from moto.stepfunctions.parser.asl.eval.event.event_manager import EventManager
from moto.stepfunctions.parser.asl.parse import asl_parser
from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor

from checks.drill.app import AppTier
from checks.drill.aurora import AuroraGlobalDatabase
from checks.drill.clock import FunctionTimedOut, SimClock
from checks.drill.history import ExecutionHistory
from checks.drill.metrics import Metrics
from checks.drill.network import ANSWERED, FunctionCrashed, Network
from checks.drill.unknowns import World
from checks.resolved import ACCOUNT_ID, resolve, resolve_bootstrap
from templates import dns, naming
from templates.compute import TARGET_GROUP
from templates.config import Config
from templates.render import render
from templates.reports import REPORT_BUCKET, report_keys

REAL_SLEEP = time.sleep
# How often ``wait`` asks whether a run ended: each DescribeExecution takes the interpreter's
# thread's time (one GIL), so the poll backs off to this.
LONGEST_POLL_SECONDS = 0.05
_PARSE_ASL = asl_parser.AmazonStateLanguageParser.parse


@lru_cache(maxsize=8)
def _asl_tree(definition: str):
    return _PARSE_ASL(definition)[1]


def _parse_asl_once(definition: str):
    """moto's interpreter parses the whole definition with ANTLR on every CreateStateMachine and
    every execution (about 1.4 s for the runbook): parse each definition once, and build fresh
    evaluation components from its syntax tree each time, as the parser itself does after parsing."""
    tree = _asl_tree(definition)
    return Preprocessor().visit(tree), tree
# Step Functions reports a Lambda function's unhandled failures, timeouts and crashes
# included, as Lambda.Unknown (Step Functions developer guide, "Handling transient Lambda
# service exceptions": "These include out-of-memory errors and function timeouts").
LAMBDA_UNKNOWN = "Lambda.Unknown"
# Writes whose repetition would be a side effect twice (idempotency records are not).
WRITES = {
    "SwitchoverGlobalCluster": "TargetDbClusterIdentifier",
    "FailoverGlobalCluster": "TargetDbClusterIdentifier",
    "RegisterScalableTarget": "MinCapacity",
    "UpdateService": "desiredCount",
    "PutMetricData": "MetricData",
    "Publish": "Subject",
}


READINESS_HANDLER = "readiness.handler.handler"
# The readiness checks that name a disagreement between writer, traffic and capacity.
SPLIT_CHECKS = ("DatabaseRole", "ServiceCapacity", "SwitchPosition")


class DrillError(Exception):
    """The drill could not set up or read what the templates render (a template defect)."""


@lru_cache(maxsize=8)
def _rendered(cfg: Config) -> tuple[dict, dict]:
    files = render(cfg)
    return json.loads(files["regional.json"]), json.loads(files["bootstrap.json"])


@lru_cache(maxsize=16)
def _resolved(cfg: Config, region: str) -> tuple[str, str]:
    regional, bootstrap = _rendered(cfg)
    return (
        json.dumps(resolve(regional, cfg, region)),
        json.dumps(resolve_bootstrap(bootstrap, cfg, region)),
    )


def physical(value, resources: dict, region: str, partition: str):
    """What CloudFormation gives for a Ref or GetAtt that cloud-radar left as a logical id."""
    if not isinstance(value, str):
        return value
    logical, _, attribute = value.partition(".")
    if logical not in resources:
        return value
    kind, props = resources[logical]["Type"], resources[logical].get("Properties", {})
    prefix = f"arn:{partition}:{{}}:{region}:{ACCOUNT_ID}:"
    refs = {
        "AWS::DynamoDB::Table": lambda: props["TableName"],
        "AWS::RDS::DBCluster": lambda: props["DBClusterIdentifier"],
        "AWS::SNS::Topic": lambda: prefix.format("sns") + props["TopicName"],
        "AWS::StepFunctions::StateMachine": lambda: prefix.format("states") + f"stateMachine:{props['StateMachineName']}",
        "AWS::ElasticLoadBalancingV2::TargetGroup": lambda: prefix.format("elasticloadbalancing") + f"targetgroup/{props['Name']}/drill",
        # Route 53 gives health checks generated ids; the drill's carry the logical id and region.
        "AWS::Route53::HealthCheck": lambda: f"{logical}-{region}",
    }
    arns = {"AWS::Lambda::Function": lambda: prefix.format("lambda") + f"function:{props['FunctionName']}"}
    table = arns if attribute == "Arn" else refs
    if kind not in table:
        raise DrillError(f"the drill cannot resolve {value} ({kind})")
    return table[kind]()


@dataclass(frozen=True)
class Function:
    region: str
    name: str
    handler: str
    timeout: int
    environment: dict


@dataclass
class Effect:
    at: float
    region: str
    operation: str
    key: str
    failover_id: str | None
    writer: str
    healthy_targets: dict[str, int] = field(default_factory=dict)  # per region, when it happened
    running: dict[str, int] = field(default_factory=dict)  # tasks running per region (draining ones too)


@dataclass
class Outcome:
    """One execution: how it ended, each state's simulated time, and its failover id."""

    status: str
    output: dict
    error: str | None
    cause: str | None
    states: list[tuple[str, int, float]]  # (state, times entered, simulated seconds)
    seconds: float
    started_at: float
    task_errors: list[str]  # each failed task attempt's error, in order (retried or not)
    request: dict = field(default_factory=dict)  # the execution's input
    history: list[dict] = field(default_factory=list)  # GetExecutionHistory's events: the failover report reads them
    region: str = ""
    cfg: Config | None = None  # the configuration drilled: its budget measures the run
    written_report: dict | None = None  # what the run's report step wrote to its region's bucket


@dataclass
class Region:
    name: str
    role: str
    resources: dict
    bootstrap: dict
    state_machine_arn: str = ""

    def props(self, logical: str) -> dict:
        return self.resources[logical]["Properties"]

    def of_type(self, kind: str) -> dict:
        (props,) = [r.get("Properties", {}) for r in self.resources.values() if r["Type"] == kind]
        return props


@dataclass
class Drill:
    """Use as a context manager; ``run`` starts an execution and waits for its end."""

    cfg: Config = field(default_factory=Config)
    lag_ms: float = 2_000.0
    world: World = field(default_factory=World)
    seed: int = 0
    violations: list[str] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)
    outcomes: list[tuple[str, Outcome]] = field(default_factory=list)

    def __post_init__(self):
        self.clock = SimClock()
        self.network = Network(self.clock, self.cfg.route53_metrics_region)
        self.regions = {}
        for region, role in ((self.cfg.primary_region, "primary"), (self.cfg.dr_region, "secondary")):
            regional, bootstrap = _resolved(self.cfg, region)
            self.regions[region] = Region(region, role, json.loads(regional)["Resources"], json.loads(bootstrap)["Resources"])
        self.functions = self._functions()
        self.aurora = AuroraGlobalDatabase(
            self.clock, self.network, naming.global_cluster(self.cfg).pattern, self.cfg.partition, ACCOUNT_ID,
            {r: region.of_type("AWS::RDS::DBCluster")["DBClusterIdentifier"] for r, region in self.regions.items()},
            writer=self.cfg.primary_region, lag_ms=self.lag_ms, world=self.world,
        )
        primary = self.regions[self.cfg.primary_region]
        self.primary_check_id = self._physical(dns.PRIMARY_HEALTH_CHECK, primary)
        self.app = AppTier(
            self.clock, self.network, self.world,
            {r: self._physical(TARGET_GROUP, region) for r, region in self.regions.items()},
            {
                **{
                    self._physical(dns.ALB_HEALTH_CHECK, region): (r, region.props(dns.ALB_HEALTH_CHECK)["HealthCheckTags"][0]["Value"])
                    for r, region in self.regions.items()
                },
                self.primary_check_id: (primary.name, primary.props(dns.PRIMARY_HEALTH_CHECK)["HealthCheckTags"][0]["Value"]),
            },
            self._desired_history,
        )
        self.metrics = Metrics(
            self.clock, self.network, self.world, self.app, lambda service, region: self.client(service, region),
            self.cfg.primary_region, self.cfg.dr_region, self.cfg.route53_metrics_region, self.primary_check_id, dns.timing(self.cfg)["switch"],
        )
        self._current_failover: str | None = None
        self._started: dict[str, float] = {}
        self.failed_invocations: Counter = Counter()  # handler module -> invocations that failed
        self._stack = ExitStack()

    # --- set-up --------------------------------------------------------------------------

    def _functions(self) -> dict[str, Function]:
        functions = {}
        for region in self.regions.values():
            for logical, body in region.resources.items():
                if body["Type"] != "AWS::Lambda::Function":
                    continue
                props = body["Properties"]
                variables = {k: self._physical(v, region) for k, v in props["Environment"]["Variables"].items()}
                arn = self._physical(f"{logical}.Arn", region)
                functions[arn] = Function(region.name, props["FunctionName"], props["Handler"], props["Timeout"], variables)
        return functions

    def _desired_history(self, region: str) -> list[tuple[float, int]]:
        """The service's desired count over time: as deployed, then each UpdateService."""
        deployed = int(self.regions[region].of_type("AWS::ApplicationAutoScaling::ScalableTarget")["MinCapacity"])
        return [(float("-inf"), deployed)] + [(e.at, int(e.key)) for e in self.effects if e.operation == "UpdateService" and e.region == region]

    def _physical(self, value, region: Region):
        return physical(value, region.resources, region.name, self.cfg.partition)

    def __enter__(self) -> Drill:
        random.seed(self.seed)
        # The interpreter logs every failed state at ERROR; the drill reports outcomes itself.
        logging.getLogger("moto.stepfunctions").setLevel(logging.CRITICAL)
        stack = self._stack
        stack.enter_context(mock.patch.dict(os.environ, {
            "AWS_ACCESS_KEY_ID": "drill", "AWS_SECRET_ACCESS_KEY": "drill", "MOTO_ACCOUNT_ID": ACCOUNT_ID,
            "AWS_DEFAULT_REGION": self.cfg.primary_region,
        }))
        stack.enter_context(mock_aws(config={"stepfunctions": {"execute_state_machine": True}}))
        stack.enter_context(mock.patch.object(BotocoreStubber, "__call__", _unless_answered(BotocoreStubber.__call__)))
        stack.enter_context(mock.patch.object(asl_parser.AmazonStateLanguageParser, "parse", staticmethod(_parse_asl_once)))
        self._simulate_time(stack)
        stack.enter_context(mock.patch.object(lambda_eval_utils, "_invoke_lambda_function", self._invoke))
        stack.enter_context(mock.patch.object(EventManager, "add_event", self._observing(EventManager.add_event)))
        # The functions' clients come from the default session: it carries the drill's hooks.
        stack.callback(setattr, boto3, "DEFAULT_SESSION", None)
        boto3.setup_default_session()
        events = boto3.DEFAULT_SESSION.events
        # In this order: a write is in the ledger before a crash after it; faults come before the fake.
        events.register_first("before-parameter-build", self._remember_params, unique_id="drill-ledger-params")
        events.register_first("after-call", self._record_effect, unique_id="drill-ledger")
        self.network.register(events)
        self.aurora.register(events)
        self.app.register(events)
        self.metrics.register(events)
        ExecutionHistory(self.clock, self.network, ACCOUNT_ID, self.world, random.Random(self.seed)).register(events)
        # The drill's own set-up and reads bypass faults and the ledger.
        self.admin = boto3.session.Session()
        for region in self.regions.values():
            self._deploy(region)
        return self

    def __exit__(self, *exc) -> None:
        self._stack.close()

    def _simulate_time(self, stack: ExitStack) -> None:
        clock = self.clock
        simulated = SimpleNamespace(time=clock.now, sleep=clock.advance, monotonic=clock.now)
        runtime = importlib.import_module("runbook.runtime")
        stack.enter_context(mock.patch.object(runtime, "time", simulated))
        stack.enter_context(mock.patch.object(botocore.endpoint, "time", simulated))
        stack.enter_context(mock.patch.object(retrier_decl, "time", simulated))
        stack.enter_context(mock.patch.object(WaitFunction, "_wait_interval", lambda _self, env, wait_seconds: clock.advance(wait_seconds)))
        stack.enter_context(mock.patch.object(EventManager, "_get_current_timestamp", staticmethod(clock.datetime)))

    def client(self, service: str, region: str):
        return self.admin.client(service, region_name=region)

    def _deploy(self, region: Region) -> None:
        name = region.name
        table = region.of_type("AWS::DynamoDB::Table")
        self.client("dynamodb", name).create_table(
            TableName=table["TableName"], BillingMode="PAY_PER_REQUEST",
            KeySchema=table["KeySchema"], AttributeDefinitions=table["AttributeDefinitions"],
        )
        ecs = self.client("ecs", name)
        cluster = region.of_type("AWS::ECS::Cluster")["ClusterName"]
        service = region.of_type("AWS::ECS::Service")
        target = region.of_type("AWS::ApplicationAutoScaling::ScalableTarget")
        ecs.create_cluster(clusterName=cluster)
        ecs.register_task_definition(family="app", containerDefinitions=[{"name": "app", "image": "app:1", "memory": 512}])
        # The service has no DesiredCount: autoscaling holds it at the target's minimum.
        ecs.create_service(cluster=cluster, serviceName=service["ServiceName"], taskDefinition="app", desiredCount=int(target["MinCapacity"]))
        self.client("application-autoscaling", name).register_scalable_target(
            ServiceNamespace="ecs", ResourceId=f"service/{cluster}/{service['ServiceName']}", ScalableDimension="ecs:service:DesiredCount",
            MinCapacity=int(target["MinCapacity"]), MaxCapacity=int(target["MaxCapacity"]),
        )
        (alarm,) = [r["Properties"] for r in region.bootstrap.values() if r["Type"] == "AWS::CloudWatch::Alarm"]
        cloudwatch = self.client("cloudwatch", name)
        cloudwatch.put_metric_alarm(**{k: alarm[k] for k in (
            "AlarmName", "Namespace", "MetricName", "Statistic", "Period", "EvaluationPeriods", "Threshold", "ComparisonOperator", "TreatMissingData",
        )})
        self.client("sns", name).create_topic(Name=region.props("AlertsTopic")["TopicName"])
        self._create_report_bucket(region)
        if region.role == "secondary":
            self._publish_lag(cloudwatch, region.of_type("AWS::RDS::DBCluster")["DBClusterIdentifier"])
        machine = region.of_type("AWS::StepFunctions::StateMachine")
        definition = json.dumps(machine["Definition"])
        for key, value in machine["DefinitionSubstitutions"].items():
            definition = definition.replace(f"${{{key}}}", self._physical(value, region))
        if "${" in definition:
            raise DrillError(f"unresolved substitution in the state machine of {name}")
        region.state_machine_arn = self.client("stepfunctions", name).create_state_machine(
            name=machine["StateMachineName"], definition=definition, roleArn=f"arn:{self.cfg.partition}:iam::{ACCOUNT_ID}:role/drill",
        )["stateMachineArn"]

    def _create_report_bucket(self, region: Region) -> None:
        """The bootstrap stack's report bucket, as S3 creates it: versioned, and with the
        configured Object Lock default retention (S3 then refuses uploads without a checksum)."""
        bucket = region.bootstrap[REPORT_BUCKET]["Properties"]
        s3 = self.client("s3", region.name)
        # us-east-1 takes no LocationConstraint (S3 API Reference, CreateBucket).
        where = {} if region.name == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region.name}}
        s3.create_bucket(Bucket=bucket["BucketName"], ObjectLockEnabledForBucket=bool(bucket.get("ObjectLockEnabled")), **where)
        s3.put_bucket_versioning(Bucket=bucket["BucketName"], VersioningConfiguration={"Status": "Enabled"})
        if bucket.get("ObjectLockConfiguration"):
            s3.put_object_lock_configuration(Bucket=bucket["BucketName"], ObjectLockConfiguration=bucket["ObjectLockConfiguration"])

    def written_report(self, region: str, failover_id: str) -> dict | None:
        """The JSON report the runbook's report step wrote to ``region``'s bucket, if it did."""
        bucket = self.regions[region].bootstrap[REPORT_BUCKET]["Properties"]["BucketName"]
        try:
            body = self.client("s3", region).get_object(Bucket=bucket, Key=report_keys(failover_id)[0])["Body"].read()
        except self.client("s3", region).exceptions.NoSuchKey:
            return None
        return json.loads(body)

    def _publish_lag(self, cloudwatch, cluster_id: str) -> None:
        """Aurora publishes the global lag metrics for the secondary cluster, once a minute."""
        for minutes_ago in range(5, 0, -1):
            for metric in ("AuroraGlobalDBRPOLag", "AuroraGlobalDBReplicationLag"):
                cloudwatch.put_metric_data(Namespace="AWS/RDS", MetricData=[{
                    "MetricName": metric, "Dimensions": [{"Name": "DBClusterIdentifier", "Value": cluster_id}],
                    "Timestamp": self.clock.now() - 60 * minutes_ago, "Value": self.lag_ms, "Unit": "Milliseconds",
                }])

    # --- what Lambda does ------------------------------------------------------------------

    def _invoke(self, parameters: dict, region: str, state_credentials=None) -> dict:
        function = self.functions.get(parameters["FunctionName"])
        if function is None:
            raise DrillError(f"the state machine invokes {parameters['FunctionName']}, which no template renders")
        payload = json.loads(parameters["Payload"])
        module_name, _, attribute = function.handler.rpartition(".")
        handler = getattr(importlib.import_module(module_name), attribute)
        clock = self.clock
        lambda_variables = {
            "AWS_REGION": function.region, "AWS_DEFAULT_REGION": function.region,
            "AWS_LAMBDA_FUNCTION_NAME": function.name,
        }
        context = SimpleNamespace(get_remaining_time_in_millis=clock.remaining_ms, function_name=function.name, aws_request_id="drill")
        with clock.invocation(function.timeout), _environment({**function.environment, **lambda_variables}):
            self._current_failover = payload.get("failover_id")
            try:
                result = handler(payload, context)
            except (FunctionTimedOut, FunctionCrashed) as stopped:
                self.failed_invocations[module_name] += 1
                return _function_error(LAMBDA_UNKNOWN, f"{function.name}: {stopped}")
            except Exception as error:  # Lambda reports any exception the handler raises
                self.failed_invocations[module_name] += 1
                if not _answer_or_named(error, module_name):
                    self._violation(f"{function.name} raised {type(error).__name__}: {error} (neither an AWS error nor "
                                    f"one the function names: a defect, which the run would take for AWS's answer)")
                return _function_error(type(error).__name__, str(error), traceback.format_exc())
            finally:
                self._current_failover = None
        return {"StatusCode": 200, "Payload": json.loads(json.dumps(result)), "ExecutedVersion": "$LATEST"}

    # --- the ledger and the invariants -------------------------------------------------------

    @staticmethod
    def _remember_params(params, context, **_):
        context["drill_params"] = dict(params)

    def _record_effect(self, http_response, model, context, **_):
        if model.name not in WRITES or http_response.status_code >= 300:
            return
        params = context.get("drill_params", {})
        key = params.get(WRITES[model.name])
        if model.name == "PutMetricData":
            key = ",".join(f"{d['MetricName']}={d['Value']}" for d in params.get("MetricData", []))
        self.effects.append(Effect(
            self.clock.now(), self.network.region_of(http_response.url), model.name, str(key), self._current_failover,
            self.aurora.writer, {region: self.app.healthy_targets(region) for region in self.regions},
            {region: self.app.running_tasks(region) for region in self.regions},
        ))

    def _observing(self, add_event):
        drill = self

        def add_event_then_check(manager, *args, **kwargs):
            event_id = add_event(manager, *args, **kwargs)
            drill.check_invariants()
            return event_id

        return add_event_then_check

    def check_invariants(self) -> None:
        self.aurora.settle()
        writers = self.aurora.writers()
        if len(writers) != 1:
            self._violation(f"{len(writers)} writers")
        # The switch's confirmation publishes the same position again when a period held both
        # (the same position twice is no second move); every other write counts.
        repeated = Counter((e.failover_id, e.operation, e.region, e.key) for e in self.effects if not self._is_switch(e))
        for (failover_id, operation, region, key), count in repeated.items():
            # SNS standard topics deliver at least once, and a publication cannot be observed:
            # a notify invocation that failed after publishing (died, or could not record it)
            # publishes again on retry. Each failed invocation allows one more, no more.
            allowed = 1 + (self.failed_invocations["runbook.notify"] if operation == "Publish" else 0)
            if count > allowed:
                self._violation(f"{operation} {key} in {region} done {count} times for {failover_id}")
        for effect in self.writes("FailoverGlobalCluster"):
            # Writes the old primary accepts after this are lost (Aurora's fencing is best effort):
            # a task still draining takes them too. The one case the runbook cannot see (its ECS
            # API and Route 53's both silent while it serves: a partition) is allowed only when
            # the run recorded exactly that (docs/operating.md: the residual risk of an unplanned failover).
            if effect.running.get(effect.writer) and not self._recorded_blind_fence(effect):
                self._violation(f"the old primary in {effect.writer} still ran {effect.running[effect.writer]} tasks when the unplanned failover began")
        for effect in self.switch_moves():
            target = self.cfg.dr_region if effect.key.endswith(f"={float(dns.SWITCH_THROWN)}") else self.cfg.primary_region
            if effect.writer != target:
                self._violation(f"traffic switched to {target} while the writer was {effect.writer}")
            if not effect.healthy_targets.get(target):
                self._violation(f"traffic switched to {target}, which had no healthy target")

    def _recorded_blind_fence(self, effect: Effect) -> bool:
        """The run's fence step recorded that neither the old primary nor Route 53 answered."""
        table = self.regions[effect.region].of_type("AWS::DynamoDB::Table")["TableName"]
        item = self.client("dynamodb", effect.region).get_item(
            TableName=table, Key={"pk": {"S": f"{effect.failover_id}#scale_service#fence"}}, ConsistentRead=True,
        ).get("Item", {})
        result = json.loads(item.get("result", {}).get("S", "{}"))
        return result.get("fenced") is False and result.get("seen_by_route53") is False

    @staticmethod
    def _is_switch(effect: Effect) -> bool:
        return effect.operation == "PutMetricData" and dns.SWITCH_METRIC in effect.key

    def _violation(self, text: str) -> None:
        if text not in self.violations:
            self.violations.append(text)

    def switch_moves(self) -> list[Effect]:
        """Publications of the switch metric that changed its position."""
        moves, position = [], f"={float(dns.SWITCH_RELEASED)}"
        for effect in self.effects:
            if self._is_switch(effect) and not effect.key.endswith(position):
                position = effect.key[effect.key.rindex("="):]
                moves.append(effect)
        return moves

    def writes(self, operation: str | None = None) -> list[Effect]:
        return [e for e in self.effects if operation in (None, e.operation)]

    # --- the end state ---------------------------------------------------------------------------

    def end_state(self) -> list[str]:
        """After every run, let the emulated AWS finish what it was asked to do (promotions,
        rebuilds, draining, metrics becoming readable, Route 53 catching up), then require
        that Route 53 answers with the writer's region, that region runs its serving count,
        and the switch agrees with the writer; or else that a readiness check names the
        disagreement (its alarm turns within one readiness period)."""
        self.network.faults.clear()
        self.network.crashes.clear()
        self.clock.advance(self.world.settled_after())
        self.aurora.settle()
        self.metrics.land()
        writer, answer = self.aurora.writer, self.metrics.answer()
        thrown = self.metrics.switch_thrown(self.clock.now())
        count = self.cfg.app.failover_desired_count if writer == self.cfg.dr_region else self.cfg.app.primary_desired_count
        problems = []
        if answer != writer:
            problems.append(f"Route 53 answers with {answer} while the writer is in {writer}")
        if self.app.running_tasks(answer) < count:
            problems.append(f"{answer} runs {self.app.running_tasks(answer)} tasks, under its serving count {count}")
        if thrown != (writer == self.cfg.dr_region):
            problems.append(f"the switch is {'thrown' if thrown else 'released'} while the writer is in {writer}")
        if not problems:
            return []
        # A check that could not be made publishes 0 too (lambdas/readiness/handler.py): it alarms.
        alarmed = [f"{region}: {f.check} ({f.observed})" for region, f in self.readiness() if f.ready is not True]
        return [] if alarmed else [f"end state: {'; '.join(problems)}, and no readiness check names it"]

    def readiness(self) -> list[tuple[str, object]]:
        """The readiness checks that name a split, run in each live region as its function would."""
        return self.readiness_findings(SPLIT_CHECKS)

    def readiness_findings(self, names: tuple[str, ...]) -> list[tuple[str, object]]:
        """The named readiness checks (and those they read facts from), in each live region."""
        checks = importlib.import_module("readiness.checks")
        switch = dns.timing(self.cfg)["switch"]
        self.client("cloudwatch", self.cfg.dr_region).set_alarm_state(
            AlarmName=switch["alarm_name"], StateValue="ALARM" if self.metrics.switch_thrown(self.clock.now()) else "OK", StateReason="drill",
        )
        findings = []
        for function in self.functions.values():
            if function.handler != READINESS_HANDLER or function.region in self.network.dead_regions:
                continue
            ctx = checks.Context(settings=function.environment, region=function.region,
                                 client=lambda service, region: boto3.client(service, region_name=region), now=self.clock.datetime)
            facts: dict = {}
            for name, check in checks.CHECKS:
                if name in names:
                    findings.append((function.region, check(ctx, facts)))
        return findings

    # --- running -------------------------------------------------------------------------------

    def start(self, region: str, request: dict, name: str | None = None) -> str:
        request = {"mode": "planned", "accept_data_loss": False, "trigger": "operator", **request}
        started = self.clock.now()
        arn = self.client("stepfunctions", region).start_execution(
            stateMachineArn=self.regions[region].state_machine_arn, name=name or request["failover_id"], input=json.dumps(request),
        )["executionArn"]
        self._started.setdefault(arn, started)
        return arn

    def wait(self, execution_arn: str, region: str, real_seconds: float = 180) -> Outcome:
        """The run's outcome once it ends; a run still going after ``real_seconds`` of real time is
        hung (a late world's hour-long run reads its history in pages of a few events in under a minute)."""
        sfn = self.client("stepfunctions", region)
        started = self._started.get(execution_arn, self.clock.now())
        deadline = time.monotonic() + real_seconds
        poll = 0.005
        while (described := sfn.describe_execution(executionArn=execution_arn))["status"] == "RUNNING":
            if time.monotonic() > deadline:
                raise DrillError(f"{execution_arn} still running after {real_seconds} s of real time")
            REAL_SLEEP(poll)
            poll = min(poll * 2, LONGEST_POLL_SECONDS)
        history = sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
        return Outcome(
            status=described["status"],
            output=json.loads(described.get("output") or "{}"),
            error=described.get("error"),
            cause=described.get("cause"),
            states=state_durations(history),
            seconds=self.clock.now() - started,
            started_at=started,
            task_errors=[e["taskFailedEventDetails"]["error"] for e in history if "taskFailedEventDetails" in e],
            request=json.loads(described.get("input") or "{}"),
            history=history,
            region=region,
            cfg=self.cfg,
            written_report=self.written_report(region, described["name"]),
        )

    def run(self, region: str, request: dict, name: str | None = None) -> Outcome:
        return self.wait(self.start(region, request, name), region)

    def service(self, region: str) -> dict:
        r = self.regions[region]
        (service,) = self.client("ecs", region).describe_services(
            cluster=r.of_type("AWS::ECS::Cluster")["ClusterName"], services=[r.of_type("AWS::ECS::Service")["ServiceName"]],
        )["services"]
        return service


@contextmanager
def _environment(variables: dict[str, str]) -> Iterator[None]:
    """The function's variables, set and then removed key by key: ``mock.patch.dict`` clears the
    whole environment on exit, which other threads (the drill's own reads) would see."""
    saved = {key: os.environ.get(key) for key in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _unless_answered(emulate):
    """moto's handler, skipped for a request the drill already answered (a fault, the Aurora fake)."""

    def call(stubber, event_name, request, **kwargs):
        return None if getattr(request, ANSWERED, False) else emulate(stubber, event_name, request, **kwargs)

    return call


def _answer_or_named(error: Exception, handler_module: str) -> bool:
    """AWS's answer (an API's error, a connection that failed or timed out) or an error the
    function's own package defines (StepError and its kind): what a run may fail with. Not
    botocore's refusals before sending (a parameter the model refuses, no region, no credentials):
    those are the caller's defects."""
    if isinstance(error, (botocore.exceptions.ClientError, botocore.exceptions.ConnectionError, botocore.exceptions.HTTPClientError)):
        return True
    return type(error).__module__.split(".")[0] == handler_module.split(".")[0]


def _function_error(error_type: str, message: str, trace: str = "") -> dict:
    """An invocation that failed, as Lambda returns it to Step Functions."""
    payload = {"errorType": error_type, "errorMessage": message, "stackTrace": trace.splitlines()[-3:]}
    return {"StatusCode": 200, "FunctionError": "Unhandled", "Payload": payload, "ExecutedVersion": "$LATEST"}


def state_durations(history: list[dict]) -> list[tuple[str, int, float]]:
    """Per state in first-entered order: times entered and simulated seconds spent."""
    totals: dict[str, list] = {}
    entered: tuple[str, object] | None = None
    for event in history:
        details = event.get("stateEnteredEventDetails")
        if details:
            entered = (details["name"], event["timestamp"])
            totals.setdefault(details["name"], [0, 0.0])[0] += 1
        exited = event.get("stateExitedEventDetails")
        if exited and entered and entered[0] == exited["name"]:
            totals[exited["name"]][1] += (event["timestamp"] - entered[1]).total_seconds()
            entered = None
    return [(name, count, seconds) for name, (count, seconds) in totals.items()]
