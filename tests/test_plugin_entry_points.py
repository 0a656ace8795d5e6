"""Plugins installed as packages (entry-point group `slurmshim`): found, loaded, and found again
from the cache -- which must notice a package installed or removed."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from slurmshim import plugins

POLICY = """\
from slurmshim.hookspecs import hookimpl

class Policy:
    @hookimpl
    def job_submit(self, spec, partitions, config):
        if spec.job_name == "forbidden":
            return "jobs named forbidden are not allowed by {name}"
"""


def _install(site: Path, name: str) -> None:
    """A distribution as pip leaves it: the module and its .dist-info with an entry point."""
    (site / f"{name}.py").write_text(POLICY.format(name=name))
    info = site / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[slurmshim]\n{name} = {name}:Policy\n")


def _uninstall(site: Path, name: str) -> None:
    (site / f"{name}.py").unlink()
    for f in (site / f"{name}-1.0.dist-info").iterdir():
        f.unlink()
    (site / f"{name}-1.0.dist-info").rmdir()


@pytest.fixture
def site(tmp_path, monkeypatch):
    d = tmp_path / "site"
    d.mkdir()
    monkeypatch.syspath_prepend(str(d))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("SLURMSHIM_PLUGINS", raising=False)
    plugins.reset()
    yield d
    plugins.reset()


def _names() -> set[str]:
    return {name for name, _value, _where in plugins._installed_entry_points()}


def test_found_then_served_from_the_cache(site, monkeypatch):
    _install(site, "policy_a")
    assert "policy_a" in _names()
    import importlib.metadata

    def no_scan(**kw):
        raise AssertionError("scanned the installed packages again")
    monkeypatch.setattr(importlib.metadata, "entry_points", no_scan)
    assert "policy_a" in _names()


def test_installing_or_removing_a_package_is_noticed(site):
    _install(site, "policy_a")
    assert "policy_a" in _names()
    _install(site, "policy_b")
    assert {"policy_a", "policy_b"} <= _names()
    _uninstall(site, "policy_a")
    names = _names()
    assert "policy_a" not in names and "policy_b" in names


@pytest.mark.parametrize("value", ["policy_c:Policy", "policy_c : Policy [extra]"])
def test_entry_point_values_load(site, value):
    _install(site, "policy_c")
    assert plugins._load_entry_point(value).__name__ == "Policy"


def test_sbatch_applies_an_installed_plugin_every_time(tmp_path, site):
    _install(site, "policy_d")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), *sys.path]),
               SLURMSHIM_STATE_DIR=str(tmp_path / "state"),
               XDG_CACHE_HOME=str(tmp_path / "cache"))
    env.pop("SLURMSHIM_CONF", None)
    env["XDG_CONFIG_HOME"] = str(tmp_path / "noconf")
    cmd = [sys.executable, "-m", "slurmshim.cli.sbatch", "--hold", "-J", "forbidden", "--wrap=true"]
    for _ in range(2):                     # the second run reads the entry points from the cache
        res = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=tmp_path)
        assert res.returncode == 1
        assert res.stderr == textwrap.dedent("""\
            sbatch: error: jobs named forbidden are not allowed by policy_d
            """)
    assert len(list((tmp_path / "cache" / "slurmshim").glob("entry-points-*.marshal"))) == 1
    ok = subprocess.run(cmd[:5] + ["ok", "--wrap=true"], env=env, capture_output=True,
                        text=True, cwd=tmp_path)
    assert ok.returncode == 0 and ok.stdout.startswith("Submitted batch job ")


def _counting_scans(monkeypatch) -> list[int]:
    import importlib.metadata
    real = importlib.metadata.entry_points
    scans: list[int] = []

    def counted(**kw):
        scans.append(1)
        return real(**kw)
    monkeypatch.setattr(importlib.metadata, "entry_points", counted)
    return scans


def test_two_environments_each_keep_their_entry(site, tmp_path, monkeypatch):
    """Two sys.path identities (two virtual environments, or one script run from two
    directories: sys.path[0] differs) each miss once, then both hit: they no longer evict
    each other's entry on every command."""
    _install(site, "policy_e")
    (tmp_path / "dir_a").mkdir()
    (tmp_path / "dir_b").mkdir()
    base = list(sys.path)
    scans = _counting_scans(monkeypatch)
    for _ in range(3):
        for d in ("dir_a", "dir_b"):
            monkeypatch.setattr(sys, "path", [str(tmp_path / d), *base])
            assert "policy_e" in _names()
    assert len(scans) == 2
    assert len(list((tmp_path / "cache" / "slurmshim").glob("entry-points-*.marshal"))) == 2


def test_output_files_in_a_path_directory_keep_the_entry(site, monkeypatch):
    """sys.path[0] is the working directory or the script's, where jobs write their output:
    a new file there is no new distribution, and no reason to scan again."""
    _install(site, "policy_f")
    assert "policy_f" in _names()
    (site / "slurm-42.out").write_text("hello\n")
    scans = _counting_scans(monkeypatch)
    assert "policy_f" in _names()
    assert scans == []


def test_entry_point_entries_are_bounded(site, tmp_path, monkeypatch):
    import importlib.metadata
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda **kw: [])
    base = list(sys.path)
    for i in range(70):
        monkeypatch.setattr(sys, "path", [str(tmp_path / f"script-dir-{i}"), *base])
        _names()
    cache = tmp_path / "cache" / "slurmshim"
    assert len(list(cache.glob("entry-points-*.marshal"))) == 64
    assert (cache / plugins._entry_points_cache_name()).exists()     # the newest stays
