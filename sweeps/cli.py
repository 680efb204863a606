"""The ``pairsweep`` command line.

``pairsweep run SPEC.toml``      run or resume a sweep
``pairsweep status STORE``       done / remaining / failed, per-axis coverage
``pairsweep failures STORE``     the failures table (parameters and message per point)
``pairsweep kernels [NAME]``     registered kernels, their parameters, units and ranges (with
                                 NAME, also the kernel's documentation)
``pairsweep slice STORE VAR``    print or export a 2-D slice of a result
``pairsweep verify STORE``       check every done block against its checksums; mark bad
                                 blocks not done (exit 1 when something was wrong)
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from pairsweep.cluster import ClusterError
from pairsweep.kernels import Kernel, available_kernels, get_kernel
from pairsweep.storage.errors import StoreError

from .spec import ClusterSpec, SpecError, Sweep, load_spec

__all__ = ["main"]


def _parse_value(text: str) -> Any:
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            continue
    return text


def _cluster_override(sweep: Sweep, args: argparse.Namespace) -> Sweep:
    cluster = sweep.cluster
    if args.address:
        cluster = ClusterSpec("address", {"address": args.address})
    elif args.cluster:
        options = dict(cluster.options) if args.cluster == cluster.kind else {}
        cluster = ClusterSpec(args.cluster, options)
    if args.workers is not None:
        if cluster.kind != "local":
            raise SpecError("--workers: only for a local cluster")
        cluster = ClusterSpec("local", {**cluster.options, "n_workers": args.workers})
    return replace(sweep, cluster=cluster)


def _cmd_run(args: argparse.Namespace) -> int:
    from pairsweep.cluster import job_script
    from pairsweep.cluster import validate as validate_cluster

    from .engine import check_store, run_sweep

    sweep = load_spec(args.spec)
    if args.store:
        sweep = replace(sweep, store=Path(args.store))
    sweep = _cluster_override(sweep, args)
    if args.dry_run:
        # Everything a real run checks before submitting, the existing store included.
        rs, exists = check_store(sweep)
        validate_cluster(sweep.cluster.kind, sweep.cluster.options)
        print(f"spec OK: kernel {rs.kernel.name} v{rs.kernel.version}, {rs.n_points} points "
              f"({' x '.join(map(str, rs.shape))}), blocks of {' x '.join(map(str, rs.chunks))}, "
              f"store {rs.store}, cluster {sweep.cluster.kind}")
        if exists:
            from pairsweep.storage import ledger
            from .grid import BlockGrid

            grid = BlockGrid(rs.shape, rs.chunks)
            done = int(ledger.done_blocks(rs.store, grid.n_blocks).sum())
            print(f"store exists and matches this spec: {done} of {grid.n_blocks} blocks done; a run resumes it")
        else:
            print("store does not exist yet; a run creates it")
        if sweep.cluster.kind in ("slurm", "pbs"):
            print(job_script(sweep.cluster.kind, sweep.cluster.options))
        return 0
    report = run_sweep(sweep, progress=not args.no_progress)
    print(report)
    return 0 if report.complete else 3


def _cmd_status(args: argparse.Namespace) -> int:
    from pairsweep.storage import store_status

    status = store_status(args.store)
    if args.json:
        out = {k: v for k, v in vars(status).items() if k != "path"}
        print(json.dumps({"path": str(status.path), **out}, indent=2, default=str))
    else:
        print(status)
        last = status.runs[-1] if status.runs else None
        if last and "finished" not in last and "interrupted" not in last:  # running or killed: its jobs
            from pairsweep.cluster import jobs_table

            table = jobs_table(last.get("cluster"))
            if table:
                print(table)
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    from pairsweep.storage.verify import verify_store

    report = verify_store(args.store, repair=not args.check_only)
    print(report)
    return 0 if report.clean else 1


def _cmd_failures(args: argparse.Namespace) -> int:
    from pairsweep.storage import failures

    rows = list(failures(args.store))
    if not rows:
        print("no failed or unconverged points recorded")
        return 0
    writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows[: args.limit] if args.limit else rows)
    return 0


def _format_parameter(p: Any) -> str:
    default = "required" if p.default is None else f"default {p.default!r}"
    return f"    {p.name:<16} [{p.unit}] {p.allowed()}, {default}\n        {p.description}"


def describe_kernel(kernel: Kernel) -> str:
    lines = [f"{kernel.name} (version {kernel.version}): {kernel.summary}", f"  reference: {kernel.reference}", "  parameters:"]
    lines += [_format_parameter(p) for p in kernel.parameters]
    lines.append("  outputs:")
    for o in kernel.outputs:
        dims = f" per {', '.join(o.dims)}" if o.dims else ""
        lines.append(f"    {o.name:<16} [{o.unit}] {o.dtype}{dims}: {o.description}")
    return "\n".join(lines)


def _cmd_kernels(args: argparse.Namespace) -> int:
    if args.name:
        # one kernel: its documentation (method, conventions, validity) after the table
        kernel = get_kernel(args.name)
        print(describe_kernel(kernel))
        if kernel.doc.strip():
            print("\n" + textwrap.dedent(kernel.doc).strip())
        return 0
    print("\n\n".join(describe_kernel(k) for k in available_kernels().values()))
    return 0


def _cmd_slice(args: argparse.Namespace) -> int:
    from pairsweep.storage import open_result

    ds = open_result(args.store)
    if args.variable not in ds.data_vars:
        raise SpecError(f"variable: {args.variable!r} not in store; variables: {', '.join(ds.data_vars)}")
    da = ds[args.variable]
    for item in args.sel or []:
        dim, _, raw = item.partition("=")
        if dim not in da.dims:
            raise SpecError(f"--sel {item}: {dim!r} is not a dimension of {args.variable}; dimensions: {', '.join(da.dims)}")
        da = da.sel({dim: _parse_value(raw)}, method="nearest" if da[dim].dtype.kind in "fiu" else None)
    if da.ndim > 2:
        raise SpecError(
            f"--sel: {args.variable} still has dimensions {', '.join(da.dims)}; fix all but two with --sel DIM=VALUE"
        )
    da = da.load()
    if args.output:
        out = Path(args.output)
        if out.suffix == ".nc":
            da.to_netcdf(out)
        elif out.suffix == ".csv":
            da.to_dataframe().to_csv(out)
        elif out.suffix == ".png":
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt

            fig, ax = plt.subplots(figsize=(6, 4.5))
            da.plot(ax=ax) if da.ndim == 2 else da.plot.line(ax=ax, marker="o")
            fig.tight_layout()
            fig.savefig(out, dpi=120)
        else:
            raise SpecError(f"--output: unknown format {out.suffix!r}; allowed: .csv, .nc, .png")
        print(f"wrote {out}")
        return 0
    unit = da.attrs.get("units", "")
    print(f"{args.variable} [{unit}] over {', '.join(da.dims)}")
    if da.ndim == 0:
        print(da.values)
        return 0
    row_dim = da.dims[0]
    values = np.atleast_2d(da.values) if da.ndim == 2 else da.values[:, None]
    header = [row_dim] + ([f"{da.dims[1]}={v}" for v in da[da.dims[1]].values] if da.ndim == 2 else [args.variable])
    print("\t".join(header))
    for coord, row in zip(da[row_dim].values, values, strict=True):
        print("\t".join([f"{coord:.6g}" if isinstance(coord, float) else str(coord)]
                        + [f"{v:.6g}" if isinstance(v, float) and not math.isnan(v) else str(v) for v in row.tolist()]))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pairsweep", description="Distributed parameter sweeps of superconductivity models.")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run or resume the sweep described by a TOML spec")
    run.add_argument("spec", help="sweep spec (TOML)")
    run.add_argument("--store", help="override the spec's store path")
    run.add_argument("--cluster", choices=["local", "slurm", "pbs"], help="override the spec's cluster kind")
    run.add_argument("--address", help="run on an existing scheduler (tcp://host:port)")
    run.add_argument("--workers", type=int, help="number of local workers (default: one per core)")
    run.add_argument("--dry-run", action="store_true", help="validate the spec (and print the job script) without running")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.set_defaults(func=_cmd_run)

    status = sub.add_parser("status", help="progress of a store: done / remaining / failed, per-axis coverage")
    status.add_argument("store")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(func=_cmd_status)

    verify = sub.add_parser("verify", help="check every done block against its checksums; mark bad ones "
                                           "not done so that `run` recomputes them; repair damaged metadata")
    verify.add_argument("store")
    verify.add_argument("--check-only", action="store_true", help="report only; change nothing")
    verify.set_defaults(func=_cmd_verify)

    fails = sub.add_parser("failures", help="CSV of points that failed or did not converge, with messages")
    fails.add_argument("store")
    fails.add_argument("--limit", type=int, default=0, help="print at most this many rows")
    fails.set_defaults(func=_cmd_failures)

    kernels = sub.add_parser("kernels", help="list kernels with parameters, units and ranges; with NAME, "
                                         "also its documentation")
    kernels.add_argument("name", nargs="?", help="show only this kernel")
    kernels.set_defaults(func=_cmd_kernels)

    sl = sub.add_parser("slice", help="print or export a 2-D (or 1-D) slice of a stored variable")
    sl.add_argument("store")
    sl.add_argument("variable")
    sl.add_argument("--sel", action="append", metavar="DIM=VALUE", help="fix a dimension (nearest value); repeatable")
    sl.add_argument("--output", "-o", help="write to .csv, .nc or .png instead of printing")
    sl.set_defaults(func=_cmd_slice)
    return parser


#: Exit status after Ctrl-C, as shells report a process ended by SIGINT (128 + 2).
EXIT_INTERRUPTED = 130


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt as exc:
        # SweepInterrupted says how many blocks are kept; an interrupt elsewhere (cluster
        # start-up or shutdown) loses nothing either: the ledger is the record.
        message = str(exc) or "interrupted; every block already done is kept; run the same command to resume"
        print(f"pairsweep: {message}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (SpecError, ClusterError, StoreError, KeyError, FileNotFoundError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        print(f"pairsweep: error: {message}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # `pairsweep slice ... | head`: the reader left; not an error worth a traceback.
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
