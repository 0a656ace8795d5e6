#!/bin/bash
#SBATCH --job-name=notify
#SBATCH --mail-type=END,FAIL
#SBATCH --mail-user=someone@example.org
#SBATCH --time=5
./run
