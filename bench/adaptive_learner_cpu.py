"""The client's CPU per ask of a 2-D adaptive sweep: python-adaptive's own ``Learner2D``
against pairsweep's (:class:`pairsweep.sweeps.adaptive_learners._Learner2D`, which keeps the
value each chosen point's triangle interpolates there instead of interpolating every
pending point again on each ask). No cluster: the learner is asked as the engine asks it
(whole blocks of 100 points, up to 8 blocks in flight, asked 3 or more at a time) and told
each block at once, so the figures are the client's learner work alone.

    python bench/adaptive_learner_cpu.py            # 3000 and 10^4 points, ~1-2 minutes
    python bench/adaptive_learner_cpu.py --points 3000

CPU seconds (process time), so a shared machine's load matters little.
"""

from __future__ import annotations

import argparse
import time
from collections import deque

import adaptive
import numpy as np

from pairsweep.sweeps.adaptive_learners import _Learner2D, _never

BOUNDS = [(0.5, 2.0), (0.05, 0.3)]
FUNCTIONS = {
    "smooth (sin 3x cos 10y)": lambda p: float(np.sin(3 * p[0]) * np.cos(10 * p[1])),
    "front (tanh)": lambda p: float(np.tanh(3 * (p[0] - 1.2 + 2 * (p[1] - 0.15)))),
}


def drive(learner, f, n: int, block: int = 100, per_ask: int = 3, window: int = 8) -> tuple[float, int]:
    """CPU seconds of all asks, and their number, for ``n`` points."""
    inflight: deque = deque()
    told = asked = asks = 0
    spent = 0.0
    while told < n:
        room = window - len(inflight)
        k = min(room, (n - asked) // block)
        if k > 0 and (room >= per_ask or not inflight):
            t = time.process_time()
            if isinstance(learner, _Learner2D):
                points = learner.ask_fresh(k * block)
            else:  # what pairsweep did with adaptive's Learner2D
                learner.stack_size = max(learner.stack_size, k * block)
                points, _ = learner.ask(k * block)
            spent += time.process_time() - t
            asks += 1
            inflight.extend(points[i * block:(i + 1) * block] for i in range(k))
            asked += k * block
        for x in inflight.popleft():
            learner.tell(x, f(x))
            told += 1
    return spent, asks


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, nargs="*", default=[3000, 10000])
    args = parser.parse_args()
    print(f"{'function':<26} {'points':>6} {'asks':>5} {'adaptive.Learner2D':>19} {'pairsweep':>10} {'ratio':>6}")
    for name, f in FUNCTIONS.items():
        for n in args.points:
            stock, asks = drive(adaptive.Learner2D(_never, bounds=BOUNDS), f, n)
            ours, _ = drive(_Learner2D(_never, bounds=BOUNDS), f, n)
            print(f"{name:<26} {n:>6} {asks:>5} {stock:>17.2f} s {ours:>8.2f} s {stock / ours:>5.1f}x", flush=True)


if __name__ == "__main__":
    main()
