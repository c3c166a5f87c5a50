"""Helpers for the runbook functions' tests: an in-process moto server (real boto3 over HTTP)
for the services it emulates, botocore's Stubber for RDS global-cluster calls (moto 5.2
implements neither failover nor switchover), and a recorder of every AWS call each
function makes (for the IAM proof).

Over HTTP, an error injected before sending never reaches the emulator, exactly as a
throttled request never reaches AWS; an in-process mock would still execute it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "lambdas"))


from templates import naming  # noqa: E402
from templates.config import Config  # noqa: E402

CFG = Config()
REGION = CFG.dr_region  # the runbook runs in the region it fails over to
PEER = CFG.primary_region
TABLE = "idempotency"
CLUSTER, SERVICE = naming.ecs_cluster(CFG).pattern, naming.ecs_service(CFG).pattern
# The report step's bucket and settings (templates/runbook.py renders them).
REPORT_BUCKET = naming.report_bucket(CFG).for_region(REGION)
REPORT_SETTINGS = {
    "REPORT_BUCKET": REPORT_BUCKET, "REPORT_PREFIX": "reports/",
    "REPORT_KEY_ARN": f"arn:aws:kms:{REGION}:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
}
# The report step's own state in moto's canned execution history (conftest's ``execution``).
MOTO_REPORT_STATE = {"state": "A State"}


def running_in_report_state(client) -> None:
    """moto's canned histories are of ended runs; its FAILURE one (ExecutionStarted,
    FailStateEntered "A State", ExecutionFailed) less its end is a run in ``MOTO_REPORT_STATE``,
    as the report step reads its own; newest first where asked (moto ignores reverseOrder)."""

    def remember(params, context, **_):
        context["newest_first"] = params.get("reverseOrder", False)

    def running(parsed, context, **_):
        events = [e for e in parsed.get("events", []) if e["type"] == "ExecutionStarted" or not e["type"].startswith("Execution")]
        parsed["events"] = events[::-1] if context.get("newest_first") else events

    client.meta.events.register("before-parameter-build.sfn.GetExecutionHistory", remember)
    client.meta.events.register("after-call.sfn.GetExecutionHistory", running)
RESOURCE_ID = f"service/{CLUSTER}/{SERVICE}"


_ENDPOINT: list[str] = []


def aws_client(service: str, region: str | None = None, **config):
    """A real boto3 client talking HTTP to the emulator."""
    return boto3.client(service, region_name=region or REGION, endpoint_url=_ENDPOINT[0], **config)


class Calls:
    """Every AWS operation attempted through the runtime's clients, as (service, operation)."""

    def __init__(self):
        self.made: list[tuple[str, str]] = []

    def record(self, client) -> None:
        service = client.meta.service_model.service_name

        def remember(model, **_):
            self.made.append((service, model.name))

        # unique_id: a client shared by several runtimes (the stubbed RDS one) is recorded once.
        client.meta.events.register("before-parameter-build", remember, unique_id="recorded-calls")

    def of(self, service: str) -> list[str]:
        return [operation for name, operation in self.made if name == service]


def inject_errors(client, operation: str, errors: list[tuple[int, str]]) -> list[int]:
    """Answer the next attempts of ``operation`` with (HTTP status, error code), then let them through.

    The request is answered before it is sent, so the emulator never sees it; botocore's
    retry handler sees real error responses and retries as it would against AWS.
    Returns the attempt counter.
    """
    from botocore.awsrequest import AWSResponse

    from checks.drill.network import RawBody

    attempts = [0]
    pending = list(errors)

    def answer(request, **_):
        attempts[0] += 1
        if not pending:
            return None
        status, code = pending.pop(0)
        body = f'{{"__type": "{code}", "message": "injected"}}'.encode()
        return AWSResponse(request.url, status, {"Content-Type": "application/x-amz-json-1.0"}, RawBody(body))

    client.meta.events.register_first(f"before-send.{client.meta.service_model.endpoint_prefix}.{operation}", answer)
    return attempts
