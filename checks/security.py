"""The security scan: checkov, cfn-guard (AWS Control Tower's rules) and cfripper on every
rendered template, zero findings allowed.

Each runs as a subprocess, offline, pinned:
- checkov in its own virtualenv (``.venv-checkov``, ``requirements-checkov.txt``): it pins a
  boto3 older than the project's. ``--skip-download`` keeps it offline. It reads its own
  suppressions (``Metadata.checkov.skip``).
- cfn-guard and the Control Tower rule packs from the npm package
  ``@cdklabs/cdk-validator-cfnguard`` (``scripts/install_cfn_guard.py`` unpacks them into
  ``.cfn-guard/``). Guard reads no suppression Metadata: findings on a resource whose
  ``Metadata.guard.SuppressedRules`` names the rule are dropped here.
- cfripper from the project's virtualenv (its dependencies agree with the project's), with
  the template's parameters resolved (it cannot read a template with unresolved list
  parameters). Findings on a resource whose ``Metadata.cfripper.ignore`` names the rule
  are dropped here.
Every suppression is built by ``templates.suppressions`` with its reason; ``suppressions``
lists them from the rendered templates for review.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from checks.pipeline import template_files
from checks.report import table

ROOT = Path(__file__).resolve().parent.parent
CHECKOV_VENV = ROOT / ".venv-checkov"
CHECKOV = CHECKOV_VENV / "bin" / "checkov"
GUARD_DIR = ROOT / ".cfn-guard"
GUARD = GUARD_DIR / "bin" / "cfn-guard"
GUARD_RULES = GUARD_DIR / "rules" / "control-tower" / "cfn-guard"
CFRIPPER = Path(sys.executable).parent / "cfripper"
EXIT_FAILED = 1
EXIT_CANNOT_SCAN = 2  # a scanner missing, or no templates
# A stand-in for a parameter the render leaves empty (a certificate not yet configured).
PLACEHOLDER_ARN = "arn:aws:acm:region-1:123456789012:certificate/placeholder"

_RESOURCE = re.compile(r"/Resources/([A-Za-z0-9]+)")


class ScanError(Exception):
    """A scanner could not be run, or said something that is not a scan result."""


class ScannerMissing(ScanError):
    """A scanner has not been installed."""


@dataclass(frozen=True)
class Tools:
    """Where each scanner is."""

    checkov: Path = CHECKOV
    guard: Path = GUARD
    guard_rules: Path = GUARD_RULES
    cfripper: Path = CFRIPPER


@dataclass(frozen=True)
class Failure:
    template: str
    resource: str
    check_id: str
    name: str
    scanner: str = "checkov"


@dataclass(frozen=True)
class Suppression:
    template: str
    resource: str
    check_id: str
    reason: str
    scanner: str = "checkov"


def missing_message(scanner: str, path: Path) -> str:
    how = {
        "checkov": "its own virtualenv, .venv-checkov/",
        "cfn-guard": "unpacked from the pinned npm package into .cfn-guard/",
        "cfripper": "pinned in requirements.txt",
    }[scanner]
    return f"{scanner} is not installed at {path} ({how}): run 'make security', which installs it"


def missing_checkov_message(checkov: Path = CHECKOV) -> str:
    return missing_message("checkov", checkov)


def _require(scanner: str, path: Path) -> None:
    if not path.is_file():
        raise ScannerMissing(missing_message(scanner, path))


def _run(scanner: str, arguments: list[str], what: str):
    """The scanner's report on stdout, parsed; ``ScanError`` when it printed none."""
    _require(scanner, Path(arguments[0]))
    completed = subprocess.run(arguments, capture_output=True, text=True, check=False)
    try:
        return json.loads(completed.stdout)
    except json.JSONDecodeError as exc:
        detail = (completed.stderr.strip() or completed.stdout.strip()).splitlines()[-1:] or ["no output"]
        raise ScanError(f"{scanner} exited {completed.returncode} without {what}: {detail[0]}") from exc


# --- checkov ------------------------------------------------------------------------------


def run_checkov(templates: list[Path], checkov: Path = CHECKOV) -> list[dict]:
    """checkov's JSON reports for ``templates`` (one per framework; here cloudformation only)."""
    arguments = [str(checkov), "--framework", "cloudformation", "--output", "json", "--quiet", "--skip-download"]
    for path in templates:
        arguments += ["--file", str(path)]
    reports = _run("checkov", arguments, "a JSON report")
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
    return found


# --- cfn-guard ----------------------------------------------------------------------------


def run_guard(template: Path, guard: Path = GUARD, rules: Path = GUARD_RULES) -> list[Failure]:
    """cfn-guard's findings for one template: (rule, resource) from its SARIF report."""
    arguments = [str(guard), "validate", "--rules", str(rules), "--data", str(template)]
    arguments += ["--output-format", "sarif", "--structured", "--show-summary", "none"]
    report = _run("cfn-guard", arguments, "a SARIF report")
    found = set()
    for run in report.get("runs", []):
        for result in run.get("results", []):
            text = result.get("message", {}).get("text", "")
            resource = _RESOURCE.search(text)
            name = text.split("\n", 1)[0][:120]
            found.add(Failure(template.name, resource[1] if resource else "", result["ruleId"], name, "cfn-guard"))
    # Guard reports each failing clause; a rule's verdict on a resource is one finding. A clause
    # that names no resource belongs to the rule's findings that do (a reference it followed).
    attributed = {f.check_id for f in found if f.resource}
    found = {f for f in found if f.resource or f.check_id not in attributed}
    return list({(f.template, f.resource, f.check_id): f for f in sorted(found, key=lambda f: f.name)}.values())


# --- cfripper -----------------------------------------------------------------------------


def resolve_parameters(template: Path) -> dict[str, str]:
    """Values for every parameter of ``template``, as the first stack instance the manifest
    lists gets them (its parameter file), else the parameter's default, else a stand-in."""
    document = json.loads(template.read_text(encoding="utf-8"))
    values = {}
    manifest_path = template.parent / "metadata" / "manifest.json"
    if manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        entries = [e for e in manifest.get("stack_sets", []) if e["template"] == template.name]
        files = [f for e in entries for f in (e.get("parameters") or {}).values()][:1]
        for name in files:
            values.update({p["ParameterKey"]: p["ParameterValue"] for p in json.loads((template.parent / name).read_text())})
        for role in manifest.get("stackset_roles", {}).values():
            if isinstance(role, dict) and role.get("template") == template.name:
                values.update(role.get("parameters", {}))
    resolved = {}
    for name, parameter in document.get("Parameters", {}).items():
        value = values.get(name, parameter.get("Default", ""))
        resolved[name] = value if value != "" else (PLACEHOLDER_ARN if "Arn" in name else "placeholder")
    return resolved


def run_cfripper(template: Path, cfripper: Path = CFRIPPER) -> list[Failure]:
    """cfripper's failures for one template, its parameters resolved."""
    _require("cfripper", cfripper)
    with tempfile.NamedTemporaryFile("w", suffix=".json") as parameters:
        json.dump(resolve_parameters(template), parameters)
        parameters.flush()
        arguments = [str(cfripper), str(template), "--format", "json", "--resolve", "--resolve-parameters", parameters.name]
        report = _run("cfripper", arguments, f"a JSON report on {template.name}")
    if report.get("exceptions"):
        raise ScanError(f"cfripper could not analyse {template.name}: {report['exceptions'][0]}")
    found = set()
    for failure in report.get("failures", []):
        for resource in failure.get("resource_ids") or [""]:
            found.add(Failure(template.name, resource, failure["rule"], failure.get("reason", "")[:120], "cfripper"))
    return list({(f.template, f.resource, f.check_id): f for f in sorted(found, key=lambda f: f.name)}.values())


# --- suppressions -------------------------------------------------------------------------


def suppressions(directory: Path) -> list[Suppression]:
    """Every suppression in the rendered templates of ``directory``, for review."""
    found = []
    for path in template_files(directory):
        for logical_id, resource in json.loads(path.read_text(encoding="utf-8")).get("Resources", {}).items():
            metadata = resource.get("Metadata", {})
            for skip in metadata.get("checkov", {}).get("skip", []):
                found.append(Suppression(path.name, logical_id, skip["id"], skip.get("comment", "")))
            guard = metadata.get("guard", {})
            for rule in guard.get("SuppressedRules", []):
                found.append(Suppression(path.name, logical_id, rule, guard.get("Reasons", {}).get(rule, ""), "cfn-guard"))
            for ignore in metadata.get("cfripper", {}).get("ignore", []):
                found.append(Suppression(path.name, logical_id, ignore["rule"], ignore.get("reason", ""), "cfripper"))
    return found


def unsuppressed(found: list[Failure], directory: Path) -> list[Failure]:
    """Guard's and cfripper's findings less those their resource's Metadata suppresses (checkov
    applies its own)."""
    suppressed = {
        (s.scanner, s.template, s.resource, s.check_id.upper())
        for s in suppressions(directory)
        if s.reason.strip() and s.scanner != "checkov"
    }
    return [f for f in found if (f.scanner, f.template, f.resource, f.check_id.upper()) not in suppressed]


# --- the scan -----------------------------------------------------------------------------


def scan(directory: Path, tools: Tools = Tools()) -> list[Failure]:
    templates = template_files(directory)
    found = failures(run_checkov(templates, tools.checkov))
    for template in templates:
        found += run_guard(template, tools.guard, tools.guard_rules)
        found += run_cfripper(template, tools.cfripper)
    return sorted(unsuppressed(found, directory), key=lambda f: (f.scanner, f.template, f.resource, f.check_id))


def failure_table(found: list[Failure]) -> list[str]:
    rows = [(f.scanner, f.template, f.resource, f.check_id, f.name) for f in found]
    return table(("scanner", "template", "resource", "check", "name"), rows)


def main(directory: Path, tools: Tools = Tools()) -> int:
    """Scan; print the findings, or the suppressions when there are none.

    0 clean, 1 findings (or a scanner failed), 2 a scanner missing or no templates.
    """
    if not template_files(directory):
        print(f"error: {directory} holds no templates; run 'make templates' first", file=sys.stderr)
        return EXIT_CANNOT_SCAN
    try:
        found = scan(directory, tools)
    except ScannerMissing as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CANNOT_SCAN
    except ScanError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if found:
        for line in failure_table(found):
            print(line)
        print(f"error: security scan: {len(found)} finding(s)", file=sys.stderr)
        return EXIT_FAILED
    skipped = suppressions(directory)
    print(f"checkov, cfn-guard, cfripper: no findings; {len(skipped)} suppressed by resource Metadata:")
    by_reason: dict[tuple[str, str, str], list[str]] = {}
    for skip in skipped:
        by_reason.setdefault((skip.scanner, skip.check_id, skip.reason), []).append(f"{skip.template}:{skip.resource}")
    for (scanner, check_id, reason), where in sorted(by_reason.items()):
        print(f"  {scanner} {check_id} on {', '.join(where)}: {reason}")
    return 0
