"""`Ledger.visible` reads only some columns up front (squeue's speed); every other column must
still arrive, exact, the moment anyone reads it, and the records must behave as JobRecords."""
from __future__ import annotations

import dataclasses
import marshal
import random
import sqlite3
import time

from slurmshim import ledger as ledger_mod
from slurmshim.ledger import Ledger
from slurmshim.model import JobRecord, JobState

NOW = 1_800_000_000.0


def _fill(led: Ledger, n: int) -> dict[int, JobRecord]:
    rnd = random.Random(7)
    recs = {}
    with led.transaction():
        for i in range(1, n + 1):
            rec = JobRecord(
                job_id=i, name=f"j{i}", user=rnd.choice(["ann", "bob"]), uid=rnd.randint(0, 9),
                state=rnd.choice([JobState.PENDING, JobState.RUNNING, JobState.COMPLETED]),
                account=rnd.choice([None, "phys"]), qos=rnd.choice([None, "high"]),
                exit_code=rnd.randint(0, 3), work_dir=f"/w/{i}", command=f"/w/{i}/s.sh",
                stdout_path=f"/w/{i}/out", comment=rnd.choice([None, "c"]), time_limit=i,
                num_cpus=i % 4 + 1, submit_time=NOW - 100, backend_id=f"b{i}", spec_id=i,
                end_time=None, dependency=rnd.choice([None, "afterok:1"]))
            if rec.state is JobState.COMPLETED:
                rec.end_time = NOW - 10
            led.insert(rec)
            recs[i] = rec
    return recs


def test_every_column_arrives_exact(tmp_path):
    led = Ledger(tmp_path / "l.sqlite3")
    recs = _fill(led, 60)
    listed = led.visible(300, now=NOW)
    assert [r.job_id for r in listed] == sorted(recs)
    for rec in listed:
        want = recs[rec.job_id]
        for column in ledger_mod._JOB_COLUMNS:
            assert getattr(rec, column) == getattr(want, column), column
        assert rec == want and want == rec


def test_a_later_column_is_read_once_for_the_whole_listing(tmp_path, monkeypatch):
    led = Ledger(tmp_path / "l.sqlite3")
    _fill(led, 30)
    listed = led.visible(300, now=NOW)
    loads = []
    real = ledger_mod._RestOfListing.load
    monkeypatch.setattr(ledger_mod._RestOfListing, "load",
                        lambda self, c: (loads.append(c), real(self, c)))
    assert [r.work_dir for r in listed] == [f"/w/{r.job_id}" for r in listed]
    assert [r.work_dir for r in listed] == [f"/w/{r.job_id}" for r in listed]
    assert loads == ["work_dir"]


def test_a_row_gone_before_its_column_is_read_keeps_the_default(tmp_path):
    led = Ledger(tmp_path / "l.sqlite3")
    _fill(led, 5)
    listed = led.visible(10**9, now=NOW)
    led.db.execute("DELETE FROM jobs WHERE job_id=3")
    by_id = {r.job_id: r for r in listed}
    assert by_id[3].comment is None and by_id[3].work_dir == ""
    assert by_id[4].work_dir == "/w/4"


def test_listed_records_copy_and_save_whole(tmp_path):
    led = Ledger(tmp_path / "l.sqlite3")
    recs = _fill(led, 4)
    rec = led.visible(10**9, now=NOW)[0]
    copy = dataclasses.replace(rec, comment="changed")
    assert copy.work_dir == recs[1].work_dir and copy.comment == "changed"
    from slurmshim import _dataclass
    assert _dataclass.replace(rec, comment="changed") == copy
    assert dataclasses.asdict(rec)["stdout_path"] == "/w/1/out"
    rec.hold = "user"
    led.save(rec)
    again = led.get(1)
    assert again.hold == "user" and again.work_dir == "/w/1" and again.exit_code == recs[1].exit_code


# ------------------------------------------------------------ the stored listing blocks (schema 4)

def _listing_from_table(led: Ledger, cutoff: float) -> list[tuple]:
    """What the listing must be, read straight from the jobs table."""
    return led.db.execute(
        f"{ledger_mod._LISTING_SELECT} WHERE active=1 OR end_time >= ? ORDER BY job_id",
        (cutoff,)).fetchall()


def _listed(led: Ledger, min_age: float = 300) -> list[tuple]:
    return [tuple(getattr(r, c) if c != "state" else r.state.value for c in
                  ledger_mod._LISTING_COLUMNS) for r in led.visible(min_age, now=NOW)]


def _stored_blocks(led: Ledger) -> set[int]:
    """Blocks whose rows are stored (not stale)."""
    return {b for (b,) in led.db.execute("SELECT block FROM listing_blocks WHERE rows IS NOT NULL")}


def _forget_listing(led: Ledger) -> None:
    """Every block stale, as if every job had changed."""
    led.db.execute("UPDATE listing_blocks SET rows=NULL")


def _as_table_rows(rows: list[tuple]) -> list[tuple]:
    """Listed values in the table's form (array_pending packed)."""
    i = ledger_mod._LISTING_COLUMNS.index("array_pending")
    return [r[:i] + (ledger_mod.pack_indices(r[i]) or None,) + r[i + 1:] for r in rows]


def test_stored_blocks_follow_every_change_from_any_connection(tmp_path):
    """Random changes through the ledger's own methods, from two connections (two processes),
    between listings: every listing equals the table, and blocks get stored and reused."""
    path = tmp_path / "l.sqlite3"
    a, b = Ledger(path), Ledger(path)
    rnd = random.Random(11)
    next_id = 1
    states = [JobState.PENDING, JobState.RUNNING, JobState.COMPLETING, JobState.COMPLETED,
              JobState.CANCELLED, JobState.FAILED]
    for round_ in range(50):
        led = rnd.choice([a, b])
        op = rnd.random()
        with led.transaction():
            if op < 0.35 or next_id < 5:
                for _ in range(rnd.randint(1, 150)):
                    pending = tuple(range(rnd.randint(0, 4))) if rnd.random() < 0.1 else ()
                    led.insert(JobRecord(job_id=next_id, name=f"n{next_id % 7}", user="u",
                                         state=JobState.PENDING, submit_time=NOW,
                                         array_job_id=next_id if pending else None,
                                         array_pending=pending))
                    next_id += rnd.choice([1, 1, 1, 40])
            else:
                ids = [r for (r,) in led.db.execute("SELECT job_id FROM jobs")]
                for jid in rnd.sample(ids, min(len(ids), rnd.randint(1, 20))):
                    change = rnd.choice(["state", "hold", "priority", "reason", "end",
                                         "node_list", "delete", "pending"])
                    if change == "state":
                        st = rnd.choice(states)
                        led.update(jid, state=st, start_time=NOW - 5,
                                   end_time=NOW - rnd.choice([1, 1000]) if st.is_terminal
                                   else None)
                    elif change == "hold":
                        led.update(jid, hold=rnd.choice([None, "user", "admin"]))
                    elif change == "priority":
                        led.update(jid, priority=rnd.randint(0, 9))
                    elif change == "reason":
                        led.update(jid, reason=rnd.choice(["None", "Priority", "Resources"]))
                    elif change == "end":
                        led.update(jid, end_time=NOW - rnd.choice([1, 1000]))
                    elif change == "node_list":          # not a listing column
                        led.update(jid, node_list="n1")
                    elif change == "pending":
                        led.update(jid, array_pending=tuple(range(rnd.randint(0, 3))))
                    else:
                        led.db.execute("DELETE FROM jobs WHERE job_id=?", (jid,))
        reader = rnd.choice([a, b])
        for min_age in (300, 5000):
            assert _as_table_rows(_listed(reader, min_age)) == \
                _listing_from_table(reader, NOW - min_age), (round_, min_age)
    assert _stored_blocks(a)            # the last listings stored what they read


def test_a_listing_reads_stored_blocks_not_the_rows(tmp_path, monkeypatch):
    led = Ledger(tmp_path / "l.sqlite3")
    _fill(led, 600)
    first = _listed(led)
    assert _stored_blocks(led) == {0, 1, 2}
    queries = []
    led.db.set_trace_callback(queries.append)
    assert _listed(led) == first
    assert not [q for q in queries if "job_id >= " in q]       # no block read from the table
    led.update(300, priority=5)                                  # block 1 only
    assert _stored_blocks(led) == {0, 2}
    queries.clear()
    again = _listed(led)
    assert [q for q in queries if "job_id >= " in q] == [
        q for q in queries if "job_id >= 256 AND job_id < 512" in q]
    assert len([q for q in queries if "job_id >= " in q]) == 1
    assert [r for r in again if r[0] == 300][0][ledger_mod._LISTING_COLUMNS.index("priority")] == 5


def test_blocks_read_before_another_writer_committed_are_not_stored(tmp_path):
    """The store happens in the read transaction: if another process wrote since it began,
    SQLite refuses the upgrade and nothing (possibly older than the table) is stored."""
    path = tmp_path / "l.sqlite3"
    a, b = Ledger(path), Ledger(path)
    _fill(a, 10)
    _forget_listing(a)
    a.db.execute("BEGIN")
    fresh: dict[int, list] = {}
    rows = a._read_listing_rows(NOW - 300, fresh)
    assert fresh and rows
    b.update(3, priority=42)                                  # committed meanwhile
    ledger_mod._store_blocks(a.db, fresh)
    if a.db.in_transaction:
        a.db.execute("COMMIT")
    assert _stored_blocks(a) == set()
    assert [r for r in _listed(a) if r[0] == 3][0][
        ledger_mod._LISTING_COLUMNS.index("priority")] == 42


def test_a_listing_never_waits_for_another_writer(tmp_path):
    path = tmp_path / "l.sqlite3"
    a, b = Ledger(path), Ledger(path)
    _fill(a, 10)
    want = _listing_from_table(a, NOW - 300)
    _forget_listing(a)
    b.db.execute("BEGIN IMMEDIATE")                           # holds the write lock
    try:
        t0 = time.monotonic()
        assert _as_table_rows(_listed(a)) == want
        assert time.monotonic() - t0 < 10                     # not the 60 s busy timeout
        assert _stored_blocks(a) == set()
    finally:
        b.db.execute("COMMIT")
    assert _as_table_rows(_listed(a)) == want and _stored_blocks(a) == {0}
    assert a.db.execute("PRAGMA busy_timeout").fetchone()[0] == ledger_mod.BUSY_TIMEOUT_MS


def test_read_only_ledger_lists_without_storing(tmp_path):
    path = tmp_path / "l.sqlite3"
    _fill(Ledger(path), 20)
    led = Ledger(path)
    _forget_listing(led)
    led.db.close()
    led.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
    assert _as_table_rows(_listed(led)) == _listing_from_table(led, NOW - 300)
    assert _stored_blocks(led) == set()


def test_blocks_of_another_version_or_damaged_are_read_again(tmp_path):
    led = Ledger(tmp_path / "l.sqlite3")
    _fill(led, 300)
    want = _listed(led)
    led.db.execute("UPDATE listing_blocks SET rows=? WHERE block=0",
                   (marshal.dumps((("job_id", "name"), [(1, "x")])),))
    led.db.execute("UPDATE listing_blocks SET rows=x'00ff' WHERE block=1")
    assert _listed(led) == want


def test_a_block_without_active_jobs_is_dropped_and_comes_back_with_one(tmp_path):
    led = Ledger(tmp_path / "l.sqlite3")
    _fill(led, 3)
    with led.transaction():
        for jid in (1, 2, 3):
            led.update(jid, state=JobState.COMPLETED, end_time=NOW - 10_000)
    assert _listed(led) == []
    assert led.db.execute("SELECT count(*) FROM listing_blocks").fetchone()[0] == 0
    led.update(2, state=JobState.PENDING, end_time=None)       # requeued
    assert [r[0] for r in _listed(led)] == [2]


def test_schema_4_ledger_gets_a_row_for_every_active_block(tmp_path, monkeypatch):
    path = tmp_path / "l.sqlite3"
    monkeypatch.setattr(ledger_mod, "SCHEMA_VERSION", 4)
    old = Ledger(path)
    with old.transaction():
        for jid in (5, 300, 301, 900):
            old.insert(JobRecord(job_id=jid, name="x", state=JobState.PENDING, submit_time=NOW))
        old.insert(JobRecord(job_id=1200, name="x", state=JobState.COMPLETED, submit_time=NOW,
                             end_time=NOW - 10_000))
    old.close()
    monkeypatch.undo()
    led = Ledger(path)
    assert led.db.execute("PRAGMA user_version").fetchone()[0] == ledger_mod.SCHEMA_VERSION
    assert [r[0] for r in _listed(led)] == [5, 300, 301, 900]
    assert _stored_blocks(led) == {0, 1, 3}
