"""Values for shell completion, fast: ``python -m slurmshim.cli._complete WHAT [PREFIX]``.

Prints the candidates that start with PREFIX, one a line.  WHAT is one of

    jobids      active jobs: ids, array ids and ARRAY_TASK ids       (scancel, squeue -j, ...)
    alljobids   the same over every job the ledger still holds, newest 500   (sacct -j, ...)
    partitions  the configured partitions
    nodes       the configured nodes and those active jobs run on
    names       names of active jobs;  allnames: of every job
    users       users with jobs in the ledger, and you
    accounts    accounts jobs were charged to
    dependency  --dependency values: the types, then job ids after `type:`
    states      job state names;  signals: signal names

For lists (``-j 12,13``) the last comma-separated item is completed and the candidates keep
what comes before it.  ``--locate`` prints this interpreter and this file, which the completion
scripts then run as ``python -S -E <file>`` (no site-packages scan: a TAB stays well under
100 ms).

This module is stdlib only and self-contained: it never imports boto3, click, pluggy, the
controller or the backends, and reads the SQLite ledger directly (read-only) and the TOML
configuration only for partitions, nodes and the state directory (cached by modification time
in ~/.cache/slurmshim/completion-config, so TOML is parsed once per change).  Any failure prints
nothing: completion must never spill errors onto the user's command line.
"""
from __future__ import annotations

import os
import sys

LIMIT_ALL = 500        # alljobids / allnames: the newest this many jobs
DEPENDENCY_TYPES = ("after:", "afterany:", "afterburstbuffer:", "aftercorr:", "afternotok:",
                    "afterok:", "singleton")


# ------------------------------------------------------------------ configuration and state dir
def _config_path(env) -> str | None:
    """The first of $SLURMSHIM_CONF, ~/.config/slurmshim/slurmshim.toml,
    /etc/slurmshim/slurmshim.toml that exists (slurmshim.config.config_search_path)."""
    paths = []
    if env.get("SLURMSHIM_CONF"):
        paths.append(env["SLURMSHIM_CONF"])
    home = env.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    paths.append(os.path.join(home, "slurmshim", "slurmshim.toml"))
    paths.append("/etc/slurmshim/slurmshim.toml")
    for p in paths:
        if os.path.exists(p):
            return p
    return None


def _toml_loads(data: bytes) -> dict:
    try:
        import tomllib  # Python >= 3.11
    except ModuleNotFoundError:  # 3.10: tomli lives in site-packages, which -S skipped
        import site
        site.main()
        import tomli as tomllib  # type: ignore[no-redef]
    return tomllib.loads(data.decode("utf-8"))


_FACTS: dict | None = None


def _cache_file(env) -> str:
    base = env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "slurmshim", "completion-config")


def config_facts(env=os.environ) -> dict:
    """What completion needs from the configuration: ``state_dir`` (str or None),
    ``partitions`` and the configured ``nodes``.  Parsing TOML costs more than the rest of a
    TAB, so the facts are cached (``~/.cache/slurmshim/completion-config``) and the file is
    parsed again only when its path, size or modification time changes."""
    global _FACTS
    if _FACTS is not None:
        return _FACTS
    path = _config_path(env)
    if path is None:
        _FACTS = _facts({})
        return _FACTS
    try:
        st = os.stat(path)
        key = f"{path}\t{st.st_mtime_ns}\t{st.st_size}"
    except OSError:
        _FACTS = _facts({})
        return _FACTS
    cache = _cache_file(env)
    try:
        with open(cache, encoding="utf-8") as fh:
            lines = fh.read().split("\n")
        if lines[0] == key:
            facts: dict = {"state_dir": None, "partitions": [], "nodes": []}
            for line in lines[1:]:
                kind, _, value = line.partition("\t")
                if kind == "S":
                    facts["state_dir"] = value
                elif kind == "P":
                    facts["partitions"].append(value)
                elif kind == "N":
                    facts["nodes"].append(value)
            _FACTS = facts
            return facts
    except (OSError, UnicodeError):
        pass
    try:
        with open(path, "rb") as fh:
            data = _toml_loads(fh.read())
    except Exception:
        data = {}
    _FACTS = _facts(data if isinstance(data, dict) else {})
    try:
        os.makedirs(os.path.dirname(cache), exist_ok=True)
        body = [key]
        if _FACTS["state_dir"]:
            body.append(f"S\t{_FACTS['state_dir']}")
        body += [f"P\t{p}" for p in _FACTS["partitions"]]
        body += [f"N\t{n}" for n in _FACTS["nodes"]]
        tmp = f"{cache}.{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write("\n".join(body) + "\n")
        os.replace(tmp, cache)
    except OSError:
        pass
    return _FACTS


def _facts(data: dict) -> dict:
    state = data.get("state_dir")
    parts = data.get("partitions")
    if not isinstance(parts, dict) or not parts:
        parts = {"local": {"backend": "local"}}
    names: dict[str, None] = {}
    for name, body in parts.items():
        if not isinstance(body, dict):
            continue
        given = body.get("node_names")
        if isinstance(given, list):
            names.update((str(n), None) for n in given)
        elif isinstance(given, str):
            names.update((n, None) for n in _hostlist(given))
        else:
            local = body.get("backend", "local") == "local"
            count = body.get("nodes", 1 if local else 10)
            prefix = body.get("node_prefix", "node" if local else f"{name}-dy-")
            if isinstance(count, int) and 0 < count <= 100000 and isinstance(prefix, str):
                width = max(2, len(str(count)))
                names.update((f"{prefix}{i:0{width}d}", None) for i in range(1, count + 1))
    return {"state_dir": state if isinstance(state, str) and state else None,
            "partitions": [str(p) for p in parts], "nodes": list(names)}


def state_dir(env=os.environ) -> str:
    """slurmshim.config.state_dir: $SLURMSHIM_STATE_DIR, the config's state_dir, else
    $XDG_STATE_HOME/slurmshim (~/.local/state/slurmshim)."""
    if env.get("SLURMSHIM_STATE_DIR"):
        return env["SLURMSHIM_STATE_DIR"]
    cfg_dir = config_facts(env)["state_dir"]
    if cfg_dir:
        return os.path.expanduser(cfg_dir)
    base = env.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(base, "slurmshim")


# ------------------------------------------------------------------ the ledger
def _query(sql: str, args: tuple = ()) -> list[tuple]:
    path = os.path.join(state_dir(), "ledger.sqlite3")
    if not os.path.exists(path):
        return []
    import sqlite3
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=0.05)
        try:
            return db.execute(sql, args).fetchall()
        finally:
            db.close()
    except sqlite3.Error:
        return []


def _id_texts(rows: list[tuple]) -> list[str]:
    """(job_id, array_job_id, array_task_id) rows -> the ids a user types, each once."""
    out: dict[str, None] = {}
    for job_id, array_job_id, task in sorted(rows, key=lambda r: (r[1] or r[0], r[0])):
        if array_job_id is not None:
            out[str(array_job_id)] = None
            if task is not None:
                out[f"{array_job_id}_{task}"] = None
        else:
            out[str(job_id)] = None
    return list(out)


def jobids() -> list[str]:
    return _id_texts(_query("SELECT job_id, array_job_id, array_task_id FROM jobs "
                            "WHERE active=1"))


def alljobids() -> list[str]:
    return _id_texts(_query("SELECT job_id, array_job_id, array_task_id FROM jobs "
                            "ORDER BY job_id DESC LIMIT ?", (LIMIT_ALL,)))


def _distinct(column: str, active_only: bool) -> list[str]:
    where = "WHERE active=1" if active_only else ""
    rows = _query(f"SELECT {column} FROM (SELECT {column}, job_id FROM jobs {where} "
                  f"ORDER BY job_id DESC LIMIT {LIMIT_ALL})")
    return sorted({r[0] for r in rows if r[0]})


def names() -> list[str]:
    return _distinct("name", True)


def allnames() -> list[str]:
    return _distinct("name", False)


def accounts() -> list[str]:
    return _distinct("account", False)


def users() -> list[str]:
    found = set(_distinct("user", False))
    me = os.environ.get("USER") or os.environ.get("LOGNAME")
    if not me:
        try:
            import pwd
            me = pwd.getpwuid(os.getuid()).pw_name
        except (ImportError, KeyError):
            me = None
    if me:
        found.add(me)
    return sorted(found)


# ------------------------------------------------------------------ the configuration
def partitions() -> list[str]:
    return list(config_facts()["partitions"])


def _hostlist(text: str) -> list[str]:
    """Expand `node[01-03,07],gpu1` (enough of Slurm's host list syntax for completion)."""
    out: list[str] = []
    depth, start = 0, 0
    parts = []
    for i, c in enumerate(text):
        if c == "[":
            depth += 1
        elif c == "]":
            depth -= 1
        elif c == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    for part in parts:
        if "[" not in part or not part.endswith("]"):
            if part:
                out.append(part)
            continue
        prefix, _, body = part[:-1].partition("[")
        for rng in body.split(","):
            lo, dash, hi = rng.partition("-")
            if not dash:
                out.append(prefix + lo)
                continue
            try:
                width = len(lo)
                out.extend(f"{prefix}{i:0{width}d}" for i in range(int(lo), int(hi) + 1))
            except ValueError:
                continue
    return out


def nodes() -> list[str]:
    found = dict.fromkeys(config_facts()["nodes"])
    for (text,) in _query("SELECT node_list FROM jobs WHERE active=1 AND node_list != ''"):
        found.update((n, None) for n in _hostlist(text))
    return list(found)


# ------------------------------------------------------------------ fixed words
def _package_module(name: str):
    """A pure module of the package, when this file runs as a script (python -S file)."""
    if __package__:
        import importlib
        return importlib.import_module(f"slurmshim.slurm.{name}")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if root not in sys.path:
        sys.path.insert(0, root)
    import importlib
    return importlib.import_module(f"slurmshim.slurm.{name}")


def states() -> list[str]:
    text = _package_module("states").JOB_STATE_LIST_TEXT
    return [w.upper() for w in text.split(",")] + ["all"]


def signals() -> list[str]:
    return list(_package_module("signals").SIGNAL_NAMES)


# ------------------------------------------------------------------ driver
SOURCES = {
    "jobids": jobids, "alljobids": alljobids, "partitions": partitions, "nodes": nodes,
    "names": names, "allnames": allnames, "users": users, "accounts": accounts,
    "states": states, "signals": signals,
}
LISTS = {"jobids", "alljobids", "partitions", "nodes", "names", "allnames", "users",
         "accounts", "states"}


def dependency(prefix: str) -> list[str]:
    """`afterok:12:13,singleton?after:9+5`: types, then job ids after `type:` or `:`."""
    cut = max(prefix.rfind(","), prefix.rfind("?"))
    head, term = prefix[: cut + 1], prefix[cut + 1:]
    if ":" not in term:
        return [head + t for t in DEPENDENCY_TYPES if t.startswith(term)]
    base, _, last = term.rpartition(":")
    if last.startswith("+") or "+" in last:
        return []
    return [f"{head}{base}:{i}" for i in jobids() if i.startswith(last)]


def candidates(what: str, prefix: str = "") -> list[str]:
    if what == "dependency":
        return dependency(prefix)
    fn = SOURCES.get(what)
    if fn is None:
        return []
    head, item = "", prefix
    if what in LISTS and "," in prefix:
        head, _, item = prefix.rpartition(",")
        head += ","
    taken = set(head[:-1].split(",")) if head else set()
    return [head + v for v in fn() if v.startswith(item) and v not in taken]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if args[:1] == ["--locate"]:
        sys.stdout.write(f"{sys.executable}\n{os.path.abspath(__file__)}\n")
        return 0
    if not args or args[0] in ("-h", "--help"):
        sys.stdout.write(__doc__ or "")
        return 0 if args else 2
    try:
        out = candidates(args[0], args[1] if len(args) > 1 else "")
    except Exception:  # never a traceback on the user's command line
        if os.environ.get("SLURMSHIM_DEBUG"):
            raise
        return 1
    if out:
        sys.stdout.write("\n".join(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
