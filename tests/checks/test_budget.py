"""The RTO/RPO budget: every step of an unplanned failover, the detection that survives the lost region."""

from __future__ import annotations

from pathlib import Path

import pytest

from checks import budget
from checks.pipeline import GateFailure, publish, write_tree
from templates import runbook
from templates.config import Config, ConfigError, DnsConfig, Objectives, RunbookConfig, config_from_mapping
from templates.render import render


def _budget(cfg: Config, tmp_path: Path) -> budget.Budget:
    write_tree(render(cfg), tmp_path)
    return budget.compute(cfg, tmp_path)


def _phases(report: budget.Budget) -> dict[str, int]:
    return {phase.name: phase.seconds for phase in report.phases}


def test_every_step_of_the_run_is_counted_in_run_order(tmp_path):
    """Issue 20.8: the fence, the admit step, every check of every loop and one transient
    error are counted, besides the waits."""
    cfg = Config()
    report = _budget(cfg, tmp_path)
    phases = _phases(report)
    step, call = budget.INVOCATION_SECONDS, runbook.WORST_CALL_SECONDS
    w = runbook.waits(cfg)
    assert list(phases) == [
        "detection", "decision", "admit", "fence", "scale", "capacity", "promote", "promotion", "switch", "traffic", "one error",
    ]
    assert phases["capacity"] == w["capacity"].wait_seconds + w["capacity"].checks * step == 120 + 13 * step
    assert phases["promotion"] == w["promotion"].wait_seconds + w["promotion"].checks * step == 240 + 13 * step
    # The old tasks drain (30 s) and stop (30 s): the fence waits for them, 8 checks.
    assert phases["fence"] == step + w["fence"].wait_seconds + w["fence"].checks * step == step + 70 + 8 * step
    assert phases["one error"] == step + call + budget.FIRST_RETRY_SECONDS
    assert phases["traffic"] == 60 + 60
    assert report.serving_seconds == sum(phases.values()) == 1046
    assert report.problems() == []
    assert report.rpo_alert_seconds == cfg.objectives.rpo_seconds * cfg.alerts.lag_alarm_fraction_of_rpo


def test_read_backs_after_the_switch_and_the_follow_are_shown_but_not_counted(tmp_path):
    report = _budget(Config(), tmp_path)
    after = {phase.name: phase for phase in report.after_serving}
    assert set(after) == {"switch seen", "traffic seen", "follow", "report"}
    # The report step: one invocation, and one more after each HistoryBehind retry's longest wait.
    retry = runbook.HISTORY_RETRY
    assert after["report"].seconds == budget.INVOCATION_SECONDS * (1 + retry["MaxAttempts"]) + sum(
        retry["IntervalSeconds"] * retry["BackoffRate"] ** n for n in range(retry["MaxAttempts"])
    ), "the run's report step and its HistoryBehind retries"
    assert after["follow"].seconds >= 60 * 60 and "over budget" in after["follow"].source
    assert not set(after) & set(_phases(report))
    assert any("not in the RTO" in line and "follow" in line for line in report.table())


def test_losing_route53s_region_leaves_detection_to_the_dr_regions_lag_alarms(tmp_path):
    """Issue 20.8: the default primary is us-east-1, where the Route 53 alarms live."""
    cfg = Config()
    assert cfg.route53_metrics_region == cfg.primary_region
    report = _budget(cfg, tmp_path)
    primary_lost = report.detectors[f"primary ({cfg.primary_region})"]
    assert all(detector.region == cfg.dr_region for detector in primary_lost)
    assert [d.alarm for d in primary_lost] == ["aurora-rpo-lag / aurora-replication-lag (peer-region-impaired)", "dr-not-ready"]
    detection = report.phases[0]
    assert detection.seconds == 30 + 60 and "us-west-2" in detection.source
    # The backstop when Aurora publishes no lag: the readiness alarm, and a person deciding.
    assert report.serving_by_backstop_seconds == report.serving_seconds - 90 + 600


def test_a_primary_elsewhere_is_detected_by_route53s_alarm(tmp_path):
    cfg = Config(primary_region="us-west-2", dr_region="us-east-1",
                 dns=DnsConfig(health_check_interval_seconds=30, health_check_failure_threshold=5))
    report = _budget(cfg, tmp_path)
    assert report.phases[0].seconds == 150 + 60 and report.phases[0].source.startswith("route53-primary-unhealthy in us-east-1")
    assert report.serving_by_backstop_seconds is None
    # The DR region's loss: Route 53's secondary alarm is lost with it, the primary's readiness alarm pages.
    assert [d.alarm for d in report.detectors["DR (us-east-1)"]] == ["dr-not-ready"]
    # The traffic read-back reaches Route 53's metrics region, which survives: the whole loop.
    traffic_seen = {p.name: p.seconds for p in report.after_serving}["traffic seen"]
    assert traffic_seen == runbook.waits(cfg)["traffic"].wait_seconds + runbook.waits(cfg)["traffic"].checks * budget.INVOCATION_SECONDS


def test_the_automatic_trigger_asks_route53_in_the_lost_region(tmp_path):
    cfg = Config(runbook=RunbookConfig(automatic_trigger=True))
    phases = {p.name: p for p in _budget(cfg, tmp_path).phases}
    assert phases["decision"].seconds == 60 and "automatic" in phases["decision"].source
    assert phases["admit"].seconds == budget.INVOCATION_SECONDS + runbook.WORST_CALL_SECONDS


def test_phases_say_whose_time_they_are_and_what_changes_them(tmp_path):
    """Issue 20.12: AWS's time and ours are told apart."""
    phases = {p.name: p for p in _budget(Config(), tmp_path).phases}
    assert {name for name, p in phases.items() if p.owner == budget.AWS} == {"detection", "fence", "capacity", "promotion", "traffic"}
    assert phases["promotion"].setting == "runbook.writer_poll_seconds, runbook.writer_max_polls"
    assert phases["capacity"].setting.startswith("objectives.task_start_seconds")
    assert phases["decision"].setting.startswith("objectives.decision_seconds")


def test_render_fails_when_the_design_cannot_meet_the_rto(tmp_path):
    cfg = Config(objectives=Objectives(rto_seconds=300))
    with pytest.raises(GateFailure) as caught:
        publish(cfg, tmp_path / "out", tmp_path / "build", progress=lambda _: None)
    assert caught.value.problems == ["RTO: serving from the DR region takes up to 1046 s, over the 300 s objective"]
    assert not (tmp_path / "out").exists()


def test_a_missed_objective_is_refused_with_the_table_and_the_settings():
    """Issue 20.13: one line naming the field, then the phase table and what changes each phase;
    decided on the render path (the configuration alone cannot: issue 25, no import of checks/)."""
    from checks.budget import refuse

    cfg = config_from_mapping({"objectives": {"rto_seconds": 600}})
    with pytest.raises(ConfigError) as caught:
        refuse(cfg)
    assert str(caught.value) == "objectives.rto_seconds: RTO: serving from the DR region takes up to 1046 s, over the 600 s objective"
    details = caught.value.details
    assert details[0].startswith("phase") and any(line.startswith("serving") for line in details)
    assert "promotion 266 s: runbook.writer_poll_seconds, runbook.writer_max_polls" in details
    assert "decision 300 s: objectives.decision_seconds (or runbook.automatic_trigger)" in details


def test_promotion_is_budgeted_at_the_runbooks_longest_wait(tmp_path):
    """Issue 11.7: the budget counts the wait the runbook allows, not AWS's marketing minute."""
    cfg = Config(runbook=RunbookConfig(writer_poll_seconds=20, writer_max_polls=30))
    report = _budget(cfg, tmp_path)
    assert _phases(report)["promotion"] == 600 + 31 * budget.INVOCATION_SECONDS
    assert report.problems() == [f"RTO: serving from the DR region takes up to {report.serving_seconds} s, over the 1200 s objective"]


@pytest.mark.parametrize(
    ("section", "values", "field_path"),
    [
        ("runbook", {"writer_max_polls": 1}, "runbook.writer_max_polls"),
        ("runbook", {"writer_poll_seconds": 20, "writer_max_polls": 5}, "runbook.writer_max_polls"),
        ("objectives", {"task_start_seconds": 1}, "objectives.task_start_seconds"),
        ("objectives", {"task_start_seconds": 59}, "objectives.task_start_seconds"),
    ],
)
def test_waits_shorter_than_aws_documents_are_refused(section, values, field_path):
    """Issue 20.12: the objective cannot be met by giving up early."""
    with pytest.raises(ConfigError) as caught:
        config_from_mapping({section: values})
    assert caught.value.field_path == field_path


def test_the_floors_themselves_are_accepted():
    cfg = config_from_mapping({"runbook": {"writer_poll_seconds": 20, "writer_max_polls": 6}, "objectives": {"task_start_seconds": 60}})
    assert cfg.runbook.writer_wait_seconds == 120 and cfg.objectives.task_start_seconds == 60


def test_runbook_timing_lets_a_dead_steps_claim_be_taken_over(tmp_path):
    """Issue 11.2: lease > timeout, the retries of a claimed step outlast the lease, for every allowed timeout."""
    for timeout in (60, 120, 300):
        timing = _budget(Config(runbook=RunbookConfig(function_timeout_seconds=timeout)), tmp_path).runbook_timing
        assert timing["function_timeout_seconds"] < timing["lease_seconds"] < timing["in_progress_retry_span_seconds"]
        assert timing["safety_margin_seconds"] > timing["worst_call_seconds"]


def test_a_run_that_could_pass_step_functions_history_quota_is_refused():
    """Past 25,000 events an execution fails with no catch: no failure notification, no report.
    The default's worst case (every loop to its end, every retry) fits; following a promotion
    for four hours at the default poll does not."""
    from checks.budget import refuse
    from templates import runbook

    assert runbook.history_events(Config()) < runbook.HISTORY_EVENTS_QUOTA
    refuse(Config())
    cfg = config_from_mapping({"runbook": {"follow_promotion_minutes": 240}})
    with pytest.raises(ConfigError, match=r"^runbook.follow_promotion_minutes: a run may write \d+ history events"):
        refuse(cfg)
