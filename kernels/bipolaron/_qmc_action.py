"""The Holstein chain with its phonon lines summed into a retarded action (numba).

Private engine of :mod:`pairsweep.kernels.bipolaron.qmc` for ``model = "holstein"``. The
line chain (:mod:`._qmc_chain`) samples every phonon line of a configuration; here the lines
are summed exactly, as in Kornilovitch, PRL 81, 5382 (1998). Units: t = 1, imaginary time
in 1/t.

Why the Holstein lines can be summed
------------------------------------
A Holstein vertex does not hop: it sits on the electron's worldline at any time, on the site
the electron occupies then. For fixed worldlines r_σ(τ), the sum over all numbers, times and
pairings of the vertices is therefore the Gaussian average of T exp(g ∫ Σ_i n_i X_i dτ),

    Σ_lines Π g² D = exp(A),   A = (g²/2) Σ_{σσ'} ∫∫ dτ dτ' D_{σσ'}(τ, τ'),

with D_{σσ'}(τ, τ') the propagator of X between the sites of σ at τ and of σ' at τ' (zero
unless they are the same oscillator). With the twisted boundary conditions of
:mod:`._qmc_chain` (the path continued as r(τ + nβ) = r(τ) + nΔ) this is, exactly as for a
line there, e^{−Ω|τ − τ' − nβ|} when r_σ(τ) = r_σ'(τ') + nΔ, and for Δ = 0 (and in the
finite cluster, whose paths are closed) the sum over all n, the thermal propagator
[e^{−Ωu} + e^{−Ω(β−u)}]/(1 − e^{−Ωβ}). The weight of a configuration is

    W = t^{N_kinks} exp(A − ∫ V_{↑↓} dτ)      (dτ per kink),

positive for every U and V. A configuration is two worldlines of bare hops and nothing else.

What that buys
--------------
A line chain must move every line that straddles a twist, and a strongly bound Holstein pair
carries tens of phonons; its twist is rejected whenever one would break
(``_qmc_chain._delta_move``), so heavy Holstein pairs froze. Here a twist is one kink per
electron whose ratio W'/W contains the whole cost of leaving the phonon cloud behind: the
chain tunnels at the physical rate instead of never.

Integrals
---------
For piecewise-constant paths A is a sum over pairs of segments of
∫_{a₁}^{b₁} ∫_{a₂}^{b₂} f(x − y − s) dy dx = G(b₁−a₂−s) − G(b₁−b₂−s) − G(a₁−a₂−s) + G(a₁−b₂−s)
with G'' = f, G(0) = G'(0) = 0:

* f = e^{−Ω|z|}: G(z) = (e^{−Ωu} − 1 + Ωu)/Ω², u = |z|;
* f = thermal propagator (u ≤ β): G(z) = (e^{−Ωu} + e^{−Ω(β−u)} − 1 − q)/(Ω²(1 − q)) + u/Ω,
  q = e^{−Ωβ}.

The estimators need the same integrals with |z| f(z) (the image-summed line length of
:mod:`._qmc_chain`), which are −∂/∂Ω of these at fixed times (:func:`_g_pair`).

Estimators (compare the line chain's, with "lines" → (g²/2) I₀ and Σℓ → (g²/2) I₁)
------------------------------------------------------------------------------------
Scaling τ = βs: E = −∂ ln Z/∂β = ⟨−N_kinks + ∫V dτ − (g²/2)(2I₀ − Ω I₁)⟩/β, and
N_ph = −β⁻¹ ∂ ln Z/∂Ω = ⟨(g²/2) I₁⟩/β, with I₀ = Σ ∫∫ D and I₁ = Σ ∫∫ |τ − τ' − nβ| D over
all ordered pairs of segments. Check: a static electron has (g²/2) I₀ = βg²/Ω + O(1),
(g²/2) I₁ = βg²/Ω², so E = −g²/Ω and N_ph = g²/Ω² (Lang-Firsov).

Updates (each one satisfies detailed balance on its own)
-------------------------------------------------------
* excursion: displace a stretch of one electron's path, shorter than ``pair_window``, by
  one bond (a hop and its opposite around it; the stretch may contain other kinks); the
  reverse picks a kink, then one of the opposite hops less than ``pair_window`` after it;
* shift: move a kink uniformly between its neighbours (not across τ = 0);
* twist: insert one hop in the same direction on each electron (the second within
  ``delta_window`` of the first), or remove such a pair; this changes Δ by the hop.
The first two change A by the interactions of the moved piece of path with all segments
(:func:`_piece_delta`), O(kinks); the twist re-weighs with :func:`walk`, O(kinks²).
"""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np
from numba import njit

from ._qmc_chain import (BRIDGE_SLICES, M_BRIDGE_HALF, M_BRIDGE_LOW, M_DELTA2, M_DOCC,
                         M_DX, M_ENERGY, M_KINKS, M_LINES, M_NPH, M_R2, MEASURED, _accept,
                         _fwd, _orbit_key, _potential, add_to_centre, bridge_of_slices,
                         same_orbit)

__all__ = ["ActionConfig", "new_config", "walk", "initialise", "run_sweeps", "MEASURED"]

#: One configuration: per electron e the kink times ``tk[e, :count[e]]`` (sorted, in
#: [0, β)) and hop codes ``code`` (2a for +e_a, 2a + 1 for −e_a); ``start[e]`` the site at
#: τ = 0; ``delta`` the twist Δ; ``lw`` the current ln W. ``segs`` is work space for the
#: segments of both electrons (begin, end, site), rebuilt by :func:`_segments`.
ActionConfig = namedtuple("ActionConfig", ["tk", "code", "count", "start", "delta", "lw",
                                           "seg_t", "seg_r", "seg_n"])


def new_config(capacity: int, d: int, n_electrons: int, start_sites: np.ndarray) -> ActionConfig:
    """Straight worldlines at ``start_sites`` with room for ``capacity`` kinks each."""
    cfg = ActionConfig(
        tk=np.zeros((2, capacity)), code=np.zeros((2, capacity), np.int64),
        count=np.zeros(2, np.int64), start=np.zeros((2, 3), np.int64),
        delta=np.zeros(3, np.int64), lw=np.zeros(1),
        seg_t=np.zeros((2 * capacity + 2, 2)), seg_r=np.zeros((2 * capacity + 2, 3), np.int64),
        seg_n=np.zeros(2, np.int64),
    )
    cfg.start[:n_electrons, :d] = start_sites
    return cfg


# ----------------------------------------------------------------------------- integrals

@njit(cache=True)
def _g_pair(p, z, thermal, want_length):
    """(G(z), −∂G/∂Ω) for the zero-temperature (``thermal`` False) or thermal propagator."""
    om = p.omega
    u = abs(z)
    if not thermal:
        g = (math.expm1(-om * u) + om * u) / (om * om)
        if not want_length:
            return g, 0.0
        # −∂G/∂Ω = [u(e^{−Ωu} − 1)]/Ω² + 2(e^{−Ωu} − 1 + Ωu)/Ω³
        return g, u * math.expm1(-om * u) / (om * om) + 2.0 * g / om
    beta = p.beta
    q = math.exp(-om * beta)
    ea = math.exp(-om * u)
    eb = math.exp(-om * (beta - u))
    num = ea + eb - 1.0 - q
    den = om * om * (1.0 - q)
    g = num / den + u / om
    if not want_length:
        return g, 0.0
    dnum = -u * ea - (beta - u) * eb + beta * q
    dden = 2.0 * om * (1.0 - q) + om * om * beta * q
    dg = (dnum * den - num * dden) / (den * den) - u / (om * om)
    return g, -dg


@njit(cache=True)
def _interval_pair(p, a1, b1, ra, a2, b2, rb, delta, zero, want_length):
    """(I₀, I₁) of two segments (times [a1, b1) at ``ra``, [a2, b2) at ``rb``)."""
    same, n = same_orbit(ra, rb, delta, zero)
    if not same:
        return 0.0, 0.0
    s = 0.0 if zero else n * p.beta
    g1, h1 = _g_pair(p, b1 - a2 - s, zero, want_length)
    g2, h2 = _g_pair(p, b1 - b2 - s, zero, want_length)
    g3, h3 = _g_pair(p, a1 - a2 - s, zero, want_length)
    g4, h4 = _g_pair(p, a1 - b2 - s, zero, want_length)
    return g1 - g2 - g3 + g4, h1 - h2 - h3 + h4


# ----------------------------------------------------------------------------- paths

@njit(cache=True)
def _hop_into(code, r, sign):
    r[code >> 1] += sign * (1 - 2 * (code & 1))


@njit(cache=True)
def _segments(p, c):
    """Fill ``seg_t``/``seg_r`` with both electrons' segments (electron 0 first; ``seg_n``
    holds the counts). Zero-length segments (kinks at equal times) are kept: they add 0."""
    k = 0
    for e in range(p.n_electrons):
        r = np.empty(3, np.int64)
        for a in range(3):
            r[a] = c.start[e, a]
        t = 0.0
        for i in range(c.count[e]):
            c.seg_t[k, 0] = t
            c.seg_t[k, 1] = c.tk[e, i]
            for a in range(3):
                c.seg_r[k, a] = r[a]
            k += 1
            t = c.tk[e, i]
            _hop_into(c.code[e, i], r, 1)
        c.seg_t[k, 0] = t
        c.seg_t[k, 1] = p.beta
        for a in range(3):
            c.seg_r[k, a] = r[a]
        k += 1
        c.seg_n[e] = c.count[e] + 1
    return k


@njit(cache=True)
def _delta_of(p, c):
    """Δ from electron 0's hops; (Δ, valid) with valid False if electron 1 disagrees."""
    delta = np.zeros(3, np.int64)
    ok = True
    for e in range(p.n_electrons):
        r = np.zeros(3, np.int64)
        for i in range(c.count[e]):
            _hop_into(c.code[e, i], r, 1)
        if e == 0:
            delta[:] = r
        else:
            for a in range(3):
                if r[a] != delta[a]:
                    ok = False
    return delta, ok


@njit(cache=True)
def walk(p, c):
    """Weigh the configuration from scratch.

    Returns (valid, ln W, Δ (3,), ∫V dτ, ∫δ_{r↑r↓} dτ, ∫|r↑ − r↓|² dτ, kinks, I₀, I₁), with
    ln W = (g²/2) I₀ − ∫V dτ. ``valid`` is False for weight zero: electrons with different
    twists, a twist in the finite cluster, or a path outside its box.
    """
    delta, ok = _delta_of(p, c)
    zero = True
    for a in range(3):
        if delta[a] != 0:
            zero = False
    nseg = _segments(p, c)
    if not ok or (p.finite and not zero):
        return False, 0.0, delta, 0.0, 0.0, 0.0, 0, 0.0, 0.0
    if p.finite:
        for k in range(nseg):
            for a in range(p.d):
                if c.seg_r[k, a] < 0 or c.seg_r[k, a] >= p.box[a]:
                    return False, 0.0, delta, 0.0, 0.0, 0.0, 0, 0.0, 0.0
    # only segments on one oscillator orbit interact: sort them by orbit, pair within
    keys = np.empty(nseg, np.int64)
    for k in range(nseg):
        keys[k] = _orbit_key(0, c.seg_r[k], delta, zero)  # sites: one "axis"
    order = np.argsort(keys, kind="mergesort")
    i0 = 0.0
    i1 = 0.0
    lo = 0
    while lo < nseg:
        hi = lo + 1
        while hi < nseg and keys[order[hi]] == keys[order[lo]]:
            hi += 1
        for x in range(lo, hi):
            k = order[x]
            for y in range(x, hi):
                j = order[y]
                v0, v1 = _interval_pair(p, c.seg_t[k, 0], c.seg_t[k, 1], c.seg_r[k],
                                        c.seg_t[j, 0], c.seg_t[j, 1], c.seg_r[j], delta, zero,
                                        True)
                weight = 1.0 if x == y else 2.0
                i0 += weight * v0
                i1 += weight * v1
        lo = hi
    vint = 0.0
    dint = 0.0
    r2int = 0.0
    if p.n_electrons == 2:
        # merge the two electrons' segments (electron 0 in [0, n0), electron 1 after)
        n0 = c.seg_n[0]
        i = 0
        j = n0
        t = 0.0
        while t < p.beta:
            tn = min(c.seg_t[i, 1], c.seg_t[j, 1])
            r0 = c.seg_r[j, 0] - c.seg_r[i, 0]
            r1 = c.seg_r[j, 1] - c.seg_r[i, 1]
            r2_ = c.seg_r[j, 2] - c.seg_r[i, 2]
            dt = tn - t
            vint += _potential(p, r0, r1, r2_) * dt
            if r0 == 0 and r1 == 0 and r2_ == 0:
                dint += dt
            r2int += (r0 * r0 + r1 * r1 + r2_ * r2_) * dt
            if c.seg_t[i, 1] <= tn and i < n0 - 1:
                i += 1
            if c.seg_t[j, 1] <= tn and j < nseg - 1:
                j += 1
            t = tn
    kinks = c.count[0] + c.count[1]
    logw = 0.5 * p.coupling2 * i0 - vint
    return True, logw, delta, vint, dint, r2int, kinks, i0, i1


# ----------------------------------------------------------------------------- local moves

@njit(cache=True)
def _site_at(c, e, t, out):
    """Electron e's site just after time t (kinks at times ≤ t have acted)."""
    for a in range(3):
        out[a] = c.start[e, a]
    for i in range(c.count[e]):
        if c.tk[e, i] > t:
            break
        _hop_into(c.code[e, i], out, 1)


@njit(cache=True)
def _first_after(c, e, t):
    """Index of electron e's first kink later than t (its count if none)."""
    return np.searchsorted(c.tk[e, :c.count[e]], t, side="right")


@njit(cache=True)
def _insert(c, e, t, code):
    i = _first_after(c, e, t)
    n = c.count[e]
    for j in range(n, i, -1):
        c.tk[e, j] = c.tk[e, j - 1]
        c.code[e, j] = c.code[e, j - 1]
    c.tk[e, i] = t
    c.code[e, i] = code
    c.count[e] = n + 1
    return i


@njit(cache=True)
def _delete(c, e, i):
    n = c.count[e]
    for j in range(i, n - 1):
        c.tk[e, j] = c.tk[e, j + 1]
        c.code[e, j] = c.code[e, j + 1]
    c.count[e] = n - 1


@njit(cache=True)
def _piece_potential(p, c, e, a, b, r):
    """∫_a^b V(r_other(τ) − r) dτ (sign-symmetric V) with electron e at site r on [a, b)."""
    if p.n_electrons < 2 or b <= a:
        return 0.0
    o = 1 - e
    x = np.empty(3, np.int64)
    _site_at(c, o, a, x)
    i = _first_after(c, o, a)
    t = a
    acc = 0.0
    while True:
        tn = c.tk[o, i] if i < c.count[o] else math.inf
        end = min(tn, b)
        acc += _potential(p, x[0] - r[0], x[1] - r[1], x[2] - r[2]) * (end - t)
        if end >= b:
            return acc
        _hop_into(c.code[o, i], x, 1)
        i += 1
        t = end


@njit(cache=True)
def _with_segments(p, c, a, b, r, delta, zero):
    """Σ over all segments s of ∫_a^b ∫_s D (``_segments`` must be current)."""
    n = c.seg_n[0] + (c.seg_n[1] if p.n_electrons == 2 else 0)
    acc = 0.0
    for k in range(n):
        acc += _interval_pair(p, a, b, r, c.seg_t[k, 0], c.seg_t[k, 1], c.seg_r[k], delta,
                              zero, False)[0]
    return acc


@njit(cache=True)
def _piece_delta(p, c, e, npiece, pa, pb, r_old, r_new):
    """ln W' − ln W when electron e's path on the intervals [pa[i], pb[i]) moves from the
    sites ``r_old[i]`` to ``r_new[i]`` (Δ unchanged; ``_segments`` current for the old path).

    With C the old path as a set of intervals and P_old, P_new the piece before and after,
    A' − A = (g²/2)[2K(C, P_new − P_old) + K(P_new, P_new) + K(P_old, P_old) − 2K(P_old, P_new)]
    for the bilinear K(X, Y) = Σ ∫_X ∫_Y D.
    """
    delta = c.delta
    zero = True
    for a in range(3):
        if delta[a] != 0:
            zero = False
    k_c = 0.0
    k_pp = 0.0
    dv = 0.0
    for i in range(npiece):
        k_c += _with_segments(p, c, pa[i], pb[i], r_new[i], delta, zero)
        k_c -= _with_segments(p, c, pa[i], pb[i], r_old[i], delta, zero)
        dv += _piece_potential(p, c, e, pa[i], pb[i], r_new[i])
        dv -= _piece_potential(p, c, e, pa[i], pb[i], r_old[i])
        for j in range(npiece):
            k_pp += _interval_pair(p, pa[i], pb[i], r_new[i], pa[j], pb[j], r_new[j], delta,
                                   zero, False)[0]
            k_pp += _interval_pair(p, pa[i], pb[i], r_old[i], pa[j], pb[j], r_old[j], delta,
                                   zero, False)[0]
            k_pp -= 2.0 * _interval_pair(p, pa[i], pb[i], r_old[i], pa[j], pb[j], r_new[j],
                                         delta, zero, False)[0]
    return 0.5 * p.coupling2 * (2.0 * k_c + k_pp) - dv


@njit(cache=True)
def _in_box(p, r):
    if not p.finite:
        return True
    for a in range(p.d):
        if r[a] < 0 or r[a] >= p.box[a]:
            return False
    return True


@njit(cache=True)
def _stretch(p, c, e, t1, t2, code, sign, pa, pb, r_old, r_new):
    """The pieces of electron e's path on the cyclic stretch [t1, t2) with their sites
    before and after the stretch moves by ``sign`` × the hop of ``code``; their number, or
    −1 when a moved site leaves the finite cluster. ``_segments`` must be current."""
    first = 0 if e == 0 else c.seg_n[0]
    n = 0
    for part in range(2):
        if part == 0:
            lo = t1
            hi = t2 if t2 > t1 else p.beta
        else:
            if t2 > t1:
                break
            lo = 0.0
            hi = t2
        for k in range(first, first + c.seg_n[e]):
            a = max(lo, c.seg_t[k, 0])
            b = min(hi, c.seg_t[k, 1])
            if b <= a:
                continue
            pa[n] = a
            pb[n] = b
            for x in range(3):
                r_old[n, x] = c.seg_r[k, x]
                r_new[n, x] = c.seg_r[k, x]
            _hop_into(code, r_new[n], sign)
            if not _in_box(p, r_new[n]):
                return -1
            n += 1
    return n


@njit(cache=True)
def _opposite_after(p, c, e, i, out):
    """Kinks of electron e with the opposite hop of kink i, later by less than
    ``pair_window`` (cyclic); their indices into ``out``, and their number."""
    m = 0
    opp = c.code[e, i] ^ 1
    for j in range(c.count[e]):
        if j != i and c.code[e, j] == opp:
            u = _fwd(c.tk[e, i], c.tk[e, j], p.beta)
            if 0.0 < u < p.pair_window:
                out[m] = j
                m += 1
    return m


@njit(cache=True)
def _excursion(p, c, pa, pb, r_old, r_new, buf):
    """Displace a stretch of one electron's path (shorter than ``pair_window``) by one bond,
    i.e. insert a hop and its opposite around it, or remove such a pair of hops. The stretch
    may contain other kinks, which is what makes the update ergodic beyond 1-D: words such
    as x y x̄ ȳ (a path around a plaquette) cannot be built from adjacent opposite pairs."""
    e = np.random.randint(p.n_electrons)
    n = c.count[e]
    beta = p.beta
    w = p.pair_window
    if np.random.random() < 0.5:
        t1 = beta * np.random.random()
        t2 = t1 + w * np.random.random()
        if t2 >= beta:
            t2 -= beta
        if t2 == t1:
            return False
        code = np.random.randint(2 * p.d)
        _segments(p, c)
        npiece = _stretch(p, c, e, t1, t2, code, 1, pa, pb, r_old, r_new)
        if npiece < 0:
            return False
        dlw = _piece_delta(p, c, e, npiece, pa, pb, r_old, r_new)
        i = _insert(c, e, t1, code)
        j = _insert(c, e, t2, code ^ 1)
        if j <= i:
            i += 1
        m = _opposite_after(p, c, e, i, buf)
        # m counts the new hop itself unless rounding put it at a forward distance 0 or ≥ w
        # from t1; the reverse could not pick it then, so the move is not made
        if m == 0 or not _accept(math.exp(dlw) * beta * 2 * p.d * w / ((n + 2) * m)):
            _delete(c, e, max(i, j))
            _delete(c, e, min(i, j))
            return False
        if t2 < t1:
            _hop_into(code, c.start[e], 1)
        c.lw[0] += dlw
        return True
    if n < 2:
        return False
    i = np.random.randint(n)
    m = _opposite_after(p, c, e, i, buf)
    if m == 0:
        return False
    j = buf[np.random.randint(m)]
    t1 = c.tk[e, i]
    t2 = c.tk[e, j]
    code = c.code[e, i]
    _segments(p, c)
    npiece = _stretch(p, c, e, t1, t2, code, -1, pa, pb, r_old, r_new)
    if npiece < 0:
        return False
    dlw = _piece_delta(p, c, e, npiece, pa, pb, r_old, r_new)
    ratio = math.exp(dlw) * n * m / (beta * 2 * p.d * w)
    if not _accept(ratio):
        return False
    # delete the later index first so that the earlier one stays valid
    _delete(c, e, max(i, j))
    _delete(c, e, min(i, j))
    if t2 < t1:
        _hop_into(code, c.start[e], -1)
    c.lw[0] += dlw
    return True


@njit(cache=True)
def _shift(p, c, pa, pb, r_old, r_new):
    """Move a kink uniformly between its neighbours (never across τ = 0)."""
    e = np.random.randint(p.n_electrons)
    n = c.count[e]
    if n == 0:
        return False
    i = np.random.randint(n)
    lo = c.tk[e, i - 1] if i > 0 else 0.0
    hi = c.tk[e, i + 1] if i + 1 < n else p.beta
    t = c.tk[e, i]
    t_new = lo + (hi - lo) * np.random.random()
    if t_new == t or t_new <= lo:
        return False
    code = c.code[e, i]
    if t_new > t:
        # [t, t_new) now lies before the kink: it loses the hop
        pa[0] = t
        pb[0] = t_new
        _site_at(c, e, t, r_old[0])
        for a in range(3):
            r_new[0, a] = r_old[0, a]
        _hop_into(code, r_new[0], -1)
    else:
        pa[0] = t_new
        pb[0] = t
        _site_at(c, e, t_new, r_old[0])
        for a in range(3):
            r_new[0, a] = r_old[0, a]
        _hop_into(code, r_new[0], 1)
    if not _in_box(p, r_new[0]):
        return False
    _segments(p, c)
    dlw = _piece_delta(p, c, e, 1, pa, pb, r_old, r_new)
    if not _accept(math.exp(dlw)):
        return False
    c.tk[e, i] = t_new
    c.lw[0] += dlw
    return True


# ----------------------------------------------------------------------------- the twist

@njit(cache=True)
def _partners(p, c, t, code, out):
    """Electron 1's kinks with this code within ``delta_window`` of t (cyclic); count."""
    m = 0
    for j in range(c.count[1]):
        if c.code[1, j] == code:
            x = abs(c.tk[1, j] - t)
            if min(x, p.beta - x) <= p.delta_window:
                out[m] = j
                m += 1
    return m


@njit(cache=True)
def _twist(p, c, buf):
    """Insert one hop in the same direction on each electron, or remove such a pair: Δ
    changes by the hop and every later site moves with it. Re-weighed by :func:`walk`."""
    beta = p.beta
    two = p.n_electrons == 2
    w = p.delta_window
    if np.random.random() < 0.5:
        ta = beta * np.random.random()
        code = np.random.randint(2 * p.d)
        ia = _insert(c, 0, ta, code)
        ib = -1
        if two:
            tb = (ta + (2.0 * np.random.random() - 1.0) * w) % beta
            if tb >= beta:  # x % β is β itself for x a rounding error below 0
                tb -= beta
            ib = _insert(c, 1, tb, code)
        res = walk(p, c)
        if res[0]:
            q = beta * 2 * p.d / c.count[0]
            accept = True
            if two:
                # m ≥ 1 unless rounding put the new hop just outside the window
                m = _partners(p, c, ta, code, buf)
                accept = m > 0
                q *= 2.0 * w / max(m, 1)
            if accept and _accept(math.exp(res[1] - c.lw[0]) * q):
                c.lw[0] = res[1]
                for a in range(3):
                    c.delta[a] = res[2][a]
                return True
        _delete(c, 0, ia)
        if two:
            _delete(c, 1, ib)
        return False
    n = c.count[0]
    if n == 0:
        return False
    ia = np.random.randint(n)
    code = c.code[0, ia]
    ta = c.tk[0, ia]
    q = n / (beta * 2 * p.d)
    ib = -1
    tb = 0.0
    if two:
        m = _partners(p, c, ta, code, buf)
        if m == 0:
            return False
        ib = buf[np.random.randint(m)]
        tb = c.tk[1, ib]
        q *= m / (2.0 * w)
    _delete(c, 0, ia)
    if two:
        _delete(c, 1, ib)
    res = walk(p, c)
    if res[0] and _accept(math.exp(res[1] - c.lw[0]) * q):
        c.lw[0] = res[1]
        for a in range(3):
            c.delta[a] = res[2][a]
        return True
    _insert(c, 0, ta, code)
    if two:
        _insert(c, 1, tb, code)
    return False


# ----------------------------------------------------------------------------- driver

@njit(cache=True)
def bridge(p, c, delta, slices):
    """Q(β/2), Q(s) of the centre of mass, as :func:`._qmc_chain.bridge`."""
    com = np.zeros((slices, 3))
    for e in range(p.n_electrons):
        n = c.count[e]
        add_to_centre(com, c.start[e], c.tk[e, :n], c.code[e, :n], p.beta, p.n_electrons)
    return bridge_of_slices(com, delta, p.bridge_lag)


@njit(cache=True)
def initialise(p, c):
    """Weigh a new (or enlarged) configuration from scratch; False if its weight is zero."""
    res = walk(p, c)
    if res[0]:
        c.lw[0] = res[1]
        for a in range(3):
            c.delta[a] = res[2][a]
    return res[0]


@njit(cache=True)
def run_sweeps(p, c, n_sweeps, moves_per_sweep, out, stats, check):
    """``n_sweeps`` sweeps of ``moves_per_sweep`` updates, measured into ``out`` (columns
    of ``MEASURED``); ``stats`` as in :func:`._qmc_chain.run_sweeps` (the "line" row stays
    empty: there are no lines). Returns the sweeps done (fewer when the kink arrays might
    fill up during the next sweep), or −1 − sweep when ``check`` finds the running ln W off
    a full walk."""
    has_delta = p.finite == 0
    beta = p.beta
    cap = c.tk.shape[1]
    pa = np.zeros(cap + 4)
    pb = np.zeros(cap + 4)
    r_old = np.zeros((cap + 4, 3), np.int64)
    r_new = np.zeros((cap + 4, 3), np.int64)
    buf = np.zeros(cap, np.int64)
    for s in range(n_sweeps):
        # a sweep adds at most two kinks per update; stopping before it (never inside it)
        # keeps every sweep at its fixed length, so the series does not depend on capacity
        if max(c.count[0], c.count[1]) + 2 * moves_per_sweep + 4 > cap:
            return s
        for _ in range(moves_per_sweep):
            x = np.random.random()
            if x < 0.5:
                ok = _excursion(p, c, pa, pb, r_old, r_new, buf)
                u = 0
            elif x < 0.8 or not has_delta:
                ok = _shift(p, c, pa, pb, r_old, r_new)
                u = 2
            else:
                ok = _twist(p, c, buf)
                u = 3
            stats[u, 0] += 1
            if ok:
                stats[u, 1] += 1
        res = walk(p, c)
        if check and (not res[0] or abs(res[1] - c.lw[0]) > 1e-8 * (1.0 + abs(res[1]))):
            return -1 - s
        c.lw[0] = res[1]
        delta = res[2]
        half_c2 = 0.5 * p.coupling2
        out[s, M_ENERGY] = (-res[6] + res[3] - half_c2 * (2.0 * res[7] - p.omega * res[8])) / beta
        out[s, M_DELTA2] = delta[0] * delta[0] + delta[1] * delta[1] + delta[2] * delta[2]
        out[s, M_R2] = res[5] / beta
        out[s, M_DOCC] = res[4] / beta
        out[s, M_NPH] = half_c2 * res[8] / beta
        out[s, M_KINKS] = res[6]
        out[s, M_LINES] = half_c2 * res[7]
        out[s, M_DX] = delta[0]
        if has_delta:
            q_half, q_low = bridge(p, c, delta, BRIDGE_SLICES)
            out[s, M_BRIDGE_HALF] = q_half
            out[s, M_BRIDGE_LOW] = q_low
    return n_sweeps
