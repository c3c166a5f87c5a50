"""Is this region ready to take over (or, as the writer, to be taken over from)? The checks a
failover depends on, each ready or not, with what was observed.

The same code runs in two places: the readiness function in each region, on a schedule
(``handler.py`` publishes one metric per check and ``Ready``), and ``build.py failover
--dry-run`` / ``build.py status`` on the operator's side. Settings name every resource
(the template renders them as the function's environment; ``ops`` builds the same mapping
from the configuration), and ``client(service, region)`` gives the AWS clients.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from fnmatch import fnmatchcase
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

LAG_METRIC = "AuroraGlobalDBRPOLag"
# Aurora publishes lag every minute: three periods without a point means it stopped (and
# usage is read over the same minutes).
METRIC_WINDOW = timedelta(minutes=3)
# Service Quotas: "Fargate On-Demand vCPU resource count", per region (vCPUs, not tasks).
FARGATE_SERVICE, FARGATE_VCPU_QUOTA = "fargate", "L-3032A538"
CPU_UNITS_PER_VCPU = 1024
# Pending maintenance actions that change the engine version (RDS API Reference,
# PendingMaintenanceAction: "system-update", "db-upgrade").
ENGINE_ACTIONS = ("system-update", "db-upgrade")
# Aurora FailoverState statuses that mean a promotion is in flight.
IN_FLIGHT = ("pending", "failing-over", "switching-over", "cancelling")


@dataclass(frozen=True)
class Finding:
    """``ready`` is None when the other region, which the check asks, did not answer: unknown,
    which the function publishes as not ready and the dry run shows as a warning."""

    check: str
    ready: bool | None
    observed: str


@dataclass
class Context:
    settings: Mapping[str, str]
    region: str
    client: Callable[[str, str], Any]
    now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)
    _clients: dict = field(default_factory=dict)

    def call(self, service: str, operation: str, region: str | None = None, **params: Any) -> dict:
        key = (service, region or self.region)
        if key not in self._clients:
            self._clients[key] = self.client(*key)
        return getattr(self._clients[key], operation)(**params)

    def integer(self, name: str) -> int:
        return int(self.settings[name])

    @property
    def is_dr_region(self) -> bool:
        return self.region == self.settings["DR_REGION"]


def latest_maximums(ctx: Context, namespace: str, metric: str, window: timedelta = METRIC_WINDOW, **dimensions: str) -> list[float]:
    """A metric's per-minute maxima over the last ``window``, newest first."""
    now = ctx.now()
    return ctx.call(
        "cloudwatch", "get_metric_data",
        MetricDataQueries=[{
            "Id": "metric",
            "MetricStat": {
                "Metric": {"Namespace": namespace, "MetricName": metric,
                           "Dimensions": [{"Name": name, "Value": value} for name, value in dimensions.items()]},
                "Period": 60, "Stat": "Maximum",
            },
        }],
        StartTime=now - window, EndTime=now, ScanBy="TimestampDescending",
    )["MetricDataResults"][0].get("Values", [])


def _no_answer(error: Exception) -> bool:
    """Connection failures, timeouts and 5xx: the other region said nothing. Anything else
    (not found, access denied) is an answer."""
    if isinstance(error, ClientError):
        return error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500
    return True


def _unanswered(error: Exception) -> str:
    if isinstance(error, ClientError):
        return f"{error.response['Error'].get('Code', 'error')}: {error.response['Error'].get('Message', '')}".strip()
    return f"no answer ({type(error).__name__})"


def database_role(ctx: Context, facts: dict) -> Finding:
    """This region's cluster in the global database, asked in this region (``facts["is_writer"]``)."""
    name, cluster = ctx.settings["GLOBAL_CLUSTER_ID"], ctx.settings["DB_CLUSTER_ID"]
    clusters = ctx.call("rds", "describe_global_clusters", GlobalClusterIdentifier=name)["GlobalClusters"]
    if not clusters:
        return Finding("DatabaseRole", False, f"{name} not found from {ctx.region}")
    found = clusters[0]
    members = [m for m in found.get("GlobalClusterMembers", []) if m["DBClusterArn"].endswith(f":cluster:{cluster}")]
    if not members:
        return Finding("DatabaseRole", False, f"{cluster} is not a member of {name}")
    is_writer = facts["is_writer"] = bool(members[0].get("IsWriter"))
    facts["global_engine_version"] = found.get("EngineVersion")
    role = "writer" if is_writer else "secondary"
    failover = found.get("FailoverState") or {}
    if failover.get("Status") in IN_FLIGHT:
        return Finding("DatabaseRole", False, f"{cluster} is the {role}; a promotion is {failover['Status']}")
    # After a managed failover the old primary is rebuilt ("a few minutes to several hours"):
    # until it is connected again, no switchover (failback included) can target it.
    sync = members[0].get("SynchronizationStatus", "connected")
    if not is_writer and sync != "connected":
        return Finding("DatabaseRole", False, f"{cluster} is a secondary, {sync}: a switchover onto it would be refused")
    return Finding("DatabaseRole", True, f"{cluster} is the {role} of {name}")


def engine_version(ctx: Context, facts: dict) -> Finding:
    """Both clusters on one engine version, and no engine upgrade pending in one region only:
    "You can only perform a managed cross-Region database failover ... if the primary and
    secondary DB clusters have the same major, minor, and patch level engine versions"
    (Aurora user guide, "Upgrading an Amazon Aurora global database"). A pending system
    update applied in one region's maintenance window would split them next week.
    https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-global-database-upgrade.html"""
    versions, pending = {}, {}
    for region, cluster in ((ctx.region, ctx.settings["DB_CLUSTER_ID"]), (ctx.settings["PEER_REGION"], ctx.settings["PEER_DB_CLUSTER_ID"])):
        try:
            (found,) = ctx.call("rds", "describe_db_clusters", region=region, DBClusterIdentifier=cluster)["DBClusters"]
            actions = ctx.call("rds", "describe_pending_maintenance_actions", region=region, ResourceIdentifier=found["DBClusterArn"])
        except (ClientError, BotoCoreError) as error:
            if region != ctx.region and _no_answer(error):
                return Finding("EngineVersion", None, f"{region} did not say its engine version ({_unanswered(error)})")
            raise
        versions[region] = found.get("EngineVersion")
        pending[region] = sorted(
            a["Action"] for r in actions.get("PendingMaintenanceActions", []) for a in r.get("PendingMaintenanceActionDetails", [])
            if a.get("Action") in ENGINE_ACTIONS
        )
    observed = ", ".join(f"{r} {v}" + (f" (pending: {', '.join(pending[r])})" if pending[r] else "") for r, v in versions.items())
    if len(set(versions.values())) > 1:
        return Finding("EngineVersion", False, f"{observed}: AWS refuses a managed switchover or failover between them")
    if len({tuple(p) for p in pending.values()}) > 1:
        return Finding("EngineVersion", False, f"{observed}: an upgrade pending in one region only would split the versions")
    return Finding("EngineVersion", True, observed)


def replication_lag(ctx: Context, facts: dict) -> Finding:
    """As a secondary: the latest RPO lag within the RPO, and published at all (Aurora
    publishes it only for a secondary, so its absence there means replication is not measured)."""
    cluster = ctx.settings["DB_CLUSTER_ID"]
    if facts.get("is_writer"):
        return Finding("ReplicationLag", True, f"{cluster} is the writer: lag is measured in the other region")
    values = latest_maximums(ctx, "AWS/RDS", LAG_METRIC, DBClusterIdentifier=cluster)
    if not values:
        return Finding("ReplicationLag", False, f"no {LAG_METRIC} for {cluster} in {METRIC_WINDOW.seconds // 60} min: replication is not measured")
    lag_ms, rpo_ms = values[0], ctx.integer("RPO_SECONDS") * 1000
    observed = f"{LAG_METRIC} {lag_ms:.0f} ms, RPO {rpo_ms} ms"
    return Finding("ReplicationLag", lag_ms <= rpo_ms, observed if lag_ms <= rpo_ms else f"{observed}: over the RPO")


def secret_replica(ctx: Context, facts: dict) -> Finding:
    """The database secret's copy here is in sync: the primary copy reports each replica's
    status, so the DR region asks the primary region (the replica itself does not know)."""
    name, primary = ctx.settings["SECRET_ID"], ctx.settings["PRIMARY_REGION"]
    if not ctx.is_dr_region:
        secret = ctx.call("secretsmanager", "describe_secret", SecretId=name)
        return Finding("SecretReplica", not secret.get("DeletedDate"), f"{name}: the primary copy is here")
    try:
        secret = ctx.call("secretsmanager", "describe_secret", region=primary, SecretId=name)
    except (ClientError, BotoCoreError) as error:
        if _no_answer(error):
            return Finding("SecretReplica", None, f"{name}: {primary} did not say how the replica here is ({_unanswered(error)})")
        return Finding("SecretReplica", False, f"{name} in {primary}: {_unanswered(error)}")
    status = {r["Region"]: r for r in secret.get("ReplicationStatus", [])}.get(ctx.region)
    if status is None:
        return Finding("SecretReplica", False, f"{name} does not replicate to {ctx.region}")
    observed = f"{name} replica in {ctx.region}: {status['Status']}" + (f" ({status['StatusMessage']})" if status.get("StatusMessage") else "")
    return Finding("SecretReplica", status["Status"] == "InSync", observed)


def service_capacity(ctx: Context, facts: dict) -> Finding:
    """The service runs its standing count here (warm standby in the DR region; ``facts["running"]``)."""
    cluster, service = ctx.settings["ECS_CLUSTER"], ctx.settings["ECS_SERVICE"]
    # The DR region serving (its cluster the writer) must run the failover count.
    standing = ctx.integer("FAILOVER_COUNT" if facts.get("is_writer") and ctx.is_dr_region else "STANDING_COUNT")
    found = [s for s in ctx.call("ecs", "describe_services", cluster=cluster, services=[service])["services"] if s.get("status") == "ACTIVE"]
    if not found:
        return Finding("ServiceCapacity", False, f"no active service {service} in {cluster}")
    running = facts["running"] = found[0]["runningCount"]
    facts["task_definition"] = found[0].get("taskDefinition")
    observed = f"{service}: {running} running, standing count {standing}"
    return Finding("ServiceCapacity", running >= standing, observed if running >= standing else f"{observed}: short")


def fargate_quota(ctx: Context, facts: dict) -> Finding:
    """Room under the region's Fargate vCPU quota for the failover count, beside what runs now."""
    quota = ctx.call("service-quotas", "get_service_quota", ServiceCode=FARGATE_SERVICE, QuotaCode=FARGATE_VCPU_QUOTA)["Quota"]["Value"]
    vcpu, running = ctx.integer("TASK_CPU") / CPU_UNITS_PER_VCPU, facts.get("running", 0)
    usage = latest_maximums(ctx, "AWS/Usage", "ResourceCount", Service="Fargate", Type="Resource", Resource="vCPU",
                            Class="Standard/OnDemand") or [running * vcpu]
    needed = max(ctx.integer("FAILOVER_COUNT") - running, 0) * vcpu
    room = quota - usage[0]
    observed = f"Fargate vCPU quota {quota:g}, in use {usage[0]:g}, the failover count needs {needed:g} more"
    return Finding("FargateQuota", room >= needed, observed if room >= needed else f"{observed}: raise the quota")


def lambda_concurrency(ctx: Context, facts: dict) -> Finding:
    """The runbook can run: with reservations (``runbook.reserve_concurrency``) its functions hold
    their own concurrency; without (an account whose quota could not take them), the account's
    unreserved concurrency must leave the runbook what it would have reserved, or a busy account
    throttles the failover. ("You can reserve up to the Unreserved account concurrency value
    minus 100", Lambda developer guide, "Configuring reserved concurrency for a function".)
    https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html"""
    needed = ctx.integer("RUNBOOK_CONCURRENCY")
    if ctx.settings["RESERVE_CONCURRENCY"] == "true":
        return Finding("LambdaConcurrency", True, f"the runbook's functions reserve {needed} concurrent executions")
    unreserved = ctx.call("lambda", "get_account_settings")["AccountLimit"]["UnreservedConcurrentExecutions"]
    observed = f"no reservations; the account's unreserved concurrency is {unreserved}, the runbook needs {needed}"
    return Finding("LambdaConcurrency", unreserved >= needed, observed if unreserved >= needed else f"{observed}: raise the quota (L-B99A9384)")


def switch_position(ctx: Context, facts: dict) -> Finding:
    """The failover switch (in the DR region) is thrown exactly when the DR cluster is the writer."""
    name, dr, is_writer = ctx.settings["SWITCH_ALARM_NAME"], ctx.settings["DR_REGION"], facts.get("is_writer")
    if is_writer is None:
        return Finding("SwitchPosition", False, "the writer is not known, so neither is the switch's right position")
    try:
        alarms = ctx.call("cloudwatch", "describe_alarms", region=dr, AlarmNames=[name], AlarmTypes=["MetricAlarm"])["MetricAlarms"]
    except (ClientError, BotoCoreError) as error:
        return Finding("SwitchPosition", None if dr != ctx.region and _no_answer(error) else False, f"{name} in {dr}: {_unanswered(error)}")
    if not alarms:
        return Finding("SwitchPosition", False, f"{name} not found in {dr}")
    thrown = alarms[0]["StateValue"] == "ALARM"
    dr_writes = is_writer == ctx.is_dr_region
    observed = f"switch {'thrown' if thrown else 'released'}, the writer is {'the DR' if dr_writes else 'the primary'} region's cluster"
    if thrown != dr_writes:
        return Finding("SwitchPosition", False, f"{observed}: traffic and writer disagree")
    if thrown and ctx.is_dr_region:
        return _thrown_switch_has_data(ctx, facts, observed)
    return Finding("SwitchPosition", True, observed)


def _thrown_switch_has_data(ctx: Context, facts: dict, observed: str) -> Finding:
    """A thrown switch lives on in its data: a health check created or replaced while it is
    thrown starts healthy ("the default status is healthy", Route 53's health check API) and
    keeps its last known status only once it has seen the alarm's data. So the DR region's
    readiness republishes the thrown position every period (``facts["republish_switch"]``,
    the same value: no second move) and is not ready when no point landed in two periods.
    https://docs.aws.amazon.com/Route53/latest/APIReference/API_HealthCheckConfig.html"""
    facts["republish_switch"] = True
    window = timedelta(minutes=2 * ctx.integer("READINESS_PERIOD_MINUTES"))
    if latest_maximums(ctx, ctx.settings["SWITCH_NAMESPACE"], ctx.settings["SWITCH_METRIC"], window=window):
        return Finding("SwitchPosition", True, observed)
    return Finding("SwitchPosition", False, f"{observed}, but the switch has no data in {window.seconds // 60} min: "
                                            "a health check created now would start healthy (republished now)")


def republish_switch(ctx: Context) -> None:
    """The thrown position again, to the DR region's switch metric (this region's)."""
    ctx.call("cloudwatch", "put_metric_data", Namespace=ctx.settings["SWITCH_NAMESPACE"], MetricData=[{
        "MetricName": ctx.settings["SWITCH_METRIC"], "Value": float(ctx.settings["SWITCH_THROWN_VALUE"]), "Unit": "Count",
    }])


def runbook_state(ctx: Context, facts: dict) -> Finding:
    """No run of this region's runbook is overdue, and the last finished one succeeded."""
    machine, budget = ctx.settings["STATE_MACHINE_ARN"], ctx.integer("RUNBOOK_BUDGET_SECONDS")
    executions = ctx.call("stepfunctions", "list_executions", stateMachineArn=machine, maxResults=20)["executions"]
    now = ctx.now()
    overdue = [e for e in executions if e["status"] == "RUNNING" and (now - e["startDate"]).total_seconds() > budget]
    if overdue:
        return Finding("Runbook", False, f"{overdue[0]['name']} has run for over {budget} s")
    finished = [e for e in executions if e["status"] != "RUNNING"]
    if not finished:
        return Finding("Runbook", True, "no run yet")
    last = max(finished, key=lambda e: e.get("stopDate") or e["startDate"])
    return Finding("Runbook", last["status"] == "SUCCEEDED", f"last run {last['name']}: {last['status']}")


# An image in a private ECR registry: ACCOUNT.dkr.ecr.REGION.DOMAIN/REPOSITORY then :TAG or @DIGEST.
ECR_IMAGE = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.[a-z0-9.]+/([a-z0-9._/-]+?)(?::([\w][\w.-]*)|@(sha256:[0-9a-f]{64}))$")
TASK_DEFINITION_ACCOUNT = re.compile(r"^arn:[a-z-]+:ecs:[a-z0-9-]+:(\d{12}):task-definition/")


def _tag_is_immutable(repository: dict, tag: str) -> bool:
    """ECR's tag mutability settings, exclusions included (wildcard filters)."""
    setting = repository.get("imageTagMutability", "MUTABLE")
    excluded = any(fnmatchcase(tag, f["filter"]) for f in repository.get("imageTagMutabilityExclusionFilters", []))
    return setting == "IMMUTABLE" or (setting == "IMMUTABLE_WITH_EXCLUSION" and not excluded) or (setting == "MUTABLE_WITH_EXCLUSION" and excluded)


def _image_problem(ctx: Context, image: str, account: str) -> str | None:
    """Why ``image`` could not start a task here without another region or registry, or None."""
    found = ECR_IMAGE.match(image)
    if not found or (found[1], found[2]) != (account, ctx.region):
        return f"{image} is not in this region's registry ({account}, {ctx.region})"
    repository, tag, digest = found[3], found[4], found[5]
    try:
        ctx.call("ecr", "describe_images", repositoryName=repository, imageIds=[{"imageDigest": digest} if digest else {"imageTag": tag}])
    except ClientError as error:
        if error.response["Error"].get("Code") in ("ImageNotFoundException", "RepositoryNotFoundException"):
            return f"{image} does not exist here ({error.response['Error']['Code']})"
        raise
    if tag:
        (settings,) = ctx.call("ecr", "describe_repositories", repositoryNames=[repository])["repositories"]
        if not _tag_is_immutable(settings, tag):
            return f"{image}: tag {tag} can be overwritten ({repository} is {settings.get('imageTagMutability', 'MUTABLE')})"
    return None


def images(ctx: Context, facts: dict) -> Finding:
    """Every image of the service's current task definition exists in this region's own registry,
    by digest or by a tag its repository keeps immutable: a DR scale-out then needs no other region,
    no public registry, and starts what was tested (``facts["task_definition"]``, from ServiceCapacity)."""
    task_definition = facts.get("task_definition")
    if not task_definition:
        return Finding("Images", False, "the service's task definition is not known")
    definition = ctx.call("ecs", "describe_task_definition", taskDefinition=task_definition)["taskDefinition"]
    account = TASK_DEFINITION_ACCOUNT.match(definition["taskDefinitionArn"])[1]
    wanted = sorted({c["image"] for c in definition["containerDefinitions"]})
    problems = [problem for problem in (_image_problem(ctx, image, account) for image in wanted) if problem]
    name = definition["taskDefinitionArn"].rsplit("/", 1)[-1]
    if problems:
        return Finding("Images", False, "; ".join(problems))
    return Finding("Images", True, f"{name}: {len(wanted)} image(s) here, pinned")


# In order: later checks read the facts earlier ones found (the writer, the running count).
CHECKS = (
    ("DatabaseRole", database_role),
    ("ReplicationLag", replication_lag),
    ("EngineVersion", engine_version),
    ("SecretReplica", secret_replica),
    ("ServiceCapacity", service_capacity),
    ("Images", images),
    ("FargateQuota", fargate_quota),
    ("LambdaConcurrency", lambda_concurrency),
    ("SwitchPosition", switch_position),
    ("Runbook", runbook_state),
)


def readiness(ctx: Context, facts: dict | None = None) -> list[Finding]:
    """Every check for this region; a check whose AWS API does not answer is not ready.
    ``facts`` collects what the checks found (the caller may act on ``republish_switch``)."""
    facts = {} if facts is None else facts
    findings = []
    for name, check in CHECKS:
        try:
            findings.append(check(ctx, facts))
        except (ClientError, BotoCoreError) as error:
            findings.append(Finding(name, False, _unanswered(error)))
    return findings
