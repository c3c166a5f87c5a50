"""Report whether this region's cluster is the global database's writer and available.

Read-only, so it needs no idempotency record: the state machine polls it with a Wait
between checks and a bounded number of attempts.

Planned runs wait until no promotion is in flight. After an unplanned failover AWS does
not document when ``FailoverState`` clears while the old primary's region is still down
(the old primary rejoins as a secondary "as soon as that Region is healthy and available
again"), so an unplanned run is ready once this region's cluster is the writer and
available, whatever ``FailoverState`` still says.

``promotion_here`` tells the state machine that a promotion towards this region is still
under way when its writer wait runs out: the promotion runs on in AWS after the request
returned, whether or not the runbook still waits (the user guide gives RTO only as "in the
order of minutes"), so the run keeps following it.
"""

from __future__ import annotations

from typing import Any

from .promote_database import describe_global_cluster, is_local_writer
from .runtime import Runtime, lambda_runtime

STEP = "wait_for_writer"


def run(event: dict[str, Any], runtime: Runtime) -> dict[str, Any]:
    local_arn = runtime.setting("DB_CLUSTER_ARN")
    global_cluster = describe_global_cluster(runtime)
    writer = is_local_writer(global_cluster, local_arn)
    failover_state = global_cluster.get("FailoverState") or {}
    in_flight = failover_state.get("Status")
    promotion_here = in_flight is not None and failover_state.get("ToDbClusterArn") == local_arn
    clusters = runtime.client("rds").describe_db_clusters(DBClusterIdentifier=runtime.setting("DB_CLUSTER_ID"))["DBClusters"]
    status = clusters[0]["Status"]
    settled = in_flight is None or event.get("mode") == "unplanned"
    ready = writer and settled and status == "available"
    runtime.log("writer check", writer=writer, failover_state=in_flight, cluster_status=status, ready=ready, promotion_here=promotion_here)
    return {"ready": ready, "writer": writer, "cluster_status": status, "failover_state": in_flight, "promotion_here": promotion_here}


def handler(event, context):
    return run(event, lambda_runtime(STEP, event, context))
