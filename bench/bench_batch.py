"""Benchmarks of the AWS Batch backend against moto's server on loopback (not a test: numbers).

    python bench/bench_batch.py [--runs N] [--jobs 1000] [--array 50000]

All in one run, side by side, against one ThreadedMotoServer on 127.0.0.1 (moto's simple Batch
mode, use_docker=false, unless said otherwise):

1. Wall time of `sbatch` (a fresh `python -m slurmshim.cli.sbatch` process, steady state: job
   definition and runtime already known) vs `aws batch submit-job --cli-input-json` sending the
   very request sbatch sent (taken from moto's recorder), and vs a minimal boto3 script doing
   the same SubmitJob.  Target: sbatch <= half the AWS CLI's time.
2. Batch API calls per sbatch in steady state (moto's recorder: what the server received).
   Target: 1.
3. Batch API calls per `squeue` over N active jobs (default 1,000; full Batch backend with a
   state-manager transition that keeps every job SUBMITTED, so they stay active).  Target <= 12.
4. SubmitJob calls for a 50,000-task array (`sbatch --array=0-49999`), and the calls of the
   first `squeue` after it finished (the 50,000 tasks split off their meta record).
   Target <= 6 SubmitJob calls.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import batch_fixtures as bf  # noqa: E402

BUCKET = "slurmshim-bench"


def med(xs: list[float]) -> float:
    return statistics.median(xs)


class World:
    def __init__(self, srv: bf.MotoServer, tmp: Path) -> None:
        import boto3
        self.srv, self.tmp = srv, tmp
        srv.reset()
        self.inf = bf.make_infra(srv.endpoint)
        kw = dict(endpoint_url=srv.endpoint, region_name=bf.REGION)
        boto3.client("s3", **kw).create_bucket(Bucket=BUCKET)
        self.conf = bf.write_config(str(tmp / "slurmshim.toml"), self.inf,
                                    endpoint=srv.endpoint, s3_bucket=BUCKET)
        self.env = dict(os.environ)
        self.env.update(bf.AWS_TEST_ENV)
        self.env.update(SLURMSHIM_CONF=self.conf, SLURMSHIM_STATE_DIR=str(tmp / "state"),
                        AWS_ENDPOINT_URL=srv.endpoint, PYTHONPATH=str(ROOT),
                        SLURMSHIM_BATCH_POLL="0", AWS_EC2_METADATA_DISABLED="true")
        self.env.pop("AWS_PROFILE", None)

    def cmd(self, prog: str, *args: str) -> subprocess.CompletedProcess:
        p = subprocess.run([sys.executable, "-m", f"slurmshim.cli.{prog}", *args], env=self.env,
                           cwd=self.tmp, capture_output=True, text=True, timeout=900)
        if p.returncode != 0:
            raise SystemExit(f"{prog} {' '.join(args)} failed:\n{p.stdout}{p.stderr}")
        return p

    def timed(self, argv: list[str], env: dict | None = None) -> float:
        t0 = time.perf_counter()
        p = subprocess.run(argv, env=env or self.env, cwd=self.tmp, capture_output=True,
                           text=True, timeout=300)
        dt = time.perf_counter() - t0
        if p.returncode != 0:
            raise SystemExit(f"{' '.join(argv[:3])} failed:\n{p.stdout}{p.stderr}")
        return dt

    def calls(self) -> Counter:
        return Counter(r["operation"] for r in self.srv.batch_requests())


def bench_submit(srv: bf.MotoServer, runs: int) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    w = World(srv, tmp)
    w.cmd("sbatch", "--wrap", "echo warm")               # registers, uploads the runtime
    srv.start_recording()
    w.cmd("sbatch", "--wrap", "echo steady")
    calls = w.calls()
    (request,) = [r["body"] for r in srv.batch_requests("submitjob")]
    req_path = tmp / "submit.json"
    req_path.write_text(json.dumps(request))

    aws = shutil.which("aws")
    aws_env = dict(w.env)
    boto_script = tmp / "submit.py"
    boto_script.write_text(
        "import json, sys, boto3\n"
        "req = json.load(open(sys.argv[1]))\n"
        "print(boto3.client('batch').submit_job(**req)['jobId'])\n")
    sb, cli, bo = [], [], []
    for _ in range(runs):   # interleaved, so machine noise hits all three alike
        sb.append(w.timed([sys.executable, "-m", "slurmshim.cli.sbatch", "--wrap", "echo x"]))
        if aws:
            cli.append(w.timed([aws, "batch", "submit-job", "--cli-input-json",
                                f"file://{req_path}", "--output", "json"], aws_env))
        bo.append(w.timed([sys.executable, str(boto_script), str(req_path)], aws_env))
    shutil.rmtree(tmp, ignore_errors=True)
    return {"calls_per_sbatch": dict(calls), "sbatch": sb, "aws_cli": cli, "boto3": bo,
            "request_bytes": len(json.dumps(request)), "aws_path": aws}


def bench_squeue(srv: bf.MotoServer, njobs: int) -> dict:
    """N active jobs: moto's full backend, every job held in SUBMITTED by a time transition."""
    tmp = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    w = World(srv, tmp)
    srv.set_use_docker(True)
    srv._post("/moto-api/state-manager/set-transition",
              {"model_name": "batch::job",
               "transition": {"progression": "time", "seconds": 86400}})
    from slurmshim.backends.batch.client import COUNTER
    from slurmshim.config import load_config_file
    from slurmshim.controller import Controller
    from slurmshim.slurm.sbatch_args import build_spec
    saved = dict(os.environ)
    os.environ.update({k: w.env[k] for k in ("AWS_ENDPOINT_URL", "SLURMSHIM_STATE_DIR",
                                             "SLURMSHIM_CONF")})
    try:
        ctl = Controller(load_config_file(w.conf), tmp / "state")
        t0 = time.perf_counter()
        COUNTER.reset()
        for i in range(njobs):
            spec = build_spec(["--wrap", f"sleep {i}", "-J", f"b{i % 10}"], {},
                              read_script=None, cwd=str(tmp), user="bench", uid=1000,
                              group="bench", gid=1000, host="login1", pid=1, now=time.time())
            ctl.submit(spec)
        submit_s = time.perf_counter() - t0
        submit_calls = COUNTER.snapshot()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    srv.start_recording()
    t0 = time.perf_counter()
    out = w.cmd("squeue", "-h")
    squeue_s = time.perf_counter() - t0
    first = w.calls()
    srv.start_recording()
    t0 = time.perf_counter()
    w.cmd("squeue", "-h")
    squeue2_s = time.perf_counter() - t0
    second = w.calls()
    lines = len(out.stdout.splitlines())
    # let the job threads run to their end: "immediate" jumps every job to its last state;
    # they then fail at moto's docker step (no Docker here) and exit
    srv._post("/moto-api/state-manager/set-transition",
              {"model_name": "batch::job", "transition": {"progression": "immediate"}})
    time.sleep(3)
    srv._post("/moto-api/state-manager/unset-transition", {"model_name": "batch::job"})
    srv.set_use_docker(False)
    shutil.rmtree(tmp, ignore_errors=True)
    return {"jobs": njobs, "lines": lines, "submit_s": submit_s, "submit_calls": submit_calls,
            "squeue_calls": dict(first), "squeue_s": squeue_s, "squeue2_calls": dict(second),
            "squeue2_s": squeue2_s}


def bench_array(srv: bf.MotoServer, size: int) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    w = World(srv, tmp)
    w.cmd("sbatch", "--wrap", "echo warm")
    srv.start_recording()
    t0 = time.perf_counter()
    out = w.cmd("sbatch", f"--array=0-{size - 1}", "--wrap", "echo $SLURM_ARRAY_TASK_ID")
    sbatch_s = time.perf_counter() - t0
    calls = w.calls()
    sizes = [r["body"].get("arrayProperties", {}).get("size", 1)
             for r in srv.batch_requests("submitjob")]
    srv.start_recording()
    t0 = time.perf_counter()
    w.cmd("squeue", "-h")
    squeue_s = time.perf_counter() - t0
    sq_calls = w.calls()
    srv.start_recording()
    t0 = time.perf_counter()
    w.cmd("squeue", "-h")
    squeue2_s = time.perf_counter() - t0
    sq2_calls = w.calls()
    job = out.stdout.split()[-1]
    acct = w.cmd("sacct", "-n", "-X", "-P", "-o", "JobID,State", "-j", job).stdout.splitlines()
    shutil.rmtree(tmp, ignore_errors=True)
    return {"size": size, "sbatch_calls": dict(calls), "chunk_sizes": sizes,
            "sbatch_s": sbatch_s, "squeue_calls": dict(sq_calls), "squeue_s": squeue_s,
            "squeue2_calls": dict(sq2_calls), "squeue2_s": squeue2_s,
            "tasks_in_sacct": len(acct),
            "completed_in_sacct": sum(1 for a in acct if a.endswith("|COMPLETED"))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--jobs", type=int, default=1000)
    ap.add_argument("--array", type=int, default=50000)
    a = ap.parse_args()
    # an installed slurmshim is byte-compiled, as awscli and botocore are; this machine sets
    # PYTHONDONTWRITEBYTECODE, so compile once or every sbatch would compile its sources
    import compileall
    compileall.compile_dir(str(ROOT / "slurmshim"), quiet=1)
    bf.set_fake_credentials()
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    rec = Path(tempfile.mkdtemp(prefix="bench-rec-")) / "recording.jsonl"
    srv = bf.MotoServer(recording_path=str(rec))
    from moto import settings
    settings.moto_server_host = lambda: "http://127.0.0.1"  # no Docker probing
    srv.set_use_docker(False)
    print(f"moto server {srv.endpoint} (loopback), {os.cpu_count()} CPUs\n")
    try:
        s = bench_submit(srv, a.runs)
        print(f"1. submit one job, median of {a.runs} (fresh process each; SubmitJob body "
              f"{s['request_bytes']} bytes):")
        print(f"   sbatch (python -m slurmshim.cli.sbatch)   {med(s['sbatch']) * 1000:7.0f} ms")
        if s["aws_cli"]:
            ratio = med(s["sbatch"]) / med(s["aws_cli"])
            print(f"   aws batch submit-job (same request)      {med(s['aws_cli']) * 1000:7.0f} ms"
                  f"   -> sbatch/aws = {ratio:.2f} (target <= 0.50)")
        else:
            print("   aws CLI not installed: only the boto3 script below is timed")
        print(f"   minimal boto3 submit_job script          {med(s['boto3']) * 1000:7.0f} ms")
        print(f"2. Batch API calls per sbatch, steady state: {s['calls_per_sbatch']} "
              f"(target: 1 call)")
        q = bench_squeue(srv, a.jobs)
        srv.reset()
        print(f"3. squeue over {q['jobs']} active jobs ({q['lines']} lines): "
              f"{sum(q['squeue_calls'].values())} Batch calls {q['squeue_calls']} in "
              f"{q['squeue_s']:.2f} s; again: {sum(q['squeue2_calls'].values())} calls in "
              f"{q['squeue2_s']:.2f} s (target <= 12)")
        print(f"   (submitting them in-process took {q['submit_s']:.1f} s, calls "
              f"{q['submit_calls']})")
        r = bench_array(srv, a.array)
        print(f"4. sbatch --array=0-{r['size'] - 1}: {r['sbatch_calls'].get('submitjob', 0)} "
              f"SubmitJob calls (chunks {r['chunk_sizes']}), all calls {r['sbatch_calls']}, "
              f"{r['sbatch_s']:.1f} s (target <= 6 SubmitJob)")
        print(f"   first squeue after it ran: {sum(r['squeue_calls'].values())} calls "
              f"{r['squeue_calls']} in {r['squeue_s']:.1f} s; next one: "
              f"{sum(r['squeue2_calls'].values())} calls in {r['squeue2_s']:.2f} s; sacct shows "
              f"{r['completed_in_sacct']}/{r['tasks_in_sacct']} tasks COMPLETED")
    finally:
        srv.stop()


if __name__ == "__main__":
    main()
