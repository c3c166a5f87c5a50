"""Statements every bucket policy of the project shares."""

from __future__ import annotations

from awacs import s3
from awacs.aws import Bool, Condition, Deny, PolicyDocument, Principal, Statement

from policies import arns


def deny_insecure_transport(bucket_logical_id: str) -> Statement:
    """Nothing reaches the bucket or its objects without TLS."""
    return Statement(
        Sid="DenyInsecureTransport",
        Effect=Deny,
        Principal=Principal("*"),
        Action=[s3.Action("*")],
        Resource=[arns.bucket(f"${{{bucket_logical_id}}}"), arns.bucket(f"${{{bucket_logical_id}}}/*")],
        Condition=Condition(Bool({"aws:SecureTransport": "false"})),
    )


def tls_only(bucket_logical_id: str) -> PolicyDocument:
    """A bucket policy that only forbids: every request without TLS. Access itself is granted
    by IAM (the deployer, CloudFormation, Lambda, the runbook's report step)."""
    return PolicyDocument(Version="2012-10-17", Statement=[deny_insecure_transport(bucket_logical_id)])
