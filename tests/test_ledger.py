"""Ledger queries written for their indexes return what their plain conditions describe, and an
older ledger is migrated in place."""
from __future__ import annotations

import random

from slurmshim import ledger as ledger_mod
from slurmshim.ledger import Ledger
from slurmshim.model import JobRecord, JobState

NOW = 1_800_000_000.0


def _fill(led: Ledger, n: int, seed: int) -> list[JobRecord]:
    rnd = random.Random(seed)
    recs = []
    with led.transaction():
        for i in range(1, n + 1):
            state = rnd.choice(list(JobState))
            rec = JobRecord(job_id=i, name=f"j{i}", state=state,
                            backend=rnd.choice(["local", "batch"]),
                            hold=rnd.choice([None, None, "user", "admin"]),
                            end_time=rnd.choice([None, NOW - 10, NOW - 1000, NOW + 5]),
                            submit_time=NOW - 2000)
            led.insert(rec)
            recs.append(rec)
    return recs


def _ids(recs) -> list[int]:
    return [r.job_id for r in recs]


def test_indexed_queries_match_their_conditions(tmp_path):
    led = Ledger(tmp_path / "ledger.sqlite3")
    recs = _fill(led, 400, seed=1)
    for min_age in (0, 300, 5000):
        want = [r for r in recs if r.state.is_active
                or (r.end_time is not None and r.end_time >= NOW - min_age)]
        assert _ids(led.visible(min_age, now=NOW)) == _ids(want)
    started = (JobState.RUNNING, JobState.COMPLETING, JobState.CONFIGURING)
    for backend in ("local", "batch", "none"):
        want = [r for r in recs if r.state.is_active and r.backend == backend
                and r.state in started]
        assert _ids(led.in_states(backend, started)) == _ids(want)
        want = [r for r in recs if r.state.is_active and r.backend == backend
                and (r.hold is None or r.state != JobState.PENDING)]
        assert _ids(led.schedulable(backend)) == _ids(want)
    assert sorted(led.active_backends()) == sorted({r.backend for r in recs
                                                    if r.state.is_active})
    got = {r.job_id: r for r in led.visible(5000, now=NOW)}
    for r in recs:
        if r.job_id in got:
            assert got[r.job_id] == r          # every column comes back as stored


def test_schema_1_ledger_is_migrated(tmp_path, monkeypatch):
    path = tmp_path / "ledger.sqlite3"
    monkeypatch.setattr(ledger_mod, "SCHEMA_VERSION", 1)
    led = Ledger(path)
    recs = _fill(led, 20, seed=2)
    assert "jobs_sched" not in {r[1] for r in led.db.execute("PRAGMA index_list(jobs)")}
    led.close()
    monkeypatch.undo()
    led = Ledger(path)
    assert led.db.execute("PRAGMA user_version").fetchone()[0] == ledger_mod.SCHEMA_VERSION
    assert "jobs_sched" in {r[1] for r in led.db.execute("PRAGMA index_list(jobs)")}
    assert _ids(led.visible(10**9, now=NOW)) == _ids(
        [r for r in recs if r.state.is_active or r.end_time is not None])
