"""`slurmshim output ID`: a local job's output is already in place; a finished Batch job's is
fetched through the Batch backend's logs.fetch_output (replaced here by a fake that writes what
CloudWatch would return), one file per array task."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from test_admin_helpers import isolate, local_config, run

from slurmshim.controller import Controller
from slurmshim.model import JobRecord, JobSpec, JobState


@pytest.fixture
def ctl(tmp_path, monkeypatch):
    conf = local_config(tmp_path / "c.toml", extra='\n[partitions.cloud]\nbackend = "batch"\n'
                                                   'job_queue = "q"\n')
    isolate(monkeypatch, tmp_path, conf=conf)
    from slurmshim.config import load_config
    return Controller.open(load_config())


@pytest.fixture
def fake_fetch(monkeypatch):
    from slurmshim.backends.batch import logs
    calls = []

    def fetch_output(ctl, rec, *, force=False, dest=None):
        path = logs.output_paths(rec)[0]
        calls.append(rec.display_id)
        if os.path.exists(path) and not force:
            return []
        with open(path, "w") as fh:
            fh.write(f"log of {rec.display_id}\n")
        return [path]
    monkeypatch.setattr(logs, "fetch_output", fetch_output)
    return calls


def _batch_job(ctl, tmp_path, state=JobState.COMPLETED, array: int = 0) -> JobRecord:
    rec = JobRecord(job_id=0, name="sim", user="alice", partition="cloud", backend="batch",
                    state=state, work_dir=str(tmp_path),
                    stdout_path=str(tmp_path / ("out-%A_%a.txt" if array else "out-%j.txt")),
                    submit_time=time.time(), end_time=time.time() if state.is_terminal else None)
    if array:
        rec.array_job_id = 0
        rec.array_pending = tuple(range(array))
    rec = ctl.ledger.submit(rec, JobSpec(job_name="sim"), id_block=max(1, array))
    if array:
        with ctl.ledger.transaction():
            for i in range(array):       # the last task keeps the array's own id
                ctl.ledger.split_array_task(rec, i, rec.job_id + i + 1 if i < array - 1
                                            else rec.job_id)
        for r in ctl.ledger.array_records(rec.job_id):
            ctl.ledger.update(r.job_id, state=state)
    return rec


def test_batch_job_output_is_fetched(ctl, tmp_path, fake_fetch):
    rec = _batch_job(ctl, tmp_path)
    r = run("output", str(rec.job_id))
    assert r.exit_code == 0, r.output
    path = tmp_path / f"out-{rec.job_id}.txt"
    assert r.stdout == f"job {rec.job_id}: wrote {path}\n"
    assert path.read_text() == f"log of {rec.job_id}\n"
    r = run("output", str(rec.job_id))
    assert r.stdout == f"job {rec.job_id}: {path} already exists (kept; --force to overwrite)\n"
    r = run("output", "--force", "--json", str(rec.job_id))
    assert json.loads(r.stdout)["jobs"] == [{"job": str(rec.job_id), "backend": "batch",
                                             "state": "COMPLETED", "paths": [str(path)],
                                             "result": f"wrote {path}"}]


def test_array_output(ctl, tmp_path, fake_fetch):
    rec = _batch_job(ctl, tmp_path, array=12)
    r = run("output", str(rec.job_id))
    assert r.exit_code == 0, r.output
    assert len(r.stdout.splitlines()) == 12
    assert sorted(fake_fetch) == sorted(f"{rec.job_id}_{i}" for i in range(12))
    for i in range(12):
        assert (tmp_path / f"out-{rec.job_id}_{i}.txt").exists()
    r = run("output", f"{rec.job_id}_3", "--force")
    assert r.stdout.startswith(f"job {rec.job_id}_3: wrote ")


def test_unfinished_and_unknown(ctl, tmp_path, fake_fetch, monkeypatch):
    monkeypatch.setattr(Controller, "refresh", lambda self: None)   # no AWS here
    rec = _batch_job(ctl, tmp_path, state=JobState.RUNNING)
    r = run("output", str(rec.job_id))
    assert r.exit_code == 1
    assert "has not finished (RUNNING): follow it with `sattach" in r.stdout
    assert fake_fetch == []
    r = run("output", "99999")
    assert r.exit_code == 1 and "slurmshim: error: Invalid job id specified" in r.output


def test_local_job_output_is_already_there(tmp_path, monkeypatch):
    conf = local_config(tmp_path / "c.toml", cpus=2)
    isolate(monkeypatch, tmp_path, conf=conf)
    script = tmp_path / "hello.sh"
    script.write_text("#!/bin/sh\n#SBATCH --output=hello-%j.out\necho hello\n")
    env = dict(os.environ)
    r = subprocess.run([sys.executable, "-c", "from slurmshim.cli.sbatch import main; main()",
                        "--parsable", "--wait", str(script)], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    job = r.stdout.strip()
    out = run("output", job)
    assert out.exit_code == 0, out.output
    assert out.stdout == (f"job {job}: ran on the local backend: its output is already at "
                          f"{tmp_path}/hello-{job}.out\n")
    assert (tmp_path / f"hello-{job}.out").read_text() == "hello\n"
