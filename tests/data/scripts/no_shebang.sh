#SBATCH --job-name=noshebang
#SBATCH --time=5
echo "this is not a batch script for sbatch"
