"""Signal names and `--signal=[{R|B}:]SIG[@secs]`.

Slurm's `sig_name2num` / `sig_num2name` / `get_signal_opts` (src/common/proc_args.c) know a
fixed list of names (HUP INT QUIT ABRT KILL ALRM TERM CHLD USR1 USR2 PIPE URG CONT STOP TSTP
TTIN TTOU XCPU), with or without `SIG`, any case, or a number.  Numbers come from this
platform's `signal` module, because the signal is delivered here (local backend) or on Linux
(Batch), where they agree.  Pure, stdlib-only.
"""
from __future__ import annotations

import re
import signal as _signal

from ..model import SignalSpec

__all__ = ["SIGNAL_NAMES", "parse_signal", "signal_name", "parse_signal_spec",
           "format_signal_spec"]

SIGNAL_NAMES: dict[str, int] = {
    name: int(getattr(_signal, "SIG" + name))
    for name in ("HUP", "INT", "QUIT", "ABRT", "KILL", "ALRM", "TERM", "CHLD", "USR1", "USR2",
                 "PIPE", "URG", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "XCPU")
    if hasattr(_signal, "SIG" + name)
}
_BY_NUMBER = {num: name for name, num in SIGNAL_NAMES.items()}
_MAX = 0xFFFF
_NUMBER = re.compile(r"[+-]?[0-9]+")


def parse_signal(text: str) -> int:
    """`scancel -s`, `--signal`: `TERM`, `SIGTERM`, `usr2`, `15` (surrounding white space is
    ignored).  ValueError for unknown names, 0, negative or out-of-range numbers (scancel
    prints `Unknown job signal: TEXT`, exit 1)."""
    s = text.strip()
    if _NUMBER.fullmatch(s):
        num = int(s)
        if 1 <= num <= _MAX:
            return num
        raise ValueError(f"Unknown job signal: {text}")
    name = s.upper()
    if name.startswith("SIG"):
        name = name[3:]
    num = SIGNAL_NAMES.get(name)
    if num is None:
        raise ValueError(f"Unknown job signal: {text}")
    return num


def signal_name(num: int) -> str:
    """`sig_num2name`: `TERM` for 15, `USR1`, ...; other numbers as decimal text."""
    return _BY_NUMBER.get(num, str(num))


def parse_signal_spec(text: str) -> SignalSpec:
    """`--signal=[{R|B}:]SIG[@secs]` (`get_signal_opts`): `R` = the reservation-end flag,
    `B` = signal the batch shell only (either or both, any case, colon optional as in Slurm);
    SIG a name or number; secs 0..65535, default 60.  ValueError otherwise (sbatch prints
    `Invalid --signal specification`)."""
    s = text
    reservation = batch = False
    if s[:1] in ("R", "r"):
        reservation, s = True, s[1:]
    if s[:1] in ("B", "b"):
        batch, s = True, s[1:]
    if s[:1] in ("R", "r"):
        reservation, s = True, s[1:]
    if s.startswith(":"):
        s = s[1:]
    sig, at, secs_text = s.partition("@")
    try:
        num = parse_signal(sig)
    except ValueError:
        raise ValueError(f"Invalid --signal specification: {text}") from None
    secs = 60
    if at:
        # "USR1@" is 0 s in Slurm (strtol of "" with nothing left over)
        if (secs_text and not secs_text.isdigit()) or (secs_text and int(secs_text) > _MAX):
            raise ValueError(f"Invalid --signal specification: {text}")
        secs = int(secs_text) if secs_text else 0
    return SignalSpec(signum=num, secs=secs, batch_only=batch, reservation_only=reservation)


def format_signal_spec(spec: SignalSpec) -> str:
    """Back to option text (`signal_opts_to_cmdline`): `[R][B]:NAME[@secs]`, secs shown only
    when not the default 60."""
    out = ("R" if spec.reservation_only else "") + ("B" if spec.batch_only else "")
    if out:
        out += ":"
    out += signal_name(spec.signum)
    if spec.secs != 60:
        out += f"@{spec.secs}"
    return out
