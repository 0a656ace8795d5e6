"""The plugin contract (pluggy, project name "slurmshim").  Plugins implement any subset with
`@slurmshim.hookimpl`; they are discovered from the `slurmshim` entry-point group and from `*.py`
files in the config's `plugins_dir`, and loaded only when a hook is about to fire."""
from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("slurmshim")
hookimpl = pluggy.HookimplMarker("slurmshim")


class SlurmshimSpec:
    @hookspec
    def job_submit(self, spec, partitions, config):
        """Inspect, rewrite (mutate `spec`) or reject a job before it is validated, like Slurm's
        job_submit/cli_filter plugins.  Reject by raising slurmshim.errors.SlurmError(reason), or
        by returning a string: sbatch prints `sbatch: error: <reason>` and exits 1."""

    @hookspec(firstresult=True)
    def map_partition(self, spec, partitions, config):
        """Return a partition name to route the job to, or None to keep the user's choice."""

    @hookspec
    def batch_job_definition(self, request, spec, partition):
        """AWS only: mutate the RegisterJobDefinition request dict before it is sent."""

    @hookspec
    def batch_submit_job(self, request, spec, partition):
        """AWS only: mutate the SubmitJob request dict before it is sent."""

    @hookspec
    def job_submitted(self, job_id, spec, record):
        """Audit after a successful submission.  Errors here are logged, never fatal."""
