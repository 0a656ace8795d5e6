"""Helpers shared by the tests/test_admin_*.py files (this module holds no tests)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "tests" / "data"
SCRIPTS = DATA / "scripts"
CONFS = DATA / "slurmconf"

AWS_VARS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
            "AWS_SECURITY_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION",
            "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_BATCH")


def isolate(monkeypatch, tmp_path: Path, conf: Path | None = None) -> None:
    """No user config, a private state dir, no progress bars, no SLURMSHIM_PLUGINS."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("SLURMSHIM_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("SLURMSHIM_PROGRESS", "0")
    monkeypatch.delenv("SLURMSHIM_PLUGINS", raising=False)
    if conf is None:
        monkeypatch.delenv("SLURMSHIM_CONF", raising=False)
    else:
        monkeypatch.setenv("SLURMSHIM_CONF", str(conf))
    from slurmshim import plugins
    plugins.reset()


def fake_aws(monkeypatch) -> None:
    for v in AWS_VARS:
        monkeypatch.delenv(v, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")


def run(*args: str):
    from slurmshim.cli.admin import cli
    return CliRunner().invoke(cli, list(args))


@pytest.fixture
def placement_groups(monkeypatch):
    """moto has no EC2 placement groups: keep them in a dict instead."""
    from slurmshim.backends.batch import provision
    store: dict[str, dict] = {}
    monkeypatch.setattr(provision.AwsProbe, "placement_groups",
                        lambda self, names: {n: store[n] for n in names if n in store})
    monkeypatch.setattr(provision.AwsProbe, "create_placement_group",
                        lambda self, name, strategy="cluster", tags=None:
                        store.__setitem__(name, {"GroupName": name, "Strategy": strategy}))
    return store


def local_config(path: Path, cpus: int = 8, extra: str = "", top: str = "") -> Path:
    """A local-backend config: partition `local` (cpus CPUs, 16G, 2 nodes); `top` goes before
    the tables, `extra` after them."""
    path.write_text(f'cluster_name = "testcluster"\n{top}\n[partitions.local]\nbackend = "local"\n'
                    f'default = true\ncpus = {cpus}\nmemory = "16G"\ngpus = 0\nnodes = 2\n'
                    f'max_time = "1-00:00:00"\n{extra}')
    return path


def env_without(*names: str) -> dict:
    return {k: v for k, v in os.environ.items() if k not in names}
