"""The self-managed StackSet roles, each its own template, deployed once per account.

They are plain stacks (not stack sets) in the administration region, the one the
deployer creates the stack sets in (the primary). Their names carry the project prefix,
not CloudFormation's default names: an account often has the defaults already, with
AdministratorAccess, for other stack sets, and this execution role is deliberately
narrower. The deployer passes them as ``AdministrationRoleARN``/``ExecutionRoleName``.
The names also carry the administration region, because IAM names are account-wide and
the administration role only accepts stack sets of that region.

The execution role's template also holds the permissions boundary of every role the stack
sets create. It lives here, not in the bootstrap stack set, because the execution role
deploys the stack sets: a boundary it deployed would be one it could change.
"""

from __future__ import annotations

from collections.abc import Iterable

from awacs.aws import PolicyDocument
from troposphere import GetAtt, Output, Parameter, Ref, Template, iam

from policies import arns, deployment, scope
from policies import tracing as tracing_policies
from policies import stackset as policies
from templates import naming
from templates.config import Config
from templates.security import DEPLOYER_PARAMETER
from templates.suppressions import cfn_lint_ignore, cfripper_ignore, merged, typeless_wildcards

ADMINISTRATION_ROLE = "AdministrationRole"
EXECUTION_ROLE = "ExecutionRole"
EXECUTION_PERMISSIONS = "ExecutionPermissions"  # + a number: one managed policy per 6,144 characters
PERMISSIONS_BOUNDARY = "PermissionsBoundary"
ADMINISTRATION_TEMPLATE = "stackset_administration_role.json"
EXECUTION_TEMPLATE = "stackset_execution_role.json"
ESCALATION_REASON = (
    "it creates the project's roles, so it writes their policies: only roles named PREFIX-*/StackSet-PREFIX-* that carry "
    "the boundary (iam:PermissionsBoundary), attaching only the AWS managed policies the templates attach "
    "(iam:PolicyARN), never its own roles or the boundary (explicit deny), never assuming what it creates"
)
BOUNDARY_NAME_REASON = (
    "one boundary per account, which every regional stack instance names: this template is a plain stack "
    "deployed once per account, not a stack set instance in each region"
)


def administration_role(cfg: Config) -> naming.Name:
    return naming.Name("IAM role", f"{naming.prefix(cfg)}-{policies.STACKSET_ROLE_INFIX}-admin-${{AWS::Region}}", 64)


def execution_role(cfg: Config) -> naming.Name:
    return naming.Name(
        "IAM role", f"{naming.prefix(cfg)}-{policies.STACKSET_ROLE_INFIX}-execution-${{AWS::Region}}", 64
    )


def key_administrator_parameters(cfg: Config) -> dict[str, str]:
    """The parameter the key policies name the execution role by (templates/security.py)."""
    return {DEPLOYER_PARAMETER: execution_role(cfg).for_region(cfg.administration_region)}


def boundary_name(cfg: Config) -> str:
    """Account-wide, without a region: every regional stack instance names it."""
    return f"{naming.prefix(cfg)}-{policies.STACKSET_ROLE_INFIX}-boundary"


def boundary_arn(cfg: Config):
    return arns.arn("iam", f"policy/{boundary_name(cfg)}", regional=False)


def project_scope(cfg: Config, creates: bool = True) -> scope.Scope:
    """This project's resources (``policies.scope``), anchored: names start ``PREFIX-`` (or
    ``stackset-PREFIX-``, the stack set instance's name as S3 and RDS lower-case what
    CloudFormation generates), ``/PROJECT/SUFFIX/`` or Lambda's and Step Functions' log group
    prefixes; the secret is ``PREFIX/...``; ids are found by the project's tags; the hosted zone
    and image repository are the configured ones. ``creates=False`` for the boundary: a project
    role acts on resources, it never creates tagged ones."""
    prefix = naming.prefix(cfg)
    ours, generated = f"{prefix}-*", f"stackset-{prefix}-*"
    names = {placeholder: (ours,) for placeholder in deployment.PROJECT_NAMED}
    names.update(
        {placeholder: (ours, generated) for placeholder in ("BucketName", "DbInstanceName", "SubnetGroupName", "ClusterParameterGroupName")}
    )
    names["LogGroupName"] = naming.log_group_patterns(cfg)
    names["SecretId"] = (f"{prefix}/*",)
    names["Alias"] = (ours,)
    names["RepositoryName"] = (cfg.app.image_repository,)
    functions = arns.arn_pattern("lambda", f"function:{ours}").replace("${AWS::Region}", "*")
    return scope.Scope(
        names=names,
        tags=naming.project_tags(cfg),
        typed_names={"route53:hostedzone": {"Id": (cfg.dns.hosted_zone_id,)}},
        conditions={
            "lambda:FunctionArn": ("ArnLike", functions),
            # Route 53 developer guide, "Using IAM policy conditions for fine-grained access control"
            # (https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/specifying-rrset-conditions.html):
            # names lower-case, no trailing dot.
            "route53:ChangeResourceRecordSetsNormalizedRecordNames": ("ForAllValues:StringEquals", [normalized_record_name(cfg.dns.domain_name)]),
        },
        creates=creates,
    )


def normalized_record_name(name: str) -> str:
    """As ``route53:ChangeResourceRecordSetsNormalizedRecordNames`` compares it: lower case, no
    trailing dot, any character but a-z, 0-9, '-', '_' and '.' as a three-digit octal escape."""
    allowed = set("abcdefghijklmnopqrstuvwxyz0123456789-_.")
    return "".join(c if c in allowed else f"\\{ord(c):03o}" for c in name.lower().rstrip("."))


def stack_set_regions(cfg: Config) -> tuple[str, ...]:
    """Every region a stack set of the manifest deploys to, the administration region included."""
    return tuple(dict.fromkeys((*cfg.bootstrap_regions, cfg.route53_metrics_region)))


def bound_roles(t: Template, cfg: Config) -> None:
    """Every role of a template the execution role deploys carries the project's boundary."""
    for resource in t.resources.values():
        if isinstance(resource, iam.Role):
            resource.PermissionsBoundary = boundary_arn(cfg)


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


def build_execution_role_template(cfg: Config, deployed: Iterable[dict]) -> Template:
    """The role that creates the stack instances' resources of the ``deployed`` templates in
    each target region, and the boundary every role those templates create carries."""
    deployed = list(deployed)
    needs = deployment.needs(deployment.resource_types(deployed), stack_set_regions(cfg))
    roles = [r["Properties"] for d in deployed for r in d.get("Resources", {}).values() if r["Type"] == "AWS::IAM::Role"]
    derived = deployment.scoped_statements(
        needs.outside([*deployment.HAND_GRANTED_SERVICES]) - set(scope.UNUSED_ACTIONS), project_scope(cfg), "Deploy"
    )
    documents = deployment.packed(derived.statements)
    if len(documents) > deployment.MANAGED_POLICIES_PER_ROLE:
        raise ValueError(f"the execution role needs {len(documents)} managed policies, IAM allows {deployment.MANAGED_POLICIES_PER_ROLE}")
    t = _template(cfg, "StackSet execution role and the project's permissions boundary")
    t.add_resource(
        iam.Role(
            EXECUTION_ROLE,
            RoleName=execution_role(cfg).value(),
            Description="Creates this project's stack set instances; assumed by its administration role only",
            Metadata=cfripper_ignore({"PrivilegeEscalationRule": ESCALATION_REASON}),
            AssumeRolePolicyDocument=policies.execution_trust(administration_role(cfg).pattern),
            Policies=[
                iam.Policy(
                    PolicyName="this-projects-stacks-and-roles",
                    PolicyDocument=policies.execution_scoped(
                        naming.prefix(cfg),
                        needs.of_services(["iam"]),
                        boundary_arn(cfg),
                        _trusted_services(roles),
                        sorted({_managed_policy_name(arn) for role in roles for arn in role.get("ManagedPolicyArns", [])}),
                        naming.artifact_bucket(cfg).pattern,
                    ),
                ),
                *([iam.Policy(PolicyName="transaction-search", PolicyDocument=tracing_policies.deploy_transaction_search())]
                  if cfg.tracing.enable_transaction_search else []),
            ],
        )
    )
    for number, document in enumerate(documents, start=1):
        t.add_resource(
            iam.ManagedPolicy(
                f"{EXECUTION_PERMISSIONS}{number}",
                ManagedPolicyName=naming.sub_if_needed(execution_role(cfg).pattern.replace("-execution-", f"-execution-{number}-")),
                Description=f"What the handlers of the rendered resource types need ({number} of {len(documents)})",
                Roles=[Ref(EXECUTION_ROLE)],
                PolicyDocument=document,
                Metadata=merged(_reasons(document.Statement, derived), typeless_wildcards()),
            )
        )
    capped = policies.boundary(
        [s for role in roles for policy in role.get("Policies", []) for s in policy["PolicyDocument"]["Statement"]],
        [_managed_policy_name(arn) for role in roles for arn in role.get("ManagedPolicyArns", [])],
        project_scope(cfg, creates=False),
    )
    t.add_resource(
        iam.ManagedPolicy(
            PERMISSIONS_BOUNDARY,
            ManagedPolicyName=boundary_name(cfg),
            Description="The most any role of this project's stack sets may do, on this project's resources only",
            PolicyDocument=PolicyDocument(Version="2012-10-17", Statement=capped.statements),
            Metadata=merged(cfn_lint_ignore({"E9008": BOUNDARY_NAME_REASON, **_inherited_wildcards(deployed)}),
                            _reasons(capped.statements, capped), typeless_wildcards()),
        )
    )
    t.add_output(Output("ExecutionRoleName", Value=Ref(EXECUTION_ROLE)))
    t.add_output(Output("PermissionsBoundaryArn", Value=Ref(PERMISSIONS_BOUNDARY)))
    return t


def _inherited_wildcards(deployed: list[dict]) -> dict[str, str]:
    """E9010's exemption of a role's "*" narrowed by a condition (its reason), which the boundary
    keeps with that condition (``policies.stackset.boundary``); nothing when no role has one."""
    reasons = sorted({r["Metadata"]["Reasons"]["E9010"] for d in deployed for r in d.get("Resources", {}).values()
                      if r["Type"] == "AWS::IAM::Role" and "E9010" in r.get("Metadata", {}).get("Reasons", {})})
    return {"E9010": "a role's \"*\" kept with its condition: " + "; ".join(reasons)} if reasons else {}


def _reasons(statements, scoped: deployment.Scoped) -> dict:
    """Metadata naming why a resource of ``statements`` is every one of its type in this
    account (or ``"*"``): the IAM proof fails on such a grant without one."""
    mine = scoped.reasons_of(statements)
    return {scope.ACCOUNT_WIDE_METADATA: mine} if mine else {}


def _trusted_services(roles: list[dict]) -> set[str]:
    """The services the deployed roles trust: the only ones the execution role may pass them to."""
    return {
        service
        for role in roles
        for statement in role["AssumeRolePolicyDocument"]["Statement"]
        for service in _listed(statement.get("Principal", {}).get("Service", []))
    }


def _listed(value) -> list:
    return value if isinstance(value, list) else [value]


def _managed_policy_name(arn) -> str:
    """``service-role/Name`` of an AWS managed policy ARN (a Sub pattern)."""
    return (arn["Fn::Sub"] if isinstance(arn, dict) else arn).split(":policy/", 1)[1]


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
