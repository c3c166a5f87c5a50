"""The boto3 session: one client per service and region, botocore's standard retries."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import boto3
from botocore.config import Config

from ops.errors import translates_aws_errors

# Standard mode retries throttling and transient errors with backoff and jitter. Every call
# goes to the administration region (or a region being deployed), which must answer, but a
# hung endpoint must not hold a deploy silently for minutes (botocore's defaults: 60 s connect
# and read timeouts): 5 attempts of at most 20 s, plus backoff, before the call fails.
CLIENT_CONFIG = Config(
    connect_timeout=5,
    read_timeout=20,
    retries={"mode": "standard", "total_max_attempts": 5},
    user_agent_extra="trading-dr",
)


@dataclass(frozen=True)
class Identity:
    account: str
    partition: str

    def role_arn(self, name: str) -> str:
        return f"arn:{self.partition}:iam::{self.account}:role/{name}"


class Aws:
    """Clients for one session; ``home_region`` is where the stack sets are administered."""

    def __init__(self, session: boto3.Session, home_region: str):
        self.session = session
        self.home_region = home_region
        self._clients: dict[tuple[str, str], object] = {}

    @classmethod
    @translates_aws_errors
    def connect(cls, home_region: str, profile: str | None = None) -> Aws:
        """A session on ``profile`` (default: the environment's); an unknown profile is an ``OpsError``."""
        return cls(boto3.Session(profile_name=profile), home_region)

    def client(self, service: str, region: str | None = None):
        key = (service, region or self.home_region)
        if key not in self._clients:
            self._clients[key] = self.session.client(service, region_name=key[1], config=CLIENT_CONFIG)
        return self._clients[key]

    @functools.cached_property
    def identity(self) -> Identity:
        """The caller's account, and its partition read from its ARN (never assumed to be ``aws``)."""
        caller = self.client("sts").get_caller_identity()
        return Identity(account=caller["Account"], partition=caller["Arn"].split(":")[1])
