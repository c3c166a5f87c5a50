"""Scanner suppressions, all in one shape: resource Metadata naming the check and why it does not apply.

checkov reads ``Metadata.checkov.skip`` of the resource it would flag, cfn-lint
``Metadata.cfn-lint.config.ignore_checks`` (the reasons go beside it, under ``Reasons``).
Building that Metadata only here keeps every suppression uniform and gives each one a
reason; ``checks/security.py`` lists the checkov ones from the rendered templates for review.
"""

from __future__ import annotations

import re

_CHECK_ID = re.compile(r"^CKV2?_AWS_\d+$")
_RULE_ID = re.compile(r"^[EWI]S?\d{4}$")


def checkov_skip(reasons: dict[str, str]) -> dict:
    """A resource's ``Metadata`` skipping each check id of ``reasons`` with its one-line reason."""
    for check_id, reason in reasons.items():
        if not _CHECK_ID.match(check_id) or not reason.strip():
            raise ValueError(f"checkov suppression {check_id!r}: needs a CKV_AWS_/CKV2_AWS_ id and a reason")
    return {"checkov": {"skip": [{"id": check_id, "comment": reasons[check_id]} for check_id in sorted(reasons)]}}


def cfn_lint_ignore(reasons: dict[str, str]) -> dict:
    """A resource's ``Metadata`` ignoring each cfn-lint rule of ``reasons``, each with its reason."""
    for rule_id, reason in reasons.items():
        if not _RULE_ID.match(rule_id) or not reason.strip():
            raise ValueError(f"cfn-lint suppression {rule_id!r}: needs a rule id and a reason")
    return {"cfn-lint": {"config": {"ignore_checks": sorted(reasons)}}, "Reasons": dict(sorted(reasons.items()))}
