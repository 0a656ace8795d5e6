"""``sbatch``: submit a batch script.

Thin: the Slurm grammar lives in :mod:`slurmshim.slurm.sbatch_args` (driven by getopt exactly as
Slurm's sbatch is -- click is deliberately not used, its parser cannot reproduce GNU getopt);
this module reads the script, prints, and calls the controller.  Nothing heavy is imported
before it is needed: ``sbatch --help`` never touches the controller or boto3.
"""
from __future__ import annotations

import os
import sys

from ..errors import SlurmError, SubmitError
from ..slurm import directives as _dir
from ..slurm.options import EarlyExit
from ..slurm.sbatch_args import build_spec
from ..identity import current_user
from .common import run_main

PROG = "sbatch"


def _search_path(cmd: str, cwd: str, env) -> str | None:
    """proc_args.c ``search_path(..., check_cwd_last=false, R_OK, test_exec=false)``: a bare name
    is looked up in the working directory, then in $PATH; paths starting with ``.`` or ``/`` are
    used as given."""
    if cmd.startswith((".", "/")):
        return None
    dirs = [cwd] + [d for d in env.get("PATH", "").split(":") if d]
    for d in dirs:
        full = f"{cwd}/{d}/{cmd}" if d.startswith(".") else f"{d}/{cmd}"
        if os.path.exists(full):
            return full
    return None


def make_script_reader(cwd: str, env, stdin=None):
    """The ``read_script`` callback: (script text, Command= path).  Bytes are decoded as UTF-8
    with surrogateescape so any script survives the round trip."""
    def read_script(path: str | None) -> tuple[str, str]:
        if path is None or path == "-":
            stream = stdin if stdin is not None else sys.stdin.buffer
            try:
                data = stream.read()
            except (OSError, ValueError):
                data = b""
            if isinstance(data, str):
                data = data.encode("utf-8", "surrogateescape")
            if len(data) > _dir.MAX_BATCH_SCRIPT_SIZE:
                raise SlurmError(f"Script from STDIN is too big, read {len(data)} > "
                                 f"{_dir.MAX_BATCH_SCRIPT_SIZE} bytes.", 1)
            return data.decode("utf-8", "surrogateescape"), "(null)"
        full = _search_path(path, cwd, env) or path
        try:
            if os.path.isdir(full):
                return "", full  # read() fails on a directory: sbatch sees an empty script
            with open(full, "rb") as fh:
                data = fh.read(_dir.MAX_BATCH_SCRIPT_SIZE + 1)
        except OSError:
            raise SlurmError(f"Unable to open file {path}", 1) from None
        if len(data) > _dir.MAX_BATCH_SCRIPT_SIZE:
            raise SlurmError(f"Script file {path} is too large", 1)
        return data.decode("utf-8", "surrogateescape"), full
    return read_script


def _error_exit(env) -> int:
    from ..slurm.options import c_strtol
    if "SLURM_EXIT_ERROR" in env:
        val, _, _ = c_strtol(env["SLURM_EXIT_ERROR"])
        if val:
            return val
    return 1


def _emit(lines: list[str], quiet: bool) -> None:
    for line in lines:
        if quiet and not line.startswith((f"{PROG}: error:", f"{PROG}: fatal:")):
            continue
        sys.stderr.write(line if line.endswith("\n") else line + "\n")
    sys.stderr.flush()


def _site(env):
    """The configuration (or None when it cannot be read: the error then comes from
    Controller.open(), after the command line was checked), the largest array size any
    partition allows, the cluster name and the export allow-list."""
    try:
        from ..config import load_config
        cfg = load_config(dict(env))
    except Exception:
        return None, 1001, None, ()
    sizes = [cfg.max_array_size] + [p.max_array_size for p in cfg.partitions.values()
                                     if p.max_array_size]
    return cfg, max(sizes), cfg.cluster_name, tuple(cfg.export_allow or ())


def _hostname() -> str:
    # what socket.gethostname() returns on Linux, without importing socket (start-up cost: that
    # import was ~6% of an `sbatch --hold`)
    return os.uname().nodename


def run(argv: list[str], env=None, stdin=None) -> int:
    import time

    env = os.environ if env is None else env
    cwd = os.getcwd()
    user, uid, group, gid = current_user()
    cfg, max_array, cluster, allow = _site(env)
    messages: list[str] = []
    try:
        spec = build_spec(argv, env, read_script=make_script_reader(cwd, env, stdin), cwd=cwd,
                          user=user, uid=uid, group=group, gid=gid, host=_hostname(),
                          pid=os.getpid(), now=time.time(), max_array_size=max_array,
                          cluster_name=cluster, secret_allow=allow, messages=messages)
    except EarlyExit as done:
        sys.stdout.write(done.stdout)
        return done.exit_code
    except SlurmError:
        _emit(messages, False)
        raise
    _emit(messages, spec.quiet)
    error_exit = _error_exit(env)

    from ..controller import Controller

    ctl = Controller.open(cfg) if cfg is not None else Controller.open()
    if spec.test_only:
        try:
            result = ctl.test_only(spec)
        except SubmitError as exc:
            # slurm_job_will_run() failed: sbatch prints slurm_perror("allocation failure")
            raise SlurmError(f"allocation failure: {exc.reason}", 1, raw=True) from None
        out = [m if m.startswith(f"{PROG}:") else f"{PROG}: {m}" for m in result.messages]
        out.append(f"{PROG}: {result.line}")
        for use in spec.options:
            value = "" if use.value is None else f"={use.value}"
            out.append(f"{PROG}: plan: --{use.option}{value} ({use.support}): {use.effect}")
        if result.requests:
            out.append(result.requests.rstrip("\n"))
        sys.stderr.write("\n".join(out) + "\n")
        return 0
    try:
        res = ctl.submit(spec)
    except SubmitError as exc:
        exc.exit_code = error_exit
        raise
    if not spec.quiet:
        for msg in res.messages or []:
            sys.stderr.write(msg if msg.startswith(f"{PROG}:") else f"{PROG}: {msg}")
            sys.stderr.write("\n")
        sys.stderr.flush()
        if spec.parsable:
            sys.stdout.write(f"{res.job_id}\n")
        else:
            sys.stdout.write(f"Submitted batch job {res.job_id}\n")
    sys.stdout.flush()
    if spec.wait:
        return ctl.wait(res.job_id)
    return 0


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point; never returns."""
    def _run(args: list[str]) -> int:
        code = run(args)
        return code & 0xFF if isinstance(code, int) and code >= 0 else (code or 0) & 0xFF
    run_main(PROG, _run, argv)


if __name__ == "__main__":
    main()
