"""Scanner suppressions, all in one shape: resource Metadata naming the check and why it does not apply.

checkov reads ``Metadata.checkov.skip`` of the resource it would flag, cfn-lint
``Metadata.cfn-lint.config.ignore_checks`` (the reasons go beside it, under ``Reasons``).
cfn-guard and cfripper read no Metadata themselves: ``checks/security.py`` drops their
findings on a resource whose ``Metadata.guard.SuppressedRules`` (the convention of AWS's
Guard rules) or ``Metadata.cfripper.ignore`` names the rule, each with its reason.
Building that Metadata only here keeps every suppression uniform and gives each one a
reason; ``checks/security.py`` lists them all from the rendered templates for review.
"""

from __future__ import annotations

import json
import re

_CHECK_ID = re.compile(r"^CKV2?_AWS_\d+$")
_RULE_ID = re.compile(r"^[EWI]S?\d{4}$")
_GUARD_RULE = re.compile(r"^[A-Z0-9_]+_CHECK$")
_CFRIPPER_RULE = re.compile(r"^[A-Z][A-Za-z0-9]+Rule$")
# Why a finding about an encryption key does not apply where the key is imported.
IMPORTED_KEY_REASON = (
    "encrypted with the region's data key, imported from the bootstrap stack (Fn::ImportValue), which the rule "
    "does not follow"
)


def checkov_skip(reasons: dict[str, str]) -> dict:
    """A resource's ``Metadata`` skipping each check id of ``reasons`` with its one-line reason."""
    for check_id, reason in reasons.items():
        if not _CHECK_ID.match(check_id) or not reason.strip():
            raise ValueError(f"checkov suppression {check_id!r}: needs a CKV_AWS_/CKV2_AWS_ id and a reason")
    return {"checkov": {"skip": [{"id": check_id, "comment": reasons[check_id]} for check_id in sorted(reasons)]}}


def cfn_lint_ignore(reasons: dict[str, str]) -> dict:
    """A resource's ``Metadata`` ignoring each cfn-lint rule of ``reasons``, each with its reason."""
    for rule_id, reason in reasons.items():
        if not _RULE_ID.match(rule_id) or not reason.strip():
            raise ValueError(f"cfn-lint suppression {rule_id!r}: needs a rule id and a reason")
    return {"cfn-lint": {"config": {"ignore_checks": sorted(reasons)}}, "Reasons": dict(sorted(reasons.items()))}


def guard_suppress(reasons: dict[str, str]) -> dict:
    """A resource's ``Metadata`` suppressing each cfn-guard rule of ``reasons`` (Control Tower's
    rule names, upper case), each with its reason."""
    for rule, reason in reasons.items():
        if not _GUARD_RULE.match(rule) or not reason.strip():
            raise ValueError(f"cfn-guard suppression {rule!r}: needs a rule name and a reason")
    return {"guard": {"SuppressedRules": sorted(reasons), "Reasons": dict(sorted(reasons.items()))}}


def cfripper_ignore(reasons: dict[str, str]) -> dict:
    """A resource's ``Metadata`` ignoring each cfripper rule of ``reasons``, each with its reason."""
    for rule, reason in reasons.items():
        if not _CFRIPPER_RULE.match(rule) or not reason.strip():
            raise ValueError(f"cfripper suppression {rule!r}: needs a rule class name and a reason")
    return {"cfripper": {"ignore": [{"rule": rule, "reason": reasons[rule]} for rule in sorted(reasons)]}}


def merged(*parts: dict) -> dict:
    """Several suppressions' Metadata for one resource: lists joined, mappings merged."""
    result: dict = {}
    for part in parts:
        for key, value in part.items():
            if key not in result:
                result[key] = value
            elif isinstance(value, dict) and isinstance(result[key], dict):
                result[key] = merged(result[key], value)
            elif isinstance(value, list) and isinstance(result[key], list):
                result[key] = sorted({json.dumps(v, sort_keys=True): v for v in [*result[key], *value]}.values(), key=str)
            elif value != result[key]:
                raise ValueError(f"two suppressions set Metadata {key!r} differently")
    return result


def log_group_with_imported_key() -> dict:
    """A log group encrypted with the region's data key from the bootstrap stack."""
    return guard_suppress({"CLOUDWATCH_LOG_GROUP_ENCRYPTED_CHECK": IMPORTED_KEY_REASON})


# Every grant on "*" of the project's IAM policies is of an action without a resource type:
# the IAM proof (checks/iam_proof.py, rule 3) fails the render on any other.
TYPELESS_WILDCARD_REASON = (
    "every action granted on \"*\" here takes no resource type (Service Authorization Reference); the render's IAM "
    "proof fails on any that does"
)


def typeless_wildcards() -> dict:
    return cfripper_ignore({"WildcardResourceRule": TYPELESS_WILDCARD_REASON})
