"""`slurmshim init`: a commented starter config that the config loader accepts."""
from __future__ import annotations

import json

from test_admin_helpers import isolate, run

from slurmshim.config import load_config_file


def test_local_only(tmp_path, monkeypatch):
    isolate(monkeypatch, tmp_path)
    path = tmp_path / "conf" / "slurmshim.toml"
    r = run("init", "--path", str(path))
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith(f"wrote {path}\n")
    text = path.read_text()
    assert text.count("\n#") > 10                       # commented
    cfg = load_config_file(str(path))
    assert list(cfg.partitions) == ["local"]
    assert cfg.partitions["local"].default and cfg.partitions["local"].backend == "local"


def test_with_a_batch_queue(tmp_path, monkeypatch):
    isolate(monkeypatch, tmp_path)
    path = tmp_path / "s.toml"
    r = run("init", "--path", str(path), "--queue", "hpc-spot", "--mnp-queue", "hpc-od",
            "--region", "eu-west-1", "--image", "ghcr.io/site/hpc:1", "--bucket", "site-bucket",
            "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == {"path": str(path), "partitions": ["local", "cloud"],
                                    "default": "cloud"}
    cfg = load_config_file(str(path))
    cloud = cfg.partitions["cloud"]
    assert (cloud.backend, cloud.job_queue, cloud.mnp_queue, cloud.spot, cloud.default) == \
        ("batch", "hpc-spot", "hpc-od", True, True)
    assert not cfg.partitions["local"].default
    assert (cfg.aws.region, cfg.aws.image, cfg.aws.s3_bucket) == \
        ("eu-west-1", "ghcr.io/site/hpc:1", "site-bucket")


def test_default_path_is_slurmshim_conf_and_force(tmp_path, monkeypatch):
    path = tmp_path / "from-env.toml"
    isolate(monkeypatch, tmp_path, conf=path)
    assert run("init").exit_code == 0
    assert path.exists()
    r = run("init", "--queue", "q")
    assert r.exit_code == 1
    assert "already exists; use --force" in r.output
    assert "job_queue" not in path.read_text().split("[aws]")[0].replace("# ", "")
    r = run("init", "--queue", "q", "--force")
    assert r.exit_code == 0
    assert load_config_file(str(path)).partitions["cloud"].job_queue == "q"


def test_stdout_and_bad_input(tmp_path, monkeypatch):
    isolate(monkeypatch, tmp_path)
    r = run("init", "--path", "-", "--queue", "q")
    assert r.exit_code == 0 and 'job_queue = "q"' in r.stdout
    assert run("init", "--path", str(tmp_path / "x.toml"), "--mnp-queue", "q").exit_code == 1
    r = run("init", "--path", str(tmp_path / "y.toml"), "--queue", "bad queue")
    assert r.exit_code == 1 and "invalid job queue name" in r.output
