"""CloudWatch as the runbook meets it, for drills: a ``PutMetricData`` is answered at once but
becomes readable by ``GetMetricData`` only ``metric_visible_seconds`` later (AWS gives no
read-after-write bound: ``unknowns.py``), and Route 53 publishes the PRIMARY record's
health-check status (``AWS/Route53`` ``HealthCheckStatus``, 1 healthy, 0 not) in its metrics
region every minute, ``route53_status_lag_seconds`` behind what it follows: the primary's
load balancer AND the failover switch released.

The points land in moto's CloudWatch (which aggregates them) when they become readable, so
every reader, the runbook's and the readiness checks', sees the same delayed data. The
request is read back from the wire and validated against botocore's input shape.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone

import botocore.session
from botocore.awsrequest import AWSResponse
from botocore.validate import validate_parameters

from checks.drill.app import AppTier
from checks.drill.clock import SimClock
from checks.drill.network import Network, RawBody, answered
from checks.drill.unknowns import World

PERIOD_SECONDS = 60
_PUT = botocore.session.get_session().get_service_model("cloudwatch").operation_model("PutMetricData")


@dataclass
class Published:
    region: str
    namespace: str
    datum: dict
    at: float
    readable_at: float
    landed: bool = False


@dataclass
class Metrics:
    clock: SimClock
    network: Network
    world: World
    app: AppTier
    admin_client: object  # (service, region) -> a client outside the drill's hooks
    primary_region: str
    dr_region: str
    metrics_region: str
    primary_check_id: str
    switch: dict  # namespace, metric, throw_value (templates/dns.py timing()["switch"])
    published: list[Published] = field(default_factory=list)
    _landed: int = 0
    _route53_minutes: float | None = None

    def register(self, events) -> None:
        # The generic event, after the network's faults (see fake.ModelledFake.register).
        events.register_first("before-send", self.handle, unique_id="drill-cloudwatch")

    def handle(self, request, event_name: str, **_):
        if event_name.split(".")[1] != "cloudwatch" or getattr(request, "drill_answered", False):
            return None  # another service's, or a fault answered it: AWS never saw it
        self.land()
        if event_name.rsplit(".", 1)[1] != "PutMetricData":
            return None  # moto answers from what has landed
        params = json.loads(request.body)
        for datum in params["MetricData"]:
            datum["Timestamp"] = datetime.fromtimestamp(datum.get("Timestamp", self.clock.now()), timezone.utc)
        validate_parameters(params, _PUT.input_shape)
        region = self.network.region_of(request.url)
        now = self.clock.now()
        self.published += [Published(region, params["Namespace"], d, now, now + self.world.metric_visible_seconds) for d in params["MetricData"]]
        answered(request)
        return AWSResponse(request.url, 200, {"x-amzn-RequestId": "drill", "Content-Type": "application/x-amz-json-1.0"}, RawBody(b"{}"))

    def land(self) -> None:
        """Move what has become readable into moto, and Route 53's status minutes so far."""
        now = self.clock.now()
        for item in self.published:
            if item.readable_at <= now and not item.landed:
                self.admin_client("cloudwatch", item.region).put_metric_data(Namespace=item.namespace, MetricData=[item.datum])
                item.landed = True
        self._publish_route53_minutes(now)

    def switch_thrown(self, at: float) -> bool:
        """The switch alarm's view at ``at``: the newest readable period's maximum, else released."""
        readable = [p for p in self.published if p.region == self.dr_region and p.namespace == self.switch["namespace"]
                    and p.datum["MetricName"] == self.switch["metric"] and p.readable_at <= at]
        if not readable:
            return False
        newest = max(p.datum["Timestamp"].timestamp() // PERIOD_SECONDS for p in readable)
        values = [p.datum["Value"] for p in readable if p.datum["Timestamp"].timestamp() // PERIOD_SECONDS == newest]
        return max(values) >= self.switch["throw_value"]

    def primary_record_healthy(self, at: float) -> bool:
        """Route 53's calculated PRIMARY check, as of ``at`` (its own lag applied)."""
        seen = at - self.world.route53_status_lag_seconds
        return self.app.healthy_targets(self.primary_region, seen) > 0 and not self.switch_thrown(seen)

    def answer(self, at: float | None = None) -> str:
        """The region Route 53 answers with: PRIMARY while its check is healthy, else SECONDARY
        while the DR load balancer is, else PRIMARY anyway (both unhealthy)."""
        at = self.clock.now() if at is None else at
        if self.primary_record_healthy(at):
            return self.primary_region
        seen = at - self.world.route53_status_lag_seconds
        return self.dr_region if self.app.healthy_targets(self.dr_region, seen) > 0 else self.primary_region

    def _publish_route53_minutes(self, now: float) -> None:
        if self.metrics_region in self.network.dead_regions:
            return
        last_complete = now // PERIOD_SECONDS * PERIOD_SECONDS - PERIOD_SECONDS
        minute = last_complete - 10 * PERIOD_SECONDS if self._route53_minutes is None else self._route53_minutes + PERIOD_SECONDS
        data = []
        while minute <= last_complete:
            healthy = all(self.primary_record_healthy(minute + s) for s in (0, PERIOD_SECONDS - 1))
            data.append({
                "MetricName": "HealthCheckStatus", "Dimensions": [{"Name": "HealthCheckId", "Value": self.primary_check_id}],
                "Timestamp": datetime.fromtimestamp(minute, timezone.utc), "Value": float(healthy),
            })
            self._route53_minutes = minute
            minute += PERIOD_SECONDS
        if data:
            self.admin_client("cloudwatch", self.metrics_region).put_metric_data(Namespace="AWS/Route53", MetricData=data)
