"""Deletion protection that lets a failed first create roll back.

The RDS provider does not lift a cluster's deletion protection when CloudFormation deletes
it, so a regional stack whose first create fails after the clusters exist cannot roll back:
it ends ``ROLLBACK_FAILED``, which StackSets cannot update, and a retry fails on names that
already exist. So the protection the configuration asks for is a parameter: the regional
stack set's first create of an instance sets it ``false`` (the manifest's
``first_create_parameters``), and ``deploy`` sets it to the parameter file's ``true`` as soon
as that instance is ``CURRENT``. A stack that has ever served traffic is protected; one that
never finished creating is not.
"""

from __future__ import annotations

from troposphere import Parameter, Ref, Template

from templates.config import Config

PARAMETER = "DeletionProtection"


def _wanted(cfg: Config) -> bool:
    return cfg.database.deletion_protection or cfg.app.load_balancer_deletion_protection


def add_parameter(t: Template, cfg: Config) -> None:
    if _wanted(cfg):
        t.add_parameter(
            Parameter(
                PARAMETER,
                Type="String",
                AllowedValues=["true", "false"],
                Description="Deletion protection of the clusters and the load balancer: false only while a "
                "stack instance is first created (build.py deploy turns it on once the instance is CURRENT)",
            )
        )


def protected(configured: bool):
    """The value for a deletion-protection property the configuration turns on (``configured``)."""
    return Ref(PARAMETER) if configured else "false"


def region_parameters(cfg: Config, region: str) -> dict[str, str]:
    """The steady state, in every region: protected as configured."""
    return {PARAMETER: "true"} if _wanted(cfg) else {}


def first_create_parameters(cfg: Config) -> dict[str, str]:
    """What a stack instance's first create uses instead of the parameter file's values."""
    return {PARAMETER: "false"} if _wanted(cfg) else {}


# Deletion protection is this parameter: off only during a stack instance's first create, so a
# failed create can roll back; deploy turns it on as soon as the instance is CURRENT.
FIRST_CREATE_REASON = (
    "deletion protection is the DeletionProtection parameter: false only during a stack instance's first "
    "create (so a failed create can roll back), true from then on (deploy applies it once the instance is CURRENT)"
)
