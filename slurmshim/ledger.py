"""The job ledger: numeric Slurm job ids <-> backend ids, specs, states, steps and history, in
SQLite under the state directory.  WAL mode plus a busy timeout and `BEGIN IMMEDIATE` around id
allocation make concurrent `sbatch` processes safe: each gets a distinct id and none fails.

Array jobs follow Slurm's record model: the array's *meta record* (job_id = array id,
array_task_id NULL) holds the indices still pending; a task is split off into its own record when
it starts or changes on its own.  Task raw ids are reserved as a block at submit time (see
runtime.descriptor.raw_id_for) so that both backends know a task's SLURM_JOB_ID up front.

squeue's listing is read from `listing_blocks`, the listing columns of the active jobs kept per
block of 256 job ids and marked stale by triggers on any change (see "the listing blocks").
"""
from __future__ import annotations

import marshal
import os
import sqlite3
import time
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from .model import DEFAULT_ACCOUNT, DEFAULT_QOS, JobRecord, JobSpec, JobState, StepRecord

SCHEMA_VERSION = 5
BUSY_TIMEOUT_MS = 60_000   # how long a command waits for another one's write transaction

# Columns of the jobs table, in JobRecord field order (spec is not a column).
_JOB_COLUMNS = (
    "job_id", "name", "user", "uid", "partition", "account", "qos", "state", "reason",
    "array_job_id", "array_task_id", "array_pending", "array_throttle", "hold", "priority", "nice",
    "num_nodes", "num_cpus", "num_tasks", "time_limit", "submit_time", "eligible_time",
    "start_time", "end_time", "exit_code", "exit_signal", "derived_exit_code", "node_list",
    "restarts", "cancelled_by", "dependency", "work_dir", "command", "stdout_path", "stderr_path",
    "stdin_path", "comment", "backend", "backend_id", "spec_id",
)
_SELECT = "SELECT " + ",".join(_JOB_COLUMNS) + " FROM jobs"

_MIGRATIONS: dict[int, str | tuple[str, ...]] = {
    1: """
    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS specs (
        spec_id INTEGER PRIMARY KEY AUTOINCREMENT,
        spec TEXT NOT NULL,
        script BLOB NOT NULL
    );
    CREATE TABLE IF NOT EXISTS jobs (
        job_id INTEGER PRIMARY KEY,
        name TEXT NOT NULL DEFAULT '', user TEXT NOT NULL DEFAULT '', uid INTEGER NOT NULL DEFAULT 0,
        partition TEXT NOT NULL DEFAULT '', account TEXT, qos TEXT,
        state TEXT NOT NULL, reason TEXT NOT NULL DEFAULT 'None',
        array_job_id INTEGER, array_task_id INTEGER, array_pending TEXT, array_throttle INTEGER,
        hold TEXT, priority INTEGER NOT NULL DEFAULT 1, nice INTEGER NOT NULL DEFAULT 0,
        num_nodes INTEGER NOT NULL DEFAULT 1, num_cpus INTEGER NOT NULL DEFAULT 1,
        num_tasks INTEGER NOT NULL DEFAULT 1, time_limit INTEGER,
        submit_time REAL NOT NULL, eligible_time REAL, start_time REAL, end_time REAL,
        exit_code INTEGER NOT NULL DEFAULT 0, exit_signal INTEGER NOT NULL DEFAULT 0,
        derived_exit_code INTEGER NOT NULL DEFAULT 0, node_list TEXT NOT NULL DEFAULT '',
        restarts INTEGER NOT NULL DEFAULT 0, cancelled_by INTEGER, dependency TEXT,
        work_dir TEXT NOT NULL DEFAULT '', command TEXT NOT NULL DEFAULT '',
        stdout_path TEXT NOT NULL DEFAULT '', stderr_path TEXT NOT NULL DEFAULT '',
        stdin_path TEXT NOT NULL DEFAULT '/dev/null', comment TEXT,
        backend TEXT NOT NULL DEFAULT 'local', backend_id TEXT, spec_id INTEGER,
        active INTEGER NOT NULL DEFAULT 1
    );
    CREATE INDEX IF NOT EXISTS jobs_active ON jobs(active, job_id);
    CREATE INDEX IF NOT EXISTS jobs_array ON jobs(array_job_id);
    CREATE INDEX IF NOT EXISTS jobs_end ON jobs(end_time);
    CREATE INDEX IF NOT EXISTS jobs_name ON jobs(name, user);
    CREATE TABLE IF NOT EXISTS steps (
        job_id INTEGER NOT NULL, step_id TEXT NOT NULL, name TEXT NOT NULL DEFAULT '',
        state TEXT NOT NULL, exit_code INTEGER NOT NULL DEFAULT 0,
        exit_signal INTEGER NOT NULL DEFAULT 0, start_time REAL, end_time REAL,
        num_cpus INTEGER NOT NULL DEFAULT 1, num_tasks INTEGER NOT NULL DEFAULT 1,
        num_nodes INTEGER NOT NULL DEFAULT 1, node_list TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (job_id, step_id)
    );
    CREATE TABLE IF NOT EXISTS history (
        job_id INTEGER NOT NULL, attempt INTEGER NOT NULL, record TEXT NOT NULL,
        PRIMARY KEY (job_id, attempt)
    );
    CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
    # For refresh and the scheduling pass, which every squeue and sbatch runs: with it they read
    # the running jobs of a backend, not every active job (10,000 pending ones cost them several
    # ms).  The queries reach it through `job_id IN (SELECT job_id ...)`: given ORDER BY job_id
    # on the table itself, SQLite would rather walk jobs_active in id order.
    2: """
    CREATE INDEX IF NOT EXISTS jobs_sched ON jobs(active, backend, state, hold);
    """,
    # Steps per attempt: a requeued job keeps each attempt's steps (sacct -D shows them under
    # that attempt's record), so `attempt` (the job's `restarts` when the step ran) joins the
    # key.  SQLite cannot change a primary key: the table is rebuilt.  Until now a requeue
    # deleted the steps, so an existing step is the current attempt's, unless the job has been
    # requeued since it started (it has not started again, or started after the step): then it
    # is the attempt before.  Jobs submitted without --account / --qos get the defaults the
    # controller now stores at submission.
    3: f"""
    CREATE TABLE steps_v3 (
        job_id INTEGER NOT NULL, attempt INTEGER NOT NULL DEFAULT 0, step_id TEXT NOT NULL,
        name TEXT NOT NULL DEFAULT '', state TEXT NOT NULL, exit_code INTEGER NOT NULL DEFAULT 0,
        exit_signal INTEGER NOT NULL DEFAULT 0, start_time REAL, end_time REAL,
        num_cpus INTEGER NOT NULL DEFAULT 1, num_tasks INTEGER NOT NULL DEFAULT 1,
        num_nodes INTEGER NOT NULL DEFAULT 1, node_list TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (job_id, attempt, step_id)
    );
    INSERT INTO steps_v3(job_id, attempt, step_id, name, state, exit_code, exit_signal,
                         start_time, end_time, num_cpus, num_tasks, num_nodes, node_list)
        SELECT s.job_id,
               COALESCE((SELECT CASE WHEN j.restarts > 0 AND (j.start_time IS NULL
                                      OR s.start_time < j.start_time)
                                     THEN j.restarts - 1 ELSE j.restarts END
                         FROM jobs j WHERE j.job_id = s.job_id), 0),
               s.step_id, s.name, s.state, s.exit_code, s.exit_signal, s.start_time,
               s.end_time, s.num_cpus, s.num_tasks, s.num_nodes, s.node_list
        FROM steps s;
    DROP TABLE steps;
    ALTER TABLE steps_v3 RENAME TO steps;
    UPDATE jobs SET account = '{DEFAULT_ACCOUNT}' WHERE account IS NULL;
    UPDATE jobs SET qos = '{DEFAULT_QOS}' WHERE qos IS NULL;
    """,
    # The stored listing, first form (any change to a job deleted its block): see 5.
    # (Statements one by one: a trigger's body has semicolons of its own.)
    4: (
        "CREATE TABLE IF NOT EXISTS listing_blocks (block INTEGER PRIMARY KEY, rows BLOB NOT NULL)",
        "CREATE TRIGGER IF NOT EXISTS listing_insert AFTER INSERT ON jobs BEGIN"
        " DELETE FROM listing_blocks WHERE block = NEW.job_id >> 8; END",
        "CREATE TRIGGER IF NOT EXISTS listing_update AFTER UPDATE ON jobs BEGIN"
        " DELETE FROM listing_blocks WHERE block IN (OLD.job_id >> 8, NEW.job_id >> 8); END",
        "CREATE TRIGGER IF NOT EXISTS listing_delete AFTER DELETE ON jobs BEGIN"
        " DELETE FROM listing_blocks WHERE block = OLD.job_id >> 8; END",
    ),
    # The stored listing (see "the listing blocks" below): any change to a job marks its block
    # stale (rows NULL), creating the block's row if need be, so that every block holding an
    # active job has a row and a listing need not search the jobs table for them.
    5: (
        "DROP TRIGGER IF EXISTS listing_insert",
        "DROP TRIGGER IF EXISTS listing_update",
        "DROP TRIGGER IF EXISTS listing_delete",
        "DROP TABLE IF EXISTS listing_blocks",
        "CREATE TABLE listing_blocks (block INTEGER PRIMARY KEY, rows BLOB)",
        "INSERT INTO listing_blocks(block, rows)"
        " SELECT DISTINCT job_id >> 8, NULL FROM jobs WHERE active=1",
        "CREATE TRIGGER listing_insert AFTER INSERT ON jobs BEGIN"
        " INSERT OR REPLACE INTO listing_blocks(block, rows) VALUES (NEW.job_id >> 8, NULL); END",
        "CREATE TRIGGER listing_update AFTER UPDATE ON jobs BEGIN"
        " INSERT OR REPLACE INTO listing_blocks(block, rows) VALUES (OLD.job_id >> 8, NULL);"
        " INSERT OR REPLACE INTO listing_blocks(block, rows) VALUES (NEW.job_id >> 8, NULL); END",
        "CREATE TRIGGER listing_delete AFTER DELETE ON jobs BEGIN"
        " INSERT OR REPLACE INTO listing_blocks(block, rows) VALUES (OLD.job_id >> 8, NULL); END",
    ),
}


# ---------------------------------------------------------------- index-list storage

def pack_indices(indices: Sequence[int]) -> str:
    """Compact storage of sorted ints as `a-b,c` runs (arrays can have 100,000 tasks)."""
    out: list[str] = []
    it = iter(indices)
    try:
        start = prev = next(it)
    except StopIteration:
        return ""
    for i in it:
        if i == prev + 1:
            prev = i
            continue
        out.append(f"{start}-{prev}" if prev != start else str(start))
        start = prev = i
    out.append(f"{start}-{prev}" if prev != start else str(start))
    return ",".join(out)


def unpack_indices(text: str | None) -> tuple[int, ...]:
    if not text:
        return ()
    out: list[int] = []
    for part in text.split(","):
        a, _, b = part.partition("-")
        if b:
            out.extend(range(int(a), int(b) + 1))
        else:
            out.append(int(a))
    return tuple(out)


_STATE_BY_VALUE = {s.value: s for s in JobState}

# Every JobRecord field, `spec` (not a column) included, at None: a copy of it is an instance
# dict already sized for all the fields, which the columns then fill.
_RECORD_TEMPLATE = dict.fromkeys(_JOB_COLUMNS + ("spec",))
_RECORD_TEMPLATE_DEFAULTS = {f: getattr(JobRecord, f) for f in _JOB_COLUMNS if f != "job_id"}


def _row_to_record(row: Sequence) -> JobRecord:
    return _rows_to_records((row,))[0]


def _rows_to_records(rows: Iterable[Sequence]) -> list[JobRecord]:
    """Hot path (squeue over 10,000 jobs): each record's instance dict is a copy of
    `_RECORD_TEMPLATE` filled from the row (about half the cost of building a dict key by key
    or calling the 41-argument __init__); `spec` stays None, it is loaded on demand."""
    out: list[JobRecord] = []
    append = out.append
    new = object.__new__
    copy = _RECORD_TEMPLATE.copy
    states = _STATE_BY_VALUE
    columns = _JOB_COLUMNS
    for row in rows:
        d = copy()
        d.update(zip(columns, row))
        d["state"] = states[d["state"]]
        pend = d["array_pending"]
        d["array_pending"] = unpack_indices(pend) if pend else ()
        rec = new(JobRecord)
        rec.__dict__ = d
        append(rec)
    return out


# -- listings that read only some columns -----------------------------------------------------
# squeue over 10,000 jobs spent most of its time fetching all 41 columns of every row and
# turning them into Python objects (SQLite's per-value cost: each column is about 2% of the
# command at 10,000 lines), though a listing prints a handful.  A listing reads these columns
# up front: what squeue's default format and default sort read for every job, pending ones
# included.  Any other column (end_time, node_list, ... which only some jobs need) is fetched,
# for every record of the listing at once, the first time one record's attribute is read; so
# every caller still sees complete records.
_LISTING_COLUMNS = (
    "job_id", "name", "user", "partition", "state", "reason", "array_task_id", "array_pending",
    "hold", "priority", "num_nodes", "start_time",
)
_LISTING_SELECT = "SELECT " + ",".join(_LISTING_COLUMNS) + " FROM jobs"
_LATER_COLUMNS = tuple(c for c in _JOB_COLUMNS if c not in _LISTING_COLUMNS)


class _RestOfListing:
    """Fetches a listing's remaining columns on demand: one query per column, for all of the
    listing's records (re-running the listing's condition).  A record whose row has gone
    meanwhile (purged) keeps the field's default."""

    def __init__(self, db: sqlite3.Connection, where: str, params: tuple) -> None:
        self.db, self.where, self.params = db, where, params
        self.records: list[JobRecord] = []        # the listing's records

    def load(self, column: str) -> None:
        values = dict(self.db.execute(f"SELECT job_id, {column} FROM jobs {self.where}",
                                      self.params))
        get = values.get
        default = _RECORD_TEMPLATE_DEFAULTS[column]
        setattr_ = setattr
        for rec in self.records:
            setattr_(rec, column, get(rec.job_id, default))


class _Later:
    """A column not read yet.  A non-data descriptor: once the record itself holds the
    value, Python reads it from there and never calls this again."""

    __slots__ = ("column",)

    def __init__(self, column: str) -> None:
        self.column = column

    def __get__(self, rec, owner=None):
        if rec is None:
            return self
        rec._rest.load(self.column)
        return rec.__dict__[self.column]


class ListedJobRecord(JobRecord):
    """A JobRecord from a listing (`Ledger.visible`): some columns arrive on first use.  It
    equals a JobRecord with the same fields.

    The listing's columns (and `spec`) are slots.  A slot is what CPython's attribute cache
    handles best: JobRecord's fields with defaults are class attributes, and an instance
    attribute shadowing a class attribute is looked up the slow, generic way on every read,
    while a slot read or write is a fixed offset (squeue reads these columns of every job a
    few times over).  The other columns live in the instance dict, filled on first use."""

    __slots__ = _LISTING_COLUMNS + ("spec", "_rest")

    def __eq__(self, other):
        if not isinstance(other, JobRecord):
            return NotImplemented
        return all(getattr(self, c) == getattr(other, c) for c in _JOB_COLUMNS) and \
            self.spec == other.spec

    __hash__ = None  # type: ignore[assignment]


for _column in _LATER_COLUMNS:
    setattr(ListedJobRecord, _column, _Later(_column))
del _column


def _listed_records(rows: Iterable[Sequence], rest: _RestOfListing) -> list[JobRecord]:
    """Records from rows of _LISTING_COLUMNS; `rest` fetches their other columns."""
    out: list[JobRecord] = []
    append = out.append
    new = object.__new__
    cls = ListedJobRecord
    states = _STATE_BY_VALUE
    # Hot path (squeue over 10,000 jobs).  One attribute store per column, always in the same
    # order, keeps each record's attributes in the class's shared-key inline values: about a
    # third of the cost of building a dict per row and assigning it as the record's __dict__
    # (which also made CPython build, and drop, a dict for the new object's empty values).
    # The names below are _LISTING_COLUMNS, in order (tests check the two agree).
    for (job_id, name, user, partition, state, reason, array_task_id, array_pending, hold,
         priority, num_nodes, start_time) in rows:
        rec = new(cls)
        rec.job_id = job_id
        rec.name = name
        rec.user = user
        rec.partition = partition
        rec.state = states[state]
        rec.reason = reason
        rec.array_task_id = array_task_id
        rec.array_pending = unpack_indices(array_pending) if array_pending else ()
        rec.hold = hold
        rec.priority = priority
        rec.num_nodes = num_nodes
        rec.start_time = start_time
        rec.spec = None
        rec._rest = rest
        append(rec)
    rest.records = out[:]        # callers may change their list
    return out


def _first(row: Sequence):
    return row[0]


def _decode_block(blob: bytes | None) -> list[tuple] | None:
    """A stored block's rows, or None when there is none (or it was stored for other
    columns, by another version)."""
    if blob is None:
        return None
    try:
        columns, rows = marshal.loads(blob)
    except (EOFError, ValueError, TypeError):
        return None
    return rows if columns == _LISTING_COLUMNS else None


def _store_blocks(db: sqlite3.Connection, blocks: dict[int, list[tuple]]) -> None:
    """Store blocks just read, inside the read transaction that read them.  When another
    process has written since that transaction began (SQLite refuses the upgrade: its data may
    be older than the table's), or the ledger is read-only, nothing is stored: the listing is
    right either way, the next one reads those blocks from the table again."""
    # Never wait for another writer: squeue would stall behind its transaction, only to be
    # refused afterwards (its commit makes this transaction's data older than the table's).
    db.execute("PRAGMA busy_timeout = 0")
    try:
        db.executemany("UPDATE listing_blocks SET rows=? WHERE block=?",
                       [(marshal.dumps((_LISTING_COLUMNS, rows)), b)
                        for b, rows in blocks.items() if rows])
        db.executemany("DELETE FROM listing_blocks WHERE block=?",
                       [(b,) for b, rows in blocks.items() if not rows])
    except sqlite3.OperationalError:
        db.execute("ROLLBACK")
    finally:
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")


def _record_values(rec: JobRecord) -> list:
    vals = []
    for col in _JOB_COLUMNS:
        v = getattr(rec, col)
        if col == "state":
            v = rec.state.value
        elif col == "array_pending":
            v = pack_indices(rec.array_pending) if rec.array_pending else None
        vals.append(v)
    return vals


class Ledger:
    """SQLite-backed job store.  One instance per command invocation; safe across processes."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_MS / 1000,
                                  isolation_level=None, check_same_thread=False)
        self.db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        self._migrate()

    # -- schema ----------------------------------------------------------------------------
    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA_VERSION:
            return
        if version > SCHEMA_VERSION:
            raise RuntimeError(f"ledger {self.path} has schema {version}, newer than this "
                               f"slurmshim ({SCHEMA_VERSION}); upgrade slurmshim")
        self.db.execute("PRAGMA journal_mode = WAL")
        with self.transaction():  # concurrent first runs: one migrates, the others wait
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            for v in range(version + 1, SCHEMA_VERSION + 1):
                migration = _MIGRATIONS[v]
                for stmt in migration.split(";") if isinstance(migration, str) else migration:
                    if stmt.strip():
                        self.db.execute(stmt)
                self.db.execute(f"PRAGMA user_version = {v}")

    def close(self) -> None:
        self.db.close()

    class _Tx:
        def __init__(self, db: sqlite3.Connection):
            self.db = db

        def __enter__(self):
            self.db.execute("BEGIN IMMEDIATE")
            return self.db

        def __exit__(self, exc_type, exc, tb):
            self.db.execute("ROLLBACK" if exc_type else "COMMIT")
            return False

    def transaction(self) -> "Ledger._Tx":
        """An immediate (write-locked) transaction: `with ledger.transaction(): ...`."""
        return Ledger._Tx(self.db)

    # -- ids -------------------------------------------------------------------------------
    def _allocate(self, count: int) -> int:
        row = self.db.execute("SELECT value FROM meta WHERE key='next_job_id'").fetchone()
        first = int(row[0]) if row else 1
        self.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES('next_job_id', ?)",
                        (str(first + count),))
        return first

    def peek_next_id(self) -> int:
        row = self.db.execute("SELECT value FROM meta WHERE key='next_job_id'").fetchone()
        return int(row[0]) if row else 1

    def consume_id(self) -> int:
        """Take one id without creating a job (`sbatch --test-only` consumes an id, as Slurm)."""
        with self.transaction():
            return self._allocate(1)

    # -- writing jobs ----------------------------------------------------------------------
    def submit(self, rec: JobRecord, spec: JobSpec, id_block: int = 1) -> JobRecord:
        """Store a new job (or array meta record): allocates `id_block` consecutive ids (the
        job id first), saves the spec and script, inserts the record.  Returns it with its id."""
        import json  # here and below, not at the top: squeue never needs it
        spec_json = json.dumps(_spec_without_script(spec), separators=(",", ":"))
        with self.transaction():
            rec.job_id = self._allocate(max(1, id_block))
            if rec.array_job_id is not None:
                rec.array_job_id = rec.job_id
            cur = self.db.execute("INSERT INTO specs(spec, script) VALUES(?, ?)",
                                  (spec_json, spec.script.encode("utf-8", "surrogateescape")))
            rec.spec_id = cur.lastrowid
            self.insert(rec)
        rec.spec = spec
        return rec

    def insert(self, rec: JobRecord) -> None:
        """Store a new record as it is (an array task split off in bulk by a backend).  Call
        inside a transaction."""
        cols = ",".join(_JOB_COLUMNS) + ",active"
        marks = ",".join("?" * (len(_JOB_COLUMNS) + 1))
        self.db.execute(f"INSERT INTO jobs({cols}) VALUES({marks})",
                        _record_values(rec) + [0 if rec.state.is_terminal else 1])

    def save(self, rec: JobRecord) -> None:
        """Write every column of an existing record (callers hold the record they read)."""
        sets = ",".join(f"{c}=?" for c in _JOB_COLUMNS[1:]) + ",active=?"
        vals = _record_values(rec)[1:] + [0 if rec.state.is_terminal else 1, rec.job_id]
        self.db.execute(f"UPDATE jobs SET {sets} WHERE job_id=?", vals)

    def update(self, job_id: int, **fields) -> None:
        """Update some columns of one record."""
        if not fields:
            return
        if "state" in fields:
            st = JobState(fields["state"])
            fields["state"] = st.value
            fields["active"] = 0 if st.is_terminal else 1
        if "array_pending" in fields:
            fields["array_pending"] = pack_indices(fields["array_pending"]) or None
        sets = ",".join(f"{k}=?" for k in fields)
        self.db.execute(f"UPDATE jobs SET {sets} WHERE job_id=?", [*fields.values(), job_id])

    def split_array_task(self, meta: JobRecord, index: int, raw_id: int) -> JobRecord:
        """Split task `index` off the array meta record into its own record with `raw_id`.
        When it is the last pending index the meta record itself becomes the task (Slurm keeps
        the array id for the last task).  Call inside a transaction; returns the task record."""
        pending = tuple(i for i in meta.array_pending if i != index)
        if not pending or raw_id == meta.job_id:
            meta.array_pending = ()
            meta.array_task_id = index
            self.save(meta)
            return meta
        meta.array_pending = pending
        self.update(meta.job_id, array_pending=pending)
        task = JobRecord(**{f: getattr(meta, f) for f in _JOB_COLUMNS})
        task.job_id = raw_id
        task.array_task_id = index
        task.array_pending = ()
        self.insert(task)
        return task

    def remove_pending_indices(self, meta: JobRecord, indices: Iterable[int]) -> None:
        """Drop pending array tasks that never ran (Slurm forgets them entirely)."""
        drop = set(indices)
        meta.array_pending = tuple(i for i in meta.array_pending if i not in drop)
        self.update(meta.job_id, array_pending=meta.array_pending)

    def add_history(self, rec: JobRecord) -> None:
        """Keep a copy of a record before it is requeued (sacct -D shows earlier attempts)."""
        import json
        data = {c: getattr(rec, c) for c in _JOB_COLUMNS}
        data["state"] = rec.state.value
        data["array_pending"] = list(rec.array_pending)
        self.db.execute("INSERT OR REPLACE INTO history(job_id, attempt, record) VALUES(?,?,?)",
                        (rec.job_id, rec.restarts, json.dumps(data)))

    # -- reading jobs ----------------------------------------------------------------------
    def get(self, job_id: int) -> JobRecord | None:
        row = self.db.execute(_SELECT + " WHERE job_id=?", (job_id,)).fetchone()
        return _row_to_record(row) if row else None

    def get_many(self, job_ids: Iterable[int]) -> list[JobRecord]:
        ids = sorted(set(job_ids))
        out: list[JobRecord] = []
        for chunk in _chunks(ids, 500):
            marks = ",".join("?" * len(chunk))
            out.extend(_rows_to_records(
                self.db.execute(_SELECT + f" WHERE job_id IN ({marks})", chunk)))
        return out

    def array_records(self, array_job_id: int) -> list[JobRecord]:
        return _rows_to_records(self.db.execute(
            _SELECT + " WHERE array_job_id=? ORDER BY job_id", (array_job_id,)))

    def active(self, backend: str | None = None) -> list[JobRecord]:
        """Every job that is not finished yet."""
        if backend is None:
            rows = self.db.execute(_SELECT + " WHERE active=1 ORDER BY job_id")
        else:
            rows = self.db.execute(_SELECT + " WHERE active=1 AND backend=? ORDER BY job_id",
                                   (backend,))
        return _rows_to_records(rows)

    def in_states(self, backend: str, states: Sequence[JobState]) -> list[JobRecord]:
        """Active jobs of one backend in some states (uses the jobs_sched index)."""
        marks = ",".join("?" * len(states))
        rows = self.db.execute(
            _SELECT + " WHERE job_id IN (SELECT job_id FROM jobs WHERE active=1 AND backend=?"
            f" AND state IN ({marks})) ORDER BY job_id", (backend, *[s.value for s in states]))
        return _rows_to_records(rows)

    def schedulable(self, backend: str) -> list[JobRecord]:
        """Active jobs of a backend except held pending ones (what a scheduling pass needs;
        the condition is read from the jobs_sched index alone).  Three ranges of the index, not
        `hold IS NULL OR state != 'PENDING'`, which SQLite checked on the index entry of every
        active job: 10,000 held ones cost each sbatch ~10 M instructions."""
        rows = self.db.execute(
            _SELECT + " WHERE job_id IN ("
            "SELECT job_id FROM jobs WHERE active=1 AND backend=?1 AND state < 'PENDING'"
            " UNION ALL SELECT job_id FROM jobs WHERE active=1 AND backend=?1 AND state > 'PENDING'"
            " UNION ALL SELECT job_id FROM jobs WHERE active=1 AND backend=?1 AND state = 'PENDING'"
            " AND hold IS NULL) ORDER BY job_id", (backend,))
        return _rows_to_records(rows)

    def active_backends(self) -> list[str]:
        return [r[0] for r in self.db.execute(
            "SELECT DISTINCT backend FROM jobs WHERE active=1")]

    def visible(self, min_job_age: float, now: float | None = None) -> list[JobRecord]:
        """What the controller still shows (squeue, scontrol): active jobs plus finished ones
        that ended less than MinJobAge seconds ago."""
        now = time.time() if now is None else now
        cutoff = now - min_job_age
        # Each half of the condition from its own index: `active=1 OR end_time >= ?` on the
        # table made SQLite scan every row, the whole sacct history included.
        rest = _RestOfListing(self.db, "WHERE job_id IN (SELECT job_id FROM jobs WHERE active=1"
                              " UNION ALL SELECT job_id FROM jobs WHERE end_time >= ?)",
                              (cutoff,))
        return _listed_records(self._listing_rows(cutoff), rest)

    # -- the listing blocks ----------------------------------------------------------------
    # squeue reads the listing columns of every active job.  Fetched row by row, SQLite's
    # per-value cost (about a microsecond per column and row) made that a third of a
    # 10,000-job squeue.  So the rows are also kept, per block of 256 job ids, as one
    # marshalled list in `listing_blocks`: reading 40 blobs costs a seventh of reading 10,000
    # rows.  Triggers on `jobs` (schema 5) mark a job's block stale whenever the job is
    # inserted, updated or deleted, by any process and any code path, so a stored block always
    # equals what the table would give, and every block with an active job has a row.  A
    # listing reads only the stale blocks from the table, and stores them for the next one when
    # it can write (a block left without active jobs is dropped).

    def _listing_rows(self, cutoff: float) -> list[tuple]:
        """Rows of _LISTING_COLUMNS, in job id order: every active job (from the stored blocks,
        each stale one read from the table) and the finished ones that ended at `cutoff` or
        later.  One read transaction, so everything comes from the same moment."""
        db = self.db
        if db.in_transaction:             # a caller's own transaction: just read
            return self._read_listing_rows(cutoff, {})
        db.execute("BEGIN")
        fresh: dict[int, list[tuple]] = {}
        try:
            rows = self._read_listing_rows(cutoff, fresh)
            if fresh:
                _store_blocks(db, fresh)
        finally:
            if db.in_transaction:
                db.execute("COMMIT")
        return rows

    def _read_listing_rows(self, cutoff: float, fresh: dict[int, list[tuple]]) -> list[tuple]:
        """The rows; blocks read from the table go into `fresh`."""
        db = self.db
        rows: list[tuple] = []
        for block, blob in db.execute(
                "SELECT block, rows FROM listing_blocks ORDER BY block").fetchall():
            got = _decode_block(blob)
            if got is None:
                got = fresh[block] = db.execute(
                    f"{_LISTING_SELECT} WHERE active=1 AND job_id >= ? AND job_id < ?"
                    " ORDER BY job_id", (block << 8, (block + 1) << 8)).fetchall()
            rows += got
        ended = db.execute(f"{_LISTING_SELECT} WHERE job_id IN (SELECT job_id FROM jobs WHERE"
                           " end_time >= ?) AND active=0", (cutoff,)).fetchall()
        if ended:
            rows += ended
            rows.sort(key=_first)
        return rows

    def all(self, since: float | None = None) -> list[JobRecord]:
        """Every record (sacct), optionally only those submitted or ended since a time."""
        if since is None:
            rows = self.db.execute(_SELECT + " ORDER BY job_id")
        else:
            rows = self.db.execute(
                _SELECT + " WHERE active=1 OR end_time >= ? OR submit_time >= ? ORDER BY job_id",
                (since, since))
        return _rows_to_records(rows)

    def iter_names(self, name: str, user: str) -> Iterator[JobRecord]:
        for r in self.db.execute(_SELECT + " WHERE name=? AND user=? ORDER BY job_id", (name, user)):
            yield _row_to_record(r)

    def load_spec(self, rec: JobRecord) -> JobSpec:
        if rec.spec is None:
            import json
            row = self.db.execute("SELECT spec, script FROM specs WHERE spec_id=?",
                                  (rec.spec_id,)).fetchone()
            if row is None:
                raise KeyError(f"no spec for job {rec.job_id}")
            spec = JobSpec.from_dict(json.loads(row[0]))
            spec.script = bytes(row[1]).decode("utf-8", "surrogateescape")
            rec.spec = spec
        return rec.spec

    def history(self, job_ids: Iterable[int]) -> dict[int, list[JobRecord]]:
        import json
        out: dict[int, list[JobRecord]] = {}
        for chunk in _chunks(sorted(set(job_ids)), 500):
            marks = ",".join("?" * len(chunk))
            for jid, rec in self.db.execute(
                    f"SELECT job_id, record FROM history WHERE job_id IN ({marks}) "
                    "ORDER BY job_id, attempt", chunk):
                d = json.loads(rec)
                d["state"] = JobState(d["state"])
                d["array_pending"] = tuple(d["array_pending"])
                out.setdefault(jid, []).append(JobRecord(**d))
        return out

    # -- steps -----------------------------------------------------------------------------
    def save_step(self, step: StepRecord) -> None:
        """Store (or replace) one step of one attempt; `step.attempt` None is the job's current
        attempt (its `restarts`).  Steps of earlier attempts stay (sacct -D)."""
        if step.attempt is None:
            row = self.db.execute("SELECT restarts FROM jobs WHERE job_id=?",
                                  (step.job_id,)).fetchone()
            step.attempt = int(row[0]) if row else 0
        self.db.execute(
            "INSERT OR REPLACE INTO steps(job_id, attempt, step_id, name, state, exit_code,"
            " exit_signal, start_time, end_time, num_cpus, num_tasks, num_nodes, node_list)"
            " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (step.job_id, step.attempt, step.step_id, step.name, step.state.value,
             step.exit_code, step.exit_signal, step.start_time, step.end_time, step.num_cpus,
             step.num_tasks, step.num_nodes, step.node_list))

    def steps(self, job_ids: Iterable[int]) -> dict[int, list[StepRecord]]:
        """Every step of these jobs, of every attempt (`StepRecord.attempt` says which), in
        attempt order, then Slurm's step order within an attempt."""
        out: dict[int, list[StepRecord]] = {}
        for chunk in _chunks(sorted(set(job_ids)), 500):
            marks = ",".join("?" * len(chunk))
            for row in self.db.execute(
                    "SELECT job_id, step_id, name, state, exit_code, exit_signal, start_time,"
                    " end_time, num_cpus, num_tasks, num_nodes, node_list, attempt FROM steps"
                    f" WHERE job_id IN ({marks})", chunk):
                st = StepRecord(row[0], row[1], row[2], JobState(row[3]), *row[4:])
                out.setdefault(st.job_id, []).append(st)
        for lst in out.values():
            lst.sort(key=lambda st: (st.attempt, _step_order(st)))
        return out

    def delete_steps(self, job_id: int, attempt: int | None = None) -> None:
        """Forget a job's steps: one attempt's, or (None) all of them."""
        if attempt is None:
            self.db.execute("DELETE FROM steps WHERE job_id=?", (job_id,))
        else:
            self.db.execute("DELETE FROM steps WHERE job_id=? AND attempt=?", (job_id, attempt))

    # -- key/value cache (backend caches, e.g. registered job definitions) -----------------
    def kv_get(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM kv WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def kv_set(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO kv(key, value) VALUES(?, ?)", (key, value))

    # -- maintenance -----------------------------------------------------------------------
    def purge(self, older_than: float) -> int:
        """Forget finished jobs that ended before `older_than` (sacct purge policy)."""
        with self.transaction():
            ids = [r[0] for r in self.db.execute(
                "SELECT job_id FROM jobs WHERE active=0 AND end_time < ?", (older_than,))]
            for chunk in _chunks(ids, 500):
                marks = ",".join("?" * len(chunk))
                self.db.execute(f"DELETE FROM jobs WHERE job_id IN ({marks})", chunk)
                self.db.execute(f"DELETE FROM steps WHERE job_id IN ({marks})", chunk)
                self.db.execute(f"DELETE FROM history WHERE job_id IN ({marks})", chunk)
            self.db.execute("DELETE FROM specs WHERE spec_id NOT IN (SELECT spec_id FROM jobs"
                            " WHERE spec_id IS NOT NULL)")
        return len(ids)


def _step_order(step: StepRecord) -> tuple:
    order = {"batch": (0, 0), "extern": (1, 0)}
    if step.step_id in order:
        return order[step.step_id]
    try:
        return (2, int(step.step_id))
    except ValueError:
        return (3, step.step_id)


def _chunks(seq: Sequence, n: int) -> Iterator[Sequence]:
    for i in range(0, len(seq), n):
        yield seq[i:i + n]


def _spec_without_script(spec: JobSpec) -> dict:
    d = spec.to_dict()
    d["script"] = ""
    return d
