#!/bin/bash
#SBATCH --job-name=hello
#SBATCH --time=00:05:00
#SBATCH --output=hello-%j.out
echo "Hello from job $SLURM_JOB_ID on $SLURMD_NODENAME (partition $SLURM_JOB_PARTITION)"
