#!/bin/bash
#PBS -N legacy
#PBS -l walltime=01:00:00
#PBS -l nodes=1:ppn=2
#SBATCH --job-name=legacy
#SBATCH --time=01:00:00
cd $PBS_O_WORKDIR 2>/dev/null || true
./legacy_app
