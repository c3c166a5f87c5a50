"""Where each file of a render lives, for those who write it and those who read it.

Templates sit at the top of the output folder, so ``cfn-lint DIR/*.json`` lints exactly
the templates; their parameters and the render's metadata (manifest, DNS timing) sit in
subfolders. Light on purpose (no troposphere): ``ops/`` and the command line import it.
"""

from __future__ import annotations

PARAMETERS_DIR = "parameters"
METADATA_DIR = "metadata"
MANIFEST = f"{METADATA_DIR}/manifest.json"
# Figures the RTO budget reads: how long DNS takes to follow a failure or the switch.
TRAFFIC_TIMING = f"{METADATA_DIR}/traffic_timing.json"
# Beside the output folder: the Lambda zips the templates refer to, for the deployer.
ARTIFACTS_DIR = "build"


# The bootstrap stack set's parameters: the same in every region.
BOOTSTRAP_PARAMETERS = f"{PARAMETERS_DIR}/bootstrap.json"


def parameters_file(region: str) -> str:
    return f"{PARAMETERS_DIR}/{region}.json"
