"""Policies for the network tier: the role VPC Flow Logs uses to write its log group."""

from __future__ import annotations

from awacs import logs
from awacs.aws import Allow, PolicyDocument, Statement

from policies import arns
from policies.trust import service_trust


def flow_logs_trust() -> PolicyDocument:
    """Only this account's flow logs in this region may assume the role: the conditions "IAM role for
    publishing flow logs to CloudWatch Logs" recommends
    (https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html)."""
    return service_trust("vpc-flow-logs.amazonaws.com", arns.flow_logs_in_this_region(), sid="VpcFlowLogsAssumeRole")


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
