"""sinfo: partitions and nodes, with Slurm 25.11's options, formats and messages
(src/sinfo/opts.c).  The table itself is built by slurmshim.output.sinfo; this module parses the
command line and feeds it the configured partitions and the backends' node statuses:

    ctl.config.partitions        name -> Partition, in configuration order
    ctl.config.default_partition the partition marked `*`
    ctl.config.cluster_name      %V / --json meta
    ctl.node_statuses()          -> list[NodeStatus] (state + suffix flags, CPUs, memory, ...)
"""
from __future__ import annotations

import os
import sys
import time

from .. import SLURM_VERSION
from ..errors import SlurmError
from ..slurm.getopt import NO_ARGUMENT, OPTIONAL_ARGUMENT, REQUIRED_ARGUMENT, Getopt, Option
from .common import run_main

PROG = "sinfo"

_OPTIONS = [
    Option("autocomplete", None, REQUIRED_ARGUMENT, "autocomplete"),
    Option("all", "a", NO_ARGUMENT, "all"),
    Option("dead", "d", NO_ARGUMENT, "dead"),
    Option("exact", "e", NO_ARGUMENT, "exact"),
    Option("federation", None, NO_ARGUMENT, "federation"),
    Option("future", "F", NO_ARGUMENT, "future"),
    Option("help", None, NO_ARGUMENT, "help"),
    Option("helpformat", None, NO_ARGUMENT, "helpformat"),
    Option("helpFormat", None, NO_ARGUMENT, "helpFormat"),
    Option("helpstate", None, NO_ARGUMENT, "helpstate"),
    Option("hide", None, NO_ARGUMENT, "hide"),
    Option("iterate", "i", REQUIRED_ARGUMENT, "iterate"),
    Option("local", None, NO_ARGUMENT, "local"),
    Option("long", "l", NO_ARGUMENT, "long"),
    Option("cluster", "M", REQUIRED_ARGUMENT, "cluster"),
    Option("clusters", "M", REQUIRED_ARGUMENT, "cluster"),
    Option("nodes", "n", REQUIRED_ARGUMENT, "nodes"),
    Option("noconvert", None, NO_ARGUMENT, "noconvert"),
    Option("noheader", "h", NO_ARGUMENT, "noheader"),
    Option("Node", "N", NO_ARGUMENT, "Node"),
    Option("format", "o", REQUIRED_ARGUMENT, "format"),
    Option("Format", "O", REQUIRED_ARGUMENT, "Format"),
    Option("partition", "p", REQUIRED_ARGUMENT, "partition"),
    Option("responding", "r", NO_ARGUMENT, "responding"),
    Option("list-reasons", "R", NO_ARGUMENT, "list-reasons"),
    Option("summarize", "s", NO_ARGUMENT, "summarize"),
    Option("sort", "S", REQUIRED_ARGUMENT, "sort"),
    Option("states", "t", REQUIRED_ARGUMENT, "states"),
    Option("reservation", "T", NO_ARGUMENT, "reservation"),
    Option("usage", None, NO_ARGUMENT, "usage"),
    Option("verbose", "v", NO_ARGUMENT, "verbose"),
    Option("version", "V", NO_ARGUMENT, "version"),
    Option("json", None, OPTIONAL_ARGUMENT, "json"),
    Option("yaml", None, OPTIONAL_ARGUMENT, "yaml"),
]

USAGE = """\
Usage: sinfo [-abdelNRrsTv] [-i seconds] [-t states] [-p partition] [-n nodes]
             [-S fields] [-o format] [-O Format] [--federation] [--local]
"""

HELP = """\
Usage: sinfo [OPTIONS]
  -a, --all                  show all partitions
  -d, --dead                 show only non-responding nodes
  -e, --exact                group nodes only on an exact match of configuration
  -h, --noheader             no headers on output
  --hide                     do not show hidden partitions
  -i, --iterate=seconds      repeat the report every this many seconds
  --json[=data_parser]       produce JSON output
  -l, --long                 long output - displays more information
  -n, --nodes=NODES          report on these node(s) only
  -N, --Node                 node-centric format
  -o, --format=format        format specification
  -O, --Format=format        long format specification
  -p, --partition=PARTITION  report on this partition only
  -r, --responding           report only responding nodes
  -R, --list-reasons         list the reasons nodes are down or drained
  -s, --summarize            report state summary only
  -S, --sort=fields          comma separated list of fields to sort on
  -t, --states=node_state    report nodes in these states only
  -T, --reservation          show reservation status
  -v, --verbose              verbosity level
  -V, --version              output version information and exit

Help options:
  --help                     show this help message
  --helpformat               list the -o field letters
  --helpFormat               list the -O field names
  --helpstate                list the node states -t accepts
  --usage                    display brief usage message
"""


def _help_format() -> str:
    from ..output.sinfo import FIELDS
    out, cnt = [], 0
    for f in FIELDS:
        if not f.letter:
            continue
        if cnt & 8:
            cnt = 0
            out.append("\n")
        cnt += 1
        out.append(f"%{f.letter:<5}")
    return "".join(out) + "\n"


def _help_format2() -> str:
    from ..output.sinfo import FIELDS
    out, cnt = [], 0
    for f in FIELDS:
        if cnt & 4:
            cnt = 0
            out.append("\n")
        cnt += 1
        out.append(f"{f.name:<20}")
    return "".join(out) + "\n"


def run(argv: list[str], *, out=None, err=None, now: float | None = None, ctl=None) -> int:
    from ..output import sinfo as fmt
    from ..slurm.getopt import usage_error

    out = out or sys.stdout
    err = err or sys.stderr
    opts = fmt.SinfoOptions()
    env = os.environ
    env_all = bool(env.get("SINFO_ALL"))
    env_part = env.get("SINFO_PARTITION")
    if env_all and env_part:
        raise SlurmError("Conflicting options, SINFO_ALL and SINFO_PARTITION, specified. "
                         "Please choose one or the other.")
    if env_part:
        opts.partitions = [p for p in env_part.split(",") if p]
    if env.get("SINFO_SORT"):
        opts.sort = env["SINFO_SORT"]
    iterate = 0
    verbose = 0
    json_out = False
    opt_a = opt_p = False
    getopt = Getopt(_OPTIONS)
    for item in getopt.iterate(argv):
        if item.error is not None:
            raise usage_error(PROG, item.error, 1)
        key, arg = item.key, item.arg
        if key == "all":
            opt_a = True
            opts.partitions = None
            opts.all_partitions = True
        elif key == "dead":
            opts.dead = True
        elif key == "exact":
            opts.exact = True
        elif key == "noheader":
            opts.no_header = True
        elif key == "iterate":
            try:
                iterate = int(arg or "0")
            except ValueError:
                iterate = 0
            if iterate <= 0:
                raise SlurmError(f"Error: invalid entry for --iterate={arg}")
        elif key == "long":
            opts.long = True
        elif key == "nodes":
            from ..slurm.hostlist import expand
            try:
                opts.nodes = expand(arg or "")
            except ValueError:
                opts.nodes = None
            if not opts.nodes:
                raise SlurmError(f"'{arg}' invalid entry for --nodes")
        elif key == "Node":
            opts.node = True
        elif key == "format":
            opts.format, opts.long_format = arg, None
        elif key == "Format":
            opts.long_format, opts.format = arg, None
        elif key == "partition":
            opt_p = True
            opts.partitions = [p for p in (arg or "").split(",") if p]
        elif key == "responding":
            opts.responding = True
        elif key == "list-reasons":
            opts.list_reasons = True
        elif key == "summarize":
            opts.summarize = True
        elif key == "sort":
            opts.sort = arg
        elif key == "states":
            try:
                opts.states = fmt.parse_state_filter(arg or "")
            except ValueError as exc:
                raise SlurmError(f'Bad state string: "{exc.args[0]}"\n'
                                 f"valid states: {fmt.VALID_STATES}") from None
        elif key == "reservation":
            out.write("No reservations in the system\n")
            return 0
        elif key == "verbose":
            verbose += 1
        elif key == "version":
            out.write(f"slurm {SLURM_VERSION}\n")
            return 0
        elif key == "help":
            out.write(HELP)
            return 0
        elif key == "usage":
            out.write(USAGE)
            return 0
        elif key == "helpformat":
            out.write(_help_format())
            return 0
        elif key == "helpFormat":
            out.write(_help_format2())
            return 0
        elif key == "helpstate":
            out.write("".join(s + "\n" for s in fmt.VALID_STATES.split(",")))
            return 0
        elif key == "hide":
            opts.all_partitions = False
        elif key == "json":
            json_out = True
        elif key == "yaml":
            raise SlurmError("--yaml is not supported by slurmshim's sinfo")
        elif key == "autocomplete":
            return 0
        # --federation, --local, -F, -M, --noconvert: one cluster, nothing to convert
    if opts.long and (opts.format is not None or opts.long_format is not None):
        err.write(f"{PROG}: fatal: Options -o(--format) and -l(--long) are mutually exclusive. "
                  "Please remove one and retry.\n")
        return 1
    if opt_a and opt_p:
        raise SlurmError("Conflicting options, -a and -p, specified. "
                         "Please choose one or the other.")
    if (opts.format is None and opts.long_format is None and not opts.summarize
            and not opts.node and not opts.list_reasons and env.get("SINFO_FORMAT")):
        opts.format = env["SINFO_FORMAT"]

    if ctl is None:
        from ..controller import Controller
        ctl = Controller.open()
    cfg = ctl.config
    partitions = list(cfg.partitions.values())
    default = getattr(cfg, "default_partition", None)
    cluster = getattr(cfg, "cluster_name", "N/A")

    if json_out:
        from ..identity import current_user
        user, _uid, group, _gid = current_user()
        command = [PROG] + [a for a in argv if not (a == "--json" or a.startswith("--json="))]
        out.write(fmt.render_json(partitions, ctl.node_statuses(), opts, cluster=cluster,
                                  user=user, group=group, command=command,
                                  default_partition=default))
        return 0

    while True:
        t = now if now is not None else time.time()
        if not opts.no_header and (iterate or verbose) and not opts.long:
            out.write(fmt.print_date(t))
        text, errors = fmt.render(partitions, ctl.node_statuses(), opts, now=t,
                                  default_partition=default, cluster=cluster, prog=PROG)
        if errors:
            err.write(errors)
        out.write(text)
        if not iterate:
            break
        out.write("\n")
        out.flush()
        time.sleep(iterate)
        if hasattr(ctl, "_refreshed"):
            ctl._refreshed = False
    return 0


def main(argv: list[str] | None = None) -> None:
    run_main(PROG, run, argv)


if __name__ == "__main__":
    main()
