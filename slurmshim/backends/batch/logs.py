"""A Batch job's output from CloudWatch Logs.

The runtime tees the job's stdout and stderr to the container's own (descriptor tee_output), so
the awslogs driver ships them to CloudWatch: group `/aws/batch/job` (or [aws] log_group, or the
job definition's awslogs-group), stream `container.logStreamName` of DescribeJobs (each attempt
has its own; multi-node jobs have one per node `<id>#N`; array tasks are the children
`<parent>:<i>`).  CloudWatch merges the container's stdout and stderr into that one stream,
in the order they were written and without telling them apart: what srun/sattach stream and
what `slurmshim output` fetches is the job's output and error together.

    StreamReader       a job's streams read forward (one cursor per stream)
    follow(...)        stream one Batch job's log until it ends (BatchBackend.follow_output
                       adds the ledger: held jobs, requeues; sattach and srun use that)
    read_all(...)      everything logged so far
    fetch_output(...)  write a finished job's output to its --output path (`slurmshim output ID`)
"""
from __future__ import annotations

import os
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

    def read(self, max_pages: int | None = None) -> list[dict]:
        """Every event available now (several calls when there are many), or at most
        `max_pages` pages (the next read goes on from there): while a job runs, one page per
        poll is enough, and saves the call that would only find the page empty."""
        events: list[dict] = []
        pages = 0
        while True:
            try:
                resp = self.client.get_log_events(self.group, self.stream, self.token)
            except Exception as exc:
                cause = exc.__cause__ or exc
                if is_client_error(cause, "ResourceNotFoundException"):
                    return events
                raise
            pages += 1
            batch = resp.get("events") or []
            events.extend(batch)
            nxt = resp.get("nextForwardToken")
            if not batch or not nxt or nxt == self.token:
                self.token = nxt or self.token
                return events
            self.token = nxt
            if max_pages is not None and pages >= max_pages:
                return events


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


class StreamReader:
    """The log streams of ONE Batch job, read forward as the job goes: a cursor per stream
    (a Batch retry is a new attempt with a new stream; a multi-node job has one per node).
    `feed(detail)` after each DescribeJobs of the job; `drain()` once it has ended."""

    def __init__(self, client: BatchClient, write: Callable[[str], Any], *,
                 aws: "AwsSettings | None" = None, nodes: Iterable[int] | None = None,
                 label: bool = False) -> None:
        self.client, self.write, self.aws, self.label = client, write, aws, label
        self.nodes = list(nodes) if nodes is not None else None
        self.cursors: dict[str, tuple[str, LogCursor]] = {}
        self._node_streams: list[tuple[str, str, str]] | None = None
        self._node_status: str | None = None

    def _out(self, prefix: str) -> Callable[[str], Any]:
        if not self.label:
            return self.write
        return lambda text: self.write(f"{prefix}: {text}")

    def _streams(self, detail: dict) -> list[tuple[str, str, str]]:
        if not is_multinode_parent(detail):
            s = log_stream_of(detail)
            return [("0", log_group_of(detail, self.aws), s)] if s else []
        # the nodes' streams: one DescribeJobs of `<id>#N`, again only when the job moved on
        status = str(detail.get("status") or "")
        if self._node_streams is None or not self._node_streams or status != self._node_status:
            self._node_streams = streams_of(self.client, detail, self.aws, self.nodes)
            self._node_status = status
        return self._node_streams

    def feed(self, detail: dict | None, *, final: bool = False) -> bool:
        """Read what the job's streams have now (one page per stream, everything when
        `final`).  True when there was output."""
        if not detail:
            return False
        got = False
        streams = self._streams(detail)
        keys = {f"{group}\0{stream}": (lab, group, stream) for lab, group, stream in streams}
        gone = [k for k in self.cursors if k not in keys]
        if gone and any(k not in self.cursors for k in keys):
            # a new attempt (a Batch retry): finish the old attempt's streams first
            for k in gone:
                lab, cur = self.cursors.pop(k)
                events = cur.read()
                if events:
                    got = True
                    _emit(events, self._out(lab))
        for key, (lab, group, stream) in keys.items():
            if key not in self.cursors:
                self.cursors[key] = (lab, LogCursor(self.client, group, stream))
            lab, cur = self.cursors[key]
            events = cur.read(None if final else 1)
            if events:
                got = True
                _emit(events, self._out(lab))
        return got

    def drain(self) -> bool:
        """Everything left in every stream read so far."""
        got = False
        for lab, cur in list(self.cursors.values()):
            events = cur.read()
            if events:
                got = True
                _emit(events, self._out(lab))
        return got


def follow(client: BatchClient, batch_id: str, write: Callable[[str], Any], *,
           aws: "AwsSettings | None" = None, poll: float = 2.0, timeout: float | None = None,
           nodes: Iterable[int] | None = None, label: bool = False,
           should_stop: Callable[[], bool] | None = None) -> dict | None:
    """Stream one Batch job's log to `write` until the job has ended and its log is drained
    (no ledger: the backend's follow_output is what the commands use).  One DescribeJobs per
    poll, plus one GetLogEvents per stream once the job has one; the polls back off from
    `poll` while nothing happens (PollBackoff).  Returns the last job detail.
    `label`: prefix lines with the node index (`0: ...`), as `srun -l`/`sattach -l` do."""
    from tenacity import Retrying, retry_if_result, stop_after_delay, stop_never

    from .client import PollBackoff, poll_delays

    first, waiting, running = poll_delays(poll)
    backoff = PollBackoff(first, waiting)
    reader = StreamReader(client, write, aws=aws, nodes=nodes, label=label)
    state: dict[str, Any] = {"detail": None, "status": None}

    def poll_once() -> bool:
        """True when done (the job has ended and everything was read)."""
        if should_stop is not None and should_stop():
            return True
        got = client.describe_jobs([batch_id])
        detail = got[0] if got else None
        state["detail"] = detail
        if detail is None:
            return False
        status = detail.get("status")
        if status in TERMINAL_STATUSES:
            reader.feed(detail, final=True)   # to the end of every stream
            return True
        if reader.feed(detail) or status != state["status"]:
            backoff.reset(running if status == "RUNNING" else waiting)
        state["status"] = status
        return False

    r = Retrying(stop=stop_after_delay(timeout) if timeout else stop_never, wait=backoff,
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
    """Write a finished Batch job's log to its --output path (or `dest`) on this machine, for
    jobs whose output directory is not shared with the container.  Returns the paths written.

    What CloudWatch has: ONE stream per container attempt, into which the awslogs driver puts
    the container's stdout and stderr interleaved in the order they were written, with nothing
    to tell them apart (the runtime tees the job's output and error to the container's own).
    So the whole log -- stdout and stderr merged -- goes to the --output file.  When --error
    names a separate file, that file is created empty (as slurmstepd creates it when the job
    starts; tools that open it find it) and its lines are in the --output file; `--error`
    equal to --output (the default) needs nothing more.  Only the last attempt's stream is
    written (a requeued job's output starts over, as with --open-mode=truncate); a multi-node
    job's nodes follow one another.

    An existing file is kept unless `force`: it may be the real one, written by the job through
    a shared mount.  /dev/null is never written."""
    from ...errors import SlurmError
    be = ctl.backend("batch")
    ids = be.batch_ids(rec)
    if not ids:
        raise SlurmError(f"job {rec.display_id} has no AWS Batch job (it never started)")
    out, err = output_paths(rec)
    path = dest or out
    if path == "/dev/null" or (os.path.exists(path) and not force):
        return []
    client = be.client(ctl)
    details = client.describe_jobs(ids[:1])
    if not details:
        raise SlurmError(f"AWS Batch no longer knows job {rec.display_id} ({ids[0]}): its "
                         "log may still be in CloudWatch Logs")
    text = read_all(client, details[0], ctl.config.aws)
    _write_file(path, text)
    written = [path]
    if dest is None and err and err not in ("/dev/null", path) and \
            (force or not os.path.exists(err)):
        _write_file(err, "")
        written.append(err)
    return written


def _write_file(path: str, text: str) -> None:
    parent = os.path.dirname(path)
    if parent:
        os.makedirs(parent, exist_ok=True)
    tmp = f"{path}.slurmshim-tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def wait_and_stream(ctl: "Controller", rec: "JobRecord", write: Callable[[str], Any], *,
                    poll: float | None = None, timeout: float | None = None) -> int:
    """Follow a Slurm job's output until it ends (BatchBackend.follow_output with a write
    function instead of a stream)."""

    class _Sink:
        def write(self, text: str) -> None:
            write(text)

        def flush(self) -> None:
            pass

    return ctl.backend("batch").follow_output(ctl, rec, _Sink(), poll=poll, timeout=timeout)
