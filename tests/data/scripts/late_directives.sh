#!/bin/bash
#SBATCH --job-name=late
  #SBATCH --time=5
module load gcc
#SBATCH --mem=4G
./run
