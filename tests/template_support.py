"""Resolving the rendered templates per region, offline: see ``checks/resolved.py``."""

from __future__ import annotations

from checks.resolved import certificate_arn, data_key_arn, resolve, resources_of_type  # noqa: F401


def resolve_health_alarms(rendered: dict[str, bytes], cfg) -> dict:
    """The Route 53 alarms' template resolved in its metrics region, with stand-in health check ids."""
    import json

    from cloud_radar.cf.unit import Template

    template = json.loads(rendered["route53_alarms.json"])
    values = {item["ParameterKey"]: item["ParameterValue"] for item in json.loads(rendered["parameters/route53_alarms.json"])}
    values |= {"PrimaryHealthCheckId": "11111111-1111-1111-1111-111111111111", "SecondaryHealthCheckId": "22222222-2222-2222-2222-222222222222"}
    return Template(template).render(values, region=cfg.route53_metrics_region)
