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
