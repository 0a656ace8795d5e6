"""The in-job runtime: what runs inside a job on either backend (a local process or an AWS Batch
container).  Standard library only, Python >= 3.8, and nothing imported from slurmshim outside
this package, because it is shipped alone into arbitrary container images.

    descriptor.py  the job descriptor (schema in its docstring), placement (AWS_BATCH_*), raw ids
    env.py         the SLURM_* environment (pure)
    job.py         `python3 -m slurmshim.runtime.job`: run the batch script on this node
    srun.py        `srun` inside a job
    agent.py       multi-node: main node server, other nodes' agent, srun's fan-out of a
                   step's tasks to them (protocol in its docstring), the join timeout and
                   node failures (NODE_FAIL)
    hosts.py       multi-node on AWS Batch: the job's node names in every node's hosts file
    fname.py       --output/--error/--input patterns
    common.py      banners, status/step files, process spawning
"""
