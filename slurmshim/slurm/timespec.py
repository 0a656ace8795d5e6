"""Slurm's time grammars: durations (`--time`), points in time (`--begin`, `sacct -S`) and the
several ways Slurm prints both.

Ported from Slurm 25.11 `src/common/parse_time.c` (`time_str2mins`, `parse_time`,
`slurm_make_time_str`, `secs2time_str`, `mins2time_str`), squeue/sinfo `_print_secs` and sacct
`_elapsed_time`, so that the quirks users and scripts depend on are kept (seconds round *up* to a
minute, `0` means unlimited, `now+1hour` works but `now+1h` does not, ...).

Pure: no I/O and no clock reads; "now" is always a parameter.  Local time goes through the
`time` module, so the process time zone (TZ) applies, as it does for Slurm.
"""
from __future__ import annotations

import os
import time

from ..model import INFINITE

__all__ = [
    "YEAR_SECONDS",
    "parse_time_limit",
    "parse_minutes",
    "parse_duration_secs",
    "format_elapsed",
    "format_limit",
    "format_hms",
    "format_limit_hms",
    "format_sacct_duration",
    "parse_datetime",
    "format_timestamp",
]

YEAR_SECONDS = 365 * 24 * 3600  # squeue prints INVALID beyond this (slurm_protocol_defs.h)

_INFINITE_WORDS = frozenset({"-1", "infinite", "unlimited"})

# ---------------------------------------------------------------------------------------------
# durations: time_str2secs / time_str2mins
# ---------------------------------------------------------------------------------------------


def _valid_timespec(s: str) -> bool:
    """Slurm's `_is_valid_timespec`: digits, at most one `-` (before any `:`), at most two `:`,
    and enough digit groups for the separators used."""
    digit = dash = colon = 0
    in_digit = False
    for c in s:
        if "0" <= c <= "9":
            if not in_digit:
                digit += 1
                in_digit = True
        elif c == "-":
            in_digit = False
            dash += 1
            if colon:
                return False
        elif c == ":":
            in_digit = False
            colon += 1
        else:
            return False
    if not digit or dash > 1 or colon > 2:
        return False
    if dash:
        if (colon == 1 and digit < 3) or (colon == 2 and digit < 4):
            return False
    elif (colon == 1 and digit < 2) or (colon == 2 and digit < 3):
        return False
    return True


def _leading_int(s: str) -> tuple[int | None, str]:
    """sscanf("%d") on the front of s: optional sign then digits; (None, s) if none."""
    i = 0
    if s[:1] in ("-", "+"):
        i = 1
    j = i
    while j < len(s) and "0" <= s[j] <= "9":
        j += 1
    if j == i:
        return None, s
    return int(s[:j]), s[j:]


def _scan_ints(s: str, seps: str) -> list[int]:
    """sscanf with a pattern like "%d-%d:%d:%d": read ints separated by the given literal
    separators, stopping at the first mismatch (the fields read so far are kept)."""
    out: list[int] = []
    rest = s
    for k in range(len(seps) + 1):
        val, rest = _leading_int(rest)
        if val is None:
            break
        out.append(val)
        if k == len(seps) or not rest.startswith(seps[k]):
            break
        rest = rest[1:]
    return out


def parse_duration_secs(text: str) -> int:
    """Slurm's `time_str2secs`: a duration in seconds, or INFINITE for `-1`/`INFINITE`/
    `UNLIMITED` (any case).  Forms: `M`, `M:S`, `H:M:S`, `D-H`, `D-H:M`, `D-H:M:S`.  Fields are
    not range-checked (`90` minutes and `1:90:00` are fine), as in Slurm.  ValueError otherwise,
    including negative results (Slurm would pass those on; nothing sensible comes of them)."""
    if not text:
        raise ValueError(f"Invalid time specification: {text!r}")
    if text.lower() in _INFINITE_WORDS:
        return INFINITE
    if not _valid_timespec(text):
        raise ValueError(f"Invalid time specification: {text!r}")
    if "-" in text:
        parts = _scan_ints(text, "-::")
        d, h, m, s = (parts + [0, 0, 0, 0])[:4]
        total = d * 86400 + h * 3600 + m * 60 + s
    else:
        parts = _scan_ints(text, "::")
        if len(parts) == 3:
            total = parts[0] * 3600 + parts[1] * 60 + parts[2]
        else:  # minutes[:seconds]
            parts = (parts + [0, 0])[:2]
            total = parts[0] * 60 + parts[1]
    if total < 0:
        raise ValueError(f"Invalid time specification: {text!r}")
    return total


def parse_minutes(text: str) -> int:
    """Slurm's `time_str2mins` itself: minutes, seconds rounded up, INFINITE for
    `-1`/`INFINITE`/`UNLIMITED`, and `0` staying 0 (sacct `-k/-K` rejects it; `--time` turns
    it into UNLIMITED, see parse_time_limit).  ValueError on bad input."""
    secs = parse_duration_secs(text)
    return INFINITE if secs == INFINITE else -(-secs // 60)


def parse_time_limit(text: str) -> int:
    """`--time` / `--time-min` / `TimeLimit=`: whole minutes, seconds rounded UP (as
    `time_str2mins`), and 0 meaning unlimited (as `arg_set_time_limit`): returns
    model.INFINITE for `0`, `-1`, `INFINITE`, `UNLIMITED`.  ValueError otherwise (the caller
    prints `Invalid --time specification`)."""
    mins = parse_minutes(text)
    return INFINITE if mins == 0 else mins


# ---------------------------------------------------------------------------------------------
# duration printers
# ---------------------------------------------------------------------------------------------


def format_elapsed(seconds: float, *, invalid_over_year: bool = True) -> str:
    """squeue `%M`/`%l`/`%L` and sinfo TIMELIMIT shape (`_print_secs`): `M:SS`, `H:MM:SS`,
    `D-HH:MM:SS`.  squeue prints `INVALID` for negative values and for more than 365 days;
    sinfo has no such cap (pass invalid_over_year=False)."""
    t = int(seconds)
    if t < 0 or (invalid_over_year and t > YEAR_SECONDS):
        return "INVALID"
    days, rem = divmod(t, 86400)
    hours, rem = divmod(rem, 3600)
    minutes, secs = divmod(rem, 60)
    if days:
        return f"{days}-{hours:02d}:{minutes:02d}:{secs:02d}"
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


def format_limit(minutes: int | None) -> str:
    """squeue `%l` TIME_LIMIT: `NOT_SET` (None), `UNLIMITED` (INFINITE), else the `%M` shape
    of minutes*60, e.g. `10:00`, `1:00:00`, `1-02:04:00`."""
    if minutes is None:
        return "NOT_SET"
    if minutes == INFINITE:
        return "UNLIMITED"
    return format_elapsed(minutes * 60)


def _hms(t: int) -> str:
    if t < 0:
        return "INVALID"
    days, rem = divmod(t, 86400)
    hours, rem = divmod(rem, 3600)
    minutes, secs = divmod(rem, 60)
    if days:
        return f"{days}-{hours:02d}:{minutes:02d}:{secs:02d}"
    return f"{hours:02d}:{minutes:02d}:{secs:02d}"


def format_hms(seconds: float) -> str:
    """scontrol `RunTime=` / sacct `Elapsed` (`secs2time_str`): `HH:MM:SS` or `D-HH:MM:SS`,
    `UNLIMITED` for INFINITE, `INVALID` for other negatives."""
    t = int(seconds)
    if t == INFINITE:
        return "UNLIMITED"
    return _hms(t)


def format_limit_hms(minutes: int | None, none: str = "Partition_Limit") -> str:
    """scontrol `TimeLimit=` / sacct `Timelimit` (`mins2time_str`): `UNLIMITED`, or
    `HH:MM:SS` / `D-HH:MM:SS` of the minutes.  A limit that was never set prints `none`
    (scontrol and sacct both say `Partition_Limit`)."""
    if minutes is None:
        return none
    if minutes == INFINITE:
        return "UNLIMITED"
    return _hms(minutes * 60)


def format_sacct_duration(secs: int, usecs: int = 0) -> str:
    """sacct's `_elapsed_time` (Elapsed, TotalCPU, UserCPU, ...): `D-HH:MM:SS`, `HH:MM:SS`,
    `MM:SS.mmm` when there are sub-seconds and no hours, else `00:MM:SS`."""
    secs = int(secs)
    usecs = int(usecs)
    if usecs >= 1_000_000:
        secs += usecs // 1_000_000
        usecs %= 1_000_000
    subsec = usecs // 1000 if usecs > 0 else 0
    days, rem = divmod(secs, 86400)
    hours, rem = divmod(rem, 3600)
    minutes, s = divmod(rem, 60)
    if days:
        return f"{days}-{hours:02d}:{minutes:02d}:{s:02d}"
    if hours:
        return f"{hours:02d}:{minutes:02d}:{s:02d}"
    if subsec:
        return f"{minutes:02d}:{s:02d}.{subsec:03d}"
    return f"00:{minutes:02d}:{s:02d}"


# ---------------------------------------------------------------------------------------------
# points in time: parse_time
# ---------------------------------------------------------------------------------------------

# `now+N<unit>`: full words only, longest first ("now+1h" is NOT valid in Slurm).
_UNITS = (
    ("seconds", 1), ("second", 1), ("minutes", 60), ("minute", 60), ("hours", 3600),
    ("hour", 3600), ("days", 86400), ("day", 86400), ("weeks", 604800), ("week", 604800),
)
_NAMED_TIMES = (("midnight", 0), ("noon", 12), ("elevenses", 11), ("fika", 15), ("teatime", 16))
_SPACE = " \t\n\v\f\r"


class _TimeSpecError(ValueError):
    def __init__(self, pos: int, text: str):
        super().__init__(f"Invalid time specification (pos={pos}): {text}")
        self.pos = pos


def _is_digit(c: str) -> bool:
    return "0" <= c <= "9" and c != ""


def _get_delta(s: str, i: int) -> tuple[int, int]:
    """`+N[unit]` starting at the sign at s[i]; returns (seconds, next index)."""
    n = len(s)
    off = i + 1
    cnt = 0
    digits = 0
    while off < n and s[off] != "\n":
        c = s[off]
        if c in _SPACE:
            off += 1
            continue
        low = s[off:off + 7].lower()
        for name, mult in _UNITS:
            if low.startswith(name):
                off += len(name)
                cnt *= mult
                break
        else:
            if _is_digit(c):
                cnt = cnt * 10 + (ord(c) - 48)
                digits += 1
                off += 1
                continue
            raise _TimeSpecError(off - 1, s)
        break
    if not digits:
        raise _TimeSpecError(i, s)
    return cnt, off


def _get_time(s: str, i: int) -> tuple[int, int, int, int]:
    """`HH:MM[:SS] [AM|PM]` at s[i]; returns (hour, minute, second, next index)."""
    def ch(k: int) -> str:
        return s[k] if k < len(s) else ""

    if not _is_digit(ch(i)):
        raise _TimeSpecError(i, s)
    hr = ord(s[i]) - 48
    i += 1
    if ch(i) != ":":
        if not _is_digit(ch(i)):
            raise _TimeSpecError(i, s)
        hr = hr * 10 + ord(s[i]) - 48
        i += 1
    if hr > 23:
        raise _TimeSpecError(i - 2, s)
    if ch(i) != ":":
        raise _TimeSpecError(i, s)
    i += 1
    if not (_is_digit(ch(i)) and _is_digit(ch(i + 1))):
        raise _TimeSpecError(i, s)
    mn = int(s[i:i + 2])
    i += 2
    if mn > 59:
        raise _TimeSpecError(i - 2, s)
    sec = 0
    if ch(i) == ":":
        i += 1
        if not (_is_digit(ch(i)) and _is_digit(ch(i + 1))):
            raise _TimeSpecError(i, s)
        sec = int(s[i:i + 2])
        i += 2
        if sec > 59:
            raise _TimeSpecError(i - 2, s)
    while ch(i) and ch(i) in _SPACE:
        i += 1
    ampm = s[i:i + 2].lower()
    if ampm == "pm":
        hr += 12
        if hr > 23:
            if hr != 24:
                raise _TimeSpecError(i, s)
            hr = 12
        i += 2
    elif ampm == "am":
        if hr > 11:
            if hr != 12:
                raise _TimeSpecError(i, s)
            hr = 0
        i += 2
    return hr, mn, sec, i


def _get_date(s: str, i: int) -> tuple[int, int, int | None, int]:
    """`YYYY-MM-DD`, `MMDD[YY]`, `MM/DD[/YY]` or `MM.DD[.YY]` at s[i]; returns
    (month 1-12, day, year or None, next index).  A two-digit year is 20YY; `00` means "no
    year" (a Slurm quirk kept as is)."""
    n = len(s)

    def ch(k: int) -> str:
        return s[k] if k < n else ""

    if n >= i + 7 and ch(i + 4) == "-" and ch(i + 7) == "-":
        if not all(_is_digit(ch(k)) for k in range(i, i + 4)):
            raise _TimeSpecError(i, s)
        yr = int(s[i:i + 4])
        i += 5
        if not _is_digit(ch(i)):
            raise _TimeSpecError(i, s)
        mon = ord(s[i]) - 48
        i += 1
        if _is_digit(ch(i)):
            mon = mon * 10 + ord(s[i]) - 48
            i += 1
        if mon < 1 or mon > 12:
            raise _TimeSpecError(i - 2, s)
        i += 1  # the '-'
        if not _is_digit(ch(i)):
            raise _TimeSpecError(i, s)
        day = ord(s[i]) - 48
        i += 1
        if _is_digit(ch(i)):
            day = day * 10 + ord(s[i]) - 48
            i += 1
        if day < 1 or day > 31:
            raise _TimeSpecError(i - 2, s)
        return mon, day, yr, i

    mon = ord(s[i]) - 48
    i += 1
    if _is_digit(ch(i)):
        mon = mon * 10 + ord(s[i]) - 48
        i += 1
    if mon < 1 or mon > 12:
        raise _TimeSpecError(i - 2, s)
    if ch(i) in (".", "/"):
        i += 1
    if not _is_digit(ch(i)):
        raise _TimeSpecError(i, s)
    day = ord(s[i]) - 48
    i += 1
    if _is_digit(ch(i)):
        day = day * 10 + ord(s[i]) - 48
        i += 1
    if day < 1 or day > 31:
        raise _TimeSpecError(i - 2, s)
    if ch(i) in (".", "/"):
        i += 1
    year: int | None = None
    if _is_digit(ch(i)):
        yr = ord(s[i]) - 48
        i += 1
        if not _is_digit(ch(i)):
            raise _TimeSpecError(i, s)
        yr = yr * 10 + ord(s[i]) - 48
        i += 1
        if yr:
            year = 2000 + yr
    return mon, day, year, i


def parse_datetime(text: str, now: float, *, past: bool = False) -> float:
    """Slurm's `parse_time`, used by `sbatch --begin/--deadline` (past=False) and
    `sacct -S/-E` (past=True).  Accepts, in local time:

    `today`, `tomorrow`, `midnight`, `noon`, `elevenses` (11:00), `fika` (15:00), `teatime`
    (16:00); `HH:MM[:SS] [AM|PM]`; `MMDD[YY]`, `MM/DD[/YY]`, `MM.DD[.YY]`, optionally with
    `-HH:MM[:SS]`; `YYYY-MM-DD[THH:MM[:SS]]`; `now[{+|-}N[seconds|minutes|hours|days|weeks]]`
    (whole words only, default seconds); `uts<epoch>`.

    A time without a date is today if still ahead (or always, when past), else tomorrow; a date
    without a year is the next such date (past: this year, or last year for a later month).
    Returns POSIX seconds.  ValueError("Invalid time specification (pos=N): TEXT") otherwise,
    also for empty input (Slurm returns 0 there, which its callers reject)."""
    s = text
    if s[:3].lower() == "uts":
        digits = s[3:].lstrip(_SPACE)
        val, rest = _leading_int(digits)
        if val is None or rest or val < 1_000_000:
            raise _TimeSpecError(0, s)
        return float(val)

    now_i = int(now)
    now_tm = time.localtime(now_i)
    hour = minute = -1
    second = 0
    month = mday = -1
    year: int | None = None
    n = len(s)
    pos = 0
    while pos < n and s[pos] != "\n":
        c = s[pos]
        if c in " \t-T":
            pos += 1
            continue
        low = s[pos:pos + 9].lower()
        if low.startswith("today"):
            month, mday, year = now_tm.tm_mon, now_tm.tm_mday, now_tm.tm_year
            pos += 5
            continue
        if low.startswith("tomorrow"):
            tm = time.localtime(now_i + 86400)
            month, mday, year = tm.tm_mon, tm.tm_mday, tm.tm_year
            pos += 8
            continue
        named = next((nt for nt in _NAMED_TIMES if low.startswith(nt[0])), None)
        if named is not None:
            hour, minute, second = named[1], 0, 0
            pos += len(named[0])
            continue
        if low.startswith("now"):
            i = pos + 3
            delta = 0
            while True:
                ch = s[i] if i < n else ""
                if ch in ("+", "-") and ch:
                    delta, i = _get_delta(s, i)
                    if ch == "-":
                        delta = -delta
                    break
                if ch in (" ", "\t"):
                    i += 1
                    continue
                if ch in ("", "\n"):
                    break
                raise _TimeSpecError(i, s)
            tm = time.localtime(now_i + delta)
            month, mday, year = tm.tm_mon, tm.tm_mday, tm.tm_year
            hour, minute, second = tm.tm_hour, tm.tm_min, tm.tm_sec
            pos = i
            continue
        if not _is_digit(c):
            raise _TimeSpecError(pos, s)
        if (pos + 1 < n and s[pos + 1] == ":") or (pos + 2 < n and s[pos + 2] == ":"):
            hour, minute, second, pos = _get_time(s, pos)
            continue
        m, d, y, pos = _get_date(s, pos)
        month, mday = m, d
        if y is not None:
            year = y

    if hour == -1 and month == -1:
        raise _TimeSpecError(pos, s)  # nothing given: Slurm returns 0, i.e. "invalid"
    if hour == -1:  # a date alone means its midnight
        hour, minute = 0, 0
    elif month == -1:  # a time alone means the soonest such time
        if past or hour > now_tm.tm_hour or (hour == now_tm.tm_hour and minute > now_tm.tm_min):
            month, mday, year = now_tm.tm_mon, now_tm.tm_mday, now_tm.tm_year
        else:
            tm = time.localtime(now_i + 86400)
            month, mday, year = tm.tm_mon, tm.tm_mday, tm.tm_year
    if year is None:
        if past:
            year = now_tm.tm_year - 1 if month > now_tm.tm_mon else now_tm.tm_year
        elif (month, mday, hour, minute) > (now_tm.tm_mon, now_tm.tm_mday, now_tm.tm_hour,
                                            now_tm.tm_min):
            year = now_tm.tm_year
        else:
            year = now_tm.tm_year + 1
    try:
        return time.mktime((year, month, mday, hour, minute, second, 0, 0, -1))
    except (OverflowError, ValueError):
        raise _TimeSpecError(pos, s) from None


# ---------------------------------------------------------------------------------------------
# timestamps
# ---------------------------------------------------------------------------------------------

_STANDARD = "%Y-%m-%dT%H:%M:%S"


def _relative_fmt(when: time.struct_time, now: float) -> str:
    """Slurm's `_relative_date_fmt` (SLURM_TIME_FORMAT=relative)."""
    today = time.localtime(int(now))
    distance = (1000 * when.tm_year + when.tm_yday) - (1000 * today.tm_year + today.tm_yday)
    if distance == -1:
        return "Ystday %H:%M"
    if distance == 0:
        return "%H:%M:%S"
    if distance == 1:
        return "Tomorr %H:%M"
    if distance < -365 or distance > 365:
        return "%-d %b %Y"
    if distance < -1 or distance > 6:
        return "%-d %b %H:%M"
    return "%a %H:%M"


def format_timestamp(ts: float | None, unknown: str = "Unknown", *,
                     time_format: str | None = None, now: float | None = None) -> str:
    """`slurm_make_time_str`: `YYYY-MM-DDTHH:MM:SS` in local time.  None (and 0, as in Slurm)
    print `unknown`.  The format follows SLURM_TIME_FORMAT (read from the environment unless
    time_format is given): unset/``standard`` = the default; ``relative`` = Slurm's relative
    form when `now` is given (else the default); any other string containing `%` (and shorter
    than 32 characters) is a strftime format; anything else falls back to the default."""
    if ts is None or ts == 0:
        return unknown
    fmt = time_format if time_format is not None else os.environ.get("SLURM_TIME_FORMAT")
    tm = time.localtime(int(ts))
    if not fmt or fmt == "standard":
        return time.strftime(_STANDARD, tm)
    if fmt == "relative":
        if now is None:
            return time.strftime(_STANDARD, tm)
        return time.strftime(_relative_fmt(tm, now), tm)
    if "%" not in fmt or len(fmt) >= 32:
        return time.strftime(_STANDARD, tm)
    return time.strftime(fmt, tm)
