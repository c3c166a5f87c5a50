"""Throw or release the Route 53 failover switch, without Route 53's control plane.

The switch is a CloudWatch alarm in the DR region that the PRIMARY record's health check
follows. Run in the DR region (failover), this step throws it by publishing to the local
CloudWatch endpoint. Run in the primary region (failback, a planned operation with both
regions up), it releases it by publishing to the DR region's endpoint, where it lives.
"""

from __future__ import annotations

from typing import Any

from .idempotency import once
from .runtime import Runtime, lambda_runtime

STEP = "switch_traffic"
THROW = "throw"
RELEASE = "release"
THROWN_STATE = "ALARM"


def run(event: dict[str, Any], runtime: Runtime) -> dict[str, Any]:
    return once(runtime, lambda: _switch(runtime))


def _switch(runtime: Runtime) -> dict[str, Any]:
    action = THROW if runtime.setting("REGION_ROLE") == "secondary" else RELEASE
    cloudwatch = runtime.client("cloudwatch", runtime.setting("SWITCH_REGION"))
    alarm_name = runtime.setting("SWITCH_ALARM_NAME")
    (alarm,) = cloudwatch.describe_alarms(AlarmNames=[alarm_name], AlarmTypes=["MetricAlarm"])["MetricAlarms"]
    thrown = alarm["StateValue"] == THROWN_STATE
    if thrown == (action == THROW):
        runtime.log("the switch is already in place", action=action, alarm_state=alarm["StateValue"])
        return {"action": action, "published": False, "alarm_state": alarm["StateValue"]}
    runtime.budget.require(10, f"{action} the failover switch")
    cloudwatch.put_metric_data(
        Namespace=runtime.setting("SWITCH_NAMESPACE"),
        MetricData=[
            {
                "MetricName": runtime.setting("SWITCH_METRIC"),
                "Value": float(runtime.setting("SWITCH_THROWN_VALUE" if action == THROW else "SWITCH_RELEASED_VALUE")),
                "Unit": "Count",
            }
        ],
    )
    runtime.log("failover switch published; Route 53 follows within the alarm period plus TTL", action=action)
    return {"action": action, "published": True, "alarm_state": alarm["StateValue"]}


def handler(event, context):
    return run(event, lambda_runtime(STEP, event, context))
