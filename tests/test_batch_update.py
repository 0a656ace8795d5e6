"""`scontrol update job` on AWS Batch jobs (BatchBackend.check_update, Controller.update_job):
a job slurmshim still holds takes updates like a local pending job and is submitted with them;
a job already on Batch (no UpdateJob) keeps ledger-only fields and refuses the rest with
Slurm's own error text and exit code; finished jobs refuse as in Slurm.  In-process on moto's
mock_aws (simple Batch mode): what Batch received is read back with DescribeJobs."""
from __future__ import annotations

import io
import json
import os
import sys
import time

import pytest

pytest.importorskip("moto")
boto3 = pytest.importorskip("boto3")
from moto import mock_aws  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
import batch_fixtures as bf  # noqa: E402
from test_batch_backend import BUCKET, SIMPLE, make_ctl, submit  # noqa: E402

from slurmshim.cli import scontrol as cli_scontrol  # noqa: E402
from slurmshim.errors import SlurmError  # noqa: E402
from slurmshim.model import JobState  # noqa: E402

EXTRA = """[partitions.dev]
backend = "local"

[partitions.spotonly]
backend = "batch"
job_queue = "slurmshim-spot"
spot = true
"""


@pytest.fixture(autouse=True)
def _env(monkeypatch):
    bf.in_process_aws_env(monkeypatch, poll="0")


def _site(tmp_path):
    inf = bf.make_infra(None)
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=BUCKET)
    return inf, make_ctl(tmp_path, inf, extra_partition=EXTRA)


def _batch_job(ctl, job: int) -> dict:
    (bid,) = json.loads(ctl.ledger.get(job).backend_id)[:1]
    return boto3.client("batch", region_name="us-east-1").describe_jobs(jobs=[bid])["jobs"][0]


def scontrol(ctl, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli_scontrol.run(list(argv), out=out, err=err, ctl=ctl)
    return code, out.getvalue(), err.getvalue()


@mock_aws(config=SIMPLE)
def test_held_job_takes_updates_and_is_submitted_with_them(tmp_path):
    inf, ctl = _site(tmp_path)
    job = submit(ctl, tmp_path, "-H", "-J", "first", "--time=30", "--wrap", "true")
    for kv in ("TimeLimit=10", "JobName=renamed", "Partition=od", "Comment=why", "Nice=5",
               "Priority=3"):
        assert scontrol(ctl, "update", "job", str(job), kv) == (0, "", "")
    rec = ctl.ledger.get(job)
    assert (rec.time_limit, rec.name, rec.partition, rec.comment, rec.nice) == \
        (10, "renamed", "od", "why", 5)
    assert rec.backend_id is None and rec.state == JobState.PENDING
    assert ctl.release([str(job)]) == []
    sent = _batch_job(ctl, job)
    assert sent["jobQueue"].endswith("/" + inf.od_queue)          # the new partition's queue
    assert sent["jobName"] == "renamed" and sent["tags"]["slurmshim:name"] == "renamed"
    assert sent["timeout"]["attemptDurationSeconds"] == 10 * 60 + 30 + 60
    assert sent["tags"]["slurmshim:partition"] == "od"
    assert sent["tags"]["slurmshim:time_limit"] == "10"


@mock_aws(config=SIMPLE)
def test_held_array_takes_a_new_throttle(tmp_path):
    _inf, ctl = _site(tmp_path)
    job = submit(ctl, tmp_path, "-H", "--array=0-8%2", "--wrap", "true")
    assert scontrol(ctl, "update", "job", str(job), "ArrayTaskThrottle=3") == (0, "", "")
    assert ctl.ledger.get(job).array_throttle == 3
    assert ctl.release([str(job)]) == []
    assert _batch_job(ctl, job)["tags"]["slurmshim:throttle"] == "3"
    assert ctl.backend("batch").plan_of(ctl, ctl.ledger.get(job))["sizes"] == [3, 3, 3]


@mock_aws(config=SIMPLE)
def test_jobs_on_batch_keep_ledger_fields_and_refuse_the_rest(tmp_path):
    _inf, ctl = _site(tmp_path)
    job = submit(ctl, tmp_path, "--time=30", "-J", "queued", "--wrap", "sleep 100")
    sent = _batch_job(ctl, job)
    ctl._refreshed = True          # the ledger's view: PENDING on Batch (queued there)
    ctl.ledger.update(job, state=JobState.PENDING, reason="Resources")
    # what Slurm lets an owner change any time, and Batch never needs: the ledger only
    assert scontrol(ctl, "update", "job", str(job), "Comment=note", "Nice=10", "Priority=9",
                    "JobName=renamed") == (0, "", "")
    rec = ctl.ledger.get(job)
    assert (rec.comment, rec.nice, rec.priority, rec.name) == ("note", 10, 9, "renamed")
    # what only a new submission could change: refused, nothing changed at all
    for kv in ("TimeLimit=5", "Partition=od"):
        assert scontrol(ctl, "update", "job", str(job), kv, "Comment=lost") == (
            1, "", f"Requested operation not supported on this system for job {job}\n")
    rec = ctl.ledger.get(job)
    assert (rec.time_limit, rec.partition, rec.comment) == (30, "cloud", "note")
    assert scontrol(ctl, "update", "job", str(job), "TimeLimit=30") == (0, "", "")  # unchanged
    # started: a partition change is what Slurm itself refuses on a running job
    ctl.ledger.update(job, state=JobState.RUNNING, reason="None", start_time=1.0)
    assert scontrol(ctl, "update", "job", str(job), "Partition=od") == (
        1, "", f"Job is no longer pending execution for job {job}\n")
    assert scontrol(ctl, "update", "job", str(job), "TimeLimit=60") == (
        1, "", f"Requested operation not supported on this system for job {job}\n")
    assert scontrol(ctl, "update", "job", str(job), "Comment=running") == (0, "", "")
    # finished
    ctl.ledger.update(job, state=JobState.COMPLETED, end_time=time.time())
    assert scontrol(ctl, "update", "job", str(job), "Comment=late") == (
        1, "", f"Job has already finished for job {job}\n")
    assert ctl.ledger.get(job).comment == "running"
    assert _batch_job(ctl, job)["jobName"] == sent["jobName"] == "queued"   # Batch untouched


@mock_aws(config=SIMPLE)
def test_partition_moves_between_backends_only_before_any_start(tmp_path):
    _inf, ctl = _site(tmp_path)
    # a local job nobody started (held) moves to AWS Batch, validated there, and goes there
    local = submit(ctl, tmp_path, "-p", "dev", "-H", "--wrap", "true")
    assert ctl.ledger.get(local).backend == "local"
    ctl.update_job(str(local), {"Partition": "cloud"})
    rec = ctl.ledger.get(local)
    assert (rec.partition, rec.backend) == ("cloud", "batch")
    assert ctl.release([str(local)]) == []
    assert _batch_job(ctl, local)["tags"]["slurmshim:job_id"] == str(local)
    # and back: a held Batch job moves to the local partition
    back = submit(ctl, tmp_path, "-H", "--wrap", "true")
    ctl.update_job(str(back), {"Partition": "dev"})
    rec = ctl.ledger.get(back)
    assert (rec.partition, rec.backend, rec.backend_id) == ("dev", "local", None)
    # a held multi-node job cannot move to a Spot partition without an on-demand queue
    mnp = submit(ctl, tmp_path, "-H", "-N", "2", "--wrap", "true")
    with pytest.raises(SlurmError) as ei:
        ctl.update_job(str(mnp), {"Partition": "spotonly"})
    assert ei.value.message == "Requested node configuration is not available"
    assert ctl.ledger.get(mnp).partition == "cloud"
    # a job already on Batch does not move anywhere
    queued = submit(ctl, tmp_path, "--wrap", "true")
    ctl._refreshed = True
    with pytest.raises(SlurmError) as ei:
        ctl.update_job(str(queued), {"Partition": "dev"})
    assert ei.value.message == "Requested operation not supported on this system"
    assert ctl.ledger.get(queued).backend == "batch"


def test_hold_update_release_changes_a_job_batch_has_not_started(tmp_path):
    """The way around Batch's missing UpdateJob for a queued job: scontrol hold takes it back
    from Batch (TerminateJob, at the next look), the update applies, release sends it again."""
    from botocore.stub import ANY
    from test_batch_backend import Stubs, detail
    ctl = make_ctl(tmp_path)
    st = Stubs(ctl)
    st.submit_ok("b-1")
    job = submit(ctl, tmp_path, "--time=30", "--wrap", "true")

    def command() -> None:         # each scontrol is a new process: it refreshes once
        ctl._refreshed = False

    command()
    st.batch.add_response("describe_jobs", {"jobs": [detail("b-1", "RUNNABLE")]},
                          {"jobs": ["b-1"]})
    assert scontrol(ctl, "update", "job", str(job), "TimeLimit=5") == (
        1, "", f"Requested operation not supported on this system for job {job}\n")
    command()
    st.batch.add_response("describe_jobs", {"jobs": [detail("b-1", "RUNNABLE")]},
                          {"jobs": ["b-1"]})
    assert ctl.hold([str(job)], admin=False) == []
    command()
    st.batch.add_response("terminate_job", {}, {"jobId": "b-1", "reason": ANY})
    assert scontrol(ctl, "update", "job", str(job), "TimeLimit=5") == (0, "", "")
    assert ctl.ledger.get(job).backend_id is None
    command()
    st.batch.add_response("submit_job", {"jobName": "n", "jobId": "b-2"}, {
        "jobName": ANY, "jobQueue": ANY, "jobDefinition": ANY, "containerOverrides": ANY,
        "retryStrategy": ANY, "tags": ANY, "propagateTags": True,
        "timeout": {"attemptDurationSeconds": 5 * 60 + 30 + 60}})
    assert ctl.release([str(job)]) == []
    rec = ctl.ledger.get(job)
    assert (rec.backend_id, rec.time_limit) == ('["b-2"]', 5)
    st.done()
