#!/bin/bash
#SBATCH --job-name=cloudy
#SBATCH --nodelist=node[01-02]
#SBATCH --exclusive
#SBATCH --licenses=matlab:1
#SBATCH --hint=nomultithread
#SBATCH --time=5
./run
