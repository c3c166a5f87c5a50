"""Tracing and images as each region resolves them: the collector sidecar, its pipeline, the app's
OpenTelemetry variables, the task role's grants, Transaction Search, and where every image comes from."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from cloud_radar.cf.unit import Template as ResolvedTemplate

from checks.resolved import resolve_bootstrap

from template_support import resolve, resources_of_type
from templates import compute, naming, tracing
from templates.config import Config, ConfigError, TracingConfig, config_from_mapping
from templates.render import render

ACCOUNT = ResolvedTemplate.AccountId
ROOT = Path(__file__).resolve().parents[2]


def _task(resolved: dict) -> dict:
    (task,) = resources_of_type(resolved, "AWS::ECS::TaskDefinition").values()
    return task["Properties"]


def _containers(resolved: dict) -> dict[str, dict]:
    return {c["Name"]: c for c in _task(resolved)["ContainerDefinitions"]}


def _environment(container: dict) -> dict[str, str]:
    return {e["Name"]: e["Value"] for e in container.get("Environment", [])}


def test_every_image_is_in_this_regions_registry_by_a_pinned_reference(cfg, region_view):
    region, resolved = region_view
    registry = f"{ACCOUNT}.dkr.ecr.{region}.amazonaws.com/"
    expected = {
        compute.APP_CONTAINER: f"{registry}{cfg.app.image_repository}:{cfg.app.image_tag}",
        tracing.COLLECTOR_CONTAINER: f"{registry}{cfg.tracing.collector_repository}:{cfg.tracing.collector_image_tag}",
    }
    assert {name: c["Image"] for name, c in _containers(resolved).items()} == expected
    for image in expected.values():
        tag = image.rsplit(":", 1)[1]
        assert tag != "latest" and not re.search(r"(^|[.-])x$", tag), f"{image}: a moving tag"


def test_a_digest_pins_an_image_by_digest():
    digest = "sha256:" + "ab" * 32
    cfg = Config(tracing=TracingConfig(collector_image_tag=digest))
    resolved = resolve(json.loads(render(cfg)["regional.json"]), cfg, cfg.dr_region)
    assert _containers(resolved)[tracing.COLLECTOR_CONTAINER]["Image"].endswith(f"/{cfg.tracing.collector_repository}@{digest}")


@pytest.mark.parametrize("tag", ["latest", "3.x", "v1.x", "1.2.x", "stable", "a b", ""])
def test_moving_or_malformed_tags_are_refused_naming_the_field(tag):
    with pytest.raises(ConfigError) as refused:
        config_from_mapping({"tracing": {"collector_image_tag": tag}})
    assert refused.value.field_path == "tracing.collector_image_tag"
    with pytest.raises(ConfigError) as refused:
        config_from_mapping({"app": {"image_tag": tag}})
    assert refused.value.field_path == "app.image_tag"


def test_no_xray_daemon_and_no_public_registry_anywhere_in_the_render():
    rendered = b"".join(path.read_bytes() for path in sorted((ROOT / "dr_templates").rglob("*.json")))
    for text in (b"aws-xray-daemon", b"xray-daemon", b"public.ecr.aws", b"docker.io", b"AWS_XRAY_DAEMON_ADDRESS"):
        assert text not in rendered, text


def test_the_collector_config_is_yaml_with_otlp_on_localhost_limits_batches_and_exports_to_this_regions_xray(region_view):
    region, resolved = region_view
    collector = _containers(resolved)[tracing.COLLECTOR_CONTAINER]
    config = yaml.safe_load(_environment(collector)[tracing.CONFIG_VARIABLE])
    assert config["receivers"]["otlp"]["protocols"] == {
        "grpc": {"endpoint": "127.0.0.1:4317"},
        "http": {"endpoint": "127.0.0.1:4318"},
    }
    assert {"memory_limiter", "batch"} <= set(config["processors"])
    exporter = config["exporters"][tracing.EXPORTER]
    assert tracing.EXPORTER.split("/")[0] == "otlphttp"
    assert exporter["traces_endpoint"] == f"https://xray.{region}.amazonaws.com/v1/traces"
    assert exporter["auth"] == {"authenticator": "sigv4auth"}
    assert config["extensions"]["sigv4auth"] == {"region": region, "service": "xray"}
    (pipeline,) = config["service"]["pipelines"].values()
    assert pipeline == {"receivers": ["otlp"], "processors": ["memory_limiter", "batch"], "exporters": [tracing.EXPORTER]}
    assert set(config["service"]["extensions"]) == set(config["extensions"])
    assert config["processors"]["memory_limiter"]["limit_mib"] < collector["Memory"], "refuses data before the hard limit"
    assert "${" not in json.dumps(config), "nothing left for the collector's own variable expansion"


def test_the_collector_runs_non_root_read_only_health_checked_and_logs_to_its_own_group(cfg, region_view):
    _, resolved = region_view
    collector = _containers(resolved)[tracing.COLLECTOR_CONTAINER]
    assert (collector["User"], collector["ReadonlyRootFilesystem"], collector["Essential"]) == (tracing.COLLECTOR_USER, True, False)
    assert collector["User"].split(":")[0] != "0"
    assert collector["HealthCheck"]["Command"] == ["CMD", "/healthcheck"]
    options = collector["LogConfiguration"]["Options"]
    group = resolved["Resources"][options["awslogs-group"]]["Properties"]
    assert group["LogGroupName"] == naming.collector_log_group(cfg).pattern
    assert group["RetentionInDays"] == cfg.logs.retention_days and group["KmsKeyId"]
    app_group = _containers(resolved)[compute.APP_CONTAINER]["LogConfiguration"]["Options"]["awslogs-group"]
    assert options["awslogs-group"] != app_group


def test_the_app_gets_the_standard_otel_variables(cfg, region_view):
    region, resolved = region_view
    env = _environment(_containers(resolved)[compute.APP_CONTAINER])
    role = "primary" if region == cfg.primary_region else "secondary"
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://127.0.0.1:4318"
    assert env["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf"
    assert env["OTEL_SERVICE_NAME"] == f"{naming.prefix(cfg)}-app"
    attributes = dict(item.split("=", 1) for item in env["OTEL_RESOURCE_ATTRIBUTES"].split(","))
    assert attributes == {"deployment.environment": cfg.environment_suffix, "cloud.region": region, "dr.role": role}
    assert env["OTEL_TRACES_EXPORTER"] == "otlp"
    assert (env["OTEL_METRICS_EXPORTER"], env["OTEL_LOGS_EXPORTER"]) == ("none", "none"), "the collector takes traces only"
    assert not [name for name in env if "XRAY" in name]


def _statements(resolved: dict, role: str) -> list[dict]:
    return [s for p in resolved["Resources"][role]["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]]


def test_the_task_role_grants_exactly_the_exporters_put_trace_segments(region_view):
    _, resolved = region_view
    assert _statements(resolved, compute.TASK_ROLE) == [
        {"Sid": "ExportTraces", "Effect": "Allow", "Action": ["xray:PutTraceSegments"], "Resource": ["*"]}
    ]


def test_the_execution_role_pulls_only_this_regions_two_repositories(cfg, region_view):
    region, resolved = region_view
    pull = {s["Sid"]: s for s in _statements(resolved, compute.EXECUTION_ROLE)}["PullTaskImages"]
    assert pull["Resource"] == [
        f"arn:aws:ecr:{region}:{ACCOUNT}:repository/{repository}"
        for repository in (cfg.app.image_repository, cfg.tracing.collector_repository)
    ]


def test_transaction_search_is_the_bootstrap_stacks_retained_and_left_alone_when_the_account_has_it(cfg, bootstrap, template):
    for region in cfg.regions:
        resolved = resolve_bootstrap(bootstrap, cfg, region)
        (setting,) = resources_of_type(resolved, "AWS::XRay::TransactionSearchConfig").values()
        (policy,) = resources_of_type(resolved, "AWS::Logs::ResourcePolicy").values()
        # The account's setting outlives the project, but not a failed first create (its retry would
        # find Transaction Search on and the policy's name taken).
        assert setting["DeletionPolicy"] == policy["DeletionPolicy"] == "RetainExceptOnCreate"
        assert setting["DependsOn"] == tracing.TRANSACTION_SEARCH_LOGS_POLICY
        (statement,) = json.loads(policy["Properties"]["PolicyDocument"])["Statement"]
        assert statement["Principal"] == {"Service": "xray.amazonaws.com"} and statement["Action"] == ["logs:PutLogEvents"]
        assert statement["Resource"] == [
            f"arn:aws:logs:{region}:{ACCOUNT}:log-group:aws/spans:*",
            f"arn:aws:logs:{region}:{ACCOUNT}:log-group:/aws/application-signals/data:*",
        ]
        assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
    assert not resources_of_type(template, "AWS::XRay::TransactionSearchConfig"), "one owner: the bootstrap stack set"
    existing = Config(tracing=TracingConfig(enable_transaction_search=False))
    rendered = render(existing)
    assert not [
        r for r in json.loads(rendered["bootstrap.json"])["Resources"].values()
        if r["Type"] in ("AWS::XRay::TransactionSearchConfig", "AWS::Logs::ResourcePolicy")
    ]


def test_a_region_without_transaction_search_in_cloudformation_needs_it_enabled_outside():
    pair = {"primary_region": "us-east-2", "dr_region": "mx-central-1"}
    with pytest.raises(ConfigError) as refused:
        config_from_mapping(pair)
    assert refused.value.field_path == "dr_region" and "tracing.enable_transaction_search = false" in refused.value.rule
    cfg = config_from_mapping({**pair, "tracing": {"enable_transaction_search": False}})
    assert json.loads(render(cfg)["regional.json"])["Resources"]


def test_the_execution_role_may_create_transaction_searchs_own_log_groups(rendered, cfg):
    """The handler of AWS::XRay::TransactionSearchConfig creates aws/spans and
    /aws/application-signals/data with the deployer's credentials ("Enable transaction search"
    prerequisites): names AWS owns, outside the project's name scope."""
    role = json.loads(rendered["stackset_execution_role.json"])["Resources"]["ExecutionRole"]["Properties"]
    (policy,) = [p for p in role["Policies"] if p["PolicyName"] == "transaction-search"]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert set(statement["Action"]) == {"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutRetentionPolicy"}
    text = json.dumps(statement["Resource"])
    assert "log-group:aws/spans" in text and "log-group:/aws/application-signals/data" in text
