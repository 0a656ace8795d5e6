"""srun outside a job (submit, stream, exit code, like capture 80) and sattach."""
from __future__ import annotations

import signal
import subprocess
import sys

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
    # the job writes a line, then waits at its gate until sattach has shown that line
    job = cl.submit(cl.gate("g", before="echo line 1\n", after="echo line 2\necho line 3\n"))
    with open(cl.work / "sattach.out", "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "slurmshim.cli.sattach", "-l",
                                 f"{job}.batch"], cwd=cl.work, env=cl.env, stdout=out,
                                stderr=subprocess.PIPE, text=True)
    try:
        cl.wait_output("sattach.out", "0: line 1\n")
        cl.open_gate("g")
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert cl.read("sattach.out") == "0: line 1\n0: line 2\n0: line 3\n"
    done = cl.run("sattach", str(job))
    assert (done.returncode, done.stderr) == (1, f"sattach: error: Job {job} has already completed\n")


def test_srun_ctrl_c_cancels_the_job(cl):
    # srun streams the job's output once it is watching the job (and catching Ctrl-C): the
    # job's first line on srun's stdout says it is time to press Ctrl-C
    with open(cl.work / "srun.out", "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "slurmshim.cli.srun",
                                 "./" + cl.gate("g", before="echo started\n")], cwd=cl.work,
                                env=cl.env, stdout=out, stderr=subprocess.PIPE, text=True)
    try:
        cl.wait_output("srun.out", "started\n")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode != 0, err
    assert cl.wait_state("1", {"CANCELLED"}).startswith("CANCELLED")
