"""AWS Batch job detail -> what Slurm would show: state, reason, exit code, times, restarts.
Pure (no boto3): the input is one item of DescribeJobs ``jobs`` or of ListJobs
``jobSummaryList`` (moto puts ``container.exitCode`` only in the latter), as dicts.

Batch status -> Slurm
=====================
============  ===============================================================================
SUBMITTED     PENDING, reason None, or Dependency when the job has dependsOn
PENDING       (JobArrayTaskLimit for a link of a `%N` chain)
RUNNABLE      PENDING, reason Resources; ``MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT`` (no
              compute environment has instances that fit) and ``...:SERVICE_ROLE_PERMISSIONS``
              -> ReqNodeNotAvail, ``...:COMPUTE_ENVIRONMENT_MAX_RESOURCE`` (maxvCpus below the
              job's needs) -> PartitionConfig, each with a warning text for squeue;
              ``CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY`` -> Resources
STARTING      CONFIGURING
RUNNING       RUNNING
SUCCEEDED     COMPLETED 0:0
FAILED        the first that applies:
              CANCELLED   cancel_requested, isCancelled, our TerminateJob reason
                          ("Cancelled by slurmshim scancel (uid N)"), or a TerminateJob by
                          someone else (isTerminated with another reason) -- 0:0
              NODE_FAIL   ``Host EC2 (instance i-...) terminated.`` (retries exhausted) -- 0:0
              TIMEOUT     ``Job attempt duration exceeded timeout`` (Batch's backstop), or the
                          run lasted the Slurm time limit (tag slurmshim:time_limit or the
                          time_limit argument: the runtime enforced it) or the whole
                          attemptDurationSeconds (moto sets no reason) -- 0:0, TimeLimit
              OUT_OF_MEMORY  container reason ``OutOfMemoryError: Container killed due to
                          memory usage`` -- 0:125 as Slurm reports an OOM kill, OutOfMemory
              (never ran) ``Dependent Job failed`` (or moto's reasonless FAILED with dependsOn
                          and no attempt): PENDING DependencyNeverSatisfied, as Slurm keeps a
                          job whose afterok can never be satisfied (CANCELLED with
                          kill_on_invalid_dep); ``batch_terminal`` tells the caller Batch
                          will not change it any more
              FAILED      container exit code N: N:0 NonZeroExitCode; N > 128: 0:(N-128)
                          RaisedSignal (the runtime exits 128+signal when the script was
                          killed; moto reports -N); no exit code (the container never started,
                          e.g. CannotPullContainerError): 1:0 JobLaunchFailure, with a warning
============  ===============================================================================

Multi-node (MNP) jobs: the detail is the parent job's, whose status, times, reason and exit
information are its main node's.  Batch launches the main node first (STARTING -> CONFIGURING
on all the job's nodes), ends the job when the main node exits and does nothing when a child
node dies: the job stays RUNNING (as under Slurm's --no-kill) and ends as the main node does.
When the parent carries no exit code, the backend takes it (and the container reason: an OOM
kill) from the main node `<id>#<mainNode>` before calling slurm_view.

Times are epoch milliseconds in Batch, seconds here (a finished job's start is its last
attempt's).  ``restarts`` counts the Batch attempts that ended and were retried (Spot reclaims
retried by the retryStrategy: all attempts but the last of a finished job, the ended ones of a
job still pending or running) on top of the Slurm-level requeues the caller already knows
(``requeue_retries``); ``history`` describes each of those attempts for ``sacct -D``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ...model import JobState

CANCEL_REASON_PREFIX = "Cancelled by slurmshim scancel"
REQUEUE_REASON_PREFIX = "Requeued by slurmshim scontrol"
TIMEOUT_REASON = "Job attempt duration exceeded timeout"
HOST_FAILURE_PREFIX = "Host EC2"
OOM_PREFIX = "OutOfMemoryError"
DEPENDENCY_FAILED = "Dependent Job failed"
ARRAY_CHILD_FAILED = "Array Child Job failed"
SLURM_OOM_SIGNAL = 125      # sacct shows an OOM-killed job as 0:125
TIME_TOLERANCE = 2.0        # seconds of clock skew allowed when comparing run time to limits

_MISCONFIG = {
    "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT": (
        "ReqNodeNotAvail",
        "no compute environment of the queue has instances that meet the job's resource "
        "requirements"),
    "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE": (
        "PartitionConfig",
        "the job needs more vCPUs than the maxvCpus of every compute environment of the "
        "queue"),
    "MISCONFIGURATION:SERVICE_ROLE_PERMISSIONS": (
        "ReqNodeNotAvail",
        "the compute environments' service role lacks permissions"),
}


@dataclass
class SlurmView:
    state: JobState
    reason: str = "None"
    exit_code: int = 0
    exit_signal: int = 0
    start_time: float | None = None
    end_time: float | None = None
    restarts: int = 0
    node_list: str | None = None
    warning: str | None = None
    # -- beyond the agreed fields --
    batch_terminal: bool = False          # Batch will not change this job any more
    batch_status: str = ""
    history: list[dict] = field(default_factory=list)  # earlier attempts (sacct -D)


def cancel_reason(uid: int) -> str:
    """The TerminateJob/CancelJob reason slurmshim's scancel uses (recognised here)."""
    return f"{CANCEL_REASON_PREFIX} (uid {uid})"


def requeue_reason(uid: int) -> str:
    """The TerminateJob reason of `scontrol requeue` (the ledger keeps the job PENDING)."""
    return f"{REQUEUE_REASON_PREFIX} (uid {uid})"


def _ms(value: Any) -> float | None:
    if value in (None, 0, ""):
        return None
    try:
        return float(value) / 1000.0
    except (TypeError, ValueError):
        return None


def _container(detail: dict) -> dict:
    c = detail.get("container")
    if c:
        return c
    attempts = detail.get("attempts") or []
    if attempts:
        return attempts[-1].get("container") or {}
    return {}


def _exit_code(detail: dict) -> int | None:
    code = _container(detail).get("exitCode")
    if code is None:
        attempts = detail.get("attempts") or []
        if attempts:
            code = (attempts[-1].get("container") or {}).get("exitCode")
    return code if isinstance(code, int) else None


def _container_reason(detail: dict) -> str:
    reason = _container(detail).get("reason") or ""
    if not reason:
        attempts = detail.get("attempts") or []
        if attempts:
            reason = (attempts[-1].get("container") or {}).get("reason") or ""
    return reason


def _tag(detail: dict, key: str) -> str | None:
    tags = detail.get("tags") or {}
    val = tags.get(key)
    return str(val) if val is not None else None


def _node_name(container: dict) -> str | None:
    """EC2's private DNS host name (ip-10-0-1-23) from the attempt's network interface."""
    for nic in container.get("networkInterfaces") or []:
        ip = nic.get("privateIpv4Address")
        if ip:
            return "ip-" + ip.replace(".", "-")
    return None


def _time_limit_minutes(detail: dict, time_limit: int | None) -> int | None:
    if time_limit is not None:
        return time_limit if time_limit >= 0 else None
    tag = _tag(detail, "slurmshim:time_limit")
    if tag and tag.isdigit():
        return int(tag)
    return None


def _timed_out(detail: dict, reason: str, time_limit: int | None) -> bool:
    if reason.startswith(TIMEOUT_REASON):
        return True
    start, stop = _ms(detail.get("startedAt")), _ms(detail.get("stoppedAt"))
    attempts = detail.get("attempts") or []
    if attempts:  # the last attempt's run is what a timeout ends
        start = _ms(attempts[-1].get("startedAt")) or start
        stop = _ms(attempts[-1].get("stoppedAt")) or stop
    if start is None or stop is None:
        return False
    ran = stop - start
    duration = (detail.get("timeout") or {}).get("attemptDurationSeconds")
    if duration and ran + TIME_TOLERANCE >= float(duration):
        return True
    limit = _time_limit_minutes(detail, time_limit)
    if limit is not None and ran + TIME_TOLERANCE >= limit * 60:
        code = _exit_code(detail)
        return code is None or code > 128  # killed by the runtime's SIGTERM/SIGKILL
    return False


def _dependency_failed(detail: dict, reason: str) -> bool:
    if reason.lower().startswith(DEPENDENCY_FAILED.lower()):
        return True
    # moto: FAILED with no reason, no attempt, while depending on something that failed
    return (not reason and bool(detail.get("dependsOn")) and not detail.get("attempts")
            and _exit_code(detail) is None and not _container_reason(detail))


_TERMINAL = ("SUCCEEDED", "FAILED")


def _earlier_attempts(detail: dict) -> list[dict]:
    """Attempts that ended and were followed by another one (Batch retried the job): all but
    the last of a finished job; every ended one of a job still on its way (AWS lists an attempt
    once it ended, moto from its start)."""
    attempts = detail.get("attempts") or []
    if str(detail.get("status") or "").upper() in _TERMINAL:
        return attempts[:-1]
    return [a for a in attempts if a.get("stoppedAt")]


def _history(detail: dict) -> list[dict]:
    out = []
    for att in _earlier_attempts(detail):
        c = att.get("container") or {}
        reason = att.get("statusReason") or ""
        code = c.get("exitCode")
        state = JobState.NODE_FAIL if reason.startswith(HOST_FAILURE_PREFIX) else \
            JobState.FAILED
        exit_code, sig = 0, 0
        if state == JobState.FAILED and isinstance(code, int):
            exit_code, sig = (0, code - 128) if code > 128 else (code, 0)
        out.append({"state": state, "reason": reason, "start_time": _ms(att.get("startedAt")),
                    "end_time": _ms(att.get("stoppedAt")), "exit_code": exit_code,
                    "exit_signal": sig, "node_list": _node_name(c)})
    return out


def slurm_view(detail: dict, *, cancel_requested: bool = False, requeue_retries: int = 0,
               time_limit: int | None = None, kill_on_invalid_dep: bool = False,
               throttled: bool | None = None) -> SlurmView:
    """The Slurm view of one Batch job (a plain job, an array child, a multi-node job).

    cancel_requested: slurmshim's scancel asked for it (the ledger knows).  requeue_retries:
    Slurm-level restarts before this Batch job.  time_limit: the job's limit in minutes (else
    the slurmshim:time_limit tag).  kill_on_invalid_dep: --kill-on-invalid-dep=yes.
    throttled: the job is a link of a `%N` chain (else the slurmshim:throttle tag)."""
    status = str(detail.get("status") or "SUBMITTED").upper()
    reason_text = detail.get("statusReason") or ""
    attempts = detail.get("attempts") or []
    container = _container(detail)
    restarts = max(0, requeue_retries) + len(_earlier_attempts(detail))
    start = _ms(detail.get("startedAt"))
    end = _ms(detail.get("stoppedAt"))
    if attempts and status in _TERMINAL:  # the run that ended it, not the reclaimed ones
        start = _ms(attempts[-1].get("startedAt")) or start
    if throttled is None:
        throttled = _tag(detail, "slurmshim:throttle") is not None
    node = _node_name(container)
    view = SlurmView(state=JobState.PENDING, restarts=restarts, batch_status=status,
                     history=_history(detail))

    if status in ("SUBMITTED", "PENDING"):
        deps = detail.get("dependsOn") or []
        if deps:
            view.reason = "JobArrayTaskLimit" if throttled else "Dependency"
        return view
    if status == "RUNNABLE":
        view.reason = "Resources"
        for code, (reason, text) in _MISCONFIG.items():
            if reason_text.startswith(code):
                queue = str(detail.get("jobQueue") or "").rsplit("/", 1)[-1]
                view.reason = reason
                view.warning = (f"AWS Batch{' queue ' + queue if queue else ''}: {text} "
                                f"({code}); the job will not start until the compute "
                                f"environments change")
        return view
    if status == "STARTING":
        view.state = JobState.CONFIGURING
        view.start_time = start
        view.node_list = node
        return view
    if status == "RUNNING":
        view.state = JobState.RUNNING
        view.start_time = start
        view.node_list = node
        return view

    view.batch_terminal = status in ("SUCCEEDED", "FAILED")
    view.start_time = start
    view.end_time = end
    view.node_list = node
    if status == "SUCCEEDED":
        view.state = JobState.COMPLETED
        return view

    # FAILED (or an unknown status, treated alike)
    code = _exit_code(detail)
    creason = _container_reason(detail)
    ran = start is not None or bool(attempts)
    if (cancel_requested or detail.get("isCancelled") or reason_text.startswith(
            CANCEL_REASON_PREFIX) or (detail.get("isTerminated") and not reason_text.startswith(
            (HOST_FAILURE_PREFIX, TIMEOUT_REASON, REQUEUE_REASON_PREFIX)))):
        view.state = JobState.CANCELLED
        return view
    if reason_text.startswith(REQUEUE_REASON_PREFIX):
        view.state = JobState.REQUEUED
        return view
    if reason_text.startswith(HOST_FAILURE_PREFIX):
        view.state, view.reason = JobState.NODE_FAIL, "NodeFail"
        return view
    if creason.startswith(OOM_PREFIX) or reason_text.startswith(OOM_PREFIX):
        view.state, view.reason = JobState.OUT_OF_MEMORY, "OutOfMemory"
        view.exit_code, view.exit_signal = 0, SLURM_OOM_SIGNAL
        return view
    if _dependency_failed(detail, reason_text):
        view.start_time = view.end_time = view.node_list = None
        if kill_on_invalid_dep:
            view.state, view.reason = JobState.CANCELLED, "DependencyNeverSatisfied"
            view.end_time = end
        else:
            view.state, view.reason = JobState.PENDING, "DependencyNeverSatisfied"
        return view
    if ran and _timed_out(detail, reason_text, time_limit):
        view.state, view.reason = JobState.TIMEOUT, "TimeLimit"
        return view
    view.state = JobState.FAILED
    if reason_text.startswith(ARRAY_CHILD_FAILED) and code is None:
        view.exit_code, view.reason = 1, "NonZeroExitCode"  # an array parent: see the children
        return view
    if code is None:
        view.exit_code, view.reason = 1, "JobLaunchFailure"
        if creason or reason_text:
            view.warning = f"AWS Batch: {creason or reason_text}"
    elif code > 128:
        view.exit_code, view.exit_signal = 0, code - 128
        view.reason = "RaisedSignal"
    elif code < 0:  # moto reports a signalled container as -N
        view.exit_code, view.exit_signal = 0, -code
        view.reason = "RaisedSignal"
    else:
        view.exit_code, view.reason = code, "NonZeroExitCode"
    return view


_CHILD_ID = re.compile(r":(\d+)$")


def array_child_index(detail: dict) -> int | None:
    """The index of an array child within its Batch array (arrayProperties.index; moto omits
    it, so else the `:i` suffix of its jobId).  None for anything else (a parent has a size
    and no index; multi-node node jobs are `id#n`)."""
    props = detail.get("arrayProperties") or {}
    idx = props.get("index")
    if isinstance(idx, int):
        return idx
    m = _CHILD_ID.search(str(detail.get("jobId") or ""))
    return int(m.group(1)) if m else None


def is_array_parent(detail: dict) -> bool:
    props = detail.get("arrayProperties") or {}
    return "size" in props and array_child_index(detail) is None


__all__ = ["SlurmView", "slurm_view", "array_child_index", "is_array_parent", "cancel_reason",
           "requeue_reason", "CANCEL_REASON_PREFIX", "TIMEOUT_REASON", "HOST_FAILURE_PREFIX",
           "OOM_PREFIX", "DEPENDENCY_FAILED"]
