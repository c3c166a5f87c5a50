"""AWS's exceptions become one ``OpsError`` with a one-line message and the right exit status."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError
from botocore.parsers import ResponseParserError
from stackset_support import PRIMARY

from ops.aws import Aws
from ops.errors import EXIT_BAD_INPUT, EXIT_PROBLEM, OpsError, translates_aws_errors


def _raising(exc):
    @translates_aws_errors
    def entry_point():
        raise exc

    return entry_point


def _client_error(code, message):
    return ClientError({"Error": {"Code": code, "Message": message}}, "CreateStackSet")


@pytest.mark.parametrize(
    ("exc", "message", "status"),
    [
        (
            _client_error("ValidationException", "Template format error"),
            "CreateStackSet failed: ValidationException: Template format error",
            EXIT_PROBLEM,
        ),
        (
            _client_error("ExpiredToken", "The security token included in the request is expired"),
            "CreateStackSet failed: ExpiredToken: The security token included in the request is expired",
            EXIT_BAD_INPUT,
        ),
        (NoCredentialsError(), "AWS credentials: Unable to locate credentials", EXIT_BAD_INPUT),
        (
            ResponseParserError("Unable to parse response, invalid XML received:\n<html>500</html>"),
            "AWS: unreadable response: Unable to parse response, invalid XML received:",
            EXIT_PROBLEM,
        ),
        (
            EndpointConnectionError(endpoint_url="https://cloudformation.example"),
            'AWS: Could not connect to the endpoint URL: "https://cloudformation.example"',
            EXIT_PROBLEM,
        ),
    ],
)
def test_aws_exceptions_become_one_clear_error(exc, message, status):
    with pytest.raises(OpsError) as failure:
        _raising(exc)()

    assert (str(failure.value), failure.value.exit_status) == (message, status)
    assert failure.value.__suppress_context__, "the CLI shows the message, never botocore's traceback"


def test_an_unknown_profile_is_bad_input_not_a_traceback(monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "absent"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "absent"))

    with pytest.raises(OpsError) as failure:
        Aws.connect(PRIMARY, profile="no-such-profile")

    assert str(failure.value) == "AWS credentials: The config profile (no-such-profile) could not be found"
    assert failure.value.exit_status == EXIT_BAD_INPUT
