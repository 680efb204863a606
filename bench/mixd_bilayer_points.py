"""Per-point cost of the mixd_bilayer kernel (Borchia, Lange, Grusdt 2025).

Run: ``nice -n 10 .venv/bin/python bench/mixd_bilayer_points.py``. Prints, for each case,
the median wall time of ``solve_point`` over a few repeats (after one warm-up call that
builds the k grid), the k-grid evaluations used and the status. Timings on a shared
machine are noisy; quote them with the command.
"""

from __future__ import annotations

import statistics
import time

from pairsweep.kernels.mixd_bilayer import solve_point

CASES = [
    # (label, parameters)
    ("ladder L=30 d=8/30 BCS side J=0.5", dict(J_perp=0.5, doping=8 / 30, L=30, d=1)),
    ("ladder L=30 d=8/30 crossover J=1.1", dict(J_perp=1.1, doping=8 / 30, L=30, d=1)),
    ("ladder L=30 d=8/30 BEC side J=2.0", dict(J_perp=2.0, doping=8 / 30, L=30, d=1)),
    ("ladder L=30 d=8/30 beta=0 wins J=0.1", dict(J_perp=0.1, doping=8 / 30, L=30, d=1)),
    ("ladder L=120 d=32/120 J=1.1", dict(J_perp=1.1, doping=32 / 120, L=120, d=1)),
    ("ladder L=1000 d=0.266 J=1.1", dict(J_perp=1.1, doping=266 / 1000, L=1000, d=1)),
    ("bilayer 16x16 Nh=12 J=1 (Fig. 2)", dict(J_perp=1.0, doping=12 / 256, L=16, d=2)),
    ("bilayer 16x16 Nh=12 J=1 eps=1.5 (Fig. 7)", dict(J_perp=1.0, doping=12 / 256, L=16, d=2, eps=1.5)),
    ("bilayer 16x16 + Delta_k map", dict(J_perp=1.0, doping=12 / 256, L=16, d=2, with_delta_k_map=True)),
    ("bilayer 32x32 Nh=48 J=1", dict(J_perp=1.0, doping=48 / 1024, L=32, d=2)),
    ("bilayer 64x64 Nh=192 J=1", dict(J_perp=1.0, doping=192 / 4096, L=64, d=2)),
    ("bilayer 128x128 Nh=768 J=1", dict(J_perp=1.0, doping=768 / 16384, L=128, d=2)),
]


def main(repeats: int = 5) -> None:
    print(f"{'case':44s} {'median ms':>10s} {'min ms':>8s} {'evals':>6s} {'status':>6s}")
    for label, params in CASES:
        solve_point(**params)  # warm-up: builds and caches the k grid
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            r = solve_point(**params)
            times.append(time.perf_counter() - start)
        print(
            f"{label:44s} {1e3 * statistics.median(times):10.1f} {1e3 * min(times):8.1f} "
            f"{int(r['n_evaluations']):6d} {int(r['status']):6d}"
        )


if __name__ == "__main__":
    main()
