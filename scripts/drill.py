"""`make drill`: every failover drill scenario as a table, then a longer property search.

Usage: .venv/bin/python scripts/drill.py [--examples N]
Exit status 1 when a scenario or a searched schedule breaks what must hold.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hypothesis import HealthCheck, given, settings  # noqa: E402

from checks.drill.scenarios import SCENARIOS, table  # noqa: E402
from checks.drill.search import check_schedule, schedules  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the failover drills offline and print what they found.")
    parser.add_argument("--examples", type=int, default=200, help="fault schedules the property search explores (default 200)")
    args = parser.parse_args(argv)
    failed = 0
    for name, scenario in SCENARIOS.items():
        print(f"running {name} ...", file=sys.stderr, flush=True)
        with contextlib.redirect_stdout(io.StringIO()):  # the functions' JSON logs
            report = scenario()
        failed += bool(report.problems)
        print("\n".join(table([report])), flush=True)
    explored, broken = [0], []

    @settings(max_examples=args.examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(schedules)
    def search(schedule):
        explored[0] += 1
        with contextlib.redirect_stdout(io.StringIO()):
            problems = check_schedule(schedule)
        if problems:
            broken.append((schedule, problems))
        if explored[0] % 20 == 0:
            print(f"  {explored[0]} fault schedules explored ...", file=sys.stderr, flush=True)

    search()
    print(f"property search: {explored[0]} fault schedules explored, {len(broken)} broke an invariant")
    for schedule, problems in broken[:5]:
        print(f"  {schedule}: {problems}")
    return 1 if failed or broken else 0


if __name__ == "__main__":
    sys.exit(main())
