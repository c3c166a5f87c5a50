"""Policies for the data tier: the role RDS enhanced monitoring uses to publish metrics."""

from __future__ import annotations

from awacs.aws import PolicyDocument

from policies import arns
from policies.trust import service_trust

# AWS's own policy for the purpose: it writes only to the RDSOSMetrics log group.
ENHANCED_MONITORING_POLICY = "service-role/AmazonRDSEnhancedMonitoringRole"


def enhanced_monitoring_trust() -> PolicyDocument:
    """aws:SourceAccount, as "Setting up and enabling Enhanced Monitoring", "Protecting against the
    confused deputy problem" shows it (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/USER_Monitoring.OS.Enabling.html)."""
    return service_trust("monitoring.rds.amazonaws.com", sid="RdsMonitoringAssumeRole")


def enhanced_monitoring_managed_policies() -> list:
    return [arns.aws_managed_policy(ENHANCED_MONITORING_POLICY)]
