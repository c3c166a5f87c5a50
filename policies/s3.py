"""Statements every bucket policy of the project shares."""

from __future__ import annotations

from awacs import s3
from awacs.aws import Bool, Condition, Deny, Principal, Statement

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
