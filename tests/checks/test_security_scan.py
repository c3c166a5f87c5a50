"""The security scan: checkov's, cfn-guard's and cfripper's verdicts read, suppressions applied,
tabled and turned into an exit status."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from checks import security
from checks.pipeline import template_files

FAILED_REPORT = {
    "check_type": "cloudformation",
    "results": {
        "failed_checks": [
            {
                "check_id": "CKV_AWS_18",
                "check_name": "Ensure the S3 bucket has access logging enabled",
                "file_path": "/regional.json",
                "resource": "AWS::S3::Bucket.AccessLogBucket",
            },
            {
                "check_id": "CKV_AWS_116",
                "check_name": "Ensure that AWS Lambda function is configured for a Dead Letter Queue(DLQ)",
                "file_path": "/bootstrap.json",
                "resource": "AWS::Lambda::Function.Probe",
            },
        ]
    },
    "summary": {"passed": 3, "failed": 2, "skipped": 0, "parsing_errors": 0, "resource_count": 4},
}
# What checkov prints with --quiet when nothing failed.
PASSED_REPORT = {
    "check_type": "cloudformation",
    "results": {"failed_checks": []},
    "summary": {"passed": 5, "failed": 0, "skipped": 1, "parsing_errors": 0},
}


CLEAN_GUARD = json.dumps({"runs": [{"results": []}]})
CLEAN_CFRIPPER = json.dumps({"exceptions": [], "failures": []})


def fake(tmp_path: Path, name: str, stdout: str, exit_code: int = 0) -> Path:
    """An executable standing in for a scanner that prints ``stdout`` and records its arguments."""
    script = tmp_path / name / "bin" / name
    script.parent.mkdir(parents=True)
    (tmp_path / name / "stdout").write_text(stdout)
    recorded = tmp_path / name / "arguments"
    script.write_text(f'#!/bin/sh\necho "$@" >> {recorded}\ncat {tmp_path / name / "stdout"}\nexit {exit_code}\n')
    os.chmod(script, 0o755)
    return script


def fake_checkov(tmp_path: Path, stdout: str, exit_code: int = 0) -> security.Tools:
    """checkov saying ``stdout``; cfn-guard and cfripper finding nothing."""
    return tools(tmp_path, checkov=(stdout, exit_code))


def tools(tmp_path: Path, checkov=(json.dumps(PASSED_REPORT), 0), guard=(CLEAN_GUARD, 0), cfripper=(CLEAN_CFRIPPER, 0)) -> security.Tools:
    return security.Tools(
        checkov=fake(tmp_path, "checkov", *checkov),
        guard=fake(tmp_path, "cfn-guard", *guard),
        guard_rules=tmp_path,
        cfripper=fake(tmp_path, "cfripper", *cfripper),
    )


def test_failed_checks_are_tabled_sorted_and_fail_the_scan(tmp_path, rendered_dir, capsys):
    checkov = fake_checkov(tmp_path, json.dumps(FAILED_REPORT), exit_code=1)
    assert security.main(rendered_dir, checkov) == 1
    out, err = capsys.readouterr()
    header, rule, first, second = out.splitlines()
    assert header.split() == ["scanner", "template", "resource", "check", "name"]
    assert first.split()[:4] == ["checkov", "bootstrap.json", "Probe", "CKV_AWS_116"]
    assert second.split()[:4] == ["checkov", "regional.json", "AccessLogBucket", "CKV_AWS_18"]
    assert second.endswith("Ensure the S3 bucket has access logging enabled")
    assert "2 finding(s)" in err


def test_checkov_runs_offline_on_every_template_of_the_folder(tmp_path, rendered_dir):
    security.scan(rendered_dir, fake_checkov(tmp_path, json.dumps(PASSED_REPORT)))
    arguments = (tmp_path / "checkov" / "arguments").read_text().split()
    assert "--skip-download" in arguments
    assert arguments[arguments.index("--framework") + 1] == "cloudformation"
    scanned = {Path(arguments[i + 1]).name for i, a in enumerate(arguments) if a == "--file"}
    assert scanned == {path.name for path in template_files(rendered_dir)}
    assert {"regional.json", "bootstrap.json"} <= scanned and "manifest.json" not in scanned


def test_passing_scan_exits_0_and_lists_the_suppressions(tmp_path, rendered_dir, capsys):
    assert security.main(rendered_dir, fake_checkov(tmp_path, json.dumps(PASSED_REPORT))) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"checkov, cfn-guard, cfripper: no findings; {len(security.suppressions(rendered_dir))} suppressed")
    assert "checkov CKV_AWS_260 on regional.json:LoadBalancerSecurityGroup: " in out
    assert "cfripper PublicELBCheckerRule on regional.json:LoadBalancer: " in out


def test_missing_checkov_virtualenv_says_how_to_create_it(tmp_path, rendered_dir, capsys):
    missing = security.Tools(checkov=tmp_path / ".venv-checkov" / "bin" / "checkov")
    assert security.main(rendered_dir, missing) == security.EXIT_CANNOT_SCAN
    err = capsys.readouterr().err
    assert "checkov is not installed" in err and "make security" in err and ".venv-checkov" in err


@pytest.mark.parametrize(
    "stdout, message",
    [
        ("Traceback (most recent call last): boom", "without a JSON report"),
        (json.dumps({"summary": {**PASSED_REPORT["summary"], "parsing_errors": 1}}), "could not parse 1"),
    ],
)
def test_a_scan_that_did_not_happen_fails(tmp_path, rendered_dir, capsys, stdout, message):
    assert security.main(rendered_dir, fake_checkov(tmp_path, stdout, exit_code=2)) == 1
    assert message in capsys.readouterr().err


def test_a_folder_without_templates_is_not_a_clean_scan(tmp_path, capsys):
    assert security.main(tmp_path, fake_checkov(tmp_path, json.dumps(PASSED_REPORT))) == security.EXIT_CANNOT_SCAN
    assert "holds no templates" in capsys.readouterr().err


def test_every_suppression_has_a_reason(rendered_dir):
    skips = security.suppressions(rendered_dir)
    assert {skip.scanner for skip in skips} == {"checkov", "cfn-guard", "cfripper"}, "each scanner's suppressions are read"
    assert all(skip.reason.strip() for skip in skips)
    assert all(skip.check_id.startswith("CKV") for skip in skips if skip.scanner == "checkov")


def _sarif(*results: tuple[str, str]) -> str:
    """cfn-guard's SARIF: one result per (rule, message)."""
    return json.dumps({"runs": [{"results": [{"ruleId": rule, "message": {"text": text}} for rule, text in results]}]})


def test_guard_and_cfripper_findings_fail_unless_their_resource_suppresses_the_rule(tmp_path, rendered_dir, capsys):
    guard = _sarif(
        ("SQS_DLQ_CHECK", "property [RedrivePolicy] is missing. Path=/Resources/RelayDeadLetterQueue/Properties"),
        ("SQS_DLQ_CHECK", "property [RedrivePolicy] is missing. Path=/Resources/RelayQueue/Properties"),
        ("SQS_DLQ_CHECK", "a clause that names no resource"),
        ("S3_BUCKET_VERSIONING_ENABLED_CHECK", "a rule whose only finding names no resource"),
    )
    cfripper = json.dumps(
        {
            "exceptions": [],
            "failures": [
                {"rule": "PublicELBCheckerRule", "resource_ids": ["LoadBalancer"], "reason": "public"},
                {"rule": "WildcardResourceRule", "resource_ids": ["ExecutionRole"], "reason": "wildcard"},
            ],
        }
    )
    found = security.scan(rendered_dir, tools(tmp_path, guard=(guard, 19), cfripper=(cfripper, 2)))
    # The stand-ins say the same of every template: regional.json holds these resources.
    where = {(f.scanner, f.resource, f.check_id) for f in found if f.template == "regional.json"}
    assert ("cfn-guard", "RelayQueue", "SQS_DLQ_CHECK") in where, "a queue with a redrive policy suppresses nothing"
    assert ("cfn-guard", "RelayDeadLetterQueue", "SQS_DLQ_CHECK") not in where, "suppressed next to the resource"
    assert ("cfn-guard", "", "SQS_DLQ_CHECK") not in where, "a clause of a finding that names its resource"
    assert ("cfn-guard", "", "S3_BUCKET_VERSIONING_ENABLED_CHECK") in where, "nothing to suppress it on: fix it"
    assert ("cfripper", "LoadBalancer", "PublicELBCheckerRule") not in where
    assert ("cfripper", "ExecutionRole", "WildcardResourceRule") in where, "suppressed on other resources only"
    assert security.main(rendered_dir, tools(tmp_path / "again", guard=(guard, 19), cfripper=(cfripper, 2))) == 1


def test_cfripper_reads_each_template_with_its_parameters_resolved(tmp_path, rendered_dir):
    security.scan(rendered_dir, tools(tmp_path))
    calls = (tmp_path / "cfripper" / "arguments").read_text().splitlines()
    assert {Path(call.split()[0]).name for call in calls} == {path.name for path in template_files(rendered_dir)}
    assert all("--resolve" in call.split() and "--resolve-parameters" in call.split() for call in calls)
    regional = security.resolve_parameters(rendered_dir / "regional.json")
    document = json.loads((rendered_dir / "regional.json").read_text())
    assert set(regional) == set(document["Parameters"]) and all(regional.values()), "every parameter has a value"


@pytest.mark.parametrize("scanner", ["cfn-guard", "cfripper"])
def test_a_missing_scanner_says_how_to_install_it(tmp_path, rendered_dir, capsys, scanner):
    given = tools(tmp_path)
    absent = tmp_path / "absent" / scanner
    missing = security.Tools(
        checkov=given.checkov,
        guard=absent if scanner == "cfn-guard" else given.guard,
        guard_rules=tmp_path,
        cfripper=absent if scanner == "cfripper" else given.cfripper,
    )
    assert security.main(rendered_dir, missing) == security.EXIT_CANNOT_SCAN
    err = capsys.readouterr().err
    assert f"{scanner} is not installed" in err and "make security" in err


def test_a_cfripper_exception_is_no_clean_scan(tmp_path, rendered_dir, capsys):
    broken = json.dumps({"exceptions": ["ValueError: cannot resolve"], "failures": []})
    assert security.main(rendered_dir, tools(tmp_path, cfripper=(broken, 3))) == 1
    assert "cfripper could not analyse" in capsys.readouterr().err


@pytest.mark.skipif(
    not (security.CHECKOV.is_file() and security.GUARD.is_file() and security.CFRIPPER.is_file()),
    reason="a scanner is absent: 'make security' installs them",
)
def test_rendered_templates_pass_every_scanner(rendered_dir):
    assert security.scan(rendered_dir) == []
