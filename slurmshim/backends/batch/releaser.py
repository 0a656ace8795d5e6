"""The Batch releaser (`python -m slurmshim.backends.batch.releaser STATE_DIR`): submits to AWS
Batch the jobs slurmshim holds itself, with no command running.

Which jobs: Batch jobs PENDING in the ledger and not yet on Batch whose hold time or other jobs
will lift -- `--begin` in the future, a dependency Batch cannot express (afterany, afternotok,
after[:+min], singleton, `?`, more than 20 targets, targets not on Batch when it was
submitted), a `scontrol release` whose dependency still waits -- and jobs `scontrol requeue`
took back from Batch, whose old Batch job must end before the new one is sent.  A job held
with -H waits for a person, not for time: the releaser ignores it until it is released.

One per state directory (an flock, its token in the ledger kv `batch:releaser`), the same
life as the local node daemon's: started by sbatch, scontrol release/requeue/update (any
`kick`) and any refresh (squeue, sacct) that leaves something waiting; woken by SIGUSR1 when
one runs already (a new, earlier begin time); gone when nothing is left to wait for (checked
in the same ledger transaction that removes its token, so a job submitted meanwhile either
keeps it alive or starts a new one).  Started twice, the second finds the lock taken and
exits 0.

API calls, per poll: none for what only the clock or the ledger decides (a begin time, a
dependency on local jobs or on jobs that are themselves held); otherwise ONE DescribeJobs of
the Batch jobs the held ones wait for (up to 100 per call), through BatchBackend.refresh, so
the ledger learns how they ended exactly as squeue would tell it; then the SubmitJob(s) of
what became eligible.  The polls back off (client.PollBackoff) from SLURMSHIM_BATCH_POLL
(default 2 s, at least 0.25 s) to 15x that (at most 30 s) while nothing changes, start over on
any change, and never sleep past the next begin time or `after:+minutes`.  AWS errors are
logged and retried with the same back-off; after GIVE_UP seconds of nothing but errors it
exits (the next command starts it again).  SLURMSHIM_BATCH_RELEASER=0 keeps commands from
starting it (in-process tests).

Everything it says goes to STATE_DIR/batch-releaser.log, one line per event, never a
traceback.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from ...controller import Controller
    from ...model import JobRecord

KV_TOKEN = "batch:releaser"
LOG_NAME = "batch-releaser.log"
LOCK_NAME = "batch-releaser.lock"
LOG_MAX = 1 << 20          # bytes: a bigger log is rotated to .1 when a releaser starts
GIVE_UP = 900.0            # seconds of nothing but errors before the releaser exits
MIN_POLL = 0.25
SETTLED_REASONS = ("DependencyNeverSatisfied", "PartitionDown")
MAX_POLL = 30.0


def enabled(environ: dict | None = None) -> bool:
    env = os.environ if environ is None else environ
    return env.get("SLURMSHIM_BATCH_RELEASER", "1") != "0"


def poll_bounds(base: float) -> tuple[float, float]:
    """(first delay, longest delay) for a base poll interval (SLURMSHIM_BATCH_POLL)."""
    first = max(MIN_POLL, float(base))
    return first, min(MAX_POLL, max(8 * first, 15 * float(base)))


# ---------------------------------------------------------------- what is waiting

def waiting_candidates(ctl: "Controller") -> tuple[list["JobRecord"], list["JobRecord"]]:
    """(held: Batch jobs PENDING in the ledger, not on Batch, not held by -H; requeued: jobs
    `scontrol requeue` took back whose old Batch job has not ended yet)."""
    from ...model import JobState
    held, requeued = [], []
    for r in ctl.ledger.in_states("batch", (JobState.PENDING, JobState.COMPLETING)):
        if r.state == JobState.PENDING:
            if not r.backend_id and not r.hold:
                held.append(r)
        elif r.backend_id and ctl.ledger.kv_get(f"requeue:{r.job_id}") is not None:
            requeued.append(r)
    return held, requeued


def dependency_targets(ctl: "Controller", recs: list["JobRecord"]) -> list["JobRecord"]:
    """The records on Batch (active, with Batch ids) that these held jobs wait for: their
    dependencies' jobs (every record of an array) and, for singleton, the earlier active jobs
    of the same name and user.  What a refresh must look at for their dependencies to be
    decided; nothing else (the ledger knows the rest)."""
    ids: set[int] = set()
    singles: list["JobRecord"] = []
    for r in recs:
        try:
            spec = ctl.load_spec(r)
        except KeyError:
            continue
        if spec.dependency is None:
            continue
        for term in spec.dependency.terms:
            if term.kind == "singleton":
                singles.append(r)
            elif term.job_id is not None:
                ids.add(term.job_id)
    out: dict[int, "JobRecord"] = {}

    def take(t: "JobRecord") -> None:
        if t.backend == "batch" and t.state.is_active and t.backend_id:
            out[t.job_id] = t

    for jid in sorted(ids):
        for t in ctl.ledger.array_records(jid) or [x for x in [ctl.ledger.get(jid)] if x]:
            take(t)
    for r in singles:
        for o in ctl.ledger.iter_names(r.name, r.user):
            if o.job_id < r.job_id and (o.array_job_id is None or o.array_job_id != r.array_job_id):
                take(o)
    return sorted(out.values(), key=lambda t: t.job_id)


# ---------------------------------------------------------------- starting one

def ensure_releaser(ctl: "Controller", *, kick: bool = True) -> None:
    """Make sure this state directory's releaser runs: start one (detached, like the local
    node daemon) when none does, else (`kick`) have it look again now (SIGUSR1: a new job may
    be due before its next look).  Cheap: a ledger read and a /proc look when one runs."""
    if not enabled():
        return
    import signal
    import subprocess

    from ..local import _runner_env, runner_alive, runner_pid
    token = ctl.ledger.kv_get(KV_TOKEN)
    if token and runner_alive(token):
        if not kick:
            return
        try:
            os.kill(runner_pid(token), signal.SIGUSR1)
            return
        except (ProcessLookupError, PermissionError, TypeError):
            pass
    ctl.state_dir.mkdir(parents=True, exist_ok=True)
    log_path = ctl.state_dir / LOG_NAME
    with open(log_path, "ab") as log:
        subprocess.Popen(
            [sys.executable, "-m", "slurmshim.backends.batch.releaser", str(ctl.state_dir)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
            close_fds=True, env=_runner_env(ctl))


# ---------------------------------------------------------------- the process

class Releaser:
    """The loop.  `ctl`, `backend`, `clock` and `wait` can be given (tests drive it in-process
    with a Stubber-backed backend and a fake clock)."""

    def __init__(self, ctl: "Controller", backend=None, *, clock=time.time, wait=None,
                 log=None) -> None:
        self.ctl = ctl
        self.be = backend if backend is not None else ctl.backend("batch")
        self.be.in_releaser = True          # its kicks and refreshes start no releaser
        self.clock = clock
        self._wait = wait
        self._log = log
        self.token: str | None = None
        self.kicked = False
        self.stop = False
        self.settled: set[int] = set()      # held jobs that wait for nothing (last pass)
        from .client import PollBackoff
        first, longest = poll_bounds(self.be.poll_interval)
        self.backoff = PollBackoff(first, longest)
        self.errors_since: float | None = None
        self.gave_up = False
        self.passes = 0

    # -- output ------------------------------------------------------------------------------
    def log(self, msg: str) -> None:
        if self._log is not None:
            self._log(msg)
            return
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
        try:
            sys.stderr.write(f"{stamp} batch-releaser[{os.getpid()}]: {msg}\n")
            sys.stderr.flush()
        except (OSError, ValueError):
            pass

    # -- one look ----------------------------------------------------------------------------
    def pass_once(self) -> tuple[bool, float | None, int]:
        """Refresh what the held jobs wait for, submit what became eligible.  Returns
        (something changed, when to look again at the latest, how many jobs still wait)."""
        ctl, be = self.ctl, self.be
        self.passes += 1
        before = be._changes(ctl)
        held, requeued = waiting_candidates(ctl)
        targets = dependency_targets(ctl, held)
        look = {r.job_id: r for r in targets + requeued}
        if look:
            ctl._refreshed = False
            be.refresh(ctl, sorted(look.values(), key=lambda r: r.job_id), force=True)
        fresh = [r for r in ctl.ledger.get_many(r.job_id for r in held)
                 if r.state.value == "PENDING" and not r.backend_id and not r.hold]
        waits: list[float | None] = []
        failed: list[tuple["JobRecord", Exception]] = []
        for r in fresh:     # one job that cannot be planned must not block the others
            try:
                waits += be._release(ctl, [r])
            except Exception as exc:
                failed.append((r, exc))
                waits.append(None)
        if failed and len(failed) == len(fresh):
            raise failed[0][1]          # nothing went: AWS itself, most likely
        for r, exc in failed:
            self.log(f"job {r.display_id}: error (retrying): {_one_line(exc)}")
        after = ctl.ledger.get_many(r.job_id for r in fresh)
        for r in after:
            if r.backend_id:
                self.log(f"submitted job {r.display_id} to AWS Batch ({r.backend_id})")
            elif r.state.is_terminal:
                self.log(f"job {r.display_id} ended {r.state.value} ({r.reason}) without "
                         "reaching AWS Batch")
        # held jobs that wait for nothing time or other jobs can bring (a dependency that can
        # never be satisfied, a partition gone from the configuration): a command that changes
        # that (scontrol requeue of the dependency, ...) kicks the backend, which starts a
        # releaser again
        self.settled = {r.job_id for r in after if r.state.value == "PENDING"
                        and not r.backend_id and r.reason in SETTLED_REASONS}
        _held, requeued = waiting_candidates(ctl)
        wake = min((w for w in waits if w is not None), default=None)
        changed = before is None or be._changes(ctl) != before
        return changed, wake, len(waits) + len(requeued)

    def _finish(self) -> bool:
        """Nothing waits: remove the token and go, unless a job arrived meanwhile (decided in
        one ledger transaction with the token's removal)."""
        ctl = self.ctl
        with ctl.ledger.transaction():
            held, requeued = waiting_candidates(ctl)
            if requeued or any(r.job_id not in self.settled for r in held):
                return False
            if self.token is not None and ctl.ledger.kv_get(KV_TOKEN) == self.token:
                ctl.ledger.db.execute("DELETE FROM kv WHERE key=?", (KV_TOKEN,))
        return True

    def step(self) -> float | None:
        """One pass and the delay before the next; None: the releaser is done."""
        try:
            changed, wake, left = self.pass_once()
        except Exception as exc:  # AWS down, credentials expired, a ledger hiccup
            now = self.clock()
            if self.errors_since is None:
                self.errors_since = now
                self.backoff.reset()
            self.log(f"error (retrying): {_one_line(exc)}")
            if now - self.errors_since > GIVE_UP:
                self.log(f"giving up after {int(now - self.errors_since)} s of errors; the "
                         "next slurmshim command starts a releaser again")
                self.gave_up = True
                return None
            return self.backoff()
        self.errors_since = None
        if not left:   # (a job arrived meanwhile: look again soon)
            return None if self._finish() else MIN_POLL
        if changed:
            self.backoff.reset()
        delay = self.backoff()
        if wake is not None:
            delay = min(delay, max(0.0, wake - self.clock()))
        return delay

    def run(self) -> int:
        while not self.stop:
            delay = self.step()
            if delay is None:
                break
            if self.kicked:
                self.kicked = False
                self.backoff.reset()
                continue
            self.sleep(delay)
        return 0

    def sleep(self, seconds: float) -> None:
        if self._wait is not None:
            self._wait(seconds)
        else:
            time.sleep(seconds)


class _Process:
    """The detached process around Releaser: lock, token, signals, log."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir

    def main(self) -> int:
        import fcntl
        import select
        import signal

        os.environ["SLURMSHIM_STATE_DIR"] = str(self.state_dir)
        from ...controller import Controller
        from ..local import runner_alive, runner_token
        self.state_dir.mkdir(parents=True, exist_ok=True)
        lock = open(self.state_dir / LOCK_NAME, "a+")
        ctl = Controller.open()
        deadline = time.time() + 5
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError:
                # another releaser serves this state directory (or, its token gone, is on
                # its way out: then the lock is free in a moment)
                other = ctl.ledger.kv_get(KV_TOKEN)
                if (other and runner_alive(other)) or time.time() > deadline:
                    return 0
                time.sleep(0.05)
        _rotate(self.state_dir / LOG_NAME)   # (ours now: the lock is held)
        rfd, wfd = os.pipe()
        os.set_blocking(rfd, False)
        os.set_blocking(wfd, False)

        def wait(seconds: float) -> None:
            try:
                select.select([rfd], [], [], max(0.0, seconds))
                os.read(rfd, 4096)
            except (BlockingIOError, InterruptedError):
                pass

        rel = Releaser(ctl, wait=wait)

        def on_usr1(signum, frame) -> None:
            rel.kicked = True

        def on_stop(signum, frame) -> None:
            rel.stop = True

        signal.set_wakeup_fd(wfd, warn_on_full_buffer=False)
        signal.signal(signal.SIGUSR1, on_usr1)
        signal.signal(signal.SIGTERM, on_stop)
        signal.signal(signal.SIGINT, on_stop)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        rel.token = runner_token(os.getpid())
        with ctl.ledger.transaction():
            ctl.ledger.kv_set(KV_TOKEN, rel.token)
        rel.log(f"started for {self.state_dir}")
        try:
            rel.run()
        finally:
            try:
                with ctl.ledger.transaction():
                    if ctl.ledger.kv_get(KV_TOKEN) == rel.token:
                        ctl.ledger.db.execute("DELETE FROM kv WHERE key=?", (KV_TOKEN,))
            except Exception:
                pass
        rel.log("stopped by a signal" if rel.stop else "stopped after errors" if rel.gave_up
                else "stopped: nothing left to wait for")
        return 0


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(getattr(exc, "message", None) or exc).split()) or type(exc).__name__
    return text[:500]


def _rotate(path: Path) -> None:
    """A log grown past LOG_MAX becomes LOG.1; this process then writes to a new LOG (its
    stdout and stderr are the log file the starter opened)."""
    try:
        if path.stat().st_size <= LOG_MAX:
            return
        os.replace(path, path.with_name(path.name + ".1"))
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
    except OSError:
        pass


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        sys.stderr.write("usage: python -m slurmshim.backends.batch.releaser STATE_DIR\n")
        return 2
    try:
        return _Process(Path(args[0])).main()
    except BaseException as exc:  # never a traceback: one line in the log
        if isinstance(exc, SystemExit):
            return int(exc.code or 0) if isinstance(exc.code, int) else 1
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
        try:
            sys.stderr.write(f"{stamp} batch-releaser[{os.getpid()}]: fatal: "
                             f"{type(exc).__name__}: {_one_line(exc)}\n")
        except (OSError, ValueError):
            pass
        return 1


if __name__ == "__main__":
    sys.exit(main())
