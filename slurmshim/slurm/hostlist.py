"""Slurm host lists: `node[01-03,7],gpu7` <-> individual names.

Ported from src/common/hostlist.c (one-dimensional clusters): `_hostlist_create_bracketed`
for expansion (several brackets, suffixes after a bracket, zero padding taken from the low
bound) and the range bookkeeping behind `hostlist_ranged_string` for compression, which keeps
the order names were pushed in (`node01,node02,gpu7,node10` -> `node[01-02],gpu7,node10`)
unless sorted like `hostlistsorted`/`hostlist_sort`.  Pure, stdlib-only.
"""
from __future__ import annotations

import re
from typing import Iterable

__all__ = ["MAX_RANGE", "expand", "compress", "ranged", "split_hostname"]

MAX_RANGE = 65536  # MAX_SLURM_NODES: most hosts one bracket range may name
MAX_PREFIX_CNT = 64 * 1024
_SEPS = "\t, \n"
_RANGE = re.compile(r"(\d+)(?:-(\d+))?\Z")
_TRAILING_DIGITS = re.compile(r"\d+\Z")


def _tokens(text: str) -> list[str]:
    """Split on separators that are not inside brackets (`_next_tok`)."""
    out: list[str] = []
    depth = 0
    start = None
    for k, c in enumerate(text):
        if c in _SEPS and depth == 0:
            if start is not None:
                out.append(text[start:k])
                start = None
            continue
        if start is None:
            start = k
        if c == "[":
            depth += 1
        elif c == "]" and depth:
            depth -= 1
    if start is not None:
        out.append(text[start:])
    return out


def _ranges(spec: str, whole: str) -> list[tuple[int, int, int]]:
    """`1-3,05,7` -> [(lo, hi, width)]; width = digits in the low bound (`_parse_single_range`)."""
    out = []
    for part in spec.split(","):
        m = _RANGE.match(part)
        if m is None:
            raise ValueError(f"Invalid hostlist: {whole}")
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) is not None else lo
        if hi < lo:
            raise ValueError(f"Invalid hostlist: {whole}")
        if hi - lo + 1 > MAX_RANGE:
            raise ValueError(f"Too many hosts in range: {whole}")
        out.append((lo, hi, len(m.group(1))))
    return out


def _expand_prefix(prefix: str, whole: str) -> list[str]:
    """Expand brackets inside a prefix (`rack[1-2]-node`), right-most bracket first, as
    `_push_range_list` recurses; outer names vary slowest."""
    p = prefix.rfind("[")
    if p < 0:
        if "]" in prefix:
            raise ValueError(f"Invalid hostlist: {whole}")
        return [prefix]
    q = prefix.find("]", p)
    if q < 0:
        raise ValueError(f"Invalid hostlist: {whole}")
    head, spec, tail = prefix[:p], prefix[p + 1:q], prefix[q + 1:]
    ranges = _ranges(spec, whole)
    if sum(hi - lo + 1 for lo, hi, _ in ranges) > MAX_PREFIX_CNT:
        raise ValueError(f"Invalid hostlist: {whole}")
    out = []
    for h in _expand_prefix(head, whole):
        for lo, hi, width in ranges:
            out.extend(f"{h}{j:0{width}d}{tail}" for j in range(lo, hi + 1))
    return out


def expand(text: str) -> list[str]:
    """All host names of a host list, in order, duplicates kept: `node[1-3,5]`,
    `node[01-03]` (padding from the low bound), `gpu7,node[01-02]`, `rack[1-2]-node[1-2]`,
    `node[1-2]-ib`.  Separators are commas and white space outside brackets; '' gives [].
    ValueError for an unclosed `[`, a stray `]`, a bad or backwards range, or a range of
    more than 65536 hosts."""
    names: list[str] = []
    for tok in _tokens(text):
        p = tok.rfind("[")
        if p < 0:
            if "]" in tok:
                raise ValueError(f"Invalid hostlist: {text}")
            names.append(tok)
            continue
        q = tok.find("]", p)
        if q < 0:
            raise ValueError(f"Invalid hostlist: {text}")
        prefix, spec, suffix = tok[:p], tok[p + 1:q], tok[q + 1:]
        if "[" in suffix or "]" in suffix:
            raise ValueError(f"Invalid hostlist: {text}")
        ranges = _ranges(spec, text)
        for h in _expand_prefix(prefix, text):
            for lo, hi, width in ranges:
                names.extend(f"{h}{j:0{width}d}{suffix}" for j in range(lo, hi + 1))
    return names


def split_hostname(name: str) -> tuple[str, int | None, int]:
    """(prefix, number, width) of a host name: `node007` -> ('node', 7, 3); a name without a
    numeric suffix -> (name, None, 0)."""
    m = _TRAILING_DIGITS.search(name)
    if m is None:
        return name, None, 0
    digits = m.group()
    return name[:m.start()], int(digits), len(digits)


def _zero_padded(num: int, width: int) -> int:
    n = len(str(num))
    return width - n if width > n else 0


def _width_equiv(n: int, wn: int, m: int, wm: int) -> tuple[bool, int, int]:
    """`_width_equiv`: can numbers n (width wn) and m (width wm) share one zero-padding?
    Returns (ok, wn', wm') with the width adjusted as Slurm does."""
    if wn == wm:
        return True, wn, wm
    npad, nmpad = _zero_padded(n, wn), _zero_padded(n, wm)
    mpad, mnpad = _zero_padded(m, wm), _zero_padded(m, wn)
    if npad != nmpad and mpad != mnpad:
        return False, wn, wm
    if npad != nmpad:
        return True, wn, wn
    return True, wm, wm


class _Range:
    """A hostrange_t: prefix + [lo, hi] at a zero-pad width, or a single odd name."""

    __slots__ = ("prefix", "lo", "hi", "width", "single")

    def __init__(self, prefix: str, lo: int, hi: int, width: int, single: bool):
        self.prefix, self.lo, self.hi, self.width, self.single = prefix, lo, hi, width, single

    def numstr(self) -> str:
        w = self.width
        if self.lo < self.hi:
            return f"{self.lo:0{w}d}-{self.hi:0{w}d}"
        return f"{self.lo:0{w}d}"


def _push(ranges: list[_Range], name: str) -> None:
    """`hostlist_push_host`: extend the last range when the name continues it."""
    prefix, num, width = split_hostname(name)
    if num is None:
        ranges.append(_Range(name, 0, 0, 0, True))
        return
    if ranges:
        tail = ranges[-1]
        if (not tail.single and tail.hi == num - 1 and tail.prefix == prefix):
            ok, tw, nw = _width_equiv(tail.lo, tail.width, num, width)
            if ok:
                tail.width = tw
                tail.hi = num
                return
    ranges.append(_Range(prefix, num, num, width, False))


def _natkey(s: str) -> tuple:
    """Natural-order key (strnatcmp): digit runs compare as numbers."""
    return tuple((0, int(p), p) if p.isdigit() else (1, 0, p)
                 for p in re.findall(r"\d+|\D+", s))


def _sort_key(name: str) -> tuple:
    """`hostrange_cmp` order: natural prefix, odd names first, then width class and number."""
    prefix, num, width = split_hostname(name)
    if num is None:
        return (_natkey(name), 0, 0, 0)
    return (_natkey(prefix), 1, width, num)


def compress(names: Iterable[str], sort: bool = False) -> str:
    """Slurm's ranged host list string (`hostlist_ranged_string`): names with the same prefix
    and consecutive numbers fold into `prefix[lo-hi]`, neighbouring ranges of one prefix share
    a bracket, and order of appearance is kept (`node01,node02,node03,gpu7,gpu8,node10` ->
    `node[01-03],gpu[7-8],node10`).  sort=True orders first, like `scontrol show
    hostlistsorted` and sinfo.  Zero padding is respected (`node9,node10` -> `node[9-10]`,
    `node1,node01` -> `node[1,01]`).  Duplicates are kept, as Slurm keeps them."""
    seq = list(names)
    if sort:
        seq.sort(key=_sort_key)
    ranges: list[_Range] = []
    for name in seq:
        _push(ranges, name)
    out: list[str] = []
    i, n = 0, len(ranges)
    while i < n:
        r = ranges[i]
        if r.single:
            out.append(r.prefix)
            i += 1
            continue
        j = i + 1
        while j < n and not ranges[j].single and ranges[j].prefix == r.prefix:
            j += 1
        if j - i == 1 and r.lo == r.hi:
            out.append(f"{r.prefix}{r.numstr()}")
        else:
            out.append(f"{r.prefix}[{','.join(x.numstr() for x in ranges[i:j])}]")
        i = j
    return ",".join(out)


def ranged(text: str, sort: bool = False) -> str:
    """`scontrol show hostlist[sorted] TEXT`: compress(expand(TEXT))."""
    return compress(expand(text), sort=sort)
