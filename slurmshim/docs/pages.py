"""The prose of the man pages (marked-up text, see :mod:`slurmshim.docs.roff`).

What can be generated is not here: option lists, support levels, environment variables read by
options, configuration keys' names, field and state lists come from the code in
:mod:`slurmshim.docs.manpages`.  Paragraphs are separated by blank lines; a paragraph of lines
starting with ``- `` is a bullet list; lines indented by four spaces are a verbatim block.
"""
from __future__ import annotations

# ---------------------------------------------------------------------------------------------
# shared
# ---------------------------------------------------------------------------------------------
SUPPORT_LEVELS = """\
Every option has a support level, printed with it below, and the same level applies whether \
the option comes from SOURCES:

- `mapped`: honoured as Slurm honours it (on AWS Batch through the mapping described in AWS \
BATCH MAPPING).  A few options are only recorded and shown by `squeue`, `sacct` and \
`scontrol`, where recording is all Slurm does with them too (`--comment`, `--wckey`).
- `approximated`: honoured in the way a cloud allows; PROG prints `PROG: warning:` followed by \
what the option became, and goes on.
- `ignored`: accepted and checked exactly as Slurm checks it (an invalid value is still an \
error), then dropped with a warning, because it has no meaning here.
- `rejected`: PROG prints `PROG: error:` with the reason and exits with status 1; nothing is \
submitted.

No option is ever dropped silently.  `sbatch --test-only` lists the options a job uses with \
their levels and effects, and `slurmshim check` does the same for whole directories of job \
scripts."""

OPTIONS_INTRO = """\
Options take their argument as `--name=value` or `--name value` (`-n value` or `-nvalue` for \
the short form); optional arguments must be attached (`--nice=5`).  Long options may be \
abbreviated to any unambiguous prefix, and PROG stops reading options at the first operand, \
exactly as Slurm's getopt does."""

PRECEDENCE = """\
When an option is given more than once, the command line wins over the input environment \
variables (`SBATCH_*`), which win over `#SBATCH` lines in the script, which win over the \
partition's defaults (`default_time`, `def_mem_per_cpu`) and the built-in defaults."""

FILES = (
    ("`$SLURMSHIM_CONF`, `~/.config/slurmshim/slurmshim.toml`, `/etc/slurmshim/slurmshim.toml`",
     "The configuration: the first that exists is read (see slurmshim.toml(5)).  Without any, "
     "one partition `local` runs jobs on this machine."),
    ("`$SLURMSHIM_STATE_DIR`, else `state_dir`, else `~/.local/state/slurmshim`",
     "The state directory."),
    ("*state_dir*`/ledger.sqlite3`",
     "The job ledger (SQLite, WAL mode): job ids, specifications, states, steps and "
     "history.  Safe under concurrent commands."),
    ("*state_dir*`/spool/`*job_id*`/`",
     "Per-job files of the local backend: the script, the runtime's status, step records."),
)

SLURMSHIM_ENV_COMMON = [
    ("SLURMSHIM_CONF", "The configuration file to read (an error when it does not exist)."),
    ("SLURMSHIM_STATE_DIR", "Where the ledger and the spool live (overrides `state_dir`)."),
    ("SLURMSHIM_DEBUG", "Set to `1` to get Python tracebacks instead of one-line internal "
                        "errors."),
    ("AWS_PROFILE, AWS_REGION, AWS_DEFAULT_REGION, AWS_ENDPOINT_URL",
     "The standard AWS settings, used when the configuration's `[aws]` table does not set "
     "them (credentials come from the usual AWS sources: environment, profile, instance "
     "role)."),
]

SLURMSHIM_ENV_SUBMIT = SLURMSHIM_ENV_COMMON + [
    ("SLURMSHIM_PLUGINS", "A comma separated list of plugin names: only these load "
                          "(`job_submit` and the other hooks, see slurmshim(1))."),
]

SLURMSHIM_ENV_QUERY = SLURMSHIM_ENV_COMMON + [
    ("SLURMSHIM_BATCH_POLL", "Minimum number of seconds between two refreshes of AWS Batch "
                             "job states by the same command (default 2)."),
    ("SLURM_EXIT_ERROR", "Exit status for errors instead of 1."),
]

QUERY_ENV_INTRO = """\
The variables below set PROG's options; an option given on the command line wins."""

OUTPUT_ENV_INTRO = """\
The batch script runs with the environment of the submission (see `--export`) plus these \
variables, set as Slurm sets them and identical on every node except the per-node ones \
(`SLURM_NODEID`, `SLURMD_NODENAME`, `SLURM_CPUS_ON_NODE`, `SLURM_TOPOLOGY_ADDR`, `HOSTNAME`, \
`SLURM_TASK_PID`).  On AWS Batch the runtime derives them from the job's descriptor and the \
`AWS_BATCH_*` variables of the container."""

OUTPUT_ENV = [
    ("SLURM_JOB_ID, SLURM_JOBID", "The job id (for an array task, its own raw id)."),
    ("SLURM_JOB_NAME", "The job name."),
    ("SLURM_JOB_PARTITION", "The partition the job runs in."),
    ("SLURM_JOB_ACCOUNT, SLURM_JOB_QOS, SLURM_JOB_RESERVATION, SLURM_JOB_LICENSES, "
     "SLURM_JOB_DEPENDENCY", "What the job asked for, when it asked."),
    ("SLURM_JOB_NUM_NODES, SLURM_NNODES", "The number of nodes."),
    ("SLURM_JOB_NODELIST, SLURM_NODELIST", "The nodes, as a host list (`node[01-04]`)."),
    ("SLURM_JOB_CPUS_PER_NODE", "CPUs per node, compressed as Slurm does (`4(x2)`)."),
    ("SLURM_TASKS_PER_NODE", "Tasks per node, compressed the same way."),
    ("SLURM_NTASKS, SLURM_NPROCS", "The number of tasks, when `--ntasks` (or a task layout) "
                                   "was requested."),
    ("SLURM_NTASKS_PER_NODE", "When `--ntasks-per-node` was given."),
    ("SLURM_CPUS_PER_TASK", "When `--cpus-per-task` was given."),
    ("SLURM_CPUS_ON_NODE", "CPUs allocated on this node."),
    ("SLURM_MEM_PER_NODE, SLURM_MEM_PER_CPU, SLURM_MEM_PER_GPU", "The memory request, in MB."),
    ("SLURM_GPUS, SLURM_GPUS_PER_NODE, SLURM_GPUS_ON_NODE, SLURM_JOB_GPUS",
     "The GPU request and the GPUs of this node (`CUDA_VISIBLE_DEVICES` follows them)."),
    ("SLURM_TRES_PER_TASK", "The per-task resources (`cpu=4,gres/gpu=1`)."),
    ("SLURM_ARRAY_JOB_ID, SLURM_ARRAY_TASK_ID", "For an array task: the array id and this "
                                                "task's index."),
    ("SLURM_ARRAY_TASK_COUNT, SLURM_ARRAY_TASK_MIN, SLURM_ARRAY_TASK_MAX, SLURM_ARRAY_TASK_STEP",
     "For an array task: the number of tasks, the smallest and largest index, the step."),
    ("SLURM_SUBMIT_DIR, SLURM_SUBMIT_HOST", "Where and from which host the job was submitted."),
    ("SLURM_JOB_UID, SLURM_JOB_GID, SLURM_JOB_USER", "The submitting user."),
    ("SLURM_JOB_START_TIME, SLURM_JOB_END_TIME", "Start time and the time the limit is reached "
                                                 "(seconds since the epoch)."),
    ("SLURM_CLUSTER_NAME", "The configuration's `cluster_name`."),
    ("SLURM_NODEID", "This node's index in the job (0 on the node running the script)."),
    ("SLURMD_NODENAME", "This node's name."),
    ("SLURM_PROCID, SLURM_LOCALID, SLURM_GTIDS, SLURM_TASK_PID",
     "Task identifiers of the batch script itself (rank 0)."),
    ("SLURM_RESTART_COUNT", "How many times the job was requeued (Spot reclaims retried by "
                            "AWS Batch count)."),
    ("SLURM_TOPOLOGY_ADDR, SLURM_TOPOLOGY_ADDR_PATTERN", "The node name, and `node`."),
    ("SLURM_EXPORT_ENV", "The `--export` value."),
    ("SLURM_GET_USER_ENV", "`1` when the job started from a login environment (`--export` "
                           "without `ALL`)."),
    ("SLURM_PRIO_PROCESS, SLURM_UMASK", "The scheduling priority and umask of the submitter."),
    ("SLURM_OOM_KILL_STEP", "`0`: an out-of-memory task ends its step only."),
    ("SLURM_CONF", "A path that exists for tools that expect it; slurmshim does not read it."),
]

STEP_ENV = [
    ("SLURM_STEP_ID, SLURM_STEPID", "The step id inside the job (0, 1, ...)."),
    ("SLURM_STEP_NODELIST, SLURM_STEP_NUM_NODES, SLURM_STEP_NUM_TASKS, "
     "SLURM_STEP_TASKS_PER_NODE", "The step's layout."),
    ("SLURM_PROCID", "The task's global rank."),
    ("SLURM_LOCALID", "The task's rank on its node."),
    ("SLURM_LABELIO", "`1` with `--label`."),
    ("SLURM_SRUN_COMM_HOST, SLURM_SRUN_COMM_PORT, SLURM_STEP_LAUNCHER_PORT",
     "Where the launching srun listens (used by the runtime's node agents)."),
    ("SLURM_LAUNCH_NODE_IPADDR", "The address of the node that ran srun."),
    ("SLURM_DISTRIBUTION", "The task distribution (`block`)."),
]

# ---------------------------------------------------------------------------------------------
# sbatch
# ---------------------------------------------------------------------------------------------
SBATCH_DESCRIPTION = """\
`sbatch` submits a batch script to slurmshim and prints `Submitted batch job` *N*.  The \
script runs once, on the first node of the job, with the environment described below; \
`srun` inside it starts parallel steps on all the job's nodes.  Depending on the partition, \
the job runs on this machine (the local backend: a detached process per node, as a one-node \
Slurm cluster would) or as an AWS Batch job on elastic cloud capacity.  The commands, their \
output, error messages and exit codes are those of Slurm 25.11, so existing job scripts and \
the tools that drive Slurm (submitit, dask-jobqueue, Snakemake, Nextflow, parsl, ...) work \
unchanged.

The script is read from the file named by *script* (looked up in the current directory, \
then in `PATH`), or from standard input when no *script* is given; `--wrap` submits a one-line \
command instead.  Any *args* are passed to the script.  The script must start with `#!`.

Options can also be given in the script, on `#SBATCH` lines placed before the first line \
that is neither a comment nor blank (later `#SBATCH` lines are ignored, as Slurm ignores \
them).  `#PBS` and `#BSUB` lines are not interpreted (`--ignore-pbs` is accepted).

`sbatch` exits as soon as the job is recorded; use `--wait` to wait for its end.  Nothing of \
the job's execution depends on the `sbatch` process: `squeue`, `sacct`, `scontrol` and \
`scancel` follow and control it through the job ledger."""

SBATCH_INPUT_ENV_INTRO = """\
Each `SBATCH_*` variable sets the option named; a command line option wins over it, and it \
wins over `#SBATCH` lines."""

SBATCH_EXIT = (
    ("`0`", "The job was submitted (or, with `--test-only`, would be)."),
    ("`1`", "The job was not submitted: a rejected option, an unreadable or invalid script, "
            "a partition that does not exist or cannot run the request, a configuration "
            "error.  `SLURM_EXIT_ERROR` replaces 1 when set."),
    ("`255`", "A command line error found while reading the options: an unknown option, a "
              "missing or invalid argument (Slurm exits 255 for these too)."),
    ("*job's exit code*", "With `--wait`: the job's own exit code once it ends (1 when it was "
                          "cancelled or failed without one)."),
)

SBATCH_AWS_INTRO = """\
A partition with `backend = "batch"` is an AWS Batch job queue.  `sbatch` turns the job into \
Batch requests as follows (the requests are built by a pure planner and can be seen with \
`sbatch --test-only`):"""

SBATCH_AWS = (
    ("job definition", "One per distinct content (image, bootstrap command, shared filesystem "
                       "mounts from `[aws.mounts]`, EFA devices), named `slurmshim-`*hash* and "
                       "registered once; nothing per job is in it."),
    ("`SubmitJob`", "One per plain or multi-node job.  The script, the job descriptor and the "
                    "exported environment travel with the job; scripts too large for the "
                    "request go through the configuration's S3 bucket."),
    ("`--partition`", "The partition's `job_queue`; multi-node jobs use `mnp_queue`."),
    ("`--ntasks`, `--cpus-per-task`, `--exclusive`", "The `VCPU` resource requirement: tasks "
                                                     "per node times CPUs per task."),
    ("`--mem`, `--mem-per-cpu`, `--mem-per-gpu`", "The `MEMORY` resource requirement (a hard "
                                                  "limit on Batch).  Without a request, "
                                                  "`def_mem_per_cpu`, else 2048 MB per vCPU, "
                                                  "capped at the node's memory."),
    ("`--gres=gpu:`*N*, `--gpus`*...*", "The `GPU` resource requirement per node."),
    ("`--nodes`=*N* > 1", "A multi-node parallel job with `numNodes` *N*, on the on-demand "
                          "queue; refused at submission on a Spot partition without one."),
    ("`--array`", "A Batch array job (several when the array has more than 10,000 tasks); "
                  "the runtime maps Batch's dense index to the Slurm index list, and "
                  "`%`*N* throttles are enforced by chaining tasks."),
    ("`--time`", "`timeout.attemptDurationSeconds` (the limit plus a margin, at least 60 "
                 "seconds).  The runtime enforces the exact limit itself."),
    ("`--requeue`, `--no-requeue`", "`retryStrategy`: retried only on `Host EC2*` status "
                                    "reasons (Spot reclaims), up to the partition's `retries`."),
    ("`--dependency`", "`afterok` and `aftercorr` become `dependsOn`; the other kinds are held "
                       "by slurmshim, which submits the job once they are satisfied."),
    ("tags", "`slurmshim:cluster`, job id, user, name, partition, account and time limit, "
             "propagated to the ECS tasks (cost allocation)."),
)

SBATCH_EXAMPLES = (
    ("Submit a script; its options are on `#SBATCH` lines:", """\
$ cat hello.sh
#!/bin/bash
#SBATCH --job-name=hello
#SBATCH --time=00:10:00
#SBATCH --ntasks=4
srun hostname
$ sbatch hello.sh
Submitted batch job 42"""),
    ("An array of 100 tasks, at most 10 at a time, one output file per task:", """\
$ sbatch --array=1-100%10 --output=run-%A_%a.out job.sh"""),
    ("A chain: the second job starts when the first has completed successfully:", """\
$ first=$(sbatch --parsable prepare.sh)
$ sbatch --dependency=afterok:$first analyse.sh"""),
    ("A two-node GPU job on an AWS Batch partition, and what it would become:", """\
$ sbatch --test-only -p gpu -N 2 --gpus-per-node=4 train.sh"""),
    ("A command without a script, waiting for its end:", """\
$ sbatch --wait --wrap='python3 simulate.py --steps 1000'"""),
)

# ---------------------------------------------------------------------------------------------
# srun
# ---------------------------------------------------------------------------------------------
SRUN_DESCRIPTION = """\
Inside a job (`SLURM_JOB_ID` is set), `srun` launches a job step: *command* runs as the \
requested number of tasks over the job's nodes, each task with its `SLURM_PROCID`, \
`SLURM_LOCALID` and the rest of the step environment, and `srun` returns when all tasks have \
ended, with the highest exit code.  Task output goes to srun's output, optionally labelled \
with the task rank (`--label`).  This is how job scripts start MPI programs and parallel \
tasks; the steps show in `squeue -s` and `sacct`.

Outside a job, `srun` does what Slurm's does: it asks for an allocation, runs *command* as \
the only step of a new job, streams the tasks' output to this terminal, and exits with the \
command's exit code.  The options that describe the job (resources, time, partition, \
dependency, ...) make the job; the step options (`--label`, `--multi-prog`, `--unbuffered`, \
...) go to the step.  Ctrl-C cancels the job.  Interactive terminals (`--pty`) are not \
available.

Both uses read the same option table as `sbatch`; the support levels below are srun's."""

SRUN_EXTRA_ENV = [
    ("SLURM_JOB_ID", "When set, srun launches a step inside that job instead of submitting a "
                     "new job."),
    ("SLURMSHIM_SRUN_NEW_JOB", "Set to `1` to make srun submit a new job even inside a job."),
    ("SLURM_EXIT_ERROR", "Exit status for srun's own errors instead of 1."),
]

SRUN_OUTPUT_ENV_INTRO = """\
Each task gets the job's environment (see sbatch(1)) with the step's values on top:"""

SRUN_EXIT = (
    ("`0`", "Every task exited with status 0."),
    ("*N*", "The highest exit status of the tasks (outside a job: the job's exit code)."),
    ("`1`", "srun itself failed: a rejected option, no allocation, a cancelled job.  "
            "`SLURM_EXIT_ERROR` replaces 1 when set."),
    ("`255`", "A command line error."),
)

SRUN_AWS = (
    ("outside a job", "The job is submitted as with `sbatch --wait`: the AWS BATCH MAPPING of "
                      "sbatch(1) applies, and the output is streamed back from the job's files "
                      "or CloudWatch Logs."),
    ("inside a job", "Steps run in the job's containers.  On a multi-node Batch job each "
                     "node's runtime runs an agent; srun on the main node starts the tasks "
                     "of every node through them and collects their output and exit codes."),
    ("`--mpi`", "Tasks get `SLURM_*` ranks and a host file; MPI libraries bootstrap over them "
                "(PMI is not provided).  Open MPI's and PRRTE's `mpirun` use srun as their "
                "launcher (`--external-launcher`)."),
)

SRUN_EXAMPLES = (
    ("In a job script, run 8 tasks over the job's nodes with labelled output:", """\
#SBATCH --nodes=2 --ntasks-per-node=4
srun --label ./mpi_program"""),
    ("From a login shell, run a command on a node of the `cpu` partition and see its output:",
     """\
$ srun -p cpu -c 4 --mem=8G python3 -c 'import os; print(os.cpu_count())'"""),
)

# ---------------------------------------------------------------------------------------------
# squeue
# ---------------------------------------------------------------------------------------------
SQUEUE_DESCRIPTION = """\
`squeue` lists the jobs of the ledger that are pending, running, suspended or completing \
(with `--states` any state; finished jobs stay visible for the configuration's `min_job_age` \
seconds), in Slurm's layout: same columns, widths, justification, state codes and pending \
reasons, so that scripts and workflow tools that parse squeue's output work unchanged.  The \
default format is `%.18i %.9P %.8j %.8u %.2t %.10M %.6D %R`.

Before listing, `squeue` brings the states of AWS Batch jobs up to date (see AWS BATCH \
MAPPING); local jobs are always current."""

SQUEUE_FIELDS_INTRO = """\
The names `--Format` accepts (case does not matter), with the `--format` letter when there is \
one.  `--helpFormat` and `--helpformat` print the same lists."""

JOB_STATE_TEXT = {
    "PENDING": "Waiting for resources, a dependency, a begin time or a release.",
    "RUNNING": "Running.",
    "SUSPENDED": "Suspended (slurmshim never suspends jobs).",
    "COMPLETED": "Ended with exit code 0.",
    "CANCELLED": "Cancelled by `scancel` (or a `DEADLINE` it could not meet).",
    "FAILED": "Ended with a non-zero exit code, or could not start.",
    "TIMEOUT": "Reached its time limit.",
    "NODE_FAIL": "Ended because a node failed (on AWS Batch: the instance was lost and the "
                 "retries were exhausted).",
    "PREEMPTED": "Preempted.",
    "BOOT_FAIL": "A node could not be booted.",
    "DEADLINE": "Could not end before its `--deadline`.",
    "OUT_OF_MEMORY": "Killed for using more memory than it asked for.",
    "COMPLETING": "Ending: its processes are being cleaned up.",
    "CONFIGURING": "Its nodes are being set up (AWS Batch `STARTING`).",
    "REQUEUED": "Being put back in the queue.",
}

REASONS_INTRO = """\
Why a job is pending, or how it ended (`%R` shows the reason of pending jobs and the nodes of \
running ones):"""

REASONS = (
    ("`None`", "No reason: the job is about to be considered."),
    ("`Priority`", "Other jobs come first."),
    ("`Resources`", "Waiting for free nodes or CPUs (on AWS Batch: `RUNNABLE`, waiting for "
                    "capacity)."),
    ("`Dependency`", "Waiting for a `--dependency`."),
    ("`DependencyNeverSatisfied`", "The dependency can never be met (the job stays pending "
                                   "unless `--kill-on-invalid-dep=yes`)."),
    ("`BeginTime`", "Waiting for `--begin`."),
    ("`JobHeldUser`, `JobHeldAdmin`", "Held (`--hold`, `scontrol hold`/`uhold`)."),
    ("`JobArrayTaskLimit`", "The array's `%`*N* limit is reached."),
    ("`ReqNodeNotAvail`, `PartitionConfig`", "On AWS Batch: no compute environment of the "
                                             "queue has instances that fit the job, or its "
                                             "maximum vCPUs are below the request."),
    ("`NonZeroExitCode`, `RaisedSignal`, `TimeLimit`, `NodeFail`, `OutOfMemory`, "
     "`JobLaunchFailure`", "How a job ended (`squeue -t all`, `scontrol show job`)."),
)

SQUEUE_EXIT = (
    ("`0`", "The jobs were listed (possibly none)."),
    ("`1`", "An invalid option or value, or a single `--jobs` id that is unknown (`slurm_load_jobs "
            "error: Invalid job id specified`)."),
)

SQUEUE_AWS = """\
The jobs are those of the ledger.  Jobs of AWS Batch partitions are refreshed with \
`DescribeJobs` (by chunks of 100 ids) at most every `SLURMSHIM_BATCH_POLL` seconds, and their \
Batch status is shown as Slurm's state and reason:"""

BATCH_STATES = (
    ("`SUBMITTED`", "`PD` with reason `None` (`Dependency` when it has Batch dependencies)."),
    ("`PENDING`", "`PD` with reason `Dependency` (`JobArrayTaskLimit` for a throttled array "
                  "task)."),
    ("`RUNNABLE`", "`PD` with reason `Resources`, or `ReqNodeNotAvail`/`PartitionConfig` when "
                   "Batch reports a misconfiguration."),
    ("`STARTING`", "`CF` (CONFIGURING)."),
    ("`RUNNING`", "`R`."),
    ("`SUCCEEDED`", "`CD` with exit code 0."),
    ("`FAILED`", "`CA` when cancelled, `NF` when the instance was lost, `TO` at the time "
                 "limit, `OOM` for an out-of-memory kill, else `F` with the exit code."),
)

SQUEUE_EXAMPLES = (
    ("Your pending and running jobs:", "$ squeue --me"),
    ("Jobs of two partitions, one array task per line, with chosen columns:", """\
$ squeue -p cpu,gpu -r -O JobID:12,Name:20,State:.10,TimeUsed:.10,Reason"""),
    ("Whether job 42 is still there, for a script:", "$ squeue -h -j 42 -o %T"),
)

# ---------------------------------------------------------------------------------------------
# scancel
# ---------------------------------------------------------------------------------------------
SCANCEL_DESCRIPTION = """\
`scancel` cancels pending and running jobs, array tasks and whole arrays, or sends them a \
signal.  Jobs are named by id on the command line, selected by filters (`--user`, \
`--partition`, `--name`, `--state`, ...; all filters must match), or both.

A pending job is cancelled in the ledger at once; a running one gets SIGTERM (SIGCONT \
first), then SIGKILL `kill_wait` seconds later, and ends in state CANCELLED.  Pending tasks \
of an array that are named one by one vanish from the array, as in Slurm.

Like Slurm's, plain `scancel` *job_id* is silent about ids that are unknown or already \
finished and exits 0; with `--signal` or any filter, such ids are errors."""

SCANCEL_ARGS = (
    ("*job_id*", "A job, or every task of an array."),
    ("*job_id*`_`*array_id*", "One task of an array (`12_7`); `12_[1-3,7]` names several."),
    ("*job_id*`.`*step_id*", "One step of a job."),
)

SCANCEL_EXIT = (
    ("`0`", "Done (including, for the plain form, ids that were unknown or finished)."),
    ("`1`", "An invalid option, job id, signal or state; with `--signal` or filters, an id "
            "that matches no active job; a signal AWS Batch cannot deliver."),
)

SCANCEL_AWS = """\
Jobs of AWS Batch partitions are ended with `TerminateJob` (which, unlike `CancelJob`, also \
stops `STARTING` and `RUNNING` jobs): for an array, its Batch array parents, or single \
children for single tasks.  Batch sends the container SIGTERM and SIGKILL 30 seconds later.  \
Batch cannot deliver other signals to a container, so `scancel --signal=USR1` on a Batch job \
fails with `Requested operation not supported on this system`."""

SCANCEL_EXAMPLES = (
    ("Cancel a job, a task of an array, and every job of yours in partition `gpu`:", """\
$ scancel 42
$ scancel 43_7
$ scancel --me -p gpu"""),
    ("Ask a running job to checkpoint, without cancelling it:", "$ scancel --signal=USR1 42"),
    ("Cancel all your pending jobs, asking for each:",
     "$ scancel --me --state=PENDING --interactive"),
)

# ---------------------------------------------------------------------------------------------
# sinfo
# ---------------------------------------------------------------------------------------------
SINFO_DESCRIPTION = """\
`sinfo` shows the configured partitions and their nodes in Slurm's layout (default \
`%9P %.5a %.10l %.6D %.6t %N`).  A partition of the local backend has the virtual nodes of its \
configuration, sized to this machine unless configured; a partition of AWS Batch has as many \
nodes as its compute environments can hold (`maxvCpus` divided by the partition's CPUs per \
node), of which those busy are up and the rest `idle~` (powered down, started on demand: \
Slurm's notation for cloud nodes).  The default partition is marked with `*`."""

SINFO_FIELDS_INTRO = """\
The names `--Format` accepts, with the `--format` letter when there is one."""

NODE_STATES = (
    ("`idle`", "No job on the node."),
    ("`mix`", "Some of the node's CPUs are allocated."),
    ("`alloc`", "All the node's CPUs are allocated."),
    ("`down`", "Not usable: on AWS Batch, the queue or a compute environment is disabled or "
               "invalid (`sinfo -R` says which)."),
    ("`drain`, `drng`", "Taken out of service (the partition's `state`)."),
    ("*suffix* `~`", "Powered down: a cloud node that AWS Batch starts when a job needs it."),
    ("*suffix* `#`, `%`", "Powering up, powering down."),
    ("*suffix* `*`", "Not responding."),
)

SIMPLE_EXIT = (
    ("`0`", "Success."),
    ("`1`", "An invalid option or value, or a configuration error.  `SLURM_EXIT_ERROR` "
            "replaces 1 when set."),
)

SINFO_AWS = """\
For each AWS Batch partition, `sinfo` reads its job queue and compute environments \
(`DescribeJobQueues`, `DescribeComputeEnvironments`; cached briefly in the ledger): the \
maximum vCPUs give the node count, the desired vCPUs and the running jobs of the ledger the \
nodes that are up, the instance types the features and architecture."""

SINFO_EXAMPLES = (
    ("The partitions:", "$ sinfo"),
    ("One line per node with CPUs, memory and state:", "$ sinfo -N -l"),
    ("Why nodes are down:", "$ sinfo -R"),
)

# ---------------------------------------------------------------------------------------------
# sacct
# ---------------------------------------------------------------------------------------------
SACCT_DESCRIPTION = """\
`sacct` prints the accounting data of jobs and their steps (the `batch` step, `srun` steps) \
from the ledger, in Slurm's layout: by default `jobid,jobname,partition,account,alloccpus,\
state,exitcode` for your jobs that were eligible since midnight.  Finished jobs stay in the \
ledger until the configuration's `purge_after_days` (forever by default).

Only what slurmshim measures has values: times, states, exit codes, requested and allocated \
resources, nodes, working directory, standard streams, requeues.  Fields filled by Slurm's \
accounting plugins (memory high-water marks, energy, I/O) are empty."""

SACCT_FIELDS_INTRO = """\
The names `--format` accepts (case does not matter); `sacct -e` prints the same list."""

SACCT_AWS = """\
Jobs of AWS Batch partitions are refreshed as for squeue(1).  A finished Batch job gets a \
`batch` step with the container's exit code; earlier attempts (Spot reclaims retried by \
Batch) are shown as requeued records with `--duplicates` and counted in `Restarts`."""

SACCT_EXAMPLES = (
    ("Today's jobs with their run time and exit code:",
     "$ sacct -o JobID,JobName%20,State,Elapsed,ExitCode"),
    ("Every attempt of a requeued job, parsable:", "$ sacct -j 42 -D -P"),
    ("Failed jobs of the last week, all users:", "$ sacct -a -S now-7days -s F,TO,OOM,NF"),
)

# ---------------------------------------------------------------------------------------------
# scontrol
# ---------------------------------------------------------------------------------------------
SCONTROL_DESCRIPTION = """\
`scontrol` shows jobs, partitions, nodes and the configuration in Slurm's `Key=Value` \
layout, and holds, releases, requeues and updates jobs.  Commands are given on the command \
line or, without one, read from standard input (interactive mode: `!!` repeats the last \
command).  Command and entity words may be abbreviated as scontrol allows (`sho j 7`, \
`rel 7`); they are case-insensitive.  Commands that manage a real Slurm controller \
(`reconfigure`, `shutdown`, `create`, `delete`, node and partition updates, ...) fail with \
`Requested operation not supported on this system`."""

SCONTROL_COMMANDS_INTRO = """\
*job_list* is a list of job ids separated by spaces or commas (`12`, `12_3`, `12_[1-4]`)."""

SCONTROL_COMMAND_TEXT = {
    "show": "`show job` [*job_id*], `show partition` [*name*], `show node` [*names*], "
            "`show config`, `show hostnames` *hostlist*, `show hostlist` *names*, "
            "`show hostlistsorted` *names*, `show reservation`, `show licenses`, "
            "`show daemons`, `show federations`.  Without an id, every record.",
    "hold": "`hold` *job_list*: keep pending jobs from starting (reason `JobHeldAdmin`, "
            "priority 0).",
    "uhold": "`uhold` *job_list*: a user hold (`JobHeldUser`), which the owner may release.",
    "release": "`release` *job_list*: let held jobs start (their priority back, reason "
               "`None`).  A job `requeuehold` held is released even while it is still "
               "`COMPLETING`: it runs again once its processes are gone.",
    "requeue": "`requeue` [`Incomplete`|`State=SpecialExit`] *job_list*: put running or "
               "finished batch jobs back in the queue (they run again with "
               "`SLURM_RESTART_COUNT` incremented; `Restarts=` counts the requeues, and "
               "`sacct -D` shows each attempt with its own steps).  Refused for pending jobs, "
               "jobs submitted with `--no-requeue` and jobs `srun` created.",
    "requeuehold": "`requeuehold` *job_list*: requeue as `requeue` does, and hold the jobs "
                   "as their user would: they pend with priority 0 and the reason "
                   "`job_requeued_in_held_state` (`scontrol show job`; squeue prints `job "
                   "requeued in held state`), from the requeue on, while still `COMPLETING` "
                   "too, until `release` (`hold` and `uhold` put their own reason).  sacct, "
                   "and squeue's line for the pending tasks of an array, show the reason "
                   "`JobHeldUser`.",
    "update": "`update JobId=`*job_list* *key*`=`*value*...: change jobs (see UPDATE JOB "
              "SPECIFICATIONS); `JobName=`*name* selects jobs by name instead.",
    "suspend": "`suspend` *job_list*: not supported (jobs cannot be suspended).",
    "resume": "`resume` *job_list*: not supported.",
}

SCONTROL_UPDATE_INTRO = """\
`scontrol update JobId=`*id* *key*`=`*value*... changes one or more jobs; most keys apply \
only to pending jobs, as in Slurm.  Keys are case-insensitive and may be abbreviated.  A key \
slurmshim cannot apply is refused with `Update of this parameter is not supported`."""

SCONTROL_ENV = [
    ("SLURM_NODELIST", "The default of `show hostnames` without an argument."),
]

SCONTROL_EXIT = (
    ("`0`", "Every command succeeded."),
    ("`1`", "A command failed (an unknown job, an invalid keyword or value, an unsupported "
            "operation)."),
)

SCONTROL_AWS = """\
`show job` of an AWS Batch job shows Slurm's fields; the Batch job ids stay in the ledger.  A \
job submitted with `--hold`, or waiting for `--begin` or for a dependency slurmshim evaluates, \
is handed to Batch only when it becomes eligible, so `release` is what sends it.  `hold` of a \
job already in a Batch queue is recorded but does not take it out of the queue: hold jobs \
before they reach Batch (`sbatch --hold`).  `requeue` terminates the Batch job and submits it \
again.  Batch jobs cannot be modified once submitted: `update` of their resources applies to \
jobs slurmshim has not handed to Batch yet."""

SCONTROL_EXAMPLES = (
    ("Everything about job 42, on one line:", "$ scontrol -o show job 42"),
    ("Give a pending job two more hours and move it to another partition:",
     "$ scontrol update JobId=42 TimeLimit=+2:00:00 Partition=long"),
    ("Hold, then release, jobs:", "$ scontrol hold 42 43\n$ scontrol release 42,43"),
    ("Expand a host list:", "$ scontrol show hostnames 'node[01-03]'"),
)

# ---------------------------------------------------------------------------------------------
# sattach
# ---------------------------------------------------------------------------------------------
SATTACH_DESCRIPTION = """\
`sattach` follows a running job's standard output and error on this terminal, from where \
they are now until the job ends.  Ctrl-C detaches; the job goes on.  Standard input is not \
forwarded.  The step id is accepted for compatibility; the job's output files hold the output \
of every step."""

SATTACH_EXIT = (
    ("`0`", "The job ended, or sattach was detached with Ctrl-C."),
    ("`1`", "The job is unknown, already finished, or has no output yet."),
)

SATTACH_AWS = """\
For an AWS Batch job, `sattach` follows the job's CloudWatch Logs stream (the configuration's \
`log_group`, `/aws/batch/job` by default) instead of the files."""

SATTACH_EXAMPLES = (
    ("Follow job 42:", "$ sattach 42.0"),
    ("Follow it with task labels:", "$ sattach --label 42.batch"),
)

# ---------------------------------------------------------------------------------------------
# slurmshim(1)
# ---------------------------------------------------------------------------------------------
ADMIN_DESCRIPTION = """\
`slurmshim` is the command of the people who set up a slurmshim site and of the teams who \
move clusters and job scripts to it.  Users never need it: they use `sbatch`, `squeue` and \
the other Slurm commands.

Start with `slurmshim init` (or `slurmshim migrate slurm.conf` to reproduce an existing \
cluster), edit the configuration (see slurmshim.toml(5)), and run `slurmshim doctor` until \
every check is `OK`.  Every report takes `--json`; human tables go to the terminal, and the \
long operations (`migrate --apply`, `check` over large trees, `output` of big arrays) show a \
progress bar on a terminal and stay quiet when piped.

Plugins extend the Slurm commands: `job_submit` inspects, rewrites or rejects jobs (a \
rejection prints `sbatch: error:` and the plugin's reason), `map_partition` routes them, \
`batch_job_definition` and `batch_submit_job` adjust the AWS requests, and `job_submitted` \
audits.  They are loaded only when a hook is about to fire, from entry points of group \
`slurmshim` and from `*.py` files in the configuration's `plugins_dir`."""

COMPLETION_TEXT = """\
Completion scripts for bash, zsh and fish complete the nine commands: option names, option \
values that are finite (partitions from the configuration, job and node states, signals, \
`--mail-type`, `--open-mode`, squeue, sinfo and sacct field names, ...), job ids from the \
ledger (`scancel`, `scontrol hold|release|requeue|show job|update`, `sattach`, `squeue -j`, \
`sacct -j`), files for sbatch's script, and the sub-commands of `scontrol` and `slurmshim`.  \
Dynamic values come from a small helper that reads the ledger and the configuration \
directly, so a TAB answers in well under 100 ms.

`pip install` puts them under *prefix*`/share` (after an editable install, run `python -m \
slurmshim.docs.install` once to put them there): \
`bash-completion/completions/` (bash-completion loads them when *prefix*`/share` is in \
`XDG_DATA_DIRS`, as `/usr/local/share` and `/usr/share` are by default), \
`zsh/site-functions/_slurmshim` (add the directory to `fpath` before `compinit` when it is \
not already there) and `fish/vendor_completions.d/` (found when *prefix*`/share` is in \
`XDG_DATA_DIRS`).  In a virtual environment, for example:

    export XDG_DATA_DIRS="$VIRTUAL_ENV/share:${XDG_DATA_DIRS:-/usr/share}"
    fpath=("$VIRTUAL_ENV/share/zsh/site-functions" $fpath)  # zsh

Otherwise save the script that `slurmshim completion` prints and load it from the shell's \
start-up file (loading a saved file is faster than running `slurmshim completion` in every \
new shell); for zsh, put `fpath` lines before `compinit`:

    slurmshim completion bash > ~/.slurmshim.bash  # ~/.bashrc: . ~/.slurmshim.bash
    slurmshim completion zsh > ~/.zfunc/_slurmshim # fpath=(~/.zfunc $fpath)
    slurmshim completion fish > ~/.config/fish/conf.d/slurmshim.fish

`SLURMSHIM_PYTHON` names the Python interpreter the \
scripts use to find the helper when it cannot be found from the `sbatch` script."""

MANPATH_TEXT = """\
`pip install` puts these pages in *prefix*`/share/man/man1` and `man5`.  `man` finds them when \
*prefix*`/bin` is in `PATH` (man-db looks in `../share/man` of every `PATH` directory) or when \
`MANPATH` includes *prefix*`/share/man`, e.g. `export MANPATH="$VIRTUAL_ENV/share/man:"` \
(the trailing colon keeps the system's pages).  An editable install (`pip install -e .`) \
installs no data files: run `python -m slurmshim.docs.install` once to put the pages and the \
completion scripts under *prefix*`/share`, or read a page from the source tree with \
`man -l man/sbatch.1`."""

ADMIN_ENV = SLURMSHIM_ENV_SUBMIT + [
    ("SLURMSHIM_PYTHON", "The interpreter the completion scripts use to locate their helper."),
]

ADMIN_EXIT = (
    ("`0`", "Success."),
    ("`1`", "A failure: a `FAIL` check (`doctor`), a refused script (`check`), a job not "
            "finished (`output`), an invalid file or configuration."),
    ("`2`", "A command line error (click's usage errors)."),
)

ADMIN_EXAMPLES = (
    ("A site with one AWS Batch queue:", """\
$ slurmshim init --queue cpu-spot --mnp-queue cpu-ondemand --region us-east-1
$ slurmshim doctor"""),
    ("Reproduce an existing cluster, then create the AWS resources:", """\
$ slurmshim migrate /etc/slurm/slurm.conf
$ slurmshim migrate /etc/slurm/slurm.conf --apply --force"""),
    ("The migration team's work list for a tree of job scripts:",
     "$ slurmshim check ~/jobs/"),
)

# ---------------------------------------------------------------------------------------------
# slurmshim.toml(5)
# ---------------------------------------------------------------------------------------------
TOML_DESCRIPTION = """\
The configuration of a slurmshim site is one TOML file.  The commands read the first of \
`$SLURMSHIM_CONF` (which must exist when set), `~/.config/slurmshim/slurmshim.toml` \
(`$XDG_CONFIG_HOME` is honoured) and `/etc/slurmshim/slurmshim.toml`.  With none of them the \
built-in default applies: one partition `local` on the local backend, sized to this machine, \
and the defaults below.  `slurmshim init` writes a commented starter file and \
`slurmshim migrate` one that reproduces a `slurm.conf`.

Times are minutes (an integer) or Slurm time strings (`"30"`, `"4:00:00"`, `"2-00:00:00"`, \
`"UNLIMITED"`); memory sizes are MB (an integer) or strings with a unit (`"64G"`)."""

# key -> (type, description); the tests check that these are exactly config.py's keys
TOML_TOP = {
    "cluster_name": ("string", "The cluster's name: `SLURM_CLUSTER_NAME`, sacct's `Cluster`, "
                               "the JSON outputs.  Default `slurmshim`."),
    "min_job_age": ("integer", "Seconds a finished job stays visible to `squeue -t all` and "
                               "`scontrol show job` (Slurm's `MinJobAge`).  Default 300."),
    "max_array_size": ("integer", "Array indices must be below this (`MaxArraySize`).  "
                                  "Default 100001."),
    "kill_wait": ("integer", "Seconds between SIGTERM and SIGKILL when a job is cancelled or "
                             "reaches its time limit (`KillWait`).  Default 30."),
    "purge_after_days": ("integer", "Finished jobs older than this many days are removed from "
                                    "the ledger (sacct forgets them).  Default: never."),
    "state_dir": ("string", "Where the ledger and the spool live (`~` is expanded).  "
                            "`$SLURMSHIM_STATE_DIR` overrides it.  Default "
                            "`$XDG_STATE_HOME/slurmshim`, i.e. `~/.local/state/slurmshim`.  A "
                            "directory shared by the users of a login node makes them see each "
                            "other's jobs, as on a cluster."),
    "plugins_dir": ("string", "A directory whose `*.py` files are plugins (see slurmshim(1))."),
    "export_allow": ("list of strings", "Environment variables exported to jobs although their "
                                        "names look like secrets (`*_TOKEN`, `*_SECRET*`, "
                                        "`*_PASSWORD`, AWS credentials, ...)."),
    "partitions": ("table", "The partitions, one `[partitions.`*NAME*`]` table each (below)."),
    "aws": ("table", "AWS settings (below)."),
}

TOML_PARTITIONS_INTRO = """\
Each `[partitions.`*NAME*`]` table is a partition; *NAME* may not contain spaces, commas, \
colons or `=`.  `backend = "local"` runs jobs on this machine; `backend = "batch"` is an AWS \
Batch job queue.  At most one partition has `default = true`; without one, the first is the \
default.  Without any `[partitions]` table, the built-in `local` partition is used."""

TOML_PARTITION = {
    "backend": ("string", "`\"local\"` (default) or `\"batch\"`."),
    "default": ("boolean", "The partition of jobs that name none."),
    "state": ("string", "The partition state `sinfo` and `scontrol show partition` report: "
                        "`UP` (default), `DOWN`, `DRAIN` or `INACTIVE`.  On the local backend "
                        "jobs in a partition that is not `UP` stay pending (`PartitionDown`, "
                        "`PartitionInactive`)."),
    "max_time": ("time", "The partition's `MaxTime`, shown by `sinfo` and `scontrol`, and the "
                         "time limit of jobs without `--time` when `default_time` is not set.  "
                         "On the local backend a job asking for more stays pending with "
                         "`PartitionTimeLimit`, as in Slurm, and `slurmshim check` flags such "
                         "scripts.  Default `UNLIMITED`."),
    "default_time": ("time", "The time limit of jobs without `--time` (`DefaultTime`).  "
                             "Default: `max_time`."),
    "nodes": ("integer", "How many nodes: virtual nodes of the local backend (`--nodes=`*N* "
                         "runs one node process each; default 1), or the size sinfo shows for "
                         "a Batch partition before its compute environments are read "
                         "(default 10)."),
    "node_prefix": ("string", "Node names are this prefix and a number: `node01`... on the "
                              "local backend, *NAME*`-dy-01`... on Batch."),
    "node_names": ("host list or list of strings", "Explicit node names (`\"node[01-16]\"`), "
                                                   "instead of `nodes` and `node_prefix`."),
    "cpus": ("integer", "Same as `cpus_per_node`."),
    "cpus_per_node": ("integer", "CPUs of a node.  Default: this machine's (local), 4 (Batch)."),
    "memory": ("memory", "Same as `mem_per_node`."),
    "mem_per_node": ("memory", "Memory of a node.  Default: this machine's (local), 16384 MB "
                               "(Batch)."),
    "gpus": ("integer", "Same as `gpus_per_node`."),
    "gpus_per_node": ("integer", "GPUs of a node.  Default: the `/dev/nvidia`*N* devices of this "
                                 "machine (local), 0 (Batch)."),
    "gpu_types": ("list of strings", "GPU types jobs may name (`--gres=gpu:a100:2`); a string "
                                     "is split at commas."),
    "def_mem_per_cpu": ("memory", "Memory per CPU of jobs that ask for none (`DefMemPerCPU`)."),
    "job_queue": ("string", "The AWS Batch job queue (name or ARN).  Required for a `batch` "
                            "partition."),
    "mnp_queue": ("string", "An on-demand job queue for multi-node jobs, which Batch never "
                            "runs on Spot.  A Spot partition without it refuses `--nodes` > 1."),
    "image": ("string", "The container image of the partition's jobs (overrides `aws.image`).  "
                        "It needs `/bin/sh` and `python3`."),
    "spot": ("boolean", "The queue runs on Spot: jobs are requeued when their instance is "
                        "reclaimed (unless `--no-requeue`), and multi-node jobs go to "
                        "`mnp_queue`."),
    "efa": ("boolean", "Multi-node jobs get EFA devices and the matching `FI_*`/`NCCL_*` "
                       "defaults (the compute environment needs a cluster placement group)."),
    "retries": ("integer", "How many times a job whose Spot instance was reclaimed is retried "
                           "(Batch `retryStrategy`, at most 9).  Default 3; 0 disables "
                           "retries."),
    "max_array_size": ("integer", "`max_array_size` for this partition."),
    "efa_devices": ("integer", "How many EFA devices (`/dev/infiniband/uverbs`*N*) a job of an "
                               "`efa` partition gets: the EFA interfaces of its instance type "
                               "(1 to 32, e.g. 32 on p5.48xlarge).  Default 1."),
    "instance_type": ("string", "The one EC2 instance type of the partition's multi-node jobs "
                                "(the node group's `instanceTypes`: Batch runs every node of "
                                "a multi-node job on the same type), e.g. "
                                "`\"hpc7a.48xlarge\"`.  Default: any type of the compute "
                                "environment."),
    "job_role_arn": ("string", "The IAM role the partition's containers run as "
                               "(`jobRoleArn`; overrides `aws.job_role_arn`).  It needs "
                               "s3:GetObject on the `s3_bucket`'s `slurmshim/` prefix."),
}

TOML_AWS_INTRO = """\
The `[aws]` table; the standard AWS environment variables and profiles apply to what it does \
not set."""

TOML_AWS = {
    "region": ("string", "The AWS region (else `AWS_REGION`, `AWS_DEFAULT_REGION` or the "
                         "profile's)."),
    "profile": ("string", "The AWS profile (else `AWS_PROFILE`)."),
    "endpoint_url": ("string", "A custom endpoint for every AWS service (testing with an "
                               "emulator); `AWS_ENDPOINT_URL` works too."),
    "s3_bucket": ("string", "A bucket where scripts too large to travel inside `SubmitJob` "
                            "are staged."),
    "image": ("string", "The default container image of Batch partitions."),
    "log_group": ("string", "The CloudWatch Logs group of the jobs' output (`sattach`, "
                            "`slurmshim output`).  Default `/aws/batch/job`."),
    "mounts": ("table", "Shared filesystems: *host path* `=` *container path*, mounted into "
                        "every Batch job (FSx for Lustre, EFS, ...), so that paths in job "
                        "scripts work on both sides."),
    "job_role_arn": ("string", "The IAM role of every Batch job's container (`jobRoleArn`) "
                               "unless its partition names one; without any, containers use "
                               "the instance role."),
}

TOML_ERRORS = """\
A malformed file is a one-line error naming the file and the key, e.g. \
`slurmshim: error: /etc/slurmshim/slurmshim.toml: partitions.gpu.job_queue: required for a \
batch partition`; unknown keys are errors too, so that a typo never goes unnoticed."""

TOML_ENV = [
    ("SLURMSHIM_CONF", "The file to read."),
    ("XDG_CONFIG_HOME", "Where the per-user file is looked for (default `~/.config`)."),
    ("SLURMSHIM_STATE_DIR", "Overrides `state_dir`."),
    ("XDG_STATE_HOME", "Where the default state directory is (default `~/.local/state`)."),
]

TOML_EXAMPLES = (
    ("A local partition for tests and a Spot queue with an on-demand route for multi-node "
     "jobs:", """\
cluster_name = "mycluster"
min_job_age = 300

[partitions.local]
backend = "local"
nodes = 4
max_time = "2-00:00:00"

[partitions.cpu]
backend = "batch"
default = true
job_queue = "cpu-spot"
mnp_queue = "cpu-ondemand"
spot = true
retries = 3
cpus_per_node = 64
mem_per_node = "256G"

[aws]
region = "us-east-1"
s3_bucket = "my-bucket"
image = "public.ecr.aws/amazonlinux/amazonlinux:2023"

[aws.mounts]
"/fsx" = "/fsx\""""),
)

__all__ = [n for n in dir() if n.isupper()]
