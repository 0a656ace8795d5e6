#!/bin/bash
#SBATCH --job-name=chain-1
#SBATCH --output=chain-%j.out
echo "first step: writing data"
echo 42 > chain-data.txt
