"""Variational exact diagonalisation (Bonča–Trugman) of one or two electrons with phonons.

Private engine of the VED solver, :mod:`pairsweep.kernels.bipolaron.ved`. Pure numpy/numba,
no I/O.

Frame and states
----------------
Energies are in units of the hopping, t = 1. A basis state is a configuration seen from the
↑ electron, which sits at the origin: the ↓ electron at relative position ``r`` (two-electron
problem only) and a multiset of phonon quanta at positions relative to the ↑ electron (site
phonons for Holstein, bond phonons for bond-Peierls). The translation-invariant state of total
momentum K built from a configuration is Σ_j e^{iK·R_j} T_j |config⟩; hopping the ↑ electron by
δ shifts the frame, so the configuration's phonons and ``r`` move by −δ and the matrix element
picks up e^{−iK·δ}. With one ↑ and one ↓ electron and no spin flips there are no fermion signs;
at K = 0 the Hamiltonian can be gauged stoquastic (sign of the coupling is irrelevant), so the
ground state is nodeless, spatially symmetric, hence the singlet.

Compact encoding
----------------
A configuration is packed into ``W`` int64 words of ``bits``-bit slots: slot 0 holds the code of
``r``, slots 1..nq the phonon quanta codes (1 + position index), sorted ascending, zeros after.
States live in a growing (n, W) array; an open-addressing hash table (int32, index + 1, linear
probing, load <= 1/2) maps configurations to indices.

Basis growth and the matrix
---------------------------
Generation 0 is the seed (electrons on one site, no phonons). Processing the rows of
generation g applies every off-diagonal term of H to each of its states; targets not yet known
are inserted (they form generation g + 1) and every (row, target, code) triple is stored in a
CSR array. States are numbered in generation order, so the basis of generation g is the index
range [0, n_g) and its Hamiltonian is the principal sub-matrix: the mat-vec simply skips
columns >= n_g. Entries store a ``uint16`` code = value index × (2d + 1) + hop direction, which
is looked up in a small value table (real at K = 0, complex with Bloch phases otherwise), so a
non-zero costs 6 bytes. Duplicate (row, column) entries are summed by the mat-vec.

Caps (all are properties of a configuration, so the projected H stays Hermitian): total phonon
number ``nmax``, relative separation |r_a| <= ``rmax`` per component, and a cloud extent: every
phonon lies within Manhattan distance ``lcloud`` of one of the electrons (for a bond, the
nearer of its two end sites).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
from numba import njit

__all__ = [
    "MODEL_BP",
    "MODEL_BP_AA",
    "MODEL_H",
    "MODEL_H_AA",
    "Problem",
    "TimeCap",
    "VEDBasis",
    "lanczos_ground",
]

MODEL_BP, MODEL_H, MODEL_BP_AA, MODEL_H_AA = 0, 1, 2, 3

# Return codes of the row processor.
_DONE, _NEED_KEYS, _NEED_TABLE, _NEED_ENTRIES = 0, 1, 2, 3

# int config vector layout
_C_D, _C_NB, _C_B, _C_SIDE, _C_R, _C_RSIDE, _C_LC, _C_NMAX, _C_BITS, _C_SPW, _C_W = range(11)
_C_TWO, _C_MODEL, _C_NSLOT, _C_USECLOUD = 11, 12, 13, 14
_NCFG = 15


@dataclass
class Problem:
    """Physical model and caps of one VED problem (t = 1).

    ``coupling`` is α (bond-Peierls, seed Eq. 5) or g (Holstein, seed Eq. 2) in units of t;
    the antiadiabatic models use it only through α²/Ω or g²/Ω.
    """

    model: int
    d: int
    two_electrons: bool
    omega: float
    coupling: float
    U: float = 0.0
    V: float = 0.0
    nmax: int = 30
    rmax: int = 100
    lcloud: int = 100
    max_generations: int = 40

    def nb(self) -> int:
        if self.model == MODEL_BP:
            return self.d
        if self.model == MODEL_H:
            return 1
        return 1  # antiadiabatic: no phonons; keep a valid (unused) position code

    def has_phonons(self) -> bool:
        return self.model in (MODEL_BP, MODEL_H)


@njit(cache=True)
def _hash(key, W):
    h = np.int64(0x2545F4914F6CDD1D)
    for w in range(W):
        h ^= key[w] + np.int64(-7046029254386353131) + (h << 6) + (h >> 2)
        h *= np.int64(0x5851F42D4C957F2D)
        h ^= h >> 29
    return h


@njit(cache=True)
def _find(keys, table, tmask, key, W):
    """Index of ``key`` and its probe slot; -1 and the free slot if absent."""
    i = _hash(key, W) & tmask
    while True:
        idx = table[i]
        if idx == 0:
            return -1, i
        s = idx - 1
        same = True
        for w in range(W):
            if keys[s, w] != key[w]:
                same = False
                break
        if same:
            return s, i
        i = (i + 1) & tmask


@njit(cache=True)
def _rehash(keys, n, W, table):
    tmask = table.shape[0] - 1
    for s in range(n):
        _, slot = _find(keys, table, tmask, keys[s], W)
        table[slot] = s + 1


@njit(cache=True)
def _encode(rcode, tq, ntq, cfg, out):
    bits = cfg[_C_BITS]
    spw = cfg[_C_SPW]
    for w in range(cfg[_C_W]):
        out[w] = 0
    out[0] = rcode
    for k in range(ntq):
        i = k + 1
        out[i // spw] |= np.int64(tq[k]) << ((i % spw) * bits)


@njit(cache=True)
def _decode(keys, s, cfg, q):
    bits = cfg[_C_BITS]
    spw = cfg[_C_SPW]
    mask = (np.int64(1) << bits) - 1
    rcode = keys[s, 0] & mask
    nq = 0
    for i in range(1, cfg[_C_NSLOT]):
        c = (keys[s, i // spw] >> ((i % spw) * bits)) & mask
        if c == 0:
            break
        q[nq] = c
        nq += 1
    return rcode, nq


@njit(cache=True)
def _rcoords(rcode, cfg, r):
    R = cfg[_C_R]
    rs = cfg[_C_RSIDE]
    for k in range(cfg[_C_D]):
        r[k] = rcode % rs - R
        rcode //= rs


@njit(cache=True)
def _rencode(r, cfg):
    R = cfg[_C_R]
    rs = cfg[_C_RSIDE]
    c = 0
    for k in range(cfg[_C_D] - 1, -1, -1):
        c = c * rs + (r[k] + R)
    return c


@njit(cache=True)
def _pcoords(code, cfg, x):
    """Site coordinates of a phonon code; returns the bond direction (0 for site phonons)."""
    nb = cfg[_C_NB]
    idx = code - 1
    a = idx % nb
    site = idx // nb
    side = cfg[_C_SIDE]
    B = cfg[_C_B]
    for k in range(cfg[_C_D]):
        x[k] = site % side - B
        site //= side
    return a


@njit(cache=True)
def _pencode(x, a, cfg):
    """Phonon code of site x (bond direction a), or 0 if outside the box."""
    side = cfg[_C_SIDE]
    B = cfg[_C_B]
    site = 0
    for k in range(cfg[_C_D] - 1, -1, -1):
        if x[k] < -B or x[k] > B:
            return 0
        site = site * side + (x[k] + B)
    return 1 + site * cfg[_C_NB] + a


@njit(cache=True)
def _count(q, nq, c):
    n = 0
    for k in range(nq):
        if q[k] == c:
            n += 1
    return n


@njit(cache=True)
def _insert(q, nq, c, tq):
    """tq = sorted multiset q with one more c; returns the new length."""
    k = 0
    m = 0
    placed = False
    while k < nq:
        if not placed and c <= q[k]:
            tq[m] = c
            m += 1
            placed = True
        tq[m] = q[k]
        m += 1
        k += 1
    if not placed:
        tq[m] = c
        m += 1
    return m


@njit(cache=True)
def _remove(q, nq, c, tq):
    m = 0
    done = False
    for k in range(nq):
        if not done and q[k] == c:
            done = True
            continue
        tq[m] = q[k]
        m += 1
    return m


@njit(cache=True)
def _shift_ok(tq, ntq, a, step, cfg, x):
    """Shift every quantum by ``step`` along axis a in place; False if one leaves the box."""
    B = cfg[_C_B]
    stride = cfg[_C_NB]
    for k in range(a):
        stride *= cfg[_C_SIDE]
    for k in range(ntq):
        _pcoords(tq[k], cfg, x)
        xa = x[a] + step
        if xa < -B or xa > B:
            return False
        tq[k] += step * stride
    return True


@njit(cache=True)
def _cloud_ok(tq, ntq, r, cfg, x):
    """Every phonon (either end of its bond) within Manhattan lcloud of an electron."""
    if cfg[_C_USECLOUD] == 0:
        return True
    d = cfg[_C_D]
    lc = cfg[_C_LC]
    two = cfg[_C_TWO]
    bondlike = cfg[_C_MODEL] == 0
    for k in range(ntq):
        a = _pcoords(tq[k], cfg, x)
        best = 1 << 30
        for end in range(2 if bondlike else 1):
            d0 = 0
            d1 = 0
            for j in range(d):
                xj = x[j] + (1 if (end == 1 and j == a) else 0)
                d0 += abs(xj)
                d1 += abs(xj - r[j])
            if d0 < best:
                best = d0
            if two == 1 and d1 < best:
                best = d1
        if best > lc:
            return False
    return True


@njit(cache=True)
def _target_diag(rn, ntq, cfg, fpar):
    """Diagonal element of a configuration: Ω N_ph + U δ_{r,0} + V/|r| + constants."""
    dv = fpar[0] * ntq
    if cfg[_C_TWO] == 1:
        r2 = 0
        for k in range(cfg[_C_D]):
            r2 += rn[k] * rn[k]
        dv += 2.0 * fpar[3]
        if r2 == 0:
            dv += fpar[1] + fpar[4]
        elif fpar[2] != 0.0:
            dv += fpar[2] / math.sqrt(r2)
    else:
        dv += fpar[3]
    return dv


@njit(cache=True)
def _emit(mode, row, amp, rcode, tq, ntq, rvec, vidx, dirn, cfg, fpar, vabs, keys,
          nstates, table, cols, codes, nnz, key, xbuf, energy, eps):
    """Handle one transition row -> target.

    mode 0 (rows): if the target is a known state with index <= row, append the entry.
    mode 1 (expand): if the target is unknown and its first-order amplitude
    |H_tr ψ_r| / (H_tt − E) reaches eps, insert it. Returns (nstates, nnz).
    """
    if ntq > cfg[_C_NMAX]:
        return nstates, nnz
    if not _cloud_ok(tq, ntq, rvec, cfg, xbuf):
        return nstates, nnz
    W = cfg[_C_W]
    _encode(rcode, tq, ntq, cfg, key)
    tmask = table.shape[0] - 1
    s, slot = _find(keys, table, tmask, key, W)
    if mode == 0:
        if s >= 0 and s <= row:
            cols[nnz] = s
            codes[nnz] = vidx * (2 * cfg[_C_D] + 1) + dirn
            nnz += 1
        return nstates, nnz
    if s >= 0:
        return nstates, nnz
    if eps > 0.0:
        den = _target_diag(rvec, ntq, cfg, fpar) - energy
        if den < 0.05:
            den = 0.05
        if vabs[vidx] * amp < eps * den:
            return nstates, nnz
    s = nstates
    for w in range(W):
        keys[s, w] = key[w]
    table[slot] = s + 1
    return nstates + 1, nnz


@njit(cache=True)
def _sweep(mode, cfg, fpar, vabs, keys, nstates, table, row, row_end, indptr, cols, codes,
           nnz, diag, maxrow, psi_abs, energy, eps, pcut, full):
    """Apply the off-diagonal part of H to states row..row_end-1.

    mode 0 builds CSR rows (lower triangle, col <= row) and the diagonal; mode 1 expands the
    basis from parents with |ψ| >= pcut (see _emit). fpar = (Ω, U, V, aa_single, aa_onsite).
    Returns (status, next row, nstates, nnz).
    """
    d = cfg[_C_D]
    nmax = cfg[_C_NMAX]
    two = cfg[_C_TWO]
    model = cfg[_C_MODEL]
    R = cfg[_C_R]
    W = cfg[_C_W]
    q = np.zeros(nmax + 2, np.int64)
    tq = np.zeros(nmax + 2, np.int64)
    r = np.zeros(3, np.int64)
    rn = np.zeros(3, np.int64)
    x = np.zeros(3, np.int64)
    key = np.zeros(W, np.int64)
    vpair = 2 * nmax + 1
    amp = 0.0
    while row < row_end:
        if mode == 0:
            if nnz + maxrow > cols.shape[0]:
                return _NEED_ENTRIES, row, nstates, nnz
        else:
            if full[row]:
                row += 1
                continue
            amp = psi_abs[row] if eps > 0.0 else 1.0
            if eps > 0.0 and amp < pcut:
                row += 1
                continue
            if nstates + maxrow > keys.shape[0]:
                return _NEED_KEYS, row, nstates, nnz
            if 2 * (nstates + maxrow) > table.shape[0]:
                return _NEED_TABLE, row, nstates, nnz
            if eps == 0.0:
                full[row] = True
        rcode, nq = _decode(keys, row, cfg, q)
        _rcoords(rcode, cfg, r)
        onsite = True
        for k in range(d):
            if r[k] != 0:
                onsite = False
        if mode == 0:
            diag[row] = _target_diag(r, nq, cfg, fpar)
        # ↑ electron hops by delta = sgn e_a: frame shifts by -delta, phase dir
        for a in range(d):
            for sgn in (1, -1):
                dirn = 1 + 2 * a + (0 if sgn > 0 else 1)
                for k in range(d):
                    rn[k] = r[k]
                if two == 1:
                    rn[a] = r[a] - sgn
                    if rn[a] < -R or rn[a] > R:
                        continue
                rc2 = _rencode(rn, cfg) if two == 1 else rcode
                for k in range(nq):
                    tq[k] = q[k]
                if _shift_ok(tq, nq, a, -sgn, cfg, x):
                    nstates, nnz = _emit(mode, row, amp, rc2, tq, nq, rn, 0, dirn, cfg, fpar,
                                         vabs, keys, nstates, table, cols, codes, nnz, key, x,
                                         energy, eps)
                if model == 0:
                    for k in range(d):
                        x[k] = 0
                    if sgn < 0:
                        x[a] = -1
                    cb = _pencode(x, a, cfg)
                    nb_ = _count(q, nq, cb)
                    if nq < nmax:
                        m = _insert(q, nq, cb, tq)
                        if _shift_ok(tq, m, a, -sgn, cfg, x):
                            nstates, nnz = _emit(mode, row, amp, rc2, tq, m, rn, nb_ + 1, dirn,
                                                 cfg, fpar, vabs, keys, nstates, table, cols,
                                                 codes, nnz, key, x, energy, eps)
                    if nb_ > 0:
                        m = _remove(q, nq, cb, tq)
                        if _shift_ok(tq, m, a, -sgn, cfg, x):
                            nstates, nnz = _emit(mode, row, amp, rc2, tq, m, rn, nb_, dirn,
                                                 cfg, fpar, vabs, keys, nstates, table, cols,
                                                 codes, nnz, key, x, energy, eps)
        if two == 1:
            # ↓ electron hops by delta: r -> r + delta, no phase
            for a in range(d):
                for sgn in (1, -1):
                    for k in range(d):
                        rn[k] = r[k]
                    rn[a] = r[a] + sgn
                    if rn[a] < -R or rn[a] > R:
                        continue
                    rc2 = _rencode(rn, cfg)
                    nstates, nnz = _emit(mode, row, amp, rc2, q, nq, rn, 0, 0, cfg, fpar, vabs,
                                         keys, nstates, table, cols, codes, nnz, key, x,
                                         energy, eps)
                    if model == 0:
                        for k in range(d):
                            x[k] = r[k]
                        if sgn < 0:
                            x[a] = r[a] - 1
                        cb = _pencode(x, a, cfg)
                        if cb == 0:
                            continue
                        nb_ = _count(q, nq, cb)
                        if nq < nmax:
                            m = _insert(q, nq, cb, tq)
                            nstates, nnz = _emit(mode, row, amp, rc2, tq, m, rn, nb_ + 1, 0,
                                                 cfg, fpar, vabs, keys, nstates, table, cols,
                                                 codes, nnz, key, x, energy, eps)
                        if nb_ > 0:
                            m = _remove(q, nq, cb, tq)
                            nstates, nnz = _emit(mode, row, amp, rc2, tq, m, rn, nb_, 0, cfg,
                                                 fpar, vabs, keys, nstates, table, cols, codes,
                                                 nnz, key, x, energy, eps)
        if model == 1:
            # Holstein g n_i (b_i + b_i^†) at the electrons' sites; 2g when both sit on one
            nsite = 1 if (two == 0 or onsite) else 2
            for e in range(nsite):
                for k in range(d):
                    x[k] = r[k] if e == 1 else 0
                cb = _pencode(x, 0, cfg)
                if cb == 0:
                    continue
                off = nmax if (two == 1 and onsite) else 0
                nb_ = _count(q, nq, cb)
                if nq < nmax:
                    m = _insert(q, nq, cb, tq)
                    nstates, nnz = _emit(mode, row, amp, rcode, tq, m, r, off + nb_ + 1, 0, cfg,
                                         fpar, vabs, keys, nstates, table, cols, codes, nnz,
                                         key, x, energy, eps)
                if nb_ > 0:
                    m = _remove(q, nq, cb, tq)
                    nstates, nnz = _emit(mode, row, amp, rcode, tq, m, r, off + nb_, 0, cfg,
                                         fpar, vabs, keys, nstates, table, cols, codes, nnz,
                                         key, x, energy, eps)
        if model == 2 and two == 1:
            # antiadiabatic pair term -(2α²/Ω) h↑h↓ on a bond holding both electrons
            l1 = 0
            for k in range(d):
                l1 += abs(r[k])
            for a in range(d):
                for sgn in (1, -1):
                    dirn = 1 + 2 * a + (0 if sgn > 0 else 1)
                    if l1 == 0:
                        # both hop 0 -> delta together: r stays 0, ↑ moved by delta
                        nstates, nnz = _emit(mode, row, amp, rcode, q, 0, r, vpair, dirn, cfg,
                                             fpar, vabs, keys, nstates, table, cols, codes,
                                             nnz, key, x, energy, eps)
                    elif l1 == 1 and r[a] == sgn:
                        # ↑ 0 -> delta, ↓ delta -> 0: r' = -delta
                        for k in range(d):
                            rn[k] = 0
                        rn[a] = -sgn
                        rc2 = _rencode(rn, cfg)
                        nstates, nnz = _emit(mode, row, amp, rc2, q, 0, rn, vpair, dirn, cfg,
                                             fpar, vabs, keys, nstates, table, cols, codes,
                                             nnz, key, x, energy, eps)
        if mode == 0:
            indptr[row + 1] = nnz
        row += 1
    return _DONE, row, nstates, nnz


@njit(cache=True)
def _matvec(indptr, cols, codes, diag, table, x, y, ncut):
    """y = H x on the basis [0, ncut); rows hold the lower triangle (col <= row) only."""
    for i in range(ncut):
        y[i] = diag[i] * x[i]
    for i in range(ncut):
        xi = x[i]
        acc = y[i]
        for p in range(indptr[i], indptr[i + 1]):
            j = cols[p]
            h = table[codes[p]]
            if j == i:
                acc += h * xi
            else:
                acc += h * x[j]
                y[j] += np.conj(h) * xi
        y[i] = acc


@njit(cache=True)
def _moments(keys, cfg, psi2, ncut):
    """Σ|ψ|² |r|², Σ|ψ|² N_ph and Σ|ψ|² δ_{r,0} over the first ncut states."""
    q = np.zeros(cfg[_C_NMAX] + 2, np.int64)
    r = np.zeros(3, np.int64)
    s_r2 = 0.0
    s_n = 0.0
    s_0 = 0.0
    for s in range(ncut):
        rcode, nq = _decode(keys, s, cfg, q)
        _rcoords(rcode, cfg, r)
        r2 = 0
        for k in range(cfg[_C_D]):
            r2 += r[k] * r[k]
        s_r2 += psi2[s] * r2
        s_n += psi2[s] * nq
        if r2 == 0:
            s_0 += psi2[s]
    return s_r2, s_n, s_0


class TimeCap(Exception):
    """A solve ran past its wall-clock deadline (``time.perf_counter()`` seconds)."""


def lanczos_ground(matvec, v0: np.ndarray, tol: float = 1e-9, m: int = 80,
                   max_matvecs: int = 20000, store_limit_bytes: float = 5e8,
                   deadline: float | None = None) -> tuple[float, np.ndarray, float, int]:
    """Lowest eigenpair of a Hermitian operator by restarted Lanczos.

    Each cycle runs up to ``m`` Lanczos steps from the current vector, takes the lowest
    Ritz pair, and restarts from it; it stops when the true residual ‖Hx − θx‖ < ``tol``.
    The Lanczos vectors are kept when they fit in ``store_limit_bytes``; otherwise the cycle
    is replayed to rebuild the Ritz vector (twice the mat-vecs, four vectors of memory).
    Deterministic. Returns (θ, x, residual, mat-vec count). Raises :class:`TimeCap` when a
    mat-vec ends past ``deadline`` (a ``time.perf_counter()`` value).
    """
    from scipy.linalg import eigh_tridiagonal

    if deadline is not None:
        inner = matvec

        def matvec(x: np.ndarray, y: np.ndarray) -> None:
            inner(x, y)
            if time.perf_counter() > deadline:
                raise TimeCap

    n = v0.shape[0]
    v = v0 / np.linalg.norm(v0)
    nmv = 0
    store = n * m * v.itemsize <= store_limit_bytes
    theta = np.inf
    res = np.inf
    w = np.empty_like(v)
    while nmv < max_matvecs:
        alphas: list[float] = []
        betas: list[float] = []
        basis: list[np.ndarray] = []
        q_prev = np.zeros_like(v)
        q = v.copy()
        b = 0.0
        kmax = min(m, n)
        prev_theta = np.inf
        for j in range(kmax):
            if store:
                basis.append(q.copy())
            matvec(q, w)
            nmv += 1
            a = float(np.real(np.vdot(q, w)))
            w -= a * q
            if j > 0:
                w -= b * q_prev
            alphas.append(a)
            b = float(np.linalg.norm(w))
            betas.append(b)
            if b < 1e-13 * max(1.0, abs(a)):
                break
            q_prev, q = q, w / b
            if j >= 4 and j % 5 == 0:
                th = eigh_tridiagonal(np.array(alphas), np.array(betas[:-1]),
                                      select="i", select_range=(0, 0),
                                      eigvals_only=True)[0]
                # Ritz value settled to far below tol²: the restart will confirm it
                if abs(th - prev_theta) < 1e-3 * tol * tol:
                    break
                prev_theta = th
        k = len(alphas)
        if k == 1:
            evals = np.array([alphas[0]])
            evecs = np.ones((1, 1))
        else:
            evals, evecs = eigh_tridiagonal(np.array(alphas), np.array(betas[:-1]),
                                            select="i", select_range=(0, 0))
        theta = float(evals[0])
        s = evecs[:, 0]
        x = np.zeros_like(v)
        if store:
            for j in range(k):
                x += s[j] * basis[j]
        else:
            q_prev = np.zeros_like(v)
            q = v.copy()
            b = 0.0
            for j in range(k):
                x += s[j] * q
                if j == k - 1:
                    break
                matvec(q, w)
                nmv += 1
                w -= alphas[j] * q
                if j > 0:
                    w -= betas[j - 1] * q_prev
                q_prev, q = q, w / betas[j]
        x /= np.linalg.norm(x)
        matvec(x, w)
        nmv += 1
        theta = float(np.real(np.vdot(x, w)))
        w -= theta * x
        res = float(np.linalg.norm(w))
        v = x
        if res < tol:
            break
    return theta, v, res, nmv


def _bits_for(n: int) -> int:
    return max(1, int(n).bit_length())


@dataclass
class VEDBasis:
    """Growing Bonča–Trugman basis and its CSR Hamiltonian for one :class:`Problem`.

    Growth: :meth:`expand` inserts children of parents (all children for ``eps = 0``, a
    plain Bonča–Trugman generation; otherwise only children whose first-order amplitude
    |H_ts ψ_s|/(H_tt − E) reaches ``eps``). :meth:`build_rows` then appends the CSR rows of
    the new states. Every state's row holds its couplings to all states of lower or equal
    index, so the Hamiltonian of the basis [0, n) is exactly the first n rows, and any two
    bases of a run are nested: the variational energy can only decrease.
    """

    prob: Problem
    max_states: int
    peak_bytes: int = 0

    def __post_init__(self) -> None:
        p = self.prob
        gmax = p.max_generations + 1
        nmax = min(p.nmax, gmax) if p.has_phonons() else 0
        rmax = min(p.rmax, gmax) if p.two_electrons else 0
        lc = min(p.lcloud, gmax)
        # phonons relative to ↑ never go farther than the generation count nor than lc + rmax
        box = max(1, min(gmax, lc + rmax + 1))
        side = 2 * box + 1
        rside = 2 * rmax + 1
        npos = side**p.d * p.nb()
        bits = max(_bits_for(npos + 1), _bits_for(rside**p.d))
        spw = 63 // bits
        nslot = 1 + nmax
        W = -(-nslot // spw)
        usecloud = 1 if (p.has_phonons() and lc < gmax) else 0
        self.cfg = np.array([p.d, p.nb(), box, side, rmax, rside, lc, nmax, bits, spw, W,
                             int(p.two_electrons), p.model, nslot, usecloud], np.int64)
        aa_single = 0.0
        aa_onsite = 0.0
        if p.model == MODEL_BP_AA:
            aa_single = -2.0 * p.d * p.coupling**2 / p.omega
        elif p.model == MODEL_H_AA:
            aa_single = -p.coupling**2 / p.omega
            aa_onsite = -2.0 * p.coupling**2 / p.omega
        self.fpar = np.array([p.omega if p.has_phonons() else 0.0, p.U, p.V,
                              aa_single, aa_onsite])
        self.nmax = nmax
        self.W = W
        self.ndir = 2 * p.d + 1
        nvals = 2 * nmax + 2
        vals = np.zeros(nvals)
        vals[0] = -1.0
        c = p.coupling
        for n in range(1, nmax + 1):
            vals[n] = c * math.sqrt(n)
            vals[nmax + n] = 2.0 * c * math.sqrt(n)
        vals[2 * nmax + 1] = -2.0 * c * c / p.omega
        self.vals = vals
        self.vabs = np.abs(vals)
        two = 2 if p.two_electrons else 1
        self.maxrow = two * 2 * p.d * 3 + 4 + 2 * p.d + 2
        cap = 1024
        self.keys = np.zeros((cap, W), np.int64)
        self.table = np.zeros(4 * cap, np.int32)
        self.indptr = np.zeros(cap + 1, np.int64)
        self.diag = np.zeros(cap)
        self.full = np.zeros(cap, np.bool_)
        self.cols = np.zeros(cap * 8, np.int32)
        self.codes = np.zeros(cap * 8, np.uint16)
        self.nnz = 0
        self.rows_done = 0
        # seed: both electrons on the origin, no phonons
        seed = np.zeros(W, np.int64)
        seed[0] = _rencode(np.zeros(3, np.int64), self.cfg)
        self.keys[0] = seed
        _, slot = _find(self.keys, self.table, self.table.shape[0] - 1, seed, W)
        self.table[slot] = 1
        self.nstates = 1
        self.truncated = False  # growth was cut by the state cap
        self._track()

    # ---- memory -----------------------------------------------------------------------
    def bytes_per_state(self) -> float:
        """Estimated bytes per basis state: keys, hash, CSR (lower triangle), diagonal,
        flags and five complex Lanczos vectors."""
        avg_nnz = self.nnz / max(self.rows_done, 1) if self.rows_done > 100 else self.maxrow / 2
        return 8 * self.W + 8 + 8 + 8 + 1 + 6 * avg_nnz + 5 * 16

    def current_bytes(self) -> int:
        return (self.keys.nbytes + self.table.nbytes + self.indptr.nbytes + self.diag.nbytes
                + self.cols.nbytes + self.codes.nbytes + self.full.nbytes)

    def _track(self, extra: int = 0) -> None:
        self.peak_bytes = max(self.peak_bytes, self.current_bytes() + extra)

    def _grow_keys(self, need: int) -> None:
        cap = self.keys.shape[0]
        new = max(need, min(2 * cap, self.max_states + self.maxrow + 1))
        keys = np.zeros((new, self.W), np.int64)
        keys[:self.nstates] = self.keys[:self.nstates]
        self.keys = keys
        indptr = np.zeros(new + 1, np.int64)
        indptr[:cap + 1] = self.indptr[:cap + 1]
        self.indptr = indptr
        diag = np.zeros(new)
        diag[:cap] = self.diag[:cap]
        self.diag = diag
        full = np.zeros(new, np.bool_)
        full[:cap] = self.full[:cap]
        self.full = full

    def _grow_table(self) -> None:
        self.table = np.zeros(2 * self.table.shape[0], np.int32)
        _rehash(self.keys, self.nstates, self.W, self.table)

    def _grow_entries(self) -> None:
        n = self.cols.shape[0]
        new = int(n * 1.5) + 1024
        cols = np.zeros(new, np.int32)
        cols[:self.nnz] = self.cols[:self.nnz]
        codes = np.zeros(new, np.uint16)
        codes[:self.nnz] = self.codes[:self.nnz]
        self.cols, self.codes = cols, codes

    # ---- growth -----------------------------------------------------------------------
    def expand(self, psi: np.ndarray | None, energy: float, eps: float) -> int:
        """Insert children of the current basis (see class docstring); returns how many."""
        n0 = self.nstates
        n = self.nstates
        psi_abs = np.zeros(n)
        if psi is None:
            psi_abs[:] = 1.0
        else:
            m = min(n, psi.shape[0])
            psi_abs[:m] = np.abs(psi[:m])  # states not yet solved for are no parents
        # no child of a parent below pcut can pass: |H_ts| <= max|val|, H_tt − E >= 0.05
        pcut = eps * 0.05 / max(float(self.vabs.max()), 1e-300) if eps > 0 else 0.0
        row = 0
        dummy_i = np.zeros(1, np.int32)
        dummy_c = np.zeros(1, np.uint16)
        while True:
            if self.nstates + self.maxrow > self.max_states:
                self.truncated = True
                break
            status, row, self.nstates, _ = _sweep(
                1, self.cfg, self.fpar, self.vabs, self.keys, self.nstates, self.table, row, n,
                self.indptr, dummy_i, dummy_c, 0, self.diag, self.maxrow, psi_abs, energy,
                eps, pcut, self.full)
            if status == _DONE:
                break
            if status == _NEED_KEYS:
                if self.nstates + self.maxrow > self.max_states:
                    self.truncated = True
                    break
                self._grow_keys(self.nstates + 2 * self.maxrow)
            elif status == _NEED_TABLE:
                self._grow_table()
            self._track()
        if self.indptr.shape[0] < self.nstates + 1:
            self._grow_keys(self.nstates + 1)
        self._track()
        return self.nstates - n0

    def build_rows(self) -> None:
        """CSR rows (and diagonal) of every state that has none yet."""
        row, end = self.rows_done, self.nstates
        dummy = np.zeros(1)
        while True:
            status, row, _, self.nnz = _sweep(
                0, self.cfg, self.fpar, self.vabs, self.keys, self.nstates, self.table, row,
                end, self.indptr, self.cols, self.codes, self.nnz, self.diag, self.maxrow,
                dummy, 0.0, 0.0, 0.0, self.full)
            if status == _DONE:
                break
            self._grow_entries()
            self._track()
        self.rows_done = end
        self._track()

    # ---- linear algebra ---------------------------------------------------------------
    def value_table(self, K: np.ndarray | None) -> np.ndarray:
        """Code -> H_{row, col} of a stored entry (conjugated amplitude row -> col)."""
        nd = self.ndir
        if K is None or not np.any(K):
            return np.repeat(self.vals, nd)
        ph = np.ones(nd, complex)
        for a in range(self.prob.d):
            ph[1 + 2 * a] = np.exp(1j * K[a])     # ↑ hop +e_a: conj(e^{-iK_a})
            ph[2 + 2 * a] = np.exp(-1j * K[a])
        table = (self.vals[:, None] * ph[None, :]).ravel()
        if np.all(np.abs(table.imag) < 1e-15):
            # K on the zone boundary: the phases are ±1, stay real
            return table.real.copy()
        return table

    def make_matvec(self, ncut: int, K: np.ndarray | None = None):
        assert ncut <= self.rows_done
        table = self.value_table(K)
        indptr, cols, codes, diag = self.indptr, self.cols, self.codes, self.diag

        def mv(x: np.ndarray, y: np.ndarray) -> None:
            _matvec(indptr, cols, codes, diag, table, x, y, ncut)

        return mv, np.iscomplexobj(table)

    def dense(self, ncut: int, K: np.ndarray | None = None) -> np.ndarray:
        mv, cplx = self.make_matvec(ncut, K)
        dt = complex if cplx else float
        H = np.zeros((ncut, ncut), dt)
        e = np.zeros(ncut, dt)
        y = np.zeros(ncut, dt)
        for j in range(ncut):
            e[:] = 0
            e[j] = 1
            mv(e, y)
            H[:, j] = y
        return H

    def ground(self, ncut: int, K: np.ndarray | None = None, v0: np.ndarray | None = None,
               tol: float = 1e-9, deadline: float | None = None
               ) -> tuple[float, np.ndarray, float, int]:
        """Lowest eigenpair of the basis [0, ncut) at total momentum K.

        Raises :class:`TimeCap` past ``deadline`` (``time.perf_counter()`` seconds)."""
        mv, cplx = self.make_matvec(ncut, K)
        if ncut <= 300:
            H = self.dense(ncut, K)
            w, v = np.linalg.eigh(H)
            return float(w[0]), v[:, 0], 0.0, 0
        dt = complex if cplx else float
        self._track(5 * ncut * (16 if cplx else 8))
        if v0 is None:
            x0 = np.ones(ncut, dt)
        else:
            x0 = np.zeros(ncut, dt)
            m = min(ncut, v0.shape[0])
            x0[:m] = v0[:m]
            # a small uniform component keeps the start from missing the ground state
            x0 += 1e-3 * np.linalg.norm(x0) / math.sqrt(ncut)
        return lanczos_ground(mv, x0, tol=tol,
                              store_limit_bytes=min(5e8, 0.25 * self.max_states * 8),
                              deadline=deadline)

    def moments(self, psi: np.ndarray, ncut: int) -> tuple[float, float, float]:
        p2 = np.abs(psi[:ncut]) ** 2
        return _moments(self.keys, self.cfg, p2, ncut)
