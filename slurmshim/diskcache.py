"""Small per-user caches of values that are costly to recompute on every command (a decoded
configuration file, the installed plugin entry points), kept with marshal under
$XDG_CACHE_HOME/slurmshim (default ~/.cache/slurmshim).

Each entry is stored with an *identity*, a tuple that changes whenever the value could (a
file's inode, size and times, say); `read` returns the value only while the caller's current
identity equals the stored one.  Any trouble (unwritable home, a corrupt or foreign file, a value
marshal cannot hold) means no cache, never an error.  Stdlib only, and cheap to import.

Names that vary (one configuration file per path, one entry-point list per interpreter and
sys.path) form a *family* (a name prefix, `config-`): a write given its family keeps at most
`KEEP` of its entries, removing the least recently written ones.  This costs a directory
listing, so it happens only on a write -- a cache miss -- never when an entry is read, and
losing a race with another process removing the same files is no error.
"""
from __future__ import annotations

import marshal
import os
import time
from typing import Any

MISS = object()
KEEP = 64            # entries of one family kept on disk
STALE_TMP = 3600.0   # seconds after which a writer's leftover temporary file is removed


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


def write(name: str, ident: tuple, value: Any, env: dict[str, str] | None = None, *,
          family: str | None = None, keep: int = KEEP) -> None:
    """Store `value` under `name` with identity `ident` (atomically: readers see the old entry
    or the new one).  With `family`, then `prune(family, keep)`, sparing `name`."""
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
        return
    if family is not None:
        prune(family, keep, env, spare=name)


def prune(family: str, keep: int = KEEP, env: dict[str, str] | None = None,
          spare: str | None = None) -> int:
    """Remove the least recently modified `<family>*.marshal` entries beyond `keep` (never
    `spare`, the entry just written), and temporary files of the family that a writer left
    behind more than STALE_TMP seconds ago.  Returns how many files went; never raises."""
    directory = os.path.dirname(path_for(family, env))
    entries: list[tuple[int, str]] = []
    doomed: list[str] = []
    spared = 0
    stale_before = (time.time() - STALE_TMP) * 1e9
    try:
        with os.scandir(directory) as it:
            for de in it:
                name = de.name
                if not name.startswith(family):
                    continue
                try:
                    mtime = de.stat(follow_symlinks=False).st_mtime_ns
                except OSError:          # removed meanwhile
                    continue
                if name.endswith(".marshal"):
                    if name == spare:
                        spared = 1
                    else:
                        entries.append((mtime, name))
                elif name.endswith(".tmp") and mtime < stale_before:
                    doomed.append(name)
    except OSError:
        return 0
    surplus = len(entries) + spared - max(keep, 1)
    if surplus > 0:
        entries.sort()                   # oldest first (ties: by name, any order will do)
        doomed.extend(name for _, name in entries[:surplus])
    removed = 0
    for name in doomed:
        try:
            os.unlink(os.path.join(directory, name))
            removed += 1
        except OSError:                  # gone already (another process), or not removable
            pass
    return removed
