"""``sattach JOBID[.STEP]``: follow a running job's output on this terminal until it ends.

Local backend: the job's own --output/--error files (their real paths are in the runtime's
status.json).  AWS Batch: the job's CloudWatch log stream (stdout and stderr merged, as
CloudWatch has them), followed through requeues until the Slurm job ends.  Ctrl-C detaches;
the job goes on.
"""
from __future__ import annotations

import os
import sys
import time

from .. import SLURM_VERSION
from ..errors import SlurmError
from ..slurm.getopt import NO_ARGUMENT, REQUIRED_ARGUMENT, Getopt, Option
from .common import run_main

PROG = "sattach"

_OPTIONS = [
    Option("error-filter", None, REQUIRED_ARGUMENT, "error-filter"),
    Option("input-filter", None, REQUIRED_ARGUMENT, "input-filter"),
    Option("label", "l", NO_ARGUMENT, "label"),
    Option("layout", None, NO_ARGUMENT, "layout"),
    Option("output-filter", None, REQUIRED_ARGUMENT, "output-filter"),
    Option("pty", None, NO_ARGUMENT, "pty"),
    Option("quiet", "Q", NO_ARGUMENT, "quiet"),
    Option("verbose", "v", NO_ARGUMENT, "verbose"),
    Option("version", "V", NO_ARGUMENT, "version"),
    Option("help", "h", NO_ARGUMENT, "help"),
    Option("usage", "u", NO_ARGUMENT, "usage"),
]

USAGE = "Usage: sattach [options] <jobid.stepid>\n"
HELP = """\
Usage: sattach [options] <jobid.stepid>
      --input-filter=taskid  send stdin to only the specified task
      --output-filter=taskid only print stdout from the specified task
      --error-filter=taskid  only print stderr from the specified task
  -l, --label                prepend task number to lines of stdout & stderr
      --layout               print task layout info and exit (does not attach to tasks)
  -Q, --quiet                quiet mode (suppress informational messages)
  -v, --verbose              verbose mode (multiple -v's increase verbosity)
  -V, --version              print the Slurm version and exit

Help options:
  -h, --help                 print this help message
  -u, --usage                print a brief usage message
"""


def run(argv: list[str]) -> int:
    res = Getopt(_OPTIONS).parse(argv, PROG)
    label = layout = False
    for item in res.items:
        if item.key == "help":
            sys.stdout.write(HELP)
            return 0
        if item.key == "usage":
            sys.stdout.write(USAGE)
            return 0
        if item.key == "version":
            sys.stdout.write(f"slurm {SLURM_VERSION}\n")
            return 0
        label = label or item.key == "label"
        layout = layout or item.key == "layout"
    if len(res.operands) != 1:
        raise SlurmError("too many parameters" if res.operands else "you must provide a job id")
    text = res.operands[0]
    job_text = text.split(".", 1)[0]
    from ..controller import Controller
    ctl = Controller.open()
    try:
        recs = ctl.find_jobs(job_text)
    except Exception:
        raise SlurmError(f"Job/step {text} not found", 1) from None
    rec = next((r for r in recs if not r.is_array_meta), recs[0])
    if rec.state.is_terminal:
        raise SlurmError(f"Job {text} has already completed", 1)
    if layout:
        sys.stdout.write(f"Job step layout:\n  {rec.num_tasks} tasks, {rec.num_nodes} nodes "
                         f"({rec.node_list or 'none'})\n")
        return 0
    if rec.backend == "batch":
        be = ctl.backend("batch")
        try:  # polls with back-off (one DescribeJobs per poll): see backends/batch JobFollower
            return be.follow_output(ctl, rec, sys.stdout, label=label)
        except KeyboardInterrupt:  # detach; the job goes on
            sys.stdout.flush()
            return 0
    return follow_local(ctl, rec.job_id, label)


def follow_local(ctl, job_id: int, label: bool) -> int:
    """Tail the job's output and error files from where they are now until the job ends."""
    from ..runtime.common import read_json
    status_path = ctl.spool_dir(job_id) / "status.json"
    deadline = time.time() + 30
    status = None
    while time.time() < deadline:
        status = read_json(str(status_path))
        rec = ctl.ledger.get(job_id)
        if status or rec is None or rec.state.is_terminal:
            break
        time.sleep(0.2)
    if not status:
        raise SlurmError(f"Job {job_id} has no output to attach to yet", 1)
    paths = [p for p in dict.fromkeys([status.get("stdout"), status.get("stderr")])
             if p and p != "/dev/null"]
    offsets = {p: 0 for p in paths}
    prefix = b"0: " if label else b""
    partial = {p: b"" for p in paths}
    try:
        while True:
            for p in paths:
                offsets[p], partial[p] = _pump(p, offsets[p], partial[p], prefix)
            rec = ctl.ledger.get(job_id)
            if rec is None or rec.state.is_terminal:
                for p in paths:
                    offsets[p], partial[p] = _pump(p, offsets[p], partial[p], prefix)
                    if partial[p]:
                        sys.stdout.buffer.write(prefix + partial[p])
                sys.stdout.flush()
                return 0
            time.sleep(0.2)
    except KeyboardInterrupt:
        return 0


def _pump(path: str, offset: int, partial: bytes, prefix: bytes) -> tuple[int, bytes]:
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            data = fh.read()
    except OSError:
        return offset, partial
    if not data:
        return offset, partial
    buf = partial + data
    lines = buf.split(b"\n")
    for line in lines[:-1]:
        sys.stdout.buffer.write(prefix + line + b"\n")
    sys.stdout.flush()
    return offset + len(data), lines[-1]


def main(argv: list[str] | None = None) -> None:
    run_main(PROG, run, argv)


if __name__ == "__main__":
    main()
