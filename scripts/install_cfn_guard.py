#!/usr/bin/env python3
"""Install cfn-guard and AWS Control Tower's Guard rules into ``.cfn-guard/`` (``make security``).

Both come from one pinned npm package, ``@cdklabs/cdk-validator-cfnguard`` (``VERSION``),
whose tarball carries the cfn-guard binary per platform and the rule packs. The tarball is
checked against ``SHA256`` and kept in ``.cfn-guard/``, so a second install, or one on a
machine without network, needs nothing else: copy the tarball there (or pass its path as
the argument) and run ``make security``. Without it, ``npm pack`` fetches it (npm's cache
first). Nothing here is committed: ``.cfn-guard/`` is ignored.

Exit status: 0 installed, 2 cannot (no tarball and no npm, a checksum mismatch, a platform
the package has no binary for), each as one line on stderr.
"""

from __future__ import annotations

import hashlib
import platform
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / ".cfn-guard"
PACKAGE = "@cdklabs/cdk-validator-cfnguard"
VERSION = "0.0.62"
TARBALL = f"cdklabs-cdk-validator-cfnguard-{VERSION}.tgz"
SHA256 = "660c14562d4c79d524d0623d80d494e41797acae9da23ecb10915d7f66ada80c"
# The package's binaries, by (system, machine) as Python names them.
BINARIES = {
    ("Linux", "x86_64"): "package/bin/ubuntu/x86_64/cfn-guard",
    ("Linux", "aarch64"): "package/bin/ubuntu/aarch64/cfn-guard",
    ("Darwin", "x86_64"): "package/bin/macos/x86_64/cfn-guard",
    ("Darwin", "arm64"): "package/bin/macos/aarch64/cfn-guard",
}
RULES = "package/rules/"


class InstallError(Exception):
    """One line saying why cfn-guard cannot be installed."""


def tarball(target: Path, given: Path | None) -> Path:
    """The package's tarball in ``target``: kept from before, copied from ``given``, or packed by npm."""
    kept = target / TARBALL
    if given:
        if not given.is_file():
            raise InstallError(f"{given} is not a file")
        shutil.copyfile(given, kept)
    elif not kept.is_file():
        if not shutil.which("npm"):
            raise InstallError(f"no {TARBALL} in {target} and no npm to fetch {PACKAGE}@{VERSION}: copy the tarball there")
        done = subprocess.run(
            ["npm", "pack", f"{PACKAGE}@{VERSION}", "--prefer-offline", "--pack-destination", str(target)],
            capture_output=True, text=True, check=False,
        )
        if done.returncode or not kept.is_file():
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise InstallError(f"npm pack {PACKAGE}@{VERSION} failed: {last}")
    digest = hashlib.sha256(kept.read_bytes()).hexdigest()
    if digest != SHA256:
        kept.unlink()
        raise InstallError(f"{TARBALL} has SHA-256 {digest}, not the pinned {SHA256}: removed")
    return kept


def install(target: Path = TARGET, given: Path | None = None) -> Path:
    """Unpack this platform's binary to ``target/bin/cfn-guard`` and the rules to ``target/rules``."""
    member = BINARIES.get((platform.system(), platform.machine()))
    if not member:
        raise InstallError(f"{PACKAGE} has no cfn-guard for {platform.system()} {platform.machine()}")
    target.mkdir(exist_ok=True)
    with tarfile.open(tarball(target, given)) as archive:
        shutil.rmtree(target / "rules", ignore_errors=True)
        for entry in archive.getmembers():
            if entry.isfile() and entry.name.startswith(RULES) and ".." not in Path(entry.name).parts:
                destination = target / entry.name.removeprefix("package/")
                destination.parent.mkdir(parents=True, exist_ok=True)
                destination.write_bytes(archive.extractfile(entry).read())
        binary = target / "bin" / "cfn-guard"
        binary.parent.mkdir(exist_ok=True)
        binary.write_bytes(archive.extractfile(member).read())
        binary.chmod(0o755)
    return binary


def main(argv: list[str]) -> int:
    try:
        binary = install(TARGET, Path(argv[0]) if argv else None)
    except InstallError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"cfn-guard {VERSION} of {PACKAGE} and its rules in {binary.parent.parent}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
