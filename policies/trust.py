"""Trust policies: which AWS service may assume a role, and with which confused-deputy conditions.

A condition on ``aws:SourceAccount`` or ``aws:SourceArn`` is added only where the service's
own documentation shows it in the trust policy of that kind of role: a key a service does
not send is absent from the request, and a condition on an absent key denies the
``AssumeRole`` (the role then cannot be used at all). AWS publishes no list of the services
that send these keys, so each caller names its page. Without the keys a role still cannot be
borrowed from another account: only a principal of this account with ``iam:PassRole`` on the
role can hand it to a service ("IAM roles cannot be passed cross account").
"""

from __future__ import annotations

from awacs import sts
from awacs.aws import Allow, ArnLike, Condition, PolicyDocument, Principal, Statement, StringEquals
from troposphere import Ref


def service_trust(service: str, source_arn=None, sid: str = "ServiceAssumesRole", *, source_account: bool = True) -> PolicyDocument:
    """``service`` may assume the role; with ``source_account``, only when acting for this
    account, and with ``source_arn`` (a pattern), only for that resource."""
    conditions = [StringEquals({"aws:SourceAccount": Ref("AWS::AccountId")})] if source_account else []
    if source_arn is not None:
        conditions.append(ArnLike({"aws:SourceArn": source_arn}))
    statement = Statement(Sid=sid, Effect=Allow, Principal=Principal("Service", service), Action=[sts.AssumeRole])
    if conditions:
        statement.Condition = Condition(conditions)
    return PolicyDocument(Version="2012-10-17", Statement=[statement])
