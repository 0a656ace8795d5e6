"""sbatch's command line, ``SBATCH_*`` variables and ``#SBATCH`` lines -> :class:`JobSpec`.

Pure: the only I/O is the ``read_script`` callback the CLI passes in.  The order of events is
sbatch 25.11's (``src/sbatch/sbatch.c`` ``main`` and ``opt.c``), because it decides which error a
user sees first:

1. first pass over the command line (``:`` tokens dropped): every option is applied in order, so
   getopt errors, ``--help``/``--version`` and bad values (``Invalid --time specification``) come
   out here, before the script is even read;
2. ``Script arguments not permitted with --wrap option``;
3. the script is read (``--wrap`` builds one) and checked (empty, ``#!``, NUL, DOS line breaks);
4. second pass: ``#SBATCH`` lines, then ``SBATCH_*`` variables, then the command line again, each
   overriding the previous (the options sbatch only handles in its first pass -- ``--help``,
   ``--usage``, ``--version``, ``--quiet``, ``--verbose``, ``--wrap`` -- do nothing in a script);
5. consistency checks (``_opt_verify``), defaults (job name, paths), the exported environment;
6. the errors slurmctld would give at submission (bad ``--array``/``--dependency``).

Every option given is recorded in ``spec.options`` with its source and support level.
"""
from __future__ import annotations

import fnmatch
import posixpath
from typing import Callable, Iterable, Mapping

from .._dataclass import dataclass
from ..errors import SlurmError
from ..model import JobSpec, OptionUse
from . import directives as _dir
from . import getopt as _getopt
from . import options as _opts
from .options import ApplyContext, EarlyExit, Fatal, OptionRow, RejectedOption

PROG = "sbatch"

# Environment variables never exported to a job: credentials stay on the submit host.  Shell
# patterns, matched case-insensitively against the variable name.
SECRET_ENV_PATTERNS: tuple[str, ...] = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_SESSION_EXPIRATION",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_CONTAINER_CREDENTIALS_*",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN*",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_*SECRET*",
    "AWS_*TOKEN*",
    "*_TOKEN",
    "*_TOKEN_*",
    "*SECRET*",
    "*PASSWORD*",
    "*PASSWD*",
    "*_API_KEY",
    "*_APIKEY",
    "*_ACCESS_KEY",
    "*_SECRET_KEY",
    "*_PRIVATE_KEY*",
    "*_CREDENTIALS",
    "*CREDENTIALS_FILE",
    "SSH_AUTH_SOCK",
    "SSH_AGENT_PID",
    "GPG_AGENT_INFO",
    "KRB5CCNAME",
    "DOCKER_AUTH_CONFIG",
)

# options sbatch evaluates only in its first pass (sbatch_early_pass in slurm_opt.c), plus the
# ones whose first-pass value survives the second pass (ignore-pbs is read from the environment
# early and never reset)
EARLY = frozenset({"help", "usage", "version", "quiet", "verbose", "wrap"})

# flag options that an SBATCH_* variable can also switch off (slurm_process_option: anything but
# "", "yes" or a non-zero number calls the option's reset function)
_RESETS: dict[str, Callable[[JobSpec], None]] = {
    "wait": lambda s: setattr(s, "wait", False),
    "no-requeue": lambda s: setattr(s, "requeue", None),
    "overcommit": lambda s: s.extra.pop("overcommit", None),
    "spread-job": lambda s: s.extra.pop("spread-job", None),
    "spread-segments": lambda s: s.extra.pop("spread-segments", None),
    "use-min-nodes": lambda s: s.extra.pop("use-min-nodes", None),
    "get-user-env": lambda s: s.extra.pop("get-user-env", None),
    "ignore-pbs": lambda s: s.extra.pop("ignore-pbs", None),
    "consolidate-segments": lambda s: s.extra.pop("consolidate-segments", None),
    "verbose": lambda s: s.extra.pop("verbose", None),
}


# ---------------------------------------------------------------------------------------------
# secrets and the exported environment
# ---------------------------------------------------------------------------------------------
def is_secret(name: str, allow: Iterable[str] = ()) -> bool:
    """True if ``name`` matches :data:`SECRET_ENV_PATTERNS` and no pattern of ``allow``."""
    up = name.upper()
    for pat in allow:
        if fnmatch.fnmatchcase(up, pat.upper()):
            return False
    if up in _SECRET_EXACT or up.startswith(_SECRET_PREFIXES) or up.endswith(_SECRET_SUFFIXES):
        return True
    for mid in _SECRET_INFIXES:
        if mid in up:
            return True
    return any(_star_match(up, parts) for parts in _SECRET_OTHER)


# SECRET_ENV_PATTERNS split at their `*`s.  sbatch checks every variable of the environment
# against every pattern; fnmatch would first compile each pattern to a regular expression, which
# cost more than the rest of the submission's option handling.  Most patterns are a name, a
# prefix (`P*`), a suffix (`*S`) or an infix (`*I*`): those are sorted out here so that a name is
# checked with a set lookup, one startswith, one endswith and a few `in`s (matching each
# pattern in turn cost ~3 M instructions per sbatch with a 40-variable environment).
_SECRET_PARTS = tuple(tuple(p.split("*")) for p in SECRET_ENV_PATTERNS)
assert not any(c in p for p in SECRET_ENV_PATTERNS for c in "?[")  # `*` is the only wildcard
_SECRET_EXACT = frozenset(p[0] for p in _SECRET_PARTS if len(p) == 1)
_SECRET_PREFIXES = tuple(p[0] for p in _SECRET_PARTS if len(p) == 2 and p[0] and not p[1])
_SECRET_SUFFIXES = tuple(p[1] for p in _SECRET_PARTS if len(p) == 2 and p[1] and not p[0])
_SECRET_INFIXES = tuple(p[1] for p in _SECRET_PARTS if len(p) == 3 and not p[0] and not p[2])
_SECRET_OTHER = tuple(p for p in _SECRET_PARTS
                      if not (len(p) == 1 or (len(p) == 2 and bool(p[0]) != bool(p[1]))
                              or (len(p) == 3 and not p[0] and not p[2])))


def _star_match(text: str, parts: tuple[str, ...]) -> bool:
    """fnmatchcase for a pattern whose only wildcard is `*`, given as its literal parts."""
    if len(parts) == 1:
        return text == parts[0]
    head, tail = parts[0], parts[-1]
    if len(text) < len(head) + len(tail) or not text.startswith(head) or not text.endswith(tail):
        return False
    pos, end = len(head), len(text) - len(tail)
    for mid in parts[1:-1]:   # leftmost matches leave the most room for what follows
        i = text.find(mid, pos, end)
        if i < 0:
            return False
        pos = i + len(mid)
    return True


def _find_quote_tokens(text: str) -> list[str]:
    """env.c ``find_quote_token(tmp, ",")``: split on commas outside quotes; a token wholly
    wrapped in matching quotes loses them."""
    out: list[str] = []
    start = 0
    n = len(text)
    if n == 0:
        return out
    while start < n:
        i = start
        qs = qd = 0
        while True:
            c = text[i] if i < n else ""
            if c == "'":
                qs = 0 if qs else 1
            elif c == '"':
                qd = 0 if qd else 1
            elif (c == "," or c == "") and not qs and not qd:
                tok = text[start:i]
                if len(tok) >= 2 and tok[0] == tok[-1] and tok[0] in "'\"":
                    tok = tok[1:-1]
                out.append(tok)
                start = i + 1
                break
            elif c == "":
                out.append(text[start:i])  # unbalanced quote: the rest, as is
                start = n
                break
            i += 1
    return out


def export_environment(export: str | None, env: Mapping[str, str], *,
                       allow: Iterable[str] = ()) -> tuple[dict[str, str], list[str], bool]:
    """The environment sbatch sends with the job for ``--export`` (None = ALL), minus secrets.
    Returns ``(environment, secret names the user named explicitly but were dropped,
    get_user_env)``."""
    allow = tuple(allow)
    out: dict[str, str] = {}
    dropped: list[str] = []
    get_user_env = False

    def put(name: str, value: str, explicit: bool = False) -> None:
        if name == "SLURM_STEPMGR":
            return
        if is_secret(name, allow):
            if explicit and name not in dropped:
                dropped.append(name)
            return
        out[name] = value

    def merge_all() -> None:
        for k, v in env.items():
            put(k, v)

    def merge_slurm() -> None:
        for k, v in env.items():
            if k.startswith("SLURM") or k.startswith("_SLURM_SPANK_OPTION_"):
                put(k, v)

    mode = (export or "ALL").upper() if export is not None else "ALL"
    if export is None or mode == "ALL":
        merge_all()
    elif mode == "NIL":
        merge_slurm()
    elif mode == "NONE":
        merge_slurm()
        get_user_env = True
    else:
        for tok in _find_quote_tokens(export):
            if tok.upper() == "ALL":
                merge_all()
            elif "=" in tok:
                name, _, value = tok.partition("=")
                put(name, value, explicit=True)
            elif tok in env:
                put(tok, env[tok], explicit=True)
            elif is_secret(tok, allow) and tok not in dropped:
                dropped.append(tok)
        merge_slurm()
        get_user_env = True
    return out, dropped, get_user_env


# ---------------------------------------------------------------------------------------------
# the builder
# ---------------------------------------------------------------------------------------------
@dataclass
class _Use:
    """One occurrence of an option, with its value and where it came from."""

    row: OptionRow
    value: str | None
    source: str
    support: str
    effect: str
    env_var: str | None = None


def _atoi(text: str) -> int:
    value, _, _ = _opts.c_strtol(text)
    return max(-(2**31), min(2**31 - 1, value))


class _Builder:
    def __init__(self, argv: list[str], env: Mapping[str, str], read_script, *, cwd: str,
                 user: str, uid: int, group: str, gid: int, host: str, pid: int, now: float,
                 max_array_size: int, cluster_name: str | None, secret_allow: Iterable[str],
                 messages: list[str]):
        self.argv = list(argv)
        self.env = dict(env)
        self.read_script = read_script
        self.cwd = cwd
        self.ident = dict(user=user, uid=uid, group=group, gid=gid, host=host, pid=pid)
        self.now = now
        self.max_array_size = max_array_size
        self.cluster_name = cluster_name
        self.secret_allow = tuple(secret_allow)
        self.messages = messages
        self.error_exit = 1
        self.uses: list[_Use] = []
        self.table = _opts.getopt_for("sbatch")

    # -- helpers ------------------------------------------------------------------------------
    def _ctx(self, source: str, state: dict | None = None) -> ApplyContext:
        return ApplyContext(command="sbatch", now=self.now, cwd=self.cwd, uid=self.ident["uid"],
                            user=self.ident["user"], env=self.env,
                            max_array_size=self.max_array_size, cluster_name=self.cluster_name,
                            source=source, messages=self.messages,
                            state=state if state is not None else {})

    def _apply(self, spec: JobSpec, row: OptionRow, value: str | None, ctx: ApplyContext,
               record: bool, env_var: str | None = None) -> None:
        if row.apply is None:
            spec.extra[row.long] = True if value is None else value
            effect: object = "recorded"
        else:
            try:
                effect = row.apply(spec, value, ctx)
            except RejectedOption as exc:
                exc.exit_code = self.error_exit
                raise
        support = row.support_for("sbatch")
        if isinstance(effect, tuple):
            effect, support = effect
        if record:
            self.uses.append(_Use(row, value, ctx.source, support, str(effect), env_var))

    def _getopt_error(self, message: str) -> SlurmError:
        return _getopt.usage_error(PROG, message, 255)

    # -- the passes ---------------------------------------------------------------------------
    def build(self) -> JobSpec:
        env = self.env
        if "SLURM_EXIT_ERROR" in env:
            val = _atoi(env["SLURM_EXIT_ERROR"])
            if val == 0:
                self.messages.append(f"{PROG}: error: SLURM_EXIT_ERROR has zero value")
            else:
                self.error_exit = val

        submit_line = " ".join([PROG] + self.argv)

        # ---- first pass -------------------------------------------------------------------
        first_spec = JobSpec()
        first_ctx = self._ctx("env")
        # early environment: SBATCH_IGNORE_PBS, SBATCH_DEBUG
        early_env_uses: list[_Use] = []
        for var, long in _opts.SBATCH_EARLY_ENV:
            if var in env:
                before = len(self.uses)
                self._env_option(first_spec, var, long, env[var], first_ctx)
                early_env_uses += self.uses[before:]
                del self.uses[before:]
        first_argv = [a for a in self.argv if a != ":"]
        first_ctx.source = "cli"
        early_uses: list[_Use] = []
        for item in self.table.iterate(first_argv):
            if item.error is not None:
                raise self._getopt_error(item.error)
            row: OptionRow = item.key
            before = len(self.uses)
            self._apply(first_spec, row, item.arg, first_ctx, record=row.long in EARLY)
            early_uses += self.uses[before:]
            del self.uses[before:]
        operands = list(self.table.operands)

        if operands and first_spec.wrap is not None:
            raise SlurmError("Script arguments not permitted with --wrap option", self.error_exit)

        # ---- the script -------------------------------------------------------------------
        script_path: str | None = operands[0] if operands else None
        script_args = operands[1:]
        if first_spec.wrap is not None:
            script = _dir.wrap_script(first_spec.wrap)
            command = "(null)"
        else:
            try:
                script, command = self.read_script(script_path)
            except SlurmError as exc:
                if exc.exit_code == 1:
                    exc.exit_code = self.error_exit
                raise
            try:
                _dir.check_script(script, exit_code=self.error_exit)
            except SlurmError as exc:
                exc.exit_code = self.error_exit
                raise

        # ---- second pass ------------------------------------------------------------------
        spec = JobSpec()
        state: dict = {}
        # what survives from the first pass
        spec.quiet = first_spec.quiet
        spec.wrap = first_spec.wrap
        for key in ("verbose", "ignore-pbs"):
            if key in first_spec.extra:
                spec.extra[key] = first_spec.extra[key]
        self.uses.extend(early_env_uses)
        self.uses.extend(early_uses)

        if first_spec.wrap is None:
            stdin_like = script_path is None or script_path == "-"
            file = "stdin" if stdin_like else posixpath.basename(script_path)
            self._directives(spec, script, file, state)

        self._environment_options(spec, state)

        # command line again (without the script and its arguments)
        cut = len(self.argv) - len(operands)
        ctx = self._ctx("cli", state)
        table = _opts.getopt_for("sbatch")
        for item in table.iterate(self.argv[:cut]):
            if item.error is not None:  # cannot happen: the first pass saw the same options
                raise self._getopt_error(item.error)
            row = item.key
            if row.long in EARLY:
                continue
            self._apply(spec, row, item.arg, ctx, record=True)
        if table.operands and table.operands[0] == ":":
            raise RejectedOption("heterogeneous jobs (`:` between components) are not supported "
                                 "by slurmshim; submit the components as separate jobs with "
                                 "--dependency", self.error_exit)

        # ---- verification and defaults ----------------------------------------------------
        self._verify(spec, state)

        spec.script = script
        spec.script_args = list(script_args)
        spec.command = command
        spec.submit_line = submit_line
        spec.user = self.ident["user"]
        spec.uid = self.ident["uid"]
        spec.group = self.ident["group"]
        spec.gid = self.ident["gid"]
        spec.submit_host = self.ident["host"]
        spec.submit_pid = self.ident["pid"]
        if not spec.work_dir:
            spec.work_dir = self.cwd
        if not spec.job_name:  # unset, or set empty (SBATCH_JOB_NAME=): the default
            if spec.wrap is not None:
                spec.job_name = "wrap"
            elif script_path is not None and script_path != "-":
                spec.job_name = posixpath.basename(script_path)
            else:
                spec.job_name = "sbatch"
        if spec.input is None:
            spec.input = "/dev/null"
        for attr in ("error", "input", "output"):
            val = getattr(spec, attr)
            if val is not None and not val.startswith("/"):
                setattr(spec, attr, spec.work_dir + "/" + val)

        # generic resources are validated when sbatch builds the job description
        deferred: dict = state.get("deferred", {})
        for key in ("gres", "gpus", "gpus-per-node", "gpus-per-socket", "gpus-per-task"):
            if key in deferred:
                err = deferred[key]
                err.exit_code = self.error_exit
                raise err

        self._export(spec)
        self._record(spec)

        # what slurmctld refuses at submission (or at --test-only)
        for key in ("array", "dependency"):
            if key in deferred:
                err = deferred[key]
                if spec.test_only:
                    raise SlurmError(f"allocation failure: {err.reason}", 1, raw=True)
                err.exit_code = self.error_exit
                raise err
        return spec

    # -- #SBATCH ------------------------------------------------------------------------------
    def _directives(self, spec: JobSpec, script: str, file: str, state: dict) -> None:
        if "ignore-pbs" not in spec.extra:
            foreign = _dir.foreign_directives(script)
            if foreign:
                self.messages.append(
                    f"{PROG}: warning: {' and '.join(foreign)} directives are not translated by "
                    "slurmshim; use #SBATCH lines (or --ignore-pbs to silence this)")
        try:
            found = _dir.extract(script, file, prog=PROG)
        except _dir.FatalError as exc:
            raise Fatal(exc.message) from None
        self.messages.extend(found.messages)
        if found.hetjob:
            raise RejectedOption(f"heterogeneous jobs (#SBATCH hetjob, line {found.hetjob_lineno}) "
                                 "are not supported by slurmshim; submit the components as "
                                 "separate jobs with --dependency", self.error_exit)
        tokens = found.tokens
        if not tokens:
            return
        ctx = self._ctx("script", state)
        table = _opts.getopt_for("sbatch")
        for item in table.iterate(tokens):
            if item.error is not None:
                raise self._getopt_error(item.error)
            row: OptionRow = item.key
            if row.long in EARLY:
                self.uses.append(_Use(row, item.arg, "script", "ignored",
                                      "has no effect in a batch script (as in Slurm)"))
                continue
            self._apply(spec, row, item.arg, ctx, record=True)
        if table.operands:
            raise _opts.invalid(f"Invalid directive found in batch script: {table.operands[0]}")

    # -- SBATCH_* -----------------------------------------------------------------------------
    def _environment_options(self, spec: JobSpec, state: dict) -> None:
        ctx = self._ctx("env", state)
        for var, long in _opts.SBATCH_ENV_ORDER:
            if var in self.env:
                self._env_option(spec, var, long, self.env[var], ctx)

    def _env_option(self, spec: JobSpec, var: str, long: str, value: str,
                    ctx: ApplyContext) -> None:
        if long == "-power":
            self.uses.append(_Use(_POWER_ROW, value, "env", "ignored",
                                  "--power no longer exists in Slurm 25.11", var))
            return
        if long == "-switch-req":
            spec.extra["switches"] = _opts.parse_int("--switches", value, True)
            self.uses.append(_Use(_opts.row("sbatch", "switches"), value, "env", "ignored",
                                  "no control over the network topology", var))
            return
        if long == "-switch-wait":
            spec.extra["switch-wait"] = value
            self.uses.append(_Use(_SWITCH_WAIT_ROW, value, "env", "ignored",
                                  "no control over the network topology", var))
            return
        row = _opts.row("sbatch", long)
        arg: str | None = value
        if row.arg == _opts.NONE:
            num, rest, ok = _opts.c_strtol(value)
            if value == "" or value.lower() == "yes" or (num != 0 and rest == ""):
                arg = value if long == "verbose" else None
            else:
                reset = _RESETS.get(long)
                if reset is not None:
                    reset(spec)
                self.uses.append(_Use(row, value, "env", row.support_for("sbatch"),
                                      f"unset by {var}={value}", var))
                return
        elif row.arg == _opts.OPTIONAL and value == "":
            arg = None
        self._apply(spec, row, arg, ctx, record=True, env_var=var)

    # -- _opt_verify --------------------------------------------------------------------------
    def _verify(self, spec: JobSpec, state: dict) -> None:
        def cli(key: str) -> bool:
            return state.get(key) in ("cli", "script")

        def envset(key: str) -> bool:
            return state.get(key) == "env"

        res = spec.resources
        # _validate_ntasks_per_gpu
        gpu, tres = cli("ntasks_per_gpu_src"), cli("ntasks_per_tres_src")
        gpu_env, tres_env = envset("ntasks_per_gpu_src"), envset("ntasks_per_tres_src")
        if gpu or tres or gpu_env or tres_env:
            if gpu and tres and \
                    spec.extra.get("ntasks-per-gpu") != spec.extra.get("ntasks-per-tres"):
                raise Fatal(f"Inconsistent values set to --ntasks-per-gpu="
                            f"{spec.extra.get('ntasks-per-gpu')} and --ntasks-per-tres="
                            f"{spec.extra.get('ntasks-per-tres')} ")
            if cli("tres_per_task_src"):
                raise Fatal("--tres-per-task is mutually exclusive with --ntasks-per-gpu and "
                            "SLURM_NTASKS_PER_GPU")
            for key, opt, envname in (
                    ("gpus_per_task_src", "--gpus-per-task", "SLURM_GPUS_PER_TASK"),
                    ("gpus_per_socket_src", "--gpus-per-socket", "SLURM_GPUS_PER_SOCKET"),
                    ("ntasks_per_node_src", "--ntasks-per-node", "SLURM_NTASKS_PER_NODE")):
                if cli(key):
                    raise Fatal(f"{opt} is mutually exclusive with --ntasks-per-gpu and "
                                "SLURM_NTASKS_PER_GPU")
                if envset(key):
                    raise Fatal(f"{envname} is mutually exclusive with --ntasks-per-gpu and "
                                "SLURM_NTASKS_PER_GPU")
        # _validate_spec_cores_options
        if cli("core_spec_src") and cli("thread_spec_src"):
            raise Fatal("-S/--core-spec and --thred-spec options are mutually exclusive")
        if envset("core_spec_src") and envset("thread_spec_src"):
            raise Fatal("Both --core-spec and --thread-spec set using environment variables. "
                        "Those options are mutually exclusive.")
        # _validate_memory_options
        n_cli = sum(cli(k) for k in ("mem_src", "mem_per_cpu_src", "mem_per_gpu_src"))
        if n_cli > 1:
            raise Fatal("--mem, --mem-per-cpu, and --mem-per-gpu are mutually exclusive.")
        if cli("mem_src"):
            res.mem_per_cpu = res.mem_per_gpu = None
        elif cli("mem_per_cpu_src"):
            res.mem_per_node = res.mem_per_gpu = None
        elif cli("mem_per_gpu_src"):
            res.mem_per_node = res.mem_per_cpu = None
        elif sum(envset(k) for k in ("mem_src", "mem_per_cpu_src", "mem_per_gpu_src")) > 1:
            raise Fatal("SLURM_MEM_PER_CPU, SLURM_MEM_PER_GPU, and SLURM_MEM_PER_NODE are "
                        "mutually exclusive.")
        # _validate_share_options
        if cli("exclusive_src") and cli("oversubscribe_src"):
            raise Fatal("--exclusive and --oversubscribe options are mutually exclusive")
        # _validate_cpus_per_tres
        cpt_cli, cpt_env = cli("cpus_per_task_src"), envset("cpus_per_task_src")
        if (cpt_cli and cli("cpus_per_gpu_src")) or (cpt_env and envset("cpus_per_gpu_src")):
            raise Fatal("--cpus-per-task, --tres-per-task=cpu:#, and --cpus-per-gpu are "
                        "mutually exclusive")
        if cpt_cli and envset("cpus_per_gpu_src"):
            spec.extra.pop("cpus_per_gpu", None)
        elif cli("cpus_per_gpu_src") and cpt_env:
            res.cpus_per_task = None

        # _opt_verify proper
        if spec.quiet and int(spec.extra.get("verbose", 0) or 0):
            raise SlurmError("don't specify both --verbose (-v) and --quiet (-Q)", self.error_exit)

        nodelist = state.get("nodelist")
        if nodelist and not state.get("nodes_set") and "{" not in nodelist and "/" not in nodelist:
            res.nodes_min = _opts.count_hosts(nodelist)
            state["nodes_set"] = True

        nodes_set = bool(state.get("nodes_set"))
        ntasks_set = res.ntasks is not None
        if nodes_set and ntasks_set:
            if res.nodes_max and res.ntasks < res.nodes_max:
                res.nodes_max = res.ntasks
            if res.nodes_min is not None and res.ntasks < res.nodes_min:
                self.messages.append(
                    f"{PROG}: warning: can't run {res.ntasks} processes on {res.nodes_min} "
                    f"nodes, setting nnodes to {res.ntasks}")
                res.nodes_min = res.nodes_max = res.ntasks
        if res.nodes_max is not None and res.nodes_max == res.nodes_min:
            res.nodes_max = None

        # cloud approximations expressed in the job's own resource fields
        if res.ntasks is None:
            per_gpu = spec.extra.get("ntasks-per-gpu") or spec.extra.get("ntasks-per-tres")
            total_gpus = res.gpus or (res.gpus_per_node_total * res.num_nodes)
            if per_gpu and total_gpus:
                res.ntasks = int(per_gpu) * total_gpus
        tasks_per_node = -(-res.num_tasks // res.num_nodes)
        cpg = spec.extra.get("cpus_per_gpu")
        if cpg and res.cpus_per_task is None and res.gpus_per_node_total:
            res.cpus_per_task = max(1, -(-int(cpg) * res.gpus_per_node_total // tasks_per_node))
        mincpus = spec.extra.get("mincpus")
        if mincpus and res.cpus_per_task_or_1 * tasks_per_node < int(mincpus):
            res.cpus_per_task = -(-int(mincpus) // tasks_per_node)

        if spec.deadline and spec.begin_time and spec.deadline < spec.begin_time:
            raise SlurmError("Incompatible begin and deadline time specification", self.error_exit)

    # -- environment --------------------------------------------------------------------------
    def _export(self, spec: JobSpec) -> None:
        env, dropped, get_user_env = export_environment(spec.export, self.env,
                                                         allow=self.secret_allow)
        # what sbatch itself puts in its environment before copying it
        env["SLURM_SUBMIT_DIR"] = self.cwd
        env["SLURM_SUBMIT_HOST"] = self.ident["host"]
        if spec.export is not None and spec.export.upper() != "ALL" and \
                "SLURM_EXPORT_ENV" not in self.env:
            env["SLURM_EXPORT_ENV"] = spec.export
        if spec.dependency is not None and spec.dependency.terms:
            env["SLURM_JOB_DEPENDENCY"] = spec.dependency.text or self._last_value("dependency")
        if get_user_env or spec.extra.get("get-user-env"):
            env["SLURM_GET_USER_ENV"] = "1"
        spec.environment = env
        for name in dropped:
            self.messages.append(f"{PROG}: warning: not exporting {name}: credentials and "
                                 "secrets never leave the submit host")

    def _last_value(self, long: str) -> str:
        for use in reversed(self.uses):
            if use.row.long == long and use.value is not None:
                return use.value
        return ""

    # -- spec.options and warnings ------------------------------------------------------------
    def _record(self, spec: JobSpec) -> None:
        last: dict[str, int] = {}
        for i, use in enumerate(self.uses):
            last[use.row.long] = i
        opts: list[OptionUse] = []
        warned: set[tuple] = set()
        for i, use in enumerate(self.uses):
            effect = use.effect
            if last[use.row.long] != i:
                later = self.uses[last[use.row.long]]
                effect = f"overridden by {_source_words(later)}"
            elif use.support in ("approximated", "ignored"):
                reason = use.row.reason_for("sbatch")
                if use.effect == "has no effect in a batch script (as in Slurm)":
                    reason = use.effect
                elif use.support != use.row.support_for("sbatch") or not reason:
                    reason = use.effect
                key = (use.row.long, use.value, use.support)
                if key not in warned:
                    warned.add(key)
                    self.messages.append(f"{PROG}: warning: {_display(use)} is {use.support}: "
                                         f"{reason}")
            opts.append(OptionUse(option=use.row.long, value=use.value, source=use.source,
                                  support=use.support, effect=effect))
        spec.options = opts


_POWER_ROW = OptionRow("power", support="ignored", reason="--power no longer exists in Slurm 25.11",
                       meaning="power management flags (SBATCH_POWER only)")
_SWITCH_WAIT_ROW = OptionRow("wait4switch", support="ignored",
                             reason="no control over the network topology",
                             meaning="longest wait for --switches (SBATCH_WAIT4SWITCH only)")


def _display(use: _Use) -> str:
    if use.env_var:
        return f"{use.env_var}={use.value}"
    if use.value is None:
        return f"--{use.row.long}"
    return f"--{use.row.long}={use.value}"


def _source_words(use: _Use) -> str:
    if use.source == "env":
        return use.env_var or "the environment"
    if use.source == "script":
        return "a #SBATCH line"
    return "the command line"


def build_spec(argv: list[str], env: Mapping[str, str], *,
               read_script: Callable[[str | None], tuple[str, str]], cwd: str, user: str,
               uid: int, group: str, gid: int, host: str, pid: int, now: float,
               max_array_size: int = 1001, cluster_name: str | None = None,
               secret_allow: Iterable[str] = (), messages: list[str] | None = None) -> JobSpec:
    """Build the :class:`JobSpec` of an ``sbatch`` invocation.

    ``argv`` excludes the program name.  ``read_script(path_or_None)`` returns ``(script_text,
    command_path)`` or raises :class:`SlurmError` (``Unable to open file X``); it is called with
    the script operand as given (None when there is none: stdin).  ``messages`` collects the
    non-fatal lines sbatch prints on stderr (``sbatch: warning: ...``, the ``#SLURM`` error line).
    ``cluster_name`` makes ``--clusters=<this cluster>`` harmless; ``secret_allow`` lists
    patterns of variables that may be exported although they look like secrets.

    Raises :class:`SlurmError` (subclasses carry the exit code and render Slurm's lines);
    :class:`~slurmshim.slurm.options.EarlyExit` for ``--help``/``--usage``/``--version``
    (print its ``stdout``, exit 0)."""
    sink: list[str] = messages if messages is not None else []
    builder = _Builder(argv, env, read_script, cwd=cwd, user=user, uid=uid, group=group, gid=gid,
                       host=host, pid=pid, now=now, max_array_size=max_array_size,
                       cluster_name=cluster_name, secret_allow=secret_allow, messages=sink)
    try:
        return builder.build()
    except RecursionError:  # pragma: no cover - defensive
        raise SlurmError("internal error: input too deeply nested", 1) from None


def sbatch_help_text() -> str:
    """``sbatch --help`` (generated from the option table)."""
    return _opts.help_text("sbatch")


def sbatch_usage_text() -> str:
    """``sbatch --usage`` (generated from the option table)."""
    return _opts.usage_text("sbatch")


__all__ = ["build_spec", "sbatch_help_text", "sbatch_usage_text", "export_environment",
           "is_secret", "SECRET_ENV_PATTERNS", "EarlyExit", "Fatal", "RejectedOption"]
