"""`slurmshim init`: a commented starter configuration.

The text is built here, parsed back with config.parse_config before anything is written (a
starter file that the commands then refuse would be a poor start), and written atomically.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass

from ..errors import SlurmError

DEFAULT_IMAGE = "public.ecr.aws/amazonlinux/amazonlinux:2023"


@dataclass
class InitOptions:
    queue: str | None = None
    mnp_queue: str | None = None
    region: str | None = None
    image: str | None = None
    bucket: str | None = None
    partition: str = "cloud"
    cluster_name: str = "slurmshim"


def _q(value: str) -> str:
    """A TOML basic string."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def starter_config(opts: InitOptions) -> str:
    """The TOML text of a starter configuration."""
    batch = bool(opts.queue)
    lines = [
        "# slurmshim configuration (TOML).  Written by `slurmshim init`; check it with",
        "# `slurmshim doctor`.  Looked up at $SLURMSHIM_CONF, ~/.config/slurmshim/slurmshim.toml,",
        "# /etc/slurmshim/slurmshim.toml.  Every key is optional; `man 5 slurmshim.toml` has them all.",
        "",
        f"cluster_name = {_q(opts.cluster_name)}   # SLURM_CLUSTER_NAME, the Cluster column of sacct",
        "min_job_age = 300              # seconds a finished job stays visible in squeue/scontrol",
        "max_array_size = 1001          # MaxArraySize: array indices must be below it",
        "kill_wait = 30                 # seconds between SIGTERM and SIGKILL (scancel, --time)",
        "# purge_after_days = 90        # forget finished jobs (sacct) after this many days",
        "# state_dir = \"~/.local/state/slurmshim\"   # the job ledger; $SLURMSHIM_STATE_DIR wins",
        "# plugins_dir = \"/etc/slurmshim/plugins\"   # *.py plugins (also: entry points \"slurmshim\")",
        "# export_allow = [\"MY_TOKEN_NAME\"]          # variables exported although they look secret",
        "",
        "# A partition that runs jobs as processes on this machine, like a one-node Slurm cluster.",
        "[partitions.local]",
        "backend = \"local\"",
        f"default = {'false' if batch else 'true'}",
        "nodes = 1                      # virtual nodes: --nodes=N runs N node processes here",
        "max_time = \"UNLIMITED\"         # MaxTime: minutes or a Slurm time (\"2-00:00:00\")",
        "# cpus_per_node = 8            # default: this machine's CPUs",
        "# mem_per_node = \"16G\"         # default: this machine's memory",
    ]
    if batch:
        part = opts.partition
        lines += [
            "",
            "# A partition on an AWS Batch job queue.  Compute environments decide the instance",
            "# types; the numbers below are what sinfo shows and what a job may ask for.",
            f"[partitions.{part}]",
            "backend = \"batch\"",
            "default = true",
            f"job_queue = {_q(opts.queue or '')}",
        ]
        if opts.mnp_queue:
            lines.append(f"mnp_queue = {_q(opts.mnp_queue)}   # on-demand queue for --nodes>1 "
                         "(Batch runs no multi-node job on Spot)")
        else:
            lines.append("# mnp_queue = \"my-ondemand-queue\"  # on-demand queue for --nodes>1 "
                         "(Batch runs no multi-node job on Spot)")
        lines += [
            "spot = true                    # the queue is Spot: reclaimed jobs are retried",
            "retries = 3                    # attempts after a Spot reclaim (--no-requeue: none)",
            "cpus_per_node = 4              # vCPUs of one instance (one Slurm \"node\")",
            "mem_per_node = \"15G\"           # usable memory of one instance",
            "# gpus_per_node = 0",
            "# gpu_types = [\"a10g\"]         # what --gres=gpu:TYPE:N may name",
            "nodes = 16                     # instances the compute environment may run at once",
            "max_time = \"1-00:00:00\"",
            "# efa = false                  # EFA network (needs a cluster placement group)",
        ]
        if opts.image:
            lines.append(f"# image = {_q(opts.image)}   # per-partition container image")
    lines += ["", "[aws]"]
    lines.append(f"region = {_q(opts.region)}" if opts.region
                 else "# region = \"us-east-1\"         # else AWS_REGION or your profile's region")
    lines.append("# profile = \"default\"          # else AWS_PROFILE or the default chain")
    if batch or opts.image:
        lines.append(f"image = {_q(opts.image or DEFAULT_IMAGE)}   # the container jobs run in")
    else:
        lines.append(f"# image = {_q(DEFAULT_IMAGE)}")
    lines.append(f"s3_bucket = {_q(opts.bucket)}   # stages scripts too large for SubmitJob"
                 if opts.bucket else
                 "# s3_bucket = \"my-bucket\"       # stages scripts too large for SubmitJob")
    lines += [
        "# endpoint_url = \"http://127.0.0.1:5000\"   # a Batch-compatible endpoint (tests)",
        "# log_group = \"/aws/batch/job\"",
        "",
        "# Shared filesystems mounted at the same place on the submit host and in the container",
        "# (host path = container path): paths under them are used as they are.",
        "# [aws.mounts]",
        "# \"/fsx\" = \"/fsx\"",
        "",
    ]
    return "\n".join(lines)


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def default_path(env: dict | None = None) -> str:
    """$SLURMSHIM_CONF, else the per-user file."""
    from ..config import config_search_path
    return config_search_path(env)[0]


def write_config(opts: InitOptions, path: str, *, force: bool = False) -> str:
    """Validate and write the starter config; returns the path.  SlurmError when the file exists
    (without force) or the result would not parse."""
    from ..config import parse_config
    if opts.queue and not _NAME.match(opts.queue):
        raise SlurmError(f"invalid job queue name {opts.queue!r}")
    if opts.mnp_queue and not opts.queue:
        raise SlurmError("--mnp-queue needs --queue")
    text = starter_config(opts)
    try:
        import tomllib  # type: ignore[import-not-found]
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    parse_config(tomllib.loads(text), path)   # raises ConfigError if we wrote nonsense
    path = os.path.expanduser(path)
    if os.path.exists(path) and not force:
        raise SlurmError(f"{path} already exists; use --force to overwrite it")
    parent = os.path.dirname(path)
    if parent:
        os.makedirs(parent, exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)
    return path
