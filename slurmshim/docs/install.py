"""Install the man pages and completion scripts under a prefix: ``python -m
slurmshim.docs.install [--prefix PREFIX] [--dry-run]``.

A regular ``pip install`` already puts them under ``<prefix>/share`` (the data-files block of
pyproject.toml, which :data:`LAYOUT` mirrors and a test keeps in step).  An *editable* install
(``pip install -e .``) does not: PEP 660 makes only the Python code editable and installs no
data files.  Run this once after an editable install (the default prefix is ``sys.prefix``, the
environment's) and ``man sbatch`` and the shells' completion loaders find everything.

The files are rendered from the code, so they are current even when the committed copies in
``man/`` and ``completions/`` are not.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

# directory under the prefix -> (source directory in the repository, file name globs);
# exactly the [tool.setuptools.data-files] table of pyproject.toml
LAYOUT: dict[str, list[str]] = {
    "share/man/man1": ["man/*.1"],
    "share/man/man5": ["man/*.5"],
    "share/bash-completion/completions": ["completions/slurmshim.bash", "completions/bash/*"],
    "share/zsh/site-functions": ["completions/_slurmshim"],
    "share/fish/vendor_completions.d": ["completions/slurmshim.fish", "completions/fish/*.fish"],
}


def generated_tree() -> dict[str, str]:
    """Repository path (``man/sbatch.1``, ``completions/bash/sbatch``) -> content."""
    from . import completion, manpages
    files = {f"man/{page}": text for page, text in manpages.render_all().items()}
    files.update({f"completions/{rel}": text
                  for rel, text in completion.generated_files().items()})
    return files


def install_plan(prefix: str | Path) -> dict[Path, str]:
    """Destination path -> content, following :data:`LAYOUT`."""
    from fnmatch import fnmatch
    prefix = Path(prefix)
    tree = generated_tree()
    plan: dict[Path, str] = {}
    for dest, globs in LAYOUT.items():
        for pattern in globs:
            for rel, text in tree.items():
                if fnmatch(rel, pattern) and "/" not in rel[len(pattern.rsplit("/", 1)[0]) + 1:]:
                    plan[prefix / dest / Path(rel).name] = text
    return plan


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m slurmshim.docs.install",
                                 description="Install slurmshim's man pages and shell "
                                             "completion scripts under PREFIX/share.")
    ap.add_argument("--prefix", default=sys.prefix, help="default: %(default)s")
    ap.add_argument("--dry-run", action="store_true", help="list the files, write nothing")
    args = ap.parse_args(argv)
    for path, text in sorted(install_plan(args.prefix).items()):
        if not args.dry_run:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
