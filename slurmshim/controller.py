"""The use cases behind the commands: submit, queue, find, cancel, hold/release, requeue, update,
accounting and node views.  The controller plays slurmctld's part: it owns the ledger and the
Slurm semantics (states, reasons, array records, error texts) and hands execution to a backend.
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Iterable

from . import config as _config
from ._dataclass import dataclass, field
from .errors import InvalidJobId, SlurmError, SubmitError
from .identity import current_user
from .ledger import Ledger
from .model import (DEFAULT_ACCOUNT, DEFAULT_QOS, INFINITE, JobRecord, JobSpec, JobState,
                    NodeStatus, Partition, StepRecord)
from .scheduling import NEVER, Request, evaluate_dependency, held_reason, never_fits


@dataclass
class SubmitResult:
    """What a submission returns: the job id and the messages sbatch prints."""

    job_id: int
    messages: list[str] = field(default_factory=list)


@dataclass
class TestOnly:
    """What `sbatch --test-only` reports: Slurm's line, and for Batch partitions the requests."""

    line: str
    requests: str | None = None
    messages: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class JobTarget:
    """A job id as users write it: `N`, `N_T`, `N_[1-3]`, `N_*`, `N.step`."""

    job_id: int
    tasks: tuple[int, ...] | None = None   # explicit array tasks
    all_tasks: bool = False                # N_*
    step: str | None = None
    text: str = ""


def parse_job_target(text: str) -> JobTarget:
    """Parse one job id expression; ValueError if it is not one."""
    s = text.strip()
    step = None
    if "." in s:
        s, step = s.split(".", 1)
        if not step:
            raise ValueError(text)
    if "_" in s:
        base, _, task = s.partition("_")
        job = _positive(base, text)
        if task == "*":
            return JobTarget(job, None, True, step, text)
        if task.startswith("[") and task.endswith("]"):
            from .slurm.arrayspec import parse_array
            inner = task[1:-1].split("%", 1)[0]
            try:
                idx = parse_array(inner, max_array_size=1 << 31).indices
            except ValueError:
                raise ValueError(text) from None
            return JobTarget(job, idx, False, step, text)
        return JobTarget(job, (_nonneg(task, text),), False, step, text)
    return JobTarget(_positive(s, text), None, False, step, text)


def _positive(s: str, text: str) -> int:
    if not s.isdigit() or int(s) <= 0:
        raise ValueError(text)
    return int(s)


def _nonneg(s: str, text: str) -> int:
    if not s.isdigit():
        raise ValueError(text)
    return int(s)


class Controller:
    """One per command invocation.  Cheap to open: the ledger is opened on first use and
    backends are imported only when a job of theirs is touched."""

    def __init__(self, config: _config.Config, state_dir: Path):
        self.config = config
        self.state_dir = state_dir
        self._ledger: Ledger | None = None
        self._backends: dict[str, object] = {}
        self._refreshed = False
        self._specs: dict[int, JobSpec] = {}

    @classmethod
    def open(cls, config: _config.Config | None = None) -> "Controller":
        cfg = config or _config.load_config()
        return cls(cfg, _config.state_dir(cfg))

    # -- plumbing --------------------------------------------------------------------------
    @property
    def ledger(self) -> Ledger:
        if self._ledger is None:
            self._ledger = Ledger(self.state_dir / "ledger.sqlite3")
        return self._ledger

    def spool_dir(self, job_id: int) -> Path:
        return self.state_dir / "spool" / str(job_id)

    def backend(self, name: str):
        be = self._backends.get(name)
        if be is None:
            if name == "local":
                from .backends.local import LocalBackend
                be = LocalBackend()
            elif name == "batch":
                from .backends.batch import BatchBackend  # imports boto3 lazily
                be = BatchBackend()
            else:
                raise SlurmError(f"unknown backend {name!r}")
            self._backends[name] = be
        return be

    def partition_of(self, rec: JobRecord) -> Partition | None:
        return self.config.partitions.get(rec.partition)

    def load_spec(self, rec: JobRecord) -> JobSpec:
        """The job's spec; cached per spec id (specs never change after submit, and array
        tasks share their array's), so a scheduling pass decodes each once."""
        if rec.spec is None and rec.spec_id is not None and rec.spec_id in self._specs:
            rec.spec = self._specs[rec.spec_id]
        spec = self.ledger.load_spec(rec)
        if rec.spec_id is not None:
            if len(self._specs) > 10000:  # a long-lived daemon must not grow without bound
                self._specs.clear()
            self._specs[rec.spec_id] = spec
        return spec

    # -- submit ----------------------------------------------------------------------------
    def resolve_partition(self, spec: JobSpec) -> Partition:
        names = [n for n in (spec.partition or "").split(",") if n] or \
            [self.config.default_partition or ""]
        for name in names:
            part = self.config.partitions.get(name)
            if part is None:
                raise SubmitError("Invalid partition name specified",
                                  detail=f"invalid partition specified: {name}")
        return self.config.partitions[names[0]]

    def prepare(self, spec: JobSpec) -> tuple[Partition, list[str]]:
        """Validate a spec against the site and fill in partition defaults.  Raises SubmitError
        with Slurm's reason text; returns the partition and warnings."""
        from .plugins import run_job_submit
        run_job_submit(self, spec)
        part = self.resolve_partition(spec)
        spec.partition = part.name
        messages: list[str] = []
        max_array = part.max_array_size or self.config.max_array_size
        if spec.array is not None:
            if not spec.array.indices or spec.array.indices[-1] >= max_array:
                raise SubmitError("Invalid job array specification")
        if spec.time_limit is None:
            spec.time_limit = part.default_time if part.default_time is not None else part.max_time
        if spec.dependency is not None:
            for term in spec.dependency.terms:
                if term.job_id is not None and not self._dependency_target_exists(term.job_id):
                    raise SubmitError("Job dependency problem")
        req = self.request_of(spec, part)
        if never_fits(req, part):
            raise SubmitError("Requested node configuration is not available")
        messages.extend(self.backend(part.backend).validate(self, spec, part) or [])
        return part, messages

    def _dependency_target_exists(self, job_id: int) -> bool:
        if self.ledger.get(job_id) is not None:
            return True
        return bool(self.ledger.array_records(job_id))

    def request_of(self, spec: JobSpec, part: Partition) -> Request:
        r = spec.resources
        nodes = r.num_nodes
        tasks_per_node = -(-r.num_tasks // nodes)
        cpus = tasks_per_node * r.cpus_per_task_or_1
        if spec.extra.get("overcommit"):
            cpus = r.cpus_per_task_or_1  # Slurm: allocated as if one task per node
        if r.exclusive:
            cpus = part.cpus_per_node
        if r.mem_per_node is not None:
            mem = part.mem_per_node if r.mem_per_node == 0 else r.mem_per_node
        elif r.mem_per_cpu is not None:
            mem = r.mem_per_cpu * cpus
        elif r.mem_per_gpu is not None:
            mem = r.mem_per_gpu * max(1, r.gpus_per_node_total)
        elif part.def_mem_per_cpu:
            mem = part.def_mem_per_cpu * cpus
        else:
            mem = 0
        return Request(nodes=nodes, cpus=cpus, mem=mem, gpus=r.gpus_per_node_total,
                       exclusive=r.exclusive)

    def submit(self, spec: JobSpec) -> SubmitResult:
        part, messages = self.prepare(spec)
        now = time.time()
        rec = self.record_for(spec, part, now)
        block = len(spec.array.indices) if spec.array else 1
        rec = self.ledger.submit(rec, spec, id_block=block)
        self.backend(part.backend).submit(self, rec, spec, part)
        self._notify_submitted(rec, spec)
        self.purge_if_due(now)
        return SubmitResult(rec.job_id, messages)

    def purge_if_due(self, now: float) -> int:
        """Apply the purge policy (`purge_after_days`) at most once an hour: finished jobs
        older than that leave the ledger, and so sacct."""
        days = self.config.purge_after_days
        if days is None:
            return 0
        last = float(self.ledger.kv_get("purge:last") or 0)
        if now - last < 3600:
            return 0
        with self.ledger.transaction():
            self.ledger.kv_set("purge:last", repr(now))
        return self.ledger.purge(now - days * 86400)

    def _notify_submitted(self, rec: JobRecord, spec: JobSpec) -> None:
        from .plugins import run_job_submitted
        run_job_submitted(self, rec, spec)

    def record_for(self, spec: JobSpec, part: Partition, now: float) -> JobRecord:
        r = spec.resources
        rec = JobRecord(
            job_id=0, name=spec.job_name or "", user=spec.user, uid=spec.uid,
            partition=part.name, account=spec.account or DEFAULT_ACCOUNT,
            qos=spec.qos or DEFAULT_QOS,
            state=JobState.PENDING, reason="None",
            priority=0 if spec.hold else (spec.priority if spec.priority is not None else 1),
            nice=spec.nice, num_nodes=r.num_nodes, num_tasks=r.num_tasks,
            num_cpus=(r.num_nodes * r.cpus_per_task_or_1 if spec.extra.get("overcommit")
                      else r.num_cpus),
            time_limit=spec.time_limit, submit_time=now,
            eligible_time=None if (spec.hold or spec.dependency or spec.begin_time) else now,
            dependency=spec.dependency.text if spec.dependency else None,
            work_dir=spec.work_dir, command=spec.command, comment=spec.comment,
            stdout_path=self._abs(spec.output, spec), stderr_path=self._abs(spec.error, spec)
            if spec.error else "", stdin_path=self._abs(spec.input, spec) if spec.input else "/dev/null",
            backend=part.backend,
        )
        if spec.hold:
            rec.hold = "user"
            rec.reason = held_reason(rec.hold)
        elif spec.dependency:
            rec.reason = "Dependency"
        elif spec.begin_time and spec.begin_time > now:
            rec.reason = "BeginTime"
        if spec.array is not None:
            rec.array_job_id = 0  # replaced with the job id by the ledger
            rec.array_pending = tuple(spec.array.indices)
            rec.array_throttle = spec.array.throttle
        return rec

    @staticmethod
    def _abs(pattern: str | None, spec: JobSpec) -> str:
        from .slurm.filenames import default_output_pattern
        pat = pattern or default_output_pattern(spec.array is not None)
        if pat in ("none", "/dev/null"):
            return "/dev/null"
        return pat if os.path.isabs(pat) else os.path.join(spec.work_dir, pat)

    def test_only(self, spec: JobSpec) -> TestOnly:
        """`sbatch --test-only`: validate, consume an id like Slurm does, and say where and when
        the job would start (Slurm's wording, including its `a using` typo).  On a Batch
        partition, also the exact requests that would be sent (migration teams review them)."""
        part, messages = self.prepare(spec)
        req = self.request_of(spec, part)
        job_id = self.ledger.consume_id()
        from .slurm.timespec import format_timestamp
        start = format_timestamp(max(time.time(), spec.begin_time or 0))
        nodes = _hostlist(part.node_names[:req.nodes])
        line = (f"Job {job_id} to start at {start} a using {spec.resources.num_cpus} processors "
                f"on nodes {nodes} in partition {part.name}")
        requests = None
        backend = self.backend(part.backend)
        if hasattr(backend, "test_only_report"):
            rec = self.record_for(spec, part, time.time())
            rec.job_id = job_id
            if rec.array_job_id is not None:
                rec.array_job_id = job_id
            requests = backend.test_only_report(self, rec, spec, part)
        return TestOnly(line, requests, messages)

    # -- views -----------------------------------------------------------------------------
    def refresh(self) -> None:
        """Let each backend update its active jobs (once per command)."""
        if self._refreshed:
            return
        self._refreshed = True
        for name in self.ledger.active_backends():
            self.backend(name).refresh(self, None)

    def squeue_jobs(self) -> list[JobRecord]:
        """Active jobs plus finished ones still within MinJobAge: what slurmctld still knows."""
        self.refresh()
        return self.ledger.visible(self.config.min_job_age)

    def accounting_jobs(self, since: float | None = None) -> list[JobRecord]:
        self.refresh()
        return self.ledger.all(since)

    def steps_for(self, job_ids: Iterable[int]) -> dict[int, list[StepRecord]]:
        return self.ledger.steps(job_ids)

    def job_history(self, job_ids: Iterable[int]) -> dict[int, list[JobRecord]]:
        """Earlier attempts of requeued jobs (sacct -D), oldest first.  An attempt kept
        before the ledger stored the default account and QOS (schema 3) has neither: it gets
        the job's, as every attempt of a job in Slurm's accounting has."""
        history = self.ledger.history(job_ids)
        bare = [jid for jid, olds in history.items()
                if any(not o.account or not o.qos for o in olds)]
        if bare:
            current = {r.job_id: r for r in self.ledger.get_many(bare)}
            for jid in bare:
                cur = current.get(jid)
                for old in history[jid]:
                    if not old.account:
                        old.account = (cur.account if cur else None) or DEFAULT_ACCOUNT
                    if not old.qos:
                        old.qos = (cur.qos if cur else None) or DEFAULT_QOS
        return history

    def find_jobs(self, id_text: str, visible_only: bool = True) -> list[JobRecord]:
        """Records matching `N` (a job, a task's raw id, or a whole array) or `N_T`, among the
        jobs the controller still knows.  Raises InvalidJobId when none match."""
        try:
            target = parse_job_target(id_text)
        except ValueError:
            raise InvalidJobId() from None
        recs = self.records_for_target(target, visible_only)
        if not recs:
            raise InvalidJobId()
        return recs

    def records_for_target(self, target: JobTarget, visible_only: bool = True) -> list[JobRecord]:
        self.refresh()
        now = time.time()
        min_age = self.config.min_job_age

        def visible(r: JobRecord) -> bool:
            return (not visible_only or r.state.is_active
                    or (r.end_time or 0) >= now - min_age)

        arr = self.ledger.array_records(target.job_id)
        if arr:
            if target.tasks is None and not target.all_tasks:
                return [r for r in arr if visible(r)]
            if target.all_tasks:
                return [r for r in arr if visible(r)]
            want = set(target.tasks or ())
            return [r for r in arr if visible(r) and (
                r.array_task_id in want or (r.is_array_meta and want & set(r.array_pending)))]
        if target.tasks is not None or target.all_tasks:
            return []
        rec = self.ledger.get(target.job_id)
        return [rec] if rec is not None and visible(rec) else []

    def node_statuses(self) -> list[NodeStatus]:
        self.refresh()
        out: list[NodeStatus] = []
        for part in self.config.partitions.values():
            out.extend(self.backend(part.backend).node_statuses(self, part))
        return out

    # -- state changes ---------------------------------------------------------------------
    def cancel_records(self, recs: list[JobRecord], *, signum: int | None = None,
                       explicit_signal: bool = False, batch_only: bool = False,
                       full: bool = False, tasks: dict[int, set[int]] | None = None,
                       uid: int | None = None) -> None:
        """scancel: pending records are cancelled in the ledger (pending array tasks named one
        by one vanish, as in Slurm), running ones are signalled through their backend.  With an
        explicit `--signal` nothing is cancelled: the signal is only delivered.  `signum` None
        is SIGKILL (the signal module is imported here, not by every command)."""
        if signum is None:
            import signal
            signum = signal.SIGKILL
        uid = os.getuid() if uid is None else uid
        now = time.time()
        running: dict[str, list[JobRecord]] = {}
        touched_backends: set[str] = set()
        with self.ledger.transaction():
            for rec in recs:
                fresh = self.ledger.get(rec.job_id)
                if fresh is None or fresh.state.is_terminal:
                    continue
                rec = fresh
                if rec.state == JobState.PENDING:
                    if explicit_signal:
                        continue
                    only = (tasks or {}).get(rec.job_id)
                    if rec.is_array_meta and only is not None:
                        self._cancel_pending_tasks(rec, only, uid, now)
                    else:
                        self._mark_cancelled(rec, uid, now)
                    touched_backends.add(rec.backend)
                    if rec.backend_id:
                        running.setdefault(rec.backend, []).append(rec)
                else:
                    if not explicit_signal:
                        self.ledger.update(rec.job_id, cancelled_by=uid)
                        rec.cancelled_by = uid
                    running.setdefault(rec.backend, []).append(rec)
        for name, lst in running.items():
            self.backend(name).cancel(self, lst, signum, batch_only=batch_only, full=full)
        for name in touched_backends | set(running):
            self.backend(name).kick(self)

    def _mark_cancelled(self, rec: JobRecord, uid: int, now: float) -> None:
        self.ledger.update(rec.job_id, state=JobState.CANCELLED, end_time=now,
                           cancelled_by=uid, exit_code=0, exit_signal=0)

    def _cancel_pending_tasks(self, meta: JobRecord, only: set[int], uid: int, now: float) -> None:
        drop = [i for i in meta.array_pending if i in only]
        if not drop:
            return
        remaining = [i for i in meta.array_pending if i not in only]
        if remaining:
            self.ledger.remove_pending_indices(meta, drop)
            return
        # Every pending index goes: the meta record becomes the last task, cancelled.
        self.ledger.update(meta.job_id, array_pending=(), array_task_id=drop[-1])
        self._mark_cancelled(meta, uid, now)

    def hold(self, id_texts: list[str], admin: bool) -> list[str]:
        """scontrol hold/uhold: returns per-id error lines (empty list = success)."""
        return self._each_pending(id_texts, lambda rec: self._set_hold(rec, admin))

    def release(self, id_texts: list[str]) -> list[str]:
        """scontrol release: also of a job `requeuehold` held that is still COMPLETING (an
        update of a PENDING|COMPLETING job in slurmctld), which then runs again once its
        processes are gone."""
        errs = self._each_pending(id_texts, self._release_one, running_ok=True,
                                  completing=True)
        self._kick_all()
        return errs

    def _set_hold(self, rec: JobRecord, admin: bool) -> None:
        hold = "admin" if admin else "user"
        self.ledger.update(rec.job_id, hold=hold, priority=0, reason=held_reason(hold),
                           eligible_time=None)

    def _release_one(self, rec: JobRecord) -> None:
        """slurmctld's _release_job_rec: the priority back, no reason (and no description: a
        requeuehold's `job requeued in held state` goes too), and the exit code a requeued job
        kept from its last run cleared.  A job still COMPLETING after `requeuehold` stays
        COMPLETING (Reason=None) until its processes are gone; its backend then makes it
        pending as after a plain requeue (the `requeue:` entry says "run", not "hold")."""
        if rec.state not in (JobState.PENDING, JobState.COMPLETING) or not rec.hold:
            return
        spec = self.load_spec(rec)
        prio = spec.priority if spec.priority is not None else 1
        self.ledger.update(rec.job_id, hold=None, priority=prio, reason="None", exit_code=0,
                           exit_signal=0)
        key = f"requeue:{rec.job_id}"
        if rec.state == JobState.COMPLETING and self.ledger.kv_get(key) == "hold":
            self.ledger.kv_set(key, "run")

    def _each_pending(self, id_texts: list[str], action, running_ok: bool = False,
                      completing: bool = False) -> list[str]:
        """Apply `action` to each pending record the ids name (and, with `completing`, to
        records COMPLETING after a requeue: Slurm's PENDING|COMPLETING); per-id error lines."""
        states = (JobState.PENDING, JobState.COMPLETING) if completing else (JobState.PENDING,)
        errors: list[str] = []
        for text in id_texts:
            try:
                recs = self.find_jobs(text)
            except InvalidJobId:
                errors.append(f"Invalid job id specified for job {text}")
                continue
            with self.ledger.transaction():
                for rec in recs:
                    fresh = self.ledger.get(rec.job_id)
                    if fresh is None:
                        continue
                    if fresh.state in states:
                        action(fresh)
                    elif not running_ok and fresh.state.is_terminal:
                        errors.append(f"Job has already finished for job {text}")
        return errors

    def _kick_all(self) -> None:
        for name in {p.backend for p in self.config.partitions.values()}:
            self.backend(name).kick(self)

    def requeue(self, id_texts: list[str], hold: bool = False) -> list[tuple[str, str]]:
        """scontrol requeue/requeuehold, as slurmctld's _job_requeue_op: a running or finished
        batch job goes back to PENDING with Restarts+1.  The attempt that ran stays in the
        history for sacct -D: a running one as REQUEUED (its backend writes the final record,
        steps included, once its processes are gone; until then the job is COMPLETING, which
        Slurm shows for PENDING|COMPLETING), a finished one exactly as it ended (COMPLETED,
        FAILED...) with its steps.  A finished job keeps its exit code while it pends again
        (ExitCode=3:0 after a FAILED run), as slurmctld keeps job_ptr->exit_code until the job
        starts again or is released.  requeuehold holds the job as its user would (JobHeldUser,
        Priority=0), showing scheduling.REQUEUE_HELD as the reason from now on, while COMPLETING
        too.  Refused as Slurm refuses: --no-requeue jobs (requeue disabled), jobs srun created
        (not batch jobs), pending ones, including a requeue still completing.  Returns (id,
        error) pairs."""
        from .scheduling import REQUEUE_HELD
        errors: list[tuple[str, str]] = []
        now = time.time()
        to_stop: dict[str, list[JobRecord]] = {}
        for text in id_texts:
            try:
                recs = self.find_jobs(text)
            except InvalidJobId:
                errors.append((text, "Invalid job id specified"))
                continue
            for rec in recs:
                with self.ledger.transaction():
                    fresh = self.ledger.get(rec.job_id) or rec
                    error = self._requeue_refusal(fresh, hold)
                    if error is not None:
                        if error:
                            errors.append((text, error))
                        continue
                    was_running = fresh.state.is_active
                    import copy  # only here: a command that never requeues never loads it
                    attempt = copy.copy(fresh)
                    if was_running:
                        # Slurm logs the attempt as REQUEUED at once; the backend replaces
                        # this with the real end when the processes are gone
                        attempt.state, attempt.end_time = JobState.REQUEUED, now
                    self.ledger.add_history(attempt)
                    fields = dict(state=JobState.PENDING, restarts=fresh.restarts + 1,
                                  start_time=None, end_time=None,
                                  node_list="", cancelled_by=None, eligible_time=None,
                                  reason="BeginTime", backend_id=None if not was_running
                                  else fresh.backend_id, submit_time=now)
                    if hold:
                        fields.update(hold="user", priority=0, reason=REQUEUE_HELD)
                    if was_running:
                        # COMPLETING until its processes are gone: it keeps its nodes (as in
                        # Slurm) and its start time, so the REQUEUED record the backend keeps
                        # for sacct -D when the attempt ends has its real Start and NodeList.
                        fields["state"] = JobState.COMPLETING
                        fields["reason"] = REQUEUE_HELD if hold else "None"
                        fields.update(exit_code=0, exit_signal=0)
                        fields["start_time"] = fresh.start_time
                        fields["node_list"] = fresh.node_list
                        to_stop.setdefault(fresh.backend, []).append(fresh)
                        # tells the backend that the end of these processes is a requeue
                        self.ledger.kv_set(f"requeue:{fresh.job_id}", "hold" if hold else "run")
                    self.ledger.update(fresh.job_id, **fields)
        for name, lst in to_stop.items():
            import signal
            self.backend(name).cancel(self, lst, signal.SIGKILL, requeue=True)  # type: ignore[call-arg]
        self._kick_all()
        return errors

    def _requeue_refusal(self, rec: JobRecord, hold: bool) -> str | None:
        """Why `scontrol requeue` refuses this record (Slurm's strerror), "" to skip it
        silently (the pending remainder of an array under requeuehold), None to requeue it."""
        try:
            spec = self.load_spec(rec)
        except KeyError:
            spec = None
        if spec is not None and spec.requeue is False:
            return "Requested operation is presently disabled"      # ESLURM_DISABLED
        if spec is not None and spec.extra.get("srun_job"):
            return "Only batch jobs are accepted or processed"      # ESLURM_BATCH_ONLY
        if rec.state in (JobState.PENDING, JobState.COMPLETING):
            # COMPLETING is an earlier requeue waiting for its processes: PENDING|COMPLETING
            if rec.state == JobState.PENDING and rec.is_array_meta and hold:
                return ""
            return "Job is pending execution"                       # ESLURM_JOB_PENDING
        return None

    def update_job(self, id_text: str, changes: dict[str, str]) -> None:
        """scontrol update job: the keys Slurm lets users change on pending jobs."""
        from .slurm.timespec import parse_time_limit
        recs = self.find_jobs(id_text)
        fields: dict[str, object] = {}
        for key, val in changes.items():
            k = key.lower()
            if k == "timelimit":
                try:
                    fields["time_limit"] = parse_time_limit(val)
                except ValueError:
                    raise SlurmError("Invalid TimeLimit value", raw=False) from None
            elif k == "partition":
                if val not in self.config.partitions:
                    raise SlurmError("Invalid partition name specified")
                fields["partition"] = val
            elif k in ("jobname", "name"):
                fields["name"] = val
            elif k == "nice":
                fields["nice"] = int(val)
            elif k == "priority":
                fields["priority"] = int(val)
            elif k == "comment":
                fields["comment"] = val
            elif k == "arraytaskthrottle":
                fields["array_throttle"] = int(val) or None
            else:
                raise SlurmError(f"Update of this parameter is not supported: {key}={val}")
        with self.ledger.transaction():   # decided and applied on the same records
            recs, moved = self._update_targets(recs, fields)
            for rec in recs:
                extra = {"backend": moved} if moved and rec.backend != moved else {}
                self.ledger.update(rec.job_id, **fields, **extra)
        self._kick_all()

    def _update_targets(self, recs: list[JobRecord],
                        fields: dict[str, object]) -> tuple[list[JobRecord], str | None]:
        """The records an update applies to, as each backend allows (a backend's
        `check_update` refuses with Slurm's error what it cannot honour: AWS Batch has no
        UpdateJob), and the backend the job moves to when the new partition is another
        backend's -- only for a job no backend has started or received yet, validated by
        the new backend as at submission; None when it stays."""
        recs = self.ledger.get_many(r.job_id for r in recs)
        by_backend: dict[str, list[JobRecord]] = {}
        for rec in recs:
            by_backend.setdefault(rec.backend, []).append(rec)
        out: list[JobRecord] = []
        for name, lst in by_backend.items():
            check = getattr(self.backend(name), "check_update", None)
            out.extend(check(self, lst, dict(fields)) if check is not None else lst)
        part = self.config.partitions.get(str(fields["partition"])) \
            if "partition" in fields else None
        if part is None or "batch" not in {part.backend, *by_backend}:
            return out, None      # (local to local: as before)
        moving = any(r.backend != part.backend for r in out)
        if moving:
            started = any(r.is_array and not r.is_array_meta for r in recs)  # tasks ran
            if started or any(r.state != JobState.PENDING or r.backend_id for r in out):
                raise SlurmError("Requested operation not supported on this system")
        for rec in out:
            if rec.partition == part.name or rec.backend_id:
                continue
            spec = self.load_spec(rec)
            try:
                self.backend(part.backend).validate(self, spec, part)
            except SubmitError as exc:
                raise SlurmError(exc.reason) from None
            if never_fits(self.request_of(spec, part), part):
                raise SlurmError("Requested node configuration is not available")
        return out, part.backend if moving else None

    # -- waiting ---------------------------------------------------------------------------
    def wait(self, job_id: int, poll: float = 0.5, *, sleep=time.sleep) -> int:
        """Block until every record of the job has finished; return sbatch --wait's exit code:
        the highest exit code, 1 for a job ended by a signal or not completed normally.

        A backend with a `waiter` (AWS Batch: JobWaiter) decides how to look and how long to
        wait in between: on Batch one DescribeJobs of this job per look, 0.5 s at first,
        backing off to a few seconds while nothing changes.  Otherwise (local) the ledger
        every `poll` seconds, after a refresh."""
        def records() -> list[JobRecord]:
            return self.ledger.array_records(job_id) or \
                [r for r in [self.ledger.get(job_id)] if r]

        waiter = None
        while True:
            recs = records()
            if recs and waiter is None:
                be = self.backend(recs[0].backend)
                if hasattr(be, "waiter"):
                    waiter = be.waiter(self, job_id)
            if waiter is None:
                self._refreshed = False
                self.refresh()
                recs = records()
            if not recs:
                return 1
            if all(r.state.is_terminal for r in recs) and not any(
                    r.array_pending and r.state.is_active for r in recs):
                return max(self.exit_status_of(r) for r in recs)
            if waiter is None:
                sleep(poll)
                continue
            sleep(waiter.delay())
            waiter.poll()

    @staticmethod
    def exit_status_of(rec: JobRecord) -> int:
        if rec.state == JobState.COMPLETED:
            return 0
        if rec.exit_signal or rec.state != JobState.FAILED:
            return max(1, rec.exit_code)
        return rec.exit_code or 1

    # -- scheduling support for backends ----------------------------------------------------
    def dependency_state(self, rec: JobRecord, now: float | None = None) -> tuple[str, list[str]]:
        spec = self.load_spec(rec)
        if spec.dependency is None:
            return "satisfied", []
        now = time.time() if now is None else now

        def lookup(job_id: int, task: int | None) -> list[JobRecord]:
            recs = self.ledger.array_records(job_id)
            if not recs:
                one = self.ledger.get(job_id)
                recs = [one] if one else []
            if task is not None:
                recs = [r for r in recs if r.array_task_id == task or
                        (r.is_array_meta and task in r.array_pending) or r.job_id == job_id and
                        r.array_job_id is None]
            return recs

        same = any(o.job_id < rec.job_id and o.state.is_active for o in
                   self.ledger.iter_names(rec.name, rec.user)
                   if o.array_job_id != rec.array_job_id or rec.array_job_id is None) \
            if any(t.kind == "singleton" for t in spec.dependency.terms) else False
        return evaluate_dependency(spec.dependency, rec, lookup, same, now)


def _hostlist(names: Iterable[str]) -> str:
    from .slurm.hostlist import compress
    return compress(list(names))


__all__ = ["Controller", "SubmitResult", "JobTarget", "parse_job_target", "current_user",
           "NEVER", "INFINITE"]
