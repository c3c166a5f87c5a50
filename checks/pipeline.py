"""Render, gate, and publish: the output directory changes only when everything passed.

The files are written to a staging directory beside the target, measured against
CloudFormation's limits and linted there, and only then swapped into place. A failure
at any step leaves the previous output exactly as it was.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from checks import budget, iam_proof, limits
from checks.errors import GateFailure, OutputError
from checks.lint import describe, in_worker, lint
from checks.lint import start as start_linting
from checks.report import say
from templates.config import Config
from templates.layout import MANIFEST
from templates.render import artifacts, render


def template_files(directory: Path) -> list[Path]:
    """The CloudFormation templates of an output directory (parameters and metadata live in subfolders)."""
    return sorted(directory.glob("*.json"))


def write_tree(files: dict[str, bytes], root: Path) -> None:
    """Write ``files`` below ``root``; ``OutputError`` when the file system refuses."""
    for relative, content in files.items():
        path = root / relative
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        except OSError as exc:
            raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None


def gate(cfg: Config, directory: Path, progress: Callable[[str], None]) -> None:
    """Raise ``GateFailure`` unless every template is within limits, lint-clean in every
    region, and the design meets the RTO/RPO objectives."""
    regions = cfg.regions
    templates = template_files(directory)
    sizes = [limits.measure(path) for path in templates]
    for size in sizes:
        progress(size.summary())
    problems = [problem for size in sizes for problem in size.problems()]
    if problems:
        raise GateFailure("templates exceed CloudFormation limits", problems)
    progress(f"cfn-lint: {len(templates)} template(s) for {', '.join(regions)}")
    # The IAM proof reads the same files: proved beside cfn-lint (its schemas), reported after it.
    proof = in_worker(iam_proof.prove, directory)
    findings = lint(templates, regions)
    if findings:
        raise GateFailure(
            f"cfn-lint found {len(findings)} problem(s)", [describe(match, directory) for match in findings]
        )
    denied = proof.result()
    if denied:
        raise GateFailure(f"IAM proof found {len(denied)} problem(s)", iam_proof.report(denied))
    report = budget.compute(cfg, directory)
    for line in report.table():
        progress(line)
    if report.problems():
        raise GateFailure("the design cannot meet the objectives", report.problems())


def _check_replaceable(out: Path) -> None:
    """Refuse to replace a directory that is not a previous render: it would lose files."""
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {out}: exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not (out / MANIFEST).is_file():
        raise OutputError(f"--out {out}: holds files that are not a previous render (no {MANIFEST}); not replacing it")


def _make_parents(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; the ones created, deepest first."""
    missing = [path for path in (folder, *folder.parents) if not path.exists()]
    for path in reversed(missing):
        path.mkdir()
    return missing


def publish(
    cfg: Config, out: Path, build_dir: Path, progress: Callable[[str], None] = say, config_file: str | None = None
) -> None:
    """Render ``cfg`` into ``out`` atomically: staged, gated, then swapped in; the Lambda
    zips the templates refer to go to ``build_dir`` (ignored by git, uploaded by deploy).

    A failure leaves the file system as it was, folders created on the way included;
    one that is the file system's (read-only, a file where a folder should be) is an
    ``OutputError``."""
    out = out.resolve()
    _check_replaceable(out)
    created: list[Path] = []
    retired = out.parent / f".{out.name}.previous-{os.getpid()}"
    staging = None
    published = False
    try:
        created = _make_parents(out.parent)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.staging-", dir=out.parent))
        staging.chmod(0o755)  # mkdtemp makes it private; the published folder should not be
        start_linting()  # cfn-lint's workers load its rules while this process renders
        try:
            files = render(cfg, config_file)
        except (ValueError, TypeError) as exc:
            # troposphere validates at construction (types, 500 resources): report, don't trace.
            raise GateFailure("rendering failed", [str(exc)]) from exc
        write_tree(files, staging)
        gate(cfg, staging, progress)
        write_tree(artifacts(), build_dir)
        if out.exists():
            out.rename(retired)
        staging.rename(out)
        published = True
    except OSError as exc:
        raise OutputError(f"--out {out}: cannot write there: {exc.strerror or exc}") from None
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(retired, ignore_errors=True)
        if created and not published:
            shutil.rmtree(created[-1], ignore_errors=True)  # the topmost folder created: all inside is ours
    progress(f"rendered {out}")


def stale_files(cfg: Config, out: Path, config_file: str | None = None) -> list[str]:
    """Files of ``out`` that differ from a fresh render, are missing, or should not be there."""
    expected = render(cfg, config_file)
    present = {
        path.relative_to(out).as_posix()
        for path in out.rglob("*")
        if path.is_file()
    } if out.is_dir() else set()
    differing = []
    for relative in sorted(set(expected) | present):
        if relative not in expected:
            differing.append(f"{relative} (not part of a fresh render)")
        elif relative not in present:
            differing.append(f"{relative} (missing)")
        elif (out / relative).read_bytes() != expected[relative]:
            differing.append(f"{relative} (differs)")
    return differing
