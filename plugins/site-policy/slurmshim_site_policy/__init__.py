"""A site policy for slurmshim, the kind Slurm sites write as job_submit.lua or cli_filter:

* jobs that name no partition go to `default_partition`;
* GPU jobs (--gres=gpu..., --gpus*, --gpus-per-*) go to `gpu_partition` when the partition
  they would land in has no GPUs (map_partition);
* `--account` is required (`require_account`), optionally from an allow-list (`accounts`);
* walltime is capped (`max_time`, per partition in `[partition_max_time]`): a longer --time
  is refused (`time_cap = "reject"`) or lowered to the cap (`"clamp"`); a job without --time
  whose partition default is longer gets the cap;
* `exempt_users` skip all of it.

A refusal is returned as the reason, which sbatch prints as `sbatch: error: <reason>` (exit 1,
nothing submitted).

Settings: $SLURMSHIM_SITE_POLICY, else `site-policy.toml` beside the slurmshim configuration,
else /etc/slurmshim/site-policy.toml::

    [policy]
    default_partition = "cpu"
    gpu_partition = "gpu"            # default: the first partition with gpus_per_node > 0
    require_account = true
    accounts = ["physics", "chem"]   # optional allow-list
    max_time = "2-00:00:00"          # site-wide cap
    time_cap = "reject"              # or "clamp"
    exempt_users = ["root"]

    [partition_max_time]
    gpu = "1-00:00:00"
"""
from __future__ import annotations

from typing import Any

from slurmshim.hookspecs import hookimpl

__version__ = "0.1.0"
SETTINGS_FILE = "site-policy.toml"
SETTINGS_ENV = "SLURMSHIM_SITE_POLICY"
INFINITE = -1


def policy(config) -> dict[str, Any]:
    from slurmshim.plugins import load_settings
    data = load_settings(config, SETTINGS_FILE, SETTINGS_ENV)
    pol = dict(data.get("policy") or {})
    pol["partition_max_time"] = dict(data.get("partition_max_time") or {})
    return pol


def _minutes(text: Any) -> int:
    if isinstance(text, int) and not isinstance(text, bool):
        return text
    from slurmshim.slurm.timespec import parse_time_limit
    return parse_time_limit(str(text))


def _fmt(minutes: int) -> str:
    from slurmshim.slurm.timespec import format_limit
    return format_limit(minutes)


def wants_gpus(spec) -> bool:
    r = spec.resources
    return bool(r.gpus_per_node_total or r.gpus or r.gpus_per_task or r.gpus_per_node
                or spec.extra.get("cpus_per_gpu") or spec.extra.get("mem_per_gpu")
                or r.mem_per_gpu)


def _gpu_partition(pol: dict, partitions: dict) -> str | None:
    name = pol.get("gpu_partition")
    if name:
        return name
    for p in partitions.values():
        if p.gpus_per_node > 0:
            return p.name
    return None


def _first(spec) -> str | None:
    return (spec.partition or "").split(",")[0] or None


def target_partition(spec, partitions: dict, config, pol: dict | None = None) -> str | None:
    """Where the job will run once the policy routed it (None: the site default)."""
    pol = policy(config) if pol is None else pol
    name = _first(spec) or pol.get("default_partition") or \
        getattr(config, "default_partition", None)
    if wants_gpus(spec):
        part = partitions.get(name) if name else None
        if part is None or part.gpus_per_node == 0:
            gpu = _gpu_partition(pol, partitions)
            if gpu:
                return gpu
    return name


def _exempt(spec, pol: dict) -> bool:
    return spec.user in set(pol.get("exempt_users") or [])


@hookimpl
def job_submit(spec, partitions, config):
    pol = policy(config)
    if not pol or _exempt(spec, pol):
        return None
    if not spec.partition and pol.get("default_partition"):
        spec.partition = pol["default_partition"]
    if pol.get("require_account") and not spec.account:
        return ("this cluster requires an account: add --account=NAME (#SBATCH --account=NAME) "
                "naming the project to charge")
    allowed = pol.get("accounts")
    if allowed and spec.account and spec.account not in allowed:
        return (f"invalid account {spec.account}: use one of {', '.join(allowed)}")
    target = target_partition(spec, partitions, config, pol)
    caps = []
    if pol.get("max_time") is not None:
        caps.append(_minutes(pol["max_time"]))
    per = pol["partition_max_time"].get(target) if target else None
    if per is not None:
        caps.append(_minutes(per))
    caps = [c for c in caps if c != INFINITE]
    if not caps:
        return None
    cap = min(caps)
    limit = spec.time_limit
    if limit is None:
        part = partitions.get(target) if target else None
        default = None
        if part is not None:
            default = part.default_time if part.default_time is not None else part.max_time
        if default is None or default == INFINITE or default > cap:
            spec.time_limit = cap
        return None
    if limit == INFINITE or limit > cap:
        if pol.get("time_cap", "reject") == "clamp":
            spec.time_limit = cap
            return None
        where = f" in partition {target}" if per is not None and target else ""
        asked = "UNLIMITED" if limit == INFINITE else _fmt(limit)
        return (f"requested time limit {asked} exceeds the site maximum {_fmt(cap)}{where}: "
                f"ask for --time={_fmt(cap)} or less")
    return None


@hookimpl
def map_partition(spec, partitions, config):
    pol = policy(config)
    if not pol or _exempt(spec, pol) or not wants_gpus(spec):
        return None
    target = target_partition(spec, partitions, config, pol)
    return target if target and target != _first(spec) else None
