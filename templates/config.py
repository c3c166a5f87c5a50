"""The one typed, validated configuration: embedded defaults, overridden by a TOML file.

Every dataclass validates itself on construction, so an invalid ``Config`` cannot exist.
``load_config`` turns a TOML file into a ``Config`` and reports the first problem as one
``ConfigError`` that names the field (``network.az_count``) and the rule it broke.
"""

from __future__ import annotations

import dataclasses
import difflib
import ipaddress
import json
import math
import re
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from templates import naming

# A region name as AWS spells them: us-east-1, us-gov-west-1, us-isob-east-1, eusc-de-east-1.
REGION_PATTERN = re.compile(r"^[a-z]{2,4}(-[a-z]+){1,2}-\d+$")
# Lower-case words joined by single hyphens: valid in every name we derive (RDS, ALB, S3).
NAME_PART_PATTERN = re.compile(r"^[a-z](?:[a-z0-9]|-(?=[a-z0-9]))*$")
HOSTED_ZONE_ID_PATTERN = re.compile(r"^Z[A-Z0-9]{1,31}$")
CERTIFICATE_ARN_PATTERN = re.compile(r"^arn:aws[a-z-]*:acm:([a-z0-9-]+):\d{12}:certificate/[0-9a-f-]+$")
DOMAIN_PATTERN = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")

# Each tier gets a quarter of the VPC and each AZ a quarter of its tier (room for 3 AZs
# plus one spare), so a subnet is VPC prefix + 4 bits.
SUBNET_EXTRA_BITS = 4
# /26 is the smallest subnet we accept: an ALB needs a /27 with 8 free addresses, and
# Fargate tasks and Aurora instances each take an address per task/instance.
SMALLEST_SUBNET_PREFIX = 26
# AWS accepts VPC prefixes from /16 to /28.
LARGEST_VPC_PREFIX = 16
# Instances per regional cluster: a writer (or headless secondary's first reader) plus
# up to two readers across the AZs.
MAX_DB_INSTANCES = 3


class ConfigError(ValueError):
    """A configuration problem, naming the field and the rule it breaks."""

    def __init__(self, field_path: str, rule: str, details: tuple[str, ...] | list[str] = ()):
        super().__init__(f"{field_path}: {rule}")
        self.field_path = field_path
        self.rule = rule
        # Lines after the one naming the field (a missed objective's phase table).
        self.details = tuple(details)


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
}
# Rendered only with tracing.enable_transaction_search (the bootstrap stack's Transaction Search).
TRANSACTION_SEARCH_TYPES = ("AWS::XRay::TransactionSearchConfig", "AWS::Logs::ResourcePolicy")


# The DB instance classes of the templates' engine per region (checks/region_data.py).
DB_INSTANCE_CLASSES_FILE = DATA / "db_instance_classes.json"
DB_INSTANCE_CLASSES: dict = json.loads(DB_INSTANCE_CLASSES_FILE.read_text(encoding="utf-8"))


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


def _check_region(field_path: str, region: str) -> None:
    if not REGION_PATTERN.match(region):
        raise ConfigError(field_path, f"{region!r} is not a region name (like 'us-east-1')")
    if region not in AVAILABILITY_ZONES:
        raise ConfigError(field_path, f"{region!r} is not a known AWS region")


def _parse_vpc_cidr(field_path: str, cidr: str) -> ipaddress.IPv4Network:
    try:
        network = ipaddress.IPv4Network(cidr)
    except ValueError as exc:
        raise ConfigError(field_path, f"{cidr!r} is not a valid IPv4 CIDR block ({exc})") from None
    if not network.is_private:
        raise ConfigError(field_path, f"{cidr} is not a private (RFC 1918) range")
    if network.prefixlen < LARGEST_VPC_PREFIX:
        raise ConfigError(field_path, f"{cidr} is larger than /{LARGEST_VPC_PREFIX}, the largest VPC AWS allows")
    smallest_vpc_prefix = SMALLEST_SUBNET_PREFIX - SUBNET_EXTRA_BITS
    if network.prefixlen > smallest_vpc_prefix:
        raise ConfigError(
            field_path,
            f"{cidr} is too small for the subnets: need /{smallest_vpc_prefix} or larger so each "
            f"subnet is at least /{SMALLEST_SUBNET_PREFIX}",
        )
    return network


@dataclass(frozen=True)
class NetworkConfig:
    primary_vpc_cidr: str = "10.10.0.0/16"
    dr_vpc_cidr: str = "10.20.0.0/16"
    az_count: int = 3
    nat_gateways: Literal["per-az", "single"] = "per-az"

    def __post_init__(self) -> None:
        primary = _parse_vpc_cidr("primary_vpc_cidr", self.primary_vpc_cidr)
        dr = _parse_vpc_cidr("dr_vpc_cidr", self.dr_vpc_cidr)
        if primary.overlaps(dr):
            raise ConfigError(
                "dr_vpc_cidr", f"{dr} overlaps primary_vpc_cidr {primary}; the regions need disjoint ranges"
            )
        if not 2 <= self.az_count <= 3:
            raise ConfigError("az_count", f"must be 2 or 3, not {self.az_count}")


@dataclass(frozen=True)
class DnsConfig:
    # example.com is reserved for documentation (RFC 2606): set both for a real deployment.
    domain_name: str = "trading.example.com"
    hosted_zone_id: str = "Z00000000EXAMPLE"
    # ACM certificates are regional: one per region, each for domain_name. Empty renders
    # but cannot deploy (the CertificateArn parameter's pattern rejects it).
    primary_certificate_arn: str = ""
    dr_certificate_arn: str = ""
    # Route 53 endpoint checks: every 10 or 30 seconds, unhealthy after 1-10 failures.
    health_check_interval_seconds: Literal[10, 30] = 10
    health_check_failure_threshold: int = 3

    def __post_init__(self) -> None:
        if not DOMAIN_PATTERN.match(self.domain_name):
            raise ConfigError("domain_name", f"{self.domain_name!r} is not a lower-case DNS name")
        if not HOSTED_ZONE_ID_PATTERN.match(self.hosted_zone_id):
            raise ConfigError("hosted_zone_id", f"{self.hosted_zone_id!r} is not a Route 53 hosted zone id (Z...)")
        for name in ("primary_certificate_arn", "dr_certificate_arn"):
            value = getattr(self, name)
            if value and not CERTIFICATE_ARN_PATTERN.match(value):
                raise ConfigError(name, f"{value!r} is not an ACM certificate ARN")
        if not 1 <= self.health_check_failure_threshold <= 10:
            raise ConfigError("health_check_failure_threshold", f"must be from 1 to 10, not {self.health_check_failure_threshold}")


# Fargate's task sizes: CPU units and the memory (MiB) each allows.
FARGATE_MEMORY = {
    256: range(512, 2049, 512),
    512: range(1024, 4097, 1024),
    1024: range(2048, 8193, 1024),
    2048: range(4096, 16385, 1024),
    4096: range(8192, 30721, 1024),
}
ECR_REPOSITORY_PATTERN = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")
IMAGE_TAG_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
IMAGE_DIGEST_PATTERN = re.compile(r"^sha256:[0-9a-f]{64}$")
# Tags that name a moving target by convention: latest, and version wildcards (3.x, 1.2.x).
FLOATING_TAG_PATTERN = re.compile(r"^(latest|stable|edge|main|master)$|(^|[.-])[xX*](?=$|[.-])", re.IGNORECASE)
HEALTH_PATH_PATTERN = re.compile(r"^/[A-Za-z0-9._~/-]*$")
CONTAINER_USER_PATTERN = re.compile(r"^[0-9]+(:[0-9]+)?$")
WRITABLE_PATH_PATTERN = re.compile(r"^/[A-Za-z0-9._-][A-Za-z0-9._/-]*$")


def check_pinned_image(field_path: str, tag: str) -> None:
    """An image reference that cannot change under a running service: a digest, or a version tag
    (the repository must keep tags immutable: the readiness check ``Images`` verifies it)."""
    if IMAGE_DIGEST_PATTERN.match(tag):
        return
    if not IMAGE_TAG_PATTERN.match(tag):
        raise ConfigError(field_path, f"{tag!r} is neither an image tag nor a digest (sha256:<64 hex digits>)")
    if FLOATING_TAG_PATTERN.search(tag):
        raise ConfigError(field_path, f"{tag!r} names a moving target: pin a version tag or a digest (sha256:...)")


# The OpenTelemetry collector's OTLP ports (gRPC, HTTP) and its health-check port, on localhost.
COLLECTOR_PORTS = (4317, 4318, 13133)


@dataclass(frozen=True)
class TracingConfig:
    # The AWS Distro for OpenTelemetry collector, copied from ECR Public
    # (public.ecr.aws/aws-observability/aws-otel-collector) into this repository in EACH region
    # (replicate it like the app's, tags immutable): a DR region must not pull from elsewhere.
    collector_repository: str = "aws-otel-collector"
    collector_image_tag: str = "v0.49.0"
    # CloudWatch Transaction Search is one setting per account and region, and AWS requires it
    # disabled before CloudFormation enables it: false when the account already has it (another
    # project, the console), so the bootstrap stack neither creates nor ever removes it.
    enable_transaction_search: bool = True

    def __post_init__(self) -> None:
        if not ECR_REPOSITORY_PATTERN.match(self.collector_repository) or len(self.collector_repository) > 256:
            raise ConfigError("collector_repository", f"{self.collector_repository!r} is not an ECR repository name")
        check_pinned_image("collector_image_tag", self.collector_image_tag)


@dataclass(frozen=True)
class AppConfig:
    # The image comes from each region's own ECR (replicate the repository to both regions):
    # a DR region that pulls from the primary's registry fails exactly when it is needed.
    image_repository: str = "trading-app"
    image_tag: str = "1.0.0"
    container_port: int = 8080
    health_check_path: str = "/health"
    task_cpu: int = 1024
    task_memory: int = 2048
    # Warm standby: the DR region runs dr_desired_count until the runbook scales it to
    # failover_desired_count.
    primary_desired_count: int = 3
    dr_desired_count: int = 1
    failover_desired_count: int = 3
    max_count: int = 12
    cpu_target_percent: int = 60
    load_balancer_deletion_protection: bool = True
    # The app runs as this non-root uid[:gid] on a read-only root filesystem; writable_path
    # is an empty task volume mounted there ("" for none).
    container_user: str = "1000:1000"
    writable_path: str = "/tmp"

    def __post_init__(self) -> None:
        if not CONTAINER_USER_PATTERN.match(self.container_user) or self.container_user.split(":")[0] == "0":
            raise ConfigError("container_user", f"{self.container_user!r} must be a non-root uid or uid:gid")
        if self.writable_path and not WRITABLE_PATH_PATTERN.match(self.writable_path):
            raise ConfigError("writable_path", f"{self.writable_path!r} must be an absolute path other than /")
        if not ECR_REPOSITORY_PATTERN.match(self.image_repository) or len(self.image_repository) > 256:
            raise ConfigError("image_repository", f"{self.image_repository!r} is not an ECR repository name")
        check_pinned_image("image_tag", self.image_tag)
        if not 1024 <= self.container_port <= 65535 or self.container_port in COLLECTOR_PORTS:
            raise ConfigError(
                "container_port", f"must be from 1024 to 65535 and not {' or '.join(map(str, COLLECTOR_PORTS))} (the collector's), not {self.container_port}"
            )
        if not HEALTH_PATH_PATTERN.match(self.health_check_path):
            raise ConfigError("health_check_path", f"{self.health_check_path!r} must be a URL path starting with /")
        if self.task_cpu not in FARGATE_MEMORY:
            raise ConfigError("task_cpu", f"must be one of {sorted(FARGATE_MEMORY)} (Fargate sizes), not {self.task_cpu}")
        if self.task_memory not in FARGATE_MEMORY[self.task_cpu]:
            allowed = FARGATE_MEMORY[self.task_cpu]
            raise ConfigError(
                "task_memory",
                f"{self.task_memory} MiB is not a Fargate size for {self.task_cpu} CPU units "
                f"({allowed.start}-{allowed.stop - 1} in steps of {allowed.step})",
            )
        counts = ("dr_desired_count", "primary_desired_count", "failover_desired_count", "max_count")
        for lower, upper in zip(counts, counts[1:]):
            if not 1 <= getattr(self, lower) <= getattr(self, upper):
                raise ConfigError(lower, f"must be at least 1 and at most {upper} ({getattr(self, upper)})")
        if not 10 <= self.cpu_target_percent <= 90:
            raise ConfigError("cpu_target_percent", f"must be from 10 to 90, not {self.cpu_target_percent}")

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


@dataclass(frozen=True)
class Objectives:
    # Every step of an unplanned failover counted (checks/budget.py), the default design serves
    # in about 1050 s with a person deciding, about 810 s with the automatic trigger.
    rto_seconds: int = 1200
    rpo_seconds: int = 60
    # How long on-call takes from the alert to starting `build.py failover` (a manual
    # decision; the automatic trigger replaces it with its alarm period).
    decision_seconds: int = 300
    # Fargate's time to start a task and pass the target group's health checks; AWS
    # publishes no bound, so measure yours in a drill and set it here (at least
    # TASK_START_FLOOR_SECONDS).
    task_start_seconds: int = 120

    def __post_init__(self) -> None:
        for name in ("rto_seconds", "rpo_seconds", "decision_seconds", "task_start_seconds"):
            if getattr(self, name) <= 0:
                raise ConfigError(name, "must be a positive number of seconds")
        if self.task_start_seconds < TASK_START_FLOOR_SECONDS:
            raise ConfigError(
                "task_start_seconds",
                f"{self.task_start_seconds} s is shorter than a Fargate task can start and pass the target group's "
                f"health checks (at least {TASK_START_FLOOR_SECONDS} s: {TARGET_HEALTHY_THRESHOLD} checks "
                f"{TARGET_HEALTH_CHECK_INTERVAL_SECONDS} s apart after placement, network interface, image pull and start)",
            )


ENDPOINT_RULES = {
    "email": (re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$"), "an e-mail address"),
    "https": (re.compile(r"^https://\S+$"), "an https:// URL"),
    "sqs": (re.compile(r"^arn:(aws[a-z-]*):sqs:([a-z0-9-]+):\d{12}:[\w-]{1,80}(\.fifo)?$"), "an SQS queue ARN"),
    "lambda": (re.compile(r"^arn:(aws[a-z-]*):lambda:([a-z0-9-]+):\d{12}:function:[\w-]{1,64}$"), "a Lambda function ARN"),
}
# Protocols whose endpoint is an ARN: the user's partition, account and region, which the
# templates carry as parameters (the template itself holds no such literal; rule E9005).
ARN_PROTOCOLS = ("sqs", "lambda")


@dataclass(frozen=True)
class AlertEndpoint:
    protocol: Literal["email", "https", "sqs", "lambda"]
    endpoint: str

    def __post_init__(self) -> None:
        pattern, description = ENDPOINT_RULES[self.protocol]
        if not pattern.match(self.endpoint):
            raise ConfigError("endpoint", f"{self.endpoint!r} is not {description}")

    @property
    def is_arn(self) -> bool:
        return self.protocol in ARN_PROTOCOLS

    @property
    def arn_partition_and_region(self) -> tuple[str, str]:
        match = ENDPOINT_RULES[self.protocol][0].match(self.endpoint)
        return match.group(1), match.group(2)


@dataclass(frozen=True)
class AlertsConfig:
    endpoints: tuple[AlertEndpoint, ...] = ()
    # Replication-lag alarms fire at this fraction of the RPO objective, so on-call hears
    # of a growing lag before the objective is breached.
    lag_alarm_fraction_of_rpo: float = 0.5
    alb_5xx_per_minute: int = 10
    p99_latency_seconds: float = 1.0
    ecs_cpu_percent: int = 85
    ecs_memory_percent: int = 85
    db_cpu_percent: int = 80
    db_freeable_memory_mib: int = 512
    db_connections: int = 1000

    def __post_init__(self) -> None:
        # A repeated endpoint would be a repeated subscription: the gate refuses it (cfn-lint I3037).
        for index, endpoint in enumerate(self.endpoints):
            if endpoint in self.endpoints[:index]:
                first = self.endpoints.index(endpoint)
                raise ConfigError(f"endpoints[{index}].endpoint", f"repeats endpoints[{first}] ({endpoint.protocol} {endpoint.endpoint})")
        if not 0.1 <= self.lag_alarm_fraction_of_rpo < 1:
            raise ConfigError("lag_alarm_fraction_of_rpo", "must be at least 0.1 and below 1 (alert before the RPO is breached)")
        for name in ("alb_5xx_per_minute", "db_freeable_memory_mib", "db_connections"):
            if getattr(self, name) < 1:
                raise ConfigError(name, "must be a positive number")
        if not 0 < self.p99_latency_seconds <= 60:
            raise ConfigError("p99_latency_seconds", f"must be above 0 and at most 60, not {self.p99_latency_seconds}")
        for name in ("ecs_cpu_percent", "ecs_memory_percent", "db_cpu_percent"):
            if not 1 <= getattr(self, name) <= 100:
                raise ConfigError(name, f"must be a percentage from 1 to 100, not {getattr(self, name)}")


# The values CloudWatch Logs accepts for RetentionInDays.
RetentionDays = Literal[1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]


@dataclass(frozen=True)
class LogsConfig:
    # A year by default, every kind: AWS Control Tower's control CT.CLOUDWATCH.PR.2 asks it of every
    # log group, as PCI DSS v4.0 10.5.1 of audit logs (an incident review or an audit reads them).
    retention_days: RetentionDays = 365  # the app's, the alert relay's and the readiness function's logs
    flow_logs_retention_days: RetentionDays = 365
    runbook_retention_days: RetentionDays = 365  # the state machine's execution history and its steps' logs
    # ALB access logs live in S3 (CloudWatch retention values do not apply).
    access_log_expiration_days: int = 90

    def __post_init__(self) -> None:
        if not 1 <= self.access_log_expiration_days <= 3653:
            raise ConfigError("access_log_expiration_days", f"must be from 1 to 3653, not {self.access_log_expiration_days}")


@dataclass(frozen=True)
class ReportsConfig:
    """The failover report bucket (templates/reports.py): how long reports are kept, and an
    optional S3 Object Lock default retention for evidence that must stay unaltered."""

    retention_days: int = 365  # a report and its replaced versions expire after this
    object_lock_days: int = 0  # 0: no Object Lock; once on, S3 cannot turn it off
    object_lock_mode: Literal["GOVERNANCE", "COMPLIANCE"] = "GOVERNANCE"

    def __post_init__(self) -> None:
        if not 1 <= self.retention_days <= 36500:
            raise ConfigError("retention_days", f"must be from 1 to 36500, not {self.retention_days}")
        if not 0 <= self.object_lock_days <= self.retention_days:
            raise ConfigError(
                "object_lock_days",
                f"must be from 0 (off) to retention_days ({self.retention_days}), not {self.object_lock_days}: "
                "lifecycle cannot expire a locked version",
            )


# Aurora PostgreSQL versions that support global databases; cfn-lint (W3690) flags 15.4
# and 16.4 as deprecated, 16.8 lints clean.
ENGINE_VERSION_PATTERN = re.compile(r"^(1[1-9])\.\d+$")
INSTANCE_CLASS_PATTERN = re.compile(r"^db\.[a-z0-9]+\.[a-z0-9]+$")
DB_USERNAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
# PostgreSQL reserves these as role names; RDS rejects them as the master user.
GLOBAL_WRITER_ENDPOINT_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,62}\.global-[a-z0-9]+\.global\.rds\.amazonaws\.com$")
RESERVED_DB_USERNAMES = {"postgres", "rdsadmin", "admin", "public", "none", "user"}


@dataclass(frozen=True)
class DatabaseConfig:
    engine_version: str = "16.8"
    instance_class: str = "db.r6g.large"
    # Writer plus reader in the primary; one reader in the DR region that becomes the
    # writer after a failover (global database secondaries need at least one instance).
    primary_instances: int = 2
    dr_instances: int = 1
    backup_retention_days: int = 7
    # Off only for throw-away test environments: it stops the cluster from being deleted.
    deletion_protection: bool = True
    master_username: str = "dbadmin"
    database_name: str = "trading"
    # The global database's writer endpoint, once it exists ("" = each region's cluster
    # endpoint). AWS advises it for the app: it follows the writer through a switchover or
    # failover, so an old primary's tasks cannot write to a fenced cluster. CloudFormation
    # does not return it (AWS::RDS::GlobalCluster has no GetAtt), so it is read after the
    # first deploy (aws rds describe-global-clusters) and rendered in.
    global_writer_endpoint: str = ""
    # The region whose stack instance created the global database ("" = primary_region). It
    # never changes: after the primary region is lost for good and the DR region becomes the
    # primary, it keeps naming the lost region, so no stack creates a second global cluster
    # or adds create-only credentials to a joined cluster (README: "After a lost primary").
    created_in: str = ""

    def __post_init__(self) -> None:
        if self.global_writer_endpoint and not GLOBAL_WRITER_ENDPOINT_PATTERN.match(self.global_writer_endpoint):
            raise ConfigError(
                "global_writer_endpoint",
                f"{self.global_writer_endpoint!r} is not a global writer endpoint (NAME.global-ID.global.rds.amazonaws.com)",
            )
        if not ENGINE_VERSION_PATTERN.match(self.engine_version):
            raise ConfigError("engine_version", f"{self.engine_version!r} is not an Aurora PostgreSQL version like '16.8'")
        if not INSTANCE_CLASS_PATTERN.match(self.instance_class):
            raise ConfigError("instance_class", f"{self.instance_class!r} is not a DB instance class like 'db.r6g.large'")
        for name in ("primary_instances", "dr_instances"):
            if not 1 <= getattr(self, name) <= MAX_DB_INSTANCES:
                raise ConfigError(name, f"must be from 1 to {MAX_DB_INSTANCES}, not {getattr(self, name)}")
        if not 7 <= self.backup_retention_days <= 35:
            raise ConfigError("backup_retention_days", f"must be from 7 to 35 days, not {self.backup_retention_days}")
        if not DB_USERNAME_PATTERN.match(self.master_username) or self.master_username in RESERVED_DB_USERNAMES:
            raise ConfigError(
                "master_username",
                f"{self.master_username!r} must be a lower-case PostgreSQL identifier and not a reserved role name",
            )
        if not DB_USERNAME_PATTERN.match(self.database_name):
            raise ConfigError("database_name", f"{self.database_name!r} must be a lower-case PostgreSQL identifier")

    @property
    def parameter_group_family(self) -> str:
        return f"aurora-postgresql{self.engine_version.split('.')[0]}"

    def instances(self, is_primary: bool) -> int:
        return self.primary_instances if is_primary else self.dr_instances


@dataclass(frozen=True)
class RunbookConfig:
    # Off by default: a person decides to fail over. On, the composite "peer region
    # impaired" alarm starts an UNPLANNED failover that accepts data loss.
    automatic_trigger: bool = False
    min_minutes_between_automatic_runs: int = 60
    writer_poll_seconds: int = 20
    # 12 x 20 s: the promotion phase of the budget is this wait, and it must fit the RTO
    # (at least WRITER_WAIT_FLOOR_SECONDS: AWS's promotion takes minutes).
    writer_max_polls: int = 12
    # Before and after the switch: healthy targets here, then Route 53 seeing them (for as
    # long as a task takes to start: objectives.task_start_seconds).
    health_poll_seconds: int = 10
    function_timeout_seconds: int = 60
    # How often each region's readiness function checks that a failover would work; its
    # alarm turns within two periods of a check failing.
    readiness_period_minutes: int = 5
    # A promotion towards this region that outlasts the writer wait is still followed this
    # long (over budget, reported), then the run ends with the split alarmed: AWS finishes a
    # promotion the runbook stopped waiting for (AWS bounds it only as "in the order of
    # minutes"), so giving up must not strand the writer away from traffic.
    follow_promotion_minutes: int = 60
    # Reserved concurrency keeps other functions of the account from starving the runbook, the
    # relay and readiness (19 per region). Lambda keeps 100 of the account's quota unreserved, so
    # an account whose quota is lower than about 120 (new accounts) cannot reserve: deploy's
    # pre-flight says so; false deploys without reservations until the quota is raised.
    reserve_concurrency: bool = True

    def __post_init__(self) -> None:
        if not 1 <= self.readiness_period_minutes <= 60:
            raise ConfigError("readiness_period_minutes", "must be from 1 to 60")
        if not 5 <= self.min_minutes_between_automatic_runs <= 1440:
            raise ConfigError("min_minutes_between_automatic_runs", "must be from 5 to 1440")
        if not 5 <= self.follow_promotion_minutes <= 1440:
            raise ConfigError("follow_promotion_minutes", "must be from 5 to 1440")
        if not 5 <= self.writer_poll_seconds <= 300:
            raise ConfigError("writer_poll_seconds", "must be from 5 to 300")
        if not 1 <= self.writer_max_polls <= 200:
            raise ConfigError("writer_max_polls", "must be from 1 to 200")
        if self.writer_wait_seconds < WRITER_WAIT_FLOOR_SECONDS:
            raise ConfigError(
                "writer_max_polls",
                f"the writer wait ({self.writer_poll_seconds} s x {self.writer_max_polls} = {self.writer_wait_seconds} s) is "
                f"shorter than a promotion AWS describes as taking minutes (at least {WRITER_WAIT_FLOOR_SECONDS} s; Aurora "
                "user guide, aurora-global-database-disaster-recovery.html)",
            )
        if not 5 <= self.health_poll_seconds <= 60:
            raise ConfigError("health_poll_seconds", "must be from 5 to 60")
        # The floor leaves room for one worst-case AWS call after the safety margin; the ceiling
        # keeps a dead step's lease (timeout + 5 s) short enough to retry within a failover.
        if not 60 <= self.function_timeout_seconds <= 300:
            raise ConfigError("function_timeout_seconds", "must be from 60 to 300 (a step's claim lease follows it)")

    @property
    def writer_wait_seconds(self) -> int:
        """The longest the runbook waits for the promoted writer."""
        return self.writer_poll_seconds * self.writer_max_polls


@dataclass(frozen=True)
class Config:
    project: str = "trading"
    environment_suffix: str = "dev"
    primary_region: str = "us-east-1"
    dr_region: str = "us-west-2"
    # Where the stack sets are administered ("" = the primary region). A stack set lives in
    # its administration region: administered from the primary, nothing can change the DR
    # region while the primary is down. A third region of the partition avoids that.
    stackset_administration_region: str = ""
    network: NetworkConfig = field(default_factory=NetworkConfig)
    dns: DnsConfig = field(default_factory=DnsConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    app: AppConfig = field(default_factory=AppConfig)
    tracing: TracingConfig = field(default_factory=TracingConfig)
    runbook: RunbookConfig = field(default_factory=RunbookConfig)
    objectives: Objectives = field(default_factory=Objectives)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    logs: LogsConfig = field(default_factory=LogsConfig)
    reports: ReportsConfig = field(default_factory=ReportsConfig)

    def __post_init__(self) -> None:
        for name in ("project", "environment_suffix"):
            if not NAME_PART_PATTERN.match(getattr(self, name)):
                raise ConfigError(
                    name,
                    f"{getattr(self, name)!r} must start with a lower-case letter and hold only lower-case "
                    "letters, digits and single hyphens (it goes into RDS, ALB and S3 names)",
                )
        _check_region("primary_region", self.primary_region)
        _check_region("dr_region", self.dr_region)
        if self.primary_region == self.dr_region:
            raise ConfigError("dr_region", f"must differ from primary_region (both are {self.dr_region})")
        if region_partition(self.primary_region) != region_partition(self.dr_region):
            raise ConfigError("dr_region", "must be in the same AWS partition as primary_region")
        if self.database.created_in:
            _check_region("database.created_in", self.database.created_in)
            if region_partition(self.database.created_in) != self.partition:
                raise ConfigError("database.created_in", "must be in the same AWS partition as primary_region")
        if self.stackset_administration_region:
            _check_region("stackset_administration_region", self.stackset_administration_region)
            if region_partition(self.stackset_administration_region) != self.partition:
                raise ConfigError("stackset_administration_region", "must be in the same AWS partition as primary_region")
        if route53_metrics_region(self.partition) is None:
            raise ConfigError(
                "primary_region",
                f"partition {self.partition} is not supported: the traffic switch needs Route 53's health-check "
                f"metrics, which AWS documents only in {documented_route53_metrics()}",
            )
        for field_path, region in (("primary_region", self.primary_region), ("dr_region", self.dr_region)):
            missing = [
                resource_type
                for resource_type in missing_resource_types(region)
                if self.tracing.enable_transaction_search or resource_type not in TRANSACTION_SEARCH_TYPES
            ]
            if missing:
                raise ConfigError(
                    field_path,
                    f"{region} is not supported: CloudFormation has no {missing[0]} there "
                    f"({RESOURCE_PURPOSES[missing[0]]}), per its registry as {RESOURCE_TYPES['registry']} ships it",
                )
        self._check_instance_class()
        self._check_alert_arns()
        for field_path, region in (("primary_region", self.primary_region), ("dr_region", self.dr_region)):
            zones = len(AVAILABILITY_ZONES[region])
            if self.network.az_count > zones:
                raise ConfigError("network.az_count", f"{self.network.az_count} exceeds the {zones} AZs of {region} ({field_path})")
        for field_path, region in (("dns.primary_certificate_arn", self.primary_region), ("dns.dr_certificate_arn", self.dr_region)):
            arn = getattr(self.dns, field_path.split(".")[1])
            if arn and CERTIFICATE_ARN_PATTERN.match(arn).group(1) != region:
                raise ConfigError(field_path, f"the certificate must be in {region}: ACM certificates are regional")
        for name in naming.all_names(self):
            for region in self.regions:
                resolved = name.for_region(region)
                if len(resolved) > name.limit:
                    raise ConfigError(
                        "environment_suffix",
                        f"too long: the {name.kind} name {resolved!r} would be {len(resolved)} characters, "
                        f"over AWS's limit of {name.limit}",
                    )

    def _check_instance_class(self) -> None:
        """Both regions must offer the class: RDS refuses a cluster instance of a class its region lacks."""
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

    def _check_alert_arns(self) -> None:
        """SNS delivers only within its partition: an ARN elsewhere would fail at subscription."""
        for index, endpoint in enumerate(self.alerts.endpoints):
            if not endpoint.is_arn:
                continue
            field_path = f"alerts.endpoints[{index}].endpoint"
            partition, region = endpoint.arn_partition_and_region
            if partition != self.partition:
                raise ConfigError(field_path, f"partition {partition!r} is not this deployment's ({self.partition!r}): SNS cannot deliver across partitions")
            if region not in AVAILABILITY_ZONES or region_partition(region) != partition:
                raise ConfigError(field_path, f"{region!r} is not a region of partition {partition!r}")

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


def _type_name(expected: Any) -> str:
    if typing.get_origin(expected) is Literal:
        return "one of " + ", ".join(repr(value) for value in typing.get_args(expected))
    if dataclasses.is_dataclass(expected):
        return "a table"
    if typing.get_origin(expected) is tuple:
        return "a list"
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false"}.get(expected, str(expected))


def _convert(expected: Any, value: Any, field_path: str) -> Any:
    """Check a TOML value against a field's type and build nested dataclasses."""
    origin = typing.get_origin(expected)
    if origin is Literal:
        allowed = typing.get_args(expected)
        # bool is an int in Python; TOML's true must not pass for 1.
        if isinstance(value, bool) or value not in allowed:
            raise ConfigError(field_path, f"must be {_type_name(expected)}, not {value!r}")
        return value
    if dataclasses.is_dataclass(expected):
        if not isinstance(value, dict):
            raise ConfigError(field_path, f"must be {_type_name(expected)}, not {type(value).__name__}")
        return _build(expected, value, field_path + ".")
    if origin is tuple:
        if not isinstance(value, list):
            raise ConfigError(field_path, f"must be a list, not {type(value).__name__}")
        item_type = typing.get_args(expected)[0]
        return tuple(_convert(item_type, item, f"{field_path}[{index}]") for index, item in enumerate(value))
    if expected is float and type(value) is int:
        return float(value)  # TOML writes 2 for 2.0
    if type(value) is not expected:
        raise ConfigError(field_path, f"must be {_type_name(expected)}, not {type(value).__name__} {value!r}")
    return value


def _build(cls: type, data: dict[str, Any], prefix: str = "") -> Any:
    hints = typing.get_type_hints(cls)
    known = [f.name for f in dataclasses.fields(cls)]
    for key in data:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean '{prefix}{close[0]}'?)" if close else f" (known: {', '.join(known)})"
            raise ConfigError(prefix + key, "unknown key" + hint)
    values = {key: _convert(hints[key], value, prefix + key) for key, value in data.items()}
    try:
        return cls(**values)
    except ConfigError as exc:
        # Nested dataclasses name fields relative to themselves; give the full path.
        raise ConfigError(prefix + exc.field_path, exc.rule, exc.details) from None


def config_from_mapping(data: dict[str, Any]) -> Config:
    """A validated ``Config``, including that its design can meet its objectives (the RTO
    budget needs the templates' timing, hence checked here and not in ``Config`` itself)."""
    cfg = _build(Config, data)
    from checks.budget import objection  # imports the templates, which import this module

    refused = objection(cfg)
    if refused:
        raise ConfigError(*refused)
    return cfg


def load_config(path: Path | None) -> Config:
    """The default configuration, overridden by the TOML file at ``path`` if given."""
    if path is None:
        return Config()
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(str(path), f"cannot read the configuration file ({exc.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), f"not valid TOML ({exc})") from None
    return config_from_mapping(data)

