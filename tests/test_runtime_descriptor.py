"""runtime/descriptor.py (loading, inline encoding, raw ids, index lists and hostlists),
runtime/fname.py (output patterns), and the standalone rule: runtime/ is stdlib only, imports
nothing else from slurmshim, and parses as Python 3.8."""
from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

import pytest

from slurmshim.runtime.descriptor import (DescriptorError, compress_counts, compress_hostlist,
                                          compress_indices, decode_inline, encode_inline,
                                          expand_hostlist, expand_indices, load_descriptor,
                                          normalize, placement_environ, placement_from_environ,
                                          raw_id_for, stage_dir_for, task_ids)
from slurmshim.runtime.fname import expand_pattern

RUNTIME = Path(__file__).resolve().parents[1] / "slurmshim" / "runtime"


# -------------------------------------------------------------------- raw ids

@pytest.mark.parametrize("n,indices,expected", [
    (9, [0, 1, 2, 3], [10, 11, 12, 9]),          # capture 9: 9_3 kept 9 (others got fresh ids)
    (60, [1, 5, 9], [61, 62, 60]),
    (7, [4], [7]),
    (5, "0-2", [6, 7, 5]),
])
def test_raw_id_for(n, indices, expected):
    count = len(expand_indices(indices)) if isinstance(indices, str) else len(indices)
    assert [raw_id_for(n, indices, p) for p in range(count)] == expected


def test_raw_id_for_with_a_reserved_block_elsewhere():
    assert [raw_id_for(60, [1, 5, 9], p, first_raw_id=63) for p in range(3)] == [63, 64, 60]


def test_raw_id_out_of_range():
    with pytest.raises(ValueError):
        raw_id_for(1, [1, 2], 2)


def test_task_ids():
    desc = normalize({"job_id": 60, "array": {"indices": "1,5,9"}})
    assert task_ids(desc, {"array_index": 1})["job_id"] == 62
    assert task_ids(desc, {"array_index": 1})["array_task_id"] == 5
    assert task_ids(normalize({"job_id": 4}), {})["array_job_id"] is None
    with pytest.raises(DescriptorError):
        task_ids(desc, {"array_index": 3})


# -------------------------------------------------------------------- lists

@pytest.mark.parametrize("text,values", [
    ("1,5,9-11", [1, 5, 9, 10, 11]), ("0-15:4", [0, 4, 8, 12]), ("3", [3]), ("", []),
    ("5,1,1", [1, 5]),
])
def test_expand_indices(text, values):
    assert expand_indices(text) == values


@pytest.mark.parametrize("values,text", [
    ([1, 5, 9, 10, 11], "1,5,9-11"), ([0, 1, 2, 3], "0-3"), ([7], "7"), ([], ""),
    ([3, 1, 2], "1-3"),
])
def test_compress_indices(values, text):
    assert compress_indices(values) == text


@pytest.mark.parametrize("names,text", [
    (["node01"], "node01"),
    (["node01", "node02", "node03"], "node[01-03]"),
    (["node01", "node02", "node03", "gpu7", "gpu8", "node10"],
     "node[01-03],gpu[7-8],node10"),        # capture 25: order kept, not sorted
    (["n1", "n2", "n5"], "n[1-2,5]"),
    (["login", "node1"], "login,node1"),
    (["a9", "a10"], "a[9-10]"),
])
def test_hostlists(names, text):
    assert compress_hostlist(names) == text
    assert expand_hostlist(text) == names


def test_expand_hostlist_mixed():
    assert expand_hostlist("node[01-03],gpu7") == ["node01", "node02", "node03", "gpu7"]


@pytest.mark.parametrize("values,text", [([1], "1"), ([2, 2, 2, 1], "2(x3),1"),
                                         ([72, 72, 36], "72(x2),36")])
def test_compress_counts(values, text):
    assert compress_counts(values) == text


# -------------------------------------------------------------------- loading

def test_inline_roundtrip_and_load(tmp_path):
    desc = {"version": 1, "job_id": 3, "script": "#!/bin/sh\n" + "echo x\n" * 500}
    text = encode_inline(desc)
    assert decode_inline(text) == desc
    assert len(text) < 400  # compressed: repetitive scripts stay tiny
    assert load_descriptor({"SLURMSHIM_JOB": text})["job_id"] == 3
    f = tmp_path / "d.json"
    f.write_text(json.dumps(desc))
    loaded = load_descriptor({"SLURMSHIM_JOB_FILE": str(f), "SLURMSHIM_JOB": "garbage"})
    assert loaded["job_id"] == 3 and loaded["node_names"] == ["node01"]
    assert loaded["cpus_per_node"] == [1] and loaded["kill_wait"] == 30


@pytest.mark.parametrize("environ,message", [
    ({}, "no job descriptor"),
    ({"SLURMSHIM_JOB": "%%%"}, "cannot decode"),
    ({"SLURMSHIM_JOB_FILE": "/nonexistent/x.json"}, "cannot read job descriptor"),
])
def test_load_errors(environ, message):
    with pytest.raises(DescriptorError) as err:
        load_descriptor(environ)
    assert message in str(err.value)


def test_newer_version_is_refused():
    with pytest.raises(DescriptorError):
        normalize({"version": 99, "job_id": 1})


def test_placement_roundtrip():
    env = placement_environ(array_index=3, attempt=2, batch_job_id="abc:3")
    assert placement_from_environ(env) == {
        "array_index": 3, "node_index": 0, "num_nodes": 1, "main_node_index": 0,
        "main_node_addr": None, "attempt": 2, "batch_job_id": "abc:3"}
    env = placement_environ(node_index=1, num_nodes=4, main_node_addr="10.0.0.5")
    p = placement_from_environ(env)
    assert (p["node_index"], p["num_nodes"], p["main_node_addr"]) == (1, 4, "10.0.0.5")
    # like Batch: the main node is not told its own address
    assert "AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS" not in placement_environ(
        node_index=0, num_nodes=4, main_node_addr="10.0.0.5")
    assert placement_from_environ({}) == {
        "array_index": None, "node_index": 0, "num_nodes": 1, "main_node_index": 0,
        "main_node_addr": None, "attempt": 1, "batch_job_id": None}


def test_stage_dir_for():
    assert stage_dir_for({"stage": "/s"}, 61) == "/s/61"
    assert stage_dir_for({"stage": None}, 61) is None


# -------------------------------------------------------------------- output patterns

BASE = dict(job_id=53, node_name="node01", user="root", job_name="victim", work_dir="/w")


@pytest.mark.parametrize("pattern,kw,expected", [
    ("slurm-%j.out", {}, "/w/slurm-53.out"),
    ("slurm-%A_%a.out", dict(job_id=61, array_job_id=60, array_task_id=1), "/w/slurm-60_1.out"),
    ("slurm-%A_%a.out", {}, "/w/slurm-53_4294967294.out"),  # capture 33's meta record name
    ("%x-%u-%N-%n-%t-%s-%J-%r.log", {}, "/w/victim-root-node01-0-0-batch-53-0.log"),
    ("%J.%s", dict(step_id=2), "/w/53.2.2"),
    ("%4j-%02t-%012j", {}, "/w/0053-00-0000000053"),
    ("/abs/%j%%", {}, "/abs/53%"),
    ("a\\%j", {}, "/w/a%j"),
    ("%b-%3b", dict(array_job_id=60, array_task_id=17), "/w/7-007"),
    ("%y-%4y-%", {}, "/w/%y-%4y-"),
    ("%S", {}, "/w/%S"),
])
def test_expand_pattern(pattern, kw, expected):
    args = dict(BASE)
    args.update(kw)
    assert expand_pattern(pattern, **args) == expected


def test_srun_patterns_stay_relative():
    assert expand_pattern("out-%t", job_id=1, task_id=3, work_dir="/w", is_srun=True) == "out-3"


# -------------------------------------------------------------------- standalone runtime

def _modules():
    return sorted(RUNTIME.glob("*.py"))


@pytest.mark.parametrize("path", _modules(), ids=lambda p: p.name)
def test_runtime_is_standalone_and_py38(path):
    source = path.read_text()
    tree = ast.parse(source, feature_version=(3, 8))  # no match, no parenthesized with, ...
    stdlib = getattr(sys, "stdlib_module_names", None)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:  # relative: must stay inside runtime/
                assert node.level == 1, "%s imports outside runtime/" % path.name
                continue
            name = node.module or ""
        elif isinstance(node, ast.Import):
            name = node.names[0].name
        else:
            continue
        top = name.split(".")[0]
        assert top != "slurmshim" or name.startswith("slurmshim.runtime"), name
        if stdlib is not None and top != "slurmshim":
            assert top in stdlib or top == "__future__", "%s imports %s" % (path.name, name)
    if path.name != "__init__.py":
        assert "from __future__ import annotations" in source


@pytest.mark.parametrize("path", _modules(), ids=lambda p: p.name)
def test_no_runtime_evaluated_new_syntax(path):
    """`X | Y` and builtin generics are only safe inside annotations on 3.8."""
    tree = ast.parse(path.read_text())
    annotations = set()
    for node in ast.walk(tree):
        for attr in ("annotation", "returns"):
            sub = getattr(node, attr, None)
            if sub is not None:
                annotations.update(id(n) for n in ast.walk(sub))
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr) and \
                id(node) not in annotations:
            for side in (node.left, node.right):
                assert not (isinstance(side, ast.Name) and side.id in
                            ("int", "str", "None", "dict", "list", "float")), path.name
        if isinstance(node, ast.Subscript) and id(node) not in annotations and \
                isinstance(node.value, ast.Name) and node.value.id in ("dict", "list", "tuple"):
            raise AssertionError("%s: builtin generic outside an annotation" % path.name)
