"""The architecture picture: both regions, each as its own parameters make it, and the links between them."""

from __future__ import annotations

import json
import re

import pytest

from checks import diagram, incident
from checks.pipeline import write_tree
from templates import runbook
from templates.config import config_from_mapping
from templates.render import render


@pytest.fixture(scope="module")
def dot(rendered_dir) -> str:
    return diagram.to_dot(diagram.build(rendered_dir))


def edges(dot: str) -> set[tuple[str, str, str]]:
    """(source, target, label) of every edge of the DOT text."""
    pattern = re.compile(r'^\s*"([^"]+)" -> "([^"]+)"(?: \[(?:label="([^"]*)")?.*\])?;$', re.MULTILINE)
    return {(source, target, label or "") for source, target, label in pattern.findall(dot)}


def nodes(dot: str) -> set[str]:
    return set(re.findall(r'^\s*"([^"]+)" \[label=', dot, re.MULTILINE))


def test_both_regions_are_clusters_named_with_their_role(cfg, dot):
    assert f'label="{cfg.primary_region} (primary)"' in dot
    assert f'label="{cfg.dr_region} (secondary)"' in dot


def test_each_region_has_what_its_role_deploys(cfg, dot):
    present = nodes(dot)
    primary, dr = f"{cfg.primary_region}/regional", f"{cfg.dr_region}/regional"
    assert f"{primary}/GlobalCluster" in present and f"{dr}/GlobalCluster" not in present
    assert f"{primary}/DbMasterSecret" in present and f"{dr}/DbMasterSecret" not in present
    assert f"{primary}/FailoverSwitchHealthCheck" in present and f"{dr}/FailoverSwitchHealthCheck" not in present
    for region in cfg.regions:
        regional, bootstrap = f"{region}/regional", f"{region}/bootstrap"
        assert {f"{regional}/DbCluster", f"{regional}/AppService", f"{bootstrap}/FailoverSwitchAlarm"} <= present
    assert f"{cfg.route53_metrics_region}/route53_alarms/HealthAlertsTopic" in present


def test_the_dr_cluster_joins_the_primarys_global_database(cfg, dot):
    primary, dr = f"{cfg.primary_region}/regional", f"{cfg.dr_region}/regional"
    assert (f"{dr}/DbCluster", f"{primary}/GlobalCluster", "joins the global database (replica)") in edges(dot)
    assert (f"{primary}/DbCluster", f"{primary}/GlobalCluster", "") in edges(dot)


def test_the_primarys_health_check_follows_the_switch_alarm_in_the_dr_region(cfg, dot):
    found = edges(dot)
    primary = f"{cfg.primary_region}/regional"
    switch_alarm = f"{cfg.dr_region}/bootstrap/FailoverSwitchAlarm"
    assert (f"{primary}/FailoverSwitchHealthCheck", switch_alarm, "follows") in found
    assert (f"{primary}/PrimaryHealthCheck", f"{primary}/FailoverSwitchHealthCheck", "") in found
    assert (f"{primary}/PrimaryHealthCheck", f"{primary}/LoadBalancerHealthCheck", "") in found


def test_alerts_are_relayed_both_ways_and_from_route53s_region(cfg, dot):
    found = edges(dot)
    for source, target in ((cfg.primary_region, cfg.dr_region), (cfg.dr_region, cfg.primary_region)):
        assert (f"{source}/regional/AlertsTopic", f"{target}/regional/RelayQueue", "SNS subscription") in found
    health_topic = f"{cfg.route53_metrics_region}/route53_alarms/HealthAlertsTopic"
    for region in cfg.regions:
        assert (health_topic, f"{region}/regional/RelayQueue", "SNS subscription") in found


def test_failover_records_hang_off_one_hosted_zone_with_their_roles(cfg, dot):
    zone = f"route53/{cfg.dns.hosted_zone_id}"
    found = edges(dot)
    assert (zone, f"{cfg.primary_region}/regional/FailoverRecord", "PRIMARY") in found
    assert (zone, f"{cfg.dr_region}/regional/FailoverRecord", "SECONDARY") in found
    dr = f"{cfg.dr_region}/regional"
    assert (f"{dr}/FailoverRecord", f"{dr}/LoadBalancerHealthCheck", "") in found


def test_route53_alarms_watch_the_health_checks_the_manifest_feeds_them(cfg, dot):
    found = edges(dot)
    alarms = f"{cfg.route53_metrics_region}/route53_alarms"
    dr_check = f"{cfg.dr_region}/regional/LoadBalancerHealthCheck"
    assert (f"{alarms}/SecondaryHealthCheckAlarm", dr_check, "alarms on") in found
    assert (f"{alarms}/PrimaryHealthCheckAlarm", f"{cfg.primary_region}/regional/PrimaryHealthCheck", "") in found


def test_only_links_between_regions_are_red(dot):
    for line in dot.splitlines():
        if "->" in line:
            source, target = re.findall(r'"([^"]+)"', line)[:2]
            assert ("firebrick" in line) == (source.split("/")[0] != target.split("/")[0]), line


def test_numbered_siblings_and_crowds_collapse(cfg, dot, rendered_dir):
    present = nodes(dot)
    primary = f"{cfg.primary_region}/regional"
    assert f"{primary}/PublicSubnet" in present and f"{primary}/PublicSubnet1" not in present
    resources = json.loads((rendered_dir / "regional.json").read_text())["Resources"]
    functions = sum(resource["Type"] == "AWS::Lambda::Function" for resource in resources.values())
    assert functions > len(runbook.STEPS), "the steps, the relay and the readiness check"
    assert re.search(rf'"{primary}/Functions" \[label="Functions x{functions}', dot)


def test_writes_both_dot_files_and_says_how_to_get_graphviz_without_it(rendered_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(diagram.shutil, "which", lambda name: None)
    assert diagram.main(rendered_dir, tmp_path) == 1
    assert (tmp_path / diagram.DOT_FILE).read_text() == diagram.to_dot(diagram.build(rendered_dir))
    assert (tmp_path / incident.DOT_FILE).read_text() == incident.to_dot(incident.build(rendered_dir))
    assert not list(tmp_path.glob("*.svg"))
    assert "apt-get install graphviz" in capsys.readouterr().err


def test_missing_output_is_reported(tmp_path, capsys):
    assert diagram.main(tmp_path / "nothing", tmp_path / "docs") == 2
    assert "run 'make templates' first" in capsys.readouterr().err


@pytest.mark.skipif(diagram.shutil.which("dot") is None, reason="Graphviz is not installed (Debian package graphviz)")
def test_svg_is_written_when_graphviz_is_installed(rendered_dir, tmp_path):
    diagram.main(rendered_dir, tmp_path)
    for svg in (diagram.SVG_FILE, incident.SVG_FILE):
        assert (tmp_path / svg).read_text().lstrip().startswith("<?xml")


# --- the incident picture ----------------------------------------------------------------


@pytest.fixture(scope="module")
def picture(rendered_dir) -> incident.Picture:
    return incident.build(rendered_dir)


def _edges(picture, kind):
    return {(source, target, label) for source, target, edge_kind, label in picture.edges if edge_kind == kind}


def _step_regions(picture, region) -> dict[str, str]:
    """The runbook's steps in ``region`` as the picture lists them: step -> regions."""
    label = picture.nodes[region][f"{region}/regional/RunbookStateMachine"]
    rows = label.split("\\l")[1:-1]
    return dict(row.split(": ", 1) for row in rows)


def test_incident_picture_has_both_regions_by_role_route53_and_a_legend(cfg, picture):
    assert picture.roles == {cfg.primary_region: "primary", cfg.dr_region: "secondary"}
    dot = incident.to_dot(picture)
    assert f'label="{cfg.primary_region} (primary)"' in dot and f'label="{cfg.dr_region} (secondary)"' in dot
    for _, text in incident.STYLES.values():
        assert f'label="{text}"' in dot


def test_traffic_goes_through_each_record_to_its_regions_load_balancer_service_and_database(cfg, picture):
    traffic = {(source, target) for source, target, _ in _edges(picture, "traffic")}
    zone = f"zone/{cfg.dns.hosted_zone_id}"
    assert ("clients", zone) in traffic
    for region in cfg.regions:
        stack = f"{region}/regional"
        path = [zone, f"{stack}/FailoverRecord", f"{stack}/LoadBalancer", f"{stack}/AppService", f"{stack}/DbCluster"]
        assert set(zip(path, path[1:])) <= traffic
    assert picture.nodes[None][f"{cfg.primary_region}/regional/FailoverRecord"].startswith("PRIMARY record")
    assert picture.nodes[None][f"{cfg.dr_region}/regional/FailoverRecord"].startswith("SECONDARY record")


def test_each_regions_service_and_runbook_send_their_traces_to_x_ray_in_that_region_only(cfg, picture):
    traces = {(source, target): label for source, target, label in _edges(picture, "traces")}
    assert {(source.split("/")[0], target) for source, target in traces} == {(r, f"{r}/xray") for r in cfg.regions}
    for region in cfg.regions:
        assert traces[f"{region}/regional/AppService", f"{region}/xray"] == "otel-collector sidecar: OTLP, SigV4"
        assert traces[f"{region}/regional/RunbookStateMachine", f"{region}/xray"].endswith("functions: active tracing")


def test_the_inventory_shows_each_task_exporting_to_its_regions_x_ray_and_transaction_search(cfg, dot):
    for region in cfg.regions:
        regional, bootstrap = f"{region}/regional", f"{region}/bootstrap"
        endpoint = f"{regional}/{diagram.XRAY_ENDPOINT}"
        assert (f"{regional}/AppTaskDefinition", endpoint, "traces (OTLP, SigV4)") in edges(dot)
        assert (endpoint, f"{bootstrap}/TransactionSearchConfig", "spans") in edges(dot)
    assert not [e for e in edges(dot) if diagram.XRAY_ENDPOINT in e[1] and e[0].split("/")[0] != e[1].split("/")[0]]


def test_only_the_primary_record_follows_the_switch_alarm_in_the_dr_region(cfg, picture):
    switch = f"{cfg.dr_region}/bootstrap/FailoverSwitchAlarm"
    follows = {(source, target) for source, target, label in _edges(picture, "switch") if label == "follows"}
    assert follows == {(f"{cfg.primary_region}/regional/FailoverRecord", switch)}
    assert switch in picture.nodes[cfg.dr_region]
    record = picture.nodes[None][f"{cfg.primary_region}/regional/FailoverRecord"]
    assert f"({cfg.dr_region}) not in ALARM AND" in record and "HTTPS /health" in record


def test_replication_runs_from_the_primary_cluster_to_the_dr_cluster_only(cfg, picture):
    assert {(s, t) for s, t, _ in _edges(picture, "replication")} == {
        (f"{cfg.primary_region}/regional/DbCluster", f"{cfg.dr_region}/regional/DbCluster")
    }


def test_each_runbook_lists_its_steps_in_order_with_the_regions_each_calls(cfg, picture):
    primary, dr = cfg.primary_region, cfg.dr_region
    steps = _step_regions(picture, dr)
    assert list(steps)[0] == "AdmitAutomaticRun" and list(steps)[-2:] == ["NotifyFailure", "ReportFailed"], "a failure pages, then reports"
    assert list(steps).index("PromoteDatabase") < list(steps).index("SwitchTraffic") < list(steps).index("Notify")
    assert steps["SwitchTraffic"] == dr
    assert steps["PromoteDatabase"] == f"{primary}, {dr}"
    # The fence asks Route 53's checkers when the old primary's ECS API does not answer.
    assert steps["FenceOldPrimary"] == f"Route 53 (global), {primary}, {dr}"
    # Route 53's own status of the PRIMARY record is read in Route 53's metrics region.
    assert steps["CheckTraffic"] == "Route 53 (global), " + ", ".join(sorted({cfg.route53_metrics_region, dr}))
    assert _step_regions(picture, primary)["SwitchTraffic"] == f"{primary}, {dr}", "failing back releases the DR switch"
    switch = f"{dr}/bootstrap/FailoverSwitchAlarm"
    publishers = {
        source for source, target, label in _edges(picture, "switch")
        if target == switch and label.startswith("SwitchTraffic")
    }
    assert publishers == {f"{region}/regional/RunbookStateMachine" for region in cfg.regions}


def test_alerts_cross_to_the_other_region_and_from_route53s_region_into_both(cfg, picture):
    alerts = {(source, target) for source, target, _ in _edges(picture, "alert")}
    for source, target in ((cfg.primary_region, cfg.dr_region), (cfg.dr_region, cfg.primary_region)):
        assert (f"{source}/regional/AlertsTopic", f"{target}/regional/RelayQueue") in alerts
        assert (f"{target}/regional/RelayQueue", f"{target}/regional/RelayedAlertsTopic") in alerts
    for region in cfg.regions:
        health_topic = f"{cfg.route53_metrics_region}/route53_alarms/HealthAlertsTopic"
        assert (health_topic, f"{region}/regional/RelayQueue") in alerts
    assert "on-call/none" in picture.nodes[None], "the default configuration subscribes no one"


def test_the_picture_follows_the_render_its_regions_and_on_call_endpoints(tmp_path):
    other = config_from_mapping({
        "primary_region": "eu-west-1", "dr_region": "eu-central-1",
        "alerts": {"endpoints": [{"protocol": "email", "endpoint": "oncall@corp.test"}]},
    })
    write_tree(render(other), tmp_path)
    drawn = incident.build(tmp_path)
    assert drawn.roles == {"eu-west-1": "primary", "eu-central-1": "secondary"}
    on_call = {target for _, target, _ in _edges(drawn, "alert") if target.startswith("on-call/")}
    assert on_call == {"on-call/email/oncall@corp.test"} and "on-call/none" not in drawn.nodes[None]
