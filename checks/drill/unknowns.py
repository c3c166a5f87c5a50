"""Every duration, order and visibility the runbook depends on that AWS does not bound, with
AWS's own words and the range the drill's fakes draw from.

A fake never agrees with our code by default: where AWS promises no bound, the range runs
from "at once" to "later than every bound the runbook uses" (``late(cfg)``), and the drills
must survive both ends. ``World`` is one draw: the property search draws worlds
(``search.py``), fixed scenarios pin the extremes (``World.at_once``, ``World.late``).
"""

from __future__ import annotations

from collections.abc import Callable
import math
from dataclasses import dataclass

from templates import runbook
from templates.config import Config

HOUR = 3600


@dataclass(frozen=True)
class Unknown:
    name: str
    depends: str  # what the runbook waits for or reads
    aws_says: str  # quoted
    page: str
    late: Callable[[Config], float]  # past every bound of ours that meets it (seconds)


UNKNOWNS = (
    Unknown(
        "promotion_seconds",
        "a switchover or failover, from the request until the target is the available writer",
        '"For Aurora Global Database, RTO can be in the order of minutes" (no upper bound; the operation runs on '
        'after the request returns, whether or not anyone waits)',
        "https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-global-database-disaster-recovery.html",
        # After the writer wait and the over-budget follow: the runbook has given up.
        lambda cfg: runbook.waits(cfg)["promotion"].wait_seconds + runbook.waits(cfg)["follow"].wait_seconds + 2 * cfg.runbook.writer_poll_seconds,
    ),
    Unknown(
        "resync_seconds",
        "after a managed failover, the old primary rebuilt as a secondary (pending-resync until connected)",
        '"Aurora creates a new storage volume ... this process can take a few minutes to several hours"; fail back '
        '"after the replication topology is restored"',
        "https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-global-database-disaster-recovery.html",
        lambda cfg: 6 * HOUR,
    ),
    Unknown(
        "metric_visible_seconds",
        "PutMetricData's point readable by GetMetricData (the switch, its confirmation, readiness)",
        'no read-after-write bound; the CLI reference: "it can take up to two minutes" for statistics of a new metric',
        "https://docs.aws.amazon.com/cli/latest/reference/cloudwatch/put-metric-data.html",
        lambda cfg: runbook.waits(cfg)["switch"].wait_seconds + 60,
    ),
    Unknown(
        "drain_seconds",
        "a fenced task still running (and writing) after its service's desired count went to 0",
        '"the target is deregistered ... connection draining" for the deregistration delay, then SIGTERM and, after '
        'the stop timeout, SIGKILL',
        "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-lifecycle-explanation.html",
        lambda cfg: runbook.waits(cfg)["fence"].wait_seconds + 2 * cfg.runbook.health_poll_seconds,
    ),
    Unknown(
        "route53_status_lag_seconds",
        "Route 53's status of the PRIMARY record's check (and its metric) following the switch alarm and the load balancer",
        "health checkers report every interval; the metric is published every minute; no bound on a calculated "
        "check's propagation",
        "https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/dns-failover-determining-health-of-endpoints.html",
        lambda cfg: runbook.waits(cfg)["traffic"].wait_seconds + 3 * 60,
    ),
    Unknown(
        "history_visible_seconds",
        "a running execution's newest events in its own GetExecutionHistory (the report step reads it)",
        'no read-after-write bound; maxResults "is only an upper limit. The actual number of results returned per '
        'call might be fewer than the specified maximum"',
        "https://docs.aws.amazon.com/step-functions/latest/apireference/API_GetExecutionHistory.html",
        # Past the report step's HistoryBehind retries: the report is not written, the run says why.
        lambda cfg: runbook.retry_seconds(runbook.HISTORY_RETRY) + 60,
    ),
    Unknown(
        "history_hole_seconds",
        "an event of a running execution readable later than events written after it (every third one, in the drill)",
        'events "are numbered sequentially, starting at one"; nothing is said of when each becomes readable',
        "https://docs.aws.amazon.com/step-functions/latest/apireference/API_HistoryEvent.html",
        # Past the report step's HistoryBehind retries: the report is not written, the run says why.
        lambda cfg: runbook.retry_seconds(runbook.HISTORY_RETRY) + 60,
    ),
    Unknown(
        "task_start_seconds",
        "a new Fargate task running and passing the target group's health checks",
        "no published bound (image pull, ENI attach, health check threshold)",
        "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-lifecycle-explanation.html",
        lambda cfg: runbook.waits(cfg)["capacity"].wait_seconds + 2 * cfg.runbook.health_poll_seconds,
    ),
)


@dataclass(frozen=True)
class World:
    """One draw of every unknown (seconds), plus the orders and states AWS leaves open."""

    promotion_seconds: float = 60
    resync_seconds: float = 600
    metric_visible_seconds: float = 0
    drain_seconds: float = 45
    route53_status_lag_seconds: float = 30
    task_start_seconds: float = 60
    # Events newer than this are missing from a GetExecutionHistory answer (checks/drill/history.py).
    history_visible_seconds: float = 0
    # Events written before others but readable this much later than they are (checks/drill/history.py).
    history_hole_seconds: float = 0
    # The most events a GetExecutionHistory page holds (each page from none to this), whatever
    # maxResults asks ("only an upper limit"): fewer than the runbook asks for, so every run's
    # report is read over several pages.
    history_page_events: int = 25
    # The DR cluster's engine version against the primary's (a patch apart after drift).
    engine_versions_differ: bool = False
    # Whether FailoverState clears after an unplanned failover while the old primary's region
    # is still down: AWS does not document it.
    failover_state_clears_while_source_down: bool = False

    @classmethod
    def at_once(cls) -> World:
        return cls(**{u.name: 0.0 for u in UNKNOWNS})

    @classmethod
    def late(cls, cfg: Config) -> World:
        return cls(**{u.name: u.late(cfg) for u in UNKNOWNS})

    def settled_after(self) -> float:
        """Simulated seconds after which everything the world was asked to do has happened (a
        promotion that never completes aside) and Route 53 has caught up."""
        durations = [getattr(self, u.name) for u in UNKNOWNS]
        return sum(d for d in durations if d != math.inf) + 600


def table(cfg: Config) -> list[str]:
    """The unknowns as ``make drill`` prints them: what, AWS's words, the range drawn."""
    lines = [f"{'unknown':<28} {'range drawn (s)':>17}  what the runbook depends on / AWS"]
    for u in UNKNOWNS:
        lines.append(f"{u.name:<28} {'0 .. ' + format(u.late(cfg), 'g'):>17}  {u.depends}")
        lines.append(f"{'':<28} {'':>17}  AWS: {u.aws_says} ({u.page})")
    return lines
