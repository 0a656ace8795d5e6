"""scontrol requeue end to end on the local backend, checked against Slurm 25.11's semantics
(slurmctld's _job_requeue_op, the 38_scontrol_requeue and 95_sacct_requeued captures): every
attempt stays in sacct -D with its own steps (.batch, .0, ...), without -D only the last attempt
and its steps show, Restarts= counts the requeues, and a finished batch job requeued runs once
more -- no phantom attempt.  Every wait is for a condition (a gate the test opens, a file the
job writes), never a sleep."""
from __future__ import annotations

from slurm_cluster import Cluster, wait_for

RUN = "echo run ${SLURM_RESTART_COUNT:-0} >> runs.log\nsrun -J first true\n" \
      "echo up >> up-${SLURM_RESTART_COUNT:-0}\n"


def _acct(c: Cluster, *args: str) -> list[str]:
    res = c.run("sacct", "-P", "-n", *args)
    assert res.returncode == 0, res.stderr
    return res.stdout.splitlines()


def test_requeue_keeps_every_attempt_with_its_steps(tmp_path):
    c = Cluster(tmp_path)
    script = c.gate("g", before=RUN, after="srun -J second true\n")
    job = str(c.submit(script))
    c.wait_output("up-0", "up")                  # attempt 0 ran its first step, now waits

    # requeuehold: the attempt is stopped and the job stays pending (held) afterwards, so
    # what follows does not race with a new run.  While it winds down (COMPLETING, Slurm's
    # PENDING|COMPLETING) and once pending, a second requeue is refused as Slurm refuses it.
    res = c.run("scontrol", "requeuehold", job)
    assert (res.returncode, res.stdout, res.stderr) == (0, "", "")
    res = c.run("scontrol", "requeue", job)
    assert (res.returncode, res.stdout, res.stderr) == (
        1, "", f"Job is pending execution for job {job}\n")
    wait_for(lambda: c.squeue("-h", "-j", job, "-o", "%t").strip() == "PD", what="PD")

    c.open_gate("g")
    assert c.run("scontrol", "release", job).returncode == 0
    c.wait_state(job, {"COMPLETED"})

    # a finished batch job may be requeued: it runs once more, its completed attempt stays
    res = c.run("scontrol", "requeue", job)
    assert (res.returncode, res.stdout, res.stderr) == (0, "", "")
    show = c.run("scontrol", "show", "job", job).stdout
    assert "   Requeue=1 Restarts=2 BatchFlag=1 Reboot=0 " in show
    wait_for(lambda: c.read("runs.log").count("\n") >= 3, what="the third run")
    c.wait_state(job, {"COMPLETED"})

    assert c.read("runs.log") == "run 0\nrun 1\nrun 2\n"     # three runs, no phantom one
    assert _acct(c, "-D", "-j", job, "-o", "jobid,jobname,state,exitcode,restarts") == [
        f"{job}|g.sh|REQUEUED|0:0|0",
        f"{job}.batch|batch|CANCELLED|0:15|",
        f"{job}.0|first|COMPLETED|0:0|",
        f"{job}|g.sh|COMPLETED|0:0|1",
        f"{job}.batch|batch|COMPLETED|0:0|",
        f"{job}.0|first|COMPLETED|0:0|",
        f"{job}.1|second|COMPLETED|0:0|",
        f"{job}|g.sh|COMPLETED|0:0|2",
        f"{job}.batch|batch|COMPLETED|0:0|",
        f"{job}.0|first|COMPLETED|0:0|",
        f"{job}.1|second|COMPLETED|0:0|"]
    assert _acct(c, "-j", job, "-o", "jobid,state,restarts") == [
        f"{job}|COMPLETED|2", f"{job}.batch|COMPLETED|", f"{job}.0|COMPLETED|",
        f"{job}.1|COMPLETED|"]
    # each attempt's times are its own: the steps of a run lie within that run
    rows = [r.split("|") for r in _acct(c, "-D", "-j", job, "-o", "jobid,start,end")]
    spans = []
    for jid, start, end in rows:
        if jid == job:
            spans.append((start, end))
        else:
            assert spans[-1][0] <= start <= end <= spans[-1][1], (jid, start, end, spans)
    assert spans[0][1] <= spans[1][0] and spans[1][1] <= spans[2][0]


def test_requeue_refusals(tmp_path):
    c = Cluster(tmp_path)
    c.script("h.sh", "#!/bin/bash\ntrue\n")
    held = str(c.submit("-H", "h.sh"))
    norq = str(c.submit("-H", "--no-requeue", "h.sh"))
    try:
        res = c.run("scontrol", "requeue", held)
        assert (res.returncode, res.stderr) == (1, f"Job is pending execution for job {held}\n")
        # slurmctld checks --no-requeue before the job's state
        res = c.run("scontrol", "requeue", norq)
        assert (res.returncode, res.stderr) == (
            1, f"Requested operation is presently disabled for job {norq}\n")
    finally:
        c.run("scancel", held, norq)
    # a job srun created is not a batch job
    res = c.run("srun", "-J", "direct", "true")
    assert res.returncode == 0, res.stderr
    direct = [line.split("|")[0] for line in _acct(c, "-X", "-o", "jobid,jobname")
              if line.endswith("|direct")]
    assert len(direct) == 1
    res = c.run("scontrol", "requeue", direct[0])
    assert (res.returncode, res.stderr) == (
        1, f"Only batch jobs are accepted or processed for job {direct[0]}\n")
    assert _acct(c, "-D", "-X", "-j", direct[0], "-o", "state,restarts") == ["COMPLETED|0"]
