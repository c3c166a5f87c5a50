"""Each region's failover report bucket, as the bootstrap template declares it."""

from __future__ import annotations

import json

import pytest

from templates import naming
from templates.artifacts import ARTIFACT_LOG_BUCKET, ARTIFACT_LOG_BUCKET_POLICY, REPORT_LOG_PREFIX
from templates.config import Config, ConfigError, ReportsConfig, config_from_mapping
from templates.render import render
from templates.reports import REPORT_BUCKET, REPORT_BUCKET_POLICY, report_keys
from templates.security import DATA_KEY


def test_the_bucket_is_encrypted_versioned_private_logged_expiring_and_kept(bootstrap, cfg):
    bucket = bootstrap["Resources"][REPORT_BUCKET]
    props = bucket["Properties"]
    assert props["BucketName"] == {"Fn::Sub": naming.report_bucket(cfg).pattern}
    (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": {"Fn::GetAtt": [DATA_KEY, "Arn"]}}
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert set(props["PublicAccessBlockConfiguration"].values()) == {True} and len(props["PublicAccessBlockConfiguration"]) == 4
    assert props["LoggingConfiguration"] == {"DestinationBucketName": {"Ref": ARTIFACT_LOG_BUCKET}, "LogFilePrefix": REPORT_LOG_PREFIX}
    lifecycle, markers = props["LifecycleConfiguration"]["Rules"]
    days = cfg.reports.retention_days
    assert (lifecycle["ExpirationInDays"], lifecycle["NoncurrentVersionExpiration"]) == (days, {"NoncurrentDays": days})
    # Delete markers left once their versions expired go too (a rule of its own: S3 refuses it beside Days).
    assert markers == {"Id": "remove-expired-delete-markers", "Status": "Enabled", "ExpiredObjectDeleteMarker": True}
    assert "ObjectLockEnabled" not in props and "ObjectLockConfiguration" not in props, "off by default"
    assert (bucket["DeletionPolicy"], bucket["UpdateReplacePolicy"]) == ("RetainExceptOnCreate", "Retain")


def test_the_bucket_policy_denies_requests_without_tls_and_s3_logs_its_requests(bootstrap, cfg):
    (statement,) = bootstrap["Resources"][REPORT_BUCKET_POLICY]["Properties"]["PolicyDocument"]["Statement"]
    assert (statement["Effect"], statement["Action"], statement["Condition"]) == ("Deny", ["s3:*"], {"Bool": {"aws:SecureTransport": "false"}})
    statements = {s["Sid"]: s for s in bootstrap["Resources"][ARTIFACT_LOG_BUCKET_POLICY]["Properties"]["PolicyDocument"]["Statement"]}
    writer = statements["LoggingServiceWritesReportAccessLogs"]
    assert writer["Condition"]["ArnLike"]["aws:SourceArn"] == {"Fn::Sub": f"arn:${{AWS::Partition}}:s3:::{naming.report_bucket(cfg).pattern}"}
    assert writer["Resource"] == [{"Fn::Sub": f"arn:${{AWS::Partition}}:s3:::${{{ARTIFACT_LOG_BUCKET}}}/{REPORT_LOG_PREFIX}*"}]


@pytest.mark.parametrize("mode", ["GOVERNANCE", "COMPLIANCE"])
def test_object_lock_is_a_default_retention_in_the_configured_mode(mode):
    cfg = Config(reports=ReportsConfig(retention_days=400, object_lock_days=366, object_lock_mode=mode))
    props = json.loads(render(cfg)["bootstrap.json"])["Resources"][REPORT_BUCKET]["Properties"]
    assert props["ObjectLockEnabled"] is True
    assert props["ObjectLockConfiguration"] == {"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": mode, "Days": 366}}}
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}, "Object Lock needs versioning"
    assert props["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == 400


@pytest.mark.parametrize("reports, field_path, rule", [
    ({"retention_days": 0}, "reports.retention_days", "must be from 1 to 36500"),
    ({"retention_days": 30, "object_lock_days": 31}, "reports.object_lock_days", "to retention_days (30)"),
    ({"object_lock_days": -1}, "reports.object_lock_days", "must be from 0 to 36500"),
    ({"object_lock_mode": "LEGAL_HOLD"}, "reports.object_lock_mode", "one of 'GOVERNANCE', 'COMPLIANCE'"),
    ({"object_lock_days": "7"}, "reports.object_lock_days", "must be an integer"),
])
def test_bad_report_settings_name_the_field(reports, field_path, rule):
    with pytest.raises(ConfigError) as caught:
        config_from_mapping({"reports": reports})
    assert str(caught.value).startswith(f"{field_path}: ") and rule in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_runs_report_keys_are_under_the_prefix_the_step_may_write():
    assert report_keys("drill-1") == ("reports/drill-1.json", "reports/drill-1.html")
