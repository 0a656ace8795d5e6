"""The local backend's node daemon (`python -m slurmshim.backends.local_runner --daemon
STATE_DIR`): slurmd's part.  One per state directory (an flock), started on demand by the
scheduling pass and gone when there is nothing left to run or wait for.

It claims the jobs the scheduling pass marked RUNNING, starts the in-job runtime
(slurmshim.runtime.job) once per node with the AWS_BATCH_* placement variables AWS Batch would
set, watches the processes, records each end in the ledger (state, exit code and signal, the
batch step and srun steps, requeues), and runs the next scheduling pass in-process, so a
1,000-task array costs one short interpreter start per task, not three.  Time limits,
`--signal` and the kill banners are the runtime's job (enforce_time_limit), so the local and the
Batch paths behave the same.
"""
from __future__ import annotations

import fcntl
import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

from ..model import JobRecord, JobState, StepRecord
from ..runtime.common import kill_session, read_json, request_signal
from ..runtime.descriptor import ENV_FILE, ENV_START_TIME, placement_environ

IDLE_EXIT = 3.0        # seconds without work before the daemon exits
MAX_SLEEP = 0.25       # seconds the daemon sleeps at most between looks (stop retries, idle)
STOP_RETRY = 1.0       # re-send a stop request the runtime has not picked up after this long


def deliver_signal(job_dir: Path, signum: int, *, batch_only: bool = False,
                   full: bool = False) -> bool:
    """scancel -s: hand a non-terminating signal to the job's main runtime, which delivers it to
    the batch shell (-b), the srun steps (default) or everything (-f).  False if not running."""
    pids = read_json(str(job_dir / "pids.json")) or {}
    main = pids.get("main")
    if not main:
        return False
    target = "batch" if batch_only else ("all" if full else "steps")
    request_signal(str(job_dir), None, target)
    try:
        os.kill(int(main), signum)
    except ProcessLookupError:
        return False
    return True


def request_stop(job_dir: Path, reason: str) -> None:
    """Ask a running job to stop (CANCELLED, REQUEUE): the runtime writes Slurm's banner, sends
    SIGCONT+SIGTERM to the job and SIGKILL after KillWait.  If the runtime is not started yet,
    the daemon sees the request (control.json) and acts on it."""
    request_signal(str(job_dir), reason, "all")
    pids = read_json(str(job_dir / "pids.json")) or {}
    if pids.get("main"):
        try:
            os.kill(int(pids["main"]), signal.SIGTERM)
        except ProcessLookupError:
            pass


def kill_leftovers(job_dir: Path) -> None:
    """After a lost daemon: no process of the job may survive.  Each node's runtime leads its
    own session (id = its pid), the batch script leads another (status.json "batch_pid"), and
    srun's tasks run in process groups of their own inside those sessions: so every process of
    those sessions is killed, not only their leaders' groups."""
    pids = read_json(str(job_dir / "pids.json")) or {}
    status = read_json(str(job_dir / "status.json")) or {}
    for sid in {int(p) for p in [*(pids.get("nodes") or []), status.get("batch_pid")] if p}:
        kill_session(sid, signal.SIGKILL)


def final_state(status: dict, cancelled_by: int | None) -> tuple[JobState, int, int, str]:
    """The job record's end from the runtime's status: state, exit code, signal and reason, as
    Slurm records them (a cancelled or timed-out job is 0:0; its batch step carries 0:15)."""
    text = status.get("state") or "FAILED"
    code = int(status.get("exit_code") or 0)
    sig = int(status.get("signal") or 0)
    if cancelled_by is not None or text == "CANCELLED":
        return JobState.CANCELLED, 0, 0 if cancelled_by is not None else (sig or 15), "None"
    if text == "TIMEOUT":
        return JobState.TIMEOUT, 0, 0, "TimeLimit"
    if text in ("NODE_FAIL", "PREEMPTED", "OUT_OF_MEMORY"):
        return JobState(text), code, sig, "None"
    if text == "COMPLETED" and code == 0 and sig == 0:
        return JobState.COMPLETED, 0, 0, "None"
    if status.get("reason") and not code and not sig:
        return JobState.FAILED, code, sig, "JobLaunchFailure"
    return JobState.FAILED, code, sig, "NonZeroExitCode" if code else "RaisedSignal"


def _first_node(node_list: str) -> str:
    """The batch step runs on the job's first node (sacct shows `node01`, not `node[01-03]`)."""
    if not node_list:
        return ""
    from ..slurm.hostlist import expand
    return expand(node_list)[0]


class ForkedRuntime:
    """The in-job runtime (slurmshim.runtime.job, the same code Batch containers run) in a
    child forked from the daemon: no interpreter start and no imports per task, which is most
    of what a trivial array task costs.  A Popen-like handle for the daemon's bookkeeping."""

    def __init__(self, env: dict[str, str], log_fd: int):
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the child: become the runtime, never return
            code = 1
            try:
                os.setsid()
                signal.set_wakeup_fd(-1)
                for sig in (signal.SIGCHLD, signal.SIGUSR1, signal.SIGHUP, signal.SIGTERM,
                            signal.SIGINT, signal.SIGPIPE):
                    signal.signal(sig, signal.SIG_DFL)
                null = os.open(os.devnull, os.O_RDONLY)
                os.dup2(null, 0)
                os.dup2(log_fd, 1)
                os.dup2(log_fd, 2)
                os.environ.clear()
                os.environ.update(env)
                from ..runtime import job as runtime_job
                code = runtime_job.main([])
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            except BaseException:  # noqa: BLE001 - report, then leave without unwinding
                import traceback
                traceback.print_exc()
            finally:
                try:
                    sys.stdout.flush()
                    sys.stderr.flush()
                finally:
                    os._exit(code if isinstance(code, int) and 0 <= code < 256 else 1)
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                done, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                self.returncode = 1
                return 1
            if done:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.time() + timeout
        while self.poll() is None:
            if deadline is not None and time.time() > deadline:
                raise subprocess.TimeoutExpired("runtime", timeout)
            time.sleep(0.01)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.returncode is None:
            os.kill(self.pid, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def start_runtime(env: dict[str, str], log_fd: int):
    """Start one node's runtime: forked from the daemon, or (SLURMSHIM_LOCAL_EXEC=1) as a fresh
    `python -S -m slurmshim.runtime.job` process, which is slower but isolates it completely."""
    if env.get("SLURMSHIM_LOCAL_EXEC") == "1":
        return subprocess.Popen([sys.executable, "-S", "-m", "slurmshim.runtime.job"],
                                env=env, stdin=subprocess.DEVNULL, stdout=log_fd,
                                stderr=log_fd, start_new_session=True, close_fds=True)
    return ForkedRuntime(env, log_fd)


class JobRun:
    """One running job (or array task) on this machine: its node processes."""

    def __init__(self, ctl, rec: JobRecord):
        self.ctl = ctl
        self.rec = rec
        self.job_id = rec.job_id
        self.job_dir = ctl.spool_dir(rec.job_id)
        self.main = None    # ForkedRuntime or Popen of the main node's runtime
        self.others: list = []
        self.stop_sent_at: float | None = None

    # -- start -------------------------------------------------------------------------------
    def launch(self, env_base: dict[str, str]) -> None:
        from ..slurm.hostlist import expand
        from .descriptor import build_descriptor
        ctl, rec = self.ctl, self.rec
        spec = ctl.load_spec(rec)
        part = ctl.partition_of(rec)
        if part is None:
            raise RuntimeError(f"partition {rec.partition} is no longer configured")
        nodes = expand(rec.node_list) if rec.node_list else [part.node_names[0]]
        desc = build_descriptor(spec, rec, part, ctl.config.cluster_name, nodes,
                                str(ctl.state_dir / "spool"))
        desc["kill_wait"] = ctl.config.kill_wait
        desc["enforce_time_limit"] = True
        desc["restart_count"] = rec.restarts
        if desc.get("array") and rec.array_task_id is not None:
            desc["array"]["raw_id"] = rec.job_id   # the id the scheduler gave this task
        self.job_dir.mkdir(parents=True, exist_ok=True)
        for stale in ("status.json", "pids.json"):
            try:
                (self.job_dir / stale).unlink()
            except FileNotFoundError:
                pass
        desc_path = self.job_dir / "job.json"
        desc_path.write_text(json.dumps(desc), encoding="utf-8")
        position = None
        if spec.array is not None and rec.array_task_id is not None:
            position = list(spec.array.indices).index(rec.array_task_id)
        base = dict(env_base)
        base[ENV_FILE] = str(desc_path)
        base[ENV_START_TIME] = repr(rec.start_time or time.time())
        with open(self.job_dir / "runtime.log", "ab") as log:
            for i, _node in enumerate(nodes):
                env = dict(base)
                env.update(placement_environ(
                    array_index=position, node_index=i, num_nodes=len(nodes), main_node_index=0,
                    main_node_addr="127.0.0.1" if i else None, attempt=1,
                    batch_job_id=f"local-{rec.job_id}"))
                proc = start_runtime(env, log.fileno())
                if i == 0:
                    self.main = proc
                else:
                    self.others.append(proc)
        (self.job_dir / "pids.json").write_text(json.dumps(
            {"main": self.main.pid if self.main else None,
             "nodes": [p.pid for p in [self.main, *self.others] if p]}), encoding="utf-8")

    # -- watch -------------------------------------------------------------------------------
    def poll(self) -> int | None:
        """The main node's exit status once it has ended (the others are then stopped)."""
        if self.main is None:
            return 1
        rc = self.main.poll()
        if rc is None:
            self._retry_stop()
            return None
        for p in self.others:
            if p.poll() is None:
                p.terminate()
        deadline = time.time() + 5
        for p in self.others:
            try:
                p.wait(max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                p.kill()
        return rc

    def _retry_stop(self) -> None:
        """A stop request written before the runtime was up is still waiting: deliver it."""
        control = self.job_dir / "control.json"
        try:
            age = time.time() - control.stat().st_mtime
        except FileNotFoundError:
            return
        if age >= STOP_RETRY and (self.stop_sent_at is None or
                                  time.time() - self.stop_sent_at >= STOP_RETRY):
            self.stop_sent_at = time.time()
            try:
                self.main.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass

    def status(self, rc: int) -> dict:
        status = read_json(str(self.job_dir / "status.json")) or {}
        if status.get("state") in (None, "RUNNING"):
            # The runtime died without a word (killed with SIGKILL, crashed).
            status = {"state": "FAILED" if rc >= 0 else "CANCELLED",
                      "exit_code": rc if rc >= 0 else 0, "signal": -rc if rc < 0 else 0}
        return status

    # -- end ---------------------------------------------------------------------------------
    def finish(self, status: dict, started: bool) -> None:
        """Record the end of the job in the ledger (one transaction)."""
        ctl = self.ctl
        now = time.time()
        exit_code = int(status.get("exit_code") or 0)
        sig = int(status.get("signal") or 0)
        with ctl.ledger.transaction():
            fresh = ctl.ledger.get(self.job_id) or self.rec
            requeue = ctl.ledger.kv_get(f"requeue:{self.job_id}")
            if requeue is not None:
                ctl.ledger.db.execute("DELETE FROM kv WHERE key=?", (f"requeue:{self.job_id}",))
                if started:  # the requeued attempt's steps (the controller counted the restart)
                    self._record_steps(fresh, status, JobState.CANCELLED, exit_code, sig, now,
                                       attempt=max(0, fresh.restarts - 1))
                self._requeued(fresh, requeue == "hold", now)
            else:
                state, job_exit, job_sig, reason = final_state(status, fresh.cancelled_by)
                ctl.ledger.update(self.job_id, state=state, reason=reason, exit_code=job_exit,
                                  exit_signal=job_sig, end_time=now,
                                  derived_exit_code=max(fresh.derived_exit_code,
                                                        self._derived_exit_code()))
                if started:
                    self._record_steps(fresh, status, state, exit_code, sig, now,
                                       attempt=fresh.restarts)
        try:
            (self.job_dir / "control.json").unlink()
        except FileNotFoundError:
            pass

    def _record_steps(self, rec: JobRecord, status: dict, state: JobState, exit_code: int,
                      sig: int, now: float, attempt: int) -> None:
        """The batch step and the srun steps of the attempt that just ended (`attempt`: its
        restart count), from the runtime's status and step records."""
        ledger = self.ctl.ledger
        start = float(status.get("start_time") or rec.start_time or now)
        end = float(status.get("end_time") or now)
        spec = self.ctl.load_spec(rec)
        if not spec.extra.get("srun_job"):
            if state in (JobState.CANCELLED, JobState.TIMEOUT):
                b_state, b_exit, b_sig = JobState.CANCELLED, 0, sig or 15
            elif state == JobState.COMPLETED:
                b_state, b_exit, b_sig = JobState.COMPLETED, 0, 0
            else:
                b_state, b_exit, b_sig = state, exit_code, sig
            ledger.save_step(StepRecord(
                job_id=rec.job_id, step_id="batch", name="batch", state=b_state, exit_code=b_exit,
                exit_signal=b_sig, start_time=start, end_time=end,
                num_cpus=rec.num_cpus // max(1, rec.num_nodes) or 1, num_tasks=1, num_nodes=1,
                node_list=_first_node(rec.node_list), attempt=attempt))
        for step in self._srun_steps():
            sid = str(step.get("step_id"))
            st_text = step.get("state") or "COMPLETED"
            if st_text == "RUNNING":
                st_text = "CANCELLED"
            try:
                st_state = JobState(st_text)
            except ValueError:
                st_state = JobState.FAILED
            ledger.save_step(StepRecord(
                job_id=rec.job_id, step_id=sid, name=str(step.get("name") or ""),
                state=st_state, exit_code=int(step.get("exit_code") or 0),
                exit_signal=int(step.get("signal") or 0),
                start_time=step.get("start_time"), end_time=step.get("end_time") or end,
                num_cpus=int(step.get("ncpus") or step.get("num_cpus") or 1),
                num_tasks=int(step.get("ntasks") or step.get("num_tasks") or 1),
                num_nodes=int(step.get("nnodes") or step.get("num_nodes") or 1),
                node_list=str(step.get("node_list") or rec.node_list), attempt=attempt))

    def _derived_exit_code(self) -> int:
        """Slurm's DerivedExitCode: the highest exit code of the job's srun steps (the batch
        step does not count)."""
        return max((int(st.get("exit_code") or 0) for st in self._srun_steps()), default=0)

    def _srun_steps(self) -> list[dict]:
        """srun step records the runtime wrote (step-0.json, ...; not the batch step)."""
        steps_dir = self.job_dir / "steps"
        out = []
        for path in sorted(steps_dir.glob("step-*.json")) if steps_dir.is_dir() else []:
            data = read_json(str(path))
            if isinstance(data, dict) and str(data.get("step_id")) not in ("batch", "None", ""):
                out.append(data)
        return out

    def _requeued(self, rec: JobRecord, hold: bool, now: float) -> None:
        from ..scheduling import requeue_attempt, requeued_fields
        ledger = self.ctl.ledger
        ledger.add_history(requeue_attempt(rec, now))
        ledger.update(rec.job_id, **requeued_fields(hold, now))


class Daemon:
    def __init__(self, state_dir: Path):
        os.environ["SLURMSHIM_STATE_DIR"] = str(state_dir)
        from ..controller import Controller
        self.ctl = Controller.open()
        self.runs: dict[int, JobRun] = {}
        self.wake_at: float | None = None
        self.kicked = True

    def _on_usr1(self, signum, frame) -> None:
        self.kicked = True

    def run(self) -> int:
        from .local import _runner_env, runner_token
        ctl = self.ctl
        lock = open(ctl.state_dir / "slurmd.lock", "a+")
        deadline = time.time() + 5
        while True:  # a daemon on its way out may still hold the lock for a moment
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError:
                if time.time() > deadline:
                    return 0  # another daemon serves this state directory
                time.sleep(0.05)
        # Sleep until something happens: a child exits (SIGCHLD) or a scheduling pass elsewhere
        # started work (SIGUSR1).  Both handlers exist so the wakeup fd gets written.
        rfd, wfd = os.pipe()
        os.set_blocking(rfd, False)
        os.set_blocking(wfd, False)
        signal.set_wakeup_fd(wfd, warn_on_full_buffer=False)
        signal.signal(signal.SIGUSR1, self._on_usr1)
        signal.signal(signal.SIGCHLD, lambda signum, frame: None)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        self.token = runner_token(os.getpid())
        with ctl.ledger.transaction():
            ctl.ledger.kv_set("local:daemon", self.token)
        self.env = _runner_env(ctl)
        from ..runtime import job as _runtime_job  # noqa: F401 - imported once, forked often
        idle_since = time.time()
        backend = ctl.backend("local")
        while True:
            changed = self._claim()
            changed = self._reap() or changed
            now = time.time()
            due = self.wake_at is not None and now >= self.wake_at
            if changed or due or self.kicked:
                self.kicked = False
                self.wake_at = backend.schedule(ctl, from_daemon=True)
                if self._has_unclaimed():
                    continue
            if self.runs or self.wake_at is not None:
                idle_since = now
            elif now - idle_since > IDLE_EXIT:
                with ctl.ledger.transaction():
                    if self._has_unclaimed():
                        continue
                    if ctl.ledger.kv_get("local:daemon") == self.token:
                        ctl.ledger.db.execute("DELETE FROM kv WHERE key='local:daemon'")
                return 0
            timeout = MAX_SLEEP
            if self.wake_at is not None:
                timeout = max(0.0, min(timeout, self.wake_at - time.time()))
            try:
                select.select([rfd], [], [], timeout)
                os.read(rfd, 4096)
            except (BlockingIOError, InterruptedError):
                pass

    def _has_unclaimed(self) -> bool:
        row = self.ctl.ledger.db.execute(
            "SELECT 1 FROM jobs WHERE active=1 AND backend='local' AND state='RUNNING' "
            "AND backend_id IS NULL LIMIT 1").fetchone()
        return row is not None

    def _claim(self) -> bool:
        """Take the jobs the scheduler started and launch them."""
        ctl = self.ctl
        with ctl.ledger.transaction():
            recs = [r for r in ctl.ledger.in_states("local", (JobState.RUNNING,))
                    if r.backend_id is None]
            for r in recs:
                ctl.ledger.update(r.job_id, backend_id=self.token)
        for rec in recs:
            run = JobRun(ctl, rec)
            if rec.cancelled_by is not None or ctl.ledger.kv_get(f"requeue:{rec.job_id}"):
                run.finish({"state": "CANCELLED", "exit_code": 0, "signal": 15}, started=False)
                continue
            try:
                run.launch(self.env)
            except Exception as exc:  # cannot start at all: the job fails, visibly
                run.finish({"state": "FAILED", "exit_code": 1, "signal": 0,
                            "reason": f"launch failed: {exc}"}, started=False)
                continue
            self.runs[rec.job_id] = run
        return bool(recs)

    def _reap(self) -> bool:
        done = []
        for job_id, run in self.runs.items():
            rc = run.poll()
            if rc is not None:
                run.finish(run.status(rc), started=True)
                done.append(job_id)
        for job_id in done:
            del self.runs[job_id]
        return bool(done)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) == 2 and args[0] == "--daemon":
        return Daemon(Path(args[1])).run()
    sys.stderr.write("usage: python -m slurmshim.backends.local_runner --daemon STATE_DIR\n")
    return 2


if __name__ == "__main__":
    sys.exit(main())
