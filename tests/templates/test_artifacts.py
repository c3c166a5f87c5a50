"""Each region's artifact bucket, as the bootstrap template declares it."""

from __future__ import annotations

from checks.lint import describe, lint
from templates import naming
from templates.artifacts import (
    ARTIFACT_BUCKET,
    ARTIFACT_BUCKET_OUTPUT,
    ARTIFACT_BUCKET_POLICY,
    ARTIFACT_LOG_BUCKET,
    ARTIFACT_LOG_BUCKET_POLICY,
    ARTIFACT_LOG_PREFIX,
    NONCURRENT_VERSION_DAYS,
)
from templates.security import DATA_KEY


def _sub_text(value) -> str:
    return value["Fn::Sub"] if isinstance(value, dict) else value


def test_the_bucket_is_named_per_account_and_region_encrypted_versioned_private_and_kept(bootstrap, cfg):
    bucket = bootstrap["Resources"][ARTIFACT_BUCKET]
    props = bucket["Properties"]

    assert props["BucketName"] == {"Fn::Sub": naming.artifact_bucket(cfg).pattern}
    assert (
        "${AWS::AccountId}" in naming.artifact_bucket(cfg).pattern
        and "${AWS::Region}" in naming.artifact_bucket(cfg).pattern
    )
    (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": {"Fn::GetAtt": [DATA_KEY, "Arn"]}}
    assert rule["BucketKeyEnabled"] is True
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["LoggingConfiguration"] == {"DestinationBucketName": {"Ref": ARTIFACT_LOG_BUCKET}, "LogFilePrefix": ARTIFACT_LOG_PREFIX}
    assert (
        set(props["PublicAccessBlockConfiguration"].values()) == {True}
        and len(props["PublicAccessBlockConfiguration"]) == 4
    )
    assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    (lifecycle,) = props["LifecycleConfiguration"]["Rules"]
    assert lifecycle["Status"] == "Enabled"
    assert lifecycle["NoncurrentVersionExpiration"] == {"NoncurrentDays": NONCURRENT_VERSION_DAYS}
    assert "ExpirationInDays" not in lifecycle, "current objects stay: deployed stacks refer to them"
    assert (bucket["DeletionPolicy"], bucket["UpdateReplacePolicy"]) == ("RetainExceptOnCreate", "Retain")
    assert bootstrap["Outputs"][ARTIFACT_BUCKET_OUTPUT]["Value"] == {"Ref": ARTIFACT_BUCKET}


def test_the_bucket_policy_only_denies_requests_without_tls(bootstrap):
    policy = bootstrap["Resources"][ARTIFACT_BUCKET_POLICY]["Properties"]
    assert policy["Bucket"] == {"Ref": ARTIFACT_BUCKET}
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert (statement["Effect"], statement["Principal"], statement["Action"]) == ("Deny", "*", ["s3:*"])
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert [_sub_text(arn) for arn in statement["Resource"]] == [
        f"arn:${{AWS::Partition}}:s3:::${{{ARTIFACT_BUCKET}}}",
        f"arn:${{AWS::Partition}}:s3:::${{{ARTIFACT_BUCKET}}}/*",
    ]


def test_only_s3_logging_for_the_artifact_bucket_writes_its_sse_s3_log_bucket(bootstrap, cfg):
    log_bucket = bootstrap["Resources"][ARTIFACT_LOG_BUCKET]
    (rule,) = log_bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}, "a log destination takes SSE-S3 only"
    assert log_bucket["DeletionPolicy"] == "Retain"
    statements = {s["Sid"]: s for s in bootstrap["Resources"][ARTIFACT_LOG_BUCKET_POLICY]["Properties"]["PolicyDocument"]["Statement"]}
    writer = statements["LoggingServiceWritesArtifactAccessLogs"]
    assert (writer["Principal"], writer["Action"]) == ({"Service": "logging.s3.amazonaws.com"}, ["s3:PutObject"])
    assert [_sub_text(arn) for arn in writer["Resource"]] == [f"arn:${{AWS::Partition}}:s3:::${{{ARTIFACT_LOG_BUCKET}}}/{ARTIFACT_LOG_PREFIX}*"]
    assert _sub_text(writer["Condition"]["ArnLike"]["aws:SourceArn"]) == f"arn:${{AWS::Partition}}:s3:::{naming.artifact_bucket(cfg).pattern}"
    assert writer["Condition"]["StringEquals"]["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}
    assert statements["DenyInsecureTransport"]["Effect"] == "Deny"


def test_the_bootstrap_template_with_the_bucket_lints_clean_in_both_regions(rendered, cfg, tmp_path):
    path = tmp_path / "bootstrap.json"
    path.write_bytes(rendered["bootstrap.json"])

    assert [describe(match, tmp_path) for match in lint([path], cfg.regions)] == []
