"""One exception type for everything the operator must read, with the exit status it deserves.

botocore is imported only when an AWS call is made (its parsers alone take 0.1 s), so the
command line can catch ``OpsError`` without slowing the commands that never call AWS.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, ParamSpec, TypeVar

if TYPE_CHECKING:
    from botocore.exceptions import ClientError

EXIT_PROBLEM = 1  # the work found a problem: a failed operation, a timeout, a refusal
EXIT_BAD_INPUT = 2  # bad input or environment: missing files, credentials, roles
# Error codes meaning the credentials are wrong rather than the request.
CREDENTIAL_ERROR_CODES = {
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "UnrecognizedClientException",
}

P = ParamSpec("P")
R = TypeVar("R")


class OpsError(Exception):
    """A one-line message, optional detail lines (failed instances, stack events) and an exit status."""

    def __init__(self, message: str, details: Sequence[str] = (), exit_status: int = EXIT_PROBLEM):
        super().__init__(message)
        self.details = list(details)
        self.exit_status = exit_status


def error_code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


def describe(exc: ClientError) -> str:
    message = exc.response.get("Error", {}).get("Message", "")
    return f"{exc.operation_name} failed: {error_code(exc) or 'error'}" + (f": {message}" if message else "")


def translates_aws_errors(function: Callable[P, R]) -> Callable[P, R]:
    """For entry points: botocore's exceptions become an ``OpsError`` (no traceback reaches the user)."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            NoCredentialsError,
            PartialCredentialsError,
            ProfileNotFound,
        )
        from botocore.parsers import ResponseParserError

        try:
            return function(*args, **kwargs)
        except ClientError as exc:
            status = EXIT_BAD_INPUT if error_code(exc) in CREDENTIAL_ERROR_CODES else EXIT_PROBLEM
            raise OpsError(describe(exc), exit_status=status) from None
        except (NoCredentialsError, PartialCredentialsError, ProfileNotFound) as exc:
            raise OpsError(f"AWS credentials: {exc}", exit_status=EXIT_BAD_INPUT) from None
        except BotoCoreError as exc:
            raise OpsError(f"AWS: {exc}") from None
        except ResponseParserError as exc:  # not a BotoCoreError: e.g. an HTML error page from a proxy
            raise OpsError(f"AWS: unreadable response: {str(exc).splitlines()[0]}") from None

    return wrapper
