"""The man pages: generated from the option tables, committed up to date, complete, rendered
by groff without a single warning, and installed where `man` finds them."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from slurmshim import config as _config
from slurmshim.docs import install, manpages, pages, tables
from slurmshim.slurm import options as O

ROOT = Path(__file__).resolve().parents[1]
MAN = ROOT / "man"
REGENERATE = "run `python -m slurmshim.docs.manpages` and commit man/"


def _page(name: str) -> str:
    return (MAN / name).read_text(encoding="utf-8")


def _entries(text: str) -> list[str]:
    """The .TP entries of the OPTIONS section."""
    body = text.split('.SH "OPTIONS"', 1)[1].split("\n.SH ", 1)[0]
    return body.split(".TP\n")[1:]


def _plain(s: str) -> str:
    """Text without roff escapes, marks or line breaks (to compare prose)."""
    s = re.sub(r"\\f[BIR]|\\\(em|\\&|^\.IP$", "", s, flags=re.M)
    return " ".join(s.replace("\\-", "-").replace("\\e", "\\").replace("`", "").split())


def _forms(entry: str) -> set[str]:
    """The option names in the tag line of an entry."""
    head = entry.split("\n", 1)[0]
    return {t.replace("\\-", "-") for t in re.findall(r"\\fB(.*?)\\fR", head)}


def _roff(s: str) -> str:
    return s.replace("-", "\\-")


# ---------------------------------------------------------------------------------------------
# generated == committed
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("page", manpages.PAGES)
def test_committed_page_is_current(page):
    path = MAN / page
    assert path.exists(), f"man/{page} is missing: {REGENERATE}"
    assert path.read_text(encoding="utf-8") == manpages.render(page), \
        f"man/{page} differs from the generated page: {REGENERATE}"


def test_check_mode(tmp_path, capsys):
    assert manpages.main(["--check"]) == 0, capsys.readouterr().out
    for page in manpages.PAGES:
        shutil.copy(MAN / page, tmp_path / page)
    (tmp_path / "squeue.1").write_text("stale\n", encoding="utf-8")
    (tmp_path / "sacct.1").unlink()
    capsys.readouterr()
    assert manpages.main(["--check", "--dir", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "squeue.1" in out and "sacct.1" in out and "sbatch.1" not in out
    assert (tmp_path / "squeue.1").read_text() == "stale\n"      # --check writes nothing
    assert manpages.main(["--dir", str(tmp_path)]) == 0
    assert manpages.main(["--check", "--dir", str(tmp_path)]) == 0


# ---------------------------------------------------------------------------------------------
# the option tables are all there, with their support levels
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("command", ["sbatch", "srun"])
def test_every_row_of_the_option_table_is_documented(command):
    entries = _entries(_page(f"{command}.1"))
    rows = O.rows_for(command)
    assert len(entries) == len(rows)
    for row in rows:
        found = [e for e in entries if f"--{row.long}" in _forms(e)]
        assert len(found) == 1, f"{command}.1: --{row.long} has {len(found)} entries"
        entry = found[0]
        level = row.support_for(command)
        assert f"Support: \\fB{level}\\fR" in entry, f"--{row.long}: no support level {level}"
        reason = row.reason_for(command)
        if level != "mapped" and reason:
            assert _plain(reason) in _plain(entry), f"--{row.long}: the reason is missing"
        for alias in row.aliases:
            assert f"--{alias}" in _forms(entry)
        env = row.env if command == "sbatch" else row.srun_env
        for var in env:
            assert var in entry, f"--{row.long}: {var} is not mentioned"


def test_sbatch_short_options_match_getopt():
    text = _page("sbatch.1")
    for g in O.getopt_options("sbatch"):
        if g.short:
            assert f".TP\n\\fB\\-{g.short}\\fR, \\fB{_roff('--' + g.long)}\\fR" in text


@pytest.mark.parametrize("command", ["squeue", "scancel", "sinfo", "sacct", "scontrol",
                                     "sattach"])
def test_getopt_commands_document_every_option(command):
    """Every option of the table the command parses with has a description, and no
    description is left over from an option that no longer exists."""
    keys = {k for k, *_ in tables.grouped_getopt(command)}
    assert set(tables.DESCRIPTIONS[command]) == keys
    entries = _entries(_page(f"{command}.1"))
    assert len(entries) == len(keys)
    tags = [_forms(e) for e in entries]
    for key, longs, shorts, _arg in tables.grouped_getopt(command):
        want = {f"-{s}" for s in shorts} | {f"--{n}" for n in longs}
        assert tags.count(want) == 1, f"{command}: option {key} ({sorted(want)})"
    for e in entries:
        assert re.search(r"Support: \\fB(mapped|approximated|ignored|rejected)\\fR", e)


def test_support_levels_are_valid():
    for command in tables.SLURM_COMMANDS:
        for o in tables.options(command):
            assert o.support in tables.SUPPORT_LEVELS, (command, o.key)
            if o.support != "mapped" and command not in ("sbatch", "srun"):
                assert o.reason, f"{command} {o.key}: a {o.support} option needs a reason"


def test_admin_page_follows_the_click_group():
    text = _page("slurmshim.1")
    from slurmshim.cli.admin import cli
    for name, cmd in cli.commands.items():
        assert f'.SS "{name.upper()}"' in text, f"slurmshim {name} is not documented"
        for p in cmd.params:
            for opt in getattr(p, "opts", []):
                if opt.startswith("--"):
                    assert _roff(opt) in text, f"slurmshim {name} {opt}"


def test_config_keys_are_documented():
    assert set(pages.TOML_TOP) == _config._TOP_KEYS
    assert set(pages.TOML_PARTITION) == _config._PART_KEYS
    assert set(pages.TOML_AWS) == _config._AWS_KEYS
    text = _page("slurmshim.toml.5")
    for key in _config._PART_KEYS:
        assert f"partitions.NAME.{key}".replace("_", "_") in text


def test_environment_variables():
    sbatch = _page("sbatch.1")
    for var, long in O.SBATCH_EARLY_ENV + O.SBATCH_ENV_ORDER:
        if long != "-power":
            assert f"\\fB{var}\\fR" in sbatch, var
    runtime = (ROOT / "slurmshim" / "runtime" / "env.py").read_text(encoding="utf-8")
    runtime += (ROOT / "slurmshim" / "runtime" / "srun.py").read_text(encoding="utf-8")
    for names, _ in pages.OUTPUT_ENV + pages.STEP_ENV:
        for var in names.split(", "):
            if var in ("SLURM_EXPORT_ENV",):
                continue
            assert var in runtime or var[6:] in runtime, f"{var} is documented but never set"


def test_pages_have_the_sections_a_man_page_needs():
    for page in manpages.PAGES:
        text = _page(page)
        for sec in ("NAME", "SYNOPSIS", "DESCRIPTION", "SEE ALSO"):
            assert f'.SH "{sec}"' in text, (page, sec)
        if page.endswith(".1") and page != "slurmshim.1":
            for sec in ("OPTIONS", "EXIT STATUS", "AWS BATCH MAPPING", "EXAMPLES"):
                assert f'.SH "{sec}"' in text, (page, sec)
    for page in ("sbatch.1", "srun.1"):
        for sec in ("INPUT ENVIRONMENT VARIABLES", "OUTPUT ENVIRONMENT VARIABLES"):
            assert f'.SH "{sec}"' in _page(page)


# ---------------------------------------------------------------------------------------------
# rendering: no warnings from groff or man
# ---------------------------------------------------------------------------------------------
def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        assert not os.environ.get("CI"), f"{tool} missing in CI: .ci/run installs it"
        pytest.skip(f"{tool} is not installed (.ci/run installs groff-base and man-db; "
                    "on Debian: apt-get install groff-base man-db)")
    return path


@pytest.mark.parametrize("page", manpages.PAGES)
def test_groff_renders_without_warnings(page):
    groff = _need("groff")
    res = subprocess.run([groff, "-man", "-Tutf8", "-ww", "-z", str(MAN / page)],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and res.stderr == "", res.stderr


@pytest.mark.parametrize("page", manpages.PAGES)
def test_man_renders_without_warnings(page):
    man = _need("man")
    _need("groff")
    env = dict(os.environ, MANWIDTH="80", MAN_KEEP_FORMATTING="0", LC_ALL="C.UTF-8")
    res = subprocess.run([man, "--warnings=w", "-l", str(MAN / page)], capture_output=True,
                         text=True, timeout=60, env=env)
    assert res.returncode == 0, res.stderr
    assert res.stderr == "", res.stderr
    assert "SYNOPSIS" in re.sub(".\x08", "", res.stdout)


# ---------------------------------------------------------------------------------------------
# installation
# ---------------------------------------------------------------------------------------------
def test_install_layout_is_pyprojects_data_files():
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert data["tool"]["setuptools"]["data-files"] == install.LAYOUT
    # every glob matches generated files, and every generated file is installed
    from fnmatch import fnmatch
    tree = install.generated_tree()
    for dest, globs in install.LAYOUT.items():
        for g in globs:
            assert any(fnmatch(rel, g) for rel in tree), g
            assert any(fnmatch(str(p.relative_to(ROOT)), g) for p in ROOT.glob(g)), g
    installed = {rel for rel in tree for globs in install.LAYOUT.values() for g in globs
                 if fnmatch(rel, g)}
    assert installed == set(tree)


def test_installed_pages_are_found_by_man(tmp_path):
    """What pip install puts under <prefix>/share/man is what `man -w` looks for."""
    man = _need("man")
    assert install.main(["--prefix", str(tmp_path)]) == 0
    env = dict(os.environ, MANPATH=f"{tmp_path}/share/man:")
    for name, section in (("sbatch", "1"), ("squeue", "1"), ("slurmshim", "1"),
                          ("slurmshim.toml", "5")):
        res = subprocess.run([man, "-w", section, name], capture_output=True, text=True,
                             env=env, timeout=60)
        assert res.returncode == 0, res.stderr
        assert res.stdout.strip() == f"{tmp_path}/share/man/man{section}/{name}.{section}"
    # and through PATH alone, as man-db looks in ../share/man of every PATH directory
    (tmp_path / "bin").mkdir()
    env = {k: v for k, v in os.environ.items() if k != "MANPATH"}
    env["PATH"] = f"{tmp_path}/bin:{env.get('PATH', '/usr/bin:/bin')}"
    res = subprocess.run([man, "-w", "sbatch"], capture_output=True, text=True, env=env,
                         timeout=60)
    assert res.stdout.strip() == f"{tmp_path}/share/man/man1/sbatch.1", res.stderr


def test_this_environment(tmp_path):
    """After `pip install .` the pages are under sys.prefix; after `pip install -e .`
    (no data files, PEP 660) `python -m slurmshim.docs.install` puts them there."""
    man = _need("man")
    page = Path(sys.prefix) / "share" / "man" / "man1" / "sbatch.1"
    if not page.exists():
        assert not os.environ.get("CI"), f"{page} missing in CI: .ci/run installs the pages"
        pytest.skip(f"{page} is not installed (editable install: run "
                    "`python -m slurmshim.docs.install` once)")
    env = dict(os.environ, MANPATH=f"{sys.prefix}/share/man:")
    res = subprocess.run([man, "-w", "sbatch"], capture_output=True, text=True, env=env,
                         timeout=60)
    assert res.stdout.strip() == str(page)
