"""The configurations users write, and the space around them, each put through the gate.

``MATRIX`` names the ordinary ones (tests/checks/test_config_matrix.py gates every one);
``configurations()`` is a hypothesis strategy generated from the configuration's JSON Schema
(the pydantic models': every field, its type, bounds, pattern and choices), so its coverage
follows the models: each bounded field at its bounds and one past them, each pattern's own
strings, each choice, plus the few values users write (``EXAMPLES``). The property: whatever
``accept`` takes renders and passes the gate, whatever it refuses is one line naming a field.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from templates.config import Config, ConfigError, config_from_mapping

QUEUE = "arn:aws:sqs:eu-west-1:123456789012:oncall-alerts"
FUNCTION = "arn:aws:lambda:eu-west-1:123456789012:function:pager"
EVERY_PROTOCOL = [
    {"protocol": "email", "endpoint": "oncall@example.org"},
    {"protocol": "https", "endpoint": "https://pager.example.org/hook"},
    {"protocol": "sqs", "endpoint": QUEUE},
    {"protocol": "lambda", "endpoint": FUNCTION},
]


def longest_suffix(project: str = "trading") -> str:
    """The longest environment suffix every derived name still fits."""
    length = 1
    while True:
        try:
            Config(project=project, environment_suffix="a" * (length + 1))
        except ConfigError:
            return "a" * length
        length += 1


MATRIX: dict[str, dict[str, Any]] = {
    "default": {},
    "EU pair, two AZs, one NAT": {
        "primary_region": "eu-west-1", "dr_region": "eu-central-1",
        "network": {"az_count": 2, "nat_gateways": "single"},
    },
    "APAC pair with a newer region": {"primary_region": "ap-southeast-2", "dr_region": "ap-southeast-4"},
    "North American pair with a newer region": {
        "primary_region": "ca-central-1", "dr_region": "ca-west-1", "network": {"az_count": 2},
    },
    "Mexico as DR region, third administration region": {
        "primary_region": "us-east-2", "dr_region": "mx-central-1", "stackset_administration_region": "us-west-2",
        # CloudFormation has no Transaction Search there: the account enables it (docs/design.md section 8).
        "tracing": {"enable_transaction_search": False},
    },
    "smallest network, one instance per region": {
        "network": {"primary_vpc_cidr": "10.10.0.0/22", "dr_vpc_cidr": "10.20.0.0/22", "az_count": 2},
        "database": {"primary_instances": 1, "dr_instances": 1},
    },
    "longest suffix": {"environment_suffix": longest_suffix()},
    "every alert endpoint protocol": {"alerts": {"endpoints": EVERY_PROTOCOL}},
    "automatic trigger on": {"runbook": {"automatic_trigger": True}},
}

REGIONS = [
    "us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2", "ap-southeast-4",
    "ca-central-1", "ca-west-1", "mx-central-1", "il-central-1", "us-gov-west-1", "us-gov-east-1", "cn-north-1",
    "us-isob-east-1", "xx-nowhere-1",
]
ENDPOINTS = [
    *EVERY_PROTOCOL,
    {"protocol": "sqs", "endpoint": "arn:aws-cn:sqs:cn-north-1:123456789012:oncall"},
    {"protocol": "lambda", "endpoint": QUEUE},
    {"protocol": "email", "endpoint": "nobody"},
    {"protocol": "sms", "endpoint": "+15550100"},
    {"protocol": "email"},
]
# Values users write for fields whose pattern alone would mostly draw strings nobody writes.
EXAMPLES: dict[str, list[Any]] = {
    "project": ["trading", "fx", "t", "Trading", "a" * 20],
    "environment_suffix": ["dev", "prod", "pr-42", "a" * 10, "a" * 17, "a" * 30, "x-"],
    "primary_region": REGIONS,
    "dr_region": REGIONS,
    "stackset_administration_region": ["", "us-east-2", "eu-west-2", "us-gov-west-1"],
    "database.created_in": ["", "us-east-1", "us-west-2", "cn-north-1"],
    "network.primary_vpc_cidr": ["10.10.0.0/16", "10.10.0.0/22", "10.10.0.0/23", "172.16.0.0/12", "8.8.0.0/16", "198.18.0.0/16"],
    "network.dr_vpc_cidr": ["10.20.0.0/16", "10.20.0.0/22", "192.168.0.0/20", "172.17.0.0/16"],
    "database.engine_version": ["16.8", "15.10", "16"],
    "database.instance_class": ["db.r6g.large", "db.r7g.xlarge", "db.t9.nothing"],
    "app.image_repository": ["trading-app", "team/trading-app", "123456789012.dkr.ecr.us-east-1.amazonaws.com/app"],
    "tracing.collector_image_tag": ["v0.49.0", "latest", "3.x", "sha256:" + "0" * 64],
    "dns.domain_name": ["trading.example.com", "us-east-1.example.com"],
    "alerts.endpoints": ENDPOINTS,
}


def _strategy(schema: dict, definitions: dict, path: str) -> st.SearchStrategy:
    """Values for one field of the JSON Schema: the valid space, its edges, and one step past them."""
    if "$ref" in schema:
        schema = {**definitions[schema["$ref"].rsplit("/", 1)[1]], **{k: v for k, v in schema.items() if k != "$ref"}}
    examples = EXAMPLES.get(path)
    if schema.get("type") == "object":
        return st.fixed_dictionaries({}, optional={
            name: _strategy(field, definitions, f"{path}.{name}" if path else name) for name, field in schema["properties"].items()
        })
    if schema.get("type") == "array":
        return st.lists(st.sampled_from(examples), max_size=3) if examples else st.lists(_strategy(schema["items"], definitions, path), max_size=3)
    choices = [schema["default"]] if "default" in schema else []
    if "enum" in schema:
        # One value outside the choices, of the same type.
        return st.sampled_from([*schema["enum"], 1 + max(schema["enum"]) if schema["type"] == "integer" else "none"])
    if schema.get("type") in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum"))
        high = schema.get("maximum", schema.get("exclusiveMaximum"))
        step = 1 if schema["type"] == "integer" else 0.01
        edges = [value for bound in (low, high) if bound is not None for value in (bound - step, bound, bound + step)]
        inside = (st.integers(low, high) if schema["type"] == "integer" else st.floats(low, high)) if None not in (low, high) else st.nothing()
        return st.one_of(st.sampled_from(choices + edges), inside)
    if schema.get("type") == "boolean":
        return st.booleans()
    drawn = st.from_regex(schema["pattern"], fullmatch=True) if "pattern" in schema else st.text(max_size=8)
    if "maxLength" in schema:
        drawn = drawn.filter(lambda text: len(text) <= schema["maxLength"] + 1)
    return st.one_of(st.sampled_from(choices + (examples or [])), drawn) if choices or examples else drawn


def configurations() -> st.SearchStrategy[dict[str, Any]]:
    """TOML-shaped mappings over every field of the schema, each absent (its default) or drawn."""
    schema = Config.model_json_schema()
    return _strategy(schema, schema["$defs"], "")


def accept(mapping: dict[str, Any]) -> Config:
    """What build.py accepts: the configuration's validation, then whether its design meets its
    objectives (decided on the render path, checks/budget.py)."""
    from checks.budget import refuse

    cfg = config_from_mapping(mapping)
    refuse(cfg)
    return cfg


def field_paths(model: type = Config, prefix: str = "") -> set[str]:
    """Every field path of the schema, list items as ``[]`` (``alerts.endpoints[].endpoint``)."""
    from pydantic import BaseModel

    paths = set()
    for name, field in model.model_fields.items():
        path, kind = prefix + name, field.annotation
        paths.add(path)
        item = (getattr(kind, "__args__", None) or (None,))[0]
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            paths |= field_paths(kind, path + ".")
        elif isinstance(item, type) and issubclass(item, BaseModel):
            paths |= field_paths(item, path + "[].")
    return paths


def schema_path(field_path: str) -> str:
    return re.sub(r"\[\d+\]", "[]", field_path)


def gate_mapping(mapping: dict[str, Any]) -> list[str]:
    """Render the configuration and run the whole gate for its regions; the problems found.

    Top-level and self-contained, so worker processes can run it.
    """
    from checks.pipeline import GateFailure, gate, write_tree
    from templates.render import render

    cfg = accept(mapping)
    with tempfile.TemporaryDirectory() as directory:
        write_tree(render(cfg), Path(directory))
        try:
            gate(cfg, Path(directory), lambda line: None)
        except GateFailure as failure:
            return [str(failure), *failure.problems]
    return []
