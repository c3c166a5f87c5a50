"""Failover drills, offline: the rendered runbook run end to end in two emulated regions.

The state machine definition comes from the rendered ``regional.json`` (resolved for each
region), runs in moto's Step Functions interpreter (LocalStack's ASL interpreter), and its
Task states call the real handlers of ``lambdas/runbook/`` in process, with the
environment variables of the rendered function resources. AWS is moto for ECS,
Application Auto Scaling, CloudWatch, SNS, DynamoDB and Step Functions, and a stateful
fake of the Aurora global database (``aurora.py``). Time is simulated (``clock.py``), so a
run with 30 writer polls and minute-long backoffs takes well under a second, and faults
(``network.py``) can kill a region or any call. A drill is evidence about the runbook's
logic against AWS's documented behaviour; it is not AWS.
"""

import sys
from pathlib import Path

# The drills run the functions' own modules (``runbook.*``), as Lambda does from the zip.
LAMBDAS_DIR = Path(__file__).resolve().parents[2] / "lambdas"
if str(LAMBDAS_DIR) not in sys.path:
    sys.path.insert(0, str(LAMBDAS_DIR))
