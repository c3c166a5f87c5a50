"""The IAM proof: real actions, ARNs of the types those actions take, "*" only where none exists."""

from __future__ import annotations

import json

from checks import iam_proof

SUB = "Fn::Sub"
TOPIC_ARN = {SUB: "arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:alerts"}
GLOBAL_CLUSTER_ARN = {SUB: "arn:${AWS::Partition}:rds::${AWS::AccountId}:global-cluster:trading-dev-global"}
CLUSTER_ARN = {SUB: "arn:${AWS::Partition}:rds:${PeerRegion}:${AWS::AccountId}:cluster:trading-dev-aurora-peer"}
STREAMS_ARN = {SUB: "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/f:log-stream:*"}


def statement(actions, resources="*", **extra) -> dict:
    return {"Sid": "Probe", "Effect": "Allow", "Action": actions, "Resource": resources, **extra}


def prove(tmp_path, *statements, trust="sts:AssumeRole", metadata=None, others=None) -> list[tuple[str, str, str]]:
    """(action, ARN, problem) of each finding for a role trusting by ``trust`` and holding ``statements``."""
    trusted = {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": trust}
    role = {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {"Statement": [trusted]},
            "Policies": [{"PolicyName": "probe", "PolicyDocument": {"Statement": list(statements)}}],
        },
        **({"Metadata": metadata} if metadata else {}),
    }
    resources = {"Role": role, "Topic": {"Type": "AWS::SNS::Topic"}, "Queue": {"Type": "AWS::SQS::Queue"}}
    (tmp_path / "probe.json").write_text(json.dumps({"Resources": {**resources, **(others or {})}}))
    return [(f.action, f.arn, f.problem) for f in iam_proof.prove(tmp_path)]


def test_unknown_actions_and_services_are_named(tmp_path):
    assert prove(tmp_path, statement(["sns:Publsh", "snz:Publish", "sns:Pub*x"], [{"Ref": "Topic"}])) == [
        ("sns:Publsh", "", "no such action"),
        ("snz:Publish", "", "unknown service prefix 'snz'"),
        ("sns:Pub*x", "", "matches no action"),
    ]


def test_trust_policies_are_proven_for_their_actions(tmp_path):
    assert prove(tmp_path, trust="sts:AssumeRoel") == [("sts:AssumeRoel", "", "no such action")]
    assert [finding.sid for finding in iam_proof.prove(tmp_path)] == ["#0"], "a statement without Sid: its index"


def test_an_arn_of_the_wrong_resource_type_is_flagged(tmp_path):
    assert prove(tmp_path, statement(["sns:Publish"], [{"Fn::GetAtt": ["Queue", "Arn"]}])) == [
        ("sns:Publish", "${Queue.Arn}", "not an ARN of a type these actions support (topic)")
    ]


def test_a_ref_that_is_not_an_arn_is_flagged(tmp_path):
    assert prove(tmp_path, statement(["sqs:SendMessage"], [{"Ref": "Queue"}])) == [
        ("sqs:SendMessage", "${Queue}", "Ref of AWS::SQS::Queue is not its ARN: use Fn::GetAtt Arn")
    ]


def test_references_and_sub_patterns_of_the_right_type_pass(tmp_path):
    assert prove(
        tmp_path,
        statement(["sns:Publish"], [{"Ref": "Topic"}, TOPIC_ARN]),
        statement(["sqs:SendMessage", "sqs:GetQueueAttributes"], [{"Fn::GetAtt": ["Queue", "Arn"]}]),
        statement(["logs:CreateLogStream", "logs:PutLogEvents"], [STREAMS_ARN]),
        statement(["s3:GetObject"], [{SUB: "arn:${AWS::Partition}:s3:::${Bucket}/lambdas/*"}]),
    ) == []


def test_a_global_cluster_arn_with_a_region_is_not_a_global_cluster(tmp_path):
    regional = {SUB: "arn:${AWS::Partition}:rds:${AWS::Region}:${AWS::AccountId}:global-cluster:trading-dev-global"}
    ((action, arn, problem),) = prove(tmp_path, statement(["rds:DescribeGlobalClusters"], [regional]))
    assert problem == "not an ARN of a type these actions support (global-cluster)"


def test_an_action_needs_every_resource_type_it_requires(tmp_path):
    """Seed defect 2: FailoverGlobalCluster is authorised on the global cluster AND its member clusters."""
    assert prove(tmp_path, statement(["rds:FailoverGlobalCluster"], [GLOBAL_CLUSTER_ARN])) == [
        ("rds:FailoverGlobalCluster", GLOBAL_CLUSTER_ARN[SUB], "no resource of its required type(s) cluster")
    ]
    assert prove(tmp_path, statement(["rds:FailoverGlobalCluster"], [GLOBAL_CLUSTER_ARN, CLUSTER_ARN])) == []


def test_an_action_granted_nothing_among_other_actions_resources_is_flagged(tmp_path):
    assert prove(tmp_path, statement(["sns:Publish", "sqs:SendMessage"], [{"Ref": "Topic"}])) == [
        ("sqs:SendMessage", "${Topic}", "no resource of its required type(s) queue")
    ]


def test_star_only_for_actions_without_a_resource_type(tmp_path):
    assert prove(tmp_path, statement(["logs:DescribeLogGroups", "xray:PutTraceSegments"])) == []
    assert prove(tmp_path, statement(["s3:GetObject", "xray:PutTraceSegments"])) == [
        ("s3:GetObject", "*", '"*" but it supports resource types (accesspointobject, object): name the resources')
    ]


def test_put_metric_data_on_star_needs_its_namespace_condition(tmp_path):
    assert prove(tmp_path, statement(["cloudwatch:PutMetricData"])) == [
        ("cloudwatch:PutMetricData", "*", '"*" without a cloudwatch:namespace condition: name what it may act on')
    ]
    namespace = {"StringEquals": {"cloudwatch:namespace": "trading-dev/Failover"}}
    scoped = statement(["cloudwatch:PutMetricData"], Condition=namespace)
    assert prove(tmp_path, scoped) == []


def test_the_lint_rule_of_the_same_meaning_exempts_a_documented_service_wide_grant(tmp_path):
    wide = statement(["ec2:*"])
    assert prove(tmp_path, wide)[0][2].startswith('"*" but it supports resource types')
    assert prove(tmp_path, wide, metadata={"cfn-lint": {"config": {"ignore_checks": ["E9010"]}}}) == []


def test_star_in_a_resource_policy_is_the_resource_it_is_attached_to(tmp_path):
    key_policy = {"Statement": [{**statement(["kms:Decrypt"]), "Principal": {"AWS": "*"}}]}
    assert prove(tmp_path, others={"Key": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": key_policy}}}) == []


def test_an_imported_arn_has_the_type_of_the_exported_resource(tmp_path):
    export = {"Value": {"Fn::GetAtt": ["Key", "Arn"]}, "Export": {"Name": "data-key-arn"}}
    (tmp_path / "exporter.json").write_text(
        json.dumps({"Resources": {"Key": {"Type": "AWS::KMS::Key"}}, "Outputs": {"KeyArn": export}})
    )
    imported = {"Fn::ImportValue": "data-key-arn"}
    assert prove(tmp_path, statement(["kms:Decrypt"], [imported])) == []
    assert prove(tmp_path, statement(["sns:Publish"], [imported])) == [
        ("sns:Publish", "import data-key-arn", "not an ARN of a type these actions support (topic)")
    ]


def test_rendered_policies_hold(rendered_dir):
    assert iam_proof.prove(rendered_dir) == []


def test_main_tables_the_findings_and_fails(tmp_path, capsys):
    prove(tmp_path, statement(["sns:Publish"], [{"Fn::GetAtt": ["Queue", "Arn"]}]))
    assert iam_proof.main(tmp_path) == 1
    out, err = capsys.readouterr()
    header, _, row = out.splitlines()
    assert header.split() == ["template", "resource", "statement", "action", "resource", "ARN", "problem"]
    assert row.split()[:5] == ["probe.json", "Role", "Probe", "sns:Publish", "${Queue.Arn}"]
    assert "1 problem(s)" in err


def test_main_passes_the_rendered_output(rendered_dir, capsys):
    assert iam_proof.main(rendered_dir) == 0
    assert "holds" in capsys.readouterr().out


def test_a_folder_without_templates_proves_nothing(tmp_path, capsys):
    assert iam_proof.main(tmp_path) == 2
    assert "holds no templates" in capsys.readouterr().err


def _deployment_findings(tmp_path, rendered, change) -> list[tuple[str, str]]:
    """(action, problem) of the deployment proof after ``change(documents)`` edits the rendered templates."""
    from checks.pipeline import write_tree

    write_tree(rendered, tmp_path)
    documents = {name: json.loads((tmp_path / name).read_text()) for name in ("regional.json", "stackset_execution_role.json")}
    change(documents)
    for name, document in documents.items():
        (tmp_path / name).write_text(json.dumps(document))
    return [(f.action, f.problem) for f in iam_proof.prove_deployment(tmp_path)]


def _first_execution_policy(documents) -> dict:
    return documents["stackset_execution_role.json"]["Resources"]["ExecutionPermissions1"]["Properties"]["PolicyDocument"]


def test_the_rendered_execution_role_grants_exactly_what_the_deployed_types_need(tmp_path, rendered):
    assert _deployment_findings(tmp_path, rendered, lambda documents: None) == []


def test_an_action_no_deployed_type_needs_is_caught(tmp_path, rendered):
    def add_unused(documents):
        _first_execution_policy(documents)["Statement"][0]["Action"].append("ec2:RunInstances")

    assert _deployment_findings(tmp_path, rendered, add_unused) == [
        ("ec2:RunInstances", "no resource type of the deployed templates needs it")
    ]


def test_a_wildcard_action_is_caught(tmp_path, rendered):
    def widen(documents):
        _first_execution_policy(documents)["Statement"][0]["Action"].append("ec2:*")

    assert ("ec2:*", "a wildcard action: name each action") in _deployment_findings(tmp_path, rendered, widen)


def test_a_resource_type_the_role_does_not_cover_is_caught(tmp_path, rendered):
    def add_type(documents):
        documents["regional.json"]["Resources"]["Parameter"] = {"Type": "AWS::SSM::Parameter", "Properties": {}}

    findings = _deployment_findings(tmp_path, rendered, add_type)
    assert ("ssm:PutParameter", "needed by AWS::SSM::Parameter but not granted: re-render") in findings


def test_a_dropped_grant_of_a_needed_type_is_caught(tmp_path, rendered):
    def drop_queues(documents):
        for resource in documents["stackset_execution_role.json"]["Resources"].values():
            for statement in resource["Properties"].get("PolicyDocument", {}).get("Statement", []):
                statement["Action"] = [a for a in statement["Action"] if not a.startswith("sqs:")] or ["sns:Publish"]

    findings = _deployment_findings(tmp_path, rendered, drop_queues)
    assert ("sqs:CreateQueue", "needed by AWS::SQS::Queue but not granted: re-render") in findings
