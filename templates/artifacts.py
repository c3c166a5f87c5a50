"""Each region's artifact bucket, created by the bootstrap stack set.

Lambda reads its code from a bucket in its own region, so every region has one, named
deterministically (``naming.artifact_bucket``) so the deployer finds it without
outputs. Objects are keyed by content hash and never overwritten; versioning guards
against mistakes and the lifecycle rule cleans up after them. Encryption is SSE-S3:
the code is not secret, and the region's data key admits only the data services, so
SSE-KMS would need CloudFormation, Lambda and the deployer added to its policy.
"""

from __future__ import annotations

from troposphere import Output, Ref, Template, s3

from policies.artifacts import artifact_bucket as artifact_bucket_policy
from templates import naming
from templates.buckets import private_bucket_properties
from templates.config import Config
from templates.suppressions import checkov_skip

ARTIFACT_BUCKET = "ArtifactBucket"
ARTIFACT_BUCKET_POLICY = "ArtifactBucketPolicy"
ARTIFACT_BUCKET_OUTPUT = "ArtifactBucketName"
# How long a replaced or deleted object stays recoverable.
NONCURRENT_VERSION_DAYS = 30
INCOMPLETE_UPLOAD_DAYS = 1


def add_artifact_bucket(t: Template, cfg: Config) -> None:
    """The bucket (encrypted, versioned, private, TLS only), kept when the stack goes."""
    t.add_resource(
        s3.Bucket(
            ARTIFACT_BUCKET,
            BucketName=naming.artifact_bucket(cfg).value(),
            **private_bucket_properties(),
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
            Metadata=checkov_skip(
                {
                    "CKV_AWS_18": "Non-secret, content-hashed Lambda code only (versioned, TLS-only); object-level "
                    "auditing belongs to the account's CloudTrail data events"
                }
            ),
            # Deployed stacks' Lambda functions and stack set templates point into it.
            # Its name is fixed: a bucket kept by a failed first create would make the retry fail.
            # Empty until the create has succeeded (deploy uploads after it), so the rollback can delete it.
            DeletionPolicy="RetainExceptOnCreate",
            UpdateReplacePolicy="Retain",
        )
    )
    t.add_resource(
        s3.BucketPolicy(
            ARTIFACT_BUCKET_POLICY,
            Bucket=Ref(ARTIFACT_BUCKET),
            PolicyDocument=artifact_bucket_policy(ARTIFACT_BUCKET),
        )
    )
    t.add_output(
        Output(ARTIFACT_BUCKET_OUTPUT, Description="This region's artifact bucket", Value=Ref(ARTIFACT_BUCKET))
    )
