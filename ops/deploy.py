"""``build.py deploy``: the render checked offline, the roles checked, then every stack set of the manifest in order.

The stack set that creates the artifact buckets (the bootstrap) comes first; right
after it the manifest's artifacts (the Lambda zips) go into every region's bucket,
and templates too large to send inline go into the administration region's bucket.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ops.artifacts import TemplateStore, check_built, inline, upload_artifacts
from ops.aws import Aws
from ops.errors import translates_aws_errors
from ops.operations import DEFAULT_TIMEOUT_SECONDS, Clock, StackSets
from ops.plan import gate
from ops.preflight import check_deployable
from ops.quotas import check_quotas
from ops.rendered import Rendered, StackSetSpec
from ops.roles import check_stackset_roles
from ops.stacksets import deploy_stack_set, failed_first_create


@translates_aws_errors
def deploy(
    aws: Aws,
    rendered: Rendered,
    progress: Callable[[str], None],
    clock: Clock = Clock(),
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    wait_when_busy: bool = True,
    only_region: str | None = None,
    allow_replacement: Iterable[str] = (),
) -> list[str]:
    """Deploy what ``rendered`` holds; the names of the stack sets that changed.

    ``only_region``: act on that region's stack instances only (and upload artifacts there
    and to the administration region): the way to change the DR region while the primary
    region is down, when the stack sets are administered from a third region.
    ``allow_replacement``: ``REGION:LOGICAL_ID`` of stateful resources this deploy may replace
    or delete; any other such loss in the plan stops the deploy before its first write.
    """
    artifacts = rendered.artifacts
    # Everything checkable offline, before the first AWS call.
    check_deployable(rendered)
    check_built(artifacts.build_dir, artifacts.objects)
    progress(f"plan: what each stack instance runs now (stack sets in {aws.home_region}) against {rendered.directory}")
    stack_sets = StackSets(aws, progress, clock, timeout_seconds, wait_when_busy)
    gate(stack_sets, rendered, progress, only_region, allow_replacement)  # reads only; refuses before any write
    progress(f"checking the StackSet roles (IAM, from {aws.home_region})...")
    roles = check_stackset_roles(aws, rendered)
    deployed_to = [region for region in rendered.regions if only_region in (None, region)]
    progress(f"checking the account's quotas in {', '.join(deployed_to)}...")
    check_quotas(aws, rendered, deployed_to)
    location = inline
    changed = []
    for spec in rendered.stack_sets:
        acted_on = [region for region in spec.regions if only_region in (None, region)]
        if not acted_on:
            progress(f"{spec.name}: not in {only_region}; left alone")
            continue
        parameters = {region: _parameters(stack_sets, rendered, spec, region) for region in {spec.regions[0], *acted_on}}
        first = _first_create(stack_sets, spec, parameters, acted_on)
        if first != parameters:
            # New instances are created unprotected, so a failure can roll back; once the
            # operation succeeded they are CURRENT and get their files' values.
            deploy_stack_set(stack_sets, rendered, spec, first, location, roles, only_region)
            progress(f"{spec.name}: created; now applying {', '.join(sorted(spec.first_create_parameters))} as rendered")
        if deploy_stack_set(stack_sets, rendered, spec, parameters, location, roles, only_region) or first != parameters:
            changed.append(spec.name)
        if spec.name == artifacts.created_by:
            buckets = {
                region: artifacts.bucket(stack_sets.account, region)
                for region in spec.regions
                if region in acted_on or region == aws.home_region
            }
            upload_artifacts(aws, buckets, artifacts.build_dir, artifacts.objects, progress)
            location = TemplateStore(aws, buckets[aws.home_region]).location
    progress(f"deployed: {', '.join(changed)} changed" if changed else "nothing to do: every stack set is as rendered")
    return changed


def _first_create(
    stack_sets: StackSets, spec: StackSetSpec, parameters: dict[str, dict[str, str]], acted_on: list[str]
) -> dict[str, dict[str, str]]:
    """``parameters`` with the manifest's first-create values for each region acted on that has no
    stack instance yet (unchanged when there is none, or nothing to replace)."""
    if not spec.first_create_parameters:
        return parameters
    existing = stack_sets.instances(spec.name) if stack_sets.describe(spec.name) else {}
    return {
        region: {**values, **spec.first_create_parameters}
        if region in acted_on and _never_created(stack_sets, spec.name, region, existing.get(region))
        else values
        for region, values in parameters.items()
    }


def _never_created(stack_sets: StackSets, name: str, region: str, instance: dict | None) -> bool:
    """No instance, or one whose only create failed and rolled back: its retry is still a first
    create. An instance that once succeeded keeps its protection even when a later update failed."""
    return instance is None or failed_first_create(stack_sets, name, region, instance)


def _parameters(stack_sets: StackSets, rendered: Rendered, spec: StackSetSpec, region: str) -> dict[str, str]:
    """The region's file values plus those taken from other stack sets' outputs."""
    values = rendered.parameters(spec, region)
    for key, source in spec.parameters_from_outputs.items():
        values[key] = stack_sets.output(source.stack_set, source.region, source.output)
    return values
