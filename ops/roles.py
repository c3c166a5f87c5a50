"""The self-managed StackSet roles must exist before any stack set can be deployed."""

from __future__ import annotations

from botocore.exceptions import ClientError

from ops.aws import Aws
from ops.errors import EXIT_BAD_INPUT, OpsError, error_code
from ops.rendered import Rendered, RoleSpec
from ops.stacksets import Roles


def role_commands(rendered: Rendered, roles: list[RoleSpec] | None = None) -> list[str]:
    """The one-time commands that create (or update) the StackSet roles in the manifest's
    administration region (``build.py roles``)."""
    chosen = roles if roles is not None else [rendered.roles.administration, rendered.roles.execution]
    return [
        f"aws cloudformation deploy --region {rendered.roles.administration_region} --stack-name {role.stack_name} "
        f"--template-file {rendered.directory / role.template} --capabilities CAPABILITY_NAMED_IAM"
        for role in chosen
    ]


def check_stackset_roles(aws: Aws, rendered: Rendered) -> Roles:
    """The roles to name in every stack set; ``OpsError`` saying how to create any that is missing."""
    roles = rendered.roles
    iam = aws.client("iam")
    missing = []
    for role in (roles.administration, roles.execution):
        try:
            iam.get_role(RoleName=role.name)
        except ClientError as exc:
            if error_code(exc) != "NoSuchEntity":
                raise
            missing.append(role)
    if missing:
        raise OpsError(
            f"StackSet role(s) {', '.join(role.name for role in missing)} do not exist in account "
            f"{aws.identity.account}; create them once per account (add --profile if you use one):",
            details=role_commands(rendered, missing),
            exit_status=EXIT_BAD_INPUT,
        )
    return Roles(
        administration_arn=aws.identity.role_arn(roles.administration.name), execution_name=roles.execution.name
    )
