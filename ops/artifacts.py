"""Uploads to the per-region artifact buckets: Lambda zips and templates too large to send inline.

Keys carry the content's SHA-256, so an object once uploaded never changes: an upload is
skipped when the key exists, and a second deploy uploads nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from checks.limits import INLINE_BODY_BYTES
from ops.aws import Aws
from ops.errors import EXIT_BAD_INPUT, OpsError, error_code

TEMPLATE_PREFIX = "templates"


def compact(template: dict[str, Any]) -> str:
    """The body as sent: compact JSON, sorted keys (what checks/limits.py measures)."""
    return json.dumps(template, separators=(",", ":"), sort_keys=True)


def check_built(build_dir: Path, keys: Iterable[str]) -> None:
    """Fail before anything is deployed when an object the templates refer to is not in the build folder."""
    missing = [key for key in keys if not (build_dir / key).is_file()]
    if missing:
        raise OpsError(
            f"{len(missing)} artifact(s) the templates refer to are not in {build_dir}; run 'make package'",
            details=missing,
            exit_status=EXIT_BAD_INPUT,
        )


def _exists(s3, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return True
    except ClientError as exc:
        if error_code(exc) in ("404", "NoSuchKey", "NotFound"):
            return False
        raise


def upload_artifacts(
    aws: Aws, buckets: Mapping[str, str], build_dir: Path, keys: Iterable[str], progress: Callable[[str], None]
) -> int:
    """Put each key's file into every region's bucket unless it is there already; how many were put."""
    uploaded = 0
    keys = list(keys)
    for region, bucket in buckets.items():
        s3 = aws.client("s3", region)
        for key in keys:
            if _exists(s3, bucket, key):
                continue
            s3.put_object(Bucket=bucket, Key=key, Body=(build_dir / key).read_bytes())
            progress(f"uploaded s3://{bucket}/{key}")
            uploaded += 1
    progress(f"artifacts: {uploaded} upload(s), {len(keys) * len(buckets) - uploaded} already in place")
    return uploaded


def inline(name: str, template: dict[str, Any]) -> dict[str, str]:
    """``TemplateBody``, for stack sets deployed before any artifact bucket exists."""
    body = compact(template)
    if len(body.encode("utf-8")) > INLINE_BODY_BYTES:
        raise OpsError(
            f"{name}: the template is {len(body.encode('utf-8'))} bytes, over the {INLINE_BODY_BYTES} CloudFormation "
            "accepts inline, and it deploys before the artifact bucket that could hold it exists"
        )
    return {"TemplateBody": body}


class TemplateStore:
    """Templates too large to send inline, kept in the administration region's artifact bucket."""

    def __init__(self, aws: Aws, bucket: str):
        self.s3 = aws.client("s3")
        self.bucket = bucket

    def location(self, name: str, template: dict[str, Any]) -> dict[str, str]:
        """``TemplateBody`` when it fits inline, else ``TemplateURL`` of an uploaded copy."""
        body = compact(template).encode("utf-8")
        if len(body) <= INLINE_BODY_BYTES:
            return {"TemplateBody": body.decode("utf-8")}
        key = f"{TEMPLATE_PREFIX}/{name}-{hashlib.sha256(body).hexdigest()}.json"
        if not _exists(self.s3, self.bucket, key):
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType="application/json")
        # Path style on the client's own endpoint: right for every partition.
        return {"TemplateURL": f"{self.s3.meta.endpoint_url}/{self.bucket}/{key}"}
