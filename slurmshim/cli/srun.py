"""``srun``: inside a job (SLURM_JOB_ID set) it launches a job step (slurmshim.runtime.srun);
outside any job it is "sbatch --wait, then show me the output": it submits a job whose only step
is the command, streams the tasks' output to this terminal, and exits with the command's exit
code.  Ctrl-C cancels the job, as with Slurm.

Where the output comes from: on the local backend, the job's output and error files in the
spool directory, tailed (stdout to stdout, stderr to stderr).  On an AWS Batch partition the
container does not share that directory: the output is streamed from the job's CloudWatch log
through the backend (BatchBackend.follow_output, polling with back-off), and since CloudWatch
merges a container's stdout and stderr into one stream, both arrive on srun's stdout, in order.
A second Ctrl-C on Batch stops waiting for the cancelled job to end (Batch gives a container
up to 30 s after SIGTERM).

The options shared with sbatch (resources, time, partition, dependency, ...) make the job; the
step-only options (-l, --multi-prog, -u, ...) go to the step.  Both come from the one option
table, slurm/options.py.
"""
from __future__ import annotations

import os
import shlex
import signal
import sys
import tempfile
import time

from .. import SLURM_VERSION
from ..errors import SlurmError, SubmitError
from .common import run_main

PROG = "srun"

# Options srun applies to the step even when they also exist for sbatch: outside a job these go
# to the step (task I/O), not to the job's batch output.
_STEP_SIDE = {"output", "error", "input", "export", "job-name"}


def inside_allocation(env) -> bool:
    return bool(env.get("SLURM_JOB_ID")) and not env.get("SLURMSHIM_SRUN_NEW_JOB")


def split_options(argv: list[str]):
    """Parse srun's command line; return (job argv for sbatch, step argv for the inner srun,
    command, early-exit text or None, quiet)."""
    from ..slurm import options as _opts

    res = _opts.getopt_for("srun").parse(argv, PROG)
    job: list[str] = []
    step: list[str] = []
    quiet = False
    job_name = None
    for item in res.items:
        row = item.key
        name = row.long
        if name == "help":
            return [], [], [], _opts.help_text("srun"), False
        if name == "usage":
            return [], [], [], _opts.usage_text("srun"), False
        if name == "version":
            return [], [], [], f"slurm {SLURM_VERSION}\n", False
        if name == "quiet":
            quiet = True
        if name == "job-name":
            job_name = item.arg
        token = f"--{name}" if item.arg is None else f"--{name}={item.arg}"
        if "sbatch" in row.commands and name not in _STEP_SIDE:
            job.append(token)
        else:
            step.append(token)
        if name == "export":
            job.append(token)
    command = list(res.operands)
    if command and job_name is None:
        job.append(f"--job-name={os.path.basename(command[0])}")
    elif job_name is not None:
        job.append(f"--job-name={job_name}")
    return job, step, command, None, quiet


def run(argv: list[str]) -> int:
    env = os.environ
    if inside_allocation(env):
        from ..runtime import srun as _step
        return _step.main(argv)
    job_args, step_args, command, early, quiet = split_options(argv)
    if early is not None:
        sys.stdout.write(early)
        return 0
    if not command:
        raise SlurmError("No command given to execute.", 1, raw=False)
    return run_outside(job_args, step_args, command, argv, quiet)


def run_outside(job_args: list[str], step_args: list[str], command: list[str], argv: list[str],
                quiet: bool) -> int:
    import socket

    from ..controller import Controller
    from ..identity import current_user
    from ..slurm.sbatch_args import build_spec

    ctl = Controller.open()
    spool = ctl.state_dir / "srun"
    spool.mkdir(parents=True, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="srun.", dir=spool)
    out_path, err_path = os.path.join(tmp, "out"), os.path.join(tmp, "err")
    inner = "exec srun " + " ".join(shlex.quote(a) for a in [*step_args, "--", *command])
    user, uid, group, gid = current_user()
    try:
        spec = build_spec([*job_args, "-o", out_path, "-e", err_path, f"--wrap={inner}"],
                          os.environ, read_script=_no_script, cwd=os.getcwd(), user=user,
                          uid=uid, group=group, gid=gid, host=socket.gethostname(),
                          pid=os.getpid(), now=time.time(),
                          max_array_size=ctl.config.max_array_size,
                          cluster_name=ctl.config.cluster_name)
    except SlurmError as exc:
        exc.message = exc.message.replace("sbatch", "srun")
        raise
    spec.extra["srun_job"] = True
    spec.submit_line = "srun " + " ".join(argv)
    spec.command = command[0]
    try:
        res = ctl.submit(spec)
    except SubmitError as exc:
        raise SlurmError(f"Unable to allocate resources: {exc.reason}") from None
    rec = ctl.ledger.get(res.job_id)
    if rec is not None and rec.backend == "batch":
        try:
            return follow_batch(ctl, rec, quiet)
        finally:
            _cleanup(out_path, err_path)
    return follow(ctl, res.job_id, out_path, err_path, quiet)


def _no_script(path):
    raise SlurmError("internal: srun builds its own script")


def follow(ctl, job_id: int, out_path: str, err_path: str, quiet: bool) -> int:
    """Stream the job's output until it ends; Ctrl-C cancels it.  Returns srun's exit code."""
    cancelled = {"n": 0}

    def on_int(signum, frame):
        cancelled["n"] += 1

    old = signal.signal(signal.SIGINT, on_int)
    announced_wait = False
    offsets = {out_path: 0, err_path: 0}
    sinks = {out_path: sys.stdout, err_path: sys.stderr}
    try:
        while True:
            if cancelled["n"] == 1:
                cancelled["n"] += 1
                sys.stderr.write(f"srun: Cancelled job {job_id}\n" if not quiet else "")
                rec = ctl.ledger.get(job_id)
                if rec is not None:
                    ctl.cancel_records([rec])
            ctl._refreshed = False
            ctl.refresh()
            rec = ctl.ledger.get(job_id)
            for path in (out_path, err_path):
                offsets[path] = _pump(path, offsets[path], sinks[path])
            if rec is None:
                return 1
            if rec.state.value == "PENDING" and not announced_wait and not quiet:
                if time.time() - rec.submit_time > 0.5:
                    sys.stderr.write(f"srun: job {job_id} queued and waiting for resources\n")
                    announced_wait = True
            if rec.state.is_terminal:
                for path in (out_path, err_path):
                    offsets[path] = _pump(path, offsets[path], sinks[path])
                return _final_status(ctl, rec, quiet)
            time.sleep(0.1)
    finally:
        signal.signal(signal.SIGINT, old)
        _cleanup(out_path, err_path)


def _final_status(ctl, rec, quiet: bool) -> int:
    """srun's exit code for a job that has ended: the command's, 1 (or the exit code) when it
    was cancelled."""
    if rec.state.value == "CANCELLED":
        if not rec.start_time and not quiet:
            sys.stderr.write("srun: Job has been cancelled\n")
        return 1 if rec.exit_code == 0 else rec.exit_code
    return ctl.exit_status_of(rec)


def _cleanup(out_path: str, err_path: str) -> None:
    for path in (out_path, err_path):
        try:
            os.unlink(path)
        except OSError:
            pass
    try:
        os.rmdir(os.path.dirname(out_path))
    except OSError:
        pass


def follow_batch(ctl, rec, quiet: bool) -> int:
    """The job is on AWS Batch: stream its CloudWatch log through the backend until it ends
    (the backend's JobFollower: one DescribeJobs per poll, backing off while nothing
    happens).  Ctrl-C cancels the job and keeps streaming until Batch has ended it; a second
    one stops waiting.  Returns srun's exit code."""
    job_id = rec.job_id
    be = ctl.backend("batch")
    state = {"ints": 0, "handled": 0, "announced": False, "aborted": False}

    def on_int(signum, frame):
        state["ints"] += 1

    def write(text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

    fol = be.follower(ctl, rec, write)

    def sleep(seconds: float) -> None:
        """tenacity's sleep, cut short by a Ctrl-C."""
        end = time.monotonic() + seconds
        seen = state["ints"]
        while state["ints"] == seen:
            left = end - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(0.1, left))

    def should_stop() -> bool:
        if state["ints"] > state["handled"]:
            first = state["handled"] == 0
            state["handled"] = state["ints"]
            if not first:
                state["aborted"] = True
                return True
            if not quiet:
                sys.stderr.write(f"srun: Cancelled job {job_id}\n")
            fresh = ctl.ledger.get(job_id)
            if fresh is not None and fresh.state.is_active:
                ctl.cancel_records([fresh])
            fol.poke()
        cur = fol.rec
        if not state["announced"] and not quiet and cur.state.value == "PENDING" and \
                time.time() - cur.submit_time > 0.5:
            sys.stderr.write(f"srun: job {job_id} queued and waiting for resources\n")
            state["announced"] = True
        return False

    old = signal.signal(signal.SIGINT, on_int)
    try:
        final = fol.run(should_stop=should_stop, sleep=sleep)
    finally:
        signal.signal(signal.SIGINT, old)
    if state["aborted"]:
        if not quiet:
            sys.stderr.write(f"srun: error: Job {job_id} is being cancelled; not waiting for "
                             "AWS Batch to stop it\n")
        return 1
    final = ctl.ledger.get(job_id) or final
    if not final.state.is_terminal:  # pragma: no cover - run() returns when it has ended
        return 1
    return _final_status(ctl, final, quiet)


def _pump(path: str, offset: int, sink) -> int:
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            data = fh.read()
    except OSError:
        return offset
    if data:
        sink.buffer.write(data) if hasattr(sink, "buffer") else sink.write(data.decode())
        sink.flush()
    return offset + len(data)


def main(argv: list[str] | None = None) -> None:
    run_main(PROG, run, argv)


if __name__ == "__main__":
    main()
