"""The growing Bonča–Trugman basis of one VED problem and its CSR Hamiltonian.

Private engine of the VED solver, :mod:`pairsweep.kernels.bipolaron.ved`. Pure numpy/numba,
no I/O. The pieces, one job each:

* :mod:`._ved_problem`: the model codes, :class:`Problem`, and the named tuples (``Layout``,
  ``Terms``) that carry its settings into compiled code;
* :mod:`._ved_hamiltonian`: the compiled part: configuration encoding, one function per
  Hamiltonian term, basis expansion and CSR rows, the mat-vec (the frame, the encoding and
  the caps are described there);
* :mod:`._ved_lanczos`: the eigensolver, and why it is not ``eigsh``;
* this module: :class:`VEDBasis`, which owns the arrays, grows them between compiled calls
  and keeps the memory account.

Units: t = 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import _ved_hamiltonian as hamiltonian
from ._ved_hamiltonian import Basis, Rows, Selection
from ._ved_lanczos import TimeCap, lanczos_ground
from ._ved_problem import MODEL_BP, MODEL_BP_AA, MODEL_H, MODEL_H_AA, Problem, encode

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
        self.layout, self.terms = encode(p)
        self.nmax = self.layout.nmax
        W = self.W = self.layout.words
        self.ndir = 2 * p.d + 1
        self.vals = hamiltonian.value_table(p.coupling, p.omega, self.nmax)
        self.vabs = np.abs(self.vals)
        # transitions of one row, at most: per hop direction of each electron the hop and
        # two Peierls terms, four Holstein terms, one pair hop per direction (+ 2 spare)
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
        seed[0] = hamiltonian.rencode(np.zeros(3, np.int64), self.layout)
        self.keys[0] = seed
        _, slot = hamiltonian.find(self.keys, self.table, seed, W)
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
        hamiltonian.rehash(self.keys, self.nstates, self.W, self.table)

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
        while True:
            if self.nstates + self.maxrow > self.max_states:
                self.truncated = True
                break
            sel = Selection(psi_abs=psi_abs, energy=float(energy), eps=float(eps),
                            pcut=float(pcut), vabs=self.vabs, full=self.full)
            ps = hamiltonian.expand_pass(self.layout, self.terms, Basis(self.keys, self.table),
                                         self.nstates, sel, self.maxrow)
            status, row, self.nstates, _ = hamiltonian.sweep(ps, row, n)
            if status == hamiltonian.DONE:
                break
            if status == hamiltonian.NEED_KEYS:
                if self.nstates + self.maxrow > self.max_states:
                    self.truncated = True
                    break
                self._grow_keys(self.nstates + 2 * self.maxrow)
            elif status == hamiltonian.NEED_TABLE:
                self._grow_table()
            self._track()
        if self.indptr.shape[0] < self.nstates + 1:
            self._grow_keys(self.nstates + 1)
        self._track()
        return self.nstates - n0

    def build_rows(self) -> None:
        """CSR rows (and diagonal) of every state that has none yet."""
        row, end = self.rows_done, self.nstates
        while True:
            ps = hamiltonian.rows_pass(self.layout, self.terms, Basis(self.keys, self.table),
                                       self.nstates,
                                       Rows(self.indptr, self.cols, self.codes, self.diag),
                                       self.nnz, self.maxrow)
            status, row, _, self.nnz = hamiltonian.sweep(ps, row, end)
            if status == hamiltonian.DONE:
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
            hamiltonian.matvec(indptr, cols, codes, diag, table, x, y, ncut)

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
        return hamiltonian.moments(self.keys, self.layout, p2, ncut)
