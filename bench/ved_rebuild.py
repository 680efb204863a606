"""VED solver before and after its numba code was rebuilt: compile time, run time, same bits.

The reference is the single-module solver of a git revision (default e82fa4e, where
``kernels/bipolaron/_ved_basis.py`` held every compiled routine with positional int/float
settings arrays). Its ``_ved_basis.py`` is taken from git and loaded in place of the current
one, under the same module name, so the rest of the kernel (growth driver, ``solve_point``)
is the same code for both. Each measurement runs in a fresh subprocess with its own
``NUMBA_CACHE_DIR``:

* cold compile: ``compile_numba()`` with an empty cache (what a fresh worker pays once);
* cache load: ``compile_numba()`` again in a new process, from that cache;
* run time: the points of ``tests/kernels/bipolaron/ved_golden.py`` (``solve_point``) and a
  pure basis growth (expand + CSR rows, no eigensolver: the code that was rebuilt), each the
  best of ``--repeat`` runs, the variants alternating so that load on a shared machine hits
  both alike. Ratios within one run are the figures to quote; absolute times are noisy.

It also checks that both variants give identical outputs (``==`` on every float).

Usage::

    nice -n 10 .venv/bin/python bench/ved_rebuild.py [--ref e82fa4e] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_CHILD = r"""
import importlib.util, json, sys, time
variant, ref_file, what = sys.argv[1], sys.argv[2], sys.argv[3]
if variant == "ref":
    name = "pairsweep.kernels.bipolaron._ved_basis"
    spec = importlib.util.spec_from_file_location(name, ref_file)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
t0 = time.perf_counter()
from pairsweep.kernels.bipolaron._ved_growth import compile_numba
compile_numba()
res = {"compile_s": time.perf_counter() - t0}
if what == "run":
    sys.path.insert(0, sys.argv[4])
    import numpy as np
    import ved_golden as g
    from pairsweep.kernels.bipolaron import MODELS
    from pairsweep.kernels.bipolaron._ved_basis import Problem, VEDBasis
    times, outs = [], []
    for kw in g.POINTS:
        t = time.perf_counter()
        outs.append(g.point_outputs(kw))
        times.append(time.perf_counter() - t)
    res["points_s"] = times
    res["outs"] = outs
    grow_s = []
    for model, d, n in (("bond_peierls", 2, 100_000), ("holstein", 2, 200_000),
                        ("bond_peierls", 3, 50_000)):
        b = VEDBasis(Problem(model=MODELS[model], d=d, two_electrons=True, omega=1.0,
                             coupling=1.0, U=8.0), max_states=10**7)
        t = time.perf_counter()
        while b.nstates < n:
            b.expand(None, 0.0, 0.0)
            b.build_rows()
        t_plain = time.perf_counter() - t
        n_plain = b.nstates
        # one selected expansion, with a made-up |psi| (the amplitude test runs per child)
        psi = np.exp(-np.arange(b.nstates) / (0.1 * b.nstates))
        t = time.perf_counter()
        b.expand(psi, -10.0, 1e-4)
        b.build_rows()
        grow_s.append([f"{model} d={d}", n_plain, t_plain, time.perf_counter() - t,
                       int(b.nnz), b.nstates])
    res["grow"] = grow_s
print("RESULT " + json.dumps(res, default=float))
"""


def child(variant: str, ref_file: str, what: str, cache: str) -> dict:
    env = {**os.environ, "NUMBA_CACHE_DIR": cache}
    out = subprocess.run([sys.executable, "-c", _CHILD, variant, ref_file, what,
                          str(ROOT / "tests" / "kernels" / "bipolaron")],
                         capture_output=True, text=True, env=env, cwd=ROOT)
    if out.returncode != 0:
        raise SystemExit(f"{variant} {what} failed:\n{out.stderr}")
    line = next(x for x in out.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return True
    return a == b


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ref", default="e82fa4e", help="git revision of the reference solver")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per variant (best of)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="ved_rebuild_"))
    ref_file = tmp / "ref" / "_ved_basis.py"
    ref_file.parent.mkdir()
    ref_file.write_text(subprocess.run(
        ["git", "show", f"{args.ref}:kernels/bipolaron/_ved_basis.py"], cwd=ROOT, check=True,
        capture_output=True, text=True).stdout)
    variants = ("ref", "new")
    caches = {v: str(tmp / f"cache-{v}") for v in variants}
    cold, warm, runs = {}, {}, {v: [] for v in variants}
    for v in variants:
        cold[v] = child(v, str(ref_file), "compile", caches[v])["compile_s"]
    for v in variants:
        warm[v] = child(v, str(ref_file), "compile", caches[v])["compile_s"]
    for _ in range(args.repeat):
        for v in variants:
            runs[v].append(child(v, str(ref_file), "run", caches[v]))

    print(f"# reference: {args.ref} (_ved_basis.py, positional settings arrays); "
          f"new: working tree (named tuples, one function per term); best of {args.repeat}")
    print(f"{'':34} {'ref':>9} {'new':>9} {'new/ref':>8}")
    print(f"{'compile_numba(), empty cache (s)':34} {cold['ref']:9.2f} {cold['new']:9.2f} "
          f"{cold['new'] / cold['ref']:8.2f}")
    print(f"{'compile_numba(), from cache (s)':34} {warm['ref']:9.2f} {warm['new']:9.2f} "
          f"{warm['new'] / warm['ref']:8.2f}")
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "ved_golden", ROOT / "tests" / "kernels" / "bipolaron" / "ved_golden.py")
    g = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(g)
    tot = {v: 0.0 for v in variants}
    print("# solve_point on the recorded points (s)")
    for i, kw in enumerate(g.POINTS):
        best = {v: min(r["points_s"][i] for r in runs[v]) for v in variants}
        for v in variants:
            tot[v] += best[v]
        steps = kw.get("max_steps", 60)
        label = f"{kw['model'][:16]} d={kw['d']} U={kw['U_over_t']:g} steps={steps}"
        print(f"{label:34} {best['ref']:9.3f} {best['new']:9.3f} "
              f"{best['new'] / best['ref']:8.2f}")
    print(f"{'all points':34} {tot['ref']:9.3f} {tot['new']:9.3f} "
          f"{tot['new'] / tot['ref']:8.2f}")
    print("# basis growth only: plain generations to N states, then one selected step (s)")
    for k, row in enumerate(runs["ref"][0]["grow"]):
        for j, what, size in ((2, "plain", row[1]), (3, "selected", row[5])):
            best = {v: min(r["grow"][k][j] for r in runs[v]) for v in variants}
            label = f"{row[0]} {what} to {size / 1e6:.2f} M"
            print(f"{label:34} {best['ref']:9.3f} {best['new']:9.3f} "
                  f"{best['new'] / best['ref']:8.2f}")
    ident = all(same(a[k], b[k]) for ra, rb in zip(runs["ref"], runs["new"])
                for a, b in zip(ra["outs"], rb["outs"]) for k in a)
    ident = ident and all(ra["grow"][k][1:2] + ra["grow"][k][4:] == rb["grow"][k][1:2]
                          + rb["grow"][k][4:] for ra, rb in zip(runs["ref"], runs["new"])
                          for k in range(len(ra["grow"])))  # states and nnz
    print(f"# outputs identical (==, every float, basis sizes and nnz): {ident}")
    print(f"# (bench ran {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
