#!/bin/bash
#SBATCH --job-name=srun-demo
#SBATCH --ntasks=4
#SBATCH --overcommit
#SBATCH --output=srun-%j.out
# --overcommit lets four tasks share fewer CPUs (this example must run on a 2-core laptop too).
srun -l -n 4 bash -c 'echo "rank $SLURM_PROCID of $SLURM_NTASKS"'
