"""The game day experiment's role: what AWS FIS needs for the two actions of
``templates/gameday.py`` and its log, on this stack's subnets, route tables, endpoints, ECS
cluster and the resources FIS creates (tagged ``managedByFIS``), nothing else.

The permissions per action are the AWS FIS Actions reference's
(https://docs.aws.amazon.com/fis/latest/userguide/fis-actions-reference.html):
``aws:network:route-table-disrupt-cross-region-connectivity`` lists ec2:AssociateRouteTable,
CreateManagedPrefixList, CreateNetworkInterface, CreateRoute, CreateRouteTable, CreateTags,
DeleteManagedPrefixList, DeleteNetworkInterface, DeleteRouteTable, DescribeManagedPrefixLists,
DescribeNetworkInterfaces, DescribeRouteTables, DescribeSubnets, DescribeVpcPeeringConnections,
DescribeVpcs, DisassociateRouteTable, GetManagedPrefixListEntries, ModifyManagedPrefixList,
ModifyVpcEndpoint and ReplaceRouteTableAssociation; ``aws:ecs:stop-task`` lists ecs:DescribeTasks,
ecs:ListTasks, ecs:StopTask and tag:GetResources. How each is narrowed (the ``managedByFIS``
tag FIS puts on what it creates, the condition keys per action) follows AWS's own policy for
these actions, AWSFaultInjectionSimulatorNetworkAccess v5 and AWSFaultInjectionSimulatorECSAccess
(AWS Managed Policy reference,
https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSFaultInjectionSimulatorNetworkAccess.html),
with this stack's resources where that policy has every resource of a type.

Logging to CloudWatch Logs is a vended log delivery: "To be able to set up sending any of these
types of logs to CloudWatch Logs for the first time, you must be logged into an account with the
following permissions. logs:CreateLogDelivery, logs:PutResourcePolicy,
logs:DescribeResourcePolicies, logs:DescribeLogGroups" (CloudWatch Logs user guide, "Logs sent
to CloudWatch Logs", https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/AWS-logs-infrastructure-CWL.html);
none of the four takes a resource type.

The trust is FIS experiments of this account and region only, the confused-deputy conditions
AWS shows for an experiment role (AWS Resilience Hub user guide, "Single-account execution
role": "The aws:SourceAccount and aws:SourceArn conditions protect against the confused deputy
problem, so that only experiments owned by your account can assume the role",
https://docs.aws.amazon.com/resilience-hub/latest/userguide/next-gen-resilience-testing-iam-single-account.html).
"""

from __future__ import annotations

from awacs import ec2, ecs, logs, tag
from awacs.aws import Allow, ArnEquals, Condition, PolicyDocument, Statement, StringEquals

from policies import arns
from policies.trust import service_trust

# The tag FIS puts on the route tables, prefix list and network interfaces it creates.
FIS_TAG = "managedByFIS"
LIST_TASKS_SID = "FindTheServicesTasks"
# Why the role's one "*" on an action with a resource type is right (the role's Metadata says
# it to cfn-lint's E9010 and the IAM proof, which exempt the role for it).
LIST_TASKS_REASON = (
    f"{LIST_TASKS_SID}: ecs:ListTasks takes only a container instance as resource (Service Authorization Reference), "
    "and FIS lists a Fargate service's tasks, which have none: \"*\" narrowed by ecs:cluster to this stack's cluster, "
    "where AWS's AWSFaultInjectionSimulatorECSAccess grants it on \"*\" unconditioned"
)


def experiment_trust() -> PolicyDocument:
    return service_trust("fis.amazonaws.com", arns.arn("fis", "experiment/*"), sid="FisExperimentsAssumeRole")


def _created_by_fis() -> Condition:
    return Condition(StringEquals({f"aws:RequestTag/{FIS_TAG}": "true"}))


def _made_by_fis() -> Condition:
    return Condition(StringEquals({f"ec2:ResourceTag/{FIS_TAG}": "true"}))


def _ec2(resource: str):
    return arns.arn("ec2", resource)


def experiment(
    vpc_id: str, subnet_ids: list[str], route_table_ids: list[str], endpoint_ids: list[str], cluster: str
) -> PolicyDocument:
    """The experiment role's grants; the ids are logical ids of this template's resources."""
    subnets = [_ec2(f"subnet/${{{subnet}}}") for subnet in subnet_ids]
    own_route_tables = [_ec2(f"route-table/${{{table}}}") for table in route_table_ids]
    any_route_table, any_prefix_list, any_interface = _ec2("route-table/*"), _ec2("prefix-list/*"), _ec2("network-interface/*")
    return PolicyDocument(
        Version="2012-10-17",
        Statement=[
            Statement(
                Sid="DescribeNetwork",
                Effect=Allow,
                Action=[
                    ec2.DescribeVpcs, ec2.DescribeSubnets, ec2.DescribeRouteTables, ec2.DescribeNetworkInterfaces,
                    ec2.DescribeManagedPrefixLists, ec2.DescribeVpcPeeringConnections, ec2.DescribeVpcEndpoints,
                ],
                Resource=["*"],
            ),
            # The Region's address ranges come in AWS-managed prefix lists, owned by AWS's account.
            Statement(
                Sid="ReadPrefixLists",
                Effect=Allow,
                Action=[ec2.GetManagedPrefixListEntries],
                Resource=[arns.prefix_lists_of_any_owner()],
            ),
            Statement(
                Sid="CreateTaggedRouteTablesInThisVpc",
                Effect=Allow,
                Action=[ec2.CreateRouteTable],
                Resource=[_ec2(f"vpc/${{{vpc_id}}}")],
            ),
            Statement(
                Sid="CreateOnlyTaggedByFis",
                Effect=Allow,
                Action=[ec2.CreateRouteTable, ec2.CreateManagedPrefixList, ec2.CreateNetworkInterface],
                # An interface's security group is any (AWS's policy grants security-group/*), the
                # request tagged for FIS all the same (aws:RequestTag is the request's).
                Resource=[any_route_table, any_prefix_list, any_interface, _ec2("security-group/*")],
                Condition=_created_by_fis(),
            ),
            Statement(
                Sid="TagWhatFisCreates",
                Effect=Allow,
                Action=[ec2.CreateTags],
                Resource=[any_route_table, any_prefix_list, any_interface],
                Condition=Condition(StringEquals({
                    "ec2:CreateAction": ["CreateRouteTable", "CreateManagedPrefixList", "CreateNetworkInterface"],
                    f"aws:RequestTag/{FIS_TAG}": "true",
                })),
            ),
            Statement(
                Sid="InterfacesInTheTargetSubnets",
                Effect=Allow,
                Action=[ec2.CreateNetworkInterface],
                Resource=subnets,
            ),
            Statement(
                Sid="ChangeAndDeleteWhatFisCreated",
                Effect=Allow,
                Action=[
                    ec2.CreateRoute, ec2.DeleteRouteTable, ec2.DeleteNetworkInterface, ec2.DeleteManagedPrefixList,
                    ec2.ModifyManagedPrefixList, ec2.AssociateRouteTable, ec2.ReplaceRouteTableAssociation,
                    ec2.DisassociateRouteTable, ec2.ModifyVpcEndpoint,
                ],
                Resource=[any_route_table, any_prefix_list, any_interface],
                Condition=_made_by_fis(),
            ),
            # Swapping the target subnets to FIS's tables and back to their own, gateway endpoints with them.
            Statement(
                Sid="SwapTheTargetSubnetsRouteTables",
                Effect=Allow,
                Action=[ec2.AssociateRouteTable, ec2.ReplaceRouteTableAssociation, ec2.DisassociateRouteTable],
                Resource=[*subnets, *own_route_tables],
            ),
            Statement(
                Sid="MoveOwnGatewayEndpoints",
                Effect=Allow,
                Action=[ec2.ModifyVpcEndpoint],
                Resource=[*own_route_tables, *(_ec2(f"vpc-endpoint/${{{endpoint}}}") for endpoint in endpoint_ids)],
            ),
            Statement(
                Sid=LIST_TASKS_SID,
                Effect=Allow,
                Action=[ecs.ListTasks],
                Resource=["*"],
                Condition=Condition(ArnEquals({"ecs:cluster": arns.arn("ecs", f"cluster/{cluster}")})),
            ),
            Statement(
                Sid="ResolveTargets",
                Effect=Allow,
                Action=[tag.GetResources],
                Resource=["*"],
            ),
            Statement(
                Sid="StopTheClustersTasks",
                Effect=Allow,
                Action=[ecs.DescribeTasks, ecs.StopTask],
                Resource=[arns.arn("ecs", f"task/{cluster}/*")],
            ),
            Statement(
                Sid="DeliverTheExperimentLog",
                Effect=Allow,
                Action=[logs.CreateLogDelivery, logs.PutResourcePolicy, logs.DescribeResourcePolicies, logs.DescribeLogGroups],
                Resource=["*"],
            ),
        ],
    )
