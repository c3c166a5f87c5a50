"""Installing cfn-guard and its rules from the pinned npm tarball: checked, offline once kept, one-line refusals."""

from __future__ import annotations

import importlib.util
import io
import tarfile
from pathlib import Path


SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "install_cfn_guard.py"
spec = importlib.util.spec_from_file_location("install_cfn_guard", SCRIPT)
installer = importlib.util.module_from_spec(spec)
spec.loader.exec_module(installer)


def _tarball(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return path


def _package(tmp_path: Path) -> Path:
    binary = installer.BINARIES[(installer.platform.system(), installer.platform.machine())]
    return _tarball(
        tmp_path / "given.tgz",
        {binary: b"#!/bin/sh\n", "package/rules/control-tower/cfn-guard/s3/rule.guard": b"rule x {}", "package/lib/x.js": b""},
    )


def test_a_tarball_that_is_not_the_pinned_one_is_refused_and_not_kept(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(installer, "TARGET", tmp_path / ".cfn-guard")
    assert installer.main([str(_package(tmp_path))]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "not the pinned" in err and len(err.splitlines()) == 1
    assert not (tmp_path / ".cfn-guard" / installer.TARBALL).exists()
    assert not (tmp_path / ".cfn-guard" / "bin").exists()


def test_the_pinned_tarball_unpacks_the_binary_and_only_the_rules(tmp_path, monkeypatch):
    given = _package(tmp_path)
    monkeypatch.setattr(installer, "SHA256", installer.hashlib.sha256(given.read_bytes()).hexdigest())
    binary = installer.install(tmp_path / ".cfn-guard", given)
    assert binary == tmp_path / ".cfn-guard" / "bin" / "cfn-guard" and binary.stat().st_mode & 0o111
    assert (tmp_path / ".cfn-guard" / "rules" / "control-tower" / "cfn-guard" / "s3" / "rule.guard").is_file()
    assert not (tmp_path / ".cfn-guard" / "lib").exists()
    given.unlink()
    assert installer.install(tmp_path / ".cfn-guard") == binary, "the kept tarball installs again without network"


def test_a_missing_tarball_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(installer, "TARGET", tmp_path / ".cfn-guard")
    assert installer.main([str(tmp_path / "missing.tgz")]) == 2
    assert capsys.readouterr().err == f"error: {tmp_path / 'missing.tgz'} is not a file\n"
