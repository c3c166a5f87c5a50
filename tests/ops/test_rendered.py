"""Reading dr_templates/: complete parameters or a one-line refusal (exit 2) before any AWS call."""

from __future__ import annotations

import json

import pytest
from stackset_support import CFG, DR, PRIMARY, region_values, regional_template, write_rendered

from ops.errors import EXIT_BAD_INPUT, OpsError
from ops.rendered import load
from templates.layout import MANIFEST
from templates.render import render


def _refusal(directory) -> OpsError:
    with pytest.raises(OpsError) as failure:
        load(directory)
    assert failure.value.exit_status == EXIT_BAD_INPUT
    return failure.value


def test_a_parameter_missing_for_one_region_is_refused_naming_file_and_parameter(tmp_path, code_key):
    values = region_values()
    del values[DR]["QueueRetentionSeconds"]
    directory = write_rendered(tmp_path, regional_template(code_key), values, code_key)

    assert str(_refusal(directory)) == (
        f"parameters/{DR}.json does not match regional.json for {DR} (missing QueueRetentionSeconds); "
        "re-render with 'make templates'"
    )


def test_a_parameter_the_template_does_not_declare_is_refused(tmp_path, code_key):
    values = region_values()
    values[PRIMARY]["Stale"] = "1"
    directory = write_rendered(tmp_path, regional_template(code_key), values, code_key)

    assert "(not in regional.json: Stale)" in str(_refusal(directory))


def test_a_missing_or_older_manifest_is_refused(tmp_path, code_key):
    assert str(_refusal(tmp_path)) == f"{tmp_path / MANIFEST} is missing; re-render with 'make templates'"
    write_rendered(tmp_path, regional_template(code_key), region_values(), code_key)
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    del manifest["stackset_roles"]
    (tmp_path / MANIFEST).write_text(json.dumps(manifest))

    assert str(_refusal(tmp_path)).endswith("lacks the key 'stackset_roles'; re-render with 'make templates'")


def test_the_real_render_reads_as_complete_stack_sets_in_deployment_order(tmp_path):
    files = render(CFG)
    for relative, content in files.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_bytes(content)

    rendered = load(tmp_path)

    assert [spec.template for spec in rendered.stack_sets] == ["bootstrap.json", "regional.json", "route53_alarms.json"]
    regional = rendered.stack_sets[1]
    declared = set(rendered.template(regional)["Parameters"])
    for region in CFG.regions:
        assert set(rendered.parameters(regional, region)) == declared
    assert rendered.preferences([CFG.dr_region])["RegionOrder"] == [CFG.dr_region]
    assert rendered.roles.administration_region == CFG.primary_region
    assert rendered.artifacts.created_by == rendered.stack_sets[0].name, "the bootstrap creates the buckets"
    assert rendered.artifacts.build_dir == tmp_path.resolve().parent / "build"
    assert rendered.artifacts.objects and all(key.startswith("lambdas/") for key in rendered.artifacts.objects)
