"""``build.py drift``: stack set drift detection, drifted resources printed per region.

After a database failover or switchover the global database's writer has moved, and
CloudFormation reports the clusters' global-database membership and credentials as
drifted: the template says which region writes, the database says otherwise. That is
expected, not a change to revert (a deploy would not touch it anyway: CloudFormation
compares templates, not live resources), so it is shown and explained, never hidden.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ops.aws import Aws
from ops.errors import translates_aws_errors
from ops.operations import DEFAULT_TIMEOUT_SECONDS, Clock, StackSets
from ops.rendered import Rendered

# Properties (top level) that drift when the writer moves between regions.
FAILOVER_PROPERTIES = {
    "AWS::RDS::DBCluster": {
        "GlobalClusterIdentifier",
        "MasterUsername",
        "MasterUserPassword",
        "ReplicationSourceIdentifier",
        "DatabaseName",
    },
    "AWS::RDS::GlobalCluster": {"SourceDBClusterIdentifier"},
}
FAILOVER_EXPLANATION = (
    "expected after a database failover or switchover: the writer moved to the other region, so this "
    "cluster's global-database role and credentials differ from its template; nothing to fix"
)


@dataclass(frozen=True)
class Difference:
    path: str
    expected: str
    actual: str
    kind: str
    after_failover: bool


@dataclass(frozen=True)
class DriftedResource:
    stack_set: str
    region: str
    logical_id: str
    resource_type: str
    status: str
    differences: tuple[Difference, ...]

    @property
    def explained(self) -> bool:
        """Only failover's known differences (a deleted resource is never explained)."""
        return bool(self.differences) and all(difference.after_failover for difference in self.differences)


@dataclass(frozen=True)
class DriftReport:
    resources: tuple[DriftedResource, ...]

    @property
    def unexplained(self) -> list[DriftedResource]:
        return [resource for resource in self.resources if not resource.explained]


@translates_aws_errors
def detect_drift(
    aws: Aws,
    rendered: Rendered,
    progress: Callable[[str], None],
    clock: Clock = Clock(),
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
) -> DriftReport:
    stack_sets = StackSets(aws, progress, clock, timeout_seconds)
    found: list[DriftedResource] = []
    for spec in rendered.stack_sets:
        if stack_sets.describe(spec.name) is None:
            progress(f"{spec.name}: not deployed; skipped")
            continue
        stack_sets.run(
            "detect_stack_set_drift",
            spec.name,
            f"{spec.name} drift detection",
            OperationPreferences=rendered.preferences(list(spec.regions)),
        )
        for region, instance in stack_sets.instances(spec.name).items():
            status = instance.get("DriftStatus", "UNKNOWN")
            progress(f"{spec.name} {region}: {status}")
            if status == "DRIFTED":
                found += _drifted_resources(aws, spec.name, region, instance["StackId"], progress)
    report = DriftReport(tuple(found))
    if report.resources and not report.unexplained:
        progress("all drift found is explained by a database failover")
    return report


def _drifted_resources(aws: Aws, stack_set: str, region: str, stack_id: str, progress) -> list[DriftedResource]:
    cloudformation = aws.client("cloudformation", region)
    request = {"StackName": stack_id, "StackResourceDriftStatusFilters": ["MODIFIED", "DELETED"]}
    drifts = []
    while True:  # no paginator for this call
        page = cloudformation.describe_stack_resource_drifts(**request)
        drifts += page["StackResourceDrifts"]
        if not page.get("NextToken"):
            break
        request["NextToken"] = page["NextToken"]
    resources = []
    for drift in drifts:
        known = FAILOVER_PROPERTIES.get(drift["ResourceType"], set())
        differences = tuple(
            Difference(
                path=difference["PropertyPath"],
                expected=difference.get("ExpectedValue", ""),
                actual=difference.get("ActualValue", ""),
                kind=difference["DifferenceType"],
                after_failover=difference["PropertyPath"].split("/")[1] in known,
            )
            for difference in drift.get("PropertyDifferences", [])
        )
        resource = DriftedResource(
            stack_set,
            region,
            drift["LogicalResourceId"],
            drift["ResourceType"],
            drift["StackResourceDriftStatus"],
            differences,
        )
        progress(f"  {resource.logical_id} ({resource.resource_type}): {resource.status}")
        for difference in differences:
            explanation = f" ({FAILOVER_EXPLANATION})" if difference.after_failover else ""
            progress(
                f"    {difference.path} {difference.kind}: "
                f"expected {difference.expected!r}, actual {difference.actual!r}{explanation}"
            )
        resources.append(resource)
    return resources
