"""Render → gate → publish: deterministic, atomic, and refusing what must not ship."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from troposphere import cloudformation, ec2

from checks import limits
from checks.errors import GateFailure, OutputError
from checks.lint import lint
from checks.pipeline import publish, stale_files, template_files
from templates import stack
from templates.config import Config
from templates.layout import BOOTSTRAP_PARAMETERS, MANIFEST, TRAFFIC_TIMING
from templates.security import DEPLOYER_PARAMETER
from templates.render import render

ROOT = Path(__file__).resolve().parents[2]


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {p.relative_to(directory).as_posix(): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def test_two_renders_are_byte_identical(cfg):
    assert render(cfg) == render(Config())


def test_output_holds_templates_parameters_per_region_and_a_manifest(cfg, rendered, template):
    assert set(rendered) == {
        "bootstrap.json",
        "regional.json",
        "route53_alarms.json",
        "parameters/route53_alarms.json",
        BOOTSTRAP_PARAMETERS,
        "stackset_administration_role.json",
        "stackset_execution_role.json",
        MANIFEST,
        TRAFFIC_TIMING,
        *(f"parameters/{r}.json" for r in cfg.regions),
    }
    manifest = json.loads(rendered[MANIFEST])
    assert [s["template"] for s in manifest["stack_sets"]] == ["bootstrap.json", "regional.json", "route53_alarms.json"]
    assert [s["regions"] for s in manifest["stack_sets"]] == [
        [cfg.primary_region, cfg.dr_region],
        [cfg.primary_region, cfg.dr_region],
        [cfg.route53_metrics_region],
    ]
    assert manifest["operation_preferences"] == {
        "RegionConcurrencyType": "SEQUENTIAL",
        "RegionOrder": [cfg.primary_region, cfg.dr_region],
        "MaxConcurrentCount": 1,
        "FailureToleranceCount": 0,
    }
    regional = manifest["stack_sets"][1]
    for region in cfg.regions:
        overrides = json.loads(rendered[regional["parameters"][region]])
        assert {item["ParameterKey"] for item in overrides} == set(template["Parameters"]), "overrides must be complete"
    # The bootstrap's one parameter names the execution role in its key policy; the same value everywhere.
    bootstrap = manifest["stack_sets"][0]
    assert set(json.loads(rendered["bootstrap.json"])["Parameters"]) == {DEPLOYER_PARAMETER}
    assert {bootstrap["parameters"][region] for region in bootstrap["regions"]} == {BOOTSTRAP_PARAMETERS}


def _strings(node):
    if isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)
    elif isinstance(node, str):
        yield node


@pytest.mark.parametrize("name", ["bootstrap.json", "regional.json", "route53_alarms.json"])
def test_templates_have_no_region_account_or_partition_literal(rendered, name):
    from cfnlint.helpers import REGIONS

    for text in _strings(json.loads(rendered[name])):
        assert not any(region in text for region in REGIONS), text
        assert "arn:aws" not in text, text
        assert not any(word.isdigit() and len(word) == 12 for word in text.replace(":", " ").split()), text


def test_publish_twice_changes_nothing(tmp_path, cfg):
    out = tmp_path / "out"
    publish(cfg, out, tmp_path / "build", progress=lambda _: None)
    first = _snapshot(out)
    publish(cfg, out, tmp_path / "build", progress=lambda _: None)
    assert _snapshot(out) == first
    assert stale_files(cfg, out) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["build", "out"], "no staging or retired folders are left behind"
    (key,) = json.loads((out / MANIFEST).read_text())["artifacts"]["objects"]
    assert (tmp_path / "build" / key).is_file(), "the zip the template refers to is built"


def test_lint_failure_leaves_previous_output_untouched(tmp_path, cfg, monkeypatch):
    out = tmp_path / "out"
    publish(cfg, out, tmp_path / "build", progress=lambda _: None)
    before = _snapshot(out)
    build = stack.build_regional_template

    def broken(config, functions_key):
        t = build(config, functions_key)
        t.add_resource(ec2.VPC("BrokenVpc", CidrBlock="not-a-cidr"))
        return t

    monkeypatch.setattr(stack, "build_regional_template", broken)
    with pytest.raises(GateFailure) as caught:
        publish(cfg, out, tmp_path / "build", progress=lambda _: None)
    assert any("regional.json" in problem and "not-a-cidr" in problem for problem in caught.value.problems)
    assert _snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["build", "out"]


def test_resource_limit_names_the_template_and_the_limit(tmp_path):
    path = tmp_path / "regional.json"
    resources = {f"Filler{i}": {"Type": "AWS::CloudFormation::WaitConditionHandle"} for i in range(501)}
    path.write_text(json.dumps({"Resources": resources}))
    assert limits.measure(path).problems() == ["regional.json: 501 resources exceeds the limit of 500"]


def test_construction_error_is_reported_and_nothing_is_published(tmp_path, cfg, monkeypatch):
    build = stack.build_regional_template

    def bloated(config, functions_key):
        t = build(config, functions_key)
        for index in range(limits.MAX_RESOURCES):
            t.add_resource(cloudformation.WaitConditionHandle(f"Filler{index}"))
        return t

    monkeypatch.setattr(stack, "build_regional_template", bloated)
    with pytest.raises(GateFailure) as caught:
        publish(cfg, tmp_path / "out", tmp_path / "build", progress=lambda _: None)
    assert caught.value.problems == ["Maximum number of resources 500 reached"]
    assert list(tmp_path.iterdir()) == []


def test_size_limits_by_url_and_dynamic_references(tmp_path):
    path = tmp_path / "big.json"
    path.write_text(json.dumps({"Resources": {}, "Metadata": {"x": "a" * limits.URL_BODY_BYTES, "refs": ["{{resolve:ssm:p}}"] * 61}}))
    size = limits.measure(path)
    assert not size.fits_inline
    problems = size.problems()
    assert any("big.json" in p and "1000000-byte limit" in p for p in problems)
    assert any("61 dynamic references exceeds the limit of 60" in p for p in problems)


def test_refuses_to_replace_a_directory_that_is_not_a_render(tmp_path, cfg):
    precious = tmp_path / "notes.txt"
    precious.write_text("mine")
    with pytest.raises(OutputError, match="not a previous render"):
        publish(cfg, tmp_path, tmp_path / "build", progress=lambda _: None)
    assert precious.read_text() == "mine"


def test_stale_files_lists_changed_missing_and_extra_files(tmp_path, cfg):
    out = tmp_path / "out"
    publish(cfg, out, tmp_path / "build", progress=lambda _: None)
    (out / "regional.json").write_text("{}")
    (out / f"parameters/{cfg.dr_region}.json").unlink()
    (out / "extra.json").write_text("{}")
    assert stale_files(cfg, out) == [
        "extra.json (not part of a fresh render)",
        "parameters/us-west-2.json (missing)",
        "regional.json (differs)",
    ]


def test_committed_output_is_a_fresh_render(cfg):
    assert stale_files(cfg, ROOT / "dr_templates") == []


def test_rendered_templates_lint_clean_in_both_regions(tmp_path, cfg, rendered):
    for relative, content in rendered.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_bytes(content)
    findings = lint(template_files(tmp_path), cfg.regions)
    assert [f"{m.rule.id} {m.message}" for m in findings] == []


def test_lint_catches_informational_findings(tmp_path, cfg):
    """The gate includes I-level rules, so a stateful resource without DeletionPolicy fails."""
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"Resources": {"Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 7}}}}))
    assert "I3011" in {m.rule.id for m in lint([path], cfg.regions)}


def test_lint_runs_the_serverless_rules(tmp_path, cfg):
    """cfn-lint-serverless is part of the gate: a subscription without a dead-letter queue fails (ES7000)."""
    subscription = {"Type": "AWS::SNS::Subscription", "Properties": {"TopicArn": {"Ref": "Topic"}, "Protocol": "sqs", "Endpoint": "x"}}
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}, "Subscription": subscription}}))
    assert "ES7000" in {m.rule.id for m in lint([path], cfg.regions)}
