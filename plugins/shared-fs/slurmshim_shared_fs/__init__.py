"""Shared filesystems in slurmshim's AWS Batch jobs: Amazon EFS volumes and FSx for Lustre
mounts, added to every job definition (single-node and each node range of a multi-node one).

* **EFS** is a native Batch volume type: `efsVolumeConfiguration` (file system id, root
  directory, transit encryption, access point, IAM authorization).  The compute environment's
  security group must reach the file system's mount targets (NFS, TCP 2049).
* **FSx for Lustre** has no Batch volume type: the instances mount it (a launch template's
  user data, `mount -t lustre DNS@tcp:/MOUNTNAME /fsx`), and the job definition bind-mounts that
  host path into the container (`host.sourcePath`).

Put the same paths in slurmshim's `[aws.mounts]` (host path = container path) when the submit
host mounts them too: paths under them (--chdir, --output) are then used unchanged.

Settings: $SLURMSHIM_SHARED_FS, else `shared-fs.toml` beside the slurmshim configuration, else
/etc/slurmshim/shared-fs.toml::

    [[efs]]
    name = "home"                          # volume name (letters, digits, - and _)
    file_system_id = "fs-0123456789abcdef0"
    container_path = "/home"
    root_directory = "/"                   # ignored with an access point
    access_point = "fsap-0123456789abcdef0"  # optional
    iam = true                             # optional: mount with the job role's IAM identity
    transit_encryption = true              # default true (required by access points and IAM)
    read_only = false
    partitions = ["cpu", "gpu"]            # optional; default every Batch partition

    [[fsx_lustre]]
    name = "scratch"
    host_path = "/fsx"                     # where the launch template mounts it on the instance
    container_path = "/fsx"
    file_system_id = "fs-0abcdef0123456789" # recorded in a tag (documentation only)
    read_only = false
"""
from __future__ import annotations

import re
from typing import Any, Iterator

from slurmshim.hookspecs import hookimpl

__version__ = "0.1.0"
SETTINGS_FILE = "shared-fs.toml"
SETTINGS_ENV = "SLURMSHIM_SHARED_FS"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$")


class SharedFsError(ValueError):
    pass


def filesystems(config) -> list[dict[str, Any]]:
    """The configured file systems, validated, as {"kind", "name", "volume", "mount",
    "partitions"}."""
    from slurmshim.plugins import load_settings
    data = load_settings(config, SETTINGS_FILE, SETTINGS_ENV)
    where = data.get("_path", SETTINGS_FILE)
    out = []
    for kind in ("efs", "fsx_lustre"):
        for i, fs in enumerate(data.get(kind) or []):
            out.append(_one(kind, fs, f"{where}: {kind}[{i}]"))
    names = [f["name"] for f in out]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise SharedFsError(f"{where}: volume name used twice: {', '.join(sorted(dup))}")
    return out


def _one(kind: str, fs: dict[str, Any], where: str) -> dict[str, Any]:
    name = fs.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise SharedFsError(f"{where}: name must be letters, digits, '-' and '_'")
    cpath = fs.get("container_path")
    if not isinstance(cpath, str) or not cpath.startswith("/"):
        raise SharedFsError(f"{where}: container_path must be an absolute path")
    if kind == "efs":
        fsid = fs.get("file_system_id")
        if not isinstance(fsid, str) or not fsid.startswith("fs-"):
            raise SharedFsError(f"{where}: file_system_id must be an EFS id (fs-...)")
        conf: dict[str, Any] = {"fileSystemId": fsid}
        ap = fs.get("access_point")
        iam = bool(fs.get("iam", False))
        encrypt = bool(fs.get("transit_encryption", True))
        if (ap or iam) and not encrypt:
            raise SharedFsError(f"{where}: access_point and iam need transit_encryption = true")
        if not ap:
            conf["rootDirectory"] = str(fs.get("root_directory", "/"))
        conf["transitEncryption"] = "ENABLED" if encrypt else "DISABLED"
        if "transit_encryption_port" in fs:
            conf["transitEncryptionPort"] = int(fs["transit_encryption_port"])
        if ap or iam:
            auth: dict[str, Any] = {}
            if ap:
                auth["accessPointId"] = str(ap)
            if iam:
                auth["iam"] = "ENABLED"
            conf["authorizationConfig"] = auth
        volume = {"name": name, "efsVolumeConfiguration": conf}
    else:
        host = fs.get("host_path")
        if not isinstance(host, str) or not host.startswith("/"):
            raise SharedFsError(f"{where}: host_path must be an absolute path")
        volume = {"name": name, "host": {"sourcePath": host}}
    mount = {"sourceVolume": name, "containerPath": cpath,
             "readOnly": bool(fs.get("read_only", False))}
    parts = fs.get("partitions")
    if parts is not None and (not isinstance(parts, list) or
                              not all(isinstance(p, str) for p in parts)):
        raise SharedFsError(f"{where}: partitions must be a list of names")
    return {"kind": kind, "name": name, "volume": volume, "mount": mount, "partitions": parts,
            "file_system_id": fs.get("file_system_id")}


def _containers(request: dict) -> Iterator[dict]:
    if "containerProperties" in request:
        yield request["containerProperties"]
    for rng in (request.get("nodeProperties") or {}).get("nodeRangeProperties") or []:
        if "container" in rng:
            yield rng["container"]


def add_mounts(request: dict, fss: list[dict[str, Any]], partition: str | None) -> list[str]:
    """Add volumes and mount points to every container of a RegisterJobDefinition request;
    returns the names added.  A volume name or container path already present is left alone."""
    added: list[str] = []
    for fs in fss:
        if fs["partitions"] is not None and partition not in fs["partitions"]:
            continue
        for cont in _containers(request):
            vols = cont.setdefault("volumes", [])
            mps = cont.setdefault("mountPoints", [])
            if any(v.get("name") == fs["name"] for v in vols) or \
                    any(m.get("containerPath") == fs["mount"]["containerPath"] for m in mps):
                continue
            vols.append(dict(fs["volume"]))
            mps.append(dict(fs["mount"]))
            if fs["name"] not in added:
                added.append(fs["name"])
    return added


@hookimpl
def batch_job_definition(request, spec, partition, config):
    fss = filesystems(config)
    if fss:
        add_mounts(request, fss, getattr(partition, "name", None))
