"""What rendering raises for the command line to report, importable without the gate's heavy tools."""

from __future__ import annotations


class GateFailure(Exception):
    """Rendering produced output that must not be published; ``problems`` says why."""

    def __init__(self, summary: str, problems: list[str]):
        super().__init__(summary)
        self.problems = problems


class OutputError(Exception):
    """The output folder cannot be written (read-only, below a file...): bad input, not a gate failure."""
