"""Simulated time shared by the interpreter, the functions, botocore's retries and the fakes.

Everything that waits in a drill (Step Functions ``Wait`` states and ``Retry`` intervals,
botocore's retry backoff, a timed-out connection) advances this clock instead of
sleeping, and everything that reads time (the functions' leases and deadlines, the
execution history, the Aurora fake's transitions) reads it. One lock serialises the
simulation: a function invocation holds it from start to end, so another execution's
``Wait`` cannot move time under a running function.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone


class FunctionTimedOut(BaseException):
    """Lambda stops the function at its timeout: raised where the function was, uncatchable
    by its ``except Exception`` (a killed process runs no clean-up either)."""


class SimClock:
    def __init__(self, start: float = 1_900_000_000.0):
        self._now = start
        self._deadline: float | None = None
        self.lock = threading.RLock()

    def now(self) -> float:
        return self._now

    def datetime(self) -> datetime:
        return datetime.fromtimestamp(self._now, timezone.utc)

    def advance(self, seconds: float) -> None:
        with self.lock:
            target = self._now + max(0.0, float(seconds))
            if self._deadline is not None and target >= self._deadline:
                self._now = self._deadline
                raise FunctionTimedOut(f"timed out at {self._deadline:.1f}")
            self._now = target

    def remaining_ms(self) -> int:
        return max(0, int(((self._deadline or self._now) - self._now) * 1000))

    @contextmanager
    def invocation(self, timeout_seconds: float) -> Iterator[None]:
        """A function invocation: holds the simulation and ends it at its deadline."""
        with self.lock:
            self._deadline = self._now + timeout_seconds
            try:
                yield
            finally:
                self._deadline = None
