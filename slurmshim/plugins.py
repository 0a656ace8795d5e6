"""Plugin loading, deferred until a hook is about to fire.

Plugins come from the `slurmshim` entry-point group (installed packages) and from `*.py` files in
the config's `plugins_dir`.  `SLURMSHIM_PLUGINS` (comma list of names: entry-point names or file
stems) limits which load; `SLURMSHIM_PLUGINS=` (empty) disables them all.  Nothing here imports
pluggy unless there is at least one plugin to load, so plain commands stay fast; `squeue`,
`sinfo` and completion never call into this module at all.

The helpers the rest of slurmshim calls:

    run_job_submit(ctl, spec)                               Controller.prepare
    run_job_submitted(ctl, rec, spec)                       Controller.submit, after the backend
    run_batch_job_definition(config, request, spec, part)   Batch backend, before RegisterJobDefinition
    run_batch_submit_job(config, request, spec, part)       Batch backend, before each SubmitJob
    loaded_plugins(config) / describe_plugins(config)       `slurmshim plugins`

The two Batch hooks fire when the Batch backend plans a submission (BatchBackend.plan: every
sbatch, every held job released, every requeue, and `sbatch --test-only`, which therefore shows
the requests as the plugins left them).  After batch_job_definition the definition is named by
its content again (`slurmshim-<hash>`: a plugin's change is a different definition, registered
once and cached like any other; a name a plugin sets is not kept), and the SubmitJob requests
name it; batch_submit_job then sees each SubmitJob request once (an array split in chunks, or a
`%N` throttle, is several; a later one's dependsOn may name an earlier one as
`{{submit[i].jobId}}`, filled in when it is sent).  A request a plugin makes too large for
Batch is refused at submit time.

A plugin is a module (its module-level `@hookimpl` functions), a class or an instance; a module
may also expose `slurmshim_plugin = MyPlugin()` to register that object instead.  A plugin that
cannot be loaded stops the hook with `sbatch: error: cannot load plugin NAME: ...`
(a site policy that silently disappears would be worse than a refused job).
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import stat
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from .errors import SlurmError

if TYPE_CHECKING:
    from .controller import Controller

_MANAGER: Any = None
_LOADED_KEY: tuple | None = None
_SOURCES: dict[str, str] = {}


def _allowed(name: str) -> bool:
    want = os.environ.get("SLURMSHIM_PLUGINS")
    if want is None:
        return True
    return name in {w.strip() for w in want.split(",") if w.strip()}


def _site_identity() -> tuple:
    """What changes when a distribution is installed, removed or upgraded: each directory on
    sys.path with the metadata directories (*.dist-info, *.egg-info, *.egg-link) it holds and
    their modification times -- what importlib.metadata finds entry points through.  Not the
    directories' own times: sys.path[0] is the script's directory or the working directory,
    where jobs write their output files, and nothing there but those metadata directories
    changes the answer.  Costs a directory listing per path entry (about a millisecond)."""
    parts: list = [sys.version, sys.executable]
    for entry in sys.path:
        try:
            st = os.stat(entry or ".")
            if not stat.S_ISDIR(st.st_mode):
                continue
            parts.append(entry)
            with os.scandir(entry or ".") as it:
                for de in it:
                    if de.name.endswith((".dist-info", ".egg-info", ".egg-link")):
                        parts.append((de.name, de.stat().st_mtime_ns))
        except OSError:
            continue
    return tuple(parts)


ENTRY_POINTS_FAMILY = "entry-points-"


def _entry_points_cache_name() -> str:
    """The entry-point cache of this environment: named by a short hash of the interpreter and
    the sys.path entries (not their contents), so two interpreters, virtual environments or
    scripts run from different directories each keep an entry instead of evicting each
    other's on every command; the family keeps the most recent diskcache.KEEP.  crc32, not
    hashlib (see tomlcache): a collision only makes two environments take turns."""
    import zlib
    key = "\0".join([sys.version, sys.executable, *sys.path]).encode("utf-8", "surrogateescape")
    return f"{ENTRY_POINTS_FAMILY}{zlib.crc32(key):08x}.marshal"


def _installed_entry_points() -> list[tuple[str, str, str]]:
    """(name, "module:attr", where) of the `slurmshim` entry points of installed packages.
    Scanning them means importing importlib.metadata and reading every distribution's
    metadata -- over a quarter of what a plain sbatch costs -- so the answer is cached
    (diskcache) until the installed packages change."""
    from . import diskcache
    ident = _site_identity()
    name = _entry_points_cache_name()
    cached = diskcache.read(name, ident)
    if isinstance(cached, list):
        return [tuple(e) for e in cached]  # type: ignore[misc]
    found: list[tuple[str, str, str]] = []
    try:
        from importlib.metadata import entry_points
        eps = list(entry_points(group="slurmshim"))
    except Exception:  # a broken installed distribution must not break sbatch
        return []
    for ep in eps:
        dist = getattr(ep, "dist", None)
        where = f"entry point {ep.value}"
        if dist is not None:
            try:
                where += f" ({dist.metadata['Name']} {dist.version})"
            except Exception:  # pragma: no cover - odd metadata
                pass
        found.append((ep.name, ep.value, where))
    diskcache.write(name, ident, found, family=ENTRY_POINTS_FAMILY)
    try:  # the single entry of earlier versions, shared (and fought over) by every environment
        os.unlink(diskcache.path_for("entry-points.marshal"))
    except OSError:
        pass
    return found


def _load_entry_point(value: str) -> Any:
    """What an entry point's `module:attr.attr [extras]` names (EntryPoint.load, without
    importing importlib.metadata)."""
    target = value.split("[", 1)[0].strip()
    module, _, attrs = target.partition(":")
    obj = importlib.import_module(module.strip())
    for attr in filter(None, attrs.strip().split(".")):
        obj = getattr(obj, attr)
    return obj


def _candidates(plugins_dir: str | None) -> list[tuple[str, str, Callable[[], Any]]]:
    """(name, source, loader) triples: entry points of group `slurmshim`, then *.py files in
    plugins_dir (sorted).  `source` says where it came from, for `slurmshim plugins`."""
    out: list[tuple[str, str, Callable[[], Any]]] = [
        (name, where, lambda v=value: _load_entry_point(v))
        for name, value, where in _installed_entry_points()]
    if plugins_dir:
        d = Path(os.path.expanduser(plugins_dir))
        for path in sorted(d.glob("*.py")) if d.is_dir() else []:
            if path.name.startswith(("_", ".")):
                continue
            out.append((path.stem, str(path), lambda p=path: _load_file(p)))
    return out


def _load_file(path: Path) -> Any:
    modname = f"slurmshim_plugin_{path.stem}"
    spec = importlib.util.spec_from_file_location(modname, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load plugin {path}")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[modname] = mod
    try:
        spec.loader.exec_module(mod)
    except BaseException:
        sys.modules.pop(modname, None)
        raise
    return mod


def _instantiate(obj: Any) -> Any:
    """An entry point may name a module, an instance or a class (instantiated once); a module
    may hand over an object of its own as `slurmshim_plugin` (an instance or a class)."""
    inner = getattr(obj, "slurmshim_plugin", None) if isinstance(obj, type(sys)) else None
    if inner is not None:
        obj = inner
    return obj() if isinstance(obj, type) else obj


def _key(config) -> tuple:
    return (getattr(config, "plugins_dir", None), os.environ.get("SLURMSHIM_PLUGINS"))


def manager(config) -> Any:
    """The pluggy manager with every allowed plugin registered, or None when there are none.
    Built once per process (and again if plugins_dir or SLURMSHIM_PLUGINS changed)."""
    global _MANAGER, _LOADED_KEY
    key = _key(config)
    if _LOADED_KEY == key:
        return _MANAGER
    cands = [c for c in _candidates(key[0]) if _allowed(c[0])]
    if not cands:
        _MANAGER, _LOADED_KEY = None, key
        return None
    import pluggy

    from . import hookspecs
    pm = pluggy.PluginManager("slurmshim")
    pm.add_hookspecs(hookspecs.SlurmshimSpec)
    sources: dict[str, str] = {}
    for name, where, load in cands:
        if pm.has_plugin(name):
            sys.stderr.write(f"slurmshim: warning: plugin {name} ({where}) ignored: a plugin of "
                             "that name is already loaded\n")
            continue
        try:
            pm.register(_instantiate(load()), name=name)
        except Exception as exc:
            raise SlurmError(f"cannot load plugin {name}: {exc}") from None
        sources[name] = where
    _MANAGER, _LOADED_KEY = pm, key
    _SOURCES.clear()
    _SOURCES.update(sources)
    return pm


def reset() -> None:
    """Forget loaded plugins (tests, long-lived processes after a config change)."""
    global _MANAGER, _LOADED_KEY
    _MANAGER, _LOADED_KEY = None, None
    _SOURCES.clear()


# ---------------------------------------------------------------- the hooks, as callers see them

def run_job_submit(ctl: "Controller", spec) -> None:
    """job_submit then map_partition.  A rejection (a returned string or a raised SlurmError)
    becomes the SlurmError sbatch prints as `sbatch: error: <reason>`."""
    pm = manager(ctl.config)
    if pm is None:
        return
    try:
        results = pm.hook.job_submit(spec=spec, partitions=ctl.config.partitions,
                                     config=ctl.config)
    except SlurmError:
        raise
    except Exception as exc:
        raise SlurmError(f"job_submit plugin failed: {exc}") from None
    for res in results:
        if isinstance(res, str) and res:
            raise SlurmError(res)
    try:
        routed = pm.hook.map_partition(spec=spec, partitions=ctl.config.partitions,
                                       config=ctl.config)
    except SlurmError:
        raise
    except Exception as exc:
        raise SlurmError(f"map_partition plugin failed: {exc}") from None
    if routed:
        spec.partition = routed


def run_job_submitted(ctl: "Controller", rec, spec) -> None:
    pm = manager(ctl.config)
    if pm is None:
        return
    try:
        pm.hook.job_submitted(job_id=rec.job_id, spec=spec, record=rec, config=ctl.config)
    except Exception as exc:  # audit hooks never fail a submission
        sys.stderr.write(f"sbatch: warning: job_submitted plugin failed: {exc}\n")


def _run_batch_hook(hook: str, config, request: dict, spec, partition) -> dict:
    pm = manager(config)
    if pm is None:
        return request
    try:
        getattr(pm.hook, hook)(request=request, spec=spec, partition=partition, config=config)
    except SlurmError:
        raise
    except Exception as exc:
        raise SlurmError(f"{hook} plugin failed: {exc}") from None
    return request


def run_batch_job_definition(config, request: dict, spec, partition) -> dict:
    """Let plugins mutate a RegisterJobDefinition request (in place; also returned).  Call it
    before the definition is named by its content hash (or name it again afterwards, as the
    Batch backend does with translate.rename_job_definition): a plugin that adds a volume
    makes a different definition."""
    return _run_batch_hook("batch_job_definition", config, request, spec, partition)


def run_batch_submit_job(config, request: dict, spec, partition) -> dict:
    """Let plugins mutate a SubmitJob request (in place; also returned), once per SubmitJob."""
    return _run_batch_hook("batch_submit_job", config, request, spec, partition)


# ---------------------------------------------------------------- plugins' own settings

def settings_path(config, name: str, env_var: str | None = None) -> str | None:
    """Where a plugin keeps its own settings file `name` (e.g. "site-policy.toml"): $env_var,
    else beside the slurmshim configuration file, else /etc/slurmshim/<name>; None when none of
    them exists.  (The slurmshim configuration itself rejects unknown keys, so plugin settings
    live in files of their own.)"""
    if env_var and os.environ.get(env_var):
        return os.path.expanduser(os.environ[env_var])
    cands = []
    cfg_path = getattr(config, "path", None)
    if cfg_path and os.path.exists(cfg_path):
        cands.append(os.path.join(os.path.dirname(os.path.abspath(cfg_path)), name))
    cands.append(os.path.join("/etc/slurmshim", name))
    for c in cands:
        if os.path.isfile(c):
            return c
    return None


def load_settings(config, name: str, env_var: str | None = None) -> dict[str, Any]:
    """The TOML settings of a plugin ({} when there is no file).  A file that does not parse is a
    SlurmError naming it: a policy plugin must not silently run without its policy."""
    path = settings_path(config, name, env_var)
    if path is None:
        return {}
    try:
        import tomllib  # type: ignore[import-not-found]
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise SlurmError(f"cannot read plugin settings {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SlurmError(f"invalid plugin settings {path}: {exc}") from None
    data.setdefault("_path", path)
    return data


# ---------------------------------------------------------------- introspection

def loaded_plugins(config) -> list[tuple[str, list[str]]]:
    """(plugin name, implemented hook names) for `slurmshim plugins`."""
    pm = manager(config)
    if pm is None:
        return []
    out = []
    for name, plugin in pm.list_name_plugin():
        hooks = sorted(h.name for h in pm.get_hookcallers(plugin) or [])
        out.append((name, hooks))
    return out


def describe_plugins(config) -> list[dict[str, Any]]:
    """One dict per loaded plugin: name, source (entry point or file), hooks."""
    return [{"name": name, "source": _SOURCES.get(name, ""), "hooks": hooks}
            for name, hooks in loaded_plugins(config)]


def available_plugins(config) -> list[dict[str, Any]]:
    """Every plugin that could load (whether SLURMSHIM_PLUGINS allows it or not), without
    loading any: name, source, enabled."""
    return [{"name": n, "source": w, "enabled": _allowed(n)}
            for n, w, _ in _candidates(getattr(config, "plugins_dir", None))]
