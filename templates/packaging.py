"""Deterministic Lambda zips, keyed by the SHA-256 of their bytes.

The key goes into the rendered template and the zip into the ignored build folder, so
the same source must give the same bytes on every machine, or CI's freshness check
would fail for nothing. Hence: entries sorted, timestamps fixed at 1980-01-01 (the
earliest a zip can hold), mode 0o644, files only (no directory entries), and no
compression: deflate's output depends on the zlib build (zlib-ng differs from zlib),
and a function's few kilobytes gain nothing from it.
"""

from __future__ import annotations

import hashlib
import io
import stat
import zipfile
from pathlib import Path

KEY_PREFIX = "lambdas"
FIXED_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o644
UNIX = 3  # zip "made by" system: makes unzip honour the mode bits
# Byproducts of running or testing the code, which vary between machines.
EXCLUDED_DIRECTORIES = {"__pycache__", ".pytest_cache"}
EXCLUDED_SUFFIXES = {".pyc", ".pyo"}


class PackagingError(ValueError):
    """A function directory that cannot be packaged; the message names it."""


def s3_key(name: str, sha256: str) -> str:
    """Where the zip lives in each region's artifact bucket: a new hash is a new object."""
    return f"{KEY_PREFIX}/{name}-{sha256}.zip"


def _source_files(source_dir: Path) -> list[Path]:
    return sorted(
        (
            path
            for path in source_dir.rglob("*")
            if path.is_file()
            and path.suffix not in EXCLUDED_SUFFIXES
            and not EXCLUDED_DIRECTORIES.intersection(path.relative_to(source_dir).parts)
        ),
        key=lambda path: path.relative_to(source_dir).as_posix(),
    )


def package(source_dir: Path) -> tuple[bytes, str]:
    """The zip of ``source_dir``'s files (paths relative to it) and the SHA-256 of the zip."""
    if not source_dir.is_dir():
        raise PackagingError(f"{source_dir}: not a directory")
    files = _source_files(source_dir)
    if not files:
        raise PackagingError(f"{source_dir}: no files to package")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for path in files:
            entry = zipfile.ZipInfo(path.relative_to(source_dir).as_posix(), date_time=FIXED_TIMESTAMP)
            entry.create_system = UNIX
            entry.external_attr = (stat.S_IFREG | FILE_MODE) << 16
            archive.writestr(entry, path.read_bytes())
    content = buffer.getvalue()
    return content, hashlib.sha256(content).hexdigest()
