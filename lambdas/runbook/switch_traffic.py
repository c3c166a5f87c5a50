"""Throw or release the Route 53 failover switch, without Route 53's control plane.

The switch is a CloudWatch alarm in the DR region that the PRIMARY record's health check
follows. Run in the DR region (failover), this step throws it by publishing to the local
CloudWatch endpoint. Run in the primary region (failback, a planned operation with both
regions up), it releases it by publishing to the DR region's endpoint, where it lives.

Route 53 "monitors the data stream for the corresponding alarm instead of monitoring the
alarm state" (Route 53 developer guide, health checks that monitor CloudWatch alarms), so
the switch's position is the metric's data, not the alarm's state: the step decides from
the latest datapoint, never publishes both positions within one metric period (the
period's Maximum would read as thrown), and reports a move only once the current
period's data holds the new value alone.
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


class SwitchNotConfirmed(StepError):
    """The published position is not what the metric's data shows; the state machine retries."""


def run(event: dict[str, Any], runtime: Runtime) -> dict[str, Any]:
    return once(runtime, lambda: _switch(runtime))


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


def _switch(runtime: Runtime) -> dict[str, Any]:
    action = THROW if runtime.setting("REGION_ROLE") == "secondary" else RELEASE
    value = float(runtime.setting("SWITCH_THROWN_VALUE" if action == THROW else "SWITCH_RELEASED_VALUE"))
    cloudwatch = runtime.client("cloudwatch", runtime.setting("SWITCH_REGION"))
    periods = _periods(runtime, cloudwatch)
    if periods and periods[0]["max"] == periods[0]["min"] == value:
        runtime.log("the switch is already in place", action=action, since=periods[0]["start"])
        return {"action": action, "published": False, "position_since": periods[0]["start"]}
    current_period = now() // PERIOD_SECONDS * PERIOD_SECONDS
    if periods and periods[0]["start"] >= current_period:
        raise SwitchPeriodBusy(f"the other position was published in this {PERIOD_SECONDS} s period; retry in the next")
    runtime.budget.require(10, f"{action} the failover switch")
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
    confirmed = _periods(runtime, cloudwatch)
    if not confirmed or not confirmed[0]["max"] == confirmed[0]["min"] == value:
        raise SwitchNotConfirmed(f"published {value}, but the metric's current period reads {confirmed[:1]}")
    runtime.log("failover switch moved; Route 53 follows within the alarm period plus TTL", action=action)
    return {"action": action, "published": True, "period_start": confirmed[0]["start"]}


def handler(event, context):
    return run(event, lambda_runtime(STEP, event, context))
