"""BatchBackend: the Backend protocol over AWS Batch.

Submitting
----------
`submit` plans the job (translate.plan_submission), registers its job definition once per
content (cached in the ledger kv, so steady state costs nothing), uploads what must be staged in
S3 (the runtime bundle once per content, large scripts per job) and sends the SubmitJob
requests in order (one for a plain or multi-node job, one per <= 10,000-task chunk of an array).
Steady state: ONE API call per sbatch.  The Batch job ids go to the record's `backend_id` (a JSON
list, one id per submit) and the plan's facts (queue, chunk offsets and sizes, node names,
planned attempts) to the kv entry `batch:plan:<job id>`.

Plugins: `plan` runs the plugins' batch_job_definition on the RegisterJobDefinition request and
then names the definition by its content hash again (translate.rename_job_definition: a site
plugin's volume makes another definition, registered once and cached like any), then
batch_submit_job once per SubmitJob request.  Every submission path plans through it (sbatch,
held jobs released, requeues, `sbatch --test-only`), so what Batch receives and what
--test-only shows are what the plugins made.

Held jobs (-H, --begin in the future, dependencies Batch cannot express, requeued jobs) stay
PENDING in the ledger and are submitted by the first `kick`/`refresh` that finds them eligible
(any slurmshim command: squeue, sacct, sbatch --wait ...) or, with no command running, by the
state directory's releaser (releaser.py: a small background process that sbatch, scontrol
and any refresh start when something waits for time or for other jobs, and that exits when
nothing does).

Refreshing (squeue, sacct, scontrol, --wait)
--------------------------------------------
API calls are the cost that matters (Batch throttles every API per account), so:

* plain and multi-node jobs: when there are few (<= 100 per listing call) DescribeJobs them
  directly; otherwise ListJobs per queue per non-terminal status (1,000 per page) and
  DescribeJobs (100 ids per call) only for the jobs that left those lists -- those that just
  finished, for exit code, reason and attempts.  1,000 active jobs on one queue: 5 calls.
* arrays: DescribeJobs of the chunk parents (their arrayProperties.statusSummary); a chunk whose
  summary did not change since the last refresh costs nothing more; otherwise ListJobs(arrayJobId)
  for the statuses that changed.  A child that started or ended is split off the Slurm meta
  record (ledger.split_array_task; its raw id from runtime.descriptor.raw_id_for, as the runtime
  computes SLURM_JOB_ID); the meta record keeps the still-pending indices (`N_[a-b]`).
* states, reasons and exit codes come from status.slurm_view; a finished job gets a `batch` step
  record (sacct N.batch); earlier Batch attempts (Spot reclaims retried by the retryStrategy)
  become requeue history (sacct -D) and Restarts=.
* moto and other emulators that ignore retryStrategy end a reclaimed job FAILED after one
  attempt: slurmshim then requeues it itself (a new SubmitJob), bounded by the partition's
  `retries`, so the behaviour users see is the same.
* array tasks get the same treatment (Batch's retryStrategy applies to each child, so on AWS
  it is rare): a reclaimed child Batch did not retry is sent again ON ITS OWN, as a one-task
  job at its array position (translate.plan_submission(positions=[p]): no arrayProperties,
  the descriptor's offset is the position, the tags name the array).  Its facts go to the kv
  entry `batch:requeued:<array id>` (task job id -> ids, attempts, restart base), not to the
  array's plan; from then on that task is refreshed like a plain job (DescribeJobs of its
  own id, in the same call as the chunk parents) and the chunk's listings no longer touch it
  (its old child is not its Batch job any more).  `scontrol requeue N_T` sends a task again
  the same way.  What the emulator's Batch cannot know: the chunk parent still counts the
  old child FAILED (a native afterok on the whole array would fail), and in a `%N` chain
  Batch has already failed the reclaimed task's successors ("Dependent Job failed": shown
  PENDING DependencyNeverSatisfied) -- on AWS, where Batch retries the child itself, neither
  happens.

Polling: `sbatch --wait` (Controller.wait) polls with JobWaiter (below): one DescribeJobs of
the job per poll (plus, while slurmshim holds it, of the Batch jobs it depends on, in the same
call), the first 0.5 s after the submission, then backing off by half each time nothing changed
to 3x SLURMSHIM_BATCH_POLL (6 s by default, at most 10 s), back to 0.5 s on any change.  `srun`
and `sattach` follow a job with JobFollower (below): one DescribeJobs per poll, the ledger
updated from that same detail, backing off the same way (to longer while the job has not
started).  Other in-process refreshes that are not forced (a command refreshing again) are at
most one per interval, the interval starting at SLURMSHIM_BATCH_POLL seconds (default 2) and
growing by half each time a refresh changes nothing in the ledger, up to 5x (at most 30 s);
any change starts it over.  The first such refresh after this process submitted waits one
interval (Batch has nothing to say about a job it just accepted).

Cancelling
----------
TerminateJob everywhere (CancelJob does nothing to STARTING/RUNNING jobs): a plain or multi-node
job, an array's chunk parents (Batch stops the children), single children `<parent>:<i>`.  Batch
delivers SIGTERM, then SIGKILL 30 s later; any other signal cannot be delivered to a Batch
container and is refused with a Slurm-style error.

srun steps
----------
A plain or multi-node job (or a requeued array task) planned with ``[aws] s3_bucket`` carries
presigned PUT URLs in its descriptor (``steps_urls``, one per Batch attempt, made locally by
BatchClient.presign_put: no API call, valid 7 days at most and no longer than the submitter's
temporary credentials); its runtime puts its srun step records there (runtime/stepsync.py).
When a refresh sees an attempt end (the job's end, a Batch retry in its history, a requeue),
_attempt_step queues one S3 GetObject of that attempt's object, done after the ledger
transaction (side by side when many), and its steps are saved under that attempt (kv
``batch:steps:<job>:<attempt>`` marks it read).  Running and pending jobs cost nothing.

Limitations (documented in README): an array task whose raw id is the array id (the last
index) is split off last; srun steps of array tasks, of jobs on partitions without s3_bucket,
and of jobs ending after their URL expired are not in the ledger.
"""
from __future__ import annotations

import base64
import dataclasses
import io
import json
import os
import signal as _signal
import sys
import time
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import SlurmError, SubmitError
from ...model import JobRecord, JobSpec, JobState, NodeStatus, Partition, StepRecord

if TYPE_CHECKING:  # pragma: no cover
    from ...controller import Controller
    from .client import BatchClient

ACTIVE = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING")
RECENT = 60.0            # a job submitted this recently may not be visible yet (consistency)
NODES_TTL = 30.0         # sinfo's view of the compute environments is cached this long
CLAIM_TTL = 300.0        # a held job being submitted by another process


def _poll_interval() -> float:
    try:
        return max(0.0, float(os.environ.get("SLURMSHIM_BATCH_POLL", "2")))
    except ValueError:
        return 2.0


# ---------------------------------------------------------------- the runtime bundle

_BUNDLE: str | None = None


def runtime_bundle() -> str:
    """base64 of a zip of slurmshim/__init__.py (empty) and slurmshim/runtime/*.py, built once
    per process; deterministic (fixed timestamps, sorted), so its S3 key (a content hash) is
    stable and it is uploaded once per slurmshim version."""
    global _BUNDLE
    if _BUNDLE is None:
        rt = Path(__file__).resolve().parents[2] / "runtime"
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            def add(name: str, data: bytes) -> None:
                info = zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                z.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
            add("slurmshim/__init__.py", b"")
            for path in sorted(rt.glob("*.py")):
                add(f"slurmshim/runtime/{path.name}", path.read_bytes())
        _BUNDLE = base64.b64encode(buf.getvalue()).decode("ascii")
    return _BUNDLE


# ---------------------------------------------------------------- small helpers

def batch_ids_of(rec: JobRecord) -> list[str]:
    """The Batch job ids of a record: its backend_id (a JSON list; a bare id is accepted)."""
    bid = rec.backend_id
    if not bid:
        return []
    if bid.startswith("["):
        try:
            return [str(x) for x in json.loads(bid)]
        except ValueError:
            return []
    return [bid]


def _owner(rec: JobRecord) -> int:
    return rec.array_job_id if rec.array_job_id is not None else rec.job_id


def _kv_json(ctl: "Controller", key: str) -> Any:
    raw = ctl.ledger.kv_get(key)
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _kv_del(ctl: "Controller", key: str) -> None:
    ctl.ledger.db.execute("DELETE FROM kv WHERE key=?", (key,))


def _state(value: Any) -> JobState:
    return value if isinstance(value, JobState) else JobState(str(value))


class BatchBackend:
    name = "batch"

    def __init__(self, client: "BatchClient | None" = None) -> None:
        self._client = client
        self._last_refresh = 0.0
        self.poll_interval = _poll_interval()
        self._interval = self.poll_interval    # grows while refreshes find nothing new
        self.warnings: list[str] = []          # squeue-worthy warnings of the last refresh
        self.in_releaser = False               # this process is the releaser (releaser.py)
        self.clock = time.time                 # of the unforced-refresh interval (tests)

    # ================================================================ plumbing
    def client(self, ctl: "Controller") -> "BatchClient":
        if self._client is None:
            from .client import BatchClient
            self._client = BatchClient(ctl.config.aws, ledger=ctl.ledger)
        elif self._client.ledger is None:
            self._client.ledger = ctl.ledger
        return self._client

    batch_ids = staticmethod(batch_ids_of)

    def plan_of(self, ctl: "Controller", rec: JobRecord) -> dict:
        return _kv_json(ctl, f"batch:plan:{_owner(rec)}") or {}

    # ================================================================ validate / submit
    def validate(self, ctl: "Controller", spec: JobSpec, part: Partition) -> list[str]:
        from . import translate
        return list(translate.validate_for_batch(spec, part, ctl.config.aws) or [])

    def plan(self, ctl: "Controller", rec: JobRecord, spec: JobSpec, part: Partition, *,
             ignore_dependency: bool = False, positions: list[int] | None = None,
             steps: bool = True):
        """translate.plan_submission, then the plugins' batch_job_definition (and the
        definition named by its content again) and batch_submit_job (once per SubmitJob):
        what is sent, registered, cached and shown by --test-only is what the plugins made.
        `steps`: presign the step records' upload URLs (with [aws] s3_bucket; no API call)."""
        from . import translate
        presign = None
        bucket = ctl.config.aws.s3_bucket if ctl.config.aws else None
        if steps and bucket:
            client = self.client(ctl)

            def presign(key: str) -> str:
                return client.presign_put(bucket, key)
        plan = translate.plan_submission(
            spec, rec, part, ctl.config.aws, cluster_name=ctl.config.cluster_name,
            native_deps=self._native_deps(ctl, spec), runtime_bundle=runtime_bundle(),
            kill_wait=ctl.config.kill_wait, ignore_dependency=ignore_dependency,
            positions=positions, steps_presign=presign)
        self._run_plugins(ctl, plan, spec, part)
        return plan

    @staticmethod
    def _run_plugins(ctl: "Controller", plan, spec: JobSpec, part: Partition) -> None:
        from ... import plugins
        from . import translate
        if plugins.manager(ctl.config) is None:
            return
        plugins.run_batch_job_definition(ctl.config, plan.job_definition, spec, part)
        translate.rename_job_definition(plan)
        for req in plan.submits:
            plugins.run_batch_submit_job(ctl.config, req, spec, part)
        translate.check_request_sizes(plan)

    def test_only_report(self, ctl: "Controller", rec: JobRecord, spec: JobSpec,
                         part: Partition) -> str:
        """`sbatch --test-only` on a Batch partition: the exact requests, as JSON."""
        from . import translate
        return translate.test_only_report(self.plan(ctl, rec, spec, part, steps=False))

    def submit(self, ctl: "Controller", rec: JobRecord, spec: JobSpec, part: Partition) -> None:
        """Submit now, or leave the job PENDING for a later kick/refresh (held, begin time,
        a dependency only slurmshim can evaluate).  A refused submission leaves no job behind."""
        if rec.hold:
            return          # -H: waits for scontrol release, not for time
        if spec.begin_time and spec.begin_time > time.time():
            self._wake_releaser(ctl)
            return
        # The job is in the ledger, PENDING with no Batch id, from here on: a releaser or another
        # command's refresh would see an eligible job and submit it too.  The submitting claim
        # (the one _release takes) makes one of them the only sender.
        if not self._claim(ctl, rec):
            return          # another process took it first and submits it
        try:
            plan = self.plan(ctl, rec, spec, part)
            if plan.hold_for_dependencies:
                held = True
            else:
                held = False
                self._send(ctl, rec, plan)
                # a job Batch has just accepted has nothing to tell yet: the first unforced
                # refresh of this process waits one poll interval
                self._last_refresh = self.clock()
        except BaseException:
            self._forget(ctl, rec)
            raise
        finally:
            _kv_del(ctl, f"batch:submitting:{rec.job_id}")
        if held:  # a dependency only slurmshim evaluates: it may hold already
            if self._release(ctl, [rec]):
                self._wake_releaser(ctl)

    def _wake_releaser(self, ctl: "Controller", *, kick: bool = True) -> None:
        """Held jobs wait for time or other jobs: make sure this state directory's releaser
        runs (releaser.py), and (`kick`) have it look again now.  Never fails the command."""
        if self.in_releaser:
            return
        from .releaser import ensure_releaser
        try:
            ensure_releaser(ctl, kick=kick)
        except OSError as exc:
            sys.stderr.write(f"slurmshim: warning: cannot start the AWS Batch releaser "
                             f"({exc.strerror or exc}): held jobs are submitted when a "
                             f"slurmshim command runs\n")

    def _forget(self, ctl: "Controller", rec: JobRecord) -> None:
        """sbatch failed after the controller stored the job: Slurm would have no such job."""
        with ctl.ledger.transaction():
            db = ctl.ledger.db
            db.execute("DELETE FROM jobs WHERE job_id=? OR array_job_id=?",
                       (rec.job_id, rec.job_id))
            if rec.spec_id is not None:
                db.execute("DELETE FROM specs WHERE spec_id=?", (rec.spec_id,))
            _kv_del(ctl, f"batch:plan:{rec.job_id}")

    def _native_deps(self, ctl: "Controller", spec: JobSpec) -> dict[int, list[str]]:
        """Slurm job id -> its Batch job ids (one per submit), [] when already satisfied; jobs
        not (yet, or never) on Batch are left out, so translate holds the dependency."""
        out: dict[int, list[str]] = {}
        if spec.dependency is None:
            return out
        for term in spec.dependency.terms:
            jid = term.job_id
            if jid is None or jid in out:
                continue
            recs = ctl.ledger.array_records(jid) or [r for r in [ctl.ledger.get(jid)] if r]
            if not recs or any(r.backend != "batch" for r in recs):
                continue
            if all(r.state == JobState.COMPLETED and not r.array_pending for r in recs):
                out[jid] = []
                continue
            if any(r.state.is_terminal and r.state != JobState.COMPLETED for r in recs):
                continue  # afterok can never hold: let the controller say so
            plan = _kv_json(ctl, f"batch:plan:{jid}")
            if plan and plan.get("ids"):
                out[jid] = list(plan["ids"])
        return out

    def _send(self, ctl: "Controller", rec: JobRecord, plan, *, restarts_base: int | None = None,
              reason: str | None = None, task: bool = False) -> list[str]:
        """Uploads, job definition, SubmitJob(s); then the ids into the ledger.  `task`: one
        array task sent again on its own (a requeue): its facts go to the array's
        `batch:requeued:<array id>` entry, under the task's job id, not to the array's plan."""
        from . import translate
        client = self.client(ctl)
        self._upload(ctl, plan)
        client.ensure_job_definition(plan.job_definition)
        ids: list[str] = []
        try:
            for req in plan.submits:
                resolved = translate.resolve_submit(req, ids)
                try:
                    resp = client.submit_job(resolved)
                except SubmitError as exc:
                    if "Invalid job definition" not in exc.reason:
                        raise
                    # deregistered behind our back: register again, once
                    client.forget_job_definition(plan.job_definition_name)
                    client.ensure_job_definition(plan.job_definition)
                    resp = client.submit_job(resolved)
                ids.append(resp["jobId"])
        except BaseException:
            for bid in ids:  # no half-submitted arrays
                try:
                    client.terminate_job(bid, "slurmshim: submission of the job failed")
                except Exception:
                    pass
            raise
        info = {
            "ids": ids, "queue": plan.job_queue, "offsets": list(plan.chunk_offsets),
            "sizes": list(plan.chunk_sizes or [1] * len(ids)), "multinode": plan.multinode,
            "nodes": list(plan.node_names), "vcpus": plan.vcpus,
            "attempts": int((plan.submits[0].get("retryStrategy") or {}).get("attempts", 1)),
            "base": rec.restarts if restarts_base is None else restarts_base,
            "def": plan.job_definition_name, "submitted": time.time(),
        }
        if getattr(plan, "steps_prefix", None):
            info["steps"] = f"s3://{plan.s3_bucket}/{plan.steps_prefix}"
        fields: dict[str, Any] = {"backend_id": json.dumps(ids)}
        if reason is not None:
            fields["reason"] = reason
        with ctl.ledger.transaction():
            ctl.ledger.update(rec.job_id, **fields)
            if task:
                key = f"batch:requeued:{_owner(rec)}"
                requeued = _kv_json(ctl, key) or {}
                requeued[str(rec.job_id)] = info
                ctl.ledger.kv_set(key, json.dumps(requeued))
            else:
                ctl.ledger.kv_set(f"batch:plan:{_owner(rec)}", json.dumps(info))
            for k in (f"batch:dead:{rec.job_id}",):
                _kv_del(ctl, k)
        rec.backend_id = fields["backend_id"]
        return ids

    def _upload(self, ctl: "Controller", plan) -> None:
        uploads = getattr(plan, "uploads", None) or {}
        if not uploads and plan.stage_script is not None and plan.stage_key:
            uploads = {plan.stage_key: plan.stage_script}
        if not uploads:
            return
        bucket = getattr(plan, "s3_bucket", None) or ctl.config.aws.s3_bucket
        if not bucket:
            raise SubmitError("Job script too large for AWS Batch",
                              detail="no [aws] s3_bucket is configured to stage it")
        client = self.client(ctl)
        for key, body in uploads.items():
            if key == getattr(plan, "runtime_key", None):
                cache = f"batch:s3:{client.cache_scope('s3')}:{bucket}/{key}"
                if ctl.ledger.kv_get(cache):
                    continue
                if not self._object_exists(client, bucket, key):
                    client.put_object(bucket, key, body)
                ctl.ledger.kv_set(cache, "1")
            else:
                client.put_object(bucket, key, body)

    @staticmethod
    def _object_exists(client: "BatchClient", bucket: str, key: str) -> bool:
        from .client import error_code, map_error
        try:
            client.s3.head_object(Bucket=bucket, Key=key)
            return True
        except Exception as exc:
            if error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                return False
            raise map_error(exc, "HeadObject", submitting=True) from exc

    # ================================================================ held jobs
    def kick(self, ctl: "Controller") -> None:
        """Submit the held jobs that became eligible (a release, an update, a cancel of what
        they waited for); the releaser watches what still waits, and requeued jobs whose old
        Batch job has not ended yet."""
        from .releaser import waiting_candidates
        held, requeued = waiting_candidates(ctl)
        waits = self._release(ctl, held) if held else []
        if waits or requeued:
            self._wake_releaser(ctl)

    def _claim(self, ctl: "Controller", rec: JobRecord) -> bool:
        key = f"batch:submitting:{rec.job_id}"
        now = time.time()
        with ctl.ledger.transaction():
            fresh = ctl.ledger.get(rec.job_id)
            if fresh is None or fresh.backend_id or fresh.state != JobState.PENDING:
                return False
            cur = ctl.ledger.kv_get(key)
            if cur and now - float(cur) < CLAIM_TTL:
                return False
            ctl.ledger.kv_set(key, repr(now))
        return True

    def _release(self, ctl: "Controller", recs: list[JobRecord]) -> list[float | None]:
        """Submit the held jobs that became eligible; set the reasons of the others.  Returns
        one entry per job still waiting for something that time or other jobs will bring
        (a begin time, a dependency, another process submitting it): when to look again
        (None: when the jobs it waits for change).  Held (-H), never satisfiable and refused
        jobs wait for nothing."""
        from ...scheduling import NEVER, WAITING
        now = time.time()
        waiting: list[float | None] = []
        for rec in recs:
            if rec.hold:
                continue
            part = ctl.partition_of(rec)
            if part is None:
                self._set_reason(ctl, rec, "PartitionDown")
                continue
            spec = ctl.load_spec(rec)
            if spec.begin_time and spec.begin_time > now:
                self._set_reason(ctl, rec, "BeginTime")
                waiting.append(spec.begin_time)
                continue
            ignore_dep = False
            if spec.dependency is not None:
                status, _terms = ctl.dependency_state(rec, now)
                if status == NEVER:
                    if spec.kill_on_invalid_dep:
                        ctl.ledger.update(rec.job_id, state=JobState.CANCELLED,
                                          reason="DependencyNeverSatisfied", end_time=now)
                    else:
                        self._set_reason(ctl, rec, "DependencyNeverSatisfied")
                    continue
                if status == WAITING:
                    self._set_reason(ctl, rec, "Dependency")
                    from ..local import LocalBackend   # after:+minutes: when it is due
                    waiting.append(LocalBackend._after_minutes_wake(ctl, spec, now))
                    continue
                ignore_dep = True
            if not self._claim(ctl, rec):
                waiting.append(None)    # another process is submitting it
                continue
            try:
                one_task = rec.array_job_id is not None and not rec.is_array_meta and \
                    spec.array is not None and rec.array_task_id in spec.array.indices
                if one_task:  # a task requeued by scontrol: sent again on its own
                    position = list(spec.array.indices).index(rec.array_task_id)
                    plan = self.plan(ctl, rec, spec, part, ignore_dependency=True,
                                     positions=[position])
                else:
                    plan = self.plan(ctl, rec, spec, part, ignore_dependency=ignore_dep)
                if plan.hold_for_dependencies:  # pragma: no cover - translate holds no more
                    waiting.append(None)
                    continue
                self._send(ctl, rec, plan, reason="None", task=one_task)
                _kv_del(ctl, f"requeue:{rec.job_id}")
            except SubmitError as exc:
                ctl.ledger.update(rec.job_id, state=JobState.FAILED, reason="JobLaunchFailure",
                                  exit_code=1, end_time=time.time())
                sys.stderr.write(f"slurmshim: job {rec.display_id} could not be submitted to "
                                 f"AWS Batch: {exc.reason}\n")
            finally:
                _kv_del(ctl, f"batch:submitting:{rec.job_id}")
        return waiting

    @staticmethod
    def _set_reason(ctl: "Controller", rec: JobRecord, reason: str) -> None:
        if rec.reason != reason:
            ctl.ledger.update(rec.job_id, reason=reason)
            rec.reason = reason

    # ================================================================ refresh
    def refresh(self, ctl: "Controller", recs: list[JobRecord] | None, *,
                force: bool = False, known: dict[str, dict] | None = None) -> None:
        """`recs` None: every active job of this backend.  `known`: Batch job details the
        caller has just described (srun/sattach's follower), not described again.

        Unforced refreshes in one process (a command refreshing again) are at most one per
        interval, and the interval backs off while they find nothing new: from
        SLURMSHIM_BATCH_POLL (2 s) by half again each time up to 5x that (at most 30 s),
        and back to the start as soon as a refresh changes the ledger."""
        now = self.clock()
        if not force and self._last_refresh and now - self._last_refresh < self._interval:
            return
        again_in_process = bool(self._last_refresh)
        self._last_refresh = now
        before = self._changes(ctl)
        if recs is None:
            recs = ctl.ledger.active("batch")
        unsubmitted = [r for r in recs if r.state == JobState.PENDING and not r.backend_id]
        waits: list[float | None] = []
        if unsubmitted:
            waits = self._release(ctl, unsubmitted)
        submitted = [r for r in recs if r.backend_id]
        if submitted:
            self._requeued_now: list[int] = []
            self._sync(ctl, submitted, known=known)
            again = [r for r in ctl.ledger.get_many(self._requeued_now)
                     if r.state == JobState.PENDING and not r.backend_id]
            if again:  # scontrol requeue: the old Batch job has ended, send the new one
                waits += self._release(ctl, again)
        if waits:       # a releaser keeps them going when no command runs (none started?)
            self._wake_releaser(ctl, kick=False)
        if not force:
            base = self.poll_interval
            if again_in_process and before is not None and self._changes(ctl) == before:
                cap = max(base, min(30.0, 5 * base))
                self._interval = min(cap, max(base, self._interval * 1.5))
            else:
                self._interval = base

    @staticmethod
    def _changes(ctl: "Controller") -> int | None:
        """Rows this process has written to the ledger so far (sqlite's total_changes)."""
        try:
            return int(ctl.ledger.db.total_changes)
        except Exception:  # pragma: no cover - another ledger implementation
            return None

    def _sync(self, ctl: "Controller", recs: list[JobRecord], *,
              known: dict[str, dict] | None = None) -> None:
        client = self.client(ctl)
        self.warnings = []
        self._specs = {}
        now = time.time()
        plans: dict[int, dict] = {}
        requeued: dict[int, dict] = {}
        for r in recs:
            o = _owner(r)
            if o not in plans:
                plans[o] = _kv_json(ctl, f"batch:plan:{o}") or {}
                if r.array_job_id is not None:
                    requeued[o] = _kv_json(ctl, f"batch:requeued:{o}") or {}
        dead = {r.job_id for r in recs if ctl.ledger.kv_get(f"batch:dead:{r.job_id}")}
        recs = [r for r in recs if r.job_id not in dead]
        held = [r for r in recs if r.hold and r.state == JobState.PENDING and
                (r.array_job_id is None or (r.is_array_meta and not any(
                    t.array_task_id is not None for t in ctl.ledger.array_records(r.job_id))))]
        if held:
            self._unsubmit(ctl, held)
            recs = [r for r in recs if r not in held]

        # array tasks slurmshim sent again on their own (requeued) are plain Batch jobs now
        own_plan: dict[int, dict] = {}
        for r in recs:
            info = (requeued.get(_owner(r)) or {}).get(str(r.job_id)) \
                if r.array_job_id is not None else None
            if info and batch_ids_of(r)[:1] == list(info.get("ids") or [])[:1]:
                own_plan[r.job_id] = {**plans[_owner(r)], **info}
        plain = [r for r in recs if r.array_job_id is None or r.job_id in own_plan]
        arrays: dict[int, list[JobRecord]] = {}
        for r in recs:
            if r.array_job_id is not None and r.job_id not in own_plan:
                arrays.setdefault(r.array_job_id, []).append(r)

        def plan_for(r: JobRecord) -> dict:
            return own_plan.get(r.job_id) or plans[_owner(r)]

        # -- plain and multi-node jobs: direct describe when few, else list + describe
        by_id: dict[str, JobRecord] = {}
        for r in plain:
            for bid in batch_ids_of(r)[:1]:
                by_id[bid] = r
        queues = sorted({plan_for(r).get("queue") or (ctl.partition_of(r).job_queue
                                                      if ctl.partition_of(r) else "")
                         for r in plain} - {""})
        summaries: dict[str, dict] = {}
        describe: list[str] = []
        listing_calls = len(ACTIVE) * max(1, len(queues))
        if by_id and -(-len(by_id) // 100) > listing_calls:
            for q in queues:
                for st in ACTIVE:
                    for s in client.list_jobs(status=st, job_queue=q):
                        if s["jobId"] in by_id:
                            summaries[s["jobId"]] = s
            for bid, r in by_id.items():
                s = summaries.get(bid)
                if s is None:
                    describe.append(bid)            # left the lists: finished (or lost)
                elif r.state in (JobState.RUNNING, JobState.CONFIGURING) and \
                        s.get("status") not in ("STARTING", "RUNNING"):
                    describe.append(bid)            # back to RUNNABLE: a Batch retry
        else:
            describe.extend(by_id)

        # -- arrays: the chunk parents
        parent_ids: list[str] = []
        for aid, lst in arrays.items():
            parent_ids.extend(plans[aid].get("ids") or [])
        details: dict[str, dict] = {}
        known = known or {}
        for d in client.describe_jobs([b for b in describe + parent_ids if b not in known]):
            details[d["jobId"]] = d
        for b in describe + parent_ids:
            if b in known and known[b]:
                details[b] = known[b]

        # moto (and an occasional real job) has no exit code in DescribeJobs: take it from the
        # FAILED listing of the queue, once per queue
        self._fill_exit_codes(ctl, client, [details[b] for b in describe if b in details],
                              by_id, {r.job_id: plan_for(r) for r in plain})

        updates: list[tuple[JobRecord, dict]] = []
        for bid, r in by_id.items():
            src = details.get(bid) or summaries.get(bid)
            if src is None:
                if now - (plan_for(r).get("submitted") or r.submit_time) > RECENT:
                    updates.append((r, {"lost": True}))
                continue
            updates.append((r, src))

        array_work = []
        for aid, lst in arrays.items():
            array_work.append((aid, lst, self._array_children(ctl, client, aid, lst,
                                                              plans[aid], details)))
        self._apply(ctl, updates, plans, array_work, details, own_plan)

    def _unsubmit(self, ctl: "Controller", recs: list[JobRecord]) -> None:
        """scontrol hold on a job Batch has not started: take it back (TerminateJob) and keep
        it held in the ledger; release submits it again.  (A job Batch already started keeps
        running, as a running Slurm job cannot be held either.)"""
        client = self.client(ctl)
        uid = os.getuid()
        for r in recs:
            for bid in batch_ids_of(r):
                client.terminate_job(bid, f"Held by slurmshim scontrol hold (uid {uid})")
            ctl.ledger.update(r.job_id, backend_id=None)
            r.backend_id = None

    # -- exit codes ---------------------------------------------------------------------------
    def _fill_exit_codes(self, ctl, client, dets: list[dict], by_id: dict[str, JobRecord],
                         plans: dict[int, dict]) -> None:
        """Exit codes of FAILED jobs whose detail has none.  A multi-node job's outcome is its
        main node's (Batch ends the job when the main node exits): DescribeJobs of the main
        nodes `<id>#<mainNode>` (one call for all), their exit code and container reason
        (an OOM kill) copied into the job's detail.  Otherwise (moto, which has no node jobs
        and keeps exit codes out of DescribeJobs) the queue's FAILED listing, once per queue.
        `plans`: each record's plan, by job id."""
        need: dict[str, list[dict]] = {}
        mains: dict[str, dict] = {}
        for d in dets:
            if d.get("status") != "FAILED" or str(d.get("statusReason") or "").startswith(
                    ("Host EC2", "Cancelled by slurmshim", "Requeued by slurmshim")):
                continue
            c = d.get("container") or {}
            att = (d.get("attempts") or [{}])[-1].get("container") or {}
            if c.get("exitCode") is not None or att.get("exitCode") is not None:
                continue
            if not d.get("startedAt") and not d.get("attempts"):
                continue  # never ran: no exit code to find
            props = d.get("nodeProperties") or {}
            if props and "#" not in str(d["jobId"]):
                mains[f"{d['jobId']}#{int(props.get('mainNode') or 0)}"] = d
                continue
            self._exit_code_from_listing(need, d, by_id, plans)
        if mains:
            for node in client.describe_jobs(list(mains)):
                d = mains.pop(node.get("jobId"), None)
                if d is None:
                    continue
                nc = node.get("container") or \
                    (node.get("attempts") or [{}])[-1].get("container") or {}
                target = d.setdefault("container", {})
                if nc.get("exitCode") is not None:
                    target["exitCode"] = nc["exitCode"]
                if nc.get("reason") and not target.get("reason"):
                    target["reason"] = nc["reason"]
            for d in mains.values():   # no node jobs to describe (moto)
                self._exit_code_from_listing(need, d, by_id, plans)
        for q, lst in need.items():
            codes = {s["jobId"]: (s.get("container") or {}).get("exitCode")
                     for s in client.list_jobs(status="FAILED", job_queue=q)}
            for d in lst:
                code = codes.get(d["jobId"])
                if code is not None:
                    d.setdefault("container", {})["exitCode"] = code

    @staticmethod
    def _exit_code_from_listing(need: dict[str, list[dict]], d: dict,
                                by_id: dict[str, JobRecord], plans: dict[int, dict]) -> None:
        r = by_id.get(d["jobId"])
        q = plans.get(r.job_id, {}).get("queue") if r else None
        if q:
            need.setdefault(q, []).append(d)

    # -- arrays ---------------------------------------------------------------------------------
    def _array_children(self, ctl, client, aid: int, recs: list[JobRecord], plan: dict,
                        details: dict[str, dict]) -> list[tuple[int, int, dict, dict | None]]:
        """Children that need attention: (chunk, position, summary-or-detail, parent detail).
        Costs nothing for a chunk whose statusSummary did not change since the last look."""
        out: list[tuple[int, int, dict, dict | None]] = []
        ids = plan.get("ids") or []
        offsets = plan.get("offsets") or [0] * len(ids)
        sizes = plan.get("sizes") or [1] * len(ids)
        tasks_by_child: dict[str, JobRecord] = {}
        for r in recs:
            if r.array_task_id is not None:
                for b in batch_ids_of(r):
                    tasks_by_child[b] = r
        for k, pid in enumerate(ids):
            parent = details.get(pid)
            off = offsets[k] if k < len(offsets) else 0
            size = sizes[k] if k < len(sizes) else 1
            if parent is None:
                continue
            if size <= 1 or not parent.get("arrayProperties"):
                # a one-task chunk is a plain Batch job standing for one array position
                out.append((k, off, parent, parent))
                continue
            summary = (parent.get("arrayProperties") or {}).get("statusSummary") or {}
            key = f"batch:summary:{aid}:{k}"
            prev = _kv_json(ctl, key)
            ours_active = [b for b, r in tasks_by_child.items()
                           if b.startswith(pid + ":") and r.state.is_active]
            if prev == summary:
                continue   # nothing moved in this chunk since the last look
            want: list[str] = []
            for st in ("STARTING", "RUNNING"):
                if summary.get(st):
                    want.append(st)
            seen = _kv_json(ctl, f"batch:seen:{aid}:{k}") or {}
            for st in ("SUCCEEDED", "FAILED"):
                if summary.get(st, 0) != seen.get(st, 0):
                    want.append(st)
            listed: dict[str, dict] = {}
            for st in want:
                for s in client.list_jobs(status=st, array_job_id=pid):
                    listed[s["jobId"]] = s
            # our running tasks that are in none of those lists went back to RUNNABLE (a Batch
            # retry) or ended without the summary telling yet: describe them
            missing = [b for b in ours_active if b not in listed]
            failed = [b for b, s in listed.items() if s.get("status") == "FAILED"
                      and (b not in tasks_by_child or tasks_by_child[b].state.is_active)]
            for d in client.describe_jobs(missing + failed):
                s = listed.get(d["jobId"])
                if s and (s.get("container") or {}).get("exitCode") is not None and \
                        (d.get("container") or {}).get("exitCode") is None:
                    d.setdefault("container", {})["exitCode"] = s["container"]["exitCode"]
                listed[d["jobId"]] = d
            for cid, s in listed.items():
                from .status import array_child_index
                idx = array_child_index(s)
                if idx is None:
                    continue
                out.append((k, off + idx, s, parent))
            counts = {st: sum(1 for s in listed.values() if s.get("status") == st)
                      for st in ("SUCCEEDED", "FAILED")}
            ctl.ledger.kv_set(f"batch:seen:{aid}:{k}", json.dumps(
                {st: counts[st] if st in want else seen.get(st, 0)
                 for st in ("SUCCEEDED", "FAILED")}))
            ctl.ledger.kv_set(key, json.dumps(summary))
        return out

    # -- applying -------------------------------------------------------------------------------
    def _apply(self, ctl: "Controller", updates, plans, array_work, details,
               own_plan: dict[int, dict] | None = None) -> None:
        resubmit: list[tuple[JobRecord, int]] = []
        now = time.time()
        own_plan = own_plan or {}
        with ctl.ledger.transaction():
            for rec, src in updates:
                fresh = ctl.ledger.get(rec.job_id)
                if fresh is None or fresh.state.is_terminal:
                    continue
                plan = own_plan.get(fresh.job_id) or plans.get(_owner(fresh), {})
                if src.get("lost"):
                    ctl.ledger.update(fresh.job_id, state=JobState.NODE_FAIL, reason="NodeFail",
                                      end_time=now)
                    continue
                again = self._apply_one(ctl, fresh, src, plan, now)
                if again is not None:
                    resubmit.append((fresh, again))
            for aid, recs, children in array_work:
                resubmit.extend(self._apply_array(ctl, aid, plans.get(aid, {}), children, now))
        self._fetch_steps(ctl)
        for rec, base in resubmit:
            self._resubmit(ctl, rec, base)

    def _spec(self, ctl, rec: JobRecord) -> JobSpec:
        """Specs by spec_id, cached for one refresh (a 50,000-task array shares one)."""
        cache = self.__dict__.setdefault("_specs", {})
        if rec.spec is not None:
            return rec.spec
        spec = cache.get(rec.spec_id)
        if spec is None:
            spec = ctl.load_spec(rec)
            cache[rec.spec_id] = spec
        rec.spec = spec
        return spec

    def _view(self, ctl, rec: JobRecord, src: dict, plan: dict):
        from .status import slurm_view
        spec = self._spec(ctl, rec)
        view = slurm_view(src, cancel_requested=rec.cancelled_by is not None,
                          requeue_retries=int(plan.get("base", 0) or 0),
                          time_limit=rec.time_limit,
                          kill_on_invalid_dep=bool(spec.kill_on_invalid_dep))
        if view.warning:
            self.warnings.append(f"job {rec.display_id}: {view.warning}")
        return view

    def _node_list(self, plan: dict) -> str:
        text = plan.get("_node_list")
        if text is None:
            from ...slurm.hostlist import compress
            nodes = plan.get("nodes") or []
            text = plan["_node_list"] = compress(list(nodes)) if nodes else ""
        return text

    @staticmethod
    def _write(ctl, rec: JobRecord, fields: dict, insert: bool) -> None:
        """Update a stored record, or store a new one (an array task being split off)."""
        if insert:
            for k, v in fields.items():
                setattr(rec, k, v)
            rec.state = _state(rec.state)
            ctl.ledger.insert(rec)  # bulk split: see _apply_array
            return
        changed = {k: v for k, v in fields.items() if getattr(rec, k) != v}
        if changed:
            ctl.ledger.update(rec.job_id, **changed)

    def _apply_one(self, ctl: "Controller", rec: JobRecord, src: dict, plan: dict,
                   now: float, *, view=None, insert: bool = False) -> int | None:
        """Bring one record in line with its Batch job (`insert`: a new array task record).
        Returns the restart base when slurmshim must resubmit it (requeue)."""
        view = view or self._view(ctl, rec, src, plan)
        state = _state(view.state)
        requeue_kv = None if insert else ctl.ledger.kv_get(f"requeue:{rec.job_id}")
        batch_done = view.batch_terminal or state.is_terminal or state == JobState.REQUEUED
        self._history(ctl, rec, view, plan)
        if requeue_kv is not None:
            # scontrol requeue: once the old Batch job has ended, back to PENDING
            if batch_done:
                self._requeued(ctl, rec, requeue_kv == "hold", now, view, plan)
            return None
        if state == JobState.REQUEUED:
            self._requeued(ctl, rec, False, now, view, plan)
            return None
        fields: dict[str, Any] = {}
        if state.is_terminal:
            if state == JobState.NODE_FAIL and self._slurm_requeue_ok(ctl, rec, src, plan):
                if insert:  # an array task that started and was reclaimed between two looks
                    rec.state = _state(rec.state)
                    ctl.ledger.insert(rec)
                old = dataclasses.replace(rec)
                old.state, old.reason = JobState.NODE_FAIL, "NodeFail"
                old.start_time = view.start_time or rec.start_time
                old.end_time = view.end_time or now
                old.restarts = view.restarts
                old.node_list = rec.node_list or self._node_list(plan)
                ctl.ledger.add_history(old)
                self._attempt_step(ctl, old, plan)
                ctl.ledger.update(rec.job_id, state=JobState.PENDING, reason="BeginTime",
                                  start_time=None, end_time=None, node_list="",
                                  restarts=view.restarts + 1, exit_code=0, exit_signal=0)
                return view.restarts + 1
            fields.update(state=state, reason=view.reason, exit_code=view.exit_code,
                          exit_signal=view.exit_signal,
                          end_time=view.end_time or now, restarts=view.restarts)
            if view.start_time:
                fields["start_time"] = view.start_time
                fields["node_list"] = rec.node_list or self._node_list(plan)
            if state == JobState.CANCELLED and rec.cancelled_by is None and \
                    not str(src.get("statusReason", "")).startswith("Cancelled by slurmshim"):
                fields["exit_signal"] = 15 if not view.exit_signal else view.exit_signal
            start = rec.start_time
            self._write(ctl, rec, fields, insert)
            if view.start_time or start:
                self._batch_step(ctl, rec, state, view, plan, now)
            return None
        # still active (or PENDING for good: a dependency that failed)
        if view.batch_terminal:
            ctl.ledger.kv_set(f"batch:dead:{rec.job_id}", "1")
        if state == JobState.CANCELLED:  # kill_on_invalid_dep
            fields.update(state=state, reason=view.reason, end_time=view.end_time or now)
        elif state in (JobState.RUNNING, JobState.CONFIGURING):
            # exit code 0 again: a requeued job kept its last run's until now (select_nodes)
            fields.update(state=state, reason="None", restarts=view.restarts, exit_code=0,
                          exit_signal=0)
            if view.start_time and view.start_time != rec.start_time:
                fields["start_time"] = view.start_time
            if not rec.node_list:
                fields["node_list"] = self._node_list(plan)
            if rec.eligible_time is None:
                fields["eligible_time"] = view.start_time or now
        else:
            fields.update(state=state, restarts=view.restarts)
            if rec.state in (JobState.RUNNING, JobState.CONFIGURING):
                fields.update(start_time=None, node_list="")
            if not (rec.reason == "Dependency" and view.reason == "None"):
                fields["reason"] = view.reason
        self._write(ctl, rec, fields, insert)
        return None

    def _slurm_requeue_ok(self, ctl, rec: JobRecord, src: dict, plan: dict) -> bool:
        """A Spot reclaim Batch did not retry (the retryStrategy was ignored, or used up fewer
        attempts than planned): requeue it ourselves if the job may be requeued.  Array tasks
        too (each is sent again on its own); not a task still pending in its meta record."""
        part = ctl.partition_of(rec)
        if part is None or rec.is_array_meta:
            return False
        spec = self._spec(ctl, rec)
        requeue = spec.requeue if spec.requeue is not None else part.spot
        if not requeue:
            return False
        attempts_used = max(1, len(src.get("attempts") or []))
        planned = int(plan.get("attempts", 1) or 1)
        return attempts_used < planned and rec.restarts + attempts_used <= part.retries

    def _history(self, ctl, rec: JobRecord, view, plan: dict) -> None:
        """Earlier Batch attempts of this job as requeue history (sacct -D), idempotent."""
        hist = getattr(view, "history", None)
        if not hist:
            return
        base = int(plan.get("base", 0) or 0)
        for i, h in enumerate(hist):
            old = dataclasses.replace(rec)
            old.state = _state(h.get("state", JobState.NODE_FAIL))
            old.reason = "NodeFail" if old.state == JobState.NODE_FAIL else "None"
            old.start_time = h.get("start_time")
            old.end_time = h.get("end_time")
            old.exit_code = int(h.get("exit_code") or 0)
            old.exit_signal = int(h.get("exit_signal") or 0)
            old.node_list = rec.node_list or self._node_list(plan)
            old.restarts = base + i
            old.array_pending = ()
            ctl.ledger.add_history(old)
            self._attempt_step(ctl, old, plan)

    def _batch_step(self, ctl, rec: JobRecord, state: JobState, view, plan: dict,
                    now: float) -> None:
        """The batch step of the attempt that ended the job (attempt = its restart count)."""
        end = JobRecord(job_id=rec.job_id, state=state, exit_code=view.exit_code,
                        exit_signal=view.exit_signal, start_time=view.start_time or rec.start_time,
                        end_time=view.end_time or now, restarts=view.restarts,
                        num_cpus=rec.num_cpus, num_nodes=rec.num_nodes, node_list=rec.node_list)
        self._attempt_step(ctl, end, plan)

    def _attempt_step(self, ctl, attempt: JobRecord, plan: dict) -> None:
        """The batch step of one attempt, from the attempt's record (its `restarts` is the
        attempt number), as Slurm's accounting ends it: a cancelled, timed-out or requeued
        attempt's batch step is CANCELLED by its signal (SIGTERM), a node failure's CANCELLED
        by SIGKILL (stepmgr ends the steps of a failed node with rc 9), otherwise the job's own
        end.  Nothing for an attempt that never started."""
        start = attempt.start_time
        if not start:
            return
        state = attempt.state
        if state in (JobState.CANCELLED, JobState.TIMEOUT, JobState.REQUEUED):
            b_state, b_exit, b_sig = JobState.CANCELLED, 0, attempt.exit_signal or 15
        elif state == JobState.NODE_FAIL:
            b_state, b_exit, b_sig = JobState.CANCELLED, 0, 9
        elif state == JobState.COMPLETED:
            b_state, b_exit, b_sig = JobState.COMPLETED, 0, 0
        else:
            b_state, b_exit, b_sig = state, attempt.exit_code, attempt.exit_signal
        nodes = plan.get("nodes") or []
        ctl.ledger.save_step(StepRecord(
            job_id=attempt.job_id, step_id="batch", name="batch", state=b_state,
            exit_code=b_exit, exit_signal=b_sig, start_time=start,
            end_time=attempt.end_time or time.time(),
            num_cpus=int(plan.get("vcpus") or
                         max(1, attempt.num_cpus // max(1, attempt.num_nodes))),
            num_tasks=1, num_nodes=1,
            node_list=nodes[0] if nodes else (attempt.node_list or ""),
            attempt=attempt.restarts))
        self._want_steps(ctl, attempt, plan)

    # -- srun steps (the runtime's step records, through S3) --------------------------------
    def _want_steps(self, ctl, attempt: JobRecord, plan: dict) -> None:
        """Queue the GET of an ended attempt's srun step records (runtime/stepsync.py put them
        at the plan's `steps` prefix + `<attempt>.json`), once per attempt: _apply reads them
        after its transaction (no network call while the ledger is locked)."""
        prefix = plan.get("steps")
        if not prefix or attempt.job_id is None:
            return
        key = f"batch:steps:{attempt.job_id}:{attempt.restarts}"
        if ctl.ledger.kv_get(key):
            return
        pending = self.__dict__.setdefault("_steps_pending", {})
        pending[(attempt.job_id, attempt.restarts)] = (
            f"{prefix}{attempt.restarts}.json", attempt.node_list or self._node_list(plan),
            attempt.end_time)

    def _fetch_steps(self, ctl: "Controller") -> None:
        """One S3 GetObject per queued attempt; its steps saved under that attempt (a missing
        object: the job ran no srun, or its runtime could not upload -- nothing to save)."""
        pending = self.__dict__.pop("_steps_pending", None)
        if not pending:
            return
        client = self.client(ctl)
        items = sorted(pending.items())

        def get(item) -> bytes | None:
            (job_id, _attempt), (url, _nodes, _ended) = item
            bucket, _, key = url[len("s3://"):].partition("/")
            try:
                return client.get_object_or_none(bucket, key)
            except SlurmError as exc:
                self.warnings.append(f"job {job_id}: cannot read its srun steps from "
                                     f"s3://{bucket}/{key}: {getattr(exc, 'detail', '') or exc}")
                return None
        if len(items) > 1:   # many jobs ended at once: GETs side by side (botocore's pool)
            from concurrent.futures import ThreadPoolExecutor
            with ThreadPoolExecutor(max_workers=min(8, len(items))) as pool:
                bodies = list(pool.map(get, items))
        else:
            bodies = [get(i) for i in items]
        got: dict[tuple[int, int], list[StepRecord]] = {}
        for ((job_id, attempt), (_url, nodes, ended)), body in zip(items, bodies):
            got[(job_id, attempt)] = steps_from_upload(body, job_id, attempt, nodes, ended)
        with ctl.ledger.transaction():
            for (job_id, attempt), steps in got.items():
                for st in steps:
                    ctl.ledger.save_step(st)
                ctl.ledger.kv_set(f"batch:steps:{job_id}:{attempt}", "1")

    def _requeued(self, ctl, rec: JobRecord, hold: bool, now: float, view=None,
                  plan: dict | None = None) -> None:
        """scontrol requeue, after the old Batch job has ended: PENDING again, resubmitted by
        the next kick/refresh (the controller already counted the restart).  The attempt that
        ran is kept as a REQUEUED record with its batch step (sacct -D)."""
        from ...scheduling import requeue_attempt, requeued_fields
        old = requeue_attempt(rec, now)
        if view is not None:
            old.start_time = rec.start_time or view.start_time
            old.end_time = view.end_time or now
        ctl.ledger.add_history(old)
        # its batch step: CANCELLED by the signal that stopped it (SIGTERM unless Batch said)
        step = dataclasses.replace(old)
        step.exit_signal = (view.exit_signal if view is not None else 0) or 15
        self._attempt_step(ctl, step, plan or {})
        _kv_del(ctl, f"requeue:{rec.job_id}")
        ctl.ledger.update(rec.job_id, **requeued_fields(hold, now))
        getattr(self, "_requeued_now", []).append(rec.job_id)

    def _resubmit(self, ctl, rec: JobRecord, base: int) -> None:
        fresh = ctl.ledger.get(rec.job_id)
        part = ctl.partition_of(rec)
        if fresh is None or part is None:
            return
        spec = ctl.load_spec(fresh)
        try:
            if fresh.array_job_id is not None and spec.array is not None:
                # one task of an array: sent again on its own, as a one-task job at its
                # position (the runtime takes position = the descriptor's array offset)
                position = list(spec.array.indices).index(fresh.array_task_id)
                plan = self.plan(ctl, fresh, spec, part, ignore_dependency=True,
                                 positions=[position])
                self._send(ctl, fresh, plan, restarts_base=base, task=True)
                return
            plan = self.plan(ctl, fresh, spec, part, ignore_dependency=True)
            self._send(ctl, fresh, plan, restarts_base=base)
        except (SlurmError, ValueError) as exc:
            ctl.ledger.update(rec.job_id, state=JobState.NODE_FAIL, reason="NodeFail",
                              end_time=time.time())
            sys.stderr.write(f"slurmshim: job {rec.display_id} could not be requeued on AWS "
                             f"Batch: {getattr(exc, 'message', exc)}\n")

    def _apply_array(self, ctl: "Controller", aid: int, plan: dict, children,
                     now: float) -> list[tuple[JobRecord, int]]:
        """Children that started or ended: split off the meta record (in bulk: one update of
        the meta record's pending indices however many tasks start), existing tasks updated.
        The task whose raw id is the array id becomes the meta record itself, so it is split
        only when it is the last pending index (ledger.split_array_task's rule).  Returns the
        tasks to send again (Spot reclaims Batch did not retry: (record, restart base))."""
        from ...runtime.descriptor import raw_id_for
        resubmit: list[tuple[JobRecord, int]] = []
        meta = ctl.ledger.get(aid)
        if meta is None:
            return resubmit
        spec = self._spec(ctl, meta)
        if spec.array is None:
            return resubmit
        indices = list(spec.array.indices)
        tasks: dict[int, JobRecord] = {r.array_task_id: r for r in ctl.ledger.array_records(aid)
                                       if r.array_task_id is not None}
        pending = set(meta.array_pending) if meta.is_array_meta else set()
        before = len(pending)
        parent_reason: str | None = None
        last = None
        for _k, position, src, _parent in sorted(children, key=lambda c: c[1]):
            if position >= len(indices):
                continue
            idx = indices[position]
            child_id = src.get("jobId", "")
            task = tasks.get(idx)
            if task is not None:
                if task.state.is_active and batch_ids_of(task)[:1] in ([child_id], []):
                    # (a task requeued on its own has another Batch job: not this child)
                    task.spec = spec
                    again = self._apply_one(ctl, task, src, plan, now)
                    if again is not None:
                        resubmit.append((task, again))
                continue
            if idx not in pending:
                continue  # cancelled while pending: Slurm forgets it
            new = dataclasses.replace(meta)
            new.array_task_id, new.array_pending, new.spec = idx, (), spec
            new.backend_id = json.dumps([child_id])
            new.eligible_time = meta.eligible_time or now
            view = self._view(ctl, new, src, plan)
            if _state(view.state) == JobState.PENDING:
                parent_reason = view.reason  # e.g. DependencyNeverSatisfied
                continue
            raw = raw_id_for(aid, indices, position)
            if raw == aid:
                last = (idx, new, src, view)
                continue
            new.job_id = raw
            pending.discard(idx)
            again = self._apply_one(ctl, new, src, plan, now, view=view, insert=True)
            if again is not None:
                resubmit.append((new, again))
        if len(pending) != before:
            ctl.ledger.update(aid, array_pending=tuple(sorted(pending)))
            meta.array_pending = tuple(sorted(pending))
        if last is not None and pending == {last[0]}:
            idx, new, src, view = last
            task = ctl.ledger.split_array_task(meta, idx, aid)   # the meta becomes the task
            ctl.ledger.update(aid, backend_id=new.backend_id,
                              eligible_time=new.eligible_time)
            task.backend_id, task.spec = new.backend_id, spec
            again = self._apply_one(ctl, task, src, plan, now, view=view)
            if again is not None:
                resubmit.append((task, again))
            pending = set()
        meta = ctl.ledger.get(aid)
        if meta is not None and meta.is_array_meta and meta.state == JobState.PENDING:
            reason = parent_reason or self._meta_reason(ctl, aid, plan)
            if reason and meta.reason != reason:
                ctl.ledger.update(aid, reason=reason)
        return resubmit

    def _meta_reason(self, ctl, aid: int, plan: dict) -> str | None:
        summaries = [_kv_json(ctl, f"batch:summary:{aid}:{k}") or {}
                     for k in range(len(plan.get("ids") or []))]
        total = {st: sum(s.get(st, 0) for s in summaries) for st in
                 ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING")}
        spec_meta = ctl.ledger.get(aid)
        if spec_meta is None:
            return None
        spec = ctl.load_spec(spec_meta)
        throttled = bool(spec.array and spec.array.throttle)
        if total["RUNNABLE"]:
            return "Resources"
        if throttled and (total["RUNNING"] or total["STARTING"]):
            return "JobArrayTaskLimit"
        if spec.dependency is not None and not (total["RUNNING"] or total["STARTING"]):
            return "Dependency"
        return None

    # ================================================================ output
    def waiter(self, ctl: "Controller", job_id: int) -> "JobWaiter":
        """How Controller.wait (sbatch --wait) polls a job of this backend."""
        return JobWaiter(self, ctl, job_id)

    def follower(self, ctl: "Controller", rec: JobRecord, write, *, label: bool = False,
                 poll: float | None = None) -> "JobFollower":
        """A JobFollower of `rec` writing its output with `write(text)` (srun drives one)."""
        return JobFollower(self, ctl, rec, write, label=label, poll=poll)

    def follow_output(self, ctl: "Controller", rec: JobRecord, stream, *, label: bool = False,
                      poll: float | None = None, timeout: float | None = None,
                      should_stop=None, sleep=None) -> int:
        """sattach / srun on a Batch job: stream its CloudWatch log to `stream` until the Slurm
        job ends -- through held time (the refreshes submit it), Spot reclaims slurmshim
        requeues (the next Batch job is followed on), Batch's own retries (the next attempt's
        stream).  Returns 0, or 1 when the job never got to Batch."""
        def write(text: str) -> None:
            stream.write(text)
            stream.flush()

        fol = self.follower(ctl, rec, write, label=label, poll=poll)
        fol.run(timeout=timeout, should_stop=should_stop, sleep=sleep)
        return 0 if fol.followed else 1

    def fetch_output(self, ctl: "Controller", rec: JobRecord, *, force: bool = False,
                     dest: str | None = None) -> list[str]:
        """`slurmshim output ID`: write a finished job's CloudWatch log to its --output path."""
        from .logs import fetch_output
        return fetch_output(ctl, rec, force=force, dest=dest)

    # ================================================================ scontrol update
    #: fields slurmshim keeps in the ledger only, whatever Batch is doing with the job: Slurm
    #: lets a job's owner change them on running jobs too, and Batch never needs them (the
    #: Batch job's name and `slurmshim:name` tag keep the submitted name; Nice and Priority
    #: order nothing on Batch, whose queue is FIFO or fair-share)
    LEDGER_ONLY_UPDATES = frozenset({"name", "comment", "nice", "priority"})

    def check_update(self, ctl: "Controller", recs: list[JobRecord],
                     fields: dict[str, Any]) -> list[JobRecord]:
        """scontrol update job on Batch records: which records to update, or the Slurm error
        (SlurmError(<strerror>)) for an update that cannot be honoured -- never a silent
        no-op.  A job slurmshim still holds (PENDING, not on Batch) takes any update, as a
        local pending job does: it is submitted from the ledger (time limit, partition, name,
        array throttle) when released.  Once on Batch, which has no UpdateJob: the
        LEDGER_ONLY_UPDATES are kept in the ledger; a time limit, a partition or an array
        throttle are refused -- "Job is no longer pending execution" for a partition once
        the job started (Slurm's own refusal), "Requested operation not supported on this
        system" otherwise (the way to change a job Batch has not started yet: scontrol hold,
        update, release).  A value equal to the current one is accepted (Slurm too).
        Finished records: "Job has already finished" (other records of an array still go)."""
        fresh = [r for r in ctl.ledger.get_many(r.job_id for r in recs)]
        active = [r for r in fresh if r.state.is_active]
        if not active:
            if fresh and set(fields) == {"array_throttle"}:
                return fresh        # Slurm: a finished array's ArrayTaskThrottle may change
            raise SlurmError("Job has already finished")
        on_batch = [r for r in active if r.backend_id or r.state != JobState.PENDING]
        for key, value in fields.items():
            if key in self.LEDGER_ONLY_UPDATES or not on_batch:
                continue
            if all(getattr(r, key, None) == value for r in on_batch):
                continue            # unchanged: nothing to do on Batch
            if key == "partition" and any(r.state != JobState.PENDING for r in on_batch):
                raise SlurmError("Job is no longer pending execution")   # ESLURM_JOB_NOT_PENDING
            # ESLURM_NOT_SUPPORTED
            raise SlurmError("Requested operation not supported on this system")
        return active

    # ================================================================ cancel
    def cancel(self, ctl: "Controller", recs: list[JobRecord], signum: int, *,
               batch_only: bool = False, full: bool = False, requeue: bool = False) -> None:
        """TerminateJob for each record's Batch job(s).  Signals other than KILL/TERM cannot be
        delivered to a Batch container: refused (after the others were handled)."""
        from .status import cancel_reason, requeue_reason
        client = self.client(ctl)
        uid = os.getuid()
        refused: list[str] = []
        for rec in recs:
            ids = batch_ids_of(rec)
            if not ids:
                continue
            if not requeue and signum not in (_signal.SIGKILL, _signal.SIGTERM):
                refused.append(rec.display_id)
                continue
            who = rec.cancelled_by if rec.cancelled_by is not None else uid
            reason = requeue_reason(who) if requeue else cancel_reason(who)
            fresh = ctl.ledger.get(rec.job_id) or rec
            targets = ids
            if fresh.is_array_meta and fresh.state.is_active:
                targets = self._vanished_children(ctl, fresh)  # scancel N_i of pending tasks
            for bid in targets:
                client.terminate_job(bid, reason)
        if refused:
            try:
                name = _signal.Signals(signum).name[3:]
            except ValueError:
                name = str(signum)
            raise SlurmError("\n".join(
                f"Kill job error on job id {j}: Requested operation not supported on this "
                f"system (AWS Batch cannot deliver SIG{name} to a container; only TERM/KILL, "
                f"by TerminateJob)" for j in refused))

    def _vanished_children(self, ctl, meta: JobRecord) -> list[str]:
        """Children of indices cancelled one by one while pending (no longer pending, never
        split off): terminate just those."""
        spec = ctl.load_spec(meta)
        plan = self.plan_of(ctl, meta)
        if spec.array is None or not plan:
            return []
        split = {r.array_task_id for r in ctl.ledger.array_records(meta.job_id)
                 if r.array_task_id is not None}
        pending = set(meta.array_pending)
        done = set(_kv_json(ctl, f"batch:gone:{meta.job_id}") or [])
        ids = plan.get("ids") or []
        offsets = plan.get("offsets") or [0]
        sizes = plan.get("sizes") or [1] * len(ids)
        out: list[str] = []
        for pos, idx in enumerate(spec.array.indices):
            if idx in pending or idx in split or idx in done:
                continue
            for k, pid in enumerate(ids):
                off, size = offsets[k], sizes[k]
                if off <= pos < off + size:
                    out.append(pid if size <= 1 else f"{pid}:{pos - off}")
            done.add(idx)
        ctl.ledger.kv_set(f"batch:gone:{meta.job_id}", json.dumps(sorted(done)))
        return out

    # ================================================================ sinfo
    def node_statuses(self, ctl: "Controller", part: Partition) -> list[NodeStatus]:
        """Capacity from the queue's compute environments: maxvCpus / cpus_per_node nodes;
        the first ceil(busy vCPUs / cpus_per_node) are up (allocated/mixed by the ledger's
        running jobs), the rest idle and powered down (`idle~`: Batch scales them up on
        demand).  A disabled queue or compute environment makes its nodes down."""
        info = self._capacity(ctl, part)
        cpn = max(1, part.cpus_per_node)
        count = max(1, info["max_vcpus"] // cpn) if info["max_vcpus"] else part.nodes
        names = _node_names(part, count)
        running = [r for r in ctl.ledger.active("batch") if r.partition == part.name
                   and r.state in (JobState.RUNNING, JobState.CONFIGURING, JobState.COMPLETING)]
        used = sum(max(1, r.num_cpus // max(1, r.num_nodes)) * max(1, r.num_nodes)
                   for r in running)
        busy = max(used, info["desired_vcpus"])
        up = min(count, -(-busy // cpn)) if busy else 0
        gres = f"gpu:{part.gpus_per_node}" if part.gpus_per_node else "(null)"
        features = ",".join(info["features"]) or "(null)"
        out: list[NodeStatus] = []
        left = used
        for i, name in enumerate(names):
            ns = NodeStatus(name=name, partitions=(part.name,), cpus_total=cpn,
                            mem_total=part.mem_per_node, gres=gres, features=features,
                            arch=info["arch"], hostname=name, addr=name)
            if info["down"]:
                ns.state, ns.reason = "down", info["down"]
            elif i < up:
                alloc = min(cpn, left)
                left -= alloc
                ns.cpus_alloc = alloc
                ns.state = "allocated" if alloc >= cpn else ("mixed" if alloc else "idle")
                ns.mem_alloc = part.mem_per_node * alloc // cpn
            else:
                ns.state, ns.flags = "idle", "~"
            out.append(ns)
        return out

    def _capacity(self, ctl: "Controller", part: Partition) -> dict:
        key = f"batch:nodes:{part.name}"
        cached = _kv_json(ctl, key)
        if cached and time.time() - cached.get("at", 0) < NODES_TTL:
            return cached
        client = self.client(ctl)
        queues = [q for q in (part.job_queue, part.mnp_queue) if q]
        qs = client.describe_job_queues(queues)
        if part.job_queue and not any(q.get("jobQueueName") == part.job_queue for q in qs):
            raise SlurmError(f"AWS Batch job queue {part.job_queue} of partition {part.name} "
                             "does not exist")
        ce_names: list[str] = []
        down = ""
        for q in qs:
            if q.get("jobQueueName") != part.job_queue:
                continue
            if q.get("state") != "ENABLED" or q.get("status") not in (None, "VALID",
                                                                        "UPDATING", "CREATING"):
                down = f"queue {q['jobQueueName']} {q.get('state')}/{q.get('status')}"
            for o in sorted(q.get("computeEnvironmentOrder") or [], key=lambda o: o["order"]):
                ce_names.append(o["computeEnvironment"].rsplit("/", 1)[-1])
        ces = client.describe_compute_environments(ce_names) if ce_names else []
        max_v = desired = 0
        types: list[str] = []
        kinds: list[str] = []
        enabled = 0
        for ce in ces:
            res = ce.get("computeResources") or {}
            if ce.get("state") == "ENABLED":
                enabled += 1
            max_v += int(res.get("maxvCpus") or 0)
            desired += int(res.get("desiredvCpus") or 0)
            for t in res.get("instanceTypes") or []:
                if t not in types:
                    types.append(t)
            kind = {"SPOT": "spot", "EC2": "ondemand", "FARGATE": "fargate",
                    "FARGATE_SPOT": "fargate_spot"}.get(res.get("type", ""), "")
            if kind and kind not in kinds:
                kinds.append(kind)
        if ces and not enabled and not down:
            down = "compute environments DISABLED"
        if part.efa:
            kinds.append("efa")
        arch = "aarch64" if any(t.split(".")[0].endswith("g") or "arm64" in t for t in types) \
            else "x86_64"
        info = {"at": time.time(), "max_vcpus": max_v, "desired_vcpus": desired,
                "features": types + kinds, "down": down, "arch": arch}
        ctl.ledger.kv_set(key, json.dumps(info))
        return info


class JobFollower:
    """Follows one Slurm job on AWS Batch until it ends, streaming its CloudWatch log: what
    `srun` (outside a job) and `sattach` do.

    API calls, the thing to keep small: one DescribeJobs of the job per poll, one GetLogEvents
    per stream once the job has one (one page per poll; everything at the end), and nothing
    else -- the ledger is brought up to date from that same detail (BatchBackend.refresh with
    `known`), only when the Batch status changed.  While the job has no Batch job (held,
    waiting for a dependency slurmshim evaluates, being requeued) the polls are refreshes of
    the ledger, which cost nothing unless some job is there to look at.  The polls back off
    (client.PollBackoff, client.poll_delays) from 0.5 s while nothing happens, to 8x
    SLURMSHIM_BATCH_POLL (at most 30 s) before the job runs and 3x (at most 10 s) while it
    runs, and start over on any change or output.

    It ends when the Slurm job ends, not when a Batch job does: a Spot reclaim slurmshim
    requeues is followed on into the new Batch job; a Batch retry is a new attempt whose
    stream is read after the old one's."""

    def __init__(self, backend: "BatchBackend", ctl: "Controller", rec: JobRecord, write, *,
                 label: bool = False, poll: float | None = None) -> None:
        from .client import PollBackoff, poll_delays
        self.be, self.ctl, self.job_id = backend, ctl, rec.job_id
        self.rec = rec
        self.write, self.label = write, label
        base = poll if poll is not None else max(0.25, backend.poll_interval)
        first, self.waiting, self.running = poll_delays(base)
        self.backoff = PollBackoff(first, self.waiting)
        self.bid: str | None = None
        self.reader = None
        self.status: str | None = None
        self.bid_done = False       # Batch says the current Batch job has ended
        self.followed = False       # some Batch job was followed
        self.done = False

    def poke(self) -> None:
        """Poll again soon (after a Ctrl-C, a cancel)."""
        self.backoff.reset(self.waiting)

    def _ledger_refresh(self, recs: list[JobRecord] | None, known: dict | None = None) -> None:
        before = (self.rec.state, self.rec.reason, self.rec.backend_id)
        self.be.refresh(self.ctl, recs, force=True, known=known)
        self.rec = self.ctl.ledger.get(self.job_id) or self.rec
        if (self.rec.state, self.rec.reason, self.rec.backend_id) != before:
            self.backoff.reset(self.waiting)

    def _switch(self, bid: str) -> None:
        from .logs import StreamReader
        if bid == self.bid:
            return
        if self.reader is not None and not self.bid_done:
            self.reader.drain()   # left behind (requeued by scontrol while running, ...)
        self.bid, self.status, self.bid_done = bid, None, False
        self.reader = StreamReader(self.be.client(self.ctl), self.write,
                                   aws=self.ctl.config.aws, label=self.label)
        self.followed = True
        self.backoff.reset(self.waiting)

    def poll(self) -> bool:
        """One look; True when the Slurm job has ended (and its output was read)."""
        from .client import TERMINAL_STATUSES
        self.rec = self.ctl.ledger.get(self.job_id) or self.rec
        ids = [] if self.rec.is_array_meta else batch_ids_of(self.rec)
        if self.rec.state.is_terminal:
            # ended (maybe seen by another command first): read what its log still has
            if ids and not (self.bid_done and ids[0] == self.bid):
                self._switch(ids[0])
                got = self.be.client(self.ctl).describe_jobs([ids[0]])
                if got:
                    self.reader.feed(got[0], final=True)
                else:
                    self.reader.drain()
                self.bid_done = True
            self.done = True
            return True
        if not ids or (self.bid_done and ids[0] == self.bid):
            # nothing on Batch to watch now: held, a dependency, a requeue on its way -- the
            # job's record (a refresh submits it once it may go) and, while slurmshim holds
            # it, the Batch jobs it waits for (one DescribeJobs), nothing else
            recs = [self.rec]
            if self.rec.state == JobState.PENDING and not self.rec.backend_id:
                from .releaser import dependency_targets
                recs += dependency_targets(self.ctl, [self.rec])
            self._ledger_refresh(recs)
            return False
        bid = ids[0]
        self._switch(bid)
        got = self.be.client(self.ctl).describe_jobs([bid])
        detail = got[0] if got else None
        if detail is None:
            # not visible yet (just submitted), or forgotten: the ledger decides (lost after
            # a while: NODE_FAIL)
            self._ledger_refresh([self.rec])
            return False
        status = str(detail.get("status") or "")
        terminal = status in TERMINAL_STATUSES
        output = self.reader.feed(detail, final=terminal)  # final: to the end of each stream
        if terminal:
            self.bid_done = True
        if status != self.status or terminal:
            self._ledger_refresh([self.rec], known={bid: detail})
            self.backoff.reset(self.running if status == "RUNNING" else self.waiting)
        elif output:
            self.backoff.reset(self.running)
        self.status = status
        if terminal and self.rec.state.is_terminal:
            self.done = True
        return self.done

    def run(self, *, timeout: float | None = None, should_stop=None, sleep=None) -> JobRecord:
        """Poll until the job ends (or `timeout`, or `should_stop()`), tenacity doing the
        waiting with the backoff.  `sleep`: tenacity's sleep (srun's wakes up on Ctrl-C).
        Returns the job's record as the ledger has it at the end."""
        from tenacity import RetryError, Retrying, retry_if_result, stop_after_delay, stop_never

        def once() -> bool:
            if should_stop is not None and should_stop():
                return True
            return self.poll()

        kw: dict[str, Any] = {}
        if sleep is not None:
            kw["sleep"] = sleep
        r = Retrying(stop=stop_after_delay(timeout) if timeout else stop_never,
                     wait=self.backoff, retry=retry_if_result(lambda done: not done),
                     reraise=False, **kw)
        try:
            r(once)
        except RetryError:
            pass
        return self.rec


class JobWaiter:
    """`sbatch --wait` on AWS Batch (Controller.wait asks the backend for one): when to look
    next, and one look.

    A look is one forced refresh of the job's own records -- one DescribeJobs of its Batch
    job(s) -- and, while slurmshim still holds the job (a dependency Batch cannot express, a
    begin time), of the Batch jobs it waits for, in the same call, so the refresh can submit
    it as soon as they allow.  Nothing else in the ledger is looked at (squeue does that).
    The delays come from client.poll_delays: FIRST_POLL (0.5 s) after the submission or any
    change, growing by half while nothing changes, to the running maximum (3x the base poll:
    6 s by default, at most 10 s)."""

    def __init__(self, backend: "BatchBackend", ctl: "Controller", job_id: int) -> None:
        from .client import PollBackoff, poll_delays
        self.be, self.ctl, self.job_id = backend, ctl, job_id
        first, _waiting, longest = poll_delays(max(0.25, backend.poll_interval))
        self.backoff = PollBackoff(first, longest)
        self.polls = 0

    def records(self) -> list[JobRecord]:
        ctl = self.ctl
        return ctl.ledger.array_records(self.job_id) or \
            [r for r in [ctl.ledger.get(self.job_id)] if r]

    @staticmethod
    def _signature(recs: list[JobRecord]) -> tuple:
        return tuple((r.job_id, r.state, r.reason, r.backend_id, r.array_pending)
                     for r in recs)

    def delay(self) -> float:
        """Seconds until the next look (backing off while looks find nothing new)."""
        return self.backoff()

    def poll(self) -> None:
        """One look; the next delay starts over when the job changed."""
        from .releaser import dependency_targets
        self.polls += 1
        recs = self.records()
        before = self._signature(recs)
        active = [r for r in recs if r.state.is_active]
        look = {r.job_id: r for r in active}
        held = [r for r in active if r.state == JobState.PENDING and not r.backend_id]
        if held:
            for t in dependency_targets(self.ctl, held):
                look.setdefault(t.job_id, t)
        if look:
            self.be.refresh(self.ctl, sorted(look.values(), key=lambda r: r.job_id),
                            force=True)
        if self._signature(self.records()) != before:
            self.backoff.reset()


def steps_from_upload(body: bytes | None, job_id: int, attempt: int, node_list: str = "",
                      ended: float | None = None) -> list[StepRecord]:
    """The srun steps of one attempt from what runtime/stepsync.py uploaded (a JSON list of
    the step directory's records; None or anything unreadable: none).  A step still RUNNING
    in it outlived its runtime (the container was killed: a Spot reclaim, Batch's timeout)
    and ended CANCELLED by SIGKILL when the attempt did (`ended`), as Slurm's stepmgr ends the
    steps of a lost node.  Pure."""
    if not body:
        return []
    try:
        data = json.loads(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return []
    out: list[StepRecord] = []
    for step in data if isinstance(data, list) else []:
        if not isinstance(step, dict):
            continue
        sid = str(step.get("step_id"))
        if sid in ("batch", "None", "") or not (sid.isdigit() or sid == "extern"):
            continue
        try:
            state = JobState(str(step.get("state") or "COMPLETED").split()[0])
        except ValueError:
            state = JobState.FAILED
        if not state.is_terminal:
            state = JobState.CANCELLED
            step = dict(step, exit_code=0, signal=9,
                        end_time=step.get("end_time") or ended)
        try:
            out.append(StepRecord(
                job_id=job_id, step_id=sid, name=str(step.get("name") or ""), state=state,
                exit_code=int(step.get("exit_code") or 0),
                exit_signal=int(step.get("signal") or 0),
                start_time=float(step["start_time"]) if step.get("start_time") else None,
                end_time=float(step["end_time"]) if step.get("end_time") else None,
                num_cpus=int(step.get("ncpus") or 1), num_tasks=int(step.get("ntasks") or 1),
                num_nodes=int(step.get("nnodes") or 1),
                node_list=str(step.get("node_list") or node_list), attempt=attempt))
        except (TypeError, ValueError):
            continue
    return out


def _node_names(part: Partition, count: int) -> list[str]:
    names = list(part.node_names[:count])
    if len(names) >= count:
        return names
    import re
    first = part.node_names[0] if part.node_names else f"{part.name}-dy-1"
    m = re.match(r"^(.*?)(\d+)$", first)
    prefix, width = (m.group(1), len(m.group(2))) if m else (first, 1)
    width = max(width, len(str(count)))
    return [f"{prefix}{i:0{width}d}" for i in range(1, count + 1)]


__all__ = ["BatchBackend", "JobFollower", "JobWaiter", "runtime_bundle", "batch_ids_of",
           "steps_from_upload"]
