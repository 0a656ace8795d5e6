"""The `slurmshim` group itself: help, version, completion, no boto3 where AWS is not needed,
progress bars only on a terminal."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from test_admin_helpers import REPO, SCRIPTS, isolate, local_config, run

NO_BOTO = """\
import sys, atexit
atexit.register(lambda: print("BOTO3", "boto3" in sys.modules or "botocore" in sys.modules,
                              file=sys.stderr))
from slurmshim.cli.admin import main
main(sys.argv[1:])
"""


def _admin(tmp_path, *args, env_extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURMSHIM")}
    env.update(XDG_CONFIG_HOME=str(tmp_path / "xdg"), SLURMSHIM_STATE_DIR=str(tmp_path / "st"),
               SLURMSHIM_CONF=str(local_config(tmp_path / "c.toml")))
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-c", NO_BOTO, *args], env=env, capture_output=True,
                          text=True, timeout=120, cwd=tmp_path)


def test_help_lists_every_subcommand():
    r = run("--help")
    assert r.exit_code == 0
    for cmd in ("init", "doctor", "migrate", "check", "output", "plugins", "completion"):
        assert f"  {cmd} " in r.output
    assert run("--version").output.startswith("slurmshim ")
    assert run("frobnicate").exit_code == 2


@pytest.mark.parametrize("args", [
    ["--help"], ["check", "--help"], ["check", str(SCRIPTS / "mail.sh")], ["init", "--path", "-"],
    ["plugins"], ["doctor"], ["completion", "bash"],
    ["migrate", str(REPO / "tests/data/slurmconf/gpu.conf"), "-o", "c2.toml", "--plan", "p.json"],
])
def test_no_boto3_without_aws(tmp_path, args):
    r = _admin(tmp_path, *args)
    assert "BOTO3 False" in r.stderr, r.stderr


def test_every_report_has_json():
    from slurmshim.cli.admin import cli
    for name, cmd in cli.commands.items():
        if name == "completion":
            continue
        assert any("--json" in p.opts for p in cmd.params), name


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_the_script(shell):
    pytest.importorskip("slurmshim.docs.completion")
    r = run("completion", shell)
    assert r.exit_code == 0, r.output
    from slurmshim.docs.completion import completion_script
    assert r.stdout == completion_script(shell)
    assert "sbatch" in r.stdout and "slurmshim" in r.stdout
    assert run("completion", "tcsh").exit_code == 2


def test_progress_only_when_asked_or_on_a_terminal(tmp_path, monkeypatch):
    from slurmshim.admin import progress
    monkeypatch.delenv("SLURMSHIM_PROGRESS", raising=False)
    assert progress.enabled() is False               # pytest's stdout is not a TTY
    monkeypatch.setenv("SLURMSHIM_PROGRESS", "1")
    assert progress.enabled() is True
    monkeypatch.setenv("SLURMSHIM_PROGRESS", "0")
    with progress.bar(list(range(50)), label="x") as it:
        assert list(it) == list(range(50))


def test_check_progress_bar_on_a_big_tree(tmp_path, monkeypatch):
    tree = tmp_path / "tree"
    for i in range(30):
        d = tree / f"d{i % 3}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"job{i}.sh").write_text(f"#!/bin/bash\n#SBATCH --job-name=j{i}\n#SBATCH -t 5\n"
                                      "echo hi\n")
    isolate(monkeypatch, tmp_path, conf=local_config(tmp_path / "c.toml"))
    r = run("check", "-q", str(tree))               # piped: no bar
    assert r.exit_code == 0, r.output
    assert "checking job scripts" not in r.output
    assert "30 scripts: 30 clean" in r.stdout
    monkeypatch.setenv("SLURMSHIM_PROGRESS", "1")   # as on a terminal
    r = run("check", "-q", str(tree))
    assert "checking job scripts" in r.stderr
    assert "checking job scripts" not in r.stdout
