"""dask-jobqueue's SLURMCluster, unmodified, against slurmshim's commands on the local backend.

dask-jobqueue writes a job script with a `#!/usr/bin/env bash` shebang and the header
`#SBATCH -J dask-worker / -e LOGDIR/dask-worker-%J.err / -o LOGDIR/dask-worker-%J.out / -p QUEUE /
-n 1 / --cpus-per-task=N / --mem=NM / -t HH:MM:SS`, submits it with `sbatch FILE` (the file is
deleted right after: sbatch must have copied it), takes the first number in sbatch's stdout as
the job id, and stops each worker with `scancel ID` when scaling down or closing.
"""
from __future__ import annotations

import os
import sys

import pytest

pytest.importorskip("dask_jobqueue")
pytest.importorskip("distributed")

from client_env import run, sacct_states, setup_cluster, stop_everything, wait_for  # noqa: E402


@pytest.fixture
def cluster_env(tmp_path, monkeypatch):
    setup_cluster(tmp_path, monkeypatch)
    try:
        yield tmp_path
    finally:
        stop_everything()


def test_slurmcluster_scales_computes_and_closes(cluster_env):
    from dask.distributed import Client
    from dask_jobqueue import SLURMCluster

    logs = cluster_env / "logs"
    cluster = SLURMCluster(cores=1, processes=1, memory="1GB", queue="local",
                           walltime="00:10:00", log_directory=str(logs),
                           python=sys.executable, death_timeout=60,
                           scheduler_options={"host": "127.0.0.1"})
    try:
        script = cluster.job_script()
        assert "#SBATCH -p local" in script and "#SBATCH --mem=954M" in script
        with Client(cluster) as client:
            cluster.scale(jobs=2)
            client.wait_for_workers(2, timeout=120)
            job_ids = sorted(job.job_id for job in cluster.workers.values())
            assert len(job_ids) == 2 and all(j.isdigit() for j in job_ids)

            squeue = run("squeue", "-h", "-o", "%i %j %T %C", "-j", ",".join(job_ids))
            assert squeue.returncode == 0, squeue.stderr
            assert sorted(squeue.stdout.split("\n")[:-1]) == \
                [f"{j} dask-worker RUNNING 1" for j in job_ids]

            # (only importable functions: the workers cannot import this test module)
            futures = client.map(pow, range(20), [2] * 20)
            assert client.submit(sum, futures).result(timeout=60) == sum(x * x for x in range(20))

            # each worker runs inside its own job and sees that job's Slurm environment
            def env(name):
                return sorted(client.run(os.getenv, name).values())
            assert env("SLURM_JOB_ID") == job_ids
            assert env("SLURM_JOB_NAME") == ["dask-worker"] * 2
            assert env("SLURM_CPUS_PER_TASK") == ["1"] * 2
            assert env("SLURM_NTASKS") == ["1"] * 2
            assert env("SLURM_JOB_PARTITION") == ["local"] * 2
            assert env("SLURM_MEM_PER_NODE") == ["954"] * 2

            # scaling down cancels one job
            cluster.scale(jobs=1)
            wait_for(lambda: len(client.scheduler_info()["workers"]) == 1, 60,
                     "one worker left")
            gone = wait_for(lambda: [j for j in job_ids if sacct_states(j).get(j, "")
                                     .startswith("CANCELLED")], 60, "a cancelled job")
            assert len(gone) == 1
            assert client.submit(pow, 7, 2).result(timeout=60) == 49
    finally:
        cluster.close()

    # close() cancels the rest: nothing is left in the queue
    def all_ended():
        states = {j: sacct_states(j).get(j, "") for j in job_ids}
        return states if all(s and s.split()[0] in ("CANCELLED", "COMPLETED")
                             for s in states.values()) else None
    states = wait_for(all_ended, 60, "both jobs to end")
    assert sum(s.startswith("CANCELLED") for s in states.values()) >= 1
    assert run("squeue", "-h", "-j", ",".join(job_ids)).stdout == ""

    # the worker logs went where `-e/-o LOGDIR/dask-worker-%J.*` put them (%J of a batch
    # step is the bare job id)
    for j in job_ids:
        err = (logs / f"dask-worker-{j}.err").read_text()
        assert "Starting Worker" in err or "Start worker" in err
        assert (logs / f"dask-worker-{j}.out").exists()
