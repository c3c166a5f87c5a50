"""Keys and security groups: who may reach the database, who may use each region's key."""

from __future__ import annotations

import fnmatch
import json

import pytest
from cloud_radar.cf.unit import Template as ResolvedTemplate

from checks.resolved import resolve_bootstrap
from template_support import resources_of_type
from templates import naming, stackset_roles
from templates.config import Config


def test_database_admits_postgres_from_the_app_only(region_view):
    _, resolved = region_view
    group = resolved["Resources"]["DbSecurityGroup"]["Properties"]
    assert group["SecurityGroupIngress"] == [
        {
            "Description": "PostgreSQL from the app tasks",
            "IpProtocol": "tcp",
            "FromPort": 5432,
            "ToPort": 5432,
            "SourceSecurityGroupId": "AppSecurityGroup",
        }
    ]
    assert [rule["CidrIp"] for rule in group["SecurityGroupEgress"]] == ["255.255.255.255/32"], "no usable egress"
    standalone = resources_of_type(resolved, "AWS::EC2::SecurityGroupIngress").values()
    assert not [rule for rule in standalone if rule["Properties"]["GroupId"] == "DbSecurityGroup"]
    (cluster,) = resources_of_type(resolved, "AWS::RDS::DBCluster").values()
    assert cluster["Properties"]["VpcSecurityGroupIds"] == ["DbSecurityGroup"]


def test_the_app_reaches_only_the_database_and_https(region_view):
    _, resolved = region_view
    group = resolved["Resources"]["AppSecurityGroup"]["Properties"]
    egress = [(r["IpProtocol"], r["FromPort"], r["ToPort"], r.get("CidrIp") or r.get("DestinationSecurityGroupId")) for r in group["SecurityGroupEgress"]]
    standalone = [
        r["Properties"]
        for r in resources_of_type(resolved, "AWS::EC2::SecurityGroupEgress").values()
        if r["Properties"]["GroupId"] == "AppSecurityGroup"
    ]
    egress += [(r["IpProtocol"], r["FromPort"], r["ToPort"], r.get("CidrIp") or r.get("DestinationSecurityGroupId")) for r in standalone]
    assert sorted(egress) == [("tcp", 443, 443, "0.0.0.0/0"), ("tcp", 5432, 5432, "DbSecurityGroup")]


@pytest.fixture(scope="module", params=["us-east-1", "us-west-2"])
def key_view(request, bootstrap):
    region = request.param
    return region, resolve_bootstrap(bootstrap, Config(), region)


def test_each_region_has_a_rotating_retained_key_with_alias_and_export(cfg, key_view):
    _, resolved = key_view
    (key,) = resources_of_type(resolved, "AWS::KMS::Key").values()
    assert key["Properties"]["EnableKeyRotation"] is True
    assert (key["DeletionPolicy"], key["UpdateReplacePolicy"]) == ("RetainExceptOnCreate", "Retain")
    (alias,) = resources_of_type(resolved, "AWS::KMS::Alias").values()
    assert alias["Properties"]["AliasName"] == naming.data_key_alias(cfg).pattern
    assert resolved["Outputs"]["DataKeyArn"]["Export"]["Name"] == naming.data_key_export(cfg).pattern


def _statements(resolved: dict) -> dict[str, dict]:
    (key,) = resources_of_type(resolved, "AWS::KMS::Key").values()
    return {s["Sid"]: s for s in key["Properties"]["KeyPolicy"]["Statement"]}


def test_account_administers_but_cannot_use_the_key_directly(key_view):
    _, resolved = key_view
    statements = _statements(resolved)
    root = f"arn:aws:iam::{ResolvedTemplate.AccountId}:root"
    admin = statements["AccountAdministersKey"]
    # The execution role by name too: its IAM grants wait for the key's tags (up to five minutes).
    deployer = f"arn:aws:iam::{ResolvedTemplate.AccountId}:role/{stackset_roles.execution_role(Config()).for_region(Config().administration_region)}"
    assert admin["Principal"] == {"AWS": [root, deployer]}
    assert not {"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:*"} & set(admin["Action"])
    use = statements["AccountUsesKeyOnlyThroughDataServices"]
    assert use["Principal"] == {"AWS": [root, deployer]}
    assert "kms:Decrypt" in use["Action"]


def test_key_is_usable_only_through_this_regions_data_services(key_view):
    region, resolved = key_view
    statements = _statements(resolved)
    condition = statements["AccountUsesKeyOnlyThroughDataServices"]["Condition"]["StringEquals"]
    assert sorted(condition["kms:ViaService"]) == sorted(
        f"{service}.{region}.amazonaws.com" for service in ("rds", "secretsmanager", "sns", "sqs", "dynamodb", "s3")
    )
    assert condition["kms:CallerAccount"] == ResolvedTemplate.AccountId
    logs = statements["CloudWatchLogsEncryptsThisProjectsLogGroups"]
    assert logs["Principal"] == {"Service": f"logs.{region}.amazonaws.com"}
    allowed = logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    assert f"arn:aws:logs:{region}:{ResolvedTemplate.AccountId}:log-group:*" not in allowed, "not every log group of the region"
    for name in _log_group_names(region):
        arn = f"arn:aws:logs:{region}:{ResolvedTemplate.AccountId}:log-group:{name}"
        assert any(fnmatch.fnmatchcase(arn, pattern) for pattern in allowed), name
    assert not any(fnmatch.fnmatchcase(f"arn:aws:logs:{region}:{ResolvedTemplate.AccountId}:log-group:/payments/app", p) for p in allowed)
    publishers = statements["ServicesDeliverToEncryptedTopicsAndQueues"]
    assert publishers["Condition"]["StringEquals"]["aws:SourceAccount"] == ResolvedTemplate.AccountId
    assert sorted(publishers["Principal"]["Service"]) == [
        "cloudwatch.amazonaws.com",
        "events.amazonaws.com",
        "sns.amazonaws.com",
    ]
    grants = statements["GrantsOnlyForAwsServices"]
    assert (grants["Effect"], grants["Action"], grants["Principal"]) == ("Deny", ["kms:CreateGrant"], {"AWS": "*"})
    assert grants["Condition"] == {"BoolIfExists": {"kms:GrantIsForAWSResource": "false", "aws:PrincipalIsAWSService": "false"}}
    principals = {s["Sid"]: s["Principal"] for s in statements.values()}
    assert len(principals) == 5, "no statement beyond the five reviewed here"


def _log_group_names(region: str) -> list[str]:
    """Every log group the regional template names, as it resolves in ``region``."""
    from templates.config import Config
    from templates.render import render

    document = json.loads(render(Config())["regional.json"])
    names = [r["Properties"]["LogGroupName"] for r in document["Resources"].values() if r["Type"] == "AWS::Logs::LogGroup"]
    resolved = [(n["Fn::Sub"] if isinstance(n, dict) else n).replace("${AWS::Region}", region) for n in names]
    assert resolved
    return resolved


def test_flow_log_group_is_encrypted_with_this_regions_key(region_view):
    from template_support import data_key_arn

    region, resolved = region_view
    assert resolved["Resources"]["VpcFlowLogGroup"]["Properties"]["KmsKeyId"] == data_key_arn(region)


def test_the_health_alerts_key_serves_only_its_topic_and_that_topics_dead_letter_queue(rendered, cfg):
    """Not the data key's policy: no Logs, RDS, Secrets Manager or DynamoDB for a key that encrypts one topic."""
    from template_support import resolve_health_alarms

    resolved = resolve_health_alarms(rendered, cfg)
    region = cfg.route53_metrics_region
    statements = {s["Sid"]: s for s in resolved["Resources"]["HealthAlertsKey"]["Properties"]["KeyPolicy"]["Statement"]}
    assert set(statements) == {
        "AccountAdministersKey", "AccountUsesKeyOnlyThroughDataServices", "GrantsOnlyForAwsServices",
        "ServicesDeliverToEncryptedTopicsAndQueues",
    }
    assert statements["GrantsOnlyForAwsServices"]["Effect"] == "Deny"
    via = statements["AccountUsesKeyOnlyThroughDataServices"]["Condition"]["StringEquals"]["kms:ViaService"]
    assert sorted(via) == [f"sns.{region}.amazonaws.com", f"sqs.{region}.amazonaws.com"]
    publishers = statements["ServicesDeliverToEncryptedTopicsAndQueues"]
    assert sorted(publishers["Principal"]["Service"]) == ["cloudwatch.amazonaws.com", "sns.amazonaws.com"]
    encrypted = {
        r["Properties"].get("KmsMasterKeyId")
        for r in resolved["Resources"].values()
        if r["Type"] in ("AWS::SNS::Topic", "AWS::SQS::Queue")
    }
    assert encrypted == {"HealthAlertsKey.Arn"}, "what the key is granted for is what it encrypts"
