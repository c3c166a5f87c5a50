"""DR readiness: each check's ready and not-ready paths, the metrics the function publishes,
and its role against the calls the checks make.

Secrets Manager (replication status), ECS (running count, task definition), ECR (images,
tag mutability), CloudWatch (lag, usage, the switch alarm, the published metrics) are moto; RDS global clusters (moto keeps them per
region), Service Quotas (moto knows only VPC's) and Step Functions run outcomes (moto's
runs never finish) are botocore Stubbers, whose request and response shapes botocore
validates against the service model.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber
from moto import mock_aws

from lambda_support import CFG
from readiness import checks, handler
from template_support import resolve
from templates import dns, naming, readiness
from templates.render import render
from test_iam_proof import policy_actions

PRIMARY, DR = CFG.primary_region, CFG.dr_region
ACCOUNT = "123456789012"
CLUSTER = {PRIMARY: naming.db_cluster(CFG).for_region(PRIMARY), DR: naming.db_cluster(CFG).for_region(DR)}
MACHINE = f"arn:aws:states:{DR}:{ACCOUNT}:stateMachine:{naming.runbook_state_machine(CFG).pattern}"
QUOTA = {"Quota": {"ServiceCode": "fargate", "QuotaCode": checks.FARGATE_VCPU_QUOTA, "Value": 100.0}}


def settings(region: str) -> dict[str, str]:
    """What the template renders into the function's environment in ``region``."""
    is_primary = region == PRIMARY
    return {
        "PRIMARY_REGION": PRIMARY, "DR_REGION": DR,
        "GLOBAL_CLUSTER_ID": naming.global_cluster(CFG).pattern, "DB_CLUSTER_ID": CLUSTER[region],
        "PEER_REGION": DR if is_primary else PRIMARY, "PEER_DB_CLUSTER_ID": CLUSTER[DR if is_primary else PRIMARY],
        "RPO_SECONDS": str(CFG.objectives.rpo_seconds), "SECRET_ID": naming.db_secret(CFG).pattern,
        "ECS_CLUSTER": naming.ecs_cluster(CFG).pattern, "ECS_SERVICE": naming.ecs_service(CFG).pattern,
        "STANDING_COUNT": str(CFG.app.primary_desired_count if is_primary else CFG.app.dr_desired_count),
        "FAILOVER_COUNT": str(CFG.app.failover_desired_count), "TASK_CPU": str(CFG.app.task_cpu),
        "SWITCH_ALARM_NAME": naming.failover_switch_alarm(CFG).for_region(DR),
        "STATE_MACHINE_ARN": MACHINE, "RUNBOOK_BUDGET_SECONDS": str(CFG.objectives.rto_seconds),
        "METRICS_NAMESPACE": naming.readiness_namespace(CFG),
        **readiness.switch_settings(CFG),
        **readiness.concurrency_settings(CFG),
    }


ENGINE = "8.0.mysql_aurora.3.05.2"


def cluster_arn(region: str) -> str:
    return f"arn:aws:rds:{region}:{ACCOUNT}:cluster:{CLUSTER[region]}"


def global_cluster(writer: str, failover_status: str | None = None, sync: str = "connected") -> dict:
    members = [
        {"DBClusterArn": cluster_arn(region), "IsWriter": region == writer,
         **({} if region == writer else {"SynchronizationStatus": sync})}
        for region in (PRIMARY, DR)
    ]
    found = {"GlobalClusterIdentifier": naming.global_cluster(CFG).pattern, "GlobalClusterMembers": members}
    if failover_status:
        found["FailoverState"] = {"Status": failover_status}
    return {"GlobalClusters": [found]}


class World:
    """Both regions as the checks see them: moto for some services, Stubbers for others."""

    def __init__(self):
        self.stubbed: dict[tuple[str, str], Stubber] = {}
        self.clients: dict[tuple[str, str], object] = {}
        self.dead: set[str] = set()
        self.calls: set[str] = set()
        # The handler reads the real clock: the emulated metrics are dated from it.
        self.now = datetime.now(timezone.utc)

    def client(self, service: str, region: str):
        if (service, region) not in self.clients:
            client = boto3.client(service, region_name=region)
            if region in self.dead:
                client.meta.events.register("before-send", lambda **_: (_ for _ in ()).throw(EndpointConnectionError(endpoint_url=region)))
            client.meta.events.register(
                "before-parameter-build", lambda model, **_: self.calls.add(f"{client.meta.service_model.signing_name}:{model.name}")
            )
            self.clients[service, region] = client
        return self.clients[service, region]

    def stub(self, service: str, region: str) -> Stubber:
        if (service, region) not in self.stubbed:
            self.stubbed[service, region] = Stubber(self.client(service, region))
            self.stubbed[service, region].activate()
        return self.stubbed[service, region]

    def context(self, region: str) -> checks.Context:
        return checks.Context(settings=settings(region), region=region, client=self.client, now=lambda: self.now)


@pytest.fixture()
def world(monkeypatch):
    """A healthy pair: primary writes, secret replicated, services at their standing counts,
    lag published in the DR region, the switch released, one successful drill."""
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"), ("MOTO_ACCOUNT_ID", ACCOUNT)):
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", str(CFG.app.dr_desired_count))
    with mock_aws():
        w = World()
        boto3.client("secretsmanager", PRIMARY).create_secret(
            Name=naming.db_secret(CFG).pattern, SecretString="{}", AddReplicaRegions=[{"Region": DR}]
        )
        ecs = boto3.client("ecs", DR)
        ecs.create_cluster(clusterName=naming.ecs_cluster(CFG).pattern)
        ecs.create_service(cluster=naming.ecs_cluster(CFG).pattern, serviceName=naming.ecs_service(CFG).pattern, desiredCount=CFG.app.dr_desired_count,
                           taskDefinition=task_definition(*IMAGES.values()))
        for repository, tag in IMAGES.items():
            push(repository, tag)
        lag(w, 800)
        switch(w, "OK")
        yield w


# The task's images as the template names them in the DR region, and their repositories there.
IMAGES = {CFG.app.image_repository: CFG.app.image_tag, CFG.tracing.collector_repository: CFG.tracing.collector_image_tag}


def image(repository: str, reference: str, region: str = DR) -> str:
    separator = "@" if reference.startswith("sha256:") else ":"
    return f"{ACCOUNT}.dkr.ecr.{region}.amazonaws.com/{repository}{separator}{reference}"


def task_definition(*references: str, region: str = DR) -> str:
    """A task definition naming ``references`` (tags of ``IMAGES``' repositories, or full image names)."""
    names = [r if "/" in r else image(repository, r) for r, repository in zip(references, IMAGES)]
    containers = [{"name": f"c{n}", "image": name, "memory": 256} for n, name in enumerate(names)]
    return boto3.client("ecs", region).register_task_definition(family="app", containerDefinitions=containers)["taskDefinition"]["taskDefinitionArn"]


def push(repository: str, tag: str, mutability: str = "IMMUTABLE") -> str:
    """An image in the DR region's repository (created with ``mutability``); its digest."""
    ecr = boto3.client("ecr", DR)
    try:
        ecr.create_repository(repositoryName=repository, imageTagMutability=mutability)
    except ecr.exceptions.RepositoryAlreadyExistsException:
        pass
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json", "layers": [], "tag": tag})
    return ecr.put_image(repositoryName=repository, imageManifest=manifest, imageTag=tag)["image"]["imageId"]["imageDigest"]


def engines(w: World, versions: dict[str, str] | None = None, pending: dict[str, list[str]] | None = None) -> None:
    """Each region's cluster's engine version and pending maintenance actions, this region's first."""
    for region in (DR, PRIMARY):
        w.stub("rds", region).add_response(
            "describe_db_clusters", {"DBClusters": [{"DBClusterArn": cluster_arn(region), "EngineVersion": (versions or {}).get(region, ENGINE)}]},
            {"DBClusterIdentifier": CLUSTER[region]},
        )
        actions = (pending or {}).get(region, [])
        w.stub("rds", region).add_response(
            "describe_pending_maintenance_actions",
            {"PendingMaintenanceActions": [{"ResourceIdentifier": cluster_arn(region), "PendingMaintenanceActionDetails": [
                {"Action": action, "Description": "test"} for action in actions
            ]}] if actions else []},
            {"ResourceIdentifier": cluster_arn(region)},
        )


def stubbed_answers(w: World) -> None:
    """What the stubbed APIs answer in a healthy pair, once each (one run of every check)."""
    w.stub("rds", DR).add_response("describe_global_clusters", global_cluster(PRIMARY))
    engines(w)
    w.stub("service-quotas", DR).add_response("get_service_quota", QUOTA)
    w.stub("stepfunctions", DR).add_response("list_executions", runs(w, ("SUCCEEDED", 3600)))


def lag(w: World, milliseconds: float) -> None:
    boto3.client("cloudwatch", DR).put_metric_data(Namespace="AWS/RDS", MetricData=[{
        "MetricName": checks.LAG_METRIC, "Dimensions": [{"Name": "DBClusterIdentifier", "Value": CLUSTER[DR]}],
        "Value": milliseconds, "Timestamp": w.now - timedelta(seconds=30),
    }])


def switch(w: World, state: str) -> None:
    """The switch's alarm in ``state``; thrown (ALARM), its metric holds the thrown value a minute ago,
    as the DR region's readiness keeps it (test_readiness_switch.py covers the switch without data)."""
    cloudwatch, name = boto3.client("cloudwatch", DR), naming.failover_switch_alarm(CFG).for_region(DR)
    switch_ = dns.timing(CFG)["switch"]
    cloudwatch.put_metric_alarm(AlarmName=name, Namespace=switch_["namespace"], MetricName=switch_["metric"], Statistic="Maximum", Period=60,
                                EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold")
    cloudwatch.set_alarm_state(AlarmName=name, StateValue=state, StateReason="test")
    if state == "ALARM":
        cloudwatch.put_metric_data(Namespace=switch_["namespace"], MetricData=[{
            "MetricName": switch_["metric"], "Value": float(switch_["throw_value"]), "Timestamp": w.now - timedelta(minutes=1),
        }])


def runs(w: World, *runs_: tuple[str, int]) -> dict:
    return {"executions": [
        {"executionArn": f"{MACHINE.replace('stateMachine', 'execution')}:run{n}", "stateMachineArn": MACHINE, "name": f"run{n}",
         "status": status, "startDate": w.now - timedelta(seconds=age),
         **({"stopDate": w.now - timedelta(seconds=age - 60)} if status != "RUNNING" else {})}
        for n, (status, age) in enumerate(runs_)
    ]}


def findings(w: World, region: str = DR) -> dict[str, checks.Finding]:
    return {f.check: f for f in checks.readiness(w.context(region))}


def test_a_healthy_dr_region_is_ready_on_every_check(world):
    stubbed_answers(world)
    found = findings(world)
    assert list(found) == [name for name, _ in checks.CHECKS] == list(naming.READINESS_CHECKS)
    assert {name: f.ready for name, f in found.items()} == dict.fromkeys(found, True), found


def test_a_secondary_that_stops_publishing_lag_is_not_ready(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        w = World()
        finding = checks.replication_lag(w.context(DR), {"is_writer": False})
    assert not finding.ready and "replication is not measured" in finding.observed


def test_lag_over_the_rpo_is_not_ready_and_the_writer_needs_none(world):
    lag(world, CFG.objectives.rpo_seconds * 1000 + 1)
    assert "over the RPO" in checks.replication_lag(world.context(DR), {"is_writer": False}).observed
    assert checks.replication_lag(world.context(DR), {"is_writer": True}).ready


def test_a_secret_replica_out_of_sync_or_missing_is_not_ready(world):
    from moto.secretsmanager.models import secretsmanager_backends

    (replica,) = secretsmanager_backends[ACCOUNT][PRIMARY].secrets[naming.db_secret(CFG).pattern].replicas
    replica.config.update(Status="Failed", StatusMessage="key disabled")
    finding = checks.secret_replica(world.context(DR), {})
    assert (finding.ready, finding.observed.endswith("Failed (key disabled)")) == (False, True)
    world.dead.add(PRIMARY)
    world.clients.clear()
    unknown = checks.secret_replica(world.context(DR), {})
    assert (unknown.ready, "did not say" in unknown.observed) == (None, True), "unknown, not a failure of this region"


def test_a_dr_service_short_of_its_standby_or_of_quota_is_not_ready(world, monkeypatch):
    monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", "0")  # moto fixes the running count at creation
    ecs, cluster, service = boto3.client("ecs", DR), naming.ecs_cluster(CFG).pattern, naming.ecs_service(CFG).pattern
    ecs.delete_service(cluster=cluster, service=service, force=True)
    ecs.create_service(cluster=cluster, serviceName=service, desiredCount=CFG.app.dr_desired_count)
    facts: dict = {}
    assert not checks.service_capacity(world.context(DR), facts).ready and facts["running"] == 0
    world.stub("service-quotas", DR).add_response("get_service_quota", {"Quota": {**QUOTA["Quota"], "Value": 2.0}})
    finding = checks.fargate_quota(world.context(DR), facts)
    assert not finding.ready and "raise the quota" in finding.observed, "3 tasks of 1 vCPU need 3 vCPUs"


def _images_finding(world: World, *references: str) -> checks.Finding:
    return checks.images(world.context(DR), {"task_definition": task_definition(*references)})


def test_images_in_this_regions_registry_by_immutable_tag_or_digest_are_ready(world):
    assert _images_finding(world, *IMAGES.values()).ready
    digest = push("mutable", "1.0.0", mutability="MUTABLE")
    assert _images_finding(world, image("mutable", digest)).ready, "a digest cannot move"


@pytest.mark.parametrize(
    "reference, problem",
    [
        (image(CFG.app.image_repository, "9.9.9"), "does not exist here (ImageNotFoundException)"),
        (image("never-created", "1.0.0"), "does not exist here (RepositoryNotFoundException)"),
        (image(CFG.app.image_repository, CFG.app.image_tag, region=PRIMARY), "is not in this region's registry"),
        ("public.ecr.aws/xray/aws-xray-daemon:3.x", "is not in this region's registry"),
        (f"999999999999.dkr.ecr.{DR}.amazonaws.com/{CFG.app.image_repository}:{CFG.app.image_tag}", "is not in this region's registry"),
    ],
    ids=["tag missing here", "repository missing here", "the primary's registry", "a public registry", "another account"],
)
def test_an_image_missing_here_or_from_elsewhere_is_not_ready(world, reference, problem):
    finding = _images_finding(world, reference)
    assert (finding.ready, problem in finding.observed) == (False, True), finding


def test_a_tag_its_repository_lets_move_is_not_ready(world):
    push("mutable", "1.0.0", mutability="MUTABLE")
    finding = _images_finding(world, image("mutable", "1.0.0"))
    assert not finding.ready and "can be overwritten (mutable is MUTABLE)" in finding.observed


@pytest.mark.parametrize(
    "setting, filters, immutable",
    [("IMMUTABLE", [], True), ("MUTABLE", [], False), ("IMMUTABLE_WITH_EXCLUSION", ["dev-*"], True),
     ("IMMUTABLE_WITH_EXCLUSION", ["v0.*"], False), ("MUTABLE_WITH_EXCLUSION", ["v0.*"], True), ("MUTABLE_WITH_EXCLUSION", ["dev-*"], False)],
)
def test_tag_mutability_exclusions_count(setting, filters, immutable):
    """ECR's four settings (botocore's ImageTagMutability enum); an exclusion filter flips the setting for the tags it matches."""
    import botocore.session

    assert setting in botocore.session.get_session().get_service_model("ecr").shape_for("ImageTagMutability").enum
    repository = {"imageTagMutability": setting, "imageTagMutabilityExclusionFilters": [{"filterType": "WILDCARD", "filter": f} for f in filters]}
    assert checks._tag_is_immutable(repository, "v0.49.0") is immutable


def test_images_need_the_service_found_first():
    finding = checks.images(checks.Context(settings={}, region=DR, client=None), {})
    assert (finding.ready, finding.observed) == (False, "the service's task definition is not known")


@pytest.mark.parametrize("writer, state, ready", [(PRIMARY, "OK", True), (PRIMARY, "ALARM", False), (DR, "ALARM", True), (DR, "OK", False)])
def test_the_switch_must_agree_with_the_writer(world, writer, state, ready):
    switch(world, state)
    assert checks.switch_position(world.context(DR), {"is_writer": writer == DR}).ready is ready


def test_an_overdue_or_failed_run_is_not_ready(world):
    world.stub("stepfunctions", DR).add_response("list_executions", runs(world, ("RUNNING", CFG.objectives.rto_seconds + 1)))
    assert "has run for over" in checks.runbook_state(world.context(DR), {}).observed
    world.stub("stepfunctions", DR).add_response("list_executions", runs(world, ("SUCCEEDED", 7200), ("FAILED", 3600)))
    assert not checks.runbook_state(world.context(DR), {}).ready


def test_a_promotion_in_flight_or_a_cluster_outside_the_global_database_is_not_ready(world):
    world.stub("rds", DR).add_response("describe_global_clusters", global_cluster(DR, "switching-over"))
    assert "a promotion is switching-over" in checks.database_role(world.context(DR), {}).observed
    outside = global_cluster(PRIMARY)
    outside["GlobalClusters"][0]["GlobalClusterMembers"].pop()
    world.stub("rds", DR).add_response("describe_global_clusters", outside)
    assert not checks.database_role(world.context(DR), {}).ready


def test_an_api_that_does_not_answer_makes_its_check_not_ready_not_the_run_fail(world):
    world.dead.add(DR)
    found = findings(world)
    assert set(found) == set(naming.READINESS_CHECKS)
    # Only the secret's replication status comes from the other region, which answers; with
    # reservations the concurrency check asks nothing.
    assert {name for name, f in found.items() if f.ready is False} == set(naming.READINESS_CHECKS) - {"SecretReplica", "LambdaConcurrency"}


def run_handler(world: World, monkeypatch) -> dict:
    for name, value in {**settings(DR), "AWS_REGION": DR}.items():
        monkeypatch.setenv(name, value)
    stubbed_answers(world)
    monkeypatch.setattr(handler, "boto3", SimpleNamespace(client=lambda service, region_name, config: world.client(service, region_name)))
    return handler.handler({}, None)


def test_the_function_publishes_one_metric_per_check_and_ready(world, monkeypatch):
    result = run_handler(world, monkeypatch)
    assert result["ready"] is True, result
    data = boto3.client("cloudwatch", DR).list_metrics(Namespace=naming.readiness_namespace(CFG))["Metrics"]
    checks_published = {d["Value"] for m in data for d in m.get("Dimensions", [])}
    assert checks_published == set(naming.READINESS_CHECKS)
    assert any(not m.get("Dimensions") for m in data), "the overall Ready"


def test_the_role_allows_exactly_the_calls_the_function_makes(world, monkeypatch):
    run_handler(world, monkeypatch)
    resolved = resolve(json.loads(render(CFG)["regional.json"]), CFG, DR)
    role = resolved["Resources"][f"{readiness.READINESS_FUNCTION}Role"]["Properties"]
    made = {call.replace("monitoring:", "cloudwatch:") for call in world.calls}  # CloudWatch signs as "monitoring"
    assert made == policy_actions(role)


def _stop_lag(world: World) -> None:
    from moto.cloudwatch.models import cloudwatch_backends

    cloudwatch_backends[ACCOUNT][DR].metric_data.clear()


def _replica_failed(world: World) -> None:
    from moto.secretsmanager.models import secretsmanager_backends

    (replica,) = secretsmanager_backends[ACCOUNT][PRIMARY].secrets[naming.db_secret(CFG).pattern].replicas
    replica.config.update(Status="Failed")


def _dr_image_missing(world: World) -> None:
    boto3.client("ecr", DR).batch_delete_image(repositoryName=CFG.tracing.collector_repository, imageIds=[{"imageTag": CFG.tracing.collector_image_tag}])


def _no_tasks(world: World) -> None:
    ecs, cluster, service = boto3.client("ecs", DR), naming.ecs_cluster(CFG).pattern, naming.ecs_service(CFG).pattern
    ecs.delete_service(cluster=cluster, service=service, force=True)


@pytest.mark.parametrize(
    "break_it, check",
    [(_stop_lag, "ReplicationLag"), (_replica_failed, "SecretReplica"), (_no_tasks, "ServiceCapacity"),
     (lambda world: switch(world, "ALARM"), "SwitchPosition"), (_dr_image_missing, "Images")],
    ids=["lag not published", "replica out of sync", "DR short of capacity", "switch against the writer", "DR image missing"],
)
def test_each_failure_the_issue_names_publishes_ready_0(world, monkeypatch, break_it, check):
    """Ready 0 at the next run; the alarm (one period, Minimum < 1, tests/templates/test_readiness.py)
    then turns within that period: within two periods of the failure."""
    break_it(world)
    result = run_handler(world, monkeypatch)
    assert result["ready"] is False
    cloudwatch = boto3.client("cloudwatch", DR)
    published = {
        tuple(d["Value"] for d in m.get("Dimensions", [])): m for m in cloudwatch.list_metrics(Namespace=naming.readiness_namespace(CFG))["Metrics"]
    }
    assert (check,) in published and () in published
    values = cloudwatch.get_metric_statistics(
        Namespace=naming.readiness_namespace(CFG), MetricName="Ready", StartTime=world.now - timedelta(minutes=5),
        EndTime=world.now + timedelta(minutes=5), Period=60, Statistics=["Minimum"],
    )["Datapoints"]
    assert [v["Minimum"] for v in values] == [0.0]


def test_engine_versions_alike_in_both_regions_are_ready(world):
    engines(world)
    finding = checks.engine_version(world.context(DR), {})
    assert finding.ready is True and f"{DR} {ENGINE}, {PRIMARY} {ENGINE}" == finding.observed


def test_engine_versions_that_differ_are_not_ready(world):
    engines(world, versions={PRIMARY: "8.0.mysql_aurora.3.06.0"})
    finding = checks.engine_version(world.context(DR), {})
    assert finding.ready is False and "refuses a managed switchover or failover" in finding.observed


def test_an_engine_upgrade_pending_in_one_region_only_is_not_ready(world):
    engines(world, pending={PRIMARY: ["system-update"]})
    finding = checks.engine_version(world.context(DR), {})
    assert finding.ready is False and "pending in one region only" in finding.observed
    engines(world, pending={PRIMARY: ["system-update"], DR: ["system-update"]})
    assert checks.engine_version(world.context(DR), {}).ready is True, "the same upgrade pending in both keeps them alike"
    engines(world, pending={PRIMARY: ["os-upgrade"]})
    assert checks.engine_version(world.context(DR), {}).ready is True, "an OS upgrade does not change the engine version"


def test_a_peer_region_that_does_not_answer_leaves_the_engine_version_unknown(world):
    world.dead.add(PRIMARY)
    for name, response in (("describe_db_clusters", {"DBClusters": [{"DBClusterArn": cluster_arn(DR), "EngineVersion": ENGINE}]}),
                           ("describe_pending_maintenance_actions", {"PendingMaintenanceActions": []})):
        world.stub("rds", DR).add_response(name, response)
    finding = checks.engine_version(world.context(DR), {})
    assert finding.ready is None and f"{PRIMARY} did not say" in finding.observed


def test_a_secondary_still_resyncing_after_a_failover_is_not_ready(world):
    """The old primary rebuilt after a managed failover is pending-resync: no switchover can target it."""
    world.stub("rds", PRIMARY).add_response("describe_global_clusters", global_cluster(DR, sync="pending-resync"))
    finding = checks.database_role(world.context(PRIMARY), {})
    assert finding.ready is False and "pending-resync" in finding.observed
    world.stub("rds", PRIMARY).add_response("describe_global_clusters", global_cluster(DR))
    assert checks.database_role(world.context(PRIMARY), {}).ready is True
