"""Account quotas a deploy needs, checked in every region it deploys to before any stack set operation.

Lambda: the functions' reserved concurrency. "You can reserve up to the Unreserved account
concurrency value minus 100" ("Configuring reserved concurrency for a function",
https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html), and new accounts
often start with a concurrency quota (Service Quotas ``L-B99A9384``, "Concurrent executions")
far below 1,000: CloudFormation would fail the function's create half way through the
regional stack. ``GetAccountSettings`` gives the quota (``AccountLimit.ConcurrentExecutions``)
and what is left unreserved; the project's own functions that exist already hold part of it.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from ops.aws import Aws
from ops.errors import OpsError, error_code
from ops.rendered import Rendered, physical_name

LAMBDA_CONCURRENCY_QUOTA = "L-B99A9384"
KEPT_UNRESERVED = 100


def reserved_by_templates(rendered: Rendered, region: str, account: str, partition: str) -> dict[str, int]:
    """Function name -> reserved concurrency, for every function the stack sets deploy to ``region``."""
    reserved = {}
    for spec in rendered.stack_sets:
        if region not in spec.regions:
            continue
        for logical_id, resource in rendered.template(spec).get("Resources", {}).items():
            props = resource.get("Properties", {})
            if resource.get("Type") == "AWS::Lambda::Function" and "ReservedConcurrentExecutions" in props:
                name = physical_name(props.get("FunctionName"), region, account, partition) or logical_id
                reserved[name] = int(props["ReservedConcurrentExecutions"])
    return reserved


def _held(client: Any, name: str) -> int:
    """What the function reserves now (0 when it does not exist yet)."""
    try:
        return client.get_function_concurrency(FunctionName=name).get("ReservedConcurrentExecutions", 0)
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return 0
        raise


def lambda_concurrency_problems(aws: Aws, rendered: Rendered, regions: list[str]) -> list[str]:
    """One line per region whose quota cannot take the functions' reservations, with the request to make."""
    identity = aws.identity
    problems = []
    for region in regions:
        wanted = reserved_by_templates(rendered, region, identity.account, identity.partition)
        if not wanted:
            continue
        client = aws.client("lambda", region)
        limit = client.get_account_settings()["AccountLimit"]
        held = sum(_held(client, name) for name in wanted)
        left = limit["UnreservedConcurrentExecutions"] + held - sum(wanted.values())
        if left < KEPT_UNRESERVED:
            needed = limit["ConcurrentExecutions"] + KEPT_UNRESERVED - left
            problems.append(
                f"{region}: Lambda's concurrency quota is {limit['ConcurrentExecutions']} and "
                f"{limit['UnreservedConcurrentExecutions']} of it is unreserved; the functions reserve "
                f"{sum(wanted.values())} and Lambda keeps {KEPT_UNRESERVED} unreserved. Ask for {needed}: "
                f"aws service-quotas request-service-quota-increase --region {region} --service-code lambda "
                f"--quota-code {LAMBDA_CONCURRENCY_QUOTA} --desired-value {needed} "
                "(or set runbook.reserve_concurrency = false and re-render)"
            )
    return problems


def check_quotas(aws: Aws, rendered: Rendered, regions: list[str]) -> None:
    """``OpsError`` (exit 1) listing every region whose quotas cannot take the deploy."""
    problems = lambda_concurrency_problems(aws, rendered, regions)
    if problems:
        raise OpsError("the account's quotas cannot take this deploy; nothing was changed", details=problems)
