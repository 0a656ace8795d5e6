"""squeue: view the job queue, as Slurm 25.11's squeue (src/squeue/opts.c, squeue.c).

Command line, environment (SQUEUE_*), error texts and exit codes follow Slurm:

* getopt_long with argument permutation; a getopt diagnostic is followed by
  `Try "squeue --help" for more information` and exit 1;
* `-j` takes an optional argument: `-j1008`, `--jobs=1008`, or the next operand (`-j 1008`);
  a second stray operand gives `squeue: error: Unrecognized option: X`, the usage, exit 1;
* a single `-j` id the controller does not know: `slurm_load_jobs error: Invalid job id
  specified`, exit 1 (several ids: unknown ones are simply absent);
* `-u nosuchuser`: `squeue: error: Invalid user: nosuchuser` plus an empty line, header only,
  exit 0;
* an invalid `-o` letter: `squeue: error: Invalid job format specification: X`, output goes on,
  exit 0; an invalid `-S` key: the header, then `squeue: error: Invalid sort specification: X`,
  exit 1.

`parse_args` and `build_filter` are pure (environment and user lookup are parameters) so the
whole command line can be tested without a ledger.
"""
from __future__ import annotations

import os
import sys
from .._dataclass import dataclass, field
from typing import Callable, Mapping

from .. import SLURM_VERSION
from ..errors import InvalidJobId, SlurmError
from ..slurm.getopt import NO_ARGUMENT, OPTIONAL_ARGUMENT, REQUIRED_ARGUMENT, Getopt, Option, \
    usage_error
from .common import run_main

PROG = "squeue"

# opts.c long_options, in its order (abbreviations and ambiguity listings depend on it)
_LONG = [
    ("autocomplete", REQUIRED_ARGUMENT, "autocomplete"),
    ("accounts", REQUIRED_ARGUMENT, "A"),
    ("all", NO_ARGUMENT, "a"),
    ("array", NO_ARGUMENT, "r"),
    ("expand-patterns", NO_ARGUMENT, "expand-patterns"),
    ("Format", REQUIRED_ARGUMENT, "O"),
    ("format", REQUIRED_ARGUMENT, "o"),
    ("federation", NO_ARGUMENT, "federation"),
    ("help", NO_ARGUMENT, "help"),
    ("helpstate", NO_ARGUMENT, "helpstate"),
    ("helpformat", NO_ARGUMENT, "helpformat"),
    ("helpFormat", NO_ARGUMENT, "helpFormat"),
    ("hide", NO_ARGUMENT, "hide"),
    ("iterate", REQUIRED_ARGUMENT, "i"),
    ("jobs", OPTIONAL_ARGUMENT, "j"),
    ("local", NO_ARGUMENT, "local"),
    ("long", NO_ARGUMENT, "l"),
    ("licenses", REQUIRED_ARGUMENT, "L"),
    ("cluster", REQUIRED_ARGUMENT, "M"),
    ("clusters", REQUIRED_ARGUMENT, "M"),
    ("me", NO_ARGUMENT, "me"),
    ("name", REQUIRED_ARGUMENT, "n"),
    ("noconvert", NO_ARGUMENT, "noconvert"),
    ("node", REQUIRED_ARGUMENT, "w"),
    ("nodes", REQUIRED_ARGUMENT, "w"),
    ("nodelist", REQUIRED_ARGUMENT, "w"),
    ("noheader", NO_ARGUMENT, "h"),
    ("notme", NO_ARGUMENT, "notme"),
    ("only-job-state", NO_ARGUMENT, "only-job-state"),
    ("partitions", REQUIRED_ARGUMENT, "p"),
    ("priority", NO_ARGUMENT, "P"),
    ("qos", REQUIRED_ARGUMENT, "q"),
    ("reservation", REQUIRED_ARGUMENT, "R"),
    ("running-over", REQUIRED_ARGUMENT, "running-over"),
    ("running-under", REQUIRED_ARGUMENT, "running-under"),
    ("sib", NO_ARGUMENT, "sibling"),
    ("sibling", NO_ARGUMENT, "sibling"),
    ("sort", REQUIRED_ARGUMENT, "S"),
    ("start", NO_ARGUMENT, "start"),
    ("steps", OPTIONAL_ARGUMENT, "s"),
    ("states", REQUIRED_ARGUMENT, "t"),
    ("usage", NO_ARGUMENT, "usage"),
    ("user", REQUIRED_ARGUMENT, "u"),
    ("users", REQUIRED_ARGUMENT, "u"),
    ("verbose", NO_ARGUMENT, "v"),
    ("version", NO_ARGUMENT, "V"),
    ("json", OPTIONAL_ARGUMENT, "json"),
    ("yaml", OPTIONAL_ARGUMENT, "yaml"),
]
_SHORTS = "A:ahi:j::lL:n:M:O:o:p:Pq:R:rs::S:t:u:U:vVw:"


def _options() -> list[Option]:
    shorts: dict[str, int] = {}
    s, i = _SHORTS, 0
    while i < len(s):
        c = s[i]
        i += 1
        has = NO_ARGUMENT
        if s[i:i + 2] == "::":
            has, i = OPTIONAL_ARGUMENT, i + 2
        elif s[i:i + 1] == ":":
            has, i = REQUIRED_ARGUMENT, i + 1
        shorts[c] = has
    out: list[Option] = []
    used: set[str] = set()
    for name, has, key in _LONG:
        short = key if len(key) == 1 and key in shorts and shorts[key] == has else None
        out.append(Option(name, short, has, key))
        if short:
            used.add(short)
    for c, has in shorts.items():
        if c not in used:
            out.append(Option(None, c, has, "A" if c == "U" else c))
    return out


_GETOPT = Getopt(_options())

USAGE = """\
Usage: squeue [-A account] [--clusters names] [-i seconds] [--job jobid]
              [-n name] [-o format] [--only-job-state] [-p partitions]
              [--qos qos] [--reservation reservation] [--sort fields] [--start]
              [--step step_id] [-t states] [-u user_name] [--usage]
              [-L licenses] [-w nodes] [--federation] [--local] [--sibling]
              [--expand-patterns] [--json=data_parser] [--yaml=data_parser]
              [--running-over=time] [--running-under=time] [-ahjlrsv]
"""

HELP = """\
Usage: squeue [OPTIONS]
  -A, --account=account(s)        comma separated list of accounts
                                  to view, default is all accounts
  -a, --all                       display jobs in hidden partitions
      --federation                Report federated information if a member
                                  of one
  -h, --noheader                  no headers on output
      --hide                      do not display jobs in hidden partitions
  -i, --iterate=seconds           specify an iteration period
  -j, --job=job(s)                comma separated list of jobs IDs
                                  to view, default is all
      --json[=data_parser]        Produce JSON output
      --local                     Report information only about jobs on the
                                  local cluster. Overrides --federation.
  -l, --long                      long report
  -L, --licenses=(license names)  comma separated list of license names to view
  -M, --clusters=cluster_name     cluster to issue commands to.  Default is
                                  current cluster.  cluster with no name will
                                  reset to default. Implies --local.
  -n, --name=job_name(s)          comma separated list of job names to view
      --noconvert                 don't convert units from their original type
                                  (e.g. 2048M won't be converted to 2G).
  -o, --format=format             format specification
  -O, --Format=format             format specification
      --only-job-state            Only query job state
  -p, --partition=partition(s)    comma separated list of partitions
                                  to view, default is all partitions
  -q, --qos=qos(s)                comma separated list of qos's
                                  to view, default is all qos's
  -R, --reservation=name(s)       comma separated list of reservations to view
  -r, --array                     display one job array element per line
      --running-over=time         Display only jobs that have been running
                                  over the specified time.
      --running-under=time        Display only jobs that have been running
                                  under the specified time.
      --sibling                   Report information about all sibling jobs
                                  on a federated cluster. Implies --federation.
  -s, --step=step(s)              comma separated list of job steps
                                  to view, default is all
  -S, --sort=fields               comma separated list of fields to sort on
      --start                     print expected start times of pending jobs
  -t, --states=states             comma separated list of states to view,
                                  default is pending and running,
                                  '--states=all' reports all states
  -u, --user=user_name(s)         comma separated list of users to view
      --name=job_name(s)          comma separated list of job names to view
  -v, --verbose                   verbosity level
  -V, --version                   output version information and exit
  -w, --nodelist=hostlist         list of nodes to view, default is all nodes
      --yaml[=data_parser]        Produce YAML output

Help options:
  --help                          show this help message
  --helpformat                    print a list of fields that can be specified
                                  with '--format=' option
  --helpFormat                    print a list of fields that can be specified
                                  with '--Format=' option
  --helpstate                     print a list of states that can use specified
                                  with '--states=' option
  --usage                         display a brief summary of squeue options
"""

_ONLY_STATE_MSG = ("Option --only-job-state only works alone, with -j (--jobs) and/or -t (--states) "
                   "parameters, parameters for cluster/federation selection, and the printing "
                   "options.")


@dataclass
class Done:
    """The command line asked for text and an exit, not for the queue (--help, -V, ...)."""

    stdout: str = ""
    stderr: str = ""
    code: int = 0


@dataclass
class SqueueArgs:
    """A parsed squeue command line plus the SQUEUE_* environment, as opts.c leaves `params`."""

    accounts: list[str] | None = None
    all_flag: bool = False
    array: bool = False
    array_by_option: bool = False          # -r (sets SLURM_BITSTR_LEN=0); SQUEUE_ARRAY does not
    expand_patterns: bool = False
    format: str | None = None              # -o / SQUEUE_FORMAT / --start / --only-job-state
    format_long: str | None = None         # -O / SQUEUE_FORMAT2
    iterate: int = 0
    job_flag: bool = False
    jobs_text: str | None = None
    jobs: list[tuple[int, int | None]] | None = None
    long: bool = False
    licenses: list[str] | None = None
    clusters: str | None = None
    names: list[str] | None = None
    noheader: bool = False
    notme: bool = False
    only_state: bool = False
    partitions: list[str] | None = None
    priority_flag: bool = False
    qos: list[str] | None = None
    reservation: str | None = None
    step_flag: bool = False
    steps_text: str | None = None
    steps: list[tuple[int, int | None, str]] | None = None
    sort: str | None = None
    start_flag: bool = False
    states_text: str | None = None
    states: frozenset | None = None
    all_states: bool = False
    users_text: str | None = None
    uids: list[int] | None = None          # resolved -u/--me/SQUEUE_USERS (None = no filter)
    user_names: list[str] = field(default_factory=list)
    verbose: int = 0
    mimetype: str | None = None            # "json" | "yaml"
    data_parser: str | None = None
    running_over: int | None = None
    running_under: int | None = None
    nodes_text: str | None = None
    nodes: list[str] | None = None         # -w, expanded (not yet checked against the nodes)
    noconvert: bool = False
    federation: bool = False
    local: bool = False
    sibling: bool = False
    messages: list[str] = field(default_factory=list)   # stderr text printed before the output


# --------------------------------------------------------------------------- pure helpers

def _fatal(message: str) -> SlurmError:
    """Slurm's `fatal()`: `squeue: fatal: <message>`, exit 1."""
    return SlurmError(f"{PROG}: fatal: {message}\n", raw=True)


def _str_list(text: str) -> list[str]:
    return [t for t in text.split(",") if t]


def default_resolve_user(name: str) -> tuple[int, str] | None:
    """`uid_from_string`: a user name, or a number (kept even if no such user exists)."""
    import pwd
    try:
        pw = pwd.getpwnam(name)
        return pw.pw_uid, pw.pw_name
    except KeyError:
        pass
    if name.isdigit():
        uid = int(name)
        try:
            return uid, pwd.getpwuid(uid).pw_name
        except KeyError:
            return uid, ""
    return None


def _build_users(text: str, args: SqueueArgs,
                 resolve: Callable[[str], tuple[int, str] | None]) -> None:
    uids: list[int] = []
    names: list[str] = []
    for user in _str_list(text):
        got = resolve(user)
        if got is None:
            args.messages.append(f"{PROG}: error: Invalid user: {user}\n\n")
            continue
        uids.append(got[0])
        if got[1]:
            names.append(got[1])
    args.uids = uids
    args.user_names = names


def _build_states(text: str, args: SqueueArgs) -> None:
    from ..slurm.states import JOB_STATE_LIST_TEXT, InvalidStateError, parse_state_list
    if text.lower() == "all":
        args.all_states = True
        args.states = None
        return
    args.all_states = False
    try:
        got = parse_state_list(text)
    except InvalidStateError as exc:
        raise SlurmError(f"{PROG}: error: Invalid job state specified: {exc.name}\n"
                         f"{PROG}: error: Valid job states include: {JOB_STATE_LIST_TEXT}\n\n",
                         raw=True) from None
    args.states = frozenset(got or ())


def parse_step_list(text: str) -> list[tuple[int, int | None, str]]:
    """`_build_step_list`: `job[_task].step,...`; errors as Slurm words them."""
    from ..output.squeue import _strtol_prefix
    out: list[tuple[int, int | None, str]] = []
    for item in text.split(","):
        if not item:
            continue
        parts = [p for p in item.split(".") if p]
        if not parts:
            break
        job_name = parts[0]
        step_name = parts[1] if len(parts) > 1 else None
        job_id, rest = _strtol_prefix(job_name)
        task: int | None = None
        if rest.startswith("_"):
            task, _ = _strtol_prefix(rest[1:])
        if step_name is None:
            raise SlurmError(f"Invalid job_step id: {job_name}.??")
        step_num, _ = _strtol_prefix(step_name)
        if job_id <= 0 or step_num < 0:
            raise SlurmError(f"Invalid job_step id: {job_name}.{step_name}")
        sid = step_name if step_name in ("batch", "extern", "interactive") else str(step_num)
        out.append((job_id, task, sid))
    return out


def _time_secs(text: str) -> int:
    """`time_str2secs` for --running-over/--running-under; INFINITE stays "forever"."""
    from ..model import INFINITE
    from ..slurm.timespec import parse_duration_secs
    try:
        secs = parse_duration_secs(text)
    except ValueError:
        raise _fatal("Invalid time limit specification") from None
    if secs == INFINITE:
        return 0xFFFFFFFF
    if secs <= 0:
        raise _fatal("Invalid time limit specification")
    return secs


def autocomplete_text(query: str) -> str:
    """`suggest_completion` over squeue's option table."""
    if not query:
        return ""
    q_short = query[0] == "-" or query[0].isalpha()
    q_long = len(query) > 1 or query[0].isalpha()
    out: list[str] = []
    for name, has, key in _LONG:
        if len(key) == 1 and key.isalpha() and q_short:
            flag = f"-{key}"
            if query in flag:
                out.append(flag + "\n")
        if q_long:
            flag = f"--{name}"
            if query not in flag:
                continue
            if has != NO_ARGUMENT:
                out.append(f"{flag}=\n")
            if has == OPTIONAL_ARGUMENT:
                out.append(f"{flag} \n")
            if has == NO_ARGUMENT:
                out.append(f"{flag}\n")
    return ("".join(out) + "\n") if out else ""


def parse_args(argv: list[str], env: Mapping[str, str] | None = None, *,
               resolve_user: Callable[[str], tuple[int, str] | None] = default_resolve_user,
               euid: int | None = None) -> SqueueArgs | Done:
    """opts.c `parse_command_line`.  Raises SlurmError (printed as `squeue: error: ...`, or
    raw) for the errors that make squeue exit 1; returns Done for --help, -V, and friends."""
    env = os.environ if env is None else env
    a = SqueueArgs()
    override_format_env = False
    if "SQUEUE_ALL" in env:
        a.all_flag = True
    if "SQUEUE_ARRAY" in env:
        a.array = True
    if "SQUEUE_SORT" in env:
        a.sort = env["SQUEUE_SORT"]
    if "SLURM_CLUSTERS" in env:
        a.clusters = env["SLURM_CLUSTERS"]
        a.local = True
    if "SQUEUE_FEDERATION" in env:
        a.federation = True
    if "SQUEUE_LOCAL" in env:
        a.local = True
    if "SQUEUE_PRIORITY" in env:
        a.priority_flag = True
    if "SQUEUE_SIB" in env or "SQUEUE_SIBLING" in env:
        a.sibling = True

    for item in _GETOPT.iterate(argv):
        if item.error is not None:
            raise usage_error(PROG, item.error, 1)
        k, v = item.key, item.arg
        if k == "A":
            a.accounts = _str_list(v or "")
        elif k == "a":
            a.all_flag = True
        elif k == "h":
            a.noheader = True
        elif k == "i":
            from ..output.squeue import _atoi
            a.iterate = _atoi(v or "")
            if a.iterate <= 0:
                raise SlurmError(f"{PROG}: error: --iterate={v}\n\n", raw=True)
        elif k == "j":
            if v is not None:
                from ..output.squeue import parse_job_list
                a.jobs_text = v
                a.jobs = parse_job_list(v)
            a.job_flag = True
        elif k == "l":
            a.long = True
            override_format_env = True
        elif k == "L":
            a.licenses = _str_list(v or "")
        elif k == "M":
            a.clusters = v
            a.local = True
        elif k == "n":
            a.names = _str_list(v or "")
        elif k == "O":
            if a.format is not None:
                raise SlurmError("-O (--Format) is incompatible with -o (--format)")
            a.format_long = v
            override_format_env = True
        elif k == "o":
            if a.format_long is not None:
                raise SlurmError("-o (--format) is incompatible with -O (--Format)")
            a.format = v
            override_format_env = True
        elif k == "p":
            a.partitions = _str_list(v or "")
            a.all_flag = True
        elif k == "P":
            a.priority_flag = True
        elif k == "q":
            a.qos = _str_list(v or "")
        elif k == "R":
            a.reservation = v
        elif k == "r":
            a.array = True
            a.array_by_option = True
        elif k == "s":
            if v is not None:
                a.steps_text = v
                a.steps = parse_step_list(v)
            a.step_flag = True
            override_format_env = True
        elif k == "S":
            a.sort = v
        elif k == "t":
            a.states_text = v
            _build_states(v or "", a)
        elif k == "u":
            a.users_text = v
            _build_users(v or "", a, resolve_user)
        elif k == "v":
            a.verbose += 1
        elif k == "V":
            return Done(f"slurm {SLURM_VERSION}\n")
        elif k == "w":
            from ..slurm import hostlist
            try:
                names = hostlist.expand(v or "")
            except ValueError:
                names = []
            if not names:
                raise SlurmError(f"'{v}' invalid entry for --nodelist")
            a.nodes_text = v
            a.nodes = names
        elif k == "help":
            return Done(HELP)
        elif k == "expand-patterns":
            a.expand_patterns = True
        elif k == "federation":
            a.federation = True
        elif k == "hide":
            a.all_flag = False
        elif k == "local":
            a.local = True
        elif k == "me":
            uid = os.geteuid() if euid is None else euid
            a.users_text = str(uid)
            _build_users(str(uid), a, resolve_user)
        elif k == "only-job-state":
            a.only_state = True
        elif k == "sibling":
            a.sibling = True
        elif k == "start":
            a.start_flag = True
            override_format_env = True
        elif k == "noconvert":
            a.noconvert = True
        elif k == "notme":
            a.notme = True
        elif k == "usage":
            return Done(USAGE)
        elif k in ("json", "yaml"):
            a.mimetype = k
            a.data_parser = v
        elif k == "autocomplete":
            return Done(autocomplete_text(v or ""))
        elif k == "helpstate":
            from ..slurm.states import JOB_STATE_LIST_TEXT
            return Done(JOB_STATE_LIST_TEXT.replace(",", "\n") + "\n")
        elif k == "helpformat":
            from ..output import squeue as out
            return Done(_step_help(1) if a.step_flag else out.help_format_text())
        elif k == "helpFormat":
            from ..output import squeue as out
            return Done(_step_help(2) if a.step_flag else out.help_format2_text())
        elif k == "running-over":
            a.running_over = _time_secs(v or "")
        elif k == "running-under":
            a.running_under = _time_secs(v or "")

    if a.long and a.format is not None:
        raise _fatal("Options -o(--format) and -l(--long) are mutually exclusive. "
                     "Please remove one and retry.")
    if a.only_state and _denied_with_only_state(a):
        raise _fatal(_ONLY_STATE_MSG)
    if not override_format_env:
        if "SQUEUE_FORMAT" in env:
            a.format = env["SQUEUE_FORMAT"]
        elif "SQUEUE_FORMAT2" in env:
            a.format_long = env["SQUEUE_FORMAT2"]

    operands = list(_GETOPT.operands)
    if operands:
        if a.job_flag:
            from ..output.squeue import parse_job_list
            a.jobs_text = operands.pop(0)
            a.jobs = parse_job_list(a.jobs_text)
        elif a.step_flag:
            a.steps_text = operands.pop(0)
            a.steps = parse_step_list(a.steps_text)
        if operands:
            return Done(USAGE, f"{PROG}: error: Unrecognized option: {operands[0]}\n", 1)

    if a.job_flag and a.step_flag:
        if a.jobs is not None:
            a.job_flag = False
        else:
            raise SlurmError("Incompatible options --jobs and --steps")

    if a.accounts is None and "SQUEUE_ACCOUNT" in env:
        a.accounts = _str_list(env["SQUEUE_ACCOUNT"])
    if a.names is None and "SQUEUE_NAMES" in env:
        a.names = _str_list(env["SQUEUE_NAMES"])
    if a.licenses is None and "SQUEUE_LICENSES" in env:
        a.licenses = _str_list(env["SQUEUE_LICENSES"])
    if a.partitions is None and "SQUEUE_PARTITION" in env:
        a.partitions = _str_list(env["SQUEUE_PARTITION"])
        a.all_flag = True
    if a.qos is None and "SQUEUE_QOS" in env:
        a.qos = _str_list(env["SQUEUE_QOS"])
    if a.states_text is None and "SQUEUE_STATES" in env:
        a.states_text = env["SQUEUE_STATES"]
        _build_states(a.states_text, a)
    if a.users_text is None and "SQUEUE_USERS" in env:
        a.users_text = env["SQUEUE_USERS"]
        _build_users(a.users_text, a, resolve_user)

    if a.start_flag and not a.step_flag:
        if a.format is None:
            from ..output.squeue import START_FORMAT
            a.format = START_FORMAT
        if a.sort is None:
            a.sort = "S"
        if a.states_text is None:
            a.states_text = "PD"
            _build_states("PD", a)

    if a.running_over and a.running_under and a.running_over > a.running_under:
        from ..slurm.timespec import format_hms
        raise _fatal(f"--running-over={format_hms(a.running_over)} and "
                     f"--running-under={format_hms(a.running_under)} will return 0 jobs.")
    return a


def _denied_with_only_state(a: SqueueArgs) -> bool:
    return any((a.accounts is not None, a.all_flag, a.licenses is not None, a.names is not None,
                a.notme, a.partitions is not None, a.priority_flag, a.qos is not None,
                a.reservation is not None, a.step_flag, a.start_flag, a.users_text is not None,
                a.nodes is not None, a.long, a.running_over is not None,
                a.running_under is not None, a.expand_patterns))


def _step_help(kind: int) -> str:
    from ..output import squeue as out
    lines: list[str] = []
    cnt = 0
    for fd in out.STEP_FIELDS:
        if kind == 1 and not fd.letter:
            continue
        if fd.name == "tres-per-node" or fd.name == "Gres":
            continue
        if cnt & (8 if kind == 1 else 4):
            cnt = 0
            lines.append("\n")
        cnt += 1
        lines.append(f"%{fd.letter:<5}" if kind == 1 else f"{fd.name:<20}")
    lines.append("\n")
    return "".join(lines)


def build_filter(a: SqueueArgs, *, getuid: Callable[[], int] = os.getuid,
                 nodes: list[str] | None = None):
    """The JobFilter squeue's `_filter_job` applies for these arguments."""
    from ..output.squeue import JobFilter
    from ..slurm.states import DEFAULT_SQUEUE_STATES
    states = a.states
    if states is None and not a.all_states:
        states = DEFAULT_SQUEUE_STATES
    return JobFilter(
        jobs=a.jobs,
        states=states,
        all_states=a.all_states,
        uids=None if a.uids is None else frozenset(a.uids),
        user_names=frozenset(a.user_names),
        accounts=a.accounts,
        partitions=a.partitions,
        qos=a.qos,
        names=a.names,
        licenses=a.licenses,
        nodes=None if (nodes if nodes is not None else a.nodes) is None
        else frozenset(nodes if nodes is not None else a.nodes or ()),
        reservation=a.reservation,
        notme_uid=getuid() if a.notme else None,
        running_over=a.running_over,
        running_under=a.running_under,
    )


def options_dump(a: SqueueArgs) -> str:
    """`-v`: `_print_options`."""
    def s(v):
        return "(null)" if v is None else v

    def b(v):
        return "true" if v else "false"
    lines = [
        "-----------------------------",
        f"all         = {b(a.all_flag)}",
        f"array       = {b(a.array)}",
        f"federation  = {b(a.federation)}",
        f"format      = {s(a.format)}",
        f"iterate     = {a.iterate}",
        f"job_flag    = {int(a.job_flag)}",
        f"jobs        = {s(a.jobs_text)}",
        f"licenses    = {s(','.join(a.licenses) if a.licenses is not None else None)}",
        f"local       = {b(a.local)}",
        f"names       = {s(','.join(a.names) if a.names is not None else None)}",
        f"nodes       = {a.nodes_text or ''}",
        f"only_job_state = {b(a.only_state)}",
        f"partitions  = {s(','.join(a.partitions) if a.partitions is not None else None)}",
        f"priority    = {b(a.priority_flag)}",
        f"reservation = {s(a.reservation)}",
        f"sibling      = {b(a.sibling)}",
        f"sort        = {s(a.sort)}",
        f"start_flag  = {int(a.start_flag)}",
        f"states      = {s(a.states_text)}",
        f"step_flag   = {int(a.step_flag)}",
        f"steps       = {s(a.steps_text)}",
        f"users       = {s(a.users_text)}",
        f"verbose     = {a.verbose}",
    ]
    if a.verbose > 1:
        for i, (jid, aid) in enumerate(a.jobs or []):
            lines.append(f"job_list[{i}] = {jid}" if aid is None else f"job_list[{i}] = {jid}_{aid}")
        for i, p in enumerate(a.partitions or []):
            lines.append(f"part_list[{i}] = {p}")
        if a.all_states:
            lines.append("state_list = all")
        for i, u in enumerate(a.uids or []):
            lines.append(f"user_list[{i}] = {u}")
    lines.append("-----------------------------\n\n")
    return "\n".join(lines) + "\n"


def job_known(records, job_id: int) -> bool:
    """Would `slurm_load_job(job_id)` find anything: the job, a task's raw id, or an array."""
    return any(r.job_id == job_id or r.array_job_id == job_id for r in records)


# --------------------------------------------------------------------------- the command

def _write(text: str, stream=None) -> None:
    (stream or sys.stdout).write(text)


def _cluster_list(a: SqueueArgs, ctl) -> list[str] | None:
    """-M: our single cluster, or an error for anything else."""
    if a.clusters is None:
        return None
    ours = ctl.config.cluster_name
    names = [n for n in a.clusters.split(",") if n]
    if not names:
        return None
    out: list[str] = []
    for n in names:
        if n.lower() == "all" or n == ours:
            if ours not in out:
                out.append(ours)
        else:
            raise SlurmError(
                f"{PROG}: error: '{n}' can't be reached now, or it is an invalid entry for "
                f"--cluster.  Use 'sacctmgr list clusters' to see available clusters.\n"
                f"{PROG}: fatal: Could not get cluster information\n", raw=True)
    return out


def _check_nodes(a: SqueueArgs, ctl) -> list[str] | None:
    """`_filter_nodes`: each -w name must be a node (or its host name); `localhost` = here."""
    if a.nodes is None:
        return None
    import socket
    known: dict[str, str] = {}
    for part in ctl.config.partitions.values():
        for n in part.node_names:
            known[n] = n
    out: list[str] = []
    for name in a.nodes:
        n = socket.gethostname().split(".")[0] if name.lower() == "localhost" else name
        if n in known:
            out.append(known[n])
        else:
            raise SlurmError(f"Invalid node name {name}")
    return out


def _default_limits(ctl) -> dict[str, int | None]:
    out: dict[str, int | None] = {}
    for name, p in ctl.config.partitions.items():
        out[name] = p.default_time if p.default_time is not None else p.max_time
    return out


def _client_names() -> tuple[str, str]:
    import grp
    import pwd
    try:
        user = pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        user = str(os.getuid())
    try:
        group = grp.getgrgid(os.getgid()).gr_name
    except KeyError:
        group = str(os.getgid())
    return user, group


def _emit_structured(doc_text: str, a: SqueueArgs) -> str:
    if a.mimetype != "yaml":
        return doc_text
    try:
        import yaml  # type: ignore[import-untyped]
    except ImportError:
        raise SlurmError("YAML output needs PyYAML, which is not installed") from None
    import json
    doc = json.loads(doc_text)
    # Slurm's serializer/yaml drives libyaml: a `%YAML 1.1` directive, explicit `---` / `...`
    return yaml.safe_dump(doc, version=(1, 1), explicit_start=True, explicit_end=True,
                          sort_keys=False, default_flow_style=False, allow_unicode=True)


def _backend_warnings(ctl) -> None:
    """What the backends' refresh found worth a warning (AWS Batch: a job stuck RUNNABLE
    because no compute environment fits it, a container that could not start), as
    `squeue: warning: ...` lines on stderr; stdout is untouched.  Only a backend this
    command already used is asked: a local-only queue never loads the Batch backend (nor
    boto3).  Jobs with the same warning share one line."""
    backends = getattr(ctl, "_backends", None) or {}
    texts: dict[str, list[str]] = {}
    for be in backends.values():
        for w in getattr(be, "warnings", None) or ():
            job, sep, text = str(w).partition(": ")
            if sep and job.startswith("job "):
                texts.setdefault(text, []).append(job[4:])
            else:
                texts.setdefault(str(w), [])
    for text, jobs in texts.items():
        jobs = list(dict.fromkeys(jobs))
        if not jobs:
            _write(f"{PROG}: warning: {text}\n", sys.stderr)
            continue
        shown = ",".join(jobs[:10]) + (f",... ({len(jobs)} jobs)" if len(jobs) > 10 else "")
        _write(f"{PROG}: warning: job{'s' if len(jobs) > 1 else ''} {shown}: {text}\n",
               sys.stderr)


def _print_jobs(a: SqueueArgs, ctl, argv: list[str], nodes: list[str] | None,
                cluster: str) -> int:
    import time

    from ..output import squeue as out

    records = ctl.squeue_jobs()
    _backend_warnings(ctl)
    now = time.time()
    if a.jobs is not None and len(a.jobs) == 1 and not a.only_state:
        if not job_known(records, a.jobs[0][0]):
            _write(InvalidJobId().render(PROG), sys.stderr)
            return 1
    flt = build_filter(a, nodes=nodes)
    env_blen = os.environ.get("SLURM_BITSTR_LEN")
    if a.array_by_option:
        blen, id_cut = 0, False
    else:
        blen, id_cut = out.bitstr_len_from_env(env_blen), env_blen is None
    spec_of = ctl.load_spec
    rows = out.select_rows(records, flt, now=now, spec_of=spec_of, bitstr_len=blen)
    limits = _default_limits(ctl)
    if a.mimetype:
        user, group = _client_names()
        command = (["squeue"] + list(argv))[:-1]
        text = out.render_json(rows, now=now, cluster=cluster, command=command,
                               client_user=user, client_group=group, spec_of=spec_of,
                               default_limits=limits, version=SLURM_VERSION)
        _write(_emit_structured(text, a))
        return 0

    if a.format is not None:
        fmt = out.parse_format(a.format)
    elif a.format_long is not None:
        fmt = out.parse_long_format(a.format_long)
    elif a.only_state:
        fmt = out.parse_format(out.ONLY_STATE_FORMAT)
    else:
        fmt = out.default_format(a.long)
    for err in fmt.errors:
        _write(f"{PROG}: error: {err}\n", sys.stderr)
    if a.verbose:
        _write(f"last_update_time={int(now)} records={len(records)}\n")

    sort = a.sort
    if sort is not None:
        bad, infos = out.check_sort(sort)
        for info in infos:
            _write(f"{PROG}: {info}\n", sys.stderr)
        if bad is not None:
            if not a.noheader:
                _write(out.render_header(fmt, now=now, cluster=cluster))
            sys.stdout.flush()
            _write(f"{PROG}: error: Invalid sort specification: {bad}\n", sys.stderr)
            return 1
    if not a.array:
        rows = out.combine_pending(rows, blen)
    rows = out.sort_rows(rows, sort, now=now)
    text = out.render_rows(rows, fmt, now=now, noheader=a.noheader, array_expand=a.array,
                           spec_of=spec_of, default_limits=limits, id_cut=id_cut,
                           cluster=cluster, expand_patterns=a.expand_patterns,
                           convert=not a.noconvert)
    _write(text)
    return 0


def _print_steps(a: SqueueArgs, ctl, argv: list[str], nodes: list[str] | None,
                 cluster: str) -> int:
    import time

    from ..model import JobState
    from ..output import squeue as out

    records = ctl.squeue_jobs()
    _backend_warnings(ctl)
    now = time.time()
    live = [r for r in records
            if r.state in (JobState.RUNNING, JobState.SUSPENDED, JobState.COMPLETING)]
    jobs = {r.job_id: r for r in live}
    steps_by_job = ctl.steps_for(list(jobs)) if jobs else {}
    steps = [s for lst in steps_by_job.values() for s in lst if s.state == JobState.RUNNING]
    flt = build_filter(a, nodes=nodes)
    rows = out.select_steps(steps, jobs, flt, a.steps)
    if a.mimetype:
        user, group = _client_names()
        text = out.render_steps_json(rows, now=now, cluster=cluster,
                                     command=(["squeue"] + list(argv))[:-1], client_user=user,
                                     client_group=group, version=SLURM_VERSION)
        _write(_emit_structured(text, a))
        return 0
    if a.format is not None:
        fmt = out.parse_step_format(a.format)
    elif a.format_long is not None:
        fmt = out.parse_step_long_format(a.format_long)
    else:
        fmt = out.parse_step_format(out.STEP_FORMAT)
    for err in fmt.errors:
        _write(f"{PROG}: error: {err}\n", sys.stderr)
    if a.verbose:
        _write(f"last_update_time={int(now)} records={len(steps)}\n")
    rows = out.sort_steps(rows, a.sort, now=now)
    _write(out.render_steps(rows, fmt, now=now, noheader=a.noheader))
    return 0


def run(argv: list[str]) -> int:
    parsed = parse_args(argv)
    if isinstance(parsed, Done):
        if parsed.stderr:
            _write(parsed.stderr, sys.stderr)
        _write(parsed.stdout)
        return parsed.code
    a = parsed
    for msg in a.messages:
        _write(msg, sys.stderr)
    if a.verbose:
        _write(options_dump(a))

    from ..controller import Controller
    ctl = Controller.open()
    clusters = _cluster_list(a, ctl)
    nodes = _check_nodes(a, ctl)
    cluster = ctl.config.cluster_name
    show = _print_steps if a.step_flag else _print_jobs

    import time

    from ..output.squeue import format_date_line
    code = 0
    try:
        while True:
            if not a.noheader and (a.iterate or a.verbose or a.long):
                _write(format_date_line(time.time()) + "\n")
            if clusters is None:
                rc = show(a, ctl, argv, nodes, cluster)
            else:
                rc = 0
                for i, name in enumerate(clusters):
                    if not a.noheader:
                        if i:
                            _write("\n")
                        _write(f"CLUSTER: {name}\n")
                    rc = show(a, ctl, argv, nodes, name) or rc
            if rc:
                code = 1
            if not a.iterate:
                break
            _write("\n")
            sys.stdout.flush()
            time.sleep(a.iterate)
            ctl = Controller.open()          # fresh view of the ledger each round
    except KeyboardInterrupt:
        sys.stdout.flush()
        return 0
    return code


def main(argv: list[str] | None = None) -> None:
    run_main(PROG, run, argv)


if __name__ == "__main__":
    main()
