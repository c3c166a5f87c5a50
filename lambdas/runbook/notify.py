"""One message per run, with its timeline, to this region's alerts topic.

After an unplanned failover the message says where the old primary's last data is: Aurora
"creates a snapshot named rds:unplanned-global-failover-name-of-old-primary-DB-cluster-
timestamp", a system snapshot "subject to the backup retention period configured on the
old primary cluster" (Aurora user guide, disaster recovery), so it must be copied to be kept.
"""

from __future__ import annotations

import json
from typing import Any

from .idempotency import once
from .runtime import Runtime, lambda_runtime

STEP = "notify"
# SNS e-mail subjects are limited to 100 characters.
SUBJECT_LIMIT = 100


def message(event: dict[str, Any], region: str, settings=None) -> tuple[str, str]:
    outcome = event.get("outcome", "succeeded")
    if outcome == "failed" and event.get("served") == "SUCCEEDED":
        # The failure path after the failover served: only the success notification failed.
        outcome = "succeeded (its first notification failed)"
    subject = f"DR runbook {outcome} in {region}: {event['failover_id']}"[:SUBJECT_LIMIT]
    lines = [
        f"Failover {event['failover_id']} to {region}: {outcome}",
        f"mode: {event.get('mode', 'planned')}, data loss accepted: {bool(event.get('accept_data_loss'))}",
        "",
        "timeline:",
    ]
    for name, result in event.get("steps", {}).items():
        lines.append(f"  {name}: {json.dumps(result, sort_keys=True, default=str)}")
    if "error" in event:
        lines += ["", f"error: {json.dumps(event['error'], sort_keys=True, default=str)}"]
    lines += ["", report_line(event.get("report"), event.get("execution") or event["failover_id"], region, settings)]
    promoted = event.get("steps", {}).get("promote", {}).get("result", {})
    if promoted.get("action") == "failover" and settings is not None:
        cluster, old_region = settings["PEER_DB_CLUSTER_ID"], settings["PEER_REGION"]
        lines += [
            "",
            f"The old primary's unreplicated writes: Aurora keeps a snapshot rds:unplanned-global-failover-{cluster}-TIMESTAMP "
            f"in {old_region} for {settings['BACKUP_RETENTION_DAYS']} days (the old primary's backup retention). Keep it with:",
            f"  aws rds copy-db-cluster-snapshot --region {old_region} --source-db-cluster-snapshot-identifier "
            f"<that snapshot> --target-db-cluster-snapshot-identifier {cluster}-before-failover",
        ]
    return subject, "\n".join(lines)


def report_line(report: Any, execution: str, region: str, settings=None) -> str:
    """Where the run's failover report is, will be, or why there is none (the run's outcome stands
    either way). The command names the execution (an automatic run's name is EventBridge's, not
    its failover id) and the region, so it does not depend on the other region answering."""
    command = f"build.py report {execution} --region {region}"
    if isinstance(report, dict) and report.get("written"):
        return f"report: {report['location']} (JSON: {report.get('json')})"
    error = report.get("error") if isinstance(report, dict) else None
    if isinstance(error, dict):
        return f"report: not written ({error.get('Error')}: {error.get('Cause')}); build it from the execution's history: {command}"
    if settings and settings.get("REPORT_BUCKET"):
        # The failure path pages first; its report step runs after this message.
        html = f"s3://{settings['REPORT_BUCKET']}/{settings.get('REPORT_PREFIX', '')}{execution}.html"
        return f"report: written after this message to {html} (and .json); if it is not there: {command}"
    return f"report: none written yet; build it from the execution's history: {command}"


def run(event: dict[str, Any], runtime: Runtime) -> dict[str, Any]:
    outcome = event.get("outcome", "succeeded")
    return once(runtime, lambda: _publish(event, runtime), key_suffix=f"#{outcome}")


def _publish(event: dict[str, Any], runtime: Runtime) -> dict[str, Any]:
    snapshot = {name: runtime.setting(name) for name in ("PEER_REGION", "PEER_DB_CLUSTER_ID", "BACKUP_RETENTION_DAYS", "REPORT_BUCKET", "REPORT_PREFIX")}
    subject, body = message(event, runtime.setting("AWS_REGION"), snapshot)
    response = runtime.client("sns").publish(TopicArn=runtime.setting("ALERTS_TOPIC_ARN"), Subject=subject, Message=body)
    runtime.log("run notification published", subject=subject)
    return {"message_id": response["MessageId"], "subject": subject}


def handler(event, context):
    return run(event, lambda_runtime(STEP, event, context))
