"""Renders the configuration into the files of ``dr_templates/``, in memory and byte-stable."""

from __future__ import annotations

import json
from typing import Any

from templates import naming, stack
from templates.config import Config

REGIONAL_TEMPLATE = "regional.json"
MANIFEST = "manifest.json"


def parameters_file(region: str) -> str:
    return f"parameters/{region}.json"


def to_json(document: Any) -> bytes:
    """Sorted keys and a fixed layout: the same input always gives the same bytes."""
    return (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def manifest(cfg: Config) -> dict[str, Any]:
    """What the deployer needs besides the template: names, order and operation preferences."""
    return {
        "stack_set_name": f"{naming.prefix(cfg)}-regional",
        "template": REGIONAL_TEMPLATE,
        "regions": list(cfg.regions),
        "parameters": {region: parameters_file(region) for region in cfg.regions},
        # Primary first, one region at a time, stop at the first failure (DESIGN decision 1).
        "operation_preferences": {
            "RegionConcurrencyType": "SEQUENTIAL",
            "RegionOrder": list(cfg.regions),
            "MaxConcurrentCount": 1,
            "FailureToleranceCount": 0,
        },
        "capabilities": ["CAPABILITY_IAM"],
    }


def render(cfg: Config) -> dict[str, bytes]:
    """Every file of the output directory, keyed by its relative path."""
    files = {REGIONAL_TEMPLATE: to_json(stack.build_template(cfg).to_dict())}
    for region in cfg.regions:
        values = stack.region_parameters(cfg, region)
        files[parameters_file(region)] = to_json(
            [{"ParameterKey": key, "ParameterValue": values[key]} for key in sorted(values)]
        )
    files[MANIFEST] = to_json(manifest(cfg))
    return files
