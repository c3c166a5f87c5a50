"""`make drill`: the unknowns the drills draw, every scenario as a table, then a longer
property search over worlds and fault schedules, reproducible by its seed.

Usage: .venv/bin/python scripts/drill.py [--examples N] [--seed S] [--replay JSON]
Exit status 1 when a scenario or a searched schedule breaks what must hold; each broken
schedule is printed as one JSON line that --replay runs again.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hypothesis import HealthCheck, given, seed, settings  # noqa: E402

from checks.drill import unknowns  # noqa: E402
from checks.drill.scenarios import SCENARIOS, table, write_reports  # noqa: E402
from checks.drill.search import check_schedule, from_replay, replayable, schedules  # noqa: E402
from templates.config import Config  # noqa: E402

REPORTS_DIR = Path(__file__).resolve().parent.parent / "build" / "drill-reports"
DEFAULT_SEED = 20  # fixed: a red drill is red on every machine until it is fixed


def replay(line: str) -> int:
    try:
        schedule = from_replay(line)
    except (ValueError, KeyError, TypeError) as error:
        print(f"error: --replay takes one JSON line as the search printed it ({error})", file=sys.stderr)
        return 2
    with contextlib.redirect_stdout(io.StringIO()):
        problems = check_schedule(schedule)
    print(json.dumps({"problems": problems}, indent=1))
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the failover drills offline and print what they found.")
    parser.add_argument("--examples", type=int, default=200, help="worlds and fault schedules the property search explores (default 200)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"the search's seed (default {DEFAULT_SEED}); another explores other schedules")
    parser.add_argument("--replay", metavar="JSON", help="run one schedule the search printed, and nothing else")
    parser.add_argument("--reports", type=Path, default=REPORTS_DIR, metavar="DIR",
                        help="where each scenario run's failover report goes, with an index.html (default build/drill-reports/)")
    args = parser.parse_args(argv)
    if args.examples < 0:
        parser.error("--examples must be 0 or more")
    if args.replay is not None:
        return replay(args.replay)
    print("\n".join(unknowns.table(Config())), flush=True)
    failed, reports = 0, []
    for name, scenario in SCENARIOS.items():
        print(f"running {name} ...", file=sys.stderr, flush=True)
        with contextlib.redirect_stdout(io.StringIO()):  # the functions' JSON logs
            report = scenario()
        failed += bool(report.problems)
        reports.append(report)
        print("\n".join(table([report])), flush=True)
    try:
        index = write_reports(reports, args.reports)
    except OSError as error:
        print(f"error: cannot write the failover reports to {args.reports}: {error.strerror or error}", file=sys.stderr)
        return 2
    print(f"failover reports: {index}", flush=True)
    explored, broken = [0], []

    if args.examples:
        @seed(args.seed)
        @settings(max_examples=args.examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(schedules)
        def search(schedule):
            explored[0] += 1
            with contextlib.redirect_stdout(io.StringIO()):
                problems = check_schedule(schedule)
            if problems:
                broken.append((schedule, problems))
            if explored[0] % 20 == 0:
                print(f"  {explored[0]} worlds and fault schedules explored ...", file=sys.stderr, flush=True)

        search()
    print(f"scenarios: {len(SCENARIOS)}, {failed} failed; property search (seed {args.seed}): {explored[0]} worlds and fault "
          f"schedules explored, {len(broken)} broke what must hold")
    for schedule, problems in broken[:5]:
        print(f"  {problems}\n    replay: scripts/drill.py --replay '{replayable(schedule)}'")
    return 1 if failed or broken else 0


if __name__ == "__main__":
    sys.exit(main())
