"""Policies for the network tier: the role VPC Flow Logs uses to write its log group."""

from __future__ import annotations

from awacs import logs, sts
from awacs.aws import Allow, ArnLike, Condition, PolicyDocument, Principal, Statement, StringEquals
from troposphere import Ref

from policies import arns


def flow_logs_trust() -> PolicyDocument:
    """Only this account's flow logs in this region may assume the role (confused deputy)."""
    return PolicyDocument(
        Version="2012-10-17",
        Statement=[
            Statement(
                Sid="VpcFlowLogsAssumeRole",
                Effect=Allow,
                Principal=Principal("Service", "vpc-flow-logs.amazonaws.com"),
                Action=[sts.AssumeRole],
                Condition=Condition(
                    [
                        StringEquals({"aws:SourceAccount": Ref("AWS::AccountId")}),
                        ArnLike({"aws:SourceArn": arns.flow_logs_in_this_region()}),
                    ]
                ),
            )
        ],
    )


def flow_logs_delivery(log_group_name: str) -> PolicyDocument:
    """Write to the one log group the template owns; it exists, so no CreateLogGroup.

    Resource types per the Service Authorization Reference: DescribeLogStreams acts on
    the log group, CreateLogStream and PutLogEvents on its streams; DescribeLogGroups
    (which the service calls first) supports no resource type.
    """
    return PolicyDocument(
        Version="2012-10-17",
        Statement=[
            Statement(
                Sid="ListLogGroups",
                Effect=Allow,
                Action=[logs.DescribeLogGroups],
                Resource=["*"],
            ),
            Statement(
                Sid="ListOwnLogStreams",
                Effect=Allow,
                Action=[logs.DescribeLogStreams],
                Resource=[arns.log_group(log_group_name)],
            ),
            Statement(
                Sid="WriteOwnLogStreams",
                Effect=Allow,
                Action=[logs.CreateLogStream, logs.PutLogEvents],
                Resource=[arns.log_streams(log_group_name)],
            ),
        ],
    )
