"""What the deployer's tests share: a small rendered folder, a fake clock, stubbed clients.

The rendered folder is built here, not by ``templates.render``: moto cannot deploy the real
regional template (it skips GlobalCluster, DBCluster, Alarm, TopicPolicy and Secret, has no
Fn::Cidr), and the deployer's behaviour does not depend on what the templates hold. The
bootstrap template carries the real artifact bucket, so moto creates real buckets.
"""

from __future__ import annotations

from pathlib import Path

import boto3
from awacs.aws import Allow, PolicyDocument, Principal, Statement
from awacs.sts import AssumeRole
from botocore.stub import Stubber
from moto.core import DEFAULT_ACCOUNT_ID
from troposphere import GetAtt, Parameter, Ref, Sub, Template, awslambda, iam, sqs

from ops.aws import Aws, Identity
from ops.operations import Clock
from templates import artifacts, naming, security, stackset_roles
from templates.config import Config
from templates.layout import MANIFEST
from templates.render import configuration_identity, to_json

CFG = Config()
PRIMARY, DR = CFG.regions
ACCOUNT = DEFAULT_ACCOUNT_ID
BOOTSTRAP = f"{naming.prefix(CFG)}-bootstrap"
REGIONAL = f"{naming.prefix(CFG)}-regional"
PREFERENCES = {
    "RegionConcurrencyType": "SEQUENTIAL",
    "RegionOrder": [PRIMARY, DR],
    "MaxConcurrentCount": 1,
    "FailureToleranceCount": 0,
}
# Big enough to be over CloudFormation's 51,200-byte limit for an inline body.
PADDING_BYTES = 60_000


class FakeClock:
    """Time that passes only when slept: the deployer's waits cost nothing and are counted."""

    def __init__(self) -> None:
        self.time = 0.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.time

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.time += seconds

    @property
    def clock(self) -> Clock:
        return Clock(now=self.now, sleep=self.sleep)


def bootstrap_template() -> dict:
    """The data key (the artifact bucket's) and the bucket, as a stack set without parameters (the
    deployer's parameter path is the regional set's): its key policy names the account alone,
    not the execution role by the parameter the real bootstrap takes."""
    t = Template()
    security.add_data_key(t, CFG)
    artifacts.add_artifact_bucket(t, CFG)
    template = t.to_dict()
    del template["Parameters"]
    for statement in template["Resources"][security.DATA_KEY]["Properties"]["KeyPolicy"]["Statement"]:
        principal = statement.get("Principal", {})
        if isinstance(principal, dict) and isinstance(principal.get("AWS"), list):
            principal["AWS"] = principal["AWS"][0]
    return template


def regional_template(code_key: str, padding: int = 0) -> dict:
    """Parameters that differ per region, a queue, and a function whose code is in the artifact bucket."""
    t = Template()
    t.add_parameter(Parameter("RegionRole", Type="String", AllowedValues=["primary", "secondary"]))
    t.add_parameter(Parameter("QueueRetentionSeconds", Type="Number"))
    # Named: moto derives default names from its stack name, which holds a ":" (invalid in them).
    t.add_resource(
        sqs.Queue("Queue", QueueName=Sub("${AWS::Region}-queue"), MessageRetentionPeriod=Ref("QueueRetentionSeconds"))
    )
    lambda_trust = PolicyDocument(
        Statement=[Statement(Effect=Allow, Principal=Principal("Service", "lambda.amazonaws.com"), Action=[AssumeRole])]
    )
    t.add_resource(iam.Role("FunctionRole", AssumeRolePolicyDocument=lambda_trust))
    t.add_resource(
        awslambda.Function(
            "Function",
            FunctionName=Sub("${AWS::Region}-function"),
            Runtime="python3.12",
            Handler="handler.handle",
            Role=GetAtt("FunctionRole", "Arn"),
            Code=awslambda.Code(S3Bucket=Sub(naming.artifact_bucket(CFG).pattern), S3Key=code_key),
        )
    )
    if padding:
        t.set_metadata({"Padding": "x" * padding})
    return t.to_dict()


def region_values(retention: dict[str, str] | None = None) -> dict[str, dict[str, str]]:
    retention = retention or {PRIMARY: "345600", DR: "86400"}
    return {
        PRIMARY: {"RegionRole": "primary", "QueueRetentionSeconds": retention[PRIMARY]},
        DR: {"RegionRole": "secondary", "QueueRetentionSeconds": retention[DR]},
    }


def write_rendered(
    directory: Path, regional: dict, values: dict[str, dict[str, str]], code_key: str, cfg=CFG, first_create=None
) -> Path:
    """A dr_templates/ folder as rendering leaves it; the zips are in ``build/`` beside it.
    ``first_create``: the regional stack set's ``first_create_parameters``."""
    files = {
        "bootstrap.json": to_json(bootstrap_template()),
        "regional.json": to_json(regional),
        MANIFEST: to_json(
            {
                "stack_sets": [
                    {
                        "name": BOOTSTRAP,
                        "template": "bootstrap.json",
                        "regions": list(cfg.bootstrap_regions),
                        "parameters": None,
                        "capabilities": [],
                    },
                    {
                        "name": REGIONAL,
                        "template": "regional.json",
                        "regions": [PRIMARY, DR],
                        "parameters": {region: f"parameters/{region}.json" for region in (PRIMARY, DR)},
                        "first_create_parameters": first_create or {},
                        "capabilities": ["CAPABILITY_IAM"],
                    },
                ],
                "configuration": configuration_identity(cfg),
                "placeholders": {},
                "operation_preferences": PREFERENCES,
                "stackset_roles": stackset_roles.manifest_entry(cfg),
                "artifacts": {
                    "bucket": naming.artifact_bucket(CFG).pattern,
                    "build_dir": "build",
                    "objects": [code_key],
                },
            }
        ),
    }
    for region, parameters in values.items():
        files[f"parameters/{region}.json"] = to_json(
            [{"ParameterKey": key, "ParameterValue": value} for key, value in sorted(parameters.items())]
        )
    for relative, content in files.items():
        (directory / relative).parent.mkdir(parents=True, exist_ok=True)
        (directory / relative).write_bytes(content)
    return directory


# -- Stubber ---------------------------------------------------------------------------


# One session for every test: it parses each service's model once, not per client.
STUB_SESSION = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing")


class StubbedAws:
    """An ``Aws`` whose clients answer from botocore Stubbers; ``verify`` checks all were used."""

    def __init__(self) -> None:
        self.aws = Aws(STUB_SESSION, PRIMARY)
        self._stubbers: dict[tuple[str, str], Stubber] = {}
        self.aws.__dict__["identity"] = Identity(account=ACCOUNT, partition="aws")  # what STS would answer

    def stub(self, service: str, region: str = PRIMARY) -> Stubber:
        if (service, region) not in self._stubbers:
            stubber = Stubber(self.aws.client(service, region))
            stubber.activate()
            self._stubbers[(service, region)] = stubber
        return self._stubbers[(service, region)]

    def verify(self) -> None:
        for stubber in self._stubbers.values():
            stubber.assert_no_pending_responses()
