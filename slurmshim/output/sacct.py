"""sacct: field registry, job/step rows, record selection and the renderers (fixed width,
parsable, JSON), exactly as Slurm 25.11 prints them.  Pure: no I/O, the clock is a parameter.

How Slurm does it (facts from `src/sacct/{sacct,options,print}.c`, `src/common/print_fields.c`
and the slurmdbd job query), reproduced here:

* Every field has a default width (negative = left-justified); `name%N` / `name%-N` override it.
  Names match case-insensitively *by prefix, in table order* (`-o j` is JobID, `-o sta` is Start),
  and `a` / `al` / `all` select every field.  An unknown name is
  `sacct: error: Invalid field requested: "<name>"`, exit 1.  An empty item (`a,,b`) ends the list
  (Slurm's loop stops there).  Giving the same field twice with two widths: the last width wins
  for both (Slurm stores the width in the shared table entry).
* Fixed width: each value is `printf("%*.*s ", len, |len|, value)`; every field, the last one too,
  is followed by a space.  A string longer than the column is cut and its last kept character
  becomes `+`.  Numbers and durations are never cut (they overflow); dates are cut without `+`.
  A header line and a dashes line come first unless `-n`.
* `-p`: values joined by `|` with a trailing `|`; `-P`: no trailing delimiter; `--delimiter`
  replaces `|`.  No padding, no dashes line.
* Records come out sorted by (submit second, array job id, array task id, job id): tasks of an
  array submitted in the same second as other jobs come after those plain jobs; a requeued job
  moves to the end (its submit time is reset).  Without `-D` only the newest record of a job id
  is shown.  Steps follow their job: `interactive`, `batch`, `extern`, then `0`, `1`, ...
* Time window (`slurmdb_job_cond_def_start_end`): no `-j` and no `-s`: midnight today .. now,
  only jobs that became eligible; `-j`: since the epoch, any submitted job; `-s` without `-S` and
  without `-j`: the instant "now", so finished jobs never match.
"""
from __future__ import annotations

import time
from typing import Any, Callable, Iterable, Mapping, Sequence

from .._dataclass import dataclass, field
from ..errors import SlurmError
from ..model import INFINITE, JobRecord, JobState, StepRecord
from ..scheduling import reason_code
from ..slurm import timespec

NO_VAL = 0xFFFFFFFE          # Slurm's NO_VAL (array_task_id of a plain job or a meta record)

# convert_num_unit() unit indices
UNIT_NONE, UNIT_KILO, UNIT_MEGA, UNIT_GIGA, UNIT_TERA, UNIT_PETA, UNIT_UNKNOWN = range(7)
_UNIT_CHARS = "\0KMGTP?"

# field value kinds: how a value is printed
STR = "str"        # print_fields_str: cut with '+', NULL -> blank
UINT = "uint"      # print_fields_uint*: never cut, None -> blank
SECS = "secs"      # print_fields_time_from_secs: [D-]HH:MM:SS, never cut, None -> blank
DATE = "date"      # print_fields_date: the text cut to the width (no '+')


def fatal(message: str) -> SlurmError:
    """`sacct: fatal: <message>`, exit 1 (Slurm's fatal())."""
    return SlurmError(f"sacct: fatal: {message}", 1, raw=True)


# ============================================================================ value helpers

def convert_num_unit(num: float, orig_type: int, spec_type: int | None = None,
                     noconvert: bool = False, exact: bool = True, divisor: int = 1024) -> str:
    """Slurm's convert_num_unit2(): `1024` MB -> `1G`, `1536` -> `1.50G`; `--units` forces a
    unit (`spec_type`), `--noconvert` keeps the original one."""
    if int(num) == 0:
        return "0"
    if spec_type is not None:
        while spec_type < orig_type:
            num *= divisor
            orig_type -= 1
        while spec_type > orig_type:
            num /= divisor
            orig_type += 1
    elif noconvert:
        pass
    elif exact:
        while num >= divisor and int(num) % (divisor // 2) == 0:
            num /= divisor
            orig_type += 1
    else:
        while num >= divisor:
            num /= divisor
            orig_type += 1
    if orig_type < UNIT_NONE or orig_type > UNIT_PETA:
        orig_type = UNIT_UNKNOWN
    unit = _UNIT_CHARS[orig_type]
    unit = "" if unit == "\0" else unit
    i = int(num)
    if float(i) == num:
        return f"{i}{unit}"
    return f"{num:.2f}{unit}"


def unit_type(text: str) -> int:
    """`--units=[KMGTP]` -> unit index; raises the two lines Slurm prints for a bad unit."""
    c = text[:1].upper()
    if not c or c not in "KMGTP":
        shown = text[:1]
        raise SlurmError(f"sacct: error: Invalid unit type '{shown}'. Possible options are "
                         f"'KMGTP'\nsacct: fatal: Invalid unit type", 1, raw=True)
    return "\0KMGTP".index(c)


def _i(ts: float | None) -> int:
    """A timestamp as slurmdbd stores it: whole seconds, 0 for unset."""
    return int(ts) if ts else 0


def format_date(ts: int, none: bool = False, now: float | None = None) -> str:
    """slurm_make_time_str(): 0 -> `Unknown`, NO_VAL -> `None`, else `YYYY-MM-DDTHH:MM:SS`."""
    if none:
        return "None"
    if not ts:
        return "Unknown"
    return timespec.format_timestamp(ts, now=now)


def format_secs(secs: int) -> str:
    """secs2time_str(): `HH:MM:SS` or `D-HH:MM:SS` (`INVALID` when negative)."""
    return timespec.format_hms(secs)


format_cpu_time = timespec.format_sacct_duration   # sacct's _elapsed_time (TotalCPU, ...)


# ============================================================================ render context

@dataclass
class Context:
    """What the field functions need besides the records."""

    now: float
    cluster: str = "slurmshim"
    units: int | None = None              # --units
    noconvert: bool = False               # --noconvert
    truncate: bool = False                # -T: clamp times to the window
    window: tuple[int, int] = (0, 0)      # (start, end) after the defaults, for -T
    expand_patterns: bool = False         # --expand-patterns
    user_name: Callable[[int], str | None] | None = None   # uid -> name (JSON kill_request_user)
    group_name: Callable[[int], str | None] | None = None  # gid -> name (Group)
    default_mem: Callable[[JobRecord], int | None] | None = None  # MiB when the spec has none


# ============================================================================ rows

@dataclass
class Row:
    """One output line: a job record (`step` None) or one of its steps.  `task` overrides the
    array task id of a meta record (`--array` expansion); `steps` are the job's steps (some job
    fields depend on them)."""

    job: JobRecord
    step: StepRecord | None = None
    task: int | None = None
    steps: Sequence[StepRecord] = ()
    ctx: Context | None = None
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def is_step(self) -> bool:
        return self.step is not None

    # -- identities --
    def job_id_str(self) -> str:
        j = self.job
        if self.task is not None and j.array_job_id is not None:
            return f"{j.array_job_id}_{self.task}"
        return j.display_id

    # -- times (slurmdbd's computation; NO_TRUNC unless -T) --
    def times(self) -> tuple[int, int, int, bool]:
        """(start, end, elapsed, start_is_none) for this row."""
        if "t" in self._cache:
            return self._cache["t"]
        ctx = self.ctx
        now = int(ctx.now) if ctx else int(time.time())
        if self.step is None:
            res = _job_times(self.job, now, ctx)
        else:
            res = _step_times(self.job, self.step, now, ctx)
        self._cache["t"] = res
        return res

    def step_state(self) -> JobState:
        st = self.step
        assert st is not None
        if not st.end_time and self.job.end_time:
            return _db_state(self.job.state)    # the job ended: so did the step
        return _db_state(st.state)


def _db_state(state: JobState) -> JobState:
    """The state slurmdbd records: flag states count as their base state."""
    if state in (JobState.COMPLETING, JobState.CONFIGURING):
        return JobState.RUNNING
    return state


def _job_times(job: JobRecord, now: int, ctx: Context | None) -> tuple[int, int, int, bool]:
    start, end = _i(job.start_time), _i(job.end_time)
    if end and start > end:
        start = end
    if ctx is not None and ctx.truncate:
        ws, we = ctx.window
        if not we or we > now:
            we = now
        if start and start < ws:
            start = ws
        if not end or end > we:
            end = we
        if not start:
            start = end
        elapsed = max(0, end - start)
        return start, end, elapsed, False
    if not start:
        elapsed = 0
    elif not end:
        elapsed = now - start
    else:
        elapsed = end - start
    elapsed = max(0, elapsed)
    return start, end, elapsed, (not start and bool(end))


def _step_times(job: JobRecord, step: StepRecord, now: int,
                ctx: Context | None) -> tuple[int, int, int, bool]:
    start, end = _i(step.start_time), _i(step.end_time)
    job_end = _i(job.end_time)
    if not end and job_end:
        end = job_end
    if ctx is not None and ctx.truncate and ctx.window[0]:
        ws, we = ctx.window
        if not we or we > now:
            we = now
        if start and start < ws:
            start = ws
        if not start and end:
            start = end
        if not end or end > we:
            end = we
        if start and end and start > end:
            start = end = 0
    if not start:
        elapsed = 0
    elif not end:
        elapsed = now - start
    else:
        elapsed = end - start
    elapsed = max(0, elapsed)
    if not end:
        end = job_end            # do_list(): a step without an end shows the job's end
    return start, end, elapsed, False


def _started(job: JobRecord) -> bool:
    return job.start_time is not None


def _mem_mb(job: JobRecord, ctx: Context | None = None) -> int | None:
    """The job's requested memory in MiB (TRES mem): from its spec, else the partition default
    the context knows (DefMemPerCPU x CPUs, or the whole node)."""
    spec = job.spec
    if spec is not None:
        r = spec.resources
        if r.mem_per_node:
            return r.mem_per_node * max(1, job.num_nodes)
        if r.mem_per_cpu is not None:
            return r.mem_per_cpu * max(1, job.num_cpus)
    if ctx is not None and ctx.default_mem is not None:
        return ctx.default_mem(job)
    return None


def _gpus(job: JobRecord) -> int:
    spec = job.spec
    if spec is None:
        return 0
    try:
        return spec.resources.gpus_per_node_total * max(1, job.num_nodes)
    except Exception:       # a malformed spec must not break sacct
        return 0


def _tres_string(items: Mapping[str, int | None], ctx: Context | None) -> str:
    """`billing=1,cpu=1,mem=1G,node=1`: sorted by name, memory converted from MiB."""
    out = []
    for name in sorted(items):
        val = items[name]
        if val is None:
            continue
        if name == "mem":
            txt = convert_num_unit(val, UNIT_MEGA, ctx.units if ctx else None,
                                   ctx.noconvert if ctx else False)
        else:
            txt = str(val)
        out.append(f"{name}={txt}")
    return ",".join(out)


def _job_tres(job: JobRecord, ctx: Context | None = None,
              billing: bool = True) -> dict[str, int | None]:
    d: dict[str, int | None] = {"cpu": job.num_cpus, "mem": _mem_mb(job, ctx),
                                "node": job.num_nodes}
    if billing:
        d["billing"] = job.num_cpus
    g = _gpus(job)
    if g:
        d["gres/gpu"] = g
    return d


def _step_tres(row: Row) -> dict[str, int | None]:
    st = row.step
    assert st is not None
    d: dict[str, int | None] = {"cpu": st.num_cpus, "mem": _mem_mb(row.job, row.ctx),
                                "node": st.num_nodes}
    g = _gpus(row.job)
    if g:
        d["gres/gpu"] = g
    return d


def _is_numbered(step: StepRecord) -> bool:
    return step.step_id[:1].isdigit()


def _timelimit(minutes: int | None) -> str | None:
    if minutes == INFINITE:
        return "UNLIMITED"
    if minutes is None:
        return "Partition_Limit"
    if not minutes:
        return None
    return timespec.format_limit_hms(minutes)


def _timelimit_raw(minutes: int | None) -> str | None:
    if minutes == INFINITE:
        return "UNLIMITED"
    if minutes is None:
        return "Partition_Limit"
    if not minutes:
        return None
    return str(minutes)


def _job_exit(job: JobRecord) -> tuple[int, int, int]:
    """(exit code, signal, derived exit code) of a job's accounting record.  A job pending
    again after a requeue has a new record (batch_requeue_fini starts one), whose codes stay 0
    until it ends, though slurmctld (scontrol) still shows the last run's exit code."""
    if job.state == JobState.PENDING:
        return 0, 0, 0
    if job.restarts and not job.state.is_terminal:
        return job.exit_code, job.exit_signal, 0     # the new record's, until it ends
    return job.exit_code, job.exit_signal, job.derived_exit_code


def eligible_time(job: JobRecord) -> int:
    """When the job became eligible (0 = never).  The ledger's value when it has one (0 means
    "never", e.g. the meta record of a `%1` array whose one slot was always taken); when it
    is None: a job that started was eligible, a requeued one was, a held job or one waiting on
    a dependency or a --begin time never was, anything else was eligible at submission."""
    if job.eligible_time is not None:
        return int(job.eligible_time)
    if job.start_time:
        return int(job.start_time)
    if job.restarts:
        return _i(job.submit_time)
    reason = job.reason or ""
    if job.hold or reason.startswith("JobHeld") or reason in (
            "Dependency", "DependencyNeverSatisfied", "BeginTime"):
        return 0
    return _i(job.submit_time)


def _job_flags(job: JobRecord) -> str:
    if _started(job):
        return "SchedMain,StartReceived"
    if job.end_time:
        return "StartReceived"
    return "SchedNotSet"


def _state_text(row: Row) -> str:
    if row.step is not None:
        return row.step_state().value
    st = _db_state(row.job.state)
    if st is JobState.CANCELLED and row.job.cancelled_by is not None:
        return f"CANCELLED by {row.job.cancelled_by}"
    return st.value


def _default_stdout(job: JobRecord) -> str:
    return "slurm-%A_%a.out" if job.array_job_id is not None else "slurm-%j.out"


def _std(job: JobRecord, which: str, ctx: Context | None) -> str | None:
    spec = job.spec
    expand = ctx is not None and ctx.expand_patterns
    if which == "out":
        if expand and job.stdout_path:
            return job.stdout_path
        if spec is not None:
            return spec.output or _default_stdout(job)
        return job.stdout_path or None
    if which == "err":
        if expand and job.stderr_path and (spec is None or spec.error):
            return job.stderr_path
        if spec is not None:
            return spec.error or None
        return None
    if spec is not None:
        return spec.input or "/dev/null"
    return job.stdin_path or "/dev/null"


def _planned(job: JobRecord, now: int, cpus: bool = False) -> int:
    elig = eligible_time(job)
    start, end = _i(job.start_time), _i(job.end_time)
    if not elig:
        return 0
    if cpus:
        val = (start if start else now) - elig
        return max(0, val) * job.num_cpus
    if not start and end:
        return max(0, end - elig)
    if start:
        return max(0, start - elig)
    return max(0, now - elig)


def _consumed_energy(row: Row) -> int | None:
    if row.step is not None:
        return 0
    # Slurm's job record has no energy TRES unless it ran srun steps or never ran at all
    if not _started(row.job) or any(_is_numbered(s) for s in row.steps):
        return 0
    return None


def _cpufreq(row: Row) -> str:
    if row.step is None or _is_numbered(row.step):
        return "Unknown"
    return "0"


def _group(row: Row) -> str | None:
    spec = row.job.spec
    if spec is not None and spec.group:
        return spec.group
    if spec is not None and row.ctx is not None and row.ctx.group_name is not None:
        return row.ctx.group_name(spec.gid)
    return None


# ============================================================================ field registry

Getter = Callable[[Row], Any]


@dataclass(frozen=True)
class Field:
    """One sacct field: name, default width (negative = left-justified), value kind and how to
    compute it for a job line and for a step line (None = blank).  `spec` = needs JobRecord.spec."""

    name: str
    width: int
    kind: str
    job: Getter | None = None
    step: Getter | None = None
    spec: bool = False

    def value(self, row: Row) -> Any:
        fn = self.step if row.is_step else self.job
        return None if fn is None else fn(row)


def _elapsed(r: Row) -> int:
    return r.times()[2]


def _alloc_cpus_job(r: Row) -> int:
    return r.job.num_cpus if _started(r.job) else 0


def _now(r: Row) -> float | None:
    return r.ctx.now if r.ctx else None


def _start(r: Row) -> str:
    s, _e, _el, none = r.times()
    return format_date(s, none, _now(r))


def _end(r: Row) -> str:
    return format_date(r.times()[1], now=_now(r))


def _step_start(r: Row) -> str:
    return format_date(r.times()[0], now=_now(r))


F = Field
FIELDS: tuple[Field, ...] = (
    F("Account", 10, STR, lambda r: r.job.account, lambda r: r.job.account),
    F("AdminComment", 15, STR),
    F("AllocCPUS", 10, UINT, _alloc_cpus_job, lambda r: r.step.num_cpus),
    F("AllocNodes", 10, STR,
      lambda r: convert_num_unit(r.job.num_nodes if _started(r.job) else 0, UNIT_NONE, None,
                                 r.ctx.noconvert if r.ctx else False),
      lambda r: convert_num_unit(r.step.num_nodes, UNIT_NONE, None,
                                 r.ctx.noconvert if r.ctx else False)),
    F("AllocTRES", 10, STR,
      lambda r: _tres_string(_job_tres(r.job, r.ctx), r.ctx) if _started(r.job) else None,
      lambda r: _tres_string(_step_tres(r), r.ctx), spec=True),
    F("AssocID", 7, UINT),
    F("AveCPU", 10, STR),
    F("AveCPUFreq", 10, STR, None, lambda r: "0"),
    F("AveDiskRead", 14, STR),
    F("AveDiskWrite", 14, STR),
    F("AvePages", 10, STR),
    F("AveRSS", 10, STR),
    F("AveVMSize", 10, STR),
    F("BlockID", 16, STR),
    F("Cluster", 10, STR, lambda r: r.ctx.cluster if r.ctx else None,
      lambda r: r.ctx.cluster if r.ctx else None),
    F("Comment", 14, STR, lambda r: r.job.comment),
    F("Constraints", 19, STR,
      lambda r: r.job.spec.resources.constraint if r.job.spec else None, spec=True),
    F("ConsumedEnergy", 14, STR,
      lambda r: None if _consumed_energy(r) is None else "0", lambda r: "0"),
    F("ConsumedEnergyRaw", 17, UINT, _consumed_energy, _consumed_energy),
    F("Container", 19, STR),
    F("CPUTime", 10, SECS, lambda r: _elapsed(r) * _alloc_cpus_job(r),
      lambda r: _elapsed(r) * r.step.num_cpus),
    F("CPUTimeRAW", 10, UINT, lambda r: _elapsed(r) * _alloc_cpus_job(r),
      lambda r: _elapsed(r) * r.step.num_cpus),
    F("DBIndex", -21, UINT),
    F("DerivedExitCode", 15, STR, lambda r: f"{_job_exit(r.job)[2]}:0", None),
    F("Elapsed", 10, SECS, _elapsed, _elapsed),
    F("ElapsedRaw", 10, UINT, _elapsed, _elapsed),
    F("Eligible", 19, DATE, lambda r: format_date(eligible_time(r.job), now=_now(r)),
      _step_start),
    F("End", 19, DATE, _end, _end),
    F("ExitCode", 8, STR, lambda r: "%d:%d" % _job_exit(r.job)[:2],
      lambda r: f"{r.step.exit_code}:{r.step.exit_signal}"),
    F("Extra", 14, STR),
    F("FailedNode", 8, STR),
    F("Flags", 19, STR, lambda r: _job_flags(r.job)),
    F("GID", 6, UINT, lambda r: r.job.spec.gid if r.job.spec else None, spec=True),
    F("Group", 9, STR, _group, spec=True),
    F("JobID", -12, STR, lambda r: r.job_id_str(),
      lambda r: f"{r.job_id_str()}.{r.step.step_id}"),
    F("JobIDRaw", -12, STR, lambda r: str(r.job.job_id),
      lambda r: f"{r.job.job_id}.{r.step.step_id}"),
    F("JobName", 10, STR, lambda r: r.job.name, lambda r: r.step.name),
    F("Layout", 9, STR, None,
      lambda r: "Cyclic" if _is_numbered(r.step) else "Unknown"),
    F("Licenses", 10, STR, lambda r: r.job.spec.licenses if r.job.spec else None, spec=True),
    F("MaxDiskRead", 12, STR),
    F("MaxDiskReadNode", 15, STR),
    F("MaxDiskReadTask", 15, UINT),
    F("MaxDiskWrite", 12, STR),
    F("MaxDiskWriteNode", 16, STR),
    F("MaxDiskWriteTask", 16, UINT),
    F("MaxPages", 8, STR),
    F("MaxPagesNode", 12, STR),
    F("MaxPagesTask", 14, UINT),
    F("MaxRSS", 10, STR),
    F("MaxRSSNode", 10, STR),
    F("MaxRSSTask", 10, UINT),
    F("MaxVMSize", 10, STR),
    F("MaxVMSizeNode", 14, STR),
    F("MaxVMSizeTask", 14, UINT),
    F("McsLabel", 12, STR, lambda r: ""),
    F("MinCPU", 10, STR),
    F("MinCPUNode", 10, STR),
    F("MinCPUTask", 10, UINT),
    F("NCPUS", 10, UINT, _alloc_cpus_job, lambda r: r.step.num_cpus),
    F("NNodes", 8, UINT, lambda r: r.job.num_nodes, lambda r: r.step.num_nodes),
    F("NodeList", 15, STR, lambda r: r.job.node_list or "None assigned",
      lambda r: r.step.node_list or None),
    F("NTasks", 8, UINT, None, lambda r: r.step.num_tasks),
    F("Partition", 10, STR, lambda r: r.job.partition or None),
    F("Planned", 10, SECS, lambda r: _planned(r.job, int(r.ctx.now) if r.ctx else 0)),
    F("PlannedCPU", 10, SECS,
      lambda r: _planned(r.job, int(r.ctx.now) if r.ctx else 0, cpus=True)),
    F("PlannedCPURAW", 13, UINT,
      lambda r: _planned(r.job, int(r.ctx.now) if r.ctx else 0, cpus=True)),
    F("Priority", 10, UINT, lambda r: r.job.priority),
    F("QOS", 10, STR, lambda r: r.job.qos or "normal"),
    F("QOSRAW", 6, UINT, lambda r: 1 if (r.job.qos or "normal") == "normal" else None),
    F("QOSREQ", 10, STR),
    F("Reason", 22, STR, lambda r: reason_code(r.job)),
    F("ReqCPUFreq", 10, STR, _cpufreq, _cpufreq),
    F("ReqCPUFreqGov", 13, STR, _cpufreq, _cpufreq),
    F("ReqCPUFreqMax", 13, STR, _cpufreq, _cpufreq),
    F("ReqCPUFreqMin", 13, STR, _cpufreq, _cpufreq),
    F("ReqCPUS", 8, UINT, lambda r: r.job.num_cpus, lambda r: r.step.num_cpus),
    F("ReqMem", 10, STR,
      lambda r: convert_num_unit(_mem_mb(r.job, r.ctx) or 0, UNIT_MEGA,
                                 r.ctx.units if r.ctx else None,
                                 r.ctx.noconvert if r.ctx else False), spec=True),
    F("ReqNodes", 8, STR, lambda r: str(r.job.num_nodes), lambda r: str(r.step.num_nodes)),
    F("ReqTRES", 10, STR, lambda r: _tres_string(_job_tres(r.job, r.ctx), r.ctx), spec=True),
    F("Reservation", 20, STR,
      lambda r: r.job.spec.reservation if r.job.spec else None, spec=True),
    F("ReservationId", 8, UINT),
    F("ReqReservation", 20, STR,
      lambda r: r.job.spec.reservation if r.job.spec else None, spec=True),
    F("Restarts", 8, UINT, lambda r: r.job.restarts),
    F("SegmentSize", 11, UINT),
    F("SLUID", 14, STR),
    F("Start", 19, DATE, _start, _step_start),
    F("State", 10, STR, _state_text, _state_text),
    F("StdErr", 20, STR, lambda r: _std(r.job, "err", r.ctx), spec=True),
    F("StdIn", 20, STR, lambda r: _std(r.job, "in", r.ctx), spec=True),
    F("StdOut", 20, STR, lambda r: _std(r.job, "out", r.ctx), spec=True),
    F("Submit", 19, DATE, lambda r: format_date(_i(r.job.submit_time), now=_now(r)),
      _step_start),
    F("SubmitLine", 20, STR,
      lambda r: (r.job.spec.submit_line or None) if r.job.spec else None, spec=True),
    F("Suspended", 10, SECS, lambda r: 0, lambda r: 0),
    F("SystemComment", 15, STR),
    F("SystemCPU", 10, STR, lambda r: format_cpu_time(0), lambda r: format_cpu_time(0)),
    F("Timelimit", 10, STR, lambda r: _timelimit(r.job.time_limit)),
    F("TimelimitRaw", 10, STR, lambda r: _timelimit_raw(r.job.time_limit)),
    F("TotalCPU", 10, STR, lambda r: format_cpu_time(0), lambda r: format_cpu_time(0)),
    F("TRESUsageInAve", 14, STR, None, lambda r: "energy=0"),
    F("TRESUsageInMax", 14, STR),
    F("TRESUsageInMaxNode", 18, STR),
    F("TRESUsageInMaxTask", 18, STR),
    F("TRESUsageInMin", 14, STR),
    F("TRESUsageInMinNode", 18, STR),
    F("TRESUsageInMinTask", 18, STR),
    F("TRESUsageInTot", 14, STR, None, lambda r: "energy=0"),
    F("TRESUsageOutAve", 15, STR, None, lambda r: "energy=0"),
    F("TRESUsageOutMax", 15, STR),
    F("TRESUsageOutMaxNode", 19, STR),
    F("TRESUsageOutMaxTask", 19, STR),
    F("TRESUsageOutMin", 15, STR),
    F("TRESUsageOutMinNode", 19, STR),
    F("TRESUsageOutMinTask", 19, STR),
    F("TRESUsageOutTot", 15, STR, None, lambda r: "energy=0"),
    F("UID", 6, UINT, lambda r: r.job.uid),
    F("User", 9, STR, lambda r: r.job.user or None),
    F("UserCPU", 10, STR, lambda r: format_cpu_time(0), lambda r: format_cpu_time(0)),
    F("WCKey", 10, STR, lambda r: (r.job.spec.wckey or "") if r.job.spec else "", spec=True),
    F("WCKeyID", 10, UINT, lambda r: 0),
    F("WorkDir", 20, STR, lambda r: r.job.work_dir or None),
)
del F

BRIEF_FIELDS = "jobid,state,exitcode"
DEFAULT_FIELDS = "jobid,jobname,partition,account,alloccpus,state,exitcode"
LONG_FIELDS = (
    "jobid,jobidraw,jobname,partition,maxvmsize,maxvmsizenode,maxvmsizetask,avevmsize,maxrss,"
    "maxrssnode,maxrsstask,averss,maxpages,maxpagesnode,maxpagestask,avepages,mincpu,mincpunode,"
    "mincputask,avecpu,ntasks,alloccpus,elapsed,state,exitcode,avecpufreq,reqcpufreqmin,"
    "reqcpufreqmax,reqcpufreqgov,reqmem,consumedenergy,maxdiskread,maxdiskreadnode,"
    "maxdiskreadtask,avediskread,maxdiskwrite,maxdiskwritenode,maxdiskwritetask,avediskwrite,"
    "reqtres,alloctres,tresusageinave,tresusageinmax,tresusageinmaxn,tresusageinmaxt,"
    "tresusageinmin,tresusageinminn,tresusageinmint,tresusageintot,tresusageoutmax,"
    "tresusageoutmaxn,tresusageoutmaxt,tresusageoutave,tresusageouttot")


def help_fields() -> str:
    """`sacct -e`: the field names, four to a line, each `%-19s`, separated by a space."""
    out = []
    for i, f in enumerate(FIELDS):
        if i & 3:
            out.append(" ")
        elif i:
            out.append("\n")
        out.append(f"{f.name:<19}")
    out.append("\n")
    return "".join(out)


HELP_STATES = ("PENDING", "RUNNING", "SUSPENDED", "COMPLETED", "CANCELLED", "FAILED", "TIMEOUT",
               "NODE_FAIL", "PREEMPTED", "BOOT_FAIL", "DEADLINE", "OUT_OF_MEMORY")


def help_states() -> str:
    """`sacct --helpstate`: the base job states, four to a line like `-e`."""
    out = []
    for i, name in enumerate(HELP_STATES):
        if i & 3:
            out.append(" ")
        elif i:
            out.append("\n")
        out.append(f"{name:<19}")
    out.append("\n")
    return "".join(out)


def find_field(name: str) -> Field | None:
    """The first field (in table order) whose name starts with `name`, case-insensitively."""
    low = name.lower()
    for f in FIELDS:
        if f.name.lower().startswith(low) and low:
            return f
    return None


@dataclass
class Column:
    """A selected field and its width (after `%N`)."""

    field: Field
    width: int

    @property
    def name(self) -> str:
        return self.field.name


def _atoi(text: str) -> int:
    """C atoi(): optional blanks and sign, then digits; 0 when there are none."""
    s = text.lstrip(" \t\n\r\f\v")
    sign = 1
    if s[:1] in ("+", "-"):
        sign = -1 if s[0] == "-" else 1
        s = s[1:]
    digits = ""
    for ch in s:
        if not ch.isdigit():
            break
        digits += ch
    return sign * int(digits) if digits else 0


def parse_fields(text: str) -> list[Column]:
    """Parse the accumulated field list (`-o` values, `-b`/`-l` lists, SACCT_FORMAT) exactly
    like sacct's loop.  `text` is the comma-joined list; raises the Slurm error on a bad name."""
    items: list[tuple[Field, int | None]] = []
    rest = text if text.endswith(",") else text + ","
    while True:
        comma = rest.find(",")
        if comma < 0:
            break
        item, rest = rest[:comma], rest[comma + 1:]
        item = item.lstrip(" \t\n\r\f\v")
        if not item:
            break                       # Slurm's loop stops at an empty item
        width: int | None = None
        pct = item.find("%")
        if pct >= 0:
            width = _atoi(item[pct + 1:])
            item = item[:pct]
        if "all".startswith(item.lower()):
            for f in FIELDS:
                items.append((f, width))
            continue
        f = find_field(item) if item else None
        if f is None:
            if item.lower() == "allocgres":
                raise fatal("AllocGRES has been removed, please use AllocTRES")
            if item.lower() == "reqgres":
                raise fatal("ReqGRES has been removed, please use ReqTRES")
            raise SlurmError(f'Invalid field requested: "{item}"', 1)
        items.append((f, width))
    # widths live in the shared table entry in Slurm: the last setting wins for every use
    widths: dict[str, int] = {}
    for f, w in items:
        if w is not None:
            widths[f.name] = w
    return [Column(f, widths.get(f.name, f.width)) for f, _ in items]


def field_list(*, format_opts: Sequence[str] = (), brief: bool = False, long: bool = False,
               env_format: str | None = None) -> str:
    """The comma-joined list sacct builds: every `-o` value in order, then `-b`'s and `-l`'s
    lists, else SACCT_FORMAT, else the default list."""
    text = "".join(f"{o}," for o in format_opts)
    if brief:
        text += BRIEF_FIELDS + ","
    if long:
        text += LONG_FIELDS + ","
    if not text:
        text = (env_format if env_format is not None else DEFAULT_FIELDS) + ","
    return text


# ================================================================ fixed width / parsable

def fixed_cell(text: str | None, width: int, kind: str = STR) -> str:
    """One value as print_fields_* print it in fixed-width mode (with its trailing space)."""
    w = abs(width)
    left = width < 0
    if kind == STR:
        if text is None:
            text = ""
        if len(text) > w:
            text = text[:w - 1] + "+" if w > 0 else ""
    elif kind == DATE:
        text = (text or "")[:w]
    else:
        if text is None:
            # printf("%*s ", len, " "): a single blank padded to the width
            return (" ".ljust(w) if left else " ".rjust(w)) + " "
    return (text.ljust(w) if left else text.rjust(w)) + " "


def _cell_text(col: Column, row: Row) -> str | None:
    val = col.field.value(row)
    if val is None:
        return None
    kind = col.field.kind
    if kind == SECS:
        return format_secs(int(val))
    return str(val)


def render_header(columns: Sequence[Column], *, parsable: str | None = None,
                  delimiter: str | None = None) -> str:
    """The header line (+ the dashes line in fixed-width mode)."""
    if parsable:
        return _join_parsable([c.name for c in columns], parsable, delimiter)
    head = "".join(fixed_cell_header(c.name, c.width) for c in columns) + "\n"
    dashes = "".join("-" * abs(c.width) + " " for c in columns) + "\n"
    return head + dashes


def fixed_cell_header(name: str, width: int) -> str:
    w = abs(width)
    name = name[:w]
    return (name.ljust(w) if width < 0 else name.rjust(w)) + " "


def _join_parsable(values: Sequence[str], parsable: str, delimiter: str | None) -> str:
    d = "|" if delimiter is None else delimiter
    if parsable == "P":
        return d.join(values) + "\n"
    return "".join(v + d for v in values) + "\n"


def render_row(row: Row, columns: Sequence[Column], *, parsable: str | None = None,
               delimiter: str | None = None) -> str:
    if parsable:
        return _join_parsable([_cell_text(c, row) or "" for c in columns], parsable, delimiter)
    return "".join(fixed_cell(_cell_text(c, row), c.width, c.field.kind)
                   for c in columns) + "\n"


def render_table(rows: Iterable[Row], columns: Sequence[Column], *, header: bool = True,
                 parsable: str | None = None, delimiter: str | None = None) -> str:
    """The whole sacct output.  `parsable` is None (fixed width), "p" (trailing delimiter) or
    "P" (none); `delimiter` replaces `|` in parsable mode."""
    out = []
    if header:
        out.append(render_header(columns, parsable=parsable, delimiter=delimiter))
    for row in rows:
        out.append(render_row(row, columns, parsable=parsable, delimiter=delimiter))
    return "".join(out)


# ============================================================================ job selection

STEP_NAMES = ("batch", "extern", "interactive", "TBD")
ACCOUNTED_STATES = frozenset({
    JobState.PENDING, JobState.RUNNING, JobState.SUSPENDED, JobState.COMPLETED,
    JobState.CANCELLED, JobState.FAILED, JobState.TIMEOUT, JobState.NODE_FAIL,
    JobState.PREEMPTED, JobState.BOOT_FAIL, JobState.DEADLINE, JobState.OUT_OF_MEMORY,
    JobState.REQUEUED,
})


@dataclass(frozen=True)
class StepSelector:
    """One `-j` item: `123`, `123.batch`, `123_4`, `123_4.0`, `123+1` (het: never matches)."""

    job_id: int
    task: int | None = None
    step: str | None = None
    het_offset: int | None = None


def _split_list(text: str) -> list[str]:
    """slurm_parse_char_list(): a leading quote runs to its match, other quotes become '`',
    commas split (extension: not inside `[...]`, so `12_[1,3]` stays one item)."""
    s = text
    i = 0
    quote = None
    if s[:1] in ('"', "'"):
        quote = s[0]
        i = 1
    out: list[str] = []
    start = i
    depth = 0
    chars = list(s)
    while i < len(chars):
        c = chars[i]
        if quote and c == quote:
            chars = chars[:i]
            break
        if c in ('"', "'"):
            chars[i] = "`"
        elif c == "[":
            depth += 1
        elif c == "]":
            depth = max(0, depth - 1)
        elif c == "," and depth == 0:
            if i != start:
                out.append("".join(chars[start:i]))
            start = i + 1
        i += 1
    tail = "".join(chars[start:])
    if tail:
        out.append(tail)
    return out


def _expand_brackets(inner: str) -> list[int]:
    """`1-3,7` (the inside of `123_[...]`) -> [1, 2, 3, 7]."""
    from ..slurm import arrayspec

    return list(arrayspec.parse_array(inner, max_array_size=1 << 31).indices)


def parse_job_list(text: str) -> list[StepSelector]:
    """One `-j` value -> selectors, with Slurm's fatal errors for bad items."""
    out: list[StepSelector] = []
    for name in _split_list(text):
        if not name[:1].isdigit():
            raise fatal(f"Bad job/step specified: {name}")
        step: str | None = None
        het: int | None = None
        if "." in name:
            name, dot = name.split(".", 1)
            if dot in STEP_NAMES:
                step = dot
            elif dot[:1].isdigit():
                step = str(_atoi(dot))
            else:
                raise fatal(f"Bad step specified: {name}")
        tasks: list[int | None] = [None]
        if "_" in name:
            name, under = name.split("_", 1)
            if under[:1].isdigit():
                tasks = [_atoi(under)]
            elif under.startswith("[") and under.endswith("]"):
                try:
                    tasks = list(_expand_brackets(under[1:-1]))
                except ValueError:
                    raise fatal(f"Bad job array element specified: {name}") from None
            else:
                raise fatal(f"Bad job array element specified: {name}")
        elif "+" in name:
            name, plus = name.split("+", 1)
            if not plus[:1].isdigit():
                raise fatal(f"Bad hetjob offset specified: {name}")
            het = _atoi(plus)
        jid = _atoi(name)
        for t in tasks:
            sel = StepSelector(jid, t, step, het)
            if sel not in out:
                out.append(sel)
    return out


@dataclass
class Query:
    """Everything that selects records (the slurmdb_job_cond_t of sacct)."""

    selectors: list[StepSelector] = field(default_factory=list)
    states: set[JobState] | None = None
    start: float | None = None            # -S (None = default)
    end: float | None = None              # -E (None = default)
    names: list[str] | None = None        # --name
    uids: set[int] | None = None          # None = all users
    user_names: set[str] = field(default_factory=set)
    gids: set[int] | None = None
    partitions: list[str] | None = None
    accounts: list[str] | None = None
    qos: list[str] | None = None
    wckeys: list[str] | None = None
    reasons: list[str] | None = None
    constraints: list[str] | None = None
    nodes: set[str] | None = None         # -N, expanded host names
    nnodes: tuple[int, int] | None = None  # -i
    ncpus: tuple[int, int] | None = None   # -I
    timelimit: tuple[int, int | None] | None = None   # -k/-K (minutes)
    clusters: list[str] | None = None     # -M (None = ours; [] = all)
    duplicates: bool = False              # -D
    allocations: bool = False             # -X
    array: bool = False                   # --array
    truncate: bool = False                # -T


def midnight(now: float) -> int:
    tm = time.localtime(now)
    return int(time.mktime((tm.tm_year, tm.tm_mon, tm.tm_mday, 0, 0, 0, 0, 0, -1)))


def resolve_window(q: Query, now: float) -> tuple[int, int]:
    """slurmdb_job_cond_def_start_end(): the (start, end) of the query, end exclusive."""
    n = int(now)
    start = int(q.start) if q.start else 0
    end = int(q.end) if q.end else 0
    if q.states:
        if not start and not q.selectors:
            start = n
        if start and not end:
            end = start
    elif not q.selectors:
        if not start:
            start = midnight(n)
    if not end:
        end = n
    if end == start or end == n:
        end += 1
    return start, end


def _state_matches(st: JobState, rec: JobRecord, S: int, E: int) -> bool:
    state = _db_state(rec.state)
    start, end = _i(rec.start_time), _i(rec.end_time)
    elig = eligible_time(rec)
    if st is JobState.PENDING:
        return bool(elig and ((start and S < start) or (not start and end and S < end)
                              or (not start and not end and state is JobState.PENDING))
                    and E > elig)
    if st is JobState.RUNNING:
        return bool(start and (S < end or (not end and state is JobState.RUNNING)) and E > start)
    if st is JobState.SUSPENDED:
        return state is JobState.SUSPENDED and start < E
    return state is st and bool(end) and S <= end <= E


def _selector_matches(sel: StepSelector, rec: JobRecord) -> bool:
    if sel.het_offset is not None:
        return False
    if sel.task is not None:
        return rec.array_job_id == sel.job_id and rec.array_task_id == sel.task
    return rec.job_id == sel.job_id or rec.array_job_id == sel.job_id


def _ci_in(value: str | None, wanted: Sequence[str]) -> bool:
    v = (value or "").lower()
    return any(v == w.lower() for w in wanted)


def record_matches(rec: JobRecord, q: Query, window: tuple[int, int]) -> bool:
    """Does one record (current or an earlier attempt) pass every condition?"""
    S, E = window
    if q.selectors and not any(_selector_matches(s, rec) for s in q.selectors):
        return False
    if q.uids is not None and rec.uid not in q.uids and rec.user not in q.user_names:
        return False
    if q.gids is not None and (rec.spec is None or rec.spec.gid not in q.gids):
        return False
    if q.names is not None and not _ci_in(rec.name, q.names):
        return False
    if q.partitions is not None and not _ci_in(rec.partition, q.partitions):
        return False
    if q.accounts is not None and not _ci_in(rec.account, q.accounts):
        return False
    if q.qos is not None and not _ci_in(rec.qos or "normal", q.qos):
        return False
    if q.wckeys is not None and not _ci_in(rec.spec.wckey if rec.spec else None, q.wckeys):
        return False
    if q.reasons is not None and not _ci_in(reason_code(rec), q.reasons):
        return False
    if q.constraints is not None and not _ci_in(
            rec.spec.resources.constraint if rec.spec else None, q.constraints):
        return False
    if q.nodes is not None:
        if not rec.node_list or not (set(_expand_hosts(rec.node_list)) & q.nodes):
            return False
    if q.nnodes is not None and not (q.nnodes[0] <= rec.num_nodes <= q.nnodes[1]):
        return False
    if q.ncpus is not None and not (q.ncpus[0] <= rec.num_cpus <= q.ncpus[1]):
        return False
    if q.timelimit is not None:
        lo, hi = q.timelimit
        tl = rec.time_limit
        if tl is None:
            return False
        if hi is None:
            if tl != lo:
                return False
        elif not (lo <= tl <= hi):
            return False
    if q.clusters is not None and q.clusters:
        return False          # the caller resolves our own cluster name away
    start, end = _i(rec.start_time), _i(rec.end_time)
    if q.states:
        return any(_state_matches(st, rec, S, E) for st in q.states)
    if q.selectors:
        return _i(rec.submit_time) < E and (end >= S or end == 0)
    elig = eligible_time(rec)
    return bool(elig) and elig < E and (end >= S or end == 0)


def _expand_hosts(text: str) -> list[str]:
    from ..slurm import hostlist

    try:
        return list(hostlist.expand(text))
    except ValueError:
        return [h for h in text.split(",") if h]


def sort_key(rec: JobRecord, seq: int = 0) -> tuple:
    """sacct's order: submit second, array job id (0 for plain jobs), array task id (NO_VAL for
    plain jobs and meta records), job id; `seq` keeps earlier attempts first."""
    return (_i(rec.submit_time), rec.array_job_id or 0,
            NO_VAL if rec.array_task_id is None else rec.array_task_id, rec.job_id, seq)


def select_jobs(jobs: Iterable[JobRecord], q: Query, now: float,
                history: Mapping[int, Sequence[JobRecord]] | None = None) -> list[JobRecord]:
    """The records sacct prints, in its order.  `history` maps a raw job id to the earlier
    attempts of a requeued job (oldest first); without `-D` only the newest matching record of
    each job id is kept."""
    window = resolve_window(q, now)
    cands: list[tuple[JobRecord, int]] = []
    seq = 0
    for rec in jobs:
        for old in (history or {}).get(rec.job_id, ()):
            cands.append((old, seq))
            seq += 1
        cands.append((rec, seq))
        seq += 1
    matched = [(r, s) for r, s in cands if record_matches(r, q, window)]
    if not q.duplicates:
        newest: dict[int, tuple[JobRecord, int]] = {}
        for r, s in matched:
            cur = newest.get(r.job_id)
            if cur is None or (_i(r.submit_time), s) >= (_i(cur[0].submit_time), cur[1]):
                newest[r.job_id] = (r, s)
        matched = list(newest.values())
    matched.sort(key=lambda rs: sort_key(rs[0], rs[1]))
    return [r for r, _ in matched]


# ============================================================================ rows

_STEP_ORDER = {"interactive": -6, "batch": -5, "extern": -4, "TBD": -3}


def step_sort_key(step: StepRecord) -> tuple:
    sid = step.step_id
    if sid in _STEP_ORDER:
        return (_STEP_ORDER[sid], "")
    if sid[:1].isdigit():
        return (_atoi(sid), sid)
    return (1 << 40, sid)


def assign_steps(attempts: Sequence[JobRecord], steps: Sequence[StepRecord]
                 ) -> dict[int, list[StepRecord]]:
    """Split a job's steps between its attempts (index in `attempts`, oldest first, the current
    record last) by the attempt each step ran in (`StepRecord.attempt`, the job's `restarts`
    then): a step without one is the current attempt's, one of an attempt no record is kept for
    goes to the latest earlier attempt that has one (else the oldest)."""
    out: dict[int, list[StepRecord]] = {i: [] for i in range(len(attempts))}
    if not attempts:
        return out
    last = len(attempts) - 1
    index = {a.restarts: i for i, a in enumerate(attempts)}  # a later duplicate wins
    known = sorted(index)
    for st in steps:
        n = st.attempt
        if n is None:
            owner = last
        elif n in index:
            owner = index[n]
        else:
            lower = [k for k in known if k <= n]
            owner = index[lower[-1]] if lower else index[known[0]]
        out[owner].append(st)
    for lst in out.values():
        lst.sort(key=step_sort_key)
    return out


def _step_filter(rec: JobRecord, selectors: Sequence[StepSelector]) -> tuple[bool, set[str] | None]:
    """(show the job line, only these step ids) from the `-j` items, as slurmdbd decides."""
    show_full = True
    wanted: set[str] | None = None
    for sel in selectors:
        if sel.job_id not in (rec.job_id, rec.array_job_id):
            continue
        if sel.task is not None and sel.task != rec.array_task_id:
            continue
        if sel.het_offset is not None:
            continue
        if sel.step is None:
            show_full = True
            break
        wanted = (wanted or set()) | {sel.step}
        show_full = False
    return show_full, wanted


@dataclass
class Entry:
    """One selected record with its steps: `steps` are all of this attempt's steps in the
    window, `shown` those the `-j` items ask for ([] with -X); `show_full` is False when only
    steps were asked for (`-j 12.batch`)."""

    job: JobRecord
    steps: list[StepRecord]
    shown: list[StepRecord]
    show_full: bool


def job_entries(records: Sequence[JobRecord], steps: Mapping[int, Sequence[StepRecord]],
                q: Query, ctx: Context,
                history: Mapping[int, Sequence[JobRecord]] | None = None,
                current: Mapping[int, JobRecord] | None = None) -> list[Entry]:
    """Attach its own steps to each record from :func:`select_jobs`.  `steps` maps a raw job
    id to all its steps (every attempt); `history` is what was given to select_jobs (each
    attempt gets the steps that ran in it, see :func:`assign_steps`); `current` maps a job id
    to its current record, for `-D` runs where `records` hold only an earlier attempt."""
    S, E = resolve_window(q, ctx.now)
    entries: list[Entry] = []
    for rec in records:
        all_steps = list(steps.get(rec.job_id, ()))
        chain = list((history or {}).get(rec.job_id, ()))
        idx = next((i for i, a in enumerate(chain) if a is rec), None)
        if idx is None:
            # rec is the current record: it comes after every earlier attempt
            chain.append(rec)
            idx = len(chain) - 1
        else:
            # rec is an earlier attempt (-D): the current record takes the later steps
            cur = (current or {}).get(rec.job_id)
            if cur is None:
                cur = next((r for r in records if r.job_id == rec.job_id
                            and not any(r is a for a in chain)), None)
            if cur is None:  # not loaded: it is a later attempt than every kept one
                cur = JobRecord(job_id=rec.job_id,
                                restarts=max(a.restarts for a in chain) + 1)
            chain.append(cur)
        own = assign_steps(chain, all_steps).get(idx, []) if all_steps else []
        own = [s for s in own if _i(s.start_time) <= E
               and (not s.end_time or _i(s.end_time) >= S)]
        show_full, wanted = _step_filter(rec, q.selectors)
        if q.allocations:
            show_full, shown = True, []
        else:
            shown = [s for s in own if wanted is None or s.step_id in wanted]
        entries.append(Entry(rec, own, shown, show_full))
    return entries


def build_rows(records: Sequence[JobRecord], steps: Mapping[int, Sequence[StepRecord]],
               q: Query, ctx: Context,
               history: Mapping[int, Sequence[JobRecord]] | None = None,
               current: Mapping[int, JobRecord] | None = None) -> list[Row]:
    """Job lines and step lines in print order (see :func:`job_entries` for the arguments);
    `--array` prints one line per pending index of a meta record."""
    rows: list[Row] = []
    for e in job_entries(records, steps, q, ctx, history, current):
        rec = e.job
        if e.show_full:
            if q.array and rec.is_array_meta and rec.array_pending:
                for t in rec.array_pending:
                    rows.append(Row(rec, None, t, e.steps, ctx))
            else:
                rows.append(Row(rec, None, None, e.steps, ctx))
        for st in e.shown:
            rows.append(Row(rec, st, None, e.steps, ctx))
    return rows


# ============================================================================ -B / --env-vars

def render_scripts(records: Sequence[JobRecord], header: bool = True) -> str:
    out = []
    for rec in records:
        if header:
            out.append(f"Batch Script for {rec.display_id}\n" + "-" * 80 + "\n")
        script = rec.spec.script if rec.spec is not None else ""
        out.append(script if script else "NONE\n")
    return "".join(out)


def render_envs(records: Sequence[JobRecord], header: bool = True) -> str:
    out = []
    for rec in records:
        if header:
            out.append(f"Environment used for {rec.display_id} (must be batch to display)\n"
                       + "-" * 80 + "\n")
        env = rec.spec.environment if rec.spec is not None else {}
        out.append("".join(f"{k}={v}\n" for k, v in env.items()) if env else "NONE\n")
    return "".join(out)


# ================================================================ JSON (data_parser v0.0.44)

_SIGNAL_NAMES = {1: "HUP", 2: "INT", 3: "QUIT", 4: "ILL", 5: "TRAP", 6: "ABRT", 7: "BUS",
                 8: "FPE", 9: "KILL", 10: "USR1", 11: "SEGV", 12: "USR2", 13: "PIPE",
                 14: "ALRM", 15: "TERM", 16: "STKFLT", 17: "CHLD", 18: "CONT", 19: "STOP",
                 20: "TSTP", 21: "TTIN", 22: "TTOU", 23: "URG", 24: "XCPU", 25: "XFSZ",
                 26: "VTALRM", 27: "PROF", 28: "WINCH", 29: "IO", 30: "PWR", 31: "SYS"}
_TRES_IDS = {"cpu": 1, "mem": 2, "energy": 3, "node": 4, "billing": 5, "fs/disk": 6,
             "vmem": 7, "pages": 8, "gres/gpu": 1001}


def _num(value: int | None, *, infinite: bool = False) -> dict:
    if infinite:
        return {"set": False, "infinite": True, "number": 0}
    if value is None:
        return {"set": False, "infinite": False, "number": 0}
    return {"set": True, "infinite": False, "number": int(value)}


def _exit_json(code: int, sig: int) -> dict:
    if sig:
        return {"status": ["SIGNALED"], "return_code": _num(None),
                "signal": {"id": _num(sig), "name": _SIGNAL_NAMES.get(sig, str(sig))}}
    return {"status": ["SUCCESS"] if code == 0 else ["ERROR"], "return_code": _num(code),
            "signal": {"id": _num(None), "name": ""}}


def _tres_json(items: Mapping[str, int | None]) -> list[dict]:
    out = []
    for name, val in sorted(items.items(), key=lambda kv: _TRES_IDS.get(kv[0], 9999)):
        if val is None:
            continue
        typ, _, nm = name.partition("/")
        out.append({"type": typ, "name": nm, "id": _TRES_IDS.get(name, 0), "count": int(val)})
    return out


def _limit_json(minutes: int | None) -> dict:
    if minutes == INFINITE:
        return _num(None, infinite=True)
    return _num(minutes)


def _cpu_json() -> dict:
    return {"seconds": 0, "microseconds": 0}


def _user_name(ctx: Context, rec: JobRecord, uid: int | None) -> str:
    if uid is None:
        return ""
    if uid == rec.uid and rec.user:
        return rec.user
    if ctx.user_name is not None:
        name = ctx.user_name(uid)
        if name:
            return name
    return "root" if uid == 0 else str(uid)


def _step_json(row: Row, ctx: Context) -> dict:
    st = row.step
    assert st is not None
    start, end, elapsed, _ = row.times()
    alloc = _step_tres(row)
    energy = [{"type": "energy", "name": "", "id": 3, "count": 0}]
    numbered = _is_numbered(st)
    freq = _num(None) if numbered else _num(0)
    nodes = _expand_hosts(st.node_list) if st.node_list else []
    return {
        "time": {"elapsed": elapsed, "end": _num(end or None), "start": _num(start or None),
                 "suspended": 0, "system": _cpu_json(), "limit": _num(None, infinite=True),
                 "total": _cpu_json(), "user": _cpu_json()},
        "exit_code": _exit_json(st.exit_code, st.exit_signal),
        "nodes": {"count": st.num_nodes, "range": st.node_list or "", "list": nodes},
        "tasks": {"count": st.num_tasks},
        "pid": "",
        "CPU": {"requested_frequency": {"min": freq, "max": freq},
                "governor": "Unknown" if numbered else "0"},
        "kill_request_user": "",
        "state": [row.step_state().value],
        "statistics": {"CPU": {"actual_frequency": 0},
                       "energy": {"consumed": _num(0)}},
        "step": {"id": f"{row.job.job_id}.{st.step_id}", "name": st.name,
                 "stderr": "", "stdin": "", "stdout": "",
                 "stderr_expanded": "", "stdin_expanded": "", "stdout_expanded": ""},
        "task": {"distribution": "Cyclic" if numbered else "Unknown"},
        "tres": {"requested": {"max": [], "min": [], "average": energy, "total": energy},
                 "consumed": {"max": [], "min": [], "average": energy, "total": energy},
                 "allocated": _tres_json(alloc)},
    }


def job_json(rec: JobRecord, steps: Sequence[StepRecord], ctx: Context,
             shown: Sequence[StepRecord] | None = None) -> dict:
    """One element of `jobs` in `sacct --json`: `steps` are the record's steps, `shown` those
    to list (default: all)."""
    row = Row(rec, None, None, steps, ctx)
    start, end, elapsed, start_none = row.times()
    spec = rec.spec
    started = _started(rec)
    mem = _mem_mb(rec, ctx)
    res = spec.resources if spec is not None else None
    mem_per_cpu = res.mem_per_cpu if res is not None else None
    mem_per_node = res.mem_per_node if res is not None else None
    if mem_per_cpu is None and mem_per_node is None and mem is not None:
        mem_per_node = mem
    alloc = _job_tres(rec, ctx) if started else {}
    if started:
        alloc = dict(alloc)
        alloc["energy"] = -2 if _consumed_energy(row) is None else 0
    elig = eligible_time(rec)
    flags = ["STARTED_ON_SCHEDULE", "START_RECEIVED"] if started else (
        ["START_RECEIVED"] if rec.end_time else [])
    pending = ""
    if rec.is_array_meta and rec.array_pending:
        from ..slurm import arrayspec
        pending = arrayspec.format_indices(rec.array_pending)
    state = _db_state(rec.state)
    stdout = _std(rec, "out", ctx) or ""
    stderr = _std(rec, "err", ctx) or ""
    stdin = _std(rec, "in", ctx) or ""
    return {
        "account": rec.account or "",
        "comment": {"administrator": "", "job": rec.comment or "", "system": ""},
        "allocation_nodes": rec.num_nodes if started else 0,
        "array": {
            "job_id": rec.array_job_id or 0,
            "limits": {"max": {"running": {"tasks": rec.array_throttle or 0}}},
            "task_id": _num(rec.array_task_id),
            "task": pending,
        },
        "association": {"account": "", "cluster": ctx.cluster, "partition": "", "user": "",
                        "id": 0},
        "block": "",
        "cluster": ctx.cluster,
        "constraints": (res.constraint or "") if res is not None else "",
        "container": "",
        "derived_exit_code": _exit_json(_job_exit(rec)[2], 0),
        "time": {
            "elapsed": elapsed,
            "eligible": elig,
            "end": end,
            "planned": _num(_planned(rec, int(ctx.now))),
            "start": 0 if start_none else start,
            "submission": _i(rec.submit_time),
            "suspended": 0,
            "system": _cpu_json(),
            "limit": _limit_json(rec.time_limit),
            "total": _cpu_json(),
            "user": _cpu_json(),
        },
        "exit_code": _exit_json(*_job_exit(rec)[:2]),
        "extra": "",
        "failed_node": "",
        "flags": flags,
        "group": _group(row) or "",
        "het": {"job_id": 0, "job_offset": _num(None)},
        "job_id": rec.job_id,
        "name": rec.name,
        "licenses": (spec.licenses or "") if spec is not None else "",
        "mcs": {"label": ""},
        "nodes": rec.node_list or "None assigned",
        "partition": rec.partition,
        "hold": bool(rec.hold),
        "priority": _num(rec.priority),
        "qos": rec.qos or "normal",
        "qosreq": "",
        "required": {"CPUs": rec.num_cpus, "memory_per_cpu": _num(mem_per_cpu),
                     "memory_per_node": _num(mem_per_node)},
        "kill_request_user": _user_name(ctx, rec, rec.cancelled_by),
        "restart_cnt": rec.restarts,
        "reservation": {"id": 0, "name": (spec.reservation or "") if spec else "",
                        "requested": (spec.reservation or "") if spec else ""},
        "script": "",
        "segment_size": 0,
        "stdin_expanded": rec.stdin_path or stdin,
        "stdout_expanded": rec.stdout_path or "",
        "stderr_expanded": (rec.stderr_path or "") if stderr else "",
        "stdout": stdout,
        "stderr": stderr,
        "stdin": stdin,
        "state": {"current": [state.value], "reason": reason_code(rec)},
        "steps": [_step_json(Row(rec, s, None, steps, ctx), ctx)
                  for s in (steps if shown is None else shown)],
        "submit_line": (spec.submit_line or "") if spec is not None else "",
        "tres": {"allocated": _tres_json(alloc), "requested": _tres_json(_job_tres(rec, ctx))},
        "used_gres": "",
        "user": rec.user,
        "wckey": {"wckey": (spec.wckey or "") if spec is not None else "", "flags": []},
        "working_directory": rec.work_dir,
    }


def sacct_json(entries: Sequence[Entry], ctx: Context, argv: Sequence[str], *,
               client_user: str = "", client_group: str = "",
               accounting_storage: str = "accounting_storage/slurmshim") -> dict:
    """The whole `sacct --json` document from :func:`job_entries` (every selected record, with
    the steps asked for; formatting options such as --array do not apply, as in Slurm)."""
    from .. import SLURM_VERSION

    major, minor, micro = (SLURM_VERSION.split(".") + ["0", "0"])[:3]
    jobs = []
    for e in entries:
        jobs.append(job_json(e.job, e.steps, ctx, e.shown))
    # Slurm copies argc-1 elements of argv: the last word is always missing
    command = list(argv[:-1]) if argv else []
    return {
        "jobs": jobs,
        "meta": {
            "plugin": {"type": "", "name": "", "data_parser": "data_parser/v0.0.44",
                       "accounting_storage": accounting_storage},
            "client": {"source": "", "user": client_user, "group": client_group},
            "command": command,
            "slurm": {"version": {"major": major, "micro": micro, "minor": minor},
                      "release": SLURM_VERSION, "cluster": ctx.cluster},
        },
        "errors": [],
        "warnings": [],
    }


def dumps_slurm_json(obj: Any, indent: int = 0) -> str:
    """JSON as Slurm's serializer writes it: two-space indent, `"key": value`, `/` escaped as
    `\\/`, and an empty array or object still opened and closed on two lines."""
    return _dump(obj, indent) + "\n"


def _dump_str(s: str) -> str:
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "/":
            out.append("\\/")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\b":
            out.append("\\b")
        elif ch == "\f":
            out.append("\\f")
        elif o < 0x20:
            out.append(f"\\u{o:04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _dump(obj: Any, level: int) -> str:
    pad = "  " * level
    inner = "  " * (level + 1)
    if isinstance(obj, dict):
        if not obj:
            return "{\n" + pad + "}"
        parts = [f"{inner}{_dump_str(str(k))}: {_dump(v, level + 1)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(parts) + "\n" + pad + "}"
    if isinstance(obj, (list, tuple)):
        if not obj:
            return "[\n" + pad + "]"
        parts = [inner + _dump(v, level + 1) for v in obj]
        return "[\n" + ",\n".join(parts) + "\n" + pad + "]"
    if obj is True:
        return "true"
    if obj is False:
        return "false"
    if obj is None:
        return "null"
    if isinstance(obj, int):
        return str(obj)
    if isinstance(obj, float):
        return repr(obj)
    return _dump_str(str(obj))
