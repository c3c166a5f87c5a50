"""The drill scenarios: each runs the rendered runbook in a fresh pair of emulated regions and
states what must be true afterwards. A scenario returns a ``Report``; its ``problems`` are
empty when the runbook behaved as it must (the tests assert that; ``make drill`` prints it).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from pathlib import Path

from checks.drill.aurora import SWITCHING_OVER, Promotion
from checks.drill.unknowns import World
from checks.drill.harness import LAMBDA_UNKNOWN, Drill, Effect, Outcome
from checks.drill.network import HANG, SERVER_ERROR, THROTTLE, Crash, Fault
from checks import budget, failover_report
from templates import dns, runbook
from templates.config import Config, RunbookConfig


@dataclass
class Report:
    name: str
    problems: list[str] = field(default_factory=list)
    runs: list[tuple[str, Outcome]] = field(default_factory=list)
    calls: dict = field(default_factory=dict)

    def expect(self, condition: bool, problem: str) -> None:
        if not condition:
            self.problems.append(problem)

    @property
    def verdict(self) -> str:
        return "pass" if not self.problems else "FAIL"


SCENARIOS: dict[str, Callable[[], Report]] = {}


def scenario(function: Callable[[Report], None]) -> Callable[[], Report]:
    """Register a scenario; the function gets its report and drives a ``Drill``."""

    def run() -> Report:
        report = Report(function.__name__)
        function(report)
        return report

    run.__doc__ = function.__doc__
    SCENARIOS[function.__name__] = run
    return run


def _run(drill: Drill, report: Report, region: str, request: dict, name: str | None = None) -> Outcome:
    outcome = drill.run(region, request, name)
    _record(drill, report, f"{request['failover_id']} in {region}", outcome)
    return outcome


def _record(drill: Drill, report: Report, label: str, outcome: Outcome) -> None:
    report.runs.append((label, outcome))
    drill.outcomes.append((label, outcome))


# The budget's phases from the run's start to the switch's publication (checks/budget.py).
RUNBOOK_PHASES = ("admit", "fence", "scale", "capacity", "promote", "promotion", "switch", "one error")


def _finish(drill: Drill, report: Report) -> None:
    """What every scenario must hold, whatever it did; and where a run took longer to move
    traffic than the RTO budget gives the runbook (its phases up to the switch), by how much.
    Last, the end state: AWS finishes what it was asked, then traffic, writer and capacity agree
    or a readiness check names the split."""
    report.problems += [f"invariant: {text}" for text in drill.violations]
    report.calls = drill.network.calls_by_region()
    notices = [(e.failover_id, e.key) for e in drill.writes("Publish")]
    if not drill.failed_invocations["runbook.notify"]:
        report.expect(len(notices) == len(set(notices)), f"a run was reported more than once: {notices}")
    phases = budget.for_timing(drill.cfg, dns.timing(drill.cfg)).phases
    machine_budget = sum(phase.seconds for phase in phases if phase.name in RUNBOOK_PHASES)
    for label, outcome in drill.outcomes:
        failover_id = label.split(" in ")[0]
        moves = [m for m in drill.switch_moves() if m.failover_id == failover_id]
        if moves and moves[0].at - outcome.started_at > machine_budget:
            report.problems.append(
                f"budget: {label} moved traffic {moves[0].at - outcome.started_at:.0f} s after it started, over the "
                f"{machine_budget} s the RTO budget gives the runbook (promotion + capacity)"
            )
        if outcome.status in ("SUCCEEDED", "FAILED") and "NotAdmitted" not in {s for s, _, _ in outcome.states}:
            report.expect(any(f == failover_id for f, _ in notices), f"{label} ended without a notification")
            report.problems += [f"report: {label}: {problem}" for problem in report_problems(outcome)]
    report.problems += drill.end_state()


def _notified_report(history: list[dict]) -> dict | None:
    """What the run's notification was told of its report (the notify task's payload)."""
    state, told = None, None
    for event in history:
        if "stateEnteredEventDetails" in event:
            state = event["stateEnteredEventDetails"]["name"]
        elif event["type"] == "TaskScheduled" and state in ("Notify", "NotifyFailure"):
            told = json.loads(event["taskScheduledEventDetails"]["parameters"])["Payload"].get("report")
    return told


def _phase_span(history: list[dict], states: tuple[str, ...]) -> float:
    """A phase's simulated seconds by the drill's own clock (which stamps every history event):
    from the phase's first state entered to its last one exited. Not a sum of the states
    between: a concurrent run advances the shared clock between one state's exit and the next
    one's entry."""
    entered = [e["timestamp"] for e in history if e.get("stateEnteredEventDetails", {}).get("name") in states]
    exited = [e["timestamp"] for e in history if e.get("stateExitedEventDetails", {}).get("name") in states]
    return (exited[-1] - entered[0]).total_seconds()


def _report_entry(history: list[dict]) -> dict | None:
    """The run's report state's (last) entry event."""
    entries = [e for e in history if e.get("stateEnteredEventDetails", {}).get("name") in failover_report.REPORT_STATES]
    return entries[-1] if entries else None


def _report_step_failed(history: list[dict]) -> bool:
    """The report state ran and its last attempt failed (the failure path pages before it, so
    its notification cannot tell; the history does)."""
    entry = _report_entry(history)
    if entry is None:
        return False
    ended = [e for e in history if e["id"] > entry["id"] and ("taskSucceededEventDetails" in e or "taskFailedEventDetails" in e)]
    return bool(ended) and "taskFailedEventDetails" in ended[-1]


def report_problems(outcome: Outcome) -> list[str]:
    """The run's report, as its own report step wrote it to the bucket, must be built from a
    history that shows its own report state, measure what the drill's clock measured (each
    phase's span) and agree with the report built afterwards from the whole history; a run
    without one must have said why (its notification, or its failed report step)."""
    written = outcome.written_report
    if written is None:
        told = _notified_report(outcome.history) or {}
        ok = told.get("error") or _report_step_failed(outcome.history)
        return [] if ok else ["none in the bucket, and neither the notification nor the history says why"]
    after = run_report(outcome)
    problems = []
    entry = _report_entry(outcome.history)
    if entry is not None and (written.get("history_as_of") or 0) < entry["id"]:
        problems.append(f"written from a history read to event {written.get('history_as_of')}, before its own report "
                        f"state was entered (event {entry['id']}): a partial history")
    for phase in written["phases"]:
        span = _phase_span(outcome.history, tuple(phase["states"]))
        if not math.isclose(phase["seconds"], span, abs_tol=0.01):
            problems.append(f"phase {phase['name']}: {phase['seconds']} s, the drill's clock says {span:g} s")
    steps = [s for s in after["steps"] if s["state"] not in failover_report.REPORTING]
    for what, mine, theirs in (
        ("outcome", written["outcome"], after["outcome"]), ("stopped at", written["stopped_at"], after["stopped_at"]),
        ("error", written["error"], after["error"]), ("phases", written["phases"], after["phases"]),
        ("steps", written["steps"], steps), ("RTO", written["rto"], after["rto"]), ("RPO", written["rpo"], after["rpo"]),
    ):
        if mine != theirs:
            problems.append(f"{what}: the run wrote {json.dumps(mine, default=str)[:300]}, its history says {json.dumps(theirs, default=str)[:300]}")
    return problems


def _step_result(outcome: Outcome, step: str) -> dict:
    return outcome.output.get("run", {}).get("steps", {}).get(step, {}).get("result", {})


def _succeeded(report: Report, outcome: Outcome, what: str) -> None:
    report.expect(outcome.status == "SUCCEEDED", f"{what}: {outcome.status} {outcome.error}: {(outcome.cause or '')[:300]}")


@scenario
def planned_there_and_back(report: Report) -> None:
    """Planned switchover to the DR region, then failback: RPO 0, switch thrown then released,
    DR raised to failover capacity and returned to warm standby."""
    with Drill() as drill:
        cfg, dr, primary = drill.cfg, drill.cfg.dr_region, drill.cfg.primary_region
        _succeeded(report, _run(drill, report, dr, {"failover_id": "drill-out"}), "failover")
        report.expect(drill.aurora.writer == dr, f"writer after failover: {drill.aurora.writer}")
        report.expect(drill.aurora.data_lost_ms == 0, "a planned switchover lost data")
        report.expect(drill.service(dr)["desiredCount"] == cfg.app.failover_desired_count, "DR not at failover capacity")
        _succeeded(report, _run(drill, report, primary, {"failover_id": "drill-back"}), "failback")
        report.expect(drill.aurora.writer == primary, f"writer after failback: {drill.aurora.writer}")
        moves = [m.key for m in drill.switch_moves()]
        report.expect(len(moves) == 2, f"the switch should be thrown, then released: {moves}")
        report.expect(drill.service(dr)["desiredCount"] == cfg.app.dr_desired_count, f"DR not back at warm standby: {drill.service(dr)['desiredCount']}")
        _finish(drill, report)


@scenario
def unplanned_primary_region_dead(report: Report) -> None:
    """The primary region is down: nothing the run needs is in it, the accepted lag is recorded.
    The one call outside the DR region is the read of Route 53's view of traffic, on Route 53's
    control plane (in the primary region here): it fails, and the run reports traffic as
    unverified instead of failing."""
    with Drill(lag_ms=1_500) as drill:
        dr, primary = drill.cfg.dr_region, drill.cfg.primary_region
        drill.network.dead_regions.add(primary)
        outcome = _run(drill, report, dr, {"failover_id": "drill-dead", "mode": "unplanned", "accept_data_loss": True})
        _succeeded(report, outcome, "unplanned failover")
        report.expect(drill.aurora.writer == dr, f"writer: {drill.aurora.writer}")
        report.expect(_step_result(outcome, "promote").get("accepted_lag_ms") == 1_500, f"accepted lag not recorded: {_step_result(outcome, 'promote')}")
        outside = {service for region, services in drill.network.calls_by_region().items() if region != dr for service in services}
        # Fencing tries the old primary's service, verification Route 53's API: neither is needed.
        report.expect(outside <= {"route-53", "ecs", "application-auto-scaling"}, f"services called outside {dr}: {sorted(outside)}")
        report.expect(_step_result(outcome, "fence").get("fenced") is False, f"fence: {_step_result(outcome, 'fence')}")
        report.expect(_step_result(outcome, "traffic").get("verified") is False, f"traffic check: {_step_result(outcome, 'traffic')}")
        report.expect(len(drill.switch_moves()) == 1, "the switch was not thrown")
        _finish(drill, report)


@scenario
def unplanned_with_primary_reachable(report: Report) -> None:
    """The primary region is impaired but answers: its application is taken offline before the
    promotion, so the old writer cannot take writes the new one never sees (issue 11.4);
    failing back later returns the primary to its own count."""
    with Drill() as drill:
        dr, primary = drill.cfg.dr_region, drill.cfg.primary_region
        outcome = _run(drill, report, dr, {"failover_id": "drill-fence", "mode": "unplanned", "accept_data_loss": True})
        _succeeded(report, outcome, "unplanned failover")
        order = [(e.operation, e.region) for e in drill.writes() if e.operation in ("UpdateService", "FailoverGlobalCluster")]
        report.expect(order == [("UpdateService", primary), ("UpdateService", dr), ("FailoverGlobalCluster", dr)], f"order of writes: {order}")
        report.expect(drill.service(primary)["desiredCount"] == 0, "the old primary's service still runs")
        # The old primary is being rebuilt (pending-resync): a failback is refused until it is connected.
        early = _run(drill, report, primary, {"failover_id": "drill-fence-back-early"})
        report.expect(early.status == "FAILED" and early.error == "TargetNotSynchronized", f"failback onto a rebuilding cluster: {early.status} {early.error}")
        report.expect(drill.aurora.writer == dr, "the writer moved onto a cluster still being rebuilt")
        drill.clock.advance(drill.world.resync_seconds)
        _succeeded(report, _run(drill, report, primary, {"failover_id": "drill-fence-back"}), "failback")
        report.expect(drill.service(primary)["desiredCount"] == drill.cfg.app.primary_desired_count, "the primary is not back at its count")
        _finish(drill, report)


@scenario
def unplanned_without_accepting_data_loss(report: Report) -> None:
    """Refused: nothing changes; the only write is the failure report."""
    with Drill() as drill:
        outcome = _run(drill, report, drill.cfg.dr_region, {"failover_id": "drill-refused", "mode": "unplanned"})
        report.expect(outcome.status == "FAILED" and outcome.error == "DataLossNotAccepted", f"{outcome.status} {outcome.error}")
        others = [e.operation for e in drill.writes() if e.operation != "Publish"]
        report.expect(not others, f"writes: {others}")
        report.expect(drill.aurora.writer == drill.cfg.primary_region, "the writer moved")
        _finish(drill, report)


@scenario
def same_failover_id_twice(report: Report) -> None:
    """The same failover id again while running and after completion: every side effect once."""
    with Drill() as drill:
        dr = drill.cfg.dr_region
        request = {"failover_id": "drill-dup"}
        first = drill.start(dr, request)
        again = drill.start(dr, request)  # same name, same input: Step Functions returns the same execution
        report.expect(again == first, "StartExecution with the same name and input started another execution")
        concurrent = drill.start(dr, request, name="drill-dup-by-hand")
        for arn, label in ((first, "first"), (concurrent, "concurrent")):
            outcome = drill.wait(arn, dr)
            _record(drill, report, f"drill-dup in {dr} ({label})", outcome)
            _succeeded(report, outcome, label)
        _succeeded(report, _run(drill, report, dr, request, name="drill-dup-after"), "after completion")
        for operation in ("SwitchoverGlobalCluster", "UpdateService", "PutMetricData", "Publish"):
            report.expect(len(drill.writes(operation)) == 1, f"{operation} x{len(drill.writes(operation))}")
        _finish(drill, report)


@scenario
def function_dies_after_acting(report: Report) -> None:
    """Each state-changing step dies right after its AWS call, before recording: the retry finishes
    it, once. The run report is the exception: SNS cannot be asked whether a message went out,
    so a report whose publisher died is published again (SNS standard topics are
    at-least-once anyway)."""
    for operation in ("SwitchoverGlobalCluster", "UpdateService", "PutMetricData", "Publish"):
        with Drill() as drill:
            drill.network.crashes.append(Crash(operation))
            outcome = _run(drill, report, drill.cfg.dr_region, {"failover_id": f"drill-crash-{operation}"})
            _succeeded(report, outcome, f"died after {operation}")
            expected = 2 if operation == "Publish" else 1
            report.expect(len(drill.writes(operation)) == expected, f"{operation} x{len(drill.writes(operation))}")
            _finish(drill, report)


@scenario
def step_dies_twice(report: Report) -> None:
    """The scale step dies after each of its two writes: each retry waits out a lease and
    takes the claim over; the run still finishes, each write once."""
    with Drill() as drill:
        drill.network.crashes += [Crash("RegisterScalableTarget"), Crash("UpdateService")]
        outcome = _run(drill, report, drill.cfg.dr_region, {"failover_id": "drill-twice"})
        _succeeded(report, outcome, "after two deaths in one step")
        report.expect(outcome.task_errors.count(LAMBDA_UNKNOWN) == 2, f"task errors: {outcome.task_errors}")
        for operation in ("RegisterScalableTarget", "UpdateService"):
            report.expect(len(drill.writes(operation)) == 1, f"{operation} x{len(drill.writes(operation))}")
        _finish(drill, report)


@scenario
def throttling_and_5xx_bursts(report: Report) -> None:
    """Bursts within botocore's attempts are absorbed; longer ones by the state machine's retries."""
    operations = ("DescribeGlobalClusters", "SwitchoverGlobalCluster", "DescribeServices", "UpdateService", "PutMetricData", "Publish", "PutItem")
    for burst in (3, 6):
        with Drill() as drill:
            drill.network.faults += [Fault(op, THROTTLE if i % 2 else SERVER_ERROR, burst) for i, op in enumerate(operations)]
            outcome = _run(drill, report, drill.cfg.dr_region, {"failover_id": f"drill-burst-{burst}"})
            _succeeded(report, outcome, f"bursts of {burst}")
            _finish(drill, report)


@scenario
def promotion_never_completes(report: Report) -> None:
    """The writer wait runs out with the promotion still under way: the run follows it for
    ``follow_promotion_minutes`` more, then reports it still running; traffic is not switched."""
    with Drill(world=World(promotion_seconds=math.inf)) as drill:
        outcome = _run(drill, report, drill.cfg.dr_region, {"failover_id": "drill-stuck"})
        report.expect(outcome.status == "FAILED" and outcome.error == "PromotionStillRunning", f"{outcome.status} {outcome.error}")
        report.expect(not drill.switch_moves(), "traffic was switched to a cluster that is not the writer")
        _finish(drill, report)


def _automatic(drill: Drill, report: Report, runs: int, label: str = "automatic") -> list[bool]:
    """Start ``runs`` alarm-started runs at once; which were admitted."""
    dr = drill.cfg.dr_region
    request = {"mode": "unplanned", "accept_data_loss": True, "trigger": "alarm"}
    arns = [drill.start(dr, {**request, "failover_id": f"{label}-{n}"}) for n in range(runs)]
    admitted = []
    for n, arn in enumerate(arns):
        outcome = drill.wait(arn, dr)
        _record(drill, report, f"{label}-{n} in {dr}", outcome)
        admitted.append("NotAdmitted" not in {s for s, _, _ in outcome.states})
    return admitted


AUTOMATIC = Config(runbook=RunbookConfig(automatic_trigger=True))


@scenario
def automatic_trigger_twice(report: Report) -> None:
    """The primary region is down: two alarm-started runs within the minimum interval, one acts."""
    with Drill(AUTOMATIC) as drill:
        drill.network.dead_regions.add(drill.cfg.primary_region)
        admitted = _automatic(drill, report, 2)
        report.expect(sorted(admitted) == [False, True], f"admitted: {admitted}")
        report.expect(len(drill.writes("FailoverGlobalCluster")) == 1, f"promotions: {len(drill.writes('FailoverGlobalCluster'))}")
        _finish(drill, report)


@scenario
def automatic_trigger_needs_an_impaired_primary(report: Report) -> None:
    """High lag alone starts nothing: with the primary healthy in Route 53's view the alarm's run
    is refused; with its load balancer failing there (the region still answers), it acts (issue 11.4)."""
    with Drill(AUTOMATIC) as drill:
        report.expect(_automatic(drill, report, 1, "lag-only") == [False], "admitted with a healthy primary")
        report.expect(not drill.writes("FailoverGlobalCluster") and not drill.writes("UpdateService"), "acted without evidence")
        drill.app.broken.add(drill.cfg.primary_region)
        report.expect(_automatic(drill, report, 1, "impaired") == [True], "refused with the primary's load balancer failing")
        report.expect(drill.aurora.writer == drill.cfg.dr_region, f"writer: {drill.aurora.writer}")
        _finish(drill, report)


@scenario
def retry_during_switching_over(report: Report) -> None:
    """A switchover to this region already switching over: the runbook waits for it (issue 11.1)."""
    with Drill() as drill:
        dr = drill.cfg.dr_region
        now = drill.clock.now()
        drill.aurora.promotion = Promotion(SWITCHING_OVER, drill.cfg.primary_region, dr, now - 10, False, now + 50)
        outcome = _run(drill, report, dr, {"failover_id": "drill-switching"})
        _succeeded(report, outcome, "run during switching-over")
        report.expect(not drill.writes("SwitchoverGlobalCluster"), "a second switchover was requested")
        _finish(drill, report)


@scenario
def step_killed_by_its_timeout(report: Report) -> None:
    """The first record write after the switchover hangs until Lambda kills the function: the
    step acted but did not record. The retry waits out the lease, takes the claim over and
    converges on the promotion under way, without a second switchover (issue 11.2)."""
    with Drill() as drill:
        drill.network.faults.append(Fault("UpdateItem", HANG, 1, drill.cfg.dr_region))
        outcome = _run(drill, report, drill.cfg.dr_region, {"failover_id": "drill-timeout"})
        _succeeded(report, outcome, "after a timed-out step")
        report.expect(LAMBDA_UNKNOWN in outcome.task_errors, f"no step was killed by its timeout: {outcome.task_errors}")
        report.expect(len(drill.writes("SwitchoverGlobalCluster")) == 1, "the switchover was not requested exactly once")
        report.expect(len(drill.switch_moves()) == 1, "the switch was not thrown exactly once")
        _finish(drill, report)


@scenario
def dr_service_cannot_serve(report: Report) -> None:
    """The DR service has no healthy target: the switch is not thrown, since Route 53 would
    keep answering with the primary, and the report says why (issue 11.3)."""
    with Drill() as drill:
        dr = drill.cfg.dr_region
        drill.app.broken.add(dr)
        outcome = _run(drill, report, dr, {"failover_id": "drill-unhealthy"})
        report.expect(outcome.status == "FAILED" and outcome.error == "CapacityNotReady", f"{outcome.status} {outcome.error}")
        report.expect(not drill.switch_moves(), "the switch was thrown onto a region that cannot serve")
        _finish(drill, report)


@scenario
def dr_service_still_starting(report: Report) -> None:
    """Warm standby is empty and the new tasks take their start time: the switch waits for the
    first healthy target, then traffic is verified healthy (issue 11.3)."""
    with Drill() as drill:
        dr = drill.cfg.dr_region
        drill.app.task_start_seconds = 40
        drill.client("ecs", dr).update_service(
            cluster=drill.regions[dr].of_type("AWS::ECS::Cluster")["ClusterName"],
            service=drill.regions[dr].of_type("AWS::ECS::Service")["ServiceName"], desiredCount=0,
        )
        # It lost its tasks an hour ago.
        drill.effects.append(Effect(drill.clock.now() - 3600, dr, "UpdateService", "0", None, drill.aurora.writer))
        outcome = _run(drill, report, dr, {"failover_id": "drill-starting"})
        _succeeded(report, outcome, "failover onto a starting service")
        checks = {name: count for name, count, _ in outcome.states}
        report.expect(checks.get("CheckCapacity", 0) > 1, f"the capacity check passed at once: {checks.get('CheckCapacity')}")
        report.expect(_step_result(outcome, "traffic").get("verified") is True, f"traffic check: {_step_result(outcome, 'traffic')}")
        (move,) = drill.switch_moves() or [None]
        report.expect(move is not None and drill.app.healthy_targets(dr) > 0, "thrown without a healthy target")
        _finish(drill, report)


@scenario
def failback_with_dr_region_dead(report: Report) -> None:
    """Unplanned failback while the DR region is down: refused before anything changes (issue 11.5)."""
    with Drill() as drill:
        dr, primary = drill.cfg.dr_region, drill.cfg.primary_region
        _succeeded(report, _run(drill, report, dr, {"failover_id": "drill-out"}), "failover")
        drill.network.dead_regions.add(dr)
        outcome = _run(drill, report, primary, {"failover_id": "drill-back", "mode": "unplanned", "accept_data_loss": True})
        report.expect(outcome.status == "FAILED" and outcome.error == "FailbackNeedsDrRegion", f"{outcome.status} {outcome.error}")
        report.expect(drill.aurora.writer == dr, "the writer moved although the switch cannot be released")
        report.expect([e.operation for e in drill.writes() if e.failover_id == "drill-back"] == ["Publish"], "a refused failback changed something")
        _finish(drill, report)


@scenario
def throw_and_release_in_one_period(report: Report) -> None:
    """A failback right after a failover: the release waits for the next metric period (issue 11.9)."""
    with Drill(world=replace(World.at_once(), promotion_seconds=1)) as drill:
        dr, primary = drill.cfg.dr_region, drill.cfg.primary_region
        _succeeded(report, _run(drill, report, dr, {"failover_id": "drill-out"}), "failover")
        _succeeded(report, _run(drill, report, primary, {"failover_id": "drill-back"}), "failback")
        moves = drill.switch_moves()
        periods = [int(m.at // 60) for m in moves]
        report.expect(len(moves) == 2 and periods[0] != periods[1], f"throw and release in metric periods {periods}")
        _finish(drill, report)


def table(reports: list[Report]) -> list[str]:
    """scenario, verdict, each state with its simulated duration, AWS calls per region and service."""
    lines = []
    for report in reports:
        lines.append(f"{report.name}: {report.verdict}")
        for label, outcome in report.runs:
            states = ", ".join(f"{name}{f' x{count}' if count > 1 else ''} {seconds:g}s" for name, count, seconds in outcome.states if seconds or count > 1)
            lines.append(f"  {label}: {outcome.status} in {outcome.seconds:.0f} s simulated; {states}")
        for region, services in sorted(report.calls.items()):
            lines.append(f"  calls in {region}: " + ", ".join(
                f"{service} {attempts}" + (f" ({failed} failed)" if failed else "") for service, (attempts, failed) in sorted(services.items())
            ))
        lines += [f"  problem: {problem}" for problem in report.problems]
    return lines


def run_report(outcome: Outcome) -> dict:
    """A drilled run's failover report, measured against the drilled configuration's budget."""
    cfg = outcome.cfg or Config()
    return failover_report.build(outcome.history, outcome.request, budget.for_timing(cfg, dns.timing(cfg)), outcome.region)


def write_reports(reports: list[Report], out_dir: Path) -> Path:
    """Every run's report (JSON + HTML) in ``out_dir``, named scenario-run-failover id, and an
    ``index.html`` linking them by scenario; returns the index's path."""
    entries = []
    for report in reports:
        for n, (label, outcome) in enumerate(report.runs, 1):
            run = run_report(outcome)
            _, page = failover_report.write(run, out_dir, failover_report.safe_name(f"{report.name}-{n}-{run['failover_id']}"))
            stopped = f" at {run['stopped_at']}" if run["stopped_at"] else ""
            entries.append((page.name, f"{report.name} ({report.verdict}): {label}", f"{run['outcome']}{stopped} {run['error'] or ''}".strip()))
    path = out_dir / "index.html"
    path.write_text(failover_report.index(entries, "Drill failover reports"), encoding="utf-8")
    return path


# --- the second review's findings (issue 20): each failed before its fix --------------------


@scenario
def engine_versions_differ(report: Report) -> None:
    """The regions drifted a patch apart and AWS refuses the managed switchover and failover
    (the fake takes the conservative end of "the patch levels can be different"): the run
    ends PromotionRefused with AWS's message and the last resort named (detach and promote);
    the readiness check EngineVersion said so beforehand."""
    for request in ({"failover_id": "drill-drift"}, {"failover_id": "drill-drift-lost", "mode": "unplanned", "accept_data_loss": True}):
        with Drill(world=replace(World(), engine_versions_differ=True)) as drill:
            outcome = _run(drill, report, drill.cfg.dr_region, request)
            report.expect(outcome.status == "FAILED" and outcome.error == "PromotionRefused", f"{outcome.status} {outcome.error}")
            report.expect(drill.aurora.writer == drill.cfg.primary_region and drill.aurora.promotion is None, "a promotion happened")
            report.expect("remove-from-global-cluster" in (outcome.cause or ""), f"no last resort named: {(outcome.cause or '')[:200]}")
            findings = [f for _, f in drill.readiness_findings(("DatabaseRole", "EngineVersion"))]
            report.expect(any(f.check == "EngineVersion" and f.ready is False for f in findings), f"readiness: {findings}")
            _finish(drill, report)


@scenario
def promotion_outlasts_the_writer_wait(report: Report) -> None:
    """AWS completes a promotion after the runbook's writer wait: the run follows it (over
    budget) and then serves from the DR region, instead of giving up with the writer about to
    move away from traffic."""
    with Drill() as drill:
        drill.aurora.world = replace(drill.world, promotion_seconds=runbook.waits(drill.cfg)["promotion"].wait_seconds + 90)
        outcome = _run(drill, report, drill.cfg.dr_region, {"failover_id": "drill-slow"})
        _succeeded(report, outcome, "a promotion slower than the writer wait")
        report.expect(drill.aurora.writer == drill.cfg.dr_region and len(drill.switch_moves()) == 1, "not served from the DR region")
        report.problems += [p for p in drill.end_state()]


@scenario
def promotion_completes_after_the_run_gave_up(report: Report) -> None:
    """Later than every bound: the run ends PromotionStillRunning, AWS then completes the
    promotion, and the split (writer in DR, traffic to the primary) is named by the
    readiness check SwitchPosition (the end-state invariant accepts it only so)."""
    with Drill(world=World.late(Config())) as drill:
        outcome = _run(drill, report, drill.cfg.dr_region, {"failover_id": "drill-late"})
        report.expect(outcome.status == "FAILED" and outcome.error == "PromotionStillRunning", f"{outcome.status} {outcome.error}")
        _finish(drill, report)
        report.expect(drill.aurora.writer == drill.cfg.dr_region, "the promotion did not complete in the end state")
        named = [f for _, f in drill.readiness_findings(("DatabaseRole", "ServiceCapacity", "SwitchPosition")) if f.check == "SwitchPosition" and f.ready is False]
        report.expect(bool(named), "the split is not named by SwitchPosition")


@scenario
def fence_waits_for_draining_tasks(report: Report) -> None:
    """An unplanned failover with the primary reachable: its tasks drain (deregistration delay,
    then the stop timeout) after the count drops, and the promotion waits for them to stop.
    Drained within the bound: promoted with none running; past it: nothing promoted."""
    fence = runbook.waits(Config())["fence"].wait_seconds
    for drain, promoted in ((fence - 15, True), (fence + 30, False)):
        with Drill(world=replace(World(), drain_seconds=drain)) as drill:
            outcome = _run(drill, report, drill.cfg.dr_region, {"failover_id": f"drill-drain-{drain:g}", "mode": "unplanned", "accept_data_loss": True})
            if promoted:
                _succeeded(report, outcome, f"tasks drained in {drain:g} s")
            else:
                report.expect(outcome.status == "FAILED" and outcome.error == "FenceNotConfirmed", f"{outcome.status} {outcome.error}")
                report.expect(not drill.writes("FailoverGlobalCluster"), "promoted while the old primary still ran tasks")
            _finish(drill, report)


@scenario
def switch_not_readable_at_once(report: Report) -> None:
    """GetMetricData does not see the switch's publication for a while: the run confirms it by
    polling (within its bound) instead of failing the step on the first read; later than the
    bound, it reports SwitchNotConfirmed and the end state still converges."""
    confirm = runbook.waits(Config())["switch"].wait_seconds
    for visible, confirmed in ((confirm - 30, True), (confirm + 60, False)):
        with Drill(world=replace(World(), metric_visible_seconds=visible)) as drill:
            outcome = _run(drill, report, drill.cfg.dr_region, {"failover_id": f"drill-visible-{visible:g}"})
            if confirmed:
                _succeeded(report, outcome, f"switch readable after {visible:g} s")
            else:
                report.expect(outcome.status == "FAILED" and outcome.error == "SwitchNotConfirmed", f"{outcome.status} {outcome.error}")
            report.expect(len(drill.writes("PutMetricData")) >= 1, "the switch was not published")
            _finish(drill, report)


@scenario
def failback_waits_for_route53(report: Report) -> None:
    """Failing back, the DR service returns to standby only once Route 53's own status of the
    PRIMARY record shows the move; Route 53 later than the bound: the runs succeed with traffic
    unverified, and the DR service is left at failover capacity (it may still be serving)."""
    late = runbook.waits(Config())["traffic"].wait_seconds + 120
    with Drill(world=replace(World(), route53_status_lag_seconds=late)) as drill:
        dr, primary = drill.cfg.dr_region, drill.cfg.primary_region
        for region, failover_id in ((dr, "drill-r53-out"), (primary, "drill-r53-back")):
            outcome = _run(drill, report, region, {"failover_id": failover_id})
            _succeeded(report, outcome, failover_id)
            report.expect(_step_result(outcome, "traffic").get("verified") is False, f"{failover_id}: {_step_result(outcome, 'traffic')}")
            drill.clock.advance(late)
        report.expect(drill.service(dr)["desiredCount"] == drill.cfg.app.failover_desired_count, "DR returned to standby before Route 53 showed the move")
        _finish(drill, report)


@scenario
def extremes_at_once_and_late(report: Report) -> None:
    """Planned there and back, and an unplanned failover, with every unknown at once and with
    every unknown later than every bound the runbook uses: the invariants and the end state hold."""
    for world in (World.at_once(), World.late(Config())):
        for request in ({"failover_id": "drill-x"}, {"failover_id": "drill-x-lost", "mode": "unplanned", "accept_data_loss": True}):
            with Drill(world=world) as drill:
                _run(drill, report, drill.cfg.dr_region, request)
                _finish(drill, report)


@scenario
def history_behind_the_report_step(report: Report) -> None:
    """The report step's read of its own execution's history lacks the newest events, or has
    holes behind newer ones, for a while: it retries (HistoryBehind) until the history shows its
    own state and is whole, and writes a report of the whole run; later than its retries, it
    writes none and the notification says why."""
    retries = runbook.retry_seconds(runbook.HISTORY_RETRY)
    for unknown, kind in (("history_visible_seconds", "behind"), ("history_hole_seconds", "holes")):
        for lag, written in ((retries / 2, True), (retries + 60, False)):
            what = f"{unknown} {lag:g}"
            with Drill(world=replace(World(), **{unknown: lag})) as drill:
                outcome = _run(drill, report, drill.cfg.dr_region, {"failover_id": f"drill-history-{kind}-{lag:g}"})
                _succeeded(report, outcome, what)
                report.expect("HistoryBehind" in outcome.task_errors, f"{what}: the report step never met it")
                report.expect((outcome.written_report is not None) == written, f"{what}: report written: {outcome.written_report is not None}")
                _finish(drill, report)
