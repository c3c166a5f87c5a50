"""The cfn-lint gate: every rendered template, for both target regions, in-process.

Running cfn-lint as a library saves a second interpreter start and its rule loading per
call. Settings come from the project's ``.cfnlintrc`` (which ignores nothing and includes
informational checks), so ``build.py lint`` and a plain ``cfn-lint`` agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cfnlint.config import ConfigMixIn
from cfnlint.rules import Match
from cfnlint.runner import Runner

CFNLINTRC = Path(__file__).resolve().parent.parent / ".cfnlintrc"


def lint(templates: Sequence[Path], regions: Sequence[str]) -> list[Match]:
    """All findings (errors, warnings and informational) for ``templates`` in ``regions``."""
    config = ConfigMixIn(
        [],  # not sys.argv: the caller's command line is not cfn-lint's
        templates=[str(path) for path in templates],
        regions=list(regions),
        config_file=str(CFNLINTRC),
    )
    return list(Runner(config).run())


def describe(match: Match, root: Path) -> str:
    """One line per finding, with the file relative to the output directory."""
    try:
        filename = Path(match.filename).relative_to(root)
    except ValueError:
        filename = match.filename
    return f"{filename}:{match.linenumber}: {match.rule.id} {match.message}"
