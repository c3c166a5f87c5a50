"""``build.py destroy``: stack instances, then stack sets, in reverse deployment order.

Refused while a database the templates create has deletion protection on: that flag is
the configuration's statement that the data must outlive the stacks, so it is turned off
by configuration and a deploy, never here (for a stack left ROLLBACK_FAILED, which no deploy
can update, the refusal gives the RDS command instead). The plan names such stacks. Instances go in reverse region order, the DR
region first: its secondary cluster must leave the global database before the primary
can delete it. Resources with a Retain or Snapshot deletion policy stay behind, listed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from ops.aws import Aws
from ops.errors import EXIT_PROBLEM, OpsError, error_code, translates_aws_errors
from ops.operations import DEFAULT_TIMEOUT_SECONDS, STUCK_STATUSES, Clock, StackSets
from ops.rendered import Rendered, StackSetSpec, physical_name

Confirm = Callable[[str, str], bool]  # (what will be deleted, the answer that confirms) -> confirmed
KEPT_BY_POLICY = {"Retain", "RetainExceptOnCreate", "Snapshot"}
NOT_FOUND = {"DBClusterNotFoundFault", "GlobalClusterNotFoundFault"}


def typed_confirmation(ask: Callable[[str], str] = input, show: Callable[[str], None] = print) -> Confirm:
    """A confirmation that shows the plan and wants the account id typed back."""

    def confirm(plan: str, answer: str) -> bool:
        show(plan)
        try:
            return ask(f"Type the account id ({answer}) to delete all of this: ").strip() == answer
        except EOFError:  # no terminal: never confirmed
            return False

    return confirm


@translates_aws_errors
def destroy(
    aws: Aws,
    rendered: Rendered,
    confirm: Confirm,
    progress: Callable[[str], None],
    clock: Clock = Clock(),
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
) -> None:
    stack_sets = StackSets(aws, progress, clock, timeout_seconds)
    deployed = [
        (spec, stack_sets.instances(spec.name)) for spec in rendered.stack_sets if stack_sets.describe(spec.name)
    ]
    if not deployed:
        progress("nothing to destroy: none of the stack sets exists")
        return
    stuck = {spec.name: _stuck_stacks(stack_sets, spec, instances) for spec, instances in deployed}
    protected = [
        line
        for spec, instances in deployed
        for line in _protected_databases(aws, rendered, spec, instances, stuck[spec.name])
    ]
    if protected:
        raise OpsError(
            "refusing to destroy: deletion protection is on; set database.deletion_protection = false, "
            "'make templates' and deploy first (a stack no deploy can update: the command shown)",
            details=protected,
        )
    plan = [f"Destroy in account {stack_sets.account}:"]
    for spec, instances in reversed(deployed):
        plan.append(f"  stack set {spec.name}: instances in {', '.join(_reverse_order(spec, instances)) or 'no region'}")
        plan += [
            f"    {region}: its stack is {status} ({STUCK_STATUSES[status]}); deleting the instance deletes "
            "what is left of it"
            for region, status in stuck[spec.name].items()
        ]
    if not confirm("\n".join(plan), stack_sets.account):
        raise OpsError("destroy not confirmed; nothing was deleted", exit_status=EXIT_PROBLEM)
    for spec, instances in reversed(deployed):
        regions = _reverse_order(spec, instances)
        if regions:
            stack_sets.run(
                "delete_stack_instances",
                spec.name,
                f"{spec.name} delete {', '.join(regions)}",
                Accounts=[stack_sets.account],
                Regions=regions,
                RetainStacks=False,
                OperationPreferences=rendered.preferences(regions),
            )
        stack_sets.call("delete_stack_set", spec.name)
        progress(f"{spec.name}: stack set deleted")
        kept = _kept_resources(rendered.template(spec))
        if kept:
            progress(f"  kept by their deletion policy in {', '.join(regions)}: {', '.join(kept)}")
        for line in _object_lock_notes(rendered.template(spec)):
            progress(f"  {line}")


def _reverse_order(spec: StackSetSpec, instances: dict[str, Any]) -> list[str]:
    """Every region with an instance, the manifest's last region first, others after."""
    ordered = [region for region in reversed(spec.regions) if region in instances]
    return ordered + sorted(set(instances) - set(ordered))


def _kept_resources(template: dict[str, Any]) -> list[str]:
    return [
        f"{logical_id} ({resource['Type']}, {resource['DeletionPolicy']})"
        for logical_id, resource in template.get("Resources", {}).items()
        if resource.get("DeletionPolicy") in KEPT_BY_POLICY
    ]


def _object_lock_notes(template: dict[str, Any]) -> list[str]:
    """What a kept bucket with Object Lock means: its locked versions, so the bucket and its name,
    outlive the stacks until their retention ends ("can't be overwritten or deleted for the
    duration of the retention period" in COMPLIANCE mode; GOVERNANCE needs s3:BypassGovernanceRetention),
    S3 user guide, Object Lock retention modes, https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html)."""
    notes = []
    for logical_id, resource in template.get("Resources", {}).items():
        props = resource.get("Properties", {})
        if resource.get("DeletionPolicy") not in KEPT_BY_POLICY or not props.get("ObjectLockEnabled"):
            continue
        retention = props.get("ObjectLockConfiguration", {}).get("Rule", {}).get("DefaultRetention", {})
        mode, days = retention.get("Mode", "no default"), retention.get("Days", "?")
        who = "nobody, not even the account's root user," if mode == "COMPLIANCE" else "only principals with s3:BypassGovernanceRetention"
        notes.append(
            f"{logical_id} has Object Lock on ({mode}, {days} days): {who} can delete a report version before its "
            "retention ends, so the bucket cannot be deleted and its name stays taken until then; a redeploy in that "
            "region cannot create it (docs/reports.md: After destroy)"
        )
    return notes


def _stuck_stacks(stack_sets: StackSets, spec: StackSetSpec, instances: dict[str, Any]) -> dict[str, str]:
    """Region -> status of each instance whose last operation failed and left its stack in a
    state no stack set update can change (ROLLBACK_FAILED after a failed first create)."""
    stuck = {}
    for region, instance in instances.items():
        if instance.get("StackInstanceStatus", {}).get("DetailedStatus") == "FAILED":
            found = stack_sets.stack_status(spec.name, region)
            if found and found[1] in STUCK_STATUSES:
                stuck[region] = found[1]
    return stuck


def _protected_databases(
    aws: Aws, rendered: Rendered, spec: StackSetSpec, instances: dict[str, Any], stuck: dict[str, str]
) -> list[str]:
    """Each database of the template with deletion protection on, in any region it is deployed to;
    where the stack is stuck (a deploy cannot turn the protection off), the command that can."""
    found = []
    for logical_id, resource in rendered.template(spec).get("Resources", {}).items():
        if resource.get("Type") == "AWS::RDS::DBCluster":
            for region in instances:
                identifier = _name(resource, "DBClusterIdentifier", logical_id, aws, region)
                rds = aws.client("rds", region)
                if _protected(lambda: rds.describe_db_clusters(DBClusterIdentifier=identifier)["DBClusters"]):
                    command = (
                        f": its stack is {stuck[region]}, so: aws rds modify-db-cluster --region {region} "
                        f"--db-cluster-identifier {identifier} --no-deletion-protection"
                        if region in stuck
                        else ""
                    )
                    found.append(f"DB cluster {identifier} in {region}{command}")
        elif resource.get("Type") == "AWS::RDS::GlobalCluster" and instances:
            identifier = _name(resource, "GlobalClusterIdentifier", logical_id, aws, aws.home_region)
            rds = aws.client("rds")
            if _protected(lambda: rds.describe_global_clusters(GlobalClusterIdentifier=identifier)["GlobalClusters"]):
                # The primary instance creates it: when that stack is stuck, no deploy can change it.
                command = (
                    f": its stack is {stuck[spec.regions[0]]}, so: aws rds modify-global-cluster "
                    f"--global-cluster-identifier {identifier} --no-deletion-protection"
                    if spec.regions[0] in stuck
                    else ""
                )
                found.append(f"global cluster {identifier}{command}")
    return found


def _protected(describe: Callable[[], list[dict[str, Any]]]) -> bool:
    try:
        return any(cluster.get("DeletionProtection") for cluster in describe())
    except ClientError as exc:
        if error_code(exc) in NOT_FOUND:
            return False
        raise


def _name(resource: dict[str, Any], name_property: str, logical_id: str, aws: Aws, region: str) -> str:
    """The resource's physical name as the template spells it for ``region`` (names are deterministic)."""
    identity = aws.identity
    name = physical_name(resource.get("Properties", {}).get(name_property), region, identity.account, identity.partition)
    if name is not None:
        return name
    raise OpsError(
        f"refusing to destroy: cannot tell the name of {logical_id} from the template, so cannot check its "
        "deletion protection"
    )
