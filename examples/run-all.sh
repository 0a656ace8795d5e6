#!/bin/bash
# Runs every example on the local backend: a hello job, an array with %A_%a outputs, a
# dependency chain and a job using srun -n 4; then shows them in squeue and sacct.
set -euo pipefail
cd "$(dirname "$0")"
out=$(mktemp -d)
cp ./*.sh "$out"/ && cd "$out"
export SLURMSHIM_STATE_DIR=${SLURMSHIM_STATE_DIR:-$out/state}

sbatch --wait hello.sh
sbatch --wait array.sh
first=$(sbatch --parsable step1.sh)
sbatch --wait --dependency=afterok:"$first" step2.sh
sbatch --wait srun4.sh
squeue -t all
sacct
echo "--- outputs in $out"
tail -n +1 ./*.out
