"""The inventory picture: both regions as deployed, drawn from the rendered templates.

(``checks/incident.py`` draws the picture for an incident on the same resolved stacks.)

Each stack instance of the manifest (stack set x region) is resolved with its own
parameters: Conditions decide which resources exist there, ``Fn::If``/``Ref``/``Fn::Sub``
give the names and ARNs it will have. Links are found in the resolved properties, not
declared here:
- a ``Ref``/``Fn::GetAtt``/``Fn::ImportValue`` of another resource, and a parameter the
  manifest fills from another stack's output (the Route 53 alarms' health check ids);
- a string that is the name or ARN of exactly one resource of the deployment:
  the DR cluster joining the global cluster by name, the primary's switch health check
  following the DR region's alarm, the runbook addressing the peer region's switch;
- an ``AWS::SNS::Subscription`` is drawn as the edge from its topic to its endpoint (the
  cross-region alert relay), and failover records hang off their hosted zone;
- a task definition whose collector exports to X-Ray's OTLP endpoint points at that endpoint,
  and the endpoint at the region's Transaction Search setting where a stack owns it.
Plumbing (routes, security groups, roles, log groups, policies...) is left out: only
``DRAWN`` types are nodes, and more than ``MAX_NODES_PER_TYPE`` of one type in a stack
collapse into one node (as do numbered siblings like ``PublicSubnet1..3``); a subnet group
passes its subnets on to the cluster that names it.

Writes Graphviz DOT, and SVG through the ``dot`` binary when it is installed.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from templates.layout import MANIFEST
from templates.regions import PRIMARY, ROLE_PARAMETER

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
DOT_FILE = "architecture.dot"
SVG_FILE = "architecture.svg"
GRAPHVIZ_PACKAGE = "graphviz"

# Resource types drawn as nodes, with the label they get.
DRAWN = {
    "AWS::EC2::VPC": "VPC",
    "AWS::EC2::Subnet": "subnet",
    "AWS::EC2::NatGateway": "NAT gateway",
    "AWS::EC2::VPCEndpoint": "gateway endpoint",
    "AWS::RDS::GlobalCluster": "Aurora global cluster",
    "AWS::RDS::DBCluster": "Aurora cluster",
    "AWS::RDS::DBInstance": "Aurora instance",
    "AWS::SecretsManager::Secret": "secret",
    "AWS::KMS::Key": "KMS key",
    "AWS::S3::Bucket": "S3 bucket",
    "AWS::ElasticLoadBalancingV2::LoadBalancer": "ALB",
    "AWS::ElasticLoadBalancingV2::Listener": "listener",
    "AWS::ElasticLoadBalancingV2::TargetGroup": "target group",
    "AWS::ECS::Cluster": "ECS cluster",
    "AWS::ECS::Service": "Fargate service",
    "AWS::ECS::TaskDefinition": "task definition",
    "AWS::Route53::HealthCheck": "Route 53 health check",
    "AWS::Route53::RecordSet": "failover record",
    "AWS::CloudWatch::Alarm": "alarm",
    "AWS::CloudWatch::CompositeAlarm": "composite alarm",
    "AWS::SNS::Topic": "SNS topic",
    "AWS::SQS::Queue": "SQS queue",
    "AWS::Events::Rule": "EventBridge rule",
    "AWS::StepFunctions::StateMachine": "state machine",
    "AWS::Lambda::Function": "Lambda function",
    "AWS::DynamoDB::Table": "DynamoDB table",
    "AWS::XRay::TransactionSearchConfig": "Transaction Search\\n(spans to CloudWatch Logs)",
}
MAX_NODES_PER_TYPE = 3
DEAD_LETTER_NODE = "DeadLetterQueues"
# How other resources name a resource of these types: (name property, ARN pattern or None).
NAMED = {
    "AWS::RDS::GlobalCluster": ("GlobalClusterIdentifier", None),
    "AWS::RDS::DBCluster": ("DBClusterIdentifier", "arn:{partition}:rds:{region}:{account}:cluster:{name}"),
    "AWS::CloudWatch::Alarm": ("AlarmName", "arn:{partition}:cloudwatch:{region}:{account}:alarm:{name}"),
    "AWS::SNS::Topic": ("TopicName", "arn:{partition}:sns:{region}:{account}:{name}"),
    "AWS::SQS::Queue": ("QueueName", "arn:{partition}:sqs:{region}:{account}:{name}"),
}
# Edge labels by the property a link was found in (others are labelled with the property).
LABELS = {
    "GlobalClusterIdentifier": "joins the global database (replica)",
    "HealthCheckConfig": "follows",
    "Dimensions": "alarms on",
    "Environment": "runbook acts on",
}
# Left out, but what they reference is drawn as referenced by whoever references them.
PASSED_ON = {"AWS::RDS::DBSubnetGroup"}
SUBSCRIPTION = "AWS::SNS::Subscription"
RECORD_SET = "AWS::Route53::RecordSet"
PSEUDO = {"AWS::Partition": "aws", "AWS::AccountId": "123456789012", "AWS::URLSuffix": "amazonaws.com"}
_NO_VALUE = object()
_TOKEN = re.compile(r"<<([^|>]+)\|([^>]+)>>")  # a resolved Ref/GetAtt: <<stack instance|logical id>>
_SUB_REFERENCE = re.compile(r"\$\{([^}!][^}]*)\}")
_TRAILING_NUMBER = re.compile(r"\d+$")
# X-Ray's OTLP traces endpoint, as a collector's exporter names it.
_XRAY_OTLP = re.compile(r"https://xray\.([a-z0-9-]+)\.[a-z0-9.]+/v1/traces")
XRAY_ENDPOINT = "XRayOtlpEndpoint"


class DiagramError(Exception):
    """The rendered output cannot be drawn (missing file, an intrinsic this resolver lacks)."""


# --- the deployment: stack instances with their parameters ---------------------------------


@dataclass
class Instance:
    """One stack of a stack set in one region, resolved with its parameters."""

    key: str  # "REGION/TEMPLATE-STEM", also the prefix of its node ids
    stack_set: str
    region: str
    document: dict
    parameters: dict[str, Any]
    deployment: Deployment
    _conditions: dict[str, bool] = field(default_factory=dict)

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            self._conditions[name] = bool(self._evaluate(self.document.get("Conditions", {})[name]))
        return self._conditions[name]

    def exists(self, logical_id: str) -> bool:
        condition = self.document["Resources"][logical_id].get("Condition")
        return condition is None or self.condition(condition)

    def resources(self) -> Iterator[tuple[str, dict]]:
        for logical_id, resource in sorted(self.document["Resources"].items()):
            if self.exists(logical_id):
                yield logical_id, resource

    def resolve(self, value: Any) -> Any:
        """``value`` as deployed here; a reference to a resource becomes a ``<<instance|id>>`` token."""
        if isinstance(value, list):
            return [item for item in (self.resolve(item) for item in value) if item is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) != 1 or not (next(iter(value)) == "Ref" or next(iter(value)).startswith("Fn::")):
            resolved = {key: self.resolve(item) for key, item in value.items()}
            return {key: item for key, item in resolved.items() if item is not _NO_VALUE}
        ((function, argument),) = value.items()
        if function == "Ref":
            return self._reference(argument)
        if function == "Fn::GetAtt":
            logical_id = argument[0] if isinstance(argument, list) else argument.split(".")[0]
            return self._token(logical_id)
        if function == "Fn::If":
            return self.resolve(argument[1] if self.condition(argument[0]) else argument[2])
        if function == "Fn::Sub":
            pattern, variables = (argument, {}) if isinstance(argument, str) else argument
            return _SUB_REFERENCE.sub(lambda m: self._sub_variable(m[1], variables), pattern)
        if function == "Fn::Join":
            return argument[0].join(str(self.resolve(item)) for item in self.resolve(argument[1]))
        if function == "Fn::Select":
            return self.resolve(argument[1])[int(self.resolve(argument[0]))]
        if function == "Fn::GetAZs":  # only places subnets, which are not drawn per zone
            return [f"{self.region}{zone}" for zone in "abc"]
        if function == "Fn::ImportValue":
            return self.deployment.imported(self.region, self.resolve(argument))
        raise DiagramError(f"{self.key}: cannot resolve {function}")

    def output(self, name: str) -> Any:
        return self.resolve(self.document["Outputs"][name]["Value"])

    def _evaluate(self, condition: Any) -> Any:
        ((function, argument),) = condition.items()
        if function == "Fn::Equals":
            return self.resolve(argument[0]) == self.resolve(argument[1])
        if function == "Fn::Not":
            return not self._evaluate(argument[0])
        if function == "Fn::And":
            return all(self._evaluate(item) for item in argument)
        if function == "Fn::Or":
            return any(self._evaluate(item) for item in argument)
        if function == "Condition":
            return self.condition(argument)
        raise DiagramError(f"{self.key}: cannot evaluate condition {function}")

    def _reference(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name == "AWS::Region":
            return self.region
        if name == "AWS::StackName":
            return self.stack_set
        if name in PSEUDO:
            return PSEUDO[name]
        if name in self.parameters:
            return self.parameters[name]
        return self._token(name)

    def _sub_variable(self, name: str, variables: dict) -> str:
        if name in variables:
            return str(self.resolve(variables[name]))
        return str(self._reference(name) if "." not in name else self._token(name.split(".")[0]))

    def _token(self, logical_id: str) -> str:
        if logical_id not in self.document.get("Resources", {}):
            raise DiagramError(f"{self.key}: reference to unknown {logical_id}")
        return f"<<{self.key}|{logical_id}>>"


class Deployment:
    """The stack instances of the manifest, in deployment order."""

    def __init__(self, directory: Path):
        manifest_path = directory / MANIFEST
        if not manifest_path.is_file():
            raise DiagramError(f"{manifest_path} does not exist; run 'make templates' first")
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        self.instances: list[Instance] = []
        for stack_set in manifest["stack_sets"]:
            document = json.loads((directory / stack_set["template"]).read_text(encoding="utf-8"))
            for region in stack_set["regions"]:
                parameters = {
                    name: spec["Default"] for name, spec in document.get("Parameters", {}).items() if "Default" in spec
                }
                parameter_file = (stack_set.get("parameters") or {}).get(region)
                if parameter_file:
                    for item in json.loads((directory / parameter_file).read_text(encoding="utf-8")):
                        parameters[item["ParameterKey"]] = _parameter_value(document, item)
                for name, source in stack_set.get("parameters_from_outputs", {}).items():
                    parameters[name] = _FromOutput(source["stack_set"], source["region"], source["output"])
                key = f"{region}/{Path(stack_set['template']).stem}"
                self.instances.append(Instance(key, stack_set["name"], region, document, parameters, self))
        for instance in self.instances:
            instance.parameters = {
                name: self._output(value) if isinstance(value, _FromOutput) else value
                for name, value in instance.parameters.items()
            }

    def imported(self, region: str, export: str) -> Any:
        """What ``Fn::ImportValue`` gives in ``region``: exports are regional."""
        for instance in self.instances:
            if instance.region != region:
                continue
            for name, output in instance.document.get("Outputs", {}).items():
                if "Export" in output and instance.resolve(output["Export"]["Name"]) == export:
                    return instance.output(name)
        raise DiagramError(f"no stack in {region} exports {export}")

    def _output(self, source: _FromOutput) -> Any:
        for instance in self.instances:
            if (instance.stack_set, instance.region) == (source.stack_set, source.region):
                return instance.output(source.output)
        raise DiagramError(f"no stack instance of {source.stack_set} in {source.region}")


@dataclass(frozen=True)
class _FromOutput:
    stack_set: str
    region: str
    output: str


def _parameter_value(document: dict, item: dict) -> Any:
    spec = document.get("Parameters", {}).get(item["ParameterKey"], {})
    value = item["ParameterValue"]
    return value.split(",") if spec.get("Type") == "CommaDelimitedList" else value


# --- the graph -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: str = ""


@dataclass
class Graph:
    """Nodes by id (``REGION/STACK/NAME``) with their labels, grouped by instance; edges."""

    regions: dict[str, str]  # region -> its role
    nodes: dict[str, dict[str, str]]  # instance key -> node id -> label
    zones: dict[str, str]  # hosted zone node id -> label
    edges: set[Edge]


def _node_ids(instance: Instance) -> dict[str, str]:
    """Logical id -> node id of every drawn resource; numbered siblings and crowds share one."""
    by_type: dict[str, list[str]] = {}
    for logical_id, resource in instance.resources():
        if resource["Type"] in DRAWN:
            by_type.setdefault(resource["Type"], []).append(logical_id)
    node_ids = {}
    for resource_type, logical_ids in by_type.items():
        # Dead-letter queues are one node: each only catches what its source could not deliver.
        stems = {logical_id: DEAD_LETTER_NODE if logical_id.endswith("DeadLetterQueue") else _TRAILING_NUMBER.sub("", logical_id)
                 for logical_id in logical_ids}
        crowded = len(set(stems.values())) > MAX_NODES_PER_TYPE
        for logical_id in logical_ids:
            name = resource_type.split("::")[-1] + "s" if crowded else stems[logical_id]
            node_ids[logical_id] = f"{instance.key}/{name}"
    return node_ids


def _label(node_id: str, types: list[str]) -> str:
    """Name (xN if several), then the kind of resource."""
    count = f" x{len(types)}" if len(types) > 1 else ""
    return f"{node_id.rsplit('/', 1)[-1]}{count}\\n{DRAWN[types[0]]}"


def _names(deployment: Deployment, node_of: dict[tuple[str, str], str]) -> dict[str, str]:
    """Name or ARN -> node id, for every resource of ``NAMED`` type whose name is unique."""
    seen: dict[str, set[str]] = {}
    for instance in deployment.instances:
        for logical_id, resource in instance.resources():
            if resource["Type"] not in NAMED or (instance.key, logical_id) not in node_of:
                continue
            name_property, arn_pattern = NAMED[resource["Type"]]
            name = instance.resolve(resource.get("Properties", {}).get(name_property))
            if not isinstance(name, str):
                continue
            spellings = [name, _arn(arn_pattern, instance.region, name)] if arn_pattern else [name]
            for spelling in spellings:
                seen.setdefault(spelling, set()).add(node_of[instance.key, logical_id])
    return {spelling: next(iter(nodes)) for spelling, nodes in seen.items() if len(nodes) == 1}


def _arn(pattern: str, region: str, name: str) -> str:
    partition, account = PSEUDO["AWS::Partition"], PSEUDO["AWS::AccountId"]
    return pattern.format(partition=partition, account=account, region=region, name=name)


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def references(value: Any) -> list[tuple[str, str]]:
    """(stack instance key, logical id) of every resolved reference in ``value``."""
    return [reference for text in strings(value) for reference in _TOKEN.findall(text)]


def trace_regions(value: Any) -> set[str]:
    """Regions whose X-Ray OTLP endpoint ``value`` exports to (a collector's configuration)."""
    return {region for text in strings(value) for region in _XRAY_OTLP.findall(text)}


def _traces(graph: Graph, instance: Instance, source: str, properties: dict, node_of: dict) -> None:
    """Edges from a task definition to the X-Ray endpoint its collector exports to, and from there
    to the region's Transaction Search setting when a stack of the deployment owns it."""
    for region in sorted(trace_regions(properties)):
        endpoint = f"{instance.key}/{XRAY_ENDPOINT}"
        graph.nodes[instance.key][endpoint] = f"X-Ray OTLP endpoint\\n{region}"
        graph.edges.add(Edge(source, endpoint, "traces (OTLP, SigV4)"))
        for other in instance.deployment.instances:
            for logical_id, resource in other.resources():
                if other.region == region and resource["Type"] == "AWS::XRay::TransactionSearchConfig":
                    graph.edges.add(Edge(endpoint, node_of[other.key, logical_id], "spans"))


def _targets(value: Any, node_of: dict, names: dict[str, str]) -> set[str]:
    """Node ids ``value`` refers to: by a resolved reference, or by name/ARN."""
    found = set()
    for text in strings(value):
        found |= {node_of[key, logical_id] for key, logical_id in _TOKEN.findall(text) if (key, logical_id) in node_of}
        if text in names:
            found.add(names[text])
    return found


def build(directory: Path) -> Graph:
    """The graph of the deployment described by the rendered output in ``directory``."""
    deployment = Deployment(directory)
    node_of: dict[tuple[str, str], str] = {}
    members: dict[str, list[str]] = {}  # node id -> the types of the resources it stands for
    for instance in deployment.instances:
        for logical_id, node_id in _node_ids(instance).items():
            node_of[instance.key, logical_id] = node_id
            members.setdefault(node_id, []).append(instance.document["Resources"][logical_id]["Type"])
    names = _names(deployment, node_of)
    roles = {i.region: i.parameters[ROLE_PARAMETER] for i in deployment.instances if ROLE_PARAMETER in i.parameters}
    graph = Graph(
        regions=roles,
        nodes={i.key: {} for i in deployment.instances},
        zones={},
        edges=set(),
    )
    for instance in deployment.instances:
        resolved = {logical_id: instance.resolve(r.get("Properties", {})) for logical_id, r in instance.resources()}
        for logical_id, resource in instance.resources():
            properties = resolved[logical_id]
            if resource["Type"] == SUBSCRIPTION:
                for topic in _targets(properties.get("TopicArn"), node_of, names):
                    for endpoint in _targets(properties.get("Endpoint"), node_of, names):
                        graph.edges.add(Edge(topic, endpoint, "SNS subscription"))
            if (instance.key, logical_id) not in node_of:
                continue
            source = node_of[instance.key, logical_id]
            graph.nodes[instance.key][source] = _label(source, members[source])
            if resource["Type"] == RECORD_SET:
                zone = f"route53/{properties['HostedZoneId']}"
                graph.zones[zone] = f"{properties['Name']}\\nhosted zone {properties['HostedZoneId']}"
                graph.edges.add(Edge(zone, source, properties.get("Failover", "")))
            if resource["Type"] == "AWS::ECS::TaskDefinition":
                _traces(graph, instance, source, properties, node_of)
            for name, value in sorted(properties.items()):
                passed_on = [resolved[hidden] for hidden in _passed_on(value, instance)]
                for target in _targets([value, *passed_on], node_of, names) - {source}:
                    graph.edges.add(Edge(source, target, LABELS.get(name, name) if _crosses(source, target) else ""))
    return graph


def _passed_on(value: Any, instance: Instance) -> list[str]:
    """Logical ids of this instance's ``PASSED_ON`` resources that ``value`` references."""
    resources = instance.document["Resources"]
    return sorted(
        {
            logical_id
            for text in strings(value)
            for key, logical_id in _TOKEN.findall(text)
            if key == instance.key and resources[logical_id]["Type"] in PASSED_ON and instance.exists(logical_id)
        }
    )


def _crosses(source: str, target: str) -> bool:
    """Whether an edge links two regions (or a region and Route 53's global zone)."""
    return source.split("/")[0] != target.split("/")[0]


# --- DOT and SVG -----------------------------------------------------------------------------


def quoted(text: str) -> str:
    return '"' + text.replace('"', '\\"') + '"'


def to_dot(graph: Graph) -> str:
    """Graphviz DOT, deterministic: a cluster per region, inside it one per stack."""
    lines = [
        "digraph architecture {",
        '  graph [rankdir=LR, compound=true, fontname="Helvetica", label="trading-dr: both regions as deployed '
        '(generated by checks/diagram.py from the rendered templates); red: links between regions", labelloc=t];',
        '  node [shape=box, style="rounded,filled", fillcolor=white, fontname="Helvetica", fontsize=10];',
        '  edge [color=gray40, fontname="Helvetica", fontsize=9];',
    ]
    regions = {key.split("/")[0] for key in graph.nodes}
    for region in sorted(regions, key=lambda r: (graph.regions.get(r) != PRIMARY, r)):  # primary first
        role = graph.regions.get(region, "")
        lines.append(f"  subgraph {quoted('cluster_' + region)} {{")
        lines.append(f"    label={quoted(f'{region} ({role})' if role else region)}; style=filled; fillcolor=gray95;")
        for key in sorted(k for k in graph.nodes if k.split("/")[0] == region):
            lines.append(f"    subgraph {quoted('cluster_' + key)} {{")
            lines.append(f"      label={quoted(key.split('/')[1] + ' stack')}; style=dashed; fillcolor=white;")
            nodes = sorted(graph.nodes[key].items())
            lines += [f"      {quoted(node)} [label={quoted(label)}];" for node, label in nodes]
            lines.append("    }")
        lines.append("  }")
    if graph.zones:
        lines.append(f"  subgraph {quoted('cluster_route53')} {{")
        lines.append('    label="Route 53 (global)"; style=dashed;')
        zones = sorted(graph.zones.items())
        lines += [f"    {quoted(zone)} [label={quoted(label)}, shape=ellipse];" for zone, label in zones]
        lines.append("  }")
    for edge in sorted(graph.edges, key=lambda e: (e.source, e.target, e.label)):
        attributes = [f"label={quoted(edge.label)}"] if edge.label else []
        if _crosses(edge.source, edge.target):
            attributes.append("color=firebrick, fontcolor=firebrick, penwidth=2")
        elif edge.source.rsplit("/", 1)[0] != edge.target.rsplit("/", 1)[0]:
            attributes.append("style=dashed")  # between stacks of one region
        suffix = f" [{', '.join(attributes)}]" if attributes else ""
        lines.append(f"  {quoted(edge.source)} -> {quoted(edge.target)}{suffix};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def write(directory: Path, out: Path = DOCS) -> list[Path]:
    """Write both pictures' DOT files (the incident view, the inventory) and, when Graphviz is
    installed, their SVGs; the files written. Both are drawn before anything is written."""
    from checks import incident  # it builds on this module

    pictures = {
        incident.DOT_FILE: (incident.SVG_FILE, incident.to_dot(incident.build(directory))),
        DOT_FILE: (SVG_FILE, to_dot(build(directory))),
    }
    out.mkdir(parents=True, exist_ok=True)
    dot = shutil.which("dot")
    written = []
    for dot_file, (svg_file, text) in pictures.items():
        dot_path = out / dot_file
        dot_path.write_text(text, encoding="utf-8")
        written.append(dot_path)
        if dot is not None:
            subprocess.run([dot, "-Tsvg", str(dot_path), "-o", str(out / svg_file)], check=True)
            written.append(out / svg_file)
    return written


def main(directory: Path, out: Path = DOCS) -> int:
    """0 with the SVGs written; 1 with only the DOT files (Graphviz missing); 2 if the render cannot
    be read or the pictures cannot be written."""
    try:
        written = write(directory, out)
    except DiagramError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: cannot write the pictures to {out}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path}")
    if not any(path.suffix == ".svg" for path in written):
        print(
            f"error: Graphviz's 'dot' is not installed, so no SVG: install the Debian package {GRAPHVIZ_PACKAGE} "
            f"(apt-get install {GRAPHVIZ_PACKAGE}), or render the .dot files with any Graphviz",
            file=sys.stderr,
        )
        return 1
    return 0
