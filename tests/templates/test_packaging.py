"""Deterministic Lambda zips: the same source gives the same bytes, hence the same key, anywhere."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import zipfile

import pytest

from templates.packaging import FIXED_TIMESTAMP, PackagingError, package, s3_key

FILES = {"handler.py": "def handle(event, context):\n    return 1\n", "shared/helpers.py": "VALUE = 2\n"}


def _write(directory, files, mode=0o644, mtime=None):
    for relative, text in files.items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(mode)
        if mtime is not None:
            os.utime(path, (mtime, mtime))
    return directory


def test_same_source_same_bytes_whatever_the_timestamps_permissions_and_creation_order(tmp_path):
    first = _write(tmp_path / "a" / "fn", FILES, mode=0o600, mtime=1_000_000_000)
    second = _write(tmp_path / "b" / "fn", dict(reversed(list(FILES.items()))), mode=0o755, mtime=1_700_000_000)

    assert package(first) == package(second)


def test_entries_are_sorted_files_only_with_fixed_time_and_mode_and_byproducts_left_out(tmp_path):
    source = _write(tmp_path / "fn", {**FILES, "__pycache__/handler.cpython-311.pyc": "x", "old.pyc": "x"})

    content, sha256 = package(source)

    entries = zipfile.ZipFile(io.BytesIO(content)).infolist()
    assert [entry.filename for entry in entries] == ["handler.py", "shared/helpers.py"]
    for entry in entries:
        assert entry.date_time == FIXED_TIMESTAMP
        assert stat.S_IMODE(entry.external_attr >> 16) == 0o644 and stat.S_ISREG(entry.external_attr >> 16)
        assert entry.compress_type == zipfile.ZIP_STORED
    assert sha256 == hashlib.sha256(content).hexdigest()
    assert {e.filename: zipfile.ZipFile(io.BytesIO(content)).read(e).decode() for e in entries} == FILES


def test_a_changed_source_gets_a_new_key(tmp_path):
    source = _write(tmp_path / "fn", FILES)
    _, before = package(source)
    (source / "handler.py").write_text("def handle(event, context):\n    return 2\n")
    _, after = package(source)

    assert before != after
    assert s3_key("fn", after) == f"lambdas/fn-{after}.zip"


@pytest.mark.parametrize("make", [lambda tmp: tmp / "missing", lambda tmp: (tmp / "empty").mkdir() or tmp / "empty"])
def test_nothing_to_package_is_one_clear_error(tmp_path, make):
    source = make(tmp_path)

    with pytest.raises(PackagingError, match=f"^{source}: (not a directory|no files to package)$"):
        package(source)
