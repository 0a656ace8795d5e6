"""Golden tests for slurmshim.output.squeue against the real Slurm 25.11.7 captures.

Each scenario rebuilds, as JobRecords, the queue the capture was taken from, with `now` chosen
so that the TIME column matches; the rendered text must equal the captured stdout byte for byte.
"""
from __future__ import annotations

import calendar
import json
import re
import time
from pathlib import Path

import pytest

from slurmshim.errors import SlurmError
from slurmshim.model import INFINITE, JobRecord, JobSpec, JobState, Resources, StepRecord
from slurmshim.output import squeue as sq
from slurmshim.output.fields import fit, parse_long_format, parse_percent_format

CAPTURES = Path("/work/shared/reference/real-slurm-25.11")

_BLOCK = re.compile(r"^\$ ([^\n]*)\n\[exit (\d+)\]\n--- stdout ---\n(.*?)--- stderr ---\n(.*?)(?=\n\$ |\Z)",
                    re.S | re.M)


def blocks(name: str) -> list[tuple[str, int, str, str]]:
    text = (CAPTURES / name).read_text()
    return [(m.group(1), int(m.group(2)), m.group(3), m.group(4)) for m in _BLOCK.finditer(text)]


def capture(name: str, cmd: str) -> tuple[int, str, str]:
    for c, rc, out, err in blocks(name):
        if c == cmd:
            return rc, out, err
    raise KeyError(f"{cmd!r} not in {name}")


needs_captures = pytest.mark.skipif(not CAPTURES.is_dir(), reason="reference captures not present")


@pytest.fixture(autouse=True)
def _utc(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.delenv("SLURM_TIME_FORMAT", raising=False)
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


# ----------------------------------------------------------------------- scenarios

NOW = calendar.timegm((2026, 11, 22, 10, 40, 9, 0, 0, 0))   # 13/14: "Sun Nov 22 10:40:09 2026"


def J(job_id: int, name: str, state: JobState = JobState.PENDING, **kw) -> JobRecord:
    kw.setdefault("time_limit", INFINITE)
    kw.setdefault("submit_time", NOW - 600)
    kw.setdefault("user", "root")
    kw.setdefault("uid", 0)
    return JobRecord(job_id=job_id, name=name, partition="debug", account="root", qos="normal",
                     state=state, **kw)


def queue13() -> list[JobRecord]:
    """The queue of 13_squeue_default.txt (also 14-18, 20-23)."""
    return [
        J(7, "hello", reason="JobHeldUser", hold="user", priority=0),
        J(19, "hello", reason="Dependency", dependency="afterok:7"),
        J(41, "sleeper", JobState.RUNNING, start_time=NOW - 13, node_list="node01"),
        J(42, "arrrun", reason="JobArrayTaskLimit", array_job_id=42, array_pending=(2, 3, 4),
          array_throttle=1),
        J(43, "arrrun", JobState.RUNNING, array_job_id=42, array_task_id=1, array_throttle=1,
          start_time=NOW - 9, node_list="node01"),
        J(44, "arrthr", reason="Resources", array_job_id=44, array_pending=tuple(range(1, 11)),
          array_throttle=2),
    ]


# (display id, raw id, run seconds) of the finished jobs of 19_squeue_t_all.txt, in the
# captured order (start times descending)
_DONE = [("35", 35, 3), ("14", 14, 2), ("13", 13, 3), ("12_1", 12, 3), ("12_0", 31, 2),
         ("11_7", 11, 2), ("11_3", 29, 2), ("11_5", 30, 2), ("11_1", 28, 2), ("10_10", 10, 2),
         ("10_8", 26, 2), ("10_9", 27, 2), ("10_6", 24, 2), ("10_7", 25, 2), ("10_4", 22, 3),
         ("10_5", 23, 3), ("10_3", 21, 2), ("10_2", 20, 3), ("10_1", 18, 2), ("9_3", 9, 2),
         ("9_1", 16, 2), ("9_2", 17, 2), ("5", 5, 2), ("9_0", 15, 2), ("3", 3, 0), ("4", 4, 2),
         ("1", 1, 2), ("2", 2, 2)]


def queue19() -> list[JobRecord]:
    recs = queue13()
    start = NOW - 100
    for disp, raw, secs in _DONE:
        kw: dict = {}
        if "_" in disp:
            a, t = disp.split("_")
            kw = {"array_job_id": int(a), "array_task_id": int(t)}
        recs.append(J(raw, "wrap" if raw == 3 else "hello", JobState.COMPLETED,
                      start_time=start, end_time=start + secs, node_list="node01", **kw))
        start -= 1
    recs.append(J(36, "exit3", JobState.FAILED, reason="NonZeroExitCode", exit_code=3,
                  start_time=NOW - 50, end_time=NOW - 47, node_list="node01"))
    recs.append(J(34, "exit3", JobState.FAILED, reason="NonZeroExitCode", exit_code=3,
                  start_time=NOW - 60, end_time=NOW - 57, node_list="node01"))
    return recs


def queue48() -> list[JobRecord]:
    return [
        J(77, "sleep20", reason="Resources", array_job_id=77, array_pending=(3,)),
        J(78, "sleep20", JobState.RUNNING, array_job_id=77, array_task_id=1,
          start_time=NOW - 2, node_list="node01"),
        J(79, "sleep20", JobState.RUNNING, array_job_id=77, array_task_id=2,
          start_time=NOW - 2, node_list="node01"),
    ]


def squeue(records, *, fmt=None, long=False, flt=None, sort=None, array=False, noheader=False,
           now=NOW, **kw) -> str:
    """Run the same pipeline the CLI runs: filter, then render."""
    rows = sq.select_rows(records, flt, now=now, bitstr_len=0 if array else 64)
    if isinstance(fmt, str) and fmt.startswith("-O "):
        fmt = sq.parse_long_format(fmt[3:])
    return sq.render(rows, fmt, now=now, long=long, sort=sort, array_expand=array,
                     noheader=noheader, **kw)


# ----------------------------------------------------------------------- goldens

GOLDEN_13 = [
    ("13_squeue_default.txt", "squeue", {}),
    ("14_squeue_long.txt", "squeue -l", {"long": True}),
    ("15_squeue_h_o.txt", 'squeue -h -o "%i %t"', {"fmt": "%i %t", "noheader": True}),
    ("16_squeue_o_format.txt", 'squeue -o "%.18i %.9P %.8j %.8u %.2t %.10M %.6D %R"',
     {"fmt": "%.18i %.9P %.8j %.8u %.2t %.10M %.6D %R"}),
    ("17_squeue_O.txt", 'squeue -O "JobID,State,Name,TimeLimit,NumCPUs,ReasonList"',
     {"fmt": "-O JobID,State,Name,TimeLimit,NumCPUs,ReasonList"}),
    ("18_squeue_r.txt", "squeue -r", {"array": True}),
    ("20_squeue_j.txt", "squeue -j 41,7", {"flt": sq.JobFilter(jobs=[(41, None), (7, None)])}),
    ("20_squeue_j.txt", "squeue -j 42", {"flt": sq.JobFilter(jobs=[(42, None)])}),
    ("20_squeue_j.txt", "squeue -j 42_3", {"flt": sq.JobFilter(jobs=[(42, 3)])}),
    ("20_squeue_j.txt", "squeue -j 44 -r", {"flt": sq.JobFilter(jobs=[(44, None)]),
                                             "array": True}),
    ("20_squeue_j.txt", "squeue -j 36", {"flt": sq.JobFilter(jobs=[(36, None)])}),
    ("21_squeue_me_user.txt", "squeue --me", {"flt": sq.JobFilter(uids=frozenset({0}))}),
    ("21_squeue_me_user.txt", "squeue -u root", {"flt": sq.JobFilter(uids=frozenset({0}))}),
    ("21_squeue_me_user.txt", "squeue -u nosuchuser", {"flt": sq.JobFilter(uids=frozenset())}),
    ("22_squeue_states.txt", "squeue --states=PD",
     {"flt": sq.JobFilter(states=frozenset({JobState.PENDING}))}),
    ("22_squeue_states.txt", "squeue -t R",
     {"flt": sq.JobFilter(states=frozenset({JobState.RUNNING}))}),
    ("22_squeue_states.txt", "squeue -t PD -r",
     {"flt": sq.JobFilter(states=frozenset({JobState.PENDING})), "array": True}),
    ("23_squeue_sort.txt", "squeue -S i", {"sort": "i"}),
    ("23_squeue_sort.txt", "squeue -S -i", {"sort": "-i"}),
    ("23_squeue_sort.txt", "squeue -p long", {"flt": sq.JobFilter(partitions=["long"])}),
]


@needs_captures
@pytest.mark.parametrize("fname,cmd,kw", GOLDEN_13, ids=[g[1] for g in GOLDEN_13])
def test_golden_queue13(fname, cmd, kw):
    rc, out, _err = capture(fname, cmd)
    assert rc == 0
    records = queue19() if fname == "20_squeue_j.txt" else queue13()
    assert squeue(records, **kw) == out


@needs_captures
def test_golden_t_all():
    _rc, out, _ = capture("19_squeue_t_all.txt", "squeue -t all")
    assert squeue(queue19(), flt=sq.JobFilter(all_states=True)) == out


@needs_captures
def test_golden_finished_job_needs_t_all():
    _rc, out, _ = capture("20_squeue_j.txt", "squeue -j 36 -t all")
    assert squeue(queue19(), flt=sq.JobFilter(jobs=[(36, None)], all_states=True)) == out
    # and the default states hide it, even with -j
    _rc, out, _ = capture("20_squeue_j.txt", "squeue -j 36")
    assert squeue(queue19(), flt=sq.JobFilter(jobs=[(36, None)])) == out


GOLDEN_48 = [
    ('squeue -o "%A %a %F %K %i %j %T %r"', {"fmt": "%A %a %F %K %i %j %T %r"}),
    ('squeue -r -o "%A %a %F %K %i %j %T %r"', {"fmt": "%A %a %F %K %i %j %T %r", "array": True}),
    ('squeue -O "ArrayJobID,ArrayTaskID,JobID,JobArrayID,State,Reason"',
     {"fmt": "-O ArrayJobID,ArrayTaskID,JobID,JobArrayID,State,Reason"}),
    ('squeue -r -O "ArrayJobID,ArrayTaskID,JobID,JobArrayID,State,Reason"',
     {"fmt": "-O ArrayJobID,ArrayTaskID,JobID,JobArrayID,State,Reason", "array": True}),
]


@needs_captures
@pytest.mark.parametrize("cmd,kw", GOLDEN_48, ids=[g[0] for g in GOLDEN_48])
def test_golden_array_fields(cmd, kw):
    _rc, out, _ = capture("48_squeue_array_fields.txt", cmd)
    assert squeue(queue48(), **kw) == out


@needs_captures
def test_golden_raw_task_id_matches():
    """57: `-j 56` selects array task 55_1 by its raw id."""
    now = NOW
    recs = [J(55, "arrc", reason="Resources", array_job_id=55, array_pending=(2, 3, 4)),
            J(56, "arrc", JobState.RUNNING, array_job_id=55, array_task_id=1,
              start_time=now - 1, node_list="node01")]
    _rc, out, _ = capture("57_array_task_raw_jobid_quirks.txt", "squeue -r -j 56")
    assert squeue(recs, flt=sq.JobFilter(jobs=[(56, None)]), array=True) == out


@needs_captures
def test_golden_combined_pending_tasks():
    """50: a requeue-held task folds back into its pending meta record; the throttle is lost
    and the reasons are joined; CG sorts before PD."""
    recs = [
        J(42, "arrrun", reason="JobArrayTaskLimit", array_job_id=42, array_pending=(3, 4),
          array_throttle=1),
        J(43, "arrrun", reason="JobHeldUser", hold="user", priority=0, array_job_id=42,
          array_task_id=1, array_throttle=1),
        J(45, "arrrun", JobState.COMPLETING, array_job_id=42, array_task_id=2,
          start_time=NOW - 16, node_list="node01"),
    ]
    _rc, out, _ = capture("50_scancel_array_task.txt", "squeue -t all -j 42")
    assert squeue(recs, flt=sq.JobFilter(jobs=[(42, None)], all_states=True)) == out


@needs_captures
def test_golden_cancelled_while_pending():
    """58: jobs cancelled while pending sort as if they started when cancelled; a cancelled
    meta record with nothing left pending shows its bare id; the held job (priority 0) last."""
    t = NOW
    recs = [
        J(7, "hello", JobState.CANCELLED, hold="user", priority=0, end_time=t),
        J(19, "hello", JobState.CANCELLED, end_time=t),
        J(41, "sleeper", JobState.CANCELLED, end_time=t, restarts=1),
        J(55, "arrc", JobState.CANCELLED, array_job_id=55, array_pending=(), end_time=t),
        J(56, "arrc", JobState.CANCELLED, array_job_id=55, array_task_id=1,
          start_time=t - 30, end_time=t - 25, node_list="node01"),
        J(58, "arrc", JobState.RUNNING, array_job_id=55, array_task_id=3,
          start_time=t - 6, node_list="node01"),
    ]
    _rc, out, _ = capture("58_scancel_user_pending.txt", "squeue -t all -j 7,19,41,55")
    flt = sq.JobFilter(jobs=[(7, None), (19, None), (41, None), (55, None)], all_states=True)
    assert squeue(recs, flt=flt) == out


@needs_captures
def test_golden_time_limit_overflows_column():
    """39: `1-02:04:00` does not fit TIME_LIMI (9) and is not cut."""
    recs = [J(7, "hello", reason="JobHeldUser", hold="user", priority=0, time_limit=1564)]
    _rc, out, _ = capture("39_scontrol_update.txt", "squeue -j 7 -l")
    now = calendar.timegm((2026, 11, 22, 10, 40, 23, 0, 0, 0))
    assert squeue(recs, flt=sq.JobFilter(jobs=[(7, None)]), long=True, now=now) == out


@needs_captures
def test_golden_empty_queue():
    _rc, out, _ = capture("46_empty_queue.txt", "squeue")
    assert squeue([]) == out


@needs_captures
def test_golden_reason_none_after_release():
    recs = [J(19, "hello", reason="None", dependency="afterok:7")]
    # 37: after `scontrol release` the reason is None even with the dependency unmet
    blocks37 = [b for b in blocks("37_scontrol_hold_release.txt") if b[0] == "squeue -j 19"]
    assert squeue(recs, flt=sq.JobFilter(jobs=[(19, None)])) == blocks37[-1][2]


# ----------------------------------------------------------------------- json

def _shape(v):
    if isinstance(v, dict):
        return {k: _shape(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_shape(x) for x in v[:1]]
    return type(v).__name__


@needs_captures
def test_json_layout_matches_capture():
    _rc, out, _ = capture("24_squeue_json.txt", "squeue --json -j 41")
    real = json.loads(out)
    rec = J(41, "sleeper", JobState.RUNNING, start_time=NOW - 13, node_list="node01",
            submit_time=NOW - 13, eligible_time=NOW - 13,
            command="/tmp/research/oracle/work/sleep120.sh",
            work_dir="/tmp/research/oracle/work",
            stdout_path="/tmp/research/oracle/work/slurm-41.out")
    spec = JobSpec(submit_line="sbatch sleep120.sh", user="root", group="root",
                   submit_host="localhost", resources=Resources(mem_per_cpu=1024))
    text = sq.render_json([rec], now=NOW, cluster="oracle", command=["squeue", "--json", "-j"],
                          client_user="root", client_group="root", spec_of=lambda r: spec,
                          last_backfill=NOW - 80, last_update=NOW)
    mine = json.loads(text)
    # same keys, same order, same value types, all the way down
    assert list(mine) == list(real)
    assert list(mine["jobs"][0]) == list(real["jobs"][0])
    assert _shape(mine["jobs"][0]) == _shape(real["jobs"][0])
    assert mine["meta"] == real["meta"]
    job, rj = mine["jobs"][0], real["jobs"][0]
    for key in ("account", "array_job_id", "array_task_id", "array_task_string", "batch_host",
                "cluster", "command", "cpus", "exit_code", "derived_exit_code", "group_name",
                "job_id", "job_state", "name", "nodes", "node_count", "partition", "priority",
                "qos", "standard_input", "standard_output", "standard_error", "stdout_expanded",
                "state_reason", "submit_line", "tasks", "time_limit", "tres_req_str",
                "tres_alloc_str", "user_name", "user_id", "current_working_directory",
                "memory_per_cpu", "hold", "requeue", "mail_user", "allocating_node"):
        assert job[key] == rj[key], key
    # end time of an UNLIMITED running job: start + 365 days
    assert job["end_time"]["number"] - job["start_time"]["number"] == 365 * 86400
    # the byte layout: escaped slashes, empty lists on two lines, 2-space indent
    assert '"command": "\\/tmp\\/research' in text
    assert '"gres_detail": [\n      ],' in text
    assert text.endswith('  "warnings": [\n  ]\n}\n')


@needs_captures
def test_json_empty_queue_prefix():
    _rc, out, _ = capture("46_empty_queue.txt", "squeue --json | head -c 400")
    text = sq.render_json([], now=1795344834, cluster="oracle", command=["squeue"],
                          client_user="root", client_group="root",
                          last_backfill=1795344828, last_update=1795344834)
    assert text[:400] == out[:400].replace('"sou', '"sou')
    assert text.startswith(out[:len(out)])


# ----------------------------------------------------------------------- format parsing

def test_fit_rules():
    assert fit("abcdef", 4, False) == "abcd"
    assert fit("ab", 4, False) == "ab  "
    assert fit("ab", 4, True) == "  ab"
    assert fit("abcdef", 4, True) == "abcd"
    assert fit("abcdef", 4, True, cut=False) == "abcdef"
    assert fit("abcdef", 4, False, cut=False) == "abcd"     # printf precision still applies
    assert fit("x", 0, False) == "x"
    assert fit("x", -3, False) == "x "
    assert fit(None, 8, False) == "(null)  "
    assert fit(None, 4, False) == "    "                    # glibc: precision < 6 -> ""
    assert fit(None, 8, True) == "  (null)"


def test_percent_format_prefix_suffix_and_invalid():
    toks, bad = parse_percent_format("JOB:%i|%5j%%t end", lambda c: c in "ijt")
    assert [(t.key, t.width, t.right, t.suffix, t.valid) for t in toks] == [
        (None, 0, False, "JOB:", True), ("i", 0, False, "|", True), ("j", 5, False, "", True),
        ("t", 0, False, " end", True)]
    toks, bad = parse_percent_format("%i %!x", lambda c: c == "i")
    assert bad == ["!"]
    assert toks[-1].suffix == "%!x" and not toks[-1].valid
    toks, bad = parse_percent_format("no fields", lambda c: True)
    assert [(t.key, t.suffix) for t in toks] == [(None, "no fields")]


def test_long_format_tokens():
    toks, bad = parse_long_format("JobID,name:.10,State:5|,bogus:3", lambda n: n != "bogus")
    assert [(t.key, t.width, t.right, t.suffix) for t in toks] == [
        ("JobID", 20, False, ""), ("name", 10, True, ""), ("State", 5, False, "|"),
        ("bogus", 3, False, "")]
    assert bad == ["bogus"]


def test_render_with_prefix_suffix_and_invalid_letter():
    fmt = sq.parse_format("[%i] %.4j%!")
    assert fmt.errors == ["Invalid job format specification: !"]
    out = sq.render([J(5, "longname")], fmt, now=NOW)
    assert out == "[JOBID] NAME%!\n[5] long%!\n"


def test_long_format_names_case_insensitive_and_invalid():
    fmt = sq.parse_long_format("jobid:5,NAME,nosuch")
    assert fmt.errors == ["Invalid job format specification: nosuch"]
    out = sq.render([J(5, "n")], fmt, now=NOW)
    assert out == "JOBIDNAME                \n5    n                   \n"


def test_all_letters_are_valid_and_percent_all():
    assert all(c in sq.BY_LETTER for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    fmt = sq.parse_format("%all")
    assert not fmt.errors
    header = sq.render_header(fmt)
    assert header.startswith("ACCOUNT|TRES_PER_NODE|MIN_CPUS|MIN_TMP_DISK|END_TIME|")
    # every field renders for every kind of record without raising
    recs = queue19()
    text = sq.render(sq.select_rows(recs, sq.JobFilter(all_states=True), now=NOW), fmt, now=NOW)
    assert len(text.splitlines()) == len(queue19()) + 1


def test_every_long_name_renders():
    names = ",".join(fd.name for fd in sq.FIELDS)
    fmt = sq.parse_long_format(names)
    assert not fmt.errors
    spec = JobSpec(group="root", gid=0, resources=Resources(mem_per_cpu=1024, cpus_per_task=2))
    text = sq.render(queue13(), fmt, now=NOW, spec_of=lambda r: spec)
    assert len(text.splitlines()) == 7


def test_field_values():
    spec = JobSpec(group="grp", gid=50, resources=Resources(mem_per_cpu=1024, cpus_per_task=2),
                   wckey="wk", licenses="lic:2")
    recs = [J(41, "sleeper", JobState.RUNNING, start_time=NOW - 3725, node_list="node01",
              time_limit=120, num_cpus=2, uid=1000, exit_code=0)]
    out = sq.render(recs, "%m|%c|%g|%G|%w|%W|%L|%l|%M|%e|%S|%Q|%p|%B|%h|%z|%b|%U|%k|%v|%E",
                    now=NOW, spec_of=lambda r: spec, noheader=True)
    assert out == ("1G|2|grp|50|wk|lic:2|57:55|2:00:00|1:02:05|2026-11-22T11:38:04|"
                   "2026-11-22T09:38:04|1|0.00000000023283|node01|OK|*:*:*|N/A|1000|(null)|"
                   "(null)|(null)\n")


def test_time_fields_pending_and_unset():
    recs = [J(5, "p", time_limit=None)]
    out = sq.render(recs, "%M|%l|%L|%S|%e|%V", now=NOW, noheader=True)
    assert out == "0:00|NOT_SET|NOT_SET|N/A|N/A|2026-11-22T10:30:09\n"
    out = sq.render(recs, "%l", now=NOW, noheader=True, default_limits={"debug": INFINITE})
    assert out == "UNLIMITED\n"
    long_limit = [J(6, "p", time_limit=400 * 24 * 60)]
    assert sq.render(long_limit, "%l", now=NOW, noheader=True) == "INVALID\n"


def test_terminal_reasons_and_nodes():
    t = NOW
    recs = [
        J(1, "to", JobState.TIMEOUT, start_time=t - 70, end_time=t - 5, node_list="node01"),
        J(2, "ca", JobState.CANCELLED, start_time=t - 70, end_time=t - 5, node_list="node02"),
        J(3, "oom", JobState.OUT_OF_MEMORY, start_time=t - 70, end_time=t - 5,
          node_list="node01"),
        J(4, "cg", JobState.COMPLETING, start_time=t - 10, node_list="node03"),
    ]
    out = sq.render(recs, "%i %t %M %R", now=t, noheader=True, sort="i")
    assert out == ("1 TO 1:05 (TimeLimit)\n2 CA 1:05 node02\n3 OOM 1:05 (OutOfMemory)\n"
                   "4 CG 0:10 node03\n")


def test_meta_id_forms():
    assert sq.array_task_str(range(1, 11), 2) == "1-10%2"
    assert sq.array_task_str((1, 3, 5, 7)) == "1,3,5,7"
    assert sq.array_task_str((4,)) == "4"
    assert sq.array_task_str(range(0, 31, 2)) == "0-30:2"
    many = tuple(range(0, 400, 3)) + (1000,)
    text = sq.array_task_str(many)
    assert len(text) == 63 and text.endswith("...")
    # %i is cut to 31 characters (the 32-byte buffer) unless SLURM_BITSTR_LEN is set
    rec = J(100, "big", reason="Resources", array_job_id=100, array_pending=many)
    out = sq.render([rec], "%i", now=NOW, noheader=True)
    assert out == ("100_[" + text)[:31] + "\n"
    out = sq.render([rec], "%i", now=NOW, noheader=True, bitstr_len=128)
    assert out.startswith("100_[0,3,6") and len(out) > 40


def test_partial_array_selection():
    recs = queue13()
    rows = sq.select_rows(recs, sq.JobFilter(jobs=[(44, 2), (44, 5), (44, 6)]), now=NOW)
    assert [sq.job_id_text(r) for r in rows] == ["44_[2,5-6]"]
    rows = sq.select_rows(recs, sq.JobFilter(jobs=[(42, 1)]), now=NOW)
    assert [sq.job_id_text(r) for r in rows] == ["42_1"]
    rows = sq.select_rows(recs, sq.JobFilter(jobs=[(42, 9)]), now=NOW)
    assert rows == []


def test_other_filters():
    recs = queue13()
    ids = lambda flt: sorted(r.rec.job_id for r in sq.select_rows(recs, flt, now=NOW))  # noqa: E731
    assert ids(sq.JobFilter(names=["HELLO"])) == [7, 19]
    assert ids(sq.JobFilter(accounts=["nope"])) == []
    assert ids(sq.JobFilter(qos=["NORMAL"])) == [7, 19, 41, 42, 43, 44]
    assert ids(sq.JobFilter(nodes=frozenset({"node01"}))) == [41, 43]
    assert ids(sq.JobFilter(notme_uid=0)) == []
    assert ids(sq.JobFilter(running_over=10)) == [41]
    assert ids(sq.JobFilter(running_under=10)) == [43]
    assert ids(sq.JobFilter(reservation="r1")) == []
    assert ids(sq.JobFilter(states=frozenset({JobState.COMPLETED}))) == []


def test_parse_job_list():
    assert sq.parse_job_list("12,13_2,14abc") == [(12, None), (13, 2), (14, None)]
    with pytest.raises(SlurmError, match="Invalid job id: abc"):
        sq.parse_job_list("abc")


def test_sort_keys_and_errors():
    recs = queue13()
    rows = lambda s: [sq.job_id_text(r) for r in sq.sort_rows(  # noqa: E731
        sq.make_rows(recs), s, now=NOW)]
    assert rows("j,i") == ["42_1", "42_[2-4%1]", "44_[1-10%2]", "7", "19", "41"]
    assert rows("-M") == ["41", "42_1", "44_[1-10%2]", "42_[2-4%1]", "19", "7"]
    assert rows("cluster,i")[0] == "7"
    assert sq.check_sort("i,b") == (None, ["Invalid sort specification: b"])
    assert sq.check_sort("name") == ("a", [])
    with pytest.raises(SlurmError, match="Invalid sort specification: k"):
        sq.sort_rows(sq.make_rows(recs), "k", now=NOW)


def test_steps_render():
    jobs = {41: J(41, "sleeper", JobState.RUNNING, start_time=NOW - 13, node_list="node01"),
            43: J(43, "arrrun", JobState.RUNNING, array_job_id=42, array_task_id=1,
                  start_time=NOW - 9, node_list="node01")}
    steps = [StepRecord(41, "batch", "batch", start_time=NOW - 13, node_list="node01"),
             StepRecord(41, "0", "hostname", start_time=NOW - 5, node_list="node01"),
             StepRecord(41, "extern", "extern", start_time=NOW - 13, node_list="node01"),
             StepRecord(43, "batch", "batch", start_time=NOW - 9, node_list="node01")]
    rows = sq.sort_steps(sq.select_steps(steps, jobs), None, now=NOW)
    out = sq.render_steps(rows, sq.parse_step_format(sq.STEP_FORMAT), now=NOW)
    assert out == ("         STEPID     NAME PARTITION     USER      TIME NODELIST\n"
                   "           41.0 hostname     debug     root      0:05 node01\n"
                   "       41.batch    batch     debug     root      0:13 node01\n"
                   "      41.extern   extern     debug     root      0:13 node01\n"
                   "     42_1.batch    batch     debug     root      0:09 node01\n")
    assert sq.render_steps([], sq.parse_step_format(sq.STEP_FORMAT), now=NOW) == \
        "         STEPID     NAME PARTITION     USER      TIME NODELIST\n"


def test_help_format_lists():
    text = sq.help_format_text()
    assert text.startswith("%a    %F    %K    %B    %o    %k    %O    %I    \n")
    assert "%b" not in text                    # hidden (vestigial Gres)
    text2 = sq.help_format2_text()
    assert text2.startswith("Account             AccrueTime          admin_comment       AllocNodes          \n")


def test_performance_10k_jobs():
    recs = []
    for i in range(10000):
        if i % 3 == 0:
            recs.append(J(100 + i, f"job{i}", reason="Priority"))
        else:
            recs.append(J(100 + i, f"job{i}", JobState.RUNNING, start_time=NOW - i,
                          node_list=f"node{i % 50:02d}"))
    best = 9.0
    for _ in range(3):
        t0 = time.perf_counter()
        rows = sq.select_rows(recs, now=NOW)
        text = sq.render(rows, now=NOW)
        best = min(best, time.perf_counter() - t0)
    assert text.count("\n") == 10001
    # generous bound for slow CI machines; ~30 ms on a laptop
    assert best < 0.5, best
