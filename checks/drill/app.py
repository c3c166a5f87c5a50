"""The app tier as its load balancer and Route 53's health checkers see it, for drills:
``DescribeTargetHealth`` (ELBv2) and ``GetHealthCheckStatus`` (Route 53). moto's ECS starts
no tasks and its Route 53 reports every check healthy, so neither can show a DR service
that cannot serve.

A region's service has as many healthy targets as its desired count had
``task_start_seconds`` earlier (a Fargate task starts, then passes the target group's
health checks), and never more than it has now (a scale-in takes tasks out of service at
once), none while the region is dead or its app is ``broken``. Its load
balancer's Route 53 check is healthy while it has a healthy target: Route 53 counts an
endpoint healthy when more than 18% of its checkers say so, and every checker here agrees.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from checks.drill.clock import SimClock
from checks.drill.fake import ModelledFake, ServiceFault
from checks.drill.network import Network

CHECKERS = 3


@dataclass
class AppTier:
    clock: SimClock
    network: Network
    task_start_seconds: float
    target_groups: dict[str, str]  # region -> target group ARN
    health_checks: dict[str, tuple[str, str]]  # health check id -> (region of its load balancer, Name tag)
    desired_history: Callable[[str], list[tuple[float, int]]]  # region -> (since, desired count), in order
    broken: set[str] = field(default_factory=set)

    def register(self, events) -> None:
        ModelledFake("elbv2", self.network, {"DescribeTargetHealth": self._describe_target_health}).register(events)
        ModelledFake("route53", self.network, {
            "GetHealthCheckStatus": self._get_health_check_status,
            "ListHealthChecks": self._list_health_checks,
            "ListTagsForResource": self._list_tags_for_resource,
        }).register(events)

    def healthy_targets(self, region: str) -> int:
        if region in self.broken or region in self.network.dead_regions:
            return 0
        history = self.desired_history(region)
        started_by = self.clock.now() - self.task_start_seconds
        counts = [count for since, count in history if since <= started_by]
        return min(counts[-1], history[-1][1]) if counts else 0

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
        serving = self.healthy_targets(self.health_checks[params["HealthCheckId"]][0]) > 0
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

    def _list_tags_for_resource(self, region: str, params: dict) -> dict:
        if params["ResourceId"] not in self.health_checks:
            raise ServiceFault("NoSuchHealthCheck", f"no health check {params['ResourceId']}")
        name = self.health_checks[params["ResourceId"]][1]
        return {"ResourceTagSet": {"ResourceType": "healthcheck", "ResourceId": params["ResourceId"], "Tags": [{"Key": "Name", "Value": name}]}}
