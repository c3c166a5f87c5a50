"""Every AWS call of a drill passes here: counted per region and service, delayed, failed on
purpose, or refused because its region is down.

Hooks on botocore's ``before-send`` (the request is answered before it leaves, so the
emulator never sees a failed call, as AWS never sees a throttled one) and ``after-call``
(the call succeeded: a function that dies there has acted but not recorded it). botocore
treats a raised ``HTTPClientError`` as a real connection failure and a returned error
response as AWS's, so its retry modes behave as against AWS.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from dataclasses import dataclass, field

from botocore.awsrequest import AWSResponse
from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

from checks.drill.clock import SimClock
from runbook.runtime import CONNECT_TIMEOUT_SECONDS, READ_TIMEOUT_SECONDS

# A successful call's round trip in simulated time.
CALL_SECONDS = 0.05
_REGION_IN_HOST = re.compile(r"\.((?:[a-z]{2}(?:-gov|-iso[a-z]?)?)-[a-z]+-\d+)\.amazonaws\.com")

THROTTLE = "throttle"
SERVER_ERROR = "5xx"
CONNECTION = "connection"
TIMEOUT = "timeout"
READ_TIMEOUT = "read-timeout"
# A response that trickles in: botocore's read timeout bounds each socket read, not the
# response, so the call hangs until Lambda stops the function at its timeout.
HANG = "hang"
HANG_SECONDS = 3600
KINDS = (THROTTLE, SERVER_ERROR, CONNECTION, TIMEOUT, READ_TIMEOUT, HANG)


class FunctionCrashed(BaseException):
    """The function's process died (out of memory, a host failure) right after a call succeeded."""


@dataclass
class Fault:
    """The next ``times`` calls of ``operation`` (any region unless given) fail as ``kind``."""

    operation: str
    kind: str
    times: int = 1
    region: str | None = None


@dataclass
class Crash:
    """The function dies right after its ``nth`` successful ``operation`` call."""

    operation: str
    nth: int = 1
    seen: int = 0


@dataclass
class Network:
    """``control_plane_region`` hosts the partition's global services (Route 53, IAM): a
    request to a global endpoint counts as a call to that region."""

    clock: SimClock
    control_plane_region: str
    dead_regions: set[str] = field(default_factory=set)
    outage: str = TIMEOUT
    faults: list[Fault] = field(default_factory=list)
    crashes: list[Crash] = field(default_factory=list)
    attempts: Counter = field(default_factory=Counter)
    failed: Counter = field(default_factory=Counter)

    def __post_init__(self):
        self._current = threading.local()

    def register(self, events) -> None:
        events.register_first("before-call", self.before_call, unique_id="drill-operation")
        events.register_first("before-send", self.before_send, unique_id="drill-network")
        events.register_first("after-call", self.after_call, unique_id="drill-crashes")

    def before_call(self, model, **_):
        # before-send carries no model; an error must be written in the service's protocol.
        self._current.protocol = model.service_model.resolved_protocol

    def region_of(self, url: str) -> str:
        match = _REGION_IN_HOST.search(url)
        return match.group(1) if match else self.control_plane_region

    def before_send(self, request, event_name: str, **_):
        _, service, operation = event_name.split(".", 2)
        region = self.region_of(request.url)
        self.attempts[region, service] += 1
        self.clock.advance(CALL_SECONDS)
        kind = self.outage if region in self.dead_regions else self._take_fault(operation, region)
        if kind is None:
            return None
        self.failed[region, service] += 1
        answered(request)
        return _fail(kind, request, self.clock, self._current.protocol)

    def _take_fault(self, operation: str, region: str) -> str | None:
        for fault in self.faults:
            if fault.times > 0 and fault.operation == operation and fault.region in (None, region):
                fault.times -= 1
                return fault.kind
        return None

    def after_call(self, event_name: str, **_):
        operation = event_name.split(".", 2)[2]
        for crash in self.crashes:
            if crash.operation == operation:
                crash.seen += 1
                if crash.seen == crash.nth:
                    raise FunctionCrashed(f"died after {operation}")

    def attempts_by_region(self) -> Counter:
        regions = Counter()
        for (region, _), count in self.attempts.items():
            regions[region] += count
        return regions

    def calls_by_region(self) -> dict[str, dict[str, tuple[int, int]]]:
        """Per region and service: (attempts, attempts that failed)."""
        table: dict[str, dict[str, tuple[int, int]]] = {}
        for (region, service), count in self.attempts.items():
            table.setdefault(region, {})[service] = (count, self.failed[region, service])
        return table


ANSWERED = "drill_answered"


def answered(request) -> None:
    """Mark a request the drill answered: botocore emits ``before-send`` to every handler, so
    moto's own handler must be told not to execute it too (see ``harness``)."""
    setattr(request, ANSWERED, True)


def _fail(kind: str, request, clock: SimClock, protocol: str):
    if kind == CONNECTION:
        raise EndpointConnectionError(endpoint_url=request.url)
    if kind == TIMEOUT:
        clock.advance(CONNECT_TIMEOUT_SECONDS)
        raise ConnectTimeoutError(endpoint_url=request.url)
    if kind == HANG:
        clock.advance(HANG_SECONDS)
    if kind == READ_TIMEOUT:
        clock.advance(READ_TIMEOUT_SECONDS)
        raise ReadTimeoutError(endpoint_url=request.url)
    status, code = (400, "ThrottlingException") if kind == THROTTLE else (503, "ServiceUnavailable")
    return error_response(request.url, protocol, status, code, "injected by the drill")


def error_response(url: str, protocol: str, status: int, code: str, message: str) -> AWSResponse:
    """An AWS error response in the service's protocol (JSON, or XML for the query protocol)."""
    if protocol != "query":
        body = f'{{"__type": "{code}", "message": "{message}"}}'.encode()
        headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-ErrorType": code}
    else:
        body = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
            "<RequestId>drill</RequestId></ErrorResponse>"
        ).encode()
        headers = {"Content-Type": "text/xml", "x-amzn-ErrorType": code}
    return AWSResponse(url, status, headers, RawBody(body))


class RawBody:
    """A response body as botocore reads it from urllib3."""

    def __init__(self, body: bytes):
        self._body = body

    def stream(self, **_):
        yield self._body

    def read(self, *_args, **_kwargs):
        return self._body
