#!/bin/bash
#SBATCH --job-name=array-demo
#SBATCH --array=1-4%2
#SBATCH --output=array-%A_%a.out
echo "task $SLURM_ARRAY_TASK_ID of array $SLURM_ARRAY_JOB_ID (count $SLURM_ARRAY_TASK_COUNT)"
