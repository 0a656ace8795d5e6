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


def test_batch_job_definition_keys():
    """efa_devices, instance_type, job_role_arn (partition) and job_role_arn ([aws]): parsed,
    validated, and kept where translate.py reads them (Partition.extra, AwsSettings)."""
    cfg = parse_config({
        "partitions": {
            "hpc": {"backend": "batch", "job_queue": "q", "efa": True, "efa_devices": 4,
                    "instance_type": "hpc7a.48xlarge",
                    "job_role_arn": "arn:aws:iam::123456789012:role/hpc/slurmshim-job"},
            "cpu": {"backend": "batch", "job_queue": "q2"},
        },
        "aws": {"job_role_arn": "arn:aws-us-gov:iam::123456789012:role/site"},
    })
    assert cfg.partitions["hpc"].extra == {
        "efa_devices": 4, "instance_type": "hpc7a.48xlarge",
        "job_role_arn": "arn:aws:iam::123456789012:role/hpc/slurmshim-job"}
    assert cfg.partitions["cpu"].extra == {}
    assert cfg.aws.job_role_arn == "arn:aws-us-gov:iam::123456789012:role/site"
    assert default_config().aws.job_role_arn is None


@pytest.mark.parametrize("text,message", [
    ("[partitions.p]\nefa_devices = 0\n", "partitions.p.efa_devices: must be at least 1"),
    ("[partitions.p]\nefa_devices = 33\n", "partitions.p.efa_devices: must be at most 32"),
    ("[partitions.p]\nefa_devices = \"4\"\n", "partitions.p.efa_devices: must be an integer"),
    ("[partitions.p]\ninstance_type = [\"p5.48xlarge\", \"p4d.24xlarge\"]\n",
     "partitions.p.instance_type: must be one instance type"),
    ("[partitions.p]\ninstance_type = \"large\"\n",
     "partitions.p.instance_type: not an EC2 instance type: 'large'"),
    ("[partitions.p]\njob_role_arn = \"slurmshim-job\"\n",
     "partitions.p.job_role_arn: not an IAM role ARN: 'slurmshim-job'"),
    ("[aws]\njob_role_arn = \"arn:aws:iam::123:role/x\"\n",
     "aws.job_role_arn: not an IAM role ARN"),
    ("[partitions.p]\ninstance_types = \"p5.48xlarge\"\n",
     "partitions.p.instance_types: unknown key"),
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
