#!/bin/bash
#SBATCH --job-name=srun-demo
#SBATCH --ntasks=4
#SBATCH --output=srun-%j.out
srun -l -n 4 bash -c 'echo "rank $SLURM_PROCID of $SLURM_NTASKS"'
