"""A failed, timed-out or aborted runbook run reaches on-call through EventBridge, no Lambda on the way."""

from __future__ import annotations

import copy
import fnmatch
import json

import pytest
from cloud_radar.cf.unit import Template as ResolvedTemplate
from moto.events.models import EventPattern

from template_support import resources_of_type
from templates import naming, run_failures
from templates.runbook import STATE_MACHINE

ACCOUNT = ResolvedTemplate.AccountId
MACHINE_ARN = "arn:aws:states:us-east-1:012345678912:stateMachine:state-machine"
# Step Functions developer guide, "EventBridge (CloudWatch Events) for Step Functions execution
# status changes", Execution Failed (error and cause as DescribeExecution gives them).
FAILED_EXAMPLE = {
    "version": "0",
    "id": "315c1398-40ff-a850-213b-158f73e60175",
    "detail-type": "Step Functions Execution Status Change",
    "source": "aws.states",
    "account": "012345678912",
    "time": "2019-02-26T19:42:21Z",
    "region": "us-east-1",
    "resources": ["arn:aws:states:us-east-1:012345678912:execution:state-machine-name:execution-name"],
    "detail": {
        "executionArn": "arn:aws:states:us-east-1:012345678912:execution:state-machine-name:execution-name",
        "stateMachineArn": MACHINE_ARN,
        "name": "execution-name",
        "status": "FAILED",
        "startDate": 1551225146847,
        "stopDate": 1551225151881,
        "input": "{}",
        "output": None,
        "error": "WriterNotReady",
        "cause": "the promoted cluster was not the available writer",
    },
}


def _rule(resolved: dict) -> dict:
    return resources_of_type(resolved, "AWS::Events::Rule")[run_failures.RULE]["Properties"]


def _event(status: str, machine: str = MACHINE_ARN) -> str:
    event = copy.deepcopy(FAILED_EXAMPLE)
    event["detail"].update(status=status, stateMachineArn=machine)
    return json.dumps(event)


@pytest.mark.parametrize(
    ("status", "machine", "matches"),
    [
        ("FAILED", MACHINE_ARN, True),
        ("TIMED_OUT", MACHINE_ARN, True),
        ("ABORTED", MACHINE_ARN, True),
        ("RUNNING", MACHINE_ARN, False),
        ("SUCCEEDED", MACHINE_ARN, False),
        ("FAILED", MACHINE_ARN.replace("state-machine", "someone-elses"), False),
    ],
)
def test_the_rule_matches_this_runbooks_bad_endings_in_the_documented_event_shape(region_view, status, machine, matches):
    _, resolved = region_view
    pattern = copy.deepcopy(_rule(resolved)["EventPattern"])
    # The resolved template names the state machine by its logical id (Ref): put the example's ARN there.
    assert pattern["detail"]["stateMachineArn"] == [STATE_MACHINE]
    pattern["detail"]["stateMachineArn"] = [MACHINE_ARN]
    # moto's EventBridge pattern matcher (its TestEventPattern returns no result).
    assert EventPattern.load(json.dumps(pattern)).matches_event(json.loads(_event(status, machine))) is matches


def test_the_target_is_the_alerts_topic_with_a_readable_message_and_a_dead_letter_queue(cfg, region_view):
    region, resolved = region_view
    rule = _rule(resolved)
    assert rule["Name"] == naming.run_failures_rule(cfg).pattern and rule["State"] == "ENABLED"
    (target,) = rule["Targets"]
    assert target["Arn"] == "AlertsTopic"
    assert target["DeadLetterConfig"]["Arn"] == f"{run_failures.DEAD_LETTER_QUEUE}.Arn"
    transformer = target["InputTransformer"]
    for variable, path in transformer["InputPathsMap"].items():
        # Every path exists in the documented event, and the message uses every variable.
        value = FAILED_EXAMPLE
        for key in path.removeprefix("$.").split("."):
            value = value[key]
        assert f"<{variable}>" in transformer["InputTemplate"]
    assert "aws stepfunctions get-execution-history" in transformer["InputTemplate"]
    message = json.loads(transformer["InputTemplate"].replace("<", "").replace(">", ""))
    assert isinstance(message, str), "a quoted template: SNS delivers plain text"


def test_eventbridge_may_publish_to_the_encrypted_topic_for_this_rule(cfg, region_view, bootstrap):
    region, resolved = region_view
    rule_arn = f"arn:aws:events:{region}:{ACCOUNT}:rule/{naming.run_failures_rule(cfg).pattern}"
    policy = resources_of_type(resolved, "AWS::SNS::TopicPolicy")["AlertsTopicPolicy"]["Properties"]["PolicyDocument"]
    publish = {s["Sid"]: s for s in policy["Statement"]}["EventRulesPublish"]
    assert publish["Principal"] == {"Service": "events.amazonaws.com"} and publish["Action"] == ["sns:Publish"]
    assert fnmatch.fnmatchcase(rule_arn, publish["Condition"]["ArnLike"]["aws:SourceArn"])
    # The topic's key lets EventBridge encrypt what it publishes.
    key_policy = bootstrap["Resources"]["DataKey"]["Properties"]["KeyPolicy"]
    services = [s for s in key_policy["Statement"] if "events.amazonaws.com" in json.dumps(s.get("Principal", {}))]
    assert services and {"kms:GenerateDataKey", "kms:Decrypt"} <= set(services[0]["Action"])


def test_only_this_rule_fills_its_dead_letter_queue_and_the_queue_alarms(cfg, region_view):
    region, resolved = region_view
    queue = resources_of_type(resolved, "AWS::SQS::Queue")[run_failures.DEAD_LETTER_QUEUE]["Properties"]
    assert queue["QueueName"] == naming.run_failures_dead_letter_queue(cfg).pattern
    assert queue["KmsMasterKeyId"].startswith(f"arn:aws:kms:{region}:")
    policy = resources_of_type(resolved, "AWS::SQS::QueuePolicy")[f"{run_failures.DEAD_LETTER_QUEUE}Policy"]["Properties"]["PolicyDocument"]
    (statement,) = policy["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Condition"]["ArnEquals"]["aws:SourceArn"] == f"arn:aws:events:{region}:{ACCOUNT}:rule/{naming.run_failures_rule(cfg).pattern}"
    alarm = resources_of_type(resolved, "AWS::CloudWatch::Alarm")[f"{run_failures.DEAD_LETTER_QUEUE}Alarm"]["Properties"]
    assert alarm["AlarmActions"] == ["AlertsTopic"] and alarm["Threshold"] == 0
