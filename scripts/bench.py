#!/usr/bin/env python3
"""Benchmarks: the render pipeline (medians of several cold runs) and the operator's commands in an outage.

``scripts/bench.py`` (``make bench``) prints both. ``render``: rendering both regions in a
fresh interpreter (goal < 0.3 s; the project's modules byte-compiled first, as every run after
a checkout's first finds them, even where PYTHONDONTWRITEBYTECODE keeps Python from writing
them itself), the cold import of pydantic (what the configuration's
models add to it), the whole ``make templates`` with dependencies installed (goal < 10 s)
and the cfn-lint CLI alone on the same files, run in turn so both see the same load, and
their ratio (goal: at most 1.0, the gate's work beside cfn-lint hidden by its worker
processes), the cold import time of each runbook handler (goal < 300 ms), ``build.py
--help`` (goal < 0.2 s) and ``make test`` (once; ``BENCH_TEST_RUNS=N`` for a median of N,
0 to skip it).

``outage``: ``build.py status`` and ``build.py failover --to DR --dry-run`` with one region
hung, each region in turn (goal: an answer within 15 s that names the hung region
unreachable), then ``build.py deploy`` of a deployable render with its administration
region hung (goal: a first line within 5 s; then it gives up, in one line). Offline: every
AWS endpoint is overridden (``AWS_ENDPOINT_URL``) to a local server that answers from moto,
except requests signed for the hung region, which it accepts and never answers: the dead
region of an outage, not a refused connection.
``--root DIR`` runs another checkout's ``build.py`` (to compare with an older version).
"""

from __future__ import annotations

import argparse
import compileall
import logging
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from checks.pipeline import template_files  # noqa: E402
from templates.config import Config  # noqa: E402

RUNS = 5
HANDLERS = ("admit_automatic_run", "promote_database", "wait_for_writer", "scale_service", "switch_traffic", "notify")
RENDER_ONLY = "from templates.config import Config; from templates.render import render; render(Config())"
PYDANTIC_ONLY = "from pydantic import BaseModel"
RENDER_GOAL_SECONDS = 0.3
PROJECT_PACKAGES = ("templates", "policies", "checks", "ops", "lambdas")
GATE_RATIO_GOAL = 1.0
OUTAGE_GOAL_SECONDS = 15
DEPLOY_FIRST_LINE_SECONDS = 5
# A configuration deploy accepts offline (no example names, a certificate per region).
DEPLOYABLE = """
[dns]
domain_name = "trading.bench.internal"
hosted_zone_id = "Z0123456789BENCH"
primary_certificate_arn = "arn:aws:acm:{primary}:123456789012:certificate/00000000-0000-4000-8000-000000000001"
dr_certificate_arn = "arn:aws:acm:{dr}:123456789012:certificate/00000000-0000-4000-8000-000000000002"
"""
# SigV4: "Credential=KEY/DATE/REGION/SERVICE/aws4_request" names the region a request is for.
SIGNED_REGION = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/")


def median_seconds(*commands: list[str], runs: int = RUNS) -> list[float]:
    """The median wall time of each command, the commands run in turn ``runs`` times (so a
    load that comes and goes falls on each alike)."""
    timings: list[list[float]] = [[] for _ in commands]
    for _ in range(runs):
        for command, taken in zip(commands, timings):
            start = time.perf_counter()
            subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            taken.append(time.perf_counter() - start)
    return [statistics.median(taken) for taken in timings]


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


class HungRegion:
    """A local endpoint for every AWS service: moto answers, except for ``hung`` (a region
    name), whose requests are read and never answered until ``stop``."""

    def __init__(self):
        from moto.server import DomainDispatcherApplication, create_backend_app
        from werkzeug.serving import make_server

        self.hung: str | None = None
        self._released = threading.Event()
        moto = DomainDispatcherApplication(create_backend_app)

        def app(environ, start_response):
            signed = SIGNED_REGION.search(environ.get("HTTP_AUTHORIZATION", ""))
            if signed and signed[1] == self.hung:
                self._released.wait()
                start_response("503 Service Unavailable", [])
                return [b""]
            return moto(environ, start_response)

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per request otherwise
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._released.set()
        self._server.shutdown()


def _deployed(url: str, cfg: Config) -> None:
    """What status reads, as deployed: the global database, the switch alarm, each region's service."""
    import boto3

    from templates import dns, naming

    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing")
    rds = session.client("rds", region_name=cfg.primary_region, endpoint_url=url)
    rds.create_global_cluster(GlobalClusterIdentifier=naming.global_cluster(cfg).pattern, Engine="aurora-postgresql")
    switch = dns.timing(cfg)["switch"]
    session.client("cloudwatch", region_name=switch["alarm_region"], endpoint_url=url).put_metric_alarm(
        AlarmName=switch["alarm_name"], Namespace=switch["namespace"], MetricName=switch["metric"], Statistic="Maximum",
        Period=60, EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    for region in cfg.regions:
        ecs = session.client("ecs", region_name=region, endpoint_url=url)
        ecs.create_cluster(clusterName=naming.ecs_cluster(cfg).pattern)
        container = {"name": "app", "image": "app", "memory": 512}
        ecs.register_task_definition(family="app", containerDefinitions=[container])
        ecs.create_service(
            cluster=naming.ecs_cluster(cfg).pattern, serviceName=naming.ecs_service(cfg).pattern,
            taskDefinition="app", desiredCount=1,
        )


def outage(root: Path) -> int:
    """Time status and the dry run with each region hung in turn; 1 if any misses the goal."""
    cfg = Config()
    endpoint = HungRegion()
    _deployed(endpoint.url, cfg)
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        "AWS_ENDPOINT_URL": endpoint.url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    commands = {"status": ["status"], "failover --dry-run": ["failover", "--to", cfg.dr_region, "--dry-run"]}
    missed = 0
    print(f"one region hung (accepts, never answers); goal: an answer within {OUTAGE_GOAL_SECONDS} s naming it")
    try:
        for hung in cfg.regions:
            endpoint.hung = hung
            for label, arguments in commands.items():
                start = time.perf_counter()
                result = subprocess.run(
                    [sys.executable, str(root / "build.py"), *arguments], cwd=root, env=environment,
                    capture_output=True, text=True,
                )
                seconds = time.perf_counter() - start
                output = result.stdout + result.stderr
                named = f"{hung} unreachable" in output or f"{hung}: unreachable" in output
                met = seconds <= OUTAGE_GOAL_SECONDS and named
                missed += not met
                print(f"{label:<20} {hung} hung: {seconds:6.1f} s, exit {result.returncode}, "
                      f"{'names it unreachable' if named else 'does NOT name it unreachable'}"
                      f"{'' if met else '  MISSED'}")
        endpoint.hung = cfg.administration_region
        missed += not _deploy_hung(root, cfg, environment)
    finally:
        endpoint.stop()
    return 1 if missed else 0


def _deploy_hung(root: Path, cfg: Config, environment: dict[str, str]) -> bool:
    """deploy of a deployable render with its administration region hung: when it first says
    something (goal: at once) and how long until it gives up with one line."""
    with tempfile.TemporaryDirectory() as scratch:
        config, out = Path(scratch) / "deployable.toml", Path(scratch) / "dr_templates"
        config.write_text(DEPLOYABLE.format(primary=cfg.primary_region, dr=cfg.dr_region))
        subprocess.run([sys.executable, str(root / "build.py"), "render", "--config", str(config), "--out", str(out)],
                       cwd=root, check=True, capture_output=True)
        start = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, str(root / "build.py"), "deploy", "--config", str(config), "--out", str(out)],
            cwd=root, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        lines = []
        first = None
        for line in process.stdout:
            first = first or time.perf_counter() - start
            lines.append(line.rstrip())
        process.wait()
        seconds = time.perf_counter() - start
    said = f"first line after {first:.1f} s" if first is not None else "no output"
    last = lines[-1][:100] if lines else ""
    met = first is not None and first <= DEPLOY_FIRST_LINE_SECONDS
    print(f"{'deploy':<20} {cfg.administration_region} hung: {seconds:6.1f} s, exit {process.returncode}, {said} "
          f"(goal < {DEPLOY_FIRST_LINE_SECONDS} s){'' if met else '  MISSED'}; last: {last}")
    return met


def compile_project() -> None:
    """Byte-code for the project's modules (the virtualenv's are compiled at install): without
    it, a machine that sets PYTHONDONTWRITEBYTECODE compiles about 100 modules in every run
    measured, 0.06 s of a render."""
    for package in PROJECT_PACKAGES:
        compileall.compile_dir(ROOT / package, quiet=1)
    compileall.compile_file(ROOT / "build.py", quiet=1)


def render_benchmarks(test_runs: int) -> int:
    """1 if the render or the gate misses its goal; ``make test`` timed ``test_runs`` times."""
    cfg = Config()
    compile_project()
    templates = [str(path.relative_to(ROOT)) for path in template_files(ROOT / "dr_templates")]
    (render,) = median_seconds([sys.executable, "-c", RENDER_ONLY])
    (pydantic,) = median_seconds([sys.executable, "-c", PYDANTIC_ONLY])
    make_templates, cfn_lint = median_seconds(
        ["make", "--no-print-directory", "templates"],
        [str(Path(sys.executable).parent / "cfn-lint"), "--regions", *cfg.regions, "--", *templates],
    )
    ratio = make_templates / cfn_lint
    print(f"medians of {RUNS} runs, {os.cpu_count()} cores, the project byte-compiled")
    print(f"render, both regions, cold process : {render:6.2f} s  (goal < {RENDER_GOAL_SECONDS} s){_missed(render < RENDER_GOAL_SECONDS)}")
    print(f"import pydantic, cold process       : {pydantic:6.2f} s  (what the configuration's models add)")
    print(f"make templates (deps installed)     : {make_templates:6.2f} s  (goal < 10 s){_missed(make_templates < 10)}")
    print(f"cfn-lint CLI alone, same files      : {cfn_lint:6.2f} s")
    print(f"make templates / cfn-lint alone     : {ratio:6.2f} x  (goal <= {GATE_RATIO_GOAL}){_missed(ratio <= GATE_RATIO_GOAL)}")
    for module in HANDLERS:
        print(f"cold import runbook.{module:<20}: {import_milliseconds(module):6.0f} ms  (goal < 300 ms)")
    (help_seconds,) = median_seconds([sys.executable, "build.py", "--help"])
    print(f"build.py --help                     : {help_seconds:6.2f} s  (goal < 0.2 s)")
    if test_runs > 0:
        (tests,) = median_seconds(["make", "--no-print-directory", "test"], runs=test_runs)
        print(f"make test, median of {test_runs}              : {tests:6.0f} s")
    return 0 if render < RENDER_GOAL_SECONDS and ratio <= GATE_RATIO_GOAL else 1


def _missed(met: bool) -> str:
    return "" if met else "  MISSED"


def main() -> int:
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("what", nargs="?", choices=("render", "outage"), help="one benchmark (default: both)")
    arguments.add_argument("--root", type=Path, default=ROOT, help="the checkout whose build.py the outage runs")
    args = arguments.parse_args()
    runs = os.environ.get("BENCH_TEST_RUNS", "1")
    if not runs.isdigit():
        print(f"error: BENCH_TEST_RUNS={runs!r}: give how many times to run make test (0 to skip it)", file=sys.stderr)
        return 2
    try:
        status = render_benchmarks(int(runs)) if args.what in (None, "render") else 0
    except subprocess.CalledProcessError as failed:
        print(f"error: {' '.join(map(str, failed.cmd))} exited {failed.returncode}: nothing to time", file=sys.stderr)
        return 1
    return max(status, outage(args.root.resolve())) if args.what in (None, "outage") else status


if __name__ == "__main__":
    sys.exit(main())
