#!/bin/bash
#SBATCH --job-name=dos
#SBATCH --time=5
echo written on windows
