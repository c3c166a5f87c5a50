"""The artifact bucket's policy: nothing reaches it without TLS."""

from __future__ import annotations

from awacs import s3
from awacs.aws import Bool, Condition, Deny, PolicyDocument, Principal, Statement

from policies import arns


def artifact_bucket(bucket_logical_id: str) -> PolicyDocument:
    """Deny every request to the bucket and its objects that does not use TLS.

    Access itself is granted by IAM (the deployer, CloudFormation, Lambda reading code
    through the caller's permissions), so the bucket policy only forbids.
    """
    return PolicyDocument(
        Version="2012-10-17",
        Statement=[
            Statement(
                Sid="DenyInsecureTransport",
                Effect=Deny,
                Principal=Principal("*"),
                Action=[s3.Action("*")],
                Resource=[arns.bucket(f"${{{bucket_logical_id}}}"), arns.bucket(f"${{{bucket_logical_id}}}/*")],
                Condition=Condition(Bool({"aws:SecureTransport": "false"})),
            )
        ],
    )
