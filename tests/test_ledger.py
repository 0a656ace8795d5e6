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


# ------------------------------------------------------------------ steps per attempt (schema 3)

def _v2_ledger(path, monkeypatch) -> Ledger:
    """A ledger as slurmshim with schema 2 left it (steps without an attempt column)."""
    monkeypatch.setattr(ledger_mod, "SCHEMA_VERSION", 2)
    led = Ledger(path)
    monkeypatch.undo()
    cols = [r[1] for r in led.db.execute("PRAGMA table_info(steps)")]
    assert "attempt" not in cols
    return led


def _v2_step(led: Ledger, job_id: int, step_id: str, start: float | None) -> None:
    led.db.execute("INSERT INTO steps(job_id, step_id, name, state, start_time, end_time)"
                   " VALUES(?,?,?,?,?,?)", (job_id, step_id, step_id, "COMPLETED", start,
                                            None if start is None else start + 1))


def test_schema_2_ledger_gets_step_attempts_and_default_accounts(tmp_path, monkeypatch):
    path = tmp_path / "ledger.sqlite3"
    led = _v2_ledger(path, monkeypatch)
    with led.transaction():
        # 1: never requeued; 2: finished, requeued, pending again (its steps are the attempt
        # before); 3: requeued twice and running again: a step older than its start is from
        # the attempt before, the others are the current attempt's
        led.insert(JobRecord(job_id=1, state=JobState.COMPLETED, start_time=NOW, end_time=NOW + 9,
                             submit_time=NOW))
        led.insert(JobRecord(job_id=2, state=JobState.PENDING, restarts=1, submit_time=NOW,
                             account="proj", qos="high"))
        led.insert(JobRecord(job_id=3, state=JobState.RUNNING, restarts=2, start_time=NOW + 100,
                             submit_time=NOW, account="proj"))
        _v2_step(led, 1, "batch", NOW)
        _v2_step(led, 1, "0", NOW + 1)
        _v2_step(led, 2, "batch", NOW)
        _v2_step(led, 3, "0", NOW + 50)
        _v2_step(led, 3, "batch", NOW + 100)
        _v2_step(led, 3, "1", NOW + 101)
        _v2_step(led, 4, "batch", None)      # a job already purged: attempt 0
    led.close()

    led = Ledger(path)
    assert led.db.execute("PRAGMA user_version").fetchone()[0] == ledger_mod.SCHEMA_VERSION
    pk = {r[1]: r[5] for r in led.db.execute("PRAGMA table_info(steps)")}
    assert (pk["job_id"], pk["attempt"], pk["step_id"]) == (1, 2, 3)
    got = {j: [(s.step_id, s.attempt) for s in lst] for j, lst in led.steps([1, 2, 3, 4]).items()}
    assert got == {1: [("batch", 0), ("0", 0)], 2: [("batch", 0)],
                   3: [("0", 1), ("batch", 2), ("1", 2)], 4: [("batch", 0)]}
    # jobs submitted without --account / --qos show the defaults, as new ones do
    accounts = {r.job_id: (r.account, r.qos) for r in led.get_many([1, 2, 3])}
    assert accounts == {1: ("root", "normal"), 2: ("proj", "high"), 3: ("proj", "normal")}


def test_steps_are_kept_per_attempt(tmp_path):
    from slurmshim.model import StepRecord
    led = Ledger(tmp_path / "ledger.sqlite3")
    with led.transaction():
        led.insert(JobRecord(job_id=7, state=JobState.RUNNING, restarts=1, submit_time=NOW))
        led.save_step(StepRecord(7, "batch", state=JobState.CANCELLED, exit_signal=15,
                                 start_time=NOW, attempt=0))
        led.save_step(StepRecord(7, "0", "hostname", JobState.COMPLETED, start_time=NOW + 1,
                                 attempt=0))
        # no attempt given: the job's current one (its restarts)
        cur = StepRecord(7, "batch", state=JobState.COMPLETED, start_time=NOW + 60)
        led.save_step(cur)
        assert cur.attempt == 1
        # saving a step again replaces it within its attempt only
        led.save_step(StepRecord(7, "batch", state=JobState.COMPLETED, exit_code=0,
                                 start_time=NOW + 60, end_time=NOW + 70, attempt=1))
    steps = led.steps([7])[7]
    assert [(s.attempt, s.step_id, s.state, s.exit_signal, s.end_time) for s in steps] == [
        (0, "batch", JobState.CANCELLED, 15, None), (0, "0", JobState.COMPLETED, 0, None),
        (1, "batch", JobState.COMPLETED, 0, NOW + 70)]
    with led.transaction():
        led.delete_steps(7, attempt=1)
    assert [(s.attempt, s.step_id) for s in led.steps([7])[7]] == [(0, "batch"), (0, "0")]
    with led.transaction():
        led.delete_steps(7)
    assert led.steps([7]) == {}
