"""The Markov chain of the path-integral Monte Carlo bipolaron solver (numba).

Private engine of :mod:`pairsweep.kernels.bipolaron.qmc`, which states the method, the
weights and the estimators; this module holds the configuration and the updates. Units: t = 1,
imaginary time in 1/t.

Configuration
-------------
A kink is a slot of parallel arrays: time ``tk`` in [0, β), electron ``el`` (−1 = free slot),
``code`` (hop direction 2a for +e_a and 2a + 1 for −e_a; −1 for a Holstein vertex, which does
not hop) and ``partner`` (the other end of its phonon line, −1 for a bare hop). Slots are
stable, so partners never need renumbering; ``order[e, :count[e]]`` lists electron e's slots by
time. ``start[e]`` is electron e's site at τ = 0. A configuration is weighed only through
:func:`walk`, which recomputes everything from these arrays: every update changes the arrays,
asks :func:`walk` for the new weight, and undoes itself when rejected. One walk is O(kinks),
which bounds the cost of an update but keeps a single source of truth for the weight.
"""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np
from numba import njit

MODEL_BOND_PEIERLS, MODEL_HOLSTEIN = 0, 1

#: Settings of one chain. ``finite`` = 1 puts the electrons in the box [0, box_a) of the
#: lattice with closed paths (the exact-diagonalisation check); 0 is the infinite lattice
#: with twisted boundary conditions in imaginary time.
Params = namedtuple("Params", [
    "model", "d", "n_electrons", "beta", "omega", "coupling2", "U", "V", "finite", "box",
    "pair_window", "delta_window",
])

#: Arrays of one configuration (see the module docstring).
Config = namedtuple("Config", ["tk", "el", "code", "partner", "order", "count", "free",
                               "nfree", "start"])

#: Per-sweep measurements written by :func:`run_sweeps`, one column each.
MEASURED = ("energy", "delta2", "r2", "double_occupancy", "phonons", "kinks", "lines",
            "delta_x")
M_ENERGY, M_DELTA2, M_R2, M_DOCC, M_NPH, M_KINKS, M_LINES, M_DX = range(len(MEASURED))

#: Counters of proposals and acceptances per update, for the kernel's diagnostics.
UPDATES = ("hop_pair", "line", "shift", "delta")


def new_config(capacity: int, d: int, n_electrons: int, start_sites: np.ndarray) -> Config:
    """An empty configuration (straight worldlines) with room for ``capacity`` kinks."""
    cfg = Config(
        tk=np.zeros(capacity), el=np.full(capacity, -1, np.int64),
        code=np.zeros(capacity, np.int64), partner=np.full(capacity, -1, np.int64),
        order=np.zeros((2, capacity), np.int64), count=np.zeros(2, np.int64),
        free=np.arange(capacity - 1, -1, -1, dtype=np.int64),
        nfree=np.array([capacity], np.int64), start=np.zeros((2, 3), np.int64),
    )
    cfg.start[:n_electrons, :d] = start_sites
    return cfg


# ----------------------------------------------------------------------------- slots

@njit(cache=True)
def _insert(c, e, t, code, partner):
    """Add a kink to electron ``e``; its slot, or −1 when the arrays are full."""
    if c.nfree[0] == 0:
        return -1
    c.nfree[0] -= 1
    k = c.free[c.nfree[0]]
    c.tk[k] = t
    c.el[k] = e
    c.code[k] = code
    c.partner[k] = partner
    n = c.count[e]
    i = n
    while i > 0 and c.tk[c.order[e, i - 1]] > t:
        c.order[e, i] = c.order[e, i - 1]
        i -= 1
    c.order[e, i] = k
    c.count[e] = n + 1
    return k


@njit(cache=True)
def _index_of(c, k):
    e = c.el[k]
    for i in range(c.count[e]):
        if c.order[e, i] == k:
            return i
    return -1


@njit(cache=True)
def _remove(c, k):
    e = c.el[k]
    i = _index_of(c, k)
    n = c.count[e]
    for j in range(i, n - 1):
        c.order[e, j] = c.order[e, j + 1]
    c.count[e] = n - 1
    c.el[k] = -1
    c.partner[k] = -1
    c.free[c.nfree[0]] = k
    c.nfree[0] += 1


# ----------------------------------------------------------------------------- weight

@njit(cache=True)
def _potential(p, r0, r1, r2_):
    """U δ_{r,0} + V/|r| for the separation r = (r0, r1, r2_) (units of t)."""
    if r0 == 0 and r1 == 0 and r2_ == 0:
        return p.U
    if p.V == 0.0:
        return 0.0
    return p.V / math.sqrt(r0 * r0 + r1 * r1 + r2_ * r2_)


@njit(cache=True)
def _line_object(p, pos, code, k, obj):
    """Where vertex ``k`` couples: its bond (lower end, axis) or its site (axis −1)."""
    for a in range(3):
        obj[a] = pos[k, a]
    cd = code[k]
    if cd < 0:
        return -1
    ax = cd >> 1
    if cd & 1:
        obj[ax] -= 1
    return ax


@njit(cache=True)
def line_weight(p, tau, obj_k, ax_k, obj_j, ax_j, delta, zero_delta):
    """(propagator, effective length) of a phonon line between two vertices.

    The vertices at (object o_k, τ_k) and (o_j, τ_j); ``tau`` = τ_k − τ_j. On the continued
    path r(τ + nβ) = r(τ) + nΔ the line joins k to the n-th copy of j when o_k = o_j + nΔ,
    with weight e^{−Ω|τ_k − τ_j − nβ|}. For Δ = 0 every n qualifies and the sum is the thermal
    propagator [e^{−Ωu} + e^{−Ω(β−u)}]/(1 − e^{−Ωβ}), u = τ mod β. The effective length is
    the n-weighted mean of |τ − nβ| (it enters the energy and phonon-number estimators).
    Returns (0, 0) when no copy matches.
    """
    if ax_k != ax_j:
        return 0.0, 0.0
    beta = p.beta
    om = p.omega
    if zero_delta:
        for a in range(3):
            if obj_k[a] != obj_j[a]:
                return 0.0, 0.0
        u = tau % beta
        q = math.exp(-om * beta)
        ea = math.exp(-om * u)
        eb = math.exp(-om * (beta - u))
        f = (ea + eb) / (1.0 - q)
        num = ea * (u / (1.0 - q) + beta * q / (1.0 - q) ** 2) + eb * (
            beta / (1.0 - q) ** 2 - u / (1.0 - q))
        return f, num / f
    n = 0
    found = False
    for a in range(3):
        if delta[a] != 0:
            diff = obj_k[a] - obj_j[a]
            if diff % delta[a] != 0:
                return 0.0, 0.0
            n = diff // delta[a]
            found = True
            break
    if not found:
        return 0.0, 0.0
    for a in range(3):
        if obj_k[a] - obj_j[a] != n * delta[a]:
            return 0.0, 0.0
    x = abs(tau - n * beta)
    return math.exp(-om * x), x


@njit(cache=True)
def walk(p, c, pos):
    """Weigh the configuration; fill ``pos[k]`` with each kink's site before it acts.

    Returns (valid, log W, Δ (3,), ∫V dτ, ∫δ_{r,0} dτ, ∫|r|² dτ, bare hops, lines,
    Σ effective line lengths). log W = Σ_lines ln[c² f_line] − ∫V dτ (bare hops weigh t = 1).
    ``valid`` is False for a weight of zero: a broken closure, a line whose ends do not meet
    or, in the finite mode, a path leaving the box.
    """
    d = p.d
    ne = p.n_electrons
    delta = np.zeros(3, np.int64)
    cur = np.zeros((2, 3), np.int64)
    nbare = 0
    for e in range(ne):
        for a in range(3):
            cur[e, a] = c.start[e, a]
        if p.finite:
            for a in range(d):
                if cur[e, a] < 0 or cur[e, a] >= p.box[a]:
                    return False, 0.0, delta, 0.0, 0.0, 0.0, 0, 0, 0.0
        for i in range(c.count[e]):
            k = c.order[e, i]
            for a in range(3):
                pos[k, a] = cur[e, a]
            cd = c.code[k]
            if cd >= 0:
                ax = cd >> 1
                cur[e, ax] += 1 - 2 * (cd & 1)
                if p.finite and (cur[e, ax] < 0 or cur[e, ax] >= p.box[ax]):
                    return False, 0.0, delta, 0.0, 0.0, 0.0, 0, 0, 0.0
                if c.partner[k] < 0:
                    nbare += 1
        if e == 0:
            for a in range(3):
                delta[a] = cur[0, a] - c.start[0, a]
        else:
            for a in range(3):
                if cur[e, a] - c.start[e, a] != delta[a]:
                    return False, 0.0, delta, 0.0, 0.0, 0.0, 0, 0, 0.0
    zero_delta = True
    for a in range(3):
        if delta[a] != 0:
            zero_delta = False
    if p.finite and not zero_delta:
        return False, 0.0, delta, 0.0, 0.0, 0.0, 0, 0, 0.0

    # the diagonal action along the merged kink times of the two electrons
    vint = 0.0
    dint = 0.0
    r2int = 0.0
    if ne == 2:
        for a in range(3):
            cur[0, a] = c.start[0, a]
            cur[1, a] = c.start[1, a]
        i0 = 0
        i1 = 0
        tprev = 0.0
        while True:
            t0 = c.tk[c.order[0, i0]] if i0 < c.count[0] else p.beta
            t1 = c.tk[c.order[1, i1]] if i1 < c.count[1] else p.beta
            tn = min(t0, t1)
            dt = tn - tprev
            r0 = cur[1, 0] - cur[0, 0]
            r1 = cur[1, 1] - cur[0, 1]
            rr = cur[1, 2] - cur[0, 2]
            vint += _potential(p, r0, r1, rr) * dt
            if r0 == 0 and r1 == 0 and rr == 0:
                dint += dt
            r2int += (r0 * r0 + r1 * r1 + rr * rr) * dt
            if tn >= p.beta:
                break
            e = 0 if t0 <= t1 else 1
            k = c.order[e, i0] if e == 0 else c.order[e, i1]
            cd = c.code[k]
            if cd >= 0:
                cur[e, cd >> 1] += 1 - 2 * (cd & 1)
            if e == 0:
                i0 += 1
            else:
                i1 += 1
            tprev = tn

    logw = -vint
    nlines = 0
    lsum = 0.0
    obj_k = np.zeros(3, np.int64)
    obj_j = np.zeros(3, np.int64)
    log_c2 = math.log(p.coupling2) if p.coupling2 > 0 else -math.inf
    for e in range(ne):
        for i in range(c.count[e]):
            k = c.order[e, i]
            j = c.partner[k]
            if j < k:
                continue
            ax_k = _line_object(p, pos, c.code, k, obj_k)
            ax_j = _line_object(p, pos, c.code, j, obj_j)
            f, ell = line_weight(p, c.tk[k] - c.tk[j], obj_k, ax_k, obj_j, ax_j, delta,
                                 zero_delta)
            if f <= 0.0:
                return False, 0.0, delta, 0.0, 0.0, 0.0, 0, 0, 0.0
            logw += log_c2 + math.log(f)
            nlines += 1
            lsum += ell
    return True, logw, delta, vint, dint, r2int, nbare, nlines, lsum


# ----------------------------------------------------------------------------- helpers

@njit(cache=True)
def _fwd(t_from, t_to, beta):
    """Forward cyclic distance from t_from to t_to in [0, β)."""
    x = t_to - t_from
    return x + beta if x < 0 else x


@njit(cache=True)
def _cyc(t_a, t_b, beta):
    x = abs(t_a - t_b)
    return min(x, beta - x)


@njit(cache=True)
def _bare_of(c, e, out):
    """Bare hop slots of electron ``e`` (all electrons for e = −1) into ``out``; count."""
    n = 0
    for ee in range(2):
        if e >= 0 and ee != e:
            continue
        for i in range(c.count[ee]):
            k = c.order[ee, i]
            if c.partner[k] < 0 and c.code[k] >= 0:
                out[n] = k
                n += 1
    return n


@njit(cache=True)
def _vertices(c, out):
    n = 0
    for e in range(2):
        for i in range(c.count[e]):
            k = c.order[e, i]
            if c.partner[k] >= 0:
                out[n] = k
                n += 1
    return n


@njit(cache=True)
def _shift_start(c, e, code, sign):
    c.start[e, code >> 1] += sign * (1 - 2 * (code & 1))


@njit(cache=True)
def _accept(ratio):
    return ratio >= 1.0 or np.random.random() < ratio


# ----------------------------------------------------------------------------- updates

@njit(cache=True)
def _hop_pair(p, c, lw, pos, buf, buf2):
    """Insert or remove a pair of opposite bare hops on one electron.

    Insertion: electron e, direction δ (code cd), τ_a uniform, τ_b = τ_a + x mod β with x
    uniform in (0, ℓ); the cyclic segment (τ_a, τ_b) moves by δ (and the start with it when
    the segment wraps through τ = 0). Removal picks a bare hop k₁ of e and a bare hop of the
    opposite direction at forward distance < ℓ. Returns (accepted, new log W, valid).
    """
    beta = p.beta
    ell = p.pair_window
    e = np.random.randint(p.n_electrons)
    nd = 2 * p.d
    if np.random.random() < 0.5:
        cd = np.random.randint(nd)
        ta = np.random.random() * beta
        tb = ta + np.random.random() * ell
        if tb >= beta:
            tb -= beta
        ka = _insert(c, e, ta, cd, -1)
        if ka < 0:
            return False, lw
        kb = _insert(c, e, tb, cd ^ 1, -1)
        if kb < 0:
            _remove(c, ka)
            return False, lw
        wrapped = ta > tb
        if wrapped:
            _shift_start(c, e, cd, 1)
        res = walk(p, c, pos)
        if res[0]:
            nb = _bare_of(c, e, buf)
            nm = 0
            for i in range(nb):
                j = buf[i]
                if c.code[j] == (cd ^ 1) and _fwd(ta, c.tk[j], beta) < ell:
                    nm += 1
            ratio = math.exp(res[1] - lw) * nd * beta * ell / (nb * nm)
            if _accept(ratio):
                return True, res[1]
        _remove(c, ka)
        _remove(c, kb)
        if wrapped:
            _shift_start(c, e, cd, -1)
        return False, lw
    nb = _bare_of(c, e, buf)
    if nb == 0:
        return False, lw
    k1 = buf[np.random.randint(nb)]
    cd = c.code[k1]
    t1 = c.tk[k1]
    nm = 0
    for i in range(nb):
        j = buf[i]
        if c.code[j] == (cd ^ 1) and _fwd(t1, c.tk[j], beta) < ell:
            buf2[nm] = j
            nm += 1
    if nm == 0:
        return False, lw
    k2 = buf2[np.random.randint(nm)]
    t2 = c.tk[k2]
    _remove(c, k1)
    _remove(c, k2)
    wrapped = t1 > t2
    if wrapped:
        _shift_start(c, e, cd, -1)
    res = walk(p, c, pos)
    if res[0]:
        ratio = math.exp(res[1] - lw) * nb * nm / (nd * beta * ell)
        if _accept(ratio):
            return True, res[1]
    _insert(c, e, t1, cd, -1)
    _insert(c, e, t2, cd ^ 1, -1)
    if wrapped:
        _shift_start(c, e, cd, 1)
    return False, lw


@njit(cache=True)
def _partner_sum(p, c, pos, k, bare, nb, delta, zero_delta, obj_k, obj_j, weights):
    """Σ_j f(k, j) over the bare hops j ≠ k, each term kept in ``weights``."""
    ax_k = _line_object(p, pos, c.code, k, obj_k)
    s = 0.0
    for i in range(nb):
        j = bare[i]
        w = 0.0
        if j != k:
            ax_j = _line_object(p, pos, c.code, j, obj_j)
            w = line_weight(p, c.tk[k] - c.tk[j], obj_k, ax_k, obj_j, ax_j, delta,
                            zero_delta)[0]
        weights[i] = w
        s += w
    return s


@njit(cache=True)
def _bond_line(p, c, lw, pos, buf, weights, nlines):
    """Bond-Peierls: make two bare hops on one bond the ends of a phonon line, or undo one.

    The path does not change, only which hops are e-ph vertices. Forward: a bare hop k
    uniformly, its partner j with probability f(k, j)/S(k), S(k) = Σ_j f(k, j) (heat bath
    over the partners). Reverse: a line uniformly. Acceptance (W'/W = c² f):
    c² N_bare / [L' (1/S(k) + 1/S(j))], both orders of choosing the pair counted.
    """
    res = walk(p, c, pos)
    delta = res[2]
    zero_delta = delta[0] == 0 and delta[1] == 0 and delta[2] == 0
    obj_k = np.zeros(3, np.int64)
    obj_j = np.zeros(3, np.int64)
    if np.random.random() < 0.5:
        nb = _bare_of(c, -1, buf)
        if nb < 2:
            return False, lw, nlines
        k = buf[np.random.randint(nb)]
        sk = _partner_sum(p, c, pos, k, buf, nb, delta, zero_delta, obj_k, obj_j, weights)
        if sk <= 0.0:
            return False, lw, nlines
        x = np.random.random() * sk
        acc = 0.0
        j = -1
        for i in range(nb):
            acc += weights[i]
            if weights[i] > 0.0 and acc >= x:
                j = buf[i]
                break
        if j < 0:
            return False, lw, nlines
        sj = _partner_sum(p, c, pos, j, buf, nb, delta, zero_delta, obj_k, obj_j, weights)
        ratio = p.coupling2 * nb / ((nlines + 1) * (1.0 / sk + 1.0 / sj))
        if _accept(ratio):
            c.partner[k] = j
            c.partner[j] = k
            new = walk(p, c, pos)
            return True, new[1], nlines + 1
        return False, lw, nlines
    nv = _vertices(c, buf)
    if nv == 0:
        return False, lw, nlines
    k = buf[np.random.randint(nv)]
    j = c.partner[k]
    c.partner[k] = -1
    c.partner[j] = -1
    nb = _bare_of(c, -1, buf)
    sk = _partner_sum(p, c, pos, k, buf, nb, delta, zero_delta, obj_k, obj_j, weights)
    sj = _partner_sum(p, c, pos, j, buf, nb, delta, zero_delta, obj_k, obj_j, weights)
    ratio = nlines * (1.0 / sk + 1.0 / sj) / (p.coupling2 * nb)
    if _accept(ratio):
        new = walk(p, c, pos)
        return True, new[1], nlines - 1
    c.partner[k] = j
    c.partner[j] = k
    return False, lw, nlines


@njit(cache=True)
def _laplace_density(p, s):
    """Density of the time offset s ∈ (−β/2, β/2) of a proposed Holstein line."""
    half = 0.5 * p.beta
    return p.omega * math.exp(-p.omega * abs(s)) / (2.0 * (1.0 - math.exp(-p.omega * half)))


@njit(cache=True)
def _holstein_line(p, c, lw, pos, buf, nlines):
    """Holstein: insert or remove a phonon line between two diagonal vertices.

    Insertion: electrons e₁, e₂ uniformly, τ₁ uniform, τ₂ = τ₁ + s mod β with s drawn from
    a Laplace density of rate Ω truncated to |s| < β/2. Removal: a line uniformly. The two
    orders of choosing the ends give the same line: ratio W'/W · n_e² β / (2 L' p(s)).
    """
    beta = p.beta
    ne = p.n_electrons
    if np.random.random() < 0.5:
        e1 = np.random.randint(ne)
        e2 = np.random.randint(ne)
        t1 = np.random.random() * beta
        half = 0.5 * beta
        u = np.random.random()
        # inverse CDF of the truncated Laplace density, sign chosen separately
        s = -math.log(1.0 - u * (1.0 - math.exp(-p.omega * half))) / p.omega
        if np.random.random() < 0.5:
            s = -s
        t2 = t1 + s
        if t2 >= beta:
            t2 -= beta
        elif t2 < 0.0:
            t2 += beta
        k1 = _insert(c, e1, t1, -1, -1)
        if k1 < 0:
            return False, lw, nlines
        k2 = _insert(c, e2, t2, -1, k1)
        if k2 < 0:
            _remove(c, k1)
            return False, lw, nlines
        c.partner[k1] = k2
        res = walk(p, c, pos)
        if res[0]:
            ratio = math.exp(res[1] - lw) * ne * ne * beta / (
                2.0 * (nlines + 1) * _laplace_density(p, s))
            if _accept(ratio):
                return True, res[1], nlines + 1
        _remove(c, k1)
        _remove(c, k2)
        return False, lw, nlines
    nv = _vertices(c, buf)
    if nv == 0:
        return False, lw, nlines
    k1 = buf[np.random.randint(nv)]
    k2 = c.partner[k1]
    e1, e2 = c.el[k1], c.el[k2]
    t1, t2 = c.tk[k1], c.tk[k2]
    s = t2 - t1
    if s > 0.5 * beta:
        s -= beta
    elif s < -0.5 * beta:
        s += beta
    _remove(c, k1)
    _remove(c, k2)
    res = walk(p, c, pos)
    if res[0]:
        ratio = math.exp(res[1] - lw) * 2.0 * nlines * _laplace_density(p, s) / (
            ne * ne * beta)
        if _accept(ratio):
            return True, res[1], nlines - 1
    k1 = _insert(c, e1, t1, -1, -1)
    k2 = _insert(c, e2, t2, -1, k1)
    c.partner[k1] = k2
    return False, lw, nlines


@njit(cache=True)
def _shift(p, c, lw, pos):
    """Move one kink's time uniformly between its neighbours on the same worldline."""
    ntot = c.count[0] + c.count[1]
    if ntot == 0:
        return False, lw
    i = np.random.randint(ntot)
    e = 0
    if i >= c.count[0]:
        e = 1
        i -= c.count[0]
    k = c.order[e, i]
    lo = c.tk[c.order[e, i - 1]] if i > 0 else 0.0
    hi = c.tk[c.order[e, i + 1]] if i + 1 < c.count[e] else p.beta
    old = c.tk[k]
    c.tk[k] = lo + np.random.random() * (hi - lo)
    if c.tk[k] <= lo or c.tk[k] >= hi:  # rounding at an end; keep the order strict
        c.tk[k] = old
        return False, lw
    res = walk(p, c, pos)
    if res[0] and _accept(math.exp(res[1] - lw)):
        return True, res[1]
    c.tk[k] = old
    return False, lw


@njit(cache=True)
def _delta_move(p, c, lw, pos, buf, buf2):
    """Change the twist Δ by ±e_a: one bare hop δ on every electron (infinite lattice only).

    With two electrons the second hop lands within the window w of the first (τ_b = τ_a + u,
    u uniform in (−w, w)), so the separation changes only briefly. Removal picks a bare hop
    of electron 0 and one of the same direction on electron 1 within cyclic distance w.
    """
    beta = p.beta
    nd = 2 * p.d
    ne = p.n_electrons
    w = p.delta_window
    if np.random.random() < 0.5:
        cd = np.random.randint(nd)
        ta = np.random.random() * beta
        ka = _insert(c, 0, ta, cd, -1)
        if ka < 0:
            return False, lw
        kb = -1
        if ne == 2:
            tb = ta + (2.0 * np.random.random() - 1.0) * w
            if tb >= beta:
                tb -= beta
            elif tb < 0.0:
                tb += beta
            kb = _insert(c, 1, tb, cd, -1)
            if kb < 0:
                _remove(c, ka)
                return False, lw
        res = walk(p, c, pos)
        if res[0]:
            nb0 = _bare_of(c, 0, buf)
            prop = nd * beta / nb0
            if ne == 2:
                nb1 = _bare_of(c, 1, buf)
                nm = 0
                for i in range(nb1):
                    j = buf[i]
                    if c.code[j] == cd and _cyc(c.tk[j], ta, beta) < w:
                        nm += 1
                prop *= 2.0 * w / nm
            if _accept(math.exp(res[1] - lw) * prop):
                return True, res[1]
        _remove(c, ka)
        if kb >= 0:
            _remove(c, kb)
        return False, lw
    nb0 = _bare_of(c, 0, buf)
    if nb0 == 0:
        return False, lw
    ka = buf[np.random.randint(nb0)]
    cd = c.code[ka]
    ta = c.tk[ka]
    kb = -1
    tb = 0.0
    prop = nb0 / (nd * beta)
    if ne == 2:
        nb1 = _bare_of(c, 1, buf)
        nm = 0
        for i in range(nb1):
            j = buf[i]
            if c.code[j] == cd and _cyc(c.tk[j], ta, beta) < w:
                buf2[nm] = j
                nm += 1
        if nm == 0:
            return False, lw
        kb = buf2[np.random.randint(nm)]
        tb = c.tk[kb]
        prop *= nm / (2.0 * w)
    _remove(c, ka)
    if kb >= 0:
        _remove(c, kb)
    res = walk(p, c, pos)
    if res[0] and _accept(math.exp(res[1] - lw) * prop):
        return True, res[1]
    _insert(c, 0, ta, cd, -1)
    if kb >= 0:
        _insert(c, 1, tb, cd, -1)
    return False, lw


# ----------------------------------------------------------------------------- driver

@njit(cache=True)
def seed_stream(seed):
    np.random.seed(seed)


@njit(cache=True)
def run_sweeps(p, c, n_sweeps, moves_per_sweep, out, stats):
    """Run ``n_sweeps`` sweeps, measuring after each into ``out[i, :]``.

    A sweep is ``moves_per_sweep`` updates chosen at random among those the model has. The
    number is fixed for the whole measurement: a number of updates that depended on the
    configuration (say, its kink count) would bias the measured distribution. ``stats[u, 0/1]`` counts proposals and acceptances of update u (see
    ``UPDATES``). Returns the number of sweeps done: fewer than ``n_sweeps`` when the
    configuration ran out of kink slots (the chain stops there; the caller enlarges the
    arrays and goes on).
    """
    cap = c.tk.shape[0]
    pos = np.zeros((cap, 3), np.int64)
    buf = np.zeros(cap, np.int64)
    buf2 = np.zeros(cap, np.int64)
    weights = np.zeros(cap)
    res = walk(p, c, pos)
    lw = res[1]
    nlines = res[7]
    has_delta = p.finite == 0
    for s in range(n_sweeps):
        for m in range(moves_per_sweep):
            if c.nfree[0] < 8:
                return s
            x = np.random.random()
            if x < 0.3:
                ok, lw = _hop_pair(p, c, lw, pos, buf, buf2)
                u = 0
            elif x < 0.6:
                if p.model == MODEL_BOND_PEIERLS:
                    ok, lw, nlines = _bond_line(p, c, lw, pos, buf, weights, nlines)
                else:
                    ok, lw, nlines = _holstein_line(p, c, lw, pos, buf, nlines)
                u = 1
            elif x < 0.8 or not has_delta:
                ok, lw = _shift(p, c, lw, pos)
                u = 2
            else:
                ok, lw = _delta_move(p, c, lw, pos, buf, buf2)
                u = 3
            stats[u, 0] += 1
            if ok:
                stats[u, 1] += 1
        res = walk(p, c, pos)
        beta = p.beta
        delta = res[2]
        nbare = res[6]
        nl = res[7]
        out[s, M_ENERGY] = (p.omega * res[8] - nbare - 2.0 * nl + res[3]) / beta
        out[s, M_DELTA2] = delta[0] * delta[0] + delta[1] * delta[1] + delta[2] * delta[2]
        out[s, M_R2] = res[5] / beta
        out[s, M_DOCC] = res[4] / beta
        out[s, M_NPH] = res[8] / beta
        out[s, M_KINKS] = c.count[0] + c.count[1]
        out[s, M_LINES] = nl
        out[s, M_DX] = delta[0]
    return n_sweeps
