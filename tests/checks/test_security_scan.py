"""The security scan: checkov's verdict read, tabled and turned into an exit status."""

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


def fake_checkov(tmp_path: Path, stdout: str, exit_code: int = 0) -> Path:
    """An executable standing in for checkov that prints ``stdout`` and records its arguments."""
    script = tmp_path / "bin" / "checkov"
    script.parent.mkdir(parents=True)
    (tmp_path / "stdout").write_text(stdout)
    script.write_text(f'#!/bin/sh\necho "$@" > {tmp_path / "arguments"}\ncat {tmp_path / "stdout"}\nexit {exit_code}\n')
    os.chmod(script, 0o755)
    return script


def test_failed_checks_are_tabled_sorted_and_fail_the_scan(tmp_path, rendered_dir, capsys):
    checkov = fake_checkov(tmp_path, json.dumps(FAILED_REPORT), exit_code=1)
    assert security.main(rendered_dir, checkov) == 1
    out, err = capsys.readouterr()
    header, rule, first, second = out.splitlines()
    assert header.split() == ["template", "resource", "check", "name"]
    assert first.split()[:3] == ["bootstrap.json", "Probe", "CKV_AWS_116"]
    assert second.split()[:3] == ["regional.json", "AccessLogBucket", "CKV_AWS_18"]
    assert second.endswith("Ensure the S3 bucket has access logging enabled")
    assert "2 failed check(s)" in err


def test_checkov_runs_offline_on_every_template_of_the_folder(tmp_path, rendered_dir):
    checkov = fake_checkov(tmp_path, json.dumps(PASSED_REPORT))
    security.scan(rendered_dir, checkov)
    arguments = (tmp_path / "arguments").read_text().split()
    assert "--skip-download" in arguments
    assert arguments[arguments.index("--framework") + 1] == "cloudformation"
    scanned = {Path(arguments[i + 1]).name for i, a in enumerate(arguments) if a == "--file"}
    assert scanned == {path.name for path in template_files(rendered_dir)}
    assert {"regional.json", "bootstrap.json"} <= scanned and "manifest.json" not in scanned


def test_passing_scan_exits_0_and_lists_the_suppressions(tmp_path, rendered_dir, capsys):
    assert security.main(rendered_dir, fake_checkov(tmp_path, json.dumps(PASSED_REPORT))) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"checkov: no failed checks; {len(security.suppressions(rendered_dir))} suppressed")
    assert "CKV_AWS_260 on regional.json:LoadBalancerSecurityGroup: " in out


def test_missing_checkov_virtualenv_says_how_to_create_it(tmp_path, rendered_dir, capsys):
    assert security.main(rendered_dir, tmp_path / ".venv-checkov" / "bin" / "checkov") == security.EXIT_CANNOT_SCAN
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
    assert skips, "the templates carry suppressions; an empty list means they are not read"
    assert all(skip.reason.strip() and skip.check_id.startswith("CKV") for skip in skips)


@pytest.mark.skipif(not security.CHECKOV.is_file(), reason="checkov's virtualenv is absent: 'make security' creates it")
def test_rendered_templates_pass_checkov(rendered_dir):
    assert security.scan(rendered_dir) == []
