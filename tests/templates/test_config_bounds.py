"""Bounds from the source (issue 25): every bounded field of the configuration, rendered at each
of its bounds, lands in template properties whose resource provider schema (as cfn-lint ships
it) takes the value, and in parameters whose own constraints take it; the properties a field
declares it feeds (``feeds`` in the JSON schema, docs/configuration.md) are among them. So a
value the configuration accepts cannot fail the gate, or the deploy, on a property's bounds.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import pytest
import regex  # cfn-lint's patterns are ECMA-262 (\p{...}): the regex module reads them, as cfn-lint does

from checks.config_space import gate_mapping
from templates.config import Config, ConfigError, config_from_mapping
from templates.render import render

SCHEMA = Config.model_json_schema()
DEFINITIONS = SCHEMA["$defs"]
# Values a bound needs of other fields to be a configuration the models accept.
CONTEXT = {
    ("app.task_cpu", 256): {"app": {"task_memory": 512}},
    ("app.task_cpu", 16384): {"app": {"task_memory": 32768}},
    ("app.task_memory", 512): {"app": {"task_cpu": 256}},
    ("app.task_memory", 122880): {"app": {"task_cpu": 16384}},
    ("app.dr_desired_count", 5000): {"app": {"primary_desired_count": 5000, "failover_desired_count": 5000, "max_count": 5000}},
    ("app.primary_desired_count", 1): {"app": {"dr_desired_count": 1}},
    ("app.primary_desired_count", 5000): {"app": {"failover_desired_count": 5000, "max_count": 5000}},
    ("app.failover_desired_count", 1): {"app": {"dr_desired_count": 1, "primary_desired_count": 1}},
    ("app.failover_desired_count", 5000): {"app": {"max_count": 5000}},
    ("app.max_count", 1): {"app": {"dr_desired_count": 1, "primary_desired_count": 1, "failover_desired_count": 1}},
    ("runbook.writer_poll_seconds", 5): {"runbook": {"writer_max_polls": 24}},
    ("runbook.writer_max_polls", 1): {"runbook": {"writer_poll_seconds": 120}},
    ("objectives.task_start_seconds", 3600): {"runbook": {"health_poll_seconds": 60}},
}
# The EventBridge rule the decision time feeds exists only with the automatic trigger.
CONTEXT.update({("objectives.decision_seconds", v): {"runbook": {"automatic_trigger": True}} for v in (60, 86400)})
# A lock longer than the retention is refused; the lock's mode is rendered only with a lock.
CONTEXT.update({("reports.object_lock_days", 36500): {"reports": {"retention_days": 36500}},
                ("reports.retention_days", 1): {}})
CONTEXT.update({("reports.object_lock_mode", v): {"reports": {"object_lock_days": 1}} for v in ("GOVERNANCE", "COMPLIANCE")})
# The game day's experiment and log exist only with the game day on, and its fault must last the RTO.
CONTEXT.update({("gameday.log_retention_days", v): {"gameday": {"enabled": True}} for v in (1, 3653)})
CONTEXT.update({("gameday.duration_minutes", v): {"gameday": {"enabled": True}, "objectives": {"rto_seconds": 60}}
                for v in (1, 720)})


def _resolve(schema: dict, definitions: dict, prefix: str = "#/$defs/") -> dict:
    while "$ref" in schema:
        schema = {**definitions[schema["$ref"].removeprefix(prefix).removeprefix("#/definitions/")],
                  **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def leaves(schema: dict = SCHEMA, prefix: str = ""):
    for name, field in schema["properties"].items():
        field = _resolve(field, DEFINITIONS)
        path = prefix + name
        if field.get("type") == "object":
            yield from leaves(field, path + ".")
        elif field.get("type") != "array":
            yield path, field


def bounds(field: dict) -> list[Any]:
    if "enum" in field:
        return sorted({min(field["enum"]), max(field["enum"])}) if field["type"] != "string" else list(field["enum"])
    if field.get("type") == "boolean":
        return [True, False]
    if field.get("type") in ("integer", "number"):
        step = 1 if field["type"] == "integer" else 0.01
        low = field["minimum"] if "minimum" in field else field["exclusiveMinimum"] + step
        high = field["maximum"] if "maximum" in field else round(field["exclusiveMaximum"] - step, 2)
        return [low, high]
    if "maxLength" in field:
        return ["/" + "a" * (field["maxLength"] - 1)]
    return []


def _nest(path: str, value: Any, context: dict) -> dict:
    mapping = json.loads(json.dumps(context))
    *tables, key = path.split(".")
    node = mapping
    for table in tables:
        node = node.setdefault(table, {})
    node[key] = value
    return mapping


# Fields without numeric bounds are walked with a value of their own (their pattern is the bound).
CERTIFICATE = "arn:aws:acm:{}:123456789012:certificate/0a1b2c3d-aaaa-bbbb-cccc-0123456789ab"
SAMPLES = {
    "project": "fx", "environment_suffix": "prod", "primary_region": "us-east-2", "dr_region": "eu-west-1",
    "stackset_administration_region": "us-east-2", "database.created_in": "us-west-2",
    "network.primary_vpc_cidr": "10.30.0.0/22", "network.dr_vpc_cidr": "192.168.0.0/20",
    "dns.domain_name": "trade.example.org", "dns.hosted_zone_id": "Z0123456789ABC",
    "dns.primary_certificate_arn": CERTIFICATE.format("us-east-1"), "dns.dr_certificate_arn": CERTIFICATE.format("us-west-2"),
    "tracing.collector_repository": "mirror/aws-otel-collector", "tracing.collector_image_tag": "sha256:" + "a" * 64,
    "app.image_repository": "team/trading-app", "app.image_tag": "2.3.4", "app.container_user": "2000:3000",
    "app.writable_path": "/var/cache/app", "database.engine_version": "15.10", "database.instance_class": "db.r7g.large",
    "database.master_username": "owner", "database.database_name": "ledger",
    "database.global_writer_endpoint": "trading-dev-global.global-abc123def.global.rds.amazonaws.com",
}
# And the longest a pattern allows, where the value lands whole in a property.
LONGEST = {"app.image_repository": "a" * 256, "app.image_tag": "v" + "1" * 127, "tracing.collector_repository": "b" * 256,
           "tracing.collector_image_tag": "w" + "2" * 127, "database.master_username": "m" * 63, "database.database_name": "d" * 63}
CASES = [(path, value, field.get("feeds", [])) for path, field in leaves()
         for value in bounds(field) or [SAMPLES[path], *([LONGEST[path]] if path in LONGEST else [])]]
# Renders without certificates (the defaults) carry an empty CertificateArn, which its pattern
# refuses: deploy stops there on purpose (README, "Before the first deploy").
UNDEPLOYABLE_ON_PURPOSE = {("CertificateArn", "")}


def _flat(document: Any, path: tuple = ()):
    """Leaves by path; both branches of an Fn::If at the property's own path."""
    if isinstance(document, dict) and list(document) == ["Fn::If"]:
        for branch in document["Fn::If"][1:]:
            yield from _flat(branch, path)
    elif isinstance(document, dict) and not any(key.startswith("Fn::") or key == "Ref" for key in document):
        for key, value in document.items():
            yield from _flat(value, (*path, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield from _flat(value, (*path, index))
    else:
        yield path, document


@cache
def _rendered(mapping_json: str) -> dict[str, dict]:
    files = render(config_from_mapping(json.loads(mapping_json)))
    return {name: dict(_flat(json.loads(content))) for name, content in files.items() if name.endswith(".json")}


@cache
def _provider_schema(resource_type: str) -> dict:
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    return PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", resource_type).schema


def _property_schema(resource_type: str, parts: tuple) -> dict:
    schema = _provider_schema(resource_type)
    definitions = schema.get("definitions", {})
    node: dict = {"properties": schema["properties"]}
    for part in parts:
        node = _resolve(node, definitions, "#/definitions/")
        if isinstance(part, int):
            node = node.get("items", {})
        else:
            node = node.get("properties", {}).get(part) or next(
                (v for k, v in node.get("patternProperties", {}).items() if re.search(k, part)), {})
    return _resolve(node, definitions, "#/definitions/")


def violations(constraints: dict, value: Any) -> list[str]:
    """What of a JSON schema's (or a parameter's) bounds ``value`` breaks; CloudFormation passes numbers as strings too."""
    found = []
    number = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else (
        float(value) if isinstance(value, str) and re.fullmatch(r"-?\d+(\.\d+)?", value) else None)
    for key, test in (("minimum", lambda b: number >= b), ("MinValue", lambda b: number >= float(b)),
                      ("maximum", lambda b: number <= b), ("MaxValue", lambda b: number <= float(b))):
        if key in constraints and number is not None and not test(constraints[key]):
            found.append(f"{key} {constraints[key]}")
    text = value if isinstance(value, str) else None
    for key, test in (("minLength", lambda b: len(text) >= b), ("MinLength", lambda b: len(text) >= int(b)),
                      ("maxLength", lambda b: len(text) <= b), ("MaxLength", lambda b: len(text) <= int(b)),
                      ("pattern", lambda b: regex.search(b, text)), ("AllowedPattern", lambda b: regex.fullmatch(b, text))):
        if key in constraints and text is not None and not test(constraints[key]):
            found.append(f"{key} {constraints[key]}")
    for key in ("enum", "AllowedValues"):
        if key in constraints and str(value) not in map(str, constraints[key]):
            found.append(f"{key} {constraints[key]}")
    return found


def fed(mapping: dict) -> tuple[set[str], list[str]]:
    """The properties (TYPE.Property.Sub) and parameters a configuration changes from the defaults,
    and every bound of theirs its values break."""
    base, new = _rendered(json.dumps({})), _rendered(json.dumps(mapping, sort_keys=True))
    regional = json.loads(render(config_from_mapping(mapping))["regional.json"])
    properties, broken = set(), []
    for name, values in new.items():
        base.setdefault(name, {})
        for path in set(base[name]) - set(values):  # a property the value removes
            if len(path) > 3 and path[0] == "Resources" and path[2] == "Properties":
                resource_type = base[name][("Resources", path[1], "Type")]
                properties.add(".".join([resource_type, *(str(p) for p in path[3:] if not isinstance(p, int))]))
        for path, value in values.items():
            if base[name].get(path) == value:
                continue
            if name.startswith("parameters/") and path[-1] == "ParameterValue":
                key = values[(*path[:-1], "ParameterKey")]
                properties.add(f"Parameter {key}")
                if (key, value) in UNDEPLOYABLE_ON_PURPOSE:
                    continue
                broken += [f"{name} {key}={value!r}: {v}" for v in violations(regional["Parameters"].get(key, {}), value)]
            elif len(path) > 3 and path[0] == "Resources" and path[2] == "Properties":
                resource_type = values[("Resources", path[1], "Type")]
                properties.add(".".join([resource_type, *(str(p) for p in path[3:] if not isinstance(p, int))]))
                broken += [f"{name} {'.'.join(map(str, path))}={value!r}: {v}"
                           for v in violations(_property_schema(resource_type, path[3:]), value)]
    return properties, broken


@pytest.mark.parametrize("path, value, feeds", CASES, ids=[f"{p}={v!r}"[:60] for p, v, _ in CASES])
def test_a_bound_of_the_configuration_is_accepted_and_taken_by_what_it_feeds(path, value, feeds):
    mapping = _nest(path, value, CONTEXT.get((path, value), {}))
    try:
        config_from_mapping(mapping)
    except ConfigError as refused:
        pytest.fail(f"the model's own bound is refused: {refused}")
    properties, broken = fed(mapping)
    assert broken == []
    if feeds and value != SCHEMA_DEFAULTS[path]:
        assert any(p == feed or p.startswith(feed + ".") for p in properties for feed in feeds), (
            f"{path} declares it feeds {feeds}; {value!r} changed {sorted(properties)}")


SCHEMA_DEFAULTS = {path: field.get("default") for path, field in leaves()}


def test_every_field_that_lands_in_a_template_says_so():
    """A bounded field that changes a property but declares no feeds would be missing from the reference."""
    undeclared = []
    for path, value, feeds in CASES:
        if value == SCHEMA_DEFAULTS[path] or feeds:
            continue
        properties, _ = fed(_nest(path, value, CONTEXT.get((path, value), {})))
        resources = sorted(p for p in properties if not p.startswith("Parameter"))
        if resources:
            undeclared.append(f"{path}: {resources[:3]}")
    assert undeclared == []


def test_the_bounds_together_pass_the_whole_gate():
    """The smallest and the largest of every field at once (those a design can meet) render and pass the gate."""
    smallest = {"app": {"task_cpu": 256, "task_memory": 512, "dr_desired_count": 1, "primary_desired_count": 1,
                        "failover_desired_count": 1, "max_count": 1, "container_port": 1024, "cpu_target_percent": 10},
                "database": {"primary_instances": 1, "dr_instances": 1, "backup_retention_days": 7},
                "dns": {"health_check_failure_threshold": 1},
                "alerts": {"lag_alarm_fraction_of_rpo": 0.1, "alb_5xx_per_minute": 1, "p99_latency_seconds": 0.01,
                           "ecs_cpu_percent": 1, "ecs_memory_percent": 1, "db_cpu_percent": 1, "db_freeable_memory_mib": 1,
                           "db_connections": 1},
                "logs": {"retention_days": 1, "flow_logs_retention_days": 1, "runbook_retention_days": 1, "access_log_expiration_days": 1},
                "runbook": {"automatic_trigger": True, "readiness_period_minutes": 1, "min_minutes_between_automatic_runs": 5},
                "objectives": {"rpo_seconds": 60, "decision_seconds": 60}}
    largest = {"app": {"task_cpu": 16384, "task_memory": 122880, "dr_desired_count": 5000, "primary_desired_count": 5000,
                       "failover_desired_count": 5000, "max_count": 5000, "container_port": 65535, "cpu_target_percent": 90,
                       "health_check_path": "/" + "a" * 254},
               "database": {"primary_instances": 3, "dr_instances": 3, "backup_retention_days": 35},
               "dns": {"health_check_failure_threshold": 10, "health_check_interval_seconds": 30},
               "alerts": {"lag_alarm_fraction_of_rpo": 0.99, "alb_5xx_per_minute": 1_000_000, "p99_latency_seconds": 60.0,
                          "ecs_cpu_percent": 100, "ecs_memory_percent": 100, "db_cpu_percent": 100,
                          "db_freeable_memory_mib": 1_048_576, "db_connections": 262_143},
               "logs": {"retention_days": 3653, "flow_logs_retention_days": 3653, "runbook_retention_days": 3653,
                        "access_log_expiration_days": 3653},
               # The longest follow whose run fits Step Functions' history quota at the longest polls (checks/budget.py).
               "runbook": {"automatic_trigger": True, "readiness_period_minutes": 60, "min_minutes_between_automatic_runs": 1440,
                           "follow_promotion_minutes": 360, "writer_poll_seconds": 300, "health_poll_seconds": 60,
                           "function_timeout_seconds": 300},
               "objectives": {"rto_seconds": 86400, "rpo_seconds": 86400, "decision_seconds": 86400}}
    assert [gate_mapping(smallest), gate_mapping(largest)] == [[], []]
