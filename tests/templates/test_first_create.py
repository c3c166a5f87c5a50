"""A failed first create can roll back, and a retry can succeed: no deletion protection while a
stack instance is first created, protection as configured once it is, and nothing with a
fixed name kept by a rollback."""

from __future__ import annotations

import json

import pytest

from template_support import resolve, resources_of_type
from templates import protection
from templates.config import AppConfig, Config, DatabaseConfig
from templates.render import render

NAME_PROPERTIES = ("BucketName", "Name", "AliasName", "GlobalClusterIdentifier", "DBClusterIdentifier", "TableName", "TopicName", "QueueName")


def _protection(resolved: dict) -> dict[str, str]:
    """Every deletion-protection setting of the template, by logical id ("true"/"false": a literal
    is a boolean in the JSON, a parameter a string)."""
    found = {}
    for logical, resource in resolved["Resources"].items():
        props = resource["Properties"]
        if resource["Type"] in ("AWS::RDS::DBCluster", "AWS::RDS::GlobalCluster"):
            found[logical] = str(props["DeletionProtection"]).lower()
        elif resource["Type"] == "AWS::ElasticLoadBalancingV2::LoadBalancer":
            attributes = {a["Key"]: a["Value"] for a in props["LoadBalancerAttributes"]}
            found[logical] = str(attributes["deletion_protection.enabled"]).lower()
    return found


def test_a_first_create_is_unprotected_and_the_steady_state_protected(cfg, rendered, template):
    manifest = json.loads(rendered["metadata/manifest.json"])
    (regional,) = [entry for entry in manifest["stack_sets"] if entry["template"] == "regional.json"]
    first = regional["first_create_parameters"]
    assert set(first) <= set(template["Parameters"])
    for region in cfg.regions:
        steady = _protection(resolve(template, cfg, region))
        creating = _protection(resolve(template, cfg, region, first))
        assert len(steady) == (3 if region == cfg.primary_region else 2), "clusters (and the global one) and the ALB"
        assert set(steady.values()) == {"true"}
        assert set(creating.values()) == {"false"}


@pytest.mark.parametrize("database, load_balancer", [(False, True), (True, False), (False, False)])
def test_protection_the_configuration_turns_off_stays_off(database, load_balancer):
    cfg = Config(database=DatabaseConfig(deletion_protection=database), app=AppConfig(load_balancer_deletion_protection=load_balancer))
    files = render(cfg)
    template = json.loads(files["regional.json"])
    resolved = resolve(template, cfg, cfg.primary_region)
    settings = _protection(resolved)
    for logical, value in settings.items():
        wanted = load_balancer if resolved["Resources"][logical]["Type"].startswith("AWS::ElasticLoadBalancing") else database
        assert value == str(wanted).lower(), logical
    assert (protection.PARAMETER in template.get("Parameters", {})) == (database or load_balancer)


def test_nothing_with_a_fixed_name_is_kept_by_a_rollback(rendered):
    """Retain is honoured by a create's rollback; a kept resource with a fixed name makes the
    retry fail on "already exists". RetainExceptOnCreate is not honoured by a rollback."""
    for name in ("regional.json", "bootstrap.json", "route53_alarms.json"):
        for logical, resource in json.loads(rendered[name])["Resources"].items():
            if resource.get("DeletionPolicy") in ("Retain", "Snapshot"):
                named = [key for key in NAME_PROPERTIES if key in resource.get("Properties", {})]
                if resource.get("DeletionPolicy") == "Snapshot":
                    continue  # a cluster: its rollback deletes it (the snapshot's name is generated)
                assert not named, f"{name} {logical} keeps its fixed {named} after a rollback"


def test_resolving_a_template_prints_nothing(cfg, template, capsys):
    """cloud-radar prints every template it loads; the drills' and the plan's output do without."""
    assert resolve(template, cfg, cfg.primary_region)["Resources"]
    assert capsys.readouterr().out == ""
