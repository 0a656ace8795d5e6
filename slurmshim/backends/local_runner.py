"""The per-job supervisor of the local backend (`python -m slurmshim.backends.local_runner
STATE_DIR JOB_ID`), started detached by the scheduling pass; plus the waker
(`... --wake STATE_DIR WHEN`) that runs a scheduling pass at a future time.

The runner starts the in-job runtime (slurmshim.runtime.job) once per node with the same
AWS_BATCH_* placement variables AWS Batch would set, waits for the main node, then records the
end in the ledger: state, exit code and signal, the batch step and srun steps, requeues.  Time
limits, `--signal` and kill banners are the runtime's job (enforce_time_limit), so the local and
the Batch paths behave the same.  Cancel requests arrive as SIGTERM (see LocalBackend.cancel) and
are forwarded to the main node's runtime.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from ..model import JobRecord, JobState, StepRecord
from ..runtime.common import read_json, request_signal
from ..runtime.descriptor import ENV_FILE, ENV_START_TIME, placement_environ


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


def request_stop(job_dir: Path, runner_pid: int, reason: str) -> None:
    """Ask a running job to stop (CANCELLED, REQUEUE): the runtime writes Slurm's banner, sends
    SIGCONT+SIGTERM to the job and SIGKILL after KillWait."""
    request_signal(str(job_dir), reason, "all")
    try:
        os.kill(runner_pid, signal.SIGTERM)
    except ProcessLookupError:
        pass


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


class Runner:
    def __init__(self, state_dir: Path, job_id: int):
        os.environ["SLURMSHIM_STATE_DIR"] = str(state_dir)
        from ..controller import Controller
        self.ctl = Controller.open()
        self.job_id = job_id
        self.job_dir = self.ctl.spool_dir(job_id)
        self.main: subprocess.Popen | None = None
        self.others: list[subprocess.Popen] = []
        self.stop_requested = False

    def _on_term(self, signum, frame) -> None:
        self.stop_requested = True
        if self.main is not None and self.main.poll() is None:
            try:
                self.main.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass

    def run(self) -> int:
        from .local import runner_token
        signal.signal(signal.SIGTERM, self._on_term)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        ctl = self.ctl
        rec = ctl.ledger.get(self.job_id)
        if rec is None or rec.state != JobState.RUNNING:
            return 0
        ctl.ledger.update(self.job_id, backend_id=runner_token(os.getpid()))
        if self.stop_requested:
            self._finish(rec, {"state": "CANCELLED", "exit_code": 0, "signal": 15}, started=False)
            return 0
        try:
            self._launch(rec)
        except Exception as exc:  # cannot start at all: the job fails, visibly
            self._finish(rec, {"state": "FAILED", "exit_code": 1, "signal": 0,
                               "reason": f"launch failed: {exc}"}, started=False)
            return 1
        rc = self.main.wait() if self.main else 1
        for p in self.others:
            if p.poll() is None:
                p.terminate()
        deadline = time.time() + 5
        for p in self.others:
            try:
                p.wait(max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                p.kill()
        status = read_json(str(self.job_dir / "status.json")) or {}
        if status.get("state") in (None, "RUNNING"):
            # The runtime died without a word (killed with SIGKILL, crashed).
            status = {"state": "FAILED" if rc >= 0 else "CANCELLED",
                      "exit_code": rc if rc >= 0 else 0, "signal": -rc if rc < 0 else 0}
        self._finish(ctl.ledger.get(self.job_id) or rec, status, started=True)
        return 0

    def _launch(self, rec: JobRecord) -> None:
        from ..slurm.hostlist import expand
        from .descriptor import build_descriptor
        ctl = self.ctl
        spec = ctl.load_spec(rec)
        part = ctl.partition_of(rec)
        if part is None:
            raise RuntimeError(f"partition {rec.partition} is no longer configured")
        nodes = expand(rec.node_list) if rec.node_list else [part.node_names[0]]
        stage = ctl.state_dir / "spool"
        desc = build_descriptor(spec, rec, part, ctl.config.cluster_name, nodes, str(stage))
        desc["kill_wait"] = ctl.config.kill_wait
        desc["enforce_time_limit"] = True
        desc["restart_count"] = rec.restarts
        self.job_dir.mkdir(parents=True, exist_ok=True)
        for stale in ("status.json", "control.json", "pids.json"):
            try:
                (self.job_dir / stale).unlink()
            except FileNotFoundError:
                pass
        desc_path = self.job_dir / "job.json"
        desc_path.write_text(json.dumps(desc), encoding="utf-8")
        position = None
        if spec.array is not None and rec.array_task_id is not None:
            position = list(spec.array.indices).index(rec.array_task_id)
        base_env = dict(os.environ)
        base_env[ENV_FILE] = str(desc_path)
        base_env[ENV_START_TIME] = repr(rec.start_time or time.time())
        log = open(self.job_dir / "runtime.log", "ab")
        try:
            for i, _node in enumerate(nodes):
                env = dict(base_env)
                env.update(placement_environ(
                    array_index=position, node_index=i, num_nodes=len(nodes), main_node_index=0,
                    main_node_addr="127.0.0.1" if i else None, attempt=1,
                    batch_job_id=f"local-{rec.job_id}"))
                proc = subprocess.Popen([sys.executable, "-m", "slurmshim.runtime.job"],
                                        env=env, stdin=subprocess.DEVNULL, stdout=log,
                                        stderr=log, start_new_session=True, close_fds=True)
                if i == 0:
                    self.main = proc
                else:
                    self.others.append(proc)
        finally:
            log.close()
        (self.job_dir / "pids.json").write_text(json.dumps(
            {"main": self.main.pid if self.main else None,
             "nodes": [p.pid for p in [self.main, *self.others] if p]}), encoding="utf-8")
        if self.stop_requested and self.main is not None:
            self.main.send_signal(signal.SIGTERM)

    def _finish(self, rec: JobRecord, status: dict, started: bool) -> None:
        """Record the end of the job in the ledger, then let the scheduler start what waits."""
        ctl = self.ctl
        now = time.time()
        exit_code = int(status.get("exit_code") or 0)
        sig = int(status.get("signal") or 0)
        with ctl.ledger.transaction():
            fresh = ctl.ledger.get(self.job_id) or rec
            requeue = ctl.ledger.kv_get(f"requeue:{self.job_id}")
            if requeue is not None:
                ctl.ledger.db.execute("DELETE FROM kv WHERE key=?", (f"requeue:{self.job_id}",))
                self._requeued(fresh, requeue == "hold", now)
            else:
                state, job_exit, job_sig, reason = final_state(status, fresh.cancelled_by)
                ctl.ledger.update(self.job_id, state=state, reason=reason, exit_code=job_exit,
                                  exit_signal=job_sig, end_time=now,
                                  derived_exit_code=self._derived_exit_code())
                if started:
                    self._record_steps(fresh, status, state, exit_code, sig, now)
        self._schedule()

    def _record_steps(self, rec: JobRecord, status: dict, state: JobState, exit_code: int,
                      sig: int, now: float) -> None:
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
                exit_signal=b_sig, start_time=start, end_time=end, num_cpus=rec.num_cpus // max(
                    1, rec.num_nodes) or 1, num_tasks=1, num_nodes=1,
                node_list=(rec.node_list.split(",")[0] if rec.node_list else "")))
        for step in self._srun_steps():
            sid = str(step.get("step_id"))
            if sid in ("batch", "None", ""):
                continue
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
                node_list=str(step.get("node_list") or rec.node_list)))

    def _derived_exit_code(self) -> int:
        """Slurm's DerivedExitCode: the highest exit code of the job's srun steps (the batch
        step does not count)."""
        codes = [int(st.get("exit_code") or 0) for st in self._srun_steps()
                 if str(st.get("step_id")) not in ("batch", "None", "")]
        return max(codes, default=0)

    def _srun_steps(self) -> list[dict]:
        steps_dir = self.job_dir / "steps"
        out = []
        for path in sorted(steps_dir.glob("step-*.json")) if steps_dir.is_dir() else []:
            data = read_json(str(path))
            if isinstance(data, dict):
                out.append(data)
        return out

    def _requeued(self, rec: JobRecord, hold: bool, now: float) -> None:
        ledger = self.ctl.ledger
        old = JobRecord(**{**rec.__dict__})
        old.state = JobState.REQUEUED
        old.end_time = now
        old.restarts = max(0, rec.restarts - 1)
        ledger.add_history(old)
        ledger.delete_steps(rec.job_id)
        fields = dict(state=JobState.PENDING, start_time=None, end_time=None, node_list="",
                      backend_id=None, exit_code=0, exit_signal=0, eligible_time=None,
                      reason="JobHeldAdmin" if hold else "BeginTime", submit_time=now)
        if hold:
            fields.update(hold="admin", priority=0)
        ledger.update(rec.job_id, **fields)

    def _schedule(self) -> None:
        try:
            self.ctl.backend("local").schedule(self.ctl)
        except Exception as exc:  # the job's record is safe; the next pass will catch up
            sys.stderr.write(f"scheduling pass failed: {exc}\n")


def wake(state_dir: Path, when: float) -> None:
    """Sleep until `when`, then run a scheduling pass (begin times, after:+minutes)."""
    os.environ["SLURMSHIM_STATE_DIR"] = str(state_dir)
    delay = when - time.time()
    if delay > 0:
        time.sleep(delay)
    from ..controller import Controller
    ctl = Controller.open()
    ctl.ledger.db.execute("DELETE FROM kv WHERE key='local:waker'")
    ctl.backend("local").schedule(ctl)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] == "--wake":
        wake(Path(args[1]), float(args[2]))
        return 0
    return Runner(Path(args[0]), int(args[1])).run()


if __name__ == "__main__":
    sys.exit(main())
