"""The ``pairsweep`` command line.

``pairsweep run SPEC.toml``      run or resume a sweep
``pairsweep status STORE``       done / remaining / failed, per-axis coverage
``pairsweep failures STORE``     the failures table (parameters and message per point)
``pairsweep kernels [NAME]``     registered kernels, their parameters, units and ranges (with
                                 NAME, also the kernel's documentation)
``pairsweep slice STORE VAR``    print or export a 2-D slice of a result
``pairsweep verify STORE``       check every done block against its checksums; mark bad
                                 blocks not done (exit 1 when something was wrong)
``pairsweep plot STORE VAR``     a figure (line or map) of a result
``pairsweep export STORE -o F``  the whole store as netCDF or long-format CSV
``pairsweep view STORE``         a live browser page of the results (Bokeh, localhost)
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import signal
import sys
import textwrap
import time
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


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pairsweep")
    except PackageNotFoundError:
        return "unknown (not installed)"


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

    from pairsweep.storage.parts import list_parts

    from .engine import plan_store, run_sweep

    sweep = load_spec(args.spec)
    if args.store:
        sweep = replace(sweep, store=Path(args.store))
    sweep = _cluster_override(sweep, args)
    if args.dry_run:
        # Everything a real run checks before submitting, the existing store included.
        rs, exists, extension = plan_store(sweep)
        validate_cluster(sweep.cluster.kind, sweep.cluster.options)
        if getattr(sweep, "adaptive", None) is not None:
            from pairsweep.storage import ledger

            done = int(ledger.done_blocks(rs.store, rs.n_blocks).sum()) if exists else 0
            print(f"spec OK: kernel {rs.kernel.name} v{rs.kernel.version}, adaptive over "
                  f"{', '.join(rs.sampled)}: {rs.capacity} points in {rs.n_blocks} blocks of {rs.block_points}, "
                  f"store {rs.store}, cluster {sweep.cluster.kind}")
            print(f"store exists and matches this spec: {done} of {rs.n_blocks} blocks done; a run resumes it"
                  if exists else "store does not exist yet; a run creates it")
            if sweep.cluster.kind in ("slurm", "pbs"):
                print(job_script(sweep.cluster.kind, sweep.cluster.options))
            return 0
        print(f"spec OK: kernel {rs.kernel.name} v{rs.kernel.version}, {rs.n_points} points "
              f"({' x '.join(map(str, rs.shape))}), blocks of {' x '.join(map(str, rs.chunks))}, "
              f"store {rs.store}, cluster {sweep.cluster.kind}")
        if exists and (extension is not None or list_parts(rs.store)):
            from pairsweep.storage import store_status

            st = store_status(rs.store)
            print(f"store exists ({st.parts} part{'s' if st.parts > 1 else ''}): {st.blocks_done} of {st.n_blocks} "
                  "stored blocks done; a run resumes it")
            if extension is not None:
                n = len(extension.pieces)
                print(f"this spec extends it by {extension.n_new_points} points in {n} new part{'s' if n > 1 else ''}; "
                      "stored points are kept, never recomputed")
        elif exists:
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
    verbosity = -1 if args.quiet else min(args.verbose, 1)
    viewer = _start_view(sweep) if args.view else None
    try:
        report = run_sweep(sweep, progress=not args.no_progress, verbosity=verbosity)
    finally:
        if viewer is not None:
            time.sleep(1.5)  # one more refresh, so open pages show the run's last blocks
            viewer.terminate()
            viewer.wait(timeout=30)
    print(report)
    return 0 if report.complete else 3


def _start_view(sweep: Sweep):
    """Create (or check) the store, then serve its page from a child process for the run's
    duration; the child is ours and is stopped by its pid when the run ends."""
    import subprocess

    from pairsweep.cluster import validate as validate_cluster

    from .engine import prepare_store

    # the run checks its cluster options only after this creates the store: check them first,
    # so that a bad option leaves nothing behind
    try:
        validate_cluster(sweep.cluster.kind, sweep.cluster.options)
    except ClusterError as exc:
        raise SpecError(str(exc)) from None
    rs = prepare_store(sweep)
    # the page server ignores the terminal's Ctrl-C (meant for the run, which stops it)
    proc = subprocess.Popen([sys.executable, "-m", "pairsweep.sweeps.view", str(rs.store), "--announce-stdout",
                             "--parent-pid", str(os.getpid())], stdout=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    link = proc.stdout.readline().strip()  # the child binds a free port itself and says which
    if not link:
        proc.wait(timeout=30)
        print("pairsweep: the results view did not start (see above); running without it", file=sys.stderr)
        return None
    print(link, file=sys.stderr, flush=True)
    return proc


def _cmd_view(args: argparse.Namespace) -> int:
    from .view import serve

    serve(args.store, args.port)
    return 0


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


def _open_store(path: str):
    from pairsweep.storage import open_result

    if not (Path(path) / "zarr.json").is_file():
        raise SpecError(f"store: {path} is not a pairsweep store (no zarr.json)")
    return open_result(path)


def _cmd_plot(args: argparse.Namespace) -> int:
    from .plot import check_figure_path, plot_variable, save_figure
    from .selection import parse_selections

    out = check_figure_path(args.output)
    sel = parse_selections(args.sel)
    ds = _open_store(args.store)
    if "point" in ds.dims and "pairsweep" in ds.attrs:  # adaptive: interpolate onto a grid first
        from .adaptive_grid import to_grid

        ds = to_grid(ds, args.variable, n=201)
    fig, notes = plot_variable(ds, args.variable, x=args.x, y=args.y, sel=sel,
                               nearest=args.nearest, facet=args.facet, contours=args.contour or (),
                               log_values=args.log_values)
    for note in notes:
        print(f"pairsweep: {note}", file=sys.stderr)
    save_figure(fig, out)
    print(f"wrote {out}")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from pairsweep.storage.results import failure_messages

    from .export import check_export_path, export_csv, export_netcdf

    out = check_export_path(args.output, force=args.force)
    ds = _open_store(args.store)
    if out.suffix.lower() == ".nc":
        export_netcdf(ds, out)
    else:
        export_csv(ds, out, failure_messages(args.store, ds))
    print(f"wrote {out}")
    return 0


def _cmd_slice(args: argparse.Namespace) -> int:
    from .plot import FIGURE_SUFFIXES, check_figure_path, plot_variable, save_figure
    from .selection import parse_selections, select

    out = Path(args.output) if args.output else None
    if out is not None and out.suffix.lower() not in (".csv", ".nc", *FIGURE_SUFFIXES):
        raise SpecError(f"--output: unknown format {out.suffix!r}; allowed: .csv, .nc, {', '.join(FIGURE_SUFFIXES)}")
    if out is not None and out.suffix.lower() in FIGURE_SUFFIXES:
        check_figure_path(out)
    sel = parse_selections(args.sel)
    ds = _open_store(args.store)
    if args.variable not in ds.data_vars:
        raise SpecError(f"variable: {args.variable!r} not in store; variables: {', '.join(ds.data_vars)}")
    da, notes = select(ds[args.variable], sel, nearest=args.nearest)
    for note in notes:
        print(f"pairsweep: {note}", file=sys.stderr)
    if da.ndim > 2:
        raise SpecError(
            f"--sel: {args.variable} still has dimensions {', '.join(da.dims)}; fix all but two with --sel DIM=VALUE"
        )
    if out is not None and out.suffix.lower() in FIGURE_SUFFIXES:
        # the same figure as `pairsweep plot`: log axes, units, non-ok points marked
        fig, _ = plot_variable(ds, args.variable, sel=sel, nearest=args.nearest)
        save_figure(fig, out)
        print(f"wrote {out}")
        return 0
    da = da.load()
    if out is not None:
        if out.suffix == ".nc":
            from .export import export_netcdf

            export_netcdf(da.to_dataset(), out)
        else:
            da.to_dataframe().to_csv(out)
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
    parser.add_argument("--version", action="version", version=f"pairsweep {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run or resume the sweep described by a TOML spec")
    run.add_argument("spec", help="sweep spec (TOML)")
    run.add_argument("--store", help="override the spec's store path")
    run.add_argument("--cluster", choices=["local", "slurm", "pbs"], help="override the spec's cluster kind")
    run.add_argument("--address", help="run on an existing scheduler (tcp://host:port)")
    run.add_argument("--workers", type=int, help="number of local workers (default: one per core)")
    run.add_argument("--dry-run", action="store_true", help="validate the spec (and print the job script) without running")
    run.add_argument("--no-progress", action="store_true", help="no progress bar or lines (the dashboard link is still printed)")
    run.add_argument("--view", action="store_true", help="also serve the live results page (pairsweep view) during the run")
    talk = run.add_mutually_exclusive_group()
    talk.add_argument("-v", "--verbose", action="count", default=0, help="also a line per block and distributed's INFO messages")
    talk.add_argument("-q", "--quiet", action="store_true", help="print only errors and the final report")
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
    sl.add_argument("--sel", action="append", metavar="DIM=VALUE", help="fix a dimension to a grid value; repeatable")
    sl.add_argument("--nearest", action="store_true", help="--sel takes the nearest grid value (and says which)")
    sl.add_argument("--output", "-o", help="write to .csv, .nc, or a figure (.png, .pdf, .svg) instead of printing")
    sl.set_defaults(func=_cmd_slice)

    ex = sub.add_parser("export", help="the whole store as netCDF (.nc) or a long-format CSV (.csv)")
    ex.add_argument("store")
    ex.add_argument("--output", "-o", required=True, help="x.nc (netCDF-3, provenance as JSON attributes) or x.csv")
    ex.add_argument("--force", action="store_true", help="replace an existing output file")
    ex.set_defaults(func=_cmd_export)

    vw = sub.add_parser("view", help="serve a live browser page of the results on 127.0.0.1 (Bokeh)")
    vw.add_argument("store")
    vw.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    vw.set_defaults(func=_cmd_view)

    pl = sub.add_parser("plot", help="draw a stored variable: a line or a map, log axes for log-spaced axes")
    pl.add_argument("store")
    pl.add_argument("variable")
    pl.add_argument("--x", help="dimension along the horizontal axis")
    pl.add_argument("--y", help="dimension along the vertical axis (makes a map)")
    pl.add_argument("--sel", action="append", metavar="DIM=VALUE", help="fix a dimension to a grid value; repeatable")
    pl.add_argument("--nearest", action="store_true", help="--sel takes the nearest grid value (and says which)")
    pl.add_argument("--facet", metavar="DIM", help="one panel per value of DIM")
    pl.add_argument("--contour", action="append", type=float, metavar="LEVEL",
                    help="draw the line where the variable equals LEVEL; repeatable")
    pl.add_argument("--log-values", action="store_true", help="logarithmic colour scale (map) or value axis (line)")
    pl.add_argument("--output", "-o", required=True, help="figure file: .png, .pdf or .svg")
    pl.set_defaults(func=_cmd_plot)
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
