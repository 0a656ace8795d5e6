"""The plugin contract (pluggy, project name "slurmshim").

Plugins implement any subset of these hooks with `@slurmshim.hookspecs.hookimpl` (or their own
`pluggy.HookimplMarker("slurmshim")`), and may take any subset of each hook's arguments.  They are
discovered from the `slurmshim` entry-point group and from `*.py` files in the config's
`plugins_dir`, and loaded only when a hook is about to fire (`slurmshim.plugins`).
`SLURMSHIM_PLUGINS=a,b` limits which load; `SLURMSHIM_PLUGINS=` (empty) loads none.

When the hooks fire, in the life of one `sbatch`:

    job_submit, map_partition      Controller.prepare, before the spec is validated
    batch_job_definition           the Batch backend, before RegisterJobDefinition
    batch_submit_job               the Batch backend, before each SubmitJob
    job_submitted                  after the job is in the ledger and handed to its backend

`config` is the site's :class:`slurmshim.config.Config` (`config.path` is the file it came from:
a plugin may keep its own settings file beside it).
"""
from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("slurmshim")
hookimpl = pluggy.HookimplMarker("slurmshim")


class SlurmshimSpec:
    @hookspec
    def job_submit(self, spec, partitions, config):
        """Inspect, rewrite (mutate `spec`, a :class:`slurmshim.model.JobSpec`) or reject a job
        before it is validated, like Slurm's job_submit/cli_filter plugins.  `partitions` maps
        names to :class:`slurmshim.model.Partition`.  Reject by raising
        `slurmshim.errors.SlurmError(reason)` or by returning the reason as a string: sbatch
        prints `sbatch: error: <reason>`, exits 1 and submits nothing.  Return None to accept."""

    @hookspec(firstresult=True)
    def map_partition(self, spec, partitions, config):
        """Return the name of a partition to route the job to (it replaces `spec.partition`), or
        None to keep the user's choice.  The first plugin returning a name wins."""

    @hookspec
    def batch_job_definition(self, request, spec, partition, config):
        """AWS Batch only: mutate the RegisterJobDefinition `request` dict in place before it is
        sent (volumes, mountPoints, tags, linuxParameters, ...).  Job definitions are shared by
        every job with the same content, so put only per-site or per-partition settings here;
        per-job values belong in `batch_submit_job`."""

    @hookspec
    def batch_submit_job(self, request, spec, partition, config):
        """AWS Batch only: mutate the SubmitJob `request` dict in place before it is sent (tags,
        propagateTags, shareIdentifier, schedulingPriorityOverride, ...).  Fires once per
        SubmitJob: a large or throttled array is several."""

    @hookspec
    def job_submitted(self, job_id, spec, record, config):
        """Audit after a successful submission (`record` is the ledger's
        :class:`slurmshim.model.JobRecord`).  Errors here are logged as `sbatch: warning: ...`,
        never fatal: the job is already submitted."""
