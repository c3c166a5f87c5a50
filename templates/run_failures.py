"""A failed failover reaches on-call without any of the runbook's functions.

The runbook's last step (``notify``) reports a failed run to the alerts topic; if that
function cannot publish (the drills found ``Publish`` hanging until the run failed with
``Lambda.Unknown``), nothing else would. So each region also routes Step Functions' own
"Step Functions Execution Status Change" event for its runbook's FAILED, TIMED_OUT and
ABORTED runs straight to its alerts topic with an EventBridge rule: no Lambda on the path,
and the topic relays it to the other region like any alert. A failed run reaches on-call
twice: the report says what happened and what to run next, the event says that it failed.

Event shape (Step Functions developer guide, "EventBridge (CloudWatch Events) for Step
Functions execution status changes", Execution Failed example): ``"source": "aws.states"``,
``"detail-type": "Step Functions Execution Status Change"``, ``detail`` with
``executionArn``, ``stateMachineArn``, ``name``, ``status`` ("one of RUNNING, SUCCEEDED,
FAILED, TIMED_OUT, or ABORTED") and, as ``DescribeExecution`` gives it, ``error`` and ``cause``.
Delivery is best effort (EventBridge reference, "AWS Step Functions events"), which is why it
is the second path, not the only one.
https://docs.aws.amazon.com/step-functions/latest/dg/cw-events.html
https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-states.html

Permissions: the alerts topic's policy lets EventBridge publish for this project's rules
(``policies.alerting.alerts_topic``: ``aws:SourceArn`` like ``rule/PREFIX*``, which this rule's
name matches), and the data key encrypting the topic lets ``events.amazonaws.com`` call
``kms:GenerateDataKey`` and ``kms:Decrypt`` for this account (``policies.kms``), as a service
publishing to an SSE-KMS topic needs (End User Messaging SMS guide, "Amazon SNS access policy",
"Access policy for encrypted Amazon SNS topics").
https://docs.aws.amazon.com/sms-voice/latest/userguide/configuration-sets-sns-creating-role.html
"""

from __future__ import annotations

from troposphere import GetAtt, Ref, Template, events

from templates import naming
from templates.alerting import Alerting, add_rule_dead_letter_queue
from templates.config import Config
from templates.runbook import STATE_MACHINE

RULE = "RunbookRunFailedRule"
DEAD_LETTER_QUEUE = "RunbookRunFailedDeadLetterQueue"
FAILED_STATUSES = ["FAILED", "TIMED_OUT", "ABORTED"]
EVENT_SOURCE = "aws.states"
DETAIL_TYPE = "Step Functions Execution Status Change"
# EventBridge's own bounds on retrying a target (its defaults, stated): an alert older than a
# day is history; what EventBridge gives up on goes to the dead-letter queue, which alarms.
RETRY_ATTEMPTS = 185
MAXIMUM_EVENT_AGE_SECONDS = 24 * 3600


def event_pattern() -> dict:
    """This region's runbook (``Ref`` of a state machine is its ARN), in a status that ends a run badly."""
    return {
        "source": [EVENT_SOURCE],
        "detail-type": [DETAIL_TYPE],
        "detail": {"stateMachineArn": [Ref(STATE_MACHINE)], "status": FAILED_STATUSES},
    }


INPUT_PATHS = {
    "name": "$.detail.name",
    "status": "$.detail.status",
    "error": "$.detail.error",
    "cause": "$.detail.cause",
    "region": "$.region",
    "execution": "$.detail.executionArn",
}
# A quoted template makes the message plain text; EventBridge escapes the values inside it.
INPUT_TEMPLATE = (
    '"DR runbook run <name> ended <status> in <region>: <error>: <cause>. '
    "The run's report, if its notify step could publish, says what to do next. "
    'Read the run: aws stepfunctions get-execution-history --region <region> --execution-arn <execution>"'
)


def add_run_failures(t: Template, cfg: Config, alerting: Alerting) -> None:
    """The rule, its target (the alerts topic) and the target's dead-letter queue."""
    rule = naming.run_failures_rule(cfg)
    add_rule_dead_letter_queue(
        t, cfg, DEAD_LETTER_QUEUE, naming.run_failures_dead_letter_queue(cfg), rule,
        alarm_topic=alerting.topic_arn,
        description="EventBridge could not publish a failed runbook run to the alerts topic: the event is in this "
        "queue; read it, and check the topic's policy and key",
    )
    t.add_resource(
        events.Rule(
            RULE,
            Name=rule.value(),
            Description="A runbook run here failed, timed out or was aborted: tell on-call without any Lambda",
            EventPattern=event_pattern(),
            State="ENABLED",
            Targets=[
                events.Target(
                    Id="alerts",
                    Arn=alerting.topic_arn,
                    InputTransformer=events.InputTransformer(InputPathsMap=INPUT_PATHS, InputTemplate=INPUT_TEMPLATE),
                    DeadLetterConfig=events.DeadLetterConfig(Arn=GetAtt(DEAD_LETTER_QUEUE, "Arn")),
                    RetryPolicy=events.RetryPolicy(
                        MaximumRetryAttempts=RETRY_ATTEMPTS, MaximumEventAgeInSeconds=MAXIMUM_EVENT_AGE_SECONDS
                    ),
                )
            ],
        )
    )
