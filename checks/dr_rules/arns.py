"""Texts that tie the template to one region, partition or account, wherever they appear.

Both regions deploy the same template, so a literal region, account or partition in it
is wrong in at least one of them. The rules read every text of the template, with Subs
and Joins rendered whole so an ARN assembled from pieces is judged as the ARN it becomes.
"""

from __future__ import annotations

import re

from cfnlint.helpers import REGIONS
from cfnlint.rules import CloudFormationLintRule

from checks.dr_rules._intrinsics import ARN_FIELD, finding, texts

GLOBAL_CLUSTER_ARN = re.compile(rf"arn:{ARN_FIELD}:rds:(?P<region>{ARN_FIELD}):{ARN_FIELD}:global-cluster:")

# Hard-coded facts of one deployment, each with what to write instead.
LITERALS = (
    (re.compile(r"arn:aws(?:-[a-z]+)*:"), "partition", "${AWS::Partition}"),
    (re.compile(r"(?<![0-9A-Za-z])\d{12}(?![0-9A-Za-z])"), "account id", "${AWS::AccountId}"),
    (
        # Longest first, so "us-gov-west-1" is not read as something shorter; "us-east-1a"
        # (an availability zone) counts too.
        re.compile(r"(?<![0-9A-Za-z])(?:%s)(?!\d)" % "|".join(map(re.escape, sorted(REGIONS, key=len, reverse=True)))),
        "region",
        "${AWS::Region} or a parameter",
    ),
)


class GlobalClusterArnWithRegion(CloudFormationLintRule):
    """Global cluster ARNs have an empty region field: ``arn:PARTITION:rds::ACCOUNT:global-cluster:NAME``.

    One with a region matches nothing, so a policy that uses it silently grants nothing
    (seed defect 2: the failover role could not fail over).
    """

    id = "E9004"
    shortdesc = "RDS global-cluster ARN with a region"
    description = "arn:...:rds:<region>:...:global-cluster:... never matches: global cluster ARNs carry no region"
    source_url = "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonrds.html"
    tags = ["dr", "rds", "iam", "arn"]

    def match(self, cfn):
        for path, text in texts(cfn.template):
            for arn in GLOBAL_CLUSTER_ARN.finditer(text):
                if arn["region"]:
                    yield finding(
                        path,
                        f"global-cluster ARN with region {arn['region']!r} ({text}): global cluster ARNs "
                        "have an empty region field, so this matches nothing",
                    )


class HardCodedDeploymentFact(CloudFormationLintRule):
    """No literal partition, account id or region anywhere in the template.

    The StackSet deploys one template to both regions (and may be reused in another
    account or partition); pseudo-parameters and per-instance parameters carry these.
    Keys are not read: a mapping keyed by region is the portable way to vary by region.
    """

    id = "E9005"
    shortdesc = "Hard-coded partition, account id or region"
    description = "Use ${AWS::Partition}, ${AWS::AccountId} and ${AWS::Region} (or parameters) instead of literals"
    source_url = "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/pseudo-parameter-reference.html"
    tags = ["dr", "portability"]

    def match(self, cfn):
        for path, text in texts(cfn.template):
            for pattern, fact, instead in LITERALS:
                found = pattern.search(text)
                if found:
                    yield finding(path, f"hard-coded {fact} {found[0]!r} in {text!r}: use {instead}")
