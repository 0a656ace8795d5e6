"""GNU getopt_long emulation (slurmshim.slurm.getopt).

The expected results below were produced by glibc 2.36's getopt_long (the C library of the
Slurm 25.11.7 oracle host) through a tiny C harness; ``test_against_glibc`` re-runs that
comparison on random argv when a C compiler is available."""
from __future__ import annotations

import random
import shutil
import subprocess

import pytest

from slurmshim.errors import SlurmError, UsageError
from slurmshim.slurm.getopt import (PERMUTE, REQUIRE_ORDER, Getopt, Option, make_options,
                                    usage_error)

# (name, has_arg, key, short)
LONGS = [
    ("nodes", 1, "N", "N"), ("no-kill", 2, "k", "k"), ("hold", 0, "H", "H"),
    ("quiet", 0, "Q", "Q"), ("nice", 2, "nice", None), ("ntasks", 1, "n", "n"),
    ("ntasks-per-node", 1, "ntasks-per-node", None), ("ntasks-per-core", 1, "ntasks-per-core", None),
    ("tasks-per-node", 1, "ntasks-per-node", None), ("cpu-bind", 1, "cpu-bind", None),
    ("cpu_bind", 1, "cpu-bind", None), ("cpu-freq", 1, "cpu-freq", None), ("wait", 0, "W", "W"),
    ("wait-all-nodes", 1, "wait-all-nodes", None), ("mem", 1, "mem", None),
    ("mem-per-cpu", 1, "mem-per-cpu", None), ("time", 1, "t", "t"), ("job-name", 1, "J", "J"),
]
C_VALS = {"nice": 300, "ntasks-per-node": 301, "ntasks-per-core": 302, "cpu-bind": 303,
          "cpu-freq": 304, "wait-all-nodes": 305, "mem": 306, "mem-per-cpu": 307}


def table(mode):
    return Getopt([Option(n, s, h, k) for n, h, k, s in LONGS], mode=mode)


CASES = [
    ('require_order', ['-HQ', 'script'], [['H', None], ['Q', None]], ['script'], ''),
    ('require_order', ['-N2', 's'], [['N', '2']], ['s'], ''),
    ('require_order', ['-N', '2', 's'], [['N', '2']], ['s'], ''),
    ('require_order', ['--nodes=2', 's'], [['N', '2']], ['s'], ''),
    ('require_order', ['--nodes', '2', 's'], [['N', '2']], ['s'], ''),
    ('require_order', ['--nod=3', 's'], [['N', '3']], ['s'], ''),
    ('require_order', ['-k5', 's'], [['k', '5']], ['s'], ''),
    ('require_order', ['-k', '5'], [['k', None]], ['5'], ''),
    ('require_order', ['--no-kill=off', 's'], [['k', 'off']], ['s'], ''),
    ('require_order', ['--no-kill', 'off'], [['k', None]], ['off'], ''),
    ('require_order', ['--nice=5'], [['nice', '5']], [], ''),
    ('require_order', ['--nice', '5'], [['nice', None]], ['5'], ''),
    ('require_order', ['--n=1'], [['?', None]], [], "sbatch: option '--n=1' is ambiguous; possibilities: '--nodes' '--no-kill' '--nice' '--ntasks' '--ntasks-per-node' '--ntasks-per-core'\n"),
    ('require_order', ['--ntasks-per', '2'], [['?', None]], ['2'], "sbatch: option '--ntasks-per' is ambiguous; possibilities: '--ntasks-per-node' '--ntasks-per-core'\n"),
    ('require_order', ['--tasks', '3'], [['ntasks-per-node', '3']], [], ''),
    ('require_order', ['--cpu', 'x'], [['?', None]], ['x'], "sbatch: option '--cpu' is ambiguous; possibilities: '--cpu-bind' '--cpu-freq'\n"),
    ('require_order', ['--cpu_', 'x'], [['cpu-bind', 'x']], [], ''),
    ('require_order', ['--wa'], [['?', None]], [], "sbatch: option '--wa' is ambiguous; possibilities: '--wait' '--wait-all-nodes'\n"),
    ('require_order', ['--mem', '1G'], [['mem', '1G']], [], ''),
    ('require_order', ['--me=1G'], [['?', None]], [], "sbatch: option '--me=1G' is ambiguous; possibilities: '--mem' '--mem-per-cpu'\n"),
    ('require_order', ['--bogus-option', 'x'], [['?', None]], ['x'], "sbatch: unrecognized option '--bogus-option'\n"),
    ('require_order', ['--bogus=1'], [['?', None]], [], "sbatch: unrecognized option '--bogus=1'\n"),
    ('require_order', ['-Z'], [['?', None]], [], "sbatch: invalid option -- 'Z'\n"),
    ('require_order', ['-HZQ'], [['H', None], ['?', None], ['Q', None]], [], "sbatch: invalid option -- 'Z'\n"),
    ('require_order', ['-N'], [['?', None]], [], "sbatch: option requires an argument -- 'N'\n"),
    ('require_order', ['--nodes'], [['?', None]], [], "sbatch: option '--nodes' requires an argument\n"),
    ('require_order', ['--hold=1'], [['?', None]], [], "sbatch: option '--hold' doesn't allow an argument\n"),
    ('require_order', ['--quiet=yes'], [['?', None]], [], "sbatch: option '--quiet' doesn't allow an argument\n"),
    ('require_order', ['--', '-N2'], [], ['-N2'], ''),
    ('require_order', ['-H', '--', '-N2'], [['H', None]], ['-N2'], ''),
    ('require_order', ['-', '-H'], [], ['-', '-H'], ''),
    ('require_order', ['s', '-H'], [], ['s', '-H'], ''),
    ('require_order', ['-HN'], [['H', None], ['?', None]], [], "sbatch: option requires an argument -- 'N'\n"),
    ('require_order', ['-J', '-H', 's'], [['J', '-H']], ['s'], ''),
    ('require_order', ['--job-name=', 's'], [['J', '']], ['s'], ''),
    ('require_order', ['-tJ', 'x'], [['t', 'J']], ['x'], ''),
    ('require_order', ['-W', '-t5'], [['W', None], ['t', '5']], [], ''),
    ('require_order', ['-Hk'], [['H', None], ['k', None]], [], ''),
    ('require_order', ['-Hkx'], [['H', None], ['k', 'x']], [], ''),
    ('permute', ['-HQ', 'script'], [['H', None], ['Q', None]], ['script'], ''),
    ('permute', ['-N2', 's'], [['N', '2']], ['s'], ''),
    ('permute', ['-N', '2', 's'], [['N', '2']], ['s'], ''),
    ('permute', ['--nodes=2', 's'], [['N', '2']], ['s'], ''),
    ('permute', ['--nodes', '2', 's'], [['N', '2']], ['s'], ''),
    ('permute', ['--nod=3', 's'], [['N', '3']], ['s'], ''),
    ('permute', ['-k5', 's'], [['k', '5']], ['s'], ''),
    ('permute', ['-k', '5'], [['k', None]], ['5'], ''),
    ('permute', ['--no-kill=off', 's'], [['k', 'off']], ['s'], ''),
    ('permute', ['--no-kill', 'off'], [['k', None]], ['off'], ''),
    ('permute', ['--nice=5'], [['nice', '5']], [], ''),
    ('permute', ['--nice', '5'], [['nice', None]], ['5'], ''),
    ('permute', ['--n=1'], [['?', None]], [], "sbatch: option '--n=1' is ambiguous; possibilities: '--nodes' '--no-kill' '--nice' '--ntasks' '--ntasks-per-node' '--ntasks-per-core'\n"),
    ('permute', ['--ntasks-per', '2'], [['?', None]], ['2'], "sbatch: option '--ntasks-per' is ambiguous; possibilities: '--ntasks-per-node' '--ntasks-per-core'\n"),
    ('permute', ['--tasks', '3'], [['ntasks-per-node', '3']], [], ''),
    ('permute', ['--cpu', 'x'], [['?', None]], ['x'], "sbatch: option '--cpu' is ambiguous; possibilities: '--cpu-bind' '--cpu-freq'\n"),
    ('permute', ['--cpu_', 'x'], [['cpu-bind', 'x']], [], ''),
    ('permute', ['--wa'], [['?', None]], [], "sbatch: option '--wa' is ambiguous; possibilities: '--wait' '--wait-all-nodes'\n"),
    ('permute', ['--mem', '1G'], [['mem', '1G']], [], ''),
    ('permute', ['--me=1G'], [['?', None]], [], "sbatch: option '--me=1G' is ambiguous; possibilities: '--mem' '--mem-per-cpu'\n"),
    ('permute', ['--bogus-option', 'x'], [['?', None]], ['x'], "sbatch: unrecognized option '--bogus-option'\n"),
    ('permute', ['--bogus=1'], [['?', None]], [], "sbatch: unrecognized option '--bogus=1'\n"),
    ('permute', ['-Z'], [['?', None]], [], "sbatch: invalid option -- 'Z'\n"),
    ('permute', ['-HZQ'], [['H', None], ['?', None], ['Q', None]], [], "sbatch: invalid option -- 'Z'\n"),
    ('permute', ['-N'], [['?', None]], [], "sbatch: option requires an argument -- 'N'\n"),
    ('permute', ['--nodes'], [['?', None]], [], "sbatch: option '--nodes' requires an argument\n"),
    ('permute', ['--hold=1'], [['?', None]], [], "sbatch: option '--hold' doesn't allow an argument\n"),
    ('permute', ['--quiet=yes'], [['?', None]], [], "sbatch: option '--quiet' doesn't allow an argument\n"),
    ('permute', ['--', '-N2'], [], ['-N2'], ''),
    ('permute', ['-H', '--', '-N2'], [['H', None]], ['-N2'], ''),
    ('permute', ['-', '-H'], [['H', None]], ['-'], ''),
    ('permute', ['s', '-H'], [['H', None]], ['s'], ''),
    ('permute', ['-HN'], [['H', None], ['?', None]], [], "sbatch: option requires an argument -- 'N'\n"),
    ('permute', ['-J', '-H', 's'], [['J', '-H']], ['s'], ''),
    ('permute', ['--job-name=', 's'], [['J', '']], ['s'], ''),
    ('permute', ['-tJ', 'x'], [['t', 'J']], ['x'], ''),
    ('permute', ['-W', '-t5'], [['W', None], ['t', '5']], [], ''),
    ('permute', ['-Hk'], [['H', None], ['k', None]], [], ''),
    ('permute', ['-Hkx'], [['H', None], ['k', 'x']], [], ''),
]


@pytest.mark.parametrize("mode,argv,items,operands,stderr", CASES,
                         ids=[f"{c[0][:4]}:{' '.join(c[1])}" for c in CASES])
def test_matches_glibc(mode, argv, items, operands, stderr):
    g = table(mode)
    got, err = [], []
    for it in g.iterate(argv):
        if it.error is not None:
            got.append(["?", None])
            err.append(f"sbatch: {it.error}\n")
        else:
            got.append([it.key, it.arg])
    assert got == items
    assert g.operands == operands
    assert "".join(err) == stderr


def test_exact_match_beats_abbreviation():
    g = Getopt([Option("mem", None, 1, "mem"), Option("mem-per-cpu", None, 1, "mpc")])
    assert [(i.key, i.arg) for i in g.iterate(["--mem=1G"])] == [("mem", "1G")]
    assert [(i.key, i.arg) for i in g.iterate(["--mem-p=1G"])] == [("mpc", "1G")]


def test_same_option_under_two_names_is_not_ambiguous():
    g = Getopt([Option("cpu-bind", None, 1, "cb"), Option("cpu_bind", None, 1, "cb"),
                Option("cpus", None, 0, "c")])
    assert [i.key for i in g.iterate(["--cpu-", "x"])] == ["cb"]
    errs = [i.error for i in g.iterate(["--cpu", "x"])]
    assert errs == ["option '--cpu' is ambiguous; possibilities: '--cpu-bind' '--cpus'"]


def test_messages_use_the_full_long_name():
    g = Getopt([Option("nodes", "N", 1, "N"), Option("hold", "H", 0, "H")])
    assert [i.error for i in g.iterate(["--nod"])] == ["option '--nodes' requires an argument"]
    assert [i.error for i in g.iterate(["--ho=1"])] == ["option '--hold' doesn't allow an argument"]
    assert [i.error for i in g.iterate(["-N"])] == ["option requires an argument -- 'N'"]
    assert [i.error for i in g.iterate(["-x"])] == ["invalid option -- 'x'"]
    assert [i.error for i in g.iterate(["--x=1"])] == ["unrecognized option '--x=1'"]


def test_permute_vs_require_order():
    opts = [Option("verbose", "v", 0, "v"), Option("user", "u", 1, "u")]
    g = Getopt(opts, mode=PERMUTE)
    assert [i.key for i in g.iterate(["a", "-v", "b", "-u", "me", "c"])] == ["v", "u"]
    assert g.operands == ["a", "b", "c"]
    g = Getopt(opts, mode=REQUIRE_ORDER)
    assert [i.key for i in g.iterate(["-v", "script", "-u", "me"])] == ["v"]
    assert g.operands == ["script", "-u", "me"]
    g = Getopt(opts, mode=PERMUTE)
    assert [i.key for i in g.iterate(["-v", "script", "-u", "me"], posixly_correct=True)] == ["v"]


def test_double_dash_and_lone_dash():
    g = Getopt([Option("verbose", "v", 0, "v")], mode=PERMUTE)
    assert [i.key for i in g.iterate(["x", "--", "-v"])] == []
    assert g.operands == ["x", "-v"]
    assert [i.key for i in g.iterate(["-", "-v"])] == ["v"]
    assert g.operands == ["-"]


def test_item_records_token_and_spelling():
    g = Getopt([Option("nodes", "N", 1, "N"), Option("hold", "H", 0, "H")])
    items = list(g.iterate(["-HN2", "--no", "3"]))
    assert [(i.token, i.index, i.name, i.arg) for i in items] == [
        ("-HN2", 0, "-H", None), ("-HN2", 0, "-N", "2"), ("--no", 1, "--nodes", "3")]


def test_parse_raises_slurm_style_usage_error():
    g = Getopt([Option("hold", "H", 0, "H")], mode=REQUIRE_ORDER)
    with pytest.raises(UsageError) as exc:
        g.parse(["--bogus-option", "hello.sh"], "sbatch")
    assert exc.value.exit_code == 255
    assert exc.value.render("sbatch") == (
        "sbatch: unrecognized option '--bogus-option'\n"
        'Try "sbatch --help" for more information\n')
    res = g.parse(["-H", "hello.sh", "a"], "sbatch")
    assert [i.key for i in res.items] == ["H"] and res.operands == ["hello.sh", "a"]


def test_usage_error_exit_code_and_hint():
    err = usage_error("squeue", "invalid option -- 'Z'", 1)
    assert isinstance(err, SlurmError) and err.exit_code == 1
    assert err.render("squeue") == ("squeue: invalid option -- 'Z'\n"
                                     'Try "squeue --help" for more information\n')
    assert usage_error("x", "m", help_hint=False).render("x") == "x: m\n"


def test_make_options_from_optstring():
    opts = make_options("+hn:k::", [("help", 0, "h"), ("ntasks", 1, "n"), ("debug", 0, "debug")])
    g = Getopt(opts, mode=REQUIRE_ORDER)
    assert [(i.key, i.arg) for i in g.iterate(["-h", "-n3", "-k", "-kx", "--deb"])] == [
        ("h", None), ("n", "3"), ("k", None), ("k", "x"), ("debug", None)]


def test_bad_tables_are_refused():
    with pytest.raises(ValueError):
        Option(None, None, 0, "x")
    with pytest.raises(ValueError):
        Option("x", ":", 0, "x")
    with pytest.raises(ValueError):
        Option("x", None, 7, "x")
    with pytest.raises(ValueError):
        Getopt([], mode="sideways")


HARNESS = r'''#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* usage: harness OPTSTRING LONGSPEC PROG args...
   LONGSPEC: name/has_arg/val;name/has_arg/val  (val int) */
int main(int argc, char **argv) {
  char *optstring = argv[1];
  char *spec = strdup(argv[2]);
  struct option lo[400]; int n = 0;
  char *save=NULL, *tok = strtok_r(spec, ";", &save);
  while (tok) {
    char *a = strchr(tok, '/'); *a = 0; char *b = strchr(a+1, '/'); *b = 0;
    lo[n].name = tok; lo[n].has_arg = atoi(a+1); lo[n].flag = NULL; lo[n].val = atoi(b+1); n++;
    tok = strtok_r(NULL, ";", &save);
  }
  lo[n].name = NULL; lo[n].has_arg = 0; lo[n].flag = NULL; lo[n].val = 0;
  int nargc = argc - 3; char **nargv = argv + 3;
  int c, idx;
  setvbuf(stdout, NULL, _IONBF, 0); setvbuf(stderr, NULL, _IONBF, 0);
  optind = 0;
  while ((c = getopt_long(nargc, nargv, optstring, lo, &idx)) != -1) {
    if (c == '?') printf("ERR optopt=%d\n", optopt);
    else printf("OPT %d %s\n", c, optarg ? optarg : "(null)");
    fflush(stdout);
  }
  printf("OPTIND %d\n", optind);
  for (int i = optind; i < nargc; i++) printf("OPERAND %s\n", nargv[i]);
  return 0;
}
'''

WORDS = ["-N", "-N2", "-HN", "-HN3", "-kx", "-k", "-Q", "-QQ", "-Z", "-HZQ", "--nodes", "--nodes=4",
         "--nod", "--no", "--no=1", "--nice", "--nice=3", "--hold", "--hold=1", "--cpu", "--cpu_",
         "--cpu-b=1", "--wa", "--wait", "--wait=", "--mem", "--me", "--mem-", "--bogus", "--",
         "-", "file", "x", "-J", "-JJ", "--job", "--tasks=2", "--ntasks-per", ""]


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler to build the glibc harness")
def test_against_glibc(tmp_path):
    src = tmp_path / "h.c"
    src.write_text(HARNESS)
    exe = tmp_path / "h"
    if subprocess.run(["cc", "-o", str(exe), str(src)], capture_output=True).returncode:
        pytest.skip("cannot compile the harness")
    spec = ";".join(f"{n}/{h}/{C_VALS.get(k, ord(k[0]))}" for n, h, k, s in LONGS)
    shorts = "N:k::HQn:Wt:J:"
    rng = random.Random(1234)
    for _ in range(400):
        mode = rng.choice([PERMUTE, REQUIRE_ORDER])
        argv = [rng.choice(WORDS) for _ in range(rng.randint(0, 6))]
        optstring = ("+" if mode == REQUIRE_ORDER else "") + shorts
        p = subprocess.run([str(exe), optstring, spec, "sbatch"] + argv, capture_output=True,
                           text=True)
        want = []
        for line in p.stdout.splitlines():
            if line.startswith("OPT "):
                _, val, arg = line.split(" ", 2)
                want.append((int(val), None if arg == "(null)" else arg))
            elif line.startswith("ERR"):
                want.append(("?", None))
        want_ops = [line[8:] for line in p.stdout.splitlines() if line.startswith("OPERAND ")]
        g = table(mode)
        got, err = [], []
        for it in g.iterate(argv):
            if it.error:
                got.append(("?", None))
                err.append(f"sbatch: {it.error}\n")
            else:
                got.append((C_VALS.get(it.key, ord(it.key[0])), it.arg))
        assert got == want, argv
        assert g.operands == want_ops, argv
        assert "".join(err) == p.stderr, argv
