"""The failover report on this side of the runbook: the builder and the page are the runbook's
own (``lambdas/runbook/failover_report.py``, which its report step runs in Lambda); here the
budget becomes the builder's plan, and reports become files (``build.py report``, ``make drill``).
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from checks.budget import Budget
from lambdas.runbook import failover_report as runbook_report
from lambdas.runbook.failover_report import OUTSIDE, PHASES, REPORT_STATES, REPORTING, UNMEASURED, page  # noqa: F401  (the API)


def build(history: list[dict], request: dict, plan: Budget, region: str = "", ending: dict | None = None) -> dict:
    """The report of one execution measured against ``plan`` (see the builder)."""
    return runbook_report.build(history, request, plan.report_plan(), region, ending)


def write(report: dict, out_dir: Path, stem: str | None = None) -> tuple[Path, Path]:
    """``<stem>.json`` and ``<stem>.html`` in ``out_dir`` (the failover id by default)."""
    return write_texts(out_dir, stem or str(report["failover_id"]), dumps(report), page(report))


def write_texts(out_dir: Path, stem: str, json_text: str, html: str) -> tuple[Path, Path]:
    """A report already rendered (the bucket's copy, say) as ``<stem>.json`` and ``<stem>.html``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = safe_name(stem)
    json_path, html_path = out_dir / f"{stem}.json", out_dir / f"{stem}.html"
    json_path.write_text(json_text, encoding="utf-8")
    html_path.write_text(html, encoding="utf-8")
    return json_path, html_path


def dumps(report: dict) -> str:
    """The JSON report as the runbook's report step writes it, byte for byte."""
    return runbook_report.dumps(report)


def safe_name(text: str) -> str:
    """A file name from a label: letters, digits, '-', '_' and '.' kept, anything else '_'."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text).strip(".") or "report"


def index(entries: list[tuple[str, str, str]], title: str) -> str:
    """A page linking reports: (link, label, outcome) each."""
    rows = "".join(f'<li><a href="{escape(href)}">{escape(label)}</a>: {escape(outcome)}</li>' for href, label, outcome in entries)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title></head>'
            f"<body><h1>{escape(title)}</h1><ul>{rows}</ul></body></html>\n")
