"""The key policy of each region's data key (Aurora, its secret, SNS, CloudWatch Logs).

The account root may administer the key but not use it; use is granted only through the
services that need it in this region (``kms:ViaService``) and to the service principals
that encrypt on their own (CloudWatch Logs; CloudWatch and EventBridge publishing to an
encrypted topic; SNS delivering into an encrypted queue). So no principal can decrypt data with the key directly.
"""

from __future__ import annotations

from awacs import kms
from awacs.aws import Allow, ArnLike, BoolIfExists, Condition, Deny, PolicyDocument, Principal, Statement, StringEquals
from troposphere import Ref, Sub

from policies import arns

ADMINISTRATION = [
    kms.CancelKeyDeletion,
    kms.CreateAlias,
    kms.DeleteAlias,
    kms.DescribeKey,
    kms.DisableKey,
    kms.DisableKeyRotation,
    kms.EnableKey,
    kms.EnableKeyRotation,
    kms.GetKeyPolicy,
    kms.GetKeyRotationStatus,
    kms.ListAliases,
    kms.ListGrants,
    kms.ListKeyPolicies,
    kms.ListResourceTags,
    kms.PutKeyPolicy,
    kms.RevokeGrant,
    kms.ScheduleKeyDeletion,
    kms.TagResource,
    kms.UntagResource,
    kms.UpdateAlias,
    kms.UpdateKeyDescription,
]
ENVELOPE_ENCRYPTION = [
    kms.Decrypt,
    kms.Encrypt,
    kms.GenerateDataKey,
    kms.GenerateDataKeyWithoutPlaintext,
    kms.ReEncryptFrom,
    kms.ReEncryptTo,
    kms.DescribeKey,
]
# Services that use the key on behalf of a principal of this account, in this region.
# S3: the artifact bucket's objects (the runbook's code) are encrypted with this key.
VIA_SERVICES = ("rds", "secretsmanager", "sns", "sqs", "dynamodb", "s3")
# Services that encrypt with the key as themselves: alarms and rules publishing to an
# encrypted topic, and SNS delivering the peer region's alerts into the encrypted queue.
ENCRYPTING_SERVICES = ["cloudwatch.amazonaws.com", "events.amazonaws.com", "sns.amazonaws.com"]


def _this_key() -> list[str]:
    # In a key policy "*" means "this key": the policy is attached to exactly one key.
    return ["*"]


def data_key_policy(log_groups: tuple[str, ...], deployer) -> PolicyDocument:
    """``log_groups``: name patterns of the project's log groups, the only ones CloudWatch Logs
    may encrypt with the key; ``deployer``: the StackSet execution role's ARN."""
    return _key_policy(VIA_SERVICES, ENCRYPTING_SERVICES, log_groups=log_groups, deployer=deployer)


def health_alerts_key_policy(deployer) -> PolicyDocument:
    """The Route 53 alarms' key encrypts their topic and its undelivered-alerts queue, nothing
    else: CloudWatch publishes to the topic, SNS writes the queue, the account reads both."""
    return _key_policy(("sns", "sqs"), ["cloudwatch.amazonaws.com", "sns.amazonaws.com"], log_groups=(), deployer=deployer)


def _key_policy(via_services, encrypting_services: list[str], *, log_groups: tuple[str, ...], deployer) -> PolicyDocument:
    # The StackSet execution role is named here as well as through the account: its IAM grants
    # on keys depend on the key's tags, and "it might take up to five minutes for tag and alias
    # changes to affect KMS key authorization" (KMS developer guide, "Use tags to control access
    # to KMS keys"), while CloudFormation enables rotation and creates the alias, and the regional
    # stack's resources use the key, within seconds of its creation. A key policy grant to a
    # principal of the same account needs no IAM policy.
    # https://docs.aws.amazon.com/kms/latest/developerguide/tag-authorization.html
    account = Principal("AWS", [arns.account_root(), deployer])
    return PolicyDocument(
        Version="2012-10-17",
        Statement=[
            Statement(Sid="AccountAdministersKey", Effect=Allow, Principal=account, Action=ADMINISTRATION, Resource=_this_key()),
            Statement(
                Sid="AccountUsesKeyOnlyThroughDataServices",
                Effect=Allow,
                Principal=account,
                Action=[*ENVELOPE_ENCRYPTION, kms.CreateGrant],
                Resource=_this_key(),
                Condition=Condition(
                    StringEquals(
                        {
                            "kms:CallerAccount": Ref("AWS::AccountId"),
                            "kms:ViaService": [Sub(f"{service}.${{AWS::Region}}.amazonaws.com") for service in via_services],
                        }
                    )
                ),
            ),
            # CloudWatch Logs user guide, "Encrypt log data in CloudWatch Logs using AWS KMS": the
            # encryption context is the log group's ARN, so the key serves the project's groups only.
            *([Statement(
                Sid="CloudWatchLogsEncryptsThisProjectsLogGroups",
                Effect=Allow,
                Principal=Principal("Service", Sub("logs.${AWS::Region}.amazonaws.com")),
                Action=ENVELOPE_ENCRYPTION,
                Resource=_this_key(),
                Condition=Condition(ArnLike({"kms:EncryptionContext:aws:logs:arn": [arns.log_group(name) for name in log_groups]})),
            )] if log_groups else []),
            # AWS Control Tower, CT.KMS.PR.3: only AWS services create grants on the key (RDS and
            # DynamoDB do, for the caller: kms:GrantIsForAWSResource), nobody for themselves.
            Statement(
                Sid="GrantsOnlyForAwsServices",
                Effect=Deny,
                Principal=Principal("AWS", "*"),
                Action=[kms.CreateGrant],
                Resource=_this_key(),
                Condition=Condition(BoolIfExists({"kms:GrantIsForAWSResource": "false", "aws:PrincipalIsAWSService": "false"})),
            ),
            Statement(
                Sid="ServicesDeliverToEncryptedTopicsAndQueues",
                Effect=Allow,
                Principal=Principal("Service", encrypting_services),
                Action=[kms.Decrypt, kms.GenerateDataKey],
                Resource=_this_key(),
                Condition=Condition(StringEquals({"aws:SourceAccount": Ref("AWS::AccountId")})),
            ),
        ],
    )
