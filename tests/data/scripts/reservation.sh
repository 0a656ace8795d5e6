#!/bin/bash
#SBATCH --job-name=maint-window
#SBATCH --reservation=maint_2025
#SBATCH --time=5
./run
