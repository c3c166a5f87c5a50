"""trading-dr command line: render, check, lint and deploy the DR StackSets, fail over, show status.

Thin by design: it parses arguments, calls ``templates``/``checks``/``ops``, prints, and sets
the exit status: 0 ok; 1 the work found a problem (a gate failure, a stale render, a failed,
refused or unfinished operation, a failed pre-flight check, a region that did not answer);
2 bad input or environment (configuration, arguments, a missing or mismatched render, an
unwritable --out, credentials, missing roles, parameters that cannot deploy). A command
imports what it needs when it runs, so ``--help`` answers at once.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
DEFAULT_OUT = ROOT / "dr_templates"
PICTURES_DIR = "pictures"
EXIT_PROBLEM = 1
EXIT_BAD_INPUT = 2
# The commands that use the configuration on a render refuse one of other regions or names;
# the others take them from the render's manifest and refuse only a --config that disagrees.
USES_CONFIG = {"check", "lint", "budget", "failover", "gameday", "status"}
READS_OUT = "the render to read; only read, never written"
CONFIG_HELP = {
    True: "TOML file overriding the defaults (default: none); must be the one DIR was rendered from",
    False: "TOML file overriding the defaults (default: none); this command takes regions and names from "
    "DIR's manifest and refuses a file that disagrees",
}


def _report(message: str, details: list[str] = ()) -> None:
    print(f"error: {message}", file=sys.stderr)
    for line in details:
        print(f"  {line}", file=sys.stderr)


def _config_file(args: argparse.Namespace) -> str | None:
    """The configuration's path relative to the render folder, as its manifest names it."""
    import os

    return Path(os.path.relpath(args.config.resolve(), args.out.resolve())).as_posix() if args.config else None


def _rendered_from(out: Path) -> tuple[dict, str | None] | None:
    """(configuration identity, config_file) from the manifest of a render in ``out``, if any."""
    import json

    from templates.layout import MANIFEST

    try:
        manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return manifest.get("configuration"), manifest.get("config_file")


def _render(args: argparse.Namespace, cfg) -> int:
    from checks.errors import OutputError
    from checks.pipeline import publish
    from templates.render import ARTIFACTS_DIR, configuration_identity

    previous = _rendered_from(args.out)
    if previous is not None and previous != (configuration_identity(cfg), _config_file(args)) and not args.replace:
        raise OutputError(
            f"{args.out} holds the render of another configuration ({previous[1] or 'the defaults'}, "
            f"{previous[0].get('prefix') if previous[0] else 'unknown'}); render into that configuration's own folder "
            "(--out DEPLOYMENT/dr_templates), or pass --replace to overwrite it"
        )
    # The zips go beside the output folder (build/ next to dr_templates/, ignored by git).
    publish(cfg, args.out, args.out.resolve().parent / ARTIFACTS_DIR, config_file=_config_file(args))
    return 0


def _check(args: argparse.Namespace, cfg) -> int:
    from checks.pipeline import stale_files

    stale = stale_files(cfg, args.out, _config_file(args))
    if stale:
        _report(f"{args.out} differs from a fresh render; run 'make templates' and commit the result", stale)
        return EXIT_PROBLEM
    reference = _stale_reference()
    if reference:
        _report("the configuration's reference differs from the models; run 'build.py schema' and commit the result", reference)
        return EXIT_PROBLEM
    print(f"{args.out} is fresh")
    return 0


def _stale_reference() -> list[str]:
    from templates.config_reference import files

    return [f"{path} ({'differs' if (ROOT / path).is_file() else 'missing'})"
            for path, text in files().items() if not (ROOT / path).is_file() or (ROOT / path).read_text(encoding="utf-8") != text]


def _schema(args: argparse.Namespace, cfg) -> int:
    from templates.config_reference import files

    for path, text in files().items():
        (ROOT / path).write_text(text, encoding="utf-8")
        print(ROOT / path)
    return 0


def _lint(args: argparse.Namespace, cfg) -> int:
    from checks.pipeline import gate
    from checks.report import say

    gate(cfg, args.out, say)
    print(f"cfn-lint: clean ({', '.join(cfg.regions)})")
    return 0


def _budget(args: argparse.Namespace, cfg) -> int:
    from checks import budget
    from templates.layout import TRAFFIC_TIMING

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


def _failover(args: argparse.Namespace, cfg) -> int:
    from ops.failover import run_failover  # boto3 and the ops code only for AWS commands

    return run_failover(
        cfg,
        args.to,
        mode=args.mode,
        accept_data_loss=args.accept_data_loss,
        dry_run=args.dry_run,
        session=_session(args),
        failover_id=args.failover_id,
        timeout_seconds=args.timeout * 60,
    )


def _gameday(args: argparse.Namespace, cfg) -> int:
    from ops.gameday import run_gameday

    return run_gameday(
        cfg, args.to, mode=args.mode, accept_data_loss=args.accept_data_loss, failback=args.failback,
        session=_session(args), reports=args.reports, timeout_seconds=args.timeout * 60, fis_wait_seconds=args.fis_wait * 60,
    )


def _status(args: argparse.Namespace, cfg) -> int:
    from ops.failover import run_status

    return run_status(cfg, session=_session(args))


def _failover_report(args: argparse.Namespace, cfg) -> int:
    from ops.report import run_report

    return run_report(cfg, args.failover_id, args.region, args.reports, session=_session(args), open_page=args.open)


def _session(args: argparse.Namespace):
    import boto3
    import botocore.exceptions

    try:
        return boto3.Session(profile_name=args.profile) if args.profile else None
    except botocore.exceptions.ProfileNotFound as exc:
        from templates.config import ConfigError

        raise ConfigError("--profile", str(exc)) from None


def _package(args: argparse.Namespace, cfg) -> int:
    from checks.pipeline import write_tree
    from ops.rendered import load
    from templates.render import ARTIFACTS_DIR, artifacts

    files = artifacts()
    build_dir = args.out.resolve().parent / ARTIFACTS_DIR
    write_tree(files, build_dir)
    for key in files:
        print(build_dir / key)
    if set(files) != set(load(args.out).artifacts.objects):
        _report(f"lambdas/ changed since {args.out} was rendered; run 'make templates'")
        return EXIT_PROBLEM
    return 0


def _stack_sets(args: argparse.Namespace):
    """The rendered folder and a session in its administration region (boto3 only for AWS commands)."""
    from ops.aws import Aws
    from ops.rendered import load

    rendered = load(args.out)
    return Aws.connect(rendered.roles.administration_region, args.profile), rendered


def _plan(args: argparse.Namespace, cfg) -> int:
    import json

    from ops.plan import plan_against, plan_deployed
    from ops.rendered import load

    rendered = load(args.out)
    _check_only_region(args, rendered)
    if args.against is not None:
        plan = plan_against(rendered, load(args.against), args.only_region)
    else:
        from ops.operations import StackSets

        aws, _ = _stack_sets(args)
        plan = plan_deployed(StackSets(aws, lambda line: None), rendered, args.only_region)
    if args.json:
        print(json.dumps(plan.to_json(), indent=2))
    else:
        print("\n".join(plan.lines(colour=sys.stdout.isatty())))
    return plan.exit_status


def _check_only_region(args: argparse.Namespace, rendered) -> None:
    from ops.errors import OpsError

    if args.only_region and args.only_region not in rendered.regions:
        raise OpsError(
            f"--only-region {args.only_region}: not a region of this render ({', '.join(rendered.regions)})",
            exit_status=EXIT_BAD_INPUT,
        )


def _deploy(args: argparse.Namespace, cfg) -> int:
    from checks.report import say
    from ops.deploy import deploy

    aws, rendered = _stack_sets(args)
    _check_only_region(args, rendered)
    deploy(
        aws, rendered, say, timeout_seconds=args.timeout * 60, wait_when_busy=not args.no_wait,
        only_region=args.only_region, allow_replacement=args.allow_replacement,
    )
    return 0


def _roles(args: argparse.Namespace, cfg) -> int:
    from ops.rendered import load
    from ops.roles import role_commands

    for line in role_commands(load(args.out)):
        print(line)
    return 0


def _drift(args: argparse.Namespace, cfg) -> int:
    from checks.report import say
    from ops.drift import detect_drift

    aws, rendered = _stack_sets(args)
    report = detect_drift(aws, rendered, say, timeout_seconds=args.timeout * 60)
    if report.unexplained:
        _report(
            f"{len(report.unexplained)} resource(s) drifted from their templates",
            [f"{r.stack_set} {r.region}: {r.logical_id} ({r.resource_type}) {r.status}" for r in report.unexplained],
        )
        return EXIT_PROBLEM
    return 0


def _destroy(args: argparse.Namespace, cfg) -> int:
    from checks.report import say
    from ops.destroy import destroy, typed_confirmation

    aws, rendered = _stack_sets(args)
    destroy(aws, rendered, typed_confirmation(), say, timeout_seconds=args.timeout * 60)
    return 0


def _security(args: argparse.Namespace, cfg) -> int:
    from checks import security

    return security.main(args.out)


def _iam_proof(args: argparse.Namespace, cfg) -> int:
    from checks import iam_proof

    return iam_proof.main(args.out)


def _diagram(args: argparse.Namespace, cfg) -> int:
    from checks import diagram

    # The project's own render draws docs/; any other render's pictures go beside it.
    pictures = diagram.DOCS if args.out.resolve() == DEFAULT_OUT else args.out.resolve().parent / PICTURES_DIR
    return diagram.main(args.out, pictures)


def _mode_options(sub: argparse.ArgumentParser, unplanned_help: str) -> None:
    """--planned (the default) or --unplanned, and --accept-data-loss: a runbook's mode."""
    modes = sub.add_mutually_exclusive_group()
    modes.add_argument("--planned", dest="mode", action="store_const", const="planned", default="planned",
                       help="switchover: no data lost, needs a healthy current primary (default)")
    modes.add_argument("--unplanned", dest="mode", action="store_const", const="unplanned", help=unplanned_help)
    sub.add_argument("--accept-data-loss", action="store_true", help="accept losing the writes not yet replicated")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="build.py", description=__doc__.splitlines()[0])
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, handler, help_text: str, out_help: str | None = READS_OUT) -> argparse.ArgumentParser:
        """A subcommand; ``out_help`` None: its --out is its own, the render read is dr_templates/."""
        sub = commands.add_parser(name, help=help_text, description=help_text)
        config_help = CONFIG_HELP[name in USES_CONFIG]
        sub.add_argument("--config", type=Path, metavar="FILE",
                         help=config_help if out_help is not None else config_help.replace("DIR's", "dr_templates/'s"))
        if out_help is not None:
            sub.add_argument(
                "--out", type=Path, default=DEFAULT_OUT, metavar="DIR", help=f"{out_help} (default: dr_templates/)"
            )
        sub.set_defaults(handler=handler, out=DEFAULT_OUT)
        return sub

    render = command("render", _render, "render the templates, gate them (limits, cfn-lint), then replace DIR",
                     "the render to write; replaced only when the gate passes, the Lambda zips go to build/ beside it")
    render.add_argument("--replace", action="store_true",
                        help="overwrite DIR even when it holds the render of another configuration")
    command("check", _check, "fail, listing the files, when DIR or the configuration's reference (docs/) differs from a fresh one")
    command("schema", _schema, "write the configuration's JSON Schema, its reference and config.example.toml from the models", None)
    command("lint", _lint, "run the limits check, cfn-lint for the render's two regions and the budget on DIR")
    command("budget", _budget, "worst-case time of each failover phase and the RPO bound, against the objectives")
    failover = command("failover", _failover, "start the runbook in a region and watch each step until it ends")
    failover.add_argument("--to", required=True, metavar="REGION", help="the region to serve from (one of the configured two)")
    _mode_options(failover, "failover with data loss: the primary region is lost; needs --accept-data-loss")
    failover.add_argument("--dry-run", action="store_true", help="print the plan and the pre-flight checks, change nothing")
    failover.add_argument("--failover-id", metavar="ID", help="name of the run (default: generated); reuse it to re-attach")
    failover.add_argument("--timeout", type=int, default=30, metavar="MINUTES", help="stop watching after this long (default 30)")
    failover.add_argument("--profile", metavar="NAME", help="AWS profile to use")
    gameday = command("gameday", _gameday, "a game day: fail over to the DR region while an AWS FIS experiment cuts the primary off, "
                      "then stop the experiment, fail back if asked, and write the report (docs/gameday.md)")
    gameday.add_argument("--to", required=True, metavar="REGION", help="the DR region (a game day fails the primary over to it)")
    _mode_options(gameday, "failover with data loss, as after a lost primary; needs --accept-data-loss")
    gameday.add_argument("--failback", action="store_true", help="after the experiment is stopped, fail back to the primary (planned)")
    gameday.add_argument("--timeout", type=int, default=30, metavar="MINUTES", help="stop watching a runbook after this long (default 30)")
    gameday.add_argument("--fis-wait", type=int, default=15, metavar="MINUTES",
                         help="follow the experiment's start (its isolation running) and its stop for this long each (default 15)")
    gameday.add_argument("--reports", type=Path, default=ROOT / "build" / "reports", metavar="DIR",
                         help="where the report goes (default: build/reports/)")
    gameday.add_argument("--profile", metavar="NAME", help="AWS profile to use")
    status = command("status", _status, "which region is the writer, where traffic goes, and each region's capacity")
    status.add_argument("--profile", metavar="NAME", help="AWS profile to use")
    report = command("report", _failover_report, "the failover report (JSON and HTML) of a runbook execution: the copy in its "
                     "region's report bucket, else built from its history", None)
    report.add_argument("failover_id", metavar="FAILOVER_ID", help="the execution's name (build.py failover prints it)")
    report.add_argument("--region", metavar="REGION", help="the region it ran in (default: the DR region, then the primary)")
    report.add_argument("--out", dest="reports", type=Path, default=ROOT / "build" / "reports", metavar="DIR",
                        help="where the report goes (default: build/reports/)")
    report.add_argument("--open", action="store_true", help="then open the HTML page in a browser (prints its path when there is none)")
    report.add_argument("--profile", metavar="NAME", help="AWS profile to use")
    command("security", _security, "checkov (own virtualenv), cfn-guard (Control Tower rules), cfripper on the templates in DIR; fail on any finding")
    command("iam-proof", _iam_proof, "every IAM policy in DIR: actions exist, ARNs of the types they take, '*' only where none")
    command("diagram", _diagram, "incident.dot and architecture.dot (and .svg with Graphviz) from DIR",
            "the render to draw; only read, the pictures go to docs/ for dr_templates/, else to pictures/ beside DIR")
    command("package", _package, "zip the Lambda functions into build/ beside DIR, keyed by content hash",
            "the render whose manifest names the zips; only read, the zips go to build/ beside it")
    plan = command(
        "plan", _plan, "what a deploy of DIR would change per stack set and region; exit 1 when data would be lost"
    )
    plan.add_argument("--against", type=Path, metavar="OTHER",
                      help="compare with another render on disk (offline) instead of what AWS runs now")
    plan.add_argument("--json", action="store_true", help="the plan as JSON on stdout (for CI)")
    plan.add_argument("--only-region", metavar="REGION", help="plan this region's stack instances only")
    deploy = command(
        "deploy", _deploy, "deploy DIR as StackSets: checked offline, roles checked, bootstrap, artifacts, the rest"
    )
    deploy.add_argument("--no-wait", action="store_true", help="report an operation already running instead of waiting")
    deploy.add_argument(
        "--only-region", metavar="REGION",
        help="act on this region's stack instances only (the DR region while the primary is down; "
        "needs stackset_administration_region elsewhere)",
    )
    deploy.add_argument(
        "--allow-replacement", action="append", default=[], metavar="REGION:LOGICAL_ID",
        help="let the deploy replace or delete this stateful resource (repeat for each); without it deploy refuses",
    )
    command("roles", _roles, "print the one-time commands that create or update the StackSet roles, from DIR's manifest")
    drift = command("drift", _drift, "drift detection on every stack set; drifted resources per region")
    destroy = command("destroy", _destroy, "delete the stack instances, then the stack sets, after a typed confirmation")
    plan.add_argument("--profile", metavar="NAME", help="AWS profile to use (without --against)")
    for sub in (deploy, drift, destroy):
        sub.add_argument("--profile", metavar="NAME", help="AWS profile to use")
        sub.add_argument("--timeout", type=int, default=90, metavar="MINUTES", help="give up on one operation after this long (default 90)")
    return top


def _check_render_matches(args: argparse.Namespace, cfg) -> None:
    """A command reading a render must not apply another configuration's regions and names to it."""
    from ops.rendered import check_rendered_for
    from templates.render import configuration_identity

    if args.command in USES_CONFIG or args.config is not None:
        source = f"--config {args.config}" if args.config else "the default configuration"
        check_rendered_for(args.out, configuration_identity(cfg), source)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    # Imported after parsing: --help and argument errors need none of it.
    from checks.errors import GateFailure, OutputError
    from ops.errors import OpsError
    from templates.config import ConfigError, load_config

    try:
        if args.config is None and args.command != "render":
            # A render names the configuration it came from: --out alone finds both.
            named = (_rendered_from(args.out) or (None, None))[1]
            args.config = (args.out / named) if named else None
        cfg = load_config(args.config)
        if args.config is not None:
            from checks.budget import refuse

            refuse(cfg)  # an objective the design cannot meet: refused before anything is read or written
        if args.command != "render":
            _check_render_matches(args, cfg)
        return args.handler(args, cfg)
    except ConfigError as exc:
        _report(f"invalid configuration: {exc}", exc.details)
        return EXIT_BAD_INPUT
    except OutputError as exc:
        _report(str(exc))
        return EXIT_BAD_INPUT
    except GateFailure as exc:
        _report(str(exc), exc.problems)
        return EXIT_PROBLEM
    except OpsError as exc:
        _report(str(exc), exc.details)
        return exc.exit_status


if __name__ == "__main__":
    sys.exit(main())
