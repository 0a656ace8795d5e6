"""THE table of sbatch and srun options.

One :class:`OptionRow` per option of Slurm 25.11 (``src/common/slurm_opt.c`` ``common_options``
plus the sbatch/srun man pages): long and short names, argument kind, the input environment
variables, the commands it belongs to, a support level, a one-line slurmshim meaning and the
handler that applies the value to a :class:`~slurmshim.model.JobSpec`.

Support levels (per command):

* ``mapped``        -- honoured (possibly recorded only, where recording is all Slurm does too);
* ``approximated``  -- honoured in a cloud way; sbatch prints ``sbatch: warning: ...``;
* ``ignored``       -- accepted and validated like Slurm does, then dropped with a warning;
* ``rejected``      -- ``sbatch: error: ...``, exit 1, nothing submitted.

A handler is ``apply(spec, value, ctx) -> effect`` where ``effect`` is a short human text (what the
option became) or ``(effect, support)`` when the level depends on the value (``--clusters`` naming
this cluster is harmless).  Handlers raise :class:`~slurmshim.errors.SlurmError` subclasses with
Slurm's exact message and exit code; value grammars come from the sibling modules (imported lazily,
so importing this table stays cheap).

Stdlib only; no I/O.
"""
from __future__ import annotations

import posixpath
import re
from typing import Any, Callable, Iterable, Mapping

from .._dataclass import dataclass, field
from ..errors import InvalidSpec, SlurmError, SubmitError
from ..model import INFINITE, JobSpec
from . import getopt as _getopt

SLURM_VERSION = "slurm 25.11.7"

SUPPORT_LEVELS = ("mapped", "approximated", "ignored", "rejected")
SB = frozenset({"sbatch"})
SR = frozenset({"srun"})
BOTH = frozenset({"sbatch", "srun"})

NONE, REQUIRED, OPTIONAL = "none", "required", "optional"
_HAS_ARG = {NONE: _getopt.NO_ARGUMENT, REQUIRED: _getopt.REQUIRED_ARGUMENT,
            OPTIONAL: _getopt.OPTIONAL_ARGUMENT}

INT_MAX = 2**31 - 1
LONG_MAX = 2**63 - 1
LONG_MIN = -(2**63)
NO_VAL = 0xFFFFFFFE
NICE_OFFSET = 0x80000000


# ---------------------------------------------------------------------------------------------
# errors and small C-faithful helpers
# ---------------------------------------------------------------------------------------------
class EarlyExit(SlurmError):
    """``--help``, ``--usage``, ``--version``, ``--autocomplete``, ``--gres=help``: print
    ``stdout`` and exit (0).  Nothing goes to stderr."""

    exit_code = 0

    def __init__(self, stdout: str, exit_code: int = 0):
        super().__init__("", exit_code)
        self.stdout = stdout

    def render(self, prog: str) -> str:
        return ""


class Fatal(SlurmError):
    """A Slurm ``fatal()``: ``<prog>: fatal: <message>``, exit 1."""

    exit_code = 1

    def render(self, prog: str) -> str:
        return "".join(f"{prog}: fatal: {line}\n" for line in self.message.split("\n"))


class RejectedOption(SlurmError):
    """An option slurmshim refuses (exit 1, nothing submitted)."""

    exit_code = 1


def invalid(msg: str) -> InvalidSpec:
    """A set function returning SLURM_ERROR: ``error: <msg>`` and exit(-1) = 255."""
    return InvalidSpec(msg, 255)


def c_strtol(text: str) -> tuple[int, str, bool]:
    """C ``strtol(text, &end, 10)``: ``(value, rest, converted)`` (clamped like glibc)."""
    i, n = 0, len(text)
    while i < n and text[i] in " \t\n\v\f\r":
        i += 1
    j = i
    sign = 1
    if j < n and text[j] in "+-":
        sign = -1 if text[j] == "-" else 1
        j += 1
    k = j
    while k < n and text[k] in "0123456789":
        k += 1
    if k == j:
        return 0, text, False
    value = sign * int(text[j:k])
    value = max(LONG_MIN, min(LONG_MAX, value))
    return value, text[k:], True


def parse_int(name: str, value: str | None, positive: bool) -> int:
    """Slurm's ``parse_int()`` (proc_args.c): errors exit 1."""
    result, rest, _ = c_strtol(value or "")
    if value is None or rest != "" or result < 0 or (positive and result <= 0):
        raise SlurmError(f'Invalid numeric value "{value if value is not None else "(null)"}" '
                         f"for {name}.", 1)
    if result >= INT_MAX:
        raise SlurmError(f"Numeric argument ({result}) too large for {name}.", 1)
    return result


def parse_uint16(value: str) -> int | None:
    """Slurm's ``parse_uint16``: None when invalid."""
    result, rest, ok = c_strtol(value)
    if not ok or rest != "" or result < 0 or result >= 0xFFFF:
        return None
    return result


def _lazy(module: str):
    import importlib

    return importlib.import_module(f"{__package__}.{module}")


def str_to_nodes(text: str) -> tuple[int, str]:
    """proc_args.c ``str_to_nodes``: ``(count or -1, leftover)``."""
    num, rest, ok = c_strtol(text)
    if not ok:
        return -1, text
    if rest[:1] in ("k", "K"):
        num *= 1024
        rest = rest[1:]
    if rest[:1] in ("m", "M"):
        num *= 1024 * 1024
        rest = rest[1:]
    if num < 0 or num > INT_MAX:
        return -1, rest
    return num, rest


def _ws(text: str) -> bool:
    return all(c in " \t\n\v\f\r" for c in text)


def verify_node_count(arg: str) -> tuple[int, int]:
    """proc_args.c ``verify_node_count``: ``(min, max)`` (max 0 = not given).  Errors exit 255."""
    if "," in arg or ":" in arg:
        nums: list[int] = []
        for tok in re.split(r"[,\-:]+", arg):
            if tok == "":
                continue
            num, rest, ok = c_strtol(tok)
            if not ok or rest not in ("",) or num >= 64 * 1024:
                raise invalid(f'"{tok}" is not a valid node count')
            nums.append(num)
        if not nums:
            raise invalid(f'"{arg}" is not a valid node count')
        # the sizes form a bitmap "a-b,c:step"; min and max are its first and last bits
        values: set[int] = set()
        for part in arg.split(","):
            rng, _, step = part.partition(":")
            lo_s, dash, hi_s = rng.partition("-")
            try:
                lo = int(lo_s)
                hi = int(hi_s) if dash else lo
                st = int(step) if step else 1
                if st <= 0 or hi < lo:
                    raise ValueError
            except ValueError:
                raise invalid(f'"{arg}" is not a valid node count') from None
            values.update(range(lo, hi + 1, st))
        return min(values), max(values)
    if "-" in arg:
        min_s, _, max_s = arg.partition("-")
        lo, rest = str_to_nodes(min_s)
        if not _ws(rest):
            raise invalid(f'"{min_s}" is not a valid node count')
        if lo < 0:
            lo = 1
        hi, rest = str_to_nodes(max_s)
        if not _ws(rest):
            raise invalid(f'"{max_s}" is not a valid node count')
    else:
        lo, rest = str_to_nodes(arg)
        hi = lo
        if not _ws(rest):
            raise invalid(f'"{arg}" is not a valid node count')
        if lo < 0:
            raise invalid(f'"{arg}" is not a valid node count')
    if hi != 0 and hi < lo:
        raise invalid(f"Maximum node count {hi} is less than minimum node count {lo}")
    return lo, hi


def count_hosts(hostlist: str) -> int:
    """How many distinct hosts a Slurm hostlist expression names (``node[01-04],gpu7`` = 5).
    Raises :class:`Fatal` ``Invalid node list specified`` like sbatch."""
    try:
        return len(set(_lazy("hostlist").expand(hostlist)))
    except (ValueError, TypeError, OverflowError):
        raise Fatal("Invalid node list specified") from None


# ---------------------------------------------------------------------------------------------
# application context
# ---------------------------------------------------------------------------------------------
@dataclass
class ApplyContext:
    """What a handler may look at besides the spec: the caller's identity and clock, the
    submitting environment, where the value came from, and scratch state shared by handlers."""

    command: str = "sbatch"
    now: float = 0.0
    cwd: str = "/"
    uid: int = 0
    user: str = ""
    env: Mapping[str, str] = field(default_factory=dict)
    max_array_size: int = 1001
    cluster_name: str | None = None
    source: str = "cli"
    messages: list[str] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)

    def defer(self, key: str, error: SlurmError | None) -> None:
        """Record (or clear) an error Slurm only reports later (at submission)."""
        deferred = self.state.setdefault("deferred", {})
        if error is None:
            deferred.pop(key, None)
        else:
            deferred[key] = error


Effect = Any  # str | tuple[str, str]
Handler = Callable[[JobSpec, "str | None", ApplyContext], Effect]


@dataclass(frozen=True)
class OptionRow:
    """One option.  ``support``/``reason`` are sbatch's level and why; ``srun_support``/
    ``srun_reason`` override them for srun (default: the same).  ``env`` lists sbatch's input
    variables, ``srun_env`` srun's.  ``help`` holds sbatch ``--help`` line(s) verbatim (no
    trailing newline), ``usage`` the fragment in ``--usage``."""

    long: str
    short: str | None = None
    arg: str = REQUIRED
    commands: frozenset = SB
    env: tuple[str, ...] = ()
    srun_env: tuple[str, ...] = ()
    support: str = "mapped"
    reason: str = ""
    srun_support: str | None = None
    srun_reason: str | None = None
    meaning: str = ""
    apply: Handler | None = None
    aliases: tuple[str, ...] = ()
    early: bool = False          # sbatch handles it in its first pass only (ignored in scripts)
    hidden: bool = False         # not listed by --help
    help: str = ""
    usage: str = ""
    metavar: str = ""

    def support_for(self, command: str = "sbatch") -> str:
        if command == "srun" and self.srun_support:
            return self.srun_support
        return self.support

    def reason_for(self, command: str = "sbatch") -> str:
        if command == "srun" and self.srun_reason is not None:
            return self.srun_reason
        return self.reason

    @property
    def names(self) -> tuple[str, ...]:
        return (self.long,) + self.aliases

    @property
    def display(self) -> str:
        return f"--{self.long}"


# ---------------------------------------------------------------------------------------------
# handlers
# ---------------------------------------------------------------------------------------------
def _extra(name: str, describe: str = "recorded") -> Handler:
    """Store the value in spec.extra (what ignored/approximated options keep for the record)."""
    def h(spec: JobSpec, v: str | None, ctx: ApplyContext) -> Effect:
        spec.extra[name] = True if v is None else v
        return describe
    return h


def _int_extra(name: str, positive: bool, describe: str = "recorded") -> Handler:
    def h(spec: JobSpec, v: str | None, ctx: ApplyContext) -> Effect:
        spec.extra[name] = parse_int(f"--{name}", v, positive)
        return describe
    return h


def _flag_extra(name: str, describe: str = "recorded") -> Handler:
    def h(spec: JobSpec, v: str | None, ctx: ApplyContext) -> Effect:
        spec.extra[name] = True
        return describe
    return h


def _account(spec, v, ctx):
    spec.account = v
    return f"account {v}"


def _array(spec, v, ctx):
    try:
        arr = _lazy("arrayspec").parse_array(v, ctx.max_array_size)
    except (ValueError, TypeError, OverflowError):
        spec.array = None
        ctx.defer("array", SubmitError("Invalid job array specification"))
        return "invalid array specification (refused at submission)"
    ctx.defer("array", None)
    spec.array = arr
    n = len(arr.indices)
    text = f"array of {n} task{'s' if n != 1 else ''}"
    if arr.throttle:
        text += f", at most {arr.throttle} running at a time"
    return text


def _begin(spec, v, ctx):
    try:
        t = _lazy("timespec").parse_datetime(v, ctx.now)
    except (ValueError, TypeError, OverflowError):
        raise invalid("Invalid --begin specification") from None
    if not t:
        raise invalid("Invalid --begin specification")
    spec.begin_time = float(t)
    return "eligible from " + _iso(spec.begin_time)


def _deadline(spec, v, ctx):
    try:
        t = _lazy("timespec").parse_datetime(v, ctx.now)
    except (ValueError, TypeError, OverflowError):
        raise invalid("Invalid --deadline specification") from None
    if not t:
        raise invalid("Invalid --deadline specification")
    spec.deadline = float(t)
    return "cancelled (DEADLINE) if it cannot end by " + _iso(spec.deadline)


def _iso(t: float) -> str:
    import time as _time

    try:
        return _time.strftime("%Y-%m-%dT%H:%M:%S", _time.localtime(t))
    except (OverflowError, OSError, ValueError):
        return str(t)


def _chdir(spec, v, ctx):
    spec.work_dir = v if v.startswith("/") else posixpath.join(ctx.cwd, v)
    return f"working directory {spec.work_dir}"


def _clusters(spec, v, ctx):
    names = [n for n in v.split(",") if n]
    if ctx.cluster_name and names and all(n == ctx.cluster_name for n in names):
        return f"cluster {ctx.cluster_name} (this one)", "ignored"
    raise RejectedOption(
        f"--clusters={v}: slurmshim submits to one cluster only"
        + (f" ({ctx.cluster_name})" if ctx.cluster_name else "")
        + "; submit from the other cluster's own setup instead")


def _comment(spec, v, ctx):
    spec.comment = v
    return "comment recorded"


def _constraint(spec, v, ctx):
    spec.resources.constraint = v
    return f"node features {v}"


def _core_spec(spec, v, ctx):
    spec.extra["core-spec"] = parse_int("--core-spec", v, False)
    ctx.state["core_spec_src"] = ctx.source
    return "no cores are reserved for the system"


def _thread_spec(spec, v, ctx):
    spec.extra["thread-spec"] = parse_int("--thread-spec", v, True)
    ctx.state["thread_spec_src"] = ctx.source
    return "no threads are reserved for the system"


_CPU_FREQ_WORDS = {"low", "medium", "high", "highm1", "conservative", "ondemand", "performance",
                   "powersave", "userspace", "schedutil"}


def _cpu_freq(spec, v, ctx):
    ok = True
    body, _, gov = v.partition(":")
    parts = body.split("-") if body else []
    if not parts or len(parts) > 2:
        ok = False
    for p in parts:
        if not (p.isdigit() or p.lower() in _CPU_FREQ_WORDS):
            ok = False
    if gov and gov.lower() not in _CPU_FREQ_WORDS:
        ok = False
    if not ok:
        raise invalid("Invalid --cpu-freq argument")
    spec.extra["cpu-freq"] = v
    return "CPU frequency is chosen by the instance"


def _cpus_per_gpu(spec, v, ctx):
    spec.extra["cpus_per_gpu"] = parse_int("--cpus-per-gpu", v, True)
    ctx.state["cpus_per_gpu_src"] = ctx.source
    return f"{spec.extra['cpus_per_gpu']} CPUs reserved per GPU"


def _cpus_per_task(spec, v, ctx):
    spec.resources.cpus_per_task = parse_int("--cpus-per-task", v, True)
    ctx.state["cpus_per_task_src"] = ctx.source
    return f"{spec.resources.cpus_per_task} CPUs per task"


def _delay_boot(spec, v, ctx):
    if _time_str2secs(v) is None:
        raise invalid("Invalid --delay-boot specification")
    spec.extra["delay-boot"] = v
    return "instances boot as soon as they are needed"


def _time_str2secs(v: str) -> int | None:
    """parse_time.c ``time_str2secs`` accepts the --time forms; reuse the time grammar."""
    try:
        m = _lazy("timespec").parse_time_limit(v)
    except (ValueError, TypeError, OverflowError):
        return None
    return m


def _dependency(spec, v, ctx):
    if v == "":
        spec.dependency = None
        ctx.defer("dependency", None)
        return "no dependency"
    try:
        spec.dependency = _lazy("dependency").parse_dependency(
            v, max_array_size=ctx.max_array_size)
    except (ValueError, TypeError, OverflowError):
        spec.dependency = None
        ctx.defer("dependency", SubmitError("Job dependency problem"))
        return "invalid dependency (refused at submission)"
    ctx.defer("dependency", None)
    return f"waits for {v}"


_DIST_BASE = {"*", "block", "cyclic", "arbitrary", "hostfile"}
_DIST_SUB = {"*", "block", "cyclic", "fcyclic"}


def _distribution(spec, v, ctx):
    ok = True
    low = v.lower()
    if low.startswith("plane"):
        m = re.fullmatch(r"plane=(\d+)(,(pack|nopack))?", low)
        ok = bool(m) and int(m.group(1)) > 0
    else:
        base, _, flag = low.partition(",")
        toks = base.split(":") if base else []
        if flag and flag not in ("pack", "nopack"):
            ok = False
        if not toks and not flag and base:
            ok = False
        if toks and (len(toks) > 3 or toks[0] not in _DIST_BASE | {"pack", "nopack"}
                     or any(t not in _DIST_SUB for t in toks[1:])
                     or (toks[0] in ("arbitrary", "hostfile") and len(toks) > 1)):
            ok = False
        if not toks and not flag:
            ok = False
    if not ok:
        raise invalid("Invalid --distribution specification")
    spec.extra["distribution"] = v
    return "tasks are placed in block order"


def _error(spec, v, ctx):
    spec.error = "/dev/null" if v.lower() == "none" else v
    return f"stderr to {spec.error}"


def _input(spec, v, ctx):
    spec.input = "/dev/null" if v.lower() == "none" else v
    return f"stdin from {spec.input}"


def _output(spec, v, ctx):
    spec.output = "/dev/null" if v.lower() == "none" else v
    return f"stdout to {spec.output}"


def _exclusive(spec, v, ctx):
    low = None if v is None else v.lower()
    ctx.state["exclusive_src"] = ctx.source
    if low is None or low == "exclusive":
        spec.resources.exclusive = True
        spec.extra.pop("exclusive_mode", None)
        return "whole nodes (instances) for this job"
    if low == "oversubscribe":
        spec.resources.exclusive = False
        spec.extra["exclusive_mode"] = "oversubscribe"
        return "nodes may be shared", "ignored"
    if low in ("user", "mcs", "topo"):
        spec.resources.exclusive = True
        spec.extra["exclusive_mode"] = low
        return f"whole nodes (--exclusive={low} is treated as --exclusive)", "approximated"
    raise invalid("Invalid --exclusive specification")


def _export(spec, v, ctx):
    spec.export = v
    return {"ALL": "the whole submit environment (minus secrets)",
            "NONE": "only SLURM_* variables",
            "NIL": "only SLURM_* variables"}.get(v.upper(), f"environment {v} (minus secrets)")


def _extra_node_info(spec, v, ctx):
    parts = v.split(":")
    if not v or len(parts) > 3 or not all(re.fullmatch(r"\*|\d+(-\d+)?", p) for p in parts):
        raise invalid("Invalid --extra-node-info specification")
    spec.extra["extra-node-info"] = v
    ctx.state["extra_set"] = True
    return "socket/core/thread layout is chosen by the instance type"


def _gid(spec, v, ctx):
    if ctx.uid != 0:
        raise invalid("--gid only permitted by root user")
    if not v or v == "nobody" or v == "65534":
        raise invalid("Rejecting --gid as nobody specification" if v in ("nobody", "65534")
                      else "Invalid --gid specification")
    spec.extra["gid"] = v
    return "the job runs as the container's user"


def _uid(spec, v, ctx):
    if ctx.uid != 0:
        raise invalid("--uid only permitted by root user")
    if not v or v == "nobody" or v == "65534":
        raise invalid("Rejecting --uid as nobody specification" if v in ("nobody", "65534")
                      else "Invalid --uid specification")
    spec.extra["uid"] = v
    return "the job runs as the container's user"


def _gpu_count(v: str, ctx: ApplyContext, key: str) -> tuple[str | None, int] | None:
    try:
        gtype, count = _lazy("gres").parse_gpu_count(v)
    except (ValueError, TypeError, OverflowError):
        ctx.defer(key, SlurmError("Invalid generic resource (gres) specification", 1))
        return None
    ctx.defer(key, None)
    return gtype, count


def _gpus(spec, v, ctx):
    r = _gpu_count(v, ctx, "gpus")
    if r is None:
        spec.resources.gpus = None
        return "invalid GPU count (refused)"
    gtype, n = r
    spec.resources.gpus = n
    if gtype:
        spec.resources.gpu_type = gtype
    return f"{n} GPU{'s' if n != 1 else ''} for the job" + (f" ({gtype})" if gtype else "")


def _gpus_per_node(spec, v, ctx):
    r = _gpu_count(v, ctx, "gpus-per-node")
    if r is None:
        spec.resources.gpus_per_node = None
        return "invalid GPU count (refused)"
    gtype, n = r
    spec.resources.gpus_per_node = n
    if gtype:
        spec.resources.gpu_type = gtype
    return f"{n} GPU{'s' if n != 1 else ''} per node" + (f" ({gtype})" if gtype else "")


def _gpus_per_socket(spec, v, ctx):
    r = _gpu_count(v, ctx, "gpus-per-socket")
    if r is None:
        return "invalid GPU count (refused)"
    gtype, n = r
    spec.extra["gpus-per-socket"] = v
    ctx.state["gpus_per_socket_src"] = ctx.source
    if spec.resources.gpus_per_node is None:
        spec.resources.gpus_per_node = n
    if gtype:
        spec.resources.gpu_type = gtype
    return f"treated as {n} GPU{'s' if n != 1 else ''} per node"


def _gpus_per_task(spec, v, ctx):
    r = _gpu_count(v, ctx, "gpus-per-task")
    if r is None:
        spec.resources.gpus_per_task = None
        return "invalid GPU count (refused)"
    gtype, n = r
    spec.resources.gpus_per_task = n
    if gtype:
        spec.resources.gpu_type = gtype
    ctx.state["gpus_per_task_src"] = ctx.source
    return f"{n} GPU{'s' if n != 1 else ''} per task" + (f" ({gtype})" if gtype else "")


GRES_HELP = "Valid gres options are:\ngpu[[:type]:count]\n"


def _gres(spec, v, ctx):
    if v.lower() in ("help", "list"):
        raise EarlyExit(GRES_HELP)
    if v.lower() == "none":
        spec.resources.gres = ()
        ctx.defer("gres", None)
        return "no generic resources"
    try:
        spec.resources.gres = tuple(_lazy("gres").parse_gres(v))
    except (ValueError, TypeError, OverflowError):
        spec.resources.gres = ()
        ctx.defer("gres", SlurmError("Invalid generic resource (gres) specification", 1))
        return "invalid gres (refused)"
    ctx.defer("gres", None)
    return "generic resources " + ",".join(
        f"{g.name}{':' + g.type if g.type else ''}:{g.count}" for g in spec.resources.gres)


_GRES_FLAGS = {"allow-task-sharing", "disable-binding", "enforce-binding",
               "multiple-tasks-per-sharing", "one-task-per-sharing"}


def _gres_flags(spec, v, ctx):
    toks = [t for t in v.split(",") if t]
    for t in toks:
        if t.lower() == "allow-task-sharing" and ctx.command != "srun":
            raise invalid("--gres-flags=allow-task-sharing is only used with srun.")
        if t.lower() not in _GRES_FLAGS:
            raise invalid(f"Invalid --gres-flags specification: {t}")
    low = {t.lower() for t in toks}
    if {"disable-binding", "enforce-binding"} <= low:
        raise invalid("Invalid --gres-flags combo: disable-binding and enforce-binding are "
                      "mutually exclusive.")
    if {"one-task-per-sharing", "multiple-tasks-per-sharing"} <= low:
        raise invalid("Invalid --gres-flags combo: one-task-per-sharing and "
                      "multiple-tasks-per-sharing are mutually exclusive.")
    if "one-task-per-sharing" in low:
        raise invalid("In order to use --gres-flags=one-task-per-sharing you must also have "
                      "SelectTypeParameters=MULTIPLE_SHARING_GRES_PJ in your slurm.conf")
    spec.extra["gres-flags"] = v
    return "GPU binding follows the instance"


def _help(spec, v, ctx):
    raise EarlyExit(help_text(ctx.command))


def _usage(spec, v, ctx):
    raise EarlyExit(usage_text(ctx.command))


def _version(spec, v, ctx):
    raise EarlyExit(SLURM_VERSION + "\n")


def _autocomplete(spec, v, ctx):
    raise EarlyExit(autocomplete(v or "", ctx.command))


def _hold(spec, v, ctx):
    spec.hold = True
    return "submitted held (JobHeldUser) until released"


def _job_name(spec, v, ctx):
    spec.job_name = v
    return f"job name {v}"


def _kill_inv_dep(spec, v, ctx):
    if v.lower() == "yes":
        spec.kill_on_invalid_dep = True
    elif v.lower() == "no":
        spec.kill_on_invalid_dep = False
    else:
        raise invalid("Invalid --kill-on-invalid-dep specification")
    return ("cancelled" if spec.kill_on_invalid_dep else "kept pending") + \
        " if its dependency can never be met"


def _licenses(spec, v, ctx):
    spec.licenses = v
    return "recorded; licenses are not counted"


_MAIL_TYPES = {"NONE", "ARRAY_TASKS", "BEGIN", "END", "FAIL", "INVALID_DEPEND", "REQUEUE", "ALL",
               "STAGE_OUT", "TIME_LIMIT", "TIME_LIMIT_90", "TIME_LIMIT_80", "TIME_LIMIT_50"}


def _mail_type(spec, v, ctx):
    toks = [t for t in v.split(",") if t]
    known = [t for t in toks if t.upper() in _MAIL_TYPES]
    # parse_mail_type: unknown words are skipped; nothing known (and no NONE) is an error
    if not known:
        raise invalid("Invalid --mail-type specification")
    spec.mail_type = v
    return "recorded; no mail is sent (no mail server)"


def _mail_user(spec, v, ctx):
    spec.mail_user = v
    return "recorded; no mail is sent (no mail server)"


def _mem_value(v: str, option: str) -> int:
    try:
        mb = _lazy("memspec").parse_mem(v)
    except (ValueError, TypeError, OverflowError):
        raise invalid(f"Invalid {option} specification") from None
    if mb is None:
        raise invalid(f"Invalid {option} specification")
    return int(mb)


def _mem(spec, v, ctx):
    spec.resources.mem_per_node = _mem_value(v, "--mem")
    ctx.state["mem_src"] = ctx.source
    if spec.resources.mem_per_node == 0:
        return "all the memory of each node"
    return f"{spec.resources.mem_per_node}M per node"


def _mem_per_cpu(spec, v, ctx):
    spec.resources.mem_per_cpu = _mem_value(v, "--mem-per-cpu")
    ctx.state["mem_per_cpu_src"] = ctx.source
    return f"{spec.resources.mem_per_cpu}M per CPU"


def _mem_per_gpu(spec, v, ctx):
    spec.resources.mem_per_gpu = _mem_value(v, "--mem-per-gpu")
    ctx.state["mem_per_gpu_src"] = ctx.source
    return f"{spec.resources.mem_per_gpu}M per GPU"


def _tmp(spec, v, ctx):
    spec.resources.tmp_mb = _mem_value(v, "--tmp")
    return f"{spec.resources.tmp_mb}M of temporary disk per node"


def _mincpus(spec, v, ctx):
    n = parse_int("--mincpus", v, True)
    spec.extra["mincpus"] = n
    return f"at least {n} CPUs per node"


def _nice(spec, v, ctx):
    if v is None:
        n = 100
    else:
        n, _, _ = c_strtol(v)
    if abs(n) > NICE_OFFSET - 3:
        raise invalid(f"Invalid --nice value, out of range (+/- {NICE_OFFSET - 3})")
    spec.nice = n
    return f"nice {n}"


def _no_kill(spec, v, ctx):
    if v is None or v.lower() == "set":
        spec.extra["no-kill"] = True
    elif v.lower() in ("off", "no"):
        spec.extra["no-kill"] = False
    else:
        raise invalid("Invalid --no-kill specification")
    return ("a node that fails only fails the steps that need it" if spec.extra["no-kill"]
            else "a node that fails ends the job (NODE_FAIL)")


def _no_requeue(spec, v, ctx):
    spec.requeue = False
    return "never requeued (Spot reclaims are not retried)"


def _requeue(spec, v, ctx):
    spec.requeue = True
    if v is not None and v.lower() == "expedite":
        spec.extra["requeue"] = "expedite"
    return "may be requeued (Spot reclaims are retried)"


def _nodefile(spec, v, ctx):
    spec.extra["nodefile"] = v
    return "cloud nodes have no fixed names"


def _nodelist(spec, v, ctx):
    spec.extra["nodelist"] = v
    ctx.state["nodelist"] = v
    return "node names are not selectable; the number of names becomes the node count"


def _exclude(spec, v, ctx):
    spec.extra["exclude"] = v
    return "cloud nodes have no fixed names"


def _nodes(spec, v, ctx):
    lo, hi = verify_node_count(v)
    spec.resources.nodes_min = lo
    spec.resources.nodes_max = hi if hi else None
    ctx.state["nodes_set"] = True
    if hi and hi != lo:
        return f"{lo}-{hi} nodes (uses {lo})"
    return f"{lo} node{'s' if lo != 1 else ''}"


def _ntasks(spec, v, ctx):
    spec.resources.ntasks = parse_int("--ntasks", v, True)
    ctx.state["ntasks_set"] = True
    return f"{spec.resources.ntasks} task{'s' if spec.resources.ntasks != 1 else ''}"


def _ntasks_per_node(spec, v, ctx):
    spec.resources.ntasks_per_node = parse_int("--ntasks-per-node", v, True)
    ctx.state["ntasks_per_node_src"] = ctx.source
    return f"{spec.resources.ntasks_per_node} tasks per node"


def _ntasks_per_gpu(spec, v, ctx):
    n = parse_int("--ntasks-per-gpu", v, True)
    spec.extra["ntasks-per-gpu"] = n
    ctx.state["ntasks_per_gpu_src"] = ctx.source
    return f"{n} tasks per GPU"


def _ntasks_per_tres(spec, v, ctx):
    n = parse_int("--ntasks-per-tres", v, True)
    spec.extra["ntasks-per-tres"] = n
    ctx.state["ntasks_per_tres_src"] = ctx.source
    return f"{n} tasks per GPU"


def _oom_kill_step(spec, v, ctx):
    if v is not None:
        n = parse_uint16(v)
        if n is None or n > 1:
            raise invalid("Invalid --oom-kill-step specification")
    spec.extra["oom-kill-step"] = 1 if v is None else int(v)
    return "an out-of-memory task ends the job"


def _open_mode(spec, v, ctx):
    if v[:1] in ("a", "A"):
        spec.open_mode = "append"
    elif v[:1] in ("t", "T"):
        spec.open_mode = "truncate"
    else:
        raise invalid("Invalid --open-mode specification")
    return f"output files opened in {spec.open_mode} mode"


def _overcommit(spec, v, ctx):
    spec.extra["overcommit"] = True
    return "one task's CPUs per node; steps may start more tasks than CPUs"


def _oversubscribe(spec, v, ctx):
    spec.extra["oversubscribe"] = True
    ctx.state["oversubscribe_src"] = ctx.source
    return "cloud nodes are not shared between jobs"


def _parsable(spec, v, ctx):
    spec.parsable = True
    return "prints only the job id"


def _partition(spec, v, ctx):
    spec.partition = v
    return f"partition {v}"


def _priority(spec, v, ctx):
    if v.upper() == "TOP":
        spec.priority = NO_VAL - 1
    else:
        n, _, _ = c_strtol(v)
        if n < 0:
            raise invalid("Priority must be >= 0")
        if n >= NO_VAL:
            raise invalid(f"Priority must be < {NO_VAL}")
        spec.priority = n
    return f"priority {spec.priority}"


_PROFILE_WORDS = {"all", "none", "energy", "lustre", "network", "task"}


def _profile(spec, v, ctx):
    toks = v.lower().split(",")
    if not v or any(t not in _PROFILE_WORDS for t in toks):
        raise invalid(f"invalid --profile={v} option")
    spec.extra["profile"] = v
    return "no profiling data is gathered"


def _propagate(spec, v, ctx):
    spec.extra["propagate"] = v if v is not None else "ALL"
    return "container limits come from the job definition"


def _qos(spec, v, ctx):
    spec.qos = v
    return f"QOS {v}"


def _quiet(spec, v, ctx):
    spec.quiet = True
    return "no informational messages"


def _reservation(spec, v, ctx):
    spec.reservation = v
    return "there are no reservations; the job runs in its partition"


def _resv_ports(spec, v, ctx):
    spec.extra["resv-ports"] = 0 if v is None else parse_int("--resv-port", v, False)
    return "no ports are reserved"


def _segment(spec, v, ctx):
    if parse_uint16(v) is None:
        raise invalid("Invalid --segment specification")
    spec.extra["segment"] = v
    return "no block topology"


def _signal(spec, v, ctx):
    try:
        spec.signal = _lazy("signals").parse_signal_spec(v)
    except (ValueError, TypeError, OverflowError):
        raise invalid("Invalid --signal specification") from None
    s = spec.signal
    return f"signal {s.signum} {s.secs}s before the time limit" + (
        " (batch shell only)" if s.batch_only else "")


def _switches(spec, v, ctx):
    count, _, wait = v.partition("@")
    spec.extra["switches"] = parse_int("--switches", count, True)
    return "no network topology control"


def _test_only(spec, v, ctx):
    spec.test_only = True
    return "nothing is submitted; prints when and where it would run"


def _time(spec, v, ctx):
    spec.time_limit = _time_value(v, "--time")
    if spec.time_limit == INFINITE:
        return "no time limit"
    return f"time limit {spec.time_limit} minutes"


def _time_min(spec, v, ctx):
    spec.time_min = _time_value(v, "--time-min")
    return f"minimum time limit {spec.time_min} minutes"


def _time_value(v: str, option: str) -> int:
    try:
        m = _lazy("timespec").parse_time_limit(v)
    except (ValueError, TypeError, OverflowError):
        raise invalid(f"Invalid {option} specification") from None
    if m is None:
        raise invalid(f"Invalid {option} specification")
    return INFINITE if m == 0 else int(m)


def _tres_per_task(spec, v, ctx):
    effects = []
    for tok in [t for t in v.split(",") if t]:
        name, sep, cnt = tok.rpartition("=")
        if not sep:
            name, sep, cnt = tok.rpartition(":")
        if not sep or not cnt.isdigit() or int(cnt) <= 0:
            raise Fatal(f"Invalid --tres-per-task={tok}")
        n = int(cnt)
        low = name.lower()
        if low == "cpu":
            spec.resources.cpus_per_task = n
            effects.append(f"{n} CPUs per task")
        elif low in ("gres/gpu", "gpu") or low.startswith(("gres/gpu:", "gpu:")):
            spec.resources.gpus_per_task = n
            gtype = low.split(":", 1)[1] if ":" in low else None
            if gtype:
                spec.resources.gpu_type = name.split(":", 1)[1]
            effects.append(f"{n} GPUs per task")
        elif low in ("mem", "energy", "node", "billing", "fs", "vmem", "pages", "bb"):
            raise Fatal(f"Invalid TRES for --tres-per-task: {low}")
        else:
            effects.append(f"{tok} not available")
    spec.extra["tres-per-task"] = v
    ctx.state["tres_per_task_src"] = ctx.source
    return "; ".join(effects) or "nothing"


def _use_min_nodes(spec, v, ctx):
    spec.extra["use-min-nodes"] = True
    return "node ranges always use the minimum"


def _verbose(spec, v, ctx):
    if v is None:
        spec.extra["verbose"] = int(spec.extra.get("verbose", 0)) + 1
    else:
        spec.extra["verbose"] = parse_int("--verbose", v, False)
    return "more messages"


def _wait(spec, v, ctx):
    spec.wait = True
    return "waits for the job and exits with its exit code"


def _wait_all_nodes(spec, v, ctx):
    n = parse_int("--wait-all-nodes", v, False)
    if n > 1:
        raise invalid("Invalid --wait-all-nodes specification")
    spec.extra["wait-all-nodes"] = n
    return "multi-node jobs start once all their nodes are up"


def _wckey(spec, v, ctx):
    spec.wckey = v
    return "wckey recorded"


def _wrap(spec, v, ctx):
    spec.wrap = v
    return "runs the command in a /bin/sh script"


def _get_user_env(spec, v, ctx):
    spec.extra["get-user-env"] = True
    return "the job gets the exported submit environment, not a login environment"


def _ignore_pbs(spec, v, ctx):
    spec.extra["ignore-pbs"] = True
    return "#PBS/#BSUB lines are not looked at"


def _cluster_constraint(spec, v, ctx):
    spec.extra["cluster-constraint"] = v
    return "there is one cluster"


def _reject(reason: str) -> Handler:
    def h(spec, v, ctx):
        raise RejectedOption(reason)
    return h


# ---------------------------------------------------------------------------------------------
# the table
# ---------------------------------------------------------------------------------------------
_NO_NODES = "cloud nodes are created on demand and have no fixed names"
_NO_TOPO = "cloud instances have no selectable socket/core/thread layout"
_NO_BIND = "task binding inside an instance is left to the OS"

# The table's rows are made by _make_row, not OptionRow() (start-up cost): the frozen dataclass's
# __init__ sets each of its 18 fields through object.__setattr__, and for ~150 rows that was a
# third of importing this module, which every sbatch and srun does.  _make_row gives a row the
# same __dict__ (same fields, same order) at once; the prototype, made the ordinary way, supplies
# the defaults and gives the class its __init__ and frozen __setattr__ as any OptionRow() would.
_ROW_DEFAULTS = dict(OptionRow("").__dict__)


def _make_row(long: str, short: str | None = None, **fields: Any) -> OptionRow:
    """``OptionRow(long, short, **fields)``, faster."""
    values = {**_ROW_DEFAULTS, "long": long, "short": short, **fields}
    if len(values) != len(_ROW_DEFAULTS):
        raise TypeError(f"OptionRow has no field {sorted(fields.keys() - _ROW_DEFAULTS.keys())}")
    row = object.__new__(OptionRow)
    object.__setattr__(row, "__dict__", values)
    return row


ROWS: tuple[OptionRow, ...] = (
    _make_row("account", "A", env=("SBATCH_ACCOUNT",), srun_env=("SLURM_ACCOUNT",),
              commands=BOTH,
              meaning="charge the job to an account (recorded, shown by squeue/sacct)",
              apply=_account, metavar="name", usage="[--account=name]",
              help="  -A, --account=name          charge job to specified account"),
    _make_row("acctg-freq", env=("SBATCH_ACCTG_FREQ",), srun_env=("SLURM_ACCTG_FREQ",),
              commands=BOTH, support="ignored",
              reason="accounting samples come from the backend, not a sampling plugin",
              meaning="accounting sampling intervals", apply=_extra("acctg-freq")),
    _make_row("array", "a", env=("SBATCH_ARRAY_INX",), meaning="job array: run the script once "
              "per index (%N limits how many run at once)", apply=_array,
              usage="[--array=index_values]",
              help="  -a, --array=indexes         job array index values"),
    _make_row("autocomplete", commands=BOTH, hidden=True,
              meaning="print option names matching a word (shell completion)",
              apply=_autocomplete),
    _make_row("batch", env=("SBATCH_BATCH",), support="ignored",
              reason="the batch step runs on the job's first node",
              meaning="node features required of the batch host", apply=_extra("batch"),
              hidden=True),
    _make_row("bcast", arg=OPTIONAL, commands=SR, srun_env=("SLURM_BCAST",),
              support="ignored", reason="every node sees the same container image",
              meaning="copy the executable to the nodes before launch", apply=_extra("bcast")),
    _make_row("bcast-exclude", commands=SR, srun_env=("SLURM_BCAST_EXCLUDE",), support="ignored",
              reason="every node sees the same container image",
              meaning="directories --send-libs leaves out", apply=_extra("bcast-exclude")),
    _make_row("begin", "b", commands=BOTH, meaning="do not start the job before this time",
              apply=_begin, help="  -b, --begin=time            defer job until HH:MM MM/DD/YY"),
    _make_row("bb", env=("SBATCH_BURST_BUFFER",), srun_env=("SLURM_BURST_BUFFER",),
              commands=BOTH, support="rejected",
              reason="burst buffers are not available; stage data through S3 or the shared "
                     "filesystem in the script",
              meaning="burst buffer specification", apply=_reject(
                  "--bb: burst buffers are not available in slurmshim; stage data through S3 "
                  "or the shared filesystem in the script"),
              usage="[--bb=burst_buffer_spec]",
              help="      --bb=<spec>             burst buffer specifications"),
    _make_row("bbf", commands=BOTH, support="rejected",
              reason="burst buffers are not available; stage data through S3 or the shared "
                     "filesystem in the script",
              meaning="burst buffer specification file", apply=_reject(
                  "--bbf: burst buffers are not available in slurmshim; stage data through S3 "
                  "or the shared filesystem in the script"),
              usage="[--bbf=burst_buffer_file]",
              help="      --bbf=<file_name>       burst buffer specification file"),
    _make_row("cluster-constraint", env=("SBATCH_CLUSTER_CONSTRAINT",),
              srun_env=("SLURM_CLUSTER_CONSTRAINT",), commands=BOTH, support="ignored",
              reason="there is only one cluster", meaning="federation cluster features",
              apply=_cluster_constraint,
              help="      --cluster-constraint=[!]list specify a list of cluster constraints"),
    _make_row("chdir", "D", commands=BOTH, srun_env=("SLURM_WORKING_DIR",),
              meaning="working directory of the job (default: where sbatch runs)", apply=_chdir,
              usage="[--chdir=directory]",
              help="  -D, --chdir=directory       set working directory for batch script"),
    _make_row("cluster", commands=BOTH, support="rejected", hidden=True,
              reason="slurmshim submits to one cluster only",
              meaning="same as --clusters", apply=_clusters),
    _make_row("clusters", "M", env=("SBATCH_CLUSTERS", "SLURM_CLUSTERS"),
              srun_env=("SLURM_CLUSTERS",), commands=BOTH, support="rejected",
              reason="slurmshim submits to one cluster only (naming this cluster is harmless)",
              meaning="submit to other clusters", apply=_clusters,
              usage="[--clusters=cluster_names]",
              help="  -M, --clusters=names        Comma separated list of clusters to issue\n"
                   "                              commands to.  Default is current cluster.\n"
                   "                              Name of 'all' will submit to run on all clusters.\n"
                   "                              NOTE: SlurmDBD must up."),
    _make_row("comment", commands=BOTH, meaning="free-text comment (recorded, squeue %k, sacct)",
              apply=_comment, usage="[--comment=name]",
              help="      --comment=name          arbitrary comment"),
    _make_row("compress", arg=OPTIONAL, commands=SR, srun_env=("SLURM_COMPRESS",),
              support="ignored", reason="--bcast is not needed",
              meaning="compression for --bcast", apply=_extra("compress")),
    _make_row("consolidate-segments", arg=NONE, env=("SBATCH_CONSOLIDATE_SEGMENTS",),
              srun_env=("SLURM_CONSOLIDATE_SEGMENTS",), commands=BOTH, support="ignored",
              reason="there is no block topology", meaning="pack segments into few base blocks",
              apply=_flag_extra("consolidate-segments"), hidden=True),
    _make_row("container", env=("SBATCH_CONTAINER",), srun_env=("SRUN_CONTAINER",),
              commands=BOTH, support="rejected",
              reason="OCI bundles on the submit host cannot be shipped; set the partition's "
                     "container image instead",
              meaning="run inside an OCI container bundle",
              apply=_reject("--container: OCI bundles on the submit host cannot be run by "
                            "slurmshim; jobs already run in the partition's container image "
                            "(set `image` in the partition config)"),
              help="      --container             Path to OCI container bundle"),
    _make_row("container-id", env=("SBATCH_CONTAINER_ID",), srun_env=("SRUN_CONTAINER_ID",),
              commands=BOTH, support="ignored",
              reason="containers are named by the backend",
              meaning="OCI container id", apply=_extra("container-id"),
              help="      --container-id          OCI container ID"),
    _make_row("context", commands=BOTH, support="ignored", hidden=True,
              reason="no SELinux contexts on cloud nodes",
              meaning="SELinux context for the job", apply=_extra("context")),
    _make_row("contiguous", arg=NONE, commands=BOTH, support="ignored",
              reason="cloud nodes have no contiguity",
              meaning="demand a contiguous range of nodes", apply=_flag_extra("contiguous"),
              usage="[--contiguous]",
              help="      --contiguous            demand a contiguous range of nodes"),
    _make_row("constraint", "C", env=("SBATCH_CONSTRAINT",), srun_env=("SLURM_CONSTRAINT",),
              commands=BOTH, meaning="node features the job needs (matched against the "
              "partition's instance features)", apply=_constraint, usage="[-C list]",
              help="  -C, --constraint=list       specify a list of constraints"),
    _make_row("core-spec", "S", env=("SBATCH_CORE_SPEC",), srun_env=("SLURM_CORE_SPEC",),
              commands=BOTH, support="ignored",
              reason="no cores are reserved for system use on cloud instances",
              meaning="cores reserved for system use", apply=_core_spec,
              usage="[--core-spec=cores]",
              help="  -S, --core-spec=cores       count of reserved cores"),
    _make_row("cores-per-socket", commands=BOTH, srun_env=("SLURM_NCORES_PER_SOCKET",),
              support="ignored", reason=_NO_TOPO, meaning="cores per socket",
              apply=_int_extra("cores-per-socket", True, "layout chosen by the instance type"),
              help="      --cores-per-socket=C    number of cores per socket to allocate"),
    _make_row("cpu-bind", commands=SR, srun_env=("SLURM_CPU_BIND",), aliases=("cpu_bind",),
              support="ignored", reason=_NO_BIND, meaning="bind tasks to CPUs",
              apply=_extra("cpu-bind")),
    _make_row("cpu-freq", env=("SBATCH_CPU_FREQ_REQ",), srun_env=("SLURM_CPU_FREQ_REQ",),
              commands=BOTH, support="ignored",
              reason="CPU frequency is set by the instance", meaning="CPU frequency and governor",
              apply=_cpu_freq, usage="[--cpu-freq=min[-max[:gov]]]",
              help="      --cpu-freq=min[-max[:gov]] requested cpu frequency (and governor)"),
    _make_row("cpus-per-gpu", env=("SBATCH_CPUS_PER_GPU",), srun_env=("SLURM_CPUS_PER_GPU",),
              commands=BOTH, support="approximated",
              reason="CPUs per task are derived from the GPUs per node times this count",
              meaning="CPUs per allocated GPU", apply=_cpus_per_gpu, usage="[--cpus-per-gpu=n]",
              help="      --cpus-per-gpu=n        number of CPUs required per allocated GPU"),
    _make_row("cpus-per-task", "c", commands=BOTH, srun_env=("SLURM_CPUS_PER_TASK",),
              meaning="CPUs for each task (vCPUs of the instance / container)",
              apply=_cpus_per_task, usage="[-c ncpus]",
              help="  -c, --cpus-per-task=ncpus   number of cpus required per task"),
    _make_row("deadline", commands=BOTH,
              meaning="cancel the job (DEADLINE) if it cannot finish by this time",
              apply=_deadline,
              help="      --deadline=time         remove the job if no ending possible before\n"
                   "                              this deadline (start > (deadline - time[-min]))"),
    _make_row("debugger-test", arg=NONE, commands=SR, support="ignored", hidden=True,
              reason="no parallel debugger support", meaning="debugger test mode",
              apply=_flag_extra("debugger-test")),
    _make_row("delay-boot", env=("SBATCH_DELAY_BOOT",), srun_env=("SLURM_DELAY_BOOT",),
              commands=BOTH, support="ignored",
              reason="instances are booted when needed; nodes are never rebooted for features",
              meaning="delay node reboots for features", apply=_delay_boot,
              usage="[--delay-boot=mins]",
              help="      --delay-boot=mins       delay boot for desired node features"),
    _make_row("dependency", "d", commands=BOTH, srun_env=("SLURM_DEPENDENCY",),
              meaning="start only when other jobs reach a state (afterok:ID, singleton, ...)",
              apply=_dependency, usage="[--dependency=type:jobid[+time]]",
              help="  -d, --dependency=type:jobid[:time] defer job until condition on jobid is satisfied"),
    _make_row("disable-status", "X", arg=NONE, commands=SR, srun_env=("SLURM_DISABLE_STATUS",),
              support="mapped", meaning="Ctrl-C does not print task status",
              apply=_flag_extra("disable-status")),
    _make_row("distribution", "m", env=("SBATCH_DISTRIBUTION",), srun_env=("SLURM_DISTRIBUTION",),
              commands=BOTH, support="ignored", srun_support="approximated",
              reason="tasks are placed in block order",
              srun_reason="tasks are placed in block order",
              meaning="how tasks are laid out over nodes", apply=_distribution, usage="[-m dist]",
              help="  -m, --distribution=type     distribution method for processes to nodes\n"
                   "                              (type = block|cyclic|arbitrary)"),
    _make_row("epilog", commands=SR, srun_env=("SLURM_EPILOG",), support="mapped",
              meaning="run a program after the step", apply=_extra("epilog")),
    _make_row("error", "e", env=("SBATCH_ERROR",), srun_env=("SRUN_ERROR",), commands=BOTH,
              meaning="file for the job's stderr (patterns %j %A %a %x %u ...)", apply=_error,
              usage="[--error file]",
              help="  -e, --error=err             file for batch script's standard error"),
    _make_row("exact", arg=NONE, commands=SR, srun_env=("SLURM_EXACT",), support="mapped",
              meaning="the step uses only what it asks for", apply=_flag_extra("exact")),
    _make_row("exclude", "x", commands=BOTH, support="ignored", reason=_NO_NODES,
              meaning="nodes to avoid", apply=_exclude, usage="[--exclude=hosts]",
              help="  -x, --exclude=hosts...      exclude a specific list of hosts"),
    _make_row("exclusive", arg=OPTIONAL, env=("SBATCH_EXCLUSIVE",), srun_env=("SLURM_EXCLUSIVE",),
              commands=BOTH, meaning="whole nodes (instances) for this job only",
              apply=_exclusive,
              help="      --exclusive[=user]      allocate nodes in exclusive mode when\n"
                   "                              cpu consumable resource is enabled\n"
                   "      --exclusive[=mcs]       allocate nodes in exclusive mode when\n"
                   "                              cpu consumable resource is enabled\n"
                   "                              and mcs plugin is enabled"),
    _make_row("export", env=("SBATCH_EXPORT",), srun_env=("SLURM_EXPORT_ENV", "SRUN_EXPORT_ENV"),
              commands=BOTH,
              meaning="which environment variables the job gets (ALL, NONE, NIL, VAR[=val],...); "
                      "credentials are never exported",
              apply=_export, usage="[--export[=names]]",
              help="      --export[=names]        specify environment variables to export"),
    _make_row("export-file", support="rejected",
              reason="use --export=VAR=value or the submitting environment",
              meaning="read the job environment from a file",
              apply=_reject("--export-file is not supported by slurmshim; use --export=VAR=value "
                            "or set the variables in the submitting environment"),
              usage="[--export-file=file|fd]",
              help="      --export-file=file|fd   specify environment variables file or file\n"
                   "                              descriptor to export"),
    _make_row("external", arg=NONE, support="rejected", hidden=True,
              reason="external jobs need a real Slurm controller",
              meaning="create an external job record (no script)",
              apply=_reject("--external: external jobs are not supported by slurmshim")),
    _make_row("external-launcher", arg=OPTIONAL, commands=SR,
              srun_env=("SLURM_EXTERNAL_LAUNCHER",), support="ignored",
              reason="MPI launchers start tasks themselves inside the job",
              meaning="step for an external launcher (mpirun)", apply=_extra("external-launcher")),
    _make_row("extra", commands=BOTH, hidden=True,
              meaning="arbitrary string for node filtering (recorded)", apply=_extra("extra")),
    _make_row("extra-node-info", "B", commands=BOTH, support="ignored", reason=_NO_TOPO,
              meaning="sockets:cores:threads per node", apply=_extra_node_info,
              help="  -B, --extra-node-info=S[:C[:T]]  combine request of sockets per node,\n"
                   "                              cores per socket and threads per core.\n"
                   "                              Specify an asterisk (*) as a placeholder,\n"
                   "                              a minimum value, or a min-max range."),
    _make_row("get-user-env", arg=NONE, env=("SBATCH_GET_USER_ENV",), support="approximated",
              reason="the job gets the exported submit environment; no login shell is run on "
                     "the node",
              meaning="load the user's login environment on the node", apply=_get_user_env,
              help="      --get-user-env          load environment from local cluster"),
    _make_row("gid", support="ignored", reason="the job runs as the container's user",
              meaning="group to run the job as (root only)", apply=_gid,
              usage="[--gid=group]",
              help="      --gid=group_id          group ID to run job as (user root only)"),
    _make_row("gpu-bind", env=("SBATCH_GPU_BIND",), srun_env=("SLURM_GPU_BIND",), commands=BOTH,
              support="ignored", reason=_NO_BIND, meaning="bind tasks to GPUs",
              apply=_extra("gpu-bind"), usage="[--gpu-bind=...]",
              help="      --gpu-bind=...          task to gpu binding options"),
    _make_row("gpu-freq", env=("SBATCH_GPU_FREQ",), srun_env=("SLURM_GPU_FREQ",), commands=BOTH,
              support="ignored", reason="GPU clocks are set by the instance",
              meaning="GPU frequency", apply=_extra("gpu-freq"), usage="[--gpu-freq=...]",
              help="      --gpu-freq=...          frequency and voltage of GPUs"),
    _make_row("gpus", "G", env=("SBATCH_GPUS",), srun_env=("SLURM_GPUS",), commands=BOTH,
              meaning="GPUs for the whole job ([type:]count)", apply=_gpus, usage="[--gpus=n]",
              help="  -G, --gpus=n                count of GPUs required for the job"),
    _make_row("gpus-per-node", env=("SBATCH_GPUS_PER_NODE",), srun_env=("SLURM_GPUS_PER_NODE",),
              commands=BOTH, meaning="GPUs on each node ([type:]count)", apply=_gpus_per_node,
              usage="[--gpus-per-node=n]",
              help="      --gpus-per-node=n       number of GPUs required per allocated node"),
    _make_row("gpus-per-socket", env=("SBATCH_GPUS_PER_SOCKET",),
              srun_env=("SLURM_GPUS_PER_SOCKET",), commands=BOTH, support="approximated",
              reason="treated as GPUs per node (sockets are not selectable)",
              meaning="GPUs per socket", apply=_gpus_per_socket,
              usage="[--gpus-per-socket=n]",
              help="      --gpus-per-socket=n     number of GPUs required per allocated socket"),
    _make_row("gpus-per-task", env=("SBATCH_GPUS_PER_TASK",), srun_env=("SLURM_GPUS_PER_TASK",),
              commands=BOTH, meaning="GPUs for each task ([type:]count)", apply=_gpus_per_task,
              usage="[--gpus-per-task=n]",
              help="      --gpus-per-task=n       number of GPUs required per spawned task"),
    _make_row("gres", env=("SBATCH_GRES",), srun_env=("SLURM_GRES",), commands=BOTH,
              meaning="generic resources per node (gpu[:type]:count)", apply=_gres,
              usage="[--gres=list]",
              help="      --gres=list             required generic resources per node"),
    _make_row("gres-flags", env=("SBATCH_GRES_FLAGS",), srun_env=("SLURM_GRES_FLAGS",),
              commands=BOTH, support="ignored", reason="GPU binding follows the instance",
              meaning="GRES binding flags", apply=_gres_flags, usage="[--gres-flags=opts]",
              help="      --gres-flags=opts       flags related to GRES management"),
    _make_row("help", "h", arg=NONE, commands=BOTH, early=True,
              meaning="print this help and exit", apply=_help,
              help="  -h, --help                  show this help message"),
    _make_row("het-group", commands=SR, aliases=("pack-group",), support="rejected",
              reason="heterogeneous jobs are not supported",
              meaning="het job components to launch in", apply=_reject(
                  "--het-group: heterogeneous jobs are not supported by slurmshim")),
    _make_row("hint", env=("SBATCH_HINT", "SLURM_HINT"), srun_env=("SLURM_HINT",), commands=BOTH,
              support="ignored", reason=_NO_BIND, meaning="task binding hints",
              apply=_extra("hint")),
    _make_row("hold", "H", arg=NONE, commands=BOTH,
              meaning="submit held (JobHeldUser) until `scontrol release`", apply=_hold,
              usage="[--hold]", help="  -H, --hold                  submit job in held state"),
    _make_row("ignore-pbs", arg=NONE, env=("SBATCH_IGNORE_PBS",),
              meaning="do not look at #PBS/#BSUB lines", apply=_ignore_pbs,
              usage="[--ignore-pbs]",
              help="      --ignore-pbs            Ignore #PBS and #BSUB options in the batch script"),
    _make_row("immediate", "I", arg=OPTIONAL, commands=SR, support="approximated",
              reason="checked once at submission",
              meaning="give up if resources are not available at once", apply=_extra("immediate")),
    _make_row("input", "i", env=("SBATCH_INPUT",), srun_env=("SRUN_INPUT",), commands=BOTH,
              meaning="stdin: a file (sbatch's default /dev/null); srun copies its own stdin to "
                      "every task by default, to task N only with `-i N`, to none with `-i none`",
              apply=_input,
              usage="[--input file]",
              help="  -i, --input=in              file for batch script's standard input"),
    _make_row("interactive", arg=NONE, commands=SR, support="ignored", hidden=True,
              reason="no interactive steps", meaning="interactive step",
              apply=_flag_extra("interactive")),
    _make_row("jobid", commands=SR, srun_env=("SLURM_JOB_ID",), support="mapped",
              meaning="run the step inside an existing job", apply=_extra("jobid")),
    _make_row("job-name", "J", env=("SBATCH_JOB_NAME",), srun_env=("SLURM_JOB_NAME",),
              commands=BOTH, meaning="job name (default: the script's file name)",
              apply=_job_name, usage="[-J jobname]",
              help="  -J, --job-name=jobname      name of job"),
    _make_row("kill-on-bad-exit", "K", arg=OPTIONAL, commands=SR,
              srun_env=("SLURM_KILL_BAD_EXIT",), support="mapped",
              meaning="end the step when a task fails", apply=_extra("kill-on-bad-exit")),
    _make_row("kill-on-invalid-dep", meaning="cancel the job if its dependency can never be met",
              apply=_kill_inv_dep, hidden=True),
    _make_row("label", "l", arg=NONE, commands=SR, srun_env=("SLURM_LABELIO",), support="mapped",
              meaning="prefix output lines with the task number", apply=_flag_extra("label")),
    _make_row("licenses", "L", commands=BOTH, support="approximated",
              reason="licenses are recorded but not counted",
              meaning="licenses the job needs", apply=_licenses, usage="[--licenses=names]",
              help="  -L, --licenses=names        required license, comma separated"),
    _make_row("mail-type", commands=BOTH, support="approximated",
              reason="recorded only: slurmshim has no mail server",
              meaning="events to mail about", apply=_mail_type, usage="[--mail-type=type]",
              help="      --mail-type=type        notify on state change: BEGIN, END, FAIL or ALL"),
    _make_row("mail-user", commands=BOTH, support="approximated",
              reason="recorded only: slurmshim has no mail server",
              meaning="who gets the mail", apply=_mail_user, usage="[--mail-user=user]",
              help="      --mail-user=user        who to send email notification for job state\n"
                   "                              changes"),
    _make_row("threads", "T", commands=SR, srun_env=("SLURM_THREADS",), support="ignored",
              reason="no launch fan-out to tune", meaning="srun launch fan-out",
              apply=_extra("threads")),
    _make_row("mcs-label", commands=BOTH, support="ignored", reason="no MCS plugin",
              meaning="MCS label", apply=_extra("mcs-label"), usage="[--mcs-label=mcs]",
              help="      --mcs-label=mcs         mcs label if mcs plugin mcs/group is used"),
    _make_row("mem", env=("SBATCH_MEM_PER_NODE",), srun_env=("SLURM_MEM_PER_NODE",),
              commands=BOTH, meaning="memory per node (M, G, T suffixes; 0 = the whole node)",
              apply=_mem, usage="[--mem=MB]",
              help="      --mem=MB                minimum amount of real memory"),
    _make_row("mem-bind", env=("SBATCH_MEM_BIND",), srun_env=("SLURM_MEM_BIND",), commands=BOTH,
              support="ignored", reason=_NO_BIND, meaning="bind memory to NUMA domains",
              apply=_extra("mem-bind"), usage="[--mem-bind=...]"),
    _make_row("mem-per-cpu", env=("SBATCH_MEM_PER_CPU",), srun_env=("SLURM_MEM_PER_CPU",),
              commands=BOTH, meaning="memory per allocated CPU", apply=_mem_per_cpu,
              usage="[--mem-per-cpu=MB]",
              help="      --mem-per-cpu=MB        maximum amount of real memory per allocated\n"
                   "                              cpu required by the job.\n"
                   "                              --mem >= --mem-per-cpu if --mem is specified."),
    _make_row("mem-per-gpu", env=("SBATCH_MEM_PER_GPU",), srun_env=("SLURM_MEM_PER_GPU",),
              commands=BOTH, meaning="memory per allocated GPU", apply=_mem_per_gpu,
              usage="[--mem-per-gpu=MB]",
              help="      --mem-per-gpu=n         real memory required per allocated GPU"),
    _make_row("mincpus", commands=BOTH, support="approximated",
              reason="raises --cpus-per-task until each node asks for this many CPUs",
              meaning="minimum CPUs per node",
              apply=_mincpus, usage="[--mincpus=n]",
              help="      --mincpus=n             minimum number of logical processors (threads)\n"
                   "                              per node"),
    _make_row("mpi", commands=SR, srun_env=("SLURM_MPI_TYPE",), support="approximated",
              reason="tasks get PMI-less SLURM_* ranks; MPI libraries bootstrap over the "
                     "hostfile",
              meaning="MPI plugin", apply=_extra("mpi")),
    _make_row("msg-timeout", commands=SR, support="ignored", reason="no slurmd messages",
              meaning="message timeout", apply=_extra("msg-timeout")),
    _make_row("multi-prog", arg=NONE, commands=SR, srun_env=("SLURM_SRUN_MULTI",),
              support="mapped", meaning="run a different program per task (config file)",
              apply=_flag_extra("multi-prog")),
    _make_row("network", env=("SBATCH_NETWORK",), srun_env=("SLURM_NETWORK",), commands=BOTH,
              support="ignored", reason="networking (EFA) is a partition setting",
              meaning="network (switch) options", apply=_extra("network"),
              usage="[--network=type]"),
    _make_row("nice", arg=OPTIONAL, commands=BOTH,
              meaning="lower the job's priority by this much (default 100)", apply=_nice,
              usage="[--nice[=value]]",
              help="      --nice[=value]          decrease scheduling priority by value"),
    _make_row("no-allocate", "Z", arg=NONE, commands=SR, support="rejected",
              reason="every step needs an allocation",
              meaning="launch without an allocation (root)", apply=_reject(
                  "--no-allocate: slurmshim always allocates resources")),
    _make_row("no-kill", "k", arg=OPTIONAL, env=("SBATCH_NO_KILL",), srun_env=("SLURM_NO_KILL",),
              commands=BOTH, meaning="keep running when a node fails (on Batch: a child node; "
              "the main node's end is always the job's)", apply=_no_kill, usage="[--no-kill]",
              help="  -k, --no-kill               do not kill job on node failure"),
    _make_row("no-requeue", arg=NONE, env=("SBATCH_NO_REQUEUE",),
              meaning="never requeue (Spot reclaims are not retried)", apply=_no_requeue,
              usage="[--no-requeue]",
              help="      --no-requeue            if set, do not permit the job to be requeued"),
    _make_row("nodefile", "F", commands=BOTH, support="ignored", reason=_NO_NODES,
              meaning="file listing the nodes to use", apply=_nodefile,
              usage="[--nodefile=file]",
              help="  -F, --nodefile=filename     request a specific list of hosts"),
    _make_row("nodelist", "w", commands=BOTH, support="approximated",
              reason="node names are not selectable; the number of names becomes the node count",
              meaning="nodes to run on", apply=_nodelist, usage="[--nodelist=hosts]",
              help="  -w, --nodelist=hosts...     request a specific list of hosts"),
    _make_row("nodes", "N", commands=BOTH, srun_env=("SLURM_JOB_NUM_NODES",),
              meaning="number of nodes (min[-max]); more than one = a multi-node job",
              apply=_nodes, usage="[-N nnodes]",
              help="  -N, --nodes=N               number of nodes on which to run (N = min[-max])"),
    _make_row("ntasks", "n", commands=BOTH, srun_env=("SLURM_NTASKS", "SLURM_NPROCS"),
              meaning="number of tasks (SLURM_NTASKS, srun ranks)", apply=_ntasks,
              usage="[-n ntasks]",
              help="  -n, --ntasks=ntasks         number of tasks to run"),
    _make_row("ntasks-per-core", commands=BOTH, srun_env=("SLURM_NTASKS_PER_CORE",),
              support="ignored", reason=_NO_TOPO, meaning="tasks per core",
              apply=_int_extra("ntasks-per-core", True, "layout chosen by the instance type"),
              help="      --ntasks-per-core=n     number of tasks to invoke on each core"),
    _make_row("ntasks-per-gpu", commands=BOTH, srun_env=("SLURM_NTASKS_PER_GPU",),
              support="approximated",
              reason="without -n, the task count becomes this times the GPUs of the job",
              meaning="tasks per GPU", apply=_ntasks_per_gpu, hidden=True),
    _make_row("ntasks-per-node", commands=BOTH, srun_env=("SLURM_NTASKS_PER_NODE",),
              aliases=("tasks-per-node",), meaning="tasks on each node", apply=_ntasks_per_node,
              usage="[--ntasks-per-node=n]",
              help="      --ntasks-per-node=n     number of tasks to invoke on each node"),
    _make_row("ntasks-per-socket", commands=BOTH, srun_env=("SLURM_NTASKS_PER_SOCKET",),
              support="ignored", reason=_NO_TOPO, meaning="tasks per socket",
              apply=_int_extra("ntasks-per-socket", True, "layout chosen by the instance type"),
              help="      --ntasks-per-socket=n   number of tasks to invoke on each socket"),
    _make_row("ntasks-per-tres", commands=BOTH, srun_env=("SLURM_NTASKS_PER_TRES",),
              support="approximated",
              reason="without -n, the task count becomes this times the GPUs of the job",
              meaning="tasks per GPU (same as --ntasks-per-gpu)", apply=_ntasks_per_tres,
              hidden=True),
    _make_row("oom-kill-step", arg=OPTIONAL, commands=BOTH, srun_env=("SLURM_OOM_KILL_STEP",),
              support="ignored", reason="an out-of-memory container ends the job",
              meaning="kill the whole step when a task runs out of memory",
              apply=_oom_kill_step, usage="[--oom-kill-step[=0|1]]",
              help="      --oom-kill-step[=0|1]   set the OOMKillStep behaviour"),
    _make_row("open-mode", env=("SBATCH_OPEN_MODE",), srun_env=("SLURM_OPEN_MODE",),
              commands=BOTH, meaning="append to or truncate the output files",
              apply=_open_mode),
    _make_row("output", "o", env=("SBATCH_OUTPUT",), srun_env=("SRUN_OUTPUT",), commands=BOTH,
              meaning="file for the job's stdout (default slurm-%j.out; patterns %j %A %a %x ...)",
              apply=_output, usage="[--output file]",
              help="  -o, --output=out            file for batch script's standard output"),
    _make_row("overcommit", "O", arg=NONE, env=("SBATCH_OVERCOMMIT",),
              srun_env=("SLURM_OVERCOMMIT",), commands=BOTH, support="mapped",
              meaning="allocate one task's CPUs per node; srun may start more tasks than CPUs",
              apply=_overcommit, usage="[--overcommit]",
              help="  -O, --overcommit            overcommit resources"),
    _make_row("overlap", arg=OPTIONAL, commands=SR, srun_env=("SLURM_OVERLAP",), support="mapped",
              meaning="the step may share resources with other steps",
              apply=_flag_extra("overlap")),
    _make_row("oversubscribe", "s", arg=NONE, commands=BOTH, support="ignored",
              reason="cloud nodes are not shared between jobs",
              meaning="share nodes with other jobs", apply=_oversubscribe,
              usage="[--oversubscribe]",
              help="  -s, --oversubscribe         over subscribe resources with other jobs"),
    _make_row("parsable", arg=NONE, meaning="print only the job id", apply=_parsable,
              usage="[--parsable]",
              help="      --parsable              outputs only the jobid and cluster name (if present),\n"
                   "                              separated by semicolon, only on successful submission."),
    _make_row("partition", "p", env=("SBATCH_PARTITION",), srun_env=("SLURM_PARTITION",),
              commands=BOTH, meaning="partition (a configured local or AWS Batch queue)",
              apply=_partition, usage="[-p partition]",
              help="  -p, --partition=partition   partition requested"),
    _make_row("prefer", commands=BOTH, support="ignored", hidden=True,
              reason="soft feature preferences are not used",
              meaning="preferred node features", apply=_extra("prefer")),
    _make_row("preserve-env", "E", arg=NONE, commands=SR, support="mapped",
              meaning="keep SLURM_NNODES/SLURM_NTASKS from the environment",
              apply=_flag_extra("preserve-env")),
    _make_row("priority", commands=BOTH, meaning="job priority (operators only in Slurm)",
              apply=_priority,
              help="      --priority=value        set the priority of the job to value"),
    _make_row("profile", env=("SBATCH_PROFILE",), srun_env=("SLURM_PROFILE",), commands=BOTH,
              support="ignored", reason="no HDF5 profiling", meaning="profiling data to gather",
              apply=_profile, usage="[--profile=...]",
              help="      --profile=value         enable acct_gather_profile for detailed data\n"
                   "                              value is all or none or any combination of\n"
                   "                              energy, lustre, network or task"),
    _make_row("prolog", commands=SR, srun_env=("SLURM_PROLOG",), support="mapped",
              meaning="run a program before the step", apply=_extra("prolog")),
    _make_row("propagate", arg=OPTIONAL, commands=BOTH, support="ignored",
              reason="resource limits of the container come from the job definition",
              meaning="propagate resource limits (ulimits)", apply=_propagate,
              usage="[--propagate]",
              help="      --propagate[=rlimits]   propagate all [or specific list of] rlimits"),
    _make_row("pty", arg=OPTIONAL, commands=SR, support="rejected",
              reason="no interactive terminals on the backend",
              meaning="run task 0 in a pseudo terminal",
              apply=_reject("--pty: interactive terminals are not supported by slurmshim")),
    _make_row("qos", "q", env=("SBATCH_QOS",), srun_env=("SLURM_QOS",), commands=BOTH,
              meaning="quality of service (recorded)", apply=_qos, usage="[--qos=qos]",
              help="  -q, --qos=qos               quality of service"),
    _make_row("quiet", "Q", arg=NONE, commands=BOTH, early=True,
              meaning="no informational messages, no 'Submitted batch job' line",
              apply=_quiet,
              help="  -Q, --quiet                 quiet mode (suppress informational messages)"),
    _make_row("quit-on-interrupt", arg=NONE, commands=SR, support="mapped",
              meaning="one Ctrl-C ends srun", apply=_flag_extra("quit-on-interrupt")),
    _make_row("reboot", arg=NONE, commands=BOTH, support="ignored",
              reason="every job already gets freshly booted instances",
              meaning="reboot nodes before the job", apply=_flag_extra("reboot"),
              usage="[--reboot]",
              help="      --reboot                reboot compute nodes before starting job"),
    _make_row("relative", "r", commands=SR, support="approximated",
              reason="steps start on the job's nodes in order",
              meaning="start the step at node N of the allocation", apply=_extra("relative")),
    _make_row("requeue", arg=OPTIONAL, env=("SBATCH_REQUEUE",),
              meaning="allow requeueing (Spot reclaims are retried)", apply=_requeue,
              usage="[--requeue[=expedite]]",
              help="      --requeue[=expedite]   if set, permit the job to be requeued"),
    _make_row("resources", commands=BOTH, support="ignored", hidden=True,
              reason="no hierarchical resources", meaning="hierarchical resources",
              apply=_extra("resources")),
    _make_row("reservation", env=("SBATCH_RESERVATION",), srun_env=("SLURM_RESERVATION",),
              commands=BOTH, support="ignored",
              reason="there are no reservations; the job runs in its partition",
              meaning="run in a reservation", apply=_reservation,
              usage="[--reservation=name]",
              help="      --reservation=name      allocate resources from named reservation"),
    _make_row("resv-ports", arg=OPTIONAL, commands=BOTH, srun_env=("SLURM_RESV_PORTS",),
              support="ignored", reason="no port reservation (Cray PMI)",
              meaning="reserve communication ports", apply=_resv_ports,
              help="      --resv-ports            reserve communication ports"),
    _make_row("segment", env=("SBATCH_SEGMENT_SIZE",), srun_env=("SRUN_SEGMENT_SIZE",),
              commands=BOTH, support="ignored", reason="no block topology",
              meaning="segment size for block topologies", apply=_segment, hidden=True),
    _make_row("send-libs", arg=OPTIONAL, commands=SR, srun_env=("SLURM_SEND_LIBS",),
              support="ignored", reason="every node sees the same container image",
              meaning="broadcast shared libraries with --bcast", apply=_extra("send-libs")),
    _make_row("signal", env=("SBATCH_SIGNAL",), srun_env=("SLURM_SIGNAL",), commands=BOTH,
              meaning="send a signal this long before the time limit ([R|B:]SIG[@secs])",
              apply=_signal,
              help="      --signal=[[R][B]:]num[@time] send signal when time limit within time seconds"),
    _make_row("slurmd-debug", commands=SR, support="ignored", reason="there is no slurmd",
              meaning="slurmd debug level", apply=_extra("slurmd-debug")),
    _make_row("sockets-per-node", commands=BOTH, srun_env=("SLURM_NSOCKETS_PER_NODE",),
              support="ignored", reason=_NO_TOPO, meaning="sockets per node",
              apply=_int_extra("sockets-per-node", True, "layout chosen by the instance type"),
              help="      --sockets-per-node=S    number of sockets per node to allocate"),
    _make_row("spread-job", arg=NONE, env=("SBATCH_SPREAD_JOB",), srun_env=("SLURM_SPREAD_JOB",),
              commands=BOTH, support="ignored",
              reason="nodes are sized by the request, not spread",
              meaning="spread over as many nodes as possible", apply=_flag_extra("spread-job"),
              usage="[--spread-job]",
              help="      --spread-job            spread job across as many nodes as possible"),
    _make_row("spread-segments", arg=NONE, env=("SBATCH_SPREAD_SEGMENTS",),
              srun_env=("SLURM_SPREAD_SEGMENTS",), commands=BOTH, support="ignored",
              reason="no block topology", meaning="spread segments over base blocks",
              apply=_flag_extra("spread-segments"), usage="[--spread-segments]",
              help="      --spread-segments       spread job segments across separate base blocks"),
    _make_row("stepmgr", arg=NONE, commands=BOTH, support="ignored", hidden=True,
              reason="steps are managed inside the job already",
              meaning="step management in slurmstepd", apply=_flag_extra("stepmgr")),
    _make_row("switches", env=("SBATCH_REQ_SWITCH", "SBATCH_WAIT4SWITCH"),
              srun_env=("SLURM_REQ_SWITCH", "SLURM_WAIT4SWITCH"), commands=BOTH,
              support="ignored", reason="no control over the network topology",
              meaning="maximum leaf switches [@max wait]", apply=_switches,
              usage="[--switches=max-switches{@max-time-to-wait}]",
              help="      --switches=max-switches{@max-time-to-wait}\n"
                   "                              Optimum switches and max time to wait for optimum"),
    _make_row("task-epilog", commands=SR, srun_env=("SLURM_TASK_EPILOG",), support="mapped",
              meaning="run a program after each task", apply=_extra("task-epilog")),
    _make_row("task-prolog", commands=SR, srun_env=("SLURM_TASK_PROLOG",), support="mapped",
              meaning="run a program before each task", apply=_extra("task-prolog")),
    _make_row("test-only", arg=NONE, commands=BOTH,
              meaning="submit nothing; say when and where the job would run, and the plan",
              apply=_test_only),
    _make_row("thread-spec", env=("SBATCH_THREAD_SPEC",), srun_env=("SLURM_THREAD_SPEC",),
              commands=BOTH, support="ignored",
              reason="no threads are reserved for system use on cloud instances",
              meaning="threads reserved for system use", apply=_thread_spec,
              usage="[--thread-spec=threads]",
              help="      --thread-spec=threads   count of reserved threads"),
    _make_row("threads-per-core", env=("SBATCH_THREADS_PER_CORE",),
              srun_env=("SLURM_THREADS_PER_CORE",), commands=BOTH, support="ignored",
              reason=_NO_TOPO, meaning="hardware threads per core",
              apply=_int_extra("threads-per-core", True, "layout chosen by the instance type"),
              help="      --threads-per-core=T    number of threads per core to allocate"),
    _make_row("time", "t", env=("SBATCH_TIMELIMIT",), srun_env=("SLURM_TIMELIMIT",),
              commands=BOTH, meaning="time limit (M, M:S, H:M:S, D-H[:M[:S]]; 0 = none); "
              "enforced on every backend", apply=_time, usage="[-t minutes]",
              help="  -t, --time=minutes          time limit"),
    _make_row("time-min", commands=BOTH, meaning="minimum time limit (recorded)",
              apply=_time_min, usage="[--time-min=minutes]",
              help="      --time-min=minutes      minimum time limit (if distinct)"),
    _make_row("tmp", commands=BOTH, meaning="temporary disk per node", apply=_tmp,
              usage="[--tmp=MB]",
              help="      --tmp=MB                minimum amount of temporary disk"),
    _make_row("treewidth", commands=SR, support="ignored", reason="no message fan-out",
              meaning="slurmd message fan-out", apply=_extra("treewidth")),
    _make_row("tres-bind", env=("SBATCH_TRES_BIND",), srun_env=("SLURM_TRES_BIND",),
              commands=BOTH, support="ignored", reason=_NO_BIND, meaning="bind tasks to TRES",
              apply=_extra("tres-bind"), usage="[--tres-bind=...]",
              help="      --tres-bind=...         task to tres binding options"),
    _make_row("tres-per-task", env=("SBATCH_TRES_PER_TASK",), srun_env=("SLURM_TRES_PER_TASK",),
              commands=BOTH, support="approximated",
              reason="only cpu=N and gres/gpu=N are honoured",
              meaning="TRES for each task", apply=_tres_per_task,
              usage="[--tres-per-task=list]",
              help="      --tres-per-task=list    list of tres required per task"),
    _make_row("uid", support="ignored", reason="the job runs as the container's user",
              meaning="user to run the job as (root only)", apply=_uid, usage="[--uid=user]",
              help="      --uid=user_id           user ID to run job as (user root only)"),
    _make_row("unbuffered", "u", arg=NONE, commands=SR, srun_env=("SLURM_UNBUFFEREDIO",),
              support="mapped", meaning="do not line-buffer task output",
              apply=_flag_extra("unbuffered")),
    _make_row("use-min-nodes", arg=NONE, env=("SBATCH_USE_MIN_NODES",),
              srun_env=("SLURM_USE_MIN_NODES",), commands=BOTH,
              meaning="with a node range, use the minimum (always the case here)",
              apply=_use_min_nodes, usage="[--use-min-nodes]",
              help="      --use-min-nodes         if a range of node counts is given, prefer the\n"
                   "                              smaller count"),
    _make_row("verbose", "v", arg=NONE, env=("SBATCH_DEBUG",), srun_env=("SLURM_DEBUG",),
              commands=BOTH, early=True, meaning="more messages", apply=_verbose,
              usage="[--verbose]",
              help="  -v, --verbose               verbose mode (multiple -v's increase verbosity)"),
    _make_row("version", "V", arg=NONE, commands=BOTH, early=True,
              meaning=f"print the version ({SLURM_VERSION}) and exit", apply=_version,
              help="  -V, --version               output version information and exit"),
    _make_row("usage", arg=NONE, commands=BOTH, early=True,
              meaning="print a short usage message and exit", apply=_usage,
              help="      --usage                 display brief usage message"),
    _make_row("wait", "W", arg=NONE, env=("SBATCH_WAIT",),
              meaning="wait for the job to end and exit with its exit code", apply=_wait,
              usage="[--wait]",
              help="  -W, --wait                  wait for completion of submitted job"),
    _make_row("wait-all-nodes", env=("SBATCH_WAIT_ALL_NODES",), support="approximated",
              reason="multi-node jobs always start once all their nodes are up",
              meaning="start only when all nodes are ready", apply=_wait_all_nodes),
    _make_row("wait-for-children", arg=NONE, commands=SR, support="mapped",
              meaning="a task ends when all its processes end",
              apply=_flag_extra("wait-for-children")),
    _make_row("wckey", env=("SBATCH_WCKEY",), srun_env=("SLURM_WCKEY",), commands=BOTH,
              meaning="workload characterization key (recorded)", apply=_wckey,
              help="      --wckey=wckey           wckey to run job under"),
    _make_row("whole", arg=NONE, commands=SR, support="mapped",
              meaning="the step gets whole nodes", apply=_flag_extra("whole")),
    _make_row("wrap", early=True, meaning="submit a one-line command instead of a script",
              apply=_wrap,
              help="      --wrap[=command string] wrap command string in a sh script and submit"),
    _make_row("x11", arg=OPTIONAL, commands=SR, support="rejected",
              reason="no X11 forwarding from cloud nodes",
              meaning="X11 forwarding", apply=_reject(
                  "--x11: X11 forwarding is not supported by slurmshim")),
)

# srun's --wait takes seconds (a different option sharing the name and letter)
SRUN_WAIT = _make_row("wait", "W", commands=SR, srun_env=("SLURM_WAIT",), support="mapped",
                      meaning="seconds to wait for the other tasks after the first one exits",
                      apply=_extra("wait"))

# The order of Slurm's common_options[] (slurm_opt.c): getopt's tables are built in this order,
# which decides how an ambiguous abbreviation lists its possibilities.
SLURM_TABLE_ORDER: tuple[str, ...] = (
    "accel-bind", "account", "acctg-freq", "array", "autocomplete", "batch", "bcast",
    "bcast-exclude", "begin", "bell", "bb", "bbf", "cluster-constraint", "chdir", "cluster",
    "clusters", "comment", "compress", "consolidate-segments", "container", "container-id",
    "context", "contiguous", "constraint", "core-spec", "cores-per-socket", "cpu-bind", "cpu_bind",
    "cpu-freq", "cpus-per-gpu", "cpus-per-task", "deadline", "debugger-test", "delay-boot",
    "dependency", "disable-status", "distribution", "epilog", "error", "exact", "exclude",
    "exclusive", "export", "export-file", "external", "external-launcher", "extra",
    "extra-node-info", "get-user-env", "gid", "gpu-bind", "gpu-freq", "gpus", "gpus-per-node",
    "gpus-per-socket", "gpus-per-task", "gres", "gres-flags", "help", "het-group", "hint", "hold",
    "ignore-pbs", "immediate", "input", "interactive", "jobid", "job-name", "kill-command",
    "kill-on-bad-exit", "kill-on-invalid-dep", "label", "licenses", "mail-type", "mail-user",
    "threads", "mcs-label", "mem", "mem-bind", "mem-per-cpu", "mem-per-gpu", "mincpus", "mpi",
    "msg-timeout", "multi-prog", "network", "nice", "no-allocate", "no-bell", "no-kill",
    "no-shell", "no-requeue", "nodefile", "nodelist", "nodes", "ntasks", "ntasks-per-core",
    "ntasks-per-gpu", "ntasks-per-node", "ntasks-per-socket", "ntasks-per-tres", "oom-kill-step",
    "open-mode", "output", "overcommit", "overlap", "oversubscribe", "pack-group", "parsable",
    "partition", "prefer", "preserve-env", "priority", "profile", "prolog", "propagate", "pty",
    "qos", "quiet", "quit-on-interrupt", "reboot", "relative", "requeue", "resources",
    "reservation", "resv-ports", "segment", "send-libs", "signal", "slurmd-debug",
    "sockets-per-node", "spread-job", "spread-segments", "stepmgr", "switches", "task-epilog",
    "task-prolog", "tasks-per-node", "test-only", "thread-spec", "threads-per-core", "time",
    "time-min", "tmp", "treewidth", "tres-bind", "tres-per-task", "uid", "unbuffered",
    "use-min-nodes", "verbose", "version", "usage", "wait", "wait-all-nodes", "wait-for-children",
    "wckey", "whole", "wrap", "x11",
)

# accel-bind is srun-only; it sits first in Slurm's table
ROWS = (_make_row("accel-bind", commands=SR, support="ignored", reason=_NO_BIND,
                  meaning="bind tasks to accelerators", apply=_extra("accel-bind")),) + ROWS

# sbatch's input environment variables in the order sbatch reads them (opt.c env_vars[]);
# SBATCH_IGNORE_PBS and SBATCH_DEBUG are read earlier (early_env_vars[]).
SBATCH_EARLY_ENV: tuple[tuple[str, str], ...] = (
    ("SBATCH_IGNORE_PBS", "ignore-pbs"), ("SBATCH_DEBUG", "verbose"))
SBATCH_ENV_ORDER: tuple[tuple[str, str], ...] = (
    ("SBATCH_ACCOUNT", "account"), ("SBATCH_ARRAY_INX", "array"),
    ("SBATCH_ACCTG_FREQ", "acctg-freq"), ("SBATCH_BATCH", "batch"),
    ("SBATCH_BURST_BUFFER", "bb"), ("SBATCH_CLUSTER_CONSTRAINT", "cluster-constraint"),
    ("SBATCH_CLUSTERS", "clusters"), ("SLURM_CLUSTERS", "clusters"),
    ("SBATCH_CONSOLIDATE_SEGMENTS", "consolidate-segments"), ("SBATCH_CONTAINER", "container"),
    ("SBATCH_CONTAINER_ID", "container-id"), ("SBATCH_CONSTRAINT", "constraint"),
    ("SBATCH_CORE_SPEC", "core-spec"), ("SBATCH_CPU_FREQ_REQ", "cpu-freq"),
    ("SBATCH_CPUS_PER_GPU", "cpus-per-gpu"), ("SBATCH_DELAY_BOOT", "delay-boot"),
    ("SBATCH_DISTRIBUTION", "distribution"), ("SBATCH_EXCLUSIVE", "exclusive"),
    ("SBATCH_EXPORT", "export"), ("SBATCH_GET_USER_ENV", "get-user-env"),
    ("SBATCH_GRES", "gres"), ("SBATCH_GRES_FLAGS", "gres-flags"), ("SBATCH_GPUS", "gpus"),
    ("SBATCH_GPU_BIND", "gpu-bind"), ("SBATCH_GPU_FREQ", "gpu-freq"),
    ("SBATCH_GPUS_PER_NODE", "gpus-per-node"), ("SBATCH_GPUS_PER_SOCKET", "gpus-per-socket"),
    ("SBATCH_GPUS_PER_TASK", "gpus-per-task"), ("SLURM_HINT", "hint"), ("SBATCH_HINT", "hint"),
    ("SBATCH_JOB_NAME", "job-name"), ("SBATCH_MEM_BIND", "mem-bind"),
    ("SBATCH_MEM_PER_CPU", "mem-per-cpu"), ("SBATCH_MEM_PER_GPU", "mem-per-gpu"),
    ("SBATCH_MEM_PER_NODE", "mem"), ("SBATCH_NETWORK", "network"), ("SBATCH_NO_KILL", "no-kill"),
    ("SBATCH_NO_REQUEUE", "no-requeue"), ("SBATCH_OPEN_MODE", "open-mode"),
    ("SBATCH_OVERCOMMIT", "overcommit"), ("SBATCH_PARTITION", "partition"),
    ("SBATCH_POWER", "-power"), ("SBATCH_PROFILE", "profile"), ("SBATCH_QOS", "qos"),
    ("SBATCH_REQ_SWITCH", "-switch-req"), ("SBATCH_REQUEUE", "requeue"),
    ("SBATCH_RESERVATION", "reservation"), ("SBATCH_SEGMENT_SIZE", "segment"),
    ("SBATCH_SIGNAL", "signal"), ("SBATCH_SPREAD_JOB", "spread-job"),
    ("SBATCH_SPREAD_SEGMENTS", "spread-segments"), ("SBATCH_THREAD_SPEC", "thread-spec"),
    ("SBATCH_THREADS_PER_CORE", "threads-per-core"), ("SBATCH_TIMELIMIT", "time"),
    ("SBATCH_TRES_BIND", "tres-bind"), ("SBATCH_TRES_PER_TASK", "tres-per-task"),
    ("SBATCH_USE_MIN_NODES", "use-min-nodes"), ("SBATCH_WAIT", "wait"),
    ("SBATCH_WAIT_ALL_NODES", "wait-all-nodes"), ("SBATCH_WAIT4SWITCH", "-switch-wait"),
    ("SBATCH_WCKEY", "wckey"), ("SBATCH_ERROR", "error"), ("SBATCH_INPUT", "input"),
    ("SBATCH_OUTPUT", "output"),
)

# Input variables of sbatch that are not options: documented for the support report.
SBATCH_OTHER_ENV: dict[str, str] = {
    "SLURM_EXIT_ERROR": "exit code for sbatch errors (default 1)",
    "SLURM_CONF": "ignored: slurmshim reads $SLURMSHIM_CONF",
    "SLURM_DEBUG_FLAGS": "ignored",
    "SLURM_UMASK": "umask of the job (default: sbatch's)",
    "SLURM_STEP_KILLED_MSG_NODE_ID": "ignored",
    "SBATCH_POWER": "ignored: --power no longer exists in Slurm 25.11",
}


# ---------------------------------------------------------------------------------------------
# lookups and getopt tables
# ---------------------------------------------------------------------------------------------
def _index() -> dict[str, dict[str, OptionRow]]:
    out: dict[str, dict[str, OptionRow]] = {"sbatch": {}, "srun": {}}
    for row in ROWS:
        for cmd in row.commands:
            for name in row.names:
                out[cmd][name] = row
    for name in SRUN_WAIT.names:
        out["srun"][name] = SRUN_WAIT
    return out


BY_NAME: dict[str, dict[str, OptionRow]] = _index()


def rows_for(command: str) -> list[OptionRow]:
    """The rows of one command, in Slurm's table order, each once."""
    seen: list[OptionRow] = []
    for name in SLURM_TABLE_ORDER:
        row = BY_NAME.get(command, {}).get(name)
        if row is not None and row not in seen and row.long == name:
            seen.append(row)
    return seen


def row(command: str, name: str) -> OptionRow:
    return BY_NAME[command][name]


_GETOPT_CACHE: dict[str, list[_getopt.Option]] = {}


def getopt_options(command: str = "sbatch") -> list[_getopt.Option]:
    """The getopt table of a command: one entry per long name (aliases included) in Slurm's
    order; the key of every entry is its :class:`OptionRow`."""
    if command not in _GETOPT_CACHE:
        table: list[_getopt.Option] = []
        shorts_used: set[str] = set()
        by = BY_NAME[command]
        for name in SLURM_TABLE_ORDER:
            r = by.get(name)
            if r is None:
                continue
            short = r.short if (name == r.long and r.short and r.short not in shorts_used) else None
            if short:
                shorts_used.add(short)
            table.append(_getopt.Option(name, short, _HAS_ARG[r.arg], r))
        _GETOPT_CACHE[command] = table
    return _GETOPT_CACHE[command]


def getopt_for(command: str = "sbatch") -> _getopt.Getopt:
    """sbatch and srun stop at the first operand (Slurm's optstring starts with '+')."""
    return _getopt.Getopt(getopt_options(command), mode=_getopt.REQUIRE_ORDER)


def env_option(var: str) -> OptionRow | None:
    for name, long in SBATCH_EARLY_ENV + SBATCH_ENV_ORDER:
        if name == var:
            return BY_NAME["sbatch"].get(long)
    return None


# ---------------------------------------------------------------------------------------------
# help, usage, autocomplete
# ---------------------------------------------------------------------------------------------
SBATCH_HELP_LAYOUT: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Parallel run options:", (
        "array", "account", "bb", "bbf", "begin", "comment", "cpu-freq", "cpus-per-task",
        "dependency", "deadline", "delay-boot", "chdir", "error", "export", "export-file",
        "get-user-env", "gid", "gres", "gres-flags", "hold", "ignore-pbs", "input", "job-name",
        "no-kill", "licenses", "clusters", "container", "container-id", "distribution",
        "mail-type", "mail-user", "mcs-label", "ntasks", "nice", "no-requeue", "ntasks-per-node",
        "nodes", "oom-kill-step", "output", "overcommit", "partition", "parsable", "-power",
        "priority", "profile", "propagate", "qos", "quiet", "reboot", "requeue", "oversubscribe",
        "core-spec", "signal", "spread-job", "spread-segments", "switches", "thread-spec", "time",
        "time-min", "tres-bind", "tres-per-task", "uid", "use-min-nodes", "verbose", "wait",
        "wckey", "wrap")),
    ("Constraint options:", (
        "cluster-constraint", "contiguous", "constraint", "nodefile", "mem", "mincpus",
        "reservation", "tmp", "nodelist", "exclude")),
    ("Consumable resources related options:", ("exclusive", "mem-per-cpu", "resv-ports")),
    ("Affinity/Multi-core options: (when the task/affinity plugin is enabled)\n"
     "                              For the following 4 options, you are\n"
     "                              specifying the minimum resources available for\n"
     "                              the node(s) allocated to the job.", (
         "sockets-per-node", "cores-per-socket", "threads-per-core", "extra-node-info", "",
         "ntasks-per-core", "ntasks-per-socket")),
    ("GPU scheduling options:", (
        "cpus-per-gpu", "gpus", "gpu-bind", "gpu-freq", "gpus-per-node", "gpus-per-socket",
        "gpus-per-task", "mem-per-gpu")),
    ("Help options:", ("help", "usage")),
    ("Other options:", ("version",)),
)
_POWER_HELP = "      --power=flags           power management options"

SBATCH_USAGE_LAYOUT: tuple[tuple[str, ...], ...] = (
    ("nodes", "ntasks"),
    ("cpus-per-task", "-r n", "partition", "hold", "parsable", "time"),
    ("chdir-D", "no-kill", "overcommit"),
    ("input", "output", "error"),
    ("time-min", "licenses", "clusters"),
    ("chdir", "oversubscribe", "distribution", "job-name"),
    ("verbose", "gid", "uid"),
    ("contiguous", "mincpus", "mem", "tmp", "constraint"),
    ("account", "dependency", "comment"),
    ("mail-type", "mail-user", "nice", "wait"),
    ("requeue", "no-requeue", "ntasks-per-node"),
    ("propagate", "nodefile", "nodelist", "exclude"),
    ("network", "mem-per-cpu", "qos", "gres"),
    ("mem-bind", "reservation", "mcs-label"),
    ("cpu-freq", "-power", "gres-flags"),
    ("switches", "reboot"),
    ("core-spec", "thread-spec"),
    ("bb", "bbf"),
    ("array", "profile", "ignore-pbs", "spread-job"),
    ("spread-segments",),
    ("export", "export-file", "delay-boot"),
    ("use-min-nodes",),
    ("cpus-per-gpu", "-gpus", "gpu-bind", "gpu-freq"),
    ("gpus-per-node", "gpus-per-socket", "gpus-per-task"),
    ("mem-per-gpu", "tres-bind", "tres-per-task"),
    ("oom-kill-step",),
)
_USAGE_EXTRA = {"-r n": "[-r n]", "chdir-D": "[-D path]", "-power": "[--power=flags]",
                "-gpus": "[--gpus=n]"}


def help_text(command: str = "sbatch") -> str:
    """``sbatch --help``, built from the rows' help lines in Slurm's layout (the spank and
    task/affinity-only lines are absent, as on a cluster with TaskPlugin=task/none)."""
    if command != "sbatch":
        return _generic_help(command)
    by = BY_NAME["sbatch"]
    out = ["Usage: sbatch [OPTIONS(0)...] [ : [OPTIONS(N)...]] script(0) [args(0)...]\n"]
    for title, names in SBATCH_HELP_LAYOUT:
        out.append("\n" + title + "\n")
        for name in names:
            if name == "":
                out.append("\n")
            elif name == "-power":
                out.append(_POWER_HELP + "\n")
            else:
                out.append(by[name].help + "\n")
    out.append("\n")
    return "".join(out)


def _generic_help(command: str) -> str:
    lines = [f"Usage: {command} [OPTIONS(0)... [executable(0) [args(0)...]]]\n", "\n"]
    for r in rows_for(command):
        if r.hidden:
            continue
        lines.append(format_help_line(r) + "\n")
    return "".join(lines)


def format_help_line(r: OptionRow) -> str:
    """A help line in Slurm's layout for rows without a verbatim one."""
    if r.help:
        return r.help
    left = ("  -%s, " % r.short) if r.short else "      "
    left += f"--{r.long}"
    if r.arg == REQUIRED:
        left += "=" + (r.metavar or "value")
    elif r.arg == OPTIONAL:
        left += "[=" + (r.metavar or "value") + "]"
    left = left.ljust(30) if len(left) < 30 else left + " "
    return left + r.meaning


def usage_text(command: str = "sbatch") -> str:
    """``sbatch --usage``, built from the rows' usage fragments in Slurm's layout."""
    if command != "sbatch":
        return f"Usage: {command} [OPTIONS(0)... [executable(0) [args(0)...]]]\n"
    by = BY_NAME["sbatch"]
    lines = []
    for i, names in enumerate(SBATCH_USAGE_LAYOUT):
        frags = []
        for n in names:
            if n in _USAGE_EXTRA:
                frags.append(_USAGE_EXTRA[n])
            else:
                frags.append(by[n].usage)
        prefix = "Usage: sbatch " if i == 0 else "              "
        lines.append(prefix + " ".join(frags) + "\n")
    lines.append("              executable [args...]\n")
    return "".join(lines)


def autocomplete(query: str, command: str = "sbatch") -> str:
    """``--autocomplete=WORD`` (slurm_opt.c ``suggest_completion``): matching flags, one a line,
    followed by an empty line; nothing at all when nothing matches."""
    if not query:
        return ""
    query_short = query[0] == "-" or query[0].isalpha()
    query_long = len(query) > 1 or query[0].isalpha()
    out: list[str] = []
    for opt in getopt_options(command):
        if opt.short and query_short:
            flag = f"-{opt.short}"
            if query in flag:
                out.append(flag + "\n")
        if opt.long and query_long:
            flag = f"--{opt.long}"
            if query not in flag:
                continue
            if opt.has_arg:
                out.append(f"{flag}=\n")
            if opt.has_arg == _getopt.OPTIONAL_ARGUMENT:
                out.append(f"{flag} \n")
            if opt.has_arg == _getopt.NO_ARGUMENT:
                out.append(f"{flag}\n")
    return ("".join(out) + "\n") if out else ""


def support_report(command: str = "sbatch") -> list[tuple[str, str, str]]:
    """``(option, support, meaning-or-reason)`` for every documented option of a command."""
    out = []
    for r in rows_for(command):
        level = r.support_for(command)
        why = r.reason_for(command)
        text = r.meaning + (f" ({why})" if why and level != "mapped" else "")
        out.append((("-%s, " % r.short if r.short else "") + f"--{r.long}", level, text))
    return out


def iter_rows(commands: Iterable[str] = ("sbatch", "srun")) -> Iterable[OptionRow]:
    seen = set()
    for cmd in commands:
        for r in rows_for(cmd):
            if id(r) not in seen:
                seen.add(id(r))
                yield r
