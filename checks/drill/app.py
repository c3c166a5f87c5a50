"""The app tier as its load balancer, ECS and Route 53's health checkers see it, for drills:
``DescribeTargetHealth`` (ELBv2), the running count of ``DescribeServices`` (ECS), and
``GetHealthCheckStatus``, ``ListHealthChecks``, ``ListTagsForResources`` (Route 53). moto's
ECS starts no tasks and its Route 53 reports every check healthy, so neither can show a DR
service that cannot serve.

A region's service has as many healthy targets as its desired count had ``task_start_seconds``
earlier (a Fargate task starts, then passes the target group's health checks), and never more
than it has now (a scale-in deregisters targets at once). A task taken out keeps running,
and taking writes, for ``drain_seconds`` (the deregistration delay, then the stop timeout):
the running count ECS reports. None of either while the region is dead or its app is
``broken``. Route 53's checkers see a load balancer ``route53_status_lag_seconds`` late (the
world draws both: ``unknowns.py``); a load balancer is healthy to Route 53 while it has a
healthy target (more than 18% of checkers agree, and every checker here agrees).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from checks.drill.clock import SimClock
from checks.drill.fake import ModelledFake, ServiceFault
from checks.drill.network import Network
from checks.drill.unknowns import World

CHECKERS = 3
TAGS_PER_CALL = 10


@dataclass
class AppTier:
    clock: SimClock
    network: Network
    world: World
    target_groups: dict[str, str]  # region -> target group ARN
    health_checks: dict[str, tuple[str, str]]  # health check id -> (region of its load balancer, Name tag)
    desired_history: Callable[[str], list[tuple[float, int]]]  # region -> (since, desired count), in order
    broken: set[str] = field(default_factory=set)
    task_start_seconds: float | None = None  # a scenario's own; else the world's

    def register(self, events) -> None:
        ModelledFake("elbv2", self.network, {"DescribeTargetHealth": self._describe_target_health}).register(events)
        ModelledFake("route53", self.network, {
            "GetHealthCheckStatus": self._get_health_check_status,
            "ListHealthChecks": self._list_health_checks,
            "ListTagsForResources": self._list_tags_for_resources,
        }).register(events)
        events.register("after-call.ecs.DescribeServices", self._running_count, unique_id="drill-ecs-running")

    @property
    def start_seconds(self) -> float:
        return self.world.task_start_seconds if self.task_start_seconds is None else self.task_start_seconds

    def _desired_at(self, region: str, at: float) -> int:
        counts = [count for since, count in self.desired_history(region) if since <= at]
        return counts[-1] if counts else 0

    def healthy_targets(self, region: str, at: float | None = None) -> int:
        at = self.clock.now() if at is None else at
        if region in self.broken or region in self.network.dead_regions:
            return 0
        return min(self._desired_at(region, at - self.start_seconds), self._desired_at(region, at))

    def running_tasks(self, region: str, at: float | None = None) -> int:
        """Tasks in service plus tasks taken out less than ``drain_seconds`` ago."""
        at = self.clock.now() if at is None else at
        if region in self.network.dead_regions:
            return 0
        running = min(self._desired_at(region, at - self.start_seconds), self._desired_at(region, at))
        history = self.desired_history(region)
        for (_, before), (since, after) in zip(history, history[1:]):
            if after < before and since <= at < since + self.world.drain_seconds:
                running = max(running, before)
        return running

    def serving_seen_by_route53(self, region: str) -> bool:
        return self.healthy_targets(region, self.clock.now() - self.world.route53_status_lag_seconds) > 0

    def _running_count(self, parsed, **_):
        for service in parsed.get("services", []):
            region = service["serviceArn"].split(":")[3]
            service["runningCount"] = self.running_tasks(region)

    def _describe_target_health(self, region: str, params: dict) -> dict:
        if self.target_groups.get(region) != params["TargetGroupArn"]:
            raise ServiceFault("TargetGroupNotFound", f"{params['TargetGroupArn']} is not in {region}")
        healthy = self.healthy_targets(region)
        starting = max(0, self.desired_history(region)[-1][1] - healthy)
        return {
            "TargetHealthDescriptions": [
                {"Target": {"Id": f"task-{n}", "Port": 8080}, "TargetHealth": {"State": "healthy" if n < healthy else "initial"}}
                for n in range(healthy + starting)
            ]
        }

    def _get_health_check_status(self, region: str, params: dict) -> dict:
        if params["HealthCheckId"] not in self.health_checks:
            raise ServiceFault("NoSuchHealthCheck", f"no health check {params['HealthCheckId']}")
        serving = self.serving_seen_by_route53(self.health_checks[params["HealthCheckId"]][0])
        status = "Success: HTTP Status Code 200, OK" if serving else "Failure: Connection timed out."
        report = {"Status": status, "CheckedTime": self.clock.datetime()}
        return {"HealthCheckObservations": [{"IPAddress": f"192.0.2.{n}", "StatusReport": report} for n in range(CHECKERS)]}

    def _list_health_checks(self, region: str, params: dict) -> dict:
        checks = [
            {"Id": check, "CallerReference": check, "HealthCheckVersion": 1,
             "HealthCheckConfig": {"Type": "HTTPS", "Port": 443, "ResourcePath": "/health"}}
            for check in self.health_checks
        ]
        return {"HealthChecks": checks, "Marker": params.get("Marker", ""), "IsTruncated": False, "MaxItems": "100"}

    def _list_tags_for_resources(self, region: str, params: dict) -> dict:
        ids = params["ResourceIds"]
        if len(ids) > TAGS_PER_CALL:
            raise ServiceFault("InvalidInput", f"at most {TAGS_PER_CALL} resource ids, not {len(ids)}")
        missing = [i for i in ids if i not in self.health_checks]
        if missing:
            raise ServiceFault("NoSuchHealthCheck", f"no health check {missing[0]}")
        return {"ResourceTagSets": [
            {"ResourceType": "healthcheck", "ResourceId": i, "Tags": [{"Key": "Name", "Value": self.health_checks[i][1]}]} for i in ids
        ]}
