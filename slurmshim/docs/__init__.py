"""Documentation built from the code: man pages (:mod:`.manpages`) and shell completion
scripts (:mod:`.completion`), both generated from the option tables so they cannot drift.

The option data every generator shares lives in :mod:`.tables`; the prose of the pages in
:mod:`.pages`; :mod:`.install` puts both under a prefix (what ``pip install`` does, for editable
installs).  Nothing here is imported by the Slurm commands themselves.
"""
