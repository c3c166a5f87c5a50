"""Each region's artifact bucket, created by the bootstrap stack set.

Lambda reads its code from a bucket in its own region, so every region has one, named
deterministically (``naming.artifact_bucket``) so the deployer finds it without
outputs. Objects are keyed by content hash and never overwritten; versioning guards
against mistakes and the lifecycle rule cleans up after them. Objects are encrypted with
the region's data key: the deployer's upload, CloudFormation's template read and Lambda's
code read all reach the key through S3 (``kms:ViaService``), which its policy admits for
this account's principals. Every request is logged (S3 server access logs) to a log bucket
beside it, SSE-S3 because a log destination supports nothing else.
"""

from __future__ import annotations

from troposphere import GetAtt, Output, Ref, Template, s3

from policies.artifacts import access_log_bucket as access_log_bucket_policy
from policies.s3 import tls_only
from templates import naming
from templates.buckets import NO_EVENTS_REASON, add_log_bucket, add_tls_only_policy, private_bucket_properties
from templates.config import Config
from templates.security import DATA_KEY
from templates.suppressions import guard_suppress

ARTIFACT_BUCKET = "ArtifactBucket"
ARTIFACT_BUCKET_POLICY = "ArtifactBucketPolicy"
ARTIFACT_LOG_BUCKET = "ArtifactAccessLogBucket"
ARTIFACT_LOG_BUCKET_POLICY = "ArtifactAccessLogBucketPolicy"
ARTIFACT_LOG_PREFIX = "artifacts/"
# The report bucket (templates/reports.py) logs its requests beside the artifact bucket's.
REPORT_LOG_PREFIX = "reports/"
ARTIFACT_BUCKET_OUTPUT = "ArtifactBucketName"
# How long a replaced or deleted object stays recoverable.
NONCURRENT_VERSION_DAYS = 30
INCOMPLETE_UPLOAD_DAYS = 1


def add_artifact_bucket(t: Template, cfg: Config) -> None:
    """The bucket (encrypted with the data key, versioned, private, TLS only, access logged),
    kept when the stack goes."""
    _add_access_log_bucket(t, cfg)
    t.add_resource(
        s3.Bucket(
            ARTIFACT_BUCKET,
            BucketName=naming.artifact_bucket(cfg).value(),
            DependsOn=ARTIFACT_LOG_BUCKET_POLICY,  # S3 delivers logs only where the policy lets it
            Metadata=guard_suppress(
                {
                    "S3_BUCKET_OBJECT_LOCK_ENABLED_CHECK": "objects are content-addressed and never overwritten; "
                    "versioning keeps 30 days of history, and locking would keep every superseded function zip",
                    "S3_EVENT_NOTIFICATIONS_ENABLED_CHECK": NO_EVENTS_REASON,
                }
            ),
            **private_bucket_properties(GetAtt(DATA_KEY, "Arn")),
            LoggingConfiguration=s3.LoggingConfiguration(
                DestinationBucketName=Ref(ARTIFACT_LOG_BUCKET), LogFilePrefix=ARTIFACT_LOG_PREFIX
            ),
            LifecycleConfiguration=s3.LifecycleConfiguration(
                Rules=[
                    s3.LifecycleRule(
                        Id="expire-noncurrent-versions",
                        Status="Enabled",
                        NoncurrentVersionExpiration=s3.NoncurrentVersionExpiration(
                            NoncurrentDays=NONCURRENT_VERSION_DAYS
                        ),
                        AbortIncompleteMultipartUpload=s3.AbortIncompleteMultipartUpload(
                            DaysAfterInitiation=INCOMPLETE_UPLOAD_DAYS
                        ),
                    )
                ]
            ),
            # Deployed stacks' Lambda functions and stack set templates point into it.
            # Its name is fixed: a bucket kept by a failed first create would make the retry fail.
            # Empty until the create has succeeded (deploy uploads after it), so the rollback can delete it.
            DeletionPolicy="RetainExceptOnCreate",
            UpdateReplacePolicy="Retain",
        )
    )
    add_tls_only_policy(t, ARTIFACT_BUCKET_POLICY, ARTIFACT_BUCKET, tls_only(ARTIFACT_BUCKET))
    t.add_output(
        Output(ARTIFACT_BUCKET_OUTPUT, Description="This region's artifact bucket", Value=Ref(ARTIFACT_BUCKET))
    )


def _add_access_log_bucket(t: Template, cfg: Config) -> None:
    """Where S3 logs every request to the artifact and report buckets (S3 user guide, "Enabling
    Amazon S3 server access logging": SSE-S3 only in the destination, written by the logging
    service principal for the source bucket's ARN and account)."""
    add_log_bucket(
        t, cfg, ARTIFACT_LOG_BUCKET, ARTIFACT_LOG_BUCKET_POLICY,
        access_log_bucket_policy(ARTIFACT_LOG_BUCKET, {
            "Artifact": (ARTIFACT_LOG_PREFIX, naming.artifact_bucket(cfg).pattern),
            "Report": (REPORT_LOG_PREFIX, naming.report_bucket(cfg).pattern),
        }),
    )
