#!/bin/bash
#SBATCH --job-name=bb
#SBATCH --time=10
#SBATCH --bb="capacity=100G access_mode=striped type=scratch"
cp input.dat $DW_JOB_STRIPED/ && ./run $DW_JOB_STRIPED/input.dat
