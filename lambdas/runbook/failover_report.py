"""A failover report: one runbook execution measured against the RTO/RPO budget, as JSON and
as one self-contained HTML page with an SVG timeline.

Built from the execution's history (Step Functions ``GetExecutionHistory`` events), so a real
run and a drilled one give the same report, by the same code: the runbook's report step
(``write_report``) runs it on its own execution, ``build.py report`` and ``make drill``
import it (``checks/failover_report.py``). Standard library only, so it runs in Lambda. The
budget comes as a plan (``checks.budget.Budget.report_plan``: each phase's name, seconds
and source, the objectives), rendered into the state machine for the report step. Each phase
the runbook measures spans its states, from the first one entered to the last one exited
(polling waits included); its budget is the sum of the budget phases it covers
(``checks/budget.py``). Detection, decision and Route 53 following the switch happen outside
the execution: the report lists their budgets, it cannot measure them.
"""

from __future__ import annotations

import json
from datetime import datetime
from html import escape

# Measured phase -> (the runbook's states in it, the budget phases it covers).
PHASES = {
    "admit": (("AdmitAutomaticRun",), ("admit",)),
    "fence": (("FenceOldPrimary", "CheckDrain"), ("fence",)),
    "capacity": (("ScaleService", "CheckCapacity"), ("scale", "capacity")),
    "promotion": (("PromoteDatabase", "CheckWriter", "CheckPromotion"), ("promote", "promotion")),
    "switch": (("SwitchTraffic", "CheckSwitch"), ("switch", "switch seen")),
    "traffic seen": (("CheckTraffic",), ("traffic seen",)),
}
# Budget phases outside the execution (before it starts; Route 53 after the switch): the
# history cannot measure them, the RTO verdict counts them at their budgets.
OUTSIDE = ("detection", "decision", "traffic")
# ... and the phase no state maps to (one transient error is spread over the retried step).
UNMEASURED = (*OUTSIDE, "one error")
# The states that write the report of a run's end: not steps of the run, the report leaves them out.
REPORT_STATES = ("ReportSucceeded", "ReportFailed")
# The states that report a run's end, not steps of it (the report leaves them out; the failure
# path pages before it writes its report): where a run stopped is the step before.
REPORTING = ("Notify", "NotifyFailure", *REPORT_STATES)
FAILURE_REPORTING = ("NotifyFailure", "ReportFailed")
SWITCH_STATE = "SwitchTraffic"


def _seconds(at: datetime, start: datetime) -> float:
    return round((at - start).total_seconds(), 3)


def _payload(details: dict) -> dict:
    """A Lambda task's result: its output's ``Payload`` (the rendered ``ResultSelector`` keeps only that)."""
    try:
        output = json.loads(details.get("output") or "{}")
    except ValueError:
        return {}
    return output.get("Payload", output) if isinstance(output, dict) else {}


def _steps(history: list[dict], start: datetime) -> list[dict]:
    """Each Task state, once per name in first-entered order: when it ran, how often, how it ended."""
    steps: dict[str, dict] = {}
    current = None
    for event in history:
        entered, exited = event.get("stateEnteredEventDetails"), event.get("stateExitedEventDetails")
        if entered and entered["name"] in REPORTING:
            current = None
        elif entered and event["type"] == "TaskStateEntered":
            current = steps.setdefault(entered["name"], {
                "state": entered["name"], "start": _seconds(event["timestamp"], start), "end": None,
                "entered": 0, "attempts": 0, "result": None, "errors": [],
            })
            current["entered"] += 1
        elif current is None:
            continue
        elif event["type"] == "TaskScheduled":
            current["attempts"] += 1
        elif "taskSucceededEventDetails" in event:
            current["result"] = _payload(event["taskSucceededEventDetails"])
        elif failed := event.get("taskFailedEventDetails") or event.get("taskTimedOutEventDetails"):
            current["errors"].append({"at": _seconds(event["timestamp"], start), "error": failed.get("error", ""), "cause": failed.get("cause", "")})
        elif exited and exited["name"] == current["state"]:
            current["end"] = _seconds(event["timestamp"], start)
            current = None
    return list(steps.values())


def _entered(history: list[dict]) -> list[str]:
    return [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]


def _stopped_at(history: list[dict], steps: list[dict], status: str) -> str | None:
    """Where a run that did not succeed stopped: the last step entered before its failure report
    (or its end), else the last state (a refusal before any step); None for a run that succeeded."""
    if status in ("SUCCEEDED", "RUNNING"):
        return None
    entered = _entered(history)
    reported = [entered.index(name) for name in FAILURE_REPORTING if name in entered]
    before = entered[: min(reported)] if reported else entered
    task_states = {s["state"] for s in steps} - set(REPORTING)
    return next((name for name in reversed(before) if name in task_states), before[-1] if before else None)


def _end(history: list[dict], ending: dict | None) -> tuple[str, datetime, str | None, str | None]:
    """Status, end time, error and cause from the execution's last event; while it has none,
    ``ending`` (the report step's own account of how the run ends) or RUNNING."""
    for event in reversed(history):
        kind = event["type"]
        if kind == "ExecutionRedriven":
            break  # "Redriven executions append their event history to the existing event history": it runs on
        if kind.startswith("Execution") and kind != "ExecutionStarted":
            details = next((v for k, v in event.items() if k.endswith("EventDetails")), {})
            status = {"ExecutionSucceeded": "SUCCEEDED", "ExecutionFailed": "FAILED", "ExecutionAborted": "ABORTED",
                      "ExecutionTimedOut": "TIMED_OUT"}.get(kind, kind)
            return status, event["timestamp"], details.get("error"), details.get("cause")
    if ending:
        return ending["status"], history[-1]["timestamp"], ending.get("error"), ending.get("cause")
    return "RUNNING", history[-1]["timestamp"], None, None


def build(history: list[dict], request: dict, plan: dict, region: str = "", ending: dict | None = None) -> dict:
    """The report of one execution; ``request`` is its input, ``plan`` the budget it is measured
    against; ``ending`` ({status, error, cause}) how a run still in its report step ends."""
    if not history or history[0]["type"] != "ExecutionStarted":
        raise ValueError("an execution history starts with ExecutionStarted")
    start = history[0]["timestamp"]
    steps = _steps(history, start)
    by_state = {s["state"]: s for s in steps}
    status, ended, error, cause = _end(history, ending)
    stopped = _stopped_at(history, steps, status)
    budgets = {p["name"]: p for p in (*plan["phases"], *plan["after_serving"])}
    phases = []
    for name, (states, covers) in PHASES.items():
        ran = [by_state[s] for s in states if s in by_state]
        if not ran:
            continue
        begin = min(s["start"] for s in ran)
        ends = [s["end"] for s in ran if s["end"] is not None]
        end = max(ends) if ends else _seconds(ended, start)
        seconds = round(end - begin, 3)
        allowed = sum(budgets[c]["seconds"] for c in covers if c in budgets)
        phases.append({
            "name": name, "states": [s["state"] for s in ran], "start": begin, "end": end, "seconds": seconds,
            "budget_seconds": allowed, "covers": list(covers), "source": "; ".join(budgets[c]["source"] for c in covers if c in budgets),
            "over_budget": seconds > allowed, "failed": stopped in states,
        })
    switch = by_state.get(SWITCH_STATE)
    serving = switch["end"] if switch and switch["end"] is not None and switch["result"] else None
    outside = sum(p["seconds"] for p in plan["phases"] if p["name"] in OUTSIDE)
    promote = by_state.get("PromoteDatabase", {}).get("result") or {}
    lag_ms = promote.get("accepted_lag_ms")
    return {
        "failover_id": request.get("failover_id"),
        "region": region,
        "mode": request.get("mode"),
        "trigger": request.get("trigger"),
        "data_loss_accepted": bool(request.get("accept_data_loss")),
        "lag_accepted_ms": lag_ms,
        "started": start.isoformat(),
        "ended": ended.isoformat(),
        "seconds": _seconds(ended, start),
        # The last event it was built from: a running execution's history may not show its newest yet.
        "history_as_of": history[-1].get("id"),
        "outcome": status,
        "error": error,
        "cause": cause,
        "stopped_at": stopped,
        "steps": steps,
        "phases": phases,
        "not_measured": [{"name": p["name"], "budget_seconds": p["seconds"], "source": p["source"]} for p in plan["phases"] if p["name"] in UNMEASURED],
        "rto": {
            "objective_seconds": plan["rto_objective"],
            "budget_seconds": sum(p["seconds"] for p in plan["phases"]),
            # The execution's part of serving: its start to the switch's publication.
            "runbook_to_switch_seconds": serving,
            "runbook_budget_seconds": sum(p["seconds"] for p in plan["phases"] if p["name"] not in OUTSIDE),
            "within_objective": None if serving is None else serving + outside <= plan["rto_objective"],
        },
        "rpo": {
            "objective_seconds": plan["rpo_objective"],
            "data_loss_seconds": None if lag_ms is None else lag_ms / 1000,
            "within_objective": None if lag_ms is None else lag_ms / 1000 <= plan["rpo_objective"],
        },
    }


# --- the page --------------------------------------------------------------------------------

FAIL_COLOUR, OVER_COLOUR, OK_COLOUR, BUDGET_COLOUR = "#c0392b", "#d68910", "#2874a6", "#d5dbdb"
ROW, LABEL_WIDTH, CHART_WIDTH = 26, 150, 640


def _e(value) -> str:
    return escape("" if value is None else str(value), quote=True)


def _svg(report: dict) -> str:
    """Phases as bars over their budgets (grey), then the steps beneath; a failure is red and
    labelled FAILED, an overrun amber and labelled OVER (the words carry it, not the colour)."""
    phases, steps = report["phases"], report["steps"]
    span = max([report["seconds"], *(p["start"] + p["budget_seconds"] for p in phases), 1])
    scale = CHART_WIDTH / span
    rows = len(phases) + len(steps) + 2
    height, width = rows * ROW + 40, LABEL_WIDTH + CHART_WIDTH + 170
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="timeline of failover {_e(report["failover_id"])}" font-family="sans-serif" font-size="12">',
             f'<title>Failover {_e(report["failover_id"])}: phases against their budgets, steps beneath</title>',
             f'<text x="0" y="16" font-weight="bold">Phases (grey: budget)</text>']
    y = ROW
    for p in phases:
        x = LABEL_WIDTH + p["start"] * scale
        colour, mark = (FAIL_COLOUR, " FAILED") if p["failed"] else (OVER_COLOUR, " OVER") if p["over_budget"] else (OK_COLOUR, "")
        parts += [
            f'<text x="0" y="{y + 15}">{_e(p["name"])}</text>',
            f'<rect class="budget" x="{x:.1f}" y="{y + 2}" width="{max(p["budget_seconds"] * scale, 1):.1f}" height="{ROW - 4}" fill="{BUDGET_COLOUR}"/>',
            f'<rect class="phase" data-phase="{_e(p["name"])}" x="{x:.1f}" y="{y + 6}" width="{max(p["seconds"] * scale, 1):.1f}" '
            f'height="{ROW - 12}" fill="{colour}"><title>{_e(p["name"])}: {p["seconds"]:.1f} s of {p["budget_seconds"]} s{mark}</title></rect>',
            f'<text x="{LABEL_WIDTH + CHART_WIDTH + 8}" y="{y + 15}">{p["seconds"]:.1f} / {p["budget_seconds"]} s{mark}</text>',
        ]
        y += ROW
    parts.append(f'<text x="0" y="{y + 16}" font-weight="bold">Steps</text>')
    y += ROW
    for s in steps:
        end = s["end"] if s["end"] is not None else report["seconds"]
        failed = s["state"] == report["stopped_at"]
        retried = len(s["errors"])
        mark = " FAILED" if failed else f" {retried} failed attempt{'s' if retried > 1 else ''}" if retried else ""
        parts += [
            f'<text x="0" y="{y + 15}">{_e(s["state"])}</text>',
            f'<rect class="step" x="{LABEL_WIDTH + s["start"] * scale:.1f}" y="{y + 6}" width="{max((end - s["start"]) * scale, 2):.1f}" '
            f'height="{ROW - 12}" fill="{FAIL_COLOUR if failed else OVER_COLOUR if retried else OK_COLOUR}"/>',
            f'<text x="{LABEL_WIDTH + CHART_WIDTH + 8}" y="{y + 15}">{end - s["start"]:.1f} s, x{s["entered"]}{_e(mark)}</text>',
        ]
        y += ROW
    # A time axis: seconds after the execution started.
    parts.append(f'<line x1="{LABEL_WIDTH}" y1="{y + 4}" x2="{LABEL_WIDTH + CHART_WIDTH}" y2="{y + 4}" stroke="#555"/>')
    for tick in (0, span / 4, span / 2, 3 * span / 4, span):
        x = LABEL_WIDTH + tick * scale
        parts += [f'<line x1="{x:.1f}" y1="{y}" x2="{x:.1f}" y2="{y + 8}" stroke="#555"/>',
                  f'<text x="{x:.1f}" y="{y + 20}" text-anchor="middle">{tick:.0f} s</text>']
    parts.append("</svg>")
    return "\n".join(parts)


def _table(headers: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _seconds_or_dash(value) -> str:
    return "-" if value is None else f"{value:g} s"


def page(report: dict) -> str:
    """One HTML page, no script and no external asset: opens from a disk, an S3 console or an email."""
    rto, rpo = report["rto"], report["rpo"]
    summary = [
        ["failover id", report["failover_id"]], ["region", report["region"]], ["mode", report["mode"]],
        ["trigger", report["trigger"]], ["data loss accepted", report["data_loss_accepted"]],
        ["lag accepted", "-" if report["lag_accepted_ms"] is None else f"{report['lag_accepted_ms']} ms"],
        ["started", report["started"]], ["ended", report["ended"]], ["outcome", report["outcome"]],
        ["history as of", f"event {report.get('history_as_of', '-')}"],
        ["stopped at", report["stopped_at"] or "-"], ["error", report["error"] or "-"], ["cause", report["cause"] or "-"],
        ["runbook to switch", f"{_seconds_or_dash(rto['runbook_to_switch_seconds'])} (budget {rto['runbook_budget_seconds']} s)"],
        ["RTO", f"objective {rto['objective_seconds']} s, budget {rto['budget_seconds']} s, met: {rto['within_objective']}"],
        ["RPO", f"objective {rpo['objective_seconds']} s, data loss {_seconds_or_dash(rpo['data_loss_seconds'])}, met: {rpo['within_objective']}"],
    ]
    phases = [[p["name"], f"{p['seconds']:g} s", f"{p['budget_seconds']} s", "FAILED" if p["failed"] else "OVER" if p["over_budget"] else "ok",
               ", ".join(p["states"]), p["source"]] for p in report["phases"]]
    unmeasured = [[p["name"], f"{p['budget_seconds']} s", p["source"]] for p in report["not_measured"]]
    steps = [[s["state"], f"{s['start']:g} s", _seconds_or_dash(s["end"]), s["entered"], s["attempts"],
              "; ".join(f"{e['error']}: {e['cause'][:200]}" for e in s["errors"]) or "-", json.dumps(s["result"], sort_keys=True)[:300]]
             for s in report["steps"]]
    title = f"Failover report {report['failover_id']}"
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">', f"<title>{_e(title)}</title>",
        "<style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;margin:0.5em 0 1.5em}"
        "td,th{border:1px solid #aaa;padding:2px 6px;text-align:left;vertical-align:top;font-size:13px}</style>",
        "</head><body>", f"<h1>{_e(title)}</h1>", _table(["", ""], summary),
        "<h2>Timeline</h2>", _svg(report),
        "<h2>Phases against the budget</h2>", _table(["phase", "measured", "budget", "", "states", "budget counts"], phases),
        "<h2>Not in the execution's history</h2>", _table(["phase", "budget", "what it counts"], unmeasured),
        "<h2>Steps</h2>", _table(["state", "start", "end", "entered", "attempts", "errors", "last result"], steps),
        *_gameday(report.get("gameday")),
        "</body></html>",
    ])


def _gameday(measured: dict | None) -> list[str]:
    """A game day's section (ops/gameday.py): the fault and what AWS recorded, from the experiment's start."""
    if not measured:
        return []
    rows = [[e["event"], _seconds_or_dash(e["seconds"]), e["at"] or "-", e["source"]] for e in measured["events"]]
    state = measured["experiment_state"]
    return [
        f"<h2>Game day: experiment {_e(measured['experiment_id'])}, {_e(state.get('status'))}"
        f"{_e(': ' + state['reason']) if state.get('reason') else ''}</h2>",
        f"<p>Fault to switch: {_e(_seconds_or_dash(measured['fault_to_switch_seconds']))}, timed by AWS from the "
        f"experiment's start ({_e(measured['experiment_started'])}).</p>",
        _table(["event", "after the fault", "at", "recorded by"], rows),
    ]


def dumps(report: dict) -> str:
    """The JSON report: one form wherever it is written (the bucket, a disk)."""
    return json.dumps(report, indent=1, sort_keys=True, default=str) + "\n"
