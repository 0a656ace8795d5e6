"""srun step records of an AWS Batch job, sent to the submit side through S3 (sacct N.0, N.1 ...).

On the local backend the submit host reads the step directory itself (local_runner.py).  A Batch
job's step directory is inside its container, so the main node's runtime PUTs the directory's
srun step records -- a JSON list of the step-<id>.json records, the batch step left out (the
backend makes it from Batch's own view) -- to a presigned URL the backend made at submit time
(backends/batch: the descriptor's ``steps_urls``, one per Batch attempt, indexed by
AWS_BATCH_JOB_ATTEMPT - 1; the object is ``slurmshim/<cluster>/steps/<raw job id>/<ledger
attempt>.json`` in ``[aws] s3_bucket``).  When the backend's refresh sees the attempt end, it GETs
that object once and saves the steps under that attempt (sacct -D).

When: after every srun step ends (srun.py; the object is overwritten, so a job killed by a Spot
reclaim or Batch's timeout still reports the steps that finished) and once more when the job ends
(job.py), under an flock of the step directory, so the last PUT carries the latest records.
Nothing is sent while no srun step exists (the backend's GET then finds no object: no steps).

Never fails the job: an upload that fails (network, an expired URL -- presigned URLs live at most
7 days, and no longer than the submitter's temporary credentials -- a bucket policy) costs one
line on stderr, and later steps do not try again; the end of the job tries once more, quietly.
The URL is kept in the step directory (owner-only), never printed: it can write the object.

Standard library only, like the rest of the runtime.
"""
from __future__ import annotations

import fcntl
import json
import os
import sys
from typing import Any, Dict, List, Optional

STATE_FILE = ".stepsync.json"
TIMEOUT = 10.0          # seconds per PUT: a step's end must not wait long for S3
FIELDS = ("step_id", "name", "state", "exit_code", "signal", "start_time", "end_time",
          "ncpus", "ntasks", "nnodes", "node_list")


def upload_url(desc: Dict[str, Any], placement: Dict[str, Any]) -> Optional[str]:
    """This attempt's URL from the descriptor's ``steps_urls`` (None: not recorded)."""
    urls = desc.get("steps_urls") or []
    try:
        index = max(1, int(placement.get("attempt") or 1)) - 1
    except (TypeError, ValueError):
        index = 0
    if not isinstance(urls, list) or index >= len(urls) or not urls[index]:
        return None
    return str(urls[index])


def setup(step_dir: str, desc: Dict[str, Any], placement: Dict[str, Any]) -> None:
    """At the job's start (job.py, main node): remember this attempt's URL for srun."""
    path = os.path.join(step_dir, STATE_FILE)
    try:
        url = upload_url(desc, placement)
        if not url:
            if os.path.exists(path):
                os.unlink(path)
            return
        fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"url": url}, fh)
        os.replace(path + ".tmp", path)
    except Exception as exc:  # never the job's failure
        _say("cannot prepare the step records' upload: %s" % _why(exc))


def payload(records: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The srun step records as sent: known fields only, the batch step left out."""
    out = []
    for rec in records:
        if not isinstance(rec, dict) or str(rec.get("step_id")) in ("batch", "None", ""):
            continue
        out.append({k: rec.get(k) for k in FIELDS if k in rec})
    return out


def sync(step_dir: Optional[str], final: bool = False) -> bool:
    """PUT the step directory's srun records to this attempt's URL; True if sent.  Quiet when
    the job has no URL; one stderr line when an upload fails (then only `final` tries again)."""
    if not step_dir:
        return False
    path = os.path.join(step_dir, STATE_FILE)
    try:
        with open(path, "r", encoding="utf-8") as fh:
            state = json.load(fh)
    except (OSError, ValueError):
        return False
    url = state.get("url") if isinstance(state, dict) else None
    if not url or (state.get("failed") and not final):
        return False
    try:
        with open(os.path.join(step_dir, ".stepsync.lock"), "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                return _put(step_dir, path, state, url, final)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
    except Exception as exc:
        _say("cannot record the job's steps for sacct: %s" % _why(exc))
        return False


def _put(step_dir: str, path: str, state: Dict[str, Any], url: str, final: bool) -> bool:
    from .common import StepDir
    steps = payload(StepDir(step_dir).records())
    if not steps:
        return False
    body = json.dumps(steps, sort_keys=True, separators=(",", ":")).encode("utf-8")
    # here, not at the top: urllib.request brings http, email and ssl, which every local
    # job's runtime (it imports this module) would load for nothing -- a third of a trivial
    # array task's cost
    import urllib.request
    req = urllib.request.Request(url, data=body, method="PUT",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:
            resp.read()
        return True
    except Exception as exc:
        if not state.get("failed"):
            _say("cannot record the job's steps for sacct (sacct will not show them): %s"
                 % _why(exc))
            state["failed"] = True
            try:
                with open(path + ".tmp", "w", encoding="utf-8") as fh:
                    json.dump(state, fh)
                os.replace(path + ".tmp", path)
            except OSError:
                pass
        return False


def _why(exc: BaseException) -> str:
    """An error without the URL (it carries a signature)."""
    code = getattr(exc, "code", None)
    if code is not None and hasattr(exc, "reason"):
        return "HTTP %s %s" % (code, getattr(exc, "reason", ""))
    reason = getattr(exc, "reason", None)
    return str(reason if reason is not None else exc.__class__.__name__ + ": " + str(exc))


def _say(text: str) -> None:
    try:
        sys.stderr.write("slurmstepd: error: %s\n" % text)
        sys.stderr.flush()
    except Exception:
        pass
