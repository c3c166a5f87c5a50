"""Tracing after the X-Ray daemon: an OpenTelemetry collector beside the app, exporting to this
region's X-Ray OTLP endpoint, and CloudWatch Transaction Search, which that endpoint requires.

The collector is the AWS Distro for OpenTelemetry (ADOT) collector, whose pipeline this module
renders (docs/design.md says why not the CloudWatch agent): OTLP receivers on localhost for the
app, memory_limiter and batch processors, the ``otlphttp`` exporter signed with SigV4 for the
``xray`` service of the task's own region. "Send traces to the CloudWatch OTLP traces endpoint
(https://xray.<region>.amazonaws.com/v1/traces) ... using the otlp_http exporter with SigV4
authentication. The OTLP traces endpoint requires Transaction Search" (ADOT, "Getting Started
with the AWS X-Ray Exporter in the Collector", https://aws-otel.github.io/docs/getting-started/x-ray/).

Its image comes from this region's own registry, like the app's (``image_uri``): AWS documents
a pull-through cache as re-checking the upstream for a tag's new version every 24 hours and its
repositories' tags as mutable ("If you manually enable tag immutability on the repository,
Amazon ECR may not be able to update the cached images", ECR user guide, "Sync an upstream
registry with an Amazon ECR private registry"), while a replicated repository holds copies
("makes copies of the repositories in one or more destination Regions", "Private image
replication") that nothing outside the region is asked about.
"""

from __future__ import annotations

import json

from troposphere import Ref, Sub, Template, ecs, logs
from troposphere import xray as xray_resources

from policies import tracing as tracing_policies
from templates import naming
from templates.config import COLLECTOR_PORTS, Config
from templates.regions import ROLE_PARAMETER

COLLECTOR_CONTAINER = "otel-collector"
COLLECTOR_LOG_GROUP = "CollectorLogGroup"
TRANSACTION_SEARCH = "TransactionSearchConfig"
TRANSACTION_SEARCH_LOGS_POLICY = "TransactionSearchLogsPolicy"
# The collector image's own user: aws-otel-collector's Dockerfile adds `aoc` with uid 4317 and
# runs as it (USER aoc); the collector writes no files.
COLLECTOR_USER = "4317"
# The config the ADOT collector reads instead of its --config file when this variable is set
# (aws-otel-collector pkg/config/config_factory.go).
CONFIG_VARIABLE = "AOT_CONFIG_CONTENT"
GRPC_PORT, HTTP_PORT, HEALTH_PORT = COLLECTOR_PORTS
LOCALHOST = "127.0.0.1"
EXPORTER = "otlphttp/xray"
# The collector's share of the task: a hard limit (it is not essential), and the memory limiter
# refusing data before the limit is reached (limit_mib minus spike is where it starts to refuse).
COLLECTOR_MEMORY_MIB = 256
MEMORY_LIMIT_MIB = 200
MEMORY_SPIKE_MIB = 50


def traces_endpoint() -> str:
    """X-Ray's OTLP endpoint in the task's own region ("https://xray.<Region>.amazonaws.com/v1/traces"),
    as an ``Fn::Sub`` pattern: the region and domain come from pseudo-parameters."""
    return "https://xray.${AWS::Region}.${AWS::URLSuffix}/v1/traces"


def collector_config() -> dict:
    """The collector's pipeline: traces only, from the app on localhost to X-Ray."""
    return {
        "extensions": {
            "health_check": {"endpoint": f"{LOCALHOST}:{HEALTH_PORT}"},
            "sigv4auth": {"region": "${AWS::Region}", "service": "xray"},
        },
        "receivers": {
            "otlp": {
                "protocols": {
                    "grpc": {"endpoint": f"{LOCALHOST}:{GRPC_PORT}"},
                    "http": {"endpoint": f"{LOCALHOST}:{HTTP_PORT}"},
                }
            }
        },
        "processors": {
            # First in the pipeline, so data is refused before the container's hard limit kills it.
            "memory_limiter": {"check_interval": "1s", "limit_mib": MEMORY_LIMIT_MIB, "spike_limit_mib": MEMORY_SPIKE_MIB},
            "batch": {"timeout": "5s", "send_batch_size": 512},
        },
        "exporters": {
            EXPORTER: {
                "traces_endpoint": traces_endpoint(),
                "compression": "gzip",
                "auth": {"authenticator": "sigv4auth"},
            }
        },
        "service": {
            "extensions": ["health_check", "sigv4auth"],
            "pipelines": {"traces": {"receivers": ["otlp"], "processors": ["memory_limiter", "batch"], "exporters": [EXPORTER]}},
        },
    }


def rendered_config() -> Sub:
    """The pipeline as the collector reads it: JSON, which is YAML, with the region substituted by
    CloudFormation (no ``${`` survives for the collector's own expansion)."""
    return Sub(json.dumps(collector_config(), sort_keys=True, separators=(",", ":")))


def image_uri(repository: str, tag_or_digest: str) -> Sub:
    """An image in this account's registry in this region, by digest (``sha256:...``) or pinned tag."""
    reference = f"@{tag_or_digest}" if tag_or_digest.startswith("sha256:") else f":{tag_or_digest}"
    return Sub(f"${{AWS::AccountId}}.dkr.ecr.${{AWS::Region}}.${{AWS::URLSuffix}}/{repository}{reference}")


def app_environment(cfg: Config) -> list[tuple[str, object]]:
    """The app's standard OpenTelemetry SDK variables: traces over OTLP/HTTP to the sidecar (awsvpc
    tasks share localhost), the service named by the project, the region and its DR role."""
    return [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://{LOCALHOST}:{HTTP_PORT}"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ("OTEL_SERVICE_NAME", f"{naming.prefix(cfg)}-app"),
        ("OTEL_RESOURCE_ATTRIBUTES", Sub(f"deployment.environment={cfg.environment_suffix},cloud.region=${{AWS::Region}},dr.role=${{{ROLE_PARAMETER}}}")),
        ("OTEL_TRACES_EXPORTER", "otlp"),
        # The collector has a traces pipeline only.
        ("OTEL_METRICS_EXPORTER", "none"),
        ("OTEL_LOGS_EXPORTER", "none"),
        ("OTEL_PROPAGATORS", "tracecontext,baggage"),
    ]


def awslogs(log_group: str, stream_prefix: str) -> ecs.LogConfiguration:
    """A container's log driver: the template's log group ``log_group``, in this region."""
    return ecs.LogConfiguration(
        LogDriver="awslogs",
        Options={"awslogs-group": Ref(log_group), "awslogs-region": Ref("AWS::Region"), "awslogs-stream-prefix": stream_prefix},
    )


def collector_container(cfg: Config) -> ecs.ContainerDefinition:
    """Non-root, read-only root filesystem, health-checked, logging to its own group."""
    return ecs.ContainerDefinition(
        Name=COLLECTOR_CONTAINER,
        Image=image_uri(cfg.tracing.collector_repository, cfg.tracing.collector_image_tag),
        # Losing traces must not take the app down.
        Essential=False,
        Cpu=64,
        Memory=COLLECTOR_MEMORY_MIB,
        MemoryReservation=COLLECTOR_MEMORY_MIB,
        Environment=[ecs.Environment(Name=CONFIG_VARIABLE, Value=rendered_config())],
        User=COLLECTOR_USER,
        ReadonlyRootFilesystem=True,
        # The image has no shell: its /healthcheck binary asks the health_check extension on
        # 127.0.0.1:13133 (aws-otel-collector cmd/healthcheck).
        HealthCheck=ecs.HealthCheck(Command=["CMD", "/healthcheck"], Interval=15, Timeout=5, Retries=3, StartPeriod=10),
        LogConfiguration=awslogs(COLLECTOR_LOG_GROUP, COLLECTOR_CONTAINER),
    )


def add_transaction_search(t: Template, cfg: Config) -> None:
    """CloudWatch Transaction Search for this account and region (bootstrap stack set), unless the
    account already has it.

    "Make sure Transaction Search is disabled before you enable using AWS CDK or AWS
    CloudFormation", and enabling it takes a CloudWatch Logs resource policy letting X-Ray write
    the spans ("Using Transaction Search with AWS CloudFormation",
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch-Transaction-Search-Cloudformation.html).
    Both are retained on delete: the setting is the account's, and other workloads' spans go
    through it too; but not when the first create rolls back (RetainExceptOnCreate), or the
    retry would find Transaction Search on and the policy's fixed name taken.
    """
    if not cfg.tracing.enable_transaction_search:
        return
    t.add_resource(
        logs.ResourcePolicy(
            TRANSACTION_SEARCH_LOGS_POLICY,
            PolicyName=naming.transaction_search_logs_policy(cfg).value(),
            PolicyDocument=Sub(tracing_policies.transaction_search_logs().to_json(indent=None)),
            DeletionPolicy="RetainExceptOnCreate",
            UpdateReplacePolicy="Retain",
        )
    )
    t.add_resource(
        xray_resources.TransactionSearchConfig(
            TRANSACTION_SEARCH,
            DependsOn=TRANSACTION_SEARCH_LOGS_POLICY,
            DeletionPolicy="RetainExceptOnCreate",
            UpdateReplacePolicy="Retain",
        )
    )
