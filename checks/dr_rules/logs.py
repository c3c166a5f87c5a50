"""Log retention: every log group, Lambda's included, is a template resource with a retention.

Seed defect 10: Lambda creates ``/aws/lambda/NAME`` itself, with logs kept forever,
unless the template owns that group first.
"""

from __future__ import annotations

from cfnlint.rules import CloudFormationLintRule

from checks.dr_rules._intrinsics import UNKNOWN, finding, render, resources, variants, when

LOG_GROUP = "AWS::Logs::LogGroup"
RETENTION = "RetentionInDays"


class LambdaWithoutLogGroup(CloudFormationLintRule):
    """Each function needs a LogGroup named ``/aws/lambda/<its name>`` with RetentionInDays.

    The name may be written from the function's FunctionName or from the function itself
    (``/aws/lambda/${Function}``); both are compared as rendered ``Fn::Sub`` patterns, so
    Sub, Join and literal spellings of the same name agree.
    """

    id = "E9006"
    shortdesc = "Lambda function without its own log group with retention"
    description = (
        "Every AWS::Lambda::Function needs an AWS::Logs::LogGroup /aws/lambda/<FunctionName> with RetentionInDays"
    )
    source_url = "https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html"
    tags = ["dr", "lambda", "logs"]

    def match(self, cfn):
        retained = {
            render(properties.get("LogGroupName"))
            for _, _, properties in resources(cfn, LOG_GROUP)
            if RETENTION in properties
        }
        for name, _, properties in resources(cfn, "AWS::Lambda::Function"):
            spellings = {f"/aws/lambda/{render({'Ref': name})}"}
            if "FunctionName" in properties:
                spellings.add(f"/aws/lambda/{render(properties['FunctionName'])}")
            if not any(UNKNOWN not in spelling and spelling in retained for spelling in spellings):
                yield finding(
                    ("Resources", name),
                    f"function {name} has no AWS::Logs::LogGroup with {RETENTION} named "
                    f"{' or '.join(sorted(spellings))}: Lambda would create it with logs kept forever",
                )


class LogGroupWithoutRetention(CloudFormationLintRule):
    """A log group without RetentionInDays keeps its logs forever (and bills for them)."""

    id = "E9007"
    shortdesc = "Log group without RetentionInDays"
    description = "Every AWS::Logs::LogGroup needs RetentionInDays, under every condition"
    source_url = (
        "https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-logs-loggroup.html"
    )
    tags = ["dr", "logs"]

    def match(self, cfn):
        for name, resource, properties in resources(cfn, LOG_GROUP):
            for scenario, values in variants(cfn, properties, (RETENTION,), resource.get("Condition")):
                if RETENTION not in values:
                    yield finding(
                        ("Resources", name),
                        f"log group {name} has no {RETENTION}{when(scenario)}: its logs are kept forever",
                    )
                    break
