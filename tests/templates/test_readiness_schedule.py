"""The readiness function as rendered: its schedule, the Ready alarm that turns within two
periods, its settings in each region, and the dashboard's readiness row."""

from __future__ import annotations

import json

from template_support import resolve, resources_of_type
from templates import naming, readiness
from templates.config import Config, RunbookConfig
from templates.render import render


def test_the_schedule_runs_the_function_every_period(cfg, region_view):
    _, resolved = region_view
    (schedule,) = resources_of_type(resolved, "AWS::Scheduler::Schedule").values()
    props = schedule["Properties"]
    assert props["ScheduleExpression"] == f"rate({cfg.runbook.readiness_period_minutes} minutes)"
    assert props["Target"]["Arn"] == f"{readiness.READINESS_FUNCTION}.Arn"
    assert props["Target"]["RetryPolicy"]["MaximumEventAgeInSeconds"] == cfg.runbook.readiness_period_minutes * 60
    role = resolved["Resources"][readiness.READINESS_SCHEDULER_ROLE]["Properties"]
    (statement,) = role["Policies"][0]["PolicyDocument"]["Statement"]
    assert (statement["Action"], statement["Resource"]) == (["lambda:InvokeFunction"], [f"{readiness.READINESS_FUNCTION}.Arn"])


def test_ready_alarms_within_two_periods_and_treats_silence_as_not_ready(cfg, region_view):
    """A check fails: the next run (at most one period later) publishes 0, and the alarm's one
    evaluation period ends at most one period after that. No run at all: no data, breaching."""
    _, resolved = region_view
    alarm = resolved["Resources"][readiness.READY_ALARM]["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"], alarm.get("Dimensions")) == (naming.readiness_namespace(cfg), "Ready", None)
    assert alarm["Period"] == cfg.runbook.readiness_period_minutes * 60
    assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"], alarm["Statistic"]) == (1, 1, "Minimum")
    assert (alarm["ComparisonOperator"], alarm["Threshold"], alarm["TreatMissingData"]) == ("LessThanThreshold", 1, "breaching")
    assert alarm["AlarmActions"] == ["AlertsTopic"]


def test_each_region_checks_its_own_cluster_and_the_switch_in_the_dr_region(cfg, template):
    for region in cfg.regions:
        env = resolve(template, cfg, region)["Resources"][readiness.READINESS_FUNCTION]["Properties"]["Environment"]["Variables"]
        assert (env["PRIMARY_REGION"], env["DR_REGION"]) == cfg.regions
        assert env["SWITCH_ALARM_NAME"] == naming.failover_switch_alarm(cfg).for_region(cfg.dr_region)
        assert env["STANDING_COUNT"] == str(cfg.app.desired_count(cfg.is_primary(region)))
        assert env["DB_CLUSTER_ID"] == "DbCluster"
        assert env["METRICS_NAMESPACE"] == naming.readiness_namespace(cfg)


def test_the_period_follows_the_configuration():
    cfg = Config(runbook=RunbookConfig(readiness_period_minutes=1))
    resolved = resolve(json.loads(render(cfg)["regional.json"]), cfg, cfg.dr_region)
    (schedule,) = resources_of_type(resolved, "AWS::Scheduler::Schedule").values()
    assert schedule["Properties"]["ScheduleExpression"] == "rate(1 minute)"
    assert resolved["Resources"][readiness.READY_ALARM]["Properties"]["Period"] == 60


def test_the_dashboard_shows_every_check_for_both_regions(cfg, region_view):
    _, resolved = region_view
    (dashboard,) = resources_of_type(resolved, "AWS::CloudWatch::Dashboard").values()
    widgets = [w for w in json.loads(dashboard["Properties"]["DashboardBody"])["widgets"] if "readiness" in w["properties"]["title"]]
    assert {w["properties"]["region"] for w in widgets} == set(cfg.regions)
    for widget in widgets:
        checks = {m[3] for m in widget["properties"]["metrics"] if len(m) > 3}
        assert checks == set(naming.READINESS_CHECKS)
