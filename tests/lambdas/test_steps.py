"""scale_service, switch_traffic, notify, wait_for_writer and the automatic-run gate:
converge on observed state, act once per failover id, recover from throttling and 5xx."""

from __future__ import annotations

import json
import time

import pytest

from lambda_support import CFG, CLUSTER, PEER, REGION, REPORT_BUCKET, RESOURCE_ID, SERVICE, aws_client, inject_errors
from runbook import admit_automatic_run, notify, scale_service, switch_traffic, verify_traffic, wait_for_writer
from runbook.idempotency import StepInProgress
from runbook.runtime import MAX_ATTEMPTS
from templates import dns, naming
from templates.runbook import FENCE_DRAIN_SECONDS

SCALE_SETTINGS = {
    "CLUSTER_NAME": CLUSTER,
    "SERVICE_NAME": SERVICE,
    "FAILOVER_DESIRED_COUNT": str(CFG.app.failover_desired_count),
    # The failback scale-down acts on the peer (DR) region's service: the emulated one here.
    "PEER_REGION": REGION,
    "PEER_STANDBY_DESIRED_COUNT": str(CFG.app.dr_desired_count),
}


NOTIFY_SETTINGS = {
    "PEER_REGION": PEER,
    "PEER_DB_CLUSTER_ID": naming.db_cluster(CFG).for_region(PEER),
    "BACKUP_RETENTION_DAYS": str(CFG.database.backup_retention_days),
    "REPORT_BUCKET": REPORT_BUCKET, "REPORT_PREFIX": "reports/",
}


def _capacity(ecs) -> tuple[int, int]:
    (target,) = aws_client("application-autoscaling").describe_scalable_targets(
        ServiceNamespace="ecs", ResourceIds=[RESOURCE_ID]
    )["ScalableTargets"]
    (service,) = ecs.describe_services(cluster=CLUSTER, services=[SERVICE])["services"]
    return target["MinCapacity"], service["desiredCount"]


def test_scale_up_raises_minimum_then_desired_to_failover_capacity(standby_service, make_runtime):
    result = scale_service.run({"failover_id": "f-1", "direction": "up"}, make_runtime(scale_service.STEP, SCALE_SETTINGS, "f-1"))
    assert result["changed"] == ["min_capacity", "desired_count"]
    assert _capacity(standby_service) == (CFG.app.failover_desired_count, CFG.app.failover_desired_count)


def test_scale_up_at_capacity_makes_no_write_call_and_release_returns_to_standby(standby_service, make_runtime, calls):
    scale_service.run({"failover_id": "f-1", "direction": "up"}, make_runtime(scale_service.STEP, SCALE_SETTINGS, "f-1"))
    calls.made.clear()
    again = scale_service.run({"failover_id": "f-2", "direction": "up"}, make_runtime(scale_service.STEP, SCALE_SETTINGS, "f-2"))
    assert again["changed"] == []
    assert not {"RegisterScalableTarget", "UpdateService"} & {op for _, op in calls.made}
    down = scale_service.run({"failover_id": "f-3", "direction": "down"}, make_runtime(scale_service.STEP, SCALE_SETTINGS, "f-3"))
    assert down["changed"] == ["min_capacity", "desired_count"]
    assert _capacity(standby_service) == (CFG.app.dr_desired_count, CFG.app.dr_desired_count)


def test_scale_duplicate_invocation_acts_once(standby_service, make_runtime, calls):
    runtime = make_runtime(scale_service.STEP, SCALE_SETTINGS, "f-1")
    first = scale_service.run({"failover_id": "f-1", "direction": "up"}, runtime)
    second = scale_service.run({"failover_id": "f-1", "direction": "up"}, runtime)
    assert first == second
    assert [op for _, op in calls.made].count("UpdateService") == 1


def test_scale_recovers_from_throttling_and_5xx_within_its_retries(standby_service, make_runtime):
    runtime = make_runtime(scale_service.STEP, SCALE_SETTINGS, "f-1")
    ecs = runtime.client("ecs")
    attempts = inject_errors(ecs, "UpdateService", [(400, "ThrottlingException"), (503, "ServiceUnavailableException")])
    dynamodb_attempts = inject_errors(runtime.client("dynamodb"), "PutItem", [(400, "ThrottlingException")])
    assert scale_service.run({"failover_id": "f-1", "direction": "up"}, runtime)["changed"] == ["min_capacity", "desired_count"]
    assert attempts[0] == 3 and dynamodb_attempts[0] == 2
    assert _capacity(standby_service)[1] == CFG.app.failover_desired_count


def test_scale_gives_up_after_bounded_attempts_and_releases_its_claim(standby_service, make_runtime):
    runtime = make_runtime(scale_service.STEP, SCALE_SETTINGS, "f-1")
    attempts = inject_errors(runtime.client("ecs"), "UpdateService", [(400, "ThrottlingException")] * 10)
    with pytest.raises(Exception, match="Throttling"):
        scale_service.run({"failover_id": "f-1", "direction": "up"}, runtime)
    assert attempts[0] == MAX_ATTEMPTS, "botocore standard mode, bounded attempts"
    # Released: the state machine's retry proceeds at once instead of waiting out a lease.
    rerun = make_runtime(scale_service.STEP, SCALE_SETTINGS, "f-1")
    assert scale_service.run({"failover_id": "f-1", "direction": "up"}, rerun)["changed"] == ["desired_count"]


def _suspended() -> dict[str, bool]:
    (target,) = aws_client("application-autoscaling").describe_scalable_targets(
        ServiceNamespace="ecs", ResourceIds=[RESOURCE_ID]
    )["ScalableTargets"]
    return {key: target.get("SuspendedState", {}).get(key, False) for key in scale_service.SUSPENSIONS}


def test_a_fence_suspends_scaling_and_raising_resumes_it(standby_service, make_runtime, monkeypatch):
    """Fenced, no scale-out alarm may start tasks against the old writer; raised, it scales as usual."""
    monkeypatch.setattr("runbook.scale_service.now", lambda: 1_800_000_000.0)
    fenced = scale_service.run({"failover_id": "f-1", "direction": "fence"}, make_runtime(scale_service.STEP, SCALE_SETTINGS, "f-1"))
    assert (fenced["fenced"], fenced["at"], fenced["target"]) == (True, 1_800_000_000.0, 0), "the drain is timed from the fence"
    assert _capacity(standby_service) == (0, 0)
    assert _suspended() == dict.fromkeys(scale_service.SUSPENSIONS, True)
    scale_service.run({"failover_id": "f-2", "direction": "up"}, make_runtime(scale_service.STEP, SCALE_SETTINGS, "f-2"))
    assert _suspended() == dict.fromkeys(scale_service.SUSPENSIONS, False)
    assert _capacity(standby_service) == (CFG.app.failover_desired_count, CFG.app.failover_desired_count)


def test_raising_a_service_at_capacity_but_suspended_resumes_its_scaling_only(standby_service, make_runtime):
    """The register call also fixes a wrong suspension when the minimum is already right."""
    aws_client("application-autoscaling").register_scalable_target(
        ServiceNamespace="ecs", ResourceId=RESOURCE_ID, ScalableDimension=scale_service.DIMENSION,
        MinCapacity=CFG.app.failover_desired_count, MaxCapacity=CFG.app.max_count,
        SuspendedState=dict.fromkeys(scale_service.SUSPENSIONS, True),
    )
    standby_service.update_service(cluster=CLUSTER, service=SERVICE, desiredCount=CFG.app.failover_desired_count)
    result = scale_service.run({"failover_id": "f-1", "direction": "up"}, make_runtime(scale_service.STEP, SCALE_SETTINGS, "f-1"))
    assert result["changed"] == ["min_capacity"]
    assert _suspended() == dict.fromkeys(scale_service.SUSPENSIONS, False)
    assert _capacity(standby_service) == (CFG.app.failover_desired_count, CFG.app.failover_desired_count)


def _switch_settings(role: str) -> dict[str, str]:
    timing = dns.timing(CFG)["switch"]
    return {
        "REGION_ROLE": role,
        "SWITCH_REGION": timing["alarm_region"],
        "SWITCH_NAMESPACE": timing["namespace"],
        "SWITCH_METRIC": timing["metric"],
        "SWITCH_THROWN_VALUE": str(timing["throw_value"]),
        "SWITCH_RELEASED_VALUE": str(timing["release_value"]),
    }


def _published(cloudwatch, timing) -> list[float]:
    stats = cloudwatch.get_metric_statistics(
        Namespace=timing["namespace"], MetricName=timing["metric"], StartTime=time.time() - 600, EndTime=time.time() + 60,
        Period=60, Statistics=["Maximum", "Minimum"],
    )["Datapoints"]
    return sorted({point["Maximum"] for point in stats} | {point["Minimum"] for point in stats})


def test_dr_region_throws_the_switch_on_its_own_endpoint(switch_alarm, make_runtime, calls):
    cloudwatch, timing = switch_alarm
    assert timing["alarm_region"] == REGION, "the switch lives in the DR region, where failover runs"
    result = switch_traffic.run({"failover_id": "f-1"}, make_runtime(switch_traffic.STEP, _switch_settings("secondary")))
    assert (result["action"], result["published"]) == ("throw", True)
    assert _published(cloudwatch, timing) == [timing["throw_value"]]
    assert {service for service, _ in calls.made} == {"cloudwatch", "dynamodb"}, "no Route 53 call"


def _publish_earlier(cloudwatch, timing, value) -> None:
    """A position published two metric periods ago (the switch holds it since)."""
    cloudwatch.put_metric_data(Namespace=timing["namespace"], MetricData=[
        {"MetricName": timing["metric"], "Value": value, "Timestamp": time.time() - 120, "Unit": "Count"}
    ])


def test_switch_already_thrown_publishes_nothing(switch_alarm, make_runtime, calls):
    cloudwatch, timing = switch_alarm
    # The alarm's state says released, the data says thrown: Route 53 follows the data.
    _publish_earlier(cloudwatch, timing, timing["throw_value"])
    result = switch_traffic.run({"failover_id": "f-1"}, make_runtime(switch_traffic.STEP, _switch_settings("secondary")))
    assert result["published"] is False
    assert "PutMetricData" not in calls.of("cloudwatch")


def test_failback_from_the_primary_releases_the_switch_where_it_lives(switch_alarm, make_runtime, calls):
    cloudwatch, timing = switch_alarm
    _publish_earlier(cloudwatch, timing, timing["throw_value"])
    result = switch_traffic.run({"failover_id": "f-9"}, make_runtime(switch_traffic.STEP, _switch_settings("primary")))
    assert (result["action"], result["published"]) == ("release", True)
    assert _published(cloudwatch, timing) == [timing["release_value"], timing["throw_value"]]
    assert aws_client("cloudwatch", PEER).list_metrics(Namespace=timing["namespace"])["Metrics"] == []


@pytest.fixture()
def alerts_inbox(aws):
    sns = aws_client("sns")
    sqs = aws_client("sqs")
    topic = sns.create_topic(Name=naming.alerts_topic(CFG).pattern)["TopicArn"]
    queue = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)

    def received() -> list[dict]:
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(m["Body"]) for m in messages]

    return topic, received


def test_notify_sends_one_message_per_run_with_its_timeline(alerts_inbox, make_runtime):
    topic, received = alerts_inbox
    event = {
        "failover_id": "f-1", "mode": "planned",
        "steps": {"promote": {"action": "switchover"}, "scale": {"changed": ["desired_count"]}},
    }
    runtime = make_runtime(notify.STEP, {"ALERTS_TOPIC_ARN": topic, **NOTIFY_SETTINGS}, "f-1")
    notify.run(event, runtime)
    notify.run(event, runtime)  # the state machine's retry after a lost response
    (message,) = received()
    assert message["Subject"] == f"DR runbook succeeded in {REGION}: f-1"
    assert '"action": "switchover"' in message["Message"] and "scale:" in message["Message"]
    assert "unplanned-global-failover" not in message["Message"], "a switchover leaves no such snapshot"


def test_an_unplanned_failover_report_says_where_the_old_primarys_snapshot_is(alerts_inbox, make_runtime):
    topic, received = alerts_inbox
    event = {"failover_id": "f-1", "mode": "unplanned", "steps": {"promote": {"result": {"action": "failover"}}}}
    notify.run(event, make_runtime(notify.STEP, {"ALERTS_TOPIC_ARN": topic, **NOTIFY_SETTINGS}, "f-1"))
    (message,) = received()
    old_cluster = naming.db_cluster(CFG).for_region(PEER)
    assert f"rds:unplanned-global-failover-{old_cluster}-TIMESTAMP in {PEER} for {CFG.database.backup_retention_days} days" in message["Message"]
    assert f"copy-db-cluster-snapshot --region {PEER}" in message["Message"]


def test_failure_notification_is_separate_from_success_and_carries_the_error(alerts_inbox, make_runtime):
    topic, received = alerts_inbox
    runtime = make_runtime(notify.STEP, {"ALERTS_TOPIC_ARN": topic, **NOTIFY_SETTINGS}, "f-1")
    notify.run({"failover_id": "f-1", "outcome": "failed", "error": {"Error": "FailoverElsewhere"}}, runtime)
    (message,) = received()
    assert "failed" in message["Subject"] and "FailoverElsewhere" in message["Message"]


def test_wait_for_writer_reports_ready_only_when_writer_and_available(aws, make_runtime, rds):
    from test_promote_database import LOCAL_ARN, LOCAL_ID, PEER_ARN, SETTINGS, expect_describe

    _, stubber = rds
    runtime = make_runtime(wait_for_writer.STEP, SETTINGS)
    for writer, failover_state, status, ready in (
        (PEER_ARN, {"Status": "failing-over", "ToDbClusterArn": LOCAL_ARN}, "failing-over", False),
        (LOCAL_ARN, None, "modifying", False),
        (LOCAL_ARN, None, "available", True),
    ):
        expect_describe(stubber, writer, failover_state)
        stubber.add_response("describe_db_clusters", {"DBClusters": [{"Status": status}]}, {"DBClusterIdentifier": LOCAL_ID})
        assert wait_for_writer.run({"failover_id": "f-1"}, runtime)["ready"] is ready


PEER_CHECK = f"{naming.prefix(CFG)}-alb-{PEER}"


def primary_seen(make_runtime, failover_id: str, *, impaired: bool, settings: dict | None = None):
    """An admit runtime whose Route 53 finds the primary's check and sees it (un)healthy."""
    import boto3
    from botocore.stub import Stubber

    runtime = make_runtime(admit_automatic_run.STEP, {
        "MIN_INTERVAL_SECONDS": "3600", "PEER_HEALTH_CHECK_NAME": PEER_CHECK, "PEER_HOSTS_ROUTE53_API": "true", **(settings or {}),
    }, failover_id)
    route53 = boto3.client("route53", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(route53)
    stubber.add_response("list_health_checks", {"HealthChecks": [
        {"Id": "hc-other", "CallerReference": "a", "HealthCheckConfig": {"Type": "HTTPS"}, "HealthCheckVersion": 1},
        {"Id": "hc-primary", "CallerReference": "b", "HealthCheckConfig": {"Type": "HTTPS"}, "HealthCheckVersion": 1},
    ], "Marker": "", "IsTruncated": False, "MaxItems": "100"})
    stubber.add_response("list_tags_for_resources", {"ResourceTagSets": [
        {"ResourceType": "healthcheck", "ResourceId": check, "Tags": [{"Key": "Name", "Value": name}]}
        for check, name in (("hc-other", "something-else"), ("hc-primary", PEER_CHECK))
    ]}, {"ResourceType": "healthcheck", "ResourceIds": ["hc-other", "hc-primary"]})
    status = "Failure: Connection timed out." if impaired else "Success: HTTP Status Code 200, OK"
    stubber.add_response("get_health_check_status", {"HealthCheckObservations": [
        {"IPAddress": f"192.0.2.{n}", "StatusReport": {"Status": status}} for n in range(3)
    ]}, {"HealthCheckId": "hc-primary"})
    stubber.activate()
    runtime._clients["route53", None] = route53
    return runtime


def test_an_alarm_run_needs_route53_to_see_the_primary_impaired(aws, make_runtime, calls):
    """Issue 11.4: high lag alone is no outage."""
    result = admit_automatic_run.run({"failover_id": "a-1", "trigger": "alarm"}, primary_seen(make_runtime, "a-1", impaired=False))
    assert result == {"admitted": False, "reason": "no evidence the primary region is impaired: Route 53's checkers see the primary's load balancer healthy"}
    assert "PutItem" not in calls.of("dynamodb"), "a refused run does not use up the interval"
    result = admit_automatic_run.run({"failover_id": "a-2", "trigger": "alarm"}, primary_seen(make_runtime, "a-2", impaired=True))
    assert result["admitted"] and "unhealthy" in result["reason"]


def test_route53_not_answering_is_evidence_only_when_the_primary_hosts_its_api(aws, make_runtime):
    def unreachable(hosts: str, failover_id: str):
        runtime = make_runtime(admit_automatic_run.STEP, {
            "MIN_INTERVAL_SECONDS": "3600", "PEER_HEALTH_CHECK_NAME": PEER_CHECK, "PEER_HOSTS_ROUTE53_API": hosts,
        }, failover_id)
        inject_errors(runtime.client("route53"), "ListHealthChecks", [(503, "ServiceUnavailable")] * MAX_ATTEMPTS)
        return admit_automatic_run.run({"failover_id": failover_id, "trigger": "alarm"}, runtime)

    assert unreachable("false", "a-1")["admitted"] is False
    assert unreachable("true", "a-2")["admitted"] is True


def test_automatic_runs_are_admitted_once_per_interval_operator_runs_always(aws, make_runtime, monkeypatch):
    gate = admit_automatic_run

    def make(_step, _settings, failover_id):
        return primary_seen(make_runtime, failover_id, impaired=True)

    settings = {}
    assert gate.run({"failover_id": "a-1", "trigger": "alarm"}, make(gate.STEP, settings, "a-1"))["admitted"]
    assert not gate.run({"failover_id": "a-2", "trigger": "alarm"}, make(gate.STEP, settings, "a-2"))["admitted"]
    assert gate.run({"failover_id": "op-1", "trigger": "operator"}, make_runtime(gate.STEP, {}, "op-1"))["admitted"]
    later = time.time() + 3601
    monkeypatch.setattr("runbook.admit_automatic_run.now", lambda: later)
    assert gate.run({"failover_id": "a-3", "trigger": "alarm"}, make(gate.STEP, settings, "a-3"))["admitted"]


def test_a_step_without_its_setting_says_which(aws, make_runtime):
    with pytest.raises(Exception, match="CLUSTER_NAME is not set"):
        scale_service.run({"failover_id": "f-1"}, make_runtime(scale_service.STEP, {}))


def test_concurrent_scale_is_refused_while_another_holds_the_claim(standby_service, make_runtime):
    aws_client("dynamodb").put_item(
        TableName="idempotency",
        Item={"pk": {"S": "f-1#scale_service#up"}, "status": {"S": "IN_PROGRESS"}, "owner": {"S": "other"},
              "lease_until": {"N": str(int(time.time()) + 200)}},
    )
    with pytest.raises(StepInProgress):
        scale_service.run({"failover_id": "f-1", "direction": "up"}, make_runtime(scale_service.STEP, SCALE_SETTINGS, "f-1"))
    assert _capacity(standby_service) == (CFG.app.dr_desired_count, CFG.app.dr_desired_count)


def test_an_alarm_never_starts_a_failback(aws, make_runtime, calls):
    """Issue 11.4: in the primary region an alarm-started run is refused, before any write."""
    settings = {"MIN_INTERVAL_SECONDS": "3600", "REGION_ROLE": "primary"}
    result = admit_automatic_run.run({"failover_id": "a-1", "trigger": "alarm"}, make_runtime(admit_automatic_run.STEP, settings, "a-1"))
    assert result == {"admitted": False, "reason": "an alarm never starts a failback"}
    assert calls.made == []


def _stubbed(service: str, region: str):
    import boto3
    from botocore.stub import Stubber

    client = boto3.client(service, region_name=region, aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(client)
    stubber.activate()
    return client, stubber


@pytest.mark.parametrize(
    "statuses, healthy",
    [
        (["Success: HTTP Status Code 200, OK"] * 3, True),
        (["Success: HTTP Status Code 200, OK"] + ["Failure: Connection timed out."] * 5, False),  # 1/6 is under 18%
        (["Success: HTTP Status Code 200, OK"] + ["Failure: Connection timed out."] * 4, True),  # 1/5 is over it
        ([], False),
    ],
)
def test_route53_deems_an_endpoint_healthy_when_more_than_18_percent_of_checkers_do(statuses, healthy):
    """The gate's evidence (admit_automatic_run) reads GetHealthCheckStatus with this rule."""
    from runbook.health import checkers_healthy

    observations = [{"IPAddress": f"192.0.2.{n}", "StatusReport": {"Status": s}} for n, s in enumerate(statuses)]
    assert checkers_healthy(observations)[0] is healthy


def test_a_health_check_is_found_by_name_with_one_tag_call_per_ten_checks():
    from runbook.health import health_check_named

    route53, stubber = _stubbed("route53", REGION)
    ids = [f"hc-{n:02}" for n in range(12)]
    stubber.add_response("list_health_checks", {"HealthChecks": [
        {"Id": check, "CallerReference": check, "HealthCheckConfig": {"Type": "CALCULATED"}, "HealthCheckVersion": 1} for check in ids
    ], "Marker": "", "IsTruncated": False, "MaxItems": "100"})
    for batch in (ids[:10], ids[10:]):
        stubber.add_response("list_tags_for_resources", {"ResourceTagSets": [
            {"ResourceType": "healthcheck", "ResourceId": check, "Tags": [{"Key": "Name", "Value": f"name-{check}"}]} for check in batch
        ]}, {"ResourceType": "healthcheck", "ResourceIds": batch})
    assert health_check_named(route53, "name-hc-11") == "hc-11"
    stubber.assert_no_pending_responses()


NOW = 1_800_000_000.0  # a fixed clock, on a minute boundary
METRICS_REGION = CFG.route53_metrics_region


def _verify(make_runtime, monkeypatch, role: str, since: float, minutes: list[tuple[float, float]] | None = None,
            error: tuple[int, str] | None = None, primary_check: str = verify_traffic.NOT_LOOKED_UP, setting: str = "hc-primary"):
    """verify_traffic with the PRIMARY check's HealthCheckStatus (newest first) in Route 53's metrics region;
    the status is stubbed for hc-primary only (the check the event or else the setting names)."""
    from datetime import datetime, timezone

    from botocore.stub import ANY

    monkeypatch.setattr("runbook.verify_traffic.now", lambda: NOW + 5)
    runtime = make_runtime(verify_traffic.STEP, {"REGION_ROLE": role, "PRIMARY_HEALTH_CHECK_ID": setting,
                                                 "PRIMARY_HEALTH_CHECK_NAME": "unused", "ROUTE53_METRICS_REGION": METRICS_REGION})
    cloudwatch, stubber = _stubbed("cloudwatch", METRICS_REGION)
    if error:
        stubber.add_client_error("get_metric_data", service_error_code=error[1], http_status_code=error[0])
    else:
        stat = "Maximum" if role == "secondary" else "Minimum"
        stubber.add_response("get_metric_data", {"MetricDataResults": [{
            "Id": "status", "StatusCode": "Complete",
            "Timestamps": [datetime.fromtimestamp(start, timezone.utc) for start, _ in minutes],
            "Values": [value for _, value in minutes],
        }]}, {"StartTime": ANY, "EndTime": ANY, "ScanBy": "TimestampDescending", "MetricDataQueries": [{
            "Id": "status", "MetricStat": {"Metric": {"Namespace": "AWS/Route53", "MetricName": "HealthCheckStatus",
                                                      "Dimensions": [{"Name": "HealthCheckId", "Value": "hc-primary"}]},
                                           "Period": 60, "Stat": stat},
        }]})
    runtime._clients["cloudwatch", METRICS_REGION] = cloudwatch
    result = verify_traffic.run({"failover_id": "f-1", "since": since, "primary_check": primary_check}, runtime)
    stubber.assert_no_pending_responses()
    return result


@pytest.mark.parametrize("role, newest, verified", [
    ("secondary", 0.0, True),   # failing over: the PRIMARY record's check unhealthy, Route 53 answers with DR
    ("secondary", 1.0, False),
    ("primary", 1.0, True),     # failing back: the PRIMARY record's check healthy again
    ("primary", 0.0, False),
])
def test_traffic_is_verified_by_the_primary_checks_status_after_the_switch(make_runtime, monkeypatch, role, newest, verified):
    since = NOW - 120
    result = _verify(make_runtime, monkeypatch, role, since, [(NOW - 60, newest), (NOW - 180, 1.0 - newest)])
    assert result == {"ready": verified, "verified": verified, "primary_record_status": newest, "primary_check": "hc-primary"}


def test_the_primary_check_found_once_is_passed_back_and_used(make_runtime, monkeypatch):
    """The state machine passes the check back: a later poll reads it, not the setting or a lookup."""
    result = _verify(make_runtime, monkeypatch, "secondary", NOW - 120, [(NOW - 60, 0.0)], primary_check="hc-primary", setting="hc-other")
    assert (result["verified"], result["primary_check"]) == (True, "hc-primary")


def test_a_status_minute_from_before_the_switch_is_not_the_move(make_runtime, monkeypatch):
    result = _verify(make_runtime, monkeypatch, "secondary", since=NOW - 30, minutes=[(NOW - 60, 0.0)])
    assert (result["ready"], result["verified"]) == (False, False)
    assert _verify(make_runtime, monkeypatch, "secondary", since=NOW - 30, minutes=[])["primary_record_status"] is None


def test_the_metrics_region_not_answering_leaves_traffic_unverified_but_a_denied_call_fails(make_runtime, monkeypatch):
    result = _verify(make_runtime, monkeypatch, "secondary", since=NOW - 120, error=(503, "ServiceUnavailable"))
    assert result == {"ready": True, "verified": False, "reason": "Route 53's view could not be read (ClientError)"}
    with pytest.raises(Exception, match="AccessDenied"):
        _verify(make_runtime, monkeypatch, "secondary", since=NOW - 120, error=(403, "AccessDenied"))


def _confirm(make_runtime, role: str = "secondary"):
    return switch_traffic.run({"failover_id": "f-1", "confirm": True}, make_runtime(switch_traffic.STEP, _switch_settings(role)))


def test_the_switch_is_confirmed_once_its_newest_period_holds_the_position(switch_alarm, make_runtime, calls):
    cloudwatch, timing = switch_alarm
    _publish_earlier(cloudwatch, timing, timing["throw_value"])
    result = _confirm(make_runtime)
    assert (result["ready"], result["action"]) == (True, "throw")
    assert calls.of("cloudwatch") == ["GetMetricData"], "a confirmation reads only"
    assert not _confirm(make_runtime, "primary")["ready"], "the same data is not a release"


def test_a_switch_not_readable_yet_is_not_confirmed_and_not_published_again(switch_alarm, make_runtime, calls):
    result = _confirm(make_runtime)
    assert result["ready"] is False and "republished" not in result
    assert "PutMetricData" not in calls.of("cloudwatch")


def test_both_positions_in_an_older_period_are_converged_by_publishing_again(switch_alarm, make_runtime, calls):
    """That period's Maximum reads as thrown to the alarm: failing back, the release is published again."""
    cloudwatch, timing = switch_alarm
    _publish_earlier(cloudwatch, timing, timing["throw_value"])
    _publish_earlier(cloudwatch, timing, timing["release_value"])
    result = _confirm(make_runtime, "primary")
    assert (result["ready"], result.get("republished")) == (False, True)
    assert calls.of("cloudwatch") == ["GetMetricData", "PutMetricData"]
    assert _published(cloudwatch, timing) == [timing["release_value"], timing["throw_value"]]


FENCE_SETTINGS = {"CLUSTER_NAME": CLUSTER, "SERVICE_NAME": SERVICE, "PEER_REGION": PEER, "FENCE_DRAIN_SECONDS": str(FENCE_DRAIN_SECONDS)}
DRAINED = NOW - FENCE_DRAIN_SECONDS  # fenced exactly the drain time ago


def _fence(make_runtime, monkeypatch=None, running: int | None = None, pending: int = 0, fenced_at: float = DRAINED,
           error: tuple[int, str] | None = None):
    """check_capacity's fence check against the old primary's ECS service in the peer region, at NOW."""
    from runbook import check_capacity

    if monkeypatch:
        monkeypatch.setattr("runbook.check_capacity.now", lambda: NOW)
    runtime = make_runtime(check_capacity.STEP, FENCE_SETTINGS)
    ecs, stubber = _stubbed("ecs", PEER)
    if error:
        stubber.add_client_error("describe_services", service_error_code=error[1], http_status_code=error[0])
    else:
        stubber.add_response("describe_services", {"services": [
            {"serviceName": SERVICE, "runningCount": running, "pendingCount": pending, "desiredCount": 0}
        ]}, {"cluster": CLUSTER, "services": [SERVICE]})
    runtime._clients["ecs", PEER] = ecs
    result = check_capacity.run({"failover_id": "f-1", "check": "fence", "fenced_at": fenced_at}, runtime)
    stubber.assert_no_pending_responses()
    return result


def test_the_fence_holds_only_once_the_old_primarys_tasks_have_stopped(make_runtime, monkeypatch):
    assert _fence(make_runtime, monkeypatch, running=0) == {"ready": True, "running": 0, "drained": True}
    assert _fence(make_runtime, monkeypatch, running=2) == {"ready": False, "running": 2, "drained": True}, "draining tasks can still take writes"
    assert _fence(make_runtime, monkeypatch, running=0, pending=1) == {"ready": False, "running": 1, "drained": True}, "a starting task too"


def test_the_fence_is_not_ready_before_the_drain_time_even_with_no_task_running(make_runtime, monkeypatch):
    """runningCount drops when draining starts (DEACTIVATING is not RUNNING): the drain itself is waited out."""
    assert FENCE_DRAIN_SECONDS > 0
    early = _fence(make_runtime, monkeypatch, running=0, fenced_at=DRAINED + 1)
    assert early == {"ready": False, "running": 0, "drained": False}


def test_an_unreachable_old_primary_region_is_fenced_but_a_denied_call_fails(make_runtime):
    result = _fence(make_runtime, error=(503, "ServiceUnavailableException"))
    assert (result["ready"], result["running"]) == (True, None) and PEER in result["reason"]
    with pytest.raises(Exception, match="AccessDenied"):
        _fence(make_runtime, error=(400, "AccessDeniedException"))


def test_capacity_needs_a_healthy_target_and_an_unknown_check_is_refused(aws, make_runtime):
    from runbook import check_capacity

    vpc = aws_client("ec2").create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    group = aws_client("elbv2").create_target_group(Name="app", Protocol="HTTP", Port=8080, VpcId=vpc, TargetType="ip")
    runtime = make_runtime(check_capacity.STEP, {"TARGET_GROUP_ARN": group["TargetGroups"][0]["TargetGroupArn"]})
    assert check_capacity.run({"failover_id": "f-1"}, runtime) == {"ready": False, "healthy_targets": 0}
    with pytest.raises(check_capacity.StepError, match="check must be"):
        check_capacity.run({"failover_id": "f-1", "check": "other"}, runtime)
