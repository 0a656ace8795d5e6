"""scancel: cancel or signal jobs, with Slurm's quirks kept (scancel.c):

* plain `scancel ID` (SIGKILL, no filters): an unknown or finished id is silent, exit 0;
* with `--signal` or any filter the job list is loaded first, finished jobs count as unknown, and
  an id that matches nothing is `Kill job error on job id N: Invalid job id specified`, exit 1;
* `-v` prints what it does and the error lines, but keeps exit 0 for the plain form.
"""
from __future__ import annotations

import signal as _signal
import sys
from .._dataclass import dataclass, field

from .. import SLURM_VERSION
from ..errors import SlurmError
from ..slurm.getopt import NO_ARGUMENT, REQUIRED_ARGUMENT, Getopt, Option
from .common import run_main

PROG = "scancel"

_OPTIONS = [
    Option("account", "A", REQUIRED_ARGUMENT, "account"),
    Option("batch", "b", NO_ARGUMENT, "batch"),
    Option("ctld", None, NO_ARGUMENT, "ctld"),
    Option("cron", "c", NO_ARGUMENT, "cron"),
    Option("full", "f", NO_ARGUMENT, "full"),
    Option("help", None, NO_ARGUMENT, "help"),
    Option("hurry", "H", NO_ARGUMENT, "hurry"),
    Option("interactive", "i", NO_ARGUMENT, "interactive"),
    Option("cluster", "M", REQUIRED_ARGUMENT, "clusters"),
    Option("clusters", "M", REQUIRED_ARGUMENT, "clusters"),
    Option("name", "n", REQUIRED_ARGUMENT, "name"),
    Option("jobname", None, REQUIRED_ARGUMENT, "name"),
    Option("me", None, NO_ARGUMENT, "me"),
    Option("nodelist", "w", REQUIRED_ARGUMENT, "nodelist"),
    Option("partition", "p", REQUIRED_ARGUMENT, "partition"),
    Option("qos", "q", REQUIRED_ARGUMENT, "qos"),
    Option("quiet", "Q", NO_ARGUMENT, "quiet"),
    Option("reservation", "R", REQUIRED_ARGUMENT, "reservation"),
    Option("sibling", None, REQUIRED_ARGUMENT, "sibling"),
    Option("signal", "s", REQUIRED_ARGUMENT, "signal"),
    Option("state", "t", REQUIRED_ARGUMENT, "state"),
    Option("usage", None, NO_ARGUMENT, "usage"),
    Option("user", "u", REQUIRED_ARGUMENT, "user"),
    Option("verbose", "v", NO_ARGUMENT, "verbose"),
    Option("version", "V", NO_ARGUMENT, "version"),
    Option("wckey", None, REQUIRED_ARGUMENT, "wckey"),
]

USAGE = """\
Usage: scancel [-A account] [--batch] [--full] [--interactive] [-n job_name]
               [-p partition] [-Q] [-q qos] [-R reservation] [-s signal | integer]
               [-t PENDING | RUNNING | SUSPENDED] [--usage] [-u user_name]
               [--hurry] [-V] [-v] [-w hosts...] [--wckey=wckey] [--me]
               [job_id[_array_id][.step_id]]
"""

HELP = """\
Usage: scancel [OPTIONS] [job_id[_array_id][.step_id]]
  -A, --account=account           act only on jobs charging this account
  -b, --batch                     signal batch shell for specified job
  -c, --cron                      cancel an scrontab job
  -f, --full                      signal batch shell and all steps for specified job
  -H, --hurry                     avoid burst buffer stage out
  -i, --interactive               require response from user for each job
  -M, --clusters                  clusters to issue commands to.
                                  NOTE: SlurmDBD must be up.
  -n, --name=job_name             act only on jobs with this name
  -p, --partition=partition       act only on jobs in this partition
  -Q, --quiet                     disable warnings
  -q, --qos=qos                   act only on jobs with this quality of service
  -R, --reservation=reservation   act only on jobs with this reservation
      --sibling=cluster_name      remove an active sibling job from a federated job
  -s, --signal=name | integer     signal to send to job, default is SIGKILL
  -t, --state=states              act only on jobs in this state.  Valid job
                                  states are PENDING, RUNNING and SUSPENDED
  -u, --user=user_name            act only on jobs of this user
  -V, --version                   output version information and exit
  -v, --verbose                   verbosity level
  -w, --nodelist                  act only on jobs on these nodes
      --wckey=wckey               act only on jobs with this workload
                                  charactization key
      --me                        act only on jobs of the current user

Help options:
  --help                          show this help message
  --usage                         display brief usage message
"""

_VALID_STATES = {"PENDING": "PENDING", "PD": "PENDING", "RUNNING": "RUNNING", "R": "RUNNING",
                 "SUSPENDED": "SUSPENDED", "S": "SUSPENDED"}


@dataclass
class CancelRequest:
    """A parsed scancel command line."""

    ids: list[str] = field(default_factory=list)
    signum: int | None = None
    batch: bool = False
    full: bool = False
    verbose: int = 0
    quiet: bool = False
    interactive: bool = False
    names: set[str] | None = None
    users: set[str] | None = None
    states: set[str] | None = None
    partitions: set[str] | None = None
    accounts: set[str] | None = None
    qos: set[str] | None = None
    nodes: set[str] | None = None
    wckey: str | None = None
    reservation: str | None = None

    @property
    def has_filters(self) -> bool:
        return any(x is not None for x in (self.names, self.users, self.states, self.partitions,
                                            self.accounts, self.qos, self.nodes, self.wckey,
                                            self.reservation))


def parse_args(argv: list[str]) -> CancelRequest | str:
    """Pure command-line parsing; returns the request, or the text to print for --help etc."""
    from ..controller import parse_job_target

    req = CancelRequest()
    res = Getopt(_OPTIONS).parse(argv, PROG, exit_code=1, help_hint=False)
    for item in res.items:
        k, v = item.key, item.arg
        if k == "help":
            return HELP
        if k == "usage":
            return USAGE
        if k == "version":
            return f"slurm {SLURM_VERSION}\n"
        if k == "batch":
            req.batch = True
        elif k == "full":
            req.full = True
        elif k == "verbose":
            req.verbose += 1
        elif k == "quiet":
            req.quiet = True
        elif k == "interactive":
            req.interactive = True
        elif k == "signal":
            from ..slurm.signals import parse_signal
            try:
                req.signum = parse_signal(v or "")
            except ValueError:
                raise SlurmError(f"Invalid job signal: {v}") from None
        elif k == "name":
            req.names = set(_split(v))
        elif k == "user":
            req.users = _users(_split(v))
        elif k == "me":
            req.users = {_me()}
        elif k == "state":
            req.states = _states(v or "")
        elif k == "partition":
            req.partitions = set(_split(v))
        elif k == "account":
            req.accounts = set(_split(v))
        elif k == "qos":
            req.qos = set(_split(v))
        elif k == "nodelist":
            from ..slurm.hostlist import expand
            try:
                req.nodes = set(expand(v or ""))
            except ValueError:
                raise SlurmError(f"Invalid node name specified: {v}") from None
        elif k == "wckey":
            req.wckey = v
        elif k == "reservation":
            req.reservation = v
        elif k == "clusters":
            pass  # one cluster: the local one
    for op in res.operands:
        for tok in op.split(","):
            if not tok:
                continue
            try:
                parse_job_target(tok)
            except ValueError:
                raise SlurmError(f"Invalid job id {tok}") from None
            req.ids.append(tok)
    if not req.ids and not req.has_filters:
        raise SlurmError("No job identification provided")
    return req


def _split(v: str | None) -> list[str]:
    return [x for x in (v or "").split(",") if x]


def _me() -> str:
    from ..identity import current_user
    return current_user()[0]


def _users(names: list[str]) -> set[str]:
    import pwd
    out = set()
    for n in names:
        if n.isdigit():
            try:
                out.add(pwd.getpwuid(int(n)).pw_name)
                continue
            except KeyError:
                pass
        try:
            pwd.getpwnam(n)
        except KeyError:
            raise SlurmError(f"Invalid user name: {n}") from None
        out.add(n)
    return out


def _states(text: str) -> set[str]:
    out = set()
    for tok in _split(text):
        st = _VALID_STATES.get(tok.upper())
        if st is None:
            raise SlurmError(f"Invalid job state specified: {tok}\n"
                             "Valid job states are PENDING, RUNNING, and SUSPENDED", raw=True)
        out.add(st)
    return out


def matches_filters(rec, req: CancelRequest) -> bool:
    """Does an active record pass every filter given (scancel ANDs them)?"""
    if req.names is not None and rec.name not in req.names:
        return False
    if req.users is not None and rec.user not in req.users:
        return False
    if req.states is not None and rec.state.value not in req.states:
        return False
    if req.partitions is not None and rec.partition not in req.partitions:
        return False
    if req.accounts is not None and (rec.account or "") not in req.accounts:
        return False
    if req.qos is not None and (rec.qos or "normal") not in req.qos:
        return False
    if req.nodes is not None:
        from ..slurm.hostlist import expand
        if not rec.node_list or not set(expand(rec.node_list)) & req.nodes:
            return False
    return True


def run(argv: list[str]) -> int:
    parsed = parse_args(argv)
    if isinstance(parsed, str):
        sys.stdout.write(parsed)
        return 0
    req = parsed
    from ..controller import Controller, parse_job_target

    ctl = Controller.open()
    signum = req.signum if req.signum is not None else _signal.SIGKILL
    explicit = req.signum is not None
    strict = explicit or req.has_filters
    exit_code = 0
    selected = []
    tasks: dict[int, set[int]] = {}

    def say(job_text: str) -> None:
        if req.verbose:
            if explicit:
                sys.stderr.write(f"scancel: Signal {signum} to job {job_text}\n")
            else:
                sys.stderr.write(f"scancel: Terminating job {job_text}\n")

    if req.ids:
        for text in req.ids:
            target = parse_job_target(text)
            recs = [r for r in ctl.records_for_target(target, visible_only=False)
                    if r.state.is_active and matches_filters(r, req)]
            say(text)
            if not recs:
                if strict or req.verbose:
                    sys.stderr.write(f"scancel: error: Kill job error on job id {text}: "
                                     "Invalid job id specified\n")
                if strict:
                    exit_code = 1
                continue
            if target.tasks is not None:
                for r in recs:
                    if r.is_array_meta:
                        tasks.setdefault(r.job_id, set()).update(target.tasks)
            selected.extend(recs)
    else:
        ctl.refresh()
        recs = [r for r in ctl.ledger.active() if matches_filters(r, req)]
        if not recs and req.verbose:
            sys.stderr.write("scancel: error: No active jobs match ALL job filters, including: "
                             + _filter_text(req) + "\n")
        for r in recs:
            say(r.display_id)
        selected.extend(recs)
    if req.interactive:
        selected = [r for r in selected if _confirm(r)]
    seen: set[int] = set()
    unique = [r for r in selected if not (r.job_id in seen or seen.add(r.job_id))]
    if unique:
        ctl.cancel_records(unique, signum=signum, explicit_signal=explicit,
                           batch_only=req.batch, full=req.full, tasks=tasks)
    return exit_code


def _filter_text(req: CancelRequest) -> str:
    parts = []
    if req.names:
        parts.append("job_name=" + ",".join(sorted(req.names)))
    if req.users:
        parts.append("user_name=" + ",".join(sorted(req.users)))
    if req.states:
        parts.append("state=" + ",".join(sorted(req.states)))
    if req.partitions:
        parts.append("partition=" + ",".join(sorted(req.partitions)))
    return " ".join(parts)


def _confirm(rec) -> bool:
    sys.stderr.write(f"Cancel job_id={rec.display_id} name={rec.name} partition={rec.partition} [y/n]? ")
    sys.stderr.flush()
    ans = sys.stdin.readline().strip().lower()
    return ans.startswith("y")


def main(argv: list[str] | None = None) -> None:
    run_main(PROG, run, argv)


if __name__ == "__main__":
    main()
