"""Configuration: defaults, TOML overrides, and one clear message per kind of bad input."""

from __future__ import annotations

import dataclasses

import pytest

from templates.config import Config, ConfigError, config_from_mapping, load_config


def test_defaults_are_valid_and_frozen():
    cfg = Config()
    assert cfg.regions == ("us-east-1", "us-west-2")
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.project = "other"


def test_toml_overrides_any_field_and_keeps_the_other_defaults(tmp_path):
    path = tmp_path / "my.toml"
    path.write_text(
        'environment_suffix = "prod"\n'
        'dr_region = "eu-west-1"\n'
        "[network]\naz_count = 2\nnat_gateways = \"single\"\n"
        "[[alerts.endpoints]]\nprotocol = \"email\"\nendpoint = \"oncall@example.org\"\n"
    )
    cfg = load_config(path)
    assert (cfg.environment_suffix, cfg.dr_region, cfg.primary_region) == ("prod", "eu-west-1", "us-east-1")
    assert (cfg.network.az_count, cfg.network.nat_gateways) == (2, "single")
    assert cfg.network.primary_vpc_cidr == Config().network.primary_vpc_cidr
    assert cfg.alerts.endpoints[0].endpoint == "oncall@example.org"
    assert cfg.vpc_cidr("eu-west-1") == cfg.network.dr_vpc_cidr


BAD_CONFIGS = {
    "same region twice": ({"dr_region": "us-east-1"}, "dr_region", "must differ from primary_region"),
    "malformed region": ({"primary_region": "US-East-1"}, "primary_region", "not a region name"),
    "unknown region": ({"dr_region": "xx-north-9"}, "dr_region", "not a known AWS region"),
    "regions in two partitions": ({"dr_region": "cn-north-1"}, "dr_region", "same AWS partition"),
    "overlapping CIDRs": (
        {"network": {"primary_vpc_cidr": "10.0.0.0/16", "dr_vpc_cidr": "10.0.128.0/17"}},
        "network.dr_vpc_cidr",
        "overlaps",
    ),
    "CIDR with host bits": ({"network": {"primary_vpc_cidr": "10.0.0.1/16"}}, "network.primary_vpc_cidr", "not a valid"),
    "not an address": ({"network": {"dr_vpc_cidr": "10.300.0.0/16"}}, "network.dr_vpc_cidr", "not a valid"),
    "public range": ({"network": {"primary_vpc_cidr": "8.8.0.0/16"}}, "network.primary_vpc_cidr", "not a private"),
    "CIDR too small for the subnets": (
        {"network": {"primary_vpc_cidr": "10.0.0.0/24"}},
        "network.primary_vpc_cidr",
        "too small for the subnets",
    ),
    "CIDR larger than a VPC may be": ({"network": {"dr_vpc_cidr": "10.0.0.0/8"}}, "network.dr_vpc_cidr", "largest VPC"),
    "too many AZs": ({"network": {"az_count": 4}}, "network.az_count", "must be 2 or 3"),
    "too few AZs": ({"network": {"az_count": 1}}, "network.az_count", "must be 2 or 3"),
    "more AZs than the region has": ({"dr_region": "us-west-1"}, "network.az_count", "exceeds the 2 AZs of us-west-1"),
    "suffix with capitals": ({"environment_suffix": "Prod"}, "environment_suffix", "lower-case"),
    "suffix with underscore": ({"environment_suffix": "pr_1"}, "environment_suffix", "lower-case"),
    "suffix with double hyphen": ({"environment_suffix": "pr--1"}, "environment_suffix", "single hyphens"),
    "suffix ending in hyphen": ({"environment_suffix": "pr-"}, "environment_suffix", "single hyphens"),
    "suffix too long for a name": ({"environment_suffix": "a" * 30}, "environment_suffix", "over AWS's limit of 32"),
    "empty project": ({"project": ""}, "project", "lower-case"),
    "typo at the top": ({"enviroment_suffix": "x"}, "enviroment_suffix", "did you mean 'environment_suffix'"),
    "typo in a table": ({"network": {"az_cout": 2}}, "network.az_cout", "did you mean 'network.az_count'"),
    "string for an integer": ({"network": {"az_count": "3"}}, "network.az_count", "must be an integer"),
    "boolean for an integer": ({"objectives": {"rpo_seconds": True}}, "objectives.rpo_seconds", "must be an integer"),
    "integer for a string": ({"project": 5}, "project", "must be a string"),
    "string for a table": ({"network": "big"}, "network", "must be a table"),
    "unknown choice": ({"network": {"nat_gateways": "two"}}, "network.nat_gateways", "one of 'per-az', 'single'"),
    "retention CloudWatch does not offer": ({"logs": {"retention_days": 8}}, "logs.retention_days", "one of 1, 3"),
    "flow log retention CloudWatch does not offer": ({"logs": {"flow_logs_retention_days": 366}}, "logs.flow_logs_retention_days", "one of 1, 3"),
    "runbook retention CloudWatch does not offer": ({"logs": {"runbook_retention_days": 0}}, "logs.runbook_retention_days", "one of 1, 3"),
    "non-positive RPO": ({"objectives": {"rpo_seconds": 0}}, "objectives.rpo_seconds", "positive"),
    "bad e-mail endpoint": (
        {"alerts": {"endpoints": [{"protocol": "email", "endpoint": "nobody"}]}},
        "alerts.endpoints[0].endpoint",
        "not an e-mail address",
    ),
    "unknown endpoint protocol": (
        {"alerts": {"endpoints": [{"protocol": "sms", "endpoint": "+1555"}]}},
        "alerts.endpoints[0].protocol",
        "one of",
    ),
    "endpoints not a list": ({"alerts": {"endpoints": "x"}}, "alerts.endpoints", "must be a list"),
    "the same endpoint twice": (  # found by make configs: the gate's I3037 (non-unique list elements)
        {"alerts": {"endpoints": [{"protocol": "email", "endpoint": "a@example.org"},
                                  {"protocol": "https", "endpoint": "https://pager.example.org/hook"},
                                  {"protocol": "email", "endpoint": "a@example.org"}]}},
        "alerts.endpoints[2].endpoint",
        "repeats endpoints[0] (email a@example.org)",
    ),
    "queue ARN of another partition": (
        {"alerts": {"endpoints": [{"protocol": "sqs", "endpoint": "arn:aws-cn:sqs:cn-north-1:123456789012:oncall"}]}},
        "alerts.endpoints[0].endpoint",
        "cannot deliver across partitions",
    ),
    "function ARN in an unknown region": (
        {"alerts": {"endpoints": [{"protocol": "lambda", "endpoint": "arn:aws:lambda:xx-east-9:123456789012:function:pager"}]}},
        "alerts.endpoints[0].endpoint",
        "not a region of partition 'aws'",
    ),
    "queue ARN for a function endpoint": (
        {"alerts": {"endpoints": [{"protocol": "lambda", "endpoint": "arn:aws:sqs:eu-west-1:123456789012:oncall"}]}},
        "alerts.endpoints[0].endpoint",
        "not a Lambda function ARN",
    ),
    "engine version without minor": ({"database": {"engine_version": "16"}}, "database.engine_version", "like '16.8'"),
    "instance class without prefix": ({"database": {"instance_class": "r6g.large"}}, "database.instance_class", "instance class"),
    "no DR instance": ({"database": {"dr_instances": 0}}, "database.dr_instances", "from 1 to 3"),
    "too many instances": ({"database": {"primary_instances": 4}}, "database.primary_instances", "from 1 to 3"),
    "short backups": ({"database": {"backup_retention_days": 3}}, "database.backup_retention_days", "from 7 to 35"),
    "reserved master user": ({"database": {"master_username": "postgres"}}, "database.master_username", "reserved"),
    "database name with capitals": ({"database": {"database_name": "Trading"}}, "database.database_name", "identifier"),
    "deletion protection as a string": ({"database": {"deletion_protection": "no"}}, "database.deletion_protection", "true or false"),
    "Fargate CPU": ({"app": {"task_cpu": 300}}, "app.task_cpu", "Fargate sizes"),
    "Fargate memory for the CPU": ({"app": {"task_cpu": 256, "task_memory": 4096}}, "app.task_memory", "not a Fargate size"),
    "DR runs more than primary": ({"app": {"dr_desired_count": 5}}, "app.dr_desired_count", "at most primary_desired_count"),
    "failover below primary": ({"app": {"failover_desired_count": 2}}, "app.primary_desired_count", "at most failover_desired_count"),
    "the collector's port for the app": ({"app": {"container_port": 4318}}, "app.container_port", "the collector's"),
    "bad health path": ({"app": {"health_check_path": "health"}}, "app.health_check_path", "starting with /"),
    "bad repository": ({"app": {"image_repository": "Trading App"}}, "app.image_repository", "ECR repository"),
    "certificate not an ARN": ({"dns": {"primary_certificate_arn": "cert"}}, "dns.primary_certificate_arn", "ACM certificate ARN"),
    "certificate in the wrong region": (
        {"dns": {"dr_certificate_arn": "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-aaaa-bbbb-cccc-0123456789ab"}},
        "dns.dr_certificate_arn",
        "must be in us-west-2",
    ),
    "health check interval": ({"dns": {"health_check_interval_seconds": 20}}, "dns.health_check_interval_seconds", "one of 10, 30"),
    "bad hosted zone id": ({"dns": {"hosted_zone_id": "abc"}}, "dns.hosted_zone_id", "hosted zone id"),
    "global writer endpoint of a cluster": (
        {"database": {"global_writer_endpoint": "db.cluster-abc.us-east-1.rds.amazonaws.com"}}, "database.global_writer_endpoint", "not a global writer endpoint"
    ),
    "administration region unknown": ({"stackset_administration_region": "xx-east-9"}, "stackset_administration_region", "not a known AWS region"),
    "administration region elsewhere": ({"stackset_administration_region": "cn-north-1"}, "stackset_administration_region", "same AWS partition"),
    "database origin unknown": ({"database": {"created_in": "xx-east-9"}}, "database.created_in", "not a known AWS region"),
    "database origin elsewhere": ({"database": {"created_in": "cn-north-1"}}, "database.created_in", "same AWS partition"),
}


@pytest.mark.parametrize("data, field_path, rule", BAD_CONFIGS.values(), ids=BAD_CONFIGS.keys())
def test_bad_configuration_names_the_field_and_the_rule(data, field_path, rule):
    with pytest.raises(ConfigError) as caught:
        config_from_mapping(data)
    assert caught.value.field_path == field_path
    assert rule in caught.value.rule
    assert str(caught.value).startswith(f"{field_path}: ")


def test_longest_accepted_suffix_fits_every_name():
    """The boundary: one character less than the rejected length is accepted."""
    longest = None
    for length in range(1, 40):
        try:
            longest = Config(environment_suffix="a" * length)
        except ConfigError:
            break
    assert longest is not None and 10 <= len(longest.environment_suffix) < 39


@pytest.mark.parametrize(
    "content, rule",
    [(None, "cannot read"), ("network = [", "not valid TOML"), (b"\xff\xfe", "not valid TOML")],
    ids=["missing file", "broken TOML", "not UTF-8"],
)
def test_unreadable_file_is_one_config_error(tmp_path, content, rule):
    path = tmp_path / "cfg.toml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.field_path == str(path)
    assert rule in caught.value.rule


def test_availability_zone_table_is_cfn_lints():
    """The copy that keeps cfn-lint out of the render's imports must not drift from it."""
    from cfnlint.helpers import AVAILABILITY_ZONES

    from templates import config

    assert config.AVAILABILITY_ZONES == AVAILABILITY_ZONES
