"""What the drill's fakes of AWS APIs share: requests read back from the wire and validated
against botocore's input shape, results validated against the output shape and written
with moto's shape-driven serializer in the service's own protocol, so botocore parses a
fake's answer exactly as it parses AWS's. A call a fake does not model is an error, never
a guess.
"""

from __future__ import annotations

import json
import re
import warnings
from xml.etree import ElementTree
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import botocore.session
from botocore.awsrequest import AWSResponse
from botocore.validate import validate_parameters
from moto.core.model import ServiceModel
from moto.core.serialize import get_serializer_class

from checks.drill.network import ANSWERED, Network, RawBody, answered

_SESSION = botocore.session.get_session()


class FakeModelGap(Exception):
    """The runbook called something a fake does not model: the drill must not guess."""


class ServiceFault(Exception):
    """An error the fake answers with, as AWS would (``code`` is the model's error code)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


class ModelledFake:
    """Answers ``operations`` of ``service`` at botocore's ``before-send``; each operation is
    ``(region, params) -> result``. The service's other operations are a ``FakeModelGap``, or
    moto's to answer with ``others_to_moto`` (where moto models the service, as Step Functions)."""

    def __init__(self, service: str, network: Network, operations: dict[str, Callable[[str, dict], dict]], others_to_moto: bool = False):
        self.service, self.network, self.operations, self.others_to_moto = service, network, operations, others_to_moto
        self._botocore = _SESSION.get_service_model(service)
        self._moto = ServiceModel(self._botocore._service_description)
        protocol = self._botocore.resolved_protocol
        self._serializer = get_serializer_class(service, protocol)
        self._read = {"query": _read_query, "json": _read_json}.get(protocol, _read_rest)

    def register(self, events) -> None:
        events.register_first("before-send", self.handle, unique_id=f"drill-{self.service}")

    def handle(self, request, event_name: str, **_):
        """On the generic ``before-send``, registered after the network's faults: botocore calls a
        more specific event's handlers first, so a fake on ``before-send.SERVICE`` would apply a
        write (and answer it) before a fault could refuse the request."""
        _, service, operation_name = event_name.split(".", 2)
        if service != self._botocore.service_id.hyphenize() or getattr(request, ANSWERED, False):
            return None  # another service's, or a fault answered it: AWS never saw it
        if operation_name not in self.operations:
            if self.others_to_moto:
                return None
            raise FakeModelGap(f"the drill's fake does not model {self.service}:{operation_name}")
        operation = self._botocore.operation_model(operation_name)
        params = self._read(request, operation)
        validate_parameters(params, operation.input_shape)
        answered(request)
        serializer = self._serializer(self._moto.operation_model(operation_name))
        try:
            result = self.operations[operation_name](self.network.region_of(request.url), params)
        except ServiceFault as fault:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the fault codes are in the model, the class is not
                response = serializer.serialize(fault)
        else:
            validate_parameters(result, operation.output_shape)
            response = serializer.serialize(result)
        body = response["body"]
        return AWSResponse(request.url, response["status_code"], response["headers"], RawBody(body.encode() if isinstance(body, str) else body))


def _read_query(request, operation) -> dict:
    """Query protocol: form fields back to the input shape's (flat) types."""
    body = request.body.decode() if isinstance(request.body, bytes) else request.body or ""
    fields = {key: values[0] for key, values in parse_qs(body).items() if key not in ("Action", "Version")}
    return {name: _typed(operation.input_shape, name, value) for name, value in fields.items()}


def _read_json(request, operation) -> dict:
    """JSON protocols: the body is the input shape's members (the operation is in X-Amz-Target)."""
    body = request.body.decode() if isinstance(request.body, bytes) else request.body or "{}"
    return json.loads(body or "{}")


def _read_rest(request, operation) -> dict:
    """REST protocols: members bound to the URI path and query string (all the fakes need)."""
    template = operation.http["requestUri"].split("?")[0]
    pattern = "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template) + "$"
    url = urlsplit(request.url)
    match = re.match(pattern, url.path)
    if match is None:
        raise FakeModelGap(f"{request.url} does not match {template}")
    shape = operation.input_shape
    by_wire_name = {m.serialization.get("name", name): name for name, m in shape.members.items() if m.serialization.get("location") == "querystring"}
    query = {}
    for key, values in parse_qs(url.query).items():
        if key not in by_wire_name:
            raise FakeModelGap(f"{operation.name} has no query member {key}")
        query[by_wire_name[key]] = values[0]
    fields = {**match.groupdict(), **query}
    return {**{name: _typed(shape, name, value) for name, value in fields.items()}, **_read_xml_body(request, shape)}


def _read_xml_body(request, shape) -> dict:
    """rest-xml: the body's top-level string members and lists of strings (all the fakes need)."""
    body = request.body.decode() if isinstance(request.body, bytes) else request.body or ""
    if not body.strip():
        return {}
    root = ElementTree.fromstring(body)
    found = {}
    for child in root:
        name = child.tag.rsplit("}", 1)[-1]
        member = shape.members.get(name)
        if member is None:
            raise FakeModelGap(f"{shape.name} has no member {name}")
        if member.type_name == "list" and member.member.type_name == "string":
            found[name] = [item.text or "" for item in child]
        elif member.type_name == "string":
            found[name] = child.text or ""
        else:
            raise FakeModelGap(f"the drill's fakes read no {member.type_name} body field ({shape.name}.{name})")
    return found


def _typed(shape, name: str, value: str):
    if name not in shape.members:
        raise FakeModelGap(f"{shape.name} has no member {name}")
    kind = shape.members[name].type_name
    if kind == "boolean":
        return value == "true"
    if kind == "string":
        return value
    if kind == "integer":
        return int(value)
    raise FakeModelGap(f"the drill's fakes read no {kind} field ({shape.name}.{name})")
