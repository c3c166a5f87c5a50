"""The one typed, validated configuration: embedded defaults, overridden by a TOML file.

Pydantic models, one per TOML table: strict (TOML's ``"8080"`` or ``true`` is not a number),
frozen, unknown keys refused. Each field carries its description, its bounds and where they
come from (``source``: the CloudFormation resource provider schema cfn-lint ships, or an AWS
page), and the template properties it feeds (``feeds``); ``templates/config_reference.py``
turns them into ``docs/config.schema.json`` and ``docs/configuration.md``.

``load_config`` reports the first problem as one ``ConfigError`` naming the field
(``alerts.endpoints[0].endpoint``) and the rule it broke: pydantic's errors are mapped to
that line here (``templates/config_errors.py``), never shown as pydantic prints them.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from templates import naming
from templates.config_errors import ConfigError, Rule, from_validation_error

__all__ = ["ConfigError", "Config", "load_config", "config_from_mapping", "region_partition", "missing_resource_types"]

# A region name as AWS spells them: us-east-1, us-gov-west-1, us-isob-east-1, eusc-de-east-1.
REGION_PATTERN = r"^[a-z]{2,4}(-[a-z]+){1,2}-\d+$"
# Lower-case words joined by single hyphens: valid in every name we derive (RDS, ALB, S3).
NAME_PART_PATTERN = r"^[a-z](?:[a-z0-9]|-(?=[a-z0-9]))*$"
HOSTED_ZONE_ID_PATTERN = r"^Z[A-Z0-9]{1,31}$"
CERTIFICATE_ARN_PATTERN = re.compile(r"^arn:(aws[a-z-]*):acm:([a-z0-9-]+):\d{12}:certificate/[0-9a-f-]+$")
DOMAIN_PATTERN = r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
IPV4_CIDR_PATTERN = r"^\d{1,3}(\.\d{1,3}){3}/\d{1,2}$"

# Each tier gets a quarter of the VPC and each AZ a quarter of its tier (room for 3 AZs
# plus one spare), so a subnet is VPC prefix + 4 bits.
SUBNET_EXTRA_BITS = 4
# /26 is the smallest subnet we accept: an ALB needs a /27 with 8 free addresses, and
# Fargate tasks and Aurora instances each take an address per task/instance.
SMALLEST_SUBNET_PREFIX = 26
# "The allowed block size is between a /16 netmask (65,536 IP addresses) and /28 netmask"
# (Amazon VPC User Guide, "VPC CIDR blocks", https://docs.aws.amazon.com/vpc/latest/userguide/vpc-cidr-blocks.html).
LARGEST_VPC_PREFIX = 16
# The same page recommends "a CIDR block from the private IPv4 address ranges as specified in
# RFC 1918" (10/8, 172.16/12, 192.168/16) and warns: "Some AWS services use the 172.17.0.0/16
# CIDR range. To avoid future conflicts, don't use this range when creating your VPC."
# Python's is_private also says yes to loopback, link-local, benchmarking (198.18/15) and
# reserved ranges, which are no VPC's; publicly routable ranges AWS takes, but a VPC holding
# addresses it does not own hides their real owners from the app, so they are refused too.
RFC1918 = tuple(ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
AWS_SERVICES_RANGE = ipaddress.IPv4Network("172.17.0.0/16")
# Instances per regional cluster: a writer (or headless secondary's first reader) plus
# up to two readers across the AZs.
MAX_DB_INSTANCES = 3


# Region name prefixes of the partitions other than aws (botocore's endpoints.json), most specific first.
PARTITION_PREFIXES = (
    ("cn-", "aws-cn"),
    ("us-gov-", "aws-us-gov"),
    ("us-isob-", "aws-iso-b"),
    ("us-isof-", "aws-iso-f"),
    ("us-iso-", "aws-iso"),
    ("eu-isoe-", "aws-iso-e"),
    ("eusc-", "aws-eusc"),
)


def region_partition(region: str) -> str:
    """The partition a region lives in (global databases cannot span partitions)."""
    return next((partition for prefix, partition in PARTITION_PREFIXES if region.startswith(prefix)), "aws")


DATA = Path(__file__).parent / "data"
ROUTE53_METRICS_FILE = DATA / "route53_metrics_regions.json"
# A copy of cfn-lint's table: importing cfn-lint for it would cost most of a render's time.
AVAILABILITY_ZONES_FILE = DATA / "availability_zones.json"
AVAILABILITY_ZONES: dict[str, list[str]] = json.loads(AVAILABILITY_ZONES_FILE.read_text(encoding="utf-8"))["zones"]


# Which resource types of the templates CloudFormation lacks, per region (checks/region_data.py).
RESOURCE_TYPES_FILE = DATA / "resource_types.json"
RESOURCE_TYPES: dict = json.loads(RESOURCE_TYPES_FILE.read_text(encoding="utf-8"))
# What each type that some region lacks is for, so a refusal says what would be missing.
RESOURCE_PURPOSES = {
    "AWS::RDS::GlobalCluster": "the Aurora global database that replicates into the other region",
    "AWS::XRay::TransactionSearchConfig": "CloudWatch Transaction Search, which X-Ray's OTLP endpoint needs: "
    "enable it there yourself and set tracing.enable_transaction_search = false",
    "AWS::FIS::ExperimentTemplate": "the game day's fault injection experiment: set gameday.enabled = false",
}
# Rendered only with tracing.enable_transaction_search (the bootstrap stack's Transaction Search).
TRANSACTION_SEARCH_TYPES = ("AWS::XRay::TransactionSearchConfig", "AWS::Logs::ResourcePolicy")
# Rendered only with gameday.enabled (templates/gameday.py). In the regional template, which is
# one template for both stack instances: CloudFormation must know the type in both regions,
# though the experiment exists only in the primary's (a Condition does not exempt a type).
GAMEDAY_TYPES = ("AWS::FIS::ExperimentTemplate",)


# The DB instance classes of the templates' engine per region (checks/region_data.py).
DB_INSTANCE_CLASSES_FILE = DATA / "db_instance_classes.json"
DB_INSTANCE_CLASSES: dict = json.loads(DB_INSTANCE_CLASSES_FILE.read_text(encoding="utf-8"))
# The engine's versions a DB cluster may name, none deprecated (checks/region_data.py).
DB_ENGINE_VERSIONS_FILE = DATA / "db_engine_versions.json"
DB_ENGINE_VERSIONS: dict = json.loads(DB_ENGINE_VERSIONS_FILE.read_text(encoding="utf-8"))


def missing_resource_types(region: str) -> list[str]:
    """The templates' resource types CloudFormation does not offer in ``region``."""
    return RESOURCE_TYPES["unavailable"].get(region, [])


def _route53_metrics_regions() -> dict[str, str]:
    return json.loads(ROUTE53_METRICS_FILE.read_text(encoding="utf-8"))["regions"]


def route53_metrics_region(partition: str) -> str | None:
    """Where Route 53 publishes health-check metrics for a partition (only one region)."""
    return _route53_metrics_regions().get(partition)


def documented_route53_metrics() -> str:
    return " and ".join(f"{region} ({partition})" for partition, region in sorted(_route53_metrics_regions().items()))


# The gate's rule E9005 (checks/dr_rules/arns.py) refuses a literal account id or region
# anywhere in a template; a value rendered into one must hold neither.
_ACCOUNT_ID = re.compile(r"(?<![0-9A-Za-z])\d{12}(?![0-9A-Za-z])")
_REGION_LITERAL = re.compile(
    r"(?<![0-9A-Za-z])(?:%s)(?!\d)" % "|".join(map(re.escape, sorted(AVAILABILITY_ZONES, key=len, reverse=True)))
)


def _repository_name(value: str) -> str:
    """A repository NAME: the templates put each region's own registry before it."""
    if re.search(r"\.dkr\.ecr\.|amazonaws\.com|^public\.ecr\.aws/|[:@]", value):
        raise ConfigError("", f"{value!r} is an image URI: give the repository name only (like 'trading-app'); the "
                          "templates pull from each region's own registry")
    return _portable(value)


def _portable(value: str) -> str:
    for pattern, fact in ((_ACCOUNT_ID, "an account id"), (_REGION_LITERAL, "a region name")):
        found = pattern.search(value)
        if found:
            raise ConfigError("", f"{value!r} holds {fact} ({found[0]}): the same template deploys to both regions "
                              "and any account, so a rendered value must not")
    return value


def setting(default: Any, description: str, *, feeds: tuple[str, ...] = (), source: str = "", **constraints: Any) -> Any:
    """A field with its description, the template properties it feeds and where its bounds come from."""
    extra = {key: value for key, value in (("feeds", list(feeds)), ("bounds_source", source)) if value}
    return Field(default, description=description, json_schema_extra=extra or None, **constraints)


# Reusable field types: the pattern for editors and the schema, the rule for the one-line refusal.
Region = Annotated[str, Field(pattern=REGION_PATTERN), Rule("is not a region name (like 'us-east-1')")]
OptionalRegion = Annotated[str, Field(pattern=f"^$|{REGION_PATTERN}"), Rule("is not a region name (like 'us-east-1')")]
NamePart = Annotated[str, Field(pattern=NAME_PART_PATTERN), AfterValidator(_portable), Rule(
    "must start with a lower-case letter and hold only lower-case letters, digits and single hyphens "
    "(it goes into RDS, ALB and S3 names)")]
VpcCidr = Annotated[str, Field(pattern=IPV4_CIDR_PATTERN), Rule("is not a valid IPv4 CIDR block (like '10.10.0.0/16')")]
CertificateArn = Annotated[str, Field(pattern=f"^$|{CERTIFICATE_ARN_PATTERN.pattern}"),
        Rule("is not an ACM certificate ARN")]
# ECR's repository name (AWS::ECR::Repository RepositoryName in cfn-lint's provider schema:
# 2-256 characters, this pattern). A registry host before it (ACCOUNT.dkr.ecr.REGION.amazonaws.com/)
# also matches the pattern, and then holds the literal account and region the gate refuses.
ECR_REPOSITORY_PATTERN = r"^(?=.{2,256}$)((?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*)$"
EcrRepository = Annotated[str, Field(pattern=ECR_REPOSITORY_PATTERN), AfterValidator(_repository_name), Rule(
    "is not an ECR repository name (2-256 characters: lower-case words separated by '.', '_', '-' or '/')")]
# "Image tags can be up to 128 characters" (ECR user guide, image tag mutability); a digest instead.
IMAGE_TAG_PATTERN = r"^(sha256:[0-9a-f]{64}|[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})$"
# Tags that name a moving target by convention: latest, and version wildcards (3.x, 1.2.x).
FLOATING_TAG_PATTERN = re.compile(r"^(latest|stable|edge|main|master)$|(^|[.-])[xX*](?=$|[.-])", re.IGNORECASE)


def check_pinned_image(field_path: str, tag: str) -> None:
    """An image reference that cannot change under a running service: a digest, or a version tag
    (the repository must keep tags immutable: the readiness check ``Images`` verifies it)."""
    if not tag.startswith("sha256:") and FLOATING_TAG_PATTERN.search(tag):
        raise ConfigError(field_path, f"{tag!r} names a moving target: pin a version tag or a digest (sha256:...)")


def _pinned(tag: str) -> str:
    check_pinned_image("", tag)
    return _portable(tag)


ImageTag = Annotated[str, Field(pattern=IMAGE_TAG_PATTERN), AfterValidator(_pinned),
                     Rule("is neither an image tag nor a digest (sha256:<64 hex digits>)")]


class Section(BaseModel):
    """A TOML table: strict, frozen, no unknown keys; a Python caller's bad value is a ``ConfigError`` too."""

    model_config = ConfigDict(strict=True, frozen=True, extra="forbid", regex_engine="python-re")

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise from_validation_error(exc, type(self)) from None


class NetworkConfig(Section):
    primary_vpc_cidr: VpcCidr = setting("10.10.0.0/16", "The primary region's VPC range (RFC 1918, /16 to /22).",
                                        feeds=("Parameter VpcCidr", "Parameter PrivateSubnetCidrs"),
                                        source="Amazon VPC User Guide, VPC CIDR blocks: /16 to /28, RFC 1918; "
                                        "/22 so each of the 16 subnets is a /26")
    dr_vpc_cidr: VpcCidr = setting("10.20.0.0/16", "The DR region's VPC range, disjoint from the primary's.",
                                   feeds=("Parameter VpcCidr", "Parameter PrivateSubnetCidrs"),
                                   source="as primary_vpc_cidr")
    az_count: int = setting(3, "Availability zones used per region (at most the region's).", ge=2, le=3,
                            feeds=("Parameter PrivateSubnetCidrs", "AWS::EC2::VPCEndpoint.RouteTableIds"),
                            source="the subnet layout: a quarter of each tier per AZ, one spare")
    nat_gateways: Literal["per-az", "single"] = setting("per-az", "One NAT gateway per AZ, or a single one (cheaper, "
                                                        "one AZ's outage cuts egress).",
                                                                feeds=("AWS::EC2::Route.NatGatewayId",))

    @model_validator(mode="after")
    def _ranges(self) -> NetworkConfig:
        """Each VPC range is within RFC 1918, clear of 172.17.0.0/16 (AWS services use it), /16 to /22; the two are
        disjoint."""
        primary = _vpc_network("primary_vpc_cidr", self.primary_vpc_cidr)
        dr = _vpc_network("dr_vpc_cidr", self.dr_vpc_cidr)
        if primary.overlaps(dr):
            raise ConfigError("dr_vpc_cidr", f"{dr} overlaps primary_vpc_cidr {primary}; the regions need disjoint ranges")
        return self


def _vpc_network(field_path: str, cidr: str) -> ipaddress.IPv4Network:
    try:
        network = ipaddress.IPv4Network(cidr)
    except ValueError as exc:
        raise ConfigError(field_path, f"{cidr!r} is not a valid IPv4 CIDR block ({exc})") from None
    if not any(network.subnet_of(block) for block in RFC1918):
        raise ConfigError(field_path, f"{cidr} is not within an RFC 1918 range (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16)")
    if network.overlaps(AWS_SERVICES_RANGE):
        raise ConfigError(field_path, f"{cidr} overlaps {AWS_SERVICES_RANGE}, which AWS says some of its services use "
                          "(Amazon VPC User Guide, VPC CIDR blocks)")
    if network.prefixlen < LARGEST_VPC_PREFIX:
        raise ConfigError(field_path, f"{cidr} is larger than /{LARGEST_VPC_PREFIX}, the largest VPC AWS allows")
    smallest_vpc_prefix = SMALLEST_SUBNET_PREFIX - SUBNET_EXTRA_BITS
    if network.prefixlen > smallest_vpc_prefix:
        raise ConfigError(field_path, f"{cidr} is too small for the subnets: need /{smallest_vpc_prefix} or larger so "
                          f"each subnet is at least /{SMALLEST_SUBNET_PREFIX}")
    return network


class DnsConfig(Section):
    domain_name: Annotated[str, Field(pattern=DOMAIN_PATTERN), AfterValidator(_portable),
            Rule("is not a lower-case DNS name")] = setting(
        "trading.example.com", "The name clients use; a failover record set in hosted_zone_id. example.com is reserved "
        "for documentation (RFC 2606): set both for a real deployment.",
        feeds=("AWS::Route53::RecordSet.Name",), source="RFC 1035: 253 characters, 63 per label")
    hosted_zone_id: Annotated[str, Field(pattern=HOSTED_ZONE_ID_PATTERN),
            Rule("is not a Route 53 hosted zone id (Z...)")] = setting(
        "Z00000000EXAMPLE", "The public hosted zone holding domain_name.",
                feeds=("AWS::Route53::RecordSet.HostedZoneId",),
        source="AWS::Route53::HostedZone Id: 32 characters at most")
    primary_certificate_arn: CertificateArn = setting(
        "", "ACM certificate for domain_name in the primary region (ACM certificates are regional). Empty renders but "
        "cannot deploy (the CertificateArn parameter's pattern refuses it).", feeds=("Parameter CertificateArn",))
    dr_certificate_arn: CertificateArn = setting("", "ACM certificate for domain_name in the DR region.",
                                                 feeds=("Parameter CertificateArn",))
    health_check_interval_seconds: Literal[10, 30] = setting(
        10, "Route 53 checks each region's endpoint this often.",
                feeds=("AWS::Route53::HealthCheck.HealthCheckConfig.RequestInterval",),
        source="Route 53 API, HealthCheckConfig RequestInterval: 10 or 30")
    health_check_failure_threshold: int = setting(
        3, "Consecutive failed checks before Route 53 counts a region unhealthy.", ge=1, le=10,
        feeds=("AWS::Route53::HealthCheck.HealthCheckConfig.FailureThreshold",),
        source="AWS::Route53::HealthCheck FailureThreshold (cfn-lint provider schema): 1-10")


# Fargate's task sizes: CPU units and the memory (MiB) each allows. "Between 16 GB and 60 GB in
# 4 GB increments - Available cpu values: 8192 (8 vCPU)", "Between 32GB and 120 GB in 8 GB
# increments - Available cpu values: 16384 (16 vCPU)", both "Linux platform 1.4.0 or later" (the
# default LATEST): ECS API reference, RegisterTaskDefinition memory,
# https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RegisterTaskDefinition.html
FARGATE_MEMORY = {
    256: range(512, 2049, 512),
    512: range(1024, 4097, 1024),
    1024: range(2048, 8193, 1024),
    2048: range(4096, 16385, 1024),
    4096: range(8192, 30721, 1024),
    8192: range(16384, 61441, 4096),
    16384: range(32768, 122881, 8192),
}
# "Tasks per service | The maximum number of tasks per service (the desired count) ... | 5,000 |
# Yes" (Amazon ECS service quotas, https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-quotas.html):
# the default of an adjustable quota. The render reads no account's quotas, so it holds every
# account to the default; a larger service needs the quota raised first, then this bound.
ECS_TASKS_PER_SERVICE = 5000
HEALTH_PATH_PATTERN = r"^/[A-Za-z0-9._~/-]*$"
CONTAINER_USER_PATTERN = r"^[0-9]+(:[0-9]+)?$"
WRITABLE_PATH_PATTERN = r"^$|^/[A-Za-z0-9._-][A-Za-z0-9._/-]*$"
# The OpenTelemetry collector's OTLP ports (gRPC, HTTP) and its health-check port, on localhost.
COLLECTOR_PORTS = (4317, 4318, 13133)
COUNT_SOURCE = f"Amazon ECS service quotas, Tasks per service: {ECS_TASKS_PER_SERVICE} (the adjustable quota's default)"


def _count(default: int, description: str, feeds: tuple[str, ...]) -> Any:
    return setting(default, description, ge=1, le=ECS_TASKS_PER_SERVICE, feeds=feeds, source=COUNT_SOURCE)


def _image(default: str, description: str, source: str) -> Any:
    """A repository name or tag: both land in the task definition's image URI."""
    return setting(default, description, feeds=("AWS::ECS::TaskDefinition.ContainerDefinitions.Image",), source=source)


REPOSITORY_SOURCE = "AWS::ECR::Repository RepositoryName (cfn-lint provider schema)"
TAG_SOURCE = "ECR image tags: 128 characters at most"


class TracingConfig(Section):
    collector_repository: EcrRepository = _image(
        "aws-otel-collector", "The AWS Distro for OpenTelemetry collector, copied from ECR Public "
        "(public.ecr.aws/aws-observability/aws-otel-collector) into this repository in EACH region (replicated like "
        "the app's, tags immutable): a DR region must not pull from elsewhere.", REPOSITORY_SOURCE)
    collector_image_tag: ImageTag = _image("v0.49.0", "The collector's version tag or digest.", TAG_SOURCE)
    enable_transaction_search: bool = setting(
        True, "CloudWatch Transaction Search is one setting per account and region, and AWS requires it disabled before "
        "CloudFormation enables it: false when the account already has it, so the bootstrap stack neither creates "
        "nor ever removes it.", feeds=("AWS::XRay::TransactionSearchConfig", "AWS::IAM::Role.Policies"))


class AppConfig(Section):
    image_repository: EcrRepository = _image(
        "trading-app", "The app's ECR repository NAME in each region's own registry (replicate it to both regions): "
        "a DR region that pulls from the primary's registry fails exactly when it is needed.", REPOSITORY_SOURCE)
    image_tag: ImageTag = _image("1.0.0", "The app's version tag or digest (never a moving tag like latest).", TAG_SOURCE)
    container_port: int = setting(
        8080, "The app's port (not the collector's 4317, 4318 or 13133).", ge=1024, le=65535,
        feeds=("AWS::ECS::TaskDefinition.ContainerDefinitions.PortMappings.ContainerPort", "AWS::ElasticLoadBalancingV2::TargetGroup.Port"),
        source="AWS::ElasticLoadBalancingV2::TargetGroup Port: up to 65535; below 1024 needs root")
    health_check_path: Annotated[str, Field(pattern=HEALTH_PATH_PATTERN, max_length=255),
            Rule("must be a URL path starting with /")] = setting(
        "/health", "The path the target group and Route 53 check.",
        feeds=("AWS::ElasticLoadBalancingV2::TargetGroup.HealthCheckPath", "AWS::Route53::HealthCheck.HealthCheckConfig.ResourcePath"),
        source="AWS::Route53::HealthCheck ResourcePath (cfn-lint provider schema): at most 255 characters "
        "(the target group's HealthCheckPath takes 1024)")
    task_cpu: Annotated[Literal[256, 512, 1024, 2048, 4096, 8192, 16384], Rule("Fargate sizes")] = setting(
        1024, "CPU units per task.", feeds=("AWS::ECS::TaskDefinition.Cpu",),
        source="ECS API reference, RegisterTaskDefinition cpu: the Fargate sizes")
    task_memory: int = setting(2048, "Memory (MiB) per task: one of the Fargate sizes for task_cpu.", ge=512, le=122880,
                               feeds=("AWS::ECS::TaskDefinition.Memory",),
                               source="ECS API reference, RegisterTaskDefinition memory")
    primary_desired_count: int = _count(3, "Tasks the serving region runs.", ("Parameter AppMinCount",))
    dr_desired_count: int = _count(1, "Tasks the DR region runs as a warm standby, until the runbook scales it to "
                                   "failover_desired_count.", ("Parameter AppMinCount",))
    failover_desired_count: int = _count(3, "Tasks the runbook scales the new primary to.",
                                         ("AWS::Lambda::Function.Environment.Variables.FAILOVER_DESIRED_COUNT",))
    max_count: int = _count(12, "The service's auto scaling ceiling.", ("AWS::ApplicationAutoScaling::ScalableTarget.MaxCapacity",))
    cpu_target_percent: int = setting(60, "Target tracking's CPU utilisation.", ge=10, le=90,
                                      feeds=("AWS::ApplicationAutoScaling::ScalingPolicy.TargetTrackingScalingPolicyConfiguration.TargetValue",),
                                      source="this project: headroom for a region's load to move in")
    load_balancer_deletion_protection: bool = setting(True, "Protect the load balancer from deletion.",
                                                      feeds=("AWS::ElasticLoadBalancingV2::LoadBalancer.LoadBalancerAttributes",))
    container_user: Annotated[str, Field(pattern=CONTAINER_USER_PATTERN),
            Rule("must be a non-root uid or uid:gid")] = setting(
        "1000:1000", "The app runs as this non-root uid[:gid] on a read-only root filesystem.",
        feeds=("AWS::ECS::TaskDefinition.ContainerDefinitions.User",))
    writable_path: Annotated[str, Field(pattern=WRITABLE_PATH_PATTERN), AfterValidator(_portable),
                             Rule("must be an absolute path other than /")] = setting(
        "/tmp", "An empty task volume mounted here, the only writable path (\"\" for none).",
        feeds=("AWS::ECS::TaskDefinition.ContainerDefinitions.MountPoints.ContainerPath",))

    @model_validator(mode="after")
    def _sizes(self) -> AppConfig:
        """task_memory is a Fargate size for task_cpu; dr_desired_count <= primary_desired_count <=
        failover_desired_count <= max_count; a non-root user; not a collector port."""
        if self.container_user.split(":")[0] == "0":
            raise ConfigError("container_user", f"{self.container_user!r} must be a non-root uid or uid:gid")
        if self.container_port in COLLECTOR_PORTS:
            raise ConfigError("container_port", f"must not be {' or '.join(map(str, COLLECTOR_PORTS))} (the collector's), "
                              f"not {self.container_port}")
        allowed = FARGATE_MEMORY[self.task_cpu]
        if self.task_memory not in allowed:
            raise ConfigError("task_memory", f"{self.task_memory} MiB is not a Fargate size for {self.task_cpu} CPU units "
                              f"({allowed.start}-{allowed.stop - 1} in steps of {allowed.step})")
        counts = ("dr_desired_count", "primary_desired_count", "failover_desired_count", "max_count")
        for lower, upper in zip(counts, counts[1:]):
            if getattr(self, lower) > getattr(self, upper):
                raise ConfigError(lower, f"must be at least 1 and at most {upper} ({getattr(self, upper)})")
        return self

    def desired_count(self, is_primary: bool) -> int:
        return self.primary_desired_count if is_primary else self.dr_desired_count


# The target group's health checks (templates/compute.py): a new task is healthy after this
# many consecutive passes, this far apart.
TARGET_HEALTH_CHECK_INTERVAL_SECONDS = 10
TARGET_HEALTHY_THRESHOLD = 2
# Before its first health check a Fargate task is placed, gets its network interface, pulls
# its image and starts (ECS best practices guide, "Speeding up task launch", which gives no
# durations: https://docs.aws.amazon.com/AmazonECS/latest/bestpracticesguide/task.html).
# 40 s for all of that is already optimistic; a shorter objective budgets less than a task
# can take, and the runbook would give up on capacity that is still starting.
TASK_LAUNCH_FLOOR_SECONDS = 40
TASK_START_FLOOR_SECONDS = TASK_LAUNCH_FLOOR_SECONDS + TARGET_HEALTH_CHECK_INTERVAL_SECONDS * TARGET_HEALTHY_THRESHOLD
# A cross-region promotion takes minutes: "For Aurora Global Database, RTO can be in the
# order of minutes" (Aurora user guide, "Using switchover or failover in Amazon Aurora Global
# Database", https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-global-database-disaster-recovery.html).
# Minutes, plural: a writer wait under two of them hands a promotion that behaves as AWS
# describes to the over-budget follow, and the budget would count a wait the run outlasts.
WRITER_WAIT_FLOOR_SECONDS = 120
# The lag alarms read Aurora's lag metrics over one-minute periods (templates/alerting.py
# PERIOD_SECONDS): a lag that breaks a shorter RPO can rise and fall between two data points.
LAG_METRIC_PERIOD_SECONDS = 60
# The automatic trigger's EventBridge target drops events older than the decision time:
# AWS::Events::Rule RetryPolicy.MaximumEventAgeInSeconds (cfn-lint provider schema) takes 60-86400.
EVENT_AGE_BOUNDS = (60, 86400)
A_DAY = 86400


class Objectives(Section):
    rto_seconds: int = setting(
        1200, "Recovery time objective: the primary region lost, how soon the DR region serves. Every step of an "
        "unplanned failover counted (checks/budget.py), the default design serves in about 1050 s with a person "
        "deciding, about 810 s with the automatic trigger.", ge=1, le=A_DAY,
        feeds=("AWS::Lambda::Function.Environment.Variables",), source="this project: a failover within a day")
    rpo_seconds: int = setting(
        60, "Recovery point objective: the replication lag a failover may lose.",
                ge=LAG_METRIC_PERIOD_SECONDS, le=A_DAY,
        feeds=("AWS::CloudWatch::Alarm.Threshold",),
        source="Aurora's lag metrics, alarmed over one-minute periods, cannot observe a shorter one")
    decision_seconds: int = setting(
        300, "How long on-call takes from the alert to starting `build.py failover` (the automatic trigger replaces "
        "it with its alarm period); also the oldest alarm event the trigger still acts on.", ge=EVENT_AGE_BOUNDS[0],
        le=EVENT_AGE_BOUNDS[1], feeds=("AWS::Events::Rule.Targets.RetryPolicy.MaximumEventAgeInSeconds",),
        source="AWS::Events::Rule RetryPolicy MaximumEventAgeInSeconds (cfn-lint provider schema): 60-86400")
    task_start_seconds: int = setting(
        120, "Fargate's time to start a task and pass the target group's health checks; AWS publishes no bound, so "
        "measure yours in a drill.", ge=TASK_START_FLOOR_SECONDS, le=3600,
                feeds=("AWS::StepFunctions::StateMachine.Definition",),
        source=f"floor: placement, network interface, image pull and start (40 s) plus {TARGET_HEALTHY_THRESHOLD} health "
        f"checks {TARGET_HEALTH_CHECK_INTERVAL_SECONDS} s apart")


ENDPOINT_RULES = {
    "email": (re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$"), "an e-mail address"),
    "https": (re.compile(r"^https://\S+$"), "an https:// URL"),
    "sqs": (re.compile(r"^arn:(aws[a-z-]*):sqs:([a-z0-9-]+):\d{12}:[\w-]{1,80}(\.fifo)?$"), "an SQS queue ARN"),
    "lambda": (re.compile(r"^arn:(aws[a-z-]*):lambda:([a-z0-9-]+):\d{12}:function:[\w-]{1,64}$"), "a Lambda function ARN"),
}
# Protocols whose endpoint is an ARN: the user's partition, account and region, which the
# templates carry as parameters (the template itself holds no such literal; rule E9005).
ARN_PROTOCOLS = ("sqs", "lambda")


class AlertEndpoint(Section):
    protocol: Literal["email", "https", "sqs", "lambda"] = Field(description="How SNS delivers to on-call.")
    endpoint: str = Field(description="An e-mail address, an https:// URL, or an SQS queue or Lambda function ARN "
                          "(of this deployment's partition), by protocol.",
                                  json_schema_extra={"feeds": ["AWS::SNS::Subscription.Endpoint"]})

    @model_validator(mode="after")
    def _endpoint(self) -> AlertEndpoint:
        """The endpoint is what its protocol takes; an e-mail address or URL holds no account id or region name."""
        pattern, description = ENDPOINT_RULES[self.protocol]
        if not pattern.match(self.endpoint):
            raise ConfigError("endpoint", f"{self.endpoint!r} is not {description}")
        if not self.is_arn:
            try:
                _portable(self.endpoint)
            except ConfigError as exc:
                raise ConfigError("endpoint", exc.rule) from None
        return self

    @property
    def is_arn(self) -> bool:
        return self.protocol in ARN_PROTOCOLS

    @property
    def arn_partition_and_region(self) -> tuple[str, str]:
        match = ENDPOINT_RULES[self.protocol][0].match(self.endpoint)
        return match.group(1), match.group(2)


def _threshold(default: int, description: str, feeds: str = "AWS::CloudWatch::Alarm.Threshold") -> Any:
    return setting(default, description, ge=1, le=100, feeds=(feeds,), source="a percentage")


class AlertsConfig(Section):
    endpoints: Annotated[tuple[AlertEndpoint, ...], Field(strict=False)] = setting(
        (), "On-call's subscriptions to both regions' alert topics ([[alerts.endpoints]] tables).")
    lag_alarm_fraction_of_rpo: float = setting(
        0.5, "Replication-lag alarms fire at this fraction of the RPO, so on-call hears of a growing lag before the "
        "objective is breached.", ge=0.1, lt=1, feeds=("AWS::CloudWatch::Alarm.Threshold",),
        source="this project: alert before the RPO is breached")
    alb_5xx_per_minute: int = setting(10, "5xx responses per minute that page.", ge=1, le=1_000_000,
                                      feeds=("AWS::CloudWatch::Alarm.Threshold",),
                                      source="this project: a count per minute")
    p99_latency_seconds: float = setting(1.0, "p99 target response time that pages.", gt=0, le=60,
                                         feeds=("AWS::CloudWatch::Alarm.Threshold",),
                                         source="ALB idle timeout default 60 s: a slower response is cut")
    ecs_cpu_percent: int = _threshold(85, "App service CPU utilisation that pages.")
    ecs_memory_percent: int = _threshold(85, "App service memory utilisation that pages.")
    db_cpu_percent: int = _threshold(80, "Aurora writer CPU that pages.")
    db_freeable_memory_mib: int = setting(512, "Aurora writer freeable memory (MiB) below which it pages.", ge=1,
                                          le=1_048_576, feeds=("AWS::CloudWatch::Alarm.Threshold",),
                                          source="this project: 1 TiB, above any Aurora instance class's memory")
    db_connections: int = setting(1000, "Aurora writer connections above which it pages.", ge=1, le=262_143,
                                  feeds=("AWS::CloudWatch::Alarm.Threshold",),
                                  source="PostgreSQL max_connections: at most 262143")

    @model_validator(mode="after")
    def _distinct(self) -> AlertsConfig:
        """No endpoint twice (a repeated subscription; cfn-lint I3037)."""
        # A repeated endpoint would be a repeated subscription: the gate refuses it (cfn-lint I3037).
        for index, endpoint in enumerate(self.endpoints):
            if endpoint in self.endpoints[:index]:
                first = self.endpoints.index(endpoint)
                raise ConfigError(f"endpoints[{index}].endpoint", f"repeats endpoints[{first}] ({endpoint.protocol} {endpoint.endpoint})")
        return self


# The values CloudWatch Logs accepts for RetentionInDays (AWS::Logs::LogGroup, cfn-lint provider schema).
RetentionDays = Literal[1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]
RETENTION_SOURCE = "AWS::Logs::LogGroup RetentionInDays (cfn-lint provider schema): its enum"
# A year by default, every kind: AWS Control Tower's control CT.CLOUDWATCH.PR.2 asks it of every
# log group, as PCI DSS v4.0 10.5.1 of audit logs (an incident review or an audit reads them).


class LogsConfig(Section):
    retention_days: RetentionDays = setting(365, "The app's, the alert relay's and the readiness function's logs.",
                                            feeds=("AWS::Logs::LogGroup.RetentionInDays",), source=RETENTION_SOURCE)
    flow_logs_retention_days: RetentionDays = setting(365, "VPC flow logs.",
            feeds=("AWS::Logs::LogGroup.RetentionInDays",),
                                                      source=RETENTION_SOURCE)
    runbook_retention_days: RetentionDays = setting(365, "The state machine's execution history and its steps' logs.",
                                                    feeds=("AWS::Logs::LogGroup.RetentionInDays",),
                                                    source=RETENTION_SOURCE)
    access_log_expiration_days: int = setting(
        90, "ALB access logs live in S3 this long (CloudWatch retention values do not apply).", ge=1, le=3653,
        feeds=("AWS::S3::Bucket.LifecycleConfiguration.Rules.ExpirationInDays",),
        source="this project: ten years, as the longest CloudWatch retention")


# Aurora PostgreSQL versions that support global databases; cfn-lint (W3690) flags 15.4
# and 16.4 as deprecated, 16.8 lints clean.
ENGINE_VERSION_PATTERN = r"^(1[1-9])\.\d+$"
INSTANCE_CLASS_PATTERN = r"^db\.[a-z0-9]+\.[a-z0-9]+$"
# "Must be 1 to 63 letters or numbers", first a letter (RDS CreateDBCluster MasterUsername and
# DatabaseName for Aurora PostgreSQL, API reference); lower case, as PostgreSQL folds identifiers.
DB_USERNAME_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
GLOBAL_WRITER_ENDPOINT_PATTERN = r"^$|^[a-z][a-z0-9-]{0,62}\.global-[a-z0-9]+\.global\.rds\.amazonaws\.com$"
# PostgreSQL reserves these as role names; RDS rejects them as the master user.
RESERVED_DB_USERNAMES = {"postgres", "rdsadmin", "admin", "public", "none", "user"}
Identifier = Annotated[str, Field(pattern=DB_USERNAME_PATTERN), AfterValidator(_portable),
                       Rule("must be a lower-case PostgreSQL identifier")]


def _engine_version_offered(value: str) -> str:
    """A version CloudFormation takes for the engine and does not call deprecated (the gate's E3690/W3690)."""
    offered = DB_ENGINE_VERSIONS["versions"]
    if value not in offered:
        major = value.split(".")[0]
        alike = [v for v in offered if v.split(".")[0] == major and re.match(ENGINE_VERSION_PATTERN, v)]
        raise ConfigError("", f"{value!r} is not an {DB_ENGINE_VERSIONS['engine']} version a DB cluster may name, or it is "
                          f"deprecated ({DB_ENGINE_VERSIONS['registry']}); of version {major}: {', '.join(alike) or 'none'}")
    return value


class DatabaseConfig(Section):
    engine_version: Annotated[str, Field(pattern=ENGINE_VERSION_PATTERN),
            Rule("is not an Aurora PostgreSQL version like '16.8'"), AfterValidator(_engine_version_offered)] = setting(
        "16.8", "Aurora PostgreSQL version (one that supports global databases), of those CloudFormation takes "
        "and does not call deprecated (templates/data/db_engine_versions.json).",
                feeds=("AWS::RDS::DBCluster.EngineVersion",),
                source="cfn-lint's EngineVersion tables for AWS::RDS::DBCluster (E3690 less W3690)")
    instance_class: Annotated[str, Field(pattern=INSTANCE_CLASS_PATTERN),
            Rule("is not a DB instance class like 'db.r6g.large'")] = setting(
        "db.r6g.large", "Offered in both regions (AWS's pricing data, templates/data/db_instance_classes.json).",
        feeds=("AWS::RDS::DBInstance.DBInstanceClass",))
    primary_instances: int = setting(2, "Writer plus readers in the primary region.", ge=1, le=MAX_DB_INSTANCES,
                                     feeds=("Parameter DbInstanceCount", "AWS::RDS::DBInstance"),
                                     source="the templates: a writer and up to two readers across the AZs")
    dr_instances: int = setting(1, "Instances in the DR region; one becomes the writer after a failover (a global "
                                "database's secondary needs at least one).", ge=1, le=MAX_DB_INSTANCES,
                                        source="as primary_instances",
                                feeds=("Parameter DbInstanceCount", "AWS::RDS::DBInstance"))
    backup_retention_days: int = setting(7, "Automated backups kept this long.", ge=7, le=35,
                                         feeds=("AWS::RDS::DBCluster.BackupRetentionPeriod",),
                                         source="AWS::RDS::DBCluster BackupRetentionPeriod (cfn-lint provider schema): "
                                         "1-35; 7 is this project's floor")
    deletion_protection: bool = setting(True, "Off only for throw-away test environments: it stops the cluster from "
                                        "being deleted.", feeds=("AWS::RDS::DBCluster.DeletionProtection",))
    master_username: Identifier = setting("dbadmin", "The master user (not a PostgreSQL reserved role name).",
                                          feeds=("AWS::SecretsManager::Secret.GenerateSecretString.SecretStringTemplate",),
                                          source="RDS CreateDBCluster MasterUsername: 1-63, a letter first")
    database_name: Identifier = setting("trading", "The database created in the cluster.",
            feeds=("AWS::RDS::DBCluster.DatabaseName", "AWS::ECS::TaskDefinition.ContainerDefinitions.Environment"),
                                        source="RDS CreateDBCluster DatabaseName: 1-63, a letter first")
    global_writer_endpoint: Annotated[str, Field(pattern=GLOBAL_WRITER_ENDPOINT_PATTERN), AfterValidator(_portable),
                                      Rule("is not a global writer endpoint (NAME.global-ID.global.rds.amazonaws.com)")] = setting(
        "", "The global database's writer endpoint, once it exists (\"\" = each region's cluster endpoint). AWS advises "
        "it for the app: it follows the writer through a switchover or failover. CloudFormation does not return it, "
        "so it is read after the first deploy (aws rds describe-global-clusters) and rendered in.",
        feeds=("AWS::ECS::TaskDefinition.ContainerDefinitions.Environment",))
    created_in: OptionalRegion = setting(
        "", "The region whose stack instance created the global database (\"\" = primary_region). It never changes: "
        "after the primary region is lost for good, it keeps naming the lost region.",
                feeds=("Parameter CreatesGlobalDatabase",))

    @model_validator(mode="after")
    def _reserved(self) -> DatabaseConfig:
        """The master user is not a role name PostgreSQL reserves."""
        if self.master_username in RESERVED_DB_USERNAMES:
            raise ConfigError("master_username", f"{self.master_username!r} must be a lower-case PostgreSQL identifier "
                              "and not a reserved role name")
        return self

    @property
    def parameter_group_family(self) -> str:
        return f"aurora-postgresql{self.engine_version.split('.')[0]}"

    def instances(self, is_primary: bool) -> int:
        return self.primary_instances if is_primary else self.dr_instances


class RunbookConfig(Section):
    automatic_trigger: bool = setting(
        False, "Off: a person decides to fail over. On: the composite \"peer region impaired\" alarm starts an "
        "UNPLANNED failover that accepts data loss.", feeds=("Parameter AutomaticFailover",))
    min_minutes_between_automatic_runs: int = setting(60, "The automatic trigger's cool-down.", ge=5, le=1440,
                                                      feeds=("AWS::Lambda::Function.Environment.Variables.MIN_INTERVAL_SECONDS",),
                                                      source="this project: five minutes to a day")
    writer_poll_seconds: int = setting(20, "How often the runbook checks the promoted writer.", ge=5, le=300,
                                       feeds=("AWS::StepFunctions::StateMachine.Definition",), source="this project")
    writer_max_polls: int = setting(
        12, "Checks of the promoted writer before the run gives up waiting; poll x polls is the budget's promotion "
        f"phase, at least {WRITER_WAIT_FLOOR_SECONDS} s (AWS's promotion takes minutes).", ge=1, le=200,
        feeds=("AWS::StepFunctions::StateMachine.Definition",), source="this project")
    health_poll_seconds: int = setting(10, "How often healthy targets and Route 53's view are checked.", ge=5, le=60,
                                       feeds=("AWS::StepFunctions::StateMachine.Definition",), source="this project")
    function_timeout_seconds: int = setting(
        60, "The runbook's functions' timeout; a step's claim lease follows it.", ge=60, le=300,
        feeds=("AWS::Lambda::Function.Timeout",),
        source="AWS::Lambda::Function Timeout allows 1-900; 60 leaves room for one worst-case AWS call, 300 keeps "
        "a dead step's lease short enough to retry within a failover")
    readiness_period_minutes: int = setting(
        5, "How often each region's readiness function checks that a failover would work; its alarm turns within two "
        "periods of a check failing.", ge=1, le=60,
                feeds=("AWS::Scheduler::Schedule.ScheduleExpression", "AWS::CloudWatch::Alarm.Period"),
        source="this project: at least every hour")
    follow_promotion_minutes: int = setting(
        60, "A promotion that outlasts the writer wait is still followed this long (over budget, reported); AWS "
        "finishes a promotion the runbook stopped waiting for. A run's most history events, every loop to its end "
        "with every retry, must stay under Step Functions' quota of 25,000 (build.py refuses a configuration "
        "past it): about 70 minutes at the default polls.", ge=5, le=1440,
        feeds=("AWS::StepFunctions::StateMachine.Definition",), source="this project")
    reserve_concurrency: bool = setting(
        True, "Reserve Lambda concurrency for the runbook, the relay and readiness (21 per region); false deploys "
        "without reservations until the account's quota is raised.",
                feeds=("AWS::Lambda::Function.ReservedConcurrentExecutions",))

    @model_validator(mode="after")
    def _writer_wait(self) -> RunbookConfig:
        """writer_poll_seconds x writer_max_polls is at least 120 s: AWS describes a promotion as taking minutes."""
        if self.writer_wait_seconds < WRITER_WAIT_FLOOR_SECONDS:
            raise ConfigError(
                "writer_max_polls",
                f"the writer wait ({self.writer_poll_seconds} s x {self.writer_max_polls} = {self.writer_wait_seconds} s) is "
                f"shorter than a promotion AWS describes as taking minutes (at least {WRITER_WAIT_FLOOR_SECONDS} s; Aurora "
                "user guide, aurora-global-database-disaster-recovery.html)",
            )
        return self

    @property
    def writer_wait_seconds(self) -> int:
        """The longest the runbook waits for the promoted writer."""
        return self.writer_poll_seconds * self.writer_max_polls


class ReportsConfig(Section):
    retention_days: int = setting(
        365, "A failover report and its replaced versions expire after this (templates/reports.py).", ge=1, le=36500,
        feeds=("AWS::S3::Bucket.LifecycleConfiguration.Rules",),
        source="this project: a century; S3 lifecycle takes any positive number of days")
    object_lock_days: int = setting(
        0, "0: no Object Lock. Otherwise S3 Object Lock's default retention on every report: nobody can delete or "
        "overwrite it for this long (in COMPLIANCE mode not even the account's root). Once on, S3 cannot turn Object "
        "Lock off (\"After you enable Object Lock on a bucket, you can't disable Object Lock or suspend versioning\", "
        "S3 user guide, Configuring S3 Object Lock). Decide before the first deploy: going from 0 to a number of days, "
        "or back, changes the bucket's ObjectLockEnabled, which CloudFormation can only do by replacing the bucket "
        "(its fixed name makes that update fail): build.py plan refuses it. Changing the days or the mode is an "
        "update.", ge=0, le=36500,
        feeds=("AWS::S3::Bucket.ObjectLockConfiguration", "AWS::S3::Bucket.ObjectLockEnabled"),
        source="at most reports.retention_days: lifecycle cannot expire a locked version")
    object_lock_mode: Literal["GOVERNANCE", "COMPLIANCE"] = setting(
        "GOVERNANCE", "GOVERNANCE: users with s3:BypassGovernanceRetention may shorten a lock; COMPLIANCE: nobody can.",
        feeds=("AWS::S3::Bucket.ObjectLockConfiguration",))

    @model_validator(mode="after")
    def _lock_within_retention(self) -> ReportsConfig:
        """Lifecycle cannot expire a version that is still locked."""
        if self.object_lock_days > self.retention_days:
            raise ConfigError(
                "object_lock_days",
                f"must be from 0 (off) to retention_days ({self.retention_days}), not {self.object_lock_days}: "
                "lifecycle cannot expire a locked version",
            )
        return self


class GamedayConfig(Section):
    enabled: bool = setting(
        False, "Off: nothing of the game day is rendered. On: the regional template carries an AWS FIS experiment in "
        "the primary region that cuts its app subnets off from the DR region and stops its app tasks "
        "(docs/gameday.md), which `build.py gameday` runs beside a real failover.",
        feeds=("AWS::FIS::ExperimentTemplate",))
    duration_minutes: int = setting(
        60, "How long the subnets stay cut off unless the experiment is stopped first (`build.py gameday` always "
        "stops it; should the command die, `aws fis stop-experiment` or the abort alarm, docs/gameday.md); with the "
        "game day on, at least objectives.rto_seconds, so the failover runs inside the fault. Keep it near the RTO plus "
        "a margin: it is how long a forgotten experiment lasts.",
        ge=1, le=12 * 60, feeds=("AWS::FIS::ExperimentTemplate.Actions",),
        source="AWS FIS actions reference: an action's duration is \"from one minute to 12 hours\" "
        "(https://docs.aws.amazon.com/fis/latest/userguide/fis-actions-reference.html)")
    log_retention_days: RetentionDays = setting(365, "The experiment's log in CloudWatch Logs.",
                                                feeds=("AWS::Logs::LogGroup.RetentionInDays",), source=RETENTION_SOURCE)


class Config(Section):
    project: NamePart = setting("trading", "The first part of every name.",
            feeds=("AWS::RDS::DBCluster.DBClusterIdentifier",),
                                source="the shortest name limit of the derived names (templates/naming.py)")
    environment_suffix: NamePart = setting("dev", "The last part of every name (dev, prod, pr-42).",
                                           feeds=("AWS::RDS::DBCluster.DBClusterIdentifier",),
                                           source="the shortest name limit of the derived names (templates/naming.py)")
    primary_region: Region = setting("us-east-1", "The region that serves.", feeds=("Parameter PeerRegion",))
    dr_region: Region = setting("us-west-2", "The standby region, of the same partition.",
            feeds=("Parameter PeerRegion",))
    stackset_administration_region: OptionalRegion = setting(
        "", "Where the stack sets are administered (\"\" = the primary region). Administered from the primary, nothing "
        "can change the DR region while the primary is down: a third region of the partition avoids that.",
        feeds=("Parameter StackSetExecutionRoleName",))
    network: NetworkConfig = setting(NetworkConfig(), "[network]: the VPCs.")
    dns: DnsConfig = setting(DnsConfig(), "[dns]: the name, the zone, the certificates and Route 53's checks.")
    database: DatabaseConfig = setting(DatabaseConfig(), "[database]: the Aurora PostgreSQL global database.")
    app: AppConfig = setting(AppConfig(), "[app]: the Fargate service.")
    tracing: TracingConfig = setting(TracingConfig(), "[tracing]: the OpenTelemetry collector beside the app.")
    runbook: RunbookConfig = setting(RunbookConfig(), "[runbook]: the failover state machine's waits and trigger.")
    objectives: Objectives = setting(Objectives(), "[objectives]: RTO, RPO and the times they depend on.")
    alerts: AlertsConfig = setting(AlertsConfig(), "[alerts]: on-call's endpoints and the alarms' thresholds.")
    logs: LogsConfig = setting(LogsConfig(), "[logs]: retention of every log.")
    reports: ReportsConfig = setting(ReportsConfig(), "[reports]: the failover report bucket (docs/reports.md).")
    gameday: GamedayConfig = setting(GamedayConfig(), "[gameday]: the AWS FIS experiment of a game day (off by default).")

    @model_validator(mode="after")
    def _across_sections(self) -> Config:
        """Known regions of one partition (Route 53 metrics documented there), CloudFormation offering every resource
        type and the DB instance class in both, enough AZs; ARNs of this partition, certificates of their region;
        every derived name within AWS's limit."""
        for name in ("primary_region", "dr_region", "stackset_administration_region", "database.created_in"):
            region = self._get(name)
            if region and region not in AVAILABILITY_ZONES:
                raise ConfigError(name, f"{region!r} is not a known AWS region")
        if self.primary_region == self.dr_region:
            raise ConfigError("dr_region", f"must differ from primary_region (both are {self.dr_region})")
        for name in ("dr_region", "database.created_in", "stackset_administration_region"):
            region = self._get(name)
            if region and region_partition(region) != self.partition:
                raise ConfigError(name, "must be in the same AWS partition as primary_region")
        if route53_metrics_region(self.partition) is None:
            raise ConfigError(
                "primary_region",
                f"partition {self.partition} is not supported: the traffic switch needs Route 53's health-check "
                f"metrics, which AWS documents only in {documented_route53_metrics()}",
            )
        self._check_region_offers()
        self._check_arns()
        if self.gameday.enabled and self.gameday.duration_minutes * 60 < self.objectives.rto_seconds:
            raise ConfigError(
                "gameday.duration_minutes",
                f"{self.gameday.duration_minutes} min ends the fault before the failover is due (objectives.rto_seconds "
                f"{self.objectives.rto_seconds} s): the game day would measure a recovery from nothing",
            )
        for name in naming.all_names(self):
            for region in self.regions:
                resolved = name.for_region(region)
                if len(resolved) > name.limit:
                    raise ConfigError(
                        "environment_suffix",
                        f"too long: the {name.kind} name {resolved!r} would be {len(resolved)} characters, "
                        f"over AWS's limit of {name.limit}",
                    )
        return self

    def _get(self, dotted: str) -> Any:
        value: Any = self
        for part in dotted.split("."):
            value = getattr(value, part)
        return value

    def _check_region_offers(self) -> None:
        """Both regions must have every resource type, enough AZs and the DB instance class."""
        for field_path, region in (("primary_region", self.primary_region), ("dr_region", self.dr_region)):
            missing = [
                resource_type
                for resource_type in missing_resource_types(region)
                if (self.tracing.enable_transaction_search or resource_type not in TRANSACTION_SEARCH_TYPES)
                and (self.gameday.enabled or resource_type not in GAMEDAY_TYPES)
            ]
            if missing:
                raise ConfigError(
                    field_path,
                    f"{region} is not supported: CloudFormation has no {missing[0]} there "
                    f"({RESOURCE_PURPOSES[missing[0]]}), per its registry as {RESOURCE_TYPES['registry']} ships it",
                )
        self._check_instance_class()
        for field_path, region in (("primary_region", self.primary_region), ("dr_region", self.dr_region)):
            zones = len(AVAILABILITY_ZONES[region])
            if self.network.az_count > zones:
                raise ConfigError("network.az_count", f"{self.network.az_count} exceeds the {zones} AZs of {region} ({field_path})")

    def _check_instance_class(self) -> None:
        """RDS refuses a cluster instance of a class its region lacks."""
        wanted, offered = self.database.instance_class, DB_INSTANCE_CLASSES["classes"]
        for field_path, region in (("primary_region", self.primary_region), ("dr_region", self.dr_region)):
            if wanted in offered[region]:
                continue
            size = wanted.rsplit(".", 1)[1]
            in_both = sorted(set(offered[self.primary_region]) & set(offered[self.dr_region]))
            alike = [c for c in in_both if c.endswith(f".{size}")] or in_both
            raise ConfigError(
                "database.instance_class",
                f"{wanted} is not offered for {DB_INSTANCE_CLASSES['engine']} in {region} ({field_path}), per AWS's "
                f"pricing data as {DB_INSTANCE_CLASSES['registry']} ships it; both regions offer {', '.join(alike)}",
            )

    def _check_arns(self) -> None:
        """An ARN must be of this deployment's partition, and a certificate of its region: SNS delivers only
        within its partition, and ACM certificates are regional."""
        arns = [(f"dns.{name}_certificate_arn", region, CERTIFICATE_ARN_PATTERN.match(getattr(self.dns, f"{name}_certificate_arn")))
                for name, region in (("primary", self.primary_region), ("dr", self.dr_region))]
        arns += [(f"alerts.endpoints[{index}].endpoint", None, ENDPOINT_RULES[endpoint.protocol][0].match(endpoint.endpoint))
                 for index, endpoint in enumerate(self.alerts.endpoints) if endpoint.is_arn]
        for field_path, region, match in arns:
            if match is None:
                continue
            partition, arn_region = match.group(1), match.group(2)
            if partition != self.partition:
                raise ConfigError(field_path, f"partition {partition!r} is not this deployment's ({self.partition!r}): "
                                  "an ARN cannot be used across partitions")
            if arn_region not in AVAILABILITY_ZONES or region_partition(arn_region) != partition:
                raise ConfigError(field_path, f"{arn_region!r} is not a region of partition {partition!r}")
            if region is not None and arn_region != region:
                raise ConfigError(field_path, f"the certificate must be in {region}: ACM certificates are regional")

    @property
    def partition(self) -> str:
        return region_partition(self.primary_region)

    @property
    def health_wait_seconds(self) -> int:
        """The runbook waits for a healthy target as long as a task takes to start (in whole
        polls): a service fenced to zero, or a warm standby that lost its tasks, starts from nothing."""
        poll = self.runbook.health_poll_seconds
        return math.ceil(self.objectives.task_start_seconds / poll) * poll

    @property
    def route53_metrics_region(self) -> str:
        """Where the health-check alarms must live: Route 53 publishes its metrics only there."""
        return route53_metrics_region(self.partition)

    @property
    def administration_region(self) -> str:
        return self.stackset_administration_region or self.primary_region

    @property
    def bootstrap_regions(self) -> tuple[str, ...]:
        """Both regions, and the administration region when it is a third: templates too large
        to send inline go by URL from an artifact bucket there."""
        extra = () if self.administration_region in self.regions else (self.administration_region,)
        return (*self.regions, *extra)

    @property
    def database_created_in(self) -> str:
        """The region whose stack instance created (and keeps) the global database."""
        return self.database.created_in or self.primary_region

    @property
    def regions(self) -> tuple[str, str]:
        """Both regions, primary first: the StackSet's deployment order."""
        return (self.primary_region, self.dr_region)

    def is_primary(self, region: str) -> bool:
        return region == self.primary_region

    def peer_region(self, region: str) -> str:
        return self.dr_region if self.is_primary(region) else self.primary_region

    def certificate_arn(self, region: str) -> str:
        return self.dns.primary_certificate_arn if self.is_primary(region) else self.dns.dr_certificate_arn

    def vpc_cidr(self, region: str) -> str:
        return self.network.primary_vpc_cidr if self.is_primary(region) else self.network.dr_vpc_cidr


def config_from_mapping(data: dict[str, Any]) -> Config:
    """A validated ``Config`` from a TOML-shaped mapping. Whether its design meets its objectives
    needs the templates' timing: the render path decides that (``checks.budget.refuse``)."""
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise from_validation_error(exc, Config) from None


def load_config(path: Path | None) -> Config:
    """The default configuration, overridden by the TOML file at ``path`` if given."""
    if path is None:
        return Config()
    import tomllib  # only a configuration file needs it: the default render does without (make bench)

    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(str(path), f"cannot read the configuration file ({exc.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), f"not valid TOML ({exc})") from None
    return config_from_mapping(data)
