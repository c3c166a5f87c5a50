"""Shared fixtures: the rendered default configuration, resolved per region offline."""

from __future__ import annotations

import json

import pytest
from cfnlint.helpers import AVAILABILITY_ZONES
from cloud_radar.cf.unit import functions as cloud_radar_functions
from cloud_radar.cf.unit import Template as ResolvedTemplate

from templates import stack
from templates.config import Config
from templates.render import render

# cloud-radar downloads region data for Fn::GetAZs unless it is seeded.
cloud_radar_functions.REGION_DATA = [{"code": region, "zones": zones} for region, zones in AVAILABILITY_ZONES.items()]


@pytest.fixture(scope="session")
def cfg() -> Config:
    return Config()


@pytest.fixture(scope="session")
def rendered(cfg) -> dict[str, bytes]:
    return render(cfg)


@pytest.fixture(scope="session")
def template(rendered) -> dict:
    return json.loads(rendered["regional.json"])


def resolve(template: dict, cfg: Config, region: str) -> dict:
    """The template as CloudFormation would see it in ``region``: conditions, Refs, Subs resolved."""
    return ResolvedTemplate(template).render(stack.region_parameters(cfg, region), region=region)


@pytest.fixture(scope="session", params=["primary", "dr"])
def region_view(request, cfg, template) -> tuple[str, dict]:
    """(region, resolved template) for each of the two stack instances."""
    region = cfg.primary_region if request.param == "primary" else cfg.dr_region
    return region, resolve(template, cfg, region)


def resources_of_type(resolved: dict, resource_type: str) -> dict[str, dict]:
    return {name: body for name, body in resolved["Resources"].items() if body["Type"] == resource_type}
