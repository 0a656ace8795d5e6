"""A Batch job's output from CloudWatch Logs.

The runtime tees the job's stdout and stderr to the container's own (descriptor tee_output), so
the awslogs driver ships them to CloudWatch: group `/aws/batch/job` (or [aws] log_group, or the
job definition's awslogs-group), stream `container.logStreamName` of DescribeJobs (each attempt
has its own; multi-node jobs have one per node `<id>#N`; array tasks are the children
`<parent>:<i>`).  Both streams are merged there, so a fetched output holds stderr too.

    follow(...)        stream a job's log until it ends (sattach, srun, sbatch --wait)
    read_all(...)      everything logged so far
    fetch_output(...)  write a finished job's output to its --output path (`slurmshim output ID`)
"""
from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any, Callable, Iterable

from .client import TERMINAL_STATUSES, BatchClient, is_client_error

if TYPE_CHECKING:  # pragma: no cover
    from ...config import AwsSettings
    from ...controller import Controller
    from ...model import JobRecord

DEFAULT_GROUP = "/aws/batch/job"


def log_group_of(detail: dict | None, aws: "AwsSettings | None" = None) -> str:
    """The job definition's awslogs-group when it names one, else [aws] log_group."""
    cont = (detail or {}).get("container") or {}
    opts = ((cont.get("logConfiguration") or {}).get("options") or {})
    return opts.get("awslogs-group") or (aws.log_group if aws and aws.log_group else
                                         DEFAULT_GROUP)


def log_stream_of(detail: dict | None, attempt: int | None = None) -> str | None:
    """The stream of an attempt (1-based; default the latest)."""
    if not detail:
        return None
    attempts = detail.get("attempts") or []
    if attempt is not None and 0 < attempt <= len(attempts):
        return ((attempts[attempt - 1].get("container") or {}).get("logStreamName")) or None
    stream = (detail.get("container") or {}).get("logStreamName")
    if stream:
        return stream
    for att in reversed(attempts):
        s = (att.get("container") or {}).get("logStreamName")
        if s:
            return s
    return None


def is_multinode_parent(detail: dict | None) -> bool:
    if not detail or "#" in str(detail.get("jobId", "")):
        return False
    np_ = detail.get("nodeProperties") or {}
    return bool(np_) and int(np_.get("numNodes") or 1) > 1 and "isMainNode" not in np_


def streams_of(client: BatchClient, detail: dict, aws: "AwsSettings | None" = None,
               nodes: Iterable[int] | None = None) -> list[tuple[str, str, str]]:
    """(label, group, stream) to read for a job: one per node of a multi-node job (the nodes
    `<id>#N`, described in one call), else the job's own stream.  Nodes that Batch does not
    know (moto) fall back to the parent's stream, once."""
    group = log_group_of(detail, aws)
    out: list[tuple[str, str, str]] = []
    if is_multinode_parent(detail):
        n = int((detail.get("nodeProperties") or {}).get("numNodes") or 1)
        want = list(nodes) if nodes is not None else list(range(n))
        ids = [f"{detail['jobId']}#{i}" for i in want]
        for d in client.describe_jobs(ids):
            s = log_stream_of(d)
            if s:
                out.append((d["jobId"].rpartition("#")[2], log_group_of(d, aws), s))
        if out:
            return out
    s = log_stream_of(detail)
    if s:
        out.append(("0", group, s))
    return out


class LogCursor:
    """Reads one stream forward with get_log_events + nextForwardToken.  A stream or group that
    does not exist yet reads as empty."""

    def __init__(self, client: BatchClient, group: str, stream: str) -> None:
        self.client, self.group, self.stream = client, group, stream
        self.token: str | None = None

    def read(self) -> list[dict]:
        """Every event available now (several calls when there are many)."""
        events: list[dict] = []
        while True:
            try:
                resp = self.client.get_log_events(self.group, self.stream, self.token)
            except Exception as exc:
                cause = exc.__cause__ or exc
                if is_client_error(cause, "ResourceNotFoundException"):
                    return events
                raise
            batch = resp.get("events") or []
            events.extend(batch)
            nxt = resp.get("nextForwardToken")
            if not batch or not nxt or nxt == self.token:
                self.token = nxt or self.token
                return events
            self.token = nxt


def _emit(events: list[dict], write: Callable[[str], Any]) -> None:
    for ev in events:
        msg = ev.get("message", "")
        write(msg if msg.endswith("\n") else msg + "\n")


def read_all(client: BatchClient, detail: dict, aws: "AwsSettings | None" = None,
             nodes: Iterable[int] | None = None) -> str:
    """Everything the job has logged so far, nodes one after the other."""
    parts: list[str] = []
    for _label, group, stream in streams_of(client, detail, aws, nodes):
        _emit(LogCursor(client, group, stream).read(), parts.append)
    return "".join(parts)


def follow(client: BatchClient, batch_id: str, write: Callable[[str], Any], *,
           aws: "AwsSettings | None" = None, poll: float = 2.0, timeout: float | None = None,
           nodes: Iterable[int] | None = None, label: bool = False,
           should_stop: Callable[[], bool] | None = None) -> dict | None:
    """Stream a job's log to `write` until the job has ended and its log is drained.  Waits
    for the stream to appear (it does when the job starts).  Returns the last job detail.
    `label`: prefix lines with the node index (`0: ...`), as `srun -l`/`sattach -l` do."""
    from tenacity import Retrying, retry_if_result, stop_after_delay, stop_never, wait_fixed

    cursors: dict[str, tuple[str, LogCursor]] = {}
    state: dict[str, Any] = {"detail": None}
    node_list = list(nodes) if nodes is not None else None

    def out(prefix: str) -> Callable[[str], Any]:
        if not label:
            return write
        return lambda text: write(f"{prefix}: {text}")

    def poll_once() -> bool:
        """True when done (the job has ended and everything was read)."""
        if should_stop is not None and should_stop():
            return True
        got = client.describe_jobs([batch_id])
        detail = got[0] if got else None
        state["detail"] = detail
        if detail is None:
            return False
        for lab, group, stream in streams_of(client, detail, aws, node_list):
            key = f"{group}\0{stream}"
            if key not in cursors:
                cursors[key] = (lab, LogCursor(client, group, stream))
            _emit(cursors[key][1].read(), out(lab))
        if detail.get("status") in TERMINAL_STATUSES:
            for lab, cur in cursors.values():  # a last drain: logs may land after the end
                _emit(cur.read(), out(lab))
            return True
        return False

    r = Retrying(stop=stop_after_delay(timeout) if timeout else stop_never, wait=wait_fixed(poll),
                 retry=retry_if_result(lambda done: not done), reraise=False)
    try:
        r(poll_once)
    except Exception as exc:  # RetryError on timeout: return what we know
        if type(exc).__name__ != "RetryError":
            raise
    return state["detail"]


# ---------------------------------------------------------------- slurmshim output ID

def output_paths(rec: "JobRecord", spec: Any = None) -> tuple[str, str | None]:
    """The record's --output and --error paths with %-patterns expanded (error None = merged
    into output)."""
    from ...runtime.fname import expand_pattern

    def expand(pattern: str) -> str:
        return expand_pattern(pattern, job_id=rec.job_id, array_job_id=rec.array_job_id,
                              array_task_id=rec.array_task_id, step_id=None,
                              node_name=(rec.node_list.split(",")[0] if rec.node_list else ""),
                              node_id=0, task_id=0, user=rec.user, job_name=rec.name,
                              restart_count=rec.restarts, work_dir=rec.work_dir)

    out = expand(rec.stdout_path) if rec.stdout_path else expand("slurm-%j.out")
    err = expand(rec.stderr_path) if rec.stderr_path and rec.stderr_path != rec.stdout_path \
        else None
    return out, err


def fetch_output(ctl: "Controller", rec: "JobRecord", *, force: bool = False,
                 dest: str | None = None) -> list[str]:
    """Write a Batch job's log to its --output path (or `dest`) on this machine, for jobs whose
    output directory is not shared with the container.  An existing file is kept unless
    `force` (it may be the real one, written through a shared mount).  Returns the paths
    written; stderr is merged into the output (CloudWatch has one stream per container)."""
    from ...errors import SlurmError
    be = ctl.backend("batch")
    ids = be.batch_ids(rec)
    if not ids:
        raise SlurmError(f"job {rec.display_id} has no AWS Batch job (it never started)")
    path = dest or output_paths(rec)[0]
    if path == "/dev/null" or (os.path.exists(path) and not force):
        return []
    client = be.client(ctl)
    details = client.describe_jobs(ids[:1])
    if not details:
        raise SlurmError(f"AWS Batch no longer knows job {rec.display_id} ({ids[0]}): its "
                         "log may still be in CloudWatch Logs")
    text = read_all(client, details[0], ctl.config.aws)
    parent = os.path.dirname(path)
    if parent:
        os.makedirs(parent, exist_ok=True)
    tmp = f"{path}.slurmshim-tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)
    return [path]


def wait_and_stream(ctl: "Controller", rec: "JobRecord", write: Callable[[str], Any], *,
                    poll: float = 2.0, timeout: float | None = None) -> dict | None:
    """sattach / sbatch --wait helper: wait until the job has a Batch id (held jobs are
    submitted by refreshes), then follow its log."""
    be = ctl.backend("batch")
    deadline = None if timeout is None else time.time() + timeout
    while True:
        fresh = ctl.ledger.get(rec.job_id) or rec
        ids = be.batch_ids(fresh)
        if ids:
            left = None if deadline is None else max(0.0, deadline - time.time())
            return follow(be.client(ctl), ids[0], write, aws=ctl.config.aws, poll=poll,
                          timeout=left)
        if fresh.state.is_terminal or (deadline is not None and time.time() > deadline):
            return None
        ctl._refreshed = False
        ctl.refresh()
        time.sleep(poll)
