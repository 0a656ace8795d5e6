"""Table tests for slurmshim.slurm.memspec (str_to_mbytes / convert_num_unit)."""
from __future__ import annotations

import pytest

from slurmshim.slurm.memspec import format_mem, parse_mem


@pytest.mark.parametrize("text, mib", [
    ("1024", 1024),          # default unit: MiB
    ("0", 0),                # --mem=0: all of the node's memory
    ("1", 1),
    ("100M", 100),
    ("100m", 100),
    ("100MB", 100),
    ("100mb", 100),
    ("100Mb", 100),
    ("1G", 1024),
    ("1g", 1024),
    ("1GB", 1024),
    ("2gB", 2048),
    ("1T", 1024 * 1024),
    ("1tb", 1024 * 1024),
    ("1K", 1),               # K rounds up to a whole MiB
    ("1024K", 1),
    ("1025K", 2),
    ("2048kb", 2),
    ("0K", 0),
    ("  512", 512),          # strtoll skips leading white space
    ("+8", 8),
    ("-0", 0),
    ("007G", 7168),
])
def test_parse_mem(text, mib):
    assert parse_mem(text) == mib


@pytest.mark.parametrize("text", [
    "", "G", "abc", "1.5G", "1P", "1GiB", "1 G", "10 ", "1X", "-1", "-1G", "1GBB", "1B",
    "9" * 20,
])
def test_parse_mem_invalid(text):
    with pytest.raises(ValueError):
        parse_mem(text)


@pytest.mark.parametrize("mib, text", [
    (1024, "1G"),            # captures: mem=1G, MinMemoryCPU=1G
    (8000, "8000M"),         # formats doc: memory given in MB displays as 8000M
    (1048576, "1T"),
    (0, "0"),
    (1, "1M"),
    (512, "512M"),           # below 1024: stays in MiB
    (100, "100M"),
    (1536, "1.50G"),         # halves count as exact
    (2560, "2.50G"),
    (1280, "1280M"),         # quarters do not
    (24105, "24105M"),       # the oracle node's RealMemory
    (2048, "2G"),
    (1024 * 1024 * 1024, "1P"),
    (1024 ** 4, "1?"),       # beyond P Slurm prints its UNKNOWN unit
    (3 * 1024 * 1024 + 512 * 1024, "3.50T"),
])
def test_format_mem(mib, text):
    assert format_mem(mib) == text


@pytest.mark.parametrize("mib, text", [(1024, "1024M"), (0, "0"), (1536, "1536M")])
def test_format_mem_noconvert(mib, text):
    assert format_mem(mib, convert=False) == text


@pytest.mark.parametrize("mib", [1, 100, 1024, 8000, 3 * 1024 * 1024, 0])
def test_round_trip(mib):
    """What scontrol prints (when it has no fraction) reads back as the same amount."""
    assert parse_mem(format_mem(mib)) == mib
