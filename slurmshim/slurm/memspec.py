"""Memory sizes as Slurm reads (`--mem`, `--mem-per-cpu`, `--mem-per-gpu`, `--tmp`) and prints
them (scontrol `MinMemoryNode=`, `ReqTRES=mem=`, squeue `%m`).

Ported from `str_to_mbytes` (src/common/proc_args.c) and `convert_num_unit2` with
CONVERT_NUM_UNIT_EXACT (src/common/slurm_protocol_api.c).  Units are MiB throughout (Slurm's
"MB").  Pure and stdlib-only.
"""
from __future__ import annotations

__all__ = ["parse_mem", "format_mem"]

_SPACE = " \t\n\v\f\r"
_LLONG_MAX = 2**63 - 1
# suffix (lower case) -> MiB multiplier; "k" is special (divide, rounding up)
_MULT = {"m": 1, "g": 1024, "t": 1024 * 1024}


def parse_mem(text: str) -> int:
    """`str_to_mbytes`: an integer with an optional unit K, M, G or T (any case, optionally
    followed by B/b: `4GB`, `512mb`), default MiB.  K rounds up to whole MiB (`1K` -> 1).
    `0` is allowed (for `--mem` it means "all the node's memory").  Fractions (`1.5G`), other
    suffixes, spaces after the number and negative values raise ValueError (the caller prints
    `Invalid --mem specification`)."""
    s = text.lstrip(_SPACE)  # strtoll skips leading white space
    i = 0
    if s[:1] in ("+", "-"):
        i = 1
    j = i
    while j < len(s) and "0" <= s[j] <= "9":
        j += 1
    if j == i:
        raise ValueError(f"Invalid memory specification: {text!r}")
    value = int(s[:j])
    if value > _LLONG_MAX:
        raise ValueError(f"Invalid memory specification: {text!r}")
    if value < 0:
        raise ValueError(f"Invalid memory specification: {text!r}")
    suffix = s[j:]
    if not suffix:
        return value
    unit = suffix[0].lower()
    if len(suffix) > 2 or (len(suffix) == 2 and suffix[1] not in "Bb"):
        raise ValueError(f"Invalid memory specification: {text!r}")
    if unit == "k":
        return -(-value // 1024)
    mult = _MULT.get(unit)
    if mult is None:
        raise ValueError(f"Invalid memory specification: {text!r}")
    return value * mult


_UNITS = "\0KMGTP?"  # UNIT_NONE .. UNIT_PETA, UNIT_UNKNOWN
_UNIT_MEGA = 2
_UNIT_PETA = 5


def format_mem(mib: float, *, convert: bool = True) -> str:
    """Memory the way scontrol/squeue print it (`convert_num_unit`, EXACT mode): the largest
    unit that keeps the value exact, where halves still count as exact: 1024 -> `1G`,
    1536 -> `1.50G`, 8000 -> `8000M`, 1048576 -> `1T`, 0 -> `0`.  With convert=False (squeue
    --noconvert) the value stays in MiB: `1024M`."""
    num = float(mib)
    if int(num) == 0:
        return "0"
    unit = _UNIT_MEGA
    if convert:
        while num >= 1024 and int(num) % 512 == 0:
            num /= 1024
            unit += 1
    if unit > _UNIT_PETA:
        unit = len(_UNITS) - 1
    i = int(num)
    suffix = _UNITS[unit] if unit else ""
    if i == num:
        return f"{i}{suffix}"
    return f"{num:.2f}{suffix}"
