"""The security scan: checkov on every rendered template, zero failed checks allowed.

checkov lives in its own virtualenv (``.venv-checkov``, pinned by
``requirements-checkov.txt``) because it pins a boto3 older than the project's, so it
runs as a subprocess. ``--skip-download`` keeps it offline (it would otherwise fetch
guidelines from Prisma Cloud). A check that does not apply is skipped by resource
Metadata built with ``templates.suppressions.checkov_skip``; ``suppressions`` lists them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from checks.pipeline import template_files
from checks.report import table

ROOT = Path(__file__).resolve().parent.parent
CHECKOV_VENV = ROOT / ".venv-checkov"
CHECKOV = CHECKOV_VENV / "bin" / "checkov"
EXIT_FAILED = 1
EXIT_CANNOT_SCAN = 2  # no checkov, or no templates


class ScanError(Exception):
    """checkov could not be run, or said something that is not a scan result."""


class CheckovMissing(ScanError):
    """The checkov virtualenv has not been created."""


@dataclass(frozen=True)
class Failure:
    template: str
    resource: str
    check_id: str
    name: str


@dataclass(frozen=True)
class Suppression:
    template: str
    resource: str
    check_id: str
    reason: str


def missing_checkov_message(checkov: Path = CHECKOV) -> str:
    return (
        f"checkov is not installed at {checkov} (it needs its own virtualenv, {checkov.parent.parent.name}/): "
        "run 'make security', which creates it from requirements-checkov.txt"
    )


def run_checkov(templates: list[Path], checkov: Path = CHECKOV) -> list[dict]:
    """checkov's JSON reports for ``templates`` (one per framework; here cloudformation only)."""
    if not checkov.is_file():
        raise CheckovMissing(missing_checkov_message(checkov))
    arguments = [str(checkov), "--framework", "cloudformation", "--output", "json", "--quiet", "--skip-download"]
    for path in templates:
        arguments += ["--file", str(path)]
    completed = subprocess.run(arguments, capture_output=True, text=True, check=False)
    try:
        reports = json.loads(completed.stdout)
    except json.JSONDecodeError as exc:
        detail = (completed.stderr.strip() or completed.stdout.strip()).splitlines()[-1:] or ["no output"]
        raise ScanError(f"checkov exited {completed.returncode} without a JSON report: {detail[0]}") from exc
    return reports if isinstance(reports, list) else [reports]


def failures(reports: list[dict]) -> list[Failure]:
    """Failed checks of checkov's reports; ``ScanError`` if it could not parse a template
    (it would check nothing there). With nothing to scan checkov prints only a summary."""
    found = []
    for report in reports:
        summary = report.get("summary", report)
        if summary.get("parsing_errors"):
            raise ScanError(f"checkov could not parse {summary['parsing_errors']} template(s)")
        for check in report.get("results", {}).get("failed_checks", []):
            _, _, logical_id = check["resource"].rpartition(".")  # "AWS::S3::Bucket.Name"
            found.append(Failure(Path(check["file_path"]).name, logical_id, check["check_id"], check["check_name"]))
    return sorted(found, key=lambda failure: (failure.template, failure.resource, failure.check_id))


def suppressions(directory: Path) -> list[Suppression]:
    """Every checkov skip in the rendered templates of ``directory``, for review."""
    found = []
    for path in template_files(directory):
        for logical_id, resource in json.loads(path.read_text(encoding="utf-8")).get("Resources", {}).items():
            for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
                found.append(Suppression(path.name, logical_id, skip["id"], skip.get("comment", "")))
    return found


def failure_table(found: list[Failure]) -> list[str]:
    rows = [(failure.template, failure.resource, failure.check_id, failure.name) for failure in found]
    return table(("template", "resource", "check", "name"), rows)


def scan(directory: Path, checkov: Path = CHECKOV) -> list[Failure]:
    return failures(run_checkov(template_files(directory), checkov))


def main(directory: Path, checkov: Path = CHECKOV) -> int:
    """Scan; print the failed checks, or the suppressions when there are none.

    0 clean, 1 failed checks (or checkov failed), 2 no checkov or no templates.
    """
    if not template_files(directory):
        print(f"error: {directory} holds no templates; run 'make templates' first", file=sys.stderr)
        return EXIT_CANNOT_SCAN
    try:
        found = scan(directory, checkov)
    except CheckovMissing as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CANNOT_SCAN
    except ScanError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if found:
        for line in failure_table(found):
            print(line)
        print(f"error: checkov: {len(found)} failed check(s)", file=sys.stderr)
        return EXIT_FAILED
    skipped = suppressions(directory)
    print(f"checkov: no failed checks; {len(skipped)} suppressed by resource Metadata:")
    by_reason: dict[tuple[str, str], list[str]] = {}
    for skip in skipped:
        by_reason.setdefault((skip.check_id, skip.reason), []).append(f"{skip.template}:{skip.resource}")
    for (check_id, reason), where in sorted(by_reason.items()):
        print(f"  {check_id} on {', '.join(where)}: {reason}")
    return 0
