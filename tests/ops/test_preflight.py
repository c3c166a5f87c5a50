"""deploy refuses, offline and before its first AWS call, what the account would reject or serve wrongly."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import build
from ops import preflight
from ops.errors import EXIT_BAD_INPUT, OpsError
from ops.rendered import load
from templates.layout import MANIFEST

COMMITTED = Path(__file__).resolve().parents[2] / "dr_templates"
CERTIFICATE = "arn:aws:acm:{region}:123456789012:certificate/0a1b2c3d-0000-4000-8000-000000000000"


def _edit_parameters(directory: Path, region: str, **values: str) -> None:
    path = directory / "parameters" / f"{region}.json"
    entries = json.loads(path.read_text())
    for entry in entries:
        entry["ParameterValue"] = values.get(entry["ParameterKey"], entry["ParameterValue"])
    path.write_text(json.dumps(entries))


@pytest.fixture
def deployable(tmp_path) -> Path:
    """The committed render as a real configuration would make it: certificates, no example names."""
    directory = shutil.copytree(COMMITTED, tmp_path / "dr_templates")
    manifest = json.loads((directory / MANIFEST).read_text())
    manifest["placeholders"] = {}
    (directory / MANIFEST).write_text(json.dumps(manifest))
    for region in manifest["configuration"]["primary_region"], manifest["configuration"]["dr_region"]:
        _edit_parameters(directory, region, CertificateArn=CERTIFICATE.format(region=region))
    return directory


def _problems(directory: Path) -> list[str]:
    with pytest.raises(OpsError) as refused:
        preflight.check_deployable(load(directory))
    assert refused.value.exit_status == EXIT_BAD_INPUT
    return refused.value.details


def test_the_default_render_is_refused_before_any_aws_call_one_line_per_problem(monkeypatch, capsys):
    monkeypatch.setattr("ops.aws.Aws.client", lambda *a, **k: pytest.fail("deploy made an AWS client"))
    assert build.main(["deploy"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].endswith("cannot be deployed (4 problem(s)); nothing was sent to AWS")
    assert err[1:3] == [
        "  dns.domain_name is still the example 'trading.example.com': set it in the configuration and re-render",
        "  dns.hosted_zone_id is still the example 'Z00000000EXAMPLE': set it in the configuration and re-render",
    ]
    assert all("CertificateArn '' does not match" in line for line in err[3:]) and len(err) == 5


def test_a_render_of_a_real_configuration_passes(deployable):
    preflight.check_deployable(load(deployable))


def test_each_constraint_cloudformation_checks_is_checked(deployable):
    rendered = load(deployable)
    region = rendered.stack_sets[1].regions[1]
    _edit_parameters(
        deployable,
        region,
        RegionRole="tertiary",
        AppMinCount="40",
        PeerRegion="Mars",
    )
    *_, file = rendered.stack_sets[1].parameter_files[region].split("/")
    problems = _problems(deployable)
    assert [problem.split(":")[0] for problem in problems] == [f"parameters/{file}"] * 3
    assert any("AppMinCount '40' must be a number from 1 to 12" in problem for problem in problems)
    assert any("PeerRegion 'Mars' does not match" in problem for problem in problems)
    assert any("RegionRole 'tertiary' is not one of primary, secondary" in problem for problem in problems)


def test_a_list_parameter_s_pattern_applies_to_each_item():
    spec = {"Type": "CommaDelimitedList", "AllowedPattern": r"^\d+$"}
    assert preflight._violation("Counts", "1,2,3", spec) is None
    assert preflight._violation("Counts", "1,x", spec) == r"Counts '1,x' does not match ^\d+$"
