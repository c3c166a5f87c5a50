"""The runbook as each region deploys it: functions, their logs and roles, the state
machine's structure (retries, catches, bounded wait), and the opt-in automatic trigger."""

from __future__ import annotations

import json

import pytest
from cloud_radar.cf.unit import Template as ResolvedTemplate

from template_support import data_key_arn, resolve, resources_of_type
from templates import alerting, naming, readiness, runbook
from templates.config import Config, LogsConfig, Objectives, RunbookConfig
from templates.render import artifacts, render

ACCOUNT = ResolvedTemplate.AccountId


def _functions(resolved: dict) -> dict[str, dict]:
    """Every function of the template: the runbook's steps, the alert relay, readiness."""
    return {name: r["Properties"] for name, r in resources_of_type(resolved, "AWS::Lambda::Function").items()}


def test_every_step_is_a_python_312_function_with_tracing_from_the_hashed_zip(cfg, region_view):
    region, resolved = region_view
    functions = _functions(resolved)
    assert set(functions) == {runbook.logical_id(step) for step in runbook.STEPS} | {alerting.RELAY_FUNCTION, readiness.READINESS_FUNCTION}
    (key,) = artifacts()
    for step in runbook.STEPS:
        props = functions[runbook.logical_id(step)]
        assert (props["Runtime"], props["Handler"]) == ("python3.12", f"runbook.{step}.handler")
        assert props["TracingConfig"] == {"Mode": "Active"}
        assert props["Code"] == {"S3Bucket": naming.artifact_bucket(cfg).for_region(region).replace("0" * 12, ACCOUNT), "S3Key": key}
        assert len(props["FunctionName"]) <= 64
        env = props["Environment"]["Variables"]
        assert env["AWS_ACCOUNT_ID"] == ACCOUNT, "seed defect 9: the account comes from the template"
        assert env["IDEMPOTENCY_TABLE"] == runbook.TABLE


def test_every_function_has_its_own_retained_encrypted_log_group_created_first(cfg, region_view):
    region, resolved = region_view
    for logical, props in _functions(resolved).items():
        group_id = f"{logical}LogGroup"
        group = resolved["Resources"][group_id]["Properties"]
        assert group["LogGroupName"] == f"/aws/lambda/{props['FunctionName']}"
        assert (group["RetentionInDays"], group["KmsKeyId"]) == (_retention(cfg, group["LogGroupName"]), data_key_arn(region))
        assert resolved["Resources"][logical]["DependsOn"] == group_id
        assert props["LoggingConfig"]["LogGroup"] == group["LogGroupName"]


def test_every_log_group_in_every_template_has_retention_and_a_key(rendered, cfg):
    for name in ("regional.json",):
        for region in cfg.regions:
            resolved = resolve(json.loads(rendered[name]), cfg, region)
            groups = resources_of_type(resolved, "AWS::Logs::LogGroup").values()
            assert len(groups) == 3 + 1 + len(runbook.STEPS) + 2, "flow logs, app, collector, state machine, each step, relay, readiness"
            for group in groups:
                assert group["Properties"]["RetentionInDays"] == _retention(cfg, group["Properties"]["LogGroupName"])
                assert group["Properties"]["KmsKeyId"] == data_key_arn(region)
            kinds = {group["Properties"]["RetentionInDays"] for group in groups}
            assert kinds == {cfg.logs.retention_days, cfg.logs.flow_logs_retention_days, cfg.logs.runbook_retention_days}


def test_each_kind_of_log_keeps_its_own_retention():
    cfg = Config(logs=LogsConfig(retention_days=30, flow_logs_retention_days=400, runbook_retention_days=731))
    document = json.loads(render(cfg)["regional.json"])
    groups = [r["Properties"] for r in document["Resources"].values() if r["Type"] == "AWS::Logs::LogGroup"]
    names = [g["LogGroupName"]["Fn::Sub"] if isinstance(g["LogGroupName"], dict) else g["LogGroupName"] for g in groups]
    assert {(_retention(cfg, name), g["RetentionInDays"]) for name, g in zip(names, groups)} == {(30, 30), (400, 400), (731, 731)}


def _retention(cfg, name: str) -> int:
    """Each kind of log its own retention: flow logs and the runbook's history are read in an audit."""
    if name == naming.flow_log_group(cfg).pattern:
        return cfg.logs.flow_logs_retention_days
    runbook_names = [f"/aws/lambda/{naming.runbook_function(cfg, step).pattern}" for step in runbook.STEPS]
    if name in runbook_names or name.startswith("/aws/vendedlogs/states/"):
        return cfg.logs.runbook_retention_days
    return cfg.logs.retention_days


def test_switch_step_targets_the_dr_regions_switch_from_either_region(cfg, template):
    for region, role in ((cfg.dr_region, "secondary"), (cfg.primary_region, "primary")):
        env = _functions(resolve(template, cfg, region))["SwitchTrafficFunction"]["Environment"]["Variables"]
        assert (env["SWITCH_REGION"], env["REGION_ROLE"]) == (cfg.dr_region, role)


def _definition(resolved: dict) -> dict:
    (machine,) = resources_of_type(resolved, "AWS::StepFunctions::StateMachine").values()
    return machine["Properties"]["Definition"], machine["Properties"]


def test_state_machine_runs_the_steps_in_order_with_retries_and_catches(cfg, region_view):
    _, resolved = region_view
    definition, props = _definition(resolved)
    states = definition["States"]
    # The path through every step: each choice takes its first branch (fence, ready, failing
    # back) except the request's refusals, which the walk passes.
    order, state = [], definition["StartAt"]
    while states[state]["Type"] not in ("Succeed", "Fail"):
        order.append(state)
        current = states[state]
        if state == "RequestRefused?":
            state = current["Default"]
        else:
            state = current["Choices"][0]["Next"] if current["Type"] == "Choice" else current["Next"]
    assert [s for s in order if states[s]["Type"] == "Task"] == [
        "AdmitAutomaticRun", "FenceOldPrimary", "CheckDrain", "ScaleService", "CheckCapacity", "PromoteDatabase", "CheckWriter",
        "SwitchTraffic", "CheckSwitch", "CheckTraffic", "ReturnPeerToStandby", "ReportSucceeded", "Notify",
    ]
    for name, body in states.items():
        if body["Type"] != "Task" or name in ("NotifyFailure", "ReportSucceeded", "ReportFailed"):
            continue
        final, period_busy, in_progress, transient = body["Retry"]
        assert period_busy["ErrorEquals"] == ["SwitchPeriodBusy"] and period_busy["IntervalSeconds"] == 60
        lease = runbook.timing(cfg)["lease_seconds"]
        assert in_progress["ErrorEquals"] == ["StepInProgress"]
        assert in_progress["IntervalSeconds"] * in_progress["MaxAttempts"] > lease, "a dead holder's claim is taken over"
        assert final["MaxAttempts"] == 0 and "DataLossNotAccepted" in final["ErrorEquals"], "no retry can fix these"
        assert transient["ErrorEquals"] == ["States.ALL"] and transient["JitterStrategy"] == "FULL"
        assert transient["BackoffRate"] > 1 and transient["MaxAttempts"] == 6 and transient["MaxDelaySeconds"] == 30
        # The failure path pages on-call first (Notify's own failure included), then writes the report.
        assert body["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.run.error", "Next": "NotifyFailure"}]
    assert states["NotifyFailure"]["Next"] == "FailoverServed?" == states["NotifyFailure"]["Catch"][0]["Next"]
    assert states["FailoverServed?"]["Default"] == "ReportFailed" and states["ReportFailed"]["Next"] == "Failed"
    assert states["Failed"]["Type"] == "Fail"
    assert props["TracingConfiguration"] == {"Enabled": True}
    assert props["LoggingConfiguration"]["Level"] == "ALL"
    # Every function the definition names is substituted with that function's ARN.
    assert {key for key in props["DefinitionSubstitutions"] if key.endswith("Function")} == {
        runbook.logical_id(step) for step in runbook.STEPS
    }


def test_waiting_for_the_writer_is_bounded():
    cfg = Config(runbook=RunbookConfig(writer_poll_seconds=15, writer_max_polls=8))
    states = runbook.definition(cfg)["States"]
    assert states["WaitBeforeWriterCheck"]["Seconds"] == 15
    (too_long,) = states["WriterWaitedTooLong?"]["Choices"]
    # An immediate check, then 8 waits of 15 s: the 120 s the budget counts.
    assert (too_long["NumericGreaterThanEquals"], too_long["Next"]) == (9, "PromotionUnderWay?")
    assert states["RememberWriterPolls"]["Next"] == "CheckWriter"
    # Out of budget: a promotion towards this region is followed (bounded), anything else fails.
    (following,) = states["PromotionUnderWay?"]["Choices"]
    assert (following["Variable"], following["Next"]) == ("$.run.steps.writer.result.promotion_here", "CheckPromotion")
    assert states["PromotionUnderWay?"]["Default"] == "WriterTimedOut" and states["WriterTimedOut"]["Next"] == "NotifyFailure"
    assert states["CheckPromotion"]["Parameters"]["FunctionName"] == "${WaitForWriterFunction}"
    (followed,) = states["PromotionReady?"]["Choices"]
    assert followed["Next"] == "SwitchTraffic"
    (gave_up,) = states["PromotionWaitedTooLong?"]["Choices"]
    assert gave_up["NumericGreaterThanEquals"] == cfg.runbook.follow_promotion_minutes * 60 // 15 + 1
    assert states["PromotionTimedOut"]["Result"]["Error"] == "PromotionStillRunning"


def test_traffic_moves_only_after_a_healthy_target_and_is_verified_after():
    """Issue 11.3: capacity is checked (bounded) before the switch, Route 53's view after it."""
    cfg = Config(runbook=RunbookConfig(health_poll_seconds=10), objectives=Objectives(task_start_seconds=60))
    states = runbook.definition(cfg)["States"]
    assert states["ScaleService"]["Next"] == "CheckCapacity"
    (ready,) = states["CapacityReady?"]["Choices"]
    assert ready["Next"] == "PromoteDatabase", "the writer (and then the switch) only after a healthy target"
    assert states["CapacityTimedOut"]["Result"]["Error"] == "CapacityNotReady"
    assert states["CapacityTimedOut"]["Next"] == "NotifyFailure"
    assert states["CheckCapacity"]["Parameters"]["Payload"]["check"] == "capacity"
    # The switch is published once, then confirmed by its own bounded, read-only poll.
    assert (states["SwitchTraffic"]["ResultPath"], states["SwitchTraffic"]["Next"]) == ("$.run.steps.switch_publish", "CheckSwitch")
    assert "confirm" not in states["SwitchTraffic"]["Parameters"]["Payload"]
    assert states["CheckSwitch"]["Parameters"]["Payload"]["confirm"] is True
    (confirmed,) = states["SwitchReady?"]["Choices"]
    assert confirmed["Next"] == "CheckTraffic"
    assert states["SwitchTimedOut"]["Result"]["Error"] == "SwitchNotConfirmed"
    # Route 53's view counts only from the period the switch was confirmed to hold.
    assert states["CheckTraffic"]["Parameters"]["Payload"]["since.$"] == "$.run.steps.switch.result.position_since"
    # The PRIMARY record's check is looked up once: "unknown" at the start, then passed back.
    assert states["Begin"]["Result"]["steps"]["traffic"]["result"]["primary_check"] == "unknown"
    assert states["CheckTraffic"]["Parameters"]["Payload"]["primary_check.$"] == "$.run.steps.traffic.result.primary_check"
    assert states["CheckTraffic"]["ResultPath"] == "$.run.steps.traffic"
    (verified,) = states["TrafficReady?"]["Choices"]
    assert verified["Next"] == "FailingBack?"
    # Route 53 late is not a failed run (the writer and the switch have moved): the run goes
    # on, traffic unverified, and a failback keeps the DR service at failover capacity.
    (late,) = states["TrafficWaitedTooLong?"]["Choices"]
    unverified = states[late["Next"]]
    assert late["Next"] == "TrafficUnverified" and unverified["Type"] == "Pass"
    assert unverified["ResultPath"] == "$.run.steps.traffic.result" and unverified["Next"] == "FailingBack?"
    assert (unverified["Result"]["ready"], unverified["Result"]["verified"]) == (True, False)
    (failing_back,) = states["FailingBack?"]["Choices"]
    assert {"Variable": "$.run.steps.traffic.result.verified", "BooleanEquals": True} in failing_back["And"]
    assert not [name for name, body in states.items() if isinstance(body.get("Result"), dict) and body["Result"].get("Error") == "TrafficNotVerified"]
    assert states["WaitBeforeCapacityCheck"]["Seconds"] == 10
    (too_long,) = states["CapacityWaitedTooLong?"]["Choices"]
    assert too_long["NumericGreaterThanEquals"] == 7, "an immediate check, then 6 waits of 10 s cover a 60 s task start"
    # Each loop counts its own polls.
    for noun in ("Drain", "Capacity", "Writer", "Promotion", "Switch", "Traffic"):
        assert states[f"Remember{noun}Polls"]["ResultPath"] == f"$.run.polls.{noun.lower()}"


def test_an_unplanned_failover_waits_for_the_old_primarys_tasks_to_stop_before_scaling():
    cfg = Config(runbook=RunbookConfig(health_poll_seconds=10))
    states = runbook.definition(cfg)["States"]
    (fence,) = states["FenceFirst?"]["Choices"]
    assert fence["Next"] == "FenceOldPrimary" and states["FenceFirst?"]["Default"] == "ScaleService"
    assert states["FenceOldPrimary"]["Parameters"]["Payload"]["direction"] == "fence"
    (fenced,) = states["Fenced?"]["Choices"]
    assert fenced["Next"] == "CheckDrain" and states["Fenced?"]["Default"] == "ScaleService"
    assert states["CheckDrain"]["Parameters"]["FunctionName"] == "${CheckCapacityFunction}"
    payload = states["CheckDrain"]["Parameters"]["Payload"]
    # The drain is timed from the fence step's own clock ("at"), which a rerun replays.
    assert (payload["check"], payload["fenced_at.$"]) == ("fence", "$.run.steps.fence.result.at")
    assert states["FenceOldPrimary"]["ResultPath"] == "$.run.steps.fence"
    (stopped,) = states["DrainReady?"]["Choices"]
    assert stopped["Next"] == "ScaleService"
    assert states["DrainTimedOut"]["Result"]["Error"] == "FenceNotConfirmed" and states["DrainTimedOut"]["Next"] == "NotifyFailure"
    # The drain check waits out the targets' draining and the tasks' stop timeout, and the
    # loop outlasts it by at least a poll, so a drained fence is seen before the timeout.
    assert runbook.FENCE_DRAIN_SECONDS == runbook.DEREGISTRATION_DELAY_SECONDS + runbook.ECS_STOP_TIMEOUT_SECONDS
    wait = runbook.waits(cfg)["fence"]
    assert wait.noun == "Drain" and wait.wait_seconds >= runbook.FENCE_DRAIN_SECONDS + cfg.runbook.health_poll_seconds


def test_the_drain_check_gets_the_drain_time_the_state_machine_waits_for(cfg, region_view):
    _, resolved = region_view
    env = _functions(resolved)[runbook.logical_id("check_capacity")]["Environment"]["Variables"]
    assert env["FENCE_DRAIN_SECONDS"] == str(runbook.FENCE_DRAIN_SECONDS) == "60"


def test_a_request_no_retry_can_fix_is_refused_before_any_step():
    states = runbook.definition(Config())["States"]
    loss, failback = states["RequestRefused?"]["Choices"]
    assert (loss["Next"], failback["Next"], states["RequestRefused?"]["Default"]) == (
        "DataLossNotAccepted", "FailbackNeedsDrRegion", "AdmitAutomaticRun")
    for refusal in ("DataLossNotAccepted", "FailbackNeedsDrRegion"):
        assert (states[refusal]["Result"]["Error"], states[refusal]["Next"]) == (refusal, "NotifyFailure")


def test_automatic_trigger_is_off_by_default_and_starts_an_unplanned_run_when_on(cfg, template):
    assert "AutomaticFailoverRule" not in resources_of_type(resolve(template, cfg, cfg.dr_region), "AWS::Events::Rule")
    on = Config(runbook=RunbookConfig(automatic_trigger=True))
    resolved = resolve(json.loads(render(on)["regional.json"]), on, on.dr_region)
    rule = resources_of_type(resolved, "AWS::Events::Rule")["AutomaticFailoverRule"]
    pattern = rule["Properties"]["EventPattern"]
    assert pattern["resources"] == ["PeerRegionImpairedAlarm.Arn"] and pattern["detail"] == {"state": {"value": ["ALARM"]}}
    (target,) = rule["Properties"]["Targets"]
    assert json.loads(target["InputTransformer"]["InputTemplate"].replace("<id>", "x")) == {
        "failover_id": "automatic-x", "mode": "unplanned", "accept_data_loss": True, "trigger": "alarm"
    }
    # Issue 11.4: never in the primary region, so an alarm cannot start a failback.
    primary = resolve(json.loads(render(on)["regional.json"]), on, on.primary_region)
    assert "AutomaticFailoverRule" not in resources_of_type(primary, "AWS::Events::Rule")


def test_functions_publishing_to_alerts_are_the_only_roles_the_topic_admits(region_view):
    _, resolved = region_view
    policy = resolved["Resources"]["AlertsTopicPolicy"]["Properties"]["PolicyDocument"]
    statements = {s["Sid"]: s for s in policy["Statement"]}
    roles = statements["FunctionsPublish"]["Principal"]["AWS"]
    assert sorted(roles) == sorted(f"{runbook.logical_id(step)}Role.Arn" for step in runbook.STEPS)
    assert statements["NobodyElsePublishes"]["Condition"]["ArnNotEquals"]["aws:PrincipalArn"] == roles


@pytest.mark.parametrize("step", runbook.STEPS)
def test_each_function_has_its_own_role_trusted_by_lambda(region_view, step):
    _, resolved = region_view
    role = resolved["Resources"][f"{runbook.logical_id(step)}Role"]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "lambda.amazonaws.com"}
    function = resolved["Resources"][runbook.logical_id(step)]["Properties"]
    assert function["Role"] == f"{runbook.logical_id(step)}Role.Arn"


def test_every_function_has_reserved_concurrency_so_other_functions_cannot_starve_the_runbook(region_view):
    _, resolved = region_view
    for logical, props in _functions(resolved).items():
        assert props["ReservedConcurrentExecutions"] >= 1
        if logical in {runbook.logical_id(step) for step in runbook.STEPS}:
            assert props["ReservedConcurrentExecutions"] == runbook.RESERVED_CONCURRENCY


def test_an_account_that_cannot_reserve_may_turn_reservations_off():
    cfg = Config(runbook=RunbookConfig(reserve_concurrency=False))
    resolved = resolve(json.loads(render(cfg)["regional.json"]), cfg, cfg.dr_region)
    assert [logical for logical, props in _functions(resolved).items() if "ReservedConcurrentExecutions" in props] == []


def test_every_function_and_the_runbook_itself_are_alarmed(region_view):
    _, resolved = region_view
    alarms = [a["Properties"] for a in resources_of_type(resolved, "AWS::CloudWatch::Alarm").values()]
    lambda_alarms = {(a["Dimensions"][0]["Value"], a["MetricName"]) for a in alarms if a.get("Namespace") == "AWS/Lambda"}
    assert lambda_alarms == {(runbook.logical_id(s), m) for s in runbook.STEPS for m in ("Errors", "Throttles")} | {
        (alerting.RELAY_FUNCTION, "Errors"), (readiness.READINESS_FUNCTION, "Errors")
    }
    runs = {a["MetricName"] for a in alarms if a.get("Namespace") == "AWS/States"}
    assert runs == {"ExecutionsFailed", "ExecutionsTimedOut"}
    assert all(a["AlarmActions"] == ["AlertsTopic"] for a in alarms)


def test_the_timing_budget_uses_the_functions_own_call_bounds():
    """templates/runbook.py mirrors lambdas/runbook/runtime.py (templates do not import the functions)."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "lambdas"))
    from runbook import runtime

    timing = runbook.timing(Config())
    assert timing["worst_call_seconds"] == runtime.WORST_CALL_SECONDS
    assert timing["safety_margin_seconds"] == runtime.SAFETY_MARGIN_SECONDS


def test_a_failed_automatic_start_is_retried_then_kept_in_an_alarmed_dead_letter_queue():
    on = Config(runbook=RunbookConfig(automatic_trigger=True))
    resolved = resolve(json.loads(render(on)["regional.json"]), on, on.dr_region)
    rule = resources_of_type(resolved, "AWS::Events::Rule")["AutomaticFailoverRule"]
    (target,) = rule["Properties"]["Targets"]
    assert target["RetryPolicy"] == {
        "MaximumRetryAttempts": runbook.AUTOMATIC_TRIGGER_RETRIES,
        "MaximumEventAgeInSeconds": on.objectives.decision_seconds,
    }
    queue = runbook.AUTOMATIC_TRIGGER_DLQ
    assert target["DeadLetterConfig"] == {"Arn": f"{queue}.Arn"}
    assert resolved["Resources"][queue]["Properties"]["KmsMasterKeyId"] == data_key_arn(on.dr_region)
    (statement,) = resolved["Resources"][f"{queue}Policy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Condition"]["ArnEquals"]["aws:SourceArn"] == (
        f"arn:aws:events:{on.dr_region}:{ACCOUNT}:rule/{naming.automatic_failover_rule(on).pattern}"
    ), "only the automatic-failover rule's undelivered events"
    alarm = resolved["Resources"][f"{queue}Alarm"]["Properties"]
    assert (alarm["MetricName"], alarm["Threshold"], alarm["AlarmActions"]) == (
        "ApproximateNumberOfMessagesVisible", 0, ["AlertsTopic"]
    )
    off = resolve(json.loads(render(Config())["regional.json"]), Config(), Config().dr_region)
    assert queue not in off["Resources"], "no trigger, no queue"
