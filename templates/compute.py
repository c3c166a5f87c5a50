"""App tier: ECS Fargate service with an OpenTelemetry collector sidecar, behind an HTTPS-only ALB.

Warm standby: the template is the same in both regions; the desired and minimum task
counts are per-region parameters, so the DR region runs fewer tasks until the runbook
scales it up.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from troposphere import Equals, GetAtt, Output, Parameter, Ref, Sub, Tags, Template
from troposphere import applicationautoscaling as autoscaling
from troposphere import ec2, ecs, iam
from troposphere import elasticloadbalancingv2 as elb

from policies import arns
from policies import compute as compute_policies
from policies import tracing as tracing_policies
from templates import naming, protection, tracing
from templates.buckets import add_log_bucket
from templates.config import TARGET_HEALTH_CHECK_INTERVAL_SECONDS, TARGET_HEALTHY_THRESHOLD, Config
from templates.database import Database
from templates.functions import log_group
from templates.network import Network
from templates.security import APP_SECURITY_GROUP, SecurityGroups, data_key_arn
from templates.suppressions import cfripper_ignore, checkov_skip, guard_suppress, log_group_with_imported_key, merged

CLUSTER = "EcsCluster"
SERVICE = "AppService"
TASK_DEFINITION = "AppTaskDefinition"
EXECUTION_ROLE = "AppTaskExecutionRole"
TASK_ROLE = "AppTaskRole"
APP_LOG_GROUP = "AppLogGroup"
LOAD_BALANCER = "LoadBalancer"
ALB_SECURITY_GROUP = "LoadBalancerSecurityGroup"
TARGET_GROUP = "AppTargetGroup"
# How long a deregistered target keeps its connections (ELB target group attribute); a fenced
# task serves for this long, then ECS stops it (runbook.fence_wait_seconds).
DEREGISTRATION_DELAY_SECONDS = 30
HTTPS_LISTENER = "HttpsListener"
PUBLIC_ENTRY_REASON = (
    "the trading platform's public entry point: HTTPS (and HTTP, answered with a redirect to HTTPS) from the internet "
    "is its purpose"
)
HTTP_LISTENER = "HttpRedirectListener"
ACCESS_LOG_BUCKET = "AccessLogBucket"
ACCESS_LOG_BUCKET_POLICY = "AccessLogBucketPolicy"
SCALABLE_TARGET = "AppScalableTarget"

CERTIFICATE_PARAMETER = "CertificateArn"
MIN_COUNT_PARAMETER = "AppMinCount"
ELB_ACCOUNT_PARAMETER = "ElbLogDeliveryAccount"
ELB_USES_SERVICE_PRINCIPAL = "ElbLogDeliveryUsesServicePrincipal"

APP_CONTAINER = "app"
# An empty task volume (Fargate ephemeral storage): the only place the app may write.
WRITABLE_VOLUME = "app-writable"
# TLS 1.3 and 1.2 only (ELB's recommended policy).
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
ACCESS_LOG_PREFIX = "alb"


ELB_ACCOUNTS_FILE = Path(__file__).parent / "data" / "elb_log_delivery_accounts.json"


@cache
def _elb_accounts() -> dict[str, str]:
    return json.loads(ELB_ACCOUNTS_FILE.read_text(encoding="utf-8"))["accounts"]


def elb_log_delivery_account(region: str) -> str:
    """The Elastic Load Balancing account of an older Region, or "" where the service principal applies."""
    return _elb_accounts().get(region, "")


def region_parameters(cfg: Config, region: str) -> dict[str, str]:
    count = str(cfg.app.desired_count(cfg.is_primary(region)))
    return {
        CERTIFICATE_PARAMETER: cfg.certificate_arn(region),
        MIN_COUNT_PARAMETER: count,
        ELB_ACCOUNT_PARAMETER: elb_log_delivery_account(region),
    }


@dataclass(frozen=True)
class App:
    load_balancer_dns: GetAtt
    load_balancer_zone: GetAtt
    load_balancer_full_name: GetAtt
    target_group_full_name: GetAtt
    target_group_arn: Ref
    cluster_name: Ref
    service_name: GetAtt


def _add_parameters(t: Template, cfg: Config) -> None:
    t.add_parameter(
        Parameter(
            CERTIFICATE_PARAMETER,
            Type="String",
            Description=f"ACM certificate for {cfg.dns.domain_name} in this region",
            AllowedPattern=r"^arn:[a-z-]+:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]+$",
            ConstraintDescription="an ACM certificate ARN in this region (dns.*_certificate_arn in the configuration)",
        )
    )
    t.add_parameter(
        Parameter(
            MIN_COUNT_PARAMETER, Type="Number", MinValue=1, MaxValue=cfg.app.max_count,
            Description="Autoscaling minimum in this region: its warm-standby (or primary) task count",
        )
    )
    t.add_parameter(
        Parameter(
            ELB_ACCOUNT_PARAMETER,
            Type="String",
            AllowedPattern=r"^(\d{12})?$",
            Description="This region's Elastic Load Balancing account for access logs; empty where the service principal applies",
        )
    )
    t.add_condition(ELB_USES_SERVICE_PRINCIPAL, Equals(Ref(ELB_ACCOUNT_PARAMETER), ""))


def _add_access_log_bucket(t: Template, cfg: Config) -> None:
    """Per-region bucket for ALB access logs: SSE-S3 (the only encryption ALB logs support)."""
    add_log_bucket(
        t, cfg, ACCESS_LOG_BUCKET, ACCESS_LOG_BUCKET_POLICY,
        compute_policies.access_log_bucket(ACCESS_LOG_BUCKET, ACCESS_LOG_PREFIX, ELB_USES_SERVICE_PRINCIPAL),
    )


def _add_load_balancer(t: Template, cfg: Config, network: Network) -> None:
    port = cfg.app.container_port
    t.add_resource(
        ec2.SecurityGroup(
            ALB_SECURITY_GROUP,
            GroupDescription=f"{naming.prefix(cfg)} ALB: HTTPS and HTTP (redirect) from the internet",
            Metadata=merged(
                checkov_skip(
                    {"CKV_AWS_260": "Port 80 reaches only the listener that answers 301 to HTTPS; no content is served over HTTP"}
                ),
                cfripper_ignore({"EC2SecurityGroupOpenToWorldRule": PUBLIC_ENTRY_REASON}),
            ),
            VpcId=network.vpc_id,
            Tags=Tags(**naming.project_tags(cfg)),
            SecurityGroupIngress=[
                ec2.SecurityGroupRule(Description=f"{name} from the internet", IpProtocol="tcp", FromPort=p, ToPort=p, CidrIp="0.0.0.0/0")
                for name, p in (("HTTPS", 443), ("HTTP, redirected to HTTPS", 80))
            ],
            SecurityGroupEgress=[
                ec2.SecurityGroupRule(
                    Description="To the app tasks only",
                    IpProtocol="tcp",
                    FromPort=port,
                    ToPort=port,
                    DestinationSecurityGroupId=Ref(APP_SECURITY_GROUP),
                )
            ],
        )
    )
    t.add_resource(
        ec2.SecurityGroupIngress(
            "AppIngressFromLoadBalancer",
            GroupId=Ref(APP_SECURITY_GROUP),
            Description="App port from the ALB only",
            IpProtocol="tcp",
            FromPort=port,
            ToPort=port,
            SourceSecurityGroupId=Ref(ALB_SECURITY_GROUP),
        )
    )
    t.add_resource(
        elb.LoadBalancer(
            LOAD_BALANCER,
            Metadata=merged(
                cfripper_ignore({"PublicELBCheckerRule": PUBLIC_ENTRY_REASON}),
                guard_suppress({"ELBV2_DELETION_PROTECTION_ENABLED_CHECK": protection.FIRST_CREATE_REASON}),
            ),
            DependsOn=ACCESS_LOG_BUCKET_POLICY,  # ALB checks it may write the logs when they are enabled
            Name=naming.load_balancer(cfg).value(),
            Type="application",
            Scheme="internet-facing",
            Subnets=list(network.public_subnet_ids),
            SecurityGroups=[Ref(ALB_SECURITY_GROUP)],
            LoadBalancerAttributes=[
                elb.LoadBalancerAttributes(Key=key, Value=value)
                for key, value in (
                    ("deletion_protection.enabled", protection.protected(cfg.app.load_balancer_deletion_protection)),
                    ("routing.http.drop_invalid_header_fields.enabled", "true"),
                    ("access_logs.s3.enabled", "true"),
                    ("access_logs.s3.bucket", Ref(ACCESS_LOG_BUCKET)),
                    ("access_logs.s3.prefix", ACCESS_LOG_PREFIX),
                )
            ],
        )
    )
    t.add_resource(
        elb.TargetGroup(
            TARGET_GROUP,
            Name=naming.target_group(cfg).value(),
            TargetType="ip",
            Protocol="HTTP",
            Port=port,
            VpcId=network.vpc_id,
            HealthCheckPath=cfg.app.health_check_path,
            HealthCheckIntervalSeconds=TARGET_HEALTH_CHECK_INTERVAL_SECONDS,
            HealthyThresholdCount=TARGET_HEALTHY_THRESHOLD,
            UnhealthyThresholdCount=3,
            Matcher=elb.Matcher(HttpCode="200"),
            TargetGroupAttributes=[elb.TargetGroupAttribute(Key="deregistration_delay.timeout_seconds", Value=str(DEREGISTRATION_DELAY_SECONDS))],
        )
    )
    t.add_resource(
        elb.Listener(
            HTTPS_LISTENER,
            LoadBalancerArn=Ref(LOAD_BALANCER),
            Port=443,
            Protocol="HTTPS",
            Metadata=guard_suppress(
                {
                    "ELBV2_ACM_CERTIFICATE_REQUIRED_CHECK": "the certificate is ACM's, per region: the CertificateArn "
                    "parameter only takes an arn:...:acm:... ARN (AllowedPattern), which the rule cannot see through Ref"
                }
            ),
            SslPolicy=TLS_POLICY,
            Certificates=[elb.Certificate(CertificateArn=Ref(CERTIFICATE_PARAMETER))],
            DefaultActions=[elb.Action(Type="forward", TargetGroupArn=Ref(TARGET_GROUP))],
        )
    )
    t.add_resource(
        elb.Listener(
            HTTP_LISTENER,
            LoadBalancerArn=Ref(LOAD_BALANCER),
            Port=80,
            Protocol="HTTP",
            DefaultActions=[
                elb.Action(
                    Type="redirect",
                    RedirectConfig=elb.RedirectConfig(Protocol="HTTPS", Port="443", StatusCode="HTTP_301"),
                )
            ],
        )
    )


def _add_roles(t: Template, cfg: Config, database: Database) -> None:
    t.add_resource(
        iam.Role(
            EXECUTION_ROLE,
            AssumeRolePolicyDocument=compute_policies.ecs_task_execution_trust(),
            Policies=[
                iam.Policy(
                    PolicyName="start-app-task",
                    PolicyDocument=compute_policies.task_execution(
                        (cfg.app.image_repository, cfg.tracing.collector_repository),
                        (naming.app_log_group(cfg).pattern, naming.collector_log_group(cfg).pattern),
                        database.secret_name,
                        data_key_arn(cfg),
                    ),
                )
            ],
        )
    )
    t.add_resource(
        iam.Role(
            TASK_ROLE,
            AssumeRolePolicyDocument=compute_policies.ecs_tasks_trust(),
            Policies=[iam.Policy(PolicyName="app", PolicyDocument=tracing_policies.task_role())],
        )
    )


def _log_configuration(stream_prefix: str) -> ecs.LogConfiguration:
    return tracing.awslogs(APP_LOG_GROUP, stream_prefix)


def _add_task_definition(t: Template, cfg: Config, database: Database) -> None:
    log_group(t, cfg, APP_LOG_GROUP, naming.app_log_group(cfg).value())
    log_group(t, cfg, tracing.COLLECTOR_LOG_GROUP, naming.collector_log_group(cfg).value())
    secret = arns.secret_partial(database.secret_name)
    app = ecs.ContainerDefinition(
        Name=APP_CONTAINER,
        Image=tracing.image_uri(cfg.app.image_repository, cfg.app.image_tag),
        Essential=True,
        PortMappings=[ecs.PortMapping(ContainerPort=cfg.app.container_port, Protocol="tcp")],
        Environment=[
            ecs.Environment(Name=name, Value=value)
            for name, value in (
                # awsvpc tasks share one network namespace: the collector is on localhost
                # (seed defect 11 used a host name, which does not resolve on Fargate).
                *tracing.app_environment(cfg),
                # The global writer endpoint when configured: it follows the writer across regions.
                ("DB_HOST", cfg.database.global_writer_endpoint or database.endpoint),
                ("DB_READER_HOST", database.reader_endpoint),
                ("DB_PORT", str(database.port)),
                ("DB_NAME", cfg.database.database_name),
                ("DB_SECRET_ARN", secret),
            )
        ],
        # Injected by ECS from this region's secret (the replica in the DR region): the
        # password never appears in the task definition.
        Secrets=[
            ecs.Secret(Name="DB_USERNAME", ValueFrom=arns.secret_partial(database.secret_name, "username")),
            ecs.Secret(Name="DB_PASSWORD", ValueFrom=arns.secret_partial(database.secret_name, "password")),
        ],
        # No container health check: it would run a command inside the image (curl, which a distroless
        # image lacks, so every task would be killed as unhealthy). Health is the load balancer's
        # HTTP check of app.health_check_path (docs/operating.md "The app's contract"); ECS replaces a task
        # the target group reports unhealthy ("Health checks for Application Load Balancer target
        # groups" / the service's HealthCheckGracePeriodSeconds), and the circuit breaker counts it.
        LogConfiguration=_log_configuration(APP_CONTAINER),
        User=cfg.app.container_user,
        ReadonlyRootFilesystem=True,
        # ECS creates the task volume owned by root, mode 0755, unless the image declares the path
        # as a VOLUME: "If the absolute path that's specified in the VOLUME directive is the same as
        # the containerPath ... the data in the VOLUME directive path is copied to the data volume"
        # ("Use bind mounts with Amazon ECS", https://docs.aws.amazon.com/AmazonECS/latest/developerguide/bind-mounts.html),
        # its ownership with it (aws/containers-roadmap#938). So the image must declare
        # VOLUME app.writable_path owned by app.container_user (docs/operating.md "The app's contract").
        MountPoints=[ecs.MountPoint(SourceVolume=WRITABLE_VOLUME, ContainerPath=cfg.app.writable_path, ReadOnly=False)]
        if cfg.app.writable_path
        else [],
    )
    t.add_resource(
        ecs.TaskDefinition(
            TASK_DEFINITION,
            Metadata=guard_suppress(
                {
                    "ECS_TASK_DEFINITION_MEMORY_HARD_LIMIT_CHECK": "Fargate caps the task at its Memory (app.task_memory); "
                    "no container can take more than the task has"
                }
            ),
            Family=f"{naming.prefix(cfg)}-app",
            Cpu=str(cfg.app.task_cpu),
            Memory=str(cfg.app.task_memory),
            NetworkMode="awsvpc",
            RequiresCompatibilities=["FARGATE"],
            ExecutionRoleArn=GetAtt(EXECUTION_ROLE, "Arn"),
            TaskRoleArn=GetAtt(TASK_ROLE, "Arn"),
            ContainerDefinitions=[app, tracing.collector_container(cfg)],
            Volumes=[ecs.Volume(Name=WRITABLE_VOLUME)] if cfg.app.writable_path else [],
        )
    )


def _add_service(t: Template, cfg: Config, network: Network, security: SecurityGroups) -> None:
    t.add_resource(
        ecs.Cluster(
            CLUSTER,
            ClusterName=naming.ecs_cluster(cfg).value(),
            ClusterSettings=[ecs.ClusterSetting(Name="containerInsights", Value="enabled")],
        )
    )
    t.add_resource(
        ecs.Service(
            SERVICE,
            DependsOn=HTTPS_LISTENER,  # the target group must belong to a listener first
            ServiceName=naming.ecs_service(cfg).value(),
            Cluster=Ref(CLUSTER),
            TaskDefinition=Ref(TASK_DEFINITION),
            LaunchType="FARGATE",
            # No DesiredCount: CloudFormation sends it on every update of the service and would
            # reset a failed-over DR service to warm standby (aws/containers-roadmap#493).
            # Omitted, an update keeps the running count ("For existing services, if a desired
            # count is not specified, it is omitted from the operation", AWS::ECS::Service); a
            # new service starts at 1 and the scalable target's minimum raises it.
            HealthCheckGracePeriodSeconds=60,
            NetworkConfiguration=ecs.NetworkConfiguration(
                AwsvpcConfiguration=ecs.AwsvpcConfiguration(
                    AssignPublicIp="DISABLED",
                    Subnets=list(network.private_subnet_ids),
                    SecurityGroups=[security.app],
                )
            ),
            LoadBalancers=[
                ecs.LoadBalancer(ContainerName=APP_CONTAINER, ContainerPort=cfg.app.container_port, TargetGroupArn=Ref(TARGET_GROUP))
            ],
            DeploymentConfiguration=ecs.DeploymentConfiguration(
                DeploymentCircuitBreaker=ecs.DeploymentCircuitBreaker(Enable=True, Rollback=True),
                MinimumHealthyPercent=100,
                MaximumPercent=200,
            ),
            PropagateTags="SERVICE",
            EnableECSManagedTags=True,
        )
    )
    t.add_resource(
        autoscaling.ScalableTarget(
            SCALABLE_TARGET,
            ServiceNamespace="ecs",
            ScalableDimension="ecs:service:DesiredCount",
            ResourceId=Sub(f"service/${{{CLUSTER}}}/${{{SERVICE}.Name}}"),
            MinCapacity=Ref(MIN_COUNT_PARAMETER),
            MaxCapacity=cfg.app.max_count,
            Tags=Tags(**naming.project_tags(cfg)),
        )
    )
    t.add_resource(
        autoscaling.ScalingPolicy(
            "AppCpuScalingPolicy",
            PolicyName=f"{naming.prefix(cfg)}-app-cpu",
            PolicyType="TargetTrackingScaling",
            ScalingTargetId=Ref(SCALABLE_TARGET),
            TargetTrackingScalingPolicyConfiguration=autoscaling.TargetTrackingScalingPolicyConfiguration(
                TargetValue=float(cfg.app.cpu_target_percent),
                PredefinedMetricSpecification=autoscaling.PredefinedMetricSpecification(
                    PredefinedMetricType="ECSServiceAverageCPUUtilization"
                ),
                ScaleInCooldown=300,
                ScaleOutCooldown=60,
            ),
        )
    )


def _add_outputs(t: Template) -> None:
    t.add_output(Output("LoadBalancerDnsName", Description="This region's ALB", Value=GetAtt(LOAD_BALANCER, "DNSName")))
    t.add_output(Output("EcsClusterName", Description="ECS cluster", Value=Ref(CLUSTER)))
    t.add_output(Output("EcsServiceName", Description="ECS service the runbook scales", Value=GetAtt(SERVICE, "Name")))


def add_compute(t: Template, cfg: Config, network: Network, security: SecurityGroups, database: Database) -> App:
    """Add the app tier to ``t`` and return what traffic and alerting need."""
    _add_parameters(t, cfg)
    _add_access_log_bucket(t, cfg)
    _add_load_balancer(t, cfg, network)
    _add_roles(t, cfg, database)
    _add_task_definition(t, cfg, database)
    _add_service(t, cfg, network, security)
    _add_outputs(t)
    return App(
        load_balancer_dns=GetAtt(LOAD_BALANCER, "DNSName"),
        load_balancer_zone=GetAtt(LOAD_BALANCER, "CanonicalHostedZoneID"),
        load_balancer_full_name=GetAtt(LOAD_BALANCER, "LoadBalancerFullName"),
        target_group_full_name=GetAtt(TARGET_GROUP, "TargetGroupFullName"),
        target_group_arn=Ref(TARGET_GROUP),
        cluster_name=Ref(CLUSTER),
        service_name=GetAtt(SERVICE, "Name"),
    )
