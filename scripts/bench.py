#!/usr/bin/env python3
"""Benchmarks for the render pipeline, as medians of several cold runs.

Prints: rendering both regions in a fresh interpreter (goal < 1 s), the whole
``make templates`` with dependencies installed (goal < 10 s), and the cfn-lint CLI alone
on the same files, so the pipeline's overhead over linting is visible.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from templates.config import Config  # noqa: E402

RUNS = 5
RENDER_ONLY = "from templates.config import Config; from templates.render import render; render(Config())"


def median_seconds(command: list[str], runs: int = RUNS) -> float:
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def main() -> int:
    cfg = Config()
    templates = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "dr_templates").glob("*.json") if p.name != "manifest.json")
    render = median_seconds([sys.executable, "-c", RENDER_ONLY])
    make_templates = median_seconds(["make", "--no-print-directory", "templates"])
    cfn_lint = median_seconds([str(Path(sys.executable).parent / "cfn-lint"), "--regions", *cfg.regions, "--", *templates])
    print(f"medians of {RUNS} runs")
    print(f"render, both regions, cold process : {render:6.2f} s  (goal < 1 s)")
    print(f"make templates (deps installed)     : {make_templates:6.2f} s  (goal < 10 s)")
    print(f"cfn-lint CLI alone, same files      : {cfn_lint:6.2f} s")
    print(f"make templates / cfn-lint alone     : {make_templates / cfn_lint:6.2f} x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
