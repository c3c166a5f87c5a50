"""The command line: exit codes, messages, and nothing written on bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
    assert "serving             870 s  objective 900 s" in capsys.readouterr().out
    # An objective the design cannot meet is a configuration error, refused before anything runs.
    (tmp_path / "tight.toml").write_text("[objectives]\nrto_seconds = 120\n")
    assert build.main(["budget", "--out", str(out), "--config", str(tmp_path / "tight.toml")]) == 2
    assert "objectives.rto_seconds: RTO: serving from the DR region takes up to 870 s, over the 120 s objective" in capsys.readouterr().err


def test_check_fails_listing_the_stale_file(tmp_path, capsys):
    out = tmp_path / "out"
    build.main(["render", "--out", str(out)])
    (out / "manifest.json").write_text("{}\n")
    assert build.main(["check", "--out", str(out)]) == 1
    assert "manifest.json (differs)" in capsys.readouterr().err


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
    assert result.stderr == "error: invalid configuration: network.az_count: must be 2 or 3, not 7\n"
    assert "Traceback" not in result.stdout + result.stderr
    assert list(tmp_path.iterdir()) == [config]


def test_missing_config_file_and_missing_output_are_clear(tmp_path, capsys):
    assert build.main(["render", "--config", str(tmp_path / "nope.toml"), "--out", str(tmp_path / "o")]) == 2
    assert "cannot read the configuration file" in capsys.readouterr().err
    assert build.main(["lint", "--out", str(tmp_path / "absent")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_failover_refuses_bad_input_before_any_aws_call(capsys, monkeypatch):
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    assert build.main(["failover", "--to", "eu-west-9"]) == 2
    assert "not a region of this configuration" in capsys.readouterr().out
    assert build.main(["failover", "--to", "us-west-2", "--unplanned"]) == 2
    assert "--accept-data-loss" in capsys.readouterr().out
    assert build.main(["status", "--profile", "no-such-profile"]) == 2
    assert "--profile" in capsys.readouterr().err


def test_deploy_only_region_outside_the_render_is_bad_input(capsys):
    assert build.main(["deploy", "--only-region", "eu-west-1"]) == 2
    err = capsys.readouterr().err
    assert "--only-region eu-west-1: not a region of this render" in err and "Traceback" not in err
