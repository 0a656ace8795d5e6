"""Output/input/error file name patterns (`-o slurm-%A_%a.out`, `-e %x-%j.err`).

Ported from `expand_stdio_fields` (src/common/print_fields.c), which slurmstepd uses to open
the files and slurmctld/scontrol use to show `StdOut=`: `%%`, `%A`, `%a`, `%b`, `%J`, `%j`,
`%N`, `%n`, `%r`, `%S`, `%s`, `%t`, `%u`, `%x`, zero padding `%4j` (at most 10), unknown
`%q` kept as is, and any backslash turning expansion off.  Pure, stdlib-only.
"""
from __future__ import annotations

__all__ = ["NO_VAL", "expand_pattern", "default_output_pattern"]

NO_VAL = 0xFFFFFFFE  # what %a prints for a job that is not an array task (4294967294)

_NUMERIC = frozenset("AabJjnrst")
_WILDCARDS = frozenset("AabJjNnrSstux")
_SRUN_PER_TASK = frozenset("Nntu")  # srun leaves these for per-task expansion


def expand_pattern(pattern: str, *, job_id: int, array_job_id: int | None = None,
                   array_task_id: int | None = None, step_id: str | None = None,
                   node_name: str = "", node_id: int = 0, task_id: int | None = None,
                   user: str = "", job_name: str = "", restart_count: int = 0,
                   sluid: str = "", work_dir: str | None = None,
                   is_srun: bool = False) -> str:
    """Expand a Slurm file name pattern.

    %% a literal %; %A the array master id (the job id when not an array); %a the task id
    (4294967294, Slurm's NO_VAL, when not an array, which is what scontrol shows in
    `StdOut=` for an array's pending meta record); %b the task id modulo 10; %j the job id;
    %J the job id plus `.step` (just the job id for the batch step); %s the step id (`batch`
    for the batch step, which is what step_id=None means); %N the node name; %n the node
    index; %t the task rank (0 when None); %u the user; %x the job name; %r the restart
    count; %S the SLUID.  `%Nc` zero-pads numeric fields to N digits (N above 9 means 10) and
    is ignored for text fields.  Any other `%c` is kept as `%c`; a lone trailing `%` is
    dropped.  A pattern containing a backslash is not expanded at all: its backslashes are
    removed and the rest is kept verbatim.  is_srun=True leaves %N %n %t %u alone, as srun
    does.  With work_dir, a relative result is placed under it (as slurmstepd does)."""
    out: list[str] = []
    if work_dir and not pattern.startswith("/") and not is_srun:
        out.append(work_dir if work_dir.endswith("/") else work_dir + "/")
    if "\\" in pattern:
        out.append(pattern.replace("\\", ""))
        return "".join(out)

    batch = step_id is None or step_id == "batch"
    task = NO_VAL if array_task_id is None else array_task_id
    values = {
        "A": array_job_id if array_job_id else job_id,
        "a": task,
        "b": task % 10,
        "j": job_id,
        "J": job_id,
        "n": node_id,
        "r": restart_count,
        "t": task_id or 0,
    }
    n = len(pattern)
    i = 0
    while i < n:
        c = pattern[i]
        if c != "%":
            out.append(c)
            i += 1
            continue
        i += 1
        if i >= n:
            break  # a trailing '%' is dropped
        c = pattern[i]
        if c == "%":
            out.append("%")
            i += 1
            continue
        pad = 0
        if "0" <= c <= "9":
            j = i
            while j < n and "0" <= pattern[j] <= "9":
                j += 1
            pad = min(int(pattern[i:j]), 10)
            digits = pattern[i:j]
            c = pattern[j] if j < n else ""
            if c not in _WILDCARDS or (is_srun and c in _SRUN_PER_TASK):
                out.append("%" + digits + c)
                i = j + 1
                continue
            i = j
        if c not in _WILDCARDS or (is_srun and c in _SRUN_PER_TASK):
            out.append("%" + c)
            i += 1
            continue
        if c == "s":
            out.append("batch" if batch else (f"{int(step_id):0{pad}d}"
                                              if step_id.isdigit() else step_id))
        elif c in _NUMERIC:
            out.append(f"{values[c]:0{pad}d}")
            if c == "J" and not batch:
                out.append(f".{step_id}")
        elif c == "N":
            out.append(node_name)
        elif c == "u":
            out.append(user)
        elif c == "x":
            out.append(job_name)
        elif c == "S":
            out.append(sluid)
        i += 1
    return "".join(out)


def default_output_pattern(is_array: bool) -> str:
    """sbatch's default `--output`: `slurm-%j.out`, or `slurm-%A_%a.out` for an array."""
    return "slurm-%A_%a.out" if is_array else "slurm-%j.out"
