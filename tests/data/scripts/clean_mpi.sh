#!/bin/bash
#SBATCH --job-name=mpi-solver
#SBATCH --partition=local
#SBATCH --nodes=1
#SBATCH --ntasks-per-node=2
#SBATCH --cpus-per-task=1
#SBATCH --mem-per-cpu=500M
#SBATCH --time=0-00:30:00
#SBATCH --output=solver-%j.out
#SBATCH --error=solver-%j.err
#SBATCH --account=physics
#SBATCH --comment="project=fusion"
#SBATCH --requeue
#SBATCH --signal=B:USR1@60
#SBATCH --open-mode=append
#SBATCH --export=ALL

module load openmpi 2>/dev/null || true
srun ./solver --input case.dat
