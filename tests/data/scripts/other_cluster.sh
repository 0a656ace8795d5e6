#!/bin/bash
#SBATCH --job-name=far
#SBATCH --clusters=faraway
./run
