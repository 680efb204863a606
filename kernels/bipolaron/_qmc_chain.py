"""The Markov chain of the path-integral Monte Carlo bipolaron solver (numba).

Private engine of :mod:`pairsweep.kernels.bipolaron.qmc`, which states the method, the
weights and the estimators; this module holds the configuration and the updates. Units: t = 1,
imaginary time in 1/t.

Configuration
-------------
A kink is a slot of parallel arrays: time ``tk`` in [0, β), electron ``el`` (−1 = free slot),
``code`` (hop direction 2a for +e_a and 2a + 1 for −e_a; −1 for a Holstein vertex, which does
not hop), ``partner`` (the other end of its phonon line, −1 for a bare hop), ``pb`` (the
electron's site just before the kink) and ``lline`` (ln c²D of its line). Slots are stable, so
partners never need renumbering; ``order[e, :count[e]]`` lists electron e's slots by time.
``start[e]`` is electron e's site at τ = 0, ``delta`` the twist Δ, ``lw`` the current ln W and
``nlines`` the number of lines.

Two ways to weigh a configuration
---------------------------------
:func:`walk` recomputes ln W and every kink's site from the arrays alone, in O(kinks). The
updates that act on a stretch of one worldline (hop pairs, lines, kink shifts) instead change
ln W by the local difference: the potential along the stretch, the lines with an end in it.
The plain twist update (:func:`_delta_move`) shifts whole tails and re-weighs every line with
:func:`walk`; the bond-Peierls one (:func:`_twist_repair`) computes its ratio from the
potential between the cuts and the lines alone and calls :func:`walk` only to adopt an
accepted move, counting any disagreement in ``Scratch.twist_sums``. Tests run the chain and
compare the running ln W with :func:`walk` after every sweep.
"""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np
from numba import njit

MODEL_BOND_PEIERLS, MODEL_HOLSTEIN = 0, 1

#: Settings of one chain. ``finite`` = 1 puts the electrons in the box [0, box_a) of the
#: lattice with closed paths (the exact-diagonalisation check); 0 is the infinite lattice
#: with twisted boundary conditions in imaginary time. ``twist_repair`` = 1 makes the
#: bond-Peierls twist update dissolve and re-pair the lines it breaks (:func:`_twist_repair`);
#: 0 keeps the plain :func:`_delta_move`, which rejects any twist that breaks a line.
#: ``summed`` = 1 (Holstein only) runs the chain of :mod:`._qmc_action` instead, whose
#: configurations carry no lines: they are summed into a retarded action.
Params = namedtuple("Params", [
    "model", "d", "n_electrons", "beta", "omega", "coupling2", "U", "V", "finite", "box",
    "pair_window", "delta_window", "twist_repair", "summed", "bridge_lag",
])

#: Arrays of one configuration (see the module docstring).
Config = namedtuple("Config", ["tk", "el", "code", "partner", "order", "count", "free",
                               "nfree", "start", "pb", "lline", "delta", "lw", "nlines"])

#: Work arrays of the updates, sized like the configuration.
Scratch = namedtuple("Scratch", ["buf", "buf2", "weights", "pos", "lline", "stamp",
                                 "stamp_now", "obj_old", "obj_new", "mate", "avail",
                                 "twist_sums"])

#: Sums over the proposals of :func:`_twist_repair` kept in ``Scratch.twist_sums`` (for the
#: benchmark and tests): proposals past the potential's stage, broken lines, ln Π Z (old
#: side; its lower bound where the move was rejected before the reverse heat bath),
#: ln Π Z' (new side), ln W_0'/W_0, ln of the twist proposal ratio, accepted moves that
#: dissolved at least one line, accepted moves, accepted moves whose local ln W missed
#: :func:`walk`'s, proposals past the surviving lines' stage (the heat baths ran; the sums
#: of ln Π Z, ln Π Z' and ln q run over these only).
TWIST_SUMS = ("proposals", "broken", "log_z_old", "log_z_new", "log_w0_ratio", "log_q",
              "accepted_with_broken", "accepted", "weight_mismatch", "past_lines")

#: Per-sweep measurements written by :func:`run_sweeps`, one column each.
MEASURED = ("energy", "delta2", "r2", "double_occupancy", "phonons", "kinks", "lines",
            "delta_x", "bridge_half", "bridge_low")
(M_ENERGY, M_DELTA2, M_R2, M_DOCC, M_NPH, M_KINKS, M_LINES, M_DX, M_BRIDGE_HALF,
 M_BRIDGE_LOW) = range(len(MEASURED))

#: Time slices (origins) of the bridge measurement; its lags are whole numbers of slices:
#: β/2 and ``Params.bridge_lag`` slices (between β/8 and β/4, see ``qmc.make_params``).
BRIDGE_SLICES = 64

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
        pb=np.zeros((capacity, 3), np.int64), lline=np.zeros(capacity),
        delta=np.zeros(3, np.int64), lw=np.zeros(1), nlines=np.zeros(1, np.int64),
    )
    cfg.start[:n_electrons, :d] = start_sites
    return cfg


def new_scratch(capacity: int) -> Scratch:
    return Scratch(np.zeros(capacity, np.int64), np.zeros(capacity, np.int64),
                   np.zeros(capacity), np.zeros((capacity, 3), np.int64), np.zeros(capacity),
                   np.zeros(capacity, np.int64), np.zeros(1, np.int64),
                   np.zeros((capacity, 3), np.int64), np.zeros((capacity, 3), np.int64),
                   np.full(capacity, -1, np.int64), np.zeros(capacity, np.int64),
                   np.zeros(len(TWIST_SUMS)))


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
    # the site before the new kink is the site the path had at t
    if i + 1 < n + 1:
        nxt = c.order[e, i + 1]
        for a in range(3):
            c.pb[k, a] = c.pb[nxt, a]
    else:
        for a in range(3):
            c.pb[k, a] = c.start[e, a] + c.delta[a]
    return k


@njit(cache=True)
def _first_after(c, e, t):
    """Index in ``order[e]`` of electron e's first kink later than t (count if none)."""
    lo = 0
    hi = c.count[e]
    while lo < hi:
        mid = (lo + hi) >> 1
        if c.tk[c.order[e, mid]] > t:
            hi = mid
        else:
            lo = mid + 1
    return lo


@njit(cache=True)
def _index_of(c, k):
    e = c.el[k]
    i = _first_after(c, e, c.tk[k]) - 1
    while i >= 0 and c.order[e, i] != k:  # equal times cannot occur, but stay exact
        i -= 1
    return i


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
def same_orbit(o_k, o_j, delta, zero_delta):
    """Whether objects (bonds or sites) ``o_k`` and ``o_j`` carry the same oscillator on the
    continued path, and the image n with o_k = o_j + nΔ (for Δ = 0 every image: n = 0)."""
    if zero_delta:
        for a in range(3):
            if o_k[a] != o_j[a]:
                return False, 0
        return True, 0
    n = 0
    found = False
    for a in range(3):
        if delta[a] != 0:
            diff = o_k[a] - o_j[a]
            if diff % delta[a] != 0:
                return False, 0
            n = diff // delta[a]
            found = True
            break
    if not found:
        return False, 0
    for a in range(3):
        if o_k[a] - o_j[a] != n * delta[a]:
            return False, 0
    return True, n


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
    same, n = same_orbit(obj_k, obj_j, delta, zero_delta)
    if not same:
        return 0.0, 0.0
    beta = p.beta
    om = p.omega
    if zero_delta:
        u = tau % beta
        q = math.exp(-om * beta)
        ea = math.exp(-om * u)
        eb = math.exp(-om * (beta - u))
        f = (ea + eb) / (1.0 - q)
        num = ea * (u / (1.0 - q) + beta * q / (1.0 - q) ** 2) + eb * (
            beta / (1.0 - q) ** 2 - u / (1.0 - q))
        return f, num / f
    x = abs(tau - n * beta)
    return math.exp(-om * x), x


@njit(cache=True)
def walk(p, c, pos, lline):
    """Weigh the configuration from scratch; fill ``pos[k]`` with each kink's site before it
    acts and ``lline[k]`` with ln(c² f) of the line at vertex k (both ends).

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
            lline[k] = log_c2 + math.log(f)
            lline[j] = lline[k]
            logw += lline[k]
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
def _hop(code, a):
    """Component a of the hop of a kink with this code (0 for a Holstein vertex)."""
    if code < 0 or (code >> 1) != a:
        return 0
    return 1 - 2 * (code & 1)


@njit(cache=True)
def _accept(ratio):
    return ratio >= 1.0 or np.random.random() < ratio


@njit(cache=True)
def _site_at(c, e, t, out):
    """Electron e's site on (t, next kink): right-continuous, so a kink at t has acted."""
    i = _first_after(c, e, t)
    if i < c.count[e]:
        k = c.order[e, i]
        for a in range(3):
            out[a] = c.pb[k, a]
    else:
        for a in range(3):
            out[a] = c.start[e, a] + c.delta[a]


@njit(cache=True)
def _dv(p, c, t1, t2, dr0, dr1, dr2):
    """∫_{t1}^{t2} [V(r + dr) − V(r)] dτ on the current paths, r = r↓ − r↑, t1 ≤ t2."""
    if p.n_electrons < 2 or t2 <= t1:
        return 0.0
    x0 = np.empty(3, np.int64)
    x1 = np.empty(3, np.int64)
    _site_at(c, 0, t1, x0)
    _site_at(c, 1, t1, x1)
    i0 = _first_after(c, 0, t1)
    i1 = _first_after(c, 1, t1)
    t = t1
    acc = 0.0
    while True:
        ta = c.tk[c.order[0, i0]] if i0 < c.count[0] else math.inf
        tb = c.tk[c.order[1, i1]] if i1 < c.count[1] else math.inf
        tn = min(ta, tb, t2)
        r0 = x1[0] - x0[0]
        r1 = x1[1] - x0[1]
        r2_ = x1[2] - x0[2]
        acc += (_potential(p, r0 + dr0, r1 + dr1, r2_ + dr2) - _potential(p, r0, r1, r2_)) * (
            tn - t)
        if tn >= t2:
            return acc
        if ta <= tb:
            cd = c.code[c.order[0, i0]]
            if cd >= 0:
                x0[cd >> 1] += 1 - 2 * (cd & 1)
            i0 += 1
        else:
            cd = c.code[c.order[1, i1]]
            if cd >= 0:
                x1[cd >> 1] += 1 - 2 * (cd & 1)
            i1 += 1
        t = tn


@njit(cache=True)
def _dv_cyclic(p, c, ta, tb, e, code, sign):
    """Potential change when electron e's path on the cyclic segment (ta, tb) moves by
    ``sign`` × the hop of ``code``."""
    s = -sign if e == 0 else sign  # r = r↓ − r↑
    d0 = s * _hop(code, 0)
    d1 = s * _hop(code, 1)
    d2 = s * _hop(code, 2)
    if ta < tb:
        return _dv(p, c, ta, tb, d0, d1, d2)
    return _dv(p, c, ta, p.beta, d0, d1, d2) + _dv(p, c, 0.0, tb, d0, d1, d2)


@njit(cache=True)
def _line_log(p, c, k):
    """ln(c² D) of the line at vertex k from the stored sites; −inf if its ends do not meet."""
    j = c.partner[k]
    obj_k = np.empty(3, np.int64)
    obj_j = np.empty(3, np.int64)
    ax_k = _line_object(p, c.pb, c.code, k, obj_k)
    ax_j = _line_object(p, c.pb, c.code, j, obj_j)
    zero = c.delta[0] == 0 and c.delta[1] == 0 and c.delta[2] == 0
    f = line_weight(p, c.tk[k] - c.tk[j], obj_k, ax_k, obj_j, ax_j, c.delta, zero)[0]
    if f <= 0.0:
        return -math.inf
    return math.log(p.coupling2) + math.log(f)


@njit(cache=True)
def _segment(c, e, ta, tb, out):
    """Slots of electron e's kinks strictly inside the cyclic segment (ta, tb); count."""
    n = 0
    i = _first_after(c, e, ta)
    if ta < tb:
        while i < c.count[e] and c.tk[c.order[e, i]] < tb:
            out[n] = c.order[e, i]
            n += 1
            i += 1
        return n
    while i < c.count[e]:
        out[n] = c.order[e, i]
        n += 1
        i += 1
    i = 0
    while i < c.count[e] and c.tk[c.order[e, i]] < tb:
        out[n] = c.order[e, i]
        n += 1
        i += 1
    return n


@njit(cache=True)
def _displace(c, e, ta, tb, code, sign, seg, nseg):
    """Move electron e's path on the cyclic segment (ta, tb) by ``sign`` × hop(code): the
    sites of the kinks in it, and the start when the segment wraps through τ = 0."""
    for a in range(3):
        h = sign * _hop(code, a)
        if h == 0:
            continue
        for i in range(nseg):
            c.pb[seg[i], a] += h
        if ta > tb:
            c.start[e, a] += h


@njit(cache=True)
def _relink(p, c, seg, nseg, sc):
    """New ln W of the lines with an end among ``seg`` (their stored values updated), as the
    change of their sum; −inf if one no longer closes. Old values go to ``sc.lline``."""
    sc.stamp_now[0] += 1
    mark = sc.stamp_now[0]
    change = 0.0
    for i in range(nseg):
        k = seg[i]
        j = c.partner[k]
        if j < 0 or sc.stamp[k] == mark:
            continue
        sc.stamp[k] = mark
        sc.stamp[j] = mark
        new = _line_log(p, c, k)
        sc.lline[k] = c.lline[k]
        sc.lline[j] = c.lline[k]
        change += new - c.lline[k]
        c.lline[k] = new
        c.lline[j] = new
    return change


@njit(cache=True)
def _unlink(c, seg, nseg, sc):
    """Restore the line weights saved by :func:`_relink`."""
    for i in range(nseg):
        k = seg[i]
        j = c.partner[k]
        if j >= 0 and sc.stamp[k] == sc.stamp_now[0]:
            c.lline[k] = sc.lline[k]
            c.lline[j] = sc.lline[k]


@njit(cache=True)
def _in_box(p, c, e, seg, nseg, ta, tb):
    """Finite mode: the displaced segment of e stays inside the box."""
    if not p.finite:
        return True
    for i in range(nseg):
        k = seg[i]
        for a in range(p.d):
            if c.pb[k, a] < 0 or c.pb[k, a] >= p.box[a]:
                return False
    for a in range(p.d):
        if c.start[e, a] < 0 or c.start[e, a] >= p.box[a]:
            return False
    return True


# ----------------------------------------------------------------------------- updates

@njit(cache=True)
def _hop_pair(p, c, sc):
    """Insert or remove a pair of opposite bare hops on one electron.

    Insertion: electron e, direction δ (code cd), τ_a uniform, τ_b = τ_a + x mod β with x
    uniform in (0, ℓ); the cyclic segment (τ_a, τ_b) moves by δ (and the start with it when
    the segment wraps through τ = 0). Removal picks a bare hop k₁ of e and a bare hop of the
    opposite direction at forward distance < ℓ. Ratio: W'/W · 2d β ℓ/(N_bare' N_match').
    ln W'/W is local: the potential along the segment (integrated on the old paths) and the
    lines with an end in it (re-weighed on the new ones).
    """
    beta = p.beta
    ell = p.pair_window
    e = np.random.randint(p.n_electrons)
    nd = 2 * p.d
    buf = sc.buf
    seg = sc.buf2
    if np.random.random() < 0.5:
        if c.nfree[0] < 2:
            return False
        cd = np.random.randint(nd)
        ta = np.random.random() * beta
        tb = ta + np.random.random() * ell
        if tb >= beta:
            tb -= beta
        dv = _dv_cyclic(p, c, ta, tb, e, cd, 1)
        ka = _insert(c, e, ta, cd, -1)
        kb = _insert(c, e, tb, cd ^ 1, -1)
        nseg = _segment(c, e, ta, tb, seg)
        _displace(c, e, ta, tb, cd, 1, seg, nseg)
        for a in range(3):  # the closing hop starts on the displaced segment
            c.pb[kb, a] += _hop(cd, a)
        seg[nseg] = kb  # the displaced site just before the closing hop, for the box check
        inside = _in_box(p, c, e, seg, nseg + 1, ta, tb)
        dlw = _relink(p, c, seg, nseg, sc) - dv if inside else -math.inf
        if dlw > -math.inf:
            nb = _bare_of(c, e, buf)
            nm = 0
            for i in range(nb):
                j = buf[i]
                if c.code[j] == (cd ^ 1) and _fwd(ta, c.tk[j], beta) < ell:
                    nm += 1
            if _accept(math.exp(dlw) * nd * beta * ell / (nb * nm)):
                c.lw[0] += dlw
                return True
        if inside:
            _unlink(c, seg, nseg, sc)
        _displace(c, e, ta, tb, cd, -1, seg, nseg)
        _remove(c, ka)
        _remove(c, kb)
        return False
    nb = _bare_of(c, e, buf)
    if nb == 0:
        return False
    k1 = buf[np.random.randint(nb)]
    cd = c.code[k1]
    t1 = c.tk[k1]
    nm = 0
    for i in range(nb):
        j = buf[i]
        if c.code[j] == (cd ^ 1) and _fwd(t1, c.tk[j], beta) < ell:
            buf[nm] = j  # compacting in place: index nm never passes i
            nm += 1
    if nm == 0:
        return False
    k2 = buf[np.random.randint(nm)]
    t2 = c.tk[k2]
    pb1 = c.pb[k1].copy()
    pb2 = c.pb[k2].copy()
    dv = _dv_cyclic(p, c, t1, t2, e, cd, -1)
    _remove(c, k1)
    _remove(c, k2)
    nseg = _segment(c, e, t1, t2, seg)
    _displace(c, e, t1, t2, cd, -1, seg, nseg)
    inside = _in_box(p, c, e, seg, nseg, t1, t2)
    dlw = _relink(p, c, seg, nseg, sc) - dv if inside else -math.inf
    if dlw > -math.inf and _accept(math.exp(dlw) * nb * nm / (nd * beta * ell)):
        c.lw[0] += dlw
        return True
    if inside:
        _unlink(c, seg, nseg, sc)
    _displace(c, e, t1, t2, cd, 1, seg, nseg)
    k1 = _insert(c, e, t1, cd, -1)
    k2 = _insert(c, e, t2, cd ^ 1, -1)
    c.pb[k1] = pb1
    c.pb[k2] = pb2
    return False


@njit(cache=True)
def _partner_sum(p, c, k, bare, nb, weights):
    """Σ_j D(k, j) over the bare hops j ≠ k, each term kept in ``weights``.

    Most hops are on other bonds: the axis is compared first, and with Δ = 0 (where the
    ends must sit on one bond) the bond itself, before anything is computed."""
    obj_k = np.empty(3, np.int64)
    obj_j = np.empty(3, np.int64)
    zero = c.delta[0] == 0 and c.delta[1] == 0 and c.delta[2] == 0
    ax_k = _line_object(p, c.pb, c.code, k, obj_k)
    s = 0.0
    for i in range(nb):
        j = bare[i]
        weights[i] = 0.0
        if j == k or (c.code[j] >> 1) != ax_k:
            continue
        ax_j = _line_object(p, c.pb, c.code, j, obj_j)
        if zero and (obj_j[0] != obj_k[0] or obj_j[1] != obj_k[1] or obj_j[2] != obj_k[2]):
            continue
        w = line_weight(p, c.tk[k] - c.tk[j], obj_k, ax_k, obj_j, ax_j, c.delta, zero)[0]
        weights[i] = w
        s += w
    return s


@njit(cache=True)
def _bond_line(p, c, sc):
    """Bond-Peierls: make two bare hops on one bond the ends of a phonon line, or undo one.

    The paths do not change, only which hops are e-ph vertices. Forward: a bare hop k
    uniformly, its partner j with probability D(k, j)/S(k), S(k) = Σ_j D(k, j) (heat bath over
    the partners). Reverse: a line uniformly. Ratio (W'/W = c² D):
    c² N_bare / [L' (1/S(k) + 1/S(j))], both orders of choosing the pair counted.
    """
    buf = sc.buf
    weights = sc.weights
    nlines = c.nlines[0]
    if np.random.random() < 0.5:
        nb = _bare_of(c, -1, buf)
        if nb < 2:
            return False
        k = buf[np.random.randint(nb)]
        sk = _partner_sum(p, c, k, buf, nb, weights)
        if sk <= 0.0:
            return False
        x = np.random.random() * sk
        acc = 0.0
        j = -1
        for i in range(nb):
            acc += weights[i]
            if weights[i] > 0.0 and acc >= x:
                j = buf[i]
                break
        if j < 0:
            return False
        sj = _partner_sum(p, c, j, buf, nb, weights)
        if _accept(p.coupling2 * nb / ((nlines + 1) * (1.0 / sk + 1.0 / sj))):
            c.partner[k] = j
            c.partner[j] = k
            new = _line_log(p, c, k)
            c.lline[k] = new
            c.lline[j] = new
            c.lw[0] += new
            c.nlines[0] = nlines + 1
            return True
        return False
    nv = _vertices(c, buf)
    if nv == 0:
        return False
    k = buf[np.random.randint(nv)]
    j = c.partner[k]
    c.partner[k] = -1
    c.partner[j] = -1
    nb = _bare_of(c, -1, buf)
    sk = _partner_sum(p, c, k, buf, nb, weights)
    sj = _partner_sum(p, c, j, buf, nb, weights)
    if _accept(nlines * (1.0 / sk + 1.0 / sj) / (p.coupling2 * nb)):
        c.lw[0] -= c.lline[k]
        c.nlines[0] = nlines - 1
        return True
    c.partner[k] = j
    c.partner[j] = k
    return False


@njit(cache=True)
def _laplace_density(p, s):
    """Density of the time offset s ∈ (−β/2, β/2) of a proposed Holstein line."""
    half = 0.5 * p.beta
    return p.omega * math.exp(-p.omega * abs(s)) / (2.0 * (1.0 - math.exp(-p.omega * half)))


@njit(cache=True)
def _holstein_line(p, c, sc):
    """Holstein: insert or remove a phonon line between two diagonal vertices.

    Insertion: electrons e₁, e₂ uniformly, τ₁ uniform, τ₂ = τ₁ + s mod β with s drawn from
    a Laplace density of rate Ω truncated to |s| < β/2. Removal: a line uniformly. The two
    orders of choosing the ends give the same line: ratio W'/W · n_e² β / (2 L' p(s)).
    """
    beta = p.beta
    ne = p.n_electrons
    nlines = c.nlines[0]
    if np.random.random() < 0.5:
        if c.nfree[0] < 2:
            return False
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
        k2 = _insert(c, e2, t2, -1, k1)
        c.partner[k1] = k2
        new = _line_log(p, c, k1)
        if new > -math.inf and _accept(math.exp(new) * ne * ne * beta / (
                2.0 * (nlines + 1) * _laplace_density(p, s))):
            c.lline[k1] = new
            c.lline[k2] = new
            c.lw[0] += new
            c.nlines[0] = nlines + 1
            return True
        _remove(c, k1)
        _remove(c, k2)
        return False
    nv = _vertices(c, sc.buf)
    if nv == 0:
        return False
    k1 = sc.buf[np.random.randint(nv)]
    k2 = c.partner[k1]
    s = c.tk[k2] - c.tk[k1]
    if s > 0.5 * beta:
        s -= beta
    elif s < -0.5 * beta:
        s += beta
    old = c.lline[k1]
    if _accept(math.exp(-old) * 2.0 * nlines * _laplace_density(p, s) / (ne * ne * beta)):
        _remove(c, k1)
        _remove(c, k2)
        c.lw[0] -= old
        c.nlines[0] = nlines - 1
        return True
    return False


@njit(cache=True)
def _shift(p, c, sc):
    """Move one kink's time uniformly between its neighbours on the same worldline."""
    ntot = c.count[0] + c.count[1]
    if ntot == 0:
        return False
    i = np.random.randint(ntot)
    e = 0
    if i >= c.count[0]:
        e = 1
        i -= c.count[0]
    k = c.order[e, i]
    lo = c.tk[c.order[e, i - 1]] if i > 0 else 0.0
    hi = c.tk[c.order[e, i + 1]] if i + 1 < c.count[e] else p.beta
    old = c.tk[k]
    new = lo + np.random.random() * (hi - lo)
    if new <= lo or new >= hi:  # rounding at an end; keep the order strict
        return False
    cd = c.code[k]
    dlw = 0.0
    if cd >= 0:
        # between the old and the new time the electron sits before (later) or after
        # (earlier) the hop instead of the other way round
        if new > old:
            dlw -= _dv_cyclic(p, c, old, new, e, cd, -1)
        else:
            dlw -= _dv_cyclic(p, c, new, old, e, cd, 1)
    j = c.partner[k]
    old_line = c.lline[k] if j >= 0 else 0.0
    c.tk[k] = new
    new_line = _line_log(p, c, k) if j >= 0 else 0.0
    dlw += new_line - old_line
    if dlw > -math.inf and _accept(math.exp(dlw)):
        if j >= 0:
            c.lline[k] = new_line
            c.lline[j] = new_line
        c.lw[0] += dlw
        return True
    c.tk[k] = old
    return False


@njit(cache=True)
def _adopt(c, sc, res):
    for e in range(2):
        for i in range(c.count[e]):
            k = c.order[e, i]
            for a in range(3):
                c.pb[k, a] = sc.pos[k, a]
            c.lline[k] = sc.lline[k]
    for a in range(3):
        c.delta[a] = res[2][a]
    c.lw[0] = res[1]
    c.nlines[0] = res[7]


@njit(cache=True)
def _lines_survive(p, c, cd, t0, t1):
    """Whether every line still closes after the tails of electron 0 (after t0) and of
    electron 1 (after t1) move by the hop δ of ``cd`` and Δ becomes Δ + δ; from the stored
    sites, before the O(kinks) re-weighing.

    An end after its electron's cut moves by δ, so a line whose ends sat o_k − o_j apart
    needs o_k − o_j + (s_k − s_j) δ = n' (Δ + δ) for an integer n' (s = 1 for a moved end),
    or = 0 when Δ + δ = 0: exactly the condition :func:`line_weight` applies afterwards."""
    obj_k = np.empty(3, np.int64)
    obj_j = np.empty(3, np.int64)
    new_delta = np.empty(3, np.int64)
    target = np.empty(3, np.int64)
    for a in range(3):
        new_delta[a] = c.delta[a] + _hop(cd, a)
    for e in range(p.n_electrons):
        for i in range(c.count[e]):
            k = c.order[e, i]
            j = c.partner[k]
            if j < k:
                continue
            sk = 1 if c.tk[k] > (t0 if e == 0 else t1) else 0
            sj = 1 if c.tk[j] > (t0 if c.el[j] == 0 else t1) else 0
            _line_object(p, c.pb, c.code, k, obj_k)
            _line_object(p, c.pb, c.code, j, obj_j)
            for a in range(3):
                target[a] = obj_k[a] - obj_j[a] + (sk - sj) * _hop(cd, a)
            n = 0
            free = True
            for a in range(3):
                if new_delta[a] != 0:
                    if target[a] % new_delta[a] != 0:
                        return False
                    n = target[a] // new_delta[a]
                    free = False
                    break
            for a in range(3):
                if target[a] != (0 if free else n * new_delta[a]):
                    return False
    return True


@njit(cache=True)
def _twist_times(p):
    """An inserted twist's direction and times: code cd uniformly, τ_a uniform in [0, β) on
    electron 0 and, with two electrons, τ_b = τ_a + u (u uniform in (−w, w), mod β) on
    electron 1, so the separation changes only briefly."""
    beta = p.beta
    cd = np.random.randint(2 * p.d)
    ta = np.random.random() * beta
    tb = ta
    if p.n_electrons == 2:
        tb = ta + (2.0 * np.random.random() - 1.0) * p.delta_window
        if tb >= beta:
            tb -= beta
        elif tb < 0.0:
            tb += beta
    return cd, ta, tb


@njit(cache=True)
def _twist_pair(p, c, sc):
    """A twist to remove: a bare hop k_a of electron 0 uniformly and, with two electrons, a
    bare hop k_b of electron 1 in the same direction within cyclic distance w of it,
    uniformly. Returns (k_a, k_b, q_0, q_1): the removal's proposal ratio is
    q_0 = N_bare,0/(2dβ) times, with two electrons, q_1 = N_match/(2w); k_a = −1 when there
    is none (k_b = −1 with one electron)."""
    beta = p.beta
    w = p.delta_window
    buf = sc.buf
    nb0 = _bare_of(c, 0, buf)
    if nb0 == 0:
        return -1, -1, 0.0, 1.0
    ka = buf[np.random.randint(nb0)]
    q0 = nb0 / (2 * p.d * beta)
    q1 = 1.0
    kb = -1
    if p.n_electrons == 2:
        cd = c.code[ka]
        ta = c.tk[ka]
        nb1 = _bare_of(c, 1, buf)
        nm = 0
        for i in range(nb1):
            j = buf[i]
            if c.code[j] == cd and _cyc(c.tk[j], ta, beta) < w:
                sc.buf2[nm] = j
                nm += 1
        if nm == 0:
            return -1, -1, 0.0, 1.0
        kb = sc.buf2[np.random.randint(nm)]
        q1 = nm / (2.0 * w)
    return ka, kb, q0, q1


@njit(cache=True)
def _delta_move(p, c, sc):
    """Change the twist Δ by ±e_a: one bare hop δ on every electron (infinite lattice only).

    With two electrons the second hop lands within the window w of the first (τ_b = τ_a + u,
    u uniform in (−w, w)), so the separation changes only briefly. Removal picks a bare hop
    of electron 0 and one of the same direction on electron 1 within cyclic distance w.
    Shifting the tails re-weighs every line, so this update weighs with :func:`walk` into the
    scratch arrays and adopts them (:func:`_adopt`) only when accepted.
    """
    beta = p.beta
    nd = 2 * p.d
    ne = p.n_electrons
    w = p.delta_window
    buf = sc.buf
    if np.random.random() < 0.5:
        if c.nfree[0] < 2:
            return False
        cd, ta, tb = _twist_times(p)
        ka = _insert(c, 0, ta, cd, -1)
        kb = -1
        if ne == 2:
            kb = _insert(c, 1, tb, cd, -1)
        res = walk(p, c, sc.pos, sc.lline) if _lines_survive(p, c, cd, ta, tb if kb >= 0 else ta) else (
            False, 0.0, c.delta, 0.0, 0.0, 0.0, 0, 0, 0.0)
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
            if _accept(math.exp(res[1] - c.lw[0]) * prop):
                _adopt(c, sc, res)
                return True
        _remove(c, ka)
        if kb >= 0:
            _remove(c, kb)
        return False
    ka, kb, prop, q1 = _twist_pair(p, c, sc)
    if ka < 0:
        return False
    cd = c.code[ka]
    ta = c.tk[ka]
    tb = c.tk[kb] if kb >= 0 else 0.0
    if ne == 2:
        prop *= q1
    pba = c.pb[ka].copy()
    pbb = c.pb[kb].copy() if kb >= 0 else pba
    _remove(c, ka)
    if kb >= 0:
        _remove(c, kb)
    ok = _lines_survive(p, c, cd ^ 1, ta, tb if kb >= 0 else ta)
    res = walk(p, c, sc.pos, sc.lline) if ok else (False, 0.0, c.delta, 0.0, 0.0, 0.0, 0, 0, 0.0)
    if res[0] and _accept(math.exp(res[1] - c.lw[0]) * prop):
        _adopt(c, sc, res)
        return True
    ka = _insert(c, 0, ta, cd, -1)
    c.pb[ka] = pba
    if kb >= 0:
        kb = _insert(c, 1, tb, cd, -1)
        c.pb[kb] = pbb
    return False


@njit(cache=True)
def _count_bare(c, e, cd, t, w, beta):
    """Bare hops of electron e (of code ``cd``; any if −1) within cyclic distance w of t."""
    n = 0
    for i in range(c.count[e]):
        k = c.order[e, i]
        if c.partner[k] < 0 and c.code[k] >= 0 and (cd < 0 or c.code[k] == cd) and (
                w >= beta or _cyc(c.tk[k], t, beta) < w):
            n += 1
    return n


@njit(cache=True)
def _after_cut(c, k, t0, t1):
    """1 when kink k lies after its electron's cut (t0 on electron 0, t1 on electron 1)."""
    return 1 if c.tk[k] > (t0 if c.el[k] == 0 else t1) else 0


_KEY_SPAN = 1 << 20  # lattice coordinates stay far inside ±2^19 (a walk of β ≤ 1000)


@njit(cache=True)
def _orbit_key(ax, o, delta, zero):
    """One integer per (axis, orbit of the object under translations by Δ): two hops on one
    axis can be the ends of a line iff their keys agree (o_k − o_j a multiple of Δ, or 0)."""
    n = 0
    if not zero:
        for a in range(3):
            if delta[a] != 0:
                n = o[a] // delta[a]  # floor: the same n for the whole orbit's residue
                break
    key = ax
    for a in range(3):
        key = key * _KEY_SPAN + (o[a] - n * delta[a] + (_KEY_SPAN >> 1))
    return key


@njit(cache=True)
def _line_span(p, tau, ok, oj, delta, zero):
    """Time the line between two matching ends spans: |τ_k − τ_j − nβ| for the image n with
    o_k − o_j = nΔ, and for Δ = 0 the shortest image, min(u, β − u), u = τ mod β."""
    if zero:
        u = tau % p.beta
        return min(u, p.beta - u)
    for a in range(3):
        if delta[a] != 0:
            return abs(tau - ((ok[a] - oj[a]) // delta[a]) * p.beta)
    return 0.0


@njit(cache=True)
def _crosses_cut(p, tau, ok, oj, delta, zero, straddle):
    """Whether the line between two matching ends runs through a cut of the twist: its ends
    are shifted differently (``straddle``: they lie on different sides of their electrons'
    cuts in [0, β) order) or it crosses the time boundary (joins the image n ≠ 0; for Δ = 0
    the shorter way round, |τ_k − τ_j| > β/2), but not both. For one electron, or a line
    whose span holds both cut times or neither, that is exactly "its span holds a cut"; for
    the few lines between two electrons that end between the two cut times it is only a rule,
    but one that depends on the geometry alone, so the move and its inverse apply it alike."""
    if zero:
        wraps = abs(tau) > 0.5 * p.beta
    else:
        wraps = same_orbit(ok, oj, delta, False)[1] != 0
    return straddle != wraps


@njit(cache=True)
def _keeps_line(p, tau, straddle, ok_a, oj_a, delta_a, zero_a, ok_b, oj_b, delta_b, zero_b):
    """Whether the twist from side a to side b keeps the line between two ends (objects
    ``ok_*``, ``oj_*`` on either side) rather than dissolving it: the ends still meet on side
    b and the line runs through a cut on neither side. Symmetric in a and b for a line of
    both sides, which is what lets the inverse move keep the same lines; the line pass of
    :func:`_twist_repair` and the candidates of :func:`_heat_bath` both ask this."""
    return (same_orbit(ok_b, oj_b, delta_b, zero_b)[0]
            and not _crosses_cut(p, tau, ok_a, oj_a, delta_a, zero_a, straddle)
            and not _crosses_cut(p, tau, ok_b, oj_b, delta_b, zero_b, straddle))


@njit(cache=True)
def _thermal(p, tau):
    """The Δ = 0 propagator [e^{−Ωu} + e^{−Ω(β−u)}]/(1 − e^{−Ωβ}), u = τ mod β."""
    u = tau % p.beta
    return (math.exp(-p.omega * u) + math.exp(-p.omega * (p.beta - u))) / (
        1.0 - math.exp(-p.omega * p.beta))


@njit(cache=True)
def _heat_bath(p, c, sc, i, sorted_keys, by_key, exact, cut_side, obj_a, delta_a, zero_a,
               obj_b, delta_b, zero_b, cand):
    """Candidate partners of hop i (in H's canonical order): the later hops still available
    that form a line with it on side a, spanning less than β, which the move back to side
    b dissolves (not :func:`_keeps_line`; ``cut_side`` says which hops lie after their
    electron's cut, ``obj_b`` are the objects on side b). ``exact`` are the hops' (axis, object) keys on
    side a, sorted in ``sorted_keys`` (hop ``by_key[q]`` at place q). A partner sits at
    o_i − nΔ_a with |n| ≤ 1 (a longer image spans more than β), only n = 0 for Δ_a = 0
    (the thermal D sums the images). Fills ``cand[:n]`` and ``sc.weights[:n]`` (c² D);
    returns (Σ, n)."""
    k = sc.buf[i]
    beta = p.beta
    step = 0  # the key of o − Δ_a is the key of o minus this (keys are linear in o)
    for a in range(3):
        step = step * _KEY_SPAN + delta_a[a]
    total = 0.0
    n_cand = 0
    for n in range(-1, 2):
        if zero_a and n != 0:
            continue
        target = exact[i] - n * step
        q = np.searchsorted(sorted_keys, target)
        while q < len(sorted_keys) and sorted_keys[q] == target:
            i2 = by_key[q]
            q += 1
            if i2 <= i or sc.avail[i2] == 0:
                continue
            tau = c.tk[k] - c.tk[sc.buf[i2]]
            x = _line_span(p, tau, obj_a[i], obj_a[i2], delta_a, zero_a)
            if x >= beta:
                continue
            if _keeps_line(p, tau, cut_side[i2] != cut_side[i], obj_a[i], obj_a[i2], delta_a,
                           zero_a, obj_b[i], obj_b[i2], delta_b, zero_b):
                continue  # the move back to side b would keep this line, not dissolve it
            f = _thermal(p, tau) if zero_a else math.exp(-p.omega * x)
            cand[n_cand] = i2
            sc.weights[n_cand] = p.coupling2 * f
            total += sc.weights[n_cand]
            n_cand += 1
    return total, n_cand


@njit(cache=True)
def _twist_repair(p, c, sc):
    """Bond-Peierls: change the twist Δ by ±e_a, dissolving and re-pairing the lines that
    the shift of the tails breaks (infinite lattice; exact detailed balance).

    In bond-Peierls every e-ph vertex is itself a hop across its line's bond, and a line is
    two such hops with weight c² D instead of the t² = 1 of two bare hops. The move:

    1. the twist, proposed as in :func:`_delta_move`: insert one bare hop δ on electron 0 at
       τ_a (uniform) and one on electron 1 at τ_b = τ_a + u, u uniform in (−w, w), or
       remove such a pair (a bare hop of electron 0 uniformly, one of the same direction on
       electron 1 within cyclic distance w uniformly); the tails after the cuts move by ±δ;
    2. every line that runs through a cut, before or after the twist, or whose ends no
       longer meet (:func:`line_weight` of the new geometry) is dissolved into two bare
       hops (its set B). A line runs through a cut (:func:`_crosses_cut`) when it straddles
       the cuts in [0, β) order (one end after its electron's cut, the other not) or when it
       crosses the time boundary (it joins the image n ≠ 0; for Δ = 0, whose thermal line
       sums both ways round, when the shorter way crosses it), but not both. The shift of
       the tails moves such a line's ends apart: it could only survive the long way round,
       with e^{−Ω(β − x)} for e^{−Ωx}. A line that crosses neither, or both, can keep its
       span; one that does not (a line across the two cut times, or with |n| ≥ 2) no longer
       meets after the twist or crosses a cut there, and is dissolved as well.
       Up to 0.5.0 only the broken lines were dissolved, and a pair with N_ph ≳ 12 left
       Δ = 0 about never (2-D, U = 8t, t/Ω = 2, λ = 1.1: chains stuck at Δ = 0 for
       thousands of sweeps); 0.6.0 dissolved every straddling line, which missed the lines
       across τ = 0 whose short span holds a cut (they ended 40 % of the proposals at
       λ = 1.3) and needlessly dissolved the straddling lines across τ = 0 (0.7.0);
    3. re-pairing: H, the bare hops other than the twist's own, in the canonical order
       (electron, time), which depends neither on slot numbers nor on the direction of the
       move. Candidates are the pairs of H that form a line spanning less than β after the
       twist and that the inverse move would dissolve: by the rule of step 2, which depends
       only on the two geometries and so is the same both ways. Sequential heat bath: each hop
       k of H not yet taken chooses "stay bare" (weight 1) or a later candidate partner j
       not yet taken (weight c² D(k, j)); Z'_k is the sum; the chosen set is M.

    The inverse move from the new configuration picks the same twist hops (so the same
    cuts), dissolves exactly M (each of M's lines runs through a cut or was invalid before;
    the lines that survived step 2 do neither on the way back) and must
    re-create B: P_rev(B) is the same heat bath on the old side with the
    choices forced to B. With W_0 the weights with B resp. M dissolved, W(new)/P_fwd(M) =
    W_0' Π Z'_k and W(old)/P_rev(B) = W_0 Π Z_k, so

        A = min(1, W_0' Π Z'_k / (W_0 Π Z_k) × twist proposal ratio),

    the proposal ratio 2d β 2w/(N_bare,0' N_match') for an insertion (counted after M) and
    its inverse for a removal. W_0'/W_0 is local: the potential on the stretch between the
    two cuts and the surviving lines' new weights (from the same O(lines) pass that finds
    B); :func:`walk` re-weighs only an accepted move.

    A is applied in three stages (delayed acceptance): min(1, potential's ratio) × min(1,
    surviving lines' ratio) × min(1, the rest). Each of the first two factors is inverted by
    the inverse move, which is what keeps detailed balance with the product, and a proposal
    that fails one of them costs no heat bath (since 0.6.0; the heat baths take most of a
    sweep's time: bench/bipolaron_qmc_update_costs.py). Since Z_k ≥ 1 + c² D of k's own line
    in B, the move is rejected before the old side's heat bath when even that bound fails.

    Measured (bench/bipolaron_qmc_twist_repair.py): at strong coupling the old side's
    Π Z_k is large (the dissolved ends sit on a few bonds and could pair in many ways)
    while the new side's is close to 1 (after the shift those bonds no longer match across
    the cut), so the acceptance stays small there. Holstein vertices do not hop, so a
    Holstein line cannot be dissolved into bare hops; Holstein keeps :func:`_delta_move`.
    """
    beta = p.beta
    nd = 2 * p.d
    ne = p.n_electrons
    w = p.delta_window
    buf = sc.buf
    broken = sc.buf2
    insert = np.random.random() < 0.5
    ka = -1
    kb = -1
    log_q = 0.0
    pba = np.zeros(3, np.int64)
    pbb = np.zeros(3, np.int64)
    h = np.zeros(3, np.int64)
    if insert:
        if c.nfree[0] < 2:
            return False
        cd, ta, tb = _twist_times(p)
        sign = 1
    else:
        ka, kb, q0, q1 = _twist_pair(p, c, sc)
        if ka < 0:
            return False
        cd = c.code[ka]
        ta = c.tk[ka]
        tb = c.tk[kb] if kb >= 0 else ta
        log_q = math.log(q0)
        if ne == 2:
            log_q += math.log(q1)
        sign = -1
    for a in range(3):
        h[a] = sign * _hop(cd, a)
    # the potential changes only between the cuts, where one electron has moved and the
    # other not yet (on the paths before the move, r = r↓ − r↑)
    log_pot = 0.0
    if ne == 2:
        if ta < tb:
            log_pot = -_dv(p, c, ta, tb, -h[0], -h[1], -h[2])
        else:
            log_pot = -_dv(p, c, tb, ta, h[0], h[1], h[2])
    # delayed acceptance, stage 1: the potential's ratio alone (the reverse move's is its
    # inverse, so the later stages with the rest of the ratio keep detailed balance)
    if log_pot < 0.0 and np.random.random() >= math.exp(log_pot):
        return False
    log_w0 = log_pot
    if insert:
        ka = _insert(c, 0, ta, cd, -1)
        if ne == 2:
            kb = _insert(c, 1, tb, cd, -1)
    else:
        for a in range(3):
            pba[a] = c.pb[ka, a]
            if kb >= 0:
                pbb[a] = c.pb[kb, a]
        _remove(c, ka)
        if kb >= 0:
            _remove(c, kb)
    new_delta = np.empty(3, np.int64)
    zero_old = True
    zero_new = True
    for a in range(3):
        new_delta[a] = c.delta[a] + h[a]
        if c.delta[a] != 0:
            zero_old = False
        if new_delta[a] != 0:
            zero_new = False

    # 2. dissolve the lines that run through a cut, before or after the twist, or break
    # (objects after the twist: + h after the cut); the surviving lines' change of weight
    # enters W_0'/W_0, and
    # Σ_B ln(1 + c² D) bounds ln Π Z_k
    ok = np.empty(3, np.int64)
    oj = np.empty(3, np.int64)
    ok_new = np.empty(3, np.int64)
    oj_new = np.empty(3, np.int64)
    n_broken = 0
    too_long = False
    log_broken = 0.0
    log_z_old_min = 0.0
    log_c2 = math.log(p.coupling2)
    for e in range(ne):
        for i in range(c.count[e]):
            k = c.order[e, i]
            j = c.partner[k]
            if j < k:
                continue
            ax = _line_object(p, c.pb, c.code, k, ok)
            _line_object(p, c.pb, c.code, j, oj)
            sk = _after_cut(c, k, ta, tb)
            sj = _after_cut(c, j, ta, tb)
            tau = c.tk[k] - c.tk[j]
            for a in range(3):
                ok_new[a] = ok[a] + sk * h[a]
                oj_new[a] = oj[a] + sj * h[a]
            if _keeps_line(p, tau, sk != sj, ok, oj, c.delta, zero_old, ok_new, oj_new,
                           new_delta, zero_new):
                f = line_weight(p, tau, ok_new, ax, oj_new, ax, new_delta, zero_new)[0]
                if f > 0.0:  # (an e^{−Ωx} that underflows: dissolved, as before)
                    log_w0 += log_c2 + math.log(f) - c.lline[k]
                    continue
            # the old geometry decides whether the inverse move can re-create the line
            if _line_span(p, tau, ok, oj, c.delta, zero_old) >= p.beta:
                too_long = True
            sc.mate[k] = j
            sc.mate[j] = k
            c.partner[k] = -1
            c.partner[j] = -1
            log_broken += c.lline[k]
            log_z_old_min += math.log(1.0 + math.exp(c.lline[k]))
            broken[n_broken] = k
            n_broken += 1

    ts = sc.twist_sums
    ts[0] += 1
    ts[1] += n_broken
    ts[4] += log_w0
    # delayed acceptance, stage 2, before the heat baths (most of the move's cost): the
    # surviving lines' ratio, W_0'/W_0 without the potential. It is a ratio of the same
    # kind as the potential's: the inverse move keeps the same lines (old − B) and takes each
    # back to its old weight. A broken line spanning β or more (``too_long``) cannot be
    # re-created by the inverse move's heat bath, so such a twist is rejected here too.
    log_lines = log_w0 - log_pot
    n_hops = 0
    accepted = False
    if not (too_long or (log_lines < 0.0 and np.random.random() >= math.exp(log_lines))):
        ts[9] += 1
        # 3. the hops that may pair, with their objects before and after the twist, keyed
        # by (axis, object) on either side: a partner's key is looked up, not searched for
        nb = _bare_of(c, -1, buf)
        exact_old = np.empty(nb, np.int64)
        exact_new = np.empty(nb, np.int64)
        cut_side = np.empty(nb, np.int64)
        for i in range(nb):
            k = buf[i]
            if k == ka or k == kb:
                continue
            buf[n_hops] = k  # compacting in place: n_hops never passes i
            ax = _line_object(p, c.pb, c.code, k, sc.obj_old[n_hops])
            s = _after_cut(c, k, ta, tb)
            cut_side[n_hops] = s
            for a in range(3):
                sc.obj_new[n_hops, a] = sc.obj_old[n_hops, a] + s * h[a]
            exact_old[n_hops] = _orbit_key(ax, sc.obj_old[n_hops], c.delta, True)
            exact_new[n_hops] = _orbit_key(ax, sc.obj_new[n_hops], c.delta, True)
            n_hops += 1
        cand = np.empty(n_hops, np.int64)
        by_key = np.argsort(exact_new[:n_hops])
        sorted_keys = exact_new[by_key]
        # forward: sample M on the new side, setting the partners (all of H was bare)
        log_z_new = 0.0
        log_m = 0.0
        for i in range(n_hops):
            sc.avail[i] = 1
        for i in range(n_hops):
            if sc.avail[i] == 0:
                continue
            sc.avail[i] = 0
            s, n_cand = _heat_bath(p, c, sc, i, sorted_keys, by_key, exact_new, cut_side,
                                   sc.obj_new, new_delta, zero_new, sc.obj_old, c.delta,
                                   zero_old, cand)
            if s <= 0.0:
                continue
            log_z_new += math.log(1.0 + s)
            x = np.random.random() * (1.0 + s)
            if x < 1.0:
                continue
            x -= 1.0
            acc = 0.0
            pick = -1
            for q in range(n_cand):
                pick = cand[q]
                acc += sc.weights[q]
                if acc >= x:
                    break
            sc.avail[pick] = 0
            log_m += math.log(sc.weights[q])
            c.partner[buf[i]] = buf[pick]
            c.partner[buf[pick]] = buf[i]
        if insert:
            # the removal's choice, counted on the new configuration (M took some bare hops)
            log_q = math.log(nd * beta / _count_bare(c, 0, -1, ta, beta, beta))
            if ne == 2:
                log_q += math.log(2.0 * w / _count_bare(c, 1, cd, ta, w, beta))
        log_u = math.log(1.0 - np.random.random())  # in (−inf, 0]
        # stage 3: the ratio without the potential's and the lines' (accepted) factors
        bound = log_z_new - log_z_old_min + log_q
        ts[3] += log_z_new
        ts[5] += log_q
        if log_u < bound:
            # reverse: the probability that the inverse move's heat bath re-creates B
            log_z_old = 0.0
            consistent = True
            for i in range(n_hops):
                sc.avail[i] = 1
            by_key = np.argsort(exact_old[:n_hops])
            sorted_keys = exact_old[by_key]
            for i in range(n_hops):
                if sc.avail[i] == 0:
                    continue
                sc.avail[i] = 0
                s, n_cand = _heat_bath(p, c, sc, i, sorted_keys, by_key, exact_old, cut_side,
                                       sc.obj_old, c.delta, zero_old, sc.obj_new, new_delta,
                                       zero_new, cand)
                if s > 0.0:
                    log_z_old += math.log(1.0 + s)
                m = sc.mate[buf[i]]
                if m >= 0:
                    found = False
                    for q in range(n_cand):
                        i2 = cand[q]
                        if buf[i2] == m:
                            sc.avail[i2] = 0
                            found = True
                            break
                    consistent = consistent and found
            ts[2] += log_z_old
            if consistent and log_u < log_z_new - log_z_old + log_q:
                final = walk(p, c, sc.pos, sc.lline)
                expected = c.lw[0] - log_broken + log_w0 + log_m
                if not final[0] or abs(final[1] - expected) > 1e-8 * (1.0 + abs(expected)):
                    ts[8] += 1  # the local weight missed the full one: run_sweeps' check fails
                if final[0]:
                    _adopt(c, sc, final)
                    accepted = True
        else:
            ts[2] += log_z_old_min
    if not accepted:
        for i in range(n_hops):  # undo M: all of H was bare
            c.partner[buf[i]] = -1
    for i in range(n_broken):
        k = broken[i]
        j = sc.mate[k]
        sc.mate[k] = -1
        sc.mate[j] = -1
        if not accepted:
            c.partner[k] = j
            c.partner[j] = k
    if accepted:
        if n_broken > 0:
            ts[6] += 1
        ts[7] += 1
        return True
    if insert:
        _remove(c, ka)
        if kb >= 0:
            _remove(c, kb)
    else:
        ka = _insert(c, 0, ta, cd, -1)
        for a in range(3):
            c.pb[ka, a] = pba[a]
        if kb >= 0:
            kb = _insert(c, 1, tb, cd, -1)
            for a in range(3):
                c.pb[kb, a] = pbb[a]
    return False


# ----------------------------------------------------------------------------- driver

@njit(cache=True)
def bridge(p, c, delta, slices):
    """Mean squared deviation of the centre of mass from the straight line to its twisted
    image, at lags β/2 and s = ``p.bridge_lag`` β/``slices``: Q(s) = ⟨|R(τ + s) − R(τ) −
    (s/β)Δ|²⟩ averaged over ``slices`` equally spaced τ (R(τ + β) = R(τ) + Δ).

    For a composite that moves as a free particle of mass M at times longer than its internal
    ones, Q(s) = c + d s(β − s)/(β M): a Brownian bridge, whatever Δ is, so that
    Q(β/2) − Q(s) = d (β/2 − s)²/(β M) measures M without any update that changes Δ.
    Returns the pair (Q(β/2), Q(s)) in units of a².
    """
    com = np.zeros((slices, 3))
    for e in range(p.n_electrons):
        slots = c.order[e, :c.count[e]]
        add_to_centre(com, c.start[e], c.tk[slots], c.code[slots], p.beta, p.n_electrons)
    return bridge_of_slices(com, delta, p.bridge_lag)


@njit(cache=True)
def add_to_centre(com, start, times, codes, beta, n_electrons):
    """Add one electron's site at the equally spaced times j β/len(com) to the centre of
    mass ``com`` (its kinks at ``times``, sorted, with hop ``codes``; a code < 0 does not
    hop)."""
    slices = com.shape[0]
    cur = np.zeros(3)
    for a in range(3):
        cur[a] = start[a]
    i = 0
    for j in range(slices):
        tj = j * beta / slices
        while i < len(times) and times[i] < tj:
            cd = codes[i]
            if cd >= 0:
                cur[cd >> 1] += 1 - 2 * (cd & 1)
            i += 1
        for a in range(3):
            com[j, a] += cur[a] / n_electrons


@njit(cache=True)
def bridge_of_slices(com, delta, bridge_lag):
    """(Q(β/2), Q(s)) from the centre of mass at equally spaced times ``com[j]``, with s
    ``bridge_lag`` slices of β/``BRIDGE_SLICES`` (rounded down to this many slices)."""
    slices = com.shape[0]
    low_lag = bridge_lag * slices // BRIDGE_SLICES
    q_half = 0.0
    q_low = 0.0
    for which in range(2):
        lag = slices // 2 if which == 0 else low_lag
        q = 0.0
        for j in range(slices):
            jj = j + lag
            wrap = 1.0 if jj >= slices else 0.0
            jj = jj % slices
            for a in range(3):
                dev = com[jj, a] + wrap * delta[a] - com[j, a] - delta[a] * lag / slices
                q += dev * dev
        if which == 0:
            q_half = q / slices
        else:
            q_low = q / slices
    return q_half, q_low


@njit(cache=True)
def seed_stream(seed):
    np.random.seed(seed)


@njit(cache=True)
def initialise(p, c, sc):
    """Weigh a new (or enlarged) configuration from scratch; False if its weight is zero."""
    res = walk(p, c, sc.pos, sc.lline)
    if res[0]:
        _adopt(c, sc, res)
    return res[0]


@njit(cache=True)
def run_sweeps(p, c, sc, n_sweeps, moves_per_sweep, out, stats, check):
    """Run ``n_sweeps`` sweeps, measuring after each into ``out[i, :]``.

    A sweep is ``moves_per_sweep`` updates chosen at random among those the model has. The
    number is fixed for the whole measurement: a number of updates that depended on the
    configuration (say, its kink count) would bias the measured distribution.
    ``stats[u, 0/1]`` counts proposals and acceptances of update u (see ``UPDATES``). The
    measurement weighs the configuration with :func:`walk`; with ``check`` the running ln W
    of the local updates must agree with it, and every accepted twist repair's local ln W
    with its own :func:`walk` (else returns −1 − sweep). Returns the number of
    sweeps done: fewer than ``n_sweeps`` when the configuration ran out of kink slots (the
    caller enlarges the arrays and goes on).
    """
    has_delta = p.finite == 0
    beta = p.beta
    for s in range(n_sweeps):
        for _ in range(moves_per_sweep):
            if c.nfree[0] < 8:
                return s
            x = np.random.random()
            if x < 0.3:
                ok = _hop_pair(p, c, sc)
                u = 0
            elif x < 0.6:
                if p.model == MODEL_BOND_PEIERLS:
                    ok = _bond_line(p, c, sc)
                else:
                    ok = _holstein_line(p, c, sc)
                u = 1
            elif x < 0.8 or not has_delta:
                ok = _shift(p, c, sc)
                u = 2
            else:
                if p.twist_repair and p.model == MODEL_BOND_PEIERLS:
                    ok = _twist_repair(p, c, sc)
                else:
                    ok = _delta_move(p, c, sc)
                u = 3
            stats[u, 0] += 1
            if ok:
                stats[u, 1] += 1
        res = walk(p, c, sc.pos, sc.lline)
        if check and (not res[0] or abs(res[1] - c.lw[0]) > 1e-8 * (1.0 + abs(res[1]))
                      or sc.twist_sums[8] > 0):
            return -1 - s
        # the running ln W drifts by rounding only; start each sweep from the exact value
        c.lw[0] = res[1]
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
        if has_delta:
            q_half, q_low = bridge(p, c, delta, BRIDGE_SLICES)
            out[s, M_BRIDGE_HALF] = q_half
            out[s, M_BRIDGE_LOW] = q_low
    return n_sweeps
