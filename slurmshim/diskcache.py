"""Small per-user caches of values that are costly to recompute on every command (a decoded
configuration file, the installed plugin entry points), kept with marshal under
$XDG_CACHE_HOME/slurmshim (default ~/.cache/slurmshim).

Each entry is stored with an *identity*, a tuple that changes whenever the value could (a
file's inode, size and times, say); `read` returns the value only while the caller's current
identity equals the stored one.  Any trouble (unwritable home, a corrupt or foreign file, a value
marshal cannot hold) means no cache, never an error.  Stdlib only, and cheap to import.
"""
from __future__ import annotations

import marshal
import os
from typing import Any

MISS = object()


def path_for(name: str, env: dict[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    base = env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "slurmshim", name)


def read(name: str, ident: tuple, env: dict[str, str] | None = None) -> Any:
    """The value stored under `name` with identity `ident`, else MISS."""
    try:
        with open(path_for(name, env), "rb") as fh:
            stored = marshal.load(fh)
    except (OSError, EOFError, ValueError, TypeError):
        return MISS
    if isinstance(stored, tuple) and len(stored) == 2 and stored[0] == ident:
        return stored[1]
    return MISS


def write(name: str, ident: tuple, value: Any, env: dict[str, str] | None = None) -> None:
    try:
        blob = marshal.dumps((ident, value))
    except ValueError:               # e.g. dates: not marshallable, not cached
        return
    path = path_for(name, env)
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(tmp, "wb") as fh:
            fh.write(blob)
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass
