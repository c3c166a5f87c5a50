"""Which regions and partitions the configuration accepts, and why it refuses the others.

The resource types CloudFormation lacks per region come from a committed copy of cfn-lint's
registry data; these tests keep the copy equal to the installed cfn-lint and to the types
the templates use, so a refusal can neither go stale nor miss a type.
"""

from __future__ import annotations

import json

import botocore.loaders
import pytest

from checks import region_data
from templates import config
from templates.config import Config, ConfigError, config_from_mapping
from templates.render import render


def test_the_committed_availability_equals_the_installed_registry_for_the_templates_types(rendered):
    """The default render's types and those only an option renders (the game day's FIS type)."""
    optional = [render(cfg) for cfg in region_data.covered_configurations()[1:]]
    used = region_data.template_resource_types(region_data.rendered_templates([rendered, *optional]))
    assert "AWS::FIS::ExperimentTemplate" in used
    assert config.RESOURCE_TYPES == region_data.availability(used), "run: .venv/bin/python -m checks.region_data"


def test_the_committed_instance_classes_equal_the_installed_cfn_lints():
    assert config.DB_INSTANCE_CLASSES == region_data.db_instance_classes(), "run: .venv/bin/python -m checks.region_data"
    assert config.DB_ENGINE_VERSIONS == region_data.db_engine_versions(), "run: .venv/bin/python -m checks.region_data"


def test_an_instance_class_a_region_lacks_is_refused_naming_what_both_offer():
    """il-central-1 has no db.r6g (the default) per the data: found by the property test."""
    assert "db.r6g.large" not in config.DB_INSTANCE_CLASSES["classes"]["il-central-1"]
    with pytest.raises(ConfigError) as refused:
        config_from_mapping({"primary_region": "eu-west-1", "dr_region": "il-central-1"})
    assert refused.value.field_path == "database.instance_class"
    assert "db.r6g.large is not offered for aurora-postgresql in il-central-1 (dr_region)" in refused.value.rule
    suggested = refused.value.rule.rsplit("both regions offer ", 1)[1].split(", ")
    for region in ("eu-west-1", "il-central-1"):
        assert set(suggested) <= set(config.DB_INSTANCE_CLASSES["classes"][region])
    assert config_from_mapping(
        {"primary_region": "eu-west-1", "dr_region": "il-central-1", "database": {"instance_class": suggested[0]}}
    )


def test_every_region_of_a_partition_the_configuration_accepts_has_its_instance_classes():
    """The configuration looks classes up by region once the partition is accepted (the
    others, ISO and EUSC, are refused before and have no classes in the data)."""
    accepted = {r for r in region_data.registry_regions() if config.route53_metrics_region(config.region_partition(r))}
    assert "us-east-1" in accepted and "us-iso-east-1" not in accepted
    assert accepted <= set(config.DB_INSTANCE_CLASSES["classes"])


def test_each_region_botocore_knows_is_in_its_partition():
    """PARTITION_PREFIXES against botocore's endpoint data, partition by partition."""
    endpoints = botocore.loaders.Loader().load_data("endpoints")
    assert {
        region: config.region_partition(region) for partition in endpoints["partitions"] for region in partition["regions"]
    } == {region: partition["partition"] for partition in endpoints["partitions"] for region in partition["regions"]}


def test_every_type_some_region_lacks_has_a_purpose_to_name_in_the_refusal():
    lacking = {t for types in config.RESOURCE_TYPES["unavailable"].values() for t in types}
    assert lacking and lacking <= set(config.RESOURCE_PURPOSES)


def test_a_region_the_registry_lacks_a_type_for_is_detected_from_the_registry(monkeypatch):
    """The check reads the data, not a list of region names: take a type away and it refuses."""
    monkeypatch.setitem(config.RESOURCE_TYPES["unavailable"], "eu-west-1", ["AWS::RDS::GlobalCluster"])
    with pytest.raises(ConfigError) as refused:
        Config(primary_region="eu-central-1", dr_region="eu-west-1")
    assert refused.value.field_path == "dr_region"
    assert "eu-west-1 is not supported: CloudFormation has no AWS::RDS::GlobalCluster there" in refused.value.rule


@pytest.mark.parametrize(
    "regions, field, reason",
    [
        (("us-gov-west-1", "us-gov-east-1"), "primary_region", "CloudFormation has no AWS::RDS::GlobalCluster there"),
        (("cn-north-1", "cn-northwest-1"), "primary_region", "partition aws-cn is not supported"),
        (("us-iso-east-1", "us-iso-west-1"), "primary_region", "partition aws-iso is not supported"),
        (("eu-isoe-west-1", "us-east-1"), "dr_region", "same AWS partition"),  # ISOE has one region
        (("eusc-de-east-1", "eusc-de-east-1"), "dr_region", "must differ"),
        (("us-east-1", "us-gov-west-1"), "dr_region", "same AWS partition"),
    ],
    ids=["GovCloud", "China", "ISO", "ISOE", "same region", "across partitions"],
)
def test_unsupported_partitions_are_refused_with_the_reason(regions, field, reason):
    with pytest.raises(ConfigError) as refused:
        config_from_mapping({"primary_region": regions[0], "dr_region": regions[1]})
    assert (refused.value.field_path, reason in refused.value.rule) == (field, True)
    assert "\n" not in str(refused.value)


def test_every_commercial_region_cfn_lint_knows_is_accepted_and_renders():
    """Newer regions included: nothing the templates need is missing in any of them (Transaction
    Search, missing from CloudFormation in a few, is then the account's)."""
    commercial = sorted(r for r in region_data.registry_regions() if config.region_partition(r) == "aws")
    assert {"ca-west-1", "ap-southeast-4", "mx-central-1"} <= set(commercial)
    everywhere = sorted(set.intersection(*(set(config.DB_INSTANCE_CLASSES["classes"][r]) for r in commercial)))
    database = config.DatabaseConfig(instance_class=next(c for c in everywhere if c != "db.serverless"))
    for primary, dr in zip(commercial, commercial[1:] + commercial[:1]):
        # Where CloudFormation lacks Transaction Search, the account enables it (tests/templates/test_tracing.py).
        search = not (config.missing_resource_types(primary) or config.missing_resource_types(dr))
        tracing = config.TracingConfig(enable_transaction_search=search)
        cfg = Config(primary_region=primary, dr_region=dr, network=config.NetworkConfig(az_count=2), database=database, tracing=tracing)
        assert json.loads(render(cfg)["regional.json"])["Resources"]
