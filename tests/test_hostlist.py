"""Table tests for slurmshim.slurm.hostlist (expand / compress as Slurm's hostlist.c)."""
from __future__ import annotations

import time

import pytest

from slurmshim.slurm.hostlist import compress, expand, ranged, split_hostname


@pytest.mark.parametrize("text, names", [
    ("", []),
    ("node01", ["node01"]),
    ("node[01-03],gpu7", ["node01", "node02", "node03", "gpu7"]),     # capture 25
    ("node[1-3,5]", ["node1", "node2", "node3", "node5"]),
    ("node[01-03]", ["node01", "node02", "node03"]),
    ("node[8-11]", ["node8", "node9", "node10", "node11"]),          # width of the low bound
    ("node[08-11]", ["node08", "node09", "node10", "node11"]),
    ("node[001-2]", ["node001", "node002"]),
    ("node[9]", ["node9"]),
    ("gpu7,node[01-02]", ["gpu7", "node01", "node02"]),
    ("a b\tc\nd", ["a", "b", "c", "d"]),                             # white space separates too
    ("a,,b,", ["a", "b"]),
    ("rack[1-2]-node[1-2]", ["rack1-node1", "rack1-node2", "rack2-node1", "rack2-node2"]),
    ("r[1-2]n[01,03]x", ["r1n01x", "r1n03x", "r2n01x", "r2n03x"]),
    ("node[1-2]-ib", ["node1-ib", "node2-ib"]),                      # suffix after a bracket
    ("node[1-2].ib,login", ["node1.ib", "node2.ib", "login"]),
    ("[1-3]", ["1", "2", "3"]),
    ("node1,node1", ["node1", "node1"]),                             # duplicates kept
    ("cpu2mem4gb-dy-c7i-large-[1-3]",
     ["cpu2mem4gb-dy-c7i-large-1", "cpu2mem4gb-dy-c7i-large-2", "cpu2mem4gb-dy-c7i-large-3"]),
])
def test_expand(text, names):
    assert expand(text) == names


@pytest.mark.parametrize("text", [
    "node[1-3",          # unclosed
    "node[1-3,5",
    "node]1",
    "node[3-1]",         # backwards
    "node[a-b]",
    "node[1--2]",
    "node[-1]",
    "node[1-]",
    "node[]",
    "node[1,]",
    "node[1x3]",
    "node[0-70000]",     # more than 65536 hosts in one range
    "node[1-2]x[",
])
def test_expand_invalid(text):
    with pytest.raises(ValueError):
        expand(text)


@pytest.mark.parametrize("names, text", [
    ([], ""),
    (["node01"], "node01"),
    (["node01", "node02", "node03"], "node[01-03]"),                              # capture 25
    (["node01", "node02", "node03", "gpu7", "gpu8", "node10"],
     "node[01-03],gpu[7-8],node10"),                                              # capture 25
    (["node01", "node02", "node03", "gpu7"], "node[01-03],gpu7"),
    (["node1", "node3"], "node[1,3]"),
    (["node3", "node1"], "node[3,1]"),                 # order of appearance is kept
    (["node1", "node2", "node4", "node5", "node7"], "node[1-2,4-5,7]"),
    (["node9", "node10", "node11"], "node[9-11]"),     # unpadded widths combine
    (["node09", "node10"], "node[09-10]"),
    (["node1", "node01"], "node[1,01]"),               # padded and unpadded do not
    (["node01", "node2"], "node[01,2]"),
    (["gpu", "gpu1"], "gpu,gpu1"),                     # a name without digits stands alone
    (["login", "node1", "node2"], "login,node[1-2]"),
    (["a1b", "a2b"], "a1b,a2b"),                       # digits not at the end: plain names
    (["node1", "node1"], "node[1,1]"),                 # duplicates kept
    (["n1", "m1", "n2"], "n1,m1,n2"),
    (["1", "2"], "[1-2]"),
])
def test_compress(names, text):
    assert compress(names) == text


@pytest.mark.parametrize("names, text", [
    (["node03", "node01", "node02"], "node[01-03]"),                              # capture 25
    (["node10", "node9", "node1"], "node[1,9-10]"),
    (["node2", "gpu1", "node1", "gpu2"], "gpu[1-2],node[1-2]"),
    (["node10", "node2", "node1"], "node[1-2,10]"),                               # natural order
    (["rack10-n1", "rack2-n1"], "rack2-n1,rack10-n1"),
    (["node01", "node1"], "node[1,01]"),                                          # by width
    (["b", "a", "a1"], "a,a1,b"),
])
def test_compress_sorted(names, text):
    assert compress(names, sort=True) == text


@pytest.mark.parametrize("text", [
    "node[01-03],gpu[7-8],node10",
    "node[1-100]",
    "rack[1-2]-node[01-04]",
    "a,b,c",
    "node[1,3,5-9],login1",
])
def test_round_trip(text):
    assert expand(ranged(text)) == expand(text)


@pytest.mark.parametrize("text, sort, expected", [
    ("node01,node02,node03,gpu7,gpu8,node10", False, "node[01-03],gpu[7-8],node10"),
    ("node03,node01,node02", True, "node[01-03]"),
    ("node[1-3],node[4-6]", False, "node[1-6]"),
])
def test_ranged(text, sort, expected):
    assert ranged(text, sort=sort) == expected


@pytest.mark.parametrize("name, parts", [
    ("node007", ("node", 7, 3)), ("gpu", ("gpu", None, 0)), ("12", ("", 12, 2)),
    ("a1b", ("a1b", None, 0)),
])
def test_split_hostname(name, parts):
    assert split_hostname(name) == parts


def test_compress_is_fast():
    names = [f"node{i:05d}" for i in range(10_000)]
    start = time.perf_counter()
    assert compress(names) == "node[00000-09999]"
    assert time.perf_counter() - start < 0.2
