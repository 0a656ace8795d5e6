"""A multi-node (MNP) Batch job as squeue, scontrol and sacct show it, with its nodes in mixed
states and after it ended (status.py's rules: the job is what its main node is; Batch ends it
when the main node exits and does nothing when a child node dies).  moto has no `<id>#N` node
jobs, so Batch's answers come from botocore's Stubber, shaped like the real API: the parent has
nodeProperties and no container; exit information may only be on the main node."""
from __future__ import annotations

import io
import json
import os
import sys
import time

import pytest

pytest.importorskip("moto")
pytest.importorskip("boto3")

sys.path.insert(0, os.path.dirname(__file__))
import batch_fixtures as bf  # noqa: E402
from test_batch_backend import Stubs, detail, make_ctl, submit  # noqa: E402

from slurmshim.cli import sacct as cli_sacct  # noqa: E402
from slurmshim.cli import scontrol as cli_scontrol  # noqa: E402
from slurmshim.cli import squeue as cli_squeue  # noqa: E402
from slurmshim.controller import Controller  # noqa: E402
from botocore.response import StreamingBody  # noqa: E402
from botocore.stub import ANY  # noqa: E402

NODES = {"numNodes": 3, "mainNode": 0,
         "nodeRangeProperties": [{"targetNodes": "0:", "instanceTypes": ["c5n.18xlarge"]}]}
T0 = int(time.time() * 1000) - 120_000      # started two minutes ago (epoch ms)
T1 = T0 + 60_000


@pytest.fixture(autouse=True)
def _env(monkeypatch):
    bf.in_process_aws_env(monkeypatch, poll="0")


class Site:
    def __init__(self, tmp_path, monkeypatch) -> None:
        self.ctl = make_ctl(tmp_path)
        self.st = Stubs(self.ctl)
        monkeypatch.setattr(Controller, "open", classmethod(lambda cls, config=None: self.ctl))
        self.tmp = tmp_path

    def submit_mnp(self, bid: str) -> int:
        self.st.submit_ok(bid)
        return submit(self.ctl, self.tmp, "-N", "3", "--ntasks-per-node=2", "--wrap",
                      "srun hostname")

    def batch_says(self, *details: dict, ids: list[str] | None = None) -> None:
        self.st.batch.add_response("describe_jobs", {"jobs": list(details)},
                                   {"jobs": ids or [d["jobId"] for d in details]})

    def squeue(self, *argv: str, capsys) -> list[str]:
        self.ctl._refreshed = False
        assert cli_squeue.run(["-h", "-o", "%i|%t|%r|%D|%N|%C", *argv]) == 0
        out, err = capsys.readouterr()
        self.warnings = err
        return out.splitlines()

    def scontrol(self, job: int) -> dict[str, str]:
        out = io.StringIO()
        assert cli_scontrol.run(["-o", "show", "job", str(job)], out=out, ctl=self.ctl) == 0
        return dict(kv.split("=", 1) for kv in out.getvalue().split() if "=" in kv)

    def sacct(self, job: int) -> list[str]:
        code, out, err = cli_sacct.run(["-j", str(job), "-n", "-P", "-o",
                                        "JobID,State,ExitCode,NNodes,NodeList,AllocCPUS"])
        assert code == 0, err
        return out.splitlines()


def test_mnp_job_while_its_nodes_are_in_mixed_states_and_after_it_failed(tmp_path,
                                                                         monkeypatch, capsys):
    s = Site(tmp_path, monkeypatch)
    job = s.submit_mnp("mnp")
    s.st.done()
    st = s.st
    # waiting for capacity: the job (all its nodes) waits
    s.batch_says(detail("mnp", "RUNNABLE", startedAt=0, nodeProperties=NODES))
    assert s.squeue(capsys=capsys) == [f"{job}|PD|Resources|3||6"]
    # the main node is starting (Batch launches it first): CONFIGURING on all three nodes
    s.batch_says(detail("mnp", "STARTING", startedAt=0, nodeProperties=NODES))
    assert s.squeue(capsys=capsys) == [f"{job}|CF|None|3|cloud-dy-[01-03]|6"]
    # the main node runs, node 1 is still starting and node 2 has already died: Batch does
    # nothing to a job whose child node died -- the job runs on, and so it shows
    st.counter.reset()
    s.batch_says(detail("mnp", "RUNNING", startedAt=T0, nodeProperties=NODES))
    assert s.squeue(capsys=capsys) == [f"{job}|R|None|3|cloud-dy-[01-03]|6"]
    assert st.counter.snapshot() == {"batch.DescribeJobs": 1}    # the parent only, no nodes
    show = s.scontrol(job)
    assert (show["JobState"], show["NodeList"], show["NumNodes"], show["NumCPUs"],
            show["ExitCode"]) == ("RUNNING", "cloud-dy-[01-03]", "3", "6", "0:0")
    assert s.sacct(job) == [f"{job}|RUNNING|0:0|3|cloud-dy-[01-03]|6"]
    # the main node exits 3: Batch fails the job and stops the other nodes; the parent
    # carries no exit information, the main node `mnp#0` does
    st.counter.reset()
    s.batch_says(detail("mnp", "FAILED", startedAt=T0, stoppedAt=T1, nodeProperties=NODES,
                        statusReason="Essential container in task exited"))
    s.batch_says(detail("mnp#0", "FAILED", startedAt=T0, stoppedAt=T1,
                        nodeDetails={"nodeIndex": 0, "isMainNode": True},
                        container={"exitCode": 3, "reason": "",
                                   "logStreamName": "d/default/t0"}))
    # the runtime's srun step records (runtime/stepsync.py): one GET now that the job ended
    step = [{"step_id": 0, "name": "hostname", "state": "COMPLETED", "exit_code": 0, "signal": 0,
             "start_time": T0 / 1000 + 1, "end_time": T0 / 1000 + 2, "ncpus": 6, "ntasks": 6,
             "nnodes": 3, "node_list": "cloud-dy-[01-03]"}]
    body = json.dumps(step).encode()
    st.s3.add_response("get_object", {"Body": StreamingBody(io.BytesIO(body), len(body))},
                       {"Bucket": ANY, "Key": f"slurmshim/awstest/steps/{job}/0.json"})
    assert s.squeue(capsys=capsys) == []
    assert s.warnings == ""
    # no ListJobs of the queue
    assert st.counter.snapshot() == {"batch.DescribeJobs": 2, "s3.GetObject": 1}
    assert s.squeue("-t", "all", capsys=capsys) == [f"{job}|F|NonZeroExitCode|3|cloud-dy-[01-03]|6"]
    show = s.scontrol(job)
    assert (show["JobState"], show["Reason"], show["ExitCode"], show["NodeList"]) == \
        ("FAILED", "NonZeroExitCode", "3:0", "cloud-dy-[01-03]")
    assert s.sacct(job) == [f"{job}|FAILED|3:0|3|cloud-dy-[01-03]|6",
                            f"{job}.batch|FAILED|3:0|1|cloud-dy-01|2",
                            f"{job}.0|COMPLETED|0:0|3|cloud-dy-[01-03]|6"]
    st.done()


@pytest.mark.parametrize("parent,main,sacct_row", [
    # the main node succeeded while a child node had failed: the job's outcome is the main
    # node's (the batch script's, as in Slurm)
    (dict(status="SUCCEEDED"), None, "COMPLETED|0:0"),
    # exit information on the parent's attempt: nothing more to ask
    (dict(status="FAILED", attempts=[{"startedAt": T0, "stoppedAt": T1, "container": {
        "exitCode": 2}}]), None, "FAILED|2:0"),
    # the main node was OOM-killed
    (dict(status="FAILED", statusReason="Essential container in task exited"),
     {"exitCode": 137, "reason": "OutOfMemoryError: Container killed due to memory usage"},
     "OUT_OF_MEMORY|0:125"),
    # the main node killed by a signal (the runtime exits 128+N)
    (dict(status="FAILED"), {"exitCode": 137}, "FAILED|0:9"),
])
def test_mnp_job_ends_as_its_main_node(tmp_path, monkeypatch, capsys, parent, main,
                                       sacct_row):
    s = Site(tmp_path, monkeypatch)
    job = s.submit_mnp("mnp")
    s.st.counter.reset()
    s.batch_says(detail("mnp", startedAt=T0, stoppedAt=T1, nodeProperties=NODES, **parent))
    if main is not None:
        s.batch_says(detail("mnp#0", "FAILED", startedAt=T0, stoppedAt=T1,
                            nodeDetails={"nodeIndex": 0, "isMainNode": True}, container=main))
    assert s.squeue(capsys=capsys) == []
    assert s.st.counter.snapshot() == {"batch.DescribeJobs": 1 if main is None else 2}
    rows = s.sacct(job)
    assert rows[0] == f"{job}|{sacct_row}|3|cloud-dy-[01-03]|6"
    assert rows[1].startswith(f"{job}.batch|") and rows[1].endswith("|1|cloud-dy-01|2")
    s.st.done()


def test_mnp_job_without_node_jobs_falls_back_to_the_queue_listing(tmp_path, monkeypatch,
                                                                    capsys):
    """moto (and an emulator without `#N` node jobs): the main node is not found, the exit code
    comes from the FAILED listing of the job's queue (the on-demand MNP queue)."""
    s = Site(tmp_path, monkeypatch)
    job = s.submit_mnp("mnp")
    s.batch_says(detail("mnp", "FAILED", startedAt=T0, stoppedAt=T1, nodeProperties=NODES))
    s.st.batch.add_response("describe_jobs", {"jobs": []}, {"jobs": ["mnp#0"]})
    s.st.batch.add_response("list_jobs", {"jobSummaryList": [
        {"jobId": "mnp", "jobName": "n", "status": "FAILED", "container": {"exitCode": 4}}]},
        {"jobQueue": "slurmshim-od", "jobStatus": "FAILED", "maxResults": 1000})
    s.squeue(capsys=capsys)
    assert s.sacct(job)[0] == f"{job}|FAILED|4:0|3|cloud-dy-[01-03]|6"
    s.st.done()
