"""squeue's output, exactly as Slurm 25.11 prints it (src/squeue/{opts,print,sort}.c).

Pure: no I/O, no clock (`now` is a parameter), no environment reads (the caller passes what
Slurm would read from the environment, such as SLURM_BITSTR_LEN; only SLURM_TIME_FORMAT is
honoured, inside slurm.timespec.format_timestamp).  Fields that need a JobSpec call a supplied
`spec_of(record)` lazily, once per record; squeue's default and -l formats never do.

The pipeline, in Slurm's order:

1. `select_rows(records, JobFilter)` — `_filter_job` + `_filter_job_part`: state/user/partition/...
   filters, `-j` matching (plain id, array id, `N_T` task, raw task id) and the partial-array
   narrowing of a pending meta record (`-j 42_3` prints `42_3` out of `42_[2-4%1]`).
2. `combine_pending(rows)` (skipped with `-r`) — pending tasks split off an array (requeued, held)
   fold back into the meta record: `42_[1,3-4]`, reasons joined `JobArrayTaskLimit,JobHeldUser`.
3. `sort_rows(rows, sort, now)` — first by start time (descending, unset last in reverse list
   order: what glibc's merge sort makes of Slurm's comparator), then the `-S` keys right to left,
   each a stable sort; default `P,t,-p`.
4. `render_rows(rows, fmt, ...)` — header, then one line per row; with `-r` a meta record prints
   one line per pending task.

`render(records, fmt, now=...)` runs 2-4 on records or rows that already passed the filters.
`render_json` is `--json` (data_parser v0.0.44 layout); `render_steps` is `-s`.
"""
from __future__ import annotations

import time as _time
from itertools import repeat
from operator import attrgetter
from typing import Any, Callable, Iterable, Sequence

from .._dataclass import dataclass, field
from ..errors import SlurmError
from ..slurm.arrayspec import format_indices
from ..slurm.memspec import format_mem
from ..slurm.states import DEFAULT_SQUEUE_STATES
from ..slurm.timespec import format_elapsed, format_timestamp
from ..model import COMPACT_NAMES, INFINITE, TERMINAL_STATES, JobRecord, JobState, StepRecord
from ..scheduling import REQUEUE_HELD, reason_code
from .fields import NULL_TEXT, FieldToken, make_fitter, parse_long_format as _split_long, \
    parse_percent_format as _split_percent

YEAR_SECONDS = 365 * 24 * 3600
NO_VAL32 = 0xFFFFFFFE
INFINITE32 = 0xFFFFFFFF
FORMAT_STRING_SIZE = 32                  # print.h: ids are snprintf'ed into 32 bytes

DEFAULT_FORMAT = "%.18i %.9P %.8j %.8u %.2t %.10M %.6D %R"
LONG_FORMAT = "%.18i %.9P %.8j %.8u %.8T %.10M %.9l %.6D %R"
# what squeue.c really builds (parsed with the -O parser; same output as the % forms above)
DEFAULT_FORMAT_LONG = ("jobarrayid:.18 ,partition:.9 ,name:.8 ,username:.8 ,statecompact:.2 ,"
                       "timeused:.10 ,numnodes:.6 ,reasonlist:0")
LONG_FORMAT_LONG = ("jobarrayid:.18 ,partition:.9 ,name:.8 ,username:.8 ,state:.8 ,"
                    "timeused:.10 ,timelimit:.9 ,numnodes:.6 ,reasonlist:0")
START_FORMAT = "%.18i %.9P %.8j %.8u %.2t %.19S %.6D %20Y %R"
ONLY_STATE_FORMAT = "%.18i %.2t"
STEP_FORMAT = "%.15i %.8j %.9P %.8u %.9M %N"
DEFAULT_SORT = "P,t,-p"
DEFAULT_STEP_SORT = "P,i"

# %R shows "(reason)" for these (unless completing), the node list otherwise
_REASON_STATES = frozenset({
    JobState.PENDING, JobState.TIMEOUT, JobState.OUT_OF_MEMORY, JobState.DEADLINE,
    JobState.FAILED,
})
# what Slurm's controller sets as the reason of a job that ended this way, should the record
# still say "None"
_END_REASONS = {
    JobState.FAILED: "NonZeroExitCode", JobState.TIMEOUT: "TimeLimit",
    JobState.OUT_OF_MEMORY: "OutOfMemory", JobState.DEADLINE: "DeadLine",
}

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


# ===================================================================== rows

class Row:
    """One squeue line-to-be: a record plus what squeue's client-side processing changed on it
    (array task string of a meta record, a task id chosen by `-j N_T` or `-r`, a merged reason)."""

    __slots__ = ("rec", "task_str", "task_id", "reason", "pending", "sort_start")

    def __init__(self, rec: JobRecord, task_str: str | None, task_id: int | None,
                 reason: str, pending: tuple[int, ...]):
        self.rec = rec
        self.task_str = task_str      # meta record: the text inside N_[...]; None otherwise
        self.task_id = task_id        # array task index shown (N_T); None for plain jobs / metas
        self.reason = reason
        self.pending = pending        # meta record: the indices task_str stands for
        self.sort_start = 0

    def copy(self) -> "Row":
        r = Row(self.rec, self.task_str, self.task_id, self.reason, self.pending)
        r.sort_start = self.sort_start
        return r

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"Row({job_id_text(self)!r}, {self.rec.state.value})"


def _ranges(indices: Sequence[int]) -> str:
    """`bit_fmt`: `1-3,5` — runs only, never the `first-last:step` form, no throttle."""
    idx = sorted(set(indices))
    if not idx:
        return ""
    out: list[str] = []
    start = prev = idx[0]
    for i in idx[1:]:
        if i == prev + 1:
            prev = i
            continue
        out.append(str(start) if start == prev else f"{start}-{prev}")
        start = prev = i
    out.append(str(start) if start == prev else f"{start}-{prev}")
    return ",".join(out)


def array_task_str(indices: Sequence[int], throttle: int | None = None,
                   bitstr_len: int = 64) -> str:
    """The text inside `N_[...]` for a pending meta record, as the client's
    `xlate_array_task_str` builds it: a `first-last:step` form for long evenly-strided sets,
    otherwise ranges cut to `bitstr_len` bytes with a `...` mark (0 = no limit), then `%throttle`."""
    text = format_indices(indices, max_len=bitstr_len if bitstr_len > 0 else None)
    if throttle:
        text += f"%{throttle}"
    return text


def bitstr_len_from_env(value: str | None) -> int:
    """SLURM_BITSTR_LEN as the client reads it (atoi; negative = 64; capped at 4096)."""
    if value is None:
        return 64
    n = _atoi(value)
    if n < 0:
        return 64
    return min(n, 4096)


def _atoi(text: str) -> int:
    s = text.lstrip(" \t\n\r\f\v")
    sign = 1
    if s[:1] in ("+", "-"):
        sign = -1 if s[0] == "-" else 1
        s = s[1:]
    n = 0
    for ch in s:
        if not ("0" <= ch <= "9"):
            break
        n = n * 10 + ord(ch) - 48
    return sign * n


def make_row(rec: JobRecord, bitstr_len: int = 64) -> Row:
    if rec.array_job_id is not None and rec.array_task_id is None and rec.array_pending:
        pend = tuple(rec.array_pending)
        return Row(rec, array_task_str(pend, rec.array_throttle, bitstr_len), None,
                   _reason_of(rec), pend)
    return Row(rec, None, rec.array_task_id if rec.array_job_id is not None else None,
               _reason_of(rec), ())


def _reason_of(rec: JobRecord) -> str:
    reason = rec.reason or "None"
    if reason == "None":
        return _END_REASONS.get(rec.state, reason)
    return reason


def make_rows(records: Iterable[JobRecord], bitstr_len: int = 64) -> list[Row]:
    """Rows in the controller's list order (creation order: ascending raw job id)."""
    recs = list(records)
    recs.sort(key=_job_id_key)
    out: list[Row] = []
    append = out.append
    end_reasons = _END_REASONS
    new = Row.__new__
    for rec in recs:
        task_id = rec.array_task_id
        if task_id is None and rec.array_pending and rec.array_job_id is not None:
            append(make_row(rec, bitstr_len))
            continue
        reason = rec.reason
        if reason == "None" or not reason:
            reason = end_reasons.get(rec.state, "None")
        # Row(rec, None, rec.array_task_id, reason, ()) without the __init__ call
        row = new(Row)
        row.rec = rec
        row.task_str = None
        row.task_id = task_id
        row.reason = reason
        row.pending = ()
        row.sort_start = 0
        append(row)
    return out


_job_id_key = attrgetter("job_id")


# ===================================================================== filtering

@dataclass
class JobFilter:
    """squeue's selection options, resolved (user names to uids, host lists expanded)."""

    jobs: list[tuple[int, int | None]] | None = None   # -j: (job id, array task or None)
    states: frozenset[JobState] | None = None          # -t; None = the default set
    all_states: bool = False                           # -t all
    uids: frozenset[int] | None = None                 # -u / --me (resolved)
    user_names: frozenset[str] = frozenset()           # the same users by name
    accounts: list[str] | None = None                  # -A (case-insensitive)
    partitions: list[str] | None = None                # -p
    qos: list[str] | None = None                       # -q (case-insensitive)
    names: list[str] | None = None                     # -n (case-insensitive)
    licenses: list[str] | None = None                  # -L
    nodes: frozenset[str] | None = None                # -w (expanded host names)
    reservation: str | None = None                     # -R
    notme_uid: int | None = None                       # --notme
    running_over: int | None = None                    # --running-over (seconds)
    running_under: int | None = None                   # --running-under (seconds)


def parse_job_list(text: str) -> list[tuple[int, int | None]]:
    """`-j` values: `12,13_2` -> [(12, None), (13, 2)].  Like Slurm's `_build_job_list` (strtol:
    trailing garbage is ignored); a non-positive id raises SlurmError("Invalid job id: X")."""
    out: list[tuple[int, int | None]] = []
    for tok in text.split(","):
        if not tok:
            continue
        job_id, rest = _strtol_prefix(tok)
        task: int | None = None
        if rest.startswith("_"):
            task, _ = _strtol_prefix(rest[1:])
        if job_id <= 0:
            raise SlurmError(f"Invalid job id: {tok}")
        out.append((job_id, task))
    return out


def _strtol_prefix(text: str) -> tuple[int, str]:
    i, n = 0, len(text)
    while i < n and text[i] in " \t\n\r\f\v":
        i += 1
    j = i
    if j < n and text[j] in "+-":
        j += 1
    k = j
    while k < n and "0" <= text[k] <= "9":
        k += 1
    if k == j:
        return 0, text
    return int(text[i:k]), text[k:]


def _expand_hosts(node_list: str) -> set[str]:
    if not node_list:
        return set()
    if "[" not in node_list and "," not in node_list:
        return {node_list}
    from ..slurm import hostlist
    return set(hostlist.expand(node_list))


def select_rows(records: Iterable[JobRecord], flt: JobFilter | None = None, *, now: float = 0,
                spec_of: Callable[[JobRecord], Any] | None = None,
                bitstr_len: int = 64) -> list[Row]:
    """Apply squeue's filters; returns rows in list order (see `make_rows`)."""
    rows = make_rows(records, bitstr_len)
    if flt is None:
        flt = JobFilter()
    out: list[Row] = []
    # the filter's settings as locals: this loop runs once per job
    if flt.all_states:
        states = None
    else:
        states = DEFAULT_SQUEUE_STATES if flt.states is None else flt.states
    jobs = flt.jobs
    licenses = flt.licenses
    part_set = flt.partitions
    acc = None if flt.accounts is None else {a.lower() for a in flt.accounts}
    qos = None if flt.qos is None else {q.lower() for q in flt.qos}
    names = None if flt.names is None else {n.lower() for n in flt.names}
    nodes = flt.nodes
    notme = flt.notme_uid
    uids = flt.uids
    unames = flt.user_names
    reservation = flt.reservation
    running_over = flt.running_over
    running_under = flt.running_under
    inow = int(now)
    if jobs is licenses is part_set is acc is qos is names is nodes is notme is uids \
            is reservation is running_over is running_under is None:
        # only the state filter (squeue with no selection options): one test per job
        if states is None:
            return rows
        return [row for row in rows if row.rec.state in states]
    append = out.append
    for row in rows:
        rec = row.rec
        partial = False
        if jobs is not None:
            keep = False
            for jid, aid in jobs:
                if aid is None:
                    if jid == rec.array_job_id or jid == rec.job_id:
                        keep = True
                        break
                elif aid == rec.array_task_id and jid == rec.array_job_id:
                    keep = True
                    break
                if aid is not None and jid == rec.array_job_id and aid in row.pending:
                    keep = True
                    partial = True
                    break
            if not keep:
                continue
        if licenses is not None:
            lic = _spec_attr(rec, spec_of, "licenses")
            have = [t.split(":", 1)[0] for t in lic.split(",")] if lic else []
            if not any(t in licenses for t in have):
                continue
        if acc is not None and (rec.account is None or rec.account.lower() not in acc):
            continue
        if qos is not None and (rec.qos is None or rec.qos.lower() not in qos):
            continue
        if states is not None and rec.state not in states:
            continue
        if nodes is not None:
            if not rec.node_list or not (_expand_hosts(rec.node_list) & nodes):
                continue
        if notme is not None and rec.uid == notme:
            continue
        if uids is not None and rec.uid not in uids and rec.user not in unames:
            continue
        if reservation is not None:
            continue                     # no job of ours runs in a reservation
        if names is not None and rec.name.lower() not in names:
            continue
        if part_set is not None:
            if not any(p in part_set for p in rec.partition.split(",")):
                continue
        if partial:
            sel = sorted({aid for jid, aid in jobs if jid == rec.array_job_id and aid is not None}
                         & set(row.pending))
            row = row.copy()
            if len(sel) == 1:
                row.task_id = sel[0]
                row.task_str = None
                row.pending = ()
            else:
                row.task_str = _ranges(sel)
                row.pending = tuple(sel)
        if running_over is not None:
            if rec.state != JobState.RUNNING or time_used(rec, inow) < running_over:
                continue
        if running_under is not None:
            if rec.state != JobState.RUNNING or time_used(rec, inow) >= running_under:
                continue
        append(row)
    return out


def _spec_attr(rec: JobRecord, spec_of, attr: str):
    spec = rec.spec
    if spec is None and spec_of is not None:
        try:
            spec = spec_of(rec)
        except Exception:  # noqa: BLE001 - a missing spec only costs the field
            spec = None
    return getattr(spec, attr, None) if spec is not None else None


# ===================================================================== combining

def combine_pending(rows: list[Row], bitstr_len: int = 64) -> list[Row]:
    """`_combine_pending_array_tasks`: pending tasks of an array that were split off (requeued,
    held) fold back into the pending meta record of the same array, name and partition.  The
    result shows plain ranges (no throttle) and the distinct reasons joined by commas."""
    metas: dict[int, Row] = {}
    for row in rows:
        if row.task_str is not None and row.rec.state == JobState.PENDING:
            metas.setdefault(row.rec.array_job_id, row)  # type: ignore[arg-type]
    if not metas:
        return rows
    absorbed: dict[int, list[Row]] = {}
    keep: list[Row] = []
    for row in rows:
        rec = row.rec
        meta = metas.get(rec.array_job_id) if row.task_str is None else None  # type: ignore[arg-type]
        if (meta is not None and row.task_id is not None and rec.state == JobState.PENDING
                and meta.rec.name == rec.name and meta.rec.partition == rec.partition):
            absorbed.setdefault(rec.array_job_id, []).append(row)  # type: ignore[arg-type]
            continue
        keep.append(row)
    if not absorbed:
        return rows
    out: list[Row] = []
    for row in keep:
        tasks = absorbed.get(row.rec.array_job_id) if row.task_str is not None else None  # type: ignore[arg-type]
        if tasks and metas.get(row.rec.array_job_id) is row:  # type: ignore[arg-type]
            base_reason = row.reason
            row = row.copy()
            idx = set(row.pending)
            desc: str | None = None
            for t in tasks:
                idx.add(t.task_id)  # type: ignore[arg-type]
                code = reason_code(t.rec) if t.reason == t.rec.reason else t.reason
                if code == base_reason:
                    continue
                if desc is None:
                    desc = base_reason
                if code not in desc:
                    desc += "," + code
            row.pending = tuple(sorted(idx))
            text = _ranges(row.pending)
            if bitstr_len > 0:
                text = text[:bitstr_len - 1]
            row.task_str = text
            if desc is not None:
                row.reason = desc
        out.append(row)
    return out


# ===================================================================== time helpers

def time_used(rec: JobRecord, now: int) -> int:
    """`job_time_used`: 0 while pending, run time while running, end - start when done."""
    start = rec.start_time
    if not start or rec.state == JobState.PENDING:
        return 0
    if rec.state == JobState.RUNNING or not rec.end_time:
        end = now
    else:
        end = int(rec.end_time)
    return end - int(start)


def format_secs(secs: int) -> str:
    """`_print_secs`: M:SS, H:MM:SS, D-HH:MM:SS; INVALID below 0 or above a year."""
    if secs < 0 or secs > YEAR_SECONDS:
        return "INVALID"
    return format_elapsed(int(secs))


def format_time(ts: float | None) -> str:
    """`_print_time`: a timestamp, or N/A when unset."""
    if not ts:
        return "N/A"
    return format_timestamp(ts)


def format_date_line(now: float) -> str:
    """The line `-l`/`-i` print first: `Sun Nov 22 10:40:09 2026`."""
    return _time.strftime("%a %b %d %H:%M:%S %Y", _time.localtime(now))


def _limit_of(row: Row, ctx: "_Ctx") -> int | None:
    lim = row.rec.time_limit
    if lim is None:
        lim = ctx.default_limits.get(row.rec.partition)
    return lim


def _end_time(rec: JobRecord, lim: int | None) -> float:
    if rec.end_time:
        return rec.end_time
    if rec.state in (JobState.RUNNING, JobState.SUSPENDED, JobState.COMPLETING,
                     JobState.CONFIGURING) and rec.start_time:
        if lim is None or lim == INFINITE:
            return rec.start_time + YEAR_SECONDS
        return rec.start_time + lim * 60
    return 0


# ===================================================================== the field registry

class _Memo(dict):
    """value -> text, each computed on first use (`memo[v]`: one dict lookup once known)."""

    __slots__ = ("make",)

    def __init__(self, make: Callable[[Any], str]):
        super().__init__()
        self.make = make

    def __missing__(self, key: Any) -> str:
        out = self[key] = self.make(key)
        return out


def _conversion(width: int, right: bool, cut: bool) -> str:
    """The printf conversion that does what `make_fitter(width, right, cut)` does to a text
    that is not None (Slurm's `_print_str` is printf: `%*.*s`)."""
    if width == 0:
        return "%s"
    if width < 0:
        return "%s "
    if right:
        return f"%{width}.{width}s" if cut else f"%{width}s"
    return f"%-{width}.{width}s"


def _null_text(width: int, right: bool) -> str:
    """What goes through `_conversion` in place of a None (glibc: `(null)`, or nothing under
    a precision below 6)."""
    return "" if (not right and 0 < width < 6) else NULL_TEXT


class _Ctx:
    """What field functions need besides the row."""

    def __init__(self, now: float, spec_of, default_limits, id_cut: bool, cluster: str,
                 expand_patterns: bool = False, convert: bool = True):
        self.now = int(now)
        self.spec_of = spec_of
        self.default_limits = default_limits or {}
        self.id_cut = id_cut
        self.cluster = cluster
        self.expand_patterns = expand_patterns
        self.convert = convert
        self._specs: dict[int, Any] = {}

    def spec(self, row: Row):
        rec = row.rec
        if rec.spec is not None:
            return rec.spec
        if self.spec_of is None:
            return None
        key = id(rec)
        try:
            return self._specs[key]
        except KeyError:
            try:
                spec = self.spec_of(rec)
            except Exception:  # noqa: BLE001
                spec = None
            self._specs[key] = spec
            return spec


Getter = Callable[[Row, _Ctx], "str | None"]
Factory = Callable[[int, bool, _Ctx], Callable[[Row], str]]


def _simple(getter: Getter, cut: bool = True) -> Factory:
    def factory(width: int, right: bool, ctx: _Ctx) -> Callable[[Row], str]:
        fit = make_fitter(width, right, cut)
        return lambda row: fit(getter(row, ctx))
    return factory


def _const(text: str | None) -> Factory:
    def factory(width: int, right: bool, ctx: _Ctx) -> Callable[[Row], str]:
        out = make_fitter(width, right, True)(text)
        return lambda row: out
    factory.inline = lambda width, right, ctx, k, ns: (None, factory(width, right, ctx)(None))
    return factory


def job_id_text(row: Row) -> str:
    """%i: N, N_T or N_[tasks]."""
    rec = row.rec
    if row.task_str is not None:
        return f"{rec.array_job_id}_[{row.task_str}]"
    if row.task_id is not None:
        return f"{rec.array_job_id}_{row.task_id}"
    return str(rec.job_id)


def _f_jobarrayid(width: int, right: bool, ctx: _Ctx):
    fit = make_fitter(width, right, True)
    fit_nocut = make_fitter(width, right, False)
    limit = FORMAT_STRING_SIZE - 1
    id_cut = ctx.id_cut

    def f(row: Row) -> str:
        rec = row.rec
        if row.task_str is not None:
            text = f"{rec.array_job_id}_[{row.task_str}]"
            if id_cut:
                return fit(text[:limit])
            return fit_nocut(text)
        if row.task_id is not None:
            return fit(f"{rec.array_job_id}_{row.task_id}")
        return fit(str(rec.job_id))
    return f


def _i_jobarrayid(width: int, right: bool, ctx: _Ctx, k: int, ns: dict):
    # A plain job's id goes straight to the line's conversion.  An array row's text comes
    # from the printer, already fitted: when every branch cuts (or the width is 0) that text
    # is exactly what the conversion would make of it.
    if width < 0 or (right and width and not ctx.id_cut):
        return None
    ns[f"p{k}"] = _f_jobarrayid(width, right, ctx)
    return (f"(rec.job_id if row.task_str is None and row.task_id is None else p{k}(row))",
            _conversion(width, right, True))


_f_jobarrayid.inline = _i_jobarrayid  # type: ignore[attr-defined]


def _g_array_job_id(row: Row, ctx) -> str:
    rec = row.rec
    if rec.array_job_id is not None and (row.task_str is not None or row.task_id is not None):
        return str(rec.array_job_id)
    return str(rec.job_id)


def _g_array_task_id(row: Row, ctx) -> str:
    if row.task_str is not None:
        return row.task_str
    if row.task_id is not None:
        return str(row.task_id)
    return "N/A"


def _f_time_used(width: int, right: bool, ctx: _Ctx):
    fit = make_fitter(width, right, False)
    now = ctx.now
    cache: dict[int, str] = {}
    get = cache.get
    PENDING, RUNNING = JobState.PENDING, JobState.RUNNING

    def f(row: Row) -> str:
        rec = row.rec
        start = rec.start_time
        state = rec.state
        if not start or state is PENDING:
            secs = 0
        elif state is RUNNING or not rec.end_time:
            secs = now - int(start)
        else:
            secs = int(rec.end_time) - int(start)
        out = get(secs)
        if out is None:
            out = cache[secs] = fit(format_secs(secs))
        return out
    return f


def _i_time_used(width: int, right: bool, ctx: _Ctx, k: int, ns: dict):
    ns[f"p{k}"] = _f_time_used(width, right, ctx)
    ns[f"z{k}"] = make_fitter(width, right, False)(format_secs(0))
    return f"(z{k} if not rec.start_time or rec.state is PENDING else p{k}(row))", "%s"


_f_time_used.inline = _i_time_used  # type: ignore[attr-defined]


def _time_limit_texts(width: int, right: bool) -> "_Memo":
    """time limit (minutes, INFINITE or None) -> the fitted %l text."""
    fit = make_fitter(width, right, True)
    fit_nocut = make_fitter(width, right, False)

    def text(lim: int | None) -> str:
        if lim == INFINITE:
            return fit("UNLIMITED")
        if lim is None:
            return fit("NOT_SET")
        return fit_nocut(format_secs(lim * 60))
    return _Memo(text)


def _f_time_limit(width: int, right: bool, ctx: _Ctx):
    texts = _time_limit_texts(width, right)
    return lambda row: texts[_limit_of(row, ctx)]


def _i_time_limit(width: int, right: bool, ctx: _Ctx, k: int, ns: dict):
    ns[f"m{k}"] = _time_limit_texts(width, right)
    ns[f"d{k}"] = ctx.default_limits
    return (f"m{k}[v{k} if (v{k} := rec.time_limit) is not None else d{k}.get(rec.partition)]",
            "%s")


_f_time_limit.inline = _i_time_limit  # type: ignore[attr-defined]


def _f_time_left(width: int, right: bool, ctx: _Ctx):
    fit = make_fitter(width, right, True)
    fit_nocut = make_fitter(width, right, False)

    def f(row: Row) -> str:
        lim = _limit_of(row, ctx)
        if lim == INFINITE:
            return fit("UNLIMITED")
        if lim is None:
            return fit("NOT_SET")
        return fit_nocut(format_secs(lim * 60 - time_used(row.rec, ctx.now)))
    return f


def _f_min_time(width: int, right: bool, ctx: _Ctx):
    fit = make_fitter(width, right, True)

    def f(row: Row) -> str:
        spec = ctx.spec(row)
        tmin = getattr(spec, "time_min", None) or 0
        return fit(format_secs(tmin * 60))
    return f


def _f_reason_list(width: int, right: bool, ctx: _Ctx):
    fit = make_fitter(width, right, True)
    fit_nodes = make_fitter(width, right, False)
    reason_states = _REASON_STATES
    reasons: dict[str, str] = {}
    nodes: dict[str, str] = {}

    def f(row: Row) -> str:
        rec = row.rec
        if rec.state in reason_states:
            r = row.reason
            try:
                return reasons[r]
            except KeyError:
                out = reasons[r] = fit("(" + r + ")")
                return out
        nl = rec.node_list or ""
        try:
            return nodes[nl]
        except KeyError:
            out = nodes[nl] = fit_nodes(nl)
            return out
    return f


def _i_reason_list(width: int, right: bool, ctx: _Ctx, k: int, ns: dict):
    fit = make_fitter(width, right, True)
    fit_nodes = make_fitter(width, right, False)
    ns[f"m{k}"] = _Memo(lambda r: fit("(" + r + ")"))
    ns[f"n{k}"] = _Memo(fit_nodes)
    return (f"(m{k}[row.reason] if rec.state in REASON_STATES else n{k}[rec.node_list or ''])",
            "%s")


_f_reason_list.inline = _i_reason_list  # type: ignore[attr-defined]


def _g_node_list(row: Row, ctx) -> str:
    return row.rec.node_list or ""


def _batch_host(rec: JobRecord) -> str | None:
    nl = rec.node_list
    if not nl:
        return None
    if "[" not in nl and "," not in nl:
        return nl
    try:
        from ..slurm import hostlist
        hosts = hostlist.expand(nl)
        return hosts[0] if hosts else None
    except Exception:  # noqa: BLE001
        return nl.split(",", 1)[0]


def _g_batch_host(row: Row, ctx) -> str:
    return _batch_host(row.rec) or "n/a"


def _g_user(row: Row, ctx) -> str:
    rec = row.rec
    return rec.user or str(rec.uid)


def _g_priority_frac(row: Row, ctx) -> str:
    return "%16.14f" % (_priority(row.rec) / float(0xFFFFFFFF))


def _priority(rec: JobRecord) -> int:
    if rec.hold:
        return 0
    return rec.priority


def _mem_text(mib: int | None, convert: bool = True) -> str:
    if not mib:
        return "0"
    return format_mem(mib, convert=convert)


def _min_memory(row: Row, ctx: _Ctx) -> str:
    spec = ctx.spec(row)
    res = getattr(spec, "resources", None)
    if res is None:
        return "0"
    if res.mem_per_cpu:
        return _mem_text(res.mem_per_cpu, ctx.convert)
    return _mem_text(res.mem_per_node, ctx.convert)


def _min_cpus(row: Row, ctx: _Ctx) -> str:
    spec = ctx.spec(row)
    res = getattr(spec, "resources", None)
    if res is None:
        return "1"
    cpt = res.cpus_per_task or 1
    return str(cpt * (res.ntasks_per_node or 1))


def _tmp_disk(row: Row, ctx: _Ctx) -> str:
    spec = ctx.spec(row)
    res = getattr(spec, "resources", None)
    return _mem_text(getattr(res, "tmp_mb", None), ctx.convert)


def _tres_per_node(row: Row, ctx: _Ctx) -> str:
    spec = ctx.spec(row)
    res = getattr(spec, "resources", None)
    if res is None:
        return "N/A"
    parts = []
    for g in res.gres:
        parts.append(f"gres/{g.name}:{g.type}:{g.count}" if g.type else f"gres/{g.name}:{g.count}")
    if res.gpus_per_node and not any(g.name == "gpu" for g in res.gres):
        t = f"{res.gpu_type}:" if res.gpu_type else ""
        parts.append(f"gres/gpu:{t}{res.gpus_per_node}")
    return ",".join(parts) if parts else "N/A"


def _tres_per_task(row: Row, ctx: _Ctx) -> str:
    spec = ctx.spec(row)
    res = getattr(spec, "resources", None)
    if res is None or not res.cpus_per_task:
        return "N/A"
    return f"cpu={res.cpus_per_task}"


def _tres_per_job(row: Row, ctx: _Ctx) -> str:
    spec = ctx.spec(row)
    res = getattr(spec, "resources", None)
    if res is None or not res.gpus:
        return "N/A"
    return f"gres/gpu:{res.gpus}"


def tres_string(row: Row, ctx: _Ctx) -> str:
    """`cpu=1,mem=1G,node=1,billing=1`."""
    rec = row.rec
    spec = ctx.spec(row)
    res = getattr(spec, "resources", None)
    mem = 0
    if res is not None:
        if res.mem_per_cpu:
            mem = res.mem_per_cpu * rec.num_cpus
        elif res.mem_per_node:
            mem = res.mem_per_node * rec.num_nodes
    parts = [f"cpu={rec.num_cpus}"]
    if mem:
        parts.append(f"mem={_mem_text(mem)}")
    parts.append(f"node={rec.num_nodes}")
    parts.append(f"billing={rec.num_cpus}")
    gpn = res.gpus_per_node_total if res is not None else 0
    if gpn:
        parts.append(f"gres/gpu={gpn * rec.num_nodes}")
    return ",".join(parts)


def _end_text(row: Row, ctx: _Ctx) -> str:
    rec = row.rec
    lim = _limit_of(row, ctx)
    end = _end_time(rec, lim)
    if lim == INFINITE and end > ctx.now:
        return "NONE"
    return format_time(end)


def _pending_time(row: Row, ctx: _Ctx) -> str:
    rec = row.rec
    start = int(rec.start_time or 0)
    if start and start < ctx.now:
        return str(start - int(rec.submit_time))
    return str(ctx.now - int(rec.submit_time))


def _dependency(row: Row, ctx) -> str | None:
    rec = row.rec
    if rec.dependency and rec.state == JobState.PENDING and row.reason == "Dependency":
        return rec.dependency
    return None


def _over_subscribe(row: Row, ctx: _Ctx) -> str:
    spec = ctx.spec(row)
    res = getattr(spec, "resources", None)
    if res is not None and res.exclusive:
        return "NO"
    return "OK"


def _stdio(which: str):
    def g(row: Row, ctx: _Ctx) -> str | None:
        rec = row.rec
        spec = ctx.spec(row)
        if which == "in":
            return rec.stdin_path or "/dev/null"
        expanded = rec.stdout_path if which == "out" else rec.stderr_path
        if ctx.expand_patterns:
            return expanded
        raw = getattr(spec, "output" if which == "out" else "error", None) if spec else None
        if raw:
            return raw
        if which == "err":
            return expanded if spec is None else ""
        if spec is None:
            return expanded
        return "slurm-%A_%a.out" if rec.array_job_id is not None else "slurm-%j.out"
    return g


def sluid_text(job_id: int) -> str:
    """A stable `s` + 13 Crockford base-32 digits identifier (Slurm's SLUID shape)."""
    out = []
    v = job_id & ((1 << 64) - 1)
    for i in range(13):
        out.append(_CROCKFORD[(v >> (5 * i)) & 0x1F])
    return "s" + "".join(reversed(out))


def _spec_str(attr: str, sub: str | None = None) -> Getter:
    def g(row: Row, ctx: _Ctx):
        spec = ctx.spec(row)
        if spec is None:
            return None
        obj = getattr(spec, sub) if sub else spec
        val = getattr(obj, attr, None)
        return None if val in (None, "") else str(val)
    return g


def _spec_int(attr: str, default: int = 0, sub: str | None = None, na: str | None = None) -> Getter:
    def g(row: Row, ctx: _Ctx):
        spec = ctx.spec(row)
        obj = spec if (spec is None or not sub) else getattr(spec, sub)
        val = getattr(obj, attr, None) if obj is not None else None
        if val is None:
            return na if na is not None else str(default)
        return str(int(val))
    return g


def _group_name(row: Row, ctx: _Ctx) -> str:
    spec = ctx.spec(row)
    if spec is not None and spec.group:
        return spec.group
    return str(getattr(spec, "gid", 0) or 0)


@dataclass(frozen=True)
class FieldDef:
    """One squeue field: its -O name, -o letter, header and a factory of per-column printers."""

    name: str                 # -O name (matched case-insensitively)
    letter: str | None        # -o letter
    header: str
    factory: Factory
    header_cut: bool = True
    hidden: bool = False


def _S(getter: Getter, cut: bool = True) -> Factory:
    return _simple(getter, cut)


def _memo_field(key: Callable[[Row], Any], text: Callable[[Any], str | None],
                cut: bool = True) -> Factory:
    """A field whose text depends on one value (partition, user, state, counts): the fitted
    text is cached per value, so a repeated value costs one dict lookup."""
    def factory(width: int, right: bool, ctx: _Ctx) -> Callable[[Row], str]:
        fit = make_fitter(width, right, cut)
        cache: dict[Any, str] = {}
        get = cache.get

        def f(row: Row) -> str:
            v = key(row)
            out = get(v)
            if out is None:
                out = cache[v] = fit(text(v))
            return out
        return f
    return factory


def _inline_memo(attr: str, text: Callable[[Any], str | None], cut: bool = True):
    """The compiled-line form of `_memo_field(attrgetter("rec." + attr), text, cut)`."""
    def inline(width: int, right: bool, ctx: _Ctx, k: int, ns: dict):
        fit = make_fitter(width, right, cut)
        ns[f"m{k}"] = _Memo(lambda v: fit(text(v)))
        return f"m{k}[rec.{attr}]", "%s"
    return inline


def _plain_attr(attr: str, cut: bool = True) -> Factory:
    """A field printing a string attribute of the record that is mostly unique per job."""
    def factory(width: int, right: bool, ctx: _Ctx) -> Callable[[Row], str]:
        fit = make_fitter(width, right, cut)
        get = attrgetter("rec." + attr)
        return lambda row: fit(get(row))

    def inline(width: int, right: bool, ctx: _Ctx, k: int, ns: dict):
        ns[f"n{k}"] = _null_text(width, right)
        return f"(n{k} if (v{k} := rec.{attr}) is None else v{k})", _conversion(width, right, cut)
    factory.inline = inline
    return factory


def _f_user(width: int, right: bool, ctx: _Ctx):
    fit = make_fitter(width, right, True)
    cache: dict[str, str] = {}
    get = cache.get

    def f(row: Row) -> str:
        rec = row.rec
        u = rec.user
        if not u:
            return fit(str(rec.uid))
        out = get(u)
        if out is None:
            out = cache[u] = fit(u)
        return out
    return f


def _i_user(width: int, right: bool, ctx: _Ctx, k: int, ns: dict):
    return "(rec.user or str(rec.uid))", _conversion(width, right, True)


_f_user.inline = _i_user  # type: ignore[attr-defined]


def _M(attr: str, to_text: Callable[[Any], str | None] = lambda v: v, cut: bool = True) -> Factory:
    factory = _memo_field(attrgetter("rec." + attr), to_text, cut)
    factory.inline = _inline_memo(attr, to_text, cut)   # type: ignore[attr-defined]
    return factory


def _int_text(v: Any) -> str:
    return str(v)


def _attr(name: str) -> Getter:
    def g(row: Row, ctx) -> str | None:
        return getattr(row.rec, name)
    return g




# The table, in Slurm's order (opts.c fmt_data_job): the first entry with a letter wins.
FIELDS: tuple[FieldDef, ...] = (
    FieldDef("Account", "a", "ACCOUNT", _M("account")),
    FieldDef("AccrueTime", None, "ACCRUE_TIME",
             _S(lambda r, c: format_time(r.rec.eligible_time or r.rec.submit_time))),
    FieldDef("admin_comment", None, "ADMIN_COMMENT", _const(None)),
    FieldDef("AllocNodes", None, "ALLOC_NODES", _S(_spec_str("submit_host"))),
    FieldDef("AllocSID", None, "ALLOC_SID", _S(_spec_int("submit_pid"))),
    FieldDef("ArrayJobId", "F", "ARRAY_JOB_ID", _S(_g_array_job_id)),
    FieldDef("ArrayTaskId", "K", "ARRAY_TASK_ID", _S(_g_array_task_id)),
    FieldDef("AssocId", None, "ASSOC_ID", _const("0")),
    FieldDef("BatchFlag", None, "BATCH_FLAG", _const("1")),
    FieldDef("BatchHost", "B", "EXEC_HOST", _S(_g_batch_host)),
    FieldDef("BoardsPerNode", None, "BOARDS_PER_NODE", _const("N/A")),
    FieldDef("BurstBuffer", None, "BURST_BUFFER", _const(None)),
    FieldDef("BurstBufferState", None, "BURST_BUFFER_STATE", _const(None)),
    FieldDef("Cluster", None, "CLUSTER", _S(lambda r, c: c.cluster)),
    FieldDef("ClusterFeature", None, "CLUSTER_FEATURES", _const(None)),
    FieldDef("Command", "o", "COMMAND", _S(lambda r, c: r.rec.command or None)),
    FieldDef("Comment", "k", "COMMENT", _S(_attr("comment"))),
    FieldDef("Container", None, "CONTAINER", _const(None)),
    FieldDef("ContainerId", None, "CONTAINERID", _const(None)),
    FieldDef("Contiguous", "O", "CONTIGUOUS", _const("0")),
    FieldDef("Cores", "I", "CORES_PER_SOCKET", _const("*")),
    FieldDef("CoreSpec", "X", "CORE_SPEC", _const("N/A")),
    FieldDef("CPUsPerTask", None, "CPUS_PER_TASK",
             _S(_spec_int("cpus_per_task", 1, sub="resources"))),
    FieldDef("cpus-per-task", None, "CPUS_PER_TASK",
             _S(_spec_int("cpus_per_task", 1, sub="resources"))),
    FieldDef("cpus-per-tres", None, "CPUS_PER_TRES", _const("N/A")),
    FieldDef("CronJob", None, "CRON_JOB", _const("No")),
    FieldDef("Deadline", None, "DEADLINE",
             _S(lambda r, c: format_time(getattr(c.spec(r), "deadline", None)))),
    FieldDef("DelayBoot", None, "DELAY_BOOT", _const("0:00")),
    FieldDef("Dependency", "E", "DEPENDENCY", _S(_dependency)),
    FieldDef("DerivedEC", None, "DERIVED_EC",
             _S(lambda r, c: f"{r.rec.derived_exit_code}:0")),
    FieldDef("EligibleTime", None, "ELIGIBLE_TIME",
             _S(lambda r, c: format_time(r.rec.eligible_time))),
    FieldDef("EndTime", "e", "END_TIME", _S(_end_text)),
    FieldDef("ExcNodes", "x", "EXC_NODES", _S(lambda r, c: "", False)),
    FieldDef("exit_code", None, "EXIT_CODE",
             _S(lambda r, c: f"{r.rec.exit_code}:{r.rec.exit_signal}")),
    FieldDef("Feature", "f", "FEATURES", _S(_spec_str("constraint", "resources"))),
    FieldDef("Gres", "b", "TRES_PER_NODE", _S(_tres_per_node), hidden=True),
    FieldDef("GroupId", "G", "GROUP", _S(_spec_int("gid"))),
    FieldDef("GroupName", "g", "GROUP", _S(_group_name)),
    FieldDef("HetJobId", None, "HET_JOB_ID", _const("N/A")),
    FieldDef("HetJobIdSet", None, "HET_JOB_ID_SET", _const("N/A")),
    FieldDef("HetJobOffset", None, "HET_JOB_OFFSET", _const("N/A")),
    FieldDef("JobArrayId", "i", "JOBID", _f_jobarrayid),
    FieldDef("JobId", "A", "JOBID", _S(lambda r, c: str(r.rec.job_id))),
    FieldDef("LastSchedEval", None, "LAST_SCHED_EVAL",
             _S(lambda r, c: format_time(r.rec.eligible_time or r.rec.submit_time))),
    FieldDef("Licenses", "W", "LICENSES", _S(_spec_str("licenses"))),
    FieldDef("LicensesAlloc", None, "LICENSES_ALLOC", _const(None)),
    FieldDef("MaxCPUs", None, "MAX_CPUS", _M("num_cpus", _int_text)),
    FieldDef("MaxNodes", None, "MAX_NODES", _M("num_nodes", _int_text)),
    FieldDef("mem-per-tres", None, "MEM_PER_TRES", _const("N/A")),
    FieldDef("MCSLabel", None, "MCSLABEL", _const(None)),
    FieldDef("MinCPUs", "c", "MIN_CPUS", _S(_min_cpus)),
    FieldDef("MinMemory", "m", "MIN_MEMORY", _S(_min_memory)),
    FieldDef("MinTime", None, "TIME_MIN", _f_min_time),
    FieldDef("MinTmpDisk", "d", "MIN_TMP_DISK", _S(_tmp_disk)),
    FieldDef("Name", "j", "NAME", _plain_attr("name")),
    FieldDef("Network", None, "NETWORK", _const(None)),
    FieldDef("Nice", "y", "NICE", _M("nice", _int_text)),
    FieldDef("NodeList", "N", "NODELIST", _S(_g_node_list, False), header_cut=False),
    FieldDef("NTPerCore", None, "NTASKS_PER_CORE", _const("N/A")),
    FieldDef("NTPerNode", None, "NTASKS_PER_NODE",
             _S(_spec_int("ntasks_per_node", sub="resources", na="N/A"))),
    FieldDef("NTPerSocket", None, "NTASKS_PER_SOCKET", _const("N/A")),
    FieldDef("NTPerBoard", None, "NTASKS_PER_BOARD", _const("N/A")),
    FieldDef("NumCPUs", "C", "CPUS", _M("num_cpus", _int_text)),
    FieldDef("NumNodes", "D", "NODES", _M("num_nodes", _int_text)),
    FieldDef("NumTasks", None, "TASKS", _M("num_tasks", _int_text)),
    FieldDef("Origin", None, "ORIGIN", _const("NA")),
    FieldDef("OriginRaw", None, "ORIGIN_RAW", _const("NA")),
    FieldDef("OverSubscribe", "h", "OVER_SUBSCRIBE", _S(_over_subscribe)),
    FieldDef("PackJobId", None, "HET_JOB_ID", _const("N/A"), hidden=True),
    FieldDef("PackJobIdSet", None, "HET_JOB_ID_SET", _const("N/A"), hidden=True),
    FieldDef("PackJobOffset", None, "HET_JOB_OFFSET", _const("N/A"), hidden=True),
    FieldDef("Partition", "P", "PARTITION", _M("partition")),
    FieldDef("PendingTime", None, "PENDING_TIME", _S(_pending_time)),
    FieldDef("PreemptTime", None, "PREEMPT_TIME", _const("N/A")),
    FieldDef("Prefer", None, "PREFER", _const(None)),
    FieldDef("Priority", "p", "PRIORITY", _S(_g_priority_frac)),
    FieldDef("PriorityLong", "Q", "PRIORITY", _S(lambda r, c: str(_priority(r.rec)))),
    FieldDef("Profile", None, "PROFILE", _const("NotSet")),
    FieldDef("QOS", "q", "QOS", _M("qos")),
    FieldDef("Reason", "r", "REASON", _S(lambda r, c: r.reason)),
    FieldDef("ReasonList", "R", "NODELIST(REASON)", _f_reason_list, header_cut=False),
    FieldDef("Reboot", None, "REBOOT", _const("0")),
    FieldDef("ReqNodes", "n", "REQ_NODES", _S(lambda r, c: "", False)),
    FieldDef("ReqSwitch", None, "REQ_SWITCH", _const("0")),
    FieldDef("Requeue", None, "REQUEUE",
             _S(lambda r, c: "0" if getattr(c.spec(r), "requeue", None) is False else "1")),
    FieldDef("Reservation", "v", "RESERVATION", _const(None)),
    FieldDef("ResizeTime", None, "RESIZE_TIME", _S(lambda r, c: "N/A", False)),
    FieldDef("RestartCnt", None, "RESTART_COUNT", _M("restarts", _int_text)),
    FieldDef("SchedNodes", "Y", "SCHEDNODES", _S(lambda r, c: None, False), header_cut=False),
    FieldDef("SCT", "z", "S:C:T", _const("*:*:*")),
    FieldDef("SegmentSize", None, "SEGMENT_SIZE", _const("N/A")),
    FieldDef("SiblingsActive", None, "ACTIVE_SIBLINGS", _const("NA")),
    FieldDef("SiblingsActiveRaw", None, "ACTIVE_SIBLINGS_RAW", _const("NA")),
    FieldDef("SiblingsViable", None, "VIABLE_SIBLINGS", _const("NA")),
    FieldDef("SiblingsViableRaw", None, "VIALBLE_SIBLINGS_RAW", _const("NA")),
    FieldDef("Shared", "h", "OVER_SUBSCRIBE", _S(_over_subscribe), hidden=True),
    FieldDef("SLUID", "s", "SLUID", _S(lambda r, c: sluid_text(r.rec.job_id))),
    FieldDef("Sockets", "H", "SOCKETS_PER_NODE", _const("*")),
    FieldDef("SPerBoard", None, "SOCKETS_PER_BOARD", _const("0")),
    FieldDef("StartTime", "S", "START_TIME", _S(lambda r, c: format_time(r.rec.start_time))),
    FieldDef("State", "T", "STATE", _M("state", lambda v: v.value)),
    FieldDef("StateCompact", "t", "ST", _M("state", lambda v: v.compact)),
    FieldDef("StdErr", None, "STDERR", _S(_stdio("err"))),
    FieldDef("StdIn", None, "STDIN", _S(_stdio("in"))),
    FieldDef("StdOut", None, "STDOUT", _S(_stdio("out"))),
    FieldDef("SubmitTime", "V", "SUBMIT_TIME", _S(lambda r, c: format_time(r.rec.submit_time))),
    FieldDef("system_comment", None, "SYSTEM_COMMENT", _const(None)),
    FieldDef("Threads", "J", "THREADS_PER_CORE", _const("*")),
    FieldDef("TimeLeft", "L", "TIME_LEFT", _f_time_left),
    FieldDef("TimeLimit", "l", "TIME_LIMIT", _f_time_limit),
    FieldDef("TimeUsed", "M", "TIME", _f_time_used),
    FieldDef("Tres", None, "TRES_ALLOC", _S(tres_string), hidden=True),
    FieldDef("tres-alloc", None, "TRES_ALLOC", _S(tres_string)),
    FieldDef("tres-bind", None, "TRES_BIND", _const("N/A")),
    FieldDef("tres-freq", None, "TRES_FREQ", _const("N/A")),
    FieldDef("tres-per-job", None, "TRES_PER_JOB", _S(_tres_per_job)),
    FieldDef("tres-per-node", None, "TRES_PER_NODE", _S(_tres_per_node), hidden=True),
    FieldDef("tres-per-socket", None, "TRES_PER_SOCKET", _const("N/A")),
    FieldDef("tres-per-task", None, "TRES_PER_TASK", _S(_tres_per_task)),
    FieldDef("UserId", "U", "UID", _M("uid", _int_text)),
    FieldDef("UserName", "u", "USER", _f_user),
    FieldDef("Wait4Switch", None, "WAIT4SWITCH", _const("0:00")),
    FieldDef("WCKey", "w", "WCKEY", _S(_spec_str("wckey"))),
    FieldDef("WorkDir", "Z", "WORK_DIR", _S(_attr("work_dir"))),
)

BY_LETTER: dict[str, FieldDef] = {}
BY_NAME: dict[str, FieldDef] = {}
for _fd in FIELDS:
    if _fd.letter and _fd.letter not in BY_LETTER:
        BY_LETTER[_fd.letter] = _fd
    BY_NAME.setdefault(_fd.name.lower(), _fd)
del _fd


def help_format_text() -> str:
    """`--helpformat`: the letters, eight to a line, `%%%-5c`."""
    out: list[str] = []
    cnt = 0
    for fd in FIELDS:
        if not fd.letter or fd.hidden:
            continue
        if cnt & 8:
            cnt = 0
            out.append("\n")
        cnt += 1
        out.append(f"%{fd.letter:<5}")
    out.append("\n")
    return "".join(out)


def help_format2_text() -> str:
    """`--helpFormat`: the -O names, four to a line, 20 wide."""
    out: list[str] = []
    cnt = 0
    for fd in FIELDS:
        if fd.hidden:
            continue
        if cnt & 4:
            cnt = 0
            out.append("\n")
        cnt += 1
        out.append(f"{fd.name:<20}")
    out.append("\n")
    return "".join(out)


# ===================================================================== format parsing

@dataclass
class FieldSpec:
    """One item of a parsed format: a field (`field` set) or literal text (prefix / invalid
    item: `field` None, the text in `suffix`)."""

    field: FieldDef | None
    width: int = 0
    right: bool = False
    suffix: str = ""


@dataclass
class Format:
    """A parsed -o / -O format and the errors it gave."""

    fields: list[FieldSpec]
    errors: list[str] = field(default_factory=list)   # `Invalid job format specification: X`

    def raise_errors(self) -> None:
        if self.errors:
            raise SlurmError("\n".join(self.errors))


def parse_format(fmt: str) -> Format:
    """A `-o` format.  Unknown letters do not stop squeue: each gives an error line (returned in
    `errors`, printed as `squeue: error: ...`, exit status unaffected) and prints its own text."""
    if fmt.lower() == "%all":
        letters = [chr(c) for c in range(ord("a"), ord("z") + 1)] + \
                  [chr(c) for c in range(ord("A"), ord("Z") + 1)]
        fmt = "|".join("%" + c for c in letters)
        tokens, _bad = _split_percent(fmt, BY_LETTER.__contains__)
        tokens = [t for t in tokens if t.valid]
        errors: list[str] = []
    else:
        tokens, bad = _split_percent(fmt, BY_LETTER.__contains__)
        errors = [f"Invalid job format specification: {c}" for c in bad]
    return Format([_spec_from_token(t, BY_LETTER) for t in tokens], errors)


def parse_long_format(fmt: str) -> Format:
    """A `-O` format: `name[:[.][size][suffix]]`, comma-separated, names case-insensitive,
    20 columns by default."""
    tokens, bad = _split_long(fmt, lambda n: n.lower() in BY_NAME)
    errors = [f"Invalid job format specification: {n}" for n in bad]
    out = []
    for t in tokens:
        if t.valid:
            out.append(FieldSpec(BY_NAME[t.key.lower()], t.width, t.right, t.suffix))
        else:
            out.append(FieldSpec(None, 0, False, t.suffix))
    return Format(out, errors)


def _spec_from_token(t: FieldToken, table: dict[str, FieldDef]) -> FieldSpec:
    if t.key is None or not t.valid:
        return FieldSpec(None, 0, False, t.suffix)
    return FieldSpec(table[t.key], t.width, t.right, t.suffix)


def default_format(long: bool = False) -> Format:
    return parse_long_format(LONG_FORMAT_LONG if long else DEFAULT_FORMAT_LONG)


# ===================================================================== sorting

_SORT_NOOP = set("cfhnOHIJz")


def check_sort(spec: str) -> tuple[str | None, list[str]]:
    """Validate a `-S` string as `sort_job_list` walks it (right to left).  Returns
    (the first invalid character met, info lines such as `Invalid sort specification: b`)."""
    infos: list[str] = []
    i = len(spec) - 1
    while i >= 0:
        c = spec[i]
        if c in ",+-":
            i -= 1
            continue
        if i + 1 >= 7 and spec[i - 6:i + 1].lower() == "cluster":
            i -= 7
            continue
        if c == "b":
            infos.append("Invalid sort specification: b")
        elif c not in _SORT_KEYS and c not in _SORT_NOOP:
            return c, infos
        i -= 1
    return None, infos


def _start_key(row: Row, now: int) -> int:
    rec = row.rec
    start = rec.start_time
    if not start:
        # a job cancelled before it started: Slurm sets start = end = the cancel time
        if rec.state.is_terminal and rec.end_time and not rec.start_time:
            start = rec.end_time
        else:
            return 0
    start = int(start)
    if rec.state == JobState.PENDING and start < now:
        return now
    return start


def _sort_by_start(rows: list[Row], reverse: bool) -> list[Row]:
    """`_sort_job_by_time_start` under glibc's (stable merge) qsort: rows without a start time
    compare greater than everything and than each other, which puts them last in reverse list
    order; the others sort by start (descending when reverse)."""
    started = [r for r in rows if r.sort_start]
    unstarted = [r for r in rows if not r.sort_start]
    started.sort(key=lambda r: r.sort_start, reverse=reverse)
    unstarted.reverse()
    return started + unstarted


def _uint32_limit(row: Row) -> int:
    lim = row.rec.time_limit
    if lim is None:
        return NO_VAL32
    if lim == INFINITE:
        return INFINITE32
    return lim


def _hostname_key(nodes: str) -> tuple:
    first = _batch_host_text(nodes)
    i = len(first)
    while i > 0 and first[i - 1].isdigit():
        i -= 1
    return (first[:i], int(first[i:]) if i < len(first) else -1)


def _batch_host_text(nodes: str) -> str:
    if not nodes:
        return ""
    if "[" not in nodes and "," not in nodes:
        return nodes
    try:
        from ..slurm import hostlist
        hosts = sorted(hostlist.expand(nodes))
        return hosts[0] if hosts else ""
    except Exception:  # noqa: BLE001
        return nodes


def _make_sort_keys(now: int) -> dict[str, Callable[[Row], Any]]:
    def kid(r: Row):
        rec = r.rec
        if r.task_id is None:
            return (rec.job_id, NO_VAL32)
        return (rec.array_job_id, r.task_id)

    def kleft(r: Row):
        lim = r.rec.time_limit
        if lim is None or lim == INFINITE:
            return INFINITE32
        return lim * 60 - time_used(r.rec, now)

    return {
        "B": lambda r: _batch_host(r.rec) or "",
        "C": lambda r: r.rec.num_cpus,
        "d": lambda r: 0,
        "D": lambda r: r.rec.num_nodes,
        "e": lambda r: int(_end_time(r.rec, r.rec.time_limit)),
        "g": lambda r: "",
        "G": lambda r: 0,
        "i": kid,
        "j": lambda r: r.rec.name or "",
        "l": _uint32_limit,
        "L": kleft,
        "m": lambda r: 0,
        "M": lambda r: time_used(r.rec, now),
        "N": lambda r: _hostname_key(r.rec.node_list or ""),
        "p": lambda r: _priority(r.rec),
        "P": lambda r: r.rec.partition or "",
        "Q": lambda r: _priority(r.rec),
        "t": lambda r: r.rec.state.compact,
        "T": lambda r: r.rec.state.value,
        "u": lambda r: r.rec.user or "",
        "U": lambda r: r.rec.uid,
        "v": lambda r: "",
        "V": lambda r: int(r.rec.submit_time or 0),
    }


_SORT_KEYS = set(_make_sort_keys(0)) | {"S"}


def _sort_start(row: Row) -> int:
    return row.sort_start


def sort_rows(rows: list[Row], sort: str | None = None, *, now: float) -> list[Row]:
    """Slurm's order: start time first, then each `-S` key from the last to the first (a `-`
    before a key reverses it), every pass stable.  Raises SlurmError for an invalid key
    (`Invalid sort specification: X`)."""
    inow = int(now)
    spec = DEFAULT_SORT if sort is None else sort
    if spec == DEFAULT_SORT:
        # The start-time pass and P,t,-p folded into one order: by (partition, state,
        # -priority); within that, started rows by descending start in list order, then
        # unstarted rows in reverse list order.  Done by grouping rather than one big sort:
        # a queue has few distinct (partition, state, priority) triples, and sorting 10,000
        # composite tuple keys cost more than the rest of this function.
        groups: dict[tuple, tuple[list[Row], list[Row]]] = {}
        PENDING = JobState.PENDING
        terminal = TERMINAL_STATES
        compact = COMPACT_NAMES
        for r in rows:
            rec = r.rec
            st = rec.start_time
            state = rec.state
            if st:
                st = int(st)
                if state is PENDING and st < inow:
                    st = inow
            elif state in terminal and rec.end_time:
                st = int(rec.end_time)   # cancelled before it started: start = end
            else:
                st = 0
            r.sort_start = st
            key = (rec.partition or "", compact[state], 0 if rec.hold else -rec.priority)
            group = groups.get(key)
            if group is None:
                group = groups[key] = ([], [])
            group[0 if st else 1].append(r)
        out: list[Row] = []
        for key in sorted(groups):
            started, unstarted = groups[key]
            started.sort(key=_sort_start, reverse=True)   # stable: ties stay in list order
            unstarted.reverse()
            out += started
            out += unstarted
        return out
    for r in rows:
        r.sort_start = _start_key(r, inow)
    rows = _sort_by_start(rows, True)
    bad, _infos = check_sort(spec)
    if bad is not None:
        raise SlurmError(f"Invalid sort specification: {bad}")
    keys = _make_sort_keys(inow)
    i = len(spec) - 1
    while i >= 0:
        c = spec[i]
        if c in ",+-":
            i -= 1
            continue
        reverse = i > 0 and spec[i - 1] == "-"
        if i + 1 >= 7 and spec[i - 6:i + 1].lower() == "cluster":
            i -= 7
            continue                      # one cluster: every job ties
        if c == "S":
            rows = _sort_by_start(rows, reverse)
        elif c in keys:
            rows.sort(key=keys[c], reverse=reverse)
        i -= 1
    return rows


# ===================================================================== rendering

def _compile(fmt: Format, ctx: _Ctx) -> tuple[str, list[str | Callable[[Row], str]]]:
    """The header text and the pieces of a line, in order: literal texts (suffixes, prefix,
    invalid items) and the per-field printers."""
    header_parts: list[str] = []
    pieces: list[str | Callable[[Row], str]] = []
    for fs in fmt.fields:
        if fs.field is not None:
            fd = fs.field
            header_parts.append(make_fitter(fs.width, fs.right, fd.header_cut)(fd.header))
            pieces.append(fd.factory(fs.width, fs.right, ctx))
        header_parts.append(fs.suffix)
        if fs.suffix:
            pieces.append(fs.suffix)
    return "".join(header_parts), pieces


def _expand(rows: Iterable[Row]) -> Iterable[Row]:
    for row in rows:
        if row.task_str is not None and row.pending:
            for idx in row.pending:
                t = row.copy()
                t.task_str = None
                t.task_id = idx
                t.pending = ()
                yield t
        else:
            yield row


def render_rows(rows: Sequence[Row], fmt: Format, *, now: float, noheader: bool = False,
                array_expand: bool = False, spec_of=None,
                default_limits: dict[str, int | None] | None = None,
                id_cut: bool = True, cluster: str = "", expand_patterns: bool = False,
                date_line: bool = False, convert: bool = True) -> str:
    """Print rows that are already filtered, combined and sorted.  `id_cut`: %i of a meta
    record is cut to 31 characters (False when SLURM_BITSTR_LEN is set); `convert`: memory in
    the largest exact unit (False = --noconvert, MiB)."""
    ctx = _Ctx(now, spec_of, default_limits, id_cut, cluster, expand_patterns, convert)
    header, pieces = _compile(fmt, ctx)
    out: list[str] = []
    if date_line and not noheader:
        out.append(format_date_line(now) + "\n")
    if not noheader:
        out.append(header + "\n")
    if array_expand:
        rows = list(_expand(rows))
    if rows:
        if len(rows) >= _COMPILE_MIN_ROWS:
            lines = _line_function(fmt, ctx)(rows)
        else:
            lines = _lines_generic(rows, pieces)
        out.append("\n".join(lines))
        out.append("\n")
    return "".join(out)


# Below this many lines the per-field printers are cheaper than compiling a line function.
_COMPILE_MIN_ROWS = 100


def _lines_generic(rows: Sequence[Row], pieces: list[str | Callable[[Row], str]]) -> list[str]:
    """The lines, field by field: each printer runs through map(), the pieces zipped."""
    n = len(rows)
    if not pieces:
        return [""] * n
    cols = [repeat(p, n) if isinstance(p, str) else map(p, rows) for p in pieces]
    return list(map("".join, zip(*cols)))


def _line_function(fmt: Format, ctx: _Ctx) -> Callable[[Sequence[Row]], list[str]]:
    """One Python function making every line of `fmt`: a list comprehension whose element is a
    single printf (`conversions % (values...)`).  A field whose factory has an `inline`
    builder contributes an expression (and its conversion, or a literal text) to it; any other
    field calls its printer, as `_lines_generic` would.  Same text as the printers, with one
    Python call per line instead of one per field."""
    ns: dict[str, Any] = {"PENDING": JobState.PENDING, "REASON_STATES": _REASON_STATES}
    conv: list[str] = []
    exprs: list[str] = []
    for k, fs in enumerate(fmt.fields):
        fd = fs.field
        if fd is not None:
            inline = getattr(fd.factory, "inline", None)
            got = inline(fs.width, fs.right, ctx, k, ns) if inline is not None else None
            if got is None:
                ns[f"p{k}"] = fd.factory(fs.width, fs.right, ctx)
                got = f"p{k}(row)", "%s"
            expr, text = got
            if expr is None:
                conv.append(text.replace("%", "%%"))      # a constant
            else:
                exprs.append(expr)
                conv.append(text)
        conv.append(fs.suffix.replace("%", "%%"))
    if not exprs:
        line = "".join(conv) % ()
        return lambda rows: [line] * len(rows)
    ns["LINE"] = "".join(conv)
    src = ("def lines(rows):\n"
           f"    return [LINE % ({', '.join(exprs)},) for row in rows for rec in (row.rec,)]\n")
    exec(compile(src, "<squeue line>", "exec"), ns)
    return ns["lines"]


def render_header(fmt: Format, *, now: float = 0, cluster: str = "") -> str:
    ctx = _Ctx(now, None, None, True, cluster)
    return _compile(fmt, ctx)[0] + "\n"


def render(records: Iterable[JobRecord | Row], fields: Format | str | None = None, *, now: float,
           noheader: bool = False, array_expand: bool = False, sort: str | None = None,
           long: bool = False, spec_of: Callable[[JobRecord], Any] | None = None,
           default_limits: dict[str, int | None] | None = None, bitstr_len: int | None = None,
           cluster: str = "", expand_patterns: bool = False, date_line: bool | None = None) -> str:
    """squeue's text output for records that already passed the filters (see `select_rows`).

    `fields`: a parsed Format, a `-o` string, or None for the default (`long` picks `-l`'s
    format and its date line).  `bitstr_len` is SLURM_BITSTR_LEN (None = unset; `-r` sets 0).
    `spec_of(record)` supplies a JobSpec for the few fields that need one (called lazily).
    `default_limits` maps a partition to the time limit shown for jobs without their own."""
    if fields is None:
        fmt = default_format(long)
    elif isinstance(fields, str):
        fmt = parse_format(fields)
    else:
        fmt = fields
    blen = 64 if bitstr_len is None else bitstr_len
    if array_expand and bitstr_len is None:
        blen = 0
    rows = [r if isinstance(r, Row) else make_row(r, blen) for r in records]
    rows.sort(key=lambda r: r.rec.job_id)
    if not array_expand:
        rows = combine_pending(rows, blen)
    rows = sort_rows(rows, sort, now=now)
    id_cut = bitstr_len is None and not array_expand
    return render_rows(rows, fmt, now=now, noheader=noheader, array_expand=array_expand,
                       spec_of=spec_of, default_limits=default_limits, id_cut=id_cut,
                       cluster=cluster, expand_patterns=expand_patterns,
                       date_line=long if date_line is None else date_line)


# ===================================================================== steps (-s)

class StepRow:
    __slots__ = ("step", "job")

    def __init__(self, step: StepRecord, job: JobRecord | None):
        self.step = step
        self.job = job


_STEP_SPECIAL = {"batch": 0xFFFFFFFB, "extern": 0xFFFFFFFC, "interactive": 0xFFFFFFFA,
                 "pending": 0xFFFFFFFD}


def _step_num(step_id: str) -> int:
    if step_id in _STEP_SPECIAL:
        return _STEP_SPECIAL[step_id]
    try:
        return int(step_id)
    except ValueError:
        return NO_VAL32


def step_id_text(sr: StepRow) -> str:
    job = sr.job
    if job is not None and job.array_job_id is not None and job.array_task_id is not None:
        return f"{job.array_job_id}_{job.array_task_id}.{sr.step.step_id}"
    return f"{sr.step.job_id}.{sr.step.step_id}"


def _step_used(sr: StepRow, now: int) -> int:
    st = sr.step
    if not st.start_time:
        return 0
    end = int(st.end_time) if st.end_time and st.state != JobState.RUNNING else now
    return end - int(st.start_time)


@dataclass(frozen=True)
class StepFieldDef:
    """One `squeue -s` field: its -O name, -o letter, header and a factory of printers."""

    name: str
    letter: str | None
    header: str
    factory: Callable[[int, bool, int], Callable[[StepRow], str]]
    header_cut: bool = True


def _sS(getter: Callable[[StepRow, int], str | None], cut: bool = True):
    def factory(width: int, right: bool, now: int):
        fit = make_fitter(width, right, cut)
        return lambda sr: fit(getter(sr, now))
    return factory


def _step_limit(sr: StepRow, now: int) -> str:
    return "UNLIMITED"


STEP_FIELDS: tuple[StepFieldDef, ...] = (
    StepFieldDef("ArrayJobId", None, "ARRAY_JOB_ID",
                 _sS(lambda s, n: str(s.job.array_job_id if s.job and s.job.array_job_id
                                      else s.step.job_id))),
    StepFieldDef("ArrayTaskId", None, "ARRAY_TASK_ID",
                 _sS(lambda s, n: str(s.job.array_task_id)
                     if s.job and s.job.array_task_id is not None else "N/A")),
    StepFieldDef("Cluster", None, "CLUSTER", _sS(lambda s, n: None)),
    StepFieldDef("Container", None, "CONTAINER", _sS(lambda s, n: None)),
    StepFieldDef("ContainerId", None, "CONTAINERID", _sS(lambda s, n: None)),
    StepFieldDef("CPUFreq", None, "CPU_FREQ", _sS(lambda s, n: "Unknown-Unknown:Unknown")),
    StepFieldDef("cpus-per-tres", None, "CPUS_PER_TRES", _sS(lambda s, n: None)),
    StepFieldDef("JobId", None, "JOB_ID", _sS(lambda s, n: str(s.step.job_id))),
    StepFieldDef("mem-per-tres", None, "MEM_PER_TRES", _sS(lambda s, n: None)),
    StepFieldDef("Network", None, "NETWORK", _sS(lambda s, n: None)),
    StepFieldDef("Nodes", "N", "NODELIST", _sS(lambda s, n: s.step.node_list or "", False),
                 header_cut=False),
    StepFieldDef("NumCPUs", None, "NUM_CPUS", _sS(lambda s, n: str(s.step.num_cpus))),
    StepFieldDef("NumTasks", "A", "TASKS", _sS(lambda s, n: str(s.step.num_tasks))),
    StepFieldDef("Partition", "P", "PARTITION",
                 _sS(lambda s, n: s.job.partition if s.job else None)),
    StepFieldDef("ResvPorts", None, "RESERVED_PORTS", _sS(lambda s, n: None)),
    StepFieldDef("StartTime", "S", "START_TIME",
                 _sS(lambda s, n: format_time(s.step.start_time))),
    StepFieldDef("StdErr", None, "STDERR", _sS(lambda s, n: "")),
    StepFieldDef("StdIn", None, "STDIN", _sS(lambda s, n: "")),
    StepFieldDef("StdOut", None, "STDOUT", _sS(lambda s, n: "")),
    StepFieldDef("StepId", "i", "STEPID", _sS(lambda s, n: step_id_text(s))),
    StepFieldDef("StepName", "j", "NAME", _sS(lambda s, n: s.step.name)),
    StepFieldDef("StepState", None, "STATE", _sS(lambda s, n: s.step.state.value)),
    StepFieldDef("TimeLimit", "l", "TIME_LIMIT", _sS(_step_limit)),
    StepFieldDef("TimeUsed", "M", "TIME", _sS(lambda s, n: format_secs(_step_used(s, n)), False)),
    StepFieldDef("tres-bind", None, "TRES_BIND", _sS(lambda s, n: None)),
    StepFieldDef("tres-freq", None, "TRES_FREQ", _sS(lambda s, n: None)),
    StepFieldDef("tres-per-job", None, "TRES_PER_STEP", _sS(lambda s, n: None)),
    StepFieldDef("tres-per-node", "b", "TRES_PER_JOB", _sS(lambda s, n: None)),
    StepFieldDef("tres-per-socket", None, "TRES_PER_SOCKET", _sS(lambda s, n: None)),
    StepFieldDef("tres-per-step", None, "TRES_PER_STEP", _sS(lambda s, n: None)),
    StepFieldDef("tres-per-task", None, "TRES_PER_TASK", _sS(lambda s, n: None)),
    StepFieldDef("UserId", "U", "UID", _sS(lambda s, n: str(s.job.uid) if s.job else "0")),
    StepFieldDef("UserName", "u", "USER",
                 _sS(lambda s, n: (s.job.user or str(s.job.uid)) if s.job else None)),
)
STEP_BY_LETTER = {f.letter: f for f in STEP_FIELDS if f.letter}
STEP_BY_NAME = {f.name.lower(): f for f in STEP_FIELDS}


def parse_step_format(fmt: str) -> Format:
    tokens, bad = _split_percent(fmt, STEP_BY_LETTER.__contains__)
    errors = [f"Invalid job step format specification: {c}" for c in bad]
    out = []
    for t in tokens:
        if t.key is None or not t.valid:
            out.append(FieldSpec(None, 0, False, t.suffix))
        else:
            out.append(FieldSpec(STEP_BY_LETTER[t.key], t.width, t.right, t.suffix))  # type: ignore[arg-type]
    return Format(out, errors)


def parse_step_long_format(fmt: str) -> Format:
    tokens, bad = _split_long(fmt, lambda n: n.lower() in STEP_BY_NAME)
    errors = [f"Invalid job step format specification: {n}" for n in bad]
    out = []
    for t in tokens:
        if t.valid:
            out.append(FieldSpec(STEP_BY_NAME[t.key.lower()], t.width, t.right, t.suffix))  # type: ignore[arg-type]
        else:
            out.append(FieldSpec(None, 0, False, t.suffix))
    return Format(out, errors)


def select_steps(steps: Iterable[StepRecord], jobs: dict[int, JobRecord],
                 flt: JobFilter | None = None,
                 step_list: list[tuple[int, int | None, str]] | None = None) -> list[StepRow]:
    """`_filter_step`: steps of jobs matching -j/-p/-u/-w and the `-s` list."""
    out: list[StepRow] = []
    flt = flt or JobFilter()
    for st in steps:
        if st.state == JobState.PENDING:
            continue
        job = jobs.get(st.job_id)
        ajid = job.array_job_id if job else None
        atid = job.array_task_id if job else None
        if flt.jobs is not None:
            if not any((aid is None and (jid == ajid or jid == st.job_id))
                       or (aid is not None and aid == atid and jid == ajid)
                       for jid, aid in flt.jobs):
                continue
        if flt.partitions is not None and (job is None or job.partition not in flt.partitions):
            continue
        if step_list is not None:
            ok = False
            for jid, aid, sid in step_list:
                if sid != st.step_id and _step_num(sid) != _step_num(st.step_id):
                    continue
                if (aid is None and (jid == ajid or jid == st.job_id)) or \
                        (aid is not None and aid == atid and jid == ajid):
                    ok = True
                    break
            if not ok:
                continue
        if flt.nodes is not None:
            if not st.node_list or not (_expand_hosts(st.node_list) & flt.nodes):
                continue
        if flt.uids is not None:
            if job is None or (job.uid not in flt.uids and job.user not in flt.user_names):
                continue
        out.append(StepRow(st, job))
    return out


def sort_steps(rows: list[StepRow], sort: str | None = None, *, now: float) -> list[StepRow]:
    spec = DEFAULT_STEP_SORT if sort is None else sort
    inow = int(now)
    keys: dict[str, Callable[[StepRow], Any]] = {
        "i": lambda s: (s.step.job_id, _step_num(s.step.step_id)),
        "N": lambda s: _hostname_key(s.step.node_list or ""),
        "P": lambda s: (s.job.partition if s.job else "") or "",
        "l": lambda s: INFINITE32,
        "S": lambda s: int(s.step.start_time or 0),
        "M": lambda s: inow - int(s.step.start_time or 0),
        "u": lambda s: (s.job.user if s.job else "") or "",
        "U": lambda s: s.job.uid if s.job else 0,
    }
    i = len(spec) - 1
    while i >= 0:
        c = spec[i]
        if c in ",+-":
            i -= 1
            continue
        reverse = i > 0 and spec[i - 1] == "-"
        if i + 1 >= 7 and spec[i - 6:i + 1].lower() == "cluster":
            i -= 7
            continue
        if c in keys:
            rows.sort(key=keys[c], reverse=reverse)
        i -= 1
    return rows


def render_steps(rows: Sequence[StepRow], fmt: Format, *, now: float,
                 noheader: bool = False) -> str:
    inow = int(now)
    header_parts: list[str] = []
    funcs: list[Callable[[StepRow], str]] = []
    for fs in fmt.fields:
        if fs.field is None:
            header_parts.append(fs.suffix)
            funcs.append(lambda s, _t=fs.suffix: _t)
            continue
        fd = fs.field
        # _print_step_time_start prints its header left-justified whatever the format says
        right = False if fd.name == "StartTime" else fs.right
        header_parts.append(make_fitter(fs.width, right, fd.header_cut)(fd.header) + fs.suffix)
        fn = fd.factory(fs.width, fs.right, inow)  # type: ignore[arg-type]
        if fs.suffix:
            fn = (lambda f, s: (lambda row: f(row) + s))(fn, fs.suffix)
        funcs.append(fn)
    out = []
    if not noheader:
        out.append("".join(header_parts) + "\n")
    for r in rows:
        out.append("".join(f(r) for f in funcs) + "\n")
    return "".join(out)


# ===================================================================== JSON (data_parser v0.0.44)

def _num(value: int | float | None, *, infinite: bool = False) -> dict:
    if infinite:
        return {"set": False, "infinite": True, "number": 0}
    if value is None:
        return {"set": False, "infinite": False, "number": 0}
    return {"set": True, "infinite": False, "number": value}


def _exit_obj(code: int, signal: int) -> dict:
    if signal:
        status = ["SIGNALED"]
    elif code:
        status = ["ERROR"]
    else:
        status = ["SUCCESS"]
    return {
        "status": status,
        "return_code": _num(code),
        "signal": {"id": _num(signal if signal else None),
                   "name": _signal_name(signal) if signal else ""},
    }


def _signal_name(signum: int) -> str:
    try:
        import signal as _signal
        return _signal.Signals(signum).name[3:]
    except (ValueError, AttributeError):
        return ""


def job_json(row: Row, ctx: _Ctx, cluster: str) -> dict:
    """One element of `jobs`, keys in Slurm's order."""
    rec = row.rec
    spec = ctx.spec(row)
    res = getattr(spec, "resources", None)
    lim = _limit_of(row, ctx)
    running = rec.state in (JobState.RUNNING, JobState.COMPLETING, JobState.SUSPENDED,
                            JobState.CONFIGURING)
    started = bool(rec.start_time)
    is_array = rec.array_job_id is not None
    end = _end_time(rec, lim)
    mem_cpu = getattr(res, "mem_per_cpu", None) if res is not None else None
    mem_node = getattr(res, "mem_per_node", None) if res is not None else None
    cpt = (res.cpus_per_task if res is not None and res.cpus_per_task else 1)
    flags = []
    if started:
        flags.append("JOB_WAS_RUNNING")
    if rec.account is None or (spec is not None and not spec.account):
        flags.append("USING_DEFAULT_ACCOUNT")
    if spec is None or not spec.partition:
        flags.append("USING_DEFAULT_PARTITION")
    if spec is None or not spec.qos:
        flags.append("USING_DEFAULT_QOS")
    if spec is None or not spec.wckey:
        flags.append("USING_DEFAULT_WCKEY")
    flags.append("PARTITION_ASSIGNED")
    node_list = rec.node_list or ""
    hosts = sorted(_expand_hosts(node_list)) if node_list and started else []
    if started and node_list:
        alloc = []
        per = max(1, rec.num_cpus // max(1, len(hosts)))
        for i, h in enumerate(hosts):
            alloc.append({
                "index": i,
                "name": h,
                "cpus": {"count": per, "used": 0},
                "memory": {"used": 0,
                           "allocated": (mem_cpu or 0) * per or (mem_node or 0)},
                "sockets": [{"index": 0,
                             "cores": [{"index": c, "status": ["ALLOCATED"]}
                                       for c in range(per)]}],
            })
        job_resources: dict = {
            "select_type": ["CORE"],
            "nodes": {
                "count": len(hosts),
                "select_type": ["ONE_ROW"],
                "list": node_list,
                "whole": bool(res is not None and res.exclusive),
                "allocation": alloc,
            },
            "cpus": rec.num_cpus,
            "threads_per_core": _num(None),
        }
    else:
        job_resources = {}
    std_in = rec.stdin_path or "/dev/null"
    raw_out = (spec.output if spec is not None and spec.output else
               ("slurm-%A_%a.out" if is_array else "slurm-%j.out"))
    raw_err = spec.error if spec is not None and spec.error else ""
    task_str = row.task_str or ""
    state_list = [rec.state.value]
    job: dict = {
        "account": rec.account or "",
        "accrue_time": _num(int(rec.eligible_time or rec.submit_time or 0)),
        "admin_comment": "",
        "allocating_node": getattr(spec, "submit_host", "") or "",
        "array_job_id": _num(rec.array_job_id or 0),
        "array_task_id": _num(row.task_id) if row.task_id is not None else _num(None),
        "array_max_tasks": _num(rec.array_throttle or 0),
        "array_task_string": task_str,
        "association_id": 0,
        "batch_features": "",
        "batch_flag": True,
        "batch_host": _batch_host(rec) or "" if started else "",
        "flags": flags,
        "burst_buffer": "",
        "burst_buffer_state": "",
        "cluster": cluster,
        "cluster_features": "",
        "command": rec.command or "",
        "comment": rec.comment or "",
        "container": "",
        "container_id": "",
        "contiguous": False,
        "core_spec": 0,
        "thread_spec": 32766,
        "cores_per_socket": _num(None),
        "billable_tres": _num(float(rec.num_cpus)),
        "cpus_per_task": _num(cpt),
        "cpu_frequency_minimum": _num(None),
        "cpu_frequency_maximum": _num(None),
        "cpu_frequency_governor": _num(None),
        "cpus_per_tres": "",
        "cron": "",
        "deadline": _num(int(getattr(spec, "deadline", 0) or 0)),
        "delay_boot": _num(0),
        "dependency": rec.dependency or "",
        "derived_exit_code": _exit_obj(rec.derived_exit_code, 0),
        "eligible_time": _num(int(rec.eligible_time or 0)),
        "end_time": _num(int(end or 0)),
        "excluded_nodes": "",
        "exit_code": _exit_obj(rec.exit_code, rec.exit_signal),
        "extra": "",
        "failed_node": "",
        "features": (getattr(res, "constraint", None) or "") if res is not None else "",
        "federation_origin": "",
        "federation_siblings_active": "",
        "federation_siblings_viable": "",
        "gres_detail": [],
        "group_id": int(getattr(spec, "gid", 0) or 0),
        "group_name": (getattr(spec, "group", "") or "") if spec is not None else "",
        "het_job_id": _num(0),
        "het_job_id_set": "",
        "het_job_offset": _num(0),
        "job_id": rec.job_id,
        "job_resources": job_resources,
        "job_size_str": [],
        "job_state": state_list,
        "last_sched_evaluation": _num(int(rec.eligible_time or rec.submit_time or 0)),
        "licenses": (getattr(spec, "licenses", None) or "") if spec is not None else "",
        "licenses_allocated": "",
        "mail_type": [],
        "mail_user": (getattr(spec, "mail_user", None) or rec.user) if spec is not None else rec.user,
        "max_cpus": _num(0),
        "max_nodes": _num(0),
        "mcs_label": "",
        "memory_per_tres": "",
        "name": rec.name,
        "network": "",
        "nodes": node_list,
        "nice": rec.nice,
        "tasks_per_core": _num(None, infinite=True),
        "tasks_per_tres": _num(0),
        "tasks_per_node": _num(getattr(res, "ntasks_per_node", None) or 0),
        "tasks_per_socket": _num(None, infinite=True),
        "tasks_per_board": _num(0),
        "cpus": _num(rec.num_cpus),
        "node_count": _num(rec.num_nodes),
        "tasks": _num(rec.num_tasks),
        "partition": rec.partition,
        "prefer": "",
        "memory_per_cpu": _num(mem_cpu) if mem_cpu else _num(None),
        "memory_per_node": _num(mem_node) if mem_node else _num(None),
        "minimum_cpus_per_node": _num(cpt * (getattr(res, "ntasks_per_node", None) or 1)),
        "minimum_tmp_disk_per_node": _num(getattr(res, "tmp_mb", None) or 0),
        "power": {"flags": []},
        "preempt_time": _num(0),
        "preemptable_time": _num(0),
        "pre_sus_time": _num(0),
        "hold": bool(rec.hold),
        "priority": _num(_priority(rec)),
        "priority_by_partition": [],
        "profile": ["NOT_SET"],
        "qos": rec.qos or "",
        "reboot": False,
        "required_nodes": "",
        "required_switches": 0,
        "requeue": not (spec is not None and spec.requeue is False),
        "resize_time": _num(0),
        "restart_cnt": rec.restarts,
        "resv_name": "",
        "scheduled_nodes": "",
        "segment_size": 0,
        "selinux_context": "",
        "shared": [],
        "step_id": {
            "sluid": sluid_text(rec.job_id),
            "job_id": _num(rec.job_id),
            "step_het_component": _num(None),
            "step_id": "entire",
        },
        "sockets_per_board": 0,
        "sockets_per_node": _num(None),
        "start_time": _num(int(rec.start_time or 0)),
        "state_description": (row.reason if row.reason != rec.reason and "," in row.reason
                              else rec.reason if rec.reason == REQUEUE_HELD else ""),
        "state_reason": reason_code(rec),
        "standard_input": std_in,
        "standard_output": raw_out,
        "standard_error": raw_err,
        "stdin_expanded": std_in,
        "stdout_expanded": rec.stdout_path or "",
        "stderr_expanded": rec.stderr_path if raw_err else "",
        "submit_time": _num(int(rec.submit_time or 0)),
        "submit_line": getattr(spec, "submit_line", "") or "",
        "suspend_time": _num(0),
        "system_comment": "",
        "time_limit": (_num(None, infinite=True) if lim in (None, INFINITE) else _num(lim)),
        "time_minimum": _num(getattr(spec, "time_min", None) or 0),
        "threads_per_core": _num(None),
        "tres_bind": "",
        "tres_freq": "",
        "tres_per_job": "",
        "tres_per_node": "" if _tres_per_node(row, ctx) == "N/A" else _tres_per_node(row, ctx),
        "tres_per_socket": "",
        "tres_per_task": "" if _tres_per_task(row, ctx) == "N/A" else _tres_per_task(row, ctx),
        "tres_req_str": tres_string(row, ctx),
        "tres_alloc_str": tres_string(row, ctx) if started else "",
        "user_id": rec.uid,
        "user_name": rec.user,
        "maximum_switch_wait_time": 0,
        "wckey": (getattr(spec, "wckey", None) or "") if spec is not None else "",
        "current_working_directory": rec.work_dir,
    }
    if not running and not started:
        job["batch_host"] = ""
    return job


def render_json(rows: Iterable[Row | JobRecord], *, now: float, cluster: str,
                command: Sequence[str], client_user: str = "", client_group: str = "",
                spec_of: Callable[[JobRecord], Any] | None = None,
                default_limits: dict[str, int | None] | None = None,
                last_backfill: float | None = None, last_update: float | None = None,
                accounting: str = "accounting_storage/slurmdbd",
                version: str = "25.11.7", errors: Sequence[dict] = (),
                warnings: Sequence[dict] = ()) -> str:
    """`squeue --json`: the rows in list order (no sort, no combining, no expansion).  `command`
    is the meta.command list (Slurm drops the last argv element there: pass argv[:-1])."""
    ctx = _Ctx(now, spec_of, default_limits, True, cluster)
    rlist = [r if isinstance(r, Row) else make_row(r) for r in rows]
    rlist.sort(key=lambda r: r.rec.job_id)
    doc = {
        "jobs": [job_json(r, ctx, cluster) for r in rlist],
        "last_backfill": _num(int(last_backfill if last_backfill is not None else now)),
        "last_update": _num(int(last_update if last_update is not None else now)),
        "meta": meta_block(cluster=cluster, command=command, client_user=client_user,
                           client_group=client_group, accounting=accounting, version=version),
        "errors": list(errors),
        "warnings": list(warnings),
    }
    return dump_json(doc) + "\n"


def meta_block(*, cluster: str, command: Sequence[str], client_user: str = "",
               client_group: str = "", accounting: str = "accounting_storage/slurmdbd",
               version: str = "25.11.7") -> dict:
    """The `meta` object every `--json` output carries (data_parser v0.0.44)."""
    major, minor, micro = (version.split(".") + ["0", "0", "0"])[:3]
    return {
        "plugin": {
            "type": "",
            "name": "",
            "data_parser": "data_parser/v0.0.44",
            "accounting_storage": accounting,
        },
        "client": {"source": "", "user": client_user, "group": client_group},
        "command": list(command),
        "slurm": {
            "version": {"major": major, "micro": micro, "minor": minor},
            "release": version,
            "cluster": cluster,
        },
    }


def render_steps_json(rows: Sequence[StepRow], *, now: float, cluster: str,
                      command: Sequence[str], client_user: str = "", client_group: str = "",
                      version: str = "25.11.7") -> str:
    """`squeue -s --json` (an approximation of Slurm's step records: ids, name, state, nodes,
    tasks, CPUs, times)."""
    steps = []
    for sr in rows:
        st, job = sr.step, sr.job
        steps.append({
            "array": {"job_id": (job.array_job_id or 0) if job else 0,
                      "task_id": _num(job.array_task_id) if job and job.array_task_id is not None
                      else _num(None)},
            "cluster": cluster,
            "name": st.name,
            "nodes": {"count": st.num_nodes, "list": st.node_list or ""},
            "partition": job.partition if job else "",
            "start_time": _num(int(st.start_time or 0)),
            "state": [st.state.value],
            "step_id": {"job_id": _num(st.job_id), "step_id": st.step_id},
            "tasks": {"count": st.num_tasks},
            "cpus": {"count": st.num_cpus},
            "time": {"elapsed": _step_used(sr, int(now)), "limit": _num(None, infinite=True)},
            "user": {"name": (job.user if job else ""), "id": (job.uid if job else 0)},
        })
    doc = {
        "steps": steps,
        "last_updated": _num(int(now)),
        "meta": meta_block(cluster=cluster, command=command, client_user=client_user,
                           client_group=client_group, version=version),
        "errors": [],
        "warnings": [],
    }
    return dump_json(doc) + "\n"


def dump_json(value: Any, indent: int = 0) -> str:
    """Slurm's serializer layout: two-space indent, `[`/`{` then one item a line, empty
    containers as an open bracket and the closing one on the next line, `/` escaped."""
    import json  # here, not at the top: only --json needs it
    return _dump_json(value, indent, json.dumps)


def _dump_json(value: Any, indent: int, dumps: Callable[..., str]) -> str:
    pad = "  " * indent
    inner = "  " * (indent + 1)
    if isinstance(value, dict):
        if not value:
            return "{\n" + pad + "}"
        items = [inner + dumps(str(k), ensure_ascii=False).replace("/", "\\/") + ": "
                 + _dump_json(v, indent + 1, dumps) for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, (list, tuple)):
        if not value:
            return "[\n" + pad + "]"
        items = [inner + _dump_json(v, indent + 1, dumps) for v in value]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    return dumps(str(value), ensure_ascii=False).replace("/", "\\/")
