"""Table tests for slurmshim.slurm.gres (--gres, --gpus* and their TRES strings)."""
from __future__ import annotations

import pytest

from slurmshim.model import GresRequest as G
from slurmshim.slurm import gres


@pytest.mark.parametrize("text, expected", [
    ("gpu", (G("gpu", None, 1),)),
    ("gpu:2", (G("gpu", None, 2),)),
    ("gpu:a100", (G("gpu", "a100", 1),)),
    ("gpu:a100:4", (G("gpu", "a100", 4),)),
    ("gres/gpu:2", (G("gpu", None, 2),)),              # the TRES spelling works too
    ("gpu=2", (G("gpu", None, 2),)),
    ("gpu:a100=2", (G("gpu", "a100", 2),)),
    ("gpu:tesla_v100:1,mps:100", (G("gpu", "tesla_v100", 1), G("mps", None, 100))),
    ("gpu:2,shard:4", (G("gpu", None, 2), G("shard", None, 4))),
    ("gpu:1k", (G("gpu", None, 1024),)),               # suffix_mult
    ("gpu:2kb", (G("gpu", None, 2000),)),
    ("gpu:0", ()),                                     # zero counts are dropped
    ("gpu:a100:0,gpu:1", (G("gpu", None, 1),)),
    ("gpu:1,gpu:2", (G("gpu", None, 3),)),             # one record per name/type
    ("gpu:2,", (G("gpu", None, 2),)),                  # "nothing but a comma"
    ("gpu:3g.20gb:1", (G("gpu", "3g.20gb", 1),)),      # MIG profile types
    ("gpu:2x", (G("gpu", "2x", 1),)),                  # not a count, so a type (as Slurm)
    ("none", ()),
    ("NONE", ()),
])
def test_parse_gres(text, expected):
    assert gres.parse_gres(text) == expected


@pytest.mark.parametrize("text", [
    "gpu:",          # Bad format (e.g. "gpu:")
    "gpu=x",         # '=' needs a number
    "gpu:a:b",       # the last part should have been a count
    "2",             # no name
    ":2",
    "gpu:a100:4:5",
    "gpu:2.5",       # not a count, and not a plausible type either
    "gpu:-1",
    "gp u:2",
    "gpu/x:1",
])
def test_parse_gres_invalid(text):
    with pytest.raises(ValueError):
        gres.parse_gres(text)


@pytest.mark.parametrize("text, expected", [
    ("2", (None, 2)),
    ("1", (None, 1)),
    ("a100:2", ("a100", 2)),
    ("a100", ("a100", 1)),           # a type alone means one
    ("0", (None, 0)),
    ("a100:0", ("a100", 0)),
    ("16", (None, 16)),
])
def test_parse_gpu_count(text, expected):
    assert gres.parse_gpu_count(text) == expected


@pytest.mark.parametrize("text", [
    "", "gpu:a100:2", "a100:", "a100:2,v100:1", "x:y:2", "-1", "2.5",
])
def test_parse_gpu_count_invalid(text):
    with pytest.raises(ValueError):
        gres.parse_gpu_count(text)


@pytest.mark.parametrize("text, count", [
    ("2", 2), ("0", 0), ("1k", 1024), ("1KiB", 1024), ("1kb", 1000), ("3M", 3 * 1024 ** 2),
    ("1g", 1024 ** 3), ("1t", 1024 ** 4), ("1p", 1024 ** 5), ("x", None), ("1x", None),
    ("", None), ("-1", None),
])
def test_parse_count(text, count):
    assert gres.parse_count(text) == count


@pytest.mark.parametrize("requests, text", [
    ((), ""),
    ((G("gpu", None, 2),), "gres/gpu:2"),
    ((G("gpu", "a100", 4),), "gres/gpu:a100:4"),
    ((G("gpu", "a100", 1), G("mps", None, 100)), "gres/gpu:a100:1,gres/mps:100"),
])
def test_format_gres(requests, text):
    assert gres.format_gres(requests) == text


@pytest.mark.parametrize("gtype, count, text", [
    (None, 2, "gres/gpu:2"), ("a100", 2, "gres/gpu:a100:2"), (None, None, ""), (None, 0, ""),
])
def test_format_tres_gpu(gtype, count, text):
    assert gres.format_tres_gpu(gtype, count) == text


@pytest.mark.parametrize("kwargs, text", [
    ({}, ""),
    ({"gpus_per_node": 2}, "gres/gpu:2"),
    ({"gpus_per_node": 2, "gpu_type": "a100"}, "gres/gpu:a100:2"),
    ({"gres": (G("gpu", None, 1),)}, "gres/gpu:1"),
    ({"gres": (G("shard", None, 2),), "gpus_per_node": 1}, "gres/gpu:1,gres/shard:2"),
])
def test_format_tres_per_node(kwargs, text):
    assert gres.format_tres_per_node(**kwargs) == text


@pytest.mark.parametrize("text", ["gpu:2", "gpu:a100:4", "gpu:1,mps:100"])
def test_round_trip(text):
    parsed = gres.parse_gres(text)
    assert gres.parse_gres(gres.format_gres(parsed)) == parsed
