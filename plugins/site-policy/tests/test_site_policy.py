"""The site-policy plugin: its hooks on JobSpecs, then through the real sbatch (loaded from a
plugins_dir, and as an installed entry point)."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

import slurmshim_site_policy as policy
from slurmshim.config import load_config_file
from slurmshim.model import GresRequest, JobSpec

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CONFIG = """\
cluster_name = "policytest"
plugins_dir = "{plugins}"

[partitions.debug]
backend = "local"
default = true
cpus = 2
memory = "2G"
max_time = "UNLIMITED"

[partitions.cpu]
backend = "local"
cpus = 4
memory = "4G"
max_time = "3-00:00:00"

[partitions.gpu]
backend = "local"
cpus = 4
memory = "4G"
gpus = 2
max_time = "UNLIMITED"
"""

POLICY = """\
[policy]
default_partition = "cpu"
gpu_partition = "gpu"
require_account = true
accounts = ["physics", "chem"]
max_time = "2-00:00:00"
time_cap = "reject"
exempt_users = ["operator"]

[partition_max_time]
gpu = "12:00:00"
"""


@pytest.fixture
def site(tmp_path, monkeypatch):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    conf = tmp_path / "slurmshim.toml"
    conf.write_text(CONFIG.format(plugins=plugins))
    (tmp_path / "site-policy.toml").write_text(POLICY)
    monkeypatch.delenv("SLURMSHIM_SITE_POLICY", raising=False)
    return tmp_path, load_config_file(str(conf))


def _spec(**kw) -> JobSpec:
    spec = JobSpec(user=kw.pop("user", "alice"))
    res = kw.pop("gres", None)
    if res:
        spec.resources.gres = (GresRequest("gpu", None, res),)
    for k, v in kw.items():
        setattr(spec, k, v)
    return spec


def test_account_is_required(site):
    _, cfg = site
    reason = policy.job_submit(spec=_spec(), partitions=cfg.partitions, config=cfg)
    assert reason and "requires an account" in reason


def test_account_allow_list(site):
    _, cfg = site
    reason = policy.job_submit(spec=_spec(account="astro"), partitions=cfg.partitions, config=cfg)
    assert reason == "invalid account astro: use one of physics, chem"


def test_default_partition_and_no_time_gets_cap_when_partition_default_is_longer(site):
    _, cfg = site
    spec = _spec(account="physics")
    assert policy.job_submit(spec=spec, partitions=cfg.partitions, config=cfg) is None
    assert spec.partition == "cpu"
    assert spec.time_limit == 2 * 1440          # cpu's MaxTime 3 days > the 2-day cap


def test_walltime_cap_rejects(site):
    _, cfg = site
    spec = _spec(account="physics", time_limit=3 * 1440)
    reason = policy.job_submit(spec=spec, partitions=cfg.partitions, config=cfg)
    assert reason == ("requested time limit 3-00:00:00 exceeds the site maximum 2-00:00:00: "
                      "ask for --time=2-00:00:00 or less")


def test_walltime_cap_per_partition_and_clamp(site, tmp_path):
    root, cfg = site
    spec = _spec(account="chem", time_limit=1440, gres=1)
    reason = policy.job_submit(spec=spec, partitions=cfg.partitions, config=cfg)
    assert "exceeds the site maximum 12:00:00 in partition gpu" in reason
    (root / "site-policy.toml").write_text(POLICY.replace('"reject"', '"clamp"'))
    spec = _spec(account="chem", time_limit=1440, gres=1)
    assert policy.job_submit(spec=spec, partitions=cfg.partitions, config=cfg) is None
    assert spec.time_limit == 12 * 60


def test_gpu_jobs_are_routed(site):
    _, cfg = site
    spec = _spec(account="physics", gres=2, partition="cpu")
    assert policy.map_partition(spec=spec, partitions=cfg.partitions, config=cfg) == "gpu"
    plain = _spec(account="physics", partition="cpu")
    assert policy.map_partition(spec=plain, partitions=cfg.partitions, config=cfg) is None
    already = _spec(account="physics", gres=1, partition="gpu")
    assert policy.map_partition(spec=already, partitions=cfg.partitions, config=cfg) is None
    spec = _spec(account="physics")
    spec.resources.gpus = 1
    assert policy.map_partition(spec=spec, partitions=cfg.partitions, config=cfg) == "gpu"


def test_exempt_users_and_no_settings(site, tmp_path, monkeypatch):
    _, cfg = site
    assert policy.job_submit(spec=_spec(user="operator"), partitions=cfg.partitions,
                             config=cfg) is None
    monkeypatch.setenv("SLURMSHIM_SITE_POLICY", str(tmp_path / "missing.toml"))
    with pytest.raises(Exception):
        policy.job_submit(spec=_spec(), partitions=cfg.partitions, config=cfg)
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    monkeypatch.setenv("SLURMSHIM_SITE_POLICY", str(empty))
    assert policy.job_submit(spec=_spec(), partitions=cfg.partitions, config=cfg) is None


# ---------------------------------------------------------------- through the real sbatch

def _env(tmp_path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM", "SBATCH_"))}
    env.update(SLURMSHIM_CONF=str(tmp_path / "slurmshim.toml"),
               SLURMSHIM_STATE_DIR=str(tmp_path / "state"),
               XDG_CONFIG_HOME=str(tmp_path / "xdg"), SLURMSHIM_PROGRESS="0")
    env["PYTHONPATH"] = os.pathsep.join([ROOT] + [p for p in
                                                   env.get("PYTHONPATH", "").split(os.pathsep) if p])
    env.update(extra)
    return env


def _sbatch(tmp_path, args, env, script="#!/bin/sh\necho hi\n"):
    path = tmp_path / "job.sh"
    path.write_text(script)
    cmd = [sys.executable, "-c", "from slurmshim.cli.sbatch import main; main()", *args,
           str(path)]
    return subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=60)


@pytest.fixture
def shim(site):
    root, _ = site
    (root / "plugins" / "site_policy_shim.py").write_text(textwrap.dedent("""\
        # loads the packaged plugin from plugins_dir
        from slurmshim_site_policy import job_submit, map_partition  # noqa: F401
        """))
    return root


def test_sbatch_rejection_prints_the_reason(shim):
    env = _env(shim, SLURMSHIM_PLUGINS="site_policy_shim")
    r = _sbatch(shim, [], env)
    assert r.returncode == 1, r.stderr
    assert r.stderr.startswith("sbatch: error: this cluster requires an account")
    assert r.stdout == ""
    r = _sbatch(shim, ["--account=physics", "--time=3-0"], env)
    assert r.returncode == 1
    assert "sbatch: error: requested time limit 3-00:00:00 exceeds the site maximum" in r.stderr


def test_sbatch_routes_gpu_jobs_and_defaults(shim):
    env = _env(shim, SLURMSHIM_PLUGINS="site_policy_shim")
    r = _sbatch(shim, ["--test-only", "--account=physics", "--gres=gpu:1", "--time=10"], env)
    assert r.returncode == 0, r.stderr
    assert "in partition gpu" in r.stderr
    r = _sbatch(shim, ["--test-only", "--account=physics", "--time=10"], env,
                script="#!/bin/sh\n#SBATCH --job-name=x\necho hi\n")
    assert r.returncode == 0, r.stderr
    assert "in partition cpu" in r.stderr


def test_sbatch_with_plugins_disabled(shim):
    env = _env(shim, SLURMSHIM_PLUGINS="")
    r = _sbatch(shim, ["--test-only"], env)
    assert r.returncode == 0, r.stderr
    assert "in partition debug" in r.stderr


def test_sbatch_entry_point(site, tmp_path):
    """The plugin as an installed distribution: a dist-info with its entry point on the path."""
    root, _ = site
    dist = tmp_path / "site-packages" / "slurmshim_site_policy-0.1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: slurmshim-site-policy\n"
                                   "Version: 0.1.0\n")
    (dist / "entry_points.txt").write_text("[slurmshim]\nsite_policy = slurmshim_site_policy\n")
    env = _env(root, SLURMSHIM_PLUGINS="site_policy")
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path / "site-packages"), env["PYTHONPATH"]])
    r = _sbatch(root, ["--account=astro"], env)
    assert r.returncode == 1
    assert r.stderr == "sbatch: error: invalid account astro: use one of physics, chem\n"
    listing = subprocess.run([sys.executable, "-c",
                              "from slurmshim.cli.admin import main; main()", "plugins"],
                             env=env, capture_output=True, text=True, timeout=60)
    assert listing.returncode == 0, listing.stderr
    assert "site_policy" in listing.stdout
    assert "job_submit, map_partition" in listing.stdout
