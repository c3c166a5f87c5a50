"""The RTO/RPO budget: can this design meet the configured objectives?

Worst case for each phase of an unplanned failover, from the rendered
``traffic_timing.json`` and the configuration. Sources:
- detection: the primary's Route 53 HTTPS check (interval x failure threshold) plus the
  health-check alarm's one-minute period (templates/health_alarms.py);
- decision: ``objectives.decision_seconds`` for a person; with the automatic trigger,
  the lag alarm's period feeding the composite alarm;
- promotion: the longest the runbook waits for the promoted writer
  (``runbook.writer_wait_seconds``), because that is the worst case it allows. AWS's user
  guide says a managed failover completes "typically within a few minutes"
  (aurora-global-database-disaster-recovery.html); the product page's "under a minute"
  is not a bound;
- capacity: the longest the runbook waits for a healthy target behind this region's load
  balancer before it moves traffic (``objectives.task_start_seconds``, in ``runbook.health_poll_seconds`` polls; with warm standby
  the first check normally passes);
- traffic: the failover switch's alarm period plus the alias TTL (traffic_timing.json);
- full capacity: the scale-out to the failover count runs alongside the traffic switch
  (warm standby serves meanwhile), bounded by ``objectives.task_start_seconds``.
RPO: replication lag is alerted at ``alerts.lag_alarm_fraction_of_rpo`` of the RPO (the
configuration keeps it below 1); the lag actually lost is the lag at failover time, which
the runbook records and ``build.py failover --dry-run`` checks against the RPO first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from templates import dns, runbook
from templates.alerting import PERIOD_SECONDS, lag_threshold_milliseconds
from templates.config import Config
from templates.render import TRAFFIC_TIMING

HEALTH_ALARM_PERIOD_SECONDS = 60


@dataclass(frozen=True)
class Phase:
    name: str
    seconds: int
    source: str


@dataclass(frozen=True)
class Budget:
    phases: tuple[Phase, ...]
    capacity_seconds: int
    rto_objective: int
    rpo_alert_seconds: float
    rpo_objective: int
    runbook_timing: dict
    readiness_alarm_seconds: int

    @property
    def serving_seconds(self) -> int:
        return sum(phase.seconds for phase in self.phases)

    def problems(self) -> list[str]:
        """The RTO can be missed by design; the RPO alert is below the RPO by configuration;
        the runbook's lease and retries must let a killed step be taken over."""
        problems = []
        if self.serving_seconds > self.rto_objective:
            problems.append(f"RTO: serving from the DR region takes up to {self.serving_seconds} s, over the {self.rto_objective} s objective")
        timing = self.runbook_timing
        if timing["lease_seconds"] <= timing["function_timeout_seconds"]:
            problems.append("runbook: a claim's lease must outlast the function timeout, or a live step is taken over")
        if timing["in_progress_retry_span_seconds"] <= timing["lease_seconds"]:
            problems.append("runbook: the state machine stops retrying a claimed step before a dead holder's lease expires")
        if timing["function_timeout_seconds"] <= timing["safety_margin_seconds"]:
            problems.append("runbook: the function timeout leaves no time after the safety margin for one AWS call")
        return problems

    def table(self) -> list[str]:
        lines = [f"{'phase':<14} {'worst case':>10}  source"]
        lines += [f"{phase.name:<14} {phase.seconds:>8} s  {phase.source}" for phase in self.phases]
        lines.append(f"{'serving':<14} {self.serving_seconds:>8} s  objective {self.rto_objective} s")
        lines.append(f"{'full capacity':<14} {self.capacity_seconds:>8} s  scale-out runs alongside the traffic switch")
        lines.append(
            f"{'RPO alert':<14} {self.rpo_alert_seconds:>8g} s  lag alarm (1-minute metric: a sudden stall is seen up to "
            f"{PERIOD_SECONDS} s later); objective {self.rpo_objective} s"
        )
        lines.append(
            f"{'not ready':<14} {self.readiness_alarm_seconds:>8} s  a failed readiness check (lag not published, secret "
            "replica out of sync, DR short of capacity, switch against the writer) alarms, before any outage"
        )
        timing = self.runbook_timing
        lines.append(
            f"runbook steps: timeout {timing['function_timeout_seconds']} s, worst AWS call {timing['worst_call_seconds']} s "
            f"(no call starts within {timing['safety_margin_seconds']} s of the timeout), claim lease {timing['lease_seconds']} s, "
            f"a claimed step retried for {timing['in_progress_retry_span_seconds']} s"
        )
        return lines


def compute(cfg: Config, output_dir: Path) -> Budget:
    """The budget of a render, from its ``traffic_timing.json``."""
    return for_timing(cfg, json.loads((output_dir / TRAFFIC_TIMING).read_text(encoding="utf-8")))


def objection(cfg: Config) -> tuple[str, str] | None:
    """The field and reason a configuration's design cannot meet its objectives, if it cannot:
    the configuration's validation refuses it before anything renders."""
    problems = for_timing(cfg, dns.timing(cfg)).problems()
    if not problems:
        return None
    field_path = "objectives.rto_seconds" if problems[0].startswith("RTO") else "runbook.function_timeout_seconds"
    return field_path, problems[0]


def for_timing(cfg: Config, timing: dict) -> Budget:
    decision = (
        Phase("decision", PERIOD_SECONDS, "automatic trigger: the lag alarm's period")
        if cfg.runbook.automatic_trigger
        else Phase("decision", cfg.objectives.decision_seconds, "objectives.decision_seconds (a person decides)")
    )
    phases = (
        Phase(
            "detection",
            timing["endpoint_failure_detection_seconds"] + HEALTH_ALARM_PERIOD_SECONDS,
            "Route 53 check interval x threshold + health-check alarm period",
        ),
        decision,
        Phase("promotion", cfg.runbook.writer_wait_seconds, "the runbook's writer wait (poll x max polls); AWS: typically a few minutes"),
        Phase("capacity", cfg.health_wait_seconds, "the runbook's wait for a healthy target here before the switch"),
        Phase("traffic", timing["dns_after_switch_seconds"], "switch alarm period + alias TTL (traffic_timing.json)"),
    )
    serving = sum(phase.seconds for phase in phases)
    traffic = phases[-1].seconds
    return Budget(
        phases=phases,
        capacity_seconds=serving - traffic + max(traffic, cfg.objectives.task_start_seconds),
        rto_objective=cfg.objectives.rto_seconds,
        rpo_alert_seconds=lag_threshold_milliseconds(cfg) / 1000,
        rpo_objective=cfg.objectives.rpo_seconds,
        runbook_timing=runbook.timing(cfg),
        # The next scheduled run publishes the failure, the alarm's one period then ends.
        readiness_alarm_seconds=2 * cfg.runbook.readiness_period_minutes * 60,
    )
