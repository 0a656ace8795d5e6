"""Plugin loading, deferred until a hook is about to fire.  `SLURMSHIM_PLUGINS` (comma list of
names) limits which plugins load; `SLURMSHIM_PLUGINS=` (empty) disables them all.  Nothing here
imports pluggy unless there is at least one plugin to load, so plain commands stay fast."""
from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import SlurmError

if TYPE_CHECKING:
    from .controller import Controller

_MANAGER: Any = None
_LOADED = False


def _allowed(name: str) -> bool:
    want = os.environ.get("SLURMSHIM_PLUGINS")
    if want is None:
        return True
    return name in {w.strip() for w in want.split(",") if w.strip()}


def _candidates(plugins_dir: str | None) -> list[tuple[str, Any]]:
    """(name, loader) pairs: entry points of group `slurmshim`, then *.py in plugins_dir."""
    out: list[tuple[str, Any]] = []
    try:
        from importlib.metadata import entry_points
        eps = entry_points(group="slurmshim")
    except Exception:  # a broken installed distribution must not break sbatch
        eps = []
    for ep in eps:
        out.append((ep.name, ep.load))
    if plugins_dir:
        d = Path(os.path.expanduser(plugins_dir))
        for path in sorted(d.glob("*.py")) if d.is_dir() else []:
            out.append((path.stem, lambda p=path: _load_file(p)))
    return out


def _load_file(path: Path) -> Any:
    modname = f"slurmshim_plugin_{path.stem}"
    spec = importlib.util.spec_from_file_location(modname, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load plugin {path}")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[modname] = mod
    spec.loader.exec_module(mod)
    return mod


def manager(config) -> Any:
    """The pluggy manager with every allowed plugin registered, or None when there are none."""
    global _MANAGER, _LOADED
    if _LOADED:
        return _MANAGER
    _LOADED = True
    cands = [(n, load) for n, load in _candidates(getattr(config, "plugins_dir", None))
             if _allowed(n)]
    if not cands:
        return None
    import pluggy

    from . import hookspecs
    pm = pluggy.PluginManager("slurmshim")
    pm.add_hookspecs(hookspecs.SlurmshimSpec)
    for name, load in cands:
        try:
            plugin = load()
        except Exception as exc:
            raise SlurmError(f"cannot load plugin {name}: {exc}") from None
        pm.register(plugin, name=name)
    _MANAGER = pm
    return pm


def reset() -> None:
    """Forget loaded plugins (tests, long-lived processes after a config change)."""
    global _MANAGER, _LOADED
    _MANAGER, _LOADED = None, False


def run_job_submit(ctl: "Controller", spec) -> None:
    pm = manager(ctl.config)
    if pm is None:
        return
    try:
        results = pm.hook.job_submit(spec=spec, partitions=ctl.config.partitions, config=ctl.config)
        routed = pm.hook.map_partition(spec=spec, partitions=ctl.config.partitions,
                                       config=ctl.config)
    except SlurmError:
        raise
    except Exception as exc:
        raise SlurmError(f"job_submit plugin failed: {exc}") from None
    for res in results:
        if isinstance(res, str) and res:
            raise SlurmError(res)
    if routed:
        spec.partition = routed


def run_job_submitted(ctl: "Controller", rec, spec) -> None:
    pm = manager(ctl.config)
    if pm is None:
        return
    try:
        pm.hook.job_submitted(job_id=rec.job_id, spec=spec, record=rec)
    except Exception as exc:  # audit hooks never fail a submission
        sys.stderr.write(f"sbatch: warning: job_submitted plugin failed: {exc}\n")


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
