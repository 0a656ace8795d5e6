"""Job array index expressions: `--array=0-15`, `1,3,5`, `1-7:2`, `0-15%4`, `0,6,16-32:4%2`,
and the way Slurm prints a set of task indices (`1080_[5-1024]`, `11_[1,3,5,7]`).

Parsing follows `slurm_parse_array_tok` (src/common/slurm_protocol_defs.c) as slurmctld applies
it (`_valid_array_inx`, job_mgr.c) plus the `%N` throttle (`max_run_tasks`).  Printing follows
`xlate_array_task_str` (same file): ranges and commas, a `first-last:step` form for long regular
strides, and truncation with `...` at SLURM_BITSTR_LEN (64) characters.  Pure, stdlib-only.
"""
from __future__ import annotations

import operator
import re
from itertools import repeat
from typing import Iterable, Sequence

from ..model import ArraySpec

__all__ = ["ARRAY_ERROR", "parse_array", "format_indices"]

ARRAY_ERROR = "Invalid job array specification"  # ESLURM_INVALID_ARRAY

# one comma-separated token: N | N-M | N-M:S, each number optionally followed by "]" and the
# token optionally opened by "[" (Slurm strips both, so "[1-5]" is accepted)
_TOKEN = re.compile(r"\[?(\d+)\]?(?:-(\d+)\]?(?::(\d+)\]?)?)?")
_THROTTLE = re.compile(r"%(\d+)\Z")


def parse_array(text: str, max_array_size: int = 1001) -> ArraySpec:
    """Parse an `--array` value into the sorted unique indices and the `%N` throttle.

    Every index must lie in 0..max_array_size-1, a range must not run backwards, a step must
    be 1..max_array_size-1.  `%0` is accepted and means no throttle (Slurm ignores a zero
    max_run_tasks).  Empty tokens (`1,,2`) are skipped, as strtok does.  Anything else raises
    ValueError("Invalid job array specification").  Stricter than Slurm in two corners that are
    surely typos: `%` must be last and followed by digits only, and numbers take no sign."""
    if max_array_size <= 0:
        raise ValueError(ARRAY_ERROR)  # "Job arrays disabled, MaxArraySize=0"
    body = text
    throttle: int | None = None
    if "%" in text:
        m = _THROTTLE.search(text)
        if m is None or text.count("%") != 1:
            raise ValueError(ARRAY_ERROR)
        body = text[:m.start()]
        throttle = int(m.group(1)) or None
    indices: set[int] = set()
    for tok in body.split(","):
        if not tok:
            continue
        m = _TOKEN.fullmatch(tok)
        if m is None:
            raise ValueError(ARRAY_ERROR)
        first = int(m.group(1))
        last = int(m.group(2)) if m.group(2) is not None else first
        step = int(m.group(3)) if m.group(3) is not None else 1
        if step <= 0 or step >= max_array_size or last < first or last >= max_array_size:
            raise ValueError(ARRAY_ERROR)
        if step == 1 and first == last:
            indices.add(first)
        else:
            indices.update(range(first, last + 1, step))
    if not indices:
        raise ValueError(ARRAY_ERROR)
    return ArraySpec(indices=tuple(sorted(indices)), throttle=throttle, text=text)


def _ranges(idx: Sequence[int], limit: int | None) -> str:
    """Runs of consecutive ints as `a`, `a-b` joined by commas (bit_fmt); idx sorted and
    unique.  Stops once the text reaches `limit` characters (the rest would be cut anyway)."""
    out: list[str] = []
    append = out.append
    size = -1  # running length including commas
    it = iter(idx)
    start = prev = next(it)
    for i in it:
        if i == prev + 1:
            prev = i
            continue
        piece = str(start) if start == prev else f"{start}-{prev}"
        append(piece)
        size += len(piece) + 1
        if limit is not None and size >= limit:
            return ",".join(out)
        start = prev = i
    append(str(start) if start == prev else f"{start}-{prev}")
    return ",".join(out)


def format_indices(indices: Iterable[int], *, max_len: int | None = 64) -> str:
    """Slurm's display of a set of array indices (squeue `%i`, sacct JobID, scontrol
    `ArrayTaskId=`), without brackets or throttle:

    * consecutive runs collapse: `1-10`, `3-4`, single `4`, `1,3,5,7`;
    * a regular stride is shown as `first-last:step`, but only when it spans more than 10
      and has more than 5 members and the second index is not first+1 (so `1,3,5,7` stays
      expanded while `0,2,...,30` prints `0-30:2`);
    * the list is cut at max_len-1 characters with the last three replaced by `...` when
      longer than max_len-3 (SLURM_BITSTR_LEN, default 64; None = never cut).

    Input need not be sorted (any iterable of ints will do); duplicates are ignored.  Empty
    input gives ''."""
    idx: Sequence[int] = indices if isinstance(indices, (tuple, list, range)) \
        else sorted(set(indices))
    if not idx:
        return ""
    # a sorted-unique check (C speed) is cheaper than sorting; ledger tuples are sorted already
    if not all(map(operator.lt, idx, idx[1:])):
        idx = sorted(set(idx))
    first, last, count = idx[0], idx[-1], len(idx)
    if last - first + 1 == count:  # one dense run: by far the common case
        return str(first) if count == 1 else f"{first}-{last}"
    if last - first > 10 and count > 5 and idx[1] != first + 1:
        step = idx[1] - first
        if all(map(operator.eq, map(operator.sub, idx[1:], idx), repeat(step))):
            return f"{first}-{last}:{step}"
    limited = max_len is not None and max_len > 0
    text = _ranges(idx, max_len if limited else None)
    if limited and len(text) > max_len - 3:
        text = text[:max_len - 4] + "..."
    return text
