"""A Lambda function as this project deploys every one: its own role (trusted by Lambda), its own retained and encrypted log group created first, X-Ray, and reserved
concurrency (unless the configuration turns it off), from the one zip of ``lambdas/`` in the artifact bucket."""

from __future__ import annotations

from pathlib import Path

from troposphere import GetAtt, Template
from troposphere import awslambda, iam, logs

from policies import arns
from policies.trust import service_trust
from templates import naming, packaging
from templates.config import Config
from templates.security import data_key_arn
from templates.suppressions import checkov_skip, guard_suppress, log_group_with_imported_key, merged, typeless_wildcards

LAMBDAS_DIR = Path(__file__).resolve().parent.parent / "lambdas"
ARTIFACT_NAME = "runbook"
RUNTIME = "python3.12"
# Outside a VPC a function's path to AWS does not depend on this region's NAT gateways;
# variables hold names and ARNs only (Lambda encrypts them at rest with its service key).
COMMON_SUPPRESSIONS = {
    "CKV_AWS_117": "Calls only AWS APIs, some in the peer region; outside a VPC the failover path does not "
    "depend on this region's NAT gateways",
    "CKV_AWS_173": "Variables hold resource names and ARNs only, no secrets; Lambda encrypts them at rest "
    "with its service key",
}


def package() -> tuple[bytes, str]:
    """Every function's code in one zip and its S3 key (content hash)."""
    content, sha256 = packaging.package(LAMBDAS_DIR)
    return content, packaging.s3_key(ARTIFACT_NAME, sha256)


def log_group(t: Template, cfg: Config, logical: str, name, retention_days: int | None = None, condition: str | None = None) -> None:
    t.add_resource(
        logs.LogGroup(
            logical,
            **({"Condition": condition} if condition else {}),
            Metadata=log_group_with_imported_key(),
            LogGroupName=name,
            RetentionInDays=retention_days or cfg.logs.retention_days,
            KmsKeyId=data_key_arn(cfg),
            DeletionPolicy="Delete",
            UpdateReplacePolicy="Delete",
        )
    )


def add_function(
    t: Template,
    cfg: Config,
    function_id: str,
    name: naming.Name,
    *,
    description: str,
    handler: str,
    s3_key: str,
    policy_name: str,
    policy,
    environment: dict,
    timeout: int,
    reserved_concurrency: int,
    dead_letter_reason: str,
    log_retention_days: int | None = None,
) -> GetAtt:
    """Add the function, its role and log group to ``t``; returns the role's ARN.

    ``policy`` is a function of the log group's name giving the role's policy document;
    ``dead_letter_reason`` says where failed invocations go instead of a Lambda DLQ.
    """
    log_group_name = f"/aws/lambda/{name.pattern}"
    log_group(t, cfg, f"{function_id}LogGroup", log_group_name, log_retention_days)
    document = policy(log_group_name)
    on_everything = any("*" in statement.Resource for statement in document.Statement if hasattr(statement, "Resource"))
    role = t.add_resource(
        iam.Role(
            f"{function_id}Role",
            **({"Metadata": typeless_wildcards()} if on_everything else {}),
            # No aws:SourceArn/aws:SourceAccount: Lambda's execution-role page shows a trust policy
            # without conditions ("Defining Lambda function permissions with an execution role",
            # https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html), and
            # "Using source function ARN to control function access behavior"
            # (https://docs.aws.amazon.com/lambda/latest/dg/permissions-source-function-arn.html) says
            # aws:SourceArn applies only to policies where the function is the target resource.
            AssumeRolePolicyDocument=service_trust("lambda.amazonaws.com", source_account=False),
            Policies=[iam.Policy(PolicyName=policy_name, PolicyDocument=document)],
        )
    )
    t.add_resource(
        awslambda.Function(
            function_id,
            DependsOn=f"{function_id}LogGroup",  # else Lambda creates it, with no retention
            Metadata=merged(
                checkov_skip({**COMMON_SUPPRESSIONS, "CKV_AWS_116": dead_letter_reason}),
                guard_suppress({"LAMBDA_INSIDE_VPC_CHECK": COMMON_SUPPRESSIONS["CKV_AWS_117"]}),
            ),
            FunctionName=name.value(),
            Description=description,
            Runtime=RUNTIME,
            Handler=handler,
            Code=awslambda.Code(S3Bucket=naming.artifact_bucket(cfg).value(), S3Key=s3_key),
            Role=GetAtt(role, "Arn"),
            Timeout=timeout,
            MemorySize=256,
            **({"ReservedConcurrentExecutions": reserved_concurrency} if cfg.runbook.reserve_concurrency else {}),
            TracingConfig=awslambda.TracingConfig(Mode="Active"),
            LoggingConfig=awslambda.LoggingConfig(LogGroup=log_group_name),
            Environment=awslambda.Environment(Variables=environment),
        )
    )
    return GetAtt(role, "Arn")
