"""What each region offers the templates, from the data cfn-lint ships: the resource types
CloudFormation has there (its registry, one provider schema file per region) and the DB
instance classes of the templates' engine (the table behind cfn-lint's E3025, from AWS's
pricing data), and the engine's versions a DB cluster may name (E3690) less the deprecated
ones (W3690).

The configuration reads the results from ``templates/data/resource_types.json``,
``templates/data/db_instance_classes.json`` and ``templates/data/db_engine_versions.json``
rather than importing cfn-lint (most of a
render's time); ``tests/templates/test_regions_supported.py`` fails when the files and the
installed cfn-lint disagree, or when the templates use a type the file does not cover.
``main`` also writes the handler permissions of those types (``checks.permission_data``).
Regenerate with ``.venv/bin/python -m checks.region_data``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import cfnlint
from cfnlint.version import __version__ as CFN_LINT_VERSION

from templates.config import DB_ENGINE_VERSIONS_FILE, DB_INSTANCE_CLASSES_FILE, RESOURCE_TYPES_FILE
from templates.database import ENGINE

PROVIDERS = Path(cfnlint.__file__).parent / "data" / "schemas" / "providers"
EXTENSIONS = Path(cfnlint.__file__).parent / "data" / "schemas" / "extensions"
DB_INSTANCE_CLASS_ENUM = EXTENSIONS / "aws_rds_dbinstance" / "dbinstanceclass_enum.json"
DB_CLUSTER_ENGINE_VERSIONS = EXTENSIONS / "aws_rds_dbcluster" / "engine_version.json"
DB_CLUSTER_DEPRECATED_VERSIONS = EXTENSIONS / "aws_rds_dbcluster" / "engine_version_deprecated.json"


def registry_regions() -> dict[str, set[str]]:
    """Every region cfn-lint knows, with the resource types CloudFormation offers there."""
    return {
        path.stem: set(json.loads(path.read_text(encoding="utf-8")))
        for path in sorted(PROVIDERS.glob("*.json"))
        if path.stem != "sam"  # the SAM transform's types, not a region
    }


def template_resource_types(templates: Iterable[dict]) -> set[str]:
    return {resource["Type"] for template in templates for resource in template.get("Resources", {}).values()}


def availability(resource_types: set[str]) -> dict:
    """The file's content: the types checked, and per region those CloudFormation lacks."""
    unavailable = {
        region: sorted(resource_types - offered)
        for region, offered in registry_regions().items()
        if resource_types - offered
    }
    return {
        "registry": f"cfn-lint {CFN_LINT_VERSION}",
        "source": "cfnlint/data/schemas/providers/REGION.json: CloudFormation's registry of resource types per "
        "region (python -m checks.region_data regenerates this file)",
        "types": sorted(resource_types),
        "unavailable": unavailable,
    }


def db_instance_classes(engine: str = ENGINE) -> dict:
    """The file's content: per region, the instance classes E3025 accepts for ``engine``
    (the rule for instances without a LicenseModel, as the templates declare them)."""
    table = json.loads(DB_INSTANCE_CLASS_ENUM.read_text(encoding="utf-8"))
    classes = {}
    for region, schema in sorted(table.items()):
        for rule in schema["allOf"]:
            condition = rule["if"]["properties"]
            if condition.get("Engine", {}).get("const") == engine and condition.get("LicenseModel") is False:
                classes[region] = sorted(rule["then"]["properties"]["DBInstanceClass"]["enum"])
    return {
        "registry": f"cfn-lint {CFN_LINT_VERSION}",
        "source": "cfnlint/data/schemas/extensions/aws_rds_dbinstance/dbinstanceclass_enum.json: the DB instance "
        "classes AWS's pricing data lists per region and engine (python -m checks.region_data regenerates this file)",
        "engine": engine,
        "classes": classes,
    }


def _engine_rule(path: Path, engine: str) -> dict:
    """The rule of a cfn-lint DB cluster table that applies to ``engine``."""
    rules = json.loads(path.read_text(encoding="utf-8"))["allOf"]
    return next(rule for rule in rules if rule["if"]["properties"].get("Engine", {}).get("const") == engine)


def db_engine_versions(engine: str = ENGINE) -> dict:
    """The file's content: the versions of ``engine`` a DB cluster may name (E3690) that are not
    deprecated (W3690); the gate fails on either."""
    accepted = _engine_rule(DB_CLUSTER_ENGINE_VERSIONS, engine)["then"]["properties"]["EngineVersion"]["enum"]
    deprecated = _engine_rule(DB_CLUSTER_DEPRECATED_VERSIONS, engine)["if"]["properties"]["EngineVersion"]["enum"]
    return {
        "registry": f"cfn-lint {CFN_LINT_VERSION}",
        "source": "cfnlint/data/schemas/extensions/aws_rds_dbcluster/engine_version.json less "
        "engine_version_deprecated.json (python -m checks.region_data regenerates this file)",
        "engine": engine,
        "versions": sorted(set(accepted) - set(deprecated), key=lambda v: [int(p) if p.isdigit() else p for p in v.replace("-", ".").split(".")]),
    }


def _write(path: Path, content: dict) -> None:
    path.write_text(json.dumps(content, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {path}")


def covered_configurations() -> list:
    """The configurations whose templates the file covers: the defaults, and the game day's
    experiment, rendered only when enabled (the configuration refuses a region lacking its type)."""
    from templates.config import Config, GamedayConfig

    return [Config(), Config(gameday=GamedayConfig(enabled=True))]


def rendered_templates(files: Iterable[dict[str, bytes]]) -> list[dict]:
    documents = [json.loads(content) for rendered in files for content in rendered.values()]
    return [document for document in documents if isinstance(document, dict) and "Resources" in document]


def main() -> None:
    from checks.permission_data import resource_permissions
    from policies.deployment import RESOURCE_PERMISSIONS_FILE
    from templates.render import render

    templates = rendered_templates(render(cfg) for cfg in covered_configurations())
    _write(RESOURCE_TYPES_FILE, availability(template_resource_types(templates)))
    _write(DB_INSTANCE_CLASSES_FILE, db_instance_classes())
    _write(DB_ENGINE_VERSIONS_FILE, db_engine_versions())
    _write(RESOURCE_PERMISSIONS_FILE, resource_permissions(templates))


if __name__ == "__main__":
    main()
