"""cfn-lint in worker processes gives what one process gives: the same findings, in the same
order, with the rule's id and the finding's path, so the gate's report does not change."""

from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path

from checks import lint as linting
from checks.lint import describe, in_worker, lint

ROOT = Path(__file__).resolve().parents[2]
SMALL = ("bootstrap.json", "route53_alarms.json", "stackset_administration_role.json")


def _broken(directory: Path) -> list[Path]:
    """The small rendered templates, each with a property cfn-lint refuses (two in one)."""
    paths = []
    for index, name in enumerate(SMALL):
        document = json.loads((ROOT / "dr_templates" / name).read_text(encoding="utf-8"))
        for number, resource in enumerate(list(document["Resources"].values())[: 1 + (index == 0)]):
            resource["Properties"][f"Unexpected{number}"] = 1
        path = directory / name
        path.write_text(json.dumps(document, indent=2), encoding="utf-8")
        paths.append(path)
    return paths


def test_the_workers_findings_are_one_processs_in_its_order(tmp_path, cfg):
    templates = _broken(tmp_path)
    parallel = lint(templates, cfg.regions)
    alone = linting._in_process(templates, cfg.regions)
    assert len(alone) == 4
    assert [describe(m, tmp_path) for m in parallel] == [describe(m, tmp_path) for m in alone]
    assert [(m.rule.id, str(m.rule), m.rule.severity, m.path) for m in parallel] == [
        (m.rule.id, str(m.rule), m.rule.severity, m.path) for m in alone
    ]


def _in_a_worker(queue) -> None:
    queue.put((linting.start(), in_worker(len, "abc").result()))


def test_a_worker_process_lints_and_works_in_process():
    """A process that is itself a worker (the configuration matrix's) forks no workers of its own."""
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_in_a_worker, args=(queue,))
    child.start()
    assert queue.get(timeout=60) == (None, 3)
    child.join()


def test_work_queued_beside_the_linting_runs_in_a_worker():
    assert in_worker(os.getpid).result() != os.getpid()
