"""Every configuration a user can write renders and passes the gate, or the validation
refuses it up front in one line that names the field (issue 15).

The matrix's configurations are gated in two worker processes (cfn-lint is most of the
time); the property search samples the schema around them. ``make configs`` runs the
search longer and reports how many configurations it explored.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

import pytest
from hypothesis import HealthCheck, assume, example, given, settings

from checks.config_space import MATRIX, accept, configurations, field_paths, gate_mapping, schema_path
from templates.config import ConfigError
from templates.render import render

# Accepted configurations put through the whole gate (about 6 s each) in `make test`.
GATED_EXAMPLES = int(os.environ.get("CONFIG_GATED_EXAMPLES", "3"))
VALIDATED_EXAMPLES = int(os.environ.get("CONFIG_VALIDATED_EXAMPLES", "150"))
SCHEMA = field_paths()


@pytest.fixture(scope="module")
def matrix_findings() -> dict[str, list[str]]:
    with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("fork")) as pool:
        return dict(zip(MATRIX, pool.map(gate_mapping, MATRIX.values())))


@pytest.mark.parametrize("name", list(MATRIX))
def test_an_ordinary_configuration_passes_the_whole_gate(name, matrix_findings):
    assert matrix_findings[name] == [], "\n".join(matrix_findings[name])


def test_the_matrix_covers_what_the_issue_names():
    regions = {r for m in MATRIX.values() for r in (m.get("primary_region"), m.get("dr_region"))}
    assert {"ap-southeast-4", "ca-west-1", "mx-central-1"} <= regions, "newer regions"
    protocols = {e["protocol"] for m in MATRIX.values() for e in m.get("alerts", {}).get("endpoints", [])}
    assert protocols == {"email", "https", "sqs", "lambda"}
    assert any(m.get("database", {}).get("primary_instances") == 1 for m in MATRIX.values())
    assert any(m.get("runbook", {}).get("automatic_trigger") for m in MATRIX.values())


@settings(max_examples=VALIDATED_EXAMPLES, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(configurations())
def test_the_validation_refuses_in_one_line_naming_a_field_or_the_configuration_renders(mapping):
    try:
        cfg = accept(mapping)
    except ConfigError as refused:
        assert "\n" not in str(refused)
        assert schema_path(refused.field_path) in SCHEMA, f"{refused.field_path!r} is not a field"
        return
    assert render(cfg)["regional.json"]


@settings(
    max_examples=GATED_EXAMPLES, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(configurations())
# Found by this search: a lag threshold of 7866.565093496811 ms held twelve digits the gate takes for an account id.
@example({"alerts": {"lag_alarm_fraction_of_rpo": 0.13110941822494684}})
# And an engine version the gate's E3690 refuses (now refused by the validation: assumed away).
@example({"database": {"engine_version": "11.0"}})
def test_whatever_the_validation_accepts_passes_the_whole_gate(mapping):
    try:
        accept(mapping)
    except ConfigError:
        assume(False)
    assert gate_mapping(mapping) == []
