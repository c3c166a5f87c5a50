"""After the switch: does Route 53 itself show the move?

The switch decides the PRIMARY record's calculated health check (the primary's load balancer
AND the switch released), and Route 53 answers with the SECONDARY record while that check is
unhealthy. So the run reads that check's status as Route 53 publishes it: the
``AWS/Route53`` ``HealthCheckStatus`` metric ("1 indicates healthy, 0 indicates unhealthy"),
which exists for calculated checks too and only in Route 53's metrics region (Route 53
developer guide, "Monitoring health check status and getting notifications"). Failing over
the move shows as 0, failing back as 1, in a minute that starts after the switch moved.
``GetHealthCheckStatus`` cannot do this: it serves no calculated check.

The metrics region may be the one that is down (us-east-1 in the aws partition): when it
does not answer, the run reports traffic as unverified instead of failing, and the state
machine leaves the other region's service as it is (it may still be serving).
https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/monitoring-health-checks.html
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from .health import health_check_named
from .runtime import Runtime, is_unreachable, lambda_runtime, now

STEP = "verify_traffic"
PERIOD_SECONDS = 60
# Route 53 publishes the status every minute; a few minutes of it are enough to find the newest.
LOOKBACK_MINUTES = 10
# What the state machine passes before the first check has found the PRIMARY record's check.
NOT_LOOKED_UP = "unknown"


def run(event: dict[str, Any], runtime: Runtime) -> dict[str, Any]:
    expected = 0.0 if runtime.setting("REGION_ROLE") == "secondary" else 1.0
    since = float(event.get("since") or 0)
    try:
        # This stack's own check in the primary region; looked up by name from the DR region,
        # once per run (the state machine passes it back): Route 53 throttles per account.
        known = event.get("primary_check") if event.get("primary_check") != NOT_LOOKED_UP else None
        check = known or runtime.settings.get("PRIMARY_HEALTH_CHECK_ID") or health_check_named(runtime.client("route53"), runtime.setting("PRIMARY_HEALTH_CHECK_NAME"))
        if check is None:
            return {"ready": True, "verified": False, "reason": f"no health check is named {runtime.setting('PRIMARY_HEALTH_CHECK_NAME')}"}
        latest = _latest_status(runtime, check, expected)
    except Exception as error:
        if not is_unreachable(error):
            raise
        runtime.log("Route 53's API or metrics region did not answer: traffic not verified", error=type(error).__name__)
        return {"ready": True, "verified": False, "reason": f"Route 53's view could not be read ({type(error).__name__})"}
    moved = latest is not None and latest[0] >= since and latest[1] == expected
    runtime.log("traffic check", primary_check=check, newest=latest, expected=expected, since=since, verified=moved)
    return {"ready": moved, "verified": moved, "primary_record_status": latest[1] if latest else None, "primary_check": check}


def _latest_status(runtime: Runtime, check: str, expected: float) -> tuple[float, float] | None:
    """(period start, value) of the newest minute of the check's status: its Maximum when
    looking for unhealthy, its Minimum when looking for healthy, so the minute counts only if
    the status held the expected value throughout."""
    end = datetime.fromtimestamp((now() // PERIOD_SECONDS + 1) * PERIOD_SECONDS, timezone.utc)
    response = runtime.client("cloudwatch", runtime.setting("ROUTE53_METRICS_REGION")).get_metric_data(
        StartTime=end - timedelta(minutes=LOOKBACK_MINUTES),
        EndTime=end,
        ScanBy="TimestampDescending",
        MetricDataQueries=[{
            "Id": "status",
            "MetricStat": {
                "Metric": {"Namespace": "AWS/Route53", "MetricName": "HealthCheckStatus",
                           "Dimensions": [{"Name": "HealthCheckId", "Value": check}]},
                "Period": PERIOD_SECONDS,
                "Stat": "Maximum" if expected == 0 else "Minimum",
            },
        }],
    )
    (series,) = response["MetricDataResults"]
    if not series["Values"]:
        return None
    return series["Timestamps"][0].timestamp(), series["Values"][0]


def handler(event, context):
    return run(event, lambda_runtime(STEP, event, context))
