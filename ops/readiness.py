"""The readiness checks from the operator's side: the code the readiness function runs in
each region (``lambdas/readiness/checks.py``), with its settings built from the
configuration, so ``build.py failover --dry-run`` and ``build.py status`` judge a region
exactly as its readiness alarm does."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lambdas.readiness import checks
from templates import naming
from templates import readiness as readiness_template
from templates.config import Config

Finding = checks.Finding


def settings(cfg: Config, region: str, state_machine_arn: str) -> dict[str, str]:
    """What ``templates/readiness.py`` renders into the function's environment in ``region``
    (tests/ops/test_readiness_cli.py keeps the two equal)."""
    return {
        "PRIMARY_REGION": cfg.primary_region,
        "DR_REGION": cfg.dr_region,
        "GLOBAL_CLUSTER_ID": naming.global_cluster(cfg).pattern,
        "DB_CLUSTER_ID": naming.db_cluster(cfg).for_region(region),
        "PEER_REGION": cfg.peer_region(region),
        "PEER_DB_CLUSTER_ID": naming.db_cluster(cfg).for_region(cfg.peer_region(region)),
        "RPO_SECONDS": str(cfg.objectives.rpo_seconds),
        "SECRET_ID": naming.db_secret(cfg).pattern,
        "ECS_CLUSTER": naming.ecs_cluster(cfg).pattern,
        "ECS_SERVICE": naming.ecs_service(cfg).pattern,
        "STANDING_COUNT": str(cfg.app.desired_count(cfg.is_primary(region))),
        "FAILOVER_COUNT": str(cfg.app.failover_desired_count),
        "TASK_CPU": str(cfg.app.task_cpu),
        "SWITCH_ALARM_NAME": naming.failover_switch_alarm(cfg).for_region(cfg.dr_region),
        "STATE_MACHINE_ARN": state_machine_arn,
        "RUNBOOK_BUDGET_SECONDS": str(cfg.objectives.rto_seconds),
        "METRICS_NAMESPACE": naming.readiness_namespace(cfg),
        **readiness_template.switch_settings(cfg),
        **readiness_template.concurrency_settings(cfg),
    }


def findings(cfg: Config, region: str, state_machine_arn: str, client: Callable[[str, str], Any]) -> list[Finding]:
    """Every readiness check of ``region``, asked through ``client(service, region)``."""
    return checks.readiness(checks.Context(settings=settings(cfg, region, state_machine_arn), region=region, client=client))


def summary(found: list[Finding]) -> str:
    ready = sum(f.ready is True for f in found)
    return f"{ready} of {len(found)} checks ready"
