"""Resolving the rendered templates per region, offline: see ``checks/resolved.py``."""

from __future__ import annotations

from checks.resolved import certificate_arn, data_key_arn, resolve, resources_of_type  # noqa: F401
