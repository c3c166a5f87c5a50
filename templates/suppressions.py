"""checkov suppressions, all in one shape: resource Metadata naming the check and why it does not apply.

checkov reads ``Metadata.checkov.skip`` of the resource it would flag. Building that
Metadata only here keeps every suppression uniform and gives each one a reason;
``checks/security.py`` lists them all from the rendered templates for review.
"""

from __future__ import annotations

import re

_CHECK_ID = re.compile(r"^CKV2?_AWS_\d+$")


def checkov_skip(reasons: dict[str, str]) -> dict:
    """A resource's ``Metadata`` skipping each check id of ``reasons`` with its one-line reason."""
    for check_id, reason in reasons.items():
        if not _CHECK_ID.match(check_id) or not reason.strip():
            raise ValueError(f"checkov suppression {check_id!r}: needs a CKV_AWS_/CKV2_AWS_ id and a reason")
    return {"checkov": {"skip": [{"id": check_id, "comment": reasons[check_id]} for check_id in sorted(reasons)]}}
