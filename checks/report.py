"""Output for people: progress lines, and findings as the plain-text table the security scan and the IAM proof print."""

from __future__ import annotations

from collections.abc import Sequence


def say(line: str) -> None:
    """Progress to stdout right away, so long steps show where they are."""
    print(line, flush=True)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Left-aligned columns as wide as their widest cell; the last column is not padded."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows)]

    def line(cells: Sequence[str]) -> str:
        padded = [str(cell).ljust(width) for cell, width in zip(cells[:-1], widths)]
        return "  ".join([*padded, str(cells[-1])])

    return [line(headers), line(["-" * width for width in widths]), *(line(row) for row in rows)]
