"""pydantic's validation errors as the configuration's one line: the field path and the rule.

pydantic reports every error with its location, type and context; a user of the TOML file
needs the first one, named as they wrote it (``alerts.endpoints[0].endpoint``), in words.
"""

from __future__ import annotations

import difflib
import typing
from typing import Any

from pydantic import BaseModel, ValidationError


class ConfigError(ValueError):
    """A configuration problem, naming the field and the rule it breaks."""

    def __init__(self, field_path: str, rule: str, details: tuple[str, ...] | list[str] = ()):
        super().__init__(f"{field_path}: {rule}")
        self.field_path = field_path
        self.rule = rule
        # Lines after the one naming the field (a missed objective's phase table).
        self.details = tuple(details)


class Rule:
    """Field metadata: what a value that misses the field's pattern or choices is not, in words."""

    def __init__(self, text: str):
        self.text = text


TYPE_NAMES = {
    "int_type": "an integer", "string_type": "a string", "bool_type": "true or false", "float_type": "a number",
    "model_type": "a table", "dict_type": "a table", "model_attributes_type": "a table",
    "tuple_type": "a list", "list_type": "a list",
}


def _path(loc: tuple) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _locate(model: type[BaseModel], loc: tuple) -> tuple[type[BaseModel] | None, Any]:
    """The model holding the field at ``loc`` and the field's ``FieldInfo`` (None where it ends)."""
    owner, info, current = model, None, model
    for part in loc:
        if isinstance(part, int):
            args = typing.get_args(info.annotation) if info else ()
            current = args[0] if args else None
            continue
        owner = _model_of(current)
        if owner is None or part not in owner.model_fields:
            return owner, None
        info = owner.model_fields[part]
        current = info.annotation
    return owner, info


def _metadata(info: Any, kind: type) -> Any:
    return next((item for item in (info.metadata if info else ()) if isinstance(item, kind)), None)


def _bounds(info: Any) -> dict[str, Any]:
    found = {}
    for item in info.metadata if info else ():
        for name in ("ge", "gt", "le", "lt", "max_length", "min_length"):
            if getattr(item, name, None) is not None:
                found[name] = getattr(item, name)
    return found


def _rule(error: dict, owner: type[BaseModel] | None, info: Any) -> str:
    kind, value = error["type"], error.get("input")
    rule = _metadata(info, Rule)
    if kind == "missing":
        required = [name for name, field in owner.model_fields.items() if field.is_required()] if owner else []
        return f"missing: this table needs {' and '.join(required)}"
    if kind == "literal_error":
        choices = ", ".join(repr(choice) for choice in typing.get_args(info.annotation)) if info else error["ctx"]["expected"]
        return f"must be one of {choices}, not {value!r}" + (f" ({rule.text})" if rule else "")
    if kind in TYPE_NAMES:
        shown = type(value).__name__ if isinstance(value, (dict, list)) else f"{type(value).__name__} {value!r}"
        return f"must be {TYPE_NAMES[kind]}, not {shown}"
    if kind == "string_pattern_mismatch":
        return f"{value!r} " + (rule.text if rule else f"does not match {error['ctx']['pattern']}")
    if kind in ("string_too_long", "string_too_short"):
        bounds = _bounds(info)
        return f"{value!r} must be {bounds.get('min_length', 0)} to {bounds.get('max_length')} characters long"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        bounds = _bounds(info)
        low = f"{bounds['ge']}" if "ge" in bounds else f"above {bounds['gt']}" if "gt" in bounds else None
        high = f"{bounds['le']}" if "le" in bounds else f"below {bounds['lt']}" if "lt" in bounds else None
        if low and high:
            return f"must be from {low} to {high}, not {value!r}"
        return f"must be {'at least ' + low if low else 'at most ' + high}, not {value!r}"
    return error["msg"]


def from_validation_error(exc: ValidationError, model: type[BaseModel]) -> ConfigError:
    """The first error (an unknown key first, as a typo explains what follows) as one ``ConfigError``."""
    errors = exc.errors()
    error = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = error["loc"]
    path = _path(loc)
    raised = error.get("ctx", {}).get("error")
    if isinstance(raised, ConfigError):
        # A validator's own rule, its field named relative to its model.
        return ConfigError(".".join(part for part in (path, raised.field_path) if part).replace(".[", "["),
                           raised.rule, raised.details)
    if error["type"] == "extra_forbidden":
        owner, _ = _locate(model, loc[:-1] + ("",))
        known = list(owner.model_fields) if owner else []
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else f" (known: {', '.join(known)})"
        return ConfigError(path, "unknown key" + hint)
    owner, info = _locate(model, loc)
    return ConfigError(path, _rule(error, owner, info))
