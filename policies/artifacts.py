"""The artifact bucket's policy: nothing reaches it without TLS."""

from __future__ import annotations

from awacs.aws import PolicyDocument

from policies.s3 import deny_insecure_transport


def artifact_bucket(bucket_logical_id: str) -> PolicyDocument:
    """Deny every request to the bucket and its objects that does not use TLS.

    Access itself is granted by IAM (the deployer, CloudFormation, Lambda reading code
    through the caller's permissions), so the bucket policy only forbids.
    """
    return PolicyDocument(Version="2012-10-17", Statement=[deny_insecure_transport(bucket_logical_id)])
