"""The cfn-lint gate: every rendered template, for both target regions, in two worker processes.

Running cfn-lint as a library saves a second interpreter start and its rule loading per
call. Settings come from the project's ``.cfnlintrc`` (which ignores nothing and includes
informational checks) and the project's DR rules and cfn-lint-serverless's rules are
appended to cfn-lint's own, so ``build.py lint`` and a plain ``PYTHONPATH=. cfn-lint
--append-rules checks/dr_rules --append-rules cfn_lint_serverless.rules`` agree (the DR
rules import ``checks``, hence the PYTHONPATH).

Parallel, because most of a gate is cfn-lint on one core: ``start`` imports cfn-lint and
forks the workers, which load the rules while the caller renders; each then lints one
template at a time, the largest first (``in_worker`` queues other work beside them). cfn-lint deduplicates findings within a template only, so the
findings, put back in the templates' order, are those one process gives, in its order. A
finding's rule comes back as a ``RuleRef``: cfn-lint's rule objects do not pickle.
"""

from __future__ import annotations

import functools
import multiprocessing
import pickle
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from cfnlint.rules import Match, Rules

CFNLINTRC = Path(__file__).resolve().parent.parent / ".cfnlintrc"
DR_RULES = Path(__file__).resolve().parent / "dr_rules"
# AWS's serverless rules (awslabs/serverless-rules): DLQs, redrive policies, tracing, log retention.
SERVERLESS_RULES = "cfn_lint_serverless.rules"
WORKERS = 2
T = TypeVar("T")

_pool: tuple[int, ProcessPoolExecutor] | None = None  # (the process that started it, the pool)
_rules: Rules | None = None  # a process's loaded rules, reused by every lint in it


@dataclass(frozen=True)
class RuleRef:
    """What a finding keeps of its rule across processes; printed as cfn-lint prints a rule."""

    id: str
    shortdesc: str
    severity: str

    def __str__(self) -> str:
        return f"{self.id}: {self.shortdesc}"


def _config(templates: Sequence[Path], regions: Sequence[str]):
    from cfnlint.config import ConfigMixIn

    return ConfigMixIn(
        [],  # not sys.argv: the caller's command line is not cfn-lint's
        templates=[str(path) for path in templates],
        regions=list(regions),
        config_file=str(CFNLINTRC),
        append_rules=[str(DR_RULES), SERVERLESS_RULES],
    )


def _runner(templates: Sequence[Path], regions: Sequence[str]):
    """cfn-lint's runner, with the rules this process loaded before (the same for every call)."""
    from cfnlint.runner import Runner

    class Reusing(Runner):
        def _get_rules(self) -> None:
            global _rules
            if _rules is None:
                super()._get_rules()
                _rules = self.rules
            self.rules = _rules

    return Reusing(_config(templates, regions))


def _in_process(templates: Sequence[Path], regions: Sequence[str]) -> list[Match]:
    return list(_runner(templates, regions).run())


def _portable(match: Match) -> Match:
    """``match`` with its rule as a ``RuleRef`` and its other details (the path, ...) as plain
    values where they pickle (cfn-lint's template nodes are classes made at run time)."""
    from cfnlint.rules import Match

    init = {f.name: getattr(match, f.name) for f in fields(match) if f.init and f.name != "rule"}
    rule = match.rule
    copy = Match(**init, rule=RuleRef(rule.id, rule.shortdesc, rule.severity))
    for name, value in vars(match).items():
        if not hasattr(copy, name) and _pickles(plain := _plain(value)):
            object.__setattr__(copy, name, plain)
    return copy


def _plain(value):
    for kind in (bool, str, int, float):
        if isinstance(value, kind):
            return kind(value)
    if isinstance(value, (list, tuple)):
        items = [_plain(item) for item in value]
        return tuple(items) if isinstance(value, tuple) else items
    if isinstance(value, dict):
        return {_plain(key): _plain(item) for key, item in value.items()}
    return value


def _pickles(value) -> bool:
    try:
        pickle.dumps(value)
    except (pickle.PicklingError, TypeError, AttributeError):
        return False
    return True


def _lint_one(template: Path, regions: Sequence[str]) -> list[Match]:
    return [_portable(match) for match in _in_process([template], regions)]


def _warm() -> None:
    """A worker's start: load the rules (cfn-lint is imported already, inherited)."""
    _runner([], [])


def start() -> ProcessPoolExecutor | None:
    """The workers of this process, forked (and loading the rules) now if not yet; None in a
    process that is itself a worker: its siblings have the other cores."""
    global _pool
    if multiprocessing.parent_process() is not None:
        return None
    if _pool is None or _pool[0] != multiprocessing.current_process().pid:
        import cfnlint.runner  # noqa: F401  here, once: the workers inherit it (they load the rules)

        pool = ProcessPoolExecutor(WORKERS, mp_context=multiprocessing.get_context("fork"), initializer=_warm)
        pool.submit(int)  # the first task forks every worker
        _pool = (multiprocessing.current_process().pid, pool)
    return _pool[1]


class _Later:
    """A call made when its result is asked for: in a worker process, the caller's own work."""

    def __init__(self, function: Callable[..., T], *arguments) -> None:
        self._call = functools.partial(function, *arguments)

    def result(self) -> T:
        return self._call()


def in_worker(function: Callable[..., T], *arguments) -> Future[T] | _Later:
    """``function(*arguments)`` in a worker (queued before the templates a later ``lint``
    submits; with cfn-lint and its schemas loaded there), or, where this process has no
    workers, here when its result is asked for."""
    pool = start()
    return _Later(function, *arguments) if pool is None else pool.submit(function, *arguments)


def lint(templates: Sequence[Path], regions: Sequence[str]) -> list[Match]:
    """All findings (errors, warnings and informational) for ``templates`` in ``regions``, in
    the order one cfn-lint run gives them."""
    pool = start() if len(templates) > 1 else None
    if pool is None:
        return _in_process(templates, regions)
    largest_first = sorted(templates, key=lambda path: -path.stat().st_size)
    futures: dict[Path, Future] = {path: pool.submit(_lint_one, path, list(regions)) for path in largest_first}
    return [match for path in templates for match in futures[path].result()]


def describe(match: Match, root: Path) -> str:
    """One line per finding, with the file relative to the output directory."""
    try:
        filename = Path(match.filename).relative_to(root)
    except ValueError:
        filename = match.filename
    return f"{filename}:{match.linenumber}: {match.rule.id} {match.message}"
