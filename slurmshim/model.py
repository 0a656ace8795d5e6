"""Plain data shared by every layer: what a job asks for (JobSpec), what the ledger knows of it
(JobRecord, StepRecord) and what a partition offers (Partition).  No I/O, no behaviour beyond
small derived properties, so every layer can import it.

Units: times are POSIX seconds (float); time limits are whole minutes (None = not set,
INFINITE = UNLIMITED); memory is MiB (Slurm's "MB").
"""
from __future__ import annotations

import enum
from typing import Any

from ._dataclass import asdict, dataclass, field

INFINITE = -1  # time limit meaning UNLIMITED (Slurm's INFINITE)
NO_VAL = None

# What a job without --account / --qos is charged to and runs under, as the reference Slurm
# shows them (`Account=root QOS=normal`, SLURM_JOB_ACCOUNT=root): the controller stores them in
# the job record at submission, so every view (squeue %a/%q, scontrol, sacct, the job's
# environment) shows the same.  The one place to change them.
DEFAULT_ACCOUNT = "root"
DEFAULT_QOS = "normal"


class JobState(str, enum.Enum):
    """Slurm job states; the value is the long name Slurm prints (`%T`, sacct State)."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUSPENDED = "SUSPENDED"
    COMPLETING = "COMPLETING"
    CONFIGURING = "CONFIGURING"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"
    FAILED = "FAILED"
    TIMEOUT = "TIMEOUT"
    NODE_FAIL = "NODE_FAIL"
    PREEMPTED = "PREEMPTED"
    BOOT_FAIL = "BOOT_FAIL"
    DEADLINE = "DEADLINE"
    OUT_OF_MEMORY = "OUT_OF_MEMORY"
    REQUEUED = "REQUEUED"

    @property
    def compact(self) -> str:
        return COMPACT_NAMES[self]

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATES

    @property
    def is_active(self) -> bool:
        return self not in TERMINAL_STATES


# the short names (`%t`); also a plain dict for loops that would call `.compact` per job
COMPACT_NAMES = {
    JobState.PENDING: "PD", JobState.RUNNING: "R", JobState.SUSPENDED: "S",
    JobState.COMPLETING: "CG", JobState.CONFIGURING: "CF", JobState.COMPLETED: "CD",
    JobState.CANCELLED: "CA", JobState.FAILED: "F", JobState.TIMEOUT: "TO",
    JobState.NODE_FAIL: "NF", JobState.PREEMPTED: "PR", JobState.BOOT_FAIL: "BF",
    JobState.DEADLINE: "DL", JobState.OUT_OF_MEMORY: "OOM", JobState.REQUEUED: "RQ",
}

TERMINAL_STATES = frozenset({
    JobState.COMPLETED, JobState.CANCELLED, JobState.FAILED, JobState.TIMEOUT,
    JobState.NODE_FAIL, JobState.PREEMPTED, JobState.BOOT_FAIL, JobState.DEADLINE,
    JobState.OUT_OF_MEMORY,
})


@dataclass(frozen=True)
class ArraySpec:
    """A parsed `--array` expression: the exact task indices (sorted, unique), the `%N` throttle
    (None = unlimited) and the text as the user wrote it."""

    indices: tuple[int, ...]
    throttle: int | None = None
    text: str = ""


@dataclass(frozen=True)
class DependencyTerm:
    """One `type:job[+minutes]` item.  kind is after/afterany/afterok/afternotok/aftercorr/
    afterburstbuffer/singleton; job_id is None for singleton; task is an array task or None."""

    kind: str
    job_id: int | None = None
    task: int | None = None
    minutes: int = 0


@dataclass(frozen=True)
class Dependency:
    """A whole `--dependency` value: terms joined by `,` (all must hold) or `?` (any may hold)."""

    terms: tuple[DependencyTerm, ...]
    any_of: bool = False
    text: str = ""


@dataclass(frozen=True)
class GresRequest:
    """One GRES item such as `gpu:a100:4` (name, type or None, count per node)."""

    name: str
    type: str | None
    count: int


@dataclass
class Resources:
    """What the job asks for.  None means "not given": the difference matters (Slurm only sets
    SLURM_NTASKS when -n was given, only shows TresPerTask when -c was given, ...)."""

    nodes_min: int | None = None
    nodes_max: int | None = None
    ntasks: int | None = None
    cpus_per_task: int | None = None
    ntasks_per_node: int | None = None
    mem_per_node: int | None = None      # MiB; 0 = all of the node's memory
    mem_per_cpu: int | None = None       # MiB
    mem_per_gpu: int | None = None       # MiB
    gres: tuple[GresRequest, ...] = ()
    gpus: int | None = None              # -G/--gpus (total for the job)
    gpus_per_node: int | None = None
    gpus_per_task: int | None = None
    gpu_type: str | None = None
    constraint: str | None = None
    exclusive: bool = False
    tmp_mb: int | None = None

    # -- derived values the controller, backends and printers agree on --
    @property
    def num_nodes(self) -> int:
        if self.nodes_min:
            return self.nodes_min
        if self.ntasks and self.ntasks_per_node:
            return max(1, -(-self.ntasks // self.ntasks_per_node))
        return 1

    @property
    def num_tasks(self) -> int:
        if self.ntasks:
            return self.ntasks
        if self.ntasks_per_node:
            return self.ntasks_per_node * self.num_nodes
        return self.num_nodes

    @property
    def cpus_per_task_or_1(self) -> int:
        return self.cpus_per_task or 1

    @property
    def num_cpus(self) -> int:
        return max(self.num_tasks * self.cpus_per_task_or_1, self.num_nodes)

    @property
    def gpus_per_node_total(self) -> int:
        """GPUs each node needs, from whichever GPU option was given."""
        if self.gpus_per_node:
            return self.gpus_per_node
        for g in self.gres:
            if g.name == "gpu":
                return g.count
        if self.gpus:
            return -(-self.gpus // self.num_nodes)
        if self.gpus_per_task:
            return self.gpus_per_task * -(-self.num_tasks // self.num_nodes)
        return 0


@dataclass
class SignalSpec:
    """`--signal=[{R|B}:]SIG[@secs]`."""

    signum: int
    secs: int = 60
    batch_only: bool = False
    reservation_only: bool = False


@dataclass
class OptionUse:
    """How one given option was treated: for `--test-only` plans, `slurmshim check` and warnings."""

    option: str          # canonical long name, e.g. "nodes"
    value: str | None    # as given
    source: str          # "cli" | "env" | "script"
    support: str         # "mapped" | "approximated" | "ignored" | "rejected"
    effect: str = ""     # what it became, human words


@dataclass
class JobSpec:
    """Everything a submission asks for, backend-neutral.  Built by the CLI from argv, SBATCH_*
    and #SBATCH lines; completed by the controller (partition, defaults); stored in the ledger."""

    script: str = ""                     # full text of the batch script
    script_args: list[str] = field(default_factory=list)
    command: str = ""                    # scontrol Command= (script path, or "(null)" for stdin/wrap)
    submit_line: str = ""
    job_name: str | None = None
    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    comment: str | None = None
    wckey: str | None = None
    reservation: str | None = None
    licenses: str | None = None
    work_dir: str = ""
    user: str = ""
    uid: int = 0
    group: str = ""
    gid: int = 0
    submit_host: str = ""
    submit_pid: int = 0
    time_limit: int | None = None        # minutes; INFINITE = UNLIMITED; None = partition default
    time_min: int | None = None
    resources: Resources = field(default_factory=Resources)
    array: ArraySpec | None = None
    dependency: Dependency | None = None
    kill_on_invalid_dep: bool | None = None
    begin_time: float | None = None
    deadline: float | None = None
    hold: bool = False
    nice: int = 0
    priority: int | None = None
    output: str | None = None
    error: str | None = None
    input: str | None = None
    open_mode: str | None = None         # "append" | "truncate"
    export: str | None = None            # --export value as given (None = ALL)
    environment: dict[str, str] = field(default_factory=dict)  # the exported environment
    signal: SignalSpec | None = None
    requeue: bool | None = None          # None = site default
    mail_type: str | None = None
    mail_user: str | None = None
    wait: bool = False
    test_only: bool = False
    parsable: bool = False
    quiet: bool = False
    wrap: str | None = None
    options: list[OptionUse] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # mapped options with no field of their own

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "JobSpec":
        d = dict(d)
        res = d.pop("resources", None) or {}
        res["gres"] = tuple(GresRequest(**g) for g in res.get("gres", ()))
        arr = d.pop("array", None)
        dep = d.pop("dependency", None)
        sig = d.pop("signal", None)
        opts = d.pop("options", None) or []
        spec = cls(**d)
        spec.resources = Resources(**res)
        if arr:
            spec.array = ArraySpec(indices=tuple(arr["indices"]), throttle=arr.get("throttle"),
                                   text=arr.get("text", ""))
        if dep:
            spec.dependency = Dependency(
                terms=tuple(DependencyTerm(**t) for t in dep["terms"]),
                any_of=dep.get("any_of", False), text=dep.get("text", ""))
        if sig:
            spec.signal = SignalSpec(**sig)
        spec.options = [OptionUse(**o) for o in opts]
        return spec


@dataclass
class JobRecord:
    """One row of the ledger: a job, an array task split off its array, or an array's meta record
    (the part still pending, `array_pending` non-empty).  Field names follow Slurm's terms."""

    job_id: int                          # raw id (JobIDRaw)
    name: str = ""
    user: str = ""
    uid: int = 0
    partition: str = ""
    account: str | None = None
    qos: str | None = None
    state: JobState = JobState.PENDING
    reason: str = "None"
    array_job_id: int | None = None
    array_task_id: int | None = None     # None on a meta record and on plain jobs
    array_pending: tuple[int, ...] = ()  # meta record only: indices not yet split off
    array_throttle: int | None = None
    hold: str | None = None              # None | "user" | "admin"
    priority: int = 1
    nice: int = 0
    num_nodes: int = 1
    num_cpus: int = 1
    num_tasks: int = 1
    time_limit: int | None = None        # minutes; INFINITE = UNLIMITED
    submit_time: float = 0.0
    eligible_time: float | None = None
    start_time: float | None = None
    end_time: float | None = None
    exit_code: int = 0
    exit_signal: int = 0
    derived_exit_code: int = 0
    node_list: str = ""
    restarts: int = 0
    cancelled_by: int | None = None      # uid that cancelled it (sacct "CANCELLED by N")
    dependency: str | None = None        # original --dependency text
    work_dir: str = ""
    command: str = ""
    stdout_path: str = ""
    stderr_path: str = ""
    stdin_path: str = "/dev/null"
    comment: str | None = None
    backend: str = "local"
    backend_id: str | None = None
    spec_id: int | None = None
    spec: JobSpec | None = None          # loaded on demand (ledger.load_spec)

    @property
    def is_array(self) -> bool:
        return self.array_job_id is not None

    @property
    def is_array_meta(self) -> bool:
        return self.array_job_id is not None and self.array_task_id is None

    @property
    def display_id(self) -> str:
        """JOBID as squeue %i and sacct JobID print it: N, N_T or N_[pending%throttle]."""
        if self.array_job_id is None:
            return str(self.job_id)
        if self.array_task_id is not None:
            return f"{self.array_job_id}_{self.array_task_id}"
        from .slurm.arrayspec import format_indices  # pure, stdlib-only

        text = format_indices(self.array_pending)
        if self.array_throttle:
            text += f"%{self.array_throttle}"
        return f"{self.array_job_id}_[{text}]"


@dataclass
class StepRecord:
    """A job step: `batch`, `extern`, or an srun step numbered 0, 1, ...  (sacct rows N.batch, N.0)."""

    job_id: int
    step_id: str                         # "batch" | "extern" | "0" | "1" ...
    name: str = "batch"
    state: JobState = JobState.RUNNING
    exit_code: int = 0
    exit_signal: int = 0
    start_time: float | None = None
    end_time: float | None = None
    num_cpus: int = 1
    num_tasks: int = 1
    num_nodes: int = 1
    node_list: str = ""
    # The job's attempt the step ran in: the job record's `restarts` then (0 for the first run,
    # 1 after one requeue...).  sacct -D shows each attempt's steps under that attempt's record.
    # None when saving: the job's current attempt.
    attempt: int | None = None


@dataclass
class Partition:
    """A configured partition.  Capacity fields describe what the backend offers (for sinfo and
    for "can this job ever fit")."""

    name: str
    backend: str = "local"
    default: bool = False
    state: str = "UP"
    max_time: int | None = INFINITE      # minutes
    default_time: int | None = None
    node_names: tuple[str, ...] = ("node01",)  # local: virtual nodes; batch: capacity slots
    cpus_per_node: int = 1
    mem_per_node: int = 1024             # MiB
    gpus_per_node: int = 0
    gpu_types: tuple[str, ...] = ()
    def_mem_per_cpu: int | None = None   # MiB
    max_array_size: int | None = None
    # AWS Batch settings (ignored by the local backend)
    job_queue: str | None = None
    mnp_queue: str | None = None
    image: str | None = None
    spot: bool = False
    efa: bool = False
    retries: int = 3
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def nodes(self) -> int:
        return len(self.node_names)

    @property
    def total_cpus(self) -> int:
        return self.cpus_per_node * self.nodes


@dataclass
class NodeStatus:
    """One node as sinfo and `scontrol show node` see it.  Local backend: a virtual node on this
    machine; Batch backend: capacity slots derived from the compute environments."""

    name: str
    partitions: tuple[str, ...]
    state: str = "idle"                  # base state, long lower-case: idle, allocated, mixed, down, drained, ...
    flags: str = ""                      # sinfo suffix characters: "~" powered down (cloud), "#" powering up, "*" not responding
    cpus_total: int = 1
    cpus_alloc: int = 0
    mem_total: int = 1024                # MiB
    mem_alloc: int = 0
    mem_free: int | None = None          # MiB, None = unknown
    cpu_load: float | None = None
    gres: str = "(null)"
    gres_used: str = ""
    features: str = "(null)"
    arch: str = "x86_64"
    os: str = "Linux"
    boot_time: float | None = None
    reason: str | None = None
    weight: int = 1
    addr: str = ""
    hostname: str = ""
