"""Policies for the app tier: the ECS task execution role, the task role, the ALB log bucket."""

from __future__ import annotations

from awacs import ecr, kms, logs, s3, secretsmanager
from awacs.aws import Allow, Condition, PolicyDocument, Statement, StringEquals
from troposphere import If, Sub

from policies import arns
from policies.s3 import deny_insecure_transport
from policies.trust import service_trust

ELB_LOG_DELIVERY_SERVICE = "logdelivery.elasticloadbalancing.amazonaws.com"


def ecs_tasks_trust() -> PolicyDocument:
    """The task role: only ECS tasks of this account and region, as "Amazon ECS task IAM role"
    recommends (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html:
    aws:SourceArn ``arn:aws:ecs:REGION:ACCOUNT:*``, "to specify a specific cluster is not
    currently supported") with aws:SourceAccount."""
    return service_trust("ecs-tasks.amazonaws.com", arns.arn("ecs", "*"), sid="EcsTasksAssumeRole")


def ecs_task_execution_trust() -> PolicyDocument:
    """The task execution role, which ECS's agents (not the app) use: "Amazon ECS task execution
    IAM role" (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_execution_IAM_role.html)
    shows its trust policy without conditions, so none is assumed to be sent."""
    return service_trust("ecs-tasks.amazonaws.com", sid="EcsAgentAssumesRole", source_account=False)


def task_execution(repositories: tuple[str, ...], log_group_names: tuple[str, ...], secret_name: str, key_arn) -> PolicyDocument:
    """What ECS needs to start the task: pull this region's images, write their log groups,
    inject the database secret (this region's replica), decrypt it with this region's key."""
    return PolicyDocument(
        Version="2012-10-17",
        Statement=[
            Statement(
                # GetAuthorizationToken supports no resource type: it issues a registry token.
                Sid="GetRegistryToken",
                Effect=Allow,
                Action=[ecr.GetAuthorizationToken],
                Resource=["*"],
            ),
            Statement(
                Sid="PullTaskImages",
                Effect=Allow,
                Action=[ecr.BatchCheckLayerAvailability, ecr.BatchGetImage, ecr.GetDownloadUrlForLayer],
                Resource=[arns.ecr_repository(repository) for repository in repositories],
            ),
            Statement(
                # Both actions take the log-stream resource type only.
                Sid="WriteOwnLogStreams",
                Effect=Allow,
                Action=[logs.CreateLogStream, logs.PutLogEvents],
                Resource=[arns.log_streams(name) for name in log_group_names],
            ),
            Statement(
                Sid="ReadDatabaseSecret",
                Effect=Allow,
                Action=[secretsmanager.GetSecretValue],
                Resource=[arns.secret_by_name(secret_name)],
            ),
            Statement(
                Sid="DecryptDatabaseSecret",
                Effect=Allow,
                Action=[kms.Decrypt],
                Resource=[key_arn],
                Condition=Condition(StringEquals({"kms:ViaService": Sub("secretsmanager.${AWS::Region}.amazonaws.com")})),
            ),
        ],
    )


def access_log_bucket(bucket_logical_id: str, prefix: str, uses_service_principal: str) -> PolicyDocument:
    """TLS only; Elastic Load Balancing may write this account's logs under ``prefix``.

    Regions launched before August 2022 require the Region's ELB account as principal,
    later ones the log-delivery service principal: ``uses_service_principal`` is the
    Condition that tells which, from the per-region ``ElbLogDeliveryAccount`` parameter.
    """
    writer = If(
        uses_service_principal,
        {"Service": ELB_LOG_DELIVERY_SERVICE},
        {"AWS": Sub("arn:${AWS::Partition}:iam::${ElbLogDeliveryAccount}:root")},
    )
    return PolicyDocument(
        Version="2012-10-17",
        Statement=[
            deny_insecure_transport(bucket_logical_id),
            Statement(
                Sid="LoadBalancerWritesAccessLogs",
                Effect=Allow,
                Principal=writer,
                Action=[s3.PutObject],
                Resource=[arns.bucket(f"${{{bucket_logical_id}}}/{prefix}/AWSLogs/${{AWS::AccountId}}/*")],
            ),
        ],
    )
