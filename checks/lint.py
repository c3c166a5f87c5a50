"""The cfn-lint gate: every rendered template, for both target regions, in-process.

Running cfn-lint as a library saves a second interpreter start and its rule loading per
call. Settings come from the project's ``.cfnlintrc`` (which ignores nothing and includes
informational checks) and the project's DR rules and cfn-lint-serverless's rules are
appended to cfn-lint's own, so ``build.py lint`` and a plain ``PYTHONPATH=. cfn-lint
--append-rules checks/dr_rules --append-rules cfn_lint_serverless.rules`` agree (the DR
rules import ``checks``, hence the PYTHONPATH).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cfnlint.config import ConfigMixIn
from cfnlint.rules import Match
from cfnlint.runner import Runner

CFNLINTRC = Path(__file__).resolve().parent.parent / ".cfnlintrc"
DR_RULES = Path(__file__).resolve().parent / "dr_rules"
# AWS's serverless rules (awslabs/serverless-rules): DLQs, redrive policies, tracing, log retention.
SERVERLESS_RULES = "cfn_lint_serverless.rules"


def lint(templates: Sequence[Path], regions: Sequence[str]) -> list[Match]:
    """All findings (errors, warnings and informational) for ``templates`` in ``regions``."""
    config = ConfigMixIn(
        [],  # not sys.argv: the caller's command line is not cfn-lint's
        templates=[str(path) for path in templates],
        regions=list(regions),
        config_file=str(CFNLINTRC),
        append_rules=[str(DR_RULES), SERVERLESS_RULES],
    )
    return list(Runner(config).run())


def describe(match: Match, root: Path) -> str:
    """One line per finding, with the file relative to the output directory."""
    try:
        filename = Path(match.filename).relative_to(root)
    except ValueError:
        filename = match.filename
    return f"{filename}:{match.linenumber}: {match.rule.id} {match.message}"
