"""Shared fixtures: the rendered default configuration, resolved per region offline."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

import checks.pipeline
from template_support import resolve
from templates.config import Config
from templates.render import render


@pytest.fixture(scope="session")
def cfg() -> Config:
    return Config()


@pytest.fixture(scope="session")
def rendered(cfg) -> dict[str, bytes]:
    return render(cfg)


@pytest.fixture(scope="session")
def template(rendered) -> dict:
    return json.loads(rendered["regional.json"])


@pytest.fixture(scope="session")
def bootstrap(rendered) -> dict:
    return json.loads(rendered["bootstrap.json"])


@pytest.fixture(scope="session", params=["primary", "dr"])
def region_view(request, cfg, template) -> tuple[str, dict]:
    """(region, resolved template) for each of the two stack instances."""
    region = cfg.primary_region if request.param == "primary" else cfg.dr_region
    return region, resolve(template, cfg, region)


@pytest.fixture(scope="session", autouse=True)
def lint_each_content_once():
    """cfn-lint is a function of the templates' names and contents and the regions: many tests
    publish the same render, so each distinct one is linted once per session (it saves about
    45 s of the suite). Findings are returned with their file renamed to the caller's path.
    The lint workers are forked here, first, so they never inherit a test's monkeypatching."""
    checks.pipeline.start_linting()
    lint, seen = checks.pipeline.lint, {}

    def remembered(templates, regions):
        paths = {Path(path).name: str(path) for path in templates}
        key = (tuple((name, Path(path).read_bytes()) for name, path in sorted(paths.items())), tuple(regions))
        if key not in seen:
            seen[key] = lint(templates, regions)
        return [dataclasses.replace(match, filename=paths[Path(match.filename).name]) for match in seen[key]]

    checks.pipeline.lint = remembered
    yield
    checks.pipeline.lint = lint
