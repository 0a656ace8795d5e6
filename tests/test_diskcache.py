"""Disk cache hygiene: a family of entries (one decoded configuration per path) stays bounded,
the least recently written entries going first and the one just written never; other files
are left alone; and removing files never fails a command, whoever removed them first.  The
cache lives under tmp_path (XDG_CACHE_HOME), never in the real ~/.cache."""
from __future__ import annotations

import os
import time

import pytest

from slurmshim import diskcache, tomlcache


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return {"XDG_CACHE_HOME": str(tmp_path / "cache")}


def _configs(tmp_path, count: int, start: int = 0) -> list[str]:
    """`count` configuration files, old enough to be cached (SETTLE_SECONDS)."""
    old = time.time() - 60
    paths = []
    for i in range(start, start + count):
        path = tmp_path / f"c{i}.toml"
        path.write_text(f'cluster_name = "c{i}"\n')
        os.utime(path, (old, old))
        paths.append(str(path))
    return paths


def _entries(env, family: str = "config-") -> set[str]:
    d = os.path.dirname(diskcache.path_for("x", env))
    return {n for n in os.listdir(d) if n.startswith(family) and n.endswith(".marshal")}


def test_configuration_entries_are_bounded_and_the_newest_kept(tmp_path, env, monkeypatch):
    paths = _configs(tmp_path, 70)
    for p in paths:
        assert tomlcache.load(p, env)["cluster_name"] == os.path.basename(p)[:-5]
    assert len(_entries(env)) == diskcache.KEEP == 64
    assert tomlcache.cache_name(paths[-1]) in _entries(env)

    def refuse(data):
        raise AssertionError("decoded again")
    monkeypatch.setattr(tomlcache, "decode", refuse)
    assert tomlcache.load(paths[-1], env) == {"cluster_name": "c69"}     # still a hit


def test_the_least_recently_written_entries_go_first(tmp_path, env):
    first = _configs(tmp_path, 64)
    for p in first:
        tomlcache.load(p, env)
    base = time.time() - 3600
    for i, p in enumerate(first):          # written in this order, a second apart
        os.utime(tomlcache.cache_path(p, env), (base + i, base + i))
    more = _configs(tmp_path, 6, start=64)
    for p in more:
        tomlcache.load(p, env)
    assert _entries(env) == {tomlcache.cache_name(p) for p in first[6:] + more}


def test_only_the_familys_entries_and_stale_temporary_files_go(tmp_path, env):
    d = os.path.dirname(diskcache.path_for("x", env))
    os.makedirs(d)
    others = ["entry-points-0000abcd.marshal", "unrelated.txt", "config-notes.txt"]
    for name in others:
        open(os.path.join(d, name), "w").close()
    stale = os.path.join(d, "config-00000001.marshal.123.tmp")   # a writer that died
    young = os.path.join(d, "config-00000002.marshal.456.tmp")   # a writer still writing
    for tmp in (stale, young):
        open(tmp, "w").close()
    hours_ago = time.time() - 2 * diskcache.STALE_TMP
    os.utime(stale, (hours_ago, hours_ago))
    for i in range(3):
        diskcache.write(f"config-{i:08x}.marshal", (i,), i, env, family="config-", keep=2)
    assert _entries(env) == {"config-00000001.marshal", "config-00000002.marshal"}
    assert not os.path.exists(stale) and os.path.exists(young)
    assert all(os.path.exists(os.path.join(d, name)) for name in others)


def test_losing_a_removal_race_is_no_error(tmp_path, env, monkeypatch):
    for i in range(3):
        diskcache.write(f"config-{i:08x}.marshal", (i,), i, env)

    def already_gone(path, *a, **kw):
        raise FileNotFoundError(2, "No such file or directory", path)
    monkeypatch.setattr(os, "unlink", already_gone)   # another process removed them first
    diskcache.write("config-00000009.marshal", (9,), 9, env, family="config-", keep=1)
    assert diskcache.read("config-00000009.marshal", (9,), env) == 9

    def not_allowed(path, *a, **kw):
        raise PermissionError(13, "Permission denied", path)
    monkeypatch.setattr(os, "unlink", not_allowed)      # a directory shared read-only, say
    assert diskcache.prune("config-", 1, env) == 0
    # no cache directory at all: nothing to prune, no error
    assert diskcache.prune("config-", 1, {"XDG_CACHE_HOME": str(tmp_path / "none")}) == 0
