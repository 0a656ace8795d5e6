"""squeue's compiled line function (`_line_function`) against the per-field printers
(`_lines_generic`): the same text for every field, width, justification and kind of row;
and the golden outputs again with the compiled path forced for every queue size."""
from __future__ import annotations

import dataclasses
import itertools

import pytest

import test_output_squeue as golden
from slurmshim import ledger as ledger_mod
from slurmshim.model import INFINITE, JobRecord, JobState
from slurmshim.output import squeue as sq
from slurmshim.output.fields import fit

NOW = golden.NOW


def _records() -> list[JobRecord]:
    """Varied records: every state, odd and missing values, array tasks and metas."""
    recs: list[JobRecord] = []
    jid = 100
    names = ["a", "exactly8", "a-much-longer-job-name", "", "tab\tname", "pct%sname"]
    users = ["root", "", "someone-long-name", "u"]
    parts = ["debug", "p", "a-long-partition-name", "gpu,cpu"]
    reasons = ["None", "JobHeldUser", "Priority", "Dependency", "", "BadConstraints"]
    limits = [None, INFINITE, 0, 1, 59, 60 * 25, 60 * 24 * 400]
    nodes = [None, "", "node1", "node[1-3]", "a-very-long-node-list-name[001-128]"]
    for i, state in enumerate(JobState):
        for k in range(6):
            jid += 1
            started = state is not JobState.PENDING or k == 3
            recs.append(JobRecord(
                job_id=jid if k != 5 else 10 ** 17 + jid,
                name=names[(i + k) % len(names)],
                user=users[(i + 2 * k) % len(users)],
                uid=1000 + k,
                partition=parts[(i + k) % len(parts)],
                account=None if k == 1 else "acct",
                qos=None if k == 2 else "normal",
                state=state,
                reason=reasons[(i * 3 + k) % len(reasons)],
                time_limit=limits[(i + k) % len(limits)],
                submit_time=NOW - 900 - k,
                start_time=(NOW - 600 + k * 7) if started else None,
                end_time=(NOW - 60) if state.is_terminal and k % 2 else None,
                node_list=nodes[(i + k) % len(nodes)] if started else None,
                num_nodes=1 + k % 3,
                num_cpus=1 + k,
                num_tasks=1 + k % 2,
                priority=1000 - k,
                hold=k == 4,
                nice=k - 2,
                restarts=k % 2,
                comment=None if k % 2 else "c",
                work_dir="/w",
            ))
    # an array: two tasks that ran, a pending meta with a throttle, a held task split off
    for t, state in ((0, JobState.RUNNING), (1, JobState.COMPLETED)):
        jid += 1
        recs.append(JobRecord(job_id=jid, name="arr", user="root", uid=0, partition="debug",
                              state=state, array_job_id=500, array_task_id=t,
                              start_time=NOW - 100, node_list="node2", submit_time=NOW - 200))
    recs.append(JobRecord(job_id=500, name="arr", user="root", uid=0, partition="debug",
                          state=JobState.PENDING, array_job_id=500, array_pending=(2, 3, 4, 7),
                          array_throttle=2, submit_time=NOW - 200))
    recs.append(JobRecord(job_id=jid + 1, name="arr", user="root", uid=0, partition="debug",
                          state=JobState.PENDING, reason="JobHeldUser", array_job_id=500,
                          array_task_id=9, submit_time=NOW - 200))
    # a meta whose id text is longer than 31 characters
    recs.append(JobRecord(job_id=600, name="big", user="root", uid=0, partition="debug",
                          state=JobState.PENDING, array_job_id=600,
                          array_pending=tuple(range(0, 400, 3)), submit_time=NOW - 200))
    return recs


def _rows(array: bool = False) -> list[sq.Row]:
    rows = sq.select_rows(_records(), sq.JobFilter(all_states=True), now=NOW,
                          bitstr_len=0 if array else 64)
    if not array:
        rows = sq.combine_pending(rows, 64)
    rows = sq.sort_rows(rows, None, now=NOW)
    if array:
        rows = list(sq._expand(rows))
    return rows


ROWS = _rows()
ROWS_EXPANDED = _rows(array=True)
WIDTHS = (0, -1, 1, 2, 5, 6, 8, 18, 40)


def _both(fmt: sq.Format, rows, **ctx_kw) -> tuple[list[str], list[str]]:
    kw = dict(spec_of=None, default_limits={"debug": 30, "p": INFINITE}, id_cut=True,
              cluster="c1")
    kw.update(ctx_kw)
    ctx_a = sq._Ctx(NOW, **kw)
    ctx_b = sq._Ctx(NOW, **kw)
    _header, pieces = sq._compile(fmt, ctx_a)
    return sq._lines_generic(rows, pieces), sq._line_function(fmt, ctx_b)(rows)


@pytest.mark.parametrize("fd", sq.FIELDS, ids=lambda fd: fd.name)
def test_every_field_compiles_to_the_printers_text(fd):
    for width, right, id_cut in itertools.product(WIDTHS, (False, True), (True, False)):
        fmt = sq.Format([sq.FieldSpec(fd, width, right, "|")])
        for rows in (ROWS, ROWS_EXPANDED):
            generic, compiled = _both(fmt, rows, id_cut=id_cut)
            assert compiled == generic, (fd.name, width, right, id_cut)


@pytest.mark.parametrize("text", [
    sq.DEFAULT_FORMAT, sq.LONG_FORMAT, sq.START_FORMAT, sq.ONLY_STATE_FORMAT, "%all",
    "pre%%fix %.5i%%|%-3P %j%5u%%s %t%Tx %.1M %l %L %D %R %.3R %b %Q %O%z",
    "%10%", "no fields at all", "%5O %v", "%s%%d",
])
def test_formats_compile_to_the_printers_text(text):
    fmt = sq.parse_format(text)
    for rows in (ROWS, ROWS_EXPANDED):
        generic, compiled = _both(fmt, rows)
        assert compiled == generic


@pytest.mark.parametrize("text", [sq.DEFAULT_FORMAT_LONG, sq.LONG_FORMAT_LONG,
                                  "jobarrayid:.5 ,partition:-3,name:4,username,statecompact:0,"
                                  "timeused,timelimit:.3,numnodes:.1,reasonlist:12,bogus"])
def test_long_formats_compile_to_the_printers_text(text):
    fmt = sq.parse_long_format(text)
    generic, compiled = _both(fmt, ROWS)
    assert compiled == generic


def test_conversions_match_fit():
    for text, width, right, cut in itertools.product(
            ["", "a", "abcde", "abcdef", "0123456789abcdefghij", None], WIDTHS + (-3,),
            (False, True), (False, True)):
        value = sq._null_text(width, right) if text is None else text
        assert sq._conversion(width, right, cut) % (value,) == fit(text, width, right, cut)


def test_render_rows_same_on_both_sides_of_the_threshold(monkeypatch):
    fmt = sq.default_format(False)
    below = sq.render_rows(ROWS, fmt, now=NOW)
    monkeypatch.setattr(sq, "_COMPILE_MIN_ROWS", 0)
    assert sq.render_rows(ROWS, fmt, now=NOW) == below
    assert sq.render_rows([], fmt, now=NOW) == sq.render_rows([], fmt, now=NOW, noheader=False)


# the golden tests once more, every queue through the compiled line function
_utc = golden._utc


@pytest.fixture(autouse=True)
def _always_compile(monkeypatch):
    monkeypatch.setattr(sq, "_COMPILE_MIN_ROWS", 1)


test_golden_queue13 = golden.test_golden_queue13
test_golden_t_all = golden.test_golden_t_all
test_golden_array_fields = golden.test_golden_array_fields
test_golden_combined_pending_tasks = golden.test_golden_combined_pending_tasks
test_golden_time_limit_overflows_column = golden.test_golden_time_limit_overflows_column
test_every_long_name_renders = golden.test_every_long_name_renders
test_field_values = golden.test_field_values


# ----------------------------------------------------------------------- the listing records

def test_listing_slots_are_the_listing_columns():
    assert ledger_mod.ListedJobRecord.__slots__ == ledger_mod._LISTING_COLUMNS + ("spec", "_rest")


def test_listing_builds_every_listed_column(tmp_path):
    led = ledger_mod.Ledger(tmp_path / "l.sqlite3")
    recs = [dataclasses.replace(r, node_list=r.node_list or "", account=r.account or "a",
                                qos=r.qos or "q", comment=r.comment or "")
            for r in _records() if r.array_job_id is None][:30]
    for r in recs:
        led.db.execute(
            f"INSERT INTO jobs ({','.join(ledger_mod._JOB_COLUMNS)}) VALUES "
            f"({','.join('?' * len(ledger_mod._JOB_COLUMNS))})", ledger_mod._record_values(r))
    full = {r.job_id: r for r in led.all()}
    listed = ledger_mod._listed_records(
        led.db.execute(f"{ledger_mod._LISTING_SELECT} ORDER BY job_id"),
        ledger_mod._RestOfListing(led.db, "", ()))
    assert [r.job_id for r in listed] == sorted(full)
    for rec in listed:
        for col in ledger_mod._JOB_COLUMNS:
            assert getattr(rec, col) == getattr(full[rec.job_id], col), col
        assert rec == full[rec.job_id]
