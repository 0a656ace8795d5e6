"""Job and node state names as the commands accept and print them.

Jobs: `squeue -t`, `sacct -s` and `scancel -t` all go through `job_state_num`
(src/common/slurm_protocol_defs.c): a case-insensitive match on the long or compact name of a
base state or of a state flag.  Nodes: sinfo's `node_state_string[_compact]` (with the
`*~#!%$@^-+` suffixes) and `sinfo -t` parsing (`_node_state_id`, prefix matching,
`~`/`!` negation, `,` = any / `+`/`&` = all) from src/sinfo/opts.c.  Pure, stdlib-only.
"""
from __future__ import annotations

from .._dataclass import dataclass
from ..model import JobState

__all__ = [
    "JOB_STATE_NAMES", "JOB_FLAG_STATE_NAMES", "DEFAULT_SQUEUE_STATES", "SACCT_STATE_NAMES",
    "JOB_STATE_LIST_TEXT", "SCANCEL_VALID_STATES_TEXT", "InvalidStateError",
    "parse_state_list",
    # nodes
    "NODE_STATE_UNKNOWN", "NODE_STATE_DOWN", "NODE_STATE_IDLE", "NODE_STATE_ALLOCATED",
    "NODE_STATE_MIXED", "NODE_STATE_FUTURE", "NODE_STATE_BASE", "NODE_STATE_FLAGS",
    "NODE_STATE_RES", "NODE_STATE_CLOUD", "NODE_RESUME", "NODE_STATE_DRAIN",
    "NODE_STATE_COMPLETING", "NODE_STATE_NO_RESPOND", "NODE_STATE_POWERED_DOWN",
    "NODE_STATE_FAIL", "NODE_STATE_POWERING_UP", "NODE_STATE_MAINT",
    "NODE_STATE_REBOOT_REQUESTED", "NODE_STATE_POWERING_DOWN", "NODE_STATE_REBOOT_ISSUED",
    "NODE_STATE_PLANNED", "NODE_STATE_INVALID_REG", "NODE_STATE_POWER_DOWN",
    "NODE_STATE_POWER_UP", "NODE_STATE_BLOCKED", "NODE_STATE_EXTERNAL",
    "NODE_STATE_DYNAMIC_FUTURE", "NODE_STATE_DYNAMIC_NORM",
    "node_state_string", "node_state_compact", "NodeStateFilter", "parse_node_state_list",
    "node_state_matches", "SINFO_VALID_STATES_TEXT",
]

# ---------------------------------------------------------------------------------------------
# job states
# ---------------------------------------------------------------------------------------------

_BASE = (
    (JobState.PENDING, "PENDING", "PD"), (JobState.RUNNING, "RUNNING", "R"),
    (JobState.SUSPENDED, "SUSPENDED", "S"), (JobState.COMPLETED, "COMPLETED", "CD"),
    (JobState.CANCELLED, "CANCELLED", "CA"), (JobState.FAILED, "FAILED", "F"),
    (JobState.TIMEOUT, "TIMEOUT", "TO"), (JobState.NODE_FAIL, "NODE_FAIL", "NF"),
    (JobState.PREEMPTED, "PREEMPTED", "PR"), (JobState.BOOT_FAIL, "BOOT_FAIL", "BF"),
    (JobState.DEADLINE, "DEADLINE", "DL"), (JobState.OUT_OF_MEMORY, "OUT_OF_MEMORY", "OOM"),
)
# Flag states job_state_num also accepts, in its order.  Those our model has a state for map
# to it; the others are real Slurm flags slurmshim never sets, so they are accepted (no error,
# like Slurm) and match no job -- which is what Slurm shows for them on a queue without such
# jobs.  Mapping e.g. REQUEUE_HOLD to PENDING would make `-t RH` list every pending job.
_FLAGS = (
    ("COMPLETING", "CG", JobState.COMPLETING), ("CONFIGURING", "CF", JobState.CONFIGURING),
    ("EXPEDITING", None, None), ("RESIZING", "RS", None), ("RESV_DEL_HOLD", "RD", None),
    ("REQUEUED", "RQ", JobState.REQUEUED), ("REQUEUE_FED", "RF", None),
    ("REQUEUE_HOLD", "RH", None), ("REVOKED", "RV", None), ("SIGNALING", "SI", None),
    ("SPECIAL_EXIT", "SE", None), ("STAGE_OUT", "SO", None), ("STOPPED", "ST", None),
)

JOB_STATE_NAMES: dict[str, JobState] = {}
"""Upper-cased long and compact name -> JobState, for every name that maps to a state of ours."""
JOB_FLAG_STATE_NAMES: frozenset[str] = frozenset(
    n for long, short, st in _FLAGS if st is None for n in (long, short) if n)
"""Names Slurm accepts for state flags we never produce: valid, but they select nothing."""
for _st, _long, _short in _BASE:
    JOB_STATE_NAMES[_long] = _st
    JOB_STATE_NAMES[_short] = _st
for _long, _short, _st in _FLAGS:
    if _st is not None:
        JOB_STATE_NAMES[_long] = _st
        if _short:
            JOB_STATE_NAMES[_short] = _st

DEFAULT_SQUEUE_STATES: frozenset[JobState] = frozenset({
    JobState.PENDING, JobState.RUNNING, JobState.SUSPENDED, JobState.COMPLETING,
    JobState.CONFIGURING,
})
"""squeue without -t shows pending, running, suspended, completing and stage-out jobs
(print.c `_filter_job`); configuring jobs are pending/running ones with a flag, so included."""

# sacct -s accepts only what accounting records (`_supported_state`)
SACCT_STATE_NAMES: frozenset[str] = frozenset(
    [n for _, long, short in _BASE for n in (long, short)]
    + ["REQUEUED", "RQ", "RESIZING", "RS", "REVOKED", "RV"])

JOB_STATE_LIST_TEXT = ",".join(
    [long.lower() for _, long, _ in _BASE] + [long.lower() for long, _, _ in _FLAGS])
"""squeue's list after `Valid job states include: ` (lower case, comma-separated)."""
SCANCEL_VALID_STATES_TEXT = "Valid job states are PENDING, RUNNING, and SUSPENDED"


class InvalidStateError(ValueError):
    """An unknown state name (reason "unknown"), or one sacct cannot select ("unaccounted").
    str() is the offending name.  Callers print, e.g.:
    squeue: `squeue: error: Invalid job state specified: NAME` then
    `squeue: error: Valid job states include: <JOB_STATE_LIST_TEXT>` and an empty line, exit 1;
    scancel: `Invalid job state specified: NAME` / SCANCEL_VALID_STATES_TEXT (no prefix), exit 1;
    sacct: `sacct: fatal: unrecognized job state value 'NAME'` or
    `sacct: fatal: job state NAME is not supported / accounted`."""

    def __init__(self, name: str, reason: str = "unknown"):
        super().__init__(name)
        self.name = name
        self.reason = reason


def parse_state_list(text: str, *, accounted_only: bool = False) -> set[JobState] | None:
    """`-t/--states` / `-s/--state`: comma-separated job state names, long or compact, any
    case.  Returns the set of states to show, or None for `all` (the whole value, any case).
    Names of flag states we never produce add nothing.  Empty items are skipped (strtok).
    InvalidStateError(name) for an unknown name; with accounted_only (sacct) also for states
    accounting does not record (CG, CF, ...)."""
    if text.lower() == "all":
        return None
    out: set[JobState] = set()
    for raw in text.split(","):
        if not raw:
            continue
        name = raw.upper()
        st = JOB_STATE_NAMES.get(name)
        if st is None and name not in JOB_FLAG_STATE_NAMES:
            raise InvalidStateError(raw)
        if accounted_only and name not in SACCT_STATE_NAMES:
            raise InvalidStateError(raw, "unaccounted")
        if st is not None:
            out.add(st)
    return out


# ---------------------------------------------------------------------------------------------
# node states (Slurm's bit values, so filters behave exactly like sinfo's)
# ---------------------------------------------------------------------------------------------

NODE_STATE_UNKNOWN, NODE_STATE_DOWN, NODE_STATE_IDLE, NODE_STATE_ALLOCATED = 0, 1, 2, 3
NODE_STATE_ERROR, NODE_STATE_MIXED, NODE_STATE_FUTURE, NODE_STATE_END = 4, 5, 6, 7
NODE_STATE_BASE = 0x0000000F
NODE_STATE_FLAGS = 0xFFFFFFF0
NODE_STATE_EXTERNAL = 1 << 4
NODE_STATE_RES = 1 << 5
NODE_STATE_UNDRAIN = 1 << 6
NODE_STATE_CLOUD = 1 << 7
NODE_RESUME = 1 << 8
NODE_STATE_DRAIN = 1 << 9
NODE_STATE_COMPLETING = 1 << 10
NODE_STATE_NO_RESPOND = 1 << 11
NODE_STATE_POWERED_DOWN = 1 << 12
NODE_STATE_FAIL = 1 << 13
NODE_STATE_POWERING_UP = 1 << 14
NODE_STATE_MAINT = 1 << 15
NODE_STATE_REBOOT_REQUESTED = 1 << 16
NODE_STATE_REBOOT_CANCEL = 1 << 17
NODE_STATE_POWERING_DOWN = 1 << 18
NODE_STATE_DYNAMIC_FUTURE = 1 << 19
NODE_STATE_REBOOT_ISSUED = 1 << 20
NODE_STATE_PLANNED = 1 << 21
NODE_STATE_INVALID_REG = 1 << 22
NODE_STATE_POWER_DOWN = 1 << 23
NODE_STATE_POWER_UP = 1 << 24
NODE_STATE_POWER_DRAIN = 1 << 25
NODE_STATE_DYNAMIC_NORM = 1 << 26
NODE_STATE_BLOCKED = 1 << 27

# the suffix chosen first wins: maint $, reboot issued ^, reboot @, powering up #,
# powering down %, powered down ~, power down pending !, not responding *
_SUFFIXES = (
    (NODE_STATE_MAINT, "$"), (NODE_STATE_REBOOT_ISSUED, "^"),
    (NODE_STATE_REBOOT_REQUESTED, "@"), (NODE_STATE_POWERING_UP, "#"),
    (NODE_STATE_POWERING_DOWN, "%"), (NODE_STATE_POWERED_DOWN, "~"),
    (NODE_STATE_POWER_DOWN, "!"), (NODE_STATE_NO_RESPOND, "*"),
)
_SINGLE_FLAG_NAMES = {
    # long name of a state that is exactly this one flag (base UNKNOWN)
    NODE_STATE_REBOOT_CANCEL: "CANCEL_REBOOT", NODE_STATE_CLOUD: "CLOUD",
    NODE_STATE_EXTERNAL: "EXTERNAL", NODE_STATE_POWER_DOWN: "POWER_DOWN",
    NODE_STATE_POWER_UP: "POWER_UP", NODE_STATE_POWERING_DOWN: "POWERING_DOWN",
    NODE_STATE_POWERED_DOWN: "POWERED_DOWN", NODE_STATE_POWERING_UP: "POWERING_UP",
    NODE_STATE_UNDRAIN: "UNDRAIN", NODE_STATE_DYNAMIC_FUTURE: "DYNAMIC_FUTURE",
    NODE_STATE_DYNAMIC_NORM: "DYNAMIC_NORM",
}


def _suffix(state: int, extra: tuple[tuple[int, str], ...] = ()) -> str:
    for bit, ch in _SUFFIXES + extra:
        if state & bit:
            return ch
    return ""


def _node_state(state: int, compact: bool) -> str:
    """Shared body of `node_state_string` and `node_state_string_compact`."""
    base = state & NODE_STATE_BASE
    maint = state & NODE_STATE_MAINT
    drain = state & NODE_STATE_DRAIN
    comp = state & NODE_STATE_COMPLETING
    no_resp = state & NODE_STATE_NO_RESPOND
    reboot = state & NODE_STATE_REBOOT_REQUESTED
    reboot_issued = state & NODE_STATE_REBOOT_ISSUED
    busy = base in (NODE_STATE_ALLOCATED, NODE_STATE_MIXED)

    if state & NODE_STATE_INVALID_REG:
        return "INVAL"
    if maint and not (drain or busy or base == NODE_STATE_DOWN):
        return "MAINT*" if no_resp else "MAINT"
    if (reboot or reboot_issued) and not busy:
        word = "BOOT" if compact else "REBOOT"
        if reboot_issued:
            return word + "^"
        return word + ("*" if no_resp else "")
    if drain:
        if comp or busy:
            return ("DRNG" if compact else "DRAINING") + _suffix(state)
        return ("DRAIN" if compact else "DRAINED") + _suffix(state)
    if state & NODE_STATE_FAIL:
        word = ("FAILG" if compact else "FAILING") if (comp or busy) else "FAIL"
        return word + ("*" if no_resp else "")
    # a state that is exactly one flag has its own long name; the compact function compares
    # only the base there, so it never prints these (CLOUD alone is "UNK")
    if not compact and state in _SINGLE_FLAG_NAMES:
        return _SINGLE_FLAG_NAMES[state]
    if base == NODE_STATE_DOWN:
        return "DOWN" + _suffix(state)
    if base == NODE_STATE_ALLOCATED:
        return ("ALLOC" if compact else "ALLOCATED") + _suffix(
            state, ((NODE_STATE_COMPLETING, "+"),))
    if comp:
        return ("COMP" if compact else "COMPLETING") + _suffix(state)
    if base == NODE_STATE_IDLE:
        s = _suffix(state)
        if s:
            return "IDLE" + s
        if state & NODE_STATE_RES:
            return "RESV" if compact else "RESERVED"
        if state & NODE_STATE_BLOCKED:
            return "BLOCK" if compact else "BLOCKED"
        if state & NODE_STATE_PLANNED:
            return "PLND" if compact else "PLANNED"
        return "IDLE"
    if base == NODE_STATE_MIXED:
        return ("MIX" if compact else "MIXED") + _suffix(state, ((NODE_STATE_PLANNED, "-"),))
    if base == NODE_STATE_FUTURE:
        return ("FUTR" if compact else "FUTURE") + _suffix(state)
    if state & NODE_RESUME:
        return "RESM" if compact else "RESUME"
    if base == NODE_STATE_UNKNOWN:
        return ("UNK" if compact else "UNKNOWN") + ("*" if no_resp else "")
    return "?"


def node_state_string(state: int) -> str:
    """Long node state (sinfo `%T`, scontrol `State=`), e.g. `IDLE`, `MIXED`, `IDLE~`,
    `ALLOCATED#`, `DRAINING`, `DOWN*`.  sinfo prints it in lower case."""
    return _node_state(state, compact=False)


def node_state_compact(state: int) -> str:
    """Compact node state (sinfo `%t`), e.g. `IDLE`, `ALLOC`, `MIX`, `IDLE~`, `DRNG`, `DOWN*`
    (upper case; sinfo lower-cases it: `idle~`)."""
    return _node_state(state, compact=True)


@dataclass(frozen=True)
class NodeStateFilter:
    """A parsed `sinfo -t` value: (state, negated) items; match_all for `+`/`&` lists."""

    items: tuple[tuple[int, bool], ...]
    match_all: bool = False


def _prefix_eq(s: str, full: str) -> bool:
    """xstrncasecmp(full, s, len(s)) == 0: s is a case-insensitive prefix of full."""
    return full[:len(s)].upper() == s.upper()


def _node_state_equal(state: int, s: str) -> bool:
    return _prefix_eq(s, node_state_compact(state)) or _prefix_eq(s, node_state_string(state))


def _node_state_id(s: str) -> int | None:
    """`_node_state_id`: prefix matching, base states first, then Slurm's list of extras."""
    for st in range(NODE_STATE_END):
        if _node_state_equal(st, s):
            return st
    if _prefix_eq(s, "BLOCKED") or _prefix_eq(s, "BLOCK"):
        return NODE_STATE_BLOCKED
    if _prefix_eq(s, "INVALID_REG") or _prefix_eq(s, "INVAL"):
        return NODE_STATE_INVALID_REG
    if _prefix_eq(s, "PLANNED") or _prefix_eq(s, "PLND"):
        return NODE_STATE_PLANNED
    if _prefix_eq(s, "DRAIN"):
        return NODE_STATE_DRAIN
    if _prefix_eq(s, "DRAINED"):
        return NODE_STATE_DRAIN | NODE_STATE_IDLE
    if _prefix_eq(s, "RESV") or _prefix_eq(s, "RESERVED"):
        return NODE_STATE_RES
    if _prefix_eq(s, "DRAINING") or _prefix_eq(s, "DRNG"):
        return NODE_STATE_DRAIN | NODE_STATE_ALLOCATED
    for flag in (NODE_STATE_DYNAMIC_FUTURE, NODE_STATE_DYNAMIC_NORM, NODE_STATE_COMPLETING):
        if _node_state_equal(flag, s):
            return flag
    if _prefix_eq(s, "NO_RESPOND"):
        return NODE_STATE_NO_RESPOND
    for flag in (NODE_STATE_POWER_UP, NODE_STATE_POWERING_DOWN, NODE_STATE_POWERED_DOWN,
                 NODE_STATE_POWER_DOWN, NODE_STATE_POWERING_UP, NODE_STATE_FAIL,
                 NODE_STATE_MAINT, NODE_STATE_REBOOT_REQUESTED, NODE_STATE_REBOOT_ISSUED,
                 NODE_STATE_CLOUD, NODE_STATE_EXTERNAL):
        if _node_state_equal(flag, s):
            return flag
    return None


def parse_node_state_list(text: str) -> NodeStateFilter | None:
    """`sinfo -t/--states`: names separated by `,` (any may match) or by `+`/`&` (all must
    match), each optionally negated with a leading `~` or `!`, matched case-insensitively as
    prefixes of the long or compact names (`i` = idle, `alloc`, `mix`, `drain`, `drained`,
    `draining`, `down`, `cloud`, `powered_down`, `no_respond`, ...).  None for `all`.
    ValueError(name) for an unknown name (sinfo prints `sinfo: error: Bad state string:
    "NAME"` and `sinfo: error: valid states: <SINFO_VALID_STATES_TEXT>`, exit 1)."""
    if text.lower() == "all":
        return None
    match_all = "+" in text or "&" in text
    items: list[tuple[int, bool]] = []
    for raw in text.replace("&", ",").replace("+", ",").split(","):
        if not raw:
            continue
        name, neg = raw, False
        if name[0] in "~!":
            name, neg = name[1:], True
        st = _node_state_id(name)
        if st is None:
            raise ValueError(raw)
        items.append((st, neg))
    if not items:
        raise ValueError(text)
    return NodeStateFilter(tuple(items), match_all)


def _matches_one(want: int, state: int, alloc_cpus: int) -> bool:
    """sinfo's `_filter_node_state`."""
    drain = state & NODE_STATE_DRAIN
    busy = (state & NODE_STATE_BASE) in (NODE_STATE_ALLOCATED, NODE_STATE_MIXED)
    want_base = want & NODE_STATE_BASE
    if want == NODE_STATE_DRAIN:
        return bool(drain)
    if want & NODE_STATE_DRAIN and want_base in (NODE_STATE_ALLOCATED, NODE_STATE_MIXED):
        return bool(drain) and busy  # DRAINING
    if want & NODE_STATE_DRAIN:
        return bool(drain) and not busy  # DRAINED
    if want & NODE_STATE_FLAGS:
        return bool(want & state)
    if want == NODE_STATE_ALLOCATED:
        return alloc_cpus > 0  # mixed nodes count as allocated here
    return (state & NODE_STATE_BASE) == want


def node_state_matches(flt: NodeStateFilter | None, state: int, alloc_cpus: int = 0) -> bool:
    """Does a node (Slurm state bits, CPUs in use) pass a `sinfo -t` filter?"""
    if flt is None:
        return True
    match = False
    for want, neg in flt.items:
        match = _matches_one(want, state, alloc_cpus)
        if neg:
            match = not match
        if not flt.match_all and match:
            break
        if flt.match_all and not match:
            break
    return match


def _sinfo_valid_states() -> str:
    names = [node_state_string(i) for i in range(NODE_STATE_END) if i != NODE_STATE_ERROR]
    names += ["DRAIN", "DRAINED", "DRAINING", "NO_RESPOND", "RESERVED", "PLANNED", "BLOCKED"]
    names += [node_state_string(f) for f in (
        NODE_STATE_CLOUD, NODE_STATE_COMPLETING, NODE_STATE_POWERING_DOWN,
        NODE_STATE_POWERED_DOWN, NODE_STATE_POWER_DOWN, NODE_STATE_POWERING_UP,
        NODE_STATE_POWER_UP, NODE_STATE_INVALID_REG, NODE_STATE_FAIL, NODE_STATE_MAINT,
        NODE_STATE_REBOOT_REQUESTED, NODE_STATE_REBOOT_ISSUED, NODE_STATE_EXTERNAL,
        NODE_STATE_DYNAMIC_FUTURE, NODE_STATE_DYNAMIC_NORM)]
    return ",".join(names).lower()


SINFO_VALID_STATES_TEXT = _sinfo_valid_states()
