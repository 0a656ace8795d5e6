"""BatchBackend in-process: submission (API calls per sbatch, holds, dependencies, failures),
refresh (API calls per squeue, arrays split off their meta record, Spot retries as requeue
history, multi-node jobs), cancel, requeue, sinfo capacity, CloudWatch logs.  moto's `mock_aws`
(simple Batch mode: jobs end inside SubmitJob) where it is faithful; botocore's Stubber with
responses shaped like the real API for what moto lacks (ListJobs per status, retries/attempts,
`#N` nodes, arrayProperties.index, exit codes in DescribeJobs, pagination)."""
from __future__ import annotations

import io
import json
import os
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("moto")
boto3 = pytest.importorskip("boto3")
from botocore.stub import ANY, Stubber  # noqa: E402
from moto import mock_aws  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
import batch_fixtures as bf  # noqa: E402

from slurmshim.backends.batch import backend as bb  # noqa: E402
from slurmshim.backends.batch import client as bc  # noqa: E402
from slurmshim.backends.batch import logs as bl  # noqa: E402
from slurmshim.config import load_config_file  # noqa: E402
from slurmshim.controller import Controller  # noqa: E402
from slurmshim.errors import SlurmError, SubmitError  # noqa: E402
from slurmshim.model import JobState  # noqa: E402
from slurmshim.slurm.sbatch_args import build_spec  # noqa: E402

BUCKET = "slurmshim-unit"
SIMPLE = {"batch": {"use_docker": False}}


@pytest.fixture(autouse=True)
def _aws_env(monkeypatch):
    bf.in_process_aws_env(monkeypatch, poll="0")


def make_ctl(tmp: Path, inf: bf.Infra | None = None, **kw) -> Controller:
    inf = inf or bf.Infra(subnet="s", sg="g")
    conf = bf.write_config(str(tmp / "slurmshim.toml"), inf, s3_bucket=BUCKET, **kw)
    return Controller(load_config_file(conf), tmp / "state")


def spec_of(tmp: Path, *argv: str):
    return build_spec(list(argv), {}, read_script=None, cwd=str(tmp), user="alice", uid=1000,
                      group="alice", gid=1000, host="login1", pid=42, now=time.time(),
                      max_array_size=100001)


def submit(ctl: Controller, tmp: Path, *argv: str) -> int:
    return ctl.submit(spec_of(tmp, *argv)).job_id


# ---------------------------------------------------------------- stubbed clients

class Stubs:
    """A BatchBackend whose batch/logs/s3 clients are Stubber-driven (no traffic at all)."""

    def __init__(self, ctl: Controller) -> None:
        self.counter = bc.CallCounter()
        kw = dict(region_name="us-east-1", endpoint_url="http://127.0.0.1:9")
        raw = {s: boto3.client(s, **kw) for s in ("batch", "logs", "s3")}
        self.client = bc.BatchClient(ctl.config.aws, ledger=ctl.ledger, counter=self.counter,
                                     clients=raw)
        self.backend = bb.BatchBackend(client=self.client)
        ctl._backends["batch"] = self.backend
        self.batch = Stubber(raw["batch"])
        self.logs = Stubber(raw["logs"])
        self.s3 = Stubber(raw["s3"])
        for s in (self.batch, self.logs, self.s3):
            s.activate()
        self.ctl = ctl
        self._known = False

    def submit_ok(self, *job_ids: str) -> None:
        """Responses for a submission: the first also registers the job definition and finds
        the runtime object present."""
        if not self._known:
            self._known = True
            self.batch.add_response("describe_job_definitions", {"jobDefinitions": []},
                                    {"jobDefinitionName": ANY, "status": "ACTIVE"})
            self.batch.add_response("register_job_definition", {
                "jobDefinitionName": "x", "revision": 1,
                "jobDefinitionArn": "arn:aws:batch:us-east-1:1:job-definition/x:1"}, None)
            self.s3.add_response("head_object", {}, {"Bucket": BUCKET, "Key": ANY})
        for jid in job_ids:
            self.batch.add_response("submit_job", {"jobName": "n", "jobId": jid}, None)

    def refresh(self) -> None:
        self.ctl._refreshed = False
        self.ctl.refresh()

    def done(self) -> None:
        for s in (self.batch, self.logs, self.s3):
            s.assert_no_pending_responses()


def detail(jid: str, status: str, **extra) -> dict:
    d = {"jobId": jid, "jobName": "n", "jobQueue": "arn:aws:batch:us-east-1:1:job-queue/q",
         "status": status, "startedAt": 0, "jobDefinition": "d"}
    d.update(extra)
    return d


def summary(jid: str, status: str, **extra) -> dict:
    d = {"jobId": jid, "jobName": "n", "status": status}
    d.update(extra)
    return d


# ================================================================ moto: submission

@mock_aws(config=SIMPLE)
def test_sbatch_steady_state_is_one_call(tmp_path):
    inf = bf.make_infra(None)
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=BUCKET)
    ctl = make_ctl(tmp_path, inf)
    bc.COUNTER.reset()
    first = submit(ctl, tmp_path, "--wrap", "echo one")
    assert bc.COUNTER.snapshot() == {"batch.DescribeJobDefinitions": 1,
                                     "batch.RegisterJobDefinition": 1, "batch.SubmitJob": 1,
                                     "s3.HeadObject": 1, "s3.PutObject": 1}
    rec = ctl.ledger.get(first)
    (bid,) = json.loads(rec.backend_id)
    # another sbatch process: fresh controller, same ledger
    ctl2 = make_ctl(tmp_path, inf)
    bc.COUNTER.reset()
    submit(ctl2, tmp_path, "--wrap", "echo two", "-J", "other name!")
    assert bc.COUNTER.snapshot() == {"batch.SubmitJob": 1}
    job = boto3.client("batch", region_name="us-east-1").describe_jobs(jobs=[bid])["jobs"][0]
    assert job["tags"]["slurmshim:job_id"] == str(first)
    # refresh: a handful of jobs are described directly (one call), exit codes and steps land
    # (plus one S3 GET per job that ended: its srun step records, runtime/stepsync.py)
    bc.COUNTER.reset()
    ctl2._refreshed = False
    ctl2.refresh()
    assert bc.COUNTER.snapshot() == {"batch.DescribeJobs": 1, "s3.GetObject": 2}
    assert ctl2.ledger.get(first).state == JobState.COMPLETED
    assert [s.step_id for s in ctl2.ledger.steps([first])[first]] == ["batch"]


@mock_aws(config=SIMPLE)
def test_a_job_is_sent_once_while_another_process_looks_at_it(tmp_path, monkeypatch):
    """sbatch stores the job (PENDING, no Batch id) before it sends it: a releaser or another
    command refreshing in that window sees an eligible job.  Exactly one of them may send it."""
    inf = bf.make_infra(None)
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=BUCKET)
    ctl = make_ctl(tmp_path, inf)
    other = make_ctl(tmp_path, inf)          # the other process: same ledger
    real_plan = bb.BatchBackend.plan
    seen = []

    def plan_while_the_other_releases(self, ctl_, rec, *a, **kw):
        if self is ctl.backend("batch") and not seen:
            seen.append(rec.job_id)
            other.backend("batch")._release(other, [other.ledger.get(rec.job_id)])
        return real_plan(self, ctl_, rec, *a, **kw)
    monkeypatch.setattr(bb.BatchBackend, "plan", plan_while_the_other_releases)
    bc.COUNTER.reset()
    job = submit(ctl, tmp_path, "--wrap", "echo once")
    assert seen == [job]
    assert bc.COUNTER.snapshot().get("batch.SubmitJob") == 1
    assert len(json.loads(ctl.ledger.get(job).backend_id)) == 1
    assert ctl.ledger.kv_get(f"batch:submitting:{job}") is None     # the claim is let go


@mock_aws(config=SIMPLE)
def test_refused_submission_leaves_no_job(tmp_path):
    inf = bf.make_infra(None)
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=BUCKET)
    inf.spot_queue = "no-such-queue"
    ctl = make_ctl(tmp_path, inf)
    with pytest.raises(SubmitError) as ei:
        submit(ctl, tmp_path, "--wrap", "true")
    assert ei.value.render("sbatch") == \
        "sbatch: error: Batch job submission failed: Invalid partition name specified\n"
    assert ctl.ledger.all() == []


@mock_aws(config=SIMPLE)
def test_held_and_dependent_jobs_are_submitted_when_eligible(tmp_path):
    inf = bf.make_infra(None)
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=BUCKET)
    ctl = make_ctl(tmp_path, inf)
    held = submit(ctl, tmp_path, "-H", "--wrap", "true")
    assert ctl.ledger.get(held).backend_id is None
    assert ctl.ledger.get(held).reason == "JobHeldUser"
    first = submit(ctl, tmp_path, "--wrap", "true")
    # afterany is slurmshim's: held until `first` has ended (it has, in moto's simple mode,
    # but the ledger does not know before a refresh)
    dep = submit(ctl, tmp_path, f"--dependency=afterany:{first}", "--wrap", "true")
    assert ctl.ledger.get(dep).backend_id is None
    assert ctl.ledger.get(dep).reason == "Dependency"
    ctl._refreshed = False
    ctl.refresh()       # first -> COMPLETED; the next refresh releases dep
    ctl.backend("batch").refresh(ctl, None, force=True)
    assert ctl.ledger.get(dep).backend_id
    assert ctl.ledger.get(held).backend_id is None
    assert ctl.release([str(held)]) == []
    assert ctl.ledger.get(held).backend_id
    # afterok on a job already completed: satisfied at submit, no dependsOn
    ok = submit(ctl, tmp_path, f"--dependency=afterok:{first}", "--wrap", "true")
    assert ctl.ledger.get(ok).backend_id


@mock_aws(config=SIMPLE)
def test_never_satisfiable_dependency(tmp_path):
    os.environ["MOTO_SIMPLE_BATCH_FAIL_AFTER"] = "0"   # every job fails in simple mode
    try:
        inf = bf.make_infra(None)
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=BUCKET)
        ctl = make_ctl(tmp_path, inf)
        a = submit(ctl, tmp_path, "--wrap", "false")
        ctl._refreshed = False
        ctl.refresh()
        assert ctl.ledger.get(a).state == JobState.FAILED
        b = submit(ctl, tmp_path, f"--dependency=afterok:{a}", "--wrap", "true")
        rec = ctl.ledger.get(b)
        assert rec.state == JobState.PENDING and rec.backend_id is None
        assert rec.reason == "DependencyNeverSatisfied"
    finally:
        del os.environ["MOTO_SIMPLE_BATCH_FAIL_AFTER"]


@mock_aws(config=SIMPLE)
def test_large_array_is_split_in_chunks(tmp_path):
    inf = bf.make_infra(None)
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=BUCKET)
    ctl = make_ctl(tmp_path, inf)
    submit(ctl, tmp_path, "--wrap", "true")     # warm the caches
    bc.COUNTER.reset()
    job = submit(ctl, tmp_path, "--array=0-20004", "--wrap", "true")
    assert bc.COUNTER.snapshot() == {"batch.SubmitJob": 3}
    plan = ctl.backend("batch").plan_of(ctl, ctl.ledger.get(job))
    assert plan["offsets"] == [0, 10000, 20000] and plan["sizes"] == [10000, 10000, 5]
    assert len(json.loads(ctl.ledger.get(job).backend_id)) == 3


@mock_aws(config=SIMPLE)
def test_requeue_of_a_finished_job_resubmits(tmp_path):
    inf = bf.make_infra(None)
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=BUCKET)
    ctl = make_ctl(tmp_path, inf)
    job = submit(ctl, tmp_path, "--wrap", "true")
    ctl._refreshed = False
    ctl.refresh()
    first_id = ctl.ledger.get(job).backend_id
    assert ctl.ledger.get(job).state == JobState.COMPLETED
    assert ctl.requeue([str(job)]) == []
    rec = ctl.ledger.get(job)
    assert rec.backend_id and rec.backend_id != first_id and rec.restarts == 1
    assert ctl.ledger.kv_get(f"requeue:{job}") is None
    ctl.backend("batch").refresh(ctl, None, force=True)
    assert ctl.ledger.get(job).state == JobState.COMPLETED


@mock_aws(config=SIMPLE)
def test_sinfo_capacity_from_compute_environments(tmp_path):
    inf = bf.make_infra(None, spot_max_vcpus=40, od_max_vcpus=8)
    ctl = make_ctl(tmp_path, inf)
    nodes = ctl.backend("batch").node_statuses(ctl, ctl.config.partitions["cloud"])
    assert len(nodes) == 10 and {(n.state, n.flags) for n in nodes} == {("idle", "~")}
    assert nodes[0].name == "cloud-dy-01" and nodes[0].cpus_total == 4
    assert "c5.xlarge" in nodes[0].features and "spot" in nodes[0].features
    bc.COUNTER.reset()
    od = ctl.backend("batch").node_statuses(ctl, ctl.config.partitions["od"])
    assert len(od) == 2 and "ondemand" in od[0].features
    assert bc.COUNTER.total() == 2
    ctl.backend("batch").node_statuses(ctl, ctl.config.partitions["od"])
    assert bc.COUNTER.total() == 2    # cached briefly in the ledger
    boto3.client("batch", region_name="us-east-1").update_job_queue(
        jobQueue=inf.spot_queue, state="DISABLED")
    ctl.ledger.kv_set("batch:nodes:cloud", "{}")
    nodes = ctl.backend("batch").node_statuses(ctl, ctl.config.partitions["cloud"])
    assert nodes[0].state == "down" and "DISABLED" in nodes[0].reason


# ================================================================ Stubber: refresh

def _seed(ctl: Controller, tmp: Path, stubs: Stubs, n: int, prefix: str = "b") -> list[int]:
    ids = []
    for i in range(n):
        stubs.submit_ok(f"{prefix}-{i:05d}")
        ids.append(submit(ctl, tmp, "--wrap", "true"))
    return ids


def test_squeue_over_1000_jobs_costs_one_call_per_status_page(tmp_path):
    ctl = make_ctl(tmp_path)
    st = Stubs(ctl)
    ids = _seed(ctl, tmp_path, st, 1000)
    st.done()
    st.counter.reset()
    bids = [f"b-{i:05d}" for i in range(1000)]
    q = "slurmshim-spot"
    for status in bc.ACTIVE_STATUSES:
        if status == "RUNNABLE":
            page1 = [summary(b, "RUNNABLE") for b in bids[:500]]
            st.batch.add_response("list_jobs", {"jobSummaryList": page1, "nextToken": "t"},
                                  {"jobQueue": q, "jobStatus": status, "maxResults": 1000})
            st.batch.add_response("list_jobs", {"jobSummaryList": [summary(b, "RUNNABLE")
                                                                   for b in bids[500:600]]},
                                  {"jobQueue": q, "jobStatus": status, "maxResults": 1000,
                                   "nextToken": "t"})
        elif status == "RUNNING":
            st.batch.add_response("list_jobs", {"jobSummaryList": [
                summary(b, "RUNNING", startedAt=1_700_000_000_000) for b in bids[600:]]},
                {"jobQueue": q, "jobStatus": status, "maxResults": 1000})
        else:
            st.batch.add_response("list_jobs", {"jobSummaryList": []},
                                  {"jobQueue": q, "jobStatus": status, "maxResults": 1000})
    st.refresh()
    st.done()
    assert st.counter.total() == 6          # 5 statuses, one of them two pages
    recs = {r.job_id: r for r in ctl.ledger.all()}
    assert recs[ids[0]].state == JobState.PENDING and recs[ids[0]].reason == "Resources"
    assert recs[ids[700]].state == JobState.RUNNING
    assert recs[ids[700]].start_time == 1_700_000_000 and recs[ids[700]].node_list == "cloud-dy-01"
    # ten running jobs finish: listed no more, described in one call (exit codes, attempts)
    st.counter.reset()
    for status in bc.ACTIVE_STATUSES:
        rows = {"RUNNABLE": bids[:600], "RUNNING": bids[610:]}.get(status, [])
        st.batch.add_response("list_jobs", {"jobSummaryList": [summary(b, status)
                                                               for b in rows]},
                              {"jobQueue": q, "jobStatus": status, "maxResults": 1000})
    st.batch.add_response("describe_jobs", {"jobs": [
        detail(b, "FAILED", startedAt=1_700_000_000_000, stoppedAt=1_700_000_060_000,
               container={"exitCode": 2}, attempts=[{"container": {"exitCode": 2},
                                                     "startedAt": 1_700_000_000_000,
                                                     "stoppedAt": 1_700_000_060_000}])
        for b in bids[600:610]]}, {"jobs": bids[600:610]})
    st.refresh()
    st.done()
    assert st.counter.total() == 6
    done = ctl.ledger.get(ids[605])
    assert (done.state, done.exit_code, done.end_time) == (JobState.FAILED, 2, 1_700_000_060)


def test_spot_retries_become_requeue_history(tmp_path):
    ctl = make_ctl(tmp_path)
    st = Stubs(ctl)
    (job,) = _seed(ctl, tmp_path, st, 1)
    host = "Host EC2 (instance i-0123456789abcdef0) terminated."
    att = lambda a, b, reason, code=None: {  # noqa: E731
        "container": {"exitCode": code} if code is not None else {},
        "startedAt": a * 1000, "stoppedAt": b * 1000, "statusReason": reason}
    st.batch.add_response("describe_jobs", {"jobs": [detail(
        "b-00000", "SUCCEEDED", startedAt=1_700_000_200_000, stoppedAt=1_700_000_300_000,
        container={"exitCode": 0},
        attempts=[att(1_700_000_000, 1_700_000_050, host), att(1_700_000_100, 1_700_000_150, host),
                  att(1_700_000_200, 1_700_000_300, "Essential container in task exited", 0)])]},
        {"jobs": ["b-00000"]})
    st.refresh()
    st.done()
    rec = ctl.ledger.get(job)
    assert (rec.state, rec.restarts) == (JobState.COMPLETED, 2)
    hist = ctl.ledger.history([job])[job]
    assert [(h.state, h.restarts, h.start_time) for h in hist] == [
        (JobState.NODE_FAIL, 0, 1_700_000_000), (JobState.NODE_FAIL, 1, 1_700_000_100)]


def test_spot_reclaim_after_the_last_attempt_is_node_fail(tmp_path):
    ctl = make_ctl(tmp_path)
    st = Stubs(ctl)
    (job,) = _seed(ctl, tmp_path, st, 1)
    host = "Host EC2 (instance i-0123456789abcdef0) terminated."
    attempts = [{"container": {}, "startedAt": i * 1000 + 1, "stoppedAt": i * 1000 + 2,
                 "statusReason": host} for i in range(4)]
    st.batch.add_response("describe_jobs", {"jobs": [detail(
        "b-00000", "FAILED", statusReason=host, stoppedAt=4000, attempts=attempts)]},
        {"jobs": ["b-00000"]})
    st.refresh()
    st.done()     # no SubmitJob: Batch used every planned attempt (retries = 3)
    rec = ctl.ledger.get(job)
    assert (rec.state, rec.reason, rec.restarts) == (JobState.NODE_FAIL, "NodeFail", 3)


def test_array_children_are_split_off_the_meta_record(tmp_path):
    ctl = make_ctl(tmp_path)
    st = Stubs(ctl)
    st.submit_ok("arr")
    job = submit(ctl, tmp_path, "--array=1,3,5-7", "--wrap", "true")
    meta = ctl.ledger.get(job)
    assert meta.display_id == f"{job}_[1,3,5-7]"
    # two children run (real AWS: children have arrayProperties.index, queue lists skip them)
    st.batch.add_response("describe_jobs", {"jobs": [detail(
        "arr", "PENDING", arrayProperties={"size": 5, "statusSummary": {
            "RUNNING": 2, "RUNNABLE": 3}})]}, {"jobs": ["arr"]})
    st.batch.add_response("list_jobs", {"jobSummaryList": [
        summary("arr:0", "RUNNING", startedAt=1_700_000_000_000,
                arrayProperties={"size": 5, "index": 0}),
        summary("arr:4", "RUNNING", startedAt=1_700_000_000_000,
                arrayProperties={"size": 5, "index": 4})]},
        {"arrayJobId": "arr", "jobStatus": "RUNNING", "maxResults": 1000})
    st.refresh()
    st.done()
    recs = {r.display_id: r for r in ctl.ledger.array_records(job)}
    # index 7 (position 4) has the array's own raw id: it is split off last
    assert set(recs) == {f"{job}_1", f"{job}_[3,5-7]"}
    assert recs[f"{job}_1"].job_id == job + 1 and recs[f"{job}_1"].state == JobState.RUNNING
    assert recs[f"{job}_[3,5-7]"].reason == "Resources"
    # an unchanged summary costs one DescribeJobs and nothing else
    st.counter.reset()
    st.batch.add_response("describe_jobs", {"jobs": [detail(
        "arr", "PENDING", arrayProperties={"size": 5, "statusSummary": {
            "RUNNING": 2, "RUNNABLE": 3}})]}, {"jobs": ["arr"]})
    st.refresh()
    st.done()
    assert st.counter.snapshot() == {"batch.DescribeJobs": 1}
    # everything ends: one failed with exit code 3
    st.batch.add_response("describe_jobs", {"jobs": [detail(
        "arr", "FAILED", arrayProperties={"size": 5, "statusSummary": {
            "SUCCEEDED": 4, "FAILED": 1}})]}, {"jobs": ["arr"]})
    ok = [summary(f"arr:{i}", "SUCCEEDED", startedAt=1_700_000_000_000,
                  stoppedAt=1_700_000_010_000, container={"exitCode": 0},
                  arrayProperties={"index": i}) for i in (0, 1, 2, 4)]
    st.batch.add_response("list_jobs", {"jobSummaryList": ok},
                          {"arrayJobId": "arr", "jobStatus": "SUCCEEDED", "maxResults": 1000})
    st.batch.add_response("list_jobs", {"jobSummaryList": [summary(
        "arr:3", "FAILED", startedAt=1_700_000_000_000, stoppedAt=1_700_000_010_000,
        container={"exitCode": 3}, arrayProperties={"index": 3})]},
        {"arrayJobId": "arr", "jobStatus": "FAILED", "maxResults": 1000})
    st.batch.add_response("describe_jobs", {"jobs": [detail(
        "arr:3", "FAILED", startedAt=1_700_000_000_000, stoppedAt=1_700_000_010_000,
        container={"exitCode": 3}, arrayProperties={"index": 3},
        attempts=[{"container": {"exitCode": 3}, "startedAt": 1_700_000_000_000,
                   "stoppedAt": 1_700_000_010_000}])]}, {"jobs": ["arr:3"]})
    st.refresh()
    st.done()
    recs = {r.display_id: r for r in ctl.ledger.array_records(job)}
    assert sorted(recs) == sorted(f"{job}_{t}" for t in (1, 3, 5, 6, 7))
    assert recs[f"{job}_6"].state == JobState.FAILED and recs[f"{job}_6"].exit_code == 3
    assert recs[f"{job}_7"].job_id == job and recs[f"{job}_7"].state == JobState.COMPLETED
    assert all(r.state.is_terminal for r in recs.values())


def test_multinode_job_nodes_and_logs(tmp_path):
    ctl = make_ctl(tmp_path)
    st = Stubs(ctl)
    st.submit_ok("mnp")
    job = submit(ctl, tmp_path, "-N", "3", "--wrap", "srun hostname")
    assert ctl.ledger.get(job).num_nodes == 3
    st.batch.add_response("describe_jobs", {"jobs": [detail(
        "mnp", "RUNNING", startedAt=1_700_000_000_000,
        nodeProperties={"numNodes": 3, "mainNode": 0, "nodeRangeProperties": []})]},
        {"jobs": ["mnp"]})
    st.refresh()
    rec = ctl.ledger.get(job)
    assert rec.state == JobState.RUNNING and rec.node_list == "cloud-dy-[01-03]"
    # its output: one CloudWatch stream per node `mnp#N`
    parent = detail("mnp", "SUCCEEDED", nodeProperties={"numNodes": 3, "mainNode": 0,
                                                        "nodeRangeProperties": []})
    st.batch.add_response("describe_jobs", {"jobs": [
        detail(f"mnp#{i}", "SUCCEEDED", container={"logStreamName": f"d/default/t{i}"},
               nodeDetails={"isMainNode": i == 0, "nodeIndex": i}) for i in range(3)]},
        {"jobs": ["mnp#0", "mnp#1", "mnp#2"]})
    for i in range(3):
        st.logs.add_response("get_log_events", {"events": [
            {"timestamp": 1, "message": f"node{i} line"}], "nextForwardToken": f"f{i}"},
            {"logGroupName": "/aws/batch/job", "logStreamName": f"d/default/t{i}",
             "startFromHead": True, "limit": 10000})
        st.logs.add_response("get_log_events", {"events": [], "nextForwardToken": f"f{i}"},
                             {"logGroupName": "/aws/batch/job", "logStreamName": f"d/default/t{i}",
                              "startFromHead": True, "limit": 10000, "nextToken": f"f{i}"})
    assert bl.read_all(st.client, parent) == "node0 line\nnode1 line\nnode2 line\n"
    st.done()


def test_follow_streams_until_the_job_ends(tmp_path):
    ctl = make_ctl(tmp_path)
    st = Stubs(ctl)
    (job,) = _seed(ctl, tmp_path, st, 1)
    lg = {"logGroupName": "/aws/batch/job", "logStreamName": "def/default/x",
          "startFromHead": True, "limit": 10000}
    running = detail("b-00000", "RUNNING", startedAt=1_700_000_000_000,
                     container={"logStreamName": "def/default/x"})
    st.batch.add_response("describe_jobs", {"jobs": [detail("b-00000", "RUNNABLE")]},
                          {"jobs": ["b-00000"]})
    st.batch.add_response("describe_jobs", {"jobs": [running]}, {"jobs": ["b-00000"]})
    # while it runs: ONE page per poll (no second call just to find the page empty)
    st.logs.add_response("get_log_events", {"events": [{"timestamp": 1, "message": "one"}],
                                            "nextForwardToken": "t1"}, lg)
    st.batch.add_response("describe_jobs", {"jobs": [running]}, {"jobs": ["b-00000"]})
    st.logs.add_response("get_log_events", {"events": [], "nextForwardToken": "t1"},
                         dict(lg, nextToken="t1"))
    st.batch.add_response("describe_jobs", {"jobs": [detail(
        "b-00000", "SUCCEEDED", startedAt=1_700_000_000_000, stoppedAt=1_700_000_010_000,
        container={"logStreamName": "def/default/x", "exitCode": 0})]}, {"jobs": ["b-00000"]})
    # at the end: to the end of the stream
    st.logs.add_response("get_log_events", {"events": [{"timestamp": 2, "message": "two"}],
                                            "nextForwardToken": "t2"}, dict(lg, nextToken="t1"))
    st.logs.add_response("get_log_events", {"events": [], "nextForwardToken": "t2"},
                         dict(lg, nextToken="t2"))
    out = io.StringIO()
    st.counter.reset()
    assert st.backend.follow_output(ctl, ctl.ledger.get(job), out, poll=0.01, label=True) == 0
    assert out.getvalue() == "0: one\n0: two\n"
    st.done()
    # the ledger followed from the same details: no DescribeJobs of its own
    assert st.counter.snapshot() == {"batch.DescribeJobs": 4, "logs.GetLogEvents": 4}
    rec = ctl.ledger.get(job)
    assert (rec.state, rec.start_time, rec.end_time) == (JobState.COMPLETED, 1_700_000_000,
                                                        1_700_000_010)


def test_poll_backoff_grows_and_starts_over():
    b = bc.PollBackoff(1.0, 5.0)
    assert [b() for _ in range(6)] == [1.0, 1.5, 2.25, 3.375, 5.0, 5.0]
    b.reset(maximum=2.0)
    assert [b(None) for _ in range(4)] == [1.0, 1.5, 2.0, 2.0]
    assert bc.poll_delays(2.0) == (0.5, 16.0, 6.0)      # the first look comes soon
    assert bc.poll_delays(10.0) == (0.5, 30.0, 10.0)
    assert bc.poll_delays(0.1) == (0.1, 0.8, 0.30000000000000004)


def test_follower_backs_off_while_nothing_happens(tmp_path):
    """srun/sattach: the polls of a job waiting for capacity space out; a status change
    starts them over; one DescribeJobs per poll and nothing else."""
    ctl = make_ctl(tmp_path)
    st = Stubs(ctl)
    (job,) = _seed(ctl, tmp_path, st, 1)
    for _ in range(5):
        st.batch.add_response("describe_jobs", {"jobs": [detail("b-00000", "RUNNABLE")]},
                              {"jobs": ["b-00000"]})
    st.batch.add_response("describe_jobs", {"jobs": [detail(
        "b-00000", "RUNNING", startedAt=1_700_000_000_000)]}, {"jobs": ["b-00000"]})
    st.batch.add_response("describe_jobs", {"jobs": [detail(
        "b-00000", "SUCCEEDED", startedAt=1_700_000_000_000, stoppedAt=1_700_000_001_000,
        container={"exitCode": 0})]}, {"jobs": ["b-00000"]})
    sleeps: list[float] = []
    st.counter.reset()
    fol = st.backend.follower(ctl, ctl.ledger.get(job), lambda text: None, poll=1.0)
    rec = fol.run(sleep=sleeps.append)
    st.done()
    assert rec.state == JobState.COMPLETED
    # the first look 0.5 s after (client.FIRST_POLL), then by half while nothing changes
    assert sleeps == [0.5, 0.75, 1.125, 1.6875, 2.53125, 0.5]
    assert st.counter.snapshot() == {"batch.DescribeJobs": 7}


def test_follower_goes_on_through_a_requeue(tmp_path):
    """A Spot reclaim Batch did not retry: slurmshim requeues the job (a new SubmitJob) and
    the follower goes on into the new Batch job, output after output, until the Slurm job
    ends."""
    ctl = make_ctl(tmp_path)
    st = Stubs(ctl)
    (job,) = _seed(ctl, tmp_path, st, 1)
    host = "Host EC2 (instance i-0123456789abcdef0) terminated."
    lg = {"logGroupName": "/aws/batch/job", "startFromHead": True, "limit": 10000}
    st.batch.add_response("describe_jobs", {"jobs": [detail(
        "b-00000", "FAILED", statusReason=host, startedAt=1_700_000_000_000,
        stoppedAt=1_700_000_001_000, container={"logStreamName": "d/default/a"},
        attempts=[{"container": {"logStreamName": "d/default/a"}, "statusReason": host,
                   "startedAt": 1_700_000_000_000, "stoppedAt": 1_700_000_001_000}])]},
        {"jobs": ["b-00000"]})
    st.logs.add_response("get_log_events", {"events": [{"timestamp": 1, "message": "first"}],
                                            "nextForwardToken": "a1"},
                         dict(lg, logStreamName="d/default/a"))
    st.logs.add_response("get_log_events", {"events": [], "nextForwardToken": "a1"},
                         dict(lg, logStreamName="d/default/a", nextToken="a1"))
    st.batch.add_response("submit_job", {"jobName": "n", "jobId": "b-again"}, None)
    st.batch.add_response("describe_jobs", {"jobs": [detail(
        "b-again", "SUCCEEDED", startedAt=1_700_000_002_000, stoppedAt=1_700_000_003_000,
        container={"logStreamName": "d/default/b", "exitCode": 0})]}, {"jobs": ["b-again"]})
    st.logs.add_response("get_log_events", {"events": [{"timestamp": 2, "message": "second"}],
                                            "nextForwardToken": "b1"},
                         dict(lg, logStreamName="d/default/b"))
    st.logs.add_response("get_log_events", {"events": [], "nextForwardToken": "b1"},
                         dict(lg, logStreamName="d/default/b", nextToken="b1"))
    out = io.StringIO()
    assert st.backend.follow_output(ctl, ctl.ledger.get(job), out, poll=0.01) == 0
    st.done()
    assert out.getvalue() == "first\nsecond\n"
    rec = ctl.ledger.get(job)
    assert (rec.state, rec.restarts, rec.backend_id) == (JobState.COMPLETED, 1, '["b-again"]')


def test_fetch_output_writes_the_output_file(tmp_path):
    ctl = make_ctl(tmp_path)
    st = Stubs(ctl)
    st.submit_ok("b-1")
    job = submit(ctl, tmp_path, "-o", "res-%j.txt", "--wrap", "true")
    st.batch.add_response("describe_jobs", {"jobs": [detail(
        "b-1", "SUCCEEDED", container={"logStreamName": "s/default/1"})]}, {"jobs": ["b-1"]})
    st.logs.add_response("get_log_events", {"events": [{"timestamp": 1, "message": "result"}],
                                            "nextForwardToken": "a"}, None)
    st.logs.add_response("get_log_events", {"events": [], "nextForwardToken": "a"}, None)
    paths = st.backend.fetch_output(ctl, ctl.ledger.get(job))
    assert paths == [str(tmp_path / f"res-{job}.txt")]
    assert Path(paths[0]).read_text() == "result\n"
    assert st.backend.fetch_output(ctl, ctl.ledger.get(job)) == []   # kept: may be the real one
    st.done()


# ================================================================ Stubber: cancel

def test_cancel_uses_terminate_job_for_every_kind(tmp_path):
    ctl = make_ctl(tmp_path)
    st = Stubs(ctl)
    (plain,) = _seed(ctl, tmp_path, st, 1)
    st.submit_ok("arr")
    arr = submit(ctl, tmp_path, "--array=0-9", "--wrap", "true")
    reason = f"Cancelled by slurmshim scancel (uid {os.getuid()})"
    # a pending plain job: the ledger cancels it at once, Batch is told
    st.batch.add_response("terminate_job", {}, {"jobId": "b-00000", "reason": reason})
    ctl.cancel_records([ctl.ledger.get(plain)])
    assert ctl.ledger.get(plain).state == JobState.CANCELLED
    # two pending tasks of the array, one by one: only their children
    st.batch.add_response("terminate_job", {}, {"jobId": "arr:3", "reason": reason})
    st.batch.add_response("terminate_job", {}, {"jobId": "arr:4", "reason": reason})
    ctl.cancel_records([ctl.ledger.get(arr)], tasks={arr: {3, 4}})
    meta = ctl.ledger.get(arr)
    assert meta.display_id == f"{arr}_[0-2,5-9]" and meta.state == JobState.PENDING
    # the rest of the array: its parent (Batch cancels the children)
    st.batch.add_response("terminate_job", {}, {"jobId": "arr", "reason": reason})
    ctl.cancel_records([ctl.ledger.get(arr)])
    assert ctl.ledger.get(arr).state == JobState.CANCELLED
    st.done()


def test_undeliverable_signal_is_refused(tmp_path):
    import signal
    ctl = make_ctl(tmp_path)
    st = Stubs(ctl)
    (job,) = _seed(ctl, tmp_path, st, 1)
    ctl.ledger.update(job, state=JobState.RUNNING, start_time=time.time())
    with pytest.raises(SlurmError) as ei:
        ctl.cancel_records([ctl.ledger.get(job)], signum=signal.SIGUSR1, explicit_signal=True)
    assert ei.value.render("scancel").startswith(
        f"scancel: error: Kill job error on job id {job}: Requested operation not supported")
    assert "SIGUSR1" in ei.value.message
    assert ctl.ledger.get(job).state == JobState.RUNNING
    st.done()


def test_scontrol_requeue_of_a_running_job(tmp_path):
    ctl = make_ctl(tmp_path)
    st = Stubs(ctl)
    (job,) = _seed(ctl, tmp_path, st, 1)
    st.batch.add_response("describe_jobs", {"jobs": [detail(
        "b-00000", "RUNNING", startedAt=1_700_000_000_000)]}, {"jobs": ["b-00000"]})
    st.refresh()
    assert ctl.ledger.get(job).state == JobState.RUNNING
    st.batch.add_response("terminate_job", {}, {
        "jobId": "b-00000", "reason": f"Requeued by slurmshim scontrol (uid {os.getuid()})"})
    assert ctl.requeue([str(job)]) == []
    assert ctl.ledger.get(job).state == JobState.COMPLETING
    st.batch.add_response("describe_jobs", {"jobs": [detail(
        "b-00000", "FAILED", startedAt=1_700_000_000_000, stoppedAt=1_700_000_100_000,
        statusReason=f"Requeued by slurmshim scontrol (uid {os.getuid()})")]},
        {"jobs": ["b-00000"]})
    st.batch.add_response("submit_job", {"jobName": "n", "jobId": "b-again"}, None)
    st.refresh()
    st.done()
    rec = ctl.ledger.get(job)
    assert rec.backend_id == '["b-again"]' and rec.restarts == 1
    assert [h.state for h in ctl.ledger.history([job])[job]] == [JobState.REQUEUED]


def test_hold_takes_a_queued_job_back_from_batch(tmp_path):
    ctl = make_ctl(tmp_path)
    st = Stubs(ctl)
    (job,) = _seed(ctl, tmp_path, st, 1)
    st.batch.add_response("describe_jobs", {"jobs": [detail("b-00000", "RUNNABLE")]},
                          {"jobs": ["b-00000"]})       # scontrol's own look at the job
    assert ctl.hold([str(job)], admin=False) == []
    st.batch.add_response("terminate_job", {}, {
        "jobId": "b-00000", "reason": f"Held by slurmshim scontrol hold (uid {os.getuid()})"})
    st.refresh()
    rec = ctl.ledger.get(job)
    assert (rec.state, rec.reason, rec.backend_id) == (JobState.PENDING, "JobHeldUser", None)
    st.batch.add_response("submit_job", {"jobName": "n", "jobId": "b-released"}, None)
    assert ctl.release([str(job)]) == []
    assert ctl.ledger.get(job).backend_id == '["b-released"]'
    st.done()


# ================================================================ Stubber: polling, warnings

def test_unforced_refreshes_back_off_while_nothing_changes(tmp_path):
    """A command that refreshes again and again in one process (squeue -i, srun's local
    loop with Batch jobs in the ledger): DescribeJobs at a backed-off interval, back to the
    start on any change.  A fake clock: no sleeping, no timing."""
    ctl = make_ctl(tmp_path)
    st = Stubs(ctl)
    (job,) = _seed(ctl, tmp_path, st, 1)
    be = st.backend
    now = [1000.0]
    be.clock = lambda: now[0]
    be.poll_interval = be._interval = 2.0
    be._last_refresh = now[0]           # as sbatch leaves it
    for status in ("RUNNABLE", "RUNNABLE", "RUNNABLE"):
        st.batch.add_response("describe_jobs", {"jobs": [detail("b-00000", status)]},
                              {"jobs": ["b-00000"]})
    st.batch.add_response("describe_jobs", {"jobs": [detail(
        "b-00000", "RUNNING", startedAt=1_700_000_000_000)]}, {"jobs": ["b-00000"]})
    st.counter.reset()
    be.refresh(ctl, None)               # right after sbatch: Batch has nothing to say yet
    assert st.counter.total() == 0
    seen = []
    for pause in (2.5, 2.5, 1.0, 3.5, 5.0):
        now[0] += pause
        be.refresh(ctl, None)
        seen.append((st.counter.total(), be._interval))
    st.done()
    assert seen == [(1, 2.0),           # RUNNABLE: the reason changed (None -> Resources)
                    (2, 3.0),           # nothing new: the interval grows
                    (2, 3.0),           # too soon: no call at all
                    (3, 4.5),
                    (4, 2.0)]           # RUNNING: back to the start
    assert ctl.ledger.get(job).state == JobState.RUNNING


def test_squeue_prints_batch_warnings_on_stderr(tmp_path, monkeypatch, capsys):
    from slurmshim.cli import squeue as cli_squeue
    ctl = make_ctl(tmp_path)
    st = Stubs(ctl)
    ids = _seed(ctl, tmp_path, st, 3)
    monkeypatch.setattr(Controller, "open", classmethod(lambda cls, config=None: ctl))
    stuck = "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT - no instance type fits"
    st.batch.add_response("describe_jobs", {"jobs": [
        detail("b-00000", "RUNNABLE", statusReason=stuck),
        detail("b-00001", "RUNNABLE", statusReason=stuck),
        detail("b-00002", "RUNNABLE")]}, {"jobs": ["b-00000", "b-00001", "b-00002"]})
    assert cli_squeue.run(["-h", "-o", "%i|%t|%r"]) == 0
    out, err = capsys.readouterr()
    assert sorted(out.splitlines()) == [f"{ids[0]}|PD|ReqNodeNotAvail",
                                        f"{ids[1]}|PD|ReqNodeNotAvail", f"{ids[2]}|PD|Resources"]
    assert err == (f"squeue: warning: jobs {ids[0]},{ids[1]}: AWS Batch queue q: no compute "
                   "environment of the queue has instances that meet the job's resource "
                   "requirements (MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT); the job will not "
                   "start until the compute environments change\n")
    # the compute environment was fixed: no warning, the same kind of table
    ctl._refreshed = False
    st.batch.add_response("describe_jobs", {"jobs": [
        detail(b, "RUNNABLE") for b in ("b-00000", "b-00001", "b-00002")]},
        {"jobs": ["b-00000", "b-00001", "b-00002"]})
    assert cli_squeue.run(["-h", "-o", "%i|%t|%r"]) == 0
    out, err = capsys.readouterr()
    assert sorted(out.splitlines()) == [f"{j}|PD|Resources" for j in ids] and err == ""
    st.done()


# ================================================================ Stubber: array tasks and Spot

def test_reclaimed_array_task_is_requeued_on_its_own(tmp_path):
    """moto (and any Batch that did not retry) ends a reclaimed child FAILED after one
    attempt: slurmshim sends that task again as a one-task job at its array position, and
    follows it as the task's Batch job from then on."""
    from slurmshim.runtime.descriptor import decode_inline
    ctl = make_ctl(tmp_path)
    st = Stubs(ctl)
    st.submit_ok("arr")
    job = submit(ctl, tmp_path, "--array=4-6", "--wrap", "true")
    sent: list[dict] = []
    orig = st.client.submit_job
    st.client.submit_job = lambda req: (sent.append(req), orig(req))[1]
    host = "Host EC2 (instance i-0123456789abcdef0) terminated."
    t0 = 1_700_000_000_000

    def parent(**summary):
        return {"jobs": [detail("arr", "PENDING", arrayProperties={
            "size": 3, "statusSummary": summary})]}

    def child(i, status, **kw):
        return summary(f"arr:{i}", status, startedAt=t0, arrayProperties={"index": i}, **kw)

    st.batch.add_response("describe_jobs", parent(RUNNING=3), {"jobs": ["arr"]})
    st.batch.add_response("list_jobs", {"jobSummaryList": [child(i, "RUNNING")
                                                           for i in range(3)]},
                          {"arrayJobId": "arr", "jobStatus": "RUNNING", "maxResults": 1000})
    st.refresh()
    recs = {r.array_task_id: r for r in ctl.ledger.array_records(job)}
    assert {t: r.state for t, r in recs.items()} == {4: JobState.RUNNING, 5: JobState.RUNNING,
                                                    6: JobState.RUNNING}

    def child0_reclaimed_in_the_listings():
        """The array's listings (children 1 and 2 running, child 0 FAILED) and child 0's
        detail: reclaimed, with its Host EC2 reason."""
        st.batch.add_response("list_jobs", {"jobSummaryList": [child(1, "RUNNING"),
                                                               child(2, "RUNNING")]},
                              {"arrayJobId": "arr", "jobStatus": "RUNNING", "maxResults": 1000})
        st.batch.add_response("list_jobs", {"jobSummaryList": [child(0, "FAILED")]},
                              {"arrayJobId": "arr", "jobStatus": "FAILED", "maxResults": 1000})
        st.batch.add_response("describe_jobs", {"jobs": [detail(
            "arr:0", "FAILED", statusReason=host, startedAt=t0, stoppedAt=t0 + 5000,
            arrayProperties={"index": 0}, attempts=[{"container": {}, "statusReason": host,
                                                     "startedAt": t0, "stoppedAt": t0 + 5000}])]},
            {"jobs": ["arr:0"]})

    # task 4 (child 0) is reclaimed; Batch did not retry it
    st.batch.add_response("describe_jobs", parent(RUNNING=2, FAILED=1), {"jobs": ["arr"]})
    child0_reclaimed_in_the_listings()
    st.batch.add_response("submit_job", {"jobName": "n", "jobId": "again-4"}, None)
    st.refresh()
    (req,) = sent
    assert "arrayProperties" not in req and "dependsOn" not in req
    assert req["tags"]["slurmshim:array_offset"] == "0"
    assert req["tags"]["slurmshim:job_id"] == str(job)
    env = {e["name"]: e["value"] for e in req["containerOverrides"]["environment"]}
    desc = decode_inline(env["SLURMSHIM_JOB"])
    assert desc["array"]["offset"] == 0 and desc["restart_count"] == 1
    task4 = next(r for r in ctl.ledger.array_records(job) if r.array_task_id == 4)
    assert (task4.state, task4.restarts, task4.backend_id) == (JobState.PENDING, 1,
                                                               '["again-4"]')
    assert ctl.backend("batch").plan_of(ctl, task4)["ids"] == ["arr"]   # the array's plan
    # the old child shows up in a FAILED listing again (forget what this process has seen):
    # it is not task 4's Batch job any more, nothing happens to the task
    for key in (f"batch:summary:{job}:0", f"batch:seen:{job}:0"):
        ctl.ledger.db.execute("DELETE FROM kv WHERE key=?", (key,))
    st.batch.add_response("describe_jobs", {"jobs": [
        detail("again-4", "RUNNING", startedAt=t0 + 9000),
        parent(RUNNING=2, FAILED=1)["jobs"][0]]}, {"jobs": ["again-4", "arr"]})
    child0_reclaimed_in_the_listings()
    st.refresh()
    task4 = next(r for r in ctl.ledger.array_records(job) if r.array_task_id == 4)
    assert (task4.state, task4.restarts, len(sent)) == (JobState.RUNNING, 1, 1)
    # from now on task 4 is its own Batch job, described with the array's parent (one call);
    # the old child's FAILED summary does not touch it
    st.batch.add_response("describe_jobs", {"jobs": [
        detail("again-4", "SUCCEEDED", startedAt=t0 + 9000, stoppedAt=t0 + 10000,
               container={"exitCode": 0}),
        detail("arr", "PENDING", arrayProperties={"size": 3, "statusSummary": {
            "SUCCEEDED": 2, "FAILED": 1}})]}, {"jobs": ["again-4", "arr"]})
    st.batch.add_response("list_jobs", {"jobSummaryList": [
        child(i, "SUCCEEDED", stoppedAt=t0 + 8000, container={"exitCode": 0})
        for i in (1, 2)]}, {"arrayJobId": "arr", "jobStatus": "SUCCEEDED", "maxResults": 1000})
    st.refresh()
    st.done()
    recs = {r.array_task_id: r for r in ctl.ledger.array_records(job)}
    assert {t: (r.state, r.restarts) for t, r in recs.items()} == {
        4: (JobState.COMPLETED, 1), 5: (JobState.COMPLETED, 0), 6: (JobState.COMPLETED, 0)}
    hist = ctl.ledger.history([recs[4].job_id])[recs[4].job_id]
    assert [(h.state, h.restarts) for h in hist] == [(JobState.NODE_FAIL, 0)]
