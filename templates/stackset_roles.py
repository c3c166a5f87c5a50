"""The self-managed StackSet roles, each its own template, deployed once per account.

They are plain stacks (not stack sets) in the administration region, the one the
deployer creates the stack sets in (the primary). Their names carry the project prefix,
not CloudFormation's default names: an account often has the defaults already, with
AdministratorAccess, for other stack sets, and this execution role is deliberately
narrower. The deployer passes them as ``AdministrationRoleARN``/``ExecutionRoleName``.
The names also carry the administration region, because IAM names are account-wide and
the administration role only accepts stack sets of that region.
"""

from __future__ import annotations

from troposphere import GetAtt, Output, Ref, Template, iam

from policies import stackset as policies
from templates import naming
from templates.config import Config

ADMINISTRATION_ROLE = "AdministrationRole"
EXECUTION_ROLE = "ExecutionRole"
EXECUTION_SERVICES_POLICY = "ExecutionServicesPolicy"
ADMINISTRATION_TEMPLATE = "stackset_administration_role.json"
EXECUTION_TEMPLATE = "stackset_execution_role.json"
# The project's rule E9010 refuses Resource "*" for actions that take resources, and checkov
# refuses broad write and permission grants; the execution role's service-wide grant is the
# one place they are accepted, for these reasons.
SERVICE_WIDE_REASON = (
    "CloudFormation creates resources whose ARNs do not exist before it does (VPCs, subnets, keys) and its "
    "handlers call Describe/List actions that take no resource; the grant is limited to this project's services"
)
DEPLOYER_REASON = (
    "the StackSet execution role creates every resource of this project's templates; it is limited to their "
    "services, cannot change the StackSet roles, and only this project's administration role assumes it"
)
CHECKOV_DEPLOYER_CHECKS = ("CKV_AWS_107", "CKV_AWS_108", "CKV_AWS_109", "CKV_AWS_110", "CKV_AWS_111")


def administration_role(cfg: Config) -> naming.Name:
    return naming.Name("IAM role", f"{naming.prefix(cfg)}-{policies.STACKSET_ROLE_INFIX}-admin-${{AWS::Region}}", 64)


def execution_role(cfg: Config) -> naming.Name:
    return naming.Name(
        "IAM role", f"{naming.prefix(cfg)}-{policies.STACKSET_ROLE_INFIX}-execution-${{AWS::Region}}", 64
    )


def _template(cfg: Config, purpose: str) -> Template:
    t = Template(
        Description=f"trading-dr {purpose} ({naming.prefix(cfg)}): a plain stack, once per account, "
        "in the region the stack sets are administered from"
    )
    t.set_version("2010-09-09")
    return t


def build_administration_role_template(cfg: Config) -> Template:
    """The role CloudFormation assumes to run this project's stack set operations."""
    t = _template(cfg, "StackSet administration role")
    t.add_resource(
        iam.Role(
            ADMINISTRATION_ROLE,
            RoleName=administration_role(cfg).value(),
            Description="Assumed by CloudFormation for this project's stack sets; assumes the execution role",
            AssumeRolePolicyDocument=policies.administration_trust(naming.prefix(cfg)),
            Policies=[
                iam.Policy(
                    PolicyName="assume-execution-role",
                    PolicyDocument=policies.administration(execution_role(cfg).pattern),
                )
            ],
        )
    )
    t.add_output(Output("AdministrationRoleArn", Value=GetAtt(ADMINISTRATION_ROLE, "Arn")))
    return t


def build_execution_role_template(cfg: Config) -> Template:
    """The role that creates the stack instances' resources in each target region."""
    t = _template(cfg, "StackSet execution role")
    t.add_resource(
        iam.Role(
            EXECUTION_ROLE,
            RoleName=execution_role(cfg).value(),
            Description="Creates this project's stack set instances; assumed by its administration role only",
            AssumeRolePolicyDocument=policies.execution_trust(administration_role(cfg).pattern),
            Policies=[
                iam.Policy(PolicyName="this-project-only", PolicyDocument=policies.execution_scoped(naming.prefix(cfg)))
            ],
        )
    )
    t.add_resource(
        iam.PolicyType(
            EXECUTION_SERVICES_POLICY,
            PolicyName="this-projects-services",
            Roles=[Ref(EXECUTION_ROLE)],
            PolicyDocument=policies.execution_services(),
            Metadata={
                "cfn-lint": {"config": {"ignore_checks": ["E9010"]}},
                "Reasons": {"E9010": SERVICE_WIDE_REASON},
                "checkov": {"skip": [{"id": check, "comment": DEPLOYER_REASON} for check in CHECKOV_DEPLOYER_CHECKS]},
            },
        )
    )
    t.add_output(Output("ExecutionRoleName", Value=Ref(EXECUTION_ROLE)))
    return t


def manifest_entry(cfg: Config) -> dict:
    """What the deployer needs: the region stack sets are administered from, and per role its
    name there, its template and the stack that deploys it."""
    region = cfg.administration_region
    return {
        "administration_region": region,
        "administration": {
            "role_name": administration_role(cfg).for_region(region),
            "template": ADMINISTRATION_TEMPLATE,
            "stack_name": f"{naming.prefix(cfg)}-stackset-administration-role",
        },
        "execution": {
            "role_name": execution_role(cfg).for_region(region),
            "template": EXECUTION_TEMPLATE,
            "stack_name": f"{naming.prefix(cfg)}-stackset-execution-role",
        },
    }
