"""`slurmshim check`: examples/ is clean; the hard scripts in tests/data/scripts get the
verdicts and findings a migration team needs."""
from __future__ import annotations

import json

import pytest
from test_admin_helpers import REPO, SCRIPTS, isolate, local_config, run

from slurmshim.admin import check as C

# script -> (verdict, [(level, option) findings that must be there])
EXPECTED = {
    "clean_mpi.sh": ("clean", []),
    "nested/deeper/array_job.sh": ("clean", []),
    "hetjob.sh": ("refused", [("rejected", "hetjob")]),
    "burst_buffer.sh": ("refused", [("rejected", "--bb")]),
    "dos_line_breaks.sh": ("refused", [("error", "(script)"), ("mapped", "--job-name")]),
    "pbs_mixed.sh": ("warnings", [("ignored", "#PBS"), ("mapped", "--time")]),
    "reservation.sh": ("warnings", [("ignored", "--reservation")]),
    "mail.sh": ("warnings", [("approximated", "--mail-type"), ("approximated", "--mail-user")]),
    "unknown_option.sh": ("refused", [("error", "--tiem"), ("error", "--frobnicate")]),
    "no_shebang.sh": ("refused", [("error", "(script)")]),
    "late_directives.sh": ("warnings", [("ignored", "#SBATCH")]),
    "other_cluster.sh": ("refused", [("rejected", "--clusters")]),
    "unmatched_quote.sh": ("refused", [("error", "(directive)")]),
    "cloudy.sh": ("warnings", [("approximated", "--nodelist"), ("approximated", "--licenses"),
                               ("ignored", "--hint"), ("mapped", "--exclusive")]),
    "gpu.sh": ("refused", [("error", "(resources)"), ("mapped", "--gres")]),   # no GPU here
}


@pytest.fixture
def site(tmp_path, monkeypatch):
    conf = local_config(tmp_path / "slurmshim.toml")
    isolate(monkeypatch, tmp_path, conf=conf)
    return conf


def _by_path(data):
    return {r["path"].split("tests/data/scripts/", 1)[-1]: r for r in data["scripts"]}


def test_examples_are_clean(site):
    r = run("check", str(REPO / "examples"))
    assert r.exit_code == 0, r.output
    assert "5 scripts: 5 clean, 0 with warnings, 0 refused (1 other files skipped)" in r.stdout
    r = run("check", "--json", "--no-site", str(REPO / "examples"))
    data = json.loads(r.stdout)
    assert {s["verdict"] for s in data["scripts"]} == {"clean"}
    assert data["totals"]["skipped"] == 1             # run-all.sh: no #SBATCH lines


def test_hard_scripts_verdicts(site):
    r = run("check", "--json", str(SCRIPTS))
    assert r.exit_code == 1                           # some would be refused
    data = json.loads(r.stdout)
    got = _by_path(data)
    assert sorted(got) == sorted(EXPECTED)
    for name, (verdict, must) in EXPECTED.items():
        rep = got[name]
        assert rep["verdict"] == verdict, (name, rep)
        have = {(f["level"], f["option"]) for f in rep["findings"]}
        for item in must:
            assert item in have, (name, item, have)
    t = data["totals"]
    assert (t["scripts"], t["clean"], t["warnings"], t["refused"]) == (15, 2, 5, 8)
    assert t["skipped"] == 4                          # README, .gitattributes, notes, helper
    worklist = {(w["option"], w["level"]): w for w in data["options"]}
    assert worklist[("--time", "mapped")]["scripts"] >= 5
    assert worklist[("#PBS", "ignored")]["uses"] == 3


def test_findings_carry_lines_and_reasons(site):
    rep = C.check_file(str(SCRIPTS / "late_directives.sh"), C.CheckOptions(site=False))
    late = [(f.line, f.note) for f in rep.findings if f.option == "#SBATCH"]
    assert late == [(3, "indented: sbatch reads #SBATCH only at the start of a line"),
                    (5, "after the first command (line 4): sbatch stops reading directives "
                        "there; move it up")]
    rep = C.check_file(str(SCRIPTS / "unknown_option.sh"), C.CheckOptions(site=False))
    errs = [(f.line, f.note) for f in rep.findings if f.level == "error"]
    assert errs == [(3, "sbatch: unrecognized option '--tiem=10'"),
                    (4, "sbatch: unrecognized option '--frobnicate'")]
    rep = C.check_file(str(SCRIPTS / "burst_buffer.sh"), C.CheckOptions(site=False))
    (bb,) = [f for f in rep.findings if f.option == "--bb"]
    assert bb.line == 4 and "burst buffers" in bb.note


def test_human_report(site):
    r = run("check", str(SCRIPTS / "mail.sh"), str(SCRIPTS / "hetjob.sh"))
    assert r.exit_code == 1
    lines = r.stdout.splitlines()
    assert lines[0].endswith("mail.sh: warnings (2 mapped, 2 approximated)")
    assert "--mail-type=END,FAIL" in lines[1] and "approximated" in lines[1]
    assert any(l.endswith("hetjob.sh: REFUSED (3 mapped, 1 rejected)") for l in lines)
    assert "2 scripts: 0 clean, 1 with warnings, 1 refused" in r.stdout
    assert lines[-1] == "directives: 5 mapped, 2 approximated, 1 rejected"


def test_exit_status_strict_and_quiet(site):
    mail = str(SCRIPTS / "mail.sh")
    assert run("check", mail).exit_code == 0
    assert run("check", "--strict", mail).exit_code == 1
    r = run("check", "-q", mail, str(SCRIPTS / "clean_mpi.sh"))
    assert "clean_mpi.sh" not in r.stdout.split("Directives by option")[0]
    r = run("check", "-v", str(SCRIPTS / "clean_mpi.sh"))
    assert "--account=physics" in r.stdout


def test_site_checks(site, tmp_path, monkeypatch):
    gpu = str(SCRIPTS / "gpu.sh")
    assert run("check", "--no-site", gpu).exit_code == 0
    conf = local_config(tmp_path / "gpu.toml",
                        extra='\n[partitions.gpu]\nbackend = "local"\ngpus = 4\n'
                              'gpu_types = ["a100"]\nmax_time = "1:00:00"\n')
    monkeypatch.setenv("SLURMSHIM_CONF", str(conf))
    r = run("check", "--json", gpu)
    rep = json.loads(r.stdout)["scripts"][0]
    assert rep["verdict"] == "refused"                 # the default partition has no GPU
    script = tmp_path / "to_gpu.sh"
    script.write_text("#!/bin/bash\n#SBATCH -p gpu\n#SBATCH --gres=gpu:a100:2\n#SBATCH -t 2:00:00\n"
                      "python train.py\n")
    rep = json.loads(run("check", "--json", str(script)).stdout)["scripts"][0]
    assert rep["verdict"] == "warnings"
    (w,) = [f for f in rep["findings"] if f["source"] == "site"]
    assert "PartitionTimeLimit" in w["note"]
    script.write_text("#!/bin/bash\n#SBATCH -p nosuch\ntrue\n")
    rep = json.loads(run("check", "--json", str(script)).stdout)["scripts"][0]
    assert rep["verdict"] == "refused"
    assert "invalid partition specified: nosuch" in rep["findings"][-1]["note"]


def test_site_policy_plugins(site, tmp_path, monkeypatch):
    pdir = tmp_path / "plugins"
    pdir.mkdir()
    (pdir / "needs_account.py").write_text(
        "from slurmshim.hookspecs import hookimpl\n\n@hookimpl\n"
        "def job_submit(spec, partitions, config):\n"
        "    if not spec.account:\n        return 'an account is required'\n")
    conf = local_config(tmp_path / "p.toml", top=f'plugins_dir = "{pdir}"\n')
    monkeypatch.setenv("SLURMSHIM_CONF", str(conf))
    mail = str(SCRIPTS / "mail.sh")
    assert run("check", mail).exit_code == 0            # plugins only on request
    r = run("check", "--plugins", "--json", mail)
    rep = json.loads(r.stdout)["scripts"][0]
    assert r.exit_code == 1 and rep["verdict"] == "refused"
    assert rep["findings"][-1] == {"line": None, "option": "(site policy)", "value": None,
                                   "level": "error", "note": "an account is required",
                                   "source": "policy"}
    assert run("check", "--plugins", str(SCRIPTS / "clean_mpi.sh")).exit_code == 0


def test_directory_scan_rules(tmp_path):
    d = tmp_path / "tree"
    (d / ".git").mkdir(parents=True)
    (d / ".git" / "hook.sh").write_text("#!/bin/sh\n#SBATCH -t 1\n")
    (d / "pbs_only.sh").write_text("#!/bin/sh\n#PBS -l walltime=1:00:00\nrun\n")
    (d / "no_hashbang_pbs.txt").write_text("#PBS -N x\n")
    (d / "data.bin").write_bytes(b"\0\1\2" * 100)
    (d / "job.slurm").write_text("#!/bin/sh\n#SBATCH -t 1\nrun\n")
    found, skipped = C.find_scripts([str(d)])
    assert [p.rsplit("/", 1)[-1] for p in found] == ["job.slurm", "pbs_only.sh"]
    assert skipped == 2
    rep = C.check_file(found[1], C.CheckOptions(site=False))
    assert rep.verdict == "warnings"


def test_no_scripts(site, tmp_path):
    (tmp_path / "empty").mkdir()
    r = run("check", str(tmp_path / "empty"))
    assert r.exit_code == 1
    assert "no job scripts found" in r.output
    assert run("check", str(tmp_path / "missing")).exit_code == 2


def test_dos_file_is_really_crlf():
    assert b"\r\n" in (SCRIPTS / "dos_line_breaks.sh").read_bytes()
