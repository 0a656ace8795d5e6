"""Who is running the command, without importing anything heavy (sbatch --help and squeue use
it before the controller is loaded)."""
from __future__ import annotations

import os


def current_user() -> tuple[str, int, str, int]:
    """(user name, uid, group name, gid) of the caller; numeric strings when unknown."""
    import grp
    import pwd
    uid, gid = os.getuid(), os.getgid()
    try:
        user = pwd.getpwuid(uid).pw_name
    except KeyError:
        user = str(uid)
    try:
        group = grp.getgrgid(gid).gr_name
    except KeyError:
        group = str(gid)
    return user, uid, group, gid
