"""submitit's Slurm executor, unmodified, against slurmshim's commands on the local backend.

submitit writes an sbatch script (`#SBATCH --output/--error/--open-mode=append/--signal=USR2@90/
--array=0-N%P/--wckey ...`) whose one command is `srun --unbuffered --output ... --error ...
python -u -m submitit.core._submit FOLDER`; it reads the job id from sbatch's stdout, polls
`sacct -o JobID,State,NodeList --parsable2 -j ID ...`, cancels with `scancel ID`, and inside the
job reads SLURM_JOB_ID / SLURM_ARRAY_JOB_ID / SLURM_ARRAY_TASK_ID / SLURM_PROCID /
SLURM_LOCALID / SLURM_NTASKS / SLURM_JOB_NUM_NODES / SLURM_NODEID / SLURM_JOB_NODELIST.  On
preemption (SIGTERM then USR2, `scancel --signal`) a checkpointable job runs
`scontrol requeue $SLURM_JOB_ID` from inside itself and comes back with SLURM_RESTART_COUNT=1.
"""
from __future__ import annotations

import os
import sys
import time

import pytest

submitit = pytest.importorskip("submitit")

from client_env import run, sacct_states, setup_cluster, stop_everything, wait_for  # noqa: E402


@pytest.fixture
def executor(tmp_path, monkeypatch):
    setup_cluster(tmp_path, monkeypatch)
    # submitit keeps one sacct cache per process, keyed by job id; every test starts its own
    # cluster at job id 1, so each gets a fresh cache.
    from submitit.slurm import slurm as sslurm
    monkeypatch.setattr(sslurm.SlurmJob, "watcher", sslurm.SlurmInfoWatcher(delay_s=600))
    # the jobs unpickle the functions below: send them by value (the jobs cannot import
    # this test module)
    import cloudpickle
    module = sys.modules[__name__]
    cloudpickle.register_pickle_by_value(module)
    ex = submitit.AutoExecutor(folder=str(tmp_path / "logs"), cluster="slurm")
    assert ex.cluster == "slurm"  # found srun on PATH
    ex.update_parameters(timeout_min=5, slurm_partition="local")
    try:
        yield ex
    finally:
        stop_everything()
        cloudpickle.unregister_pickle_by_value(module)


# -- functions run in the jobs (module level: submitit pickles them by reference) -------------

def add(a, b):
    return a + b


def describe(tag=None):
    env = submitit.JobEnvironment()
    keys = ("SLURM_JOB_ID", "SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_ID", "SLURM_PROCID",
            "SLURM_LOCALID", "SLURM_NTASKS", "SLURM_JOB_NUM_NODES", "SLURM_NODEID",
            "SLURM_JOB_NODELIST", "SLURM_STEP_ID", "SLURM_JOB_NAME", "SLURM_JOB_PARTITION",
            "SLURM_CPUS_ON_NODE")
    return {
        "tag": tag, "job_id": env.job_id, "raw_job_id": env.raw_job_id,
        "global_rank": env.global_rank, "local_rank": env.local_rank,
        "num_tasks": env.num_tasks, "num_nodes": env.num_nodes, "node": env.node,
        "hostnames": list(env.hostnames), "env": {k: os.environ.get(k) for k in keys},
        "start": time.time(), "end": (time.sleep(0.8), time.time())[1],
    }


def fail():
    raise ValueError("this job fails on purpose")


def sleep_long():
    time.sleep(300)
    return "not cancelled"


class Resumable(submitit.helpers.Checkpointable):
    """Blocks on its first run (so the test can preempt it); returns at once when requeued."""

    def __call__(self, marker):
        if not os.path.exists(marker):
            with open(marker, "w") as fh:
                fh.write(os.environ["SLURM_JOB_ID"])
            time.sleep(300)
        return {"restart": os.environ.get("SLURM_RESTART_COUNT"),
                "job_id": submitit.JobEnvironment().job_id}


# -- tests --------------------------------------------------------------------------------------

def test_submit_function_and_get_result(executor):
    job = executor.submit(add, 2, 3)
    assert job.job_id.isdigit()
    assert job.result() == 5
    info = executor.submit(describe, "one").result()
    assert info["job_id"] == info["raw_job_id"] == info["env"]["SLURM_JOB_ID"]
    assert info["env"]["SLURM_ARRAY_JOB_ID"] is None
    assert (info["global_rank"], info["local_rank"], info["num_tasks"]) == (0, 0, 1)
    assert (info["num_nodes"], info["node"]) == (1, 0)
    assert info["env"]["SLURM_STEP_ID"] == "0"  # it ran under srun, as step 0
    assert info["env"]["SLURM_JOB_NAME"] == "submitit"
    assert info["env"]["SLURM_JOB_PARTITION"] == "local"
    assert info["hostnames"] == [info["env"]["SLURM_JOB_NODELIST"]]
    # sacct, as submitit polls it, says COMPLETED for both jobs
    wait_for(lambda: job.done(force_check=True), 30, "submitit to see the job done")
    wait_for(lambda: job.watcher.get_state(job.job_id, mode="force") == "COMPLETED", 30,
             "sacct to say COMPLETED")
    acct = run("sacct", "-o", "JobID,State,NodeList", "--parsable2", "-j", job.job_id)
    lines = acct.stdout.splitlines()
    assert lines[0] == "JobID|State|NodeList"
    assert f"{job.job_id}|COMPLETED|{info['env']['SLURM_JOB_NODELIST']}" in lines
    assert f"{job.job_id}.0|COMPLETED|{info['env']['SLURM_JOB_NODELIST']}" in lines
    # the job's own log (submitit logs to stdout) went through srun's --output pattern
    assert "Job completed successfully" in job.stdout()


def test_map_array_honours_parallelism(executor):
    executor.update_parameters(slurm_array_parallelism=2)
    jobs = executor.map_array(describe, ["a", "b", "c", "d"])
    array_id = jobs[0].job_id.split("_")[0]
    assert [j.job_id for j in jobs] == [f"{array_id}_{i}" for i in range(4)]
    script = (jobs[0].paths.folder / f"{array_id}_submission.sh").read_text()
    assert "#SBATCH --array=0-3%2" in script
    results = [j.result() for j in jobs]
    assert [r["tag"] for r in results] == ["a", "b", "c", "d"]
    for i, r in enumerate(results):
        assert r["job_id"] == f"{array_id}_{i}"
        assert r["env"]["SLURM_ARRAY_JOB_ID"] == array_id
        assert r["env"]["SLURM_ARRAY_TASK_ID"] == str(i)
        # every task is a job of its own: its raw id is SLURM_JOB_ID
        assert r["env"]["SLURM_JOB_ID"] == r["raw_job_id"]
    assert len({r["raw_job_id"] for r in results}) == 4
    # %2 really limits concurrency
    spans = [(r["start"], r["end"]) for r in results]
    for t, _ in spans:
        assert sum(1 for s, e in spans if s <= t < e) <= 2
    states = wait_for(lambda: (lambda s: s if len(s) == 4 and set(s.values()) == {"COMPLETED"}
                               else None)(sacct_states(array_id)), 30, "4 COMPLETED tasks")
    assert sorted(states) == sorted(j.job_id for j in jobs)
    assert all(j.done() for j in jobs)


def test_exception_in_job_is_raised_and_job_fails(executor):
    job = executor.submit(fail)
    with pytest.raises(submitit.core.utils.FailedJobError, match="fails on purpose"):
        job.result()
    assert wait_for(lambda: sacct_states(job.job_id).get(job.job_id) == "FAILED", 30,
                    "FAILED in sacct")


def test_cancel_running_job(executor):
    job = executor.submit(sleep_long)
    wait_for(lambda: job.watcher.get_state(job.job_id, mode="force") == "RUNNING", 60,
             "the job to run")
    job.cancel()
    wait_for(lambda: job.done(force_check=True), 60, "submitit to see the job ended")
    assert job.state.startswith("CANCELLED")
    assert sacct_states(job.job_id)[job.job_id] == f"CANCELLED by {os.getuid()}"
    assert not job.paths.result_pickle.exists()


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs 2 CPUs for 2 tasks")
def test_two_tasks_per_node(executor):
    executor.update_parameters(tasks_per_node=2, cpus_per_task=1)
    job = executor.submit(describe, "multi")
    results = job.results()
    assert [(r["global_rank"], r["local_rank"], r["num_tasks"]) for r in results] == \
        [(0, 0, 2), (1, 1, 2)]
    assert {r["raw_job_id"] for r in results} == {job.job_id}


def test_preempted_job_requeues_itself_and_resumes(executor, tmp_path):
    marker = tmp_path / "first-run"
    job = executor.submit(Resumable(), str(marker))
    wait_for(marker.exists, 60, "the first run to start")
    # what submitit's own test helper does to simulate preemption: scancel --signal SIGTERM,
    # then --signal USR2; the job checkpoints and runs `scontrol requeue` on itself
    job._interrupt()
    result = job.result()
    assert result == {"restart": "1", "job_id": job.job_id}
    acct = run("sacct", "-D", "-X", "-P", "-n", "-o", "JobID,State,Start,AllocCPUS,NodeList",
               "-j", job.job_id)
    assert acct.returncode == 0, acct.stderr
    first = acct.stdout.splitlines()[0].split("|")
    # the preempted attempt is kept as REQUEUED, with the start, CPUs and node it ran on
    assert first[:2] == [job.job_id, "REQUEUED"]
    assert first[2] != "None" and first[3] == "1" and first[4] not in ("", "None assigned")
    wait_for(lambda: sacct_states(job.job_id).get(job.job_id) == "COMPLETED", 30,
             "COMPLETED after the requeue")
    log = job.stderr() or ""
    assert "DUE TO JOB REQUEUE" in log  # slurmstepd's banner in the job's error stream
    assert "CalledProcessError" not in log  # `scontrol requeue` returned 0 inside the job
