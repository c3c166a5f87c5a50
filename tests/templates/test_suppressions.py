"""checkov suppressions: one shape, each with a check id and a reason."""

from __future__ import annotations

import pytest

from templates.suppressions import cfn_lint_ignore, checkov_skip


def test_metadata_lists_each_check_with_its_reason_sorted_by_id():
    assert checkov_skip({"CKV_AWS_18": "b reason", "CKV2_AWS_5": "a reason"}) == {
        "checkov": {"skip": [{"id": "CKV2_AWS_5", "comment": "a reason"}, {"id": "CKV_AWS_18", "comment": "b reason"}]}
    }


@pytest.mark.parametrize("reasons", [{"CKV_AWS_18": " "}, {"AWS_18": "a reason"}])
def test_a_suppression_without_reason_or_check_id_is_refused(reasons):
    with pytest.raises(ValueError, match="needs a CKV_AWS_/CKV2_AWS_ id and a reason"):
        checkov_skip(reasons)


def test_a_cfn_lint_suppression_names_each_rule_with_its_reason():
    assert cfn_lint_ignore({"ES6000": "a dead-letter queue", "E9010": "a boundary"}) == {
        "cfn-lint": {"config": {"ignore_checks": ["E9010", "ES6000"]}},
        "Reasons": {"E9010": "a boundary", "ES6000": "a dead-letter queue"},
    }
    for reasons in ({"ES6000": " "}, {"CKV_AWS_18": "a reason"}):
        with pytest.raises(ValueError, match="needs a rule id and a reason"):
            cfn_lint_ignore(reasons)


def test_every_cfn_lint_suppression_in_the_rendered_templates_has_a_reason(rendered):
    import json

    for name, content in rendered.items():
        if name.endswith(".json") and not name.startswith("parameters/"):
            for logical_id, resource in json.loads(content).get("Resources", {}).items():
                ignored = resource.get("Metadata", {}).get("cfn-lint", {}).get("config", {}).get("ignore_checks", [])
                reasons = resource.get("Metadata", {}).get("Reasons", {})
                assert all(reasons.get(rule, "").strip() for rule in ignored), f"{name}:{logical_id}"
