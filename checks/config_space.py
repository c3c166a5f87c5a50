"""The configurations users write, and the space around them, each put through the gate.

``MATRIX`` names the ordinary ones (tests/checks/test_config_matrix.py gates every one);
``configurations()`` is a hypothesis strategy over the schema's fields with values on both
sides of each rule, for the property that whatever the validation accepts renders and
passes the gate, and whatever it refuses is refused in one line naming a field.
"""

from __future__ import annotations

import dataclasses
import re
import tempfile
import typing
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
]


def _some(values: list) -> st.SearchStrategy:
    return st.sampled_from(values)


def configurations() -> st.SearchStrategy[dict[str, Any]]:
    """TOML-shaped mappings: each field absent (its default) or one of a few values, most valid."""
    return st.fixed_dictionaries(
        {},
        optional={
            "project": _some(["trading", "fx", "t", "Trading", "a" * 20]),
            "environment_suffix": _some(["dev", "prod", "pr-42", "a" * 10, "a" * 17, "a" * 30, "x-"]),
            "primary_region": _some(REGIONS),
            "dr_region": _some(REGIONS),
            "stackset_administration_region": _some(["", "us-east-2", "eu-west-2", "us-gov-west-1"]),
            "network": st.fixed_dictionaries({}, optional={
                "primary_vpc_cidr": _some(["10.10.0.0/16", "10.10.0.0/22", "10.10.0.0/23", "172.16.0.0/12", "8.8.0.0/16"]),
                "dr_vpc_cidr": _some(["10.20.0.0/16", "10.20.0.0/22", "192.168.0.0/20"]),
                "az_count": st.integers(0, 4),
                "nat_gateways": _some(["per-az", "single", "none"]),
            }),
            "database": st.fixed_dictionaries({}, optional={
                "primary_instances": st.integers(0, 4),
                "dr_instances": st.integers(0, 4),
                "engine_version": _some(["16.8", "15.10", "16"]),
                "backup_retention_days": _some([3, 7, 35]),
            }),
            "app": st.fixed_dictionaries({}, optional={
                "primary_desired_count": st.integers(0, 6),
                "dr_desired_count": st.integers(0, 4),
                "failover_desired_count": st.integers(0, 6),
                "task_cpu": _some([256, 1024, 300]),
                "task_memory": _some([512, 2048, 4096]),
            }),
            "tracing": st.fixed_dictionaries({}, optional={
                "collector_image_tag": _some(["v0.49.0", "latest", "3.x", "sha256:" + "0" * 64]),
                "enable_transaction_search": st.booleans(),
            }),
            "runbook": st.fixed_dictionaries({}, optional={
                "automatic_trigger": st.booleans(),
                "writer_max_polls": st.integers(1, 40),
                "function_timeout_seconds": _some([30, 60, 300]),
            }),
            "objectives": st.fixed_dictionaries({}, optional={
                "rto_seconds": _some([300, 900, 1800]),
                "rpo_seconds": _some([0, 30, 60, 300]),
                "decision_seconds": _some([60, 300, 900]),
            }),
            "alerts": st.fixed_dictionaries({}, optional={"endpoints": st.lists(_some(ENDPOINTS), max_size=3)}),
            "logs": st.fixed_dictionaries({}, optional={"retention_days": _some([7, 8, 365])}),
            "reports": st.fixed_dictionaries({}, optional={
                "retention_days": _some([0, 30, 365]),
                "object_lock_days": _some([0, 1, 31, 400]),
                "object_lock_mode": _some(["GOVERNANCE", "COMPLIANCE", "LEGAL_HOLD"]),
            }),
        },
    )


def field_paths(cls: type = Config, prefix: str = "") -> set[str]:
    """Every field path of the schema, list items as ``[]`` (``alerts.endpoints[].endpoint``)."""
    paths = set()
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        path, kind = prefix + field.name, hints[field.name]
        paths.add(path)
        if dataclasses.is_dataclass(kind):
            paths |= field_paths(kind, path + ".")
        elif typing.get_origin(kind) is tuple and dataclasses.is_dataclass(typing.get_args(kind)[0]):
            paths |= field_paths(typing.get_args(kind)[0], path + "[].")
    return paths


def schema_path(field_path: str) -> str:
    return re.sub(r"\[\d+\]", "[]", field_path)


def gate_mapping(mapping: dict[str, Any]) -> list[str]:
    """Render the configuration and run the whole gate for its regions; the problems found.

    Top-level and self-contained, so worker processes can run it.
    """
    from checks.pipeline import GateFailure, gate, write_tree
    from templates.render import render

    cfg = config_from_mapping(mapping)
    with tempfile.TemporaryDirectory() as directory:
        write_tree(render(cfg), Path(directory))
        try:
            gate(cfg, Path(directory), lambda line: None)
        except GateFailure as failure:
            return [str(failure), *failure.problems]
    return []
