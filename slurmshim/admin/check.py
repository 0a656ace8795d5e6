"""`slurmshim check PATH...`: which job scripts would run as they are, which would run with
approximations, and which sbatch would refuse -- the migration team's worklist.

Nothing is re-parsed here: the `#SBATCH` lines come from slurm.directives.extract (sbatch's own
rules: column 0, stop at the first command, quotes, `hetjob`), each option goes through the
sbatch getopt table and its handler in slurm.options (the support level is the table's, or the
handler's when it depends on the value), and the whole script then goes through
slurm.sbatch_args.build_spec -- what sbatch itself runs -- to catch what only shows when the
options meet (mutually exclusive options, a bad --array).  With the site configuration, the
job is also checked the way the controller would at submission: the partition exists, the
request can ever fit, the backend can run it (`--no-site` skips this; `--plugins` also runs
the site's job_submit plugins).

Levels of a finding: mapped, approximated, ignored (the option table's), warning (a script-level
note), rejected (the table refuses the option), error (sbatch or the controller would refuse the
script).  A script's verdict: `refused` if any finding is rejected or an error, `warnings` if
any is approximated, ignored or a warning, else `clean`.
"""
from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from ..errors import SlurmError

LEVELS = ("mapped", "approximated", "ignored", "warning", "rejected", "error")
REFUSING = frozenset({"rejected", "error"})
WARNING_LEVELS = frozenset({"approximated", "ignored", "warning"})
SKIP_DIRS = frozenset({".git", ".hg", ".svn", "__pycache__", "node_modules", ".tox", ".venv",
                       "venv", ".mypy_cache", ".pytest_cache"})
MAX_SCAN_BYTES = 8 * 1024 * 1024
_DIRECTIVE_LINE = re.compile(rb"^#(SBATCH|SLURM)", re.M)
_FOREIGN_LINE = re.compile(rb"^#(PBS|BSUB)", re.M)


@dataclass
class Finding:
    line: int | None
    option: str
    value: str | None
    level: str
    note: str = ""
    source: str = "directive"      # directive | script | site | policy

    @property
    def display(self) -> str:
        if self.value is None:
            return self.option
        if self.option.startswith("#"):
            return f"{self.option} {self.value}"
        if self.option.startswith("-"):
            return f"{self.option}={self.value}"
        return self.option

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "option": self.option, "value": self.value,
                "level": self.level, "note": self.note, "source": self.source}


@dataclass
class ScriptReport:
    path: str
    findings: list[Finding] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        levels = {f.level for f in self.findings}
        if levels & REFUSING:
            return "refused"
        if levels & WARNING_LEVELS:
            return "warnings"
        return "clean"

    def counts(self) -> dict[str, int]:
        out = {lv: 0 for lv in LEVELS}
        for f in self.findings:
            out[f.level] += 1
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "verdict": self.verdict, "counts": self.counts(),
                "findings": [f.to_dict() for f in self.findings]}


@dataclass
class CheckOptions:
    site: bool = True              # check against the configuration (partition, fit, backend)
    plugins: bool = False          # also run the site's job_submit plugins
    config: Any = None             # a Config (default: load_config())


# ---------------------------------------------------------------- finding the scripts

def looks_like_job_script(path: str) -> bool:
    """A file with `#SBATCH` (or `#SLURM`) lines at column 0, or a `#!` script with `#PBS` /
    `#BSUB` lines (another scheduler's job script: the migration worklist wants those too)."""
    try:
        if os.path.getsize(path) > MAX_SCAN_BYTES:
            return False
        with open(path, "rb") as fh:
            data = fh.read(MAX_SCAN_BYTES)
    except OSError:
        return False
    if _DIRECTIVE_LINE.search(data):
        return True
    return data.startswith(b"#!") and bool(_FOREIGN_LINE.search(data))


def find_scripts(paths: Iterable[str]) -> tuple[list[str], int]:
    """(scripts, number of files skipped): files named are always checked; directories are
    walked (sorted, hidden and tool directories skipped) for files that look like job scripts."""
    out: list[str] = []
    skipped = 0
    for p in paths:
        if os.path.isdir(p):
            for root, dirs, files in os.walk(p):
                dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
                for name in sorted(files):
                    full = os.path.join(root, name)
                    if os.path.islink(full) and not os.path.exists(full):
                        continue
                    if looks_like_job_script(full):
                        out.append(full)
                    else:
                        skipped += 1
        else:
            out.append(p)
    return out, skipped


# ---------------------------------------------------------------- one script

def check_text(text: str, path: str = "script", options: CheckOptions | None = None) -> ScriptReport:
    """The report for one script's text."""
    from ..slurm import directives as _dir

    options = options or CheckOptions()
    rep = ScriptReport(path)
    add = rep.findings.append

    # -- script-level checks (sbatch's own, in its order) ---------------------------------
    body = text
    try:
        _dir.check_script(text)
    except SlurmError as exc:
        msg = " ".join(exc.message.split())
        if exc.message == _dir.MSG_DOS:
            add(Finding(None, "(script)", None, "error", msg + " Fix: dos2unix " +
                        os.path.basename(path), "script"))
            body = text.replace("\r\n", "\n")
        elif exc.message == _dir.MSG_NO_SHEBANG:
            add(Finding(1, "(script)", None, "error", "no #! line: the first line must be "
                        "#! and an interpreter, e.g. #!/bin/bash", "script"))
        else:
            add(Finding(None, "(script)", None, "error", msg, "script"))
            return rep
    file = os.path.basename(path)
    lines = _dir.next_lines(body.split("\0", 1)[0])

    # -- other schedulers' directives --------------------------------------------------------
    for i, line in enumerate(lines, start=1):
        for magic in ("#PBS", "#BSUB"):
            if line.startswith(magic):
                add(Finding(i, magic, line[len(magic):].strip() or None, "ignored",
                            f"{magic} directives are not translated by slurmshim: write it as "
                            "#SBATCH", "script"))

    # -- #SBATCH lines ---------------------------------------------------------------------
    try:
        found = _dir.extract(body, file)
    except _dir.FatalError as exc:
        m = re.search(r"line (\d+)", exc.message)
        add(Finding(int(m.group(1)) if m else None, "(directive)", None, "error",
                    f"sbatch: fatal: {exc.message}", "script"))
        return rep
    for msg in found.messages:
        if "#SLURM" in msg:
            add(Finding(None, "#SLURM", None, "warning",
                        "#SLURM directives still work but sbatch prints an error line for them: "
                        "use #SBATCH", "script"))
        else:
            add(Finding(None, "(script)", None, "warning", msg, "script"))
    if found.hetjob:
        add(Finding(found.hetjob_lineno, "hetjob", None, "rejected",
                    "heterogeneous jobs are not supported: submit the components as separate "
                    "jobs linked with --dependency", "directive"))
    _unread_directives(lines, found, add)

    cfg = options.config
    if cfg is None and (options.site or options.plugins):
        from ..config import load_config
        cfg = load_config()
    _classify(found, rep, cfg, os.path.dirname(os.path.abspath(path)))

    # -- the whole script through sbatch's own builder -------------------------------------
    spec = _build(body, path, cfg, rep)
    if spec is not None and cfg is not None and not (
            {f.level for f in rep.findings} & REFUSING):
        if options.site:
            _site_checks(spec, cfg, rep)
        if options.plugins and not ({f.level for f in rep.findings} & REFUSING):
            _plugin_checks(spec, cfg, rep)
    return rep


def _unread_directives(lines: list[str], found, add) -> None:
    """`#SBATCH` lines sbatch never reads: after the first command, or indented.  Slurm drops
    them silently; a migration should not."""
    from ..slurm import directives as _dir
    stop = None
    for i, line in enumerate(lines, start=1):
        s = line.lstrip(" \t\n\v\f\r")
        if s and s[0] != "#":
            stop = i
            break
    read = {d.lineno for d in found.directives}
    for i, line in enumerate(lines, start=1):
        if found.hetjob and i >= found.hetjob_lineno:
            break
        if i in read:
            continue
        if line.startswith(_dir.MAGIC):
            if stop is not None and i > stop:
                add(Finding(i, "#SBATCH", line[len(_dir.MAGIC):].strip() or None, "ignored",
                            f"after the first command (line {stop}): sbatch stops reading "
                            "directives there; move it up", "script"))
        elif line.lstrip().startswith(_dir.MAGIC) and (stop is None or i < stop):
            add(Finding(i, "#SBATCH", line.lstrip()[len(_dir.MAGIC):].strip() or None,
                        "ignored", "indented: sbatch reads #SBATCH only at the start of a line",
                        "script"))


def _classify(found, rep: ScriptReport, cfg, cwd: str) -> None:
    """One finding per directive, from the option table (and its handler for the value)."""
    from ..model import JobSpec
    from ..slurm import options as _opts
    from ..slurm.options import ApplyContext, EarlyExit, RejectedOption
    from ..slurm.sbatch_args import EARLY

    tokens = found.tokens
    if not tokens:
        return
    table = _opts.getopt_for("sbatch")
    spec = JobSpec()
    sizes = [cfg.max_array_size] + [p.max_array_size for p in cfg.partitions.values()
                                    if p.max_array_size] if cfg is not None else [1001]
    ctx = ApplyContext(command="sbatch", now=time.time(), cwd=cwd, uid=os.getuid(),
                       user="", env={}, max_array_size=max(sizes),
                       cluster_name=cfg.cluster_name if cfg is not None else None,
                       source="script", messages=[], state={})

    def line_of(index: int) -> int | None:
        return found.directives[index].lineno if 0 <= index < len(found.directives) else None

    for item in table.iterate(tokens):
        lineno = line_of(item.index)
        if item.error is not None:
            name, _, val = (item.token or item.name or "?").partition("=")
            rep.findings.append(Finding(lineno, name, val or None, "error",
                                        f"sbatch: {item.error}"))
            continue
        row = item.key
        display = f"--{row.long}"
        if row.long in EARLY:
            rep.findings.append(Finding(lineno, display, item.arg, "ignored",
                                        "has no effect in a batch script (as in Slurm)"))
            continue
        level = row.support_for("sbatch")
        before = dict(ctx.state.get("deferred", {}))
        try:
            effect: Any = row.apply(spec, item.arg, ctx) if row.apply else "recorded"
        except RejectedOption as exc:
            rep.findings.append(Finding(lineno, display, item.arg, "rejected", exc.message))
            continue
        except EarlyExit:
            rep.findings.append(Finding(lineno, display, item.arg, "ignored",
                                        "prints help: has no effect in a batch script"))
            continue
        except SlurmError as exc:
            rep.findings.append(Finding(lineno, display, item.arg, "error",
                                        " ".join(exc.message.split())))
            continue
        if isinstance(effect, tuple):
            effect, level = effect
        deferred = ctx.state.get("deferred", {})
        new = [k for k in deferred if k not in before or deferred[k] is not before[k]]
        if new:
            err = deferred[new[0]]
            rep.findings.append(Finding(lineno, display, item.arg, "error",
                                        " ".join(getattr(err, "message", str(err)).split())))
            continue
        if level == "mapped":
            note = str(effect)
        else:
            reason = row.reason_for("sbatch")
            note = reason if reason and level == row.support_for("sbatch") else str(effect)
        rep.findings.append(Finding(lineno, display, item.arg, level, note))
    if table.operands:
        idx = len(tokens) - len(table.operands)
        rep.findings.append(Finding(line_of(idx), table.operands[0], None, "error",
                                    f"Invalid directive found in batch script: "
                                    f"{table.operands[0]}"))


_PER_OPTION_WARNING = re.compile(r"^sbatch: warning: \S+ is (approximated|ignored):")


def _build(body: str, path: str, cfg, rep: ScriptReport):
    """build_spec as sbatch runs it, in a clean environment.  Returns the spec or None."""
    from ..slurm.sbatch_args import build_spec

    have = {f.note for f in rep.findings}
    refused = bool({f.level for f in rep.findings} & REFUSING)
    messages: list[str] = []
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    sizes = [cfg.max_array_size] + [p.max_array_size for p in cfg.partitions.values()
                                    if p.max_array_size] if cfg is not None else [1001]
    try:
        spec = build_spec([path], env, read_script=lambda _p: (body, os.path.abspath(path)),
                          cwd=os.path.dirname(os.path.abspath(path)) or "/", user="check",
                          uid=os.getuid(), group="check", gid=os.getgid(), host="check",
                          pid=0, now=time.time(), max_array_size=max(sizes),
                          cluster_name=cfg.cluster_name if cfg is not None else None,
                          messages=messages)
    except SlurmError as exc:
        if not refused:
            text = " ".join(exc.render("sbatch").split())
            if exc.message not in have:
                rep.findings.append(Finding(None, "(script)", None, "error", text, "script"))
        return None
    for msg in messages:
        if _PER_OPTION_WARNING.match(msg) or "#PBS" in msg or "#BSUB" in msg or "#SLURM" in msg:
            continue
        rep.findings.append(Finding(None, "(script)", None, "warning", msg, "script"))
    return spec


def _site_checks(spec, cfg, rep: ScriptReport) -> None:
    """What the controller would refuse at submission, without touching the ledger."""
    from ..controller import Controller
    from ..scheduling import never_fits

    ctl = Controller(cfg, Path(os.devnull))
    try:
        part = ctl.resolve_partition(spec)
    except SlurmError as exc:
        rep.findings.append(Finding(None, "--partition", spec.partition, "error",
                                    " ".join(exc.message.split()), "site"))
        return
    spec.partition = part.name
    max_array = part.max_array_size or cfg.max_array_size
    if spec.array is not None and (not spec.array.indices or spec.array.indices[-1] >= max_array):
        rep.findings.append(Finding(None, "--array", spec.array.text, "error",
                                    f"Invalid job array specification (MaxArraySize={max_array})",
                                    "site"))
        return
    if spec.time_limit is not None and part.max_time not in (None, -1) and \
            spec.time_limit != -1 and spec.time_limit > part.max_time:
        rep.findings.append(Finding(None, "--time", None, "warning",
                                    f"longer than partition {part.name}'s MaxTime "
                                    f"({part.max_time} min): the job would stay pending "
                                    "(PartitionTimeLimit)", "site"))
    if spec.time_limit is None:
        spec.time_limit = part.default_time if part.default_time is not None else part.max_time
    req = ctl.request_of(spec, part)
    if never_fits(req, part):
        rep.findings.append(Finding(
            None, "(resources)", None, "error",
            f"Requested node configuration is not available: partition {part.name} has "
            f"{part.nodes} node(s) of {part.cpus_per_node} CPUs, {part.mem_per_node} MiB, "
            f"{part.gpus_per_node} GPUs; the job asks {req.nodes} node(s) x {req.cpus} CPUs, "
            f"{req.mem} MiB, {req.gpus} GPUs", "site"))
        return
    try:
        warnings = ctl.backend(part.backend).validate(ctl, spec, part) or []
    except SlurmError as exc:
        rep.findings.append(Finding(None, "(partition)", part.name, "error",
                                    " ".join(exc.message.split()), "site"))
        return
    for w in warnings:
        rep.findings.append(Finding(None, "(partition)", part.name, "warning",
                                    w.replace("sbatch: warning: ", ""), "site"))


def _plugin_checks(spec, cfg, rep: ScriptReport) -> None:
    from ..controller import Controller
    from ..plugins import run_job_submit
    try:
        run_job_submit(Controller(cfg, Path(os.devnull)), spec)
    except SlurmError as exc:
        rep.findings.append(Finding(None, "(site policy)", None, "error",
                                    " ".join(exc.message.split()), "policy"))


def check_file(path: str, options: CheckOptions | None = None) -> ScriptReport:
    try:
        with open(path, "rb") as fh:
            data = fh.read(512 * 1024 * 1024 + 1)
    except OSError as exc:
        rep = ScriptReport(path)
        rep.findings.append(Finding(None, "(script)", None, "error",
                                    f"Unable to open file {path}: {exc.strerror}", "script"))
        return rep
    return check_text(data.decode("utf-8", "surrogateescape"), path, options)


def check_paths(paths: Iterable[str], options: CheckOptions | None = None,
                progress: Callable[[list[str]], Any] | None = None) -> tuple[list[ScriptReport], int]:
    """(reports, skipped files).  `progress(scripts)` wraps the iteration (a progress bar)."""
    scripts, skipped = find_scripts(paths)
    options = options or CheckOptions()
    if options.config is None and (options.site or options.plugins):
        from ..config import load_config
        options.config = load_config()
    if progress is None:
        return [check_file(p, options) for p in scripts], skipped
    with progress(scripts) as bar:
        return [check_file(p, options) for p in bar], skipped


# ---------------------------------------------------------------- totals

def totals(reports: list[ScriptReport], skipped: int = 0) -> dict[str, Any]:
    verdicts = {"clean": 0, "warnings": 0, "refused": 0}
    levels = {lv: 0 for lv in LEVELS}
    for r in reports:
        verdicts[r.verdict] += 1
        for lv, n in r.counts().items():
            levels[lv] += n
    return {"scripts": len(reports), **verdicts, "skipped": skipped, "findings": levels}


def by_option(reports: list[ScriptReport]) -> list[dict[str, Any]]:
    """The worklist: one row per (option, level), most severe and most frequent first."""
    from ..slurm import options as _opts
    rows: dict[tuple[str, str, str], dict[str, Any]] = {}
    for r in reports:
        for f in r.findings:
            generic = f.option.startswith("(")
            key = (f.option, f.level, f.note if generic else "")
            row = rows.get(key)
            if row is None:
                note = f.note
                if f.level == "mapped" and f.option.startswith("--"):
                    try:
                        note = _opts.row("sbatch", f.option[2:]).meaning or note
                    except KeyError:
                        pass
                row = rows[key] = {"option": f.option, "level": f.level, "scripts": set(),
                                   "uses": 0, "note": note}
            row["scripts"].add(r.path)
            row["uses"] += 1
    order = {lv: i for i, lv in enumerate(reversed(LEVELS))}
    out = []
    for row in rows.values():
        row["scripts"] = len(row["scripts"])
        out.append(row)
    out.sort(key=lambda r: (order[r["level"]], -r["scripts"], r["option"]))
    return out


def iter_report_lines(reports: list[ScriptReport], *, verbose: bool = False,
                      quiet: bool = False) -> Iterator[str]:
    """The human report, per script (non-mapped findings indented under it)."""
    from .output import table
    for r in reports:
        if quiet and r.verdict == "clean":
            continue
        c = r.counts()
        parts = [f"{c[lv]} {lv}" for lv in LEVELS if c[lv]]
        head = r.verdict.upper() if r.verdict == "refused" else r.verdict
        yield f"{r.path}: {head}" + (f" ({', '.join(parts)})" if parts else " (no directives)")
        rows = []
        for f in r.findings:
            if f.level == "mapped" and not verbose:
                continue
            rows.append([f"line {f.line}" if f.line else "", f.display, f.level, f.note])
        if rows:
            for line in table(rows, ["", "", "", ""], fmt="plain").split("\n"):
                if line.strip():
                    yield "    " + line.rstrip()
