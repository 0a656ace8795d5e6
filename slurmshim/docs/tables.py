"""One view of every command's options, for the man pages and the completion scripts.

* ``sbatch`` and ``srun``: the rows of :mod:`slurmshim.slurm.options` (names, argument, support
  level and reason, meaning, input environment variables), plus the value kinds below.
* ``squeue``, ``scancel``, ``sinfo``, ``sacct``, ``scontrol``, ``sattach``: the getopt tables the
  commands really parse with (names, short letters, argument kinds), plus a description of each
  option written here (:data:`DESCRIPTIONS`).  A test checks that every option of every table has
  a description and that no description is left without an option.
* ``slurmshim``: the admin command's sub-commands and options, read from its click group
  (:func:`admin_commands`).

Descriptions use the inline marks of :mod:`slurmshim.docs.roff`: ```literal``` and
``*placeholder*``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

NONE, REQUIRED, OPTIONAL = "none", "required", "optional"
SUPPORT_LEVELS = ("mapped", "approximated", "ignored", "rejected")

SLURM_COMMANDS = ("sbatch", "srun", "squeue", "scancel", "sinfo", "sacct", "scontrol", "sattach")
COMMANDS = SLURM_COMMANDS + ("slurmshim",)


# ---------------------------------------------------------------------------------------------
# value kinds: what completes after an option
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Values:
    """How an option's value completes.  ``source`` is one of

    * ``static``   -- the fixed ``words`` (embedded in the scripts);
    * ``helper``   -- ``python -m slurmshim.cli._complete <helper> <prefix>`` (ledger/config);
    * ``files``, ``dirs``, ``groups``, ``commands`` -- the shell's own completion.

    ``comma``: the value is a comma separated list; the last item is completed."""

    source: str
    words: tuple[str, ...] = ()
    helper: str = ""
    comma: bool = False


def _job_state_words() -> tuple[str, ...]:
    from ..slurm.states import JOB_STATE_LIST_TEXT
    return tuple(w.upper() for w in JOB_STATE_LIST_TEXT.split(",")) + ("all",)


def _sacct_state_words() -> tuple[str, ...]:
    from ..slurm.states import JOB_STATE_LIST_TEXT, SACCT_STATE_NAMES
    return tuple(w.upper() for w in JOB_STATE_LIST_TEXT.split(",")
                 if w.upper() in SACCT_STATE_NAMES)


def _node_state_words() -> tuple[str, ...]:
    from ..slurm.states import SINFO_VALID_STATES_TEXT
    return tuple(SINFO_VALID_STATES_TEXT.split(","))


def _signal_words() -> tuple[str, ...]:
    from ..slurm.signals import SIGNAL_NAMES
    return tuple(SIGNAL_NAMES)


def _squeue_fields() -> tuple[str, ...]:
    from ..output.squeue import FIELDS
    return tuple(f.name for f in FIELDS)


def _sacct_fields() -> tuple[str, ...]:
    from ..output.sacct import FIELDS
    return tuple(f.name for f in FIELDS)


def _sinfo_fields() -> tuple[str, ...]:
    from ..output.sinfo import FIELDS
    return tuple(f.name for f in FIELDS)


MAIL_TYPES = ("NONE", "BEGIN", "END", "FAIL", "REQUEUE", "ALL", "INVALID_DEPEND", "STAGE_OUT",
              "TIME_LIMIT", "TIME_LIMIT_90", "TIME_LIMIT_80", "TIME_LIMIT_50", "ARRAY_TASKS")
DEPENDENCY_TYPES = ("after", "afterany", "afterburstbuffer", "aftercorr", "afternotok",
                    "afterok", "singleton")


def value_kinds() -> dict[str, Values]:
    """Every value kind by name (static words are computed from the code's own tables)."""
    return {
        # dynamic: the ledger and the configuration, through slurmshim.cli._complete
        "jobids": Values("helper", helper="jobids", comma=True),
        "alljobids": Values("helper", helper="alljobids", comma=True),
        "partitions": Values("helper", helper="partitions", comma=True),
        "nodes": Values("helper", helper="nodes", comma=True),
        "job_names": Values("helper", helper="names", comma=True),
        "all_job_names": Values("helper", helper="allnames", comma=True),
        "accounts": Values("helper", helper="accounts", comma=True),
        "users": Values("helper", helper="users", comma=True),
        "dependency": Values("helper", helper="dependency"),
        # the shell's own
        "files": Values("files"),
        "dirs": Values("dirs"),
        "groups": Values("groups", comma=True),
        "commands": Values("commands"),
        # fixed words
        "job_states": Values("static", _job_state_words(), comma=True),
        "scancel_states": Values("static", ("PENDING", "RUNNING", "SUSPENDED"), comma=True),
        "sacct_states": Values("static", _sacct_state_words(), comma=True),
        "node_states": Values("static", _node_state_words(), comma=True),
        "signals": Values("static", _signal_words()),
        "mail_types": Values("static", MAIL_TYPES, comma=True),
        "open_modes": Values("static", ("append", "truncate")),
        "exclusive": Values("static", ("user", "mcs", "topo", "oversubscribe")),
        "requeue": Values("static", ("expedite",)),
        "export": Values("static", ("ALL", "NONE", "NIL"), comma=True),
        "profile": Values("static", ("all", "none", "energy", "lustre", "network", "task"),
                          comma=True),
        "gres_flags": Values("static", ("allow-task-sharing", "disable-binding",
                                        "enforce-binding", "multiple-tasks-per-sharing",
                                        "one-task-per-sharing"), comma=True),
        "yes_no": Values("static", ("yes", "no")),
        "zero_one": Values("static", ("0", "1")),
        "no_kill": Values("static", ("off",)),
        "cpu_freq": Values("static", ("low", "medium", "high", "highm1", "conservative",
                                      "ondemand", "performance", "powersave", "userspace",
                                      "schedutil")),
        "distribution": Values("static", ("block", "cyclic", "arbitrary", "plane=",
                                          "block:block", "block:cyclic", "cyclic:block",
                                          "cyclic:cyclic")),
        "hint": Values("static", ("compute_bound", "memory_bound", "multithread",
                                  "nomultithread")),
        "cpu_bind": Values("static", ("none", "rank", "sockets", "cores", "threads", "ldoms",
                                      "map_cpu:", "mask_cpu:", "verbose", "quiet"), comma=True),
        "mpi": Values("static", ("list", "none", "pmi2", "pmix")),
        "propagate": Values("static", ("ALL", "NONE", "AS", "CORE", "CPU", "DATA", "FSIZE",
                                       "MEMLOCK", "NOFILE", "NPROC", "RSS", "STACK"), comma=True),
        "time_words": Values("static", ("now", "today", "tomorrow", "midnight", "noon",
                                        "elevenses", "fika", "teatime")),
        "squeue_fields": Values("static", _squeue_fields(), comma=True),
        "sacct_fields": Values("static", _sacct_fields(), comma=True),
        "sinfo_fields": Values("static", _sinfo_fields(), comma=True),
        "units": Values("static", ("K", "M", "G", "T", "P")),
        "shells": Values("static", ("bash", "zsh", "fish")),
        **_admin()[2],
    }


# sbatch/srun option -> value kind
SBATCH_VALUES: dict[str, str] = {
    "partition": "partitions", "dependency": "dependency", "mail-type": "mail_types",
    "open-mode": "open_modes", "signal": "signals", "chdir": "dirs", "output": "files",
    "error": "files", "input": "files", "export": "export", "exclusive": "exclusive",
    "requeue": "requeue", "propagate": "propagate", "profile": "profile",
    "gres-flags": "gres_flags", "kill-on-invalid-dep": "yes_no", "distribution": "distribution",
    "cpu-freq": "cpu_freq", "nodefile": "files", "export-file": "files", "bbf": "files",
    "begin": "time_words", "deadline": "time_words", "hint": "hint", "cpu-bind": "cpu_bind",
    "mpi": "mpi", "oom-kill-step": "zero_one", "no-kill": "no_kill",
    "wait-all-nodes": "zero_one", "jobid": "jobids", "uid": "users", "gid": "groups",
    "mail-user": "users", "nodelist": "nodes", "exclude": "nodes", "container": "dirs",
    "prolog": "files", "epilog": "files", "task-prolog": "files", "task-epilog": "files",
    "account": "accounts",
}

# placeholders for sbatch/srun arguments the option table does not name
SBATCH_METAVARS: dict[str, str] = {
    "account": "account", "acctg-freq": "datatype=interval", "array": "indexes",
    "autocomplete": "word", "batch": "list", "bb": "spec", "bbf": "file_name",
    "bcast": "dest_path", "bcast-exclude": "paths", "begin": "time",
    "cluster-constraint": "[!]list", "chdir": "directory", "cluster": "cluster",
    "clusters": "string", "comment": "string", "compress": "type", "container": "path",
    "container-id": "id", "context": "context", "constraint": "list", "core-spec": "num",
    "cores-per-socket": "cores", "cpu-bind": "type", "cpu_bind": "type",
    "cpu-freq": "p1[-p2[:p3]]", "cpus-per-gpu": "ncpus", "cpus-per-task": "ncpus",
    "deadline": "OPT", "delay-boot": "minutes", "dependency": "dependency_list",
    "distribution": "type", "epilog": "executable", "error": "filename_pattern",
    "exclude": "node_name_list", "exclusive": "user|mcs|topo", "export": "ALL|NONE|NIL|variables",
    "export-file": "filename|fd", "external-launcher": "0|1", "extra": "string",
    "extra-node-info": "sockets[:cores[:threads]]", "gid": "group", "gpu-bind": "type",
    "gpu-freq": "[type]=value", "gpus": "[type:]number", "gpus-per-node": "[type:]number",
    "gpus-per-socket": "[type:]number", "gpus-per-task": "[type:]number", "gres": "list",
    "gres-flags": "type", "het-group": "expr", "hint": "type", "immediate": "seconds",
    "input": "filename_pattern", "jobid": "jobid", "job-name": "jobname",
    "kill-on-bad-exit": "0|1", "kill-on-invalid-dep": "yes|no", "licenses": "license",
    "mail-type": "type", "mail-user": "user", "threads": "nthreads", "mcs-label": "mcs",
    "mem": "size[units]", "mem-bind": "type", "mem-per-cpu": "size[units]",
    "mem-per-gpu": "size[units]", "mincpus": "n", "mpi": "mpi_type", "msg-timeout": "seconds",
    "network": "type", "nice": "adjustment", "no-kill": "off", "nodefile": "node_file",
    "nodelist": "node_name_list", "nodes": "minnodes[-maxnodes]", "ntasks": "number",
    "ntasks-per-core": "ntasks", "ntasks-per-gpu": "ntasks", "ntasks-per-node": "ntasks",
    "ntasks-per-socket": "ntasks", "ntasks-per-tres": "ntasks", "oom-kill-step": "0|1",
    "open-mode": "append|truncate", "output": "filename_pattern", "overlap": "",
    "partition": "partition_names", "prefer": "list", "priority": "value",
    "profile": "all|none|type[,type...]", "prolog": "executable", "propagate": "rlimit[,rlimit...]",
    "pty": "", "qos": "qos", "relative": "n", "requeue": "expedite", "resources": "string",
    "reservation": "reservation_names", "resv-ports": "count", "segment": "segment_size",
    "send-libs": "yes|no", "signal": "[{R|B}:]sig_num[@sig_time]", "slurmd-debug": "level",
    "sockets-per-node": "sockets", "switches": "type[@max-time]",
    "task-epilog": "executable", "task-prolog": "executable", "thread-spec": "num",
    "threads-per-core": "threads", "time": "time", "time-min": "time", "tmp": "size[units]",
    "treewidth": "width", "tres-bind": "tres:spec", "tres-per-task": "list", "uid": "user",
    "verbose": "", "wait": "seconds", "wait-all-nodes": "0|1", "wckey": "wckey",
    "wrap": "command_string", "x11": "all|first|last", "accel-bind": "options",
}

# Longer explanations for the options users read about most (added after the one-line
# meaning from the option table; marked-up prose).
SBATCH_NOTES: dict[str, str] = {
    "array": (
        "*indexes* is a list of values and ranges (`0-15`, `1,3,5,7`, `1-7:2`), optionally "
        "followed by `%`*N* to run at most *N* tasks at a time.  Each task sees "
        "`SLURM_ARRAY_TASK_ID`; `%A` and `%a` in file names expand to the array id and the "
        "task id.  On AWS Batch an array becomes a Batch array job (split into several when it "
        "has more than 10,000 tasks); the index list travels with the job so any Slurm index "
        "expression works, and `%`*N* is enforced by chaining the tasks."),
    "begin": (
        "Accepts Slurm's time forms: `HH:MM[:SS]`, `MMDD[YY]`, `MM/DD[/YY]`, "
        "`YYYY-MM-DD[THH:MM[:SS]]`, `now+`*count*[`seconds`|`minutes`|`hours`|`days`|`weeks`], "
        "and the words `today`, `tomorrow`, `midnight`, `noon`, `elevenses`, `fika` and "
        "`teatime`.  The job stays PENDING with reason `BeginTime` until then."),
    "dependency": (
        "*dependency_list* is *type*`:`*job_id*[`:`*job_id*...] terms joined by `,` (all must "
        "hold) or `?` (any may hold).  Types: `after` (started or cancelled), `afterany` "
        "(ended in any state), `afterok` (completed with exit code 0), `afternotok` (ended "
        "badly), `aftercorr` (the task with the same index of another array ended well), "
        "`singleton` (no other job with this name and user is running).  `+`*minutes* delays "
        "an `after` term.  On AWS Batch, `afterok` and `aftercorr` become Batch `dependsOn`; the "
        "other kinds are held and released by slurmshim."),
    "error": (
        "File name patterns: `%%` a percent sign, `%A` the array job id, `%a` the array task "
        "id, `%b` the task id modulo 10, `%j` the job id, `%J` job id and step, `%N` the first "
        "node name, `%n` the node index, `%s` the step id, `%t` the task rank, `%u` the user "
        "name, `%x` the job name.  A number after `%` pads with zeros (`%4a`).  By default "
        "standard error goes with standard output."),
    "output": (
        "The patterns are those of `--error`.  The default is `slurm-%j.out` (`slurm-%A_%a.out` "
        "for array tasks) in the working directory.  On AWS Batch the runtime writes the files "
        "on the job's filesystem (a shared filesystem mounted by the partition) and, as for "
        "every Batch job, the output also goes to CloudWatch Logs, where `sattach` and "
        "`slurmshim output` find it."),
    "export": (
        "`ALL` (the default) exports the whole submit environment, `NONE` only `SLURM_*` "
        "variables (the job starts with the node's login environment), `NIL` nothing but "
        "`SLURM_*`; a list such as `ALL,OMP_NUM_THREADS=4` adds or overrides variables.  "
        "Variables that look like credentials (`AWS_SECRET_ACCESS_KEY`, `*_TOKEN`, "
        "`*_PASSWORD`, ...) are never exported unless the configuration's `export_allow` "
        "names them."),
    "mem": (
        "*size* is in megabytes unless a unit follows: `K`, `M`, `G` or `T`.  `--mem`, "
        "`--mem-per-cpu` and `--mem-per-gpu` are mutually exclusive.  On AWS Batch the "
        "container's memory is a hard limit: a job that uses more is killed (OUT_OF_MEMORY)."),
    "nodes": (
        "More than one node makes a multi-node job: on the local backend one process per "
        "virtual node; on AWS Batch a multi-node parallel job on the partition's on-demand "
        "queue (`mnp_queue`), because Batch never runs multi-node jobs on Spot.  A Spot "
        "partition without `mnp_queue` refuses such jobs at submission."),
    "partition": (
        "A partition is a `[partitions.`*NAME*`]` table of the configuration: the local "
        "backend, or an AWS Batch job queue.  Without this option the partition marked "
        "`default = true` is used (else the first one)."),
    "requeue": (
        "On AWS Batch a Spot reclaim (`Host EC2*` status reasons) is retried up to the "
        "partition's `retries`; any other failure ends the job.  Requeues show in `sacct -D` "
        "and in `SLURM_RESTART_COUNT`."),
    "signal": (
        "*sig_num* is a name (`USR1`, `SIGTERM`) or a number; *sig_time* defaults to 60 "
        "seconds.  `B:` signals only the batch shell, `R:` allows the job to be signalled "
        "while it is being requeued."),
    "time": (
        "Forms: *minutes*, *minutes*`:`*seconds*, *hours*`:`*minutes*`:`*seconds*, "
        "*days*`-`*hours*, *days*`-`*hours*`:`*minutes* and "
        "*days*`-`*hours*`:`*minutes*`:`*seconds*; `0` or `UNLIMITED` for no limit.  At the "
        "limit the job gets SIGTERM, then SIGKILL `kill_wait` seconds later, and ends in "
        "state TIMEOUT.  On AWS Batch the limit (plus a margin) is also the job's "
        "`attemptDurationSeconds`."),
    "gres": (
        "Only GPUs are generic resources here: `gpu:`*N* or `gpu:`*type*`:`*N* (the type must "
        "be one of the partition's `gpu_types`).  On AWS Batch this is the `GPU` resource "
        "requirement of the container."),
    "wait": (
        "The exit status of `sbatch` is then the job's: 0 when it completed, else its exit "
        "code (or 1 when it was cancelled, timed out or failed to start)."),
    "test-only": (
        "Prints the usual `Job ... to start at ... using ... on nodes ... in partition ...` "
        "line, then one `plan:` line per option used with its support level and what it "
        "became.  A job id is consumed, as with Slurm."),
    "wrap": (
        "The command is wrapped in a `#!/bin/sh` script; no script operand may be given."),
    "hold": ("Release the job with `scontrol release` *job_id*."),
    "exclusive": (
        "The job gets whole nodes.  On AWS Batch the container asks for all the vCPUs of the "
        "partition's `cpus_per_node`.  `--exclusive=user`, `mcs` and `topo` are treated as "
        "plain `--exclusive`."),
    "constraint": (
        "Matched against the features of the partition: `efa` selects EFA networking on an "
        "EFA partition."),
}


# ---------------------------------------------------------------------------------------------
# the unified option record
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Opt:
    """One option of one command, as the documentation sees it."""

    key: str
    longs: tuple[str, ...]
    shorts: tuple[str, ...]
    arg: str                       # none | required | optional
    metavar: str = ""
    text: str = ""                 # the man page description (marked-up prose)
    brief: str = ""                # one line, for the shells' option descriptions
    support: str = "mapped"
    reason: str = ""
    env: tuple[str, ...] = ()
    values: str | None = None      # a key of value_kinds()
    hidden: bool = False
    next_word: bool = False        # an optional argument that may also be the next word

    @property
    def forms(self) -> tuple[str, ...]:
        return tuple(f"-{s}" for s in self.shorts) + tuple(f"--{n}" for n in self.longs)

    @property
    def takes_next(self) -> bool:
        """Does the option consume the following word when given without ``=``?"""
        return self.arg == REQUIRED or self.next_word


@dataclass(frozen=True)
class Desc:
    """A description written here for an option of a getopt-table command."""

    metavar: str
    text: str
    support: str = "mapped"
    reason: str = ""
    values: str | None = None
    brief: str = ""
    env: tuple[str, ...] = ()
    hidden: bool = False


def _brief(text: str, limit: int = 72) -> str:
    """A one-line version of marked-up text: marks removed, first sentence, at most ~limit."""
    plain = " ".join(text.replace("`", "").split())
    plain = plain.replace("*", "")
    for stop in (". ", "; "):
        cut = plain.find(stop)
        if 0 < cut:
            plain = plain[:cut]
    plain = plain.rstrip(".")
    if len(plain) > limit:
        plain = plain[: limit - 3].rsplit(" ", 1)[0] + "..."
    return plain


def _row_opts(command: str) -> list[Opt]:
    from ..slurm import options as O

    shorts = {}
    for g in O.getopt_options(command):
        if g.short and g.key not in shorts:
            shorts[g.key] = g.short
    out = []
    for r in O.rows_for(command):
        env = r.env if command == "sbatch" else r.srun_env
        meaning = r.meaning[:1].upper() + r.meaning[1:]
        out.append(Opt(
            key=r.long, longs=r.names, shorts=(shorts[r],) if r in shorts else (),
            arg=r.arg, metavar=SBATCH_METAVARS.get(r.long, r.metavar or "value"),
            text=meaning.rstrip(".") + ".", brief=_brief(meaning),
            support=r.support_for(command), reason=r.reason_for(command), env=tuple(env),
            values=SBATCH_VALUES.get(r.long), hidden=r.hidden))
    return out


_ARG = {0: NONE, 1: REQUIRED, 2: OPTIONAL}


def getopt_table(command: str):
    """The :class:`~slurmshim.slurm.getopt.Getopt` a command parses its options with."""
    from ..slurm.getopt import Getopt
    if command == "squeue":
        from ..cli import squeue
        return squeue._GETOPT
    if command == "sacct":
        from ..cli import sacct
        return sacct._getopt()
    if command in ("scancel", "sinfo", "scontrol", "sattach"):
        import importlib
        mod = importlib.import_module(f"slurmshim.cli.{command}")
        return Getopt(mod._OPTIONS)
    from ..slurm import options as O
    return O.getopt_for(command)


def grouped_getopt(command: str) -> list[tuple[str, tuple[str, ...], tuple[str, ...], str]]:
    """``(key, long names, short letters, arg)`` per distinct option (same key = same
    option), in the table's order."""
    g = getopt_table(command)
    order: list[str] = []
    longs: dict[str, list[str]] = {}
    shorts: dict[str, list[str]] = {}
    args: dict[str, str] = {}
    for o in g.longopts:
        k = str(o.key)
        if k not in longs:
            order.append(k)
            longs[k], shorts[k], args[k] = [], [], _ARG[o.has_arg]
        longs[k].append(o.long)
        if o.short and o.short not in shorts[k]:
            shorts[k].append(o.short)
    for s, o in g.shorts.items():
        k = str(o.key)
        if k not in longs:
            order.append(k)
            longs[k], shorts[k], args[k] = [], [], _ARG[o.has_arg]
        if s not in shorts[k]:
            shorts[k].append(s)
    return [(k, tuple(longs[k]), tuple(shorts[k]), args[k]) for k in order]


def _desc_opts(command: str) -> list[Opt]:
    descs = DESCRIPTIONS[command]
    out = []
    for key, longs, shorts, arg in grouped_getopt(command):
        d = descs.get(key)
        if d is None:
            raise KeyError(f"{command}: option {key!r} has no description in "
                           "slurmshim/docs/tables.py DESCRIPTIONS")
        out.append(Opt(key=key, longs=longs, shorts=shorts, arg=arg, metavar=d.metavar,
                       text=d.text, brief=d.brief or _brief(d.text), support=d.support,
                       reason=d.reason, env=d.env, values=d.values, hidden=d.hidden,
                       next_word=(command, key) in _NEXT_WORD))
    return out


# optional arguments that may come as the next word (squeue -j 12, squeue -s 12.0)
_NEXT_WORD = {("squeue", "j"), ("squeue", "s")}


def options(command: str) -> list[Opt]:
    """Every option of a command, in its table's order."""
    if command in ("sbatch", "srun"):
        return _row_opts(command)
    if command == "slurmshim":
        return list(_admin()[0])
    return _desc_opts(command)


# ---------------------------------------------------------------------------------------------
# descriptions of the getopt-table commands
# ---------------------------------------------------------------------------------------------
D = Desc
_ONE_CLUSTER = "slurmshim manages one cluster"
_NO_FED = "there are no federations"

_COMMON_HIDDEN_AUTOCOMPLETE = D(
    "word", "Print the options that match *word*, one a line (Slurm's own bash completion "
    "calls this).", hidden=True)

SQUEUE: dict[str, Desc] = {
    "autocomplete": _COMMON_HIDDEN_AUTOCOMPLETE,
    "A": D("account_list", "Show only jobs charged to these accounts (comma separated).  "
           "`-U` is the same option.", values="accounts", env=("SQUEUE_ACCOUNT",)),
    "a": D("", "Show jobs in all partitions, hidden ones included.  slurmshim has no hidden "
           "partitions, so this is what squeue shows anyway.", env=("SQUEUE_ALL",)),
    "r": D("", "Show one array task per line: the pending tasks of an array are otherwise "
           "folded into one line such as `12_[4-99%10]`.", env=("SQUEUE_ARRAY",)),
    "expand-patterns": D("", "Show the standard input, output and error file names (`-O "
                         "StdOut` and friends) with their `%` patterns expanded."),
    "O": D("field[:[.]size][,...]", "Choose the columns by name, e.g. "
           "`-O JobID:10,Partition,State:.12,Reason`.  A size ends with `.` to right-align "
           "the column; no size means the name's default width.  `--helpFormat` lists the "
           "names; see also JOB FIELDS below.", values="squeue_fields",
           env=("SQUEUE_FORMAT2",)),
    "o": D("format", "Choose the columns with `%` letters, as in the default "
           "`%.18i %.9P %.8j %.8u %.2t %.10M %.6D %R`: `%`[`.`][*size*]*letter*, where `.` "
           "right-aligns and *size* is the minimum width.  `--helpformat` lists the letters; "
           "see JOB FIELDS below.", env=("SQUEUE_FORMAT",)),
    "federation": D("", "Show the jobs of every cluster of the federation.", "ignored", _NO_FED,
                    env=("SQUEUE_FEDERATION",)),
    "help": D("", "Print a summary of the options and exit."),
    "helpstate": D("", "Print the job state names `--states` accepts and exit."),
    "helpformat": D("", "Print the `%` letters `--format` accepts and exit."),
    "helpFormat": D("", "Print the field names `--Format` accepts and exit."),
    "hide": D("", "Do not show jobs of hidden partitions (the default)."),
    "i": D("seconds", "Print the report again every *seconds* seconds, with a time stamp "
           "before each, until interrupted."),
    "j": D("job_id_list", "Show only these jobs (comma separated ids; `12_3` is one array "
           "task, `12` a whole array).  The list may also be the next word (`squeue -j 12,13`). "
           "A single id that is unknown is an error (`Invalid job id specified`, exit 1); "
           "finished jobs stay visible for `min_job_age` seconds.", values="jobids"),
    "local": D("", "Show only the jobs of this cluster.", env=("SQUEUE_LOCAL",)),
    "l": D("", "Long format: adds the time limit and the full state name "
           "(`%.18i %.9P %.8j %.8u %.8T %.10M %.9l %.6D %R`)."),
    "L": D("license_list", "Show only jobs that asked for these licenses (`--licenses` of "
           "sbatch).", env=("SQUEUE_LICENSES",)),
    "M": D("cluster_name", "Ask another cluster.", "ignored", _ONE_CLUSTER + "; the jobs "
           "shown are always this cluster's", env=("SLURM_CLUSTERS",)),
    "me": D("", "Show only the jobs of the user running squeue (`-u $USER`)."),
    "n": D("name_list", "Show only jobs with these names.", values="job_names",
           env=("SQUEUE_NAMES",)),
    "noconvert": D("", "Do not convert sizes to larger units (`2048M` stays `2048M` rather "
                   "than `2G`)."),
    "w": D("hostlist", "Show only jobs running on these nodes (a host list such as "
           "`node[01-04]`).  On AWS Batch the node names are those slurmshim gives the "
           "job's instances.", values="nodes"),
    "h": D("", "Do not print the header line."),
    "notme": D("", "Show only the jobs of other users."),
    "only-job-state": D("", "Ask for the job states only (the fastest query): prints "
                        "`JOBID` and `ST` columns.  Works only with `-j`, `-t` and the "
                        "cluster options."),
    "p": D("partition_list", "Show only jobs in these partitions.", values="partitions",
           env=("SQUEUE_PARTITION",)),
    "P": D("", "With `-p`, show one line per job and partition it was submitted to "
           "(slurmshim jobs have one partition).", env=("SQUEUE_PRIORITY",)),
    "q": D("qos_list", "Show only jobs with these QOS names (recorded from `--qos`).",
           env=("SQUEUE_QOS",)),
    "R": D("reservation_name", "Show only jobs in this reservation.  There are no "
           "reservations, so nothing matches.", "approximated", "there are no reservations"),
    "running-over": D("time", "Show only running jobs that have run longer than *time* "
                      "(Slurm time syntax, e.g. `1:00:00`)."),
    "running-under": D("time", "Show only running jobs that have run less than *time*."),
    "sibling": D("", "Show federated sibling jobs.", "ignored", _NO_FED,
                 env=("SQUEUE_SIBLING",)),
    "S": D("sort_list", "Sort by these fields: `%` letters or `-O` names, comma separated, "
           "each optionally preceded by `+` (ascending, the default) or `-` (descending).  The "
           "default is `P,t,-p` (partition, state, descending priority).",
           env=("SQUEUE_SORT",)),
    "start": D("", "Show pending jobs with their expected start time (`%S`) as slurmshim's "
               "scheduler estimates it, sorted by it."),
    "s": D("step_list", "Show job steps instead of jobs (`srun` steps inside the jobs), "
           "optionally only these (`12.0,13.1`).  The list may also be the next word."),
    "t": D("state_list", "Show only jobs in these states (long or compact names, comma "
           "separated, e.g. `PD,R` or `pending,running`); `all` shows every state.  The "
           "default is pending, running, suspended and completing jobs.",
           values="job_states", env=("SQUEUE_STATES",)),
    "usage": D("", "Print a brief usage message and exit."),
    "u": D("user_list", "Show only the jobs of these users (names or numeric ids).",
           values="users", env=("SQUEUE_USERS",)),
    "v": D("", "Print the options in effect before the report."),
    "V": D("", "Print the Slurm version slurmshim emulates and exit."),
    "json": D("data_parser", "Print the jobs as JSON in the layout of slurmrestd's "
              "`v0.0.4x` job listing."),
    "yaml": D("data_parser", "Print the jobs as YAML (needs PyYAML)."),
}

SCANCEL: dict[str, Desc] = {
    "account": D("account", "Act only on jobs charged to this account.", values="accounts"),
    "batch": D("", "Signal only the batch shell of the job, not its steps (with `--signal`)."),
    "ctld": D("", "Send the request through the controller.", "ignored",
              "there is no slurmctld; requests always go through the ledger"),
    "cron": D("", "Cancel an scrontab job.", "ignored", "there is no scrontab"),
    "full": D("", "Signal the batch shell and every step (with `--signal`)."),
    "help": D("", "Print a summary of the options and exit."),
    "hurry": D("", "Do not stage out burst buffer data.", "ignored", "there are no burst "
               "buffers"),
    "interactive": D("", "Ask for confirmation (`y`/`n`) before acting on each job."),
    "clusters": D("cluster_name", "Cancel on another cluster.", "ignored", _ONE_CLUSTER),
    "name": D("job_name", "Act only on jobs with this name.", values="job_names"),
    "me": D("", "Act only on the jobs of the user running scancel."),
    "nodelist": D("hostlist", "Act only on jobs running on these nodes.", values="nodes"),
    "partition": D("partition", "Act only on jobs in this partition.", values="partitions"),
    "qos": D("qos", "Act only on jobs with this QOS."),
    "quiet": D("", "Do not report jobs that are already finished or unknown."),
    "reservation": D("reservation_name", "Act only on jobs in this reservation.",
                     "approximated", "there are no reservations"),
    "sibling": D("cluster_name", "Remove a federated sibling job.", "ignored", _NO_FED),
    "signal": D("signal_name", "Send this signal (a name such as `USR1` or `SIGTERM`, or a "
                "number) instead of cancelling.  The job is not cancelled, and unknown or "
                "finished job ids become errors.  AWS Batch can deliver only `TERM` and `KILL` "
                "(both through `TerminateJob`: SIGTERM, then SIGKILL 30 seconds later); "
                "other signals to Batch jobs are refused with `Requested operation not "
                "supported on this system`.", values="signals"),
    "state": D("state_list", "Act only on jobs in these states: `PENDING` (`PD`), "
               "`RUNNING` (`R`) or `SUSPENDED` (`S`).", values="scancel_states"),
    "usage": D("", "Print a brief usage message and exit."),
    "user": D("user_name", "Act only on the jobs of this user.", values="users"),
    "verbose": D("", "Print what scancel does, and errors for unknown job ids."),
    "version": D("", "Print the Slurm version slurmshim emulates and exit."),
    "wckey": D("wckey", "Act only on jobs with this workload characterization key."),
}

SINFO: dict[str, Desc] = {
    "autocomplete": _COMMON_HIDDEN_AUTOCOMPLETE,
    "all": D("", "Show all partitions, hidden ones included.", env=("SINFO_ALL",)),
    "dead": D("", "Show only nodes that do not respond."),
    "exact": D("", "Group nodes only when their configurations are exactly the same."),
    "federation": D("", "Show the partitions of every cluster of the federation.", "ignored",
                    _NO_FED),
    "future": D("", "Show nodes in the FUTURE state.", "ignored",
                "nodes are created on demand"),
    "help": D("", "Print a summary of the options and exit."),
    "helpformat": D("", "Print the `%` letters `--format` accepts and exit."),
    "helpFormat": D("", "Print the field names `--Format` accepts and exit."),
    "helpstate": D("", "Print the node state names `--states` accepts and exit."),
    "hide": D("", "Do not show hidden partitions (the default)."),
    "iterate": D("seconds", "Print the report again every *seconds* seconds, with a time "
                 "stamp before each."),
    "local": D("", "Show only this cluster.", "ignored", _NO_FED),
    "long": D("", "Long format: adds the size of jobs, root-only, oversubscribe and group "
              "columns, and the full state names."),
    "cluster": D("cluster_name", "Ask another cluster.", "ignored", _ONE_CLUSTER),
    "nodes": D("hostlist", "Show only these nodes.", values="nodes"),
    "noconvert": D("", "Do not convert sizes to larger units.", "ignored",
                   "sinfo prints memory in megabytes anyway"),
    "noheader": D("", "Do not print the header line."),
    "Node": D("", "Node-oriented format: one line per node rather than per partition."),
    "format": D("format", "Choose the columns with `%` letters (default "
                "`%9P %.5a %.10l %.6D %.6t %N`); `--helpformat` lists them.",
                env=("SINFO_FORMAT",)),
    "Format": D("field[:[.]size][,...]", "Choose the columns by name; `--helpFormat` lists "
                "them.", values="sinfo_fields"),
    "partition": D("partition_list", "Show only these partitions.", values="partitions",
                   env=("SINFO_PARTITION",)),
    "responding": D("", "Show only nodes that respond."),
    "list-reasons": D("", "List why nodes are down, drained or failing.  The nodes of an "
                      "AWS Batch partition are down when its job queue or a compute "
                      "environment is disabled or invalid, with that as the reason."),
    "summarize": D("", "One line per partition with the node counts as "
                   "allocated/idle/other/total."),
    "sort": D("sort_list", "Sort by these `%` letters, each optionally preceded by `+` or "
              "`-`.", env=("SINFO_SORT",)),
    "states": D("state_list", "Show only nodes in these states (comma: any of them; `&`: "
                "all of them; a leading `~` or `!` negates).", values="node_states"),
    "reservation": D("", "Show reservations instead: prints `No reservations in the "
                     "system`."),
    "usage": D("", "Print a brief usage message and exit."),
    "verbose": D("", "Print a time stamp before the report."),
    "version": D("", "Print the Slurm version slurmshim emulates and exit."),
    "json": D("data_parser", "Print partitions and nodes as JSON (slurmrestd layout)."),
    "yaml": D("data_parser", "Print as YAML.", "rejected",
              "not supported by slurmshim's sinfo; use `--json`"),
}

SACCT: dict[str, Desc] = {
    "autocomplete": _COMMON_HIDDEN_AUTOCOMPLETE,
    "a": D("", "Show the jobs of every user (by default only yours, unless you are root)."),
    "A": D("account_list", "Show only jobs charged to these accounts.", values="accounts"),
    "X": D("", "Show only the job allocations, not their steps."),
    "array": D("", "Show one line per array task instead of one per array."),
    "b": D("", "Brief format: `jobid,state,exitcode`."),
    "B": D("", "Print the batch script of each job given with `-j`."),
    "c": D("", "Use the job completion log instead of the accounting data.", "approximated",
           "there is no jobcomp plugin; the ledger is both"),
    "C": D("constraint_list", "Show only jobs that asked for these node features."),
    "delimiter": D("characters", "Field separator for `-p` and `-P` (default `|`)."),
    "D": D("", "Show every attempt of a requeued job (a Spot reclaim retried by AWS Batch "
           "is an attempt), not only the last."),
    "federation": D("", "Show the jobs of the whole federation.", "ignored", _NO_FED),
    "e": D("", "Print the field names `--format` accepts and exit."),
    "helpreason": D("", "Print the reasons `--reason` accepts.", "rejected",
                    "not supported by slurmshim"),
    "helpstate": D("", "Print the state names `--state` accepts and exit."),
    "E": D("time", "Show jobs that were eligible before this time (Slurm time syntax: "
           "`HH:MM[:SS]`, `MMDD[YY]`, `YYYY-MM-DD[THH:MM[:SS]]`, `now-1days`, ...).  With "
           "`--state`, jobs that were in those states before this time."),
    "env-vars": D("", "Print the environment the batch script of each job given with `-j` "
                  "started with."),
    "expand-patterns": D("", "Show `StdOut`, `StdErr` and `StdIn` with their `%` patterns "
                         "expanded."),
    "f": D("file", "Read the job completion log from this file.", "approximated",
           "the file is checked, the data come from the ledger"),
    "F": D("flags", "Database query flags.", "ignored", "there is no database"),
    "g": D("group_list", "Show only jobs of these groups (names or numbers).",
           values="groups"),
    "h": D("", "Print a summary of the options and exit."),
    "local": D("", "Show only this cluster's jobs.", "ignored", _NO_FED),
    "name": D("name_list", "Show only jobs with these names.", values="all_job_names"),
    "i": D("min[-max]", "Show only jobs that ran on this many nodes."),
    "I": D("min[-max]", "Show only jobs that ran on this many CPUs."),
    "j": D("job[.step][,...]", "Show only these jobs or steps (`12`, `12_3`, `12.batch`, "
           "`12.0`).", values="alljobids"),
    "k": D("time", "Show only jobs whose time limit is at least this (with `-K`: in this "
           "range)."),
    "K": D("time", "Upper end of the time limit range of `-k`."),
    "l": D("", "Long format: every accounting field of interest for jobs and steps."),
    "L": D("", "Show the jobs of all clusters.", "ignored", _ONE_CLUSTER),
    "M": D("cluster_list", "Show the jobs of these clusters.", "ignored", _ONE_CLUSTER),
    "N": D("hostlist", "Show only jobs that ran on these nodes.", values="nodes"),
    "noconvert": D("", "Do not convert sizes to larger units."),
    "units": D("K|M|G|T|P", "Print sizes in this unit.", values="units"),
    "n": D("", "Do not print the header lines."),
    "o": D("field_list", "Choose the columns: field names, comma separated, each "
           "optionally `%`*size* (e.g. `jobid,jobname%30,state,elapsed`); `-e` lists "
           "them and ACCOUNTING FIELDS below too.  `--fields` is the same option.",
           values="sacct_fields", env=("SACCT_FORMAT",)),
    "p": D("", "Parsable output: fields separated by `|`, with a trailing `|`."),
    "P": D("", "Parsable output without the trailing `|`."),
    "q": D("qos_list", "Show only jobs with these QOS names."),
    "r": D("partition_list", "Show only jobs in these partitions.", values="partitions"),
    "R": D("reason_list", "Show only jobs that were pending for these reasons."),
    "s": D("state_list", "Show only jobs in these states (names such as `CD`, `F`, "
           "`TIMEOUT`, comma separated) during the time window.", values="sacct_states"),
    "S": D("time", "Show jobs eligible after this time.  The default is midnight of today, "
           "or now when `--state` is given."),
    "T": D("", "Cut the start and end times of jobs to the `-S`/`-E` window."),
    "u": D("user_list", "Show only the jobs of these users (names or numbers; `-1` for "
           "all).", values="users"),
    "use-local-uid": D("", "Resolve user names with the local passwd database.", "ignored",
                       "user names are recorded at submission"),
    "U": D("", "Print a brief usage message and exit."),
    "v": D("", "Report the query before the results."),
    "V": D("", "Print the Slurm version slurmshim emulates and exit."),
    "W": D("wckey_list", "Show only jobs with these workload characterization keys."),
    "whole-hetjob": D("yes|no", "Retrieve every component of heterogeneous jobs.", "ignored",
                      "there are no heterogeneous jobs", values="yes_no"),
    "x": D("association_list", "Show only jobs of these association ids.", "ignored",
           "there are no associations"),
    "json": D("data_parser", "Print the jobs as JSON (slurmrestd layout)."),
    "yaml": D("data_parser", "Print the jobs as YAML (needs PyYAML)."),
    "t": D("", "Same as `-X` (kept for old scripts)."),
}

SCONTROL: dict[str, Desc] = {
    "autocomplete": _COMMON_HIDDEN_AUTOCOMPLETE,
    "all": D("", "Show hidden partitions too (same as the `all` command)."),
    "cluster": D("cluster_name", "Talk to another cluster.", "ignored", _ONE_CLUSTER),
    "details": D("", "Show more details with `show job` (same as the `details` command)."),
    "federation": D("", "Report federation information.", "ignored", _NO_FED),
    "future": D("", "Show nodes in the FUTURE state.", "ignored",
                "nodes are created on demand"),
    "help": D("", "Print the usage of scontrol and its commands and exit.  `--usage` is the "
              "same option."),
    "hide": D("", "Do not show hidden partitions (the default)."),
    "json": D("data_parser", "Print `show` output as JSON."),
    "local": D("", "Report only this cluster.", "ignored", _NO_FED),
    "oneliner": D("", "Print each record on one line (same as the `oneliner` command)."),
    "quiet": D("", "Print no messages except errors."),
    "sibling": D("", "Report federated sibling jobs.", "ignored", _NO_FED),
    "uid": D("uid", "Act as this user for `update`.", "approximated",
             "used to find jobs by name; permissions are the ledger's"),
    "verbose": D("", "Print more messages."),
    "version": D("", "Print the Slurm version slurmshim emulates and exit."),
    "yaml": D("data_parser", "Print `show` output as YAML (needs PyYAML)."),
}

SATTACH: dict[str, Desc] = {
    "error-filter": D("task_number", "Show standard error of this task only.",
                      "approximated", "the job's error file holds every task's output"),
    "input-filter": D("task_number", "Send standard input to this task only.", "ignored",
                      "sattach does not forward standard input"),
    "label": D("", "Prefix each output line with its task number."),
    "layout": D("", "Print the task layout of the step (tasks and nodes) and exit without "
                "attaching."),
    "output-filter": D("task_number", "Show standard output of this task only.",
                       "approximated", "the job's output file holds every task's output"),
    "pty": D("", "Attach to a pseudo terminal.", "ignored", "there are no interactive "
             "terminals"),
    "quiet": D("", "Suppress informational messages."),
    "verbose": D("", "More messages."),
    "version": D("", "Print the Slurm version slurmshim emulates and exit."),
    "help": D("", "Print a summary of the options and exit."),
    "usage": D("", "Print a brief usage message and exit."),
}

DESCRIPTIONS: dict[str, dict[str, Desc]] = {
    "squeue": SQUEUE, "scancel": SCANCEL, "sinfo": SINFO, "sacct": SACCT,
    "scontrol": SCONTROL, "sattach": SATTACH,
}


# ---------------------------------------------------------------------------------------------
# scontrol's command words (completion and the man page)
# ---------------------------------------------------------------------------------------------
SCONTROL_COMMANDS: tuple[tuple[str, str], ...] = (
    ("show", "display a job, partition, node or the configuration"),
    ("hold", "keep pending jobs from starting (administrator hold)"),
    ("uhold", "keep pending jobs from starting (user hold)"),
    ("release", "let held jobs start"),
    ("requeue", "put finished or running batch jobs back in the queue"),
    ("requeuehold", "requeue jobs and hold them"),
    ("update", "change a pending or running job"),
    ("suspend", "suspend jobs (not supported)"),
    ("resume", "resume jobs (not supported)"),
    ("completing", "list jobs that are completing"),
    ("ping", "report whether the controller responds"),
    ("version", "print the version"),
    ("help", "print the usage"),
    ("all", "show hidden partitions too"),
    ("details", "show more details"),
    ("oneliner", "one record per line"),
    ("quiet", "print errors only"),
    ("verbose", "print more messages"),
    ("hide", "do not show hidden partitions"),
    ("exit", "leave interactive mode"),
    ("quit", "leave interactive mode"),
)
SCONTROL_ENTITIES: tuple[tuple[str, str], ...] = (
    ("job", "jobs, or one job"),
    ("partition", "partitions, or one partition"),
    ("node", "nodes, or some nodes"),
    ("config", "the configuration"),
    ("hostnames", "expand a host list, one name a line"),
    ("hostlist", "compress names into a host list"),
    ("hostlistsorted", "compress names into a sorted host list"),
    ("reservation", "reservations (there are none)"),
    ("licenses", "licenses (none are configured)"),
    ("daemons", "the daemons this host would run"),
    ("federations", "federations (there are none)"),
)
# scontrol update job keys: (name, value kind or None, meaning)
SCONTROL_UPDATE_KEYS: tuple[tuple[str, str | None, str], ...] = (
    ("JobId", "jobids", "the job(s) to change (first)"),
    ("TimeLimit", None, "time limit; `+`/`-` prefixes add to or subtract from it"),
    ("TimeMin", None, "minimum time limit"),
    ("Partition", "partitions", "move a pending job to another partition"),
    ("JobName", None, "job name (`Name` also works)"),
    ("Nice", None, "nice value"),
    ("Priority", None, "priority"),
    ("Comment", None, "comment"),
    ("ArrayTaskThrottle", None, "how many tasks of an array may run at once"),
    ("Dependency", None, "dependency list, as `--dependency`"),
    ("StartTime", None, "earliest start time (`EligibleTime` also works)"),
    ("Deadline", None, "deadline"),
    ("Account", "accounts", "account"),
    ("QOS", None, "QOS"),
    ("WCKey", None, "workload characterization key"),
    ("Requeue", "zero_one", "0 or 1: may the job be requeued"),
    ("MailType", "mail_types", "mail events"),
    ("MailUser", "users", "mail recipient"),
    ("StdOut", "files", "standard output file of a pending job"),
    ("StdErr", "files", "standard error file of a pending job"),
    ("StdIn", "files", "standard input file of a pending job"),
    ("WorkDir", "dirs", "working directory of a pending job"),
    ("NumNodes", None, "node count of a pending job"),
    ("NumTasks", None, "task count of a pending job"),
    ("CPUsPerTask", None, "CPUs per task of a pending job"),
    ("MinMemoryNode", None, "memory per node (MiB) of a pending job"),
    ("MinMemoryCPU", None, "memory per CPU (MiB) of a pending job"),
    ("Features", None, "node features (constraint) of a pending job"),
    ("Gres", None, "generic resources of a pending job"),
    ("UserID", "users", "with JobName: the owner of the named jobs"),
)
SCONTROL_JOB_WORDS = ("hold", "uhold", "holdu", "release", "requeue", "requeuehold", "suspend",
                      "resume")


# ---------------------------------------------------------------------------------------------
# the slurmshim admin command: options and arguments come from its click group
# (slurmshim/cli/admin.py), the descriptions of the sub-commands are written here
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AdminCommand:
    name: str
    synopsis: str                        # marked up, without the "slurmshim NAME" prefix
    text: str                            # the man page description (marked-up prose)
    options: tuple[Opt, ...] = ()
    operands: str | None = None          # value kind of the arguments
    brief: str = ""


ADMIN_TEXT: dict[str, str] = {
    "init": (
        "Write a commented starter configuration.  Without `--queue` it has one `local` "
        "partition (jobs run on this machine); with `--queue` it adds a `batch` partition on "
        "that AWS Batch job queue (named by `--partition`, `cloud` by default) and makes it the "
        "default.  The file goes to `$SLURMSHIM_CONF`, else "
        "`~/.config/slurmshim/slurmshim.toml`, unless `--path` names another (`-` prints it); "
        "an existing file is kept unless `--force` is given."),
    "doctor": (
        "Check the installation and print one line per check with `OK`, `WARN`, `FAIL` or "
        "`SKIP` and, for a problem, how to fix it: the configuration parses; AWS credentials "
        "work; every job queue and compute environment exists and is `VALID` and `ENABLED`; "
        "the S3 bucket is reachable; multi-node partitions have an on-demand route "
        "(`mnp_queue`, or an on-demand `job_queue`); EFA partitions have a placement group; "
        "every plugin loads.  Exit status 1 when a check fails."),
    "migrate": (
        "Read a real `slurm.conf` (partitions; node definitions with `CPUs`, `RealMemory`, "
        "`Gres` and `Features`; `MaxTime`; `Default`) and write the equivalent slurmshim "
        "configuration (`--output`, default `slurmshim.toml`) and a plan (`--plan`, default "
        "`slurmshim-plan.json`) of AWS Batch compute environments and job queues that "
        "reproduce those partitions: each node shape gets an instance type chosen from its "
        "CPUs, memory and GPUs, in a Spot and an on-demand compute environment (on-demand only "
        "with `--no-spot`); each partition a Spot and an on-demand job queue.  `--apply` "
        "creates what is missing with the AWS API (idempotent: a second run changes nothing); "
        "`--cloudformation` prints an equivalent CloudFormation template instead."),
    "check": (
        "Scan job scripts (files, or directories searched recursively) and report, per script "
        "and in total, which `#SBATCH` directives map cleanly, which are approximated or "
        "ignored, and which would be refused: the migration team's work list.  The verdicts "
        "come from the option table `sbatch` uses (the support levels in sbatch(1)) and, "
        "unless `--no-site` is given, from this site's partitions.  Exit status 1 when any "
        "script would be refused (with `--strict`: when any is not clean) or when no job "
        "script was found."),
    "output": (
        "Fetch the output of a finished AWS Batch job from CloudWatch Logs into the file its "
        "`--output` names.  *job_id* is *N*, *N*`_`*TASK*, or an array's *N* (every finished "
        "task).  A local job's output is already where `--output` said.  Exit status 1 when "
        "the job has not finished or a fetch fails."),
    "plugins": (
        "List the plugins that load (entry points of group `slurmshim`, and `*.py` files of "
        "the configuration's `plugins_dir`; `SLURMSHIM_PLUGINS` limits which load) and the "
        "hooks each implements."),
    "completion": (
        "Print the completion script of *shell* (`bash`, `zsh` or `fish`) for all nine "
        "commands, for setups where the installed scripts are not found (see SHELL "
        "COMPLETION)."),
}

# options whose value is a file name although click does not say so
_ADMIN_FILE_OPTIONS = {"path", "output", "plan_path"}

# argument name (click) -> value kind
ADMIN_ARG_VALUES = {"slurm_conf": "files", "paths": "files", "job_id": "alljobids",
                    "shell": "shells"}


def _click_admin():
    from ..cli.admin import cli
    return cli


def _click_opt(p, prefix: str) -> tuple[Opt, dict[str, Values]]:
    import click

    longs = tuple(o[2:] for o in list(p.opts) + list(p.secondary_opts) if o.startswith("--"))
    shorts = tuple(o[1:] for o in p.opts if not o.startswith("--"))
    arg = NONE if (p.is_flag or p.count) else REQUIRED
    values = None
    kinds: dict[str, Values] = {}
    if isinstance(p.type, click.Choice):
        values = f"{prefix}_{longs[0].replace('-', '_')}"
        kinds[values] = Values("static", tuple(str(c) for c in p.type.choices))
    elif isinstance(p.type, click.Path):
        values = "dirs" if (p.type.dir_okay and not p.type.file_okay) else "files"
    elif arg != NONE and (p.name in _ADMIN_FILE_OPTIONS or
                          str(p.metavar or "").upper() in ("FILE", "PATH", "CONF")):
        values = "files"
    metavar = (p.metavar or (p.name or "value").upper()) if arg != NONE else ""
    text = " ".join((p.help or "").split()) or "See the command's `--help`."
    if p.show_default and p.default not in (None, False, ()):
        text += f" [default: {p.default}]"
    if p.multiple and arg != NONE:
        text += " May be given more than once."
    return Opt(key=longs[0] if longs else shorts[0], longs=longs, shorts=shorts, arg=arg,
               metavar=metavar.lower() if metavar.isupper() else metavar, text=text,
               brief=_brief(text), values=values), kinds


def _admin_build() -> tuple[tuple[Opt, ...], tuple[AdminCommand, ...], dict[str, Values]]:
    import click

    cli = _click_admin()
    kinds: dict[str, Values] = {}
    globals_: list[Opt] = []
    for p in cli.params:
        if isinstance(p, click.Option):
            o, k = _click_opt(p, "slurmshim")
            globals_.append(o)
            kinds.update(k)
    ctx = click.Context(cli, info_name="slurmshim", **(cli.context_settings or {}))
    help_opt = cli.get_help_option(ctx)
    if help_opt is not None:
        o, _ = _click_opt(help_opt, "slurmshim")
        globals_.append(o)
    commands = []
    for name, cmd in cli.commands.items():
        opts: list[Opt] = []
        operands = None
        syn: list[str] = []
        for p in cmd.params:
            if isinstance(p, click.Argument):
                label = f"*{p.name}*" + ("..." if p.nargs == -1 else "")
                syn.append(label if p.required else f"[{label}]")
                if isinstance(p.type, click.Choice):
                    operands = f"slurmshim_{name}_{p.name}"
                    kinds[operands] = Values("static", tuple(str(c) for c in p.type.choices))
                    syn[-1] = "|".join(f"`{c}`" for c in p.type.choices)
                else:
                    operands = ADMIN_ARG_VALUES.get(p.name or "", "files")
            elif isinstance(p, click.Option):
                o, k = _click_opt(p, f"slurmshim_{name}")
                opts.append(o)
                kinds.update(k)
        help_opt = cmd.get_help_option(
            click.Context(cmd, info_name=name, **(cmd.context_settings or {})))
        if help_opt is not None:
            opts.append(_click_opt(help_opt, f"slurmshim_{name}")[0])
        n_opts = len([o for o in opts if o.key != "help"])
        synopsis = " ".join(syn + (["[*options*]"] if n_opts else []))
        text = ADMIN_TEXT.get(name) or " ".join((cmd.help or "").split())
        brief = " ".join((cmd.short_help or cmd.help or "").split()).split(". ")[0]
        commands.append(AdminCommand(name, synopsis, text, tuple(opts), operands,
                                     _brief(brief or text)))
    return tuple(globals_), tuple(commands), kinds


_ADMIN_CACHE: list = []


def _admin() -> tuple[tuple[Opt, ...], tuple[AdminCommand, ...], dict[str, Values]]:
    if not _ADMIN_CACHE:
        _ADMIN_CACHE.append(_admin_build())
    return _ADMIN_CACHE[0]


def admin_commands() -> tuple[AdminCommand, ...]:
    return _admin()[1]


def admin_command(name: str) -> AdminCommand:
    for c in admin_commands():
        if c.name == name:
            return c
    raise KeyError(name)


def admin_options(name: str) -> list[Opt]:
    """A sub-command's options, its --help last."""
    return list(admin_command(name).options)


def iter_commands() -> Iterable[str]:
    return iter(COMMANDS)
