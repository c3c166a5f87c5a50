"""Step Functions' ``GetExecutionHistory`` where AWS is silent: a running execution's newest
events may not be in the answer yet.

AWS gives the API no read-after-write bound, and of a page's size says only that maxResults
"is only an upper limit. The actual number of results returned per call might be fewer than
the specified maximum" (Step Functions API Reference, GetExecutionHistory,
https://docs.aws.amazon.com/step-functions/latest/apireference/API_GetExecutionHistory.html).
So the drill's answer leaves out the events of the last ``World.history_visible_seconds`` of
simulated time: the newest, at the end of the ascending order the report step asks for (at
the start when ``reverseOrder`` is set). A report written from such a history stops short of
the run; the drill compares every written report with the whole history and catches that.
Only the runbook's functions see this (their default session); the drill's own reads do not.
"""

from __future__ import annotations

from datetime import timedelta

from checks.drill.clock import SimClock


class LaggingHistory:
    def __init__(self, clock: SimClock, visible_seconds: float):
        self.clock = clock
        self.visible = timedelta(seconds=visible_seconds)

    def register(self, events) -> None:
        events.register("after-call", self.after_call, unique_id="drill-history")

    def after_call(self, model, parsed, context=None, **_):
        if model.name != "GetExecutionHistory" or not isinstance(parsed, dict) or "events" not in parsed or not self.visible:
            return
        newest = self.clock.datetime() - self.visible
        parsed["events"] = [event for event in parsed["events"] if event["timestamp"] <= newest]
