"""The configuration's generated reference (issue 25): the JSON Schema editors read, the Markdown
reference and the example file, each equal to what the models generate, and each true."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import jsonschema
import pytest

import build
from templates.config import Config, ConfigError, config_from_mapping, load_config
from templates.config_reference import EXAMPLE_FILE, REFERENCE_FILE, SCHEMA_FILE, files

ROOT = Path(__file__).resolve().parents[2]


def _fields(schema: dict):
    for definition in [schema, *schema["$defs"].values()]:
        for name, field in definition["properties"].items():
            yield f"{definition.get('title', '')}.{name}", field


def test_the_committed_reference_is_what_the_models_generate():
    assert build._stale_reference() == []


def test_check_fails_naming_a_stale_reference(tmp_path, monkeypatch, capsys):
    for path, text in files().items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    (tmp_path / SCHEMA_FILE).write_text("{}\n")
    monkeypatch.setattr(build, "ROOT", tmp_path)
    assert build._stale_reference() == [f"{SCHEMA_FILE} (differs)"]
    assert build.main(["check"]) == 1
    assert "run 'build.py schema'" in capsys.readouterr().err


def test_every_field_has_a_description_and_a_default():
    schema = json.loads((ROOT / SCHEMA_FILE).read_text())
    missing = [name for name, field in _fields(schema) if not field.get("description")
               or ("default" not in field and not name.startswith("AlertEndpoint."))]
    assert missing == []


def test_the_example_carries_the_schema_directive_and_validates():
    text = (ROOT / EXAMPLE_FILE).read_text()
    assert text.splitlines()[0] == "#:schema ./docs/config.schema.json"
    assert load_config(ROOT / EXAMPLE_FILE) == Config()
    jsonschema.validate(tomllib.loads(text), json.loads((ROOT / SCHEMA_FILE).read_text()))


@pytest.mark.parametrize("bad", [{"app": {"container_port": "8080"}}, {"app": {"task_cpu": 300}}, {"network": {"az_cout": 2}},
                                 {"alerts": {"endpoints": [{"protocol": "email"}]}}, {"objectives": {"rpo_seconds": 30}}])
def test_what_the_schema_refuses_in_an_editor_the_loader_refuses_too(bad):
    """The editor's schema and the loader agree on types, bounds, choices, unknown and missing keys."""
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, json.loads((ROOT / SCHEMA_FILE).read_text()))
    with pytest.raises(ConfigError):
        config_from_mapping(bad)


def test_the_reference_lists_every_field_with_where_its_bounds_come_from():
    text = (ROOT / REFERENCE_FILE).read_text()
    schema = json.loads((ROOT / SCHEMA_FILE).read_text())
    for name, field in _fields(schema):
        if "$ref" not in field:
            assert f"| `{name.split('.')[-1]}` |" in text, name
        if "bounds_source" in field:
            assert field["bounds_source"].replace("|", "\\|") in text, name
