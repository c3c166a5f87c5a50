"""What ``dr_templates/`` holds, read and checked before anything is sent to AWS.

The manifest lists the stack sets in deployment order; each stack instance's parameters
must be complete (every parameter its template declares, from its file or from another
stack's output), because stack set ``ParameterOverrides`` replace values, and a value
missing for one region would silently fall back to the other region's.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ops.errors import EXIT_BAD_INPUT, OpsError
from templates.layout import MANIFEST

RERENDER = "re-render with 'make templates'"


@dataclass(frozen=True)
class OutputSource:
    """A parameter valued by an output of another stack set's instance."""

    stack_set: str
    region: str
    output: str


@dataclass(frozen=True)
class StackSetSpec:
    name: str
    template: str
    regions: tuple[str, ...]
    capabilities: tuple[str, ...]
    # Region -> parameter file; None for a template without parameters.
    parameter_files: Mapping[str, str] | None
    parameters_from_outputs: Mapping[str, OutputSource] = field(default_factory=dict)
    # Values a stack instance's first create uses instead of its file's (deletion protection off,
    # so a failed create can roll back); deploy applies the file's once the instance is CURRENT.
    first_create_parameters: Mapping[str, str] = field(default_factory=dict)

    @property
    def has_parameters(self) -> bool:
        return self.parameter_files is not None


@dataclass(frozen=True)
class RoleSpec:
    name: str
    template: str
    stack_name: str


@dataclass(frozen=True)
class StackSetRoles:
    administration_region: str
    administration: RoleSpec
    execution: RoleSpec


@dataclass(frozen=True)
class Artifacts:
    """Objects every region's artifact bucket must hold, from ``build_dir``; the buckets are
    named by ``bucket_pattern`` and created by the stack set ``created_by``."""

    bucket_pattern: str
    build_dir: Path
    objects: tuple[str, ...]
    created_by: str

    def bucket(self, account: str, region: str) -> str:
        return self.bucket_pattern.replace("${AWS::AccountId}", account).replace("${AWS::Region}", region)


@dataclass(frozen=True)
class Rendered:
    directory: Path
    stack_sets: tuple[StackSetSpec, ...]
    operation_preferences: Mapping[str, Any]
    roles: StackSetRoles
    artifacts: Artifacts
    # Configuration values left at their examples (field -> value): fine to lint, not to deploy.
    placeholders: Mapping[str, str] = field(default_factory=dict)

    @property
    def regions(self) -> tuple[str, ...]:
        """Every region a stack set of this render deploys to, in manifest order."""
        return tuple(dict.fromkeys(region for spec in self.stack_sets for region in spec.regions))

    def template(self, spec: StackSetSpec) -> dict[str, Any]:
        return _read_json(self.directory / spec.template)

    def parameters(self, spec: StackSetSpec, region: str) -> dict[str, str]:
        """The values from the region's parameter file (outputs are added at deploy time)."""
        if not spec.has_parameters:
            return {}
        entries = _read_json(self.directory / spec.parameter_files[region])
        return {entry["ParameterKey"]: entry["ParameterValue"] for entry in entries}

    def preferences(self, regions: list[str]) -> dict[str, Any]:
        """The manifest's operation preferences for an operation on ``regions`` (in that order)."""
        return {**self.operation_preferences, "RegionOrder": list(regions)}


def physical_name(value: Any, region: str, account: str, partition: str) -> str | None:
    """A name property as the template spells it (a string or ``Fn::Sub`` on pseudo-parameters),
    for ``region``; None when it depends on anything else (names here are deterministic)."""
    pattern = value.get("Fn::Sub") if isinstance(value, dict) else value
    if not isinstance(pattern, str):
        return None
    name = pattern.replace("${AWS::Region}", region).replace("${AWS::AccountId}", account).replace("${AWS::Partition}", partition)
    return None if "${" in name else name


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise OpsError(f"{path} is missing; {RERENDER}", exit_status=EXIT_BAD_INPUT) from None
    except (OSError, ValueError) as exc:
        raise OpsError(f"{path} cannot be read: {exc}", exit_status=EXIT_BAD_INPUT) from None


def _stack_set(entry: dict[str, Any]) -> StackSetSpec:
    return StackSetSpec(
        name=entry["name"],
        template=entry["template"],
        regions=tuple(entry["regions"]),
        capabilities=tuple(entry["capabilities"]),
        parameter_files=entry["parameters"],
        parameters_from_outputs={
            key: OutputSource(source["stack_set"], source["region"], source["output"])
            for key, source in entry.get("parameters_from_outputs", {}).items()
        },
        first_create_parameters=entry.get("first_create_parameters") or {},
    )


def _role(entry: dict[str, Any]) -> RoleSpec:
    return RoleSpec(
        name=entry["role_name"],
        template=entry["template"],
        stack_name=entry["stack_name"],
    )


def load(directory: Path) -> Rendered:
    """Read and check ``directory``; ``OpsError`` (exit 2) names the first problem."""
    manifest = _read_json(directory / MANIFEST)
    try:
        stack_sets = tuple(_stack_set(entry) for entry in manifest["stack_sets"])
        rendered = Rendered(
            directory=directory,
            stack_sets=stack_sets,
            operation_preferences=manifest["operation_preferences"],
            roles=StackSetRoles(
                administration_region=manifest["stackset_roles"]["administration_region"],
                administration=_role(manifest["stackset_roles"]["administration"]),
                execution=_role(manifest["stackset_roles"]["execution"]),
            ),
            placeholders=manifest["placeholders"],
            artifacts=Artifacts(
                bucket_pattern=manifest["artifacts"]["bucket"],
                # Relative to the output folder's parent (build/ beside dr_templates/).
                build_dir=directory.resolve().parent / manifest["artifacts"]["build_dir"],
                objects=tuple(manifest["artifacts"]["objects"]),
                created_by=_bucket_creator(directory, stack_sets, manifest["artifacts"]["bucket"]),
            ),
        )
    except KeyError as exc:
        raise OpsError(f"{directory / MANIFEST} lacks the key {exc}; {RERENDER}", exit_status=EXIT_BAD_INPUT) from None
    except TypeError as exc:
        raise OpsError(
            f"{directory / MANIFEST} has an unexpected shape ({exc}); {RERENDER}", exit_status=EXIT_BAD_INPUT
        ) from None
    for spec in rendered.stack_sets:
        _check_parameters_complete(rendered, spec)
    return rendered


def check_rendered_for(directory: Path, identity: Mapping[str, str], source: str) -> None:
    """Refuse (``OpsError``, exit 2) a render of other regions or names than ``identity``
    (``templates.render.configuration_identity`` of the configuration ``source`` names)."""
    rendered_for = _read_json(directory / MANIFEST).get("configuration")
    if rendered_for is None:
        raise OpsError(
            f"{directory / MANIFEST} does not say what it was rendered for; {RERENDER}", exit_status=EXIT_BAD_INPUT
        )
    differences = [
        f"{key} {rendered_for.get(key)} (the configuration: {value})"
        for key, value in identity.items()
        if rendered_for.get(key) != value
    ]
    if differences:
        raise OpsError(
            f"{directory} was rendered for another configuration than {source}: {'; '.join(differences)}; "
            "pass the --config it was rendered from, or --out a render of this one",
            exit_status=EXIT_BAD_INPUT,
        )


def _bucket_creator(directory: Path, stack_sets: tuple[StackSetSpec, ...], bucket_pattern: str) -> str:
    """The stack set whose template declares the artifact bucket: uploads follow it."""
    for spec in stack_sets:
        for resource in _read_json(directory / spec.template).get("Resources", {}).values():
            if resource.get("Type") == "AWS::S3::Bucket" and resource.get("Properties", {}).get("BucketName") in (
                bucket_pattern,
                {"Fn::Sub": bucket_pattern},
            ):
                return spec.name
    raise OpsError(
        f"no template in {directory} creates the artifact bucket {bucket_pattern}; {RERENDER}",
        exit_status=EXIT_BAD_INPUT,
    )


def _check_parameters_complete(rendered: Rendered, spec: StackSetSpec) -> None:
    declared = set(rendered.template(spec).get("Parameters", {}))
    for region in spec.regions:
        if spec.has_parameters and region not in spec.parameter_files:
            raise OpsError(
                f"{MANIFEST}: {spec.name} has no parameter file for {region}; {RERENDER}", exit_status=EXIT_BAD_INPUT
            )
        given = set(rendered.parameters(spec, region)) | set(spec.parameters_from_outputs)
        if given != declared:
            where = spec.parameter_files[region] if spec.has_parameters else MANIFEST
            problems = [f"missing {', '.join(sorted(declared - given))}"] if declared - given else []
            problems += [f"not in {spec.template}: {', '.join(sorted(given - declared))}"] if given - declared else []
            raise OpsError(
                f"{where} does not match {spec.template} for {region} ({'; '.join(problems)}); {RERENDER}",
                exit_status=EXIT_BAD_INPUT,
            )
