"""CloudFormation's hard limits, checked on the rendered templates before anything deploys.

Figures from the CloudFormation quotas page: a template body sent inline may be 51,200
bytes, one sent by S3 URL 1 MB; 500 resources; 60 dynamic references per template.
The deployer sends compact JSON, so that is the size measured.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

INLINE_BODY_BYTES = 51_200
URL_BODY_BYTES = 1_000_000
MAX_RESOURCES = 500
MAX_DYNAMIC_REFERENCES = 60

_DYNAMIC_REFERENCE = re.compile(r"\{\{resolve:")


@dataclass(frozen=True)
class TemplateSize:
    name: str
    compact_bytes: int
    resources: int
    dynamic_references: int

    @property
    def fits_inline(self) -> bool:
        return self.compact_bytes <= INLINE_BODY_BYTES

    def problems(self) -> list[str]:
        found = []
        if self.compact_bytes > URL_BODY_BYTES:
            found.append(f"{self.name}: {self.compact_bytes} bytes exceeds the {URL_BODY_BYTES}-byte limit for a template by URL")
        if self.resources > MAX_RESOURCES:
            found.append(f"{self.name}: {self.resources} resources exceeds the limit of {MAX_RESOURCES}")
        if self.dynamic_references > MAX_DYNAMIC_REFERENCES:
            found.append(
                f"{self.name}: {self.dynamic_references} dynamic references exceeds the limit of {MAX_DYNAMIC_REFERENCES}"
            )
        return found

    def summary(self) -> str:
        delivery = "fits inline" if self.fits_inline else f"over {INLINE_BODY_BYTES} bytes: deployed by S3 URL"
        return (
            f"{self.name}: {self.compact_bytes} bytes compact ({delivery}), "
            f"{self.resources}/{MAX_RESOURCES} resources, {self.dynamic_references}/{MAX_DYNAMIC_REFERENCES} dynamic references"
        )


def measure(path: Path) -> TemplateSize:
    document = json.loads(path.read_text(encoding="utf-8"))
    compact = json.dumps(document, separators=(",", ":"), sort_keys=True)
    return TemplateSize(
        name=path.name,
        compact_bytes=len(compact.encode("utf-8")),
        resources=len(document.get("Resources", {})),
        dynamic_references=len(_DYNAMIC_REFERENCE.findall(compact)),
    )
