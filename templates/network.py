"""Network tier: VPC over the configured AZs with public, private (app) and isolated
(database) subnets, NAT, gateway endpoints for S3 and DynamoDB, and flow logs.

Subnet CIDRs are computed here at render time (not ``Fn::Cidr``: moto and several
resolvers lack it, and the plan should be reviewable in the diff). The two regions have
different VPC ranges but one template, so the ranges are per-region parameters.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from troposphere import GetAtt, GetAZs, Join, Output, Parameter, Ref, Select, Sub, Tags, Template
from troposphere import ec2, iam, logs

from policies import network as network_policies
from templates import naming
from templates.config import SUBNET_EXTRA_BITS, Config
from templates.security import data_key_arn
from templates.suppressions import log_group_with_imported_key, typeless_wildcards

VPC = "Vpc"
INTERNET_GATEWAY = "InternetGateway"
GATEWAY_ATTACHMENT = "InternetGatewayAttachment"
PUBLIC_ROUTE_TABLE = "PublicRouteTable"
ISOLATED_ROUTE_TABLE = "IsolatedRouteTable"
S3_ENDPOINT = "S3GatewayEndpoint"
DYNAMODB_ENDPOINT = "DynamoDbGatewayEndpoint"
FLOW_LOG_GROUP = "VpcFlowLogGroup"
FLOW_LOG_ROLE = "VpcFlowLogRole"
FLOW_LOG = "VpcFlowLog"

VPC_CIDR_PARAMETER = "VpcCidr"
TIERS = ("Public", "Private", "Isolated")


def subnet_parameter(tier: str) -> str:
    return f"{tier}SubnetCidrs"


def subnet_cidrs(vpc_cidr: str, az_count: int) -> dict[str, list[str]]:
    """Split the VPC into quarters (public, private, isolated, spare), each tier into quarters per AZ."""
    vpc = ipaddress.IPv4Network(vpc_cidr)
    tier_blocks = vpc.subnets(prefixlen_diff=SUBNET_EXTRA_BITS // 2)
    return {
        tier: [str(subnet) for subnet in list(block.subnets(prefixlen_diff=SUBNET_EXTRA_BITS // 2))[:az_count]]
        for tier, block in zip(TIERS, tier_blocks)
    }


def region_parameters(cfg: Config, region: str) -> dict[str, str]:
    """This tier's parameter values for one stack instance."""
    vpc_cidr = cfg.vpc_cidr(region)
    values = {VPC_CIDR_PARAMETER: vpc_cidr}
    for tier, cidrs in subnet_cidrs(vpc_cidr, cfg.network.az_count).items():
        values[subnet_parameter(tier)] = ",".join(cidrs)
    return values


@dataclass(frozen=True)
class Network:
    """What other tiers need from the network."""

    vpc_id: Ref
    vpc_cidr: Ref
    public_subnet_ids: tuple[Ref, ...]
    private_subnet_ids: tuple[Ref, ...]
    isolated_subnet_ids: tuple[Ref, ...]


def _tags(cfg: Config, name: str) -> Tags:
    return Tags(Name=naming.sub_if_needed(f"{naming.prefix(cfg)}-{name}"), **naming.project_tags(cfg))


def _add_parameters(t: Template) -> None:
    t.add_parameter(
        Parameter(
            VPC_CIDR_PARAMETER,
            Type="String",
            Description="This region's VPC range (rendered from the configuration)",
            AllowedPattern=r"^(\d{1,3}\.){3}\d{1,3}/\d{1,2}$",
        )
    )
    for tier in TIERS:
        t.add_parameter(
            Parameter(
                subnet_parameter(tier),
                Type="CommaDelimitedList",
                Description=f"{tier} subnet ranges, one per AZ (rendered from the configuration)",
            )
        )


def _add_subnets(t: Template, cfg: Config, tier: str) -> list[ec2.Subnet]:
    return [
        t.add_resource(
            ec2.Subnet(
                f"{tier}Subnet{index + 1}",
                VpcId=Ref(VPC),
                CidrBlock=Select(index, Ref(subnet_parameter(tier))),
                AvailabilityZone=Select(index, GetAZs("")),
                MapPublicIpOnLaunch=False,
                Tags=_tags(cfg, f"{tier.lower()}-${{AWS::Region}}-az{index + 1}"),
            )
        )
        for index in range(cfg.network.az_count)
    ]


def _route_table(t: Template, cfg: Config, logical_id: str, name: str) -> ec2.RouteTable:
    return t.add_resource(ec2.RouteTable(logical_id, VpcId=Ref(VPC), Tags=_tags(cfg, name)))


def _associate(t: Template, subnet: ec2.Subnet, route_table: ec2.RouteTable) -> None:
    t.add_resource(
        ec2.SubnetRouteTableAssociation(
            f"{subnet.title}RouteTableAssociation", SubnetId=Ref(subnet), RouteTableId=Ref(route_table)
        )
    )


def _add_public_tier(t: Template, cfg: Config) -> list[ec2.Subnet]:
    t.add_resource(ec2.InternetGateway(INTERNET_GATEWAY, Tags=_tags(cfg, "igw")))
    t.add_resource(ec2.VPCGatewayAttachment(GATEWAY_ATTACHMENT, VpcId=Ref(VPC), InternetGatewayId=Ref(INTERNET_GATEWAY)))
    route_table = _route_table(t, cfg, PUBLIC_ROUTE_TABLE, "public")
    t.add_resource(
        ec2.Route(
            "PublicDefaultRoute",
            DependsOn=GATEWAY_ATTACHMENT,
            RouteTableId=Ref(route_table),
            DestinationCidrBlock="0.0.0.0/0",
            GatewayId=Ref(INTERNET_GATEWAY),
        )
    )
    subnets = _add_subnets(t, cfg, "Public")
    for subnet in subnets:
        _associate(t, subnet, route_table)
    return subnets


def _add_nat_gateways(t: Template, cfg: Config, public_subnets: list[ec2.Subnet]) -> list[ec2.NatGateway]:
    count = cfg.network.az_count if cfg.network.nat_gateways == "per-az" else 1
    gateways = []
    for index in range(count):
        eip = t.add_resource(
            ec2.EIP(f"NatEip{index + 1}", Domain="vpc", DependsOn=GATEWAY_ATTACHMENT, Tags=_tags(cfg, f"nat-eip-az{index + 1}"))
        )
        gateways.append(
            t.add_resource(
                ec2.NatGateway(
                    f"NatGateway{index + 1}",
                    AllocationId=GetAtt(eip, "AllocationId"),
                    SubnetId=Ref(public_subnets[index]),
                    Tags=_tags(cfg, f"nat-az{index + 1}"),
                )
            )
        )
    return gateways


def _add_private_tier(t: Template, cfg: Config, nat_gateways: list[ec2.NatGateway]) -> tuple[list, list]:
    """One route table per AZ, so each AZ egresses through its own NAT when there is one per AZ."""
    subnets = _add_subnets(t, cfg, "Private")
    route_tables = []
    for index, subnet in enumerate(subnets):
        route_table = _route_table(t, cfg, f"PrivateRouteTable{index + 1}", f"private-az{index + 1}")
        t.add_resource(
            ec2.Route(
                f"PrivateDefaultRoute{index + 1}",
                RouteTableId=Ref(route_table),
                DestinationCidrBlock="0.0.0.0/0",
                NatGatewayId=Ref(nat_gateways[min(index, len(nat_gateways) - 1)]),
            )
        )
        _associate(t, subnet, route_table)
        route_tables.append(route_table)
    return subnets, route_tables


def _add_isolated_tier(t: Template, cfg: Config) -> tuple[list, ec2.RouteTable]:
    """The database tier: no route to or from the internet."""
    subnets = _add_subnets(t, cfg, "Isolated")
    route_table = _route_table(t, cfg, ISOLATED_ROUTE_TABLE, "isolated")
    for subnet in subnets:
        _associate(t, subnet, route_table)
    return subnets, route_table


def _add_gateway_endpoints(t: Template, cfg: Config, route_tables: list[ec2.RouteTable]) -> None:
    """S3 and DynamoDB traffic stays off the NAT gateways (seed defect 6), from every private table."""
    for logical_id, service in ((S3_ENDPOINT, "s3"), (DYNAMODB_ENDPOINT, "dynamodb")):
        t.add_resource(
            ec2.VPCEndpoint(
                logical_id,
                VpcId=Ref(VPC),
                VpcEndpointType="Gateway",
                ServiceName=Sub(f"com.amazonaws.${{AWS::Region}}.{service}"),
                RouteTableIds=[Ref(table) for table in route_tables],
                Tags=_tags(cfg, f"{service}-endpoint"),
            )
        )


def _add_flow_logs(t: Template, cfg: Config) -> None:
    group_name = naming.flow_log_group(cfg)
    t.add_resource(
        logs.LogGroup(
            FLOW_LOG_GROUP,
            Metadata=log_group_with_imported_key(),
            LogGroupName=group_name.value(),
            RetentionInDays=cfg.logs.flow_logs_retention_days,
            KmsKeyId=data_key_arn(cfg),
            # The name is fixed, so a retained group would block re-creating the stack;
            # retention bounds the records anyway.
            DeletionPolicy="Delete",
            UpdateReplacePolicy="Delete",
        )
    )
    t.add_resource(
        iam.Role(
            FLOW_LOG_ROLE,
            Metadata=typeless_wildcards(),
            AssumeRolePolicyDocument=network_policies.flow_logs_trust(),
            Policies=[
                iam.Policy(
                    PolicyName="deliver-flow-logs",
                    PolicyDocument=network_policies.flow_logs_delivery(group_name.pattern),
                )
            ],
        )
    )
    t.add_resource(
        ec2.FlowLog(
            FLOW_LOG,
            ResourceId=Ref(VPC),
            ResourceType="VPC",
            TrafficType="ALL",
            LogDestinationType="cloud-watch-logs",
            LogGroupName=Ref(FLOW_LOG_GROUP),
            DeliverLogsPermissionArn=GetAtt(FLOW_LOG_ROLE, "Arn"),
            MaxAggregationInterval=60,
            Tags=_tags(cfg, "flow-log"),
        )
    )


def _add_outputs(t: Template, network: Network) -> None:
    t.add_output(Output(VPC, Description="VPC id", Value=network.vpc_id))
    for tier, ids in (
        ("Public", network.public_subnet_ids),
        ("Private", network.private_subnet_ids),
        ("Isolated", network.isolated_subnet_ids),
    ):
        t.add_output(Output(f"{tier}SubnetIds", Description=f"{tier} subnet ids", Value=Join(",", list(ids))))


def add_network(t: Template, cfg: Config) -> Network:
    """Add the network tier to ``t`` and return the handles other tiers need."""
    _add_parameters(t)
    t.add_resource(
        ec2.VPC(
            VPC,
            CidrBlock=Ref(VPC_CIDR_PARAMETER),
            EnableDnsHostnames=True,
            EnableDnsSupport=True,
            Tags=_tags(cfg, "vpc-${AWS::Region}"),
        )
    )
    public_subnets = _add_public_tier(t, cfg)
    nat_gateways = _add_nat_gateways(t, cfg, public_subnets)
    private_subnets, private_route_tables = _add_private_tier(t, cfg, nat_gateways)
    isolated_subnets, isolated_route_table = _add_isolated_tier(t, cfg)
    _add_gateway_endpoints(t, cfg, [*private_route_tables, isolated_route_table])
    _add_flow_logs(t, cfg)
    network = Network(
        vpc_id=Ref(VPC),
        vpc_cidr=Ref(VPC_CIDR_PARAMETER),
        public_subnet_ids=tuple(Ref(subnet) for subnet in public_subnets),
        private_subnet_ids=tuple(Ref(subnet) for subnet in private_subnets),
        isolated_subnet_ids=tuple(Ref(subnet) for subnet in isolated_subnets),
    )
    _add_outputs(t, network)
    return network
