"""srun steps of AWS Batch jobs reach sacct (issue #4), end to end on moto's server with the fake
docker (tests/batch_fixtures.py): the runtime in the "container" PUTs its step records to the
presigned URL in its descriptor (runtime/stepsync.py), the backend's refresh GETs them once when
the attempt ends.  Plus the pure parts: the presigner (byte-for-byte botocore's), the payload,
the upload's URL choice and failure handling, the records -> StepRecord conversion.
"""
from __future__ import annotations

import datetime
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest

from slurmshim.backends.batch.backend import steps_from_upload
from slurmshim.backends.batch.client import presign_s3, s3_object_url
from slurmshim.model import JobState
from slurmshim.runtime import stepsync

ROOT = Path(__file__).resolve().parents[1]
BUCKET = "slurmshim-steps"
WAIT = 90.0


# ---------------------------------------------------------------- pure parts

@pytest.mark.parametrize("endpoint,bucket", [("http://127.0.0.1:5000", "bkt"),
                                             (None, "my.bucket")])
def test_presigned_put_is_botocores(endpoint, bucket):
    botocore = pytest.importorskip("botocore.session")
    import botocore.auth
    from botocore.config import Config
    c = botocore.session.Session().create_client(
        "s3", region_name="eu-west-1", endpoint_url=endpoint, aws_access_key_id="AKID",
        aws_secret_access_key="SECRET/+x", aws_session_token="TOK/+=en",
        config=Config(signature_version="s3v4"))
    key = "slurmshim/c l/steps/12/0.json"
    with mock.patch.object(botocore.auth, "get_current_datetime",
                           return_value=datetime.datetime(2024, 5, 6, 7, 8, 9)):
        theirs = c.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": key},
                                          ExpiresIn=604800)
    ours = presign_s3("PUT", s3_object_url(bucket, key, "eu-west-1", endpoint), "eu-west-1",
                      "AKID", "SECRET/+x", "TOK/+=en", 604800, "20240506T070809Z")
    assert ours == theirs


def test_object_url_styles():
    assert s3_object_url("b", "k/x y", "us-east-1") == "https://b.s3.us-east-1.amazonaws.com/k/x%20y"
    assert s3_object_url("a.b", "k", "eu-west-1") == "https://s3.eu-west-1.amazonaws.com/a.b/k"
    assert s3_object_url("b", "k", "us-east-1", "http://h:1/") == "http://h:1/b/k"


def test_upload_url_per_attempt_and_payload():
    desc = {"steps_urls": ["u1", "u2"]}
    assert stepsync.upload_url(desc, {"attempt": 1}) == "u1"
    assert stepsync.upload_url(desc, {"attempt": 2}) == "u2"
    assert stepsync.upload_url(desc, {"attempt": 3}) is None
    assert stepsync.upload_url({}, {"attempt": 1}) is None
    recs = [{"step_id": "batch", "state": "RUNNING"},
            {"step_id": 0, "state": "COMPLETED", "pid": 12, "exit_code": 0, "ntasks": 2}]
    assert stepsync.payload(recs) == [{"step_id": 0, "state": "COMPLETED", "exit_code": 0,
                                       "ntasks": 2}]


def test_sync_without_url_or_steps_sends_nothing_and_failure_is_one_line(tmp_path, capsys):
    steps = tmp_path / "steps"
    steps.mkdir()
    assert stepsync.sync(str(steps)) is False                     # no URL: not on Batch
    stepsync.setup(str(steps), {"steps_urls": ["http://127.0.0.1:9/x"]}, {"attempt": 1})
    assert oct((steps / stepsync.STATE_FILE).stat().st_mode & 0o777) == "0o600"
    assert stepsync.sync(str(steps)) is False                     # no srun step yet
    (steps / "step-0.json").write_text(json.dumps({"step_id": 0, "state": "COMPLETED"}))
    assert stepsync.sync(str(steps)) is False                     # nothing listens on :9
    assert stepsync.sync(str(steps)) is False                     # not tried again
    assert stepsync.sync(str(steps), final=True) is False         # tried again, quietly
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("slurmstepd: error: cannot record")
    assert "127.0.0.1:9/x" not in err
    stepsync.setup(str(steps), {}, {"attempt": 1})                # a run without URL
    assert not (steps / stepsync.STATE_FILE).exists()


def test_steps_from_upload():
    body = json.dumps([
        {"step_id": 0, "name": "true", "state": "COMPLETED", "exit_code": 0, "signal": 0,
         "start_time": 10.0, "end_time": 11.0, "ncpus": 2, "ntasks": 2, "nnodes": 1,
         "node_list": "n1"},
        {"step_id": 1, "name": "sleep", "state": "RUNNING", "start_time": 12.0},
        {"step_id": "batch", "state": "COMPLETED"}, "junk"]).encode()
    a, b = steps_from_upload(body, 7, 2, "n[1-2]", ended=20.0)
    assert (a.job_id, a.step_id, a.state, a.exit_code, a.num_tasks, a.node_list, a.attempt) == \
        (7, "0", JobState.COMPLETED, 0, 2, "n1", 2)
    # a step the killed container left running ended with the attempt, by SIGKILL
    assert (b.state, b.exit_signal, b.end_time, b.node_list) == \
        (JobState.CANCELLED, 9, 20.0, "n[1-2]")
    assert steps_from_upload(None, 7, 0) == []
    assert steps_from_upload(b"not json", 7, 0) == []


# ---------------------------------------------------------------- end to end

pytest.importorskip("moto")
pytest.importorskip("boto3")
sys.path.insert(0, os.path.dirname(__file__))
import batch_fixtures as bf  # noqa: E402


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    rec = tmp_path_factory.mktemp("moto") / "recording.jsonl"
    yield from bf.moto_with_fake_docker(str(rec))


class Site:
    def __init__(self, srv, tmp: Path) -> None:
        import boto3
        self.srv, self.dir = srv, tmp
        srv.fake.kill_all()
        srv.reset()
        self.inf = bf.make_infra(srv.endpoint)
        kw = dict(endpoint_url=srv.endpoint, region_name=bf.REGION)
        self.s3 = boto3.client("s3", **kw)
        self.s3.create_bucket(Bucket=BUCKET)
        self.batch = boto3.client("batch", **kw)
        conf = bf.write_config(str(tmp / "slurmshim.toml"), self.inf, endpoint=srv.endpoint,
                               s3_bucket=BUCKET)
        self.env = dict(os.environ)
        self.env.update(bf.AWS_TEST_ENV)
        self.env.update(SLURMSHIM_CONF=conf, SLURMSHIM_STATE_DIR=str(tmp / "state"),
                        AWS_ENDPOINT_URL=srv.endpoint, PYTHONPATH=str(ROOT),
                        SLURMSHIM_BATCH_POLL="0", AWS_EC2_METADATA_DISABLED="true")
        for k in ("AWS_PROFILE", "SLURM_JOB_ID", "SLURM_CONF"):
            self.env.pop(k, None)
        srv.start_recording()

    def run(self, cmd: str, *args: str) -> str:
        p = subprocess.run([sys.executable, "-m", f"slurmshim.cli.{cmd}", *args], env=self.env,
                           cwd=self.dir, capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, f"{cmd} {args} -> {p.returncode}\n{p.stdout}{p.stderr}"
        return p.stdout

    def sbatch(self, script: str) -> int:
        (self.dir / "job.sh").write_text(script)
        m = re.fullmatch(r"Submitted batch job (\d+)\n", self.run("sbatch", "job.sh"))
        assert m
        return int(m.group(1))

    def sacct(self, *args: str) -> list[list[str]]:
        out = self.run("sacct", "-n", "-P", "-o", "JobID,State,ExitCode,NodeList", *args)
        return [line.split("|") for line in out.splitlines() if line]

    def state(self, job: int, *args: str) -> str | None:
        rows = [r for r in self.sacct("-j", str(job), *args) if r[0] == str(job)]
        return rows[-1][1] if rows else None

    def step_gets(self) -> list[str]:
        """slurmshim's GETs of step records (its clients' User-Agent says slurmshim; the
        test's own reads of the bucket do not count)."""
        return [r["path"] for r in self.srv.recorded()
                if r["method"] == "GET" and "/steps/" in r["path"] and "slurmshim" in
                str(r["headers"].get("User-Agent") or r["headers"].get("user-agent") or "")]

    def uploaded(self, job: int, attempt: int) -> list[dict]:
        try:
            body = self.s3.get_object(Bucket=BUCKET,
                                      Key=f"slurmshim/awstest/steps/{job}/{attempt}.json")
        except self.s3.exceptions.NoSuchKey:
            return []
        return json.loads(body["Body"].read())


@pytest.fixture
def site(moto, tmp_path):
    return Site(moto, tmp_path)


def test_srun_steps_of_a_batch_job_reach_sacct(site):
    gate = bf.gate(site.dir / "go.open")
    job = site.sbatch("#!/bin/sh\n#SBATCH -n2\n#SBATCH -o out-%j.txt\n"
                      f"srun -n2 true\nsrun -n1 false\n{gate}\necho done\n")
    # while it runs (both steps done, the job waits at its gate) squeue and sacct read
    # nothing from S3; the steps are uploaded already (after each srun)
    bf.wait_for(lambda: [s["state"] for s in site.uploaded(job, 0)] == ["COMPLETED", "FAILED"],
                WAIT, 0.3, "the step records in S3")
    bf.wait_for(lambda: site.state(job) == "RUNNING", WAIT, 0.3, "job running")
    site.run("squeue")
    assert site.step_gets() == []
    bf.open_gate(site.dir / "go.open")
    bf.wait_for(lambda: site.state(job) == "COMPLETED", WAIT, 0.3, "job completed")
    rows = site.sacct("-j", str(job))
    assert rows == [[str(job), "COMPLETED", "0:0", "cloud-dy-01"],
                    [f"{job}.batch", "COMPLETED", "0:0", "cloud-dy-01"],
                    [f"{job}.0", "COMPLETED", "0:0", "cloud-dy-01"],
                    [f"{job}.1", "FAILED", "1:0", "cloud-dy-01"]]
    site.run("squeue")
    site.sacct("-j", str(job))
    assert len(site.step_gets()) == 1          # one GET, when the job ended
    assert (site.dir / f"out-{job}.txt").read_text().endswith("done\n")


def test_each_attempt_keeps_its_own_steps_after_a_spot_reclaim(site):
    gate = bf.gate(site.dir / "never.open")
    job = site.sbatch(
        "#!/bin/sh\n#SBATCH -n2\nsrun -n2 true\n"
        "if [ -n \"$SLURM_RESTART_COUNT\" ]; then srun -n1 true; exit 0; fi\n"
        f"srun -n1 false\n{gate}\n")
    bf.wait_for(lambda: [s["state"] for s in site.uploaded(job, 0)] == ["COMPLETED", "FAILED"],
                WAIT, 0.3, "attempt 0's step records in S3")
    first = bf.wait_for(lambda: [s["jobId"] for s in site.batch.list_jobs(
        jobQueue=site.inf.spot_queue, jobStatus="RUNNING")["jobSummaryList"]], WAIT, 0.3,
        "the Batch job running")[0]
    site.batch.terminate_job(jobId=first, reason=bf.SPOT_INSTANCE_REASON)
    bf.wait_for(lambda: site.state(job) == "COMPLETED", WAIT, 0.3, "the requeued run completed")
    rows = site.sacct("-D", "-j", str(job))
    assert [r[:3] for r in rows] == [
        [str(job), "NODE_FAIL", "0:0"],
        [f"{job}.batch", "CANCELLED", "0:9"],
        [f"{job}.0", "COMPLETED", "0:0"],
        [f"{job}.1", "FAILED", "1:0"],
        [str(job), "COMPLETED", "0:0"],
        [f"{job}.batch", "COMPLETED", "0:0"],
        [f"{job}.0", "COMPLETED", "0:0"],
        [f"{job}.1", "COMPLETED", "0:0"]]
    assert sorted(site.step_gets()) == [f"{BUCKET}/slurmshim/awstest/steps/{job}/0.json",
                                        f"{BUCKET}/slurmshim/awstest/steps/{job}/1.json"]
