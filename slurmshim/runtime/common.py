"""Small helpers shared by the runtime modules: Slurm's log-line and banner formats, atomic JSON
files, the per-job step directory, process spawning the way slurmstepd execs tasks, and the
session sweep that stands in for Slurm's process tracking.  Standard library only."""
from __future__ import annotations

import errno
import fcntl
import json
import os
import queue
import signal
import threading
import time
from typing import Any, Dict, List, Optional, Sequence

# ------------------------------------------------------------------ Slurm text formats

BANNER_REASONS = {
    "TIMEOUT": "DUE TO TIME LIMIT",
    "PREEMPTED": "DUE TO PREEMPTION",
    "NODE_FAIL": "DUE TO NODE FAILURE, SEE SLURMCTLD LOG FOR DETAILS",
    "REQUEUE": "DUE TO JOB REQUEUE",
}


def log_stamp(now: Optional[float] = None) -> str:
    """"[2026-11-22T10:40:56.316]": the prefix of lines slurmstepd writes into job output."""
    now = time.time() if now is None else now
    return "[%s.%03d]" % (time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(now)),
                          int((now % 1) * 1000))


def time_str(now: Optional[float] = None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(time.time() if now is None else now))


def error_line(message: str, now: Optional[float] = None) -> str:
    return "%s error: %s\n" % (log_stamp(now), message)


def signal_name(signum: int) -> str:
    """strsignal(): "Terminated", "Killed", "User defined signal 1", ..."""
    try:
        return signal.strsignal(signum) or "Signal %d" % signum  # type: ignore[attr-defined]
    except (AttributeError, ValueError):
        return "Signal %d" % signum


def cancel_banner(entity: str, node: str, reason: str, signum: int = signal.SIGTERM,
                  now: Optional[float] = None) -> str:
    """The line slurmstepd writes when a job or step is stopped (req.c), e.g. `[ts] error: ***
    JOB 53 ON node01 CANCELLED AT 2026-11-22T10:40:56 DUE to SIGNAL Terminated ***`.
    entity is "JOB 53" or "STEP 53.0"; reason is a key of BANNER_REASONS or anything else for a
    plain signal (note Slurm's "DUE to SIGNAL" vs "DUE TO ...")."""
    now = time.time() if now is None else now
    why = BANNER_REASONS.get(reason) or "DUE to SIGNAL %s" % signal_name(signum)
    return error_line("*** %s ON %s CANCELLED AT %s %s ***" % (entity, node, time_str(now), why),
                      now)


def write_fd(fd: Optional[int], text: str) -> None:
    if fd is None:
        return
    data = text.encode("utf-8", "replace")
    while data:
        try:
            n = os.write(fd, data)
        except InterruptedError:
            continue
        except OSError:
            return
        data = data[n:]


# ------------------------------------------------------------------ files

def write_json(path: str, data: Dict[str, Any]) -> None:
    """Atomic: readers never see half a file."""
    tmp = "%s.%d.tmp" % (path, os.getpid())
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=1, sort_keys=True)
        fh.write("\n")
    os.replace(tmp, path)


def read_json(path: str) -> Optional[Dict[str, Any]]:
    try:
        with open(path, "r", encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


def request_signal(job_dir: str, reason: Optional[str] = None, target: str = "all",
                   **extra: Any) -> None:
    """Supervisor side: say why the next signal comes, before sending it to the runtime.
    reason: "CANCELLED" (banner "DUE to SIGNAL <sig>"), "TIMEOUT", "REQUEUE", "PREEMPTED",
    "NODE_FAIL"; target for non-terminating signals: "batch" (the batch shell only, scancel -b),
    "steps" (srun steps only, scancel -s without -b) or "all" (scancel -f).  `requester` is
    the asking process (scancel, scontrol): if it runs inside the job, the runtime signals the
    job only once it has exited, as Slurm replies to the client before it kills."""
    data = {"reason": reason, "target": target, "time": time.time(),
            "requester": os.getpid()}
    data.update(extra)
    os.makedirs(job_dir, exist_ok=True)
    write_json(os.path.join(job_dir, "control.json"), data)


def take_control(job_dir: Optional[str]) -> Dict[str, Any]:
    """Runtime side: read and remove control.json ({} when there is none)."""
    if not job_dir:
        return {}
    path = os.path.join(job_dir, "control.json")
    data = read_json(path)
    if data is None:
        return {}
    try:
        os.unlink(path)
    except OSError:
        pass
    return data


class StepDir:
    """The per-job step directory ($SLURMSHIM_STEP_DIR): `next_id` (the step counter, under an
    flock), `step-<id>.json` per step (written at start with state RUNNING and srun's pid, then
    at the end), `step-batch.json`, and `job.json` (what srun needs to know about the job)."""

    def __init__(self, path: str) -> None:
        self.path = path
        os.makedirs(path, exist_ok=True)

    def next_step_id(self) -> int:
        with open(os.path.join(self.path, ".lock"), "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                counter = os.path.join(self.path, "next_id")
                try:
                    with open(counter, "r", encoding="ascii") as fh:
                        cur = int(fh.read().strip() or 0)
                except (OSError, ValueError):
                    cur = 0
                with open(counter + ".tmp", "w", encoding="ascii") as fh:
                    fh.write("%d\n" % (cur + 1))
                os.replace(counter + ".tmp", counter)
                return cur
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def record_path(self, step_id: Any) -> str:
        return os.path.join(self.path, "step-%s.json" % step_id)

    def write_record(self, record: Dict[str, Any]) -> None:
        write_json(self.record_path(record["step_id"]), record)

    def records(self) -> List[Dict[str, Any]]:
        out = []
        for name in sorted(os.listdir(self.path)):
            if name.startswith("step-") and name.endswith(".json"):
                rec = read_json(os.path.join(self.path, name))
                if rec:
                    out.append(rec)
        return out

    def running_step_pids(self) -> List[int]:
        return [int(r["pid"]) for r in self.records()
                if r.get("state") == "RUNNING" and r.get("pid") and r.get("step_id") != "batch"]

    def job_info(self) -> Dict[str, Any]:
        return read_json(os.path.join(self.path, "job.json")) or {}

    def write_job_info(self, info: Dict[str, Any]) -> None:
        write_json(os.path.join(self.path, "job.json"), info)


# ------------------------------------------------------------------ processes

def shebang_line(path: str) -> Optional[str]:
    """The first line after "#!", as slurmstepd quotes it, or None without a "#!"."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(256)
    except OSError:
        return None
    if not head.startswith(b"#!"):
        return None
    return head[2:].split(b"\n", 1)[0].decode("utf-8", "replace")


def parse_shebang(path: str) -> Optional[List[str]]:
    """`#!/bin/bash -l` -> ["/bin/bash", "-l"] (Linux passes the rest as one argument)."""
    line = (shebang_line(path) or "").strip()
    if not line:
        return None
    return line.split(None, 1)


def _resolve(cmd: str, path_var: str) -> str:
    if "/" in cmd:
        return cmd
    for d in (path_var or os.defpath).split(os.pathsep):
        cand = os.path.join(d or ".", cmd)
        if os.path.isfile(cand) and os.access(cand, os.X_OK):
            return cand
    return cmd


def _close_fds(keep: Sequence[int]) -> None:
    try:
        fds = [int(x) for x in os.listdir("/proc/self/fd")]
    except OSError:
        fds = list(range(3, 1024))
    for fd in fds:
        if fd > 2 and fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass


def spawn(argv: Sequence[str], env: Dict[str, str], cwd: Optional[str], stdin: int, stdout: int,
          stderr: int, new_session: bool = False, new_pgrp: bool = True,
          shebang_fallback: bool = False) -> int:
    """fork + exec the way slurmstepd starts a task: own process group (or session), stdio on
    the given fds, chdir with Slurm's fallback to /tmp, SLURM_TASK_PID = the task's own pid, the
    program searched on the task's PATH, and on failure Slurm's `execve()` error line on the
    task's stderr and exit status errno.  Returns the pid."""
    pid = os.fork()
    if pid:
        return pid
    try:  # child: never return into the caller's code
        if new_session:
            os.setsid()
        elif new_pgrp:
            os.setpgid(0, 0)
        for sig in (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGINT, signal.SIGTERM,
                    signal.SIGUSR1, signal.SIGUSR2, signal.SIGCONT, signal.SIGHUP,
                    signal.SIGQUIT):
            try:
                signal.signal(sig, signal.SIG_DFL)
            except (OSError, ValueError):
                pass
        for target, fd in ((0, stdin), (1, stdout), (2, stderr)):
            if fd != target:
                os.dup2(fd, target)
            else:
                os.set_inheritable(fd, True)
        _close_fds(())
        if cwd:
            try:
                os.chdir(cwd)
            except OSError as exc:
                write_fd(2, error_line("couldn't chdir to `%s': %s: going to /tmp instead"
                                       % (cwd, os.strerror(exc.errno or errno.ENOENT))))
                try:
                    os.chdir("/tmp")
                except OSError:
                    write_fd(2, error_line("couldn't chdir to /tmp either. dying."))
                    os._exit(1)
        env = dict(env)
        env["SLURM_TASK_PID"] = str(os.getpid())
        prog = _resolve(argv[0], env.get("PATH", ""))
        try:
            os.execve(prog, list(argv), env)
        except OSError as exc:
            err = exc.errno or errno.ENOEXEC
            if shebang_fallback and err in (errno.EACCES, errno.ENOEXEC) and os.path.isfile(prog):
                interp = parse_shebang(prog)
                if interp:
                    try:
                        os.execve(interp[0], interp + [prog] + list(argv[1:]), env)
                    except OSError as exc2:
                        err = exc2.errno or err
            if err == errno.ENOENT and os.path.isfile(prog):
                line = shebang_line(prog)
                if line is not None:
                    write_fd(2, error_line("execve(): bad interpreter(%s): %s"
                                           % (line, os.strerror(err))))
                    os._exit(err)
            write_fd(2, error_line("execve(): %s: %s" % (argv[0], os.strerror(err))))
            os._exit(err)
    except BaseException:  # noqa: BLE001 - the child must not survive an unexpected error
        try:
            write_fd(2, error_line("slurmshim: task launch failed"))
        finally:
            os._exit(1)
    os._exit(1)  # not reached


def exit_info(status: int) -> Dict[str, int]:
    """A wait() status -> {"exit_code", "signal", "rc"} where rc is what a shell reports
    (128 + signal for a signalled process)."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        return {"exit_code": 0, "signal": sig, "rc": 128 + sig}
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1
    return {"exit_code": code, "signal": 0, "rc": code}


def session_pids(sid: int) -> List[int]:
    """Every process in session `sid` (what Slurm's proctrack would kill).  Linux /proc."""
    out = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return out
    for name in entries:
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name, "rb") as fh:
                data = fh.read()
        except OSError:
            continue
        rest = data[data.rfind(b")") + 2:].split()
        # fields after the comm: state ppid pgrp session ...
        if len(rest) > 3 and int(rest[3]) == sid and rest[0] != b"Z":
            out.append(int(name))
    return out


def kill_session(sid: int, signum: int) -> None:
    """Signal the process group `sid` and every other process left in the session."""
    try:
        os.killpg(sid, signum)
    except OSError:
        pass
    for pid in session_pids(sid):
        if pid == os.getpid():
            continue
        try:
            os.kill(pid, signum)
        except OSError:
            pass


# ------------------------------------------------------------------ task stdin

class StdinWriter:
    """Feeds one task's stdin pipe from a thread of its own, so that a task that does not read
    its input (or reads it slowly) holds up neither the other tasks nor the connection the
    data arrives on.  put(data) queues bytes, put(None) closes the pipe once the queued data is
    written.  Once the task has gone (EPIPE) further data is dropped."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._queue: "queue.Queue[Optional[bytes]]" = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="task-stdin", daemon=True)
        self._thread.start()

    def put(self, data: Optional[bytes]) -> None:
        self._queue.put(data)

    def _run(self) -> None:
        broken = False
        while True:
            data = self._queue.get()
            if data is None:
                break
            while data and not broken:
                try:
                    n = os.write(self.fd, data)
                except InterruptedError:
                    continue
                except OSError:
                    broken = True   # the task is gone or closed its stdin: drop the rest
                    break
                data = data[n:]
        try:
            os.close(self.fd)
        except OSError:
            pass


def read_chunks(fd: int, size: int = 65536):
    """Yield what `fd` delivers until end of file or an error (a closed or bad descriptor counts
    as empty); reads interrupted by a signal are retried.  Every pump of the runtime (job
    output, srun's labels, a node agent's task output, srun's stdin) reads through this."""
    while True:
        try:
            data = os.read(fd, size)
        except InterruptedError:
            continue
        except OSError:
            return
        if not data:
            return
        yield data
