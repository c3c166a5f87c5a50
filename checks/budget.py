"""The RTO/RPO budget: can this design meet the configured objectives?

The RTO case is the primary region lost: an unplanned failover to the DR region. Serving
starts when Route 53 answers with the DR region and the DR cluster is the writer. Every
step on that path is counted, in run order (``templates/runbook.py`` ``definition`` and
``waits``), each phase marked as AWS's time (ours only bounds it) or ours (a setting):

- detection: the first alarm that survives the lost region pages on-call (``detectors``):
  Route 53's health-check alarm lives in Route 53's metrics region (us-east-1 in the aws
  partition), so when that is the primary it is lost with it, and the DR region's lag alarms
  detect the loss instead; the DR region's readiness alarm is the backstop;
- decision: ``objectives.decision_seconds`` (a person), or the lag alarm's period feeding
  the automatic trigger;
- each Lambda invocation on the path (the admit step, the fence, scale, promote and switch
  steps, and every check of every polling loop: the loops count checks, not time, so a slow
  check lengthens its loop) at ``INVOCATION_SECONDS``; a call into the lost region at the
  worst case of one AWS call (``runbook.timing``), after which the step treats the region
  as down (the fence as fenced, the admit step as evidence);
- the waits of the polling loops, at the runbook's bounds (``runbook.waits``);
- one transient error: a failed call at its worst, then the state machine's first retry;
- traffic: the switch alarm's period plus the alias TTL (traffic_timing.json).
The switch confirmation and Route 53's view are read after serving starts (Route 53
follows the alarm, not the runbook); following a promotion that outlasts the writer wait is
over budget. The table shows them, the RTO does not count them.
RPO: replication lag is alerted at ``alerts.lag_alarm_fraction_of_rpo`` of the RPO (the
configuration keeps it below 1); the lag actually lost is the lag at failover time, which
the runbook records and ``build.py failover --dry-run`` checks against the RPO first.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from templates import dns, runbook
from templates.alerting import PERIOD_SECONDS, lag_threshold_milliseconds
from templates.config import Config, ConfigError
from templates.render import TRAFFIC_TIMING

HEALTH_ALARM_PERIOD_SECONDS = 60
# One Lambda invocation whose AWS calls answer: a cold start and the calls. AWS bounds
# neither ("the Init phase is limited to 10 seconds", then it is retried within the function
# timeout: Lambda developer guide, "Understanding the Lambda execution environment
# lifecycle", https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html),
# so this is an allowance, not a bound: at the function timeout every loop would be hours.
INVOCATION_SECONDS = 2
# The state machine's first retry of a failed step (templates/runbook.py _task: States.ALL,
# IntervalSeconds 2 with full jitter).
FIRST_RETRY_SECONDS = 2
AWS, OURS = "AWS", "ours"


@dataclass(frozen=True)
class Phase:
    name: str
    seconds: int
    source: str
    owner: str = OURS
    # The configuration field that changes the phase ("" when no setting does).
    setting: str = ""


@dataclass(frozen=True)
class Detector:
    """An alarm that pages on-call when a region is lost, where it lives, and how soon."""

    alarm: str
    region: str
    seconds: int
    note: str


@dataclass(frozen=True)
class Budget:
    phases: tuple[Phase, ...]
    after_serving: tuple[Phase, ...]
    detectors: dict[str, tuple[Detector, ...]]
    capacity_seconds: int
    rto_objective: int
    rpo_alert_seconds: float
    rpo_objective: int
    runbook_timing: dict
    readiness_alarm_seconds: int
    # Serving if the lag alarms never fire (AWS does not say Aurora publishes lag while the
    # primary region is down) and the readiness alarm detects it; None when Route 53's alarm survives.
    serving_by_backstop_seconds: int | None

    @property
    def serving_seconds(self) -> int:
        return sum(phase.seconds for phase in self.phases)

    def report_plan(self) -> dict:
        """What a failover report measures a run against (lambdas/runbook/failover_report.py),
        as plain JSON: the state machine carries it to the report step."""
        return {
            "phases": [{"name": p.name, "seconds": p.seconds, "source": p.source} for p in self.phases],
            "after_serving": [{"name": p.name, "seconds": p.seconds, "source": p.source} for p in self.after_serving],
            "rto_objective": self.rto_objective,
            "rpo_objective": self.rpo_objective,
        }

    def problems(self) -> list[str]:
        """The RTO can be missed by design; the runbook's lease and retries must let a killed
        step be taken over."""
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
        row = "{:<13} {:>8}  {:<4}  {}"
        lines = [row.format("phase", "worst", "whose", "what it counts")]
        lines += [row.format(p.name, f"{p.seconds} s", p.owner, p.source) for p in self.phases]
        lines.append(row.format("serving", f"{self.serving_seconds} s", "", f"objective {self.rto_objective} s (objectives.rto_seconds)"))
        lines += [row.format(p.name, f"{p.seconds} s", p.owner, f"after serving, not in the RTO: {p.source}") for p in self.after_serving]
        lines.append(row.format("full capacity", f"{self.capacity_seconds} s", AWS, "the failover count runs (objectives.task_start_seconds after the scale step)"))
        if self.serving_by_backstop_seconds is not None:
            lines.append(
                f"if Aurora stops publishing lag while the primary region is down (AWS does not say), the readiness alarm "
                f"detects it ({self.readiness_alarm_seconds} s), the automatic trigger does not fire, and serving takes up to "
                f"{self.serving_by_backstop_seconds} s with a person deciding"
            )
        for lost, detectors in self.detectors.items():
            pages = "; ".join(f"{d.alarm} in {d.region} ({d.seconds} s{', ' + d.note if d.note else ''})" for d in detectors)
            lines.append(f"{lost} lost: pages on-call: {pages}")
        lines.append(
            f"RPO alert {self.rpo_alert_seconds:g} s: lag alarm (1-minute metric: a sudden stall is seen up to "
            f"{PERIOD_SECONDS} s later); objective {self.rpo_objective} s"
        )
        lines.append(
            f"not ready {self.readiness_alarm_seconds} s: a failed readiness check (lag not published, secret replica out "
            "of sync, DR short of capacity, switch against the writer) alarms, before any outage"
        )
        timing = self.runbook_timing
        lines.append(
            f"runbook steps: timeout {timing['function_timeout_seconds']} s, worst AWS call {timing['worst_call_seconds']} s "
            f"(no call starts within {timing['safety_margin_seconds']} s of the timeout), claim lease {timing['lease_seconds']} s, "
            f"a claimed step retried for {timing['in_progress_retry_span_seconds']} s; each invocation counted at "
            f"{INVOCATION_SECONDS} s (an allowance: AWS bounds no cold start)"
        )
        return lines

    def changeable(self) -> list[str]:
        """The phases a setting changes, with the setting: what to change when the objective is missed."""
        return [f"{p.name} {p.seconds} s: {p.setting}" for p in self.phases if p.setting]


def compute(cfg: Config, output_dir: Path) -> Budget:
    """The budget of a render, from its ``traffic_timing.json``."""
    return for_timing(cfg, json.loads((output_dir / TRAFFIC_TIMING).read_text(encoding="utf-8")))


def refuse(cfg: Config) -> None:
    """``ConfigError`` naming the field when the configuration's design cannot meet its objectives,
    with the lines that explain it (the phase table and what changes each phase). The budget
    needs the templates' timing, so the configuration cannot decide it itself: the render path
    (build.py, before anything is read or written) asks here."""
    events = runbook.history_events(cfg)
    if events >= runbook.HISTORY_EVENTS_QUOTA:
        raise ConfigError(
            "runbook.follow_promotion_minutes",
            f"a run may write {events} history events, every polling loop to its end with every retry: past Step "
            f"Functions' quota of {runbook.HISTORY_EVENTS_QUOTA}, where the execution fails with no failure "
            "notification and no report; fewer checks (follow_promotion_minutes, or a longer writer_poll_seconds "
            "or health_poll_seconds) fit it",
        )
    report = for_timing(cfg, dns.timing(cfg))
    problems = report.problems()
    if not problems:
        return
    if problems[0].startswith("RTO"):
        raise ConfigError("objectives.rto_seconds", problems[0], [*report.table(), "settings that change a phase:", *report.changeable()])
    raise ConfigError("runbook.function_timeout_seconds", problems[0])


def _lag_alarm_seconds(cfg: Config) -> int:
    """Replication stops at the loss: the lag passes the alarm's threshold that long after it,
    and the one-minute period holding that point ends at most a period later."""
    return int(lag_threshold_milliseconds(cfg) / 1000) + PERIOD_SECONDS


def detectors(cfg: Config, timing: dict) -> dict[str, tuple[Detector, ...]]:
    """For each region that can be lost, the alarms in the surviving regions that page on-call,
    soonest first. The Route 53 health-check alarms live in Route 53's metrics region only
    (templates/health_alarms.py), so they are lost with it; both regions' alerts also reach
    on-call through the other region's topic (templates/alerting.py)."""
    route53 = cfg.route53_metrics_region
    record_alarm = timing["endpoint_failure_detection_seconds"] + HEALTH_ALARM_PERIOD_SECONDS
    readiness = 2 * cfg.runbook.readiness_period_minutes * 60
    primary_lost = []
    if route53 != cfg.primary_region:
        primary_lost.append(Detector("route53-primary-unhealthy", route53, record_alarm, "Route 53's checkers, interval x threshold + the alarm's period"))
    primary_lost += [
        Detector("aurora-rpo-lag / aurora-replication-lag (peer-region-impaired)", cfg.dr_region, _lag_alarm_seconds(cfg),
                 "if Aurora keeps publishing lag with the primary region down"),
        Detector("dr-not-ready", cfg.dr_region, readiness, "SecretReplica cannot ask the primary region"),
    ]
    dr_lost = []
    if route53 != cfg.dr_region:
        dr_lost.append(Detector("route53-secondary-unhealthy", route53, record_alarm, "no failover needed: the primary serves"))
    dr_lost.append(Detector("dr-not-ready", cfg.primary_region, readiness, "SwitchPosition cannot read the switch in the DR region"))
    return {
        f"primary ({cfg.primary_region})": tuple(sorted(primary_lost, key=lambda d: d.seconds)),
        f"DR ({cfg.dr_region})": tuple(sorted(dr_lost, key=lambda d: d.seconds)),
    }


def _loop(wait: runbook.Wait) -> int:
    """A polling loop's worst case when it ends ready at its last check: every wait and every check."""
    return wait.wait_seconds + wait.checks * INVOCATION_SECONDS


def for_timing(cfg: Config, timing: dict) -> Budget:
    r, worst_call = cfg.runbook, runbook.timing(cfg)["worst_call_seconds"]
    w = runbook.waits(cfg)
    found = detectors(cfg, timing)
    # Route 53's checkers are promised to keep checking: their alarm, where it survives, bounds
    # detection even when the lag alarms would page sooner; else the lag alarms (see the backstop).
    paging = found[f"primary ({cfg.primary_region})"]
    first = next((d for d in paging if d.alarm.startswith("route53")), paging[0])
    readiness = 2 * r.readiness_period_minutes * 60
    # The admit step asks Route 53's API (hosted in its metrics region) only for an alarm's run.
    admit_calls_lost_region = r.automatic_trigger and cfg.route53_metrics_region == cfg.primary_region
    fenced_by_answer = INVOCATION_SECONDS + _loop(w["fence"])
    fenced_by_silence = INVOCATION_SECONDS + worst_call
    phases = (
        Phase("detection", first.seconds, f"{first.alarm} in {first.region} ({first.note})", AWS,
              "dns.health_check_interval_seconds, dns.health_check_failure_threshold" if first.alarm.startswith("route53")
              else "alerts.lag_alarm_fraction_of_rpo"),
        Phase("decision", PERIOD_SECONDS, "automatic trigger: the lag alarm's period", AWS, "runbook.automatic_trigger")
        if r.automatic_trigger
        else Phase("decision", cfg.objectives.decision_seconds, "a person decides", OURS, "objectives.decision_seconds (or runbook.automatic_trigger)"),
        Phase("admit", INVOCATION_SECONDS + (worst_call if admit_calls_lost_region else 0),
              "one invocation" + (f"; Route 53's API is in the lost region: one call at its worst ({worst_call} s)" if admit_calls_lost_region else "")),
        Phase("fence", max(fenced_by_answer, fenced_by_silence),
              f"old tasks drain and stop (ECS): the fence, then {w['fence'].wait_seconds} s of waits and {w['fence'].checks} checks; "
              f"a region that does not answer costs one call at its worst ({fenced_by_silence} s) and is fenced", AWS,
              "runbook.health_poll_seconds"),
        Phase("scale", INVOCATION_SECONDS, "one invocation"),
        Phase("capacity", _loop(w["capacity"]), f"a task starts and passes health checks: {w['capacity'].wait_seconds} s of waits, "
              f"{w['capacity'].checks} checks", AWS, "objectives.task_start_seconds, runbook.health_poll_seconds"),
        Phase("promote", INVOCATION_SECONDS, "one invocation"),
        Phase("promotion", _loop(w["promotion"]), f"Aurora promotes: {w['promotion'].wait_seconds} s of waits, "
              f"{w['promotion'].checks} checks", AWS, "runbook.writer_poll_seconds, runbook.writer_max_polls"),
        Phase("switch", INVOCATION_SECONDS, "one invocation"),
        Phase("traffic", timing["dns_after_switch_seconds"], "Route 53 follows: switch alarm period + alias TTL (traffic_timing.json)", AWS),
        Phase("one error", INVOCATION_SECONDS + worst_call + FIRST_RETRY_SECONDS,
              f"one transient error: a call failing at its worst ({worst_call} s), the first retry, the step again"),
    )
    serving = sum(phase.seconds for phase in phases)
    traffic_verify = _loop(w["traffic"]) if cfg.route53_metrics_region != cfg.primary_region else INVOCATION_SECONDS + worst_call
    after_serving = (
        Phase("switch seen", _loop(w["switch"]), f"the runbook reads the switch back: {w['switch'].checks} checks", AWS),
        Phase("traffic seen", traffic_verify, "the runbook reads Route 53's view"
              + ("" if cfg.route53_metrics_region != cfg.primary_region else ": its metrics region is the lost one, one call at its worst, unverified"), AWS),
        Phase("follow", _loop(w["follow"]), "over budget: a promotion that outlasts the writer wait is followed this long",
              AWS, "runbook.follow_promotion_minutes"),
        Phase("report", INVOCATION_SECONDS * (1 + runbook.HISTORY_RETRY["MaxAttempts"]) + math.ceil(runbook.retry_seconds(runbook.HISTORY_RETRY)),
              "the runbook writes its failover report: one invocation, and its retries while the history it reads "
              "does not yet show the report step (HistoryBehind); on the failure path after paging"),
    )
    scaled_at = sum(p.seconds for p in phases[: [p.name for p in phases].index("scale") + 1])
    return Budget(
        phases=phases,
        after_serving=after_serving,
        detectors=found,
        capacity_seconds=max(serving, scaled_at + cfg.objectives.task_start_seconds),
        rto_objective=cfg.objectives.rto_seconds,
        rpo_alert_seconds=lag_threshold_milliseconds(cfg) / 1000,
        rpo_objective=cfg.objectives.rpo_seconds,
        runbook_timing=runbook.timing(cfg),
        # The next scheduled run publishes the failure, the alarm's one period then ends.
        readiness_alarm_seconds=readiness,
        serving_by_backstop_seconds=None if first.alarm.startswith("route53") else (
            serving - first.seconds - phases[1].seconds + readiness + cfg.objectives.decision_seconds
        ),
    )
