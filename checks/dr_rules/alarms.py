"""Alarm actions must stay in the alarm's region."""

from __future__ import annotations

import re

from cfnlint.rules import CloudFormationLintRule

from checks.dr_rules._intrinsics import ARN_FIELD, elements, finding, properties_path, render, resources

THIS_REGION = "${AWS::Region}"
ACTIONS = ("AlarmActions", "OKActions", "InsufficientDataActions")
SNS_ARN = re.compile(rf"arn:{ARN_FIELD}:sns:(?P<region>{ARN_FIELD}):")


class AlarmActionToOtherRegion(CloudFormationLintRule):
    """CloudWatch publishes alarm actions only to SNS topics in the alarm's own region.

    An action naming another region's topic is accepted by CloudFormation and then never
    delivered, so the alert is lost exactly when a region is in trouble. Cross-region
    alerting goes through a subscription (seed defect 5). A topic ARN must therefore be
    built with ``${AWS::Region}``, or come from a Ref or GetAtt of a topic in this stack.
    """

    id = "E9009"
    shortdesc = "Alarm action to an SNS topic in another region"
    description = "AlarmActions, OKActions and InsufficientDataActions must name topics in ${AWS::Region}"
    source_url = "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html"
    tags = ["dr", "cloudwatch", "sns"]

    def match(self, cfn):
        for name, _, properties in resources(cfn, "AWS::CloudWatch::Alarm", "AWS::CloudWatch::CompositeAlarm"):
            for actions in ACTIONS:
                for path, action in elements(properties.get(actions), properties_path(name, actions)):
                    arn = SNS_ARN.match(render(action))
                    if arn and arn["region"] != THIS_REGION:
                        yield finding(
                            path,
                            f"{actions} of {name} publishes to an SNS topic in region {arn['region'] or '(none)'!r}, "
                            f"not {THIS_REGION}: CloudWatch delivers alarm actions only within its own region",
                        )
