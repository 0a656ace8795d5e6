"""The decoded configuration file, cached: every command reads the TOML configuration, and
importing tomllib (it compiles its regular expressions at import) and decoding cost about 10 ms
of a ~100 ms command.  The decoded document is kept (diskcache, as
config-<crc32 of the path>.marshal) and used while the file's identity (device, inode, size,
modification and change times, in ns) is unchanged.

A file modified less than `SETTLE_SECONDS` ago is decoded but not cached: a file system's
clock can be coarse, and an edit in the same tick with the same size would otherwise go unseen
(git's "racy" index entries, the same problem).  Every configuration path ever loaded has an
entry of its own (a test suite makes hundreds): the `config-` family keeps the most recently
written `diskcache.KEEP`, pruned when a new entry is written.  Stdlib only.
"""
from __future__ import annotations

import os
import time
import zlib
from typing import Any

from . import diskcache

SETTLE_SECONDS = 2.0
_FORMAT = 1          # bump when what the cache holds changes
FAMILY = "config-"


def cache_name(path: str) -> str:
    # crc32, not hashlib (whose import alone costs more than the cache saves); two paths with
    # one name only take turns in the cache: the identity check tells their documents apart
    name = os.path.abspath(path).encode("utf-8", "surrogateescape")
    return f"{FAMILY}{zlib.crc32(name):08x}.marshal"


def cache_path(path: str, env: dict[str, str] | None = None) -> str:
    return diskcache.path_for(cache_name(path), env)


def load(path: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """The TOML document at `path`.  Raises OSError (reading it) and tomllib.TOMLDecodeError
    as decoding it directly would."""
    with open(path, "rb") as fh:
        st = os.fstat(fh.fileno())
        ident = (_FORMAT, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        name = cache_name(path)
        doc = diskcache.read(name, ident, env)
        if isinstance(doc, dict):
            return doc
        data = fh.read()
    doc = decode(data)
    if time.time() - st.st_mtime_ns / 1e9 >= SETTLE_SECONDS:
        diskcache.write(name, ident, doc, env, family=FAMILY)
    return doc


def _tomllib():
    try:
        import tomllib  # type: ignore[import-not-found]
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    return tomllib


def decode(data: bytes) -> dict[str, Any]:
    return _tomllib().loads(data.decode("utf-8"))


def decode_error() -> type[Exception]:
    """tomllib's TOMLDecodeError (imported only when a caller has an error to catch)."""
    return _tomllib().TOMLDecodeError
