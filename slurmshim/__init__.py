"""slurmshim: Slurm's commands over AWS Batch, with a local backend."""

__version__ = "0.1.0"
SLURM_VERSION = "25.11.7"  # the Slurm release whose output and behaviour we emulate
