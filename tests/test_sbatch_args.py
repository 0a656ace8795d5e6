"""sbatch's argv + SBATCH_* + #SBATCH -> JobSpec (slurmshim.slurm.sbatch_args), and the sbatch
command end to end.  Messages and exit codes are those of Slurm 25.11.7 (the oracle captures in
/work/shared/reference/real-slurm-25.11/01..11 and src/sbatch, src/common/slurm_opt.c)."""
from __future__ import annotations

import fnmatch
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from slurmshim.errors import SlurmError
from slurmshim.model import INFINITE
from slurmshim.slurm import options as O
from slurmshim.slurm.sbatch_args import (SECRET_ENV_PATTERNS, EarlyExit, build_spec,
                                         export_environment, is_secret, sbatch_help_text,
                                         sbatch_usage_text)

HELLO = '#!/bin/bash\n#SBATCH -J hello\necho "hello from $(hostname) job $SLURM_JOB_ID"\nsleep 2\n'
PLAIN = "#!/bin/bash\necho hi\n"
NOW = 1795344000.0  # 2026-11-22


def reader(scripts):
    def read_script(path):
        key = None if path in (None, "-") else path
        if key in scripts:
            return scripts[key], ("(null)" if key is None else "/home/user/work/" + key)
        raise SlurmError(f"Unable to open file {path}", 1)
    return read_script


def build(argv, env=None, scripts=None, messages=None, **kw):
    scripts = {"hello.sh": HELLO, "plain.sh": PLAIN, None: HELLO} if scripts is None else scripts
    args = dict(read_script=reader(scripts), cwd="/home/user/work", user="root", uid=0,
                group="root", gid=0, host="vm", pid=4242, now=NOW)
    args.update(kw)
    return build_spec(list(argv), env or {}, messages=messages, **args)


def error_of(argv, env=None, scripts=None, **kw):
    with pytest.raises(SlurmError) as exc:
        build(argv, env, scripts, **kw)
    return exc.value.render("sbatch"), exc.value.exit_code


# ---------------------------------------------------------------------------------------------
# basics and defaults
# ---------------------------------------------------------------------------------------------
def test_plain_submission_defaults():
    spec = build(["hello.sh"])
    assert spec.job_name == "hello"
    assert spec.script == HELLO
    assert spec.command == "/home/user/work/hello.sh"
    assert spec.submit_line == "sbatch hello.sh"
    assert spec.work_dir == "/home/user/work"
    assert spec.input == "/dev/null"
    assert spec.output is None and spec.error is None
    assert (spec.user, spec.uid, spec.group, spec.gid) == ("root", 0, "root", 0)
    assert (spec.submit_host, spec.submit_pid) == ("vm", 4242)
    assert spec.script_args == []
    assert [(o.option, o.value, o.source, o.support) for o in spec.options] == [
        ("job-name", "hello", "script", "mapped")]


@pytest.mark.parametrize("argv,scripts,name", [
    (["plain.sh"], None, "plain.sh"),
    (["dir/sub/plain.sh"], {"dir/sub/plain.sh": PLAIN}, "plain.sh"),
    ([], {None: PLAIN}, "sbatch"),
    (["-"], {None: PLAIN}, "sbatch"),
    (["/dev/stdin"], {"/dev/stdin": PLAIN}, "stdin"),
    (["--wrap=hostname"], {}, "wrap"),
    (["-J", "x", "--wrap=hostname"], {}, "x"),
])
def test_default_job_names(argv, scripts, name):
    assert build(argv, scripts=scripts).job_name == name


def test_submit_line_is_the_argv_as_given():
    assert build(["-H", "hello.sh"]).submit_line == "sbatch -H hello.sh"
    assert build(["--array=1-4%1", "-J", "arrrun", "hello.sh", "a b"]).submit_line == \
        "sbatch --array=1-4%1 -J arrrun hello.sh a b"


def test_script_arguments():
    spec = build(["-N", "1", "hello.sh", "-N", "5", "--", "x"])
    assert spec.script_args == ["-N", "5", "--", "x"]
    assert spec.resources.nodes_min == 1


def test_wrap_script_text():
    spec = build(["--wrap=hostname"], scripts={})
    assert spec.script == "#!/bin/sh\n# This script was created by sbatch --wrap.\n\nhostname\n"
    assert spec.command == "(null)" and spec.wrap == "hostname"


def test_wrap_script_directives_are_not_read():
    spec = build(["--wrap", "#SBATCH -N 5\necho"], scripts={})
    assert spec.resources.nodes_min is None


def test_chdir_and_output_paths():
    spec = build(["-D", "sub", "-o", "out-%j.txt", "-e", "/abs/err", "-i", "in.txt", "hello.sh"])
    assert spec.work_dir == "/home/user/work/sub"
    assert spec.output == "/home/user/work/sub/out-%j.txt"
    assert spec.error == "/abs/err"
    assert spec.input == "/home/user/work/sub/in.txt"
    assert build(["-o", "none", "hello.sh"]).output == "/dev/null"
    assert build(["-D", "/tmp", "hello.sh"]).work_dir == "/tmp"


# ---------------------------------------------------------------------------------------------
# getopt behaviour
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("argv", [
    ["-N2", "hello.sh"], ["-N", "2", "hello.sh"], ["--nodes=2", "hello.sh"],
    ["--nodes", "2", "hello.sh"], ["-HN2", "hello.sh"], ["--nodes=1", "-N2", "hello.sh"]])
def test_option_spellings(argv):
    assert build(argv).resources.nodes_min == 2


def test_abbreviations():
    spec = build(["--ntasks-per-n=2", "--job=foo", "--parsa", "--tasks-per=3", "hello.sh"])
    assert spec.job_name == "foo" and spec.parsable
    assert spec.resources.ntasks_per_node == 3
    assert [o.option for o in spec.options if o.source == "cli"] == [
        "ntasks-per-node", "job-name", "parsable", "ntasks-per-node"]


def test_short_option_clusters_and_optional_arguments():
    spec = build(["-HQk", "--nice", "hello.sh"])
    assert spec.hold and spec.quiet and spec.nice == 100
    assert build(["--nice=-5", "hello.sh"]).nice == -5
    # an optional argument must be attached: "5" becomes the script
    assert error_of(["--nice", "5", "hello.sh"])[0] == "sbatch: error: Unable to open file 5\n"


def test_options_stop_at_the_script():
    spec = build(["hello.sh", "-J", "x"])
    assert spec.job_name == "hello" and spec.script_args == ["-J", "x"]


@pytest.mark.parametrize("argv,lines", [
    (["--bogus-option", "hello.sh"], ["sbatch: unrecognized option '--bogus-option'"]),
    (["--bogus=1"], ["sbatch: unrecognized option '--bogus=1'"]),
    (["-Z", "hello.sh"], ["sbatch: invalid option -- 'Z'"]),
    (["-N"], ["sbatch: option requires an argument -- 'N'"]),
    (["--nodes"], ["sbatch: option '--nodes' requires an argument"]),
    (["--hold=1", "hello.sh"], ["sbatch: option '--hold' doesn't allow an argument"]),
    (["--nod=2", "hello.sh"], ["sbatch: option '--nod=2' is ambiguous; possibilities: "
                               "'--nodefile' '--nodelist' '--nodes'"]),
    (["--tim", "5", "hello.sh"], ["sbatch: option '--tim' is ambiguous; possibilities: "
                                  "'--time' '--time-min'"]),
])
def test_getopt_errors(argv, lines):
    text, code = error_of(argv)
    assert code == 255
    assert text == "".join(line + "\n" for line in lines) + \
        'Try "sbatch --help" for more information\n'


def test_first_error_in_argv_order_wins():
    assert error_of(["-t", "abc", "--bogus", "hello.sh"])[0] == \
        "sbatch: error: Invalid --time specification\n"
    assert error_of(["--bogus", "-t", "abc", "hello.sh"])[0].startswith(
        "sbatch: unrecognized option '--bogus'")
    # command-line values are checked before the script is even opened
    assert error_of(["-t", "abc", "missing.sh"])[0] == "sbatch: error: Invalid --time specification\n"


# ---------------------------------------------------------------------------------------------
# precedence: command line > SBATCH_* > #SBATCH
# ---------------------------------------------------------------------------------------------
SCRIPT_P = "#!/bin/sh\n#SBATCH -p fromscript -t 10 --comment=s\n"


@pytest.mark.parametrize("argv,env,partition,time_limit", [
    (["x.sh"], {}, "fromscript", 10),
    (["x.sh"], {"SBATCH_PARTITION": "fromenv"}, "fromenv", 10),
    (["-p", "fromcli", "x.sh"], {"SBATCH_PARTITION": "fromenv"}, "fromcli", 10),
    (["-t", "5", "x.sh"], {"SBATCH_TIMELIMIT": "7"}, "fromscript", 5),
    (["x.sh"], {"SBATCH_TIMELIMIT": "7"}, "fromscript", 7),
])
def test_precedence(argv, env, partition, time_limit):
    spec = build(argv, env, scripts={"x.sh": SCRIPT_P})
    assert spec.partition == partition and spec.time_limit == time_limit
    assert spec.comment == "s"


def test_option_uses_record_sources_and_overrides():
    spec = build(["-p", "c", "x.sh"], {"SBATCH_PARTITION": "e"}, scripts={"x.sh": SCRIPT_P})
    uses = [(o.option, o.value, o.source) for o in spec.options if o.option == "partition"]
    assert uses == [("partition", "fromscript", "script"), ("partition", "e", "env"),
                    ("partition", "c", "cli")]
    effects = [o.effect for o in spec.options if o.option == "partition"]
    assert effects[0] == effects[1] == "overridden by the command line"
    spec = build(["x.sh"], {"SBATCH_PARTITION": "e"}, scripts={"x.sh": SCRIPT_P})
    assert [o.effect for o in spec.options if o.option == "partition"][0] == \
        "overridden by SBATCH_PARTITION"
    assert effects[2] == "partition c"


def test_env_flags():
    s = "#!/bin/sh\n#SBATCH --wait\n"
    assert build(["x.sh"], {}, {"x.sh": s}).wait
    assert not build(["x.sh"], {"SBATCH_WAIT": "no"}, {"x.sh": s}).wait
    assert not build(["x.sh"], {"SBATCH_WAIT": "0"}, {"x.sh": s}).wait
    for val in ("", "yes", "YES", "1", "12"):
        assert build(["plain.sh"], {"SBATCH_WAIT": val}).wait, val
    assert build(["plain.sh"], {"SBATCH_REQUEUE": ""}).requeue is True
    assert build(["plain.sh"], {"SBATCH_NO_REQUEUE": "1"}).requeue is False
    assert build(["plain.sh"], {"SBATCH_EXCLUSIVE": ""}).resources.exclusive


def test_env_values_are_validated_like_options():
    text, code = error_of(["plain.sh"], {"SBATCH_TIMELIMIT": "abc"})
    assert (text, code) == ("sbatch: error: Invalid --time specification\n", 255)


def test_first_pass_only_options_do_nothing_in_a_script():
    msgs = []
    s = "#!/bin/sh\n#SBATCH -Q --help --version -v\n#SBATCH --wrap=hostname\n"
    spec = build(["x.sh"], scripts={"x.sh": s}, messages=msgs)
    assert not spec.quiet and spec.wrap is None and spec.script == s
    assert {o.option: o.support for o in spec.options} == {
        "quiet": "ignored", "help": "ignored", "version": "ignored", "verbose": "ignored",
        "wrap": "ignored"}
    assert "sbatch: warning: --quiet is ignored: has no effect in a batch script (as in Slurm)" in msgs


# ---------------------------------------------------------------------------------------------
# resources and other mapped values
# ---------------------------------------------------------------------------------------------
def test_resources():
    spec = build(["-N", "2-4", "-n", "8", "-c", "2", "--mem=4G", "--gres=gpu:a100:2", "-t",
                  "1-00:00:00", "--tmp=10G", "-C", "avx512", "--exclusive", "hello.sh"])
    r = spec.resources
    assert (r.nodes_min, r.nodes_max, r.ntasks, r.cpus_per_task) == (2, 4, 8, 2)
    assert r.mem_per_node == 4096 and r.tmp_mb == 10240
    assert [(g.name, g.type, g.count) for g in r.gres] == [("gpu", "a100", 2)]
    assert r.constraint == "avx512" and r.exclusive
    assert spec.time_limit == 1440


def test_time_zero_is_unlimited():
    assert build(["-t", "0", "hello.sh"]).time_limit == INFINITE
    assert build(["-t", "UNLIMITED", "hello.sh"]).time_limit == INFINITE


def test_gpus():
    r = build(["--gpus=v100:4", "--gpus-per-task=1", "hello.sh"]).resources
    assert (r.gpus, r.gpu_type, r.gpus_per_task) == (4, "v100", 1)
    assert build(["-G", "2", "hello.sh"]).resources.gpus == 2
    assert build(["--gpus-per-node=8", "hello.sh"]).resources.gpus_per_node == 8


def test_array_dependency_signal_begin():
    spec = build(["--array=1,3,5-7:2", "-d", "afterok:1:2", "--signal=B:USR1@90",
                  "--begin=now+1hour", "hello.sh"])
    assert spec.array.indices == (1, 3, 5, 7)
    assert [(t.kind, t.job_id) for t in spec.dependency.terms] == [("afterok", 1), ("afterok", 2)]
    assert spec.signal.secs == 90 and spec.signal.batch_only
    assert spec.begin_time == NOW + 3600
    assert build(["--array=1-10%2", "hello.sh"]).array.throttle == 2


def test_misc_mapped_fields():
    spec = build(["-A", "acct", "-q", "high", "--comment=hi", "--wckey=w", "-H", "--requeue",
                  "--priority=TOP", "--open-mode=a", "--mail-type=END,FAIL", "--mail-user=me",
                  "--parsable", "--test-only", "-W", "--kill-on-invalid-dep=yes", "-L", "lic:2",
                  "--deadline=now+2hours", "--export=NONE", "hello.sh"])
    assert (spec.account, spec.qos, spec.comment, spec.wckey) == ("acct", "high", "hi", "w")
    assert spec.hold and spec.requeue and spec.priority == 4294967293
    assert spec.open_mode == "append" and spec.mail_type == "END,FAIL" and spec.mail_user == "me"
    assert spec.parsable and spec.test_only and spec.wait and spec.kill_on_invalid_dep
    assert spec.licenses == "lic:2" and spec.deadline == NOW + 7200 and spec.export == "NONE"


def test_nodes_and_tasks_are_massaged_like_sbatch():
    msgs = []
    r = build(["-N2", "-n1", "hello.sh"], messages=msgs).resources
    assert (r.nodes_min, r.ntasks) == (1, 1)
    assert "sbatch: warning: can't run 1 processes on 2 nodes, setting nnodes to 1" in msgs
    r = build(["-N", "2-8", "-n", "4", "hello.sh"]).resources
    assert (r.nodes_min, r.nodes_max) == (2, 4)
    assert build(["-N2", "hello.sh"]).resources.ntasks is None  # SLURM_NTASKS stays unset


def test_nodelist_sets_the_node_count():
    msgs = []
    spec = build(["-w", "node[01-03]", "hello.sh"], messages=msgs)
    assert spec.resources.nodes_min == 3
    assert any("--nodelist=node[01-03] is approximated" in m for m in msgs)


def test_memory_options_interplay():
    r = build(["--mem-per-cpu=2G", "hello.sh"], {"SBATCH_MEM_PER_NODE": "8G"}).resources
    assert (r.mem_per_cpu, r.mem_per_node) == (2048, None)
    text, code = error_of(["--mem=1G", "--mem-per-cpu=1G", "hello.sh"])
    assert (text, code) == (
        "sbatch: fatal: --mem, --mem-per-cpu, and --mem-per-gpu are mutually exclusive.\n", 1)
    # a #SBATCH line counts as a command-line option here, as in Slurm
    text, _ = error_of(["--mem-per-cpu=1G", "x.sh"], scripts={"x.sh": "#!/bin/sh\n#SBATCH --mem=2G\n"})
    assert "mutually exclusive" in text


# ---------------------------------------------------------------------------------------------
# the exported environment
# ---------------------------------------------------------------------------------------------
ENV = {"HOME": "/root", "FOO": "bar", "AWS_ACCESS_KEY_ID": "AKIA", "AWS_SECRET_ACCESS_KEY": "s",
       "AWS_SESSION_TOKEN": "t", "GITHUB_TOKEN": "g", "DB_PASSWORD": "p", "MY_PASSWD": "p",
       "SSH_AUTH_SOCK": "/tmp/ssh", "OPENAI_API_KEY": "k", "VAULT_SECRET_ID": "v",
       "SLURM_CONF": "/etc/slurm.conf", "AWS_REGION": "us-east-1", "TOKENIZERS_PARALLELISM": "0",
       "SLURM_STEPMGR": "x"}
SECRETS = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "GITHUB_TOKEN",
           "DB_PASSWORD", "MY_PASSWD", "SSH_AUTH_SOCK", "OPENAI_API_KEY", "VAULT_SECRET_ID"}


def test_secrets_never_exported():
    env = build(["hello.sh"], ENV).environment
    assert not SECRETS & set(env)
    assert env["FOO"] == "bar" and env["AWS_REGION"] == "us-east-1"
    assert env["TOKENIZERS_PARALLELISM"] == "0" and "SLURM_STEPMGR" not in env
    assert env["SLURM_SUBMIT_DIR"] == "/home/user/work" and env["SLURM_SUBMIT_HOST"] == "vm"


def test_explicitly_named_secrets_are_dropped_with_a_warning():
    msgs = []
    env = build(["--export=FOO,AWS_SECRET_ACCESS_KEY,X=1,GH_TOKEN=abc", "hello.sh"], ENV,
                messages=msgs).environment
    assert env["FOO"] == "bar" and env["X"] == "1"
    assert "AWS_SECRET_ACCESS_KEY" not in env and "GH_TOKEN" not in env
    assert "HOME" not in env and env["SLURM_CONF"] == "/etc/slurm.conf"
    assert env["SLURM_EXPORT_ENV"] == "FOO,AWS_SECRET_ACCESS_KEY,X=1,GH_TOKEN=abc"
    assert env["SLURM_GET_USER_ENV"] == "1"
    assert ("sbatch: warning: not exporting AWS_SECRET_ACCESS_KEY: credentials and secrets "
            "never leave the submit host") in msgs
    assert any("not exporting GH_TOKEN" in m for m in msgs)


def test_allow_list():
    env = build(["hello.sh"], ENV, secret_allow=["GITHUB_TOKEN"]).environment
    assert env["GITHUB_TOKEN"] == "g" and "AWS_SESSION_TOKEN" not in env


@pytest.mark.parametrize("export,present,absent", [
    (None, {"FOO", "HOME", "SLURM_CONF"}, SECRETS),
    ("ALL", {"FOO", "HOME"}, SECRETS),
    ("NONE", {"SLURM_CONF"}, {"FOO", "HOME"}),
    ("NIL", {"SLURM_CONF"}, {"FOO", "HOME"}),
    ("ALL,X=2", {"FOO", "X"}, SECRETS),
    ("'Y=a,b',FOO", {"Y", "FOO"}, {"HOME"}),
])
def test_export_modes(export, present, absent):
    env, _, _ = export_environment(export, ENV)
    assert present <= set(env) and not (absent & set(env))
    if export and export.startswith("'Y"):
        assert env["Y"] == "a,b"


def test_secret_patterns_constant():
    assert "AWS_SECRET_ACCESS_KEY" in SECRET_ENV_PATTERNS
    assert is_secret("aws_session_token") and is_secret("MY_API_KEY") and not is_secret("PATH")
    assert not is_secret("GITHUB_TOKEN", allow=["GITHUB_*"])


def test_is_secret_is_fnmatch_of_the_patterns():
    # is_secret sorts the patterns into names, prefixes, suffixes and infixes: same answers
    pieces = ["AWS_", "_TOKEN", "TOKEN", "SECRET", "_", "KEY", "_API", "_KEY", "PASS", "WORD",
              "CREDENTIALS", "_FILE", "X", "SSH_AUTH_SOCK", "_PRIVATE", "AWS_CONTAINER_"]
    names = ["", "PATH", "aws_access_key_id", "x_token_y", "MyCredentials_File", "passwd"]
    names += [a + b + c for a in pieces for b in pieces for c in ("", "_X", "S")]
    for name in names:
        want = any(fnmatch.fnmatchcase(name.upper(), p) for p in SECRET_ENV_PATTERNS)
        assert is_secret(name) == want, name


# ---------------------------------------------------------------------------------------------
# every error, its text and its exit code
# ---------------------------------------------------------------------------------------------
E = "sbatch: error: "


@pytest.mark.parametrize("argv,env,text,code", [
    (["-t", "abc", "hello.sh"], {}, E + "Invalid --time specification\n", 255),
    (["--time-min=x", "hello.sh"], {}, E + "Invalid --time-min specification\n", 255),
    (["--mem=4Q", "hello.sh"], {}, E + "Invalid --mem specification\n", 255),
    (["--mem-per-cpu=x", "hello.sh"], {}, E + "Invalid --mem-per-cpu specification\n", 255),
    (["--mem-per-gpu=x", "hello.sh"], {}, E + "Invalid --mem-per-gpu specification\n", 255),
    (["--tmp=x", "hello.sh"], {}, E + "Invalid --tmp specification\n", 255),
    (["--begin=yesterday-ish", "hello.sh"], {}, E + "Invalid --begin specification\n", 255),
    (["--deadline=never", "hello.sh"], {}, E + "Invalid --deadline specification\n", 255),
    (["--signal=FOO", "hello.sh"], {}, E + "Invalid --signal specification\n", 255),
    (["--open-mode=x", "hello.sh"], {}, E + "Invalid --open-mode specification\n", 255),
    (["--mail-type=SOMETIMES", "hello.sh"], {}, E + "Invalid --mail-type specification\n", 255),
    (["--exclusive=bogus", "hello.sh"], {}, E + "Invalid --exclusive specification\n", 255),
    (["--kill-on-invalid-dep=maybe", "hello.sh"], {},
     E + "Invalid --kill-on-invalid-dep specification\n", 255),
    (["--nice=9999999999", "hello.sh"], {},
     E + "Invalid --nice value, out of range (+/- 2147483645)\n", 255),
    (["--priority=-1", "hello.sh"], {}, E + "Priority must be >= 0\n", 255),
    (["-m", "sideways", "hello.sh"], {}, E + "Invalid --distribution specification\n", 255),
    (["--profile=x", "hello.sh"], {}, E + "invalid --profile=x option\n", 255),
    (["--wait-all-nodes=2", "hello.sh"], {}, E + "Invalid --wait-all-nodes specification\n", 255),
    (["-N", "abc", "hello.sh"], {}, E + '"abc" is not a valid node count\n', 255),
    (["-N", "4-2", "hello.sh"], {},
     E + "Maximum node count 2 is less than minimum node count 4\n", 255),
    (["-n", "abc", "hello.sh"], {}, E + 'Invalid numeric value "abc" for --ntasks.\n', 1),
    (["-n", "0", "hello.sh"], {}, E + 'Invalid numeric value "0" for --ntasks.\n', 1),
    (["-c", "-2", "hello.sh"], {}, E + 'Invalid numeric value "-2" for --cpus-per-task.\n', 1),
    (["--ntasks-per-node=x", "hello.sh"], {},
     E + 'Invalid numeric value "x" for --ntasks-per-node.\n', 1),
    (["--wrap=hostname", "hello.sh"], {}, E + "Script arguments not permitted with --wrap option\n", 1),
    (["missing.sh"], {}, E + "Unable to open file missing.sh\n", 1),
    (["missing.sh"], {"SLURM_EXIT_ERROR": "7"}, E + "Unable to open file missing.sh\n", 7),
    (["--array=0-2000", "hello.sh"], {},
     E + "Batch job submission failed: Invalid job array specification\n", 1),
    (["--array=abc", "hello.sh"], {},
     E + "Batch job submission failed: Invalid job array specification\n", 1),
    (["--dependency=afterok:", "hello.sh"], {},
     E + "Batch job submission failed: Job dependency problem\n", 1),
    (["-Q", "-v", "hello.sh"], {}, E + "don't specify both --verbose (-v) and --quiet (-Q)\n", 1),
    (["-Q", "hello.sh"], {"SBATCH_DEBUG": "1"},
     E + "don't specify both --verbose (-v) and --quiet (-Q)\n", 1),
    (["--begin=now+2hours", "--deadline=now+1hour", "hello.sh"], {},
     E + "Incompatible begin and deadline time specification\n", 1),
    (["--exclusive", "-s", "hello.sh"], {},
     "sbatch: fatal: --exclusive and --oversubscribe options are mutually exclusive\n", 1),
    (["-c", "2", "--cpus-per-gpu=2", "hello.sh"], {},
     "sbatch: fatal: --cpus-per-task, --tres-per-task=cpu:#, and --cpus-per-gpu are mutually "
     "exclusive\n", 1),
    (["--gres=gpu:x:y:z", "hello.sh"], {}, E + "Invalid generic resource (gres) specification\n", 1),
    (["--uid=5", "hello.sh"], {}, E + "--uid only permitted by root user\n", 255),
])
def test_error_messages(argv, env, text, code):
    uid = 1000 if any(a.startswith("--uid") for a in argv) else 0
    assert error_of(argv, env, uid=uid) == (text, code)


@pytest.mark.parametrize("script,text,code", [
    ("", E + "Batch script is empty!\n", 1),
    ("  \n", E + "Batch script contains only whitespace!\n", 1),
    ("echo no shebang\n", E + "This does not look like a batch script.  The first\n" + E +
     "line must start with #! followed by the path to an interpreter.\n" + E +
     "For instance: #!/bin/sh\n", 1),
    ("#!/bin/sh\necho \0\n", E + "The Slurm controller does not allow scripts that\n" + E +
     "contain a NULL character '\\0'.\n", 1),
    ("#!/bin/sh\r\necho\r\n", E + "Batch script contains DOS line breaks (\\r\\n)\n" + E +
     "instead of expected UNIX line breaks (\\n).\n", 1),
    ("#!/bin/sh\n#SBATCH foo\n", E + "Invalid directive found in batch script: foo\n", 255),
    ("#!/bin/sh\n#SBATCH -N 2 -- bar\n", E + "Invalid directive found in batch script: bar\n", 255),
    ("#!/bin/sh\n#SBATCH --bogus\n",
     "sbatch: unrecognized option '--bogus'\nTry \"sbatch --help\" for more information\n", 255),
    ("#!/bin/sh\n#SBATCH -J\n",
     "sbatch: option requires an argument -- 'J'\nTry \"sbatch --help\" for more information\n",
     255),
    ("#!/bin/sh\n#SBATCH -t abc\n", E + "Invalid --time specification\n", 255),
    ('#!/bin/sh\n#SBATCH -J "oops\n', "sbatch: fatal: x.sh: line 2: Unmatched `\"` in [ \"oops]\n", 1),
])
def test_script_errors(script, text, code):
    assert error_of(["x.sh"], scripts={"x.sh": script}) == (text, code)


def test_stdin_script_errors_name_stdin():
    text, _ = error_of([], scripts={None: '#!/bin/sh\n#SBATCH -J "oops\n'})
    assert text == "sbatch: fatal: stdin: line 2: Unmatched `\"` in [ \"oops]\n"


def test_value_errors_in_directives_come_before_invalid_directives():
    text, code = error_of(["x.sh"], scripts={"x.sh": "#!/bin/sh\n#SBATCH -t x foo\n"})
    assert (text, code) == (E + "Invalid --time specification\n", 255)


def test_slurm_prefix_message():
    msgs = []
    spec = build(["x.sh"], scripts={"x.sh": "#!/bin/sh\n#SLURM -N 3\n"}, messages=msgs)
    assert spec.resources.nodes_min == 3
    assert msgs[0] == (E + "Change from #SLURM to #SBATCH in your script and verify the options "
                       "are valid in sbatch")


def test_test_only_reports_array_errors_like_will_run():
    assert error_of(["--test-only", "--array=x", "hello.sh"]) == (
        "allocation failure: Invalid job array specification\n", 1)


def test_slurm_exit_error_zero_is_reported():
    msgs = []
    build(["hello.sh"], {"SLURM_EXIT_ERROR": "0"}, messages=msgs)
    assert msgs == [E + "SLURM_EXIT_ERROR has zero value"]


# ---------------------------------------------------------------------------------------------
# support levels in action
# ---------------------------------------------------------------------------------------------
def test_rejected_options_name_the_option_and_exit_1():
    for argv, name in ((["--bb=x", "hello.sh"], "--bb"), (["-M", "other", "hello.sh"], "--clusters"),
                       (["--container=/b", "hello.sh"], "--container"),
                       (["--export-file=f", "hello.sh"], "--export-file")):
        text, code = error_of(argv)
        assert code == 1 and text.startswith(E + name), text
    assert error_of(["-M", "other", "hello.sh"], {"SLURM_EXIT_ERROR": "9"})[1] == 9


def test_clusters_naming_this_cluster_is_harmless():
    spec = build(["-M", "oracle", "hello.sh"], cluster_name="oracle")
    assert [o.support for o in spec.options if o.option == "clusters"] == ["ignored"]


def test_het_jobs_are_rejected():
    text, code = error_of(["-N1", ":", "-N2", "hello.sh"])
    assert code == 1 and "heterogeneous jobs" in text
    text, code = error_of(["x.sh"], scripts={"x.sh": "#!/bin/sh\n#SBATCH -N1\n#SBATCH hetjob\n"})
    assert code == 1 and "heterogeneous jobs" in text
    # after the script, ':' is just dropped from the script's arguments (as sbatch does)
    assert build(["hello.sh", "a", ":", "b"]).script_args == ["a", "b"]


def test_warnings_for_approximated_and_ignored():
    msgs = []
    spec = build(["--reservation=maint", "--mail-type=END", "--switches=2", "-S", "2",
                  "hello.sh"], messages=msgs)
    assert msgs == [
        "sbatch: warning: --reservation=maint is ignored: there are no reservations; the job "
        "runs in its partition",
        "sbatch: warning: --mail-type=END is approximated: recorded only: slurmshim has no mail "
        "server",
        "sbatch: warning: --switches=2 is ignored: no control over the network topology",
        "sbatch: warning: --core-spec=2 is ignored: no cores are reserved for system use on "
        "cloud instances"]
    assert spec.reservation == "maint"


def test_pbs_directives_are_reported():
    msgs = []
    build(["x.sh"], scripts={"x.sh": "#!/bin/sh\n#PBS -l walltime=1:00:00\n"}, messages=msgs)
    assert any("#PBS directives are not translated" in m for m in msgs)
    msgs = []
    build(["--ignore-pbs", "x.sh"], scripts={"x.sh": "#!/bin/sh\n#PBS -l x\n"}, messages=msgs)
    assert msgs == []


def test_every_option_row_applies_without_crashing():
    """Each sbatch option with a plausible value either maps or fails Slurm-style."""
    samples = {O.NONE: None, O.REQUIRED: "1", O.OPTIONAL: None}
    for row in O.rows_for("sbatch"):
        if row.long in ("help", "usage", "version", "autocomplete", "wrap"):
            continue
        arg = f"--{row.long}" + ("" if samples[row.arg] is None else f"={samples[row.arg]}")
        try:
            build([arg, "hello.sh"])
        except SlurmError as exc:
            assert exc.render("sbatch").startswith("sbatch: "), row.long


# ---------------------------------------------------------------------------------------------
# --help, --usage, --version
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("argv,out", [
    (["--help"], sbatch_help_text()), (["-h", "--bogus"], sbatch_help_text()),
    (["--usage"], sbatch_usage_text()), (["-V"], "slurm 25.11.7\n"),
    (["--version", "hello.sh"], "slurm 25.11.7\n"),
    (["--gres=help"], "Valid gres options are:\ngpu[[:type]:count]\n"),
    (["--autocomplete=--hol"], "--hold\n\n"),
])
def test_early_exits(argv, out):
    with pytest.raises(EarlyExit) as exc:
        build(argv)
    assert exc.value.stdout == out and exc.value.exit_code == 0


def test_help_text_shape():
    text = sbatch_help_text()
    assert text.startswith("Usage: sbatch [OPTIONS(0)...] [ : [OPTIONS(N)...]] script(0) [args(0)...]\n")
    assert "  -a, --array=indexes         job array index values\n" in text
    assert sbatch_usage_text().startswith("Usage: sbatch [-N nnodes] [-n ntasks]\n")


# ---------------------------------------------------------------------------------------------
# the sbatch command (subprocess, local backend, private state dir)
# ---------------------------------------------------------------------------------------------
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def work(tmp_path):
    (tmp_path / "hello.sh").write_text(HELLO)
    (tmp_path / "exit3.sh").write_text('#!/bin/bash\n#SBATCH -J exit3\necho "about to exit 3"\nexit 3\n')
    (tmp_path / "noshebang.sh").write_text("echo no shebang\n")
    return tmp_path


def sbatch(work, *args, stdin=None, timeout=60):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SBATCH_", "SLURM_"))}
    env.update(SLURMSHIM_STATE_DIR=str(work / "state"), PYTHONPATH=str(ROOT))
    env.pop("SLURMSHIM_CONF", None)
    env.pop("SLURMSHIM_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "slurmshim.cli.sbatch", *args], cwd=work,
                          env=env, input=stdin, capture_output=True, text=True, timeout=timeout)


def test_cli_version_and_help(work):
    p = sbatch(work, "--version")
    assert (p.returncode, p.stdout, p.stderr) == (0, "slurm 25.11.7\n", "")
    p = sbatch(work, "--help")
    assert p.returncode == 0 and p.stdout == sbatch_help_text() and p.stderr == ""


def test_cli_usage_errors(work):
    p = sbatch(work, "--bogus-option", "hello.sh")
    assert (p.returncode, p.stdout) == (255, "")
    assert p.stderr == ("sbatch: unrecognized option '--bogus-option'\n"
                        'Try "sbatch --help" for more information\n')
    p = sbatch(work, "-t", "abc", "hello.sh")
    assert (p.returncode, p.stderr) == (255, "sbatch: error: Invalid --time specification\n")
    p = sbatch(work, "no_such_script.sh")
    assert (p.returncode, p.stderr) == (1, "sbatch: error: Unable to open file no_such_script.sh\n")
    p = sbatch(work, "--wrap=hostname", "hello.sh")
    assert (p.returncode, p.stderr) == (
        1, "sbatch: error: Script arguments not permitted with --wrap option\n")
    p = sbatch(work, "noshebang.sh")
    assert p.returncode == 1 and p.stderr == (
        "sbatch: error: This does not look like a batch script.  The first\n"
        "sbatch: error: line must start with #! followed by the path to an interpreter.\n"
        "sbatch: error: For instance: #!/bin/sh\n")


def test_cli_submissions(work):
    p = sbatch(work, "hello.sh")
    assert p.returncode == 0, p.stderr
    assert re.fullmatch(r"Submitted batch job \d+\n", p.stdout) and p.stderr == ""
    first = int(p.stdout.split()[-1])
    p = sbatch(work, "--parsable", "hello.sh")
    assert (p.returncode, p.stdout) == (0, f"{first + 1}\n")
    p = sbatch(work, "--wrap=hostname")
    assert p.stdout == f"Submitted batch job {first + 2}\n"
    p = sbatch(work, stdin=HELLO)
    assert p.stdout == f"Submitted batch job {first + 3}\n"
    p = sbatch(work, "-Q", "hello.sh")
    assert (p.returncode, p.stdout, p.stderr) == (0, "", "")
    p = sbatch(work, "-H", "hello.sh")
    assert p.stdout == f"Submitted batch job {first + 5}\n"


def test_cli_submission_errors(work):
    p = sbatch(work, "-p", "nosuchpart", "hello.sh")
    assert (p.returncode, p.stdout) == (1, "")
    assert p.stderr == ("sbatch: error: invalid partition specified: nosuchpart\n"
                        "sbatch: error: Batch job submission failed: Invalid partition name "
                        "specified\n")
    p = sbatch(work, "--array=0-2000000", "hello.sh")  # over the site's MaxArraySize
    assert (p.returncode, p.stderr) == (
        1, "sbatch: error: Batch job submission failed: Invalid job array specification\n")
    p = sbatch(work, "--dependency=afterok:999999", "hello.sh")
    assert (p.returncode, p.stderr) == (
        1, "sbatch: error: Batch job submission failed: Job dependency problem\n")


def test_cli_test_only(work):
    p = sbatch(work, "--test-only", "-N", "1", "hello.sh")
    assert (p.returncode, p.stdout) == (0, "")
    lines = p.stderr.splitlines()
    assert re.fullmatch(r"sbatch: Job \d+ to start at \S+ a using 1 processors on nodes \S+ in "
                        r"partition \S+", lines[0]), lines
    assert "sbatch: plan: --job-name=hello (mapped): job name hello" in lines
    assert "sbatch: plan: --nodes=1 (mapped): 1 node" in lines
    p = sbatch(work, "--test-only", "-n", "100000", "hello.sh")
    assert (p.returncode, p.stdout, p.stderr) == (
        1, "", "allocation failure: Requested node configuration is not available\n")


def test_cli_wait_exit_code(work):
    p = sbatch(work, "-W", "exit3.sh", timeout=120)
    assert p.returncode == 3 and re.fullmatch(r"Submitted batch job \d+\n", p.stdout)
    p = sbatch(work, "--parsable", "-W", "exit3.sh", timeout=120)
    assert p.returncode == 3 and re.fullmatch(r"\d+\n", p.stdout)
