"""What every step needs: configuration from the environment, AWS clients with bounded
retries, a time budget that ends before the Lambda timeout, and JSON logs."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError, ConnectionError, ReadTimeoutError

# One AWS call's bounds; templates/runbook.py renders the same numbers into the timing
# budget (lease, safety margin, state-machine retries) and checks/budget.py checks them.
CONNECT_TIMEOUT_SECONDS = 2
READ_TIMEOUT_SECONDS = 5
MAX_ATTEMPTS = 3
# botocore's standard mode sleeps up to 2**n s (random, full jitter) before retry n.
MAX_BACKOFF_SECONDS = sum(2**n for n in range(MAX_ATTEMPTS - 1))
WORST_CALL_SECONDS = MAX_ATTEMPTS * (CONNECT_TIMEOUT_SECONDS + READ_TIMEOUT_SECONDS) + MAX_BACKOFF_SECONDS
# botocore's standard retry mode: exponential backoff with jitter on throttling, 5xx and
# transient errors; bounded attempts so a step fails over to Step Functions' Retry instead
# of retrying past its budget.
RETRY_CONFIG = BotoConfig(
    retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
    connect_timeout=CONNECT_TIMEOUT_SECONDS,
    read_timeout=READ_TIMEOUT_SECONDS,
)
# Start an AWS call only if its worst case (every attempt timing out) ends before the
# Lambda timeout: a step never dies mid-call for lack of time.
SAFETY_MARGIN_SECONDS = WORST_CALL_SECONDS + 1


class StepError(Exception):
    """A step cannot proceed; Step Functions' Catch reports it (its class name is the error)."""


class OutOfTime(StepError):
    """The budget ran out before the step finished; Step Functions retries the step."""


class MissingSetting(StepError):
    """An environment variable the template should have set is absent."""


@dataclass
class Budget:
    """Time left for this invocation, measured against the Lambda's own deadline."""

    remaining_ms: Callable[[], int]

    def require(self, seconds: float, doing: str) -> None:
        if self.remaining_ms() / 1000 - SAFETY_MARGIN_SECONDS < seconds:
            raise OutOfTime(f"not enough time left to {doing}; the state machine will retry")


@dataclass
class Runtime:
    """Settings and clients of one invocation; tests build it with stubbed clients."""

    settings: Mapping[str, str]
    budget: Budget
    failover_id: str
    step: str
    client_factory: Callable[..., Any] = field(
        default=lambda service, region=None: boto3.client(service, region_name=region, config=RETRY_CONFIG)
    )
    _clients: dict = field(default_factory=dict)

    def setting(self, name: str) -> str:
        try:
            return self.settings[name]
        except KeyError:
            raise MissingSetting(f"environment variable {name} is not set (the template sets it)") from None

    def client(self, service: str, region: str | None = None):
        """A client for this region's endpoint unless ``region`` names another."""
        if (service, region) not in self._clients:
            self._clients[service, region] = self.client_factory(service, region)
        return self._clients[service, region]

    def log(self, message: str, **fields: Any) -> None:
        """One JSON object per line: CloudWatch Logs Insights can query every field."""
        record = {"level": "INFO", "step": self.step, "failover_id": self.failover_id, "message": message, **fields}
        print(json.dumps(record, default=str, sort_keys=True), file=sys.stdout, flush=True)


def is_unreachable(error: Exception) -> bool:
    """A region or API that did not answer, after botocore's retries: connection failures,
    timeouts, 5xx. Throttling and denials are answers."""
    if isinstance(error, ClientError):
        return error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500
    return isinstance(error, (ConnectionError, ReadTimeoutError))


def failover_id_of(event: Mapping[str, Any]) -> str:
    failover_id = event.get("failover_id")
    if not isinstance(failover_id, str) or not failover_id:
        raise StepError("the request has no failover_id")
    return failover_id


def lambda_runtime(step: str, event: Mapping[str, Any], context: Any) -> Runtime:
    """The runtime of a real invocation: settings from the environment, deadline from the context."""
    return Runtime(
        settings=os.environ,
        budget=Budget(remaining_ms=context.get_remaining_time_in_millis),
        failover_id=failover_id_of(event),
        step=step,
    )


def now() -> float:
    return time.time()
