#!/bin/bash
#SBATCH --job-name=typo
#SBATCH --tiem=10
#SBATCH --frobnicate
./run
