"""What every bucket of the project shares: SSE-S3, private, owner-enforced, versioned."""

from __future__ import annotations

from troposphere import s3


def private_bucket_properties() -> dict:
    """SSE-S3 rather than the CMK: ALB access logs support nothing else, and the artifact
    bucket's code is not secret (the CMK admits only the data services)."""
    return {
        "BucketEncryption": s3.BucketEncryption(
            ServerSideEncryptionConfiguration=[
                s3.ServerSideEncryptionRule(ServerSideEncryptionByDefault=s3.ServerSideEncryptionByDefault(SSEAlgorithm="AES256"))
            ]
        ),
        "PublicAccessBlockConfiguration": s3.PublicAccessBlockConfiguration(
            BlockPublicAcls=True, BlockPublicPolicy=True, IgnorePublicAcls=True, RestrictPublicBuckets=True
        ),
        "OwnershipControls": s3.OwnershipControls(Rules=[s3.OwnershipControlsRule(ObjectOwnership="BucketOwnerEnforced")]),
        "VersioningConfiguration": s3.VersioningConfiguration(Status="Enabled"),
    }
