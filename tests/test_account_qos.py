"""Account and QOS in every view, end to end through the real commands, against the Slurm 25.11
captures: a job without --account / --qos is charged to the default account and runs under the
default QOS, as the reference cluster shows them (`Account=root QOS=normal`, squeue's ACCOUNT
`root`, sacct's Account `root`, SLURM_JOB_ACCOUNT=root and SLURM_JOB_QOS=normal in the job);
`--account=X` / `--qos=Y` (or -A/-q, #SBATCH, SBATCH_ACCOUNT/SBATCH_QOS) show X and Y."""
from __future__ import annotations

import re
from pathlib import Path

from slurm_cluster import Cluster

from slurmshim.model import DEFAULT_ACCOUNT, DEFAULT_QOS

CAPTURES = Path("/work/shared/reference/real-slurm-25.11")


def _capture_line(name: str, pattern: str) -> str:
    """The first line of a capture that matches `pattern`."""
    for line in (CAPTURES / name).read_text().splitlines():
        if re.search(pattern, line):
            return line
    raise AssertionError(f"{pattern!r} not in {name}")


def test_defaults_are_the_reference_clusters():
    # scontrol show job of a held job (30) and of a running one (31)
    assert _capture_line("30_scontrol_show_job_held.txt", "Account=") == \
        f"   Priority=0 Nice=0 Account={DEFAULT_ACCOUNT} QOS={DEFAULT_QOS}"
    assert _capture_line("31_scontrol_show_job_running.txt", "Account=") == \
        f"   Priority=1 Nice=0 Account={DEFAULT_ACCOUNT} QOS={DEFAULT_QOS}"
    # the job's environment (70)
    assert _capture_line("70_env_single.txt", "^SLURM_JOB_ACCOUNT=") == \
        f"SLURM_JOB_ACCOUNT={DEFAULT_ACCOUNT}"
    assert _capture_line("70_env_single.txt", "^SLURM_JOB_QOS=") == f"SLURM_JOB_QOS={DEFAULT_QOS}"


def test_account_and_qos_in_every_view(tmp_path):
    c = Cluster(tmp_path)
    c.script("h.sh", "#!/bin/bash\ntrue\n")
    c.script("d.sh", "#!/bin/bash\n#SBATCH -A chem\n#SBATCH -q low\ntrue\n")
    plain = str(c.submit("-H", "h.sh"))
    given = str(c.submit("-H", "--account=physics", "--qos=high", "h.sh"))
    short = str(c.submit("-H", "d.sh"))
    env = c.run("sbatch", "--parsable", "-H", "h.sh",
                env={"SBATCH_ACCOUNT": "bio", "SBATCH_QOS": "debug"})
    assert env.returncode == 0, env.stderr
    by_env = env.stdout.strip()
    jobs = (plain, given, short, by_env)
    want = {plain: ("root", "normal"), given: ("physics", "high"), short: ("chem", "low"),
            by_env: ("bio", "debug")}
    try:
        # squeue %a %q (48: `%a` is the ACCOUNT, e.g. `77 root 77 3 ...`)
        res = c.run("squeue", "-h", "-o", "%i %a %q", "-j", ",".join(jobs))
        assert res.returncode == 0, res.stderr
        assert sorted(res.stdout.splitlines()) == sorted(f"{j} {a} {q}"
                                                         for j, (a, q) in want.items())
        res = c.run("squeue", "-o", "%.18i %.10a %.10q", "-j", plain)
        assert res.stdout == (f"{'JOBID':>18} {'ACCOUNT':>10} {'QOS':>10}\n"
                              f"{plain:>18} {'root':>10} {'normal':>10}\n")
        # squeue -O: 20-character columns with the field names' titles
        res = c.run("squeue", "-O", "JobID,Account,QOS", "-j", given)
        assert res.stdout == (f"{'JOBID':<20}{'ACCOUNT':<20}{'QOS':<20}\n"
                              f"{given:<20}{'physics':<20}{'high':<20}\n")
        # scontrol show job, as the reference prints a held job (30)
        for job, (acct, qos) in want.items():
            out = c.run("scontrol", "show", "job", job).stdout
            assert f"\n   Priority=0 Nice=0 Account={acct} QOS={qos}\n" in out, out
        out = c.run("scontrol", "-o", "show", "job", plain).stdout
        assert " Priority=0 Nice=0 Account=root QOS=normal JobState=PENDING " in out
        # squeue and scancel filters see the same account and QOS
        res = c.run("squeue", "-h", "-o", "%i", "-A", "root", "-j", ",".join(jobs))
        assert res.stdout.split() == [plain]
        res = c.run("squeue", "-h", "-o", "%i", "-q", "high,debug", "-j", ",".join(jobs))
        assert sorted(res.stdout.split()) == sorted([given, by_env])
        # sacct: Account in the default format (right-justified in 10, as 81/82/88 show it),
        # QOS for the job line
        res = c.run("sacct", "-X", "-j", plain)
        assert res.stdout.splitlines()[2] == (
            f"{plain:<12} {'h.sh':>10} {'local':>10} {'root':>10} {0:>10} {'PENDING':>10} "
            f"{'0:0':>8} ")
        for job, (acct, qos) in want.items():
            res = c.run("sacct", "-X", "-n", "-P", "-j", job, "-o", "account,qos,qosraw")
            assert res.stdout == f"{acct}|{qos}|{1 if qos == 'normal' else ''}\n"
        res = c.run("sacct", "-X", "-n", "-P", "-o", "jobid", "-A", "physics,chem",
                    "-j", ",".join(jobs))
        assert sorted(res.stdout.split()) == sorted([given, short])
    finally:
        c.run("scancel", *jobs)


def test_job_environment_and_steps_carry_the_account(tmp_path):
    c = Cluster(tmp_path)
    c.script("env.sh", "#!/bin/bash\nenv | grep -E '^SLURM_JOB_(ACCOUNT|QOS)=' | sort\n"
                       "srun true\n")
    plain = str(c.submit("env.sh"))
    given = str(c.submit("-A", "physics", "--qos=high", "env.sh"))
    for job in (plain, given):
        c.wait_state(job, {"COMPLETED"})
    assert c.read(f"slurm-{plain}.out") == "SLURM_JOB_ACCOUNT=root\nSLURM_JOB_QOS=normal\n"
    assert c.read(f"slurm-{given}.out") == "SLURM_JOB_ACCOUNT=physics\nSLURM_JOB_QOS=high\n"
    # sacct: steps show the job's account (not its QOS), as sacct's print.c does
    res = c.run("sacct", "-n", "-P", "-j", given, "-o", "jobid,account,qos")
    assert res.stdout.splitlines() == [f"{given}|physics|high", f"{given}.batch|physics|",
                                       f"{given}.0|physics|"]
    res = c.run("sacct", "-j", plain, "-o", "jobid,account")
    assert res.stdout.splitlines()[2:] == [f"{plain:<12} {'root':>10} ",
                                           f"{plain + '.batch':<12} {'root':>10} ",
                                           f"{plain + '.0':<12} {'root':>10} "]
