"""The operator's readiness checks are the readiness function's: same code, same settings."""

from __future__ import annotations

from ops import readiness
from template_support import resolve
from templates import naming
from templates.readiness import READINESS_FUNCTION


def test_the_cli_builds_the_settings_the_template_renders_in_each_region(cfg, template):
    for region in cfg.regions:
        rendered = resolve(template, cfg, region)["Resources"][READINESS_FUNCTION]["Properties"]["Environment"]["Variables"]
        machine = f"arn:aws:states:{region}:123456789012:stateMachine:{naming.runbook_state_machine(cfg).pattern}"
        ours = readiness.settings(cfg, region, machine)
        assert set(ours) == set(rendered)
        # The template refers to its own resources where the CLI has their physical names.
        assert (rendered["DB_CLUSTER_ID"], ours["DB_CLUSTER_ID"]) == ("DbCluster", naming.db_cluster(cfg).for_region(region))
        assert rendered["STATE_MACHINE_ARN"] == "RunbookStateMachine"
        same = set(ours) - {"DB_CLUSTER_ID", "STATE_MACHINE_ARN"}
        assert {k: ours[k] for k in same} == {k: rendered[k] for k in same}


def test_the_summary_counts_only_ready_checks():
    found = [readiness.Finding("A", True, ""), readiness.Finding("B", None, ""), readiness.Finding("C", False, "")]
    assert readiness.summary(found) == "1 of 3 checks ready"
