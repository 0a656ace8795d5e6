#!/bin/sh
#SBATCH --array=0-9%3
#SBATCH -o out-%A_%a.txt
#SBATCH -t 10
echo $SLURM_ARRAY_TASK_ID
