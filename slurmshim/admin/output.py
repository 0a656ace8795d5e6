"""How `slurmshim` reports print: tabulate tables for people, JSON for programs."""
from __future__ import annotations

import json
import sys
from typing import Any, Iterable, Sequence, TextIO

OK, WARN, FAIL, SKIP = "OK", "WARN", "FAIL", "SKIP"


def table(rows: Iterable[Sequence[Any]], headers: Sequence[str], *, fmt: str = "simple") -> str:
    """A human table (tabulate); an empty string for no rows."""
    rows = [list(r) for r in rows]
    if not rows:
        return ""
    from tabulate import tabulate
    return tabulate(rows, headers=list(headers), tablefmt=fmt, disable_numparse=True)


def dump_json(data: Any, out: TextIO | None = None) -> None:
    out = out or sys.stdout
    out.write(json.dumps(data, indent=2, sort_keys=False, default=_default) + "\n")


def _default(obj: Any) -> Any:
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    return str(obj)


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"
