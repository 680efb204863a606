"""How long each seed figure in examples/figures/ takes from spec to image on this machine.

    python bench/figures.py                          # every figure, PNGs into a temporary folder
    python bench/figures.py --only mixd_fig3 --png-dir examples/figures   # one, keep its PNG

For each ``examples/figures/*.toml`` it runs, as a user types them, ``pairsweep run SPEC``
into a fresh store in a temporary folder (so nothing is resumed) and then the spec's own
``# plot:`` command (its store and output path swapped for the temporary ones), each in a
fresh process, and prints a table: points, ok / not converged / failed, seconds for the run
(cluster start included), for the plot, and in all. The machine's cores and load average
before and after each figure are printed too: on a shared machine the times move with the
load, so quote them with it.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIGURES = ROOT / "examples" / "figures"
PAIRSWEEP = [sys.executable, "-m", "pairsweep.sweeps.cli"]


def plot_command(spec: Path) -> list[str]:
    """The ``# plot: pairsweep plot …`` line of a figure spec, as an argument list."""
    for line in spec.read_text().splitlines():
        if line.startswith("# plot:"):
            words = shlex.split(line.removeprefix("# plot:"))
            if words[:2] != ["pairsweep", "plot"]:
                raise SystemExit(f"{spec}: the '# plot:' line must start with 'pairsweep plot'")
            return words[1:]
    raise SystemExit(f"{spec}: no '# plot:' line")


def time_figure(spec: Path, work: Path, png_dir: Path) -> dict:
    store = work / f"{spec.stem}.zarr"
    png = png_dir / f"{spec.stem}.png"
    args = plot_command(spec)
    args[1] = str(store)  # plot STORE VAR ...
    args[args.index("-o") + 1] = str(png)
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    subprocess.run([*PAIRSWEEP, "run", str(spec), "--store", str(store), "-q"], check=True, cwd=work,
                   stdout=subprocess.DEVNULL)  # its report's counts are in the table
    t1 = time.perf_counter()
    subprocess.run([*PAIRSWEEP, *args], check=True, cwd=work, stdout=subprocess.DEVNULL)
    t2 = time.perf_counter()
    status = json.loads(subprocess.run([*PAIRSWEEP, "status", str(store), "--json"], check=True,
                                       capture_output=True, text=True).stdout)
    return dict(figure=spec.stem, points=status["n_points"], ok=status["ok"], nc=status["not_converged"],
                failed=status["failed"], run_s=t1 - t0, plot_s=t2 - t1, total_s=t2 - t0,
                load=f"{load0:.1f}->{os.getloadavg()[0]:.1f}", png_kB=png.stat().st_size / 1024)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", help="figure names (spec stems) to time; default: all")
    parser.add_argument("--png-dir", type=Path, help="keep the PNGs here (default: a temporary folder)")
    args = parser.parse_args()
    specs = sorted(FIGURES.glob("*.toml"))
    if args.only:
        specs = [s for s in specs if s.stem in args.only]
    print(f"# bench/figures.py: spec -> image, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"{os.cpu_count()} cores, one local worker per core")
    print(f"{'figure':<16} {'points':>6} {'ok':>4} {'nc':>3} {'fail':>4} {'run_s':>7} {'plot_s':>6} "
          f"{'total_s':>7} {'png_kB':>6}  load(1 min) before->after", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        png_dir = (args.png_dir or work).resolve()
        png_dir.mkdir(parents=True, exist_ok=True)
        for spec in specs:
            r = time_figure(spec, work, png_dir)
            print(f"{r['figure']:<16} {r['points']:>6} {r['ok']:>4} {r['nc']:>3} {r['failed']:>4} "
                  f"{r['run_s']:>7.1f} {r['plot_s']:>6.1f} {r['total_s']:>7.1f} {r['png_kB']:>6.0f}  {r['load']}",
                  flush=True)


if __name__ == "__main__":
    main()
