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

Requests are read from the query-protocol body and validated against botocore's input
shape; responses are validated against the output shape and serialized from it (moto's
shape-driven serializer), so botocore parses them exactly as AWS's.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from urllib.parse import parse_qs

import botocore.session
from botocore.awsrequest import AWSResponse
from botocore.validate import validate_parameters
from moto.core.model import ServiceModel
from moto.core.serialize import QuerySerializer

from checks.drill.clock import SimClock
from checks.drill.network import Network, RawBody, answered

_BOTOCORE_RDS = botocore.session.get_session().get_service_model("rds")
_MOTO_RDS = ServiceModel(_BOTOCORE_RDS._service_description)
PENDING, FAILING_OVER, SWITCHING_OVER = "pending", "failing-over", "switching-over"
CONNECTED, PENDING_RESYNC = "connected", "pending-resync"


class FakeModelGap(Exception):
    """The runbook called something this fake does not model: the drill must not guess."""


class RdsFault(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


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
        events.register_first("before-send.rds", self.handle, unique_id="drill-aurora")

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
            raise RdsFault("GlobalClusterNotFoundFault", f"{params['GlobalClusterIdentifier']} not found")
        target = self.region_of_cluster(params["TargetDbClusterIdentifier"])
        if target is None:
            raise RdsFault("DBClusterNotFoundFault", f"{params['TargetDbClusterIdentifier']} is not a member")
        if self.promotion is not None:
            raise RdsFault("InvalidGlobalClusterStateFault", f"a {self.promotion.kind} is already in progress")
        if target == self.writer:
            raise RdsFault("InvalidGlobalClusterStateFault", "the target is already the primary cluster")
        if not data_loss and self.writer in self.network.dead_regions:
            raise RdsFault("InvalidGlobalClusterStateFault", "switchover needs a healthy primary cluster")
        # The user guide's --region for each: "the AWS Region where the primary DB cluster ...
        # is running" (switchover) and "where the secondary DB cluster that you want to be the
        # new primary ... is running" (failover).
        expected = target if data_loss else self.writer
        if region != expected:
            raise RdsFault("InvalidParameterValue", f"send this request to {expected}, not {region}")
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
            raise RdsFault("GlobalClusterNotFoundFault", f"{wanted} not found")
        return {"GlobalClusters": [self._global_cluster()]}

    def _describe_db_clusters(self, region: str, params: dict) -> dict:
        # A cluster is seen only through its own region's endpoint.
        if region not in self.clusters or self.region_of_cluster(params.get("DBClusterIdentifier", "")) != region:
            raise RdsFault("DBClusterNotFoundFault", f"{params.get('DBClusterIdentifier')} not found in {region}")
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

    _OPERATIONS = {
        "DescribeGlobalClusters": _describe_global_clusters,
        "DescribeDBClusters": _describe_db_clusters,
        "SwitchoverGlobalCluster": _switchover,
        "FailoverGlobalCluster": _failover,
    }

    def handle(self, request, **_):
        fields = {key: values[0] for key, values in parse_qs(request.body.decode() if isinstance(request.body, bytes) else request.body).items()}
        operation_name = fields.pop("Action")
        fields.pop("Version", None)
        if operation_name not in self._OPERATIONS:
            raise FakeModelGap(f"the Aurora fake does not model rds:{operation_name}")
        operation = _BOTOCORE_RDS.operation_model(operation_name)
        params = _typed(fields, operation.input_shape)
        validate_parameters(params, operation.input_shape)
        region = self.network.region_of(request.url)
        answered(request)
        self.settle()
        serializer = QuerySerializer(_MOTO_RDS.operation_model(operation_name))
        try:
            result = self._OPERATIONS[operation_name](self, region, params)
        except RdsFault as fault:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the fault codes are in the model, the class is not
                response = serializer.serialize(fault)
        else:
            validate_parameters(result, operation.output_shape)
            response = serializer.serialize(result)
        return AWSResponse(request.url, response["status_code"], response["headers"], RawBody(response["body"].encode()))


def _typed(fields: dict[str, str], shape) -> dict:
    """Query-protocol strings back to the input shape's types; an unknown field is a model error."""
    params = {}
    for name, value in fields.items():
        if name not in shape.members:
            raise FakeModelGap(f"{shape.name} has no member {name}")
        member = shape.members[name]
        if member.type_name == "boolean":
            params[name] = value == "true"
        elif member.type_name == "string":
            params[name] = value
        else:
            raise FakeModelGap(f"the Aurora fake reads no {member.type_name} field ({name})")
    return params
