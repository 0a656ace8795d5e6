"""srun outside a job (submit, stream, exit code, like capture 80) and sattach."""
from __future__ import annotations

import subprocess
import sys
import time

import pytest

from slurm_cluster import Cluster


@pytest.fixture
def cl(tmp_path):
    return Cluster(tmp_path)


def test_srun_runs_the_command_and_streams_output(cl):
    res = cl.run("srun", "-n", "2", "-l", "bash", "-c", "echo $SLURM_PROCID of $SLURM_NTASKS")
    assert res.returncode == 0, res.stderr
    assert sorted(res.stdout.splitlines()) == ["0: 0 of 2", "1: 1 of 2"]
    assert res.stderr == ""


@pytest.mark.parametrize("args,code,err", [
    (["false"], 1, "srun: error: node01: task 0: Exited with exit code 1\n"),
    (["-n", "2", "false"], 1, "srun: error: node01: tasks 0-1: Exited with exit code 1\n"),
    (["bash", "-c", "exit 7"], 7, "srun: error: node01: task 0: Exited with exit code 7\n"),
    (["--bogus", "hostname"], 255,
     "srun: unrecognized option '--bogus'\nTry \"srun --help\" for more information\n"),
    (["-N", "9", "true"], 1,
     "srun: error: Unable to allocate resources: Requested node configuration is not available\n"),
])
def test_srun_exit_codes_and_messages(cl, args, code, err):
    res = cl.run("srun", *args)
    assert (res.returncode, res.stderr) == (code, err)


def test_srun_job_has_only_a_step_zero(cl):
    assert cl.run("srun", "true").returncode == 0
    acct = cl.run("sacct", "-n", "-P", "-o", "JobID,JobName,State").stdout
    assert acct.splitlines() == ["1|true|COMPLETED", "1.0|true|COMPLETED"]


def test_srun_missing_command(cl):
    res = cl.run("srun", "-n", "1", "nosuchcommand")
    assert res.returncode == 2
    assert "srun: error: node01: task 0: Exited with exit code 2\n" in res.stderr
    assert "error: execve(): nosuchcommand: No such file or directory\n" in res.stderr


def test_sattach_follows_a_running_job(cl):
    cl.script("t.sh", "#!/bin/bash\nfor i in 1 2 3; do echo line $i; sleep 0.4; done\n")
    job = cl.submit("t.sh")
    cl.wait_state(str(job), {"RUNNING"})
    res = cl.run("sattach", "-l", f"{job}.batch")
    assert res.returncode == 0, res.stderr
    assert res.stdout == "0: line 1\n0: line 2\n0: line 3\n"
    done = cl.run("sattach", str(job))
    assert (done.returncode, done.stderr) == (1, f"sattach: error: Job {job} has already completed\n")


def test_srun_ctrl_c_cancels_the_job(cl):
    proc = subprocess.Popen([sys.executable, "-m", "slurmshim.cli.srun", "sleep", "60"],
                            cwd=cl.work, env=cl.env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    cl.wait_state("1", {"RUNNING"})
    time.sleep(0.5)
    proc.send_signal(subprocess.signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert cl.wait_state("1", {"CANCELLED"}).startswith("CANCELLED")
