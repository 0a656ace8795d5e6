"""sacct: accounting data for jobs and steps, as Slurm 25.11's sacct prints it.

Thin: argv -> :class:`Options` (pure, :func:`parse_args`) -> controller -> the pure selection and
renderers in :mod:`slurmshim.output.sacct`.  Every failure is a Slurm-style line on stderr and an
exit code, never a traceback.

Supported: -a -A -b -B -c -C -D -e -E -f -g -h -i -I -j -k -K -l -L -M -n -N -o -p -P -q -r -R
-s -S -T -u -U -v -V -W -x -X, --array --delimiter --env-vars --expand-patterns --federation
--helpstate --json --local --name --noconvert --units --use-local-uid --whole-hetjob --yaml.
Accepted without effect (nothing to filter on here): -F/--flags, -x/--associations,
--whole-hetjob, --federation/--local, -v.  Not supported: --helpreason (error, exit 1).
-c/--completion and -f/--file behave as on a cluster without a jobcomp plugin.
`--yaml` is rendered with PyYAML when it is installed (the layout approximates Slurm's libyaml
output), else it is an error.  Extension: `-j 12_[1-3,7]` selects those tasks (real 25.11 sacct
rejects brackets with `Bad job array element specified: 12`).
"""
from __future__ import annotations

import os
import sys
import time
from .._dataclass import dataclass, field
from typing import Sequence

from .. import SLURM_VERSION
from ..errors import SlurmError
from ..model import INFINITE, JobState
from ..output import sacct as out
from ..slurm import getopt as go

PROG = "sacct"

USAGE = "Usage: sacct [options]\n\tUse --help for help\n"

HELP = """\
sacct [<OPTION>]
     Valid <OPTION> values are:
     -a, --allusers:
                   Display jobs for all users. By default, only the
                   current user's jobs are displayed.  If ran by user root
                   this is the default.
     -A, --accounts:
                   Use this comma separated list of accounts to select jobs
                   to display.  By default, all accounts are selected.
     --array:
                   Expand job arrays. Display array tasks on separate lines
                   instead of consolidating them to a single line.
     -b, --brief:
                   Equivalent to '--format=jobstep,state,error'.
     -B, --batch-script:
                   Print batch script of job.
                   NOTE: AccountingStoreFlags=job_script is required for this
                   NOTE: Requesting specific job(s) with '-j' is required
                         for this.
     -c, --completion: Use job completion instead of accounting data.
         --delimiter:
                   ASCII characters used to separate the fields when
                   specifying the  -p  or  -P options. The default delimiter
                   is a '|'. This options is ignored if -p or -P options
                   are not specified.
     -D, --duplicates:
                   Allow multiple job records for the same job ID to be shown,
                   instead of just the most recent matching record.
     -e, --helpformat:
                   Print a list of fields that can be specified with the
                   '--format' option
     -E, --endtime:
                   Select jobs eligible before this time.  If states are
                   given with the -s option return jobs in this state before
                   this period.
         --env-vars:
                   Print the environment to launch the batch script of job.
                   NOTE: AccountingStoreFlags=job_env is required for this
                   NOTE: Requesting specific job(s) with '-j' is required
                         for this.
         --federation: Report jobs from federation if a member of a one.
     --expand-pattern: substitute wildcards in field name patterns
     -f, --file=file:
                   Read data from the specified file, rather than Slurm's
                   current accounting log file. (Only appliciable when
                   running the jobcomp/filetxt plugin.)
     -g, --gid, --group:
                   Use this comma separated list of gids or group names
                   to select jobs to display.  By default, all groups are
                   selected.
     -h, --help:   Print this description of use.
         --helpreason
                   Print a list of job reasons that can be specified with
                   the '--reason' option.
         --helpstate
                   Print a list of job states that can be specified with
                   the '--state' option.
     -i, --nnodes=N:
                   Return jobs which ran on this many nodes (N = min[-max])
     -I, --ncpus=N:
                   Return jobs which ran on this many cpus (N = min[-max])
     -j, --jobs:
                   Format is <job(.step)>. Display information about this
                   job or comma-separated list of jobs. The default is all
                   jobs. Adding .step will display the specific job step of
                   that job. (A step id of 'batch' will display the
                   information about the batch step.)
     --json[=data_parser]
                   Produce JSON output
     -k, --timelimit-min:
                   Only send data about jobs with this timelimit.
                   If used with timelimit_max this will be the minimum
                   timelimit of the range.  Default is no restriction.
     -K, --timelimit-max:
                   Ignored by itself, but if timelimit_min is set this will
                   be the maximum timelimit of the range.  Default is no
                   restriction.
         --local   Report information only about jobs on the local cluster.
                   Overrides --federation.
     -l, --long:
                   Equivalent to specifying
                   '--format=jobid,jobidraw,jobname,partition,maxvmsize,
                             maxvmsizenode,maxvmsizetask,avevmsize,maxrss,
                             maxrssnode,maxrsstask,averss,maxpages,
                             maxpagesnode,maxpagestask,avepages,mincpu,
                             mincpunode,mincputask,avecpu,ntasks,alloccpus,
                             elapsed,state,exitcode,avecpufreq,reqcpufreqmin,
                             reqcpufreqmax,reqcpufreqgov,reqmem,
                             consumedenergy,maxdiskread,maxdiskreadnode,
                             maxdiskreadtask,avediskread,maxdiskwrite,
                             maxdiskwritenode,maxdiskwritetask,avediskwrite,
                             reqtres,alloctres,
                             tresusageinave,tresusageinmax,tresusageinmaxn,
                             tresusageinmaxt,tresusageinmin,tresusageinminn,
                             tresusageinmint,tresusageintot,tresusageoutmax,
                             tresusageoutmaxn,tresusageoutmaxt,
                             tresusageoutave,tresusageouttot
     -L, --allclusters:
                   Display jobs ran on all clusters. By default, only jobs
                   ran on the cluster from where sacct is called are
                   displayed.
     -M, --clusters:
                   Only send data about these clusters. Use "all" for all
                   clusters.
     -n, --noheader:
                   No header will be added to the beginning of output.
                   The default is to print a header.
     --noconvert:
                   Don't convert units from their original type
                   (e.g. 2048M won't be converted to 2G).
     -N, --nodelist:
                   Display jobs that ran on any of these nodes,
                   can be one or more using a ranged string.
     --name:
                   Display jobs that have any of these name(s).
     -o, --format:
                   Comma separated list of fields. (use "--helpformat"
                   for a list of available fields).
     -p, --parsable: output will be '|' delimited with a '|' at the end
     -P, --parsable2: output will be '|' delimited without a '|' at the end
     -q, --qos:
                   Only send data about jobs using these qos.  Default is all.
     -r, --partition:
                   Comma separated list of partitions to select jobs and
                   job steps from. The default is all partitions.
     -R, --reason=<reason_list>:
\t\t   Comma separated list to filter jobs based on what reason the
\t\t   job wasn't scheduled outside resources/priority.
     -s, --state:
                   Select jobs based on their current state or the state
                   they were in during the time period given: running (r),
                   completed (cd), failed (f), timeout (to), resizing (rs),
                   deadline (dl) and node_fail (nf).
     -S, --starttime:
                   Select jobs eligible after this time.  Default is
                   00:00:00 of the current day, unless '-s' is set then
                   the default is 'now'.
     -T, --truncate:
                   Truncate time.  So if a job started before --starttime
                   the start time would be truncated to --starttime.
                   The same for end time and --endtime.
     -u, --uid, --user:
                   Use this comma separated list of uids or user names
                   to select jobs to display.  By default, the running
                   user's uid is used.
     --units=[KMGTP]:
                   Display values in specified unit type. Takes precedence
                   over --noconvert option.
     --usage:      Display brief usage message.
     -v, --verbose:
                   Primarily for debugging purposes, report the state of
                   various variables during processing.
     -V, --version: Print version.
     -W, --wckeys:
                   Only send data about these wckeys.  Default is all.
     --whole-hetjob[=yes|no]:
                   If set to 'yes' (or no argument), then information about
                   all the heterogeneous components will be retrieved. If
                   set to 'no' only the specific filtered components will
                   be retrieved. The default behavior without this option is
                   that all components are retrieved only if filtering the
                   leader component with --jobs.
     -x, --associations:
                   Only send data about these association id.  Default is all.
     -X, --allocations:
                   Only show statistics relevant to the job allocation
                   itself, not taking steps into consideration.
     --yaml[=data_parser]
                   Produce YAML output

     Note, valid start/end time formats are...
                   HH:MM[:SS] [AM|PM]
                   MMDD[YY] or MM/DD[/YY] or MM.DD[.YY]
                   MM/DD[/YY]-HH:MM[:SS]
                   YYYY-MM-DD[THH:MM[:SS]]
                   now[{+|-}count[seconds(default)|minutes|hours|days|weeks]]
"""

N, R, O = go.NO_ARGUMENT, go.REQUIRED_ARGUMENT, go.OPTIONAL_ARGUMENT

# Slurm's long_options[] in its order (the order matters for abbreviations), then the short
# letters of its optstring "aA:bBcC:DeE:f:F:g:hi:I:j:k:K:lLM:nN:o:pPq:r:R:s:S:Ttu:UvVW:x:X".
_LONGOPTS = (
    ("autocomplete", R, "autocomplete"), ("allusers", N, "a"), ("accounts", R, "A"),
    ("allocations", N, "X"), ("array", N, "array"), ("brief", N, "b"),
    ("batch-script", N, "B"), ("completion", N, "c"), ("constraints", R, "C"),
    ("delimiter", R, "delimiter"), ("duplicates", N, "D"), ("federation", N, "federation"),
    ("helpformat", N, "e"), ("help-fields", N, "e"), ("helpreason", N, "helpreason"),
    ("helpstate", N, "helpstate"), ("endtime", R, "E"), ("env-vars", N, "env-vars"),
    ("expand-patterns", N, "expand-patterns"), ("file", R, "f"), ("flags", R, "F"),
    ("gid", R, "g"), ("group", R, "g"), ("help", N, "h"), ("local", N, "local"),
    ("name", R, "name"), ("nnodes", R, "i"), ("ncpus", R, "I"), ("jobs", R, "j"),
    ("timelimit-min", R, "k"), ("timelimit-max", R, "K"), ("long", N, "l"),
    ("allclusters", N, "L"), ("cluster", R, "M"), ("clusters", R, "M"), ("nodelist", R, "N"),
    ("noconvert", N, "noconvert"), ("units", R, "units"), ("noheader", N, "n"),
    ("fields", R, "o"), ("format", R, "o"), ("parsable", N, "p"), ("parsable2", N, "P"),
    ("qos", R, "q"), ("partition", R, "r"), ("reason", R, "R"), ("state", R, "s"),
    ("starttime", R, "S"), ("truncate", N, "T"), ("uid", R, "u"),
    ("use-local-uid", N, "use-local-uid"), ("usage", N, "U"), ("user", R, "u"),
    ("verbose", N, "v"), ("version", N, "V"), ("wckeys", R, "W"),
    ("whole-hetjob", O, "whole-hetjob"), ("associations", R, "x"), ("json", O, "json"),
    ("yaml", O, "yaml"),
)
_OPTSTRING = "aA:bBcC:DeE:f:F:g:hi:I:j:k:K:lLM:nN:o:pPq:r:R:s:S:Ttu:UvVW:x:X"

_GETOPT: go.Getopt | None = None


def _getopt() -> go.Getopt:
    global _GETOPT
    if _GETOPT is None:
        _GETOPT = go.Getopt(go.make_options(_OPTSTRING, _LONGOPTS), mode=go.PERMUTE)
    return _GETOPT


class Exit(Exception):
    """Stop with this stdout text, stderr text and exit code (help, version, errors)."""

    def __init__(self, code: int, stdout: str = "", stderr: str = ""):
        super().__init__(code)
        self.code, self.stdout, self.stderr = code, stdout, stderr


def _error(msg: str) -> Exit:
    return Exit(1, stderr="".join(f"{PROG}: error: {line}\n" for line in msg.split("\n")))


def _fatal(msg: str) -> Exit:
    return Exit(1, stderr=f"{PROG}: fatal: {msg}\n")


@dataclass
class Options:
    """The parsed command line (before the defaults that need the clock or the user)."""

    query: out.Query = field(default_factory=out.Query)
    format_opts: list[str] = field(default_factory=list)
    brief: bool = False
    long: bool = False
    header: bool = True
    parsable: str | None = None           # None | "p" | "P"
    delimiter: str | None = None
    all_users: bool = False
    user_list: list[str] | None = None    # -u items as given (names or numbers)
    group_list: list[str] | None = None
    all_clusters: bool = False
    clusters: list[str] | None = None
    mimetype: str | None = None           # "json" | "yaml"
    data_parser: str | None = None
    script: bool = False                  # -B
    env: bool = False                     # --env-vars
    completion: bool = False              # -c / -f
    units: int | None = None
    noconvert: bool = False
    expand_patterns: bool = False
    verbosity: int = 0
    nodes_text: str | None = None
    warnings: list[str] = field(default_factory=list)   # stderr lines that do not stop sacct
    operands: list[str] = field(default_factory=list)


def _char_list(text: str) -> list[str]:
    """slurm_addto_char_list(): comma items, lower-cased, duplicates dropped (last kept)."""
    items: list[str] = []
    for part in text.strip("\"'").split(","):
        part = part.strip().lower()
        if not part:
            continue
        if part in items:
            items.remove(part)
        items.append(part)
    return items


def _range_arg(text: str, what: str, letter: str) -> tuple[int, int]:
    try:
        if "-" in text:
            a, b = text.split("-", 1)
            lo, hi = int(a), int(b)
        else:
            lo = hi = int(text)
        if lo < 0 or hi < lo:
            raise ValueError
        return lo, hi
    except ValueError:
        raise _error(f"invalid {what} range -{letter} '{text}'") from None


def _time_arg(text: str, now: float) -> float:
    from ..slurm import timespec

    try:
        return timespec.parse_datetime(text, now, past=True)
    except ValueError as e:
        raise Exit(1, stderr=f"{e}\n") from None


def _timelimit_arg(text: str) -> int:
    from ..slurm import timespec

    try:                                   # time_str2mins(): 0 stays 0 here
        secs = timespec.parse_duration_secs(text)
        mins = INFINITE if secs == INFINITE else -(-secs // 60)
    except ValueError:
        mins = 0
    if mins <= 0 and mins != INFINITE:
        raise _fatal("Invalid time limit specification")
    return mins


def _state_arg(text: str) -> set[JobState]:
    """`-s` items: long or compact names, any case; fatal for unknown or unaccounted ones."""
    from ..slurm import states as _states

    found: set[JobState] = set()
    for name in out._split_list(text):
        try:
            got = _states.parse_state_list(name, accounted_only=True)
        except _states.InvalidStateError as e:
            if e.reason == "unaccounted":
                raise _fatal(f"job state {name} is not supported / accounted") from None
            got = None
        if got is None:                       # includes "all", which is no state for sacct
            raise _fatal(f"unrecognized job state value '{name}'")
        found |= got
    return found


def parse_args(argv: Sequence[str], now: float) -> Options:
    """argv (without the program name) -> Options.  Raises :class:`Exit` for help, version,
    `-e` and every error, with Slurm's text and exit code."""
    opts = Options()
    q = opts.query
    gp = _getopt()
    for item in gp.iterate(list(argv)):
        if item.error is not None:
            raise Exit(1, stderr=f"{PROG}: {item.error}\n")
        k, arg = item.key, item.arg
        if k == "a":
            opts.all_users = True
        elif k == "A":
            q.accounts = (q.accounts or []) + _char_list(arg)
        elif k == "array":
            q.array = True
        elif k == "b":
            opts.brief = True
        elif k == "B":
            opts.script = True
            q.allocations = True
        elif k == "c":
            opts.completion = True
        elif k == "delimiter":
            opts.delimiter = arg
        elif k == "C":
            q.constraints = (q.constraints or []) + _char_list(arg)
        elif k == "M":
            if arg.lower() in ("all", "-1"):
                opts.all_clusters = True
            else:
                opts.all_clusters = False
                opts.clusters = (opts.clusters or []) + _char_list(arg)
        elif k == "D":
            q.duplicates = True
        elif k == "e":
            raise Exit(0, stdout=out.help_fields())
        elif k == "E":
            q.end = _time_arg(arg, now)
        elif k == "env-vars":
            opts.env = True
            q.allocations = True
        elif k == "expand-patterns":
            opts.expand_patterns = True
        elif k == "f":
            if not os.path.isfile(arg):
                raise Exit(1, stderr=f"{arg} is not a valid file\n")
            opts.completion = True
        elif k == "F":
            pass                                  # db flags: nothing recorded to filter on
        elif k == "g":
            opts.group_list = (opts.group_list or []) + [g for g in arg.split(",") if g]
        elif k == "h":
            raise Exit(0, stdout=HELP)
        elif k == "i":
            q.nnodes = _range_arg(arg, "node", "i")
        elif k == "I":
            q.ncpus = _range_arg(arg, "cpu", "i")
        elif k == "j":
            try:
                sels = out.parse_job_list(arg)
            except SlurmError as e:
                raise Exit(e.exit_code, stderr=e.render(PROG)) from None
            for s in sels:
                if s not in q.selectors:
                    q.selectors.append(s)
        elif k == "k":
            lo = _timelimit_arg(arg)
            q.timelimit = (lo, q.timelimit[1] if q.timelimit else None)
        elif k == "K":
            hi = _timelimit_arg(arg)
            q.timelimit = (q.timelimit[0] if q.timelimit else 0, hi)
        elif k == "L":
            opts.all_clusters = True
        elif k == "l":
            opts.long = True
        elif k in ("federation", "local"):
            opts.all_clusters = False
        elif k == "noconvert":
            opts.noconvert = True
        elif k == "units":
            try:
                opts.units = out.unit_type(arg)
            except SlurmError as e:
                raise Exit(1, stderr=e.render(PROG)) from None
        elif k == "n":
            opts.header = False
        elif k == "N":
            if opts.nodes_text is not None:
                opts.warnings.append(f"{PROG}: error: Already asked for nodes "
                                     f"'{opts.nodes_text}'\n")
            else:
                opts.nodes_text = arg
                _set_nodes(q, arg)
        elif k == "name":
            q.names = (q.names or []) + _char_list(arg)
        elif k == "o":
            opts.format_opts.append(arg)
        elif k == "p":
            opts.parsable = "p"
        elif k == "P":
            opts.parsable = "P"
        elif k == "q":
            q.qos = (q.qos or []) + _char_list(arg)
        elif k == "r":
            q.partitions = (q.partitions or []) + _char_list(arg)
        elif k == "R":
            q.reasons = (q.reasons or []) + [r for r in arg.split(",") if r]
        elif k == "s":
            q.states = (q.states or set()) | _state_arg(arg)
        elif k == "S":
            q.start = _time_arg(arg, now)
        elif k == "T":
            q.truncate = True
        elif k == "U":
            raise Exit(0, stdout=USAGE)
        elif k == "u":
            if arg == "-1":
                opts.all_users = True
            else:
                opts.all_users = False
                opts.user_list = (opts.user_list or []) + [u for u in arg.split(",") if u]
        elif k == "use-local-uid":
            pass
        elif k == "v":
            opts.verbosity += 1
        elif k == "W":
            q.wckeys = (q.wckeys or []) + _char_list(arg)
        elif k == "whole-hetjob":
            if arg is not None and arg.lower() not in ("yes", "y", "no", "n"):
                raise _error(f'Invalid --whole-hetjob value "{arg}". Valid values: [yes|no].')
        elif k == "V":
            raise Exit(0, stdout=f"slurm {SLURM_VERSION}\n")
        elif k == "x":
            pass                                  # association ids: none recorded here
        elif k in ("t", "X"):
            q.allocations = True
        elif k in ("json", "yaml"):
            opts.mimetype = k
            opts.data_parser = arg
        elif k == "autocomplete":
            raise Exit(0)
        elif k == "helpstate":
            raise Exit(0, stdout=out.help_states())
        elif k == "helpreason":
            raise _error("--helpreason is not supported by slurmshim")
    opts.operands = list(gp.operands)

    if (opts.script or opts.env) and not q.selectors:
        reason = "job environment" if opts.env else "job scripts"
        raise _fatal(f"When requesting {reason} you must also request specific jobs with "
                     "the '-j' option.")
    if opts.script and opts.env:
        raise _fatal("Options --batch-script and --env-vars are mutually exclusive")
    if opts.long and opts.format_opts:
        raise _fatal("Options -o(--format) and -l(--long) are mutually exclusive. "
                     "Please remove one and retry.")
    return opts


def _set_nodes(q: out.Query, text: str) -> None:
    from ..slurm import hostlist

    try:
        q.nodes = set(hostlist.expand(text))
    except ValueError:
        q.nodes = {h for h in text.split(",") if h}


def _resolve_users(opts: Options, caller_uid: int) -> None:
    """Slurm's user defaults: -u list, else all users for root, with -j or -N, or -a; else
    only the caller."""
    import pwd

    q = opts.query
    all_users = opts.all_users
    if not opts.user_list and (q.selectors or q.nodes is not None):
        all_users = True
    if opts.user_list is None and caller_uid == 0:
        all_users = True
    if all_users:
        q.uids = None
        return
    if opts.user_list:
        uids: set[int] = set()
        names: set[str] = set()
        for name in opts.user_list:
            if name.isdigit():
                uids.add(int(name))
                continue
            try:
                pw = pwd.getpwnam(name)
            except KeyError:
                raise _error(f"Invalid user id: {name}") from None
            uids.add(pw.pw_uid)
            names.add(name)
        q.uids, q.user_names = uids, names
        return
    q.uids = {caller_uid}
    try:
        q.user_names = {pwd.getpwuid(caller_uid).pw_name}
    except KeyError:
        q.user_names = set()


def _resolve_groups(opts: Options) -> None:
    import grp

    if opts.group_list is None:
        return
    gids: set[int] = set()
    for name in opts.group_list:
        if name.isdigit():
            gids.add(int(name))
            continue
        try:
            gids.add(grp.getgrnam(name).gr_gid)
        except KeyError:
            raise _error(f"Invalid group id: {name}") from None
    opts.query.gids = gids


def _user_name(uid: int) -> str | None:
    import pwd

    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return None


def _group_name(gid: int) -> str | None:
    import grp

    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return None


def _load_specs(ctl, records) -> None:
    for rec in records:
        if rec.spec is None and rec.spec_id is not None:
            try:
                ctl.load_spec(rec)
            except Exception:       # a missing spec only blanks a few fields
                pass


def _default_mem(ctl):
    """MiB a job without --mem/--mem-per-cpu got: DefMemPerCPU x CPUs, else whole nodes."""
    parts = getattr(getattr(ctl, "config", None), "partitions", None) or {}

    def mem(rec) -> int | None:
        part = parts.get(rec.partition)
        if part is None:
            return None
        if part.def_mem_per_cpu:
            return part.def_mem_per_cpu * max(1, rec.num_cpus)
        return part.mem_per_node * max(1, rec.num_nodes)
    return mem


def _cluster_name(ctl) -> str:
    cfg = getattr(ctl, "config", None)
    return getattr(cfg, "cluster_name", None) or "slurmshim"


def run(argv: Sequence[str], now: float | None = None) -> tuple[int, str, str]:
    """The whole command: returns (exit code, stdout, stderr)."""
    now = time.time() if now is None else now
    code, stdout, stderr, warnings = _run(argv, now)
    return code, stdout, "".join(warnings) + stderr


def _run(argv: Sequence[str], now: float) -> tuple[int, str, str, list[str]]:
    warnings: list[str] = []
    try:
        opts = parse_args(argv, now)
        warnings = opts.warnings
        q = opts.query
        window = out.resolve_window(q, now)
        if q.end and window[0] > window[1]:
            s = out.format_date(window[0], now=now)
            e = out.format_date(window[1], now=now)
            raise _error(f"Start time ({s}) requested is after end time ({e}).")
        if opts.completion:
            raise Exit(1, stderr="Slurm job completion is disabled\n")
        _resolve_users(opts, os.getuid())
        _resolve_groups(opts)
        text = out.field_list(format_opts=opts.format_opts, brief=opts.brief, long=opts.long,
                              env_format=os.environ.get("SACCT_FORMAT"))
        try:
            columns = out.parse_fields(text)
        except SlurmError as e:
            raise Exit(e.exit_code, stderr=e.render(PROG)) from None
        if opts.operands:
            raise _error("Unknown arguments:\n" + "\n".join(f" {a}" for a in opts.operands))

        from ..controller import Controller

        ctl = Controller.open()
        cluster = _cluster_name(ctl)
        if not opts.all_clusters and opts.clusters is not None:
            q.clusters = [] if cluster.lower() in opts.clusters else ["other"]
        # every record that can match ended (or was submitted) after the window start
        jobs = ctl.accounting_jobs(window[0] or None)
        if q.gids is not None or q.wckeys is not None or q.constraints is not None:
            _load_specs(ctl, jobs)
        requeued = [r.job_id for r in jobs if r.restarts]
        history = ctl.job_history(requeued) if requeued else {}
        records = out.select_jobs(jobs, q, now, history)

        ctx = out.Context(now=now, cluster=cluster, units=opts.units, noconvert=opts.noconvert,
                          truncate=q.truncate, window=window,
                          expand_patterns=opts.expand_patterns, user_name=_user_name,
                          group_name=_group_name, default_mem=_default_mem(ctl))
        needs_spec = (opts.mimetype or opts.script or opts.env
                      or any(c.field.spec for c in columns))
        if needs_spec:
            _load_specs(ctl, records)
        if opts.script:
            return 0, out.render_scripts(records, opts.header), "", warnings
        if opts.env:
            return 0, out.render_envs(records, opts.header), "", warnings
        steps = {} if q.allocations else ctl.steps_for(sorted({r.job_id for r in records}))
        current = {r.job_id: r for r in jobs}
        if opts.mimetype:
            entries = out.job_entries(records, steps, q, ctx, history, current)
            return 0, _render_document(entries, ctx, argv, opts.mimetype), "", warnings
        rows = out.build_rows(records, steps, q, ctx, history, current)
        return 0, out.render_table(rows, columns, header=opts.header, parsable=opts.parsable,
                                   delimiter=opts.delimiter), "", warnings
    except Exit as e:
        return e.code, e.stdout, e.stderr, warnings
    except SlurmError as e:
        return e.exit_code, "", e.render(PROG), warnings
    except KeyboardInterrupt:
        return 130, "", "", warnings
    except Exception as e:  # never a traceback (unless SLURMSHIM_DEBUG=1)
        if os.environ.get("SLURMSHIM_DEBUG"):
            raise
        first = (str(e).splitlines() or [""])[0]
        return 1, "", f"{PROG}: error: {type(e).__name__}: {first}\n", warnings


def _render_document(entries, ctx: out.Context, argv: Sequence[str], mimetype: str) -> str:
    user = _user_name(os.getuid()) or str(os.getuid())
    group = _group_name(os.getgid()) or str(os.getgid())
    doc = out.sacct_json(entries, ctx, [PROG, *argv], client_user=user, client_group=group)
    if mimetype == "json":
        return out.dumps_slurm_json(doc)
    try:
        import yaml  # type: ignore[import-untyped]
    except ImportError:
        raise _error("--yaml needs PyYAML (pip install pyyaml); use --json instead") from None
    return yaml.safe_dump(doc, sort_keys=False, default_flow_style=False, explicit_start=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    code, stdout, stderr = run(args)
    try:
        if stdout:
            sys.stdout.write(stdout)
            sys.stdout.flush()
    except BrokenPipeError:          # `sacct | head`: quietly stop, like a C program
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    if stderr:
        sys.stderr.write(stderr)
        sys.stderr.flush()
    return code


if __name__ == "__main__":
    sys.exit(main())
