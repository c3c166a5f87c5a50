"""The scheduled readiness function: run every check for this region, publish one metric
per check and the overall ``Ready`` (1 ready, 0 not), log each finding; in the DR region,
with the switch thrown and the DR cluster the writer, publish the thrown position again
(checks.py ``_thrown_switch_has_data``).

``Ready``'s alarm treats missing data as breaching, so a function that fails, times out or
is never invoked turns it to ALARM just as a failed check does.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import boto3

from readiness.checks import Context, readiness, republish_switch
from runbook.runtime import RETRY_CONFIG

READY_METRIC = "Ready"
CHECK_DIMENSION = "Check"


def metric_data(findings) -> list[dict]:
    """One datum per check (dimension ``Check``) and the overall one (no dimension); a check
    that could not be made (``ready`` None) counts as not ready."""
    data = [
        {"MetricName": READY_METRIC, "Dimensions": [{"Name": CHECK_DIMENSION, "Value": f.check}], "Value": float(f.ready is True)}
        for f in findings
    ]
    data.append({"MetricName": READY_METRIC, "Value": float(all(f.ready is True for f in findings))})
    return data


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    ctx = Context(
        settings=os.environ,
        region=os.environ["AWS_REGION"],
        client=lambda service, region: boto3.client(service, region_name=region, config=RETRY_CONFIG),
    )
    facts: dict = {}
    findings = readiness(ctx, facts)
    if facts.get("republish_switch"):
        republish_switch(ctx)
    for finding in findings:
        print(json.dumps({"level": "INFO" if finding.ready else "WARNING", "check": finding.check,
                          "ready": finding.ready, "observed": finding.observed}), file=sys.stdout, flush=True)
    ctx.call("cloudwatch", "put_metric_data", Namespace=os.environ["METRICS_NAMESPACE"], MetricData=metric_data(findings))
    return {"ready": all(f.ready is True for f in findings), "findings": {f.check: f.observed for f in findings}}
