#!/bin/bash
#SBATCH --job-name=het
#SBATCH --ntasks=1 --cpus-per-task=1
#SBATCH hetjob
#SBATCH --ntasks=2 --mem=1G
srun --het-group=0 ./server : --het-group=1 ./client
