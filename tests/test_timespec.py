"""Table tests for slurmshim.slurm.timespec (Slurm's parse_time.c grammars and printers)."""
from __future__ import annotations

import os
import time

import pytest

from slurmshim.model import INFINITE
from slurmshim.slurm import timespec as ts


@pytest.fixture
def tz(monkeypatch):
    """Run in a named zone (restored afterwards) so local-time results are deterministic."""
    def set_tz(name: str) -> None:
        monkeypatch.setenv("TZ", name)
        time.tzset()

    yield set_tz
    monkeypatch.undo()
    time.tzset()


# --------------------------------------------------------------------------- parse_time_limit


@pytest.mark.parametrize("text, minutes", [
    ("10", 10),
    ("0", INFINITE),                 # 0 means unlimited for --time
    ("-1", INFINITE),
    ("UNLIMITED", INFINITE),
    ("unlimited", INFINITE),
    ("INFINITE", INFINITE),
    ("infinite", INFINITE),
    ("1:30", 2),                     # M:S, seconds round up
    ("1:00", 1),
    ("0:30", 1),
    ("0:0", INFINITE),               # 0 seconds is 0 minutes is unlimited
    ("1:0:0", 60),                   # H:M:S
    ("01:00:00", 60),
    ("2:03:04", 124),
    ("1-0", 1440),                   # D-H
    ("1-2", 1560),
    ("1-2:3", 1563),                 # D-H:M
    ("1-02:03:04", 1564),            # capture 39: stored as 1-02:04:00
    ("3-00:00:00", 4320),            # capture 08
    ("90", 90),                      # no range checks
    ("1:90:00", 150),
    ("2-", 2880),                    # Slurm's validator accepts a bare "D-"
])
def test_parse_time_limit(text, minutes):
    assert ts.parse_time_limit(text) == minutes


@pytest.mark.parametrize("text", [
    "", "abc", "1:2:3:4", "1-2-3", "1:2-3", ":5", "5:", "1::2", "1-:5", "-5", "-", "1h",
    "1.5", " 10", "10 ", "+10", "1-2:3:4:5", "INF", "-2",
])
def test_parse_time_limit_invalid(text):
    with pytest.raises(ValueError):
        ts.parse_time_limit(text)


@pytest.mark.parametrize("text, minutes", [
    ("0", 0), ("0:0", 0), ("0:30", 1), ("10", 10), ("1-02:03:04", 1564), ("-1", INFINITE),
    ("unlimited", INFINITE),
])
def test_parse_minutes(text, minutes):
    """time_str2mins without --time's "0 means unlimited" (sacct -k/-K)."""
    assert ts.parse_minutes(text) == minutes


@pytest.mark.parametrize("text, secs", [
    ("1:30", 90), ("1-02:03:04", 93784), ("0", 0), ("UNLIMITED", INFINITE), ("5", 300),
])
def test_parse_duration_secs(text, secs):
    assert ts.parse_duration_secs(text) == secs


# --------------------------------------------------------------------------- printers


@pytest.mark.parametrize("seconds, text", [
    (0, "0:00"),                     # squeue TIME of a pending job
    (9, "0:09"),                     # capture 14
    (13, "0:13"),
    (59, "0:59"),
    (60, "1:00"),
    (600, "10:00"),
    (3599, "59:59"),
    (3600, "1:00:00"),
    (86399, "23:59:59"),
    (86400, "1-00:00:00"),
    (93840, "1-02:04:00"),           # capture 39 (TIME_LIMI column)
    (172800, "2-00:00:00"),
    (365 * 86400, "365-00:00:00"),
    (365 * 86400 + 1, "INVALID"),    # squeue's _print_secs cap
    (-1, "INVALID"),
    (12.9, "0:12"),
])
def test_format_elapsed(seconds, text):
    assert ts.format_elapsed(seconds) == text


def test_format_elapsed_without_year_cap():
    # sinfo's _print_secs has no cap
    assert ts.format_elapsed(400 * 86400, invalid_over_year=False) == "400-00:00:00"


@pytest.mark.parametrize("minutes, text", [
    (None, "NOT_SET"),
    (INFINITE, "UNLIMITED"),         # captures 14, 17
    (1, "1:00"),
    (10, "10:00"),
    (60, "1:00:00"),
    (1564, "1-02:04:00"),            # capture 39
    (2880, "2-00:00:00"),
])
def test_format_limit(minutes, text):
    assert ts.format_limit(minutes) == text


@pytest.mark.parametrize("seconds, text", [
    (0, "00:00:00"),                 # RunTime of a pending job
    (19, "00:00:19"),                # capture 31
    (81, "00:01:21"),                # capture 93 sacct Elapsed
    (3600, "01:00:00"),
    (90061, "1-01:01:01"),
    (INFINITE, "UNLIMITED"),
    (-5, "INVALID"),
])
def test_format_hms(seconds, text):
    assert ts.format_hms(seconds) == text


@pytest.mark.parametrize("minutes, text", [
    (10, "00:10:00"),                # capture 39 TimeLimit=00:10:00
    (1, "00:01:00"),                 # capture 93 sacct Timelimit
    (1564, "1-02:04:00"),
    (2880, "2-00:00:00"),
    (INFINITE, "UNLIMITED"),         # capture 36 TimeLimit=UNLIMITED
    (None, "Partition_Limit"),
])
def test_format_limit_hms(minutes, text):
    assert ts.format_limit_hms(minutes) == text


@pytest.mark.parametrize("secs, usecs, text", [
    (81, 0, "00:01:21"),
    (0, 63000, "00:00.063"),         # capture 99 TotalCPU
    (0, 4000, "00:00.004"),
    (0, 0, "00:00:00"),
    (3661, 500000, "01:01:01"),      # hours: no sub-seconds
    (90061, 0, "1-01:01:01"),
    (1, 1500000, "00:02.500"),       # usecs carry into seconds
])
def test_format_sacct_duration(secs, usecs, text):
    assert ts.format_sacct_duration(secs, usecs) == text


# --------------------------------------------------------------------------- parse_datetime

NOW_TEXT = (2026, 11, 22, 10, 40, 30)  # a Sunday, like the captures


def _local(y, mo, d, h=0, mi=0, s=0):
    return time.mktime((y, mo, d, h, mi, s, 0, 0, -1))


@pytest.mark.parametrize("text, past, expected", [
    ("now", False, (2026, 11, 22, 10, 40, 30)),
    ("now+1hour", False, (2026, 11, 22, 11, 40, 30)),
    ("now+1hours", False, (2026, 11, 22, 11, 40, 30)),
    ("now-1hour", True, (2026, 11, 22, 9, 40, 30)),     # capture 99 --starttime=now-1hour
    ("NOW+2DAYS", False, (2026, 11, 24, 10, 40, 30)),
    ("now+30", False, (2026, 11, 22, 10, 41, 0)),       # default unit: seconds
    ("now+1week", False, (2026, 11, 29, 10, 40, 30)),
    ("now + 90 minutes", False, (2026, 11, 22, 12, 10, 30)),
    ("today", False, (2026, 11, 22, 0, 0, 0)),
    ("tomorrow", False, (2026, 11, 23, 0, 0, 0)),
    ("midnight", False, (2026, 11, 23, 0, 0, 0)),       # next midnight
    ("midnight", True, (2026, 11, 22, 0, 0, 0)),        # sacct: today's
    ("noon", False, (2026, 11, 22, 12, 0, 0)),
    ("elevenses", False, (2026, 11, 22, 11, 0, 0)),
    ("fika", False, (2026, 11, 22, 15, 0, 0)),
    ("teatime", False, (2026, 11, 22, 16, 0, 0)),
    ("tomorrow noon", False, (2026, 11, 23, 12, 0, 0)),
    ("10:00", False, (2026, 11, 23, 10, 0, 0)),         # passed: tomorrow
    ("10:00", True, (2026, 11, 22, 10, 0, 0)),          # sacct: today
    ("10:40", False, (2026, 11, 23, 10, 40, 0)),        # same minute counts as passed
    ("10:41", False, (2026, 11, 22, 10, 41, 0)),
    ("16:00:05", False, (2026, 11, 22, 16, 0, 5)),
    ("9:00am", False, (2026, 11, 23, 9, 0, 0)),
    ("1:30pm", False, (2026, 11, 22, 13, 30, 0)),
    ("1:30 PM", False, (2026, 11, 22, 13, 30, 0)),
    ("12:00am", True, (2026, 11, 22, 0, 0, 0)),
    ("12:00pm", False, (2026, 11, 22, 12, 0, 0)),
    ("2026-12-01", False, (2026, 12, 1, 0, 0, 0)),
    ("2026-12-01T08:30", False, (2026, 12, 1, 8, 30, 0)),
    ("2026-11-22T08:00:05", False, (2026, 11, 22, 8, 0, 5)),  # past dates are fine
    ("12/01", False, (2026, 12, 1, 0, 0, 0)),
    ("11/22", False, (2027, 11, 22, 0, 0, 0)),          # today at 00:00 has passed
    ("11/22", True, (2026, 11, 22, 0, 0, 0)),
    ("12/25", True, (2025, 12, 25, 0, 0, 0)),           # past: later month is last year
    ("1225", False, (2026, 12, 25, 0, 0, 0)),           # MMDD
    ("122527", False, (2027, 12, 25, 0, 0, 0)),         # MMDDYY
    ("12/25/27", False, (2027, 12, 25, 0, 0, 0)),
    ("12.25.27", False, (2027, 12, 25, 0, 0, 0)),
    ("12/25-15:00", False, (2026, 12, 25, 15, 0, 0)),
    ("11/22-15:00", False, (2026, 11, 22, 15, 0, 0)),
    ("12/25/27-15:00:30", False, (2027, 12, 25, 15, 0, 30)),
])
def test_parse_datetime(tz, text, past, expected):
    tz("UTC")
    now = _local(*NOW_TEXT)
    assert ts.parse_datetime(text, now, past=past) == _local(*expected)


def test_parse_datetime_uts():
    assert ts.parse_datetime("uts1700000000", 0.0) == 1700000000.0


@pytest.mark.parametrize("zone", ["UTC", "Asia/Tokyo", "America/New_York"])
def test_parse_datetime_is_local_time(tz, zone):
    tz(zone)
    now = _local(*NOW_TEXT)
    assert ts.parse_datetime("2026-12-01T08:30", now) == _local(2026, 12, 1, 8, 30)
    assert ts.format_timestamp(ts.parse_datetime("tomorrow", now), time_format="") \
        == "2026-11-23T00:00:00"


@pytest.mark.parametrize("text", [
    "",
    "   ",
    "bogus",
    "now+1h",            # only whole unit words
    "now+1min",
    "now+hour",          # no number
    "now+",
    "nowish",
    "Today",             # 'T' is skipped as a date/time separator first (Slurm quirk)
    "9am",               # a time needs HH:MM
    "25:00",
    "10:60",
    "10:00:60",
    "13:00pm",
    "13/01",
    "12/32",
    "11/22/2026",        # MM/DD/YYYY is not a Slurm form
    "2026-13-01",
    "2026-12-32",
    "2027-1-05",         # YYYY-MM-DD needs two-digit months
    "uts123",            # uts needs at least 1000000
    "uts17000000x",
    "12:3",
])
def test_parse_datetime_invalid(tz, text):
    tz("UTC")
    with pytest.raises(ValueError, match=r"Invalid time specification \(pos=\d+\)"):
        ts.parse_datetime(text, _local(*NOW_TEXT))


# --------------------------------------------------------------------------- format_timestamp


@pytest.mark.parametrize("time_format, expected", [
    ("", "2026-11-22T10:40:30"),
    ("standard", "2026-11-22T10:40:30"),
    ("%H:%M", "10:40"),
    ("%s", str(int(time.mktime((2026, 11, 22, 10, 40, 30, 0, 0, -1))))),
    ("no-percent", "2026-11-22T10:40:30"),          # invalid: default
    ("%" + "x" * 40, "2026-11-22T10:40:30"),         # too long: default
    ("relative", "2026-11-22T10:40:30"),             # no `now` given: default
])
def test_format_timestamp_formats(tz, time_format, expected):
    tz("UTC")
    stamp = _local(*NOW_TEXT)
    assert ts.format_timestamp(stamp, time_format=time_format) == expected


@pytest.mark.parametrize("delta_days, expected", [
    (0, "10:40:30"),
    (-1, "Ystday 10:40"),
    (1, "Tomorr 10:40"),
    (3, "Wed 10:40"),
    (10, "2 Dec 10:40"),
    (-400, "18 Oct 2025"),
])
def test_format_timestamp_relative(tz, delta_days, expected):
    tz("UTC")
    now = _local(*NOW_TEXT)
    stamp = now + delta_days * 86400
    assert ts.format_timestamp(stamp, time_format="relative", now=now) == expected


@pytest.mark.parametrize("value, unknown, expected", [
    (None, "Unknown", "Unknown"),
    (None, "None", "None"),
    (0, "Unknown", "Unknown"),
])
def test_format_timestamp_unknown(value, unknown, expected):
    assert ts.format_timestamp(value, unknown) == expected


def test_format_timestamp_reads_environment(tz, monkeypatch):
    tz("UTC")
    stamp = _local(*NOW_TEXT)
    monkeypatch.setenv("SLURM_TIME_FORMAT", "%d/%m")
    assert ts.format_timestamp(stamp) == "22/11"
    monkeypatch.delenv("SLURM_TIME_FORMAT")
    assert ts.format_timestamp(stamp) == "2026-11-22T10:40:30"
    assert os.environ.get("SLURM_TIME_FORMAT") is None
