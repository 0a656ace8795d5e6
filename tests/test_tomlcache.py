"""The decoded-configuration cache: used only while the file is unchanged, never for a file
edited in the last moments, and never in the way when it is damaged."""
from __future__ import annotations

import os
import time

import pytest

from slurmshim import tomlcache
from slurmshim.config import load_config_file
from slurmshim.errors import ConfigError


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return {"XDG_CACHE_HOME": str(tmp_path / "cache")}


def _write(path, text: str, age: float = 60.0) -> None:
    path.write_text(text)
    old = time.time() - age
    os.utime(path, (old, old))


def _decoding_fails(monkeypatch):
    def refuse(data):
        raise AssertionError("decoded again")
    monkeypatch.setattr(tomlcache, "decode", refuse)


def test_an_unchanged_file_is_not_decoded_again(tmp_path, env, monkeypatch):
    conf = tmp_path / "c.toml"
    _write(conf, 'cluster_name = "a"\n')
    assert tomlcache.load(str(conf), env) == {"cluster_name": "a"}
    assert os.path.exists(tomlcache.cache_path(str(conf), env))
    _decoding_fails(monkeypatch)
    assert tomlcache.load(str(conf), env) == {"cluster_name": "a"}


def test_an_edit_is_seen_even_with_the_same_size_and_mtime(tmp_path, env):
    conf = tmp_path / "c.toml"
    _write(conf, 'cluster_name = "a"\n')
    tomlcache.load(str(conf), env)
    st = conf.stat()
    conf.write_text('cluster_name = "b"\n')           # same size
    os.utime(conf, ns=(st.st_atime_ns, st.st_mtime_ns))  # same mtime: ctime still moves
    assert tomlcache.load(str(conf), env) == {"cluster_name": "b"}


def test_a_file_edited_just_now_is_not_cached(tmp_path, env):
    conf = tmp_path / "c.toml"
    conf.write_text('cluster_name = "a"\n')
    assert tomlcache.load(str(conf), env) == {"cluster_name": "a"}
    assert not os.path.exists(tomlcache.cache_path(str(conf), env))


def test_a_damaged_cache_is_ignored(tmp_path, env):
    conf = tmp_path / "c.toml"
    _write(conf, 'cluster_name = "a"\n')
    cache = tomlcache.cache_path(str(conf), env)
    os.makedirs(os.path.dirname(cache))
    for junk in (b"", b"\x00garbage", b"\xe9" * 40):
        with open(cache, "wb") as fh:
            fh.write(junk)
        assert tomlcache.load(str(conf), env) == {"cluster_name": "a"}


def test_documents_marshal_cannot_hold_still_load(tmp_path, env):
    conf = tmp_path / "c.toml"
    _write(conf, "when = 2026-01-01\n")
    assert str(tomlcache.load(str(conf), env)["when"]) == "2026-01-01"
    assert not os.path.exists(tomlcache.cache_path(str(conf), env))


def test_an_unwritable_cache_directory_is_no_error(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("")
    env = {"XDG_CACHE_HOME": str(tmp_path / "file")}      # a file where a directory should be
    conf = tmp_path / "c.toml"
    _write(conf, 'cluster_name = "a"\n')
    assert tomlcache.load(str(conf), env) == {"cluster_name": "a"}


def test_config_errors_stay_one_line(tmp_path, env):
    bad = tmp_path / "bad.toml"
    _write(bad, "x = [\n")
    with pytest.raises(ConfigError, match="TOML syntax"):
        load_config_file(str(bad))
    latin = tmp_path / "latin.toml"
    latin.write_bytes(b'cluster_name = "\xe9"\n')
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config_file(str(latin))
    with pytest.raises(ConfigError):
        load_config_file(str(tmp_path / "missing.toml"))
