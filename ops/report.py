"""``build.py report FAILOVER_ID``: the failover report of one runbook execution, built from
its Step Functions history and written locally as JSON and HTML (``checks/failover_report.py``).

The execution is named by its failover id (``build.py failover`` starts it so), in the
runbook of the region it ran in; without ``--region`` both configured regions are asked,
the region the command was told first. "GetExecutionHistory": "If nextToken is returned,
there are more results available ... Keep all other arguments unchanged"; the maximum page
size is 1000 (Step Functions API reference, GetExecutionHistory,
https://docs.aws.amazon.com/step-functions/latest/apireference/API_GetExecutionHistory.html).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from checks import budget, failover_report
from ops.errors import EXIT_BAD_INPUT, EXIT_PROBLEM
from ops.failover import FAILOVER_ID_PATTERN, HISTORY_PAGE_SIZE, AwsError, Out, _Aws, runbook_arn
from templates import dns
from templates.config import Config

NOT_FOUND = "ExecutionDoesNotExist"


def _execution_arn(machine_arn: str, name: str) -> str:
    """arn:PARTITION:states:REGION:ACCOUNT:execution:MACHINE:NAME, from the machine's ARN."""
    return machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{name}"


def _find(cfg: Config, aws: _Aws, failover_id: str, regions: list[str]) -> tuple[str, dict] | None:
    """The region and ``DescribeExecution`` of the execution, asked region by region; None when
    every region answered that it does not exist. A region that cannot be asked is raised."""
    for region in regions:
        arn = _execution_arn(runbook_arn(cfg, region, aws.account(region)), failover_id)
        try:
            return region, aws.call("stepfunctions", region, "describe_execution", executionArn=arn)
        except AwsError as exc:
            if exc.code != NOT_FOUND:
                raise
    return None


def execution_report(cfg: Config, aws: _Aws, region: str, failover_id: str, described: dict | None = None) -> dict:
    """The report of the execution named ``failover_id`` in ``region``'s runbook, from its history
    (``described``: its DescribeExecution, asked when not given)."""
    if described is None:
        arn = _execution_arn(runbook_arn(cfg, region, aws.account(region)), failover_id)
        described = aws.call("stepfunctions", region, "describe_execution", executionArn=arn)
    pages = aws.pages("stepfunctions", region, "get_execution_history", executionArn=described["executionArn"],
                      PaginationConfig={"PageSize": HISTORY_PAGE_SIZE})
    history = [event for page in pages for event in page["events"]]
    try:
        request = json.loads(described.get("input") or "{}")
    except ValueError:
        request = {}
    request = {"failover_id": failover_id, **(request if isinstance(request, dict) else {})}
    return failover_report.build(history, request, budget.for_timing(cfg, dns.timing(cfg)), region)


def run_report(cfg: Config, failover_id: str, region: str | None, out_dir: Path, session: Any = None, out: Out = print) -> int:
    """Returns 0 when the report is written, 1 when the execution is not found or a region does
    not answer, 2 on bad input (and unusable credentials)."""
    if not FAILOVER_ID_PATTERN.match(failover_id):
        out(f"error: failover id {failover_id!r}: 1 to 80 letters, digits, '-' or '_' (it names the execution)")
        return EXIT_BAD_INPUT
    if region is not None and region not in cfg.regions:
        out(f"error: --region {region}: not a region of this configuration; use {cfg.primary_region} or {cfg.dr_region}")
        return EXIT_BAD_INPUT
    if out_dir.exists() and not out_dir.is_dir():
        out(f"error: --out {out_dir}: not a directory")
        return EXIT_BAD_INPUT
    aws = _Aws(session)
    try:
        found = _find(cfg, aws, failover_id, [region] if region else [cfg.dr_region, cfg.primary_region])
        if found is None:
            where = region or f"{cfg.dr_region} or {cfg.primary_region}"
            out(f"error: no runbook execution named {failover_id} in {where}")
            return EXIT_PROBLEM
        region, described = found
        report = execution_report(cfg, aws, region, failover_id, described)
    except AwsError as exc:
        out(f"error: {exc}")
        return exc.exit_status
    try:
        json_path, html_path = failover_report.write(report, out_dir)
    except OSError as exc:
        out(f"error: cannot write the report to {out_dir}: {exc.strerror or exc}")
        return EXIT_BAD_INPUT
    out(f"{report['outcome']}{' at ' + report['stopped_at'] if report['stopped_at'] else ''}: {html_path} and {json_path.name}")
    return 0
