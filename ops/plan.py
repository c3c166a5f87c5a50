"""``build.py plan``: what a deploy would change, per stack set and region, before anything is written.

StackSets have no change sets, so both sides are resolved offline for each region (its
parameters, conditions and pseudo-parameters, through cloud-radar as the tests do) and
compared resource by resource. A modification is a replacement when it touches a path the
resource provider schema (shipped with cfn-lint) lists in ``createOnlyProperties``, or one
of the few AWS documents as "Update requires: Replacement" without the schema saying so
(``REPLACEMENT_EXTRAS``); a resource whose logical id or ``Condition`` takes it out of the
template is deleted. Stateful resources replaced or deleted make the plan fail (exit 1).

The other side is another render on disk (``--against DIR``, offline), or what each stack
instance runs now: the stack set's template and this instance's parameter values (the stack
set's, with the instance's overrides on top), read with ``DescribeStackSet`` and
``DescribeStackInstance`` in the administration region.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ops.errors import EXIT_BAD_INPUT, EXIT_PROBLEM, OpsError
from ops.rendered import Rendered, StackSetSpec
from templates.config import region_partition, route53_metrics_region
from templates.regions import CREATES_DATABASE_PARAMETER

# What holds data (or the keys to it): replacing or deleting one of these loses it.
STATEFUL_TYPES = frozenset(
    {
        "AWS::RDS::GlobalCluster",
        "AWS::RDS::DBCluster",
        "AWS::RDS::DBInstance",
        "AWS::SecretsManager::Secret",
        "AWS::KMS::Key",
        "AWS::DynamoDB::Table",
        "AWS::S3::Bucket",
        "AWS::Logs::LogGroup",
    }
)

# Paths AWS documents as "Update requires: Replacement" that the provider schema cfn-lint
# ships does not list in createOnlyProperties.
REPLACEMENT_EXTRAS: Mapping[str, tuple[str, ...]] = {
    # AWS::RDS::DBCluster - AWS CloudFormation, MasterUsername, "Update requires: Replacement"
    # (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-rds-dbcluster.html);
    # RDS's ModifyDBCluster has no MasterUsername parameter, so there is no in-place change
    # (https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_ModifyDBCluster.html).
    "AWS::RDS::DBCluster": ("/properties/MasterUsername",),
    # AWS::S3::Bucket, ObjectLockEnabled: "Update requires: Replacement" (AWS CloudFormation User
    # Guide, archived, https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-s3-bucket.html);
    # a change set still shows it "requiresRecreation": "Always" although S3 now enables Object Lock
    # on existing buckets ("Enabling ObjectLock on an existing bucket is now supported",
    # https://github.com/aws-cloudformation/cloudformation-coverage-roadmap/issues/1929). The report
    # bucket has a fixed name, so CloudFormation cannot create its replacement: the update fails.
    "AWS::S3::Bucket": ("/properties/ObjectLockEnabled",),
}

CREATES_DATABASE_HINT = (
    "CreatesGlobalDatabase changes here: if the regions' roles were swapped, set database.created_in to the "
    "region that created the global database (docs/operating.md: After a lost primary)"
)
PARAMETER_CONSTRAINTS = ("AllowedPattern", "AllowedValues", "MinLength", "MaxLength", "MinValue", "MaxValue")
ADDED, REMOVED, MODIFIED, REPLACED = "add", "remove", "modify", "replace"
# Resource attributes CloudFormation compares besides Properties.
ATTRIBUTES = ("DeletionPolicy", "UpdateReplacePolicy", "DependsOn", "Metadata", "UpdatePolicy", "CreationPolicy")
# Resource types a change of which is made (partly) through another region's API, so a deploy of
# one region alone (``--only-region``) during the other's outage cannot make it:
# - AWS::SNS::Subscription with ``Region``: CloudFormation subscribes through the topic's region
#   (AWS::SNS::Subscription, Region: "For cross-region subscriptions, the region in which the topic
#   resides", https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-sns-subscription.html);
# - Route 53 records and health checks: "Route 53 operates its control plane in the us-east-1
#   Region" (AWS Fault Isolation Boundaries, "Global services",
#   https://docs.aws.amazon.com/whitepapers/latest/aws-fault-isolation-boundaries/global-services.html);
#   the partition's region is the configuration's route53_metrics_region table;
# - a secret with ``ReplicaRegions``: Secrets Manager creates, updates and removes the replicas there;
# - the global cluster: its members are in the other regions of the stack set.
ROUTE53_TYPES = frozenset({"AWS::Route53::RecordSet", "AWS::Route53::HealthCheck"})


@dataclass(frozen=True)
class Change:
    logical_id: str
    resource_type: str
    action: str
    paths: tuple[str, ...] = ()
    # Why a resource is replaced or removed: the create-only paths, or what took it out.
    reasons: tuple[str, ...] = ()
    deletion_policy: str = "Delete"
    # Regions other than the plan's that this change needs (set for --only-region), and why.
    needs: tuple[str, ...] = ()
    needs_why: str = ""

    @property
    def stateful(self) -> bool:
        return self.resource_type in STATEFUL_TYPES

    @property
    def destroys(self) -> bool:
        return self.action in (REMOVED, REPLACED)


@dataclass(frozen=True)
class RegionPlan:
    stack_set: str
    region: str
    deployed: bool  # whether a stack instance runs there now (or the other render has the region)
    changes: tuple[Change, ...]
    parameters: Mapping[str, tuple[str | None, str | None]]  # name -> (now, after)
    notes: tuple[str, ...] = ()

    @property
    def dangerous(self) -> list[Change]:
        return [change for change in self.changes if change.stateful and change.destroys]

    def count(self, action: str) -> int:
        return sum(1 for change in self.changes if change.action == action)

    def summary(self) -> str:
        if not self.changes and not self.parameters:
            return f"{self.stack_set} {self.region}: nothing to do"
        counts = ", ".join(
            f"{self.count(action)} to {action}" for action in (ADDED, MODIFIED, REPLACED, REMOVED)
        )
        return (
            f"{self.stack_set} {self.region}: {counts}, {len(self.parameters)} parameter(s) changed, "
            f"{len(self.dangerous)} stateful replaced or deleted"
        )


@dataclass(frozen=True)
class Plan:
    regions: tuple[RegionPlan, ...]
    allowed: frozenset[str] = field(default_factory=frozenset)  # REGION:LOGICAL_ID accepted by the operator

    def elsewhere(self) -> list[tuple[RegionPlan, Change]]:
        """Changes that need another region (found only for ``--only-region``): during that
        region's outage a deploy of this one alone cannot make them."""
        return [(plan, change) for plan in self.regions for change in plan.changes if change.needs]

    def dangerous(self) -> list[tuple[RegionPlan, Change]]:
        return [(plan, change) for plan in self.regions for change in plan.dangerous]

    def refused(self) -> list[tuple[RegionPlan, Change]]:
        return [(plan, change) for plan, change in self.dangerous() if f"{plan.region}:{change.logical_id}" not in self.allowed]

    @property
    def exit_status(self) -> int:
        return EXIT_PROBLEM if self.refused() else 0

    def to_json(self) -> dict[str, Any]:
        return {
            "exit_status": self.exit_status,
            "stateful_replaced_or_deleted": [_danger_line(plan, change) for plan, change in self.dangerous()],
            "needs_another_region": [
                {"region": plan.region, "stack_set": plan.stack_set, "logical_id": change.logical_id,
                 "type": change.resource_type, "action": change.action, "needs": list(change.needs),
                 "why": change.needs_why, "line": _elsewhere_line(plan, change)}
                for plan, change in self.elsewhere()
            ],
            "regions": [
                {
                    "stack_set": plan.stack_set,
                    "region": plan.region,
                    "deployed": plan.deployed,
                    "summary": plan.summary(),
                    "notes": list(plan.notes),
                    "parameters": {name: {"now": now, "after": after} for name, (now, after) in plan.parameters.items()},
                    "changes": [
                        {
                            "logical_id": change.logical_id,
                            "type": change.resource_type,
                            "action": change.action,
                            "paths": list(change.paths),
                            "reasons": list(change.reasons),
                            "stateful": change.stateful,
                            "deletion_policy": change.deletion_policy,
                            "needs": list(change.needs),
                        }
                        for change in plan.changes
                    ],
                }
                for plan in self.regions
            ],
        }

    def lines(self, colour: bool = False) -> list[str]:
        """Stateful losses first and loudly, then each stack set and region with its summary."""
        paint = _painter(colour)
        out: list[str] = []
        dangerous = self.dangerous()
        if dangerous:
            out.append(paint("red", f"!! {len(dangerous)} stateful resource(s) would be REPLACED or DELETED (data lost):"))
            for plan, change in dangerous:
                allowed = " (allowed by --allow-replacement)" if (plan, change) not in self.refused() else ""
                out.append(paint("red", f"!!   {_danger_line(plan, change)}{allowed}"))
            out.append("")
        elsewhere = self.elsewhere()
        if elsewhere:
            out.append(paint("red", f"!! {len(elsewhere)} change(s) need another region, which may be down (a deploy of one region alone cannot make them then):"))
            out.extend(paint("red", f"!!   {_elsewhere_line(plan, change)}") for plan, change in elsewhere)
            out.append("")
        for plan in self.regions:
            out.append(paint("bold", f"== {plan.stack_set} in {plan.region}" + ("" if plan.deployed else " (no stack yet)")))
            out.extend(f"   note: {note}" for note in plan.notes)
            for name, (now, after) in plan.parameters.items():
                out.append(paint("yellow", f"   parameter {name}: {_shown(now)} -> {_shown(after)}"))
            for change in sorted(plan.changes, key=lambda c: (not (c.stateful and c.destroys), c.action, c.logical_id)):
                out.append(paint(_COLOURS[change.action], "   " + _change_line(change)))
            out.append(paint("bold", f"   {plan.summary()}"))
        return out


_COLOURS = {ADDED: "green", MODIFIED: "yellow", REPLACED: "red", REMOVED: "red"}
_SIGNS = {ADDED: "+", MODIFIED: "~", REPLACED: "-/+", REMOVED: "-"}
_ANSI = {"red": "\033[1;31m", "green": "\033[32m", "yellow": "\033[33m", "bold": "\033[1m"}


def _painter(colour: bool):
    return (lambda name, text: f"{_ANSI[name]}{text}\033[0m") if colour else (lambda name, text: text)


def _shown(value: str | None) -> str:
    return "(none)" if value is None else json.dumps(value)


def _change_line(change: Change) -> str:
    line = f"{_SIGNS[change.action]} {change.logical_id} {change.resource_type}"
    if change.reasons:
        line += f": {change.action}d because {', '.join(change.reasons)}".replace("removed", "deleted")
    if change.paths and change.action in (MODIFIED, REPLACED):
        line += f" [{', '.join(change.paths)}]"
    if change.stateful and change.destroys:
        line += f" (DeletionPolicy {change.deletion_policy})"
    return line


def _elsewhere_line(plan: RegionPlan, change: Change) -> str:
    return (
        f"{plan.region} {change.logical_id} {change.resource_type} ({change.action}): "
        f"needs {', '.join(change.needs)}, which may be down: {change.needs_why}"
    )


def _danger_line(plan: RegionPlan, change: Change) -> str:
    verb = "replaced" if change.action == REPLACED else "deleted"
    return f"{plan.region} {change.logical_id} {change.resource_type}: {verb} because {', '.join(change.reasons)}"


# -- resolving a side ------------------------------------------------------------------


@dataclass(frozen=True)
class Side:
    """One stack instance's template and parameter values, as deployed or as rendered."""

    template: dict[str, Any]
    parameters: dict[str, str]


class _Symbolic(dict):
    """Any import or dynamic reference resolves to a stand-in naming it: both sides of a plan
    resolve the same reference to the same text, so only a changed reference shows."""

    def __init__(self, label: str):
        super().__init__({label: label})
        self.label = label

    def __contains__(self, key: object) -> bool:
        return True

    def __getitem__(self, key: str) -> Any:
        return _Symbolic(f"{self.label}:{key}") if self.label == "resolve" else f"<{self.label} {key}>"


def resolve(side: Side, region: str) -> dict[str, Any]:
    """The template as CloudFormation would see it in ``region`` with these parameters."""
    from checks.resolved import resolver  # cloud-radar, seeded with cfn-lint's region data

    # Constraints do not change what a value resolves to, and a render may hold values that
    # cannot deploy yet (an empty certificate): the pre-flight check judges those, not the plan.
    template = {
        **side.template,
        "Parameters": {
            name: {key: value for key, value in declared.items() if key not in PARAMETER_CONSTRAINTS}
            for name, declared in side.template.get("Parameters", {}).items()
        },
    }
    try:
        return resolver(template, imports=_Symbolic("import"), dynamic_references=_Symbolic("resolve")).render(dict(side.parameters), region=region)
    except Exception as exc:  # cloud-radar raises bare Exception for a Ref to nothing
        raise OpsError(f"cannot resolve the template for {region}: {exc}", exit_status=EXIT_BAD_INPUT) from None


# -- comparing -----------------------------------------------------------------------------


def _diff(old: Any, new: Any, path: str) -> list[str]:
    """The paths (JSON pointer, as the schemas write them) where ``old`` and ``new`` differ."""
    if isinstance(old, dict) and isinstance(new, dict):
        return [
            found
            for key in sorted(set(old) | set(new))
            for found in (_diff(old.get(key), new.get(key), f"{path}/{key}") if key in old and key in new else [f"{path}/{key}"])
        ]
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [found for index, (a, b) in enumerate(zip(old, new)) for found in _diff(a, b, f"{path}/{index}")]
    return [] if old == new else [path]


def _matches(changed: str, create_only: str) -> bool:
    """A change at ``changed`` touches ``create_only`` when one is within the other ('*' is any item)."""
    a, b = changed.split("/"), create_only.split("/")
    return all(x == y or y == "*" for x, y in zip(a, b))


def create_only_paths(resource_type: str, region: str) -> tuple[str, ...]:
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER
    from cfnlint.schema.manager import ResourceNotFoundError

    try:
        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, resource_type).schema
    except ResourceNotFoundError:
        schema = {}
    return tuple(schema.get("createOnlyProperties", ())) + REPLACEMENT_EXTRAS.get(resource_type, ())


def _shown_path(path: str) -> str:
    return path.removeprefix("/properties/").removeprefix("/")


def compare(old: dict[str, Any] | None, new: dict[str, Any], region: str, declared: Mapping[str, Any]) -> list[Change]:
    """Changes from resolved template ``old`` (None: no stack) to ``new`` in ``region``;
    ``declared``: the resources of the new template before its conditions are applied."""
    before = (old or {}).get("Resources", {})
    after = new.get("Resources", {})
    changes: dict[str, Change] = {}
    for logical_id in sorted(set(after) - set(before)):
        changes[logical_id] = Change(logical_id, after[logical_id]["Type"], ADDED)
    for logical_id in sorted(set(before) - set(after)):
        body = before[logical_id]
        condition = declared.get(logical_id, {}).get("Condition")
        reason = f"its Condition {condition} is false here" if condition else "its logical id is not in the template"
        changes[logical_id] = Change(
            logical_id, body["Type"], REMOVED, reasons=(reason,), deletion_policy=body.get("DeletionPolicy", "Delete")
        )
    for logical_id in sorted(set(before) & set(after)):
        old_body, new_body = before[logical_id], after[logical_id]
        if old_body == new_body:
            continue
        policy = old_body.get("DeletionPolicy", "Delete")
        if old_body["Type"] != new_body["Type"]:
            changes[logical_id] = Change(
                logical_id, new_body["Type"], REPLACED, reasons=(f"its type changes from {old_body['Type']}",), deletion_policy=policy
            )
            continue
        paths = _diff(old_body.get("Properties", {}), new_body.get("Properties", {}), "/properties")
        attributes = [f"/{name}" for name in ATTRIBUTES if old_body.get(name) != new_body.get(name)]
        create_only = create_only_paths(new_body["Type"], region)
        replacing = [path for path in paths if any(_matches(path, fixed) for fixed in create_only)]
        changes[logical_id] = Change(
            logical_id,
            new_body["Type"],
            REPLACED if replacing else MODIFIED,
            paths=tuple(_shown_path(path) for path in paths + attributes),
            reasons=tuple(dict.fromkeys(_shown_path(path) for path in replacing)),
            deletion_policy=policy,
        )
    return list(changes.values())


def needed_regions(change: Change, bodies: Iterable[dict[str, Any]], region: str, peers: Iterable[str]) -> tuple[tuple[str, ...], str]:
    """(regions other than ``region`` that making ``change`` calls, why), from the resource's
    resolved bodies (before and after); ``peers``: the stack set's other regions."""
    properties = [body.get("Properties", {}) for body in bodies]
    if change.resource_type == "AWS::SNS::Subscription":
        found = [p["Region"] for p in properties if isinstance(p.get("Region"), str) and p["Region"] != region]
        return tuple(dict.fromkeys(found)), "the subscription's topic is there (CloudFormation subscribes through its region)"
    if change.resource_type in ROUTE53_TYPES:
        control = route53_metrics_region(region_partition(region))
        return ((control,), "Route 53's control plane is there") if control and control != region else ((), "")
    if change.resource_type == "AWS::SecretsManager::Secret":
        found = [r["Region"] for p in properties for r in p.get("ReplicaRegions") or [] if isinstance(r.get("Region"), str) and r["Region"] != region]
        return tuple(dict.fromkeys(found)), "Secrets Manager replicates the secret there"
    if change.resource_type == "AWS::RDS::GlobalCluster":
        return tuple(peer for peer in peers if peer != region), "the global database's other members are there"
    return (), ""


def _with_needs(change: Change, old: dict[str, Any] | None, new: dict[str, Any], region: str, peers: tuple[str, ...]) -> Change:
    bodies = [side["Resources"][change.logical_id] for side in (old, new) if side and change.logical_id in side.get("Resources", {})]
    needs, why = needed_regions(change, bodies, region, peers)
    return replace(change, needs=needs, needs_why=why) if needs else change


def plan_region(
    stack_set: str, region: str, now: Side | None, after: Side, notes: Iterable[str] = (), peers: Iterable[str] | None = None
) -> RegionPlan:
    """Resolve both sides for ``region`` and compare them; with ``peers`` (the stack set's
    regions, for a plan of one region alone) each change names the other regions it needs."""
    old = resolve(now, region) if now is not None else None
    new = resolve(after, region)
    changes = compare(old, new, region, after.template.get("Resources", {}))
    # A resource whose create-only property refers to one being replaced is replaced too
    # (it gets the new physical id); a logical id renamed is one deleted and one added.
    changes = _propagate(changes, new.get("Resources", {}), region)
    if peers is not None:
        changes = [_with_needs(change, old, new, region, tuple(peers)) for change in changes]
    before = now.parameters if now is not None else {}
    parameters = {
        name: (before.get(name), after.parameters.get(name))
        for name in sorted(set(before) | set(after.parameters))
        if before.get(name) != after.parameters.get(name)
    } if now is not None else {}
    if CREATES_DATABASE_PARAMETER in parameters and now is not None:
        notes = [*notes, CREATES_DATABASE_HINT]
    return RegionPlan(stack_set, region, now is not None, tuple(changes), parameters, tuple(notes))


def _propagate(changes: list[Change], resources: dict[str, Any], region: str) -> list[Change]:
    by_id = {change.logical_id: change for change in changes}
    replaced = {logical_id for logical_id, change in by_id.items() if change.action == REPLACED}
    while replaced:
        newly = set()
        for logical_id, body in resources.items():
            change = by_id.get(logical_id)
            if change is not None and change.action in (REPLACED, ADDED):
                continue
            create_only = create_only_paths(body["Type"], region)
            reasons = [
                f"{_shown_path(path)} (refers to {target}, replaced)"
                for path, target in _references(body.get("Properties", {}), "/properties", replaced)
                if any(_matches(path, fixed) for fixed in create_only)
            ]
            if reasons:
                by_id[logical_id] = Change(
                    logical_id, body["Type"], REPLACED,
                    paths=(change.paths if change else ()) + tuple(reason.split(" ")[0] for reason in reasons),
                    reasons=tuple(reasons), deletion_policy=body.get("DeletionPolicy", "Delete"),
                )
                newly.add(logical_id)
        replaced = newly
    return list(by_id.values())


def _references(value: Any, path: str, targets: set[str]) -> list[tuple[str, str]]:
    """(path, target) for each value that cloud-radar resolved from a Ref or GetAtt of ``targets``."""
    if isinstance(value, dict):
        return [found for key, item in value.items() for found in _references(item, f"{path}/{key}", targets)]
    if isinstance(value, list):
        return [found for index, item in enumerate(value) for found in _references(item, f"{path}/{index}", targets)]
    if isinstance(value, str):
        # cloud-radar resolves a Ref to a resource as its logical id, a GetAtt as "ID.Attribute".
        target = value.split(".")[0]
        return [(path, target)] if target in targets else []
    return []


# -- the two ways of getting the other side --------------------------------------------------


def _sides(rendered: Rendered, spec: StackSetSpec, region: str, from_outputs: Mapping[str, str]) -> Side:
    values = rendered.parameters(spec, region)
    for key, source in spec.parameters_from_outputs.items():
        values[key] = from_outputs.get(key, f"<output {source.output} of {source.stack_set} in {source.region}>")
    return Side(rendered.template(spec), values)


def _only(rendered: Rendered, only_region: str | None) -> list[tuple[StackSetSpec, str]]:
    return [
        (spec, region)
        for spec in rendered.stack_sets
        for region in spec.regions
        if only_region in (None, region)
    ]


def _peers(spec: StackSetSpec, only_region: str | None) -> tuple[str, ...] | None:
    """The stack set's regions when one region is planned alone (what may be down), else None."""
    return spec.regions if only_region is not None else None


def plan_against(rendered: Rendered, other: Rendered, only_region: str | None = None) -> Plan:
    """Compare ``rendered`` with another render on disk (``other`` is what runs now), offline.

    Stack sets are matched by their template file, so a renamed stack set (another project or
    suffix) is compared with the one it would stand beside."""
    previous = {spec.template: spec for spec in other.stack_sets}
    plans = []
    for spec, region in _only(rendered, only_region):
        old_spec = previous.get(spec.template)
        notes = []
        if old_spec is not None and old_spec.name != spec.name:
            notes.append(
                f"stack set renamed from {old_spec.name}: deploy creates {spec.name} beside it and leaves "
                f"{old_spec.name} running; its resources are compared as if replaced"
            )
        now = _sides(other, old_spec, region, {}) if old_spec is not None and region in old_spec.regions else None
        plans.append(plan_region(spec.name, region, now, _sides(rendered, spec, region, {}), notes, _peers(spec, only_region)))
    for spec in other.stack_sets:
        left = [region for region in spec.regions if only_region in (None, region)]
        current = next((s for s in rendered.stack_sets if s.template == spec.template), None)
        for region in left:
            if current is None or region not in current.regions:
                plans.append(
                    RegionPlan(spec.name, region, True, (), {}, ("not in this render: deploy leaves its stack instance as it is",))
                )
    return Plan(tuple(plans))


def plan_deployed(stack_sets, rendered: Rendered, only_region: str | None = None) -> Plan:
    """Compare ``rendered`` with what each stack instance runs now (``ops.operations.StackSets``)."""
    from ops.operations import parameter_values

    plans = []
    described: dict[str, tuple[dict[str, Any] | None, dict[str, Any]]] = {}
    for spec, region in _only(rendered, only_region):
        if spec.name not in described:
            current = stack_sets.describe(spec.name)
            described[spec.name] = (current, stack_sets.instances(spec.name) if current is not None else {})
        current, instances = described[spec.name]
        now = None
        if current is not None and region in instances:
            values = parameter_values(current.get("Parameters"))
            values.update(stack_sets.overrides(spec.name, region))
            now = Side(json.loads(current["TemplateBody"]), values)
        after = _sides(rendered, spec, region, now.parameters if now is not None else {})
        notes = [] if current is not None else ["the stack set does not exist yet: deploy creates it"]
        plans.append(plan_region(spec.name, region, now, after, notes, _peers(spec, only_region)))
    return Plan(tuple(plans))


def allowed_replacements(values: Iterable[str], rendered: Rendered) -> frozenset[str]:
    """``--allow-replacement REGION:LOGICAL_ID`` values, checked for shape and region."""
    accepted = set()
    for value in values:
        region, _, logical_id = value.partition(":")
        if not logical_id or region not in rendered.regions:
            raise OpsError(
                f"--allow-replacement {value}: expected REGION:LOGICAL_ID with a region of this render "
                f"({', '.join(rendered.regions)})",
                exit_status=EXIT_BAD_INPUT,
            )
        accepted.add(value)
    return frozenset(accepted)


def gate(
    stack_sets, rendered: Rendered, progress: Callable[[str], None], only_region: str | None, allow: Iterable[str]
) -> Plan:
    """Deploy plans first: prints the plan, then refuses (before any write) a stateful loss not allowed."""
    allowed = allowed_replacements(allow, rendered)
    plan = replace(plan_deployed(stack_sets, rendered, only_region), allowed=allowed)
    for line in plan.lines():
        progress(line)
    refuse_unless_allowed(plan)
    return plan


def refuse_unless_allowed(plan: Plan) -> None:
    """Deploy's gate: ``OpsError`` (exit 1) naming each stateful loss not explicitly allowed."""
    refused = plan.refused()
    if refused:
        raise OpsError(
            f"refusing to deploy: {len(refused)} stateful resource(s) would be replaced or deleted; "
            "nothing was changed. Allow each with --allow-replacement REGION:LOGICAL_ID only if losing it is intended",
            details=[_danger_line(plan, change) for plan, change in refused],
        )
