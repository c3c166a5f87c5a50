"""A stateful fake of an Aurora global database, answering the RDS calls the runbook makes:
``DescribeGlobalClusters``, ``DescribeDBClusters``, ``SwitchoverGlobalCluster`` and
``FailoverGlobalCluster`` (moto 5.2 implements neither promotion).

It follows AWS's documentation:
- RDS API Reference, ``FailoverState``: ``Status`` is ``pending`` (request received, being
  prepared), ``failing-over``, ``switching-over`` or ``cancelling``; ``FromDbClusterArn``,
  ``ToDbClusterArn``, ``IsDataLossAllowed``. botocore 1.44's enum lacks ``switching-over``;
  its documentation has it.
  https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_FailoverState.html
- RDS API Reference, ``GlobalClusterMember``: ``IsWriter``, ``Readers``,
  ``SynchronizationStatus`` (``connected`` | ``pending-resync``).
  https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_GlobalClusterMember.html
- Aurora User Guide, "Using switchover or failover in an Amazon Aurora global database":
  a switchover (``SwitchoverGlobalCluster``, or ``FailoverGlobalCluster`` without
  ``AllowDataLoss``) needs a healthy primary and loses nothing; an unplanned failover
  (``AllowDataLoss``) promotes the secondary whatever the primary's state, loses the
  unreplicated writes, and the old primary rejoins as a secondary once its region is back
  (``pending-resync`` until then). Only one switchover or failover at a time
  (``InvalidGlobalClusterStateFault``).
  https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-global-database-disaster-recovery.html
- Aurora user guide, "Upgrading an Amazon Aurora global database": "You can only perform a
  managed cross-Region database failover ... if the primary and secondary DB clusters have the
  same major, minor, and patch level engine versions. However, the patch levels can be
  different, depending on the minor engine version." The fake refuses any difference (the
  conservative end of "can be"), with the re:Post knowledge-center wording: "The target
  cluster ... must be running the same engine version as the current primary cluster".
  https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-global-database-upgrade.html
- After a managed failover the old primary is rebuilt ("a few minutes to several hours") and
  shows ``pending-resync``; a switchover onto it is refused until it is ``connected``.
How long each step takes is drawn from ``unknowns.World``: AWS says "typically" minutes.

Requests and responses are checked against botocore's RDS model (``fake.ModelledFake``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from checks.drill.clock import SimClock
from checks.drill.fake import ModelledFake
from checks.drill.fake import ServiceFault
from checks.drill.network import Network
from checks.drill.unknowns import World

PENDING, FAILING_OVER, SWITCHING_OVER = "pending", "failing-over", "switching-over"
CONNECTED, PENDING_RESYNC = "connected", "pending-resync"


ENGINE_VERSION = "16.8"
# A patch apart: what drift between two regions' maintenance looks like.
DRIFTED_ENGINE_VERSION = "16.8.1"
# The "pending" part of a promotion (request received, being prepared), within its duration.
PENDING_FRACTION = 0.1


@dataclass
class Promotion:
    kind: str  # SWITCHING_OVER or FAILING_OVER
    source: str
    target: str
    requested_at: float
    data_loss_allowed: bool
    completes_at: float = math.inf


@dataclass
class AuroraGlobalDatabase:
    clock: SimClock
    network: Network
    identifier: str
    partition: str
    account: str
    clusters: dict[str, str]  # region -> DB cluster identifier
    writer: str
    lag_ms: float = 0.0
    world: World = field(default_factory=World)
    promotion: Promotion | None = None
    resyncing: dict[str, float] = field(default_factory=dict)  # region -> when it is connected again
    data_lost_ms: float = 0.0
    engine_versions: dict[str, str] = field(default_factory=dict)

    def __post_init__(self):
        drifted = [r for r in self.clusters if r != self.writer] if self.world.engine_versions_differ else []
        self.engine_versions = {r: DRIFTED_ENGINE_VERSION if r in drifted else ENGINE_VERSION for r in self.clusters}

    def register(self, events) -> None:
        operations = {
            "DescribeGlobalClusters": self._describe_global_clusters,
            "DescribeDBClusters": self._describe_db_clusters,
            "SwitchoverGlobalCluster": self._switchover,
            "FailoverGlobalCluster": self._failover,
            "DescribePendingMaintenanceActions": self._describe_pending_maintenance_actions,
        }
        ModelledFake("rds", self.network, {name: self._settled(op) for name, op in operations.items()}).register(events)

    def _settled(self, operation):
        def answer(region: str, params: dict) -> dict:
            self.settle()
            return operation(region, params)

        return answer

    def cluster_arn(self, region: str) -> str:
        return f"arn:{self.partition}:rds:{region}:{self.account}:cluster:{self.clusters[region]}"

    @property
    def global_arn(self) -> str:
        return f"arn:{self.partition}:rds::{self.account}:global-cluster:{self.identifier}"

    def region_of_cluster(self, identifier: str) -> str | None:
        for region in self.clusters:
            if identifier in (self.clusters[region], self.cluster_arn(region)):
                return region
        return None

    # --- the transitions ---------------------------------------------------------------

    def settle(self) -> None:
        """Apply what has finished by now."""
        now = self.clock.now()
        for region, connected_at in list(self.resyncing.items()):
            if now >= connected_at and region not in self.network.dead_regions:
                del self.resyncing[region]
        promotion = self.promotion
        if promotion is None or now < promotion.completes_at:
            return
        self.writer = promotion.target
        if promotion.data_loss_allowed:
            # "As soon as that Region is healthy and available again, Aurora automatically adds
            # it back to the global cluster as a secondary Region", rebuilt for resync_seconds.
            self.resyncing[promotion.source] = promotion.completes_at + self.world.resync_seconds
            if promotion.source in self.network.dead_regions and not self.world.failover_state_clears_while_source_down:
                return
        self.promotion = None

    def failover_status(self) -> str | None:
        if self.promotion is None:
            return None
        if self.clock.now() < self.promotion.requested_at + PENDING_FRACTION * self.world.promotion_seconds:
            return PENDING
        return self.promotion.kind

    def _promote(self, region: str, params: dict, data_loss: bool) -> dict:
        if params["GlobalClusterIdentifier"] not in (self.identifier, self.global_arn):
            raise ServiceFault("GlobalClusterNotFoundFault", f"{params['GlobalClusterIdentifier']} not found")
        target = self.region_of_cluster(params["TargetDbClusterIdentifier"])
        if target is None:
            raise ServiceFault("DBClusterNotFoundFault", f"{params['TargetDbClusterIdentifier']} is not a member")
        if self.promotion is not None:
            raise ServiceFault("InvalidGlobalClusterStateFault", f"a {self.promotion.kind} is already in progress")
        if target == self.writer:
            raise ServiceFault("InvalidGlobalClusterStateFault", "the target is already the primary cluster")
        if not data_loss and self.writer in self.network.dead_regions:
            raise ServiceFault("InvalidGlobalClusterStateFault", "switchover needs a healthy primary cluster")
        if not data_loss and target in self.resyncing:
            raise ServiceFault("InvalidGlobalClusterStateFault", f"{params['TargetDbClusterIdentifier']} is pending-resync, not connected")
        if self.engine_versions[target] != self.engine_versions[self.writer]:
            raise ServiceFault(
                "InvalidGlobalClusterStateFault",
                f"The target cluster {params['TargetDbClusterIdentifier']} must be running the same engine version as the current primary cluster",
            )
        # The user guide's --region for each: "the AWS Region where the primary DB cluster ...
        # is running" (switchover) and "where the secondary DB cluster that you want to be the
        # new primary ... is running" (failover).
        expected = target if data_loss else self.writer
        if region != expected:
            raise ServiceFault("InvalidParameterValue", f"send this request to {expected}, not {region}")
        now = self.clock.now()
        self.promotion = Promotion(
            FAILING_OVER if data_loss else SWITCHING_OVER, self.writer, target, now, data_loss, now + self.world.promotion_seconds
        )
        if data_loss:
            self.data_lost_ms = self.lag_ms
        return {"GlobalCluster": self._global_cluster()}

    # --- the API -----------------------------------------------------------------------

    def writers(self) -> list[str]:
        """The member clusters that report themselves the writer."""
        return [m["DBClusterArn"] for m in self._global_cluster()["GlobalClusterMembers"] if m["IsWriter"]]

    def _global_cluster(self) -> dict:
        members = []
        for region in self.clusters:
            others = [self.cluster_arn(r) for r in self.clusters if r != region]
            member = {
                "DBClusterArn": self.cluster_arn(region),
                "IsWriter": region == self.writer,
                "Readers": others if region == self.writer else [],
                "SynchronizationStatus": PENDING_RESYNC if region in self.resyncing else CONNECTED,
            }
            members.append(member)
        cluster = {
            "GlobalClusterIdentifier": self.identifier,
            "GlobalClusterArn": self.global_arn,
            "Status": "available",
            "Engine": "aurora-postgresql",
            "EngineVersion": self.engine_versions[self.writer],
            "GlobalClusterMembers": members,
        }
        status = self.failover_status()
        if status is not None:
            cluster["FailoverState"] = {
                "Status": status,
                "FromDbClusterArn": self.cluster_arn(self.promotion.source),
                "ToDbClusterArn": self.cluster_arn(self.promotion.target),
                "IsDataLossAllowed": self.promotion.data_loss_allowed,
            }
        return cluster

    def _describe_global_clusters(self, region: str, params: dict) -> dict:
        wanted = params.get("GlobalClusterIdentifier")
        if wanted not in (None, self.identifier, self.global_arn):
            raise ServiceFault("GlobalClusterNotFoundFault", f"{wanted} not found")
        return {"GlobalClusters": [self._global_cluster()]}

    def _describe_db_clusters(self, region: str, params: dict) -> dict:
        # A cluster is seen only through its own region's endpoint.
        if region not in self.clusters or self.region_of_cluster(params.get("DBClusterIdentifier", "")) != region:
            raise ServiceFault("DBClusterNotFoundFault", f"{params.get('DBClusterIdentifier')} not found in {region}")
        return {
            "DBClusters": [
                {
                    "DBClusterIdentifier": self.clusters[region],
                    "DBClusterArn": self.cluster_arn(region),
                    "Status": "available",
                    "Engine": "aurora-postgresql",
                    "EngineVersion": self.engine_versions[region],
                    "GlobalClusterIdentifier": self.identifier,
                }
            ]
        }

    def _describe_pending_maintenance_actions(self, region: str, params: dict) -> dict:
        """No maintenance is pending in a drill: the engine versions themselves can drift (``World``)."""
        if self.region_of_cluster(params.get("ResourceIdentifier", "")) != region:
            raise ServiceFault("ResourceNotFoundFault", f"{params.get('ResourceIdentifier')} not found in {region}")
        return {"PendingMaintenanceActions": []}

    def _switchover(self, region: str, params: dict) -> dict:
        return self._promote(region, params, data_loss=False)

    def _failover(self, region: str, params: dict) -> dict:
        # Without AllowDataLoss, FailoverGlobalCluster is a switchover (RDS API Reference).
        return self._promote(region, params, data_loss=bool(params.get("AllowDataLoss")))
