"""The plugin machinery (slurmshim/plugins.py, hookspecs.py), `slurmshim plugins`, and the three
example plugins in plugins/ (their own test suites, run here so CI runs them)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from slurmshim import plugins
from slurmshim.config import Config, load_config_file
from slurmshim.errors import SlurmError
from slurmshim.model import JobSpec, Partition

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(p for p in (REPO / "plugins").iterdir() if (p / "pyproject.toml").exists())


@pytest.fixture(autouse=True)
def _fresh(monkeypatch):
    monkeypatch.delenv("SLURMSHIM_PLUGINS", raising=False)
    plugins.reset()
    yield
    plugins.reset()


class _Ctl:
    """What run_job_submit / run_job_submitted need of a Controller."""

    def __init__(self, config):
        self.config = config


def _write_plugin(d: Path, name: str, body: str) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    path = d / f"{name}.py"
    path.write_text(textwrap.dedent(body))
    return path


POLICY = """\
from slurmshim.hookspecs import hookimpl
from slurmshim.errors import SlurmError

@hookimpl
def job_submit(spec, partitions, config):
    if spec.job_name == "forbidden":
        return "jobs named forbidden are not allowed here"
    if spec.job_name == "raise":
        raise SlurmError("raised by policy")
    spec.comment = "seen by policy"

@hookimpl
def map_partition(spec, partitions, config):
    return "big" if spec.resources.ntasks and spec.resources.ntasks > 4 else None
"""

AUDIT = """\
import pluggy
hookimpl = pluggy.HookimplMarker("slurmshim")

class Audit:
    seen = []

    @hookimpl
    def job_submitted(self, job_id, spec, record):
        Audit.seen.append(job_id)
        if job_id == 13:
            raise RuntimeError("audit log unavailable")

    @hookimpl
    def batch_submit_job(self, request, spec, partition, config):
        request.setdefault("tags", {})["audited"] = partition.name

    @hookimpl
    def batch_job_definition(self, request):
        request["audited"] = True

slurmshim_plugin = Audit()
"""


@pytest.fixture
def pdir(tmp_path):
    d = tmp_path / "plugins"
    _write_plugin(d, "policy", POLICY)
    _write_plugin(d, "audit", AUDIT)
    _write_plugin(d, "_private", "raise RuntimeError('never loaded')\n")
    return d


def _cfg(pdir: Path | None) -> Config:
    return Config(path=None, plugins_dir=str(pdir) if pdir else None,
                  partitions={"small": Partition("small"), "big": Partition("big")})


# ---------------------------------------------------------------- loading

def test_no_plugins_means_no_manager(monkeypatch, tmp_path):
    monkeypatch.setenv("SLURMSHIM_PLUGINS", "")
    assert plugins.manager(_cfg(tmp_path / "nothing")) is None
    spec = JobSpec(job_name="x")
    plugins.run_job_submit(_Ctl(_cfg(None)), spec)      # a no-op, no error
    assert plugins.run_batch_submit_job(_cfg(None), {"a": 1}, spec, Partition("p")) == {"a": 1}


def test_loaded_from_plugins_dir(pdir):
    got = dict(plugins.loaded_plugins(_cfg(pdir)))
    assert got["policy"] == ["job_submit", "map_partition"]
    assert got["audit"] == ["batch_job_definition", "batch_submit_job", "job_submitted"]
    assert "_private" not in got
    desc = {d["name"]: d for d in plugins.describe_plugins(_cfg(pdir))}
    assert desc["policy"]["source"].endswith("policy.py")


def test_slurmshim_plugins_limits(pdir, monkeypatch):
    monkeypatch.setenv("SLURMSHIM_PLUGINS", "audit")
    assert [n for n, _ in plugins.loaded_plugins(_cfg(pdir))] == ["audit"]
    avail = {p["name"]: p["enabled"] for p in plugins.available_plugins(_cfg(pdir))}
    assert avail["policy"] is False and avail["audit"] is True
    monkeypatch.setenv("SLURMSHIM_PLUGINS", "")
    assert plugins.loaded_plugins(_cfg(pdir)) == []      # the manager is rebuilt on a change


def test_a_broken_plugin_stops_the_hook(tmp_path):
    d = tmp_path / "p"
    _write_plugin(d, "broken", "import no_such_module_anywhere\n")
    with pytest.raises(SlurmError, match="cannot load plugin broken"):
        plugins.manager(_cfg(d))


# ---------------------------------------------------------------- the hooks

def test_job_submit_rewrites_rejects_and_routes(pdir):
    ctl = _Ctl(_cfg(pdir))
    spec = JobSpec(job_name="ok")
    plugins.run_job_submit(ctl, spec)
    assert spec.comment == "seen by policy" and spec.partition is None
    spec.resources.ntasks = 8
    plugins.run_job_submit(ctl, spec)
    assert spec.partition == "big"
    with pytest.raises(SlurmError) as err:
        plugins.run_job_submit(ctl, JobSpec(job_name="forbidden"))
    assert err.value.render("sbatch") == "sbatch: error: jobs named forbidden are not allowed here\n"
    with pytest.raises(SlurmError, match="raised by policy"):
        plugins.run_job_submit(ctl, JobSpec(job_name="raise"))


def test_job_submitted_errors_are_warnings(pdir, capsys):
    from slurmshim.model import JobRecord
    ctl = _Ctl(_cfg(pdir))
    plugins.run_job_submitted(ctl, JobRecord(job_id=12), JobSpec())
    plugins.run_job_submitted(ctl, JobRecord(job_id=13), JobSpec())
    err = capsys.readouterr().err
    assert err == "sbatch: warning: job_submitted plugin failed: audit log unavailable\n"
    assert sys.modules["slurmshim_plugin_audit"].Audit.seen == [12, 13]


def test_batch_helpers(pdir):
    cfg = _cfg(pdir)
    req = plugins.run_batch_submit_job(cfg, {"jobName": "x"}, JobSpec(), Partition("small"))
    assert req["tags"] == {"audited": "small"}
    jd = plugins.run_batch_job_definition(cfg, {"type": "container"}, JobSpec(), Partition("s"))
    assert jd == {"type": "container", "audited": True}


def test_plugin_settings_beside_the_config(tmp_path, monkeypatch):
    conf = tmp_path / "slurmshim.toml"
    conf.write_text("")
    (tmp_path / "mine.toml").write_text("[x]\ny = 1\n")
    cfg = Config(path=str(conf))
    assert plugins.load_settings(cfg, "mine.toml")["x"] == {"y": 1}
    assert plugins.load_settings(cfg, "absent.toml") == {}
    other = tmp_path / "elsewhere.toml"
    other.write_text("z = 2\n")
    monkeypatch.setenv("MINE_CONF", str(other))
    assert plugins.load_settings(cfg, "mine.toml", "MINE_CONF")["z"] == 2
    other.write_text("z = \n")
    with pytest.raises(SlurmError, match="invalid plugin settings"):
        plugins.load_settings(cfg, "mine.toml", "MINE_CONF")


# ---------------------------------------------------------------- through the commands

def _env(tmp_path: Path, conf: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM", "SBATCH_"))}
    env.update(SLURMSHIM_CONF=str(conf), SLURMSHIM_STATE_DIR=str(tmp_path / "state"),
               XDG_CONFIG_HOME=str(tmp_path / "xdg"))
    env.update(extra)
    return env


def test_sbatch_prints_the_plugin_reason(pdir, tmp_path):
    conf = tmp_path / "slurmshim.toml"
    conf.write_text(f'plugins_dir = "{pdir}"\n[partitions.small]\nbackend = "local"\n'
                    'default = true\ncpus = 2\n[partitions.big]\nbackend = "local"\ncpus = 8\n')
    script = tmp_path / "job.sh"
    script.write_text("#!/bin/sh\n#SBATCH --job-name=forbidden\ntrue\n")
    cmd = [sys.executable, "-c", "from slurmshim.cli.sbatch import main; main()", str(script)]
    r = subprocess.run(cmd, env=_env(tmp_path, conf), capture_output=True, text=True, timeout=60)
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr == "sbatch: error: jobs named forbidden are not allowed here\n"
    script.write_text("#!/bin/sh\n#SBATCH --job-name=fine\n#SBATCH -n 6\ntrue\n")
    r = subprocess.run(cmd[:-1] + ["--test-only", str(script)], env=_env(tmp_path, conf),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "in partition big" in r.stderr


def test_slurmshim_plugins_command(pdir, tmp_path, monkeypatch):
    from slurmshim.cli.admin import cli
    conf = tmp_path / "slurmshim.toml"
    conf.write_text(f'plugins_dir = "{pdir}"\n')
    monkeypatch.setenv("SLURMSHIM_CONF", str(conf))
    r = CliRunner().invoke(cli, ["plugins"])
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0].split() == ["PLUGIN", "HOOKS", "SOURCE"]
    assert any(l.startswith("policy") and "job_submit, map_partition" in l for l in lines)
    monkeypatch.setenv("SLURMSHIM_PLUGINS", "policy")
    plugins.reset()
    r = CliRunner().invoke(cli, ["plugins", "--json"])
    data = json.loads(r.output)
    assert [p["name"] for p in data["plugins"]] == ["policy"]
    assert [p["name"] for p in data["disabled"]] == ["audit"]
    _write_plugin(pdir, "zz_broken", "raise ImportError('nope')\n")
    monkeypatch.delenv("SLURMSHIM_PLUGINS")
    plugins.reset()
    r = CliRunner().invoke(cli, ["plugins"])
    assert r.exit_code == 1
    assert "slurmshim: error: cannot load plugin zz_broken: nope" in r.output


def test_plain_commands_do_not_load_plugins(pdir, tmp_path):
    """squeue/sinfo never fire a hook: the plugins (and pluggy) stay unloaded."""
    conf = tmp_path / "slurmshim.toml"
    conf.write_text(f'plugins_dir = "{pdir}"\n')
    code = ("import sys\nfrom slurmshim.cli.squeue import main\n"
            "try:\n    main([])\nexcept SystemExit:\n    pass\n"
            "print('pluggy' in sys.modules, 'slurmshim_plugin_policy' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], env=_env(tmp_path, conf),
                       capture_output=True, text=True, timeout=60)
    assert r.stdout.strip().splitlines()[-1] == "False False", r.stderr


def test_hookspecs_document_every_hook():
    from slurmshim import hookspecs
    names = [n for n in vars(hookspecs.SlurmshimSpec) if not n.startswith("_")]
    assert names == ["job_submit", "map_partition", "batch_job_definition", "batch_submit_job",
                     "job_submitted"]
    assert all((getattr(hookspecs.SlurmshimSpec, n).__doc__ or "").strip() for n in names)


# ---------------------------------------------------------------- the example plugins

@pytest.mark.parametrize("plugin", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_plugin_suite(plugin):
    """Each example plugin's own tests, as `python -m pytest plugins/NAME/tests` runs them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM", "SBATCH_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(plugin), str(REPO)] + [
        p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        "tests"], cwd=plugin, env=env, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert " passed" in r.stdout


@pytest.mark.parametrize("plugin", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_plugin_is_installable(plugin):
    """pyproject: its own distribution, an entry point in group slurmshim naming its package."""
    try:
        import tomllib  # type: ignore[import-not-found]
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    meta = tomllib.loads((plugin / "pyproject.toml").read_text())
    eps = meta["project"]["entry-points"]["slurmshim"]
    assert len(eps) == 1
    (target,) = eps.values()
    assert (plugin / target / "__init__.py").exists()
    assert "slurmshim" in meta["project"]["dependencies"]
    assert (plugin / "tests").is_dir()


def test_three_examples():
    assert [p.name for p in EXAMPLES] == ["cost-tags", "shared-fs", "site-policy"]


def test_config_loads_with_plugins_dir(tmp_path):
    conf = tmp_path / "c.toml"
    conf.write_text('plugins_dir = "~/plugins"\n')
    assert load_config_file(str(conf)).plugins_dir == "~/plugins"
