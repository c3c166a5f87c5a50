"""Create or update one stack set and its instances so they match what was rendered.

Stack-set-level parameters take the first region's values; every instance also gets
its region's complete ``ParameterOverrides``, so no instance depends on them. Because
overrides apply to all regions of one operation, a stack set with parameters is
deployed one region per operation, in the manifest's order (primary first), each
operation waited for before the next starts.

A changed template or stack-set parameters go out with ``UpdateStackSet`` to the
first region only; that marks the other instances OUTDATED, and each is then updated
with its own overrides in the same step as the new template. So no region ever runs a
template with another region's values for a new parameter.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ops.errors import OpsError
from ops.operations import STUCK_STATUSES, StackSets, parameter_list, parameter_values, stuck_stack_help
from ops.rendered import Rendered, StackSetSpec

Location = Callable[[str, dict[str, Any]], dict[str, str]]


@dataclass(frozen=True)
class Roles:
    """How CloudFormation runs this project's stack sets (self-managed permissions)."""

    administration_arn: str
    execution_name: str


def deploy_stack_set(
    stack_sets: StackSets,
    rendered: Rendered,
    spec: StackSetSpec,
    parameters: Mapping[str, dict[str, str]],
    location: Location,
    roles: Roles,
    only_region: str | None = None,
) -> bool:
    """Bring ``spec`` to its rendered state; False (and says so) when it already is.

    ``parameters``: each region's complete values (at least the first region's and those
    acted on); ``location`` gives TemplateBody or TemplateURL. ``only_region`` limits every
    operation to that region's instance (a change to the DR region while the primary is
    down); the others are left as they are, OUTDATED if the template changed.
    """
    name = spec.name
    template = rendered.template(spec)
    regions = [region for region in spec.regions if only_region in (None, region)]
    definition = {
        # The stack set's own values stay the first region's: every instance overrides them all.
        "Parameters": parameter_list(parameters[spec.regions[0]]),
        "Capabilities": list(spec.capabilities),
        "AdministrationRoleARN": roles.administration_arn,
        "ExecutionRoleName": roles.execution_name,
        "ManagedExecution": {"Active": True},
    }
    current = stack_sets.describe(name)
    if current is None:
        stack_sets.call(
            "create_stack_set", name, PermissionModel="SELF_MANAGED", **location(name, template), **definition
        )
        stack_sets.progress(f"{name}: stack set created")
        instances: dict[str, dict[str, Any]] = {}
        definition_changed = False
    else:
        instances = stack_sets.instances(name)
        definition_changed = (
            json.loads(current["TemplateBody"]) != template
            or parameter_values(current.get("Parameters")) != parameters[spec.regions[0]]
            or current.get("AdministrationRoleARN") != roles.administration_arn
            or current.get("ExecutionRoleName") != roles.execution_name
        )
    _recover_failed_instances(stack_sets, rendered, name, instances, regions)
    for region in sorted(set(instances) - set(spec.regions)):
        stack_sets.progress(f"{name}: the stack instance in {region} is not in the manifest; left alone")
    existing = [region for region in regions if region in instances]
    changed_overrides = (
        {region for region in existing if stack_sets.overrides(name, region) != parameters[region]}
        if spec.has_parameters
        else set()
    )
    if definition_changed and spec.has_parameters and existing and existing[0] != regions[0]:
        # The update may reach only the first region (the stack-set values are its own):
        # its instance must exist first.
        _run_on_instances(stack_sets, rendered, spec, parameters, "create_stack_instances", [regions[0]])
        existing.insert(0, regions[0])
        instances[regions[0]] = {"Status": "CURRENT"}
    if definition_changed:
        via_stack_set = existing[:1] if spec.has_parameters else existing
        targets = {"Accounts": [stack_sets.account], "Regions": via_stack_set} if via_stack_set else {}
        stack_sets.run(
            "update_stack_set",
            name,
            f"{name} update stack set",
            **location(name, template),
            **definition,
            **targets,
            OperationPreferences=rendered.preferences(via_stack_set or regions),
        )
        # Every other instance is now OUTDATED; the updated ones kept their old overrides.
        outdated = (set(existing) - set(via_stack_set)) | (changed_overrides & set(via_stack_set))
    else:
        outdated = {region for region in existing if instances[region]["Status"] != "CURRENT"} | changed_overrides

    plan = [
        ("create_stack_instances" if region not in instances else "update_stack_instances", region)
        for region in regions
        if region not in instances or region in outdated
    ]
    if not (definition_changed or plan):
        stack_sets.progress(f"{name}: unchanged (template, parameters and {len(existing)} instance(s)); nothing to do")
        return False
    for method, batch in _batches(spec, plan):
        _run_on_instances(stack_sets, rendered, spec, parameters, method, batch)
    return True


def failed_first_create(stack_sets: StackSets, name: str, region: str, instance: Mapping[str, Any]) -> bool:
    """An instance whose only create failed and rolled back: its stack ROLLBACK_COMPLETE, or none."""
    failed = _failed_stack(stack_sets, name, region, instance)
    return failed is not None and failed[1] in (None, "ROLLBACK_COMPLETE")


def _failed_stack(stack_sets: StackSets, name: str, region: str, instance: Mapping[str, Any]) -> tuple | None:
    """(stack id, status) behind an instance whose last operation failed, (None, None) when it has
    no stack; None when its last operation did not fail."""
    if instance.get("StackInstanceStatus", {}).get("DetailedStatus") != "FAILED":
        return None
    return stack_sets.stack_status(name, region) or (None, None)


def _recover_failed_instances(
    stack_sets: StackSets, rendered: Rendered, name: str, instances: dict[str, dict[str, Any]], regions: list[str]
) -> None:
    """Instances whose last operation failed, before anything is sent.

    A stack left ROLLBACK_FAILED (or DELETE_FAILED) takes no StackSets operation: say so, and how
    to recover. A stack left ROLLBACK_COMPLETE takes no update either: "This status exists only
    after a failed stack creation ... When in this state, only a delete operation can be performed"
    ("Stack status codes", https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/view-stack-events.html).
    Such an instance is deleted with its stack (which holds nothing: the create rolled back),
    and the plan then creates it again, still a first create."""
    failed = {
        region: found
        for region in regions
        if region in instances and (found := _failed_stack(stack_sets, name, region, instances[region]))
    }
    for region, (stack_id, status) in failed.items():
        if status in STUCK_STATUSES:
            raise OpsError(
                f"{name}: the stack instance in {region} cannot be deployed: its stack is {status}",
                details=stuck_stack_help(name, stack_sets.account, region, stack_sets.aws.home_region, stack_id, status),
            )
    for region, (_, status) in failed.items():
        if status not in (None, "ROLLBACK_COMPLETE"):
            continue
        stack_sets.progress(f"{name}: the stack instance in {region} never got past its first create; deleting it to create it again")
        stack_sets.run(
            "delete_stack_instances",
            name,
            f"{name} delete {region}",
            Accounts=[stack_sets.account],
            Regions=[region],
            RetainStacks=False,
            OperationPreferences=rendered.preferences([region]),
        )
        del instances[region]


def _run_on_instances(
    stack_sets: StackSets,
    rendered: Rendered,
    spec: StackSetSpec,
    parameters: Mapping[str, dict[str, str]],
    method: str,
    regions: list[str],
) -> None:
    """Create or update the instances in ``regions`` (which share their values) in one operation."""
    overrides = {"ParameterOverrides": parameter_list(parameters[regions[0]])} if spec.has_parameters else {}
    stack_sets.run(
        method,
        spec.name,
        f"{spec.name} {method.split('_')[0]} {', '.join(regions)}",
        Accounts=[stack_sets.account],
        Regions=regions,
        OperationPreferences=rendered.preferences(regions),
        **overrides,
    )


def _batches(spec: StackSetSpec, plan: list[tuple[str, str]]) -> list[tuple[str, list[str]]]:
    """Operations in region order: one per region when each has its own values, else
    consecutive regions with the same method share one."""
    batches: list[tuple[str, list[str]]] = []
    for method, region in plan:
        if batches and not spec.has_parameters and batches[-1][0] == method:
            batches[-1][1].append(region)
        else:
            batches.append((method, [region]))
    return batches
