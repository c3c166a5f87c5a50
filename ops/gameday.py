"""``build.py gameday``: fail over to the DR region while an AWS FIS experiment does to the
primary what a regional failure would (``templates/gameday.py``), and report the run against
the RTO/RPO budget with each phase timed by AWS's own clocks.

In order: the failover's readiness checks and dry run (``ops/failover.py``), then the
experiment's own: its template is deployed, and each target subnet's route table has room in
the routes-per-route-table quota for the routes FIS adds; the experiment starts and, once it
runs, the runbook starts through the failover command's own code; both are watched; the
experiment is stopped whatever happened (a failed runbook, an interrupt); with ``--failback``
the runbook then fails back; last, the report (``ops/report.py``'s, with the game day's
measurements added).

The measurements are AWS's timestamps, not this command's: the experiment's start and its
actions' (FIS ``GetExperiment``), the Route 53 health check's alarm turning (CloudWatch
``DescribeAlarmHistory`` in the region of Route 53's metrics), the app error and readiness
alarms in the primary region, the promotion's events of the DR cluster (RDS ``DescribeEvents``)
and the failover switch's alarm in the DR region turning (the switch).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import boto3

from checks import failover_report
from ops import failover
from ops.errors import EXIT_BAD_INPUT, EXIT_PROBLEM
from ops.failover import PLANNED, AwsError, Out, _Aws
from ops.report import execution_report
from templates import gameday as gameday_template
from templates import naming
from templates.config import Config

EXIT_OK = 0
# FIS's experiment states (botocore's model, ExperimentStatus): the last four are final;
# an action's (ExperimentActionStatus) add "skipped".
RUNNING, STOPPING = "running", "stopping"
FINAL = ("completed", "stopped", "failed", "cancelled")
ACTION_ENDED = (*FINAL, "skipped")
# AWS bounds neither how long an experiment takes to inject its fault nor to stop (restoring the
# subnets' route tables): how long this command follows each, ``--fis-wait`` on the command line.
DEFAULT_FIS_WAIT_SECONDS = 900
# Service Quotas: Amazon VPC's "Routes per route table".
ROUTES_QUOTA = ("vpc", "L-93826ACB")
# The room the isolate action needs in each target subnet's route table: "raise the Amazon VPC
# quota for routes per route table to 250 (or 350 if the region parameter is us-east-1) plus the
# number of routes in your existing route tables" (AWS FIS Actions reference,
# aws:network:route-table-disrupt-cross-region-connectivity,
# https://docs.aws.amazon.com/fis/latest/userguide/fis-actions-reference.html). The region
# parameter is the region cut off (the DR region), read from the deployed template.
FIS_ROUTES_ROOM = 250
FIS_ROUTES_ROOM_LARGER = (350, "us-east-1")


def fis_routes_room(isolated_region: str) -> int:
    room, region = FIS_ROUTES_ROOM_LARGER
    return room if isolated_region == region else FIS_ROUTES_ROOM


# AWS FIS's own quotas on this experiment's targets (Service Quotas, service code fis; AWS FIS
# user guide, "Quotas and limitations for AWS Fault Injection Service",
# https://docs.aws.amazon.com/fis/latest/userguide/fis-quotas.html): "Target Tasks for
# aws:ecs:stop-task" and "Target Subnets for
# aws:network:route-table-disrupt-cross-region-connectivity" (defaults 5 and 6, both adjustable,
# per Service Quotas listings; nothing here depends on them: the dry run reads the account's
# applied value, or AWS's default from Service Quotas where none was applied).
TASKS_QUOTA = ("fis", "L-48D12416")
SUBNETS_QUOTA = ("fis", "L-100E963F")


def _problem(cfg: Config, region: str) -> str | None:
    if not cfg.gameday.enabled:
        return ("the game day is off ([gameday] enabled = false): enable it in the configuration, render and deploy, "
                "then run it (docs/gameday.md)")
    if region != cfg.dr_region:
        return f"--to {region}: a game day fails the primary ({cfg.primary_region}) over to the DR region, {cfg.dr_region}"
    return None


def new_gameday_id() -> str:
    return failover.new_failover_id().replace("failover-", "gameday-", 1)


def _template_id(cfg: Config, fis: _Aws) -> str:
    name = gameday_template.experiment_name(cfg)
    pages = fis.pages("fis", cfg.primary_region, "list_experiment_templates")
    found = [t["id"] for page in pages for t in page["experimentTemplates"] if t.get("tags", {}).get("Name") == name]
    if len(found) != 1:
        raise AwsError(
            f"{'no' if not found else len(found)} FIS experiment template tagged Name={name} in {cfg.primary_region}: "
            "deploy the render with [gameday] enabled = true (one regional stack set)",
            exit_status=EXIT_BAD_INPUT,
        )
    return found[0]


def _quota(aws: _Aws, region: str, service: str, code: str) -> float:
    """The account's value of a quota, AWS's default where none was applied."""
    try:
        return aws.call("service-quotas", region, "get_service_quota", ServiceCode=service, QuotaCode=code)["Quota"]["Value"]
    except AwsError as exc:
        if exc.code != "NoSuchResourceException":
            raise
    return aws.call("service-quotas", region, "get_aws_default_service_quota", ServiceCode=service, QuotaCode=code)["Quota"]["Value"]


def experiment_dry_run(cfg: Config, fis: _Aws, out: Out) -> tuple[str, bool]:
    """The experiment template's id, and whether it can run: its target subnets' route tables
    each have ``fis_routes_room`` routes to spare under the quota, and FIS's target quotas take
    the target subnets and the service's running tasks."""
    region = cfg.primary_region
    template_id = _template_id(cfg, fis)
    template = fis.call("fis", region, "get_experiment_template", id=template_id)["experimentTemplate"]
    arns = template["targets"][gameday_template.SUBNETS_TARGET].get("resourceArns", [])
    subnets = [arn.rsplit("/", 1)[1] for arn in arns]
    isolate = template["actions"][gameday_template.ISOLATE_ACTION]["parameters"]
    room = fis_routes_room(isolate["region"])
    out(f"Experiment template {template_id} in {region}: {len(subnets)} target subnets, "
        f"isolation from {isolate['region']} for {isolate['duration']}")
    tables = fis.call("ec2", region, "describe_route_tables", Filters=[{"Name": "association.subnet-id", "Values": subnets}])["RouteTables"]
    associated = {a.get("SubnetId") for t in tables for a in t.get("Associations", [])}
    quota = _quota(fis, region, *ROUTES_QUOTA)
    largest = max((len(t.get("Routes", [])) for t in tables), default=0)
    ok = bool(subnets) and associated >= set(subnets) and largest + room <= quota
    status = failover.PASS if ok else failover.FAIL
    out(f"  {status}  routes per route table: quota {quota:g}, the target subnets' {len(tables)} tables hold up to "
        f"{largest} routes, FIS needs room for {room} (isolating {isolate['region']})")
    if associated < set(subnets):
        out(f"  {failover.FAIL}  subnets without a route table of their own: {', '.join(sorted(set(subnets) - associated))}")
    if largest + room > quota:
        _ask(out, region, ROUTES_QUOTA, largest + room)
    cluster, service = naming.ecs_cluster(cfg).for_region(region), naming.ecs_service(cfg).for_region(region)
    tasks = [arn for page in fis.pages("ecs", region, "list_tasks", cluster=cluster, serviceName=service) for arn in page["taskArns"]]
    for count, what, (code_of_service, code) in ((len(subnets), "target subnets", SUBNETS_QUOTA),
                                                 (len(tasks), f"running tasks of {service}", TASKS_QUOTA)):
        limit = _quota(fis, region, code_of_service, code)
        fits = count <= limit
        ok = ok and fits
        out(f"  {failover.PASS if fits else failover.FAIL}  FIS target quota {code}: {count} {what}, at most {limit:g}")
        if not fits:
            _ask(out, region, (code_of_service, code), count)
    return template_id, ok


def _ask(out: Out, region: str, quota: tuple[str, str], wanted: float) -> None:
    out(f"    ask for {wanted:g}: aws service-quotas request-service-quota-increase --region {region} "
        f"--service-code {quota[0]} --quota-code {quota[1]} --desired-value {wanted:g}")


class _Experiment:
    """The experiment's state as FIS reports it; each change printed once."""

    def __init__(self, cfg: Config, fis: _Aws, experiment: dict, out: Out):
        self._region, self._fis, self._out = cfg.primary_region, fis, out
        self.id = experiment["id"]
        self.latest = experiment
        self._said = ""

    @property
    def status(self) -> str:
        return self.latest["state"]["status"]

    def action_status(self, name: str) -> str | None:
        """The action's own state (GetExperiment's actions[name].state.status); None before FIS lists it."""
        return self.latest.get("actions", {}).get(name, {}).get("state", {}).get("status")

    def emergency_stop(self) -> str:
        return f"aws fis stop-experiment --region {self._region} --id {self.id}"

    def refresh(self) -> str:
        self.latest = self._fis.call("fis", self._region, "get_experiment", id=self.id)["experiment"]
        said = f"{self.status}{': ' + self.latest['state']['reason'] if self.latest['state'].get('reason') else ''}"
        if said != self._said:
            self._said = said
            self._out(f"  [experiment {self.id}] {said}")
        return self.status

    def stop(self, sleep: Callable[[float], None], clock: Callable[[], float], poll_seconds: float, wait_seconds: float) -> bool:
        """Stop it unless it ended or is stopping, and wait until FIS says it has (``stopping``
        is FIS restoring what it changed: progress, not a failure); False when it did not end."""
        try:
            if self.refresh() not in (*FINAL, STOPPING):
                self._out(f"Stopping experiment {self.id}")
                self._fis.call("fis", self._region, "stop_experiment", id=self.id)
            deadline = clock() + wait_seconds
            while self.refresh() not in FINAL and clock() < deadline:
                sleep(poll_seconds)
        except AwsError as exc:
            self._out(f"error: could not stop experiment {self.id}: {exc}")
        if self.status in FINAL:
            return True
        if self.status == STOPPING:
            self._out(f"error: experiment {self.id} is still stopping after {wait_seconds:g} s (FIS restoring the route tables); "
                      f"follow it: aws fis get-experiment --region {self._region} --id {self.id}")
        else:
            self._out(f"error: experiment {self.id} is {self.status}; stop it: {self.emergency_stop()}")
        return False


def run_gameday(
    cfg: Config,
    target_region: str,
    mode: str = PLANNED,
    accept_data_loss: bool = False,
    failback: bool = False,
    session: Any = None,
    out: Out = print,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    *,
    reports: Path,
    timeout_seconds: float = failover.DEFAULT_TIMEOUT_SECONDS,
    poll_seconds: float = failover.DEFAULT_POLL_SECONDS,
    fis_wait_seconds: float = DEFAULT_FIS_WAIT_SECONDS,
) -> int:
    """0 when the failover (and the failback) succeeded with the experiment stopped and the
    report written; 1 on a failed check, run or stop; 2 on bad input or unusable credentials."""
    problem = _problem(cfg, target_region) or failover._input_problem(cfg, target_region, mode, accept_data_loss, None)
    if problem:
        out(f"error: {problem}")
        return EXIT_BAD_INPUT
    session = session or boto3.Session()
    fis = _Aws(session, acts_in=cfg.primary_region)
    try:
        out("Readiness and dry run of the failover:")
        if readiness_dry_run(cfg, _Aws(session), target_region, mode, out) != EXIT_OK:
            out("error: the failover's pre-flight checks failed: no experiment was started")
            return EXIT_PROBLEM
        out("Dry run of the experiment:")
        template_id, runnable = experiment_dry_run(cfg, fis, out)
        if not runnable:
            out("error: the experiment cannot run as it is: nothing was started")
            return EXIT_PROBLEM
        gameday_id = new_gameday_id()
        started = fis.call("fis", cfg.primary_region, "start_experiment", experimentTemplateId=template_id,
                           clientToken=gameday_id, tags={"GamedayId": gameday_id})["experiment"]
    except AwsError as exc:
        out(f"error: {exc}")
        return exc.exit_status
    experiment = _Experiment(cfg, fis, started, out)
    out(f"Started experiment {experiment.id} in {cfg.primary_region} (game day {gameday_id}). Should this command die, "
        f"stop it: {experiment.emergency_stop()} (or turn its abort alarm: {gameday_template.abort_command(cfg)})")
    aws = _Aws(session, acts_in=target_region)
    status, ran = EXIT_PROBLEM, False
    try:
        status, ran = _fail_over(cfg, aws, experiment, target_region, mode, accept_data_loss, gameday_id, out, sleep, clock,
                                 timeout_seconds, poll_seconds, fis_wait_seconds)
    except KeyboardInterrupt:
        out("Interrupted: stopping the experiment; the runbook, if it started, keeps running (build.py status)")
    except AwsError as exc:
        out(f"error: {exc}")
    finally:
        stopped = experiment.stop(sleep, clock, poll_seconds, fis_wait_seconds)
    if not stopped:
        status = EXIT_PROBLEM
    if failback and status == EXIT_OK:
        out(f"Failing back to {cfg.primary_region} (planned), the experiment stopped")
        back = _Aws(session, acts_in=cfg.primary_region)
        status = failover._start_and_watch(cfg, back, cfg.primary_region, PLANNED, False, f"{gameday_id}-failback", out, sleep,
                                           clock, timeout_seconds, poll_seconds)
    if ran:
        return _write_report(cfg, aws, experiment, target_region, gameday_id, reports, out) or status
    return status


def readiness_dry_run(cfg: Config, aws: _Aws, region: str, mode: str, out: Out) -> int:
    """The failover command's dry run (its plan, pre-flight and readiness checks), as it runs it."""
    return failover._dry_run(cfg, aws, region, mode, out)


def _fail_over(
    cfg: Config, aws: _Aws, experiment: _Experiment, region: str, mode: str, accept_data_loss: bool, gameday_id: str,
    out: Out, sleep: Callable[[float], None], clock: Callable[[], float], timeout_seconds: float, poll_seconds: float,
    fis_wait_seconds: float,
) -> tuple[int, bool]:
    """Wait for the fault to be injected (the isolate action itself running, not only the
    experiment), then run the failover, following the experiment between the runbook's polls;
    (exit status, whether the runbook started)."""
    deadline = clock() + fis_wait_seconds
    while experiment.refresh() in ("pending", "initiating", RUNNING):
        isolating = experiment.action_status(gameday_template.ISOLATE_ACTION)
        if isolating == RUNNING:
            break
        if isolating in (*ACTION_ENDED, STOPPING) or clock() >= deadline:
            out(f"error: experiment {experiment.id} is {experiment.status}, its action {gameday_template.ISOLATE_ACTION} "
                f"{isolating or 'not started'} after {fis_wait_seconds:g} s at most: the runbook was not started")
            return EXIT_PROBLEM, False
        sleep(poll_seconds)
    else:
        out(f"error: experiment {experiment.id} is {experiment.status}, not running: the runbook was not started")
        return EXIT_PROBLEM, False

    def watching(seconds: float) -> None:
        experiment.refresh()
        sleep(seconds)

    return failover._start_and_watch(cfg, aws, region, mode, accept_data_loss, gameday_id, out, watching, clock,
                                     timeout_seconds, poll_seconds), True


# --- the report --------------------------------------------------------------------------


def _alarm_turned(aws: _Aws, region: str, name: str, since: datetime, until: datetime) -> datetime | None:
    """When the alarm first went to ALARM in the window, by CloudWatch's history (None: it did not)."""
    pages = aws.pages("cloudwatch", region, "describe_alarm_history", AlarmName=name, HistoryItemType="StateUpdate",
                      StartDate=since, EndDate=until, ScanBy="TimestampAscending")
    for item in (item for page in pages for item in page["AlarmHistoryItems"]):
        try:
            state = json.loads(item.get("HistoryData") or "{}").get("newState", {}).get("stateValue")
        except ValueError:
            continue
        if state == "ALARM":
            return item["Timestamp"]
    return None


def measurements(cfg: Config, aws: _Aws, experiment: dict, until: datetime) -> dict:
    """The game day's events by AWS's timestamps, each in seconds after the experiment started."""
    start = experiment.get("startTime")
    if start is None:
        raise AwsError(f"FIS gives experiment {experiment['id']} no start time ({experiment['state']['status']}): nothing to time from")
    events: list[dict] = []

    def add(what: str, at: datetime | None, source: str) -> None:
        events.append({"event": what, "at": at.isoformat() if at else None,
                       "seconds": None if at is None else round((at - start).total_seconds(), 3), "source": source})

    for name, action in sorted(experiment.get("actions", {}).items(), key=lambda kv: kv[1].get("startTime") or start):
        add(f"FIS action {name} ({action['actionId']}) started", action.get("startTime"), "FIS GetExperiment")
    primary, dr = cfg.primary_region, cfg.dr_region
    watched = (
        ("Route 53 health check of the primary record unhealthy", cfg.route53_metrics_region, f"{naming.prefix(cfg)}-route53-primary-unhealthy"),
        ("app 5xx alarm in the primary region", primary, naming.alarm(cfg, "alb-target-5xx").for_region(primary)),
        ("readiness alarm in the primary region", primary, naming.alarm(cfg, "dr-not-ready").for_region(primary)),
        ("failover switch thrown (its alarm in the DR region)", dr, naming.failover_switch_alarm(cfg).for_region(dr)),
    )
    for what, region, name in watched:
        add(what, _alarm_turned(aws, region, name, start, until), f"CloudWatch DescribeAlarmHistory {name} ({region})")
    cluster = naming.db_cluster(cfg).for_region(dr)
    pages = aws.pages("rds", dr, "describe_events", SourceIdentifier=cluster, SourceType="db-cluster", StartTime=start, EndTime=until)
    for event in (e for page in pages for e in page["Events"]):
        add(f"{cluster}: {event['Message']}", event["Date"], "RDS DescribeEvents")
    add("experiment ended", experiment.get("endTime"), "FIS GetExperiment")
    events.sort(key=lambda e: (e["seconds"] is None, e["seconds"] or 0))
    switch = next((e["seconds"] for e in events if e["event"].startswith("failover switch")), None)
    return {
        "experiment_id": experiment["id"],
        "experiment_template_id": experiment.get("experimentTemplateId"),
        "experiment_state": experiment["state"],
        "experiment_started": start.isoformat(),
        "events": events,
        "fault_to_switch_seconds": switch,
    }


def _write_report(cfg: Config, aws: _Aws, experiment: _Experiment, region: str, gameday_id: str, reports: Path, out: Out) -> int:
    """0 when written; else 1, having said why (the run's own status stands otherwise)."""
    try:
        report = execution_report(cfg, aws, region, gameday_id)
        report["gameday"] = measurements(cfg, aws, experiment.latest, datetime.now(timezone.utc))
    except AwsError as exc:
        out(f"error: the report could not be built: {exc}; build it later: build.py report {gameday_id} --region {region}")
        return EXIT_PROBLEM
    try:
        json_path, html_path = failover_report.write(report, reports)
    except OSError as exc:
        out(f"error: cannot write the report to {reports}: {exc.strerror or exc}")
        return EXIT_PROBLEM
    switch = report["gameday"]["fault_to_switch_seconds"]
    out(f"Game day {gameday_id}: runbook {report['outcome']}, fault to switch "
        f"{'not measured' if switch is None else f'{switch:g} s'} (RTO {cfg.objectives.rto_seconds} s): {html_path} and {json_path.name}")
    return EXIT_OK
