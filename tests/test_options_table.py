"""The sbatch/srun option table (slurmshim.slurm.options): complete, consistent, and the same
getopt table, optstring, --help and --usage as Slurm 25.11.7 (src/common/slurm_opt.c,
src/sbatch/opt.c, doc/man/man1/sbatch.1 at tag slurm-25-11-7-1)."""
from __future__ import annotations

import pytest

from slurmshim.model import JobSpec
from slurmshim.slurm import options as O
from slurmshim.slurm.getopt import NO_ARGUMENT, OPTIONAL_ARGUMENT, REQUIRED_ARGUMENT

# every option of the sbatch(1) 25.11 man page, with its short letter
MAN_OPTIONS = [('account', 'A'), ('acctg-freq', None), ('array', 'a'), ('batch', None), ('bb', None), ('bbf', None), ('begin', 'b'), ('chdir', 'D'), ('cluster-constraint', None), ('clusters', 'M'), ('comment', None), ('consolidate-segments', None), ('constraint', 'C'), ('container', None), ('container-id', None), ('contiguous', None), ('core-spec', 'S'), ('cores-per-socket', None), ('cpu-freq', None), ('cpus-per-gpu', None), ('cpus-per-task', 'c'), ('deadline', None), ('delay-boot', None), ('dependency', 'd'), ('distribution', 'm'), ('error', 'e'), ('exclude', 'x'), ('exclusive', None), ('export', None), ('export-file', None), ('extra', None), ('extra-node-info', 'B'), ('get-user-env', None), ('gid', None), ('gpu-bind', None), ('gpu-freq', None), ('gpus', 'G'), ('gpus-per-node', None), ('gpus-per-socket', None), ('gpus-per-task', None), ('gres', None), ('gres-flags', None), ('help', 'h'), ('hint', None), ('hold', 'H'), ('ignore-pbs', None), ('input', 'i'), ('job-name', 'J'), ('kill-on-invalid-dep', None), ('licenses', 'L'), ('mail-type', None), ('mail-user', None), ('mcs-label', None), ('mem', None), ('mem-bind', None), ('mem-per-cpu', None), ('mem-per-gpu', None), ('mincpus', None), ('network', None), ('nice', None), ('no-kill', 'k'), ('no-requeue', None), ('nodefile', 'F'), ('nodelist', 'w'), ('nodes', 'N'), ('ntasks', 'n'), ('ntasks-per-core', None), ('ntasks-per-gpu', None), ('ntasks-per-node', None), ('ntasks-per-socket', None), ('oom-kill-step', None), ('open-mode', None), ('output', 'o'), ('overcommit', 'O'), ('oversubscribe', 's'), ('parsable', None), ('partition', 'p'), ('prefer', None), ('priority', None), ('profile', None), ('propagate', None), ('qos', 'q'), ('quiet', 'Q'), ('reboot', None), ('requeue', None), ('reservation', None), ('resources', None), ('resv-ports', None), ('segment', None), ('signal', None), ('sockets-per-node', None), ('spread-job', None), ('spread-segments', None), ('stepmgr', None), ('switches', None), ('test-only', None), ('thread-spec', None), ('threads-per-core', None), ('time', 't'), ('time-min', None), ('tmp', None), ('tres-bind', None), ('tres-per-task', None), ('uid', None), ('usage', None), ('use-min-nodes', None), ('verbose', 'v'), ('version', 'V'), ('wait', 'W'), ('wait-all-nodes', None), ('wckey', None), ('wrap', None)]

# the man page's INPUT ENVIRONMENT VARIABLES that stand for options
MAN_ENV = {
    "SBATCH_ACCOUNT": "account", "SBATCH_ACCTG_FREQ": "acctg-freq", "SBATCH_ARRAY_INX": "array",
    "SBATCH_BATCH": "batch", "SBATCH_CLUSTERS": "clusters", "SLURM_CLUSTERS": "clusters",
    "SBATCH_CONSTRAINT": "constraint", "SBATCH_CONTAINER": "container",
    "SBATCH_CONTAINER_ID": "container-id", "SBATCH_CORE_SPEC": "core-spec",
    "SBATCH_CPUS_PER_GPU": "cpus-per-gpu", "SBATCH_DEBUG": "verbose",
    "SBATCH_DELAY_BOOT": "delay-boot", "SBATCH_DISTRIBUTION": "distribution",
    "SBATCH_ERROR": "error", "SBATCH_EXCLUSIVE": "exclusive", "SBATCH_EXPORT": "export",
    "SBATCH_GET_USER_ENV": "get-user-env", "SBATCH_GPU_BIND": "gpu-bind",
    "SBATCH_GPU_FREQ": "gpu-freq", "SBATCH_GPUS": "gpus", "SBATCH_GPUS_PER_NODE": "gpus-per-node",
    "SBATCH_GPUS_PER_TASK": "gpus-per-task", "SBATCH_GRES": "gres",
    "SBATCH_GRES_FLAGS": "gres-flags", "SBATCH_HINT": "hint", "SLURM_HINT": "hint",
    "SBATCH_IGNORE_PBS": "ignore-pbs", "SBATCH_INPUT": "input", "SBATCH_JOB_NAME": "job-name",
    "SBATCH_MEM_BIND": "mem-bind", "SBATCH_MEM_PER_CPU": "mem-per-cpu",
    "SBATCH_MEM_PER_GPU": "mem-per-gpu", "SBATCH_MEM_PER_NODE": "mem",
    "SBATCH_NETWORK": "network", "SBATCH_NO_KILL": "no-kill", "SBATCH_NO_REQUEUE": "no-requeue",
    "SBATCH_OPEN_MODE": "open-mode", "SBATCH_OUTPUT": "output",
    "SBATCH_OVERCOMMIT": "overcommit", "SBATCH_PARTITION": "partition",
    "SBATCH_PROFILE": "profile", "SBATCH_QOS": "qos", "SBATCH_REQUEUE": "requeue",
    "SBATCH_RESERVATION": "reservation", "SBATCH_SEGMENT_SIZE": "segment",
    "SBATCH_SIGNAL": "signal", "SBATCH_SPREAD_JOB": "spread-job",
    "SBATCH_THREAD_SPEC": "thread-spec", "SBATCH_THREADS_PER_CORE": "threads-per-core",
    "SBATCH_TIMELIMIT": "time", "SBATCH_TRES_BIND": "tres-bind",
    "SBATCH_TRES_PER_TASK": "tres-per-task", "SBATCH_USE_MIN_NODES": "use-min-nodes",
    "SBATCH_WAIT": "wait", "SBATCH_WAIT_ALL_NODES": "wait-all-nodes", "SBATCH_WCKEY": "wckey",
}

# getopt tables Slurm builds (slurm_option_table_create) for sbatch and srun, in order
SBATCH_GETOPT = [('account', 1), ('acctg-freq', 1), ('array', 1), ('autocomplete', 1), ('batch', 1), ('begin', 1), ('bb', 1), ('bbf', 1), ('cluster-constraint', 1), ('chdir', 1), ('cluster', 1), ('clusters', 1), ('comment', 1), ('consolidate-segments', 0), ('container', 1), ('container-id', 1), ('context', 1), ('contiguous', 0), ('constraint', 1), ('core-spec', 1), ('cores-per-socket', 1), ('cpu-freq', 1), ('cpus-per-gpu', 1), ('cpus-per-task', 1), ('deadline', 1), ('delay-boot', 1), ('dependency', 1), ('distribution', 1), ('error', 1), ('exclude', 1), ('exclusive', 2), ('export', 1), ('export-file', 1), ('external', 0), ('extra', 1), ('extra-node-info', 1), ('get-user-env', 0), ('gid', 1), ('gpu-bind', 1), ('gpu-freq', 1), ('gpus', 1), ('gpus-per-node', 1), ('gpus-per-socket', 1), ('gpus-per-task', 1), ('gres', 1), ('gres-flags', 1), ('help', 0), ('hint', 1), ('hold', 0), ('ignore-pbs', 0), ('input', 1), ('job-name', 1), ('kill-on-invalid-dep', 1), ('licenses', 1), ('mail-type', 1), ('mail-user', 1), ('mcs-label', 1), ('mem', 1), ('mem-bind', 1), ('mem-per-cpu', 1), ('mem-per-gpu', 1), ('mincpus', 1), ('network', 1), ('nice', 2), ('no-kill', 2), ('no-requeue', 0), ('nodefile', 1), ('nodelist', 1), ('nodes', 1), ('ntasks', 1), ('ntasks-per-core', 1), ('ntasks-per-gpu', 1), ('ntasks-per-node', 1), ('ntasks-per-socket', 1), ('ntasks-per-tres', 1), ('oom-kill-step', 2), ('open-mode', 1), ('output', 1), ('overcommit', 0), ('oversubscribe', 0), ('parsable', 0), ('partition', 1), ('prefer', 1), ('priority', 1), ('profile', 1), ('propagate', 2), ('qos', 1), ('quiet', 0), ('reboot', 0), ('requeue', 2), ('resources', 1), ('reservation', 1), ('resv-ports', 2), ('segment', 1), ('signal', 1), ('sockets-per-node', 1), ('spread-job', 0), ('spread-segments', 0), ('stepmgr', 0), ('switches', 1), ('tasks-per-node', 1), ('test-only', 0), ('thread-spec', 1), ('threads-per-core', 1), ('time', 1), ('time-min', 1), ('tmp', 1), ('tres-bind', 1), ('tres-per-task', 1), ('uid', 1), ('use-min-nodes', 0), ('verbose', 0), ('version', 0), ('usage', 0), ('wait', 0), ('wait-all-nodes', 1), ('wckey', 1), ('wrap', 1)]
SBATCH_OPTSTRING = "+A:a:b:D:M:C:S:c:d:m:e:x:B:G:hHi:J:L:k::F:w:N:n:o:Osp:q:Qt:vVW"
SRUN_GETOPT = [('accel-bind', 1), ('account', 1), ('acctg-freq', 1), ('autocomplete', 1), ('bcast', 2), ('bcast-exclude', 1), ('begin', 1), ('bb', 1), ('bbf', 1), ('cluster-constraint', 1), ('chdir', 1), ('cluster', 1), ('clusters', 1), ('comment', 1), ('compress', 2), ('consolidate-segments', 0), ('container', 1), ('container-id', 1), ('context', 1), ('contiguous', 0), ('constraint', 1), ('core-spec', 1), ('cores-per-socket', 1), ('cpu-bind', 1), ('cpu_bind', 1), ('cpu-freq', 1), ('cpus-per-gpu', 1), ('cpus-per-task', 1), ('deadline', 1), ('debugger-test', 0), ('delay-boot', 1), ('dependency', 1), ('disable-status', 0), ('distribution', 1), ('epilog', 1), ('error', 1), ('exact', 0), ('exclude', 1), ('exclusive', 2), ('export', 1), ('external-launcher', 2), ('extra', 1), ('extra-node-info', 1), ('gpu-bind', 1), ('gpu-freq', 1), ('gpus', 1), ('gpus-per-node', 1), ('gpus-per-socket', 1), ('gpus-per-task', 1), ('gres', 1), ('gres-flags', 1), ('help', 0), ('het-group', 1), ('hint', 1), ('hold', 0), ('immediate', 2), ('input', 1), ('interactive', 0), ('jobid', 1), ('job-name', 1), ('kill-on-bad-exit', 2), ('label', 0), ('licenses', 1), ('mail-type', 1), ('mail-user', 1), ('threads', 1), ('mcs-label', 1), ('mem', 1), ('mem-bind', 1), ('mem-per-cpu', 1), ('mem-per-gpu', 1), ('mincpus', 1), ('mpi', 1), ('msg-timeout', 1), ('multi-prog', 0), ('network', 1), ('nice', 2), ('no-allocate', 0), ('no-kill', 2), ('nodefile', 1), ('nodelist', 1), ('nodes', 1), ('ntasks', 1), ('ntasks-per-core', 1), ('ntasks-per-gpu', 1), ('ntasks-per-node', 1), ('ntasks-per-socket', 1), ('ntasks-per-tres', 1), ('oom-kill-step', 2), ('open-mode', 1), ('output', 1), ('overcommit', 0), ('overlap', 2), ('oversubscribe', 0), ('pack-group', 1), ('partition', 1), ('prefer', 1), ('preserve-env', 0), ('priority', 1), ('profile', 1), ('prolog', 1), ('propagate', 2), ('pty', 2), ('qos', 1), ('quiet', 0), ('quit-on-interrupt', 0), ('reboot', 0), ('relative', 1), ('resources', 1), ('reservation', 1), ('resv-ports', 2), ('segment', 1), ('send-libs', 2), ('signal', 1), ('slurmd-debug', 1), ('sockets-per-node', 1), ('spread-job', 0), ('spread-segments', 0), ('stepmgr', 0), ('switches', 1), ('task-epilog', 1), ('task-prolog', 1), ('tasks-per-node', 1), ('test-only', 0), ('thread-spec', 1), ('threads-per-core', 1), ('time', 1), ('time-min', 1), ('tmp', 1), ('treewidth', 1), ('tres-bind', 1), ('tres-per-task', 1), ('unbuffered', 0), ('use-min-nodes', 0), ('verbose', 0), ('version', 0), ('usage', 0), ('wait', 1), ('wait-for-children', 0), ('wckey', 1), ('whole', 0), ('x11', 2)]
SRUN_OPTSTRING = "+A:b:D:M:C:S:c:d:Xm:e:x:B:G:hHI::i:J:K::lL:T:Zk::F:w:N:n:o:Osp:Eq:Qr:t:uvVW:"

SLURM_HELP = "Usage: sbatch [OPTIONS(0)...] [ : [OPTIONS(N)...]] script(0) [args(0)...]\n\nParallel run options:\n  -a, --array=indexes         job array index values\n  -A, --account=name          charge job to specified account\n      --bb=<spec>             burst buffer specifications\n      --bbf=<file_name>       burst buffer specification file\n  -b, --begin=time            defer job until HH:MM MM/DD/YY\n      --comment=name          arbitrary comment\n      --cpu-freq=min[-max[:gov]] requested cpu frequency (and governor)\n  -c, --cpus-per-task=ncpus   number of cpus required per task\n  -d, --dependency=type:jobid[:time] defer job until condition on jobid is satisfied\n      --deadline=time         remove the job if no ending possible before\n                              this deadline (start > (deadline - time[-min]))\n      --delay-boot=mins       delay boot for desired node features\n  -D, --chdir=directory       set working directory for batch script\n  -e, --error=err             file for batch script's standard error\n      --export[=names]        specify environment variables to export\n      --export-file=file|fd   specify environment variables file or file\n                              descriptor to export\n      --get-user-env          load environment from local cluster\n      --gid=group_id          group ID to run job as (user root only)\n      --gres=list             required generic resources per node\n      --gres-flags=opts       flags related to GRES management\n  -H, --hold                  submit job in held state\n      --ignore-pbs            Ignore #PBS and #BSUB options in the batch script\n  -i, --input=in              file for batch script's standard input\n  -J, --job-name=jobname      name of job\n  -k, --no-kill               do not kill job on node failure\n  -L, --licenses=names        required license, comma separated\n  -M, --clusters=names        Comma separated list of clusters to issue\n                              commands to.  Default is current cluster.\n                              Name of 'all' will submit to run on all clusters.\n                              NOTE: SlurmDBD must up.\n      --container             Path to OCI container bundle\n      --container-id          OCI container ID\n  -m, --distribution=type     distribution method for processes to nodes\n                              (type = block|cyclic|arbitrary)\n      --mail-type=type        notify on state change: BEGIN, END, FAIL or ALL\n      --mail-user=user        who to send email notification for job state\n                              changes\n      --mcs-label=mcs         mcs label if mcs plugin mcs/group is used\n  -n, --ntasks=ntasks         number of tasks to run\n      --nice[=value]          decrease scheduling priority by value\n      --no-requeue            if set, do not permit the job to be requeued\n      --ntasks-per-node=n     number of tasks to invoke on each node\n  -N, --nodes=N               number of nodes on which to run (N = min[-max])\n      --oom-kill-step[=0|1]   set the OOMKillStep behaviour\n  -o, --output=out            file for batch script's standard output\n  -O, --overcommit            overcommit resources\n  -p, --partition=partition   partition requested\n      --parsable              outputs only the jobid and cluster name (if present),\n                              separated by semicolon, only on successful submission.\n      --power=flags           power management options\n      --priority=value        set the priority of the job to value\n      --profile=value         enable acct_gather_profile for detailed data\n                              value is all or none or any combination of\n                              energy, lustre, network or task\n      --propagate[=rlimits]   propagate all [or specific list of] rlimits\n  -q, --qos=qos               quality of service\n  -Q, --quiet                 quiet mode (suppress informational messages)\n      --reboot                reboot compute nodes before starting job\n      --requeue[=expedite]   if set, permit the job to be requeued\n  -s, --oversubscribe         over subscribe resources with other jobs\n  -S, --core-spec=cores       count of reserved cores\n      --signal=[[R][B]:]num[@time] send signal when time limit within time seconds\n      --spread-job            spread job across as many nodes as possible\n      --spread-segments       spread job segments across separate base blocks\n      --switches=max-switches{@max-time-to-wait}\n                              Optimum switches and max time to wait for optimum\n      --thread-spec=threads   count of reserved threads\n  -t, --time=minutes          time limit\n      --time-min=minutes      minimum time limit (if distinct)\n      --tres-bind=...         task to tres binding options\n      --tres-per-task=list    list of tres required per task\n      --uid=user_id           user ID to run job as (user root only)\n      --use-min-nodes         if a range of node counts is given, prefer the\n                              smaller count\n  -v, --verbose               verbose mode (multiple -v's increase verbosity)\n  -W, --wait                  wait for completion of submitted job\n      --wckey=wckey           wckey to run job under\n      --wrap[=command string] wrap command string in a sh script and submit\n\nConstraint options:\n      --cluster-constraint=[!]list specify a list of cluster constraints\n      --contiguous            demand a contiguous range of nodes\n  -C, --constraint=list       specify a list of constraints\n  -F, --nodefile=filename     request a specific list of hosts\n      --mem=MB                minimum amount of real memory\n      --mincpus=n             minimum number of logical processors (threads)\n                              per node\n      --reservation=name      allocate resources from named reservation\n      --tmp=MB                minimum amount of temporary disk\n  -w, --nodelist=hosts...     request a specific list of hosts\n  -x, --exclude=hosts...      exclude a specific list of hosts\n\nConsumable resources related options:\n      --exclusive[=user]      allocate nodes in exclusive mode when\n                              cpu consumable resource is enabled\n      --exclusive[=mcs]       allocate nodes in exclusive mode when\n                              cpu consumable resource is enabled\n                              and mcs plugin is enabled\n      --mem-per-cpu=MB        maximum amount of real memory per allocated\n                              cpu required by the job.\n                              --mem >= --mem-per-cpu if --mem is specified.\n      --resv-ports            reserve communication ports\n\nAffinity/Multi-core options: (when the task/affinity plugin is enabled)\n                              For the following 4 options, you are\n                              specifying the minimum resources available for\n                              the node(s) allocated to the job.\n      --sockets-per-node=S    number of sockets per node to allocate\n      --cores-per-socket=C    number of cores per socket to allocate\n      --threads-per-core=T    number of threads per core to allocate\n  -B, --extra-node-info=S[:C[:T]]  combine request of sockets per node,\n                              cores per socket and threads per core.\n                              Specify an asterisk (*) as a placeholder,\n                              a minimum value, or a min-max range.\n\n      --ntasks-per-core=n     number of tasks to invoke on each core\n      --ntasks-per-socket=n   number of tasks to invoke on each socket\n\nGPU scheduling options:\n      --cpus-per-gpu=n        number of CPUs required per allocated GPU\n  -G, --gpus=n                count of GPUs required for the job\n      --gpu-bind=...          task to gpu binding options\n      --gpu-freq=...          frequency and voltage of GPUs\n      --gpus-per-node=n       number of GPUs required per allocated node\n      --gpus-per-socket=n     number of GPUs required per allocated socket\n      --gpus-per-task=n       number of GPUs required per spawned task\n      --mem-per-gpu=n         real memory required per allocated GPU\n\nHelp options:\n  -h, --help                  show this help message\n      --usage                 display brief usage message\n\nOther options:\n  -V, --version               output version information and exit\n\n"

SLURM_USAGE = 'Usage: sbatch [-N nnodes] [-n ntasks]\n              [-c ncpus] [-r n] [-p partition] [--hold] [--parsable] [-t minutes]\n              [-D path] [--no-kill] [--overcommit]\n              [--input file] [--output file] [--error file]\n              [--time-min=minutes] [--licenses=names] [--clusters=cluster_names]\n              [--chdir=directory] [--oversubscribe] [-m dist] [-J jobname]\n              [--verbose] [--gid=group] [--uid=user]\n              [--contiguous] [--mincpus=n] [--mem=MB] [--tmp=MB] [-C list]\n              [--account=name] [--dependency=type:jobid[+time]] [--comment=name]\n              [--mail-type=type] [--mail-user=user] [--nice[=value]] [--wait]\n              [--requeue[=expedite]] [--no-requeue] [--ntasks-per-node=n]\n              [--propagate] [--nodefile=file] [--nodelist=hosts] [--exclude=hosts]\n              [--network=type] [--mem-per-cpu=MB] [--qos=qos] [--gres=list]\n              [--mem-bind=...] [--reservation=name] [--mcs-label=mcs]\n              [--cpu-freq=min[-max[:gov]]] [--power=flags] [--gres-flags=opts]\n              [--switches=max-switches{@max-time-to-wait}] [--reboot]\n              [--core-spec=cores] [--thread-spec=threads]\n              [--bb=burst_buffer_spec] [--bbf=burst_buffer_file]\n              [--array=index_values] [--profile=...] [--ignore-pbs] [--spread-job]\n              [--spread-segments]\n              [--export[=names]] [--export-file=file|fd] [--delay-boot=mins]\n              [--use-min-nodes]\n              [--cpus-per-gpu=n] [--gpus=n] [--gpu-bind=...] [--gpu-freq=...]\n              [--gpus-per-node=n] [--gpus-per-socket=n] [--gpus-per-task=n]\n              [--mem-per-gpu=MB] [--tres-bind=...] [--tres-per-task=list]\n              [--oom-kill-step[=0|1]]\n              executable [args...]\n'

HAS = {O.NONE: NO_ARGUMENT, O.REQUIRED: REQUIRED_ARGUMENT, O.OPTIONAL: OPTIONAL_ARGUMENT}


@pytest.mark.parametrize("name,short", MAN_OPTIONS, ids=[n for n, _ in MAN_OPTIONS])
def test_every_man_page_option_has_a_row(name, short):
    row = O.BY_NAME["sbatch"][name]
    assert row.short == short
    assert row.support_for("sbatch") in O.SUPPORT_LEVELS
    assert row.meaning
    assert row.apply is not None


@pytest.mark.parametrize("var,name", sorted(MAN_ENV.items()))
def test_every_input_variable_maps_to_its_option(var, name):
    assert O.env_option(var) is O.BY_NAME["sbatch"][name]
    assert var in O.BY_NAME["sbatch"][name].env


def test_env_order_lists_only_known_options():
    for var, name in O.SBATCH_EARLY_ENV + O.SBATCH_ENV_ORDER:
        assert name.startswith("-") or name in O.BY_NAME["sbatch"], var
    names = [v for v, _ in O.SBATCH_EARLY_ENV + O.SBATCH_ENV_ORDER]
    assert len(names) == len(set(names))


def test_rows_are_consistent():
    for row in O.iter_rows():
        assert row.meaning, row.long
        assert row.arg in (O.NONE, O.REQUIRED, O.OPTIONAL)
        assert row.support in O.SUPPORT_LEVELS, row.long
        assert row.support_for("srun") in O.SUPPORT_LEVELS, row.long
        for cmd in row.commands:
            if row.support_for(cmd) != "mapped":
                assert row.reason_for(cmd), (row.long, cmd)
        assert row.commands <= {"sbatch", "srun"}
        assert row.commands, row.long


def test_rows_are_what_option_row_makes():
    # the table's rows come from _make_row, a faster OptionRow(): the same row, frozen as well
    for row in O.ROWS + (O.SRUN_WAIT,):
        made = O.OptionRow(**row.__dict__)
        assert made == row and hash(made) == hash(row), row.long
        assert list(vars(made).items()) == list(vars(row).items()), row.long
    with pytest.raises(AttributeError):
        O.ROWS[0].long = "other"
    with pytest.raises(TypeError, match="no field"):
        O._make_row("x", hepl="typo")


@pytest.mark.parametrize("cmd", ["sbatch", "srun"])
def test_no_duplicate_names_or_letters(cmd):
    names, shorts = [], []
    for row in O.rows_for(cmd):
        names += list(row.names)
        if row.short:
            shorts.append(row.short)
    assert len(names) == len(set(names))
    assert len(shorts) == len(set(shorts))


def test_sbatch_getopt_table_is_slurms():
    got = [(o.long, o.has_arg) for o in O.getopt_options("sbatch")]
    assert got == SBATCH_GETOPT
    shorts = "+" + "".join(o.short + {0: "", 1: ":", 2: "::"}[o.has_arg]
                           for o in O.getopt_options("sbatch") if o.short)
    assert sorted(shorts[1:].replace(":", "")) == sorted(SBATCH_OPTSTRING[1:].replace(":", ""))
    for o in O.getopt_options("sbatch"):
        if o.short:
            i = SBATCH_OPTSTRING.index(o.short)
            tail = SBATCH_OPTSTRING[i + 1:i + 3]
            want = 2 if tail == "::" else 1 if tail[:1] == ":" else 0
            assert o.has_arg == want, o.long


def test_srun_getopt_table_is_slurms():
    got = [(o.long, o.has_arg) for o in O.getopt_options("srun")]
    assert got == SRUN_GETOPT
    for o in O.getopt_options("srun"):
        if o.short:
            i = SRUN_OPTSTRING.index(o.short)
            tail = SRUN_OPTSTRING[i + 1:i + 3]
            want = 2 if tail == "::" else 1 if tail[:1] == ":" else 0
            assert o.has_arg == want, o.long
    assert sorted(o.short for o in O.getopt_options("srun") if o.short) == \
        sorted(SRUN_OPTSTRING[1:].replace(":", ""))


def test_srun_wait_is_a_different_option():
    assert O.BY_NAME["srun"]["wait"].arg == O.REQUIRED
    assert O.BY_NAME["sbatch"]["wait"].arg == O.NONE


def test_aliases_share_their_row():
    assert O.BY_NAME["sbatch"]["tasks-per-node"] is O.BY_NAME["sbatch"]["ntasks-per-node"]
    assert O.BY_NAME["srun"]["cpu_bind"] is O.BY_NAME["srun"]["cpu-bind"]
    assert O.BY_NAME["srun"]["pack-group"] is O.BY_NAME["srun"]["het-group"]


def test_help_is_slurms_byte_for_byte():
    assert O.help_text("sbatch") == SLURM_HELP


def test_usage_is_slurms_byte_for_byte():
    assert O.usage_text("sbatch") == SLURM_USAGE


def test_help_lines_come_from_the_rows():
    for row in O.rows_for("sbatch"):
        if row.help:
            assert row.help in SLURM_HELP, row.long
        if row.usage:
            assert row.usage in SLURM_USAGE, row.long


def test_srun_help_lists_srun_options():
    text = O.help_text("srun")
    assert "--label" in text and "--wrap" not in text


def test_version():
    assert O.SLURM_VERSION == "slurm 25.11.7"


def test_autocomplete_like_suggest_completion():
    assert O.autocomplete("--mem") == "--mem=\n--mem-bind=\n--mem-per-cpu=\n--mem-per-gpu=\n\n"
    assert O.autocomplete("--nic") == "--nice=\n--nice \n\n"
    assert O.autocomplete("--hol") == "--hold\n\n"
    assert O.autocomplete("-H") == "-H\n\n"
    assert O.autocomplete("zzz") == ""
    assert O.autocomplete("") == ""


def test_support_levels_users_expect():
    sb = O.BY_NAME["sbatch"]
    for name in ("nodes", "ntasks", "cpus-per-task", "mem", "mem-per-cpu", "time", "array",
                 "dependency", "output", "error", "input", "chdir", "job-name", "partition",
                 "account", "qos", "comment", "hold", "export", "signal", "requeue",
                 "no-requeue", "nice", "priority", "begin", "wait", "parsable", "quiet",
                 "test-only", "wrap", "gres", "gpus", "gpus-per-node", "gpus-per-task",
                 "constraint", "exclusive", "help", "usage", "version"):
        assert sb[name].support == "mapped", name
    for name in ("mail-type", "mail-user"):
        assert sb[name].support == "approximated"
    for name in ("reservation", "switches", "core-spec"):
        assert sb[name].support in ("approximated", "ignored")
    for name in ("clusters", "bb", "bbf", "export-file", "container"):
        assert sb[name].support == "rejected"


def test_support_report_covers_every_row():
    rep = O.support_report("sbatch")
    assert len(rep) == len(O.rows_for("sbatch"))
    assert all(level in O.SUPPORT_LEVELS and text for _, level, text in rep)


@pytest.mark.parametrize("text,ok", [
    ("5", 5), (" 7", 7), ("+3", 3), ("0", None), ("-1", None), ("5x", None), ("", None),
    ("2147483647", "big"), ("99999999999999999999", "big")])
def test_parse_int_like_slurm(text, ok):
    if ok is None:
        with pytest.raises(O.SlurmError) as exc:
            O.parse_int("--ntasks", text, True)
        assert exc.value.message == f'Invalid numeric value "{text}" for --ntasks.'
        assert exc.value.exit_code == 1
    elif ok == "big":
        with pytest.raises(O.SlurmError) as exc:
            O.parse_int("--ntasks", text, True)
        assert "too large for --ntasks." in exc.value.message
    else:
        assert O.parse_int("--ntasks", text, True) == ok


@pytest.mark.parametrize("text,want", [
    ("2", (2, 2)), ("2-4", (2, 4)), ("1k", (1024, 1024)), ("-4", (1, 4)),
    ("1,2,4", (1, 4)), ("2-8:2", (2, 8))])
def test_node_counts(text, want):
    assert O.verify_node_count(text) == want


@pytest.mark.parametrize("text,msg", [
    ("abc", '"abc" is not a valid node count'),
    ("4-2", "Maximum node count 2 is less than minimum node count 4"),
    ("3-", "Maximum node count -1 is less than minimum node count 3"),
    ("2x", '"2x" is not a valid node count')])
def test_bad_node_counts(text, msg):
    with pytest.raises(O.SlurmError) as exc:
        O.verify_node_count(text)
    assert exc.value.message == msg and exc.value.exit_code == 255


def test_handlers_never_touch_unrelated_state():
    spec = JobSpec()
    ctx = O.ApplyContext(now=1.0e9, cwd="/w")
    O.BY_NAME["sbatch"]["chdir"].apply(spec, "sub", ctx)
    assert spec.work_dir == "/w/sub"
    O.BY_NAME["sbatch"]["output"].apply(spec, "none", ctx)
    assert spec.output == "/dev/null"
