"""The Batch releaser end to end: moto's server on 127.0.0.1 (full Batch backend, containers run
as local processes by tests/batch_fixtures.py's fake Docker), the real `sbatch` as a subprocess,
and then NO other slurmshim command: jobs slurmshim holds itself (a dependency Batch cannot
express, a begin time) must reach Batch and run because the background releaser that sbatch
started submits them.  The test watches the ledger (read directly, not through squeue, which
would release them itself) and moto.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("moto")
pytest.importorskip("boto3")

sys.path.insert(0, os.path.dirname(__file__))
import batch_fixtures as bf  # noqa: E402

from slurmshim.backends.batch import releaser as R  # noqa: E402
from slurmshim.backends.local import runner_alive, runner_pid  # noqa: E402
from slurmshim.ledger import Ledger  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BUCKET = "slurmshim-releaser"
#: how long any wait may take before the test fails: generous, a loaded CI machine (load
#: average 14 on 2 cores) is slow, and a wait that succeeds returns as soon as it can
WAIT = 90.0
#: C's begin time, seconds ahead: it must still be ahead when the test has seen C held,
#: right after its sbatch returned (~0.5 s here, several seconds on a loaded machine)
BEGIN = 8


@pytest.fixture(scope="module")
def moto():
    yield from bf.moto_with_fake_docker(None)


class World:
    def __init__(self, srv: bf.MotoServer, tmp: Path) -> None:
        import boto3
        self.srv, self.dir = srv, tmp
        srv.fake.kill_all()
        srv.reset()
        self.inf = bf.make_infra(srv.endpoint)
        kw = dict(endpoint_url=srv.endpoint, region_name=bf.REGION)
        boto3.client("s3", **kw).create_bucket(Bucket=BUCKET)
        self.batch = boto3.client("batch", **kw)
        self.state = tmp / "state"
        conf = bf.write_config(str(tmp / "slurmshim.toml"), self.inf, endpoint=srv.endpoint,
                               s3_bucket=BUCKET)
        self.env = dict(os.environ)
        self.env.update(bf.AWS_TEST_ENV)
        self.env.update(SLURMSHIM_CONF=conf, SLURMSHIM_STATE_DIR=str(self.state),
                        AWS_ENDPOINT_URL=srv.endpoint, PYTHONPATH=str(ROOT),
                        SLURMSHIM_BATCH_POLL="0", AWS_EC2_METADATA_DISABLED="true")
        for k in ("AWS_PROFILE", "SLURM_JOB_ID", "SLURM_CONF", "SLURMSHIM_BATCH_RELEASER"):
            self.env.pop(k, None)
        self._ledger: Ledger | None = None
        self.gates: set[Path] = set()

    def gate(self, name: str) -> str:
        """A shell command for a job's script: wait until `open_gate(name)` (bf.gate); every
        gate is opened when the test ends."""
        self.gates.add(self.dir / f"{name}.open")
        return bf.gate(self.dir / f"{name}.open")

    def open_gate(self, name: str) -> None:
        bf.open_gate(self.dir / f"{name}.open")

    def sbatch(self, *args: str) -> int:
        p = subprocess.run([sys.executable, "-m", "slurmshim.cli.sbatch", *args], env=self.env,
                           cwd=self.dir, capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        m = re.fullmatch(r"Submitted batch job (\d+)\n", p.stdout)
        assert m, p.stdout + p.stderr
        return int(m.group(1))

    @property
    def ledger(self) -> Ledger:
        if self._ledger is None:
            self._ledger = Ledger(self.state / "ledger.sqlite3")
        return self._ledger

    def batch_id(self, job: int) -> str | None:
        rec = self.ledger.get(job)
        ids = json.loads(rec.backend_id) if rec and rec.backend_id else []
        return ids[0] if ids else None

    def batch_status(self, bid: str) -> str | None:
        jobs = self.batch.describe_jobs(jobs=[bid])["jobs"]
        return jobs[0]["status"] if jobs else None

    def token(self) -> str | None:
        return self.ledger.kv_get(R.KV_TOKEN)

    def log(self) -> str:
        path = self.state / R.LOG_NAME
        return path.read_text() if path.exists() else ""


@pytest.fixture
def world(moto, tmp_path):
    w = World(moto, tmp_path)
    yield w
    for flag in w.gates:          # no job left waiting at a gate
        bf.open_gate(flag)
    # leave no releaser behind (a failed test may have left jobs waiting)
    tok = w.token() if (w.state / "ledger.sqlite3").exists() else None
    if tok and runner_alive(tok):
        os.kill(runner_pid(tok), 15)


def test_held_jobs_reach_batch_and_run_with_no_command_running(world):
    # A runs until the test has seen B held (A's gate), then fails; B waits for it to end
    # whatever its outcome (afterany: Batch's dependsOn cannot say that); C may not start
    # before its begin time.  A goes first, while no releaser runs: sbatch submits it itself
    a = world.sbatch("--wrap", f"{world.gate('a')}; exit 3")
    # one due in an hour starts the releaser and keeps it busy while this test looks at it
    # (were C and B released before the next sbatch, it would leave, and start again)
    guard = world.sbatch("--begin=now+1hour", "--wrap", "true")
    # C's begin time is BEGIN seconds ahead: still ahead however slow the machine when the
    # test sees it held, right after its sbatch returned
    c = world.sbatch(f"--begin=now+{BEGIN}", "-o", "c.out", "--wrap", "echo later")
    assert world.batch_id(c) is None and world.ledger.get(c).reason == "BeginTime"
    b = world.sbatch(f"--dependency=afterany:{a}", "-o", "b.out", "--wrap",
                     "echo after $SLURM_JOB_ID")
    assert world.batch_id(b) is None and world.ledger.get(b).reason == "Dependency"
    world.open_gate("a")
    # sbatch started ONE releaser for the state directory
    tok = bf.wait_for(world.token, WAIT, 0.1, "the releaser's token")
    assert runner_alive(tok)
    first = runner_pid(tok)

    # started a second time (by hand), it finds the first one and leaves at once
    t0 = time.monotonic()
    p = subprocess.run([sys.executable, "-m", "slurmshim.backends.batch.releaser",
                        str(world.state)], env=world.env, capture_output=True, text=True,
                       timeout=WAIT)
    assert (p.returncode, p.stdout, p.stderr) == (0, "", "")
    assert time.monotonic() - t0 < 30
    assert runner_pid(world.token()) == first

    # no command runs from here on: the ledger and moto only
    bf.wait_for(lambda: world.batch_id(c), WAIT, 0.2, "C submitted by the releaser")
    rec_c = world.ledger.get(c)
    assert rec_c.reason == "None"
    begin = world.ledger.load_spec(rec_c).begin_time
    (job_c,) = world.batch.describe_jobs(jobs=[world.batch_id(c)])["jobs"]
    assert job_c["createdAt"] / 1000 >= begin      # not before its begin time
    bf.wait_for(lambda: world.batch_id(b), WAIT, 0.2, "B submitted by the releaser")
    assert world.ledger.get(a).state.value == "FAILED"   # the releaser refreshed A
    assert world.ledger.get(a).exit_code == 3
    for job in (b, c):
        bid = world.batch_id(job)
        bf.wait_for(lambda: world.batch_status(bid) == "SUCCEEDED", WAIT, 0.3,
                    f"job {job} ({bid}) SUCCEEDED on Batch")
    assert (world.dir / "b.out").read_text() == f"after {b}\n"
    assert (world.dir / "c.out").read_text() == "later\n"
    assert world.batch_id(guard) is None and runner_alive(tok)

    # the last waiting job is cancelled: nothing left to wait for, the releaser goes (on its
    # own next look: scancel does not tell it), its token with it
    p = subprocess.run([sys.executable, "-m", "slurmshim.cli.scancel", str(guard)],
                       env=world.env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    bf.wait_for(lambda: world.token() is None and not runner_alive(tok), WAIT, 0.2,
                "the releaser's exit")
    log = world.log()
    assert "Traceback" not in log
    assert f"submitted job {b} to AWS Batch" in log and f"submitted job {c} to AWS Batch" in log
    assert "stopped: nothing left to wait for" in log
    assert log.count("started for") == 1


def test_held_with_h_starts_no_releaser_and_a_never_satisfiable_one_does_not_keep_it(world):
    held = world.sbatch("-H", "--wrap", "true")
    assert world.ledger.get(held).reason == "JobHeldUser"
    assert world.token() is None and not (world.state / R.LOG_NAME).exists()
    # afterok on a job that fails: Batch's own dependsOn (A is on Batch) -- nothing held;
    # afternotok on a job that succeeds: held, never satisfiable once A has ended
    a = world.sbatch("--wrap", "true")
    n = world.sbatch(f"--dependency=afternotok:{a}", "--wrap", "echo never")
    tok = bf.wait_for(world.token, WAIT, 0.1, "the releaser's token")
    bf.wait_for(lambda: world.ledger.get(n).reason == "DependencyNeverSatisfied", WAIT, 0.2,
                "DependencyNeverSatisfied")
    bf.wait_for(lambda: world.token() is None and not runner_alive(tok), WAIT, 0.2,
                "the releaser's exit")
    assert world.batch_id(n) is None and world.ledger.get(n).state.value == "PENDING"
    assert world.batch_id(held) is None
    assert "Traceback" not in world.log()


def test_a_stopped_releaser_leaves_no_traceback_and_the_next_command_starts_one(world):
    job = world.sbatch("--begin=now+1hour", "--wrap", "true")
    tok = bf.wait_for(world.token, WAIT, 0.1, "the releaser's token")
    os.kill(runner_pid(tok), 15)
    bf.wait_for(lambda: not runner_alive(tok), WAIT, 0.1, "the releaser's exit")
    assert world.token() is None
    log = world.log()
    assert "stopped by a signal" in log and "Traceback" not in log
    # the job still waits: the next command that looks (squeue) starts a releaser again
    p = subprocess.run([sys.executable, "-m", "slurmshim.cli.squeue", "-h", "-o", "%i %r"],
                       env=world.env, capture_output=True, text=True, timeout=120)
    assert (p.returncode, p.stdout) == (0, f"{job} BeginTime\n"), p.stderr
    again = bf.wait_for(world.token, WAIT, 0.1, "a new releaser")
    assert again != tok and runner_alive(again)
