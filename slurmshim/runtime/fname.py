"""Expansion of --output/--error/--input filename patterns, as slurmstepd does it
(expand_stdio_fields): `%%`, `%A`, `%a`, `%b`, `%J`, `%j`, `%N`, `%n`, `%r`, `%s`, `%t`, `%u`,
`%x`, zero padding such as `%4j` (at most 10), and a backslash anywhere turning expansion off
(the backslashes are dropped).  Unknown letters are kept with their `%`.  Relative paths are made
absolute against the working directory (not for srun, whose paths stay relative to its cwd).
`%S` (SLUID) is not supported and stays as written.  Pure, standard library only."""
from __future__ import annotations

from typing import Optional

NO_VAL = 4294967294

_WILD = set("AabJjNnrstux")


def expand_pattern(pattern: str, job_id: int, array_job_id: Optional[int] = None,
                   array_task_id: Optional[int] = None, step_id: Optional[int] = None,
                   node_name: str = "", node_id: int = 0, task_id: int = 0, user: str = "",
                   job_name: str = "", restart_count: int = 0, work_dir: Optional[str] = None,
                   is_srun: bool = False) -> str:
    """step_id None means the batch step (`%s` -> "batch", `%J` -> the job id alone)."""
    out = []
    if work_dir and not is_srun and not pattern.startswith("/"):
        out.append(work_dir if work_dir.endswith("/") else work_dir + "/")
    if "\\" in pattern:
        out.append(pattern.replace("\\", ""))
        return "".join(out)
    task = NO_VAL if array_task_id is None else array_task_id
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch != "%":
            out.append(ch)
            i += 1
            continue
        i += 1
        if i >= n:
            break  # a trailing "%" is dropped, as Slurm's parser does
        if pattern[i] == "%":
            out.append("%")
            i += 1
            continue
        j = i
        while j < n and pattern[j].isdigit():
            j += 1
        digits = pattern[i:j]
        pad = min(int(digits), 10) if digits else 0
        if pad > 9:
            pad = 10
        letter = pattern[j] if j < n else ""
        if letter not in _WILD:
            out.append("%" + digits + letter)
            i = j + 1
            continue
        if letter == "A":
            out.append("%0*d" % (pad, array_job_id if array_job_id else job_id))
        elif letter == "a":
            out.append("%0*d" % (pad, task))
        elif letter == "b":
            out.append("%0*d" % (pad, task % 10))
        elif letter in "Jj":
            out.append("%0*d" % (pad, job_id))
            if letter == "J" and step_id is not None:
                out.append(".%d" % step_id)
        elif letter == "N":
            out.append(node_name)
        elif letter == "n":
            out.append("%0*d" % (pad, node_id))
        elif letter == "r":
            out.append("%0*d" % (pad, restart_count))
        elif letter == "s":
            out.append("batch" if step_id is None else "%0*d" % (pad, step_id))
        elif letter == "t":
            out.append("%0*d" % (pad, task_id))
        elif letter == "u":
            out.append(user)
        elif letter == "x":
            out.append(job_name)
        i = j + 1
    return "".join(out)


def default_output(is_array: bool) -> str:
    return "slurm-%A_%a.out" if is_array else "slurm-%j.out"
