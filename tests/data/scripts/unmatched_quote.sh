#!/bin/bash
#SBATCH --job-name="broken
./run
