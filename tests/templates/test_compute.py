"""App tier as each region resolves it: task, roles, service, load balancer, names."""

from __future__ import annotations

import json

import pytest
from cloud_radar.cf.unit import Template as ResolvedTemplate

from template_support import data_key_arn, resolve, resources_of_type
from templates import compute, naming
from templates.config import Config, ConfigError
from templates.render import render

ACCOUNT = ResolvedTemplate.AccountId


def _containers(resolved: dict) -> dict[str, dict]:
    (task,) = resources_of_type(resolved, "AWS::ECS::TaskDefinition").values()
    return {c["Name"]: c for c in task["Properties"]["ContainerDefinitions"]}


def test_password_reaches_the_app_only_through_task_secrets_from_this_regions_secret(cfg, region_view):
    region, resolved = region_view
    app = _containers(resolved)["app"]
    env = {e["Name"]: e["Value"] for e in app["Environment"]}
    assert not [name for name in env if "PASSWORD" in name or "USERNAME" in name]
    secret_arn = f"arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:{naming.db_secret(cfg).pattern}"
    assert {s["Name"]: s["ValueFrom"] for s in app["Secrets"]} == {
        "DB_USERNAME": f"{secret_arn}:username::",
        "DB_PASSWORD": f"{secret_arn}:password::",
    }
    assert env["DB_SECRET_ARN"] == secret_arn
    assert env["DB_HOST"] == "DbCluster.Endpoint.Address"


def test_task_is_fargate_sized_from_config_and_every_container_logs_with_retention(cfg, region_view):
    _, resolved = region_view
    (task,) = resources_of_type(resolved, "AWS::ECS::TaskDefinition").values()
    props = task["Properties"]
    assert (props["NetworkMode"], props["RequiresCompatibilities"]) == ("awsvpc", ["FARGATE"])
    assert (props["Cpu"], props["Memory"]) == (str(cfg.app.task_cpu), str(cfg.app.task_memory))
    for container in props["ContainerDefinitions"]:
        options = container["LogConfiguration"]["Options"]
        group = resolved["Resources"][options["awslogs-group"]]["Properties"]
        assert group["RetentionInDays"] == cfg.logs.retention_days
        assert group["KmsKeyId"]


def _statements(resolved: dict, role: str) -> list[dict]:
    return [s for p in resolved["Resources"][role]["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]]


def test_execution_role_is_scoped_to_this_stacks_repository_logs_secret_and_key(cfg, region_view):
    region, resolved = region_view
    statements = {s["Sid"]: s for s in _statements(resolved, compute.EXECUTION_ROLE)}
    assert statements["GetRegistryToken"] == {
        "Sid": "GetRegistryToken",
        "Effect": "Allow",
        "Action": ["ecr:GetAuthorizationToken"],
        "Resource": ["*"],
    }
    assert f"arn:aws:ecr:{region}:{ACCOUNT}:repository/{cfg.app.image_repository}" in statements["PullTaskImages"]["Resource"]
    groups = (naming.app_log_group(cfg).pattern, naming.collector_log_group(cfg).pattern)
    assert [arn.split(":log-group:")[1] for arn in statements["WriteOwnLogStreams"]["Resource"]] == [f"{g}:log-stream:*" for g in groups]
    assert statements["ReadDatabaseSecret"]["Resource"] == [
        f"arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:{naming.db_secret(cfg).pattern}-??????"
    ]
    decrypt = statements["DecryptDatabaseSecret"]
    assert decrypt["Resource"] == [data_key_arn(region)]
    assert decrypt["Condition"]["StringEquals"]["kms:ViaService"] == f"secretsmanager.{region}.amazonaws.com"
    for statement in statements.values():
        assert statement["Resource"] == ["*"] or all(f":{region}:{ACCOUNT}:" in arn for arn in statement["Resource"])


def test_task_role_is_assumed_by_this_accounts_ecs_tasks_only(region_view):
    _, resolved = region_view
    trust = resolved["Resources"][compute.TASK_ROLE]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
    assert trust["Condition"]["StringEquals"]["aws:SourceAccount"] == ACCOUNT


def test_service_is_private_with_circuit_breaker_and_warm_standby_counts(cfg, template):
    for region, desired in ((cfg.primary_region, cfg.app.primary_desired_count), (cfg.dr_region, cfg.app.dr_desired_count)):
        resolved = resolve(template, cfg, region)
        (service,) = resources_of_type(resolved, "AWS::ECS::Service").values()
        props = service["Properties"]
        network = props["NetworkConfiguration"]["AwsvpcConfiguration"]
        assert network["AssignPublicIp"] == "DISABLED"
        assert all(subnet.startswith("PrivateSubnet") for subnet in network["Subnets"])
        assert props["DeploymentConfiguration"]["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
        assert "DesiredCount" not in props, "an update would reset a failed-over service (issue 11.6)"
        (target,) = resources_of_type(resolved, "AWS::ApplicationAutoScaling::ScalableTarget").values()
        assert (int(target["Properties"]["MinCapacity"]), target["Properties"]["MaxCapacity"]) == (desired, cfg.app.max_count)
        (policy,) = resources_of_type(resolved, "AWS::ApplicationAutoScaling::ScalingPolicy").values()
        tracking = policy["Properties"]["TargetTrackingScalingPolicyConfiguration"]
        assert tracking["PredefinedMetricSpecification"]["PredefinedMetricType"] == "ECSServiceAverageCPUUtilization"
        assert tracking["TargetValue"] == cfg.app.cpu_target_percent
    assert cfg.app.dr_desired_count < cfg.app.primary_desired_count


def test_listeners_serve_tls12_plus_and_http_only_redirects(region_view):
    _, resolved = region_view
    listeners = {l["Properties"]["Protocol"]: l["Properties"] for l in resources_of_type(resolved, "AWS::ElasticLoadBalancingV2::Listener").values()}
    assert set(listeners) == {"HTTPS", "HTTP"}
    https = listeners["HTTPS"]
    assert https["SslPolicy"] in ("ELBSecurityPolicy-TLS13-1-2-2021-06", "ELBSecurityPolicy-TLS13-1-2-Res-2021-06")
    assert https["Certificates"][0]["CertificateArn"].startswith("arn:aws:acm:")
    assert [a["Type"] for a in https["DefaultActions"]] == ["forward"]
    (redirect,) = listeners["HTTP"]["DefaultActions"]
    assert redirect["Type"] == "redirect"
    assert redirect["RedirectConfig"] == {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}


def test_load_balancer_drops_invalid_headers_and_logs_to_a_tls_only_bucket(cfg, region_view):
    region, resolved = region_view
    (alb,) = resources_of_type(resolved, "AWS::ElasticLoadBalancingV2::LoadBalancer").values()
    attributes = {a["Key"]: a["Value"] for a in alb["Properties"]["LoadBalancerAttributes"]}
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"
    assert attributes["access_logs.s3.enabled"] == "true"
    assert attributes["deletion_protection.enabled"] == "true"
    assert all(subnet.startswith("PublicSubnet") for subnet in alb["Properties"]["Subnets"])
    bucket = resolved["Resources"][attributes["access_logs.s3.bucket"]]["Properties"]
    assert bucket["PublicAccessBlockConfiguration"] == dict.fromkeys(
        ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"), True
    )
    assert bucket["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == cfg.logs.access_log_expiration_days
    (policy,) = resources_of_type(resolved, "AWS::S3::BucketPolicy").values()
    statements = {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    assert statements["DenyInsecureTransport"]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    writer = statements["LoadBalancerWritesAccessLogs"]
    assert writer["Principal"] == {"AWS": f"arn:aws:iam::{compute.elb_log_delivery_account(region)}:root"}
    assert writer["Resource"] == [f"arn:aws:s3:::AccessLogBucket/alb/AWSLogs/{ACCOUNT}/*"]


def test_regions_opened_after_august_2022_use_the_log_delivery_service_principal():
    cfg = Config(dr_region="ap-southeast-5")
    assert compute.elb_log_delivery_account("ap-southeast-5") == ""
    resolved = resolve(json.loads(render(cfg)["regional.json"]), cfg, "ap-southeast-5")
    (policy,) = resources_of_type(resolved, "AWS::S3::BucketPolicy").values()
    writer = policy["Properties"]["PolicyDocument"]["Statement"][1]
    assert writer["Principal"] == {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}


def test_security_groups_chain_internet_to_alb_to_app(cfg, region_view):
    _, resolved = region_view
    alb_group = resolved["Resources"]["LoadBalancerSecurityGroup"]["Properties"]
    assert sorted((r["FromPort"], r["CidrIp"]) for r in alb_group["SecurityGroupIngress"]) == [(80, "0.0.0.0/0"), (443, "0.0.0.0/0")]
    assert [(r["FromPort"], r["DestinationSecurityGroupId"]) for r in alb_group["SecurityGroupEgress"]] == [
        (cfg.app.container_port, "AppSecurityGroup")
    ]
    app_rules = [
        r["Properties"]
        for r in resources_of_type(resolved, "AWS::EC2::SecurityGroupIngress").values()
        if r["Properties"]["GroupId"] == "AppSecurityGroup"
    ]
    assert [(r["FromPort"], r["SourceSecurityGroupId"]) for r in app_rules] == [(cfg.app.container_port, "LoadBalancerSecurityGroup")]
    assert "SecurityGroupIngress" not in resolved["Resources"]["AppSecurityGroup"]["Properties"]


def _longest_suffix(primary: str, dr: str) -> str:
    suffix = "a"
    while True:
        try:
            Config(environment_suffix=suffix + "a", primary_region=primary, dr_region=dr)
        except ConfigError:
            return suffix
        suffix += "a"


@pytest.mark.parametrize("region_pair", [("us-east-1", "us-west-2"), ("ap-northeast-1", "ap-southeast-2")])
def test_names_fit_aws_limits_for_the_longest_allowed_suffix(region_pair):
    cfg = Config(environment_suffix=_longest_suffix(*region_pair), primary_region=region_pair[0], dr_region=region_pair[1])
    template = json.loads(render(cfg)["regional.json"])
    limits = {
        "AWS::ElasticLoadBalancingV2::LoadBalancer": ("Name", 32),
        "AWS::ElasticLoadBalancingV2::TargetGroup": ("Name", 32),
        "AWS::RDS::DBCluster": ("DBClusterIdentifier", 63),
    }
    for region in region_pair:
        resolved = resolve(template, cfg, region)
        for resource_type, (prop, limit) in limits.items():
            for resource in resources_of_type(resolved, resource_type).values():
                assert len(resource["Properties"][prop]) <= limit, (resource_type, resource["Properties"][prop])
    tightest = min(name.limit - len(name.for_region(region)) for name in naming.all_names(cfg) for region in region_pair)
    assert tightest == 0, "the suffix is as long as the tightest name allows"


def test_the_app_writes_through_the_global_writer_endpoint_once_configured(cfg):
    """Issue 11.4: AWS advises the global writer endpoint (it follows the writer); CloudFormation
    does not return it, so it is configured after the first deploy."""
    from templates.render import render

    endpoint = "trading-dev-global.global-abc123def.global.rds.amazonaws.com"
    with_endpoint = cfg.model_copy(update={"database": cfg.database.model_copy(update={"global_writer_endpoint": endpoint})})
    for config, expected in ((cfg, None), (with_endpoint, endpoint)):
        resolved = resolve(json.loads(render(config)["regional.json"]), config, config.dr_region)
        (task,) = resources_of_type(resolved, "AWS::ECS::TaskDefinition").values()
        app = next(c for c in task["Properties"]["ContainerDefinitions"] if c["Name"] == "app")
        host = {e["Name"]: e["Value"] for e in app["Environment"]}["DB_HOST"]
        assert host == expected if expected else host != endpoint


def test_both_containers_run_as_non_root_on_a_read_only_root_filesystem(cfg, region_view):
    from templates import tracing

    _, resolved = region_view
    containers = _containers(resolved)
    app, collector = containers["app"], containers[tracing.COLLECTOR_CONTAINER]
    assert (app["User"], app["ReadonlyRootFilesystem"]) == (cfg.app.container_user, True)
    assert (collector["User"], collector["ReadonlyRootFilesystem"]) == (tracing.COLLECTOR_USER, True)
    assert all(c["User"].split(":")[0] != "0" for c in containers.values())
    (task,) = resources_of_type(resolved, "AWS::ECS::TaskDefinition").values()
    assert app["MountPoints"] == [{"SourceVolume": compute.WRITABLE_VOLUME, "ContainerPath": "/tmp", "ReadOnly": False}]
    assert task["Properties"]["Volumes"] == [{"Name": compute.WRITABLE_VOLUME}], "an empty task volume, nothing else"


def test_the_writable_path_and_user_are_configurable_and_root_is_refused():
    from templates.config import AppConfig

    cfg = Config(app=AppConfig(writable_path="", container_user="2000"))
    (task,) = resources_of_type(json.loads(render(cfg)["regional.json"]), "AWS::ECS::TaskDefinition").values()
    app = next(c for c in task["Properties"]["ContainerDefinitions"] if c["Name"] == "app")
    assert app["User"] == "2000" and not app.get("MountPoints") and not task["Properties"].get("Volumes")
    for user in ("0", "0:0", "root", ""):
        with pytest.raises(ConfigError, match="container_user"):
            AppConfig(container_user=user)
    for path in ("/", "tmp", "/a b"):
        with pytest.raises(ConfigError, match="writable_path"):
            AppConfig(writable_path=path)


def test_the_app_container_is_what_the_readmes_contract_says(cfg, region_view):
    """README "The app's contract": no health command inside the image (a distroless image has no
    curl), the load balancer's HTTP check instead; these variables and secrets; this user; the
    writable path as a task volume."""
    _, resolved = region_view
    task = resolved["Resources"][compute.TASK_DEFINITION]["Properties"]
    app = next(c for c in task["ContainerDefinitions"] if c["Name"] == compute.APP_CONTAINER)
    assert "HealthCheck" not in app
    target_group = resolved["Resources"][compute.TARGET_GROUP]["Properties"]
    assert (target_group["HealthCheckPath"], target_group["Matcher"]) == (cfg.app.health_check_path, {"HttpCode": "200"})
    assert {e["Name"] for e in app["Environment"]} >= {"DB_HOST", "DB_READER_HOST", "DB_PORT", "DB_NAME", "DB_SECRET_ARN"}
    assert {s["Name"] for s in app["Secrets"]} == {"DB_USERNAME", "DB_PASSWORD"}
    assert (app["User"], app["ReadonlyRootFilesystem"]) == (cfg.app.container_user, True)
    (mount,) = app["MountPoints"]
    assert mount["ContainerPath"] == cfg.app.writable_path
    assert app["PortMappings"][0]["ContainerPort"] == cfg.app.container_port
