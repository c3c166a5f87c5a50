"""What ``build.py deploy`` checks offline, before its first AWS call: every problem, one line each.

CloudFormation would reject a parameter outside its constraints only once the stack set
operation runs, after the bootstrap stack set exists and artifacts are uploaded; an
example domain or hosted zone would deploy and serve nothing. Both are visible in the
render, so deploy refuses them before it touches the account.
"""

from __future__ import annotations

import re
from typing import Any

from ops.errors import EXIT_BAD_INPUT, OpsError
from ops.rendered import Rendered, StackSetSpec


def _violation(name: str, value: str, spec: dict[str, Any]) -> str | None:
    """Why ``value`` breaks the parameter's constraints (as CloudFormation checks them), or None."""
    items = value.split(",") if spec.get("Type") == "CommaDelimitedList" else [value]
    pattern = spec.get("AllowedPattern")
    if pattern is not None and not all(re.fullmatch(pattern, item) for item in items):
        reason = f"does not match {pattern}"
    elif "AllowedValues" in spec and value not in [str(allowed) for allowed in spec["AllowedValues"]]:
        reason = f"is not one of {', '.join(str(allowed) for allowed in spec['AllowedValues'])}"
    elif not spec.get("MinLength", 0) <= len(value) <= spec.get("MaxLength", len(value)):
        reason = f"must be {spec.get('MinLength', 0)} to {spec.get('MaxLength', '')} characters long"
    elif spec.get("Type") == "Number" and not _within(value, spec):
        reason = f"must be a number from {spec.get('MinValue', '-inf')} to {spec.get('MaxValue', 'inf')}"
    else:
        return None
    hint = f" ({spec['ConstraintDescription']})" if spec.get("ConstraintDescription") else ""
    return f"{name} {value!r} {reason}{hint}"


def _within(value: str, spec: dict[str, Any]) -> bool:
    try:
        number = float(value)
    except ValueError:
        return False
    return spec.get("MinValue", number) <= number <= spec.get("MaxValue", number)


def _parameter_problems(rendered: Rendered, spec: StackSetSpec) -> list[str]:
    declared = rendered.template(spec).get("Parameters", {})
    problems = []
    for region in spec.regions:
        for name, value in sorted(rendered.parameters(spec, region).items()):
            violation = _violation(name, value, declared[name])
            if violation:
                problems.append(f"{spec.parameter_files[region]}: {violation}")
    return problems


def check_deployable(rendered: Rendered) -> None:
    """``OpsError`` (exit 2) listing every parameter outside its constraints and every
    configuration value left at its example; parameters filled from other stacks' outputs
    are known only at deploy time."""
    problems = [
        f"{field} is still the example {value!r}: set it in the configuration and re-render"
        for field, value in sorted(rendered.placeholders.items())
    ]
    for spec in rendered.stack_sets:
        if spec.has_parameters:
            problems += _parameter_problems(rendered, spec)
    if problems:
        raise OpsError(
            f"{rendered.directory} cannot be deployed ({len(problems)} problem(s)); nothing was sent to AWS",
            details=problems,
            exit_status=EXIT_BAD_INPUT,
        )
