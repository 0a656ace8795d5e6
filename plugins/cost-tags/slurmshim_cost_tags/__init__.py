"""Cost-allocation tags for slurmshim jobs on AWS Batch.

Every SubmitJob gets tags for the job's user, account (--account), workload key (--wckey) and
project, and `propagateTags = true`, so Batch copies them onto the ECS task it runs: activate
the keys as cost allocation tags in the Billing console and Cost Explorer splits the bill by
them.  Job definitions get only the site's static tags (they are shared by every job with the
same content: per-job values there would make one definition per user).

Where the project comes from, first found wins: an environment variable of the job's exported
environment (`project_env`, default SLURMSHIM_PROJECT then PROJECT), else `--comment` matched
against `comment_pattern` (default `project=NAME` / `project:NAME`), else --wckey.

Settings: $SLURMSHIM_COST_TAGS, else `cost-tags.toml` beside the slurmshim configuration, else
/etc/slurmshim/cost-tags.toml (all optional)::

    [keys]                       # the tag key of each value; "" leaves it out
    user = "slurm:user"
    account = "CostCenter"
    wckey = "slurm:wckey"
    project = "Project"

    [project]
    env = ["SLURMSHIM_PROJECT", "PROJECT"]
    comment_pattern = '(?:^|[\\s,;])project[=:]\\s*([^\\s,;]+)'

    [static]                     # on every job definition (and so every task)
    Owner = "hpc-team"
"""
from __future__ import annotations

import re
from typing import Any

from slurmshim.hookspecs import hookimpl

__version__ = "0.1.0"
SETTINGS_FILE = "cost-tags.toml"
SETTINGS_ENV = "SLURMSHIM_COST_TAGS"

DEFAULT_KEYS = {"user": "slurm:user", "account": "slurm:account", "wckey": "slurm:wckey",
                "project": "slurm:project"}
DEFAULT_PROJECT_ENV = ("SLURMSHIM_PROJECT", "PROJECT")
DEFAULT_COMMENT_PATTERN = r"(?:^|[\s,;])project[=:]\s*([^\s,;]+)"
MAX_TAGS = 50                       # SubmitJob tags, and job + definition tags once propagated
_BAD = re.compile(r"[^\w .:/=+\-@]", re.UNICODE)


def settings(config) -> dict[str, Any]:
    from slurmshim.plugins import load_settings
    return load_settings(config, SETTINGS_FILE, SETTINGS_ENV)


def tag_value(value: Any) -> str:
    """AWS tag values: letters, digits, spaces and _ . : / = + - @, at most 256 characters."""
    return _BAD.sub("_", str(value))[:256]


def tag_key(key: str) -> str:
    return _BAD.sub("_", key)[:128]


def project_of(spec, cfg: dict[str, Any]) -> str | None:
    proj = cfg.get("project") or {}
    names = proj.get("env", list(DEFAULT_PROJECT_ENV))
    if isinstance(names, str):
        names = [names]
    env = getattr(spec, "environment", None) or {}
    for name in names:
        if env.get(name):
            return env[name]
    pattern = proj.get("comment_pattern", DEFAULT_COMMENT_PATTERN)
    comment = getattr(spec, "comment", None) or ""
    if pattern and comment:
        m = re.search(pattern, comment, re.I)
        if m:
            return m.group(1) if m.groups() else m.group(0)
    return getattr(spec, "wckey", None) or None


def job_tags(spec, cfg: dict[str, Any]) -> dict[str, str]:
    keys = dict(DEFAULT_KEYS)
    keys.update(cfg.get("keys") or {})
    values = {"user": spec.user, "account": spec.account, "wckey": spec.wckey,
              "project": project_of(spec, cfg)}
    return {tag_key(keys[k]): tag_value(v) for k, v in values.items() if keys.get(k) and v}


def _merge(request: dict, tags: dict[str, str], reserve: int = 0) -> None:
    """Add tags without going over the limit (tags already present win)."""
    have = request.setdefault("tags", {})
    room = MAX_TAGS - reserve - len(have)
    for k, v in tags.items():
        if k in have:
            continue
        if room <= 0:
            break
        have[k] = v
        room -= 1
    request["propagateTags"] = True


@hookimpl
def batch_job_definition(request, spec, partition, config):
    static = {tag_key(k): tag_value(v) for k, v in (settings(config).get("static") or {}).items()}
    if static:
        _merge(request, static)
    else:
        request["propagateTags"] = True


@hookimpl
def batch_submit_job(request, spec, partition, config):
    cfg = settings(config)
    # job and definition tags together must stay within 50 once propagated
    reserve = len(cfg.get("static") or {}) + 1
    _merge(request, job_tags(spec, cfg), reserve=reserve)
