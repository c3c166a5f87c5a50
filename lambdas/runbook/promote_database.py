"""Make this region's cluster the writer of the global database.

Planned (drill, failback): ``SwitchoverGlobalCluster``; RPO 0, needs a healthy old primary.
Unplanned (the primary region is lost): ``FailoverGlobalCluster`` with ``AllowDataLoss``,
only when the request explicitly accepts data loss; the lag accepted is recorded. Note
that ``FailoverGlobalCluster`` without ``AllowDataLoss`` is itself a switchover.

Each call goes where the Aurora user guide sends it ("Using switchover or failover in an
Amazon Aurora global database", its CLI ``--region``): a switchover to the current
primary's region (both regions are up in a planned operation), a failover to the region
of the secondary being promoted, which is this one.
https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-global-database-disaster-recovery.html

What AWS refuses is refused here first, with what to do instead:
- "You can only perform a managed cross-Region database failover on an Aurora global database
  if the primary and secondary DB clusters have the same major, minor, and patch level engine
  versions. However, the patch levels can be different, depending on the minor engine
  version" (Aurora user guide, "Upgrading an Amazon Aurora global database"). Which pairs
  AWS accepts is AWS's to say (and ``EngineVersion`` does not show every patch level), so
  the runbook asks and maps a refusal to ``PromotionRefused``, naming the last resort:
  detach this cluster (``RemoveFromGlobalCluster``), which makes it a standalone writer and
  ends the global database. Readiness alarms on any difference beforehand.
  https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-global-database-upgrade.html
- A switchover (failing back included) needs its target in sync: after a managed failover the
  old primary is rebuilt, which "can take a few minutes to several hours", and its member shows
  ``SynchronizationStatus`` ``pending-resync`` until then (RDS API Reference,
  GlobalClusterMember).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from botocore.exceptions import ClientError

from .idempotency import once
from .runtime import Runtime, StepError, lambda_runtime, now

STEP = "promote_database"
PLANNED = "planned"
UNPLANNED = "unplanned"
# How far back to look for the lag the failover accepts.
LAG_LOOKBACK_MINUTES = 5
LAG_METRICS = ("AuroraGlobalDBRPOLag", "AuroraGlobalDBReplicationLag")


class DataLossNotAccepted(StepError):
    """Unplanned failover loses the unreplicated writes; the request must say it accepts that."""


class FailoverElsewhere(StepError):
    """The global database is already failing over to another region's cluster."""


class FailbackNeedsDrRegion(StepError):
    """Failing back moves traffic by releasing the switch, which lives in the DR region."""


class NotAMember(StepError):
    """This region's cluster is not part of the global database."""


class TargetNotSynchronized(StepError):
    """A switchover onto a cluster that is still being rebuilt after a failover."""


class PromotionRefused(StepError):
    """AWS refused the promotion for the global database's or a cluster's state."""


CONNECTED = "connected"
# The codes botocore's RDS model lists for SwitchoverGlobalCluster and FailoverGlobalCluster
# that a retry cannot fix (the others: not found, which NotAMember covers first).
REFUSALS = ("InvalidGlobalClusterStateFault", "InvalidDBClusterStateFault")


def last_resort(runtime: Runtime, identifier: str, local_arn: str) -> str:
    """The manual failover AWS leaves when a managed one is refused: detach and promote."""
    return (
        f"last resort (ends the global database; rebuild it afterwards, docs/operating.md, 'After a lost primary'): aws rds remove-from-global-cluster "
        f"--region {runtime.setting('AWS_REGION')} --global-cluster-identifier {identifier} --db-cluster-identifier {local_arn}"
    )


def describe_global_cluster(runtime: Runtime) -> dict[str, Any]:
    identifier = runtime.setting("GLOBAL_CLUSTER_ID")
    clusters = runtime.client("rds").describe_global_clusters(GlobalClusterIdentifier=identifier)["GlobalClusters"]
    return clusters[0]


def is_local_writer(global_cluster: dict[str, Any], local_arn: str) -> bool:
    return any(m["DBClusterArn"] == local_arn and m.get("IsWriter") for m in global_cluster.get("GlobalClusterMembers", []))


def writer_region(global_cluster: dict[str, Any]) -> str | None:
    """The region of the current primary cluster (``arn:PARTITION:rds:REGION:ACCOUNT:cluster:ID``)."""
    for member in global_cluster.get("GlobalClusterMembers", []):
        if member.get("IsWriter"):
            return member["DBClusterArn"].split(":")[3]
    return None


def _accepted_lag(runtime: Runtime) -> dict[str, Any]:
    """The latest lag of this region's (secondary) cluster: what the failover gives up."""
    end = datetime.fromtimestamp(now(), timezone.utc) + timedelta(minutes=1)  # include the current, partial minute
    response = runtime.client("cloudwatch").get_metric_data(
        StartTime=end - timedelta(minutes=LAG_LOOKBACK_MINUTES + 1),
        EndTime=end,
        ScanBy="TimestampDescending",
        MetricDataQueries=[
            {
                "Id": metric.lower(),
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/RDS",
                        "MetricName": metric,
                        "Dimensions": [{"Name": "DBClusterIdentifier", "Value": runtime.setting("DB_CLUSTER_ID")}],
                    },
                    "Period": 60,
                    "Stat": "Maximum",
                },
            }
            for metric in LAG_METRICS
        ],
    )
    for metric in LAG_METRICS:
        for series in response["MetricDataResults"]:
            if series["Id"] == metric.lower() and series["Values"]:
                return {"accepted_lag_ms": series["Values"][0], "lag_metric": metric}
    return {"accepted_lag_ms": None, "lag_metric": None}


def run(event: dict[str, Any], runtime: Runtime) -> dict[str, Any]:
    mode = event.get("mode", PLANNED)
    if mode not in (PLANNED, UNPLANNED):
        raise StepError(f"mode must be {PLANNED!r} or {UNPLANNED!r}, not {mode!r}")
    if mode == UNPLANNED and event.get("accept_data_loss") is not True:
        raise DataLossNotAccepted("unplanned failover needs accept_data_loss=true: writes not yet replicated are lost")
    if mode == UNPLANNED and runtime.setting("REGION_ROLE") == "primary":
        raise FailbackNeedsDrRegion(
            "failing back is planned only: releasing the failover switch needs the DR region's CloudWatch. "
            "While the DR region is down its record is unhealthy and Route 53 already answers with the primary's; "
            "fail back with mode=planned once the DR region is back"
        )
    return once(runtime, lambda: _promote(mode, runtime))


def _promote(mode: str, runtime: Runtime) -> dict[str, Any]:
    local_arn = runtime.setting("DB_CLUSTER_ARN")
    global_cluster = describe_global_cluster(runtime)
    if not any(m["DBClusterArn"] == local_arn for m in global_cluster.get("GlobalClusterMembers", [])):
        raise NotAMember(f"{local_arn} is not a member of {global_cluster['GlobalClusterIdentifier']}")
    # Any FailoverState means a promotion is scheduled or under way (pending, failing-over,
    # switching-over, cancelling: RDS API Reference, FailoverState); ToDbClusterArn says where.
    in_flight = global_cluster.get("FailoverState", {})
    if in_flight:
        if in_flight.get("ToDbClusterArn") != local_arn:
            raise FailoverElsewhere(f"the global database is already failing over to {in_flight.get('ToDbClusterArn')}")
        runtime.log("a promotion to this region is already under way: waiting for it", failover_state=in_flight)
        return {"action": "none", "reason": "promotion already in progress", "mode": mode}
    if is_local_writer(global_cluster, local_arn):
        runtime.log("this region's cluster is already the writer")
        return {"action": "none", "reason": "already the writer", "mode": mode}
    identifier = global_cluster["GlobalClusterIdentifier"]
    _require_promotable(mode, runtime, global_cluster, local_arn)
    runtime.budget.require(15, "request the promotion")
    try:
        if mode == PLANNED:
            primary_region = writer_region(global_cluster)
            runtime.client("rds", primary_region).switchover_global_cluster(GlobalClusterIdentifier=identifier, TargetDbClusterIdentifier=local_arn)
            runtime.log("switchover requested", target=local_arn, sent_to=primary_region)
            return {"action": "switchover", "mode": mode, "accepted_lag_ms": 0}
        lag = _accepted_lag(runtime)
        runtime.client("rds").failover_global_cluster(GlobalClusterIdentifier=identifier, TargetDbClusterIdentifier=local_arn, AllowDataLoss=True)
    except ClientError as error:
        code = error.response["Error"]["Code"]
        if code not in REFUSALS:
            raise
        raise PromotionRefused(f"AWS refused the {mode} promotion ({code}: {error.response['Error'].get('Message', '')}); "
                               + last_resort(runtime, identifier, local_arn)) from None
    runtime.log("failover with data loss requested", target=local_arn, **lag)
    return {"action": "failover", "mode": mode, **lag}


def _require_promotable(mode: str, runtime: Runtime, global_cluster: dict[str, Any], local_arn: str) -> None:
    """Refuse a switchover onto a cluster still being rebuilt, before asking AWS."""
    (member,) = [m for m in global_cluster["GlobalClusterMembers"] if m["DBClusterArn"] == local_arn]
    status = member.get("SynchronizationStatus", CONNECTED)
    if mode == PLANNED and status != CONNECTED:
        raise TargetNotSynchronized(
            f"{local_arn} is {status}: Aurora is still rebuilding it after the failover (minutes to hours); "
            "switch over once the readiness check DatabaseRole shows it connected"
        )


def handler(event, context):
    return run(event, lambda_runtime(STEP, event, context))
