"""Shared fixtures: the rendered default configuration, resolved per region offline."""

from __future__ import annotations

import json

import pytest

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
