"""A whole planned failover, step after step as the state machine runs them, on the
emulator: the calls it makes, and that re-running the finished run changes nothing."""

from __future__ import annotations

from botocore.stub import ANY

from lambda_support import aws_client
from runbook import admit_automatic_run, notify, promote_database, scale_service, switch_traffic, wait_for_writer
from test_promote_database import GLOBAL_ID, LOCAL_ARN, LOCAL_ID, PEER_ARN, SETTINGS, expect_describe, expect_promotable
from test_steps import NOTIFY_SETTINGS, SCALE_SETTINGS, _switch_settings

WRITES = {"SwitchoverGlobalCluster", "RegisterScalableTarget", "UpdateService", "PutMetricData", "Publish"}


def _run_all(make_runtime, failover_id: str, topic: str) -> None:
    event = {"failover_id": failover_id, "mode": "planned", "accept_data_loss": False, "trigger": "operator"}
    # The state machine's order: capacity before the promotion, the switch published then confirmed.
    for module, settings, extra in (
        (admit_automatic_run, {"MIN_INTERVAL_SECONDS": "3600"}, {}),
        (scale_service, SCALE_SETTINGS, {"direction": "up"}),
        (promote_database, SETTINGS, {}),
        (wait_for_writer, SETTINGS, {}),
        (switch_traffic, _switch_settings("secondary"), {}),
        (switch_traffic, _switch_settings("secondary"), {"confirm": True}),
        (notify, {"ALERTS_TOPIC_ARN": topic, **NOTIFY_SETTINGS}, {}),
    ):
        module.run({**event, **extra, "steps": {}}, make_runtime(module.STEP, settings, failover_id))


def test_planned_failover_call_count_and_rerun_makes_no_write(aws, make_runtime, rds, calls, standby_service, switch_alarm):
    _, stubber = rds
    topic = aws_client("sns").create_topic(Name="alerts")["TopicArn"]
    expect_promotable(stubber)
    stubber.add_response("switchover_global_cluster", {"GlobalCluster": {}}, {"GlobalClusterIdentifier": GLOBAL_ID, "TargetDbClusterIdentifier": ANY})
    expect_describe(stubber, writer=LOCAL_ARN)
    stubber.add_response("describe_db_clusters", {"DBClusters": [{"Status": "available"}]}, {"DBClusterIdentifier": LOCAL_ID})
    _run_all(make_runtime, "failover-1", topic)
    operations = [operation for _, operation in calls.made]
    assert WRITES <= set(operations)
    # 9 calls of the state-changing steps (scale 4; promote 2: the global database, then the
    # switchover; the switch reads its data, then publishes; notify 1), 3 reads of the writer
    # check and the switch confirmation, and a PutItem and UpdateItem for each of the 4
    # state-changing steps.
    assert len(operations) == 20, operations

    calls.made.clear()
    expect_describe(stubber, writer=LOCAL_ARN)  # the read-only writer check observes again
    stubber.add_response("describe_db_clusters", {"DBClusters": [{"Status": "available"}]}, {"DBClusterIdentifier": LOCAL_ID})
    _run_all(make_runtime, "failover-1", topic)
    assert not WRITES & {operation for _, operation in calls.made}, "the same run again: recorded results only"
