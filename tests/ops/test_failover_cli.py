"""The failover and status commands against an in-process moto server (real boto3 over HTTP).

moto emulates Step Functions (state machines, executions, idempotent StartExecution),
CloudWatch, ECS, Secrets Manager, StackSets and STS. botocore's ``Stubber`` stands in
where moto cannot answer as AWS does: RDS ``describe_global_clusters``, the runbook's
execution history (moto returns a canned one-state history) and stack instances that are not
CURRENT. A region marked down points at a closed port, so its calls fail with botocore's
real ``EndpointConnectionError``. The clock and sleep are fakes: nothing waits.
"""

from __future__ import annotations

import json
import re
import socket
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

import boto3
import botocore.session
import pytest
from botocore.config import Config as BotoConfig
from botocore.credentials import CredentialResolver
from botocore.stub import ANY, Stubber
from moto.server import ThreadedMotoServer

from ops import failover
from templates import dns, naming
from templates.config import Config, region_partition

CFG = Config()
PRIMARY, DR = CFG.primary_region, CFG.dr_region
STACK_SET = f"{naming.prefix(CFG)}-regional"
# No retries and a short connect timeout: a region marked down fails at once, without real sleeps.
TEST_CLIENT_CONFIG = BotoConfig(retries={"mode": "standard", "max_attempts": 1}, connect_timeout=1)
T0 = datetime(2030, 1, 1, 12, 0, 0, tzinfo=timezone.utc)


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _without_aws_configuration(environment: pytest.MonkeyPatch, nowhere: Path) -> None:
    """No profile, config or credentials file of whoever runs the tests."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        environment.delenv(name, raising=False)
    for name in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        environment.setenv(name, str(nowhere))


@pytest.fixture(scope="module")
def moto_url():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="module")
def boto(tmp_path_factory) -> boto3.Session:
    """One session for every test: it keeps the parsed service models, so clients are cheap."""
    with pytest.MonkeyPatch.context() as environment:
        _without_aws_configuration(environment, tmp_path_factory.mktemp("aws") / "absent")
        return boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing")


class FakeSession:
    """A boto3.Session for the code under test: moto by default, a Stubber-backed client per
    (service, region) where moto falls short, a closed port for regions marked down. Records
    every client made and every operation called."""

    def __init__(self, boto: boto3.Session, url: str):
        self._boto = boto
        self._url = url
        self._down_url = _closed_port_url()
        self.down: set[str] = set()
        self.stubbed: dict[tuple[str, str], object] = {}
        self.clients: list[tuple[str, str]] = []
        self.configs: dict[tuple[str, str], BotoConfig] = {}
        self.operations: list[str] = []

    def _record(self, model, **_):
        self.operations.append(model.name)

    def client(self, service, region_name, config):
        self.clients.append((service, region_name))
        self.configs[service, region_name] = config
        if (service, region_name) in self.stubbed:
            client = self.stubbed[service, region_name]
        else:
            url = self._down_url if region_name in self.down else self._url
            config = config.merge(TEST_CLIENT_CONFIG)
            client = self._boto.client(service, region_name=region_name, endpoint_url=url, config=config)
        client.meta.events.register_first("before-call", self._record)
        return client

    def stub(self, service: str, region: str) -> Stubber:
        client = self._boto.client(service, region_name=region, endpoint_url=self._url)
        self.stubbed[service, region] = client
        stubber = Stubber(client)
        stubber.activate()
        return stubber

    def moto(self, service: str, region: str):
        """A client for arranging the emulated account, outside the code under test."""
        return self._boto.client(service, region_name=region, endpoint_url=self._url)


class NoAwsSession:
    """Fails the test if the code under test even creates a client."""

    def client(self, *args, **kwargs):
        raise AssertionError(f"no AWS call expected, got a client for {args}")


@pytest.fixture()
def aws(boto, moto_url, monkeypatch, tmp_path):
    """A fresh emulated account for each test."""
    _without_aws_configuration(monkeypatch, tmp_path / "absent")
    urllib.request.urlopen(urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST")).read()
    return FakeSession(boto, moto_url)


class Output(list):
    def __call__(self, line: str) -> None:
        self.append(line)

    @property
    def text(self) -> str:
        return "\n".join(self)

    def index_of(self, pattern: str) -> int:
        return next(i for i, line in enumerate(self) if re.search(pattern, line))


class FakeTime:
    """A clock that moves only when the code under test sleeps."""

    def __init__(self):
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def account(aws: FakeSession) -> str:
    return aws.moto("sts", PRIMARY).get_caller_identity()["Account"]


def runbook_arn(aws: FakeSession, region: str) -> str:
    return failover.runbook_arn(CFG, region, account(aws))


def create_runbook(aws: FakeSession, region: str) -> str:
    role = f"arn:{region_partition(region)}:iam::{account(aws)}:role/runbook"
    definition = {"StartAt": "PromoteDatabase", "States": {"PromoteDatabase": {"Type": "Pass", "End": True}}}
    return aws.moto("stepfunctions", region).create_state_machine(
        name=naming.runbook_state_machine(CFG).pattern, definition=json.dumps(definition), roleArn=role
    )["stateMachineArn"]


def start_running(aws: FakeSession, region: str, name: str, execution_input: str = "{}") -> dict:
    """An execution moto keeps RUNNING (it never ends one by itself)."""
    return aws.moto("stepfunctions", region).start_execution(
        stateMachineArn=runbook_arn(aws, region), name=name, input=execution_input
    )


def executions(aws: FakeSession, region: str) -> list[dict]:
    return aws.moto("stepfunctions", region).list_executions(stateMachineArn=runbook_arn(aws, region))["executions"]


def _push_task_images(aws: FakeSession, region: str) -> dict[str, str]:
    """The task's two images, as the template names them, pushed to ``region``'s registry (tags immutable)."""
    ecr, images = aws.moto("ecr", region), {}
    for repository, tag in ((CFG.app.image_repository, CFG.app.image_tag), (CFG.tracing.collector_repository, CFG.tracing.collector_image_tag)):
        try:
            ecr.create_repository(repositoryName=repository, imageTagMutability="IMMUTABLE")
            ecr.put_image(repositoryName=repository, imageManifest=json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json", "layers": [], "tag": tag}), imageTag=tag)
        except ecr.exceptions.RepositoryAlreadyExistsException:
            pass
        images[repository] = f"{account(aws)}.dkr.ecr.{region}.amazonaws.com/{repository}:{tag}"
    return images


def create_service(aws: FakeSession, monkeypatch, region: str, desired: int, running: int) -> None:
    # moto reports a service's running count from this variable, read when the service is created.
    monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", str(running))
    ecs, cluster = aws.moto("ecs", region), naming.ecs_cluster(CFG).pattern
    ecs.create_cluster(clusterName=cluster)
    ecs.register_task_definition(family="app", containerDefinitions=[
        {"name": name, "image": image, "memory": 512} for name, image in _push_task_images(aws, region).items()
    ])
    ecs.create_service(
        cluster=cluster, serviceName=naming.ecs_service(CFG).pattern, taskDefinition="app", desiredCount=desired
    )


def run(session, out, time_=None, region=DR, mode=failover.PLANNED, accept_data_loss=False, dry_run=False, **kwargs):
    time_ = time_ or FakeTime()
    return failover.run_failover(
        CFG, region, mode, accept_data_loss, dry_run, session=session, out=out, sleep=time_.sleep, clock=time_.clock,
        **kwargs,
    )


# --- input refused before any AWS call ------------------------------------------------


@pytest.mark.parametrize(
    "region, mode, accept, failover_id, expected",
    [
        ("eu-west-1", failover.PLANNED, False, None, f"use {PRIMARY} \\(primary\\) or {DR} \\(DR\\)"),
        (DR, failover.UNPLANNED, False, None, "add --accept-data-loss to confirm"),
        (DR, failover.PLANNED, True, None, "--accept-data-loss applies only to --unplanned"),
        (DR, failover.PLANNED, False, "drill 1/2", "--failover-id 'drill 1/2'"),
        (PRIMARY, failover.UNPLANNED, True, None, "failing back is planned only"),
    ],
    ids=["region outside the configuration", "unplanned without accept", "planned with accept", "bad failover id", "unplanned failback"],
)
@pytest.mark.parametrize("dry_run", [False, True], ids=["run", "dry run"])
def test_bad_input_is_refused_with_exit_2_before_any_aws_call(region, mode, accept, failover_id, expected, dry_run):
    out = Output()
    code = run(
        NoAwsSession(), out, region=region, mode=mode, accept_data_loss=accept, dry_run=dry_run, failover_id=failover_id
    )
    assert code == failover.EXIT_BAD_INPUT
    assert len(out) == 1 and out[0].startswith("error: ") and re.search(expected, out[0])


# --- starting and watching -------------------------------------------------------------


def test_refuses_while_an_execution_runs_in_the_other_region(aws):
    create_runbook(aws, DR)
    create_runbook(aws, PRIMARY)
    start_running(aws, PRIMARY, "failback-earlier")
    out = Output()

    assert run(aws, out, region=DR) == failover.EXIT_PROBLEM

    started = r"started \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC"
    assert re.search(rf"already running in {PRIMARY}: execution failback-earlier, {started}", out.text)
    assert "StartExecution" not in aws.operations
    assert executions(aws, DR) == []


def test_starts_the_runbook_in_the_target_region_with_the_contract_input_end_to_end_on_moto(aws):
    create_runbook(aws, PRIMARY)
    create_runbook(aws, DR)
    out = Output()

    # moto's canned history: one state, then ExecutionSucceeded.
    assert run(aws, out, region=DR) == failover.EXIT_OK

    (execution,) = executions(aws, DR)
    assert re.fullmatch(r"failover-\d{8}T\d{6}Z-[0-9a-f]{6}", execution["name"])
    started = aws.moto("stepfunctions", DR).describe_execution(executionArn=execution["executionArn"])
    assert json.loads(started["input"]) == {
        "failover_id": execution["name"], "mode": "planned", "accept_data_loss": False, "trigger": "operator"
    }
    assert f"Started execution {execution['executionArn']}" in out
    assert out[-1].startswith("Execution SUCCEEDED in ")


def test_a_rerun_with_the_same_id_and_options_attaches_instead_of_refusing(aws):
    create_runbook(aws, PRIMARY)
    create_runbook(aws, DR)
    earlier = start_running(aws, DR, "drill-7", failover.execution_input("drill-7", failover.UNPLANNED, True))
    out = Output()

    code = run(aws, out, region=DR, mode=failover.UNPLANNED, accept_data_loss=True, failover_id="drill-7")

    assert code == failover.EXIT_OK
    assert f"Attached to the running execution {earlier['executionArn']}" in out
    assert len(executions(aws, DR)) == 1


def _history(*entries: tuple) -> list[dict]:
    """Events numbered from 1: each entry is (seconds after T0, type, details key, details)."""
    return [
        {"id": number, "timestamp": T0 + timedelta(seconds=seconds), "type": kind, key: details}
        for number, (seconds, kind, key, details) in enumerate(entries, 1)
    ]


def _state(seconds: float, state_type: str, name: str, how: str = "Entered") -> tuple:
    key = "stateEnteredEventDetails" if how == "Entered" else "stateExitedEventDetails"
    return (seconds, f"{state_type}State{how}", key, {"name": name})


def _through(start: float, end: float, state_type: str, name: str) -> list[tuple]:
    return [_state(start, state_type, name), _state(end, state_type, name, "Exited")]


STARTED = [(0, "ExecutionStarted", "executionStartedEventDetails", {"input": "{}"})]
ADMITTED = [*_through(0, 0, "Pass", "Start"), *_through(0, 0.5, "Task", "AdmitAutomaticRun"),
            *_through(0.5, 0.5, "Choice", "Admitted?")]
# A check that finds no writer yet (1 s), the count and a 30-s wait; then one that finds it.
WAIT_LOOP = [
    *_through(12, 13, "Task", "CheckWriter"), *_through(13, 13, "Choice", "WriterReady?"),
    *_through(13, 13, "Pass", "CountCheck"), *_through(13, 13, "Choice", "WaitedTooLong?"),
    *_through(13, 43, "Wait", "WaitBeforeNextCheck"), *_through(43, 43, "Pass", "RememberPolls"),
    *_through(43, 44, "Task", "CheckWriter"), *_through(44, 44, "Choice", "WriterReady?"),
]
SUCCESSFUL_RUN = _history(
    *STARTED, *ADMITTED,
    _state(0.5, "Task", "PromoteDatabase"),
    (0.6, "TaskScheduled", "taskScheduledEventDetails",
     {"resourceType": "lambda", "resource": "invoke", "region": DR, "parameters": "{}"}),
    _state(12, "Task", "PromoteDatabase", "Exited"),
    *WAIT_LOOP,
    _state(44, "Task", "ScaleService"),
    (45, "TaskFailed", "taskFailedEventDetails",
     {"resourceType": "lambda", "resource": "invoke", "error": "ThrottlingException", "cause": "Rate exceeded"}),
    (50, "TaskSucceeded", "taskSucceededEventDetails", {"resourceType": "lambda", "resource": "invoke"}),  # retried
    _state(50, "Task", "ScaleService", "Exited"),
    *_through(50, 51.5, "Task", "SwitchTraffic"),
    *_through(51.5, 52, "Task", "Notify"),
    *_through(52, 52, "Succeed", "Done"),
    (52, "ExecutionSucceeded", "executionSucceededEventDetails", {"output": "{}"}),
)
PROMOTING = 9  # events up to PromoteDatabase entered and its task scheduled
IN_WAIT_LOOP = 19  # ... up to the first WaitBeforeNextCheck entered


def _stub_start(aws: FakeSession, failover_id: str) -> tuple[Stubber, str]:
    """The target region's Step Functions stubbed: nothing running, then the start."""
    create_runbook(aws, PRIMARY)
    arn = runbook_arn(aws, DR)
    execution_arn = arn.replace(":stateMachine:", ":execution:") + f":{failover_id}"
    stub = aws.stub("stepfunctions", DR)
    stub.add_response("list_executions", {"executions": []}, {"stateMachineArn": arn, "statusFilter": "RUNNING"})
    stub.add_response(
        "start_execution",
        {"executionArn": execution_arn, "startDate": T0},
        {"stateMachineArn": arn, "name": failover_id, "input": ANY},
    )
    return stub, execution_arn


def _stub_history(stub: Stubber, execution_arn: str, *pages: list[dict]) -> None:
    """One poll of the history, served as ``pages`` (a nextToken between them)."""
    for number, events in enumerate(pages):
        response = {"events": events}
        params = {"executionArn": execution_arn, "maxResults": failover.HISTORY_PAGE_SIZE}
        if number + 1 < len(pages):
            response["nextToken"] = f"page-{number + 1}"
        if number:
            params["nextToken"] = f"page-{number}"
        stub.add_response("get_execution_history", response, params)


def test_happy_path_prints_every_step_entering_and_exiting_with_durations(aws):
    stub, execution_arn = _stub_start(aws, "drill-1")
    _stub_history(stub, execution_arn, SUCCESSFUL_RUN[:PROMOTING])  # first poll
    _stub_history(stub, execution_arn, SUCCESSFUL_RUN[:15], SUCCESSFUL_RUN[15:IN_WAIT_LOOP])  # second, two pages
    _stub_history(stub, execution_arn, SUCCESSFUL_RUN)  # third: done
    out, time_ = Output(), FakeTime()

    code = run(aws, out, time_, failover_id="drill-1", poll_seconds=5)

    assert code == failover.EXIT_OK
    stub.assert_no_pending_responses()
    assert time_.sleeps == [5, 5]
    expected_in_order = [
        rf"^fail over to {DR} \(the DR region\).*mode planned, failover id drill-1$",
        f"^Started execution {re.escape(execution_arn)}$",
        r"^  \+0:00  AdmitAutomaticRun exited after 0\.5 s$",
        r"^  \+0:00  PromoteDatabase entered$",
        r"^  \+0:12  PromoteDatabase exited after 11\.5 s$",
        r"^  \+0:12  WaitForWriter entered$",
        r"^  \+0:12    CheckWriter entered$",
        r"^  \+0:43    WaitBeforeNextCheck exited after 30\.0 s$",
        r"^  \+0:44    WriterReady\? exited after 0\.0 s$",
        r"^  \+0:44  WaitForWriter exited after 32\.0 s \(2 checks\)$",
        r"^  \+0:44  ScaleService entered$",
        r"^  \+0:45  ScaleService: ThrottlingException: Rate exceeded$",
        r"^  \+0:50  ScaleService exited after 6\.0 s$",
        r"^  \+0:51  SwitchTraffic exited after 1\.5 s$",
        r"^  \+0:52  Notify exited after 0\.5 s$",
        r"^Execution SUCCEEDED in 52\.0 s$",
    ]
    positions = [out.index_of(pattern) for pattern in expected_in_order]
    assert positions == sorted(positions)
    # Each event printed once although every poll re-reads the history from the start.
    assert sum("PromoteDatabase entered" in line for line in out) == 1
    assert sum("CheckWriter exited" in line for line in out) == 2
    assert not any("last step error" in line for line in out)  # the retry succeeded


def test_a_failed_execution_exits_1_with_its_error_and_cause(aws):
    stub, execution_arn = _stub_start(aws, "drill-2")
    cause = "global cluster trading-dev-global is failing over to another cluster"
    _stub_history(stub, execution_arn, _history(
        *STARTED, *ADMITTED,
        _state(0.5, "Task", "PromoteDatabase"),
        (2, "TaskFailed", "taskFailedEventDetails",
         {"resourceType": "lambda", "resource": "invoke", "error": "FailoverElsewhere", "cause": cause}),
        _state(2, "Task", "PromoteDatabase", "Exited"),  # caught: on to the failure report
        *_through(2, 3, "Task", "NotifyFailure"),
        (3, "FailStateEntered", "stateEnteredEventDetails", {"name": "Failed"}),
        (3, "ExecutionFailed", "executionFailedEventDetails", {"error": "RunbookFailed", "cause": "see the report"}),
    ))
    out = Output()

    assert run(aws, out, failover_id="drill-2") == failover.EXIT_PROBLEM

    assert f"  +0:02  PromoteDatabase: FailoverElsewhere: {cause}" in out
    assert "  +0:03  NotifyFailure exited after 1.0 s" in out
    assert out[-4:] == [
        "Execution FAILED in 3.0 s",
        "  error: RunbookFailed",
        "  cause: see the report",
        f"  last step error: PromoteDatabase: FailoverElsewhere: {cause}",
    ]
    assert not any("did not finish" in line for line in out)


def test_the_watch_times_out_and_says_how_to_keep_watching(aws):
    stub, execution_arn = _stub_start(aws, "drill-3")
    for _ in range(3):  # polls at 0, 5 and 10 s
        _stub_history(stub, execution_arn, SUCCESSFUL_RUN[:PROMOTING])
    out, time_ = Output(), FakeTime()

    code = run(aws, out, time_, failover_id="drill-3", timeout_seconds=10, poll_seconds=5)

    assert code == failover.EXIT_PROBLEM
    stub.assert_no_pending_responses()
    assert time_.sleeps == [5, 5]
    assert "Stopped watching after 10.0 s: the execution has not ended." in out
    assert "--failover-id drill-3 (it attaches to the running execution), or run" in out.text
    assert f"aws stepfunctions describe-execution --region {DR} --execution-arn {execution_arn}" in out.text


def test_access_denied_names_the_missing_permission_in_one_line(aws):
    create_runbook(aws, PRIMARY)
    stub = aws.stub("stepfunctions", DR)
    stub.add_client_error(
        "list_executions", "AccessDeniedException", "User: arn:aws:iam::000000000000:user/op is not authorized", 400
    )
    out = Output()

    assert run(aws, out, failover_id="drill-4") == failover.EXIT_PROBLEM

    assert out == [f"error: permission denied in {DR}: these credentials lack states:ListExecutions "
                   "(User: arn:aws:iam::000000000000:user/op is not authorized)"]


def test_without_credentials_one_line_and_no_traceback(aws):
    out = Output()

    code = run(_no_credentials(), out, failover_id="drill-5")

    assert code == failover.EXIT_BAD_INPUT
    assert len(out) == 1 and out[0].startswith("error: AWS credentials: ")


def _no_credentials() -> boto3.Session:
    session = botocore.session.get_session()
    session.register_component("credential_provider", CredentialResolver([]))
    return boto3.Session(botocore_session=session, region_name=DR)


@pytest.mark.parametrize("command", ["status", "dry run"])
def test_without_credentials_status_and_dry_run_say_it_once_and_exit_2(aws, command):
    """Every region and check would fail the same way: one line, the bad-input status."""
    out = Output()
    if command == "status":
        code = failover.run_status(CFG, session=_no_credentials(), out=out)
    else:
        code = run(_no_credentials(), out, dry_run=True)
    assert code == failover.EXIT_BAD_INPUT
    errors = [line for line in out if "credentials" in line]
    assert len(errors) == 1 and errors[0].startswith("error: AWS credentials: ")


def test_a_failover_is_patient_only_with_the_region_it_acts_on(aws):
    stub, execution_arn = _stub_start(aws, "drill-7")
    _stub_history(stub, execution_arn, SUCCESSFUL_RUN)
    run(aws, Output(), failover_id="drill-7")
    assert aws.configs["stepfunctions", PRIMARY].read_timeout == failover.OBSERVED_CLIENT_CONFIG.read_timeout
    assert aws.configs["sts", DR].read_timeout == failover.CLIENT_CONFIG.read_timeout
    aws.configs.clear()
    failover.run_status(CFG, session=aws, out=Output())
    assert {config.read_timeout for config in aws.configs.values()} == {
        failover.OBSERVED_CLIENT_CONFIG.read_timeout
    }, "status only observes"


def test_observed_calls_fit_the_stated_bound():
    """OBSERVED_CALL_SECONDS, which the progress lines and README state, covers the configuration."""
    config = failover.OBSERVED_CLIENT_CONFIG
    attempts = config.retries["total_max_attempts"]
    first_backoff = 1  # standard mode: a random share of min(20 s, 2**0 s) before the one retry
    assert attempts * max(config.read_timeout, config.connect_timeout) + first_backoff <= failover.OBSERVED_CALL_SECONDS


def test_a_region_that_gave_no_answer_is_not_asked_again(aws):
    aws.down.add(PRIMARY)
    calls = failover._Aws(aws)
    with pytest.raises(failover.AwsError, match=rf"^{PRIMARY} unreachable \(ecs describe_services: Could not connect"):
        calls.call("ecs", PRIMARY, "describe_services", cluster="c", services=["s"])
    with pytest.raises(failover.AwsError, match=rf"^{PRIMARY} unreachable \(skipped rds describe_db_clusters: ecs"):
        calls.call("rds", PRIMARY, "describe_db_clusters")
    assert aws.operations == ["DescribeServices"]


def test_regions_are_asked_at_once_and_the_wait_is_shown():
    """Both tasks must be running at the same time to pass the barrier; the wait prints progress."""
    import threading

    barrier = threading.Barrier(2, timeout=10)
    out = Output()

    def task(value):
        def run_it():
            barrier.wait()
            if value == "slow":
                threading.Event().wait(0.3)
            return value
        return run_it

    assert failover.in_parallel({"fast": task("fast"), "slow": task("slow")}, out, progress_seconds=0.05) == {
        "fast": "fast", "slow": "slow",
    }
    progress = re.compile(r"  \.\.\. waiting \d+ s for: slow \(a region that does not answer is given up")
    assert any(progress.match(line) for line in out)


def test_the_primary_region_down_does_not_block_a_failover_to_dr(aws):
    stub, execution_arn = _stub_start(aws, "drill-6")
    _stub_history(stub, execution_arn, SUCCESSFUL_RUN)
    aws.down.add(PRIMARY)
    out = Output()

    assert run(aws, out, failover_id="drill-6") == failover.EXIT_OK

    assert re.match(rf"warning: could not check {PRIMARY} for a running runbook \(.*Could not connect", out[0])


# --- dry run ----------------------------------------------------------------------------


def deploy_healthy(aws: FakeSession, monkeypatch, region: str = DR, lag_ms: float = 800.0) -> None:
    """What a healthy deployment shows the pre-flight checks in ``region``."""
    create_runbook(aws, PRIMARY)
    create_runbook(aws, DR)
    cloudwatch = aws.moto("cloudwatch", region)
    # A minute ago: the datapoint falls inside the checks' five-minute window.
    cloudwatch.put_metric_data(Namespace="AWS/RDS", MetricData=[{
        "MetricName": "AuroraGlobalDBRPOLag", "Value": lag_ms,
        "Dimensions": [{"Name": "DBClusterIdentifier", "Value": naming.db_cluster(CFG).for_region(region)}],
        "Timestamp": datetime.now(timezone.utc) - timedelta(minutes=1),
    }])
    cloudwatch.put_metric_alarm(
        AlarmName=naming.alarm(CFG, "ecs-cpu").for_region(region), Namespace="AWS/ECS", MetricName="CPUUtilization",
        Statistic="Average", Period=60, EvaluationPeriods=1, Threshold=85, ComparisonOperator="GreaterThanThreshold",
    )
    create_service(aws, monkeypatch, region, desired=CFG.app.dr_desired_count, running=CFG.app.dr_desired_count)
    aws.moto("secretsmanager", PRIMARY).create_secret(
        Name=naming.db_secret(CFG).pattern, SecretString="{}", AddReplicaRegions=[{"Region": DR}]
    )
    cloudformation = aws.moto("cloudformation", PRIMARY)
    cloudformation.create_stack_set(StackSetName=STACK_SET, TemplateBody=json.dumps({"Resources": {}}))
    cloudformation.create_stack_instances(StackSetName=STACK_SET, Accounts=[account(aws)], Regions=list(CFG.regions))
    # What the readiness checks read besides: the switch (released), the writer (the
    # primary; RDS global clusters are per region in moto), the Fargate quota (moto knows VPC's only).
    _switch_alarm(aws, "OK")
    _stub_engine(_stub_global_cluster(aws, region, _global_cluster(PRIMARY)), region)
    peer = CFG.peer_region(region)
    _stub_engine(aws.stub("rds", peer), peer)
    aws.stub("service-quotas", region).add_response(
        "get_service_quota", {"Quota": {"ServiceCode": "fargate", "QuotaCode": "L-3032A538", "Value": 100.0}}
    )


CHECK_LINE = re.compile(r"  (?P<status>PASS|WARN|FAIL)  (?P<name>[^:]+): (?P<observed>.*)")


def checks(out: Output) -> dict[str, str]:
    """Pre-flight lines as {check name: 'STATUS observed'}."""
    matches = (CHECK_LINE.fullmatch(line) for line in out[out.index_of("^Pre-flight checks") + 1:])
    return {m["name"]: f"{m['status']} {m['observed']}" for m in matches}


def test_dry_run_on_a_healthy_deployment_passes_every_check_and_writes_nothing(aws, monkeypatch):
    deploy_healthy(aws, monkeypatch)
    out = Output()

    assert run(aws, out, dry_run=True) == failover.EXIT_OK

    assert out[0] == "Dry run: nothing is changed."
    assert re.search(r"Mode: planned switchover .*RPO 0", out.text)
    assert "other mode: unplanned failover (FailoverGlobalCluster with AllowDataLoss): RPO = the current" in out.text
    for number, step in enumerate(failover.STEPS, 1):
        assert re.search(rf"^  {number}\. {step}: ", out.text, re.MULTILINE)
    assert f"publish 1 to {dns.switch_namespace(CFG)}/{dns.SWITCH_METRIC} in {DR}" in out.text
    results = checks(out)
    # The region's own readiness function runs the same checks (lambdas/readiness/checks.py).
    readiness_checks = [f"readiness {name}" for name in naming.READINESS_CHECKS]
    assert list(results) == [name for name, _ in failover.PREFLIGHT_CHECKS] + readiness_checks
    assert all(result.startswith("PASS") for result in results.values()), results
    assert "800 ms" in results["readiness ReplicationLag"] and "RPO 60000 ms" in results["readiness ReplicationLag"]
    assert "1 running, standing count 1" in results["readiness ServiceCapacity"]
    assert f"replica in {DR}: InSync" in results["readiness SecretReplica"]
    assert "2 image(s) here, pinned" in results["readiness Images"]
    assert all(op.startswith(("Describe", "List", "Get")) for op in aws.operations), aws.operations


@pytest.mark.parametrize(
    "mode, accept, status, code",
    [(failover.UNPLANNED, True, "FAIL", failover.EXIT_PROBLEM), (failover.PLANNED, False, "WARN", failover.EXIT_OK)],
)
def test_dry_run_lag_above_the_rpo_fails_unplanned_and_warns_planned(aws, monkeypatch, mode, accept, status, code):
    deploy_healthy(aws, monkeypatch, lag_ms=CFG.objectives.rpo_seconds * 1000 + 1)
    out = Output()

    assert run(aws, out, dry_run=True, mode=mode, accept_data_loss=accept) == code

    lag = checks(out)["readiness ReplicationLag"]
    assert lag.startswith(status) and f"{CFG.objectives.rpo_seconds * 1000 + 1} ms" in lag and "over the RPO" in lag


def test_dry_run_reports_what_is_missing_or_firing(aws):
    create_runbook(aws, DR)
    create_runbook(aws, PRIMARY)
    cloudwatch = aws.moto("cloudwatch", DR)
    alarm = naming.alarm(CFG, "rpo-lag").for_region(DR)
    cloudwatch.put_metric_alarm(
        AlarmName=alarm, Namespace="AWS/RDS", MetricName="AuroraGlobalDBRPOLag", Statistic="Maximum",
        Period=60, EvaluationPeriods=1, Threshold=30000, ComparisonOperator="GreaterThanThreshold",
    )
    cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="lagging")
    out = Output()

    assert run(aws, out, dry_run=True) == failover.EXIT_PROBLEM

    results = checks(out)
    assert results["runbook state machine"].startswith("PASS")
    assert results["readiness DatabaseRole"] == f"FAIL {naming.global_cluster(CFG).pattern} not found from {DR}"
    assert results["readiness ReplicationLag"].startswith("WARN no AuroraGlobalDBRPOLag"), "planned: the switchover waits"
    assert re.match(r"FAIL ClusterNotFoundException", results["readiness ServiceCapacity"])
    assert results["readiness SecretReplica"].startswith(f"FAIL {naming.db_secret(CFG).pattern} in {PRIMARY}: ResourceNotFoundException")
    stack_set = results["stack instances current"]
    assert stack_set == f"FAIL stack set {STACK_SET} not found in {PRIMARY}, where it is administered"
    assert results["alarms"] == f"WARN 1 of 1 in ALARM: {alarm}"


@pytest.mark.parametrize("running, expected", [(1, "PASS"), (0, "FAIL")], ids=["warm standby", "none running"])
def test_dry_run_capacity_judges_the_warm_standby(aws, monkeypatch, running, expected):
    create_service(aws, monkeypatch, DR, CFG.app.dr_desired_count, running)
    out = Output()

    run(aws, out, dry_run=True)

    capacity = checks(out)["readiness ServiceCapacity"]
    assert capacity.startswith(f"{expected} {naming.ecs_service(CFG).pattern}: {running} running, standing count {CFG.app.dr_desired_count}")


@pytest.mark.parametrize("instance_status, expected", [("OUTDATED", "WARN"), ("INOPERABLE", "FAIL")])
def test_dry_run_judges_the_stack_instance_status(aws, instance_status, expected):
    # moto reports every stack instance CURRENT.
    stub = aws.stub("cloudformation", PRIMARY)
    summaries = [
        {"Region": region, "Account": "000000000000", "Status": "CURRENT" if region == PRIMARY else instance_status}
        for region in CFG.regions
    ]
    stub.add_response(
        "list_stack_instances", {"Summaries": summaries}, {"StackSetName": STACK_SET, "StackInstanceRegion": DR}
    )
    out = Output()

    run(aws, out, dry_run=True)

    assert checks(out)["stack instances current"] == f"{expected} {STACK_SET} instance in {DR}: {instance_status}"


def test_dry_run_with_the_primary_region_down_still_checks_the_dr_region(aws, monkeypatch):
    deploy_healthy(aws, monkeypatch)
    aws.down.add(PRIMARY)
    del aws.stubbed["rds", PRIMARY]  # down: its RDS does not answer either
    out = Output()

    assert run(aws, out, dry_run=True) == failover.EXIT_OK

    results = checks(out)
    assert results["no runbook running"].startswith(f"WARN {PRIMARY} not checked:")
    unreachable = rf"WARN not checked: .*: {PRIMARY} unreachable \(.*Could not connect"
    assert re.match(unreachable, results["stack instances current"])
    unknown = ("SecretReplica", "EngineVersion")
    passed = ("runbook state machine", "alarms", *(f"readiness {n}" for n in naming.READINESS_CHECKS if n not in unknown))
    assert all(results[name].startswith("PASS") for name in passed), results
    # The replica's status is known only to the primary copy, the primary's engine version to
    # the primary: unknown, a warning, not a failure.
    for name in unknown:
        assert results[f"readiness {name}"].startswith("WARN") and "did not say" in results[f"readiness {name}"]


def test_dry_run_fails_a_running_execution_and_a_missing_stack_instance(aws, monkeypatch):
    deploy_healthy(aws, monkeypatch)
    start_running(aws, PRIMARY, "earlier")
    aws.moto("cloudformation", PRIMARY).delete_stack_instances(
        StackSetName=STACK_SET, Accounts=[account(aws)], Regions=[DR], RetainStacks=False
    )
    out = Output()

    assert run(aws, out, dry_run=True) == failover.EXIT_PROBLEM

    results = checks(out)
    assert re.match(rf"FAIL earlier running in {PRIMARY} since \d{{4}}-", results["no runbook running"])
    assert results["stack instances current"] == f"FAIL stack set {STACK_SET} has no stack instance in {DR}"
    assert executions(aws, DR) == []


# --- status -----------------------------------------------------------------------------


def _cluster_arn(region: str) -> str:
    cluster = naming.db_cluster(CFG).for_region(region)
    return f"arn:{region_partition(region)}:rds:{region}:000000000000:cluster:{cluster}"


def _global_cluster(writer: str, failover_state: dict | None = None) -> dict:
    cluster = {
        "GlobalClusterIdentifier": naming.global_cluster(CFG).pattern,
        "Status": "available",
        "GlobalClusterMembers": [
            {"DBClusterArn": _cluster_arn(region), "IsWriter": region == writer} for region in CFG.regions
        ],
    }
    if failover_state:
        arns = {"FromDbClusterArn": _cluster_arn(PRIMARY), "ToDbClusterArn": _cluster_arn(DR)}
        cluster["FailoverState"] = {**failover_state, **arns}
    return {"GlobalClusters": [cluster]}


def _stub_global_cluster(aws: FakeSession, region: str, response: dict) -> Stubber:
    stubber = aws.stub("rds", region)
    stubber.add_response("describe_global_clusters", response, {"GlobalClusterIdentifier": naming.global_cluster(CFG).pattern})
    return stubber


ENGINE = "8.0.mysql_aurora.3.05.2"


def _stub_engine(stubber: Stubber, region: str) -> None:
    """The region's cluster's engine version and no pending maintenance (the EngineVersion check)."""
    arn = _cluster_arn(region)
    stubber.add_response("describe_db_clusters", {"DBClusters": [{"DBClusterArn": arn, "EngineVersion": ENGINE}]},
                         {"DBClusterIdentifier": naming.db_cluster(CFG).for_region(region)})
    stubber.add_response("describe_pending_maintenance_actions", {"PendingMaintenanceActions": []}, {"ResourceIdentifier": arn})


def _switch_alarm(aws: FakeSession, state: str) -> None:
    switch = dns.timing(CFG)["switch"]
    cloudwatch = aws.moto("cloudwatch", switch["alarm_region"])
    cloudwatch.put_metric_alarm(
        AlarmName=switch["alarm_name"], Namespace=switch["namespace"], MetricName=switch["metric"], Statistic="Maximum",
        Period=60, EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    cloudwatch.set_alarm_state(AlarmName=switch["alarm_name"], StateValue=state, StateReason="test")


def test_status_asks_both_regions_and_shows_the_primary_s_view(aws, monkeypatch):
    for region in CFG.regions:
        _stub_global_cluster(aws, region, _global_cluster(PRIMARY))
    _switch_alarm(aws, "OK")
    create_service(aws, monkeypatch, PRIMARY, desired=3, running=3)
    create_service(aws, monkeypatch, DR, desired=3, running=1)
    out = Output()

    assert failover.run_status(CFG, session=aws, out=out) == failover.EXIT_OK

    assert f"  writer: {PRIMARY} ({naming.db_cluster(CFG).for_region(PRIMARY)})" in out
    assert f"  secondary: {DR} ({naming.db_cluster(CFG).for_region(DR)})" in out
    assert re.search(rf"released \(OK\): traffic goes to the primary region {PRIMARY}", out.text)
    assert f"  {PRIMARY}: desired 3, running 3, pending 0" in out
    assert f"  {DR}: desired 3, running 1, pending 2" in out
    assert f"Global database {naming.global_cluster(CFG).pattern} (asked {PRIMARY}): available" in out
    # Each region's readiness, as its readiness function sees it (asked in that region).
    for region in CFG.regions:
        assert out.index_of(f"^Readiness {region}: \\d of {len(naming.READINESS_CHECKS)} checks ready") > out.index_of("^Service ")
    assert not any(line.startswith("warning") for line in out)


def test_status_with_the_primary_region_unreachable_reports_it_and_reads_the_dr_region(aws, monkeypatch):
    aws.down.add(PRIMARY)
    _stub_global_cluster(aws, DR, _global_cluster(DR, {"Status": "failing-over", "IsDataLossAllowed": True}))
    _switch_alarm(aws, "ALARM")
    create_service(aws, monkeypatch, DR, desired=3, running=3)
    out = Output()

    assert failover.run_status(CFG, session=aws, out=out) == failover.EXIT_PROBLEM

    assert out.index_of(f"asked {DR}") < out.index_of(f"  writer: {DR}")
    assert re.search(rf"\({PRIMARY} unreachable \(.*Could not connect to the endpoint URL", out.text)
    assert f"  FailoverState: failing-over: failover with data loss allowed from {PRIMARY} to {DR}" in out
    assert re.search(rf"thrown \(ALARM\): traffic goes to the DR region {DR}", out.text)
    assert re.search(rf"^  {PRIMARY} unreachable \(.*Could not connect", out.text, re.MULTILINE)
    assert f"  {DR}: desired 3, running 3, pending 0" in out


def test_status_with_no_region_answering_says_so_per_region(aws):
    aws.down.update(CFG.regions)
    out = Output()

    assert failover.run_status(CFG, session=aws, out=out) == failover.EXIT_PROBLEM

    assert out[0] == f"Asking {PRIMARY} and {DR}..."
    assert out[1] == f"Global database {naming.global_cluster(CFG).pattern}: writer unknown"
    for region in CFG.regions:
        unreachable = rf"^  {region} unreachable \((rds describe_global_clusters: Could not|skipped)"
        assert re.search(unreachable, out.text, re.MULTILINE)
    assert re.search(r"Failover switch .*: .* unreachable \(.*Could not connect", out.text)


def test_status_warns_when_writer_and_traffic_are_in_different_regions(aws):
    _stub_global_cluster(aws, PRIMARY, _global_cluster(DR))
    _switch_alarm(aws, "OK")
    out = Output()

    failover.run_status(CFG, session=aws, out=out)

    assert out[-1] == (
        f"warning: the writer is in {DR} but traffic goes to {PRIMARY}: a failover is in progress or half done"
    )


def test_failback_plan_returns_the_dr_service_to_warm_standby(aws, monkeypatch):
    deploy_healthy(aws, monkeypatch)
    out = Output()
    run(aws, out, region=PRIMARY, dry_run=True)
    assert re.search(rf"^  7\. {failover.FAILBACK_STEP}: return .* in {DR} to its warm standby of {CFG.app.dr_desired_count} tasks",
                     out.text, re.MULTILINE)
    assert re.search(rf"^  9\. {failover.STEPS[-1]}: ", out.text, re.MULTILINE)


def test_the_dry_runs_plan_lists_the_runbooks_states_in_the_order_the_state_machine_runs_them(aws, monkeypatch):
    """Fence (unplanned only), capacity before the promotion, the report before the message."""
    from templates.runbook import definition

    deploy_healthy(aws, monkeypatch)
    out = Output()
    run(aws, out, region=DR, mode=failover.UNPLANNED, accept_data_loss=True, dry_run=True)
    listed = re.findall(r"^  \d+\. (\w+):", out.text, re.MULTILINE)
    assert listed[:2] == list(failover.FENCE_STEPS)
    states = list(definition(CFG)["States"])
    ran = [name for name in listed if name != failover.WAIT_STEP]
    assert ran == sorted(ran, key=states.index), "in the state machine's order"
    assert failover.FAILURE_STATE in states and failover.FAILURE_REPORT in states
