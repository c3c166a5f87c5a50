#!/usr/bin/env python3
"""trading-dr command line: render, check and lint the DR StackSet templates.

Thin by design: it parses arguments, calls ``templates``/``checks``, prints, and sets the
exit status (0 ok, 1 the work found a problem, 2 bad input such as a configuration error).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from checks import budget
from checks.pipeline import GateFailure, gate, publish, say, stale_files
from templates.config import Config, ConfigError, load_config
from templates.render import ARTIFACTS_DIR, TRAFFIC_TIMING

ROOT = Path(__file__).resolve().parent
DEFAULT_OUT = ROOT / "dr_templates"
EXIT_PROBLEM = 1
EXIT_BAD_INPUT = 2


def _report(message: str, details: list[str] = ()) -> None:
    print(f"error: {message}", file=sys.stderr)
    for line in details:
        print(f"  {line}", file=sys.stderr)


def _render(args: argparse.Namespace, cfg: Config) -> int:
    # The zips go beside the output folder (build/ next to dr_templates/, ignored by git).
    publish(cfg, args.out, args.out.resolve().parent / ARTIFACTS_DIR)
    return 0


def _check(args: argparse.Namespace, cfg: Config) -> int:
    stale = stale_files(cfg, args.out)
    if stale:
        _report(f"{args.out} differs from a fresh render; run 'make templates' and commit the result", stale)
        return EXIT_PROBLEM
    print(f"{args.out} is fresh")
    return 0


def _lint(args: argparse.Namespace, cfg: Config) -> int:
    if not args.out.is_dir():
        _report(f"{args.out} does not exist; run 'make templates' first")
        return EXIT_BAD_INPUT
    gate(cfg, args.out, say)
    print("cfn-lint: clean")
    return 0


def _budget(args: argparse.Namespace, cfg: Config) -> int:
    if not (args.out / TRAFFIC_TIMING).is_file():
        _report(f"{args.out / TRAFFIC_TIMING} does not exist; run 'make templates' first")
        return EXIT_BAD_INPUT
    report = budget.compute(cfg, args.out)
    for line in report.table():
        print(line)
    if report.problems():
        _report("the design cannot meet the objectives", report.problems())
        return EXIT_PROBLEM
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="build.py", description=__doc__.splitlines()[0])
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, handler, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("--config", type=Path, metavar="FILE", help="TOML file overriding the defaults (default: none)")
        sub.add_argument("--out", type=Path, default=DEFAULT_OUT, metavar="DIR", help="output directory (default: dr_templates/)")
        sub.set_defaults(handler=handler)
        return sub

    command("render", _render, "render the templates, gate them (limits, cfn-lint), then replace DIR")
    command("check", _check, "fail, listing the files, when DIR differs from a fresh render")
    command("lint", _lint, "run the limits check, cfn-lint for both regions and the budget on the templates in DIR")
    command("budget", _budget, "worst-case time of each failover phase and the RPO bound, against the objectives")
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        cfg = load_config(args.config)
        return args.handler(args, cfg)
    except ConfigError as exc:
        _report(f"invalid configuration: {exc}")
        return EXIT_BAD_INPUT
    except GateFailure as exc:
        _report(str(exc), exc.problems)
        return EXIT_PROBLEM


if __name__ == "__main__":
    sys.exit(main())
