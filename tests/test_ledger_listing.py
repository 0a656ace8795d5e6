"""`Ledger.visible` reads only some columns up front (squeue's speed); every other column must
still arrive, exact, the moment anyone reads it, and the records must behave as JobRecords."""
from __future__ import annotations

import dataclasses
import random

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
    assert dataclasses.asdict(rec)["stdout_path"] == "/w/1/out"
    rec.hold = "user"
    led.save(rec)
    again = led.get(1)
    assert again.hold == "user" and again.work_dir == "/w/1" and again.exit_code == recs[1].exit_code
