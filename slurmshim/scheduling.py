"""Pure scheduling rules shared by the backends: dependency evaluation, eligibility and pending
reasons, priority order, and whether a job fits a partition's nodes.  No I/O: callers pass the
records and the clock."""
from __future__ import annotations

from typing import Callable, Iterable, Sequence

from ._dataclass import dataclass
from .model import Dependency, DependencyTerm, JobRecord, JobState, Partition

# Outcome of one dependency term: satisfied, pending, or never satisfiable.
SATISFIED, WAITING, NEVER = "satisfied", "waiting", "never"

# What slurmctld's _job_requeue_op leaves on a job `scontrol requeuehold` holds: the reason
# WAIT_HELD_USER with the description (state_desc) below, which scontrol (spaces as
# underscores) and squeue print instead of the reason's name, from the requeue on until the
# hold changes (hold, uhold, release).  sacct and squeue's merged array reasons use the name.
REQUEUE_HELD = "job requeued in held state"


def requeue_attempt(rec: JobRecord, now: float) -> JobRecord:
    """The record of the attempt a requeue ended, once its processes are gone (sacct -D
    shows it): REQUEUED at `now`, under the restart count it ran with."""
    from ._dataclass import replace
    old = replace(rec)
    old.state, old.end_time = JobState.REQUEUED, now
    old.restarts = max(0, rec.restarts - 1)
    return old


def requeued_fields(hold: bool, now: float) -> dict:
    """What a requeued job becomes once its processes are gone: pending again from `now`
    (BeginTime), or held as by its user after requeuehold."""
    fields = dict(state=JobState.PENDING, start_time=None, end_time=None, node_list="",
                  backend_id=None, exit_code=0, exit_signal=0, eligible_time=None,
                  reason=REQUEUE_HELD if hold else "BeginTime", submit_time=now)
    if hold:  # the controller set the hold at the requeue; this keeps it
        fields.update(hold="user", priority=0)
    return fields


def held_reason(hold: str | None) -> str:
    """The reason's name for a hold: JobHeldAdmin for `scontrol hold` by an operator,
    JobHeldUser otherwise."""
    return "JobHeldAdmin" if hold == "admin" else "JobHeldUser"


def hold_reason(rec: JobRecord) -> str:
    """The reason a held pending job shows: the description a requeuehold left, else the
    hold's reason."""
    return REQUEUE_HELD if rec.reason == REQUEUE_HELD else held_reason(rec.hold)


def reason_code(rec: JobRecord) -> str:
    """The name of a record's reason (Slurm's job_state_reason_string(state_reason)) where
    the record shows a description instead: what sacct prints, and what squeue joins when
    pending array tasks fold into their meta record."""
    reason = rec.reason or "None"
    return held_reason(rec.hold) if reason == REQUEUE_HELD else reason


def term_status(term: DependencyTerm, targets: Sequence[JobRecord], now: float,
                me: JobRecord | None = None, same_name_active: bool = False) -> str:
    """Status of one `kind:job` term given the records that make up the target job (a plain job,
    an array task, or every record of an array).  `targets` empty = the job is unknown/purged,
    which Slurm treats as satisfied once it has left the system (it was accepted at submit)."""
    kind = term.kind
    if kind == "singleton":
        return WAITING if same_name_active else SATISFIED
    if kind == "aftercorr" and me is not None and me.array_task_id is not None:
        targets = [t for t in targets if t.array_task_id == me.array_task_id
                   or (t.is_array_meta and me.array_task_id in t.array_pending)]
    if not targets:
        return SATISFIED
    pending_tasks = any(t.array_pending and t.state.is_active for t in targets)
    if kind == "after":
        started = [t for t in targets if t.start_time is not None or t.state.is_terminal]
        if len(started) < len(targets) or pending_tasks:
            return WAITING
        begun = max((t.start_time or t.end_time or now) for t in started)
        return SATISFIED if now >= begun + term.minutes * 60 else WAITING
    if any(t.state.is_active for t in targets) or pending_tasks:
        return WAITING
    ok = [t.state == JobState.COMPLETED for t in targets]
    if kind == "afterany" or kind == "afterburstbuffer":
        latest = max((t.end_time or now) for t in targets)
        return SATISFIED if now >= latest + term.minutes * 60 else WAITING
    if kind in ("afterok", "aftercorr"):
        return SATISFIED if all(ok) else NEVER
    if kind == "afternotok":
        return SATISFIED if not all(ok) else NEVER
    return NEVER


def dependency_status(dep: Dependency, statuses: Iterable[str]) -> str:
    """Combine term statuses: `,` needs all, `?` needs any."""
    st = list(statuses)
    if not st:
        return SATISFIED
    if dep.any_of:
        if SATISFIED in st:
            return SATISFIED
        return NEVER if all(s == NEVER for s in st) else WAITING
    if NEVER in st:
        return NEVER
    return SATISFIED if all(s == SATISFIED for s in st) else WAITING


def evaluate_dependency(dep: Dependency, me: JobRecord,
                        lookup: Callable[[int, int | None], list[JobRecord]],
                        same_name_active: bool, now: float) -> tuple[str, list[str]]:
    """Overall status and each term's status (for `Dependency=afterok:7(unfulfilled)`)."""
    statuses = []
    for term in dep.terms:
        targets = [] if term.job_id is None else lookup(term.job_id, term.task)
        statuses.append(term_status(term, targets, now, me, same_name_active))
    return dependency_status(dep, statuses), statuses


@dataclass
class NodeUse:
    """What is allocated on one node right now."""

    cpus: int = 0
    mem: int = 0
    gpus: int = 0
    jobs: int = 0
    exclusive: bool = False


@dataclass(frozen=True)
class Request:
    """Per-node needs of a job: what the scheduler must find on `nodes` distinct nodes."""

    nodes: int
    cpus: int        # per node
    mem: int         # MiB per node (0 = none requested)
    gpus: int        # per node
    exclusive: bool = False


def never_fits(req: Request, part: Partition) -> bool:
    """A request no state of the partition could ever satisfy (refused at submit time)."""
    return (req.nodes > part.nodes or req.cpus > part.cpus_per_node
            or req.mem > part.mem_per_node or req.gpus > part.gpus_per_node)


def place(req: Request, part: Partition, use: dict[str, NodeUse]) -> list[str] | None:
    """Pick `req.nodes` nodes with room for the request, least loaded first; None if no room."""
    free = []
    for name in part.node_names:
        u = use.get(name) or NodeUse()
        if u.exclusive or (req.exclusive and u.jobs):
            continue
        if (u.cpus + req.cpus <= part.cpus_per_node and u.mem + req.mem <= part.mem_per_node
                and u.gpus + req.gpus <= part.gpus_per_node):
            free.append((u.cpus, name))
    if len(free) < req.nodes:
        return None
    free.sort()
    chosen = sorted(name for _, name in free[:req.nodes])
    return [n for n in part.node_names if n in chosen]


def priority_key(rec: JobRecord) -> tuple:
    """Order pending jobs: higher priority minus nice first, then earlier submission, lower id."""
    return (-(rec.priority - rec.nice), rec.submit_time, rec.job_id)
