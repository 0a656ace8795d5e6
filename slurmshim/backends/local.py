"""The local backend: jobs run as processes on this machine, like a one-partition Slurm cluster.

There is no daemon.  A *scheduling pass* (under a file lock) starts every pending job that fits,
and sets Slurm's pending reasons on the others; it runs after each submit, release, update,
cancel and job end, and a small *waker* process runs it at the next time-based event (`--begin`,
`after:+minutes`).  Each started job gets a detached *runner* (backends/local_runner.py) that
supervises it: time limit, signals, exit status, steps, and the ledger update at the end.
"""
from __future__ import annotations

import fcntl
import os
import sys
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator

from .._dataclass import replace
from ..errors import SubmitError
from ..model import INFINITE, JobRecord, JobSpec, JobState, NodeStatus, Partition
from ..scheduling import NEVER, WAITING, NodeUse, hold_reason, place, priority_key

if TYPE_CHECKING:
    from ..controller import Controller


# ---------------------------------------------------------------- process identity

def proc_start_ticks(pid: int) -> str | None:
    """The process start time from /proc (clock ticks since boot): with the pid it identifies a
    process across pid reuse and reboots."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    rest = data[data.rfind(b")") + 2:].split()
    return rest[19].decode() if len(rest) > 19 else None


def boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as fh:
            return fh.read().strip()
    except OSError:
        return "noboot"


def runner_token(pid: int) -> str:
    return f"{pid}:{proc_start_ticks(pid)}:{boot_id()}"


def runner_alive(token: str | None) -> bool:
    """Is the runner named by a ledger backend_id still alive (same pid, start time, boot)?"""
    if not token:
        return False
    try:
        pid_s, ticks, boot = token.split(":", 2)
        pid = int(pid_s)
    except ValueError:
        return False
    if boot != boot_id():
        return False
    return proc_start_ticks(pid) == ticks


_STARTED = (JobState.RUNNING, JobState.COMPLETING, JobState.CONFIGURING)
RUNNER_START_GRACE = 30.0  # seconds a started job may take to get its runner registered


def _runner_lost(rec: JobRecord, now: float) -> bool:
    """A started job whose runner is gone, or never registered (it failed to start)."""
    age = now - (rec.start_time or now)
    if rec.backend_id:
        return age > 2.0 and not runner_alive(rec.backend_id)
    return age > RUNNER_START_GRACE


def runner_pid(token: str | None) -> int | None:
    try:
        return int((token or "").split(":", 1)[0])
    except ValueError:
        return None


class LocalBackend:
    name = "local"

    # -- contract ---------------------------------------------------------------------------
    def validate(self, ctl: "Controller", spec: JobSpec, part: Partition) -> list[str]:
        if spec.resources.gpu_type and part.gpu_types and spec.resources.gpu_type not in part.gpu_types:
            raise SubmitError("Requested node configuration is not available")
        return []

    def submit(self, ctl: "Controller", rec: JobRecord, spec: JobSpec, part: Partition) -> None:
        self.schedule(ctl)

    def kick(self, ctl: "Controller") -> None:
        self.schedule(ctl)

    def refresh(self, ctl: "Controller", recs: list[JobRecord]) -> None:
        """Find jobs whose runner died (killed, machine rebooted): they end NODE_FAIL."""
        now = time.time()
        if recs is None:
            recs = ctl.ledger.in_states("local", _STARTED)
        dead = [r for r in recs if r.state in _STARTED and _runner_lost(r, now)]
        if not dead:
            return
        with ctl.ledger.transaction():
            for r in dead:
                fresh = ctl.ledger.get(r.job_id)
                if fresh is None or fresh.state.is_terminal or fresh.backend_id != r.backend_id:
                    continue
                if _runner_lost(fresh, now):
                    ctl.ledger.update(r.job_id, state=JobState.NODE_FAIL, reason="NodeFail",
                                      end_time=now, exit_code=0, exit_signal=0)
                    r.state = JobState.NODE_FAIL
                    from .local_runner import kill_leftovers
                    kill_leftovers(ctl.spool_dir(r.job_id))
        self.schedule(ctl)

    def cancel(self, ctl: "Controller", recs: list[JobRecord], signum: int, *,
               batch_only: bool = False, full: bool = False, requeue: bool = False) -> None:
        """SIGKILL (plain scancel) and requeue stop the job: its runtime writes Slurm's banner,
        sends SIGTERM, waits KillWait, then SIGKILL, and the daemon records the end.  Other
        signals go straight to the job's processes: the steps (default), the batch shell only
        (-b) or everything (-f)."""
        import signal

        from .local_runner import deliver_signal, request_stop
        for rec in recs:
            if rec.state == JobState.PENDING:
                continue
            job_dir = ctl.spool_dir(rec.job_id)
            if signum == signal.SIGKILL or requeue:
                request_stop(job_dir, "REQUEUE" if requeue else "CANCELLED")
            else:
                deliver_signal(job_dir, signum, batch_only=batch_only, full=full)

    def node_statuses(self, ctl: "Controller", part: Partition) -> list[NodeStatus]:
        use = self._usage(ctl, ctl.ledger.in_states("local", _STARTED))
        out = []
        for name in part.node_names:
            u = use.get(name) or NodeUse()
            if u.cpus == 0 and u.jobs == 0:
                state = "idle"
            elif u.cpus >= part.cpus_per_node or u.exclusive:
                state = "allocated"
            else:
                state = "mixed"
            gres = f"gpu:{part.gpus_per_node}" if part.gpus_per_node else "(null)"
            out.append(NodeStatus(
                name=name, partitions=(part.name,), state=state, cpus_total=part.cpus_per_node,
                cpus_alloc=part.cpus_per_node if u.exclusive else u.cpus,
                mem_total=part.mem_per_node, mem_alloc=u.mem, gres=gres,
                gres_used=f"gpu:{u.gpus}" if part.gpus_per_node else "",
                cpu_load=_loadavg(), mem_free=_mem_free(), hostname=_hostname(),
                addr=_hostname(), boot_time=_boot_time()))
        return out

    # -- scheduling pass ---------------------------------------------------------------------
    @contextmanager
    def _lock(self, ctl: "Controller") -> Iterator[None]:
        ctl.state_dir.mkdir(parents=True, exist_ok=True)
        with open(ctl.state_dir / "sched.lock", "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _usage(self, ctl: "Controller", active: list[JobRecord]) -> dict[str, NodeUse]:
        use: dict[str, NodeUse] = {}
        for rec in active:
            if rec.state not in (JobState.RUNNING, JobState.COMPLETING, JobState.CONFIGURING):
                continue
            part = ctl.partition_of(rec)
            if part is None:
                continue
            spec = ctl.load_spec(rec)
            req = ctl.request_of(spec, part)
            from ..slurm.hostlist import expand
            for node in expand(rec.node_list) if rec.node_list else []:
                u = use.setdefault(node, NodeUse())
                u.cpus += req.cpus
                u.mem += req.mem
                u.gpus += req.gpus
                u.jobs += 1
                u.exclusive = u.exclusive or req.exclusive
        return use

    def schedule(self, ctl: "Controller", from_daemon: bool = False) -> float | None:
        """One pass: mark what fits RUNNING (the node daemon launches it), set reasons on the
        rest.  Returns when the next time-based event is due (--begin, after:+minutes).  Outside
        the daemon, make sure a daemon runs when there is something for it to do."""
        started: list[tuple[int, int | None]] = []
        with self._lock(ctl):
            now = time.time()
            with ctl.ledger.transaction():
                # Held jobs cannot start and already carry their reason: leave them out (a
                # ledger may hold thousands of them, and this pass runs on every sbatch).
                active = ctl.ledger.schedulable("local")
                use = self._usage(ctl, active)
                pending = sorted((r for r in active if r.state == JobState.PENDING),
                                 key=priority_key)
                running_tasks: dict[int, int] = {}
                for r in active:
                    if r.array_job_id is not None and r.array_task_id is not None and \
                            r.state != JobState.PENDING:
                        running_tasks[r.array_job_id] = running_tasks.get(r.array_job_id, 0) + 1
                blocked_parts: set[str] = set()
                wake: float | None = None
                for rec in pending:
                    reason, when = self._blocker(ctl, rec, now)
                    if when is not None:
                        wake = when if wake is None else min(wake, when)
                    if reason is not None:
                        self._set_reason(ctl, rec, reason)
                        continue
                    part = ctl.partition_of(rec)
                    if part is None:
                        self._set_reason(ctl, rec, "PartitionDown")
                        continue
                    spec = ctl.load_spec(rec)
                    req = ctl.request_of(spec, part)
                    if rec.is_array_meta:
                        reason = self._start_array_tasks(ctl, rec, spec, part, req, use,
                                                         running_tasks, now, started)
                    else:
                        nodes = place(req, part, use)
                        if nodes is None:
                            reason = "Priority" if part.name in blocked_parts else "Resources"
                        else:
                            self._start(ctl, rec, nodes, req, use, now)
                            started.append((rec.job_id, None))
                    if reason:
                        self._set_reason(ctl, rec, reason)
                        if reason in ("Resources", "Priority"):
                            blocked_parts.add(part.name)
        if not from_daemon and (started or wake is not None):
            ensure_daemon(ctl)
        return wake

    def _blocker(self, ctl: "Controller", rec: JobRecord, now: float) -> tuple[str | None, float | None]:
        """Why a pending job may not start yet (hold, begin time, dependency, limits), and
        when to look again for time-based reasons."""
        if rec.hold:
            return hold_reason(rec), None
        spec = ctl.load_spec(rec)
        if spec.begin_time and spec.begin_time > now:
            return "BeginTime", spec.begin_time
        if rec.reason == "BeginTime" and rec.restarts and rec.eligible_time is None:
            # A requeued job waits a moment before it is eligible again, as in Slurm.
            if now - rec.submit_time < 1.0:
                return "BeginTime", rec.submit_time + 1.0
        per_task = rec.is_array_meta and spec.dependency is not None and any(
            t.kind == "aftercorr" for t in spec.dependency.terms)
        if spec.dependency is not None and not per_task:  # aftercorr: see _start_array_tasks
            status, _terms = ctl.dependency_state(rec, now)
            if status == NEVER:
                if spec.kill_on_invalid_dep:
                    ctl.ledger.update(rec.job_id, state=JobState.CANCELLED,
                                      reason="DependencyNeverSatisfied", end_time=now)
                    return "DependencyNeverSatisfied", None
                return "DependencyNeverSatisfied", None
            if status == WAITING:
                wake = self._after_minutes_wake(ctl, spec, now)
                return "Dependency", wake
        part = ctl.partition_of(rec)
        if part is not None:
            if part.state != "UP":
                return "PartitionInactive" if part.state == "INACTIVE" else "PartitionDown", None
            if (part.max_time not in (None, INFINITE) and rec.time_limit not in (None, INFINITE)
                    and rec.time_limit > part.max_time):
                return "PartitionTimeLimit", None
        return None, None

    @staticmethod
    def _after_minutes_wake(ctl: "Controller", spec: JobSpec, now: float) -> float | None:
        wake = None
        for term in spec.dependency.terms if spec.dependency else ():
            if term.minutes and term.job_id is not None:
                for t in ctl.ledger.array_records(term.job_id) or [ctl.ledger.get(term.job_id)]:
                    base = (t.start_time if term.kind == "after" else t.end_time) if t else None
                    if base:
                        at = base + term.minutes * 60
                        if at > now:
                            wake = at if wake is None else min(wake, at)
        return wake

    def _start_array_tasks(self, ctl, meta, spec, part, req, use, running_tasks, now, started):
        indices = list(spec.array.indices) if spec.array else []
        throttle = meta.array_throttle
        per_task = spec.dependency is not None and any(
            t.kind == "aftercorr" for t in spec.dependency.terms)
        reason = None
        for idx in list(meta.array_pending):
            if throttle and running_tasks.get(meta.job_id, 0) >= throttle:
                return "JobArrayTaskLimit"
            if per_task:  # aftercorr: task i waits for task i of the other array
                probe = replace(meta, array_task_id=idx, array_pending=())
                status, _ = ctl.dependency_state(probe, now)
                if status != "satisfied":
                    if reason != "Dependency":
                        reason = "DependencyNeverSatisfied" if status == NEVER else "Dependency"
                    continue
            nodes = place(req, part, use)
            if nodes is None:
                return "Resources"
            raw = task_raw_id(ctl, meta, indices, idx)
            task = ctl.ledger.split_array_task(meta, idx, raw)
            self._start(ctl, task, nodes, req, use, now)
            started.append((task.job_id, idx))
            running_tasks[meta.job_id] = running_tasks.get(meta.job_id, 0) + 1
            if task.job_id == meta.job_id:
                return None
        return reason

    def _start(self, ctl, rec: JobRecord, nodes: list[str], req, use, now: float) -> None:
        from ..slurm.hostlist import compress
        for n in nodes:
            u = use.setdefault(n, NodeUse())
            u.cpus += req.cpus
            u.mem += req.mem
            u.gpus += req.gpus
            u.jobs += 1
            u.exclusive = u.exclusive or req.exclusive
        # exit code 0 again: a requeued job kept its last run's until now (select_nodes)
        ctl.ledger.update(rec.job_id, state=JobState.RUNNING, reason="None", start_time=now,
                          eligible_time=rec.eligible_time or now, node_list=compress(nodes),
                          end_time=None, backend_id=None, exit_code=0, exit_signal=0)

    @staticmethod
    def _set_reason(ctl: "Controller", rec: JobRecord, reason: str) -> None:
        if rec.reason != reason:
            ctl.ledger.update(rec.job_id, reason=reason)


def task_raw_id(ctl: "Controller", meta: JobRecord, indices: list[int], idx: int) -> int:
    """The raw job id of array task `idx` as it starts.  Ids were reserved as a block at submit
    (runtime.descriptor.raw_id_for: position p -> N+1+p, the last position -> N, because Slurm's
    last split task keeps the array id).  When tasks start out of order (aftercorr), the id
    belonging to the last position is still the meta record's: the task then takes a reserved id
    of a position that is still pending, and the meta id goes to whichever task is last."""
    from ..runtime.descriptor import raw_id_for
    pos = indices.index(idx)
    own = raw_id_for(meta.job_id, indices, pos)
    others = [i for i in meta.array_pending if i != idx]
    if not others:
        return meta.job_id
    taken = {r.job_id for r in ctl.ledger.array_records(meta.job_id)}
    if own != meta.job_id and own not in taken:
        return own
    pool = sorted(raw_id_for(meta.job_id, indices, indices.index(i)) for i in others)
    free = [r for r in pool if r != meta.job_id and r not in taken]
    return free[0] if free else meta.job_id + 1 + len(indices)  # defensive: never reached


def ensure_daemon(ctl: "Controller") -> None:
    """Wake the node daemon of this state directory, or start one (detached, like slurmd)."""
    import signal  # here, not at the top: squeue imports this module for refresh()
    import subprocess
    token = ctl.ledger.kv_get("local:daemon")
    if token and runner_alive(token):
        pid = runner_pid(token)
        try:
            os.kill(pid, signal.SIGUSR1)
            return
        except (ProcessLookupError, TypeError):
            pass
    ctl.state_dir.mkdir(parents=True, exist_ok=True)
    with open(ctl.state_dir / "slurmd.log", "ab") as log:
        subprocess.Popen(
            [sys.executable, "-m", "slurmshim.backends.local_runner", "--daemon",
             str(ctl.state_dir)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
            close_fds=True, env=_runner_env(ctl))


def _runner_env(ctl: "Controller") -> dict[str, str]:
    env = dict(os.environ)
    env["SLURMSHIM_STATE_DIR"] = str(ctl.state_dir)
    if ctl.config.path:
        env["SLURMSHIM_CONF"] = ctl.config.path
    pkg_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = pkg_root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _loadavg() -> float | None:
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


def _mem_free() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    return None


def _hostname() -> str:
    import socket
    return socket.gethostname().split(".")[0]


def _boot_time() -> float | None:
    try:
        with open("/proc/stat", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("btime"):
                    return float(line.split()[1])
    except OSError:
        pass
    return None
