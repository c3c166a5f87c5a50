"""Network tier properties, checked on the template as each region resolves it."""

from __future__ import annotations

import ipaddress
import itertools
import json

import pytest

from template_support import resolve, resources_of_type
from templates import network
from templates.config import Config, NetworkConfig
from templates.render import render


@pytest.mark.parametrize("vpc_cidr", ["10.0.0.0/16", "172.16.0.0/18", "192.168.4.0/22"])
@pytest.mark.parametrize("az_count", [2, 3])
def test_subnet_plan_is_inside_the_vpc_and_disjoint(vpc_cidr, az_count):
    plan = network.subnet_cidrs(vpc_cidr, az_count)
    vpc = ipaddress.IPv4Network(vpc_cidr)
    subnets = [ipaddress.IPv4Network(cidr) for cidrs in plan.values() for cidr in cidrs]
    assert set(plan) == {"Public", "Private", "Isolated"}
    assert all(len(cidrs) == az_count for cidrs in plan.values())
    assert all(subnet.subnet_of(vpc) for subnet in subnets)
    assert not any(a.overlaps(b) for a, b in itertools.combinations(subnets, 2))
    assert all(subnet.prefixlen <= 26 for subnet in subnets)


def test_region_parameters_carry_each_regions_own_ranges(cfg):
    for region in cfg.regions:
        values = network.region_parameters(cfg, region)
        assert values["VpcCidr"] == cfg.vpc_cidr(region)
        assert values["PrivateSubnetCidrs"].split(",") == network.subnet_cidrs(cfg.vpc_cidr(region), 3)["Private"]


def test_resolved_subnets_sit_in_the_regions_vpc_one_per_az(cfg, region_view):
    region, resolved = region_view
    vpc = resources_of_type(resolved, "AWS::EC2::VPC")["Vpc"]["Properties"]
    assert vpc["CidrBlock"] == cfg.vpc_cidr(region)
    subnets = resources_of_type(resolved, "AWS::EC2::Subnet")
    assert len(subnets) == 3 * cfg.network.az_count
    blocks = [ipaddress.IPv4Network(s["Properties"]["CidrBlock"]) for s in subnets.values()]
    assert all(block.subnet_of(ipaddress.IPv4Network(vpc["CidrBlock"])) for block in blocks)
    assert not any(a.overlaps(b) for a, b in itertools.combinations(blocks, 2))
    for tier in network.TIERS:
        zones = [body["Properties"]["AvailabilityZone"] for name, body in subnets.items() if name.startswith(tier)]
        assert len(set(zones)) == cfg.network.az_count
        assert all(zone.startswith(region) for zone in zones)
    assert not any(s["Properties"]["MapPublicIpOnLaunch"] for s in subnets.values())


def _route_tables_of(resolved: dict, tier: str) -> set[str]:
    associations = resources_of_type(resolved, "AWS::EC2::SubnetRouteTableAssociation").values()
    return {
        a["Properties"]["RouteTableId"] for a in associations if a["Properties"]["SubnetId"].startswith(tier)
    }


def _routes_by_table(resolved: dict) -> dict[str, list[dict]]:
    routes: dict[str, list[dict]] = {}
    for route in resources_of_type(resolved, "AWS::EC2::Route").values():
        routes.setdefault(route["Properties"]["RouteTableId"], []).append(route["Properties"])
    return routes


def test_every_private_and_isolated_route_table_has_both_gateway_endpoints(region_view):
    _, resolved = region_view
    endpoints = resources_of_type(resolved, "AWS::EC2::VPCEndpoint").values()
    services = {e["Properties"]["ServiceName"].rsplit(".", 1)[1]: e["Properties"] for e in endpoints}
    assert set(services) == {"s3", "dynamodb"}
    assert all(e["VpcEndpointType"] == "Gateway" for e in services.values())
    internal_tables = _route_tables_of(resolved, "Private") | _route_tables_of(resolved, "Isolated")
    assert internal_tables
    for endpoint in services.values():
        assert set(endpoint["RouteTableIds"]) == internal_tables


def test_routes_give_each_tier_exactly_its_reach(region_view):
    _, resolved = region_view
    routes = _routes_by_table(resolved)
    for table in _route_tables_of(resolved, "Public"):
        assert [r["GatewayId"] for r in routes[table]] == ["InternetGateway"]
    for table in _route_tables_of(resolved, "Private"):
        assert [("NatGatewayId" in r, r["DestinationCidrBlock"]) for r in routes[table]] == [(True, "0.0.0.0/0")]
    for table in _route_tables_of(resolved, "Isolated"):
        assert table not in routes, "the database tier must have no route out"


@pytest.mark.parametrize("mode, expected", [("per-az", 3), ("single", 1)])
def test_nat_gateways_per_az_or_single(mode, expected):
    cfg = Config(network=NetworkConfig(nat_gateways=mode))
    resolved = resolve(json.loads(render(cfg)["regional.json"]), cfg, cfg.primary_region)
    gateways = resources_of_type(resolved, "AWS::EC2::NatGateway")
    assert len(gateways) == expected
    routes = _routes_by_table(resolved)
    used = {r["NatGatewayId"] for table in _route_tables_of(resolved, "Private") for r in routes[table]}
    assert used == set(gateways)


def test_two_az_configuration_renders_two_subnets_per_tier():
    cfg = Config(network=NetworkConfig(az_count=2))
    resolved = resolve(json.loads(render(cfg)["regional.json"]), cfg, cfg.dr_region)
    assert len(resources_of_type(resolved, "AWS::EC2::Subnet")) == 6


def test_flow_logs_capture_all_traffic_to_a_retained_log_group(cfg, region_view):
    region, resolved = region_view
    (flow_log,) = resources_of_type(resolved, "AWS::EC2::FlowLog").values()
    props = flow_log["Properties"]
    assert (props["ResourceId"], props["TrafficType"], props["LogDestinationType"]) == ("Vpc", "ALL", "cloud-watch-logs")
    group = resolved["Resources"][props["LogGroupName"]]
    assert group["Properties"]["RetentionInDays"] == cfg.logs.flow_logs_retention_days >= 365
    role = resolved["Resources"]["VpcFlowLogRole"]["Properties"]
    resources = [
        arn
        for policy in role["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
        for arn in statement["Resource"]
    ]
    scoped = [arn for arn in resources if arn != "*"]
    assert len(scoped) == len(resources) - 1, "only DescribeLogGroups, which supports no resource type, is unscoped"
    assert all(arn.startswith(f"arn:aws:logs:{region}:") and group["Properties"]["LogGroupName"] in arn for arn in scoped)
