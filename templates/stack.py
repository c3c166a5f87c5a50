"""Composes the concern modules into the one regional template of the StackSet."""

from __future__ import annotations

from troposphere import Template

from templates import naming, network
from templates.config import Config

TEMPLATE_DESCRIPTION = "trading-dr regional stack: one StackSet, the same template in the primary and the DR region"


def build_template(cfg: Config) -> Template:
    t = Template(Description=f"{TEMPLATE_DESCRIPTION} ({naming.prefix(cfg)})")
    t.set_version("2010-09-09")
    network.add_network(t, cfg)
    return t


def region_parameters(cfg: Config, region: str) -> dict[str, str]:
    """Every parameter of the template, valued for the stack instance in ``region``."""
    return network.region_parameters(cfg, region)
