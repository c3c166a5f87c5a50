"""Policies for the data tier: the role RDS enhanced monitoring uses to publish metrics."""

from __future__ import annotations

from awacs import sts
from awacs.aws import Allow, Condition, PolicyDocument, Principal, Statement, StringEquals
from troposphere import Ref

from policies import arns

# AWS's own policy for the purpose: it writes only to the RDSOSMetrics log group.
ENHANCED_MONITORING_POLICY = "service-role/AmazonRDSEnhancedMonitoringRole"


def enhanced_monitoring_trust() -> PolicyDocument:
    return PolicyDocument(
        Version="2012-10-17",
        Statement=[
            Statement(
                Sid="RdsMonitoringAssumeRole",
                Effect=Allow,
                Principal=Principal("Service", "monitoring.rds.amazonaws.com"),
                Action=[sts.AssumeRole],
                Condition=Condition(StringEquals({"aws:SourceAccount": Ref("AWS::AccountId")})),
            )
        ],
    )


def enhanced_monitoring_managed_policies() -> list:
    return [arns.aws_managed_policy(ENHANCED_MONITORING_POLICY)]
