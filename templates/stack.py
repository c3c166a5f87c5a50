"""Composes the concern modules into the StackSet templates.

``bootstrap``: what both regions need before either regional instance deploys (the
data key, the failover switch, the artifact and report buckets, CloudWatch Transaction Search). ``regional``: everything else, identical in both regions, with the role
chosen per stack instance by parameters.
"""

from __future__ import annotations

from troposphere import Ref, Template

from templates import (
    alert_endpoints, alerting, artifacts, compute, database, dns, gameday, naming, network, protection, readiness, regions,
    reports, run_failures, runbook, security, tracing,
)
from templates.config import Config


def _template(cfg: Config, purpose: str) -> Template:
    t = Template(Description=f"trading-dr {purpose} ({naming.prefix(cfg)})")
    t.set_version("2010-09-09")
    return t


def build_bootstrap_template(cfg: Config) -> Template:
    t = _template(cfg, "bootstrap: per-region data key and failover switch, deployed before the regional stack set")
    security.add_data_key(t, cfg)
    dns.add_failover_switch(t, cfg)
    artifacts.add_artifact_bucket(t, cfg)
    reports.add_report_bucket(t, cfg)
    # Account-wide per region, and needed by the collector's first export: before the regional stack.
    tracing.add_transaction_search(t, cfg)
    return t


def build_regional_template(cfg: Config, functions_key: str) -> Template:
    """``functions_key``: the runbook zip's S3 key (content hash) in each region's artifact bucket."""
    t = _template(cfg, "regional stack: the same template in the primary and the DR region")
    regions.add_region_role(t)
    protection.add_parameter(t, cfg)
    vpc = network.add_network(t, cfg)
    groups = security.add_security_groups(t, cfg, vpc)
    data = database.add_database(t, cfg, vpc, groups)
    app = compute.add_compute(t, cfg, vpc, groups, data)
    dns.add_traffic(t, cfg, app)
    alerts = alerting.add_alerting(t, cfg, app, functions_key)
    steps = runbook.add_runbook(t, cfg, alerts, app, functions_key)
    run_failures.add_run_failures(t, cfg, alerts)
    readiness.add_readiness(t, cfg, Ref(runbook.STATE_MACHINE), functions_key)
    gameday.add_gameday(t, cfg, vpc)
    alerting.add_topic_policy(t, cfg, publisher_role_arns=steps.role_arns)
    return t


def region_parameters(cfg: Config, region: str) -> dict[str, str]:
    """Every parameter of the regional template, valued for the stack instance in ``region``."""
    return {
        **regions.region_parameters(cfg, region),
        **protection.region_parameters(cfg, region),
        **network.region_parameters(cfg, region),
        **database.region_parameters(cfg, region),
        **compute.region_parameters(cfg, region),
        **runbook.region_parameters(cfg, region),
        **alert_endpoints.parameter_values(cfg),
    }
