"""Policies for alerting: who may publish to the topics, who may fill the relay queue,
and the role of the function that republishes the peer region's alerts."""

from __future__ import annotations

from awacs import sns, sqs
from awacs.aws import (
    Allow,
    ArnEquals,
    ArnLike,
    ArnNotEquals,
    Condition,
    Deny,
    PolicyDocument,
    Principal,
    Statement,
    StringEquals,
    StringNotEquals,
)
from troposphere import Ref

from policies import arns
from policies.functions import document, key_through, runtime_statements

PUBLISHING_SERVICES = ["cloudwatch.amazonaws.com", "events.amazonaws.com"]


def _source_account() -> StringEquals:
    return StringEquals({"aws:SourceAccount": Ref("AWS::AccountId")})


def alerts_topic(topic_arn, name_prefix: str, publisher_role_arns: list) -> PolicyDocument:
    """Only this stack's alarms and rules (by name prefix) and its functions' roles may publish."""
    statements = [
        Statement(
            Sid="AlarmsPublish",
            Effect=Allow,
            Principal=Principal("Service", "cloudwatch.amazonaws.com"),
            Action=[sns.Publish],
            Resource=[topic_arn],
            Condition=Condition([_source_account(), ArnLike({"aws:SourceArn": arns.alarms_named(name_prefix)})]),
        ),
        Statement(
            Sid="EventRulesPublish",
            Effect=Allow,
            Principal=Principal("Service", "events.amazonaws.com"),
            Action=[sns.Publish],
            Resource=[topic_arn],
            Condition=Condition([_source_account(), ArnLike({"aws:SourceArn": arns.event_rules_named(name_prefix)})]),
        ),
    ]
    allowed_roles = {"aws:PrincipalArn": publisher_role_arns} if publisher_role_arns else None
    deny_others = [StringNotEquals({"aws:PrincipalServiceName": PUBLISHING_SERVICES})]
    if allowed_roles:
        statements.append(
            Statement(
                Sid="FunctionsPublish",
                Effect=Allow,
                Principal=Principal("AWS", publisher_role_arns),
                Action=[sns.Publish],
                Resource=[topic_arn],
            )
        )
        deny_others.append(ArnNotEquals(allowed_roles))
    statements.append(
        # Same-account IAM policies would otherwise also allow publishing.
        Statement(
            Sid="NobodyElsePublishes",
            Effect=Deny,
            Principal=Principal("*"),
            Action=[sns.Publish],
            Resource=[topic_arn],
            Condition=Condition(deny_others),
        )
    )
    return PolicyDocument(Version="2012-10-17", Statement=statements)


def relayed_topic(topic_arn, relay_role_arn) -> PolicyDocument:
    """Only the relay function publishes the peer region's alerts here."""
    return PolicyDocument(
        Version="2012-10-17",
        Statement=[
            Statement(
                Sid="OnlyTheRelayPublishes",
                Effect=Deny,
                Principal=Principal("*"),
                Action=[sns.Publish],
                Resource=[topic_arn],
                Condition=Condition(ArnNotEquals({"aws:PrincipalArn": relay_role_arn})),
            )
        ],
    )


def relay_queue(queue_arn, source_topic_arns: list) -> PolicyDocument:
    """Only these topics of this account deliver here: for the relay queue the peer region's
    alerts and the Route 53 alarms' topic, for a subscription dead-letter queue its topic."""
    return queue_written_by("sns.amazonaws.com", queue_arn, source_topic_arns, sid="AlertTopicsDeliver")


def queue_written_by(service: str, queue_arn, source_arns, sid: str) -> PolicyDocument:
    """Only ``service`` sends to the queue, and only for ``source_arns`` (no confused deputy)."""
    return PolicyDocument(
        Version="2012-10-17",
        Statement=[
            Statement(
                Sid=sid,
                Effect=Allow,
                Principal=Principal("Service", service),
                Action=[sqs.SendMessage],
                Resource=[queue_arn],
                Condition=Condition(ArnEquals({"aws:SourceArn": source_arns})),
            )
        ],
    )


def relay_role(log_group: str, queue_arn, relayed_topic_arn, key_arn) -> PolicyDocument:
    """The relay function: its event source mapping reads the relay queue (the Lambda service
    polls with the function's role), its code publishes to the relayed topic; this region's
    key through both."""
    return document(
        *runtime_statements(log_group),
        key_through(("sqs", "sns"), key_arn),
        # The actions AWS's AWSLambdaSQSQueueExecutionRole grants an SQS event source.
        Statement(
            Sid="RuntimePollsRelayQueue",
            Effect=Allow,
            Action=[sqs.ReceiveMessage, sqs.DeleteMessage, sqs.GetQueueAttributes],
            Resource=[queue_arn],
        ),
        Statement(Sid="PublishRelayedAlerts", Effect=Allow, Action=[sns.Publish], Resource=[relayed_topic_arn]),
    )
