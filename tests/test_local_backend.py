"""End-to-end behaviour of the local backend through the real commands: jobs really run, and
squeue / sacct / scontrol / scancel see what a Slurm user would see."""
from __future__ import annotations

import os
import signal
import time

import pytest

from slurm_cluster import Cluster, wait_for


@pytest.fixture
def cl(tmp_path):
    return Cluster(tmp_path)


def test_job_runs_and_is_accounted(cl):
    cl.script("hello.sh", "#!/bin/bash\necho hello from $SLURM_JOB_ID\n")
    res = cl.run("sbatch", "hello.sh")
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("Submitted batch job ")
    job = res.stdout.split()[-1]
    assert cl.wait_state(job, {"COMPLETED"}) == "COMPLETED"
    assert cl.read(f"slurm-{job}.out") == f"hello from {job}\n"
    acct = cl.run("sacct", "-j", job, "-P", "-o", "JobID,JobName,State,ExitCode").stdout
    assert acct == (f"JobID|JobName|State|ExitCode\n{job}|hello.sh|COMPLETED|0:0\n"
                    f"{job}.batch|batch|COMPLETED|0:0\n")


def test_script_is_copied_at_submit_time(cl):
    cl.script("edit.sh", "#!/bin/bash\n#SBATCH --hold\necho original\n")
    job = cl.submit("edit.sh")
    (cl.work / "edit.sh").write_text("#!/bin/bash\necho edited\n")
    os.unlink(cl.work / "edit.sh")
    assert cl.run("scontrol", "release", str(job)).returncode == 0  # only now can it start
    cl.wait_state(str(job), {"COMPLETED"})
    assert cl.read(f"slurm-{job}.out") == "original\n"


def test_wait_returns_the_jobs_exit_code(cl):
    cl.script("exit3.sh", "#!/bin/bash\nexit 3\n")
    res = cl.run("sbatch", "--parsable", "-W", "exit3.sh")
    assert res.returncode == 3
    job = res.stdout.strip()
    acct = cl.run("sacct", "-j", job, "-n", "-P", "-o", "State,ExitCode").stdout
    assert acct.splitlines() == ["FAILED|3:0", "FAILED|3:0"]


def test_array_throttle_is_never_exceeded(cl):
    cl.script("arr.sh", "#!/bin/bash\n"
              "date +%s.%N > start-$SLURM_ARRAY_TASK_ID\nsleep 0.6\n"
              "date +%s.%N > end-$SLURM_ARRAY_TASK_ID\n")
    res = cl.run("sbatch", "--wait", "--array=1,5,9-11%2", "arr.sh", timeout=90)
    assert res.returncode == 0, res.stderr
    spans = []
    for i in (1, 5, 9, 10, 11):
        spans.append((float(cl.read(f"start-{i}")), float(cl.read(f"end-{i}"))))
    for t, _ in spans:
        running = sum(1 for s, e in spans if s <= t < e)
        assert running <= 2
    outs = sorted(p.name for p in cl.work.glob("slurm-*_*.out"))
    job = res.stdout.split()[-1]
    assert outs == sorted(f"slurm-{job}_{i}.out" for i in (1, 5, 9, 10, 11))


def test_array_task_ids_are_exact(cl):
    cl.script("ids.sh", "#!/bin/bash\necho $SLURM_ARRAY_JOB_ID $SLURM_ARRAY_TASK_ID "
              "$SLURM_ARRAY_TASK_COUNT $SLURM_ARRAY_TASK_MIN $SLURM_ARRAY_TASK_MAX\n")
    res = cl.run("sbatch", "--parsable", "--wait", "--array=1,5,9", "-o", "ids-%a.out", "ids.sh",
                 timeout=60)
    assert res.returncode == 0, res.stderr
    job = res.stdout.strip()
    for i in (1, 5, 9):
        assert cl.read(f"ids-{i}.out") == f"{job} {i} 3 1 9\n"


def test_dependency_chain_and_never_satisfied(cl):
    cl.script("ok.sh", "#!/bin/bash\necho one > one.txt\n")
    cl.script("two.sh", "#!/bin/bash\ncat one.txt\n")
    cl.script("bad.sh", "#!/bin/bash\nexit 1\n")
    first = cl.submit("--hold", "ok.sh")
    second = cl.submit(f"--dependency=afterok:{first}", "two.sh")
    out = cl.squeue("-j", str(second), "-h", "-o", "%i %r")
    assert out.strip() == f"{second} Dependency"
    assert cl.run("scontrol", "release", str(first)).returncode == 0
    cl.wait_state(str(second), {"COMPLETED"})
    assert cl.read(f"slurm-{second}.out") == "one\n"
    bad = cl.submit("bad.sh")
    cl.wait_state(str(bad), {"FAILED"})
    never = cl.submit(f"--dependency=afterok:{bad}", "two.sh")
    wait_for(lambda: cl.squeue("-j", str(never), "-h", "-o", "%t %r").strip() ==
             "PD DependencyNeverSatisfied", what="DependencyNeverSatisfied")
    ok_on_fail = cl.submit(f"--dependency=afternotok:{bad}", "ok.sh")
    cl.wait_state(str(ok_on_fail), {"COMPLETED"})


def test_unknown_dependency_is_refused(cl):
    cl.script("ok.sh", "#!/bin/bash\ntrue\n")
    res = cl.run("sbatch", "--dependency=afterok:999999", "ok.sh")
    assert res.returncode == 1
    assert res.stderr == "sbatch: error: Batch job submission failed: Job dependency problem\n"


def test_hold_release_and_cancel_pending(cl):
    cl.script("ok.sh", "#!/bin/bash\necho ran\n")
    job = cl.submit("-H", "ok.sh")
    assert cl.squeue("-h", "-o", "%i %t %r").strip() == f"{job} PD JobHeldUser"
    res = cl.run("scontrol", "release", str(job))
    assert res.returncode == 0, res.stderr
    cl.wait_state(str(job), {"COMPLETED"})
    held = cl.submit("-H", "ok.sh")
    assert cl.run("scancel", str(held)).returncode == 0
    assert cl.state_of(str(held)).startswith("CANCELLED")
    assert not (cl.work / f"slurm-{held}.out").exists()


def test_cancel_running_job_writes_slurms_banner(cl):
    job = str(cl.submit(cl.gate("g", before="echo started\n")))  # never opened: scancel ends it
    cl.wait_output(f"slurm-{job}.out", "started")
    assert cl.run("scancel", job).returncode == 0
    st = cl.wait_state(job, {"CANCELLED"})
    assert st == f"CANCELLED by {os.getuid()}"
    out = cl.read(f"slurm-{job}.out")
    assert f"error: *** JOB {job} ON node01 CANCELLED AT " in out
    assert "DUE to SIGNAL Terminated ***" in out
    steps = cl.run("sacct", "-j", job, "-n", "-P", "-o", "JobID,State,ExitCode").stdout
    assert steps.splitlines()[1] == f"{job}.batch|CANCELLED|0:15"
    # A second scancel of a finished job is silent, exit 0; with --signal it is an error.
    again = cl.run("scancel", job)
    assert (again.returncode, again.stderr) == (0, "")
    sig = cl.run("scancel", "--signal=USR1", job)
    assert sig.returncode == 1
    assert sig.stderr == f"scancel: error: Kill job error on job id {job}: Invalid job id specified\n"


def test_time_limit_is_given_to_the_job(cl):
    """The runtime enforces it (tests/test_runtime_job.py drives a real TIMEOUT); here: the
    limit reaches scontrol and the job's environment, seconds rounded up to the minute."""
    job = str(cl.submit("--time=0:30", cl.gate(
        "g", before="echo $SLURM_JOB_END_TIME $SLURM_JOB_START_TIME\n")))
    cl.wait_state(job, {"RUNNING"})
    assert "TimeLimit=00:01:00" in cl.run("scontrol", "show", "job", job).stdout
    end, start = map(int, cl.wait_output(f"slurm-{job}.out", "\n").split())
    assert end - start == 60
    cl.open_gate("g")
    cl.wait_state(job, {"COMPLETED"})


@pytest.mark.parametrize("status,cancelled_by,expected", [
    ({"state": "COMPLETED", "exit_code": 0}, None, ("COMPLETED", 0, 0, "None")),
    ({"state": "FAILED", "exit_code": 3}, None, ("FAILED", 3, 0, "NonZeroExitCode")),
    ({"state": "FAILED", "exit_code": 0, "signal": 9}, None, ("FAILED", 0, 9, "RaisedSignal")),
    ({"state": "TIMEOUT", "exit_code": 0, "signal": 15}, None, ("TIMEOUT", 0, 0, "TimeLimit")),
    ({"state": "CANCELLED", "signal": 15}, 0, ("CANCELLED", 0, 0, "None")),
    ({"state": "CANCELLED", "signal": 15}, None, ("CANCELLED", 0, 15, "None")),
    ({"state": "FAILED", "reason": "couldn't execute"}, None,
     ("FAILED", 0, 0, "JobLaunchFailure")),
])
def test_final_state(status, cancelled_by, expected):
    from slurmshim.backends.local_runner import final_state
    state, code, sig, reason = final_state(status, cancelled_by)
    assert (state.value, code, sig, reason) == expected


def test_runner_killed_means_node_fail(cl):
    job = str(cl.submit(cl.gate("g")))                 # it runs until its runner is killed
    try:
        cl.wait_state(job, {"RUNNING"})
        from slurmshim.ledger import Ledger
        token = wait_for(lambda: Ledger(cl.state / "ledger.sqlite3").get(int(job)).backend_id,
                         what="the runner to register")
        pid = int(token.split(":")[0])
        # the runtime and the batch script have started (the runner registers before that)
        import json
        spool = cl.state / "spool" / job

        def started():
            try:
                return (json.loads((spool / "pids.json").read_text())["main"],
                        json.loads((spool / "status.json").read_text())["batch_pid"])
            except (OSError, ValueError, KeyError):
                return None
        main, batch = wait_for(started, what="the runtime and the batch script to start")
        os.kill(pid, signal.SIGKILL)
        st = cl.wait_state(job, {"NODE_FAIL"})          # (a runner younger than 2 s is spared)
        assert st == "NODE_FAIL"
        # the job's processes are not left behind either: the runtime, and the batch script
        # (its own session) with everything it started
        wait_for(lambda: not _alive(main) and not _alive(batch),
                 what="the runtime and the batch script to be killed")
    finally:
        cl.open_gate("g")   # whatever survived the runner (the batch script does): let it end


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


def test_requeue_runs_again_with_restart_count(cl):
    # the first run waits at its gate (never opened: the requeue ends it); the second runs through
    job = str(cl.submit(cl.gate("g", before="echo restart=$SLURM_RESTART_COUNT >> rq.log\n"
                                "[ -n \"$SLURM_RESTART_COUNT\" ] && exit 0\n")))
    cl.wait_output("rq.log", "restart=\n")
    res = cl.run("scontrol", "requeue", job)
    assert res.returncode == 0, res.stderr
    cl.wait_state(job, {"COMPLETED"})
    assert cl.read("rq.log") == "restart=\nrestart=1\n"
    show = cl.run("scontrol", "show", "job", job).stdout
    assert "Restarts=1" in show
    dup = cl.run("sacct", "-D", "-X", "-j", job, "-n", "-P", "-o", "State").stdout
    assert dup.splitlines() == ["REQUEUED", "COMPLETED"]


def test_impossible_request_is_refused_at_submit(cl):
    cl.script("ok.sh", "#!/bin/bash\ntrue\n")
    res = cl.run("sbatch", "-N", "3", "ok.sh")
    assert res.returncode == 1
    assert res.stderr == ("sbatch: error: Batch job submission failed: "
                          "Requested node configuration is not available\n")
    assert cl.squeue("-h", "-t", "all") == ""


def test_concurrent_sbatch_get_distinct_ids(cl):
    import subprocess
    import sys
    cl.script("ok.sh", "#!/bin/bash\n#SBATCH --hold\ntrue\n")
    procs = [subprocess.Popen([sys.executable, "-m", "slurmshim.cli.sbatch", "--parsable",
                               "ok.sh"], cwd=cl.work, env=cl.env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(20)]
    ids = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        ids.append(int(out))
    assert sorted(ids) == list(range(1, 21))
    listed = cl.squeue("-h", "-o", "%i").split()
    assert sorted(map(int, listed)) == ids and len(listed) == 20 or sorted(map(int, listed)) == sorted(ids)


def test_purge_policy_forgets_old_finished_jobs(tmp_path):
    c = Cluster(tmp_path, config="purge_after_days = 0\n")
    c.script("ok.sh", "#!/bin/bash\ntrue\n")
    first = c.submit("ok.sh")
    c.wait_state(str(first), {"COMPLETED"})
    from slurmshim.ledger import Ledger
    led = Ledger(c.state / "ledger.sqlite3")
    with led.transaction():
        led.kv_set("purge:last", "0")
        led.update(first, end_time=time.time() - 10)
    second = c.submit("--hold", "ok.sh")
    assert c.run("sacct", "-j", str(first), "-n").stdout == ""
    assert c.run("squeue", "-h", "-o", "%i").stdout.split() == [str(second)]


def test_partition_limits_keep_jobs_pending(tmp_path):
    c = Cluster(tmp_path, config=(
        '[partitions.short]\nbackend = "local"\ndefault = true\nmax_time = "10"\n'
        '[partitions.off]\nbackend = "local"\nstate = "DOWN"\n'))
    c.script("ok.sh", "#!/bin/bash\ntrue\n")
    long_job = c.submit("-t", "20", "ok.sh")
    down_job = c.submit("-p", "off", "ok.sh")
    out = c.squeue("-h", "-o", "%i %t %r")
    assert f"{long_job} PD PartitionTimeLimit" in out.splitlines()
    assert f"{down_job} PD PartitionDown" in out.splitlines()


def test_multinode_batch_step_runs_on_the_first_node(tmp_path):
    c = Cluster(tmp_path, config='[partitions.local]\nbackend = "local"\nnodes = 2\ndefault = true\n')
    c.script("mn.sh", "#!/bin/bash\necho $SLURM_JOB_NODELIST $SLURMD_NODENAME\n")
    res = c.run("sbatch", "--parsable", "-W", "-N", "2", "mn.sh", timeout=90)
    assert res.returncode == 0, res.stderr
    job = res.stdout.strip()
    assert c.read(f"slurm-{job}.out") == "node[01-02] node01\n"
    acct = c.run("sacct", "-j", job, "-n", "-P", "-o", "JobID,NodeList").stdout.splitlines()
    assert acct == [f"{job}|node[01-02]", f"{job}.batch|node01"]


def test_exec_launch_path_still_works(cl):
    """SLURMSHIM_LOCAL_EXEC=1: the runtime runs as its own interpreter instead of a fork."""
    cl.script("hello.sh", "#!/bin/bash\necho exec $SLURM_JOB_ID\n")
    res = cl.run("sbatch", "--parsable", "-W", "hello.sh", env={"SLURMSHIM_LOCAL_EXEC": "1"})
    assert res.returncode == 0, res.stderr
    job = res.stdout.strip()
    assert cl.read(f"slurm-{job}.out") == f"exec {job}\n"


ONE_CPU = '[partitions.one]\nbackend = "local"\ndefault = true\ncpus = 1\n'


def _start_order(c: Cluster, jobs: list[int]) -> list[int]:
    """Jobs in the order they started, from the start-$SLURM_JOB_ID stamps STAMP writes
    (sacct's Start has whole seconds only)."""
    for j in jobs:
        c.wait_state(str(j), {"COMPLETED"}, timeout=60)
    return sorted(jobs, key=lambda j: float((c.work / f"start-{j}").read_text()))


STAMP = "#!/bin/bash\ndate +%s.%N > start-$SLURM_JOB_ID\nsleep 0.2\n"


def test_priority_and_nice_order_pending_jobs(tmp_path):
    c = Cluster(tmp_path, config=ONE_CPU)
    c.script("s.sh", STAMP)
    blocker = c.submit(c.gate("g"))
    c.wait_state(str(blocker), {"RUNNING"})
    low = c.submit("--nice=100", "s.sh")
    normal = c.submit("s.sh")
    high = c.submit("--priority=50", "s.sh")
    out = c.squeue("-h", "-o", "%i %r", "-t", "PD").split("\n")
    reasons = dict(line.split() for line in out if line)
    assert reasons[str(high)] == "Resources"          # the top pending job waits on resources
    assert reasons[str(low)] == "Priority"            # the others wait behind it
    c.open_gate("g")
    assert _start_order(c, [low, normal, high]) == [high, normal, low]


def test_exclusive_job_gets_the_node_alone(tmp_path):
    c = Cluster(tmp_path, config='[partitions.p]\nbackend = "local"\ndefault = true\ncpus = 4\n')
    c.script("s.sh", "#!/bin/bash\nsleep 0.2\n")
    first = c.submit(c.gate("g1"))
    c.wait_state(str(first), {"RUNNING"})
    excl = c.submit("--exclusive", c.gate("g2"))
    assert c.squeue("-h", "-j", str(excl), "-o", "%t %r").strip() == "PD Resources"
    c.open_gate("g1")
    c.wait_state(str(excl), {"RUNNING"})
    shared = c.submit("s.sh")
    assert c.squeue("-h", "-j", str(shared), "-o", "%t").strip() == "PD"
    c.open_gate("g2")
    c.wait_state(str(shared), {"COMPLETED"})


def test_singleton_runs_one_at_a_time(tmp_path):
    c = Cluster(tmp_path)
    a = c.submit("-J", "solo", "--dependency=singleton", c.gate("g", after="touch a.done\n"))
    c.wait_state(str(a), {"RUNNING"})
    b = c.submit("-J", "solo", "--dependency=singleton", "--wrap=test -e a.done")
    # however long the test takes, `a` runs until its gate opens: `b` waits for it
    assert c.squeue("-h", "-j", str(b), "-o", "%t %r").strip() == "PD Dependency"
    c.open_gate("g")
    c.wait_state(str(b), {"COMPLETED"})                # it ran after `a` had ended


def test_kill_on_invalid_dep_cancels(tmp_path):
    c = Cluster(tmp_path)
    c.script("bad.sh", "#!/bin/bash\nexit 1\n")
    c.script("ok.sh", "#!/bin/bash\ntrue\n")
    bad = c.submit("bad.sh")
    c.wait_state(str(bad), {"FAILED"})
    dep = c.submit(f"--dependency=afterok:{bad}", "--kill-on-invalid-dep=yes", "ok.sh")
    st = c.wait_state(str(dep), {"CANCELLED"})
    assert st.startswith("CANCELLED")


def test_aftercorr_pairs_array_tasks(tmp_path):
    c = Cluster(tmp_path)
    c.script("a.sh", "#!/bin/bash\n[ $SLURM_ARRAY_TASK_ID != 2 ] || exit 1\n")
    c.script("b.sh", "#!/bin/bash\necho $SLURM_JOB_ID $SLURM_ARRAY_TASK_ID\n")
    a = c.submit("--array=1-3", "a.sh")
    b = c.submit("--array=1-3", f"--dependency=aftercorr:{a}", "-o", "b-%a.out", "b.sh")
    c.wait_state(f"{b}_1", {"COMPLETED"})
    c.wait_state(f"{b}_3", {"COMPLETED"})
    # its partner failed (maybe only after b_1 and b_3 ran): it never runs
    wait_for(lambda: c.squeue("-h", "-r", "-j", str(b), "-o", "%i %t %r").strip() ==
             f"{b}_2 PD DependencyNeverSatisfied", what="b_2 DependencyNeverSatisfied")
    assert not (c.work / "b-2.out").exists()
    # task ids stay exact, raw ids distinct, and what the job saw is what sacct records
    raw = dict(line.split("|") for line in c.run(
        "sacct", "-j", str(b), "-X", "-n", "-P", "-o", "JobID,JobIDRaw").stdout.split())
    for i in (1, 3):
        seen_id, seen_task = c.read(f"b-{i}.out").split()
        assert seen_task == str(i) and raw[f"{b}_{i}"] == seen_id
    assert raw[f"{b}_1"] != raw[f"{b}_3"] and str(b) not in (raw[f"{b}_1"], raw[f"{b}_3"])
