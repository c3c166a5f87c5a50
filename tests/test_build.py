"""The command line: exit codes, messages, and nothing written on bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import build

ROOT = Path(__file__).resolve().parents[1]


def test_help_documents_every_subcommand(capsys):
    try:
        build.main(["--help"])
    except SystemExit as exit_:
        assert exit_.code == 0
    text = capsys.readouterr().out
    for command in ("render", "check", "lint", "budget"):
        assert command in text


def test_render_then_check_then_lint_then_budget(tmp_path, capsys):
    out = tmp_path / "out"
    assert build.main(["render", "--out", str(out)]) == 0
    assert build.main(["check", "--out", str(out)]) == 0
    assert build.main(["lint", "--out", str(out)]) == 0
    assert "cfn-lint: clean" in capsys.readouterr().out
    assert build.main(["budget", "--out", str(out)]) == 0
    assert "serving         1046 s        objective 1200 s" in capsys.readouterr().out
    # An objective the design cannot meet is a configuration error, refused before anything runs,
    # with the phase table and the setting that changes each phase (issue 20.13).
    (tmp_path / "tight.toml").write_text("[objectives]\nrto_seconds = 120\n")
    before = sorted(path.relative_to(tmp_path) for path in tmp_path.rglob("*"))
    for command in ("budget", "render"):
        assert build.main([command, "--out", str(out), "--config", str(tmp_path / "tight.toml")]) == 2
        err = capsys.readouterr().err.splitlines()
        assert err[0] == "error: invalid configuration: objectives.rto_seconds: RTO: serving from the DR region takes up to 1046 s, over the 120 s objective"
        assert err[1].startswith("  phase") and "  promotion 266 s: runbook.writer_poll_seconds, runbook.writer_max_polls" in err
    assert sorted(path.relative_to(tmp_path) for path in tmp_path.rglob("*")) == before


def test_check_fails_listing_the_stale_file(tmp_path, capsys):
    out = tmp_path / "out"
    build.main(["render", "--out", str(out)])
    (out / "regional.json").write_text("{}\n")
    assert build.main(["check", "--out", str(out)]) == 1
    assert "regional.json (differs)" in capsys.readouterr().err


def test_bad_config_exits_2_names_the_field_and_writes_nothing(tmp_path):
    config = tmp_path / "my.toml"
    config.write_text('[network]\naz_count = 7\n')
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, str(ROOT / "build.py"), "render", "--config", str(config), "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert result.stderr == "error: invalid configuration: network.az_count: must be from 2 to 3, not 7\n"
    assert "Traceback" not in result.stdout + result.stderr
    assert list(tmp_path.iterdir()) == [config]


def test_missing_config_file_and_missing_output_are_clear(tmp_path, capsys):
    assert build.main(["render", "--config", str(tmp_path / "nope.toml"), "--out", str(tmp_path / "o")]) == 2
    assert "cannot read the configuration file" in capsys.readouterr().err
    assert build.main(["lint", "--out", str(tmp_path / "absent")]) == 2
    assert "manifest.json is missing; re-render with 'make templates'" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_failover_refuses_bad_input_before_any_aws_call(capsys, monkeypatch):
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    assert build.main(["failover", "--to", "eu-west-9"]) == 2
    assert "not a region of this configuration" in capsys.readouterr().out
    assert build.main(["failover", "--to", "us-west-2", "--unplanned"]) == 2
    assert "--accept-data-loss" in capsys.readouterr().out
    assert build.main(["status", "--profile", "no-such-profile"]) == 2
    assert "--profile" in capsys.readouterr().err


def test_report_refuses_bad_input_in_one_line_and_writes_into_its_own_out(capsys, tmp_path, monkeypatch):
    """report's --out is where the report goes (the render it reads is dr_templates/)."""
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    out = tmp_path / "reports"
    assert build.main(["report", "no spaces", "--out", str(out)]) == 2
    assert build.main(["report", "ok", "--region", "eu-west-9", "--out", str(out)]) == 2
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and "failover id 'no spaces'" in lines[0] and "--region eu-west-9" in lines[1]
    assert not out.exists()
    with pytest.raises(SystemExit):
        build.main(["report", "--help"])
    assert "where the report goes (default: build/reports/)" in " ".join(capsys.readouterr().out.split())


def test_deploy_only_region_outside_the_render_is_bad_input(capsys):
    assert build.main(["deploy", "--only-region", "eu-west-1"]) == 2
    err = capsys.readouterr().err
    assert "--only-region eu-west-1: not a region of this render" in err and "Traceback" not in err


def test_help_imports_no_command_s_tools():
    """--help answers at once: the gate's, the renderer's and AWS's libraries load only when a command runs."""
    probe = (
        "import sys, runpy; sys.argv = ['build.py', '--help']\n"
        "try:\n    runpy.run_path('build.py', run_name='__main__')\nexcept SystemExit:\n    pass\n"
        "heavy = {'cfnlint', 'troposphere', 'boto3', 'botocore', 'awacs'}\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & heavy))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True)
    assert result.stdout.splitlines()[-1] == "[]"


def test_every_json_at_the_top_of_a_render_is_a_template():
    """So `cfn-lint dr_templates/*.json` (as .cfnlintrc says) lints templates only."""
    import json

    for path in (ROOT / "dr_templates").glob("*.json"):
        assert "Resources" in json.loads(path.read_text()), path.name


def _build(*arguments: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "build.py"), *arguments], capture_output=True, text=True, cwd=cwd)


def test_render_below_a_regular_file_is_one_line_exit_2_and_leaves_nothing(tmp_path):
    (tmp_path / "file").write_text("mine")
    result = _build("render", "--out", str(tmp_path / "file" / "sub" / "out"), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("error: --out ") and len(result.stderr.splitlines()) == 1, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_unwritable_out_is_one_line_exit_2_and_leaves_no_empty_folder(tmp_path, monkeypatch, capsys):
    """A read-only file system (simulated: the tests may run as root, who writes anyway)."""
    from checks import pipeline

    def read_only(*args, **kwargs):
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(pipeline.tempfile, "mkdtemp", read_only)
    assert build.main(["render", "--out", str(tmp_path / "new" / "deeper" / "out")]) == 2
    out = tmp_path / "new" / "deeper" / "out"
    assert capsys.readouterr().err == f"error: --out {out}: cannot write there: Read-only file system\n"
    assert list(tmp_path.iterdir()) == []


def _render_for(tmp_path: Path, toml: str) -> tuple[Path, Path]:
    config = tmp_path / "other.toml"
    config.write_text(toml)
    out = tmp_path / "other"
    assert build.main(["render", "--config", str(config), "--out", str(out)]) == 0
    return config, out


@pytest.fixture(scope="module")
def tokyo(tmp_path_factory) -> tuple[Path, Path]:
    """A render for other regions than the defaults'."""
    regions = 'primary_region = "ap-northeast-1"\ndr_region = "ap-northeast-3"\n'
    return _render_for(tmp_path_factory.mktemp("tokyo"), regions)


@pytest.mark.parametrize(
    "command", [["lint"], ["check"], ["budget"], ["status"], ["failover", "--to", "ap-northeast-3", "--dry-run"]]
)
def test_commands_using_the_configuration_refuse_a_render_of_other_regions(tokyo, command, tmp_path, capsys):
    """Without --config they use the one the manifest names; a --config of other regions is refused."""
    config, out = tokyo
    (tmp_path / "default.toml").write_text("")
    assert build.main([*command, "--config", str(tmp_path / "default.toml"), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"rendered for another configuration than --config {tmp_path / 'default.toml'}" in err
    assert "primary_region ap-northeast-1 (the configuration: us-east-1)" in err and len(err.splitlines()) == 1


def test_lint_lints_for_the_render_s_regions_given_its_configuration(tokyo, capsys):
    config, out = tokyo
    assert build.main(["lint", "--out", str(out)]) == 0  # the manifest names its configuration
    output = capsys.readouterr().out
    assert "template(s) for ap-northeast-1, ap-northeast-3\n" in output
    assert "cfn-lint: clean (ap-northeast-1, ap-northeast-3)" in output


@pytest.mark.parametrize("command", ["deploy", "drift", "destroy"])
def test_commands_reading_only_the_manifest_refuse_a_config_that_disagrees(tokyo, tmp_path, command, capsys):
    """They take regions and names from the render; a --config saying otherwise is a mistake."""
    _, out = tokyo
    (tmp_path / "default.toml").write_text("")
    assert build.main([command, "--config", str(tmp_path / "default.toml"), "--out", str(out)]) == 2
    assert "dr_region ap-northeast-3 (the configuration: us-west-2)" in capsys.readouterr().err


def test_out_help_says_which_commands_only_read_it(capsys):
    for command in ("lint", "status", "failover", "deploy"):
        with pytest.raises(SystemExit):
            build.main([command, "--help"])
        assert "only read, never written" in " ".join(capsys.readouterr().out.split())
    with pytest.raises(SystemExit):
        build.main(["render", "--help"])
    assert "only read" not in capsys.readouterr().out


@pytest.mark.parametrize("document", ["README.md", *sorted(p.name for p in (ROOT / "docs").glob("*.md"))])
def test_document_links_stay_in_the_repository_and_exist(document):
    """README and the guides are self-contained: every relative link and image resolves to a file of the repository."""
    import re

    path = ROOT / document if document == "README.md" else ROOT / "docs" / document
    prose = re.sub(r"```.*?```|`[^`\n]*`", "", path.read_text(), flags=re.S)  # code is not a link
    targets = re.findall(r"\]\(([^)#\s]+)\)", prose)
    assert targets or document != "README.md", "README links to its guides"
    for target in targets:
        if "://" in target:
            continue
        resolved = (path.parent / target).resolve()
        assert resolved.is_relative_to(ROOT) and resolved.exists(), f"{document}: {target}"


def test_readme_is_what_a_newcomer_reads_and_links_every_guide():
    """The reference lives in docs/: README stays short and links each guide."""
    readme = (ROOT / "README.md").read_text()
    assert len(readme.split()) < 1800
    for guide in ("docs/operating.md", "docs/security.md", "docs/design.md"):
        assert f"]({guide})" in readme, guide


def test_readme_states_the_outage_limits_the_code_uses():
    from ops import failover

    readme = " ".join((ROOT / "docs" / "operating.md").read_text().split())
    config = failover.OBSERVED_CLIENT_CONFIG
    assert f"a {config.connect_timeout} s connect and a {config.read_timeout} s read timeout" in readme
    assert f"given up after at most {failover.OBSERVED_CALL_SECONDS} s" in readme
    assert f"every {failover.PROGRESS_SECONDS} s" in readme


def test_package_and_diagram_beside_a_file_are_one_line_exit_2(tmp_path, capsys):
    """They write next to the render (build/) or into docs/; a file in the way is bad input, not a traceback."""
    import shutil

    out = shutil.copytree(ROOT / "dr_templates", tmp_path / "dr_templates")
    (tmp_path / "build").write_text("a file where the build folder goes")
    assert build.main(["package", "--out", str(out)]) == 2
    assert capsys.readouterr().err.startswith(f"error: cannot write {tmp_path / 'build'}/")
    from checks import diagram

    (tmp_path / "docs").write_text("a file where the pictures go")
    assert diagram.main(out, tmp_path / "docs") == 2
    assert capsys.readouterr().err.startswith(f"error: cannot write the pictures to {tmp_path / 'docs'}")


def test_roles_prints_the_one_time_commands_for_the_administration_region_and_every_region_reached(tmp_path, capsys):
    """A separate administration region: the roles live there, and the administration role may reach
    every region a stack set deploys to (the administration region's bootstrap instance included)."""
    config = tmp_path / "admin.toml"
    config.write_text('stackset_administration_region = "us-east-2"\n')
    out = tmp_path / "dr"
    assert build.main(["render", "--config", str(config), "--out", str(out)]) == 0
    capsys.readouterr()

    assert build.main(["roles", "--config", str(config), "--out", str(out)]) == 0

    administration, execution = capsys.readouterr().out.splitlines()
    assert administration.startswith("aws cloudformation deploy --region us-east-2 ")
    assert execution.startswith("aws cloudformation deploy --region us-east-2 ")
    assert f"--template-file {out}/stackset_administration_role.json" in administration
    assert f"--template-file {out}/stackset_execution_role.json" in execution


def test_a_deployment_folder_needs_only_its_render_and_is_never_overwritten_by_another_configuration(tmp_path, capsys):
    """One folder per deployment: config.toml beside dr_templates/; the manifest names the
    configuration, so --out alone finds it; another configuration's render is refused."""
    deployment = tmp_path / "deployments" / "prod"
    deployment.mkdir(parents=True)
    (deployment / "config.toml").write_text('environment_suffix = "prod"\n')
    out = deployment / "dr_templates"
    assert build.main(["render", "--config", str(deployment / "config.toml"), "--out", str(out)]) == 0
    manifest = (out / "metadata" / "manifest.json").read_text()
    assert '"config_file": "../config.toml"' in manifest
    assert build.main(["check", "--out", str(out)]) == 0  # no --config: the manifest names it
    capsys.readouterr()
    assert build.main(["render", "--out", str(out)]) == 2  # the defaults are another configuration
    assert "holds the render of another configuration" in capsys.readouterr().err
    assert (out / "metadata" / "manifest.json").read_text() == manifest
    assert build.main(["diagram", "--out", str(out)]) in (0, 1)  # 1: Graphviz missing, the .dot files written
    assert (deployment / "pictures" / "incident.dot").is_file()
