"""The access log bucket's policy: TLS only, written by S3's logging service for the project's buckets."""

from __future__ import annotations

from awacs import s3
from awacs.aws import Allow, ArnLike, Condition, PolicyDocument, Principal, Statement, StringEquals
from troposphere import Ref

from policies import arns
from policies.s3 import deny_insecure_transport


def access_log_bucket(log_bucket_logical_id: str, sources: dict[str, tuple[str, str]]) -> PolicyDocument:
    """TLS only; S3's logging service writes under each prefix of ``sources`` (a word for the
    statement's Sid -> (prefix, source bucket name)) for that bucket of this account only (S3 user guide, "Enabling Amazon S3 server
    access logging", https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html)."""
    return PolicyDocument(
        Version="2012-10-17",
        Statement=[
            deny_insecure_transport(log_bucket_logical_id),
            *(
                Statement(
                    Sid=f"LoggingServiceWrites{word}AccessLogs",
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
                )
                for word, (prefix, source_bucket_name) in sources.items()
            ),
        ],
    )
