"""The alert relay, run with the parts it sits between: the peer region's alerts topic
delivers into this region's relay queue (moto's SNS-to-SQS delivery, SNS's JSON envelope),
the relay republishes what the queue holds, and on-call (a queue subscribed to the relayed
topic) receives the peer's subject and message unchanged."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from lambda_support import CFG
from alerts import relay
from template_support import resolve
from templates import alerting
from templates.render import render
from test_iam_proof import policy_actions

PEER, HERE = "us-east-1", "us-west-2"


def _queue(sqs, name: str) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def _records(sqs, url: str) -> list[dict]:
    """Messages as the SQS event source hands them to Lambda (messageId and body)."""
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [{"messageId": m["MessageId"], "body": m["Body"]} for m in messages]


@pytest.fixture()
def regions(monkeypatch):
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")):
        monkeypatch.setenv(name, value)
    with mock_aws():
        peer_sns, sns, sqs = boto3.client("sns", PEER), boto3.client("sns", HERE), boto3.client("sqs", HERE)
        alerts = peer_sns.create_topic(Name="trading-dev-alerts")["TopicArn"]
        relay_url, relay_arn = _queue(sqs, "trading-dev-alerts-from-peer")
        peer_sns.subscribe(TopicArn=alerts, Protocol="sqs", Endpoint=relay_arn)
        relayed = sns.create_topic(Name="trading-dev-alerts-relayed")["TopicArn"]
        oncall_url, oncall_arn = _queue(sqs, "oncall")
        sns.subscribe(TopicArn=relayed, Protocol="sqs", Endpoint=oncall_arn, Attributes={"RawMessageDelivery": "true"})
        yield {"peer_sns": peer_sns, "sns": sns, "sqs": sqs, "alerts": alerts, "relay_url": relay_url,
               "relayed": relayed, "oncall_url": oncall_url}


def test_the_peers_alert_reaches_on_call_here_unchanged(regions):
    alarm = json.dumps({"AlarmName": "trading-dev-app-cpu-us-east-1", "NewStateValue": "ALARM"})
    regions["peer_sns"].publish(TopicArn=regions["alerts"], Subject='ALARM: "trading-dev-app-cpu-us-east-1"', Message=alarm)
    records = _records(regions["sqs"], regions["relay_url"])
    assert len(records) == 1 and json.loads(records[0]["body"])["Type"] == "Notification", "SNS's envelope, not raw"

    made = set()
    regions["sns"].meta.events.register("before-call.*.*", lambda model, **_: made.add(f"sns:{model.name}"))
    assert relay.relay(records, regions["relayed"], regions["sns"]) == []
    role = resolve(json.loads(render(CFG)["regional.json"]), CFG, HERE)["Resources"][alerting.RELAY_FUNCTION_ROLE]
    assert made == policy_actions(role["Properties"]) == {"sns:Publish"}, "the role allows exactly the code's calls"

    (received,) = regions["sqs"].receive_message(QueueUrl=regions["oncall_url"], MessageAttributeNames=["All"])["Messages"]
    assert received["Body"] == alarm, "the alarm's own JSON, not an envelope inside an envelope"
    assert received["MessageAttributes"][relay.SOURCE_ATTRIBUTE]["StringValue"] == regions["alerts"]


def test_only_the_alert_that_failed_is_returned_for_retry(regions):
    for subject in ("first", "second"):
        regions["peer_sns"].publish(TopicArn=regions["alerts"], Subject=subject, Message=subject)
    records = _records(regions["sqs"], regions["relay_url"])
    assert len(records) == 2

    class FailsSecond:
        """SNS answering the second publish with an error, as an AWS error reaches the code."""

        def __init__(self, sns):
            self.sns, self.calls = sns, 0

        def publish(self, **kwargs):
            self.calls += 1
            if self.calls == 2:
                return self.sns.publish(**{**kwargs, "TopicArn": kwargs["TopicArn"] + "-gone"})  # NotFound
            return self.sns.publish(**kwargs)

    failures = relay.relay(records, regions["relayed"], FailsSecond(regions["sns"]))

    assert failures == [{"itemIdentifier": records[1]["messageId"]}]
    (received,) = regions["sqs"].receive_message(QueueUrl=regions["oncall_url"], MaxNumberOfMessages=10)["Messages"]
    assert received["Body"] == "first"


def test_a_long_subject_is_cut_to_what_sns_accepts_and_a_foreign_body_passes_as_it_is():
    envelope = json.dumps({"Type": "Notification", "Subject": "x" * 150, "Message": "m", "TopicArn": "arn"})
    assert len(relay.republication(envelope)["Subject"]) == relay.SUBJECT_LIMIT == 100
    assert relay.republication("not json") == {"Message": "not json"}
    assert relay.republication(json.dumps({"no": "message"})) == {"Message": json.dumps({"no": "message"})}
