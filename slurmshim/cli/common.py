"""What every Slurm command's entry point shares: Slurm-style error printing and exit codes,
no tracebacks (unless SLURMSHIM_DEBUG=1), quiet exit on a closed pipe or Ctrl-C."""
from __future__ import annotations

import gc
import os
import sys
from typing import Callable

from ..errors import SlurmError


def error_exit_code(default: int = 1) -> int:
    """Slurm's clients exit with SLURM_EXIT_ERROR when it is set, else 1."""
    try:
        return int(os.environ["SLURM_EXIT_ERROR"])
    except (KeyError, ValueError):
        return default


def run_main(prog: str, run: Callable[[list[str]], int], argv: list[str] | None = None) -> None:
    """Call run(argv) and turn every outcome into an exit status."""
    args = sys.argv[1:] if argv is None else list(argv)
    # A command builds tens of thousands of small objects that never form cycles (ledger
    # records, squeue rows).  At CPython's default threshold (a collection every 700 new
    # objects) the cyclic collector rescanned them some 70 times in a 10,000-job squeue, about
    # 20 ms of its run; collecting every 100,000 keeps that rare while long-running modes
    # (squeue -i, sbatch --wait, srun) still collect.
    thresholds = gc.get_threshold()
    gc.set_threshold(100_000, *thresholds[1:])
    try:
        code = run(args)
        sys.stdout.flush()
    except SlurmError as exc:
        sys.stdout.flush()
        sys.stderr.write(exc.render(prog))
        code = exc.exit_code if exc.exit_code != 1 else error_exit_code()
    except KeyboardInterrupt:
        code = 130
    except BrokenPipeError:
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        code = 0
    except Exception as exc:  # never a traceback for the user
        if os.environ.get("SLURMSHIM_DEBUG"):
            raise
        first = (str(exc).splitlines() or [""])[0]
        sys.stderr.write(f"{prog}: error: internal error: {type(exc).__name__}: {first}\n")
        code = error_exit_code()
    gc.set_threshold(*thresholds)
    if argv is None:
        # A console script: the process ends here.  CPython's final collection would walk every
        # object the command made, and free what cycles hold (a listing's records), only for
        # the OS to take the memory back: ~40 M instructions of a 10,000-job squeue.  Frozen
        # objects are left out of it.  (Nothing that needs finalizing is held only by a cycle:
        # files are closed by `with`, output is flushed above.)
        gc.freeze()
    sys.exit(code)
