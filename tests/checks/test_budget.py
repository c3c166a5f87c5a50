"""The RTO/RPO budget: phases from the rendered timing and the configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from checks import budget
from checks.pipeline import GateFailure, publish, write_tree
from templates.config import Config, DnsConfig, Objectives, RunbookConfig
from templates.render import render


def _budget(cfg: Config, tmp_path: Path) -> budget.Budget:
    write_tree(render(cfg), tmp_path)
    return budget.compute(cfg, tmp_path)


def test_default_design_meets_its_objectives_phase_by_phase(tmp_path):
    cfg = Config()
    report = _budget(cfg, tmp_path)
    phases = {phase.name: phase.seconds for phase in report.phases}
    assert phases == {
        "detection": cfg.dns.health_check_interval_seconds * cfg.dns.health_check_failure_threshold + 60,
        "decision": cfg.objectives.decision_seconds,
        "promotion": cfg.runbook.writer_poll_seconds * cfg.runbook.writer_max_polls,
        "capacity": cfg.objectives.task_start_seconds,
        "traffic": 60 + 60,
    }
    assert report.serving_seconds == sum(phases.values()) <= cfg.objectives.rto_seconds
    assert report.problems() == []
    assert report.rpo_alert_seconds == cfg.objectives.rpo_seconds * cfg.alerts.lag_alarm_fraction_of_rpo


def test_slower_health_checks_lengthen_detection(tmp_path):
    cfg = Config(dns=DnsConfig(health_check_interval_seconds=30, health_check_failure_threshold=5))
    assert {p.name: p.seconds for p in _budget(cfg, tmp_path).phases}["detection"] == 150 + 60


def test_automatic_trigger_replaces_the_human_decision(tmp_path):
    cfg = Config(runbook=RunbookConfig(automatic_trigger=True))
    decision = {p.name: p for p in _budget(cfg, tmp_path).phases}["decision"]
    assert decision.seconds == 60 and "automatic" in decision.source


def test_capacity_waits_for_the_slowest_of_traffic_and_task_start(tmp_path):
    cfg = Config(objectives=Objectives(task_start_seconds=400))
    report = _budget(cfg, tmp_path)
    assert report.capacity_seconds == report.serving_seconds - 120 + 400


def test_render_fails_when_the_design_cannot_meet_the_rto(tmp_path):
    cfg = Config(objectives=Objectives(rto_seconds=300))
    with pytest.raises(GateFailure) as caught:
        publish(cfg, tmp_path / "out", tmp_path / "build", progress=lambda _: None)
    assert caught.value.problems == ["RTO: serving from the DR region takes up to 870 s, over the 300 s objective"]
    assert not (tmp_path / "out").exists()


def test_promotion_is_budgeted_at_the_runbooks_longest_wait(tmp_path):
    """Issue 11.7: the budget counts the wait the runbook allows, not AWS's marketing minute."""
    cfg = Config(runbook=RunbookConfig(writer_poll_seconds=20, writer_max_polls=30))
    report = _budget(cfg, tmp_path)
    assert {p.name: p.seconds for p in report.phases}["promotion"] == 600
    assert report.problems() == ["RTO: serving from the DR region takes up to 1230 s, over the 900 s objective"]


def test_runbook_timing_lets_a_dead_steps_claim_be_taken_over(tmp_path):
    """Issue 11.2: lease > timeout, the retries of a claimed step outlast the lease, for every allowed timeout."""
    for timeout in (60, 120, 300):
        timing = _budget(Config(runbook=RunbookConfig(function_timeout_seconds=timeout)), tmp_path).runbook_timing
        assert timing["function_timeout_seconds"] < timing["lease_seconds"] < timing["in_progress_retry_span_seconds"]
        assert timing["safety_margin_seconds"] > timing["worst_call_seconds"]
