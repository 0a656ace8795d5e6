"""Shell completion: the committed scripts are the generated ones, the fast helper reads the
ledger and the configuration without importing anything heavy, and the scripts load and
complete in real bash, zsh and fish (.ci/run installs zsh and fish; a missing shell fails
here rather than skipping)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from slurmshim.docs import completion
from slurmshim.ledger import Ledger
from slurmshim.model import JobRecord, JobSpec, JobState

ROOT = Path(__file__).resolve().parents[1]
COMPLETIONS = ROOT / "completions"
HELPER = ROOT / "slurmshim" / "cli" / "_complete.py"
REGENERATE = "run `python -m slurmshim.docs.completion` and commit completions/"


# ---------------------------------------------------------------------------------------------
# fixtures: a ledger with jobs 1 and 2 pending, an array 3 (task 3_1 running, 2-3 pending) and a
# finished job; a configuration with two partitions
# ---------------------------------------------------------------------------------------------
@pytest.fixture()
def site(tmp_path):
    state = tmp_path / "state"
    ledger = Ledger(state / "ledger.sqlite3")
    spec = JobSpec(script="#!/bin/sh\ntrue\n")
    for name in ("hello", "world"):
        ledger.submit(JobRecord(job_id=0, name=name, user="alice", partition="cpu",
                                submit_time=1.0), spec)
    meta = ledger.submit(JobRecord(job_id=0, name="arr", user="bob", partition="cpu",
                                   submit_time=1.0, array_job_id=0, array_pending=(1, 2, 3)),
                         spec, id_block=4)
    with ledger.transaction():
        task = ledger.split_array_task(meta, 1, meta.job_id + 1)
    ledger.update(task.job_id, state=JobState.RUNNING, node_list="cpu-dy-[07-08]")
    ledger.submit(JobRecord(job_id=0, name="old", user="carol", partition="gpu",
                            submit_time=1.0, state=JobState.COMPLETED), spec)
    ledger.close()
    conf = tmp_path / "slurmshim.toml"
    conf.write_text('[partitions.cpu]\nbackend = "local"\ndefault = true\nnodes = 2\n'
                    '[partitions.gpu]\nbackend = "local"\nnode_names = "gpu[1-2]"\n',
                    encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURMSHIM_")}
    env.update(SLURMSHIM_STATE_DIR=str(state), SLURMSHIM_CONF=str(conf),
               SLURMSHIM_PYTHON=sys.executable, HOME=str(tmp_path),
               XDG_CACHE_HOME=str(tmp_path / "cache"), XDG_CONFIG_HOME=str(tmp_path / "cfg"),
               XDG_STATE_HOME=str(tmp_path / "xstate"))
    return env


def helper(env, *args, file_mode=False) -> list[str]:
    cmd = ([sys.executable, "-S", "-E", str(HELPER)] if file_mode
           else [sys.executable, "-m", "slurmshim.cli._complete"])
    res = subprocess.run(cmd + list(args), capture_output=True, text=True, env=env, timeout=60,
                         cwd=str(ROOT))
    assert res.returncode == 0 and res.stderr == "", res.stderr
    return res.stdout.splitlines()


# ---------------------------------------------------------------------------------------------
# generated == committed
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("rel", sorted(completion.generated_files()))
def test_committed_script_is_current(rel):
    path = COMPLETIONS / rel
    assert path.exists(), f"completions/{rel} is missing: {REGENERATE}"
    assert path.read_text(encoding="utf-8") == completion.generated_files()[rel], \
        f"completions/{rel} differs from the generated script: {REGENERATE}"


def test_check_mode(tmp_path, capsys):
    assert completion.main(["--check"]) == 0, capsys.readouterr().out
    assert completion.main(["--dir", str(tmp_path)]) == 0
    (tmp_path / "_slurmshim").write_text("# stale\n")
    capsys.readouterr()
    assert completion.main(["--check", "--dir", str(tmp_path)]) == 1
    assert "_slurmshim" in capsys.readouterr().out


def test_completion_script_api():
    for shell in completion.SHELLS:
        text = completion.completion_script(shell)
        for cmd in ("sbatch", "srun", "squeue", "scancel", "sinfo", "sacct", "scontrol",
                    "sattach", "slurmshim"):
            assert cmd in text
    with pytest.raises(ValueError):
        completion.completion_script("tcsh")


def test_slurmshim_completion_prints_the_script():
    click_testing = pytest.importorskip("click.testing")
    from slurmshim.cli.admin import cli
    for shell in completion.SHELLS:
        res = click_testing.CliRunner().invoke(cli, ["completion", shell])
        assert res.exit_code == 0, res.output
        assert res.output == completion.completion_script(shell)


def test_every_option_is_offered():
    """Every non-hidden option of every table is in each script."""
    from slurmshim.docs import tables
    scripts = {s: completion.completion_script(s) for s in completion.SHELLS}
    for name, opts in completion.tables():
        for o in opts:
            if o.hidden:
                continue
            for n in o.longs:
                for shell, text in scripts.items():
                    assert (f"--{n}" in text) or (f"-l {n}" in text), (shell, name, n)
    assert tables.value_kinds()["mail_types"].words[:4] == ("NONE", "BEGIN", "END", "FAIL")


# ---------------------------------------------------------------------------------------------
# the helper
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("file_mode", [False, True])
def test_helper_values(site, file_mode):
    h = lambda *a: helper(site, *a, file_mode=file_mode)  # noqa: E731
    assert h("jobids") == ["1", "2", "3", "3_1"]
    assert h("jobids", "3") == ["3", "3_1"]
    assert h("jobids", "1,") == ["1,2", "1,3", "1,3_1"]
    assert h("alljobids") == ["1", "2", "3", "3_1", "7"]
    assert h("partitions") == ["cpu", "gpu"]
    assert h("partitions", "g") == ["gpu"]
    assert h("nodes") == ["node01", "node02", "gpu1", "gpu2", "cpu-dy-07", "cpu-dy-08"]
    assert h("names") == ["arr", "hello", "world"]
    assert "old" in h("allnames")
    assert {"alice", "bob", "carol"} <= set(h("users"))
    assert h("dependency", "afterok:") == ["afterok:1", "afterok:2", "afterok:3",
                                           "afterok:3_1"]
    assert h("dependency", "afterok:1,sing") == ["afterok:1,singleton"]
    assert "PENDING" in h("states") and "USR1" in h("signals")
    assert h("nonsense") == []


def test_helper_without_ledger_or_config(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURMSHIM_")}
    env.update(SLURMSHIM_STATE_DIR=str(tmp_path / "none"), HOME=str(tmp_path),
               XDG_CONFIG_HOME=str(tmp_path / "cfg"))
    assert helper(env, "jobids") == []
    assert helper(env, "partitions") == ["local"]
    assert not (tmp_path / "none").exists()          # reading never creates a ledger
    bad = tmp_path / "bad.toml"
    bad.write_text("partitions = [", encoding="utf-8")
    env["SLURMSHIM_CONF"] = str(bad)
    assert helper(env, "partitions") == ["local"]


def test_helper_caches_the_configuration(site, tmp_path):
    """TOML is parsed once per change of the file; later TABs read the small cache."""
    cache = tmp_path / "cache" / "slurmshim" / "completion-config"
    assert helper(site, "partitions") == ["cpu", "gpu"]
    assert cache.exists()
    code = ("import runpy, sys; sys.argv = ['_complete', 'partitions']\n"
            "try:\n    runpy.run_module('slurmshim.cli._complete', run_name='__main__')\n"
            "except SystemExit:\n    pass\n"
            "print('TOML' if 'tomllib' in sys.modules or 'tomli' in sys.modules else 'OK')\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=site, timeout=60, cwd=str(ROOT))
    assert res.stdout.splitlines() == ["cpu", "gpu", "OK"], res.stderr
    conf = Path(site["SLURMSHIM_CONF"])
    conf.write_text('[partitions.debug]\nbackend = "local"\n', encoding="utf-8")
    assert helper(site, "partitions") == ["debug"]
    cache.write_text("garbage", encoding="utf-8")
    assert helper(site, "partitions") == ["debug"]


def test_helper_follows_config_state_dir(site, tmp_path):
    conf = Path(site["SLURMSHIM_CONF"])
    conf.write_text(f'state_dir = "{site["SLURMSHIM_STATE_DIR"]}"\n', encoding="utf-8")
    env = dict(site)
    del env["SLURMSHIM_STATE_DIR"]
    assert helper(env, "jobids")[:2] == ["1", "2"]


@pytest.mark.parametrize("file_mode", [False, True])
def test_helper_imports_nothing_heavy(site, file_mode):
    code = ("import runpy, sys; sys.argv = ['_complete', 'jobids']\n"
            "try:\n"
            f"    runpy.run_{'path' if file_mode else 'module'}({str(HELPER)!r} if {file_mode} "
            "else 'slurmshim.cli._complete', run_name='__main__')\n"
            "except SystemExit:\n    pass\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
            "('boto3', 'botocore', 'click', 'pluggy', 'tenacity', 'tabulate') or "
            "m.startswith(('slurmshim.controller', 'slurmshim.backends', 'slurmshim.plugins', "
            "'slurmshim.config', 'slurmshim.ledger', 'slurmshim.model')))\n"
            "print('BAD', bad, file=sys.stderr) if bad else None\n")
    flags = ["-S", "-E"] if file_mode else []
    res = subprocess.run([sys.executable, *flags, "-c", code], capture_output=True, text=True,
                         env=site, timeout=60, cwd=str(ROOT))
    assert res.returncode == 0 and "BAD" not in res.stderr, res.stderr
    assert res.stdout.splitlines()[:2] == ["1", "2"]


def test_locate(site):
    out = helper(site, "--locate")
    assert len(out) == 2 and os.access(out[0], os.X_OK)
    assert Path(out[1]).resolve() == HELPER.resolve()


# ---------------------------------------------------------------------------------------------
# real shells
# ---------------------------------------------------------------------------------------------
def _shell(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: .ci/run installs it (apt-get install {name}); "
                    "the completion script for it cannot be tested")
    return path


BASH_DRIVER = r'''
source "$1"
line=$2
COMP_LINE=$line
COMP_POINT=${#line}
# split as readline does: at white space and at the '=' and ':' of COMP_WORDBREAKS
COMP_WORDS=()
read -ra raw <<< "$line"
for w in "${raw[@]}"; do
    while [[ $w =~ ^([^=:]*)([=:])(.*)$ ]]; do
        [[ -n ${BASH_REMATCH[1]} ]] && COMP_WORDS+=("${BASH_REMATCH[1]}")
        COMP_WORDS+=("${BASH_REMATCH[2]}")
        w=${BASH_REMATCH[3]}
    done
    [[ -n $w ]] && COMP_WORDS+=("$w")
done
[[ $line == *' ' ]] && COMP_WORDS+=('')
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
complete -p "${COMP_WORDS[0]}" >/dev/null || exit 3
_slurmshim "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}"
'''


def bash_complete(env, line: str, cwd=None) -> list[str]:
    bash = _shell("bash")
    res = subprocess.run([bash, "--norc", "--noprofile", "-c", BASH_DRIVER, "bash",
                          str(COMPLETIONS / "slurmshim.bash"), line],
                         capture_output=True, text=True, env=env, timeout=60, cwd=cwd)
    assert res.returncode == 0, res.stderr
    assert res.stderr == "", res.stderr
    return [x for x in res.stdout.splitlines() if x]


def test_bash_completes_job_ids(site):
    assert bash_complete(site, "scancel ") == ["1", "2", "3", "3_1"]
    assert bash_complete(site, "scancel 1,") == ["1,2", "1,3", "1,3_1"]
    assert bash_complete(site, "squeue -j ") == ["1", "2", "3", "3_1"]
    assert bash_complete(site, "squeue --jobs=2") == ["2"]
    assert bash_complete(site, "scontrol hold ") == ["1", "2", "3", "3_1"]
    assert bash_complete(site, "scontrol show job ") == ["1", "2", "3", "3_1"]
    assert bash_complete(site, "scontrol update JobId=") == ["1", "2", "3", "3_1"]
    assert bash_complete(site, "scontrol update job ") == ["1", "2", "3", "3_1"]
    assert bash_complete(site, "sattach ") == ["1", "2", "3", "3_1"]
    assert bash_complete(site, "sacct -j ") == ["1", "2", "3", "3_1", "7"]


def test_bash_completes_options_and_values(site, tmp_path):
    assert bash_complete(site, "sbatch --part") == ["--partition="]
    assert bash_complete(site, "sbatch --partition=") == ["cpu", "gpu"]
    assert bash_complete(site, "sbatch -p g") == ["gpu"]
    assert bash_complete(site, "sbatch --parti=c") == ["cpu"]             # an abbreviation
    assert bash_complete(site, "sbatch --par=c") == []        # ambiguous: --parsable too
    assert bash_complete(site, "sbatch --mail-type=BEGIN,E") == ["BEGIN,END"]
    assert bash_complete(site, "sbatch --open-mode ") == ["append", "truncate"]
    assert bash_complete(site, "sbatch --dependency=afterok:") == ["1", "2", "3", "3_1"]
    assert "TERM" in bash_complete(site, "scancel -s ")
    assert bash_complete(site, "squeue -t PD,RUNN") == ["PD,RUNNING"]
    assert bash_complete(site, "sacct -o JobI") == ["JobID", "JobIDRaw"]
    assert bash_complete(site, "sinfo -t idl") == ["idle"]
    assert bash_complete(site, "scontrol sh") == ["show"]
    assert bash_complete(site, "slurmshim completion ") == ["bash", "zsh", "fish"]
    assert "--strict" in bash_complete(site, "slurmshim check --")
    # after sbatch's script every word is the script's: files, no options
    (tmp_path / "job.sh").write_text("#!/bin/sh\n")
    (tmp_path / "job.txt").write_text("")
    assert bash_complete(site, "sbatch job.s", cwd=tmp_path) == ["job.sh"]
    assert bash_complete(site, "sbatch job.sh --par", cwd=tmp_path) == []


ZSH_DRIVER = r'''
source "$1"
# a fake compadd: print the matches, one a line (zsh itself would filter them by PREFIX)
compadd() {
    local -a m
    while (( $# )); do
        case $1 in
            --) shift; m+=("$@"); break ;;
            -[dSPpsJXxMW]) shift 2 ;;
            *) shift ;;
        esac
    done
    local x
    for x in "${m[@]}"; do print -r -- "$IPREFIX$x"; done
}
_files() { print -r -- "<files>" }
words=(${(z)2})
[[ $2 == *' ' ]] && words+=('')
CURRENT=${#words}
PREFIX=$words[CURRENT]
IPREFIX=''
_slurmshim
'''


def zsh_complete(env, line: str) -> list[str]:
    zsh = _shell("zsh")
    res = subprocess.run([zsh, "-f", "-c", ZSH_DRIVER, "zsh", str(COMPLETIONS / "_slurmshim"),
                          line], capture_output=True, text=True, env=env, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stderr == "", res.stderr
    return [x for x in res.stdout.splitlines() if x]


def test_zsh_completes_job_ids(site):
    assert zsh_complete(site, "scancel ") == ["1", "2", "3", "3_1"]
    assert zsh_complete(site, "scancel 1,") == ["1,2", "1,3", "1,3_1"]
    assert zsh_complete(site, "squeue -j ") == ["1", "2", "3", "3_1"]
    assert zsh_complete(site, "scontrol release ") == ["1", "2", "3", "3_1"]
    assert zsh_complete(site, "sattach ") == ["1", "2", "3", "3_1"]


def test_bash_completes_files_and_commands(site, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    (work / "job.sh").write_text("#!/bin/sh\n")
    (work / "data.txt").write_text("")
    for line in ("sbatch ", "sbatch -p cpu ", "sbatch -Hp cpu ", "sbatch job.sh "):
        assert sorted(bash_complete(site, line, cwd=work)) == ["data.txt", "job.sh"], line
    assert bash_complete(site, "sbatch -o da", cwd=work) == ["data.txt"]
    assert "bash" in bash_complete(site, "srun -N 2 bas")


def test_zsh_completes_options_and_values(site):
    assert zsh_complete(site, "sbatch --partition=") == ["--partition=cpu", "--partition=gpu"]
    assert zsh_complete(site, "sbatch -p ") == ["cpu", "gpu"]
    assert zsh_complete(site, "sbatch --mail-type=BEGIN,E") == ["--mail-type=BEGIN,END"]
    assert "--partition=" in zsh_complete(site, "sbatch --")
    assert zsh_complete(site, "sbatch ") == ["<files>"]
    assert zsh_complete(site, "slurmshim completion ") == ["bash", "zsh", "fish"]


def fish_complete(env, line: str, cwd=None) -> list[str]:
    fish = _shell("fish")
    res = subprocess.run([fish, "--no-config", "-c",
                          f"source {COMPLETIONS / 'slurmshim.fish'}; complete -C $argv[1]",
                          line], capture_output=True, text=True,
                         env=dict(env, XDG_DATA_DIRS="/nonexistent"), timeout=60, cwd=cwd)
    assert res.returncode == 0, res.stderr
    assert res.stderr == "", res.stderr
    return [x.split("\t", 1)[0] for x in res.stdout.splitlines() if x]


def test_fish_completes_job_ids(site):
    assert fish_complete(site, "scancel ") == ["1", "2", "3", "3_1"]
    assert fish_complete(site, "scancel 1,") == ["1,2", "1,3", "1,3_1"]
    assert fish_complete(site, "squeue -j ") == ["1", "2", "3", "3_1"]
    assert fish_complete(site, "scontrol show job ") == ["1", "2", "3", "3_1"]
    assert fish_complete(site, "sattach ") == ["1", "2", "3", "3_1"]


def test_fish_completes_files_for_sbatch(site, tmp_path):
    (tmp_path / "job.sh").write_text("#!/bin/sh\n")
    (tmp_path / "data.txt").write_text("")
    for line in ("sbatch ", "sbatch -p cpu ", "sbatch -Hp cpu ", "sbatch job.sh "):
        got = fish_complete(site, line, cwd=tmp_path)
        assert {"job.sh", "data.txt"} <= set(got), (line, got)
    assert "--partition" not in fish_complete(site, "sbatch job.sh --par", cwd=tmp_path)
    assert "--partition" in fish_complete(site, "sbatch -Hpcpu --par", cwd=tmp_path)


def test_fish_completes_options_and_values(site):
    assert fish_complete(site, "sbatch --partition=") == ["--partition=cpu", "--partition=gpu"]
    assert fish_complete(site, "sbatch --mail-type=BEGIN,E") == ["--mail-type=BEGIN,END"]
    assert fish_complete(site, "sbatch --exclusive=") == ["--exclusive=mcs",
                                                          "--exclusive=oversubscribe",
                                                          "--exclusive=topo",
                                                          "--exclusive=user"]
    assert "--partition" in fish_complete(site, "sbatch --part")
    assert fish_complete(site, "slurmshim completion ") == ["bash", "fish", "zsh"]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_helper_location_is_cached(site, tmp_path, shell):
    """The first TAB asks Python where the helper is and remembers it; later sessions read
    the answer back; a Python that cannot answer makes completion quietly empty."""
    run = {"bash": bash_complete, "zsh": zsh_complete, "fish": fish_complete}[shell]
    cache = tmp_path / "cache" / "slurmshim" / "completion-helper"
    assert run(site, "scancel ") == ["1", "2", "3", "3_1"]
    key, interp, file = cache.read_text().splitlines()
    assert key == sys.executable and Path(file).resolve() == HELPER.resolve()
    cache.write_text(f"/bin/false\n{interp}\n{file}\n")
    env = dict(site, SLURMSHIM_PYTHON="/bin/false")   # cannot answer: the cache does
    assert run(env, "scancel ") == ["1", "2", "3", "3_1"]
    cache.unlink()
    assert run(env, "scancel ") == []


def test_scripts_load_cleanly():
    """Sourcing prints nothing and defines the completion for every command."""
    cmds = ["sbatch", "srun", "squeue", "scancel", "sinfo", "sacct", "scontrol", "sattach",
            "slurmshim"]
    res = subprocess.run([_shell("bash"), "--norc", "-c",
                          f"source {COMPLETIONS / 'slurmshim.bash'} && complete -p " +
                          " ".join(cmds)], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and res.stderr == ""
    assert res.stdout.count("-F _slurmshim") == len(cmds)
    res = subprocess.run([_shell("zsh"), "-f", "-c",
                          f"autoload -Uz compinit && compinit -u -D && "
                          f"source {COMPLETIONS / '_slurmshim'} && "
                          "print -l $_comps[sbatch] $_comps[scancel] $_comps[slurmshim]"],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and res.stderr == "", res.stderr
    assert res.stdout.split() == ["_slurmshim"] * 3
    res = subprocess.run([_shell("fish"), "--no-config", "-c",
                          f"source {COMPLETIONS / 'slurmshim.fish'}; "
                          f"source {COMPLETIONS / 'slurmshim.fish'}; complete -c scancel"],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and res.stderr == "", res.stderr
    assert res.stdout.count("-l signal") == 1           # sourcing twice does not duplicate
