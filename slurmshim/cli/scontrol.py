"""scontrol: the job/partition/node/config views and the job actions users and workflow tools
rely on, with Slurm 25.11's command words, messages and exit codes (src/scontrol/*.c).

Supported: `show job|jobs [ID]`, `show partition [NAME]`, `show node [LIST]`, `show config`,
`show hostnames|hostlist|hostlistsorted LIST`, `show reservation` (none), `hold|uhold|holdu|
release ID...`, `requeue|requeuehold [Incomplete|State=SpecialExit] ID...`, `update job ...`,
`completing`, `ping`, `version`, `help`, the flag commands (`oneliner`, `details`, `quiet`,
`verbose`, `all`, `hide`, `quit`/`exit`), and interactive mode (no command: read commands from
stdin).  Command and entity words are matched by prefix exactly as scontrol does (`sho j 7`,
`rel 7`, `req 7`; `sh` is an invalid keyword, as in Slurm).

Controller contract used here (slurmshim.controller.Controller):

    Controller.open() -> ctl
    ctl.config                 Config: .partitions (name -> Partition, in order),
                               .default_partition, .cluster_name, .min_job_age,
                               .max_array_size, .kill_wait, .path, .state_dir;
                               optional .as_show_config() -> dict[str, str] (overrides)
    ctl.state_dir              Path of the ledger/spool directory (show config)
    ctl.squeue_jobs()          -> list[JobRecord]  active + finished within MinJobAge, id order
    ctl.find_jobs("N"|"N_T")   -> list[JobRecord]  raises errors.InvalidJobId when none
    ctl.load_spec(record)      -> JobSpec
    ctl.partition_of(record)   -> Partition | None
    ctl.dependency_state(rec)  -> (overall, [per-term "satisfied"|"waiting"|"never"])
    ctl.node_statuses()        -> list[NodeStatus]
    ctl.hold([id], admin)      -> list[str]  error lines "<strerror> for job <id>"
    ctl.release([id])          -> list[str]  idem
    ctl.requeue([id], hold)    -> list[tuple[id, strerror]]
    ctl.update_job(id, changes: dict[str, str]) -> None; raises SlurmError(<strerror>) or
                               InvalidJobId.  Keys are Slurm's canonical names (TimeLimit,
                               TimeMin, Partition, JobName, Nice, Priority, Comment,
                               ArrayTaskThrottle, Dependency, StartTime, Deadline, Account, QOS,
                               WCKey, Requeue, MailType, MailUser, StdOut, StdErr, WorkDir,
                               NumNodes, NumTasks, CPUsPerTask, MinMemoryNode, MinMemoryCPU,
                               Features, Gres), values strings already validated here
                               (TimeLimit/TimeMin: minutes or "UNLIMITED"; StartTime/Deadline:
                               POSIX seconds; memory: MiB).  A key the controller cannot apply
                               raises SlurmError("Update of this parameter is not supported:
                               K=V"), which is printed as scontrol prints its own refusal.

Job ids are given to the controller one at a time, as scontrol sends them to slurmctld: `N`,
`N_T` or `N_[expr]` (a `[a-b]` list of job ids is expanded here first).
"""
from __future__ import annotations

import os
import sys
import time
from typing import Any

from .. import SLURM_VERSION
from ..errors import InvalidJobId, SlurmError
from ..slurm.getopt import NO_ARGUMENT, OPTIONAL_ARGUMENT, REQUIRED_ARGUMENT, Getopt, Option
from .common import run_main

PROG = "scontrol"

_OPTIONS = [
    Option("autocomplete", None, REQUIRED_ARGUMENT, "autocomplete"),
    Option("all", "a", NO_ARGUMENT, "all"),
    Option("cluster", "M", REQUIRED_ARGUMENT, "cluster"),
    Option("clusters", "M", REQUIRED_ARGUMENT, "cluster"),
    Option("details", "d", NO_ARGUMENT, "details"),
    Option("federation", None, NO_ARGUMENT, "federation"),
    Option("future", "F", NO_ARGUMENT, "future"),
    Option("help", "h", NO_ARGUMENT, "help"),
    Option("hide", None, NO_ARGUMENT, "hide"),
    Option("json", None, OPTIONAL_ARGUMENT, "json"),
    Option("local", None, NO_ARGUMENT, "local"),
    Option("oneliner", "o", NO_ARGUMENT, "oneliner"),
    Option("quiet", "Q", NO_ARGUMENT, "quiet"),
    Option("sibling", None, NO_ARGUMENT, "sibling"),
    Option("uid", "u", REQUIRED_ARGUMENT, "uid"),
    Option("usage", None, NO_ARGUMENT, "help"),
    Option("verbose", "v", NO_ARGUMENT, "verbose"),
    Option("version", "V", NO_ARGUMENT, "version"),
    Option("yaml", None, OPTIONAL_ARGUMENT, "yaml"),
]

USAGE = """\
scontrol [<OPTION>] [<COMMAND>]
    Valid <OPTION> values are:
     -a, --all      Equivalent to "all" command
     -d, --details  Equivalent to "details" command
     -h, --help     Equivalent to "help" command
     --hide         Equivalent to "hide" command
     -o, --oneliner Equivalent to "oneliner" command
     -Q, --quiet    Equivalent to "quiet" command
     -v, --verbose  Equivalent to "verbose" command
     -V, --version  Equivalent to "version" command

  <keyword> may be omitted from the execute line and scontrol will execute
  in interactive mode. It will process commands as entered until explicitly
  terminated.

    Valid <COMMAND> values are:
     all                      display information about all partitions,
                              including hidden partitions.
     details                  evokes additional details from the "show"
                              command
     exit                     terminate scontrol
     help                     print this description of use.
     hide                     do not display information about hidden
                              partitions.
     hold <job_list>          prevent specified job from starting. <job_list>
                              is either a space separate list of job IDs or
                              job names.
     oneliner                 report output one record per line.
     ping                     print status of slurmctld daemons.
     quiet                    print no messages other than error messages.
     quit                     terminate this command.
     release <job_list>       permit specified job to start (see hold)
     requeue <job_id>         re-queue a batch job
     requeuehold <job_id>     re-queue and hold a batch
     show <ENTITY> [<ID>]     display state of identified entity, default
                              is all records.
     uhold <job_list>         place user hold on specified job (see hold)
     update <SPECIFICATIONS>  update job configuration.
     verbose                  enable detailed logging.
     version                  display tool version number.
     !!                       Repeat the last command entered.

  <ENTITY> may be "config", "hostnames", "hostlist", "hostlistsorted",
       "job", "node", "partition" or "reservation".

  <ID> may be a configuration parameter name, job id, node name, partition
       name, reservation name or hostlist.

  <SPECIFICATIONS> are specified in the same format as the configuration
  file. You may wish to use the "show" keyword first, then use the
  cut-and-paste ability of your terminal to enter the new specifications
  in the form "scontrol update JobId=<id> TimeLimit=<limit> ...".

  All commands and options are case-insensitive, although node names and
  partition names tests are case-sensitive (node names "LX" and "lx"
  are distinct).
"""

NOT_SUPPORTED = "Requested operation not supported on this system"
INVALID_JOB_ID = "Invalid job id specified"


def _strncase(a: str, b: str, n: int) -> bool:
    """C strncasecmp(a, b, n) == 0 (strings end at their NUL)."""
    a0, b0 = a.lower() + "\0", b.lower() + "\0"
    for i in range(n):
        ca = a0[i] if i < len(a0) else "\0"
        cb = b0[i] if i < len(b0) else "\0"
        if ca != cb:
            return False
        if ca == "\0":
            return True
    return True


def _match(tag: str, word: str, minlen: int) -> bool:
    return _strncase(tag, word, max(len(tag), minlen))


class Scontrol:
    """One scontrol session (command line or interactive)."""

    def __init__(self, out=None, err=None, stdin=None):
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.stdin = stdin or sys.stdin
        self.exit_code = 0
        self.one_liner = False
        self.quiet = 0            # 1 = quiet, -1 = verbose
        self.details = False
        self.all_flag = False
        self.exit_flag = False
        self.euid: int | None = None
        self._ctl = None
        self.now: float | None = None

    # -- plumbing ------------------------------------------------------------------------------
    @property
    def ctl(self):
        if self._ctl is None:
            from ..controller import Controller
            self._ctl = Controller.open()
        return self._ctl

    def clock(self) -> float:
        return self.now if self.now is not None else time.time()

    def print(self, text: str) -> None:
        self.out.write(text)

    def error(self, text: str) -> None:
        """A bare stderr line (fprintf(stderr, ...)), sets exit code 1."""
        self.exit_code = 1
        if self.quiet != 1:
            self.err.write(text + "\n")

    def log_error(self, text: str) -> None:
        """Slurm's error(): `scontrol: error: ...` (shown even with -Q)."""
        self.exit_code = 1
        self.err.write(f"{PROG}: error: {text}\n")

    # -- commands ------------------------------------------------------------------------------
    def process(self, argv: list[str]) -> None:
        if not argv:
            self.exit_code = 1
            return
        tag = argv[0]
        argc = len(argv)

        def too_many(limit: int, style: int = 0) -> bool:
            if argc > limit:
                if style:
                    self.error(f"too many arguments for {tag} keyword")
                else:
                    self.error(f"too many arguments for keyword:{tag}")
                return True
            return False

        if _match(tag, "all", 2):
            self.all_flag = True
        elif _match(tag, "cancel_reboot", 3):
            self._unsupported(tag)
        elif _match(tag, "completing", 2):
            if not too_many(1):
                self.completing()
        elif _match(tag, "cluster", 2) or _match(tag, "create", 2):
            self._unsupported(tag)
        elif _match(tag, "details", 1):
            if not too_many(1):
                self.details = True
        elif _match(tag, "errnumstr", 2) or _match(tag, "errnostr", 2):
            self._unsupported(tag)
        elif _match(tag, "exit", 2):
            if not too_many(1):
                self.exit_flag = True
        elif (_match(tag, "getaddrs", 8) or _match(tag, "gethost", 7)
              or _match(tag, "hash_file", 15) or _match(tag, "hash", 9)):
            self._unsupported(tag)
        elif _match(tag, "help", 2):
            too_many(1)
            self.print(USAGE + "\n")
        elif _match(tag, "hide", 2):
            self.all_flag = False
            self.details = False
        elif _match(tag, "oneliner", 1):
            too_many(1)
            self.one_liner = True
        elif _match(tag, "pidinfo", 3):
            self._unsupported(tag)
        elif _match(tag, "ping", 3):
            if not too_many(1):
                self.print(self.ping_text())
        elif _match(tag, "power", 2):
            self._unsupported(tag)
        elif _strncase(tag, "\\q", 2) or _match(tag, "quiet", 4):
            too_many(1)
            self.quiet = 1
        elif _match(tag, "quit", 4):
            too_many(1)
            self.exit_flag = True
        elif _match(tag, "reboot_nodes", 3) or _match(tag, "reconfigure", 3):
            self._unsupported(tag)
        elif _match(tag, "requeue", 3):
            self._requeue(argv, hold=False)
        elif _strncase(tag, "requeuehold", 11):
            self._requeue(argv, hold=True)
        elif (_strncase(tag, "hold", 4) or _strncase(tag, "holdu", 5)
              or _strncase(tag, "uhold", 5) or _match(tag, "release", 3)):
            self._hold(argv)
        elif _match(tag, "suspend", 2) or _match(tag, "resume", 3):
            if argc < 2:
                self._too_few(tag)
            else:
                for arg in argv[1:]:
                    self.error(f"{NOT_SUPPORTED} for job {arg}")
        elif (_match(tag, "top", 3) or _match(tag, "token", 3) or _match(tag, "wait_job", 2)
              or _match(tag, "setdebugflags", 9) or _match(tag, "fsdampeningfactor", 3)
              or _match(tag, "fairsharedampeningfactor", 3) or _match(tag, "setdebug", 2)
              or _match(tag, "schedloglevel", 3)):
            self._unsupported(tag)
        elif _match(tag, "show", 3):
            self.show(argv)
        elif (_match(tag, "write", 5) or _match(tag, "takeover", 8)
              or _match(tag, "shutdown", 8)):
            self._unsupported(tag)
        elif _match(tag, "update", 1):
            if argc < 2:
                self.error(f"too few arguments for {tag} keyword")
                return
            self.update(argv[1:])
        elif _match(tag, "delete", 1):
            if argc < 2:
                self.error(f"too few arguments for {tag} keyword")
                return
            self._unsupported(tag)
        elif _match(tag, "verbose", 4):
            too_many(1, style=1)
            self.quiet = -1
        elif _match(tag, "version", 4):
            too_many(1, style=1)
            self.print(f"slurm {SLURM_VERSION}\n")
        elif (_match(tag, "listpids", 1) or _match(tag, "listjobs", 1)
              or _match(tag, "liststeps", 1) or _match(tag, "getent", 6)
              or _match(tag, "notify", 1) or _match(tag, "callerid", 3)):
            self._unsupported(tag)
        else:
            self.error(f"invalid keyword: {tag}")

    def _too_few(self, tag: str) -> None:
        self.error(f"too few arguments for keyword:{tag}")

    def _unsupported(self, what: str) -> None:
        self.exit_code = 1
        if self.quiet != 1:
            self.err.write(f"{PROG}: error: {what}: {NOT_SUPPORTED}\n")

    def ping_text(self) -> str:
        from ..output.scontrol import ping_text
        return ping_text(_short_host())

    # -- show ------------------------------------------------------------------------------------
    def show(self, argv: list[str]) -> None:
        if len(argv) < 2:
            self._too_few(argv[0])
            return
        if len(argv) > 3:
            self.error(f"too many arguments for keyword:{argv[0]}")
            return
        tag = argv[1]
        val: str | None
        if "=" in tag:
            tag, val = tag.split("=", 1)
        elif len(argv) == 3:
            val = argv[2]
        else:
            val = None
        if _match(tag, "aliases", 1):
            self._unsupported("show aliases")
        elif _match(tag, "bbstat", 2) or _match(tag, "dwstat", 2) or _match(tag, "burstbuffer", 2):
            self._unsupported(f"show {tag}")
        elif _match(tag, "assoc_mgr", 2) or _match(tag, "cache", 2):
            self._unsupported(f"show {tag}")
        elif _match(tag, "config", 1):
            self.show_config(val)
        elif _match(tag, "daemons", 1):
            if val:
                self.error(f"too many arguments for keyword:{argv[0]}")
            else:
                self.print("slurmctld slurmd \n")
        elif _match(tag, "Federations", 1):
            self.print("No federation found.\n")
        elif _match(tag, "hostnames", 5):
            self.show_hostnames(val if val is not None else os.environ.get("SLURM_NODELIST"))
        elif _match(tag, "hostlist", 5):
            self.show_hostlist(val, sort=False)
        elif _match(tag, "hostlistsorted", 9):
            self.show_hostlist(val, sort=True)
        elif _match(tag, "jobs", 1) or _match(tag, "jobid", 1):
            self.show_job(val)
        elif _match(tag, "licenses", 2):
            self.print("No licenses configured in Slurm.\n")
        elif _match(tag, "nodes", 1):
            self.show_node(val)
        elif _match(tag, "partitions", 2) or _match(tag, "partitionname", 2):
            self.show_partition(val)
        elif _match(tag, "reservations", 1) or _match(tag, "reservationname", 1):
            if val:
                self.exit_code = 1
                if self.quiet != 1:
                    self.print(f"Reservation {val} not found\n")
            elif self.quiet != 1:
                self.print("No reservations in the system\n")
        elif (_match(tag, "resources", 4) or _match(tag, "slurmd", 2) or _match(tag, "steps", 2)
              or _match(tag, "topoconf", 5) or _match(tag, "topology", 1)):
            self._unsupported(f"show {tag}")
        else:
            self.error(f"invalid entity:{tag} for keyword:{argv[0]}")

    def show_hostnames(self, text: str | None) -> None:
        if not text:
            self.err.write(f"{PROG}: error: host list is empty\n")
            return
        from ..slurm.hostlist import expand
        try:
            names = expand(text)
        except ValueError:
            self.err.write(f"Invalid hostlist: {text}\n")
            return
        self.print("".join(n + "\n" for n in names))

    def show_hostlist(self, text: str | None, *, sort: bool) -> None:
        if not text:
            self.error("invalid encode argument")
            self.print(USAGE + "\n")
            return
        if text == "-" or text.startswith("/"):
            path = "/dev/stdin" if text == "-" else text
            try:
                if text == "-":
                    data = self.stdin.read()
                else:
                    with open(path, encoding="utf-8", errors="replace") as fh:
                        data = fh.read(1024 * 1024 + 1)
            except OSError:
                self.error(f"Can not open {path}")
                return
            if len(data) >= 1024 * 1024:
                self.error(f"File {path} is too large")
                return
            text = ",".join(p for p in data.replace("\n", ",").split(",") if p)
        from ..slurm.hostlist import compress, expand
        try:
            names = expand(text)
        except ValueError:
            self.error(f"Invalid hostlist: {text}")
            return
        self.print(compress(names, sort=sort) + "\n")

    def show_config(self, val: str | None) -> None:
        from ..output.scontrol import show_config
        facts = self.config_facts()
        now = self.clock()
        text = show_config(facts, now=now, ping=self.ping_text())
        if val:
            # `show config KEY`: only the matching lines (case-insensitive substring)
            lines = text.split("\n")
            keep = [ln for ln in lines[1:] if " = " in ln and val.lower() in ln.split(" = ")[0].lower()]
            text = "\n".join([lines[0]] + keep) + "\n\n" + self.ping_text()
        self.print(text)

    def config_facts(self) -> dict[str, str]:
        from ..identity import current_user
        from ..output.scontrol import config_facts
        cfg = self.ctl.config
        user, uid, _group, _gid = current_user()
        parts = list(cfg.partitions.values())
        next_id = None
        boot = None
        try:
            next_id = self.ctl.ledger.peek_next_id()
        except Exception:
            pass
        boot = _boot_time()
        if boot is None:
            try:
                boot = os.stat(self.ctl.state_dir).st_mtime
            except OSError:
                pass
        facts = config_facts(
            cluster_name=cfg.cluster_name, min_job_age=cfg.min_job_age,
            max_array_size=cfg.max_array_size, kill_wait=cfg.kill_wait, partitions=parts,
            boot_time=boot, next_job_id=next_id, host=_short_host(),
            conf_path=cfg.path or "(built-in default)", state_dir=str(self.ctl.state_dir),
            user=user, uid=uid)
        extra = getattr(cfg, "as_show_config", None)
        if callable(extra):
            facts.update(extra())
        return facts

    # -- show job --------------------------------------------------------------------------------
    def show_job(self, job_id_str: str | None) -> None:
        from ..output.scontrol import show_job
        job_id = None
        array_id = None
        if job_id_str is not None:
            if any(not (c.isdigit() or c in "_+") for c in job_id_str):
                self.exit_code = 1
                if self.quiet != 1:
                    self.err.write(f"scontrol_print_job error: {INVALID_JOB_ID}\n")
                return
            head, _, rest = job_id_str.partition("_")
            head = head.split("+")[0]
            job_id = int(head) if head.isdigit() else 0
            if "_" in job_id_str:
                digits = ""
                for c in rest:
                    if not c.isdigit():
                        break
                    digits += c
                array_id = int(digits) if digits else 0
        try:
            if job_id is None:
                records = self.ctl.squeue_jobs()
            else:
                records = self.ctl.find_jobs(str(job_id))
        except InvalidJobId:
            self.exit_code = 1
            if self.quiet != 1:
                self.err.write(f"slurm_load_jobs error: {INVALID_JOB_ID}\n")
            return
        if job_id is not None:
            metas = [r for r in records if r.is_array_meta]
            records = metas + [r for r in records if not r.is_array_meta]
        now = self.clock()
        out = []
        for rec in records:
            task = None
            if array_id is not None:
                if rec.array_task_id == array_id:
                    pass
                elif rec.is_array_meta and array_id in rec.array_pending:
                    task = array_id
                else:
                    continue
            spec = self._spec(rec)
            dep = self._dependency_text(rec, spec)
            out.append(show_job(rec, spec, now=now, oneliner=self.one_liner,
                                dependency_text=dep, partition=self.ctl.partition_of(rec),
                                task_id=task, details=self.details))
        if not out:
            if job_id_str is not None:
                self.exit_code = 1
                if self.quiet != 1:
                    if array_id is not None:
                        self.print(f"Job {job_id}_{array_id} not found\n")
                    else:
                        self.print(f"Job {job_id} not found\n")
            elif self.quiet != 1:
                self.print("No jobs in the system\n")
            return
        self.print("".join(out))

    def _spec(self, rec):
        try:
            return self.ctl.load_spec(rec)
        except Exception:
            return None

    def _dependency_text(self, rec, spec) -> Any:
        from ..model import JobState
        if rec.state != JobState.PENDING or spec is None or spec.dependency is None:
            return None
        fn = getattr(self.ctl, "dependency_state", None)
        if fn is None:
            return ...
        try:
            _overall, statuses = fn(rec)
        except Exception:
            return ...
        from ..slurm.dependency import format_dependency
        it = iter(statuses)

        def satisfied(_term):
            st = next(it, "waiting")
            return {"satisfied": True, "never": False}.get(st)
        text = format_dependency(spec.dependency, satisfied, empty="")
        return text or None

    # -- show partition / node ------------------------------------------------------------------
    def show_partition(self, name: str | None) -> None:
        from ..output.scontrol import show_partition
        parts = list(self.ctl.config.partitions.values())
        default = getattr(self.ctl.config, "default_partition", None)
        if default:
            import dataclasses
            parts = [dataclasses.replace(p, default=(p.name == default)) for p in parts]
        if name is not None:
            sel = [p for p in parts if p.name == name]
            if not sel:
                self.exit_code = 1
                if self.quiet != 1:
                    self.print(f"Partition {name} not found\n")
                return
            parts = sel
        elif not parts:
            if self.quiet != 1:
                self.print("No partitions in the system\n")
            return
        self.print(show_partition(parts, oneliner=self.one_liner))

    def show_node(self, name: str | None) -> None:
        from ..output.scontrol import show_node
        nodes = _merge_nodes(self.ctl.node_statuses())
        if name is None:
            if not nodes:
                if self.quiet != 1:
                    self.print("No nodes in the system\n")
                return
            self.print(show_node(nodes, oneliner=self.one_liner))
            return
        from ..slurm.hostlist import expand
        try:
            wanted = expand(name)
        except ValueError:
            self.error(f"unable to parse node list {name}")
            return
        by_name = {n.name: n for n in nodes}
        for w in wanted:
            node = by_name.get(w)
            if node is None:
                self.exit_code = 1
                if self.quiet != 1:
                    self.print(f"Node {w} not found\n")
                continue
            self.print(show_node([node], oneliner=self.one_liner))

    def completing(self) -> None:
        from ..model import JobState
        from ..output.scontrol import _ts
        from ..slurm.timespec import format_hms
        now = self.clock()
        for rec in self.ctl.squeue_jobs():
            if rec.state != JobState.COMPLETING:
                continue
            line = f"JobId={rec.job_id} EndTime={_ts(rec.end_time)} "
            line += f"CompletingTime={format_hms(max(0, now - (rec.end_time or now)))} "
            if rec.node_list:
                line += f"Nodes(COMPLETING)={rec.node_list} "
            self.print(line + "\n")

    # -- hold / release -------------------------------------------------------------------------
    def _hold(self, argv: list[str]) -> None:
        tag = argv[0]
        if len(argv) < 2:
            self._too_few(tag)
            return
        if _strncase(tag, "holdu", 5) or _strncase(tag, "uhold", 5):
            op, admin = "hold", False
        elif _strncase(tag, "hold", 4):
            op, admin = "hold", _is_operator()
        else:
            op, admin = "release", False
        for arg in argv[1:]:
            err = self._hold_one(op, admin, arg)
            if err:
                self.exit_code = 1
                if self.quiet != 1:
                    self.err.write(f"slurm_suspend error:{err}\n")

    def _hold_one(self, op: str, admin: bool, job_str: str) -> str | None:
        """scontrol_hold for one argument; returns the strerror of the last failure (the
        `slurm_suspend error:` line) or None."""
        if _strncase(job_str, "JobID=", 6):
            job_str = job_str[6:]
        if _strncase(job_str, "Job=", 4):
            job_str = job_str[4:]
        ids = _job_ids(job_str)
        last: str | None = None
        if ids is None:
            if _strncase(job_str, "Name=", 5) or _strncase(job_str, "JobName=", 8):
                name = job_str.split("=", 1)[1]
                ids = self._ids_by_name(name, op)
                if ids is None:
                    return None
            else:
                self.error(f"{INVALID_JOB_ID} for job {job_str}")
                return INVALID_JOB_ID
        for jid in ids:
            if op == "hold":
                errors = self.ctl.hold([jid], admin)
            else:
                errors = self.ctl.release([jid])
            for line in errors or []:
                msg = _strerror_of(line)
                self.error(f"{msg} for job {_slurm_id_text(jid)}")
                last = msg
        return last

    def _ids_by_name(self, name: str, op: str) -> list[str] | None:
        from ..model import JobState
        user = _current_user_name()
        ids = []
        for rec in self.ctl.squeue_jobs():
            if rec.name != name or rec.user != user or rec.state.is_terminal:
                continue
            if rec.state != JobState.PENDING and rec.array_task_id is not None:
                continue
            ids.append(_record_id_text(rec))
        return ids

    # -- requeue ----------------------------------------------------------------------------------
    def _requeue(self, argv: list[str], *, hold: bool) -> None:
        tag = argv[0]
        if len(argv) < 2:
            self._too_few(tag)
            return
        start = 1
        for arg in argv[1:]:
            if not _requeue_flag(arg):
                break
            start += 1
        for job_str in argv[start:]:
            if not job_str:
                self.exit_code = 1
                continue
            if not hold:
                if _strncase(job_str, "jobid=", 6):
                    job_str = job_str[6:]
                if _strncase(job_str, "job=", 4):
                    job_str = job_str[4:]
            ids = _job_ids(job_str)
            if ids is None:
                self.error(f"{INVALID_JOB_ID} for job {job_str}")
                continue
            for jid in ids:
                for _text, err in self.ctl.requeue([jid], hold) or []:
                    self.error(f"{err} for job {_slurm_id_text(jid)}")

    # -- update -----------------------------------------------------------------------------------
    def update(self, args: list[str]) -> None:
        """_update_it: find the entity, then scontrol_update_job for jobs."""
        job_tag = other = None
        i = 0
        while i < len(args):
            arg = args[i]
            if "=" not in arg:
                tag = arg
                i += 1
            else:
                tag = arg.split("=", 1)[0]
                if tag.endswith(("+", "-")):
                    tag = tag[:-1]
            n = len(tag)
            if _strncase(tag, "JobId", max(n, 3)) or _strncase(tag, "JobNAME", max(n, 3)):
                job_tag = True
            elif _strncase(tag, "NodeName", max(n, 3)):
                other = "node"
            elif _strncase(tag, "PartitionName", max(n, 3)):
                other = "partition"
            elif _strncase(tag, "StepId", max(n, 4)):
                other = "step"
            elif _strncase(tag, "ReservationName", max(n, 3)):
                other = "reservation"
            elif _strncase(tag, "SlurmctldDebug", max(n, 2)):
                other = "debug"
            elif (_strncase(tag, "SuspendExcNodes", max(n, 11))
                  or _strncase(tag, "SuspendExcParts", max(n, 11))
                  or _strncase(tag, "SuspendExcStates", max(n, 11))):
                other = "suspend_exc"
            i += 1
        if job_tag:
            self.update_job(args)
        elif other:
            self.exit_code = 1
            if self.quiet != 1:
                self.err.write(f"slurm_update error: {NOT_SUPPORTED}\n")
        else:
            self.error("No valid entity in update command")
            self.err.write('Input line must include "NodeName", "PartitionName", '
                           '"Reservation", "JobId", or "SlurmctldDebug"\n')

    def update_job(self, args: list[str]) -> None:
        """scontrol_update_job: parse Key=Value pairs, validate, then update each job id."""
        from ..slurm import timespec
        job_id_str: str | None = None
        name: str | None = None
        job_uid: int | None = None
        changes: dict[str, str] = {}
        i = 0
        while i < len(args):
            arg = args[i]
            add: str | None = None
            if "=" in arg:
                tag, val = arg.split("=", 1)
                if tag and tag[-1] in "+-":
                    add, tag = tag[-1], tag[:-1]
            elif _strncase(arg, "Nice", max(len(arg), 2)):
                changes["Nice"] = "100"
                i += 1
                continue
            elif _strncase(arg, "ResetAccrueTime", max(len(arg), 3)):
                changes["ResetAccrueTime"] = "1"
                i += 1
                continue
            elif i + 1 < len(args):
                tag, val = arg, args[i + 1]
                i += 1
            else:
                self.error(f"Invalid input: {arg}")
                self.err.write("Request aborted\n")
                return
            i += 1
            n = len(tag)

            def k(word: str, minlen: int) -> bool:
                return _strncase(tag, word, max(n, minlen))

            if k("JobId", 3):
                job_id_str = val
                continue
            if k("TimeLimit", 5):
                if val[:1] in "+-":
                    if add:
                        self.log_error("Invalid syntax, variations of +=- are not accepted.")
                        return
                    add, val = val[0], val[1:]
                minutes = _time_str2mins(val)
                if minutes is None:
                    self.log_error("Invalid TimeLimit value")
                    return
                if add:
                    if job_id_str is None:
                        self.log_error("JobId must precede TimeLimit increment or decrement")
                        return
                    current = self._current_time_limit(job_id_str)
                    if current is None:
                        self.exit_code = 1
                        return
                    from ..model import INFINITE
                    if current == INFINITE:
                        self.log_error("Cannot increment/decrement TimeLimit when set to "
                                       "UNLIMITED.")
                        return
                    if add == "+":
                        minutes = current + minutes
                    elif minutes > current:
                        self.log_error("TimeLimit decrement larger than current time limit "
                                       f"({minutes} > {current})")
                        return
                    else:
                        minutes = current - minutes
                    add = None
                changes["TimeLimit"] = _minutes_text(minutes)
            elif k("TimeMin", 5):
                minutes = _time_str2mins(val)
                if minutes is None or (minutes < 0 and minutes != -1):
                    self.log_error("Invalid TimeMin value")
                    return
                changes["TimeMin"] = _minutes_text(minutes)
            elif k("Priority", 2):
                if not _is_uint(val):
                    self.log_error(f"Invalid Priority value: {val}")
                    return
                changes["Priority"] = str(int(val))
            elif k("Nice", 2):
                nice = _strtol(val)
                if abs(nice) > 2147483645:
                    self.log_error("Nice value out of range (+/- 2147483645). Value ignored")
                    return
                changes["Nice"] = str(nice)
            elif k("ArrayTaskThrottle", 10):
                if _strtol(val) < 0:
                    self.log_error("Invalid ArrayTaskThrottle value")
                    return
                changes["ArrayTaskThrottle"] = str(_strtol(val))
            elif k("Comment", 3):
                changes["Comment"] = val
            elif k("Partition", 2):
                changes["Partition"] = val
            elif k("QOS", 2):
                changes["QOS"] = val
            elif k("Name", 2) or k("JobName", 4):
                changes["JobName"] = val
                name = val
            elif k("WCKey", 1):
                changes["WCKey"] = val
            elif k("StdErr", 6):
                changes["StdErr"] = val
            elif k("StdIn", 5):
                changes["StdIn"] = val
            elif k("StdOut", 6):
                changes["StdOut"] = val
            elif k("Account", 1):
                changes["Account"] = val
            elif k("Dependency", 1):
                changes["Dependency"] = val
            elif k("EligibleTime", 2) or k("StartTime", 2):
                try:
                    when = timespec.parse_datetime(val, time.time())
                except ValueError:
                    continue        # parse_time() returned 0: the key is silently ignored
                changes["StartTime"] = str(int(max(when, time.time())))
            elif k("Deadline", 3):
                try:
                    changes["Deadline"] = str(int(timespec.parse_datetime(val, time.time())))
                except ValueError:
                    continue
            elif k("Requeue", 4):
                if not _is_uint(val, 65535):
                    self.log_error(f"Invalid Requeue value: {val}")
                    return
                changes["Requeue"] = str(min(int(val), 1))
            elif k("NumNodes", 8) or k("ReqNodes", 8):
                changes["NumNodes"] = val
            elif k("NumTasks", 8) or k("ReqProcs", 8):
                if not _is_uint(val):
                    self.log_error(f"Invalid NumTasks value: {val}")
                    return
                changes["NumTasks"] = str(int(val))
            elif k("CPUsPerTask", 9):
                if not _is_uint(val, 65535):
                    self.log_error(f"Invalid CPUsPerTask value: {val}")
                    return
                changes["CPUsPerTask"] = str(int(val))
            elif k("MinMemoryNode", 10) or k("MinMemoryCPU", 10):
                if not _is_uint(val, 2 ** 64 - 1):
                    which = "MinMemoryNode" if k("MinMemoryNode", 10) else "MinMemoryCPU"
                    self.log_error(f"Invalid {which} value: {val}")
                    return
                changes["MinMemoryNode" if k("MinMemoryNode", 10) else "MinMemoryCPU"] = \
                    str(int(val))
            elif k("Features", 1):
                changes["Features"] = val
            elif k("Gres", 2) or k("TresPerNode", 8):
                changes["Gres"] = val
            elif k("MailType", 5):
                changes["MailType"] = val
            elif k("MailUser", 5):
                changes["MailUser"] = val
            elif k("WorkDir", 2):
                changes["WorkDir"] = val
            elif k("UserID", 3):
                uid = _uid_of(val)
                if uid is None:
                    self.error(f"Invalid UserID: {val}")
                    self.err.write("Request aborted\n")
                    return
                job_uid = uid
                continue
            elif _slurm_knows(tag):
                # a key Slurm accepts but slurmshim has no meaning for
                self.error(f"Update of this parameter is not supported: {arg}")
                self.err.write("Request aborted\n")
                return
            else:
                self.error(f"Update of this parameter is not supported: {arg}")
                self.err.write("Request aborted\n")
                return
            if add:
                self.log_error(f"Option {tag} does not accept [+|-]= syntax")
                return
        if not changes:
            self.error("No changes specified")
            return
        if job_id_str is None and name is not None:
            job_id_str = self._name2id(name, job_uid)
            if job_id_str is None:
                self.exit_code = 1
                return
        if job_id_str is None:
            self.log_error("No job ID specified")
            return
        ids = _job_ids(job_id_str)
        if ids is None:
            self.error(f"{INVALID_JOB_ID} for job {job_id_str}")
            return
        for jid in ids:
            try:
                self.ctl.update_job(jid, dict(changes))
            except InvalidJobId:
                self.error(f"{INVALID_JOB_ID} for job {_slurm_id_text(jid)}")
            except SlurmError as exc:
                msg = exc.message.split("\n")[0]
                if msg.startswith("Update of this parameter is not supported"):
                    self.error(msg)
                    self.err.write("Request aborted\n")
                    return
                self.error(f"{msg} for job {_slurm_id_text(jid)}")

    def _current_time_limit(self, job_id_str: str) -> int | None:
        from ..model import INFINITE
        head, _, task = job_id_str.partition("_")
        if not head.isdigit() or (task and not task.isdigit()):
            self.log_error(f"Invalid job ID {job_id_str}")
            return None
        try:
            recs = self.ctl.find_jobs(head)
        except InvalidJobId:
            self.log_error(f"Could not load state information for job {job_id_str}: "
                           f"{INVALID_JOB_ID}")
            return None
        if len(recs) > 1 and not task:
            self.log_error("TimeLimit increment/decrement not supported for job arrays")
            return None
        rec = recs[0]
        if task:
            t = int(task)
            match = [r for r in recs if r.array_task_id == t or
                     (r.is_array_meta and t in r.array_pending)]
            if not match:
                return None
            rec = match[0]
        limit = rec.time_limit
        if limit is None:
            part = self.ctl.partition_of(rec)
            if part is not None:
                limit = part.default_time if part.default_time is not None else part.max_time
        return INFINITE if limit is None else limit

    def _name2id(self, name: str, uid: int | None) -> str | None:
        recs = self.ctl.squeue_jobs()
        if not recs:
            self.log_error(f"JobName {name} not found")
            return None
        ids = [_record_id_text(r) for r in recs
               if r.name == name and (uid is None or r.uid == uid)]
        if not ids:
            if uid is None:
                self.log_error(f"No jobs with name '{name}'")
            else:
                self.log_error(f"No jobs with user ID {uid} and name '{name}'")
            return None
        return ",".join(ids)

    # -- interactive ------------------------------------------------------------------------------
    def interactive(self) -> None:
        import shlex
        last: list[str] | None = None
        tty = hasattr(self.stdin, "isatty") and self.stdin.isatty()
        while not self.exit_flag:
            if tty:
                self.out.write(f"{PROG}: ")
                self.out.flush()
            line = self.stdin.readline()
            if not line:
                if tty:
                    self.out.write("\n")
                break
            line = line.rstrip("\n")
            if line.strip() == "!!" and last is not None:
                argv = last
            else:
                try:
                    argv = shlex.split(line)
                except ValueError:
                    argv = line.split()
                last = argv
            if argv:
                self.process(argv)
            self.out.flush()


# --------------------------------------------------------------------------- helpers

def _boot_time() -> float | None:
    """The machine's boot time (/proc/stat btime): our stand-in for slurmctld's BOOT_TIME."""
    try:
        with open("/proc/stat", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("btime "):
                    return float(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def _short_host() -> str:
    import socket
    return socket.gethostname().split(".")[0]


def _is_operator() -> bool:
    """`scontrol hold` by root (or SlurmUser) is an admin hold; by anyone else a user hold."""
    try:
        return os.geteuid() == 0
    except AttributeError:
        return False


def _current_user_name() -> str:
    from ..identity import current_user
    return current_user()[0]


def _uid_of(text: str) -> int | None:
    import pwd
    if text.isdigit():
        return int(text)
    try:
        return pwd.getpwnam(text).pw_uid
    except KeyError:
        return None


def _strerror_of(line: str) -> str:
    """`Invalid job id specified for job 7` -> `Invalid job id specified`."""
    return line.rsplit(" for job ", 1)[0] if " for job " in line else line


def _slurm_id_text(jid: str) -> str:
    """The id as scontrol prints it in `... for job <id>`: `N_[1-3]` is sent as `N_1-3`."""
    if "_[" in jid and jid.endswith("]"):
        return jid.replace("_[", "_")[:-1]
    return jid


def _record_id_text(rec) -> str:
    if rec.array_task_id is not None and rec.array_job_id is not None:
        return f"{rec.array_job_id}_{rec.array_task_id}"
    return str(rec.job_id)


def _requeue_flag(arg: str) -> bool:
    """parse_requeue_flags: `Incomplete` (any prefix) or `State=SpecialExit|SE`."""
    if _strncase(arg, "incomplete", len(arg)):
        return True
    if not _strncase(arg, "state=", 6):
        return False
    rest = arg[6:]
    return _strncase(rest, "specialexit", 11) or _strncase(rest, "se", 2)


def _job_ids(job_str: str) -> list[str] | None:
    """_is_job_id + _next_job_id: a comma/space separated list of `N`, `N_T`, `N_[expr]`,
    `[a-b]` (a range of job ids) or `N+O`; None when it is not a list of job ids.  Returns the
    ids in the form the controller takes (`N`, `N_T`, `N_[expr]`)."""
    if not job_str:
        return None
    tokens = []
    cur = ""
    depth = 0
    plus = under = False
    for ch in job_str:
        if ch == "+":
            if plus:
                return None
            plus = True
        elif ch == "_":
            if under:
                return None
            under = True
        elif ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif ch == "-":
            if depth == 0 and not under:
                return None
        elif ch in ", ":
            if depth == 0:
                tokens.append(cur)
                cur = ""
                plus = under = False
                continue
        elif not ch.isdigit():
            return None
        cur += ch
    if depth != 0:
        return None
    tokens.append(cur)
    out: list[str] = []
    for tok in tokens:
        if not tok:
            continue
        base, sep, task = tok.partition("_")
        if task.startswith("[") and task.endswith("]"):
            task = task[1:-1]
        suffix = ""
        if sep:
            suffix = f"_{task}" if task.isdigit() else f"_[{task}]"
        if base.startswith("["):
            from ..slurm.hostlist import expand
            try:
                ids = expand(base)
            except ValueError:
                continue
            out.extend(f"{i}{suffix}" for i in ids)
        else:
            out.append(f"{base}{suffix}")
    return out


def _strtol(text: str) -> int:
    s = text.strip()
    sign = 1
    if s[:1] in "+-":
        sign = -1 if s[0] == "-" else 1
        s = s[1:]
    digits = ""
    for c in s:
        if not c.isdigit():
            break
        digits += c
    return sign * int(digits) if digits else 0


def _is_uint(text: str, limit: int = 4294967295) -> bool:
    return text.isdigit() and int(text) <= limit


def _time_str2mins(text: str) -> int | None:
    """time_str2mins: minutes (rounded up) or INFINITE (-1); None when invalid."""
    from ..slurm import timespec
    try:
        return timespec.parse_time_limit(text)
    except ValueError:
        return None


def _minutes_text(minutes: int) -> str:
    from ..model import INFINITE
    return "UNLIMITED" if minutes == INFINITE else str(minutes)


_SLURM_ONLY_KEYS = ("AdminComment", "SiteFactor", "Clusters", "ClusterFeatures", "DelayBoot",
                    "Extra", "CpusPerTres", "NumCPUs", "ReqSockets", "ReqCores", "TasksPerNode",
                    "ReqThreads", "MinCPUsNode", "MinTmpDiskNode", "ReservationName", "Switches",
                    "wait-for-switch", "OverSubscribe", "Shared", "Contiguous", "CoreSpec",
                    "MemPerTres", "ThreadSpec", "TresBind", "TresFreq", "TresPerJob",
                    "TresPerSocket", "TresPerTask", "ExcNodeList", "NodeList", "ReqNodeList",
                    "Prefer", "BurstBuffer", "Licenses", "EndTime", "Reboot", "MCSLabel")


def _slurm_knows(tag: str) -> bool:
    return any(tag.lower() == k.lower() for k in _SLURM_ONLY_KEYS)


def _merge_nodes(statuses):
    """One NodeStatus per node name, partitions merged, first-seen order."""
    import dataclasses
    seen: dict[str, Any] = {}
    for n in statuses:
        if n.name in seen:
            prev = seen[n.name]
            parts = tuple(dict.fromkeys(prev.partitions + n.partitions))
            seen[n.name] = dataclasses.replace(prev, partitions=parts)
        else:
            seen[n.name] = n
    return list(seen.values())


# --------------------------------------------------------------------------- entry point

def run(argv: list[str], *, out=None, err=None, stdin=None, now: float | None = None,
        ctl=None) -> int:
    """Run one scontrol invocation; `ctl` (tests) replaces Controller.open()."""
    from ..slurm.getopt import usage_error
    sess = Scontrol(out, err, stdin)
    sess.now = now
    sess._ctl = ctl
    # `scontrol setdebugflags -x`: stop option parsing at that keyword, as scontrol does
    cut = len(argv)
    for i, a in enumerate(argv):
        if _strncase(a, "setdebugflags", 8):
            cut = i
            break
    g = Getopt(_OPTIONS)
    items = []
    for item in g.iterate(argv[:cut]):
        if item.error is not None:
            raise usage_error(PROG, item.error, 1)
        items.append(item)
    operands = list(g.operands) + argv[cut:]
    for item in items:
        key = item.key
        if key == "help":
            sess.print(USAGE + "\n")
            return 0
        if key == "version":
            sess.print(f"slurm {SLURM_VERSION}\n")
            return 0
        if key == "oneliner":
            sess.one_liner = True
        elif key == "quiet":
            sess.quiet = 1
        elif key == "verbose":
            sess.quiet = -1
        elif key == "details":
            sess.details = True
        elif key == "all":
            sess.all_flag = True
        elif key == "hide":
            sess.all_flag = sess.details = False
        elif key == "uid":
            uid = _uid_of(item.arg or "")
            if uid is None:
                sess.err.write(f'{PROG}: error: --uid="{item.arg}" invalid\n')
                return 0
            sess.euid = uid
        elif key in ("json", "yaml"):
            raise SlurmError(f"--{key} is not supported by slurmshim's scontrol")
        elif key == "cluster":
            pass                      # one cluster: whatever is named, this is it
        elif key == "autocomplete":
            return 0
    if operands:
        sess.process(operands)
    else:
        sess.interactive()
    return sess.exit_code


def main(argv: list[str] | None = None) -> None:
    run_main(PROG, run, argv)


if __name__ == "__main__":
    main()
