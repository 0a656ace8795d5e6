"""Configuration: a TOML file -> Config.  Where it is looked for, in order: $SLURMSHIM_CONF,
~/.config/slurmshim/slurmshim.toml, /etc/slurmshim/slurmshim.toml, else the built-in default
(one partition `local` on the local backend, the default).  A malformed file is a one-line
ConfigError naming the file and the key, never a traceback.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ._dataclass import dataclass, field
from .errors import ConfigError
from .model import INFINITE, Partition

DEFAULT_CLUSTER = "slurmshim"
DEFAULT_MAX_ARRAY_SIZE = 100001
DEFAULT_MIN_JOB_AGE = 300
DEFAULT_KILL_WAIT = 30


@dataclass
class AwsSettings:
    """The [aws] table."""

    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None
    s3_bucket: str | None = None
    image: str | None = None
    log_group: str = "/aws/batch/job"
    mounts: dict[str, str] = field(default_factory=dict)  # host path -> container path (shared filesystems)
    job_role_arn: str | None = None      # IAM role of the jobs' containers (jobRoleArn)


@dataclass
class Config:
    """Everything the commands need to know about the site."""

    path: str | None = None              # the file it came from (None = built-in default)
    cluster_name: str = DEFAULT_CLUSTER
    min_job_age: int = DEFAULT_MIN_JOB_AGE
    max_array_size: int = DEFAULT_MAX_ARRAY_SIZE
    kill_wait: int = DEFAULT_KILL_WAIT
    purge_after_days: int | None = None  # finished jobs kept this long for sacct (None = forever)
    state_dir: str | None = None
    plugins_dir: str | None = None
    export_allow: tuple[str, ...] = ()   # env names allowed through even if they look like secrets
    partitions: dict[str, Partition] = field(default_factory=dict)
    aws: AwsSettings = field(default_factory=AwsSettings)

    @property
    def default_partition(self) -> str | None:
        for p in self.partitions.values():
            if p.default:
                return p.name
        return next(iter(self.partitions), None)

    def partition(self, name: str) -> Partition | None:
        return self.partitions.get(name)


# ---------------------------------------------------------------- machine facts (local backend)

def machine_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def machine_memory_mib() -> int:
    try:
        with open("/proc/meminfo", encoding="utf-8") as fh:   # (ascii: one codec more to load)
            for line in fh:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 1024


def machine_gpus() -> int:
    try:
        return sum(1 for n in os.listdir("/dev") if n.startswith("nvidia") and n[6:].isdigit())
    except OSError:
        return 0


def short_hostname() -> str:
    import socket  # only here: every command imports this module
    return socket.gethostname().split(".")[0]


def local_node_names(count: int, prefix: str = "node") -> tuple[str, ...]:
    width = max(2, len(str(count)))
    return tuple(f"{prefix}{i:0{width}d}" for i in range(1, count + 1))


def builtin_local_partition(name: str = "local", default: bool = True) -> Partition:
    return Partition(
        name=name, backend="local", default=default, max_time=INFINITE,
        node_names=local_node_names(1), cpus_per_node=machine_cpus(),
        mem_per_node=machine_memory_mib(), gpus_per_node=machine_gpus(),
    )


# ---------------------------------------------------------------- file loading

def config_search_path(env: dict[str, str] | None = None) -> list[str]:
    env = os.environ if env is None else env
    paths = []
    if env.get("SLURMSHIM_CONF"):
        paths.append(env["SLURMSHIM_CONF"])
    home = env.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    paths.append(os.path.join(home, "slurmshim", "slurmshim.toml"))
    paths.append("/etc/slurmshim/slurmshim.toml")
    return paths


def load_config(env: dict[str, str] | None = None) -> Config:
    """Find and parse the configuration; the built-in default when no file exists.
    $SLURMSHIM_CONF naming a missing file is an error (the user asked for that file)."""
    env = os.environ if env is None else env
    explicit = env.get("SLURMSHIM_CONF")
    for i, path in enumerate(config_search_path(env)):
        if os.path.exists(path):
            return load_config_file(path)
        if i == 0 and explicit:
            raise ConfigError(path, None, "file not found")
    return default_config()


def default_config() -> Config:
    cfg = Config()
    part = builtin_local_partition()
    cfg.partitions[part.name] = part
    return cfg


def load_config_file(path: str) -> Config:
    from . import tomlcache
    try:
        data = tomlcache.load(path)
    except OSError as exc:
        raise ConfigError(path, None, exc.strerror or str(exc)) from None
    except UnicodeDecodeError:
        raise ConfigError(path, None, "not UTF-8 text") from None
    except Exception as exc:
        if isinstance(exc, tomlcache.decode_error()):
            raise ConfigError(path, None, f"TOML syntax: {exc}") from None
        raise
    return parse_config(data, path)


_TOP_KEYS = {"cluster_name", "min_job_age", "max_array_size", "kill_wait", "purge_after_days",
             "state_dir", "plugins_dir", "export_allow", "partitions", "aws"}
_AWS_KEYS = {"region", "profile", "endpoint_url", "s3_bucket", "image", "log_group", "mounts",
             "job_role_arn"}
_PART_KEYS = {"backend", "default", "state", "max_time", "default_time", "nodes", "node_prefix",
              "node_names", "cpus", "cpus_per_node", "memory", "mem_per_node", "gpus",
              "gpus_per_node", "gpu_types", "def_mem_per_cpu", "job_queue", "mnp_queue", "image",
              "spot", "efa", "retries", "max_array_size", "efa_devices", "instance_type",
              "job_role_arn"}
MAX_EFA_DEVICES = 32          # EFA interfaces of the largest instances (p5.48xlarge)
# IAM role ARN (any AWS partition: aws, aws-cn, aws-us-gov); role names may have a path
_ROLE_ARN = r"^arn:aws[a-z-]*:iam::\d{12}:role/[A-Za-z0-9+=,.@_/-]{1,576}$"
# EC2 instance type: family[.generation options].size, e.g. p5.48xlarge, u-6tb1.112xlarge
_INSTANCE_TYPE = r"^[a-z][a-z0-9-]*\.[a-z0-9-]+$"


def parse_config(data: dict[str, Any], path: str = "<config>") -> Config:
    """Validate a decoded TOML document.  Pure apart from machine facts for local defaults."""
    cfg = Config(path=path)
    for key in data:
        if key not in _TOP_KEYS:
            raise ConfigError(path, key, "unknown key")
    cfg.cluster_name = _get(data, "cluster_name", str, cfg.cluster_name, path)
    cfg.min_job_age = _get(data, "min_job_age", int, cfg.min_job_age, path, minimum=0)
    cfg.max_array_size = _get(data, "max_array_size", int, cfg.max_array_size, path, minimum=1)
    cfg.kill_wait = _get(data, "kill_wait", int, cfg.kill_wait, path, minimum=0)
    cfg.purge_after_days = _get(data, "purge_after_days", int, None, path, minimum=0)
    cfg.state_dir = _get(data, "state_dir", str, None, path)
    cfg.plugins_dir = _get(data, "plugins_dir", str, None, path)
    allow = data.get("export_allow", [])
    if not isinstance(allow, list) or not all(isinstance(a, str) for a in allow):
        raise ConfigError(path, "export_allow", "must be a list of variable names")
    cfg.export_allow = tuple(allow)

    aws = data.get("aws", {})
    if not isinstance(aws, dict):
        raise ConfigError(path, "aws", "must be a table")
    for key in aws:
        if key not in _AWS_KEYS:
            raise ConfigError(path, f"aws.{key}", "unknown key")
    for key in ("region", "profile", "endpoint_url", "s3_bucket", "image", "log_group"):
        if key in aws:
            setattr(cfg.aws, key, _get(aws, key, str, None, path, prefix="aws."))
    if "job_role_arn" in aws:
        cfg.aws.job_role_arn = _role_arn(aws, path, "aws.")
    mounts = aws.get("mounts", {})
    if not isinstance(mounts, dict) or not all(isinstance(v, str) for v in mounts.values()):
        raise ConfigError(path, "aws.mounts", "must be a table of host path = container path")
    cfg.aws.mounts = dict(mounts)

    parts = data.get("partitions")
    if parts is None:
        cfg.partitions["local"] = builtin_local_partition()
        return cfg
    if not isinstance(parts, dict) or not parts:
        raise ConfigError(path, "partitions", "must be a non-empty table of [partitions.NAME]")
    for name, body in parts.items():
        cfg.partitions[name] = _parse_partition(name, body, path, cfg)
    defaults = [p.name for p in cfg.partitions.values() if p.default]
    if len(defaults) > 1:
        raise ConfigError(path, f"partitions.{defaults[1]}.default",
                          f"more than one default partition ({', '.join(defaults)})")
    return cfg


def _parse_partition(name: str, body: Any, path: str, cfg: Config) -> Partition:
    pre = f"partitions.{name}."
    if not isinstance(body, dict):
        raise ConfigError(path, f"partitions.{name}", "must be a table")
    if not name or any(c in name for c in " ,:=\t"):
        raise ConfigError(path, f"partitions.{name}", "invalid partition name")
    for key in body:
        if key not in _PART_KEYS:
            raise ConfigError(path, pre + key, "unknown key")
    backend = _get(body, "backend", str, "local", path, prefix=pre)
    if backend not in ("local", "batch"):
        raise ConfigError(path, pre + "backend", f"must be \"local\" or \"batch\", not {backend!r}")
    part = Partition(name=name, backend=backend)
    part.default = _get(body, "default", bool, False, path, prefix=pre)
    part.state = _get(body, "state", str, "UP", path, prefix=pre).upper()
    part.max_time = _time(body, "max_time", INFINITE, path, pre)
    part.default_time = _time(body, "default_time", None, path, pre)
    part.retries = _get(body, "retries", int, 3, path, prefix=pre, minimum=0)
    part.spot = _get(body, "spot", bool, False, path, prefix=pre)
    part.efa = _get(body, "efa", bool, False, path, prefix=pre)
    for key in ("job_queue", "mnp_queue", "image"):
        setattr(part, key, _get(body, key, str, None, path, prefix=pre))
    gt = body.get("gpu_types", [])
    if isinstance(gt, str):
        gt = [g for g in gt.split(",") if g]
    if not isinstance(gt, list) or not all(isinstance(g, str) for g in gt):
        raise ConfigError(path, pre + "gpu_types", "must be a list of GPU type names")
    part.gpu_types = tuple(gt)
    part.max_array_size = _get(body, "max_array_size", int, None, path, prefix=pre, minimum=1)
    if "def_mem_per_cpu" in body:
        part.def_mem_per_cpu = _mem(body, "def_mem_per_cpu", path, pre)
    _parse_batch_extras(part, body, path, pre)

    local = backend == "local"
    cpus_key = "cpus_per_node" if "cpus_per_node" in body else "cpus"
    part.cpus_per_node = _get(body, cpus_key, int, machine_cpus() if local else 4, path,
                              prefix=pre, minimum=1)
    mem_key = "mem_per_node" if "mem_per_node" in body else "memory"
    part.mem_per_node = (_mem(body, mem_key, path, pre) if mem_key in body
                         else (machine_memory_mib() if local else 16384))
    gpu_key = "gpus_per_node" if "gpus_per_node" in body else "gpus"
    part.gpus_per_node = _get(body, gpu_key, int, machine_gpus() if local else 0, path,
                              prefix=pre, minimum=0)
    if "node_names" in body:
        names = body["node_names"]
        if isinstance(names, str):
            from .slurm.hostlist import expand
            try:
                names = expand(names)
            except ValueError:
                raise ConfigError(path, pre + "node_names", "invalid hostlist") from None
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            raise ConfigError(path, pre + "node_names", "must be a hostlist or a list of names")
        part.node_names = tuple(names)
    else:
        count = _get(body, "nodes", int, 1 if local else 10, path, prefix=pre, minimum=1)
        prefix = _get(body, "node_prefix", str, "node" if local else f"{name}-dy-", path, prefix=pre)
        part.node_names = local_node_names(count, prefix)
    if backend == "batch" and not part.job_queue:
        raise ConfigError(path, pre + "job_queue", "required for a batch partition")
    return part


def _parse_batch_extras(part: Partition, body: dict, path: str, pre: str) -> None:
    """efa_devices, instance_type, job_role_arn: AWS Batch settings of the partition's job
    definition (translate.build_job_definition), kept in Partition.extra."""
    import re
    if "efa_devices" in body:
        n = _get(body, "efa_devices", int, 1, path, prefix=pre, minimum=1)
        if n > MAX_EFA_DEVICES:
            raise ConfigError(path, pre + "efa_devices", f"must be at most {MAX_EFA_DEVICES}")
        part.extra["efa_devices"] = n
    if "instance_type" in body:
        val = body["instance_type"]
        if isinstance(val, list):
            raise ConfigError(path, pre + "instance_type",
                              "must be one instance type (AWS Batch runs all the nodes of a "
                              "multi-node job on a single instance type)")
        val = _get(body, "instance_type", str, None, path, prefix=pre)
        if not re.match(_INSTANCE_TYPE, val):
            raise ConfigError(path, pre + "instance_type",
                              f"not an EC2 instance type: {val!r} (e.g. \"hpc7a.48xlarge\")")
        part.extra["instance_type"] = val
    if "job_role_arn" in body:
        part.extra["job_role_arn"] = _role_arn(body, path, pre)


def _role_arn(data: dict, path: str, pre: str) -> str:
    import re
    val = _get(data, "job_role_arn", str, None, path, prefix=pre)
    if not re.match(_ROLE_ARN, val):
        raise ConfigError(path, pre + "job_role_arn",
                          f"not an IAM role ARN: {val!r} (e.g. "
                          "\"arn:aws:iam::123456789012:role/slurmshim-job\")")
    return val


def _get(data: dict, key: str, typ: type, default: Any, path: str, prefix: str = "",
         minimum: int | None = None) -> Any:
    if key not in data:
        return default
    val = data[key]
    if typ is int and isinstance(val, bool) or not isinstance(val, typ):
        raise ConfigError(path, prefix + key, f"must be {_TYPE_WORDS[typ]}")
    if minimum is not None and val < minimum:
        raise ConfigError(path, prefix + key, f"must be at least {minimum}")
    return val


_TYPE_WORDS = {int: "an integer", str: "a string", bool: "true or false"}


def _time(data: dict, key: str, default: Any, path: str, pre: str) -> int | None:
    if key not in data:
        return default
    val = data[key]
    if isinstance(val, int) and not isinstance(val, bool):
        return INFINITE if val <= 0 else val
    if isinstance(val, str):
        from .slurm.timespec import parse_time_limit
        try:
            return parse_time_limit(val)
        except ValueError:
            pass
    raise ConfigError(path, pre + key, "must be minutes or a Slurm time (e.g. \"2-00:00:00\", \"UNLIMITED\")")


def _mem(data: dict, key: str, path: str, pre: str) -> int:
    val = data[key]
    if isinstance(val, int) and not isinstance(val, bool) and val >= 0:
        return val
    if isinstance(val, str):
        from .slurm.memspec import parse_mem
        try:
            return parse_mem(val)
        except ValueError:
            pass
    raise ConfigError(path, pre + key, "must be MiB or a Slurm memory size (e.g. \"64G\")")


# ---------------------------------------------------------------- state directory

def state_dir(cfg: Config | None = None, env: dict[str, str] | None = None) -> Path:
    """Where the ledger and spool live: $SLURMSHIM_STATE_DIR, the config's state_dir, else
    $XDG_STATE_HOME/slurmshim (default ~/.local/state/slurmshim)."""
    env = os.environ if env is None else env
    if env.get("SLURMSHIM_STATE_DIR"):
        return Path(env["SLURMSHIM_STATE_DIR"])
    if cfg is not None and cfg.state_dir:
        return Path(os.path.expanduser(cfg.state_dir))
    base = env.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "slurmshim"
