"""Start and watch a failover, check one beforehand, and show where the writer and traffic are.

The runbook (a Step Functions state machine in each region) does the work; this module
starts it in the region that should become the writer and prints its progress from the
execution history. Every call goes to the endpoints of the region it asks about, so the
commands keep working with the other region down: a region that cannot be reached is
reported in one line, never as a traceback.

A region the command only observes (every region for ``status`` and the dry run, the other
region for a failover) gets short timeouts and one retry, so a region that accepts
connections and never answers costs at most ``OBSERVED_CALL_SECONDS``; once a call to it
got no answer, the next calls to it fail at once. The regions are asked in parallel, and
the command says what it is waiting for every ``PROGRESS_SECONDS``.
"""

from __future__ import annotations

import functools
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError,
    HTTPClientError,
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
)

from ops import readiness
from ops.errors import CREDENTIAL_ERROR_CODES, EXIT_BAD_INPUT, EXIT_PROBLEM, OpsError, error_code
from templates import dns, naming
from templates.config import Config, region_partition

EXIT_OK = 0

PLANNED = "planned"
UNPLANNED = "unplanned"
DEFAULT_TIMEOUT_SECONDS = 30 * 60
DEFAULT_POLL_SECONDS = 5

# The runbook's steps (templates/runbook.py). WaitForWriter is no state of its own but a loop
# that starts at CheckWriter and ends when the next step (or the failure path) is entered:
# the watch prints it as one step with its states nested.
STEPS = ("ScaleService", "CheckCapacity", "PromoteDatabase", "WaitForWriter", "SwitchTraffic", "CheckTraffic", "ReportSucceeded", "Notify")
# Unplanned failovers to the DR region only: the old primary is fenced first.
FENCE_STEPS = ("FenceOldPrimary", "CheckDrain")
WAIT_STEP = "WaitForWriter"
CHECK_STATE = "CheckWriter"
FAILURE_STATE = "NotifyFailure"
FAILURE_REPORT = "ReportFailed"
# Failing back only: after the switch is released, the DR service returns to warm standby.
FAILBACK_STEP = "ReturnPeerToStandby"
AFTER_WAIT_LOOP = {*STEPS, FAILBACK_STEP, FAILURE_STATE}
TERMINAL_EVENTS = {
    "ExecutionSucceeded": "SUCCEEDED",
    "ExecutionFailed": "FAILED",
    "ExecutionTimedOut": "TIMED_OUT",
    "ExecutionAborted": "ABORTED",
}
# Step Functions execution names: at most 80 characters; this subset is safe everywhere.
FAILOVER_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
# The maximum page size of GetExecutionHistory: one call per poll for any realistic run.
HISTORY_PAGE_SIZE = 1000
# Step errors are cut in progress lines (a Lambda's stack trace is long); the final report has them whole.
PROGRESS_CAUSE_CHARS = 300

PASS, WARN, FAIL = "PASS", "WARN", "FAIL"
READINESS_TASK = "readiness"

# The region a failover acts on must answer, so its calls may be patient, within bounds
# (botocore's defaults are 60-second connect and read timeouts). botocore's "max_attempts"
# counts retries; "total_max_attempts" counts every attempt.
CLIENT_CONFIG = BotoConfig(connect_timeout=5, read_timeout=30, retries={"mode": "standard", "total_max_attempts": 3})
# A region only observed may be the one that is down: two attempts of at most 5 s each
# (AWS's read APIs answer in well under a second), plus standard mode's first backoff (<= 1 s).
OBSERVED_CLIENT_CONFIG = BotoConfig(
    connect_timeout=2, read_timeout=5, retries={"mode": "standard", "total_max_attempts": 2}
)
OBSERVED_CALL_SECONDS = 11
PROGRESS_SECONDS = 3
ACCESS_DENIED_CODES = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError"}
# IAM action prefixes that differ from boto3's service names.
IAM_PREFIXES = {"stepfunctions": "states"}

Out = Callable[[str], None]


class AwsError(OpsError):
    """One AWS call failed, in one line; ``code`` is AWS's error code (None if no answer came)."""

    def __init__(self, message: str, code: str | None = None, exit_status: int = EXIT_PROBLEM):
        super().__init__(message, exit_status=exit_status)
        self.code = code


@contextmanager
def _worded(service: str, region: str, operation: str) -> Iterator[None]:
    """botocore's exceptions as one line naming the region and, when denied, the missing permission."""
    try:
        yield
    except (NoCredentialsError, PartialCredentialsError, ProfileNotFound) as exc:
        raise AwsError(f"AWS credentials: {exc}", exit_status=EXIT_BAD_INPUT) from None
    except ClientError as exc:
        code, message = error_code(exc), exc.response.get("Error", {}).get("Message", "")
        if code in ACCESS_DENIED_CODES:
            action = f"{IAM_PREFIXES.get(service, service)}:{exc.operation_name}"
            message = f"permission denied in {region}: these credentials lack {action} ({message})"
            raise AwsError(message, code) from None
        status = EXIT_BAD_INPUT if code in CREDENTIAL_ERROR_CODES else EXIT_PROBLEM
        raise AwsError(f"{exc.operation_name} in {region} failed: {code}: {message}", code, status) from None
    except BotoCoreError as exc:
        raise AwsError(f"{service} {operation} in {region} failed: {exc}") from None


class _Aws:
    """One client per service and region, made on first use; every failure is an ``AwsError``.

    Only ``acts_in`` (the region a failover changes) gets patient clients; a region that gave
    no answer once is not asked again. Safe to use from several threads."""

    def __init__(self, session: Any, acts_in: str | None = None):
        self._session = session
        self._acts_in = acts_in
        self._clients: dict[tuple[str, str], Any] = {}
        self._accounts: dict[str, str] = {}
        self._silent: dict[str, str] = {}  # region -> the first unanswered call
        self._lock = threading.Lock()  # boto3 sessions are not thread-safe; their clients are

    def _client(self, service: str, region: str) -> Any:
        with self._lock:
            if (service, region) not in self._clients:
                self._session = self._session or boto3.Session()
                config = CLIENT_CONFIG if region == self._acts_in else OBSERVED_CLIENT_CONFIG
                self._clients[service, region] = self._session.client(service, region_name=region, config=config)
            return self._clients[service, region]

    @contextmanager
    def _answered(self, service: str, region: str, operation: str) -> Iterator[None]:
        if region in self._silent:
            raise AwsError(f"{region} unreachable (skipped {service} {operation}: {self._silent[region]})")
        with _worded(service, region, operation):
            try:
                yield
            except (ConnectionError, HTTPClientError) as exc:
                self._silent.setdefault(region, f"{service} {operation} got no answer")
                raise AwsError(f"{region} unreachable ({service} {operation}: {exc})") from None

    def call(self, service: str, region: str, operation: str, **params: Any) -> dict:
        with self._answered(service, region, operation):
            return getattr(self._client(service, region), operation)(**params)

    def pages(self, service: str, region: str, operation: str, **params: Any) -> list[dict]:
        with self._answered(service, region, operation):
            return list(self._client(service, region).get_paginator(operation).paginate(**params))

    def account(self, region: str) -> str:
        """The caller's account, asked of ``region``'s STS endpoint (the global one is in us-east-1)."""
        if region not in self._accounts:
            self._accounts[region] = self.call("sts", region, "get_caller_identity")["Account"]
        return self._accounts[region]


def in_parallel(
    tasks: Mapping[str, Callable[[], Any]], out: Out, progress_seconds: float = PROGRESS_SECONDS
) -> dict[str, Any]:
    """Run each task in a thread of its own; by name, what it returned or the ``AwsError`` it raised.

    While any runs, says every ``progress_seconds`` which are still waiting. Credentials that
    do not work fail every task the same way: they are raised, once."""
    results: dict[str, Any] = {}
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=len(tasks) or 1) as pool:
        running = {pool.submit(task): name for name, task in tasks.items()}
        while running:
            done, _ = wait(running, timeout=progress_seconds, return_when=FIRST_COMPLETED)
            for future in done:
                name = running.pop(future)
                try:
                    results[name] = future.result()
                except AwsError as exc:
                    results[name] = exc
            if running and not done:
                waiting = ", ".join(sorted(running.values()))
                out(f"  ... waiting {time.monotonic() - started:.0f} s for: {waiting} "
                    f"(a region that does not answer is given up after {OBSERVED_CALL_SECONDS} s)")
    for result in results.values():
        if isinstance(result, AwsError) and result.exit_status == EXIT_BAD_INPUT:
            raise result
    return results


def runbook_arn(cfg: Config, region: str, account: str) -> str:
    name = naming.runbook_state_machine(cfg).pattern
    return f"arn:{region_partition(region)}:states:{region}:{account}:stateMachine:{name}"


def new_failover_id() -> str:
    """Sortable by time and unique: it names the execution and keys the runbook's idempotency records."""
    return f"failover-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def execution_input(failover_id: str, mode: str, accept_data_loss: bool) -> str:
    """Byte-stable, so a re-run with the same id and options attaches to the running execution."""
    body = {"failover_id": failover_id, "mode": mode, "accept_data_loss": accept_data_loss, "trigger": "operator"}
    return json.dumps(body, sort_keys=True)


def _input_problem(cfg: Config, region: str, mode: str, accept_data_loss: bool, failover_id: str | None) -> str | None:
    if region not in cfg.regions:
        return (
            f"--to {region}: not a region of this configuration; "
            f"use {cfg.primary_region} (primary) or {cfg.dr_region} (DR)"
        )
    if mode not in (PLANNED, UNPLANNED):
        return f"mode must be {PLANNED!r} or {UNPLANNED!r}, not {mode!r}"
    if mode == UNPLANNED and not accept_data_loss:
        return (
            "--unplanned fails over with AllowDataLoss and loses the writes not yet replicated (up to the "
            "current lag); add --accept-data-loss to confirm, or use --planned"
        )
    if mode == PLANNED and accept_data_loss:
        return "--accept-data-loss applies only to --unplanned (a planned switchover loses nothing)"
    if mode == UNPLANNED and region == cfg.primary_region:
        return (
            f"--to {region} --unplanned: failing back is planned only, because releasing the failover switch "
            f"needs {cfg.dr_region}'s CloudWatch. While {cfg.dr_region} is down its record is unhealthy and "
            f"Route 53 already answers with {region}'s; fail back with --planned once {cfg.dr_region} is back"
        )
    if failover_id is not None and not FAILOVER_ID_PATTERN.match(failover_id):
        return f"--failover-id {failover_id!r}: use 1 to 80 letters, digits, '-' or '_' (it names the execution)"
    return None


def _direction(cfg: Config, region: str) -> str:
    if region == cfg.dr_region:
        return f"fail over to {region} (the DR region): the runbook throws the failover switch"
    return f"fail back to {region} (the primary region): the runbook releases the failover switch"


def _when(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


def run_failover(
    cfg: Config,
    target_region: str,
    mode: str = PLANNED,
    accept_data_loss: bool = False,
    dry_run: bool = False,
    session: Any = None,
    out: Out = print,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    *,
    failover_id: str | None = None,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    poll_seconds: float = DEFAULT_POLL_SECONDS,
) -> int:
    """``build.py failover``: start the runbook in ``target_region`` and watch it to its end,
    or with ``dry_run`` print the plan and the pre-flight checks without changing anything.

    Returns 0 on success (dry run: no FAIL), 1 on a failed, refused or unfinished run, 2 on bad
    input or unusable credentials.
    """
    problem = _input_problem(cfg, target_region, mode, accept_data_loss, failover_id)
    if problem:
        out(f"error: {problem}")
        return EXIT_BAD_INPUT
    aws = _Aws(session, acts_in=None if dry_run else target_region)
    try:
        if dry_run:
            return _dry_run(cfg, aws, target_region, mode, out)
        return _start_and_watch(
            cfg, aws, target_region, mode, accept_data_loss, failover_id or new_failover_id(), out, sleep, clock,
            timeout_seconds, poll_seconds,
        )
    except AwsError as exc:
        out(f"error: {exc}")
        return exc.exit_status


@dataclass(frozen=True)
class _Running:
    region: str
    name: str
    started: datetime


def _running_executions(cfg: Config, aws: _Aws, account: str) -> tuple[list[_Running], dict[str, AwsError]]:
    """Runbook executions RUNNING in either region, and the regions that could not be asked."""
    running, unreachable = [], {}
    for region in cfg.regions:
        arn = runbook_arn(cfg, region, account)
        try:
            pages = aws.pages("stepfunctions", region, "list_executions", stateMachineArn=arn, statusFilter="RUNNING")
        except AwsError as exc:
            unreachable[region] = exc
            continue
        running += [_Running(region, e["name"], e["startDate"]) for page in pages for e in page["executions"]]
    return running, unreachable


def _keep_watching(region: str, execution_arn: str, failover_id: str) -> list[str]:
    return [
        "The runbook keeps running without this command. Keep watching: re-run it with the same options and",
        f"--failover-id {failover_id} (it attaches to the running execution), or run",
        f"  aws stepfunctions describe-execution --region {region} --execution-arn {execution_arn}",
    ]


def _start_and_watch(
    cfg: Config, aws: _Aws, region: str, mode: str, accept_data_loss: bool, failover_id: str, out: Out,
    sleep: Callable[[float], None], clock: Callable[[], float], timeout_seconds: float, poll_seconds: float,
) -> int:
    account = aws.account(region)
    running, unreachable = _running_executions(cfg, aws, account)
    if region in unreachable:
        raise unreachable[region]
    for other, exc in unreachable.items():
        out(f"warning: could not check {other} for a running runbook ({exc}); going on, the failover runs in {region}")
    attaching = any(r.region == region and r.name == failover_id for r in running)
    others = [r for r in running if not (r.region == region and r.name == failover_id)]
    if others:
        for r in others:
            out(f"error: the runbook is already running in {r.region}: execution {r.name}, "
                f"started {_when(r.started)}")
        out("Wait for it to end (or stop it) before starting another failover.")
        return EXIT_PROBLEM
    out(f"{_direction(cfg, region)}; mode {mode}, failover id {failover_id}")
    try:
        execution = aws.call(
            "stepfunctions", region, "start_execution",
            stateMachineArn=runbook_arn(cfg, region, account), name=failover_id,
            input=execution_input(failover_id, mode, accept_data_loss),
        )
    except AwsError as exc:
        if exc.code == "ExecutionAlreadyExists":
            out(f"error: failover id {failover_id} was already used in {region} (a finished run, or other options); "
                "use a new id, or the same options to attach to a running one")
            return EXIT_PROBLEM
        raise
    arn = execution["executionArn"]
    out(f"{'Attached to the running' if attaching else 'Started'} execution {arn}")
    try:
        status = _watch(aws, region, arn, out, sleep, clock, timeout_seconds, poll_seconds)
    except AwsError as exc:
        out(f"error: lost track of the execution: {exc}")
        status = None
    if status is None:
        for line in _keep_watching(region, arn, failover_id):
            out(line)
        return EXIT_PROBLEM
    return EXIT_OK if status == "SUCCEEDED" else EXIT_PROBLEM


def _watch(
    aws: _Aws, region: str, execution_arn: str, out: Out, sleep: Callable[[float], None], clock: Callable[[], float],
    timeout_seconds: float, poll_seconds: float,
) -> str | None:
    """Print the history as it grows; the final status, or None when the watch timed out."""
    timeline = _Timeline(out)
    deadline = clock() + timeout_seconds
    while True:
        pages = aws.pages(
            "stepfunctions", region, "get_execution_history",
            executionArn=execution_arn, PaginationConfig={"PageSize": HISTORY_PAGE_SIZE},
        )
        for page in pages:
            for event in page["events"]:
                timeline.add(event)
        if timeline.status:
            return timeline.status
        if clock() >= deadline:
            out(f"Stopped watching after {_duration(timeout_seconds)}: the execution has not ended.")
            return None
        sleep(poll_seconds)


class _Timeline:
    """Execution-history events to progress lines: each event once, durations from AWS's timestamps."""

    def __init__(self, out: Out):
        self._out = out
        self._last_id = 0
        self._started: datetime | None = None
        self._entered: dict[str, datetime] = {}
        self._current = ""
        # The wait loop while it runs: [first entry, last exit, checks made].
        self._loop: list | None = None
        # The last step error: the runbook's Fail state reports a generic one.
        self._step_error = ""
        self.status: str | None = None

    def add(self, event: dict) -> None:
        if event["id"] <= self._last_id:
            return
        self._last_id = event["id"]
        kind, at = event["type"], event["timestamp"]
        if kind == "ExecutionStarted":
            self._started = at
            self._out(f"Execution started {_when(at)}")
        elif kind.endswith("StateEntered"):
            self._enter(event["stateEnteredEventDetails"]["name"], at, is_fail=kind == "FailStateEntered")
        elif kind.endswith("StateExited"):
            self._exit(event["stateExitedEventDetails"]["name"], at)
        elif kind in TERMINAL_EVENTS:
            self._end(TERMINAL_EVENTS[kind], at, event.get(kind[0].lower() + kind[1:] + "EventDetails", {}))
        elif kind.endswith(("Failed", "TimedOut")):
            details = next((v for k, v in event.items() if k.endswith("EventDetails") and "error" in v), None)
            if details:
                self._step_error = f"{self._current}: {details['error']}: {details.get('cause', '')}"
                self._line(at, self._step_error[:PROGRESS_CAUSE_CHARS], nested=self._loop is not None)
        elif kind.endswith("Succeeded"):
            self._step_error = ""  # a retry made it

    def _line(self, at: datetime, text: str, nested: bool = False) -> None:
        offset = (at - self._started).total_seconds() if self._started else 0
        minutes, seconds = divmod(int(offset), 60)
        self._out(f"  +{minutes}:{seconds:02d}  {'  ' if nested else ''}{text}")

    def _enter(self, name: str, at: datetime, is_fail: bool) -> None:
        if name == CHECK_STATE and self._loop is None:
            self._loop = [at, at, 0]
            self._line(at, f"{WAIT_STEP} entered")
        elif name in AFTER_WAIT_LOOP:
            self._close_loop()
        self._current = name
        if not is_fail:
            self._entered[name] = at
        self._line(at, f"{name} entered", nested=self._loop is not None)

    def _exit(self, name: str, at: datetime) -> None:
        entered = self._entered.pop(name, at)
        if self._loop is not None:
            self._loop[1] = at
            self._loop[2] += name == CHECK_STATE
        took = _duration((at - entered).total_seconds())
        self._line(at, f"{name} exited after {took}", nested=self._loop is not None)

    def _close_loop(self) -> None:
        if self._loop is None:
            return
        first, last, checks = self._loop
        self._loop = None
        took = _duration((last - first).total_seconds())
        self._line(last, f"{WAIT_STEP} exited after {took} ({checks} check{'' if checks == 1 else 's'})")

    def _end(self, status: str, at: datetime, details: dict) -> None:
        self._close_loop()
        for name, entered in self._entered.items():
            self._line(at, f"{name} did not finish ({_duration((at - entered).total_seconds())} in it)")
        self._entered.clear()
        total = (at - self._started).total_seconds() if self._started else 0
        self._out(f"Execution {status} in {_duration(total)}")
        for field in ("error", "cause"):
            if details.get(field):
                self._out(f"  {field}: {details[field]}")
        if status != "SUCCEEDED" and self._step_error:
            self._out(f"  last step error: {self._step_error}")
        self.status = status


# --- dry run -------------------------------------------------------------------------


def _plan(cfg: Config, region: str, mode: str) -> list[str]:
    old = cfg.peer_region(region)
    cluster, global_cluster = naming.db_cluster(cfg).for_region(region), naming.global_cluster(cfg).pattern
    timing = dns.timing(cfg)
    switch = timing["switch"]
    to_dr = region == cfg.dr_region
    capacity = cfg.app.failover_desired_count if to_dr else cfg.app.primary_desired_count
    planned = (
        "planned switchover (SwitchoverGlobalCluster): RPO 0, nothing is lost; needs a healthy old primary "
        f"in {old}, which becomes the secondary"
    )
    unplanned = (
        "unplanned failover (FailoverGlobalCluster with AllowDataLoss): RPO = the current replication lag; "
        f"the old primary in {old} rejoins as a secondary later"
    )
    chosen, other = (planned, unplanned) if mode == PLANNED else (unplanned, planned)
    value = switch["throw_value" if to_dr else "release_value"]
    health = f"every {cfg.runbook.health_poll_seconds} s for up to {cfg.health_wait_seconds} s"
    steps = [
        *(
            [f"{FENCE_STEPS[0]}: the old primary's service in {old} to 0 tasks, its autoscaling suspended (Route 53 is asked "
             "when its ECS API does not answer)",
             f"{FENCE_STEPS[1]}: its tasks drained and stopped; still running: nothing is promoted"]
            if to_dr and mode == UNPLANNED
            else []
        ),
        f"{STEPS[0]}: raise {naming.ecs_service(cfg).pattern} in {region} to {capacity} tasks (autoscaling max {cfg.app.max_count})",
        f"{STEPS[1]}: a healthy target behind {region}'s load balancer, {health}; none: nothing is promoted",
        f"{STEPS[2]}: make {cluster} the writer of {global_cluster}",
        f"{STEPS[3]}: {CHECK_STATE} every {cfg.runbook.writer_poll_seconds} s until it is the available writer, "
        f"for up to {cfg.runbook.writer_wait_seconds} s (a promotion still in flight is followed for up to "
        f"{cfg.runbook.follow_promotion_minutes} min)",
        f"{STEPS[4]}: {'throw' if to_dr else 'release'} the failover switch: publish {value} to "
        f"{switch['namespace']}/{switch['metric']} in {switch['alarm_region']}, then read it back; DNS follows within about "
        f"{timing['dns_after_switch_seconds']} s plus Route 53's propagation",
        f"{STEPS[5]}: Route 53's checkers see {region}'s load balancer healthy, {health} (unverified if Route 53's API "
        "does not answer)",
        *(
            [f"{FAILBACK_STEP}: return {naming.ecs_service(cfg).pattern} in {old} to its warm standby of {cfg.app.dr_desired_count} tasks"]
            if not to_dr
            else []
        ),
        f"{STEPS[6]}: the failover report, to {region}'s report bucket",
        f"{STEPS[7]}: one message with the timeline and where the report is",
    ]
    return [
        "Dry run: nothing is changed.",
        f"Plan: {_direction(cfg, region)}.",
        f"Mode: {chosen}.",
        f"  (the other mode: {other})",
        f"Runbook {naming.runbook_state_machine(cfg).pattern} in {region}, steps in order:",
        *(f"  {number}. {step}" for number, step in enumerate(steps, 1)),
        f"  on failure: {FAILURE_STATE} pages on-call, {FAILURE_REPORT} writes the report, then the execution fails",
    ]


def _check_runbook(cfg: Config, aws: _Aws, region: str, mode: str) -> tuple[str, str]:
    arn = runbook_arn(cfg, region, aws.account(region))
    machine = aws.call("stepfunctions", region, "describe_state_machine", stateMachineArn=arn)
    return PASS, f"{machine['name']} is {machine.get('status', 'present')}"


def _check_idle(cfg: Config, aws: _Aws, region: str, mode: str) -> tuple[str, str]:
    running, unreachable = _running_executions(cfg, aws, aws.account(region))
    if region in unreachable:
        raise unreachable[region]
    if running:
        return FAIL, "; ".join(f"{r.name} running in {r.region} since {_when(r.started)}" for r in running)
    if unreachable:
        return WARN, "; ".join(f"{other} not checked: {exc}" for other, exc in unreachable.items())
    return PASS, "no execution running in either region"


def _check_stack_instances(cfg: Config, aws: _Aws, region: str, mode: str) -> tuple[str, str]:
    stack_set, admin = naming.stack_set(cfg, "regional").pattern, cfg.administration_region
    try:
        pages = aws.pages(
            "cloudformation", admin, "list_stack_instances", StackSetName=stack_set, StackInstanceRegion=region
        )
    except AwsError as exc:
        if exc.code == "StackSetNotFoundException":
            return FAIL, f"stack set {stack_set} not found in {admin}, where it is administered"
        # The administration region may be the one that is down: not a reason to stop.
        return WARN, f"not checked: stack set {stack_set} is administered in {admin}: {exc}"
    statuses = sorted({i["Status"] for page in pages for i in page["Summaries"] if i["Region"] == region})
    if not statuses:
        return FAIL, f"stack set {stack_set} has no stack instance in {region}"
    observed = f"{stack_set} instance in {region}: {', '.join(statuses)}"
    if statuses == ["CURRENT"]:
        return PASS, observed
    return (FAIL if "INOPERABLE" in statuses else WARN), observed


def _check_alarms(cfg: Config, aws: _Aws, region: str, mode: str) -> tuple[str, str]:
    prefix = naming.prefix(cfg)
    pages = aws.pages(
        "cloudwatch", region, "describe_alarms", AlarmNamePrefix=prefix, AlarmTypes=["MetricAlarm", "CompositeAlarm"]
    )
    alarms = [a for page in pages for a in page.get("MetricAlarms", []) + page.get("CompositeAlarms", [])]
    if not alarms:
        return WARN, f"no alarm named {prefix}* in {region}: is the regional stack deployed?"
    firing = sorted(a["AlarmName"] for a in alarms if a["StateValue"] == "ALARM")
    if firing:
        return WARN, f"{len(firing)} of {len(alarms)} in ALARM: {', '.join(firing)}"
    return PASS, f"none of {len(alarms)} in ALARM"


PREFLIGHT_CHECKS = (
    ("runbook state machine", _check_runbook),
    ("no runbook running", _check_idle),
    ("stack instances current", _check_stack_instances),
    ("alarms", _check_alarms),
)


def _readiness(cfg: Config, aws: _Aws, region: str) -> list[readiness.Finding]:
    """The region's readiness, by the checks its readiness function runs (the same code)."""
    return readiness.findings(cfg, region, runbook_arn(cfg, region, aws.account(region)), aws._client)


def _preflight_status(finding: readiness.Finding, mode: str) -> str:
    """Not ready fails the dry run, unknown (the other region did not answer) warns; so does
    lag in a planned switchover, which waits for the secondary to catch up (RPO 0)."""
    if finding.ready is True:
        return PASS
    if finding.ready is None or (mode == PLANNED and finding.check == "ReplicationLag"):
        return WARN
    return FAIL


def _dry_run(cfg: Config, aws: _Aws, region: str, mode: str, out: Out) -> int:
    for line in _plan(cfg, region, mode):
        out(line)
    out(f"Pre-flight checks ({region}), all at once:")
    tasks = {name: functools.partial(check, cfg, aws, region, mode) for name, check in PREFLIGHT_CHECKS}
    tasks[READINESS_TASK] = functools.partial(_readiness, cfg, aws, region)
    answers = in_parallel(tasks, out)
    results = [
        ((FAIL, str(answers[name])) if isinstance(answers[name], AwsError) else answers[name]) + (name,)
        for name, _ in PREFLIGHT_CHECKS
    ]
    found = answers[READINESS_TASK]
    if isinstance(found, AwsError):
        results.append((FAIL, str(found), READINESS_TASK))
    else:
        results += [(_preflight_status(f, mode), f.observed, f"{READINESS_TASK} {f.check}") for f in found]
    for status, observed, name in results:
        out(f"  {status}  {name}: {observed}")
    return EXIT_PROBLEM if any(status == FAIL for status, _, _ in results) else EXIT_OK


# --- status --------------------------------------------------------------------------


# What status asks, as its progress lines name it.
SWITCH_TASK, WRITER_TASK, SERVICE_TASK = "failover switch", "global database", "service"


def _region_of(arn: str) -> str:
    return arn.split(":")[3]


def _writer(cfg: Config, answers: Mapping[str, Any], out: Out) -> tuple[str | None, bool]:
    """Print the global database's members as the primary region sees them, else as the DR
    region does (so it works with either down); (the writer's region, every region answered)."""
    name = naming.global_cluster(cfg).pattern
    failures = [str(answers[region]) for region in cfg.regions if isinstance(answers[region], AwsError)]
    for region in cfg.regions:
        found = answers[region]
        if isinstance(found, AwsError):
            continue
        if not found["GlobalClusters"]:
            failures.append(f"{region}: no global database {name}")
            continue
        (cluster,) = found["GlobalClusters"]
        out(f"Global database {name} (asked {region}): {cluster.get('Status', 'unknown')}")
        writer = None
        for member in cluster.get("GlobalClusterMembers", []):
            member_region = _region_of(member["DBClusterArn"])
            writer = member_region if member.get("IsWriter") else writer
            role = "writer" if member.get("IsWriter") else "secondary"
            out(f"  {role}: {member_region} ({member['DBClusterArn'].split(':')[-1]})")
        failover = cluster.get("FailoverState")
        if failover:
            kind = "failover with data loss allowed" if failover.get("IsDataLossAllowed") else "switchover"
            out(
                f"  FailoverState: {failover.get('Status')}: {kind} from {_region_of(failover['FromDbClusterArn'])} "
                f"to {_region_of(failover['ToDbClusterArn'])}"
            )
        for line in failures:
            out(f"  ({line})")
        return writer, not failures
    out(f"Global database {name}: writer unknown")
    for line in failures:
        out(f"  {line}")
    return None, False


def _switch(cfg: Config, found: Any, out: Out) -> tuple[str | None, bool]:
    """Print the failover switch's position; (the region traffic goes to, the alarm was read)."""
    switch = dns.timing(cfg)["switch"]
    name, region = switch["alarm_name"], switch["alarm_region"]
    if isinstance(found, AwsError):
        out(f"Failover switch {name}: {found}")
        return None, False
    if not found["MetricAlarms"]:
        out(f"Failover switch {name}: not found in {region} (is the bootstrap stack set deployed?)")
        return None, False
    state = found["MetricAlarms"][0]["StateValue"]
    if state == "ALARM":
        out(f"Failover switch {name}: thrown (ALARM): traffic goes to the DR region {cfg.dr_region}")
        return cfg.dr_region, True
    if state == "OK":
        out(
            f"Failover switch {name}: released (OK): traffic goes to the primary region {cfg.primary_region} "
            "while its ALB is healthy"
        )
        return cfg.primary_region, True
    out(f"Failover switch {name}: {state}: Route 53 keeps the switch's last known status")
    return None, True


def _services(cfg: Config, answers: Mapping[str, Any], out: Out) -> bool:
    """Print each region's service counts; whether every region answered."""
    cluster, service = naming.ecs_cluster(cfg).pattern, naming.ecs_service(cfg).pattern
    out(f"Service {service} (cluster {cluster}):")
    answered = True
    for region in cfg.regions:
        if isinstance(answers[region], AwsError):
            out(f"  {answers[region]}")
            answered = False
            continue
        active = [s for s in answers[region]["services"] if s.get("status") == "ACTIVE"]
        if active:
            counts = active[0]
            out(
                f"  {region}: desired {counts['desiredCount']}, running {counts['runningCount']}, "
                f"pending {counts.get('pendingCount', 0)}"
            )
        else:
            out(f"  {region}: no active service")
    return answered


def _show_readiness(cfg: Config, answers: Mapping[str, Any], out: Out) -> bool:
    """Print each region's readiness as its readiness function sees it; whether every region answered."""
    answered = True
    for region in cfg.regions:
        found = answers[region]
        if isinstance(found, AwsError):
            out(f"Readiness {region}: {found}")
            answered = False
            continue
        out(f"Readiness {region}: {readiness.summary(found)}")
        for finding in found:
            if finding.ready is not True:
                out(f"  {'not ready' if finding.ready is False else 'unknown'}: {finding.check}: {finding.observed}")
    return answered


def run_status(cfg: Config, session: Any = None, out: Out = print) -> int:
    """``build.py status``: which region is the writer, where the switch sends traffic, and the
    service in each region. Each region is asked on its own endpoints, all at once, so one that
    is down shows as unreachable. Returns 0 when everything answered, 1 otherwise, 2 when the
    credentials do not work."""
    aws = _Aws(session)
    switch = dns.timing(cfg)["switch"]
    cluster, service = naming.ecs_cluster(cfg).pattern, naming.ecs_service(cfg).pattern
    global_cluster = naming.global_cluster(cfg).pattern
    tasks = {SWITCH_TASK: functools.partial(
        aws.call, "cloudwatch", switch["alarm_region"], "describe_alarms",
        AlarmNames=[switch["alarm_name"]], AlarmTypes=["MetricAlarm"],
    )}
    for region in cfg.regions:
        tasks[f"{region} {WRITER_TASK}"] = functools.partial(
            aws.call, "rds", region, "describe_global_clusters", GlobalClusterIdentifier=global_cluster
        )
        tasks[f"{region} {SERVICE_TASK}"] = functools.partial(
            aws.call, "ecs", region, "describe_services", cluster=cluster, services=[service]
        )
        tasks[f"{region} {READINESS_TASK}"] = functools.partial(_readiness, cfg, aws, region)
    out(f"Asking {' and '.join(cfg.regions)}...")
    try:
        found = in_parallel(tasks, out)
    except AwsError as exc:
        out(f"error: {exc}")
        return exc.exit_status
    writer, writer_answered = _writer(cfg, {r: found[f"{r} {WRITER_TASK}"] for r in cfg.regions}, out)
    serving, switch_answered = _switch(cfg, found[SWITCH_TASK], out)
    services_answered = _services(cfg, {r: found[f"{r} {SERVICE_TASK}"] for r in cfg.regions}, out)
    readiness_answered = _show_readiness(cfg, {r: found[f"{r} {READINESS_TASK}"] for r in cfg.regions}, out)
    if writer and serving and writer != serving:
        out(f"warning: the writer is in {writer} but traffic goes to {serving}: a failover is in progress or half done")
    return EXIT_OK if writer_answered and switch_answered and services_answered and readiness_answered else EXIT_PROBLEM
