"""sinfo output, exactly as Slurm 25.11 prints it.  Pure: callers pass the partitions (in
configuration order), the node statuses and the clock.

How sinfo builds its table (src/sinfo/sinfo.c, print.c, sort.c, opts.c of 25.11.7):

* The format is a list of fields.  Without -o/-O, sinfo uses a *long* (-O style) preset, e.g.
  `partition:9 ,available:.5 ,time:.10 ,nodes:.6 ,statecompact:.6 ,nodelist:0`, where the
  partition and node-list widths grow to the widest value ("part_field_flag").
* Each field has "match flags": two nodes land on the same output line when every attribute
  shown by the format is equal (state, features, reason, ...); partitions likewise.  With a
  PARTITION field, every partition gets a line even with no nodes (state `n/a`).
* `-N` gives one line per node per partition; `-R` ignores partitions and lists only
  down/drained/failing nodes; `-s` drops the state so one line per partition remains.
* Lines are sorted by `#P,-t` (partition order, then state descending) or `N` with -N.

Node states: a NodeStatus carries a long lower-case base state and suffix flag characters
(`~` powered down, `#` powering up, `%` powering down, `!` power down pending, `*` not
responding, `$` maintenance, `@` reboot requested, `^` reboot issued, `-` planned).  They are
turned into Slurm's state bits so that the long (%T), compact (%t) and complete (scontrol
`State=`) spellings, the `-t` filters and the state sort all behave like Slurm's.
"""
from __future__ import annotations

import time as _time
from typing import Any, Callable, Iterable, Sequence

from .._dataclass import dataclass, field
from ..model import INFINITE, NodeStatus, Partition
from .fields import fit, parse_long_format, parse_percent_format

SLURM_VERSION = "25.11.7"
SLURMD_PORT = 6818

# --------------------------------------------------------------------------- node states
# Slurm's state bits and spellings live in slurmshim.slurm.states; here a NodeStatus (long base
# word + suffix characters) is turned into those bits, and the `State=` complete form is built.
from ..slurm import states as _st
from ..slurm.states import (NODE_RESUME as RESUME, NODE_STATE_ALLOCATED as ALLOCATED,
                            NODE_STATE_BASE as BASE_MASK, NODE_STATE_BLOCKED as BLOCKED,
                            NODE_STATE_CLOUD as CLOUD, NODE_STATE_COMPLETING as COMPLETING,
                            NODE_STATE_DOWN as DOWN, NODE_STATE_DRAIN as DRAIN,
                            NODE_STATE_DYNAMIC_FUTURE as DYNAMIC_FUTURE,
                            NODE_STATE_DYNAMIC_NORM as DYNAMIC_NORM,
                            NODE_STATE_EXTERNAL as EXTERNAL, NODE_STATE_FAIL as FAIL,
                            NODE_STATE_FUTURE as FUTURE, NODE_STATE_IDLE as IDLE,
                            NODE_STATE_INVALID_REG as INVALID_REG, NODE_STATE_MAINT as MAINT,
                            NODE_STATE_MIXED as MIXED, NODE_STATE_NO_RESPOND as NO_RESPOND,
                            NODE_STATE_PLANNED as PLANNED, NODE_STATE_POWER_DOWN as POWER_DOWN,
                            NODE_STATE_POWER_UP as POWER_UP,
                            NODE_STATE_POWERED_DOWN as POWERED_DOWN,
                            NODE_STATE_POWERING_DOWN as POWERING_DOWN,
                            NODE_STATE_POWERING_UP as POWERING_UP,
                            NODE_STATE_REBOOT_ISSUED as REBOOT_ISSUED,
                            NODE_STATE_REBOOT_REQUESTED as REBOOT_REQUESTED,
                            NODE_STATE_RES as RES, NODE_STATE_UNKNOWN as UNKNOWN)

ERROR = _st.NODE_STATE_ERROR

_BASE_NAMES = {DOWN: "DOWN", IDLE: "IDLE", ALLOCATED: "ALLOCATED", ERROR: "ERROR",
               MIXED: "MIXED", FUTURE: "FUTURE", UNKNOWN: "UNKNOWN"}
#: node_state_flags[] in Slurm's order (scontrol's `State=IDLE+CLOUD+POWERED_DOWN`)
_FLAG_NAMES = ((BLOCKED, "BLOCKED"), (CLOUD, "CLOUD"), (COMPLETING, "COMPLETING"),
               (DRAIN, "DRAIN"), (DYNAMIC_FUTURE, "DYNAMIC_FUTURE"),
               (DYNAMIC_NORM, "DYNAMIC_NORM"), (EXTERNAL, "EXTERNAL"),
               (INVALID_REG, "INVALID_REG"), (FAIL, "FAIL"), (MAINT, "MAINTENANCE"),
               (POWER_DOWN, "POWER_DOWN"), (POWER_UP, "POWER_UP"),
               (POWERED_DOWN, "POWERED_DOWN"), (REBOOT_REQUESTED, "REBOOT_REQUESTED"),
               (REBOOT_ISSUED, "REBOOT_ISSUED"), (RES, "RESERVED"), (RESUME, "RESUME"),
               (NO_RESPOND, "NOT_RESPONDING"), (PLANNED, "PLANNED"),
               (POWERING_UP, "POWERING_UP"), (POWERING_DOWN, "POWERING_DOWN"))

#: NodeStatus.state word -> (base, flag bits)
_STATE_WORDS = {
    "unknown": (UNKNOWN, 0), "unk": (UNKNOWN, 0),
    "down": (DOWN, 0),
    "idle": (IDLE, 0),
    "allocated": (ALLOCATED, 0), "alloc": (ALLOCATED, 0),
    "mixed": (MIXED, 0), "mix": (MIXED, 0),
    "future": (FUTURE, 0), "futr": (FUTURE, 0),
    "drained": (IDLE, DRAIN), "drain": (IDLE, DRAIN),
    "draining": (ALLOCATED, DRAIN), "drng": (ALLOCATED, DRAIN),
    "completing": (IDLE, COMPLETING), "comp": (IDLE, COMPLETING),
    "fail": (IDLE, FAIL), "failing": (ALLOCATED, FAIL), "failg": (ALLOCATED, FAIL),
    "maint": (IDLE, MAINT),
    "reserved": (IDLE, RES), "resv": (IDLE, RES),
    "planned": (IDLE, PLANNED), "plnd": (IDLE, PLANNED),
    "blocked": (IDLE, BLOCKED), "block": (IDLE, BLOCKED),
    "inval": (IDLE, INVALID_REG),
    "reboot": (IDLE, REBOOT_REQUESTED), "boot": (IDLE, REBOOT_REQUESTED),
    "cloud": (IDLE, CLOUD | POWERED_DOWN),
    "powered_down": (IDLE, CLOUD | POWERED_DOWN), "powered_dn": (IDLE, CLOUD | POWERED_DOWN),
    "powering_up": (IDLE, CLOUD | POWERING_UP), "pow_up": (IDLE, CLOUD | POWERING_UP),
    "powering_down": (IDLE, CLOUD | POWERING_DOWN), "powring_dn": (IDLE, CLOUD | POWERING_DOWN),
    "power_down": (IDLE, POWER_DOWN), "pow_dn": (IDLE, POWER_DOWN),
}
#: NodeStatus.flags characters (sinfo's suffixes) -> state bits
_SUFFIX_FLAGS = {"~": CLOUD | POWERED_DOWN, "#": CLOUD | POWERING_UP, "%": CLOUD | POWERING_DOWN,
                 "!": POWER_DOWN, "*": NO_RESPOND, "$": MAINT, "@": REBOOT_REQUESTED,
                 "^": REBOOT_ISSUED, "-": PLANNED}


def node_state_code(node: NodeStatus) -> int:
    """Slurm's uint32 node_state for a NodeStatus (base | flags)."""
    word = (node.state or "unknown").strip().lower()
    flags = 0
    # tolerate "idle~" / "IDLE+CLOUD+POWERED_DOWN" spellings too
    while word and word[-1] in _SUFFIX_FLAGS:
        flags |= _SUFFIX_FLAGS[word[-1]]
        word = word[:-1]
    parts = word.split("+")
    base, extra = _STATE_WORDS.get(parts[0], (UNKNOWN, 0))
    flags |= extra
    for p in parts[1:]:
        for bit, name in _FLAG_NAMES:
            if name.lower() == p:
                flags |= bit
    for ch in node.flags or "":
        flags |= _SUFFIX_FLAGS.get(ch, 0)
    return base | flags


def state_long(code: int) -> str:
    """node_state_string (sinfo %T, upper case)."""
    return _st.node_state_string(code)


def state_compact(code: int) -> str:
    """node_state_string_compact (sinfo %t, upper case)."""
    return _st.node_state_compact(code)


def state_complete(code: int) -> str:
    """node_state_string_complete: BASE[+FLAG...] (scontrol show node `State=`)."""
    text = _BASE_NAMES.get(code & BASE_MASK, "INVALID")
    for bit, name in _FLAG_NAMES:
        if code & bit:
            text += "+" + name
    return text


def node_state_complete(node: NodeStatus) -> str:
    return state_complete(node_state_code(node))


# --------------------------------------------------------------------------- -t state filters

#: `sinfo --helpstate` / the "valid states" list of an unknown -t word
VALID_STATES = _st.SINFO_VALID_STATES_TEXT


def parse_state_filter(text: str) -> "_st.NodeStateFilter | None":
    """Parse a -t/--states value (slurm.states.parse_node_state_list): None for `all`;
    ValueError(word) for an unknown state (sinfo prints `Bad state string: "X"` and the valid
    list)."""
    return _st.parse_node_state_list(text)


# --------------------------------------------------------------------------- options

@dataclass
class SinfoOptions:
    """What the command line asked for (already parsed; see cli/sinfo.py)."""

    format: str | None = None            # -o (or SINFO_FORMAT)
    long_format: str | None = None       # -O
    long: bool = False                   # -l
    node: bool = False                   # -N
    summarize: bool = False              # -s
    list_reasons: bool = False           # -R
    no_header: bool = False              # -h
    exact: bool = False                  # -e
    partitions: list[str] | None = None  # -p (None = all)
    states: Any = None                   # -t: slurm.states.NodeStateFilter (None = all)
    nodes: list[str] | None = None       # -n (expanded)
    dead: bool = False                   # -d
    responding: bool = False             # -r
    sort: str | None = None              # -S
    all_partitions: bool = False         # -a (hidden partitions: we have none)


# --------------------------------------------------------------------------- the table model

@dataclass
class _Node:
    """One node as sinfo groups and prints it."""

    name: str
    state: int
    cpus: int
    alloc_cpus: int
    sockets: int
    cores: int
    threads: int
    tmp_disk: int
    real_memory: int
    alloc_memory: int
    free_mem: int | None
    cpu_load: int | None           # hundredths, like Slurm
    weight: int
    features: str
    features_act: str
    gres: str
    gres_used: str
    reason: str | None
    reason_time: float | None
    reason_uid: int | None
    reason_user: str | None
    addr: str
    hostname: str
    version: str
    port: int
    comment: str | None = None
    extra: str | None = None


def _node_from_status(n: NodeStatus) -> _Node:
    sockets = getattr(n, "sockets", None) or 1
    threads = getattr(n, "threads_per_core", None) or 1
    cores = getattr(n, "cores_per_socket", None) or max(1, n.cpus_total // (sockets * threads))
    load = None if n.cpu_load is None else int(round(n.cpu_load * 100))
    state = node_state_code(n)
    # slurm reports MIXED for a node with some but not all CPUs allocated
    base = state & BASE_MASK
    if base in (IDLE, ALLOCATED) and 0 < n.cpus_alloc < n.cpus_total and not state & DRAIN:
        state = (state & ~BASE_MASK) | MIXED
    return _Node(
        name=n.name, state=state, cpus=n.cpus_total, alloc_cpus=n.cpus_alloc, sockets=sockets,
        cores=cores, threads=threads, tmp_disk=getattr(n, "tmp_disk", 0) or 0,
        real_memory=n.mem_total, alloc_memory=n.mem_alloc, free_mem=n.mem_free, cpu_load=load,
        weight=n.weight, features=n.features or "(null)", features_act=n.features or "(null)",
        gres=n.gres or "(null)", gres_used=n.gres_used or "",
        reason=n.reason, reason_time=getattr(n, "reason_time", None),
        reason_uid=getattr(n, "reason_uid", None), reason_user=getattr(n, "reason_user", None),
        addr=n.addr or n.name, hostname=n.hostname or n.name,
        version=getattr(n, "version", None) or SLURM_VERSION, port=SLURMD_PORT)


def _synth_node(name: str, part: Partition) -> _Node:
    return _node_from_status(NodeStatus(name=name, partitions=(part.name,), state="idle",
                                        cpus_total=part.cpus_per_node,
                                        mem_total=part.mem_per_node))


@dataclass
class Entry:
    """One output line (Slurm's sinfo_data_t)."""

    part: Partition | None
    part_inx: int
    default: bool = False
    nodes: list[str] = field(default_factory=list)
    addrs: list[str] = field(default_factory=list)
    hostnames: list[str] = field(default_factory=list)
    node_state: int = 0
    first: _Node | None = None
    min_cpus: int = 0
    max_cpus: int = 0
    min_sockets: int = 0
    max_sockets: int = 0
    min_cores: int = 0
    max_cores: int = 0
    min_threads: int = 0
    max_threads: int = 0
    min_disk: int = 0
    max_disk: int = 0
    min_mem: int = 0
    max_mem: int = 0
    min_weight: int = 0
    max_weight: int = 0
    min_cpu_load: int | None = None
    max_cpu_load: int | None = None
    min_free_mem: int | None = None
    max_free_mem: int | None = None
    alloc_memory: int = 0
    nodes_alloc: int = 0
    nodes_idle: int = 0
    nodes_other: int = 0
    nodes_total: int = 0
    cpus_alloc: int = 0
    cpus_idle: int = 0
    cpus_other: int = 0
    cpus_total: int = 0

    def add(self, n: _Node, flags: set[str]) -> None:
        """_update_sinfo."""
        if self.nodes_total == 0:
            self.first = n
            self.node_state = n.state
            self.min_cpus = self.max_cpus = n.cpus
            self.min_sockets = self.max_sockets = n.sockets
            self.min_cores = self.max_cores = n.cores
            self.min_threads = self.max_threads = n.threads
            self.min_disk = self.max_disk = n.tmp_disk
            self.min_mem = self.max_mem = n.real_memory
            self.min_weight = self.max_weight = n.weight
            self.min_cpu_load = self.max_cpu_load = n.cpu_load
            self.min_free_mem = self.max_free_mem = n.free_mem
        elif n.name in self.nodes:
            return
        else:
            self.min_cpus, self.max_cpus = min(self.min_cpus, n.cpus), max(self.max_cpus, n.cpus)
            self.min_sockets = min(self.min_sockets, n.sockets)
            self.max_sockets = max(self.max_sockets, n.sockets)
            self.min_cores, self.max_cores = min(self.min_cores, n.cores), max(self.max_cores, n.cores)
            self.min_threads = min(self.min_threads, n.threads)
            self.max_threads = max(self.max_threads, n.threads)
            self.min_disk, self.max_disk = min(self.min_disk, n.tmp_disk), max(self.max_disk, n.tmp_disk)
            self.min_mem = min(self.min_mem, n.real_memory)
            self.max_mem = max(self.max_mem, n.real_memory)
            self.min_weight, self.max_weight = min(self.min_weight, n.weight), max(self.max_weight, n.weight)
            self.min_cpu_load = _min_opt(self.min_cpu_load, n.cpu_load)
            self.max_cpu_load = _max_opt(self.max_cpu_load, n.cpu_load)
            self.min_free_mem = _min_opt(self.min_free_mem, n.free_mem)
            self.max_free_mem = _max_opt(self.max_free_mem, n.free_mem)
        self.nodes.append(n.name)
        if "node_addr" in flags and n.addr not in self.addrs:
            self.addrs.append(n.addr)
        if "hostnames" in flags and n.hostname not in self.hostnames:
            self.hostnames.append(n.hostname)
        base = n.state & BASE_MASK
        if base in (ALLOCATED, MIXED) or n.state & COMPLETING:
            self.nodes_alloc += 1
        elif n.state & DRAIN or base == DOWN:
            self.nodes_other += 1
        else:
            self.nodes_idle += 1
        self.nodes_total += 1
        self.cpus_alloc += n.alloc_cpus
        self.cpus_total += n.cpus
        self.alloc_memory = n.alloc_memory
        rest = n.cpus - n.alloc_cpus
        if n.state & DRAIN or base == DOWN:
            self.cpus_other += rest
        else:
            self.cpus_idle += rest


def _min_opt(a: int | None, b: int | None) -> int | None:
    # Slurm keeps NO_VAL (a huge number) for unknowns, so an unknown never wins a min
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def _max_opt(a: int | None, b: int | None) -> int | None:
    # ... but always wins a max
    if a is None or b is None:
        return None
    return max(a, b)


# --------------------------------------------------------------------------- field table

def _num_unit(n: int) -> str:
    """convert_num_unit(UNIT_NONE, CONVERT_NUM_UNIT_EXACT): 1024 -> 1K only when exact."""
    units = "KMGTP"
    i = -1
    while n >= 1024 and n % 1024 == 0 and i < len(units) - 1:
        n //= 1024
        i += 1
    return f"{n}{units[i]}" if i >= 0 else f"{n}"


def _min_max(lo: int, hi: int, *, range_: bool, suffix: bool) -> str:
    a = _num_unit(lo) if suffix else str(lo)
    b = _num_unit(hi) if suffix else str(hi)
    if lo == hi:
        return b
    if range_:
        return f"{a}-infinite" if hi == INFINITE else f"{a}-{b}"
    return f"{a}+"


def _opt_min_max(lo: int | None, hi: int | None, fmt: Callable[[int], str], *, range_: bool) -> str:
    a = "N/A" if lo is None else fmt(lo)
    b = "N/A" if hi is None else fmt(hi)
    if lo == hi:
        return b
    if range_:
        return f"{a}-{b}"
    return f"{a}+"


def _secs(total: int) -> str:
    """sinfo's _print_secs: D-HH:MM:SS, H:MM:SS or M:SS."""
    days, rem = divmod(total, 86400)
    hours, rem = divmod(rem, 3600)
    minutes, seconds = divmod(rem, 60)
    if days:
        return f"{days}-{hours:02d}:{minutes:02d}:{seconds:02d}"
    if hours:
        return f"{hours}:{minutes:02d}:{seconds:02d}"
    return f"{minutes}:{seconds:02d}"


def _time_text(minutes: int | None, none_text: str) -> str:
    if minutes is None:
        return none_text
    if minutes == INFINITE or minutes < 0:
        return "infinite"
    return _secs(minutes * 60)


def _avail(e: Entry) -> str:
    if e.part is None:
        return "n/a"
    st = (e.part.state or "UP").upper()
    return {"UP": "up", "DOWN": "down", "DRAIN": "drain", "INACTIVE": "inactive"}.get(st, "unknown")


def _partition_text(e: Entry, width: int) -> str:
    if e.part is None:
        return "n/a"
    name = e.part.name
    if e.default:
        if len(name) < width or width == 0:
            name += "*"
        elif width > 0:
            name = name[:width - 1] + "*"
    return name


def _state_text(e: Entry, fn: Callable[[int], str]) -> str:
    if not e.nodes_total:
        return "n/a"
    return fn(e.node_state).lower()


def _user(e: Entry, long: bool) -> str:
    n = e.first
    if n is None or n.reason_uid is None:
        return "Unknown"
    name = n.reason_user or f"Unk"
    if long:
        return f"{name}({n.reason_uid})"
    return name if n.reason_user else f"Unk({n.reason_uid})"


@dataclass(frozen=True)
class Field:
    """One sinfo field: its -O name, -o letter, header and printer."""

    name: str                      # -O name
    letter: str | None             # -o letter
    header: str
    value: Callable[[Entry, "Ctx", int], str]
    flags: frozenset[str] = frozenset()
    header_cut: bool = True
    node_width: bool = False       # width replaced by the widest node list (-N / presets)
    part_width: bool = False       # width replaced by the widest partition name (presets)


@dataclass
class Ctx:
    """What field printers need besides the row."""

    cluster: str = "N/A"


def _f(name: str, letter: str | None, header: str, value: Callable[..., str],
       flags: Iterable[str] = (), **kw: Any) -> Field:
    return Field(name, letter, header, value, frozenset(flags), **kw)


_n = lambda e, attr: getattr(e.first, attr) if e.first is not None else None  # noqa: E731

FIELDS: tuple[Field, ...] = (
    _f("AllocMem", None, "ALLOCMEM", lambda e, c, w: str(e.alloc_memory), ("alloc_mem",)),
    _f("AllocNodes", "S", "ALLOCNODES", lambda e, c, w: "n/a" if e.part is None else "all"),
    _f("Available", "a", "AVAIL", lambda e, c, w: _avail(e), ("avail",)),
    _f("Cluster", "V", "CLUSTER", lambda e, c, w: c.cluster),
    _f("Comment", None, "COMMENT", lambda e, c, w: _n(e, "comment") or "(null)", ("comment",)),
    _f("Cores", "Y", "CORES",
       lambda e, c, w: _min_max(e.min_cores, e.max_cores, range_=False, suffix=True), ("cores",)),
    _f("CPUs", "c", "CPUS",
       lambda e, c, w: _min_max(e.min_cpus, e.max_cpus, range_=False, suffix=True), ("cpus",)),
    _f("CPUsLoad", "O", "CPU_LOAD",
       lambda e, c, w: _opt_min_max(e.min_cpu_load, e.max_cpu_load, lambda v: f"{v / 100:.2f}",
                                    range_=True), ("cpu_load",)),
    _f("CPUsState", "C", "CPUS(A/I/O/T)",
       lambda e, c, w: f"{e.cpus_alloc}/{e.cpus_idle}/{e.cpus_other}/{e.cpus_total}", ("cpus",)),
    _f("DefaultTime", "L", "DEFAULTTIME",
       lambda e, c, w: "n/a" if e.part is None else _time_text(e.part.default_time, "n/a"),
       ("default_time",)),
    _f("Disk", "d", "TMP_DISK",
       lambda e, c, w: _min_max(e.min_disk, e.max_disk, range_=False, suffix=False), ("disk",)),
    _f("Extra", None, "EXTRA", lambda e, c, w: _n(e, "extra") or "(null)", ("extra",)),
    _f("Features", "f", "AVAIL_FEATURES", lambda e, c, w: _n(e, "features") or "(null)",
       ("features",)),
    _f("features_act", "b", "ACTIVE_FEATURES", lambda e, c, w: _n(e, "features_act") or "(null)",
       ("features_act",)),
    _f("FreeMem", "e", "FREE_MEM",
       lambda e, c, w: _opt_min_max(e.min_free_mem, e.max_free_mem, str, range_=True),
       ("free_mem",)),
    _f("Gres", "G", "GRES", lambda e, c, w: _n(e, "gres") or "(null)", ("gres",)),
    _f("GresUsed", None, "GRES_USED", lambda e, c, w: _n(e, "gres_used") or "", ("gres_used",)),
    _f("Groups", "g", "GROUPS", lambda e, c, w: "n/a" if e.part is None else "all", ("groups",)),
    _f("MaxCPUsPerNode", "B", "MAX_CPUS_PER_NODE", lambda e, c, w: "UNLIMITED",
       ("max_cpus_per_node",)),
    _f("Memory", "m", "MEMORY",
       lambda e, c, w: _opt_min_max(e.min_mem, e.max_mem, str, range_=False), ("memory",)),
    _f("NodeAddr", "o", "NODE_ADDR", lambda e, c, w: _compress(e.addrs), ("node_addr",),
       header_cut=False),
    _f("NodeAI", "A", "NODES(A/I)", lambda e, c, w: f"{e.nodes_alloc}/{e.nodes_idle}"),
    _f("NodeAIOT", "F", "NODES(A/I/O/T)",
       lambda e, c, w: f"{e.nodes_alloc}/{e.nodes_idle}/{e.nodes_other}/{e.nodes_total}"),
    _f("NodeHost", "n", "HOSTNAMES", lambda e, c, w: _compress(e.hostnames), ("hostnames",),
       header_cut=False, node_width=True),
    _f("NodeList", "N", "NODELIST", lambda e, c, w: _compress(e.nodes, sort=True),
       header_cut=False, node_width=True),
    _f("Nodes", "D", "NODES", lambda e, c, w: str(e.nodes_total)),
    _f("OverSubscribe", "h", "OVERSUBSCRIBE", lambda e, c, w: "NO", ("oversubscribe",)),
    _f("Partition", "P", "PARTITION", lambda e, c, w: _partition_text(e, w), ("partition",),
       part_width=True),
    _f("PartitionName", "R", "PARTITION",
       lambda e, c, w: "n/a" if e.part is None else e.part.name, ("partition",), part_width=True),
    _f("Port", None, "PORT", lambda e, c, w: str(SLURMD_PORT), ("port",)),
    _f("PreemptMode", "M", "PREEMPT_MODE", lambda e, c, w: "OFF", ("preempt_mode",)),
    _f("PriorityJobFactor", "I", "PRIO_JOB_FACTOR", lambda e, c, w: "1",
       ("priority_job_factor",)),
    _f("PriorityTier", "p", "PRIO_TIER", lambda e, c, w: "1", ("priority_tier",)),
    _f("Reason", "E", "REASON",
       lambda e, c, w: (lambda r: "none" if (not r or r.startswith("(null)")) else r)(_n(e, "reason")),
       ("reason",)),
    _f("Reservation", "i", "RESERVATION", lambda e, c, w: "", ("resv_name",)),
    _f("Root", "r", "ROOT", lambda e, c, w: "n/a" if e.part is None else "no", ("root",)),
    _f("Size", "s", "JOB_SIZE", lambda e, c, w: "n/a" if e.part is None else "1-infinite",
       ("job_size",)),
    _f("Sockets", "X", "SOCKETS",
       lambda e, c, w: _min_max(e.min_sockets, e.max_sockets, range_=False, suffix=True),
       ("sockets",)),
    _f("SocketCoreThread", "z", "S:C:T",
       lambda e, c, w: ":".join(_min_max(a, b, range_=False, suffix=True) for a, b in (
           (e.min_sockets, e.max_sockets), (e.min_cores, e.max_cores),
           (e.min_threads, e.max_threads))), ("sct",)),
    _f("StateCompact", "t", "STATE", lambda e, c, w: _state_text(e, state_compact), ("state",)),
    _f("StateComplete", None, "STATECOMPLETE", lambda e, c, w: _state_text(e, state_complete),
       ("state_complete",)),
    _f("StateLong", "T", "STATE", lambda e, c, w: _state_text(e, state_long), ("state",)),
    _f("Threads", "Z", "THREADS",
       lambda e, c, w: _min_max(e.min_threads, e.max_threads, range_=False, suffix=True),
       ("threads",)),
    _f("Time", "l", "TIMELIMIT",
       lambda e, c, w: "n/a" if e.part is None else _time_text(e.part.max_time, "infinite"),
       ("max_time",)),
    _f("TimeStamp", "H", "TIMESTAMP",
       lambda e, c, w: _ts(_n(e, "reason_time")) if _n(e, "reason_time") else "Unknown",
       ("reason_timestamp",)),
    _f("User", "u", "USER", lambda e, c, w: _user(e, False), ("reason_user",)),
    _f("UserLong", "U", "USER", lambda e, c, w: _user(e, True), ("reason_user",)),
    _f("Version", "v", "VERSION", lambda e, c, w: _n(e, "version") or "N/A", ("version",)),
    _f("Weight", "w", "WEIGHT",
       lambda e, c, w: _min_max(e.min_weight, e.max_weight, range_=False, suffix=False),
       ("weight",)),
)

#: "Share" is a hidden alias of OverSubscribe; letters resolve to the first entry
_BY_NAME = {f.name.lower(): f for f in FIELDS}
_BY_NAME["share"] = _BY_NAME["oversubscribe"]
_BY_LETTER: dict[str, Field] = {}
for _fld in FIELDS:
    if _fld.letter and _fld.letter not in _BY_LETTER:
        _BY_LETTER[_fld.letter] = _fld


def _ts(ts: float | None) -> str:
    from ..slurm import timespec
    return timespec.format_timestamp(ts, unknown="Unknown")


def _compress(names: Sequence[str], sort: bool = False) -> str:
    if not names:
        return ""
    from ..slurm import hostlist
    return hostlist.compress(list(names), sort=sort)


# --------------------------------------------------------------------------- presets

PRESET_DEFAULT = "partition:9 ,available:.5 ,time:.10 ,nodes:.6 ,statecompact:.6 ,nodelist:0"
PRESET_LONG = ("partition:9 ,available:.5 ,time:.10 ,size:.10 ,root:.4 ,oversubscribe:.8 "
               ",groups:.10 ,nodes:.6 ,statelong:.11 ,reservation:.11 ,nodelist:0")
PRESET_SUMMARIZE = "partition:9 ,available:.5 ,time:.10 ,nodeaiot:.16 ,nodelist:0"
PRESET_NODE = "nodelist:0 ,nodes:.6 ,partition:.9 ,statecompact:6"
PRESET_NODE_LONG = ("nodelist:0 ,nodes:.6 ,partition:.9 ,statelong:.11 ,cpus:4 "
                    ",socketcorethread:.8 ,memory:.6 ,disk:.8 ,weight:.6 ,features:.8 ,reason:20")
PRESET_REASONS = "reason:20 ,user:9 ,timestamp:19 ,nodelist:0"
PRESET_REASONS_LONG = "reason:20 ,userlong:12 ,timestamp:19 ,statecompact:6 ,nodelist:0"


@dataclass
class Column:
    """One item of a parsed format: a field, or literal text (`suffix`)."""

    field: Field | None              # None: prefix / invalid item (prints `suffix` only)
    width: int = 0
    right: bool = False
    suffix: str = ""


@dataclass
class Layout:
    """A parsed sinfo format: its columns and the grouping flags they imply."""

    columns: list[Column]
    flags: set[str]
    node_field_flag: bool = False
    part_field_flag: bool = False
    errors: list[str] = field(default_factory=list)   # stderr lines


def build_layout(opts: SinfoOptions, prog: str = "sinfo") -> Layout:
    """Resolve the format (preset, -o, -O) into columns; unknown items print Slurm's errors."""
    node_ff = part_ff = False
    fmt = opts.format
    long_form = False
    if opts.long_format is not None:
        fmt, long_form = opts.long_format, True
    if fmt is None:
        long_form = True
        if opts.summarize:
            fmt, part_ff = PRESET_SUMMARIZE, True
        elif opts.node:
            fmt = PRESET_NODE_LONG if opts.long else PRESET_NODE
            node_ff = part_ff = True
        elif opts.list_reasons:
            fmt = PRESET_REASONS_LONG if opts.long else PRESET_REASONS
        else:
            fmt = PRESET_LONG if opts.long else PRESET_DEFAULT
            part_ff = True
    errors: list[str] = []
    cols: list[Column] = []
    if long_form:
        tokens, _bad = parse_long_format(fmt, lambda n: n.lower() in _BY_NAME)
        for t in tokens:
            if t.valid:
                cols.append(Column(_BY_NAME[t.key.lower()], t.width, t.right, t.suffix))
            else:
                cols.append(Column(None, t.width, t.right, t.suffix))
                errors.append(f"{prog}: error: Invalid job format specification: {t.key}")
    else:
        if fmt.lower() == "%all":
            letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
            fmt = "%" + "|%".join(letters) + "".join(f"|%{chr(c)} " for c in range(ord("A"), ord("Z") + 1))
            tokens, _bad = parse_percent_format(fmt, lambda c: c in _BY_LETTER)
            tokens = [t for t in tokens if t.valid or t.key is None]
        else:
            tokens, _bad = parse_percent_format(fmt, lambda c: c in _BY_LETTER)
        for t in tokens:
            if t.key is None:
                cols.append(Column(None, 0, False, t.suffix))
            elif t.valid:
                cols.append(Column(_BY_LETTER[t.key], t.width, t.right, t.suffix))
            else:
                cols.append(Column(None, t.width, t.right, t.suffix))
                errors.append(f"Invalid node format specification: {t.key}")
    flags: set[str] = set()
    for c in cols:
        if c.field is not None:
            flags |= c.field.flags
    return Layout(cols, flags, node_ff, part_ff, errors)


# --------------------------------------------------------------------------- building entries

def _match_part(e: Entry, part: Partition, flags: set[str], list_reasons: bool) -> bool:
    if list_reasons:
        return True
    if e.part is part:
        return True
    if e.part is None:
        return False
    if "partition" in flags and e.part.name != part.name:
        return False
    if "avail" in flags and (e.part.state or "UP").upper() != (part.state or "UP").upper():
        return False
    if "default_time" in flags and e.part.default_time != part.default_time:
        return False
    if "max_time" in flags and e.part.max_time != part.max_time:
        return False
    return True


def _match_node(e: Entry, n: _Node, flags: set[str], opts: SinfoOptions) -> bool:
    if opts.node:
        return False
    f = e.first
    assert f is not None
    if "hostnames" in flags and n.hostname not in e.hostnames:
        return False
    if "node_addr" in flags and n.addr not in e.addrs:
        return False
    for flag, attr in (("extra", "extra"), ("features", "features"),
                       ("features_act", "features_act"), ("gres", "gres"),
                       ("gres_used", "gres_used"), ("comment", "comment"), ("reason", "reason"),
                       ("reason_timestamp", "reason_time"), ("reason_user", "reason_uid")):
        if flag in flags and getattr(n, attr) != getattr(f, attr):
            return False
    if "state" in flags and state_long(n.state) != state_long(e.node_state):
        return False
    if "state_complete" in flags and state_complete(n.state) != state_complete(e.node_state):
        return False
    if "alloc_mem" in flags and n.alloc_memory != e.alloc_memory:
        return False
    if not opts.exact:
        return True
    checks = (("cpus", n.cpus, e.min_cpus), ("sockets", n.sockets, e.min_sockets),
              ("cores", n.cores, e.min_cores), ("threads", n.threads, e.min_threads),
              ("disk", n.tmp_disk, e.min_disk), ("memory", n.real_memory, e.min_mem),
              ("weight", n.weight, e.min_weight), ("cpu_load", n.cpu_load, e.min_cpu_load),
              ("free_mem", n.free_mem, e.min_free_mem))
    for flag, a, b in checks:
        if flag in flags and a != b:
            return False
    if "sct" in flags and (n.sockets, n.cores, n.threads) != (e.min_sockets, e.min_cores,
                                                              e.min_threads):
        return False
    return True


def _filtered_out(n: _Node, opts: SinfoOptions, states: Any) -> bool:
    """sinfo's _filter_out."""
    if opts.nodes is not None and n.name not in opts.nodes:
        return True
    if opts.dead and not n.state & NO_RESPOND:
        return True
    if opts.responding and n.state & NO_RESPOND:
        return True
    if states is not None and not _st.node_state_matches(states, n.state, n.alloc_cpus):
        return True
    return False


def build_entries(partitions: Sequence[Partition], statuses: Sequence[NodeStatus],
                  opts: SinfoOptions, layout: Layout, *,
                  default_partition: str | None = None) -> list[Entry]:
    """sinfo's _build_sinfo_data + sort_sinfo_list."""
    by_name = {s.name: s for s in statuses}
    cache: dict[str, _Node] = {}
    states = opts.states
    if opts.list_reasons and states is None:
        states = parse_state_filter("down,fail,drain")
    filtering = bool(opts.dead or opts.nodes is not None or opts.partitions is not None
                     or opts.responding or states is not None)
    part_list = opts.partitions
    entries: list[Entry] = []

    def is_default(p: Partition) -> bool:
        return p.name == default_partition if default_partition else p.default

    if not opts.node and "partition" in layout.flags:
        for j, p in enumerate(partitions):
            if part_list is None or p.name in part_list:
                entries.append(Entry(p, j, is_default(p)))

    for j, p in enumerate(partitions):
        if filtering and part_list is not None and p.name not in part_list:
            continue
        for name in p.node_names:
            node = cache.get(name)
            if node is None:
                st = by_name.get(name)
                node = _node_from_status(st) if st is not None else _synth_node(name, p)
                cache[name] = node
            if filtering and _filtered_out(node, opts, states):
                continue
            for e in entries:
                if not _match_part(e, p, layout.flags, opts.list_reasons):
                    continue
                if e.nodes_total and not _match_node(e, node, layout.flags, opts):
                    continue
                e.add(node, layout.flags)
                break
            else:
                e = Entry(p, j, is_default(p))
                e.add(node, layout.flags)
                entries.append(e)
    _sort(entries, opts)
    return entries


def _host_key(name: str) -> tuple:
    i = len(name)
    while i > 0 and name[i - 1].isdigit():
        i -= 1
    num = int(name[i:]) if i < len(name) else -1
    return (name[:i], num, name)


def _sort(entries: list[Entry], opts: SinfoOptions) -> None:
    spec = opts.sort or ("N" if opts.node else "#P,-t")
    keys: dict[str, Callable[[Entry], Any]] = {
        "a": lambda e: _avail(e),
        "A": lambda e: e.nodes_alloc, "F": lambda e: e.nodes_alloc,
        "c": lambda e: e.min_cpus, "d": lambda e: e.min_disk, "D": lambda e: e.nodes_total,
        "E": lambda e: (_n(e, "reason") or ""), "f": lambda e: (_n(e, "features") or ""),
        "l": lambda e: -2 if e.part is None else (1 << 40 if e.part.max_time in (None, INFINITE)
                                                  else e.part.max_time),
        "m": lambda e: e.min_mem, "w": lambda e: e.min_weight,
        "N": lambda e: _host_key(sorted(e.nodes, key=_host_key)[0]) if e.nodes else ("", -1, ""),
        "t": lambda e: e.node_state, "T": lambda e: e.node_state,
        "O": lambda e: e.min_cpu_load or 0, "e": lambda e: e.min_free_mem or 0,
        "X": lambda e: e.min_sockets, "Y": lambda e: e.min_cores, "Z": lambda e: e.min_threads,
    }
    for i in range(len(spec) - 1, -1, -1):
        ch = spec[i]
        if ch in ",#+-":
            continue
        reverse = i > 0 and spec[i - 1] == "-"
        part_order = i > 0 and spec[i - 1] == "#"
        if ch in "PR":
            if part_order:
                key: Callable[[Entry], Any] = lambda e: e.part_inx
            else:
                key = lambda e: "" if e.part is None else e.part.name
        elif ch in keys:
            key = keys[ch]
        else:
            continue
        entries.sort(key=key, reverse=reverse)


# --------------------------------------------------------------------------- rendering

def print_date(now: float) -> str:
    """print_date(): `Sun Nov 22 10:37:59 2026` (strftime "%a %b %d %T %Y")."""
    return _time.strftime("%a %b %d %H:%M:%S %Y", _time.localtime(now)) + "\n"


def render(partitions: Sequence[Partition], statuses: Sequence[NodeStatus],
           opts: SinfoOptions, *, now: float, default_partition: str | None = None,
           cluster: str = "N/A", prog: str = "sinfo") -> tuple[str, str]:
    """The whole sinfo output: (stdout, stderr)."""
    layout = build_layout(opts, prog)
    entries = build_entries(partitions, statuses, opts, layout,
                            default_partition=default_partition)
    ctx = Ctx(cluster=cluster)
    node_w = part_w = 0
    if layout.node_field_flag:
        node_w = max([9] + [len(_compress(e.nodes, sort=True)) for e in entries])
    if layout.part_field_flag:
        part_w = max([9] + [len(e.part.name) + (1 if e.default else 0)
                            for e in entries if e.part is not None])
    out: list[str] = []
    if opts.long and not opts.no_header:
        out.append(print_date(now))
    if not opts.no_header:
        out.append(_line(None, layout, ctx, node_w, part_w))
    for e in entries:
        out.append(_line(e, layout, ctx, node_w, part_w))
    err = "".join(line + "\n" for line in layout.errors)
    return "".join(out), err


def _line(e: Entry | None, layout: Layout, ctx: Ctx, node_w: int, part_w: int) -> str:
    parts = []
    for col in layout.columns:
        f = col.field
        if f is None:
            parts.append(col.suffix)
            continue
        width = col.width
        if layout.node_field_flag and f.node_width:
            width = node_w
        if layout.part_field_flag and f.part_width:
            width = part_w
        if e is None:
            parts.append(fit(f.header, width, col.right, f.header_cut))
        else:
            parts.append(fit(f.value(e, ctx, width), width, col.right, True))
        parts.append(col.suffix)
    return "".join(parts) + "\n"


# --------------------------------------------------------------------------- --json

def _num(number: int | None, *, infinite: bool = False, set_: bool | None = None) -> dict:
    if infinite:
        return {"set": False, "infinite": True, "number": 0}
    if number is None:
        return {"set": False, "infinite": False, "number": 0}
    return {"set": True if set_ is None else set_, "infinite": False, "number": number}


def _json_entry(e: Entry, cluster_def_mem_per_cpu: int | None) -> dict:
    from .scontrol import partition_tres
    p = e.part
    n = e.first
    states = [_BASE_NAMES.get(e.node_state & BASE_MASK, "INVALID")]
    states += [name for bit, name in _FLAG_NAMES if e.node_state & bit]
    part_def = p.def_mem_per_cpu if (p is not None and p.def_mem_per_cpu
                                     and p.def_mem_per_cpu != cluster_def_mem_per_cpu) else None
    max_time = None if p is None else p.max_time
    def_time = None if p is None else p.default_time
    entry = {
        "port": SLURMD_PORT,
        "node": {"state": states if e.nodes_total else []},
        "nodes": {"allocated": e.nodes_alloc, "idle": e.nodes_idle, "other": e.nodes_other,
                  "total": e.nodes_total, "hostnames": [], "addresses": [],
                  "nodes": list(_expand_sorted(e.nodes))},
        "cpus": {"allocated": e.cpus_alloc, "idle": e.cpus_idle, "other": e.cpus_other,
                 "total": e.cpus_total, "minimum": e.min_cpus, "maximum": e.max_cpus,
                 "load": {"minimum": e.min_cpu_load or 0, "maximum": e.max_cpu_load or 0},
                 "per_node": {"max": _num(None, infinite=True)}},
        "sockets": {"minimum": e.min_sockets, "maximum": e.max_sockets},
        "cores": {"minimum": e.min_cores, "maximum": e.max_cores},
        "threads": {"minimum": e.min_threads, "maximum": e.max_threads},
        "disk": {"minimum": e.min_disk, "maximum": e.max_disk},
        "memory": {"minimum": e.min_mem, "maximum": e.max_mem,
                   "free": {"minimum": _num(e.min_free_mem), "maximum": _num(e.max_free_mem)},
                   "allocated": e.alloc_memory},
        "weight": {"minimum": e.min_weight, "maximum": e.max_weight},
        "features": {"total": _nullable(n.features if n else None),
                     "active": _nullable(n.features_act if n else None)},
        "gres": {"total": _nullable(n.gres if n else None), "used": (n.gres_used if n else "") or ""},
        "cluster": "",
        "comment": "",
        "extra": "",
        "reason": {"description": (n.reason if n and n.reason else ""),
                   "time": int(n.reason_time) if n and n.reason_time else 0,
                   "user": (n.reason_user if n and n.reason_user else "")},
        "reservation": "",
        "resource_spec": {"cpus": "", "memory": 0},
        "partition": {
            "nodes": {"allowed_allocation": "",
                      "configured": _compress(p.node_names) if p else "",
                      "total": p.nodes if p else 0},
            "accounts": {"allowed": "", "deny": ""},
            "groups": {"allowed": ""},
            "qos": {"allowed": "", "deny": "", "assigned": ""},
            "alternate": "",
            "tres": {"billing_weights": "", "configured": partition_tres(p) if p else ""},
            "cluster": "",
            "select_type": [],
            "cpus": {"task_binding": 0, "total": p.total_cpus if p else 0},
            "defaults": {
                "memory_per_cpu": part_def or 0,
                "partition_memory_per_cpu": _num(part_def) if part_def else _num(None),
                "partition_memory_per_node": _num(None) if part_def else _num(0),
                "time": (_num(None, infinite=True) if def_time == INFINITE else _num(def_time)),
                "job": ""},
            "grace_time": 0,
            "maximums": {
                "cpus_per_node": _num(None, infinite=True),
                "cpus_per_socket": _num(None, infinite=True),
                "memory_per_cpu": 0,
                "partition_memory_per_cpu": _num(None),
                "partition_memory_per_node": _num(0),
                "nodes": _num(None, infinite=True),
                "shares": 1,
                "oversubscribe": {"jobs": 1, "flags": []},
                "time": (_num(None, infinite=True) if max_time in (None, INFINITE)
                         else _num(max_time)),
                "over_time_limit": _num(None)},
            "minimums": {"nodes": 0},
            "name": p.name if p else "",
            "node_sets": "",
            "priority": {"job_factor": 1, "tier": 1},
            "timeouts": {"resume": _num(None), "suspend": _num(None)},
            "topology": "",
            "partition": {"state": [(p.state or "UP").upper()] if p else []},
            "suspend_time": _num(None)},
    }
    return entry


def _nullable(text: str | None) -> str:
    return "" if (not text or text == "(null)") else text


def _expand_sorted(names: Sequence[str]) -> list[str]:
    return sorted(names, key=_host_key)


def render_json(partitions: Sequence[Partition], statuses: Sequence[NodeStatus],
                opts: SinfoOptions, *, cluster: str, user: str, group: str,
                command: Sequence[str] = ("sinfo",), default_partition: str | None = None,
                cluster_def_mem_per_cpu: int | None = None) -> str:
    """`sinfo --json` (data_parser v0.0.44 layout, one element per sinfo line)."""
    jopts = SinfoOptions(**{**opts.__dict__, "format": None, "long_format": None})
    layout = build_layout(jopts)
    layout.flags.add("gres_used")
    entries = build_entries(partitions, statuses, jopts, layout,
                            default_partition=default_partition)
    doc = {
        "sinfo": [_json_entry(e, cluster_def_mem_per_cpu) for e in entries],
        "meta": {
            "plugin": {"type": "", "name": "", "data_parser": "data_parser/v0.0.44",
                       "accounting_storage": "accounting_storage/slurmdbd"},
            "client": {"source": "", "user": user, "group": group},
            "command": list(command),
            "slurm": {"version": {"major": "25", "micro": "7", "minor": "11"},
                      "release": SLURM_VERSION, "cluster": cluster}},
        "errors": [],
        "warnings": [],
    }
    return dump_json(doc) + "\n"


def dump_json(value: Any, level: int = 0) -> str:
    """Slurm's JSON serializer style: 2-space indent, `"key": value`, empty arrays and objects
    open and close on their own lines, `/` escaped as `\\/`."""
    import json
    pad = "  " * level
    inner = "  " * (level + 1)
    if isinstance(value, dict):
        if not value:
            return "{\n" + pad + "}"
        items = [f"{inner}{_jstr(k)}: {dump_json(v, level + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, (list, tuple)):
        if not value:
            return "[\n" + pad + "]"
        items = [f"{inner}{dump_json(v, level + 1)}" for v in value]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        return _jstr(value)
    if isinstance(value, float):
        return json.dumps(value)
    return str(value)


def _jstr(text: str) -> str:
    import json
    return json.dumps(text, ensure_ascii=False).replace("/", "\\/")
