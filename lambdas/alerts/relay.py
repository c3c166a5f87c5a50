"""Republishes the peer region's alerts to this region's relayed-alerts topic.

The peer's ``alerts`` topic delivers into this region's relay queue (an SNS-to-SQS
subscription without raw delivery, so each body is SNS's JSON envelope); an SQS event
source mapping hands the messages to this function. The original subject and message go
out unchanged, so on-call reads the alarm as the peer region sent it; the source topic
goes along as a message attribute.

A message that fails to publish is reported as a batch item failure (the mapping's
``ReportBatchItemFailures``): SQS makes only that one visible again, retries it, and after
the queue's ``maxReceiveCount`` moves it to the dead-letter queue, whose depth alarms.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from runbook.runtime import RETRY_CONFIG

# SNS limits a subject to 100 characters.
SUBJECT_LIMIT = 100
SOURCE_ATTRIBUTE = "relayed_from_topic"


def republication(body: str) -> dict[str, Any]:
    """The Publish arguments (less the topic) for one relay-queue message body."""
    try:
        envelope = json.loads(body)
    except ValueError:
        envelope = None
    if not isinstance(envelope, dict) or not isinstance(envelope.get("Message"), str):
        # Not an SNS envelope (nothing else may send here): pass it on as it is.
        return {"Message": body}
    publish: dict[str, Any] = {"Message": envelope["Message"]}
    if envelope.get("Subject"):
        publish["Subject"] = envelope["Subject"][:SUBJECT_LIMIT]
    if envelope.get("TopicArn"):
        publish["MessageAttributes"] = {SOURCE_ATTRIBUTE: {"DataType": "String", "StringValue": envelope["TopicArn"]}}
    return publish


def relay(records: list[dict[str, Any]], topic_arn: str, sns) -> list[dict[str, str]]:
    """Publish each record; the batch item failures of those that could not be published."""
    failures = []
    for record in records:
        try:
            sns.publish(TopicArn=topic_arn, **republication(record["body"]))
        except (ClientError, BotoCoreError) as error:
            print(json.dumps({"level": "ERROR", "message": "relay failed", "message_id": record["messageId"], "error": str(error)}), file=sys.stdout, flush=True)
            failures.append({"itemIdentifier": record["messageId"]})
    return failures


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    sns = boto3.client("sns", config=RETRY_CONFIG)
    return {"batchItemFailures": relay(event["Records"], os.environ["RELAYED_TOPIC_ARN"], sns)}
