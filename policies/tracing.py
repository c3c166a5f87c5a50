"""Policies for tracing: what the collector's exporter may do, and what X-Ray may write when
Transaction Search stores the spans in CloudWatch Logs."""

from __future__ import annotations

from awacs import logs, xray
from awacs.aws import Allow, ArnLike, Condition, PolicyDocument, Principal, Statement, StringEquals

from policies import arns
from policies.functions import document

# Transaction Search's span log groups (Transaction Search with AWS CloudFormation).
SPAN_LOG_GROUPS = ("aws/spans", "/aws/application-signals/data")


def export_traces() -> Statement:
    """The collector's OTLP exporter: X-Ray's OTLP endpoint is authorised by xray:PutTraceSegments
    (the permission AWS's own resource policy grants log delivery to X-Ray, "Traces sent to X-Ray",
    CloudWatch Logs user guide), which supports no resource type."""
    return Statement(Sid="ExportTraces", Effect=Allow, Action=[xray.PutTraceSegments], Resource=["*"])


def task_role() -> PolicyDocument:
    """The app task's own permissions: the collector sidecar exports its traces, nothing else."""
    return document(export_traces())


def deploy_transaction_search() -> PolicyDocument:
    """What CloudFormation's handler of AWS::XRay::TransactionSearchConfig does with the StackSet
    execution role's credentials: create and keep Transaction Search's own log groups (the
    prerequisites of "Enable transaction search", CloudWatch user guide: logs:CreateLogGroup,
    logs:CreateLogStream and logs:PutRetentionPolicy on aws/spans and
    /aws/application-signals/data). AWS owns their names, so the project's name scope cannot
    cover them; in every region the bootstrap stack set reaches.
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Enable-TransactionSearch.html"""
    return document(
        Statement(
            Sid="TransactionSearchLogGroups",
            Effect=Allow,
            Action=[logs.CreateLogGroup, logs.CreateLogStream, logs.PutRetentionPolicy],
            Resource=[
                arns.arn("logs", f"log-group:{group}{suffix}", region="*") for group in SPAN_LOG_GROUPS for suffix in ("", ":log-stream:*")
            ],
        )
    )


def transaction_search_logs() -> PolicyDocument:
    """X-Ray (for this account and region only) may write spans to Transaction Search's log groups
    ("Using Transaction Search with AWS CloudFormation", CloudWatch user guide). Plain ``${...}``
    patterns: the caller wraps the whole document in one ``Fn::Sub``."""
    return PolicyDocument(
        Version="2012-10-17",
        Statement=[
            Statement(
                Sid="TransactionSearchXRayAccess",
                Effect=Allow,
                Principal=Principal("Service", "xray.amazonaws.com"),
                Action=[logs.PutLogEvents],
                Resource=[arns.arn_pattern("logs", f"log-group:{group}:*") for group in SPAN_LOG_GROUPS],
                Condition=Condition(
                    [
                        ArnLike({"aws:SourceArn": arns.arn_pattern("xray", "*")}),
                        StringEquals({"aws:SourceAccount": "${AWS::AccountId}"}),
                    ]
                ),
            )
        ],
    )
