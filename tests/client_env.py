"""Shared set-up for the real-client tests (submitit, dask-jobqueue): the installed console
scripts (`sbatch`, `squeue`, ...) first on PATH, a private state directory, the built-in default
configuration, and no Slurm variables inherited from the caller -- so the clients, which run the
commands by name, talk to slurmshim's local backend exactly as they would to a Slurm cluster."""
from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))
import slurm_cluster  # noqa: E402

COMMANDS = ("sbatch", "squeue", "scancel", "sinfo", "sacct", "scontrol", "srun", "sattach")


def scripts_dir() -> Path:
    """Where `pip install -e .` put slurmshim's console scripts for this Python."""
    for cand in (sysconfig.get_path("scripts"), os.path.dirname(sys.executable)):
        if cand and all((Path(cand) / c).exists() for c in COMMANDS):
            return Path(cand)
    raise AssertionError(
        "slurmshim's console scripts (sbatch, squeue, ...) are not installed next to "
        f"{sys.executable}: run `pip install -e '.[test]'` first")


def setup_cluster(tmp_path: Path, monkeypatch) -> dict[str, str]:
    """Point this process (and everything it starts) at a fresh local cluster; returns the
    environment for running the commands directly."""
    bin_dir = scripts_dir()
    for key in list(os.environ):
        if key.startswith(("SLURM", "SBATCH_", "SALLOC_", "SRUN_", "SQUEUE_", "SACCT_",
                           "SINFO_", "SCANCEL_", "SUBMITIT_")):
            monkeypatch.delenv(key, raising=False)
    conf = tmp_path / "empty.toml"
    conf.write_text("")  # an empty file: the built-in default (one partition `local`)
    monkeypatch.setenv("SLURMSHIM_CONF", str(conf))
    monkeypatch.setenv("SLURMSHIM_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("PATH", str(bin_dir) + os.pathsep + os.environ.get("PATH", ""))
    monkeypatch.chdir(tmp_path)
    return dict(os.environ)


def run(*argv: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout)


def sacct_states(job: str) -> dict[str, str]:
    """JobID -> State of a job's allocations (no steps), as `sacct -X -P` prints them."""
    res = run("sacct", "-X", "-P", "-n", "-o", "JobID,State", "-j", job)
    assert res.returncode == 0, res.stderr
    out = {}
    for line in res.stdout.splitlines():
        jid, _, state = line.partition("|")
        out[jid] = state
    return out


def wait_for(predicate, timeout: float = 90, what: str = "condition", poll: float = 0.25):
    """slurm_cluster.wait_for, with the longer timeout and slower poll the clients need."""
    return slurm_cluster.wait_for(predicate, timeout, what, poll)


def stop_everything() -> None:
    """Teardown: cancel whatever is still queued or running and wait until the queue is empty,
    so no job outlives its test."""
    run("scancel", "--me")

    def empty() -> bool:
        res = run("squeue", "-h", "--me")
        return res.returncode == 0 and not res.stdout.strip()
    try:
        wait_for(empty, timeout=60, what="an empty queue")
    except AssertionError:
        pass
