"""Table tests for slurmshim.slurm.signals (sig_name2num, --signal)."""
from __future__ import annotations

import signal

import pytest

from slurmshim.model import SignalSpec
from slurmshim.slurm.signals import (SIGNAL_NAMES, format_signal_spec, parse_signal,
                                     parse_signal_spec, signal_name)


@pytest.mark.parametrize("text, num", [
    ("TERM", signal.SIGTERM),
    ("SIGTERM", signal.SIGTERM),
    ("term", signal.SIGTERM),
    ("sigterm", signal.SIGTERM),
    ("SigTerm", signal.SIGTERM),
    ("USR1", signal.SIGUSR1),          # capture 52 --signal=USR1
    ("USR2", signal.SIGUSR2),          # submitit
    ("SIGUSR2", signal.SIGUSR2),
    ("KILL", signal.SIGKILL),
    ("HUP", signal.SIGHUP),
    ("INT", signal.SIGINT),
    ("CONT", signal.SIGCONT),
    ("STOP", signal.SIGSTOP),
    ("XCPU", signal.SIGXCPU),
    ("15", 15),
    ("9", 9),
    (" 10 ", 10),
    ("+10", 10),
    ("  USR1", signal.SIGUSR1),
    ("64", 64),
])
def test_parse_signal(text, num):
    assert parse_signal(text) == num


@pytest.mark.parametrize("text", [
    "", "0", "-1", "70000", "BOGUS", "SIG", "SIGBOGUS", "USR", "USR3", "TERMX", "SEGV",
    "WINCH", "1.5", "15x", "SIG TERM",
])
def test_parse_signal_invalid(text):
    with pytest.raises(ValueError, match="Unknown job signal"):
        parse_signal(text)


@pytest.mark.parametrize("num, name", [
    (signal.SIGTERM, "TERM"), (signal.SIGUSR1, "USR1"), (signal.SIGKILL, "KILL"),
    (signal.SIGXCPU, "XCPU"), (99, "99"),
])
def test_signal_name(num, name):
    assert signal_name(num) == name


def test_names_round_trip():
    assert len(SIGNAL_NAMES) == 18
    for name, num in SIGNAL_NAMES.items():
        assert signal_name(num) == name
        assert parse_signal("SIG" + name) == num


@pytest.mark.parametrize("text, spec", [
    ("USR1", SignalSpec(signal.SIGUSR1, 60)),                     # default 60 s
    ("USR1@90", SignalSpec(signal.SIGUSR1, 90)),
    ("SIGUSR2@300", SignalSpec(signal.SIGUSR2, 300)),
    ("10@0", SignalSpec(10, 0)),
    ("USR1@65535", SignalSpec(signal.SIGUSR1, 65535)),
    ("B:USR1@90", SignalSpec(signal.SIGUSR1, 90, batch_only=True)),
    ("b:usr1", SignalSpec(signal.SIGUSR1, 60, batch_only=True)),
    ("R:TERM@30", SignalSpec(signal.SIGTERM, 30, reservation_only=True)),
    ("RB:TERM", SignalSpec(signal.SIGTERM, 60, batch_only=True, reservation_only=True)),
    ("BR:TERM", SignalSpec(signal.SIGTERM, 60, batch_only=True, reservation_only=True)),
    ("BUSR1", SignalSpec(signal.SIGUSR1, 60, batch_only=True)),  # the colon is optional
    ("USR1@", SignalSpec(signal.SIGUSR1, 0)),                     # strtol("") = 0 in Slurm
])
def test_parse_signal_spec(text, spec):
    assert parse_signal_spec(text) == spec


@pytest.mark.parametrize("text", [
    "", "@90", "B:", "BOGUS", "USR1@-1", "USR1@65536", "USR1@1m", "USR1@90@9", "0@10",
    "X:USR1", "B:USR1@ 5",
])
def test_parse_signal_spec_invalid(text):
    with pytest.raises(ValueError, match="Invalid --signal specification"):
        parse_signal_spec(text)


@pytest.mark.parametrize("spec, text", [
    (SignalSpec(signal.SIGUSR1, 60), "USR1"),
    (SignalSpec(signal.SIGUSR1, 90), "USR1@90"),
    (SignalSpec(signal.SIGTERM, 60, batch_only=True), "B:TERM"),
    (SignalSpec(signal.SIGTERM, 5, batch_only=True, reservation_only=True), "RB:TERM@5"),
    (SignalSpec(99, 60), "99"),
])
def test_format_signal_spec(spec, text):
    assert format_signal_spec(spec) == text
    assert parse_signal_spec(text) == spec
