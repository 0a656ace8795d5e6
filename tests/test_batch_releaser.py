"""The Batch releaser in-process (slurmshim/backends/batch/releaser.py): which jobs it waits
for, the API calls one look costs (counted, with botocore's Stubber: no traffic), its back-off
and begin-time wake-ups on a fake clock, how it finishes, and how commands start or wake it.
End to end on moto's server: tests/test_batch_releaser_e2e.py."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

pytest.importorskip("moto")
pytest.importorskip("boto3")

sys.path.insert(0, os.path.dirname(__file__))
import batch_fixtures as bf  # noqa: E402
from test_batch_backend import Stubs, detail, make_ctl, submit  # noqa: E402

from slurmshim.backends import local as L  # noqa: E402
from slurmshim.backends.batch import releaser as R  # noqa: E402
from slurmshim.model import JobState  # noqa: E402


@pytest.fixture(autouse=True)
def _env(monkeypatch):
    bf.in_process_aws_env(monkeypatch, poll="2")


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def test_one_look_costs_one_describe_of_what_held_jobs_wait_for(tmp_path):
    ctl = make_ctl(tmp_path)
    st = Stubs(ctl)
    st.submit_ok("b-a", "b-x")
    a = submit(ctl, tmp_path, "--wrap", "sleep 60")
    submit(ctl, tmp_path, "--wrap", "sleep 60")        # on Batch, nobody waits for it
    b = submit(ctl, tmp_path, f"--dependency=afterany:{a}", "--wrap", "true")
    c = submit(ctl, tmp_path, "--begin=now+1hour", "--wrap", "true")
    held = submit(ctl, tmp_path, "-H", "--wrap", "true")
    assert [ctl.ledger.get(j).reason for j in (b, c, held)] == \
        ["Dependency", "BeginTime", "JobHeldUser"]
    st.done()
    held_recs, requeued = R.waiting_candidates(ctl)
    assert [r.job_id for r in held_recs] == [b, c] and requeued == []
    assert [r.job_id for r in R.dependency_targets(ctl, held_recs)] == [a]

    clock = Clock()
    logs: list[str] = []
    rel = R.Releaser(ctl, st.backend, clock=clock, log=logs.append)
    st.counter.reset()
    running = detail("b-a", "RUNNING", startedAt=1_700_000_000_000)
    delays = []
    # A runs: the ledger learns it (a change), then nothing changes: the polls back off
    for d in (running, running):
        st.batch.add_response("describe_jobs", {"jobs": [d]}, {"jobs": ["b-a"]})
        delays.append(rel.step())
    assert ctl.ledger.get(a).state == JobState.RUNNING
    # A fails: afterany is satisfied, B goes to Batch; the polls start over
    st.batch.add_response("describe_jobs", {"jobs": [detail(
        "b-a", "FAILED", startedAt=1_700_000_000_000, stoppedAt=1_700_000_009_000,
        container={"exitCode": 3})]}, {"jobs": ["b-a"]})
    st.batch.add_response("submit_job", {"jobName": "n", "jobId": "b-b"}, None)
    delays.append(rel.step())
    rec_a, rec_b = ctl.ledger.get(a), ctl.ledger.get(b)
    assert (rec_a.state, rec_a.exit_code) == (JobState.FAILED, 3)
    assert (rec_b.backend_id, rec_b.reason) == ('["b-b"]', "None")
    # only C waits, for the clock: no API call, and no sleeping past its begin time
    begin = ctl.load_spec(ctl.ledger.get(c)).begin_time
    clock.now = begin - 1.0
    delays.append(rel.step())
    assert delays == [2.0, 3.0, 2.0, 1.0]
    assert st.counter.snapshot() == {"batch.DescribeJobs": 3, "batch.SubmitJob": 1}
    assert logs == [f"submitted job {b} to AWS Batch (" + '["b-b"])']
    # C is cancelled: nothing waits any more (the -H job waits for a person): done
    ctl.cancel_records([ctl.ledger.get(c)])
    assert rel.step() is None
    st.done()


def test_it_finishes_only_when_nothing_can_arrive_unseen(tmp_path):
    ctl = make_ctl(tmp_path)
    st = Stubs(ctl)
    rel = R.Releaser(ctl, st.backend, log=lambda m: None)
    rel.token = "tok"
    ctl.ledger.kv_set(R.KV_TOKEN, "tok")
    # a job submitted after its last look and before it removes its token: it stays
    late = submit(ctl, tmp_path, "--begin=now+1hour", "--wrap", "true")
    assert rel._finish() is False and ctl.ledger.kv_get(R.KV_TOKEN) == "tok"
    ctl.cancel_records([ctl.ledger.get(late)])
    # a dependency that can never be satisfied waits for nothing: it goes
    st.submit_ok("b-ok")
    ok = submit(ctl, tmp_path, "--wrap", "true")
    ctl.ledger.update(ok, state=JobState.COMPLETED, end_time=time.time())
    never = submit(ctl, tmp_path, f"--dependency=afternotok:{ok}", "--wrap", "true")
    assert ctl.ledger.get(never).reason == "DependencyNeverSatisfied"
    assert rel.step() is None
    assert ctl.ledger.kv_get(R.KV_TOKEN) is None
    st.done()


def test_errors_are_logged_retried_with_back_off_and_given_up(tmp_path, monkeypatch):
    ctl = make_ctl(tmp_path)
    st = Stubs(ctl)
    clock = Clock()
    logs: list[str] = []
    rel = R.Releaser(ctl, st.backend, clock=clock, log=logs.append)

    def broken():
        raise OSError("Could not connect to the endpoint URL: \"http://127.0.0.1:9/\"\n  x")
    monkeypatch.setattr(rel, "pass_once", broken)
    assert [rel.step(), rel.step()] == [2.0, 3.0]
    assert logs[0] == ('error (retrying): Could not connect to the endpoint URL: '
                       '"http://127.0.0.1:9/" x')
    clock.now += R.GIVE_UP + 1
    assert rel.step() is None
    assert logs[-1].startswith("giving up after ")


def test_commands_start_or_wake_the_releaser(tmp_path, monkeypatch):
    ctl = make_ctl(tmp_path)
    started = []
    real_popen = subprocess.Popen
    monkeypatch.setenv("SLURMSHIM_BATCH_RELEASER", "1")
    monkeypatch.setattr(subprocess, "Popen", lambda argv, **kw: started.append((argv, kw)))
    # none runs: one is started, detached, logging to the state directory
    R.ensure_releaser(ctl)
    (argv, kw), = started
    assert argv == [sys.executable, "-m", "slurmshim.backends.batch.releaser",
                    str(ctl.state_dir)]
    assert kw["start_new_session"] and kw["env"]["SLURMSHIM_STATE_DIR"] == str(ctl.state_dir)
    assert kw["stdout"].name == str(ctl.state_dir / R.LOG_NAME)
    # one runs: woken (SIGUSR1), not started again; without `kick`, left alone
    sleeper = real_popen(["sleep", "60"])
    try:
        ctl.ledger.kv_set(R.KV_TOKEN, L.runner_token(sleeper.pid))
        R.ensure_releaser(ctl, kick=False)
        assert sleeper.poll() is None and len(started) == 1
        R.ensure_releaser(ctl)
        assert sleeper.wait(timeout=60) == -signal.SIGUSR1   # (sleep dies of it)
        assert len(started) == 1
    finally:
        if sleeper.poll() is None:
            sleeper.kill()
            sleeper.wait()
    # disabled: nothing at all
    ctl.ledger.kv_set(R.KV_TOKEN, "1:x:y")
    monkeypatch.setenv("SLURMSHIM_BATCH_RELEASER", "0")
    R.ensure_releaser(ctl)
    assert len(started) == 1


def test_poll_bounds():
    assert R.poll_bounds(2.0) == (2.0, 30.0)
    assert R.poll_bounds(0.0) == (0.25, 2.0)      # tests: fast, still backing off
    assert R.poll_bounds(10.0) == (10.0, 30.0)


def test_one_job_that_cannot_be_planned_does_not_block_the_others(tmp_path, monkeypatch):
    ctl = make_ctl(tmp_path)
    st = Stubs(ctl)
    st.submit_ok("b-a")
    a = submit(ctl, tmp_path, "--wrap", "true")
    x = submit(ctl, tmp_path, f"--dependency=afterany:{a}", "--wrap", "true")
    y = submit(ctl, tmp_path, f"--dependency=afterany:{a}", "--wrap", "true")
    ctl.ledger.update(a, state=JobState.COMPLETED, end_time=time.time())  # (known already)
    logs: list[str] = []
    rel = R.Releaser(ctl, st.backend, log=logs.append)
    real_plan = st.backend.plan

    def plan(ctl_, rec, *a, **kw):
        if rec.job_id == x:
            raise ValueError("cannot plan\nthis one")
        return real_plan(ctl_, rec, *a, **kw)
    monkeypatch.setattr(st.backend, "plan", plan)
    st.batch.add_response("submit_job", {"jobName": "n", "jobId": "b-y"}, None)
    assert rel.step() == 2.0                           # x still waits: look again
    assert ctl.ledger.get(y).backend_id == '["b-y"]' and ctl.ledger.get(x).backend_id is None
    assert logs == [f"job {x}: error (retrying): cannot plan this one",
                    f"submitted job {y} to AWS Batch " + '(["b-y"])']
    monkeypatch.setattr(st.backend, "plan", real_plan)
    st.batch.add_response("submit_job", {"jobName": "n", "jobId": "b-x"}, None)
    assert rel.step() is None                          # x went: nothing left
    assert ctl.ledger.get(x).backend_id == '["b-x"]'
    st.done()


def test_a_requeued_running_job_is_sent_again_once_its_batch_job_ended(tmp_path):
    """scontrol requeue of a running Batch job: TerminateJob now; the new SubmitJob only once
    the old Batch job has ended -- the releaser watches that with no command running."""
    from slurmshim.backends.batch.status import requeue_reason
    ctl = make_ctl(tmp_path)
    st = Stubs(ctl)
    st.submit_ok("b-old")
    job = submit(ctl, tmp_path, "--wrap", "sleep 600")
    ctl.ledger.update(job, state=JobState.RUNNING, start_time=time.time() - 60,
                      node_list="cloud-dy-01")
    st.batch.add_response("terminate_job", {}, {"jobId": "b-old",
                                                "reason": requeue_reason(os.getuid())})
    ctl._refreshed = True
    assert ctl.requeue([str(job)]) == []
    held, requeued = R.waiting_candidates(ctl)
    assert held == [] and [r.job_id for r in requeued] == [job]
    rel = R.Releaser(ctl, st.backend, log=lambda m: None)
    st.counter.reset()
    # still stopping: looked at, nothing sent
    st.batch.add_response("describe_jobs", {"jobs": [detail(
        "b-old", "RUNNING", startedAt=1_700_000_000_000)]}, {"jobs": ["b-old"]})
    assert rel.step() is not None
    # ended: back to PENDING and sent again in the same look; nothing left to wait for
    st.batch.add_response("describe_jobs", {"jobs": [detail(
        "b-old", "FAILED", startedAt=1_700_000_000_000, stoppedAt=1_700_000_060_000,
        statusReason=requeue_reason(os.getuid()))]}, {"jobs": ["b-old"]})
    st.batch.add_response("submit_job", {"jobName": "n", "jobId": "b-new"}, None)
    assert rel.step() is None
    rec = ctl.ledger.get(job)
    assert (rec.state, rec.backend_id, rec.restarts) == (JobState.PENDING, '["b-new"]', 1)
    assert st.counter.snapshot() == {"batch.DescribeJobs": 2, "batch.SubmitJob": 1}
    st.done()
