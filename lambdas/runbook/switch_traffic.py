"""Throw or release the Route 53 failover switch, without Route 53's control plane.

The switch is a CloudWatch alarm in the DR region that the PRIMARY record's health check
follows. Run in the DR region (failover), this step throws it by publishing to the local
CloudWatch endpoint. Run in the primary region (failback, a planned operation with both
regions up), it releases it by publishing to the DR region's endpoint, where it lives.

Route 53 "monitors the data stream for the corresponding alarm instead of monitoring the
alarm state" (Route 53 developer guide, health checks that monitor CloudWatch alarms), so
the switch's position is the metric's data, not the alarm's state: the step decides from
the latest datapoint, never publishes both positions within one metric period it can see
(the period's Maximum would read as thrown), and reports a move only once the newest
period's data holds the new value alone: a separate, bounded poll (``confirm``), because
AWS gives ``GetMetricData`` no read-after-write bound.
https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/dns-failover-determining-health-of-endpoints.html
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from .idempotency import once
from .runtime import Runtime, StepError, lambda_runtime, now

STEP = "switch_traffic"
THROW = "throw"
RELEASE = "release"
# The switch alarm's period (templates/dns.py SWITCH_PERIOD_SECONDS): standard resolution.
PERIOD_SECONDS = 60
# How far back the last publication is looked for; older than this, publishing again is harmless.
LOOKBACK_HOURS = 3


class SwitchPeriodBusy(StepError):
    """The other position was published in this metric period; the state machine retries in the next."""


def run(event: dict[str, Any], runtime: Runtime) -> dict[str, Any]:
    if event.get("confirm"):
        return _confirm(runtime)
    return once(runtime, lambda: _switch(runtime))


def _position(runtime: Runtime) -> tuple[str, float]:
    action = THROW if runtime.setting("REGION_ROLE") == "secondary" else RELEASE
    return action, float(runtime.setting("SWITCH_THROWN_VALUE" if action == THROW else "SWITCH_RELEASED_VALUE"))


def _publish(runtime: Runtime, cloudwatch, value: float) -> None:
    cloudwatch.put_metric_data(
        Namespace=runtime.setting("SWITCH_NAMESPACE"),
        MetricData=[
            {
                "MetricName": runtime.setting("SWITCH_METRIC"),
                "Timestamp": datetime.fromtimestamp(now(), timezone.utc),
                "Value": value,
                "Unit": "Count",
            }
        ],
    )


def _periods(runtime: Runtime, cloudwatch) -> list[dict[str, float]]:
    """The switch metric per period, newest first: {"start", "max", "min"}."""
    # Aligned to the period, as GetMetricData's StartTime/EndTime advice asks: periods start on the minute.
    end = datetime.fromtimestamp((now() // PERIOD_SECONDS + 1) * PERIOD_SECONDS, timezone.utc)
    metric = {"Namespace": runtime.setting("SWITCH_NAMESPACE"), "MetricName": runtime.setting("SWITCH_METRIC")}
    response = cloudwatch.get_metric_data(
        StartTime=end - timedelta(hours=LOOKBACK_HOURS),
        EndTime=end,
        ScanBy="TimestampDescending",
        MetricDataQueries=[
            {"Id": stat.lower(), "MetricStat": {"Metric": metric, "Period": PERIOD_SECONDS, "Stat": stat}}
            for stat in ("Maximum", "Minimum")
        ],
    )
    series = {result["Id"]: dict(zip(result["Timestamps"], result["Values"])) for result in response["MetricDataResults"]}
    return [
        {"start": timestamp.timestamp(), "max": series["maximum"][timestamp], "min": series["minimum"].get(timestamp, series["maximum"][timestamp])}
        for timestamp in sorted(series["maximum"], reverse=True)
    ]


def _holds(periods: list[dict[str, float]], value: float) -> bool:
    return bool(periods) and periods[0]["max"] == periods[0]["min"] == value


def _switch(runtime: Runtime) -> dict[str, Any]:
    """Publish this run's position once, unless the metric already shows it; whether the data
    is readable yet is the confirmation's question (``confirm``)."""
    action, value = _position(runtime)
    cloudwatch = runtime.client("cloudwatch", runtime.setting("SWITCH_REGION"))
    periods = _periods(runtime, cloudwatch)
    if _holds(periods, value):
        runtime.log("the switch is already in place", action=action, since=periods[0]["start"])
        return {"action": action, "published": False, "position_since": periods[0]["start"]}
    current_period = now() // PERIOD_SECONDS * PERIOD_SECONDS
    if periods and periods[0]["start"] >= current_period:
        raise SwitchPeriodBusy(f"the other position was published in this {PERIOD_SECONDS} s period; retry in the next")
    runtime.budget.require(10, f"{action} the failover switch")
    _publish(runtime, cloudwatch, value)
    runtime.log("failover switch published; confirming it is readable", action=action)
    return {"action": action, "published": True, "published_at": now()}


def _confirm(runtime: Runtime) -> dict[str, Any]:
    """Read-only poll: ready once the newest period of the metric's data holds this run's
    position alone. AWS gives ``GetMetricData`` no read-after-write bound, so a publication
    may not be readable yet (not ready: poll again). A period that holds both positions (the
    other one was published there and was not yet readable when this run looked) reads as
    thrown to the alarm: the position is published again, in a later period, to converge
    (the same position twice is no second move)."""
    action, value = _position(runtime)
    cloudwatch = runtime.client("cloudwatch", runtime.setting("SWITCH_REGION"))
    periods = _periods(runtime, cloudwatch)
    if _holds(periods, value):
        runtime.log("failover switch confirmed; Route 53 follows within the alarm period plus TTL", action=action)
        return {"ready": True, "action": action, "position_since": periods[0]["start"]}
    current_period = now() // PERIOD_SECONDS * PERIOD_SECONDS
    mixed = bool(periods) and periods[0]["max"] != periods[0]["min"]
    if mixed and periods[0]["start"] < current_period:
        runtime.budget.require(10, f"{action} the failover switch again")
        _publish(runtime, cloudwatch, value)
        runtime.log("both positions in one period: published this run's again", action=action, period=periods[0]["start"])
        return {"ready": False, "action": action, "republished": True}
    runtime.log("the switch's position is not readable yet", action=action, newest=periods[:1])
    return {"ready": False, "action": action, "newest": periods[:1]}


def handler(event, context):
    return run(event, lambda_runtime(STEP, event, context))
