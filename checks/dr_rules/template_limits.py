"""Early warning before a template reaches one of CloudFormation's hard limits.

``checks/limits.py`` fails the gate past a limit; these rules warn past 80% of it, while
there is still room to split the template or move values out of it. They measure with
the gate's own code (compact JSON, as the deployer sends it) on the file cfn-lint reads.

The 51,200-byte limit for a body sent inline is not one of them: the deployer sends a
larger template by S3 URL, so crossing it needs no change (the gate's summary says
which way each template goes), and a warning there would fail the gate for nothing.
"""

from __future__ import annotations

from pathlib import Path

from cfnlint.rules import CloudFormationLintRule

from checks import limits
from checks.dr_rules._intrinsics import finding

SHARE = 0.8
QUOTAS = "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html"


class _NearLimit:
    """The check the three rules share; each rule names a ``limits.TemplateSize`` field and its limit.

    Not a CloudFormationLintRule itself, so cfn-lint does not register it as a rule.
    """

    measurement: str
    limit: int
    consequence: str

    def match(self, cfn):
        value = getattr(limits.measure(Path(cfn.filename)), self.measurement)
        if value > SHARE * self.limit:
            yield finding(
                (),
                f"{self.measurement.replace('_', ' ')}: {value}, over {SHARE:.0%} of the limit of {self.limit}; "
                f"{self.consequence}",
            )


class TemplateBodyNearLimit(_NearLimit, CloudFormationLintRule):
    id = "W9101"
    shortdesc = "Template near the 1 MB limit for a body sent by S3 URL"
    description = "Compact JSON size over 80% of 1,000,000 bytes"
    source_url = QUOTAS
    tags = ["limits"]
    measurement = "compact_bytes"
    limit = limits.URL_BODY_BYTES
    consequence = "past it CloudFormation rejects the template; split it (nested stacks or another stack set)"


class ResourcesNearLimit(_NearLimit, CloudFormationLintRule):
    id = "W9102"
    shortdesc = "Template near the limit of 500 resources"
    description = "More than 400 resources"
    source_url = QUOTAS
    tags = ["limits"]
    measurement = "resources"
    limit = limits.MAX_RESOURCES
    consequence = "past it CloudFormation rejects the template; split it"


class DynamicReferencesNearLimit(_NearLimit, CloudFormationLintRule):
    id = "W9103"
    shortdesc = "Template near the limit of 60 dynamic references"
    description = "More than 48 {{resolve:...}} dynamic references"
    source_url = QUOTAS
    tags = ["limits"]
    measurement = "dynamic_references"
    limit = limits.MAX_DYNAMIC_REFERENCES
    consequence = "past it CloudFormation rejects the template; resolve each secret once, or pass values as parameters"
