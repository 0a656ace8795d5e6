#!/bin/bash
#SBATCH --job-name=chain-2
#SBATCH --output=chain-%j.out
echo "second step read: $(cat chain-data.txt)"
