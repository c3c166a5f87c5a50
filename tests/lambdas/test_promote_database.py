"""promote_database against AWS's semantics: switchover when planned, failover with
AllowDataLoss only when accepted, nothing when already done, never two at once."""

from __future__ import annotations

import json
import time

import pytest
from botocore.stub import ANY

from lambda_support import PEER, REGION, TABLE, aws_client
from runbook import promote_database
from runbook.idempotency import StepInProgress
from templates.runbook import FINAL_ERRORS

ACCOUNT = "123456789012"
GLOBAL_ID = "trading-dev-global"
LOCAL_ID = f"trading-dev-aurora-{REGION}"
LOCAL_ARN = f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster:{LOCAL_ID}"
PEER_ARN = f"arn:aws:rds:{PEER}:{ACCOUNT}:cluster:trading-dev-aurora-{PEER}"
SETTINGS = {"GLOBAL_CLUSTER_ID": GLOBAL_ID, "DB_CLUSTER_ARN": LOCAL_ARN, "DB_CLUSTER_ID": LOCAL_ID}


ENGINE = "8.0.mysql_aurora.3.05.2"


def global_cluster(writer: str, failover_state: dict | None = None, local_sync: str = "connected") -> dict:
    cluster = {
        "GlobalClusterIdentifier": GLOBAL_ID,
        "Status": "available",
        "EngineVersion": ENGINE,
        "GlobalClusterMembers": [
            {"DBClusterArn": PEER_ARN, "IsWriter": writer == PEER_ARN},
            {"DBClusterArn": LOCAL_ARN, "IsWriter": writer == LOCAL_ARN, "SynchronizationStatus": local_sync},
        ],
    }
    if failover_state:
        cluster["FailoverState"] = failover_state
    return {"GlobalClusters": [cluster]}


def expect_describe(stubber, writer: str, failover_state: dict | None = None, local_sync: str = "connected") -> None:
    stubber.add_response("describe_global_clusters", global_cluster(writer, failover_state, local_sync), {"GlobalClusterIdentifier": GLOBAL_ID})


def expect_promotable(stubber, writer: str = PEER_ARN) -> None:
    """The one read before a promotion: the global database (engine drift is AWS's to refuse)."""
    expect_describe(stubber, writer=writer)


@pytest.fixture()
def runtime(aws, make_runtime):
    return make_runtime(promote_database.STEP, SETTINGS)


def test_planned_promotion_is_a_switchover_to_this_regions_cluster(runtime, rds):
    _, stubber = rds
    expect_promotable(stubber)
    stubber.add_response(
        "switchover_global_cluster",
        {"GlobalCluster": {"GlobalClusterIdentifier": GLOBAL_ID}},
        {"GlobalClusterIdentifier": GLOBAL_ID, "TargetDbClusterIdentifier": LOCAL_ARN},
    )
    result = promote_database.run({"failover_id": "failover-1", "mode": "planned"}, runtime)
    assert result == {"action": "switchover", "mode": "planned", "accepted_lag_ms": 0}


def test_unplanned_needs_the_accept_flag_and_changes_nothing_without_it(runtime, rds, calls):
    for event in ({"mode": "unplanned"}, {"mode": "unplanned", "accept_data_loss": "yes"}):
        with pytest.raises(promote_database.DataLossNotAccepted):
            promote_database.run({"failover_id": "failover-1", **event}, runtime)
    assert calls.made == [], "refused before any AWS call, no idempotency claim either"


def test_unplanned_fails_over_with_data_loss_and_records_the_lag(runtime, rds):
    cloudwatch = aws_client("cloudwatch")
    cloudwatch.put_metric_data(
        Namespace="AWS/RDS",
        MetricData=[{"MetricName": "AuroraGlobalDBRPOLag", "Value": 850.0, "Unit": "Milliseconds",
                     "Dimensions": [{"Name": "DBClusterIdentifier", "Value": LOCAL_ID}]}],
    )
    _, stubber = rds
    expect_promotable(stubber)
    stubber.add_response(
        "failover_global_cluster",
        {"GlobalCluster": {"GlobalClusterIdentifier": GLOBAL_ID}},
        {"GlobalClusterIdentifier": GLOBAL_ID, "TargetDbClusterIdentifier": LOCAL_ARN, "AllowDataLoss": True},
    )
    result = promote_database.run({"failover_id": "failover-1", "mode": "unplanned", "accept_data_loss": True}, runtime)
    assert result == {"action": "failover", "mode": "unplanned", "accepted_lag_ms": 850.0, "lag_metric": "AuroraGlobalDBRPOLag"}


def test_already_the_writer_makes_no_write_call(runtime, rds, calls):
    _, stubber = rds
    expect_describe(stubber, writer=LOCAL_ARN)
    result = promote_database.run({"failover_id": "failover-1", "mode": "planned"}, runtime)
    assert result["action"] == "none" and result["reason"] == "already the writer"
    assert calls.of("rds") == ["DescribeGlobalClusters"]


def test_promotion_already_under_way_here_is_awaited_not_repeated(runtime, rds, calls):
    _, stubber = rds
    expect_describe(stubber, writer=PEER_ARN, failover_state={"Status": "failing-over", "FromDbClusterArn": PEER_ARN, "ToDbClusterArn": LOCAL_ARN})
    result = promote_database.run({"failover_id": "failover-1", "mode": "planned"}, runtime)
    assert result["action"] == "none" and "in progress" in result["reason"]
    assert calls.of("rds") == ["DescribeGlobalClusters"]


def test_failover_to_another_cluster_in_progress_is_refused(runtime, rds):
    _, stubber = rds
    expect_describe(stubber, writer=LOCAL_ARN, failover_state={"Status": "pending", "FromDbClusterArn": LOCAL_ARN, "ToDbClusterArn": PEER_ARN})
    with pytest.raises(promote_database.FailoverElsewhere):
        promote_database.run({"failover_id": "failover-1", "mode": "planned"}, runtime)


def test_duplicate_invocation_with_the_same_failover_id_acts_once(runtime, rds, calls):
    _, stubber = rds
    expect_promotable(stubber)
    stubber.add_response("switchover_global_cluster", {"GlobalCluster": {}}, {"GlobalClusterIdentifier": GLOBAL_ID, "TargetDbClusterIdentifier": LOCAL_ARN})
    first = promote_database.run({"failover_id": "failover-1", "mode": "planned"}, runtime)
    second = promote_database.run({"failover_id": "failover-1", "mode": "planned"}, runtime)
    assert first == second
    assert calls.of("rds") == ["DescribeGlobalClusters", "SwitchoverGlobalCluster"], "the second run made no RDS call"


def test_concurrent_duplicate_is_told_to_retry_and_acts_on_nothing(runtime, rds, calls):
    aws_client("dynamodb").put_item(
        TableName=TABLE,
        Item={"pk": {"S": "failover-1#promote_database"}, "status": {"S": "IN_PROGRESS"}, "owner": {"S": "other"},
              "lease_until": {"N": str(int(time.time()) + 200)}},
    )
    with pytest.raises(StepInProgress):
        promote_database.run({"failover_id": "failover-1", "mode": "planned"}, runtime)
    assert calls.of("rds") == []


def test_a_claim_whose_holder_died_is_taken_over_after_its_lease(runtime, rds):
    aws_client("dynamodb").put_item(
        TableName=TABLE,
        Item={"pk": {"S": "failover-1#promote_database"}, "status": {"S": "IN_PROGRESS"}, "owner": {"S": "dead"},
              "lease_until": {"N": str(int(time.time()) - 1)}},
    )
    _, stubber = rds
    expect_describe(stubber, writer=LOCAL_ARN)
    assert promote_database.run({"failover_id": "failover-1", "mode": "planned"}, runtime)["action"] == "none"


def test_internal_failure_on_switchover_then_rerun_finishes_once(runtime, rds, calls):
    _, stubber = rds
    expect_promotable(stubber)
    stubber.add_client_error("switchover_global_cluster", service_error_code="InternalFailure", http_status_code=500)
    with pytest.raises(Exception, match="InternalFailure"):
        promote_database.run({"failover_id": "failover-1", "mode": "planned"}, runtime)
    # The state machine retries the step: the claim was released, the rerun observes and acts once.
    expect_promotable(stubber)
    stubber.add_response("switchover_global_cluster", {"GlobalCluster": {}}, {"GlobalClusterIdentifier": GLOBAL_ID, "TargetDbClusterIdentifier": ANY})
    assert promote_database.run({"failover_id": "failover-1", "mode": "planned"}, runtime)["action"] == "switchover"
    # A third run (say, the state machine's retry after a lost response) replays the record.
    assert promote_database.run({"failover_id": "failover-1", "mode": "planned"}, runtime)["action"] == "switchover"
    assert calls.of("rds").count("SwitchoverGlobalCluster") == 2, "one failed attempt, one success, none after"


def test_dying_after_the_switchover_but_before_recording_does_not_switch_twice(runtime, rds, calls):
    """The rerun takes over the expired claim and finds this region already the writer."""
    dynamodb = aws_client("dynamodb")
    dynamodb.put_item(
        TableName=TABLE,
        Item={"pk": {"S": "failover-1#promote_database"}, "status": {"S": "IN_PROGRESS"}, "owner": {"S": "crashed"},
              "lease_until": {"N": str(int(time.time()) - 1)}},
    )
    _, stubber = rds
    expect_describe(stubber, writer=LOCAL_ARN)
    assert promote_database.run({"failover_id": "failover-1", "mode": "planned"}, runtime)["reason"] == "already the writer"
    assert "SwitchoverGlobalCluster" not in calls.of("rds")
    record = dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": "failover-1#promote_database"}})["Item"]
    assert record["status"]["S"] == "COMPLETED" and json.loads(record["result"]["S"])["action"] == "none"


def test_out_of_budget_stops_before_the_write(aws, make_runtime, rds, calls):
    runtime = make_runtime(promote_database.STEP, SETTINGS, remaining_ms=20_000)
    _, stubber = rds
    expect_promotable(stubber)
    with pytest.raises(promote_database.StepError, match="not enough time"):
        promote_database.run({"failover_id": "failover-1", "mode": "planned"}, runtime)
    assert "SwitchoverGlobalCluster" not in calls.of("rds")


def test_a_target_still_resyncing_refuses_a_planned_switchover_before_any_write(runtime, rds, calls):
    """After a failover the old primary rebuilds (pending-resync); AWS cannot switch over onto it."""
    _, stubber = rds
    expect_describe(stubber, writer=PEER_ARN, local_sync="pending-resync")
    with pytest.raises(promote_database.TargetNotSynchronized, match="pending-resync"):
        promote_database.run({"failover_id": "failover-1", "mode": "planned"}, runtime)
    assert calls.of("rds") == ["DescribeGlobalClusters"], "refused on the global cluster's view, nothing written"


# AWS's refusal when the engine versions differ ("the same major, minor, and patch level
# engine versions", Aurora user guide, "Upgrading an Amazon Aurora global database"):
# the runbook no longer guesses the compatible pairs, it maps AWS's answer.
# https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-global-database-upgrade.html
ENGINE_DRIFT = "The DB cluster's engine version 8.0.mysql_aurora.3.04.1 does not match the global cluster's engine version"


@pytest.mark.parametrize("code", ["InvalidGlobalClusterStateFault", "InvalidDBClusterStateFault"])
@pytest.mark.parametrize("mode, event, operation", [
    ("planned", {}, "switchover_global_cluster"),
    ("unplanned", {"accept_data_loss": True}, "failover_global_cluster"),
])
def test_aws_refusing_engine_drift_is_promotion_refused_with_the_last_resort(runtime, rds, calls, mode, event, operation, code):
    _, stubber = rds
    expect_promotable(stubber)
    stubber.add_client_error(operation, service_error_code=code, service_message=ENGINE_DRIFT, http_status_code=400)
    with pytest.raises(promote_database.PromotionRefused, match=f"{code}.*3.04.1.*remove-from-global-cluster") as refused:
        promote_database.run({"failover_id": "failover-1", "mode": mode, **event}, runtime)
    assert f"--global-cluster-identifier {GLOBAL_ID} --db-cluster-identifier {LOCAL_ARN}" in str(refused.value)
    assert "DescribeDBClusters" not in calls.of("rds"), "this cluster's engine version is not read: AWS decides"
    assert "PromotionRefused" in FINAL_ERRORS and "EngineVersionsDiffer" not in FINAL_ERRORS, "a refusal is not retried"


@pytest.mark.parametrize("mode, event, operation", [
    ("planned", {}, "switchover_global_cluster"),
    ("unplanned", {"accept_data_loss": True}, "failover_global_cluster"),
])
def test_aws_refusing_the_promotion_for_a_state_is_reported_with_the_last_resort(runtime, rds, mode, event, operation):
    _, stubber = rds
    expect_promotable(stubber)
    stubber.add_client_error(operation, service_error_code="InvalidGlobalClusterStateFault", service_message="busy", http_status_code=400)
    with pytest.raises(promote_database.PromotionRefused, match="InvalidGlobalClusterStateFault.*remove-from-global-cluster"):
        promote_database.run({"failover_id": "failover-1", "mode": mode, **event}, runtime)


def test_other_aws_errors_are_not_called_refusals(runtime, rds):
    """Only the state faults are final; anything else propagates for the state machine's retry."""
    _, stubber = rds
    expect_promotable(stubber)
    stubber.add_client_error("switchover_global_cluster", service_error_code="GlobalClusterNotFoundFault", http_status_code=404)
    with pytest.raises(Exception, match="GlobalClusterNotFoundFault") as raised:
        promote_database.run({"failover_id": "failover-1", "mode": "planned"}, runtime)
    assert not isinstance(raised.value, promote_database.PromotionRefused)
