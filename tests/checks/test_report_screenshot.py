"""A drilled run's failover report as a browser draws it: headless Chromium takes a screenshot
and the timeline's bars are there in their colours (a failed phase red, the others blue).

Needs /usr/bin/chromium (Debian's ``apt-get install chromium``); skipped without it.
docs/img/failover-report.png was taken with ``screenshot`` below.
"""

from __future__ import annotations

import contextlib
import io
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from checks import failover_report
from checks.drill.scenarios import SCENARIOS, run_report

CHROMIUM = Path("/usr/bin/chromium")
WIDTH, HEIGHT = 1000, 1000
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"headless Chromium is not installed at {CHROMIUM} (apt-get install chromium)")


def screenshot(html: Path, png: Path, width: int = WIDTH, height: int = HEIGHT) -> None:
    """``html`` as headless Chromium draws it in a ``width`` x ``height`` window, to ``png``."""
    subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--force-device-scale-factor=1",
         f"--window-size={width},{height}", f"--screenshot={png}", html.resolve().as_uri()],
        check=True, capture_output=True, timeout=120,
    )


def pixels(png: Path) -> tuple[int, int, list[tuple[int, int, int]]]:
    """Width, height and RGB pixels of an 8-bit RGB or RGBA, non-interlaced PNG (what Chromium writes)."""
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    chunks, at = {}, 8
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        chunks.setdefault(kind, []).append(data[at + 8:at + 8 + length])
        at += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"][0])
    assert (depth, interlace) == (8, 0) and colour in (2, 6)
    channels = 3 if colour == 2 else 4
    raw, stride, rows, previous = zlib.decompress(b"".join(chunks[b"IDAT"])), width * channels, [], bytearray(width * channels)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            left = line[x - channels] if x >= channels else 0
            up, corner = previous[x], previous[x - channels] if x >= channels else 0
            if kind == 1:
                line[x] = (line[x] + left) & 255
            elif kind == 2:
                line[x] = (line[x] + up) & 255
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                nearest = min((abs(p - left), 0, left), (abs(p - up), 1, up), (abs(p - corner), 2, corner))[2]
                line[x] = (line[x] + nearest) & 255
        rows.append(line)
        previous = line
    return width, height, [tuple(row[x:x + 3]) for row in rows for x in range(0, stride, channels)]


def _rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))


def test_a_failed_drill_report_renders_its_timeline_in_chromium(tmp_path):
    with contextlib.redirect_stdout(io.StringIO()):
        drilled = SCENARIOS["dr_service_cannot_serve"]()
    report = run_report(drilled.runs[0][1])
    _, html = failover_report.write(report, tmp_path)
    png = tmp_path / "report.png"
    screenshot(html, png)
    width, height, image = pixels(png)
    assert (width, height) == (WIDTH, HEIGHT)
    seen = set(image)
    # The failed capacity phase and the step it stopped at are red; the admit phase is blue;
    # budgets are grey bars behind them.
    for colour in (failover_report.runbook_report.FAIL_COLOUR, failover_report.runbook_report.OK_COLOUR,
                   failover_report.runbook_report.BUDGET_COLOUR):
        assert _rgb(colour) in seen, f"{colour} is not drawn"
    # Without the SVG none of the bar colours is drawn: they come from the timeline.
    bare = tmp_path / "bare.html"
    bare.write_text(html.read_text().split("<svg", 1)[0] + html.read_text().split("</svg>", 1)[1])
    screenshot(bare, tmp_path / "bare.png")
    assert _rgb(failover_report.runbook_report.FAIL_COLOUR) not in set(pixels(tmp_path / "bare.png")[2])
