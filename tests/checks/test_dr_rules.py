"""The DR cfn-lint rules: each bad case is caught where it is, each good spelling passes.

Every case is a small template with the exact DR findings expected from it, as
(rule id, path); all cases and the project's real rendered templates are linted in one
run through ``checks.lint.lint``, the gate's own entry point, so the rules are tested as
the gate loads them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cfnlint.rules import Rules

from checks.dr_rules._intrinsics import UNKNOWN, render, texts
from checks.lint import DR_RULES, lint
from checks.pipeline import template_files, write_tree

NO_VALUE = {"Ref": "AWS::NoValue"}
PARAMETERS = {
    "RegionRole": {"Type": "String", "AllowedValues": ["primary", "secondary"]},
    "Environment": {"Type": "String", "AllowedValues": ["dev", "prod"]},
    "PeerRegion": {"Type": "String"},
    "Topics": {"Type": "CommaDelimitedList"},
}
CONDITIONS = {
    "IsPrimaryRegion": {"Fn::Equals": [{"Ref": "RegionRole"}, "primary"]},
    "IsSecondaryRegion": {"Fn::Not": [{"Condition": "IsPrimaryRegion"}]},
    "IsProduction": {"Fn::Equals": [{"Ref": "Environment"}, "prod"]},
}


def template(**resources) -> dict:
    return {"Parameters": PARAMETERS, "Conditions": CONDITIONS, "Resources": resources}


def resource(type_: str, condition: str | None = None, **properties) -> dict:
    return {"Type": type_, **({"Condition": condition} if condition else {}), "Properties": properties}


def props(name: str, *rest) -> tuple:
    return ("Resources", name, "Properties", *rest)


def sub(text: str) -> dict:
    return {"Fn::Sub": text}


def if_(condition: str, true, false) -> dict:
    return {"Fn::If": [condition, true, false]}


# --- E9001 / E9002: global database members ------------------------------------------

CREDENTIALS = {
    "MasterUsername": "dbadmin",
    "MasterUserPassword": "{{resolve:ssm-secure:pw}}",
    "DatabaseName": "trading",
}
GLOBAL = resource(
    "AWS::RDS::GlobalCluster", "IsPrimaryRegion", GlobalClusterIdentifier="trading-global", Engine="aurora-postgresql"
)


def cluster(condition=None, **properties) -> dict:
    return resource("AWS::RDS::DBCluster", condition, Engine="aurora-postgresql", **properties)


def guarded(condition: str) -> dict:
    return {key: if_(condition, value, NO_VALUE) for key, value in CREDENTIALS.items()}


JOIN_OR_CREATE = if_("IsPrimaryRegion", {"Ref": "GlobalCluster"}, "trading-global")

CASES = {
    "secondary_with_credentials": (
        template(Cluster=cluster(GlobalClusterIdentifier="trading-global", **CREDENTIALS)),
        [("E9001", props("Cluster", key)) for key in CREDENTIALS],
    ),
    "primary_guarded_like_the_project": (
        template(
            GlobalCluster=GLOBAL, Cluster=cluster(GlobalClusterIdentifier=JOIN_OR_CREATE, **guarded("IsPrimaryRegion"))
        ),
        [],
    ),
    "guarded_by_a_condition_that_does_not_create_the_global_cluster": (
        template(
            GlobalCluster=GLOBAL, Cluster=cluster(GlobalClusterIdentifier=JOIN_OR_CREATE, **guarded("IsProduction"))
        ),
        [("E9001", props("Cluster", key)) for key in CREDENTIALS],
    ),
    "primary_cluster_by_resource_condition": (
        template(
            GlobalCluster=GLOBAL,
            Primary=cluster("IsPrimaryRegion", GlobalClusterIdentifier={"Ref": "GlobalCluster"}, **CREDENTIALS),
            Secondary=cluster("IsSecondaryRegion", GlobalClusterIdentifier="trading-global"),
        ),
        [],
    ),
    "joins_by_name_a_global_cluster_this_stack_creates": (
        template(
            GlobalCluster=resource("AWS::RDS::GlobalCluster", GlobalClusterIdentifier=sub("g-${AWS::StackName}")),
            Cluster={
                **cluster(GlobalClusterIdentifier=sub("g-${AWS::StackName}"), **CREDENTIALS),
                "DependsOn": "GlobalCluster",
            },
        ),
        [],
    ),
    "managed_password_on_a_global_member": (
        template(
            Member=cluster(GlobalClusterIdentifier="trading-global", ManageMasterUserPassword=True),
            Standalone=cluster(ManageMasterUserPassword=True, MasterUsername="dbadmin"),
            Declined=cluster(GlobalClusterIdentifier="trading-global", ManageMasterUserPassword=False),
        ),
        [("E9002", props("Member", "ManageMasterUserPassword"))],
    ),
}

# --- E9003: failover records ---------------------------------------------------------


def record(**properties) -> dict:
    return resource(
        "AWS::Route53::RecordSet", HostedZoneName="example.com.", Name="app.example.com.", Type="A", **properties
    )


ALIAS = {"AliasTarget": {"DNSName": "alb.example.com", "HostedZoneId": "Z1", "EvaluateTargetHealth": True}}
CASES |= {
    "primary_record_without_set_identifier_or_health_check": (
        template(Primary=record(Failover="PRIMARY", **ALIAS)),
        [("E9003", props("Primary", "Failover"))] * 2,
    ),
    "one_record_per_region_like_the_design": (
        template(
            Check=resource("AWS::Route53::HealthCheck", HealthCheckConfig={"Type": "CLOUDWATCH_METRIC"}),
            Record=record(
                Failover=if_("IsPrimaryRegion", "PRIMARY", "SECONDARY"),
                SetIdentifier=sub("app-${AWS::Region}"),
                HealthCheckId=if_("IsPrimaryRegion", {"Ref": "Check"}, NO_VALUE),
                **ALIAS,
            ),
        ),
        [],
    ),
    "health_check_on_the_wrong_condition": (
        template(
            Check=resource("AWS::Route53::HealthCheck", HealthCheckConfig={"Type": "CLOUDWATCH_METRIC"}),
            Record=record(
                Failover=if_("IsPrimaryRegion", "PRIMARY", "SECONDARY"),
                SetIdentifier="app",
                HealthCheckId=if_("IsProduction", {"Ref": "Check"}, NO_VALUE),
                **ALIAS,
            ),
        ),
        [("E9003", props("Record", "Failover"))],
    ),
    "record_set_group": (
        template(
            Group=resource(
                "AWS::Route53::RecordSetGroup",
                HostedZoneName="example.com.",
                RecordSets=[
                    {"Name": "app.example.com.", "Type": "A", "Failover": "SECONDARY", "SetIdentifier": "b", **ALIAS},
                    {"Name": "app.example.com.", "Type": "A", "Failover": "PRIMARY", "SetIdentifier": "a", **ALIAS},
                ],
            )
        ),
        [("E9003", props("Group", "RecordSets", 1, "Failover"))],
    ),
}

# --- E9004 / E9005: texts ------------------------------------------------------------


def policy_role(*statements) -> dict:
    return resource(
        "AWS::IAM::Role",
        AssumeRolePolicyDocument={"Version": "2012-10-17", "Statement": []},
        Policies=[{"PolicyName": "p", "PolicyDocument": {"Version": "2012-10-17", "Statement": list(statements)}}],
    )


def allow(actions, resources) -> dict:
    return {"Effect": "Allow", "Action": actions, "Resource": resources}


def statement_path(name: str, index: int, *rest) -> tuple:
    return props(name, "Policies", 0, "PolicyDocument", "Statement", index, *rest)


FAILOVER = ["rds:FailoverGlobalCluster"]
CASES |= {
    "global_cluster_arn_with_region": (
        template(
            Role=policy_role(
                allow(FAILOVER, [sub("arn:${AWS::Partition}:rds:${AWS::Region}:${AWS::AccountId}:global-cluster:g")]),
                allow(
                    FAILOVER,
                    [
                        {
                            "Fn::Join": [
                                ":",
                                [
                                    "arn",
                                    {"Ref": "AWS::Partition"},
                                    "rds",
                                    {"Ref": "PeerRegion"},
                                    {"Ref": "AWS::AccountId"},
                                    "global-cluster",
                                    "g",
                                ],
                            ]
                        }
                    ],
                ),
                allow(
                    FAILOVER,
                    [
                        {
                            "Fn::Sub": [
                                "arn:${P}:rds:${R}:${AWS::AccountId}:global-cluster:g",
                                {"P": {"Ref": "AWS::Partition"}, "R": {"Ref": "AWS::Region"}},
                            ]
                        }
                    ],
                ),
                allow(FAILOVER, [sub("arn:${AWS::Partition}:rds::${AWS::AccountId}:global-cluster:g")]),
            )
        ),
        [("E9004", statement_path("Role", index, "Resource", 0)) for index in (0, 1, 2)],
    ),
    "hard_coded_partition_account_and_region": (
        template(
            Bucket=resource("AWS::S3::Bucket", BucketName=sub("trading-123456789012-${AWS::Region}")),
            Role=policy_role(
                allow(["s3:GetObject"], ["arn:aws:s3:::trading/*"]),
                allow(["sns:Publish"], [sub("arn:${AWS::Partition}:sns:eu-west-1:${AWS::AccountId}:alerts")]),
                allow(
                    ["s3:GetObject"],
                    [if_("IsProduction", sub("arn:aws-cn:s3:::x/*"), sub("arn:${AWS::Partition}:s3:::x/*"))],
                ),
            ),
            Subnet=resource("AWS::EC2::Subnet", VpcId="vpc-1", CidrBlock="10.0.0.0/24", AvailabilityZone="us-east-1a"),
        ),
        [
            ("E9005", props("Bucket", "BucketName")),
            ("E9005", statement_path("Role", 0, "Resource", 0)),
            ("E9005", statement_path("Role", 1, "Resource", 0)),
            ("E9005", statement_path("Role", 2, "Resource", 0, "Fn::If", 1)),
            ("E9005", props("Subnet", "AvailabilityZone")),
        ],
    ),
    "region_as_a_mapping_key_is_portable": (
        {
            **template(
                Bucket=resource(
                    "AWS::S3::Bucket", BucketName={"Fn::FindInMap": ["Names", {"Ref": "AWS::Region"}, "Bucket"]}
                )
            ),
            "Mappings": {"Names": {"us-east-1": {"Bucket": "east"}, "us-west-2": {"Bucket": "west"}}},
        },
        [],
    ),
}

# --- E9006 / E9007: logs -------------------------------------------------------------

FUNCTION = {"Runtime": "python3.12", "Handler": "index.handler", "Role": "arn", "Code": {"ZipFile": "x"}}


def function(**properties) -> dict:
    return resource("AWS::Lambda::Function", **FUNCTION, **properties)


def log_group(name, **properties) -> dict:
    return resource("AWS::Logs::LogGroup", LogGroupName=name, **properties)


CASES |= {
    "function_without_its_log_group": (
        template(Fn=function(FunctionName="promote"), Other=log_group("/aws/lambda/something-else", RetentionInDays=7)),
        [("E9006", ("Resources", "Fn"))],
    ),
    "function_log_groups_spelled_three_ways": (
        template(
            Named=function(FunctionName=sub("promote-${AWS::Region}")),
            NamedLogs=log_group(sub("/aws/lambda/promote-${AWS::Region}"), RetentionInDays=7),
            Unnamed=function(),
            UnnamedLogs=log_group({"Fn::Join": ["", ["/aws/lambda/", {"Ref": "Unnamed"}]]}, RetentionInDays=7),
            Literal=function(FunctionName="notify"),
            LiteralLogs=log_group(sub("/aws/lambda/${Literal}"), RetentionInDays=7),
        ),
        [],
    ),
    "log_groups_without_retention": (
        template(
            Fn=function(FunctionName="scale"),
            FnLogs=log_group("/aws/lambda/scale"),
            Sometimes=log_group("/trading/sometimes", RetentionInDays=if_("IsProduction", 30, NO_VALUE)),
            Always=log_group("/trading/always", RetentionInDays=if_("IsProduction", 30, 7)),
        ),
        [("E9006", ("Resources", "Fn")), ("E9007", ("Resources", "FnLogs")), ("E9007", ("Resources", "Sometimes"))],
    ),
}

# --- E9008 / E9010: IAM --------------------------------------------------------------

TRUST = {"Version": "2012-10-17", "Statement": []}
CASES |= {
    "iam_names_without_region": (
        template(
            Fixed=resource("AWS::IAM::Role", AssumeRolePolicyDocument=TRUST, RoleName="trading-failover"),
            Regional=resource(
                "AWS::IAM::Role", AssumeRolePolicyDocument=TRUST, RoleName=sub("trading-failover-${AWS::Region}")
            ),
            Policy=resource(
                "AWS::IAM::ManagedPolicy",
                PolicyDocument=TRUST,
                ManagedPolicyName=if_("IsProduction", sub("p-${AWS::Region}"), "p-dev"),
            ),
            Profile=resource(
                "AWS::IAM::InstanceProfile",
                Roles=[{"Ref": "Regional"}],
                InstanceProfileName={"Fn::Join": ["-", ["p", {"Ref": "AWS::Region"}]]},
            ),
            Unnamed=resource("AWS::IAM::Role", AssumeRolePolicyDocument=TRUST),
        ),
        [("E9008", props("Fixed", "RoleName")), ("E9008", props("Policy", "ManagedPolicyName", "Fn::If", 2))],
    ),
    "wildcard_resource_on_typed_actions": (
        template(
            Role=policy_role(
                allow(["logs:CreateLogStream", "logs:PutLogEvents"], ["*"]),
                allow(["xray:PutTraceSegments", "xray:PutTelemetryRecords", "cloudwatch:PutMetricData"], ["*"]),
                {"Effect": "Deny", "Action": ["s3:*"], "Resource": "*"},
                if_("IsProduction", allow("ecs:UpdateService", "*"), NO_VALUE),
                allow(["made-up:Action"], ["*"]),
            ),
            Policy=resource(
                "AWS::IAM::ManagedPolicy",
                PolicyDocument={"Version": "2012-10-17", "Statement": [allow("s3:Get*", "*")]},
            ),
            Key=resource(
                "AWS::KMS::Key",
                KeyPolicy={
                    "Version": "2012-10-17",
                    "Statement": [{**allow(["kms:*"], ["*"]), "Principal": {"AWS": "*"}}],
                },
            ),
        ),
        [
            ("E9010", statement_path("Role", 0, "Resource", 0)),
            ("E9010", statement_path("Role", 3, "Fn::If", 1, "Resource")),
            ("E9010", props("Policy", "PolicyDocument", "Statement", 0, "Resource")),
        ],
    ),
}

# --- E9009: alarm actions ------------------------------------------------------------

ALARM = {
    "MetricName": "AuroraGlobalDBRPOLag",
    "Namespace": "AWS/RDS",
    "Statistic": "Maximum",
    "Period": 60,
    "EvaluationPeriods": 1,
    "Threshold": 60000,
    "ComparisonOperator": "GreaterThanThreshold",
}
HERE = sub("arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:alerts")
THERE = sub("arn:${AWS::Partition}:sns:${PeerRegion}:${AWS::AccountId}:alerts")
CASES |= {
    "alarm_actions_to_another_region": (
        template(
            Topic=resource("AWS::SNS::Topic"),
            Alarm=resource(
                "AWS::CloudWatch::Alarm",
                **ALARM,
                AlarmActions=[HERE, THERE],
                OKActions=[{"Ref": "Topic"}, {"Fn::GetAtt": ["Topic", "TopicArn"]}],
                InsufficientDataActions=[
                    {
                        "Fn::Join": [
                            ":",
                            [
                                "arn",
                                {"Ref": "AWS::Partition"},
                                "sns",
                                {"Ref": "PeerRegion"},
                                {"Ref": "AWS::AccountId"},
                                "t",
                            ],
                        ]
                    }
                ],
            ),
            Composite=resource(
                "AWS::CloudWatch::CompositeAlarm",
                AlarmRule="ALARM(Alarm)",
                AlarmActions=if_("IsPrimaryRegion", [THERE], [HERE]),
                OKActions={"Ref": "Topics"},
            ),
        ),
        [
            ("E9009", props("Alarm", "AlarmActions", 1)),
            ("E9009", props("Alarm", "InsufficientDataActions", 0)),
            ("E9009", props("Composite", "AlarmActions", "Fn::If", 1, 0)),
        ],
    ),
}

# --- W9101-W9103: limits -------------------------------------------------------------


def padded(characters: int) -> dict:
    return {**template(Topic=resource("AWS::SNS::Topic")), "Metadata": {"Padding": "x" * characters}}


CASES |= {
    "near_the_size_limit": (padded(810_000), [("W9101", ())]),
    "under_80_percent_of_the_size_limit": (padded(790_000), []),
    "near_the_resource_limit": (
        {"Resources": {f"Handle{i}": {"Type": "AWS::CloudFormation::WaitConditionHandle"} for i in range(401)}},
        [("W9102", ())],
    ),
    "near_the_dynamic_reference_limit": (
        {**template(Topic=resource("AWS::SNS::Topic")), "Metadata": {"References": ["{{resolve:ssm:p}}"] * 49}},
        [("W9103", ())],
    ),
}

# --- intrinsics the rules cannot read must not crash them ----------------------------

ODD = [
    {"Fn::Sub": 5},
    {"Fn::Sub": ["x"]},
    {"Fn::Join": "x"},
    {"Fn::Join": [",", {"Ref": "Topics"}]},
    {"Fn::If": ["IsProduction"]},
    {"Fn::GetAtt": 3},
    {"Fn::If": ["Missing", "a", "b"]},
    {"Fn::Sub": ["${X}", {"X": {"Fn::ImportValue": "x"}}]},
]
CASES |= {
    "malformed_and_unreadable_intrinsics": (
        template(
            Role=resource("AWS::IAM::Role", AssumeRolePolicyDocument=TRUST, RoleName=ODD[0], Policies=ODD),
            Logs=log_group(ODD[3], RetentionInDays=ODD[4]),
            Fn=function(FunctionName=ODD[7]),
            FnLogs=log_group(sub("/aws/lambda/${X}"), RetentionInDays=7),
            Alarm=resource("AWS::CloudWatch::Alarm", **ALARM, AlarmActions=ODD, OKActions=ODD[2]),
            Record=record(Failover=ODD[6], SetIdentifier=ODD[1]),
            Cluster=cluster(GlobalClusterIdentifier=ODD[7], MasterUsername=ODD[5]),
            Group=resource("AWS::Route53::RecordSetGroup", HostedZoneName="example.com.", RecordSets=ODD[3]),
        ),
        [
            # An unreadable name cannot be shown to carry the region, to name a function's log
            # group, or to be a global cluster this stack creates. (The record's Fn::If names an
            # unknown condition: cfn-lint reports that; the solver offers no scenario to judge.)
            ("E9008", props("Role", "RoleName")),
            ("E9006", ("Resources", "Fn")),
            ("E9001", props("Cluster", "MasterUsername")),
        ],
    ),
}

DR_RULE_IDS = {f"E90{n:02}" for n in range(1, 11)} | {f"W910{n}" for n in range(1, 4)}


@pytest.fixture(scope="module")
def findings(tmp_path_factory, cfg, rendered) -> dict[str, list]:
    """Every case and every real template, linted in one run: findings by file ("cases/NAME", "real/NAME")."""
    directory = tmp_path_factory.mktemp("dr_rules")
    (directory / "cases").mkdir()
    for name, (body, _) in CASES.items():
        (directory / "cases" / f"{name}.json").write_text(json.dumps(body, indent=1))
    write_tree(rendered, directory / "real")
    real = template_files(directory / "real")
    by_file = {path.relative_to(directory).with_suffix("").as_posix(): [] for path in real}
    for match in lint(sorted((directory / "cases").glob("*.json")) + real, cfg.regions):
        by_file.setdefault(Path(match.filename).relative_to(directory).with_suffix("").as_posix(), []).append(match)
    return by_file


def _dr(matches) -> list[tuple[str, tuple]]:
    return sorted((match.rule.id, tuple(match.path)) for match in matches if match.rule.id in DR_RULE_IDS)


@pytest.mark.parametrize("case", CASES)
def test_case_gives_exactly_the_expected_findings(findings, case):
    assert _dr(findings.get(f"cases/{case}", [])) == sorted(CASES[case][1])


def test_no_rule_crashes_on_any_case(findings):
    """cfn-lint turns an exception in a rule into E0002 and carries on; none may occur."""
    crashes = [
        f"{match.filename}: {match.message}"
        for matches in findings.values()
        for match in matches
        if match.rule.id == "E0002"
    ]
    assert crashes == []


def test_real_templates_pass_every_dr_rule(findings):
    real = {name: _dr(matches) for name, matches in findings.items() if name.startswith("real/")}
    assert set(real) >= {"real/bootstrap", "real/regional"}
    assert real == {name: [] for name in real}


def test_every_dr_rule_is_loaded_from_the_directory_and_tested():
    loaded = {rule.id for rule in Rules.create_from_directory(str(DR_RULES)).values()}
    assert loaded == DR_RULE_IDS
    assert {rule_id for _, expected in CASES.values() for rule_id, _ in expected} == DR_RULE_IDS


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (
            {"Fn::Sub": ["arn:${P}:x:${AWS::Region}", {"P": {"Ref": "AWS::Partition"}}]},
            "arn:${AWS::Partition}:x:${AWS::Region}",
        ),
        (
            {"Fn::Join": ["/", ["a", {"Fn::GetAtt": ["Fn", "Arn"]}, {"Fn::Sub": "${AWS::StackName}"}]]},
            "a/${Fn.Arn}/${AWS::StackName}",
        ),
        ({"Fn::Join": ["-", ["a", {"Fn::ImportValue": "x"}]]}, f"a-{UNKNOWN}"),
        ({"Fn::If": ["C", "a", "b"]}, UNKNOWN),
    ],
)
def test_render_gives_the_text_a_value_becomes(value, text):
    assert render(value) == text


def test_texts_reads_a_join_whole_and_the_branches_inside_it():
    join = {"Fn::Join": ["", ["arn:", {"Fn::If": ["C", "aws", {"Ref": "AWS::Partition"}]}, ":s3:::b"]]}
    assert list(texts({"Resource": join})) == [
        (("Resource",), f"arn:{UNKNOWN}:s3:::b"),
        (("Resource", "Fn::Join", 1, 1, "Fn::If", 0), "C"),
        (("Resource", "Fn::Join", 1, 1, "Fn::If", 1), "aws"),
        (("Resource", "Fn::Join", 1, 1, "Fn::If", 2), "${AWS::Partition}"),
    ]
