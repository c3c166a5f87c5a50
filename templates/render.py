"""Renders the configuration into the files of ``dr_templates/``, in memory and byte-stable."""

from __future__ import annotations

import json
from typing import Any

from templates import dns, naming, stack
from templates.config import Config

BOOTSTRAP_TEMPLATE = "bootstrap.json"
REGIONAL_TEMPLATE = "regional.json"
MANIFEST = "manifest.json"
# Figures the RTO budget reads: how long DNS takes to follow a failure or the switch.
TRAFFIC_TIMING = "traffic_timing.json"


def parameters_file(region: str) -> str:
    return f"parameters/{region}.json"


def to_json(document: Any) -> bytes:
    """Sorted keys and a fixed layout: the same input always gives the same bytes."""
    return (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def manifest(cfg: Config) -> dict[str, Any]:
    """What the deployer needs besides the templates: stack sets in deployment order,
    regions, parameter files and operation preferences."""
    return {
        "regions": list(cfg.regions),
        "stack_sets": [
            {
                "name": f"{naming.prefix(cfg)}-bootstrap",
                "template": BOOTSTRAP_TEMPLATE,
                "parameters": None,
                "capabilities": [],
            },
            {
                "name": f"{naming.prefix(cfg)}-regional",
                "template": REGIONAL_TEMPLATE,
                "parameters": {region: parameters_file(region) for region in cfg.regions},
                "capabilities": ["CAPABILITY_IAM"],
            },
        ],
        # Primary first, one region at a time, stop at the first failure (DESIGN decision 1).
        "operation_preferences": {
            "RegionConcurrencyType": "SEQUENTIAL",
            "RegionOrder": list(cfg.regions),
            "MaxConcurrentCount": 1,
            "FailureToleranceCount": 0,
        },
    }


def render(cfg: Config) -> dict[str, bytes]:
    """Every file of the output directory, keyed by its relative path."""
    files = {
        BOOTSTRAP_TEMPLATE: to_json(stack.build_bootstrap_template(cfg).to_dict()),
        REGIONAL_TEMPLATE: to_json(stack.build_regional_template(cfg).to_dict()),
    }
    for region in cfg.regions:
        values = stack.region_parameters(cfg, region)
        files[parameters_file(region)] = to_json(
            [{"ParameterKey": key, "ParameterValue": values[key]} for key in sorted(values)]
        )
    files[MANIFEST] = to_json(manifest(cfg))
    files[TRAFFIC_TIMING] = to_json(dns.timing(cfg))
    return files
