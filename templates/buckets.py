"""What every bucket of the project shares: private, owner-enforced, versioned, encrypted."""

from __future__ import annotations

from troposphere import s3

from templates.config import Config


def private_bucket_properties(kms_key=None) -> dict:
    """SSE-S3 unless ``kms_key`` (an ARN) is given: ALB access logs and S3 server access logs
    support nothing else in their destination bucket; the artifact bucket takes the region's
    data key (with an S3 Bucket Key, one KMS call per object rather than per request)."""
    default = (
        s3.ServerSideEncryptionByDefault(SSEAlgorithm="aws:kms", KMSMasterKeyID=kms_key)
        if kms_key
        else s3.ServerSideEncryptionByDefault(SSEAlgorithm="AES256")
    )
    rule = s3.ServerSideEncryptionRule(ServerSideEncryptionByDefault=default, **({"BucketKeyEnabled": True} if kms_key else {}))
    return {
        "BucketEncryption": s3.BucketEncryption(ServerSideEncryptionConfiguration=[rule]),
        "PublicAccessBlockConfiguration": s3.PublicAccessBlockConfiguration(
            BlockPublicAcls=True, BlockPublicPolicy=True, IgnorePublicAcls=True, RestrictPublicBuckets=True
        ),
        "OwnershipControls": s3.OwnershipControls(Rules=[s3.OwnershipControlsRule(ObjectOwnership="BucketOwnerEnforced")]),
        "VersioningConfiguration": s3.VersioningConfiguration(Status="Enabled"),
    }


def access_log_lifecycle(cfg: Config) -> s3.LifecycleConfiguration:
    """Access logs expire after ``logs.access_log_expiration_days``."""
    return s3.LifecycleConfiguration(
        Rules=[
            s3.LifecycleRule(
                Id="expire-access-logs",
                Status="Enabled",
                ExpirationInDays=cfg.logs.access_log_expiration_days,
                NoncurrentVersionExpiration=s3.NoncurrentVersionExpiration(NoncurrentDays=1),
            )
        ]
    )


# A log bucket logs nowhere itself (checkov's CKV_AWS_18).
LOG_BUCKET_REASON = "This bucket is an access-log destination; logging access to a log bucket needs yet another log bucket"
