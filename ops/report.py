"""``build.py report FAILOVER_ID``: the failover report of one runbook execution, written
locally as JSON and HTML: the copy the run wrote to its region's report bucket
(``templates/reports.py``) when there is one, else built from its Step Functions history
(``checks/failover_report.py``, the same builder), e.g. for a run whose report step failed
or that ran before the bucket existed.

The argument names the execution: the failover id for runs ``build.py failover`` started, the
name EventBridge gave an automatic run (the run's notification prints it, with ``--region``).
Without ``--region`` both configured regions are asked, the DR region first, each one whole
(its bucket's copy, then its history) before the next: a region that cannot be asked (the
lost one, in a regional outage) is skipped with a one-line warning. A missing copy is S3's
``NoSuchKey`` (``NoSuchBucket`` before the bucket exists); without ``s3:ListBucket`` S3
answers a missing key with ``AccessDenied``, which is reported, not taken for missing (S3 API
Reference, GetObject: "If you don't have the s3:ListBucket permission, Amazon S3 returns an
HTTP status code 403 Access Denied error"). "GetExecutionHistory": "If nextToken is returned,
there are more results available ... Keep all other arguments unchanged"; the maximum page
size is 1000 (Step Functions API reference, GetExecutionHistory,
https://docs.aws.amazon.com/step-functions/latest/apireference/API_GetExecutionHistory.html).
"""

from __future__ import annotations

import json
import webbrowser
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError

from checks import budget, failover_report
from ops.errors import EXIT_BAD_INPUT, EXIT_PROBLEM
from ops.failover import ACCESS_DENIED_CODES, FAILOVER_ID_PATTERN, HISTORY_PAGE_SIZE, AwsError, Out, _Aws, runbook_arn
from ops.rendered import physical_name
from templates import dns, naming
from templates.config import Config
from templates.reports import report_keys

NOT_FOUND = "ExecutionDoesNotExist"
NO_COPY = {"NoSuchKey", "NoSuchBucket"}


def _bucket(cfg: Config, region: str, account: str) -> str:
    return physical_name(naming.report_bucket(cfg).pattern, region, account, cfg.partition)


def _from_bucket(cfg: Config, aws: _Aws, failover_id: str, region: str) -> tuple[str, dict, str, str] | None:
    """(where, the report, its JSON and its HTML as the run wrote them) of the copy in
    ``region``'s bucket; None when there is none. Both objects are read before anything is written."""
    bucket = _bucket(cfg, region, aws.account(region))
    bodies = []
    for key in report_keys(failover_id):
        try:
            response = aws.call("s3", region, "get_object", Bucket=bucket, Key=key)
            bodies.append(response["Body"].read())
        except AwsError as exc:
            if exc.code in NO_COPY:
                return None
            if exc.code in ACCESS_DENIED_CODES:
                raise AwsError(f"{exc}; S3 answers so for a missing report too when s3:ListBucket is not allowed "
                               "(docs/reports.md lists what the reader needs)", exc.code, exc.exit_status) from None
            raise
        except BotoCoreError as exc:  # the body's stream broke off
            raise AwsError(f"GetObject s3://{bucket}/{key} in {region} failed: {exc}") from None
    try:
        report = json.loads(bodies[0])
    except ValueError:
        report = None
    if not isinstance(report, dict):
        raise AwsError(f"s3://{bucket}/{report_keys(failover_id)[0]} is not a failover report (not a JSON object)")
    json_text, html = (body.decode("utf-8", "replace") for body in bodies)
    return f"s3://{bucket}/{report_keys(failover_id)[1]}", report, json_text, html


def _execution_arn(machine_arn: str, name: str) -> str:
    """arn:PARTITION:states:REGION:ACCOUNT:execution:MACHINE:NAME, from the machine's ARN."""
    return machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{name}"


def _described(cfg: Config, aws: _Aws, failover_id: str, region: str) -> dict | None:
    """``DescribeExecution`` of the execution in ``region``'s runbook; None when it does not exist there."""
    arn = _execution_arn(runbook_arn(cfg, region, aws.account(region)), failover_id)
    try:
        return aws.call("stepfunctions", region, "describe_execution", executionArn=arn)
    except AwsError as exc:
        if exc.code != NOT_FOUND:
            raise
    return None


def _report_in(cfg: Config, aws: _Aws, failover_id: str, region: str) -> tuple[dict, str, str, str] | None:
    """(the report, its JSON, its HTML, where it came from) in ``region``: its bucket's copy, else
    built from the execution's history; None when the region has neither."""
    copy = _from_bucket(cfg, aws, failover_id, region)
    if copy is not None:
        where, report, json_text, html = copy
        return report, json_text, html, f" (from {where})"
    described = _described(cfg, aws, failover_id, region)
    if described is None:
        return None
    report = execution_report(cfg, aws, region, failover_id, described)
    return report, failover_report.dumps(report), failover_report.page(report), " (from the execution's history)"


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


def run_report(cfg: Config, failover_id: str, region: str | None, out_dir: Path, session: Any = None, out: Out = print,
               open_page: bool = False) -> int:
    """Returns 0 when the report is written, 1 when the execution is not found or a region does
    not answer, 2 on bad input (and unusable credentials). ``open_page``: then show the HTML in
    a browser (its path is printed when there is none)."""
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
    regions = [region] if region else [cfg.dr_region, cfg.primary_region]
    skipped = []
    for asked in regions:
        try:
            found = _report_in(cfg, aws, failover_id, asked)
        except AwsError as exc:
            # Asked for one region, or credentials that fail everywhere: nothing else to try.
            if region is not None or exc.exit_status == EXIT_BAD_INPUT:
                out(f"error: {exc}")
                return exc.exit_status
            out(f"warning: skipping {asked}: {exc}")
            skipped.append(asked)
            continue
        if found is not None:
            report, json_text, html, source = found
            return _written(out, out_dir / failover_id, report, json_text, html, source, open_page)
    asked_regions = " or ".join(r for r in regions if r not in skipped)
    if not asked_regions:
        out(f"error: no region could be asked for {failover_id} (see the warnings above)")
    else:
        out(f"error: no runbook execution named {failover_id} in {asked_regions}")
    return EXIT_PROBLEM


def _written(out: Out, stem: Path, report: dict, json_text: str, html: str, source: str, open_page: bool) -> int:
    """``stem``.json and .html; one line saying what and where; the page opened if asked."""
    out_dir = stem.parent
    try:
        json_path, html_path = failover_report.write_texts(out_dir, stem.name, json_text, html)
    except OSError as exc:
        out(f"error: cannot write the report to {out_dir}: {exc.strerror or exc}")
        return EXIT_BAD_INPUT
    stopped = f" at {report['stopped_at']}" if report.get("stopped_at") else ""
    out(f"{report.get('outcome')}{stopped}: {html_path} and {json_path.name}{source}")
    if open_page and not webbrowser.open(html_path.resolve().as_uri()):
        out(f"no browser to open it with: open {html_path.resolve()}")
    return 0
