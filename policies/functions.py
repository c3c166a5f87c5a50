"""What every Lambda function's role holds besides its code's calls.

Statements whose Sid starts with ``Runtime`` serve the Lambda runtime (its log group,
X-Ray, the key behind encrypted stores, an event source it polls) rather than the code;
the role proofs check every other statement against the calls the code makes.
"""

from __future__ import annotations

from awacs import kms, logs, xray
from awacs.aws import Allow, Condition, PolicyDocument, Statement, StringEquals
from troposphere import Sub

from policies import arns


def document(*statements: Statement) -> PolicyDocument:
    return PolicyDocument(Version="2012-10-17", Statement=list(statements))


def runtime_statements(log_group_name: str) -> list[Statement]:
    return [
        # Both actions take the log-stream resource type only (Service Authorization Reference).
        Statement(
            Sid="RuntimeWritesOwnLogs",
            Effect=Allow,
            Action=[logs.CreateLogStream, logs.PutLogEvents],
            Resource=[arns.log_streams(log_group_name)],
        ),
        # X-Ray's trace actions support no resource type.
        Statement(Sid="RuntimeWritesTraces", Effect=Allow, Action=[xray.PutTraceSegments, xray.PutTelemetryRecords], Resource=["*"]),
    ]


def key_through(services: tuple[str, ...], key_arn) -> Statement:
    return Statement(
        Sid="RuntimeUsesKeyThroughEncryptedStores",
        Effect=Allow,
        Action=[kms.Decrypt, kms.GenerateDataKey],
        Resource=[key_arn],
        Condition=Condition(StringEquals({"kms:ViaService": [Sub(f"{s}.${{AWS::Region}}.amazonaws.com") for s in services]})),
    )
