"""AWS Batch backend: each attempt of a requeued job keeps its batch step (sacct -D shows it
under that attempt's record).  Botocore Stubber-driven, as the backend tests in
test_batch_backend.py (its helpers are reused): no traffic at all."""
from __future__ import annotations

import os

import pytest

pytest.importorskip("moto")
pytest.importorskip("boto3")

import test_batch_backend as tb  # noqa: E402
from test_batch_backend import _aws_env  # noqa: E402,F401 - the same AWS test environment

from slurmshim.model import JobState  # noqa: E402
from slurmshim.output import sacct as out  # noqa: E402

HOST = "Host EC2 (instance i-0123456789abcdef0) terminated."


def _steps(ctl, job):
    return [(s.attempt, s.step_id, s.state, s.exit_code, s.exit_signal, s.start_time, s.end_time)
            for s in ctl.ledger.steps([job]).get(job, [])]


def _sacct_d(ctl, job) -> list[str]:
    """`sacct -D -j JOB -P -n -o jobid,state,exitcode,restarts` over this ledger."""
    q = out.Query(selectors=out.parse_job_list(str(job)), duplicates=True)
    now = 1_800_000_000
    jobs = ctl.ledger.get_many([job])
    history = ctl.ledger.history([job])
    records = out.select_jobs(jobs, q, now, history)
    ctx = out.Context(now=now, window=out.resolve_window(q, now))
    rows = out.build_rows(records, ctl.ledger.steps([job]), q, ctx, history,
                          {r.job_id: r for r in jobs})
    return out.render_table(rows, out.parse_fields("jobid,state,exitcode,restarts"),
                            header=False, parsable="P").splitlines()


def test_spot_retries_keep_each_attempts_batch_step(tmp_path):
    ctl = tb.make_ctl(tmp_path)
    st = tb.Stubs(ctl)
    (job,) = tb._seed(ctl, tmp_path, st, 1)
    att = lambda a, b, reason, code=None: {  # noqa: E731
        "container": {"exitCode": code} if code is not None else {},
        "startedAt": a * 1000, "stoppedAt": b * 1000, "statusReason": reason}
    st.batch.add_response("describe_jobs", {"jobs": [tb.detail(
        "b-00000", "SUCCEEDED", startedAt=1_700_000_200_000, stoppedAt=1_700_000_300_000,
        container={"exitCode": 0},
        attempts=[att(1_700_000_000, 1_700_000_050, HOST), att(1_700_000_100, 1_700_000_150, HOST),
                  att(1_700_000_200, 1_700_000_300, "Essential container in task exited", 0)])]},
        {"jobs": ["b-00000"]})
    st.refresh()
    st.done()
    # a reclaimed instance ends the steps on it as Slurm's stepmgr does on a failed node:
    # CANCELLED by SIGKILL
    assert _steps(ctl, job) == [
        (0, "batch", JobState.CANCELLED, 0, 9, 1_700_000_000, 1_700_000_050),
        (1, "batch", JobState.CANCELLED, 0, 9, 1_700_000_100, 1_700_000_150),
        (2, "batch", JobState.COMPLETED, 0, 0, 1_700_000_200, 1_700_000_300)]
    j = str(job)
    assert _sacct_d(ctl, job) == [
        f"{j}|NODE_FAIL|0:0|0", f"{j}.batch|CANCELLED|0:9|",
        f"{j}|NODE_FAIL|0:0|1", f"{j}.batch|CANCELLED|0:9|",
        f"{j}|COMPLETED|0:0|2", f"{j}.batch|COMPLETED|0:0|"]


def test_scontrol_requeue_of_a_running_job_keeps_its_batch_step(tmp_path):
    ctl = tb.make_ctl(tmp_path)
    st = tb.Stubs(ctl)
    (job,) = tb._seed(ctl, tmp_path, st, 1)
    st.batch.add_response("describe_jobs", {"jobs": [tb.detail(
        "b-00000", "RUNNING", startedAt=1_700_000_000_000)]}, {"jobs": ["b-00000"]})
    st.refresh()
    reason = f"Requeued by slurmshim scontrol (uid {os.getuid()})"
    st.batch.add_response("terminate_job", {}, {"jobId": "b-00000", "reason": reason})
    assert ctl.requeue([str(job)]) == []
    # until the old Batch job has ended: COMPLETING, and a second requeue is refused
    assert ctl.ledger.get(job).state == JobState.COMPLETING
    assert ctl.requeue([str(job)]) == [(str(job), "Job is pending execution")]
    st.batch.add_response("describe_jobs", {"jobs": [tb.detail(
        "b-00000", "FAILED", startedAt=1_700_000_000_000, stoppedAt=1_700_000_100_000,
        statusReason=reason)]}, {"jobs": ["b-00000"]})
    st.batch.add_response("submit_job", {"jobName": "n", "jobId": "b-again"}, None)
    st.refresh()
    st.batch.add_response("describe_jobs", {"jobs": [tb.detail(
        "b-again", "SUCCEEDED", startedAt=1_700_000_200_000, stoppedAt=1_700_000_260_000,
        container={"exitCode": 0})]}, {"jobs": ["b-again"]})
    st.refresh()
    st.done()
    rec = ctl.ledger.get(job)
    assert (rec.state, rec.restarts) == (JobState.COMPLETED, 1)
    hist = ctl.ledger.history([job])[job]
    assert [(h.state, h.restarts, h.start_time, h.end_time) for h in hist] == [
        (JobState.REQUEUED, 0, 1_700_000_000, 1_700_000_100)]
    assert _steps(ctl, job) == [
        (0, "batch", JobState.CANCELLED, 0, 15, 1_700_000_000, 1_700_000_100),
        (1, "batch", JobState.COMPLETED, 0, 0, 1_700_000_200, 1_700_000_260)]
    j = str(job)
    assert _sacct_d(ctl, job) == [
        f"{j}|REQUEUED|0:0|0", f"{j}.batch|CANCELLED|0:15|",
        f"{j}|COMPLETED|0:0|1", f"{j}.batch|COMPLETED|0:0|"]
