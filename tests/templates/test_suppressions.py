"""checkov suppressions: one shape, each with a check id and a reason."""

from __future__ import annotations

import pytest

from templates.suppressions import checkov_skip


def test_metadata_lists_each_check_with_its_reason_sorted_by_id():
    assert checkov_skip({"CKV_AWS_18": "b reason", "CKV2_AWS_5": "a reason"}) == {
        "checkov": {"skip": [{"id": "CKV2_AWS_5", "comment": "a reason"}, {"id": "CKV_AWS_18", "comment": "b reason"}]}
    }


@pytest.mark.parametrize("reasons", [{"CKV_AWS_18": " "}, {"AWS_18": "a reason"}])
def test_a_suppression_without_reason_or_check_id_is_refused(reasons):
    with pytest.raises(ValueError, match="needs a CKV_AWS_/CKV2_AWS_ id and a reason"):
        checkov_skip(reasons)
