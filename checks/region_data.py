"""Where CloudFormation offers the resource types the templates use, from cfn-lint's copy of
the CloudFormation registry (one resource provider schema file per region).

The configuration reads the result from ``templates/data/resource_types.json`` rather than
importing cfn-lint (most of a render's time); ``tests/templates/test_regions_supported.py``
fails when the file and the installed cfn-lint disagree, or when the templates use a type
the file does not cover. Regenerate with ``.venv/bin/python -m checks.region_data``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import cfnlint
from cfnlint.version import __version__ as CFN_LINT_VERSION

from templates.config import RESOURCE_TYPES_FILE

PROVIDERS = Path(cfnlint.__file__).parent / "data" / "schemas" / "providers"


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


def main() -> None:
    from templates.config import Config
    from templates.render import render

    documents = [json.loads(content) for content in render(Config()).values()]
    templates = [document for document in documents if isinstance(document, dict) and "Resources" in document]
    content = json.dumps(availability(template_resource_types(templates)), indent=2, sort_keys=True) + "\n"
    RESOURCE_TYPES_FILE.write_text(content, encoding="utf-8")
    print(f"wrote {RESOURCE_TYPES_FILE}")


if __name__ == "__main__":
    main()
