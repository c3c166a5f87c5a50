"""The incident picture: what an SRE looks for during an outage, drawn from the rendered templates.

Where ``checks/diagram.py`` draws the inventory (every resource that matters, by logical
id), this draws the few things a failover is about, each found in the stack instances as
their parameters resolve them (``diagram.Deployment``), none declared here:
- the traffic path: the hosted zone, each region's failover record with what its health
  check requires, the load balancer it aliases, the service behind it, the database it uses;
- the failover switch: the alarm a record's health check follows, and the runbook step
  that publishes the metric the alarm watches (throw from the DR region, release from the
  primary);
- replication: from the cluster the global cluster was created from to those joining it;
- the runbook of each region: its Lambda steps in the order of the state machine, and the
  regions each one calls (from its role's policies, the resources it references and the
  region names in its environment);
- where traces go: from each service's collector sidecar and from the runbook's functions
  (active tracing) to X-Ray in their own region;
- the alert paths: alarms to topics, cross-region subscriptions to relay queues, relay functions to
  the relayed topics, and the on-call endpoints subscribed (or that none is);
- a legend of the edge styles.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from checks.diagram import Deployment, DiagramError, Instance, quoted, references, strings, trace_regions
from templates.regions import PRIMARY, ROLE_PARAMETER

DOT_FILE = "incident.dot"
SVG_FILE = "incident.svg"
# Edge styles by kind: (Graphviz attributes, legend text).
STYLES = {
    "traffic": ("color=royalblue, penwidth=2.5", "client traffic (DNS answer, then HTTPS)"),
    "replication": ("color=darkgreen, penwidth=2.5", "Aurora replication (asynchronous)"),
    "switch": ("color=purple, style=dashed", "health check follows / runbook publishes the switch metric"),
    "alert": ("color=darkorange", "alert path (alarm, SNS, relay queue, relay function)"),
    "traces": ("color=gray50, style=dotted", "traces to X-Ray (collector sidecar over OTLP, Lambda active tracing)"),
}
ARN = re.compile(r"arn:[a-z-]+:([a-z0-9-]+):([a-z0-9-]*):")
# Services a step's policy names that are plumbing, not calls an SRE watches for.
PLUMBING = {"logs", "lambda", "xray"}
GLOBAL_SERVICES = {"route53": "Route 53 (global)"}
TASK = "Task"


@dataclass
class Picture:
    """Nodes by region (``None``: Route 53, global), edges with their kind and label."""

    roles: dict[str, str]
    nodes: dict[str | None, dict[str, str]] = field(default_factory=dict)
    edges: list[tuple[str, str, str, str]] = field(default_factory=list)

    def node(self, region: str | None, node_id: str, label: str) -> str:
        self.nodes.setdefault(region, {})[node_id] = label
        return node_id

    def edge(self, source: str, target: str, kind: str, label: str = "") -> None:
        if (source, target, kind, label) not in self.edges:
            self.edges.append((source, target, kind, label))


def _of_type(instance: Instance, resource_type: str) -> Iterator[tuple[str, dict]]:
    for logical_id, resource in instance.resources():
        if resource["Type"] == resource_type:
            yield logical_id, instance.resolve(resource.get("Properties", {}))


def _one(instance: Instance, resource_type: str) -> tuple[str, dict]:
    found = list(_of_type(instance, resource_type))
    if len(found) != 1:
        raise DiagramError(f"{instance.key}: expected one {resource_type}, found {len(found)}")
    return found[0]


def _referenced(value: Any, instance: Instance) -> set[str]:
    """Logical ids of ``instance`` that ``value`` references."""
    return {logical_id for key, logical_id in references(value) if key == instance.key}


def _id(instance: Instance, logical_id: str) -> str:
    return f"{instance.key}/{logical_id}"


class _Drawing:
    def __init__(self, deployment: Deployment):
        self.deployment = deployment
        self.regional = {i.region: i for i in deployment.instances if ROLE_PARAMETER in i.parameters}
        if len(self.regional) != 2:
            raise DiagramError(f"expected two regional stack instances, found {len(self.regional)}")
        self.picture = Picture(roles={region: i.parameters[ROLE_PARAMETER] for region, i in self.regional.items()})
        self.regions = set(self.regional)

    def _find(self, resource_type: str, name_property: str, name: str, region: str) -> str | None:
        """The node id of the resource of that type and name in ``region`` (any stack), if any."""
        for instance in self.deployment.instances:
            if instance.region == region:
                for logical_id, properties in _of_type(instance, resource_type):
                    if properties.get(name_property) == name:
                        return _id(instance, logical_id)
        return None

    # -- traffic and the switch -----------------------------------------------------------

    def traffic(self) -> None:
        picture = self.picture
        clients = picture.node(None, "clients", "clients")
        for region, instance in sorted(self.regional.items()):
            load_balancer, _ = _one(instance, "AWS::ElasticLoadBalancingV2::LoadBalancer")
            service, service_properties = _one(instance, "AWS::ECS::Service")
            cluster, cluster_properties = _one(instance, "AWS::RDS::DBCluster")
            alb = picture.node(region, _id(instance, load_balancer), "load balancer (HTTPS)")
            app = picture.node(
                region, _id(instance, service), f"ECS service\\n{service_properties.get('ServiceName', service)}"
            )
            role = "writer" if picture.roles[region] == PRIMARY else "secondary"
            picture.node(
                region,
                _id(instance, cluster),
                f"Aurora cluster ({role} when deployed)\\n{cluster_properties.get('DBClusterIdentifier', cluster)}",
            )
            picture.edge(alb, app, "traffic")
            tasks = _referenced(service_properties, instance)
            if any(
                _referenced(p, instance) & {cluster}
                for t, p in _of_type(instance, "AWS::ECS::TaskDefinition")
                if t in tasks
            ):
                picture.edge(app, _id(instance, cluster), "traffic", "SQL")
            for record, properties in _of_type(instance, "AWS::Route53::RecordSet"):
                zone = picture.node(
                    None,
                    f"zone/{properties['HostedZoneId']}",
                    f"hosted zone {properties['HostedZoneId']}\\n{properties['Name']}",
                )
                picture.edge(clients, zone, "traffic", "DNS")
                (check,) = _referenced(properties.get("HealthCheckId"), instance)
                needs = self._health(instance, check, _id(instance, record))
                node = picture.node(
                    None, _id(instance, record), f"{properties['Failover']} record\\nanswered while healthy:\\n{needs}"
                )
                picture.edge(zone, node, "traffic")
                if _referenced(properties.get("AliasTarget"), instance) & {load_balancer}:
                    picture.edge(node, alb, "traffic", "alias")

    def _health(self, instance: Instance, check: str, record: str) -> str:
        """What the health check ``check`` requires, in words; the alarms it follows get an edge from ``record``."""
        config = dict(_of_type(instance, "AWS::Route53::HealthCheck"))[check]["HealthCheckConfig"]
        if config["Type"] == "CALCULATED":
            children = [
                self._health(instance, child, record)
                for child in sorted(_referenced(config["ChildHealthChecks"], instance))
            ]
            joined = " AND\\n".join(children)
            return (
                joined
                if config.get("HealthThreshold") == len(children)
                else f"{config.get('HealthThreshold')} of: {joined}"
            )
        if config["Type"] == "CLOUDWATCH_METRIC":
            alarm = config["AlarmIdentifier"]
            found = self._find("AWS::CloudWatch::Alarm", "AlarmName", alarm["Name"], alarm["Region"])
            if found:
                self.picture.node(alarm["Region"], found, f"alarm\\n{alarm['Name']}")
                self.picture.edge(record, found, "switch", "follows")
            return f"alarm {alarm['Name']} ({alarm['Region']}) not in ALARM"
        every = config.get("RequestInterval", 30)
        return f"{config['Type']} {config.get('ResourcePath', '')} on the load balancer every {every} s"

    def replication(self) -> None:
        """From the cluster created with the global cluster (its first member: the writer; or the
        one it was created from) to those joining it by name."""
        for instance in self.regional.values():
            for global_id, global_cluster in _of_type(instance, "AWS::RDS::GlobalCluster"):
                name = global_cluster["GlobalClusterIdentifier"]
                sources = _referenced(global_cluster.get("SourceDBClusterIdentifier"), instance) | {
                    cluster
                    for cluster, properties in _of_type(instance, "AWS::RDS::DBCluster")
                    if global_id in _referenced(properties.get("GlobalClusterIdentifier"), instance)
                }
                for source in sorted(sources):
                    for other in self.regional.values():
                        for cluster, properties in _of_type(other, "AWS::RDS::DBCluster"):
                            if properties.get("GlobalClusterIdentifier") == name:
                                label = f"replicates to\\n(global database {name})"
                                self.picture.edge(_id(instance, source), _id(other, cluster), "replication", label)

    # -- the runbook ------------------------------------------------------------------------

    def runbook(self) -> None:
        for region, instance in sorted(self.regional.items()):
            machine, properties = _one(instance, "AWS::StepFunctions::StateMachine")
            functions = dict(_of_type(instance, "AWS::Lambda::Function"))
            rows = []
            for state, function in self._steps(properties):
                called = self._regions_called(instance, function, functions[function])
                rows.append(f"{state}: {', '.join(called)}")
                switch = self._switch_alarm(functions[function]["Environment"]["Variables"])
                if switch:
                    alarm, verb = switch
                    self.picture.edge(_id(instance, machine), alarm, "switch", f"{state}: {verb}")
            purpose = "fails over to here" if self.picture.roles[region] != PRIMARY else "fails back to here"
            label = (
                f"runbook {properties.get('StateMachineName', machine)} ({purpose})\\n"
                "step: the regions it may call (its permissions, its settings)\\l"
                + "".join(f"{row}\\l" for row in rows)
            )
            self.picture.node(region, _id(instance, machine), label)

    @staticmethod
    def _steps(properties: dict) -> list[tuple[str, str]]:
        """(Task state, function logical id) in the order a run reaches them; the failure path last."""
        definition, substitutions = properties["Definition"], properties.get("DefinitionSubstitutions", {})
        states, seen, order = definition["States"], set(), []
        pending, on_failure = [definition["StartAt"]], []
        while pending or on_failure:
            name = pending.pop(0) if pending else on_failure.pop(0)
            if name in seen or name not in states:
                continue
            seen.add(name)
            state = states[name]
            if state["Type"] == TASK:
                variable = state.get("Parameters", {}).get("FunctionName", "").strip("${}")
                for _, function in references(substitutions.get(variable)):
                    order.append((name, function))
            if state.get("ResultPath") == "$.run.error":  # a refusal or timeout: the failure path
                on_failure.append(state["Next"])
                continue
            # Depth first, a choice's branches before its default: the main path comes first.
            branches = [choice["Next"] for choice in state.get("Choices", [])]
            following = [state[key] for key in ("Next",) if key in state] + branches
            pending = following + [state[key] for key in ("Default",) if key in state] + pending
            on_failure += [catch["Next"] for catch in state.get("Catch", [])]
        return order

    def _regions_called(self, instance: Instance, function: str, properties: dict) -> list[str]:
        (role,) = _referenced(properties["Role"], instance)
        policies = instance.resolve(instance.document["Resources"][role].get("Properties", {}))
        called = {instance.region}
        for text in strings(policies):
            for service, region in ARN.findall(text):
                if service in PLUMBING:
                    continue
                called.add(region or GLOBAL_SERVICES.get(service, ""))
        for key, _ in references(policies):
            called.add(key.split("/")[0])
        called |= {value for value in strings(properties.get("Environment", {})) if value in self.regions}
        return sorted(region for region in called if region)

    def _switch_alarm(self, variables: dict) -> tuple[str, str] | None:
        """The alarm watching the metric a step publishes (``SWITCH_*`` variables), and what it does to it."""
        if "SWITCH_REGION" not in variables:
            return None
        region = variables["SWITCH_REGION"]
        for instance in self.deployment.instances:
            for alarm, properties in _of_type(instance, "AWS::CloudWatch::Alarm"):
                if instance.region == region and (properties.get("Namespace"), properties.get("MetricName")) == (
                    variables["SWITCH_NAMESPACE"],
                    variables["SWITCH_METRIC"],
                ):
                    values = f"{variables['SWITCH_THROWN_VALUE']} throws, {variables['SWITCH_RELEASED_VALUE']} releases"
                    node = self.picture.node(region, _id(instance, alarm), f"alarm\\n{properties['AlarmName']}")
                    return node, f"publishes {properties['MetricName']} ({values})"
        return None

    # -- traces -----------------------------------------------------------------------------

    def traces(self) -> None:
        """The service's collector sidecar and the runbook's traced functions, to X-Ray where they export."""
        for region, instance in sorted(self.regional.items()):
            service, service_properties = _one(instance, "AWS::ECS::Service")
            tasks = _referenced(service_properties, instance)
            for task, properties in _of_type(instance, "AWS::ECS::TaskDefinition"):
                containers = properties.get("ContainerDefinitions", [])
                for target in sorted(trace_regions(properties) if task in tasks else ()):
                    collector = next(c["Name"] for c in containers if trace_regions(c))
                    self.picture.edge(_id(instance, service), self._xray(target), "traces", f"{collector} sidecar: OTLP, SigV4")
            machine, _ = _one(instance, "AWS::StepFunctions::StateMachine")
            traced = [f for f, p in _of_type(instance, "AWS::Lambda::Function") if p.get("TracingConfig", {}).get("Mode") == "Active"]
            if traced:
                self.picture.edge(_id(instance, machine), self._xray(region), "traces", f"{len(traced)} functions: active tracing")

    def _xray(self, region: str) -> str:
        return self.picture.node(region, f"{region}/xray", f"X-Ray in {region}\\n(OTLP endpoint; Transaction Search)")

    # -- alerts -----------------------------------------------------------------------------

    def alerts(self) -> None:
        picture = self.picture
        topics: dict[str, str] = {}  # topic ARN or reference -> node id
        queues: dict[str, str] = {}
        self.names: dict[str, str] = {}  # node id -> topic or queue name
        for instance in self.deployment.instances:
            for kind, name_property, table in (
                ("AWS::SNS::Topic", "TopicName", topics),
                ("AWS::SQS::Queue", "QueueName", queues),
            ):
                service = kind.split("::")[1].lower()
                for logical_id, properties in _of_type(instance, kind):
                    node = _id(instance, logical_id)
                    self.names[node] = properties[name_property]
                    table[f"<<{instance.key}|{logical_id}>>"] = node
                    table[f"arn:aws:{service}:{instance.region}:123456789012:{properties[name_property]}"] = node
        endpoints = 0
        for instance in self.deployment.instances:
            alarms: dict[str, int] = {}
            for kind in ("AWS::CloudWatch::Alarm", "AWS::CloudWatch::CompositeAlarm"):
                for _, properties in _of_type(instance, kind):
                    for text in strings(properties.get("AlarmActions", [])):
                        if text in topics:
                            alarms[topics[text]] = alarms.get(topics[text], 0) + 1
            for topic, count in sorted(alarms.items()):
                source = picture.node(
                    instance.region, f"{topic}/alarms", f"{count} alarm(s)\\n({instance.key.split('/')[1]} stack)"
                )
                picture.edge(source, self._topic(topic, instance), "alert")
            subscriptions = [
                (topics.get(_first_text(properties["TopicArn"])), properties)
                for _, properties in _of_type(instance, "AWS::SNS::Subscription")
            ] + [
                (_id(instance, topic), inline)
                for topic, properties in _of_type(instance, "AWS::SNS::Topic")
                for inline in properties.get("Subscription", [])
            ]
            for topic, properties in subscriptions:
                endpoint = _first_text(properties["Endpoint"])
                if topic is None:
                    continue
                target = queues.get(endpoint)
                if target is None:
                    endpoints += 1
                    target = picture.node(
                        None,
                        f"on-call/{properties['Protocol']}/{endpoint}",
                        f"on-call\\n{properties['Protocol']}: {endpoint}",
                    )
                else:
                    self._queue(target)
                picture.edge(self._topic(topic, instance), target, "alert", "SNS subscription")
            # A relay: a queue feeds a function (event source mapping) that publishes to the
            # topics its environment names.
            functions = dict(_of_type(instance, "AWS::Lambda::Function"))
            for _, properties in _of_type(instance, "AWS::Lambda::EventSourceMapping"):
                source = queues.get(_first_text(properties["EventSourceArn"]))
                (_, function), = references(properties["FunctionName"])
                variables = functions.get(function, {}).get("Environment", {}).get("Variables", {})
                for target in filter(None, map(topics.get, strings(variables))):
                    if source:
                        picture.edge(self._queue(source), self._topic(target, instance), "alert", "relay function")
        if not endpoints:
            picture.node(None, "on-call/none", "no on-call endpoint subscribed\\n(alerts.endpoints is empty)")

    def _topic(self, node_id: str, instance: Instance) -> str:
        region = node_id.split("/")[0]
        return self.picture.node(region, node_id, f"SNS topic\\n{self.names[node_id]}")

    def _queue(self, node_id: str) -> str:
        return self.picture.node(node_id.split("/")[0], node_id, f"SQS queue\\n{self.names[node_id]}")


def _first_text(value: Any) -> str:
    return next(strings(value), "")


def build(directory: Path) -> Picture:
    drawing = _Drawing(Deployment(directory))
    drawing.traffic()
    drawing.replication()
    drawing.runbook()
    drawing.alerts()
    drawing.traces()
    return drawing.picture


def to_dot(picture: Picture) -> str:
    """Graphviz DOT, deterministic: Route 53 on top, a cluster per region (primary first), a legend."""
    lines = [
        "digraph incident {",
        '  graph [rankdir=TB, newrank=true, fontname="Helvetica", labelloc=t, label="trading-dr during an incident '
        '(generated by checks/incident.py from the rendered templates)"];',
        '  node [shape=box, style="rounded,filled", fillcolor=white, fontname="Helvetica", fontsize=10];',
        '  edge [fontname="Helvetica", fontsize=9];',
    ]
    regions = sorted(picture.roles, key=lambda region: (picture.roles[region] != PRIMARY, region))
    global_nodes = sorted(picture.nodes.get(None, {}).items())
    lines.append('  subgraph "cluster_route53" {')
    lines.append('    label="Route 53 (global) and on-call"; style=dashed;')
    lines += [f"    {quoted(node)} [label={quoted(label)}];" for node, label in global_nodes]
    lines.append("  }")
    for region in regions:
        role = picture.roles[region]
        lines.append(f"  subgraph {quoted('cluster_' + region)} {{")
        lines.append(f"    label={quoted(f'{region} ({role})')}; style=filled; fillcolor=gray95;")
        for node, label in sorted(picture.nodes.get(region, {}).items()):
            shape = ", shape=note" if label.startswith("runbook") else ""
            lines.append(f"    {quoted(node)} [label={quoted(label)}{shape}];")
        lines.append("  }")
    for source, target, kind, label in sorted(picture.edges):
        attributes = [STYLES[kind][0]] + ([f"label={quoted(label)}"] if label else [])
        lines.append(f"  {quoted(source)} -> {quoted(target)} [{', '.join(attributes)}];")
    # Layout only: what nothing points to in a region hangs below the records, not beside them.
    records = [node for node, _ in global_nodes if node.endswith("Record")]
    targets = {target for _, target, _, _ in picture.edges}
    for region in regions:
        for node in sorted(set(picture.nodes.get(region, {})) - targets):
            lines += [f"  {quoted(record)} -> {quoted(node)} [style=invis];" for record in records]
    lines.append('  subgraph "cluster_legend" {')
    lines.append('    label="legend"; style=dashed;')
    previous = None
    for kind, (attributes, text) in STYLES.items():
        lines.append(
            f'    "legend/{kind}" [label="", shape=point, width=0.05]; '
            f'"legend/{kind}/to" [label={quoted(text)}, shape=plaintext];'
        )
        lines.append(f'    "legend/{kind}" -> "legend/{kind}/to" [{attributes}];')
        if previous:  # one entry under the other
            lines.append(f'    "legend/{previous}/to" -> "legend/{kind}" [style=invis];')
        previous = kind
    lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"
