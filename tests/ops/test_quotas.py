"""Deploy's quota pre-flight: Lambda's concurrency quota in every region must take the functions'
reservations and still leave Lambda its 100 unreserved. GetAccountSettings and
GetFunctionConcurrency are stubbed (moto implements neither account settings nor the
100-unreserved rule on create), their shapes checked by botocore's service model."""

from __future__ import annotations

import json

import pytest
from stackset_support import DR, PRIMARY, StubbedAws, region_values, regional_template, write_rendered

from ops.errors import EXIT_PROBLEM, OpsError
from ops.quotas import check_quotas
from ops.rendered import load

RESERVED = {"Function": 15, "Other": 4}  # 19, as the regional template reserves


@pytest.fixture
def rendered(tmp_path, code_key):
    template = regional_template(code_key)
    template["Resources"]["Function"]["Properties"]["ReservedConcurrentExecutions"] = RESERVED["Function"]
    template["Resources"]["Other"] = json.loads(json.dumps(template["Resources"]["Function"]))
    template["Resources"]["Other"]["Properties"]["FunctionName"] = {"Fn::Sub": "${AWS::Region}-other"}
    template["Resources"]["Other"]["Properties"]["ReservedConcurrentExecutions"] = RESERVED["Other"]
    return load(write_rendered(tmp_path / "dr_templates", template, region_values(), code_key))


def _account(stubbed, region, quota, unreserved, held=None):
    """The region's settings, then each function's current reservation (absent: not created yet)."""
    client = stubbed.stub("lambda", region)
    client.add_response(
        "get_account_settings",
        {"AccountLimit": {"ConcurrentExecutions": quota, "UnreservedConcurrentExecutions": unreserved}},
    )
    for name in (f"{region}-function", f"{region}-other"):
        if held and name in held:
            client.add_response("get_function_concurrency", {"ReservedConcurrentExecutions": held[name]}, {"FunctionName": name})
        else:
            client.add_client_error("get_function_concurrency", "ResourceNotFoundException", expected_params={"FunctionName": name})


def test_a_new_account_with_a_quota_of_ten_is_refused_with_the_request_to_make_in_each_region(rendered):
    stubbed = StubbedAws()
    _account(stubbed, PRIMARY, quota=10, unreserved=10)
    _account(stubbed, DR, quota=1000, unreserved=1000)

    with pytest.raises(OpsError) as refused:
        check_quotas(stubbed.aws, rendered, [PRIMARY, DR])

    assert refused.value.exit_status == EXIT_PROBLEM
    (problem,) = refused.value.details  # the DR region's 1000 can take 19
    assert problem.startswith(f"{PRIMARY}: Lambda's concurrency quota is 10 and 10 of it is unreserved; the functions reserve 19")
    assert f"--region {PRIMARY} --service-code lambda --quota-code L-B99A9384 --desired-value 119" in problem
    stubbed.verify()


def test_the_boundary_is_exactly_100_left_unreserved(rendered):
    stubbed = StubbedAws()
    _account(stubbed, PRIMARY, quota=119, unreserved=119)
    check_quotas(stubbed.aws, rendered, [PRIMARY])
    _account(stubbed, PRIMARY, quota=118, unreserved=118)
    with pytest.raises(OpsError):
        check_quotas(stubbed.aws, rendered, [PRIMARY])


def test_a_redeploy_counts_what_the_functions_already_hold(rendered):
    """Deployed, they hold their 19 already: 100 unreserved is exactly enough."""
    stubbed = StubbedAws()
    _account(stubbed, DR, quota=119, unreserved=100, held={f"{DR}-function": 15, f"{DR}-other": 4})
    check_quotas(stubbed.aws, rendered, [DR])
    stubbed.verify()
