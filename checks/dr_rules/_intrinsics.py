"""Reading template values through intrinsic functions, shared by the DR rules.

A name or an ARN may be spelled as a literal, an ``Fn::Sub`` (string or list form), an
``Fn::Join`` or a mix, and may sit in an ``Fn::If`` branch. The rules judge the text
CloudFormation will build, so they read values through these helpers, which never raise
on malformed input (cfn-lint's own rules report that).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cfnlint.rules import RuleMatch

Location = tuple[str | int, ...]  # keys and list indexes from the template's root

# What ``render`` writes for a part whose value is only known at deploy time.
UNKNOWN = "${?}"
# One ":"-separated field of an ARN, where "${AWS::Partition}" and friends count as one token.
ARN_FIELD = r"(?:\$\{[^}]*\}|[^:$]|\$(?!\{))*"

_NO_VALUE = {"Ref": "AWS::NoValue"}
_ABSENT = object()  # what an AWS::NoValue resolves to
_SUB_REFERENCE = re.compile(r"\$\{([^!}][^}]*)\}")


def render(value: Any, path: Location = (), unknown: list[tuple[Location, Any]] | None = None) -> str:
    """``value`` as the ``Fn::Sub`` pattern of the text it becomes.

    Literal parts stay in place (a Sub's literal variables included), ``Ref`` and
    ``Fn::GetAtt`` become ``${Name}`` / ``${Name.Attr}``, and anything else (``Fn::If``,
    ``Fn::ImportValue``, ...) becomes ``UNKNOWN``; those parts are appended to ``unknown``
    with their paths, so a caller can look inside them.
    """
    text = _read(value, path, unknown)
    if text is None:
        if unknown is not None:
            unknown.append((path, value))
        return UNKNOWN
    return text


def _read(value: Any, path: Location, unknown: list | None) -> str | None:
    if isinstance(value, str):
        return value
    if not (isinstance(value, dict) and len(value) == 1):
        return None
    ((function, argument),) = value.items()
    if function == "Ref" and isinstance(argument, str):
        return f"${{{argument}}}"
    if function == "Fn::GetAtt":
        if isinstance(argument, list) and all(isinstance(part, str) for part in argument):
            argument = ".".join(argument)
        return f"${{{argument}}}" if isinstance(argument, str) else None
    if function == "Fn::Sub":
        if isinstance(argument, str):
            return argument
        if (
            isinstance(argument, list)
            and len(argument) == 2
            and isinstance(argument[0], str)
            and isinstance(argument[1], dict)
        ):
            pattern, variables = argument

            def substitute(reference: re.Match) -> str:
                name = reference[1]
                if name not in variables:
                    return reference[0]
                return render(variables[name], (*path, function, 1, name), unknown)

            return _SUB_REFERENCE.sub(substitute, pattern)
        return None
    if function == "Fn::Join":
        if isinstance(argument, list) and len(argument) == 2 and isinstance(argument[0], str):
            delimiter, items = argument
            if isinstance(items, list):
                return delimiter.join(
                    render(item, (*path, function, 1, index), unknown) for index, item in enumerate(items)
                )
    return None


def texts(node: Any, path: Location = ()) -> Iterator[tuple[Location, str]]:
    """Every text of ``node`` with its path: literal strings, and each Sub or Join as one rendered text.

    A Sub or Join is not split into its literal pieces (``"arn:aws:"`` can be built from
    several); parts it cannot render are walked in their turn.
    """
    unknown: list[tuple[Location, Any]] = []
    text = _read(node, path, unknown)
    if text is not None:
        yield path, text
        for part_path, part in unknown:
            yield from texts(part, part_path)
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from texts(value, (*path, key))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from texts(item, (*path, index))


def branches(value: Any, path: Location) -> Iterator[tuple[Location, Any]]:
    """Each value ``value`` can take through ``Fn::If``, with its path; ``AWS::NoValue`` yields nothing."""
    if value == _NO_VALUE:
        return
    arguments = value.get("Fn::If") if isinstance(value, dict) and len(value) == 1 else None
    if isinstance(arguments, list) and len(arguments) == 3:
        for index in (1, 2):
            yield from branches(arguments[index], (*path, "Fn::If", index))
    else:
        yield path, value


def elements(value: Any, path: Location) -> Iterator[tuple[Location, Any]]:
    """Each item a list-valued property can hold (a single value counts as one item)."""
    for branch_path, branch in branches(value, path):
        if isinstance(branch, list):
            for index, item in enumerate(branch):
                yield from branches(item, (*branch_path, index))
        else:
            yield branch_path, branch


def variants(cfn, obj: Any, names: Iterable[str], condition: Any = None) -> Iterator[tuple[dict[str, bool], dict]]:
    """Each way the ``names`` of ``obj`` can resolve together, as (conditions, resolved values).

    Unlike ``branches``, this keeps ``Fn::If``s on the same (or related) conditions in step:
    cfn-lint's solver yields only the combinations that can happen, given the object's
    resource ``condition`` too. Properties that resolve to ``AWS::NoValue`` are absent.
    """
    chosen = {name: obj[name] for name in names if isinstance(obj, dict) and name in obj}
    wanted = {name: {True, False} for name in _if_conditions(chosen)}
    if isinstance(condition, str):
        wanted[condition] = {True}
    for scenario in cfn.conditions.build_scenarios(wanted) if wanted else [{}]:
        resolved = {name: _resolve(value, scenario) for name, value in chosen.items()}
        yield scenario, {name: value for name, value in resolved.items() if value is not _ABSENT}


def _resolve(value: Any, scenario: dict[str, bool]) -> Any:
    if value == _NO_VALUE:
        return _ABSENT
    if isinstance(value, dict):
        arguments = value.get("Fn::If") if len(value) == 1 else None
        if (
            isinstance(arguments, list)
            and len(arguments) == 3
            and isinstance(arguments[0], str)
            and arguments[0] in scenario
        ):
            return _resolve(arguments[1] if scenario[arguments[0]] else arguments[2], scenario)
        resolved = {key: _resolve(item, scenario) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not _ABSENT}
    if isinstance(value, list):
        return [item for item in (_resolve(item, scenario) for item in value) if item is not _ABSENT]
    return value


def _if_conditions(value: Any) -> set[str]:
    if isinstance(value, dict):
        found = set().union(*(_if_conditions(item) for item in value.values()))
        arguments = value.get("Fn::If")
        if isinstance(arguments, list) and arguments and isinstance(arguments[0], str):
            found.add(arguments[0])
        return found
    if isinstance(value, list):
        return set().union(*(_if_conditions(item) for item in value))
    return set()


def resources(cfn, *types: str) -> Iterator[tuple[str, dict, dict]]:
    """(logical id, resource, properties) of every resource of ``types``; properties may be empty."""
    for name, resource in cfn.get_resources(list(types)).items():
        properties = resource.get("Properties")
        yield name, resource, properties if isinstance(properties, dict) else {}


def when(scenario: dict[str, bool]) -> str:
    """The conditions of a ``variants`` scenario, for a message: " (when IsPrimary is false)"."""
    described = " and ".join(f"{name} is {str(value).lower()}" for name, value in sorted(scenario.items()))
    return f" (when {described})" if described else ""


def properties_path(name: str, *rest: str | int) -> Location:
    return ("Resources", name, "Properties", *rest)


def finding(path: Location, message: str) -> RuleMatch:
    from cfnlint.rules import RuleMatch  # here: the IAM proof reads this module without cfn-lint

    return RuleMatch(list(path), message)
