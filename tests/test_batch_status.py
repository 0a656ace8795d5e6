"""backends/batch/status.py: AWS Batch job details -> Slurm state, reason, exit code, times.

Details are shaped like DescribeJobs items from the real API (statusReason texts as AWS writes
them) and like moto's (no reasons, exit codes only in ListJobs summaries, `-9` for a signal,
no arrayProperties.index)."""
from __future__ import annotations

import pytest

from slurmshim.backends.batch.status import (SlurmView, array_child_index, cancel_reason,
                                             is_array_parent, requeue_reason, slurm_view)
from slurmshim.model import JobState

T0 = 1_700_000_000_000  # epoch ms
Q = "arn:aws:batch:us-east-1:123456789012:job-queue/spot-q"
HOST_REASON = "Host EC2 (instance i-08784105ffff56b4f) terminated."
NIC = [{"privateIpv4Address": "10.0.1.23", "attachmentId": "a"}]


def detail(status: str, **kw) -> dict:
    d = {"jobId": "5e1c2f0a-1111-2222-3333-444455556666", "jobName": "job_sh", "jobQueue": Q,
         "status": status, "jobDefinition": "slurmshim-abc", "createdAt": T0 - 5000}
    d.update(kw)
    return d


def ran(status: str, secs: float = 100, *, code: int | None = None, reason: str | None = None,
        creason: str | None = None, attempts: int = 1, **kw) -> dict:
    """A job that ran for `secs` seconds (last attempt), with earlier attempts reclaimed."""
    container = {"networkInterfaces": NIC, "logStreamName": "s"}
    if code is not None:
        container["exitCode"] = code
    if creason:
        container["reason"] = creason
    atts = []
    for i in range(attempts - 1):
        atts.append({"container": {"networkInterfaces": NIC, "exitCode": 143},
                     "startedAt": T0 + i * 1000, "stoppedAt": T0 + i * 1000 + 500,
                     "statusReason": HOST_REASON})
    start = T0 + attempts * 1000
    last = {"container": dict(container), "startedAt": start, "stoppedAt": int(start + secs * 1000)}
    if reason:
        last["statusReason"] = reason
    atts.append(last)
    d = detail(status, startedAt=start, stoppedAt=int(start + secs * 1000), container=container,
               attempts=atts)
    if reason:
        d["statusReason"] = reason
    d.update(kw)
    return d


def view(d: dict, **kw) -> SlurmView:
    return slurm_view(d, **kw)


# ------------------------------------------------------------------ waiting states

WAITING = [
    ("submitted", detail("SUBMITTED"), {}, "None"),
    ("submitted with deps", detail("SUBMITTED", dependsOn=[{"jobId": "x"}]), {}, "Dependency"),
    ("pending on deps", detail("PENDING", dependsOn=[{"jobId": "x"}]), {}, "Dependency"),
    ("pending, no deps listed", detail("PENDING"), {}, "None"),
    ("pending chain link", detail("PENDING", dependsOn=[{"type": "SEQUENTIAL"}],
                                  tags={"slurmshim:throttle": "2"}), {}, "JobArrayTaskLimit"),
    ("pending chain link (kwarg)", detail("PENDING", dependsOn=[{"type": "SEQUENTIAL"}]),
     {"throttled": True}, "JobArrayTaskLimit"),
    ("runnable", detail("RUNNABLE"), {}, "Resources"),
    ("runnable, no capacity", detail(
        "RUNNABLE", statusReason="CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY - Service cannot "
        "fulfill the capacity requested for instance type [p4d.24xlarge]"), {}, "Resources"),
    ("runnable, no fitting instance", detail(
        "RUNNABLE", statusReason="MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT - All compute "
        "environments have no connected instances that meet the job requirements."), {},
     "ReqNodeNotAvail"),
    ("runnable, over maxvCpus", detail(
        "RUNNABLE", statusReason="MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE - CE(s) "
        "associated with the job queue cannot meet the CPU requirement of the job."), {},
     "PartitionConfig"),
    ("runnable, service role", detail(
        "RUNNABLE", statusReason="MISCONFIGURATION:SERVICE_ROLE_PERMISSIONS - Batch service "
        "role has a permission issue."), {}, "ReqNodeNotAvail"),
]


@pytest.mark.parametrize("name,d,kw,reason", WAITING, ids=[w[0] for w in WAITING])
def test_waiting_states_are_pending_with_slurm_reasons(name, d, kw, reason):
    v = view(d, **kw)
    assert v.state == JobState.PENDING and v.reason == reason
    assert v.start_time is None and v.end_time is None and not v.batch_terminal
    assert v.exit_code == 0 and v.exit_signal == 0
    if reason in ("ReqNodeNotAvail", "PartitionConfig"):
        assert v.warning.startswith("AWS Batch queue spot-q: ")
        assert "MISCONFIGURATION:" in v.warning
    else:
        assert v.warning is None


def test_starting_and_running():
    v = view(detail("STARTING", startedAt=T0))
    assert v.state == JobState.CONFIGURING and v.start_time == T0 / 1000
    d = detail("RUNNING", startedAt=T0, container={"networkInterfaces": NIC})
    v = view(d)
    assert (v.state, v.reason, v.start_time, v.end_time) == (JobState.RUNNING, "None",
                                                             T0 / 1000, None)
    assert v.node_list == "ip-10-0-1-23"
    assert view(detail("RUNNING", startedAt=T0)).node_list is None


def test_retrying_after_a_reclaim_is_pending_with_a_restart():
    reclaimed = {"container": {"exitCode": 143, "networkInterfaces": NIC},
                 "startedAt": T0, "stoppedAt": T0 + 500, "statusReason": HOST_REASON}
    v = view(detail("RUNNABLE", attempts=[reclaimed], statusReason=HOST_REASON))
    assert (v.state, v.reason, v.restarts) == (JobState.PENDING, "Resources", 1)
    assert [h["state"] for h in v.history] == [JobState.NODE_FAIL]
    # running again: AWS lists only ended attempts, moto also the running one
    for atts in ([reclaimed], [reclaimed, {"container": {}, "startedAt": T0 + 9000}]):
        v = view(detail("RUNNING", attempts=atts, startedAt=T0 + 9000))
        assert (v.state, v.restarts, v.start_time) == (JobState.RUNNING, 1, (T0 + 9000) / 1000)


# ------------------------------------------------------------------ endings

ENDINGS = [
    # name, detail, kwargs, state, reason, exit code, signal
    ("succeeded", ran("SUCCEEDED", code=0, reason="Essential container in task exited"), {},
     JobState.COMPLETED, "None", 0, 0),
    ("exit 3", ran("FAILED", code=3, reason="Essential container in task exited"), {},
     JobState.FAILED, "NonZeroExitCode", 3, 0),
    ("killed by signal (128+9)", ran("FAILED", code=137, reason="Essential container in task "
                                     "exited"), {}, JobState.FAILED, "RaisedSignal", 0, 9),
    ("moto signal -9", ran("FAILED", code=-9), {}, JobState.FAILED, "RaisedSignal", 0, 9),
    ("never started", detail("FAILED", statusReason="Task failed to start", container={
        "reason": "CannotPullContainerError: pull image manifest has been retried 5 times"}),
     {}, JobState.FAILED, "JobLaunchFailure", 1, 0),
    ("batch timeout", ran("FAILED", 3690, code=137, reason="Job attempt duration exceeded "
                          "timeout", timeout={"attemptDurationSeconds": 3690}), {},
     JobState.TIMEOUT, "TimeLimit", 0, 0),
    ("moto timeout: no reason, ran the whole attempt duration",
     ran("FAILED", 61, timeout={"attemptDurationSeconds": 60}), {}, JobState.TIMEOUT,
     "TimeLimit", 0, 0),
    ("runtime enforced the limit (tag)",
     ran("FAILED", 605, code=143, reason="Essential container in task exited",
         tags={"slurmshim:time_limit": "10"}, timeout={"attemptDurationSeconds": 690}), {},
     JobState.TIMEOUT, "TimeLimit", 0, 0),
    ("runtime enforced the limit (kwarg)",
     ran("FAILED", 600, code=143, timeout={"attemptDurationSeconds": 690}), {"time_limit": 10},
     JobState.TIMEOUT, "TimeLimit", 0, 0),
    ("failed early, under its limit", ran("FAILED", 30, code=143, tags={
        "slurmshim:time_limit": "10"}), {}, JobState.FAILED, "RaisedSignal", 0, 15),
    ("exit 1 at the limit is the script's own failure",
     ran("FAILED", 700, code=1, tags={"slurmshim:time_limit": "10"}), {}, JobState.FAILED,
     "NonZeroExitCode", 1, 0),
    ("out of memory", ran("FAILED", 50, code=137, reason="Essential container in task exited",
                          creason="OutOfMemoryError: Container killed due to memory usage"),
     {}, JobState.OUT_OF_MEMORY, "OutOfMemory", 0, 125),
    ("scancel (our reason)", ran("FAILED", 20, code=143, reason=cancel_reason(1000)), {},
     JobState.CANCELLED, "None", 0, 0),
    ("scancel (ledger knows)", ran("FAILED", 20, code=143), {"cancel_requested": True},
     JobState.CANCELLED, "None", 0, 0),
    ("cancelled while pending", detail("FAILED", statusReason=cancel_reason(0),
                                       isCancelled=True), {}, JobState.CANCELLED, "None", 0, 0),
    ("terminated by someone else", ran("FAILED", 20, code=143, reason="Terminated by ops",
                                       isTerminated=True), {}, JobState.CANCELLED, "None", 0,
     0),
    ("spot reclaimed, retries exhausted", ran("FAILED", 80, code=143, reason=HOST_REASON,
                                              attempts=4), {}, JobState.NODE_FAIL,
     "NodeFail", 0, 0),
    ("host lost, no exit code", ran("FAILED", 80, reason=HOST_REASON), {},
     JobState.NODE_FAIL, "NodeFail", 0, 0),
    ("dependency failed", detail("FAILED", statusReason="Dependent Job failed",
                                 dependsOn=[{"jobId": "x"}]), {},
     JobState.PENDING, "DependencyNeverSatisfied", 0, 0),
    ("dependency failed, kill_on_invalid_dep", detail("FAILED", statusReason="Dependent Job "
                                                      "failed", dependsOn=[{"jobId": "x"}],
                                                      stoppedAt=T0),
     {"kill_on_invalid_dep": True}, JobState.CANCELLED, "DependencyNeverSatisfied", 0, 0),
    ("moto dependency failure (no reason, never ran)",
     detail("FAILED", dependsOn=[{"jobId": "x"}], attempts=[], startedAt=T0, stoppedAt=T0),
     {}, JobState.PENDING, "DependencyNeverSatisfied", 0, 0),
    ("array parent with failed children", detail("FAILED", statusReason="Array Child Job "
                                                 "failed", arrayProperties={"size": 3}), {},
     JobState.FAILED, "NonZeroExitCode", 1, 0),
    ("scontrol requeue", ran("FAILED", 20, code=143, reason=requeue_reason(0)), {},
     JobState.REQUEUED, "None", 0, 0),
]


@pytest.mark.parametrize("name,d,kw,state,reason,code,sig", ENDINGS, ids=[e[0] for e in ENDINGS])
def test_endings(name, d, kw, state, reason, code, sig):
    v = view(d, **kw)
    assert (v.state, v.reason, v.exit_code, v.exit_signal) == (state, reason, code, sig)
    assert v.batch_terminal


def test_times_are_seconds_and_node_is_the_ec2_host_name():
    d = ran("SUCCEEDED", 12.5, code=0)
    v = view(d)
    assert v.start_time == d["startedAt"] / 1000 and v.end_time == d["stoppedAt"] / 1000
    assert v.end_time - v.start_time == 12.5
    assert v.node_list == "ip-10-0-1-23"


def test_never_run_jobs_have_no_times_or_node():
    v = view(detail("FAILED", statusReason="Dependent Job failed", dependsOn=[{"jobId": "x"}],
                    startedAt=T0, stoppedAt=T0))
    assert v.start_time is None and v.end_time is None and v.node_list is None


def test_restarts_count_batch_attempts_and_slurm_requeues():
    d = ran("FAILED", 80, code=143, reason=HOST_REASON, attempts=4)
    assert view(d).restarts == 3
    assert view(d, requeue_retries=2).restarts == 5
    assert view(ran("SUCCEEDED", code=0)).restarts == 0
    hist = view(d).history
    assert [h["state"] for h in hist] == [JobState.NODE_FAIL] * 3
    assert hist[0]["start_time"] == (T0 + 0) / 1000 and hist[0]["end_time"] == (T0 + 500) / 1000
    assert hist[0]["reason"] == HOST_REASON and hist[0]["node_list"] == "ip-10-0-1-23"


def test_list_jobs_summary_shape():
    summary = {"jobId": "j", "jobName": "n", "status": "FAILED", "createdAt": T0,
               "startedAt": T0, "stoppedAt": T0 + 1000, "container": {"exitCode": 2},
               "arrayProperties": {"size": 0, "index": 4}}
    v = view(summary)
    assert (v.state, v.exit_code) == (JobState.FAILED, 2)
    assert array_child_index(summary) == 4


def test_exit_code_from_the_last_attempt_when_container_has_none():
    d = ran("FAILED", 5, code=None)
    d["attempts"][-1]["container"]["exitCode"] = 4
    assert view(d).exit_code == 4


def test_runnable_warning_names_the_code():
    v = view(detail("RUNNABLE", statusReason="MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT - x"))
    assert "no compute environment of the queue has instances that meet" in v.warning


# ------------------------------------------------------------------ array children

@pytest.mark.parametrize("d,index", [
    ({"jobId": "abc:7", "arrayProperties": {"index": 7}}, 7),
    ({"jobId": "5e1c2f0a-1111-2222-3333-444455556666:12"}, 12),   # moto: no index
    ({"jobId": "abc", "arrayProperties": {"size": 10, "statusSummary": {}}}, None),
    ({"jobId": "abc#1"}, None),                                    # a multi-node node
    ({"jobId": "abc"}, None),
    ({"jobId": "abc:3", "arrayProperties": {"index": 0}}, 0),     # the field wins
])
def test_array_child_index(d, index):
    assert array_child_index(d) == index


def test_is_array_parent():
    assert is_array_parent({"jobId": "a", "arrayProperties": {"size": 3}})
    assert not is_array_parent({"jobId": "a:1", "arrayProperties": {"size": 3, "index": 1}})
    assert not is_array_parent({"jobId": "a"})


def test_reason_texts_round_trip():
    assert cancel_reason(1000) == "Cancelled by slurmshim scancel (uid 1000)"
    assert view(detail("FAILED", statusReason=cancel_reason(7))).state == JobState.CANCELLED
    assert view(detail("FAILED", statusReason=requeue_reason(7))).state == JobState.REQUEUED
