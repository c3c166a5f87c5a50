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
How long each phase takes is configurable (``Timings``); AWS says "typically" minutes.

Requests and responses are checked against botocore's RDS model (``fake.ModelledFake``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from checks.drill.clock import SimClock
from checks.drill.fake import ModelledFake
from checks.drill.fake import ServiceFault
from checks.drill.network import Network

PENDING, FAILING_OVER, SWITCHING_OVER = "pending", "failing-over", "switching-over"
CONNECTED, PENDING_RESYNC = "connected", "pending-resync"


@dataclass
class Timings:
    """Simulated seconds per phase; ``None`` for a promotion that never completes."""

    pending_seconds: float = 5
    promotion_seconds: float | None = 60
    # Whether FailoverState clears after an unplanned failover while the old primary's
    # region is still down: AWS does not document it, so drills assume it lingers.
    failover_state_clears_while_source_down: bool = False


@dataclass
class Promotion:
    kind: str  # SWITCHING_OVER or FAILING_OVER
    source: str
    target: str
    requested_at: float
    data_loss_allowed: bool


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
    timings: Timings = field(default_factory=Timings)
    promotion: Promotion | None = None
    resyncing: set[str] = field(default_factory=set)
    data_lost_ms: float = 0.0

    def register(self, events) -> None:
        operations = {
            "DescribeGlobalClusters": self._describe_global_clusters,
            "DescribeDBClusters": self._describe_db_clusters,
            "SwitchoverGlobalCluster": self._switchover,
            "FailoverGlobalCluster": self._failover,
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
        promotion = self.promotion
        if promotion is None or self.timings.promotion_seconds is None:
            return
        if self.clock.now() < promotion.requested_at + self.timings.pending_seconds + self.timings.promotion_seconds:
            return
        self.writer = promotion.target
        if promotion.data_loss_allowed:
            # "As soon as that Region is healthy and available again, Aurora automatically adds
            # it back to the global cluster as a secondary Region" (resync until then).
            self.resyncing.add(promotion.source)
            if promotion.source in self.network.dead_regions and not self.timings.failover_state_clears_while_source_down:
                return
        self.promotion = None

    def failover_status(self) -> str | None:
        if self.promotion is None:
            return None
        if self.clock.now() < self.promotion.requested_at + self.timings.pending_seconds:
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
        # The user guide's --region for each: "the AWS Region where the primary DB cluster ...
        # is running" (switchover) and "where the secondary DB cluster that you want to be the
        # new primary ... is running" (failover).
        expected = target if data_loss else self.writer
        if region != expected:
            raise ServiceFault("InvalidParameterValue", f"send this request to {expected}, not {region}")
        self.promotion = Promotion(
            FAILING_OVER if data_loss else SWITCHING_OVER, self.writer, target, self.clock.now(), data_loss
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
                    "GlobalClusterIdentifier": self.identifier,
                }
            ]
        }

    def _switchover(self, region: str, params: dict) -> dict:
        return self._promote(region, params, data_loss=False)

    def _failover(self, region: str, params: dict) -> dict:
        # Without AllowDataLoss, FailoverGlobalCluster is a switchover (RDS API Reference).
        return self._promote(region, params, data_loss=bool(params.get("AllowDataLoss")))
