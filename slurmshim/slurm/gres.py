"""Generic resources: `--gres=gpu:a100:4,...` and the GPU options `-G/--gpus`,
`--gpus-per-node`, `--gpus-per-task`, plus the TRES strings Slurm shows for them
(`TresPerNode=gres/gpu:2`, squeue `%b`).

Parsing follows `slurm_get_next_tres` (src/common/slurm_protocol_defs.c) as applied to the
client strings built in slurm_opt.c (`gres_prepend_tres_type`, `xfmt_tres`).  The set of GRES
names a cluster knows (GresTypes) is configuration, so any well-formed name is accepted here;
the controller decides whether a partition can supply it.  Pure, stdlib-only.
"""
from __future__ import annotations

import re
from typing import Iterable

from ..model import GresRequest

__all__ = [
    "parse_gres",
    "parse_gpu_count",
    "parse_count",
    "format_gres_item",
    "format_gres",
    "format_tres_per_node",
    "format_tres_gpu",
]

# Count suffixes accepted by Slurm's suffix_mult() for TRES counts
_SUFFIX = {
    "": 1, "k": 1024, "kib": 1024, "kb": 1000, "m": 1024**2, "mib": 1024**2, "mb": 1000**2,
    "g": 1024**3, "gib": 1024**3, "gb": 1000**3, "t": 1024**4, "tib": 1024**4, "tb": 1000**4,
    "p": 1024**5, "pib": 1024**5, "pb": 1000**5,
}
_NUMBER = re.compile(r"(\d+)([A-Za-z]*)\Z")
_NAME = re.compile(r"[A-Za-z0-9_.\-]+\Z")
# a "type" that is really a mistyped count (`gpu:2.5`, `--gpus=-1`); MIG types such as
# `3g.20gb` still pass
_NOT_A_TYPE = re.compile(r"[+-].*|\d*\.?\d+\Z")


def parse_count(text: str) -> int | None:
    """A TRES count (`_is_valid_number`): digits with an optional k/m/g/t/p suffix (binary)
    or kb/mb/... (decimal); None when text is not a number."""
    m = _NUMBER.match(text)
    if m is None:
        return None
    mult = _SUFFIX.get(m.group(2).lower())
    if mult is None:
        return None
    return int(m.group(1)) * mult


def _parse_item(item: str, whole: str) -> GresRequest | None:
    """One `name[:type][:count]` / `name=count` item; None for a zero count (dropped)."""
    bad = ValueError(f"Invalid generic resource (gres) specification: {whole}")
    if item.startswith("gres/"):
        item = item[5:]
    name = item
    gtype: str | None = None
    count = 1
    cut = name.rfind("=")  # '=' wins over ':' (strrchr order in Slurm)
    if cut < 0:
        cut = name.rfind(":")
    if cut >= 0:
        equals = name[cut] == "="
        tail = name[cut + 1:]
        name = name[:cut]
        if not tail:
            raise bad  # "gpu:"
        n = parse_count(tail)
        if n is None:
            if equals:
                raise bad
            gtype = tail  # a type with an implicit count of 1
        else:
            count = n
    elif parse_count(name) is not None:
        raise bad  # a bare number: no name
    if ":" in name:
        name, _, t = name.partition(":")
        if gtype is not None:
            raise bad  # "gpu:a:b": the last part should have been a count
        gtype = t
    if not name or not _NAME.match(name):
        raise bad
    if gtype is not None and (not _NAME.match(gtype) or _NOT_A_TYPE.match(gtype)):
        raise bad
    if count == 0:
        return None
    return GresRequest(name=name, type=gtype, count=count)


def parse_gres(text: str) -> tuple[GresRequest, ...]:
    """`--gres`: comma-separated `name[[:type]:count]` items (`gpu`, `gpu:2`, `gpu:a100`,
    `gpu:a100:4`, `gres/gpu:2`, `shard=4`), count defaulting to 1 and taking k/m/g
    suffixes.  Zero counts (`gpu:0`) are dropped and `none` (any case) means no GRES at all,
    as in Slurm.  The same name and type twice is summed into one request (slurmctld keeps one
    record per name/type).  ValueError on malformed items (`gpu:`, `gpu:a:b`, `gpu=x`, `2`)."""
    if text.strip().lower() == "none":
        return ()
    merged: dict[tuple[str, str | None], int] = {}
    for item in text.split(","):
        if not item:
            continue  # "Nothing but a comma"
        req = _parse_item(item, text)
        if req is None:
            continue
        key = (req.name, req.type)
        merged[key] = merged.get(key, 0) + req.count
    return tuple(GresRequest(name=n, type=t, count=c) for (n, t), c in merged.items())


def parse_gpu_count(text: str) -> tuple[str | None, int]:
    """`-G/--gpus`, `--gpus-per-node`, `--gpus-per-task`, `--gpus-per-socket`:
    `[type:]count` (`2`, `a100:2`; a bare type `a100` means 1), as the man page gives it.
    Slurm builds `gres/gpu:<value>` from it, so `gpu:a100:2` would become the type
    `gpu:a100` and is refused here.  Only one type is supported (a comma list of several
    types cannot be represented by the job model): ValueError for lists and bad input."""
    bad = ValueError(f"Invalid GPU specification: {text}")
    if not text or "," in text:
        raise bad
    req = _parse_item("gpu:" + text, text)
    if req is None:
        return (_type_of(text), 0)
    return (req.type, req.count)


def _type_of(text: str) -> str | None:
    return text.rpartition(":")[0] or None


def format_gres_item(name: str, gtype: str | None, count: int) -> str:
    """`gres/<name>[:<type>]:<count>`, the TRES form scontrol and squeue show."""
    if gtype:
        return f"gres/{name}:{gtype}:{count}"
    return f"gres/{name}:{count}"


def format_gres(requests: Iterable[GresRequest]) -> str:
    """`--gres` requests as a TRES list: `gres/gpu:a100:4,gres/shard:2` ('' if none)."""
    return ",".join(format_gres_item(g.name, g.type, g.count) for g in requests)


def format_tres_gpu(gtype: str | None, count: int | None) -> str:
    """One of the `--gpus*` options as Slurm stores it (`xfmt_tres`): `gres/gpu[:type]:N`,
    '' when not given.  TresPerJob (-G), TresPerNode (--gpus-per-node), TresPerTask, ..."""
    if not count:
        return ""
    return format_gres_item("gpu", gtype, count)


def format_tres_per_node(gres: Iterable[GresRequest] = (), gpus_per_node: int | None = None,
                         gpu_type: str | None = None) -> str:
    """scontrol `TresPerNode=` / squeue `%b` (tres_per_node): `--gpus-per-node` first, then
    the `--gres` items, comma-joined the way slurm_opt.c builds the string ('' if none)."""
    parts = []
    gpn = format_tres_gpu(gpu_type, gpus_per_node)
    if gpn:
        parts.append(gpn)
    g = format_gres(gres)
    if g:
        parts.append(g)
    return ",".join(parts)
