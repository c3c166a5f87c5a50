#!/usr/bin/env python3
"""Benchmarks for the render pipeline, as medians of several cold runs.

Prints: rendering both regions in a fresh interpreter (goal < 1 s), the whole
``make templates`` with dependencies installed (goal < 10 s), the cfn-lint CLI alone
on the same files, so the pipeline's overhead over linting is visible, and the cold
import time of each runbook handler (goal < 300 ms).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from checks.pipeline import template_files  # noqa: E402
from templates.config import Config  # noqa: E402

RUNS = 5
HANDLERS = ("admit_automatic_run", "promote_database", "wait_for_writer", "scale_service", "switch_traffic", "notify")
RENDER_ONLY = "from templates.config import Config; from templates.render import render; render(Config())"


def median_seconds(command: list[str], runs: int = RUNS) -> float:
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def import_milliseconds(module: str, runs: int = RUNS) -> float:
    """Cold import of a runbook handler (boto3 included), from ``python -X importtime``."""
    timings = []
    for _ in range(runs):
        result = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", f"import runbook.{module}"],
            cwd=ROOT / "lambdas", check=True, capture_output=True, text=True,
        )
        line = next(line for line in result.stderr.splitlines() if line.rstrip().endswith(f"runbook.{module}"))
        timings.append(int(line.split("|")[1]) / 1000)
    return statistics.median(timings)


def main() -> int:
    cfg = Config()
    templates = [str(path.relative_to(ROOT)) for path in template_files(ROOT / "dr_templates")]
    render = median_seconds([sys.executable, "-c", RENDER_ONLY])
    make_templates = median_seconds(["make", "--no-print-directory", "templates"])
    cfn_lint = median_seconds([str(Path(sys.executable).parent / "cfn-lint"), "--regions", *cfg.regions, "--", *templates])
    print(f"medians of {RUNS} runs")
    print(f"render, both regions, cold process : {render:6.2f} s  (goal < 1 s)")
    print(f"make templates (deps installed)     : {make_templates:6.2f} s  (goal < 10 s)")
    print(f"cfn-lint CLI alone, same files      : {cfn_lint:6.2f} s")
    print(f"make templates / cfn-lint alone     : {make_templates / cfn_lint:6.2f} x")
    for module in HANDLERS:
        print(f"cold import runbook.{module:<20}: {import_milliseconds(module):6.0f} ms  (goal < 300 ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
