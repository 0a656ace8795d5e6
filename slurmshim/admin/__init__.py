"""The logic behind the `slurmshim` admin command (cli/admin.py is its thin click front end).

    init.py       a commented starter configuration
    doctor.py     configuration and AWS checks, one line each with the fix
    slurmconf.py  a real slurm.conf parser (partitions, nodes, DEFAULT entries, ranges)
    migrate.py    slurm.conf -> slurmshim config + a plan of Batch resources (+ CloudFormation)
    check.py      job scripts -> per-directive support verdicts (the migration worklist)
    output.py     tables (tabulate) and JSON for every report
    progress.py   a progress bar on a terminal, silence when piped

Nothing here imports boto3: the AWS calls live in slurmshim.backends.batch.provision.
"""
