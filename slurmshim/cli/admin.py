"""`slurmshim`: the site administrator's and migration team's command.

    slurmshim init          write a commented starter configuration
    slurmshim doctor        check the configuration and the AWS resources behind it
    slurmshim migrate       slurm.conf -> slurmshim config + Batch plan (--apply, --cloudformation)
    slurmshim check         job scripts -> what maps, what is approximated, what is refused
    slurmshim output        fetch a finished Batch job's output to its --output path
    slurmshim plugins       the plugins that load, and their hooks
    slurmshim completion    the shell completion script (bash, zsh, fish)

Thin: click parses, slurmshim.admin.* does the work.  Nothing heavy is imported at module level;
boto3 only by the subcommands that talk to AWS (doctor with Batch partitions, migrate --apply,
output of a Batch job).  Every report takes --json.
"""
from __future__ import annotations

import os
import sys
from typing import Any

import click

PROG = "slurmshim"
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def _version() -> str:
    try:
        from importlib.metadata import version
        return version("slurmshim")
    except Exception:  # pragma: no cover - running from a source tree
        return "0+unknown"


def _json(data: Any) -> None:
    from ..admin.output import dump_json
    dump_json(data)


def _fail(message: str, code: int = 1) -> None:
    click.echo(f"{PROG}: error: {message}", err=True)
    sys.exit(code)


class _Group(click.Group):
    """Turns SlurmError (and unexpected errors) into `slurmshim: error: ...` and an exit code,
    also under click.testing.CliRunner."""

    def invoke(self, ctx: click.Context) -> Any:
        from ..errors import SlurmError
        try:
            return super().invoke(ctx)
        except SlurmError as exc:
            sys.stdout.flush()
            click.echo(exc.render(PROG), err=True, nl=False)
            ctx.exit(exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort,
                KeyboardInterrupt, SystemExit, BrokenPipeError):
            raise
        except Exception as exc:
            if os.environ.get("SLURMSHIM_DEBUG"):
                raise
            first = (str(exc).splitlines() or [""])[0]
            click.echo(f"{PROG}: error: internal error: {type(exc).__name__}: {first}", err=True)
            ctx.exit(1)


@click.group(cls=_Group, context_settings=CONTEXT)
@click.version_option(_version(), "-V", "--version", prog_name=PROG,
                      message="%(prog)s %(version)s")
def cli() -> None:
    """Administer slurmshim: Slurm's commands over AWS Batch.

    Start with `slurmshim init` (or `slurmshim migrate slurm.conf`), then `slurmshim doctor`.
    The configuration is $SLURMSHIM_CONF, else ~/.config/slurmshim/slurmshim.toml, else
    /etc/slurmshim/slurmshim.toml.
    """


# ---------------------------------------------------------------- init

@cli.command("init", context_settings=CONTEXT)
@click.option("--queue", metavar="QUEUE", help="AWS Batch job queue: adds a Batch partition.")
@click.option("--mnp-queue", metavar="QUEUE",
              help="On-demand job queue for multi-node jobs (--nodes>1).")
@click.option("--region", metavar="REGION", help="AWS region (else AWS_REGION / profile).")
@click.option("--image", metavar="IMAGE", help="Container image the jobs run in.")
@click.option("--bucket", metavar="BUCKET", help="S3 bucket for staging scripts.")
@click.option("--partition", default="cloud", show_default=True, metavar="NAME",
              help="Name of the Batch partition.")
@click.option("--path", "path", metavar="FILE",
              help="Where to write it ('-' = standard output). Default: $SLURMSHIM_CONF, else "
                   "~/.config/slurmshim/slurmshim.toml.")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@click.option("--json", "as_json", is_flag=True, help="Report as JSON.")
def init_cmd(queue, mnp_queue, region, image, bucket, partition, path, force, as_json) -> None:
    """Write a commented starter configuration.

    Without --queue it has one local partition (jobs run on this machine); with --queue it adds
    a Batch partition on that job queue and makes it the default.
    """
    from ..admin.init import InitOptions, default_path, starter_config, write_config
    opts = InitOptions(queue=queue, mnp_queue=mnp_queue, region=region, image=image,
                       bucket=bucket, partition=partition)
    if path == "-":
        if mnp_queue and not queue:
            _fail("--mnp-queue needs --queue")
        sys.stdout.write(starter_config(opts))
        return
    target = path or default_path()
    written = write_config(opts, target, force=force)
    if as_json:
        _json({"path": written, "partitions": ["local"] + ([partition] if queue else []),
               "default": partition if queue else "local"})
        return
    click.echo(f"wrote {written}")
    hint = "" if (path is None or os.environ.get("SLURMSHIM_CONF") == written) else \
        f" (point SLURMSHIM_CONF={written} at it)"
    click.echo(f"next: edit it, then run `slurmshim doctor`{hint}")


# ---------------------------------------------------------------- doctor

@cli.command("doctor", context_settings=CONTEXT)
@click.option("--json", "as_json", is_flag=True, help="Report as JSON.")
def doctor_cmd(as_json) -> None:
    """Check the configuration, credentials, queues, compute environments, S3 bucket,
    multi-node routes and EFA placement groups.  Exit status 1 if any check FAILs."""
    from ..admin.doctor import run_checks
    from ..admin.output import FAIL, table
    checks = run_checks()
    failed = any(c.status == FAIL for c in checks)
    if as_json:
        _json({"ok": not failed, "checks": [c.to_dict() for c in checks]})
    else:
        rows = []
        for c in checks:
            detail = c.detail + (f"  -> fix: {c.fix}" if c.fix and c.status != "OK" else "")
            rows.append([c.status, c.name, detail])
        click.echo(table(rows, ["STATUS", "CHECK", "RESULT"], fmt="plain"))
        counts = {s: sum(1 for c in checks if c.status == s) for s in ("OK", "WARN", "FAIL", "SKIP")}
        click.echo("\n" + ", ".join(f"{n} {s}" for s, n in counts.items() if n))
    sys.exit(1 if failed else 0)


# ---------------------------------------------------------------- migrate

@cli.command("migrate", context_settings=CONTEXT)
@click.argument("slurm_conf", type=click.Path(exists=True, dir_okay=False))
@click.option("--output", "-o", "output", metavar="CONF",
              help="Write the slurmshim configuration here [default: slurmshim.toml].")
@click.option("--plan", "plan_path", metavar="PLAN.json",
              help="Write the plan here [default: slurmshim-plan.json].")
@click.option("--apply", "apply", is_flag=True,
              help="Create the plan's compute environments, queues and placement groups "
                   "(idempotent).")
@click.option("--cloudformation", is_flag=True,
              help="Print an equivalent CloudFormation template instead.")
@click.option("--format", "fmt", type=click.Choice(["json", "yaml"]), default="json",
              show_default=True, help="Template format for --cloudformation.")
@click.option("--prefix", metavar="NAME", help="Resource name prefix [default: ClusterName].")
@click.option("--region", metavar="REGION", help="AWS region for the config and --apply.")
@click.option("--image", metavar="IMAGE", help="Container image for the config.")
@click.option("--bucket", metavar="BUCKET", help="S3 bucket for the config.")
@click.option("--no-spot", is_flag=True, help="On-demand queues only.")
@click.option("--subnet", "subnets", multiple=True, metavar="ID",
              help="Subnet for the compute environments (repeatable) [default: the default "
                   "VPC's].")
@click.option("--security-group", "security_groups", multiple=True, metavar="ID",
              help="Security group (repeatable) [default: the default VPC's 'default'].")
@click.option("--instance-role", metavar="PROFILE",
              help="ECS instance profile name or ARN [default: ecsInstanceRole].")
@click.option("--service-role", metavar="ROLE",
              help="AWS Batch service role [default: the service-linked role].")
@click.option("--force", is_flag=True, help="Overwrite existing output files.")
@click.option("--json", "as_json", is_flag=True, help="Report (plan and actions) as JSON.")
def migrate_cmd(slurm_conf, output, plan_path, apply, cloudformation, fmt, prefix, region, image,
                bucket, no_spot, subnets, security_groups, instance_role, service_role, force,
                as_json) -> None:
    """Turn a slurm.conf into a slurmshim configuration and a plan of AWS Batch resources.

    Each partition gets a Spot and an on-demand job queue; each node shape a Spot and an
    on-demand compute environment with an instance type chosen from the shape (see
    slurmshim/admin/instances.py for the table).  --apply creates what is missing;
    --cloudformation prints a template instead.
    """
    import json as _j

    from ..admin import migrate as M
    from ..admin.slurmconf import SlurmConfError, parse_file
    if apply and cloudformation:
        raise click.UsageError("--apply and --cloudformation are exclusive")
    try:
        conf = parse_file(slurm_conf)
    except SlurmConfError as exc:
        _fail(str(exc))
    opts = M.MigrateOptions(prefix=prefix, region=region, image=image, bucket=bucket,
                            spot=not no_spot, subnets=list(subnets),
                            security_groups=list(security_groups),
                            instance_role=instance_role, service_role=service_role)
    plan = M.build_plan(conf, opts)
    if not plan["partitions"]:
        _fail(f"{slurm_conf}: no partition with nodes: nothing to migrate")

    written: list[str] = []

    def write(path: str, text: str) -> None:
        if os.path.exists(path) and not force:
            _fail(f"{path} already exists; use --force to overwrite it")
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
        written.append(path)

    config_text = M.config_text(plan)
    _check_config(config_text)
    if cloudformation:
        if output:
            write(output, config_text)
        if plan_path:
            write(plan_path, _j.dumps(plan, indent=2) + "\n")
        tpl = M.cloudformation(plan)
        sys.stdout.write((M.to_yaml(tpl) + "\n") if fmt == "yaml" else
                         (_j.dumps(tpl, indent=2) + "\n"))
        for w in plan["warnings"]:
            click.echo(f"{PROG}: warning: {w}", err=True)
        return
    write(output or "slurmshim.toml", config_text)
    write(plan_path or "slurmshim-plan.json", _j.dumps(plan, indent=2) + "\n")

    actions = None
    if apply:
        actions = _apply(plan, region)
    if as_json:
        _json({"plan": plan, "written": written,
               "actions": [a.to_dict() for a in actions] if actions is not None else None})
        return
    _print_plan(plan)
    for w in plan["warnings"]:
        click.echo(f"{PROG}: warning: {w}", err=True)
    click.echo("")
    for path in written:
        click.echo(f"wrote {path}")
    if actions is not None:
        _print_actions(actions)
    else:
        click.echo("nothing created: run again with --apply to create the resources, or "
                   "--cloudformation for a template")


def _check_config(text: str) -> None:
    try:
        import tomllib  # type: ignore[import-not-found]
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    from ..config import parse_config
    parse_config(tomllib.loads(text), "<migrated config>")


def _apply(plan: dict, region: str | None):
    from ..admin.progress import bar
    from ..backends.batch.provision import AwsProbe, apply_plan, plan_steps
    from ..config import AwsSettings, load_config
    try:
        aws = load_config().aws
    except Exception:
        aws = AwsSettings()
    if region:
        aws.region = region
    env = dict(os.environ)
    if region:
        env["AWS_REGION"] = region
    probe = AwsProbe(aws, environ=env)
    steps = plan_steps(plan)
    with bar(length=len(steps), label="creating AWS Batch resources",
             item_show_func=lambda s: s) as b:
        def on_step(kind: str, name: str) -> None:
            b.update(1, name)
        return apply_plan(plan, probe, on_step=on_step)


def _print_plan(plan: dict) -> None:
    from ..admin.output import table
    click.echo("Node classes (one instance type per node shape):")
    click.echo(table([[c["name"], c["nodes"], c["count"], c["cpus"], c["real_memory"],
                       f"{c['gpus']}x{c['gpu_type']}" if c["gpus"] and c["gpu_type"] else c["gpus"],
                       c["instance_type"], "yes" if c["efa"] else "no",
                       ",".join(c["spot_instance_types"]) or "-"] for c in plan["node_classes"]],
                     ["CLASS", "NODES", "COUNT", "CPUS", "MEMORY(MB)", "GPUS", "INSTANCE", "EFA",
                      "SPOT TYPES"]))
    click.echo("\nCompute environments:")
    click.echo(table([[ce["name"], ce["type"], ",".join(ce["instanceTypes"]), ce["minvCpus"],
                       ce["maxvCpus"], ce.get("placementGroup") or "-"]
                      for ce in plan["compute_environments"]],
                     ["NAME", "TYPE", "INSTANCE TYPES", "MINVCPUS", "MAXVCPUS", "PLACEMENT"]))
    click.echo("\nJob queues:")
    click.echo(table([[q["name"], q["partition"], q["state"], ",".join(q["computeEnvironments"])]
                      for q in plan["job_queues"]],
                     ["NAME", "PARTITION", "STATE", "COMPUTE ENVIRONMENTS"]))


def _print_actions(actions) -> None:
    from ..admin.output import table
    click.echo("")
    click.echo(table([[a.kind, a.name, a.result] for a in actions],
                     ["RESOURCE", "NAME", "RESULT"]))
    n = sum(1 for a in actions if a.changed)
    click.echo(f"\n{n} created" if n else "\nnothing to do: every resource already exists")


# ---------------------------------------------------------------- check

@cli.command("check", context_settings=CONTEXT)
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--json", "as_json", is_flag=True, help="Report as JSON.")
@click.option("-v", "--verbose", is_flag=True, help="List the directives that map cleanly too.")
@click.option("-q", "--quiet", is_flag=True, help="Only list scripts that are not clean.")
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too, not only on refusals.")
@click.option("--no-site", is_flag=True,
              help="Do not check against this site's partitions and backends.")
@click.option("--plugins", "with_plugins", is_flag=True,
              help="Also run the site's job_submit plugins (site policy).")
def check_cmd(paths, as_json, verbose, quiet, strict, no_site, with_plugins) -> None:
    """Scan job scripts (files, or directories recursively) and report which #SBATCH directives
    map cleanly, which are approximated or ignored, and which would be refused.

    Exit status 1 when any script would be refused (with --strict: when any is not clean).
    """
    from ..admin import check as C
    from ..admin.output import table
    from ..admin.progress import bar
    opts = C.CheckOptions(site=not no_site, plugins=with_plugins)

    def progress(items):
        return bar(items, label="checking job scripts", min_items=20)

    reports, skipped = C.check_paths(paths, opts, progress=progress)
    tot = C.totals(reports, skipped)
    worklist = C.by_option(reports)
    if as_json:
        _json({"scripts": [r.to_dict() for r in reports], "totals": tot, "options": worklist})
    else:
        if not reports:
            click.echo(f"{PROG}: no job scripts found (files with #SBATCH lines) in "
                       f"{' '.join(paths)}", err=True)
        for line in C.iter_report_lines(reports, verbose=verbose, quiet=quiet):
            click.echo(line)
        if reports:
            click.echo("")
            click.echo("Directives by option:")
            click.echo(table([[w["option"], w["level"], w["scripts"], w["uses"], w["note"]]
                              for w in worklist],
                             ["OPTION", "LEVEL", "SCRIPTS", "USES", "NOTE"]))
            f = tot["findings"]
            click.echo("")
            click.echo(f"{tot['scripts']} scripts: {tot['clean']} clean, {tot['warnings']} with "
                       f"warnings, {tot['refused']} refused"
                       + (f" ({skipped} other files skipped)" if skipped else ""))
            click.echo("directives: " + ", ".join(f"{f[lv]} {lv}" for lv in C.LEVELS if f[lv]))
    bad = tot["refused"] or (strict and tot["warnings"])
    sys.exit(1 if bad or not reports else 0)


# ---------------------------------------------------------------- output

def _local_output_paths(rec) -> tuple[str, str | None]:
    from ..runtime.fname import expand_pattern

    def expand(pattern: str) -> str:
        return expand_pattern(pattern, job_id=rec.job_id, array_job_id=rec.array_job_id,
                              array_task_id=rec.array_task_id, step_id=None,
                              node_name=(rec.node_list.split(",")[0] if rec.node_list else ""),
                              node_id=0, task_id=0, user=rec.user, job_name=rec.name,
                              restart_count=rec.restarts, work_dir=rec.work_dir)
    out = expand(rec.stdout_path) if rec.stdout_path else expand("slurm-%j.out")
    err = expand(rec.stderr_path) if rec.stderr_path and rec.stderr_path != rec.stdout_path \
        else None
    return out, err


@cli.command("output", context_settings=CONTEXT)
@click.argument("job_id")
@click.option("--force", is_flag=True, help="Overwrite output files that already exist.")
@click.option("--json", "as_json", is_flag=True, help="Report as JSON.")
def output_cmd(job_id, force, as_json) -> None:
    """Fetch a finished AWS Batch job's output (from CloudWatch Logs) to its --output path.

    JOB_ID is N, N_TASK or an array's N (every finished task).  A local job's output is
    already where --output said.
    """
    from ..admin.progress import bar
    from ..controller import Controller
    from ..errors import SlurmError
    ctl = Controller.open()
    try:
        recs = ctl.find_jobs(job_id, visible_only=False)
    except SlurmError as exc:
        _fail(exc.message.replace("slurm_load_jobs error: ", ""))
    recs = [r for r in recs if not (r.is_array_meta and r.array_pending)] or recs
    results: list[dict[str, Any]] = []
    status = 0
    with bar(recs, label="fetching output", min_items=10) as it:
        for rec in it:
            row: dict[str, Any] = {"job": rec.display_id, "backend": rec.backend,
                                   "state": rec.state.value, "paths": [], "result": ""}
            results.append(row)
            if rec.backend != "batch":
                out, err = _local_output_paths(rec)
                row["paths"] = [p for p in (out, err) if p]
                row["result"] = ("ran on the local backend: its output is already at "
                                 + " and ".join(row["paths"]))
                continue
            if rec.is_array_meta and rec.array_pending:
                row["result"] = "not started yet"
                continue
            if not rec.state.is_terminal:
                row["result"] = (f"has not finished ({rec.state.value}): follow it with "
                                 f"`sattach {rec.display_id}.batch`")
                status = 1
                continue
            from ..backends.batch.logs import fetch_output, output_paths
            path = output_paths(rec)[0]
            row["paths"] = [path]
            existed = os.path.exists(path)
            try:
                wrote = fetch_output(ctl, rec, force=force)
            except SlurmError as exc:
                row["result"] = f"error: {exc.message}"
                status = 1
                continue
            if wrote:
                row["result"] = f"wrote {', '.join(wrote)}"
            elif path == "/dev/null":
                row["result"] = "output goes to /dev/null: nothing to fetch"
            elif existed:
                row["result"] = f"{path} already exists (kept; --force to overwrite)"
            else:
                row["result"] = "nothing written"
    if as_json:
        _json({"jobs": results})
    else:
        for row in results:
            click.echo(f"job {row['job']}: {row['result']}")
    sys.exit(status)


# ---------------------------------------------------------------- plugins

@cli.command("plugins", context_settings=CONTEXT)
@click.option("--json", "as_json", is_flag=True, help="Report as JSON.")
def plugins_cmd(as_json) -> None:
    """List the plugins that load (entry points "slurmshim", *.py in plugins_dir) and the hooks
    each implements.  SLURMSHIM_PLUGINS=a,b limits which load."""
    from .. import plugins as P
    from ..admin.output import table
    from ..config import load_config
    from ..errors import SlurmError
    cfg = load_config()
    try:
        loaded = P.describe_plugins(cfg)
    except SlurmError as exc:
        _fail(exc.message)
    names = {p["name"] for p in loaded}
    disabled = [p for p in P.available_plugins(cfg) if not p["enabled"] and p["name"] not in names]
    if as_json:
        _json({"plugins": loaded, "disabled": disabled,
               "plugins_dir": cfg.plugins_dir,
               "SLURMSHIM_PLUGINS": os.environ.get("SLURMSHIM_PLUGINS")})
        return
    if not loaded:
        click.echo("no plugins loaded" + (f" (plugins_dir {cfg.plugins_dir})"
                                          if cfg.plugins_dir else ""))
    else:
        click.echo(table([[p["name"], ", ".join(p["hooks"]) or "(none)", p["source"]]
                          for p in loaded], ["PLUGIN", "HOOKS", "SOURCE"]))
    for p in disabled:
        click.echo(f"{p['name']}: not loaded (SLURMSHIM_PLUGINS) -- {p['source']}")


# ---------------------------------------------------------------- completion

@cli.command("completion", context_settings=CONTEXT)
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion_cmd(shell) -> None:
    """Print the completion script for SHELL (all slurmshim commands).

    \b
      bash:  slurmshim completion bash > ~/.local/share/bash-completion/completions/slurmshim
      zsh:   slurmshim completion zsh > "${fpath[1]}/_slurmshim"
      fish:  slurmshim completion fish > ~/.config/fish/completions/slurmshim.fish
    """
    try:
        from ..docs.completion import completion_script
    except ImportError:
        _fail("completion scripts are not part of this installation (slurmshim.docs.completion "
              "is missing)")
    sys.stdout.write(completion_script(shell))


# ---------------------------------------------------------------- entry point

def main(argv: list[str] | None = None) -> None:
    """Console-script entry point; never returns."""
    try:
        cli.main(args=argv, prog_name=PROG)
    except BrokenPipeError:
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        sys.exit(0)


if __name__ == "__main__":
    main()
