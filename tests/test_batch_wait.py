"""`sbatch --wait` on AWS Batch (Controller.wait with the backend's JobWaiter): one
DescribeJobs of the waited job per look, nothing else in the ledger looked at, delays that
start at 0.5 s and back off to a few seconds while nothing changes -- checked with a fake
sleep and counted calls (botocore's Stubber), never with timing."""
from __future__ import annotations

import os
import sys

import pytest

pytest.importorskip("moto")
pytest.importorskip("boto3")

sys.path.insert(0, os.path.dirname(__file__))
import batch_fixtures as bf  # noqa: E402
from test_batch_backend import Stubs, detail, make_ctl, submit  # noqa: E402

from slurmshim.model import JobState  # noqa: E402


@pytest.fixture(autouse=True)
def _env(monkeypatch):
    bf.in_process_aws_env(monkeypatch, poll="2")


def _growth(first: float, longest: float, n: int) -> list[float]:
    out, d = [], first
    for _ in range(n):
        out.append(d)
        d = min(longest, d * 1.5)
    return out


def test_wait_backs_off_with_one_describe_per_look(tmp_path):
    ctl = make_ctl(tmp_path)
    st = Stubs(ctl)
    st.submit_ok("b-other", "b-job")
    submit(ctl, tmp_path, "--wrap", "sleep 600")          # another active job: never looked at
    job = submit(ctl, tmp_path, "--wrap", "exit 4")
    st.done()
    st.counter.reset()
    statuses = ["RUNNABLE"] * 10 + ["RUNNING"] * 3
    for status in statuses:
        st.batch.add_response("describe_jobs", {"jobs": [detail(
            "b-job", status, startedAt=1_700_000_000_000 if status == "RUNNING" else 0)]},
            {"jobs": ["b-job"]})
    st.batch.add_response("describe_jobs", {"jobs": [detail(
        "b-job", "FAILED", startedAt=1_700_000_000_000, stoppedAt=1_700_000_100_000,
        container={"exitCode": 4})]}, {"jobs": ["b-job"]})
    slept: list[float] = []
    assert ctl.wait(job, sleep=slept.append) == 4
    st.done()
    assert st.counter.snapshot() == {"batch.DescribeJobs": len(statuses) + 1}
    # 0.5 s after the submission; RUNNABLE (reason Resources) is news: from 0.5 s again,
    # then by half each quiet look up to 6 s (3x the 2 s base) until RUNNING, which starts
    # it over
    assert slept == [0.5] + _growth(0.5, 6.0, 10) + _growth(0.5, 6.0, 3)
    assert max(slept) == 6.0
    rec = ctl.ledger.get(job)
    assert (rec.state, rec.exit_code) == (JobState.FAILED, 4)


def test_wait_on_a_held_job_looks_at_what_it_waits_for_and_submits_it(tmp_path):
    ctl = make_ctl(tmp_path)
    st = Stubs(ctl)
    st.submit_ok("b-a")
    a = submit(ctl, tmp_path, "--wrap", "sleep 5")
    b = submit(ctl, tmp_path, f"--dependency=afterany:{a}", "--wrap", "true")
    assert ctl.ledger.get(b).backend_id is None
    st.done()
    st.counter.reset()
    # looks 1-2: A (B's dependency) is described, not B (not on Batch yet)
    st.batch.add_response("describe_jobs", {"jobs": [detail(
        "b-a", "RUNNING", startedAt=1_700_000_000_000)]}, {"jobs": ["b-a"]})
    st.batch.add_response("describe_jobs", {"jobs": [detail(
        "b-a", "SUCCEEDED", startedAt=1_700_000_000_000, stoppedAt=1_700_000_005_000)]},
        {"jobs": ["b-a"]})
    # look 3: afterany is satisfied: B is submitted, and described in the same look
    st.batch.add_response("submit_job", {"jobName": "n", "jobId": "b-b"}, None)
    st.batch.add_response("describe_jobs", {"jobs": [detail(
        "b-b", "RUNNING", startedAt=1_700_000_010_000)]}, {"jobs": ["b-b"]})
    # look 4: B has ended
    st.batch.add_response("describe_jobs", {"jobs": [detail(
        "b-b", "SUCCEEDED", startedAt=1_700_000_010_000, stoppedAt=1_700_000_011_000)]},
        {"jobs": ["b-b"]})
    slept: list[float] = []
    assert ctl.wait(b, sleep=slept.append) == 0
    st.done()
    assert st.counter.snapshot() == {"batch.DescribeJobs": 4, "batch.SubmitJob": 1}
    # B itself did not change while A ran: backing off; submitted: from 0.5 s again
    assert slept == [0.5, 0.75, 1.125, 0.5]
    assert ctl.ledger.get(a).state == JobState.COMPLETED


def test_wait_on_a_local_job_keeps_its_interval(tmp_path):
    """The local backend has no waiter: the ledger after a refresh, every `poll` seconds."""
    from slurmshim.config import default_config
    from slurmshim.controller import Controller
    ctl = Controller(default_config(), tmp_path / "state")
    calls = []

    class Fake:
        def refresh(self, ctl, recs):
            calls.append("refresh")
            if len(calls) == 3:
                ctl.ledger.update(job, state=JobState.COMPLETED, end_time=1.0)

        def submit(self, *a):
            pass

        def validate(self, *a):
            return []

    ctl._backends["local"] = Fake()
    job = submit(ctl, tmp_path, "--wrap", "true")
    slept: list[float] = []
    assert ctl.wait(job, poll=0.5, sleep=slept.append) == 0
    assert slept == [0.5, 0.5] and calls == ["refresh"] * 3


def test_srun_follower_of_a_held_job_looks_only_at_what_it_waits_for(tmp_path):
    """srun/sattach (JobFollower) on a job slurmshim holds: each poll describes the Batch jobs
    it depends on (not every job in the ledger); once submitted, the job itself."""
    ctl = make_ctl(tmp_path)
    st = Stubs(ctl)
    st.submit_ok("b-a", "b-other")
    a = submit(ctl, tmp_path, "--wrap", "sleep 5")
    submit(ctl, tmp_path, "--wrap", "sleep 600")           # never looked at
    b = submit(ctl, tmp_path, f"--dependency=afterany:{a}", "--wrap", "true")
    st.done()
    st.counter.reset()
    st.batch.add_response("describe_jobs", {"jobs": [detail(
        "b-a", "SUCCEEDED", startedAt=1_700_000_000_000, stoppedAt=1_700_000_005_000)]},
        {"jobs": ["b-a"]})
    st.batch.add_response("submit_job", {"jobName": "n", "jobId": "b-b"}, None)
    done = detail("b-b", "SUCCEEDED", startedAt=1_700_000_010_000, stoppedAt=1_700_000_011_000,
                  container={"exitCode": 0})
    # submitted and described in the same poll; ended: once more, for the rest of its log
    for _ in range(2):
        st.batch.add_response("describe_jobs", {"jobs": [done]}, {"jobs": ["b-b"]})
    fol = st.backend.follower(ctl, ctl.ledger.get(b), lambda text: None, poll=1.0)
    slept: list[float] = []
    rec = fol.run(sleep=slept.append)
    st.done()
    assert rec.state == JobState.COMPLETED
    assert st.counter.snapshot() == {"batch.DescribeJobs": 3, "batch.SubmitJob": 1}
