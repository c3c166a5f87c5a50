"""Trust policies: which AWS service may assume a role, for this account only.

``aws:SourceAccount`` (and ``aws:SourceArn`` where the service sends it) stop another
account's use of the same service from borrowing the role: the confused deputy.
"""

from __future__ import annotations

from awacs import sts
from awacs.aws import Allow, ArnLike, Condition, PolicyDocument, Principal, Statement, StringEquals
from troposphere import Ref


def service_trust(service: str, source_arn=None, sid: str = "ServiceAssumesRole") -> PolicyDocument:
    """``service`` may assume the role when acting for this account (and ``source_arn``, a pattern)."""
    conditions = [StringEquals({"aws:SourceAccount": Ref("AWS::AccountId")})]
    if source_arn is not None:
        conditions.append(ArnLike({"aws:SourceArn": source_arn}))
    return PolicyDocument(
        Version="2012-10-17",
        Statement=[
            Statement(
                Sid=sid,
                Effect=Allow,
                Principal=Principal("Service", service),
                Action=[sts.AssumeRole],
                Condition=Condition(conditions),
            )
        ],
    )
