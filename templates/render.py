"""Renders the configuration into the files of ``dr_templates/``, in memory and byte-stable."""

from __future__ import annotations

import contextlib
import gc
import json
from collections.abc import Iterator
from typing import Any

from templates import dns, functions, health_alarms, naming, protection, stack, stackset_roles
from templates.config import Config, DnsConfig
from templates.layout import ARTIFACTS_DIR, BOOTSTRAP_PARAMETERS, MANIFEST, PARAMETERS_DIR, TRAFFIC_TIMING, parameters_file

BOOTSTRAP_TEMPLATE = "bootstrap.json"
REGIONAL_TEMPLATE = "regional.json"
HEALTH_ALARMS_TEMPLATE = "route53_alarms.json"
HEALTH_ALARMS_PARAMETERS = f"{PARAMETERS_DIR}/route53_alarms.json"
# Configuration values whose embedded defaults are examples (RFC 2606 names): a render
# with them is fine to read and lint, but deploy refuses it.
PLACEHOLDER_FIELDS = ("domain_name", "hosted_zone_id")


def to_json(document: Any) -> bytes:
    """Sorted keys and a fixed layout: the same input always gives the same bytes."""
    return (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def _parameter_list(values: dict[str, str]) -> bytes:
    """CloudFormation's ``ParameterOverrides`` shape, sorted."""
    return to_json([{"ParameterKey": key, "ParameterValue": values[key]} for key in sorted(values)])


def manifest(cfg: Config, functions_key: str, config_file: str | None = None) -> dict[str, Any]:
    """What the deployer needs besides the templates: stack sets in deployment order,
    regions, parameter files and operation preferences."""
    regional = naming.stack_set(cfg, "regional").pattern
    return {
        # What the commands reading this render compare a given configuration with.
        "configuration": configuration_identity(cfg),
        # The TOML file it was rendered from, relative to the render (None: the defaults), so
        # every command finds the configuration from the render's folder alone.
        "config_file": config_file,
        "placeholders": {
            f"dns.{name}": getattr(cfg.dns, name)
            for name in PLACEHOLDER_FIELDS
            if getattr(cfg.dns, name) == getattr(DnsConfig(), name)
        },
        # Uploaded to every region's bucket before the regional stack set; build_dir is
        # relative to the output folder's parent.
        "artifacts": {"bucket": naming.artifact_bucket(cfg).pattern, "build_dir": ARTIFACTS_DIR, "objects": [functions_key]},
        "stackset_roles": stackset_roles.manifest_entry(cfg),
        "stack_sets": [
            {
                "name": naming.stack_set(cfg, "bootstrap").pattern,
                "template": BOOTSTRAP_TEMPLATE,
                "regions": list(cfg.bootstrap_regions),
                "parameters": {region: BOOTSTRAP_PARAMETERS for region in cfg.bootstrap_regions},
                "capabilities": [],
            },
            {
                "name": regional,
                "template": REGIONAL_TEMPLATE,
                "regions": list(cfg.regions),
                "parameters": {region: parameters_file(region) for region in cfg.regions},
                # A stack instance's first create uses these instead of its file's values (no
                # deletion protection, so a failed create can roll back); deploy then applies the file's.
                "first_create_parameters": protection.first_create_parameters(cfg),
                "capabilities": ["CAPABILITY_IAM"],
            },
            {
                # Route 53's metrics exist in one region only; deployed last, with the
                # health check ids taken from the regional stacks' outputs.
                "name": naming.stack_set(cfg, "route53-alarms").pattern,
                "template": HEALTH_ALARMS_TEMPLATE,
                "regions": [cfg.route53_metrics_region],
                "parameters": {cfg.route53_metrics_region: HEALTH_ALARMS_PARAMETERS},
                "parameters_from_outputs": health_alarms.parameter_sources(cfg, regional),
                "capabilities": [],
            },
        ],
        # Primary first, one region at a time, stop at the first failure (DESIGN decision 1).
        "operation_preferences": {
            "RegionConcurrencyType": "SEQUENTIAL",
            "RegionOrder": list(cfg.bootstrap_regions),
            "MaxConcurrentCount": 1,
            "FailureToleranceCount": 0,
        },
    }


def configuration_identity(cfg: Config) -> dict[str, str]:
    """The regions and the name prefix: a command must not act on a render of other ones."""
    return {
        "prefix": naming.prefix(cfg),
        "primary_region": cfg.primary_region,
        "dr_region": cfg.dr_region,
        "administration_region": cfg.administration_region,
    }


def artifacts() -> dict[str, bytes]:
    """What the deployer uploads to each region's artifact bucket, keyed by S3 key."""
    content, key = functions.package()
    return {key: content}


@contextlib.contextmanager
def _cyclic_collector_paused() -> Iterator[None]:
    """The render allocates about 100,000 containers that reference counting frees; the cyclic
    collector's passes over them and over every imported module's objects were a third of a
    cold render (make bench). Its state is restored as found."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def render(cfg: Config, config_file: str | None = None) -> dict[str, bytes]:
    """Every file of the output directory, keyed by its relative path.

    The Lambda zip's content hash is part of the regional template, so a change to a
    function without a re-render makes CI's freshness check fail.
    """
    with _cyclic_collector_paused():
        return _render(cfg, config_file)


def _render(cfg: Config, config_file: str | None) -> dict[str, bytes]:
    (functions_key,) = artifacts()
    # What the execution role deploys; it is derived from them, and their roles carry its boundary.
    deployed = {
        BOOTSTRAP_TEMPLATE: stack.build_bootstrap_template(cfg),
        REGIONAL_TEMPLATE: stack.build_regional_template(cfg, functions_key),
        HEALTH_ALARMS_TEMPLATE: health_alarms.build_health_alarms_template(cfg),
    }
    for template in deployed.values():
        stackset_roles.bound_roles(template, cfg)
    documents = {name: template.to_dict() for name, template in deployed.items()}
    files = {name: to_json(document) for name, document in documents.items()}
    for region in cfg.regions:
        files[parameters_file(region)] = _parameter_list(stack.region_parameters(cfg, region))
    files[BOOTSTRAP_PARAMETERS] = _parameter_list(stackset_roles.key_administrator_parameters(cfg))
    files[HEALTH_ALARMS_PARAMETERS] = _parameter_list({**health_alarms.parameters(cfg), **stackset_roles.key_administrator_parameters(cfg)})
    files[stackset_roles.ADMINISTRATION_TEMPLATE] = to_json(stackset_roles.build_administration_role_template(cfg).to_dict())
    files[stackset_roles.EXECUTION_TEMPLATE] = to_json(
        stackset_roles.build_execution_role_template(cfg, documents.values()).to_dict()
    )
    files[MANIFEST] = to_json(manifest(cfg, functions_key, config_file))
    files[TRAFFIC_TIMING] = to_json(dns.timing(cfg))
    return files
