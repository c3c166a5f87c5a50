"""What every bucket of the project shares: private, owner-enforced, versioned, encrypted."""

from __future__ import annotations

from troposphere import Ref, Template, s3

from templates.config import Config
from templates.suppressions import checkov_skip, guard_suppress, merged


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


LOG_BUCKET_REASON = "This bucket is an access-log destination; logging access to a log bucket needs yet another log bucket"
NO_EVENTS_REASON = "nothing consumes this bucket's events: objects are read by key (code) or by people (logs)"


def log_bucket_metadata() -> dict:
    """Why the scanners' bucket checks do not apply to an access-log destination."""
    return merged(
        checkov_skip({"CKV_AWS_18": LOG_BUCKET_REASON}),
        guard_suppress(
            {
                "S3_BUCKET_LOGGING_ENABLED_CHECK": LOG_BUCKET_REASON,
                "S3_BUCKET_DEFAULT_ENCRYPTION_KMS_CHECK": "an access-log destination supports SSE-S3 only (S3 server "
                "access logs; ELB access logs)",
                "S3_BUCKET_OBJECT_LOCK_ENABLED_CHECK": "logs expire by lifecycle after logs.access_log_expiration_days; "
                "immutable retention of audit records is the account's log archive's (CloudTrail) job",
                "S3_EVENT_NOTIFICATIONS_ENABLED_CHECK": NO_EVENTS_REASON,
            }
        ),
    )


def tls_only_policy_metadata() -> dict:
    """A bucket policy whose first statement denies every request without TLS."""
    return guard_suppress(
        {
            "S3_BUCKET_POLICY_SSL_REQUESTS_ONLY_CHECK": "DenyInsecureTransport is exactly that statement (Deny s3:* to * "
            "unless aws:SecureTransport); the rule recognises the bucket's ARNs only as Fn::GetAtt/Fn::Join, the "
            "template writes them with Fn::Sub"
        }
    )


def add_log_bucket(t: Template, cfg: Config, logical_id: str, policy_id: str, policy) -> None:
    """An access-log destination (SSE-S3, expiring, kept when the stack goes: access logs are
    audit records) and its policy ``policy`` (who may write)."""
    t.add_resource(
        s3.Bucket(
            logical_id,
            **private_bucket_properties(),
            LifecycleConfiguration=access_log_lifecycle(cfg),
            Metadata=log_bucket_metadata(),
            DeletionPolicy="Retain",
            UpdateReplacePolicy="Retain",
        )
    )
    add_tls_only_policy(t, policy_id, logical_id, policy)


def add_tls_only_policy(t: Template, policy_id: str, bucket_id: str, policy) -> None:
    """A bucket policy whose first statement denies every request without TLS."""
    t.add_resource(s3.BucketPolicy(policy_id, Metadata=tls_only_policy_metadata(), Bucket=Ref(bucket_id), PolicyDocument=policy))
