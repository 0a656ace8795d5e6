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


def test_requeuehold_is_a_user_hold_with_slurms_description(tmp_path):
    """`scontrol requeuehold`: slurmctld's _job_requeue_op sets Priority=0, the reason
    WAIT_HELD_USER (JobHeldUser, not the JobHeldAdmin of `scontrol hold`) and the description
    "job requeued in held state", which scontrol shows as the Reason (spaces as underscores,
    the 38 capture while the job is COMPLETING) and squeue as the reason, from the moment of the
    requeue until the hold changes.  sacct, which never sees the description, shows
    JobHeldUser.  The job traps SIGTERM and waits for a second gate, so it stays COMPLETING
    while the test looks (KillWait is longer than any test)."""
    c = Cluster(tmp_path, config="kill_wait = 600\n")
    trap = "trap 'echo term > term.log; until [ -e stop.open ]; do sleep 0.05; done; exit 0' TERM\n"
    job = str(c.submit(c.gate("g", before=trap + "echo up >> up.log\n")))
    c.wait_output("up.log", "up")
    res = c.run("scontrol", "requeuehold", job)
    assert (res.returncode, res.stdout, res.stderr) == (0, "", "")
    c.wait_output("term.log", "term")
    show = c.run("scontrol", "show", "job", job).stdout
    assert ("   Priority=0 Nice=0 Account=root QOS=normal\n"             # as 38 shows job 43
            "   JobState=COMPLETING Reason=job_requeued_in_held_state Dependency=(null)\n"
            "   Requeue=1 Restarts=1 BatchFlag=1 Reboot=0 ExitCode=0:0\n") in show
    assert c.squeue("-h", "-j", job, "-o", "%t") == "CG\n"

    c.open_gate("stop")
    wait_for(lambda: c.squeue("-h", "-j", job, "-o", "%t") == "PD\n", what="PD")
    show = c.run("scontrol", "show", "job", job).stdout
    assert ("   Priority=0 Nice=0 Account=root QOS=normal\n"
            "   JobState=PENDING Reason=job_requeued_in_held_state Dependency=(null)\n"
            "   Requeue=1 Restarts=1 BatchFlag=1 Reboot=0 ExitCode=0:0\n") in show
    # squeue prints the description when there is one (src/squeue/print.c)
    assert c.squeue("-h", "-j", job, "-o", "%t|%r|%R|%Q") == \
        "PD|job requeued in held state|(job requeued in held state)|0\n"
    assert _acct(c, "-X", "-j", job, "-o", "state,reason") == ["PENDING|JobHeldUser"]

    # `scontrol uhold` and `hold` replace the description with their own reason
    assert c.run("scontrol", "hold", job).returncode == 0
    assert " Reason=JobHeldAdmin " in c.run("scontrol", "show", "job", job).stdout
    c.open_gate("g")
    assert c.run("scontrol", "release", job).returncode == 0
    c.wait_state(job, {"COMPLETED"})
    assert c.read("up.log") == "up\nup\n"


def test_release_of_a_requeue_held_job_that_is_still_completing(tmp_path):
    """`scontrol release` is an update of the job's priority (scontrol_hold sends INFINITE),
    and slurmctld's _update_job refuses only finished jobs: a job `requeuehold` left
    PENDING|COMPLETING is released at once by _release_job_rec -- its priority back,
    Reason=None, the held-state description gone -- while it is still COMPLETING, and it runs
    again once its processes are gone (batch_requeue_fini), not held.  The job traps SIGTERM
    and waits for a second gate, so it stays COMPLETING until the test lets it end."""
    c = Cluster(tmp_path, config="kill_wait = 600\n")
    trap = "trap 'echo term > term.log; until [ -e stop.open ]; do sleep 0.05; done; exit 0' TERM\n"
    job = str(c.submit(c.gate("g", before=trap + "echo up >> up.log\n")))
    c.wait_output("up.log", "up")
    assert c.run("scontrol", "requeuehold", job).returncode == 0
    c.wait_output("term.log", "term")
    assert " Reason=job_requeued_in_held_state " in c.run("scontrol", "show", "job", job).stdout

    res = c.run("scontrol", "release", job)
    assert (res.returncode, res.stdout, res.stderr) == (0, "", "")
    show = c.run("scontrol", "show", "job", job).stdout
    assert ("   Priority=1 Nice=0 Account=root QOS=normal\n"
            "   JobState=COMPLETING Reason=None Dependency=(null)\n"
            "   Requeue=1 Restarts=1 BatchFlag=1 Reboot=0 ExitCode=0:0\n") in show
    assert c.squeue("-h", "-j", job, "-o", "%t|%r|%Q") == "CG|None|1\n"

    c.open_gate("stop")                           # the first run ends: the job runs again
    c.wait_output("up.log", "up\nup\n")
    c.open_gate("g")
    c.wait_state(job, {"COMPLETED"})
    assert _acct(c, "-D", "-X", "-j", job, "-o", "state,restarts") == [
        "REQUEUED|0", "COMPLETED|1"]


def test_requeued_failed_job_keeps_its_exit_code_until_it_runs_again(tmp_path):
    """slurmctld keeps a requeued job's exit code (_job_requeue_op and batch_requeue_fini leave
    job_ptr->exit_code alone): scontrol shows the FAILED run's ExitCode=3:0 while the job pends
    again, until select_nodes clears it as the job starts (or `scontrol release` does).  sacct
    shows 0:0 for the pending attempt: batch_requeue_fini starts a new accounting record, whose
    exit code is not set until the job ends; the FAILED attempt keeps 3:0 (sacct -D)."""
    c = Cluster(tmp_path, config='[partitions.one]\nbackend = "local"\ndefault = true\n'
                                 'cpus = 1\n')
    run = 'echo run >> runs-$SLURM_JOB_ID.log\n[ "${SLURM_RESTART_COUNT:-0}" = 0 ] && exit 3\n'
    job = str(c.submit(c.gate("f", before=run)))
    other = str(c.submit("--wrap", "exit 5"))
    c.wait_state(job, {"FAILED"})
    c.wait_state(other, {"FAILED"})
    blocker = str(c.submit(c.gate("g")))          # holds the only CPU: the requeued jobs pend
    c.wait_state(blocker, {"RUNNING"})

    res = c.run("scontrol", "requeue", job, other)
    assert (res.returncode, res.stdout, res.stderr) == (0, "", "")
    show = c.run("scontrol", "show", "job", job).stdout
    assert "   JobState=PENDING " in show
    assert "   Requeue=1 Restarts=1 BatchFlag=1 Reboot=0 ExitCode=3:0\n" in show
    assert _acct(c, "-j", job, "-o", "jobid,state,exitcode,derivedexitcode") == [
        f"{job}|PENDING|0:0|0:0"]
    assert _acct(c, "-D", "-j", job, "-o", "jobid,state,exitcode") == [
        f"{job}|FAILED|3:0", f"{job}.batch|FAILED|3:0", f"{job}|PENDING|0:0"]
    # a hold keeps the exit code, a release clears it (_release_job_rec)
    assert c.run("scontrol", "hold", other).returncode == 0
    assert " ExitCode=5:0\n" in c.run("scontrol", "show", "job", other).stdout
    assert c.run("scontrol", "release", other).returncode == 0
    show = c.run("scontrol", "show", "job", other).stdout
    assert "   JobState=PENDING " in show and " ExitCode=0:0\n" in show
    assert c.run("scancel", other).returncode == 0

    c.open_gate("g")                              # the job runs again and waits at its gate
    c.wait_output(f"runs-{job}.log", "run\nrun\n")
    c.wait_state(job, {"RUNNING"})
    show = c.run("scontrol", "show", "job", job).stdout
    assert "   JobState=RUNNING " in show and " ExitCode=0:0\n" in show
    c.open_gate("f")
    c.wait_state(job, {"COMPLETED"})
    assert _acct(c, "-D", "-X", "-j", job, "-o", "state,exitcode") == [
        "FAILED|3:0", "COMPLETED|0:0"]


def test_derived_exit_code_across_a_requeue(tmp_path):
    """DerivedExitCode (the highest exit code of the srun steps) across a requeue, as Slurm
    25.11's source has it.  slurmctld sets job_ptr->derived_ec to 0 once, when it creates the
    job record (job_mgr.c), and stepmgr's _internal_step_complete only raises it; nothing on a
    requeue, a release or a start (_job_requeue_op, batch_requeue_fini, _release_job_rec,
    select_nodes) resets it: `scontrol show job -d` keeps the highest of every run, also
    while the job runs again.  Accounting starts a new record at the requeue
    (batch_requeue_fini), whose derived_ec column starts at 0 (as_mysql_job_start leaves it
    to the column's default) and which only this run's steps raise while it runs; at the end
    as_mysql_job_complete stores GREATEST(job_ptr->derived_ec, derived_ec): every run's
    highest again.  (Needs the backend to keep the highest at the end and sacct to show a
    running requeued job's own record; see the requeue notes.)"""
    c = Cluster(tmp_path)
    run = ('if [ "${SLURM_RESTART_COUNT:-0}" = 0 ]; then srun sh -c "exit 3"; exit 0; fi\n'
           "srun true\necho up >> up.log\n")
    job = str(c.submit(c.gate("g", before=run)))

    def derived() -> str:
        show = c.run("scontrol", "-d", "show", "job", job).stdout
        return [w for w in show.split() if w.startswith("DerivedExitCode=")][0]

    c.wait_state(job, {"COMPLETED"})
    assert derived() == "DerivedExitCode=3:0"
    assert _acct(c, "-X", "-j", job, "-o", "state,exitcode,derivedexitcode") == [
        "COMPLETED|0:0|3:0"]

    assert c.run("scontrol", "requeue", job).returncode == 0
    c.wait_output("up.log", "up")                 # runs again, its `srun true` done
    c.wait_state(job, {"RUNNING"})
    assert derived() == "DerivedExitCode=3:0"     # slurmctld's: never reset
    assert _acct(c, "-X", "-j", job, "-o", "state,exitcode,derivedexitcode") == [
        "RUNNING|0:0|0:0"]                        # the new accounting record's own

    c.open_gate("g")
    c.wait_state(job, {"COMPLETED"})
    assert derived() == "DerivedExitCode=3:0"
    assert _acct(c, "-D", "-X", "-j", job, "-o", "state,exitcode,derivedexitcode") == [
        "COMPLETED|0:0|3:0", "COMPLETED|0:0|3:0"]


def test_earlier_attempts_show_the_jobs_account(tmp_path):
    """sacct -D: every attempt of a requeued job is charged to the job's account (95: the
    REQUEUED record of job 41 shows root, like the final one).  Attempts kept by slurmshim
    before it stored the default account and QOS in the ledger (schema 3) have none: they
    show the job's."""
    import sqlite3
    c = Cluster(tmp_path)
    c.script("t.sh", "#!/bin/bash\necho run >> runs.log\n")
    proj = str(c.submit("-A", "proj", "t.sh"))
    plain = str(c.submit("t.sh"))
    for job in (proj, plain):
        c.wait_state(job, {"COMPLETED"})
        assert c.run("scontrol", "requeue", job).returncode == 0
    wait_for(lambda: c.read("runs.log").count("\n") == 4, what="the second runs")
    for job in (proj, plain):
        c.wait_state(job, {"COMPLETED"})
    db = sqlite3.connect(str(c.state / "ledger.sqlite3"))
    with db:
        db.execute("UPDATE history SET record = json_set(record, '$.account', NULL,"
                   " '$.qos', NULL)")
    db.close()
    for job, account in ((proj, "proj"), (plain, "root")):
        assert _acct(c, "-D", "-X", "-j", job, "-o", "jobid,account,qos,state,restarts") == [
            f"{job}|{account}|normal|COMPLETED|0", f"{job}|{account}|normal|COMPLETED|1"]
    # the default format, as 95 shows job 41: the account on every line, steps included
    res = c.run("sacct", "-D", "-j", plain)
    assert [row[35:45] for row in res.stdout.splitlines()] == [
        "   Account", "----------"] + ["      root"] * 4, res.stdout


def test_requeue_held_array_task_folds_back_as_jobhelduser(tmp_path):
    """38/50: the requeue-held task 42_1 folds back into its pending meta record, the reasons
    joined by name: (JobArrayTaskLimit,JobHeldUser); with -r it shows its description."""
    c = Cluster(tmp_path)
    job = str(c.submit("--array=1-4%1", "-J", "arrrun",
                       c.gate("g", before="echo up >> up-$SLURM_ARRAY_TASK_ID\n")))
    c.wait_output("up-1", "up")
    assert c.run("scontrol", "requeuehold", f"{job}_1").returncode == 0
    c.wait_output("up-2", "up")                   # the throttle's one slot: task 2 runs
    try:
        assert c.squeue("-h", "-t", "PD", "-o", "%i|%R") == \
            f"{job}_[1,3-4]|(JobArrayTaskLimit,JobHeldUser)\n"
        assert f"{job}_1|(job requeued in held state)\n" in c.squeue("-h", "-r", "-o", "%i|%R")
    finally:
        c.run("scancel", job)
