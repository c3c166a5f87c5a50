"""The artifact bucket's policy: nothing reaches it without TLS."""

from __future__ import annotations

from awacs import s3
from awacs.aws import Allow, ArnLike, Condition, PolicyDocument, Principal, Statement, StringEquals
from troposphere import Ref

from policies import arns
from policies.s3 import deny_insecure_transport


def artifact_bucket(bucket_logical_id: str) -> PolicyDocument:
    """Deny every request to the bucket and its objects that does not use TLS.

    Access itself is granted by IAM (the deployer, CloudFormation, Lambda reading code
    through the caller's permissions), so the bucket policy only forbids.
    """
    return PolicyDocument(Version="2012-10-17", Statement=[deny_insecure_transport(bucket_logical_id)])


def access_log_bucket(log_bucket_logical_id: str, source_bucket_name: str, prefix: str) -> PolicyDocument:
    """TLS only; S3's logging service writes under ``prefix`` for the artifact bucket of this
    account only (S3 user guide, "Enabling Amazon S3 server access logging",
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html)."""
    return PolicyDocument(
        Version="2012-10-17",
        Statement=[
            deny_insecure_transport(log_bucket_logical_id),
            Statement(
                Sid="LoggingServiceWritesArtifactAccessLogs",
                Effect=Allow,
                Principal=Principal("Service", "logging.s3.amazonaws.com"),
                Action=[s3.PutObject],
                Resource=[arns.bucket(f"${{{log_bucket_logical_id}}}/{prefix}*")],
                Condition=Condition(
                    [
                        ArnLike({"aws:SourceArn": arns.bucket(source_bucket_name)}),
                        StringEquals({"aws:SourceAccount": Ref("AWS::AccountId")}),
                    ]
                ),
            ),
        ],
    )
