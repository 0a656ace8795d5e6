"""Configuration: search order, built-in default, and one-line errors for malformed files."""
from __future__ import annotations

import pytest

from slurmshim.config import default_config, load_config, parse_config
from slurmshim.errors import ConfigError
from slurm_cluster import Cluster


def test_builtin_default_is_one_local_partition():
    cfg = default_config()
    assert list(cfg.partitions) == ["local"]
    part = cfg.partitions["local"]
    assert part.backend == "local" and cfg.default_partition == "local"
    assert part.cpus_per_node >= 1 and part.node_names == ("node01",)


def test_search_order(tmp_path):
    home = tmp_path / "xdg"
    (home / "slurmshim").mkdir(parents=True)
    (home / "slurmshim" / "slurmshim.toml").write_text('cluster_name = "fromhome"\n')
    explicit = tmp_path / "explicit.toml"
    explicit.write_text('cluster_name = "explicit"\n')
    assert load_config({"XDG_CONFIG_HOME": str(home)}).cluster_name == "fromhome"
    assert load_config({"XDG_CONFIG_HOME": str(home),
                        "SLURMSHIM_CONF": str(explicit)}).cluster_name == "explicit"
    with pytest.raises(ConfigError, match="file not found"):
        load_config({"SLURMSHIM_CONF": str(tmp_path / "missing.toml")})


def test_partitions_and_aws():
    cfg = parse_config({
        "partitions": {
            "cpu": {"backend": "batch", "job_queue": "q", "mnp_queue": "q-od", "spot": True,
                    "default": True, "max_time": "2-00:00:00", "gpu_types": ["a100"]},
            "dev": {"backend": "local", "nodes": 3, "cpus": 4, "memory": "8G"},
        },
        "aws": {"region": "us-east-1", "s3_bucket": "b", "mounts": {"/fsx": "/fsx"}},
    })
    assert cfg.default_partition == "cpu"
    assert cfg.partitions["cpu"].max_time == 2 * 24 * 60
    assert cfg.partitions["dev"].node_names == ("node01", "node02", "node03")
    assert cfg.partitions["dev"].mem_per_node == 8192
    assert cfg.aws.mounts == {"/fsx": "/fsx"}


@pytest.mark.parametrize("text,message", [
    ("cluster_name = 3\n", "cluster_name: must be a string"),
    ("bogus = 1\n", "bogus: unknown key"),
    ("[partitions.p]\nbackend = \"slurm\"\n", "partitions.p.backend: must be \"local\" or \"batch\""),
    ("[partitions.p]\nbackend = \"batch\"\n", "partitions.p.job_queue: required for a batch partition"),
    ("[partitions.p]\nmax_time = \"soon\"\n", "partitions.p.max_time: must be minutes or a Slurm time"),
    ("[partitions.a]\ndefault = true\n[partitions.b]\ndefault = true\n",
     "partitions.b.default: more than one default partition"),
    ("[partitions.p\n", "TOML syntax"),
    ("[aws]\nregion = 1\n", "aws.region: must be a string"),
])
def test_malformed_config_is_one_clear_line(tmp_path, text, message):
    cl = Cluster(tmp_path, config=text)
    res = cl.run("squeue")
    assert res.returncode == 1
    lines = res.stderr.splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith(f"squeue: error: invalid configuration {tmp_path}/slurmshim.toml")
    assert message in lines[0]
    assert "Traceback" not in res.stderr
