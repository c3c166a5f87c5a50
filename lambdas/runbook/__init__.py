"""The failover runbook's functions, packaged together and run by the Step Functions state machine.

Each step module has ``run(event, runtime) -> dict`` (the logic, given its AWS clients)
and ``handler(event, context)`` (the thin Lambda entry point). Every step first observes
the current state and converges on it, so a re-run of a finished step changes nothing.
"""
