"""Route 53 failover records: traffic moves only if both records are complete."""

from __future__ import annotations

from cfnlint.rules import CloudFormationLintRule

from checks.dr_rules._intrinsics import elements, finding, properties_path, resources, variants

FIELDS = ("Failover", "SetIdentifier", "HealthCheckId")


class FailoverRecordIncomplete(CloudFormationLintRule):
    """A failover record needs a SetIdentifier, and the PRIMARY needs a health check.

    Route 53 rejects a failover record without SetIdentifier; a PRIMARY without a health
    check is always "healthy", so Route 53 never fails over to the SECONDARY. A Failover
    that is not a literal (a parameter) may be PRIMARY, so it needs a health check too.
    """

    id = "E9003"
    shortdesc = "Failover record without SetIdentifier, or PRIMARY without HealthCheckId"
    description = "Every record with Failover needs SetIdentifier; every PRIMARY record needs HealthCheckId"
    source_url = "https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/dns-failover-types.html"
    tags = ["dr", "route53"]

    def match(self, cfn):
        for name, resource, properties in resources(cfn, "AWS::Route53::RecordSet"):
            yield from self._check(cfn, properties, properties_path(name), resource.get("Condition"))
        for name, resource, properties in resources(cfn, "AWS::Route53::RecordSetGroup"):
            for path, record in elements(properties.get("RecordSets"), properties_path(name, "RecordSets")):
                yield from self._check(cfn, record, path, resource.get("Condition"))

    @staticmethod
    def _check(cfn, record, path, condition):
        """One finding per missing field, however many condition combinations miss it."""
        missing = {}
        for _, values in variants(cfn, record, FIELDS, condition):
            if "Failover" not in values:
                continue
            if "SetIdentifier" not in values:
                missing.setdefault("SetIdentifier", "failover record without SetIdentifier")
            if values["Failover"] != "SECONDARY" and "HealthCheckId" not in values:
                missing.setdefault(
                    "HealthCheckId",
                    f"failover record {values['Failover']!r} without HealthCheckId: "
                    "Route 53 would treat it as always healthy and never fail over",
                )
        for message in missing.values():
            yield finding((*path, "Failover"), message)
