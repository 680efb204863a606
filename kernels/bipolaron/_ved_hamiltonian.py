"""Compiled core of the VED solver: configurations, the Hamiltonian's terms, basis growth.

Private to :mod:`pairsweep.kernels.bipolaron.ved`; the Python side is :mod:`._ved_basis`,
the settings are the named tuples of :mod:`._ved_problem` (``lay``: :class:`Layout`,
``ham``: :class:`Terms`). Units: t = 1.

Frame and states
----------------
A basis state is a configuration seen from the ↑ electron, which sits at the origin: the ↓
electron at relative position ``r`` (two-electron problem only) and a multiset of phonon
quanta at positions relative to the ↑ electron (site phonons for Holstein, bond phonons for
bond-Peierls; a bond is labelled by its lower end and its direction). The
translation-invariant state of total momentum K built from a configuration is
Σ_j e^{iK·R_j} T_j |config⟩; hopping the ↑ electron by δ shifts the frame, so the
configuration's phonons and ``r`` move by −δ and the matrix element picks up e^{−iK·δ}. With
one ↑ and one ↓ electron and no spin flips there are no fermion signs; at K = 0 the
Hamiltonian can be gauged stoquastic (the sign of the coupling is irrelevant), so the ground
state is nodeless, spatially symmetric, hence the singlet.

Compact encoding
----------------
A configuration is packed into ``lay.words`` int64 words of ``lay.bits``-bit slots: slot 0
holds the code of ``r``, slots 1..nq the phonon quanta codes (1 + position index), sorted
ascending, zeros after. States live in a growing (n, words) array; an open-addressing hash
table (int32, index + 1, linear probing, load <= 1/2) maps configurations to indices.

One row of H
------------
:func:`_transitions` lists every off-diagonal transition of one configuration, term by term
(:func:`_hop_up`, :func:`_hop_down`, :func:`_peierls_up`, :func:`_peierls_down`,
:func:`_holstein`, :func:`_aa_pair_hop`), each as a target configuration, a value code
(which matrix element, see the value codes below) and a direction code (which Bloch phase);
:func:`_diagonal` is the rest (phonon energy, U, V, antiadiabatic shifts). The order of the
list is part of the result: it fixes the order in which new states are numbered and in which
a row's entries are summed, so it must not change without a kernel version bump.

Basis growth and the matrix
---------------------------
Generation 0 is the seed (electrons on one site, no phonons). :func:`sweep` walks a range
of rows and, per transition, either inserts the unknown targets (an ``EXPAND`` pass: they
form the next generation; in selected growth only those whose first-order amplitude
|H_ts ψ_s|/(H_tt − E) reaches ``eps``) or stores every (row, target, code) with target <= row
in a CSR array (a ``ROWS`` pass).
States are numbered in generation order, so the basis of generation g is the index range
[0, n_g) and its Hamiltonian is the principal sub-matrix: the mat-vec simply skips columns
>= n_g. An entry stores a ``uint16`` code = value code × (2d + 1) + direction code, looked up
in a small table (real at K = 0, complex with Bloch phases otherwise), so a non-zero costs 6
bytes. Duplicate (row, column) entries are summed by the mat-vec.

Caps (all are properties of a configuration, so the projected H stays Hermitian): total
phonon number ``nmax``, relative separation |r_a| <= ``rmax`` per component, and a cloud
extent: every phonon lies within Manhattan distance ``lcloud`` of one of the electrons (for a
bond, the nearer of its two end sites).

Every compiled routine of the solver lives in this one module on purpose: numba's on-disk
cache (``cache=True``) is invalidated only by a change to the caller's own source file, so a
callee in another module could be edited and the stale compiled caller still run.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from ._ved_problem import MODEL_BP, MODEL_BP_AA, MODEL_H, Layout, Terms

__all__ = [
    "DONE",
    "EXPAND",
    "MOVE",
    "NEED_ENTRIES",
    "NEED_KEYS",
    "NEED_TABLE",
    "ROWS",
    "Basis",
    "Pass",
    "Rows",
    "Selection",
    "expand_pass",
    "find",
    "matvec",
    "moments",
    "rehash",
    "rencode",
    "rows_pass",
    "sweep",
    "value_table",
]

# Outcomes of a row range: done, or stopped before a row because an array must grow first.
DONE, NEED_KEYS, NEED_TABLE, NEED_ENTRIES = 0, 1, 2, 3

# Constants passed to other compiled functions are numpy scalars, not Python ints: numba
# would compile a callee once more for every literal int (or bool) it is called with.
DIR_NONE = np.int64(0)      # direction code of a move without Bloch phase (↓ hop, phonons)
_NO_PHONONS = np.int64(0)
_SITE = np.int64(0)         # "bond direction" of a Holstein site phonon

# ---- value codes: which off-diagonal matrix element, an index into value_table ------------
V_HOP = np.int64(0)         # −t


@njit(cache=True)
def _v_phonon(n):
    """c√n: one quantum created to n, or removed from n, quanta (c = α or g)."""
    return n


@njit(cache=True)
def _v_phonon_both(n, nmax):
    """2c√n: Holstein term with both electrons on the site."""
    return nmax + n


@njit(cache=True)
def _v_pair(nmax):
    """−2α²/Ω: antiadiabatic pair hop."""
    return 2 * nmax + 1


def value_table(coupling: float, omega: float, nmax: int) -> np.ndarray:
    """Off-diagonal matrix elements (units of t) by value code; c = ``coupling`` (α or g),
    Ω = ``omega``."""
    vals = np.zeros(_v_pair.py_func(nmax) + 1)
    vals[V_HOP] = -1.0
    c = coupling
    for n in range(1, nmax + 1):
        vals[_v_phonon.py_func(n)] = c * math.sqrt(n)
        vals[_v_phonon_both.py_func(n, nmax)] = 2.0 * c * math.sqrt(n)
    vals[_v_pair.py_func(nmax)] = -2.0 * c * c / omega
    return vals


@njit(cache=True)
def _dir_up(a, sgn):
    """Direction code of the ↑ electron hopping by sgn e_a (DIR_NONE is no Bloch phase)."""
    return 1 + 2 * a + (0 if sgn > 0 else 1)


# ---- records handed between the Python side and the compiled routines --------------------
# Named tuples of arrays are unpacked once per pass: numba increments and decrements a
# reference count each time an array is taken out of a tuple, which, done per transition,
# doubled the basis growth's run time in a first version of this rebuild. The per-row and
# per-transition functions take their arrays as arguments; named tuples of scalars
# (Layout, Terms) cost nothing.

class Basis(NamedTuple):
    """The states and their hash index (arrays grow on the Python side between passes)."""

    keys: np.ndarray     # (capacity, words) int64 packed configurations
    table: np.ndarray    # int32 open-addressing hash table: state index + 1, 0 = free


class Rows(NamedTuple):
    """CSR lower triangle of H (col <= row) and its diagonal."""

    indptr: np.ndarray   # int64, rows + 1
    cols: np.ndarray     # int32
    codes: np.ndarray    # uint16: value code × (2d + 1) + direction code
    diag: np.ndarray     # float64


class Selection(NamedTuple):
    """Which children an expansion inserts (see :func:`_keep_child`)."""

    psi_abs: np.ndarray  # |ψ| of the parents (1 in plain growth)
    energy: float        # current variational energy E (t)
    eps: float           # amplitude threshold; 0 = every child (a plain generation)
    pcut: float          # parents below this |ψ| can have no child above eps
    vabs: np.ndarray     # |value table|
    full: np.ndarray     # bool per state: all its children are in the basis


class Pass(NamedTuple):
    """One pass over a range of rows: what it builds and everything it touches."""

    mode: int            # ROWS (CSR rows of known states) or EXPAND (insert new states)
    lay: Layout
    ham: Terms
    basis: Basis
    nstates: int         # states in the basis
    rows: Rows           # ROWS fills it (a placeholder in EXPAND)
    nnz: int             # entries in rows
    sel: Selection       # EXPAND reads it (a placeholder in ROWS)
    maxrow: int          # bound on one row's transitions: a row starts only with this room


ROWS, EXPAND = 0, 1
_NO_ROWS = Rows(np.zeros(1, np.int64), np.zeros(1, np.int32), np.zeros(1, np.uint16),
                np.zeros(1))
_NO_SELECTION = Selection(np.zeros(1), 0.0, 0.0, 0.0, np.zeros(1), np.zeros(1, np.bool_))

#: One transition of a row: target r code and phonon number, value and direction codes.
#: The target's r and phonon codes go to two 2-D arrays beside it (``mr``, ``mq``).
MOVE = np.dtype([("rcode", np.int64), ("nq", np.int64), ("value", np.int64),
                 ("dirn", np.int64)])


def rows_pass(lay: Layout, ham: Terms, basis: Basis, nstates: int, rows: Rows, nnz: int,
              maxrow: int) -> Pass:
    """A :class:`Pass` that appends CSR rows after the ``nnz`` entries already in ``rows``."""
    return Pass(ROWS, lay, ham, basis, int(nstates), rows, int(nnz), _NO_SELECTION,
                int(maxrow))


def expand_pass(lay: Layout, ham: Terms, basis: Basis, nstates: int, sel: Selection,
                maxrow: int) -> Pass:
    """A :class:`Pass` that inserts the children ``sel`` keeps after ``nstates`` states."""
    return Pass(EXPAND, lay, ham, basis, int(nstates), _NO_ROWS, 0, sel, int(maxrow))


# ---- hash table ----------------------------------------------------------------------------

@njit(cache=True)
def _hash(key, W):
    h = np.int64(0x2545F4914F6CDD1D)
    for w in range(W):
        h ^= key[w] + np.int64(-7046029254386353131) + (h << 6) + (h >> 2)
        h *= np.int64(0x5851F42D4C957F2D)
        h ^= h >> 29
    return h


@njit(cache=True)
def find(keys, table, key, W):
    """Index of ``key`` and its probe slot; -1 and the free slot if absent."""
    tmask = table.shape[0] - 1
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
def rehash(keys, n, W, table):
    """Enter states 0..n-1 into an empty ``table``."""
    for s in range(n):
        _, slot = find(keys, table, keys[s], W)
        table[slot] = s + 1


# ---- configuration encoding ----------------------------------------------------------------

@njit(cache=True)
def _encode(rcode, q, nq, lay, out):
    for w in range(lay.words):
        out[w] = 0
    out[0] = rcode
    for k in range(nq):
        i = k + 1
        out[i // lay.per_word] |= np.int64(q[k]) << ((i % lay.per_word) * lay.bits)


@njit(cache=True)
def _decode(keys, s, lay, q):
    """r code of state s; its phonon codes into q; returns (r code, phonon number)."""
    mask = (np.int64(1) << lay.bits) - 1
    rcode = keys[s, 0] & mask
    nq = 0
    for i in range(1, lay.slots):
        c = (keys[s, i // lay.per_word] >> ((i % lay.per_word) * lay.bits)) & mask
        if c == 0:
            break
        q[nq] = c
        nq += 1
    return rcode, nq


@njit(cache=True)
def _rcoords(rcode, lay, r):
    for k in range(lay.d):
        r[k] = rcode % lay.rside - lay.rmax
        rcode //= lay.rside


@njit(cache=True)
def rencode(r, lay):
    """Code of the separation r."""
    c = 0
    for k in range(lay.d - 1, -1, -1):
        c = c * lay.rside + (r[k] + lay.rmax)
    return c


@njit(cache=True)
def _pcoords(code, lay, x):
    """Site coordinates of a phonon code into x; returns the bond direction (0 for sites)."""
    idx = code - 1
    a = idx % lay.nb
    site = idx // lay.nb
    for k in range(lay.d):
        x[k] = site % lay.side - lay.box
        site //= lay.side
    return a


@njit(cache=True)
def _pencode(x, a, lay):
    """Phonon code of site x (bond direction a), or 0 if outside the box."""
    site = 0
    for k in range(lay.d - 1, -1, -1):
        if x[k] < -lay.box or x[k] > lay.box:
            return 0
        site = site * lay.side + (x[k] + lay.box)
    return 1 + site * lay.nb + a


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
    """tq = multiset q with one c fewer; returns the new length."""
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
def _shift_ok(tq, ntq, a, step, lay, x):
    """Shift every quantum by ``step`` along axis a in place; False if one leaves the box."""
    stride = lay.nb
    for k in range(a):
        stride *= lay.side
    for k in range(ntq):
        _pcoords(tq[k], lay, x)
        xa = x[a] + step
        if xa < -lay.box or xa > lay.box:
            return False
        tq[k] += step * stride
    return True


@njit(cache=True)
def _cloud_ok(tq, ntq, r, lay, ham, x):
    """Every phonon (either end of its bond) within Manhattan lcloud of an electron."""
    if not lay.use_cloud:
        return True
    d = lay.d
    bondlike = ham.model == MODEL_BP
    for k in range(ntq):
        a = _pcoords(tq[k], lay, x)
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
            if ham.two_electrons and d1 < best:
                best = d1
        if best > lay.lcloud:
            return False
    return True


# ---- diagonal terms --------------------------------------------------------------------------

@njit(cache=True)
def _phonon_energy(nph, ham):
    """Ω N_ph."""
    return ham.omega * nph


@njit(cache=True)
def _pair_interaction(r2, ham):
    """U (plus the antiadiabatic Holstein −2g²/Ω) on one site, V/|r| apart (|r|² = r2)."""
    if r2 == 0:
        return ham.U + ham.aa_onsite
    if ham.V != 0.0:
        return ham.V / math.sqrt(r2)
    return 0.0


@njit(cache=True)
def _diagonal(r, nph, lay, ham):
    """Diagonal element of a configuration: Ω N_ph + U δ_{r,0} + V/|r| + shifts."""
    e = _phonon_energy(nph, ham)
    if not ham.two_electrons:
        return e + ham.aa_shift
    r2 = 0
    for k in range(lay.d):
        r2 += r[k] * r[k]
    e += 2.0 * ham.aa_shift
    # e >= +0 here, so adding a 0.0 interaction leaves every bit of it
    return e + _pair_interaction(r2, ham)


# ---- off-diagonal terms ----------------------------------------------------------------------
# Each term maps a configuration (rcode, r, phonon codes q[:nq]) to one target: its r in
# ``rn`` (and r code returned), or its phonons in ``tq`` (and their number returned, with the
# value code), −1 when the target does not exist. ``x`` is scratch. _transitions calls them
# in the fixed order and lists the targets.

@njit(cache=True)
def _hop_up(lay, ham, a, sgn, rcode, r, rn):
    """−t: the ↑ electron hops by sgn e_a, so the frame moves and r → r − sgn e_a (the
    phonons move too, see _frame_shift). Target r code, −1 when r leaves the rmax box."""
    for k in range(lay.d):
        rn[k] = r[k]
    if not ham.two_electrons:
        return rcode
    rn[a] = r[a] - sgn
    if rn[a] < -lay.rmax or rn[a] > lay.rmax:
        return -1
    return rencode(rn, lay)


@njit(cache=True)
def _frame_shift(lay, a, sgn, q, nq, tq, x):
    """The phonons seen from the ↑ electron after it hopped by sgn e_a: q shifted by
    −sgn e_a into tq. Their number, −1 when one leaves the box."""
    for k in range(nq):
        tq[k] = q[k]
    return nq if _shift_ok(tq, nq, a, -sgn, lay, x) else -1


@njit(cache=True)
def _one_quantum(q, nq, cb, create, nmax, tq):
    """q with one quantum created on (``create``) or removed from position code cb, into tq.

    Returns (phonon number, quanta at cb after creation / before removal), number −1 when
    the phonon cap or an empty position forbids it."""
    nb_ = _count(q, nq, cb)
    if create:
        if nq >= nmax:
            return -1, 0
        return _insert(q, nq, cb, tq), nb_ + 1
    if nb_ == 0:
        return -1, 0
    return _remove(q, nq, cb, tq), nb_


@njit(cache=True)
def _peierls_up(lay, a, sgn, q, nq, create, tq, x):
    """α X_b on the bond the ↑ electron crosses when it hops by sgn e_a, then the frame
    shift. Returns (phonon number, value code), number −1 when there is no such target."""
    for k in range(lay.d):
        x[k] = 0
    if sgn < 0:
        x[a] = -1
    m, n = _one_quantum(q, nq, _pencode(x, a, lay), create, lay.nmax, tq)
    if m < 0 or not _shift_ok(tq, m, a, -sgn, lay, x):
        return -1, 0
    return m, _v_phonon(n)


@njit(cache=True)
def _hop_down(lay, a, sgn, r, rn):
    """−t: the ↓ electron hops by sgn e_a, r → r + sgn e_a; no frame shift, no phase.
    Target r code, −1 when r leaves the rmax box."""
    for k in range(lay.d):
        rn[k] = r[k]
    rn[a] = r[a] + sgn
    if rn[a] < -lay.rmax or rn[a] > lay.rmax:
        return -1
    return rencode(rn, lay)


@njit(cache=True)
def _peierls_down(lay, a, sgn, r, q, nq, create, tq, x):
    """α X_b on the bond the ↓ electron crosses when it hops from r by sgn e_a. Returns
    (phonon number, value code), number −1 when there is no such target."""
    for k in range(lay.d):
        x[k] = r[k]
    if sgn < 0:
        x[a] = r[a] - 1
    cb = _pencode(x, a, lay)
    if cb == 0:
        return -1, 0
    m, n = _one_quantum(q, nq, cb, create, lay.nmax, tq)
    return m, _v_phonon(n)


@njit(cache=True)
def _holstein(lay, at, both, q, nq, create, tq, x):
    """g n_i X_i at the site ``at`` (relative to ↑) of one electron, 2g (value
    _v_phonon_both) when ``both`` electrons sit there. Returns (phonon number, value code),
    number −1 when there is no such target."""
    for k in range(lay.d):
        x[k] = at[k]
    cb = _pencode(x, _SITE, lay)
    if cb == 0:
        return -1, 0
    m, n = _one_quantum(q, nq, cb, create, lay.nmax, tq)
    return m, (_v_phonon_both(n, lay.nmax) if both else _v_phonon(n))


@njit(cache=True)
def _aa_pair_hop(lay, a, sgn, r, rn):
    """−(2α²/Ω) h_b↑ h_b↓ (antiadiabatic bond-Peierls, seed Eq. 4) on the bond from the ↑
    electron to sgn e_a, if it holds both electrons: both hop together (r stays 0) or they
    swap ends (r = sgn e_a → −sgn e_a). Target r code, −1 when the pair is not on it."""
    l1 = 0
    for k in range(lay.d):
        l1 += abs(r[k])
        rn[k] = 0
    if l1 == 0:
        return rencode(rn, lay)
    if l1 == 1 and r[a] == sgn:
        rn[a] = -sgn
        return rencode(rn, lay)
    return -1


@njit(cache=True)
def _push(moves, mr, mq, n, rcode, r, q, nq, value, dirn, d):
    """Append one transition to the list; returns the new length."""
    moves[n].rcode = rcode
    moves[n].nq = nq
    moves[n].value = value
    moves[n].dirn = dirn
    for k in range(d):
        mr[n, k] = r[k]
    for k in range(nq):
        mq[n, k] = q[k]
    return n + 1


@njit(cache=True)
def _transitions(lay, ham, rcode, r, q, nq, moves, mr, mq, rn, tq, x):
    """Every off-diagonal transition of one configuration into (moves, mr, mq), in the fixed
    order: per ↑ hop (a, ±) the hop and its Peierls terms (create, remove); per ↓ hop the
    same; Holstein at the ↑ then the ↓ site (create, remove); the pair hops. Returns the
    count, at most ``maxrow`` (see VEDBasis)."""
    d = lay.d
    bond = ham.model == MODEL_BP
    n = np.int64(0)
    for a in range(d):
        for sgn in (1, -1):
            dirn = _dir_up(a, sgn)
            rc2 = _hop_up(lay, ham, a, sgn, rcode, r, rn)
            if rc2 < 0:
                continue
            m = _frame_shift(lay, a, sgn, q, nq, tq, x)
            if m >= 0:
                n = _push(moves, mr, mq, n, rc2, rn, tq, m, V_HOP, dirn, d)
            if bond:
                for create in (True, False):
                    m, v = _peierls_up(lay, a, sgn, q, nq, create, tq, x)
                    if m >= 0:
                        n = _push(moves, mr, mq, n, rc2, rn, tq, m, v, dirn, d)
    if ham.two_electrons:
        for a in range(d):
            for sgn in (1, -1):
                rc2 = _hop_down(lay, a, sgn, r, rn)
                if rc2 < 0:
                    continue
                n = _push(moves, mr, mq, n, rc2, rn, q, nq, V_HOP, DIR_NONE, d)
                if bond:
                    for create in (True, False):
                        m, v = _peierls_down(lay, a, sgn, r, q, nq, create, tq, x)
                        if m >= 0:
                            n = _push(moves, mr, mq, n, rc2, rn, tq, m, v, DIR_NONE, d)
    if ham.model == MODEL_H:
        onsite = _at_origin(r, d)
        both = ham.two_electrons and onsite
        # the ↑ electron's site is the origin; the ↓ electron's is r (if elsewhere)
        for e in range(1 if (not ham.two_electrons or onsite) else 2):
            for k in range(d):
                rn[k] = r[k] if e == 1 else 0
            for create in (True, False):
                m, v = _holstein(lay, rn, both, q, nq, create, tq, x)
                if m >= 0:
                    n = _push(moves, mr, mq, n, rcode, r, tq, m, v, DIR_NONE, d)
    if ham.model == MODEL_BP_AA and ham.two_electrons:
        vpair = _v_pair(lay.nmax)
        for a in range(d):
            for sgn in (1, -1):
                rc2 = _aa_pair_hop(lay, a, sgn, r, rn)
                if rc2 >= 0:
                    n = _push(moves, mr, mq, n, rc2, rn, q, _NO_PHONONS, vpair,
                              _dir_up(a, sgn), d)
    return n


@njit(cache=True)
def _at_origin(r, d):
    """Both electrons on one site (r = 0)."""
    for k in range(d):
        if r[k] != 0:
            return False
    return True


# ---- a pass: what is done with each transition ----------------------------------------------

@njit(cache=True)
def _keep_child(sel, amp, value, r, ntq, lay, ham):
    """Selected growth: the child's first-order amplitude |H_ts ψ_s|/(H_tt − E) reaches eps
    (the denominator floored at 0.05 t, so near-degenerate children do not all enter)."""
    if sel.eps <= 0.0:
        return True
    den = _diagonal(r, ntq, lay, ham) - sel.energy
    if den < 0.05:
        den = 0.05
    return not (sel.vabs[value] * amp < sel.eps * den)


@njit(cache=True)
def sweep(ps, row, row_end):
    """Apply H's off-diagonal part to states row..row_end-1.

    ROWS stores each transition whose target is a known state of index <= row (and the
    row's diagonal); EXPAND inserts each target that is new and that _keep_child keeps.
    Targets outside the phonon or cloud caps are dropped. Returns (status, next row,
    nstates, nnz); a status other than DONE asks for a bigger ``keys`` (NEED_KEYS),
    ``table`` (NEED_TABLE) or ``cols``/``codes`` (NEED_ENTRIES) before that row is redone.
    """
    lay, ham, sel, maxrow = ps.lay, ps.ham, ps.sel, ps.maxrow
    keys, table = ps.basis.keys, ps.basis.table
    cols, codes = ps.rows.cols, ps.rows.codes
    nstates, nnz = ps.nstates, ps.nnz
    q = np.zeros(lay.nmax + 2, np.int64)
    tq = np.zeros(lay.nmax + 2, np.int64)
    r = np.zeros(3, np.int64)
    rn = np.zeros(3, np.int64)
    rt = np.zeros(3, np.int64)
    x = np.zeros(3, np.int64)
    key = np.zeros(lay.words, np.int64)
    moves = np.zeros(maxrow, MOVE)
    mr = np.zeros((maxrow, 3), np.int64)
    mq = np.zeros((maxrow, lay.nmax + 2), np.int64)
    ndir = 2 * lay.d + 1
    while row < row_end:
        amp = 1.0
        if ps.mode == ROWS:
            if nnz + maxrow > cols.shape[0]:
                return NEED_ENTRIES, row, nstates, nnz
        else:
            if sel.full[row]:
                row += 1
                continue
            amp = sel.psi_abs[row] if sel.eps > 0.0 else 1.0
            if sel.eps > 0.0 and amp < sel.pcut:
                row += 1
                continue
            if nstates + maxrow > keys.shape[0]:
                return NEED_KEYS, row, nstates, nnz
            if 2 * (nstates + maxrow) > table.shape[0]:
                return NEED_TABLE, row, nstates, nnz
            if sel.eps == 0.0:
                sel.full[row] = True
        rcode, nq = _decode(keys, row, lay, q)
        _rcoords(rcode, lay, r)
        if ps.mode == ROWS:
            ps.rows.diag[row] = _diagonal(r, nq, lay, ham)
        nt = _transitions(lay, ham, rcode, r, q, nq, moves, mr, mq, rn, tq, x)
        for t in range(nt):
            ntq = moves[t].nq
            if ntq > lay.nmax:
                continue
            for k in range(lay.d):
                rt[k] = mr[t, k]
            for k in range(ntq):
                tq[k] = mq[t, k]
            if not _cloud_ok(tq, ntq, rt, lay, ham, x):
                continue
            _encode(moves[t].rcode, tq, ntq, lay, key)
            s, slot = find(keys, table, key, lay.words)
            if ps.mode == ROWS:
                if s >= 0 and s <= row:
                    cols[nnz] = s
                    codes[nnz] = moves[t].value * ndir + moves[t].dirn
                    nnz += 1
            elif s < 0 and _keep_child(sel, amp, moves[t].value, rt, ntq, lay, ham):
                for w in range(lay.words):
                    keys[nstates, w] = key[w]
                table[slot] = nstates + 1
                nstates += 1
        if ps.mode == ROWS:
            ps.rows.indptr[row + 1] = nnz
        row += 1
    return DONE, row, nstates, nnz


# ---- linear algebra ------------------------------------------------------------------------

@njit(cache=True)
def matvec(indptr, cols, codes, diag, table, x, y, ncut):
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
def moments(keys, lay, psi2, ncut):
    """Σ|ψ|² |r|², Σ|ψ|² N_ph and Σ|ψ|² δ_{r,0} over the first ncut states."""
    q = np.zeros(lay.nmax + 2, np.int64)
    r = np.zeros(3, np.int64)
    s_r2 = 0.0
    s_n = 0.0
    s_0 = 0.0
    for s in range(ncut):
        rcode, nq = _decode(keys, s, lay, q)
        _rcoords(rcode, lay, r)
        r2 = 0
        for k in range(lay.d):
            r2 += r[k] * r[k]
        s_r2 += psi2[s] * r2
        s_n += psi2[s] * nq
        if r2 == 0:
            s_0 += psi2[s]
    return s_r2, s_n, s_0

