"""Step Functions' ``GetExecutionHistory`` where AWS is silent: a running execution's newest
events may not be in the answer yet, nor every older one, and a page may hold fewer events
than asked, none at all.

AWS gives the API no read-after-write bound, and of a page's size says only that maxResults
"is only an upper limit. The actual number of results returned per call might be fewer than
the specified maximum"; of a page token, "Keep all other arguments unchanged" (Step Functions
API Reference, GetExecutionHistory,
https://docs.aws.amazon.com/step-functions/latest/apireference/API_GetExecutionHistory.html).
moto answers with the whole history whatever is asked, so this fake answers instead, from
moto's events:
- an event is readable ``World.history_visible_seconds`` after it was written, every third one
  ``World.history_hole_seconds`` later still (a hole behind newer events);
- ascending, or descending with ``reverseOrder`` ("Lists events in descending order of their
  timeStamp");
- each page holds from none to ``World.history_page_events`` events (drawn per call), continued
  by a ``nextToken`` that is refused (``InvalidToken``) with other arguments than its own.
A report written from such a history stops short of the run or misses a step; the drill
compares every written report with the whole history and catches that. Only the runbook's
functions see this fake (their default session); the drill's own reads go to moto.
"""

from __future__ import annotations

import copy
import random
from datetime import datetime, timedelta, timezone

from moto.stepfunctions.responses import get_backend

from checks.drill.clock import SimClock
from checks.drill.fake import ModelledFake, ServiceFault
from checks.drill.network import Network

# The API's default page size (the reference's maxResults: "The default is 100").
DEFAULT_PAGE_SIZE = 100
# Which events are readable later than the others when the world has holes.
HOLE_EVERY = 3


class ExecutionHistory:
    def __init__(self, clock: SimClock, network: Network, account: str, world, draws: random.Random):
        self.clock, self.network, self.account, self.draws = clock, network, account, draws
        self.visible = timedelta(seconds=world.history_visible_seconds)
        self.hole = timedelta(seconds=world.history_hole_seconds)
        self.page_events = world.history_page_events
        self._tokens: dict[str, tuple[tuple, int]] = {}  # token -> (the request it continues, offset)
        self._readable_at: dict[tuple[str, int], datetime] = {}  # (execution, event id) -> when it is readable
        self._copied: dict[str, list[dict]] = {}  # execution -> moto's events copied so far

    def register(self, events) -> None:
        ModelledFake("stepfunctions", self.network, {"GetExecutionHistory": self.get_execution_history}, others_to_moto=True).register(events)

    def _readable_from(self, execution: str, event: dict) -> datetime:
        """When an event becomes readable (kept: a long run's history is read a few events a call)."""
        key = (execution, event["id"])
        if key not in self._readable_at:
            lag = self.visible + (self.hole if event["id"] % HOLE_EVERY == 0 else timedelta(0))
            self._readable_at[key] = _timestamp(event) + lag
        return self._readable_at[key]

    def get_execution_history(self, region: str, params: dict) -> dict:
        execution = params["executionArn"]
        request = (execution, bool(params.get("reverseOrder")), params.get("maxResults"))
        now = self.clock.datetime()
        history = [event for event in self._events(region, execution) if self._readable_from(execution, event) <= now]
        if params.get("reverseOrder"):
            history.reverse()
        start = self._offset(params.get("nextToken"), request)
        end = start + self.draws.randint(0, min(params.get("maxResults") or DEFAULT_PAGE_SIZE, self.page_events))
        if end >= len(history):
            return {"events": history[start:]}
        token = f"drill-{len(self._tokens)}"
        self._tokens[token] = (request, end)
        return {"events": history[start:end], "nextToken": token}

    def _events(self, region: str, execution: str) -> list[dict]:
        """moto's events of the execution, oldest first. moto's own answer deep-copies the whole
        history each call (O(n) a call, O(n^2) for a long run read a few events a page), so only
        the events written since the last call are copied, from its event manager's list."""
        manager = get_backend(self.account, region).describe_execution(execution).exec_worker.env.event_manager
        copied = self._copied.setdefault(execution, [])
        with manager._mutex:
            copied += copy.deepcopy(manager._history_event_list[len(copied):])
        return copied

    def _offset(self, token: str | None, request: tuple) -> int:
        """Where the page a token continues starts; a token not given here, or given for another
        request, is refused as AWS refuses it."""
        if token is None:
            return 0
        given_for, offset = self._tokens.get(token, (None, 0))
        if given_for != request:
            raise ServiceFault("InvalidToken", f"Invalid token: {token}")
        return offset


def _timestamp(event: dict) -> datetime:
    """moto keeps an event's time as ISO 8601 text, in UTC."""
    when = datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)
