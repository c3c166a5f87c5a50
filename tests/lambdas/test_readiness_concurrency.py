"""The LambdaConcurrency readiness check (issue 21, item 3): with reservations the runbook's
functions hold their own concurrency; without them (an account whose quota could not take
them), the account's unreserved concurrency must leave the runbook what it would have
reserved. Lambda's GetAccountSettings is a botocore Stubber (moto does not implement it),
whose shapes botocore validates against the service model."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from lambda_support import CFG
from ops.readiness import settings
from readiness import checks
from templates import runbook

NEEDED = len(runbook.STEPS) * runbook.RESERVED_CONCURRENCY


def _context(reserve: bool, unreserved: int | None = None) -> checks.Context:
    client = boto3.client("lambda", region_name=CFG.dr_region, aws_access_key_id="t", aws_secret_access_key="t")
    stubber = Stubber(client)
    if unreserved is not None:
        stubber.add_response("get_account_settings", {"AccountLimit": {"ConcurrentExecutions": 1000, "UnreservedConcurrentExecutions": unreserved}})
    stubber.activate()
    values = {**settings(CFG, CFG.dr_region, "arn"), "RESERVE_CONCURRENCY": str(reserve).lower()}
    return checks.Context(settings=values, region=CFG.dr_region, client=lambda service, region: client)


def test_with_reservations_the_runbook_holds_its_own_concurrency_and_nothing_is_asked():
    finding = checks.lambda_concurrency(_context(reserve=True), {})
    assert finding.ready is True and str(NEEDED) in finding.observed


@pytest.mark.parametrize("unreserved, ready", [(NEEDED, True), (NEEDED - 1, False)])
def test_without_reservations_the_unreserved_concurrency_must_cover_the_runbook(unreserved, ready):
    finding = checks.lambda_concurrency(_context(reserve=False, unreserved=unreserved), {})
    assert finding.ready is ready
    assert ("L-B99A9384" in finding.observed) is not ready


def test_the_runbook_concurrency_is_what_the_rendered_runbook_functions_reserve():
    """The figure the check compares against is the sum of the reservations the template gives
    the runbook's step functions (the ones a failover cannot run without)."""
    import json

    from templates.render import render

    resources = json.loads(render(CFG)["regional.json"])["Resources"]
    steps = {runbook.logical_id(step) for step in runbook.STEPS}
    reserved = sum(body["Properties"]["ReservedConcurrentExecutions"] for logical, body in resources.items() if logical in steps)
    assert settings(CFG, CFG.dr_region, "arn")["RUNBOOK_CONCURRENCY"] == str(reserved)
