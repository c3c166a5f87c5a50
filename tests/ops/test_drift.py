"""Drift detection: drifted resources printed per region, failover's known drift explained, not hidden.

moto implements no stack set drift detection, so the requests are stubbed.
"""

from __future__ import annotations

from stackset_support import ACCOUNT, BOOTSTRAP, DR, PRIMARY, REGIONAL

from ops.drift import FAILOVER_EXPLANATION, detect_drift

STACK_ID = f"arn:aws:cloudformation:{DR}:{ACCOUNT}:stack/StackSet-{REGIONAL}-1/1"
PREFERENCES = {
    "RegionConcurrencyType": "SEQUENTIAL",
    "RegionOrder": [PRIMARY, DR],
    "MaxConcurrentCount": 1,
    "FailureToleranceCount": 0,
}


def _difference(path, expected, actual):
    return {"PropertyPath": path, "ExpectedValue": expected, "ActualValue": actual, "DifferenceType": "NOT_EQUAL"}


def _drift(logical_id, resource_type, *differences):
    return {
        "StackId": STACK_ID,
        "LogicalResourceId": logical_id,
        "ResourceType": resource_type,
        "StackResourceDriftStatus": "MODIFIED",
        "PropertyDifferences": list(differences),
        "Timestamp": "2026-01-01T12:00:00Z",
    }


def _stub_detection(stubbed, *drift_pages):
    cloudformation = stubbed.stub("cloudformation")
    cloudformation.add_client_error(
        "describe_stack_set", "StackSetNotFoundException", expected_params={"StackSetName": BOOTSTRAP}
    )
    cloudformation.add_response(
        "describe_stack_set", {"StackSet": {"StackSetName": REGIONAL}}, {"StackSetName": REGIONAL}
    )
    cloudformation.add_response(
        "detect_stack_set_drift",
        {"OperationId": "drift"},
        {"StackSetName": REGIONAL, "OperationPreferences": PREFERENCES},
    )
    cloudformation.add_response(
        "describe_stack_set_operation",
        {"StackSetOperation": {"OperationId": "drift", "Action": "DETECT_DRIFT", "Status": "SUCCEEDED"}},
    )
    cloudformation.add_response(
        "list_stack_set_operation_results",
        {"Summaries": [{"Account": ACCOUNT, "Region": region, "Status": "SUCCEEDED"} for region in (PRIMARY, DR)]},
    )
    cloudformation.add_response(
        "list_stack_instances",
        {
            "Summaries": [
                {"Account": ACCOUNT, "Region": PRIMARY, "DriftStatus": "IN_SYNC", "StackId": "primary-stack"},
                {"Account": ACCOUNT, "Region": DR, "DriftStatus": "DRIFTED", "StackId": STACK_ID},
            ]
        },
    )
    dr = stubbed.stub("cloudformation", DR)
    for number, page in enumerate(drift_pages, 1):
        expected = {"StackName": STACK_ID, "StackResourceDriftStatusFilters": ["MODIFIED", "DELETED"]}
        if number > 1:
            expected["NextToken"] = f"page-{number}"
        more = {"NextToken": f"page-{number + 1}"} if number < len(drift_pages) else {}
        dr.add_response("describe_stack_resource_drifts", {"StackResourceDrifts": page, **more}, expected)


def test_drift_is_printed_per_region_with_a_failovers_known_drift_explained(stubbed, dr_templates, fake_clock):
    _stub_detection(
        stubbed,
        [
            _drift(
                "DbCluster",
                "AWS::RDS::DBCluster",
                _difference("/GlobalClusterIdentifier", "", "trading-dev-global"),
                _difference("/MasterUsername", "", "dbadmin"),
            )
        ],
        [
            _drift(
                "DbSecurityGroup",
                "AWS::EC2::SecurityGroup",
                _difference("/SecurityGroupIngress/0/CidrIp", "", "0.0.0.0/0"),
            )
        ],
    )
    lines: list[str] = []

    report = detect_drift(stubbed.aws, dr_templates, lines.append, fake_clock.clock)

    assert [(r.region, r.logical_id, r.explained) for r in report.resources] == [
        (DR, "DbCluster", True),
        (DR, "DbSecurityGroup", False),
    ]
    assert [r.logical_id for r in report.unexplained] == ["DbSecurityGroup"]
    assert f"{BOOTSTRAP}: not deployed; skipped" in lines
    assert f"{REGIONAL} {PRIMARY}: IN_SYNC" in lines
    assert f"{REGIONAL} {DR}: DRIFTED" in lines
    assert f"    /MasterUsername NOT_EQUAL: expected '', actual 'dbadmin' ({FAILOVER_EXPLANATION})" in lines
    assert "    /SecurityGroupIngress/0/CidrIp NOT_EQUAL: expected '', actual '0.0.0.0/0'" in lines
    stubbed.verify()


def test_only_failover_drift_is_said_to_be_explained(stubbed, dr_templates, fake_clock):
    _stub_detection(
        stubbed,
        [_drift("GlobalCluster", "AWS::RDS::GlobalCluster", _difference("/SourceDBClusterIdentifier", "a", "b"))],
    )
    lines: list[str] = []

    report = detect_drift(stubbed.aws, dr_templates, lines.append, fake_clock.clock)

    assert report.unexplained == []
    assert lines[-1] == "all drift found is explained by a database failover"
    stubbed.verify()
