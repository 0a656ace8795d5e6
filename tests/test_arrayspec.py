"""Table tests for slurmshim.slurm.arrayspec (--array parsing and Slurm's index display)."""
from __future__ import annotations

import time

import pytest

from slurmshim.model import JobRecord
from slurmshim.slurm.arrayspec import ARRAY_ERROR, format_indices, parse_array


@pytest.mark.parametrize("text, indices, throttle", [
    ("0-3", (0, 1, 2, 3), None),                       # capture 09
    ("1-10%2", tuple(range(1, 11)), 2),                # capture 09
    ("1,3,5-7:2", (1, 3, 5, 7), None),                 # capture 09
    ("0-1", (0, 1), None),
    ("1,5,9", (1, 5, 9), None),                        # capture 72
    ("1-4%1", (1, 2, 3, 4), 1),
    ("0-15", tuple(range(16)), None),
    ("0-15%4", tuple(range(16)), 4),
    ("0-15:4", (0, 4, 8, 12), None),
    ("0,6,16-32:4%2", (0, 6, 16, 20, 24, 28, 32), 2),
    ("1-7:2", (1, 3, 5, 7), None),
    ("1-8:3", (1, 4, 7), None),                        # the stride need not hit the end
    ("5", (5,), None),
    ("3,1,2,3", (1, 2, 3), None),                      # sorted, unique
    ("1,,2", (1, 2), None),                            # empty tokens skipped (strtok)
    (",7,", (7,), None),
    ("0-1000", tuple(range(1001)), None),              # up to MaxArraySize-1
    ("1000", (1000,), None),
    ("0-15%0", tuple(range(16)), None),                # %0: no throttle, as in Slurm
    ("[1-5]", (1, 2, 3, 4, 5), None),                  # brackets are stripped
    ("007", (7,), None),
])
def test_parse_array(text, indices, throttle):
    spec = parse_array(text)
    assert spec.indices == indices
    assert spec.throttle == throttle
    assert spec.text == text


@pytest.mark.parametrize("text", [
    "",
    ",",
    "0-2000",            # capture 08: beyond MaxArraySize=1001
    "1001",
    "5-3",               # backwards
    "1-7:0",             # step must be positive
    "1-7:-1",
    "1-7:1001",          # step must be < MaxArraySize
    "1:2",               # a step needs a range
    "-1",
    "a",
    "1-a",
    "1-",
    "1-2-3",
    "1%",
    "1%x",
    "1%2%3",
    "1%2,3",             # the throttle goes last
    "1 - 3",
    "+1",
])
def test_parse_array_invalid(text):
    with pytest.raises(ValueError, match=ARRAY_ERROR):
        parse_array(text)


@pytest.mark.parametrize("text, max_size, ok", [
    ("0-9", 10, True), ("10", 10, False), ("0-99999", 100000, True), ("0", 0, False),
])
def test_parse_array_max_size(text, max_size, ok):
    if ok:
        assert parse_array(text, max_array_size=max_size).indices[-1] == int(text.split("-")[-1])
    else:
        with pytest.raises(ValueError):
            parse_array(text, max_array_size=max_size)


@pytest.mark.parametrize("indices, text", [
    ((), ""),
    ((4,), "4"),                                  # 55_[4]
    ((1, 2, 3, 4, 5, 6, 7, 8, 9, 10), "1-10"),    # 44_[1-10%2]
    ((2, 3, 4), "2-4"),                           # 42_[2-4%1]
    ((1, 3, 4), "1,3-4"),                         # 42_[1,3-4]
    ((1, 4), "1,4"),                              # 42_[1,4]
    ((3, 4), "3-4"),                              # two in a row is a range
    ((1, 3, 5, 7), "1,3,5,7"),                    # 11_[1,3,5,7] from 1,3,5-7:2
    ((0, 4, 8, 12), "0,4,8,12"),                  # ArrayTaskId=0,4,8,12%2: too few for a step
    ((7, 8, 9, 10), "7-10"),                      # 44_[7-10%2]
    (tuple(range(0, 31, 2)), "0-30:2"),           # a long regular stride prints as a step
    (tuple(range(1, 14, 2)), "1-13:2"),           # 7 members spanning 12
    (tuple(range(1, 12, 2)), "1,3,5,7,9,11"),     # spans only 10
    ((1, 3, 5, 7, 9), "1,3,5,7,9"),               # 5 members only
    ((0, 2, 4, 6, 8, 10, 12, 15), "0,2,4,6,8,10,12,15"),  # irregular
    ((3, 1, 2), "1-3"),                           # unsorted input is sorted
    ((1, 1, 2), "1-2"),                           # duplicates ignored
    (tuple(range(1000)), "0-999"),
])
def test_format_indices(indices, text):
    assert format_indices(indices) == text


def test_format_indices_truncates_like_slurm_bitstr_len():
    indices = tuple(range(0, 200, 3)) + (500,)     # irregular, long
    full = ",".join(str(i) for i in indices)
    assert len(full) > 61
    assert format_indices(indices) == full[:60] + "..."
    assert len(format_indices(indices)) == 63
    assert format_indices(indices, max_len=None) == full
    assert format_indices(indices, max_len=4096) == full


@pytest.mark.parametrize("indices, cut", [
    ((1,) + tuple(range(10, 49, 2)), False),          # exactly 61 characters: kept
    ((1,) + tuple(range(10, 47, 2)) + (100,), True),  # 62 characters: cut to 60 + "..."
])
def test_format_indices_truncation_boundary(indices, cut):
    full = ",".join(str(i) for i in indices)
    assert len(full) == (62 if cut else 61)
    assert format_indices(indices) == (full[:60] + "..." if cut else full)


def test_display_id_uses_format_indices():
    rec = JobRecord(job_id=44, array_job_id=44, array_pending=tuple(range(1, 11)),
                    array_throttle=2)
    assert rec.display_id == "44_[1-10%2]"
    rec = JobRecord(job_id=55, array_job_id=55, array_pending=(4,))
    assert rec.display_id == "55_[4]"


def test_format_indices_is_fast():
    dense = tuple(range(10_000))
    sparse = tuple(range(0, 30_000, 3)) + (40_000,)
    mixed = tuple(i for i in range(15_000) if i % 7 != 3)
    for case in (dense, sparse, mixed):
        start = time.perf_counter()
        for _ in range(10):
            format_indices(case)
        per_call = (time.perf_counter() - start) / 10
        assert per_call < 0.01, per_call  # 10,000 indices well under 1 ms per 1,000


@pytest.mark.parametrize("indices, text", [
    ({5, 1, 2, 3}, "1-3,5"), (frozenset(), ""), (iter([9, 8]), "8-9"), (iter(()), ""),
    (range(0, 31, 2), "0-30:2"),
])
def test_format_indices_accepts_any_iterable(indices, text):
    assert format_indices(indices) == text
