"""The AWS Batch backend: Slurm partitions backed by Batch job queues.

    translate.py  JobSpec + Partition -> RegisterJobDefinition / SubmitJob requests (pure)
    status.py     Batch job detail -> Slurm state, reason, exit code (pure)
    client.py     boto3 wrapper: lazy clients, pagination, 100-id chunks, error mapping, counts
    backend.py    BatchBackend: the Backend protocol over those
    logs.py       CloudWatch Logs: follow a job's output (sattach, srun, sbatch --wait), fetch it

This is the only package that imports boto3, and only when a client is first needed: importing
it (or BatchBackend) costs nothing.
"""
from __future__ import annotations

from .backend import BatchBackend

__all__ = ["BatchBackend"]
